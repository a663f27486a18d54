//! Huffman codes of DEFLATE (RFC 1951 §3.2): length-limited code lengths
//! for the encoder, canonical codes, and compact decoding tables.

/// Literal/length symbols (0–255 literals, 256 end of block, 257–285
/// lengths; 286 and 287 exist only in the fixed code).
pub(crate) const LITLEN_SYMS: usize = 288;
/// Distance symbols (30 and 31 exist only in the fixed code).
pub(crate) const DIST_SYMS: usize = 32;
/// Code length code symbols.
pub(crate) const CODELEN_SYMS: usize = 19;
/// The longest literal/length or distance code.
pub(crate) const MAX_BITS: usize = 15;
/// The order in which code length code lengths are sent.
pub(crate) const CODELEN_ORDER: [usize; CODELEN_SYMS] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Base lengths of length symbols 257–285, and their extra bits.
pub(crate) const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
pub(crate) const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base distances of distance symbols 0–29, and their extra bits.
pub(crate) const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
pub(crate) const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// The length symbol (minus 257) of each match length minus 3.
pub(crate) const LEN_SYM: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut sym = 0;
    while sym < 28 {
        let mut l = LEN_BASE[sym] as usize - 3;
        let end = l + (1 << LEN_EXTRA[sym]);
        while l < end && l < 256 {
            t[l] = sym as u8;
            l += 1;
        }
        sym += 1;
    }
    // 258 has a symbol of its own.
    t[255] = 28;
    t
};

/// The distance symbol of `dist` (1–32768).
#[inline]
pub(crate) fn dist_sym(dist: u32) -> usize {
    let d = dist - 1;
    if d < 4 {
        d as usize
    } else {
        let top = 31 - d.leading_zeros();
        (2 * top + ((d >> (top - 1)) & 1)) as usize
    }
}

/// Fixed literal/length code lengths (§3.2.6).
pub(crate) const FIXED_LITLEN_LENS: [u8; LITLEN_SYMS] = {
    let mut t = [0u8; LITLEN_SYMS];
    let mut i = 0;
    while i < LITLEN_SYMS {
        t[i] = if i < 144 {
            8
        } else if i < 256 {
            9
        } else if i < 280 {
            7
        } else {
            8
        };
        i += 1;
    }
    t
};
/// Fixed distance code lengths.
pub(crate) const FIXED_DIST_LENS: [u8; DIST_SYMS] = [5; DIST_SYMS];

/// Optimal code lengths for `freqs`, at most `limit` bits, into `lens`.
/// Symbols of frequency 0 get length 0. At least two symbols get a code
/// (as zlib does), so that every decoder accepts the result.
pub(crate) fn code_lengths(freqs: &mut [u32], limit: usize, lens: &mut [u8]) {
    let n = freqs.len();
    lens[..n].fill(0);
    let mut used = freqs.iter().filter(|&&f| f > 0).count();
    let mut i = 0;
    while used < 2 && i < n {
        if freqs[i] == 0 {
            freqs[i] = 1;
            used += 1;
        }
        i += 1;
    }
    // (frequency, symbol), ascending.
    let mut sorted = [(0u32, 0u16); LITLEN_SYMS];
    let mut m = 0;
    for (s, &f) in freqs.iter().enumerate() {
        if f > 0 {
            sorted[m] = (f, s as u16);
            m += 1;
        }
    }
    let sorted = &mut sorted[..m];
    sorted.sort_unstable();
    let mut a = [0u32; LITLEN_SYMS];
    for (x, &(f, _)) in a.iter_mut().zip(sorted.iter()) {
        *x = f;
    }
    minimum_redundancy(&mut a[..m]);
    // Count lengths, then limit them (the Kraft sum is restored by moving
    // codes down from the longest allowed length).
    let mut count = [0u32; 33];
    for &l in &a[..m] {
        count[(l as usize).min(32)] += 1;
    }
    for l in limit + 1..33 {
        count[limit] += count[l];
        count[l] = 0;
    }
    let mut total: u32 = (1..=limit).map(|l| count[l] << (limit - l)).sum();
    while total != 1 << limit {
        count[limit] -= 1;
        for l in (1..limit).rev() {
            if count[l] != 0 {
                count[l] -= 1;
                count[l + 1] += 2;
                break;
            }
        }
        total -= 1;
    }
    // The most frequent symbols get the shortest codes.
    let mut j = m;
    for (l, &c) in count.iter().enumerate().take(limit + 1).skip(1) {
        for _ in 0..c {
            j -= 1;
            lens[sorted[j].1 as usize] = l as u8;
        }
    }
}

/// Moffat and Katajainen's in-place minimum-redundancy code lengths, for
/// weights sorted ascending: each weight is replaced by its code length.
fn minimum_redundancy(a: &mut [u32]) {
    let n = a.len();
    if n == 0 {
        return;
    }
    if n == 1 {
        a[0] = 1;
        return;
    }
    a[0] += a[1];
    let (mut root, mut leaf) = (0usize, 2usize);
    for next in 1..n - 1 {
        if leaf >= n || a[root] < a[leaf] {
            a[next] = a[root];
            a[root] = next as u32;
            root += 1;
        } else {
            a[next] = a[leaf];
            leaf += 1;
        }
        if leaf >= n || (root < next && a[root] < a[leaf]) {
            a[next] += a[root];
            a[root] = next as u32;
            root += 1;
        } else {
            a[next] += a[leaf];
            leaf += 1;
        }
    }
    a[n - 2] = 0;
    for next in (0..n - 2).rev() {
        a[next] = a[a[next] as usize] + 1;
    }
    let (mut avbl, mut used, mut dpth) = (1i64, 0i64, 0u32);
    let (mut root, mut next) = (n as i64 - 2, n as i64 - 1);
    while avbl > 0 {
        while root >= 0 && a[root as usize] == dpth {
            used += 1;
            root -= 1;
        }
        while avbl > used {
            a[next as usize] = dpth;
            next -= 1;
            avbl -= 1;
        }
        avbl = 2 * used;
        dpth += 1;
        used = 0;
    }
}

/// Canonical codes for `lens`, bit-reversed for LSB-first output.
pub(crate) const fn codes(lens: &[u8], codes: &mut [u16]) {
    let mut count = [0u16; MAX_BITS + 1];
    let mut i = 0;
    while i < lens.len() {
        count[lens[i] as usize] += 1;
        i += 1;
    }
    count[0] = 0;
    let mut next = [0u16; MAX_BITS + 2];
    let mut code = 0u16;
    let mut bits = 1;
    while bits <= MAX_BITS {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
        bits += 1;
    }
    let mut s = 0;
    while s < lens.len() {
        let l = lens[s];
        if l > 0 {
            let c = next[l as usize];
            next[l as usize] += 1;
            codes[s] = c.reverse_bits() >> (16 - l);
        }
        s += 1;
    }
}

/// Bits of the root decoding table for literals/lengths and distances.
pub(crate) const LITLEN_ROOT: u32 = 10;
pub(crate) const DIST_ROOT: u32 = 8;
/// Bits of the code length decoding table (code length codes are at most 7
/// bits long).
pub(crate) const CODELEN_ROOT: u32 = 7;

/// A decoding table: `2^ROOT` entries of `symbol << 4 | length` for codes
/// of at most `ROOT` bits (length 0: a longer code or none), and what the
/// slow path needs for longer codes.
#[derive(Clone, Debug)]
pub(crate) struct Decoder<const N: usize, const S: usize> {
    pub(crate) table: [u16; N],
    /// Codes of each length.
    count: [u16; MAX_BITS + 1],
    /// Symbols in canonical order.
    symbols: [u16; S],
}

/// The code lengths do not form a code a decoder accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BadCode;

/// A decoded symbol, or why not.
pub(crate) enum Decoded {
    /// The symbol and its code length.
    Sym(u16, u32),
    /// More bits are needed.
    Short,
    /// The bits are not a code.
    Invalid,
}

impl<const N: usize, const S: usize> Decoder<N, S> {
    pub(crate) const EMPTY: Self = Decoder {
        table: [0; N],
        count: [0; MAX_BITS + 1],
        symbols: [0; S],
    };

    /// Builds the decoder for `lens`, with zlib's rules: over-subscribed
    /// lengths are refused, incomplete ones too unless `incomplete_ok` and
    /// there is a single code of one bit; no code at all is accepted (every
    /// symbol is then invalid).
    pub(crate) const fn build(&mut self, lens: &[u8], incomplete_ok: bool) -> Result<(), BadCode> {
        let root = N.trailing_zeros();
        let mut count = [0u16; MAX_BITS + 1];
        let mut i = 0;
        while i < lens.len() {
            count[lens[i] as usize] += 1;
            i += 1;
        }
        count[0] = 0;
        let mut max = MAX_BITS;
        while max > 0 && count[max] == 0 {
            max -= 1;
        }
        let mut left: i32 = 1;
        let mut len = 1;
        while len <= MAX_BITS {
            left <<= 1;
            left -= count[len] as i32;
            if left < 0 {
                return Err(BadCode);
            }
            len += 1;
        }
        if max > 0 && left > 0 && !(incomplete_ok && max == 1) {
            return Err(BadCode);
        }
        // Offsets of each length in canonical order.
        let mut offs = [0u16; MAX_BITS + 2];
        let mut len = 1;
        while len <= MAX_BITS {
            offs[len + 1] = offs[len] + count[len];
            len += 1;
        }
        let mut t = 0;
        while t < N {
            self.table[t] = 0;
            t += 1;
        }
        let mut next = [0u32; MAX_BITS + 1];
        let mut code = 0u32;
        let mut len = 1;
        while len <= MAX_BITS {
            code = (code + if len > 1 { count[len - 1] as u32 } else { 0 }) << 1;
            next[len] = code;
            len += 1;
        }
        let mut s = 0;
        while s < lens.len() {
            let l = lens[s] as usize;
            if l > 0 {
                self.symbols[offs[l] as usize] = s as u16;
                offs[l] += 1;
                let c = next[l];
                next[l] += 1;
                if l as u32 <= root {
                    let rev = (c.reverse_bits() >> (32 - l)) as usize;
                    let entry = ((s as u16) << 4) | l as u16;
                    let mut k = rev;
                    while k < N {
                        self.table[k] = entry;
                        k += 1 << l;
                    }
                }
            }
            s += 1;
        }
        self.count = count;
        Ok(())
    }

    /// Decodes a symbol from the low `avail` bits of `bits`.
    #[inline(always)]
    pub(crate) fn decode(&self, bits: u64, avail: u32) -> Decoded {
        let e = self.table[(bits as usize) & (N - 1)];
        let len = u32::from(e & 15);
        if len != 0 {
            if len <= avail {
                return Decoded::Sym(e >> 4, len);
            }
            return Decoded::Short;
        }
        self.slow(bits, avail)
    }

    /// Canonical decoding one bit at a time, for codes longer than the
    /// table's root.
    #[cold]
    fn slow(&self, bits: u64, avail: u32) -> Decoded {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..=MAX_BITS {
            if len as u32 > avail {
                return Decoded::Short;
            }
            code |= ((bits >> (len - 1)) & 1) as i32;
            let count = i32::from(self.count[len]);
            if code - count < first {
                return Decoded::Sym(self.symbols[(index + code - first) as usize], len as u32);
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Decoded::Invalid
    }
}

/// The literal/length decoder.
pub(crate) type LitLen = Decoder<{ 1 << LITLEN_ROOT }, LITLEN_SYMS>;
/// The distance decoder.
pub(crate) type Dist = Decoder<{ 1 << DIST_ROOT }, DIST_SYMS>;
/// The code length decoder.
pub(crate) type CodeLen = Decoder<{ 1 << CODELEN_ROOT }, CODELEN_SYMS>;

/// The fixed code's decoders, built at compile time.
pub(crate) static FIXED_LITLEN: LitLen = {
    let mut d = LitLen::EMPTY;
    match d.build(&FIXED_LITLEN_LENS, false) {
        Ok(()) => d,
        Err(_) => panic!("the fixed code is complete"),
    }
};
pub(crate) static FIXED_DIST: Dist = {
    let mut d = Dist::EMPTY;
    match d.build(&FIXED_DIST_LENS, false) {
        Ok(()) => d,
        Err(_) => panic!("the fixed code is complete"),
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_distance_symbols() {
        for len in 3..=258usize {
            let s = LEN_SYM[len - 3] as usize;
            let base = LEN_BASE[s] as usize;
            assert!(len >= base && len - base < 1 << LEN_EXTRA[s], "{len}");
            if len != 258 {
                assert_ne!(s, 28);
            }
        }
        for d in 1..=32768u32 {
            let s = dist_sym(d);
            let base = u32::from(DIST_BASE[s]);
            assert!(d >= base && d - base < 1 << DIST_EXTRA[s], "{d}");
        }
    }

    #[test]
    fn limited_lengths_form_a_complete_code() {
        let mut freqs = [0u32; 286];
        // Fibonacci weights force lengths far past 15 without the limit.
        let (mut a, mut b) = (1u32, 1u32);
        for f in freqs.iter_mut().take(40) {
            *f = a;
            (a, b) = (b, a.saturating_add(b));
        }
        let mut lens = [0u8; 286];
        code_lengths(&mut freqs, 15, &mut lens);
        assert!(lens.iter().all(|&l| l <= 15));
        let kraft: u64 = lens
            .iter()
            .filter(|&&l| l > 0)
            .map(|&l| 1u64 << (15 - l))
            .sum();
        assert_eq!(kraft, 1 << 15);
        let mut d = LitLen::EMPTY;
        assert!(d.build(&lens, false).is_ok());
    }
}
