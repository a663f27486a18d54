//! `Connection`, `ServerConnection`, `ClientConnection` and the event
//! iterator: the core's connection with the polling order of a Python
//! sans-I/O library.
//!
//! The one thing the binding adds to the core is that nothing given to
//! `receive_data` is ever lost: the core processes input only while the
//! application keeps up with events (and a server only once it has
//! accepted), so what it does not take is kept here, by reference to the
//! `bytes` object, and fed as soon as events have been polled
//! (`feed_unbuffered`: frames are processed straight from the `bytes`).

use std::collections::VecDeque;
use std::sync::Arc;

use pyo3::exceptions::{PyEOFError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView, PyString};
use wsmachine::{Accept, Bytes, ClientRequest, CloseCode, Instant, MessageKind, Reject, Utf8Bytes};

use crate::config::Config;
use crate::errors::usage_error;
use crate::events;

/// The state of a connection, as RFC 6455 names it.
#[pyclass(eq, eq_int, frozen, module = "wsmachine")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// The opening handshake is in progress.
    #[pyo3(name = "CONNECTING")]
    Connecting = 0,
    /// Messages flow both ways.
    #[pyo3(name = "OPEN")]
    Open = 1,
    /// This side sent a Close frame and waits for the peer's.
    #[pyo3(name = "CLOSING")]
    Closing = 2,
    /// The WebSocket connection is closed (`Closed` was delivered or is
    /// about to be); drive on until `is_finished`.
    #[pyo3(name = "CLOSED")]
    Closed = 3,
}

/// Received bytes the core has not taken yet.
struct Pending {
    data: Py<PyBytes>,
    offset: usize,
}

/// What the two connection classes share; not created directly.
#[pyclass(subclass, module = "wsmachine")]
pub(crate) struct Connection {
    conn: wsmachine::Connection,
    pending: VecDeque<Pending>,
    pending_len: usize,
    /// `receive_eof` was called.
    eof: bool,
    /// The core was told about the EOF (after every pending byte).
    eof_fed: bool,
    /// The caller's clock reading that is the core's `Instant::ZERO`.
    origin: f64,
}

fn config_of(config: Option<&Bound<'_, Config>>) -> Arc<wsmachine::Config> {
    match config {
        Some(c) => c.get().inner.clone(),
        None => Config::default_inner(),
    }
}

/// Borrows or copies a bytes-like argument as a `bytes` object.
fn as_bytes<'py>(data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(b.clone());
    }
    if data.is_instance_of::<PyByteArray>() || data.is_instance_of::<PyMemoryView>() {
        // One copy, through the buffer protocol (a memoryview of any
        // format is taken as its raw bytes).
        return data
            .py()
            .get_type::<PyBytes>()
            .call1((data,))?
            .cast_into::<PyBytes>()
            .map_err(Into::into);
    }
    Err(PyTypeError::new_err(format!(
        "expected bytes, bytearray or memoryview, not {}",
        data.get_type().name()?
    )))
}

/// Payloads at least this long are queued without a copy: the frame keeps
/// the `bytes` object alive until it is written. (The core queues a
/// server's payloads from 4 KiB on by reference; below that it copies them
/// into its output buffer anyway, and a copy is cheaper than sharing.)
const SHARE_AT: usize = 4096;

fn share(bytes: Bound<'_, PyBytes>) -> Bytes {
    if bytes.as_bytes().len() >= SHARE_AT {
        Bytes::from_owner(PyBackedBytes::from(bytes))
    } else {
        Bytes::copy_from_slice(bytes.as_bytes())
    }
}

/// A payload argument as `Bytes`: large `bytes` shared, the rest copied.
fn payload(data: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    Ok(share(as_bytes(data)?))
}

/// Text as UTF-8 `Bytes`: a `str` is encoded, bytes are checked by the core.
fn text_payload(data: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    if let Ok(s) = data.cast::<PyString>() {
        return Ok(share(s.encode_utf8()?));
    }
    payload(data)
}

/// `(name, value)` pairs from a sequence of pairs or a mapping.
pub(crate) fn header_pairs(headers: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(headers) = headers else {
        return Ok(Vec::new());
    };
    let items = if headers.hasattr("items")? {
        headers.call_method0("items")?
    } else {
        headers.clone()
    };
    let mut out = Vec::new();
    for item in items.try_iter()? {
        out.push(item?.extract::<(String, String)>()?);
    }
    Ok(out)
}

impl Connection {
    fn new(conn: wsmachine::Connection, origin: f64) -> PyResult<Connection> {
        if !origin.is_finite() {
            return Err(PyValueError::new_err("time_origin must be finite"));
        }
        Ok(Connection {
            conn,
            pending: VecDeque::new(),
            pending_len: 0,
            eof: false,
            eof_fed: false,
            origin,
        })
    }

    /// Feeds kept bytes (and then the EOF) while the core takes them;
    /// whether anything was fed.
    fn drain_pending(&mut self, py: Python<'_>) -> bool {
        let mut progress = false;
        while let Some(front) = self.pending.front_mut() {
            let data = &front.data.bind(py).as_bytes()[front.offset..];
            let mut n = self.conn.feed_unbuffered(data);
            if n == 0 {
                // Not expected (it is called with no event waiting); the
                // buffered feed keeps the driver going all the same.
                n = self.conn.feed(data);
            }
            front.offset += n;
            self.pending_len -= n;
            progress |= n > 0;
            if n < data.len() {
                return progress;
            }
            self.pending.pop_front();
        }
        if self.eof && !self.eof_fed {
            self.eof_fed = true;
            self.conn.feed_eof();
            progress = true;
        }
        progress
    }

    /// The next core event, feeding kept input when the core runs dry.
    pub(crate) fn next_event(&mut self, py: Python<'_>) -> Option<wsmachine::Event> {
        loop {
            if let Some(event) = self.conn.poll_event() {
                return Some(event);
            }
            if !self.drain_pending(py) {
                return None;
            }
        }
    }

    fn instant(&self, now: f64) -> PyResult<Instant> {
        if now.is_nan() {
            return Err(PyValueError::new_err("time must be a number"));
        }
        let since = ((now - self.origin) * 1e9).max(0.0);
        // Saturates at u64::MAX (about 584 years) for absurd values.
        Ok(Instant::from_nanos(since as u64))
    }

    fn usage(&self, py: Python<'_>, r: Result<(), wsmachine::UsageError>) -> PyResult<()> {
        r.map_err(|e| usage_error(py, &e))
    }

    pub(crate) fn core_mut(&mut self) -> &mut wsmachine::Connection {
        &mut self.conn
    }
}

fn close_code(code: u16) -> CloseCode {
    CloseCode::new(code)
}

#[pymethods]
impl Connection {
    /// Hands received bytes to the connection. All of them are kept: what
    /// the connection cannot process yet (events wait to be read, a
    /// request waits for accept/reject) is fed as soon as `events()` is
    /// iterated. `bytes` are kept without a copy; `bytearray` and
    /// `memoryview` are copied once.
    fn receive_data(&mut self, data: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.eof {
            return Err(PyEOFError::new_err("receive_data() after receive_eof()"));
        }
        let bytes = as_bytes(data)?;
        let slice = bytes.as_bytes();
        if slice.is_empty() {
            return Ok(());
        }
        // Frames are processed straight from the `bytes`; what is left after
        // the first event is kept by reference and fed once events were
        // polled, so no received byte is copied twice.
        let n = if self.pending.is_empty() {
            self.conn.feed_unbuffered(slice)
        } else {
            0
        };
        if n < slice.len() {
            self.pending_len += slice.len() - n;
            self.pending.push_back(Pending {
                data: bytes.unbind(),
                offset: n,
            });
        }
        Ok(())
    }

    /// The transport reached the end of its stream (a read of 0 bytes).
    /// Takes effect after every byte already received was processed.
    fn receive_eof(&mut self) {
        if !self.eof {
            self.eof = true;
            if self.pending.is_empty() {
                self.eof_fed = true;
                self.conn.feed_eof();
            }
        }
    }

    /// Reading from or writing to the transport failed (a reset, a broken
    /// pipe): an `Error` and `Closed` follow unless the connection was
    /// already closed, pending output is dropped, and the connection is
    /// finished.
    fn transport_error(&mut self) {
        self.pending.clear();
        self.pending_len = 0;
        self.eof = true;
        self.eof_fed = true;
        self.conn.transport_error();
    }

    /// An iterator over the events that are ready. Iterate it after every
    /// call that gives the connection input or asks it to act; each event
    /// is processed only once the previous one was taken, so replies sent
    /// while iterating go out in order.
    fn events(slf: &Bound<'_, Self>) -> EventIterator {
        EventIterator {
            conn: slf.clone().unbind(),
        }
    }

    /// Every byte to write now, in one `bytes` object (empty when nothing
    /// is pending). Write them all, then check `wants_shutdown` and
    /// `is_finished`.
    fn data_to_send<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let total = self.conn.output_len();
        let first = self.conn.output();
        let bytes = if first.len() == total {
            PyBytes::new(py, first)
        } else {
            PyBytes::new_with(py, total, |buf| {
                let mut at = 0;
                for chunk in self.conn.output_chunks() {
                    buf[at..at + chunk.len()].copy_from_slice(chunk);
                    at += chunk.len();
                }
                Ok(())
            })?
        };
        self.conn.consume_output(total);
        Ok(bytes)
    }

    /// When to call `handle_timeout()` next, on the caller's clock
    /// (seconds), or None when no timer runs. A deadline at or before now
    /// means "call it now".
    fn next_timeout(&self) -> Option<f64> {
        self.conn
            .poll_timeout()
            .map(|t| self.origin + t.as_nanos() as f64 / 1e9)
    }

    /// Tells the connection the time (seconds, on the same monotonic clock
    /// as `next_timeout()`); fires expired timers. Calling it early or
    /// often is harmless.
    fn handle_timeout(&mut self, now: f64) -> PyResult<()> {
        let now = self.instant(now)?;
        self.conn.handle_timeout(now);
        Ok(())
    }

    /// Sends a text message: a `str`, or `bytes` that are UTF-8.
    #[pyo3(signature = (data, *, compress = true))]
    fn send_text(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        compress: bool,
    ) -> PyResult<()> {
        let text = Utf8Bytes::try_from_bytes(text_payload(data)?)
            .map_err(|_| usage_error(py, &wsmachine::UsageError::InvalidUtf8))?;
        let r = if compress {
            self.conn.send(text)
        } else {
            self.conn.send_uncompressed(text)
        };
        r.map_err(|e| usage_error(py, &e.error))
    }

    /// Sends a binary message (bytes, bytearray or memoryview).
    #[pyo3(signature = (data, *, compress = true))]
    fn send_binary(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        compress: bool,
    ) -> PyResult<()> {
        let bytes = payload(data)?;
        let r = if compress {
            self.conn.send(bytes)
        } else {
            self.conn.send_uncompressed(bytes)
        };
        r.map_err(|e| usage_error(py, &e.error))
    }

    /// Sends one fragment of a text message: the first call starts it,
    /// the call with `last=True` ends it. A code point may be split
    /// between fragments given as bytes; the text as a whole must be UTF-8.
    #[pyo3(signature = (data, last = false))]
    fn send_text_fragment(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        last: bool,
    ) -> PyResult<()> {
        let part = text_payload(data)?;
        self.conn
            .send_fragment(MessageKind::Text, part, last)
            .map_err(|e| usage_error(py, &e.error))
    }

    /// Sends one fragment of a binary message (see `send_text_fragment`).
    #[pyo3(signature = (data, last = false))]
    fn send_binary_fragment(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        last: bool,
    ) -> PyResult<()> {
        let part = payload(data)?;
        self.conn
            .send_fragment(MessageKind::Binary, part, last)
            .map_err(|e| usage_error(py, &e.error))
    }

    /// Sends a ping (payload at most 125 bytes).
    #[pyo3(signature = (payload = None))]
    fn ping(&mut self, py: Python<'_>, payload: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let data = match payload {
            Some(p) => self::payload(p)?,
            None => Bytes::new(),
        };
        let r = self.conn.ping(&data);
        self.usage(py, r)
    }

    /// Sends a pong (payload at most 125 bytes), e.g. with `auto_pong`
    /// off.
    #[pyo3(signature = (payload = None))]
    fn pong(&mut self, py: Python<'_>, payload: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let data = match payload {
            Some(p) => self::payload(p)?,
            None => Bytes::new(),
        };
        let r = self.conn.pong(&data);
        self.usage(py, r)
    }

    /// Starts the closing handshake with `code` and `reason` (at most 123
    /// bytes of UTF-8). Messages are still delivered until the peer's
    /// Close arrives; then `Closed`. Before the connection is open, a
    /// server answers a pending request with 503 and a client gives up.
    #[pyo3(signature = (code = 1000, reason = ""))]
    fn close(&mut self, py: Python<'_>, code: u16, reason: &str) -> PyResult<()> {
        let r = self.conn.close(close_code(code), reason);
        self.usage(py, r)
    }

    /// Fails the connection (e.g. 1003, 1008, 1009 for a message the
    /// application cannot take): sends a Close frame unless one was sent,
    /// and closes without waiting for the peer's. `Closed` follows.
    #[pyo3(signature = (code, reason = ""))]
    fn fail(&mut self, py: Python<'_>, code: u16, reason: &str) -> PyResult<()> {
        let r = self.conn.fail(close_code(code), reason);
        self.usage(py, r)
    }

    /// Ends the connection at once without a Close frame: pending output
    /// is dropped, `Closed` follows, and the connection is finished
    /// (close the transport).
    fn abort(&mut self) {
        self.pending.clear();
        self.pending_len = 0;
        self.conn.abort();
    }

    /// The connection's state.
    #[getter]
    fn state(&self) -> State {
        match self.conn.state() {
            wsmachine::State::Connecting => State::Connecting,
            wsmachine::State::Open => State::Open,
            wsmachine::State::Closing => State::Closing,
            _ => State::Closed,
        }
    }

    /// Whether this is a client connection.
    #[getter]
    fn is_client(&self) -> bool {
        self.conn.role() == wsmachine::Role::Client
    }

    /// The agreed subprotocol, once open.
    #[getter]
    fn subprotocol(&self) -> Option<&str> {
        self.conn.subprotocol()
    }

    /// The agreed `Sec-WebSocket-Extensions` value, once open.
    #[getter]
    fn extensions(&self) -> Option<&str> {
        self.conn.extensions()
    }

    /// Whether the driver is done: every event was taken, the last bytes
    /// were handed out by `data_to_send()` (or given up on), and the
    /// transport ended (EOF, an error, or the close timeout). Close the
    /// transport and drop the connection.
    #[getter]
    fn is_finished(&self) -> bool {
        self.conn.is_finished()
    }

    /// Whether to shut down the transport's write side now (TCP
    /// `shutdown(SHUT_WR)`, asyncio `transport.write_eof()`; TLS
    /// `close_notify`): nothing more will be written. Once true it stays
    /// true; do it once. A server half-closes first (RFC 6455 §7.1.1); a
    /// client waits for the server.
    #[getter]
    fn wants_shutdown(&self) -> bool {
        self.conn.wants_shutdown()
    }

    /// Whether reading from the transport is useful now. False while
    /// received bytes wait to be processed (iterate `events()`), while a
    /// server waits for accept/reject, and after EOF. An asyncio driver
    /// pauses reading while it is false.
    #[getter]
    fn wants_read(&self) -> bool {
        self.pending.is_empty() && !self.eof && self.conn.wants_read()
    }

    /// Whether bytes wait in `data_to_send()`.
    #[getter]
    fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Received bytes not yet processed (kept by the binding and buffered
    /// by the connection).
    #[getter]
    fn buffered_input(&self) -> usize {
        self.pending_len + self.conn.buffered_input()
    }

    /// Bytes waiting in `data_to_send()`.
    #[getter]
    fn buffered_output(&self) -> usize {
        self.conn.output_len()
    }

    /// Heap bytes held by the connection's own buffers and compression
    /// state (not counting kept input, which belongs to its `bytes`).
    #[getter]
    fn buffer_capacity(&self) -> usize {
        self.conn.buffer_capacity()
    }

    /// The caller's clock reading that the connection counts time from.
    #[getter]
    fn time_origin(&self) -> f64 {
        self.origin
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let name = slf.get_type().name()?;
        let state = match slf.borrow().state() {
            State::Connecting => "CONNECTING",
            State::Open => "OPEN",
            State::Closing => "CLOSING",
            State::Closed => "CLOSED",
        };
        Ok(format!("<{name} state={state}>"))
    }
}

/// Iterates the ready events of a connection, one at a time.
#[pyclass(module = "wsmachine")]
pub(crate) struct EventIterator {
    conn: Py<Connection>,
}

#[pymethods]
impl EventIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let mut conn = self.conn.bind(py).try_borrow_mut()?;
        while let Some(event) = conn.next_event(py) {
            if let Some(object) = events::convert(py, event)? {
                return Ok(Some(object));
            }
        }
        Ok(None)
    }
}

/// A server connection: it waits for the client's upgrade request, which
/// arrives as a `Request` event to `accept()` or `reject()`.
#[pyclass(extends = Connection, module = "wsmachine")]
pub(crate) struct ServerConnection;

#[pymethods]
impl ServerConnection {
    /// `config`: a `Config` (the defaults if None). `time_origin`: the
    /// reading of the caller's clock the connection counts time from.
    #[new]
    #[pyo3(signature = (config = None, *, time_origin = 0.0))]
    fn new(
        config: Option<&Bound<'_, Config>>,
        time_origin: f64,
    ) -> PyResult<PyClassInitializer<Self>> {
        let conn = wsmachine::Connection::server(config_of(config));
        Ok(
            PyClassInitializer::from(Connection::new(conn, time_origin)?)
                .add_subclass(ServerConnection),
        )
    }

    /// Accepts the pending `Request`: the 101 answer goes to
    /// `data_to_send()` and `Open` follows. `subprotocol` must be one the
    /// client offered; `headers` are added to the answer; with
    /// `compression=False` permessage-deflate is declined.
    #[pyo3(signature = (subprotocol = None, headers = None, *, compression = true))]
    fn accept(
        mut slf: PyRefMut<'_, Self>,
        subprotocol: Option<String>,
        headers: Option<&Bound<'_, PyAny>>,
        compression: bool,
    ) -> PyResult<()> {
        let py = slf.py();
        let mut accept = Accept::new();
        if let Some(p) = subprotocol {
            accept = accept.subprotocol(p);
        }
        for (name, value) in header_pairs(headers)? {
            accept = accept.header(name, value);
        }
        if !compression {
            accept = accept.without_compression();
        }
        let base = slf.as_super();
        let r = base.core_mut().accept(accept);
        r.map_err(|e| usage_error(py, &e))
    }

    /// Rejects the pending `Request` with an HTTP answer (status 200-599,
    /// not 101, 204 or 304); `Closed` follows.
    #[pyo3(signature = (status = 400, headers = None, body = None))]
    fn reject(
        mut slf: PyRefMut<'_, Self>,
        status: u16,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let mut reject = Reject::new(status);
        for (name, value) in header_pairs(headers)? {
            reject = reject.header(name, value);
        }
        if let Some(body) = body {
            reject = reject.body(if body.is_instance_of::<PyString>() {
                text_payload(body)?
            } else {
                payload(body)?
            });
        }
        let base = slf.as_super();
        let r = base.core_mut().reject(reject);
        r.map_err(|e| usage_error(py, &e))
    }
}

/// A client connection: the upgrade request for `uri` is ready in
/// `data_to_send()` as soon as it is created. Connect to `host` and
/// `port` (with TLS if `is_tls`), then drive it like any connection.
#[pyclass(extends = Connection, module = "wsmachine")]
pub(crate) struct ClientConnection {
    host: String,
    port: u16,
    tls: bool,
    target: String,
}

#[pymethods]
impl ClientConnection {
    /// `uri`: a `ws://` or `wss://` URI. `subprotocols`: offered, most
    /// preferred first. `headers`: added to the request (e.g. `Origin`,
    /// `Authorization`), as pairs or a mapping. `config`: a `Config`.
    #[new]
    #[pyo3(signature = (uri, *, subprotocols = None, headers = None, config = None, time_origin = 0.0))]
    fn new(
        py: Python<'_>,
        uri: &str,
        subprotocols: Option<Vec<String>>,
        headers: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, Config>>,
        time_origin: f64,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut request = ClientRequest::new(uri).map_err(|e| usage_error(py, &e))?;
        for p in subprotocols.unwrap_or_default() {
            request = request.subprotocol(p);
        }
        for (name, value) in header_pairs(headers)? {
            request = request.header(name, value);
        }
        let conn = wsmachine::Connection::client(config_of(config), &request)
            .map_err(|e| usage_error(py, &e))?;
        let host = request.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let client = ClientConnection {
            host: host.to_owned(),
            port: request.port(),
            tls: request.is_tls(),
            target: request.target().to_owned(),
        };
        Ok(PyClassInitializer::from(Connection::new(conn, time_origin)?).add_subclass(client))
    }

    /// The host to connect to (an IPv6 address without brackets).
    #[getter]
    fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to.
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// Whether the URI is `wss://`: the transport must be TLS.
    #[getter]
    fn is_tls(&self) -> bool {
        self.tls
    }

    /// The request target (path and query).
    #[getter]
    fn target(&self) -> &str {
        &self.target
    }
}

/// Registers the connection classes in the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<State>()?;
    m.add_class::<Connection>()?;
    m.add_class::<ServerConnection>()?;
    m.add_class::<ClientConnection>()?;
    m.add_class::<EventIterator>()?;
    Ok(())
}
