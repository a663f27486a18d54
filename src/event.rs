//! What a connection reports: [`Event`].

use alloc::string::String;

use bytes::Bytes;

use crate::close::{CloseCode, CloseFrame};
use crate::error::Error;
use crate::handshake::{Request, Response};
use crate::message::{Message, MessageKind};

/// Something that happened on a connection, from
/// [`Connection::poll_event`](crate::Connection::poll_event).
///
/// The order over a connection's life: (server) one [`Request`](Self::Request);
/// one [`Open`](Self::Open) (none for a connection whose handshake was done
/// elsewhere); any number of messages or chunks, pings and pongs; at most
/// one [`Error`](Self::Error); exactly one [`Closed`](Self::Closed), always
/// last.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// Server: a valid upgrade request arrived. Answer it with
    /// [`Connection::accept`](crate::Connection::accept) or
    /// [`Connection::reject`](crate::Connection::reject); no further event
    /// comes until then.
    Request(Request),
    /// The opening handshake finished; the connection is open.
    Open(Open),
    /// A complete data message ([`Delivery::Messages`](crate::Delivery::Messages)).
    Message(Message),
    /// A piece of a data message ([`Delivery::Chunks`](crate::Delivery::Chunks)).
    Chunk(Chunk),
    /// A ping arrived (already answered if automatic pongs are on).
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// The peer (or a timer) failed the connection. The connection has
    /// already answered as RFC 6455 requires (close code or HTTP status);
    /// [`Closed`](Self::Closed) follows.
    Error(Error),
    /// The WebSocket connection is closed. Always the last event. Keep
    /// driving the connection until
    /// [`Connection::is_finished`](crate::Connection::is_finished): its last
    /// frames are still to be written and the transport torn down.
    Closed(Closed),
}

/// The result of a successful opening handshake.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Open {
    /// The subprotocol both sides agreed on.
    pub subprotocol: Option<String>,
    /// The agreed `Sec-WebSocket-Extensions` value (permessage-deflate and
    /// its parameters), if any.
    pub extensions: Option<String>,
    /// Client: the server's 101 answer, with all its headers. Server: `None`.
    pub response: Option<Response>,
}

/// A piece of a data message in [`Delivery::Chunks`](crate::Delivery::Chunks)
/// mode.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Chunk {
    /// Text or binary (the same for every chunk of a message).
    pub kind: MessageKind,
    /// The bytes. For text, each chunk is valid UTF-8 on its own: a code
    /// point split across reads or frames is delivered whole.
    pub data: Bytes,
    /// Whether this is the first chunk of a message.
    pub first: bool,
    /// Whether this is the last chunk of the message.
    pub last: bool,
}

impl Chunk {
    /// The text of a text chunk.
    pub fn text(&self) -> Option<&str> {
        match self.kind {
            MessageKind::Text => simdutf8::basic::from_utf8(&self.data).ok(),
            MessageKind::Binary => None,
        }
    }
}

/// How the connection ended (RFC 6455 §7.1.5, §7.1.6).
///
/// Who closed: with [`initiated_locally`](Self::initiated_locally) this side
/// ended it (the application's `close`, `fail` or `abort`, or this side
/// failing the connection because of an [`Event::Error`] just before);
/// otherwise the peer did (its Close frame, or the transport ending).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Closed {
    /// *The WebSocket Connection Close Code*: the code of the peer's Close
    /// frame; 1005 if it carried none; 1006 if none was received.
    pub code: CloseCode,
    /// The reason in the peer's Close frame (empty otherwise).
    pub reason: String,
    /// Whether both Close frames were exchanged (§7.1.4, "cleanly").
    pub clean: bool,
    /// The Close frame this side sent, if any.
    pub sent: Option<CloseFrame>,
    /// Whether this side ended the connection first: it sent its Close frame
    /// before receiving the peer's, or closed or aborted before any Close
    /// frame was exchanged.
    pub initiated_locally: bool,
}
