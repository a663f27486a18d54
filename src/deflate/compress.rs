//! A raw DEFLATE compressor (RFC 1951) sized by the window: LZ77 with hash
//! chains over at most `2^window_bits` bytes of history, greedy or lazy
//! matching by level, and dynamic, fixed or stored blocks, whichever is
//! smallest. Every call ends with a sync flush, as RFC 7692 needs.
//!
//! Held between messages: a window buffer (the last `2^window_bits` bytes
//! and room for half a window of new input, so that it slides only every
//! so often), one chain link per window byte and the hash table heads, both
//! 16-bit positions. Positions are kept modulo 2^16 and every candidate match is
//! verified against the bytes, so stale entries only cost a comparison and
//! nothing needs rescanning as the window moves.

use alloc::vec;
use alloc::vec::Vec;

use super::huffman::{
    self, CODELEN_ORDER, CODELEN_SYMS, DIST_EXTRA, DIST_SYMS, FIXED_DIST_LENS, FIXED_LITLEN_LENS,
    LEN_EXTRA, LEN_SYM, LITLEN_SYMS,
};

const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
/// Symbols per block at most.
const BLOCK_SYMBOLS: usize = 16 << 10;
/// The most a stored block holds.
const MAX_STORED: usize = 65_535;

/// How hard the matcher tries (zlib's configuration table).
#[derive(Clone, Copy, Debug)]
struct Effort {
    /// Shorten the chain search when the previous match is this long.
    good: u16,
    /// Lazy: look for a better match only below this length. Greedy: insert
    /// every position of matches up to this length.
    lazy: u16,
    /// Stop searching at a match this long.
    nice: u16,
    /// Chain links followed at most.
    chain: u16,
    lazy_matching: bool,
}

fn effort(level: u8) -> Effort {
    let (good, lazy, nice, chain, lazy_matching) = match level {
        0 | 1 => (4, 4, 8, 4, false),
        2 => (4, 5, 16, 8, false),
        3 => (4, 6, 32, 32, false),
        4 => (4, 4, 16, 16, true),
        5 => (8, 16, 32, 32, true),
        6 => (8, 16, 128, 128, true),
        7 => (8, 32, 128, 256, true),
        8 => (32, 128, 258, 1024, true),
        _ => (32, 258, 258, 4096, true),
    };
    Effort {
        good,
        lazy,
        nice,
        chain,
        lazy_matching,
    }
}

/// Keeps the window's worth of bytes before the cursor: drops the older
/// ones from the front of `work`, moving the cursor and the position base
/// of the hash table with them.
fn slide(work: &mut Vec<u8>, cursor: &mut usize, base: &mut u16, window: usize) {
    let drop = cursor.saturating_sub(window);
    if drop > 0 {
        work.copy_within(drop.., 0);
        work.truncate(work.len() - drop);
        *cursor -= drop;
        *base = base.wrapping_add(drop as u16);
    }
}

/// Heap bytes a compressor holds with these parameters.
#[cfg(test)]
pub(crate) fn held_memory(window_bits: u8, hash_bits: u8) -> usize {
    let window = 1usize << window_bits;
    buffer_len(window) + 2 * window + (2usize << hash_bits)
}

/// The window buffer: the window plus room for new input (half a window,
/// and at least a few matches' worth so that every pass makes progress).
fn buffer_len(window: usize) -> usize {
    window + (window / 2).max(4 * MAX_MATCH)
}

/// The compressor's state that carries over between messages.
#[derive(Debug)]
pub(crate) struct Deflater {
    level: u8,
    window_bits: u8,
    hash_bits: u8,
    /// The last bytes compressed, at most the window.
    history: Vec<u8>,
    /// Chain links: the previous position with the same hash, by position
    /// modulo the window.
    prev: Vec<u16>,
    /// The most recent position of each hash.
    head: Vec<u16>,
    /// Bytes compressed so far, modulo 2^16 (the position of the next one).
    pos: u16,
}

/// One LZ77 symbol: a literal (`dist == 0`) or a match.
#[derive(Clone, Copy, Debug)]
struct Sym {
    /// The literal byte, or the match length.
    value: u16,
    dist: u16,
}

/// The symbols of one block and their frequencies.
struct Block {
    syms: Vec<Sym>,
    litlen: [u32; LITLEN_SYMS],
    dist: [u32; DIST_SYMS],
    /// Input bytes the block covers.
    bytes: usize,
    /// What the symbols cost with the fixed code, in bits.
    fixed_bits: u64,
}

impl Block {
    fn new(capacity: usize) -> Block {
        Block {
            syms: Vec::with_capacity(capacity),
            litlen: [0; LITLEN_SYMS],
            dist: [0; DIST_SYMS],
            bytes: 0,
            fixed_bits: 0,
        }
    }

    #[inline(always)]
    fn literal(&mut self, b: u8) {
        self.syms.push(Sym {
            value: u16::from(b),
            dist: 0,
        });
        self.litlen[b as usize] += 1;
        self.bytes += 1;
        self.fixed_bits += u64::from(FIXED_LITLEN_LENS[b as usize]);
    }

    #[inline(always)]
    fn matched(&mut self, len: usize, dist: usize) {
        self.syms.push(Sym {
            value: len as u16,
            dist: dist as u16,
        });
        let ls = LEN_SYM[len - MIN_MATCH] as usize;
        let ds = huffman::dist_sym(dist as u32);
        self.litlen[257 + ls] += 1;
        self.dist[ds] += 1;
        self.bytes += len;
        self.fixed_bits +=
            u64::from(FIXED_LITLEN_LENS[257 + ls] + LEN_EXTRA[ls] + 5 + DIST_EXTRA[ds]);
    }

    fn clear(&mut self) {
        self.syms.clear();
        self.litlen = [0; LITLEN_SYMS];
        self.dist = [0; DIST_SYMS];
        self.bytes = 0;
        self.fixed_bits = 0;
    }
}

/// LSB-first bit output.
struct Bits<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits<'_> {
    /// Appends the low `count` (at most 32) bits of `bits`.
    #[inline(always)]
    fn put(&mut self, bits: u32, count: u32) {
        self.acc |= u64::from(bits) << self.n;
        self.n += count;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    /// Pads with zero bits to a byte boundary and writes out what is
    /// pending.
    fn align(&mut self) {
        let bytes = self.n.div_ceil(8);
        self.out
            .extend_from_slice(&self.acc.to_le_bytes()[..bytes as usize]);
        self.acc = 0;
        self.n = 0;
    }
}

/// Lazy-matching state that carries across passes within one call.
#[derive(Clone, Copy, Default)]
struct Lazy {
    /// A match found at the previous position, not yet emitted.
    prev_len: usize,
    prev_dist: usize,
    /// The previous position's literal is pending.
    pending: bool,
}

impl Deflater {
    /// A compressor for `2^window_bits` bytes of history (8–15) and
    /// `2^hash_bits` hash heads. Nothing is allocated until it compresses.
    /// Level 1 keeps no chain links and spends their memory on twice as
    /// many hash heads instead (never more than the chains and heads of
    /// the other levels while `hash_bits` is at most `window_bits`).
    pub(crate) fn new(level: u8, window_bits: u8, hash_bits: u8) -> Deflater {
        let level = level.min(9);
        let hash_bits = if level == 1 {
            hash_bits.saturating_add(1)
        } else {
            hash_bits
        };
        Deflater {
            level,
            window_bits: window_bits.clamp(8, 15),
            hash_bits: hash_bits.clamp(8, 16),
            history: Vec::new(),
            prev: Vec::new(),
            head: Vec::new(),
            pos: 0,
        }
    }

    /// Heap bytes held now.
    pub(crate) fn memory(&self) -> usize {
        self.history.capacity() + 2 * self.prev.capacity() + 2 * self.head.capacity()
    }

    /// Frees everything: the next message starts a new stream.
    pub(crate) fn release(&mut self) {
        self.history = Vec::new();
        self.prev = Vec::new();
        self.head = Vec::new();
        self.pos = 0;
    }

    /// Forgets the history but keeps the allocations (for measurements).
    #[cfg(test)]
    pub(crate) fn reset(&mut self) {
        self.history.clear();
        self.prev.fill(0);
        self.head.fill(0);
        self.pos = 0;
    }

    fn window(&self) -> usize {
        1 << self.window_bits
    }

    /// Compresses `input` as one or more blocks followed by a sync flush,
    /// appended to `out`. With `strip_tail`, the flush's final
    /// `00 00 ff ff` is left out (the end of a message, RFC 7692 §7.2.1).
    pub(crate) fn compress(&mut self, input: &[u8], out: &mut Vec<u8>, strip_tail: bool) {
        let w = self.window();
        if self.level > 0 && !input.is_empty() && self.head.is_empty() {
            self.history = Vec::with_capacity(buffer_len(w));
            if self.level > 1 {
                self.prev = vec![0; w];
            }
            self.head = vec![0; 1 << self.hash_bits];
        }
        let mut bits = Bits { out, acc: 0, n: 0 };
        if self.level == 0 {
            stored(&mut bits, input);
        } else if self.level == 1 && !input.is_empty() {
            self.quick(input, &mut bits);
        } else if !input.is_empty() {
            self.lz77(input, &mut bits);
        }
        // The sync flush: an empty stored block.
        bits.put(0, 3);
        bits.align();
        if !strip_tail {
            bits.out.extend_from_slice(&[0x00, 0x00, 0xFF, 0xFF]);
        }
    }

    fn lz77(&mut self, input: &[u8], bits: &mut Bits<'_>) {
        let w = self.window();
        let cap = self.history.capacity();
        let e = effort(self.level);
        let mut block = Block::new(BLOCK_SYMBOLS.min(input.len() + 1));
        // The window buffer: history, then the input as it fits, with a
        // match's worth of lookahead; it slides only when full, so small
        // messages are appended without moving the history.
        let mut work = core::mem::take(&mut self.history);
        // Absolute position (mod 2^16) of work[0].
        let mut base = self.pos.wrapping_sub(work.len() as u16);
        let mut cursor = work.len();
        let mut fed = 0;
        let mut block_start = 0;
        let mut lazy = Lazy::default();
        loop {
            let take = (cap - work.len()).min(input.len() - fed);
            work.extend_from_slice(&input[fed..fed + take]);
            fed += take;
            let last = fed == input.len();
            let end = if last {
                work.len()
            } else {
                work.len() - MAX_MATCH
            };
            while cursor < end {
                let stop = if e.lazy_matching {
                    self.lazy_pass(&work, base, cursor, end, &e, &mut block, &mut lazy)
                } else {
                    self.greedy_pass(&work, base, cursor, end, &e, &mut block)
                };
                cursor = stop;
                if block.syms.len() >= BLOCK_SYMBOLS {
                    let bytes = &input[block_start..block_start + block.bytes];
                    write_block(bits, &block, bytes, self.level <= 1);
                    block_start += block.bytes;
                    block.clear();
                }
            }
            if last && cursor >= work.len() {
                break;
            }
            slide(&mut work, &mut cursor, &mut base, w);
        }
        if lazy.pending {
            block.literal(work[cursor - 1]);
        }
        let bytes = &input[block_start..block_start + block.bytes];
        write_block(bits, &block, bytes, self.level <= 1);
        // Make room for the next message if the buffer is nearly full.
        if work.len() > w && cap - work.len() < MAX_MATCH {
            let drop = work.len() - w;
            work.copy_within(drop.., 0);
            work.truncate(w);
        }
        self.history = work;
        self.pos = self.pos.wrapping_add(input.len() as u16);
    }

    /// Level 1: one hash probe per position over 4-byte prefixes, no
    /// chains, every match taken as found and written at once with the
    /// fixed code into a 64-bit bit buffer (no symbol buffer). Each block
    /// covers up to [`QUICK_BLOCK`] input bytes and is rewritten as stored
    /// blocks when those are smaller.
    fn quick(&mut self, input: &[u8], bits: &mut Bits<'_>) {
        let w = self.window();
        let cap = self.history.capacity();
        let shift = 32 - u32::from(self.hash_bits);
        let head = &mut self.head[..];
        let mut work = core::mem::take(&mut self.history);
        let mut base = self.pos.wrapping_sub(work.len() as u16);
        let mut cursor = work.len();
        let mut fed = 0;
        let mut out = Emit::new(bits);
        // Input bytes covered by symbols written so far, and where the open
        // block starts (input index, output state).
        let mut done = 0;
        let mut block = out.open();
        loop {
            let take = (cap - work.len()).min(input.len() - fed);
            work.extend_from_slice(&input[fed..fed + take]);
            fed += take;
            let last = fed == input.len();
            let end = if last {
                work.len()
            } else {
                work.len() - MAX_MATCH
            };
            let n = work.len();
            // Room for every byte from the cursor to the end as a literal
            // (no symbol costs more than 9 bits per byte it covers), and for
            // the block ends in between.
            out.reserve((n - cursor) * 9 / 8 + 2 * (1 + (n - cursor) / QUICK_BLOCK));
            let mut i = cursor;
            while i < end {
                let scan = Scan {
                    work: &work,
                    base,
                    window: w,
                    shift,
                };
                let stop = (block.start + QUICK_BLOCK - done).min(end - i);
                let (next, state) = scan.run(head, i, i + stop, out.bits.out, out.state);
                out.state = state;
                done += next - i;
                i = next;
                if done - block.start >= QUICK_BLOCK {
                    out.close(&block, &input[block.start..done]);
                    block = out.open_at(done);
                }
            }
            cursor = i;
            if last && cursor >= work.len() {
                break;
            }
            slide(&mut work, &mut cursor, &mut base, w);
        }
        out.close(&block, &input[block.start..done]);
        out.finish();
        if work.len() > w && cap - work.len() < MAX_MATCH {
            let drop = work.len() - w;
            work.copy_within(drop.., 0);
            work.truncate(w);
        }
        self.history = work;
        self.pos = self.pos.wrapping_add(input.len() as u16);
    }

    #[inline(always)]
    fn hash(&self, work: &[u8], i: usize) -> usize {
        let v = match work.get(i..i + 4) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], 0]),
            None => u32::from(work[i]) | u32::from(work[i + 1]) << 8 | u32::from(work[i + 2]) << 16,
        };
        (v.wrapping_mul(0x9E37_79B1) >> (32 - u32::from(self.hash_bits))) as usize
    }

    /// Inserts position `i` in its hash chain; returns the previous head.
    #[inline(always)]
    fn insert(&mut self, work: &[u8], base: u16, i: usize) -> u16 {
        let h = self.hash(work, i);
        let abs = base.wrapping_add(i as u16);
        let old = self.head[h];
        self.head[h] = abs;
        let mask = self.window() - 1;
        self.prev[abs as usize & mask] = old;
        old
    }

    /// The longest match for position `i` longer than `best` along the chain
    /// starting at `cand`: (length, distance), length 0 if none.
    #[inline(always)]
    fn longest(
        &self,
        work: &[u8],
        base: u16,
        i: usize,
        cand: u16,
        best: usize,
        e: &Effort,
    ) -> (usize, usize) {
        let w = self.window();
        let mask = w - 1;
        let max_len = (work.len() - i).min(MAX_MATCH);
        if max_len < MIN_MATCH || best >= max_len {
            return (0, 0);
        }
        let abs = base.wrapping_add(i as u16);
        let mut chain = if best >= e.good as usize {
            e.chain >> 2
        } else {
            e.chain
        };
        let nice = (e.nice as usize).min(max_len);
        let mut best_len = best.max(MIN_MATCH - 1);
        let mut best_dist = 0;
        let mut cand = cand;
        let mut last_dist = 0usize;
        let here = &work[i..i + max_len];
        loop {
            let dist = abs.wrapping_sub(cand) as usize;
            if dist <= last_dist || dist >= w || dist > i {
                break;
            }
            last_dist = dist;
            let there = &work[i - dist..];
            if there[best_len] == here[best_len] && there[0] == here[0] && there[1] == here[1] {
                let len = match_len(here, there);
                if len > best_len {
                    best_len = len;
                    best_dist = dist;
                    if len >= nice {
                        break;
                    }
                }
            }
            chain -= 1;
            if chain == 0 {
                break;
            }
            cand = self.prev[cand as usize & mask];
        }
        if best_dist == 0 {
            (0, 0)
        } else {
            (best_len, best_dist)
        }
    }

    /// Greedy matching of positions `cursor..end`, stopping early when the
    /// block is full; returns the next position (a match may run past
    /// `end`).
    fn greedy_pass(
        &mut self,
        work: &[u8],
        base: u16,
        mut i: usize,
        end: usize,
        e: &Effort,
        block: &mut Block,
    ) -> usize {
        let n = work.len();
        while i < end && block.syms.len() < BLOCK_SYMBOLS {
            if i + MIN_MATCH > n {
                block.literal(work[i]);
                i += 1;
                continue;
            }
            let cand = self.insert(work, base, i);
            let (len, dist) = self.longest(work, base, i, cand, 0, e);
            if len >= MIN_MATCH {
                block.matched(len, dist);
                if len <= e.lazy as usize {
                    for j in i + 1..(i + len).min(n.saturating_sub(MIN_MATCH - 1)) {
                        self.insert(work, base, j);
                    }
                }
                i += len;
            } else {
                block.literal(work[i]);
                i += 1;
            }
        }
        i
    }

    /// Lazy matching (a match is emitted only if the next position does
    /// not start a longer one).
    #[allow(clippy::too_many_arguments, reason = "the matcher's state")]
    fn lazy_pass(
        &mut self,
        work: &[u8],
        base: u16,
        mut i: usize,
        end: usize,
        e: &Effort,
        block: &mut Block,
        lazy: &mut Lazy,
    ) -> usize {
        let n = work.len();
        while i < end && block.syms.len() < BLOCK_SYMBOLS {
            let (mut len, mut dist) = (0, 0);
            if i + MIN_MATCH <= n {
                let cand = self.insert(work, base, i);
                if lazy.prev_len < e.lazy as usize {
                    (len, dist) = self.longest(work, base, i, cand, lazy.prev_len, e);
                    // A 3-byte match far away costs more than literals.
                    if len == MIN_MATCH && dist > 4096 {
                        len = 0;
                    }
                }
            }
            if lazy.prev_len >= MIN_MATCH && len <= lazy.prev_len {
                // The previous position's match wins.
                block.matched(lazy.prev_len, lazy.prev_dist);
                let stop = (i - 1 + lazy.prev_len).min(n.saturating_sub(MIN_MATCH - 1));
                for j in i + 1..stop {
                    self.insert(work, base, j);
                }
                i = i - 1 + lazy.prev_len;
                *lazy = Lazy::default();
            } else {
                if lazy.pending {
                    block.literal(work[i - 1]);
                }
                lazy.pending = true;
                lazy.prev_len = len;
                lazy.prev_dist = dist;
                i += 1;
            }
        }
        i
    }
}

/// Input bytes a level-1 block covers at most (then a new block starts).
const QUICK_BLOCK: usize = 16 << 10;

/// Where a level-1 block started: its first input byte and the output
/// state, to rewrite it as stored blocks.
struct Open {
    start: usize,
    pos: usize,
    acc: u64,
    n: u32,
}

/// The bit writer's state for level 1: bytes written (the output's length
/// is the zeroed room beyond them) and the pending bits.
#[derive(Clone, Copy)]
struct State {
    pos: usize,
    acc: u64,
    n: u32,
}

impl State {
    /// Appends `count` bits (with fewer than 8 pending, at most 56) and
    /// writes out the whole bytes: 8 bytes are stored at `pos`, so `buf`
    /// needs 8 bytes of room beyond it.
    #[inline(always)]
    fn put(&mut self, buf: &mut [u8], bits: u64, count: u32) {
        self.acc |= bits << self.n;
        self.n += count;
        buf[self.pos..self.pos + 8].copy_from_slice(&self.acc.to_le_bytes());
        let whole = self.n >> 3;
        self.pos += whole as usize;
        self.acc >>= whole * 8;
        self.n &= 7;
    }
}

/// Level 1's matcher over one window buffer.
struct Scan<'a> {
    work: &'a [u8],
    /// The absolute position (mod 2^16) of `work[0]`.
    base: u16,
    window: usize,
    /// 32 minus the hash bits.
    shift: u32,
}

impl Scan<'_> {
    /// Matches and writes positions from `i` until `stop` is reached (a
    /// match may run past it, never past the buffer): one probe of the
    /// hash table per position, a match taken when its first 4 bytes agree.
    /// Returns the next position.
    #[inline(never)]
    fn run(
        &self,
        head: &mut [u16],
        mut i: usize,
        stop: usize,
        out: &mut [u8],
        mut st: State,
    ) -> (usize, State) {
        let work = self.work;
        let n = work.len();
        let limit = self.window - 1;
        while i < stop {
            let Some(&[a, b, c, d]) = work.get(i..i + 4) else {
                // The last bytes of the message.
                let e = QUICK_LIT[work[i] as usize];
                st.put(out, u64::from(e & 0xFFFF), e >> 16);
                i += 1;
                continue;
            };
            let v = u32::from_le_bytes([a, b, c, d]);
            let h = (v.wrapping_mul(0x9E37_79B1) >> self.shift) as usize;
            let abs = self.base.wrapping_add(i as u16);
            let dist = abs.wrapping_sub(head[h]) as usize;
            head[h] = abs;
            if dist.wrapping_sub(1) < limit.min(i)
                && work.get(i - dist..i - dist + 4) == Some(&[a, b, c, d][..])
            {
                let max_len = (n - i).min(MAX_MATCH);
                let len = 4 + match_len(&work[i + 4..i + max_len], &work[i - dist + 4..]);
                let l = QUICK_LEN[len - MIN_MATCH];
                let (lbits, lcount) = (u64::from(l & 0xFF_FFFF), l >> 24);
                let d = dist as u32;
                let ds = huffman::dist_sym(d);
                let dbits = u64::from(QUICK_DIST[ds])
                    | u64::from(d - u32::from(huffman::DIST_BASE[ds])) << 5;
                st.put(
                    out,
                    lbits | dbits << lcount,
                    lcount + 5 + u32::from(DIST_EXTRA[ds]),
                );
                i += len;
            } else {
                let e = QUICK_LIT[a as usize];
                st.put(out, u64::from(e & 0xFFFF), e >> 16);
                i += 1;
            }
        }
        (i, st)
    }
}

/// Fixed-code output for level 1, written into zeroed room at the end of
/// the output.
struct Emit<'a, 'b> {
    bits: &'a mut Bits<'b>,
    state: State,
}

impl<'a, 'b> Emit<'a, 'b> {
    fn new(bits: &'a mut Bits<'b>) -> Self {
        // Pending bits (fewer than 32) are written out by the first `put`.
        let state = State {
            pos: bits.out.len(),
            acc: bits.acc,
            n: bits.n,
        };
        let mut e = Emit { bits, state };
        e.reserve(8);
        e.put(0, 0);
        e
    }

    /// Makes room for `bytes` more bytes (and the 8 that a write touches).
    fn reserve(&mut self, bytes: usize) {
        let need = self.state.pos + bytes + 16;
        if self.bits.out.len() < need {
            self.bits.out.resize(need, 0);
        }
    }

    fn put(&mut self, bits: u64, count: u32) {
        self.state.put(self.bits.out, bits, count);
    }

    /// Opens a fixed-code block at the start of the input.
    fn open(&mut self) -> Open {
        self.open_at(0)
    }

    /// Opens a fixed-code block whose first input byte is `start`.
    fn open_at(&mut self, start: usize) -> Open {
        self.reserve(16);
        let open = Open {
            start,
            pos: self.state.pos,
            acc: self.state.acc,
            n: self.state.n,
        };
        self.put(0b010, 3);
        open
    }

    /// Ends the block opened at `open`, whose input is `bytes`: as it is,
    /// or rewritten as stored blocks if those are smaller.
    fn close(&mut self, open: &Open, bytes: &[u8]) {
        self.reserve(16);
        // End of block: seven zero bits.
        self.put(0, u32::from(FIXED_LITLEN_LENS[256]));
        let st = self.state;
        let fixed =
            (st.pos as u64 * 8 + u64::from(st.n)) - (open.pos as u64 * 8 + u64::from(open.n));
        let pad = u64::from((8 - (open.n + 3) % 8) % 8);
        let stored_cost = bytes.len().div_ceil(MAX_STORED).max(1) as u64 * (3 + 32)
            + pad
            + 8 * bytes.len() as u64;
        if stored_cost < fixed {
            // Stored blocks take less than the room the fixed code used.
            let room = self.bits.out.len();
            self.bits.out.truncate(open.pos);
            self.bits.acc = open.acc;
            self.bits.n = open.n;
            stored(self.bits, bytes);
            self.state = State {
                pos: self.bits.out.len(),
                acc: self.bits.acc,
                n: self.bits.n,
            };
            self.bits.out.resize(room.max(self.state.pos + 16), 0);
        }
    }

    /// Hands the output back: the bytes written, the pending bits.
    fn finish(self) {
        self.bits.out.truncate(self.state.pos);
        self.bits.acc = self.state.acc;
        self.bits.n = self.state.n;
    }
}

/// Level 1's fixed literal codes: the bit-reversed code, and its length
/// above bit 16.
static QUICK_LIT: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = FIXED.0[b] as u32 | (FIXED_LITLEN_LENS[b] as u32) << 16;
        b += 1;
    }
    t
};

/// Level 1's fixed length codes, by length minus 3: the code and the extra
/// bits' value as one bit string, and its length above bit 24.
static QUICK_LEN: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let ls = LEN_SYM[i] as usize;
        let sym = 257 + ls;
        let clen = FIXED_LITLEN_LENS[sym] as u32;
        let extra = (i as u32 + 3) - huffman::LEN_BASE[ls] as u32;
        t[i] = (FIXED.0[sym] as u32 | extra << clen) | (clen + LEN_EXTRA[ls] as u32) << 24;
        i += 1;
    }
    t
};

/// Level 1's fixed distance codes (5 bits, bit-reversed).
static QUICK_DIST: [u16; DIST_SYMS] = FIXED.1;

/// The length of the common prefix of `a` and `b` (`a` the shorter).
#[inline(always)]
fn match_len(a: &[u8], b: &[u8]) -> usize {
    let n = a.len();
    let mut k = 0;
    while k + 8 <= n {
        let x = u64::from_le_bytes(a[k..k + 8].try_into().unwrap_or([0; 8]))
            ^ u64::from_le_bytes(b[k..k + 8].try_into().unwrap_or([0; 8]));
        if x != 0 {
            return k + (x.trailing_zeros() / 8) as usize;
        }
        k += 8;
    }
    while k < n && a[k] == b[k] {
        k += 1;
    }
    k
}

/// Stored blocks of `data` (none for empty data).
fn stored(bits: &mut Bits<'_>, data: &[u8]) {
    for chunk in data.chunks(MAX_STORED) {
        bits.put(0, 3);
        bits.align();
        let len = chunk.len() as u16;
        bits.out.extend_from_slice(&len.to_le_bytes());
        bits.out.extend_from_slice(&(!len).to_le_bytes());
        bits.out.extend_from_slice(chunk);
    }
}

/// Bits the block's symbols take with these code lengths (end of block
/// included).
fn data_cost(block: &Block, litlen: &[u8], dist: &[u8]) -> u64 {
    let mut cost = 0u64;
    for (s, &f) in block.litlen.iter().enumerate().take(286) {
        let extra = if s >= 257 { LEN_EXTRA[s - 257] } else { 0 };
        cost += u64::from(f) * u64::from(litlen[s] + extra);
    }
    for (s, &f) in block.dist.iter().enumerate().take(30) {
        cost += u64::from(f) * u64::from(dist[s] + DIST_EXTRA[s]);
    }
    cost + u64::from(litlen[256])
}

/// The run-length encoded code lengths of a dynamic header.
struct Header {
    hlit: usize,
    hdist: usize,
    hclen: usize,
    /// (symbol, extra bits value) pairs.
    rle: Vec<(u8, u8)>,
    cl_lens: [u8; CODELEN_SYMS],
    cl_codes: [u16; CODELEN_SYMS],
}

impl Header {
    fn new(litlen: &[u8], dist: &[u8]) -> Header {
        let mut hlit = 286;
        while hlit > 257 && litlen[hlit - 1] == 0 {
            hlit -= 1;
        }
        let mut hdist = 30;
        while hdist > 1 && dist[hdist - 1] == 0 {
            hdist -= 1;
        }
        let mut all = [0u8; 286 + 30];
        all[..hlit].copy_from_slice(&litlen[..hlit]);
        all[hlit..hlit + hdist].copy_from_slice(&dist[..hdist]);
        let all = &all[..hlit + hdist];
        let mut rle = Vec::with_capacity(all.len());
        let mut freqs = [0u32; CODELEN_SYMS];
        let mut i = 0;
        while i < all.len() {
            let l = all[i];
            let mut run = 1;
            while i + run < all.len() && all[i + run] == l {
                run += 1;
            }
            i += run;
            if l == 0 {
                while run >= 11 {
                    let r = run.min(138);
                    rle.push((18, (r - 11) as u8));
                    freqs[18] += 1;
                    run -= r;
                }
                if run >= 3 {
                    rle.push((17, (run - 3) as u8));
                    freqs[17] += 1;
                    run = 0;
                }
            } else {
                rle.push((l, 0));
                freqs[l as usize] += 1;
                run -= 1;
                while run >= 3 {
                    let r = run.min(6);
                    rle.push((16, (r - 3) as u8));
                    freqs[16] += 1;
                    run -= r;
                }
            }
            for _ in 0..run {
                rle.push((l, 0));
                freqs[l as usize] += 1;
            }
        }
        let mut cl_lens = [0u8; CODELEN_SYMS];
        huffman::code_lengths(&mut freqs, 7, &mut cl_lens);
        let mut cl_codes = [0u16; CODELEN_SYMS];
        huffman::codes(&cl_lens, &mut cl_codes);
        let mut hclen = CODELEN_SYMS;
        while hclen > 4 && cl_lens[CODELEN_ORDER[hclen - 1]] == 0 {
            hclen -= 1;
        }
        Header {
            hlit,
            hdist,
            hclen,
            rle,
            cl_lens,
            cl_codes,
        }
    }

    fn cost(&self) -> u64 {
        let mut cost = 5 + 5 + 4 + 3 * self.hclen as u64;
        for &(s, _) in &self.rle {
            let extra = match s {
                16 => 2,
                17 => 3,
                18 => 7,
                _ => 0,
            };
            cost += u64::from(self.cl_lens[s as usize]) + extra;
        }
        cost
    }

    fn write(&self, bits: &mut Bits<'_>) {
        bits.put((self.hlit - 257) as u32, 5);
        bits.put((self.hdist - 1) as u32, 5);
        bits.put((self.hclen - 4) as u32, 4);
        for &s in &CODELEN_ORDER[..self.hclen] {
            bits.put(u32::from(self.cl_lens[s]), 3);
        }
        for &(s, x) in &self.rle {
            let s = s as usize;
            bits.put(u32::from(self.cl_codes[s]), u32::from(self.cl_lens[s]));
            match s {
                16 => bits.put(u32::from(x), 2),
                17 => bits.put(u32::from(x), 3),
                18 => bits.put(u32::from(x), 7),
                _ => {}
            }
        }
    }
}

/// Writes `block` (whose input is `bytes`) as a dynamic, fixed or stored
/// block, whichever is smallest; `fast`: fixed or stored only, without
/// building codes. An empty block writes nothing.
fn write_block(bits: &mut Bits<'_>, block: &Block, bytes: &[u8], fast: bool) {
    if block.syms.is_empty() {
        return;
    }
    // Header bits, padding, LEN and NLEN per stored block, then the bytes.
    let pad = u64::from((8 - (bits.n + 3) % 8) % 8);
    let stored_cost =
        bytes.len().div_ceil(MAX_STORED).max(1) as u64 * (3 + 32) + pad + 8 * bytes.len() as u64;
    // Header, symbols, end of block.
    let fixed = 3 + block.fixed_bits + u64::from(FIXED_LITLEN_LENS[256]);
    debug_assert_eq!(
        fixed,
        3 + data_cost(block, &FIXED_LITLEN_LENS, &FIXED_DIST_LENS)
    );
    if fast {
        if stored_cost <= fixed {
            stored(bits, bytes);
        } else {
            bits.put(0b010, 3);
            write_symbols(
                bits,
                block,
                &FIXED.0,
                &FIXED_LITLEN_LENS,
                &FIXED.1,
                &FIXED_DIST_LENS,
            );
        }
        return;
    }
    let mut litlen_f = block.litlen;
    litlen_f[256] = 1;
    let mut dist_f = block.dist;
    let mut litlen = [0u8; LITLEN_SYMS];
    let mut dist = [0u8; DIST_SYMS];
    huffman::code_lengths(&mut litlen_f[..286], 15, &mut litlen);
    huffman::code_lengths(&mut dist_f[..30], 15, &mut dist);
    let header = Header::new(&litlen, &dist);
    let dynamic = 3 + header.cost() + data_cost(block, &litlen, &dist);
    if stored_cost <= dynamic.min(fixed) {
        stored(bits, bytes);
        return;
    }
    if fixed <= dynamic {
        bits.put(0b010, 3);
        write_symbols(
            bits,
            block,
            &FIXED.0,
            &FIXED_LITLEN_LENS,
            &FIXED.1,
            &FIXED_DIST_LENS,
        );
    } else {
        let mut litlen_codes = [0u16; LITLEN_SYMS];
        let mut dist_codes = [0u16; DIST_SYMS];
        bits.put(0b100, 3);
        header.write(bits);
        huffman::codes(&litlen, &mut litlen_codes);
        huffman::codes(&dist, &mut dist_codes);
        write_symbols(bits, block, &litlen_codes, &litlen, &dist_codes, &dist);
    }
}

/// The fixed code's codes, bit-reversed.
static FIXED: ([u16; LITLEN_SYMS], [u16; DIST_SYMS]) = {
    let mut l = [0u16; LITLEN_SYMS];
    let mut d = [0u16; DIST_SYMS];
    huffman::codes(&FIXED_LITLEN_LENS, &mut l);
    huffman::codes(&FIXED_DIST_LENS, &mut d);
    (l, d)
};

fn write_symbols(
    bits: &mut Bits<'_>,
    block: &Block,
    lcodes: &[u16],
    llens: &[u8],
    dcodes: &[u16],
    dlens: &[u8],
) {
    for s in &block.syms {
        if s.dist == 0 {
            let b = s.value as usize;
            bits.put(u32::from(lcodes[b]), u32::from(llens[b]));
        } else {
            let len = s.value as usize;
            let ls = LEN_SYM[len - MIN_MATCH] as usize;
            let lsym = 257 + ls;
            let lextra = u32::from(LEN_EXTRA[ls]);
            let lbits = u32::from(lcodes[lsym])
                | ((len as u32 - u32::from(huffman::LEN_BASE[ls])) << llens[lsym]);
            bits.put(lbits, u32::from(llens[lsym]) + lextra);
            let d = u32::from(s.dist);
            let ds = huffman::dist_sym(d);
            let dextra = u32::from(DIST_EXTRA[ds]);
            let dbits =
                u32::from(dcodes[ds]) | ((d - u32::from(huffman::DIST_BASE[ds])) << dlens[ds]);
            bits.put(dbits, u32::from(dlens[ds]) + dextra);
        }
    }
    bits.put(u32::from(lcodes[256]), u32::from(llens[256]));
}
