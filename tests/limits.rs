//! Size limits (RFC 6455 §10.4, close code 1009 of §7.4.1) and the output
//! buffer cap.
mod common;

use common::*;
use wsmachine::*;

/// Heap use that shows no buffer was sized from a declared length.
const SMALL: usize = 8 * 1024;

fn limits(l: Limits) -> Config {
    Config::new().limits(l)
}

/// A masked frame header (no payload) declaring `len` bytes.
fn header_only(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
    let mut h = vec![(u8::from(fin) << 7) | opcode];
    match len {
        0..=125 => h.push(0x80 | len as u8),
        126..=0xFFFF => {
            h.push(0x80 | 126);
            h.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            h.push(0x80 | 127);
            h.extend_from_slice(&len.to_be_bytes());
        }
    }
    h.extend_from_slice(&[1, 2, 3, 4]);
    h
}

fn too_big(limit: Limit) -> Error {
    Error::LimitExceeded(limit)
}

// ------------------------------------------------------------ frame size

// §10.4: "implementations SHOULD impose a limit on frame sizes"; a frame
// over the limit is refused with 1009 as soon as its header is read.
#[test]
fn frame_over_max_frame_size_fails_with_1009_before_its_payload() {
    let mut server = open_server(limits(Limits::new().max_frame_size(1024)));
    let (events, output) = exchange(&mut server, &header_only(true, 0x2, 1025));
    assert_server_fails(&events, &output, &too_big(Limit::FrameSize), 1009);
    assert!(
        server.buffer_capacity() < SMALL,
        "{}",
        server.buffer_capacity()
    );
}

// A frame of exactly max_frame_size is fine.
#[test]
fn frame_at_max_frame_size_is_accepted() {
    let mut server = open_server(limits(Limits::new().max_frame_size(1024)));
    let (events, _) = exchange(&mut server, &cframe(true, 0x2, &[5; 1024]));
    assert!(matches!(&events[..], [Event::Message(Message::Binary(b))] if b.len() == 1024));
}

// §10.4: a huge declared length (default limits) is refused from the header
// alone; nothing is allocated for it.
#[test]
fn huge_declared_length_is_refused_without_allocating() {
    for len in [(16 << 20) + 1, 1 << 32, (1 << 62) + 7, i64::MAX as u64] {
        let mut server = open_server(Config::default());
        let (events, output) = exchange(&mut server, &header_only(true, 0x1, len));
        assert_server_fails(&events, &output, &too_big(Limit::FrameSize), 1009);
        assert!(server.buffer_capacity() < SMALL, "len {len}");
    }
}

// The frame limit applies to every frame of a fragmented message.
#[test]
fn continuation_over_max_frame_size_fails_with_1009() {
    let mut server = open_server(limits(Limits::new().max_frame_size(100)));
    let mut input = cframe(false, 0x2, &[0; 100]);
    input.extend(header_only(true, 0x0, 101));
    let (events, output) = exchange(&mut server, &input);
    assert_server_fails(&events, &output, &too_big(Limit::FrameSize), 1009);
}

// Control frames are bounded by §5.5 (125 bytes), not by max_frame_size.
#[test]
fn control_frames_are_not_subject_to_max_frame_size() {
    let mut server = open_server(limits(Limits::new().max_frame_size(4)));
    let (events, _) = exchange(&mut server, &cframe(true, 0x9, &[1; 100]));
    assert!(matches!(&events[..], [Event::Ping(p)] if p.len() == 100));
}

// A large frame under the limits only takes the memory of what arrived.
#[test]
fn declared_length_is_not_preallocated() {
    let mut server = open_server(Config::default());
    let (events, _) = exchange(&mut server, &header_only(true, 0x2, 10 << 20));
    assert!(events.is_empty());
    server.feed(&[0u8; 100]);
    assert!(drain(&mut server).is_empty());
    assert!(
        server.buffer_capacity() < SMALL,
        "{}",
        server.buffer_capacity()
    );
}

// ---------------------------------------------------------- message size

// A single frame over max_message_size is refused from its header.
#[test]
fn frame_over_max_message_size_fails_with_1009() {
    let mut server = open_server(limits(Limits::new().max_message_size(1000)));
    let (events, output) = exchange(&mut server, &header_only(true, 0x1, 1001));
    assert_server_fails(&events, &output, &too_big(Limit::MessageSize), 1009);
    assert!(server.buffer_capacity() < SMALL);
}

// The message limit counts the sum of the fragments: the fragment that
// crosses it is refused from its header.
#[test]
fn fragments_summing_over_max_message_size_fail_with_1009() {
    let mut server = open_server(limits(Limits::new().max_message_size(1000)));
    let mut input = cframe(false, 0x2, &[0; 400]);
    input.extend(cframe(false, 0x0, &[0; 400]));
    let (events, _) = exchange(&mut server, &input);
    assert!(events.is_empty());
    let (events, output) = exchange(&mut server, &header_only(false, 0x0, 201));
    assert_server_fails(&events, &output, &too_big(Limit::MessageSize), 1009);
}

// A fragmented message of exactly max_message_size is fine, and the count
// starts again for the next message.
#[test]
fn fragments_summing_to_max_message_size_are_accepted() {
    let mut server = open_server(limits(Limits::new().max_message_size(1000)));
    let mut input = Vec::new();
    for _ in 0..2 {
        input.extend(cframe(false, 0x2, &[0; 400]));
        input.extend(cframe(true, 0x9, &[0; 125]));
        input.extend(cframe(false, 0x0, &[0; 400]));
        input.extend(cframe(true, 0x0, &[0; 200]));
    }
    let (events, _) = exchange(&mut server, &input);
    let sizes: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, [1000, 1000]);
}

// Many small fragments are counted too (not only the declared first one).
#[test]
fn many_small_fragments_are_counted() {
    let mut server = open_server(limits(Limits::new().max_message_size(100)));
    let mut input = cframe(false, 0x1, b"0123456789");
    for _ in 0..9 {
        input.extend(cframe(false, 0x0, b"0123456789"));
    }
    input.extend(cframe(true, 0x0, b"!"));
    let (events, output) = exchange(&mut server, &input);
    assert_server_fails(&events, &output, &too_big(Limit::MessageSize), 1009);
}

// A client enforces its limits too, answering with a masked 1009.
#[test]
fn client_enforces_limits() {
    let mut client = open_client(limits(Limits::new().max_message_size(10)));
    let (events, output) = exchange(&mut client, &frame(true, 0x1, b"0123456789!", None));
    assert_eq!(error_of(&events), &too_big(Limit::MessageSize));
    let frames = parse_frames(&output);
    assert_eq!(frames[0].payload, 1009u16.to_be_bytes());
    assert!(frames[0].mask.is_some());
}

// --------------------------------------------------------- output buffer

// Limits::max_output_buffer: a send that does not fit is refused with
// OutputFull and queues nothing.
#[test]
fn send_over_max_output_buffer_is_refused_with_nothing_queued() {
    let mut server = open_server(limits(Limits::new().max_output_buffer(1000)));
    server.send(vec![1u8; 600]).unwrap();
    let pending = server.output_len();
    assert_eq!(pending, 604);
    let refused = Err(UsageError::OutputFull {
        pending,
        limit: 1000,
    });
    assert_eq!(server.send(vec![2u8; 600]).map_err(|e| e.error), refused);
    assert_eq!(server.send("x".repeat(600)).map_err(|e| e.error), refused);
    assert_eq!(
        server
            .send_fragment(MessageKind::Binary, vec![2u8; 600], false)
            .map_err(|e| e.error),
        refused
    );
    assert_eq!(server.output_len(), pending);
    assert_eq!(take_output(&mut server), frame(true, 0x2, &[1; 600], None));
    // Once written out, the same send goes through.
    server.send(vec![2u8; 600]).unwrap();
}

// Limits::max_output_buffer is a limit, even for an empty buffer: a frame
// that can never fit is refused as too large (send it in fragments, or
// raise the limit), and the message comes back.
#[test]
fn a_frame_larger_than_the_output_buffer_is_refused() {
    let mut server = open_server(limits(Limits::new().max_output_buffer(100)));
    let refused = server.send(vec![3u8; 1 << 20]).unwrap_err();
    assert_eq!(
        refused.error,
        UsageError::MessageTooLarge {
            len: (1 << 20) + 10,
            limit: 100
        }
    );
    assert_eq!(refused.into_inner().len(), 1 << 20);
    assert!(!server.wants_write());
    let mut client = open_client(limits(Limits::new().max_output_buffer(100)));
    for _ in 0..20 {
        client
            .send_fragment(MessageKind::Binary, vec![3u8; 50], false)
            .unwrap();
        assert!(client.output_len() <= 100);
        take_output(&mut client);
    }
    client
        .send_fragment(MessageKind::Binary, vec![3u8; 50], true)
        .unwrap();
}

// Limits::max_output_buffer: a frame that fits exactly is accepted
// (OutputFull: "this frame would take it past limit").
#[test]
fn frame_that_fills_the_output_buffer_exactly_is_accepted() {
    let mut server = open_server(limits(Limits::new().max_output_buffer(100)));
    server.send(vec![0u8; 8]).unwrap();
    assert_eq!(server.output_len(), 10);
    // A 2-byte header and 88 bytes: exactly 100 bytes pending.
    server.send(vec![0u8; 88]).unwrap();
    assert_eq!(server.output_len(), 100);
}

// The closing handshake is never blocked by a full output buffer.
#[test]
fn close_is_possible_when_the_output_buffer_is_full() {
    let mut server = open_server(limits(Limits::new().max_output_buffer(1004)));
    server.send(vec![0u8; 1000]).unwrap();
    assert!(server.send(vec![0u8]).is_err());
    server.close(CloseCode::GOING_AWAY, "").unwrap();
    let frames = parse_frames(&take_output(&mut server));
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].payload, 1001u16.to_be_bytes());
}

// Limits are reported in the error's text.
#[test]
fn limit_errors_name_the_limit() {
    assert_eq!(
        too_big(Limit::FrameSize).to_string(),
        "limit exceeded: frame size"
    );
    assert_eq!(
        too_big(Limit::MessageSize).close_code(),
        Some(CloseCode::MESSAGE_TOO_BIG)
    );
}
