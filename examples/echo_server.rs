//! A blocking WebSocket echo server: one thread per connection, every
//! message sent back as it came.
//!
//! ```text
//! cargo run --release --example echo_server            # ws://127.0.0.1:9001
//! cargo run --release --example echo_server -- 0.0.0.0:8080
//! ```

#[path = "support/blocking.rs"]
mod blocking;

use std::io;
use std::net::{TcpListener, TcpStream};
use std::thread;

use blocking::Blocking;
use wsmachine::{Accept, Config, Connection, Event};

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr)?;
    eprintln!("echo server listening on ws://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        thread::spawn(move || {
            let peer = stream.peer_addr().ok();
            if let Err(e) = serve(stream) {
                eprintln!("{peer:?}: {e}");
            }
        });
    }
    Ok(())
}

fn serve(stream: TcpStream) -> io::Result<()> {
    let mut ws = Blocking::new(stream, Connection::server(Config::default()))?;
    while let Some(event) = ws.next_event()? {
        match event {
            Event::Request(request) => {
                // Echo speaks whatever subprotocol the client likes best.
                let mut accept = Accept::new();
                if let Some(p) = request.subprotocols().next() {
                    accept = accept.subprotocol(p);
                }
                ws.conn.accept(accept)?;
            }
            // A message that arrives while we close is not echoed.
            Event::Message(message) => {
                let _ = ws.send(message);
            }
            Event::Error(e) => eprintln!("connection failed: {e}"),
            _ => {}
        }
    }
    Ok(())
}
