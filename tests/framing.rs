//! Base framing protocol and masking (RFC 6455 §5.1–§5.3).
mod common;

use common::*;
use wsmachine::frame::{FrameError, FrameHeader, MAX_HEADER_LEN, OpCode, Status};
use wsmachine::*;

const SIZES: [usize; 8] = [0, 1, 125, 126, 127, 65535, 65536, 100_000];

/// A payload with a recognisable, non-repeating pattern.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

fn protocol(v: ProtocolViolation) -> Error {
    Error::Protocol(v)
}

/// Feeds `input` to an open server and checks it fails with `error` and
/// close `code`.
fn server_fails(input: &[u8], error: Error, code: u16) {
    let mut server = open_server(Config::default());
    let (events, output) = exchange(&mut server, input);
    assert_server_fails(&events, &output, &error, code);
    assert!(server.wants_shutdown());
    server.feed_eof();
    assert!(server.is_finished());
}

/// Feeds `input` to an open client and checks it fails with `error` and a
/// masked close `code`.
fn client_fails(input: &[u8], error: Error, code: u16) {
    let mut client = open_client(Config::default());
    let (events, output) = exchange(&mut client, input);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(error_of(&events), &error);
    let closed = closed_of(&events);
    assert!(!closed.clean);
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    let frames = parse_frames(&output);
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0].opcode, 0x8);
    assert!(frames[0].mask.is_some(), "client frames are masked");
    assert_eq!(frames[0].payload, code.to_be_bytes());
}

// ------------------------------------------------------- payload lengths

// §5.2: 7-bit, 16-bit and 64-bit payload lengths are all read.
#[test]
fn server_reads_every_length_form() {
    for len in SIZES {
        let payload = pattern(len);
        let mut server = open_server(Config::default());
        let (events, _) = exchange(&mut server, &cframe(true, 0x2, &payload));
        match &events[..] {
            [Event::Message(Message::Binary(b))] => assert_eq!(b[..], payload[..], "len {len}"),
            other => panic!("len {len}: {other:?}"),
        }
    }
}

// §5.2: the same for unmasked frames read by a client.
#[test]
fn client_reads_every_length_form() {
    for len in SIZES {
        let payload = pattern(len);
        let mut client = open_client(Config::default());
        let (events, _) = exchange(&mut client, &frame(true, 0x2, &payload, None));
        match &events[..] {
            [Event::Message(Message::Binary(b))] => assert_eq!(b[..], payload[..], "len {len}"),
            other => panic!("len {len}: {other:?}"),
        }
    }
}

// §5.2: "the minimal number of bytes MUST be used to encode the length".
#[test]
fn server_writes_the_minimal_length_form() {
    let cases: [(usize, &[u8]); 6] = [
        (0, &[0x82, 0x00]),
        (125, &[0x82, 125]),
        (126, &[0x82, 126, 0x00, 126]),
        (65535, &[0x82, 126, 0xFF, 0xFF]),
        (65536, &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        (100_000, &[0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x86, 0xA0]),
    ];
    for (len, header) in cases {
        let payload = pattern(len);
        let mut server = open_server(Config::default());
        server.send(payload.clone()).unwrap();
        let out = take_output(&mut server);
        assert_eq!(&out[..header.len()], header, "len {len}");
        assert_eq!(&out[header.len()..], &payload[..], "len {len}");
    }
}

// §5.2: a client uses the same length forms, with the MASK bit set.
#[test]
fn client_writes_the_minimal_length_form() {
    let cases: [(usize, &[u8]); 5] = [
        (0, &[0x82, 0x80]),
        (125, &[0x82, 0x80 | 125]),
        (126, &[0x82, 0x80 | 126, 0x00, 126]),
        (65535, &[0x82, 0x80 | 126, 0xFF, 0xFF]),
        (65536, &[0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0]),
    ];
    for (len, header) in cases {
        let payload = pattern(len);
        let mut client = open_client(Config::default());
        client.send(payload.clone()).unwrap();
        let out = take_output(&mut client);
        assert_eq!(&out[..header.len()], header, "len {len}");
        assert_eq!(out.len(), header.len() + 4 + len);
        let frames = parse_frames(&out);
        assert_eq!(frames[0].payload, payload, "len {len}");
    }
}

// §5.2: "the most significant bit MUST be 0" in a 64-bit length.
#[test]
fn length_with_the_top_bit_set_is_a_protocol_error() {
    let mut header = vec![0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1];
    header.extend_from_slice(&[1, 2, 3, 4]);
    server_fails(
        &header,
        protocol(ProtocolViolation::Frame(FrameError::LengthOverflow)),
        1002,
    );
    // Every length with the top bit set, not just one.
    server_fails(
        &[0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        protocol(ProtocolViolation::Frame(FrameError::LengthOverflow)),
        1002,
    );
    client_fails(
        &[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0],
        protocol(ProtocolViolation::Frame(FrameError::LengthOverflow)),
        1002,
    );
}

// §5.2: the overflow is caught from the length bytes alone, before the
// masking key or any payload.
#[test]
fn length_overflow_is_caught_from_the_header_alone() {
    let mut server = open_server(Config::default());
    let (events, _) = exchange(&mut server, &[0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        error_of(&events),
        &protocol(ProtocolViolation::Frame(FrameError::LengthOverflow))
    );
}

// ---------------------------------------------------------- opcodes, RSV

// §5.2: "If an unknown opcode is received, the receiving endpoint MUST
// _Fail the WebSocket Connection_."
#[test]
fn reserved_opcodes_are_protocol_errors() {
    for op in [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        let error = protocol(ProtocolViolation::Frame(FrameError::ReservedOpcode(op)));
        server_fails(&cframe(true, op, b"x"), error.clone(), 1002);
        client_fails(&frame(true, op, b"", None), error, 1002);
    }
}

// §5.2: a reserved opcode is refused from the first byte.
#[test]
fn reserved_opcode_is_caught_from_the_first_byte() {
    let mut server = open_server(Config::default());
    let (events, output) = exchange(&mut server, &[0x83]);
    assert_server_fails(
        &events,
        &output,
        &protocol(ProtocolViolation::Frame(FrameError::ReservedOpcode(3))),
        1002,
    );
}

// §5.2: "MUST be 0 unless an extension is negotiated that defines meanings
// for non-zero values" — for every reserved bit and every frame type.
#[test]
fn reserved_bits_without_an_extension_are_protocol_errors() {
    for rsv in 1..=7u8 {
        for (op, payload) in [
            (0x1, &b"text"[..]),
            (0x2, &b"bin"[..]),
            (0x9, &b""[..]),
            (0xA, &b"p"[..]),
            (0x8, &[0x03, 0xE8][..]),
        ] {
            let error = protocol(ProtocolViolation::ReservedBits);
            server_fails(
                &frame_rsv(true, rsv, op, payload, Some([1, 2, 3, 4])),
                error.clone(),
                1002,
            );
            client_fails(&frame_rsv(true, rsv, op, payload, None), error, 1002);
        }
    }
}

// §5.2: RSV bits on a continuation frame are refused too.
#[test]
fn reserved_bits_on_a_continuation_are_protocol_errors() {
    let mut input = cframe(false, 0x1, b"a");
    input.extend(frame_rsv(true, 4, 0x0, b"b", Some([9, 9, 9, 9])));
    let mut server = open_server(Config::default());
    let (events, output) = exchange(&mut server, &input);
    assert_server_fails(
        &events,
        &output,
        &protocol(ProtocolViolation::ReservedBits),
        1002,
    );
}

// ------------------------------------------------------------- masking

// §5.1: "The server MUST close the connection upon receiving a frame that
// is not masked."
#[test]
fn server_rejects_unmasked_frames() {
    for (op, payload) in [
        (0x1, &b"hello"[..]),
        (0x2, &b""[..]),
        (0x9, &b"ping"[..]),
        (0x8, &[0x03, 0xE8][..]),
    ] {
        server_fails(
            &frame(true, op, payload, None),
            protocol(ProtocolViolation::UnmaskedFrame),
            1002,
        );
    }
}

// §5.1: "A client MUST close a connection if it detects a masked frame."
#[test]
fn client_rejects_masked_frames() {
    for (op, payload) in [
        (0x1, &b"hello"[..]),
        (0x2, &b""[..]),
        (0xA, &b"pong"[..]),
        (0x8, &[0x03, 0xE8][..]),
    ] {
        client_fails(
            &frame(true, op, payload, Some([1, 2, 3, 4])),
            protocol(ProtocolViolation::MaskedFrame),
            1002,
        );
    }
}

// §5.3: the server unmasks with the frame's key (including an all-zero key).
#[test]
fn server_unmasks_with_any_key() {
    for key in [[0, 0, 0, 0], [0xFF; 4], [0x37, 0xFA, 0x21, 0x3D]] {
        let mut server = open_server(Config::default());
        let input = frame(true, 0x1, b"Hello", Some(key));
        let (events, _) = exchange(&mut server, &input);
        assert_eq!(summaries(&events), ["text:Hello"], "key {key:?}");
    }
}

// §5.7: the masked "Hello" example of the RFC.
#[test]
fn rfc_masked_hello_example() {
    let mut server = open_server(Config::default());
    let input = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let (events, _) = exchange(&mut server, &input);
    assert_eq!(summaries(&events), ["text:Hello"]);
}

// §5.7: the unmasked examples of the RFC, read by a client.
#[test]
fn rfc_unmasked_examples() {
    let mut client = open_client(Config::default());
    let mut input = vec![0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    input.extend([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
    input.extend([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    let (events, output) = exchange(&mut client, &input);
    assert_eq!(
        summaries(&events),
        ["text:Hello", "text:Hello", "ping:[72, 101, 108, 108, 111]"]
    );
    let pong = parse_frames(&output);
    assert_eq!((pong[0].opcode, &pong[0].payload[..]), (0xA, &b"Hello"[..]));
}

// §5.7: a server writes the unmasked examples exactly.
#[test]
fn server_writes_the_rfc_examples() {
    let mut server = open_server(Config::default());
    server.send("Hello").unwrap();
    server.ping("Hello").unwrap();
    server.send(vec![0u8; 256]).unwrap();
    let out = take_output(&mut server);
    let mut expected = vec![0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    expected.extend([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    expected.extend([0x82, 0x7E, 0x01, 0x00]);
    expected.extend([0u8; 256]);
    assert_eq!(out, expected);
}

// §5.3: the key can start anywhere in a read; unmasking keeps its place.
#[test]
fn masked_payload_split_across_reads_is_unmasked_in_place() {
    let payload = pattern(1000);
    let input = frame(true, 0x2, &payload, Some([0xDE, 0xAD, 0xBE, 0xEF]));
    for size in [1, 2, 3, 5, 7, 13, 333] {
        let mut server = open_server(Config::default());
        let events = feed_in_pieces(&mut server, &input, size);
        match &events[..] {
            [Event::Message(Message::Binary(b))] => assert_eq!(b[..], payload[..], "size {size}"),
            other => panic!("size {size}: {other:?}"),
        }
    }
}

// §5.3: every frame a client sends is masked, control frames included.
#[test]
fn client_masks_every_frame() {
    let mut client = open_client(Config::default());
    client.send("text").unwrap();
    client.send(pattern(5000)).unwrap();
    client.send_fragment(MessageKind::Text, "a", false).unwrap();
    client.send_fragment(MessageKind::Text, "b", true).unwrap();
    client.ping(b"p").unwrap();
    client.pong(b"q").unwrap();
    client.close(CloseCode::NORMAL, "bye").unwrap();
    let out = take_output(&mut client);
    let frames = parse_frames(&out);
    assert_eq!(
        frames.iter().map(|f| f.opcode).collect::<Vec<_>>(),
        [0x1, 0x2, 0x1, 0x0, 0x9, 0xA, 0x8]
    );
    assert!(frames.iter().all(|f| f.mask.is_some()), "{frames:?}");
    assert_eq!(frames[0].payload, b"text");
    assert_eq!(frames[1].payload, pattern(5000));
    assert_eq!(frames[6].payload, close_payload(1000, b"bye"));
}

// §5.3: "The masking key MUST be derived from a strong source of entropy":
// the key changes from frame to frame and the payload is really masked.
#[test]
fn client_mask_keys_differ_from_frame_to_frame() {
    let mut client = open_client(Config::default());
    for i in 0..64u8 {
        client.send(vec![i; 16]).unwrap();
        client.ping([i]).unwrap();
    }
    let out = take_output(&mut client);
    let frames = parse_frames(&out);
    assert_eq!(frames.len(), 128);
    let mut keys: Vec<[u8; 4]> = frames.iter().map(|f| f.mask.unwrap()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 128, "mask keys repeat");
    // The masked bytes on the wire are not the plain payload.
    let first_payload_on_wire = &out[6..22];
    assert_ne!(first_payload_on_wire, &[0u8; 16][..]);
}

// §5.3: a client with an OS-seeded generator masks with varying keys too.
#[test]
fn os_seeded_client_mask_keys_differ() {
    let req = ClientRequest::new("ws://h/").unwrap();
    let mut client = Connection::client(Config::default(), &req).unwrap();
    let request = String::from_utf8(take_output(&mut client)).unwrap();
    let key = request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        handshake::accept_key(key.as_bytes())
    );
    let (events, _) = exchange(&mut client, answer.as_bytes());
    assert!(matches!(&events[..], [Event::Open(_)]));
    for _ in 0..16 {
        client.send("x").unwrap();
    }
    let frames = parse_frames(&take_output(&mut client));
    let mut keys: Vec<[u8; 4]> = frames.iter().map(|f| f.mask.unwrap()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 16);
}

// §5.1: "A server MUST NOT mask any frames that it sends to the client."
#[test]
fn server_never_masks() {
    let mut server = open_server(Config::default());
    server.send("text").unwrap();
    server.send(pattern(10_000)).unwrap();
    server.send(Bytes::from(pattern(70_000))).unwrap();
    server
        .send_fragment(MessageKind::Binary, pattern(5000), false)
        .unwrap();
    server.send_fragment(MessageKind::Binary, "", true).unwrap();
    server.ping(b"p").unwrap();
    server.pong(b"q").unwrap();
    // An automatic pong, too.
    server.feed(&cframe(true, 0x9, b"auto"));
    let _ = drain(&mut server);
    server.close(CloseCode::GOING_AWAY, "").unwrap();
    let frames = parse_frames(&take_output(&mut server));
    assert_eq!(frames.len(), 9);
    assert!(frames.iter().all(|f| f.mask.is_none()), "{frames:?}");
    assert_eq!(frames[2].payload, pattern(70_000));
    assert_eq!(frames[7].payload, b"auto");
}

// §5.2: a server's output is unmasked; a client reading it sees the data.
#[test]
fn large_server_payloads_arrive_intact_at_a_client() {
    let mut server = open_server(Config::default());
    let mut client = open_client(Config::default());
    let big = pattern(200_000);
    server.send(big.clone()).unwrap();
    server.send("after").unwrap();
    let events = feed_in_pieces(&mut client, &take_output(&mut server), 4096);
    match &events[..] {
        [
            Event::Message(Message::Binary(b)),
            Event::Message(Message::Text(t)),
        ] => {
            assert_eq!(b[..], big[..]);
            assert_eq!(t, "after");
        }
        other => panic!("{other:?}"),
    }
}

// §5.3: masking never touches the caller's buffer, shared or static.
#[test]
fn client_masking_leaves_the_callers_buffer_intact() {
    let mut client = open_client(Config::default());
    let shared = Bytes::from(pattern(10_000));
    let keep = shared.clone();
    client.send(shared).unwrap();
    client.send(Bytes::from_static(&[0x55; 5000])).unwrap();
    client.send(Utf8Bytes::from_static("static text")).unwrap();
    assert_eq!(keep[..], pattern(10_000)[..]);
    let frames = parse_frames(&take_output(&mut client));
    assert_eq!(frames[0].payload, pattern(10_000));
    assert_eq!(frames[1].payload, [0x55; 5000]);
    assert_eq!(frames[2].payload, b"static text");
}

// ------------------------------------------------------ stream handling

// §5.2: several frames in one read are all delivered, in order.
#[test]
fn many_frames_in_one_read() {
    let mut input = Vec::new();
    for i in 0..50u8 {
        input.extend(cframe(true, 0x2, &[i]));
    }
    let mut server = open_server(Config::default());
    let (events, _) = exchange(&mut server, &input);
    assert_eq!(events.len(), 50);
    for (i, e) in events.iter().enumerate() {
        assert!(matches!(e, Event::Message(Message::Binary(b)) if b[..] == [i as u8]));
    }
}

// Reading straight into the connection's buffer works like feed.
#[test]
fn read_buf_and_commit_read_work_like_feed() {
    let input = cframe(true, 0x1, b"zero copy");
    let mut server = open_server(Config::default());
    for piece in input.chunks(3) {
        let buf = server.read_buf();
        assert!(buf.len() >= 3);
        buf[..piece.len()].copy_from_slice(piece);
        server.commit_read(piece.len());
    }
    // Processed as it arrived; the message waits to be polled.
    assert_eq!(server.buffered_input(), 0);
    assert_eq!(summaries(&drain(&mut server)), ["text:zero copy"]);
    server.commit_read(0);
    assert!(drain(&mut server).is_empty());
}

// The output can be written as chunks (vectored) with the same bytes.
#[test]
fn output_chunks_hold_the_same_bytes() {
    let mut server = open_server(Config::default());
    server.send("small").unwrap();
    server.send(pattern(20_000)).unwrap();
    server.send("tail").unwrap();
    let joined: Vec<u8> = server.output_chunks().flatten().copied().collect();
    assert_eq!(joined.len(), server.output_len());
    let mut slices = [std::io::IoSlice::new(&[]); 8];
    let n = server.output_vectored(&mut slices);
    let vectored: Vec<u8> = slices[..n].iter().flat_map(|s| s.iter().copied()).collect();
    assert_eq!(vectored, joined);
    // Partial writes keep the order.
    server.consume_output(3);
    let rest: Vec<u8> = server.output_chunks().flatten().copied().collect();
    assert_eq!(rest, joined[3..]);
    let mut expected = frame(true, 0x1, b"small", None);
    expected.extend(frame(true, 0x2, &pattern(20_000), None));
    expected.extend(frame(true, 0x1, b"tail", None));
    assert_eq!(joined, expected);
}

// A header cut at every byte waits for the rest.
#[test]
fn partial_headers_wait_for_more_bytes() {
    let input = cframe(true, 0x2, &pattern(70_000));
    let header_len = 2 + 8 + 4;
    for cut in 0..header_len {
        let mut server = open_server(Config::default());
        let (events, _) = exchange(&mut server, &input[..cut]);
        assert!(events.is_empty(), "cut {cut}: {events:?}");
        let (events, _) = exchange(&mut server, &input[cut..]);
        assert_eq!(events.len(), 1, "cut {cut}");
    }
}

// §7.1.7: after a protocol error nothing more is read.
#[test]
fn bytes_after_a_protocol_error_are_ignored() {
    let mut input = frame(true, 0x1, b"unmasked", None);
    input.extend(cframe(true, 0x1, b"never seen"));
    let mut server = open_server(Config::default());
    let (events, _) = exchange(&mut server, &input);
    assert_eq!(events.len(), 2);
    let (events, output) = exchange(&mut server, &cframe(true, 0x1, b"nor this"));
    assert!(events.is_empty());
    assert!(output.is_empty());
    assert_eq!(server.buffered_input(), 0);
}

// ----------------------------------------------------- the header codec

// §5.2: encode and decode agree for every length form and flag.
#[test]
fn frame_header_roundtrips() {
    for len in [0u64, 125, 126, 65535, 65536, u64::MAX >> 1] {
        for mask in [None, Some([1, 2, 3, 4])] {
            let mut h = FrameHeader::new(false, OpCode::Continuation, len).with_rsv(2);
            if let Some(key) = mask {
                h = h.with_mask(key);
            }
            assert!(h.rsv2() && !h.rsv1() && !h.rsv3());
            assert_eq!(h.mask(), mask);
            let mut buf = [0u8; MAX_HEADER_LEN];
            let n = h.encode(&mut buf);
            assert_eq!(n, h.encoded_len());
            assert_eq!(FrameHeader::decode(&buf[..n]), Ok(Status::Complete((h, n))));
            assert_eq!(FrameHeader::decode(&buf[..n - 1]), Ok(Status::Partial));
        }
    }
}

// §5.5: control frame rules are checked by the header codec.
#[test]
fn frame_header_decode_errors() {
    assert_eq!(
        FrameHeader::decode(&[0x8F]),
        Err(FrameError::ReservedOpcode(0xF))
    );
    assert_eq!(
        FrameHeader::decode(&[0x88, 126]),
        Err(FrameError::ControlFrameTooLong)
    );
    assert_eq!(
        FrameHeader::decode(&[0x0A, 0]),
        Err(FrameError::FragmentedControlFrame)
    );
    assert_eq!(FrameHeader::decode(&[]), Ok(Status::Partial));
    assert_eq!(FrameHeader::decode(&[0x81]), Ok(Status::Partial));
}

// The opcode values of §11.8.
#[test]
fn opcode_values() {
    for (v, op) in [
        (0x0, OpCode::Continuation),
        (0x1, OpCode::Text),
        (0x2, OpCode::Binary),
        (0x8, OpCode::Close),
        (0x9, OpCode::Ping),
        (0xA, OpCode::Pong),
    ] {
        assert_eq!(OpCode::from_u8(v), Some(op));
        assert_eq!(op.as_u8(), v);
        assert_eq!(op.is_control(), v >= 8);
    }
    for v in [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        assert_eq!(OpCode::from_u8(v), None);
    }
}

// Autobahn 3.2: a message, then a frame with a reserved bit, in one read.
// The next frame is only looked at once the application handled the
// message, so its echo goes out before the Close the violation causes.
#[test]
fn an_answer_to_a_message_goes_out_before_a_later_failure() {
    let mut server = open_server(Config::default());
    let mut input = cframe(true, 0x1, b"Hello");
    input.extend(frame_rsv(true, 2, 0x1, b"bad", Some([1, 2, 3, 4])));
    assert_eq!(server.feed(&input), input.len());
    match server.poll_event() {
        Some(Event::Message(m)) => server.send(m).unwrap(),
        other => panic!("{other:?}"),
    }
    let events = drain(&mut server);
    assert_eq!(
        error_of(&events),
        &Error::Protocol(ProtocolViolation::ReservedBits)
    );
    let frames = parse_frames(&take_output(&mut server));
    let ops: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
    assert_eq!(ops, [0x1, 0x8]);
}

/// Feeds `input` with `feed_unbuffered`, polling whenever it takes no more,
/// checking that nothing is ever copied into the input buffer.
fn feed_all_unbuffered(conn: &mut Connection, mut input: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    while !input.is_empty() {
        let n = conn.feed_unbuffered(input);
        assert_eq!(conn.buffered_input(), 0, "nothing is buffered");
        input = &input[n..];
        let before = events.len();
        events.extend(drain(conn));
        assert!(n > 0 || events.len() > before, "no progress");
    }
    events
}

#[test]
fn feed_unbuffered_takes_frames_up_to_each_event_and_buffers_nothing() {
    let mut input = Vec::new();
    for len in [0, 1, 20, 125, 126, 1000, 70_000] {
        input.extend(cframe(true, 2, &pattern(len)));
        input.extend(cframe(false, 1, b"frag"));
        input.extend(cframe(true, 9, b"ping"));
        input.extend(cframe(true, 0, b"ment"));
    }
    let mut expected_server = open_server(Config::default());
    let expected: Vec<String> = feed_all(&mut expected_server, &input)
        .iter()
        .map(summary)
        .collect();
    for piece in [1, 7, 100, 4096, 65_536, input.len()] {
        let mut server = open_server(Config::default());
        let mut got = Vec::new();
        for part in input.chunks(piece) {
            got.extend(feed_all_unbuffered(&mut server, part));
        }
        let got: Vec<String> = got.iter().map(summary).collect();
        assert_eq!(got, expected, "pieces of {piece}");
    }
    // With an event waiting it takes nothing.
    let mut server = open_server(Config::default());
    let two = [cframe(true, 1, b"a"), cframe(true, 1, b"b")].concat();
    assert_eq!(server.feed_unbuffered(&two), two.len() / 2);
    assert_eq!(server.feed_unbuffered(&two[two.len() / 2..]), 0);
    assert_eq!(server.buffered_input(), 0);
}

#[test]
fn feed_unbuffered_buffers_the_handshake_like_feed() {
    let mut server = Connection::server(Config::default());
    let input = [REQUEST.as_bytes(), &cframe(true, 1, b"early")].concat();
    assert_eq!(server.feed_unbuffered(&input), input.len());
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new()).unwrap();
    let events: Vec<String> = drain(&mut server).iter().map(summary).collect();
    assert_eq!(events[1..], ["text:early".to_string()]);
}

#[test]
fn feed_copies_the_frame_in_progress_while_an_event_waits_and_handles_it_later() {
    let big = pattern(60_000);
    let input = [
        cframe(true, 2, b"first"),
        cframe(true, 2, &big),
        cframe(true, 9, b"p"),
    ]
    .concat();
    let mut server = open_server(Config::default());
    assert_eq!(server.feed(&input), input.len());
    // The large frame went straight into its message: only the ping that
    // follows it waits in the input buffer, and it is not answered yet.
    assert_eq!(server.buffered_input(), 7);
    assert!(
        take_output(&mut server).is_empty(),
        "the ping waits its turn"
    );
    assert!(matches!(server.poll_event(), Some(Event::Message(m)) if m.as_bytes() == b"first"));
    assert!(matches!(server.poll_event(), Some(Event::Message(m)) if m.as_bytes() == &big[..]));
    assert!(take_output(&mut server).is_empty());
    assert!(matches!(server.poll_event(), Some(Event::Ping(_))));
    let frames = parse_frames(&take_output(&mut server));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, 0xA);
}

#[test]
fn what_feed_processes_ahead_counts_against_the_input_cap() {
    let config = Config::default().limits(Limits::default().max_input_buffer(1000));
    let first = cframe(true, 2, b"first");
    let input = [first.clone(), cframe(true, 2, &pattern(5000))].concat();
    let mut server = open_server(config);
    assert_eq!(server.feed(&input), first.len() + 1000);
    assert!(!server.wants_read());
    assert_eq!(server.input_room(), 0);
    let rest = &input[first.len() + 1000..];
    assert!(matches!(server.poll_event(), Some(Event::Message(_))));
    assert!(server.wants_read());
    assert_eq!(server.feed(rest), rest.len());
    assert!(matches!(server.poll_event(), Some(Event::Message(m)) if m.len() == 5000));
}
