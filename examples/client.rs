//! A line-oriented WebSocket client on the blocking adapter: each line of
//! stdin is sent as a text message, each message received is printed on
//! its own line. At the end of stdin it waits for replies (until as many
//! messages came back as were sent, or one second passes without one),
//! then closes the connection. It always says, on stderr, who ended the
//! connection and why; it exits 0 only for the clean close it asked for.
//!
//! ```text
//! cargo run --release --example client -- ws://127.0.0.1:9001/
//! ```
//!
//! Only `ws://`: TLS belongs to the stream, and this one has none.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use wsmachine::CloseCode;
use wsmachine::blocking::{Error, WebSocket};

/// How long to wait for replies after the end of input.
const REPLY_GRACE: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    let uri = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    let (end, asked) = run(&uri);
    let (clean_by_us, line) = describe(&end);
    eprintln!("client: {line}");
    if asked && clean_by_us {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs the connection to its end; returns the end and whether this side
/// asked to close.
fn run(uri: &str) -> (Error, bool) {
    let mut ws = match WebSocket::connect(uri) {
        Ok((ws, _)) => ws,
        Err(e) => return (e, false),
    };
    // Stdin is read on its own thread; the socket is polled between lines.
    ws.set_read_timeout(Some(Duration::from_millis(20)));
    let (lines_tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut stdout = io::stdout().lock();
    let (mut sent, mut received) = (0u64, 0u64);
    let (mut input_done, mut asked) = (false, false);
    let mut last_reply = Instant::now();
    loop {
        while !input_done {
            match lines.try_recv() {
                Ok(line) => match ws.send(line) {
                    Ok(()) => {
                        sent += 1;
                        last_reply = Instant::now();
                    }
                    // The server closed meanwhile: the end comes from read.
                    Err(Error::Usage(_)) => input_done = true,
                    Err(e) => return (e, asked),
                },
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => input_done = true,
            }
        }
        let replies_done = received >= sent || last_reply.elapsed() >= REPLY_GRACE;
        if input_done && !asked && replies_done {
            asked = true;
            if let Err(e @ (Error::Io(_) | Error::Closed(_) | Error::Failed { .. })) =
                ws.close(CloseCode::NORMAL, "")
            {
                return (e, asked);
            }
        }
        match ws.read() {
            Ok(message) => {
                received += 1;
                last_reply = Instant::now();
                let shown = match message.as_text() {
                    Some(text) => writeln!(stdout, "{text}"),
                    None => writeln!(stdout, "<{} bytes of binary>", message.len()),
                };
                if shown.and_then(|()| stdout.flush()).is_err() {
                    // Nobody reads our output any more: stop.
                    input_done = true;
                }
            }
            Err(Error::WouldBlock) => {}
            Err(end) => return (end, asked),
        }
    }
}

/// Who ended the connection and why, in one line; and whether it was a
/// clean close this side started.
fn describe(end: &Error) -> (bool, String) {
    match end {
        Error::Closed(c) if c.initiated_locally && c.clean => (
            true,
            format!(
                "closed cleanly: we sent {}, the server answered {}",
                sent_code(c),
                c.code
            ),
        ),
        Error::Closed(c) if c.initiated_locally => (
            false,
            format!(
                "we closed ({}), the server ended the connection without answering ({})",
                sent_code(c),
                c.code
            ),
        ),
        Error::Closed(c) if c.code == CloseCode::ABNORMAL => (
            false,
            "the server closed the transport without a close frame (1006)".into(),
        ),
        Error::Closed(c) => (
            false,
            format!(
                "the server closed the connection: {} {:?}",
                c.code, c.reason
            ),
        ),
        Error::Failed { error, closed } if closed.initiated_locally => match &closed.sent {
            Some(frame) => (
                false,
                format!(
                    "we failed the connection with close {}: {error}",
                    frame.code
                ),
            ),
            None => (false, format!("we ended the connection: {error}")),
        },
        Error::Failed { error, .. } => (false, format!("the connection failed: {error}")),
        Error::Io(e) => (false, format!("the transport failed: {e}")),
        other => (false, other.to_string()),
    }
}

fn sent_code(c: &wsmachine::Closed) -> String {
    c.sent
        .as_ref()
        .map_or_else(|| "no close frame".into(), |f| f.code.to_string())
}
