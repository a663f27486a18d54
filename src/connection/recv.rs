//! The receive path: bytes to frames to messages (RFC 6455 §5, §6.2).
//!
//! [`Receiver`] is the frame protocol layer on its own: it knows the masking
//! rule of its role, what the handshake agreed, and the limits; it knows
//! nothing of the connection's phase. [`Receiver::process`] takes received
//! bytes and returns how many it used and at most one [`Received`] item; the
//! connection decides what an item means (answer a ping, echo a close, fail).
//!
//! Partial headers and control payloads are kept inside the receiver, so it
//! always uses all the bytes it is given unless it returns an item. Payload
//! bytes are copied once, unmasked and UTF-8 checked as they arrive, so
//! invalid text fails at the first bad byte even in the middle of a frame.
//! A delivered message owns an allocation of its own size (it never pins a
//! larger receive buffer); a message's buffer grows geometrically but never
//! past what the frame declared or the message limit allows.

use alloc::vec::Vec;

use bytes::Bytes;

use crate::close::{BadClose, parse_close_payload};
use crate::config::Limit;
use crate::config::{Config, Delivery};
use crate::error::{Error, ProtocolViolation};
use crate::event::Chunk;
use crate::extensions::{Agreed, Decoder, INFLATE_STEP};
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode, Status};
use crate::mask::{apply_mask, extend_masked, extend_masked_ascii};
use crate::message::{Message, MessageKind, Utf8Bytes};
use crate::role::Role;
use crate::utf8::Utf8Validator;

/// What the receiver made of the bytes it was given.
#[derive(Debug)]
pub(crate) enum Received {
    /// A complete data message (message delivery).
    Message(Message),
    /// A piece of a data message (chunk delivery).
    Chunk(Chunk),
    /// A ping, with its payload.
    Ping(Bytes),
    /// A pong, with its payload.
    Pong(Bytes),
    /// The peer's Close frame (`None`: no status code).
    Close(Option<crate::close::CloseFrame>),
    /// The peer broke a rule: fail the connection with this error.
    Fail(Error),
}

/// The frame whose payload is being received.
#[derive(Clone, Copy, Debug)]
struct InFrame {
    opcode: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes not yet received.
    remaining: u64,
    /// Payload bytes received so far (the masking phase).
    offset: u64,
}

impl InFrame {
    /// Consumes `n` payload bytes.
    #[inline]
    fn advance(&mut self, n: usize) {
        self.remaining -= n as u64;
        self.offset += n as u64;
    }
}

/// The data message being received.
#[derive(Clone, Copy, Debug)]
struct InMessage {
    kind: MessageKind,
    /// Bytes counted against `max_message_size` so far: declared payload
    /// lengths, or inflated bytes for a compressed message.
    size: u64,
    /// RSV1 was set on the first frame (permessage-deflate).
    compressed: bool,
    /// No chunk of it was delivered yet (chunk delivery).
    first: bool,
}

/// Bytes that must be kept between calls: a partial frame header or control
/// payload, or the start of a code point split across chunks.
#[derive(Clone, Copy, Debug)]
struct Scratch<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Default for Scratch<N> {
    fn default() -> Self {
        Scratch {
            bytes: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> Scratch<N> {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Appends up to `want - len` bytes of `data`; returns how many.
    fn fill(&mut self, data: &[u8], want: usize) -> usize {
        let n = want.saturating_sub(self.len).min(data.len());
        self.bytes[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }
}

/// The receive side of a connection.
pub(crate) struct Receiver {
    role: Role,
    header: Scratch<MAX_HEADER_LEN>,
    control: Scratch<MAX_CONTROL_PAYLOAD>,
    frame: Option<InFrame>,
    message: Option<InMessage>,
    /// The message being assembled (message delivery).
    buf: Vec<u8>,
    utf8: Utf8Validator,
    /// An unfinished code point carried to the next chunk (chunk delivery).
    carry: Scratch<4>,
    decoder: Decoder,
}

impl core::fmt::Debug for Receiver {
    /// State and sizes only: the message buffer may hold megabytes.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Receiver")
            .field("frame", &self.frame)
            .field("message", &self.message)
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// Unmasking scratch for compressed payloads, which the inflater reads.
const UNMASK_BLOCK: usize = 4096;

/// Text is copied, unmasked and validated in blocks of this size, which
/// stay in the first-level data cache between the two passes.
const UTF8_BLOCK: usize = 8 << 10;

/// Appends payload bytes to `out`, unmasked on the way (one pass) when the
/// frame is masked; `offset` is the position of `data[0]` in the payload.
#[inline]
fn copy_payload(out: &mut Vec<u8>, data: &[u8], mask: Option<[u8; 4]>, offset: u64) {
    match mask {
        Some(key) => extend_masked(out, data, key, (offset & 3) as usize),
        None => out.extend_from_slice(data),
    }
}

impl Receiver {
    pub(crate) fn new(role: Role) -> Receiver {
        Receiver {
            role,
            header: Scratch::default(),
            control: Scratch::default(),
            frame: None,
            message: None,
            buf: Vec::new(),
            utf8: Utf8Validator::new(),
            carry: Scratch::default(),
            decoder: Decoder::default(),
        }
    }

    /// Applies what the opening handshake agreed.
    pub(crate) fn configure(&mut self, agreed: &Agreed) {
        self.decoder = Decoder::new(agreed, self.role);
    }

    /// Drops every buffer and any message in progress (after a Close frame,
    /// or when the connection fails).
    pub(crate) fn release(&mut self) {
        self.frame = None;
        self.message = None;
        self.buf = Vec::new();
        self.header = Scratch::default();
        self.control = Scratch::default();
        self.carry = Scratch::default();
        self.utf8.reset();
        self.decoder.release();
    }

    /// Heap bytes held: the message buffer and the inflater.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity() + self.decoder.memory()
    }

    /// Whether a call without new input can make progress: a frame whose
    /// payload has all arrived but is not done (an inflater with more to
    /// give).
    pub(crate) fn has_pending_work(&self) -> bool {
        self.frame.is_some_and(|f| f.remaining == 0)
    }

    /// Processes `input`; stops after the first item. Returns how many bytes
    /// were used: all of them unless an item is returned.
    ///
    /// The common work is inline here: a data frame's header, the copy of
    /// its payload into the message being assembled; everything rarer
    /// (control frames, compressed messages, chunk delivery, a header split
    /// across reads, the end of a message) is out of line, so that the loop
    /// keeps its state in registers. The frame and message in progress are
    /// read and updated a field at a time, never copied whole: a whole copy
    /// loaded right after field-sized stores (the previous call's, or the
    /// previous frame's) stalls the processor on a failed store-to-load
    /// forwarding, once per call.
    pub(crate) fn process(&mut self, input: &[u8], config: &Config) -> (usize, Option<Received>) {
        let mut at = 0;
        loop {
            let rest = &input[at..];
            let Some(f) = &self.frame else {
                if rest.is_empty() {
                    return (at, None);
                }
                if self.message.is_none()
                    && self.header.len == 0
                    && config.delivery == Delivery::Messages
                    && let Some((used, item)) = self.whole_message(rest, config)
                {
                    return (at + used, Some(item));
                }
                if self.header.len == 0
                    && let Some((used, f)) = self.quick_header(rest, config)
                {
                    at += used;
                    self.frame = Some(f);
                    continue;
                }
                match self.header(rest, config) {
                    Ok((used, Some(f))) => {
                        at += used;
                        self.frame = Some(f);
                        continue;
                    }
                    Ok((used, None)) => return (at + used, None),
                    Err((used, e)) => return (at + used, Some(Received::Fail(e))),
                }
            };
            let (remaining, control) = (f.remaining, f.opcode.is_control());
            if rest.is_empty() && remaining > 0 {
                return (at, None);
            }
            let plain = self
                .message
                .as_ref()
                .is_some_and(|m| !m.compressed && !control);
            let (used, item) = if plain && config.delivery == Delivery::Messages {
                let take = rest
                    .len()
                    .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                self.assemble(&rest[..take], config)
            } else {
                self.other_payload(rest, config)
            };
            at += used;
            if item.is_some() || (used == 0 && self.frame.is_some()) {
                return (at, item);
            }
        }
    }

    /// The common case on its own path: a whole single-frame message, all
    /// of it in `rest`, between messages (the caller checked that no
    /// message or header is in progress). `None` leaves everything else,
    /// errors included, to the general path. Kept out of line: inlined, it
    /// makes the frame loop slower for every other frame.
    #[inline(never)]
    fn whole_message(&mut self, rest: &[u8], config: &Config) -> Option<(usize, Received)> {
        let Ok(Status::Complete((h, n))) = FrameHeader::decode(rest) else {
            return None;
        };
        let text = match h.opcode() {
            OpCode::Text => true,
            OpCode::Binary => false,
            _ => return None,
        };
        let len = usize::try_from(h.payload_len()).ok()?;
        // Long text goes through the general path, validated a block at a
        // time while each is in the first-level cache.
        if !h.fin()
            || h.rsv1()
            || len > rest.len() - n
            || (text && len > UTF8_BLOCK)
            || self.check_header(&h, config).is_err()
        {
            return None;
        }
        let data = &rest[n..n + len];
        let mut payload = Vec::with_capacity(len);
        let key = h.mask().unwrap_or([0; 4]);
        let message = if text {
            let ascii = extend_masked_ascii(&mut payload, data, key, 0);
            if !ascii {
                let mut utf8 = Utf8Validator::new();
                if utf8.feed(&payload).and_then(|()| utf8.finish()).is_err() {
                    // The general path fails it at the first bad byte.
                    return None;
                }
            }
            Message::Text(Utf8Bytes::from_validated(Bytes::from(payload)))
        } else {
            copy_payload(&mut payload, data, h.mask(), 0);
            Message::Binary(Bytes::from(payload))
        };
        Some((n + len, Received::Message(message)))
    }

    /// The common case of a header: complete in `rest`, nothing wrong with
    /// it. `None` leaves the rest (a split header, an error) to
    /// [`Self::header`].
    #[inline(always)]
    fn quick_header(&mut self, rest: &[u8], config: &Config) -> Option<(usize, InFrame)> {
        let Ok(Status::Complete((header, used))) = FrameHeader::decode(rest) else {
            return None;
        };
        if self.check_header(&header, config).is_err() {
            return None;
        }
        Some((used, self.start_frame(&header)))
    }

    /// Reads a frame header, possibly across calls. `Ok((used, frame))`,
    /// the frame once its header is complete.
    #[inline(never)]
    fn header(
        &mut self,
        rest: &[u8],
        config: &Config,
    ) -> Result<(usize, Option<InFrame>), (usize, Error)> {
        let (header, used) = if self.header.len == 0 {
            match FrameHeader::decode(rest) {
                Ok(Status::Complete((h, n))) => (h, n),
                Ok(Status::Partial) => {
                    let n = self.header.fill(rest, MAX_HEADER_LEN);
                    return Ok((n, None));
                }
                Err(e) => return Err((0, Error::Protocol(e.into()))),
            }
        } else {
            let before = self.header.len;
            let n = self.header.fill(rest, MAX_HEADER_LEN);
            match FrameHeader::decode(self.header.as_slice()) {
                Ok(Status::Complete((h, len))) => {
                    self.header = Scratch::default();
                    (h, len - before)
                }
                Ok(Status::Partial) => return Ok((n, None)),
                Err(e) => return Err((n, Error::Protocol(e.into()))),
            }
        };
        self.check_header(&header, config).map_err(|e| (used, e))?;
        Ok((used, Some(self.start_frame(&header))))
    }

    /// Rules that depend on the role, the agreement, the message in
    /// progress and the limits, checked before any payload is read.
    fn check_header(&self, h: &FrameHeader, config: &Config) -> Result<(), Error> {
        let violation = |v| Err(Error::Protocol(v));
        // §5.1: clients mask, servers do not.
        match (self.role, h.mask().is_some()) {
            (Role::Server, false) => return violation(ProtocolViolation::UnmaskedFrame),
            (Role::Client, true) => return violation(ProtocolViolation::MaskedFrame),
            _ => {}
        }
        // §5.2: reserved bits only as negotiated; RFC 7692 §6.1: RSV1 only
        // on the first frame of a data message.
        let rsv1_ok = self.decoder.enabled() && matches!(h.opcode(), OpCode::Text | OpCode::Binary);
        if h.rsv2() || h.rsv3() || (h.rsv1() && !rsv1_ok) {
            return violation(ProtocolViolation::ReservedBits);
        }
        // §5.4: fragmentation order.
        match h.opcode() {
            OpCode::Continuation if self.message.is_none() => {
                return violation(ProtocolViolation::UnexpectedContinuation);
            }
            OpCode::Text | OpCode::Binary if self.message.is_some() => {
                return violation(ProtocolViolation::ExpectedContinuation);
            }
            _ => {}
        }
        if !h.opcode().is_control() {
            let limits = &config.limits;
            if h.payload_len() > limits.max_frame_size {
                return Err(Error::LimitExceeded(Limit::FrameSize));
            }
            let (so_far, compressed) = match (h.opcode(), self.message) {
                (OpCode::Continuation, Some(m)) => (m.size, m.compressed),
                _ => (0, h.rsv1()),
            };
            // Compressed messages are counted as they inflate.
            if !compressed && so_far.saturating_add(h.payload_len()) > limits.max_message_size {
                return Err(Error::LimitExceeded(Limit::MessageSize));
            }
        }
        Ok(())
    }

    fn start_frame(&mut self, h: &FrameHeader) -> InFrame {
        let kind = match h.opcode() {
            OpCode::Text => Some(MessageKind::Text),
            OpCode::Binary => Some(MessageKind::Binary),
            _ => None,
        };
        if let Some(kind) = kind {
            self.utf8.reset();
            self.message = Some(InMessage {
                kind,
                size: 0,
                compressed: h.rsv1(),
                first: true,
            });
        }
        if let Some(m) = self.message.as_mut()
            && !h.opcode().is_control()
            && !m.compressed
        {
            m.size += h.payload_len();
        }
        InFrame {
            opcode: h.opcode(),
            fin: h.fin(),
            mask: h.mask(),
            remaining: h.payload_len(),
            offset: 0,
        }
    }

    /// Ping, pong or close: handled once the whole (≤125-byte) payload is
    /// here.
    fn control_payload(&mut self, mut f: InFrame, rest: &[u8]) -> (usize, Option<Received>) {
        let want = f.remaining as usize + self.control.len;
        let used = self.control.fill(rest, want);
        f.advance(used);
        self.frame = Some(f);
        if f.remaining > 0 {
            return (used, None);
        }
        self.frame = None;
        let mut control = core::mem::take(&mut self.control);
        let payload = &mut control.bytes[..control.len];
        if let Some(key) = f.mask {
            apply_mask(payload, key, 0);
        }
        let item = match f.opcode {
            OpCode::Ping => Received::Ping(Bytes::copy_from_slice(payload)),
            OpCode::Pong => Received::Pong(Bytes::copy_from_slice(payload)),
            _ => match parse_close_payload(payload) {
                Ok(frame) => Received::Close(frame),
                Err(BadClose::OneByte) => {
                    Received::Fail(Error::Protocol(ProtocolViolation::InvalidCloseFrame))
                }
                Err(BadClose::Code(c)) => {
                    Received::Fail(Error::Protocol(ProtocolViolation::InvalidCloseCode(c)))
                }
                Err(BadClose::Utf8) => Received::Fail(Error::InvalidUtf8),
            },
        };
        (used, Some(item))
    }

    /// Every payload but the common case of `frames`: control frames,
    /// compressed messages, chunk delivery.
    #[inline(never)]
    fn other_payload(&mut self, rest: &[u8], config: &Config) -> (usize, Option<Received>) {
        let Some(f) = self.frame else {
            return (0, None);
        };
        if f.opcode.is_control() {
            return self.control_payload(f, rest);
        }
        let Some(msg) = self.message else {
            return (0, None);
        };
        if msg.compressed {
            return self.inflate_payload(f, msg, rest, config);
        }
        let take = rest
            .len()
            .min(usize::try_from(f.remaining).unwrap_or(usize::MAX));
        match config.delivery {
            Delivery::Messages => self.assemble(&rest[..take], config),
            Delivery::Chunks => self.deliver_chunk(f, msg, &rest[..take]),
        }
    }

    /// Makes room for `extra` more bytes in the message buffer, which will
    /// hold at most `bound` bytes: geometric growth (amortised copies),
    /// never past the bound, never more than twice what arrived.
    fn reserve(&mut self, extra: usize, bound: usize) {
        let need = self.buf.len() + extra;
        if need <= self.buf.capacity() {
            return;
        }
        let target = self.buf.capacity().saturating_mul(2).min(bound).max(need);
        self.buf.reserve_exact(target - self.buf.len());
    }

    /// Copies `data`, the next payload bytes of the current frame, into the
    /// message being assembled (uncompressed, message delivery).
    #[inline(always)]
    fn assemble(&mut self, data: &[u8], config: &Config) -> (usize, Option<Received>) {
        let (Some(f), Some(msg)) = (&self.frame, &self.message) else {
            return (0, None);
        };
        let (fin, mask, offset, kind) = (f.fin, f.mask, f.offset, msg.kind);
        // The whole message's size is known once its last frame started.
        let bound = if fin {
            msg.size
        } else {
            config.limits.max_message_size
        };
        self.reserve(data.len(), usize::try_from(bound).unwrap_or(usize::MAX));
        if kind == MessageKind::Text {
            if self.text_payload(data, mask, offset).is_err() {
                return (data.len(), Some(Received::Fail(Error::InvalidUtf8)));
            }
        } else {
            copy_payload(&mut self.buf, data, mask, offset);
        }
        let Some(f) = &mut self.frame else {
            return (data.len(), None);
        };
        f.advance(data.len());
        if f.remaining > 0 {
            return (data.len(), None);
        }
        self.frame = None;
        if !fin {
            return (data.len(), None);
        }
        (data.len(), Some(self.assembled(kind)))
    }

    /// Text payload: copied, unmasked and validated a block at a time, each
    /// block checked while it is still in the first-level cache. ASCII is
    /// recognised in the copying pass itself.
    #[inline(never)]
    fn text_payload(
        &mut self,
        data: &[u8],
        mask: Option<[u8; 4]>,
        mut offset: u64,
    ) -> Result<(), crate::utf8::Utf8Error> {
        let key = mask.unwrap_or([0; 4]);
        for block in data.chunks(UTF8_BLOCK) {
            let start = self.buf.len();
            let ascii = extend_masked_ascii(&mut self.buf, block, key, (offset & 3) as usize);
            offset += block.len() as u64;
            if !(ascii && self.utf8.pending() == 0) {
                self.utf8.feed(&self.buf[start..])?;
            }
        }
        Ok(())
    }

    /// The last payload byte of a message was assembled: hand it over.
    #[inline(never)]
    fn assembled(&mut self, kind: MessageKind) -> Received {
        let mut payload = core::mem::take(&mut self.buf);
        if payload.capacity() - payload.len() > payload.len() / 8 + 64 {
            // A fragmented message grew past its size: keep what it holds.
            payload.shrink_to_fit();
        }
        self.message_done(kind, Bytes::from(payload))
    }

    /// A complete message: check the end of its text, hand it over.
    fn message_done(&mut self, kind: MessageKind, payload: Bytes) -> Received {
        self.message = None;
        match kind {
            MessageKind::Binary => Received::Message(Message::Binary(payload)),
            MessageKind::Text => {
                if self.utf8.finish().is_err() {
                    return Received::Fail(Error::InvalidUtf8);
                }
                Received::Message(Message::Text(Utf8Bytes::from_validated(payload)))
            }
        }
    }

    /// Chunk delivery: hand over what arrived, each text chunk ending on a
    /// code point boundary.
    fn deliver_chunk(
        &mut self,
        mut f: InFrame,
        msg: InMessage,
        data: &[u8],
    ) -> (usize, Option<Received>) {
        let text = msg.kind == MessageKind::Text;
        let carried = if text { self.carry.len } else { 0 };
        let mut out = Vec::with_capacity(carried + data.len());
        out.extend_from_slice(self.carry.as_slice());
        copy_payload(&mut out, data, f.mask, f.offset);
        if text && self.utf8.feed(&out[carried..]).is_err() {
            return (data.len(), Some(Received::Fail(Error::InvalidUtf8)));
        }
        f.advance(data.len());
        self.frame = Some(f);
        let frame_done = f.remaining == 0;
        if frame_done {
            self.frame = None;
        }
        let last = frame_done && f.fin;
        self.carry = Scratch::default();
        if text && !last {
            // Keep an unfinished code point for the next chunk.
            let pending = self.utf8.pending().min(out.len());
            let keep = out.len() - pending;
            self.carry.fill(&out[keep..], 4);
            out.truncate(keep);
        }
        if out.is_empty() && !last {
            return (data.len(), None);
        }
        (data.len(), Some(self.chunk(msg, out, last)))
    }

    /// Hands over a chunk; ends the message if `last`.
    fn chunk(&mut self, mut msg: InMessage, data: Vec<u8>, last: bool) -> Received {
        let first = msg.first;
        msg.first = false;
        if last {
            self.message = None;
            if msg.kind == MessageKind::Text && self.utf8.finish().is_err() {
                return Received::Fail(Error::InvalidUtf8);
            }
        } else {
            self.message = Some(msg);
        }
        Received::Chunk(Chunk {
            kind: msg.kind,
            data: Bytes::from(data),
            first,
            last,
        })
    }

    /// A compressed message (RFC 7692 §7.2.2): inflate what arrived in
    /// bounded steps; inflated bytes count against the message size limit
    /// and are UTF-8 checked as they come out.
    fn inflate_payload(
        &mut self,
        mut f: InFrame,
        mut msg: InMessage,
        rest: &[u8],
        config: &Config,
    ) -> (usize, Option<Received>) {
        let limit = config.limits.max_message_size;
        let text = msg.kind == MessageKind::Text;
        let available = rest
            .len()
            .min(usize::try_from(f.remaining).unwrap_or(usize::MAX));
        if available == 0 && f.remaining > 0 {
            return (0, None);
        }
        let left = usize::try_from(limit.saturating_sub(msg.size)).unwrap_or(usize::MAX);
        // Chunk delivery: one chunk of at most STEP inflated bytes, after
        // the bytes of a code point carried from the previous chunk.
        let mut chunk = match config.delivery {
            Delivery::Chunks => {
                let room = left.min(INFLATE_STEP);
                let mut out = Vec::with_capacity(self.carry.len + room.min(4096));
                out.extend_from_slice(self.carry.as_slice());
                self.carry = Scratch::default();
                // The chunk ends at the message limit: reaching it with more
                // to come is the limit exceeded.
                let limited = left <= INFLATE_STEP;
                Some((out, room, limited))
            }
            Delivery::Messages => None,
        };
        let mut used = 0;
        let mut scratch = [0u8; UNMASK_BLOCK];
        let done = loop {
            let block_len = (available - used).min(UNMASK_BLOCK);
            let block = &mut scratch[..block_len];
            block.copy_from_slice(&rest[used..used + block_len]);
            if let Some(key) = f.mask {
                apply_mask(block, key, ((f.offset + used as u64) & 3) as usize);
            }
            let last_input = used + block_len == available && f.remaining == available as u64;
            let finish = f.fin && last_input;
            let (target, room, probe) = match chunk.as_mut() {
                Some((out, room, limited)) => (out, Some(room), *limited),
                None => (&mut self.buf, None, true),
            };
            let before = target.len();
            // Message delivery: the buffer holds the whole message so far.
            let cap = match &room {
                Some(room) => before + **room,
                None => usize::try_from(limit).unwrap_or(usize::MAX),
            };
            let Ok(progress) = self.decoder.inflate(block, target, cap, finish, probe) else {
                return (
                    used + block_len,
                    Some(Received::Fail(Error::BadCompressedData)),
                );
            };
            let fresh = &target[before..];
            if text && self.utf8.feed(fresh).is_err() {
                return (
                    used + progress.consumed,
                    Some(Received::Fail(Error::InvalidUtf8)),
                );
            }
            msg.size += fresh.len() as u64;
            if let Some(room) = room {
                *room -= fresh.len();
            }
            if progress.overflow {
                return (
                    used + progress.consumed,
                    Some(Received::Fail(Error::LimitExceeded(Limit::MessageSize))),
                );
            }
            used += progress.consumed;
            let chunk_full = chunk.as_ref().is_some_and(|(_, room, _)| *room == 0);
            if progress.done || chunk_full || used == available {
                break progress.done;
            }
        };
        f.advance(used);
        self.frame = Some(f);
        if done || (f.remaining == 0 && !f.fin) {
            self.frame = None;
        }
        self.message = Some(msg);
        match chunk {
            None if done => {
                let payload = core::mem::take(&mut self.buf);
                (
                    used,
                    Some(self.message_done(msg.kind, Bytes::from(payload))),
                )
            }
            None => (used, None),
            Some((mut out, _, _)) => {
                if !done && text {
                    // Keep an unfinished code point for the next chunk.
                    let pending = self.utf8.pending().min(out.len());
                    let keep = out.len() - pending;
                    self.carry.fill(&out[keep..], 4);
                    out.truncate(keep);
                }
                if out.is_empty() && !done {
                    return (used, None);
                }
                (used, Some(self.chunk(msg, out, done)))
            }
        }
    }
}
