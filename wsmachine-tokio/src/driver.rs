//! The driver: moves bytes and time between a tokio transport and a
//! [`Connection`], following the connection's polling order (events, write,
//! half-close, stop when finished, wait for input or the next deadline).
//! Everything else in the crate is API around it.

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, ErrorKind, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::ReadBuf;
use tokio::time::{Instant as TokioInstant, Sleep};
use wsmachine::{Closed, Connection, Event, Instant, Message};

/// Bytes read per call. The buffer is shared by every connection polled on
/// the same thread: an idle connection keeps no read buffer of its own.
/// 64 KiB takes a 16 KiB message and its header in one read (with 16 KiB
/// every such message took two).
const READ_CHUNK: usize = 64 << 10;

thread_local! {
    static READ_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

/// A transport as the driver sees it: the unsplit stream, or a half with
/// access to the shared writer.
pub(crate) trait Io {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>>;
    fn poll_write(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>])
    -> Poll<io::Result<usize>>;
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// A connection's timer on `tokio::time`, allocated only while a deadline
/// is set.
#[derive(Debug, Default)]
pub(crate) struct Timer(Option<Pin<Box<Sleep>>>);

/// A connection and what its driver remembers.
#[derive(Debug)]
pub(crate) struct Driver {
    pub(crate) conn: Connection,
    /// `wsmachine::Instant::ZERO` on the tokio clock (so that paused time in
    /// tests moves the connection's timers too).
    origin: TokioInstant,
    /// The write side was shut down.
    shut: bool,
    /// Everything written was flushed.
    flushed: bool,
    /// `recv` owes the application the close (and the error before it),
    /// handed over once the teardown is finished.
    pub(crate) owed_close: bool,
    /// What an open, idle connection does not hold: allocated when needed,
    /// dropped again when empty and the connection goes idle.
    rare: Option<Box<Rare>>,
}

/// The driver's seldom-used parts, kept out of every idle connection.
#[derive(Debug, Default)]
struct Rare {
    /// A message refused with `OutputFull`, sent once there is room.
    pending: Option<Message>,
    /// The transport's error, handed to whoever asks first.
    io_error: Option<io::Error>,
    /// How the connection ended, once it has.
    closed: Option<Closed>,
    /// The error `recv` owes the application.
    owed_error: Option<crate::Error>,
}

impl Rare {
    fn is_empty(&self) -> bool {
        self.pending.is_none()
            && self.io_error.is_none()
            && self.closed.is_none()
            && self.owed_error.is_none()
    }
}

impl Driver {
    pub(crate) fn new(conn: Connection) -> Driver {
        Driver {
            conn,
            origin: TokioInstant::now(),
            shut: false,
            flushed: true,
            owed_close: false,
            rare: None,
        }
    }

    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Whether a refused message is held.
    pub(crate) fn has_pending(&self) -> bool {
        self.rare.as_ref().is_some_and(|r| r.pending.is_some())
    }

    /// Holds a refused message.
    pub(crate) fn set_pending(&mut self, message: Message) {
        self.rare().pending = Some(message);
    }

    /// Takes the transport's error.
    pub(crate) fn take_io_error(&mut self) -> Option<io::Error> {
        self.rare.as_mut().and_then(|r| r.io_error.take())
    }

    /// How the connection ended, once it has.
    pub(crate) fn closed(&self) -> Option<&Closed> {
        self.rare.as_ref().and_then(|r| r.closed.as_ref())
    }

    /// Takes the error `recv` owes.
    pub(crate) fn take_owed_error(&mut self) -> Option<crate::Error> {
        self.rare.as_mut().and_then(|r| r.owed_error.take())
    }

    /// Owes `error` to `recv`, unless an earlier one is owed.
    pub(crate) fn owe_error(&mut self, error: crate::Error) {
        self.rare().owed_error.get_or_insert(error);
    }

    fn now(&self) -> Instant {
        Instant::from_nanos(self.origin.elapsed().as_nanos() as u64)
    }

    fn fail_io(&mut self, error: io::Error) {
        self.rare().io_error.get_or_insert(error);
        self.flushed = true;
        self.conn.transport_error();
    }

    /// The next event, driving the connection until there is one; `None`
    /// once the connection is finished (the transport can be dropped).
    pub(crate) fn poll_event(
        &mut self,
        io: &mut impl Io,
        timer: &mut Timer,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Event>> {
        loop {
            if let Some(event) = self.conn.poll_event() {
                if let Event::Closed(c) = &event {
                    self.rare().closed = Some(c.clone());
                }
                return Poll::Ready(Some(event));
            }
            // A write that would block does not stop the reading.
            let _ = self.poll_write_out(io, cx);
            if self.conn.is_finished() {
                // Finished: end the transport now rather than when the
                // stream is dropped, so a peer waiting for our EOF (a
                // server after the closing handshake) need not wait.
                if !self.shut {
                    self.shut = true;
                    let _ = io.poll_shutdown(cx);
                }
                return Poll::Ready(None);
            }
            if self.poll_timers(timer, cx) || self.poll_read_in(io, cx).is_ready() {
                continue;
            }
            return Poll::Pending;
        }
    }

    /// Writes what is pending, flushes, and half-closes when the connection
    /// asks; ready when nothing is left to do (or the transport failed).
    pub(crate) fn poll_write_out(&mut self, io: &mut impl Io, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.conn.wants_write() {
                let mut slices = [IoSlice::new(&[]); 16];
                let n = self.conn.output_vectored(&mut slices);
                match io.poll_write(cx, &slices[..n]) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(0)) => self.fail_io(ErrorKind::WriteZero.into()),
                    Poll::Ready(Ok(written)) => {
                        self.conn.consume_output(written);
                        self.flushed = false;
                    }
                    Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => {}
                    Poll::Ready(Err(e)) => self.fail_io(e),
                }
            } else if !self.flushed {
                match io.poll_flush(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(())) => self.flushed = true,
                    Poll::Ready(Err(e)) => self.fail_io(e),
                }
            } else if self.conn.wants_shutdown() && !self.shut {
                // A failed shutdown is no news: the peer may be gone, and
                // the teardown waits for its EOF (or the close timeout).
                let _ = std::task::ready!(io.poll_shutdown(cx));
                self.shut = true;
            } else {
                return Poll::Ready(());
            }
        }
    }

    /// Fires the timers that are due (`true`), or arms `timer` for the next
    /// deadline, registering `cx` (`false`).
    pub(crate) fn poll_timers(&mut self, timer: &mut Timer, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.conn.poll_timeout() else {
            timer.0 = None;
            return false;
        };
        let at = self.origin + Duration::from_nanos(deadline.as_nanos());
        let sleep = match &mut timer.0 {
            Some(sleep) => {
                if sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
                sleep
            }
            None => timer.0.insert(Box::pin(tokio::time::sleep_until(at))),
        };
        if at > TokioInstant::now() && sleep.as_mut().poll(cx).is_pending() {
            return false;
        }
        self.conn.handle_timeout(self.now());
        true
    }

    /// Reads once if the connection wants input; ready when something was
    /// handed over (bytes, EOF or an error).
    fn poll_read_in(&mut self, io: &mut impl Io, cx: &mut Context<'_>) -> Poll<()> {
        if !self.conn.wants_read() {
            return Poll::Pending;
        }
        // Never more than the connection takes: every byte read is fed.
        let room = self.conn.input_room().min(READ_CHUNK);
        READ_BUF.with(|cell| {
            let mut fallback;
            let mut shared = cell.try_borrow_mut();
            let buf = match &mut shared {
                Ok(buf) => &mut buf[..room],
                // A transport that itself runs a connection on this thread.
                Err(_) => {
                    fallback = vec![0; room];
                    &mut fallback[..]
                }
            };
            let mut buf = ReadBuf::new(buf);
            match io.poll_read(cx, &mut buf) {
                Poll::Pending => {
                    // Going idle: keep no buffer that holds nothing.
                    self.conn.shrink_buffers();
                    if self.rare.as_ref().is_some_and(|r| r.is_empty()) {
                        self.rare = None;
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Ok(())) if buf.filled().is_empty() => self.conn.feed_eof(),
                Poll::Ready(Ok(())) => {
                    let taken = self.conn.feed(buf.filled());
                    debug_assert_eq!(taken, buf.filled().len());
                }
                Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => self.fail_io(e),
            }
            Poll::Ready(())
        })
    }

    /// Sends the held message once there is room: ready when none is held
    /// (or the connection refused it for good).
    pub(crate) fn poll_pending(
        &mut self,
        io: &mut impl Io,
        timer: &mut Timer,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), crate::Error>> {
        while let Some(message) = self.rare.as_mut().and_then(|r| r.pending.take()) {
            match self.conn.send(message) {
                Ok(()) => {}
                Err(e) if matches!(e.error, wsmachine::UsageError::OutputFull { .. }) => {
                    self.set_pending(e.into_inner());
                    if self.poll_write_out(io, cx).is_pending() && !self.poll_timers(timer, cx) {
                        return Poll::Pending;
                    }
                }
                Err(e) => return Poll::Ready(Err(crate::Error::from_usage(e.error))),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Writes everything (the held message included); ready when nothing
    /// is left, with the transport's error if it failed.
    pub(crate) fn poll_flush(
        &mut self,
        io: &mut impl Io,
        timer: &mut Timer,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), crate::Error>> {
        std::task::ready!(self.poll_pending(io, timer, cx))?;
        while self.poll_write_out(io, cx).is_pending() {
            if !self.poll_timers(timer, cx) {
                return Poll::Pending;
            }
        }
        match self.take_io_error() {
            Some(e) => Poll::Ready(Err(crate::Error::Io(e))),
            None => Poll::Ready(Ok(())),
        }
    }
}
