//! The server's handshake parser: arbitrary request heads (raw, or a valid
//! start followed by arbitrary header lines) in arbitrary pieces, answered
//! by accept, reject or close; the answer must be a well-formed HTTP
//! response whose status matches the error. And a round trip: any request
//! a `ClientRequest` agrees to build (any URI, subprotocols, headers) must
//! reach a server as exactly that request: no header added, lost or
//! smuggled.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsmachine::{
    Accept, ChaCha20Rng, ClientRequest, Config, Connection, Error, Event, Instant, Limits,
    OriginPolicy, Reject, Role,
};
use wsmachine_fuzz::check::{Events, Wire};

#[derive(Arbitrary, Debug)]
struct Input {
    /// Start from a valid request head missing its last line.
    valid_start: bool,
    sizes: Vec<u8>,
    decide: u8,
    origin: u8,
    small: bool,
    head: Vec<u8>,
    client: Option<ClientSide>,
}

#[derive(Arbitrary, Debug)]
struct ClientSide {
    uri: String,
    protocols: Vec<String>,
    headers: Vec<(String, String)>,
}

const START: &[u8] = b"GET /chat HTTP/1.1\r\nHost: h.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

fn config(small: bool, origin: u8) -> Config {
    let limits = if small {
        Limits::new()
            .max_handshake_size(256)
            .max_headers(8)
            .max_input_buffer(64)
    } else {
        Limits::new().max_handshake_size(8 << 10).max_headers(32)
    };
    let policy = match origin % 3 {
        0 => OriginPolicy::Any,
        1 => OriginPolicy::SameHost,
        _ => OriginPolicy::AllowList(vec!["https://ok.example".into()]),
    };
    Config::new().limits(limits).origin_policy(policy)
}

fn serve(bytes: &[u8], sizes: &[u8], config: Config, decide: u8) -> (Events, Wire, Vec<String>) {
    let mut server = Connection::server(config);
    let mut events = Events::new(&server, true);
    let mut wire = Wire::new(Role::Server, true, 1 << 16);
    let mut seen = Vec::new();
    let mut at = 0;
    let mut i = 0;
    let mut stuck = 0;
    loop {
        while let Some(e) = server.poll_event() {
            events.on(&e, &server);
            seen.push(format!("{e:?}"));
            if let Event::Request(r) = &e {
                match decide % 4 {
                    0 | 1 => {
                        let mut a = Accept::new();
                        if let Some(p) = r.subprotocols().next() {
                            a = a.subprotocol(p);
                        }
                        server.accept(a).expect("the request is pending");
                    }
                    2 => server.reject(Reject::new(401).body("no")).expect("pending"),
                    _ => server
                        .close(wsmachine::CloseCode::NORMAL, "")
                        .expect("pending"),
                }
            }
        }
        while let Some(b) = server.poll_transmit() {
            wire.push(&b);
        }
        if at >= bytes.len() || server.is_finished() {
            break;
        }
        let size = 1 + usize::from(sizes.get(i % sizes.len().max(1)).copied().unwrap_or(200));
        i += 1;
        let end = (at + size).min(bytes.len());
        let n = server.feed(&bytes[at..end]);
        at += n;
        stuck = if n == 0 { stuck + 1 } else { 0 };
        assert!(stuck < 3, "input stuck");
    }
    server.feed_eof();
    server.handle_timeout(Instant::from_millis(1));
    server.handle_timeout(Instant::from_millis(3_600_000));
    while let Some(e) = server.poll_event() {
        events.on(&e, &server);
        seen.push(format!("{e:?}"));
    }
    while let Some(b) = server.poll_transmit() {
        wire.push(&b);
    }
    assert!(server.is_finished(), "not finished: {seen:?}");
    assert!(events.closed.is_some());
    (events, wire, seen)
}

fuzz_target!(|input: Input| {
    let mut bytes = Vec::new();
    if input.valid_start {
        bytes.extend_from_slice(START);
    }
    bytes.extend_from_slice(&input.head);
    let (events, wire, seen) = serve(
        &bytes,
        &input.sizes,
        config(input.small, input.origin),
        input.decide,
    );
    // The answer matches the outcome.
    if events.requests == 1 {
        let want = match input.decide % 4 {
            0 | 1 => 101,
            2 => 401,
            _ => 503,
        };
        assert_eq!(wire.status, Some(want), "{seen:?}");
    } else if let Some(status) = wire.status {
        let err = seen
            .iter()
            .find(|s| s.starts_with("Error"))
            .expect("an error");
        assert!(err.contains("Handshake"), "{err}");
        assert!(matches!(status, 400 | 403 | 426 | 431), "status {status}");
    }

    // Round trip of what a client agrees to send.
    let Some(c) = input.client else { return };
    let Ok(mut request) = ClientRequest::new(&c.uri) else {
        return;
    };
    for p in c.protocols.iter().take(4) {
        request = request.subprotocol(p.as_str());
    }
    for (n, v) in c.headers.iter().take(6) {
        request = request.header(n.as_str(), v.as_str());
    }
    let rng = ChaCha20Rng::from_seed([1; 32]);
    let Ok(mut client) = Connection::client_with_rng(Config::new(), &request, rng) else {
        return;
    };
    let mut sent = Vec::new();
    while let Some(b) = client.poll_transmit() {
        sent.extend_from_slice(&b);
    }
    let mut server = Connection::server(Config::new());
    assert_eq!(server.feed(&sent), sent.len());
    match server.poll_event() {
        Some(Event::Request(r)) => {
            assert_eq!(r.resource(), request.target());
            let offered: Vec<&str> = r.subprotocols().collect();
            assert_eq!(
                offered,
                request
                    .subprotocols()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
            );
            for (n, v) in c.headers.iter().take(6) {
                let trimmed = v.trim_matches([' ', '\t']);
                assert!(
                    r.headers()
                        .any(|(hn, hv)| hn == n && hv == trimmed.as_bytes()),
                    "header {n:?}: {v:?} did not arrive as sent"
                );
            }
            let names = 5 + usize::from(!request.subprotocols().is_empty())
                + 1 // Sec-WebSocket-Extensions
                + c.headers.iter().take(6).count()
                - usize::from(
                    c.headers
                        .iter()
                        .take(6)
                        .any(|(n, _)| n.eq_ignore_ascii_case("host")),
                );
            assert_eq!(r.headers().count(), names, "headers added or lost");
        }
        Some(Event::Error(Error::Handshake(e))) => {
            panic!(
                "a request the client built was refused: {e:?} {:?}",
                String::from_utf8_lossy(&sent)
            )
        }
        other => panic!("{other:?}"),
    }
});
