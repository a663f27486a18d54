//! Tools for testing and fuzzing a protocol built on wsmachine (feature
//! `testing`): a deterministic in-memory client↔server [`Pair`] with a
//! virtual clock and a link that can split, delay and cut the byte stream,
//! and a [`FrameBuilder`] that writes any frame, invalid ones included.
//!
//! Nothing here reads a clock, a socket or the operating system's entropy:
//! the same calls give the same bytes, events and timings on every run, so
//! a fuzzer's finding replays exactly.
//!
//! ```
//! use wsmachine::testing::{FrameBuilder, Pair, Side};
//! use wsmachine::{Config, Event};
//!
//! let mut pair = Pair::new(Config::default(), Config::default());
//! pair.client().send("hello").unwrap();
//! pair.run();
//! let events = pair.take_events(Side::Server);
//! assert!(matches!(&events[..], [Event::Message(m)] if m.as_text() == Some("hello")));
//!
//! // A peer breaking the rules on purpose: an unmasked frame to a server.
//! pair.inject(Side::Server, &FrameBuilder::text("x").build());
//! pair.run();
//! let events = pair.take_events(Side::Server);
//! assert!(matches!(events.last(), Some(Event::Closed(c)) if c.sent.as_ref().unwrap().code.as_u16() == 1002));
//! ```

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::Connection;
use crate::event::Event;
use crate::handshake::{Accept, ClientRequest};
use crate::rng::ChaCha20Rng;
use crate::time::Instant;

/// One end of a [`Pair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client connection.
    Client,
    /// The server connection.
    Server,
}

impl Side {
    /// The other end.
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// The bytes travelling from one side to the other, in order.
#[derive(Debug, Default)]
struct Link {
    bytes: VecDeque<u8>,
    /// The writer half-closed: EOF reaches the reader once the bytes have.
    shut: bool,
    /// The link was cut: nothing more gets through, the reader sees EOF.
    cut: bool,
    /// EOF was handed to the reader.
    eof_given: bool,
}

/// A client and a server connected in memory, with a virtual clock.
///
/// Bytes a connection writes go into a link towards the other side and are
/// handed over by [`deliver`](Self::deliver) (a few at a time, to split
/// frames anywhere) or [`run`](Self::run) (everything, until both sides are
/// quiet). Nothing is reordered; [`cut`](Self::cut) drops the rest of one
/// direction and the reader sees EOF, as after a crash or a lost route.
/// Time moves only with [`advance`](Self::advance).
///
/// Events are collected per side while bytes move (the pair polls the
/// connections so that input is never stuck behind an unread event); read
/// them with [`take_events`](Self::take_events). A server's
/// [`Event::Request`] is collected like any other: answer it with
/// `pair.server().accept(..)` or `reject(..)`. [`Pair::new`] does the
/// opening handshake itself.
#[derive(Debug)]
pub struct Pair {
    client: Connection,
    server: Connection,
    now: Instant,
    to_server: Link,
    to_client: Link,
    client_events: VecDeque<Event>,
    server_events: VecDeque<Event>,
}

impl Pair {
    /// A pair whose opening handshake is done (the server accepts with
    /// [`Accept::new`]); the `Open` events are consumed.
    ///
    /// # Panics
    ///
    /// If the handshake fails (e.g. limits too small for it).
    pub fn new(client: Config, server: Config) -> Pair {
        let mut pair = Pair::connecting(client, server, &Self::default_request());
        pair.run();
        match pair.server_events.pop_front() {
            Some(Event::Request(_)) => {}
            other => panic!("expected the upgrade request, got {other:?}"),
        }
        pair.server
            .accept(Accept::new())
            .expect("a pending request");
        pair.run();
        for side in [Side::Server, Side::Client] {
            match pair.queue(side).pop_front() {
                Some(Event::Open(_)) => {}
                other => panic!("expected {side:?} to open, got {other:?}"),
            }
        }
        pair
    }

    /// A pair before the opening handshake: the client's request (for
    /// `request`) waits in its link. Run it and answer the server's
    /// [`Event::Request`] yourself.
    ///
    /// # Panics
    ///
    /// If `request` cannot be encoded (an invalid header, say).
    pub fn connecting(client: Config, server: Config, request: &ClientRequest) -> Pair {
        let rng = ChaCha20Rng::from_seed([0x5e; 32]);
        let client = Connection::client_with_rng(client, request, rng).expect("a valid request");
        Pair {
            client,
            server: Connection::server(server),
            now: Instant::ZERO,
            to_server: Link::default(),
            to_client: Link::default(),
            client_events: VecDeque::new(),
            server_events: VecDeque::new(),
        }
    }

    fn default_request() -> ClientRequest {
        ClientRequest::new("ws://localhost/").expect("a valid URI")
    }

    /// The client connection.
    pub fn client(&mut self) -> &mut Connection {
        &mut self.client
    }

    /// The server connection.
    pub fn server(&mut self) -> &mut Connection {
        &mut self.server
    }

    /// One side's connection.
    pub fn side(&mut self, side: Side) -> &mut Connection {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    fn queue(&mut self, side: Side) -> &mut VecDeque<Event> {
        match side {
            Side::Client => &mut self.client_events,
            Side::Server => &mut self.server_events,
        }
    }

    /// The events collected for `side` so far, oldest first.
    pub fn take_events(&mut self, side: Side) -> Vec<Event> {
        self.queue(side).drain(..).collect()
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves the virtual clock forward by `by` and lets both connections
    /// fire their timers.
    pub fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        let now = self.now;
        self.client.handle_timeout(now);
        self.server.handle_timeout(now);
        self.collect(Side::Client);
        self.collect(Side::Server);
    }

    /// Moves the clock to the earliest deadline of either side (if one is
    /// later than now) and fires it; `false` if no timer runs.
    pub fn advance_to_next_timer(&mut self) -> bool {
        let next = [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) => {
                self.advance(t.saturating_duration_since(self.now));
                true
            }
            None => false,
        }
    }

    /// Polls `side`'s events into its queue and its output into the link
    /// towards the other side.
    fn collect(&mut self, side: Side) {
        let (conn, events, link) = match side {
            Side::Client => (
                &mut self.client,
                &mut self.client_events,
                &mut self.to_server,
            ),
            Side::Server => (
                &mut self.server,
                &mut self.server_events,
                &mut self.to_client,
            ),
        };
        while let Some(event) = conn.poll_event() {
            events.push_back(event);
        }
        while let Some(bytes) = conn.poll_transmit() {
            if !link.cut {
                link.bytes.extend(bytes.iter());
            }
        }
        // A half-close, or the driver closing a finished connection's
        // transport: the other side reads EOF once the bytes are through.
        if conn.wants_shutdown() || conn.is_finished() {
            link.shut = true;
        }
    }

    /// Hands up to `max` bytes waiting in the link from `from` to the other
    /// side (EOF once the link is drained after a shutdown or a cut);
    /// returns how many were taken. Bytes the receiver does not take yet
    /// (its input buffer is full) stay in the link.
    pub fn deliver(&mut self, from: Side, max: usize) -> usize {
        self.collect(from);
        let to = from.peer();
        let (link, conn) = match from {
            Side::Client => (&mut self.to_server, &mut self.server),
            Side::Server => (&mut self.to_client, &mut self.client),
        };
        let mut moved = 0;
        while moved < max && !link.bytes.is_empty() {
            let (front, _) = link.bytes.as_slices();
            let take = front.len().min(max - moved);
            let n = conn.feed(&front[..take]);
            link.bytes.drain(..n);
            moved += n;
            if n < take {
                break;
            }
        }
        if link.bytes.is_empty() && (link.shut || link.cut) && !link.eof_given {
            link.eof_given = true;
            conn.feed_eof();
        }
        self.collect(to);
        moved
    }

    /// How many bytes wait in the link from `from`.
    pub fn in_flight(&self, from: Side) -> usize {
        match from {
            Side::Client => self.to_server.bytes.len(),
            Side::Server => self.to_client.bytes.len(),
        }
    }

    /// Adds raw bytes to the link towards `to`, as if its peer had written
    /// them (frames from a [`FrameBuilder`], a broken handshake, garbage).
    pub fn inject(&mut self, to: Side, bytes: &[u8]) {
        let link = match to {
            Side::Server => &mut self.to_server,
            Side::Client => &mut self.to_client,
        };
        if !link.cut {
            link.bytes.extend(bytes.iter());
        }
    }

    /// Cuts the direction from `from`: what was not delivered is lost, so is
    /// everything written later, and the other side sees EOF.
    pub fn cut(&mut self, from: Side) {
        let link = match from {
            Side::Client => &mut self.to_server,
            Side::Server => &mut self.to_client,
        };
        link.bytes.clear();
        link.cut = true;
        self.deliver(from, 0);
    }

    /// Moves bytes both ways, collecting events, until neither side has
    /// anything left to deliver.
    pub fn run(&mut self) {
        loop {
            let a = self.deliver(Side::Client, usize::MAX);
            let b = self.deliver(Side::Server, usize::MAX);
            if a == 0 && b == 0 {
                return;
            }
        }
    }

    /// Runs the pair and the clock until both connections are finished or
    /// no timer is left; returns whether both finished.
    pub fn run_to_end(&mut self) -> bool {
        for _ in 0..64 {
            self.run();
            if self.client.is_finished() && self.server.is_finished() {
                return true;
            }
            if !self.advance_to_next_timer() {
                self.run();
                break;
            }
        }
        self.client.is_finished() && self.server.is_finished()
    }
}

/// Writes one frame, any frame: the fields are taken as given, so reserved
/// opcodes and bits, wrong masking, a length that lies, a non-minimal length
/// encoding or a 1-byte Close payload are all possible.
///
/// ```
/// use wsmachine::testing::FrameBuilder;
/// // A masked text frame, as a client sends it.
/// let f = FrameBuilder::text("hi").mask([1, 2, 3, 4]).build();
/// assert_eq!(f, [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]);
/// // A ping that claims 126 bytes (control frames have at most 125).
/// let bad = FrameBuilder::ping(b"").declared_len(126).length_bits(16).build();
/// assert_eq!(bad, [0x89, 126, 0, 126]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameBuilder {
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
    declared_len: Option<u64>,
    length_bits: Option<u8>,
}

impl FrameBuilder {
    /// A final frame with this opcode (any value 0–15) and payload.
    pub fn new(opcode: u8, payload: impl AsRef<[u8]>) -> FrameBuilder {
        FrameBuilder {
            fin: true,
            rsv: 0,
            opcode: opcode & 0x0F,
            mask: None,
            payload: payload.as_ref().to_vec(),
            declared_len: None,
            length_bits: None,
        }
    }

    /// A text frame (the payload need not be UTF-8: pass bytes to
    /// [`new`](Self::new) with opcode 1).
    pub fn text(text: &str) -> FrameBuilder {
        FrameBuilder::new(0x1, text)
    }

    /// A binary frame.
    pub fn binary(payload: impl AsRef<[u8]>) -> FrameBuilder {
        FrameBuilder::new(0x2, payload)
    }

    /// A continuation frame.
    pub fn continuation(payload: impl AsRef<[u8]>) -> FrameBuilder {
        FrameBuilder::new(0x0, payload)
    }

    /// A ping.
    pub fn ping(payload: impl AsRef<[u8]>) -> FrameBuilder {
        FrameBuilder::new(0x9, payload)
    }

    /// A pong.
    pub fn pong(payload: impl AsRef<[u8]>) -> FrameBuilder {
        FrameBuilder::new(0xA, payload)
    }

    /// A Close frame with a status code (sendable or not) and reason bytes
    /// (UTF-8 or not).
    pub fn close(code: CloseCode, reason: impl AsRef<[u8]>) -> FrameBuilder {
        let mut payload = Vec::from(code.as_u16().to_be_bytes());
        payload.extend_from_slice(reason.as_ref());
        FrameBuilder::new(0x8, payload)
    }

    /// A Close frame with exactly this payload (empty, one byte, …).
    pub fn close_raw(payload: impl AsRef<[u8]>) -> FrameBuilder {
        FrameBuilder::new(0x8, payload)
    }

    /// Sets FIN.
    #[must_use]
    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// Sets the three reserved bits (RSV1 = 4, RSV2 = 2, RSV3 = 1).
    #[must_use]
    pub fn rsv(mut self, bits: u8) -> Self {
        self.rsv = bits & 7;
        self
    }

    /// Masks the payload with `key` (what a client must do).
    #[must_use]
    pub fn mask(mut self, key: [u8; 4]) -> Self {
        self.mask = Some(key);
        self
    }

    /// Writes this length in the header instead of the payload's.
    #[must_use]
    pub fn declared_len(mut self, len: u64) -> Self {
        self.declared_len = Some(len);
        self
    }

    /// Encodes the length in 7, 16 or 64 bits, minimal or not (a 7-bit
    /// form is only possible for lengths up to 125; other values mean
    /// minimal).
    #[must_use]
    pub fn length_bits(mut self, bits: u8) -> Self {
        self.length_bits = Some(bits);
        self
    }

    /// The frame's bytes.
    pub fn build(&self) -> Vec<u8> {
        let len = self.declared_len.unwrap_or(self.payload.len() as u64);
        let mut out = Vec::with_capacity(14 + self.payload.len());
        out.push((u8::from(self.fin) << 7) | (self.rsv << 4) | self.opcode);
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let bits = match self.length_bits {
            Some(7) if len <= 125 => 7,
            Some(16) if len <= 0xFFFF => 16,
            Some(64) => 64,
            _ if len <= 125 => 7,
            _ if len <= 0xFFFF => 16,
            _ => 64,
        };
        match bits {
            7 => out.push(mask_bit | len as u8),
            16 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        let start = match self.mask {
            Some(key) => {
                out.extend_from_slice(&key);
                out.len()
            }
            None => out.len(),
        };
        out.extend_from_slice(&self.payload);
        if let Some(key) = self.mask {
            crate::mask::apply_mask(&mut out[start..], key, 0);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;

    #[test]
    fn frames_as_given() {
        assert_eq!(FrameBuilder::binary([1, 2]).build(), [0x82, 2, 1, 2]);
        assert_eq!(
            FrameBuilder::new(0x3, []).fin(false).rsv(7).build(),
            [0x73, 0]
        );
        assert_eq!(
            FrameBuilder::close_raw([3]).build(),
            [0x88, 1, 3],
            "a 1-byte Close payload"
        );
        let long = FrameBuilder::binary([0; 3]).length_bits(64).build();
        assert_eq!(&long[..10], &[0x82, 127, 0, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(
            FrameBuilder::binary([]).declared_len(1 << 63).build()[1],
            127
        );
    }

    #[test]
    fn pair_is_deterministic_and_closes() {
        let run = || {
            let mut p = Pair::new(Config::default(), Config::default());
            p.client().send("a").unwrap();
            p.server().send(alloc::vec![1u8; 10]).unwrap();
            p.run();
            p.client().close(CloseCode::NORMAL, "bye").unwrap();
            let finished = p.run_to_end();
            let mut wire = Vec::new();
            for side in [Side::Client, Side::Server] {
                for e in p.take_events(side) {
                    wire.push(alloc::format!("{side:?} {e:?}"));
                }
            }
            (finished, wire)
        };
        let (finished, a) = run();
        assert!(finished);
        assert_eq!(a, run().1);
        assert!(a.iter().any(|e| e.starts_with("Server Closed")));
    }

    #[test]
    fn cut_and_split() {
        let mut p = Pair::new(Config::default(), Config::default());
        p.client().send("hello").unwrap();
        assert_eq!(p.deliver(Side::Client, 3), 3);
        assert!(p.take_events(Side::Server).is_empty());
        p.cut(Side::Client);
        let events = p.take_events(Side::Server);
        assert!(
            matches!(events.last(), Some(Event::Closed(c)) if c.code == CloseCode::ABNORMAL),
            "{events:?}"
        );
        p.advance(Duration::from_secs(60));
        assert!(p.run_to_end());
    }
}
