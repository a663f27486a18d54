//! Errors.
//!
//! Two kinds, kept apart as in wsproto:
//!
//! - [`Error`]: something the *peer* (or the transport, or time) did. It is
//!   never returned from a method; it arrives as
//!   [`Event::Error`](crate::Event::Error), the connection has already sent
//!   the matching close code (or HTTP status during the handshake), and
//!   [`Event::Closed`](crate::Event::Closed) follows.
//! - [`UsageError`]: the *application* asked for something the connection
//!   cannot do in its current state (send after close, a 200-byte ping, …).
//!   It is returned from the method and changes nothing.

use core::fmt;

use crate::close::CloseCode;
use crate::frame::FrameError;

/// Why a connection failed: something the peer did, or a timer.
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
    /// A timer expired.
    Timeout(Timer),
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
            Error::Handshake(_) | Error::Timeout(_) => None,
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
    /// The peer did not complete the closing handshake (or, for a client,
    /// close the transport) in time.
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

/// Why an opening handshake failed (RFC 6455 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The bytes are not a well-formed HTTP/1.1 message.
    MalformedHttp,
    /// The request method is not GET.
    MethodNotGet,
    /// The request is not HTTP/1.1 (or later).
    NotHttp11,
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
    /// The server answered with a status other than 101.
    Rejected {
        /// The HTTP status code.
        status: u16,
    },
    /// The server's `Sec-WebSocket-Accept` does not match our key.
    BadAccept,
    /// The server chose a subprotocol we did not offer.
    UnexpectedSubprotocol,
    /// The server agreed to an extension we did not offer, or answered an
    /// offer with invalid parameters.
    UnexpectedExtension,
    /// The transport closed before the handshake finished.
    Eof,
    /// The client URI is not a valid `ws://` or `wss://` URI.
    InvalidUri,
    /// A header name or value given to the builder contains CR, LF, NUL or
    /// is otherwise not valid in HTTP/1.1.
    InvalidHeader,
    /// A subprotocol name is empty or not an HTTP token.
    InvalidSubprotocol,
    /// No entropy for the handshake key and masks.
    Entropy,
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
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::MalformedHttp => f.write_str("malformed HTTP"),
            HandshakeError::MethodNotGet => f.write_str("method is not GET"),
            HandshakeError::NotHttp11 => f.write_str("not HTTP/1.1"),
            HandshakeError::BadHeader(h) => write!(f, "missing or invalid {h} header"),
            HandshakeError::UnsupportedVersion => f.write_str("unsupported Sec-WebSocket-Version"),
            HandshakeError::RequestHasBody => f.write_str("upgrade request has a body"),
            HandshakeError::OriginRejected => f.write_str("origin not allowed"),
            HandshakeError::TooLarge(l) => write!(f, "{l} limit exceeded"),
            HandshakeError::Rejected { status } => write!(f, "server answered {status}"),
            HandshakeError::BadAccept => f.write_str("Sec-WebSocket-Accept mismatch"),
            HandshakeError::UnexpectedSubprotocol => {
                f.write_str("server chose a subprotocol that was not offered")
            }
            HandshakeError::UnexpectedExtension => {
                f.write_str("server answered with an extension that was not offered")
            }
            HandshakeError::Eof => f.write_str("transport closed during the handshake"),
            HandshakeError::InvalidUri => f.write_str("invalid ws:// or wss:// URI"),
            HandshakeError::InvalidHeader => f.write_str("invalid header name or value"),
            HandshakeError::InvalidSubprotocol => f.write_str("invalid subprotocol name"),
            HandshakeError::Entropy => f.write_str("no entropy available"),
        }
    }
}

impl core::error::Error for HandshakeError {}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}

/// The application asked for something the connection cannot do now. The
/// connection is unchanged.
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
    /// A ping, pong or close payload over 125 bytes (§5.5).
    ControlPayloadTooLong,
    /// The close code may not be sent (§7.4): see
    /// [`CloseCode::is_sendable`](crate::CloseCode::is_sendable).
    InvalidCloseCode(u16),
    /// A fragment continued a message that was never started, or a new
    /// message started while a fragmented one is unfinished.
    FragmentOrder,
    /// `accept` or `reject` was called when no request is waiting for a
    /// decision.
    NoPendingRequest,
    /// The chosen subprotocol was not offered by the client.
    SubprotocolNotOffered,
    /// A header name or value contains CR, LF, NUL or is not valid HTTP.
    InvalidHeader,
    /// The status is not a valid non-101 HTTP status for a rejection.
    InvalidStatus(u16),
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
            UsageError::ControlPayloadTooLong => {
                f.write_str("control frame payload over 125 bytes")
            }
            UsageError::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            UsageError::FragmentOrder => f.write_str("fragments out of order"),
            UsageError::NoPendingRequest => f.write_str("no handshake request awaits a decision"),
            UsageError::SubprotocolNotOffered => f.write_str("subprotocol was not offered"),
            UsageError::InvalidHeader => f.write_str("invalid header name or value"),
            UsageError::InvalidStatus(s) => write!(f, "invalid rejection status {s}"),
        }
    }
}

impl core::error::Error for UsageError {}
