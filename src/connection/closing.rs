//! The end of a connection (RFC 6455 §5.5.1, §7): the closing handshake,
//! failing the connection, the teardown after it, and the timers and
//! automatic control frames that run until then.
//!
//! Once [`Event::Closed`] is queued the connection is in
//! `Phase::Closed(Teardown)`: it still writes what is queued (its last
//! Close frame), asks a server's driver to half-close
//! ([`Connection::wants_shutdown`]), discards input until the peer closes
//! the transport (or the close timeout passes), and only then reports
//! [`Connection::is_finished`]. A driver that loops "poll events, write
//! output, read, stop when finished" cannot lose the last Close frame to a
//! TCP reset.

use alloc::collections::VecDeque;
use alloc::string::String;

use bytes::Bytes;

use super::send::MAX_QUEUED_PONGS;
use super::timers::{Deadline, Which};
use super::{Connection, Phase};
use crate::close::{CloseCode, CloseFrame, MAX_REASON_LEN};
use crate::error::{Error, Timer};
use crate::event::{Closed, Event};
use crate::frame::OpCode;
use crate::role::Role;
use crate::usage::UsageError;

/// What the closing handshake has exchanged so far.
#[derive(Debug, Default)]
pub(super) struct CloseState {
    /// The Close frame we sent (`Some(None)`: one without a code).
    sent: Option<Option<CloseFrame>>,
    /// The Close frame we received.
    received: Option<Option<CloseFrame>>,
    /// This side ended the connection first: it sent its Close frame before
    /// receiving one, or closed or aborted during the handshake.
    initiated_locally: bool,
}

/// Automatic pongs: every ping is answered while at most
/// [`MAX_QUEUED_PONGS`] wait to be written; beyond that only the latest
/// ping is answered, once there is room (RFC 6455 §5.5.3 allows it).
#[derive(Debug, Default)]
pub(super) struct PongSlot {
    /// Output stream positions where the queued, unwritten pongs end.
    queued: VecDeque<u64>,
    /// The latest ping's payload, answered once a pong is written.
    pending: Option<Bytes>,
}

impl PongSlot {
    /// Frees the queue of unwritten pongs if it is empty.
    pub(super) fn release(&mut self) {
        if self.queued.is_empty() {
            self.queued = VecDeque::new();
        }
    }
}

/// What is left to do once the WebSocket connection is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Teardown {
    /// Shut down the write side once the output is written.
    pub(super) half_close: bool,
    /// Wait (at most the close timeout) for the peer to close the
    /// transport.
    pub(super) await_eof: bool,
    /// Stop now: the transport is gone, the application aborted, or the
    /// close timeout passed. Pending output is dropped.
    pub(super) given_up: bool,
}

impl Teardown {
    /// After the closing handshake or failing the connection (§7.1.1): the
    /// server closes the TCP connection first; the client waits for it.
    fn closing(role: Role) -> Teardown {
        match role {
            Role::Server => Teardown::server_done(),
            Role::Client => Teardown {
                half_close: false,
                await_eof: true,
                given_up: false,
            },
        }
    }

    /// A server's teardown: write, half-close, wait for the client's EOF.
    pub(super) fn server_done() -> Teardown {
        Teardown {
            half_close: true,
            await_eof: true,
            given_up: false,
        }
    }

    /// A client whose opening handshake failed: write what is left, close.
    pub(super) fn client_gives_up() -> Teardown {
        Teardown {
            half_close: false,
            await_eof: false,
            given_up: false,
        }
    }

    /// The peer closed the transport: write what is left, close.
    pub(super) fn after_eof() -> Teardown {
        Teardown::client_gives_up()
    }

    /// Nothing more can or should be written.
    pub(super) fn gone() -> Teardown {
        Teardown {
            half_close: false,
            await_eof: false,
            given_up: true,
        }
    }
}

/// Checks a close code and reason an application wants to send.
fn close_frame(code: CloseCode, reason: &str) -> Result<CloseFrame, UsageError> {
    if !code.is_sendable() {
        return Err(UsageError::InvalidCloseCode(code.as_u16()));
    }
    if reason.len() > MAX_REASON_LEN {
        return Err(UsageError::ControlPayloadTooLong);
    }
    Ok(CloseFrame {
        code,
        reason: String::from(reason),
    })
}

impl Connection {
    /// Starts the closing handshake (§7.1.2): sends a Close frame with
    /// `code` and `reason` (at most 123 bytes). Received messages are still
    /// delivered until the peer's Close arrives; then [`Event::Closed`].
    ///
    /// During the opening handshake there is no WebSocket connection to
    /// close yet: a server with a pending request answers it with 503, a
    /// client gives up, and [`Event::Closed`] follows at once.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), UsageError> {
        let frame = close_frame(code, reason)?;
        match self.phase {
            Phase::Open => {
                self.send_close(Some(frame));
                self.phase = Phase::CloseSent;
                self.timers
                    .set(Which::Close, Deadline::start(self.config.close_timeout));
                self.timers.set(Which::Keepalive, Deadline::Off);
                self.timers.set(Which::Pong, Deadline::Off);
                Ok(())
            }
            Phase::CloseSent => Err(UsageError::Closing),
            Phase::Closed(_) => Err(UsageError::Closed),
            _ => {
                self.close_handshake_phase();
                Ok(())
            }
        }
    }

    /// Fails the connection from the application's side (§7.1.7), e.g. for
    /// a message it cannot accept (1003, 1008, 1009): sends a Close frame
    /// with `code` and `reason` unless one was sent, and closes without
    /// waiting for the peer's. [`Event::Closed`] follows at once; the
    /// driver keeps going until [`is_finished`](Self::is_finished).
    pub fn fail(&mut self, code: CloseCode, reason: &str) -> Result<(), UsageError> {
        let frame = close_frame(code, reason)?;
        match self.phase {
            Phase::Open | Phase::CloseSent => {
                if self.close.sent.is_none() {
                    self.send_close(Some(frame));
                }
                self.close.initiated_locally = self.close.received.is_none();
                self.finish(Teardown::closing(self.role));
                Ok(())
            }
            Phase::Closed(_) => Err(UsageError::Closed),
            _ => {
                self.close_handshake_phase();
                Ok(())
            }
        }
    }

    /// Ends the connection at once, without a Close frame: pending output
    /// is dropped and the connection is finished (close the transport).
    /// [`Event::Closed`] follows unless it was already queued.
    pub fn abort(&mut self) {
        self.out.discard();
        if !matches!(self.phase, Phase::Closed(_)) {
            self.close.initiated_locally = self.close.received.is_none();
        }
        self.finish(Teardown::gone());
    }

    /// `close` or `fail` before the connection opened.
    fn close_handshake_phase(&mut self) {
        self.close.initiated_locally = true;
        match self.phase {
            Phase::AwaitDecision(_) => {
                self.answer(503, &[], b"");
                self.finish(Teardown::server_done());
            }
            Phase::AwaitRequest(_) => self.finish(Teardown::server_done()),
            _ => {
                // A client: what was not written yet need not be.
                self.out.discard();
                self.finish(Teardown::gone());
            }
        }
    }

    pub(super) fn send_close(&mut self, frame: Option<CloseFrame>) {
        self.send.close(&mut self.out, frame.as_ref());
        self.close.initiated_locally = self.close.received.is_none();
        self.close.sent = Some(frame);
    }

    /// The peer broke the protocol (or a timer ran out): _Fail the WebSocket
    /// Connection_ (§7.1.7). Send the matching close code if no Close frame
    /// was sent yet, stop processing input, and close.
    pub(super) fn fail_with(&mut self, error: Error) {
        if let (Some(code), None, Phase::Open | Phase::CloseSent) =
            (error.close_code(), &self.close.sent, &self.phase)
        {
            self.send_close(Some(CloseFrame {
                code,
                reason: String::new(),
            }));
        }
        self.events.push_back(Event::Error(error));
        self.finish(Teardown::closing(self.role));
    }

    /// The peer's Close frame arrived (§5.5.1): echo its code, and the
    /// closing handshake is complete.
    pub(super) fn close_received(&mut self, frame: Option<CloseFrame>) {
        let echo = frame.as_ref().map(|f| CloseFrame {
            code: f.code,
            reason: String::new(),
        });
        self.close.received = Some(frame);
        if self.close.sent.is_none() {
            // Echo the status code (§5.5.1: "typically echos").
            self.send_close(echo);
        }
        self.finish(Teardown::closing(self.role));
    }

    /// The WebSocket connection is closed: queue [`Event::Closed`] and start
    /// the teardown. Later calls can only make the teardown give up.
    pub(super) fn finish(&mut self, teardown: Teardown) {
        if let Phase::Closed(current) = &mut self.phase {
            current.given_up |= teardown.given_up;
            return;
        }
        let (code, reason) = match &self.close.received {
            Some(Some(f)) => (f.code, f.reason.clone()),
            Some(None) => (CloseCode::NO_STATUS, String::new()),
            None => (CloseCode::ABNORMAL, String::new()),
        };
        self.events.push_back(Event::Closed(Closed {
            code,
            reason,
            clean: self.close.sent.is_some() && self.close.received.is_some(),
            sent: self.close.sent.clone().flatten(),
            initiated_locally: self.close.initiated_locally,
        }));
        self.phase = Phase::Closed(teardown);
        // Whatever was processed ahead of the application is not delivered.
        self.stash = None;
        self.ahead = 0;
        self.timers.clear_all();
        if !teardown.given_up {
            // Writing the rest and waiting for the peer are bounded too.
            self.timers
                .set(Which::Close, Deadline::start(self.config.close_timeout));
        }
        // §7.1.7: no more processing of the peer's data, a Close included.
        self.input.clear();
        self.recv.release();
        self.pong.pending = None;
    }

    pub(super) fn fire(&mut self, which: Which) {
        match which {
            Which::Handshake => {
                if matches!(
                    self.phase,
                    Phase::AwaitRequest(_)
                        | Phase::AwaitResponse(_)
                        | Phase::AwaitDecision(_)
                        | Phase::ReadingRejection(_)
                ) {
                    self.events
                        .push_back(Event::Error(Error::Timeout(Timer::Handshake)));
                    self.out.discard();
                    self.finish(Teardown::gone());
                }
            }
            Which::Close => match &mut self.phase {
                Phase::CloseSent => {
                    self.events
                        .push_back(Event::Error(Error::Timeout(Timer::Close)));
                    self.out.discard();
                    self.finish(Teardown::gone());
                }
                Phase::Closed(td) => {
                    td.given_up = true;
                    self.out.discard();
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
                    self.timers.set(Which::Pong, Deadline::Off);
                    self.timers
                        .set(Which::Keepalive, Deadline::At(self.timers.now + k.interval));
                } else if which == Which::Keepalive {
                    let stamp = self.timers.now.as_nanos().to_be_bytes();
                    self.send.control(&mut self.out, OpCode::Ping, &stamp);
                    self.timers
                        .set(Which::Pong, Deadline::At(self.timers.now + k.timeout));
                } else {
                    self.fail_with(Error::Timeout(Timer::Keepalive));
                }
            }
        }
    }

    /// Answers a ping: queues a pong unless too many wait to be written,
    /// in which case the latest payload waits for room.
    pub(super) fn auto_pong(&mut self, payload: &Bytes) {
        if self.close.received.is_some() || matches!(self.phase, Phase::Closed(_)) {
            return;
        }
        self.forget_written_pongs();
        if self.pong.queued.len() >= MAX_QUEUED_PONGS {
            self.pong.pending = Some(payload.clone());
        } else {
            self.send.control(&mut self.out, OpCode::Pong, payload);
            self.pong.queued.push_back(self.out.queued());
        }
    }

    pub(super) fn forget_written_pongs(&mut self) {
        let written = self.out.written();
        while self.pong.queued.front().is_some_and(|&end| end <= written) {
            self.pong.queued.pop_front();
        }
    }

    /// Output was written: a waiting pong may go now.
    pub(super) fn output_progress(&mut self) {
        if self.pong.pending.is_some() {
            self.forget_written_pongs();
            if self.pong.queued.len() < MAX_QUEUED_PONGS
                && let Some(payload) = self.pong.pending.take()
            {
                self.auto_pong(&payload);
            }
        }
    }
}
