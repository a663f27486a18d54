//! The opening handshake (RFC 6455 §4), inside the state machine and usable
//! on its own.
//!
//! A [`Connection`](crate::Connection) runs the handshake itself from raw
//! bytes: no other HTTP library is needed. Drivers that already have an HTTP
//! stack (hyper, an HTTP/1 server of their own) use the pieces here instead
//! and then start an already-open connection with
//! [`Connection::from_upgraded`](crate::Connection::from_upgraded):
//!
//! - server: [`validate_request`] checks a request's method, version and
//!   headers and returns the `Sec-WebSocket-Accept` value;
//!   [`response_headers`] lists the headers of the 101 answer;
//! - client: [`ClientRequest`] builds the request, [`accept_key`] computes
//!   the value to expect back;
//! - both: [`parse_extensions`] reads a `Sec-WebSocket-Extensions` value;
//!   [`negotiate_extensions`] (server) and [`extension_offer`] (client) do
//!   what the connection would do with the configuration's
//!   permessage-deflate settings.
//!
//! ```
//! use wsmachine::handshake::{accept_key, validate_request};
//!
//! // The example of RFC 6455 §1.3.
//! assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
//!
//! let headers: [(&str, &[u8]); 5] = [
//!     ("Host", b"example.com"),
//!     ("Upgrade", b"websocket"),
//!     ("Connection", b"keep-alive, Upgrade"),
//!     ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
//!     ("Sec-WebSocket-Version", b"13"),
//! ];
//! let accept = validate_request("GET", 1, headers.iter().copied()).unwrap();
//! assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
//! ```

mod client;
mod extensions;
mod server;

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use sha1::{Digest, Sha1};

use crate::error::HandshakeError;

pub(crate) use client::{ClientHandshake, find_response, parse_response};
pub use client::{ClientRequest, Response};
pub use extensions::{Extension, ExtensionParam, parse_extensions};
pub use server::{Accept, Reject, Request};
pub(crate) use server::{
    RequestScanner, accept_response_bytes, check_headers, reject_response_bytes,
};

/// The GUID of RFC 6455 §1.3, appended to the key before hashing.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64 of the SHA-1 of
/// the key followed by [`GUID`] (§4.2.2, step 5.4).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// Validates an upgrade request per RFC 6455 §4.2.1 and returns the
/// `Sec-WebSocket-Accept` value to answer with.
///
/// `minor_version` is the `y` of `HTTP/1.y` (1 or more is required). Header
/// names are matched case-insensitively; `Upgrade` and `Connection` are
/// comma-separated token lists and may be repeated. The request must carry a
/// `Host`, exactly one `Sec-WebSocket-Key` that decodes to 16 bytes,
/// `Sec-WebSocket-Version: 13` ([`HandshakeError::UnsupportedVersion`],
/// answered with 426, otherwise), and no body.
pub fn validate_request<'a>(
    method: &str,
    minor_version: u8,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<String, HandshakeError> {
    if method != "GET" {
        return Err(HandshakeError::MethodNotGet);
    }
    if minor_version < 1 {
        return Err(HandshakeError::NotHttp11);
    }
    let mut host = 0usize;
    let mut upgrade = false;
    let mut connection = false;
    let mut key: Option<&[u8]> = None;
    let mut keys = 0usize;
    let mut version_ok = false;
    let mut versions = 0usize;
    let mut body = false;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("host") {
            host += 1;
        } else if name.eq_ignore_ascii_case("upgrade") {
            upgrade |= has_token(value, "websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection |= has_token(value, "upgrade");
        } else if name.eq_ignore_ascii_case("sec-websocket-key") {
            keys += 1;
            key = Some(value);
        } else if name.eq_ignore_ascii_case("sec-websocket-version") {
            versions += 1;
            version_ok = trim(value) == b"13";
        } else if name.eq_ignore_ascii_case("content-length") {
            body |= trim(value) != b"0";
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            body = true;
        }
    }
    if !upgrade {
        return Err(HandshakeError::BadHeader("Upgrade"));
    }
    if !connection {
        return Err(HandshakeError::BadHeader("Connection"));
    }
    if versions != 1 || !version_ok {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let key = match (keys, key) {
        (1, Some(k)) if decodes_to_16_bytes(trim(k)) => trim(k),
        _ => return Err(HandshakeError::BadHeader("Sec-WebSocket-Key")),
    };
    if host != 1 {
        return Err(HandshakeError::BadHeader("Host"));
    }
    if body {
        return Err(HandshakeError::RequestHasBody);
    }
    Ok(accept_key(key))
}

/// Server side of extension negotiation for a handshake done elsewhere: the
/// `Sec-WebSocket-Extensions` answer to the request's offers (every value of
/// the header, in order) under `config`, or `None` to agree to nothing. Put
/// it in the 101 answer and pass it to
/// [`Connection::from_upgraded`](crate::Connection::from_upgraded).
pub fn negotiate_extensions<'a>(
    config: &crate::Config,
    offers: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let offers: Vec<Extension> = offers
        .into_iter()
        .filter_map(parse_extensions)
        .flatten()
        .collect();
    crate::connection::extensions::server_negotiate(config, &offers).1
}

/// Client side of extension negotiation for a handshake done elsewhere: the
/// `Sec-WebSocket-Extensions` offer for `config`, if any. Pass the server's
/// answer to [`Connection::from_upgraded`](crate::Connection::from_upgraded),
/// which checks it.
pub fn extension_offer(config: &crate::Config) -> Option<String> {
    crate::connection::extensions::client_offer(config)
}

/// The headers of a 101 answer, in order: `Upgrade`, `Connection`,
/// `Sec-WebSocket-Accept`, then `Sec-WebSocket-Protocol` and
/// `Sec-WebSocket-Extensions` when given.
pub fn response_headers(
    accept: &str,
    subprotocol: Option<&str>,
    extensions: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut out = alloc::vec![
        ("Upgrade", String::from("websocket")),
        ("Connection", String::from("Upgrade")),
        ("Sec-WebSocket-Accept", String::from(accept)),
    ];
    if let Some(p) = subprotocol {
        out.push(("Sec-WebSocket-Protocol", String::from(p)));
    }
    if let Some(e) = extensions {
        out.push(("Sec-WebSocket-Extensions", String::from(e)));
    }
    out
}

fn decodes_to_16_bytes(key: &[u8]) -> bool {
    // 16 bytes encode to 24 base64 characters, the last two being "==".
    key.len() == 24 && BASE64.decode(key).is_ok_and(|decoded| decoded.len() == 16)
}

/// Whether a comma-separated header value contains `token`
/// (ASCII case-insensitive, optional whitespace around elements).
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|element| trim(element).eq_ignore_ascii_case(token.as_bytes()))
}

/// The comma-separated, trimmed, non-empty elements of a header value.
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|e| !e.is_empty())
}

/// Strips optional whitespace (space, tab) from both ends.
pub(crate) fn trim(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |p| p + 1);
    &value[start..end]
}

/// An HTTP token (RFC 7230 §3.2.6): one or more tchar.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A header value that can be written without corrupting the HTTP head:
/// visible ASCII, spaces and tabs, and obs-text; never CR, LF or NUL or
/// other control characters.
pub(crate) fn is_valid_header_value(v: &str) -> bool {
    v.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7F))
}

/// An HTTP head kept as the bytes received, with the positions of its parts:
/// one allocation, and accessors that borrow from it.
#[derive(Clone)]
pub(crate) struct Head {
    raw: Bytes,
    headers: Vec<(Range<usize>, Range<usize>)>,
}

impl Head {
    fn new(raw: Bytes, parsed: &[httparse::Header<'_>]) -> Head {
        let base = raw.as_ptr() as usize;
        let headers = parsed
            .iter()
            .map(|h| (span(base, h.name.as_bytes()), span(base, h.value)))
            .collect();
        Head { raw, headers }
    }

    fn str_at(&self, range: Range<usize>) -> &str {
        // Header names and request targets were checked by httparse to be
        // ASCII tokens; this never falls back.
        core::str::from_utf8(&self.raw[range]).unwrap_or("")
    }

    fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + Clone {
        self.headers
            .iter()
            .map(|(n, v)| (self.str_at(n.clone()), &self.raw[v.clone()]))
    }

    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// The position of `part` inside the buffer starting at address `base`.
fn span(base: usize, part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).wrapping_sub(base);
    start..start + part.len()
}

/// Looks for a complete HTTP head at the start of `buf`, enforcing
/// [`Limits::max_handshake_size`](crate::Limits::max_handshake_size);
/// `scanned` carries how far earlier calls looked, so each byte is examined
/// once however slowly the head arrives.
pub(crate) fn scan_head(
    buf: &[u8],
    scanned: &mut usize,
    limits: &crate::Limits,
) -> Result<Option<usize>, HandshakeError> {
    let too_large = HandshakeError::TooLarge(crate::error::Limit::HandshakeSize);
    match find_head_end(buf, scanned) {
        Some(n) if n > limits.max_handshake_size => Err(too_large),
        Some(n) => Ok(Some(n)),
        None if buf.len() > limits.max_handshake_size => Err(too_large),
        None => Ok(None),
    }
}

/// Maps an `httparse` result on a complete head to our error.
pub(crate) fn check_parsed(
    result: Result<httparse::Status<usize>, httparse::Error>,
) -> Result<(), HandshakeError> {
    match result {
        Ok(httparse::Status::Complete(_)) => Ok(()),
        Err(httparse::Error::TooManyHeaders) => {
            Err(HandshakeError::TooLarge(crate::error::Limit::HeaderCount))
        }
        Ok(httparse::Status::Partial) | Err(_) => Err(HandshakeError::MalformedHttp),
    }
}

/// Finds the end of an HTTP head (`\r\n\r\n`) without rescanning: `scanned`
/// is how far previous calls looked. Returns the head length if found.
fn find_head_end(buf: &[u8], scanned: &mut usize) -> Option<usize> {
    let from = scanned.saturating_sub(3);
    let found = buf[from..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| from + p + 4);
    *scanned = buf.len();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_accept_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn token_lists() {
        assert!(has_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(has_token(b"  UPGRADE\t", "upgrade"));
        assert!(!has_token(b"upgrades", "upgrade"));
        assert!(!has_token(b"", "upgrade"));
        assert_eq!(
            list_elements(b" a, ,b ,c").collect::<Vec<_>>(),
            [&b"a"[..], b"b", b"c"]
        );
    }

    #[test]
    fn head_end_is_found_incrementally() {
        let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest";
        let mut scanned = 0;
        for cut in 0..req.len() {
            let r = find_head_end(&req[..cut], &mut scanned);
            if cut < req.len() - 4 {
                assert_eq!(r, None);
            } else {
                assert_eq!(r, Some(req.len() - 4));
                break;
            }
        }
    }

    #[test]
    fn header_values_are_checked() {
        assert!(is_valid_header_value("a b\tc"));
        assert!(!is_valid_header_value("a\r\nInjected: 1"));
        assert!(!is_valid_header_value("a\0"));
        assert!(is_token("chat.v2"));
        assert!(!is_token("a b"));
        assert!(!is_token(""));
    }
}
