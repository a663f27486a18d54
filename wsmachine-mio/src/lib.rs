//! A readiness-loop driver for [`wsmachine`] on [`mio`]: one thread, many
//! WebSocket connections, each driven through the same
//! [`Connection`] API, all reading into one shared buffer.
//!
//! ```no_run
//! use wsmachine::{Connection, Event};
//! use wsmachine_mio::{EventLoop, Handler, Id};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     fn event(&mut self, _id: Id, conn: &mut Connection, event: Event) {
//!         if let Event::Message(m) = event {
//!             // Refused only while closing, or if the peer does not read.
//!             let _ = conn.send(m);
//!         }
//!     }
//! }
//!
//! # fn main() -> std::io::Result<()> {
//! let mut event_loop = EventLoop::new(Echo)?;
//! event_loop.listen("127.0.0.1:9001".parse().unwrap(), Default::default())?;
//! event_loop.run()
//! # }
//! ```
//!
//! What it decides:
//!
//! - **No per-connection input buffer.** Every read goes into the loop's
//!   one 64 KiB buffer and is handed over with
//!   [`Connection::feed_unbuffered`], events polled between pieces, so a
//!   drained connection holds no input bytes; idle connections are shrunk
//!   ([`Connection::shrink_buffers`]). An idle connection costs its
//!   `Connection` and a few words (see `docs/integrations.md` for the
//!   measured heap and RSS).
//! - **Backpressure.** A connection's events reach the application, and
//!   its socket is read, only once its output is written: what the
//!   application sends in answer always fits the output buffer, a peer that
//!   does not read stops being read (TCP flow control reaches it), and one
//!   that reads nothing for [`DEFAULT_WRITE_TIMEOUT`] is dropped. Each
//!   connection gets at most 16 reads per turn, so one fast peer cannot
//!   starve the others.
//! - **Timers** live in one ordered index of deadlines; the loop sleeps
//!   until the earliest one.
//! - **Handshakes** are decided by [`Handler::request`] synchronously;
//!   everything else arrives in [`Handler::event`] with the connection to
//!   act on (`send`, `close`, …). [`EventLoop::act`] acts on a connection
//!   from outside a callback (a broadcast).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::collections::{BTreeSet, VecDeque};
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use wsmachine::{
    Accept, ClientRequest, Clock, Config, Connection, Event, Instant, Reject, Request,
};

/// The shared read buffer's size.
const READ_BUFFER: usize = 64 << 10;
/// Reads per connection per turn before the others get their turn.
const READ_BUDGET: usize = 16;
const LISTENER: Token = Token(usize::MAX);

/// How long a connection's output may make no progress before the peer is
/// taken for gone, unless [`EventLoop::set_write_timeout`] says otherwise.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection of an [`EventLoop`]. Ids are not reused while the loop
/// lives (a slot's generation changes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id {
    slot: u32,
    generation: u32,
}

/// What the application does with its connections.
pub trait Handler {
    /// A client asks to upgrade (a server connection): accept it (the
    /// default) or reject it.
    fn request(&mut self, id: Id, request: &Request) -> Result<Accept, Reject> {
        let _ = (id, request);
        Ok(Accept::new())
    }

    /// Any other event of connection `id`: `Open`, messages, pings, pongs,
    /// `Error`, and `Closed` last. Act on `conn`; the loop writes what it
    /// queues.
    fn event(&mut self, id: Id, conn: &mut Connection, event: Event);

    /// Connection `id` is finished and was removed from the loop.
    fn finished(&mut self, id: Id) {
        let _ = id;
    }
}

struct Entry {
    stream: TcpStream,
    conn: Connection,
    /// The deadline registered in the timer index.
    timer: Option<Instant>,
    readable: bool,
    writable: bool,
    /// A client's TCP connect is in progress.
    connecting: bool,
    shut: bool,
    /// Since when a write would block (the peer reads nothing).
    stalled: Option<Instant>,
}

/// A slot of the connection table; the entry is boxed so that free and
/// spare slots cost a pointer, not a `Connection`.
struct Slot {
    generation: u32,
    entry: Option<Box<Entry>>,
}

/// One thread's event loop: a listener (optional) and any number of
/// connections.
pub struct EventLoop<H> {
    poll: Poll,
    events: Events,
    /// Readiness of the last poll, reused between turns.
    fired: Vec<(Token, bool, bool)>,
    listener: Option<(TcpListener, Arc<Config>)>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    buf: Box<[u8]>,
    clock: Clock,
    timers: BTreeSet<(Instant, u32)>,
    /// Connections with input left to read after their turn's budget.
    ready: VecDeque<u32>,
    live: usize,
    write_timeout: Duration,
    handler: H,
}

impl<H: Handler> EventLoop<H> {
    /// An event loop with no connection yet.
    pub fn new(handler: H) -> io::Result<Self> {
        Ok(EventLoop {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            fired: Vec::new(),
            listener: None,
            slots: Vec::new(),
            free: Vec::new(),
            buf: vec![0; READ_BUFFER].into_boxed_slice(),
            clock: Clock::new(),
            timers: BTreeSet::new(),
            ready: VecDeque::new(),
            live: 0,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            handler,
        })
    }

    /// Accepts WebSocket clients on `addr` with `config` (one listener per
    /// loop); returns the bound address (port 0 picks one).
    pub fn listen(&mut self, addr: SocketAddr, config: Arc<Config>) -> io::Result<SocketAddr> {
        let mut listener = TcpListener::bind(addr)?;
        self.poll
            .registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let local = listener.local_addr()?;
        self.listener = Some((listener, config));
        Ok(local)
    }

    /// Opens a client connection to `addr` for `request`; the handshake
    /// runs in the loop (`Open` arrives in [`Handler::event`]).
    pub fn connect(
        &mut self,
        addr: SocketAddr,
        request: &ClientRequest,
        config: Arc<Config>,
    ) -> io::Result<Id> {
        let conn = Connection::client(config, request)?;
        self.insert(TcpStream::connect(addr)?, conn, true)
    }

    /// Runs until an I/O error of the loop itself.
    pub fn run(&mut self) -> io::Result<()> {
        loop {
            self.run_once(None)?;
        }
    }

    /// Waits for readiness, the next deadline or `timeout`, then drives
    /// every connection that can make progress.
    pub fn run_once(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let mut wait = self.timers.first().map(|&(t, _)| self.clock.until(t));
        if !self.ready.is_empty() {
            wait = Some(Duration::ZERO);
        }
        let wait = match (wait, timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.poll.poll(&mut self.events, wait) {
            Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(()),
            other => other?,
        }
        let mut fired = std::mem::take(&mut self.fired);
        fired.extend(self.events.iter().map(|e| {
            let read = e.is_readable() || e.is_read_closed() || e.is_error();
            (e.token(), read, e.is_writable() || e.is_write_closed())
        }));
        for (token, readable, writable) in fired.drain(..) {
            if token == LISTENER {
                self.accept_all();
            } else if let Some(e) = self.entry(token.0 as u32) {
                e.readable |= readable;
                e.writable |= writable;
                self.drive(token.0 as u32);
            }
        }
        self.fired = fired;
        for _ in 0..self.ready.len() {
            if let Some(slot) = self.ready.pop_front() {
                self.drive(slot);
            }
        }
        let now = self.clock.now();
        while let Some(&(t, slot)) = self.timers.first().filter(|(t, _)| *t <= now) {
            self.timers.remove(&(t, slot));
            if let Some(e) = self.entry(slot) {
                e.timer = None;
                e.conn.handle_timeout(now);
                self.drive(slot);
            }
        }
        Ok(())
    }

    /// Acts on connection `id` from outside a callback (e.g. a broadcast),
    /// then writes what it queued. `None` if it is gone.
    pub fn act<R>(&mut self, id: Id, f: impl FnOnce(&mut Connection) -> R) -> Option<R> {
        let slot = self.slots.get_mut(id.slot as usize)?;
        let entry = slot
            .entry
            .as_mut()
            .filter(|_| slot.generation == id.generation)?;
        let result = f(&mut entry.conn);
        self.drive(id.slot);
        Some(result)
    }

    /// How long a connection's output may make no progress (its peer
    /// reads nothing) before the connection is failed as a transport error.
    pub fn set_write_timeout(&mut self, timeout: Duration) {
        self.write_timeout = timeout;
    }

    /// How many connections the loop holds.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether the loop holds no connection.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The handler, mutably.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    fn entry(&mut self, slot: u32) -> Option<&mut Entry> {
        self.slots.get_mut(slot as usize)?.entry.as_deref_mut()
    }

    fn accept_all(&mut self) {
        loop {
            let Some((listener, config)) = &self.listener else {
                return;
            };
            let config = config.clone();
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let _ = self.insert(stream, Connection::server(config), false);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionAborted => {}
                // WouldBlock: all accepted. Out of descriptors: the rest
                // wait for the next readiness event.
                Err(_) => return,
            }
        }
    }

    fn insert(
        &mut self,
        mut stream: TcpStream,
        conn: Connection,
        connecting: bool,
    ) -> io::Result<Id> {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    entry: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut stream, Token(slot as usize), interest)
        {
            self.free.push(slot);
            return Err(e);
        }
        let s = &mut self.slots[slot as usize];
        s.entry = Some(Box::new(Entry {
            stream,
            conn,
            timer: None,
            readable: !connecting,
            writable: !connecting,
            connecting,
            shut: false,
            stalled: None,
        }));
        self.live += 1;
        let id = Id {
            slot,
            generation: s.generation,
        };
        self.drive(slot);
        Ok(id)
    }

    /// The polling order for one connection, until it waits for the
    /// transport or a deadline.
    fn drive(&mut self, slot: u32) {
        let EventLoop {
            poll,
            slots,
            free,
            buf,
            clock,
            timers,
            ready,
            live,
            handler,
            write_timeout,
            ..
        } = self;
        let s = &mut slots[slot as usize];
        let id = Id {
            slot,
            generation: s.generation,
        };
        let Some(e) = s.entry.as_mut() else { return };
        if e.connecting && e.writable {
            match (e.stream.take_error(), e.stream.peer_addr()) {
                (Ok(None), Ok(_)) => e.connecting = false,
                (Ok(None), Err(err)) if err.kind() == ErrorKind::NotConnected => e.writable = false,
                _ => {
                    e.connecting = false;
                    e.conn.transport_error();
                }
            }
        }
        let mut reads = 0;
        loop {
            // Events reach the application only once the output is written:
            // what it sends in answer always fits (backpressure).
            let more = dispatch(handler, id, &mut e.conn);
            if e.writable && !e.connecting {
                write_out(e, clock.now());
            }
            if more && e.conn.output_len() == 0 {
                // Written: the input the connection kept meanwhile (the
                // rest of a read) has its turn before the next read.
                continue;
            }
            if e.conn.wants_shutdown() && !e.shut {
                e.shut = true;
                let _ = e.stream.shutdown(Shutdown::Write);
            }
            if e.conn.is_finished() {
                if let Some(t) = e.timer {
                    timers.remove(&(t, slot));
                }
                let _ = poll.registry().deregister(&mut e.stream);
                s.entry = None;
                s.generation = s.generation.wrapping_add(1);
                free.push(slot);
                *live -= 1;
                handler.finished(id);
                return;
            }
            let now = clock.now();
            if e.stalled.is_some_and(|t| t + *write_timeout <= now) {
                // The peer has read nothing for too long.
                e.conn.transport_error();
                continue;
            }
            if e.conn.poll_timeout().is_some_and(|t| t <= now) {
                e.conn.handle_timeout(now);
                continue;
            }
            // Read only once the output is written.
            if !(e.readable && !e.connecting && e.conn.wants_read() && e.conn.output_len() == 0) {
                break;
            }
            if reads == READ_BUDGET {
                ready.push_back(slot);
                break;
            }
            reads += 1;
            let room = e.conn.input_room().min(buf.len());
            match e.stream.read(&mut buf[..room]) {
                Ok(0) => e.conn.feed_eof(),
                Ok(n) => feed(handler, id, &mut e.conn, &buf[..n]),
                Err(err) if err.kind() == ErrorKind::WouldBlock => e.readable = false,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(_) => e.conn.transport_error(),
            }
        }
        if e.conn.buffered_input() == 0 {
            e.conn.shrink_buffers();
        }
        let stall = e.stalled.map(|t| t + *write_timeout);
        let next = match (e.conn.poll_timeout(), stall) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if next != e.timer {
            if let Some(t) = e.timer {
                timers.remove(&(t, slot));
            }
            if let Some(t) = next {
                timers.insert((t, slot));
            }
            e.timer = next;
        }
    }
}

/// Hands events to the application (a request to its decision) until one
/// makes the connection queue output, which is written first. Whether it
/// stopped for that output (more events may follow once it is written).
fn dispatch(handler: &mut impl Handler, id: Id, conn: &mut Connection) -> bool {
    while conn.output_len() == 0 {
        let Some(event) = conn.poll_event() else {
            return false;
        };
        match event {
            Event::Request(request) => {
                let decided = match handler.request(id, &request) {
                    Ok(accept) => conn.accept(accept),
                    Err(reject) => conn.reject(reject),
                };
                if decided.is_err() {
                    // An answer the connection refused (a subprotocol not
                    // offered, a bad header): closing now answers 503.
                    let _ = conn.close(wsmachine::CloseCode::NORMAL, "");
                }
            }
            event => handler.event(id, conn, event),
        }
    }
    true
}

/// Feeds `data` from the shared buffer, handing events over between pieces
/// so that nothing of it stays in the connection; what arrives while
/// output waits is kept by the connection (it has room: reads are sized by
/// `input_room`).
fn feed(handler: &mut impl Handler, id: Id, conn: &mut Connection, mut data: &[u8]) {
    while !data.is_empty() {
        let used = if conn.output_len() == 0 {
            conn.feed_unbuffered(data)
        } else {
            0
        };
        let used = if used == 0 { conn.feed(data) } else { used };
        data = &data[used..];
        dispatch(handler, id, conn);
        if used == 0 {
            // Not reached: input_room() promised room.
            conn.transport_error();
            return;
        }
    }
}

/// Writes until the output is empty or the socket would block; notes when
/// the peer stopped reading.
fn write_out(e: &mut Entry, now: Instant) {
    while e.conn.wants_write() {
        let mut slices = [IoSlice::new(&[]); 16];
        let n = e.conn.output_vectored(&mut slices);
        match e.stream.write_vectored(&slices[..n]) {
            Ok(0) => e.conn.transport_error(),
            Ok(written) => {
                e.conn.consume_output(written);
                e.stalled = None;
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                e.writable = false;
                e.stalled.get_or_insert(now);
                return;
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(_) => e.conn.transport_error(),
        }
    }
    e.stalled = None;
}
