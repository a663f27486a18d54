//! A tokio WebSocket echo server: one task per connection, the connection
//! split into a read half and a write half, every message sent back as it
//! came (`read.forward(write)`).
//!
//! ```text
//! cargo run --release -p wsmachine-tokio --example tokio_echo_server            # ws://127.0.0.1:9001
//! cargo run --release -p wsmachine-tokio --example tokio_echo_server -- 0.0.0.0:8080
//! ```

use futures_util::StreamExt;
use tokio::net::{TcpListener, TcpStream};
use wsmachine::{Accept, Config};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("echo server listening on ws://{}", listener.local_addr()?);
    loop {
        let (tcp, peer) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = serve(tcp).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

async fn serve(tcp: TcpStream) -> Result<(), wsmachine_tokio::Error> {
    tcp.set_nodelay(true)?;
    let upgrade = wsmachine_tokio::accept_request(tcp, Config::default()).await?;
    // Echo speaks whatever subprotocol the client likes best.
    let mut accept = Accept::new();
    if let Some(p) = upgrade.request().subprotocols().next() {
        accept = accept.subprotocol(p);
    }
    let ws = upgrade.accept(accept).await?;
    let (write, read) = ws.split();
    // Each message is handed to the write half before the next one is
    // read, so a message that arrives just before a Close is still echoed.
    read.forward(write).await
}
