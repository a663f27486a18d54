//! A tokio WebSocket client: each stdin line is sent as a text message,
//! every message received is printed on its own line, the end of input
//! closes cleanly; at the end it says who closed and why.
//!
//! ```text
//! cargo run --release -p wsmachine-tokio --example tokio_client -- ws://127.0.0.1:9001/
//! ```
//!
//! The connection is split: a task reads stdin and sends, the main task
//! prints what arrives.

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use wsmachine::CloseCode;

#[tokio::main]
async fn main() -> Result<(), wsmachine_tokio::Error> {
    let uri = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    let (ws, _response) = wsmachine_tokio::connect_async(&uri).await?;
    let (mut write, mut read) = ws.split();
    let sender = tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            write.send(line).await?;
        }
        write.close(CloseCode::NORMAL, "end of input").await
    });
    let mut outcome = Ok(());
    while let Some(message) = read.next().await {
        match message {
            Ok(m) => match m.as_text() {
                Some(text) => println!("{text}"),
                None => println!("<{} binary bytes>", m.len()),
            },
            Err(e) => outcome = Err(e),
        }
    }
    sender.abort();
    match read.closed() {
        Some(c) => eprintln!(
            "closed by {}: {} {:?}{}",
            if c.initiated_locally {
                "us"
            } else {
                "the server"
            },
            c.code.as_u16(),
            c.reason,
            if c.clean { "" } else { " (not cleanly)" }
        ),
        None => eprintln!("closed"),
    }
    outcome
}
