//! One connection, driven by operations the fuzzer chooses, with every
//! invariant checked after every call.
//!
//! Input layout: two bytes `n`, then `n` bytes read with `arbitrary` (the
//! [`Setup`], the peer's [`Piece`]s and the [`Op`]s), then raw bytes that
//! the peer sends after its pieces. Seeds are `[0, 0]` followed by a byte
//! stream from the tests: the default setup (a server, a valid request in
//! front) and the closing drive (feed everything, answer, echo, EOF,
//! timers) exercise it.

use arbitrary::{Arbitrary, Unstructured};
use wsmachine::Bytes;
use wsmachine::deflate::DeflateConfig;
use wsmachine::{
    Accept, CONTROL_BUDGET, ChaCha20Rng, ClientRequest, CloseCode, Config, Connection, Delivery,
    Event, Instant, Keepalive, Limits, Message, MessageKind, Reject, Role, State,
};

use crate::alloc::live;
use crate::check::{Events, Wire};
use crate::peer::{self, Peer, Piece};

/// How the connection is set up.
#[derive(Arbitrary, Debug, Default)]
pub struct Setup {
    pub client: bool,
    /// The handshake was done elsewhere (`upgraded_*`).
    pub upgraded: bool,
    /// The harness does not write a valid handshake first: the peer's bytes
    /// are the whole stream.
    pub raw_handshake: bool,
    pub chunks: bool,
    /// 0: none; 1: default; 2: no context takeover both ways; 3: small
    /// windows.
    pub deflate: u8,
    pub no_auto_pong: bool,
    pub keepalive: bool,
    /// Tiny limits.
    pub small: bool,
    /// Offer / answer subprotocols.
    pub protocols: bool,
}

/// An action of the application or the driver.
#[derive(Arbitrary, Debug)]
pub enum Op {
    /// Feed up to this many of the peer's bytes with `feed`.
    Feed(u16),
    /// Read up to this many into `read_buf` and `commit_read`.
    Read(u16),
    /// Poll up to this many events (0: all), echoing messages if asked.
    Poll {
        max: u8,
        echo: bool,
    },
    /// Take output: one owned run, or `consume_output` of part of `output`.
    Take {
        owned: bool,
        part: u16,
    },
    Send {
        text: bool,
        len: u16,
        uncompressed: bool,
        noise: bool,
    },
    Fragment {
        text: bool,
        len: u16,
        last: bool,
    },
    Ping(u8),
    Pong(u8),
    Close {
        code: u16,
        reason: u8,
    },
    Fail {
        code: u16,
        reason: u8,
    },
    Abort,
    Accept {
        protocol: bool,
        compression: bool,
        header: bool,
    },
    Reject {
        status: u16,
        body: u8,
    },
    /// Advance the clock by this many times 10 ms.
    Tick(u16),
    Eof,
    TransportError,
    Shrink,
}

/// Text that cycles through 1- to 4-byte code points; fragments cut it at
/// any byte, so code points split across fragments.
const TEXT: &str = "aé€𝄞";

fn limits(small: bool) -> Limits {
    if small {
        Limits::new()
            .max_frame_size(512)
            .max_message_size(1024)
            .max_handshake_size(1024)
            .max_headers(16)
            .max_input_buffer(64)
            .max_output_buffer(2048)
    } else {
        Limits::new()
            .max_frame_size(48 << 10)
            .max_message_size(64 << 10)
            .max_handshake_size(4 << 10)
            .max_headers(32)
            .max_input_buffer(4 << 10)
            .max_output_buffer(64 << 10)
    }
}

fn deflate_config(choice: u8) -> Option<DeflateConfig> {
    match choice % 4 {
        0 => None,
        1 => Some(DeflateConfig::new().min_size(0)),
        2 => Some(
            DeflateConfig::new()
                .server_no_context_takeover(true)
                .client_no_context_takeover(true),
        ),
        _ => Some(
            DeflateConfig::new()
                .server_max_window_bits(9)
                .client_max_window_bits(10)
                .level(1),
        ),
    }
}

/// The extension answer a client receives for its configuration's offer
/// (the default memory preset asks for 12-bit windows both ways, which
/// the answer must grant).
fn deflate_answer(choice: u8) -> Option<&'static str> {
    match choice % 4 {
        0 => None,
        1 => Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        2 => Some(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12",
        ),
        _ => Some("permessage-deflate; server_max_window_bits=9; client_max_window_bits=10"),
    }
}

/// Compression state a connection may hold (both directions, with room to
/// spare: the `Large` preset needs 193 KiB).
const DEFLATE_STATE: usize = 440 << 10;
/// The harness's and the connection's small fixed allocations.
const SLACK: usize = 16 << 10;

/// The connection under test and everything that checks it.
pub struct Harness {
    pub conn: Connection,
    pub events: Events,
    pub wire: Wire,
    peer: Vec<u8>,
    at: usize,
    now: Instant,
    base: isize,
    bound: usize,
    out_cap: usize,
    hs_len: Option<u64>,
    pending_request: bool,
    fragment_at: usize,
    echo: bool,
    finished_once: bool,
}

impl Harness {
    /// Builds the connection and the peer's byte stream from `data`.
    pub fn from_input(data: &[u8], force_deflate: bool) -> Option<(Harness, Vec<Op>)> {
        if data.len() < 2 {
            return None;
        }
        let n = usize::from(u16::from_le_bytes([data[0], data[1]])).min(data.len() - 2);
        let (structured, tail) = data[2..].split_at(n);
        let mut u = Unstructured::new(structured);
        let mut setup: Setup = u.arbitrary().unwrap_or_default();
        let pieces: Vec<Piece> = u.arbitrary().unwrap_or_default();
        let ops: Vec<Op> = u.arbitrary().unwrap_or_default();
        if force_deflate && setup.deflate % 4 == 0 {
            setup.deflate = 1 + (setup.deflate / 4) % 3;
        }
        if std::env::var_os("WSM_FUZZ_DEBUG").is_some() {
            eprintln!("{setup:?}\n{pieces:#?}\n{ops:?}\ntail {tail:02x?}");
        }
        Some((Harness::new(&setup, &pieces, tail), ops))
    }

    pub fn new(setup: &Setup, pieces: &[Piece], tail: &[u8]) -> Harness {
        let limits = limits(setup.small);
        let deflate = deflate_config(setup.deflate);
        let mut config = Config::new()
            .limits(limits)
            .delivery(if setup.chunks {
                Delivery::Chunks
            } else {
                Delivery::Messages
            })
            .auto_pong(!setup.no_auto_pong)
            .deflate(deflate);
        if setup.keepalive {
            config = config.keepalive(Some(Keepalive::new(
                core::time::Duration::from_secs(1),
                core::time::Duration::from_secs(1),
            )));
        }
        let protocols = setup.protocols.then_some("chat, superchat");
        // The peer's bytes: a valid handshake unless asked not to, the
        // pieces, the raw tail.
        let mut stream = Vec::new();
        let agreed = deflate.is_some() && !setup.raw_handshake;
        let peer_resets = setup.deflate % 4 == 2;
        // The windows agreed: 12 bits (the default preset) or 9 and 10.
        let peer_bits = if setup.deflate % 4 == 3 { 9 } else { 12 };
        let mut writer = Peer::new(!setup.client, agreed, peer_resets).with_window_bits(peer_bits);
        let request = ClientRequest::new("ws://fuzz.example/chat")
            .expect("a valid URI")
            .subprotocol("chat");
        let offer = match deflate {
            Some(_) => Some(
                "permessage-deflate; client_max_window_bits; server_no_context_takeover, permessage-deflate",
            ),
            None => None,
        };
        // Everything the harness itself holds is allocated before `base`.
        let capacity = 2 * (limits.max_output_buffer + CONTROL_BUDGET) + (64 << 10);
        let mut wire = Wire::new(
            if setup.client {
                Role::Client
            } else {
                Role::Server
            },
            !setup.upgraded,
            capacity,
        );
        let base = live();
        let config = std::sync::Arc::new(config);
        let conn = match (setup.client, setup.upgraded) {
            (false, false) => {
                if !setup.raw_handshake {
                    stream.extend(peer::request(offer, protocols));
                }
                Connection::server(config.clone())
            }
            (true, false) => {
                let rng = ChaCha20Rng::from_seed([9; 32]);
                let c = Connection::client_with_rng(config.clone(), &request, rng)
                    .expect("a valid request");
                if !setup.raw_handshake {
                    let req: Vec<u8> = c.output_chunks().flatten().copied().collect();
                    let ext = deflate.and(deflate_answer(setup.deflate));
                    stream.extend(peer::answer(&req, ext, setup.protocols.then_some("chat")));
                }
                c
            }
            (false, true) => {
                let mut a = wsmachine::Agreement::new();
                if let (Some(_), Some(ext)) = (deflate, deflate_answer(setup.deflate)) {
                    a = a.extensions(ext);
                }
                Connection::upgraded_server(config.clone(), &a).expect("a valid agreement")
            }
            (true, true) => {
                let mut a = wsmachine::Agreement::new();
                if let (Some(_), Some(ext)) = (deflate, deflate_answer(setup.deflate)) {
                    a = a.extensions(ext);
                }
                let rng = ChaCha20Rng::from_seed([9; 32]);
                Connection::upgraded_client_with_rng(config.clone(), &a, rng)
                    .expect("a valid agreement")
            }
        };
        for p in pieces {
            writer.write(p, &mut stream);
        }
        stream.extend_from_slice(tail);
        if let Some(path) = std::env::var_os("WSM_FUZZ_DUMP") {
            std::fs::write(path, &stream).expect("dump written");
        }
        let out_cap = limits.max_output_buffer + CONTROL_BUDGET;
        let bound = limits.max_input_buffer.max(limits.max_handshake_size)
            + limits.max_message_size as usize
            + (64 << 10)
            + out_cap
            + 4 * limits.max_handshake_size
            + if deflate.is_some() { DEFLATE_STATE } else { 0 }
            + SLACK;
        let hs_len = match (setup.client, setup.upgraded) {
            (_, true) => Some(0),
            (true, false) => Some(conn.output_len() as u64),
            (false, false) => None,
        };
        let events = Events::new(&conn, !setup.upgraded);
        drop(config);
        // What the harness allocates later (the stream, the events it keeps)
        // is moved in front of the base.
        let base = base + (live() - base) - (conn.buffer_capacity() as isize);
        let _ = &mut wire;
        Harness {
            conn,
            events,
            wire,
            peer: stream,
            at: 0,
            now: Instant::ZERO,
            base,
            bound,
            out_cap,
            hs_len,
            pending_request: false,
            fragment_at: 0,
            echo: true,
            finished_once: false,
        }
    }

    fn rest(&self) -> &[u8] {
        &self.peer[self.at..]
    }

    /// Checks the invariants that hold between any two calls.
    pub fn check(&mut self) {
        let c = &self.conn;
        // Output: within the cap, plus the handshake bytes not yet written.
        if self.hs_len.is_none() && c.state() != State::Connecting {
            self.hs_len = Some(self.wire.total + c.output_len() as u64);
        }
        let hs_left = self
            .hs_len
            .unwrap_or(self.wire.total + c.output_len() as u64)
            .saturating_sub(self.wire.total) as usize;
        assert!(
            c.output_len() <= self.out_cap + hs_left,
            "output {} over the cap {} (+{hs_left})",
            c.output_len(),
            self.out_cap
        );
        let chunks: usize = c.output_chunks().map(<[u8]>::len).sum();
        assert_eq!(chunks, c.output_len());
        assert_eq!(c.wants_write(), c.output_len() > 0);
        // Memory: what the connection holds, and what it reports.
        let held = (live() - self.base).max(0) as usize;
        assert!(
            held <= self.bound,
            "holds {held} bytes, bound {}",
            self.bound
        );
        assert!(
            c.buffer_capacity() <= self.bound,
            "reports {} bytes, bound {}",
            c.buffer_capacity(),
            self.bound
        );
        // The end is final, and clean.
        if c.is_finished() {
            self.finished_once = true;
            assert_eq!(c.state(), State::Closed);
            assert_eq!(c.output_len(), 0, "finished with output left");
            assert!(!c.wants_read());
        } else {
            assert!(!self.finished_once, "finished, then not");
        }
        if c.wants_shutdown() {
            assert_eq!(c.role(), Role::Server);
            assert_eq!(c.state(), State::Closed);
            assert_eq!(c.output_len(), 0);
        }
        if c.state() != State::Closed {
            assert!(
                c.buffered_input()
                    <= c.config()
                        .limits
                        .max_input_buffer
                        .max(c.config().limits.max_handshake_size)
            );
        }
        if c.state() == State::Closed {
            assert_eq!(c.buffered_input(), 0, "input kept after Closed");
        }
    }

    /// Takes and checks all pending output.
    pub fn take_all(&mut self) {
        self.wire.deflate = self.conn.extensions().is_some();
        while let Some(b) = self.conn.poll_transmit() {
            self.wire.push(&b);
        }
        self.check();
    }

    fn feed(&mut self, max: usize) -> usize {
        let n = max.min(self.rest().len());
        if n == 0 {
            return 0;
        }
        let room = self.conn.input_room();
        let was_closed = self.conn.state() == State::Closed;
        let piece = &self.peer[self.at..self.at + n];
        let took = self.conn.feed(piece);
        assert!(took <= n, "feed took {took} of {n}");
        assert!(
            took >= n.min(room),
            "feed took {took} of {n}, room was {room}"
        );
        if was_closed {
            assert_eq!(took, n, "bytes refused after Closed");
        }
        self.at += took;
        took
    }

    fn read(&mut self, max: usize) -> usize {
        let closed = self.conn.state() == State::Closed;
        let room = self.conn.input_room();
        let buf = self.conn.read_buf();
        if !closed {
            assert_eq!(buf.len(), room, "read_buf and input_room disagree");
        }
        let n = buf.len().min(max).min(self.peer.len() - self.at);
        buf[..n].copy_from_slice(&self.peer[self.at..self.at + n]);
        self.conn.commit_read(n);
        self.at += n;
        n
    }

    /// Polls up to `max` events (0: all); returns how many.
    pub fn poll(&mut self, max: usize) -> usize {
        let mut n = 0;
        while max == 0 || n < max {
            let Some(event) = self.conn.poll_event() else {
                break;
            };
            n += 1;
            self.events.on(&event, &self.conn);
            match event {
                Event::Request(_) => self.pending_request = true,
                Event::Message(m) if self.echo => {
                    let _ = self.conn.send(m);
                }
                Event::Closed(_) => self.pending_request = false,
                _ => {}
            }
            self.check();
        }
        if max == 0 {
            assert!(self.conn.poll_event().is_none());
            // Nothing to poll: input is never stuck unless a request waits.
            let c = &self.conn;
            if c.state() != State::Closed && !self.pending_request {
                assert!(c.input_room() > 0, "no event, no room: input is stuck");
            }
        }
        n
    }

    fn payload(&mut self, text: bool, len: usize) -> Vec<u8> {
        if text {
            let mut s = String::new();
            while s.len() < len {
                s.push_str(TEXT);
            }
            let mut end = len;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
            s.into_bytes()
        } else {
            (0..len).map(|i| (i * 7) as u8).collect()
        }
    }

    /// Applies one operation.
    pub fn apply(&mut self, op: &Op) {
        let open = matches!(self.conn.state(), State::Open);
        match *op {
            Op::Feed(n) => {
                self.feed(usize::from(n) + 1);
            }
            Op::Read(n) => {
                self.read(usize::from(n) + 1);
            }
            Op::Poll { max, echo } => {
                self.echo = echo;
                self.poll(usize::from(max));
                self.echo = true;
            }
            Op::Take { owned, part } => {
                self.wire.deflate = self.conn.extensions().is_some();
                if owned {
                    if let Some(b) = self.conn.poll_transmit() {
                        self.wire.push(&b);
                    }
                } else {
                    let first = self.conn.output();
                    let n = usize::from(part) % (first.len() + 1);
                    let bytes = first[..n].to_vec();
                    self.conn.consume_output(n);
                    self.wire.push(&bytes);
                }
            }
            Op::Send {
                text,
                len,
                uncompressed,
                noise,
            } => {
                let len = usize::from(len) % 70_000;
                let p = if noise && !text {
                    // Incompressible: deflate makes it larger.
                    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ len as u64;
                    (0..len)
                        .map(|_| {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            x as u8
                        })
                        .collect()
                } else {
                    self.payload(text, len)
                };
                let m = if text {
                    Message::Text(String::from_utf8(p).expect("text").into())
                } else {
                    Message::Binary(Bytes::from(p))
                };
                let r = if uncompressed {
                    self.conn.send_uncompressed(m)
                } else {
                    self.conn.send(m)
                };
                if r.is_ok() {
                    assert!(open, "a send accepted while not open");
                }
            }
            Op::Fragment { text, len, last } => {
                let len = usize::from(len) % 20_000;
                let mut s = String::new();
                while s.len() < self.fragment_at % 10 + len + 4 {
                    s.push_str(TEXT);
                }
                let start = self.fragment_at % 10;
                let part = if text {
                    s.as_bytes()[start..start + len].to_vec()
                } else {
                    self.payload(false, len)
                };
                let kind = if text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                if self.conn.send_fragment(kind, part, last).is_ok() {
                    assert!(open);
                    self.fragment_at = if last { 0 } else { start + len };
                }
            }
            Op::Ping(n) => {
                let p = vec![0x70; usize::from(n) % 130];
                let r = self.conn.ping(&p);
                if p.len() > 125 {
                    assert!(r.is_err());
                }
            }
            Op::Pong(n) => {
                let p = vec![0x71; usize::from(n) % 130];
                let _ = self.conn.pong(&p);
            }
            Op::Close { code, reason } => {
                let reason = "r".repeat(usize::from(reason) % 130);
                let r = self.conn.close(CloseCode::new(code), &reason);
                if !CloseCode::new(code).is_sendable() || reason.len() > 123 {
                    assert!(r.is_err(), "close with {code} accepted");
                }
            }
            Op::Fail { code, reason } => {
                let reason = "f".repeat(usize::from(reason) % 130);
                let r = self.conn.fail(CloseCode::new(code), &reason);
                if !CloseCode::new(code).is_sendable() || reason.len() > 123 {
                    assert!(r.is_err(), "fail with {code} accepted");
                }
            }
            Op::Abort => {
                self.conn.abort();
                assert_eq!(self.conn.output_len(), 0);
            }
            Op::Accept {
                protocol,
                compression,
                header,
            } => {
                let mut a = Accept::new();
                if protocol {
                    a = a.subprotocol("chat");
                }
                if !compression {
                    a = a.without_compression();
                }
                if header {
                    a = a.header("Set-Cookie", "id=1");
                }
                if self.conn.accept(a).is_ok() {
                    self.pending_request = false;
                }
            }
            Op::Reject { status, body } => {
                let r = Reject::new(status).body(vec![b'x'; usize::from(body)]);
                if self.conn.reject(r).is_ok() {
                    self.pending_request = false;
                }
            }
            Op::Tick(n) => {
                self.now = self.now + core::time::Duration::from_millis(u64::from(n) * 10);
                self.conn.handle_timeout(self.now);
            }
            Op::Eof => self.conn.feed_eof(),
            Op::TransportError => {
                self.conn.transport_error();
                assert_eq!(self.conn.output_len(), 0);
            }
            Op::Shrink => self.conn.shrink_buffers(),
        }
        self.check();
    }

    /// The end: every remaining byte fed (answering requests, echoing),
    /// EOF, the timers; then the connection must be finished, with exactly
    /// one `Closed`.
    pub fn finish(&mut self) {
        let sizes = [1usize, 7, 300, 4096, 2];
        let mut i = 0;
        while !self.rest().is_empty() {
            let size = sizes[i % sizes.len()];
            let took = if i % 3 == 2 {
                self.read(size)
            } else {
                self.feed(size)
            };
            i += 1;
            let mut polled = self.poll(0);
            if self.pending_request {
                let accepted = self.conn.accept(Accept::new()).is_ok();
                assert!(accepted);
                self.pending_request = false;
                self.check();
                polled += 1;
            }
            self.take_all();
            assert!(
                took > 0 || polled > 0,
                "no progress: state {:?}, room {}, buffered {}, pending request {}",
                self.conn.state(),
                self.conn.input_room(),
                self.conn.buffered_input(),
                self.pending_request
            );
            if self.conn.is_finished() {
                break;
            }
        }
        self.poll(0);
        if self.pending_request {
            let _ = self.conn.accept(Accept::new());
            self.pending_request = false;
        }
        self.poll(0);
        self.take_all();
        self.conn.feed_eof();
        self.check();
        for _ in 0..4 {
            self.poll(0);
            self.take_all();
            self.now = self.now + core::time::Duration::from_secs(3600);
            self.conn.handle_timeout(self.now);
            self.check();
        }
        self.poll(0);
        self.take_all();
        assert!(
            self.conn.is_finished(),
            "not finished after EOF and the timers"
        );
        assert!(self.events.closed.is_some(), "finished without Closed");
        assert!(self.conn.poll_event().is_none());
        assert!(self.conn.send("late").is_err());
    }
}

/// Runs a whole input: the operations, then the end.
pub fn run(data: &[u8], force_deflate: bool) {
    let Some((mut h, ops)) = Harness::from_input(data, force_deflate) else {
        return;
    };
    h.check();
    for op in ops.iter().take(256) {
        h.apply(op);
    }
    h.finish();
}
