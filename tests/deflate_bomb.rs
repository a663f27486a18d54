//! permessage-deflate bombs (RFC 7692 §8.1 asks implementations to guard
//! against them): a small compressed message that inflates to far more than
//! the limit must never make the connection allocate past the limit.
#![cfg(feature = "deflate")]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use wsmachine::deflate::{DeflateConfig, Memory};
use wsmachine::{Config, Delivery, Error, Event, Limit, Limits, MessageKind};

/// Counts live heap bytes and the peak since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Tests in this file measure one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                + (new_size - layout.size());
            PEAK.fetch_max(live, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak heap growth, in bytes, while `f` runs.
fn peak_growth(f: impl FnOnce()) -> usize {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - base
}

/// A compressed message of `inflated` zero bytes, as a client sends it.
fn bomb(inflated: usize) -> Vec<u8> {
    let best = Config::new().deflate(Some(DeflateConfig::new().level(9)));
    let mut p = Pair::with_configs(best, Config::new());
    // Built in pieces so that building it stays cheap too.
    let piece = vec![0u8; 1 << 20];
    let pieces = inflated.div_ceil(piece.len());
    let mut wire = Vec::new();
    for i in 0..pieces {
        p.client
            .send_fragment(MessageKind::Binary, piece.clone(), i + 1 == pieces)
            .unwrap();
        wire.extend(take_output(&mut p.client));
    }
    wire
}

/// Feeds the bomb to a server; returns the peak heap growth and the events,
/// chunks dropped as they arrive (a streaming application keeps nothing).
fn run_bomb(delivery: Delivery, limit: u64, wire: &[u8]) -> (usize, Vec<Event>) {
    let config = Config::new()
        .limits(Limits::new().max_message_size(limit))
        .delivery(delivery);
    let mut p = Pair::with_configs(Config::new(), config);
    let mut events = Vec::new();
    let peak = peak_growth(|| {
        for piece in wire.chunks(16 * 1024) {
            p.server.feed(piece);
            while let Some(e) = p.server.poll_event() {
                if !matches!(e, Event::Chunk(_)) {
                    events.push(e);
                }
            }
            if p.server.is_finished() {
                break;
            }
        }
    });
    (peak, events)
}

#[test]
fn a_gigabyte_bomb_never_allocates_past_the_limit() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // 1 GiB of zeros: about 1 MiB on the wire.
    let wire = bomb(1 << 30);
    assert!(wire.len() < 2 << 20, "{} bytes on the wire", wire.len());
    let limit = 1 << 20;
    for delivery in [Delivery::Messages, Delivery::Chunks] {
        let (peak, events) = run_bomb(delivery, limit, &wire);
        let errors: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Error(e) => Some(e.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(errors, [Error::LimitExceeded(Limit::MessageSize)]);
        // Message mode: the limit itself, the inflater's state (~40 KiB)
        // and the receive buffer. Chunk mode: a 64 KiB chunk at a time.
        // Nowhere near the gigabyte either way.
        println!("{delivery:?}: peak heap growth {peak} bytes for a {limit}-byte limit");
        assert!(
            peak < limit as usize + (512 << 10),
            "{delivery:?}: peak {peak}"
        );
    }
}

#[test]
fn a_message_at_the_limit_still_passes() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let limit = 1 << 20;
    let wire = bomb(limit as usize);
    let (_, events) = run_bomb(Delivery::Messages, limit, &wire);
    match &events[..] {
        [Event::Message(m)] => assert_eq!(m.len(), limit as usize),
        other => panic!("{other:?}"),
    }
}

/// JSON messages of 150–400 bytes, the same keys every time.
fn json_stream(n: usize) -> Vec<String> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    (0..n)
        .map(|i| {
            let fills: Vec<String> = (0..1 + next(4))
                .map(|_| {
                    format!(
                        r#"{{"px":{}.{:04},"qty":{},"venue":"{}"}}"#,
                        100 + next(900),
                        next(10_000),
                        next(5_000),
                        ["XNAS", "XNYS", "BATS"][next(3) as usize]
                    )
                })
                .collect();
            format!(
                r#"{{"type":"execution","seq":{},"order_id":"ord-{:08x}","side":"{}","fills":[{}]}}"#,
                1_000_000 + i,
                next(u64::from(u32::MAX)),
                if next(2) == 0 { "buy" } else { "sell" },
                fills.join(",")
            )
        })
        .collect()
}

/// Heap held by one open connection pair member after a stream of
/// compressed JSON messages each way: (when opened, after the stream,
/// what `buffer_capacity()` reports).
fn heap_after_traffic(config: Config) -> (usize, usize, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    let mut p = Pair::with_configs(config.clone(), config);
    let idle = LIVE.load(Ordering::Relaxed) - before;
    for text in json_stream(300) {
        p.client.send(text.as_str()).unwrap();
        p.server.send(text.as_str()).unwrap();
        let _ = p.run();
    }
    let busy = LIVE.load(Ordering::Relaxed) - before;
    let reported = p.client.buffer_capacity() + p.server.buffer_capacity();
    drop(p);
    (idle / 2, busy / 2, reported / 2)
}

#[test]
fn compression_state_costs_what_the_docs_say() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_, plain, _) = heap_after_traffic(Config::new().deflate(None));
    println!("no compression: {plain} bytes per connection after the stream");
    assert!(plain < 4 << 10, "{plain}");
    // (preset, compression state per connection at most: compressor and
    // inflater, context takeover both ways; buffer_capacity() reports it
    // without the two small per-connection shells).
    let presets = [
        ("tiny", DeflateConfig::new().memory(Memory::Tiny), 8 << 10),
        ("small (default)", DeflateConfig::new(), 28 << 10),
        (
            "medium",
            DeflateConfig::new().memory(Memory::Medium),
            54 << 10,
        ),
        (
            "large",
            DeflateConfig::new().memory(Memory::Large),
            210 << 10,
        ),
        (
            "no context takeover",
            DeflateConfig::new()
                .server_no_context_takeover(true)
                .client_no_context_takeover(true),
            // Only the per-connection shells, there from the start.
            512,
        ),
    ];
    // Level 1 keeps no hash chains and spends their memory on a larger
    // hash table: never more than the same preset at the default level.
    let level_1 = [
        ("tiny, level 1", Memory::Tiny, 8 << 10),
        ("small, level 1", Memory::Small, 28 << 10),
        ("medium, level 1", Memory::Medium, 54 << 10),
        ("large, level 1", Memory::Large, 210 << 10),
    ]
    .map(|(name, memory, bound)| (name, DeflateConfig::new().memory(memory).level(1), bound));
    for (name, deflate, bound) in presets.into_iter().chain(level_1) {
        let (idle, busy, reported) = heap_after_traffic(Config::new().deflate(Some(deflate)));
        let state = busy - plain;
        println!(
            "{name}: {idle} bytes per connection when opened, {busy} after the stream \
             ({state} of compression state; buffer_capacity() says {reported})"
        );
        assert!(state <= bound, "{name}: {state} > {bound}");
        assert!(idle < 4 << 10, "{name}: {idle} bytes before any traffic");
    }
    // The default costs at most what python websockets' default costs
    // (49 KiB of zlib state), and the whole connection stays under 48 KiB.
    let (_, busy, _) = heap_after_traffic(Config::new());
    assert!(busy <= 48 << 10, "{busy}");
}
