//! Control frames: ping and pong (RFC 6455 §5.5, §5.5.2, §5.5.3).
mod common;

use common::*;
use wsmachine::frame::FrameError;
use wsmachine::*;

fn frame_error(e: FrameError) -> Error {
    Error::Protocol(ProtocolViolation::Frame(e))
}

// §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame
// in response ... [with] identical 'Application data'".
#[test]
fn server_answers_a_ping_with_an_identical_pong() {
    for payload in [&b""[..], b"x", b"hello", &[0xFF; 125][..]] {
        let mut server = open_server(Config::default());
        let (events, output) = exchange(&mut server, &cframe(true, 0x9, payload));
        assert_eq!(output, frame(true, 0xA, payload, None), "{payload:?}");
        match &events[..] {
            [Event::Ping(p)] => assert_eq!(p[..], payload[..]),
            other => panic!("{other:?}"),
        }
    }
}

// §5.5.2: a client answers too, with a masked pong.
#[test]
fn client_answers_a_ping_with_a_masked_pong() {
    let mut client = open_client(Config::default());
    let (events, output) = exchange(&mut client, &frame(true, 0x9, b"are you there", None));
    assert_eq!(summaries(&events).len(), 1);
    let frames = parse_frames(&output);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, 0xA);
    assert!(frames[0].fin);
    assert!(frames[0].mask.is_some());
    assert_eq!(frames[0].payload, b"are you there");
}

// §5.5.2: each ping gets its own pong, in order, while no more than 16
// wait to be written (Autobahn 2.10 checks this, though §5.5.3 would allow
// answering only the latest).
#[test]
fn every_ping_is_answered_in_order() {
    let mut input = Vec::new();
    for i in 0..16u8 {
        input.extend(cframe(true, 0x9, &[i, i]));
    }
    let mut server = open_server(Config::default());
    let (events, output) = exchange(&mut server, &input);
    assert_eq!(events.len(), 16);
    let pongs = parse_frames(&output);
    assert_eq!(
        pongs.iter().map(|f| f.payload.clone()).collect::<Vec<_>>(),
        (0..16u8).map(|i| vec![i, i]).collect::<Vec<_>>()
    );
}

// A ping fed byte by byte is answered once, when complete.
#[test]
fn ping_split_across_reads_is_answered_once() {
    let mut server = open_server(Config::default());
    let events = feed_in_pieces(&mut server, &cframe(true, 0x9, b"split"), 1);
    assert_eq!(summaries(&events), ["ping:[115, 112, 108, 105, 116]"]);
    assert_eq!(take_output(&mut server), frame(true, 0xA, b"split", None));
}

// Config::auto_pong(false): the application sees the ping and answers.
#[test]
fn without_auto_pong_the_application_answers() {
    let mut server = open_server(Config::new().auto_pong(false));
    let (events, output) = exchange(&mut server, &cframe(true, 0x9, b"mine"));
    assert!(output.is_empty(), "no automatic pong: {output:?}");
    let Some(Event::Ping(payload)) = events.first() else {
        panic!("{events:?}");
    };
    server.pong(payload).unwrap();
    assert_eq!(take_output(&mut server), frame(true, 0xA, b"mine", None));
}

// §5.5.3: a pong is delivered and needs no answer.
#[test]
fn pong_is_delivered_and_not_answered() {
    let mut server = open_server(Config::default());
    let (events, output) = exchange(&mut server, &cframe(true, 0xA, b"unsolicited"));
    assert!(output.is_empty());
    match &events[..] {
        [Event::Pong(p)] => assert_eq!(p[..], b"unsolicited"[..]),
        other => panic!("{other:?}"),
    }
}

// §5.5.2 / §5.5.3: ping() and pong() write control frames.
#[test]
fn application_ping_and_pong() {
    let mut server = open_server(Config::default());
    server.ping(b"").unwrap();
    server.ping([7u8; 125]).unwrap();
    server.pong("text payload").unwrap();
    let mut expected = frame(true, 0x9, b"", None);
    expected.extend(frame(true, 0x9, &[7; 125], None));
    expected.extend(frame(true, 0xA, b"text payload", None));
    assert_eq!(take_output(&mut server), expected);
}

// A ping from one end produces a pong event at the other.
#[test]
fn ping_round_trip_between_client_and_server() {
    let mut client = open_client(Config::default());
    let mut server = open_server(Config::default());
    client.ping(b"rtt").unwrap();
    pump(&mut client, &mut server);
    assert_eq!(summaries(&drain(&mut server)), ["ping:[114, 116, 116]"]);
    pump(&mut server, &mut client);
    assert_eq!(summaries(&drain(&mut client)), ["pong:[114, 116, 116]"]);
}

// §5.5: "All control frames MUST have a payload length of 125 bytes or
// less" — for ping, pong and close, in both longer length forms.
#[test]
fn control_payload_over_125_is_a_protocol_error() {
    for op in [0x8, 0x9, 0xA] {
        for len in [126, 127, 200, 70_000] {
            let mut server = open_server(Config::default());
            let payload = close_payload(1000, &vec![b'a'; len - 2]);
            let (events, output) = exchange(&mut server, &cframe(true, op, &payload));
            assert_server_fails(
                &events,
                &output,
                &frame_error(FrameError::ControlFrameTooLong),
                1002,
            );
        }
    }
}

// §5.5: the length is refused from the header alone.
#[test]
fn long_control_frame_is_refused_before_its_payload() {
    let mut server = open_server(Config::default());
    let (events, output) = exchange(&mut server, &[0x89, 0x80 | 126]);
    assert_server_fails(
        &events,
        &output,
        &frame_error(FrameError::ControlFrameTooLong),
        1002,
    );
}

// §5.5: "All control frames ... MUST NOT be fragmented."
#[test]
fn fragmented_control_frame_is_a_protocol_error() {
    for op in [0x8, 0x9, 0xA] {
        let mut server = open_server(Config::default());
        let (events, output) = exchange(&mut server, &cframe(false, op, b""));
        assert_server_fails(
            &events,
            &output,
            &frame_error(FrameError::FragmentedControlFrame),
            1002,
        );
        let mut client = open_client(Config::default());
        let (events, _) = exchange(&mut client, &frame(false, op, b"", None));
        assert_eq!(
            error_of(&events),
            &frame_error(FrameError::FragmentedControlFrame)
        );
    }
}

// §5.5: the application cannot send an over-long control payload; nothing
// is queued.
#[test]
fn ping_or_pong_over_125_bytes_is_refused() {
    let mut server = open_server(Config::default());
    assert_eq!(
        server.ping([0u8; 126]),
        Err(UsageError::ControlPayloadTooLong)
    );
    assert_eq!(
        server.pong([0u8; 126]),
        Err(UsageError::ControlPayloadTooLong)
    );
    assert_eq!(
        server.ping(vec![0u8; 70_000]),
        Err(UsageError::ControlPayloadTooLong)
    );
    assert!(!server.wants_write());
    server.ping([0u8; 125]).unwrap();
    server.pong([0u8; 125]).unwrap();
    assert_eq!(server.output_len(), 2 * (2 + 125));
    let mut client = open_client(Config::default());
    assert_eq!(
        client.ping([0u8; 126]),
        Err(UsageError::ControlPayloadTooLong)
    );
}

// §5.5.3 ("an endpoint MAY elect to send a Pong frame for only the most
// recently processed Ping frame") and CONTROL_BUDGET: a ping flood while
// the driver does not write queues at most 16 pongs behind the backlog and
// keeps only the latest other payload; it goes out once a pong is written.
#[test]
fn a_ping_flood_queues_at_most_sixteen_pongs() {
    let config = Config::new().limits(Limits::new().max_output_buffer(8192));
    let mut server = open_server(config);
    server.send(vec![0u8; 8000]).unwrap();
    let backlog = server.output_len();
    let mut input = Vec::new();
    for i in 0..1000u16 {
        input.extend(cframe(true, 0x9, &i.to_be_bytes()));
    }
    let events = feed_all(&mut server, &input);
    assert_eq!(events.len(), 1000);
    assert!(events.iter().all(|e| matches!(e, Event::Ping(_))));
    let pong = |i: u16| frame(true, 0xA, &i.to_be_bytes(), None);
    assert_eq!(
        server.output_len(),
        backlog + 16 * pong(0).len(),
        "pongs must not pile up"
    );
    assert!(server.output_len() <= 8192 + wsmachine::CONTROL_BUDGET);
    // Writing the backlog and the first pong makes room for the latest.
    server.consume_output(backlog + pong(0).len());
    let rest = parse_frames(&take_output(&mut server));
    let payloads: Vec<Vec<u8>> = rest.iter().map(|f| f.payload.clone()).collect();
    let mut want: Vec<Vec<u8>> = (1..16u16).map(|i| i.to_be_bytes().to_vec()).collect();
    want.push(999u16.to_be_bytes().to_vec());
    assert_eq!(payloads, want);
}

// Limits::max_output_buffer: below the limit, pongs go out at once.
#[test]
fn pings_below_the_output_limit_are_answered_at_once() {
    let config = Config::new().limits(Limits::new().max_output_buffer(1024));
    let mut server = open_server(config);
    server.send(vec![0u8; 10]).unwrap();
    let (_, output) = exchange(&mut server, &cframe(true, 0x9, b"now"));
    let frames = parse_frames(&output);
    assert_eq!(frames.len(), 2);
    assert_eq!(
        (frames[1].opcode, &frames[1].payload[..]),
        (0xA, &b"now"[..])
    );
}

// Limits::max_output_buffer(0): pongs come out of the control budget, so
// they go out even when no data may be queued at all.
#[test]
fn ping_is_answered_with_a_zero_output_limit() {
    let mut server = open_server(Config::new().limits(Limits::new().max_output_buffer(0)));
    let (events, output) = exchange(&mut server, &cframe(true, 0x9, b"hi"));
    assert_eq!(summaries(&events), ["ping:[104, 105]"]);
    assert_eq!(output, frame(true, 0xA, b"hi", None));
}

// Limits::max_output_buffer: an application ping is refused when the
// output is full, like any send.
#[test]
fn application_ping_is_refused_when_the_output_is_full() {
    let config = Config::new().limits(Limits::new().max_output_buffer(4096));
    let mut server = open_server(config);
    server.send(vec![0u8; 4090]).unwrap();
    let pending = server.output_len();
    assert_eq!(
        server.ping(b"x"),
        Err(UsageError::OutputFull {
            pending,
            limit: 4096
        })
    );
    assert_eq!(server.output_len(), pending);
}

// §5.5.2: "an endpoint MUST send a Pong frame in response, unless it
// already received a Close frame" — having only *sent* one does not
// exempt it.
#[test]
fn ping_after_sending_close_is_still_answered() {
    let mut server = open_server(Config::default());
    server.close(CloseCode::NORMAL, "").unwrap();
    take_output(&mut server);
    let (events, output) = exchange(&mut server, &cframe(true, 0x9, b"late"));
    assert_eq!(summaries(&events), ["ping:[108, 97, 116, 101]"]);
    assert_eq!(output, frame(true, 0xA, b"late", None));
}

// §5.5.2: the same with automatic pongs off: the application must be able
// to answer.
#[test]
fn application_can_pong_after_sending_close() {
    let mut server = open_server(Config::new().auto_pong(false));
    server.close(CloseCode::NORMAL, "").unwrap();
    take_output(&mut server);
    let (events, _) = exchange(&mut server, &cframe(true, 0x9, b"late"));
    assert_eq!(events.len(), 1);
    server.pong(b"late").unwrap();
    assert_eq!(take_output(&mut server), frame(true, 0xA, b"late", None));
}

// §5.5.2: once the peer's Close arrived, no pong is owed (a client still
// reading after the Close ignores the ping).
#[test]
fn ping_after_receiving_close_is_not_answered() {
    let mut client = open_client(Config::default());
    let mut input = frame(true, 0x8, &close_payload(1000, b""), None);
    input.extend(frame(true, 0x9, b"late", None));
    let (_, output) = exchange(&mut client, &input);
    let frames = parse_frames(&output);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, 0x8);
}

// A ping of our own is refused once the closing handshake started.
#[test]
fn ping_after_close_is_refused() {
    let mut server = open_server(Config::default());
    server.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.ping(b""), Err(UsageError::Closing));
}
