//! Streaming delivery (`Delivery::Chunks`) of data messages (RFC 6455 §5.4,
//! §5.6, §8.1): pieces as they arrive, each text piece valid UTF-8.
mod common;

use common::*;
use wsmachine::*;

fn chunked() -> Config {
    Config::new().delivery(Delivery::Chunks)
}

fn chunks(events: &[Event]) -> Vec<&Chunk> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Chunk(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// Checks that `events` hold exactly one message of `kind` as chunks:
/// `first` on the first chunk only, `last` on the last only, every text
/// chunk valid UTF-8, and the concatenation equal to `expected`.
fn assert_one_message(events: &[Event], kind: MessageKind, expected: &[u8]) {
    let chunks = chunks(events);
    assert!(!chunks.is_empty(), "no chunk in {events:?}");
    let n = chunks.len();
    let mut joined = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c.kind, kind);
        assert_eq!(c.first, i == 0, "chunk {i} of {n}: {chunks:?}");
        assert_eq!(c.last, i == n - 1, "chunk {i} of {n}: {chunks:?}");
        if kind == MessageKind::Text {
            assert!(
                c.text().is_some(),
                "chunk {i} is not UTF-8 on its own: {:02x?}",
                &c.data[..]
            );
        } else {
            assert_eq!(c.text(), None);
        }
        joined.extend_from_slice(&c.data);
    }
    assert_eq!(joined, expected);
}

/// Text fragments split at byte offsets `cuts`.
fn text_fragments(text: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(text.len());
    let n = bounds.len() - 1;
    (0..n)
        .flat_map(|i| {
            let op = if i == 0 { 0x1 } else { 0x0 };
            cframe(i == n - 1, op, &text[bounds[i]..bounds[i + 1]])
        })
        .collect()
}

const TEXT: &str = "a€𝄞zκόσμε😀";

// --------------------------------------------------------------- basics

// A whole message in one frame is one chunk, first and last.
#[test]
fn single_frame_message_is_one_chunk() {
    let mut server = open_server(chunked());
    let (events, _) = exchange(&mut server, &cframe(true, 0x1, b"hello"));
    assert_eq!(events.len(), 1);
    assert_one_message(&events, MessageKind::Text, b"hello");
    let (events, _) = exchange(&mut server, &cframe(true, 0x2, &[1, 2, 3]));
    assert_one_message(&events, MessageKind::Binary, &[1, 2, 3]);
}

// An empty message is one empty chunk.
#[test]
fn empty_message_is_one_empty_chunk() {
    let mut server = open_server(chunked());
    let (events, _) = exchange(&mut server, &cframe(true, 0x1, b""));
    assert_one_message(&events, MessageKind::Text, b"");
    assert_eq!(chunks(&events).len(), 1);
}

// Pieces are handed over as they arrive, before the frame is complete.
#[test]
fn chunks_arrive_before_the_frame_is_complete() {
    let payload: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    let input = cframe(true, 0x2, &payload);
    // A 16-bit length and a masking key: an 8-byte header.
    let header = 8;
    let mut server = open_server(chunked());
    let (events, _) = exchange(&mut server, &input[..header + 1000]);
    let first = chunks(&events);
    assert_eq!(first.len(), 1);
    assert!(first[0].first && !first[0].last);
    assert!(first[0].data[..] == payload[..1000]);
    let mut all = events;
    all.extend(exchange(&mut server, &input[header + 1000..]).0);
    assert_one_message(&all, MessageKind::Binary, &payload);
}

// §5.4: a fragmented message: first only on the first chunk, last only on
// the final one; the concatenation is the message.
#[test]
fn fragmented_message_as_chunks() {
    let mut server = open_server(chunked());
    let mut input = cframe(false, 0x2, &[1; 300]);
    input.extend(cframe(false, 0x0, &[2; 5]));
    input.extend(cframe(true, 0x0, &[3; 70_000]));
    let (events, _) = exchange(&mut server, &input);
    let mut expected = vec![1; 300];
    expected.extend([2; 5]);
    expected.extend([3; 70_000]);
    assert_one_message(&events, MessageKind::Binary, &expected);
}

// §5.4: an empty final frame ends the message with an empty last chunk.
#[test]
fn empty_final_frame_gives_an_empty_last_chunk() {
    let mut server = open_server(chunked());
    let mut input = cframe(false, 0x1, b"abc");
    input.extend(cframe(true, 0x0, b""));
    let (events, _) = exchange(&mut server, &input);
    assert_one_message(&events, MessageKind::Text, b"abc");
    let c = chunks(&events);
    assert_eq!(c.len(), 2);
    assert!(c[1].data.is_empty() && c[1].last);
}

// §5.4: empty leading frames do not produce a chunk flagged first too
// early or twice.
#[test]
fn empty_leading_frames() {
    let mut server = open_server(chunked());
    let mut input = cframe(false, 0x1, b"");
    input.extend(cframe(false, 0x0, b""));
    input.extend(cframe(true, 0x0, b"x"));
    let (events, _) = exchange(&mut server, &input);
    assert_one_message(&events, MessageKind::Text, b"x");
}

// §5.4: control frames between fragments come between the chunks.
#[test]
fn control_frames_between_chunks() {
    let mut server = open_server(chunked());
    let mut input = cframe(false, 0x1, b"one ");
    input.extend(cframe(true, 0x9, b"p"));
    input.extend(cframe(true, 0x0, b"two"));
    let (events, output) = exchange(&mut server, &input);
    assert_eq!(
        summaries(&events),
        [
            "chunk:Text:true:false:[111, 110, 101, 32]",
            "ping:[112]",
            "chunk:Text:false:true:[116, 119, 111]"
        ]
    );
    assert_eq!(output, frame(true, 0xA, b"p", None));
}

// Consecutive messages each start with a first chunk.
#[test]
fn consecutive_messages() {
    let mut server = open_server(chunked());
    let mut input = cframe(false, 0x1, b"a");
    input.extend(cframe(true, 0x0, b"b"));
    input.extend(cframe(true, 0x2, b"c"));
    let (events, _) = exchange(&mut server, &input);
    assert_eq!(
        summaries(&events),
        [
            "chunk:Text:true:false:[97]",
            "chunk:Text:false:true:[98]",
            "chunk:Binary:true:true:[99]"
        ]
    );
}

// A client delivers chunks too.
#[test]
fn client_delivers_chunks() {
    let mut client = open_client(chunked());
    let input = frame(true, 0x1, TEXT.as_bytes(), None);
    let events = feed_in_pieces(&mut client, &input, 3);
    assert_one_message(&events, MessageKind::Text, TEXT.as_bytes());
}

// ------------------------------------------------- UTF-8 on chunk edges

// §8.1: a code point split across reads is delivered whole, for a split at
// every byte.
#[test]
fn text_chunks_are_utf8_when_split_across_reads() {
    let input = cframe(true, 0x1, TEXT.as_bytes());
    for cut in 0..=input.len() {
        let mut server = open_server(chunked());
        let mut events = exchange(&mut server, &input[..cut]).0;
        events.extend(exchange(&mut server, &input[cut..]).0);
        assert_one_message(&events, MessageKind::Text, TEXT.as_bytes());
    }
}

// §8.1: the same fed byte by byte.
#[test]
fn text_chunks_are_utf8_when_fed_byte_by_byte() {
    let mut server = open_server(chunked());
    let events = feed_in_pieces(&mut server, &cframe(true, 0x1, TEXT.as_bytes()), 1);
    assert_one_message(&events, MessageKind::Text, TEXT.as_bytes());
}

// §8.1: a code point split across frames is delivered whole, for a split
// at every byte.
#[test]
fn text_chunks_are_utf8_when_split_across_frames() {
    let bytes = TEXT.as_bytes();
    for cut in 0..=bytes.len() {
        let mut server = open_server(chunked());
        let (events, _) = exchange(&mut server, &text_fragments(bytes, &[cut]));
        assert_one_message(&events, MessageKind::Text, bytes);
    }
}

// §8.1: a 4-byte code point spread over three or four frames, and over
// frames and reads at once.
#[test]
fn text_chunks_are_utf8_across_many_frames_and_reads() {
    let bytes = "x😀y".as_bytes();
    for a in 0..=bytes.len() {
        for b in a..=bytes.len() {
            for c in b..=bytes.len() {
                let input = text_fragments(bytes, &[a, b, c]);
                for size in [1, 2, 5, input.len()] {
                    let mut server = open_server(chunked());
                    let events = feed_in_pieces(&mut server, &input, size);
                    assert_one_message(&events, MessageKind::Text, bytes);
                }
            }
        }
    }
}

// §8.1: a control frame in the middle of a split code point.
#[test]
fn split_code_point_survives_an_interleaved_ping() {
    let mut server = open_server(chunked());
    let mut input = cframe(false, 0x1, &[b'a', 0xF0, 0x9F]);
    input.extend(cframe(true, 0x9, b""));
    input.extend(cframe(true, 0x0, &[0x98, 0x80, b'b']));
    let (events, _) = exchange(&mut server, &input);
    assert_one_message(&events, MessageKind::Text, "a😀b".as_bytes());
    assert!(events.iter().any(|e| matches!(e, Event::Ping(_))));
}

// ------------------------------------------------ errors and limits

// §8.1: invalid UTF-8 fails with 1007 in chunk mode too, before the rest
// of the frame arrives.
#[test]
fn invalid_utf8_fails_early_in_chunk_mode() {
    let mut payload = vec![b'a'; 100_000];
    payload[50] = 0xC0;
    let input = cframe(true, 0x1, &payload);
    let mut server = open_server(chunked());
    let (events, output) = exchange(&mut server, &input[..14 + 100]);
    assert_eq!(error_of(&events), &Error::InvalidUtf8);
    assert_eq!(output, server_close(1007));
    // The valid bytes before the error may have been delivered, never more.
    let delivered: usize = chunks(&events).iter().map(|c| c.data.len()).sum();
    assert!(delivered <= 50, "{delivered}");
    assert!(chunks(&events).iter().all(|c| !c.last));
}

// §8.1: a message ending inside a code point fails with 1007, whether the
// code point started in the last frame or an earlier one.
#[test]
fn truncated_code_point_at_the_end_fails_in_chunk_mode() {
    let mut server = open_server(chunked());
    let (events, _) = exchange(&mut server, &cframe(true, 0x1, &[b'a', 0xE2, 0x82]));
    assert_eq!(error_of(&events), &Error::InvalidUtf8);
    let mut input = cframe(false, 0x1, &[b'a', 0xE2]);
    input.extend(cframe(true, 0x0, &[0x82]));
    let mut server = open_server(chunked());
    let (events, output) = exchange(&mut server, &input);
    assert_eq!(error_of(&events), &Error::InvalidUtf8);
    assert_eq!(output, server_close(1007));
    let mut input = cframe(false, 0x1, &[0xF0, 0x9F]);
    input.extend(cframe(true, 0x0, b""));
    let mut server = open_server(chunked());
    let (events, _) = exchange(&mut server, &input);
    assert_eq!(error_of(&events), &Error::InvalidUtf8);
    assert!(chunks(&events).iter().all(|c| !c.last));
}

// Limits::max_message_size still applies though nothing is buffered.
#[test]
fn message_size_limit_applies_to_chunks() {
    let config = chunked().limits(Limits::new().max_message_size(1000));
    let mut server = open_server(config);
    let mut input = cframe(false, 0x2, &[0; 600]);
    input.extend(cframe(true, 0x0, &[0; 401]));
    let (events, output) = exchange(&mut server, &input);
    assert_eq!(error_of(&events), &Error::LimitExceeded(Limit::MessageSize));
    assert_eq!(output, server_close(1009));
    let delivered: usize = chunks(&events).iter().map(|c| c.data.len()).sum();
    assert_eq!(delivered, 600);
}

// Limits::max_frame_size applies before any payload, in chunk mode too.
#[test]
fn frame_size_limit_applies_to_chunks() {
    let config = chunked().limits(Limits::new().max_frame_size(1000));
    let mut server = open_server(config);
    let header = [0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4];
    let (events, output) = exchange(&mut server, &header);
    assert_eq!(error_of(&events), &Error::LimitExceeded(Limit::FrameSize));
    assert_eq!(output, server_close(1009));
    assert!(server.buffer_capacity() < 8 * 1024);
}

// Memory stays bounded by what one read brings, however long the message.
#[test]
fn memory_stays_bounded_for_a_long_message() {
    let config = chunked().limits(
        Limits::new()
            .max_message_size(u64::MAX)
            .max_frame_size(u64::MAX),
    );
    let mut server = open_server(config);
    let len = 4 << 20;
    let input = cframe(true, 0x2, &vec![0xAB; len]);
    let mut received = 0;
    let mut peak = 0;
    for piece in input.chunks(16 * 1024) {
        server.feed(piece);
        for e in drain(&mut server) {
            if let Event::Chunk(c) = e {
                assert!(c.data.iter().all(|&b| b == 0xAB));
                received += c.data.len();
            }
        }
        peak = peak.max(server.buffer_capacity());
    }
    assert_eq!(received, len);
    assert!(peak < 256 * 1024, "peak buffer {peak}");
}
