//! Arbitrary frames at a server that agreed to permessage-deflate, with a
//! small message limit: inflation must stay bounded and never panic.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use wsmachine::{Config, Connection, Delivery, Limits};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    for delivery in [Delivery::Messages, Delivery::Chunks] {
        let limits = Limits::new().max_message_size(1 << 16);
        let mut conn = Connection::server(Config::new().limits(limits).delivery(delivery));
        conn.feed(REQUEST);
        common::drive(&mut conn, data);
        assert!(conn.buffer_capacity() < 1 << 20);
    }
});
