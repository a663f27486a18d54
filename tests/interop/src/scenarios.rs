//! What each scenario exchanges: the same in every peer (see the README).

use std::sync::OnceLock;

/// Every scenario, in the order the clients run them.
pub const SCENARIOS: [&str; 9] = [
    "text",
    "binary",
    "fragmented",
    "large",
    "ping",
    "client-close",
    "server-close",
    "client-eof",
    "server-eof",
];

pub const TEXT: &str = "héllo wörld ✓ 日本語 🦀";
pub const FRAGMENTED: &str = "fragmented ✓ text";
/// Where fragments are cut: the second cut falls inside "✓", so only the
/// whole message is valid UTF-8.
pub const CUTS: [usize; 2] = [4, 12];

pub fn binary() -> Vec<u8> {
    let mut b: Vec<u8> = (0..=255).collect();
    b.extend_from_slice(&[0; 1000]);
    b
}

/// 16 MiB: 8 MiB that does not compress, then 8 MiB that does.
pub fn large() -> &'static [u8] {
    static LARGE: OnceLock<Vec<u8>> = OnceLock::new();
    LARGE.get_or_init(|| {
        let half = 8 << 20;
        let mut out = Vec::with_capacity(2 * half);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        while out.len() < half {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(&x.to_le_bytes());
        }
        let text = b"wsmachine interop ";
        while out.len() < 2 * half {
            let n = text.len().min(2 * half - out.len());
            out.extend_from_slice(&text[..n]);
        }
        out
    })
}

/// `bytes` split at [`CUTS`] (clamped).
pub fn pieces(bytes: &[u8]) -> Vec<&[u8]> {
    let mut at = 0;
    let mut out = Vec::new();
    for cut in CUTS {
        let cut = cut.min(bytes.len()).max(at);
        out.push(&bytes[at..cut]);
        at = cut;
    }
    out.push(&bytes[at..]);
    out
}
