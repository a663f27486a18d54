//! The opening handshake (RFC 6455 §4), inside the state machine and usable
//! on its own.
//!
//! A [`Connection`](crate::Connection) runs the handshake itself from raw
//! bytes: no other HTTP library is needed. Drivers that already have an HTTP
//! stack (hyper, an HTTP/1 server of their own) use the pieces here instead
//! and then start an already-open connection with
//! [`Connection::upgraded_server`](crate::Connection::upgraded_server) or
//! [`Connection::upgraded_client`](crate::Connection::upgraded_client):
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
mod error;
mod server;

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use sha1::{Digest, Sha1};

use crate::config::{Limit, Limits};
use crate::header::{has_token, trim};

pub use crate::extensions::{extension_offer, negotiate_extensions};
pub use crate::header::{Extension, ExtensionParam, parse_extensions};
pub(crate) use client::{
    BodyLength, ClientHandshake, body_length, check_switching, find_response, parse_response,
};
pub use client::{ClientRequest, Response};
pub use error::HandshakeError;
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

/// Headers the connection writes itself: an application that adds one
/// would contradict it (a second `Content-Length`, an extension the
/// connection did not agree to).
const MANAGED: [&str; 5] = [
    "upgrade",
    "connection",
    "content-length",
    "transfer-encoding",
    "sec-websocket-",
];

/// Whether the connection writes a header of this name itself.
pub(crate) fn is_managed(name: &str) -> bool {
    MANAGED.iter().any(|m| {
        if m.ends_with('-') {
            name.len() >= m.len() && name[..m.len()].eq_ignore_ascii_case(m)
        } else {
            name.eq_ignore_ascii_case(m)
        }
    })
}

/// An HTTP head kept as the bytes received, with the positions of its parts:
/// one allocation, and accessors that borrow from it.
#[derive(Clone, PartialEq, Eq)]
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
/// [`Limits::max_handshake_size`]. `scanned` carries how far earlier calls
/// looked, so each byte is examined once however slowly the head arrives.
///
/// Lines must end in CRLF and the head in `\r\n\r\n`. RFC 7230 §3.5 lets a
/// recipient accept a bare LF; a WebSocket endpoint has no client that
/// needs it, and refusing it means that what this scanner calls the head
/// and what any other parser on the path reads are always the same bytes
/// (no header smuggled past an Origin check).
pub(crate) fn scan_head(
    buf: &[u8],
    scanned: &mut usize,
    limits: &Limits,
) -> Result<Option<usize>, HandshakeError> {
    let too_large = HandshakeError::TooLarge(Limit::HandshakeSize);
    match find_blank_line(buf, scanned) {
        Some(Ok(n)) if n > limits.max_handshake_size => Err(too_large),
        Some(Ok(n)) => Ok(Some(n)),
        Some(Err(())) => Err(HandshakeError::MalformedHttp),
        None if buf.len() >= limits.max_handshake_size => Err(too_large),
        None => Ok(None),
    }
}

/// Finds the end of the head without rescanning (`scanned` is where the
/// next call resumes): `Ok(head length)` at the first `\r\n\r\n`, `Err` at
/// the first LF not preceded by CR.
fn find_blank_line(buf: &[u8], scanned: &mut usize) -> Option<Result<usize, ()>> {
    let mut i = (*scanned).min(buf.len());
    while let Some(p) = buf[i..].iter().position(|&b| b == b'\n') {
        let lf = i + p;
        if lf == 0 || buf[lf - 1] != b'\r' {
            return Some(Err(()));
        }
        if lf >= 3 && &buf[lf - 3..lf - 1] == b"\r\n" {
            return Some(Ok(lf + 1));
        }
        i = lf + 1;
    }
    *scanned = buf.len();
    None
}

/// Parses a complete head with `parse` (httparse), giving it a header table
/// no larger than the head could fill and than `max_headers`; checks that
/// the parse consumed the whole head. `parse` returns httparse's status,
/// what it read from the start line, and how many headers it found.
pub(crate) fn parse_head<'h, T>(
    head: &'h Bytes,
    limits: &Limits,
    parse: impl FnOnce(
        &'h [u8],
        &mut [httparse::Header<'h>],
    ) -> Result<(httparse::Status<usize>, T, usize), httparse::Error>,
) -> Result<(T, Head), HandshakeError> {
    // Every header line ends with a LF, and so do the start line and the
    // blank line: the head cannot hold more headers than that.
    let lines = head.iter().filter(|&&b| b == b'\n').count();
    let room = lines.saturating_sub(1).min(limits.max_headers);
    let mut storage = alloc::vec![httparse::EMPTY_HEADER; room];
    match parse(head, &mut storage) {
        Ok((httparse::Status::Complete(n), value, count)) if n == head.len() => {
            Ok((value, Head::new(head.clone(), &storage[..count])))
        }
        Err(httparse::Error::TooManyHeaders) => Err(HandshakeError::TooLarge(Limit::HeaderCount)),
        _ => Err(HandshakeError::MalformedHttp),
    }
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

    fn scan_all_splits(head: &[u8]) -> Vec<Option<Result<usize, ()>>> {
        let mut found = Vec::new();
        for cut in 0..=head.len() {
            let mut scanned = 0;
            let mut r = find_blank_line(&head[..cut], &mut scanned);
            if r.is_none() {
                r = find_blank_line(head, &mut scanned);
            }
            found.push(r);
        }
        found.dedup();
        found
    }

    #[test]
    fn head_end_is_found_incrementally() {
        let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest";
        assert_eq!(scan_all_splits(req), [Some(Ok(req.len() - 4))]);
        let mut scanned = 0;
        for cut in 0..req.len() - 4 {
            assert_eq!(find_blank_line(&req[..cut], &mut scanned), None, "{cut}");
        }
    }

    // RUSTSEC-2023-0065: a head arriving byte by byte is scanned in one
    // pass. After each call the scan resumes at the end of what it saw, so
    // a byte is looked at once (and at most three again, to find a blank
    // line split across reads).
    #[test]
    fn each_byte_is_scanned_once() {
        let mut req = alloc::vec::Vec::from(&b"GET / HTTP/1.1\r\nHost: x\r\n"[..]);
        req.extend(core::iter::repeat_n(b'a', 10_000));
        req.extend_from_slice(b"\r\n\r\n");
        let mut scanned = 0;
        for end in 1..req.len() {
            assert_eq!(find_blank_line(&req[..end], &mut scanned), None);
            assert_eq!(scanned, end, "the next call starts where this one stopped");
        }
        assert_eq!(find_blank_line(&req, &mut scanned), Some(Ok(req.len())));
    }

    #[test]
    fn bare_lf_is_refused() {
        for head in [
            &b"GET / HTTP/1.1\nHost: x\n\nOrigin: evil\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: x\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n\n",
            b"GET / HTTP/1.1\nHost: x\r\n\r\n",
        ] {
            assert_eq!(scan_all_splits(head), [Some(Err(()))], "{head:?}");
        }
    }
}
