//! Measures what an idle open connection costs in the event loop: heap
//! (counted by this program's allocator) and RSS, with N connections
//! (10,000 by default) opened from loopback clients in a child process,
//! after the handshake and again after a 64 KiB message each way (with
//! `--deflate` the clients offer permessage-deflate and the server agrees).
//!
//! ```text
//! cargo run --release -p wsmachine-mio --example idle_memory -- [N] [--deflate | --no-context-takeover]
//! ```
//!
//! Needs N + a few file descriptors in each process (`ulimit -n`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wsmachine::blocking::WebSocket;
use wsmachine::deflate::DeflateConfig;
use wsmachine::{ClientRequest, Config, Connection, Event};
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

/// Counts opened connections and echoes messages.
#[derive(Default)]
struct Echo {
    open: usize,
    compressed: usize,
    echoed: usize,
}

impl Handler for Echo {
    fn event(&mut self, _id: Id, conn: &mut Connection, event: Event) {
        match event {
            Event::Open(_) => {
                self.open += 1;
                self.compressed += usize::from(conn.extensions().is_some());
            }
            Event::Message(m) => {
                // The loop hands events over once the output is written:
                // the echo fits.
                conn.send(m).expect("echo");
                self.echoed += 1;
            }
            _ => {}
        }
    }
}

/// A 64 KiB text message that compresses about as well as JSON does.
fn message(i: usize) -> String {
    let mut s = String::with_capacity(64 << 10);
    let mut k = i as u64;
    while s.len() < (64 << 10) - 64 {
        k = k
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push_str(&format!(
            "{{\"id\":{},\"v\":{}}},",
            k % 100_000,
            (k >> 40) % 1000
        ));
    }
    s
}

/// The child: opens `n` connections (blocking clients), says so; on a line
/// from stdin sends a 64 KiB message on each and reads its echo, says so;
/// holds them until stdin ends.
fn clients(n: usize, addr: &str, deflate: bool) {
    let config = Arc::new(if deflate {
        Config::new()
    } else {
        Config::new().deflate(None)
    });
    let request = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let (mut ws, _) = WebSocket::connect_with(&request, config.clone()).expect("connect");
        assert_eq!(ws.connection().extensions().is_some(), deflate);
        ws.connection_mut().shrink_buffers();
        held.push(ws);
    }
    println!("open {n}");
    let mut stdin = std::io::stdin().lock();
    let mut line = String::new();
    let _ = stdin.read_line(&mut line);
    for (i, ws) in held.iter_mut().enumerate() {
        let m = message(i);
        ws.send(m.as_str()).unwrap();
        assert_eq!(ws.read().unwrap().as_text(), Some(m.as_str()));
        ws.connection_mut().shrink_buffers();
    }
    println!("echoed {n}");
    let _ = stdin.read_to_end(&mut Vec::new());
}

/// Runs the loop until the child prints a line starting with `what` and
/// `done` holds.
fn run_until(
    event_loop: &mut EventLoop<Echo>,
    lines: &mpsc::Receiver<String>,
    what: &str,
    done: impl Fn(&Echo) -> bool,
) {
    let started = Instant::now();
    let mut said = false;
    while !(said && done(event_loop.handler())) {
        event_loop
            .run_once(Some(Duration::from_millis(10)))
            .unwrap();
        said |= lines.try_iter().any(|l| l.starts_with(what));
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the clients did not get to {what:?}"
        );
    }
    // Let the last writes and shrinks happen.
    for _ in 0..10 {
        event_loop.run_once(Some(Duration::from_millis(5))).unwrap();
    }
}

fn report(n: usize, what: &str, (heap0, rss0): (isize, isize)) {
    let (heap, rss) = (LIVE.load(Ordering::Relaxed), rss_kib());
    println!(
        "{what}: heap {:.0} B per connection ({:.2} MiB in all), RSS {:.0} B per connection",
        (heap - heap0) as f64 / n as f64,
        (heap - heap0) as f64 / (1 << 20) as f64,
        (rss - rss0) as f64 * 1024.0 / n as f64,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("clients") {
        return clients(args[2].parse().unwrap(), &args[3], args.len() > 4);
    }
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let reset = args.iter().any(|a| a == "--no-context-takeover");
    let deflate = reset || args.iter().any(|a| a == "--deflate");

    let mut event_loop = EventLoop::new(Echo::default()).unwrap();
    // The server accepts permessage-deflate when offered (the default);
    // with --no-context-takeover it resets both directions' state after
    // every message (and asks the client to), so none is kept while idle.
    let server = if reset {
        Config::new().deflate(Some(
            DeflateConfig::new()
                .server_no_context_takeover(true)
                .client_no_context_takeover(true),
        ))
    } else {
        Config::default()
    };
    let addr = event_loop
        .listen("127.0.0.1:0".parse().unwrap(), Arc::new(server))
        .unwrap();
    event_loop.run_once(Some(Duration::ZERO)).unwrap();
    let base = (LIVE.load(Ordering::Relaxed), rss_kib());

    let mut child = Command::new(&args[0])
        .args(["clients", &n.to_string(), &addr.to_string()])
        .args(deflate.then_some("--deflate"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    println!(
        "{n} idle connections{}; size_of::<Connection>() = {} B",
        if reset {
            ", permessage-deflate agreed without context takeover"
        } else if deflate {
            ", permessage-deflate agreed"
        } else {
            ", no compression"
        },
        std::mem::size_of::<Connection>(),
    );
    run_until(&mut event_loop, &lines, "open", |h| h.open == n);
    assert_eq!(event_loop.handler().compressed, if deflate { n } else { 0 });
    report(n, "after the handshake", base);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "send").unwrap();
    run_until(&mut event_loop, &lines, "echoed", |h| h.echoed == n);
    report(n, "after a 64 KiB message each way", base);
    println!(
        "(opened and exchanged in {:.1} s)",
        started.elapsed().as_secs_f64()
    );

    drop(stdin);
    let _ = child.wait();
    let started = Instant::now();
    while !event_loop.is_empty() && started.elapsed() < Duration::from_secs(60) {
        event_loop
            .run_once(Some(Duration::from_millis(10)))
            .unwrap();
    }
    println!(
        "after the clients left: {} connections, heap {} B above the start",
        event_loop.len(),
        LIVE.load(Ordering::Relaxed) - base.0
    );
}
