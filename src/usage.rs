//! Mistakes of the application: [`UsageError`], and [`SendError`], which
//! also hands back what was not sent.
//!
//! A `UsageError` is returned from the method that caused it and changes
//! nothing. Its stable numeric codes are 100–199 (see [`Error`](crate::Error)
//! for the whole table).

use core::fmt;

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
    /// [`Error`](crate::Error)).
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

    use super::{SendError, UsageError};

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
