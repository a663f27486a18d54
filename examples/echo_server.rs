//! A WebSocket echo server on the blocking adapter: one thread per
//! connection, every message sent back as it came. A plain `GET /` (no
//! upgrade) gets a page whose script talks to the server from a browser.
//!
//! ```text
//! cargo run --release --example echo_server            # ws://127.0.0.1:9001
//! cargo run --release --example echo_server -- 0.0.0.0:8080
//! WSMACHINE_DEFLATE_MEMORY=tiny cargo run --release --example echo_server
//! ```
//!
//! `WSMACHINE_DEFLATE_MEMORY` (`tiny`, `small`, `medium`, `large`) and
//! `WSMACHINE_DEFLATE_LEVEL` (0–9) pick the permessage-deflate preset.

#[path = "support/env.rs"]
mod env;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use wsmachine::blocking::{Error, WebSocket};
use wsmachine::{Accept, Config, Connection};

/// The browser demo (`GET /`).
const PAGE: &str = include_str!("echo_server.html");

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr)?;
    let local = listener.local_addr()?;
    eprintln!("echo server listening on ws://{local} (open http://{local}/ in a browser)");
    let config = Arc::new(env::config());
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let config = config.clone();
        thread::spawn(move || {
            let peer = stream.peer_addr().ok();
            if let Err(e) = serve(stream, config) {
                eprintln!("{peer:?}: {e}");
            }
        });
    }
    Ok(())
}

fn serve(mut stream: TcpStream, config: Arc<Config>) -> Result<(), Error> {
    stream.set_nodelay(true)?;
    // Route on the request head: an upgrade goes to the WebSocket
    // connection with the bytes already read, anything else is plain HTTP.
    let head = read_head(&mut stream, config.limits.max_handshake_size)?;
    if !is_upgrade(&head) {
        return Ok(serve_page(stream, &head)?);
    }
    let mut conn = Connection::server(config);
    conn.feed(&head);
    let (mut ws, _) = WebSocket::handshake(stream, conn, |request| {
        // Echo speaks whatever subprotocol the client likes best.
        Ok(match request.subprotocols().next() {
            Some(p) => Accept::new().subprotocol(p),
            None => Accept::new(),
        })
    })?;
    loop {
        match ws.read() {
            // Refused only once the connection is closing: not echoed.
            Ok(message) => match ws.send(message) {
                Ok(()) | Err(Error::Usage(_)) => {}
                Err(e) => return Err(e),
            },
            Err(Error::Closed(_)) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Reads until the end of an HTTP head (or `max` bytes, or EOF); returns
/// everything read.
fn read_head(stream: &mut TcpStream, max: usize) -> io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while head.len() < max && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf)? {
            0 => break,
            n => head.extend_from_slice(&buf[..n]),
        }
    }
    Ok(head)
}

/// Whether the head asks for a WebSocket upgrade (or cannot be parsed:
/// the connection answers those with the right error).
fn is_upgrade(head: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(_)) => request.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("upgrade")
                && String::from_utf8_lossy(h.value)
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("websocket"))
        }),
        _ => true,
    }
}

/// Answers a plain HTTP request: the demo page at `/`, 404 elsewhere.
fn serve_page(mut stream: TcpStream, head: &[u8]) -> io::Result<()> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    let _ = request.parse(head);
    let (status, body) = match (request.method, request.path) {
        (Some("GET"), Some("/")) => ("200 OK", PAGE),
        (Some("GET"), _) => ("404 Not Found", "not found\n"),
        _ => ("405 Method Not Allowed", "only GET\n"),
    };
    let kind = if body == PAGE {
        "text/html"
    } else {
        "text/plain"
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.shutdown(Shutdown::Write)?;
    // Let the client read the answer before the socket goes.
    let _ = io::copy(&mut stream.take(64 << 10), &mut io::sink());
    Ok(())
}
