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
use wsmachine::{ClientRequest, CloseCode, Closed, Config, Connection, Event, Message};
use wsmachine_mio::{EventLoop, Handler, Id};

const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Echoes; on "flood" sends 8 MiB messages until refused; on "close"
/// closes with 4000. Records how each connection ended.
#[derive(Default)]
struct Echo {
    closed: Arc<Mutex<Vec<Closed>>>,
    finished: Arc<Mutex<usize>>,
}

impl Handler for Echo {
    fn event(&mut self, _id: Id, conn: &mut Connection, event: Event) {
        match event {
            Event::Message(m) if m.as_text() == Some("flood") => {
                while conn.send(vec![1u8; 8 << 20]).is_ok() {}
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
}

impl Running {
    fn start(config: Config, write_timeout: Option<Duration>) -> Running {
        let echo = Echo::default();
        let (closed, finished) = (echo.closed.clone(), echo.finished.clone());
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
fn a_peer_that_never_reads_is_dropped_after_the_write_timeout() {
    let server = Running::start(
        Config::new().deflate(None),
        Some(Duration::from_millis(200)),
    );
    let mut raw = raw_client(server.addr);
    raw.write_all(&cframe(0x1, b"flood")).unwrap();
    let started = Instant::now();
    server.wait_finished(1);
    assert!(started.elapsed() < Duration::from_secs(5));
    // Meanwhile the loop served others.
    drop(raw);
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
