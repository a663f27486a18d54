//! The blocking adapter over real loopback sockets: both roles against each
//! other, and against hand-written hostile peers (abrupt EOF, a peer that
//! never reads, never closes, closes first, breaks the protocol).
#![cfg(feature = "std")]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{REQUEST, WireFrame, cframe, close_payload, frame, parse_frames};
use wsmachine::blocking::{Error, WebSocket};
use wsmachine::{
    Accept, ClientRequest, CloseCode, Config, Event, HandshakeError, Keepalive, Message,
    ProtocolViolation, Reject, Timer,
};

const SHORT: Option<Duration> = Some(Duration::from_millis(300));

fn short_config() -> Config {
    Config::new().close_timeout(SHORT).handshake_timeout(SHORT)
}

/// Our server, on its own thread: accepts one connection with `config` and
/// hands the open WebSocket to `body`.
fn serve<T: Send + 'static>(
    config: Config,
    body: impl FnOnce(WebSocket<TcpStream>) -> T + Send + 'static,
) -> (String, JoinHandle<Result<T, Error>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let ws = WebSocket::accept_with(stream, config, |_| Ok(Accept::new()))?;
        Ok(body(ws))
    });
    (addr, handle)
}

/// Reads until the end of the connection.
fn read_end(ws: &mut WebSocket<TcpStream>) -> (Vec<Message>, Error) {
    let mut messages = Vec::new();
    loop {
        match ws.read() {
            Ok(m) => messages.push(m),
            Err(e) => return (messages, e),
        }
    }
}

/// A raw client that did the opening handshake (no extensions).
fn raw_client(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(REQUEST.as_bytes()).unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s
}

/// Reads an HTTP head byte by byte (so no frame byte is taken).
fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).unwrap(), 1, "EOF in the head: {head:?}");
        head.push(b[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Everything until EOF, as frames.
fn frames_until_eof(s: &mut TcpStream) -> Vec<WireFrame> {
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    parse_frames(&all)
}

/// A raw server on its own thread: accepts one connection, answers the
/// handshake with 101 (no extensions) and hands the stream to `body`.
fn raw_server<T: Send + 'static>(
    body: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (String, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = read_head(&mut s);
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        let accept = wsmachine::handshake::accept_key(key.trim().as_bytes());
        write!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .unwrap();
        body(s)
    });
    (addr, handle)
}

fn client(addr: &str, config: Config) -> WebSocket<TcpStream> {
    let request = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
    WebSocket::connect_with(&request, config).unwrap().0
}

fn close_frame(f: &WireFrame) -> (u16, Vec<u8>) {
    assert_eq!(f.opcode, 0x8, "{f:?}");
    (
        u16::from_be_bytes([f.payload[0], f.payload[1]]),
        f.payload[2..].to_vec(),
    )
}

/// The configuration with permessage-deflate off (when compiled in).
fn without_deflate(config: Config) -> Config {
    #[cfg(feature = "deflate")]
    return config.deflate(None);
    #[cfg(not(feature = "deflate"))]
    config
}

#[test]
fn both_roles_exchange_messages_pings_and_a_clean_close() {
    let big: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
    let (addr, server) = serve(Config::default(), |mut ws| {
        assert_eq!(
            ws.connection().extensions().is_some(),
            cfg!(feature = "deflate"),
            "deflate agreed when compiled in"
        );
        loop {
            match ws.read() {
                Ok(m) => ws.send(m).unwrap(),
                Err(e) => break e,
            }
        }
    });
    let (mut ws, response) = WebSocket::connect(&format!("ws://{addr}/chat")).unwrap();
    assert_eq!(response.status(), 101);
    ws.send("héllo ✓").unwrap();
    assert_eq!(ws.read().unwrap(), Message::from("héllo ✓"));
    ws.send(big.clone()).unwrap();
    assert_eq!(ws.read().unwrap().as_bytes(), &big[..]);
    ws.ping(b"p1").unwrap();
    let pong = loop {
        if let Event::Pong(p) = ws.read_event().unwrap() {
            break p;
        }
    };
    assert_eq!(&pong[..], b"p1");
    ws.close(CloseCode::NORMAL, "done").unwrap();
    let (late, end) = read_end(&mut ws);
    assert!(late.is_empty());
    let Error::Closed(c) = &end else {
        panic!("{end:?}")
    };
    assert!(c.clean && c.initiated_locally && c.code == CloseCode::NORMAL);
    // The same end, again.
    assert!(matches!(ws.read(), Err(Error::Closed(again)) if again == *c));
    assert!(ws.connection().is_finished());
    let end = server.join().unwrap().unwrap();
    let Error::Closed(c) = &end else {
        panic!("{end:?}")
    };
    assert!(c.clean && !c.initiated_locally);
    assert_eq!((c.code, c.reason.as_str()), (CloseCode::NORMAL, "done"));
}

#[test]
fn server_closes_first_and_the_client_hears_why() {
    let (addr, server) = serve(Config::default(), |mut ws| {
        ws.close(CloseCode::new(4000), "bye").unwrap();
        read_end(&mut ws).1
    });
    let mut ws = client(&addr, Config::default());
    let Error::Closed(c) = read_end(&mut ws).1 else {
        panic!()
    };
    assert!(c.clean && !c.initiated_locally);
    assert_eq!((c.code.as_u16(), c.reason.as_str()), (4000, "bye"));
    let Ok(Error::Closed(s)) = server.join().unwrap() else {
        panic!()
    };
    assert!(s.clean && s.initiated_locally);
}

#[test]
fn a_client_that_drops_the_connection_is_a_1006() {
    let (addr, server) = serve(short_config(), |mut ws| read_end(&mut ws));
    let mut raw = raw_client(&addr);
    raw.write_all(&cframe(true, 0x1, b"last words")).unwrap();
    drop(raw);
    let (messages, end) = server.join().unwrap().unwrap();
    assert_eq!(messages, [Message::from("last words")]);
    let Error::Closed(c) = end else {
        panic!("{end:?}")
    };
    assert_eq!(c.code, CloseCode::ABNORMAL);
    assert!(!c.clean && !c.initiated_locally);
}

#[test]
fn a_server_that_drops_the_connection_is_a_1006() {
    let (addr, peer) = raw_server(|mut s| {
        s.write_all(&frame(true, 0x1, b"bye", None)).unwrap();
    });
    let mut ws = client(&addr, short_config());
    let (messages, end) = read_end(&mut ws);
    peer.join().unwrap();
    assert_eq!(messages, [Message::from("bye")]);
    let Error::Closed(c) = end else {
        panic!("{end:?}")
    };
    assert_eq!(c.code, CloseCode::ABNORMAL);
    assert!(!c.clean);
}

#[test]
fn a_protocol_violation_is_answered_with_1002_before_the_end() {
    let (addr, server) = serve(short_config(), |mut ws| read_end(&mut ws).1);
    let mut raw = raw_client(&addr);
    // Unmasked, from a client: a violation (RFC 6455 §5.1).
    raw.write_all(&frame(true, 0x1, b"x", None)).unwrap();
    let frames = frames_until_eof(&mut raw);
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(close_frame(&frames[0]).0, 1002);
    drop(raw);
    let end = server.join().unwrap().unwrap();
    let Error::Failed { error, closed } = end else {
        panic!("{end:?}")
    };
    assert_eq!(
        error,
        wsmachine::Error::Protocol(ProtocolViolation::UnmaskedFrame)
    );
    assert!(closed.initiated_locally);
    assert_eq!(closed.sent.map(|f| f.code), Some(CloseCode::PROTOCOL_ERROR));
}

#[test]
fn invalid_utf8_is_answered_with_1007() {
    let (addr, server) = serve(short_config(), |mut ws| read_end(&mut ws).1);
    let mut raw = raw_client(&addr);
    raw.write_all(&cframe(true, 0x1, &[0xce, 0xba, 0xff]))
        .unwrap();
    let frames = frames_until_eof(&mut raw);
    assert_eq!(close_frame(&frames[0]).0, 1007);
    drop(raw);
    assert!(matches!(
        server.join().unwrap().unwrap(),
        Error::Failed {
            error: wsmachine::Error::InvalidUtf8,
            ..
        }
    ));
}

// The client side of a violation: our client sends its Close 1002 (masked)
// and waits for the server to close; a server that never does is given up
// on after the close timeout.
#[test]
fn a_client_delivers_its_1002_to_a_server_that_never_closes() {
    let (addr, peer) = raw_server(|mut s| {
        // Masked, from a server: a violation.
        s.write_all(&frame(true, 0x1, b"x", Some([1, 2, 3, 4])))
            .unwrap();
        let mut got = vec![0u8; 8];
        s.read_exact(&mut got).unwrap();
        let frames = parse_frames(&got);
        // Keep the connection open, reading, until the client gives up.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        (frames, rest)
    });
    let mut ws = client(&addr, short_config());
    let started = Instant::now();
    let end = read_end(&mut ws).1;
    assert!(started.elapsed() < Duration::from_secs(3));
    let Error::Failed { error, closed } = end else {
        panic!("{end:?}")
    };
    assert_eq!(
        error,
        wsmachine::Error::Protocol(ProtocolViolation::MaskedFrame)
    );
    assert!(closed.initiated_locally);
    drop(ws);
    let (frames, rest) = peer.join().unwrap();
    assert!(frames[0].mask.is_some());
    assert_eq!(close_frame(&frames[0]).0, 1002);
    assert!(rest.is_empty(), "nothing after the Close");
}

#[test]
fn a_peer_that_never_answers_our_close_is_given_up_on() {
    let (addr, peer) = raw_server(|mut s| {
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all);
        all
    });
    let mut ws = client(&addr, short_config());
    ws.close(CloseCode::NORMAL, "").unwrap();
    let started = Instant::now();
    let end = read_end(&mut ws).1;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(&end, Error::Failed { error: wsmachine::Error::Timeout(Timer::Close), closed } if closed.initiated_locally),
        "{end:?}"
    );
    drop(ws);
    let frames = parse_frames(&peer.join().unwrap());
    assert_eq!(close_frame(&frames[0]).0, 1000);

    // The same from the server side.
    let (addr, server) = serve(short_config(), |mut ws| {
        ws.close(CloseCode::GOING_AWAY, "").unwrap();
        read_end(&mut ws).1
    });
    let mut raw = raw_client(&addr);
    let frames = frames_until_eof(&mut raw);
    assert_eq!(close_frame(&frames[0]).0, 1001);
    assert!(matches!(
        server.join().unwrap().unwrap(),
        Error::Failed {
            error: wsmachine::Error::Timeout(Timer::Close),
            ..
        }
    ));
}

#[test]
fn a_peer_that_never_reads_meets_the_write_timeout() {
    let (addr, server) = serve(without_deflate(Config::new()), |mut ws| {
        ws.set_write_timeout(Some(Duration::from_millis(200)));
        let started = Instant::now();
        let mut result = Ok(());
        for _ in 0..8 {
            result = ws.send(vec![7u8; 4 << 20]);
            if result.is_err() {
                break;
            }
        }
        (started.elapsed(), result, ws.read())
    });
    let raw = raw_client(&addr);
    let (elapsed, sent, next) = server.join().unwrap().unwrap();
    drop(raw);
    assert!(
        matches!(&sent, Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut),
        "{sent:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(matches!(
        next,
        Err(Error::Failed {
            error: wsmachine::Error::Transport,
            ..
        })
    ));
}

// A close with output stuck behind a peer that never reads: the close
// timeout bounds it, whatever the write timeout.
#[test]
fn a_peer_that_never_reads_meets_the_close_timeout() {
    let (addr, server) = serve(without_deflate(short_config()), |mut ws| {
        ws.set_write_timeout(None);
        ws.write(vec![7u8; 16 << 20]).unwrap();
        let started = Instant::now();
        ws.close(CloseCode::NORMAL, "").unwrap();
        (started.elapsed(), read_end(&mut ws).1)
    });
    let raw = raw_client(&addr);
    let (elapsed, end) = server.join().unwrap().unwrap();
    drop(raw);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(
        matches!(
            end,
            Error::Failed {
                error: wsmachine::Error::Timeout(Timer::Close),
                ..
            }
        ),
        "{end:?}"
    );
}

#[test]
fn a_client_that_closes_first_gets_the_echo_then_eof() {
    let (addr, server) = serve(short_config(), |mut ws| read_end(&mut ws).1);
    let mut raw = raw_client(&addr);
    raw.write_all(&cframe(true, 0x8, &close_payload(4001, b"bye")))
        .unwrap();
    let frames = frames_until_eof(&mut raw);
    assert_eq!(frames.len(), 1);
    assert_eq!(close_frame(&frames[0]).0, 4001);
    raw.shutdown(Shutdown::Write).unwrap();
    let Error::Closed(c) = server.join().unwrap().unwrap() else {
        panic!()
    };
    assert!(c.clean && !c.initiated_locally);
    assert_eq!((c.code.as_u16(), c.reason.as_str()), (4001, "bye"));
}

#[test]
fn keepalive_runs_on_read_timeouts() {
    let keepalive = Keepalive::new(Duration::from_millis(100), Duration::from_millis(100));
    let (addr, server) = serve(short_config().keepalive(Some(keepalive)), |mut ws| {
        read_end(&mut ws).1
    });
    let mut raw = raw_client(&addr);
    let frames = frames_until_eof(&mut raw);
    let opcodes: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
    assert_eq!(opcodes, [0x9, 0x8], "a ping, then the close");
    assert_eq!(close_frame(&frames[1]).0, 1011);
    drop(raw);
    assert!(matches!(
        server.join().unwrap().unwrap(),
        Error::Failed {
            error: wsmachine::Error::Timeout(Timer::Keepalive),
            ..
        }
    ));
}

#[test]
fn the_handshake_is_bounded_and_can_be_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = TcpStream::connect(addr).unwrap();
    let (stream, _) = listener.accept().unwrap();
    let started = Instant::now();
    let end = WebSocket::accept_with(stream, short_config(), |_| Ok(Accept::new())).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(
            end,
            Error::Failed {
                error: wsmachine::Error::Timeout(Timer::Handshake),
                ..
            }
        ),
        "{end:?}"
    );
    drop(silent);

    let (addr, server) = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        (
            addr,
            thread::spawn(move || {
                let (stream, _) = listener.accept().unwrap();
                WebSocket::accept_with(stream, short_config(), |r| {
                    assert_eq!(r.path(), "/chat");
                    Err(Reject::new(403).body("no"))
                })
                .map(|_| ())
            }),
        )
    };
    let mut raw = TcpStream::connect(&addr).unwrap();
    raw.write_all(REQUEST.as_bytes()).unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    drop(raw);
    assert!(matches!(server.join().unwrap(), Err(Error::Closed(_))));
}

#[test]
fn a_client_keeps_a_rejection_whole() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        read_head(&mut s);
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone")
            .unwrap();
    });
    let request = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
    let end = WebSocket::connect_with(&request, Config::default()).unwrap_err();
    peer.join().unwrap();
    let Error::Failed {
        error: wsmachine::Error::Handshake(HandshakeError::Rejected(response)),
        ..
    } = end
    else {
        panic!("{end:?}")
    };
    assert_eq!(
        (response.status(), &response.body()[..]),
        (404, &b"gone"[..])
    );
}

#[test]
fn a_read_timeout_returns_would_block_and_changes_nothing() {
    let (addr, server) = serve(Config::default(), |mut ws| {
        thread::sleep(Duration::from_millis(150));
        ws.send("late").unwrap();
        read_end(&mut ws).1
    });
    let mut ws = client(&addr, Config::default());
    ws.set_read_timeout(Some(Duration::from_millis(20)));
    let mut waits = 0;
    let message = loop {
        match ws.read() {
            Ok(m) => break m,
            Err(Error::WouldBlock) => waits += 1,
            Err(e) => panic!("{e:?}"),
        }
    };
    assert!(waits >= 2, "{waits}");
    assert_eq!(message, Message::from("late"));
    ws.close(CloseCode::NORMAL, "").unwrap();
    ws.set_read_timeout(None);
    assert!(matches!(read_end(&mut ws).1, Error::Closed(c) if c.clean));
    assert!(matches!(server.join().unwrap().unwrap(), Error::Closed(c) if c.clean));
}

#[test]
fn sending_after_the_close_is_a_usage_error() {
    let (addr, server) = serve(Config::default(), |mut ws| read_end(&mut ws).1);
    let mut ws = client(&addr, Config::default());
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(
        ws.send("too late"),
        Err(Error::Usage(wsmachine::UsageError::Closing))
    ));
    assert!(matches!(read_end(&mut ws).1, Error::Closed(c) if c.clean));
    assert!(server.join().unwrap().is_ok());
}
