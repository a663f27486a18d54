//! [`ReadHalf`] and [`WriteHalf`]: one connection driven from two tasks.
//!
//! The connection and the transport sit behind a `std::sync::Mutex` that
//! is only ever held for one synchronous poll, never across an `.await`.
//! Only the read half reads; both halves write (the read half writes the
//! automatic pongs and close echoes itself, so they go out even if the
//! application never touches the write half). A write that would block
//! registers one waker that wakes both halves, and each half wakes the
//! other when it changed something the other may wait for.

use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker, ready};

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wsmachine::{Bytes, CloseCode, Closed, Connection, Instant, Message, State};

use crate::driver::{Driver, Io, Timer};
use crate::{Error, Incoming, WebSocketStream};

const READER: usize = 0;
const WRITER: usize = 1;

/// The two halves' wakers; waking it wakes both.
#[derive(Debug, Default)]
struct Wakers(Mutex<[Option<Waker>; 2]>);

impl Wakers {
    fn register(&self, half: usize, waker: &Waker) {
        let mut slots = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !slots[half].as_ref().is_some_and(|w| w.will_wake(waker)) {
            slots[half] = Some(waker.clone());
        }
    }

    fn wake_half(&self, half: usize) {
        let waker = self.0.lock().unwrap_or_else(|e| e.into_inner())[half].take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_half(READER);
        self.wake_half(WRITER);
    }
}

#[derive(Debug)]
struct Inner<S> {
    driver: Box<Driver>,
    /// The whole transport: only the read half reads, both write. (No
    /// `tokio::io::split`: its own lock and allocation would be a second
    /// pair for what this lock already guards.)
    io: S,
}

#[derive(Debug)]
struct Shared<S> {
    inner: Mutex<Inner<S>>,
    wakers: Arc<Wakers>,
    /// Given to the transport for writes: wakes both halves.
    both: Waker,
}

impl<S> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, Inner<S>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the connection as `half`, then wakes the other half if
    /// the connection changed in a way it may wait for (output drained,
    /// state, the next deadline).
    fn with<T>(&self, half: usize, waker: &Waker, f: impl FnOnce(&mut Inner<S>) -> T) -> T {
        self.wakers.register(half, waker);
        let mut inner = self.lock();
        let before = Snapshot::of(&inner.driver.conn);
        let out = f(&mut inner);
        let after = Snapshot::of(&inner.driver.conn);
        drop(inner);
        if after.wakes_from(&before) {
            self.wakers.wake_half(1 - half);
        }
        out
    }
}

#[derive(PartialEq)]
struct Snapshot {
    output: usize,
    state: State,
    finished: bool,
    deadline: Option<Instant>,
}

impl Snapshot {
    fn of(conn: &Connection) -> Snapshot {
        Snapshot {
            output: conn.output_len(),
            state: conn.state(),
            finished: conn.is_finished(),
            deadline: conn.poll_timeout(),
        }
    }

    fn wakes_from(&self, before: &Snapshot) -> bool {
        self.output < before.output
            || (self.state, self.finished, self.deadline)
                != (before.state, before.finished, before.deadline)
    }
}

/// The transport as a half sees it: reads for the read half only (with
/// its waker), writes polled with the waker of both halves.
struct Halves<'a, S> {
    io: &'a mut S,
    reads: bool,
    both: &'a Waker,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Io for Halves<'_, S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.reads {
            Pin::new(&mut *self.io).poll_read(cx, buf)
        } else {
            Poll::Pending
        }
    }
    fn poll_write(&mut self, _: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write_vectored(&mut Context::from_waker(self.both), bufs)
    }
    fn poll_flush(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_flush(&mut Context::from_waker(self.both))
    }
    fn poll_shutdown(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_shutdown(&mut Context::from_waker(self.both))
    }
}

/// The receiving half of a split [`WebSocketStream`]: a `Stream` of
/// messages (and [`recv`](Self::recv)). It also writes the automatic pongs
/// and close echoes, and finishes the teardown: poll it until it ends.
#[derive(Debug)]
pub struct ReadHalf<S> {
    shared: Arc<Shared<S>>,
    timer: Timer,
    failed: bool,
}

/// The sending half of a split [`WebSocketStream`]: a `Sink` of messages,
/// plus [`ping`](Self::ping) and [`close`](Self::close).
#[derive(Debug)]
pub struct WriteHalf<S> {
    shared: Arc<Shared<S>>,
    timer: Timer,
}

/// The halves given to [`ReadHalf::reunite`] came from different streams.
#[derive(Debug)]
pub struct ReuniteError<S>(pub ReadHalf<S>, pub WriteHalf<S>);

impl<S> std::fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the halves belong to different streams")
    }
}

impl<S: std::fmt::Debug> std::error::Error for ReuniteError<S> {}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Splits the stream into a write half and a read half that can be used
    /// from separate tasks (the same order as `StreamExt::split`).
    pub fn split(self) -> (WriteHalf<S>, ReadHalf<S>) {
        let wakers = Arc::new(Wakers::default());
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                driver: self.driver,
                io: self.io,
            }),
            both: Waker::from(wakers.clone()),
            wakers,
        });
        let write = WriteHalf {
            shared: shared.clone(),
            timer: Timer::default(),
        };
        let read = ReadHalf {
            shared,
            timer: self.timer,
            failed: self.failed,
        };
        (write, read)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> ReadHalf<S> {
    /// Polls for the next item of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Incoming, Error>>> {
        let Self { shared, timer, .. } = self;
        let waker = cx.waker().clone();
        shared.with(READER, &waker, |inner| {
            let Inner { driver, io } = inner;
            let mut io = Halves {
                io,
                reads: true,
                both: &shared.both,
            };
            crate::poll_incoming(driver, |d, cx| d.poll_event(&mut io, timer, cx), cx)
        })
    }

    /// The next message, chunk, ping, pong or close; `None` once the
    /// connection is finished. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Incoming, Error>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// How the connection ended, once it has.
    pub fn closed(&self) -> Option<Closed> {
        self.shared.lock().driver.closed().cloned()
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.shared.lock().driver.conn.state()
    }

    /// Whether both halves came from the same stream.
    pub fn is_pair_of(&self, other: &WriteHalf<S>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Puts the stream back together.
    pub fn reunite(self, other: WriteHalf<S>) -> Result<WebSocketStream<S>, ReuniteError<S>> {
        if !self.is_pair_of(&other) {
            return Err(ReuniteError(self, other));
        }
        drop(other);
        let shared = Arc::try_unwrap(self.shared).unwrap_or_else(|_| unreachable!("one pair"));
        let inner = shared.inner.into_inner().unwrap_or_else(|e| e.into_inner());
        Ok(WebSocketStream {
            io: inner.io,
            driver: inner.driver,
            timer: self.timer,
            failed: self.failed,
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for ReadHalf<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut failed = this.failed;
        let item = crate::poll_messages(|cx| this.poll_recv(cx), &mut failed, cx);
        this.failed = failed;
        item
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WriteHalf<S> {
    fn run<T>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Driver, &mut Halves<'_, S>, &mut Timer, &mut Context<'_>) -> T,
    ) -> T {
        let Self { shared, timer } = self;
        let waker = cx.waker().clone();
        shared.with(WRITER, &waker, |inner| {
            let Inner { driver, io } = inner;
            let mut io = Halves {
                io,
                reads: false,
                both: &shared.both,
            };
            f(driver, &mut io, timer, cx)
        })
    }

    /// How the connection ended, once it has.
    pub fn closed(&self) -> Option<Closed> {
        self.shared.lock().driver.closed().cloned()
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.shared.lock().driver.conn.state()
    }

    /// Sends a message and writes it out.
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
    /// through the read half's [`recv`](ReadHalf::recv).
    pub async fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        let payload = payload.into();
        self.shared
            .lock()
            .driver
            .conn
            .ping(payload)
            .map_err(Error::from_usage)?;
        poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Starts the closing handshake and writes the Close frame out (at most
    /// the close timeout, if the peer does not read). The read half yields
    /// what still arrives, then ends once the connection is finished.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        poll_fn(|cx| self.poll_close_with(code, reason, cx)).await
    }

    fn poll_close_with(
        &mut self,
        code: CloseCode,
        reason: &str,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Error>> {
        self.run(cx, |driver, io, timer, cx| {
            // The held message goes first; then the Close frame is queued
            // at once, so that the close timer bounds the writing of all
            // that is queued (a peer that never reads).
            ready!(driver.poll_pending(io, timer, cx))?;
            if driver.conn.state() == State::Open {
                driver.conn.close(code, reason).map_err(Error::from_usage)?;
            }
            while driver.poll_write_out(io, cx).is_pending() {
                if !driver.poll_timers(timer, cx) {
                    return Poll::Pending;
                }
            }
            match driver.take_io_error() {
                Some(e) => Poll::Ready(Err(Error::Io(e))),
                None => Poll::Ready(Ok(())),
            }
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WriteHalf<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().run(cx, |driver, io, timer, cx| {
            ready!(driver.poll_pending(io, timer, cx))?;
            Poll::Ready(crate::check_sendable(&driver.conn))
        })
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        crate::start_send(&mut self.shared.lock().driver, message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut()
            .run(cx, |driver, io, timer, cx| driver.poll_flush(io, timer, cx))
    }

    /// Flushes, starts the closing handshake (1000) if the connection is
    /// open and writes the Close frame out. The read half finishes the
    /// teardown.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_close_with(CloseCode::NORMAL, "", cx)
    }
}
