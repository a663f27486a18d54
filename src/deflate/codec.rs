//! The compressor and the bounded inflater of permessage-deflate
//! (RFC 7692 §7.2).

use alloc::vec::Vec;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{DeflateConfig, Params};
use crate::role::Role;

/// Outcome of compressing one message or fragment.
#[derive(Debug)]
pub(crate) enum Compressed {
    /// Send this payload with RSV1 as given (set on a message's first frame).
    Yes(bytes::BytesMut, bool),
    /// Send the payload as it is.
    No,
}

/// A fragment of a message already sent compressed could not be compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stuck;

/// What one call to [`Inflater::inflate`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Input bytes consumed.
    pub(crate) consumed: usize,
    /// The message is completely inflated (only when `finish` was set).
    pub(crate) done: bool,
    /// The output reached a probed cap and more would follow.
    pub(crate) overflow: bool,
}

/// The compressed data is not valid deflate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Corrupt;

/// The four bytes a sync flush ends with, removed from every compressed
/// message and put back before inflating (§7.2.1, §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

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

    /// Compresses a message or fragment (`first`: its message's first
    /// frame; `allowed`: the caller did not ask for an uncompressed send).
    ///
    /// A whole message that cannot be compressed is sent as it is, with the
    /// stream reset so that the peer's window and ours stay consistent. A
    /// fragment of a message already sent compressed has no such way out.
    pub(crate) fn compress(
        &mut self,
        first: bool,
        fin: bool,
        payload: &[u8],
        allowed: bool,
    ) -> Result<Compressed, Stuck> {
        let compressed = if first {
            // zlib cannot compress with a 256-byte window; a message sent
            // uncompressed always honours the negotiated window (§7.2.1).
            allowed && self.window_bits >= 9 && (!fin || payload.len() >= self.min_size)
        } else {
            self.in_message.unwrap_or(false)
        };
        if !compressed {
            self.in_message = if fin { None } else { Some(false) };
            return Ok(Compressed::No);
        }
        match self.deflate(payload, fin) {
            Some(out) => {
                self.in_message = if fin { None } else { Some(true) };
                // A fresh, unshared buffer: converted without a copy.
                Ok(Compressed::Yes(
                    bytes::BytesMut::from(bytes::Bytes::from(out)),
                    first,
                ))
            }
            None => {
                // The stream's state is unknown now: start afresh. A new raw
                // deflate stream only refers to what it emitted itself, so
                // the peer's inflater stays in step.
                self.stream = None;
                if first {
                    self.in_message = if fin { None } else { Some(false) };
                    Ok(Compressed::No)
                } else {
                    self.in_message = None;
                    Err(Stuck)
                }
            }
        }
    }

    /// Runs the deflate stream over `payload` with a sync flush; `None` if
    /// zlib reports an error.
    fn deflate(&mut self, payload: &[u8], fin: bool) -> Option<Vec<u8>> {
        let (level, window_bits) = (self.level, self.window_bits);
        let stream = self.stream.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, window_bits)
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
            if status.is_err() {
                return None;
            }
            // Done when all input is in and the flush left room to spare.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if fin {
            if out.ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            if out.is_empty() {
                // An empty message compresses to one empty stored block
                // header (RFC 7692 §7.2.3.6), never to nothing.
                out.push(0x00);
            }
            if self.no_context_takeover {
                // Nothing carries over to the next message: free the state
                // (a reset would cost about as much as a new stream).
                self.stream = None;
            }
        }
        Some(out)
    }

    /// Heap bytes held by the compression stream (zero when none exists).
    pub(crate) fn memory(&self) -> usize {
        if self.stream.is_none() {
            return 0;
        }
        compressor_memory(self.window_bits)
    }
}

/// What zlib-rs's compressor allocates, in one block at init: a window and
/// chain of 4 bytes per window position, a 128 KiB hash table that does not
/// shrink with the window, the literal buffers of memory level 8, and its
/// state (measured with a counting allocator).
fn compressor_memory(window_bits: u8) -> usize {
    (4 << window_bits) + (128 << 10) + (7 << (8 + 6)) + 3_277
}

/// What zlib-rs's decompressor allocates, whatever the window: its window
/// is always 32 KiB (measured with a counting allocator).
const DECOMPRESSOR_MEMORY: usize = 47_552;

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
    /// Compressed bytes of the current message were fed.
    fed: bool,
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
        let (window_bits, no_context_takeover) = params.sender(role.peer());
        Inflater {
            stream: None,
            // zlib needs at least 9 bits; a larger window reads any smaller one.
            window_bits: window_bits.max(9),
            state: InflateState {
                no_context_takeover,
                fed: false,
                tail_fed: 0,
                ended: false,
            },
        }
    }

    /// Inflates `input` into `out`, growing `out` geometrically but never
    /// past `cap` bytes in total. Returns when the input is used up (and, if
    /// `finish`, the message is complete), or when `out` holds `cap` bytes.
    /// With `probe`, a full `out` is checked for more output to come
    /// (`overflow`); that byte is lost, so probe only at a hard limit.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        cap: usize,
        finish: bool,
        probe: bool,
    ) -> Result<Progress, Corrupt> {
        if finish && input.is_empty() && !self.state.fed {
            // A compressed message with an empty payload: nothing to inflate,
            // and feeding the sync-flush tail alone would leave the stream in
            // the middle of a stored block.
            return Ok(Progress {
                consumed: 0,
                done: true,
                overflow: false,
            });
        }
        let window_bits = self.window_bits;
        let stream = self
            .stream
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, window_bits));
        let progress = self.state.run(stream, input, out, cap, finish, probe)?;
        if progress.done && self.state.no_context_takeover {
            // The peer starts every message afresh: free the state.
            self.stream = None;
        }
        Ok(progress)
    }

    /// Heap bytes held by the decompression stream (zero when none
    /// exists).
    pub(crate) fn memory(&self) -> usize {
        if self.stream.is_none() {
            return 0;
        }
        DECOMPRESSOR_MEMORY
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
        probe: bool,
    ) -> Result<Progress, Corrupt> {
        let mut consumed = 0;
        self.fed |= !input.is_empty();
        let progress = |consumed, done, overflow| Progress {
            consumed,
            done,
            overflow,
        };
        loop {
            if self.ended {
                // Whatever follows the final block is ignored.
                let done = finish && self.end_message(stream);
                return Ok(progress(input.len(), done, false));
            }
            let rest = &input[consumed..];
            let (src, flush) = if !rest.is_empty() {
                (rest, FlushDecompress::None)
            } else if finish && self.tail_fed < TAIL.len() {
                (&TAIL[self.tail_fed..], FlushDecompress::Sync)
            } else if finish {
                (&[][..], FlushDecompress::Sync)
            } else {
                return Ok(progress(consumed, false, false));
            };
            let (before_in, before_out) = (stream.total_in(), stream.total_out());
            let full = out.len() >= cap;
            if full && !probe {
                return Ok(progress(consumed, false, false));
            }
            let status = if full {
                // Full: one more byte tells whether the message is larger.
                let mut probe = [0u8; 1];
                stream.decompress(src, &mut probe, flush)
            } else {
                if out.len() == out.capacity() {
                    let target = out.len().saturating_mul(2).max(out.len() + 1024).min(cap);
                    out.reserve_exact(target - out.len());
                }
                stream.decompress_vec(src, out, flush)
            }
            .map_err(|_| Corrupt)?;
            let used = (stream.total_in() - before_in) as usize;
            let produced = (stream.total_out() - before_out) as usize;
            if rest.is_empty() {
                self.tail_fed += used;
            } else {
                consumed += used;
            }
            if full && produced > 0 {
                return Ok(progress(consumed, false, true));
            }
            if status == Status::StreamEnd {
                self.ended = true;
                continue;
            }
            if used == 0 && produced == 0 {
                if finish && rest.is_empty() && self.tail_fed >= TAIL.len() {
                    let done = self.end_message(stream);
                    return Ok(progress(consumed, done, false));
                }
                if out.len() < out.capacity() || full {
                    // No progress with room to spare: more input is needed.
                    return Ok(progress(consumed, false, false));
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
        self.fed = false;
        self.tail_fed = 0;
        self.ended = false;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                true,
            )
            .unwrap();
        assert!(p.done);
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn never_grows_past_the_cap() {
        let params = Params {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        let mut c = Compressor::new(&params, Role::Client, &DeflateConfig::new());
        let Ok(Compressed::Yes(data, true)) = c.compress(true, true, &[b'a'; 5000], true) else {
            panic!("not compressed");
        };
        let mut inf = Inflater::new(&params, Role::Server);
        let mut out = Vec::new();
        let p = inf.inflate(&data, &mut out, 4096, true, true).unwrap();
        assert!(p.overflow && !p.done);
        assert_eq!(out.len(), 4096);
        assert_eq!(out.capacity(), 4096);
        // Exactly at the cap is not an overflow.
        let mut inf = Inflater::new(&params, Role::Server);
        let mut out = Vec::new();
        let p = inf.inflate(&data, &mut out, 5000, true, true).unwrap();
        assert!(p.done && !p.overflow, "{p:?}");
        assert_eq!(out.len(), 5000);
    }

    #[test]
    fn empty_messages_leave_the_stream_in_step() {
        let params = Params {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        let mut c = Compressor::new(&params, Role::Client, &DeflateConfig::new().min_size(0));
        let mut inf = Inflater::new(&params, Role::Server);
        // A peer's empty payload, ours (one 0x00 byte), then a real message.
        let mut out = Vec::new();
        assert!(inf.inflate(&[], &mut out, 100, true, true).unwrap().done);
        let Ok(Compressed::Yes(empty, _)) = c.compress(true, true, b"", true) else {
            panic!()
        };
        assert_eq!(&empty[..], &[0x00]);
        assert!(inf.inflate(&empty, &mut out, 100, true, true).unwrap().done);
        assert!(out.is_empty());
        let Ok(Compressed::Yes(hello, _)) = c.compress(true, true, &[b'h'; 40], true) else {
            panic!()
        };
        assert!(inf.inflate(&hello, &mut out, 100, true, true).unwrap().done);
        assert_eq!(out, [b'h'; 40]);
    }
}
