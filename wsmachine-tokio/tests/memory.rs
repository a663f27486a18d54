//! Heap per idle connection, counted by a global allocator: the server
//! side of N open, idle tokio connections (one task each, waiting in
//! `next()`), against clients that are plain blocking sockets holding no
//! heap.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicIsize, Ordering};

use futures_util::StreamExt;

struct Counting;

static HEAP: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HEAP.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout, passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HEAP.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same pointer and layout, passed through.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const REQUEST: &str = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// A client frame (masked with a zero key) of `len` bytes of `x`.
fn frame(len: usize) -> Vec<u8> {
    let mut frame = vec![0x81];
    match len {
        0..=125 => frame.push(0x80 | len as u8),
        126..=0xFFFF => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0; 4]);
    frame.resize(frame.len() + len, b'x');
    frame
}

/// Reads one unmasked server frame; returns whether it was compressed.
fn read_frame(s: &mut std::net::TcpStream) -> bool {
    let mut header = [0u8; 2];
    s.read_exact(&mut header).unwrap();
    let len = match header[1] & 0x7F {
        126 => {
            let mut n = [0u8; 2];
            s.read_exact(&mut n).unwrap();
            u64::from(u16::from_be_bytes(n))
        }
        127 => {
            let mut n = [0u8; 8];
            s.read_exact(&mut n).unwrap();
            u64::from_be_bytes(n)
        }
        n => u64::from(n),
    };
    std::io::copy(&mut s.take(len), &mut std::io::sink()).unwrap();
    header[0] & 0x40 != 0
}

/// Heap per idle connection (bytes), after the handshake and after a
/// 64 KiB message each way.
#[derive(Debug, Clone, Copy)]
struct Held {
    open: isize,
    after_64k: isize,
}

/// Opens `n` connections and measures the heap they hold once idle, after
/// the handshake and again after a 64 KiB message each way on each.
fn heap_per_idle_connection(n: usize, split: bool, deflate: bool) -> Held {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        rt.block_on(async move {
            let accepting = async {
                loop {
                    let (tcp, _) = listener.accept().await.unwrap();
                    // An application's task, written the plain way.
                    if split {
                        tokio::spawn(async move {
                            let ws = wsmachine_tokio::accept_async(tcp).await.unwrap();
                            let (write, read) = ws.split();
                            let _ = read.forward(write).await;
                        });
                    } else {
                        tokio::spawn(async move {
                            let mut ws = wsmachine_tokio::accept_async(tcp).await.unwrap();
                            while let Some(Ok(m)) = ws.next().await {
                                let _ = ws.send(m).await;
                            }
                        });
                    }
                }
            };
            tokio::select! {
                () = accepting => {}
                () = async { tokio::task::spawn_blocking(move || done_rx.recv()).await.unwrap().unwrap() } => {}
            }
        })
    });
    let open = |count: usize| {
        (0..count)
            .map(|_| {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                let extensions = if deflate {
                    "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                } else {
                    ""
                };
                s.write_all(format!("{REQUEST}{extensions}\r\n").as_bytes())
                    .unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8];
                while !head.ends_with(b"\r\n\r\n") {
                    s.read_exact(&mut byte).unwrap();
                    head.push(byte[0]);
                }
                s
            })
            .collect::<Vec<_>>()
    };
    // One round trip each: the server's echo is compressed when
    // permessage-deflate is agreed (it is over the 32-byte minimum), so
    // its compressor's state is counted.
    let round_trip = |clients: &mut [std::net::TcpStream], len: usize| {
        let frame = frame(len);
        for s in clients {
            s.write_all(&frame).unwrap();
            assert_eq!(read_frame(s), deflate, "RSV1: compressed");
        }
    };
    let settle = || std::thread::sleep(std::time::Duration::from_millis(200));
    // Warm up the runtime's and allocator's one-time structures (the
    // thread's read buffer among them).
    let mut warm = open(64);
    round_trip(&mut warm, 64 << 10);
    settle();
    let before = HEAP.load(Ordering::Relaxed);
    let mut clients = open(n);
    settle();
    // The clients' own heap (the Vec of sockets) is not the server's.
    let clients_heap = (clients.capacity() * std::mem::size_of::<std::net::TcpStream>()) as isize;
    let per_connection = || (HEAP.load(Ordering::Relaxed) - before - clients_heap) / n as isize;
    let open_heap = per_connection();
    round_trip(&mut clients, 64 << 10);
    settle();
    let after_64k = per_connection();
    drop((warm, clients));
    let _ = done_tx.send(());
    server.join().unwrap();
    Held {
        open: open_heap,
        after_64k,
    }
}

/// What an idle connection may hold at most: the spawned task (its
/// future holds the stream, about 60 bytes inline), the boxed driver with
/// its `Connection`, tokio's registration of the socket (about 1.5 KiB
/// together in a release build); no read buffer, no timer. A debug
/// build's futures are larger.
const IDLE_LIMIT: isize = 2 << 10;

#[test]
fn idle_tokio_connections_hold_little_heap() {
    let mut measured = Vec::new();
    for deflate in [false, true] {
        let unsplit = heap_per_idle_connection(400, false, deflate);
        let split = heap_per_idle_connection(400, true, deflate);
        eprintln!(
            "heap per idle connection{}: unsplit {unsplit:?} B, split {split:?} B",
            if deflate { " (permessage-deflate)" } else { "" }
        );
        measured.push((unsplit, split));
    }
    let (plain, deflate) = (measured[0], measured[1]);
    for held in [plain.0, plain.1] {
        assert!(
            held.open <= IDLE_LIMIT && held.after_64k <= IDLE_LIMIT,
            "{measured:?}"
        );
    }
    // permessage-deflate agreed: the agreed parameters and the codec
    // shells on top; after a compressed message the server's compressor
    // keeps its state (the default memory preset, `Small`: a 4 KiB window
    // and its tables), the inflater's goes at the end of each message
    // (client_no_context_takeover).
    for held in [deflate.0, deflate.1] {
        assert!(held.open <= IDLE_LIMIT + 512, "{measured:?}");
        assert!(held.after_64k < 32 << 10, "{measured:?}");
    }
}

#[tokio::test]
async fn what_an_idle_connection_holds() {
    use wsmachine_tokio::WebSocketStream;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = tokio::spawn(async move {
        let (mut ws, _) = wsmachine_tokio::connect_async(&format!("ws://{addr}/"))
            .await
            .unwrap();
        ws.send("Hello").await.unwrap();
        ws.next().await.unwrap().unwrap();
        ws
    });
    let (tcp, _) = listener.accept().await.unwrap();
    let mut server = wsmachine_tokio::accept_async(tcp).await.unwrap();
    let m = server.next().await.unwrap().unwrap();
    server.send(m).await.unwrap();
    let client = client.await.unwrap();
    let held = server.connection().buffer_capacity();
    eprintln!(
        "WebSocketStream<TcpStream>: {} B inline; server buffers after a round trip: {held} B; client: {} B",
        std::mem::size_of::<WebSocketStream<tokio::net::TcpStream>>(),
        client.connection().buffer_capacity()
    );
}
