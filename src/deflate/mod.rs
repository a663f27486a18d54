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
//! # Memory (per connection, per direction, with zlib-rs)
//!
//! The compressor and decompressor are created on first use, so a
//! connection that never sends or receives a compressed message pays
//! nothing. Once created, zlib-rs's compressor holds about 370 KiB with a
//! 15-bit window (245 KiB with 9 bits: its hash tables do not shrink with
//! the window) and its decompressor about 46 KiB. With context takeover
//! that state lives as long as the connection. With `*_no_context_takeover`
//! nothing carries over between messages, so the state of that direction
//! is freed after each message: idle connections then hold no compression
//! state at all. `docs/deflate.md` has the measurements.
//!
//! # Limits
//!
//! Inflated bytes are what count against
//! [`Limits::max_message_size`](crate::Limits::max_message_size): a message
//! is inflated into a buffer that grows geometrically but never past the
//! limit, so a small compressed message that would inflate to gigabytes
//! costs at most the limit before the connection is failed with close code
//! 1009. Corrupt compressed data fails it with 1007.

mod codec;
#[cfg(test)]
mod differential;
mod compress;
mod huffman;
mod inflate;
mod negotiate;

pub(crate) use codec::{Compressed, Compressor, Corrupt, Inflater, Progress};
pub(crate) use negotiate::Params;

/// The extension's name.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// What a connection offers (client) or accepts (server).
///
/// ```
/// use wsmachine::Config;
/// use wsmachine::deflate::DeflateConfig;
///
/// // A server that keeps compression memory small.
/// let config = Config::new().deflate(Some(
///     DeflateConfig::new().server_max_window_bits(10).client_max_window_bits(10),
/// ));
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
    }
}

impl DeflateConfig {
    /// Level 6, 15-bit windows, context takeover both ways, messages of 32
    /// bytes or more compressed.
    pub fn new() -> DeflateConfig {
        DeflateConfig::default()
    }

    /// Compression level, 0 (none) to 9 (best); clamped.
    #[must_use]
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// The largest window the server compresses with (8–15, clamped). A
    /// client asks for it (`server_max_window_bits`) when below 15; a server
    /// never uses more, whatever the client allows.
    #[must_use]
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        self.server_max_window_bits = bits.clamp(8, 15);
        self
    }

    /// The largest window the client compresses with (8–15, clamped). A
    /// client promises it in its offer when below 15; a server asks for it
    /// when the client's offer allows.
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
