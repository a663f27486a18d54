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

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

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
        let count = Rc::new(Cell::new(0u64));
        let counting = Rc::new(Cell::new(false));
        for mut s in streams {
            let (out, expect, count, counting) =
                (out.clone(), expect.clone(), count.clone(), counting.clone());
            tokio::task::spawn_local(async move {
                let mut buf = vec![0u8; expect.len()];
                loop {
                    if exchange(&mut s, &out, &expect, &mut buf).await.is_err() {
                        eprintln!("connection failed");
                        std::process::exit(1);
                    }
                    if counting.get() {
                        count.set(count.get() + 1);
                    }
                }
            });
        }
        tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
        counting.set(true);
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
        let n = count.get();
        let rate = n as f64 / start.elapsed().as_secs_f64();
        println!("messages_per_second {rate:.0}");
        std::process::exit(0);
    });
}
