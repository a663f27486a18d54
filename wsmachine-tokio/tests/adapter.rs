//! The tokio adapter end to end, over in-memory duplex streams and
//! loopback TCP: round trips, split halves, backpressure, cancellation,
//! and hostile peers (abrupt EOF, never reads, never closes, closes first,
//! breaks the protocol).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};
use tokio::time::{Instant, timeout};
use wsmachine::{Accept, ClientRequest, CloseCode, Config, Limits, Message, Reject};
use wsmachine_tokio::{
    Error, Incoming, WebSocketStream, accept_async, accept_request, client_async,
    client_async_with_config,
};

type Ws = WebSocketStream<DuplexStream>;

/// A client and a server connected through an in-memory pipe.
async fn pair_with(config: Config, pipe: usize) -> (Ws, Ws) {
    let (a, b) = duplex(pipe);
    let request = ClientRequest::new("ws://localhost/test").unwrap();
    let (client, server) = tokio::join!(
        client_async_with_config(request, a, config.clone()),
        wsmachine_tokio::accept_async_with_config(b, config)
    );
    (client.unwrap().0, server.unwrap())
}

async fn pair() -> (Ws, Ws) {
    pair_with(Config::default(), 64 << 10).await
}

/// A raw peer: does the server side of the handshake by hand, returns the
/// pipe positioned after it.
async fn raw_server(mut io: DuplexStream) -> DuplexStream {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(io.read_u8().await.unwrap());
    }
    let head = String::from_utf8(head).unwrap();
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        wsmachine::handshake::accept_key(key.trim().as_bytes())
    );
    io.write_all(answer.as_bytes()).await.unwrap();
    io
}

/// A raw peer's client handshake (no extensions); returns the pipe after
/// the 101 answer.
async fn raw_client(mut io: DuplexStream) -> DuplexStream {
    io.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(io.read_u8().await.unwrap());
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    io
}

/// A masked client frame.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut f = vec![0x80 | opcode, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    f.extend_from_slice(payload);
    f
}

/// Reads one unmasked server frame (short payloads): (opcode, payload).
async fn read_frame(io: &mut DuplexStream) -> (u8, Vec<u8>) {
    let b0 = io.read_u8().await.unwrap();
    let len = io.read_u8().await.unwrap() & 0x7F;
    assert!(len < 126);
    let mut payload = vec![0; len as usize];
    io.read_exact(&mut payload).await.unwrap();
    (b0 & 0x0F, payload)
}

#[tokio::test]
async fn round_trip_and_clean_close() {
    let (mut client, mut server) = pair().await;
    let big = Message::from(vec![7u8; 1 << 20]);
    let echo = tokio::spawn(async move {
        while let Some(m) = server.next().await {
            server.send(m.unwrap()).await.unwrap_or(());
        }
        server.closed().cloned()
    });
    for m in [
        Message::from("hello"),
        Message::from("wörld ✓"),
        big.clone(),
    ] {
        client.send(m.clone()).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), m);
    }
    let closed = client.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert!(closed.clean && closed.initiated_locally);
    assert_eq!(closed.code, CloseCode::NORMAL);
    let server_closed = echo.await.unwrap().unwrap();
    assert!(server_closed.clean && !server_closed.initiated_locally);
    assert_eq!(server_closed.reason, "bye");
    assert!(client.next().await.is_none());
}

#[tokio::test]
async fn server_closes_first_and_recv_sees_everything() {
    let (mut client, mut server) = pair().await;
    tokio::spawn(async move {
        server.send("last words").await.unwrap();
        server
            .close(CloseCode::GOING_AWAY, "shutting down")
            .await
            .unwrap()
    });
    client.ping(&b"are you there"[..]).await.unwrap();
    let mut seen = Vec::new();
    while let Some(item) = client.recv().await {
        seen.push(item.unwrap());
    }
    assert!(matches!(&seen[0], Incoming::Message(m) if m.as_text() == Some("last words")));
    let Some(Incoming::Closed(c)) = seen.last() else {
        panic!("{seen:?}")
    };
    assert!(c.clean && !c.initiated_locally);
    assert_eq!(
        (c.code, c.reason.as_str()),
        (CloseCode::GOING_AWAY, "shutting down")
    );
}

#[tokio::test]
async fn abrupt_eof_is_abnormal() {
    let (a, b) = duplex(4096);
    let peer = tokio::spawn(async move {
        let mut io = raw_client(b).await;
        // Half a frame, then the transport ends.
        io.write_all(&[0x81, 0x85, 1, 2]).await.unwrap();
    });
    let mut ws = accept_async(a).await.unwrap();
    peer.await.unwrap();
    assert!(matches!(ws.next().await, Some(Err(Error::Abnormal))));
    assert!(ws.next().await.is_none());
    let c = ws.closed().unwrap();
    assert_eq!(c.code, CloseCode::ABNORMAL);
    assert!(!c.clean);
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_never_reads_cannot_block_close() {
    // A tiny pipe: the peer reads the handshake, then nothing.
    let (a, b) = duplex(256);
    let _peer = tokio::spawn(async move {
        let io = raw_client(b).await;
        std::future::pending::<()>().await;
        drop(io);
    });
    let mut ws = accept_async(a).await.unwrap();
    // Queued without waiting for it to be written.
    ws.feed(Message::from(vec![1u8; 100_000])).await.unwrap();
    let started = Instant::now();
    let closed = ws.close(CloseCode::NORMAL, "").await.unwrap();
    let waited = started.elapsed();
    assert!(!closed.clean);
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_never_reads_cannot_block_the_write_half() {
    let (a, b) = duplex(256);
    let _peer = tokio::spawn(async move {
        let io = raw_client(b).await;
        std::future::pending::<()>().await;
        drop(io);
    });
    let (mut write, mut read) = accept_async(a).await.unwrap().split();
    let reader = tokio::spawn(async move {
        let mut items = Vec::new();
        while let Some(item) = read.next().await {
            items.push(item);
        }
        items
    });
    write.feed(Message::from(vec![1u8; 100_000])).await.unwrap();
    let started = Instant::now();
    write.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(6));
    let items = reader.await.unwrap();
    assert!(
        matches!(
            items.as_slice(),
            [Err(Error::WebSocket(wsmachine::Error::Timeout(_)))]
        ),
        "{items:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_never_closes() {
    let (a, b) = duplex(4096);
    let peer = tokio::spawn(async move {
        let mut io = raw_server(b).await;
        // Reads our Close frame, never answers, never ends the transport.
        let mut buf = [0u8; 64];
        let n = io.read(&mut buf).await.unwrap();
        std::future::pending::<()>().await;
        buf[..n].to_vec()
    });
    let request = ClientRequest::new("ws://x/").unwrap();
    let (ws, _) = client_async(request, a).await.unwrap();
    let (mut write, mut read) = ws.split();
    write.close(CloseCode::NORMAL, "done").await.unwrap();
    let started = Instant::now();
    assert!(matches!(
        read.next().await,
        Some(Err(Error::WebSocket(wsmachine::Error::Timeout(
            wsmachine::Timer::Close
        ))))
    ));
    assert!(read.next().await.is_none());
    assert!(started.elapsed() <= Duration::from_secs(5));
    assert!(!read.closed().unwrap().clean);
    peer.abort();
}

#[tokio::test]
async fn a_protocol_violation_is_answered_with_1002_before_the_end() {
    let (a, b) = duplex(4096);
    let peer = tokio::spawn(async move {
        let mut io = raw_server(b).await;
        // A text frame with a reserved bit set: RFC 6455 §5.2.
        io.write_all(&[0xC1, 0x02, b'h', b'i']).await.unwrap();
        // The client's Close frame (masked): 0x88, 0x82, key, code.
        let mut frame = [0u8; 8];
        io.read_exact(&mut frame).await.unwrap();
        let code = [frame[6] ^ frame[2], frame[7] ^ frame[3]];
        // The server ends the transport; the client then finishes.
        drop(io);
        (frame[0], u16::from_be_bytes(code))
    });
    let request = ClientRequest::new("ws://x/").unwrap();
    let (mut ws, _) = client_async(request, a).await.unwrap();
    // The application stops at the first error: by then the Close frame
    // is written and the teardown is done.
    let first = ws.next().await;
    assert!(
        matches!(
            first,
            Some(Err(Error::WebSocket(wsmachine::Error::Protocol(_))))
        ),
        "{first:?}"
    );
    assert_eq!(peer.await.unwrap(), (0x88, 1002));
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn hostile_clients_get_the_right_close_code_and_one_error() {
    let config = Config::default().limits(Limits::default().max_message_size(1024));
    let mut over_the_limit = vec![0x82, 0xFE, 0x07, 0xD0, 0, 0, 0, 0];
    over_the_limit.extend_from_slice(&[0; 100]);
    let cases: [(&str, Vec<u8>, u16); 5] = [
        (
            "invalid UTF-8",
            client_frame(0x1, &[b'o', 0xC3, 0x28]),
            1007,
        ),
        (
            "a 2000-byte frame over the 1024-byte limit",
            over_the_limit,
            1009,
        ),
        (
            "a 2^63 - 1 byte length",
            vec![
                0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0,
            ],
            1009,
        ),
        (
            "an unmasked client frame",
            vec![0x81, 0x02, b'h', b'i'],
            1002,
        ),
        (
            "a ping with a 126-byte payload",
            {
                let mut f = vec![0x89, 0xFE, 0, 126, 0, 0, 0, 0];
                f.extend_from_slice(&[0; 126]);
                f
            },
            1002,
        ),
    ];
    for (what, bytes, code) in cases {
        let (a, b) = duplex(4096);
        let peer = tokio::spawn(async move {
            let mut io = raw_client(b).await;
            // The peer may be cut off mid-write once the server has failed
            // the connection: that is fine.
            let _ = io.write_all(&bytes).await;
            let frame = read_frame(&mut io).await;
            // Then the transport ends, as a hostile peer's might.
            drop(io);
            frame
        });
        let mut ws = wsmachine_tokio::accept_async_with_config(a, config.clone())
            .await
            .unwrap();
        let first = timeout(Duration::from_secs(10), ws.next()).await.unwrap();
        let Some(Err(Error::WebSocket(e))) = first else {
            panic!("{what}: {first:?}")
        };
        assert_eq!(
            e.close_code().map(CloseCode::as_u16),
            Some(code),
            "{what}: {e}"
        );
        let (opcode, payload) = peer.await.unwrap();
        assert_eq!(opcode, 0x8, "{what}");
        assert_eq!(payload[..2], code.to_be_bytes(), "{what}");
        assert!(ws.next().await.is_none(), "{what}: one error, then the end");
        // The peer never sent a Close: 1006, not clean.
        let closed = ws.closed().unwrap();
        assert_eq!(
            (closed.code, closed.clean),
            (CloseCode::ABNORMAL, false),
            "{what}"
        );
    }
}

#[tokio::test]
async fn eof_in_the_opening_handshake_is_an_error_not_a_hang() {
    // The server side: half a request, then the transport ends.
    let (a, mut b) = duplex(4096);
    b.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgr")
        .await
        .unwrap();
    drop(b);
    let server = timeout(Duration::from_secs(10), accept_async(a)).await;
    assert!(server.expect("accept_async hung").is_err());
    // The client side: half a 101 answer, then the transport ends.
    let (a, mut b) = duplex(4096);
    let peer = tokio::spawn(async move {
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(b.read_u8().await.unwrap());
        }
        b.write_all(b"HTTP/1.1 101 Switching Pro").await.unwrap();
    });
    let request = ClientRequest::new("ws://x/").unwrap();
    let client = timeout(Duration::from_secs(10), client_async(request, a)).await;
    assert!(client.expect("client_async hung").is_err());
    peer.await.unwrap();
}

#[tokio::test]
async fn the_read_half_answers_pings_without_the_write_half() {
    let (a, b) = duplex(4096);
    let peer = tokio::spawn(async move {
        let mut io = raw_client(b).await;
        let mut pongs = Vec::new();
        for i in 0..20u8 {
            io.write_all(&client_frame(0x9, &[i; 3])).await.unwrap();
            pongs.push(read_frame(&mut io).await);
        }
        io.write_all(&client_frame(0x8, &1000u16.to_be_bytes()))
            .await
            .unwrap();
        assert_eq!(
            read_frame(&mut io).await,
            (0x8, 1000u16.to_be_bytes().to_vec())
        );
        pongs
    });
    let (_write, mut read) = accept_async(a).await.unwrap().split();
    // The application only reads; the write half sits unused.
    let mut pings = 0;
    while let Some(item) = read.recv().await {
        if let Incoming::Ping(_) = item.unwrap() {
            pings += 1;
        }
    }
    assert_eq!(pings, 20);
    let pongs = peer.await.unwrap();
    assert_eq!(pongs.len(), 20);
    for (i, (op, payload)) in pongs.into_iter().enumerate() {
        assert_eq!((op, payload), (0xA, vec![i as u8; 3]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_under_load_in_separate_tasks() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let (write, read) = accept_async(tcp).await.unwrap().split();
        read.forward(write).await
    });
    let (ws, _) = wsmachine_tokio::connect_async(&format!("ws://{addr}/"))
        .await
        .unwrap();
    let (mut write, mut read) = ws.split();
    const N: usize = 2000;
    let sizes = |i: usize| [0, 1, 125, 126, 4096, 70_000][i % 6];
    let sender = tokio::spawn(async move {
        for i in 0..N {
            let mut payload = vec![(i % 251) as u8; sizes(i)];
            payload.extend_from_slice(&(i as u32).to_be_bytes());
            write.send(payload).await.unwrap();
            if i % 100 == 0 {
                write.ping(&b"p"[..]).await.unwrap();
            }
        }
        write
    });
    for i in 0..N {
        let m = read.next().await.unwrap().unwrap();
        let bytes = m.as_bytes();
        assert_eq!(bytes.len(), sizes(i) + 4);
        assert_eq!(&bytes[bytes.len() - 4..], &(i as u32).to_be_bytes());
    }
    let mut write = sender.await.unwrap();
    write.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(read.next().await.is_none());
    assert!(read.closed().unwrap().clean);
    server.await.unwrap().unwrap();
    let ws = read.reunite(write).unwrap();
    assert_eq!(ws.connection().state(), wsmachine::State::Closed);
}

#[tokio::test]
async fn next_is_cancel_safe_in_select() {
    let (mut client, mut server) = pair().await;
    const N: u32 = 500;
    tokio::spawn(async move {
        for i in 0..N {
            server
                .send(Message::from(i.to_be_bytes().to_vec()))
                .await
                .unwrap();
            if i % 7 == 0 {
                tokio::task::yield_now().await;
            }
        }
        server.close(CloseCode::NORMAL, "").await.unwrap();
    });
    let mut got = Vec::new();
    let mut cancelled = 0;
    loop {
        tokio::select! {
            m = client.next() => match m {
                Some(m) => got.push(u32::from_be_bytes(m.unwrap().as_bytes().try_into().unwrap())),
                None => break,
            },
            () = tokio::task::yield_now() => cancelled += 1,
        }
    }
    assert_eq!(got, (0..N).collect::<Vec<_>>());
    assert!(cancelled > 0);
}

#[tokio::test]
async fn backpressure_holds_one_message_until_there_is_room() {
    // No compression: the payloads must take their size in the buffer.
    let config = Config::default()
        .deflate(None)
        .limits(Limits::default().max_output_buffer(32 << 10));
    let (a, b) = duplex(1024);
    let request = ClientRequest::new("ws://x/").unwrap();
    let (client, server) = tokio::join!(
        client_async_with_config(request, a, config.clone()),
        wsmachine_tokio::accept_async_with_config(b, config)
    );
    let (mut client, mut server) = (client.unwrap().0, server.unwrap());
    // The server does not read for now: the client's output fills up.
    let mut fed = 0;
    while timeout(
        Duration::from_millis(50),
        client.feed(Message::from(vec![9u8; 10_000])),
    )
    .await
    .is_ok()
    {
        fed += 1;
        assert!(fed < 100, "no backpressure");
    }
    assert!(client.connection().output_len() <= 32 << 10);
    // One message waits in the stream; reading on the other side lets all
    // of them through.
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while let Some(m) = server.next().await {
            assert_eq!(m.unwrap().len(), 10_000);
            n += 1;
        }
        n
    });
    client.flush().await.unwrap();
    client.close(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(reader.await.unwrap(), fed);
}

#[tokio::test]
async fn the_accepting_application_sees_the_request_and_can_reject() {
    let (a, b) = duplex(4096);
    let server = tokio::spawn(async move {
        let upgrade = accept_request(b, Config::default()).await.unwrap();
        assert_eq!(upgrade.request().path(), "/private");
        assert_eq!(upgrade.request().subprotocols().collect::<Vec<_>>(), ["v1"]);
        upgrade
            .reject(Reject::new(401).header("WWW-Authenticate", "Bearer"))
            .await
            .unwrap();
    });
    let request = ClientRequest::new("ws://x/private")
        .unwrap()
        .subprotocol("v1");
    match client_async(request, a).await {
        Err(Error::WebSocket(wsmachine::Error::Handshake(
            wsmachine::HandshakeError::Rejected(r),
        ))) => {
            assert_eq!(r.status(), 401);
            assert_eq!(r.header("www-authenticate"), Some(&b"Bearer"[..]));
        }
        other => panic!("{other:?}"),
    }
    server.await.unwrap();
}

#[tokio::test]
async fn subprotocol_chosen_by_the_server() {
    let (a, b) = duplex(4096);
    let server = tokio::spawn(async move {
        let upgrade = accept_request(b, Config::default()).await.unwrap();
        let ws = upgrade
            .accept(Accept::new().subprotocol("v2"))
            .await
            .unwrap();
        ws.connection().subprotocol().map(String::from)
    });
    let request = ClientRequest::new("ws://x/")
        .unwrap()
        .subprotocol("v1")
        .subprotocol("v2");
    let (ws, response) = client_async(request, a).await.unwrap();
    assert_eq!(ws.connection().subprotocol(), Some("v2"));
    assert_eq!(response.status(), 101);
    assert_eq!(server.await.unwrap().as_deref(), Some("v2"));
}

#[tokio::test]
async fn sends_after_close_are_refused_cleanly() {
    let (mut client, server) = pair().await;
    let server = tokio::spawn(async move { server.collect::<Vec<_>>().await });
    client.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(matches!(client.send("late").await, Err(Error::Closed)));
    assert!(server.await.unwrap().is_empty());
}
