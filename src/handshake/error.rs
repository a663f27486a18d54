//! Why an opening handshake failed.

use alloc::boxed::Box;
use core::fmt;

use super::Response;
use crate::config::Limit;

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
    /// [`Error`](crate::Error)).
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
