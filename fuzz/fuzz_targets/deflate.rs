//! The permessage-deflate path: connections that agreed to compression (in
//! one of several parameter sets), both delivery modes, fed compressed
//! messages from the harness's own compressor, corrupted, fragmented,
//! repeated into bombs, mixed with any other frame.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsmachine_fuzz::drive::run(data, true));
