//! Errors.
//!
//! Two kinds, kept apart as in wsproto:
//!
//! - [`Error`]: something *outside the application* went wrong: the peer
//!   broke the protocol, a timer ran out, the transport failed. It is never
//!   returned from a method; it arrives as
//!   [`Event::Error`](crate::Event::Error), the connection has already sent
//!   the matching close code (or HTTP status during the handshake), and
//!   [`Event::Closed`](crate::Event::Closed) follows.
//! - [`UsageError`](crate::UsageError): the *application* asked for something the connection
//!   cannot do (send after close, a 200-byte ping, a header the crate writes
//!   itself, an invalid URI, …). It is returned from the method and changes
//!   nothing. [`SendError`](crate::SendError) is a `UsageError` that also hands back what was
//!   not sent.
//!
//! # Stable codes
//!
//! Every error has a numeric [`code`](Error::code) that never changes
//! meaning, for logs and for the C ABI:
//!
//! | range | type |
//! |---|---|
//! | 100–199 | [`UsageError`](crate::UsageError) |
//! | 200–299 | [`Error`] other than handshake failures (protocol, limits, timers, transport) |
//! | 300–399 | [`HandshakeError`](crate::HandshakeError) (inside [`Error::Handshake`]) |

use core::fmt;

use crate::close::CloseCode;
use crate::config::Limit;
use crate::frame::FrameError;
use crate::handshake::HandshakeError;

/// Why a connection failed: something the peer did, a timer, or the
/// transport.
///
/// Never returned from a method: it arrives as
/// [`Event::Error`](crate::Event::Error) after the connection has sent the
/// matching close code (or, during the opening handshake, HTTP status), and
/// [`Event::Closed`](crate::Event::Closed) follows. Mistakes of the
/// application are [`UsageError`](crate::UsageError)s instead.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke RFC 6455 framing rules. Close code 1002.
    Protocol(ProtocolViolation),
    /// A text message or close reason was not valid UTF-8. Close code 1007.
    InvalidUtf8,
    /// The peer exceeded a configured limit. Close code 1009.
    LimitExceeded(Limit),
    /// A compressed message could not be inflated (RFC 7692 §6.2). Close
    /// code 1007.
    BadCompressedData,
    /// The opening handshake failed. A server has answered with the HTTP
    /// status of [`HandshakeError::http_status`]; no close frame is sent.
    Handshake(HandshakeError),
    /// A timer expired. The keepalive timer sends close code 1011; the
    /// others end the connection without a new Close frame.
    Timeout(Timer),
    /// The driver reported that the transport failed
    /// ([`Connection::transport_error`](crate::Connection::transport_error)).
    Transport,
}

impl Error {
    /// The close code sent to the peer because of this error, if a Close
    /// frame was sent.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::Protocol(_) => Some(CloseCode::PROTOCOL_ERROR),
            Error::InvalidUtf8 | Error::BadCompressedData => Some(CloseCode::INVALID_PAYLOAD),
            Error::LimitExceeded(_) => Some(CloseCode::MESSAGE_TOO_BIG),
            Error::Timeout(Timer::Keepalive) => Some(CloseCode::INTERNAL_ERROR),
            Error::Handshake(_) | Error::Timeout(_) | Error::Transport => None,
        }
    }

    /// The stable numeric code of this error (see the module docs).
    pub fn code(&self) -> u16 {
        match self {
            Error::Protocol(v) => v.code(),
            Error::InvalidUtf8 => 220,
            Error::LimitExceeded(l) => 230 + l.index(),
            Error::BadCompressedData => 240,
            Error::Timeout(Timer::Handshake) => 250,
            Error::Timeout(Timer::Close) => 251,
            Error::Timeout(Timer::Keepalive) => 252,
            Error::Transport => 260,
            Error::Handshake(h) => h.code(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(v) => write!(f, "protocol violation: {v}"),
            Error::InvalidUtf8 => f.write_str("invalid UTF-8 in a text message or close reason"),
            Error::LimitExceeded(l) => write!(f, "limit exceeded: {l}"),
            Error::BadCompressedData => f.write_str("compressed message could not be inflated"),
            Error::Handshake(h) => write!(f, "opening handshake failed: {h}"),
            Error::Timeout(t) => write!(f, "{t} timed out"),
            Error::Transport => f.write_str("the transport failed"),
        }
    }
}

impl core::error::Error for Error {}

/// A framing rule the peer broke (RFC 6455 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolViolation {
    /// A frame header that is never valid.
    Frame(FrameError),
    /// A reserved bit was set that no negotiated extension defines (§5.2), or
    /// RSV1 on a control or continuation frame (RFC 7692 §6.1).
    ReservedBits,
    /// A client sent an unmasked frame (§5.1).
    UnmaskedFrame,
    /// A server sent a masked frame (§5.1).
    MaskedFrame,
    /// A continuation frame arrived with no message in progress (§5.4).
    UnexpectedContinuation,
    /// A new data frame arrived while a fragmented message was in progress
    /// (§5.4).
    ExpectedContinuation,
    /// A Close frame with a one-byte payload (§5.5.1).
    InvalidCloseFrame,
    /// A Close frame with a reserved or undefined status code (§7.4).
    InvalidCloseCode(u16),
}

impl ProtocolViolation {
    fn code(&self) -> u16 {
        match self {
            ProtocolViolation::Frame(FrameError::ReservedOpcode(_)) => 200,
            ProtocolViolation::Frame(FrameError::ControlFrameTooLong) => 201,
            ProtocolViolation::Frame(FrameError::FragmentedControlFrame) => 202,
            ProtocolViolation::Frame(FrameError::LengthOverflow) => 203,
            ProtocolViolation::ReservedBits => 204,
            ProtocolViolation::UnmaskedFrame => 205,
            ProtocolViolation::MaskedFrame => 206,
            ProtocolViolation::UnexpectedContinuation => 207,
            ProtocolViolation::ExpectedContinuation => 208,
            ProtocolViolation::InvalidCloseFrame => 209,
            ProtocolViolation::InvalidCloseCode(_) => 210,
        }
    }
}

impl fmt::Display for ProtocolViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolViolation::Frame(e) => fmt::Display::fmt(e, f),
            ProtocolViolation::ReservedBits => f.write_str("reserved bits set"),
            ProtocolViolation::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            ProtocolViolation::MaskedFrame => f.write_str("masked frame from a server"),
            ProtocolViolation::UnexpectedContinuation => {
                f.write_str("continuation frame without a message in progress")
            }
            ProtocolViolation::ExpectedContinuation => {
                f.write_str("new message before the previous one finished")
            }
            ProtocolViolation::InvalidCloseFrame => f.write_str("one-byte close frame payload"),
            ProtocolViolation::InvalidCloseCode(c) => write!(f, "invalid close code {c}"),
        }
    }
}

impl From<FrameError> for ProtocolViolation {
    fn from(e: FrameError) -> Self {
        ProtocolViolation::Frame(e)
    }
}

/// A timer of the connection (see [`Config`](crate::Config)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// The opening handshake did not finish in time.
    Handshake,
    /// The peer did not complete the closing handshake in time.
    Close,
    /// No traffic arrived within the keepalive ping's deadline.
    Keepalive,
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timer::Handshake => "opening handshake",
            Timer::Close => "closing handshake",
            Timer::Keepalive => "keepalive",
        })
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}

#[cfg(feature = "std")]
mod io_conversions {
    use std::io::{self, ErrorKind};

    use super::Error;
    use crate::handshake::HandshakeError;

    impl From<Error> for io::Error {
        fn from(e: Error) -> io::Error {
            let kind = match &e {
                Error::Timeout(_) => ErrorKind::TimedOut,
                Error::Transport => ErrorKind::ConnectionReset,
                Error::Handshake(HandshakeError::Eof) => ErrorKind::UnexpectedEof,
                Error::Handshake(HandshakeError::Rejected(_)) => ErrorKind::ConnectionRefused,
                _ => ErrorKind::InvalidData,
            };
            io::Error::new(kind, e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UsageError;

    #[cfg(feature = "std")]
    #[test]
    fn io_errors_keep_the_kind_and_the_error() {
        use std::io::ErrorKind;
        let io: std::io::Error = Error::Timeout(Timer::Close).into();
        assert_eq!(io.kind(), ErrorKind::TimedOut);
        let io: std::io::Error = Error::InvalidUtf8.into();
        assert_eq!(io.kind(), ErrorKind::InvalidData);
        assert_eq!(
            io.get_ref().and_then(|e| e.downcast_ref::<Error>()),
            Some(&Error::InvalidUtf8)
        );
        let io: std::io::Error = UsageError::OutputFull {
            pending: 1,
            limit: 1,
        }
        .into();
        assert_eq!(io.kind(), ErrorKind::WouldBlock);
        let io: std::io::Error = UsageError::Closed.into();
        assert_eq!(io.kind(), ErrorKind::BrokenPipe);
    }

    #[test]
    fn codes_are_distinct() {
        let usage = [
            UsageError::NotOpen,
            UsageError::Closing,
            UsageError::Closed,
            UsageError::OutputFull {
                pending: 0,
                limit: 0,
            },
            UsageError::MessageTooLarge { len: 0, limit: 0 },
            UsageError::ControlPayloadTooLong,
            UsageError::InvalidCloseCode(0),
            UsageError::FragmentOrder,
            UsageError::FragmentKind,
            UsageError::InvalidUtf8,
            UsageError::NoPendingRequest,
            UsageError::SubprotocolNotOffered,
            UsageError::InvalidHeader,
            UsageError::ManagedHeader,
            UsageError::InvalidStatus(0),
            UsageError::InvalidUri,
            UsageError::InvalidSubprotocol,
            UsageError::InvalidExtensions,
            UsageError::Entropy,
            UsageError::CompressionFailed,
        ];
        let mut codes: alloc::vec::Vec<u16> = usage.iter().map(UsageError::code).collect();
        let errors = [
            Error::InvalidUtf8,
            Error::BadCompressedData,
            Error::Transport,
            Error::Timeout(Timer::Handshake),
            Error::Timeout(Timer::Close),
            Error::Timeout(Timer::Keepalive),
            Error::LimitExceeded(Limit::FrameSize),
            Error::LimitExceeded(Limit::MessageSize),
            Error::Protocol(ProtocolViolation::ReservedBits),
            Error::Protocol(ProtocolViolation::InvalidCloseCode(1)),
            Error::Handshake(HandshakeError::Eof),
            Error::Handshake(HandshakeError::TooLarge(Limit::HeaderCount)),
            Error::Handshake(HandshakeError::TooLarge(Limit::HandshakeSize)),
        ];
        codes.extend(errors.iter().map(Error::code));
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n, "duplicate codes");
        assert!(usage.iter().all(|u| (100..200).contains(&u.code())));
        assert!(errors[..10].iter().all(|e| (200..300).contains(&e.code())));
    }
}
