//! Memory is a limit, not an estimate: every allocation is bounded by the
//! limit it belongs to, what a connection holds is what `buffer_capacity()`
//! says, and an idle connection costs almost nothing. Measured with a
//! counting allocator (per thread, so the tests can run in parallel).
mod common;
#[path = "common/counting.rs"]
mod counting;

use common::*;
use counting::{Counting, live, measure};
use wsmachine::*;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What a connection holds besides `buffer_capacity()`: its event queue, its
/// boxed random source and handshake leftovers.
const FIXED: isize = 2 << 10;

/// Heap held by `conn` now, given the live bytes before it was built.
fn held(base: isize) -> isize {
    live() - base
}

/// Asserts that `buffer_capacity()` tells what the connection holds.
fn assert_reported(conn: &Connection, held: isize) {
    let reported = conn.buffer_capacity() as isize;
    assert!(
        held >= reported && held <= reported + FIXED,
        "holds {held} bytes, buffer_capacity() says {reported}"
    );
}

/// A driver that reads into the connection's own buffer, in reads of up to
/// `read` bytes.
fn read_into(conn: &mut Connection, mut input: &[u8], read: usize) -> Vec<Event> {
    let mut events = Vec::new();
    while !input.is_empty() {
        let buf = conn.read_buf();
        let n = buf.len().min(read).min(input.len());
        if n == 0 {
            events.extend(drain(conn));
            continue;
        }
        buf[..n].copy_from_slice(&input[..n]);
        conn.commit_read(n);
        input = &input[n..];
        events.extend(drain(conn));
    }
    events
}

fn no_deflate() -> Config {
    #[cfg(feature = "deflate")]
    return Config::new().deflate(None);
    #[cfg(not(feature = "deflate"))]
    Config::new()
}

// A delivered message owns an allocation of its own size: once the
// application drops it, the connection holds its read buffer and no more.
// (Before: 50 MB held after one 16 MiB frame, 16.9 MB reported.)
#[test]
fn a_dropped_message_leaves_nothing_behind() {
    let frame = cframe(true, 0x2, &vec![7u8; 16 << 20]);
    let base = live();
    let mut server = open_server(no_deflate());
    let (events, peak, largest) = measure(|| read_into(&mut server, &frame, 64 << 10));
    assert!(matches!(&events[..], [Event::Message(m)] if m.len() == 16 << 20));
    drop(events);
    let limits = Limits::default();
    // Each allocation within its limit, and the peak within their sum.
    assert!(largest <= limits.max_message_size as usize, "{largest}");
    assert!(
        peak <= limits.max_message_size as usize + limits.max_input_buffer + (8 << 10),
        "peak {peak}"
    );
    let held = held(base);
    assert_reported(&server, held);
    assert!(held <= (64 << 10) + FIXED, "{held}");
    server.shrink_buffers();
    assert!(self::held(base) < 4 << 10, "{}", self::held(base));
}

// The same for a fragmented message (before: 18.9 MB held, 2.6 KB
// reported).
#[test]
fn a_fragmented_message_leaves_nothing_behind() {
    let mut input = Vec::new();
    for i in 0..16 {
        input.extend(cframe(
            i == 15,
            if i == 0 { 2 } else { 0 },
            &vec![1u8; 1 << 20],
        ));
    }
    let base = live();
    let mut server = open_server(no_deflate());
    let (events, peak, largest) = measure(|| feed_all(&mut server, &input));
    assert!(matches!(&events[..], [Event::Message(m)] if m.len() == 16 << 20));
    drop(events);
    assert!(largest <= 16 << 20, "{largest}");
    assert!(peak <= (16 << 20) + (80 << 10), "peak {peak}");
    let held = held(base);
    assert_reported(&server, held);
    assert!(held < 4 << 10, "{held}");
}

// Small messages are copied out: keeping them costs what they hold, not
// the buffers they arrived in (before: 1,000 retained 10-byte messages
// pinned 62 MiB in the worst case).
#[test]
fn retained_small_messages_cost_what_they_hold() {
    let mut server = open_server(no_deflate());
    let mut input = Vec::new();
    for _ in 0..1000 {
        input.extend(cframe(true, 0x2, &[5u8; 10]));
        input.extend(cframe(true, 0x2, &vec![0u8; 60_000]));
    }
    let base = live();
    let mut kept = Vec::new();
    for event in read_into(&mut server, &input, 64 << 10) {
        if let Event::Message(m) = event
            && m.len() == 10
        {
            kept.push(m);
        }
    }
    server.shrink_buffers();
    assert_eq!(kept.len(), 1000);
    let held = held(base) - (kept.capacity() * size_of::<Message>()) as isize;
    assert!(
        held < 1000 * 16 + 4096,
        "1000 kept messages hold {held} bytes"
    );
}

// Buffered input is capped: an application that stops polling stops the
// connection from taking input (before: 38 MB buffered from 33 MB fed).
#[test]
fn input_is_capped_when_the_application_stops_polling() {
    let base = live();
    let mut server = open_server(no_deflate());
    let frame = cframe(true, 0x2, &[1u8; 1000]);
    let mut fed = 0;
    for _ in 0..100_000 {
        let n = server.feed(&frame);
        fed += n;
        if n < frame.len() {
            break;
        }
    }
    assert!(!server.wants_read());
    assert!(server.read_buf().is_empty());
    assert!(fed < 70 << 10, "took {fed} bytes without a poll");
    assert!(server.buffered_input() <= Limits::default().max_input_buffer);
    let held = held(base);
    assert!(held < (64 << 10) + (8 << 10), "{held}");
    // Polling lets it go on.
    assert!(matches!(server.poll_event(), Some(Event::Message(_))));
    let _ = drain(&mut server);
    assert!(server.wants_read());
}

// Under the default limits, the worst a single connection can be made to
// hold is the sum of its limits: a full output buffer, a ping flood while
// the driver does not write, a fragmented message at the limit, and input
// while the application does not poll (before: about 80 MiB, kept).
#[test]
fn the_worst_connection_holds_no_more_than_the_sum_of_its_limits() {
    let limits = Limits::default();
    let sum = limits.max_input_buffer
        + limits.max_message_size as usize
        + limits.max_output_buffer
        + CONTROL_BUDGET;
    // The peer's bytes, built beforehand.
    let chunk = Bytes::from(vec![9u8; 4000]);
    let mut pings = Vec::new();
    for i in 0..1000u16 {
        pings.extend(cframe(true, 0x9, &i.to_be_bytes()));
    }
    let piece = vec![1u8; (1 << 20) - 64];
    let (first, more) = (cframe(false, 2, &piece), cframe(false, 0, &piece));
    drop(piece);
    let base = live();
    let mut server = open_server(Config::default());
    let ((), peak, largest) = measure(|| {
        // The application fills the output buffer.
        while server.send_uncompressed(chunk.clone()).is_ok() {}
        // A ping flood nobody writes the answers to.
        let _ = feed_all(&mut server, &pings);
        // An unfinished fragmented message just under the limit.
        for i in 0..16 {
            let _ = feed_all(&mut server, if i == 0 { &first } else { &more });
        }
        // A message the application does not poll, and more input behind it.
        let _ = server.feed(&cframe(false, 0, &[0u8; 10]));
        let _ = server.feed(&cframe(true, 0x9, b"x"));
        while server.feed(&[0x89, 0x80, 0, 0, 0, 0]) > 0 {}
    });
    assert!(
        largest <= limits.max_output_buffer + CONTROL_BUDGET,
        "{largest}"
    );
    assert!(peak <= sum + (64 << 10), "peak {peak}, sum of limits {sum}");
    let held = held(base);
    assert_reported(&server, held);
    assert!(held as usize <= sum + (8 << 10), "{held}");
}

// An idle connection after a 64 KiB message each way: under 4 KiB of heap
// with a driver that reads into a shared buffer, and with one that reads
// into the connection's buffer and releases it when idle (before: 130 KB
// for the pair).
#[test]
fn an_idle_connection_costs_almost_nothing() {
    let base = live();
    let mut p = Pair::with_configs(no_deflate(), no_deflate());
    p.client.send(vec![1u8; 64 << 10]).unwrap();
    let _ = p.run();
    p.server.send(vec![2u8; 64 << 10]).unwrap();
    let _ = p.run();
    let pair = held(base);
    assert!(pair < 2 * (4 << 10), "the pair holds {pair} bytes");
    assert!(p.client.buffer_capacity() + p.server.buffer_capacity() < 1024);
    drop(p);

    let base = live();
    let mut server = open_server(no_deflate());
    let _ = read_into(
        &mut server,
        &cframe(true, 0x2, &vec![3u8; 64 << 10]),
        64 << 10,
    );
    server.send(vec![4u8; 64 << 10]).unwrap();
    take_output(&mut server);
    assert!(
        held(base) > 64 << 10,
        "the read buffer is kept for the next read"
    );
    assert_reported(&server, held(base));
    server.shrink_buffers();
    assert!(held(base) < 4 << 10, "{}", held(base));
    assert_reported(&server, held(base));
    drop(server);

    // Shrunk, an idle connection holds nothing on the heap beyond its
    // struct: no input, output or event buffer (a readiness loop keeps
    // thousands of these).
    let base = live();
    let mut server = open_server(no_deflate());
    let _ = feed_all(&mut server, &cframe(true, 0x1, b"hello"));
    let _ = server.ping(b"p");
    take_output(&mut server);
    server.send(vec![5u8; 100]).unwrap();
    while server.wants_write() {
        let n = server.output().len();
        server.consume_output(n);
    }
    server.shrink_buffers();
    // What is left is its shared configuration (an `Arc<Config>`).
    let config = (std::mem::size_of::<Config>() + 16) as isize;
    assert!(
        held(base) <= config,
        "an idle, shrunk connection holds {} bytes",
        held(base)
    );
    assert_eq!(server.buffer_capacity(), 0);
}

// With permessage-deflate, buffer_capacity() counts the compression state.
#[cfg(feature = "deflate")]
#[test]
fn compression_state_is_reported() {
    let base = live();
    let mut p = Pair::new();
    let json = "{\"type\":\"execution\",\"symbol\":\"ASML\",\"qty\":100}".repeat(8);
    p.client.send(json.as_str()).unwrap();
    p.server.send(json.as_str()).unwrap();
    let _ = p.run();
    let held = held(base);
    let reported = (p.client.buffer_capacity() + p.server.buffer_capacity()) as isize;
    // Two connections, each with a compressor and an inflater.
    assert!(reported > 16 << 10, "{reported}");
    assert!(
        held >= reported && held <= reported + 2 * FIXED,
        "holds {held}, reported {reported}"
    );
}

// A connection can move between threads and be shared behind a lock
// (bindings and async runtimes need it).
#[test]
fn connections_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Connection>();
    check::<Config>();
    check::<Event>();
}

// An idle open connection driven through `feed` (a readiness loop reading
// into one shared buffer): what it holds on the heap, and the size of the
// struct a driver stores, together within 1 KiB... of heap beyond the
// struct, and the struct itself small.
#[test]
fn an_idle_fed_connection_holds_little_beyond_its_struct() {
    let base = live();
    let mut server = open_server(no_deflate());
    let _ = feed_all(&mut server, &cframe(true, 0x2, &vec![3u8; 64 << 10]));
    server.send(vec![4u8; 64 << 10]).unwrap();
    take_output(&mut server);
    let heap = held(base);
    let size = size_of::<Connection>();
    println!("idle fed connection: {heap} bytes of heap, struct {size} bytes");
    assert!(heap <= 1024, "{heap}");
    assert!(size <= 1024, "{size}");
}
