//! A blocking `std::net` driver for a `wsmachine::Connection`: the glue the
//! examples share. It follows the crate's polling order (see `Connection`):
//! events, write, half-close, stop when finished, read until the next
//! deadline.
#![allow(dead_code, reason = "each example uses part of it")]

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
    /// The connection is over and the transport can be dropped.
    Finished,
}

/// A connection over a blocking TCP stream.
pub struct Blocking {
    pub stream: TcpStream,
    pub conn: Connection,
    clock: Clock,
    shut: bool,
}

impl Blocking {
    pub fn new(stream: TcpStream, conn: Connection) -> io::Result<Blocking> {
        stream.set_nodelay(true)?;
        // A peer that never reads must not block us forever.
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        Ok(Blocking {
            stream,
            conn,
            clock: Clock::new(),
            shut: false,
        })
    }

    /// The next event, or `None` once the connection is finished.
    pub fn next_event(&mut self) -> io::Result<Option<Event>> {
        loop {
            match self.step(None)? {
                Step::Event(e) => return Ok(Some(e)),
                Step::Idle => {}
                Step::Finished => return Ok(None),
            }
        }
    }

    /// Sends a message, writing out pending output while the output buffer
    /// is full.
    pub fn send(&mut self, message: Message) -> io::Result<()> {
        let mut message = message;
        loop {
            match self.conn.send(message) {
                Err(e) if matches!(e.error, UsageError::OutputFull { .. }) => {
                    message = e.into_inner();
                    self.flush();
                }
                other => return other.map_err(io::Error::from),
            }
        }
    }

    /// One turn of the loop: an event, or `Idle` after `max_wait`.
    pub fn step(&mut self, max_wait: Option<Duration>) -> io::Result<Step> {
        let started = Instant::now();
        loop {
            if let Some(event) = self.conn.poll_event() {
                return Ok(Step::Event(event));
            }
            self.flush();
            if self.conn.wants_shutdown() && !self.shut {
                let _ = self.stream.shutdown(Shutdown::Write);
                self.shut = true;
            }
            if self.conn.is_finished() {
                return Ok(Step::Finished);
            }
            let timer = self.conn.poll_timeout().map(|t| self.clock.until(t));
            if timer == Some(Duration::ZERO) {
                self.conn.handle_timeout(self.clock.now());
                continue;
            }
            let limit = max_wait.map(|w| w.saturating_sub(started.elapsed()));
            if limit == Some(Duration::ZERO) {
                return Ok(Step::Idle);
            }
            let wait = match (timer, limit) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if !self.conn.wants_read() {
                // Waiting for the application or for a timer only.
                match wait {
                    Some(w) => std::thread::sleep(w),
                    None => return Ok(Step::Idle),
                }
                self.conn.handle_timeout(self.clock.now());
                continue;
            }
            self.stream.set_read_timeout(wait)?;
            match self.stream.read(self.conn.read_buf()) {
                Ok(0) => self.conn.feed_eof(),
                Ok(n) => self.conn.commit_read(n),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    self.conn.handle_timeout(self.clock.now());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.conn.transport_error(),
            }
        }
    }

    /// Writes all pending output (vectored); a failed write is a transport
    /// error for the connection.
    pub fn flush(&mut self) {
        while self.conn.wants_write() {
            let mut slices = [IoSlice::new(&[]); 16];
            let n = self.conn.output_vectored(&mut slices);
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => self.conn.transport_error(),
                Ok(written) => self.conn.consume_output(written),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.conn.transport_error(),
            }
        }
    }
}
