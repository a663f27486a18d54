//! A tokio adapter for [wsmachine]: WebSocket connections as a
//! [`Stream`](futures_core::Stream) and a [`Sink`](futures_sink::Sink) of
//! messages, halves that run in separate tasks, `connect_async` /
//! `accept_async`, and `wss://` through `tokio-rustls` (feature `rustls`).
//!
//! The protocol is wsmachine's; this crate only moves bytes and time: it
//! reads into a buffer shared by the connections of a thread, writes what
//! the connection hands out, half-closes and stops when the connection says
//! so, and runs its timers on `tokio::time`.
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//!
//! # async fn f() -> Result<(), wsmachine_tokio::Error> {
//! // A client.
//! let (mut ws, _response) = wsmachine_tokio::connect_async("ws://127.0.0.1:9001/").await?;
//! ws.send("hello").await?;
//! while let Some(message) = ws.next().await {
//!     println!("{:?}", message?.as_text());
//!     break;
//! }
//! ws.close(wsmachine::CloseCode::NORMAL, "bye").await?;
//!
//! // A server: echo every message.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! let (tcp, _) = listener.accept().await?;
//! let ws = wsmachine_tokio::accept_async(tcp).await?;
//! let (mut sink, stream) = ws.split();
//! stream.forward(&mut sink).await?;
//! # Ok(()) }
//! ```
//!
//! # What the stream yields
//!
//! The `Stream` yields data messages only ([`Message`]: text or binary).
//! Pings are answered by the connection (while the stream, or the read
//! half, is polled), so an echo written as `stream.forward(sink)` is
//! correct; control frames never go back out as data. The end:
//!
//! | how the connection ended | `Stream` | [`recv`](WebSocketStream::recv) |
//! |---|---|---|
//! | closing handshake (either side first) | `None` | `Incoming::Closed`, `None` |
//! | the peer broke the protocol, a timer ran out | `Err(Error::WebSocket)`, `None` | the same `Err`, `Incoming::Closed`, `None` |
//! | the transport failed | `Err(Error::Io)`, `None` | the same |
//! | the transport ended without a Close frame | `Err(Error::Abnormal)`, `None` | `Incoming::Closed` (code 1006), `None` |
//!
//! The error and the close come once the connection is *finished*: its
//! last frames written (the Close frame with 1002 for a protocol
//! violation), the transport half-closed where the RFC asks, the peer's
//! end seen or the close timeout passed. So an application that stops at
//! the first error, or drops the stream after the close, loses no Close
//! frame. [`WebSocketStream::closed`] tells the close code, reason and who
//! closed. `recv` yields everything, pings, pongs and chunks
//! ([`Delivery::Chunks`](wsmachine::Delivery)) included.
//!
//! # Closing
//!
//! - [`WebSocketStream::close`] (and `Sink::poll_close`, i.e.
//!   `SinkExt::close`) sends the Close frame and drives the connection to
//!   its end, discarding messages that still arrive; at most the close
//!   timeout (5 s by default) if the peer never answers or never reads.
//! - [`WriteHalf::close`] sends the Close frame and writes it out; the read
//!   half goes on yielding messages until the peer's Close, then ends.
//!   Keep polling the read half to the end: it finishes the teardown.
//!
//! Dropping a stream before it is finished closes the transport at once;
//! that is how to abort.
//!
//! # Cancellation
//!
//! `next()`, `recv()` and the write half's `poll_ready`/`flush` are
//! cancel-safe: their futures hold no state, so dropping one in a
//! `select!` loses nothing (bytes read are in the connection; a message
//! refused for lack of room is held until the next call). `send` is not:
//! a message handed over is sent even if the future is dropped after
//! that, and the flush may not have finished.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod driver;
mod handshake;
mod split;
mod stream;
mod tls;

use std::fmt;
use std::io;
use std::task::{Context, Poll};

use wsmachine::{Bytes, Chunk, Closed, Connection, Event, Message, UsageError};

pub use crate::handshake::{
    Upgrade, accept_async, accept_async_with_config, accept_request, client_async,
    client_async_with_config, connect_async, connect_async_with_config,
};
pub use crate::split::{ReadHalf, ReuniteError, WriteHalf};
pub use crate::stream::WebSocketStream;
pub use crate::tls::MaybeTlsStream;
#[cfg(feature = "rustls")]
pub use crate::tls::connect_async_with_tls;
/// The TLS crate, for building client configurations of your own.
#[cfg(feature = "rustls")]
pub use tokio_rustls;
pub use wsmachine;

/// What [`WebSocketStream::recv`] yields.
#[derive(Debug)]
#[non_exhaustive]
pub enum Incoming {
    /// A whole data message.
    Message(Message),
    /// A piece of a message ([`Delivery::Chunks`](wsmachine::Delivery)).
    Chunk(Chunk),
    /// A ping (already answered if automatic pongs are on, the default).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The connection is closed and finished (teardown done); `None`
    /// follows. Comes after the error, if there was one.
    Closed(Closed),
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed (connect, read, write, TLS).
    Io(io::Error),
    /// The peer broke the protocol, a timer ran out or the opening
    /// handshake failed ([`wsmachine::Error`]; a rejection carries the
    /// whole HTTP answer). The connection has already answered as RFC 6455
    /// requires: the close code went out before this error.
    WebSocket(wsmachine::Error),
    /// The transport ended without a closing handshake (close code 1006).
    Abnormal,
    /// The connection is closing or closed: nothing more can be sent.
    Closed,
    /// The application asked for something the connection cannot do.
    Usage(UsageError),
    /// The `Stream` got a chunk: with
    /// [`Delivery::Chunks`](wsmachine::Delivery), read with
    /// [`recv`](WebSocketStream::recv).
    Chunked,
}

impl Error {
    fn from_usage(error: UsageError) -> Error {
        match error {
            UsageError::Closing | UsageError::Closed => Error::Closed,
            e => Error::Usage(e),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "transport: {e}"),
            Error::WebSocket(e) => e.fmt(f),
            Error::Abnormal => f.write_str("the connection ended without a closing handshake"),
            Error::Closed => f.write_str("the connection is closed"),
            Error::Usage(e) => e.fmt(f),
            Error::Chunked => f.write_str("a message chunk reached the Stream: use recv()"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::WebSocket(e) => Some(e),
            Error::Usage(e) => Some(e),
            _ => None,
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
        Error::from_usage(e)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io(e) => e,
            e => io::Error::other(e),
        }
    }
}

/// Maps events to what `recv` yields. The error and the close are handed
/// over once the connection is finished: an application that stops at the
/// first error has let the connection write its Close frame and end the
/// transport properly.
fn poll_incoming(
    d: &mut driver::Driver,
    mut poll_event: impl FnMut(&mut driver::Driver, &mut Context<'_>) -> Poll<Option<Event>>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Incoming, Error>>> {
    loop {
        let item = match std::task::ready!(poll_event(d, cx)) {
            None => match d.take_owed_error() {
                Some(e) => Err(e),
                None if std::mem::take(&mut d.owed_close) => match d.closed() {
                    Some(c) => Ok(Incoming::Closed(c.clone())),
                    None => continue,
                },
                None => return Poll::Ready(None),
            },
            Some(Event::Message(m)) => Ok(Incoming::Message(m)),
            Some(Event::Chunk(c)) => Ok(Incoming::Chunk(c)),
            Some(Event::Ping(p)) => Ok(Incoming::Ping(p)),
            Some(Event::Pong(p)) => Ok(Incoming::Pong(p)),
            Some(Event::Closed(_)) => {
                d.owed_close = true;
                continue;
            }
            Some(Event::Error(e)) => {
                let error = match (e, d.take_io_error()) {
                    (wsmachine::Error::Transport, Some(io)) => Error::Io(io),
                    (e, _) => Error::WebSocket(e),
                };
                d.owe_error(error);
                continue;
            }
            // The handshake's events are handled before the stream exists.
            Some(_) => continue,
        };
        return Poll::Ready(Some(item));
    }
}

/// Maps what `recv` yields to what the `Stream` yields.
fn poll_messages(
    mut poll_recv: impl FnMut(&mut Context<'_>) -> Poll<Option<Result<Incoming, Error>>>,
    failed: &mut bool,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Message, Error>>> {
    loop {
        return Poll::Ready(match std::task::ready!(poll_recv(cx)) {
            None => None,
            Some(Ok(Incoming::Message(m))) => Some(Ok(m)),
            Some(Ok(Incoming::Chunk(_))) => Some(Err(Error::Chunked)),
            Some(Ok(Incoming::Ping(_) | Incoming::Pong(_))) => continue,
            Some(Ok(Incoming::Closed(c))) => {
                if c.clean || c.initiated_locally || *failed {
                    continue;
                }
                *failed = true;
                Some(Err(Error::Abnormal))
            }
            Some(Err(e)) => {
                *failed = true;
                Some(Err(e))
            }
        });
    }
}

/// Whether the connection takes messages.
fn check_sendable(conn: &Connection) -> Result<(), Error> {
    match conn.state() {
        wsmachine::State::Open => Ok(()),
        wsmachine::State::Connecting => Err(Error::Usage(UsageError::NotOpen)),
        _ => Err(Error::Closed),
    }
}

/// `Sink::start_send`: send, or hold the message if the output is full.
/// `send` of the stream and of the write half: waits for room, queues
/// `message` and writes it out. The future holds only the message and the
/// reference (an application's task holds the largest future it awaits for
/// as long as it lives).
fn send_flushed<T>(
    sink: &mut T,
    message: Message,
) -> impl std::future::Future<Output = Result<(), Error>> + '_
where
    T: futures_sink::Sink<Message, Error = Error> + Unpin,
{
    let mut message = Some(message);
    std::future::poll_fn(move |cx| {
        if message.is_some() {
            std::task::ready!(std::pin::Pin::new(&mut *sink).poll_ready(cx))?;
            let message = message.take().expect("held until ready");
            std::pin::Pin::new(&mut *sink).start_send(message)?;
        }
        std::pin::Pin::new(&mut *sink).poll_flush(cx)
    })
}

fn start_send(driver: &mut driver::Driver, message: Message) -> Result<(), Error> {
    if driver.has_pending() {
        // The Sink contract: poll_ready comes first.
        return Err(Error::Usage(UsageError::OutputFull {
            pending: driver.conn.output_len(),
            limit: driver.conn.config().limits.max_output_buffer,
        }));
    }
    match driver.conn.send(message) {
        Ok(()) => Ok(()),
        Err(e) if matches!(e.error, UsageError::OutputFull { .. }) => {
            driver.set_pending(e.into_inner());
            Ok(())
        }
        Err(e) => Err(Error::from_usage(e.error)),
    }
}
