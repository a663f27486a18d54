//! Payload masking (RFC 6455 §5.3).
//!
//! `transformed[i] = original[i] ^ key[i % 4]`; the same operation masks and
//! unmasks. Payloads arrive in pieces, so every function takes the offset of
//! the first byte within the frame's payload.
//!
//! Two operations: [`apply_mask`] in place, and [`extend_masked`], which
//! appends a masked copy to a `Vec` in one pass (the copy a received
//! payload needs anyway, fused with its unmasking, writing into the
//! vector's spare capacity without initialising it first).
//!
//! # SIMD
//!
//! The kernels XOR 64-byte blocks as eight 64-bit lanes against the key
//! repeated over a word; the compiler turns them into vector instructions
//! of the target: SSE2 on
//! x86-64 (part of its baseline), NEON on aarch64 (likewise), 64-bit words
//! elsewhere; runs shorter than a block go through 64-bit words. With `std` on x86-64 the same kernels are also compiled for
//! AVX2 and picked at run time when the processor has it. `bench/`
//! (`decode`, `xor loop`) measures what each step pays.
//!
//! This is the crate's one module with `unsafe` code: calling the AVX2
//! kernels once the processor was seen to have AVX2, and marking the spare
//! capacity that [`extend_masked`] wrote as initialised. Each block says
//! why it is sound; the tests check every kernel against the bytewise
//! definition at every length up to 300, every alignment and every phase.

#![allow(
    unsafe_code,
    reason = "the crate's one unsafe module: runtime-dispatched SIMD and writes \
              into uninitialised spare capacity, which the benchmarks show pay \
              (docs/performance.md)"
)]

use alloc::vec::Vec;
use core::mem::MaybeUninit;

/// Bytes per block of the kernels.
const BLOCK: usize = 64;

/// Below this many bytes the 64-bit word loop is used (inline, no dispatch).
const SMALL: usize = 2 * BLOCK;

/// Masks or unmasks `buf` in place. `offset` is the position of `buf[0]`
/// within the frame payload (only `offset % 4` matters).
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate(key, offset);
    if buf.len() < SMALL {
        return words(buf, key);
    }
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports AVX2 (checked just above), the
        // one requirement of a `target_feature(enable = "avx2")` function.
        return unsafe { avx2::in_place(buf, key) };
    }
    in_place(buf, key);
}

/// Appends `src` masked with `key` to `dst`, in one pass: `offset` is the
/// position of `src[0]` within the frame payload. Equal to
/// `dst.extend_from_slice(src)` followed by [`apply_mask`] on the new bytes,
/// without the second pass.
#[inline]
pub fn extend_masked(dst: &mut Vec<u8>, src: &[u8], key: [u8; 4], offset: usize) {
    let key = rotate(key, offset);
    let len = dst.len();
    dst.reserve(src.len());
    let spare = &mut dst.spare_capacity_mut()[..src.len()];
    if src.len() < SMALL {
        copy_words(spare, src, key);
    } else {
        copy_dispatch(spare, src, key);
    }
    // SAFETY: `reserve` made room for `src.len()` more bytes, and the
    // kernel initialised each of the first `src.len()` bytes of the spare
    // capacity (it writes every element of `spare`, which has that length).
    unsafe { dst.set_len(len + src.len()) };
}

/// [`extend_masked`], also telling whether every byte appended is ASCII,
/// found in the same pass: text that is ASCII needs no other check.
#[inline]
pub(crate) fn extend_masked_ascii(
    dst: &mut Vec<u8>,
    src: &[u8],
    key: [u8; 4],
    offset: usize,
) -> bool {
    let key = rotate(key, offset);
    let len = dst.len();
    dst.reserve(src.len());
    let spare = &mut dst.spare_capacity_mut()[..src.len()];
    let ascii = if src.len() < SMALL {
        copy_words_ascii(spare, src, key)
    } else {
        ascii_dispatch(spare, src, key)
    };
    // SAFETY: as in `extend_masked`: room was reserved and the kernel wrote
    // every element of `spare`, the first `src.len()` spare bytes.
    unsafe { dst.set_len(len + src.len()) };
    ascii
}

#[inline]
fn ascii_dispatch(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) -> bool {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports AVX2 (checked just above).
        return unsafe { avx2::copy_ascii(dst, src, key) };
    }
    copy_ascii(dst, src, key)
}

#[inline]
fn copy_dispatch(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports AVX2 (checked just above).
        return unsafe { avx2::copy(dst, src, key) };
    }
    copy(dst, src, key);
}

/// Rotates `key` so that index 0 applies to the payload byte at `offset`.
#[inline]
fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    // A rotation of the key as one little-endian word (byte `i` of the
    // result is `key[(i + offset) % 4]`): a shift, rather than four byte
    // loads at computed indices.
    let s = (offset & 3) as u32;
    u32::from_le_bytes(key).rotate_right(8 * s).to_le_bytes()
}

/// The key repeated over a 64-bit word.
#[inline]
fn word(key: [u8; 4]) -> u64 {
    let k = u64::from(u32::from_ne_bytes(key));
    // In memory order either way: the key's four bytes, twice.
    k | (k << 32)
}

/// Short runs: eight bytes at a time, then the rest bytewise.
#[inline]
fn words(buf: &mut [u8], key: [u8; 4]) {
    let w = word(key);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let c: &mut [u8; 8] = c.try_into().unwrap_or_else(|_| unreachable!());
        *c = (u64::from_ne_bytes(*c) ^ w).to_ne_bytes();
    }
    // The remainder starts at a multiple of 8: the key's phase is 0.
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// [`words`], copying: writes every element of `dst` (`src.len()` long).
#[inline]
fn copy_words(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    debug_assert_eq!(dst.len(), src.len());
    let w = word(key);
    let mut out = dst.chunks_exact_mut(8);
    let mut inp = src.chunks_exact(8);
    for (o, i) in (&mut out).zip(&mut inp) {
        let o: &mut [MaybeUninit<u8>; 8] = o.try_into().unwrap_or_else(|_| unreachable!());
        let i: &[u8; 8] = i.try_into().unwrap_or_else(|_| unreachable!());
        // One 8-byte store.
        *o = (u64::from_ne_bytes(*i) ^ w)
            .to_ne_bytes()
            .map(MaybeUninit::new);
    }
    for (k, (o, i)) in out
        .into_remainder()
        .iter_mut()
        .zip(inp.remainder())
        .enumerate()
    {
        o.write(i ^ key[k & 3]);
    }
}

/// [`copy_words`], OR-ing every byte written: whether all of them are
/// ASCII (short text pieces need no validator call then).
#[inline]
fn copy_words_ascii(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) -> bool {
    debug_assert_eq!(dst.len(), src.len());
    let w = word(key);
    let mut seen = 0u64;
    let mut out = dst.chunks_exact_mut(8);
    let mut inp = src.chunks_exact(8);
    for (o, i) in (&mut out).zip(&mut inp) {
        let o: &mut [MaybeUninit<u8>; 8] = o.try_into().unwrap_or_else(|_| unreachable!());
        let i: &[u8; 8] = i.try_into().unwrap_or_else(|_| unreachable!());
        let v = u64::from_ne_bytes(*i) ^ w;
        *o = v.to_ne_bytes().map(MaybeUninit::new);
        seen |= v;
    }
    let mut rest = 0u8;
    for (k, (o, i)) in out
        .into_remainder()
        .iter_mut()
        .zip(inp.remainder())
        .enumerate()
    {
        let b = i ^ key[k & 3];
        o.write(b);
        rest |= b;
    }
    seen & 0x8080_8080_8080_8080 == 0 && rest < 0x80
}

/// The in-place kernel, for whatever target features it is compiled with:
/// blocks of eight 64-bit lanes, which the compiler turns into vector
/// instructions, then [`words`] for the rest.
#[inline(always)]
fn in_place(buf: &mut [u8], key: [u8; 4]) {
    let w = word(key);
    let mut blocks = buf.chunks_exact_mut(BLOCK);
    for block in &mut blocks {
        for lane in block.chunks_exact_mut(8) {
            let lane: &mut [u8; 8] = lane.try_into().unwrap_or_else(|_| unreachable!());
            *lane = (u64::from_ne_bytes(*lane) ^ w).to_ne_bytes();
        }
    }
    // A block is a multiple of 4 bytes: the rest starts at phase 0.
    words(blocks.into_remainder(), key);
}

/// The copying kernel: writes every element of `dst` (`src.len()` long).
#[inline(always)]
fn copy(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    debug_assert_eq!(dst.len(), src.len());
    let w = word(key);
    let mut out = dst.chunks_exact_mut(BLOCK);
    let mut inp = src.chunks_exact(BLOCK);
    for (o, i) in (&mut out).zip(&mut inp) {
        for (o, i) in o.chunks_exact_mut(8).zip(i.chunks_exact(8)) {
            let o: &mut [MaybeUninit<u8>; 8] = o.try_into().unwrap_or_else(|_| unreachable!());
            let i: &[u8; 8] = i.try_into().unwrap_or_else(|_| unreachable!());
            *o = (u64::from_ne_bytes(*i) ^ w)
                .to_ne_bytes()
                .map(MaybeUninit::new);
        }
    }
    copy_words(out.into_remainder(), inp.remainder(), key);
}

/// [`copy`], OR-ing every byte written: whether all of them are ASCII.
#[inline(always)]
fn copy_ascii(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) -> bool {
    debug_assert_eq!(dst.len(), src.len());
    let w = word(key);
    let mut seen = [0u64; BLOCK / 8];
    let mut out = dst.chunks_exact_mut(BLOCK);
    let mut inp = src.chunks_exact(BLOCK);
    for (o, i) in (&mut out).zip(&mut inp) {
        for (k, (o, i)) in o.chunks_exact_mut(8).zip(i.chunks_exact(8)).enumerate() {
            let o: &mut [MaybeUninit<u8>; 8] = o.try_into().unwrap_or_else(|_| unreachable!());
            let i: &[u8; 8] = i.try_into().unwrap_or_else(|_| unreachable!());
            let v = u64::from_ne_bytes(*i) ^ w;
            *o = v.to_ne_bytes().map(MaybeUninit::new);
            seen[k] |= v;
        }
    }
    let (o, i) = (out.into_remainder(), inp.remainder());
    copy_words(o, i, key);
    let rest = i
        .iter()
        .zip(key.iter().cycle())
        .fold(0, |a, (b, k)| a | (b ^ k));
    let seen = seen.iter().fold(0, |a, b| a | b);
    seen & 0x8080_8080_8080_8080 == 0 && rest < 0x80
}

/// The same kernels compiled for AVX2.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod avx2 {
    use super::MaybeUninit;

    #[target_feature(enable = "avx2")]
    pub(super) fn in_place(buf: &mut [u8], key: [u8; 4]) {
        super::in_place(buf, key);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn copy(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
        super::copy(dst, src, key);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn copy_ascii(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) -> bool {
        super::copy_ascii(dst, src, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    /// Every kernel this processor can run, in place.
    type InPlace = fn(&mut [u8], [u8; 4], usize);
    type Copying = fn(&mut Vec<u8>, &[u8], [u8; 4], usize);

    fn in_place_kernels() -> Vec<(&'static str, InPlace)> {
        let mut k: Vec<(&'static str, InPlace)> = vec![
            ("dispatch", apply_mask),
            ("words", |b, k, o| words(b, rotate(k, o))),
            ("baseline", |b, k, o| in_place(b, rotate(k, o))),
        ];
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if std::is_x86_feature_detected!("avx2") {
            k.push(("avx2", |b, k, o| {
                // SAFETY: AVX2 was detected just above.
                unsafe { avx2::in_place(b, rotate(k, o)) }
            }));
        }
        k
    }

    /// Every copying kernel this processor can run, appending to a vector.
    fn copy_kernels() -> Vec<(&'static str, Copying)> {
        fn with(dst: &mut Vec<u8>, src: &[u8], f: impl FnOnce(&mut [MaybeUninit<u8>], &[u8])) {
            let len = dst.len();
            dst.reserve(src.len());
            f(&mut dst.spare_capacity_mut()[..src.len()], src);
            // SAFETY: each kernel writes every element of the slice.
            unsafe { dst.set_len(len + src.len()) };
        }
        let mut k: Vec<(&'static str, Copying)> = vec![
            ("dispatch", extend_masked),
            ("words", |d, s, k, o| {
                with(d, s, |d, s| copy_words(d, s, rotate(k, o)))
            }),
            ("baseline", |d, s, k, o| {
                with(d, s, |d, s| copy(d, s, rotate(k, o)))
            }),
        ];
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if std::is_x86_feature_detected!("avx2") {
            k.push(("avx2", |d, s, k, o| {
                with(d, s, |d, s| {
                    // SAFETY: AVX2 was detected just above.
                    unsafe { avx2::copy(d, s, rotate(k, o)) }
                })
            }));
        }
        k
    }

    /// Checks every kernel at one length, alignment and phase.
    fn check(data: &[u8], key: [u8; 4], len: usize, align: usize, phase: usize) {
        let src = &data[align..align + len];
        let mut expected = src.to_vec();
        naive(&mut expected, key, phase);
        for (name, f) in in_place_kernels() {
            let mut buf = data.to_vec();
            f(&mut buf[align..align + len], key, phase);
            assert_eq!(
                &buf[align..align + len],
                &expected[..],
                "{name} {len} {align} {phase}"
            );
            assert_eq!(&buf[..align], &data[..align], "{name} wrote before");
            assert_eq!(
                &buf[align + len..],
                &data[align + len..],
                "{name} wrote after"
            );
        }
        let ascii = expected.iter().all(|b| *b < 0x80);
        let mut dst = vec![0x55; align];
        let said = extend_masked_ascii(&mut dst, src, key, phase);
        assert_eq!(
            &dst[align..],
            &expected[..],
            "ascii copy {len} {align} {phase}"
        );
        assert!(!said || ascii, "called non-ASCII bytes ASCII");
        assert_eq!(said, ascii, "ASCII at {len}");
        let rotated = rotate(key, phase);
        let mut spare = vec![MaybeUninit::uninit(); len];
        let spare = &mut spare[..];
        assert_eq!(copy_ascii(spare, src, rotated), ascii || len == 0);
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected just above.
            let said = unsafe { avx2::copy_ascii(spare, src, rotated) };
            assert_eq!(said, ascii || len == 0);
        }
        for (name, f) in copy_kernels() {
            // The destination starts at `align` bytes too, with some
            // capacity already used.
            let mut dst = vec![0xaa; align];
            f(&mut dst, src, key, phase);
            assert_eq!(&dst[..align], &vec![0xaa; align][..]);
            assert_eq!(
                &dst[align..],
                &expected[..],
                "copy {name} {len} {align} {phase}"
            );
        }
    }

    #[test]
    fn every_kernel_matches_the_definition_at_every_length_alignment_and_phase() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..400).map(|i| (i * 7 + 3) as u8).collect();
        for len in 0..=300 {
            for align in 0..BLOCK {
                for phase in 0..4 {
                    check(&data, key, len, align, phase);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn kernels_equal_the_scalar_version(
            data in proptest::collection::vec(any::<u8>(), 364..=364),
            key in any::<[u8; 4]>(),
            len in 0usize..=300,
            align in 0usize..BLOCK,
            phase in 0usize..8,
        ) {
            check(&data, key, len, align, phase);
        }
    }

    #[test]
    fn split_masking_equals_whole() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..=255).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        for cut in 0..data.len() {
            let mut parts = data.clone();
            let (a, b) = parts.split_at_mut(cut);
            apply_mask(a, key, 0);
            apply_mask(b, key, cut);
            assert_eq!(parts, whole);
            let mut copied = Vec::new();
            extend_masked(&mut copied, &data[..cut], key, 0);
            extend_masked(&mut copied, &data[cut..], key, cut);
            assert_eq!(copied, whole);
        }
    }

    #[test]
    fn rfc_example_hello() {
        // RFC 6455 §5.7: a masked "Hello".
        let mut payload = *b"Hello";
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        let mut copied = Vec::new();
        extend_masked(&mut copied, b"Hello", [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(copied, payload);
    }
}
