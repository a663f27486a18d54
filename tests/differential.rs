//! Differential tests: the same bytes through wsmachine and through
//! tungstenite (an implementation we did not write), over an in-memory
//! stream. They must agree on accepting the handshake, on the messages
//! delivered and on the close code answered, except where
//! `docs/conformance.md` ("Differences from tungstenite") lists and
//! justifies a difference; each exception below names its entry.

mod common;

use std::io::{Cursor, Read, Write};

use common::*;
use proptest::prelude::*;
use wsmachine::{Accept, Config, Connection, Event, Message};

/// What an implementation did with an input.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    accepted: bool,
    /// (text?, payload) of every message delivered, in order.
    messages: Vec<(bool, Vec<u8>)>,
    /// It reported an error (other than the peer closing or EOF).
    failed: bool,
    /// The status code of the Close frame it wrote (0: one without a code).
    close_sent: Option<u16>,
}

/// The close code of the first Close frame in `frames` (server output).
fn close_code(bytes: &[u8]) -> Option<u16> {
    parse_frames(bytes)
        .into_iter()
        .find(|f| f.opcode == 0x8)
        .map(|f| match f.payload.as_slice() {
            [a, b, ..] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        })
}

/// The bytes after an HTTP head.
fn after_head(out: &[u8]) -> &[u8] {
    match out.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(p) => &out[p + 4..],
        None => &[],
    }
}

/// A server without permessage-deflate (tungstenite has none).
fn config() -> Config {
    #[cfg(feature = "deflate")]
    return Config::new().deflate(None);
    #[cfg(not(feature = "deflate"))]
    Config::new()
}

fn wsmachine(input: &[u8]) -> Outcome {
    let mut server = Connection::server(config());
    let mut o = Outcome {
        accepted: false,
        messages: Vec::new(),
        failed: false,
        close_sent: None,
    };
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        let n = server.feed(rest);
        rest = &rest[n..];
        while let Some(e) = server.poll_event() {
            match e {
                Event::Request(_) => server.accept(Accept::new()).unwrap(),
                Event::Open(_) => o.accepted = true,
                Event::Message(Message::Text(t)) => o.messages.push((true, t.as_bytes().to_vec())),
                Event::Message(Message::Binary(b)) => o.messages.push((false, b.to_vec())),
                Event::Error(wsmachine::Error::Handshake(_)) => {}
                Event::Error(_) => o.failed = true,
                _ => {}
            }
        }
        out.extend(take_output(&mut server));
        if rest.is_empty() || server.is_finished() {
            break;
        }
    }
    server.feed_eof();
    let _ = drain(&mut server);
    out.extend(take_output(&mut server));
    if o.accepted {
        o.close_sent = close_code(after_head(&out));
    }
    o
}

/// An in-memory stream: reads the input, then EOF; keeps what is written.
struct Mem {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn tungstenite(input: &[u8]) -> Outcome {
    use tungstenite::{Error as TError, Message as TMessage};
    // The request alone first: tungstenite refuses bytes that arrive with
    // the request ("Frames pipelined behind the request"); the frames come
    // once it has answered.
    let head = input
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(input.len(), |p| p + 4);
    let mem = Mem {
        input: Cursor::new(input[..head].to_vec()),
        output: Vec::new(),
    };
    let mut o = Outcome {
        accepted: false,
        messages: Vec::new(),
        failed: false,
        close_sent: None,
    };
    let Ok(mut ws) = tungstenite::accept(mem) else {
        return o;
    };
    o.accepted = true;
    ws.get_mut().input = Cursor::new(input[head..].to_vec());
    loop {
        match ws.read() {
            Ok(TMessage::Text(t)) => o.messages.push((true, t.as_bytes().to_vec())),
            Ok(TMessage::Binary(b)) => o.messages.push((false, b.to_vec())),
            Ok(_) => {}
            Err(TError::ConnectionClosed | TError::AlreadyClosed) => break,
            Err(TError::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            )) => {
                break;
            }
            Err(TError::Io(_)) => break,
            Err(_) => {
                o.failed = true;
                break;
            }
        }
    }
    let _ = ws.flush();
    let out = ws.get_ref().output.clone();
    o.close_sent = close_code(after_head(&out));
    o
}

/// Brings the two outcomes to what both promise, applying the documented
/// differences; returns (wsmachine's, tungstenite's).
fn compare(input: &[u8]) -> (Outcome, Outcome) {
    let mut ours = wsmachine(input);
    let mut theirs = tungstenite(input);
    // "Failing the connection": wsmachine sends the error's close code
    // itself (RFC 6455 §7.1.7); tungstenite returns the error and leaves
    // the Close frame to its user.
    if ours.failed && theirs.failed {
        ours.close_sent = None;
        theirs.close_sent = None;
    }
    // "Invalid close codes": tungstenite hands the Close to its user as a
    // normal one and answers 1002; wsmachine reports a protocol error and
    // answers 1002. The wire agrees.
    if ours.failed && !theirs.failed && theirs.close_sent == Some(1002) {
        theirs.failed = true;
        ours.close_sent = None;
        theirs.close_sent = None;
    }
    (ours, theirs)
}

const KEY: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

fn m(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, opcode, payload, Some(KEY))
}

/// Frames a client may send, valid and not.
fn client_frame() -> impl Strategy<Value = Vec<u8>> {
    let text = prop_oneof![
        "[a-zé€𝄞 ]{0,30}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..12),
    ];
    let code = prop_oneof![
        Just(1000u16),
        Just(1001),
        Just(1003),
        Just(1005),
        Just(1006),
        Just(1012),
        Just(1015),
        Just(999),
        Just(2000),
        Just(3000),
        Just(4999),
        Just(5000),
    ];
    prop_oneof![
        6 => text.clone().prop_map(|t| m(true, 0x1, &t)),
        3 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| m(true, 0x2, &b)),
        3 => (text.clone(), text.clone()).prop_map(|(a, b)| [m(false, 0x1, &a), m(true, 0x0, &b)].concat()),
        2 => (text.clone(), proptest::collection::vec(any::<u8>(), 0..20)).prop_map(|(a, p)| {
            [m(false, 0x2, &a), m(true, 0x9, &p), m(true, 0x0, b"end")].concat()
        }),
        2 => proptest::collection::vec(any::<u8>(), 0..30).prop_map(|p| m(true, 0x9, &p)),
        1 => Just(m(true, 0xA, b"")),
        2 => (code, "[a-z]{0,10}").prop_map(|(c, r)| m(true, 0x8, &close_payload(c, r.as_bytes()))),
        1 => Just(m(true, 0x8, b"")),
        1 => Just(m(true, 0x8, &[0x03, 0xe8, 0xff, 0xfe])),
        1 => Just(m(true, 0x8, &[3])),
        1 => Just(frame(true, 0x1, b"unmasked", None)),
        1 => (3u8..8).prop_map(|op| m(true, op, b"")),
        1 => Just(frame_rsv(true, 2, 0x1, b"rsv", Some(KEY))),
        1 => Just(m(true, 0x0, b"lonely continuation")),
        1 => Just(m(false, 0x9, b"fragmented ping")),
        1 => Just(m(true, 0x9, &[0; 126])),
        1 => Just([m(false, 0x1, b"a"), m(true, 0x1, b"b")].concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    // Frames after a valid request.
    #[test]
    fn frames_agree_with_tungstenite(frames in proptest::collection::vec(client_frame(), 0..8), eof_at in any::<Option<usize>>()) {
        let mut input = REQUEST.as_bytes().to_vec();
        for f in &frames {
            input.extend_from_slice(f);
        }
        let mut whole = input.len();
        if let Some(at) = eof_at {
            // EOF somewhere in the frames; `whole`: the end of the frame it
            // cuts.
            let at = REQUEST.len() + at % (input.len() - REQUEST.len() + 1);
            let mut end = REQUEST.len();
            for f in &frames {
                end += f.len();
                if end >= at {
                    whole = end;
                    break;
                }
            }
            input.truncate(at);
        }
        let (ours, mut theirs) = compare(&input);
        // "Violations found from the header": wsmachine fails a frame as
        // soon as its header shows a violation; tungstenite reads the whole
        // frame first, so an EOF inside it is a reset there. With the frame
        // whole, tungstenite must find the same violation.
        if ours.failed && !theirs.failed && whole > input.len() && ours.messages == theirs.messages {
            let mut full = REQUEST.as_bytes().to_vec();
            for f in &frames {
                full.extend_from_slice(f);
            }
            full.truncate(whole);
            let (_, complete) = compare(&full);
            prop_assert!(complete.failed, "tungstenite accepts the whole frame: {:02x?}", full);
            theirs.failed = true;
            theirs.close_sent = ours.close_sent;
        }
        prop_assert_eq!(ours, theirs, "input {:02x?}", input);
    }
}

/// A request with one line replaced (`None`: removed).
fn request_variant(find: &str, replace: Option<&str>) -> String {
    let line = REQUEST
        .split("\r\n")
        .find(|l| l.starts_with(find))
        .unwrap_or_else(|| panic!("{find}"));
    match replace {
        Some(r) => REQUEST.replacen(line, r, 1),
        None => REQUEST.replacen(&format!("{line}\r\n"), "", 1),
    }
}

// The opening handshake: both accept the same requests and refuse the same,
// except for the checks listed in docs/conformance.md, which wsmachine makes
// and tungstenite does not.
#[test]
fn handshakes_agree_with_tungstenite() {
    let same: Vec<(String, bool)> = vec![
        (REQUEST.to_string(), true),
        (
            REQUEST
                .to_lowercase()
                .replacen("get /chat http/1.1", "GET /chat HTTP/1.1", 1)
                .replacen("dghlihnhbxbszsbub25jzq==", "dGhlIHNhbXBsZSBub25jZQ==", 1),
            true,
        ),
        (REQUEST.replacen("GET", "POST", 1), false),
        (REQUEST.replacen("HTTP/1.1", "HTTP/1.0", 1), false),
        (request_variant("Upgrade:", Some("Upgrade: h2c")), false),
        (request_variant("Upgrade:", None), false),
        (
            request_variant("Connection:", Some("Connection: keep-alive")),
            false,
        ),
        (
            request_variant("Connection:", Some("Connection: keep-alive, Upgrade")),
            true,
        ),
        (
            request_variant("Sec-WebSocket-Version:", Some("Sec-WebSocket-Version: 8")),
            false,
        ),
        (request_variant("Sec-WebSocket-Version:", None), false),
        (request_variant("Sec-WebSocket-Key:", None), false),
        (
            request_variant("Sec-WebSocket-Key:", Some("Sec-WebSocket-Key: short")),
            false,
        ),
        (
            REQUEST.replacen("\r\n\r\n", "\r\nX-Extra: 1\r\n\r\n", 1),
            true,
        ),
        (
            REQUEST.replacen("Upgrade: websocket", "Upgrade: WebSocket", 1),
            true,
        ),
        ("GARBAGE\r\n\r\n".to_string(), false),
        (REQUEST[..REQUEST.len() - 2].to_string(), false),
    ];
    for (req, want) in &same {
        let (ours, theirs) = compare(req.as_bytes());
        assert_eq!(ours.accepted, *want, "wsmachine on {req:?}");
        assert_eq!(theirs.accepted, *want, "tungstenite on {req:?}");
    }
    // Differences (docs/conformance.md, "Differences from tungstenite"):
    // wsmachine refuses, tungstenite accepts.
    let stricter = [
        // "Host is required" (RFC 6455 §4.2.1 item 1).
        request_variant("Host:", None),
        // "No body on an upgrade".
        REQUEST.replacen("\r\n\r\n", "\r\nContent-Length: 5\r\n\r\n", 1),
        // "CRLF only".
        REQUEST.replace("\r\n", "\n"),
    ];
    for req in &stricter {
        let (ours, theirs) = compare(req.as_bytes());
        assert!(!ours.accepted, "wsmachine accepted {req:?}");
        assert!(
            theirs.accepted,
            "tungstenite refused {req:?}: the difference is gone, update docs/conformance.md"
        );
    }
}

// Fixed cases that the generator reaches only by chance.
#[test]
fn fixed_frame_cases_agree_with_tungstenite() {
    let cases: Vec<Vec<u8>> = vec![
        m(true, 0x1, "κόσμε".as_bytes()),
        [m(false, 0x1, &[0xce]), m(true, 0x0, &[0xba])].concat(),
        m(true, 0x1, &[0xed, 0xa0, 0x80]),
        m(true, 0x8, &close_payload(1000, b"bye")),
        m(true, 0x8, &close_payload(4000, b"")),
        m(true, 0x8, &close_payload(1004, b"")),
        [m(true, 0x2, &[1; 70_000]), m(true, 0x8, b"")].concat(),
    ];
    for c in cases {
        let mut input = REQUEST.as_bytes().to_vec();
        input.extend_from_slice(&c);
        let (ours, theirs) = compare(&input);
        assert_eq!(ours, theirs, "{c:02x?}");
    }
}
