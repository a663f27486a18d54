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
    pub(crate) fn new(level: u8, window_bits: u8, hash_bits: u8) -> Deflater {
        Deflater {
            level: level.min(9),
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
            self.prev = vec![0; w];
            self.head = vec![0; 1 << self.hash_bits];
        }
        let mut bits = Bits { out, acc: 0, n: 0 };
        if self.level == 0 {
            stored(&mut bits, input);
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
            // Keep the window's worth of bytes before the cursor.
            let drop = cursor.saturating_sub(w);
            if drop > 0 {
                work.copy_within(drop.., 0);
                work.truncate(work.len() - drop);
                cursor -= drop;
                base = base.wrapping_add(drop as u16);
            }
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
