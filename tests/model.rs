//! A reference model of the receiving side of RFC 6455 §5–§7 (and RFC 7692's
//! frame rules), written as plainly as the RFC reads, checked by proptest
//! against the real machine: random sequences of valid and invalid frames,
//! control frames, Close frames and EOF, cut into random pieces. They must
//! agree on every event, every close code and every byte written.
//!
//! The model works on whole frames it generated itself (it knows their
//! fields), not on bytes; where EOF cuts a frame, it judges the prefix that
//! arrived the way the RFC lets an endpoint judge it early: a header field
//! that is wrong as soon as its byte arrives, text that can no longer be
//! valid UTF-8. Where the RFC leaves an order open (a frame breaking two
//! rules at once), the model states the order the machine uses: opcode,
//! control length, control fragmentation, 64-bit length, masking, reserved
//! bits, fragment order, frame size, message size.
#![cfg(feature = "deflate")]

mod common;

use common::*;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use proptest::prelude::*;
use wsmachine::deflate::DeflateConfig;
use wsmachine::{Config, Connection, Delivery, Event, Limits, Role};

const MAX_FRAME: u64 = 300;
const MAX_MESSAGE: u64 = 600;

/// A frame as the peer sends it.
#[derive(Clone, Debug)]
struct F {
    fin: bool,
    rsv: u8,
    opcode: u8,
    /// `None`: unmasked.
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
    /// A 64-bit length with the top bit set instead of the real one.
    overflow: bool,
}

impl F {
    fn bytes(&self) -> Vec<u8> {
        let mut out = vec![(u8::from(self.fin) << 7) | (self.rsv << 4) | self.opcode];
        let m = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.payload.len();
        if self.overflow {
            out.push(m | 127);
            out.extend_from_slice(&(u64::MAX - len as u64).to_be_bytes());
        } else if len <= 125 {
            out.push(m | len as u8);
        } else if len <= 0xFFFF {
            out.push(m | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(m | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        if let Some(k) = self.mask {
            out.extend_from_slice(&k);
        }
        let at = out.len();
        out.extend_from_slice(&self.payload);
        if let Some(k) = self.mask {
            for (i, b) in out[at..].iter_mut().enumerate() {
                *b ^= k[i % 4];
            }
        }
        out
    }

    /// Bytes of header (with the masking key).
    fn header_len(&self) -> usize {
        let len = self.payload.len();
        let base = if self.overflow || len > 0xFFFF {
            10
        } else if len > 125 {
            4
        } else {
            2
        };
        base + if self.mask.is_some() { 4 } else { 0 }
    }
}

/// What the model expects: events (as `common::summary` prints them) and
/// the frames written.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    events: Vec<String>,
    written: Vec<(u8, Vec<u8>)>,
}

/// The data message being received.
struct Msg {
    text: bool,
    compressed: bool,
    data: Vec<u8>,
    /// Declared bytes so far (uncompressed messages).
    size: u64,
}

/// Whether `bytes` can still be the start of valid UTF-8.
fn utf8_prefix_ok(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

fn inflate(data: &[u8]) -> Vec<u8> {
    let mut d = Decompress::new(false);
    let mut input = data.to_vec();
    input.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
    let mut out = Vec::with_capacity(4096);
    d.decompress_vec(&input, &mut out, FlushDecompress::Sync)
        .expect("the model's own compressed data");
    out
}

fn compress(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::new(6), false);
    let mut out = Vec::with_capacity(data.len() + 64);
    c.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
    assert!(out.ends_with(&[0, 0, 0xFF, 0xFF]));
    out.truncate(out.len() - 4);
    out
}

/// The model: what an endpoint of `role` does with `frames`, of whose bytes
/// only the first `arrived` come before EOF (`None`: no EOF).
fn model(role: Role, deflate: bool, frames: &[F], arrived: Option<usize>) -> Expected {
    let mut x = Expected::default();
    let mut msg: Option<Msg> = None;
    let mut at = 0usize;
    let fail = |x: &mut Expected, error: &str, code: u16| {
        x.events.push(format!("error:{error}"));
        x.written.push((0x8, code.to_be_bytes().to_vec()));
        x.events.push("closed:1006:false:".into());
    };
    for f in frames {
        let total = f.bytes().len();
        // How much of this frame arrived.
        let got = match arrived {
            Some(n) if n < at + total => n.saturating_sub(at),
            _ => total,
        };
        at += total;
        if got == 0 {
            break;
        }
        // §5.2: a reserved opcode is wrong from the first byte.
        if matches!(f.opcode, 3..=7 | 0xB..=0xF) {
            fail(
                &mut x,
                &format!("Protocol(Frame(ReservedOpcode({})))", f.opcode),
                1002,
            );
            return x;
        }
        let control = f.opcode >= 8;
        // §5.5: control frames: at most 125 bytes, never fragmented; both
        // visible from the second byte.
        if got >= 2 && control && (f.payload.len() > 125 || f.overflow) {
            fail(&mut x, "Protocol(Frame(ControlFrameTooLong))", 1002);
            return x;
        }
        if got >= 2 && control && !f.fin {
            fail(&mut x, "Protocol(Frame(FragmentedControlFrame))", 1002);
            return x;
        }
        // §5.2: the most significant bit of a 64-bit length must be 0.
        if got >= 10 && f.overflow {
            fail(&mut x, "Protocol(Frame(LengthOverflow))", 1002);
            return x;
        }
        if got < f.header_len() {
            break;
        }
        // §5.1: a client masks every frame, a server none.
        match (role, f.mask.is_some()) {
            (Role::Server, false) => {
                fail(&mut x, "Protocol(UnmaskedFrame)", 1002);
                return x;
            }
            (Role::Client, true) => {
                fail(&mut x, "Protocol(MaskedFrame)", 1002);
                return x;
            }
            _ => {}
        }
        // §5.2: reserved bits only as an extension defines; RFC 7692 §6.1:
        // RSV1 on the first frame of a data message only.
        let rsv1_ok = deflate && matches!(f.opcode, 1 | 2);
        if f.rsv & 3 != 0 || (f.rsv & 4 != 0 && !rsv1_ok) {
            fail(&mut x, "Protocol(ReservedBits)", 1002);
            return x;
        }
        // §5.4: fragments in order.
        if f.opcode == 0 && msg.is_none() {
            fail(&mut x, "Protocol(UnexpectedContinuation)", 1002);
            return x;
        }
        if matches!(f.opcode, 1 | 2) && msg.is_some() {
            fail(&mut x, "Protocol(ExpectedContinuation)", 1002);
            return x;
        }
        let len = f.payload.len() as u64;
        if !control {
            // §10.4: limits, from the header.
            if len > MAX_FRAME {
                fail(&mut x, "LimitExceeded(FrameSize)", 1009);
                return x;
            }
            let (so_far, compressed) = match &msg {
                Some(m) if f.opcode == 0 => (m.size, m.compressed),
                _ => (0, f.rsv & 4 != 0),
            };
            if !compressed && so_far + len > MAX_MESSAGE {
                fail(&mut x, "LimitExceeded(MessageSize)", 1009);
                return x;
            }
        }
        let part = &f.payload[..(got - f.header_len()).min(f.payload.len())];
        let complete = part.len() == f.payload.len();
        if control {
            if !complete {
                break;
            }
            match f.opcode {
                0x9 => {
                    x.events.push(format!("ping:{:?}", f.payload));
                    x.written.push((0xA, f.payload.clone()));
                }
                0xA => x.events.push(format!("pong:{:?}", f.payload)),
                _ => {
                    // §5.5.1, §7.4: a Close body is empty, or a sendable
                    // code and UTF-8.
                    let p = &f.payload;
                    if p.len() == 1 {
                        fail(&mut x, "Protocol(InvalidCloseFrame)", 1002);
                        return x;
                    }
                    if p.is_empty() {
                        x.written.push((0x8, Vec::new()));
                        x.events.push("closed:1005:true:".into());
                        return x;
                    }
                    let code = u16::from_be_bytes([p[0], p[1]]);
                    if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
                        fail(&mut x, &format!("Protocol(InvalidCloseCode({code}))"), 1002);
                        return x;
                    }
                    let Ok(reason) = std::str::from_utf8(&p[2..]) else {
                        fail(&mut x, "InvalidUtf8", 1007);
                        return x;
                    };
                    // The echo carries the code.
                    x.written.push((0x8, p[..2].to_vec()));
                    x.events.push(format!("closed:{code}:true:{reason}"));
                    return x;
                }
            }
            continue;
        }
        let m = msg.get_or_insert_with(|| Msg {
            text: f.opcode == 1,
            compressed: f.rsv & 4 != 0,
            data: Vec::new(),
            size: 0,
        });
        m.size += len;
        m.data.extend_from_slice(part);
        // §8.1: text fails at the first byte that cannot be valid UTF-8.
        if m.text && !m.compressed && !utf8_prefix_ok(&m.data) {
            fail(&mut x, "InvalidUtf8", 1007);
            return x;
        }
        if !complete {
            break;
        }
        if f.fin {
            let m = msg.take().unwrap();
            let data = if m.compressed {
                inflate(&m.data)
            } else {
                m.data
            };
            if m.text {
                match String::from_utf8(data) {
                    Ok(t) => x.events.push(format!("text:{t}")),
                    Err(_) => {
                        fail(&mut x, "InvalidUtf8", 1007);
                        return x;
                    }
                }
            } else {
                x.events.push(format!("binary:{data:?}"));
            }
        }
    }
    // §7.1.5: the transport closed without a Close frame.
    if arrived.is_some() {
        x.events.push("closed:1006:false:".into());
    }
    x
}

/// The machine, fed the same bytes in `pieces`, EOF if `eof`; events
/// polled one at a time, output taken after each.
fn machine(role: Role, deflate: bool, bytes: &[u8], pieces: &[usize], eof: bool) -> Expected {
    let limits = Limits::new()
        .max_frame_size(MAX_FRAME)
        .max_message_size(MAX_MESSAGE);
    let d = deflate.then(|| {
        DeflateConfig::new()
            .client_no_context_takeover(true)
            .server_no_context_takeover(true)
    });
    let config = Config::new()
        .limits(limits)
        .delivery(Delivery::Messages)
        .deflate(d);
    let mut conn = match role {
        Role::Server if deflate => {
            let mut s = Connection::server(config);
            let req = REQUEST.replacen(
                "\r\n\r\n",
                "\r\nSec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n\r\n",
                1,
            );
            s.feed(req.as_bytes());
            let Some(Event::Request(_)) = s.poll_event() else {
                panic!()
            };
            s.accept(wsmachine::Accept::new()).unwrap();
            let Some(Event::Open(o)) = s.poll_event() else {
                panic!()
            };
            assert!(o.extensions.is_some());
            take_output(&mut s);
            s
        }
        Role::Server => open_server(config),
        Role::Client => {
            assert!(!deflate);
            open_client(config)
        }
    };
    let mut x = Expected::default();
    let record = |conn: &mut Connection, x: &mut Expected| {
        for f in parse_frames(&take_output(conn)) {
            assert_eq!(
                f.mask.is_some(),
                role == Role::Client,
                "masking on the wire"
            );
            assert!(f.fin && f.rsv == 0);
            x.written.push((f.opcode, f.payload));
        }
    };
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let size = pieces
            .get(i % pieces.len().max(1))
            .copied()
            .unwrap_or(7)
            .max(1);
        i += 1;
        let n = conn.feed(&rest[..size.min(rest.len())]);
        rest = &rest[n..];
        while let Some(e) = conn.poll_event() {
            x.events.push(summary(&e));
            record(&mut conn, &mut x);
        }
        record(&mut conn, &mut x);
    }
    if eof {
        conn.feed_eof();
        while let Some(e) = conn.poll_event() {
            x.events.push(summary(&e));
            record(&mut conn, &mut x);
        }
    }
    record(&mut conn, &mut x);
    x
}

fn key() -> impl Strategy<Value = [u8; 4]> {
    any::<[u8; 4]>()
}

/// Text payloads: valid, cut anywhere (a code point may span frames), or
/// broken.
fn text_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-zé€𝄞]{0,40}".prop_map(String::into_bytes),
        1 => ("[é€𝄞]{1,10}", any::<usize>()).prop_map(|(s, cut)| {
            let b = s.into_bytes();
            let at = cut % (b.len() + 1);
            b[at..].to_vec()
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..20),
    ]
}

fn close_payload_strategy() -> impl Strategy<Value = Vec<u8>> {
    let code = prop_oneof![
        Just(1000u16),
        Just(1001),
        Just(1002),
        Just(1003),
        Just(1004),
        Just(1005),
        Just(1006),
        Just(1007),
        Just(1011),
        Just(1014),
        Just(1015),
        Just(1016),
        Just(999),
        Just(2999),
        Just(3000),
        Just(4999),
        Just(5000),
        any::<u16>(),
    ];
    prop_oneof![
        4 => (code, text_bytes()).prop_map(|(c, r)| {
            let mut p = c.to_be_bytes().to_vec();
            p.extend(r.into_iter().take(123));
            p
        }),
        1 => Just(Vec::new()),
        1 => any::<u8>().prop_map(|b| vec![b]),
    ]
}

/// One frame from a peer that is usually right: masked as its role
/// requires, reserved bits clear, known opcodes, sizes around the limits.
fn frame(peer_masks: bool, deflate: bool) -> impl Strategy<Value = F> {
    let payload = prop_oneof![
        6 => text_bytes(),
        2 => proptest::collection::vec(any::<u8>(), 0..140),
        1 => (MAX_FRAME as usize - 2..MAX_FRAME as usize + 3).prop_map(|n| vec![b'z'; n]),
    ];
    let opcode = prop_oneof![
        5 => Just(1u8), 3 => Just(2), 4 => Just(0), 2 => Just(9), 1 => Just(10), 1 => Just(8),
        1 => 3u8..16,
    ];
    let kind = prop_oneof![20 => Just(0u8), 1 => Just(1), 1 => Just(2), 1 => Just(3), 1 => Just(4)];
    (
        opcode,
        payload,
        any::<bool>(),
        kind,
        key(),
        close_payload_strategy(),
        "[a-z]{1,60}",
    )
        .prop_map(move |(opcode, payload, fin, kind, k, close, plain)| {
            let mut f = F {
                fin: fin || opcode >= 8,
                rsv: 0,
                opcode,
                mask: peer_masks.then_some(k),
                payload,
                overflow: false,
            };
            if opcode == 8 {
                f.payload = close;
            }
            if opcode == 9 || opcode == 10 {
                f.payload.truncate(125);
            }
            match kind {
                // Wrong masking.
                1 => f.mask = if peer_masks { None } else { Some(k) },
                // RSV2 or RSV3 (RSV1 is case 4).
                2 => f.rsv = 1 << (k[0] % 2),
                3 if opcode >= 8 => f.fin = false,
                3 => f.overflow = true,
                // A compressed message (valid data) or RSV1 where it has
                // no place.
                4 if deflate && matches!(opcode, 1 | 2) => {
                    f.rsv = 4;
                    f.fin = true;
                    f.payload = compress(plain.as_bytes());
                }
                4 => f.rsv = 4,
                _ => {}
            }
            f
        })
}

fn case(role: Role, deflate: bool) -> impl Strategy<Value = (Vec<F>, Vec<usize>, Option<usize>)> {
    let masks = role == Role::Server;
    (
        proptest::collection::vec(frame(masks, deflate), 0..12),
        proptest::collection::vec(1usize..40, 1..6),
        proptest::option::of(any::<usize>()),
    )
}

fn check(role: Role, deflate: bool, frames: &[F], pieces: &[usize], eof: Option<usize>) {
    let bytes: Vec<u8> = frames.iter().flat_map(F::bytes).collect();
    let arrived = eof.map(|e| e % (bytes.len() + 1));
    let input = &bytes[..arrived.unwrap_or(bytes.len())];
    let want = model(role, deflate, frames, arrived);
    let got = machine(role, deflate, input, pieces, arrived.is_some());
    assert_eq!(got, want, "frames {frames:?}, EOF after {arrived:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn server_agrees_with_the_model((frames, pieces, eof) in case(Role::Server, false)) {
        check(Role::Server, false, &frames, &pieces, eof);
    }

    #[test]
    fn client_agrees_with_the_model((frames, pieces, eof) in case(Role::Client, false)) {
        check(Role::Client, false, &frames, &pieces, eof);
    }

    #[test]
    fn deflate_server_agrees_with_the_model((frames, pieces, eof) in case(Role::Server, true)) {
        check(Role::Server, true, &frames, &pieces, eof);
    }
}

// The model's own sanity: the RFC's examples (§5.7) decode as the RFC says.
#[test]
fn rfc_examples() {
    let hello = F {
        fin: true,
        rsv: 0,
        opcode: 1,
        mask: Some([0x37, 0xfa, 0x21, 0x3d]),
        payload: b"Hello".to_vec(),
        overflow: false,
    };
    assert_eq!(
        hello.bytes(),
        [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
        ]
    );
    let x = model(Role::Server, false, std::slice::from_ref(&hello), None);
    assert_eq!(x.events, ["text:Hello"]);
    check(Role::Server, false, &[hello], &[3], None);
}
