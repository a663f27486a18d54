//! The permessage-deflate codec against zlib-rs (through flate2), through
//! whole connections: messages a wsmachine client compresses (every memory
//! preset and level, with or without context takeover) are inflated by
//! zlib-rs to the same bytes and by a wsmachine server to the same
//! messages; messages zlib-rs compresses with the window the server agreed
//! reach the server's application unchanged.
#![no_main]

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use libfuzzer_sys::fuzz_target;
use wsmachine::deflate::{DeflateConfig, Memory};
use wsmachine::{Accept, ChaCha20Rng, ClientRequest, Config, Connection, Event, Limits};

const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

fn move_bytes(from: &mut Connection, to: &mut Connection) -> Vec<u8> {
    let mut all = Vec::new();
    while let Some(b) = from.poll_transmit() {
        all.extend_from_slice(&b);
        let mut at = 0;
        while at < b.len() {
            let n = to.feed(&b[at..]);
            at += n;
            if n == 0 {
                break;
            }
        }
    }
    all
}

/// (RSV1, unmasked payload) of each client data frame in `wire`.
fn frames(mut wire: &[u8]) -> Vec<(bool, Vec<u8>)> {
    let mut out = Vec::new();
    while wire.len() >= 2 {
        let rsv1 = wire[0] & 0x40 != 0;
        let (len, mut at) = match wire[1] & 0x7F {
            126 => (u64::from(u16::from_be_bytes([wire[2], wire[3]])), 4),
            127 => (u64::from_be_bytes(wire[2..10].try_into().unwrap()), 10),
            n => (u64::from(n), 2),
        };
        let key = [wire[at], wire[at + 1], wire[at + 2], wire[at + 3]];
        at += 4;
        let len = len as usize;
        let payload: Vec<u8> = wire[at..at + len]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        out.push((rsv1, payload));
        wire = &wire[at + len..];
    }
    out
}

fn zlib_inflate(d: &mut Decompress, data: &[u8]) -> Vec<u8> {
    let mut input = data.to_vec();
    input.extend_from_slice(&TAIL);
    let mut out = Vec::with_capacity(4096);
    let mut at = 0;
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity());
        }
        let before = d.total_in();
        let st = d
            .decompress_vec(&input[at..], &mut out, FlushDecompress::Sync)
            .expect("zlib-rs inflates what wsmachine compressed");
        at += (d.total_in() - before) as usize;
        if st == Status::StreamEnd || (at == input.len() && out.len() < out.capacity()) {
            return out;
        }
    }
}

fn zlib_deflate(c: &mut Compress, m: &[u8]) -> Vec<u8> {
    if m.is_empty() {
        return vec![0x00];
    }
    let mut out = Vec::with_capacity(m.len() + 64);
    let mut at = 0;
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity());
        }
        let before = c.total_in();
        c.compress_vec(&m[at..], &mut out, FlushCompress::Sync).unwrap();
        at += (c.total_in() - before) as usize;
        if at == m.len() && out.len() < out.capacity() {
            break;
        }
    }
    out.truncate(out.len() - 4);
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rest)) = data.split_first() else {
        return;
    };
    let memory = [Memory::Tiny, Memory::Small, Memory::Medium, Memory::Large][knobs as usize & 3];
    let level = u32::from(knobs >> 2) % 10;
    let no_takeover = knobs & 0x80 != 0;
    let deflate = DeflateConfig::new()
        .memory(memory)
        .level(level)
        .min_size(0)
        .client_no_context_takeover(no_takeover);
    let config = Config::new()
        .deflate(Some(deflate))
        .limits(Limits::new().max_message_size(1 << 20));
    // Messages: split at 0xFF bytes.
    let messages: Vec<&[u8]> = rest.split(|&b| b == 0xFF).collect();

    let request = ClientRequest::new("ws://fuzz/").unwrap();
    let mut client =
        Connection::client_with_rng(config.clone(), &request, ChaCha20Rng::from_seed([7; 32]))
            .unwrap();
    let mut server = Connection::server(config);
    move_bytes(&mut client, &mut server);
    let Some(Event::Request(_)) = server.poll_event() else {
        panic!("no request")
    };
    server.accept(Accept::new()).unwrap();
    while server.poll_event().is_some() {}
    move_bytes(&mut server, &mut client);
    while client.poll_event().is_some() {}

    // wsmachine -> zlib-rs and wsmachine -> wsmachine.
    let mut z = Decompress::new(false);
    for m in &messages {
        client.send(m.to_vec()).unwrap();
        let wire = move_bytes(&mut client, &mut server);
        let [(rsv1, payload)] = &frames(&wire)[..] else {
            panic!("one frame per message")
        };
        let got = if *rsv1 {
            let got = zlib_inflate(&mut z, payload);
            if no_takeover {
                z = Decompress::new(false);
            }
            got
        } else {
            payload.clone()
        };
        assert_eq!(&got, m);
        match server.poll_event() {
            Some(Event::Message(msg)) => assert_eq!(msg.as_bytes(), *m),
            other => panic!("{other:?}"),
        }
    }

    // zlib-rs -> wsmachine, with the client window the server agreed.
    let bits = match memory {
        Memory::Tiny => 10,
        Memory::Small => 12,
        Memory::Medium => 13,
        _ => 15,
    };
    let request = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    );
    let mut server = Connection::server(
        Config::new()
            .deflate(Some(DeflateConfig::new().memory(memory)))
            .limits(Limits::new().max_message_size(1 << 20)),
    );
    server.feed(request.as_bytes());
    let Some(Event::Request(_)) = server.poll_event() else {
        panic!("no request")
    };
    server.accept(Accept::new()).unwrap();
    while server.poll_event().is_some() {}
    while server.poll_transmit().is_some() {}
    let mut c = Compress::new_with_window_bits(Compression::new(level), false, bits.max(9));
    for m in &messages {
        let payload = zlib_deflate(&mut c, m);
        let mut frame = vec![0xC2u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(&payload);
        let mut at = 0;
        while at < frame.len() {
            let n = server.feed(&frame[at..]);
            at += n;
            if n == 0 {
                break;
            }
        }
        match server.poll_event() {
            Some(Event::Message(msg)) => assert_eq!(msg.as_bytes(), *m),
            other => panic!("{other:?}"),
        }
    }
});
