//! [`WebSocketStream`]: a connection over one transport, as a `Stream` of
//! messages and a `Sink` of messages.

use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wsmachine::{Bytes, CloseCode, Closed, Connection, Event, Message};

use crate::driver::{Driver, Io, Timer};
use crate::{Error, Incoming};

/// A WebSocket connection over a transport `S` (a `TcpStream`, a TLS
/// stream, hyper's upgraded connection, a `DuplexStream` …).
///
/// - As a [`Stream`] it yields the data messages; it ends (`None`) once the
///   connection is finished: the closing handshake is done and the
///   transport torn down. An error comes once, before the end.
/// - As a [`Sink`] it takes messages; `poll_ready` waits while the output
///   buffer is full (backpressure), holding at most one refused message.
/// - [`recv`](Self::recv) yields everything: messages, chunks, pings, pongs
///   and the close.
///
/// Pings are answered by the connection itself, while the stream is
/// polled. See the crate documentation for closing.
#[derive(Debug)]
pub struct WebSocketStream<S> {
    pub(crate) io: S,
    /// Boxed: the stream is moved through every future that holds it (the
    /// handshake's, the application's task), and each would otherwise keep
    /// its own copy of the connection's room inline.
    pub(crate) driver: Box<Driver>,
    pub(crate) timer: Timer,
    /// An error was handed to the `Stream`.
    pub(crate) failed: bool,
}

/// The whole transport, for the driver.
struct Whole<'a, S>(&'a mut S);

impl<S: AsyncRead + AsyncWrite + Unpin> Io for Whole<'_, S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
    fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Drives `conn` over `io`. The connection may still be in its opening
    /// handshake (the stream then runs it), or open already
    /// ([`Connection::upgraded_server`], e.g. after a hyper upgrade).
    pub fn from_connection(io: S, conn: Connection) -> WebSocketStream<S> {
        WebSocketStream {
            io,
            driver: Box::new(Driver::new(conn)),
            timer: Timer::default(),
            failed: false,
        }
    }

    /// The connection (state, subprotocol, extensions, buffer use).
    pub fn connection(&self) -> &Connection {
        &self.driver.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// How the connection ended, once it has.
    pub fn closed(&self) -> Option<&Closed> {
        self.driver.closed()
    }

    /// Gives back the transport and the connection (e.g. to drive the
    /// connection some other way). Output not yet written stays in the
    /// connection.
    pub fn into_parts(self) -> (S, Connection) {
        (self.io, self.driver.conn)
    }

    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.driver
            .poll_event(&mut Whole(&mut self.io), &mut self.timer, cx)
    }

    pub(crate) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.driver.poll_write_out(&mut Whole(&mut self.io), cx)
    }

    /// Polls for the next item of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Incoming, Error>>> {
        let Self {
            io, driver, timer, ..
        } = self;
        crate::poll_incoming(driver, |d, cx| d.poll_event(&mut Whole(io), timer, cx), cx)
    }

    /// The next message, chunk, ping, pong or close; `None` once the
    /// connection is finished. Cancel-safe: dropping the future loses
    /// nothing (it holds no state; what was read stays in the connection).
    pub async fn recv(&mut self) -> Option<Result<Incoming, Error>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Sends a message and writes it out: [`SinkExt::send`] without
    /// needing `futures-util`.
    ///
    /// [`SinkExt::send`]: https://docs.rs/futures/latest/futures/sink/trait.SinkExt.html#method.send
    ///
    /// The future is small (the message and a reference): an application's
    /// task holds the largest future it awaits for as long as it lives.
    pub fn send(
        &mut self,
        message: impl Into<Message>,
    ) -> impl Future<Output = Result<(), Error>> + '_ {
        crate::send_flushed(self, message.into())
    }

    /// Sends a ping (at most 125 bytes) and writes it out; the pong comes
    /// through [`recv`](Self::recv).
    pub async fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        self.driver
            .conn
            .ping(payload.into())
            .map_err(Error::from_usage)?;
        poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Closes the connection and waits until it is finished: sends a Close
    /// frame with `code` and `reason`, discards the messages that still
    /// arrive, waits for the peer's Close and for the transport to end (at
    /// most the close timeout). Returns how it ended.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<Closed, Error> {
        if self.driver.conn.state() == wsmachine::State::Open {
            self.driver
                .conn
                .close(code, reason)
                .map_err(Error::from_usage)?;
        }
        while poll_fn(|cx| self.poll_event(cx)).await.is_some() {}
        self.driver.closed().cloned().ok_or(Error::Closed)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketStream<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut failed = this.failed;
        let item = crate::poll_messages(|cx| this.poll_recv(cx), &mut failed, cx);
        this.failed = failed;
        item
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketStream<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let Self {
            io, driver, timer, ..
        } = self.get_mut();
        ready!(driver.poll_pending(&mut Whole(io), timer, cx))?;
        Poll::Ready(crate::check_sendable(&driver.conn))
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        crate::start_send(&mut self.get_mut().driver, message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let Self {
            io, driver, timer, ..
        } = self.get_mut();
        driver.poll_flush(&mut Whole(io), timer, cx)
    }

    /// Flushes, starts the closing handshake (1000) if the connection is
    /// open, and drives it to the end: messages that still arrive are
    /// discarded; done once the transport is torn down.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        // The held message goes first; then the Close frame is queued at
        // once, so that the close timer bounds the rest.
        let Self {
            io, driver, timer, ..
        } = this;
        ready!(driver.poll_pending(&mut Whole(io), timer, cx))?;
        if this.driver.conn.state() == wsmachine::State::Open {
            let _ = this.driver.conn.close(CloseCode::NORMAL, "");
        }
        while ready!(this.poll_event(cx)).is_some() {}
        Poll::Ready(Ok(()))
    }
}
