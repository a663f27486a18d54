//! The send path: messages to frames (RFC 6455 §5).
//!
//! Frames are written straight into the output queue. A client masks every
//! frame with a fresh key from its random source (§5.3), masking the payload
//! while copying it, or in place when it owns the only reference to a large
//! payload. A server's large payloads are queued as shared buffers without a
//! copy, for vectored writes.
//!
//! Every check (order, kind, UTF-8, room) happens before anything is
//! queued, so a refused send changes nothing and hands its payload back.

use bytes::{Bytes, BytesMut};

use super::BoxedRng;
use super::buffers::OutQueue;
use crate::close::CloseFrame;
use crate::config::Limits;
use crate::extensions::{Agreed, Compressed, Encoder};
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode};
use crate::message::MessageKind;
use crate::role::Role;
use crate::usage::UsageError;
use crate::utf8::Utf8Validator;

/// Payloads up to this size are copied next to their header (one write);
/// larger ones are queued as their own buffer.
const INLINE_MAX: usize = 4096;

/// How many automatic pongs may wait to be written; pings beyond that are
/// answered once, for the latest (RFC 6455 §5.5.3).
pub(crate) const MAX_QUEUED_PONGS: usize = 16;

/// What the connection may queue beyond
/// [`Limits::max_output_buffer`](crate::Limits::max_output_buffer) for the
/// frames it generates itself: up to 16 automatic pongs, one keepalive ping
/// and one Close, each at most a 14-byte header and a 125-byte payload
/// (2,502 bytes).
pub const CONTROL_BUDGET: usize = (MAX_QUEUED_PONGS + 2) * (MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD);

/// Whether a send is a whole message or a fragment of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    Whole,
    Fragment { last: bool },
}

/// A fragmented message being sent.
#[derive(Clone, Copy, Debug)]
struct Fragmenting {
    kind: MessageKind,
    /// Text so far, checked across fragments.
    utf8: Utf8Validator,
}

/// The send side of a connection.
#[derive(Debug)]
pub(crate) struct Sender {
    /// Present for a client: the source of mask keys.
    rng: Option<BoxedRng>,
    fragmenting: Option<Fragmenting>,
    encoder: Encoder,
    /// The most the output tail may ever hold: the output limit plus the
    /// control budget.
    tail_limit: usize,
}

impl Sender {
    pub(crate) fn new(rng: Option<BoxedRng>, limits: &Limits) -> Sender {
        Sender {
            rng,
            fragmenting: None,
            encoder: Encoder::default(),
            tail_limit: limits.max_output_buffer.saturating_add(CONTROL_BUDGET),
        }
    }

    /// Applies what the opening handshake agreed.
    pub(crate) fn configure(&mut self, agreed: &Agreed, role: Role, config: &crate::Config) {
        self.encoder = Encoder::new(agreed, role, config);
    }

    /// Heap bytes held by compression state.
    pub(crate) fn memory(&self) -> usize {
        self.encoder.memory()
    }

    /// Refuses a frame of `len` payload bytes that would take the output
    /// buffer past its limit.
    fn check_room(&self, out: &OutQueue, limits: &Limits, len: usize) -> Result<(), UsageError> {
        let limit = limits.max_output_buffer;
        let header = if self.rng.is_some() {
            FrameHeader::new(true, OpCode::Binary, len as u64).with_mask([0; 4])
        } else {
            FrameHeader::new(true, OpCode::Binary, len as u64)
        };
        let frame = header.encoded_len().saturating_add(len);
        if frame > limit {
            return Err(UsageError::MessageTooLarge { len: frame, limit });
        }
        let pending = out.len();
        if pending.saturating_add(frame) > limit {
            return Err(UsageError::OutputFull { pending, limit });
        }
        Ok(())
    }

    /// A data message or fragment. On error nothing is queued and the
    /// payload comes back.
    pub(crate) fn message(
        &mut self,
        out: &mut OutQueue,
        limits: &Limits,
        kind: MessageKind,
        payload: Bytes,
        framing: Framing,
        compress: bool,
    ) -> Result<(), (UsageError, Bytes)> {
        let (opcode, fin, fragmenting) = match (framing, self.fragmenting) {
            (Framing::Whole, Some(_)) => return Err((UsageError::FragmentOrder, payload)),
            (Framing::Whole, None) => (opcode_of(kind), true, None),
            (Framing::Fragment { last }, None) => {
                let utf8 = Utf8Validator::new();
                (opcode_of(kind), last, Some(Fragmenting { kind, utf8 }))
            }
            (Framing::Fragment { last }, Some(f)) if f.kind == kind => {
                (OpCode::Continuation, last, Some(f))
            }
            (Framing::Fragment { .. }, Some(_)) => {
                return Err((UsageError::FragmentKind, payload));
            }
        };
        // Text sent in fragments is checked across them: a code point may
        // span fragments, the last must end on a boundary.
        let fragmenting = match fragmenting {
            Some(mut f) if kind == MessageKind::Text => {
                let valid = f.utf8.feed(&payload).is_ok() && {
                    let mut end = f.utf8;
                    !fin || end.finish().is_ok()
                };
                if !valid {
                    return Err((UsageError::InvalidUtf8, payload));
                }
                Some(f)
            }
            other => other,
        };
        let first = opcode != OpCode::Continuation;
        // A compressed frame can be larger than its payload: compress only
        // when the worst case fits, so the output never passes its cap. A
        // fragment of a message that went out compressed has no choice.
        let worst = self.encoder.worst_case(payload.len());
        let must_compress = !first && self.encoder.continues_compressed();
        let needed = if must_compress { worst } else { payload.len() };
        if let Err(e) = self.check_room(out, limits, needed) {
            return Err((e, payload));
        }
        let compress = compress && (must_compress || self.check_room(out, limits, worst).is_ok());
        let compressed = match self.encoder.compress(first, fin, &payload, compress) {
            Ok(c) => c,
            Err(e) => {
                self.fragmenting = None;
                return Err((e, payload));
            }
        };
        match compressed {
            Compressed::Yes(data, rsv1) => {
                let header = FrameHeader::new(fin, opcode, data.len() as u64).with_rsv(if rsv1 {
                    4
                } else {
                    0
                });
                self.write_owned(out, header, data);
            }
            Compressed::No => {
                let header = FrameHeader::new(fin, opcode, payload.len() as u64);
                self.write_shared(out, header, payload);
            }
        }
        self.fragmenting = if fin { None } else { fragmenting };
        Ok(())
    }

    /// An application ping or pong: checked length and room.
    pub(crate) fn checked_control(
        &mut self,
        out: &mut OutQueue,
        limits: &Limits,
        opcode: OpCode,
        payload: &[u8],
    ) -> Result<(), UsageError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(UsageError::ControlPayloadTooLong);
        }
        self.check_room(out, limits, payload.len())?;
        self.control(out, opcode, payload);
        Ok(())
    }

    /// A control frame the connection generates (within
    /// [`CONTROL_BUDGET`]); the payload is cut to 125 bytes.
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
    fn masked(&mut self, header: FrameHeader) -> FrameHeader {
        match self.rng.as_mut() {
            Some(rng) => {
                let mut key = [0u8; 4];
                rng.fill(&mut key);
                header.with_mask(key)
            }
            None => header,
        }
    }

    /// Header and payload copied into the output tail (masked on the way).
    fn write_slice(&mut self, out: &mut OutQueue, header: FrameHeader, payload: &[u8]) {
        let header = self.masked(header);
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        out.put_frame(&head[..n], payload, header.mask(), self.tail_limit);
    }

    /// Bytes of the opening handshake (request or answer).
    pub(crate) fn raw(&mut self, out: &mut OutQueue, bytes: &[u8]) {
        out.put_frame(bytes, &[], None, self.tail_limit.max(bytes.len()));
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
            out.put_frame(&head[..n], &[], None, self.tail_limit);
            let len = payload.len();
            out.put_bytes(payload, len);
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
        if let Some(key) = header.mask() {
            crate::mask::apply_mask(&mut payload, key, 0);
        }
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        out.put_frame(&head[..n], &[], None, self.tail_limit);
        let held = payload.capacity();
        out.put_bytes(payload.freeze(), held);
    }
}

fn opcode_of(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}
