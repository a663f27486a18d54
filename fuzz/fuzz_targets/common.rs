//! Shared driving code for the fuzz targets.
#![allow(dead_code)]

use wsmachine::{Accept, Connection, Event, Instant};

/// Feeds `data` in pieces whose sizes come from the data itself, polls
/// everything, answers requests, echoes messages, writes output away and
/// ticks time, checking invariants as it goes.
pub fn drive(conn: &mut Connection, data: &[u8]) {
    let (sizes, body) = data.split_at(data.len().min(8));
    let mut at = 0;
    let mut i = 0;
    let mut now = 0u64;
    while at < body.len() {
        let size = 1 + usize::from(sizes.get(i % sizes.len().max(1)).copied().unwrap_or(255));
        i += 1;
        let piece = &body[at..(at + size).min(body.len())];
        at += piece.len();
        let mut piece = piece;
        while !piece.is_empty() {
            let n = if i % 2 == 0 {
                conn.feed(piece)
            } else {
                let buf = conn.read_buf();
                let n = buf.len().min(piece.len());
                buf[..n].copy_from_slice(&piece[..n]);
                conn.commit_read(n);
                n
            };
            piece = &piece[n..];
            poll_all(conn);
            if n == 0 && conn.poll_event().is_none() {
                break;
            }
        }
        now += 1_000_000_000;
        conn.handle_timeout(Instant::from_nanos(now));
        poll_all(conn);
    }
    conn.feed_eof();
    poll_all(conn);
    conn.handle_timeout(Instant::from_nanos(u64::MAX));
    poll_all(conn);
}

fn poll_all(conn: &mut Connection) {
    let mut closed = false;
    while let Some(event) = conn.poll_event() {
        assert!(!closed, "no event after Closed");
        match event {
            Event::Request(_) => {
                let _ = conn.accept(Accept::new());
            }
            Event::Message(m) => {
                let _ = conn.send(m);
            }
            Event::Chunk(c) => {
                if c.kind == wsmachine::MessageKind::Text {
                    assert!(core::str::from_utf8(&c.data).is_ok());
                }
            }
            Event::Closed(_) => closed = true,
            _ => {}
        }
    }
    let total: usize = conn.output_chunks().map(<[u8]>::len).sum();
    assert_eq!(total, conn.output_len());
    while conn.poll_transmit().is_some() {}
    assert!(!conn.wants_write());
}
