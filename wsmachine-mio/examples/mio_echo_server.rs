//! A WebSocket echo server on one thread: every connection in one mio
//! event loop.
//!
//! ```text
//! cargo run --release -p wsmachine-mio --example mio_echo_server [ADDR]   # ws://127.0.0.1:9001
//! ```

use std::sync::Arc;

use wsmachine::{Config, Connection, Event};
use wsmachine_mio::{EventLoop, Handler, Id};

struct Echo;

impl Handler for Echo {
    fn event(&mut self, _id: Id, conn: &mut Connection, event: Event) {
        match event {
            // The loop hands over events only once the output is written,
            // so an echo always fits; it is refused only while closing.
            Event::Message(message) => {
                let _ = conn.send(message);
            }
            Event::Error(e) => eprintln!("connection failed: {e}"),
            _ => {}
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let addr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut event_loop = EventLoop::new(Echo)?;
    let local = event_loop.listen(addr, Arc::new(Config::default()))?;
    eprintln!("echo server (one thread, mio) listening on ws://{local}");
    event_loop.run()
}
