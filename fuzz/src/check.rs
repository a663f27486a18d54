//! Invariant checkers: the events a connection reports, and the bytes it
//! writes, each checked against an independent statement of the rules.

use wsmachine::utf8::Utf8Validator;
use wsmachine::{CloseCode, Connection, Delivery, Error, Event, Limits, MessageKind, Role, State};

/// Checks the order and content of a connection's events.
#[derive(Debug)]
pub struct Events {
    role: Role,
    limits: Limits,
    delivery: Delivery,
    /// `false` for a connection whose handshake was done elsewhere.
    expect_open: bool,
    pub requests: u32,
    pub opened: bool,
    pub errors: u32,
    error_pending: bool,
    pub closed: Option<wsmachine::Closed>,
    /// A chunked message in progress: its kind and bytes so far.
    chunk: Option<(MessageKind, u64)>,
}

impl Events {
    pub fn new(conn: &Connection, expect_open: bool) -> Events {
        Events {
            role: conn.role(),
            limits: conn.config().limits,
            delivery: conn.config().delivery,
            expect_open,
            requests: 0,
            opened: !expect_open,
            errors: 0,
            error_pending: false,
            closed: None,
            chunk: None,
        }
    }

    /// Checks one event, just polled from `conn`.
    pub fn on(&mut self, event: &Event, conn: &Connection) {
        assert!(self.closed.is_none(), "event after Closed: {event:?}");
        if self.error_pending {
            assert!(
                matches!(event, Event::Closed(_)),
                "Error not followed by Closed: {event:?}"
            );
        }
        let max = self.limits.max_message_size;
        match event {
            Event::Request(r) => {
                assert_eq!(self.role, Role::Server, "a client got a request");
                assert!(self.expect_open && self.requests == 0 && !self.opened);
                self.requests += 1;
                // The accessors never panic and agree with the validator.
                let _ = (r.path(), r.query(), r.host(), r.origin(), r.target());
                let _ = r.subprotocols().count();
                let _ = r.extensions();
                let revalidated = wsmachine::handshake::validate_request("GET", 1, r.headers());
                assert_eq!(revalidated.as_deref(), Ok(r.accept_key()));
            }
            Event::Open(o) => {
                assert!(self.expect_open && !self.opened, "a second Open");
                if self.role == Role::Server {
                    assert_eq!(self.requests, 1, "Open without a request");
                    assert!(o.response.is_none());
                } else {
                    assert_eq!(o.response.as_ref().map(|r| r.status()), Some(101));
                }
                assert_ne!(conn.state(), State::Connecting);
                self.opened = true;
            }
            Event::Message(m) => {
                assert!(self.opened, "a message before Open");
                assert_eq!(self.delivery, Delivery::Messages);
                assert!(m.len() as u64 <= max, "message over the limit");
                if let Some(t) = m.as_text() {
                    assert!(std::str::from_utf8(t.as_bytes()).is_ok());
                    assert_eq!(t.len(), m.len(), "text lost bytes");
                }
                if let wsmachine::Message::Text(t) = m {
                    assert!(std::str::from_utf8(t.as_bytes()).is_ok(), "text not UTF-8");
                }
            }
            Event::Chunk(c) => {
                assert!(self.opened, "a chunk before Open");
                assert_eq!(self.delivery, Delivery::Chunks);
                if c.kind == MessageKind::Text {
                    assert!(std::str::from_utf8(&c.data).is_ok(), "text chunk not UTF-8");
                }
                let so_far = match self.chunk {
                    None => {
                        assert!(c.first, "a message's first chunk without `first`");
                        0
                    }
                    Some((kind, n)) => {
                        assert!(!c.first, "`first` in the middle of a message");
                        assert_eq!(kind, c.kind, "chunk kind changed");
                        n
                    }
                };
                assert!(
                    !c.data.is_empty() || c.last,
                    "an empty chunk that ends nothing"
                );
                let total = so_far + c.data.len() as u64;
                assert!(total <= max, "chunks over the message limit");
                self.chunk = if c.last { None } else { Some((c.kind, total)) };
            }
            Event::Ping(p) | Event::Pong(p) => {
                assert!(self.opened, "a control frame before Open");
                assert!(p.len() <= 125);
            }
            Event::Error(e) => {
                assert_eq!(self.errors, 0, "a second Error: {e:?}");
                self.errors += 1;
                self.error_pending = true;
                if let Error::Handshake(_) = e {
                    assert!(!self.opened, "a handshake error after Open");
                }
                let _ = (e.code(), e.close_code(), e.to_string());
            }
            Event::Closed(c) => {
                assert_eq!(conn.state(), State::Closed, "Closed but state is not");
                if c.clean {
                    assert_ne!(c.code, CloseCode::ABNORMAL, "clean with 1006");
                }
                assert!(
                    c.code.is_sendable()
                        || c.code == CloseCode::NO_STATUS
                        || c.code == CloseCode::ABNORMAL,
                    "closed with code {}",
                    c.code
                );
                if let Some(sent) = &c.sent {
                    assert!(sent.code.is_sendable(), "sent code {}", sent.code);
                    assert!(sent.reason.len() <= 123);
                }
                assert!(c.reason.len() <= 123);
                self.closed = Some(c.clone());
            }
            other => panic!("unknown event {other:?}"),
        }
    }
}

/// Where the written byte stream is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The HTTP head (request or answer).
    Head,
    /// The body of a rejection: this many bytes left.
    Body(u64),
    /// Frames.
    Frames,
    /// Nothing more may be written.
    End,
}

/// A data message being written.
#[derive(Clone, Copy, Debug)]
struct OutMessage {
    text: bool,
    compressed: bool,
    utf8: Utf8Validator,
}

/// Checks the bytes a connection writes, read by a decoder of its own.
#[derive(Debug)]
pub struct Wire {
    /// The writer's role: clients mask.
    role: Role,
    phase: Phase,
    buf: Vec<u8>,
    /// permessage-deflate was agreed (RSV1 may be set).
    pub deflate: bool,
    msg: Option<OutMessage>,
    /// The HTTP status a server answered with.
    pub status: Option<u16>,
    /// The Close frame written: `Some(None)` without a code.
    pub close: Option<Option<(u16, String)>>,
    /// Total bytes checked.
    pub total: u64,
    /// Complete data messages written (payloads, as written).
    pub frames: u64,
}

impl Wire {
    /// A checker for what a connection of `role` writes; `head`: the stream
    /// starts with an HTTP head (not for upgraded connections).
    pub fn new(role: Role, head: bool, capacity: usize) -> Wire {
        Wire {
            role,
            phase: if head { Phase::Head } else { Phase::Frames },
            buf: Vec::with_capacity(capacity),
            deflate: false,
            msg: None,
            status: None,
            close: None,
            total: 0,
            frames: 0,
        }
    }

    /// Whether nothing more may be written.
    pub fn ended(&self) -> bool {
        self.phase == Phase::End
    }

    /// Checks more written bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        assert_ne!(
            self.phase,
            Phase::End,
            "bytes written after the end: {bytes:02x?}"
        );
        self.total += bytes.len() as u64;
        if self.buf.len() + bytes.len() > self.buf.capacity() {
            // Keep the harness's own allocations out of the heap count:
            // grow only when a frame is larger than planned.
            self.buf.reserve(bytes.len());
        }
        self.buf.extend_from_slice(bytes);
        while self.step() {}
    }

    /// Checks one complete unit (head, body, frame); `false` if more bytes
    /// are needed.
    fn step(&mut self) -> bool {
        match self.phase {
            Phase::End => {
                assert!(self.buf.is_empty(), "bytes after the end");
                false
            }
            Phase::Head => {
                let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    return false;
                };
                let head_len = end + 4;
                let head = self.buf[..head_len].to_vec();
                self.buf.drain(..head_len);
                self.head(&head);
                true
            }
            Phase::Body(left) => {
                if self.buf.is_empty() {
                    return false;
                }
                let n = (self.buf.len() as u64).min(left) as usize;
                self.buf.drain(..n);
                let left = left - n as u64;
                self.phase = if left == 0 {
                    Phase::End
                } else {
                    Phase::Body(left)
                };
                true
            }
            Phase::Frames => self.frame(),
        }
    }

    fn head(&mut self, head: &[u8]) {
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let find = |headers: &[httparse::Header<'_>], name: &str| {
            headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case(name))
                .count()
        };
        match self.role {
            Role::Client => {
                let mut req = httparse::Request::new(&mut headers);
                let status = req.parse(head).expect("the request head parses");
                assert!(status.is_complete());
                assert_eq!(req.method, Some("GET"));
                assert_eq!(req.version, Some(1));
                for name in [
                    "host",
                    "upgrade",
                    "connection",
                    "sec-websocket-key",
                    "sec-websocket-version",
                ] {
                    assert_eq!(find(req.headers, name), 1, "{name} in the request");
                }
                self.phase = Phase::Frames;
            }
            Role::Server => {
                let mut resp = httparse::Response::new(&mut headers);
                let status = resp.parse(head).expect("the answer head parses");
                assert!(status.is_complete());
                assert_eq!(resp.version, Some(1));
                let code = resp.code.expect("a status");
                self.status = Some(code);
                if code == 101 {
                    for name in ["upgrade", "connection", "sec-websocket-accept"] {
                        assert_eq!(find(resp.headers, name), 1, "{name} in the answer");
                    }
                    assert!(find(resp.headers, "sec-websocket-extensions") <= 1);
                    assert!(find(resp.headers, "sec-websocket-protocol") <= 1);
                    self.phase = Phase::Frames;
                } else {
                    assert!((200..=599).contains(&code), "status {code}");
                    let len = resp
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .map(|h| {
                            std::str::from_utf8(h.value)
                                .unwrap()
                                .parse::<u64>()
                                .unwrap()
                        })
                        .expect("a rejection has Content-Length");
                    assert_eq!(find(resp.headers, "content-length"), 1);
                    self.phase = if len == 0 {
                        Phase::End
                    } else {
                        Phase::Body(len)
                    };
                }
            }
        }
    }

    fn frame(&mut self) -> bool {
        let b = &self.buf;
        if b.len() < 2 {
            return false;
        }
        let (b0, b1) = (b[0], b[1]);
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 7;
        let opcode = b0 & 0x0F;
        let masked = b1 & 0x80 != 0;
        let (len, mut at) = match b1 & 0x7F {
            126 => {
                if b.len() < 4 {
                    return false;
                }
                let len = u64::from(u16::from_be_bytes([b[2], b[3]]));
                assert!(len >= 126, "non-minimal 16-bit length {len}");
                (len, 4)
            }
            127 => {
                if b.len() < 10 {
                    return false;
                }
                let len = u64::from_be_bytes(b[2..10].try_into().unwrap());
                assert!(len > 0xFFFF && len >> 63 == 0, "bad 64-bit length {len}");
                (len, 10)
            }
            n => (u64::from(n), 2),
        };
        assert_eq!(
            masked,
            self.role == Role::Client,
            "masking by a {:?}",
            self.role
        );
        let key = if masked {
            if b.len() < at + 4 {
                return false;
            }
            let k = [b[at], b[at + 1], b[at + 2], b[at + 3]];
            at += 4;
            Some(k)
        } else {
            None
        };
        let len = len as usize;
        if b.len() < at + len {
            return false;
        }
        let mut payload = b[at..at + len].to_vec();
        self.buf.drain(..at + len);
        if let Some(k) = key {
            for (i, x) in payload.iter_mut().enumerate() {
                *x ^= k[i % 4];
            }
        }
        // After its Close frame an endpoint still answers pings until the
        // peer's Close arrives (§5.5.2); nothing else.
        assert!(
            self.close.is_none() || opcode == 0xA,
            "a frame (opcode {opcode:#x}) after the Close frame"
        );
        assert_eq!(rsv & 3, 0, "RSV2/RSV3 set");
        match opcode {
            0x8 | 0x9 | 0xA => {
                assert!(fin, "a fragmented control frame");
                assert!(len <= 125, "a control frame of {len} bytes");
                assert_eq!(rsv, 0, "RSV on a control frame");
                if opcode == 0x8 {
                    self.close = Some(match payload.len() {
                        0 => None,
                        1 => panic!("a 1-byte Close payload"),
                        _ => {
                            let code = u16::from_be_bytes([payload[0], payload[1]]);
                            assert!(
                                CloseCode::new(code).is_sendable(),
                                "close code {code} on the wire"
                            );
                            let reason = std::str::from_utf8(&payload[2..])
                                .expect("a UTF-8 close reason")
                                .to_string();
                            Some((code, reason))
                        }
                    });
                }
            }
            0x1 | 0x2 => {
                assert!(self.msg.is_none(), "a new message inside a fragmented one");
                let compressed = rsv & 4 != 0;
                assert!(
                    !compressed || self.deflate,
                    "RSV1 without permessage-deflate"
                );
                let mut m = OutMessage {
                    text: opcode == 0x1,
                    compressed,
                    utf8: Utf8Validator::new(),
                };
                self.data(&mut m, &payload, fin);
                self.msg = if fin { None } else { Some(m) };
            }
            0x0 => {
                let mut m = self.msg.take().expect("a continuation without a message");
                assert_eq!(rsv, 0, "RSV1 on a continuation");
                self.data(&mut m, &payload, fin);
                self.msg = if fin { None } else { Some(m) };
            }
            other => panic!("reserved opcode {other:#x} written"),
        }
        true
    }

    fn data(&mut self, m: &mut OutMessage, payload: &[u8], fin: bool) {
        if m.text && !m.compressed {
            assert!(m.utf8.feed(payload).is_ok(), "invalid UTF-8 written");
            if fin {
                assert!(m.utf8.finish().is_ok(), "text ends inside a code point");
            }
        }
        if fin {
            self.frames += 1;
        }
    }
}
