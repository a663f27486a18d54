//! permessage-deflate on a stream of JSON messages, the traffic compression
//! is for.
//!
//! - `deflate_backend`: pure-Rust deflate implementations compressing and
//!   inflating each message with a sync flush and context takeover, as
//!   RFC 7692 does: zlib-rs through flate2 with 15-bit windows (the
//!   crate's previous backend, the baseline) and miniz_oxide; `memcpy` of
//!   the same bytes as the yardstick.
//! - `deflate_connection`: the whole path through wsmachine, client `send`
//!   to server `Event::Message`, with compression off and with every
//!   memory preset at level 1 and at the default level 6.
//!
//! The compression ratios are printed before the measurements; python
//! websockets' default on the same stream is measured by
//! `benches/websockets_default.py`.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
use miniz_oxide::inflate::stream::InflateState;
use miniz_oxide::{DataFormat, MZFlush};
use wsmachine::deflate::{DeflateConfig, Memory};
use wsmachine::{Accept, ClientRequest, Config, Connection, Event};

/// 1000 JSON messages of 150–400 bytes, like a market-data or chat feed:
/// the same keys every time, values that vary.
fn json_stream() -> Vec<Vec<u8>> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let symbols = [
        "AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA", "ASML",
    ];
    let venues = ["XNAS", "XNYS", "BATS", "ARCX", "IEXG"];
    (0..1000)
        .map(|i| {
            let n_fills = 1 + next(4);
            let fills: Vec<String> = (0..n_fills)
                .map(|_| {
                    format!(
                        r#"{{"px":{}.{:04},"qty":{},"venue":"{}","liquidity":"{}"}}"#,
                        100 + next(900),
                        next(10_000),
                        next(5_000),
                        venues[next(5) as usize],
                        if next(2) == 0 { "add" } else { "remove" }
                    )
                })
                .collect();
            format!(
                r#"{{"type":"execution","seq":{},"ts":"2026-11-25T14:{:02}:{:02}.{:06}Z","order_id":"ord-{:08x}","symbol":"{}","side":"{}","status":"{}","fills":[{}]}}"#,
                1_000_000 + i,
                next(60),
                next(60),
                next(1_000_000),
                next(u64::from(u32::MAX)),
                symbols[next(8) as usize],
                if next(2) == 0 { "buy" } else { "sell" },
                ["partial", "filled", "new"][next(3) as usize],
                fills.join(",")
            )
            .into_bytes()
        })
        .collect()
}

fn total(messages: &[Vec<u8>]) -> u64 {
    messages.iter().map(|m| m.len() as u64).sum()
}

/// zlib-rs: compress each message (sync flush, tail kept) then inflate it.
fn zlib_rs_roundtrip(
    level: u32,
    messages: &[Vec<u8>],
    out: &mut Vec<u8>,
    back: &mut Vec<u8>,
) -> usize {
    let mut c = Compress::new_with_window_bits(Compression::new(level), false, 15);
    let mut d = Decompress::new_with_window_bits(false, 15);
    let mut wire = 0;
    for m in messages {
        out.clear();
        c.compress_vec(m, out, FlushCompress::Sync).unwrap();
        wire += out.len() - 4;
        back.clear();
        d.decompress_vec(out, back, FlushDecompress::Sync).unwrap();
        debug_assert_eq!(back, m);
    }
    wire
}

/// miniz_oxide: the same, through its streaming API.
fn miniz_roundtrip(level: i32, messages: &[Vec<u8>], out: &mut [u8], back: &mut [u8]) -> usize {
    let mut c = CompressorOxide::new(create_comp_flags_from_zip_params(level, -15, 0));
    let mut d = InflateState::new_boxed(DataFormat::Raw);
    let mut wire = 0;
    for m in messages {
        let r = miniz_oxide::deflate::stream::deflate(&mut c, m, out, MZFlush::Sync);
        assert_eq!(r.bytes_consumed, m.len());
        wire += r.bytes_written - 4;
        let r2 = miniz_oxide::inflate::stream::inflate(
            &mut d,
            &out[..r.bytes_written],
            back,
            MZFlush::Sync,
        );
        debug_assert_eq!(&back[..r2.bytes_written], &m[..]);
    }
    wire
}

/// The yardstick: copying the same messages.
fn bench_memcpy(g: &mut BenchmarkGroup<'_, WallTime>, messages: &[Vec<u8>]) {
    g.bench_function("memcpy", |b| {
        let mut dst = vec![0u8; 8192];
        b.iter(|| {
            for m in messages {
                dst[..m.len()].copy_from_slice(black_box(m));
            }
            black_box(&dst);
        })
    });
}

fn backend(c: &mut Criterion) {
    let messages = json_stream();
    let raw = total(&messages);
    let (mut out, mut back) = (Vec::with_capacity(8192), Vec::with_capacity(8192));
    let (mut obuf, mut bbuf) = (vec![0u8; 8192], vec![0u8; 8192]);
    for level in [1, 6] {
        let z = zlib_rs_roundtrip(level, &messages, &mut out, &mut back);
        let m = miniz_roundtrip(level as i32, &messages, &mut obuf, &mut bbuf);
        eprintln!(
            "level {level}: {raw} bytes of JSON -> zlib-rs {z} ({:.1}%), miniz_oxide {m} ({:.1}%)",
            100.0 * z as f64 / raw as f64,
            100.0 * m as f64 / raw as f64
        );
    }
    let mut g = c.benchmark_group("deflate_backend");
    g.throughput(Throughput::Bytes(raw));
    bench_memcpy(&mut g, &messages);
    for level in [1u32, 6] {
        g.bench_function(format!("zlib-rs/level {level}"), |b| {
            b.iter(|| zlib_rs_roundtrip(level, black_box(&messages), &mut out, &mut back))
        });
        g.bench_function(format!("miniz_oxide/level {level}"), |b| {
            b.iter(|| miniz_roundtrip(level as i32, black_box(&messages), &mut obuf, &mut bbuf))
        });
    }
    g.finish();
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
    move_bytes(&mut client, &mut server);
    let Some(Event::Request(_)) = server.poll_event() else {
        panic!("no request")
    };
    server.accept(Accept::new()).unwrap();
    while server.poll_event().is_some() {}
    move_bytes(&mut server, &mut client);
    while client.poll_event().is_some() {}
    (client, server)
}

fn move_bytes(from: &mut Connection, to: &mut Connection) -> usize {
    let mut n = 0;
    while from.wants_write() {
        let chunk = from.output();
        to.feed(chunk);
        let len = chunk.len();
        n += len;
        from.consume_output(len);
    }
    n
}

/// Sends every message client -> server; returns the bytes on the wire
/// and the compressed payloads' share of them (frame headers left out).
fn through_connection(
    client: &mut Connection,
    server: &mut Connection,
    messages: &[Vec<u8>],
) -> (usize, usize) {
    let mut wire = 0;
    let mut payloads = 0;
    for m in messages {
        // Safe: the stream is ASCII JSON.
        client.send(std::str::from_utf8(m).unwrap()).unwrap();
        let n = move_bytes(client, server);
        wire += n;
        // One masked frame: 6, 8 or 14 bytes of header.
        payloads += n - if n - 6 < 126 {
            6
        } else if n - 8 < 1 << 16 {
            8
        } else {
            14
        };
        match server.poll_event() {
            Some(Event::Message(got)) => debug_assert_eq!(got.as_bytes(), &m[..]),
            other => panic!("{other:?}"),
        }
    }
    (wire, payloads)
}

fn connection(c: &mut Criterion) {
    let messages = json_stream();
    let raw = total(&messages);
    let presets = [
        ("tiny", Memory::Tiny),
        ("small (default)", Memory::Small),
        ("medium", Memory::Medium),
        ("large", Memory::Large),
    ];
    let mut configs = vec![("uncompressed".to_string(), Config::new().deflate(None))];
    for level in [1, 6] {
        for (name, memory) in presets {
            configs.push((
                format!("level {level}/{name}"),
                Config::new().deflate(Some(DeflateConfig::new().memory(memory).level(level))),
            ));
        }
    }
    for (name, config) in &configs {
        let (mut client, mut server) = pair(config.clone());
        let (wire, payloads) = through_connection(&mut client, &mut server, &messages);
        eprintln!(
            "{name}: {raw} bytes of JSON -> {wire} bytes on the wire ({:.2}%), payloads {payloads} ({:.2}%); {} + {} bytes of connection state",
            100.0 * wire as f64 / raw as f64,
            100.0 * payloads as f64 / raw as f64,
            client.buffer_capacity(),
            server.buffer_capacity()
        );
    }
    let mut g = c.benchmark_group("deflate_connection");
    g.throughput(Throughput::Bytes(raw));
    bench_memcpy(&mut g, &messages);
    for (name, config) in configs {
        let (mut client, mut server) = pair(config);
        g.bench_function(name, |b| {
            b.iter(|| through_connection(&mut client, &mut server, black_box(&messages)))
        });
    }
    g.finish();
}

criterion_group!(benches, backend, connection);
criterion_main!(benches);
