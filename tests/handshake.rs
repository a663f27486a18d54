//! The opening handshake (RFC 6455 §4), both roles, from raw bytes.
mod common;

use std::sync::Arc;

use common::*;
use wsmachine::handshake::{
    Extension, ExtensionParam, accept_key, parse_extensions, response_headers, validate_request,
};
use wsmachine::*;

/// The key of RFC 6455 §1.3 and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The 101 answer to [`REQUEST`] with no subprotocol and no extension.
fn plain_101() -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
    )
}

/// [`REQUEST`] with one replacement applied (which must match).
fn request_with(from: &str, to: &str) -> String {
    assert!(REQUEST.contains(from), "{from:?} not in the request");
    REQUEST.replacen(from, to, 1)
}

/// [`REQUEST`] with extra header lines (each ending in CRLF).
fn request_plus(lines: &str) -> String {
    REQUEST.replacen("\r\n\r\n", &format!("\r\n{lines}\r\n\r\n"), 1)
}

/// Feeds a request to a fresh server and expects a request event.
fn pending_request(config: Config, request: &str) -> (Connection, Request) {
    let mut server = Connection::server(config);
    server.feed(request.as_bytes());
    match server.poll_event() {
        Some(Event::Request(r)) => (server, r),
        other => panic!("expected a request, got {other:?}"),
    }
}

/// Feeds a request that must fail: returns the error and the HTTP answer.
fn refused(config: Config, request: &[u8]) -> (HandshakeError, String) {
    let mut server = Connection::server(config);
    let (events, output) = exchange(&mut server, request);
    assert_eq!(events.len(), 2, "{events:?}");
    let closed = closed_of(&events);
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    assert!(!closed.clean);
    assert_eq!(closed.sent, None);
    // The answer must not be lost: half-close, then wait for the client.
    assert!(server.wants_shutdown());
    assert!(!server.is_finished());
    server.feed_eof();
    assert!(server.is_finished());
    match error_of(&events) {
        Error::Handshake(e) => (e.clone(), String::from_utf8(output).unwrap()),
        other => panic!("expected a handshake error, got {other:?}"),
    }
}

/// Checks the head and body of an error answer.
fn assert_http_error(answer: &str, status_line: &str, error: &HandshakeError) {
    assert!(
        answer.starts_with(&format!("HTTP/1.1 {status_line}\r\n")),
        "{answer:?}"
    );
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer:?}");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, format!("{error}\n"));
    assert!(
        head.contains(&format!("\r\nContent-Length: {}", body.len())),
        "{answer:?}"
    );
}

// ---------------------------------------------------------------- server side

// §4.2.1: a valid request reaches the application with its parts.
#[test]
fn valid_request_is_reported_with_its_parts() {
    let request = request_plus(
        "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nX-Custom: a value",
    )
    .replacen("GET /chat HTTP", "GET /chat?room=7&x=1 HTTP", 1);
    let (server, r) = pending_request(Config::default(), &request);
    assert_eq!(r.target(), "/chat?room=7&x=1");
    assert_eq!(r.path(), "/chat");
    assert_eq!(r.query(), Some("room=7&x=1"));
    assert_eq!(r.host(), "server.example.com");
    assert_eq!(r.origin(), Some("http://example.com"));
    assert_eq!(r.subprotocols().collect::<Vec<_>>(), ["chat", "superchat"]);
    assert_eq!(r.header("x-custom"), Some(&b"a value"[..]));
    assert_eq!(r.header("X-CUSTOM"), Some(&b"a value"[..]));
    assert_eq!(r.header("missing"), None);
    assert_eq!(r.accept_key(), ACCEPT);
    let names: Vec<&str> = r.headers().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "Host",
            "Upgrade",
            "Connection",
            "Sec-WebSocket-Key",
            "Sec-WebSocket-Version",
            "Origin",
            "Sec-WebSocket-Protocol",
            "X-Custom"
        ]
    );
    assert_eq!(server.state(), State::Connecting);
}

// §4.2.1: no query, no origin, no subprotocols.
#[test]
fn minimal_request_has_no_query_origin_or_subprotocols() {
    let (_, r) = pending_request(Config::default(), REQUEST);
    assert_eq!(r.path(), "/chat");
    assert_eq!(r.query(), None);
    assert_eq!(r.origin(), None);
    assert_eq!(r.subprotocols().count(), 0);
    assert!(r.extensions().is_empty());
}

// §4.2.1 / §11.3.4: Sec-WebSocket-Protocol may appear more than once.
#[test]
fn subprotocols_are_collected_from_every_header_occurrence() {
    let request = request_plus("Sec-WebSocket-Protocol: a, b\r\nSec-WebSocket-Protocol: c");
    let (_, r) = pending_request(Config::default(), &request);
    assert_eq!(r.subprotocols().collect::<Vec<_>>(), ["a", "b", "c"]);
}

// §4.2.1: the extension offer is available to the application.
#[test]
fn offered_extensions_are_parsed() {
    let request =
        request_plus("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo");
    let (_, r) = pending_request(Config::default(), &request);
    let exts = r.extensions();
    assert_eq!(exts.len(), 2);
    assert_eq!(exts[0].name, "permessage-deflate");
    assert_eq!(exts[0].params[0].name, "client_max_window_bits");
    assert_eq!(exts[1].name, "x-foo");
}

// §4.2.1: header names are case-insensitive; Upgrade and Connection are
// token lists.
#[test]
fn header_names_and_tokens_are_case_insensitive() {
    let request = "GET / HTTP/1.1\r\nhost: h\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n";
    let (_, r) = pending_request(Config::default(), request);
    assert_eq!(r.host(), "h");
    assert_eq!(r.accept_key(), ACCEPT);
}

// §4.2.2: the 101 answer carries Upgrade, Connection and the accept key.
#[test]
fn accept_writes_the_101_answer_and_opens() {
    let (mut server, _) = pending_request(Config::default(), REQUEST);
    assert_eq!(take_output(&mut server), b"");
    server.accept(Accept::new()).unwrap();
    assert_eq!(
        String::from_utf8(take_output(&mut server)).unwrap(),
        plain_101()
    );
    match server.poll_event() {
        Some(Event::Open(open)) => {
            assert_eq!(open.subprotocol, None);
            assert_eq!(open.extensions, None);
            assert!(open.response.is_none());
        }
        other => panic!("expected open, got {other:?}"),
    }
    assert_eq!(server.state(), State::Open);
    assert_eq!(server.subprotocol(), None);
    assert!(server.poll_event().is_none());
}

// §4.2.2 step 5.5 / §1.9: the server selects one of the offered subprotocols.
#[test]
fn accept_with_an_offered_subprotocol() {
    let request = request_plus("Sec-WebSocket-Protocol: chat, superchat");
    let (mut server, _) = pending_request(Config::default(), &request);
    server
        .accept(Accept::new().subprotocol("superchat"))
        .unwrap();
    let answer = String::from_utf8(take_output(&mut server)).unwrap();
    assert_eq!(
        answer,
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\nSec-WebSocket-Protocol: superchat\r\n\r\n"
        )
    );
    match server.poll_event() {
        Some(Event::Open(open)) => assert_eq!(open.subprotocol.as_deref(), Some("superchat")),
        other => panic!("expected open, got {other:?}"),
    }
    assert_eq!(server.subprotocol(), Some("superchat"));
}

// §4.2.2: the selected subprotocol MUST be one the client offered.
#[test]
fn accept_refuses_a_subprotocol_not_offered() {
    let request = request_plus("Sec-WebSocket-Protocol: chat");
    let (mut server, _) = pending_request(Config::default(), &request);
    assert_eq!(
        server.accept(Accept::new().subprotocol("other")),
        Err(UsageError::SubprotocolNotOffered)
    );
    assert_eq!(
        server.accept(Accept::new().subprotocol("cha")),
        Err(UsageError::SubprotocolNotOffered)
    );
    assert!(!server.wants_write());
    assert_eq!(server.state(), State::Connecting);
    // The request is still pending: a valid choice goes through.
    server.accept(Accept::new().subprotocol("chat")).unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
}

// §4.2.2: no subprotocol can be chosen when none was offered.
#[test]
fn accept_refuses_a_subprotocol_when_none_was_offered() {
    let (mut server, _) = pending_request(Config::default(), REQUEST);
    assert_eq!(
        server.accept(Accept::new().subprotocol("chat")),
        Err(UsageError::SubprotocolNotOffered)
    );
}

// §4.2.2 step 5: additional header fields may follow (e.g. Set-Cookie).
#[test]
fn accept_with_extra_headers() {
    let (mut server, _) = pending_request(Config::default(), REQUEST);
    server
        .accept(
            Accept::new()
                .header("Set-Cookie", "id=1; Path=/")
                .header("X-Server", "wsmachine"),
        )
        .unwrap();
    let answer = String::from_utf8(take_output(&mut server)).unwrap();
    assert_eq!(
        answer,
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\nSet-Cookie: id=1; Path=/\r\nX-Server: wsmachine\r\n\r\n"
        )
    );
}

// RFC 7230 §3.2: header fields cannot contain CR, LF or NUL (no injection).
#[test]
fn accept_refuses_cr_lf_nul_in_extra_headers() {
    let (mut server, _) = pending_request(Config::default(), REQUEST);
    for (name, value) in [
        ("X-A", "1\r\nInjected: yes"),
        ("X-A", "1\nInjected: yes"),
        ("X-A", "1\rInjected: yes"),
        ("X-A", "nul\0"),
        ("Bad Name", "1"),
        ("X-A\r\nInjected", "1"),
        ("", "1"),
        ("X:A", "1"),
    ] {
        assert_eq!(
            server.accept(Accept::new().header(name, value)),
            Err(UsageError::InvalidHeader),
            "{name:?}: {value:?}"
        );
        assert!(!server.wants_write());
        assert_eq!(server.state(), State::Connecting);
    }
    server
        .accept(Accept::new().header("X-A", "ok\tvalue"))
        .unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
}

// §4.2.2: a server may refuse with any HTTP status; the connection ends.
#[test]
fn reject_writes_status_headers_body_then_closes() {
    let (mut server, _) = pending_request(Config::default(), REQUEST);
    server
        .reject(
            Reject::new(401)
                .header("WWW-Authenticate", "Bearer")
                .body("log in first"),
        )
        .unwrap();
    let answer = String::from_utf8(take_output(&mut server)).unwrap();
    assert_eq!(
        answer,
        "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 12\r\nContent-Type: text/plain; charset=utf-8\r\nWWW-Authenticate: Bearer\r\n\r\nlog in first"
    );
    let events = drain(&mut server);
    assert_eq!(events.len(), 1, "{events:?}");
    let closed = closed_of(&events);
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    assert!(!closed.clean);
    assert!(server.wants_shutdown());
    server.feed_eof();
    assert!(server.is_finished());
    assert!(!server.wants_read());
    assert_eq!(server.state(), State::Closed);
}

// A rejection without a body has Content-Length 0 and no Content-Type.
#[test]
fn reject_without_body() {
    let (mut server, _) = pending_request(Config::default(), REQUEST);
    server.reject(Reject::new(404)).unwrap();
    assert_eq!(
        take_output(&mut server),
        b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
}

// A caller-chosen Content-Type replaces the default one.
#[test]
fn reject_keeps_a_given_content_type() {
    let (mut server, _) = pending_request(Config::default(), REQUEST);
    server
        .reject(
            Reject::new(503)
                .header("Content-Type", "application/json")
                .body("{}"),
        )
        .unwrap();
    assert_eq!(
        String::from_utf8(take_output(&mut server)).unwrap(),
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"
    );
}

// A rejection must be a real non-101 status with clean headers.
#[test]
fn reject_refuses_invalid_status_and_headers() {
    let (mut server, _) = pending_request(Config::default(), REQUEST);
    for status in [0, 101, 199, 600, 999] {
        assert_eq!(
            server.reject(Reject::new(status)),
            Err(UsageError::InvalidStatus(status))
        );
    }
    assert_eq!(
        server.reject(Reject::new(400).header("X-A", "a\r\nb: c")),
        Err(UsageError::InvalidHeader)
    );
    assert!(!server.wants_write());
    assert_eq!(server.state(), State::Connecting);
    server.reject(Reject::new(400)).unwrap();
}

// accept and reject answer exactly one pending request.
#[test]
fn accept_or_reject_without_a_pending_request() {
    let mut server = Connection::server(Config::default());
    assert_eq!(
        server.accept(Accept::new()),
        Err(UsageError::NoPendingRequest)
    );
    assert_eq!(
        server.reject(Reject::new(400)),
        Err(UsageError::NoPendingRequest)
    );
    let (mut server, _) = pending_request(Config::default(), REQUEST);
    server.accept(Accept::new()).unwrap();
    assert_eq!(
        server.accept(Accept::new()),
        Err(UsageError::NoPendingRequest)
    );
    assert_eq!(
        server.reject(Reject::new(400)),
        Err(UsageError::NoPendingRequest)
    );
}

// Nothing is sent before the handshake is complete (§4.1: data frames only
// after the handshake).
#[test]
fn sending_before_accept_is_refused() {
    let (mut server, _) = pending_request(Config::default(), REQUEST);
    assert_eq!(
        server.send("early").map_err(|e| e.error),
        Err(UsageError::NotOpen)
    );
    assert_eq!(server.ping(b""), Err(UsageError::NotOpen));
    assert_eq!(server.pong(b""), Err(UsageError::NotOpen));
    assert!(!server.wants_write());
}

// While the application decides, no more input is wanted and no further
// event comes.
#[test]
fn pending_request_blocks_further_events() {
    let mut server = Connection::server(Config::default());
    let mut input = REQUEST.as_bytes().to_vec();
    input.extend(cframe(true, 0x1, b"hi"));
    server.feed(&input);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    assert!(!server.wants_read());
    assert!(server.poll_event().is_none());
    assert!(server.poll_event().is_none());
    server.accept(Accept::new()).unwrap();
    assert!(server.wants_read());
    assert_eq!(summaries(&drain(&mut server)), ["open", "text:hi"]);
}

// §4.2.1 / §4.2.2: each violation is answered with its HTTP status, then the
// connection ends with Error then Closed.
#[test]
fn each_request_violation_is_answered_with_400() {
    let cases: Vec<(String, HandshakeError)> = vec![
        (
            request_with("GET /chat", "POST /chat"),
            HandshakeError::MethodNotGet,
        ),
        (
            request_with("HTTP/1.1\r\nHost", "HTTP/1.0\r\nHost"),
            HandshakeError::NotHttp11,
        ),
        (
            request_with("Upgrade: websocket", "Upgrade: h2c"),
            HandshakeError::BadHeader("Upgrade"),
        ),
        (
            request_with("Upgrade: websocket\r\n", ""),
            HandshakeError::BadHeader("Upgrade"),
        ),
        (
            request_with("Connection: Upgrade", "Connection: keep-alive"),
            HandshakeError::BadHeader("Connection"),
        ),
        (
            request_with("Connection: Upgrade\r\n", ""),
            HandshakeError::BadHeader("Connection"),
        ),
        (
            request_with(KEY, "dGhlIHNhbXBsZSBub25jZQ"),
            HandshakeError::BadHeader("Sec-WebSocket-Key"),
        ),
        (
            // 24 characters of base64 that decode to 18 bytes, not 16.
            request_with(KEY, "AAAAAAAAAAAAAAAAAAAAAAAA"),
            HandshakeError::BadHeader("Sec-WebSocket-Key"),
        ),
        (
            request_with(KEY, "!!!!!!!!!!!!!!!!!!!!!!=="),
            HandshakeError::BadHeader("Sec-WebSocket-Key"),
        ),
        (
            request_with(&format!("Sec-WebSocket-Key: {KEY}\r\n"), ""),
            HandshakeError::BadHeader("Sec-WebSocket-Key"),
        ),
        (
            request_plus(&format!("Sec-WebSocket-Key: {KEY}")),
            HandshakeError::BadHeader("Sec-WebSocket-Key"),
        ),
        (
            request_with("Host: server.example.com\r\n", ""),
            HandshakeError::BadHeader("Host"),
        ),
        (
            request_plus("Host: other.example.com"),
            HandshakeError::BadHeader("Host"),
        ),
        (
            request_plus("Content-Length: 5"),
            HandshakeError::RequestHasBody,
        ),
        (
            request_plus("Transfer-Encoding: chunked"),
            HandshakeError::RequestHasBody,
        ),
    ];
    for (request, want) in cases {
        let (error, answer) = refused(Config::default(), request.as_bytes());
        assert_eq!(error, want, "{request:?}");
        assert_eq!(error.http_status(), 400);
        assert_http_error(&answer, "400 Bad Request", &want);
    }
}

// A request that is not HTTP at all is a 400.
#[test]
fn malformed_http_is_answered_with_400() {
    for garbage in [
        &b"HELLO\r\n\r\n"[..],
        b"GET / HTTP/2.0\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Name: 1\r\n\r\n",
        b"\x16\x03\x01\x00\x05\r\n\r\n",
    ] {
        let (error, answer) = refused(Config::default(), garbage);
        assert_eq!(error, HandshakeError::MalformedHttp, "{garbage:?}");
        assert_http_error(&answer, "400 Bad Request", &error);
    }
}

// §4.2.2 / §4.4: an unsupported version is answered with 426 and the
// versions the server supports.
#[test]
fn wrong_or_missing_version_is_answered_with_426() {
    for request in [
        request_with("Version: 13", "Version: 8"),
        request_with("Version: 13", "Version: 14"),
        request_with("Sec-WebSocket-Version: 13\r\n", ""),
        request_plus("Sec-WebSocket-Version: 8"),
    ] {
        let (error, answer) = refused(Config::default(), request.as_bytes());
        assert_eq!(error, HandshakeError::UnsupportedVersion, "{request:?}");
        assert_http_error(&answer, "426 Upgrade Required", &error);
        assert!(
            answer.contains("\r\nSec-WebSocket-Version: 13\r\n"),
            "{answer:?}"
        );
    }
}

// Limits::max_handshake_size: a head over the limit is a 431.
#[test]
fn too_large_request_is_answered_with_431() {
    let config = Config::new().limits(Limits::new().max_handshake_size(256));
    let request = request_plus(&format!("X-Padding: {}", "p".repeat(200)));
    let (error, answer) = refused(config, request.as_bytes());
    assert_eq!(error, HandshakeError::TooLarge(Limit::HandshakeSize));
    assert_http_error(&answer, "431 Request Header Fields Too Large", &error);
}

// Limits::max_handshake_size: a head that never ends is refused as soon as
// it passes the limit, without waiting for its end.
#[test]
fn endless_request_head_is_refused_at_the_limit() {
    let config = Config::new().limits(Limits::new().max_handshake_size(256));
    let mut server = Connection::server(config);
    let start = b"GET / HTTP/1.1\r\nX-Endless: ";
    server.feed(start);
    assert!(server.poll_event().is_none());
    server.feed(&[b'a'; 256]);
    let events = drain(&mut server);
    assert_eq!(
        error_of(&events),
        &Error::Handshake(HandshakeError::TooLarge(Limit::HandshakeSize))
    );
    let answer = String::from_utf8(take_output(&mut server)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer:?}");
}

// Limits::max_handshake_size: a head of exactly the limit is accepted, one
// byte more is refused.
#[test]
fn request_at_the_size_limit_is_accepted() {
    let exact = Config::new().limits(Limits::new().max_handshake_size(REQUEST.len()));
    pending_request(exact, REQUEST);
    let below = Config::new().limits(Limits::new().max_handshake_size(REQUEST.len() - 1));
    let (error, _) = refused(below, REQUEST.as_bytes());
    assert_eq!(error, HandshakeError::TooLarge(Limit::HandshakeSize));
}

// Limits::max_headers: too many header fields is a 431.
#[test]
fn too_many_headers_are_answered_with_431() {
    let config = Config::new().limits(Limits::new().max_headers(8));
    let request = request_plus("X-1: 1\r\nX-2: 2\r\nX-3: 3\r\nX-4: 4");
    let (error, answer) = refused(config, request.as_bytes());
    assert_eq!(error, HandshakeError::TooLarge(Limit::HeaderCount));
    assert_http_error(&answer, "431 Request Header Fields Too Large", &error);
}

// Limits::max_headers: exactly at the limit is fine.
#[test]
fn header_count_at_the_limit_is_accepted() {
    let config = Config::new().limits(Limits::new().max_headers(5));
    let (_, r) = pending_request(config, REQUEST);
    assert_eq!(r.headers().count(), 5);
}

// §10.2: a server may refuse an Origin it does not trust, with 403.
#[test]
fn origin_policy_refusal_is_answered_with_403() {
    let allow = OriginPolicy::AllowList(vec!["https://good.example".into()]);
    let config = Config::new().origin_policy(allow);
    let request = request_plus("Origin: https://evil.example");
    let (error, answer) = refused(config.clone(), request.as_bytes());
    assert_eq!(error, HandshakeError::OriginRejected);
    assert_eq!(error.http_status(), 403);
    assert_http_error(&answer, "403 Forbidden", &error);
    // An allowed origin, and no origin at all, pass.
    let (_, r) = pending_request(
        config.clone(),
        &request_plus("Origin: https://GOOD.example"),
    );
    assert_eq!(r.origin(), Some("https://GOOD.example"));
    pending_request(config, REQUEST);
}

// §10.2: the same-host policy compares the Origin's authority with Host.
#[test]
fn same_host_origin_policy() {
    let config = Config::new().origin_policy(OriginPolicy::SameHost);
    pending_request(
        config.clone(),
        &request_plus("Origin: https://server.example.com"),
    );
    let (error, _) = refused(
        config.clone(),
        request_plus("Origin: https://attacker.example").as_bytes(),
    );
    assert_eq!(error, HandshakeError::OriginRejected);
    let with_port = request_with("Host: server.example.com", "Host: server.example.com:8080");
    let (error, _) = refused(
        config.clone(),
        (with_port.replacen(
            "\r\n\r\n",
            "\r\nOrigin: https://server.example.com\r\n\r\n",
            1,
        ))
        .as_bytes(),
    );
    assert_eq!(error, HandshakeError::OriginRejected);
    pending_request(
        config,
        &with_port.replacen(
            "\r\n\r\n",
            "\r\nOrigin: https://server.example.com:8080\r\n\r\n",
            1,
        ),
    );
}

// §10.2: a custom check sees the Origin value (None when absent).
#[test]
fn custom_origin_policy_sees_the_origin() {
    let check: OriginCheck = Arc::new(|origin: Option<&str>| origin == Some("app://ok"));
    let config = Config::new().origin_policy(OriginPolicy::Custom(check));
    pending_request(config.clone(), &request_plus("Origin: app://ok"));
    let (error, answer) = refused(config, REQUEST.as_bytes());
    assert_eq!(error, HandshakeError::OriginRejected);
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"));
}

// A request may arrive in any number of reads.
#[test]
fn request_fed_byte_by_byte() {
    let mut server = Connection::server(Config::default());
    let bytes = REQUEST.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        server.feed(std::slice::from_ref(b));
        let event = server.poll_event();
        if i + 1 < bytes.len() {
            assert!(event.is_none(), "event after byte {i}: {event:?}");
        } else {
            match event {
                Some(Event::Request(r)) => assert_eq!(r.accept_key(), ACCEPT),
                other => panic!("expected a request, got {other:?}"),
            }
        }
    }
    server.accept(Accept::new()).unwrap();
    assert_eq!(
        String::from_utf8(take_output(&mut server)).unwrap(),
        plain_101()
    );
}

// §4.2.2: frames may follow the request in the same read; none is lost.
#[test]
fn frames_in_the_same_read_as_the_request_are_kept() {
    let mut input = REQUEST.as_bytes().to_vec();
    input.extend(cframe(true, 0x1, b"first"));
    input.extend(cframe(true, 0x9, b"ping"));
    input.extend(cframe(false, 0x2, &[1, 2]));
    input.extend(cframe(true, 0x0, &[3]));
    let (events, output) = serve_in_pieces(Config::default(), &input, input.len());
    assert_eq!(
        summaries(&events),
        [
            "request",
            "open",
            "text:first",
            "ping:[112, 105, 110, 103]",
            "binary:[1, 2, 3]"
        ]
    );
    let mut expected = plain_101().into_bytes();
    expected.extend(frame(true, 0xA, b"ping", None));
    assert_eq!(output, expected);
}

// Limits::max_handshake_size bounds the head only: a large frame in the
// same read as the request is not counted against it.
#[test]
fn large_frame_in_the_same_read_as_the_request() {
    let config = Config::new().limits(Limits::new().max_handshake_size(1024));
    let mut input = REQUEST.as_bytes().to_vec();
    input.extend(cframe(true, 0x2, &[0x42; 100_000]));
    let (events, _) = serve_in_pieces(config, &input, input.len());
    assert_eq!(summaries(&events)[..2], ["request", "open"]);
    assert!(matches!(&events[2], Event::Message(Message::Binary(b)) if b.len() == 100_000));
}

// The same, byte by byte and with a split inside the head terminator.
#[test]
fn frames_after_the_request_survive_any_split() {
    let mut input = REQUEST.as_bytes().to_vec();
    input.extend(cframe(true, 0x1, b"hello"));
    let (whole, _) = serve_in_pieces(Config::default(), &input, input.len());
    for size in [1, 2, 3, 5, 7, 64] {
        let (events, _) = serve_in_pieces(Config::default(), &input, size);
        assert_eq!(summaries(&events), summaries(&whole), "pieces of {size}");
    }
    assert_eq!(summaries(&whole), ["request", "open", "text:hello"]);
}

// §4.2.1: EOF before a complete request ends the connection silently.
#[test]
fn eof_during_the_request_fails_without_an_answer() {
    let mut server = Connection::server(Config::default());
    server.feed(&REQUEST.as_bytes()[..40]);
    assert!(server.poll_event().is_none());
    server.feed_eof();
    let events = drain(&mut server);
    assert_eq!(
        summaries(&events),
        ["error:Handshake(Eof)", "closed:1006:false:"]
    );
    assert!(!server.wants_write());
    assert!(server.is_finished());
}

// EOF while the application decides: the connection opens, then closes 1006.
#[test]
fn eof_while_the_request_is_pending() {
    let (mut server, _) = pending_request(Config::default(), REQUEST);
    server.feed_eof();
    assert!(server.poll_event().is_none());
    server.accept(Accept::new()).unwrap();
    assert_eq!(
        summaries(&drain(&mut server)),
        ["open", "closed:1006:false:"]
    );
}

// ---------------------------------------------------------------- client side

/// A client for `uri` with a fixed random source; returns it and its
/// request as text.
fn client_for(request: &ClientRequest, seed: u8) -> (Connection, String) {
    let mut client =
        Connection::client_with_rng(Config::default(), request, test_rng(seed)).unwrap();
    let text = String::from_utf8(take_output(&mut client)).unwrap();
    (client, text)
}

fn key_of(request: &str) -> &str {
    request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("a key")
}

/// The request without its `Sec-WebSocket-Extensions` line (present when
/// permessage-deflate is offered), and that line's value.
fn without_extension_offer(request: &str) -> (String, Option<String>) {
    let mut offer = None;
    let mut rest = String::new();
    for line in request.split_inclusive("\r\n") {
        match line.strip_prefix("Sec-WebSocket-Extensions: ") {
            Some(v) => offer = Some(v.trim_end().to_string()),
            None => rest.push_str(line),
        }
    }
    if let Some(v) = &offer {
        assert!(v.starts_with("permessage-deflate"), "{v:?}");
    }
    (rest, offer)
}

/// A 101 answer for `key` with extra header lines.
fn answer_101(key: &str, extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(key.as_bytes())
    )
}

/// Feeds an answer that must fail the client handshake.
fn client_refused(request: &ClientRequest, answer: impl FnOnce(&str) -> String) -> HandshakeError {
    let (mut client, text) = client_for(request, 3);
    let (events, output) = exchange(&mut client, answer(key_of(&text)).as_bytes());
    assert!(output.is_empty(), "a client answers nothing: {output:?}");
    assert_eq!(events.len(), 2, "{events:?}");
    let closed = closed_of(&events);
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    assert!(client.is_finished());
    match error_of(&events) {
        Error::Handshake(e) => e.clone(),
        other => panic!("expected a handshake error, got {other:?}"),
    }
}

// §4.1: the request line, Host, Upgrade, Connection, key and version.
#[test]
fn client_request_bytes() {
    let req = ClientRequest::new("ws://example.com/chat?x=1").unwrap();
    let (client, text) = client_for(&req, 9);
    let key = key_of(&text);
    let (text, offer) = without_extension_offer(&text);
    assert_eq!(offer.is_some(), cfg!(feature = "deflate"), "{offer:?}");
    assert_eq!(
        text,
        format!(
            "GET /chat?x=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
    );
    assert_eq!(client.state(), State::Connecting);
    assert_eq!(client.role(), Role::Client);
}

// §4.1 step 4: the Host includes the port when it is not the default.
#[test]
fn client_host_header_with_and_without_port() {
    for (uri, host) in [
        ("ws://example.com", "example.com"),
        ("ws://example.com:80/", "example.com"),
        ("ws://example.com:9001/", "example.com:9001"),
        ("wss://example.com/", "example.com"),
        ("wss://example.com:443/", "example.com"),
        ("wss://example.com:80/", "example.com:80"),
        ("ws://[::1]:9001/", "[::1]:9001"),
        ("ws://127.0.0.1/", "127.0.0.1"),
    ] {
        let (_, text) = client_for(&ClientRequest::new(uri).unwrap(), 1);
        assert!(
            text.contains(&format!("\r\nHost: {host}\r\n")),
            "{uri}: {text:?}"
        );
    }
}

// §4.1 step 7: the key is a random 16-byte value, base64-encoded, and a
// server accepts it.
#[test]
fn client_key_is_a_fresh_16_byte_nonce() {
    let req = ClientRequest::new("ws://server.example.com/chat").unwrap();
    let (_, a) = client_for(&req, 1);
    let (_, b) = client_for(&req, 2);
    let (_, a_again) = client_for(&req, 1);
    assert_ne!(key_of(&a), key_of(&b));
    assert_eq!(key_of(&a), key_of(&a_again), "keys come from the rng");
    for text in [&a, &b] {
        let key = key_of(text);
        assert_eq!(key.len(), 24);
        assert!(key.ends_with("=="));
        // The server validates it (it must decode to 16 bytes).
        let (_, r) = pending_request(Config::default(), text);
        assert_eq!(r.accept_key(), accept_key(key.as_bytes()));
    }
}

// Keys drawn from the operating system differ between connections.
#[test]
fn os_seeded_clients_use_different_keys() {
    let req = ClientRequest::new("ws://h/").unwrap();
    let mut a = Connection::client(Config::default(), &req).unwrap();
    let mut b = Connection::client(Config::default(), &req).unwrap();
    let a = String::from_utf8(take_output(&mut a)).unwrap();
    let b = String::from_utf8(take_output(&mut b)).unwrap();
    assert_ne!(key_of(&a), key_of(&b));
}

// §4.1 step 10: offered subprotocols, most preferred first.
#[test]
fn client_offers_subprotocols_and_extra_headers() {
    let req = ClientRequest::new("ws://h/")
        .unwrap()
        .subprotocol("chat")
        .subprotocol("superchat")
        .header("Origin", "http://h")
        .header("Authorization", "Bearer x");
    let (_, text) = client_for(&req, 1);
    assert!(
        text.contains("\r\nSec-WebSocket-Protocol: chat, superchat\r\n"),
        "{text:?}"
    );
    assert!(
        text.ends_with("\r\nOrigin: http://h\r\nAuthorization: Bearer x\r\n\r\n"),
        "{text:?}"
    );
    let (_, offer) = without_extension_offer(&text);
    assert_eq!(offer.is_some(), cfg!(feature = "deflate"), "{offer:?}");
}

// §4.1: a Host header given by the application replaces the derived one.
#[test]
fn client_host_header_can_be_overridden() {
    let req = ClientRequest::new("ws://10.0.0.1:8080/")
        .unwrap()
        .header("Host", "virtual.example");
    let (_, text) = client_for(&req, 1);
    assert_eq!(text.matches("Host: ").count(), 1, "{text:?}");
    assert!(text.contains("\r\nHost: virtual.example\r\n"), "{text:?}");
}

// The client's own headers are checked: no injection, no managed headers.
#[test]
fn client_refuses_bad_headers_and_subprotocols() {
    for (name, value, want) in [
        ("X-A", "1\r\nEvil: 1", UsageError::InvalidHeader),
        ("X-A", "\0", UsageError::InvalidHeader),
        ("Bad Name", "1", UsageError::InvalidHeader),
        ("Sec-WebSocket-Key", "x", UsageError::ManagedHeader),
        ("upgrade", "websocket", UsageError::ManagedHeader),
        ("Sec-WebSocket-Version", "13", UsageError::ManagedHeader),
        ("Transfer-Encoding", "chunked", UsageError::ManagedHeader),
    ] {
        let req = ClientRequest::new("ws://h/").unwrap().header(name, value);
        assert_eq!(
            Connection::client_with_rng(Config::default(), &req, test_rng(1)).unwrap_err(),
            want,
            "{name:?}: {value:?}"
        );
    }
    for bad in ["a b", "", "a,b"] {
        let req = ClientRequest::new("ws://h/").unwrap().subprotocol(bad);
        assert_eq!(
            Connection::client_with_rng(Config::default(), &req, test_rng(1)).unwrap_err(),
            UsageError::InvalidSubprotocol,
            "{bad:?}"
        );
    }
}

// §3: only ws:// and wss:// URIs, without fragments.
#[test]
fn client_refuses_invalid_uris() {
    for bad in [
        "http://h/",
        "ws://",
        "ws://h/#frag",
        "ws://u@h/",
        "ws://h:0/",
        "h/",
    ] {
        assert_eq!(
            ClientRequest::new(bad).unwrap_err(),
            UsageError::InvalidUri,
            "{bad}"
        );
    }
    let req = ClientRequest::new("wss://example.com:8443/a?b").unwrap();
    assert_eq!(
        (req.host(), req.port(), req.is_tls(), req.target()),
        ("example.com", 8443, true, "/a?b")
    );
}

// §4.1 step 5 of validating the answer: a matching 101 opens the connection.
#[test]
fn client_opens_on_a_valid_101() {
    let req = ClientRequest::new("ws://h/").unwrap();
    let (mut client, text) = client_for(&req, 4);
    let answer = answer_101(key_of(&text), "X-Extra: 1\r\n");
    let (events, output) = exchange(&mut client, answer.as_bytes());
    assert!(output.is_empty());
    assert_eq!(events.len(), 1);
    match &events[0] {
        Event::Open(open) => {
            let response = open.response.as_ref().unwrap();
            assert_eq!(response.status(), 101);
            assert_eq!(response.header("x-extra"), Some(&b"1"[..]));
            assert_eq!(response.headers().count(), 4);
            assert_eq!(open.subprotocol, None);
            assert_eq!(open.extensions, None);
        }
        other => panic!("expected open, got {other:?}"),
    }
    assert_eq!(client.state(), State::Open);
}

// §4.1: any status other than 101 means the handshake failed.
#[test]
fn client_fails_on_a_non_101_status() {
    let req = ClientRequest::new("ws://h/").unwrap();
    for status in [200, 301, 400, 403, 426, 503] {
        let error = client_refused(&req, |_| {
            format!("HTTP/1.1 {status} Whatever\r\nContent-Length: 0\r\n\r\n")
        });
        let HandshakeError::Rejected(response) = error else {
            panic!("{error:?}")
        };
        assert_eq!((response.status(), response.reason()), (status, "Whatever"));
    }
}

// A rejected client keeps the whole answer (status, headers, body), so it
// can follow a redirect or answer an authentication challenge.
#[test]
fn client_keeps_the_whole_rejection() {
    let req = ClientRequest::new("ws://h/").unwrap();
    // A body announced by Content-Length, arriving in pieces.
    let (mut client, _) = client_for(&req, 1);
    let answer = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"ws\"\r\nContent-Length: 12\r\n\r\nlog in first";
    let mut events = Vec::new();
    for piece in answer.as_bytes().chunks(7) {
        events.extend(feed_all(&mut client, piece));
    }
    let Error::Handshake(HandshakeError::Rejected(r)) = error_of(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(&b"Bearer realm=\"ws\""[..])
    );
    assert_eq!(&r.body()[..], b"log in first");
    assert!(client.is_finished());
    // A redirect without a body length: the body runs to EOF.
    let (mut client, _) = client_for(&req, 2);
    let events = feed_all(
        &mut client,
        b"HTTP/1.1 302 Found\r\nLocation: ws://elsewhere/\r\n\r\nmoved",
    );
    assert!(events.is_empty(), "the body is not over yet");
    client.feed_eof();
    let events = drain(&mut client);
    let Error::Handshake(HandshakeError::Rejected(r)) = error_of(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(r.header("location"), Some(&b"ws://elsewhere/"[..]));
    assert_eq!(&r.body()[..], b"moved");
    // A body is kept up to max_handshake_size.
    let config = Config::new().limits(Limits::new().max_handshake_size(100));
    let mut client = Connection::client_with_rng(config, &req, test_rng(3)).unwrap();
    take_output(&mut client);
    let events = feed_all(
        &mut client,
        format!(
            "HTTP/1.1 500 Oops\r\nContent-Length: 1000\r\n\r\n{}",
            "x".repeat(1000)
        )
        .as_bytes(),
    );
    let Error::Handshake(HandshakeError::Rejected(r)) = error_of(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(r.body().len(), 100);
}

// §4.1: "the server's response MUST be ... HTTP/1.1".
#[test]
fn client_refuses_an_http_1_0_switch() {
    let req = ClientRequest::new("ws://h/").unwrap();
    let error = client_refused(&req, |key| {
        answer_101(key, "").replacen("HTTP/1.1", "HTTP/1.0", 1)
    });
    assert_eq!(error, HandshakeError::NotHttp11);
}

// §4.1: a wrong or missing Sec-WebSocket-Accept fails the connection.
#[test]
fn client_fails_on_a_bad_accept() {
    let req = ClientRequest::new("ws://h/").unwrap();
    let error = client_refused(&req, |_| plain_101());
    assert_eq!(error, HandshakeError::BadAccept);
    let error = client_refused(&req, |_| {
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            .into()
    });
    assert_eq!(error, HandshakeError::BadAccept);
    // Two accept headers, even if one matches.
    let error = client_refused(&req, |key| {
        answer_101(
            key,
            &format!("Sec-WebSocket-Accept: {}\r\n", accept_key(key.as_bytes())),
        )
    });
    assert_eq!(error, HandshakeError::BadAccept);
}

// §4.1: Upgrade and Connection must be present in the answer.
#[test]
fn client_fails_without_upgrade_or_connection() {
    let req = ClientRequest::new("ws://h/").unwrap();
    let error = client_refused(&req, |key| {
        answer_101(key, "").replacen("Upgrade: websocket\r\n", "", 1)
    });
    assert_eq!(error, HandshakeError::BadHeader("Upgrade"));
    let error = client_refused(&req, |key| {
        answer_101(key, "").replacen("Connection: Upgrade", "Connection: close", 1)
    });
    assert_eq!(error, HandshakeError::BadHeader("Connection"));
}

// §4.1: a subprotocol the client did not offer fails the connection.
#[test]
fn client_fails_on_an_unoffered_subprotocol() {
    let none = ClientRequest::new("ws://h/").unwrap();
    let error = client_refused(&none, |key| {
        answer_101(key, "Sec-WebSocket-Protocol: chat\r\n")
    });
    assert_eq!(error, HandshakeError::UnexpectedSubprotocol);
    let chat = ClientRequest::new("ws://h/").unwrap().subprotocol("chat");
    let error = client_refused(&chat, |key| {
        answer_101(key, "Sec-WebSocket-Protocol: superchat\r\n")
    });
    assert_eq!(error, HandshakeError::UnexpectedSubprotocol);
}

// §4.1: the server's choice among the offered subprotocols is reported.
#[test]
fn client_reports_the_chosen_subprotocol() {
    let req = ClientRequest::new("ws://h/")
        .unwrap()
        .subprotocol("chat")
        .subprotocol("superchat");
    let (mut client, text) = client_for(&req, 5);
    let answer = answer_101(key_of(&text), "Sec-WebSocket-Protocol: superchat\r\n");
    let (events, _) = exchange(&mut client, answer.as_bytes());
    match &events[..] {
        [Event::Open(open)] => assert_eq!(open.subprotocol.as_deref(), Some("superchat")),
        other => panic!("{other:?}"),
    }
    assert_eq!(client.subprotocol(), Some("superchat"));
}

// §4.1 / §9.1: an extension the client did not offer fails the connection.
#[test]
fn client_fails_on_an_unexpected_extension() {
    let req = ClientRequest::new("ws://h/").unwrap();
    let error = client_refused(&req, |key| {
        answer_101(key, "Sec-WebSocket-Extensions: x-unknown-extension\r\n")
    });
    assert_eq!(error, HandshakeError::UnexpectedExtension);
}

// The client's handshake limits apply to the answer too.
#[test]
fn client_fails_on_a_huge_answer() {
    let mut client = Connection::client_with_rng(
        Config::new().limits(Limits::new().max_handshake_size(128)),
        &ClientRequest::new("ws://h/").unwrap(),
        test_rng(1),
    )
    .unwrap();
    take_output(&mut client);
    let answer = format!("HTTP/1.1 101 OK\r\nX-Pad: {}\r\n\r\n", "p".repeat(200));
    let (events, _) = exchange(&mut client, answer.as_bytes());
    assert_eq!(
        error_of(&events),
        &Error::Handshake(HandshakeError::TooLarge(Limit::HandshakeSize))
    );
}

// §4.1: frames may follow the 101 in the same read; none is lost.
#[test]
fn client_keeps_frames_that_follow_the_101() {
    let req = ClientRequest::new("ws://h/").unwrap();
    let (mut client, text) = client_for(&req, 6);
    let mut input = answer_101(key_of(&text), "").into_bytes();
    input.extend(frame(true, 0x1, b"hello", None));
    input.extend(frame(true, 0x9, b"p", None));
    input.extend(frame(true, 0x2, &[9; 200], None));
    let (events, output) = exchange(&mut client, &input);
    let s = summaries(&events);
    assert_eq!(s[..3], ["open", "text:hello", "ping:[112]"]);
    assert!(matches!(&events[3], Event::Message(Message::Binary(b)) if b[..] == [9; 200]));
    let frames = parse_frames(&output);
    assert_eq!(frames.len(), 1);
    assert_eq!((frames[0].opcode, &frames[0].payload[..]), (0xA, &b"p"[..]));
}

// Limits::max_handshake_size bounds the answer's head only.
#[test]
fn client_keeps_a_large_frame_that_follows_the_101() {
    let req = ClientRequest::new("ws://h/").unwrap();
    let mut client = Connection::client_with_rng(
        Config::new().limits(Limits::new().max_handshake_size(512)),
        &req,
        test_rng(8),
    )
    .unwrap();
    let text = String::from_utf8(take_output(&mut client)).unwrap();
    let mut input = answer_101(key_of(&text), "").into_bytes();
    input.extend(frame(true, 0x2, &[7; 70_000], None));
    let (events, _) = exchange(&mut client, &input);
    assert_eq!(events.len(), 2, "{:?}", summaries(&events));
    assert!(matches!(&events[1], Event::Message(Message::Binary(b)) if b.len() == 70_000));
}

// The answer may arrive in any number of reads.
#[test]
fn client_answer_fed_byte_by_byte() {
    let req = ClientRequest::new("ws://h/").unwrap();
    let (mut client, text) = client_for(&req, 6);
    let mut input = answer_101(key_of(&text), "").into_bytes();
    let head_len = input.len();
    input.extend(frame(true, 0x1, b"hi", None));
    let events = feed_in_pieces(&mut client, &input, 1);
    assert_eq!(summaries(&events), ["open", "text:hi"]);
    // Open came exactly with the last byte of the head.
    let (mut client, _) = client_for(&req, 6);
    let events = feed_in_pieces(&mut client, &input[..head_len - 1], 1);
    assert!(events.is_empty());
}

// §4.1: the connection closing during the handshake fails it.
#[test]
fn client_eof_during_the_handshake() {
    let req = ClientRequest::new("ws://h/").unwrap();
    let (mut client, text) = client_for(&req, 6);
    client.feed_eof();
    assert_eq!(
        summaries(&drain(&mut client)),
        ["error:Handshake(Eof)", "closed:1006:false:"]
    );
    let (mut client, _) = client_for(&req, 6);
    let answer = answer_101(key_of(&text), "");
    client.feed(&answer.as_bytes()[..answer.len() - 2]);
    assert!(client.poll_event().is_none());
    client.feed_eof();
    assert_eq!(
        summaries(&drain(&mut client)),
        ["error:Handshake(Eof)", "closed:1006:false:"]
    );
    assert!(!client.wants_write());
}

// Both roles together: the subprotocol agreed on is the same on both ends.
#[test]
fn client_and_server_agree_on_a_subprotocol() {
    let req = ClientRequest::new("ws://h/x")
        .unwrap()
        .subprotocol("v1")
        .subprotocol("v2");
    let mut client = Connection::client_with_rng(Config::default(), &req, test_rng(2)).unwrap();
    let mut server = Connection::server(Config::default());
    let (events, _) = exchange(&mut server, &take_output(&mut client));
    let Some(Event::Request(r)) = events.first() else {
        panic!("{events:?}");
    };
    assert_eq!(r.subprotocols().collect::<Vec<_>>(), ["v1", "v2"]);
    server.accept(Accept::new().subprotocol("v2")).unwrap();
    let (events, _) = exchange(&mut client, &take_output(&mut server));
    assert!(matches!(&events[..], [Event::Open(o)] if o.subprotocol.as_deref() == Some("v2")));
    assert_eq!(server.subprotocol(), Some("v2"));
}

// -------------------------------------------------------- standalone pieces

// §1.3 / §4.2.2 step 5.4: the accept key of the RFC example.
#[test]
fn accept_key_of_the_rfc_example() {
    assert_eq!(accept_key(KEY.as_bytes()), ACCEPT);
    assert_ne!(accept_key(b"x3JJHMbDL1EzLkh9GBhXDw=="), ACCEPT);
    assert_eq!(
        accept_key(b"x3JJHMbDL1EzLkh9GBhXDw=="),
        "HSmrc0sMlYUkAGmm5OPpG2HaGWk="
    );
}

fn rfc_headers() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("Host", b"server.example.com"),
        ("Upgrade", b"websocket"),
        ("Connection", b"Upgrade"),
        ("Sec-WebSocket-Key", KEY.as_bytes()),
        ("Sec-WebSocket-Version", b"13"),
    ]
}

// §4.2.1: validate_request on its own.
#[test]
fn validate_request_accepts_a_valid_request() {
    assert_eq!(validate_request("GET", 1, rfc_headers()).unwrap(), ACCEPT);
    assert_eq!(validate_request("GET", 2, rfc_headers()).unwrap(), ACCEPT);
}

// §4.2.1: validate_request reports each violation.
#[test]
fn validate_request_reports_violations() {
    assert_eq!(
        validate_request("POST", 1, rfc_headers()),
        Err(HandshakeError::MethodNotGet)
    );
    assert_eq!(
        validate_request("get", 1, rfc_headers()),
        Err(HandshakeError::MethodNotGet)
    );
    assert_eq!(
        validate_request("GET", 0, rfc_headers()),
        Err(HandshakeError::NotHttp11)
    );
    let without = |name: &str| {
        rfc_headers()
            .into_iter()
            .filter(|(n, _)| *n != name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        validate_request("GET", 1, without("Host")),
        Err(HandshakeError::BadHeader("Host"))
    );
    assert_eq!(
        validate_request("GET", 1, without("Upgrade")),
        Err(HandshakeError::BadHeader("Upgrade"))
    );
    assert_eq!(
        validate_request("GET", 1, without("Connection")),
        Err(HandshakeError::BadHeader("Connection"))
    );
    assert_eq!(
        validate_request("GET", 1, without("Sec-WebSocket-Key")),
        Err(HandshakeError::BadHeader("Sec-WebSocket-Key"))
    );
    let version = validate_request("GET", 1, without("Sec-WebSocket-Version")).unwrap_err();
    assert_eq!(version, HandshakeError::UnsupportedVersion);
    assert_eq!(version.http_status(), 426);
    let mut body = rfc_headers();
    body.push(("Content-Length", b"1"));
    assert_eq!(
        validate_request("GET", 1, body),
        Err(HandshakeError::RequestHasBody)
    );
    let mut empty_body = rfc_headers();
    empty_body.push(("Content-Length", b"0"));
    assert_eq!(validate_request("GET", 1, empty_body).unwrap(), ACCEPT);
}

// HandshakeError::http_status maps each error to its answer.
#[test]
fn handshake_errors_map_to_http_statuses() {
    assert_eq!(HandshakeError::UnsupportedVersion.http_status(), 426);
    assert_eq!(HandshakeError::OriginRejected.http_status(), 403);
    assert_eq!(
        HandshakeError::TooLarge(Limit::HeaderCount).http_status(),
        431
    );
    assert_eq!(
        HandshakeError::TooLarge(Limit::HandshakeSize).http_status(),
        431
    );
    for e in [
        HandshakeError::MalformedHttp,
        HandshakeError::MethodNotGet,
        HandshakeError::NotHttp11,
        HandshakeError::BadHeader("Host"),
        HandshakeError::RequestHasBody,
    ] {
        assert_eq!(e.http_status(), 400, "{e:?}");
    }
}

// §4.2.2 step 5: the headers of a 101 answer, in order.
#[test]
fn response_headers_lists_the_101_headers() {
    let owned = |v: &[(&'static str, &str)]| {
        v.iter()
            .map(|(n, v)| (*n, v.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        response_headers(ACCEPT, None, None),
        owned(&[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", ACCEPT),
        ])
    );
    assert_eq!(
        response_headers(ACCEPT, Some("chat"), Some("x-foo")),
        owned(&[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", ACCEPT),
            ("Sec-WebSocket-Protocol", "chat"),
            ("Sec-WebSocket-Extensions", "x-foo"),
        ])
    );
}

// §9.1: the extension grammar, with quoted values and empty list elements.
#[test]
fn parse_extensions_reads_the_grammar() {
    let param = |name: &str, value: Option<&str>| ExtensionParam {
        name: name.into(),
        value: value.map(Into::into),
    };
    assert_eq!(
        parse_extensions(
            "permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\", , x-foo ;a=b"
        ),
        Some(vec![
            Extension {
                name: "permessage-deflate".into(),
                params: vec![
                    param("client_max_window_bits", None),
                    param("server_max_window_bits", Some("10")),
                ],
            },
            Extension {
                name: "x-foo".into(),
                params: vec![param("a", Some("b"))],
            },
        ])
    );
}

// §9.1: values outside the grammar are refused.
#[test]
fn parse_extensions_refuses_malformed_values() {
    for bad in [
        "",
        " ",
        ",",
        "a;",
        "a; =1",
        "a;b=",
        "a;b=\"\"",
        "a;b=\"x y\"",
        "a b",
        "a;b=\"open",
        "a;b=1 2",
        "a=1",
        "\"a\"",
        "a;;b",
    ] {
        assert_eq!(parse_extensions(bad), None, "{bad:?}");
    }
}

// An extension prints back in canonical form.
#[test]
fn extensions_display_canonically() {
    let exts = parse_extensions("a;b=\"1\";c ,d").unwrap();
    let shown: Vec<String> = exts.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["a; b=1; c", "d"]);
}

// A connection upgraded elsewhere starts open, without an Open event.
#[test]
fn upgraded_server_starts_open() {
    let mut server = upgraded_server(Config::default());
    assert_eq!(server.state(), State::Open);
    assert_eq!(server.role(), Role::Server);
    assert_eq!(server.extensions(), None);
    assert!(server.poll_event().is_none());
    let (events, _) = exchange(&mut server, &cframe(true, 0x1, b"hi"));
    assert_eq!(summaries(&events), ["text:hi"]);
    server.send("back").unwrap();
    assert_eq!(take_output(&mut server), frame(true, 0x1, b"back", None));
}

// §5.3: an upgraded client still masks.
#[test]
fn upgraded_client_masks_its_frames() {
    let mut client = upgraded_client(Config::default());
    client.send("hi").unwrap();
    let frames = parse_frames(&take_output(&mut client));
    assert_eq!(frames.len(), 1);
    assert!(frames[0].mask.is_some());
    assert_eq!(frames[0].payload, b"hi");
    let mut os =
        Connection::upgraded_client(Config::default(), &Agreement::new().extensions("")).unwrap();
    os.send("x").unwrap();
    assert!(parse_frames(&take_output(&mut os))[0].mask.is_some());
}

// An upgraded connection records the agreed subprotocol, refuses an
// invalid one, and refuses an extension it cannot run (§9.1).
#[test]
fn upgraded_connections_check_their_agreement() {
    let server =
        Connection::upgraded_server(Config::default(), &Agreement::new().subprotocol("chat"))
            .unwrap();
    assert_eq!(server.subprotocol(), Some("chat"));
    assert_eq!(
        Connection::upgraded_server(Config::default(), &Agreement::new().subprotocol("a b"))
            .unwrap_err(),
        UsageError::InvalidSubprotocol
    );
    let unknown = Agreement::new().extensions("x-unknown");
    assert_eq!(
        Connection::upgraded_server(Config::default(), &unknown).unwrap_err(),
        UsageError::InvalidExtensions
    );
    assert_eq!(
        Connection::upgraded_client_with_rng(Config::default(), &unknown, test_rng(1)).unwrap_err(),
        UsageError::InvalidExtensions
    );
}

/// §9.1 with another HTTP stack: the negotiation helpers agree with what a
/// connection does on its own.
#[test]
fn extension_helpers_for_external_http_stacks() {
    let config = Config::new();
    let offer = wsmachine::handshake::extension_offer(&config);
    let answer = wsmachine::handshake::negotiate_extensions(&config, offer.as_deref());
    #[cfg(feature = "deflate")]
    {
        let both = "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12";
        assert_eq!(offer.as_deref(), Some(both));
        assert_eq!(answer.as_deref(), Some(both));
        let agreed = Agreement::new().extensions(answer.clone().unwrap());
        let server = Connection::upgraded_server(config.clone(), &agreed).unwrap();
        assert_eq!(server.extensions(), Some(both));
    }
    #[cfg(not(feature = "deflate"))]
    assert_eq!((offer, answer), (None, None));
    assert_eq!(
        wsmachine::handshake::negotiate_extensions(&config, ["x-unknown"]),
        None
    );
}

// ------------------------------------------------ found by review (v2)

// Accept and Reject refuse the headers the connection writes itself: an
// application-added `Sec-WebSocket-Extensions` would make the client
// compress what the server cannot inflate; a second `Content-Length`
// would contradict the one the rejection writes.
#[test]
fn accept_and_reject_refuse_managed_headers() {
    for name in [
        "Sec-WebSocket-Extensions",
        "sec-websocket-protocol",
        "Sec-WebSocket-Accept",
        "Upgrade",
        "Connection",
        "Content-Length",
        "Transfer-Encoding",
    ] {
        let (mut server, _) = pending_request(Config::default(), REQUEST);
        assert_eq!(
            server.accept(Accept::new().header(name, "permessage-deflate")),
            Err(UsageError::ManagedHeader),
            "{name}"
        );
        assert_eq!(
            server.reject(Reject::new(400).header(name, "5")),
            Err(UsageError::ManagedHeader),
            "{name}"
        );
        assert!(!server.wants_write(), "nothing was queued");
        server.accept(Accept::new()).unwrap();
    }
}

// A head whose blank line is a bare LF is refused with 400: the lines after
// it (an Origin here) must never be ignored by one parser and read by
// another, so an allow-list cannot be bypassed.
#[test]
fn a_bare_lf_blank_line_is_refused() {
    let smuggled = "GET /chat HTTP/1.1\nHost: server.example.com\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\nOrigin: http://evil.example\r\n\r\n";
    let config =
        Config::new().origin_policy(OriginPolicy::AllowList(vec!["http://good.example".into()]));
    let (error, answer) = refused(config, smuggled.as_bytes());
    assert_eq!(error, HandshakeError::MalformedHttp);
    assert!(answer.starts_with("HTTP/1.1 400 "));
    // Bare LF inside the head, CRLF at its end: httparse would read it, but
    // the head is refused as a whole.
    let mixed = REQUEST.replacen("\r\nHost", "\nHost", 1);
    let (error, _) = refused(Config::default(), mixed.as_bytes());
    assert_eq!(error, HandshakeError::MalformedHttp);
}

// §4.2.1 item 2: the target is a /resource name/ (origin form) or an
// absolute http(s)/ws(s) URI; anything else is refused with 400.
#[test]
fn the_request_target_form_is_checked() {
    for bad in ["chat", "*", "server.example.com:80"] {
        let (error, answer) = refused(
            Config::default(),
            REQUEST
                .replacen("GET /chat", &format!("GET {bad}"), 1)
                .as_bytes(),
        );
        assert_eq!(error, HandshakeError::InvalidTarget, "{bad}");
        assert!(answer.starts_with("HTTP/1.1 400 "));
    }
    let absolute = REQUEST.replacen("GET /chat", "GET http://server.example.com/chat?x", 1);
    let (_, r) = pending_request(Config::default(), &absolute);
    assert_eq!((r.path(), r.query()), ("/chat", Some("x")));
}

// Limits::max_headers(usize::MAX) used to panic with "capacity overflow":
// the header table is sized by what the head can hold.
#[test]
fn a_huge_header_limit_does_not_allocate_it() {
    let config = Config::new().limits(Limits::new().max_headers(usize::MAX));
    let (_, r) = pending_request(config.clone(), REQUEST);
    assert_eq!(r.headers().count(), 5);
    let req = ClientRequest::new("ws://h/").unwrap();
    let mut client = Connection::client_with_rng(config, &req, test_rng(1)).unwrap();
    let text = String::from_utf8(take_output(&mut client)).unwrap();
    let events = feed_all(&mut client, answer_101(key_of(&text), "").as_bytes());
    assert!(matches!(events[..], [Event::Open(_)]), "{events:?}");
}
