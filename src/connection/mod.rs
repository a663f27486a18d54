//! The connection state machine.
//!
//! ```text
//!              server                         client
//!        AwaitRequest ──Request──▶ AwaitDecision   AwaitResponse
//!               │ accept()               │               │ 101 ok
//!               ▼                        ▼               ▼
//!             ┌──────────────────── Open ◀──────────────┘
//!  close() ───┤                       │ peer Close received: echo it
//!             ▼                       ▼
//!         CloseSent ──peer Close──▶ [server] Closed
//!                                   [client] AwaitEof ──EOF / close timeout──▶ Closed
//!
//!  any phase: peer violation, EOF, timeout ──▶ Closed
//! ```
//!
//! `docs/design.md` describes each transition; [`Phase`] is this diagram.

mod buffers;
pub(crate) mod extensions;
mod recv;
mod send;
mod timers;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;

use bytes::Bytes;

use self::buffers::{OutQueue, RecvBuf};
use self::extensions::Agreed;
use self::recv::Receiver;
use self::send::{Framing, Sender};
use self::timers::{Deadline, Timers, Which};
use crate::close::{CloseCode, CloseFrame};
use crate::config::Config;
use crate::error::{Error, HandshakeError, Timer, UsageError};
use crate::event::{Closed, Event, Open};
use crate::handshake::{
    self, Accept, ClientHandshake, ClientRequest, Reject, Request, RequestScanner,
};
use crate::rng::RandomSource;
use crate::time::Instant;

/// Which end of the connection this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends the upgrade request; masks every frame it sends.
    Client,
    /// Answers the upgrade request; requires masked frames from the client.
    Server,
}

/// The connection's state, as RFC 6455 names it (§4, §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// The opening handshake is in progress.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// A Close frame was sent or received; the closing handshake is in
    /// progress. No data can be sent.
    Closing,
    /// The connection is over.
    Closed,
}

/// Where the connection is, in detail (the diagram in the module docs).
#[derive(Debug)]
enum Phase {
    AwaitRequest(RequestScanner),
    AwaitDecision(Box<Request>),
    AwaitResponse(Box<ClientHandshake>),
    Open,
    CloseSent,
    AwaitEof,
    Closed,
}

/// What the closing handshake has exchanged so far.
#[derive(Debug, Default)]
struct CloseState {
    /// The Close frame we sent (`Some(None)`: one without a code).
    sent: Option<Option<CloseFrame>>,
    /// The Close frame we received.
    received: Option<Option<CloseFrame>>,
    /// We sent our Close frame before receiving one.
    initiated_locally: bool,
}

/// A WebSocket connection, client or server, as a state machine.
///
/// It never performs I/O and never reads a clock. The driver moves bytes and
/// time in and out; the application reads events and sends messages.
///
/// # Driving a connection
///
/// Methods fall in four groups:
///
/// - **inputs** — [`feed`](Self::feed) (or [`read_buf`](Self::read_buf) +
///   [`commit_read`](Self::commit_read) to read straight into the
///   connection's buffer), [`feed_eof`](Self::feed_eof),
///   [`handle_timeout`](Self::handle_timeout);
/// - **outputs** — [`poll_event`](Self::poll_event), [`output`](Self::output)
///   / [`output_chunks`](Self::output_chunks) +
///   [`consume_output`](Self::consume_output),
///   [`poll_timeout`](Self::poll_timeout);
/// - **actions** — [`send`](Self::send), [`send_fragment`](Self::send_fragment),
///   [`ping`](Self::ping), [`pong`](Self::pong), [`close`](Self::close),
///   and for a server [`accept`](Self::accept) / [`reject`](Self::reject);
/// - **getters** — [`state`](Self::state), [`is_finished`](Self::is_finished),
///   [`wants_read`](Self::wants_read), [`wants_write`](Self::wants_write), …
///
/// After any input or action, poll in this order:
///
/// 1. [`poll_event`](Self::poll_event) until it returns `None` (this is where
///    received bytes are parsed, pings answered and closes echoed);
/// 2. write [`output`](Self::output) to the transport and report what was
///    written with [`consume_output`](Self::consume_output), until
///    [`wants_write`](Self::wants_write) is false or the transport would
///    block;
/// 3. if [`is_finished`](Self::is_finished) and nothing is left to write,
///    close the transport and stop;
/// 4. wait for input, but no later than [`poll_timeout`](Self::poll_timeout);
///    when that deadline passes, call [`handle_timeout`](Self::handle_timeout)
///    and go to 1.
///
/// # Example
///
/// A client and a server wired together in memory:
///
/// ```
/// use wsmachine::{Accept, ChaCha20Rng, ClientRequest, CloseCode, Config, Connection, Event};
///
/// // Move every pending output byte of one side into the other.
/// fn pump(from: &mut Connection, to: &mut Connection) {
///     while from.wants_write() {
///         let bytes = from.output();
///         to.feed(bytes);
///         let n = bytes.len();
///         from.consume_output(n);
///     }
/// }
///
/// let request = ClientRequest::new("ws://example.com/chat")?;
/// let rng = ChaCha20Rng::from_seed([7; 32]); // use Connection::client for OS entropy
/// let mut client = Connection::client_with_rng(Config::default(), &request, rng)?;
/// let mut server = Connection::server(Config::default());
///
/// pump(&mut client, &mut server);
/// let Some(Event::Request(req)) = server.poll_event() else { unreachable!() };
/// assert_eq!(req.path(), "/chat");
/// server.accept(Accept::new()).unwrap();
/// assert!(matches!(server.poll_event(), Some(Event::Open(_))));
///
/// pump(&mut server, &mut client);
/// assert!(matches!(client.poll_event(), Some(Event::Open(_))));
///
/// client.send("hello").unwrap();
/// pump(&mut client, &mut server);
/// match server.poll_event() {
///     Some(Event::Message(m)) => assert_eq!(m.as_text(), Some("hello")),
///     other => panic!("{other:?}"),
/// }
///
/// client.close(CloseCode::NORMAL, "done").unwrap();
/// pump(&mut client, &mut server);
/// // The server echoes the close and is finished; it closes TCP first.
/// assert!(matches!(server.poll_event(), Some(Event::Closed(c)) if c.clean));
/// assert!(server.is_finished());
/// pump(&mut server, &mut client);
/// client.feed_eof();
/// assert!(matches!(client.poll_event(), Some(Event::Closed(c)) if c.clean));
/// # Ok::<(), wsmachine::HandshakeError>(())
/// ```
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    phase: Phase,
    rx: RecvBuf,
    eof: bool,
    out: OutQueue,
    events: VecDeque<Event>,
    recv: Receiver,
    send: Sender,
    timers: Timers,
    close: CloseState,
    /// The latest ping not yet answered because the output buffer was full.
    pending_pong: Option<Bytes>,
    /// Bytes arrived since the keepalive timer last looked.
    activity: bool,
    subprotocol: Option<String>,
    extensions: Option<String>,
}

/// A random source that can be stored in a connection.
pub(crate) type BoxedRng = Box<dyn RandomSource>;

impl core::fmt::Debug for dyn RandomSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RandomSource")
    }
}

impl Connection {
    fn new(role: Role, config: Config, phase: Phase, rng: Option<BoxedRng>) -> Connection {
        let mut timers = Timers::default();
        timers.set(Which::Handshake, Deadline::start(config.handshake_timeout));
        Connection {
            role,
            phase,
            rx: RecvBuf::default(),
            eof: false,
            out: OutQueue::default(),
            events: VecDeque::new(),
            recv: Receiver::default(),
            send: Sender::new(rng),
            timers,
            close: CloseState::default(),
            pending_pong: None,
            activity: false,
            subprotocol: None,
            extensions: None,
            config,
        }
    }

    /// A server connection, waiting for the client's upgrade request.
    pub fn server(config: Config) -> Connection {
        Connection::new(
            Role::Server,
            config,
            Phase::AwaitRequest(RequestScanner::default()),
            None,
        )
    }

    /// A client connection; the upgrade request is already in the output
    /// buffer. Mask keys and the handshake key come from a ChaCha20
    /// generator seeded by the operating system.
    #[cfg(feature = "std")]
    pub fn client(config: Config, request: &ClientRequest) -> Result<Connection, HandshakeError> {
        let rng = crate::rng::ChaCha20Rng::from_os().map_err(|_| HandshakeError::Entropy)?;
        Connection::client_with_rng(config, request, rng)
    }

    /// A client connection drawing its keys from `rng`.
    pub fn client_with_rng(
        config: Config,
        request: &ClientRequest,
        rng: impl RandomSource + 'static,
    ) -> Result<Connection, HandshakeError> {
        let mut rng: BoxedRng = Box::new(rng);
        let offer = extensions::client_offer(&config);
        let (bytes, hs) = request.encode(rng.as_mut(), offer.as_deref())?;
        let mut conn = Connection::new(
            Role::Client,
            config,
            Phase::AwaitResponse(Box::new(hs)),
            Some(rng),
        );
        conn.out.put_slice(&bytes);
        Ok(conn)
    }

    /// A connection whose opening handshake was done elsewhere (an HTTP
    /// library, see [`handshake`](crate::handshake)): it starts open.
    /// `extensions` is the agreed `Sec-WebSocket-Extensions` value, if any.
    #[cfg(feature = "std")]
    pub fn from_upgraded(
        role: Role,
        config: Config,
        extensions: Option<&str>,
    ) -> Result<Connection, HandshakeError> {
        let rng = match role {
            Role::Client => Some(Box::new(
                crate::rng::ChaCha20Rng::from_os().map_err(|_| HandshakeError::Entropy)?,
            ) as BoxedRng),
            Role::Server => None,
        };
        Connection::upgraded(role, config, extensions, rng)
    }

    /// [`from_upgraded`](Self::from_upgraded) with the client's mask keys
    /// drawn from `rng` (ignored for a server).
    pub fn from_upgraded_with_rng(
        role: Role,
        config: Config,
        extensions: Option<&str>,
        rng: impl RandomSource + 'static,
    ) -> Result<Connection, HandshakeError> {
        let rng = (role == Role::Client).then(|| Box::new(rng) as BoxedRng);
        Connection::upgraded(role, config, extensions, rng)
    }

    fn upgraded(
        role: Role,
        config: Config,
        extensions: Option<&str>,
        rng: Option<BoxedRng>,
    ) -> Result<Connection, HandshakeError> {
        let (agreed, value) = extensions::from_value(role, &config, extensions)?;
        let mut conn = Connection::new(role, config, Phase::Open, rng);
        conn.extensions = value;
        conn.apply(&agreed);
        conn.opened();
        Ok(conn)
    }

    // ----------------------------------------------------------------- getters

    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The state as RFC 6455 names it.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::AwaitRequest(_) | Phase::AwaitDecision(_) | Phase::AwaitResponse(_) => {
                State::Connecting
            }
            Phase::Open => State::Open,
            Phase::CloseSent | Phase::AwaitEof => State::Closing,
            Phase::Closed => State::Closed,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The agreed subprotocol, once open.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The agreed `Sec-WebSocket-Extensions` value, once open.
    pub fn extensions(&self) -> Option<&str> {
        self.extensions.as_deref()
    }

    /// Whether the connection is over and [`Event::Closed`] has been
    /// returned: write out what is left, then close the transport.
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Closed) && self.events.is_empty()
    }

    /// Whether reading from the transport is useful now: false once the
    /// connection is closed or EOF was fed, and while a server waits for the
    /// application to accept or reject.
    pub fn wants_read(&self) -> bool {
        !self.eof && !matches!(self.phase, Phase::Closed | Phase::AwaitDecision(_))
    }

    /// Whether bytes wait to be written.
    pub fn wants_write(&self) -> bool {
        self.out.len() > 0
    }

    /// How many bytes wait to be written.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Received bytes not yet turned into events.
    pub fn buffered_input(&self) -> usize {
        self.rx.len()
    }

    /// Heap bytes held by the connection's own buffers (receive buffer,
    /// message assembly, output tail), for memory accounting.
    pub fn buffer_capacity(&self) -> usize {
        self.rx.capacity() + self.recv.capacity() + self.out.capacity()
    }

    // ------------------------------------------------------------------ inputs

    /// Hands received bytes to the connection (copied into its buffer).
    /// Bytes after the connection closed are ignored.
    pub fn feed(&mut self, data: &[u8]) {
        if data.is_empty() || self.ignores_input() {
            return;
        }
        self.activity = true;
        self.rx.extend(data);
    }

    /// Room for at least `len` bytes at the end of the receive buffer, to
    /// read into directly (no copy); report how many were read with
    /// [`commit_read`](Self::commit_read). The slice may be longer than
    /// `len`.
    ///
    /// ```
    /// # use wsmachine::{Config, Connection};
    /// # let mut conn = Connection::server(Config::default());
    /// # let mut socket: &[u8] = b"GET / HTTP/1.1\r\n";
    /// use std::io::Read;
    /// let n = socket.read(conn.read_buf(4096)).unwrap();
    /// conn.commit_read(n);
    /// ```
    pub fn read_buf(&mut self, len: usize) -> &mut [u8] {
        self.rx.spare(len)
    }

    /// Marks `n` bytes written into [`read_buf`](Self::read_buf) as received.
    pub fn commit_read(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        if self.ignores_input() {
            return;
        }
        self.activity = true;
        self.rx.commit(n);
    }

    /// The transport reached end of stream: no more bytes will come.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// Tells the connection the time; fires expired timers. Call it when
    /// [`poll_timeout`](Self::poll_timeout)'s deadline has passed (calling it
    /// more often is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.timers.advance(now);
        while let Some(which) = self.timers.expired() {
            self.timers.set(which, Deadline::Off);
            self.fire(which);
        }
    }

    // ----------------------------------------------------------------- outputs

    /// The next event, or `None` when nothing more can happen until more
    /// input arrives (or the application accepts a pending request).
    ///
    /// Received bytes are parsed here, lazily: an application that stops
    /// polling stops the connection from consuming input.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if !self.step() {
                return None;
            }
        }
    }

    /// The first contiguous run of bytes to write (empty when nothing is
    /// pending). Report what was written with
    /// [`consume_output`](Self::consume_output).
    pub fn output(&self) -> &[u8] {
        self.out.first()
    }

    /// Every run of bytes to write, in order, for vectored writes.
    pub fn output_chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.out.chunks()
    }

    /// Fills `bufs` with the pending runs for `write_vectored`; returns how
    /// many were filled.
    #[cfg(feature = "std")]
    pub fn output_vectored<'a>(&'a self, bufs: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, chunk) in bufs.iter_mut().zip(self.out.chunks()) {
            *slot = std::io::IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Reports that `n` bytes from the front of the output were written.
    pub fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
        if self.out.len() == 0
            && let Some(payload) = self.pending_pong.take()
        {
            self.send
                .control(&mut self.out, crate::frame::OpCode::Pong, &payload);
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next; `None` if
    /// no timer runs. A deadline at or before the current time means "call
    /// it now".
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ----------------------------------------------------------------- actions

    /// Server: accepts the pending [`Event::Request`]. The 101 answer goes
    /// into the output buffer and [`Event::Open`] follows.
    pub fn accept(&mut self, accept: Accept) -> Result<(), UsageError> {
        let Phase::AwaitDecision(request) = &self.phase else {
            return Err(UsageError::NoPendingRequest);
        };
        if let Some(p) = &accept.subprotocol
            && !request.subprotocols().any(|offered| offered == p)
        {
            return Err(UsageError::SubprotocolNotOffered);
        }
        handshake::check_headers(&accept.headers)?;
        let (agreed, extensions) = if accept.compression {
            extensions::server_negotiate(&self.config, &request.extensions())
        } else {
            (Agreed::default(), None)
        };
        let bytes = handshake::accept_response_bytes(
            request.accept_key(),
            accept.subprotocol.as_deref(),
            extensions.as_deref(),
            &accept.headers,
        );
        self.out.put_slice(&bytes);
        self.subprotocol = accept.subprotocol;
        self.extensions = extensions;
        self.apply(&agreed);
        self.phase = Phase::Open;
        self.opened();
        self.events.push_back(Event::Open(Open {
            subprotocol: self.subprotocol.clone(),
            extensions: self.extensions.clone(),
            response: None,
        }));
        Ok(())
    }

    /// Server: refuses the pending [`Event::Request`] with an HTTP answer;
    /// [`Event::Closed`] follows.
    pub fn reject(&mut self, reject: Reject) -> Result<(), UsageError> {
        if !matches!(self.phase, Phase::AwaitDecision(_)) {
            return Err(UsageError::NoPendingRequest);
        }
        if !(200..=599).contains(&reject.status) {
            return Err(UsageError::InvalidStatus(reject.status));
        }
        handshake::check_headers(&reject.headers)?;
        let bytes = handshake::reject_response_bytes(reject.status, &reject.headers, &reject.body);
        self.out.put_slice(&bytes);
        self.finish();
        Ok(())
    }

    /// Sends a whole message (one frame; compressed if permessage-deflate is
    /// on and the message is large enough).
    ///
    /// A server's large payloads are queued without copying; a client masks
    /// them while copying, or in place when it holds the only reference to
    /// the buffer.
    pub fn send(&mut self, message: impl Into<crate::Message>) -> Result<(), UsageError> {
        self.check_open()?;
        self.send.message(
            &mut self.out,
            &self.config,
            message.into(),
            Framing::Whole,
            true,
        )
    }

    /// Sends a whole message without compressing it, whatever was
    /// negotiated (e.g. data that is already compressed).
    pub fn send_uncompressed(
        &mut self,
        message: impl Into<crate::Message>,
    ) -> Result<(), UsageError> {
        self.check_open()?;
        self.send.message(
            &mut self.out,
            &self.config,
            message.into(),
            Framing::Whole,
            false,
        )
    }

    /// Sends one fragment of a message: the first call fixes the message
    /// kind, later calls continue it (their kind is ignored), and the call
    /// with `last` set ends it (RFC 6455 §5.4). Control frames and other
    /// calls can interleave; a new [`send`](Self::send) cannot.
    pub fn send_fragment(
        &mut self,
        part: impl Into<crate::Message>,
        last: bool,
    ) -> Result<(), UsageError> {
        self.check_open()?;
        self.send.message(
            &mut self.out,
            &self.config,
            part.into(),
            Framing::Fragment { last },
            true,
        )
    }

    /// Sends a ping (payload at most 125 bytes).
    pub fn ping(&mut self, payload: impl AsRef<[u8]>) -> Result<(), UsageError> {
        self.check_open()?;
        self.send.checked_control(
            &mut self.out,
            &self.config,
            crate::frame::OpCode::Ping,
            payload.as_ref(),
        )
    }

    /// Sends a pong, solicited or not (payload at most 125 bytes). Allowed
    /// after this side sent its Close frame, until the peer's arrives: a
    /// ping must be answered until then (§5.5.2).
    pub fn pong(&mut self, payload: impl AsRef<[u8]>) -> Result<(), UsageError> {
        if !matches!(self.phase, Phase::CloseSent) {
            self.check_open()?;
        }
        self.send.checked_control(
            &mut self.out,
            &self.config,
            crate::frame::OpCode::Pong,
            payload.as_ref(),
        )
    }

    /// Starts the closing handshake (§7.1.2): sends a Close frame with
    /// `code` and `reason` (at most 123 bytes). Received messages are still
    /// delivered until the peer's Close arrives; then [`Event::Closed`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), UsageError> {
        self.check_open()?;
        if !code.is_sendable() {
            return Err(UsageError::InvalidCloseCode(code.as_u16()));
        }
        if reason.len() > crate::close::MAX_REASON_LEN {
            return Err(UsageError::ControlPayloadTooLong);
        }
        self.send_close(Some(CloseFrame {
            code,
            reason: String::from(reason),
        }));
        self.phase = Phase::CloseSent;
        self.timers
            .set(Which::Close, Deadline::start(self.config.close_timeout));
        self.timers.set(Which::Keepalive, Deadline::Off);
        self.timers.set(Which::Pong, Deadline::Off);
        Ok(())
    }

    // --------------------------------------------------------------- internals

    fn check_open(&self) -> Result<(), UsageError> {
        match self.phase {
            Phase::Open => Ok(()),
            Phase::AwaitRequest(_) | Phase::AwaitDecision(_) | Phase::AwaitResponse(_) => {
                Err(UsageError::NotOpen)
            }
            Phase::CloseSent | Phase::AwaitEof => Err(UsageError::Closing),
            Phase::Closed => Err(UsageError::Closed),
        }
    }

    fn ignores_input(&self) -> bool {
        matches!(self.phase, Phase::Closed | Phase::AwaitEof)
    }

    /// Applies the extensions the handshake agreed to both directions.
    fn apply(&mut self, agreed: &Agreed) {
        self.send.configure(agreed, self.role, &self.config);
        self.recv.configure(agreed, self.role);
    }

    /// The connection just opened: start the keepalive, stop the handshake
    /// timer.
    fn opened(&mut self) {
        self.timers.set(Which::Handshake, Deadline::Off);
        // The handshake's own bytes are not traffic for the keepalive.
        self.activity = false;
        if let Some(k) = self.config.keepalive {
            self.timers
                .set(Which::Keepalive, Deadline::start(Some(k.interval)));
        }
    }

    fn send_close(&mut self, frame: Option<CloseFrame>) {
        self.send.close(&mut self.out, frame.as_ref());
        self.close.initiated_locally = self.close.received.is_none();
        self.close.sent = Some(frame);
        self.pending_pong = None;
    }

    /// One unit of progress on the input; `false` when blocked.
    fn step(&mut self) -> bool {
        match &mut self.phase {
            Phase::AwaitRequest(_) => self.step_request(),
            Phase::AwaitResponse(_) => self.step_response(),
            Phase::AwaitDecision(_) => false,
            Phase::Open | Phase::CloseSent => {
                if self.step_frames() {
                    true
                } else if self.eof {
                    // §7.1.5: no Close frame received -> 1006.
                    self.finish();
                    true
                } else {
                    false
                }
            }
            Phase::AwaitEof => {
                self.rx.clear();
                if self.eof {
                    self.finish();
                    true
                } else {
                    false
                }
            }
            Phase::Closed => {
                self.rx.clear();
                false
            }
        }
    }

    fn step_request(&mut self) -> bool {
        let Phase::AwaitRequest(scanner) = &mut self.phase else {
            return false;
        };
        match scanner.scan(self.rx.data(), &self.config.limits) {
            Ok(Some(n)) => {
                let head = self.rx.split_to(n).freeze();
                match Request::parse(head, &self.config.limits) {
                    Ok(request) => self.request_received(request),
                    Err(e) => self.fail_handshake(e),
                }
                true
            }
            Ok(None) if self.eof => {
                self.fail_handshake(HandshakeError::Eof);
                true
            }
            Ok(None) => false,
            Err(e) => {
                self.fail_handshake(e);
                true
            }
        }
    }

    fn request_received(&mut self, request: Request) {
        if !self
            .config
            .origin_policy
            .allows(request.origin(), request.host())
        {
            self.fail_handshake(HandshakeError::OriginRejected);
            return;
        }
        self.phase = Phase::AwaitDecision(Box::new(request.clone()));
        self.events.push_back(Event::Request(request));
    }

    fn step_response(&mut self) -> bool {
        let Phase::AwaitResponse(hs) = &mut self.phase else {
            return false;
        };
        let found = handshake::find_response(hs, self.rx.data(), &self.config.limits);
        let n = match found {
            Ok(Some(n)) => n,
            Ok(None) if self.eof => {
                self.fail_handshake(HandshakeError::Eof);
                return true;
            }
            Ok(None) => return false,
            Err(e) => {
                self.fail_handshake(e);
                return true;
            }
        };
        let head = self.rx.split_to(n).freeze();
        let parsed = handshake::parse_response(head, hs, &self.config.limits).and_then(
            |(response, subprotocol)| {
                let agreed = extensions::client_accept(&self.config, &response)?;
                Ok((response, subprotocol, agreed))
            },
        );
        match parsed {
            Ok((response, subprotocol, (agreed, extensions))) => {
                self.subprotocol = subprotocol;
                self.extensions = extensions;
                self.apply(&agreed);
                self.phase = Phase::Open;
                self.opened();
                self.events.push_back(Event::Open(Open {
                    subprotocol: self.subprotocol.clone(),
                    extensions: self.extensions.clone(),
                    response: Some(response),
                }));
            }
            Err(e) => self.fail_handshake(e),
        }
        true
    }

    /// The opening handshake failed: a server answers with an HTTP error.
    fn fail_handshake(&mut self, error: HandshakeError) {
        if self.role == Role::Server && error != HandshakeError::Eof {
            let body = alloc::format!("{error}\n");
            let bytes = handshake::reject_response_bytes(error.http_status(), &[], body.as_bytes());
            self.out.put_slice(&bytes);
        }
        self.events.push_back(Event::Error(Error::Handshake(error)));
        self.finish();
    }

    /// The peer broke the protocol (or a timer ran out): _Fail the WebSocket
    /// Connection_ (§7.1.7). Send the matching close code if no Close frame
    /// was sent yet, stop reading, and close.
    pub(crate) fn fail(&mut self, error: Error) {
        if let (Some(code), None, Phase::Open | Phase::CloseSent) =
            (error.close_code(), &self.close.sent, &self.phase)
        {
            self.send_close(Some(CloseFrame {
                code,
                reason: String::new(),
            }));
        }
        self.events.push_back(Event::Error(error));
        self.finish();
    }

    /// The peer's Close frame arrived (§5.5.1).
    fn close_received(&mut self, frame: Option<CloseFrame>) {
        let echo = frame.as_ref().map(|f| CloseFrame {
            code: f.code,
            reason: String::new(),
        });
        self.close.received = Some(frame);
        if self.close.sent.is_none() {
            // Echo the status code (§5.5.1: "typically echos").
            self.send_close(echo);
        }
        self.recv.reset();
        // §7.1.1: the server closes the TCP connection first; the client
        // waits for it, for no longer than the close timeout.
        match self.role {
            Role::Server => self.finish(),
            Role::Client => {
                self.phase = Phase::AwaitEof;
                self.rx.clear();
                self.timers
                    .set(Which::Close, Deadline::start(self.config.close_timeout));
                self.timers.set(Which::Keepalive, Deadline::Off);
                self.timers.set(Which::Pong, Deadline::Off);
            }
        }
    }

    /// The connection is over: queue [`Event::Closed`].
    fn finish(&mut self) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        let (code, reason) = match &self.close.received {
            Some(Some(f)) => (f.code, f.reason.clone()),
            Some(None) => (CloseCode::NO_STATUS, String::new()),
            None => (CloseCode::ABNORMAL, String::new()),
        };
        let clean = self.close.sent.is_some() && self.close.received.is_some();
        let initiated_locally = self.close.initiated_locally;
        self.events.push_back(Event::Closed(Closed {
            code,
            reason,
            clean,
            sent: self.close.sent.clone().flatten(),
            initiated_locally,
        }));
        self.phase = Phase::Closed;
        self.timers.clear_all();
        self.rx.clear();
        self.recv.release();
        self.pending_pong = None;
    }

    fn fire(&mut self, which: Which) {
        match which {
            Which::Handshake => {
                if matches!(
                    self.phase,
                    Phase::AwaitRequest(_) | Phase::AwaitResponse(_) | Phase::AwaitDecision(_)
                ) {
                    self.events
                        .push_back(Event::Error(Error::Timeout(Timer::Handshake)));
                    self.finish();
                }
            }
            Which::Close => match self.phase {
                // The closing handshake finished; the server did not close
                // the transport in time: the client closes it (§7.1.1).
                Phase::AwaitEof => self.finish(),
                Phase::CloseSent => {
                    self.events
                        .push_back(Event::Error(Error::Timeout(Timer::Close)));
                    self.finish();
                }
                _ => {}
            },
            Which::Keepalive | Which::Pong => {
                let Some(k) = self.config.keepalive else {
                    return;
                };
                if !matches!(self.phase, Phase::Open) {
                    return;
                }
                if core::mem::take(&mut self.activity) {
                    // Traffic arrived: the peer is alive, start over.
                    self.timers
                        .set(Which::Keepalive, Deadline::At(self.timers.now + k.interval));
                } else if which == Which::Keepalive {
                    let stamp = self.timers.now.as_nanos().to_be_bytes();
                    self.send
                        .control(&mut self.out, crate::frame::OpCode::Ping, &stamp);
                    self.timers
                        .set(Which::Pong, Deadline::At(self.timers.now + k.timeout));
                } else {
                    self.fail(Error::Timeout(Timer::Keepalive));
                }
            }
        }
    }

    /// Queues an automatic pong, keeping at most one pending when the output
    /// buffer is full (§5.5.3 allows answering only the latest ping).
    fn auto_pong(&mut self, payload: Bytes) {
        let pending = self.out.len();
        if pending > 0 && pending >= self.config.limits.max_output_buffer {
            self.pending_pong = Some(payload);
        } else {
            self.send
                .control(&mut self.out, crate::frame::OpCode::Pong, &payload);
        }
    }
}
