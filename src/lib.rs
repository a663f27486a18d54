//! A Sans-IO WebSocket (RFC 6455) state machine.
//!
//! Bytes go in, events and bytes to send come out. The crate never touches a
//! socket, a clock or a runtime: a blocking `std::net` loop, an async
//! runtime, a readiness loop or an embedded board drives a [`Connection`]
//! through a small feed/poll API.
//!
//! # A driver loop
//!
//! A blocking echo server for one accepted TCP stream; timers and error
//! handling trimmed (the `echo_server` example has them):
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use wsmachine::{Accept, Config, Connection, Event};
//!
//! # fn main() -> std::io::Result<()> {
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let (mut stream, _) = listener.accept()?;
//! let mut conn = Connection::server(Config::default());
//! loop {
//!     while let Some(event) = conn.poll_event() {
//!         match event {
//!             Event::Request(_) => conn.accept(Accept::new()).expect("a request is pending"),
//!             Event::Message(m) => { let _ = conn.send(m); }
//!             _ => {}
//!         }
//!     }
//!     while conn.wants_write() {
//!         let n = stream.write(conn.output())?;
//!         conn.consume_output(n);
//!     }
//!     if conn.is_finished() {
//!         break;
//!     }
//!     let n = stream.read(conn.read_buf(16 * 1024))?;
//!     if n == 0 { conn.feed_eof() } else { conn.commit_read(n) }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Polling order
//!
//! After any input (`feed`, `commit_read`, `feed_eof`, `handle_timeout`) or
//! action (`send`, `close`, `accept`, …):
//!
//! 1. call [`Connection::poll_event`] until it returns `None`;
//! 2. write [`Connection::output`] (or [`Connection::output_chunks`]) and
//!    report progress with [`Connection::consume_output`];
//! 3. if [`Connection::is_finished`] and nothing is left to write, close the
//!    transport;
//! 4. wait for input until [`Connection::poll_timeout`], then call
//!    [`Connection::handle_timeout`].
//!
//! Received bytes are only parsed inside `poll_event`, so an application
//! that stops polling applies backpressure: the connection stops consuming
//! input and the driver stops reading.
//!
//! # What it does for you
//!
//! - The opening handshake from raw bytes, both roles (RFC 6455 §4), with
//!   the pieces usable on their own in [`handshake`].
//! - Framing, masking with unpredictable keys, fragmentation, control
//!   frames, incremental UTF-8 validation that fails at the first invalid
//!   byte (§5, §8.1).
//! - Automatic pongs, close echo, close codes (§5.5, §7.4), the server
//!   closing TCP first (§7.1.1), EOF as 1006.
//! - Handshake, close and keepalive timers, driven by the time you pass in.
//! - Limits checked before allocating, with close 1009 for a peer that
//!   exceeds them; an output cap that refuses sends instead of growing.
//! - Whole messages or, with [`Delivery::Chunks`], pieces as they arrive.
//!
//! # Features
//!
//! - `std` (default): OS-seeded mask keys ([`Connection::client`]),
//!   [`Clock`], vectored-output helper, runtime SIMD detection for UTF-8.
//!   Without it the crate is `no_std` + `alloc`; clients pass their own
//!   [`RandomSource`].
//! - `deflate`: permessage-deflate (RFC 7692).

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod close;
mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
mod event;
pub mod frame;
pub mod handshake;
pub mod mask;
mod message;
mod rng;
mod time;
pub mod utf8;

pub use bytes::{Bytes, BytesMut};

/// The README's code blocks, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use crate::close::{CloseCode, CloseFrame, MAX_REASON_LEN};
pub use crate::config::{Config, Delivery, Keepalive, Limits, OriginCheck, OriginPolicy};
pub use crate::connection::{Connection, Role, State};
pub use crate::error::{Error, HandshakeError, Limit, ProtocolViolation, Timer, UsageError};
pub use crate::event::{Chunk, Closed, Event, Open};
pub use crate::handshake::{Accept, ClientRequest, Reject, Request, Response};
pub use crate::message::{Message, MessageKind, Utf8Bytes};
pub use crate::rng::{ChaCha20Rng, EntropyError, RandomSource};
#[cfg(feature = "std")]
pub use crate::time::Clock;
pub use crate::time::Instant;
