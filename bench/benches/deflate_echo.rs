//! permessage-deflate echo: a client sends JSON messages of 200 B–4 KiB,
//! the server sends each back, compressed both ways with context takeover
//! and 15-bit windows, at level 1 and level 6; wsmachine against yawc (a
//! Rust peer with permessage-deflate, on zlib-rs) over in-memory pipes, and
//! against wsmachine's default (level 6, 12-bit windows) and uncompressed
//! paths. Both compress every message (threshold
//! 32 bytes, below every message here), both validate text.
//!
//! Before measuring, it prints (and writes to
//! `target/criterion/deflate-wire.tsv`) the bytes on the wire per message
//! each way.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::SinkExt;
use wsmachine::deflate::{DeflateConfig, Memory};
use wsmachine::{Accept, ClientRequest, Config, Connection, Event, Utf8Bytes};
use wsmachine_bench::ready;

use wsmachine_bench::pipe;

/// JSON messages of 200 B to 4 KiB, the same every run.
fn json_stream() -> Vec<Utf8Bytes> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let symbols = ["AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA"];
    (0..500)
        .map(|i| {
            let target = 200 + next(3900) as usize;
            let mut fills = Vec::new();
            let mut len = 150;
            while len < target {
                let f = format!(
                    r#"{{"px":{}.{:04},"qty":{},"venue":"X{}","id":{}}}"#,
                    100 + next(900),
                    next(10_000),
                    next(5000),
                    next(9),
                    next(1 << 40)
                );
                len += f.len() + 1;
                fills.push(f);
            }
            let s = format!(
                r#"{{"type":"execution","seq":{},"symbol":"{}","side":"{}","fills":[{}]}}"#,
                1_000_000 + i,
                symbols[next(7) as usize],
                if next(2) == 0 { "buy" } else { "sell" },
                fills.join(",")
            );
            Utf8Bytes::from(s)
        })
        .collect()
}

fn pair(config: Config) -> (Connection, Connection) {
    let request = ClientRequest::new("ws://bench/").unwrap();
    let mut client = Connection::client_with_rng(
        config.clone(),
        &request,
        wsmachine::ChaCha20Rng::from_seed([1; 32]),
    )
    .unwrap();
    let mut server = Connection::server(config);
    while let Some(b) = client.poll_transmit() {
        server.feed(&b);
    }
    let Some(Event::Request(_)) = server.poll_event() else {
        panic!("no request")
    };
    server.accept(Accept::new()).unwrap();
    while server.poll_event().is_some() {}
    while let Some(b) = server.poll_transmit() {
        client.feed(&b);
    }
    assert!(matches!(client.poll_event(), Some(Event::Open(_))));
    (client, server)
}

/// Echoes every message; returns the bytes on the wire each way.
fn wsmachine_echo(c: &mut Connection, s: &mut Connection, msgs: &[Utf8Bytes]) -> (usize, usize) {
    let (mut up, mut down) = (0, 0);
    for m in msgs {
        c.send(m.clone()).unwrap();
        while let Some(b) = c.poll_transmit() {
            up += b.len();
            s.feed(&b);
        }
        let Some(Event::Message(got)) = s.poll_event() else {
            panic!()
        };
        s.send(got).unwrap();
        while let Some(b) = s.poll_transmit() {
            down += b.len();
            c.feed(&b);
        }
        let Some(Event::Message(back)) = c.poll_event() else {
            panic!()
        };
        debug_assert_eq!(back.as_bytes(), m.as_bytes());
        black_box(back);
    }
    (up, down)
}

type Yawc = yawc::WebSocket<pipe::End>;

fn yawc_pair(level: u32) -> (Yawc, Yawc, pipe::Meter) {
    let (a, b, meter) = pipe::metered_pair();
    let options = yawc::Options::default()
        .with_compression_level(yawc::CompressionLevel::new(level))
        .with_compression_threshold(32)
        .with_limits(wsmachine_bench::MAX_MESSAGE, wsmachine_bench::MAX_MESSAGE)
        .with_utf8();
    let ext = Some("permessage-deflate");
    let client =
        yawc::WebSocket::from_stream_with_extensions(a, yawc::Role::Client, ext, options.clone())
            .unwrap();
    let server =
        yawc::WebSocket::from_stream_with_extensions(b, yawc::Role::Server, ext, options).unwrap();
    (client, server, meter)
}

fn yawc_echo(c: &mut Yawc, s: &mut Yawc, msgs: &[Utf8Bytes]) {
    for m in msgs {
        ready(c.send(yawc::Frame::text(Bytes::from(m.clone())))).unwrap();
        let got = ready(s.next_frame()).unwrap();
        ready(s.send(yawc::Frame::text(got.payload().clone()))).unwrap();
        let back = ready(c.next_frame()).unwrap();
        debug_assert_eq!(&back.payload()[..], m.as_bytes());
        black_box(back);
    }
}

fn deflate_echo(c: &mut Criterion) {
    let msgs = json_stream();
    let raw: usize = msgs.iter().map(|m| m.len()).sum();
    let mut g = c.benchmark_group("deflate echo JSON 200 B-4 KiB");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.warm_up_time(Duration::from_millis(400));
    g.measurement_time(Duration::from_secs(2));
    g.sample_size(20);
    let mut wire = String::from("implementation\tbytes per message up\tdown\tof raw\n");
    let n = msgs.len();
    for level in [1u32, 6] {
        // 15-bit windows, as yawc uses.
        let deflate = DeflateConfig::new().memory(Memory::Large).level(level);
        let config = Config::new().deflate(Some(deflate));
        let (mut client, mut server) = pair(config);
        let (up, down) = wsmachine_echo(&mut client, &mut server, &msgs);
        wire += &format!(
            "wsmachine level {level}\t{}\t{}\t{:.3}\n",
            up / n,
            down / n,
            (up + down) as f64 / (2 * raw) as f64
        );
        g.bench_function(format!("wsmachine level {level}"), |b| {
            b.iter(|| wsmachine_echo(&mut client, &mut server, &msgs))
        });

        let (mut yc, mut ys, meter) = yawc_pair(level);
        meter.reset();
        yawc_echo(&mut yc, &mut ys, &msgs);
        let (up, down) = meter.get();
        wire += &format!(
            "yawc level {level}\t{}\t{}\t{:.3}\n",
            up / n,
            down / n,
            (up + down) as f64 / (2 * raw) as f64
        );
        g.bench_function(format!("yawc level {level}"), |b| {
            b.iter(|| yawc_echo(&mut yc, &mut ys, &msgs))
        });
    }
    // wsmachine's default: level 6, 12-bit windows.
    let (mut client, mut server) = pair(Config::new());
    let (up, down) = wsmachine_echo(&mut client, &mut server, &msgs);
    wire += &format!(
        "wsmachine default (level 6, Memory::Small)\t{}\t{}\t{:.3}\n",
        up / n,
        down / n,
        (up + down) as f64 / (2 * raw) as f64
    );
    g.bench_function("wsmachine default", |b| {
        b.iter(|| wsmachine_echo(&mut client, &mut server, &msgs))
    });
    let (mut client, mut server) = pair(Config::new().deflate(None));
    let (up, down) = wsmachine_echo(&mut client, &mut server, &msgs);
    wire += &format!(
        "wsmachine uncompressed\t{}\t{}\t{:.3}\n",
        up / n,
        down / n,
        (up + down) as f64 / (2 * raw) as f64
    );
    g.bench_function("wsmachine uncompressed", |b| {
        b.iter(|| wsmachine_echo(&mut client, &mut server, &msgs))
    });
    g.finish();
    eprint!("{wire}");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/criterion");
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(format!("{dir}/deflate-wire.tsv"), wire);
}

criterion_group!(benches, deflate_echo);
criterion_main!(benches);
