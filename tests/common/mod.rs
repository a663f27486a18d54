//! Shared test helpers: an in-memory client/server pair, a deterministic
//! random source, raw frame builders, and feeding strategies.
#![allow(dead_code, unreachable_pub)]

use wsmachine::{Accept, Agreement, ClientRequest, Config, Connection, Event, Instant, Message};

/// A deterministic, non-repeating byte source (for tests only).
pub fn test_rng(seed: u8) -> impl FnMut(&mut [u8]) + Send + 'static {
    let mut state = u64::from(seed) | 0x9E37_79B9_7F4A_7C00;
    move |buf: &mut [u8]| {
        for b in buf {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            *b = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
    }
}

/// Moves every pending output byte of `from` into `to` (which must take it
/// all: poll its events between pumps).
pub fn pump(from: &mut Connection, to: &mut Connection) -> usize {
    let mut moved = 0;
    while let Some(chunk) = from.poll_transmit() {
        let taken = to.feed(&chunk);
        assert_eq!(taken, chunk.len(), "the receiver's input buffer is full");
        moved += chunk.len();
    }
    moved
}

/// Moves every pending output byte of `from` into `to`, polling `to`'s
/// events whenever it takes no more; returns those events.
pub fn pump_events(from: &mut Connection, to: &mut Connection) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(chunk) = from.poll_transmit() {
        events.extend(feed_all(to, &chunk));
    }
    events.extend(drain(to));
    events
}

/// Moves `from`'s output into `to`, collecting `to`'s events; returns how
/// many bytes moved.
pub fn transfer(from: &mut Connection, to: &mut Connection, events: &mut Vec<Event>) -> usize {
    let mut moved = 0;
    while let Some(chunk) = from.poll_transmit() {
        moved += chunk.len();
        events.extend(feed_all(to, &chunk));
    }
    events.extend(drain(to));
    moved
}

/// Takes all pending output bytes of a connection.
pub fn take_output(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = conn.poll_transmit() {
        out.extend_from_slice(&chunk);
    }
    out
}

/// Feeds all of `input`, polling events whenever the connection takes no
/// more, and returns the events.
pub fn feed_all(conn: &mut Connection, mut input: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let n = conn.feed(input);
        input = &input[n..];
        let before = events.len();
        events.extend(drain(conn));
        if input.is_empty() {
            return events;
        }
        assert!(
            n > 0 || events.len() > before,
            "the connection takes no input and has no event"
        );
    }
}

/// An already-open server (handshake done elsewhere).
pub fn upgraded_server(config: Config) -> Connection {
    Connection::upgraded_server(config, &Agreement::new()).unwrap()
}

/// An already-open client (handshake done elsewhere) with a fixed rng.
pub fn upgraded_client(config: Config) -> Connection {
    Connection::upgraded_client_with_rng(config, &Agreement::new(), test_rng(3)).unwrap()
}

/// Polls every pending event.
pub fn drain(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// A client and a server connected in memory, handshake done.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
}

impl Pair {
    pub fn new() -> Pair {
        Pair::with_configs(Config::default(), Config::default())
    }

    pub fn with_configs(client: Config, server: Config) -> Pair {
        let request = ClientRequest::new("ws://localhost/test").unwrap();
        let mut client = Connection::client_with_rng(client, &request, test_rng(1)).unwrap();
        let mut server = Connection::server(server);
        pump(&mut client, &mut server);
        match server.poll_event() {
            Some(Event::Request(_)) => server.accept(Accept::new()).unwrap(),
            other => panic!("expected a request, got {other:?}"),
        }
        assert!(matches!(server.poll_event(), Some(Event::Open(_))));
        pump(&mut server, &mut client);
        match client.poll_event() {
            Some(Event::Open(_)) => {}
            other => panic!("expected open, got {other:?}"),
        }
        Pair { client, server }
    }

    /// Moves bytes both ways until neither side has output, collecting
    /// events: (client events, server events).
    pub fn run(&mut self) -> (Vec<Event>, Vec<Event>) {
        let mut ce = Vec::new();
        let mut se = Vec::new();
        loop {
            let a = transfer(&mut self.client, &mut self.server, &mut se);
            let b = transfer(&mut self.server, &mut self.client, &mut ce);
            if a == 0 && b == 0 {
                return (ce, se);
            }
        }
    }
}

/// Encodes one frame. `mask` adds a masking key (client-to-server frames).
pub fn frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    frame_rsv(fin, 0, opcode, payload, mask)
}

/// Encodes one frame with reserved bits `rsv` (0..=7, RSV1 = 4).
pub fn frame_rsv(fin: bool, rsv: u8, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | (rsv << 4) | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(m | n as u8),
        n @ 126..=0xFFFF => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A client-to-server frame with a fixed key.
pub fn cframe(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, opcode, payload, Some([0x11, 0x22, 0x33, 0x44]))
}

/// A server whose handshake is done (request fed, accepted, response taken).
pub fn open_server(config: Config) -> Connection {
    let mut server = Connection::server(config);
    server.feed(REQUEST.as_bytes());
    match server.poll_event() {
        Some(Event::Request(_)) => server.accept(Accept::new()).unwrap(),
        other => panic!("expected request, got {other:?}"),
    }
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
    take_output(&mut server);
    server
}

/// A client whose handshake is done.
pub fn open_client(config: Config) -> Connection {
    let request = ClientRequest::new("ws://localhost/").unwrap();
    let mut client = Connection::client_with_rng(config, &request, test_rng(7)).unwrap();
    let req = take_output(&mut client);
    let req = String::from_utf8(req).unwrap();
    let key = req
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let accept = wsmachine::handshake::accept_key(key.trim().as_bytes());
    client.feed(
        format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n")
            .as_bytes(),
    );
    assert!(matches!(client.poll_event(), Some(Event::Open(_))));
    client
}

pub const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Feeds `input` in pieces of `size` bytes, polling after each, and returns
/// all events.
pub fn feed_in_pieces(conn: &mut Connection, input: &[u8], size: usize) -> Vec<Event> {
    let mut events = Vec::new();
    for piece in input.chunks(size.max(1)) {
        events.extend(feed_all(conn, piece));
    }
    events
}

/// A comparable summary of an event.
pub fn summary(e: &Event) -> String {
    match e {
        Event::Message(Message::Text(t)) => format!("text:{}", t.as_str()),
        Event::Message(Message::Binary(b)) => format!("binary:{:?}", &b[..]),
        Event::Chunk(c) => format!(
            "chunk:{:?}:{}:{}:{:?}",
            c.kind,
            c.first,
            c.last,
            &c.data[..]
        ),
        Event::Ping(p) => format!("ping:{:?}", &p[..]),
        Event::Pong(p) => format!("pong:{:?}", &p[..]),
        Event::Error(e) => format!("error:{e:?}"),
        Event::Closed(c) => format!("closed:{}:{}:{}", c.code, c.clean, c.reason),
        Event::Open(_) => "open".into(),
        Event::Request(_) => "request".into(),
        other => format!("{other:?}"),
    }
}

pub fn summaries(events: &[Event]) -> Vec<String> {
    events.iter().map(summary).collect()
}

pub const T0: Instant = Instant::ZERO;

/// A frame decoded from output bytes by the tests' own decoder (independent
/// of the crate's), with the payload already unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireFrame {
    pub fin: bool,
    /// The three reserved bits, RSV1 = 4.
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    /// The length encoding used: 7, 16 or 64 bits.
    pub length_bits: u8,
    pub payload: Vec<u8>,
}

/// Splits a byte stream into frames; panics on a truncated frame.
pub fn parse_frames(mut bytes: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "truncated frame header");
        let (b0, b1) = (bytes[0], bytes[1]);
        let (len, mut at, length_bits) = match b1 & 0x7F {
            126 => (u64::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4, 16),
            127 => (u64::from_be_bytes(bytes[2..10].try_into().unwrap()), 10, 64),
            n => (u64::from(n), 2, 7),
        };
        let mask = (b1 & 0x80 != 0).then(|| {
            let key: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
            at += 4;
            key
        });
        let len = usize::try_from(len).unwrap();
        assert!(bytes.len() >= at + len, "truncated frame payload");
        let mut payload = bytes[at..at + len].to_vec();
        if let Some(key) = mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        frames.push(WireFrame {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0x7,
            opcode: b0 & 0x0F,
            mask,
            length_bits,
            payload,
        });
        bytes = &bytes[at + len..];
    }
    frames
}

/// The payload of a Close frame with a status code.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// The exact bytes a server sends for a Close frame with `code` and no
/// reason.
pub fn server_close(code: u16) -> Vec<u8> {
    frame(true, 0x8, &code.to_be_bytes(), None)
}

/// Feeds `input` to `conn` and returns (events, output bytes).
pub fn exchange(conn: &mut Connection, input: &[u8]) -> (Vec<Event>, Vec<u8>) {
    let events = feed_all(conn, input);
    (events, take_output(conn))
}

/// The `Closed` event at the end of `events`; panics if it is not last.
pub fn closed_of(events: &[Event]) -> &wsmachine::Closed {
    match events.last() {
        Some(Event::Closed(c)) => c,
        other => panic!("expected Closed last, got {other:?} in {events:?}"),
    }
}

/// The single `Error` event in `events`; panics if there is none or more.
pub fn error_of(events: &[Event]) -> &wsmachine::Error {
    let errors: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Error(err) => Some(err),
            _ => None,
        })
        .collect();
    match errors.as_slice() {
        [one] => one,
        _ => panic!("expected exactly one error in {events:?}"),
    }
}

/// Asserts that `events` is exactly `[Error(expected), Closed]` and that
/// the only output is a Close frame with `code` (server side, unmasked).
pub fn assert_server_fails(
    events: &[Event],
    output: &[u8],
    expected: &wsmachine::Error,
    code: u16,
) {
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(error_of(events), expected);
    let closed = closed_of(events);
    assert!(!closed.clean);
    assert_eq!(closed.code, wsmachine::CloseCode::ABNORMAL);
    assert_eq!(closed.sent.as_ref().map(|f| f.code.as_u16()), Some(code));
    assert_eq!(output, server_close(code), "output {output:02x?}");
}

/// Runs a server through its handshake from `input` (a request, maybe
/// followed by frames), accepting the request as soon as it appears and
/// feeding `input` in pieces of `size` bytes. Returns every event and the
/// output bytes.
pub fn serve_in_pieces(config: Config, input: &[u8], size: usize) -> (Vec<Event>, Vec<u8>) {
    let mut server = Connection::server(config);
    let mut events = Vec::new();
    for piece in input.chunks(size.max(1)) {
        let mut piece = piece;
        while !piece.is_empty() {
            let n = server.feed(piece);
            piece = &piece[n..];
            while let Some(event) = server.poll_event() {
                let is_request = matches!(event, Event::Request(_));
                events.push(event);
                if is_request {
                    server.accept(Accept::new()).unwrap();
                }
            }
        }
    }
    let output = take_output(&mut server);
    (events, output)
}
