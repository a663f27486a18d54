//! Echo servers for the load generator, one per implementation, each on a
//! current-thread tokio runtime (one core), with the same limits.
//!
//! ```text
//! echo <server> [addr]
//! ```
//!
//! `server` is one of `wsmachine-tokio` (the `wsmachine-tokio` adapter's
//! `WebSocketStream`), `wsmachine-mio` (the `wsmachine-mio` readiness
//! loop, one thread, no tokio), `wsmachine` (a minimal tokio driver over
//! the core API, reading into `read_buf`), `wsmachine-feed` (the same,
//! waiting for readability and reading into one buffer per thread, then
//! `feed`: no input buffer per connection), `tokio-tungstenite`,
//! `tokio-websockets`, `fastwebsockets`. Prints `listening ADDR` once bound. With
//! `--report`, every line read on stdin is answered on stdout with the
//! process's live heap (counting allocator) and resident set, for the idle
//! memory measurement.

use std::io::BufRead;
use std::io::IoSlice;
use std::sync::atomic::{AtomicIsize, Ordering};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsmachine_bench::MAX_MESSAGE;

/// The system allocator, counting live bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter is only a side effect.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's arguments.
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let report = args.iter().any(|a| a == "--report");
    let args: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let server = args
        .first()
        .map(|s| s.as_str())
        .unwrap_or("wsmachine")
        .to_string();
    let addr = args
        .get(1)
        .map(|s| s.as_str())
        .unwrap_or("127.0.0.1:0")
        .to_string();
    if report {
        std::thread::spawn(|| {
            for line in std::io::stdin().lock().lines() {
                if line.is_err() {
                    break;
                }
                println!(
                    "heap {} rss_kib {}",
                    LIVE.load(Ordering::Relaxed),
                    rss_kib()
                );
            }
        });
    }
    if server == "wsmachine-mio" {
        mio_echo(&addr);
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = TcpListener::bind(&addr).await.unwrap();
        println!("listening {}", listener.local_addr().unwrap());
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            // One task type per server, so that each task is the size of
            // its own future (the idle memory measurement counts it).
            match server.as_str() {
                "wsmachine-tokio" => tokio::spawn(adapter_echo(stream)),
                "wsmachine" => tokio::spawn(wsmachine_echo(stream)),
                "wsmachine-feed" => tokio::spawn(wsmachine_feed_echo(stream)),
                "tokio-tungstenite" => tokio::spawn(tungstenite_echo(stream)),
                "tokio-websockets" => tokio::spawn(tokio_websockets_echo(stream)),
                "fastwebsockets" => tokio::spawn(fastwebsockets_echo(stream)),
                other => panic!("unknown server {other}"),
            };
        }
    });
}

type Result = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The `wsmachine-tokio` adapter, as an application uses it.
async fn adapter_echo(stream: TcpStream) -> Result {
    use wsmachine_tokio::Incoming;
    // One configuration shared by every connection, as a server has it.
    static CONFIG: std::sync::OnceLock<std::sync::Arc<wsmachine::Config>> =
        std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| std::sync::Arc::new(wsmachine_bench::wsmachine_config()));
    let mut ws = wsmachine_tokio::accept_async_with_config(stream, config.clone()).await?;
    while let Some(incoming) = ws.recv().await {
        match incoming? {
            Incoming::Message(m) => ws.send(m).await?,
            Incoming::Closed(_) => break,
            _ => {}
        }
    }
    Ok(())
}

/// The `wsmachine-mio` readiness loop: every connection on this thread.
fn mio_echo(addr: &str) {
    struct Echo;
    impl wsmachine_mio::Handler for Echo {
        fn event(
            &mut self,
            _id: wsmachine_mio::Id,
            conn: &mut wsmachine::Connection,
            event: wsmachine::Event,
        ) {
            if let wsmachine::Event::Message(m) = event {
                let _ = conn.send(m);
            }
        }
    }
    let mut event_loop = wsmachine_mio::EventLoop::new(Echo).unwrap();
    let local = event_loop
        .listen(
            addr.parse().unwrap(),
            std::sync::Arc::new(wsmachine_bench::wsmachine_config()),
        )
        .unwrap();
    println!("listening {local}");
    event_loop.run().unwrap();
}

/// A tokio driver of the core API, following its polling order.
async fn wsmachine_echo(mut stream: TcpStream) -> Result {
    let clock = wsmachine::Clock::new();
    let mut conn = wsmachine::Connection::server(wsmachine_bench::wsmachine_config());
    let mut shut = false;
    while drive_out(&mut conn, &mut stream, &mut shut).await {
        let deadline = conn.poll_timeout();
        let buf = conn.read_buf();
        let read = async {
            if buf.is_empty() {
                std::future::pending().await
            } else {
                stream.read(buf).await
            }
        };
        let result = match deadline {
            Some(t) => {
                let at = tokio::time::Instant::from_std(clock.to_std(t));
                tokio::select! {
                    r = read => Some(r),
                    _ = tokio::time::sleep_until(at) => None,
                }
            }
            None => Some(read.await),
        };
        match result {
            Some(Ok(0)) => conn.feed_eof(),
            Some(Ok(n)) => conn.commit_read(n),
            Some(Err(_)) => conn.transport_error(),
            None => conn.handle_timeout(clock.now()),
        }
    }
    Ok(())
}

/// Answers what `conn` has to say: events, then writes, then half-close.
/// `false` once the connection is finished.
async fn drive_out(
    conn: &mut wsmachine::Connection,
    stream: &mut TcpStream,
    shut: &mut bool,
) -> bool {
    use wsmachine::{Accept, Event};
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Request(_) => {
                let _ = conn.accept(Accept::new());
            }
            Event::Message(m) => {
                let _ = conn.send(m);
            }
            _ => {}
        }
    }
    while conn.wants_write() {
        let mut slices = [IoSlice::new(&[]); 16];
        let n = conn.output_vectored(&mut slices);
        match stream.write_vectored(&slices[..n]).await {
            Ok(written) => conn.consume_output(written),
            Err(_) => conn.transport_error(),
        }
    }
    if conn.wants_shutdown() && !*shut {
        let _ = stream.shutdown().await;
        *shut = true;
    }
    !conn.is_finished()
}

thread_local! {
    /// The one read buffer of the thread's connections.
    static SHARED: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 64 << 10]);
}

/// The core API driven from readiness: wait until the socket is readable,
/// read into the thread's buffer, `feed` it. An idle connection holds no
/// input buffer.
async fn wsmachine_feed_echo(mut stream: TcpStream) -> Result {
    let clock = wsmachine::Clock::new();
    let mut conn = wsmachine::Connection::server(wsmachine_bench::wsmachine_config());
    let mut shut = false;
    while drive_out(&mut conn, &mut stream, &mut shut).await {
        let readable = async {
            if conn.wants_read() {
                stream.readable().await
            } else {
                std::future::pending().await
            }
        };
        let ready = match conn.poll_timeout() {
            Some(t) => {
                let at = tokio::time::Instant::from_std(clock.to_std(t));
                tokio::select! {
                    r = readable => Some(r),
                    _ = tokio::time::sleep_until(at) => None,
                }
            }
            None => Some(readable.await),
        };
        match ready {
            None => conn.handle_timeout(clock.now()),
            Some(Err(_)) => conn.transport_error(),
            Some(Ok(())) => SHARED.with_borrow_mut(|buf| {
                let room = conn.input_room().min(buf.len());
                match stream.try_read(&mut buf[..room]) {
                    Ok(0) => conn.feed_eof(),
                    Ok(n) => {
                        let taken = conn.feed(&buf[..n]);
                        debug_assert_eq!(taken, n);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => conn.transport_error(),
                }
            }),
        }
    }
    Ok(())
}

async fn tungstenite_echo(stream: TcpStream) -> Result {
    let mut ws = tokio_tungstenite::accept_async_with_config(
        stream,
        Some(wsmachine_bench::tungstenite_config()),
    )
    .await?;
    while let Some(msg) = ws.next().await {
        let msg = msg?;
        if msg.is_binary() || msg.is_text() {
            ws.send(msg).await?;
        }
    }
    Ok(())
}

async fn tokio_websockets_echo(stream: TcpStream) -> Result {
    let (_, mut ws) = tokio_websockets::ServerBuilder::new()
        .limits(wsmachine_bench::tokio_websockets_limits())
        .accept(stream)
        .await?;
    while let Some(msg) = ws.next().await {
        let msg = msg?;
        if msg.is_binary() || msg.is_text() {
            ws.send(msg).await?;
        }
    }
    Ok(())
}

async fn fastwebsockets_echo(mut stream: TcpStream) -> Result {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    wsmachine_bench::wire::accept_handshake(&mut stream).await?;
    let mut ws = WebSocket::after_handshake(stream, Role::Server);
    ws.set_max_message_size(MAX_MESSAGE);
    ws.set_writev(true);
    let mut ws = FragmentCollector::new(ws);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}
