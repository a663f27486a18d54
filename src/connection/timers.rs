//! The connection's timers: a fixed table, driven by
//! [`Connection::handle_timeout`](crate::Connection::handle_timeout).
//!
//! The connection never reads a clock, so a timer started by an input that
//! carries no time (bytes, a call to `close`) is *pending*: it is armed at
//! the next `handle_timeout(now)`, and until then
//! [`poll_timeout`](crate::Connection::poll_timeout) reports the last known
//! time, which asks the driver to call `handle_timeout` right away.

use core::time::Duration;

use crate::time::Instant;

/// One timer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// Not running.
    #[default]
    Off,
    /// Started; expires this long after the next known time.
    Pending(Duration),
    /// Expires at this instant.
    At(Instant),
}

impl Deadline {
    pub(crate) fn start(after: Option<Duration>) -> Deadline {
        after.map_or(Deadline::Off, Deadline::Pending)
    }

    fn arm(&mut self, now: Instant) {
        if let Deadline::Pending(d) = *self {
            *self = Deadline::At(now + d);
        }
    }

    pub(crate) fn expired(&self, now: Instant) -> bool {
        matches!(*self, Deadline::At(t) if t <= now)
    }
}

/// Which timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    Handshake,
    Close,
    Keepalive,
    Pong,
}

/// The timer table.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timers {
    /// The latest time the driver reported.
    pub(crate) now: Instant,
    table: [Deadline; 4],
}

impl Timers {
    pub(crate) fn set(&mut self, which: Which, deadline: Deadline) {
        self.table[which as usize] = deadline;
    }

    pub(crate) fn get(&self, which: Which) -> Deadline {
        self.table[which as usize]
    }

    pub(crate) fn clear_all(&mut self) {
        self.table = [Deadline::Off; 4];
    }

    /// Records `now` (time never goes backwards) and arms pending timers.
    pub(crate) fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
        for d in &mut self.table {
            d.arm(self.now);
        }
    }

    /// The earliest deadline; the last known time if a timer is pending.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.table
            .iter()
            .filter_map(|d| match *d {
                Deadline::Off => None,
                Deadline::Pending(_) => Some(self.now),
                Deadline::At(t) => Some(t),
            })
            .min()
    }

    /// The first expired timer, if any.
    pub(crate) fn expired(&self) -> Option<Which> {
        [
            Which::Handshake,
            Which::Close,
            Which::Keepalive,
            Which::Pong,
        ]
        .into_iter()
        .find(|w| self.get(*w).expired(self.now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_timers_ask_for_immediate_attention() {
        let mut t = Timers::default();
        assert_eq!(t.next(), None);
        t.set(Which::Close, Deadline::start(Some(Duration::from_secs(5))));
        assert_eq!(t.next(), Some(Instant::ZERO));
        t.advance(Instant::from_millis(1000));
        assert_eq!(t.next(), Some(Instant::from_millis(6000)));
        assert_eq!(t.expired(), None);
        t.advance(Instant::from_millis(500));
        assert_eq!(t.now, Instant::from_millis(1000), "time never goes back");
        t.advance(Instant::from_millis(6000));
        assert_eq!(t.expired(), Some(Which::Close));
    }
}
