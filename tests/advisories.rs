//! Every published WebSocket advisory we know of, as a regression test
//! named after it: the exact outcome (events, close code or HTTP status,
//! bytes on the wire) and bounded memory, measured with a counting
//! allocator. `docs/security.md` lists them with the limit that answers
//! each.
#![cfg(feature = "deflate")]

mod common;
#[path = "common/counting.rs"]
mod counting;

use common::*;
use counting::{Counting, live, measure};
use wsmachine::deflate::DeflateConfig;
use wsmachine::*;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Small fixed allocations of a connection and its events.
const SLACK: usize = 8 << 10;
/// Compression state of one connection, both directions (the largest
/// memory preset, with room to spare).
const DEFLATE_STATE: usize = 440 << 10;

fn no_deflate() -> Config {
    Config::new().deflate(None)
}

/// The exact answer a server gives a handshake error.
fn http_error(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn request_with(extra: &str) -> String {
    REQUEST.replacen("\r\n\r\n", &format!("\r\n{extra}\r\n\r\n"), 1)
}

/// Feeds `input` one byte at a time (polling after each) and returns the
/// events and the output.
fn dribble(conn: &mut Connection, input: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    for b in input {
        assert_eq!(conn.feed(std::slice::from_ref(b)), 1);
        events.extend(drain(conn));
    }
    events
}

// ------------------------------------------------------------ handshake

// RUSTSEC-2023-0065 (tungstenite): a long header arriving slowly was parsed
// again on every read, and without a size cap: quadratic CPU. Here the head
// is scanned once (each byte looked at once: the unit test
// `handshake::tests::each_byte_is_scanned_once`), parsed once when
// complete, and capped at `max_handshake_size` (431).
#[test]
fn rustsec_2023_0065_slow_long_handshake_is_scanned_once_and_capped() {
    let limit = Limits::default().max_handshake_size;
    let pad = limit - REQUEST.len() - "X-Pad: \r\n".len();
    let at_limit = request_with(&format!("X-Pad: {}", "a".repeat(pad)));
    assert_eq!(at_limit.len(), limit);
    let mut server = Connection::server(no_deflate());
    let (events, peak, _) = measure(|| dribble(&mut server, at_limit.as_bytes()));
    assert!(matches!(&events[..], [Event::Request(_)]), "{events:?}");
    // The buffered head and the request that keeps it.
    assert!(peak <= 3 * limit + SLACK, "peak {peak}");

    let over = request_with(&format!("X-Pad: {}", "a".repeat(pad + 1)));
    let mut server = Connection::server(no_deflate());
    let (events, peak, _) = measure(|| dribble(&mut server, over.as_bytes()));
    assert_eq!(
        summaries(&events),
        [
            "error:Handshake(TooLarge(HandshakeSize))",
            "closed:1006:false:"
        ]
    );
    assert!(peak <= 2 * limit + SLACK, "peak {peak}");
    assert_eq!(
        take_output(&mut server),
        http_error(
            "431 Request Header Fields Too Large",
            "handshake size limit exceeded\n"
        )
    );
}

// Node ws CVE-2024-37890: a request with more headers than the server's
// table crashed the server. Here: 431, with a header table no larger than
// `max_headers`, however many header lines arrive.
#[test]
fn ws_cve_2024_37890_too_many_headers() {
    let max = Limits::default().max_headers;
    for n in [max - 5 + 1, 4000] {
        let lines: String = (0..n).map(|i| format!("X-{i}: v\r\n")).collect();
        let req = request_with(lines.trim_end());
        let mut server = Connection::server(no_deflate());
        let (events, _, largest) = measure(|| feed_all(&mut server, req.as_bytes()));
        let want = if req.len() > Limits::default().max_handshake_size {
            "error:Handshake(TooLarge(HandshakeSize))"
        } else {
            "error:Handshake(TooLarge(HeaderCount))"
        };
        assert_eq!(summaries(&events), [want, "closed:1006:false:"], "{n}");
        // The input buffer, at most max_input_buffer (64 KiB): the head
        // is refused once it passes max_handshake_size.
        assert!(largest <= 64 << 10, "largest allocation {largest}");
        let out = take_output(&mut server);
        assert!(out.starts_with(b"HTTP/1.1 431 "), "{n}");
    }
    // Exactly max_headers is fine.
    let lines: String = (0..max - 5).map(|i| format!("X-{i}: v\r\n")).collect();
    let mut server = Connection::server(no_deflate());
    let events = feed_all(&mut server, request_with(lines.trim_end()).as_bytes());
    assert!(matches!(&events[..], [Event::Request(_)]));
    // A client refuses an answer with too many headers the same way.
    let mut client = open_client_raw();
    let lines: String = (0..max + 1).map(|i| format!("X-{i}: v\r\n")).collect();
    let answer = format!("HTTP/1.1 101 Switching Protocols\r\n{lines}\r\n");
    let events = feed_all(&mut client, answer.as_bytes());
    assert_eq!(
        summaries(&events),
        [
            "error:Handshake(TooLarge(HeaderCount))",
            "closed:1006:false:"
        ]
    );
    assert!(take_output(&mut client).is_empty());
}

/// A client whose request was taken (the answer is up to the test).
fn open_client_raw() -> Connection {
    let request = ClientRequest::new("ws://localhost/").unwrap();
    let mut client = Connection::client_with_rng(no_deflate(), &request, test_rng(7)).unwrap();
    take_output(&mut client);
    client
}

// CVE-2021-32640 (Node ws): a Sec-WebSocket-Protocol value made of many
// spaces took a regular expression quadratic time. Here values are split
// on commas and trimmed, in one pass: the longest such value the size limit
// lets in is one ordinary (non-token) element.
#[test]
fn cve_2021_32640_redos_shaped_subprotocol_values() {
    let spaces = " ".repeat(30_000);
    let req = request_with(&format!("Sec-WebSocket-Protocol: a{spaces}b"));
    let mut server = Connection::server(no_deflate());
    let (events, peak, _) = measure(|| feed_all(&mut server, req.as_bytes()));
    let Some(Event::Request(r)) = events.first() else {
        panic!("{events:?}")
    };
    assert_eq!(r.subprotocols().count(), 1);
    assert_eq!(r.subprotocols().next().unwrap().len(), 30_002);
    assert!(peak <= 3 * (32 << 10) + SLACK, "peak {peak}");
    let commas = ",".repeat(30_000);
    let req = request_with(&format!("Sec-WebSocket-Protocol: {commas}chat{spaces}"));
    let mut server = Connection::server(no_deflate());
    let events = feed_all(&mut server, &req.as_bytes()[..req.len().min(32 << 10)]);
    // Over the size limit: 431, not a hang.
    assert!(
        summaries(&events)
            .iter()
            .any(|e| e.contains("TooLarge(HandshakeSize)")),
        "{events:?}"
    );
    // A client offered "chat"; an answer of spaces around it is "chat",
    // anything else is refused.
    let request = ClientRequest::new("ws://localhost/")
        .unwrap()
        .subprotocol("chat");
    for (value, ok) in [("  chat  ", true), ("ch at", false), (" , ,chat", true)] {
        let mut client = Connection::client_with_rng(no_deflate(), &request, test_rng(1)).unwrap();
        let req = take_output(&mut client);
        let key = String::from_utf8(req)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ").map(str::to_string))
            .unwrap();
        let answer = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {value}\r\n\r\n",
            handshake::accept_key(key.as_bytes())
        );
        let events = feed_all(&mut client, answer.as_bytes());
        assert_eq!(
            matches!(events.first(), Some(Event::Open(_))),
            ok,
            "{value:?}: {events:?}"
        );
    }
}

// Extension names that are special to some languages' objects (`__proto__`,
// `constructor`) crashed or polluted parsers that kept them in a map. Here
// they are names like any other: declined, and never break the offers
// around them.
#[test]
fn extension_names_like_proto() {
    let answer = |offer: &str| {
        let mut server = Connection::server(Config::new());
        let req = request_with(&format!("Sec-WebSocket-Extensions: {offer}"));
        let events = feed_all(&mut server, req.as_bytes());
        assert!(matches!(&events[..], [Event::Request(_)]), "{events:?}");
        server.accept(Accept::new()).unwrap();
        let out = String::from_utf8(take_output(&mut server)).unwrap();
        out.lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Extensions: "))
            .map(str::to_string)
    };
    assert_eq!(answer("__proto__"), None);
    assert_eq!(
        answer("__proto__, constructor; __proto__=1, hasOwnProperty"),
        None
    );
    assert_eq!(answer("permessage-deflate; __proto__"), None);
    assert_eq!(answer("permessage-deflate; constructor=1"), None);
    // The valid offer is answered as it would be alone (the default memory
    // preset's windows).
    assert_eq!(
        answer("__proto__, permessage-deflate; __proto__, permessage-deflate").as_deref(),
        Some("permessage-deflate; client_no_context_takeover; server_max_window_bits=12")
    );
    // A server that answers with such a name fails the client's handshake.
    let (events, out) = client_answered(Some("__proto__"));
    assert_eq!(
        summaries(&events),
        ["error:Handshake(UnexpectedExtension)", "closed:1006:false:"]
    );
    assert!(out.is_empty());
}

/// A default client answered with 101 and this extension value; its events
/// and what it wrote after the request.
fn client_answered(extensions: Option<&str>) -> (Vec<Event>, Vec<u8>) {
    let request = ClientRequest::new("ws://localhost/").unwrap();
    let mut client = Connection::client_with_rng(Config::new(), &request, test_rng(2)).unwrap();
    let req = String::from_utf8(take_output(&mut client)).unwrap();
    let key = req
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let mut answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        handshake::accept_key(key.as_bytes())
    );
    if let Some(e) = extensions {
        answer.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    answer.push_str("\r\n");
    let events = feed_all(&mut client, answer.as_bytes());
    (events, take_output(&mut client))
}

// undici CVE-2026-2229: a server_max_window_bits outside 8–15 (or not a
// plain decimal) in the server's answer crashed the client's inflater
// setup. Here the client fails the handshake, writes nothing more, and a
// server declines such an offer.
#[test]
fn undici_cve_2026_2229_out_of_range_server_max_window_bits() {
    for bits in [
        "7",
        "16",
        "0",
        "08",
        "1e1",
        "-9",
        "15.0",
        "99999999999999999999",
    ] {
        for param in ["server_max_window_bits", "client_max_window_bits"] {
            let (events, out) =
                client_answered(Some(&format!("permessage-deflate; {param}={bits}")));
            assert_eq!(
                summaries(&events),
                ["error:Handshake(UnexpectedExtension)", "closed:1006:false:"],
                "{param}={bits}"
            );
            assert!(out.is_empty());
        }
        let mut server = Connection::server(Config::new());
        let req = request_with(&format!(
            "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits={bits}, permessage-deflate"
        ));
        let _ = feed_all(&mut server, req.as_bytes());
        server.accept(Accept::new()).unwrap();
        let out = String::from_utf8(take_output(&mut server)).unwrap();
        assert!(
            out.contains(
                "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_max_window_bits=12\r\n"
            ),
            "{bits}: the second, valid offer is taken: {out}"
        );
    }
}

// undici CVE-2026-1527: CR/LF in a string the application passes ended up
// in the HTTP head (header injection, request splitting). Every string the
// API writes into a head is checked; a refused call changes nothing.
#[test]
fn undici_cve_2026_1527_crlf_injection_through_every_api_string() {
    for uri in [
        "ws://h/a\r\nX: y",
        "ws://h\r\n/",
        "ws://h/\n",
        "ws://h/ x",
        "ws://h\0/",
    ] {
        assert_eq!(
            ClientRequest::new(uri).unwrap_err(),
            UsageError::InvalidUri,
            "{uri:?}"
        );
    }
    let base = || ClientRequest::new("ws://h/").unwrap();
    let client =
        |r: ClientRequest| Connection::client_with_rng(Config::new(), &r, test_rng(1)).map(|_| ());
    assert_eq!(
        client(base().subprotocol("a\r\nX: y")),
        Err(UsageError::InvalidSubprotocol)
    );
    for (name, value) in [
        ("X-A", "1\r\nX-B: 2"),
        ("X-A", "1\n"),
        ("X-A", "\r"),
        ("X-A", "a\0b"),
        ("X-A\r\nX-B", "1"),
        ("X-A:", "1"),
        ("Host", "h\r\nX: 1"),
        ("Origin", "https://a\r\n\r\nGET / HTTP/1.1"),
    ] {
        assert_eq!(
            client(base().header(name, value)),
            Err(UsageError::InvalidHeader),
            "{name:?}: {value:?}"
        );
    }
    // The server's answers.
    let pending = || {
        let mut s = Connection::server(Config::new());
        let req = request_with("Sec-WebSocket-Protocol: chat");
        assert!(matches!(
            feed_all(&mut s, req.as_bytes())[..],
            [Event::Request(_)]
        ));
        s
    };
    let mut s = pending();
    assert_eq!(
        s.accept(Accept::new().subprotocol("chat\r\nX: 1")),
        Err(UsageError::SubprotocolNotOffered)
    );
    assert_eq!(
        s.accept(Accept::new().header("Set-Cookie", "a\r\nX: 1")),
        Err(UsageError::InvalidHeader)
    );
    assert_eq!(
        s.accept(Accept::new().header("Set-Cookie\r\nX", "1")),
        Err(UsageError::InvalidHeader)
    );
    assert_eq!(
        s.reject(Reject::new(401).header("WWW-Authenticate", "x\r\n\r\nHTTP/1.1 200 OK")),
        Err(UsageError::InvalidHeader)
    );
    assert_eq!(s.output_len(), 0, "refused calls queue nothing");
    assert_eq!(s.state(), State::Connecting);
    // A body is counted, not parsed: CR/LF in it is content.
    s.reject(Reject::new(400).body("\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"))
        .unwrap();
    let out = take_output(&mut s);
    assert_eq!(
        out,
        b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 23\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"
    );
    // Connections whose handshake was done elsewhere.
    assert_eq!(
        Connection::upgraded_server(Config::new(), &Agreement::new().subprotocol("a\r\nb"))
            .unwrap_err(),
        UsageError::InvalidSubprotocol
    );
    assert_eq!(
        Connection::upgraded_server(
            Config::new(),
            &Agreement::new().extensions("permessage-deflate\r\nX: 1")
        )
        .unwrap_err(),
        UsageError::InvalidExtensions
    );
}

// A slow-loris client: the request arrives one byte every few seconds, or
// never ends. The handshake timer (10 s) ends it whatever the pace; nothing
// is answered and the connection is finished.
#[test]
fn slow_loris_handshake_is_ended_by_the_handshake_timeout() {
    let mut server = Connection::server(no_deflate());
    server.handle_timeout(Instant::ZERO);
    let mut events = Vec::new();
    for (i, b) in REQUEST.as_bytes().iter().take(40).enumerate() {
        assert_eq!(server.feed(std::slice::from_ref(b)), 1);
        server.handle_timeout(Instant::from_millis(i as u64 * 400));
        events.extend(drain(&mut server));
    }
    assert_eq!(
        summaries(&events),
        ["error:Timeout(Handshake)", "closed:1006:false:"]
    );
    assert!(server.is_finished());
    assert_eq!(server.output_len(), 0);
    assert_eq!(server.buffer_capacity(), 0);
    // The same for a request the application never decides on.
    let mut server = Connection::server(no_deflate());
    server.handle_timeout(Instant::ZERO);
    assert!(matches!(
        feed_all(&mut server, REQUEST.as_bytes())[..],
        [Event::Request(_)]
    ));
    server.handle_timeout(Instant::from_millis(10_000));
    assert_eq!(
        summaries(&drain(&mut server)),
        ["error:Timeout(Handshake)", "closed:1006:false:"]
    );
    assert!(server.is_finished());
}

// ---------------------------------------------------------- frame sizes

// RUSTSEC-2022-0035 (websocket): a frame header's declared length was
// allocated up front: 8 bytes from the peer, gigabytes of memory. Here the
// declared length is checked against the limits first, and a frame within
// them costs only what arrived.
#[test]
fn rustsec_2022_0035_no_allocation_from_a_declared_length() {
    for len in [u64::MAX >> 1, 1 << 40, (16 << 20) + 1] {
        let mut server = open_server(no_deflate());
        let header = FrameBuilderLite::header(0x2, len);
        let ((events, out), _, largest) = measure(|| exchange(&mut server, &header));
        assert_server_fails(&events, &out, &Error::LimitExceeded(Limit::FrameSize), 1009);
        assert!(largest < 4 << 10, "{len}: largest allocation {largest}");
    }
    // With the limits off, a huge declared length is still not allocated.
    let unlimited = no_deflate().limits(
        Limits::new()
            .max_frame_size(u64::MAX)
            .max_message_size(u64::MAX),
    );
    for delivery in [Delivery::Messages, Delivery::Chunks] {
        let mut server = open_server(unlimited.clone().delivery(delivery));
        let mut input = FrameBuilderLite::header(0x2, u64::MAX >> 1);
        input.extend_from_slice(&[7u8; 1000]);
        let (events, peak, largest) = measure(|| feed_all(&mut server, &input));
        assert!(events.iter().all(|e| matches!(e, Event::Chunk(_))));
        assert!(largest <= 64 << 10, "largest allocation {largest}");
        assert!(peak <= (64 << 10) + SLACK, "peak {peak}");
        server.feed_eof();
        assert!(
            drain(&mut server)
                .iter()
                .any(|e| matches!(e, Event::Closed(c) if c.code == CloseCode::ABNORMAL))
        );
    }
}

/// Raw masked frame headers (the payload follows separately).
struct FrameBuilderLite;

impl FrameBuilderLite {
    fn header(opcode: u8, len: u64) -> Vec<u8> {
        let mut h = vec![0x80 | opcode, 0x80 | 127];
        h.extend_from_slice(&len.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]);
        h
    }
}

// CVE-2026-1528: a 64-bit length with its top bit set overflowed a signed
// length computation. Here it is a protocol error (1002) whatever the
// limits, found from the header alone.
#[test]
fn cve_2026_1528_64_bit_length_with_the_top_bit_set() {
    let unlimited = no_deflate().limits(
        Limits::new()
            .max_frame_size(u64::MAX)
            .max_message_size(u64::MAX),
    );
    for config in [no_deflate(), unlimited] {
        for len in [1u64 << 63, u64::MAX] {
            let mut server = open_server(config.clone());
            let (events, out) = exchange(&mut server, &FrameBuilderLite::header(0x2, len));
            assert_server_fails(
                &events,
                &out,
                &Error::Protocol(ProtocolViolation::Frame(
                    wsmachine::frame::FrameError::LengthOverflow,
                )),
                1002,
            );
        }
    }
}

// RUSTSEC-2020-0043 (ws-rs): nothing bounded the outgoing queue, so a peer
// that never reads (or answers every ping) grew it without end. Here the
// application's sends stop at `max_output_buffer` (OutputFull, the message
// handed back) and the connection's own frames (pongs, one Close) have a
// fixed budget on top.
#[test]
fn rustsec_2020_0043_output_queue_is_bounded_for_a_peer_that_never_reads() {
    let cap = 1 << 20;
    let config = no_deflate().limits(Limits::new().max_output_buffer(cap));
    let base = live();
    let mut server = open_server(config);
    let mut pings = Vec::new();
    for i in 0..10_000u16 {
        pings.extend(cframe(true, 0x9, &i.to_be_bytes()));
    }
    let chunk = Bytes::from(vec![1u8; 10_000]);
    let ((), peak, _) = measure(|| {
        let mut refused = 0;
        while refused < 3 {
            match server.send(chunk.clone()) {
                Ok(()) => {}
                Err(e) => {
                    assert!(matches!(e.error, UsageError::OutputFull { .. }));
                    assert_eq!(e.value.len(), 10_000, "the message comes back");
                    refused += 1;
                }
            }
        }
        assert!(server.output_len() <= cap);
        // Events are counted, not kept: the test holds nothing.
        let mut rest = &pings[..];
        let mut reported = 0;
        while !rest.is_empty() {
            let n = server.feed(rest);
            rest = &rest[n..];
            while let Some(e) = server.poll_event() {
                assert!(matches!(e, Event::Ping(_)));
                reported += 1;
            }
        }
        assert_eq!(reported, 10_000, "every ping is reported");
        assert!(server.output_len() <= cap + CONTROL_BUDGET);
        server.close(CloseCode::NORMAL, "").unwrap();
        assert!(server.output_len() <= cap + CONTROL_BUDGET);
    });
    drop(chunk);
    assert!(
        peak <= cap + CONTROL_BUDGET + (64 << 10) + SLACK,
        "peak {peak}"
    );
    let held = (live() - base) as usize;
    assert!(held <= cap + CONTROL_BUDGET + (64 << 10) + SLACK, "{held}");
    // The close timer ends it; the pending output is dropped.
    server.handle_timeout(Instant::ZERO);
    server.handle_timeout(Instant::from_millis(5_000));
    assert_eq!(
        summaries(&drain(&mut server)),
        ["error:Timeout(Close)", "closed:1006:false:"]
    );
    assert!(server.is_finished());
    assert_eq!(server.output_len(), 0);
}

// Node ws CVE-2026-48779: a message in a flood of 1-byte fragments cost
// memory per fragment. Here a fragment costs its payload and nothing else:
// the message buffer grows geometrically (at most twice what arrived, never
// past max_message_size) and is shrunk to fit when the message ends; in
// chunk delivery each fragment is one chunk, handed over and freed.
#[test]
fn ws_cve_2026_48779_flood_of_tiny_fragments() {
    let n = 200_000;
    let mut input = cframe(false, 0x2, b"a");
    let one = cframe(false, 0x0, b"b");
    for _ in 1..n - 1 {
        input.extend_from_slice(&one);
    }
    input.extend(cframe(true, 0x0, b"c"));
    let mut server = open_server(no_deflate());
    let (events, peak, largest) = measure(|| feed_all(&mut server, &input));
    assert!(matches!(&events[..], [Event::Message(m)] if m.len() == n));
    assert!(largest <= 2 * n, "largest allocation {largest}");
    assert!(peak <= 3 * n + SLACK, "peak {peak}");
    drop(events);
    assert!(server.buffer_capacity() < 1024);
    // Chunk delivery: one chunk per fragment, nothing kept.
    let mut server = open_server(no_deflate().delivery(Delivery::Chunks));
    let base = live();
    let mut chunks = 0;
    let ((), peak, _) = measure(|| {
        for piece in input.chunks(4096) {
            let mut piece = piece;
            while !piece.is_empty() {
                let k = server.feed(piece);
                piece = &piece[k..];
                while let Some(e) = server.poll_event() {
                    assert!(matches!(e, Event::Chunk(ref c) if c.data.len() == 1));
                    chunks += 1;
                }
            }
        }
    });
    assert_eq!(chunks, n);
    assert!(peak <= (64 << 10) + SLACK, "peak {peak}");
    assert!(live() - base <= SLACK as isize);
    // Past the limit, the fragment that crosses it fails the connection.
    let small = no_deflate().limits(Limits::new().max_message_size(1000));
    let mut server = open_server(small);
    // 7 bytes a fragment on the wire: the 1001st byte crosses the limit.
    let (events, out) = exchange(&mut server, &input[..7 * 1001]);
    assert_server_fails(
        &events,
        &out,
        &Error::LimitExceeded(Limit::MessageSize),
        1009,
    );
}

// Node ws CVE-2026-62389: empty fragments (6 bytes each on the wire) kept a
// message open forever. Here an empty fragment costs nothing at all, not
// even an event; the message is delivered when its last fragment comes.
#[test]
fn ws_cve_2026_62389_flood_of_empty_fragments() {
    let empty = cframe(false, 0x0, b"");
    let mut flood = Vec::with_capacity(empty.len() * 100_000);
    for _ in 0..100_000 {
        flood.extend_from_slice(&empty);
    }
    for delivery in [Delivery::Messages, Delivery::Chunks] {
        let mut server = open_server(no_deflate().delivery(delivery));
        let _ = feed_all(&mut server, &cframe(false, 0x1, b"x"));
        let base = live();
        let (events, peak, _) = measure(|| {
            let mut events = Vec::new();
            for _ in 0..10 {
                events.extend(feed_all(&mut server, &flood));
            }
            events
        });
        assert!(events.is_empty(), "{delivery:?}: {:?}", events.first());
        assert!(peak <= (64 << 10) + SLACK, "peak {peak}");
        assert!(live() - base <= 1024, "{}", live() - base);
        let events = feed_all(&mut server, &cframe(true, 0x0, b"y"));
        let got: Vec<u8> = events
            .iter()
            .flat_map(|e| match e {
                Event::Message(m) => m.as_bytes().to_vec(),
                Event::Chunk(c) => c.data.to_vec(),
                other => panic!("{other:?}"),
            })
            .collect();
        // A message holds "x" and "y"; in chunks, "x" came at once.
        let want: &[u8] = match delivery {
            Delivery::Messages => b"xy",
            Delivery::Chunks => b"y",
        };
        assert_eq!(got, want, "{delivery:?}");
    }
}

// libevent CVE-2026-63495: fragments were accumulated without a total
// limit. Here the sum of a message's fragments counts against
// max_message_size, checked from each fragment's header before its payload
// is read; in chunk delivery too, where nothing is buffered.
#[test]
fn libevent_cve_2026_63495_unbounded_fragment_accumulation() {
    let limit = 1 << 20;
    let config = no_deflate().limits(Limits::new().max_message_size(limit as u64));
    let piece = vec![3u8; 1024];
    let first = cframe(false, 0x2, &piece);
    let more = cframe(false, 0x0, &piece);
    for delivery in [Delivery::Messages, Delivery::Chunks] {
        let mut server = open_server(config.clone().delivery(delivery));
        let mut events = Vec::new();
        let ((), peak, _) = measure(|| {
            events.extend(feed_all(&mut server, &first));
            for _ in 0..2000 {
                events.extend(feed_all(&mut server, &more));
                events.retain(|e| !matches!(e, Event::Chunk(_)));
                if server.is_finished() || !events.is_empty() {
                    break;
                }
            }
        });
        assert_eq!(
            summaries(&events),
            ["error:LimitExceeded(MessageSize)", "closed:1006:false:"],
            "{delivery:?}"
        );
        assert!(
            peak <= limit + (64 << 10) + SLACK,
            "{delivery:?}: peak {peak}"
        );
        assert_eq!(
            parse_frames(&take_output(&mut server))
                .last()
                .unwrap()
                .payload,
            1009u16.to_be_bytes()
        );
    }
}

// ws CVE-2026-45736: a close reason was written from a buffer with
// uninitialised memory around it. Here a Close frame carries exactly the
// code and the reason given (or, for an echo, the code alone).
#[test]
fn ws_cve_2026_45736_close_reason_is_exactly_what_was_given() {
    let mut server = open_server(no_deflate());
    server.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(
        take_output(&mut server),
        [0x88, 5, 0x03, 0xe8, b'b', b'y', b'e']
    );
    let long = "é".repeat(61) + "x";
    assert_eq!(long.len(), 123);
    let mut server = open_server(no_deflate());
    server.fail(CloseCode::POLICY_VIOLATION, &long).unwrap();
    let out = take_output(&mut server);
    assert_eq!(out.len(), 2 + 125);
    assert_eq!(&out[..4], [0x88, 125, 0x03, 0xf0]);
    assert_eq!(&out[4..], long.as_bytes());
    let mut server = open_server(no_deflate());
    assert_eq!(
        server.close(CloseCode::NORMAL, &(long.clone() + "x")),
        Err(UsageError::ControlPayloadTooLong)
    );
    assert_eq!(server.output_len(), 0);
    // The echo: the code only.
    let (events, out) = exchange(
        &mut server,
        &cframe(true, 0x8, &close_payload(4001, b"secret reason")),
    );
    assert_eq!(summaries(&events), ["closed:4001:true:secret reason"]);
    assert_eq!(out, server_close(4001));
    // A client masks exactly code and reason.
    let mut client = open_client(no_deflate());
    client.close(CloseCode::new(3000), "ok").unwrap();
    let frames = parse_frames(&take_output(&mut client));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].payload, [0x0b, 0xb8, b'o', b'k']);
}

// ------------------------------------------------------------ deflate

/// What a client sends for `messages` (compressed if agreed), with its
/// configuration; and the server's configuration to receive it.
fn compressed_wire(no_context_takeover: bool, messages: &[Vec<u8>]) -> Vec<u8> {
    let mut deflate = DeflateConfig::new().level(9).min_size(0);
    if no_context_takeover {
        deflate = deflate.client_no_context_takeover(true);
    }
    let config = Config::new()
        .deflate(Some(deflate))
        .limits(Limits::new().max_output_buffer(usize::MAX));
    let mut p = Pair::with_configs(config.clone(), server_deflate(no_context_takeover, 1 << 30));
    let mut wire = Vec::new();
    for m in messages {
        // Big messages in 1 MiB fragments, so that building them is cheap.
        let pieces: Vec<&[u8]> = m.chunks(1 << 20).collect();
        for (i, piece) in pieces.iter().enumerate() {
            p.client
                .send_fragment(MessageKind::Binary, piece.to_vec(), i + 1 == pieces.len())
                .unwrap();
            wire.extend(take_output(&mut p.client));
        }
    }
    wire
}

fn server_deflate(no_context_takeover: bool, limit: u64) -> Config {
    let mut deflate = DeflateConfig::new();
    if no_context_takeover {
        deflate = deflate.client_no_context_takeover(true);
    }
    Config::new()
        .deflate(Some(deflate))
        .limits(Limits::new().max_message_size(limit))
}

/// A server agreed to permessage-deflate (the client's side as in
/// `compressed_wire`), fed `wire`; returns the events (chunks dropped as
/// they come), the frames it wrote, and the peak heap.
fn receive_compressed(
    no_context_takeover: bool,
    limit: u64,
    delivery: Delivery,
    wire: &[u8],
) -> (Vec<Event>, Vec<WireFrame>, usize, usize) {
    let client_config = Config::new().deflate(Some(if no_context_takeover {
        DeflateConfig::new().client_no_context_takeover(true)
    } else {
        DeflateConfig::new()
    }));
    let mut p = Pair::with_configs(
        client_config,
        server_deflate(no_context_takeover, limit).delivery(delivery),
    );
    let mut events = Vec::new();
    let ((), peak, largest) = measure(|| {
        for piece in wire.chunks(16 << 10) {
            let mut piece = piece;
            while !piece.is_empty() {
                let n = p.server.feed(piece);
                piece = &piece[n..];
                while let Some(e) = p.server.poll_event() {
                    if !matches!(e, Event::Chunk(_)) {
                        events.push(e);
                    }
                }
            }
        }
    });
    let frames = parse_frames(&take_output(&mut p.server));
    (events, frames, peak, largest)
}

// undici CVE-2026-1526, nats CVE-2026-27571: a small compressed message
// inflating to gigabytes exhausted memory. Here inflated bytes count against
// max_message_size as they come out, in both delivery modes, with and
// without context takeover: 1009 once the limit is passed, and memory never
// more than the limit plus the compression state.
#[test]
fn undici_cve_2026_1526_nats_cve_2026_27571_deflate_bombs() {
    let limit = 1u64 << 20;
    for no_context_takeover in [false, true] {
        // A normal message first, so that with context takeover the bomb
        // continues a stream that already has history.
        let wire = compressed_wire(
            no_context_takeover,
            &[b"{\"hello\":1}".repeat(50), vec![0u8; 64 << 20]],
        );
        assert!(wire.len() < 200 << 10, "{}", wire.len());
        for delivery in [Delivery::Messages, Delivery::Chunks] {
            let (events, frames, peak, largest) =
                receive_compressed(no_context_takeover, limit, delivery, &wire);
            let case = format!("{delivery:?}, no context takeover {no_context_takeover}");
            let s = summaries(&events);
            assert_eq!(
                &s[s.len() - 2..],
                ["error:LimitExceeded(MessageSize)", "closed:1006:false:"],
                "{case}"
            );
            if delivery == Delivery::Messages {
                assert_eq!(
                    events.len(),
                    3,
                    "{case}: the first message, then the failure"
                );
            }
            assert_eq!(
                frames.last().unwrap().payload,
                1009u16.to_be_bytes(),
                "{case}"
            );
            assert!(
                largest <= limit as usize,
                "{case}: largest allocation {largest}"
            );
            assert!(
                peak <= limit as usize + DEFLATE_STATE + (64 << 10) + SLACK,
                "{case}: peak {peak}"
            );
        }
    }
}

// Faye CVE-2026-134813: a message was inflated whole and only then checked
// against the size limit. Here the limit stops inflation: a message one
// byte over is refused without the buffer ever holding more than the limit;
// one exactly at the limit is delivered.
#[test]
fn faye_cve_2026_134813_the_limit_is_checked_while_inflating() {
    let limit = 100_000u64;
    for no_context_takeover in [false, true] {
        for (len, ok) in [(limit as usize, true), (limit as usize + 1, false)] {
            let wire = compressed_wire(no_context_takeover, &[vec![b'z'; len]]);
            for delivery in [Delivery::Messages, Delivery::Chunks] {
                let (events, frames, _, largest) =
                    receive_compressed(no_context_takeover, limit, delivery, &wire);
                let case = format!("{len} {delivery:?} {no_context_takeover}");
                if ok {
                    assert!(
                        events.iter().all(|e| matches!(e, Event::Message(_))),
                        "{case}: {events:?}"
                    );
                    assert!(frames.is_empty(), "{case}");
                } else {
                    assert_eq!(
                        summaries(&events),
                        ["error:LimitExceeded(MessageSize)", "closed:1006:false:"],
                        "{case}"
                    );
                }
                assert!(
                    largest <= limit as usize,
                    "{case}: largest allocation {largest}"
                );
            }
        }
    }
}

// undici CVE-2026-85024: a malformed deflate byte right after the size limit
// tripped raised a second error on a connection already failed. Here the
// first failure ends the processing of input: one error (1009), one Close
// frame, nothing inflated after it, whatever bytes follow in the frame and
// after it.
#[test]
fn undici_cve_2026_85024_malformed_deflate_byte_after_the_limit() {
    let limit = 50_000u64;
    for no_context_takeover in [false, true] {
        let mut wire = compressed_wire(no_context_takeover, &[vec![b'q'; 200_000]]);
        // Corrupt the end of the compressed payload (after the point where
        // the limit trips) and add a garbage frame behind it.
        let n = wire.len();
        for b in &mut wire[n - 8..] {
            *b = 0xFF;
        }
        wire.extend(cframe(true, 0x2, &[0xFF; 50]));
        wire.extend(frame_rsv(true, 4, 0x2, &[0xFF; 50], Some([1, 2, 3, 4])));
        for delivery in [Delivery::Messages, Delivery::Chunks] {
            let (events, frames, _, _) =
                receive_compressed(no_context_takeover, limit, delivery, &wire);
            assert_eq!(
                summaries(&events),
                ["error:LimitExceeded(MessageSize)", "closed:1006:false:"],
                "{delivery:?}"
            );
            assert_eq!(frames.len(), 1);
            assert_eq!(frames[0].payload, 1009u16.to_be_bytes());
        }
    }
}

// ---------------------------------------------------- peers that stall

// A peer that never closes: the close timer (5 s) ends the closing
// handshake, and the teardown after it, without the peer's help.
#[test]
fn a_peer_that_never_closes_is_ended_by_the_close_timeout() {
    let mut server = open_server(no_deflate());
    server.handle_timeout(Instant::ZERO);
    server.close(CloseCode::NORMAL, "").unwrap();
    take_output(&mut server);
    server.handle_timeout(Instant::from_millis(1));
    server.handle_timeout(Instant::from_millis(4_000));
    assert!(drain(&mut server).is_empty());
    server.handle_timeout(Instant::from_millis(5_001));
    assert_eq!(
        summaries(&drain(&mut server)),
        ["error:Timeout(Close)", "closed:1006:false:"]
    );
    assert!(server.is_finished());
    // After a clean closing handshake a client waits for the server to
    // close the transport, at most the close timeout.
    let mut client = open_client(no_deflate());
    client.handle_timeout(Instant::ZERO);
    let (events, _) = exchange(
        &mut client,
        &frame(true, 0x8, &close_payload(1000, b""), None),
    );
    assert_eq!(summaries(&events), ["closed:1000:true:"]);
    assert!(!client.is_finished());
    assert!(client.wants_read());
    client.handle_timeout(Instant::from_millis(1));
    client.handle_timeout(Instant::from_millis(5_001));
    assert!(client.is_finished());
}

// A peer that never reads: besides the output cap (RUSTSEC-2020-0043
// above), the close timer bounds the teardown of a server whose last Close
// frame cannot be written.
#[test]
fn a_peer_that_never_reads_is_ended_by_the_close_timeout() {
    let mut server = open_server(no_deflate());
    server.handle_timeout(Instant::ZERO);
    let (events, _) = exchange(&mut server, &[]);
    assert!(events.is_empty());
    server.send(vec![0u8; 1 << 20]).unwrap();
    let (events, _) = {
        let events = feed_all(&mut server, &cframe(true, 0x8, &close_payload(1000, b"")));
        (events, ())
    };
    assert_eq!(summaries(&events), ["closed:1000:true:"]);
    assert!(server.output_len() > 1 << 20, "nothing was written");
    assert!(!server.is_finished() && !server.wants_shutdown());
    server.handle_timeout(Instant::from_millis(1));
    server.handle_timeout(Instant::from_millis(5_001));
    assert!(server.is_finished());
    assert_eq!(server.output_len(), 0, "the output is dropped");
}

// ------------------------------------------------------ EOF everywhere

/// A server's whole session, and the events of running it to the end.
fn session() -> Vec<u8> {
    let mut input = REQUEST.as_bytes().to_vec();
    input.extend(cframe(true, 0x1, "héllo".as_bytes()));
    input.extend(cframe(false, 0x2, &[1; 130]));
    input.extend(cframe(true, 0x9, b"ping"));
    input.extend(cframe(true, 0x0, &[2; 300]));
    input.extend(cframe(true, 0xA, b""));
    input.extend(cframe(true, 0x8, &close_payload(1000, b"done")));
    input
}

/// Runs a server over `input` then EOF; returns the event summaries.
fn run_to_eof(input: &[u8], config: &Config) -> Vec<String> {
    let mut server = Connection::server(config.clone());
    let mut events = Vec::new();
    let mut rest = input;
    loop {
        let n = server.feed(rest);
        rest = &rest[n..];
        let mut got = false;
        while let Some(e) = server.poll_event() {
            got = true;
            if matches!(e, Event::Request(_)) {
                server.accept(Accept::new()).unwrap();
            }
            events.push(e);
        }
        take_output(&mut server);
        if rest.is_empty() {
            break;
        }
        assert!(n > 0 || got);
    }
    server.feed_eof();
    events.extend(drain(&mut server));
    take_output(&mut server);
    assert!(
        server.is_finished(),
        "not finished after EOF at {}",
        input.len()
    );
    summaries(&events)
}

// EOF at every byte position of a session: exactly one Closed, always
// last; the events before it are those of the whole session up to that
// point; 1006 unless the Close frame had arrived whole.
#[test]
fn eof_at_every_byte_position() {
    let input = session();
    for delivery in [Delivery::Messages, Delivery::Chunks] {
        let config = no_deflate().delivery(delivery);
        let full = run_to_eof(&input, &config);
        assert_eq!(full.last().unwrap(), "closed:1000:true:done");
        for k in 0..input.len() {
            let got = run_to_eof(&input[..k], &config);
            let (last, before) = got.split_last().unwrap();
            assert_eq!(
                got.iter().filter(|e| e.starts_with("closed")).count(),
                1,
                "{k}"
            );
            if k < REQUEST.len() {
                assert_eq!(got, ["error:Handshake(Eof)", "closed:1006:false:"], "{k}");
                continue;
            }
            assert_eq!(last, "closed:1006:false:", "{k}");
            if delivery == Delivery::Messages {
                assert_eq!(before, &full[..before.len()], "{k}");
            } else {
                // Chunks depend on where the input stopped; everything else
                // is the same events in the same order.
                let plain = |v: &[String]| -> Vec<String> {
                    v.iter()
                        .filter(|e| !e.starts_with("chunk"))
                        .cloned()
                        .collect()
                };
                let b = plain(before);
                assert_eq!(b, plain(&full)[..b.len()], "{k}");
            }
        }
    }
}

// The same for a client: EOF anywhere in the server's answer and frames.
#[test]
fn eof_at_every_byte_position_client() {
    let request = ClientRequest::new("ws://localhost/").unwrap();
    let make = || {
        let mut c = Connection::client_with_rng(no_deflate(), &request, test_rng(7)).unwrap();
        let req = String::from_utf8(take_output(&mut c)).unwrap();
        let key = req
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ").map(str::to_string))
            .unwrap();
        (c, key)
    };
    let (_, key) = make();
    let mut input = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        handshake::accept_key(key.as_bytes())
    )
    .into_bytes();
    let head = input.len();
    input.extend(frame(true, 0x1, b"hi", None));
    input.extend(frame(true, 0x9, b"", None));
    input.extend(frame(true, 0x8, &close_payload(1001, b""), None));
    for k in 0..=input.len() {
        let (mut c, _) = make();
        let mut events = feed_all(&mut c, &input[..k]);
        c.feed_eof();
        events.extend(drain(&mut c));
        take_output(&mut c);
        assert!(c.is_finished(), "{k}");
        let s = summaries(&events);
        assert_eq!(
            s.iter().filter(|e| e.starts_with("closed")).count(),
            1,
            "{k}"
        );
        if k < head {
            assert_eq!(s, ["error:Handshake(Eof)", "closed:1006:false:"], "{k}");
        } else if k == input.len() {
            assert_eq!(s.last().unwrap(), "closed:1001:true:");
        } else {
            assert_eq!(s.last().unwrap(), "closed:1006:false:", "{k}");
        }
    }
}
