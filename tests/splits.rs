//! Input split anywhere gives the same result (RFC 6455 §5: a frame stream
//! has no alignment with reads), encode/decode round trips, and parsers
//! that never panic.
mod common;

use common::*;
use proptest::prelude::*;
use proptest::sample::Index;
use wsmachine::frame::{FrameHeader, MAX_HEADER_LEN, Status};
use wsmachine::handshake::parse_extensions;
use wsmachine::*;

// ----------------------------------------------------------- generators

/// A control frame to slip between fragments.
#[derive(Clone, Debug)]
enum Control {
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

/// One data message, how to cut it into fragments, and control frames to
/// put between the fragments.
#[derive(Clone, Debug)]
struct Item {
    text: bool,
    payload: Vec<u8>,
    cuts: Vec<Index>,
    between: Vec<Option<Control>>,
}

fn control() -> impl Strategy<Value = Control> {
    let payload = prop::collection::vec(any::<u8>(), 0..=125);
    prop_oneof![
        payload.clone().prop_map(Control::Ping),
        payload.prop_map(Control::Pong),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    let text = prop::collection::vec(any::<char>(), 0..40)
        .prop_map(|chars| (true, chars.into_iter().collect::<String>().into_bytes()));
    let binary = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        (126usize..300).prop_map(|n| vec![0xA5; n]),
    ]
    .prop_map(|b| (false, b));
    (
        prop_oneof![text, binary],
        prop::collection::vec(any::<Index>(), 0..4),
        prop::collection::vec(prop::option::weighted(0.3, control()), 0..4),
    )
        .prop_map(|((text, payload), cuts, between)| Item {
            text,
            payload,
            cuts,
            between,
        })
}

/// A Close frame ending the sequence: a valid code and a short reason.
fn closing() -> impl Strategy<Value = (u16, String)> {
    (
        prop::sample::select(vec![1000u16, 1001, 1003, 1008, 1011, 3000, 4999]),
        "[a-z ]{0,20}",
    )
}

/// Sizes of successive reads (cycled).
fn reads() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..40, 1..12)
}

// --------------------------------------------------------------- model

fn control_frame(c: &Control, key: [u8; 4]) -> (Vec<u8>, String) {
    match c {
        Control::Ping(p) => (frame(true, 0x9, p, Some(key)), format!("ping:{p:?}")),
        Control::Pong(p) => (frame(true, 0xA, p, Some(key)), format!("pong:{p:?}")),
    }
}

/// The masked wire bytes of `items` and a closing frame, and the event
/// summaries a server must produce for them.
fn encode(items: &[Item], close: &(u16, String)) -> (Vec<u8>, Vec<String>) {
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    let mut n = 0u8;
    let mut key = || {
        n = n.wrapping_add(1);
        [n, n.wrapping_mul(7), 0x5A, !n]
    };
    for item in items {
        let len = item.payload.len();
        let mut bounds: Vec<usize> = item.cuts.iter().map(|i| i.index(len + 1)).collect();
        bounds.extend([0, len]);
        bounds.sort_unstable();
        bounds.dedup();
        if bounds.len() == 1 {
            bounds.push(len);
        }
        let pieces = bounds.len() - 1;
        for i in 0..pieces {
            let op = match (i, item.text) {
                (0, true) => 0x1,
                (0, false) => 0x2,
                _ => 0x0,
            };
            let part = &item.payload[bounds[i]..bounds[i + 1]];
            wire.extend(frame(i == pieces - 1, op, part, Some(key())));
            if i < pieces - 1
                && let Some(Some(c)) = item.between.get(i)
            {
                let (bytes, summary) = control_frame(c, key());
                wire.extend(bytes);
                expected.push(summary);
            }
        }
        expected.push(if item.text {
            format!("text:{}", std::str::from_utf8(&item.payload).unwrap())
        } else {
            format!("binary:{:?}", item.payload)
        });
    }
    let (code, reason) = close;
    wire.extend(frame(
        true,
        0x8,
        &close_payload(*code, reason.as_bytes()),
        Some(key()),
    ));
    expected.push(format!("closed:{code}:true:{reason}"));
    (wire, expected)
}

/// Feeds `input` in reads of the given sizes (cycled), polling after each.
fn feed_reads(conn: &mut Connection, input: &[u8], sizes: &[usize]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut rest = input;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        events.extend(feed_all(conn, piece));
        rest = tail;
    }
    events
}

/// Runs a server through `input` (request first), accepting the request,
/// in reads of the given sizes; ends with EOF. Returns summaries and
/// output.
fn serve_reads(input: &[u8], sizes: &[usize]) -> (Vec<String>, Vec<u8>) {
    let mut server = Connection::server(Config::default());
    let mut events = Vec::new();
    let mut rest = input;
    let poll = |server: &mut Connection, events: &mut Vec<Event>| {
        while let Some(event) = server.poll_event() {
            let is_request = matches!(event, Event::Request(_));
            events.push(event);
            if is_request {
                server.accept(Accept::new()).unwrap();
            }
        }
    };
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (mut piece, tail) = rest.split_at(size.min(rest.len()));
        while !piece.is_empty() {
            let n = server.feed(piece);
            piece = &piece[n..];
            poll(&mut server, &mut events);
        }
        rest = tail;
    }
    server.feed_eof();
    poll(&mut server, &mut events);
    (summaries(&events), take_output(&mut server))
}

/// A deterministic payload of `len` bytes.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A message to send: text or binary, of a size around the length-form
/// boundaries.
fn sendable() -> impl Strategy<Value = Message> {
    let len = prop_oneof![
        0usize..300,
        65_530usize..65_540,
        Just(65_536usize),
        70_000usize..70_010,
    ];
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..60)
            .prop_map(|c| Message::from(c.into_iter().collect::<String>())),
        (len, any::<u8>()).prop_map(|(n, seed)| Message::from(payload(n, seed))),
    ]
}

// ------------------------------------------------------ frame sequences

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    // §5: the same frames give the same events, whole, byte by byte or in
    // random reads.
    #[test]
    fn frame_sequences_are_independent_of_reads(
        items in prop::collection::vec(item(), 0..5),
        close in closing(),
        sizes in reads(),
    ) {
        let (wire, expected) = encode(&items, &close);
        let mut whole = open_server(Config::default());
        let (whole_events, whole_output) = exchange(&mut whole, &wire);
        prop_assert_eq!(&summaries(&whole_events), &expected);

        let mut bytewise = open_server(Config::default());
        let events = summaries(&feed_in_pieces(&mut bytewise, &wire, 1));
        prop_assert_eq!(&events, &expected);
        prop_assert_eq!(&take_output(&mut bytewise), &whole_output);

        let mut split = open_server(Config::default());
        let events = summaries(&feed_reads(&mut split, &wire, &sizes));
        prop_assert_eq!(&events, &expected);
        prop_assert_eq!(&take_output(&mut split), &whole_output);
        prop_assert!(split.wants_shutdown());
        split.feed_eof();
        prop_assert!(split.is_finished());
    }

    // §5 in chunk mode: however the reads fall, each message's chunks join
    // into the message, with first/last flags in place and every text chunk
    // valid UTF-8.
    #[test]
    fn chunked_delivery_is_independent_of_reads(
        items in prop::collection::vec(item(), 1..5),
        sizes in reads(),
    ) {
        let (wire, _) = encode(&items, &(1000, String::new()));
        let mut server = open_server(Config::new().delivery(Delivery::Chunks));
        let events = feed_reads(&mut server, &wire, &sizes);
        let mut messages: Vec<(bool, Vec<u8>)> = Vec::new();
        let mut open = false;
        for e in &events {
            if let Event::Chunk(c) = e {
                prop_assert_eq!(c.first, !open);
                if c.first {
                    messages.push((c.kind == MessageKind::Text, Vec::new()));
                }
                if c.kind == MessageKind::Text {
                    prop_assert!(c.text().is_some(), "chunk not UTF-8: {:02x?}", &c.data[..]);
                }
                messages.last_mut().unwrap().1.extend_from_slice(&c.data);
                open = !c.last;
            }
        }
        prop_assert!(!open);
        let expected: Vec<(bool, Vec<u8>)> =
            items.iter().map(|i| (i.text, i.payload.clone())).collect();
        prop_assert_eq!(messages, expected);
    }

    // §4.2 + §5: a request followed by frames, split anywhere, gives the
    // same events and the same output.
    #[test]
    fn handshake_and_frames_are_independent_of_reads(
        items in prop::collection::vec(item(), 0..4),
        close in closing(),
        sizes in reads(),
    ) {
        let (frames, expected) = encode(&items, &close);
        let mut input = REQUEST.as_bytes().to_vec();
        input.extend(&frames);
        let mut want = vec!["request".to_string(), "open".to_string()];
        want.extend(expected);
        let (whole, whole_output) = serve_reads(&input, &[input.len()]);
        prop_assert_eq!(&whole, &want);
        let (bytewise, output) = serve_reads(&input, &[1]);
        prop_assert_eq!(&bytewise, &want);
        prop_assert_eq!(&output, &whole_output);
        let (split, output) = serve_reads(&input, &sizes);
        prop_assert_eq!(&split, &want);
        prop_assert_eq!(&output, &whole_output);
    }
}

// ------------------------------------------------------------ round trips

/// Sends `messages` from one side and reads them back on the other in reads
/// of `sizes` bytes.
fn round_trip(
    sender: &mut Connection,
    receiver: &mut Connection,
    messages: &[Message],
    sizes: &[usize],
) -> Vec<Message> {
    for m in messages {
        sender.send(m.clone()).unwrap();
    }
    let wire = take_output(sender);
    feed_reads(receiver, &wire, sizes)
        .into_iter()
        .map(|e| match e {
            Event::Message(m) => m,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    // §5.2/§5.3: what a client sends, a server reads back unchanged, for any
    // size (all three length forms) and any reads.
    #[test]
    fn client_to_server_round_trip(
        messages in prop::collection::vec(sendable(), 1..4),
        sizes in prop::collection::vec(1usize..5000, 1..6),
    ) {
        let got = round_trip(
            &mut open_client(Config::default()),
            &mut open_server(Config::default()),
            &messages,
            &sizes,
        );
        prop_assert_eq!(got, messages);
    }

    // The other direction: server to client.
    #[test]
    fn server_to_client_round_trip(
        messages in prop::collection::vec(sendable(), 1..4),
        sizes in prop::collection::vec(1usize..5000, 1..6),
    ) {
        let got = round_trip(
            &mut open_server(Config::default()),
            &mut open_client(Config::default()),
            &messages,
            &sizes,
        );
        prop_assert_eq!(got, messages);
    }

    // §5.4: fragments sent with send_fragment come back as the whole
    // message, between two connections that negotiated with each other.
    #[test]
    fn fragmented_round_trip_between_peers(
        parts in prop::collection::vec((0usize..3000, any::<u8>()), 1..5),
        text in any::<bool>(),
    ) {
        let mut pair = Pair::new();
        let mut whole = Vec::new();
        for (i, (len, seed)) in parts.iter().enumerate() {
            let last = i == parts.len() - 1;
            let bytes = if text { vec![b'a' + seed % 26; *len] } else { payload(*len, *seed) };
            whole.extend_from_slice(&bytes);
            let kind = if text { MessageKind::Text } else { MessageKind::Binary };
            pair.client.send_fragment(kind, bytes, last).unwrap();
        }
        let (_, server_events) = pair.run();
        prop_assert_eq!(server_events.len(), 1);
        match &server_events[0] {
            Event::Message(m) => {
                prop_assert_eq!(m.as_bytes(), &whole[..]);
                prop_assert_eq!(m.kind() == MessageKind::Text, text);
            }
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}

// ---------------------------------------------------------------- parsers

/// Mutations of a valid request.
#[derive(Clone, Debug)]
enum Mutation {
    Replace(Index, u8),
    Remove(Index),
    Insert(Index, Vec<u8>),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        any::<Index>().prop_map(Mutation::Remove),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        match m {
            Mutation::Replace(i, b) => {
                let i = i.index(bytes.len());
                bytes[i] = *b;
            }
            Mutation::Remove(i) => {
                bytes.remove(i.index(bytes.len()));
            }
            Mutation::Insert(i, b) => {
                let i = i.index(bytes.len());
                bytes.splice(i..i, b.iter().copied());
            }
            Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
        }
    }
    bytes
}

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,8}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    // §5.2: the header decoder, fed any bytes, never panics; prefixes of a
    // complete header are partial; trailing bytes change nothing; an error
    // is the same however many bytes follow.
    #[test]
    fn frame_header_decode_is_prefix_consistent(
        bytes in prop::collection::vec(any::<u8>(), 0..20),
        junk in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let whole = FrameHeader::decode(&bytes);
        let mut extended = bytes.clone();
        extended.extend(&junk);
        match whole {
            Ok(Status::Complete((h, n))) => {
                prop_assert!(n <= bytes.len() && n <= MAX_HEADER_LEN);
                for k in 0..n {
                    prop_assert_eq!(FrameHeader::decode(&bytes[..k]), Ok(Status::Partial));
                }
                prop_assert_eq!(FrameHeader::decode(&bytes[..n]), Ok(Status::Complete((h, n))));
                prop_assert_eq!(FrameHeader::decode(&extended), Ok(Status::Complete((h, n))));
                // Encoding gives a header that decodes to the same value.
                let mut buf = [0u8; MAX_HEADER_LEN];
                let m = h.encode(&mut buf);
                prop_assert_eq!(FrameHeader::decode(&buf[..m]), Ok(Status::Complete((h, m))));
            }
            Ok(Status::Partial) => {
                for k in 0..bytes.len() {
                    prop_assert_eq!(FrameHeader::decode(&bytes[..k]), Ok(Status::Partial));
                }
            }
            Err(e) => {
                prop_assert_eq!(FrameHeader::decode(&extended), Err(e));
                for k in 0..bytes.len() {
                    let prefix = FrameHeader::decode(&bytes[..k]);
                    prop_assert!(prefix == Ok(Status::Partial) || prefix == Err(e));
                }
            }
        }
    }

    // §9.1: the extension parser never panics, and what it accepts prints
    // back to a value that parses the same.
    #[test]
    fn parse_extensions_never_panics_and_is_stable(value in ".{0,40}") {
        if let Some(exts) = parse_extensions(&value) {
            prop_assert!(!exts.is_empty());
            let printed = exts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            prop_assert_eq!(parse_extensions(&printed), Some(exts));
        }
    }

    // §9.1: a generated offer parses to what was generated, with quoted or
    // bare values and with empty list elements around it.
    #[test]
    fn parse_extensions_reads_generated_offers(
        exts in prop::collection::vec(
            (token(), prop::collection::vec((token(), prop::option::of(token()), any::<bool>()), 0..3)),
            1..4,
        ),
    ) {
        let rendered: Vec<String> = exts
            .iter()
            .map(|(name, params)| {
                let mut s = name.clone();
                for (p, v, quoted) in params {
                    s.push_str(" ; ");
                    s.push_str(p);
                    match (v, quoted) {
                        (Some(v), true) => s.push_str(&format!("=\"{v}\"")),
                        (Some(v), false) => s.push_str(&format!("={v}")),
                        (None, _) => {}
                    }
                }
                s
            })
            .collect();
        let value = format!(" ,{},", rendered.join(" ,\t"));
        let parsed = parse_extensions(&value).expect("a valid offer");
        prop_assert_eq!(parsed.len(), exts.len());
        for (got, (name, params)) in parsed.iter().zip(&exts) {
            prop_assert_eq!(&got.name, name);
            prop_assert_eq!(got.params.len(), params.len());
            for (gp, (p, v, _)) in got.params.iter().zip(params) {
                prop_assert_eq!(&gp.name, p);
                prop_assert_eq!(&gp.value, v);
            }
        }
        // Junk that breaks the grammar is refused, never mis-parsed.
        let broken = format!("{value} ;");
        prop_assert_eq!(parse_extensions(&broken), None);
    }

    // §4.2.1: a server fed any mangled request never panics, and gives the
    // same events and output whole or byte by byte.
    #[test]
    fn server_request_parsing_is_independent_of_reads(
        mutations in prop::collection::vec(mutation(), 0..3),
        junk in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let request = mutate(REQUEST.as_bytes().to_vec(), &mutations);
        let whole = serve_reads(&request, &[request.len().max(1)]);
        let bytewise = serve_reads(&request, &[1]);
        prop_assert_eq!(&whole, &bytewise);
        // Bytes after a complete head do not change how the head is judged.
        let mut with_junk = request.clone();
        with_junk.extend(&junk);
        let (junk_events, _) = serve_reads(&with_junk, &[with_junk.len().max(1)]);
        let (bytewise_junk, _) = serve_reads(&with_junk, &[1]);
        prop_assert_eq!(&junk_events, &bytewise_junk);
        if request.windows(4).any(|w| w == b"\r\n\r\n") {
            prop_assert_eq!(junk_events.first(), whole.0.first());
        }
    }

    // §5: any bytes after the handshake, whole or byte by byte, give the
    // same events and output, and never panic.
    #[test]
    fn arbitrary_frame_bytes_are_independent_of_reads(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        client in any::<bool>(),
    ) {
        let open = |c: bool| if c { open_client(Config::default()) } else { open_server(Config::default()) };
        let mut whole = open(client);
        whole.feed(&bytes);
        whole.feed_eof();
        let whole_events = summaries(&drain(&mut whole));
        let mut bytewise = open(client);
        let mut events = feed_in_pieces(&mut bytewise, &bytes, 1);
        bytewise.feed_eof();
        events.extend(drain(&mut bytewise));
        prop_assert_eq!(&summaries(&events), &whole_events);
        prop_assert!(whole_events.last().unwrap().starts_with("closed:"));
        prop_assert_eq!(take_output(&mut whole), take_output(&mut bytewise));
    }
}
