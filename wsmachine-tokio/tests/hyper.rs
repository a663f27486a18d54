//! A hyper 1.x server upgrading to WebSocket with the `http` feature and
//! running the tokio adapter on the upgraded I/O (the `hyper_upgrade`
//! example's handler), driven by the adapter's client.

use std::convert::Infallible;

use futures_util::StreamExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wsmachine::http::accept;
use wsmachine::{Accept, ClientRequest, CloseCode, Config, Message};
use wsmachine_tokio::WebSocketStream;

async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let offered: Option<String> = request
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|p| p.trim().to_string());
    let mut answer = Accept::new();
    if let Some(p) = offered {
        answer = answer.subprotocol(p);
    }
    let (response, conn) = match accept(&request, Config::default(), answer) {
        Ok(upgraded) => upgraded,
        Err(e) => return Ok(e.response().map(|()| Full::new(Bytes::new()))),
    };
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let io = TokioIo::new(upgrade.await.unwrap());
        let (write, read) = WebSocketStream::from_connection(io, conn).split();
        let _ = read.forward(write).await;
    });
    Ok(response.map(|()| Full::new(Bytes::new())))
}

async fn hyper_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(
                http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service_fn(handle))
                    .with_upgrades(),
            );
        }
    });
    addr
}

#[tokio::test]
async fn hyper_upgrade_echoes_with_compression_and_subprotocol() {
    let addr = hyper_server().await;
    let request = ClientRequest::new(&format!("ws://{addr}/ws"))
        .unwrap()
        .subprotocol("chat");
    let (mut ws, response) = wsmachine_tokio::connect_async_with_config(request, Config::default())
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(ws.connection().subprotocol(), Some("chat"));
    assert!(
        ws.connection()
            .extensions()
            .unwrap_or("")
            .contains("permessage-deflate")
    );
    for m in [
        Message::from("through hyper"),
        Message::from(vec![5u8; 1 << 20]),
    ] {
        ws.send(m.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), m);
    }
    let closed = ws.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(closed.clean);
}

#[tokio::test]
async fn hyper_answers_a_bad_upgrade_with_426() {
    let addr = hyper_server().await;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = vec![0u8; 512];
    let n = tcp.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 426"), "{answer}");
    assert!(answer.contains("sec-websocket-version: 13"), "{answer}");
}
