//! A blocking `std::net` driver for a `wsmachine::Connection`: the glue the
//! examples share. It follows the crate's polling order: drain events, write
//! output, stop when finished, read until the next timer deadline.
#![allow(dead_code)]

use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use wsmachine::{Clock, Connection, Event, Message, UsageError};

/// What [`Blocking::step`] produced.
pub enum Step {
    /// An event for the application.
    Event(Event),
    /// `max_wait` passed without an event.
    Idle,
    /// The connection is over and the transport is closed.
    Finished,
}

/// A connection over a blocking TCP stream.
pub struct Blocking {
    pub stream: TcpStream,
    pub conn: Connection,
    clock: Clock,
}

const READ_CHUNK: usize = 64 * 1024;

impl Blocking {
    pub fn new(stream: TcpStream, conn: Connection) -> io::Result<Blocking> {
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        Ok(Blocking {
            stream,
            conn,
            clock: Clock::new(),
        })
    }

    /// The next event, or `None` once the connection is over.
    pub fn next_event(&mut self) -> io::Result<Option<Event>> {
        loop {
            match self.step(None)? {
                Step::Event(e) => return Ok(Some(e)),
                Step::Idle => {}
                Step::Finished => return Ok(None),
            }
        }
    }

    /// Sends a message, writing out pending output first if the output
    /// buffer is full.
    pub fn send(&mut self, message: Message) -> io::Result<()> {
        match self.conn.send(message.clone()) {
            Err(UsageError::OutputFull { .. }) => {
                self.flush()?;
                self.conn.send(message).map_err(io::Error::other)
            }
            other => other.map_err(io::Error::other),
        }
    }

    /// One turn of the loop: an event, or `Idle` after `max_wait`.
    pub fn step(&mut self, max_wait: Option<Duration>) -> io::Result<Step> {
        let started = Instant::now();
        loop {
            if let Some(event) = self.conn.poll_event() {
                return Ok(Step::Event(event));
            }
            self.flush()?;
            if self.conn.is_finished() {
                self.linger();
                return Ok(Step::Finished);
            }
            let now = Instant::now();
            let timer = self
                .conn
                .poll_timeout()
                .map(|t| self.clock.to_std(t).saturating_duration_since(now));
            if timer == Some(Duration::ZERO) {
                self.conn.handle_timeout(self.clock.now());
                continue;
            }
            let limit = max_wait.map(|w| w.saturating_sub(now - started));
            if limit == Some(Duration::ZERO) {
                return Ok(Step::Idle);
            }
            let wait = match (timer, limit) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if !self.conn.wants_read() {
                // Waiting for the application (a pending request) or for a
                // timer after EOF: nothing to read.
                match wait {
                    Some(w) => std::thread::sleep(w),
                    None => return Ok(Step::Idle),
                }
                self.conn.handle_timeout(self.clock.now());
                continue;
            }
            self.stream.set_read_timeout(wait)?;
            match self.stream.read(self.conn.read_buf(READ_CHUNK)) {
                Ok(0) => self.conn.feed_eof(),
                Ok(n) => self.conn.commit_read(n),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    self.conn.handle_timeout(self.clock.now());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // A reset or similar: the transport is gone.
                Err(_) => self.conn.feed_eof(),
            }
        }
    }

    /// Writes all pending output (vectored).
    pub fn flush(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            let mut slices = [IoSlice::new(&[]); 16];
            let n = self.conn.output_vectored(&mut slices);
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(written) => self.conn.consume_output(written),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Closes the transport without losing the last bytes written: half-close,
    /// then read until the peer closes too (bounded), so that unread input
    /// does not turn the close into a reset.
    fn linger(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(2)));
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut sink = [0u8; 4096];
        while Instant::now() < deadline {
            match self.stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}
