//! A Sans-IO WebSocket (RFC 6455) state machine.
//!
//! Bytes go in, events and bytes to send come out. The crate never touches a
//! socket, a clock or a runtime: a blocking `std::net` loop, an async
//! runtime, a readiness loop or an embedded board drives a [`Connection`]
//! through a small feed/poll API.
//!
//! # A driver loop
//!
//! A blocking echo server for one accepted TCP stream; timers trimmed (the
//! `echo_server` example has them). It follows
//! [the polling order](Connection#the-polling-order):
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::Shutdown;
//! use wsmachine::{Accept, Config, Connection, Event};
//!
//! # fn main() -> std::io::Result<()> {
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let (mut stream, _) = listener.accept()?;
//! let mut conn = Connection::server(Config::default());
//! let mut shut = false;
//! loop {
//!     while let Some(event) = conn.poll_event() {
//!         match event {
//!             Event::Request(_) => conn.accept(Accept::new())?,
//!             Event::Message(m) => { let _ = conn.send(m); }
//!             _ => {}
//!         }
//!     }
//!     while let Some(bytes) = conn.poll_transmit() {
//!         stream.write_all(&bytes)?;
//!     }
//!     if conn.wants_shutdown() && !shut {
//!         stream.shutdown(Shutdown::Write)?;
//!         shut = true;
//!     }
//!     if conn.is_finished() {
//!         return Ok(());
//!     }
//!     match stream.read(conn.read_buf()) {
//!         Ok(0) => conn.feed_eof(),
//!         Ok(n) => conn.commit_read(n),
//!         Err(_) => conn.transport_error(),
//!     }
//! }
//! # }
//! ```
//!
//! # What it does for you
//!
//! - The opening handshake from raw bytes, both roles (RFC 6455 §4), with
//!   the pieces usable on their own in [`handshake`].
//! - Framing, masking with unpredictable keys, fragmentation, control
//!   frames, incremental UTF-8 validation that fails at the first invalid
//!   byte (§5, §8.1).
//! - Automatic pongs, close echo, close codes (§5.5, §7.4), and the end of
//!   the connection: the server closing TCP first (§7.1.1), EOF as 1006, the
//!   teardown that keeps the last Close frame from being lost.
//! - Handshake, close and keepalive timers, driven by the time you pass in.
//! - Limits checked before allocating, with close 1009 for a peer that
//!   exceeds them; bounded input and output buffers; memory that
//!   [`Connection::buffer_capacity`] reports.
//! - Whole messages or, with [`Delivery::Chunks`], pieces as they arrive.
//!
//! # Features
//!
//! - `std` (default): OS-seeded mask keys ([`Connection::client`]),
//!   [`Clock`], `output_vectored`, `io::Error` conversions, runtime SIMD
//!   detection for UTF-8. Without it the crate is `no_std` + `alloc`;
//!   clients pass their own [`RandomSource`].
//! - `deflate` (default): permessage-deflate (RFC 7692).
//! - `testing`: the `testing` module, a deterministic in-memory client/server pair
//!   with a virtual clock and a frame builder that writes invalid frames on
//!   purpose, for applications that test or fuzz their own protocol.

#![no_std]
#![deny(missing_docs)]
// `unsafe` is denied everywhere but in `mask`, which says why it allows it.
#![deny(unsafe_code)]
#![warn(unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
pub mod blocking;
mod close;
mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
mod event;
mod extensions;
pub mod frame;
pub mod handshake;
mod header;
#[cfg(feature = "http")]
pub mod http;
pub mod mask;
mod message;
mod rng;
mod role;
#[cfg(feature = "testing")]
pub mod testing;
mod time;
mod usage;
pub mod utf8;

pub use bytes::Bytes;

/// The README's code blocks, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The code blocks of docs/integrations.md, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/integrations.md")]
pub struct IntegrationsDoctests;

pub use crate::close::{CloseCode, CloseFrame, MAX_REASON_LEN};
pub use crate::config::{Config, Delivery, Keepalive, Limit, Limits, OriginCheck, OriginPolicy};
pub use crate::connection::{Agreement, CONTROL_BUDGET, Connection, State};
pub use crate::error::{Error, ProtocolViolation, Timer};
pub use crate::event::{Chunk, Closed, Event, Open};
pub use crate::handshake::{Accept, ClientRequest, HandshakeError, Reject, Request, Response};
pub use crate::message::{Message, MessageKind, Utf8Bytes};
pub use crate::rng::{ChaCha20Rng, EntropyError, RandomSource};
pub use crate::role::Role;
#[cfg(feature = "std")]
pub use crate::time::Clock;
pub use crate::time::Instant;
pub use crate::usage::{SendError, UsageError};
