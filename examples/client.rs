//! A line-oriented WebSocket client: each line of stdin is sent as a text
//! message, each message received is printed on its own line. At the end of
//! stdin it waits for replies (until as many messages came back as were
//! sent, or one second passes without one), then closes the connection
//! cleanly and exits 0.
//!
//! ```text
//! cargo run --release --example client -- ws://127.0.0.1:9001/
//! ```
//!
//! Only `ws://`: TLS belongs to the driver, and this one has none.

#[path = "support/blocking.rs"]
mod blocking;

use std::io::{self, BufRead, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use blocking::{Blocking, Step};
use wsmachine::{ClientRequest, CloseCode, Config, Connection, Event, Message};

/// How long to wait for replies after the end of input.
const REPLY_GRACE: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> io::Result<ExitCode> {
    let uri = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    let request = ClientRequest::new(&uri).map_err(io::Error::other)?;
    if request.is_tls() {
        return Err(io::Error::other(
            "wss:// needs a TLS driver; this example speaks ws:// only",
        ));
    }
    let host = request.host().trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((host, request.port()))?;
    let conn = Connection::client(Config::default(), &request).map_err(io::Error::other)?;
    let mut ws = Blocking::new(stream, conn)?;

    let (lines_tx, lines) = mpsc::channel::<Option<String>>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(Some(line)).is_err() {
                return;
            }
        }
        let _ = lines_tx.send(None);
    });

    let mut stdout = io::stdout().lock();
    let mut open = false;
    let mut input_done = false;
    let mut closing = false;
    let (mut sent, mut received) = (0u64, 0u64);
    let mut last_reply = Instant::now();
    loop {
        if open && !input_done {
            while let Ok(line) = lines.try_recv() {
                match line {
                    Some(line) => {
                        ws.send(Message::from(line))?;
                        sent += 1;
                        last_reply = Instant::now();
                    }
                    None => {
                        input_done = true;
                        break;
                    }
                }
            }
        }
        let replies_done = received >= sent || last_reply.elapsed() >= REPLY_GRACE;
        if input_done && !closing && replies_done {
            ws.conn
                .close(CloseCode::NORMAL, "")
                .map_err(io::Error::other)?;
            closing = true;
        }
        match ws.step(Some(Duration::from_millis(20)))? {
            Step::Event(Event::Open(_)) => open = true,
            Step::Event(Event::Message(message)) => {
                received += 1;
                last_reply = Instant::now();
                match message {
                    Message::Text(t) => writeln!(stdout, "{t}")?,
                    Message::Binary(b) => writeln!(stdout, "<{} bytes of binary>", b.len())?,
                }
                stdout.flush()?;
            }
            Step::Event(Event::Error(e)) => eprintln!("client: {e}"),
            Step::Event(Event::Closed(c)) => {
                return Ok(if closing && c.clean {
                    ExitCode::SUCCESS
                } else {
                    eprintln!(
                        "client: connection closed by the server ({} {})",
                        c.code, c.reason
                    );
                    ExitCode::FAILURE
                });
            }
            Step::Event(_) | Step::Idle => {}
            Step::Finished => return Ok(ExitCode::FAILURE),
        }
    }
}
