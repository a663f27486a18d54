//! Server side of the opening handshake (RFC 6455 §4.2).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use bytes::Bytes;

use super::HandshakeError;
use super::{Head, is_managed, parse_head, scan_head, validate_request};
use crate::config::Limits;
use crate::header::{
    Extension, is_token, is_valid_header_value, list_elements, parse_extensions, trim,
};
use crate::usage::UsageError;

/// A validated upgrade request, handed to the application as
/// [`Event::Request`](crate::Event::Request) to accept or reject.
///
/// It keeps the request head as received and borrows from it.
#[derive(Clone)]
pub struct Request {
    head: Head,
    target: Range<usize>,
    /// The path and query within the target (empty: `/`).
    resource: Range<usize>,
    accept: String,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("target", &self.target())
            .field("headers", &self.head.headers.len())
            .finish_non_exhaustive()
    }
}

impl Request {
    /// The request target as sent: a path such as `/chat?room=7`, or an
    /// absolute URI such as `http://example.com/chat?room=7`.
    pub fn target(&self) -> &str {
        self.head.str_at(self.target.clone())
    }

    /// The path and query of the target, e.g. `/chat?room=7` (RFC 6455's
    /// /resource name/).
    pub fn resource(&self) -> &str {
        if self.resource.is_empty() {
            "/"
        } else {
            self.head.str_at(self.resource.clone())
        }
    }

    /// The path part of the target (before `?`).
    pub fn path(&self) -> &str {
        let t = self.resource();
        t.split_once('?').map_or(t, |(p, _)| p)
    }

    /// The query part of the target (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.resource().split_once('?').map(|(_, q)| q)
    }

    /// All header fields in order, names as sent.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.head.headers()
    }

    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.head.header(name)
    }

    /// The `Host` header.
    pub fn host(&self) -> &str {
        self.header("host")
            .and_then(|v| core::str::from_utf8(trim(v)).ok())
            .unwrap_or("")
    }

    /// The `Origin` header, if present and valid UTF-8.
    pub fn origin(&self) -> Option<&str> {
        self.header("origin")
            .and_then(|v| core::str::from_utf8(trim(v)).ok())
    }

    /// The subprotocols the client offers (`Sec-WebSocket-Protocol`, every
    /// occurrence), in order of preference.
    pub fn subprotocols(&self) -> impl Iterator<Item = &str> {
        self.head
            .header_values("sec-websocket-protocol")
            .flat_map(list_elements)
            .filter_map(|p| core::str::from_utf8(p).ok())
    }

    /// The extensions the client offers (`Sec-WebSocket-Extensions`, every
    /// occurrence), in order. Malformed header values are skipped.
    pub fn extensions(&self) -> Vec<Extension> {
        self.head
            .header_values("sec-websocket-extensions")
            .filter_map(|v| core::str::from_utf8(v).ok())
            .filter_map(parse_extensions)
            .flatten()
            .collect()
    }

    /// The `Sec-WebSocket-Accept` value the answer will carry.
    pub fn accept_key(&self) -> &str {
        &self.accept
    }

    /// Every `Sec-WebSocket-Extensions` value, for negotiation.
    pub(crate) fn extension_values(&self) -> impl Iterator<Item = &[u8]> {
        self.head.header_values("sec-websocket-extensions")
    }
}

/// Finds and parses an upgrade request at the start of a buffer, looking at
/// each received byte once (a long head is not re-parsed on every read).
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestScanner {
    scanned: usize,
}

impl RequestScanner {
    /// The length of a complete request head at the start of `buf`, if one
    /// has arrived.
    pub(crate) fn scan(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<usize>, HandshakeError> {
        scan_head(buf, &mut self.scanned, limits)
    }
}

impl Request {
    /// Parses and validates a complete request head.
    pub(crate) fn parse(raw: Bytes, limits: &Limits) -> Result<Request, HandshakeError> {
        let ((method, path, version), head) = parse_head(&raw, limits, |bytes, storage| {
            let mut req = httparse::Request::new(storage);
            let status = req.parse(bytes)?;
            let count = req.headers.len();
            Ok((status, (req.method, req.path, req.version), count))
        })?;
        let (Some(method), Some(path), Some(version)) = (method, path, version) else {
            return Err(HandshakeError::MalformedHttp);
        };
        let base = raw.as_ptr() as usize;
        let target = super::span(base, path.as_bytes());
        let resource = resource_of(path).ok_or(HandshakeError::InvalidTarget)?;
        let resource = super::span(base, resource.as_bytes());
        let accept = validate_request(method, version, head.headers())?;
        Ok(Request {
            head,
            target,
            resource,
            accept,
        })
    }
}

/// The /resource name/ of a request target (RFC 6455 §4.2.1, item 2): the
/// target itself in origin form (`/chat?x`), or the path and query of an
/// absolute `http`, `https`, `ws` or `wss` URI (empty for no path). `None`
/// for any other form (`*`, `host:port`, a relative path).
fn resource_of(target: &str) -> Option<&str> {
    if target.starts_with('/') {
        return Some(target);
    }
    let (scheme, rest) = target.split_once("://")?;
    if !["http", "https", "ws", "wss"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        return None;
    }
    let at = rest.find(['/', '?']).unwrap_or(rest.len());
    if at == 0 || rest[..at].contains('@') {
        return None;
    }
    let resource = &rest[at..];
    if resource.starts_with('?') {
        // `http://host?x` has an empty path; a resource must start with `/`.
        return None;
    }
    Some(resource)
}

/// How the application accepts a [`Request`]: see
/// [`Connection::accept`](crate::Connection::accept).
///
/// ```
/// use wsmachine::Accept;
/// let accept = Accept::new().subprotocol("chat").header("Set-Cookie", "id=1");
/// # let _ = accept;
/// ```
#[derive(Clone, Debug)]
pub struct Accept {
    pub(crate) subprotocol: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) compression: bool,
}

impl Accept {
    /// Accept with no subprotocol and no extra headers; permessage-deflate is
    /// agreed if the client offers it and the configuration allows it.
    pub fn new() -> Accept {
        Accept {
            subprotocol: None,
            headers: Vec::new(),
            compression: true,
        }
    }

    /// Choose one of the subprotocols the client offered.
    #[must_use]
    pub fn subprotocol(mut self, name: impl Into<String>) -> Self {
        self.subprotocol = Some(name.into());
        self
    }

    /// Add a header to the 101 answer (e.g. `Set-Cookie`). Headers the
    /// connection writes itself (`Upgrade`, `Connection`, `Sec-WebSocket-*`,
    /// `Content-Length`, `Transfer-Encoding`) are refused by
    /// [`Connection::accept`](crate::Connection::accept).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Decline permessage-deflate for this connection even if offered.
    #[must_use]
    pub fn without_compression(mut self) -> Self {
        self.compression = false;
        self
    }
}

impl Default for Accept {
    fn default() -> Self {
        Accept::new()
    }
}

/// How the application rejects a [`Request`]: an HTTP answer. See
/// [`Connection::reject`](crate::Connection::reject).
///
/// ```
/// use wsmachine::Reject;
/// let reject = Reject::new(401).header("WWW-Authenticate", "Bearer").body("log in first");
/// # let _ = reject;
/// ```
#[derive(Clone, Debug)]
pub struct Reject {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
}

impl Reject {
    /// A rejection with this status (200–599) and an empty body.
    pub fn new(status: u16) -> Reject {
        Reject {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Add a header (e.g. `WWW-Authenticate`, `Location`, `Retry-After`).
    /// Headers the connection writes itself (`Connection`,
    /// `Content-Length`, `Transfer-Encoding`, `Upgrade`, `Sec-WebSocket-*`)
    /// are refused by [`Connection::reject`](crate::Connection::reject).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Set the body (sent with `Content-Length`).
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

/// Checks application-supplied headers before they are written.
pub(crate) fn check_headers(headers: &[(String, String)]) -> Result<(), UsageError> {
    for (name, value) in headers {
        if !is_token(name) || !is_valid_header_value(value) {
            return Err(UsageError::InvalidHeader);
        }
        if is_managed(name) {
            return Err(UsageError::ManagedHeader);
        }
    }
    Ok(())
}

/// The 101 answer.
pub(crate) fn accept_response_bytes(
    accept_key: &str,
    subprotocol: Option<&str>,
    extensions: Option<&str>,
    extra: &[(String, String)],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    for (name, value) in super::response_headers(accept_key, subprotocol, extensions) {
        push_header(&mut out, name, &value);
    }
    for (name, value) in extra {
        push_header(&mut out, name, value);
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A non-101 answer; the connection closes after it.
pub(crate) fn reject_response_bytes(
    status: u16,
    extra: &[(String, String)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(&mut out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\nConnection: close\r\nContent-Length: ");
    push_decimal(&mut out, body.len() as u64);
    out.extend_from_slice(b"\r\n");
    if status == 426 {
        push_header(&mut out, "Sec-WebSocket-Version", "13");
    }
    if !body.is_empty()
        && !extra
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        push_header(&mut out, "Content-Type", "text/plain; charset=utf-8");
    }
    for (name, value) in extra {
        push_header(&mut out, name, value);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limit;

    const GOOD: &str = "GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

    fn parse(s: &str) -> Result<Request, HandshakeError> {
        Request::parse(Bytes::copy_from_slice(s.as_bytes()), &Limits::default())
    }

    #[test]
    fn parses_the_rfc_example() {
        let r = parse(GOOD).unwrap();
        assert_eq!(r.path(), "/chat");
        assert_eq!(r.query(), Some("room=1"));
        assert_eq!(r.host(), "server.example.com");
        assert_eq!(r.origin(), Some("http://example.com"));
        assert_eq!(r.subprotocols().collect::<Vec<_>>(), ["chat", "superchat"]);
        assert_eq!(r.accept_key(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(r.headers().count(), 7);
    }

    #[test]
    fn rejects_each_violation_with_its_error() {
        let cases: &[(&str, &str, HandshakeError)] = &[
            ("GET /chat", "POST /chat", HandshakeError::MethodNotGet),
            (
                "HTTP/1.1\r\nHost",
                "HTTP/1.0\r\nHost",
                HandshakeError::NotHttp11,
            ),
            (
                "Upgrade: websocket",
                "Upgrade: h2c",
                HandshakeError::BadHeader("Upgrade"),
            ),
            (
                "Connection: Upgrade",
                "Connection: close",
                HandshakeError::BadHeader("Connection"),
            ),
            (
                "Version: 13",
                "Version: 8",
                HandshakeError::UnsupportedVersion,
            ),
            (
                "dGhlIHNhbXBsZSBub25jZQ==",
                "dGhlIHNhbXBsZSBub25jZQ",
                HandshakeError::BadHeader("Sec-WebSocket-Key"),
            ),
            (
                "Host: server.example.com\r\n",
                "",
                HandshakeError::BadHeader("Host"),
            ),
            (
                "Version: 13\r\n",
                "Version: 13\r\nContent-Length: 5\r\n",
                HandshakeError::RequestHasBody,
            ),
            (
                "Version: 13\r\n",
                "Version: 13\r\nTransfer-Encoding: chunked\r\n",
                HandshakeError::RequestHasBody,
            ),
            (
                "Version: 13\r\n",
                "Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                HandshakeError::BadHeader("Sec-WebSocket-Key"),
            ),
        ];
        for (from, to, want) in cases {
            let req = GOOD.replacen(from, to, 1);
            assert_ne!(req, GOOD, "{from}");
            assert_eq!(parse(&req).unwrap_err(), *want, "{to}");
        }
        assert_eq!(HandshakeError::UnsupportedVersion.http_status(), 426);
    }

    #[test]
    fn header_count_limit() {
        let many = GOOD.replacen("\r\n\r\n", &"\r\nX-A: 1".repeat(70), 1) + "\r\n\r\n";
        assert_eq!(
            parse(&many).unwrap_err(),
            HandshakeError::TooLarge(Limit::HeaderCount)
        );
    }

    #[test]
    fn scanner_enforces_the_size_limit() {
        let limits = Limits::default().max_handshake_size(64);
        let mut s = RequestScanner::default();
        assert_eq!(s.scan(b"GET / HTTP/1.1\r\n", &limits), Ok(None));
        let long = [b'a'; 65];
        assert_eq!(
            RequestScanner::default().scan(&long, &limits),
            Err(HandshakeError::TooLarge(Limit::HandshakeSize))
        );
    }

    #[test]
    fn responses() {
        let ok = accept_response_bytes("abc", Some("chat"), None, &[("X-A".into(), "1".into())]);
        assert_eq!(
            ok,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc\r\nSec-WebSocket-Protocol: chat\r\nX-A: 1\r\n\r\n"
        );
        let no = reject_response_bytes(426, &[], b"");
        assert!(no.starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(no.windows(26).any(|w| {
            w == b"Sec-WebSocket-Version: 13"[..]
                .iter()
                .chain(b"\r")
                .copied()
                .collect::<Vec<_>>()
        }));
        assert!(check_headers(&[("X-Bad".into(), "a\r\nb".into())]).is_err());
        assert!(check_headers(&[("X Bad".into(), "a".into())]).is_err());
        for managed in [
            "Content-Length",
            "transfer-encoding",
            "Sec-WebSocket-Extensions",
            "SEC-WEBSOCKET-ACCEPT",
            "Connection",
            "Upgrade",
        ] {
            assert_eq!(
                check_headers(&[(managed.into(), "x".into())]),
                Err(UsageError::ManagedHeader),
                "{managed}"
            );
        }
        assert!(check_headers(&[("Sec-Fetch-Mode".into(), "x".into())]).is_ok());
    }

    #[test]
    fn request_target_forms() {
        for (target, resource) in [
            ("/", "/"),
            ("/chat?x=1", "/chat?x=1"),
            ("http://example.com/chat?x=1", "/chat?x=1"),
            ("WSS://example.com:443/a", "/a"),
            ("http://example.com", "/"),
        ] {
            let r = parse(&GOOD.replacen("/chat?room=1", target, 1)).unwrap();
            assert_eq!((r.target(), r.resource()), (target, resource));
        }
        for bad in [
            "chat",
            "*",
            "example.com:80",
            "ftp://x/",
            "http:///x",
            "http://u@h/",
            "http://h?x",
        ] {
            assert_eq!(
                parse(&GOOD.replacen("/chat?room=1", bad, 1)).unwrap_err(),
                HandshakeError::InvalidTarget,
                "{bad}"
            );
        }
    }
}
