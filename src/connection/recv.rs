//! The receive path: frames to messages (RFC 6455 §5, §6.2).
//!
//! Each call to [`Connection::step_frames`] makes one unit of progress on
//! the bytes in the receive buffer: parse a header, unmask and validate newly
//! arrived payload bytes, or hand a message, chunk or control frame over.
//!
//! Payload bytes are unmasked in place and validated as they arrive, so an
//! invalid UTF-8 byte fails the connection at once, even in the middle of a
//! frame. A message that arrives as a single frame is split off the receive
//! buffer without a copy; a fragmented one is assembled (one copy), or, in
//! [`Delivery::Chunks`] mode, handed over piece by piece.

use bytes::{Bytes, BytesMut};

use super::{Connection, Phase, Role};
use crate::close::parse_close_payload;
use crate::config::Delivery;
use crate::error::{Error, Limit, ProtocolViolation};
use crate::event::{Chunk, Event};
use crate::frame::{FrameHeader, OpCode, Status};
use crate::mask::apply_mask;
use crate::message::{Message, MessageKind, Utf8Bytes};
use crate::utf8::{Utf8Validator, sequence_len};

/// The frame whose payload is being received.
#[derive(Clone, Copy, Debug)]
pub(super) struct InFrame {
    opcode: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes not yet consumed from the receive buffer.
    remaining: u64,
    /// Position of the next unconsumed byte in the payload, modulo 4.
    phase: usize,
    /// Bytes at the front of the receive buffer already unmasked and
    /// validated (`<= remaining`).
    processed: usize,
}

/// The data message being received.
#[derive(Clone, Copy, Debug)]
pub(super) struct InMessage {
    kind: MessageKind,
    /// Bytes counted against `max_message_size` so far.
    size: u64,
    /// RSV1 was set on the first frame (permessage-deflate).
    compressed: bool,
    /// No chunk of it was delivered yet.
    first: bool,
}

/// Bytes of a UTF-8 code point split across frames (chunk mode only).
#[derive(Clone, Copy, Debug, Default)]
struct Carry {
    bytes: [u8; 4],
    len: usize,
}

/// Receive-side state.
#[derive(Debug, Default)]
pub(crate) struct Receiver {
    frame: Option<InFrame>,
    message: Option<InMessage>,
    /// A fragmented message being assembled (message mode).
    assembly: BytesMut,
    utf8: Utf8Validator,
    carry: Carry,
    /// RSV1 may be set on the first frame of a message.
    compression: bool,
    /// Inflates compressed messages (permessage-deflate).
    #[cfg(feature = "deflate")]
    inflater: Option<alloc::boxed::Box<crate::deflate::Inflater>>,
    /// A compressed message being inflated (message mode).
    #[cfg(feature = "deflate")]
    inflated: alloc::vec::Vec<u8>,
}

impl Receiver {
    /// Applies what the opening handshake agreed.
    pub(crate) fn configure(&mut self, agreed: &super::extensions::Agreed, role: Role) {
        self.compression = agreed.compression();
        #[cfg(feature = "deflate")]
        {
            self.inflater = agreed
                .deflate
                .as_ref()
                .map(|p| alloc::boxed::Box::new(crate::deflate::Inflater::new(p, role)));
        }
        #[cfg(not(feature = "deflate"))]
        let _ = role;
    }

    /// Forgets any message in progress (after a Close frame).
    pub(crate) fn reset(&mut self) {
        self.frame = None;
        self.message = None;
        self.assembly.clear();
        #[cfg(feature = "deflate")]
        self.inflated.clear();
        self.utf8.reset();
        self.carry = Carry::default();
    }

    /// Drops all buffers (the connection is closed).
    pub(crate) fn release(&mut self) {
        self.reset();
        self.assembly = BytesMut::new();
        #[cfg(feature = "deflate")]
        {
            self.inflated = alloc::vec::Vec::new();
            self.inflater = None;
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        #[cfg(feature = "deflate")]
        return self.assembly.capacity() + self.inflated.capacity();
        #[cfg(not(feature = "deflate"))]
        self.assembly.capacity()
    }
}

impl Connection {
    /// One unit of progress on received frames; `false` when more bytes are
    /// needed.
    pub(super) fn step_frames(&mut self) -> bool {
        match self.recv.frame {
            None => self.start_frame(),
            Some(f) if f.opcode.is_control() => self.control_payload(f),
            Some(f) => self.data_payload(f),
        }
    }

    /// Parses and checks a frame header (§5.2–§5.5).
    fn start_frame(&mut self) -> bool {
        let (header, header_len) = match FrameHeader::decode(self.rx.data()) {
            Ok(Status::Partial) => return false,
            Ok(Status::Complete(parsed)) => parsed,
            Err(e) => {
                self.fail(Error::Protocol(e.into()));
                return true;
            }
        };
        if let Err(e) = self.check_header(&header) {
            self.fail(e);
            return true;
        }
        self.rx.advance(header_len);
        let kind = match header.opcode {
            OpCode::Text => Some(MessageKind::Text),
            OpCode::Binary => Some(MessageKind::Binary),
            _ => None,
        };
        if let Some(kind) = kind {
            self.recv.utf8.reset();
            self.recv.message = Some(InMessage {
                kind,
                size: 0,
                compressed: header.rsv1,
                first: true,
            });
        }
        if let Some(m) = self.recv.message.as_mut()
            && !header.opcode.is_control()
            && !m.compressed
        {
            m.size += header.payload_len;
        }
        self.recv.frame = Some(InFrame {
            opcode: header.opcode,
            fin: header.fin,
            mask: header.mask,
            remaining: header.payload_len,
            phase: 0,
            processed: 0,
        });
        true
    }

    fn check_header(&self, h: &FrameHeader) -> Result<(), Error> {
        let violation = |v| Err(Error::Protocol(v));
        // §5.1: clients mask, servers do not.
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return violation(ProtocolViolation::UnmaskedFrame),
            (Role::Client, true) => return violation(ProtocolViolation::MaskedFrame),
            _ => {}
        }
        // §5.2: reserved bits only as negotiated; RFC 7692 §6.1: RSV1 only
        // on the first frame of a data message.
        let rsv1_ok = self.recv.compression && matches!(h.opcode, OpCode::Text | OpCode::Binary);
        if h.rsv2 || h.rsv3 || (h.rsv1 && !rsv1_ok) {
            return violation(ProtocolViolation::ReservedBits);
        }
        // §5.4: fragmentation order.
        match h.opcode {
            OpCode::Continuation if self.recv.message.is_none() => {
                return violation(ProtocolViolation::UnexpectedContinuation);
            }
            OpCode::Text | OpCode::Binary if self.recv.message.is_some() => {
                return violation(ProtocolViolation::ExpectedContinuation);
            }
            _ => {}
        }
        if !h.opcode.is_control() {
            let limits = &self.config.limits;
            if h.payload_len > limits.max_frame_size {
                return Err(Error::LimitExceeded(Limit::FrameSize));
            }
            let (so_far, compressed) = match (h.opcode, self.recv.message) {
                (OpCode::Continuation, Some(m)) => (m.size, m.compressed),
                _ => (0, h.rsv1),
            };
            // Compressed messages are counted as they inflate.
            if !compressed && so_far.saturating_add(h.payload_len) > limits.max_message_size {
                return Err(Error::LimitExceeded(Limit::MessageSize));
            }
        }
        Ok(())
    }

    /// Ping, pong or close: handled once the whole (≤125-byte) payload is
    /// here.
    fn control_payload(&mut self, f: InFrame) -> bool {
        let len = f.remaining as usize;
        if self.rx.len() < len {
            return false;
        }
        // Copied: a tiny payload must not pin a large receive buffer.
        let mut payload = [0u8; crate::frame::MAX_CONTROL_PAYLOAD];
        let payload = &mut payload[..len];
        payload.copy_from_slice(&self.rx.data()[..len]);
        self.rx.advance(len);
        if let Some(key) = f.mask {
            apply_mask(payload, key, 0);
        }
        self.recv.frame = None;
        match f.opcode {
            OpCode::Ping => {
                let payload = Bytes::copy_from_slice(payload);
                // §5.5.2: answered until the peer's Close arrives, even
                // after ours was sent.
                if self.config.auto_pong && matches!(self.phase, Phase::Open | Phase::CloseSent) {
                    self.auto_pong(payload.clone());
                }
                self.events.push_back(Event::Ping(payload));
            }
            OpCode::Pong => {
                self.events
                    .push_back(Event::Pong(Bytes::copy_from_slice(payload)));
            }
            _ => match parse_close_payload(payload) {
                Ok(frame) => self.close_received(frame),
                Err(e) => self.fail(e),
            },
        }
        true
    }

    /// Unmasks and validates newly arrived payload bytes, then delivers what
    /// the delivery mode allows.
    fn data_payload(&mut self, mut f: InFrame) -> bool {
        let Some(msg) = self.recv.message else {
            return false;
        };
        let available = (self.rx.len() as u64).min(f.remaining) as usize;
        let mut progressed = false;
        if available > f.processed {
            let fresh = &mut self.rx.data_mut()[f.processed..available];
            if let Some(key) = f.mask {
                apply_mask(fresh, key, f.phase + f.processed);
            }
            if msg.kind == MessageKind::Text
                && !msg.compressed
                && self.recv.utf8.feed(fresh).is_err()
            {
                self.fail(Error::InvalidUtf8);
                return true;
            }
            f.processed = available;
            self.recv.frame = Some(f);
            progressed = true;
        }
        #[cfg(feature = "deflate")]
        if msg.compressed {
            return self.inflate_payload(f, msg) || progressed;
        }
        match self.config.delivery {
            Delivery::Messages => self.assemble(f, msg) || progressed,
            Delivery::Chunks => self.deliver_chunk(f, msg) || progressed,
        }
    }

    /// Removes `n` processed payload bytes of the current frame from the
    /// receive buffer.
    fn take_payload(&mut self, f: &mut InFrame, n: usize) -> BytesMut {
        let taken = self.rx.split_to(n);
        f.remaining -= n as u64;
        f.phase = (f.phase + n) & 3;
        f.processed -= n;
        self.recv.frame = if f.remaining == 0 { None } else { Some(*f) };
        taken
    }

    fn assemble(&mut self, mut f: InFrame, msg: InMessage) -> bool {
        let complete = f.processed as u64 == f.remaining;
        if f.fin && f.opcode != OpCode::Continuation {
            // A whole message in one frame: no copy once it is all here.
            if !complete {
                return false;
            }
            let n = f.processed;
            let payload = self.take_payload(&mut f, n).freeze();
            self.message_done(msg.kind, payload);
            return true;
        }
        if f.processed == 0 && !complete {
            return false;
        }
        let n = f.processed;
        let part = self.take_payload(&mut f, n);
        if self.recv.assembly.is_empty() {
            self.recv.assembly = part;
        } else {
            self.recv.assembly.extend_from_slice(&part);
        }
        if complete && f.fin {
            let payload = self.recv.assembly.split().freeze();
            self.message_done(msg.kind, payload);
        }
        true
    }

    /// A complete message: check the end of its text, hand it over.
    pub(super) fn message_done(&mut self, kind: MessageKind, payload: Bytes) {
        self.recv.message = None;
        let message = match kind {
            MessageKind::Binary => Message::Binary(payload),
            MessageKind::Text => {
                if self.recv.utf8.finish().is_err() {
                    self.fail(Error::InvalidUtf8);
                    return;
                }
                Message::Text(Utf8Bytes::from_validated(payload))
            }
        };
        self.events.push_back(Event::Message(message));
    }

    /// Chunk mode: hand over what has arrived, ending text chunks on a code
    /// point boundary.
    fn deliver_chunk(&mut self, mut f: InFrame, mut msg: InMessage) -> bool {
        let text = msg.kind == MessageKind::Text;
        let complete = f.processed as u64 == f.remaining;
        if text && self.recv.carry.len > 0 {
            // Finish a code point that started in an earlier frame.
            let carry = self.recv.carry;
            let need = sequence_len(carry.bytes[0]).saturating_sub(carry.len);
            if f.processed >= need {
                let rest = self.take_payload(&mut f, need);
                let mut joined = BytesMut::with_capacity(4);
                joined.extend_from_slice(&carry.bytes[..carry.len]);
                joined.extend_from_slice(&rest);
                self.recv.carry = Carry::default();
                let last = f.fin && f.remaining == 0;
                self.push_chunk(&mut msg, joined.freeze(), last);
                return true;
            }
            if !complete {
                return false;
            }
            if f.fin {
                self.fail(Error::InvalidUtf8);
                return true;
            }
            let n = f.processed;
            self.carry_over(&mut f, n);
            return true;
        }
        let pending = if text {
            self.recv.utf8.pending().min(f.processed)
        } else {
            0
        };
        if complete && pending > 0 && f.fin {
            self.fail(Error::InvalidUtf8);
            return true;
        }
        let n = f.processed - pending;
        let ends_message = complete && pending == 0 && f.fin;
        if n == 0 && !ends_message {
            if complete {
                // The frame is done; keep any unfinished code point.
                self.carry_over(&mut f, pending);
                return true;
            }
            return false;
        }
        let data = self.take_payload(&mut f, n).freeze();
        if complete && pending > 0 {
            self.carry_over(&mut f, pending);
        }
        self.push_chunk(&mut msg, data, ends_message);
        true
    }

    /// Moves the last `n` (at most 3) bytes of a finished frame, the start
    /// of a code point that continues in the next frame, out of the receive
    /// buffer.
    fn carry_over(&mut self, f: &mut InFrame, n: usize) {
        let tail = self.take_payload(f, n);
        let c = &mut self.recv.carry;
        let end = (c.len + tail.len()).min(c.bytes.len());
        c.bytes[c.len..end].copy_from_slice(&tail[..end - c.len]);
        c.len = end;
    }

    /// Hands over a chunk; ends the message if `last`.
    pub(super) fn push_chunk(&mut self, msg: &mut InMessage, data: Bytes, last: bool) {
        let first = msg.first;
        msg.first = false;
        if last {
            self.recv.message = None;
            if msg.kind == MessageKind::Text && self.recv.utf8.finish().is_err() {
                self.fail(Error::InvalidUtf8);
                return;
            }
        } else {
            self.recv.message = Some(*msg);
        }
        self.events.push_back(Event::Chunk(Chunk {
            kind: msg.kind,
            data,
            first,
            last,
        }));
    }
}

#[cfg(feature = "deflate")]
impl Connection {
    /// A compressed message (RFC 7692 §7.2.2): inflate what has arrived in
    /// bounded steps; inflated bytes count against the message size limit
    /// and are UTF-8 checked as they come out.
    fn inflate_payload(&mut self, mut f: InFrame, mut msg: InMessage) -> bool {
        use crate::deflate::{InflateError, STEP};

        let complete = f.processed as u64 == f.remaining;
        let finish = complete && f.fin;
        if f.processed == 0 && !finish {
            if complete {
                // An empty non-final frame.
                self.recv.frame = None;
                return true;
            }
            return false;
        }
        let Some(inflater) = self.recv.inflater.as_mut() else {
            self.fail(Error::BadCompressedData);
            return true;
        };
        let limit = self.config.limits.max_message_size;
        let text = msg.kind == MessageKind::Text;
        let input = &self.rx.data()[..f.processed];
        let (progress, chunk) = match self.config.delivery {
            Delivery::Messages => {
                let out = &mut self.recv.inflated;
                let before = out.len();
                // Never allocate past the limit: one byte over is enough to
                // tell the message is too big.
                let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
                let result = inflater.inflate(input, out, cap, finish);
                let fresh = &out[before..];
                match result {
                    Err(InflateError::Corrupt) => {
                        self.fail(Error::BadCompressedData);
                        return true;
                    }
                    Ok(p) => {
                        if text && self.recv.utf8.feed(fresh).is_err() {
                            self.fail(Error::InvalidUtf8);
                            return true;
                        }
                        if out.len() as u64 > limit {
                            self.fail(Error::LimitExceeded(Limit::MessageSize));
                            return true;
                        }
                        (p, None)
                    }
                }
            }
            Delivery::Chunks => {
                let room = limit.saturating_sub(msg.size).saturating_add(1);
                let room = usize::try_from(room).unwrap_or(usize::MAX).min(STEP);
                let carry = core::mem::take(&mut self.recv.carry);
                let mut out = alloc::vec::Vec::with_capacity(carry.len + room.min(4096));
                out.extend_from_slice(&carry.bytes[..carry.len]);
                let result = inflater.inflate(input, &mut out, carry.len + room, finish);
                match result {
                    Err(InflateError::Corrupt) => {
                        self.fail(Error::BadCompressedData);
                        return true;
                    }
                    Ok(p) => {
                        let fresh = &out[carry.len..];
                        if text && self.recv.utf8.feed(fresh).is_err() {
                            self.fail(Error::InvalidUtf8);
                            return true;
                        }
                        msg.size += fresh.len() as u64;
                        if msg.size > limit {
                            self.fail(Error::LimitExceeded(Limit::MessageSize));
                            return true;
                        }
                        (p, Some(out))
                    }
                }
            }
        };
        drop(self.take_payload(&mut f, progress.consumed));
        if f.remaining == 0 && f.fin && !progress.done {
            // All input is in, output is still coming: keep the frame.
            self.recv.frame = Some(f);
        }
        match chunk {
            None if progress.done => {
                let payload = Bytes::from(core::mem::take(&mut self.recv.inflated));
                self.recv.frame = None;
                self.message_done(msg.kind, payload);
                true
            }
            None => progress.consumed > 0 || self.recv.frame.is_none(),
            Some(mut out) => {
                if progress.done {
                    self.recv.frame = None;
                } else if text {
                    // Keep an unfinished code point for the next chunk.
                    let pending = self.recv.utf8.pending().min(out.len());
                    let keep = out.len() - pending;
                    let c = &mut self.recv.carry;
                    c.bytes[..pending].copy_from_slice(&out[keep..]);
                    c.len = pending;
                    out.truncate(keep);
                }
                if out.is_empty() && !progress.done {
                    self.recv.message = Some(msg);
                    return progress.consumed > 0 || self.recv.frame.is_none();
                }
                self.push_chunk(&mut msg, Bytes::from(out), progress.done);
                true
            }
        }
    }
}
