//! Data messages (RFC 6455 §5.6) and the UTF-8 byte buffer for text.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

/// Bytes that are valid UTF-8: the payload of a text message.
///
/// It shares its buffer like [`Bytes`]: a received message owns an
/// allocation of its own size, and sending it back (a server's echo) queues
/// that allocation without copying it.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// An empty text.
    pub const fn new() -> Utf8Bytes {
        Utf8Bytes(Bytes::new())
    }

    /// A text from a static string, without copying.
    pub const fn from_static(s: &'static str) -> Utf8Bytes {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// Checks that `bytes` is UTF-8.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Utf8Bytes, Bytes> {
        if simdutf8::basic::from_utf8(&bytes).is_ok() {
            Ok(Utf8Bytes(bytes))
        } else {
            Err(bytes)
        }
    }

    /// Wraps bytes already known to be UTF-8 (checked by the connection).
    pub(crate) fn from_validated(bytes: Bytes) -> Utf8Bytes {
        debug_assert!(core::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// The text.
    ///
    /// The crate has no `unsafe` code, so this re-checks the bytes (with
    /// `simdutf8`, tens of GB/s for ASCII) rather than trusting them
    /// unchecked. Keep the `&str` rather than calling this in a loop.
    pub fn as_str(&self) -> &str {
        // The invariant makes the fallback unreachable.
        simdutf8::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(t: Utf8Bytes) -> Self {
        t.0
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

/// Whether a message is text or binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Arbitrary bytes (opcode 0x2).
    Binary,
}

/// A complete data message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Text(_) => MessageKind::Text,
            Message::Binary(_) => MessageKind::Binary,
        }
    }

    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The payload, whatever the kind.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Message::Text(t) => t.into_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// The text of a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t.as_str()),
            Message::Binary(_) => None,
        }
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.into())
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s.into())
    }
}

impl From<Utf8Bytes> for Message {
    fn from(s: Utf8Bytes) -> Self {
        Message::Text(s)
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b.into())
    }
}

impl From<&[u8]> for Message {
    fn from(b: &[u8]) -> Self {
        Message::Binary(Bytes::copy_from_slice(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bytes() {
        let t = Utf8Bytes::from("héllo");
        assert_eq!(t.as_str(), "héllo");
        assert_eq!(t, "héllo");
        assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(&[0xff])).is_err());
        assert_eq!(Message::from("a").kind(), MessageKind::Text);
        assert_eq!(Message::from(alloc::vec![1u8]).as_text(), None);
    }
}
