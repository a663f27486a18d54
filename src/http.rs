//! Handshakes with the `http` crate's types (feature `http`): what hyper,
//! axum and other HTTP stacks hand over and expect back.
//!
//! Server: [`accept`] takes the upgrade request (`http::Request<B>`, the
//! body is not looked at), validates it like the connection would, and
//! returns the `101 Switching Protocols` answer to send and an open
//! [`Connection`] to run on the upgraded transport. A request that is not a
//! valid upgrade gets the answer to send in [`UpgradeError::response`].
//!
//! Client: [`client_request`] builds the upgrade request as an
//! `http::Request<()>`; [`ClientUpgrade::finish`] checks the answer and
//! returns the open connection.
//!
//! ```
//! use wsmachine::http::{accept, client_request};
//! use wsmachine::{Accept, ClientRequest, Config};
//!
//! let request = ClientRequest::new("ws://example.com/chat")?;
//! let (request, pending) = client_request(&request, Config::default())?;
//! let (response, _server) = accept(&request, Config::default(), Accept::new()).unwrap();
//! assert_eq!(response.status(), 101);
//! let client = pending.finish(&response).unwrap();
//! assert_eq!(client.state(), wsmachine::State::Open);
//! # Ok::<(), wsmachine::UsageError>(())
//! ```

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::config::Config;
use crate::connection::{Agreement, Connection};
use crate::handshake::{Accept, ClientRequest};
use crate::handshake::{
    HandshakeError, accept_key, check_headers, is_managed, response_headers, validate_request,
};
use crate::header::{has_token, is_token, is_valid_header_value, list_elements, trim};
use crate::rng::{ChaCha20Rng, RandomSource};
use crate::usage::UsageError;

/// Why [`accept`] did not upgrade.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpgradeError {
    /// The request is not a valid WebSocket upgrade (or the Origin policy
    /// refused it): answer it with [`response`](Self::response).
    Request(HandshakeError),
    /// The [`Accept`] does not fit the request (a subprotocol the client
    /// did not offer, a header the connection writes itself).
    Usage(UsageError),
}

impl UpgradeError {
    /// The HTTP answer to send: 400, 403 or 426 (with
    /// `Sec-WebSocket-Version: 13`) for a bad request, 500 for a mistake of
    /// the application.
    pub fn response(&self) -> ::http::Response<()> {
        let status = match self {
            UpgradeError::Request(e) => e.http_status(),
            UpgradeError::Usage(_) => 500,
        };
        let mut response = ::http::Response::new(());
        *response.status_mut() =
            ::http::StatusCode::from_u16(status).unwrap_or(::http::StatusCode::BAD_REQUEST);
        if status == 426 {
            response.headers_mut().insert(
                "sec-websocket-version",
                ::http::HeaderValue::from_static("13"),
            );
        }
        response
    }
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpgradeError::Request(e) => e.fmt(f),
            UpgradeError::Usage(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for UpgradeError {}

fn header_pairs(headers: &::http::HeaderMap) -> impl Iterator<Item = (&str, &[u8])> {
    headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))
}

/// Server: validates an upgrade request (RFC 6455 §4.2.1, the Origin policy
/// of `config`), agrees to the subprotocol of `accept` (which must be one
/// the client offered) and to permessage-deflate if offered and allowed,
/// and returns the 101 answer and an open server connection.
pub fn accept<B>(
    request: &::http::Request<B>,
    config: impl Into<Arc<Config>>,
    accept: Accept,
) -> Result<(::http::Response<()>, Connection), UpgradeError> {
    let config = config.into();
    let minor = match request.version() {
        ::http::Version::HTTP_11 => 1,
        _ => 0,
    };
    let headers = || header_pairs(request.headers());
    let key = validate_request(request.method().as_str(), minor, headers())
        .map_err(UpgradeError::Request)?;
    let origin = request
        .headers()
        .get("origin")
        .and_then(|v| v.to_str().ok());
    let host = request
        .headers()
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !config.origin_policy.allows(origin, host) {
        return Err(UpgradeError::Request(HandshakeError::OriginRejected));
    }
    if let Some(p) = &accept.subprotocol {
        let offered = headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-protocol"))
            .flat_map(|(_, v)| list_elements(v))
            .any(|o| o == p.as_bytes());
        if !offered {
            return Err(UpgradeError::Usage(UsageError::SubprotocolNotOffered));
        }
    }
    check_headers(&accept.headers).map_err(UpgradeError::Usage)?;
    let extensions = if accept.compression {
        let offers = headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
            .filter_map(|(_, v)| core::str::from_utf8(v).ok());
        crate::handshake::negotiate_extensions(&config, offers)
    } else {
        None
    };
    let mut response = ::http::Response::new(());
    *response.status_mut() = ::http::StatusCode::SWITCHING_PROTOCOLS;
    let out = response.headers_mut();
    let written = response_headers(&key, accept.subprotocol.as_deref(), extensions.as_deref());
    for (name, value) in written
        .into_iter()
        .chain(accept.headers.iter().map(|(n, v)| (n.as_str(), v.clone())))
    {
        let name = ::http::HeaderName::from_bytes(name.as_bytes());
        let value = ::http::HeaderValue::from_str(&value);
        let (Ok(name), Ok(value)) = (name, value) else {
            return Err(UpgradeError::Usage(UsageError::InvalidHeader));
        };
        out.append(name, value);
    }
    let mut agreement = Agreement::new();
    if let Some(p) = accept.subprotocol {
        agreement = agreement.subprotocol(p);
    }
    if let Some(e) = extensions {
        agreement = agreement.extensions(e);
    }
    let conn = Connection::upgraded_server(config, &agreement).map_err(UpgradeError::Usage)?;
    Ok((response, conn))
}

/// A client's upgrade request on its way: checks the answer.
pub struct ClientUpgrade {
    config: Arc<Config>,
    expected_accept: String,
    subprotocols: Vec<String>,
    rng: ChaCha20Rng,
}

impl fmt::Debug for ClientUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientUpgrade")
            .field("subprotocols", &self.subprotocols)
            .finish_non_exhaustive()
    }
}

/// Client: the upgrade request for `request` under `config` (its
/// permessage-deflate offer included) as an `http::Request<()>` whose URI is
/// the request target (origin form, as an HTTP/1 client connection writes
/// it) with a `Host` header; and the state that checks the answer. Mask
/// keys and the handshake key come from an OS-seeded ChaCha20 generator.
pub fn client_request(
    request: &ClientRequest,
    config: impl Into<Arc<Config>>,
) -> Result<(::http::Request<()>, ClientUpgrade), UsageError> {
    let config = config.into();
    let mut rng = ChaCha20Rng::from_os()?;
    let mut nonce = [0u8; 16];
    rng.fill(&mut nonce);
    let key = BASE64.encode(nonce);
    let offer = crate::handshake::extension_offer(&config);
    let bad = |_| UsageError::InvalidHeader;
    let mut builder = ::http::Request::get(request.target())
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", key.as_str())
        .header("sec-websocket-version", "13");
    if !request.subprotocols().is_empty() {
        builder = builder.header("sec-websocket-protocol", request.subprotocols().join(", "));
    }
    if let Some(offer) = offer {
        builder = builder.header("sec-websocket-extensions", offer);
    }
    let mut has_host = false;
    if !request.subprotocols().iter().all(|p| is_token(p)) {
        return Err(UsageError::InvalidSubprotocol);
    }
    for (name, value) in request.extra_headers() {
        if !is_token(name) || !is_valid_header_value(value) {
            return Err(UsageError::InvalidHeader);
        }
        if is_managed(name) {
            return Err(UsageError::ManagedHeader);
        }
        has_host |= name.eq_ignore_ascii_case("host");
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !has_host {
        builder = builder.header("host", request.host_header());
    }
    let built = builder.body(()).map_err(bad)?;
    let pending = ClientUpgrade {
        config,
        expected_accept: accept_key(key.as_bytes()),
        subprotocols: request.subprotocols().to_vec(),
        rng,
    };
    Ok((built, pending))
}

impl ClientUpgrade {
    /// Checks the server's answer (RFC 6455 §4.1: status 101, `Upgrade`,
    /// `Connection`, `Sec-WebSocket-Accept`, the subprotocol and extensions
    /// offered) and returns the open client connection.
    pub fn finish<B>(self, response: &::http::Response<B>) -> Result<Connection, HandshakeError> {
        if response.status() != ::http::StatusCode::SWITCHING_PROTOCOLS {
            return Err(rejected(response, &self.config));
        }
        let headers = response.headers();
        let has = |name: &str, token: &str| {
            headers
                .get_all(name)
                .iter()
                .any(|v| has_token(v.as_bytes(), token))
        };
        if !has("upgrade", "websocket") {
            return Err(HandshakeError::BadHeader("Upgrade"));
        }
        if !has("connection", "upgrade") {
            return Err(HandshakeError::BadHeader("Connection"));
        }
        let accepts: Vec<_> = headers.get_all("sec-websocket-accept").iter().collect();
        if accepts.len() != 1 || trim(accepts[0].as_bytes()) != self.expected_accept.as_bytes() {
            return Err(HandshakeError::BadAccept);
        }
        let protocols: Vec<&[u8]> = headers
            .get_all("sec-websocket-protocol")
            .iter()
            .flat_map(|v| list_elements(v.as_bytes()))
            .collect();
        let mut agreement = Agreement::new();
        match protocols.as_slice() {
            [] => {}
            [one] => match self.subprotocols.iter().find(|p| p.as_bytes() == *one) {
                Some(p) => agreement = agreement.subprotocol(p.clone()),
                None => return Err(HandshakeError::UnexpectedSubprotocol),
            },
            _ => return Err(HandshakeError::UnexpectedSubprotocol),
        }
        let extensions: Vec<&str> = headers
            .get_all("sec-websocket-extensions")
            .iter()
            .map(|v| v.to_str().map_err(|_| HandshakeError::UnexpectedExtension))
            .collect::<Result<_, _>>()?;
        if !extensions.is_empty() {
            agreement = agreement.extensions(extensions.join(", "));
        }
        Connection::upgraded_client_with_rng(self.config, &agreement, self.rng)
            .map_err(|_| HandshakeError::UnexpectedExtension)
    }
}

/// A non-101 answer as [`HandshakeError::Rejected`], headers kept (the
/// body is the HTTP library's to read).
fn rejected<B>(response: &::http::Response<B>, config: &Config) -> HandshakeError {
    let status = response.status();
    let mut head = alloc::format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in response.headers() {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    match crate::handshake::parse_response(bytes::Bytes::from(head), &config.limits) {
        Ok(parsed) => HandshakeError::Rejected(alloc::boxed::Box::new(parsed)),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::handshake::ClientRequest;
    use crate::{CloseCode, OriginPolicy};

    fn upgrade_request() -> ::http::request::Builder {
        ::http::Request::get("/chat")
            .header("host", "example.com")
            .header("upgrade", "websocket")
            .header("connection", "keep-alive, Upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13")
    }

    fn pump(from: &mut Connection, to: &mut Connection) {
        while let Some(bytes) = from.poll_transmit() {
            assert_eq!(to.feed(&bytes), bytes.len());
        }
    }

    #[test]
    fn accepts_the_rfc_example() {
        let req = upgrade_request().body(()).unwrap();
        let (resp, conn) = accept(&req, Config::default(), Accept::new()).unwrap();
        assert_eq!(resp.status(), 101);
        assert_eq!(
            resp.headers()["sec-websocket-accept"],
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(resp.headers()["upgrade"], "websocket");
        assert_eq!(conn.state(), crate::State::Open);
        assert_eq!(conn.role(), crate::Role::Server);
    }

    #[test]
    fn refuses_bad_requests_with_the_right_status() {
        let cases: [(::http::Request<()>, u16); 5] = [
            (upgrade_request().method("POST").body(()).unwrap(), 400),
            (
                upgrade_request()
                    .version(::http::Version::HTTP_10)
                    .body(())
                    .unwrap(),
                400,
            ),
            (
                ::http::Request::get("/")
                    .header("host", "x")
                    .header("upgrade", "websocket")
                    .header("connection", "upgrade")
                    .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                    .header("sec-websocket-version", "8")
                    .body(())
                    .unwrap(),
                426,
            ),
            (
                ::http::Request::get("/")
                    .header("host", "x")
                    .header("upgrade", "websocket")
                    .header("connection", "upgrade")
                    .header("sec-websocket-key", "short")
                    .header("sec-websocket-version", "13")
                    .body(())
                    .unwrap(),
                400,
            ),
            (
                upgrade_request()
                    .header("origin", "https://evil.example")
                    .body(())
                    .unwrap(),
                403,
            ),
        ];
        let config = Config::default().origin_policy(OriginPolicy::SameHost);
        for (req, status) in cases {
            let err = accept(&req, config.clone(), Accept::new()).unwrap_err();
            assert_eq!(err.response().status().as_u16(), status, "{err}");
            if status == 426 {
                assert_eq!(err.response().headers()["sec-websocket-version"], "13");
            }
        }
    }

    #[test]
    fn subprotocol_must_be_offered() {
        let req = upgrade_request()
            .header("sec-websocket-protocol", "a, chat")
            .body(())
            .unwrap();
        let (resp, conn) =
            accept(&req, Config::default(), Accept::new().subprotocol("chat")).unwrap();
        assert_eq!(resp.headers()["sec-websocket-protocol"], "chat");
        assert_eq!(conn.subprotocol(), Some("chat"));
        let err = accept(&req, Config::default(), Accept::new().subprotocol("other")).unwrap_err();
        assert_eq!(err, UpgradeError::Usage(UsageError::SubprotocolNotOffered));
        assert_eq!(err.response().status(), 500);
        let err = accept(
            &req,
            Config::default(),
            Accept::new().header("Upgrade", "x"),
        )
        .unwrap_err();
        assert_eq!(err, UpgradeError::Usage(UsageError::ManagedHeader));
    }

    #[test]
    fn client_and_server_talk_through_http_types() {
        let request = ClientRequest::new("ws://example.com:8080/feed?x=1")
            .unwrap()
            .subprotocol("v2")
            .header("Authorization", "Bearer t");
        let (req, pending) = client_request(&request, Config::default()).unwrap();
        assert_eq!(req.uri(), "/feed?x=1");
        assert_eq!(req.headers()["host"], "example.com:8080");
        assert_eq!(req.headers()["authorization"], "Bearer t");
        assert_eq!(req.headers()["sec-websocket-protocol"], "v2");
        #[cfg(feature = "deflate")]
        assert!(req.headers().contains_key("sec-websocket-extensions"));
        let (resp, mut server) =
            accept(&req, Config::default(), Accept::new().subprotocol("v2")).unwrap();
        let mut client = pending.finish(&resp).unwrap();
        assert_eq!(client.subprotocol(), Some("v2"));
        assert_eq!(client.extensions(), server.extensions());
        client.send("hello, over http types").unwrap();
        pump(&mut client, &mut server);
        match server.poll_event() {
            Some(Event::Message(m)) => assert_eq!(m.as_text(), Some("hello, over http types")),
            other => panic!("{other:?}"),
        }
        server.close(CloseCode::NORMAL, "").unwrap();
        pump(&mut server, &mut client);
        assert!(matches!(client.poll_event(), Some(Event::Closed(c)) if c.clean));
    }

    #[test]
    fn client_checks_the_answer() {
        let request = ClientRequest::new("ws://example.com/")
            .unwrap()
            .subprotocol("a");
        let answer = |f: &dyn Fn(::http::response::Builder) -> ::http::response::Builder| {
            let (req, pending) = client_request(&request, Config::default()).unwrap();
            let (resp, _) = accept(&req, Config::default(), Accept::new()).unwrap();
            let mut b = ::http::Response::builder().status(resp.status());
            for (n, v) in resp.headers() {
                b = b.header(n, v);
            }
            pending.finish(&f(b).body(()).unwrap())
        };
        assert!(answer(&|b| b).is_ok());
        match answer(&|b| b.status(403).header("x-why", "no")).unwrap_err() {
            HandshakeError::Rejected(r) => {
                assert_eq!((r.status(), r.header("x-why")), (403, Some(&b"no"[..])));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            answer(&|b| b.header("sec-websocket-protocol", "b")).unwrap_err(),
            HandshakeError::UnexpectedSubprotocol
        );
        assert_eq!(
            answer(&|b| b.header("sec-websocket-accept", "AAAA")).unwrap_err(),
            HandshakeError::BadAccept
        );
        assert_eq!(
            answer(&|b| b.header("sec-websocket-extensions", "x-unknown")).unwrap_err(),
            HandshakeError::UnexpectedExtension
        );
    }
}
