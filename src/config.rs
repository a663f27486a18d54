//! Connection configuration: limits, delivery mode, timers, Origin policy.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

/// Size limits. Every limit is checked *before* memory is allocated for the
/// data it limits, and counts what the data really costs: a message's size is
/// the sum of its frames' payloads (after decompression when
/// permessage-deflate is on), not what the peer declared up front.
///
/// | limit | default | on excess |
/// |---|---|---|
/// | [`max_frame_size`](Self::max_frame_size) | 16 MiB | close 1009 |
/// | [`max_message_size`](Self::max_message_size) | 16 MiB | close 1009 |
/// | [`max_handshake_size`](Self::max_handshake_size) | 32 KiB | HTTP 431 / handshake error |
/// | [`max_headers`](Self::max_headers) | 64 | HTTP 431 / handshake error |
/// | [`max_output_buffer`](Self::max_output_buffer) | 16 MiB + 4 KiB | [`UsageError::OutputFull`](crate::UsageError::OutputFull) |
/// | [`max_input_buffer`](Self::max_input_buffer) | 64 KiB | input refused until events are polled |
///
/// Fields can be read and set directly, or through the builder methods of
/// the same names:
///
/// ```
/// use wsmachine::Limits;
/// let limits = Limits::new().max_message_size(1 << 20).max_output_buffer(256 << 10);
/// assert_eq!(limits.max_message_size, 1 << 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest frame payload accepted, in bytes, as declared in the
    /// frame header: a frame declaring more is refused before any of its
    /// payload is read. `u64::MAX` disables the limit.
    pub max_frame_size: u64,
    /// The largest message accepted, in bytes, counted over all its
    /// fragments after decompression. In [`Delivery::Chunks`] mode nothing is
    /// buffered, yet the limit still applies unless set to `u64::MAX`.
    pub max_message_size: u64,
    /// The largest HTTP head (request or response line plus headers) read
    /// during the opening handshake; also bounds the body of a rejection a
    /// client keeps.
    pub max_handshake_size: usize,
    /// The most header fields accepted in the opening handshake.
    pub max_headers: usize,
    /// How many bytes may wait in the output buffer. A frame that would take
    /// the buffer past this is refused with
    /// [`UsageError::OutputFull`](crate::UsageError::OutputFull) (or
    /// [`UsageError::MessageTooLarge`](crate::UsageError::MessageTooLarge)
    /// if it could never fit): keep it above the largest message you send
    /// in one frame (the default leaves room to echo one message of the
    /// default `max_message_size`). Frames the connection generates itself
    /// (pongs, one keepalive ping, one Close) come on top, within a fixed
    /// budget of [`CONTROL_BUDGET`](crate::CONTROL_BUDGET) bytes.
    pub max_output_buffer: usize,
    /// How many received bytes may wait unprocessed: input is processed as
    /// it arrives while the application keeps polling events, and buffered
    /// up to this while it does not. Beyond it [`feed`](crate::Connection::feed)
    /// takes nothing more and [`wants_read`](crate::Connection::wants_read)
    /// is false. Also the size of the buffer
    /// [`read_buf`](crate::Connection::read_buf) hands out (at least
    /// `max_handshake_size` during the opening handshake).
    pub max_input_buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_size: 16 << 20,
            max_message_size: 16 << 20,
            max_handshake_size: 32 << 10,
            max_headers: 64,
            // Room to echo one message of the default maximum size.
            max_output_buffer: (16 << 20) + (4 << 10),
            max_input_buffer: 64 << 10,
        }
    }
}

impl Limits {
    /// The default limits (see the table above).
    pub fn new() -> Limits {
        Limits::default()
    }

    /// Sets [`max_frame_size`](Self::max_frame_size).
    #[must_use]
    pub fn max_frame_size(mut self, bytes: u64) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Sets [`max_message_size`](Self::max_message_size).
    #[must_use]
    pub fn max_message_size(mut self, bytes: u64) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`max_handshake_size`](Self::max_handshake_size).
    #[must_use]
    pub fn max_handshake_size(mut self, bytes: usize) -> Self {
        self.max_handshake_size = bytes;
        self
    }

    /// Sets [`max_headers`](Self::max_headers).
    #[must_use]
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// Sets [`max_output_buffer`](Self::max_output_buffer).
    #[must_use]
    pub fn max_output_buffer(mut self, bytes: usize) -> Self {
        self.max_output_buffer = bytes;
        self
    }

    /// Sets [`max_input_buffer`](Self::max_input_buffer) (at least 1).
    #[must_use]
    pub fn max_input_buffer(mut self, bytes: usize) -> Self {
        self.max_input_buffer = bytes.max(1);
        self
    }
}

/// A configured limit (see [`Limits`](crate::Limits)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_frame_size`](crate::Limits::max_frame_size).
    FrameSize,
    /// [`Limits::max_message_size`](crate::Limits::max_message_size).
    MessageSize,
    /// [`Limits::max_handshake_size`](crate::Limits::max_handshake_size).
    HandshakeSize,
    /// [`Limits::max_headers`](crate::Limits::max_headers).
    HeaderCount,
}

impl Limit {
    pub(crate) const fn index(self) -> u16 {
        match self {
            Limit::FrameSize => 0,
            Limit::MessageSize => 1,
            Limit::HandshakeSize => 2,
            Limit::HeaderCount => 3,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::FrameSize => "frame size",
            Limit::MessageSize => "message size",
            Limit::HandshakeSize => "handshake size",
            Limit::HeaderCount => "handshake header count",
        })
    }
}

/// How received data messages are handed to the application.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delivery {
    /// Whole messages: [`Event::Message`](crate::Event::Message). A message
    /// is buffered until its last fragment arrives.
    #[default]
    Messages,
    /// Pieces as they arrive: [`Event::Chunk`](crate::Event::Chunk). Memory
    /// stays constant however long the message; each text chunk is valid
    /// UTF-8 on its own.
    Chunks,
}

/// Which `Origin` headers a server accepts (RFC 6455 §10.2).
///
/// Browsers always send `Origin`; checking it is what stops a hostile page
/// from opening a WebSocket to a server with the user's cookies
/// (cross-site WebSocket hijacking). Clients that are not browsers usually
/// send none. A refused request is answered with 403 and never reaches the
/// application.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum OriginPolicy {
    /// Any origin, or none. The application can still inspect
    /// [`Request::origin`](crate::Request::origin) itself.
    #[default]
    Any,
    /// No `Origin` header, or one whose host (and port) equals the `Host`
    /// header.
    SameHost,
    /// No `Origin` header, or one equal (ASCII case-insensitively) to one
    /// of these serialized origins, e.g. `https://example.com`.
    AllowList(Vec<String>),
    /// A function of the `Origin` value (`None` when absent).
    Custom(OriginCheck),
}

/// A function deciding on an `Origin` value (`None` when absent).
pub type OriginCheck = Arc<dyn Fn(Option<&str>) -> bool + Send + Sync>;

impl fmt::Debug for OriginPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginPolicy::Any => f.write_str("Any"),
            OriginPolicy::SameHost => f.write_str("SameHost"),
            OriginPolicy::AllowList(l) => f.debug_tuple("AllowList").field(l).finish(),
            OriginPolicy::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl OriginPolicy {
    /// Whether a request with this `Origin` (and `Host`) is allowed.
    pub fn allows(&self, origin: Option<&str>, host: &str) -> bool {
        match (self, origin) {
            (OriginPolicy::Any, _) => true,
            (OriginPolicy::Custom(f), o) => f(o),
            (_, None) => true,
            (OriginPolicy::SameHost, Some(o)) => {
                // serialized-origin = scheme "://" host [ ":" port ]
                o.split_once("://")
                    .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
            }
            (OriginPolicy::AllowList(list), Some(o)) => {
                list.iter().any(|allowed| allowed.eq_ignore_ascii_case(o))
            }
        }
    }
}

/// Keepalive: ping after `interval` without incoming traffic, fail the
/// connection with close code 1011 if nothing arrives within `timeout` of
/// the ping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Keepalive {
    /// Idle time before a ping is sent.
    pub interval: Duration,
    /// How long to wait for any traffic after the ping.
    pub timeout: Duration,
}

impl Keepalive {
    /// Ping after `interval` of silence; give up `timeout` after the ping.
    pub const fn new(interval: Duration, timeout: Duration) -> Keepalive {
        Keepalive { interval, timeout }
    }
}

/// Configuration of a [`Connection`](crate::Connection).
///
/// A connection keeps its configuration behind an [`Arc`], so one `Config`
/// serves any number of connections without being copied:
///
/// ```
/// use std::sync::Arc;
/// use core::time::Duration;
/// use wsmachine::{Config, Connection, Delivery, Keepalive, Limits};
///
/// let config = Arc::new(
///     Config::new()
///         .limits(Limits::new().max_message_size(1 << 20))
///         .delivery(Delivery::Chunks)
///         .keepalive(Some(Keepalive::new(Duration::from_secs(30), Duration::from_secs(10)))),
/// );
/// let a = Connection::server(config.clone());
/// let b = Connection::server(config);
/// assert_eq!(a.config().limits.max_message_size, 1 << 20);
/// # drop(b);
/// ```
///
/// Every setting is a public field with a builder method of the same name;
/// optional settings take an `Option` (`None` turns them off).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Size limits.
    pub limits: Limits,
    /// Whole messages or pieces as they arrive.
    pub delivery: Delivery,
    /// Answer every ping with a pong automatically (default on). With it
    /// off, the application sees [`Event::Ping`](crate::Event::Ping) and
    /// must call [`Connection::pong`](crate::Connection::pong) itself.
    pub auto_pong: bool,
    /// Fail the connection if the opening handshake has not finished this
    /// long after the first
    /// [`handle_timeout`](crate::Connection::handle_timeout) (default 10 s).
    pub handshake_timeout: Option<Duration>,
    /// How long the closing handshake and the teardown after it may take
    /// (default 5 s): waiting for the peer's Close frame after sending one,
    /// for the output to drain, and for the peer to close the transport.
    pub close_timeout: Option<Duration>,
    /// Keepalive pings (default off).
    pub keepalive: Option<Keepalive>,
    /// Which `Origin` values a server accepts (default any).
    pub origin_policy: OriginPolicy,
    /// permessage-deflate (RFC 7692): what a client offers and a server
    /// accepts; `None` turns compression off. On by default.
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            delivery: Delivery::Messages,
            auto_pong: true,
            handshake_timeout: Some(Duration::from_secs(10)),
            close_timeout: Some(Duration::from_secs(5)),
            keepalive: None,
            origin_policy: OriginPolicy::Any,
            #[cfg(feature = "deflate")]
            deflate: Some(crate::deflate::DeflateConfig::default()),
        }
    }
}

impl Config {
    /// The defaults: default [`Limits`], whole messages, automatic pongs,
    /// 10 s handshake timeout, 5 s close timeout, no keepalive, any Origin,
    /// and (with the `deflate` feature) permessage-deflate offered by
    /// clients and accepted by servers.
    pub fn new() -> Config {
        Config::default()
    }

    /// Sets [`limits`](Self::limits).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets [`delivery`](Self::delivery).
    #[must_use]
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// Sets [`auto_pong`](Self::auto_pong).
    #[must_use]
    pub fn auto_pong(mut self, on: bool) -> Self {
        self.auto_pong = on;
        self
    }

    /// Sets [`handshake_timeout`](Self::handshake_timeout).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`close_timeout`](Self::close_timeout).
    #[must_use]
    pub fn close_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets [`keepalive`](Self::keepalive).
    #[must_use]
    pub fn keepalive(mut self, keepalive: Option<Keepalive>) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// Sets [`deflate`](Self::deflate).
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn deflate(mut self, deflate: Option<crate::deflate::DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }

    /// Sets [`origin_policy`](Self::origin_policy).
    #[must_use]
    pub fn origin_policy(mut self, policy: OriginPolicy) -> Self {
        self.origin_policy = policy;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_policies() {
        assert!(OriginPolicy::Any.allows(Some("https://evil.example"), "a.example"));
        let same = OriginPolicy::SameHost;
        assert!(same.allows(None, "a.example"));
        assert!(same.allows(Some("https://A.example"), "a.example"));
        assert!(!same.allows(Some("https://a.example:8443"), "a.example"));
        assert!(!same.allows(Some("null"), "a.example"));
        let list = OriginPolicy::AllowList(alloc::vec!["https://ok.example".into()]);
        assert!(list.allows(Some("https://OK.example"), "x"));
        assert!(!list.allows(Some("https://ok.example.evil"), "x"));
        let custom = OriginPolicy::Custom(Arc::new(|o: Option<&str>| o.is_some()));
        assert!(!custom.allows(None, "x"));
    }
}
