//! UTF-8 validation of text messages (RFC 6455 §5.6, §8.1).
mod common;

use common::*;
use wsmachine::utf8::Utf8Validator;
use wsmachine::*;

/// Valid texts covering every encoded length and the boundaries of each.
const VALID: &[&str] = &[
    "",
    "plain ascii",
    "κόσμε",
    "a€𝄞z",
    "\u{0}\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}",
    "日本語のテキスト",
    "emoji 😀👍🏽 mixed with ascii",
];

/// Byte sequences that are not UTF-8 (Autobahn test cases 6.3–6.21 style).
const INVALID: &[&[u8]] = &[
    // Surrogates (U+D800, U+DBFF, U+DC00, U+DFFF) and a surrogate pair.
    &[0xED, 0xA0, 0x80],
    &[0xED, 0xAF, 0xBF],
    &[0xED, 0xB0, 0x80],
    &[0xED, 0xBF, 0xBF],
    &[0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80],
    // Overlong encodings of '/' and of the largest code point of each length.
    &[0xC0, 0xAF],
    &[0xE0, 0x80, 0xAF],
    &[0xF0, 0x80, 0x80, 0xAF],
    &[0xF8, 0x80, 0x80, 0x80, 0xAF],
    &[0xFC, 0x80, 0x80, 0x80, 0x80, 0xAF],
    &[0xC1, 0xBF],
    &[0xE0, 0x9F, 0xBF],
    &[0xF0, 0x8F, 0xBF, 0xBF],
    // Above U+10FFFF.
    &[0xF4, 0x90, 0x80, 0x80],
    &[0xF7, 0xBF, 0xBF, 0xBF],
    // Bytes that never appear.
    &[0xFE],
    &[0xFF],
    &[0xFE, 0xFE, 0xFF, 0xFF],
    // Lone continuation bytes.
    &[0x80],
    &[0xBF],
    &[0x80, 0xBF, 0x80],
    // A start byte followed by a non-continuation.
    &[0xC0, 0x20],
    &[0xE0, 0x20],
    &[0xDF, 0x41],
    &[0xEF, 0xBF, 0x41],
    // "κόσμε" with a surrogate in the middle (case 6.4.x).
    &[
        0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80, 0x65,
        0x64, 0x69, 0x74, 0x65, 0x64,
    ],
];

/// Sequences cut short: valid prefixes of a code point.
const TRUNCATED: &[&[u8]] = &[
    &[0xC2],
    &[0xE2],
    &[0xE2, 0x82],
    &[0xF0],
    &[0xF0, 0x9F],
    &[0xF0, 0x9F, 0x98],
    &[b'o', b'k', 0xF4, 0x8F, 0xBF],
];

/// Feeds `input` to an open server: (events, output).
fn serve(input: &[u8]) -> (Vec<Event>, Vec<u8>) {
    let mut server = open_server(Config::default());
    exchange(&mut server, input)
}

fn assert_invalid_utf8(events: &[Event], output: &[u8]) {
    assert_server_fails(events, output, &Error::InvalidUtf8, 1007);
}

/// The text as fragments split at the given byte offsets.
fn fragments(text: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(text.len());
    let n = bounds.len() - 1;
    let mut out = Vec::new();
    for i in 0..n {
        let op = if i == 0 { 0x1 } else { 0x0 };
        out.extend(cframe(i == n - 1, op, &text[bounds[i]..bounds[i + 1]]));
    }
    out
}

// ------------------------------------------------------------ valid text

// §5.6: text is UTF-8; every encoded length is accepted.
#[test]
fn valid_text_in_one_frame() {
    for text in VALID {
        let (events, _) = serve(&cframe(true, 0x1, text.as_bytes()));
        assert_eq!(summaries(&events), [format!("text:{text}")]);
    }
}

// Valid boundary code points (Autobahn 6.2, 6.5–6.7, 6.22 style):
// noncharacters are still valid UTF-8.
#[test]
fn boundary_code_points_are_valid() {
    for bytes in [
        &[0x7F][..],
        &[0xC2, 0x80],
        &[0xDF, 0xBF],
        &[0xE0, 0xA0, 0x80],
        &[0xED, 0x9F, 0xBF],
        &[0xEE, 0x80, 0x80],
        &[0xEF, 0xBF, 0xBE],
        &[0xEF, 0xBF, 0xBF],
        &[0xF0, 0x90, 0x80, 0x80],
        &[0xF4, 0x8F, 0xBF, 0xBF],
    ] {
        let (events, _) = serve(&cframe(true, 0x1, bytes));
        let text = std::str::from_utf8(bytes).unwrap();
        assert_eq!(summaries(&events), [format!("text:{text}")], "{bytes:02x?}");
    }
}

// §8.1: a code point split across frames is valid ("fragments of a
// message may split a character").
#[test]
fn text_split_across_two_frames_at_every_byte() {
    for text in VALID {
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let (events, _) = serve(&fragments(bytes, &[cut]));
            assert_eq!(summaries(&events), [format!("text:{text}")], "cut {cut}");
        }
    }
}

// §8.1: the same with three fragments, at every pair of cuts.
#[test]
fn text_split_across_three_frames_at_every_pair_of_bytes() {
    let text = "a€𝄞zκ";
    let bytes = text.as_bytes();
    for a in 0..=bytes.len() {
        for b in a..=bytes.len() {
            let (events, _) = serve(&fragments(bytes, &[a, b]));
            assert_eq!(summaries(&events), [format!("text:{text}")], "cuts {a},{b}");
        }
    }
}

// §8.1: one frame split across reads at every byte.
#[test]
fn text_split_across_reads_at_every_byte() {
    let text = "κόσμε 😀 €";
    let input = cframe(true, 0x1, text.as_bytes());
    for cut in 0..=input.len() {
        let mut server = open_server(Config::default());
        let mut events = exchange(&mut server, &input[..cut]).0;
        events.extend(exchange(&mut server, &input[cut..]).0);
        assert_eq!(summaries(&events), [format!("text:{text}")], "cut {cut}");
    }
}

// §5.4: control frames between fragments leave a split code point intact.
#[test]
fn control_frame_inside_a_split_code_point() {
    let mut input = cframe(false, 0x1, &[0xE2]);
    input.extend(cframe(true, 0x9, b""));
    input.extend(cframe(false, 0x0, &[0x82]));
    input.extend(cframe(true, 0xA, b""));
    input.extend(cframe(true, 0x0, &[0xAC]));
    let (events, _) = serve(&input);
    assert_eq!(summaries(&events), ["ping:[]", "pong:[]", "text:€"]);
}

// Binary messages are not UTF-8 checked.
#[test]
fn binary_messages_are_not_checked() {
    for bytes in INVALID.iter().chain(TRUNCATED) {
        let (events, _) = serve(&cframe(true, 0x2, bytes));
        assert_eq!(summaries(&events), [format!("binary:{bytes:?}")]);
    }
}

// ---------------------------------------------------------- invalid text

// §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds
// that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint
// MUST _Fail the WebSocket Connection_" (close code 1007, §7.4.1).
#[test]
fn invalid_sequences_fail_with_1007() {
    for bytes in INVALID {
        let (events, output) = serve(&cframe(true, 0x1, bytes));
        assert_invalid_utf8(&events, &output);
    }
}

// §8.1: the same when fed byte by byte.
#[test]
fn invalid_sequences_fed_byte_by_byte_fail_with_1007() {
    for bytes in INVALID {
        let mut server = open_server(Config::default());
        let events = feed_in_pieces(&mut server, &cframe(true, 0x1, bytes), 1);
        assert_invalid_utf8(&events, &take_output(&mut server));
    }
}

// §8.1: the same when the bytes are split across fragments, anywhere.
#[test]
fn invalid_sequences_split_across_frames_fail_with_1007() {
    for bytes in INVALID {
        for cut in 0..=bytes.len() {
            let (events, output) = serve(&fragments(bytes, &[cut]));
            assert_invalid_utf8(&events, &output);
        }
    }
}

// §8.1: a message that ends inside a code point is invalid.
#[test]
fn truncated_code_point_at_the_end_of_a_message_fails_with_1007() {
    for bytes in TRUNCATED {
        let (events, output) = serve(&cframe(true, 0x1, bytes));
        assert_invalid_utf8(&events, &output);
        // Split across fragments, with an empty final fragment too.
        let mut input = fragments(bytes, &[bytes.len() / 2]);
        let (events, output) = serve(&input);
        assert_invalid_utf8(&events, &output);
        input = cframe(false, 0x1, bytes);
        input.extend(cframe(true, 0x0, b""));
        let (events, output) = serve(&input);
        assert_invalid_utf8(&events, &output);
    }
}

// A truncated code point does not leak into the next message.
#[test]
fn each_message_is_validated_on_its_own() {
    // Valid text, then a message starting with a continuation byte.
    let mut input = cframe(true, 0x1, &[0xE2, 0x82, 0xAC]);
    input.extend(cframe(true, 0x1, &[0x82, 0xAC]));
    let (events, output) = serve(&input);
    assert_eq!(summaries(&events)[0], "text:€");
    assert_invalid_utf8(&events[1..], &output);
    // A binary message in between does not disturb text validation.
    let mut input = cframe(true, 0x1, "é".as_bytes());
    input.extend(cframe(true, 0x2, &[0xC3]));
    input.extend(cframe(true, 0x1, "è".as_bytes()));
    let (events, _) = serve(&input);
    assert_eq!(summaries(&events), ["text:é", "binary:[195]", "text:è"]);
}

// §8.1 / Autobahn 6.4.x: invalid text fails at the first invalid byte,
// before the rest of the frame arrives.
#[test]
fn invalid_byte_fails_before_the_rest_of_the_frame_arrives() {
    let mut payload = vec![b'a'; 64 * 1024];
    payload[10] = 0xFF;
    let input = cframe(true, 0x1, &payload);
    let first_half = &input[..input.len() / 2];
    let mut server = open_server(Config::default());
    let (events, output) = exchange(&mut server, first_half);
    assert_invalid_utf8(&events, &output);
    // The second half is never looked at.
    let (events, output) = exchange(&mut server, &input[input.len() / 2..]);
    assert!(events.is_empty() && output.is_empty());
}

// §8.1: the same for an invalid byte just after the header.
#[test]
fn invalid_byte_right_after_the_header_fails_at_once() {
    let mut payload = vec![b'a'; 1 << 20];
    payload[0] = 0xC0;
    payload[1] = 0xAF;
    let input = cframe(true, 0x1, &payload);
    // Header (2 + 8 + 4 bytes) and two payload bytes.
    let (events, output) = serve(&input[..16]);
    assert_invalid_utf8(&events, &output);
}

// §8.1: in a fragmented message, the failure comes in the fragment that
// holds the invalid byte, not at the end of the message.
#[test]
fn invalid_fragment_fails_before_the_message_ends() {
    let mut server = open_server(Config::default());
    let (events, _) = exchange(&mut server, &cframe(false, 0x1, b"fine so far"));
    assert!(events.is_empty());
    let mut bad = vec![b'x'; 10_000];
    bad[3] = 0xED;
    bad[4] = 0xA0;
    let second = cframe(false, 0x0, &bad);
    let (events, output) = exchange(&mut server, &second[..20]);
    assert_invalid_utf8(&events, &output);
}

// §8.1: a code point whose second byte is already impossible (F4 90) fails
// at that byte; a possible prefix waits.
#[test]
fn failure_comes_at_the_first_impossible_byte() {
    let payload = [b'a', 0xF4, 0x90, 0x80, 0x80, b'b', b'c', b'd'];
    let input = cframe(true, 0x1, &payload);
    let header = 6;
    let mut server = open_server(Config::default());
    // 'a' and F4: a valid prefix so far.
    let (events, _) = exchange(&mut server, &input[..header + 2]);
    assert!(events.is_empty(), "{events:?}");
    // 0x90 after F4 is outside U+10FFFF: fail now.
    let (events, output) = exchange(&mut server, &input[header + 2..header + 3]);
    assert_invalid_utf8(&events, &output);
}

// §8.1: a client validates too and answers with a masked 1007.
#[test]
fn client_fails_invalid_text_with_1007() {
    let mut client = open_client(Config::default());
    let (events, output) = exchange(&mut client, &frame(true, 0x1, &[0xED, 0xA0, 0x80], None));
    assert_eq!(error_of(&events), &Error::InvalidUtf8);
    let frames = parse_frames(&output);
    assert_eq!(frames[0].opcode, 0x8);
    assert_eq!(frames[0].payload, 1007u16.to_be_bytes());
    assert!(frames[0].mask.is_some());
}

// ------------------------------------------------- the validator itself

// The public incremental validator agrees with std at every split.
#[test]
fn validator_agrees_with_std() {
    let mut cases: Vec<Vec<u8>> = VALID.iter().map(|s| s.as_bytes().to_vec()).collect();
    cases.extend(INVALID.iter().map(|b| b.to_vec()));
    cases.extend(TRUNCATED.iter().map(|b| b.to_vec()));
    for bytes in cases {
        let expected = std::str::from_utf8(&bytes).is_ok();
        for cut in 0..=bytes.len() {
            let mut v = Utf8Validator::new();
            let ok = v
                .feed(&bytes[..cut])
                .and_then(|()| v.feed(&bytes[cut..]))
                .and_then(|()| v.finish())
                .is_ok();
            assert_eq!(ok, expected, "{bytes:02x?} cut {cut}");
        }
    }
}

// The validator reports how many bytes of a code point are pending.
#[test]
fn validator_reports_pending_bytes() {
    let mut v = Utf8Validator::new();
    v.feed(&[b'a', 0xF0, 0x9F]).unwrap();
    assert_eq!(v.pending(), 2);
    v.feed(&[0x98]).unwrap();
    assert_eq!(v.pending(), 3);
    v.feed(&[0x80]).unwrap();
    assert_eq!(v.pending(), 0);
    assert!(v.finish().is_ok());
}
