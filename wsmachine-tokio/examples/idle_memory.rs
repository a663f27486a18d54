//! Measures what an idle open connection costs in the tokio adapter: heap
//! (counted by this program's allocator) and RSS of the server, with N
//! connections (2,000 by default) opened from loopback clients in a child
//! process, after the handshake and again after a 64 KiB message each way.
//! Each connection is one spawned task on a current-thread runtime, the
//! way an application writes it: `accept_async`, then an echo loop over
//! the stream (or, with `--split`, over its two halves). With `--deflate`
//! the clients offer permessage-deflate and the server agrees; with
//! `--no-context-takeover` the server also resets both directions' state
//! after every message.
//!
//! ```text
//! cargo run --release -p wsmachine-tokio --example idle_memory -- [N] [--split] [--deflate | --no-context-takeover]
//! ```
//!
//! Needs N + a few file descriptors in each process (`ulimit -n`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use wsmachine::blocking::WebSocket;
use wsmachine::deflate::DeflateConfig;
use wsmachine::{ClientRequest, Config};

/// Counts live heap bytes of the whole process.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static BLOCKS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        BLOCKS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        BLOCKS.fetch_sub(1, Ordering::Relaxed);
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

static OPEN: AtomicUsize = AtomicUsize::new(0);
static COMPRESSED: AtomicUsize = AtomicUsize::new(0);
static ECHOED: AtomicUsize = AtomicUsize::new(0);

fn rss_kib() -> isize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
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

/// One connection's task: the handshake, then an echo loop over the
/// stream.
async fn serve(tcp: tokio::net::TcpStream, config: Arc<Config>) {
    let Ok(mut ws) = wsmachine_tokio::accept_async_with_config(tcp, config).await else {
        return;
    };
    opened(ws.connection());
    while let Some(Ok(m)) = ws.next().await {
        if ws.send(m).await.is_err() {
            break;
        }
        ECHOED.fetch_add(1, Ordering::Relaxed);
    }
}

/// [`serve`] over the two halves of the stream.
async fn serve_split(tcp: tokio::net::TcpStream, config: Arc<Config>) {
    let Ok(ws) = wsmachine_tokio::accept_async_with_config(tcp, config).await else {
        return;
    };
    opened(ws.connection());
    let (mut write, mut read) = ws.split();
    while let Some(Ok(m)) = read.next().await {
        if write.send(m).await.is_err() {
            break;
        }
        ECHOED.fetch_add(1, Ordering::Relaxed);
    }
}

fn opened(conn: &wsmachine::Connection) {
    OPEN.fetch_add(1, Ordering::Relaxed);
    if conn.extensions().is_some() {
        COMPRESSED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Waits until the child said `what` and `count` reached `n`, then lets
/// the last writes and shrinks happen.
async fn wait_for(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    what: &str,
    count: &AtomicUsize,
    n: usize,
) {
    let started = Instant::now();
    loop {
        let line = lines.recv().await.expect("the clients ended early");
        if line.starts_with(what) {
            break;
        }
    }
    while count.load(Ordering::Relaxed) < n {
        assert!(started.elapsed() < Duration::from_secs(300), "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// The size of the future `f` returns (what a spawned task holds inline).
fn future_size<F: std::future::Future>(_: impl Fn(tokio::net::TcpStream) -> F) -> usize {
    std::mem::size_of::<F>()
}

fn report(n: usize, what: &str, (heap0, blocks0, rss0): (isize, isize, isize)) {
    let (heap, blocks, rss) = (
        LIVE.load(Ordering::Relaxed),
        BLOCKS.load(Ordering::Relaxed),
        rss_kib(),
    );
    println!(
        "{what}: heap {:.0} B in {:.1} blocks per connection ({:.2} MiB in all), RSS {:.0} B per connection",
        (heap - heap0) as f64 / n as f64,
        (blocks - blocks0) as f64 / n as f64,
        (heap - heap0) as f64 / (1 << 20) as f64,
        (rss - rss0) as f64 * 1024.0 / n as f64,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("clients") {
        return clients(args[2].parse().unwrap(), &args[3], args.len() > 4);
    }
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let split = args.iter().any(|a| a == "--split");
    let reset = args.iter().any(|a| a == "--no-context-takeover");
    let deflate = reset || args.iter().any(|a| a == "--deflate");
    let config = Arc::new(if reset {
        Config::new().deflate(Some(
            DeflateConfig::new()
                .server_no_context_takeover(true)
                .client_no_context_takeover(true),
        ))
    } else {
        Config::default()
    });

    println!(
        "the task's future: {} B",
        if split {
            future_size(|tcp| serve_split(tcp, Arc::default()))
        } else {
            future_size(|tcp| serve(tcp, Arc::default()))
        }
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
        // Let the runtime settle before taking the baseline.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let base = (
            LIVE.load(Ordering::Relaxed),
            BLOCKS.load(Ordering::Relaxed),
            rss_kib(),
        );
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                if split {
                    tokio::spawn(serve_split(tcp, config.clone()));
                } else {
                    tokio::spawn(serve(tcp, config.clone()));
                }
            }
        });

        let mut child = Command::new(&args[0])
            .args(["clients", &n.to_string(), &addr.to_string()])
            .args(deflate.then_some("--deflate"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let started = Instant::now();
        println!(
            "{n} idle connections, {}{}",
            if split { "split" } else { "unsplit" },
            if reset {
                ", permessage-deflate agreed without context takeover"
            } else if deflate {
                ", permessage-deflate agreed"
            } else {
                ", no compression"
            },
        );
        wait_for(&mut lines, "open", &OPEN, n).await;
        assert_eq!(
            COMPRESSED.load(Ordering::Relaxed),
            if deflate { n } else { 0 }
        );
        report(n, "after the handshake", base);
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "send").unwrap();
        wait_for(&mut lines, "echoed", &ECHOED, n).await;
        report(n, "after a 64 KiB message each way", base);
        println!(
            "(opened and exchanged in {:.1} s)",
            started.elapsed().as_secs_f64()
        );
        drop(stdin);
        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    });
}
