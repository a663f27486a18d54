//! The client testee for Autobahn|Testsuite's `fuzzingserver`: runs every
//! case, echoing every message, then asks the server to write its report.
//!
//! ```text
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9001 [AGENT]
//! ```

#[path = "support/blocking.rs"]
mod blocking;

use std::io;
use std::net::TcpStream;

use blocking::Blocking;
use wsmachine::{ClientRequest, Config, Connection, Event};

fn connect(base: &str, path: &str) -> io::Result<Blocking> {
    let request = ClientRequest::new(&format!("{base}{path}"))?;
    let host = request.host().trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((host, request.port()))?;
    let conn = Connection::client(Config::default(), &request)?;
    Blocking::new(stream, conn)
}

/// Runs one connection, echoing messages; returns the first text message.
fn run(base: &str, path: &str) -> io::Result<Option<String>> {
    let mut ws = connect(base, path)?;
    let mut first = None;
    while let Some(event) = ws.next_event()? {
        if let Event::Message(m) = event {
            if first.is_none() {
                first = m.as_text().map(String::from);
            }
            // Echo. A send refused because the connection is closing is
            // fine: the loop goes on until the teardown is finished.
            let _ = ws.send(m);
        }
    }
    Ok(first)
}

fn main() -> io::Result<()> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "wsmachine".into());
    let count: u32 = run(&base, "/getCaseCount")?
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| io::Error::other("no case count"))?;
    eprintln!("running {count} cases");
    for case in 1..=count {
        if let Err(e) = run(&base, &format!("/runCase?case={case}&agent={agent}")) {
            eprintln!("case {case}: {e}");
        }
    }
    run(&base, &format!("/updateReports?agent={agent}"))?;
    Ok(())
}
