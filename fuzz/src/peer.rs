//! The fuzzer's peer: writes frames (valid, invalid, compressed) from a
//! structured description, with its own compressor.

use arbitrary::Arbitrary;
use flate2::{Compress, Compression, FlushCompress};

/// One piece of what the peer sends.
#[derive(Arbitrary, Clone, Debug)]
pub enum Piece {
    /// Bytes as they are.
    Raw(Vec<u8>),
    /// A frame; masked when the peer is a client, unless `wrong_mask`.
    Frame {
        fin: bool,
        rsv: u8,
        opcode: u8,
        payload: Vec<u8>,
        /// Declare another length than the payload's (the payload follows).
        declared: Option<u64>,
        wrong_mask: bool,
        long_length: bool,
    },
    /// A text message, in `parts` fragments.
    Text { text: String, parts: u8 },
    /// A compressed message (RSV1), in `parts` fragments; `corrupt` flips a
    /// byte of the compressed data.
    Compressed {
        text: bool,
        data: Vec<u8>,
        repeat: u16,
        parts: u8,
        corrupt: Option<u16>,
    },
    /// A ping with this payload.
    Ping(Vec<u8>),
    /// A Close frame with this code and reason.
    Close { code: u16, reason: String },
}

/// Writes the peer's side of a connection.
pub struct Peer {
    /// The peer masks (it is a client).
    masks: bool,
    compressor: Option<Compress>,
    /// Start a fresh compressor for every message.
    no_context_takeover: bool,
    /// The window it compresses with: never more than was agreed, or the
    /// connection rightly finds the data corrupt.
    window_bits: u8,
    key: u8,
}

impl Peer {
    pub fn new(masks: bool, deflate: bool, no_context_takeover: bool) -> Peer {
        Peer {
            masks,
            compressor: deflate.then(|| new_compressor(12)),
            no_context_takeover,
            window_bits: 12,
            key: 0,
        }
    }

    /// Compresses with a window of `bits` (9–15; 12 unless set, the
    /// default memory preset's).
    pub fn with_window_bits(mut self, bits: u8) -> Peer {
        self.window_bits = bits;
        if self.compressor.is_some() {
            self.compressor = Some(new_compressor(bits));
        }
        self
    }

    /// Appends the bytes of `piece` to `out`.
    pub fn write(&mut self, piece: &Piece, out: &mut Vec<u8>) {
        match piece {
            Piece::Raw(b) => out.extend_from_slice(b),
            Piece::Frame {
                fin,
                rsv,
                opcode,
                payload,
                declared,
                wrong_mask,
                long_length,
            } => {
                let payload = &payload[..payload.len().min(300)];
                let declared = declared.map(|d| d % (1 << 20));
                self.frame(
                    out,
                    *fin,
                    rsv & 7,
                    opcode & 0xF,
                    payload,
                    declared,
                    *wrong_mask,
                    *long_length,
                );
            }
            Piece::Text { text, parts } => {
                let bytes = text.as_bytes();
                self.fragments(out, 0x1, 0, bytes, *parts);
            }
            Piece::Compressed {
                text,
                data,
                repeat,
                parts,
                corrupt,
            } => {
                let mut plain = Vec::new();
                for _ in 0..=(*repeat % 2048) {
                    plain.extend_from_slice(data);
                    if plain.len() > (1 << 18) {
                        break;
                    }
                }
                let mut compressed = self.compress(&plain);
                if let Some(at) = corrupt
                    && !compressed.is_empty()
                {
                    let i = usize::from(*at) % compressed.len();
                    compressed[i] ^= (*at >> 8) as u8 | 1;
                }
                let opcode = if *text { 0x1 } else { 0x2 };
                self.fragments(out, opcode, 4, &compressed, *parts);
            }
            Piece::Ping(p) => {
                let p = &p[..p.len().min(125)];
                self.frame(out, true, 0, 0x9, p, None, false, false);
            }
            Piece::Close { code, reason } => {
                let mut p = code.to_be_bytes().to_vec();
                p.extend_from_slice(reason.as_bytes());
                p.truncate(125);
                self.frame(out, true, 0, 0x8, &p, None, false, false);
            }
        }
    }

    fn fragments(&mut self, out: &mut Vec<u8>, opcode: u8, rsv: u8, data: &[u8], parts: u8) {
        let parts = usize::from(parts % 8).max(1);
        let size = data.len().div_ceil(parts).max(1);
        let mut pieces: Vec<&[u8]> = data.chunks(size).collect();
        if pieces.is_empty() {
            pieces.push(&[]);
        }
        let n = pieces.len();
        for (i, p) in pieces.into_iter().enumerate() {
            let (op, bits) = if i == 0 { (opcode, rsv) } else { (0, 0) };
            self.frame(out, i + 1 == n, bits, op, p, None, false, false);
        }
    }

    #[allow(clippy::too_many_arguments, reason = "every field of a frame")]
    fn frame(
        &mut self,
        out: &mut Vec<u8>,
        fin: bool,
        rsv: u8,
        opcode: u8,
        payload: &[u8],
        declared: Option<u64>,
        wrong_mask: bool,
        long_length: bool,
    ) {
        let mut b = wsmachine::testing::FrameBuilder::new(opcode, payload)
            .fin(fin)
            .rsv(rsv);
        if let Some(d) = declared {
            b = b.declared_len(d);
        }
        if long_length {
            b = b.length_bits(64);
        }
        if self.masks != wrong_mask {
            self.key = self.key.wrapping_add(0x3b);
            b = b.mask([self.key, 0x5a, self.key ^ 0xff, 0x11]);
        }
        out.extend_from_slice(&b.build());
    }

    /// Compresses one message as RFC 7692 §7.2.1 says: a sync flush, its
    /// four-byte tail removed.
    pub fn compress(&mut self, plain: &[u8]) -> Vec<u8> {
        if self.no_context_takeover || self.compressor.is_none() {
            self.compressor = Some(new_compressor(self.window_bits));
        }
        let c = self.compressor.as_mut().expect("a compressor");
        let mut out = Vec::with_capacity(plain.len() + 64);
        let mut input = plain;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            let before = c.total_in();
            c.compress_vec(input, &mut out, FlushCompress::Sync)
                .expect("compression works");
            input = &input[(c.total_in() - before) as usize..];
            if input.is_empty() && out.capacity() - out.len() >= 64 {
                break;
            }
        }
        if out.ends_with(&[0, 0, 0xff, 0xff]) {
            out.truncate(out.len() - 4);
        }
        out
    }
}

fn new_compressor(bits: u8) -> Compress {
    Compress::new_with_window_bits(Compression::new(6), false, bits)
}

/// A valid upgrade request, optionally offering permessage-deflate and
/// subprotocols.
pub fn request(extensions: Option<&str>, protocols: Option<&str>) -> Vec<u8> {
    let mut r = String::from(
        "GET /fuzz?x=1 HTTP/1.1\r\nHost: fuzz.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
    );
    if let Some(e) = extensions {
        r.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    if let Some(p) = protocols {
        r.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// The server's 101 answer to a client's request bytes.
pub fn answer(request: &[u8], extensions: Option<&str>, protocol: Option<&str>) -> Vec<u8> {
    let text = String::from_utf8_lossy(request);
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("a key");
    let mut r = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        wsmachine::handshake::accept_key(key.trim().as_bytes())
    );
    if let Some(e) = extensions {
        r.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    if let Some(p) = protocol {
        r.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}
