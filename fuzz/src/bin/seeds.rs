//! Writes small seed corpora into `corpus/<target>/`, built from the
//! byte shapes the tests use: valid and invalid requests and answers,
//! every kind of frame, fragmented and compressed messages. Run it before
//! fuzzing (`.ci/run` does); the corpora are not committed.

use std::fs;
use std::path::Path;

use wsmachine::CloseCode;
use wsmachine::testing::FrameBuilder;
use wsmachine_fuzz::peer;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Frame sequences a server receives (masked).
fn client_frames() -> Vec<Vec<u8>> {
    let m = |f: FrameBuilder| f.mask(KEY).build();
    let mut seqs = Vec::new();
    seqs.push(
        [
            m(FrameBuilder::text("Hello")),
            m(FrameBuilder::close(CloseCode::NORMAL, "bye")),
        ]
        .concat(),
    );
    seqs.push(
        [
            m(FrameBuilder::text("κό").fin(false)),
            m(FrameBuilder::ping(b"mid")),
            m(FrameBuilder::continuation("σμε")),
            m(FrameBuilder::binary([0u8; 300])),
        ]
        .concat(),
    );
    // The RFC 7692 §7.2.3.1 "Hello", compressed.
    seqs.push(m(FrameBuilder::new(
        0x1,
        [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
    )
    .rsv(4)));
    seqs.push(m(FrameBuilder::new(0x3, b"")));
    seqs.push(FrameBuilder::text("unmasked").build());
    seqs.push(m(FrameBuilder::close(CloseCode::new(1005), "")));
    seqs.push(m(FrameBuilder::new(0x1, [0xce, 0xba, 0xed, 0xa0, 0x80])));
    seqs.push(m(FrameBuilder::binary(b"").declared_len(1 << 62)));
    seqs.push(m(FrameBuilder::close_raw([3])));
    seqs.push(
        [
            m(FrameBuilder::pong(b"x")),
            m(FrameBuilder::ping([9u8; 125])),
        ]
        .concat(),
    );
    seqs
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let frames = client_frames();
    // Connections: `[0, 0]` is the default setup (a server behind a valid
    // request); the frames follow.
    for target in ["connection", "deflate"] {
        for (i, f) in frames.iter().enumerate() {
            let mut input = vec![0u8, 0];
            input.extend_from_slice(f);
            write(&root.join(target), &format!("seed-{i}"), &input);
        }
    }
    // The compressed seeds, built by the harness's own compressor.
    let mut p = peer::Peer::new(true, true, false);
    let mut input = vec![0u8, 0];
    let z = p.compress(&b"{\"a\":1}".repeat(40));
    input.extend(FrameBuilder::new(0x1, &z).rsv(4).mask(KEY).build());
    let z = p.compress(b"again, with context");
    input.extend(FrameBuilder::new(0x2, &z).rsv(4).mask(KEY).build());
    write(&root.join("deflate"), "seed-context", &input);
    // Frame headers.
    for (i, f) in frames.iter().enumerate() {
        write(
            &root.join("frame_header"),
            &format!("seed-{i}"),
            &f[..f.len().min(14)],
        );
    }
    // Handshakes: any bytes make some input; these start near real heads.
    let req = peer::request(
        Some("permessage-deflate; client_max_window_bits"),
        Some("chat"),
    );
    write(
        &root.join("server_handshake"),
        "seed-0",
        &[&[1u8, 0, 0, 0, 0, 0][..], &req].concat(),
    );
    write(
        &root.join("client_handshake"),
        "seed-0",
        b"\x02\x00\x00\x00HTTP/1.1 101 OK\r\n\r\n",
    );
    write(&root.join("pair"), "seed-0", &[0u8; 16]);
    write(&root.join("app_protocol"), "seed-0", &[0u8; 16]);
    // The codec against zlib-rs: a knobs byte (memory preset, level,
    // context takeover), then messages split at 0xFF: the shapes of the
    // codec's differential tests (text, repeated JSON, binary, empty).
    let json = b"{\"a\":1}".repeat(40);
    let binary: Vec<u8> = (0..=254u8).cycle().take(3000).collect();
    for (i, knobs) in [0x01u8, 0x1A, 0x27, 0x80 | 0x05].into_iter().enumerate() {
        let input = [
            &[knobs][..],
            b"Hello",
            &[0xFF],
            &json,
            &[0xFF],
            &binary,
            &[0xFF],
        ]
        .concat();
        write(
            &root.join("deflate_differential"),
            &format!("seed-{i}"),
            &input,
        );
    }
    println!("seeds written to {}", root.display());
}
