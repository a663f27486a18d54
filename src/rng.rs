//! Unpredictable bytes for masking keys and `Sec-WebSocket-Key`.
//!
//! RFC 6455 §5.3: the masking key "MUST be derived from a strong source of
//! entropy" so that a script cannot predict it; §4.1: the handshake nonce is
//! "randomly selected". A client connection draws both from a
//! [`RandomSource`]. The default, [`ChaCha20Rng`], is a ChaCha20 keystream
//! (RFC 8439 block function) seeded once per connection; under `std` the seed
//! comes from the operating system. Without `std`, or in tests, pass any
//! source you trust to
//! [`Connection::client_with_rng`](crate::Connection::client_with_rng).

use core::fmt;

/// A source of unpredictable bytes.
///
/// `Send + Sync` so that a [`Connection`](crate::Connection) holding one can
/// move between threads and be shared behind a lock.
pub trait RandomSource: Send + Sync {
    /// Fills `dest` with unpredictable bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

impl<F: FnMut(&mut [u8]) + Send + Sync> RandomSource for F {
    fn fill(&mut self, dest: &mut [u8]) {
        self(dest)
    }
}

/// A ChaCha20 keystream generator (RFC 8439 block function, 20 rounds,
/// 64-bit block counter).
///
/// Deliberately not `Clone`: two copies would hand out the same mask keys
/// and handshake nonces.
///
/// ```compile_fail
/// let a = wsmachine::ChaCha20Rng::from_seed([1; 32]);
/// let b = a.clone();
/// ```
pub struct ChaCha20Rng {
    key: [u32; 8],
    counter: u64,
    block: [u8; 64],
    used: usize,
}

impl fmt::Debug for ChaCha20Rng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChaCha20Rng { .. }")
    }
}

impl ChaCha20Rng {
    /// A generator keyed with `seed`. Two generators with the same seed
    /// produce the same bytes: use a seed from a real entropy source.
    pub fn from_seed(seed: [u8; 32]) -> ChaCha20Rng {
        let mut key = [0u32; 8];
        for (word, bytes) in key.iter_mut().zip(seed.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        ChaCha20Rng {
            key,
            counter: 0,
            block: [0; 64],
            used: 64,
        }
    }

    /// A generator seeded from the operating system.
    #[cfg(feature = "std")]
    pub fn from_os() -> Result<ChaCha20Rng, EntropyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| EntropyError)?;
        Ok(ChaCha20Rng::from_seed(seed))
    }

    fn refill(&mut self) {
        let words = [self.counter as u32, (self.counter >> 32) as u32, 0, 0];
        self.block = chacha20_block(&self.key, words);
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }
}

impl RandomSource for ChaCha20Rng {
    fn fill(&mut self, mut dest: &mut [u8]) {
        while !dest.is_empty() {
            if self.used == self.block.len() {
                self.refill();
            }
            let n = dest.len().min(self.block.len() - self.used);
            dest[..n].copy_from_slice(&self.block[self.used..self.used + n]);
            // Never hand out the same keystream bytes twice.
            self.block[self.used..self.used + n].fill(0);
            self.used += n;
            dest = &mut dest[n..];
        }
    }
}

/// The operating system could not provide entropy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntropyError;

impl fmt::Display for EntropyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operating system's random source failed")
    }
}

impl core::error::Error for EntropyError {}

#[inline(always)]
fn quarter_round(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

/// The ChaCha20 block function. `tail` is state words 12–15 (counter and
/// nonce).
fn chacha20_block(key: &[u32; 8], tail: [u32; 4]) -> [u8; 64] {
    let mut init = [0u32; 16];
    init[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    init[4..12].copy_from_slice(key);
    init[12..].copy_from_slice(&tail);
    let mut s = init;
    for _ in 0..10 {
        quarter_round(&mut s, 0, 4, 8, 12);
        quarter_round(&mut s, 1, 5, 9, 13);
        quarter_round(&mut s, 2, 6, 10, 14);
        quarter_round(&mut s, 3, 7, 11, 15);
        quarter_round(&mut s, 0, 5, 10, 15);
        quarter_round(&mut s, 1, 6, 11, 12);
        quarter_round(&mut s, 2, 7, 8, 13);
        quarter_round(&mut s, 3, 4, 9, 14);
    }
    let mut out = [0u8; 64];
    for (i, chunk) in out.chunks_exact_mut(4).enumerate() {
        chunk.copy_from_slice(&s[i].wrapping_add(init[i]).to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8439_block_test_vector() {
        // RFC 8439 §2.3.2.
        let mut key = [0u32; 8];
        for (i, w) in key.iter_mut().enumerate() {
            let b = (i * 4) as u8;
            *w = u32::from_le_bytes([b, b + 1, b + 2, b + 3]);
        }
        let out = chacha20_block(&key, [1, 0x0900_0000, 0x4a00_0000, 0]);
        assert_eq!(
            &out[..16],
            &[
                0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20,
                0x71, 0xc4
            ]
        );
        assert_eq!(&out[60..], &[0xa2, 0x50, 0x3c, 0x4e]);
    }

    #[test]
    fn keystream_is_continuous_across_calls() {
        let mut a = ChaCha20Rng::from_seed([7; 32]);
        let mut b = ChaCha20Rng::from_seed([7; 32]);
        let mut whole = [0u8; 200];
        a.fill(&mut whole);
        let mut parts = [0u8; 200];
        for chunk in parts.chunks_mut(3) {
            b.fill(chunk);
        }
        assert_eq!(whole, parts);
        assert_ne!(&whole[..64], &whole[64..128]);
    }
}
