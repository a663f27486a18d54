//! The compressor and the bounded inflater of permessage-deflate
//! (RFC 7692 §7.2).

use alloc::boxed::Box;

use super::compress::Deflater;
use super::inflate::{Halt, Inflate};
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
#[derive(Debug)]
pub(crate) struct Compressor {
    deflater: Deflater,
    no_context_takeover: bool,
    min_size: usize,
    /// A fragmented message is in progress; whether it is compressed.
    in_message: Option<bool>,
}

impl Compressor {
    pub(crate) fn new(params: &Params, role: Role, config: &DeflateConfig) -> Compressor {
        let (window_bits, no_context_takeover) = params.sender(role);
        // The hash table never needs more heads than the window has bytes.
        let hash_bits = config.hash_bits.min(window_bits);
        Compressor {
            deflater: Deflater::new(config.level as u8, window_bits, hash_bits),
            no_context_takeover,
            min_size: config.min_size,
            in_message: None,
        }
    }

    /// Compresses a message or fragment (`first`: its message's first
    /// frame; `allowed`: the caller did not ask for an uncompressed send).
    /// Fragments follow the decision made for the first one.
    pub(crate) fn compress(
        &mut self,
        first: bool,
        fin: bool,
        payload: &[u8],
        allowed: bool,
    ) -> Result<Compressed, Stuck> {
        let compressed = if first {
            allowed && (!fin || payload.len() >= self.min_size)
        } else {
            self.in_message.unwrap_or(false)
        };
        self.in_message = if fin { None } else { Some(compressed) };
        if !compressed {
            return Ok(Compressed::No);
        }
        // Room for the worst case up front (the sender checked that this
        // much fits in the output buffer), shrunk to what it holds: the
        // output queue keeps this buffer, not the worst case.
        let mut out = alloc::vec::Vec::with_capacity(max_compressed_len(payload.len()));
        self.deflater.compress(payload, &mut out, fin);
        out.shrink_to_fit();
        if fin && self.no_context_takeover {
            // Nothing carries over to the next message: free the state.
            self.deflater.release();
        }
        // A fresh, unshared buffer: converted without a copy.
        Ok(Compressed::Yes(
            bytes::BytesMut::from(bytes::Bytes::from(out)),
            first,
        ))
    }

    /// Whether the next fragment continues a message that went out
    /// compressed (and so must be compressed too).
    pub(crate) fn continues_compressed(&self) -> bool {
        self.in_message == Some(true)
    }

    /// Heap bytes held by the compression state.
    pub(crate) fn memory(&self) -> usize {
        self.deflater.memory()
    }
}

/// The most a sync-flushed deflate stream can take for `len` input bytes,
/// with room to spare: the compressor picks the smallest of stored, fixed
/// and dynamic blocks, so incompressible data costs a 5-byte header per
/// stored block, plus the bits of the block before it and the empty stored
/// block of the sync flush.
pub(crate) const fn max_compressed_len(len: usize) -> usize {
    len.saturating_add(len / 8 + (len >> 12) + (len >> 14) + 64)
}

/// Inflates incoming messages.
#[derive(Debug)]
pub(crate) struct Inflater {
    stream: Option<Box<Inflate>>,
    window_bits: u8,
    no_context_takeover: bool,
    /// Compressed bytes of the current message were fed.
    fed: bool,
    /// How much of [`TAIL`] was fed for the current message.
    tail_fed: usize,
    /// The sender ended its deflate stream (BFINAL): the rest of the message
    /// is ignored and the next one starts a fresh stream.
    ended: bool,
}

impl Inflater {
    pub(crate) fn new(params: &Params, role: Role) -> Inflater {
        let (window_bits, no_context_takeover) = params.sender(role.peer());
        Inflater {
            stream: None,
            // zlib cannot compress with an 8-bit window and silently uses 9
            // bits: a peer limited to 8 bits may well refer 512 bytes back.
            window_bits: window_bits.max(9),
            no_context_takeover,
            fed: false,
            tail_fed: 0,
            ended: false,
        }
    }

    /// Inflates `input` into `out`, growing `out` geometrically but never
    /// past `cap` bytes in total. Returns when the input is used up (and, if
    /// `finish`, the message is complete), or when `out` holds `cap` bytes
    /// with more to come: with `probe` that is an `overflow`, without it the
    /// caller drains `out` and calls again.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut alloc::vec::Vec<u8>,
        cap: usize,
        finish: bool,
        probe: bool,
    ) -> Result<Progress, Corrupt> {
        let progress = |consumed, done, overflow| Progress {
            consumed,
            done,
            overflow,
        };
        if finish && input.is_empty() && !self.fed {
            // A compressed message with an empty payload: nothing to inflate,
            // and feeding the sync-flush tail alone would leave the stream in
            // the middle of a stored block.
            return Ok(progress(0, true, false));
        }
        self.fed |= !input.is_empty();
        let window_bits = self.window_bits;
        let stream = self
            .stream
            .get_or_insert_with(|| Box::new(Inflate::new(window_bits)));
        let mut consumed = 0;
        if !self.ended {
            let (used, halt) = stream.run(input, out, cap).map_err(|_| Corrupt)?;
            consumed = used;
            match halt {
                Halt::Full => return Ok(progress(consumed, false, probe)),
                Halt::End => self.ended = true,
                Halt::Input => {}
            }
        }
        if self.ended {
            // Whatever follows the final block is ignored.
            consumed = input.len();
        }
        if !finish {
            return Ok(progress(consumed, false, false));
        }
        if !self.ended {
            while self.tail_fed < TAIL.len() {
                let (used, halt) = stream
                    .run(&TAIL[self.tail_fed..], out, cap)
                    .map_err(|_| Corrupt)?;
                self.tail_fed += used;
                match halt {
                    Halt::Full => return Ok(progress(consumed, false, probe)),
                    Halt::End => {
                        self.ended = true;
                        break;
                    }
                    Halt::Input => {}
                }
            }
            // The message must end where its empty stored block ends.
            if !self.ended && !stream.at_boundary() {
                return Err(Corrupt);
            }
        }
        if self.ended {
            stream.restart();
        }
        stream.release_tables();
        self.fed = false;
        self.tail_fed = 0;
        self.ended = false;
        if self.no_context_takeover {
            // The peer starts every message afresh: free the state.
            self.stream = None;
        }
        Ok(progress(consumed, true, false))
    }

    /// Heap bytes held by the decompression state (zero when none exists).
    pub(crate) fn memory(&self) -> usize {
        self.stream.as_ref().map_or(0, |s| s.memory())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

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
    fn incompressible_data_stays_within_the_bound() {
        let params = Params {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for level in [0, 1, 6, 9] {
            let config = DeflateConfig::new().level(level).min_size(0);
            let mut c = Compressor::new(&params, Role::Server, &config);
            for len in [0, 1, 100, 4096, 16_384, 65_535, 65_536, 300_000] {
                for fin in [false, true] {
                    let first = !c.continues_compressed();
                    let Ok(Compressed::Yes(out, _)) = c.compress(first, fin, &noise[..len], true)
                    else {
                        panic!("not compressed")
                    };
                    assert!(
                        out.len() <= max_compressed_len(len),
                        "{level} {len}: {}",
                        out.len()
                    );
                    assert_eq!(out.capacity(), out.len(), "held exactly");
                }
            }
        }
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
