//! Arbitrary bytes at a client: after a valid 101, or as the answer itself.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use wsmachine::handshake::accept_key;
use wsmachine::{ChaCha20Rng, ClientRequest, Config, Connection, Limits};

fuzz_target!(|data: &[u8]| {
    let request = ClientRequest::new("ws://fuzz/").expect("valid URI");
    let limits = Limits::new().max_message_size(1 << 16);
    for valid_answer in [false, true] {
        let rng = ChaCha20Rng::from_seed([3; 32]);
        let mut conn = Connection::client_with_rng(Config::new().limits(limits), &request, rng)
            .expect("valid request");
        let sent: Vec<u8> = conn.output_chunks().flatten().copied().collect();
        conn.consume_output(sent.len());
        if valid_answer {
            let text = String::from_utf8_lossy(&sent);
            let key = text
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .expect("a key");
            let answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_key(key.as_bytes())
            );
            conn.feed(answer.as_bytes());
        }
        common::drive(&mut conn, data);
    }
});
