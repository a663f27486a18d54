//! A raw DEFLATE decoder (RFC 1951) whose memory is the window the peer
//! promised: `2^window_bits` bytes of history, a few words of state, and
//! decoding tables only while a dynamic block is being decoded.
//!
//! It resumes anywhere: input may arrive one byte at a time, and output
//! stops exactly at the caller's cap. A reference past the promised window
//! (RFC 7692 §7.1.2), or past the start of the stream, is corrupt data.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use super::huffman::{
    CODELEN_ORDER, CodeLen, DIST_BASE, DIST_EXTRA, Decoded, Dist, FIXED_DIST, FIXED_LITLEN,
    LEN_BASE, LEN_EXTRA, LitLen,
};

/// The data is not valid DEFLATE, or breaks the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Invalid;

/// Why [`Inflate::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Halt {
    /// All input is used; more is needed to go on.
    Input,
    /// The output reached the cap with more output ready.
    Full,
    /// A final block (BFINAL) ended the stream.
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At a block boundary.
    Header,
    StoredLen,
    Stored(u16),
    DynCounts,
    DynCodeLens,
    DynLens,
    Codes {
        fixed: bool,
    },
    End,
}

/// The tables of the dynamic block being decoded.
#[derive(Debug)]
struct Tables {
    litlen: LitLen,
    dist: Dist,
    codelen: CodeLen,
    lens: [u8; 286 + 30],
    hlit: usize,
    hdist: usize,
    hclen: usize,
    have: usize,
}

/// Decoder state.
#[derive(Debug)]
pub(crate) struct Inflate {
    window_bits: u8,
    /// The last `2^window_bits` bytes of output, circular; allocated with
    /// the first output.
    history: Vec<u8>,
    /// Where the next byte goes in `history`.
    hpos: usize,
    /// Valid bytes in `history`.
    filled: usize,
    bitbuf: u64,
    nbits: u32,
    state: State,
    last: bool,
    tables: Option<Box<Tables>>,
    /// A match being copied.
    copy_len: usize,
    copy_dist: usize,
}

/// Heap bytes an inflater with this window holds between messages.
#[cfg(test)]
pub(crate) fn held_memory(window_bits: u8) -> usize {
    (1 << window_bits) + core::mem::size_of::<Inflate>()
}

/// Tops the bit buffer up to at least 56 bits, or to what the input has.
#[inline(always)]
fn refill(input: &[u8], p: &mut usize, bb: &mut u64, nb: &mut u32) {
    if let Some(chunk) = input.get(*p..*p + 8) {
        let v = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        *bb |= v << *nb;
        let k = (63 - *nb) >> 3;
        *p += k as usize;
        *nb += 8 * k;
        *bb &= (1u64 << *nb) - 1;
    } else {
        while *nb <= 56 && *p < input.len() {
            *bb |= u64::from(input[*p]) << *nb;
            *p += 1;
            *nb += 8;
        }
    }
}

/// Room for more output, growing `out` geometrically but never past `cap`.
#[inline(always)]
fn room(out: &mut Vec<u8>, cap: usize) -> usize {
    if out.len() >= cap {
        return 0;
    }
    if out.len() == out.capacity() {
        let target = out.len().saturating_mul(2).max(out.len() + 1024).min(cap);
        out.reserve_exact(target - out.len());
    }
    out.capacity().min(cap) - out.len()
}

impl Inflate {
    pub(crate) fn new(window_bits: u8) -> Inflate {
        Inflate {
            window_bits: window_bits.clamp(8, 15),
            history: Vec::new(),
            hpos: 0,
            filled: 0,
            bitbuf: 0,
            nbits: 0,
            state: State::Header,
            last: false,
            tables: None,
            copy_len: 0,
            copy_dist: 0,
        }
    }

    /// Heap bytes held now, this state included.
    pub(crate) fn memory(&self) -> usize {
        core::mem::size_of::<Inflate>()
            + self.history.capacity()
            + self
                .tables
                .as_ref()
                .map_or(0, |_| core::mem::size_of::<Tables>())
    }

    /// At a block boundary (or after the final block), nothing pending.
    pub(crate) fn at_boundary(&self) -> bool {
        matches!(self.state, State::Header | State::End) && self.copy_len == 0
    }

    /// Frees the decoding tables (between messages).
    pub(crate) fn release_tables(&mut self) {
        self.tables = None;
    }

    /// Starts a new stream (after a final block): no history.
    pub(crate) fn restart(&mut self) {
        self.filled = 0;
        self.hpos = 0;
        self.bitbuf = 0;
        self.nbits = 0;
        self.state = State::Header;
        self.last = false;
        self.tables = None;
        self.copy_len = 0;
    }

    #[inline(always)]
    fn refill(&mut self, input: &[u8], ip: &mut usize) {
        if self.nbits > 56 {
            return;
        }
        if let Some(chunk) = input.get(*ip..*ip + 8) {
            let v = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            self.bitbuf |= v << self.nbits;
            let k = (63 - self.nbits) >> 3;
            *ip += k as usize;
            self.nbits += 8 * k;
            self.bitbuf &= (1u64 << self.nbits) - 1;
        } else {
            while self.nbits <= 56 && *ip < input.len() {
                self.bitbuf |= u64::from(input[*ip]) << self.nbits;
                *ip += 1;
                self.nbits += 8;
            }
        }
    }

    #[inline(always)]
    fn drop_bits(&mut self, n: u32) {
        self.bitbuf >>= n;
        self.nbits -= n;
    }

    /// Decodes `input` into `out` (never past `cap` bytes). Returns the
    /// input bytes used and why it stopped.
    pub(crate) fn run(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        cap: usize,
    ) -> Result<(usize, Halt), Invalid> {
        let before = out.len();
        let mut ip = 0;
        let r = self.run_inner(input, &mut ip, out, before, cap);
        self.remember(&out[before..]);
        r.map(|halt| (ip, halt))
    }

    fn run_inner(
        &mut self,
        input: &[u8],
        ip: &mut usize,
        out: &mut Vec<u8>,
        before: usize,
        cap: usize,
    ) -> Result<Halt, Invalid> {
        loop {
            self.refill(input, ip);
            match self.state {
                State::End => return Ok(Halt::End),
                State::Header => {
                    if self.nbits < 3 {
                        return Ok(Halt::Input);
                    }
                    let h = self.bitbuf as u32 & 7;
                    self.drop_bits(3);
                    self.last = h & 1 == 1;
                    self.state = match h >> 1 {
                        0 => {
                            let pad = self.nbits & 7;
                            self.drop_bits(pad);
                            State::StoredLen
                        }
                        1 => State::Codes { fixed: true },
                        2 => State::DynCounts,
                        _ => return Err(Invalid),
                    };
                }
                State::StoredLen => {
                    if self.nbits < 32 {
                        return Ok(Halt::Input);
                    }
                    let len = self.bitbuf as u16;
                    let nlen = (self.bitbuf >> 16) as u16;
                    if len != !nlen {
                        return Err(Invalid);
                    }
                    self.drop_bits(32);
                    self.state = State::Stored(len);
                }
                State::Stored(mut left) => {
                    // Whole bytes still in the bit buffer first.
                    while left > 0 && self.nbits >= 8 {
                        if room(out, cap) == 0 {
                            self.state = State::Stored(left);
                            return Ok(Halt::Full);
                        }
                        out.push(self.bitbuf as u8);
                        self.drop_bits(8);
                        left -= 1;
                    }
                    if left > 0 {
                        let avail = input.len() - *ip;
                        if avail == 0 {
                            self.state = State::Stored(left);
                            return Ok(Halt::Input);
                        }
                        let r = room(out, cap);
                        if r == 0 {
                            self.state = State::Stored(left);
                            return Ok(Halt::Full);
                        }
                        let n = (left as usize).min(avail).min(r);
                        out.extend_from_slice(&input[*ip..*ip + n]);
                        *ip += n;
                        left -= n as u16;
                        self.state = State::Stored(left);
                        continue;
                    }
                    self.end_block();
                }
                State::DynCounts => {
                    if self.nbits < 14 {
                        return Ok(Halt::Input);
                    }
                    let v = self.bitbuf as usize;
                    let hlit = 257 + (v & 31);
                    let hdist = 1 + ((v >> 5) & 31);
                    let hclen = 4 + ((v >> 10) & 15);
                    if hlit > 286 || hdist > 30 {
                        return Err(Invalid);
                    }
                    self.drop_bits(14);
                    let t = self.tables.get_or_insert_with(|| {
                        Box::new(Tables {
                            litlen: LitLen::EMPTY,
                            dist: Dist::EMPTY,
                            codelen: CodeLen::EMPTY,
                            lens: [0; 286 + 30],
                            hlit: 0,
                            hdist: 0,
                            hclen: 0,
                            have: 0,
                        })
                    });
                    t.hlit = hlit;
                    t.hdist = hdist;
                    t.hclen = hclen;
                    t.have = 0;
                    t.lens[..19].fill(0);
                    self.state = State::DynCodeLens;
                }
                State::DynCodeLens => {
                    let Some(t) = self.tables.as_mut() else {
                        return Err(Invalid);
                    };
                    while t.have < t.hclen {
                        if self.nbits < 3 {
                            return Ok(Halt::Input);
                        }
                        t.lens[CODELEN_ORDER[t.have]] = (self.bitbuf & 7) as u8;
                        self.bitbuf >>= 3;
                        self.nbits -= 3;
                        t.have += 1;
                    }
                    let mut cl = [0u8; 19];
                    cl.copy_from_slice(&t.lens[..19]);
                    t.codelen.build(&cl, false).map_err(|_| Invalid)?;
                    t.have = 0;
                    self.state = State::DynLens;
                }
                State::DynLens => {
                    let Some(t) = self.tables.as_mut() else {
                        return Err(Invalid);
                    };
                    let total = t.hlit + t.hdist;
                    while t.have < total {
                        if self.nbits < 14 && *ip < input.len() {
                            break;
                        }
                        let (sym, len) = match t.codelen.decode(self.bitbuf, self.nbits) {
                            Decoded::Sym(s, l) => (s, l),
                            Decoded::Short => return Ok(Halt::Input),
                            Decoded::Invalid => return Err(Invalid),
                        };
                        if sym < 16 {
                            self.bitbuf >>= len;
                            self.nbits -= len;
                            t.lens[t.have] = sym as u8;
                            t.have += 1;
                            continue;
                        }
                        let (extra, base) = match sym {
                            16 => (2, 3),
                            17 => (3, 3),
                            _ => (7, 11),
                        };
                        if self.nbits < len + extra {
                            return Ok(Halt::Input);
                        }
                        let rep = base + ((self.bitbuf >> len) as usize & ((1 << extra) - 1));
                        let value = if sym == 16 {
                            if t.have == 0 {
                                return Err(Invalid);
                            }
                            t.lens[t.have - 1]
                        } else {
                            0
                        };
                        if t.have + rep > total {
                            return Err(Invalid);
                        }
                        self.bitbuf >>= len + extra;
                        self.nbits -= len + extra;
                        t.lens[t.have..t.have + rep].fill(value);
                        t.have += rep;
                    }
                    if t.have < total {
                        // Out of bits with input left: refill and go on.
                        continue;
                    }
                    if t.lens[256] == 0 {
                        return Err(Invalid);
                    }
                    let (hlit, hdist) = (t.hlit, t.hdist);
                    let mut litlen = [0u8; 286];
                    litlen[..hlit].copy_from_slice(&t.lens[..hlit]);
                    let mut dist = [0u8; 30];
                    dist[..hdist].copy_from_slice(&t.lens[hlit..hlit + hdist]);
                    t.litlen.build(&litlen[..hlit], true).map_err(|_| Invalid)?;
                    t.dist.build(&dist[..hdist], true).map_err(|_| Invalid)?;
                    self.state = State::Codes { fixed: false };
                }
                State::Codes { fixed } => {
                    let done = if fixed {
                        self.codes(&FIXED_LITLEN, &FIXED_DIST, input, ip, out, before, cap)?
                    } else {
                        let Some(t) = self.tables.take() else {
                            return Err(Invalid);
                        };
                        let r = self.codes(&t.litlen, &t.dist, input, ip, out, before, cap);
                        self.tables = Some(t);
                        r?
                    };
                    match done {
                        Some(halt) => return Ok(halt),
                        None => self.end_block(),
                    }
                }
            }
        }
    }

    fn end_block(&mut self) {
        self.state = if self.last { State::End } else { State::Header };
    }

    /// Decodes symbols until the end of the block (`None`), or returns why
    /// it stopped. The bit buffer lives in locals while it runs.
    #[allow(clippy::too_many_arguments, reason = "the decoder's hot loop")]
    #[inline(always)]
    fn codes(
        &mut self,
        litlen: &LitLen,
        dist: &Dist,
        input: &[u8],
        ip: &mut usize,
        out: &mut Vec<u8>,
        before: usize,
        cap: usize,
    ) -> Result<Option<Halt>, Invalid> {
        let window = 1usize << self.window_bits;
        let (mut bb, mut nb, mut p) = (self.bitbuf, self.nbits, *ip);
        let result = loop {
            while self.copy_len > 0 {
                let r = room(out, cap);
                if r == 0 {
                    break;
                }
                let n = self.copy_len.min(r);
                self.copy(out, before, n);
                self.copy_len -= n;
            }
            if self.copy_len > 0 {
                break Ok(Some(Halt::Full));
            }
            // A literal/length code takes at most 15 bits: a refill (to at
            // least 56 bits) serves several literals.
            if nb < 15 {
                refill(input, &mut p, &mut bb, &mut nb);
            }
            let (sym, len) = match litlen.decode(bb, nb) {
                Decoded::Sym(s, l) => (s as usize, l),
                Decoded::Short => break Ok(Some(Halt::Input)),
                Decoded::Invalid => break Err(Invalid),
            };
            if sym < 256 {
                if out.len() < out.capacity().min(cap) || room(out, cap) > 0 {
                    bb >>= len;
                    nb -= len;
                    out.push(sym as u8);
                    continue;
                }
                break Ok(Some(Halt::Full));
            }
            if sym == 256 {
                bb >>= len;
                nb -= len;
                break Ok(None);
            }
            let ls = sym - 257;
            if ls >= 29 {
                break Err(Invalid);
            }
            // The length code, its extra bits, the distance code and its
            // extra bits: at most 15 + 5 + 15 + 13 bits.
            if nb < 48 {
                refill(input, &mut p, &mut bb, &mut nb);
            }
            let lextra = u32::from(LEN_EXTRA[ls]);
            let used = len + lextra;
            if nb < used {
                break Ok(Some(Halt::Input));
            }
            let length =
                usize::from(LEN_BASE[ls]) + ((bb >> len) as usize & ((1usize << lextra) - 1));
            let rest = bb >> used;
            let (ds, dlen) = match dist.decode(rest, nb - used) {
                Decoded::Sym(s, l) => (s as usize, l),
                Decoded::Short => break Ok(Some(Halt::Input)),
                Decoded::Invalid => break Err(Invalid),
            };
            if ds >= 30 {
                break Err(Invalid);
            }
            let dextra = u32::from(DIST_EXTRA[ds]);
            if nb < used + dlen + dextra {
                break Ok(Some(Halt::Input));
            }
            let distance =
                usize::from(DIST_BASE[ds]) + ((rest >> dlen) as usize & ((1usize << dextra) - 1));
            if distance > window || distance > self.filled + (out.len() - before) {
                break Err(Invalid);
            }
            let n = used + dlen + dextra;
            bb >>= n;
            nb -= n;
            self.copy_len = length;
            self.copy_dist = distance;
        };
        self.bitbuf = bb;
        self.nbits = nb;
        *ip = p;
        result
    }

    /// Copies `n` bytes of the pending match to `out`.
    #[inline(always)]
    fn copy(&mut self, out: &mut Vec<u8>, before: usize, mut n: usize) {
        let dist = self.copy_dist;
        let produced = out.len() - before;
        if dist > produced {
            // From the history of earlier calls.
            let back = dist - produced;
            let take = n.min(back);
            let w = self.history.len();
            // The history's length is a power of two.
            let start = (self.hpos + w - back) & (w - 1);
            let first = take.min(w - start);
            out.extend_from_slice(&self.history[start..start + first]);
            out.extend_from_slice(&self.history[..take - first]);
            n -= take;
        }
        if n == 0 {
            return;
        }
        let src = out.len() - dist;
        if dist == 1 {
            let b = out[src];
            out.resize(out.len() + n, b);
            return;
        }
        // The source repeats with period `dist`: copy in growing chunks.
        while n > 0 {
            let chunk = n.min(out.len() - src);
            out.extend_from_within(src..src + chunk);
            n -= chunk;
        }
    }

    /// Keeps the last window of `data` as history.
    fn remember(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let w = 1usize << self.window_bits;
        if self.history.is_empty() {
            self.history = vec![0; w];
        }
        if data.len() >= w {
            self.history.copy_from_slice(&data[data.len() - w..]);
            self.hpos = 0;
            self.filled = w;
            return;
        }
        let first = data.len().min(w - self.hpos);
        self.history[self.hpos..self.hpos + first].copy_from_slice(&data[..first]);
        self.history[..data.len() - first].copy_from_slice(&data[first..]);
        self.hpos = (self.hpos + data.len()) % w;
        self.filled = (self.filled + data.len()).min(w);
    }
}
