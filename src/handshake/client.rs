//! Client side of the opening handshake (RFC 6455 §4.1).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

use super::HandshakeError;
use super::{Head, accept_key, is_managed, parse_head, scan_head};
use crate::config::Limits;
use crate::header::{has_token, is_token, is_valid_header_value, list_elements, trim};
use crate::rng::RandomSource;
use crate::usage::UsageError;

/// What a client asks for: the URI, subprotocols, extra headers.
///
/// ```
/// use wsmachine::ClientRequest;
/// let req = ClientRequest::new("wss://example.com/feed?x=1")?
///     .subprotocol("v2.feed")
///     .header("Authorization", "Bearer abc");
/// assert_eq!((req.host(), req.port(), req.is_tls()), ("example.com", 443, true));
/// assert_eq!(req.target(), "/feed?x=1");
/// # Ok::<(), wsmachine::UsageError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientRequest {
    tls: bool,
    host: String,
    port: u16,
    explicit_port: bool,
    target: String,
    subprotocols: Vec<String>,
    headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// Parses a `ws://` or `wss://` URI (RFC 6455 §3): a host (name, IPv4,
    /// or bracketed IPv6), an optional port, a path and query. A fragment,
    /// user information, or characters that are not printable ASCII are
    /// refused.
    pub fn new(uri: &str) -> Result<ClientRequest, UsageError> {
        let bad = UsageError::InvalidUri;
        let (scheme, rest) = uri.split_once("://").ok_or(bad.clone())?;
        let tls = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(bad);
        };
        if rest.contains('#') || !rest.bytes().all(|b| (0x21..0x7F).contains(&b)) {
            return Err(bad);
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.contains('@') || authority.is_empty() {
            return Err(bad);
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or(bad.clone())?;
            if addr.is_empty()
                || !addr
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.' || b == b'%')
            {
                return Err(bad);
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or(bad.clone())?),
            };
            (&authority[..addr.len() + 2], port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty()
            || (!host.starts_with('[')
                && !host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b)))
        {
            return Err(bad);
        }
        let default_port = if tls { 443 } else { 80 };
        let (port, explicit_port) = match port {
            None => (default_port, false),
            Some(p) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad);
                }
                let n: u16 = p.parse().map_err(|_| bad.clone())?;
                if n == 0 {
                    return Err(bad);
                }
                (n, n != default_port)
            }
        };
        let target = if path.is_empty() {
            String::from("/")
        } else if path.starts_with('?') {
            alloc::format!("/{path}")
        } else {
            String::from(path)
        };
        Ok(ClientRequest {
            tls,
            host: String::from(host),
            port,
            explicit_port,
            target,
            subprotocols: Vec::new(),
            headers: Vec::new(),
        })
    }

    /// Offer a subprotocol (`Sec-WebSocket-Protocol`); call once per
    /// protocol, most preferred first.
    #[must_use]
    pub fn subprotocol(mut self, name: impl Into<String>) -> Self {
        self.subprotocols.push(name.into());
        self
    }

    /// Add a header (e.g. `Origin`, `Authorization`, `Cookie`). A `Host`
    /// header replaces the one derived from the URI. Names and values are
    /// checked when the connection is created: CR, LF and NUL are refused,
    /// and so are the headers the connection writes itself (`Upgrade`,
    /// `Connection`, `Sec-WebSocket-*`, `Content-Length`,
    /// `Transfer-Encoding`).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The host to connect to (IPv6 addresses keep their brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to (80 or 443 unless the URI says otherwise).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the URI is `wss://`: the driver must run TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The request target: path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The subprotocols offered.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The extra headers, in order.
    #[cfg(feature = "http")]
    pub(crate) fn extra_headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The `Host` header derived from the URI.
    #[cfg(feature = "http")]
    pub(crate) fn host_header(&self) -> String {
        if self.explicit_port {
            alloc::format!("{}:{}", self.host, self.port)
        } else {
            self.host.clone()
        }
    }

    /// Checks names and values, draws a fresh key from `rng` and writes the
    /// request. `extensions` is the `Sec-WebSocket-Extensions` offer.
    pub(crate) fn encode(
        &self,
        rng: &mut dyn RandomSource,
        extensions: Option<&str>,
    ) -> Result<(Vec<u8>, ClientHandshake), UsageError> {
        for (name, value) in &self.headers {
            if !is_token(name) || !is_valid_header_value(value) {
                return Err(UsageError::InvalidHeader);
            }
            if is_managed(name) {
                return Err(UsageError::ManagedHeader);
            }
        }
        if !self.subprotocols.iter().all(|p| is_token(p)) {
            return Err(UsageError::InvalidSubprotocol);
        }
        let mut nonce = [0u8; 16];
        rng.fill(&mut nonce);
        let key = BASE64.encode(nonce);

        let mut out = Vec::with_capacity(256);
        let mut line = |name: &str, value: &str| {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        let mut head = String::from("GET ");
        head.push_str(&self.target);
        head.push_str(" HTTP/1.1\r\n");
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("host"))
        {
            if self.explicit_port {
                line("Host", &alloc::format!("{}:{}", self.host, self.port));
            } else {
                line("Host", &self.host);
            }
        }
        line("Upgrade", "websocket");
        line("Connection", "Upgrade");
        line("Sec-WebSocket-Key", &key);
        line("Sec-WebSocket-Version", "13");
        if !self.subprotocols.is_empty() {
            line("Sec-WebSocket-Protocol", &self.subprotocols.join(", "));
        }
        if let Some(ext) = extensions {
            line("Sec-WebSocket-Extensions", ext);
        }
        for (name, value) in &self.headers {
            line(name, value);
        }
        out.extend_from_slice(b"\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&out);
        Ok((
            bytes,
            ClientHandshake {
                expected_accept: accept_key(key.as_bytes()),
                subprotocols: self.subprotocols.clone(),
                scanned: 0,
            },
        ))
    }
}

/// The client's handshake state while it waits for the answer.
#[derive(Clone, Debug)]
pub(crate) struct ClientHandshake {
    expected_accept: String,
    subprotocols: Vec<String>,
    pub(crate) scanned: usize,
}

/// The server's answer to the upgrade request: the 101 handed to the
/// application in [`Open`](crate::Open), or any other answer, kept whole in
/// [`HandshakeError::Rejected`].
///
/// Following a redirect: on a 3xx, read [`header("location")`](Self::header),
/// build a new [`ClientRequest`] from it (resolving a relative reference
/// against the old URI, and refusing to switch to `ws://` from `wss://`),
/// and open a new connection; the old one is finished. An authentication
/// challenge (401 with `WWW-Authenticate`) is answered the same way, with an
/// `Authorization` header on the new request.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    head: Head,
    status: u16,
    reason: core::ops::Range<usize>,
    body: Bytes,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("reason", &self.reason())
            .field("headers", &self.head.headers.len())
            .field("body", &self.body.len())
            .finish()
    }
}

impl Response {
    /// The HTTP status (101 for an accepted upgrade).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase, e.g. `Switching Protocols`.
    pub fn reason(&self) -> &str {
        self.head.str_at(self.reason.clone())
    }

    /// All header fields in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.head.headers()
    }

    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.head.header(name)
    }

    /// The body of a rejection: the bytes announced by `Content-Length`, or
    /// up to the end of the transport without one, at most
    /// [`Limits::max_handshake_size`] bytes. Empty for a 101 and for a
    /// chunked body (which is not read).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Every `Sec-WebSocket-Extensions` value.
    pub(crate) fn extension_values(&self) -> impl Iterator<Item = &[u8]> {
        self.head.header_values("sec-websocket-extensions")
    }

    pub(crate) fn set_body(&mut self, body: Bytes) {
        self.body = body;
    }
}

/// How the body of a rejection is delimited (RFC 7230 §3.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyLength {
    /// Exactly this many bytes.
    Fixed(u64),
    /// Up to the end of the transport.
    UntilEof,
    /// Not read (a chunked body, or a status that has none).
    Skip,
}

/// How the body of `response` is delimited.
pub(crate) fn body_length(response: &Response) -> BodyLength {
    if matches!(response.status, 100..=199 | 204 | 304) {
        return BodyLength::Skip;
    }
    if response.header("transfer-encoding").is_some() {
        return BodyLength::Skip;
    }
    match response.header("content-length") {
        Some(v) => core::str::from_utf8(trim(v))
            .ok()
            .and_then(|n| n.parse().ok())
            .map_or(BodyLength::Skip, BodyLength::Fixed),
        None => BodyLength::UntilEof,
    }
}

/// Parses the server's answer head (any status). Only HTTP/1.1 is accepted:
/// RFC 6455 §4.1 requires it, and an HTTP/1.0 server cannot switch
/// protocols.
pub(crate) fn parse_response(raw: Bytes, limits: &Limits) -> Result<Response, HandshakeError> {
    let ((code, reason, version), head) = parse_head(&raw, limits, |bytes, storage| {
        let mut resp = httparse::Response::new(storage);
        let status = resp.parse(bytes)?;
        let count = resp.headers.len();
        Ok((status, (resp.code, resp.reason, resp.version), count))
    })?;
    let (Some(status), Some(version)) = (code, version) else {
        return Err(HandshakeError::MalformedHttp);
    };
    if version != 1 {
        return Err(HandshakeError::NotHttp11);
    }
    let reason = super::span(raw.as_ptr() as usize, reason.unwrap_or("").as_bytes());
    let reason = if reason.end > raw.len() { 0..0 } else { reason };
    Ok(Response {
        head,
        status,
        reason,
        body: Bytes::new(),
    })
}

/// Validates a 101 answer (§4.1, client steps 1–6, except extensions, which
/// the connection negotiates). Returns the agreed subprotocol.
pub(crate) fn check_switching(
    response: &Response,
    hs: &ClientHandshake,
) -> Result<Option<String>, HandshakeError> {
    let mut upgrade = false;
    let mut connection = false;
    let mut accepts = 0;
    let mut accept_ok = false;
    let mut protocols: Vec<&[u8]> = Vec::new();
    for (name, value) in response.headers() {
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade |= has_token(value, "websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection |= has_token(value, "upgrade");
        } else if name.eq_ignore_ascii_case("sec-websocket-accept") {
            accepts += 1;
            accept_ok = trim(value) == hs.expected_accept.as_bytes();
        } else if name.eq_ignore_ascii_case("sec-websocket-protocol") {
            protocols.extend(list_elements(value));
        }
    }
    if !upgrade {
        return Err(HandshakeError::BadHeader("Upgrade"));
    }
    if !connection {
        return Err(HandshakeError::BadHeader("Connection"));
    }
    if accepts != 1 || !accept_ok {
        return Err(HandshakeError::BadAccept);
    }
    match protocols.as_slice() {
        [] => Ok(None),
        [one] => hs
            .subprotocols
            .iter()
            .find(|p| p.as_bytes() == *one)
            .cloned()
            .map(Some)
            .ok_or(HandshakeError::UnexpectedSubprotocol),
        _ => Err(HandshakeError::UnexpectedSubprotocol),
    }
}

/// Looks for a complete answer head at the start of `buf`; returns its
/// length.
pub(crate) fn find_response(
    hs: &mut ClientHandshake,
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<usize>, HandshakeError> {
    scan_head(buf, &mut hs.scanned, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Result<(bool, String, u16, String), UsageError> {
        ClientRequest::new(s).map(|r| (r.tls, r.host, r.port, r.target))
    }

    #[test]
    fn parses_uris() {
        assert_eq!(
            uri("ws://a.example").unwrap(),
            (false, "a.example".into(), 80, "/".into())
        );
        assert_eq!(
            uri("WSS://a.example:8443/x/y?q=1").unwrap(),
            (true, "a.example".into(), 8443, "/x/y?q=1".into())
        );
        assert_eq!(
            uri("ws://[::1]:9001").unwrap(),
            (false, "[::1]".into(), 9001, "/".into())
        );
        assert_eq!(uri("ws://h?x").unwrap().3, "/?x");
        for bad in [
            "http://a",
            "ws://",
            "ws://a#frag",
            "ws://u@a/",
            "ws://a:x",
            "ws://a:0",
            "ws://a:70000",
            "ws://a b",
            "ws://[::1",
            "ws://a/\u{e9}",
            "ws://[zz]/",
        ] {
            assert_eq!(uri(bad), Err(UsageError::InvalidUri), "{bad}");
        }
    }

    fn fixed(buf: &mut [u8]) {
        buf.fill(0x42);
    }

    #[test]
    fn request_bytes_and_response_validation() {
        let req = ClientRequest::new("ws://a.example:9001/p")
            .unwrap()
            .subprotocol("chat")
            .header("Origin", "http://a.example");
        let mut rng = fixed;
        let (bytes, hs) = req.encode(&mut rng, None).unwrap();
        let text = core::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with("GET /p HTTP/1.1\r\nHost: a.example:9001\r\n"));
        assert!(text.contains("Sec-WebSocket-Key: QkJCQkJCQkJCQkJCQkJCQg==\r\n"));
        assert!(text.contains("Sec-WebSocket-Protocol: chat\r\n"));
        assert!(text.ends_with("Origin: http://a.example\r\n\r\n"));

        let accept = accept_key(b"QkJCQkJCQkJCQkJCQkJCQg==");
        let ok = alloc::format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
        );
        let limits = Limits::default();
        let resp = parse_response(Bytes::from(ok.clone()), &limits).unwrap();
        assert_eq!((resp.status(), resp.reason()), (101, "Switching Protocols"));
        assert_eq!(
            check_switching(&resp, &hs).unwrap().as_deref(),
            Some("chat")
        );
        let http10 = ok.replacen("HTTP/1.1", "HTTP/1.0", 1);
        assert_eq!(
            parse_response(Bytes::from(http10), &limits).unwrap_err(),
            HandshakeError::NotHttp11
        );

        let cases = [
            (
                "Upgrade: websocket",
                "Upgrade: h2c",
                HandshakeError::BadHeader("Upgrade"),
            ),
            (
                "Connection: upgrade",
                "Connection: close",
                HandshakeError::BadHeader("Connection"),
            ),
            (accept.as_str(), "AAAA", HandshakeError::BadAccept),
            (
                "Protocol: chat",
                "Protocol: other",
                HandshakeError::UnexpectedSubprotocol,
            ),
            (
                "Protocol: chat",
                "Protocol: chat, chat",
                HandshakeError::UnexpectedSubprotocol,
            ),
        ];
        for (from, to, want) in cases {
            let bad = ok.replacen(from, to, 1);
            let resp = parse_response(Bytes::from(bad), &limits).unwrap();
            assert_eq!(check_switching(&resp, &hs).unwrap_err(), want, "{to}");
        }
    }

    #[test]
    fn refuses_header_injection() {
        let mut rng = fixed;
        for (n, v, want) in [
            ("X-A", "1\r\nEvil: 1", UsageError::InvalidHeader),
            ("X-A", "nul\0", UsageError::InvalidHeader),
            ("Bad Name", "1", UsageError::InvalidHeader),
            ("Sec-WebSocket-Key", "x", UsageError::ManagedHeader),
            ("content-length", "0", UsageError::ManagedHeader),
        ] {
            let req = ClientRequest::new("ws://a/").unwrap().header(n, v);
            assert_eq!(req.encode(&mut rng, None).unwrap_err(), want);
        }
        let req = ClientRequest::new("ws://a/").unwrap().subprotocol("a b");
        assert_eq!(
            req.encode(&mut rng, None).unwrap_err(),
            UsageError::InvalidSubprotocol
        );
    }
}
