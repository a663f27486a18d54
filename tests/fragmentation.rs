//! Fragmentation (RFC 6455 §5.4): reassembly, ordering rules, sending
//! fragments.
mod common;

use common::*;
use wsmachine::*;

fn protocol(v: ProtocolViolation) -> Error {
    Error::Protocol(v)
}

/// Feeds `input` to an open server: (events, output).
fn serve(input: &[u8]) -> (Vec<Event>, Vec<u8>) {
    let mut server = open_server(Config::default());
    exchange(&mut server, input)
}

fn concat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

// ---------------------------------------------------------- reassembly

// §5.4: a text message in three fragments arrives as one message.
#[test]
fn fragmented_text_is_reassembled() {
    let (events, _) = serve(&concat(&[
        cframe(false, 0x1, b"Hel"),
        cframe(false, 0x0, b"lo, "),
        cframe(true, 0x0, b"world"),
    ]));
    assert_eq!(summaries(&events), ["text:Hello, world"]);
}

// §5.4: nothing is delivered before the final fragment.
#[test]
fn no_message_before_the_final_fragment() {
    let mut server = open_server(Config::default());
    let (events, _) = exchange(&mut server, &cframe(false, 0x2, &[1, 2]));
    assert!(events.is_empty());
    let (events, _) = exchange(&mut server, &cframe(false, 0x0, &[3]));
    assert!(events.is_empty());
    let (events, _) = exchange(&mut server, &cframe(true, 0x0, &[4]));
    assert_eq!(summaries(&events), ["binary:[1, 2, 3, 4]"]);
}

// §5.4: a binary message in many fragments, some of them large.
#[test]
fn fragmented_binary_is_reassembled() {
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for i in 0..100u32 {
        let len = if i % 10 == 0 { 70_000 } else { i as usize };
        let part: Vec<u8> = (0..len).map(|j| (j as u32 ^ i) as u8).collect();
        expected.extend_from_slice(&part);
        let op = if i == 0 { 0x2 } else { 0x0 };
        input.extend(cframe(i == 99, op, &part));
    }
    let (events, _) = serve(&input);
    match &events[..] {
        [Event::Message(Message::Binary(b))] => assert_eq!(b[..], expected[..]),
        other => panic!("{} events: {:?}", other.len(), summaries(other)),
    }
}

// §5.4: the message kind comes from the first fragment.
#[test]
fn message_kind_comes_from_the_first_fragment() {
    let (events, _) = serve(&concat(&[
        cframe(false, 0x2, b"ab"),
        cframe(true, 0x0, b"cd"),
        cframe(false, 0x1, b"ef"),
        cframe(true, 0x0, b"gh"),
    ]));
    assert_eq!(
        summaries(&events),
        ["binary:[97, 98, 99, 100]", "text:efgh"]
    );
}

// §5.4: "An endpoint MUST be capable of handling control frames in the
// middle of a fragmented message" — delivered (and a ping answered) at once.
#[test]
fn control_frames_between_fragments_are_handled_at_once() {
    let mut server = open_server(Config::default());
    let (events, output) = exchange(
        &mut server,
        &concat(&[
            cframe(false, 0x1, b"frag"),
            cframe(true, 0x9, b"ping-1"),
            cframe(false, 0x0, b"ment"),
            cframe(true, 0xA, b"pong-1"),
        ]),
    );
    assert_eq!(
        summaries(&events),
        [
            "ping:[112, 105, 110, 103, 45, 49]",
            "pong:[112, 111, 110, 103, 45, 49]"
        ]
    );
    assert_eq!(output, frame(true, 0xA, b"ping-1", None));
    let (events, _) = exchange(&mut server, &cframe(true, 0x0, b"ed"));
    assert_eq!(summaries(&events), ["text:fragmented"]);
}

// §5.4: control frames between every pair of fragments, fed byte by byte.
#[test]
fn control_frames_between_every_fragment_byte_by_byte() {
    let mut input = Vec::new();
    for (i, part) in ["a", "b", "c", "d"].iter().enumerate() {
        input.extend(cframe(
            i == 3,
            if i == 0 { 0x1 } else { 0x0 },
            part.as_bytes(),
        ));
        if i < 3 {
            input.extend(cframe(true, 0x9, &[i as u8]));
        }
    }
    let mut server = open_server(Config::default());
    let mut events = Vec::new();
    let mut output = Vec::new();
    for byte in input.chunks(1) {
        events.extend(feed_all(&mut server, byte));
        output.extend(take_output(&mut server));
    }
    assert_eq!(
        summaries(&events),
        ["ping:[0]", "ping:[1]", "ping:[2]", "text:abcd"]
    );
    let pongs = parse_frames(&output);
    assert_eq!(
        pongs.iter().map(|f| f.payload.clone()).collect::<Vec<_>>(),
        [vec![0], vec![1], vec![2]]
    );
}

// §5.4 / §5.5.1: a Close in the middle of a fragmented message ends the
// connection; the unfinished message is dropped.
#[test]
fn close_in_the_middle_of_a_fragmented_message() {
    let mut server = open_server(Config::default());
    let (events, output) = exchange(
        &mut server,
        &concat(&[
            cframe(false, 0x1, b"never"),
            cframe(true, 0x8, &close_payload(1000, b"")),
        ]),
    );
    assert_eq!(summaries(&events), ["closed:1000:true:"]);
    assert_eq!(output, server_close(1000));
}

// A message after a fragmented one starts afresh.
#[test]
fn messages_after_a_fragmented_one() {
    let (events, _) = serve(&concat(&[
        cframe(false, 0x1, b"one"),
        cframe(true, 0x0, b"!"),
        cframe(true, 0x1, b"two"),
        cframe(false, 0x2, &[3]),
        cframe(true, 0x0, &[]),
    ]));
    assert_eq!(summaries(&events), ["text:one!", "text:two", "binary:[3]"]);
}

// ------------------------------------------------------ ordering rules

// §5.4: a continuation frame with no message in progress.
#[test]
fn continuation_without_a_start_is_a_protocol_error() {
    for fin in [true, false] {
        let (events, output) = serve(&cframe(fin, 0x0, b"orphan"));
        assert_server_fails(
            &events,
            &output,
            &protocol(ProtocolViolation::UnexpectedContinuation),
            1002,
        );
    }
}

// §5.4: a continuation after a message that already ended.
#[test]
fn continuation_after_a_final_frame_is_a_protocol_error() {
    let (events, output) = serve(&concat(&[
        cframe(true, 0x1, b"done"),
        cframe(true, 0x0, b"more"),
    ]));
    assert_eq!(summaries(&events)[0], "text:done");
    assert_server_fails(
        &events[1..],
        &output,
        &protocol(ProtocolViolation::UnexpectedContinuation),
        1002,
    );
}

// §5.4: "the fragments of one message MUST NOT be interleaved between the
// fragments of another message".
#[test]
fn new_message_during_a_fragmented_one_is_a_protocol_error() {
    for (first, second) in [(0x1, 0x1), (0x1, 0x2), (0x2, 0x1), (0x2, 0x2)] {
        for fin in [true, false] {
            let (events, output) = serve(&concat(&[
                cframe(false, first, b"start"),
                cframe(fin, second, b"intruder"),
            ]));
            assert_server_fails(
                &events,
                &output,
                &protocol(ProtocolViolation::ExpectedContinuation),
                1002,
            );
        }
    }
}

// §5.4: the same rules on the client side.
#[test]
fn client_enforces_fragment_order() {
    let mut client = open_client(Config::default());
    let (events, output) = exchange(&mut client, &frame(true, 0x0, b"x", None));
    assert_eq!(
        error_of(&events),
        &protocol(ProtocolViolation::UnexpectedContinuation)
    );
    assert_eq!(parse_frames(&output)[0].payload, 1002u16.to_be_bytes());
    let mut client = open_client(Config::default());
    let mut input = frame(false, 0x2, b"x", None);
    input.extend(frame(true, 0x2, b"y", None));
    let (events, _) = exchange(&mut client, &input);
    assert_eq!(
        error_of(&events),
        &protocol(ProtocolViolation::ExpectedContinuation)
    );
}

// ------------------------------------------------------ empty fragments

// §5.4: fragments may be empty, first, middle or last.
#[test]
fn empty_fragments_are_allowed() {
    let (events, _) = serve(&concat(&[
        cframe(false, 0x1, b""),
        cframe(false, 0x0, b""),
        cframe(false, 0x0, b"abc"),
        cframe(false, 0x0, b""),
        cframe(true, 0x0, b""),
    ]));
    assert_eq!(summaries(&events), ["text:abc"]);
}

// §5.4: a message of empty fragments only is an empty message.
#[test]
fn message_of_only_empty_fragments() {
    let (events, _) = serve(&concat(&[
        cframe(false, 0x1, b""),
        cframe(false, 0x0, b""),
        cframe(true, 0x0, b""),
        cframe(false, 0x2, b""),
        cframe(true, 0x0, b""),
    ]));
    assert_eq!(summaries(&events), ["text:", "binary:[]"]);
}

// --------------------------------------------------------- sending side

// §5.4: the first fragment carries the opcode, the rest are continuations,
// only the last has FIN.
#[test]
fn send_fragment_writes_opcodes_and_fin() {
    let mut server = open_server(Config::default());
    server
        .send_fragment(MessageKind::Text, "Hel", false)
        .unwrap();
    server
        .send_fragment(MessageKind::Text, "lo", false)
        .unwrap();
    server.send_fragment(MessageKind::Text, "!", true).unwrap();
    assert_eq!(
        take_output(&mut server),
        concat(&[
            frame(false, 0x1, b"Hel", None),
            frame(false, 0x0, b"lo", None),
            frame(true, 0x0, b"!", None),
        ])
    );
    server
        .send_fragment(MessageKind::Binary, vec![1u8], false)
        .unwrap();
    server
        .send_fragment(MessageKind::Binary, vec![2u8], true)
        .unwrap();
    assert_eq!(
        take_output(&mut server),
        concat(&[frame(false, 0x2, &[1], None), frame(true, 0x0, &[2], None)])
    );
}

// A single fragment marked last is an ordinary unfragmented message.
#[test]
fn single_last_fragment_is_a_whole_message() {
    let mut server = open_server(Config::default());
    server
        .send_fragment(MessageKind::Text, "whole", true)
        .unwrap();
    assert_eq!(take_output(&mut server), frame(true, 0x1, b"whole", None));
}

// Later fragments must have their message's kind.
#[test]
fn later_fragments_keep_the_message_kind() {
    let mut server = open_server(Config::default());
    server
        .send_fragment(MessageKind::Text, "text", false)
        .unwrap();
    let pending = server.output_len();
    let refused = server
        .send_fragment(MessageKind::Binary, vec![0xffu8], true)
        .unwrap_err();
    assert_eq!(refused.error, UsageError::FragmentKind);
    assert_eq!(&refused.into_inner()[..], &[0xff]);
    assert_eq!(server.output_len(), pending, "nothing was queued");
    server.send_fragment(MessageKind::Text, "", true).unwrap();
    let frames = parse_frames(&take_output(&mut server));
    assert_eq!(
        frames.iter().map(|f| (f.fin, f.opcode)).collect::<Vec<_>>(),
        [(false, 0x1), (true, 0x0)]
    );
}

// §8.1: outgoing text is checked across fragments. A code point may span
// two fragments; invalid bytes, or a last fragment that ends inside a code
// point, are refused and queue nothing.
#[test]
fn sent_text_is_validated_across_fragments() {
    let mut client = open_client(Config::default());
    let mut server = open_server(Config::default());
    let euro = "€".as_bytes(); // e2 82 ac
    client
        .send_fragment(MessageKind::Text, euro[..1].to_vec(), false)
        .unwrap();
    client
        .send_fragment(MessageKind::Text, euro[1..2].to_vec(), false)
        .unwrap();
    let pending = client.output_len();
    for bad in [&[0xffu8][..], &[0x41]] {
        let e = client
            .send_fragment(MessageKind::Text, bad.to_vec(), false)
            .unwrap_err();
        assert_eq!(e.error, UsageError::InvalidUtf8);
    }
    // The continuation byte completes the code point, but a new lead byte
    // at the very end of the last fragment cannot be finished.
    let e = client
        .send_fragment(MessageKind::Text, vec![0xac, 0xe2], true)
        .unwrap_err();
    assert_eq!(e.error, UsageError::InvalidUtf8);
    assert_eq!(client.output_len(), pending);
    client
        .send_fragment(MessageKind::Text, euro[2..].to_vec(), true)
        .unwrap();
    pump(&mut client, &mut server);
    assert_eq!(summaries(&drain(&mut server)), ["text:€"]);
}

// §5.4: a new message cannot start before the fragmented one ends; nothing
// is queued by the refused call.
#[test]
fn send_during_a_fragmented_message_is_refused() {
    let mut server = open_server(Config::default());
    server
        .send_fragment(MessageKind::Text, "start", false)
        .unwrap();
    let pending = server.output_len();
    assert_eq!(
        server.send("intruder").map_err(|e| e.error),
        Err(UsageError::FragmentOrder)
    );
    assert_eq!(
        server.send(vec![1u8]).map_err(|e| e.error),
        Err(UsageError::FragmentOrder)
    );
    assert_eq!(server.output_len(), pending);
    server
        .send_fragment(MessageKind::Text, " end", true)
        .unwrap();
    server.send("next").unwrap();
    assert_eq!(
        take_output(&mut server),
        concat(&[
            frame(false, 0x1, b"start", None),
            frame(true, 0x0, b" end", None),
            frame(true, 0x1, b"next", None),
        ])
    );
}

// §5.4: control frames may be sent between fragments.
#[test]
fn control_frames_between_sent_fragments() {
    let mut server = open_server(Config::default());
    server.send_fragment(MessageKind::Text, "a", false).unwrap();
    server.ping(b"1").unwrap();
    server.pong(b"2").unwrap();
    server.send_fragment(MessageKind::Text, "b", true).unwrap();
    assert_eq!(
        take_output(&mut server),
        concat(&[
            frame(false, 0x1, b"a", None),
            frame(true, 0x9, b"1", None),
            frame(true, 0xA, b"2", None),
            frame(true, 0x0, b"b", None),
        ])
    );
}

// A fragmented message sent by a client is reassembled by a server.
#[test]
fn client_fragments_are_reassembled_by_a_server() {
    let mut client = open_client(Config::default());
    let mut server = open_server(Config::default());
    let big = vec![7u8; 100_000];
    client
        .send_fragment(MessageKind::Text, "κόσ", false)
        .unwrap();
    client.ping(b"mid").unwrap();
    client.send_fragment(MessageKind::Text, "με", true).unwrap();
    client
        .send_fragment(MessageKind::Binary, big.clone(), false)
        .unwrap();
    client
        .send_fragment(MessageKind::Binary, Vec::new(), false)
        .unwrap();
    client
        .send_fragment(MessageKind::Binary, vec![8u8], true)
        .unwrap();
    let events = pump_events(&mut client, &mut server);
    assert_eq!(
        summaries(&events)[..2],
        ["ping:[109, 105, 100]", "text:κόσμε"]
    );
    let mut expected = big;
    expected.push(8);
    assert!(matches!(&events[2], Event::Message(Message::Binary(b)) if b[..] == expected[..]));
    assert_eq!(events.len(), 3);
}

// §5.5.1: once closing, no fragment may be sent.
#[test]
fn send_fragment_after_close_is_refused() {
    let mut server = open_server(Config::default());
    server.send_fragment(MessageKind::Text, "a", false).unwrap();
    server.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(
        server
            .send_fragment(MessageKind::Text, "b", true)
            .map_err(|e| e.error),
        Err(UsageError::Closing)
    );
}
