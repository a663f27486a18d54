//! permessage-deflate (RFC 7692): negotiation, compression in every mode,
//! the RFC's own byte vectors, and failures.
#![cfg(feature = "deflate")]

mod common;

use common::*;
use wsmachine::deflate::{DeflateConfig, Memory};
use wsmachine::{
    Accept, ClientRequest, CloseCode, Config, Connection, Delivery, Error, Event, HandshakeError,
    Limit, Limits, Message, MessageKind, ProtocolViolation,
};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn request_with(extensions: &[&str]) -> String {
    let mut r = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
    );
    for e in extensions {
        r.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    r + "\r\n"
}

/// A server fed a request with these offers; returns it and the answer's
/// `Sec-WebSocket-Extensions` value.
fn server_with(config: Config, offers: &[&str]) -> (Connection, Option<String>) {
    let mut server = Connection::server(config);
    server.feed(request_with(offers).as_bytes());
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new()).unwrap();
    let Some(Event::Open(open)) = server.poll_event() else {
        panic!("expected open");
    };
    let response = String::from_utf8(take_output(&mut server)).unwrap();
    let header = response
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Extensions: "))
        .map(String::from);
    assert_eq!(header, open.extensions);
    (server, header)
}

fn answer(offers: &[&str]) -> Option<String> {
    server_with(Config::new(), offers).1
}

// --- Negotiation (RFC 7692 §5, §7.1) ---------------------------------------

#[test]
fn server_accepts_the_default_browser_offer() {
    // The default memory budget limits both windows to 12 bits.
    assert_eq!(
        answer(&["permessage-deflate; client_max_window_bits"]).as_deref(),
        Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12")
    );
    let large = Config::new().deflate(Some(DeflateConfig::new().memory(Memory::Large)));
    assert_eq!(
        server_with(large, &["permessage-deflate; client_max_window_bits"])
            .1
            .as_deref(),
        Some("permessage-deflate")
    );
}

#[test]
fn a_client_that_cannot_be_limited_is_asked_to_keep_no_context() {
    assert_eq!(
        answer(&["permessage-deflate"]).as_deref(),
        Some("permessage-deflate; client_no_context_takeover; server_max_window_bits=12")
    );
}

#[test]
fn server_honours_requested_parameters() {
    assert_eq!(
        answer(&["permessage-deflate; server_no_context_takeover; server_max_window_bits=9"])
            .as_deref(),
        Some(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9"
        )
    );
}

#[test]
fn server_declines_invalid_offers() {
    for offer in [
        "permessage-deflate; unknown_param",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_no_context_takeover=yes",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "x-other-extension",
    ] {
        assert_eq!(answer(&[offer]), None, "{offer}");
    }
}

#[test]
fn server_picks_the_first_acceptable_offer_across_headers() {
    assert_eq!(
        answer(&[
            "permessage-deflate; bogus",
            "permessage-deflate; server_max_window_bits=11; client_max_window_bits, permessage-deflate",
        ])
        .as_deref(),
        Some("permessage-deflate; server_max_window_bits=11; client_max_window_bits=12")
    );
}

#[test]
fn server_limits_windows_to_save_memory() {
    let config = Config::new().deflate(Some(
        DeflateConfig::new()
            .server_max_window_bits(10)
            .client_max_window_bits(11)
            .client_no_context_takeover(true),
    ));
    let (_, header) = server_with(
        config.clone(),
        &["permessage-deflate; client_max_window_bits"],
    );
    assert_eq!(
        header.as_deref(),
        Some(
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11"
        )
    );
    // Without client_max_window_bits in the offer the client cannot be
    // limited: accepted, client window stays 15.
    let (_, header) = server_with(config, &["permessage-deflate"]);
    assert_eq!(
        header.as_deref(),
        Some("permessage-deflate; client_no_context_takeover; server_max_window_bits=10")
    );
}

#[test]
fn compression_can_be_refused_per_connection_or_by_config() {
    let mut server = Connection::server(Config::new());
    server.feed(request_with(&["permessage-deflate"]).as_bytes());
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new().without_compression()).unwrap();
    assert_eq!(server.extensions(), None);
    assert_eq!(
        server_with(Config::new().deflate(None), &["permessage-deflate"]).1,
        None
    );
}

fn client_with(config: Config, answer: Option<&str>) -> (Connection, Vec<Event>) {
    let request = ClientRequest::new("ws://a/").unwrap();
    let mut client = Connection::client_with_rng(config, &request, test_rng(3)).unwrap();
    let req = String::from_utf8(take_output(&mut client)).unwrap();
    let key = req
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let accept = wsmachine::handshake::accept_key(key.as_bytes());
    let mut resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
    );
    if let Some(a) = answer {
        resp.push_str(&format!("Sec-WebSocket-Extensions: {a}\r\n"));
    }
    client.feed((resp + "\r\n").as_bytes());
    let events = drain(&mut client);
    (client, events)
}

#[test]
fn client_offers_what_its_config_says() {
    let request = ClientRequest::new("ws://a/").unwrap();
    let offer = |c: Config| {
        let mut client = Connection::client_with_rng(c, &request, test_rng(1)).unwrap();
        String::from_utf8(take_output(&mut client))
            .unwrap()
            .lines()
            .find_map(|l| {
                l.strip_prefix("Sec-WebSocket-Extensions: ")
                    .map(String::from)
            })
    };
    assert_eq!(
        offer(Config::new()).as_deref(),
        Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12")
    );
    assert_eq!(
        offer(Config::new().deflate(Some(DeflateConfig::new().memory(Memory::Large)))).as_deref(),
        Some("permessage-deflate; client_max_window_bits")
    );
    assert_eq!(
        offer(
            Config::new().deflate(Some(
                DeflateConfig::new()
                    .server_max_window_bits(10)
                    .server_no_context_takeover(true)
                    .client_max_window_bits(12)
            ))
        )
        .as_deref(),
        Some(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"
        )
    );
    assert_eq!(offer(Config::new().deflate(None)), None);
}

#[test]
fn client_accepts_valid_answers() {
    for a in [
        "permessage-deflate",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
    ] {
        let large = Config::new().deflate(Some(DeflateConfig::new().memory(Memory::Large)));
        let (client, events) = client_with(large, Some(a));
        assert!(matches!(events[0], Event::Open(_)), "{a}: {events:?}");
        assert_eq!(client.extensions(), Some(a));
    }
}

#[test]
fn client_fails_on_invalid_or_unoffered_answers() {
    let strict = Config::new().deflate(Some(
        DeflateConfig::new()
            .server_max_window_bits(10)
            .server_no_context_takeover(true),
    ));
    let cases = [
        (Config::new(), "x-unknown"),
        (Config::new(), "permessage-deflate; unknown"),
        (Config::new(), "permessage-deflate; client_max_window_bits"),
        (
            Config::new(),
            "permessage-deflate; server_max_window_bits=20",
        ),
        (Config::new(), "permessage-deflate, permessage-deflate"),
        (Config::new().deflate(None), "permessage-deflate"),
        // Asked for server_no_context_takeover and a 10-bit window.
        (
            strict.clone(),
            "permessage-deflate; server_max_window_bits=10",
        ),
        (
            strict.clone(),
            "permessage-deflate; server_no_context_takeover",
        ),
        (
            strict,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
        ),
    ];
    for (config, a) in cases {
        let (_, events) = client_with(config, Some(a));
        assert!(
            matches!(
                events[0],
                Event::Error(Error::Handshake(HandshakeError::UnexpectedExtension))
            ),
            "{a}: {events:?}"
        );
        assert!(matches!(events[1], Event::Closed(_)));
    }
}

// --- Round trips (RFC 7692 §7.2) ----------------------------------------------

fn json_messages(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"type":"trade","seq":{i},"symbol":"{}","price":{}.{:02},"qty":{},"side":"{}","venue":"XNAS","tags":["a","b","ü€"]}}"#,
                ["AAPL", "MSFT", "GOOG", "AMZN"][i % 4],
                100 + (i * 37) % 50,
                (i * 13) % 100,
                (i * 7) % 1000,
                if i % 3 == 0 { "buy" } else { "sell" }
            )
        })
        .collect()
}

fn roundtrip(client: Config, server: Config) {
    let mut p = Pair::with_configs(client, server);
    assert!(p.client.extensions().is_some(), "deflate must be agreed");
    let texts = json_messages(40);
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    for t in &texts {
        p.client.send(t.as_str()).unwrap();
        p.server.send(t.as_str()).unwrap();
    }
    p.client.send(big.clone()).unwrap();
    p.server.send(big.clone()).unwrap();
    p.client.send("").unwrap();
    p.server.send(Vec::<u8>::new()).unwrap();
    let (ce, se) = p.run();
    for events in [&ce, &se] {
        let got: Vec<Vec<u8>> = events
            .iter()
            .map(|e| match e {
                Event::Message(m) => m.as_bytes().to_vec(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got.len(), texts.len() + 2);
        for (g, t) in got.iter().zip(&texts) {
            assert_eq!(g, t.as_bytes());
        }
        assert_eq!(got[texts.len()], big);
        assert!(got[texts.len() + 1].is_empty());
    }
}

#[test]
fn roundtrip_with_context_takeover() {
    roundtrip(Config::new(), Config::new());
}

#[test]
fn roundtrip_without_context_takeover_either_way() {
    let c = DeflateConfig::new()
        .server_no_context_takeover(true)
        .client_no_context_takeover(true);
    roundtrip(Config::new().deflate(Some(c)), Config::new());
    roundtrip(Config::new(), Config::new().deflate(Some(c)));
}

#[test]
fn roundtrip_at_every_window_size() {
    for bits in 8..=15 {
        let c = DeflateConfig::new()
            .server_max_window_bits(bits)
            .client_max_window_bits(bits);
        roundtrip(
            Config::new().deflate(Some(c)),
            Config::new().deflate(Some(c)),
        );
    }
}

#[test]
fn roundtrip_at_every_level() {
    for level in [0, 1, 6, 9] {
        let c = DeflateConfig::new().level(level);
        roundtrip(
            Config::new().deflate(Some(c)),
            Config::new().deflate(Some(c)),
        );
    }
}

#[test]
fn compressed_json_stream_is_much_smaller() {
    let mut p = Pair::new();
    let texts = json_messages(200);
    let raw: usize = texts.iter().map(String::len).sum();
    let mut wire = 0;
    for t in &texts {
        p.server.send(t.as_str()).unwrap();
        wire += take_output(&mut p.server).len();
    }
    // Context takeover makes a stream of similar JSON messages compress
    // far better than each message alone.
    assert!(wire * 4 < raw, "wire {wire} bytes for {raw} bytes of JSON");
}

#[test]
fn fragmented_sends_are_compressed_and_reassembled() {
    let mut p = Pair::new();
    p.client
        .send_fragment(MessageKind::Text, "Hello, ", false)
        .unwrap();
    p.client
        .send_fragment(MessageKind::Text, "compressed ", false)
        .unwrap();
    p.client
        .send_fragment(MessageKind::Text, "world", true)
        .unwrap();
    let (_, se) = p.run();
    assert_eq!(summaries(&se), ["text:Hello, compressed world"]);
}

#[test]
fn small_and_marked_messages_go_out_uncompressed() {
    let mut p = Pair::new();
    p.server.send("tiny").unwrap();
    let wire = take_output(&mut p.server);
    assert_eq!(wire[0], 0x81, "no RSV1 under min_size");
    p.server.send_uncompressed("x".repeat(1000)).unwrap();
    let wire = take_output(&mut p.server);
    assert_eq!(wire[0], 0x81, "no RSV1 when marked");
    p.server.send("x".repeat(1000)).unwrap();
    let wire = take_output(&mut p.server);
    assert_eq!(wire[0], 0xC1, "RSV1 on a compressed message");
}

#[test]
fn chunk_delivery_inflates_in_bounded_pieces() {
    let server = Config::new().delivery(Delivery::Chunks);
    let mut p = Pair::with_configs(Config::new(), server);
    let text = "κόσμε ".repeat(100_000);
    p.client.send(text.as_str()).unwrap();
    let (_, se) = p.run();
    let mut got = Vec::new();
    for e in &se {
        let Event::Chunk(c) = e else { panic!("{e:?}") };
        assert!(c.data.len() <= 64 * 1024 + 3);
        assert!(c.text().is_some(), "every text chunk is UTF-8 on its own");
        got.extend_from_slice(&c.data);
    }
    assert!(se.len() > 5);
    assert_eq!(got, text.as_bytes());
}

// --- RFC 7692 §7.2.3 vectors ----------------------------------------------------

fn deflate_server() -> Connection {
    server_with(
        Config::new(),
        &["permessage-deflate; client_max_window_bits"],
    )
    .0
}

fn deflate_server_no_takeover() -> Connection {
    server_with(
        Config::new(),
        &["permessage-deflate; client_no_context_takeover"],
    )
    .0
}

/// Feeds unmasked-then-masked frames built from the RFC's server-to-client
/// examples (the payload bytes are the same either way).
fn feed_rfc(server: &mut Connection, frames: &[(u8, &[u8])]) -> Vec<String> {
    let mut wire = Vec::new();
    for (b0, payload) in frames {
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0x7;
        wire.extend(frame_rsv(fin, rsv, b0 & 0x0F, payload, Some([9, 8, 7, 6])));
    }
    feed_in_pieces(server, &wire, 1)
        .iter()
        .map(summary)
        .collect()
}

#[test]
fn rfc7692_7_2_3_1_a_message_compressed_in_one_and_two_frames() {
    let mut s = deflate_server_no_takeover();
    assert_eq!(
        feed_rfc(
            &mut s,
            &[(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])]
        ),
        ["text:Hello"]
    );
    assert_eq!(
        feed_rfc(
            &mut s,
            &[
                (0x41, &[0xf2, 0x48, 0xcd]),
                (0x80, &[0xc9, 0xc9, 0x07, 0x00])
            ]
        ),
        ["text:Hello"]
    );
}

#[test]
fn rfc7692_7_2_3_2_sharing_the_sliding_window() {
    let mut s = deflate_server();
    assert_eq!(
        feed_rfc(
            &mut s,
            &[
                (0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
                (0xc1, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
            ]
        ),
        ["text:Hello", "text:Hello"]
    );
}

#[test]
fn rfc7692_7_2_3_3_to_5_stored_bfinal_and_two_block_messages() {
    let mut s = deflate_server();
    assert_eq!(
        feed_rfc(
            &mut s,
            &[(
                0xc1,
                &[
                    0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00
                ]
            )]
        ),
        ["text:Hello"]
    );
    assert_eq!(
        feed_rfc(
            &mut s,
            &[(0xc1, &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00])]
        ),
        ["text:Hello"]
    );
    assert_eq!(
        feed_rfc(
            &mut s,
            &[(
                0xc1,
                &[
                    0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00
                ]
            )]
        ),
        ["text:Hello"]
    );
    // After a BFINAL block the next message starts a fresh stream.
    assert_eq!(
        feed_rfc(
            &mut s,
            &[(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])]
        ),
        ["text:Hello"]
    );
}

#[test]
fn rfc7692_7_2_3_6_empty_message() {
    let mut s = deflate_server();
    assert_eq!(feed_rfc(&mut s, &[(0xc1, &[0x00])]), ["text:"]);
}

// --- Failures --------------------------------------------------------------------

/// The connection reported an error and closed (no close frame came back,
/// so the connection close code is 1006).
fn failed(events: &[String]) {
    assert!(events.iter().any(|e| e.starts_with("error:")), "{events:?}");
    assert!(
        events.last().is_some_and(|e| e.starts_with("closed:1006")),
        "{events:?}"
    );
}

fn sent_close_code(conn: &mut Connection) -> u16 {
    let out = take_output(conn);
    assert_eq!(out[0], 0x88, "a close frame");
    u16::from_be_bytes([out[2], out[3]])
}

#[test]
fn rsv1_on_control_or_continuation_frames_is_a_protocol_error() {
    for frames in [
        vec![frame_rsv(true, 4, 0x9, b"", Some([1, 2, 3, 4]))],
        vec![
            frame_rsv(false, 4, 0x1, &[0xf2, 0x48], Some([1, 2, 3, 4])),
            frame_rsv(
                true,
                4,
                0x0,
                &[0xcd, 0xc9, 0xc9, 0x07, 0x00],
                Some([1, 2, 3, 4]),
            ),
        ],
    ] {
        let mut s = deflate_server();
        let events = summaries(&feed_in_pieces(&mut s, &frames.concat(), 1000));
        assert!(events[0].contains("Protocol(ReservedBits)"), "{events:?}");
        failed(&events);
        assert_eq!(sent_close_code(&mut s), 1002);
    }
    // Without the extension RSV1 is reserved.
    let mut plain = open_server(Config::new());
    let events = feed_in_pieces(
        &mut plain,
        &frame_rsv(
            true,
            4,
            0x1,
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            Some([1, 2, 3, 4]),
        ),
        100,
    );
    assert!(matches!(
        events[0],
        Event::Error(Error::Protocol(ProtocolViolation::ReservedBits))
    ));
}

#[test]
fn corrupt_compressed_data_fails_with_1007() {
    let mut s = deflate_server();
    let events = summaries(&feed_in_pieces(
        &mut s,
        &frame_rsv(
            true,
            4,
            0x2,
            &[0xff, 0xff, 0xff, 0xff, 0x00],
            Some([1, 2, 3, 4]),
        ),
        100,
    ));
    assert_eq!(events[0], "error:BadCompressedData");
    failed(&events);
    assert_eq!(sent_close_code(&mut s), 1007);
}

#[test]
fn invalid_utf8_inside_compressed_text_fails_with_1007() {
    // Compress invalid UTF-8 with a peer that believes it is binary.
    let mut p = Pair::new();
    p.client
        .send(
            vec![b'a'; 100]
                .into_iter()
                .chain([0xff])
                .collect::<Vec<u8>>(),
        )
        .unwrap();
    let mut wire = take_output(&mut p.client);
    wire[0] = (wire[0] & 0xF0) | 0x1; // relabel as text
    let events = summaries(&feed_in_pieces(&mut p.server, &wire, 10_000));
    assert_eq!(events[0], "error:InvalidUtf8");
}

#[test]
fn inflated_size_counts_against_the_message_limit() {
    let limits = Limits::new().max_message_size(10_000);
    for delivery in [Delivery::Messages, Delivery::Chunks] {
        let mut p = Pair::with_configs(
            Config::new(),
            Config::new().limits(limits).delivery(delivery),
        );
        // 1 MB of zeros compresses to about a kilobyte: small on the wire.
        p.client.send(vec![0u8; 1_000_000]).unwrap();
        let wire = take_output(&mut p.client);
        assert!(wire.len() < 5_000);
        p.server.feed(&wire);
        let events = drain(&mut p.server);
        let errors: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Error(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            errors,
            [Error::LimitExceeded(Limit::MessageSize)],
            "{delivery:?}"
        );
        assert_eq!(sent_close_code(&mut p.server), 1009);
        assert!(p.server.buffer_capacity() < 100_000);
    }
}

#[test]
fn close_code_constant_for_bad_data_is_documented() {
    assert_eq!(
        Error::BadCompressedData.close_code(),
        Some(CloseCode::INVALID_PAYLOAD)
    );
}

#[test]
fn messages_split_at_every_byte_give_the_same_result() {
    let mut p = Pair::new();
    let texts = json_messages(5);
    for t in &texts {
        p.client.send(t.as_str()).unwrap();
    }
    let wire = take_output(&mut p.client);
    let mut whole = None;
    for size in [1, 2, 3, 7, 64, wire.len()] {
        let mut server = deflate_server();
        // Re-run the same compressed bytes through a fresh server: the
        // client's stream shares its window from the first message on.
        let events = summaries(&feed_in_pieces(&mut server, &wire, size));
        let expected: Vec<String> = texts.iter().map(|t| format!("text:{t}")).collect();
        assert_eq!(events, expected, "pieces of {size}");
        if let Some(w) = &whole {
            assert_eq!(&events, w);
        }
        whole = Some(events);
    }
}

// A compressed message with an empty payload (RSV1, no bytes) is an empty
// message and leaves the inflater in step: feeding the sync-flush tail
// alone used to leave it in the middle of a stored block, and the next
// compressed message failed with 1007.
#[test]
fn an_empty_compressed_message_leaves_the_inflater_in_step() {
    let mut server = deflate_server();
    let mut input = frame_rsv(true, 4, 0x1, b"", Some([1, 2, 3, 4]));
    input.extend(frame_rsv(
        true,
        4,
        0x1,
        &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        Some([1, 2, 3, 4]),
    ));
    let events = feed_all(&mut server, &input);
    assert_eq!(summaries(&events), ["text:", "text:Hello"]);
}

// Our own empty compressed messages (and empty last fragments) are one
// 0x00 byte, which every inflater reads as an empty stored block.
#[test]
fn empty_messages_are_sent_as_an_empty_block() {
    let config = Config::new().deflate(Some(DeflateConfig::new().min_size(0)));
    let mut p = Pair::with_configs(config.clone(), config);
    p.client.send("").unwrap();
    p.client
        .send_fragment(MessageKind::Text, "abc", false)
        .unwrap();
    p.client.send_fragment(MessageKind::Text, "", true).unwrap();
    p.client.send("after").unwrap();
    let wire = {
        let mut w = Vec::new();
        while let Some(b) = p.client.poll_transmit() {
            w.extend_from_slice(&b);
            p.server.feed(&b);
        }
        w
    };
    let frames = parse_frames(&wire);
    assert_eq!((frames[0].rsv, &frames[0].payload[..]), (4, &[0x00][..]));
    assert_eq!(&frames[2].payload[..], &[0x00], "the empty last fragment");
    assert_eq!(
        summaries(&drain(&mut p.server)),
        ["text:", "text:abc", "text:after"]
    );
}

/// Incompressible bytes (xorshift).
fn noise(len: usize, mut x: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

// Found by the `connection` and `deflate` fuzz targets: a compressed frame
// can be larger than its payload (incompressible data), and room used to be
// checked for the payload only, so the queue could pass its cap. Room is
// now checked for the worst case, and what is queued is never more.
#[test]
fn compressed_sends_stay_within_the_output_cap() {
    let cap = 64 << 10;
    let config = Config::new().limits(Limits::new().max_output_buffer(cap));
    let mut p = Pair::with_configs(config.clone(), config);
    let noise = noise(cap, 0x2545_F491_4F6C_DD1D);
    for len in [cap - 20, cap - 14, cap / 2, 1000, 10] {
        while p.server.send(noise[..len].to_vec()).is_ok() {
            assert!(
                p.server.output_len() <= cap,
                "{len}: {} queued, cap {cap}",
                p.server.output_len()
            );
        }
        take_output(&mut p.server);
    }
}

// A fragment that continues a compressed message must be compressed too:
// it is refused (OutputFull, handed back) unless its worst case fits.
#[test]
fn compressed_fragments_stay_within_the_output_cap() {
    let cap = 16 << 10;
    let config = Config::new().limits(Limits::new().max_output_buffer(cap));
    let mut p = Pair::with_configs(config.clone(), config);
    let noise = noise(cap, 0x9E37_79B9_7F4A_7C15);
    let mut sent = noise[..4096].to_vec();
    p.server
        .send_fragment(MessageKind::Binary, sent.clone(), false)
        .unwrap();
    let mut refused = 0;
    for len in [cap - 4096, cap / 2, 4096, 1000, 1] {
        match p
            .server
            .send_fragment(MessageKind::Binary, noise[..len].to_vec(), false)
        {
            Ok(()) => sent.extend_from_slice(&noise[..len]),
            Err(e) => {
                assert_eq!(e.value.len(), len, "the fragment comes back");
                refused += 1;
            }
        }
        assert!(
            p.server.output_len() <= cap,
            "{len}: {}",
            p.server.output_len()
        );
    }
    assert!(refused > 0, "some fragment was refused");
    p.server
        .send_fragment(MessageKind::Binary, Vec::new(), true)
        .unwrap();
    let events = pump_events(&mut p.server, &mut p.client);
    match &events[..] {
        [Event::Message(Message::Binary(b))] => assert!(b[..] == sent[..], "intact"),
        other => panic!("{:?}", summaries(other)),
    }
}
