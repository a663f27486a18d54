//! The connection state machine.
//!
//! ```text
//!              server                          client
//!        AwaitRequest ──Request──▶ AwaitDecision   AwaitResponse ──non-101──▶ ReadingRejection
//!               │ accept()               │              │ valid 101                 │ body read
//!               ▼                        ▼              ▼                           │
//!             ┌──────────────────── Open ◀─────────────┘                            │
//!  close() ───┤                       │ peer's Close: echo it                       │
//!             ▼                       │                                             │
//!         CloseSent ──peer's Close──▶ ├──────────────────────────────────────────▶ Closed(Teardown)
//!                                     │                                       Event::Closed queued
//!  any phase: peer violation, EOF, timeout, fail(), abort() ──────────────────▶ Closed(Teardown)
//!
//!  Closed(Teardown): write what is queued ─▶ [server] wants_shutdown() ─▶ discard input
//!                    until EOF or the close timeout ─▶ is_finished()
//! ```
//!
//! `docs/design.md` describes each transition; [`Phase`] is this diagram.
//! The phases of the opening handshake live in `opening.rs`, the closing
//! ones in `closing.rs`; this file holds the type, its inputs and outputs.

mod buffers;
mod closing;
mod opening;
mod recv;
mod send;
mod timers;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;

use bytes::Bytes;

use self::buffers::{EventQueue, InputBuf, OutQueue};
use self::closing::{CloseState, PongSlot, Teardown};
use self::opening::Rejection;
use self::recv::Receiver;
use self::send::{Framing, Sender};
use self::timers::{Deadline, Timers, Which};
use crate::config::Config;
use crate::event::Event;
use crate::handshake::{ClientHandshake, Request, RequestScanner};
use crate::message::{Message, MessageKind, Utf8Bytes};
use crate::rng::RandomSource;
use crate::role::Role;
use crate::time::Instant;
use crate::usage::{SendError, UsageError};

pub use self::opening::Agreement;
pub use self::send::CONTROL_BUDGET;

/// The connection's state, as RFC 6455 names it (§4, §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// The opening handshake is in progress.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// This side sent a Close frame and waits for the peer's. Messages are
    /// still received; none can be sent.
    Closing,
    /// The WebSocket connection is closed ([`Event::Closed`] was queued).
    /// The driver keeps going until [`Connection::is_finished`]: the last
    /// bytes are written and the transport is torn down.
    Closed,
}

/// Where the connection is, in detail (the diagram in the module docs).
#[derive(Debug)]
enum Phase {
    AwaitRequest(RequestScanner),
    AwaitDecision(Box<Request>),
    AwaitResponse(Box<ClientHandshake>),
    ReadingRejection(Box<Rejection>),
    Open,
    CloseSent,
    Closed(Teardown),
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
/// - **inputs** — received bytes: [`feed`](Self::feed), or
///   [`read_buf`](Self::read_buf) + [`commit_read`](Self::commit_read) to
///   read straight into the connection's buffer; the end of the stream:
///   [`feed_eof`](Self::feed_eof), [`transport_error`](Self::transport_error);
///   time: [`handle_timeout`](Self::handle_timeout);
/// - **outputs** — [`poll_event`](Self::poll_event); bytes to write, owned
///   ([`poll_transmit`](Self::poll_transmit)) or borrowed
///   ([`output_vectored`](Self::output_vectored), [`output`](Self::output) +
///   [`consume_output`](Self::consume_output)); the end of writing:
///   [`wants_shutdown`](Self::wants_shutdown); the next deadline:
///   [`poll_timeout`](Self::poll_timeout); the end: [`is_finished`](Self::is_finished);
/// - **actions** — [`send`](Self::send), [`send_fragment`](Self::send_fragment),
///   [`ping`](Self::ping), [`pong`](Self::pong), [`close`](Self::close),
///   [`fail`](Self::fail), [`abort`](Self::abort), and for a server
///   [`accept`](Self::accept) / [`reject`](Self::reject);
/// - **getters** — [`state`](Self::state), [`wants_read`](Self::wants_read),
///   [`wants_write`](Self::wants_write), [`buffer_capacity`](Self::buffer_capacity), …
///
/// ## The polling order
///
/// This is the one contract a driver follows. After any input or action:
///
/// 1. **Events.** Call [`poll_event`](Self::poll_event) until it returns
///    `None`. Automatic pongs and close echoes are queued here.
/// 2. **Write.** Write out what [`poll_transmit`](Self::poll_transmit)
///    returns (or the borrowed equivalents, reporting progress with
///    [`consume_output`](Self::consume_output)) until nothing is left or
///    the transport would block.
/// 3. **Half-close.** When [`wants_shutdown`](Self::wants_shutdown) is true,
///    shut down the transport's write side (TCP: `shutdown(Write)`), once.
/// 4. **Stop.** When [`is_finished`](Self::is_finished) is true, close the
///    transport and drop the connection. Not before: after
///    [`Event::Closed`] the connection still writes its last frames and
///    waits (bounded by the close timeout) for the peer to close, so that
///    the last Close frame is not lost to a TCP reset.
/// 5. **Wait.** Wait until the transport is readable (if
///    [`wants_read`](Self::wants_read)) or writable (if
///    [`wants_write`](Self::wants_write)), but no later than
///    [`poll_timeout`](Self::poll_timeout). Hand over what was read
///    ([`feed`](Self::feed)/[`commit_read`](Self::commit_read); a read of
///    0 bytes is [`feed_eof`](Self::feed_eof), a read error
///    [`transport_error`](Self::transport_error)); when the deadline
///    passes, call [`handle_timeout`](Self::handle_timeout). Go to 1.
///
/// [`wants_read`](Self::wants_read) is false while the connection waits for
/// the application (a request to accept or reject, events to poll before
/// more input fits) or only for a timer: then do not read; poll, write and
/// wait for the deadline. Input is processed as it arrives, but never more
/// than one event ahead of the application, and buffered input is capped
/// ([`Limits::max_input_buffer`](crate::Limits::max_input_buffer)): an
/// application that stops polling stops the reads, and TCP flow control
/// reaches the peer.
///
/// Time is an [`Instant`] on a clock the driver picks; with `std`,
/// [`Clock`](crate::Clock) converts to and from `std::time::Instant` and
/// tells how long to wait.
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
///     while let Some(bytes) = from.poll_transmit() {
///         assert_eq!(to.feed(&bytes), bytes.len());
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
/// server.accept(wsmachine::Accept::new())?;
/// assert!(matches!(server.poll_event(), Some(Event::Open(_))));
///
/// pump(&mut server, &mut client);
/// assert!(matches!(client.poll_event(), Some(Event::Open(_))));
///
/// client.send("hello")?;
/// pump(&mut client, &mut server);
/// match server.poll_event() {
///     Some(Event::Message(m)) => assert_eq!(m.as_text(), Some("hello")),
///     other => panic!("{other:?}"),
/// }
///
/// client.close(CloseCode::NORMAL, "done")?;
/// pump(&mut client, &mut server);
/// // The server echoes the close; it will half-close the transport first.
/// assert!(matches!(server.poll_event(), Some(Event::Closed(c)) if c.clean));
/// pump(&mut server, &mut client);
/// assert!(server.wants_shutdown());
/// assert!(matches!(client.poll_event(), Some(Event::Closed(c)) if c.clean));
/// // The server's half-close reaches the client as EOF, and the client's
/// // close reaches the server the same way.
/// client.feed_eof();
/// assert!(client.is_finished());
/// server.feed_eof();
/// assert!(server.is_finished());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Arc<Config>,
    phase: Phase,
    input: InputBuf,
    eof: bool,
    out: OutQueue,
    events: EventQueue,
    /// What the receiver produced from bytes processed while an event
    /// waited; handled once the application has polled every event.
    stash: Option<recv::Received>,
    /// Bytes taken by `feed` and processed straight from its slice while an
    /// event waited: charged to the input buffer's cap.
    ahead: usize,
    recv: Receiver,
    send: Sender,
    timers: Timers,
    close: CloseState,
    pong: PongSlot,
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
    fn new(role: Role, config: Arc<Config>, phase: Phase, rng: Option<BoxedRng>) -> Connection {
        let mut timers = Timers::default();
        timers.set(Which::Handshake, Deadline::start(config.handshake_timeout));
        Connection {
            role,
            phase,
            input: InputBuf::default(),
            eof: false,
            out: OutQueue::default(),
            events: EventQueue::default(),
            stash: None,
            ahead: 0,
            recv: Receiver::new(role),
            send: Sender::new(rng, &config.limits),
            timers,
            close: CloseState::default(),
            pong: PongSlot::default(),
            activity: false,
            subprotocol: None,
            extensions: None,
            config,
        }
    }

    // ----------------------------------------------------------------- getters

    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::AwaitRequest(_)
            | Phase::AwaitDecision(_)
            | Phase::AwaitResponse(_)
            | Phase::ReadingRejection(_) => State::Connecting,
            Phase::Open => State::Open,
            Phase::CloseSent => State::Closing,
            Phase::Closed(_) => State::Closed,
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

    /// Whether the driver is done: every event was polled, the last bytes
    /// were written (or given up on), and the transport was seen to end
    /// (EOF, an error, or the close timeout). Close the transport and drop
    /// the connection.
    pub fn is_finished(&self) -> bool {
        let Phase::Closed(td) = &self.phase else {
            return false;
        };
        self.events.is_empty()
            && (td.given_up || (self.out.len() == 0 && (self.eof || !td.await_eof)))
    }

    /// Whether the driver should now shut down the transport's write side
    /// (TCP `shutdown(Write)`; TLS `close_notify`): the connection will
    /// write nothing more and everything it wrote was taken. True from then
    /// on; do it once. A server half-closes after the closing handshake or
    /// a failure (RFC 6455 §7.1.1: it closes the TCP connection first); a
    /// client waits for the server to do so.
    pub fn wants_shutdown(&self) -> bool {
        matches!(&self.phase, Phase::Closed(td) if td.half_close && !td.given_up)
            && self.out.len() == 0
    }

    /// Whether reading from the transport is useful now. False once EOF was
    /// seen; while a server waits for the application to accept or reject;
    /// and while the input buffer is full because events wait to be polled.
    /// See [the polling order](Self#the-polling-order).
    pub fn wants_read(&self) -> bool {
        if self.eof {
            return false;
        }
        match &self.phase {
            Phase::AwaitDecision(_) => false,
            Phase::Closed(td) => !td.given_up && td.await_eof,
            _ => self.input.len() + self.ahead < self.input_cap(),
        }
    }

    /// Whether bytes wait to be written.
    pub fn wants_write(&self) -> bool {
        self.out.len() > 0
    }

    /// How many bytes wait to be written.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Received bytes not yet processed (held in the input buffer).
    pub fn buffered_input(&self) -> usize {
        self.input.len()
    }

    /// How many more bytes [`feed`](Self::feed) takes now (and
    /// [`read_buf`](Self::read_buf) offers). A driver that reads into a
    /// shared buffer reads at most this much, so that every byte read is
    /// taken.
    pub fn input_room(&self) -> usize {
        match &self.phase {
            Phase::Closed(td) if td.await_eof && !self.eof => usize::MAX,
            Phase::Closed(_) => 0,
            _ => self
                .input_cap()
                .saturating_sub(self.input.len() + self.ahead),
        }
    }

    /// Heap bytes held by the connection's buffers and compression state:
    /// the input buffer, the message being received, the output queue (its
    /// own buffer and every chunk it keeps alive) and the compressor and
    /// inflater. What delivered messages hold belongs to them: each owns an
    /// allocation of its own size.
    pub fn buffer_capacity(&self) -> usize {
        self.input.capacity() + self.recv.capacity() + self.out.capacity() + self.send.memory()
    }

    /// The input buffer's cap in the current phase.
    fn input_cap(&self) -> usize {
        let limits = &self.config.limits;
        match self.phase {
            Phase::AwaitRequest(_) | Phase::AwaitResponse(_) | Phase::ReadingRejection(_) => {
                limits.max_input_buffer.max(limits.max_handshake_size)
            }
            _ => limits.max_input_buffer,
        }
    }

    // ------------------------------------------------------------------ inputs

    /// Hands received bytes to the connection and returns how many it took:
    /// all of them unless the input buffer is full (events wait to be
    /// polled, or a server waits for `accept`); feed the rest again after
    /// polling. Bytes after the connection closed are taken and discarded.
    ///
    /// Frames are processed straight from `data`: payloads are copied once,
    /// into the message they belong to. While an event waits, the frame in
    /// progress is still copied into its message (up to the input cap, as
    /// if it were buffered), but what it leads to is handled only once the
    /// application has polled every event; bytes beyond that are buffered.
    pub fn feed(&mut self, data: &[u8]) -> usize {
        if data.is_empty() {
            return 0;
        }
        if let Phase::Closed(_) = self.phase {
            return data.len();
        }
        self.activity = true;
        if self.events.is_empty() && self.stash.is_none() {
            self.ahead = 0;
        }
        let mut used = 0;
        if self.input.is_empty() {
            used = self.process_frames(data, true);
            if used == data.len() && self.idle() {
                // The common case: every byte went into frames and nothing
                // else can happen until more input arrives.
                return used;
            }
        }
        let cap = self.input_cap().saturating_sub(self.ahead);
        used += self.input.extend(&data[used..], cap);
        self.advance();
        used
    }

    /// Like [`feed`](Self::feed), but while frames flow it takes only what
    /// it processes at once, straight from `data`, and copies nothing into
    /// the input buffer: it stops after the frame that produced an event
    /// (or takes nothing while an event waits to be polled). Feed the rest
    /// again after polling. For drivers that keep the received bytes anyway
    /// (a binding holding its runtime's buffer objects): no byte is copied
    /// twice, and the connection holds no input buffer.
    ///
    /// During the opening handshake, and while buffered input waits, it
    /// behaves as `feed`.
    pub fn feed_unbuffered(&mut self, data: &[u8]) -> usize {
        if !matches!(self.phase, Phase::Open | Phase::CloseSent) || !self.input.is_empty() {
            return self.feed(data);
        }
        if data.is_empty() || !self.events.is_empty() {
            return 0;
        }
        self.activity = true;
        let used = self.process_frames(data, false);
        self.advance();
        used
    }

    /// Room at the end of the input buffer to read into directly; report
    /// how many bytes were read with [`commit_read`](Self::commit_read).
    /// Empty when the buffer is full (see [`wants_read`](Self::wants_read)).
    ///
    /// The buffer is allocated (and zeroed) once, at
    /// [`Limits::max_input_buffer`](crate::Limits::max_input_buffer), and
    /// kept for later reads; [`shrink_buffers`](Self::shrink_buffers)
    /// releases it while the connection is idle. Drivers that want no
    /// per-connection buffer read into a shared one and call
    /// [`feed`](Self::feed).
    ///
    /// ```
    /// # use wsmachine::{Config, Connection};
    /// # let mut conn = Connection::server(Config::default());
    /// # let mut socket: &[u8] = b"GET / HTTP/1.1\r\n";
    /// use std::io::Read;
    /// let n = socket.read(conn.read_buf()).unwrap();
    /// conn.commit_read(n);
    /// ```
    pub fn read_buf(&mut self) -> &mut [u8] {
        let cap = match self.phase {
            // Read and discard until EOF.
            Phase::Closed(_) => self.config.limits.max_input_buffer.min(16 << 10),
            _ => self.input_cap().saturating_sub(self.ahead),
        };
        self.input.spare(cap)
    }

    /// Marks `n` bytes written into [`read_buf`](Self::read_buf) as
    /// received. `n` of 0 means nothing (use [`feed_eof`](Self::feed_eof)
    /// for the end of the stream).
    pub fn commit_read(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.input.commit(n);
        if let Phase::Closed(_) = self.phase {
            self.input.clear();
            return;
        }
        self.activity = true;
        self.advance();
    }

    /// The transport reached the end of its stream: no more bytes will
    /// come.
    pub fn feed_eof(&mut self) {
        self.eof = true;
        self.advance();
    }

    /// Reading from or writing to the transport failed (a reset, a broken
    /// pipe): nothing more can be sent or received. Queues
    /// [`Error::Transport`](crate::Error::Transport) and [`Event::Closed`]
    /// unless the connection was already closed, drops pending output, and
    /// finishes.
    pub fn transport_error(&mut self) {
        self.eof = true;
        self.out.discard();
        if !matches!(self.phase, Phase::Closed(_)) {
            self.events
                .push_back(Event::Error(crate::error::Error::Transport));
        }
        self.finish(Teardown::gone());
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
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.events.is_empty() && self.idle() {
            // Nothing waits and nothing can happen until more input arrives.
            self.ahead = 0;
            return None;
        }
        let event = self.next_event();
        if self.events.is_empty() && self.stash.is_none() {
            // The application has caught up: nothing is processed ahead.
            self.ahead = 0;
        }
        event
    }

    fn next_event(&mut self) -> Option<Event> {
        // Input that waited goes on only once the application has handled
        // the previous event: what it sends in answer (an echo) goes out
        // before whatever the next frame makes the connection do.
        if self.events.is_empty() {
            if let Some(item) = self.stash.take() {
                if let recv::Received::Message(m) = item {
                    return Some(Event::Message(m));
                }
                self.received(item);
                return self.next_event();
            }
            // The common case first: the next complete message in the
            // input, handed over without going through the queue.
            if matches!(self.phase, Phase::Open | Phase::CloseSent) && !self.input.is_empty() {
                let (used, item) = self.recv.process(self.input.data(), &self.config);
                self.input.consume(used);
                match item {
                    Some(recv::Received::Message(m)) => return Some(Event::Message(m)),
                    Some(item) => self.received(item),
                    None => {}
                }
            }
            self.advance();
        }
        self.events.pop_front()
    }

    /// Takes the next run of bytes to write, owned: a driver can hold it
    /// while it keeps feeding input and polling events (e.g. in another
    /// task). Payloads that are already shared [`Bytes`] (a server's large
    /// messages) come out without a copy. `None` when nothing is pending.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let bytes = self.out.take();
        if bytes.is_some() {
            if let Phase::Closed(_) = self.phase {
                // Nothing more will be written.
                self.out.release_tail();
            }
            self.output_progress();
        }
        bytes
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
    /// many were filled. Report what was written with
    /// [`consume_output`](Self::consume_output).
    ///
    /// ```no_run
    /// # fn f(conn: &mut wsmachine::Connection, socket: &mut std::net::TcpStream) -> std::io::Result<()> {
    /// use std::io::{IoSlice, Write};
    /// while conn.wants_write() {
    ///     let mut slices = [IoSlice::new(&[]); 8];
    ///     let n = conn.output_vectored(&mut slices);
    ///     let written = socket.write_vectored(&slices[..n])?;
    ///     conn.consume_output(written);
    /// }
    /// # Ok(()) }
    /// ```
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
        self.output_progress();
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next; `None` if
    /// no timer runs. A deadline at or before the current time means "call
    /// it now".
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_finished() {
            return None;
        }
        self.timers.next()
    }

    /// Releases buffers that hold nothing (the input buffer a driver reads
    /// into, the output queue's buffers once everything was written, the
    /// event queue once every event was polled), so that an idle
    /// connection costs its struct and little more. Call it when the
    /// connection goes idle; the next read or send allocates again.
    pub fn shrink_buffers(&mut self) {
        self.input.release();
        self.out.release();
        self.out.release_tail();
        if self.events.is_empty() {
            self.events = EventQueue::default();
        }
        self.forget_written_pongs();
        self.pong.release();
    }

    // ----------------------------------------------------------------- actions

    /// Sends a whole message (one frame; compressed if permessage-deflate is
    /// on and the message is large enough).
    ///
    /// A server's large payloads are queued without copying; a client masks
    /// them while copying, or in place when it holds the only reference to
    /// the buffer. A refused message comes back in the error, so it can be
    /// sent again once [`UsageError::OutputFull`] has cleared.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), SendError<Message>> {
        self.send_message(message.into(), true)
    }

    /// Sends a whole message without compressing it, whatever was
    /// negotiated (e.g. data that is already compressed).
    pub fn send_uncompressed(
        &mut self,
        message: impl Into<Message>,
    ) -> Result<(), SendError<Message>> {
        self.send_message(message.into(), false)
    }

    fn send_message(&mut self, message: Message, compress: bool) -> Result<(), SendError<Message>> {
        let kind = message.kind();
        if let Err(error) = self.check_open() {
            return Err(SendError {
                error,
                value: message,
            });
        }
        let payload = message.into_bytes();
        self.send
            .message(
                &mut self.out,
                &self.config.limits,
                kind,
                payload,
                Framing::Whole,
                compress,
            )
            .map_err(|(error, bytes)| SendError {
                error,
                value: match kind {
                    MessageKind::Binary => Message::Binary(bytes),
                    // It was text when it came in.
                    MessageKind::Text => Message::Text(Utf8Bytes::from_validated(bytes)),
                },
            })
    }

    /// Sends one fragment of a message (RFC 6455 §5.4): the first call
    /// starts a message of `kind`, later calls continue it with the same
    /// `kind`, and the call with `last` set ends it. Control frames and
    /// other calls can interleave; [`send`](Self::send) cannot.
    ///
    /// Text is checked across fragments: a code point may be split between
    /// two fragments, but the text as a whole must be valid UTF-8, or the
    /// fragment is refused with [`UsageError::InvalidUtf8`]. A refused
    /// fragment comes back in the error.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        part: impl Into<Bytes>,
        last: bool,
    ) -> Result<(), SendError<Bytes>> {
        let part = part.into();
        if let Err(error) = self.check_open() {
            return Err(SendError { error, value: part });
        }
        self.send
            .message(
                &mut self.out,
                &self.config.limits,
                kind,
                part,
                Framing::Fragment { last },
                true,
            )
            .map_err(|(error, value)| SendError { error, value })
    }

    /// Sends a ping (payload at most 125 bytes).
    pub fn ping(&mut self, payload: impl AsRef<[u8]>) -> Result<(), UsageError> {
        self.check_open()?;
        self.send.checked_control(
            &mut self.out,
            &self.config.limits,
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
            &self.config.limits,
            crate::frame::OpCode::Pong,
            payload.as_ref(),
        )
    }

    fn check_open(&self) -> Result<(), UsageError> {
        match self.phase {
            Phase::Open => Ok(()),
            Phase::AwaitRequest(_)
            | Phase::AwaitDecision(_)
            | Phase::AwaitResponse(_)
            | Phase::ReadingRejection(_) => Err(UsageError::NotOpen),
            Phase::CloseSent => Err(UsageError::Closing),
            Phase::Closed(_) => Err(UsageError::Closed),
        }
    }

    // --------------------------------------------------------------- internals

    /// Whether [`Self::advance`] would do nothing: frames flow, no input is
    /// buffered or stashed, the receiver has nothing pending, no EOF to
    /// handle.
    #[inline]
    fn idle(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::CloseSent)
            && self.input.is_empty()
            && self.stash.is_none()
            && !self.eof
            && !self.recv.has_pending_work()
    }

    /// Processes input from the input buffer (and EOF) until an event is
    /// queued or nothing more can happen.
    fn advance(&mut self) {
        while self.events.is_empty() {
            if let Some(item) = self.stash.take() {
                self.received(item);
                continue;
            }
            if !self.step() {
                break;
            }
        }
    }

    /// One unit of progress on buffered input; `false` when blocked.
    fn step(&mut self) -> bool {
        match self.phase {
            Phase::AwaitRequest(_) => self.step_request(),
            Phase::AwaitResponse(_) => self.step_response(),
            Phase::ReadingRejection(_) => self.step_rejection(),
            Phase::AwaitDecision(_) => false,
            Phase::Open | Phase::CloseSent => {
                if !self.input.is_empty() || self.recv.has_pending_work() {
                    let (used, item) = self.recv.process(self.input.data(), &self.config);
                    self.input.consume(used);
                    if let Some(item) = item {
                        self.received(item);
                        return true;
                    }
                    if used > 0 {
                        return true;
                    }
                }
                if self.eof {
                    // §7.1.5: the transport closed without a Close frame.
                    self.finish(Teardown::after_eof());
                    return true;
                }
                false
            }
            Phase::Closed(_) => {
                self.input.clear();
                false
            }
        }
    }

    /// Processes frames straight from `data`; returns how many bytes were
    /// used. With `ahead`, it goes on while an event waits: at most what the
    /// input buffer could still hold, the first item kept in the stash.
    fn process_frames(&mut self, data: &[u8], ahead: bool) -> usize {
        let mut at = 0;
        while at < data.len()
            && self.stash.is_none()
            && (ahead || self.events.is_empty())
            && matches!(self.phase, Phase::Open | Phase::CloseSent)
        {
            let waiting = !self.events.is_empty();
            let end = if waiting {
                let budget = self.input_cap().saturating_sub(self.ahead);
                data.len().min(at + budget)
            } else {
                data.len()
            };
            if end == at {
                break;
            }
            let (used, item) = self.recv.process(&data[at..end], &self.config);
            at += used;
            if waiting {
                self.ahead += used;
            }
            match item {
                Some(item) if waiting => self.stash = Some(item),
                Some(item) => self.received(item),
                None if at < end => break,
                None => {}
            }
        }
        if matches!(self.phase, Phase::Closed(_)) {
            // Input after the end is discarded.
            return data.len();
        }
        at
    }

    /// Something the receiver produced.
    fn received(&mut self, item: recv::Received) {
        use recv::Received;
        match item {
            Received::Message(m) => self.events.push_back(Event::Message(m)),
            Received::Chunk(c) => self.events.push_back(Event::Chunk(c)),
            Received::Ping(payload) => {
                // §5.5.2: answered until the peer's Close arrives, even
                // after ours was sent.
                if self.config.auto_pong {
                    self.auto_pong(&payload);
                }
                self.events.push_back(Event::Ping(payload));
            }
            Received::Pong(payload) => self.events.push_back(Event::Pong(payload)),
            Received::Close(frame) => self.close_received(frame),
            Received::Fail(error) => self.fail_with(error),
        }
    }
}
