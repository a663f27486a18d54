//! Memory as a limit: an idle open connection in the loop costs at most
//! 1 KiB of heap (its `Connection`, its table entry, nothing buffered),
//! measured over 400 connections.
//! A counting allocator sees the whole process; this file holds one test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use wsmachine::{Config, Connection, Event};
use wsmachine_mio::{EventLoop, Handler, Id};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Opened(Arc<AtomicIsize>);

impl Handler for Opened {
    fn event(&mut self, _id: Id, conn: &mut Connection, event: Event) {
        match event {
            Event::Open(_) => {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
            Event::Message(m) => {
                let _ = conn.send(m);
            }
            _ => {}
        }
    }
}

// Both ends of every connection live in this process: 2 × N descriptors
// stay below the common soft limit of 1,024.
const N: usize = 400;

#[test]
fn an_idle_connection_costs_at_most_1_kib_of_heap() {
    let opened = Arc::new(AtomicIsize::new(0));
    let mut event_loop = EventLoop::new(Opened(opened.clone())).unwrap();
    let addr = event_loop
        .listen("127.0.0.1:0".parse().unwrap(), Arc::new(Config::default()))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let looping = thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) {
            event_loop.run_once(Some(Duration::from_millis(5))).unwrap();
        }
        event_loop
    });
    thread::sleep(Duration::from_millis(50));

    let mut clients = Vec::with_capacity(N);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    // One message each way first, so that every buffer was used once.
    let hello = [
        0x81,
        0x85,
        1,
        2,
        3,
        4,
        b'h' ^ 1,
        b'e' ^ 2,
        b'l' ^ 3,
        b'l' ^ 4,
        b'o' ^ 1,
    ];
    let mut head = [0u8; 4096];
    let base = LIVE.load(Ordering::SeqCst);
    for _ in 0..N {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        s.write_all(&hello).unwrap();
        let mut got = 0;
        // The 101 and the echo.
        while !head[..got].ends_with(b"hello") {
            got += s.read(&mut head[got..]).unwrap();
        }
        clients.push(s);
    }
    let started = Instant::now();
    while opened.load(Ordering::SeqCst) < N as isize {
        assert!(started.elapsed() < Duration::from_secs(20));
        thread::sleep(Duration::from_millis(5));
    }
    thread::sleep(Duration::from_millis(100));
    let per = (LIVE.load(Ordering::SeqCst) - base) as usize / N;
    println!("{N} idle connections: {per} bytes of heap each");
    assert!(per <= 1024, "{per} bytes per idle connection");

    drop(clients);
    thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let event_loop = looping.join().unwrap();
    assert!(event_loop.is_empty(), "{} left", event_loop.len());
}
