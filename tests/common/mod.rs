//! Shared test helpers: an in-memory client/server pair, a deterministic
//! random source, raw frame builders, and feeding strategies.
#![allow(dead_code, unreachable_pub)]

use wsmachine::{Accept, ClientRequest, Config, Connection, Event, Instant, Message};

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

/// Moves every pending output byte of `from` into `to`.
pub fn pump(from: &mut Connection, to: &mut Connection) -> usize {
    let mut moved = 0;
    while from.wants_write() {
        let chunk = from.output().to_vec();
        from.consume_output(chunk.len());
        to.feed(&chunk);
        moved += chunk.len();
    }
    moved
}

/// Takes all pending output bytes of a connection.
pub fn take_output(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while conn.wants_write() {
        let chunk = conn.output();
        out.extend_from_slice(chunk);
        let n = chunk.len();
        conn.consume_output(n);
    }
    out
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
            let a = pump(&mut self.client, &mut self.server);
            se.extend(drain(&mut self.server));
            let b = pump(&mut self.server, &mut self.client);
            ce.extend(drain(&mut self.client));
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
        conn.feed(piece);
        events.extend(drain(conn));
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
