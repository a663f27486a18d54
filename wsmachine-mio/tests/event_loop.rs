//! The event loop over loopback sockets: many clients at once, both roles,
//! and hostile peers (abrupt EOF, protocol violations, a peer that never
//! reads, never closes, or closes first).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use wsmachine::blocking::{Error, WebSocket};
use wsmachine::{
    ClientRequest, CloseCode, Closed, Config, Connection, Event, Keepalive, Limits, Message,
};
use wsmachine_mio::{EventLoop, Handler, Id};

const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Echoes; on "flood" sends 256 KiB messages until refused; on "close"
/// closes with 4000. Records how each connection ended and the most heap a
/// connection's buffers held at any event.
#[derive(Default)]
struct Echo {
    closed: Arc<Mutex<Vec<Closed>>>,
    finished: Arc<Mutex<usize>>,
    most_held: Arc<Mutex<usize>>,
}

impl Handler for Echo {
    fn event(&mut self, _id: Id, conn: &mut Connection, event: Event) {
        let mut most = self.most_held.lock().unwrap();
        *most = (*most).max(conn.buffer_capacity());
        drop(most);
        match event {
            Event::Message(m) if m.as_text() == Some("flood") => {
                while conn.send(vec![1u8; 256 << 10]).is_ok() {}
                let mut most = self.most_held.lock().unwrap();
                *most = (*most).max(conn.buffer_capacity());
            }
            Event::Message(m) if m.as_text() == Some("close") => {
                conn.close(CloseCode::new(4000), "bye").unwrap();
            }
            Event::Message(m) => {
                let _ = conn.send(m);
            }
            Event::Closed(c) => self.closed.lock().unwrap().push(c),
            _ => {}
        }
    }
    fn finished(&mut self, _id: Id) {
        *self.finished.lock().unwrap() += 1;
    }
}

struct Running {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    closed: Arc<Mutex<Vec<Closed>>>,
    finished: Arc<Mutex<usize>>,
    most_held: Arc<Mutex<usize>>,
}

impl Running {
    fn start(config: Config, write_timeout: Option<Duration>) -> Running {
        let echo = Echo::default();
        let (closed, finished) = (echo.closed.clone(), echo.finished.clone());
        let most_held = echo.most_held.clone();
        let mut event_loop = EventLoop::new(echo).unwrap();
        if let Some(t) = write_timeout {
            event_loop.set_write_timeout(t);
        }
        let addr = event_loop
            .listen("127.0.0.1:0".parse().unwrap(), Arc::new(config))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                event_loop
                    .run_once(Some(Duration::from_millis(10)))
                    .unwrap();
            }
        });
        Running {
            addr,
            stop,
            thread: Some(thread),
            closed,
            finished,
            most_held,
        }
    }

    /// Waits until `n` connections are finished; their `Closed`.
    fn wait_finished(&self, n: usize) -> Vec<Closed> {
        let started = Instant::now();
        while *self.finished.lock().unwrap() < n {
            assert!(started.elapsed() < Duration::from_secs(20), "not finished");
            thread::sleep(Duration::from_millis(5));
        }
        self.closed.lock().unwrap().clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn short() -> Config {
    Config::new().close_timeout(Some(Duration::from_millis(300)))
}

fn raw_client(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(REQUEST.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    s
}

/// A masked client frame.
fn cframe(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [1, 2, 3, 4];
    let mut f = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

fn rest(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    all
}

#[test]
fn many_clients_at_once_echo_and_close_cleanly() {
    let server = Running::start(Config::default(), None);
    let addr = server.addr;
    let clients: Vec<_> = (0..64)
        .map(|i| {
            thread::spawn(move || {
                let (mut ws, _) = WebSocket::connect(&format!("ws://{addr}/")).unwrap();
                for j in 0..20 {
                    let m = Message::from(format!("{i}:{j} ✓"));
                    ws.send(m.clone()).unwrap();
                    assert_eq!(ws.read().unwrap(), m);
                }
                let big = vec![i as u8; 1 << 20];
                ws.send(big.clone()).unwrap();
                assert_eq!(ws.read().unwrap().as_bytes(), &big[..]);
                ws.close(CloseCode::NORMAL, "").unwrap();
                match ws.read() {
                    Err(Error::Closed(c)) => assert!(c.clean),
                    other => panic!("{other:?}"),
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let closed = server.wait_finished(64);
    assert!(closed.iter().all(|c| c.clean && !c.initiated_locally));
}

#[test]
fn a_client_connection_runs_in_the_loop_too() {
    // Our blocking server, the loop's client.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = WebSocket::accept(stream).unwrap();
        let m = ws.read().unwrap();
        ws.send(m).unwrap();
        loop {
            if let Err(e) = ws.read() {
                return e;
            }
        }
    });
    struct Client(Vec<String>);
    impl Handler for Client {
        fn event(&mut self, _id: Id, conn: &mut Connection, event: Event) {
            match event {
                Event::Open(_) => conn.send("from the loop").unwrap(),
                Event::Message(m) => {
                    self.0.push(m.as_text().unwrap().into());
                    conn.close(CloseCode::NORMAL, "").unwrap();
                }
                Event::Closed(c) => self.0.push(format!("closed {} {}", c.code, c.clean)),
                _ => {}
            }
        }
    }
    let mut event_loop = EventLoop::new(Client(Vec::new())).unwrap();
    let request = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
    event_loop
        .connect(addr, &request, Arc::new(Config::default()))
        .unwrap();
    let started = Instant::now();
    while !event_loop.is_empty() {
        event_loop
            .run_once(Some(Duration::from_millis(10)))
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    assert_eq!(
        event_loop.handler().0,
        ["from the loop", "closed 1000 true"]
    );
    assert!(matches!(server.join().unwrap(), Error::Closed(c) if c.clean));
}

#[test]
fn pipelined_messages_and_pings_in_one_read_are_all_answered() {
    let server = Running::start(Config::new().deflate(None), None);
    let mut raw = raw_client(server.addr);
    // Ten pings and ten messages in one write: each answer queues output,
    // the rest of the read waits in the connection and must still be
    // answered without more input arriving.
    let mut burst = Vec::new();
    let mut expected = Vec::new();
    for i in 0..10u8 {
        let p = [b'p', b'0' + i];
        burst.extend(cframe(0x9, &p));
        expected.extend([0x8a, 2]);
        expected.extend(p);
        let m = [b'm', b'0' + i];
        burst.extend(cframe(0x1, &m));
        expected.extend([0x81, 2]);
        expected.extend(m);
    }
    raw.write_all(&burst).unwrap();
    let mut got = vec![0; expected.len()];
    raw.read_exact(&mut got).unwrap();
    assert_eq!(got, expected);
    raw.write_all(&cframe(0x8, &[0x03, 0xe8])).unwrap();
    assert_eq!(rest(&mut raw), [0x88, 0x02, 0x03, 0xe8]);
    let closed = server.wait_finished(1);
    assert!(closed[0].clean);
}

#[test]
fn a_protocol_violation_gets_1002_then_the_end() {
    let server = Running::start(short(), None);
    let mut raw = raw_client(server.addr);
    // Unmasked, from a client.
    raw.write_all(&[0x81, 0x01, b'x']).unwrap();
    assert_eq!(rest(&mut raw), [0x88, 0x02, 0x03, 0xea]);
    drop(raw);
    let closed = server.wait_finished(1);
    assert_eq!(closed[0].sent.as_ref().map(|f| f.code.as_u16()), Some(1002));
}

#[test]
fn an_abrupt_eof_is_a_1006_and_frees_the_connection() {
    let server = Running::start(short(), None);
    let mut raw = raw_client(server.addr);
    raw.write_all(&cframe(0x1, b"half")[..4]).unwrap();
    drop(raw);
    let closed = server.wait_finished(1);
    assert_eq!(closed[0].code, CloseCode::ABNORMAL);
    assert!(!closed[0].clean);
}

#[test]
fn a_client_that_closes_first_gets_the_echo_and_our_eof() {
    let server = Running::start(short(), None);
    let mut raw = raw_client(server.addr);
    raw.write_all(&cframe(0x8, &[0x0f, 0xa1, b'b', b'y', b'e']))
        .unwrap();
    // The echo (code only), then EOF: the server half-closed.
    assert_eq!(rest(&mut raw), [0x88, 0x02, 0x0f, 0xa1]);
    drop(raw);
    let closed = server.wait_finished(1);
    assert!(closed[0].clean && !closed[0].initiated_locally);
    assert_eq!(
        (closed[0].code.as_u16(), closed[0].reason.as_str()),
        (4001, "bye")
    );
}

#[test]
fn a_peer_that_never_answers_our_close_is_given_up_on() {
    let server = Running::start(short(), None);
    let mut raw = raw_client(server.addr);
    raw.write_all(&cframe(0x1, b"close")).unwrap();
    let started = Instant::now();
    // Our Close, then EOF once the close timeout passed; nothing answered.
    let got = rest(&mut raw);
    assert_eq!(&got[..4], [0x88, 0x05, 0x0f, 0xa0]);
    assert!(started.elapsed() < Duration::from_secs(3));
    let closed = server.wait_finished(1);
    assert!(!closed[0].clean && closed[0].initiated_locally);
}

#[test]
fn a_peer_that_never_reads_is_bounded_then_dropped_after_the_write_timeout() {
    let limit = 1 << 20;
    let server = Running::start(
        Config::new()
            .deflate(None)
            .limits(Limits::new().max_output_buffer(limit)),
        Some(Duration::from_millis(300)),
    );
    let mut raw = raw_client(server.addr);
    raw.write_all(&cframe(0x1, b"flood")).unwrap();
    // It keeps sending and never reads: the loop stops reading it too.
    raw.set_write_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let started = Instant::now();
    let mut sent = 0usize;
    let ping = cframe(0x9, &[7; 125]);
    while started.elapsed() < Duration::from_millis(150) {
        match raw.write(&ping) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let closed = server.wait_finished(1);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!closed[0].clean, "{:?}", closed[0]);
    // Its output never went past the limit (plus the control budget and
    // one message that did not fit, refused before it was queued).
    let most = *server.most_held.lock().unwrap();
    assert!(
        most <= limit + wsmachine::CONTROL_BUDGET + (64 << 10),
        "{most} bytes held for a peer that never reads"
    );
    assert!(sent > 0);
}

#[test]
fn a_peer_that_never_answers_a_keepalive_ping_is_failed_by_the_timer() {
    let server = Running::start(
        Config::new().keepalive(Some(Keepalive::new(
            Duration::from_millis(100),
            Duration::from_millis(200),
        ))),
        None,
    );
    let mut raw = raw_client(server.addr);
    let started = Instant::now();
    // A ping, then the Close with 1011, then EOF; nothing was answered.
    let got = rest(&mut raw);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(got[0], 0x89, "{got:?}");
    let close = 2 + (got[1] & 0x7f) as usize;
    assert_eq!(&got[close..close + 4], [0x88, 0x02, 0x03, 0xf3], "{got:?}");
    let closed = server.wait_finished(1);
    assert_eq!(closed[0].sent.as_ref().map(|f| f.code.as_u16()), Some(1011));
}

#[test]
fn a_client_that_never_finishes_its_handshake_is_dropped_by_the_timer() {
    let server = Running::start(
        Config::new().handshake_timeout(Some(Duration::from_millis(200))),
        None,
    );
    let mut raw = TcpStream::connect(server.addr).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = Instant::now();
    let _ = rest(&mut raw);
    assert!(started.elapsed() < Duration::from_secs(3));
    server.wait_finished(1);
}

#[test]
fn a_peer_that_never_reads_does_not_stall_the_others() {
    let server = Running::start(Config::new().deflate(None), None);
    let mut raw = raw_client(server.addr);
    raw.write_all(&cframe(0x1, b"flood")).unwrap();
    thread::sleep(Duration::from_millis(100));
    let (mut ws, _) = WebSocket::connect(&format!("ws://{}/", server.addr)).unwrap();
    ws.send("still here").unwrap();
    assert_eq!(ws.read().unwrap(), Message::from("still here"));
    drop(raw);
}

/// Runs a loop of client connections until it is empty; what each saw.
fn run_clients(mut event_loop: EventLoop<Seen>) -> Vec<String> {
    let started = Instant::now();
    while !event_loop.is_empty() {
        event_loop
            .run_once(Some(Duration::from_millis(10)))
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(10), "not finished");
    }
    event_loop.handler().0.clone()
}

struct Seen(Vec<String>);

impl Handler for Seen {
    fn event(&mut self, _id: Id, _conn: &mut Connection, event: Event) {
        match event {
            Event::Error(e) => self.0.push(format!("error: {e}")),
            Event::Closed(c) => self.0.push(format!("closed {}", c.code)),
            other => self.0.push(format!("{other:?}")),
        }
    }
}

#[test]
fn a_client_whose_server_never_answers_the_handshake_is_given_up_on() {
    // Accepts the TCP connection, reads the request, says nothing.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        rest(&mut s)
    });
    let mut event_loop = EventLoop::new(Seen(Vec::new())).unwrap();
    let request = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
    let config = Config::new().handshake_timeout(Some(Duration::from_millis(200)));
    event_loop
        .connect(addr, &request, Arc::new(config))
        .unwrap();
    let seen = run_clients(event_loop);
    assert!(seen.iter().any(|s| s.contains("error")), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("closed 1006"));
    // The server saw the request, then our end of the connection.
    assert!(server.join().unwrap().starts_with(b"GET / HTTP/1.1\r\n"));
}

#[test]
fn a_client_whose_connect_is_refused_gets_an_error_and_is_removed() {
    // A port nothing listens on any more.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut event_loop = EventLoop::new(Seen(Vec::new())).unwrap();
    let request = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
    event_loop
        .connect(addr, &request, Arc::new(Config::default()))
        .unwrap();
    let seen = run_clients(event_loop);
    assert!(seen.iter().any(|s| s.contains("error")), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("closed 1006"));
}
