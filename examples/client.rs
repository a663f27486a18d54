//! A line-oriented WebSocket client: each line of stdin is sent as a text
//! message, each message received is printed on its own line. At the end of
//! stdin it waits for replies (until as many messages came back as were
//! sent, or one second passes without one), then closes the connection
//! cleanly and exits 0. It says who ended the connection, and why, when it
//! was not that clean close.
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
use wsmachine::{ClientRequest, CloseCode, Closed, Config, Connection, Error, Event, Message};

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
    let request = ClientRequest::new(&uri)?;
    if request.is_tls() {
        return Err(io::Error::other(
            "wss:// needs a TLS driver; this example speaks ws:// only",
        ));
    }
    let host = request.host().trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((host, request.port()))?;
    let mut ws = Blocking::new(stream, Connection::client(Config::default(), &request)?)?;

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
    let (mut open, mut input_done, mut closing) = (false, false, false);
    let (mut sent, mut received) = (0u64, 0u64);
    let mut last_reply = Instant::now();
    let mut failure: Option<Error> = None;
    let mut outcome: Option<Closed> = None;
    loop {
        if open && !input_done && !closing && outcome.is_none() {
            while let Ok(line) = lines.try_recv() {
                match line {
                    Some(line) => {
                        if ws.send(Message::from(line)).is_err() {
                            // Closing already: the report below says why.
                            break;
                        }
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
        if input_done && !closing && replies_done && outcome.is_none() {
            ws.conn.close(CloseCode::NORMAL, "")?;
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
            Step::Event(Event::Error(e)) => failure = Some(e),
            // Keep going: the connection still writes its last frames and
            // waits for the server to close the transport.
            Step::Event(Event::Closed(c)) => outcome = Some(c),
            Step::Event(_) | Step::Idle => {}
            Step::Finished => break,
        }
    }
    Ok(report(closing, failure, outcome))
}

/// Says who ended the connection and why; success only for the clean close
/// this client asked for.
fn report(closing: bool, failure: Option<Error>, outcome: Option<Closed>) -> ExitCode {
    let Some(c) = outcome else {
        eprintln!("client: the connection ended without a close");
        return ExitCode::FAILURE;
    };
    match failure {
        Some(e) if c.initiated_locally => {
            let code = c.sent.map_or(String::from("no close frame"), |f| {
                format!("close {}", f.code)
            });
            eprintln!("client: failed the connection ({code}): {e}");
        }
        Some(e) => eprintln!("client: the connection failed: {e}"),
        None if closing && c.clean => return ExitCode::SUCCESS,
        None if c.initiated_locally => {
            eprintln!("client: closed, but the server did not answer ({})", c.code);
        }
        None => eprintln!(
            "client: the server closed the connection ({} {})",
            c.code, c.reason
        ),
    }
    ExitCode::FAILURE
}
