//! The client testee for Autobahn|Testsuite's `fuzzingserver`, on the tokio
//! adapter: runs every case, echoing every message, then asks the server
//! to write its report.
//!
//! ```text
//! cargo run --release -p wsmachine-tokio --example tokio_autobahn_client -- ws://127.0.0.1:9001 [AGENT]
//! ```

use futures_util::StreamExt;
use wsmachine_tokio::Error;

/// Runs one connection, echoing messages; returns the first text message.
async fn run(uri: &str) -> Result<Option<String>, Error> {
    let (mut ws, _) = wsmachine_tokio::connect_async(uri).await?;
    let mut first = None;
    while let Some(message) = ws.next().await {
        let message = message?;
        if first.is_none() {
            first = message.as_text().map(String::from);
        }
        // A send refused because the connection is closing is fine: the
        // stream goes on until the teardown is finished.
        let _ = ws.send(message).await;
    }
    Ok(first)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "wsmachine-tokio".into());
    let count: u32 = run(&format!("{base}/getCaseCount"))
        .await?
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| Error::Io(std::io::Error::other("no case count")))?;
    eprintln!("running {count} cases");
    for case in 1..=count {
        if let Err(e) = run(&format!("{base}/runCase?case={case}&agent={agent}")).await {
            eprintln!("case {case}: {e}");
        }
    }
    run(&format!("{base}/updateReports?agent={agent}")).await?;
    Ok(())
}
