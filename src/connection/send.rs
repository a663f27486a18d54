//! The send path: messages to frames (RFC 6455 §5).
//!
//! Frames are written straight into the output queue. A client masks every
//! frame with a fresh key from its random source (§5.3), masking the payload
//! while copying it, or in place when it owns the only reference to a large
//! payload. A server's large payloads are queued as shared buffers without a
//! copy, for vectored writes.

use bytes::{Bytes, BytesMut};

use super::BoxedRng;
use super::buffers::OutQueue;
use super::extensions::Agreed;
use crate::close::CloseFrame;
use crate::config::Config;
use crate::error::UsageError;
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode};
use crate::mask::apply_mask;
use crate::message::{Message, MessageKind};

/// Payloads up to this size are copied next to their header (one write);
/// larger ones are queued as their own buffer.
const INLINE_MAX: usize = 4096;

/// Whether a send is a whole message or a fragment of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    Whole,
    Fragment { last: bool },
}

/// Send-side state.
#[derive(Debug)]
pub(crate) struct Sender {
    /// Present for a client: the source of mask keys.
    rng: Option<BoxedRng>,
    /// A fragmented message is in progress.
    fragmenting: Option<MessageKind>,
    #[cfg(feature = "deflate")]
    pub(super) deflate: Option<alloc::boxed::Box<crate::deflate::Compressor>>,
}

impl Sender {
    pub(crate) fn new(rng: Option<BoxedRng>) -> Sender {
        Sender {
            rng,
            fragmenting: None,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// Applies what the opening handshake agreed.
    pub(crate) fn configure(&mut self, agreed: &Agreed, role: super::Role, config: &Config) {
        #[cfg(feature = "deflate")]
        {
            self.deflate = agreed.deflate.as_ref().and_then(|p| {
                config
                    .deflate
                    .as_ref()
                    .map(|d| alloc::boxed::Box::new(crate::deflate::Compressor::new(p, role, d)))
            });
        }
        #[cfg(not(feature = "deflate"))]
        let _ = (agreed, role, config);
    }

    /// Refuses a frame of `len` payload bytes that would overfill the output
    /// buffer (an empty buffer always takes one frame).
    fn check_room(&self, out: &OutQueue, config: &Config, len: usize) -> Result<(), UsageError> {
        let pending = out.len();
        let limit = config.limits.max_output_buffer;
        let mut header = FrameHeader::new(true, OpCode::Binary, len as u64);
        if self.rng.is_some() {
            header.mask = Some([0; 4]);
        }
        if pending > 0 && pending.saturating_add(header.encoded_len() + len) > limit {
            return Err(UsageError::OutputFull { pending, limit });
        }
        Ok(())
    }

    /// A data message or fragment.
    pub(crate) fn message(
        &mut self,
        out: &mut OutQueue,
        config: &Config,
        message: Message,
        framing: Framing,
        compress: bool,
    ) -> Result<(), UsageError> {
        let kind = message.kind();
        let (opcode, fin) = match (framing, self.fragmenting) {
            (Framing::Whole, Some(_)) => return Err(UsageError::FragmentOrder),
            (Framing::Whole, None) => (opcode_of(kind), true),
            (Framing::Fragment { last }, None) => (opcode_of(kind), last),
            (Framing::Fragment { last }, Some(_)) => (OpCode::Continuation, last),
        };
        let payload = message.into_bytes();
        self.check_room(out, config, payload.len())?;
        #[cfg(not(feature = "deflate"))]
        let _ = compress;
        #[cfg(feature = "deflate")]
        if let Some(c) = self.deflate.as_mut()
            && let Some((compressed, rsv1)) = c.compress(opcode, fin, &payload, compress)
        {
            let mut header = FrameHeader::new(fin, opcode, compressed.len() as u64);
            header.rsv1 = rsv1;
            self.write_owned(out, header, compressed);
            self.fragmenting = if fin { None } else { Some(kind) };
            return Ok(());
        }
        self.write_shared(
            out,
            FrameHeader::new(fin, opcode, payload.len() as u64),
            payload,
        );
        self.fragmenting = if fin { None } else { Some(kind) };
        Ok(())
    }

    /// An application ping or pong: checked length and room.
    pub(crate) fn checked_control(
        &mut self,
        out: &mut OutQueue,
        config: &Config,
        opcode: OpCode,
        payload: &[u8],
    ) -> Result<(), UsageError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(UsageError::ControlPayloadTooLong);
        }
        self.check_room(out, config, payload.len())?;
        self.control(out, opcode, payload);
        Ok(())
    }

    /// A control frame (payload already known to fit).
    pub(crate) fn control(&mut self, out: &mut OutQueue, opcode: OpCode, payload: &[u8]) {
        let payload = &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)];
        self.write_slice(
            out,
            FrameHeader::new(true, opcode, payload.len() as u64),
            payload,
        );
    }

    /// A Close frame (§5.5.1): status code and reason, or empty.
    pub(crate) fn close(&mut self, out: &mut OutQueue, frame: Option<&CloseFrame>) {
        let mut body = [0u8; MAX_CONTROL_PAYLOAD];
        let len = match frame {
            None => 0,
            Some(f) => {
                let reason = f.reason.as_bytes();
                let reason = &reason[..reason.len().min(MAX_CONTROL_PAYLOAD - 2)];
                body[..2].copy_from_slice(&f.code.as_u16().to_be_bytes());
                body[2..2 + reason.len()].copy_from_slice(reason);
                2 + reason.len()
            }
        };
        self.control(out, OpCode::Close, &body[..len]);
    }

    /// The header with a fresh mask key if this is a client.
    fn masked(&mut self, mut header: FrameHeader) -> FrameHeader {
        if let Some(rng) = self.rng.as_mut() {
            let mut key = [0u8; 4];
            rng.fill(&mut key);
            header.mask = Some(key);
        }
        header
    }

    /// Header and payload copied into the output tail (masked on the way).
    fn write_slice(&mut self, out: &mut OutQueue, header: FrameHeader, payload: &[u8]) {
        let header = self.masked(header);
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        let tail = out.tail_mut();
        tail.reserve(n + payload.len());
        tail.extend_from_slice(&head[..n]);
        let start = tail.len();
        tail.extend_from_slice(payload);
        if let Some(key) = header.mask {
            apply_mask(&mut tail[start..], key, 0);
        }
        out.grew(n + payload.len());
    }

    /// A payload the caller may still share: queued without a copy when
    /// large and either unmasked (server) or uniquely owned (client, masked
    /// in place).
    fn write_shared(&mut self, out: &mut OutQueue, header: FrameHeader, payload: Bytes) {
        if payload.len() <= INLINE_MAX {
            return self.write_slice(out, header, &payload);
        }
        if self.rng.is_none() {
            let mut head = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut head);
            out.put_slice(&head[..n]);
            out.put_bytes(payload);
            return;
        }
        match payload.try_into_mut() {
            Ok(owned) => self.write_owned(out, header, owned),
            Err(shared) => self.write_slice(out, header, &shared),
        }
    }

    /// A payload this side owns: masked in place, queued without a copy.
    fn write_owned(&mut self, out: &mut OutQueue, header: FrameHeader, mut payload: BytesMut) {
        if payload.len() <= INLINE_MAX {
            return self.write_slice(out, header, &payload);
        }
        let header = self.masked(header);
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        out.put_slice(&head[..n]);
        out.put_bytes(payload.freeze());
    }
}

fn opcode_of(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}
