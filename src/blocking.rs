//! A blocking driver: [`WebSocket`] runs a [`Connection`] over any
//! `std::io::Read + Write` stream, one thread per connection, the way
//! `std::net` code is written.
//!
//! ```no_run
//! use wsmachine::blocking::{Error, WebSocket};
//!
//! # fn main() -> Result<(), Error> {
//! let (mut ws, _response) = WebSocket::connect("ws://127.0.0.1:9001/")?;
//! ws.send("hello")?;
//! let reply = ws.read()?;
//! println!("{}", reply.as_text().unwrap_or("<binary>"));
//! ws.close(wsmachine::CloseCode::NORMAL, "bye")?;
//! // Keep reading: messages sent before the peer's Close still arrive, and
//! // the end comes once the Close frames are exchanged and the transport
//! // is torn down.
//! loop {
//!     match ws.read() {
//!         Ok(message) => println!("late: {message:?}"),
//!         Err(Error::Closed(closed)) => break println!("closed: {}", closed.code),
//!         Err(other) => return Err(other),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! What it decides:
//!
//! - **Pings, pongs and the close are not messages.** Pings are answered
//!   automatically (see [`Config::auto_pong`]); [`WebSocket::read`] returns
//!   data messages only, [`WebSocket::read_event`] every event. The end of
//!   the connection is the `Err` every call returns once the connection is
//!   finished: [`Error::Closed`] (a closing handshake or the peer's EOF) or
//!   [`Error::Failed`] (the peer broke the protocol, a timer ran out, the
//!   transport failed), both with the [`Closed`] summary.
//! - **Nothing is lost at the end.** A call that sees the connection close
//!   keeps driving it, following [the polling order](Connection#the-polling-order),
//!   until [`Connection::is_finished`]: the last Close frame (an echo, or
//!   the 1002 this side sends for a protocol violation) is written, a server
//!   half-closes, and both wait (bounded by the close timeout) for the
//!   peer's EOF. Then the stream's write side is shut down, so that the
//!   peer sees the end while the `WebSocket` lives on; dropping it closes
//!   the socket.
//! - **Timers run on read timeouts.** Every read is bounded by
//!   [`Connection::poll_timeout`], so handshake, close and keepalive
//!   deadlines fire while the thread blocks; every write by the next
//!   deadline and by a no-progress timeout
//!   ([`WebSocket::set_write_timeout`], 30 s by default) against a peer
//!   that never reads.
//! - **Bounded memory.** No buffer of its own: the connection's limits
//!   bound everything. [`WebSocket::write`] waits for room in the output
//!   buffer instead of growing it.
//!
//! The stream must be blocking and implement [`Transport`] (timeouts and
//! half-close); `TcpStream` and `UnixStream` do. A TLS stream implements it
//! by delegating the timeouts to its socket and sending `close_notify` on
//! [`Transport::shutdown_write`].

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use core::time::Duration;
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::Instant as StdInstant;

use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::{Connection, State};
use crate::event::{Closed, Event, Open};
use crate::handshake::{Accept, ClientRequest, Reject, Request, Response};
use crate::message::Message;
use crate::time::Clock;
use crate::usage::UsageError;

/// How long a write may make no progress before the peer is taken for
/// gone, unless [`WebSocket::set_write_timeout`] says otherwise.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A blocking byte stream a [`WebSocket`] can run over: `Read + Write`,
/// plus the timeouts the connection's timers need and a half-close.
pub trait Transport: Read + Write {
    /// Bounds how long a read blocks (`None`: forever). The driver sets it
    /// before every read.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;
    /// Bounds how long a write blocks (`None`: forever).
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;
    /// Shuts down the write side, once the connection will write nothing
    /// more (TCP: `shutdown(Write)`; TLS: `close_notify`, then the socket's
    /// write side).
    fn shutdown_write(&mut self) -> io::Result<()>;
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

impl<T: Transport + ?Sized> Transport for alloc::boxed::Box<T> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

/// Why a [`WebSocket`] call did not return a message.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The connection is over without a failure: the closing handshake
    /// finished (either side first) or the peer closed the transport
    /// without one (code 1006). Every later call returns it again.
    Closed(Closed),
    /// The peer, a timer or the transport failed the connection; the
    /// connection sent the matching close code first (or HTTP status during
    /// the opening handshake). Every later call returns it again.
    Failed {
        /// Why.
        error: crate::Error,
        /// How the connection ended.
        closed: Closed,
    },
    /// Reading or writing failed (the connection is over: later calls
    /// return [`Error::Failed`] with [`crate::Error::Transport`]), or
    /// connecting or configuring the stream did.
    Io(io::Error),
    /// No message arrived within [`WebSocket::set_read_timeout`]; the
    /// connection is unchanged, call again.
    WouldBlock,
    /// The application asked for something the connection cannot do now
    /// (send after close, an invalid close code, …); nothing changed.
    Usage(UsageError),
}

impl Error {
    /// How the connection ended, if it did ([`Error::Closed`] or
    /// [`Error::Failed`]).
    pub fn closed(&self) -> Option<&Closed> {
        match self {
            Error::Closed(c) | Error::Failed { closed: c, .. } => Some(c),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Closed(c) => write!(f, "connection closed ({} {})", c.code, c.reason),
            Error::Failed { error, .. } => write!(f, "connection failed: {error}"),
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::WouldBlock => f.write_str("no message within the read timeout"),
            Error::Usage(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Failed { error, .. } => Some(error),
            Error::Io(e) => Some(e),
            Error::Usage(e) => Some(e),
            Error::Closed(_) | Error::WouldBlock => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Error {
        Error::Usage(e)
    }
}

impl<T> From<crate::SendError<T>> for Error {
    fn from(e: crate::SendError<T>) -> Error {
        Error::Usage(e.error)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io(e) => e,
            Error::Usage(u) => u.into(),
            Error::WouldBlock => ErrorKind::WouldBlock.into(),
            Error::Closed(_) => io::Error::new(ErrorKind::ConnectionAborted, e),
            Error::Failed { .. } => io::Error::other(e),
        }
    }
}

/// A WebSocket connection over a blocking stream.
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    clock: Clock,
    shut: bool,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    /// The timeout last set on the stream (`None`: not set yet).
    stream_read_timeout: Option<Option<Duration>>,
    stream_write_timeout: Option<Option<Duration>>,
    failure: Option<crate::Error>,
    closed: Option<Closed>,
    /// A transport failure not yet returned.
    io_error: Option<io::Error>,
}

impl WebSocket<TcpStream> {
    /// Connects to a `ws://` URI with the default configuration and runs the
    /// opening handshake; returns the server's 101 answer too.
    pub fn connect(uri: &str) -> Result<(Self, Response), Error> {
        WebSocket::connect_with(&ClientRequest::new(uri)?, Config::default())
    }

    /// Connects for `request` (subprotocols, headers) with `config`. The TCP
    /// connect is bounded by the handshake timeout; `wss://` needs a TLS
    /// stream: pass one to [`WebSocket::client`].
    pub fn connect_with(
        request: &ClientRequest,
        config: impl Into<Arc<Config>>,
    ) -> Result<(Self, Response), Error> {
        if request.is_tls() {
            return Err(Error::Io(io::Error::new(
                ErrorKind::Unsupported,
                "wss:// needs a TLS stream: pass one to WebSocket::client",
            )));
        }
        let config = config.into();
        let host = request.host().trim_start_matches('[').trim_end_matches(']');
        let mut last = io::Error::new(ErrorKind::NotFound, "the host has no address");
        for addr in (host, request.port()).to_socket_addrs()? {
            let tcp = match config.handshake_timeout {
                Some(t) => TcpStream::connect_timeout(&addr, t),
                None => TcpStream::connect(addr),
            };
            match tcp {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return WebSocket::client(stream, request, config);
                }
                Err(e) => last = e,
            }
        }
        Err(Error::Io(last))
    }
}

impl<S: Transport> WebSocket<S> {
    /// Runs the server side of the opening handshake on `stream` with the
    /// default configuration, accepting any request (no subprotocol).
    pub fn accept(stream: S) -> Result<Self, Error> {
        WebSocket::accept_with(stream, Config::default(), |_| Ok(Accept::new()))
    }

    /// Runs the server side of the opening handshake with `config`;
    /// `decide` sees the request (path, headers, Origin, subprotocols) and
    /// accepts or rejects it. A rejected request ends in
    /// [`Error::Closed`] once the answer is written.
    pub fn accept_with(
        stream: S,
        config: impl Into<Arc<Config>>,
        decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
    ) -> Result<Self, Error> {
        let conn = Connection::server(config);
        WebSocket::handshake(stream, conn, decide).map(|(ws, _)| ws)
    }

    /// Runs the client side of the opening handshake for `request` on an
    /// established `stream` (TCP, TLS, a Unix socket); returns the server's
    /// 101 answer too. A non-101 answer ends in [`Error::Failed`] with
    /// [`HandshakeError::Rejected`](crate::HandshakeError::Rejected), which
    /// keeps it whole.
    pub fn client(
        stream: S,
        request: &ClientRequest,
        config: impl Into<Arc<Config>>,
    ) -> Result<(Self, Response), Error> {
        let conn = Connection::client(config, request)?;
        let (ws, open) = WebSocket::handshake(stream, conn, |_| Ok(Accept::new()))?;
        let response = open.response.ok_or(Error::Usage(UsageError::NotOpen))?;
        Ok((ws, response))
    }

    /// Drives `conn`, a client or server connection that has not finished
    /// its opening handshake, until it is open; a server's request goes to
    /// `decide`. The connection may already hold bytes read earlier (a
    /// server that peeked at the request head to route it: `feed` them
    /// first).
    pub fn handshake(
        stream: S,
        conn: Connection,
        decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
    ) -> Result<(Self, Open), Error> {
        let mut ws = WebSocket::from_open(stream, conn);
        let mut decide = Some(decide);
        loop {
            match ws.next_event(None)? {
                Event::Request(request) => {
                    let decide = decide.take().ok_or(UsageError::NoPendingRequest)?;
                    match decide(&request) {
                        Ok(accept) => ws.conn.accept(accept)?,
                        Err(reject) => ws.conn.reject(reject)?,
                    }
                }
                Event::Open(open) => return Ok((ws, open)),
                _ => {}
            }
        }
    }

    /// Wraps a connection that is already open (its handshake was done
    /// elsewhere: [`Connection::upgraded_server`],
    /// [`Connection::upgraded_client`]).
    pub fn from_open(stream: S, conn: Connection) -> Self {
        WebSocket {
            stream,
            conn,
            clock: Clock::new(),
            shut: false,
            read_timeout: None,
            write_timeout: Some(DEFAULT_WRITE_TIMEOUT),
            stream_read_timeout: None,
            stream_write_timeout: None,
            failure: None,
            closed: None,
            io_error: None,
        }
    }

    /// The next data message. Pings are answered and pongs dropped on the
    /// way (see [`read_event`](Self::read_event) to see them). With
    /// [`Delivery::Chunks`](crate::Delivery::Chunks) each chunk comes as a
    /// message of its own; `read_event` tells where messages end.
    pub fn read(&mut self) -> Result<Message, Error> {
        let deadline = self.read_timeout.map(|t| StdInstant::now() + t);
        loop {
            match self.next_event(deadline)? {
                Event::Message(m) => return Ok(m),
                Event::Chunk(c) => {
                    return Ok(match c.kind {
                        crate::MessageKind::Binary => Message::Binary(c.data),
                        crate::MessageKind::Text => Message::Text(
                            crate::Utf8Bytes::try_from_bytes(c.data)
                                .map_err(|_| Error::Usage(UsageError::InvalidUtf8))?,
                        ),
                    });
                }
                Event::Request(_) => return Err(Error::Usage(UsageError::NotOpen)),
                _ => {}
            }
        }
    }

    /// The next event: messages, chunks, pings, pongs (and, for a
    /// connection still in its handshake, the request or `Open`). The end
    /// of the connection comes as `Err`, as for [`read`](Self::read).
    pub fn read_event(&mut self) -> Result<Event, Error> {
        let deadline = self.read_timeout.map(|t| StdInstant::now() + t);
        self.next_event(deadline)
    }

    /// Sends a message and writes it out ([`write`](Self::write), then
    /// [`flush`](Self::flush)).
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.write(message)?;
        self.flush()
    }

    /// Queues a message without writing it, unless the output buffer is
    /// full: then pending output is written until it fits.
    pub fn write(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let mut message = message.into();
        loop {
            match self.conn.send(message) {
                Ok(()) => return Ok(()),
                Err(e) if matches!(e.error, UsageError::OutputFull { .. }) => {
                    message = e.into_inner();
                    self.flush()?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes out everything pending.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.write_out();
        match self.io_error.take() {
            Some(e) => Err(Error::Io(e)),
            None => Ok(()),
        }
    }

    /// Sends a ping (at most 125 bytes); its pong comes through
    /// [`read_event`](Self::read_event).
    pub fn ping(&mut self, payload: impl AsRef<[u8]>) -> Result<(), Error> {
        self.conn.ping(payload)?;
        self.flush()
    }

    /// Starts the closing handshake and writes the Close frame. Keep
    /// reading: messages the peer sent before its Close still arrive, then
    /// [`Error::Closed`] once the handshake and the teardown are done
    /// (bounded by the close timeout).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.conn.close(code, reason)?;
        self.flush()
    }

    /// How long [`read`](Self::read) and [`read_event`](Self::read_event)
    /// wait for a message before returning [`Error::WouldBlock`] (`None`,
    /// the default: until one arrives or the connection ends). Timers run
    /// either way.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout.filter(|t| !t.is_zero());
    }

    /// How long a write may make no progress before the transport is taken
    /// for failed ([`DEFAULT_WRITE_TIMEOUT`] by default; `None`: forever).
    /// Writes are also bounded by the connection's own deadlines.
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.write_timeout = timeout.filter(|t| !t.is_zero());
    }

    /// The connection (state, agreed subprotocol and extensions, limits).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for what this type does not wrap (fragments,
    /// `fail`, `abort`). Call [`flush`](Self::flush) after acting on it.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream. Reading or writing it directly corrupts the connection.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The stream and the connection.
    pub fn into_parts(self) -> (S, Connection) {
        (self.stream, self.conn)
    }

    /// The polling order, until an event for the application, the end, or
    /// `deadline`.
    fn next_event(&mut self, deadline: Option<StdInstant>) -> Result<Event, Error> {
        loop {
            // 1. Events; what they made the connection queue (pongs,
            //    echoes) is written before the event is returned.
            while let Some(event) = self.conn.poll_event() {
                match event {
                    Event::Error(e) => self.failure = Some(e),
                    Event::Closed(c) => self.closed = Some(c),
                    event => {
                        self.write_out();
                        return Ok(event);
                    }
                }
            }
            // 2. Write. 3. Half-close. 4. Stop when finished.
            self.write_out();
            if self.conn.wants_shutdown() && !self.shut {
                self.shut = true;
                // A peer that is gone shows up on the next read.
                let _ = self.stream.shutdown_write();
            }
            if self.conn.is_finished() {
                if !self.shut {
                    // The peer sees the end now, not when this value is
                    // dropped (a client's close, or a side that gave up).
                    self.shut = true;
                    let _ = self.stream.shutdown_write();
                }
                return Err(self.outcome());
            }
            // 5. Wait for input, the next deadline, or the caller's.
            let now = self.clock.now();
            let timer = match self.conn.poll_timeout() {
                Some(t) if t <= now => {
                    self.conn.handle_timeout(now);
                    continue;
                }
                t => t.map(|t| t - now),
            };
            let mine = match deadline {
                Some(d) => match d.checked_duration_since(StdInstant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Err(Error::WouldBlock),
                },
                None => None,
            };
            let wait = min_wait(timer, mine);
            if !self.conn.wants_read() {
                // Only a timer (or the caller's deadline) can move it on.
                let Some(wait) = wait else {
                    return Err(Error::Io(io::Error::other(
                        "the connection waits for nothing: no input wanted, no timer",
                    )));
                };
                std::thread::sleep(wait);
                continue;
            }
            if self.stream_read_timeout != Some(wait) {
                if let Err(e) = self.stream.set_read_timeout(wait) {
                    self.fail_transport(e);
                    continue;
                }
                self.stream_read_timeout = Some(wait);
            }
            let buf = self.conn.read_buf();
            if buf.is_empty() {
                // wants_read() promised room; never read into nothing (a
                // read of 0 bytes would look like EOF).
                return Err(Error::Io(io::Error::other("no room to read into")));
            }
            match self.stream.read(buf) {
                Ok(0) => self.conn.feed_eof(),
                Ok(n) => self.conn.commit_read(n),
                Err(e) if is_timeout(&e) || e.kind() == ErrorKind::Interrupted => {}
                Err(e) => self.fail_transport(e),
            }
        }
    }

    /// Writes pending output, each write bounded by the next deadline and
    /// the no-progress timeout. A failed write is a transport error.
    fn write_out(&mut self) {
        let mut progress = StdInstant::now();
        while self.conn.wants_write() {
            let now = self.clock.now();
            let timer = match self.conn.poll_timeout() {
                Some(t) if t <= now => {
                    // The close timer gives up on the output, a keepalive
                    // timer may queue a ping: look again.
                    self.conn.handle_timeout(now);
                    continue;
                }
                t => t.map(|t| t - now),
            };
            let stall = match self.write_timeout {
                Some(limit) => match limit.checked_sub(progress.elapsed()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => {
                        self.fail_transport(io::Error::new(
                            ErrorKind::TimedOut,
                            "the peer read nothing within the write timeout",
                        ));
                        return;
                    }
                },
                None => None,
            };
            let wait = min_wait(timer, stall);
            if self.stream_write_timeout != Some(wait) {
                if let Err(e) = self.stream.set_write_timeout(wait) {
                    self.fail_transport(e);
                    return;
                }
                self.stream_write_timeout = Some(wait);
            }
            let mut slices = [IoSlice::new(&[]); 16];
            let n = self.conn.output_vectored(&mut slices);
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => {
                    self.fail_transport(ErrorKind::WriteZero.into());
                    return;
                }
                Ok(written) => {
                    self.conn.consume_output(written);
                    progress = StdInstant::now();
                }
                Err(e) if is_timeout(&e) || e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.fail_transport(e);
                    return;
                }
            }
        }
    }

    fn fail_transport(&mut self, e: io::Error) {
        // After the close, the transport's end changes nothing the
        // application needs to hear about.
        if self.conn.state() != State::Closed && self.io_error.is_none() {
            self.io_error = Some(e);
        }
        self.conn.transport_error();
    }

    /// What every call returns once the connection is finished.
    fn outcome(&mut self) -> Error {
        if let Some(e) = self.io_error.take() {
            return Error::Io(e);
        }
        let closed = self.closed.clone().unwrap_or_else(|| Closed {
            code: CloseCode::ABNORMAL,
            reason: String::new(),
            clean: false,
            sent: None,
            initiated_locally: false,
        });
        match &self.failure {
            Some(error) => Error::Failed {
                error: error.clone(),
                closed,
            },
            None => Error::Closed(closed),
        }
    }
}

fn min_wait(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A read or write timeout (`WouldBlock` on Unix, `TimedOut` on Windows).
fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}
