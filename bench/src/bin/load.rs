//! A load generator in the manner of uWebSockets' `load_test`: N
//! connections, each sends a message and waits for its echo before sending
//! the next. Frames are built once, masked, and echoes are checked for
//! their length and content without a WebSocket library, so the client
//! costs the same whatever the server is.
//!
//! ```text
//! load <addr> <connections> <bytes> [--text] [--seconds S] [--warmup S]
//! load <addr> <connections> <bytes> --idle [--exchange] [--hold S]
//! ```
//!
//! Prints `messages_per_second N`. With `--idle` it opens the connections,
//! optionally exchanges one message each (`--exchange`), prints `open`,
//! and keeps them open for `--hold` seconds (for the memory measurement).

use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsmachine_bench::{ascii, binary, frame, wire};

struct Args {
    addr: String,
    connections: usize,
    bytes: usize,
    text: bool,
    seconds: f64,
    warmup: f64,
    idle: bool,
    exchange: bool,
    hold: f64,
}

fn args() -> Args {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| a.iter().any(|x| x == name);
    let value = |name: &str, default: f64| {
        a.iter()
            .position(|x| x == name)
            .and_then(|i| a.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    Args {
        addr: a
            .first()
            .cloned()
            .unwrap_or_else(|| "127.0.0.1:9000".into()),
        connections: a.get(1).and_then(|v| v.parse().ok()).unwrap_or(100),
        bytes: a.get(2).and_then(|v| v.parse().ok()).unwrap_or(20),
        text: flag("--text"),
        seconds: value("--seconds", 3.0),
        warmup: value("--warmup", 0.5),
        idle: flag("--idle"),
        exchange: flag("--exchange"),
        hold: value("--hold", 3600.0),
    }
}

async fn open(addr: &str) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    s.write_all(wire::REQUEST).await?;
    let head = wire::read_head(&mut s).await?;
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(std::io::ErrorKind::ConnectionRefused.into());
    }
    Ok(s)
}

/// One message out, its echo back (checked).
async fn exchange(
    s: &mut TcpStream,
    out: &[u8],
    expect: &[u8],
    buf: &mut [u8],
) -> std::io::Result<()> {
    s.write_all(out).await?;
    let mut got = 0;
    while got < expect.len() {
        let n = s.read(&mut buf[got..expect.len()]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
    }
    if buf[..expect.len()] != *expect {
        return Err(std::io::ErrorKind::InvalidData.into());
    }
    Ok(())
}

fn main() {
    let args = args();
    let payload = if args.text {
        ascii(args.bytes)
    } else {
        binary(args.bytes)
    };
    let opcode = if args.text { 1 } else { 2 };
    let out = Rc::new(frame(true, opcode, &payload, Some(wsmachine_bench::KEY)));
    let expect = Rc::new(frame(true, opcode, &payload, None));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let mut streams = Vec::with_capacity(args.connections);
        for _ in 0..args.connections {
            streams.push(open(&args.addr).await.expect("connect"));
        }
        if args.idle {
            let mut buf = vec![0u8; expect.len()];
            if args.exchange {
                for s in &mut streams {
                    exchange(s, &out, &expect, &mut buf).await.expect("echo");
                }
            }
            println!("open {}", streams.len());
            tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
            return;
        }
        // The measured part runs on one readiness loop (mio), like
        // uWebSockets' load_test: a client that costs as little as possible,
        // so that the server is what is measured.
        let streams: Vec<std::net::TcpStream> = streams
            .into_iter()
            .map(|s| s.into_std().expect("std stream"))
            .collect();
        let rate = measure(streams, &out, &expect, args.warmup, args.seconds);
        println!("messages_per_second {rate:.0}");
        std::process::exit(0);
    });
}

/// Every connection sends `out` and waits for `expect` back, then again;
/// returns the echoes per second after the warm-up.
fn measure(
    streams: Vec<std::net::TcpStream>,
    out: &[u8],
    expect: &[u8],
    warmup: f64,
    seconds: f64,
) -> f64 {
    let mut poll = Poll::new().expect("poll");
    let mut conns: Vec<(MioStream, usize)> = Vec::with_capacity(streams.len());
    for (i, s) in streams.into_iter().enumerate() {
        s.set_nonblocking(true).expect("nonblocking");
        let mut s = MioStream::from_std(s);
        poll.registry()
            .register(&mut s, Token(i), Interest::READABLE)
            .expect("register");
        // The first message: the send buffer has room for it.
        write_all(&mut s, out);
        conns.push((s, 0));
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; expect.len().max(64 << 10)];
    let start = Instant::now();
    let (warm, end) = (
        start + Duration::from_secs_f64(warmup),
        start + Duration::from_secs_f64(warmup + seconds),
    );
    let mut count = 0u64;
    let mut counting_since = None;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if counting_since.is_none() && now >= warm {
            counting_since = Some(now);
            count = 0;
        }
        poll.poll(&mut events, Some(Duration::from_millis(10)))
            .expect("poll");
        for event in &events {
            let (s, got) = &mut conns[event.token().0];
            loop {
                match s.read(&mut buf[..expect.len() - *got]) {
                    Ok(0) => {
                        eprintln!("connection closed");
                        std::process::exit(1);
                    }
                    Ok(n) => {
                        if buf[..n] != expect[*got..*got + n] {
                            eprintln!("wrong echo");
                            std::process::exit(1);
                        }
                        *got += n;
                        if *got == expect.len() {
                            *got = 0;
                            count += 1;
                            write_all(s, out);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        eprintln!("read failed: {e}");
                        std::process::exit(1);
                    }
                }
            }
        }
    }
    let since = counting_since.unwrap_or(start);
    count as f64 / since.elapsed().as_secs_f64()
}

/// Writes all of `data` to a non-blocking socket, waiting out a full send
/// buffer (rare: one message is in flight per connection).
fn write_all(s: &mut MioStream, mut data: &[u8]) {
    while !data.is_empty() {
        match s.write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => {
                eprintln!("write failed: {e}");
                std::process::exit(1);
            }
        }
    }
}
