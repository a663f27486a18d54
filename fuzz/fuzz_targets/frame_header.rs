//! The frame header codec against a decoder written from RFC 6455 §5.2
//! here: the same verdict (header, partial, error) on any bytes, errors at
//! the same prefix length, and encode/decode round trips. Also the
//! `Sec-WebSocket-Extensions` parser: what parses prints back to a value
//! that parses the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsmachine::frame::{FrameError, FrameHeader, MAX_HEADER_LEN, OpCode, Status};

/// RFC 6455 §5.2, byte by byte: `Ok(Some((fin, rsv, opcode, mask, len,
/// header length)))`, `Ok(None)` for a valid prefix, or the error.
#[allow(clippy::type_complexity, reason = "the header's fields as a tuple")]
fn reference(b: &[u8]) -> Result<Option<(bool, u8, u8, Option<[u8; 4]>, u64, usize)>, FrameError> {
    let Some(&b0) = b.first() else {
        return Ok(None);
    };
    let opcode = b0 & 0xF;
    if matches!(opcode, 3..=7 | 0xB..=0xF) {
        return Err(FrameError::ReservedOpcode(opcode));
    }
    let Some(&b1) = b.get(1) else { return Ok(None) };
    let control = opcode >= 8;
    let len7 = b1 & 0x7F;
    if control && len7 > 125 {
        return Err(FrameError::ControlFrameTooLong);
    }
    if control && b0 & 0x80 == 0 {
        return Err(FrameError::FragmentedControlFrame);
    }
    let (len, mut at) = match len7 {
        126 => {
            if b.len() < 4 {
                return Ok(None);
            }
            ((u64::from(b[2]) << 8) | u64::from(b[3]), 4)
        }
        127 => {
            if b.len() < 10 {
                return Ok(None);
            }
            let mut n = 0u64;
            for &x in &b[2..10] {
                n = (n << 8) | u64::from(x);
            }
            if n & (1 << 63) != 0 {
                return Err(FrameError::LengthOverflow);
            }
            (n, 10)
        }
        n => (u64::from(n), 2),
    };
    let mask = if b1 & 0x80 != 0 {
        if b.len() < at + 4 {
            return Ok(None);
        }
        let k = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        at += 4;
        Some(k)
    } else {
        None
    };
    Ok(Some((b0 & 0x80 != 0, (b0 >> 4) & 7, opcode, mask, len, at)))
}

fuzz_target!(|data: &[u8]| {
    let got = FrameHeader::decode(data);
    match (reference(data), &got) {
        (Ok(None), Ok(Status::Partial)) => {}
        (Err(want), Err(e)) => assert_eq!(want, *e),
        (Ok(Some((fin, rsv, op, mask, len, n))), Ok(Status::Complete((h, used)))) => {
            assert_eq!(
                (
                    h.fin(),
                    (u8::from(h.rsv1()) << 2) | (u8::from(h.rsv2()) << 1) | u8::from(h.rsv3())
                ),
                (fin, rsv)
            );
            assert_eq!(h.opcode(), OpCode::from_u8(op).expect("a known opcode"));
            assert_eq!((h.mask(), h.payload_len(), *used), (mask, len, n));
            assert!(n <= MAX_HEADER_LEN);
            // Re-encoding is minimal and decodes the same.
            let mut out = [0u8; MAX_HEADER_LEN];
            let m = h.encode(&mut out);
            assert_eq!(m, h.encoded_len());
            assert!(m <= n, "re-encoding is not minimal");
            assert_eq!(
                FrameHeader::decode(&out[..m]),
                Ok(Status::Complete((*h, m)))
            );
            for cut in 0..m {
                assert_eq!(FrameHeader::decode(&out[..cut]), Ok(Status::Partial));
            }
            // Trailing bytes change nothing.
            let mut longer = data[..n].to_vec();
            longer.extend_from_slice(&[0xAA; 3]);
            assert_eq!(FrameHeader::decode(&longer), got);
        }
        (want, got) => panic!("reference {want:?}, decoder {got:?} for {data:02x?}"),
    }
    // An error is reported at the earliest prefix that shows it, and every
    // shorter prefix is partial or the same error.
    if let Err(e) = got {
        let first = (1..=data.len())
            .find(|&k| FrameHeader::decode(&data[..k]).is_err())
            .unwrap();
        assert_eq!(FrameHeader::decode(&data[..first]), Err(e));
        assert!(first <= 10);
    }
    let text = String::from_utf8_lossy(data);
    if let Some(exts) = wsmachine::handshake::parse_extensions(&text) {
        let printed: Vec<String> = exts.iter().map(ToString::to_string).collect();
        let again = wsmachine::handshake::parse_extensions(&printed.join(", "))
            .expect("a printed value parses");
        assert_eq!(again, exts);
    }
});
