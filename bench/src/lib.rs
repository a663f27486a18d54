//! Shared pieces of the benchmarks: input generation with an encoder of our
//! own (so that no library under test writes the bytes the others read),
//! in-memory streams for the peers, and a poller for futures that never
//! wait.

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub mod pipe;
pub mod wire;

/// The mask key every generated client frame uses.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Encodes one frame: `fin`, `opcode`, `payload`, masked with `mask`.
pub fn frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(if fin { 0x80 } else { 0 } | opcode);
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// `count` masked client frames of one message each.
pub fn masked_messages(opcode: u8, payload: &[u8], count: usize) -> Vec<u8> {
    let one = frame(true, opcode, payload, Some(KEY));
    one.repeat(count)
}

/// One masked message of `payload`, in fragments of `piece` bytes.
pub fn fragmented(opcode: u8, payload: &[u8], piece: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload.len() / piece * 6 + 14);
    let parts: Vec<&[u8]> = payload.chunks(piece).collect();
    for (i, part) in parts.iter().enumerate() {
        let op = if i == 0 { opcode } else { 0 };
        out.extend(frame(i + 1 == parts.len(), op, part, Some(KEY)));
    }
    out
}

/// Pseudo-random bytes (xorshift), the same on every run.
pub fn binary(len: usize) -> Vec<u8> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

/// ASCII text of `len` bytes.
pub fn ascii(len: usize) -> Vec<u8> {
    let words = b"the quick brown fox jumps over a lazy dog 0123456789 {\"k\":[1,2]} ";
    words.iter().copied().cycle().take(len).collect()
}

/// Text of `len` bytes mixing 1-, 2-, 3- and 4-byte code points.
pub fn multibyte(len: usize) -> Vec<u8> {
    let sample = "aé€𝄞 κόσμε 日本語テキスト — ünïcödé 🙂 ".as_bytes();
    let mut out = Vec::with_capacity(len + 4);
    while out.len() < len {
        let s = std::str::from_utf8(sample).unwrap();
        for c in s.chars() {
            if out.len() + c.len_utf8() > len {
                // Pad with ASCII to the exact length.
                while out.len() < len {
                    out.push(b'.');
                }
                break;
            }
            let mut b = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }
    out
}

/// An in-memory transport that replays the same input forever, at most
/// `piece` bytes per read, and discards what is written.
#[derive(Debug)]
pub struct Replay<'a> {
    input: &'a [u8],
    at: usize,
    piece: usize,
    /// Bytes written to it.
    pub written: usize,
}

impl<'a> Replay<'a> {
    /// Replays `input` in reads of at most `piece` bytes.
    pub fn new(input: &'a [u8], piece: usize) -> Self {
        Replay {
            input,
            at: 0,
            piece,
            written: 0,
        }
    }

    /// The next piece, wrapping around at the end of the input.
    pub fn next_piece(&mut self, max: usize) -> &'a [u8] {
        if self.at == self.input.len() {
            self.at = 0;
        }
        let n = (self.input.len() - self.at).min(self.piece).min(max);
        let piece = &self.input[self.at..self.at + n];
        self.at += n;
        piece
    }
}

impl io::Read for Replay<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let piece = self.next_piece(buf.len());
        buf[..piece.len()].copy_from_slice(piece);
        Ok(piece.len())
    }
}

impl io::Write for Replay<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for Replay<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let piece = this.next_piece(buf.remaining());
        buf.put_slice(piece);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Replay<'_> {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().written += b.len();
        Poll::Ready(Ok(b.len()))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = bufs.iter().map(|b| b.len()).sum();
        self.get_mut().written += n;
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs a future that never waits (its I/O is in memory) to completion.
///
/// # Panics
///
/// If the future returns `Pending`.
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("an in-memory future waited"),
    }
}

/// Polls a future once: its value if it is ready.
pub fn poll_once<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match Pin::new(f).poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// The limits every library gets in the benchmarks: 64 MiB messages and
/// frames.
pub const MAX_MESSAGE: usize = 64 << 20;

/// A wsmachine configuration with the benchmark limits and no compression.
pub fn wsmachine_config() -> wsmachine::Config {
    wsmachine::Config::new().deflate(None).limits(
        wsmachine::Limits::new()
            .max_message_size(MAX_MESSAGE as u64)
            .max_frame_size(MAX_MESSAGE as u64)
            .max_output_buffer(MAX_MESSAGE + (64 << 10)),
    )
}

/// A wsmachine server past the handshake.
pub fn wsmachine_server(
    config: wsmachine::Config,
) -> Result<wsmachine::Connection, wsmachine::UsageError> {
    wsmachine::Connection::upgraded_server(config, &wsmachine::Agreement::new())
}

/// A wsmachine client past the handshake, with a fixed key source.
pub fn wsmachine_client(
    config: wsmachine::Config,
) -> Result<wsmachine::Connection, wsmachine::UsageError> {
    wsmachine::Connection::upgraded_client_with_rng(
        config,
        &wsmachine::Agreement::new(),
        wsmachine::ChaCha20Rng::from_seed([9; 32]),
    )
}

/// tungstenite's configuration with the benchmark limits.
pub fn tungstenite_config() -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE))
}

/// tokio-websockets' limits for the benchmarks.
pub fn tokio_websockets_limits() -> tokio_websockets::Limits {
    tokio_websockets::Limits::default().max_payload_len(Some(MAX_MESSAGE))
}
