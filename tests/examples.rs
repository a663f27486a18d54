//! The example programs themselves, run as built (`cargo test` builds
//! them), against well-behaved and hostile peers over loopback.
#![cfg(feature = "std")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use common::{REQUEST, frame, parse_frames};
use wsmachine::blocking::{Error, WebSocket};
use wsmachine::{CloseCode, Message};

/// A built example program.
fn example(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: `cargo test` builds the examples",
        path.display()
    );
    path
}

/// The echo server example on an ephemeral port, killed when dropped.
struct EchoServer {
    child: Child,
    addr: String,
}

impl EchoServer {
    fn start() -> EchoServer {
        let mut child = Command::new(example("echo_server"))
            .arg("127.0.0.1:0")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let addr = line
            .split("ws://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        // Keep draining its log so that it never blocks on a full pipe.
        thread::spawn(move || for _ in stderr.lines() {});
        EchoServer { child, addr }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn the_echo_server_echoes_serves_its_page_and_survives_hostile_clients() {
    let server = EchoServer::start();
    let addr = &server.addr;

    let page = http_get(addr, "/");
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(page.contains("new WebSocket("));
    assert!(http_get(addr, "/nope").starts_with("HTTP/1.1 404"));

    // A client that breaks the protocol gets its 1002, then the end.
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(REQUEST.as_bytes()).unwrap();
    raw.write_all(&frame(true, 0x1, b"unmasked", None)).unwrap();
    let mut all = Vec::new();
    raw.read_to_end(&mut all).unwrap();
    let head_end = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(all.starts_with(b"HTTP/1.1 101"));
    let frames = parse_frames(&all[head_end..]);
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0].opcode, &frames[0].payload[..2]),
        (0x8, &[0x03, 0xea][..])
    );
    drop(raw);

    // A client that vanishes mid-message does not take the server down.
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.write_all(REQUEST.as_bytes()).unwrap();
    raw.write_all(&[0x81, 0xfe, 0xff]).unwrap();
    drop(raw);

    // A well-behaved client, compression on where it is built in.
    let (mut ws, _) = WebSocket::connect(&format!("ws://{addr}/")).unwrap();
    assert_eq!(
        ws.connection().extensions().is_some(),
        cfg!(feature = "deflate")
    );
    let big = "wsmachine ".repeat(200_000);
    for m in [
        Message::from("héllo"),
        Message::from(vec![0u8, 1, 2]),
        Message::from(big),
    ] {
        ws.send(m.clone()).unwrap();
        assert_eq!(ws.read().unwrap(), m);
    }
    ws.close(CloseCode::NORMAL, "").unwrap();
    match ws.read() {
        Err(Error::Closed(c)) => assert!(c.clean && c.initiated_locally),
        other => panic!("{other:?}"),
    }
}

/// Runs the client example against `addr` with `input` on stdin.
fn run_client(addr: &str, input: &str) -> Output {
    let mut child = Command::new(example("client"))
        .arg(format!("ws://{addr}/"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A raw server for one connection: answers the handshake, then `body`.
fn raw_server<T: Send + 'static>(
    body: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (String, thread::JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut head = Vec::new();
        let mut b = [0u8];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut b).unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap();
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

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_client_echoes_lines_and_closes_cleanly() {
    let server = EchoServer::start();
    let out = run_client(&server.addr, "one\nzwei ✓\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\nzwei ✓\n");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("closed cleanly: we sent 1000, the server answered 1000"));
}

#[test]
fn the_client_says_when_the_server_closes_first() {
    let (addr, peer) = raw_server(|mut s| {
        let mut close = vec![0x88, 9, 0x0f, 0xa0];
        close.extend_from_slice(b"go away");
        s.write_all(&close).unwrap();
        let mut rest = Vec::new();
        // The client's echo; then our end, and its.
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap();
        rest.extend_from_slice(&buf[..n]);
        drop(s);
        parse_frames(&rest)
    });
    // Stdin stays open: the server's close comes first.
    let mut child = Command::new(example("client"))
        .arg(format!("ws://{addr}/"))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let frames = peer.join().unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(frames[0].opcode, 0x8);
    assert_eq!(frames[0].payload, [0x0f, 0xa0], "the code echoed");
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("the server closed the connection: 4000 \"go away\""),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn the_client_delivers_its_1002_when_the_server_breaks_the_protocol() {
    let (addr, peer) = raw_server(|mut s| {
        // A masked frame from a server.
        s.write_all(&frame(true, 0x1, b"x", Some([9, 9, 9, 9])))
            .unwrap();
        let mut got = vec![0u8; 8];
        s.read_exact(&mut got).unwrap();
        parse_frames(&got)
    });
    // Stdin stays open: at its end the client would close first (1000).
    let mut child = Command::new(example("client"))
        .arg(format!("ws://{addr}/"))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let frames = peer.join().unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(frames[0].opcode, 0x8);
    assert_eq!(frames[0].payload, [0x03, 0xea]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("we failed the connection with close 1002"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn the_client_says_when_the_server_vanishes() {
    let (addr, peer) = raw_server(drop);
    let mut child = Command::new(example("client"))
        .arg(format!("ws://{addr}/"))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    peer.join().unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("without a close frame (1006)"),
        "{}",
        stderr_of(&out)
    );
}
