//! A client and a server talking through a faulty link (the `testing`
//! pair): bytes split anywhere, delayed while the clock runs, cut for good
//! in either direction; nothing reordered. What each side receives is
//! always a prefix of what the other sent, intact and in order; once a
//! side has the other's Close frame it has every message sent before it;
//! both sides always finish.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsmachine::deflate::DeflateConfig;
use wsmachine::testing::{Pair, Side};
use wsmachine::{CloseCode, Config, Delivery, Event, Limits, Message, MessageKind};
use wsmachine_fuzz::check::Events;

#[derive(Arbitrary, Debug)]
struct Input {
    deflate: u8,
    chunks: bool,
    small: bool,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Send { client: bool, text: bool, len: u16 },
    Fragment { client: bool, len: u16, last: bool },
    Ping { client: bool },
    Close { client: bool, code: u16 },
    Deliver { client: bool, n: u16 },
    Tick(u16),
    Cut { client: bool },
}

fn side(client: bool) -> Side {
    if client { Side::Client } else { Side::Server }
}

fn ix(s: Side) -> usize {
    match s {
        Side::Client => 0,
        Side::Server => 1,
    }
}

struct State {
    sent: [Vec<(MessageKind, Vec<u8>)>; 2],
    fragment: [Option<Vec<u8>>; 2],
    received: [Vec<(MessageKind, Vec<u8>)>; 2],
    chunk: [Option<(MessageKind, Vec<u8>)>; 2],
    events: [Events; 2],
    closed: [Option<wsmachine::Closed>; 2],
    counter: u32,
}

impl State {
    /// Checks and records what `s` received so far.
    fn collect(&mut self, pair: &mut Pair, s: Side) {
        let i = ix(s);
        for e in pair.take_events(s) {
            self.events[i].on(&e, pair.side(s));
            match e {
                Event::Message(m) => {
                    let kind = m.kind();
                    self.received[i].push((kind, m.into_bytes().to_vec()));
                }
                Event::Chunk(c) => {
                    let entry = self.chunk[i].get_or_insert_with(|| (c.kind, Vec::new()));
                    entry.1.extend_from_slice(&c.data);
                    if c.last {
                        let done = self.chunk[i].take().unwrap();
                        self.received[i].push(done);
                    }
                }
                Event::Closed(c) => self.closed[i] = Some(c),
                _ => {}
            }
        }
        let from = &self.sent[1 - i];
        let got = &self.received[i];
        assert!(
            got.len() <= from.len(),
            "{s:?} received more messages than were sent"
        );
        for (n, (g, w)) in got.iter().zip(from).enumerate() {
            assert!(g == w, "{s:?}'s message {n} differs from what was sent");
        }
    }
}

fuzz_target!(|input: Input| {
    let limits = if input.small {
        Limits::new()
            .max_message_size(2000)
            .max_frame_size(1500)
            .max_input_buffer(100)
            .max_output_buffer(5000)
    } else {
        Limits::new()
            .max_message_size(80 << 10)
            .max_output_buffer(200 << 10)
    };
    let deflate = match input.deflate % 3 {
        0 => None,
        1 => Some(DeflateConfig::new().min_size(0)),
        _ => Some(
            DeflateConfig::new()
                .client_no_context_takeover(true)
                .server_max_window_bits(9),
        ),
    };
    let config = Config::new()
        .limits(limits)
        .deflate(deflate)
        .delivery(if input.chunks {
            Delivery::Chunks
        } else {
            Delivery::Messages
        });
    let mut pair = Pair::new(config.clone(), config);
    let mut st = State {
        sent: [Vec::new(), Vec::new()],
        fragment: [None, None],
        received: [Vec::new(), Vec::new()],
        chunk: [None, None],
        events: [
            Events::new(pair.client(), false),
            Events::new(pair.server(), false),
        ],
        closed: [None, None],
        counter: 0,
    };
    for op in input.ops.iter().take(200) {
        match *op {
            Op::Send { client, text, len } => {
                let s = side(client);
                st.counter += 1;
                let len = usize::from(len) % 100_000;
                let (kind, bytes) = if text {
                    let t: String = format!("{}é", st.counter)
                        .chars()
                        .cycle()
                        .take(len / 2)
                        .collect();
                    (MessageKind::Text, t.into_bytes())
                } else {
                    (
                        MessageKind::Binary,
                        (0..len).map(|i| (i as u32 ^ st.counter) as u8).collect(),
                    )
                };
                let m = match kind {
                    MessageKind::Text => {
                        Message::Text(String::from_utf8(bytes.clone()).unwrap().into())
                    }
                    MessageKind::Binary => Message::Binary(bytes.clone().into()),
                };
                if pair.side(s).send(m).is_ok() {
                    st.sent[ix(s)].push((kind, bytes));
                }
            }
            Op::Fragment { client, len, last } => {
                let s = side(client);
                st.counter += 1;
                let part: Vec<u8> = (0..usize::from(len) % 30_000)
                    .map(|i| (i as u32 + st.counter) as u8)
                    .collect();
                if pair
                    .side(s)
                    .send_fragment(MessageKind::Binary, part.clone(), last)
                    .is_ok()
                {
                    let buf = st.fragment[ix(s)].get_or_insert_with(Vec::new);
                    buf.extend_from_slice(&part);
                    if last {
                        let whole = st.fragment[ix(s)].take().unwrap();
                        st.sent[ix(s)].push((MessageKind::Binary, whole));
                    }
                }
            }
            Op::Ping { client } => {
                let _ = pair.side(side(client)).ping(b"p");
            }
            Op::Close { client, code } => {
                let code = if CloseCode::new(code).is_sendable() {
                    code
                } else {
                    1000
                };
                let _ = pair.side(side(client)).close(CloseCode::new(code), "bye");
            }
            Op::Deliver { client, n } => {
                pair.deliver(side(client), usize::from(n) + 1);
            }
            Op::Tick(n) => pair.advance(core::time::Duration::from_millis(u64::from(n) * 5)),
            Op::Cut { client } => pair.cut(side(client)),
        }
        st.collect(&mut pair, Side::Client);
        st.collect(&mut pair, Side::Server);
    }
    // The end: the client closes (if it still can) and time runs.
    let _ = pair.client().close(CloseCode::NORMAL, "end");
    let finished = pair.run_to_end();
    st.collect(&mut pair, Side::Client);
    st.collect(&mut pair, Side::Server);
    if !finished {
        let report = |c: &mut wsmachine::Connection| {
            format!(
                "state {:?} finished {} out {} timeout {:?} wants_read {} shutdown {}",
                c.state(),
                c.is_finished(),
                c.output_len(),
                c.poll_timeout(),
                c.wants_read(),
                c.wants_shutdown()
            )
        };
        let (a, b) = (report(pair.client()), report(pair.server()));
        panic!(
            "the pair did not finish: client {a}; server {b}; now {:?}",
            pair.now()
        );
    }
    for s in [Side::Client, Side::Server] {
        let i = ix(s);
        let closed = st.closed[i].as_ref().expect("finished without Closed");
        if closed.code != CloseCode::ABNORMAL {
            // It has the peer's Close frame: everything sent before it.
            assert_eq!(
                st.received[i].len(),
                st.sent[1 - i].len(),
                "{s:?} has the peer's Close but not all its messages"
            );
            let peer = st.closed[1 - i].as_ref().unwrap();
            let sent = peer.sent.as_ref().map(|f| (f.code, f.reason.clone()));
            assert_eq!(
                Some((closed.code, closed.reason.clone())),
                sent,
                "close code or reason changed"
            );
        }
    }
});
