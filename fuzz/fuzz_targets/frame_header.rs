//! The frame header codec: decoding never panics, and what decodes
//! re-encodes to a header that decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsmachine::frame::{FrameHeader, MAX_HEADER_LEN, Status};

fuzz_target!(|data: &[u8]| {
    if let Ok(Status::Complete((header, len))) = FrameHeader::decode(data) {
        assert!(len <= MAX_HEADER_LEN && len <= data.len());
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut out);
        assert_eq!(FrameHeader::decode(&out[..n]), Ok(Status::Complete((header, n))));
        // Every prefix of a valid header is a partial one.
        for cut in 0..n {
            assert_eq!(FrameHeader::decode(&out[..cut]), Ok(Status::Partial));
        }
    }
    let _ = wsmachine::handshake::parse_extensions(&String::from_utf8_lossy(data));
});
