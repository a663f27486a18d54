//! The client testee for Autobahn|Testsuite's `fuzzingserver`, on the
//! blocking adapter: runs every case, echoing every message, then asks the
//! server to write its report.
//!
//! ```text
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9001 [AGENT]
//! ```
//!
//! `WSMACHINE_DEFLATE_MEMORY` and `WSMACHINE_DEFLATE_LEVEL` pick the
//! permessage-deflate preset, as for `echo_server`.

#[path = "support/env.rs"]
mod env;

use wsmachine::ClientRequest;
use wsmachine::blocking::{Error, WebSocket};

/// Runs one connection, echoing messages; returns the first text message.
fn run(base: &str, path: &str) -> Result<Option<String>, Error> {
    let request = ClientRequest::new(&format!("{base}{path}"))?;
    let (mut ws, _) = WebSocket::connect_with(&request, env::config())?;
    let mut first = None;
    loop {
        match ws.read() {
            Ok(message) => {
                if first.is_none() {
                    first = message.as_text().map(String::from);
                }
                // Echo. A send refused because the connection is closing
                // is fine: the next read drives the end to its finish.
                match ws.send(message) {
                    Ok(()) | Err(Error::Usage(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            // Every case ends in a close, clean or not: the report judges.
            Err(Error::Closed(_) | Error::Failed { .. }) => return Ok(first),
            Err(e) => return Err(e),
        }
    }
}

fn main() -> Result<(), Error> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "wsmachine".into());
    let count: u32 = run(&base, "/getCaseCount")?
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| Error::Io(std::io::Error::other("no case count")))?;
    eprintln!("running {count} cases");
    for case in 1..=count {
        if let Err(e) = run(&base, &format!("/runCase?case={case}&agent={agent}")) {
            eprintln!("case {case}: {e}");
        }
    }
    run(&base, &format!("/updateReports?agent={agent}"))?;
    Ok(())
}
