//! Arbitrary bytes at a server: a request head first, then frames.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use wsmachine::{Config, Connection, Delivery, Limits};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    let limits = Limits::new().max_message_size(1 << 16).max_frame_size(1 << 16);
    // The raw bytes as a request, and the bytes as frames after a valid
    // request, in both delivery modes.
    for (prefix, delivery) in [
        (&b""[..], Delivery::Messages),
        (REQUEST, Delivery::Messages),
        (REQUEST, Delivery::Chunks),
    ] {
        let mut conn = Connection::server(Config::new().limits(limits).delivery(delivery));
        conn.feed(prefix);
        common::drive(&mut conn, data);
    }
});
