//! Whole connections, either role, handshake in front or done elsewhere,
//! fed the peer's bytes in arbitrary pieces interleaved with arbitrary API
//! calls; every invariant of `wsmachine_fuzz` checked after every call.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsmachine_fuzz::drive::run(data, false));
