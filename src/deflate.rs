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
//! limit plus one byte, so a small compressed message that would inflate to
//! gigabytes costs at most the limit before the connection is failed with
//! close code 1009. Corrupt compressed data fails it with 1007.

use alloc::string::String;
use alloc::vec::Vec;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::connection::Role;
use crate::error::HandshakeError;
use crate::frame::OpCode;
use crate::handshake::Extension;

/// The extension's name.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The four bytes a sync flush ends with, removed from every compressed
/// message and put back before inflating (§7.2.1, §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// The most inflated bytes handed over per chunk in chunk delivery mode.
pub(crate) const STEP: usize = 64 << 10;

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

    /// The client's offer.
    pub(crate) fn client_offer(&self) -> String {
        let mut s = String::from(EXTENSION_NAME);
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.server_max_window_bits < 15 {
            s.push_str(&alloc::format!(
                "; server_max_window_bits={}",
                self.server_max_window_bits
            ));
        }
        if self.client_max_window_bits < 15 {
            s.push_str(&alloc::format!(
                "; client_max_window_bits={}",
                self.client_max_window_bits
            ));
        } else {
            s.push_str("; client_max_window_bits");
        }
        s
    }

    /// A server picks the first acceptable offer (§5.1, §7.1).
    pub(crate) fn negotiate_as_server(&self, offers: &[Extension]) -> Option<(Params, String)> {
        offers
            .iter()
            .filter(|e| e.name.eq_ignore_ascii_case(EXTENSION_NAME))
            .find_map(|e| self.accept_offer(e))
    }

    fn accept_offer(&self, offer: &Extension) -> Option<(Params, String)> {
        let raw = RawParams::parse(offer)?;
        let server_bits = match raw.server_max_window_bits {
            // §7.1.2.1: the parameter has a value in an offer.
            Some(None) => return None,
            Some(Some(n)) => n.min(self.server_max_window_bits),
            None => self.server_max_window_bits,
        };
        let client_bits = match raw.client_max_window_bits {
            Some(offered) => offered.unwrap_or(15).min(self.client_max_window_bits),
            // The client cannot be limited: accept its full window.
            None => 15,
        };
        let params = Params {
            server_no_context_takeover: raw.server_no_context_takeover
                || self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        };
        let mut answer = String::from(EXTENSION_NAME);
        if params.server_no_context_takeover {
            answer.push_str("; server_no_context_takeover");
        }
        if params.client_no_context_takeover {
            answer.push_str("; client_no_context_takeover");
        }
        if raw.server_max_window_bits.is_some() || server_bits < 15 {
            answer.push_str(&alloc::format!("; server_max_window_bits={server_bits}"));
        }
        if raw.client_max_window_bits.is_some() && client_bits < 15 {
            answer.push_str(&alloc::format!("; client_max_window_bits={client_bits}"));
        }
        Some((params, answer))
    }

    /// Checks an answer: a client against its offer (§7.1); a server (when
    /// another HTTP stack negotiated) only for validity.
    pub(crate) fn accept_answer(&self, role: Role, value: &str) -> Result<Params, HandshakeError> {
        let bad = HandshakeError::UnexpectedExtension;
        let exts = crate::handshake::parse_extensions(value).ok_or(bad.clone())?;
        let [ext] = exts.as_slice() else {
            return Err(bad);
        };
        if !ext.name.eq_ignore_ascii_case(EXTENSION_NAME) {
            return Err(bad);
        }
        let raw = RawParams::parse(ext).ok_or(bad.clone())?;
        let server_bits = match raw.server_max_window_bits {
            Some(Some(n)) => n,
            Some(None) => return Err(bad),
            None => 15,
        };
        let client_bits = match raw.client_max_window_bits {
            Some(Some(n)) => n,
            Some(None) => return Err(bad),
            None => 15,
        };
        let params = Params {
            server_no_context_takeover: raw.server_no_context_takeover,
            client_no_context_takeover: raw.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        };
        if role == Role::Client {
            // What we asked for must be granted; what we promised holds.
            if self.server_no_context_takeover && !params.server_no_context_takeover {
                return Err(bad);
            }
            if self.server_max_window_bits < 15
                && raw
                    .server_max_window_bits
                    .is_none_or(|_| server_bits > self.server_max_window_bits)
            {
                return Err(bad);
            }
            return Ok(Params {
                client_no_context_takeover: params.client_no_context_takeover
                    || self.client_no_context_takeover,
                client_max_window_bits: client_bits.min(self.client_max_window_bits),
                ..params
            });
        }
        Ok(params)
    }
}

/// The parameters of an offer or answer, checked for form (§7.1).
#[derive(Clone, Copy, Debug, Default)]
struct RawParams {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<Option<u8>>,
    client_max_window_bits: Option<Option<u8>>,
}

impl RawParams {
    /// `None` for unknown or repeated parameters, a value where none is
    /// allowed, or window bits that are not exactly `8`–`15`.
    fn parse(ext: &Extension) -> Option<RawParams> {
        let mut raw = RawParams::default();
        for p in &ext.params {
            let value = p.value.as_deref();
            match p.name.to_ascii_lowercase().as_str() {
                "server_no_context_takeover"
                    if !raw.server_no_context_takeover && value.is_none() =>
                {
                    raw.server_no_context_takeover = true;
                }
                "client_no_context_takeover"
                    if !raw.client_no_context_takeover && value.is_none() =>
                {
                    raw.client_no_context_takeover = true;
                }
                "server_max_window_bits" if raw.server_max_window_bits.is_none() => {
                    raw.server_max_window_bits = Some(optional_bits(value)?);
                }
                "client_max_window_bits" if raw.client_max_window_bits.is_none() => {
                    raw.client_max_window_bits = Some(optional_bits(value)?);
                }
                _ => return None,
            }
        }
        Some(raw)
    }
}

/// `Some(None)` without a value, `Some(Some(bits))` with a valid one,
/// `None` for an invalid one.
fn optional_bits(value: Option<&str>) -> Option<Option<u8>> {
    match value {
        None => Some(None),
        Some(v) => window_bits(v).map(Some),
    }
}

/// `8` to `15`, written without leading zeros (§7.1.2.1).
fn window_bits(v: &str) -> Option<u8> {
    match v {
        "8" => Some(8),
        "9" => Some(9),
        "10" => Some(10),
        "11" => Some(11),
        "12" => Some(12),
        "13" => Some(13),
        "14" => Some(14),
        "15" => Some(15),
        _ => None,
    }
}

/// The agreed parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The server's compression window, in bits.
    pub server_max_window_bits: u8,
    /// The client's compression window, in bits.
    pub client_max_window_bits: u8,
}

impl Params {
    /// (window bits, no context takeover) of `role`'s compressor.
    fn sender(&self, role: Role) -> (u8, bool) {
        match role {
            Role::Server => (self.server_max_window_bits, self.server_no_context_takeover),
            Role::Client => (self.client_max_window_bits, self.client_no_context_takeover),
        }
    }
}

/// Compresses outgoing messages.
pub(crate) struct Compressor {
    stream: Option<Compress>,
    level: u32,
    window_bits: u8,
    no_context_takeover: bool,
    min_size: usize,
    /// A fragmented message is in progress; whether it is compressed.
    in_message: Option<bool>,
}

impl core::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Compressor")
            .field("window_bits", &self.window_bits)
            .field("no_context_takeover", &self.no_context_takeover)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    pub(crate) fn new(params: &Params, role: Role, config: &DeflateConfig) -> Compressor {
        let (window_bits, no_context_takeover) = params.sender(role);
        Compressor {
            stream: None,
            level: config.level,
            window_bits,
            no_context_takeover,
            min_size: config.min_size,
            in_message: None,
        }
    }

    /// Compresses a message or fragment; `None` means send it as is.
    /// Returns the payload and whether RSV1 is set (first frame only).
    pub(crate) fn compress(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload: &[u8],
        allowed: bool,
    ) -> Option<(bytes::BytesMut, bool)> {
        let first = opcode != OpCode::Continuation;
        let compressed = if first {
            // zlib cannot compress with a 256-byte window; a message sent
            // uncompressed always honours the negotiated window (§7.2.1).
            allowed && self.window_bits >= 9 && (!fin || payload.len() >= self.min_size)
        } else {
            self.in_message.unwrap_or(false)
        };
        self.in_message = if fin { None } else { Some(compressed) };
        if !compressed {
            return None;
        }
        let stream = self.stream.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(self.level), false, self.window_bits)
        });
        let mut out: Vec<u8> = Vec::with_capacity(payload.len() / 2 + 64);
        let mut input = payload;
        loop {
            if out.len() == out.capacity() {
                out.reserve(out.capacity().max(64));
            }
            let before_in = stream.total_in();
            let status = stream.compress_vec(input, &mut out, FlushCompress::Sync);
            let used = (stream.total_in() - before_in) as usize;
            input = &input[used..];
            // Done when all input is in and the flush left room to spare.
            if status.is_err() || (input.is_empty() && out.len() < out.capacity()) {
                break;
            }
        }
        if fin {
            if out.ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            if self.no_context_takeover {
                // Nothing carries over to the next message: free the state
                // (a reset would cost about as much as a new stream).
                self.stream = None;
            }
        }
        // A fresh, unshared buffer: converted without a copy.
        Some((bytes::BytesMut::from(bytes::Bytes::from(out)), first))
    }
}

/// Why inflating stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The data is not valid deflate.
    Corrupt,
}

/// What one call to [`Inflater::inflate`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Input bytes consumed.
    pub(crate) consumed: usize,
    /// The message is completely inflated (only when `finish` was set).
    pub(crate) done: bool,
}

/// Inflates incoming messages.
pub(crate) struct Inflater {
    stream: Option<Decompress>,
    window_bits: u8,
    state: InflateState,
}

/// Per-message inflation state.
#[derive(Clone, Copy, Debug)]
struct InflateState {
    no_context_takeover: bool,
    /// How much of [`TAIL`] was fed for the current message.
    tail_fed: usize,
    /// The sender ended its deflate stream (BFINAL): the rest of the message
    /// is ignored and the next one starts a fresh stream.
    ended: bool,
}

impl core::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Inflater")
            .field("window_bits", &self.window_bits)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    pub(crate) fn new(params: &Params, role: Role) -> Inflater {
        let peer = match role {
            Role::Server => Role::Client,
            Role::Client => Role::Server,
        };
        let (window_bits, no_context_takeover) = params.sender(peer);
        Inflater {
            stream: None,
            // zlib needs at least 9 bits; a larger window reads any smaller one.
            window_bits: window_bits.max(9),
            state: InflateState {
                no_context_takeover,
                tail_fed: 0,
                ended: false,
            },
        }
    }

    /// Inflates `input` into `out`, growing `out` geometrically but never
    /// past `cap` bytes in total. Returns when the input is used up (and, if
    /// `finish`, the message is complete) or `out` holds `cap` bytes.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        cap: usize,
        finish: bool,
    ) -> Result<Progress, InflateError> {
        let window_bits = self.window_bits;
        let stream = self
            .stream
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, window_bits));
        let progress = self.state.run(stream, input, out, cap, finish)?;
        if progress.done && self.state.no_context_takeover {
            // The peer starts every message afresh: free the state.
            self.stream = None;
        }
        Ok(progress)
    }
}

impl InflateState {
    fn run(
        &mut self,
        stream: &mut Decompress,
        input: &[u8],
        out: &mut Vec<u8>,
        cap: usize,
        finish: bool,
    ) -> Result<Progress, InflateError> {
        let mut consumed = 0;
        loop {
            if self.ended {
                // Whatever follows the final block is ignored.
                let done = finish && self.end_message(stream);
                return Ok(Progress {
                    consumed: input.len(),
                    done,
                });
            }
            let rest = &input[consumed..];
            let (src, flush) = if !rest.is_empty() {
                (rest, FlushDecompress::None)
            } else if finish && self.tail_fed < TAIL.len() {
                (&TAIL[self.tail_fed..], FlushDecompress::Sync)
            } else if finish {
                (&[][..], FlushDecompress::Sync)
            } else {
                return Ok(Progress {
                    consumed,
                    done: false,
                });
            };
            if out.len() >= cap {
                return Ok(Progress {
                    consumed,
                    done: false,
                });
            }
            if out.len() == out.capacity() {
                let target = out.len().saturating_mul(2).max(out.len() + 1024).min(cap);
                out.reserve_exact(target - out.len());
            }
            let (before_in, before_out) = (stream.total_in(), stream.total_out());
            let status = stream
                .decompress_vec(src, out, flush)
                .map_err(|_| InflateError::Corrupt)?;
            let used = (stream.total_in() - before_in) as usize;
            let produced = (stream.total_out() - before_out) as usize;
            if rest.is_empty() {
                self.tail_fed += used;
            } else {
                consumed += used;
            }
            if status == Status::StreamEnd {
                self.ended = true;
                continue;
            }
            if used == 0 && produced == 0 {
                if finish && rest.is_empty() && self.tail_fed >= TAIL.len() {
                    let done = self.end_message(stream);
                    return Ok(Progress { consumed, done });
                }
                if out.len() < out.capacity() {
                    // No progress with room to spare: more input is needed.
                    return Ok(Progress {
                        consumed,
                        done: false,
                    });
                }
            }
        }
    }

    /// Ends a message. After a final (BFINAL) block the next message starts
    /// a new stream.
    fn end_message(&mut self, stream: &mut Decompress) -> bool {
        if self.ended {
            stream.reset(false);
        }
        self.tail_fed = 0;
        self.ended = false;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::parse_extensions;

    fn offer(s: &str) -> Vec<Extension> {
        parse_extensions(s).unwrap()
    }

    #[test]
    fn rfc7692_section_7_2_3_1_hello() {
        // "Hello" compressed without context takeover: 0xf2 0x48 0xcd 0xc9 0xc9 0x07 0x00.
        let params = Params {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        let mut inf = Inflater::new(&params, Role::Client);
        let mut out = Vec::new();
        let p = inf
            .inflate(
                &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
                &mut out,
                1000,
                true,
            )
            .unwrap();
        assert!(p.done);
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn server_declines_invalid_offers_and_takes_the_first_valid() {
        let c = DeflateConfig::new();
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=09",
        ] {
            assert!(c.negotiate_as_server(&offer(bad)).is_none(), "{bad}");
        }
        let (p, answer) = c
            .negotiate_as_server(&offer(
                "permessage-deflate; bogus, permessage-deflate; server_max_window_bits=10; client_max_window_bits",
            ))
            .unwrap();
        assert_eq!(answer, "permessage-deflate; server_max_window_bits=10");
        assert_eq!(
            (p.server_max_window_bits, p.client_max_window_bits),
            (10, 15)
        );
    }
}
