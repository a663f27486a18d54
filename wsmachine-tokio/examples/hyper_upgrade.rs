//! A hyper 1.x server that upgrades requests to `/ws` to WebSocket
//! connections (wsmachine's `http` feature checks the request and builds
//! the 101 answer) and echoes on the upgraded I/O with the tokio adapter;
//! every other path gets a plain HTTP answer.
//!
//! ```text
//! cargo run -p wsmachine-tokio --example hyper_upgrade            # ws://127.0.0.1:9001/ws
//! ```

use std::convert::Infallible;

use futures_util::StreamExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wsmachine::http::accept;
use wsmachine::{Accept, Config};
use wsmachine_tokio::WebSocketStream;

async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != "/ws" {
        return Ok(Response::new(Full::new(Bytes::from("try /ws\n"))));
    }
    // Validate the upgrade and agree on subprotocol and compression.
    let (response, conn) = match accept(&request, Config::default(), Accept::new()) {
        Ok(upgraded) => upgraded,
        Err(e) => return Ok(e.response().map(|()| Full::new(Bytes::from(e.to_string())))),
    };
    // Once hyper has written the 101, it hands over the connection's I/O.
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let io = match upgrade.await {
            Ok(io) => TokioIo::new(io),
            Err(e) => return eprintln!("upgrade failed: {e}"),
        };
        let (write, read) = WebSocketStream::from_connection(io, conn).split();
        if let Err(e) = read.forward(write).await {
            eprintln!("connection failed: {e}");
        }
    });
    Ok(response.map(|()| Full::new(Bytes::new())))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "hyper server on http://{0}/, WebSocket on ws://{0}/ws",
        listener.local_addr()?
    );
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            let service = service_fn(handle);
            let served = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades();
            if let Err(e) = served.await {
                eprintln!("http: {e}");
            }
        });
    }
}
