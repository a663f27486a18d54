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

/// Opens `n` connections, sends one message on each, and returns the heap
/// held per connection once all are idle.
fn heap_per_idle_connection(n: usize, split: bool, deflate: bool) -> isize {
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
                    tokio::spawn(async move {
                        let ws = wsmachine_tokio::accept_async(tcp).await.unwrap();
                        if split {
                            let (write, read) = ws.split();
                            let _ = read.forward(write).await;
                        } else {
                            let mut ws = ws;
                            while let Some(Ok(m)) = ws.next().await {
                                let _ = ws.send(m).await;
                            }
                        }
                    });
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
                // One round trip: a 64-byte text message (masked with a
                // zero key), which the server's echo compresses when
                // permessage-deflate is agreed (it is over the 32-byte
                // minimum), so its compressor's state is counted.
                let mut frame = vec![0x81, 0x80 | 64, 0, 0, 0, 0];
                frame.extend_from_slice(&[b'x'; 64]);
                s.write_all(&frame).unwrap();
                let mut header = [0u8; 2];
                s.read_exact(&mut header).unwrap();
                assert_eq!(header[0] & 0x40 != 0, deflate, "RSV1: compressed");
                let mut payload = vec![0u8; usize::from(header[1] & 0x7F)];
                s.read_exact(&mut payload).unwrap();
                s
            })
            .collect::<Vec<_>>()
    };
    // Warm up the runtime's and allocator's one-time structures.
    let warm = open(64);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let before = HEAP.load(Ordering::Relaxed);
    let clients = open(n);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let after = HEAP.load(Ordering::Relaxed);
    // The clients' own heap (the Vec of sockets) is not the server's.
    let clients_heap = (clients.capacity() * std::mem::size_of::<std::net::TcpStream>()) as isize;
    drop((warm, clients));
    let _ = done_tx.send(());
    server.join().unwrap();
    (after - before - clients_heap) / n as isize
}

#[test]
fn idle_tokio_connections_hold_little_heap() {
    let mut measured = Vec::new();
    for deflate in [false, true] {
        let unsplit = heap_per_idle_connection(500, false, deflate);
        let split = heap_per_idle_connection(500, true, deflate);
        eprintln!(
            "heap per idle connection{}: unsplit {unsplit} B, split {split} B",
            if deflate { " (permessage-deflate)" } else { "" }
        );
        measured.push((unsplit, split));
    }
    // The task, the stream (about 1 KiB inline), tokio's registration and
    // a few hundred bytes of connection buffers; no read buffer. With
    // permessage-deflate the compressor's state (the default memory
    // preset, `Small`: a 4 KiB window) comes on top; the inflater's goes
    // at the end of each message (client_no_context_takeover).
    assert!(
        measured[0].0 < 8 << 10 && measured[0].1 < 9 << 10,
        "{measured:?}"
    );
    assert!(
        measured[1].0 < 40 << 10 && measured[1].1 < 40 << 10,
        "{measured:?}"
    );
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
