//! The input buffer and the output queue, each bounded by its limit.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use bytes::{Buf, Bytes};

use crate::event::{Chunk, Event};
use crate::message::Message;

/// Events waiting to be polled. The frequent ones are kept inline and the
/// rare, large ones (a request, an error, the end) boxed, so that queueing a
/// message moves a few words rather than the whole `Event`.
#[derive(Debug, Default)]
pub(crate) struct EventQueue(VecDeque<Queued>);

#[derive(Debug)]
enum Queued {
    Message(Message),
    Chunk(Chunk),
    Ping(Bytes),
    Pong(Bytes),
    Other(alloc::boxed::Box<Event>),
}

impl EventQueue {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn push_back(&mut self, event: Event) {
        self.0.push_back(match event {
            Event::Message(m) => Queued::Message(m),
            Event::Chunk(c) => Queued::Chunk(c),
            Event::Ping(p) => Queued::Ping(p),
            Event::Pong(p) => Queued::Pong(p),
            other => Queued::Other(alloc::boxed::Box::new(other)),
        });
    }

    pub(crate) fn pop_front(&mut self) -> Option<Event> {
        Some(match self.0.pop_front()? {
            Queued::Message(m) => Event::Message(m),
            Queued::Chunk(c) => Event::Chunk(c),
            Queued::Ping(p) => Event::Ping(p),
            Queued::Pong(p) => Event::Pong(p),
            Queued::Other(e) => *e,
        })
    }
}

/// Received bytes waiting to be processed: the opening handshake's head,
/// and input that arrived while events were waiting to be polled.
///
/// `buf[start..end]` holds data. A driver that reads through
/// [`InputBuf::spare`] gets initialized room after the data (zeroed once,
/// when the buffer is first allocated, then reused); the buffer is then kept
/// between reads. A driver that only feeds slices leaves nothing here but
/// what could not be processed at once, and the buffer is freed as soon as
/// it is drained.
#[derive(Default)]
pub(crate) struct InputBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The driver reads into the buffer: keep it between reads.
    reading: bool,
}

impl core::fmt::Debug for InputBuf {
    /// Sizes only: the data may be tens of kilobytes.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InputBuf")
            .field("len", &self.len())
            .field("capacity", &self.buf.capacity())
            .finish_non_exhaustive()
    }
}

/// Capacity kept for reuse by a buffer a driver does not read into.
const KEEP_SMALL: usize = 256;

impl InputBuf {
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Moves the data to the front when that makes room at the end.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// Room to read into, so that data plus room is at most `cap` bytes.
    pub(crate) fn spare(&mut self, cap: usize) -> &mut [u8] {
        self.reading = true;
        let room = cap.saturating_sub(self.len());
        if room == 0 {
            return &mut [];
        }
        if self.buf.len() - self.end < room {
            self.compact();
        }
        let want = self.end + room;
        if self.buf.len() < want {
            // Zeroed once; later reads reuse the initialized bytes.
            let extra = want - self.buf.len();
            self.buf.reserve_exact(extra);
            self.buf.resize(want, 0);
        }
        &mut self.buf[self.end..self.end + room]
    }

    /// Marks `n` bytes of the room from [`Self::spare`] as data (clamped to
    /// the room).
    pub(crate) fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Copies as much of `data` as fits under `cap`; returns how much.
    pub(crate) fn extend(&mut self, data: &[u8], cap: usize) -> usize {
        let take = data.len().min(cap.saturating_sub(self.len()));
        if take == 0 {
            return 0;
        }
        if self.end + take > self.buf.len() {
            self.compact();
        }
        let end = self.end + take;
        let reuse = self.buf.len().min(end) - self.end;
        self.buf[self.end..self.end + reuse].copy_from_slice(&data[..reuse]);
        if end > self.buf.len() {
            // Grow geometrically, never past the cap.
            let target = end
                .max(self.buf.capacity().saturating_mul(2))
                .min(cap.max(end));
            self.buf.reserve_exact(target - self.buf.len());
            self.buf.extend_from_slice(&data[reuse..take]);
        }
        self.end = end;
        take
    }

    /// Drops the first `n` bytes of data.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if !self.reading && self.buf.capacity() > KEEP_SMALL {
                self.buf = Vec::new();
            }
        }
    }

    /// Drops all data.
    pub(crate) fn clear(&mut self) {
        self.consume(self.len());
    }

    /// Frees the buffer if it holds no data.
    pub(crate) fn release(&mut self) {
        if self.is_empty() {
            self.buf = Vec::new();
            self.start = 0;
            self.end = 0;
            self.reading = false;
        }
    }

    /// Heap bytes held.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

/// Bytes waiting to be written: shared chunks (large payloads, queued
/// without a copy, and earlier tails) followed by a contiguous tail for
/// headers and small frames.
///
/// The tail grows geometrically but never past the queue's limit, and is
/// handed over without a copy by [`OutQueue::take`].
#[derive(Default)]
pub(crate) struct OutQueue {
    /// Each with the heap bytes it holds.
    chunks: VecDeque<(Bytes, usize)>,
    tail: Vec<u8>,
    /// Bytes at the front of `tail` already written.
    head: usize,
    len: usize,
    /// Bytes ever queued, and ever written: positions in the output stream.
    queued: u64,
    written: u64,
}

impl core::fmt::Debug for OutQueue {
    /// Sizes only: the queue may hold megabytes.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OutQueue")
            .field("len", &self.len)
            .field("chunks", &self.chunks.len())
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

/// Tail capacity kept for reuse once everything is written.
const KEEP_TAIL: usize = 1024;

/// A tail buffer this small is kept when its bytes are taken (copied out).
const KEEP_TAKEN: usize = 256;

impl OutQueue {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The stream position after the last byte queued.
    pub(crate) fn queued(&self) -> u64 {
        self.queued
    }

    /// The stream position after the last byte written.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// Room for `extra` more bytes in the tail, which may hold at most
    /// `limit` bytes in all.
    fn reserve(&mut self, extra: usize, limit: usize) {
        let pending = self.tail.len() - self.head;
        if self.tail.capacity() - self.tail.len() >= extra {
            return;
        }
        if self.head > 0 {
            self.tail.drain(..self.head);
            self.head = 0;
        }
        let need = pending + extra;
        if self.tail.capacity() >= need {
            return;
        }
        let target = need
            .max(self.tail.capacity().saturating_mul(2).min(limit))
            .max(need.min(256));
        self.tail.reserve_exact(target - self.tail.len());
    }

    /// Appends a frame to the tail: `header`, then `payload`, masked with
    /// `mask` if given. The tail never grows past `limit` bytes.
    pub(crate) fn put_frame(
        &mut self,
        header: &[u8],
        payload: &[u8],
        mask: Option<[u8; 4]>,
        limit: usize,
    ) {
        let n = header.len() + payload.len();
        self.reserve(n, limit);
        self.tail.extend_from_slice(header);
        match mask {
            // Copied and masked in one pass.
            Some(key) => crate::mask::extend_masked(&mut self.tail, payload, key, 0),
            None => self.tail.extend_from_slice(payload),
        }
        self.len += n;
        self.queued += n as u64;
    }

    /// Appends a shared buffer without copying it; `held` is the heap it
    /// keeps alive.
    pub(crate) fn put_bytes(&mut self, data: Bytes, held: usize) {
        if data.is_empty() {
            return;
        }
        self.freeze_tail();
        self.len += data.len();
        self.queued += data.len() as u64;
        self.chunks.push_back((data, held));
    }

    /// Moves the pending tail into the chunk list, without a copy.
    fn freeze_tail(&mut self) {
        if self.tail.len() > self.head {
            let held = self.tail.capacity();
            let head = self.head;
            let bytes = Bytes::from(core::mem::take(&mut self.tail)).slice(head..);
            self.head = 0;
            self.chunks.push_back((bytes, held));
        }
    }

    /// The first contiguous run of pending bytes.
    pub(crate) fn first(&self) -> &[u8] {
        self.chunks
            .front()
            .map_or(&self.tail[self.head..], |(c, _)| &c[..])
    }

    /// Every pending run, in order.
    pub(crate) fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.chunks
            .iter()
            .map(|(c, _)| &c[..])
            .chain(core::iter::once(&self.tail[self.head..]))
            .filter(|c| !c.is_empty())
    }

    /// Drops `n` written bytes from the front (clamped to what is pending).
    pub(crate) fn consume(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        self.written += n as u64;
        while n > 0 {
            if let Some((front, _)) = self.chunks.front_mut() {
                let take = n.min(front.len());
                front.advance(take);
                n -= take;
                if front.is_empty() {
                    self.chunks.pop_front();
                }
            } else {
                self.head += n;
                n = 0;
            }
        }
        if self.len == 0 {
            self.tail.clear();
            self.head = 0;
            if self.tail.capacity() > KEEP_TAIL {
                self.tail = Vec::new();
            }
        }
    }

    /// Takes the next run of pending bytes, owned. A short tail in a small
    /// buffer is copied into an allocation of its own size and the buffer
    /// kept for the next frames (one allocation per run rather than a new
    /// buffer and a shared header); a longer one is handed over as it is.
    pub(crate) fn take(&mut self) -> Option<Bytes> {
        let bytes = match self.chunks.pop_front() {
            Some((bytes, _)) => bytes,
            None if self.tail.len() > self.head => {
                let head = self.head;
                self.head = 0;
                if self.tail.capacity() <= KEEP_TAKEN {
                    let bytes = Bytes::copy_from_slice(&self.tail[head..]);
                    self.tail.clear();
                    bytes
                } else if head == 0 {
                    Bytes::from(core::mem::take(&mut self.tail))
                } else {
                    Bytes::from(core::mem::take(&mut self.tail)).slice(head..)
                }
            }
            None => return None,
        };
        self.len -= bytes.len();
        self.written += bytes.len() as u64;
        Some(bytes)
    }

    /// Frees the buffers if nothing is pending.
    pub(crate) fn release(&mut self) {
        if self.len == 0 {
            self.tail = Vec::new();
            self.head = 0;
            self.chunks = VecDeque::new();
        }
    }

    /// Frees the tail buffer if nothing is pending in it.
    pub(crate) fn release_tail(&mut self) {
        if self.tail.len() == self.head {
            self.tail = Vec::new();
            self.head = 0;
        }
    }

    /// Drops everything pending (the transport is gone).
    pub(crate) fn discard(&mut self) {
        let n = self.len;
        self.consume(n);
        self.chunks.clear();
        self.tail = Vec::new();
    }

    /// Heap bytes held: the tail and every queued chunk.
    pub(crate) fn capacity(&self) -> usize {
        self.tail.capacity() + self.chunks.iter().map(|(_, held)| held).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_bounded_and_reused() {
        let mut r = InputBuf::default();
        assert_eq!(r.spare(8).len(), 8);
        r.spare(8)[..3].copy_from_slice(b"abc");
        r.commit(3);
        assert_eq!(r.data(), b"abc");
        assert_eq!(r.extend(b"defghij", 8), 5);
        assert_eq!(r.data(), b"abcdefgh");
        assert!(r.spare(8).is_empty());
        r.consume(2);
        assert_eq!(r.spare(8).len(), 2);
        assert_eq!(r.data(), b"cdefgh");
        assert_eq!(r.capacity(), 8);
        r.clear();
        assert_eq!(r.capacity(), 8, "kept while the driver reads into it");
        r.release();
        assert_eq!(r.capacity(), 0);
    }

    #[test]
    fn fed_input_is_freed_when_drained() {
        let mut r = InputBuf::default();
        assert_eq!(r.extend(&[1; 1000], 4096), 1000);
        assert!(r.capacity() >= 1000 && r.capacity() <= 4096);
        assert_eq!(r.extend(&[2; 5000], 4096), 3096);
        assert_eq!(r.capacity(), 4096);
        r.consume(4096);
        assert_eq!(r.capacity(), 0);
    }

    #[test]
    fn out_queue_keeps_order_across_chunks() {
        let mut q = OutQueue::default();
        q.put_frame(b"h1", b"", None, 1 << 20);
        q.put_bytes(Bytes::from_static(b"PAYLOAD"), 7);
        q.put_frame(b"h2", b"P2", None, 1 << 20);
        let all: Vec<u8> = q.chunks().flatten().copied().collect();
        assert_eq!(all, b"h1PAYLOADh2P2");
        assert_eq!(q.len(), all.len());
        let mut got = Vec::new();
        while q.len() > 0 {
            let first = q.first();
            let n = first.len().min(3);
            got.extend_from_slice(&first[..n]);
            q.consume(n);
        }
        assert_eq!(got, all);
        assert_eq!(q.written(), all.len() as u64);
        q.consume(10);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn out_queue_takes_without_copying() {
        let mut q = OutQueue::default();
        q.put_frame(b"ab", b"cd", None, 64);
        q.consume(1);
        let payload = Bytes::from(alloc::vec![7u8; 100]);
        let ptr = payload.as_ptr();
        q.put_bytes(payload, 100);
        q.put_frame(b"e", b"", None, 64);
        assert_eq!(&q.take().unwrap()[..], b"bcd");
        let big = q.take().unwrap();
        assert_eq!(big.as_ptr(), ptr);
        assert_eq!(&q.take().unwrap()[..], b"e");
        assert_eq!(q.take(), None);
        assert_eq!((q.len(), q.queued(), q.written()), (0, 105, 105));
    }

    #[test]
    fn tail_never_grows_past_its_limit() {
        let mut q = OutQueue::default();
        for _ in 0..100 {
            q.put_frame(b"h", &[0; 9], None, 1000);
        }
        assert_eq!(q.len(), 1000);
        assert!(q.capacity() <= 1000, "{}", q.capacity());
    }
}
