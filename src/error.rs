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
//! - [`UsageError`]: the *application* asked for something the connection
//!   cannot do (send after close, a 200-byte ping, a header the crate writes
//!   itself, an invalid URI, …). It is returned from the method and changes
//!   nothing. [`SendError`] is a `UsageError` that also hands back what was
//!   not sent.
//!
//! # Stable codes
//!
//! Every error has a numeric [`code`](Error::code) that never changes
//! meaning, for logs and for the C ABI:
//!
//! | range | type |
//! |---|---|
//! | 100–199 | [`UsageError`] |
//! | 200–299 | [`Error`] other than handshake failures (protocol, limits, timers, transport) |
//! | 300–399 | [`HandshakeError`] (inside [`Error::Handshake`]) |

use alloc::boxed::Box;
use core::fmt;

use crate::close::CloseCode;
use crate::frame::FrameError;
use crate::handshake::Response;

/// Why a connection failed: something the peer did, a timer, or the
/// transport.
///
/// Never returned from a method: it arrives as
/// [`Event::Error`](crate::Event::Error) after the connection has sent the
/// matching close code (or, during the opening handshake, HTTP status), and
/// [`Event::Closed`](crate::Event::Closed) follows. Mistakes of the
/// application are [`UsageError`]s instead.
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
    const fn index(self) -> u16 {
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

/// Why an opening handshake failed (RFC 6455 §4): what the peer sent, or
/// did not send, in time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The bytes are not a well-formed HTTP/1.1 message, or the head ends in
    /// a bare-LF blank line.
    MalformedHttp,
    /// The request method is not GET.
    MethodNotGet,
    /// The request or answer is not HTTP/1.1 (a request may be a later
    /// HTTP/1.x).
    NotHttp11,
    /// The request target is neither a path (`/chat`) nor an absolute
    /// `http`, `https`, `ws` or `wss` URI (RFC 6455 §4.2.1).
    InvalidTarget,
    /// A required header is missing, repeated or has a wrong value; the name
    /// says which.
    BadHeader(&'static str),
    /// `Sec-WebSocket-Version` is missing or not 13. Answered with 426.
    UnsupportedVersion,
    /// The request carries a body (`Content-Length` or `Transfer-Encoding`).
    RequestHasBody,
    /// The Origin policy refused the request. Answered with 403.
    OriginRejected,
    /// The head exceeded a size or header-count limit. Answered with 431.
    TooLarge(Limit),
    /// The server answered with a status other than 101. The whole answer
    /// (status, headers, body) is kept: follow a redirect (3xx with
    /// `Location`) or answer an authentication challenge (401 with
    /// `WWW-Authenticate`) with a new connection.
    Rejected(Box<Response>),
    /// The server's `Sec-WebSocket-Accept` does not match our key.
    BadAccept,
    /// The server chose a subprotocol we did not offer.
    UnexpectedSubprotocol,
    /// The server agreed to an extension we did not offer, or answered an
    /// offer with invalid parameters.
    UnexpectedExtension,
    /// The transport closed before the handshake finished.
    Eof,
}

impl HandshakeError {
    /// The HTTP status a server answers this error with.
    pub fn http_status(&self) -> u16 {
        match self {
            HandshakeError::UnsupportedVersion => 426,
            HandshakeError::OriginRejected => 403,
            HandshakeError::TooLarge(_) => 431,
            _ => 400,
        }
    }

    /// The stable numeric code of this error (see the module docs of
    /// [`Error`]).
    pub fn code(&self) -> u16 {
        match self {
            HandshakeError::MalformedHttp => 300,
            HandshakeError::MethodNotGet => 301,
            HandshakeError::NotHttp11 => 302,
            HandshakeError::InvalidTarget => 303,
            HandshakeError::BadHeader(_) => 304,
            HandshakeError::UnsupportedVersion => 305,
            HandshakeError::RequestHasBody => 306,
            HandshakeError::OriginRejected => 307,
            HandshakeError::TooLarge(Limit::HeaderCount) => 309,
            HandshakeError::TooLarge(_) => 308,
            HandshakeError::Rejected(_) => 310,
            HandshakeError::BadAccept => 311,
            HandshakeError::UnexpectedSubprotocol => 312,
            HandshakeError::UnexpectedExtension => 313,
            HandshakeError::Eof => 314,
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::MalformedHttp => f.write_str("malformed HTTP"),
            HandshakeError::MethodNotGet => f.write_str("method is not GET"),
            HandshakeError::NotHttp11 => f.write_str("not HTTP/1.1"),
            HandshakeError::InvalidTarget => f.write_str("invalid request target"),
            HandshakeError::BadHeader(h) => write!(f, "missing or invalid {h} header"),
            HandshakeError::UnsupportedVersion => f.write_str("unsupported Sec-WebSocket-Version"),
            HandshakeError::RequestHasBody => f.write_str("upgrade request has a body"),
            HandshakeError::OriginRejected => f.write_str("origin not allowed"),
            HandshakeError::TooLarge(l) => write!(f, "{l} limit exceeded"),
            HandshakeError::Rejected(r) => write!(f, "server answered {}", r.status()),
            HandshakeError::BadAccept => f.write_str("Sec-WebSocket-Accept mismatch"),
            HandshakeError::UnexpectedSubprotocol => {
                f.write_str("server chose a subprotocol that was not offered")
            }
            HandshakeError::UnexpectedExtension => {
                f.write_str("server answered with an extension that was not offered")
            }
            HandshakeError::Eof => f.write_str("transport closed during the handshake"),
        }
    }
}

impl core::error::Error for HandshakeError {}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}

/// The application asked for something the connection cannot do now, or
/// gave it something invalid. The connection is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// The opening handshake has not finished.
    NotOpen,
    /// A Close frame was already sent or received: no more data may be sent
    /// (§5.5.1).
    Closing,
    /// The connection is closed.
    Closed,
    /// The output buffer holds `pending` bytes and this frame would take it
    /// past `limit` ([`Limits::max_output_buffer`](crate::Limits::max_output_buffer)).
    /// Write out pending bytes and try again; nothing was queued.
    OutputFull {
        /// Bytes already waiting to be written.
        pending: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A frame of `len` bytes can never fit in the output buffer: raise
    /// [`Limits::max_output_buffer`](crate::Limits::max_output_buffer) or
    /// send the message in fragments.
    MessageTooLarge {
        /// The frame's size on the wire (header and payload).
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A ping, pong or close payload over 125 bytes (§5.5).
    ControlPayloadTooLong,
    /// The close code may not be sent (§7.4): see
    /// [`CloseCode::is_sendable`](crate::CloseCode::is_sendable).
    InvalidCloseCode(u16),
    /// A fragment continued a message that was never started, or a new
    /// message started while a fragmented one is unfinished.
    FragmentOrder,
    /// A fragment's kind (text or binary) differs from its message's.
    FragmentKind,
    /// Text (a fragment of a text message) is not valid UTF-8, or the last
    /// fragment ends inside a code point.
    InvalidUtf8,
    /// `accept` or `reject` was called when no request is waiting for a
    /// decision.
    NoPendingRequest,
    /// The chosen subprotocol was not offered by the client.
    SubprotocolNotOffered,
    /// A header name or value contains CR, LF, NUL or is not valid HTTP.
    InvalidHeader,
    /// The header is one the crate writes itself (`Upgrade`, `Connection`,
    /// `Sec-WebSocket-*`, `Content-Length`, `Transfer-Encoding`).
    ManagedHeader,
    /// The status is not a valid non-101 HTTP status for a rejection.
    InvalidStatus(u16),
    /// The client URI is not a valid `ws://` or `wss://` URI.
    InvalidUri,
    /// A subprotocol name is empty or not an HTTP token.
    InvalidSubprotocol,
    /// The extension agreement given to a connection whose handshake was done
    /// elsewhere is not one this configuration can use.
    InvalidExtensions,
    /// The operating system could not provide entropy for the handshake key
    /// and mask keys.
    Entropy,
    /// A fragment of a message whose first fragment went out compressed
    /// could not be compressed; the message cannot be finished.
    CompressionFailed,
}

impl UsageError {
    /// The stable numeric code of this error (see the module docs of
    /// [`Error`]).
    pub fn code(&self) -> u16 {
        match self {
            UsageError::NotOpen => 100,
            UsageError::Closing => 101,
            UsageError::Closed => 102,
            UsageError::OutputFull { .. } => 103,
            UsageError::MessageTooLarge { .. } => 104,
            UsageError::ControlPayloadTooLong => 105,
            UsageError::InvalidCloseCode(_) => 106,
            UsageError::FragmentOrder => 107,
            UsageError::FragmentKind => 108,
            UsageError::InvalidUtf8 => 109,
            UsageError::NoPendingRequest => 110,
            UsageError::SubprotocolNotOffered => 111,
            UsageError::InvalidHeader => 112,
            UsageError::ManagedHeader => 113,
            UsageError::InvalidStatus(_) => 114,
            UsageError::InvalidUri => 115,
            UsageError::InvalidSubprotocol => 116,
            UsageError::InvalidExtensions => 117,
            UsageError::Entropy => 118,
            UsageError::CompressionFailed => 119,
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::NotOpen => f.write_str("the opening handshake has not finished"),
            UsageError::Closing => f.write_str("the closing handshake has started"),
            UsageError::Closed => f.write_str("the connection is closed"),
            UsageError::OutputFull { pending, limit } => {
                write!(
                    f,
                    "output buffer full ({pending} bytes pending, limit {limit})"
                )
            }
            UsageError::MessageTooLarge { len, limit } => {
                write!(
                    f,
                    "a {len}-byte frame never fits the {limit}-byte output buffer"
                )
            }
            UsageError::ControlPayloadTooLong => {
                f.write_str("control frame payload over 125 bytes")
            }
            UsageError::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            UsageError::FragmentOrder => f.write_str("fragments out of order"),
            UsageError::FragmentKind => f.write_str("fragment kind differs from its message's"),
            UsageError::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            UsageError::NoPendingRequest => f.write_str("no handshake request awaits a decision"),
            UsageError::SubprotocolNotOffered => f.write_str("subprotocol was not offered"),
            UsageError::InvalidHeader => f.write_str("invalid header name or value"),
            UsageError::ManagedHeader => f.write_str("header is written by the connection itself"),
            UsageError::InvalidStatus(s) => write!(f, "invalid rejection status {s}"),
            UsageError::InvalidUri => f.write_str("invalid ws:// or wss:// URI"),
            UsageError::InvalidSubprotocol => f.write_str("invalid subprotocol name"),
            UsageError::InvalidExtensions => f.write_str("unusable extension agreement"),
            UsageError::Entropy => f.write_str("no entropy available"),
            UsageError::CompressionFailed => f.write_str("a fragment could not be compressed"),
        }
    }
}

impl core::error::Error for UsageError {}

impl From<crate::rng::EntropyError> for UsageError {
    fn from(_: crate::rng::EntropyError) -> Self {
        UsageError::Entropy
    }
}

/// A refused send: why, and what was not sent, handed back so that it can
/// be sent again once the output buffer has room.
#[derive(Clone, PartialEq, Eq)]
pub struct SendError<T> {
    /// Why the send was refused.
    pub error: UsageError,
    /// What was not sent.
    pub value: T,
}

impl<T> SendError<T> {
    /// What was not sent.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> fmt::Debug for SendError<T> {
    /// The error only: the value may be megabytes long.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<T> core::error::Error for SendError<T> {}

#[cfg(feature = "std")]
mod io_conversions {
    use std::io::{self, ErrorKind};

    use super::{Error, HandshakeError, SendError, UsageError};

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

    impl From<UsageError> for io::Error {
        fn from(e: UsageError) -> io::Error {
            let kind = match &e {
                UsageError::NotOpen => ErrorKind::NotConnected,
                UsageError::Closing | UsageError::Closed => ErrorKind::BrokenPipe,
                UsageError::OutputFull { .. } => ErrorKind::WouldBlock,
                _ => ErrorKind::InvalidInput,
            };
            io::Error::new(kind, e)
        }
    }

    impl<T> From<SendError<T>> for io::Error {
        fn from(e: SendError<T>) -> io::Error {
            e.error.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
