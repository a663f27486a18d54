//! Frame header codec (RFC 6455 §5.2).
//!
//! This module knows the wire layout of a frame header and nothing about the
//! connection around it: whether masking is required, which reserved bits an
//! extension allows, or whether a continuation frame is expected are
//! decisions of the connection. What a frame header can get wrong on its own
//! (a reserved opcode, a control frame longer than 125 bytes or fragmented,
//! a 64-bit length with its most significant bit set) is rejected here, as
//! early as the bytes allow.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! | Masking-key (continued)       |          Payload Data         |
//! +-------------------------------- - - - - - - - - - - - - - - - +
//! ```

use core::fmt;

/// The longest possible frame header: 2 bytes, an 8-byte length and a
/// 4-byte masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// The longest payload a control frame may carry (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The result of a parse that may need more bytes, as in `httparse`.
///
/// `Partial` is not an error: the input so far is a valid prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Status<T> {
    /// The value was parsed.
    Complete(T),
    /// More bytes are needed.
    Partial,
}

/// A frame opcode (RFC 6455 §5.2, §11.8). Reserved opcodes are not
/// representable: the decoder rejects them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `0x0`: continues a fragmented message.
    Continuation,
    /// `0x1`: first frame of a text message.
    Text,
    /// `0x2`: first frame of a binary message.
    Binary,
    /// `0x8`: connection close.
    Close,
    /// `0x9`: ping.
    Ping,
    /// `0xA`: pong.
    Pong,
}

impl OpCode {
    /// Decodes the low four bits of the first header byte.
    pub const fn from_u8(value: u8) -> Option<OpCode> {
        Some(match value {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The four-bit wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Whether this is a control opcode (most significant bit set, §5.5).
    pub const fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// A frame header: what [`FrameHeader::decode`] reads and
/// [`FrameHeader::encode`] writes.
///
/// Fields are read through accessors and set through the `with_*` builders,
/// so the layout can change without breaking callers.
///
/// ```
/// use wsmachine::frame::{FrameHeader, OpCode, Status, MAX_HEADER_LEN};
///
/// let header = FrameHeader::new(true, OpCode::Text, 5).with_mask([0x37, 0xfa, 0x21, 0x3d]);
/// let mut buf = [0u8; MAX_HEADER_LEN];
/// let n = header.encode(&mut buf);
/// assert_eq!(&buf[..n], &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]);
/// assert_eq!(FrameHeader::decode(&buf[..n]), Ok(Status::Complete((header, n))));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    fin: bool,
    rsv: u8,
    opcode: OpCode,
    mask: Option<[u8; 4]>,
    payload_len: u64,
}

impl FrameHeader {
    /// A header for an unmasked frame with no reserved bits set.
    pub const fn new(fin: bool, opcode: OpCode, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// The same header with this masking key (client-to-server frames).
    #[must_use]
    pub const fn with_mask(mut self, key: [u8; 4]) -> FrameHeader {
        self.mask = Some(key);
        self
    }

    /// The same header with the three reserved bits set to `bits`
    /// (RSV1 = 4, RSV2 = 2, RSV3 = 1; higher bits are ignored).
    #[must_use]
    pub const fn with_rsv(mut self, bits: u8) -> FrameHeader {
        self.rsv = bits & 7;
        self
    }

    /// Final fragment of a message.
    pub const fn fin(&self) -> bool {
        self.fin
    }

    /// RSV1: "per-message compressed" under permessage-deflate.
    pub const fn rsv1(&self) -> bool {
        self.rsv & 4 != 0
    }

    /// RSV2: no extension defines it.
    pub const fn rsv2(&self) -> bool {
        self.rsv & 2 != 0
    }

    /// RSV3: no extension defines it.
    pub const fn rsv3(&self) -> bool {
        self.rsv & 1 != 0
    }

    /// The three reserved bits (RSV1 = 4, RSV2 = 2, RSV3 = 1).
    pub const fn rsv(&self) -> u8 {
        self.rsv
    }

    /// The opcode.
    pub const fn opcode(&self) -> OpCode {
        self.opcode
    }

    /// The masking key, present on every client-to-server frame.
    pub const fn mask(&self) -> Option<[u8; 4]> {
        self.mask
    }

    /// Length of the payload in bytes.
    pub const fn payload_len(&self) -> u64 {
        self.payload_len
    }

    /// The number of bytes [`encode`](Self::encode) writes for this header.
    pub const fn encoded_len(&self) -> usize {
        let len = match self.payload_len {
            0..=125 => 2,
            126..=0xFFFF => 4,
            _ => 10,
        };
        if self.mask.is_some() { len + 4 } else { len }
    }

    /// Writes the header with the shortest length encoding (§5.2: "the
    /// minimal number of bytes MUST be used") and returns its length.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let mut b0 = self.opcode.as_u8() | (self.rsv << 4);
        if self.fin {
            b0 |= 0x80;
        }
        out[0] = b0;
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = match self.payload_len {
            len @ 0..=125 => {
                out[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xFFFF => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[n..n + 4].copy_from_slice(&key);
            n += 4;
        }
        n
    }

    /// Decodes a header from the start of `buf`.
    ///
    /// Returns the header and the number of bytes it occupies, or
    /// [`Status::Partial`] if `buf` is a valid but incomplete prefix. Errors
    /// are reported as soon as the offending byte is present: a reserved
    /// opcode after one byte, a long or fragmented control frame after two.
    #[inline]
    pub fn decode(buf: &[u8]) -> Result<Status<(FrameHeader, usize)>, FrameError> {
        let Some(&b0) = buf.first() else {
            return Ok(Status::Partial);
        };
        let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(FrameError::ReservedOpcode(b0 & 0x0F))?;
        let fin = b0 & 0x80 != 0;
        let Some(&b1) = buf.get(1) else {
            return Ok(Status::Partial);
        };
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        if opcode.is_control() {
            // §5.5: control frames have a payload of at most 125 bytes and
            // MUST NOT be fragmented.
            if len7 > 125 {
                return Err(FrameError::ControlFrameTooLong);
            }
            if !fin {
                return Err(FrameError::FragmentedControlFrame);
            }
        }
        let (payload_len, mut at) = match len7 {
            126 => {
                let Some(b) = buf.get(2..4) else {
                    return Ok(Status::Partial);
                };
                (u64::from(u16::from_be_bytes([b[0], b[1]])), 4)
            }
            127 => {
                let Some(b) = buf.get(2..10) else {
                    return Ok(Status::Partial);
                };
                let mut eight = [0u8; 8];
                eight.copy_from_slice(b);
                let len = u64::from_be_bytes(eight);
                // §5.2: "the most significant bit MUST be 0".
                if len >> 63 != 0 {
                    return Err(FrameError::LengthOverflow);
                }
                (len, 10)
            }
            n => (u64::from(n), 2),
        };
        let mask = if masked {
            let Some(b) = buf.get(at..at + 4) else {
                return Ok(Status::Partial);
            };
            at += 4;
            Some([b[0], b[1], b[2], b[3]])
        } else {
            None
        };
        Ok(Status::Complete((
            FrameHeader {
                fin,
                rsv: (b0 >> 4) & 7,
                opcode,
                mask,
                payload_len,
            },
            at,
        )))
    }
}

/// A frame header that can never be valid, whatever the connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameError {
    /// The opcode is one of the reserved values `0x3`–`0x7`, `0xB`–`0xF`.
    ReservedOpcode(u8),
    /// A control frame declared a payload longer than 125 bytes.
    ControlFrameTooLong,
    /// A control frame had FIN clear.
    FragmentedControlFrame,
    /// A 64-bit payload length had its most significant bit set.
    LengthOverflow,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            FrameError::ControlFrameTooLong => f.write_str("control frame payload over 125 bytes"),
            FrameError::FragmentedControlFrame => f.write_str("fragmented control frame"),
            FrameError::LengthOverflow => f.write_str("64-bit payload length with the top bit set"),
        }
    }
}

impl core::error::Error for FrameError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(h: FrameHeader) {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut out);
        assert_eq!(n, h.encoded_len());
        assert_eq!(FrameHeader::decode(&out[..n]), Ok(Status::Complete((h, n))));
        for cut in 0..n {
            assert_eq!(FrameHeader::decode(&out[..cut]), Ok(Status::Partial));
        }
    }

    #[test]
    fn all_length_forms_roundtrip() {
        for len in [0, 1, 125, 126, 127, 0xFFFF, 0x1_0000, u64::MAX >> 1] {
            roundtrip(FrameHeader::new(true, OpCode::Binary, len));
            let masked = FrameHeader::new(false, OpCode::Text, len)
                .with_mask([1, 2, 3, 4])
                .with_rsv(4);
            roundtrip(masked);
            roundtrip(FrameHeader::new(true, OpCode::Ping, 0).with_rsv(7));
        }
    }

    #[test]
    fn minimal_length_encoding() {
        assert_eq!(FrameHeader::new(true, OpCode::Text, 125).encoded_len(), 2);
        assert_eq!(FrameHeader::new(true, OpCode::Text, 126).encoded_len(), 4);
        assert_eq!(FrameHeader::new(true, OpCode::Text, 65535).encoded_len(), 4);
        assert_eq!(
            FrameHeader::new(true, OpCode::Text, 65536).encoded_len(),
            10
        );
    }

    #[test]
    fn errors_are_reported_early() {
        assert_eq!(
            FrameHeader::decode(&[0x83]),
            Err(FrameError::ReservedOpcode(3))
        );
        assert_eq!(
            FrameHeader::decode(&[0x89, 126]),
            Err(FrameError::ControlFrameTooLong)
        );
        assert_eq!(
            FrameHeader::decode(&[0x09, 0]),
            Err(FrameError::FragmentedControlFrame)
        );
        let mut long = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(FrameHeader::decode(&long), Err(FrameError::LengthOverflow));
        long[2] = 0x7F;
        assert!(matches!(
            FrameHeader::decode(&long),
            Ok(Status::Complete(_))
        ));
    }

    #[test]
    fn trailing_bytes_are_not_consumed() {
        let buf = [0x81, 0x02, b'h', b'i', 0xFF];
        let Ok(Status::Complete((h, n))) = FrameHeader::decode(&buf) else {
            panic!("expected a header");
        };
        assert_eq!(n, 2);
        assert_eq!(h.payload_len(), 2);
    }
}
