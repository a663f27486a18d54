//! The client's answer parser: arbitrary answers (raw, or a valid 101 start
//! followed by arbitrary header lines, or a whole valid 101 followed by
//! arbitrary frames) in arbitrary pieces. An `Open` only for a 101 with the
//! right accept key, a subprotocol that was offered and extensions that
//! were; a rejection keeps at most `max_handshake_size` of body; a client
//! writes nothing after its request unless it opened.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsmachine::deflate::DeflateConfig;
use wsmachine::{
    ChaCha20Rng, ClientRequest, Config, Connection, Error, Event, HandshakeError, Instant, Limits,
    Role,
};
use wsmachine_fuzz::check::{Events, Wire};

#[derive(Arbitrary, Debug)]
struct Input {
    start: u8,
    sizes: Vec<u8>,
    deflate: bool,
    small: bool,
    rest: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let limits = if input.small {
        Limits::new()
            .max_handshake_size(300)
            .max_headers(8)
            .max_input_buffer(64)
    } else {
        Limits::new().max_handshake_size(4 << 10)
    };
    let config = Config::new().limits(limits).deflate(
        input
            .deflate
            .then(|| DeflateConfig::new().server_max_window_bits(12)),
    );
    let request = ClientRequest::new("ws://h.example/x")
        .unwrap()
        .subprotocol("chat")
        .subprotocol("v2");
    let mut client =
        Connection::client_with_rng(config, &request, ChaCha20Rng::from_seed([4; 32])).unwrap();
    let mut events = Events::new(&client, true);
    let mut wire = Wire::new(Role::Client, true, 1 << 16);
    let mut req = Vec::new();
    while let Some(b) = client.poll_transmit() {
        req.extend_from_slice(&b);
    }
    wire.push(&req);
    let full = wsmachine_fuzz::peer::answer(&req, None, None);
    let mut bytes = match input.start % 3 {
        0 => Vec::new(),
        1 => full[..full.len() - 2].to_vec(),
        _ => full,
    };
    bytes.extend_from_slice(&input.rest);
    let (mut at, mut i, mut stuck) = (0, 0, 0);
    let mut opened = false;
    loop {
        while let Some(e) = client.poll_event() {
            events.on(&e, &client);
            match &e {
                Event::Open(o) => {
                    opened = true;
                    let r = o.response.as_ref().unwrap();
                    assert_eq!(r.status(), 101);
                    if let Some(p) = client.subprotocol() {
                        assert!(p == "chat" || p == "v2", "{p}");
                    }
                    if let Some(x) = client.extensions() {
                        assert!(input.deflate, "an extension that was not offered: {x}");
                        let parsed = wsmachine::handshake::parse_extensions(x).unwrap();
                        assert_eq!(parsed.len(), 1);
                        assert_eq!(parsed[0].name, "permessage-deflate");
                    }
                }
                Event::Error(Error::Handshake(HandshakeError::Rejected(r))) => {
                    assert_ne!(r.status(), 101);
                    assert!(r.body().len() <= limits.max_handshake_size);
                }
                _ => {}
            }
        }
        while let Some(b) = client.poll_transmit() {
            assert!(opened, "a client wrote after its request without opening");
            wire.push(&b);
        }
        if at >= bytes.len() || client.is_finished() {
            break;
        }
        let size = 1 + usize::from(
            input
                .sizes
                .get(i % input.sizes.len().max(1))
                .copied()
                .unwrap_or(100),
        );
        i += 1;
        let n = client.feed(&bytes[at..(at + size).min(bytes.len())]);
        at += n;
        stuck = if n == 0 { stuck + 1 } else { 0 };
        assert!(stuck < 3, "input stuck");
    }
    client.feed_eof();
    client.handle_timeout(Instant::from_millis(1));
    client.handle_timeout(Instant::from_millis(3_600_000));
    while let Some(e) = client.poll_event() {
        events.on(&e, &client);
    }
    while let Some(b) = client.poll_transmit() {
        wire.push(&b);
    }
    assert!(client.is_finished());
    assert!(events.closed.is_some());
});
