//! An example for applications: fuzzing a protocol built on wsmachine with
//! the `testing` toolkit (`docs/robustness.md` walks through it).
//!
//! The protocol: a client sends text commands; the server answers `ok N`
//! to `add N`, `bye` to `quit` (and closes with 4000), and fails the
//! connection with 1008 on anything else. The fuzzer plays a client that
//! sends commands, garbage and hand-made frames, valid or not, split and
//! delayed anywhere. Invariants: the server never panics, answers each
//! command in order, and the pair always finishes.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsmachine::testing::{FrameBuilder, Pair, Side};
use wsmachine::{CloseCode, Config, Connection, Event, Message};

/// The application under test: what the server does with one event.
fn server_app(conn: &mut Connection, event: Event, answered: &mut u32) {
    if let Event::Message(Message::Text(t)) = event {
        let reply = match t.as_str().split_once(' ') {
            Some(("add", n)) if n.parse::<i64>().is_ok() => format!("ok {n}"),
            _ if t.as_str() == "quit" => {
                let _ = conn.send("bye");
                let _ = conn.close(CloseCode::new(4000), "quit");
                return;
            }
            _ => {
                let _ = conn.fail(CloseCode::POLICY_VIOLATION, "unknown command");
                return;
            }
        };
        if conn.send(reply).is_ok() {
            *answered += 1;
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Step {
    Add(i16),
    Quit,
    Garbage(String),
    /// A frame built by hand: any opcode, bits and payload, masked or not.
    Frame {
        opcode: u8,
        rsv: u8,
        fin: bool,
        masked: bool,
        payload: Vec<u8>,
    },
    Deliver(u8),
    Wait(u8),
}

fuzz_target!(|steps: Vec<Step>| {
    let mut pair = Pair::new(Config::default(), Config::default());
    let (mut answered, mut sent_adds) = (0u32, 0u32);
    for step in steps.iter().take(64) {
        match step {
            Step::Add(n) => {
                if pair.client().send(format!("add {n}")).is_ok() {
                    sent_adds += 1;
                }
            }
            Step::Quit => {
                let _ = pair.client().send("quit");
            }
            Step::Garbage(s) => {
                let _ = pair.client().send(s.as_str());
            }
            Step::Frame {
                opcode,
                rsv,
                fin,
                masked,
                payload,
            } => {
                let mut f = FrameBuilder::new(*opcode, payload).rsv(*rsv).fin(*fin);
                if *masked {
                    f = f.mask([1, 2, 3, 4]);
                }
                pair.inject(Side::Server, &f.build());
            }
            Step::Deliver(n) => {
                pair.deliver(Side::Client, usize::from(*n));
                pair.deliver(Side::Server, usize::from(*n));
            }
            Step::Wait(s) => pair.advance(core::time::Duration::from_secs(u64::from(*s))),
        }
        for event in pair.take_events(Side::Server) {
            server_app(pair.server(), event, &mut answered);
        }
    }
    pair.run();
    for event in pair.take_events(Side::Server) {
        server_app(pair.server(), event, &mut answered);
    }
    assert!(answered <= sent_adds, "more answers than commands");
    // The end: the client closes (if it still can) and time runs.
    let _ = pair.client().close(CloseCode::NORMAL, "end");
    assert!(pair.run_to_end(), "the pair did not finish");
    // Every answer the client got is one the server gave, in order.
    let oks = pair
        .take_events(Side::Client)
        .into_iter()
        .filter(
            |e| matches!(e, Event::Message(m) if m.as_text().is_some_and(|t| t.starts_with("ok "))),
        )
        .count();
    assert!(oks as u32 <= answered);
});
