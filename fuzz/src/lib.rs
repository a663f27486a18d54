//! The fuzz harness: a counting allocator, invariant checkers for a
//! connection's events and for the bytes it writes, a peer that writes
//! frames (compressed ones included), and a driver that interleaves input
//! with API calls chosen by the fuzzer.
//!
//! Every target asserts invariants, not only the absence of panics; they
//! are listed in `docs/robustness.md` and checked here:
//!
//! - events follow the state: `Request` first (server), `Open` before any
//!   message, at most one `Error`, followed by `Closed`; exactly one
//!   `Closed`, last; `state()` agrees;
//! - text (messages, chunks, close reasons) is valid UTF-8; messages and
//!   chunk sequences respect `max_message_size`;
//! - the bytes written are a well-formed HTTP head followed by well-formed
//!   frames: masked exactly when a client writes, control frames final and
//!   at most 125 bytes, RSV bits only as agreed, fragments in order, text
//!   UTF-8, minimal length encodings, every Close code sendable and nothing
//!   after a Close;
//! - heap held by the connection (counting allocator) never exceeds the sum
//!   of its configured limits plus compression state, and
//!   `buffer_capacity()` never exceeds it either;
//! - pending output never exceeds `max_output_buffer + CONTROL_BUDGET`
//!   (plus the handshake answer, which is not a frame);
//! - `feed` takes at most what it is given and at least what
//!   `input_room()` promised; input is never stuck (no event to poll and no
//!   room) unless a request waits for the application; after `Closed`
//!   every byte is taken;
//! - the end is reached: after EOF and the timers, `is_finished()`, with no
//!   output and no event left.

pub mod alloc;
pub mod check;
pub mod drive;
pub mod peer;
