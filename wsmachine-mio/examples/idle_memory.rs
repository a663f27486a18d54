//! Measures what an idle open connection costs in the event loop: heap
//! (counted by this program's allocator) and RSS, with N connections
//! (10,000 by default) opened from loopback clients in a child process.
//!
//! ```text
//! cargo run --release -p wsmachine-mio --example idle_memory -- [N] [--deflate]
//! ```
//!
//! Needs N + a few file descriptors in each process (`ulimit -n`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use wsmachine::{Config, Connection, Event};
use wsmachine_mio::{EventLoop, Handler, Id};

/// Counts live heap bytes of the whole process.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn rss_kib() -> isize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[derive(Default)]
struct Count {
    open: usize,
}

impl Handler for Count {
    fn event(&mut self, _id: Id, _conn: &mut Connection, event: Event) {
        if let Event::Open(_) = event {
            self.open += 1;
        }
    }
}

/// The child: opens `n` connections, says so, holds them until stdin ends.
fn clients(n: usize, addr: &str, deflate: bool) {
    let offer = if deflate {
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    } else {
        ""
    };
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
    );
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(request.as_bytes()).unwrap();
        held.push(s);
    }
    for s in &mut held {
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut b).expect("handshake answer");
            head.push(b[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"));
    }
    println!("open {n}");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("clients") {
        return clients(args[2].parse().unwrap(), &args[3], args.len() > 4);
    }
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let deflate = args.iter().any(|a| a == "--deflate");

    let mut event_loop = EventLoop::new(Count::default()).unwrap();
    let addr = event_loop
        .listen("127.0.0.1:0".parse().unwrap(), Arc::new(Config::default()))
        .unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    let (heap0, rss0) = (LIVE.load(Ordering::Relaxed), rss_kib());

    let mut child = Command::new(&args[0])
        .args(["clients", &n.to_string(), &addr.to_string()])
        .args(deflate.then_some("--deflate"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = Arc::new(AtomicBool::new(false));
    let out = BufReader::new(child.stdout.take().unwrap());
    let flag = ready.clone();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if line.starts_with("open") {
                flag.store(true, Ordering::SeqCst);
            }
        }
    });
    let started = Instant::now();
    while !(ready.load(Ordering::SeqCst) && event_loop.handler().open == n) {
        event_loop
            .run_once(Some(Duration::from_millis(10)))
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "clients did not connect"
        );
    }
    for _ in 0..10 {
        event_loop.run_once(Some(Duration::from_millis(5))).unwrap();
    }
    let (heap, rss) = (LIVE.load(Ordering::Relaxed), rss_kib());
    let per_heap = (heap - heap0) as f64 / n as f64;
    let per_rss = (rss - rss0) as f64 * 1024.0 / n as f64;
    println!(
        "{n} idle connections{}: heap {:.0} bytes each ({:.1} MiB in all), RSS {:.0} bytes each; size_of::<Connection>() = {}; opened in {:.1} s",
        if deflate {
            " with permessage-deflate"
        } else {
            ""
        },
        per_heap,
        (heap - heap0) as f64 / (1 << 20) as f64,
        per_rss,
        std::mem::size_of::<Connection>(),
        started.elapsed().as_secs_f64()
    );

    drop(child.stdin.take());
    let _ = child.wait();
    let started = Instant::now();
    while !event_loop.is_empty() && started.elapsed() < Duration::from_secs(60) {
        event_loop
            .run_once(Some(Duration::from_millis(10)))
            .unwrap();
    }
    println!(
        "after the clients left: {} connections, heap {} bytes above the start",
        event_loop.len(),
        LIVE.load(Ordering::Relaxed) - heap0
    );
}
