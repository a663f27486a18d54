//! Time without a clock.
//!
//! The connection never reads a clock. The driver passes the current time to
//! [`Connection::handle_timeout`](crate::Connection::handle_timeout) and reads
//! deadlines from [`Connection::poll_timeout`](crate::Connection::poll_timeout),
//! both as an [`Instant`]: a count of nanoseconds since an origin the driver
//! chooses (process start, boot, a hardware timer's zero). Only differences
//! between instants matter, so any monotonic source works, with or without
//! `std`.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in time, in nanoseconds since an origin chosen by the driver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant(0);

    /// The instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// The instant `millis` milliseconds after the origin (saturating).
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// The instant `elapsed` after the origin (saturating).
    pub const fn from_duration(elapsed: Duration) -> Instant {
        let nanos = elapsed.as_nanos();
        Instant(if nanos > u64::MAX as u128 {
            u64::MAX
        } else {
            nanos as u64
        })
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The time elapsed since the origin.
    pub const fn as_duration(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the largest representable instant (about 584 years).
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(Instant::from_duration(rhs).0))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Saturates at zero.
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

/// Converts between `std::time::Instant` and [`Instant`] around a fixed
/// origin: the glue a `std` driver needs.
///
/// ```
/// use wsmachine::Clock;
/// let clock = Clock::new();
/// let now = clock.now();
/// let back: std::time::Instant = clock.to_std(now);
/// assert!(back >= clock.origin());
/// ```
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl Clock {
    /// A clock whose origin is now.
    pub fn new() -> Clock {
        Clock {
            origin: std::time::Instant::now(),
        }
    }

    /// A clock with the given origin.
    pub fn with_origin(origin: std::time::Instant) -> Clock {
        Clock { origin }
    }

    /// The origin.
    pub fn origin(&self) -> std::time::Instant {
        self.origin
    }

    /// The current time.
    pub fn now(&self) -> Instant {
        self.from_std(std::time::Instant::now())
    }

    /// Converts a `std` instant (instants before the origin map to zero).
    pub fn from_std(&self, t: std::time::Instant) -> Instant {
        Instant::from_duration(t.saturating_duration_since(self.origin))
    }

    /// Converts back to a `std` instant.
    pub fn to_std(&self, t: Instant) -> std::time::Instant {
        self.origin + t.as_duration()
    }

    /// How long to wait from now until `deadline` (zero if it passed), e.g.
    /// for a read timeout from
    /// [`Connection::poll_timeout`](crate::Connection::poll_timeout).
    pub fn until(&self, deadline: Instant) -> core::time::Duration {
        deadline.saturating_duration_since(self.now())
    }
}

#[cfg(feature = "std")]
impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!(t + Duration::from_millis(1), Instant::from_millis(6));
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t - Instant::ZERO, Duration::from_millis(5));
        assert_eq!(
            Instant::from_nanos(u64::MAX) + Duration::from_secs(1),
            Instant::from_nanos(u64::MAX)
        );
        assert_eq!(
            Instant::from_duration(Duration::MAX),
            Instant::from_nanos(u64::MAX)
        );
    }
}
