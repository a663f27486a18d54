//! permessage-deflate (RFC 7692): negotiation, compression, and inflation
//! that never allocates past the message size limit.
//!
//! # Negotiation (§5, §7.1)
//!
//! A client offers `permessage-deflate; client_max_window_bits`, plus the
//! parameters its [`DeflateConfig`] asks for. A server takes the first offer
//! it can accept, declining offers with unknown or repeated parameters, a
//! value where none is allowed, or window bits outside 8–15, and answers
//! with the parameters both sides will use. A client fails the handshake on
//! an answer it did not offer or that breaks these rules.
//!
//! # Memory: a budget per connection
//!
//! [`Memory`] fixes what one connection spends on compression state, both
//! directions together, and the server negotiates windows to match
//! (`server_max_window_bits`, `client_max_window_bits`), so that the
//! peer's compressor and our inflater are small too. The codec is the
//! crate's own (pure Rust, no dependency): its compressor holds the window
//! (`2^bits` bytes), one 16-bit chain link per window byte and a 16-bit
//! hash table; its inflater holds the peer's window and decoding tables
//! only while it decodes. [`Memory::Small`], the default, holds 26.3 KiB per
//! connection with context takeover both ways, half what python websockets'
//! default holds, for slightly smaller output on JSON.
//!
//! State is created with the first compressed message each way, so a
//! connection that never sends or receives one pays nothing. With
//! `*_no_context_takeover` nothing carries over between messages, so the
//! state of that direction is freed after each message. `docs/deflate.md`
//! has the measurements.
//!
//! # Limits
//!
//! Inflated bytes are what count against
//! [`Limits::max_message_size`](crate::Limits::max_message_size): a message
//! is inflated into a buffer that grows geometrically but never past the
//! limit, so a small compressed message that would inflate to gigabytes
//! costs at most the limit before the connection is failed with close code
//! 1009. Corrupt compressed data fails it with 1007, and so does a
//! reference further back than the window the peer agreed to (§7.1.2).

mod codec;
mod compress;
#[cfg(test)]
mod differential;
mod huffman;
mod inflate;
mod negotiate;

pub(crate) use codec::{Compressed, Compressor, Corrupt, Inflater, Progress, max_compressed_len};
pub(crate) use negotiate::Params;

/// The extension's name.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// What one connection may spend on compression state: the window both
/// sides compress with and the compressor's hash table. Figures are heap
/// bytes per connection with context takeover both ways, once a compressed
/// message went each way (measured by `tests/deflate_bomb.rs`), and the
/// wire size of the benchmark's JSON stream at level 6.
///
/// | preset | windows | compression state | JSON on the wire |
/// |---|---|---|---|
/// | `Tiny` | 10 bits (1 KiB) | 6.3 KiB | 26.9 % |
/// | `Small` (default) | 12 bits (4 KiB) | 26.3 KiB | 23.5 % |
/// | `Medium` | 13 bits (8 KiB) | 52.3 KiB | 22.9 % |
/// | `Large` | 15 bits (32 KiB) | 208 KiB | 21.4 % |
///
/// python websockets' default (12-bit windows, zlib memory level 5) holds
/// 49.3 KiB per connection for 23.6 %.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Memory {
    /// 1 KiB windows: for very many connections.
    Tiny,
    /// 4 KiB windows (the default).
    #[default]
    Small,
    /// 8 KiB windows.
    Medium,
    /// 32 KiB windows, the largest DEFLATE has.
    Large,
}

impl Memory {
    /// (window bits, hash bits).
    fn sizes(self) -> (u8, u8) {
        match self {
            Memory::Tiny => (10, 9),
            Memory::Small => (12, 12),
            Memory::Medium => (13, 13),
            Memory::Large => (15, 15),
        }
    }
}

/// What a connection offers (client) or accepts (server).
///
/// ```
/// use wsmachine::Config;
/// use wsmachine::deflate::{DeflateConfig, Memory};
///
/// // A server with very many connections: about 6 KiB each.
/// let config = Config::new().deflate(Some(DeflateConfig::new().memory(Memory::Tiny)));
/// # let _ = config;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateConfig {
    level: u32,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    min_size: usize,
    /// The compressor's hash table has `2^hash_bits` heads.
    hash_bits: u8,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            level: 6,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            min_size: 32,
            hash_bits: 15,
        }
        .memory(Memory::default())
    }
}

impl DeflateConfig {
    /// Level 6, [`Memory::Small`] (12-bit windows), context takeover both
    /// ways, messages of 32 bytes or more compressed.
    pub fn new() -> DeflateConfig {
        DeflateConfig::default()
    }

    /// The memory budget: sets both window sizes
    /// ([`server_max_window_bits`](Self::server_max_window_bits),
    /// [`client_max_window_bits`](Self::client_max_window_bits)) and the
    /// compressor's hash table. Window setters called afterwards override
    /// the preset's windows.
    ///
    /// A server asks a client that offers `client_max_window_bits` for the
    /// preset's window; a client that cannot be limited is asked for
    /// `client_no_context_takeover` instead, so that its larger window
    /// costs memory only while a message is inflated.
    #[must_use]
    pub fn memory(mut self, memory: Memory) -> Self {
        let (window, hash) = memory.sizes();
        self.server_max_window_bits = window;
        self.client_max_window_bits = window;
        self.hash_bits = hash;
        self
    }

    /// Compression level, 0 (none) to 9 (best); clamped.
    #[must_use]
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// The largest window the server compresses with (8–15, clamped; the
    /// [`memory`](Self::memory) preset sets it). A
    /// client asks for it (`server_max_window_bits`) when below 15; a server
    /// never uses more, whatever the client allows.
    #[must_use]
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        self.server_max_window_bits = bits.clamp(8, 15);
        self
    }

    /// The largest window the client compresses with (8–15, clamped; the
    /// [`memory`](Self::memory) preset sets it). A client promises it in its
    /// offer when below 15; a server asks for it when the client's offer
    /// allows, and otherwise, when below 15, asks for
    /// `client_no_context_takeover`.
    #[must_use]
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        self.client_max_window_bits = bits.clamp(8, 15);
        self
    }

    /// The server resets its compressor after every message. A client
    /// requests it; a server applies it to itself.
    #[must_use]
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// The client resets its compressor after every message. A client
    /// declares it; a server requests it.
    #[must_use]
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Messages shorter than this are sent uncompressed (default 32 bytes).
    #[must_use]
    pub fn min_size(mut self, bytes: usize) -> Self {
        self.min_size = bytes;
        self
    }
}
