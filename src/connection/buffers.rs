//! The receive buffer and the output queue.

use alloc::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

/// Received bytes not yet consumed by the parser.
///
/// `buf[..filled]` holds data; `buf[filled..]` is initialized spare room a
/// driver can read into directly ([`RecvBuf::spare`]), zeroed only the first
/// time it is handed out. Parsed payloads are split off the front as shared
/// [`Bytes`], so a message that arrived in one frame is never copied.
#[derive(Debug, Default)]
pub(crate) struct RecvBuf {
    buf: BytesMut,
    filled: usize,
}

/// Capacity above which an empty receive buffer is released rather than
/// kept for the next read.
const KEEP_IDLE: usize = 64 << 10;

impl RecvBuf {
    pub(crate) fn len(&self) -> usize {
        self.filled
    }

    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.filled]
    }

    /// At least `len` bytes of room after the data.
    pub(crate) fn spare(&mut self, len: usize) -> &mut [u8] {
        if self.buf.len() < self.filled + len {
            self.buf.resize(self.filled + len, 0);
        }
        &mut self.buf[self.filled..]
    }

    /// Marks `n` bytes of the spare room as data (clamped to the room).
    pub(crate) fn commit(&mut self, n: usize) {
        self.filled = (self.filled + n).min(self.buf.len());
    }

    pub(crate) fn extend(&mut self, data: &[u8]) {
        let spare = self.buf.len() - self.filled;
        if spare >= data.len() {
            self.buf[self.filled..self.filled + data.len()].copy_from_slice(data);
        } else {
            self.buf.truncate(self.filled);
            self.buf.extend_from_slice(data);
        }
        self.filled += data.len();
    }

    /// Removes and returns the first `n` bytes (`n <= len`).
    pub(crate) fn split_to(&mut self, n: usize) -> BytesMut {
        let n = n.min(self.filled);
        self.filled -= n;
        self.buf.split_to(n)
    }

    /// Drops the first `n` bytes (`n <= len`).
    pub(crate) fn advance(&mut self, n: usize) {
        let n = n.min(self.filled);
        self.filled -= n;
        self.buf.advance(n);
        self.release_if_idle();
    }

    /// Drops all data and, if large, the allocation.
    pub(crate) fn clear(&mut self) {
        self.filled = 0;
        self.buf.clear();
        self.release_if_idle();
    }

    fn release_if_idle(&mut self) {
        if self.filled == 0 && self.buf.capacity() > KEEP_IDLE {
            self.buf = BytesMut::new();
        }
    }

    /// Heap bytes held (for memory accounting).
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

/// Bytes waiting to be written: shared chunks (large payloads, queued
/// without a copy) followed by a contiguous tail for headers and small
/// frames.
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    chunks: VecDeque<Bytes>,
    tail: BytesMut,
    len: usize,
}

impl OutQueue {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends bytes to the tail (copied).
    pub(crate) fn put_slice(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
        self.len += data.len();
    }

    /// The tail, for writing a frame in place; call [`Self::grew`] after.
    pub(crate) fn tail_mut(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Accounts for `n` bytes written through [`Self::tail_mut`].
    pub(crate) fn grew(&mut self, n: usize) {
        self.len += n;
    }

    /// Appends a shared buffer without copying it.
    pub(crate) fn put_bytes(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        if !self.tail.is_empty() {
            let head = self.tail.split().freeze();
            self.chunks.push_back(head);
        }
        self.len += data.len();
        self.chunks.push_back(data);
    }

    /// The first contiguous run of pending bytes.
    pub(crate) fn first(&self) -> &[u8] {
        self.chunks.front().map_or(&self.tail[..], |c| &c[..])
    }

    /// Every pending run, in order.
    pub(crate) fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.chunks
            .iter()
            .map(|c| &c[..])
            .chain(core::iter::once(&self.tail[..]))
            .filter(|c| !c.is_empty())
    }

    /// Drops `n` written bytes from the front (clamped to what is pending).
    pub(crate) fn consume(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            if let Some(front) = self.chunks.front_mut() {
                let take = n.min(front.len());
                front.advance(take);
                n -= take;
                if front.is_empty() {
                    self.chunks.pop_front();
                }
            } else {
                self.tail.advance(n);
                n = 0;
            }
        }
        if self.len == 0 && self.tail.capacity() > KEEP_IDLE {
            self.tail = BytesMut::new();
        }
    }

    /// Heap bytes held by the tail (shared chunks belong to the caller).
    pub(crate) fn capacity(&self) -> usize {
        self.tail.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn recv_buf_reuses_spare_room() {
        let mut r = RecvBuf::default();
        r.spare(8)[..3].copy_from_slice(b"abc");
        r.commit(3);
        assert_eq!(r.data(), b"abc");
        r.extend(b"de");
        assert_eq!(r.data(), b"abcde");
        let front = r.split_to(2);
        assert_eq!(&front[..], b"ab");
        assert_eq!(r.data(), b"cde");
        r.commit(1000);
        assert!(r.len() <= r.capacity());
        r.advance(100);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn out_queue_keeps_order_across_chunks() {
        let mut q = OutQueue::default();
        q.put_slice(b"h1");
        q.put_bytes(Bytes::from_static(b"PAYLOAD"));
        q.put_slice(b"h2");
        q.put_bytes(Bytes::from_static(b"P2"));
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
        q.consume(10);
        assert_eq!(q.len(), 0);
    }
}
