//! The connection handle behind `wsm_conn *`, in safe Rust: what each C
//! function does once its pointers have been turned into references,
//! slices and strings (in `ffi.rs`).

use std::boxed::Box;
use std::string::{String, ToString};
use std::vec::Vec;

use core::ffi::c_char;
use core::time::Duration;

use wsmachine::deflate::{DeflateConfig, Memory};
use wsmachine::handshake::HandshakeError;
use wsmachine::{
    Accept, Agreement, Bytes, ClientRequest, CloseCode, Config, Connection, Delivery, Error, Event,
    Instant, Keepalive, Limits, Message, MessageKind, OriginPolicy, Reject, Response, Role, State,
    Utf8Bytes,
};

use crate::status::Fail;
use crate::types::*;

/// A connection and what its current event points into.
///
/// Opaque to C. One thread at a time may use it.
pub struct wsm_conn {
    conn: Connection,
    /// The last event returned, kept so that its payload pointers stay
    /// valid until the next `wsm_poll_event`.
    event: Option<Event>,
    /// The strings and arrays the last event points into.
    held: Held,
    /// The length of the buffer the last call (`wsm_read_buf`) offered.
    pub(crate) read_offer: Option<usize>,
    /// A call panicked: the connection may be inconsistent.
    pub(crate) poisoned: bool,
}

/// Copies made for an event, each in an allocation of its own: growing
/// these vectors never moves what a pointer handed out points to.
#[derive(Default)]
struct Held {
    strings: Vec<Box<[u8]>>,
    headers: Vec<wsm_header_view>,
    subprotocols: Vec<wsm_str>,
}

impl Held {
    fn clear(&mut self) {
        self.strings.clear();
        self.headers.clear();
        self.subprotocols.clear();
    }

    /// A NUL-terminated copy of `s`.
    fn keep(&mut self, s: &[u8]) -> wsm_str {
        let mut copy = Vec::with_capacity(s.len() + 1);
        copy.extend_from_slice(s);
        copy.push(0);
        let copy = copy.into_boxed_slice();
        let ptr = copy.as_ptr().cast::<c_char>();
        self.strings.push(copy);
        wsm_str { ptr, len: s.len() }
    }

    fn keep_opt(&mut self, s: Option<&[u8]>) -> wsm_str {
        s.map_or(wsm_str::NONE, |s| self.keep(s))
    }

    /// Copies `headers` into the header array; returns it and its length.
    fn keep_headers<'a>(
        &mut self,
        headers: impl Iterator<Item = (&'a str, &'a [u8])>,
    ) -> (*const wsm_header_view, usize) {
        let mut views = core::mem::take(&mut self.headers);
        views.clear();
        for (name, value) in headers {
            let name = self.keep(name.as_bytes());
            let value = self.keep(value);
            views.push(wsm_header_view { name, value });
        }
        self.headers = views;
        (self.headers.as_ptr(), self.headers.len())
    }
}

fn kind_of(kind: MessageKind) -> wsm_message_kind {
    match kind {
        MessageKind::Text => WSM_TEXT,
        MessageKind::Binary => WSM_BINARY,
    }
}

/// A C message kind, checked.
pub(crate) fn message_kind(kind: wsm_message_kind) -> Result<MessageKind, Fail> {
    match kind {
        WSM_TEXT => Ok(MessageKind::Text),
        WSM_BINARY => Ok(MessageKind::Binary),
        other => Err(Fail::invalid(format!(
            "message kind {other} is neither WSM_TEXT nor WSM_BINARY"
        ))),
    }
}

fn payload(kind: wsm_message_kind, data: &[u8], first: bool, last: bool) -> wsm_payload_info {
    wsm_payload_info {
        kind,
        data: data.as_ptr(),
        len: data.len(),
        first,
        last,
    }
}

fn request_info(held: &mut Held, request: &wsmachine::Request) -> wsm_request_info {
    let target = held.keep(request.target().as_bytes());
    let path = held.keep(request.path().as_bytes());
    let query = held.keep_opt(request.query().map(str::as_bytes));
    let host = held.keep(request.host().as_bytes());
    let origin = held.keep_opt(request.origin().map(str::as_bytes));
    let (headers, header_count) = held.keep_headers(request.headers());
    let mut offered = core::mem::take(&mut held.subprotocols);
    offered.clear();
    for p in request.subprotocols() {
        offered.push(held.keep(p.as_bytes()));
    }
    held.subprotocols = offered;
    wsm_request_info {
        target,
        path,
        query,
        host,
        origin,
        headers,
        header_count,
        subprotocols: held.subprotocols.as_ptr(),
        subprotocol_count: held.subprotocols.len(),
    }
}

fn response_info(held: &mut Held, response: &Response) -> wsm_response_info {
    let reason = held.keep(response.reason().as_bytes());
    let (headers, header_count) = held.keep_headers(response.headers());
    let body = response.body();
    wsm_response_info {
        status: response.status(),
        reason,
        headers,
        header_count,
        body: body.as_ptr(),
        body_len: body.len(),
    }
}

/// The C view of `event`, pointing into it and into `held`; `None` for an
/// event this version of the C interface does not know.
fn describe(held: &mut Held, event: &Event, role: Role) -> Option<wsm_event> {
    let out = match event {
        Event::Request(request) => {
            let mut out = wsm_event::empty(WSM_EVENT_REQUEST);
            out.request = request_info(held, request);
            out
        }
        Event::Open(open) => {
            let mut out = wsm_event::empty(WSM_EVENT_OPEN);
            out.open = wsm_open_info {
                subprotocol: held.keep_opt(open.subprotocol.as_deref().map(str::as_bytes)),
                extensions: held.keep_opt(open.extensions.as_deref().map(str::as_bytes)),
            };
            if let Some(response) = &open.response {
                out.response = response_info(held, response);
            }
            out
        }
        Event::Message(message) => {
            let mut out = wsm_event::empty(WSM_EVENT_MESSAGE);
            out.payload = payload(kind_of(message.kind()), message.as_bytes(), true, true);
            out
        }
        Event::Chunk(chunk) => {
            let mut out = wsm_event::empty(WSM_EVENT_CHUNK);
            out.payload = payload(kind_of(chunk.kind), &chunk.data, chunk.first, chunk.last);
            out
        }
        Event::Ping(data) | Event::Pong(data) => {
            let kind = if matches!(event, Event::Ping(_)) {
                WSM_EVENT_PING
            } else {
                WSM_EVENT_PONG
            };
            let mut out = wsm_event::empty(kind);
            out.payload = payload(WSM_BINARY, data, true, true);
            out
        }
        Event::Error(error) => {
            let mut out = wsm_event::empty(WSM_EVENT_ERROR);
            let http_status = match (role, error) {
                (Role::Server, Error::Handshake(h)) if *h != HandshakeError::Eof => h.http_status(),
                _ => 0,
            };
            out.error = wsm_error_info {
                code: error.code().into(),
                message: held.keep(error.to_string().as_bytes()),
                close_code: error.close_code().map_or(0, CloseCode::as_u16),
                http_status,
            };
            if let Error::Handshake(HandshakeError::Rejected(response)) = error {
                out.response = response_info(held, response);
            }
            out
        }
        Event::Closed(closed) => {
            let mut out = wsm_event::empty(WSM_EVENT_CLOSED);
            out.closed = wsm_closed_info {
                code: closed.code.as_u16(),
                reason: held.keep(closed.reason.as_bytes()),
                clean: closed.clean,
                initiated_locally: closed.initiated_locally,
                sent_code: closed.sent.as_ref().map_or(0, |f| f.code.as_u16()),
                sent_reason: held.keep(
                    closed
                        .sent
                        .as_ref()
                        .map_or(&b""[..], |f| f.reason.as_bytes()),
                ),
            };
            out
        }
        _ => return None,
    };
    Some(out)
}

fn duration(nanos: u64) -> Option<Duration> {
    (nanos > 0).then(|| Duration::from_nanos(nanos))
}

fn nanos(d: Option<Duration>) -> u64 {
    d.map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The defaults, from the core crate's own.
pub(crate) fn default_config() -> wsm_config {
    let config = Config::default();
    let limits = config.limits;
    let (interval, timeout) = config
        .keepalive
        .map_or((None, None), |k| (Some(k.interval), Some(k.timeout)));
    wsm_config {
        struct_size: core::mem::size_of::<wsm_config>(),
        max_frame_size: limits.max_frame_size,
        max_message_size: limits.max_message_size,
        max_handshake_size: limits.max_handshake_size,
        max_headers: limits.max_headers,
        max_output_buffer: limits.max_output_buffer,
        max_input_buffer: limits.max_input_buffer,
        delivery: match config.delivery {
            Delivery::Messages => WSM_DELIVERY_MESSAGES,
            Delivery::Chunks => WSM_DELIVERY_CHUNKS,
        },
        auto_pong: config.auto_pong,
        handshake_timeout_ns: nanos(config.handshake_timeout),
        close_timeout_ns: nanos(config.close_timeout),
        keepalive_interval_ns: nanos(interval),
        keepalive_timeout_ns: nanos(timeout),
        origin_policy: WSM_ORIGIN_ANY,
        origin_allow_list: core::ptr::null(),
        origin_allow_count: 0,
        deflate: config.deflate.is_some(),
        // `DeflateConfig` keeps its fields private; `tests::defaults_match_the_core`
        // checks that these are its defaults.
        deflate_level: 6,
        deflate_memory: match Memory::default() {
            Memory::Tiny => WSM_DEFLATE_MEMORY_TINY,
            Memory::Medium => WSM_DEFLATE_MEMORY_MEDIUM,
            Memory::Large => WSM_DEFLATE_MEMORY_LARGE,
            _ => WSM_DEFLATE_MEMORY_SMALL,
        },
        deflate_server_max_window_bits: 0,
        deflate_client_max_window_bits: 0,
        deflate_server_no_context_takeover: false,
        deflate_client_no_context_takeover: false,
        deflate_min_size: 32,
    }
}

/// The deflate settings of a C configuration, checked.
pub(crate) fn deflate_config(c: &wsm_config) -> Result<Option<DeflateConfig>, Fail> {
    if !c.deflate {
        return Ok(None);
    }
    if c.deflate_level > 9 {
        return Err(Fail::invalid(format!(
            "deflate_level {} is not 0-9",
            c.deflate_level
        )));
    }
    let memory = match c.deflate_memory {
        WSM_DEFLATE_MEMORY_TINY => Memory::Tiny,
        WSM_DEFLATE_MEMORY_SMALL => Memory::Small,
        WSM_DEFLATE_MEMORY_MEDIUM => Memory::Medium,
        WSM_DEFLATE_MEMORY_LARGE => Memory::Large,
        other => return Err(Fail::invalid(format!("deflate_memory {other} is unknown"))),
    };
    let mut deflate = DeflateConfig::new()
        .memory(memory)
        .level(c.deflate_level)
        .server_no_context_takeover(c.deflate_server_no_context_takeover)
        .client_no_context_takeover(c.deflate_client_no_context_takeover)
        .min_size(c.deflate_min_size);
    // 0: the preset's window.
    for (name, bits) in [
        (
            "deflate_server_max_window_bits",
            c.deflate_server_max_window_bits,
        ),
        (
            "deflate_client_max_window_bits",
            c.deflate_client_max_window_bits,
        ),
    ] {
        if bits != 0 && !(8..=15).contains(&bits) {
            return Err(Fail::invalid(format!("{name} {bits} is not 8-15 (or 0)")));
        }
    }
    if c.deflate_server_max_window_bits != 0 {
        deflate = deflate.server_max_window_bits(c.deflate_server_max_window_bits);
    }
    if c.deflate_client_max_window_bits != 0 {
        deflate = deflate.client_max_window_bits(c.deflate_client_max_window_bits);
    }
    Ok(Some(deflate))
}

/// A core configuration from a C one (`allow_list`: the strings of
/// `origin_allow_list`, already read).
pub(crate) fn config(c: &wsm_config, allow_list: Vec<String>) -> Result<Config, Fail> {
    if c.max_input_buffer == 0 {
        return Err(Fail::invalid("max_input_buffer is 0"));
    }
    let delivery = match c.delivery {
        WSM_DELIVERY_MESSAGES => Delivery::Messages,
        WSM_DELIVERY_CHUNKS => Delivery::Chunks,
        other => return Err(Fail::invalid(format!("delivery {other} is unknown"))),
    };
    let origin_policy = match c.origin_policy {
        WSM_ORIGIN_ANY => OriginPolicy::Any,
        WSM_ORIGIN_SAME_HOST => OriginPolicy::SameHost,
        WSM_ORIGIN_ALLOW_LIST => OriginPolicy::AllowList(allow_list),
        other => return Err(Fail::invalid(format!("origin_policy {other} is unknown"))),
    };
    let keepalive = match (
        duration(c.keepalive_interval_ns),
        duration(c.keepalive_timeout_ns),
    ) {
        (None, _) => None,
        (Some(interval), Some(timeout)) => Some(Keepalive::new(interval, timeout)),
        (Some(_), None) => {
            return Err(Fail::invalid(
                "keepalive_timeout_ns is 0 while keepalive_interval_ns is set",
            ));
        }
    };
    let limits = Limits::new()
        .max_frame_size(c.max_frame_size)
        .max_message_size(c.max_message_size)
        .max_handshake_size(c.max_handshake_size)
        .max_headers(c.max_headers)
        .max_output_buffer(c.max_output_buffer)
        .max_input_buffer(c.max_input_buffer);
    Ok(Config::new()
        .limits(limits)
        .delivery(delivery)
        .auto_pong(c.auto_pong)
        .handshake_timeout(duration(c.handshake_timeout_ns))
        .close_timeout(duration(c.close_timeout_ns))
        .keepalive(keepalive)
        .origin_policy(origin_policy)
        .deflate(deflate_config(c)?))
}

/// A client connection for `uri`.
pub(crate) fn client(
    config: Config,
    uri: &str,
    subprotocols: Vec<String>,
    headers: Vec<(String, String)>,
) -> Result<Connection, Fail> {
    let mut request = ClientRequest::new(uri)?;
    for p in subprotocols {
        request = request.subprotocol(p);
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    Ok(Connection::client(config, &request)?)
}

/// What a handshake done elsewhere agreed.
pub(crate) fn agreement(subprotocol: Option<&str>, extensions: Option<&str>) -> Agreement {
    let mut agreed = Agreement::new();
    if let Some(p) = subprotocol {
        agreed = agreed.subprotocol(p);
    }
    if let Some(e) = extensions {
        agreed = agreed.extensions(e);
    }
    agreed
}

impl wsm_conn {
    pub(crate) fn new(conn: Connection) -> wsm_conn {
        wsm_conn {
            conn,
            event: None,
            held: Held::default(),
            read_offer: None,
            poisoned: false,
        }
    }

    /// The core connection.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    // ------------------------------------------------------------ inputs

    pub(crate) fn feed(&mut self, data: &[u8]) -> usize {
        self.conn.feed(data)
    }

    /// Room to read into; remembered for `commit_read`.
    pub(crate) fn read_buf(&mut self) -> (*mut u8, usize) {
        let buf = self.conn.read_buf();
        let offer = (buf.as_mut_ptr(), buf.len());
        self.read_offer = Some(offer.1);
        offer
    }

    /// `offer`: what the call before this one offered, if it was
    /// `read_buf`.
    pub(crate) fn commit_read(&mut self, n: usize, offer: Option<usize>) -> Result<(), Fail> {
        let Some(room) = offer else {
            return Err(Fail::new(
                WSM_ERR_NO_READ_BUFFER,
                "wsm_commit_read must follow wsm_read_buf, with no other call on the connection between them",
            ));
        };
        if n > room {
            return Err(Fail::invalid(format!(
                "{n} bytes committed, but wsm_read_buf offered {room}"
            )));
        }
        self.conn.commit_read(n);
        Ok(())
    }

    pub(crate) fn feed_eof(&mut self) {
        self.conn.feed_eof();
    }

    pub(crate) fn transport_error(&mut self) {
        self.conn.transport_error();
    }

    pub(crate) fn handle_timeout(&mut self, now: u64) {
        self.conn.handle_timeout(Instant::from_nanos(now));
    }

    // ----------------------------------------------------------- outputs

    /// The next event; the previous one is released.
    pub(crate) fn poll_event(&mut self) -> wsm_event {
        self.event = None;
        self.held.clear();
        let role = self.conn.role();
        loop {
            let Some(event) = self.conn.poll_event() else {
                return wsm_event::empty(WSM_EVENT_NONE);
            };
            let event = self.event.insert(event);
            if let Some(out) = describe(&mut self.held, event, role) {
                return out;
            }
            // An event kind this interface does not know: skip it.
            self.event = None;
            self.held.clear();
        }
    }

    pub(crate) fn output(&self) -> &[u8] {
        self.conn.output()
    }

    /// Fills `slices` with the pending runs; returns how many.
    pub(crate) fn output_vectored(&self, slices: &mut [wsm_slice]) -> usize {
        let mut n = 0;
        for (slot, chunk) in slices.iter_mut().zip(self.conn.output_chunks()) {
            *slot = wsm_slice {
                data: chunk.as_ptr(),
                len: chunk.len(),
            };
            n += 1;
        }
        n
    }

    pub(crate) fn consume_output(&mut self, n: usize) -> Result<(), Fail> {
        let pending = self.conn.output_len();
        if n > pending {
            return Err(Fail::invalid(format!(
                "{n} bytes reported written, but only {pending} are pending"
            )));
        }
        self.conn.consume_output(n);
        Ok(())
    }

    pub(crate) fn state(&self) -> wsm_state {
        match self.conn.state() {
            State::Connecting => WSM_STATE_CONNECTING,
            State::Open => WSM_STATE_OPEN,
            State::Closing => WSM_STATE_CLOSING,
            State::Closed => WSM_STATE_CLOSED,
        }
    }

    pub(crate) fn poll_timeout(&self) -> u64 {
        self.conn
            .poll_timeout()
            .map_or(WSM_NO_DEADLINE, Instant::as_nanos)
    }

    pub(crate) fn shrink_buffers(&mut self) {
        self.conn.shrink_buffers();
    }

    // ----------------------------------------------------------- actions

    /// The payload of the current event, if it has one.
    fn held_payload(&self) -> Option<Bytes> {
        match self.event.as_ref()? {
            Event::Message(m) => Some(m.clone().into_bytes()),
            Event::Chunk(c) => Some(c.data.clone()),
            Event::Ping(b) | Event::Pong(b) => Some(b.clone()),
            _ => None,
        }
    }

    /// `data` as `Bytes`: a share of the current event's payload, without a
    /// copy, when `data` lies inside it (an echo); a copy otherwise.
    fn bytes_of(&self, data: &[u8]) -> Bytes {
        if !data.is_empty()
            && let Some(held) = self.held_payload()
        {
            let base = held.as_ptr() as usize;
            let at = data.as_ptr() as usize;
            if at >= base && at + data.len() <= base + held.len() {
                return held.slice(at - base..at - base + data.len());
            }
        }
        Bytes::copy_from_slice(data)
    }

    fn message(&self, kind: MessageKind, data: &[u8]) -> Result<Message, Fail> {
        let bytes = self.bytes_of(data);
        Ok(match kind {
            MessageKind::Text => Message::Text(
                Utf8Bytes::try_from_bytes(bytes).map_err(|_| wsmachine::UsageError::InvalidUtf8)?,
            ),
            MessageKind::Binary => Message::Binary(bytes),
        })
    }

    pub(crate) fn send(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        compress: bool,
    ) -> Result<(), Fail> {
        let message = self.message(kind, data)?;
        let sent = if compress {
            self.conn.send(message)
        } else {
            self.conn.send_uncompressed(message)
        };
        sent.map_err(|e| e.error.into())
    }

    pub(crate) fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        last: bool,
    ) -> Result<(), Fail> {
        let bytes = self.bytes_of(data);
        self.conn
            .send_fragment(kind, bytes, last)
            .map_err(|e| e.error.into())
    }

    pub(crate) fn ping(&mut self, data: &[u8]) -> Result<(), Fail> {
        Ok(self.conn.ping(data)?)
    }

    pub(crate) fn pong(&mut self, data: &[u8]) -> Result<(), Fail> {
        Ok(self.conn.pong(data)?)
    }

    pub(crate) fn close(&mut self, code: u16, reason: &str) -> Result<(), Fail> {
        Ok(self.conn.close(CloseCode::new(code), reason)?)
    }

    pub(crate) fn fail(&mut self, code: u16, reason: &str) -> Result<(), Fail> {
        Ok(self.conn.fail(CloseCode::new(code), reason)?)
    }

    pub(crate) fn abort(&mut self) {
        self.conn.abort();
    }

    pub(crate) fn accept(
        &mut self,
        subprotocol: Option<&str>,
        headers: Vec<(String, String)>,
        flags: u32,
    ) -> Result<(), Fail> {
        if flags & !WSM_ACCEPT_NO_COMPRESSION != 0 {
            return Err(Fail::invalid(format!("unknown accept flags {flags:#x}")));
        }
        let mut accept = Accept::new();
        if let Some(p) = subprotocol {
            accept = accept.subprotocol(p);
        }
        for (name, value) in headers {
            accept = accept.header(name, value);
        }
        if flags & WSM_ACCEPT_NO_COMPRESSION != 0 {
            accept = accept.without_compression();
        }
        Ok(self.conn.accept(accept)?)
    }

    pub(crate) fn reject(
        &mut self,
        status: u16,
        headers: Vec<(String, String)>,
        body: &[u8],
    ) -> Result<(), Fail> {
        let mut reject = Reject::new(status).body(Bytes::copy_from_slice(body));
        for (name, value) in headers {
            reject = reject.header(name, value);
        }
        Ok(self.conn.reject(reject)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> wsm_conn {
        wsm_conn::new(Connection::server(Config::default()))
    }

    const UPGRADE: &[u8] =
        b"GET /chat?room=7 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n";

    /// A masked text frame from a client.
    fn client_text(text: &[u8]) -> Vec<u8> {
        let key = [1, 2, 3, 4];
        let mut frame = vec![0x81, 0x80 | u8::try_from(text.len()).unwrap()];
        frame.extend_from_slice(&key);
        frame.extend(text.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        frame
    }

    /// The string `s` points to, found among the handle's copies (each
    /// handed-out string starts one of them), read without `unsafe`.
    fn str_of(h: &wsm_conn, s: wsm_str) -> Option<String> {
        if s.ptr.is_null() {
            return None;
        }
        let copy = h.held.strings.iter().find(|c| c.as_ptr() == s.ptr.cast())?;
        assert_eq!(copy.len(), s.len + 1);
        Some(String::from_utf8(copy[..s.len].to_vec()).unwrap())
    }

    #[test]
    fn request_strings_are_nul_terminated_copies() {
        let mut h = server();
        assert_eq!(h.feed(UPGRADE), UPGRADE.len());
        let ev = h.poll_event();
        assert_eq!(ev.kind, WSM_EVENT_REQUEST);
        let r = ev.request;
        assert_eq!(str_of(&h, r.path).as_deref(), Some("/chat"));
        assert_eq!(str_of(&h, r.query).as_deref(), Some("room=7"));
        assert_eq!(str_of(&h, r.target).as_deref(), Some("/chat?room=7"));
        assert_eq!(str_of(&h, r.host).as_deref(), Some("example.com"));
        assert_eq!(str_of(&h, r.origin), None);
        assert_eq!(r.header_count, 6);
        assert_eq!(r.subprotocol_count, 2);
        assert_eq!(h.held.subprotocols.as_ptr(), r.subprotocols);
        assert_eq!(
            str_of(&h, h.held.subprotocols[1]).as_deref(),
            Some("superchat")
        );
        assert_eq!(str_of(&h, h.held.headers[0].name).as_deref(), Some("Host"));
        // Every held string ends in NUL, after exactly `len` bytes.
        for s in &h.held.strings {
            assert_eq!(s.last(), Some(&0));
        }
        assert_eq!(h.held.strings[0].len(), r.target.len + 1);
    }

    #[test]
    fn an_echo_shares_the_received_payload() {
        let mut h = server();
        h.feed(UPGRADE);
        assert_eq!(h.poll_event().kind, WSM_EVENT_REQUEST);
        h.accept(Some("chat"), Vec::new(), 0).unwrap();
        assert_eq!(h.poll_event().kind, WSM_EVENT_OPEN);
        let pending = h.conn().output_len();
        h.consume_output(pending).unwrap();
        h.feed(&client_text(b"hello there"));
        let ev = h.poll_event();
        assert_eq!((ev.kind, ev.payload.kind), (WSM_EVENT_MESSAGE, WSM_TEXT));
        let Some(Event::Message(m)) = &h.event else {
            panic!()
        };
        let received = m.as_bytes();
        assert_eq!(ev.payload.data, received.as_ptr());
        // A sub-slice of the payload is shared, not copied.
        let shared = h.bytes_of(&received[6..]);
        assert_eq!(shared.as_ptr(), received[6..].as_ptr());
        let copied = h.bytes_of(b"there");
        assert_ne!(copied.as_ptr(), shared.as_ptr());
        let received = received.to_vec();
        h.send(MessageKind::Text, &received, true).unwrap();
        assert_eq!(&h.output()[2..], b"hello there");
    }

    #[test]
    fn commit_read_needs_its_read_buf() {
        let mut h = server();
        assert_eq!(
            h.commit_read(1, None).unwrap_err().code,
            WSM_ERR_NO_READ_BUFFER
        );
        let (_, room) = h.read_buf();
        assert!(room >= UPGRADE.len());
        assert_eq!(
            h.commit_read(room + 1, h.read_offer).unwrap_err().code,
            WSM_ERR_INVALID_ARGUMENT
        );
        assert!(h.commit_read(0, h.read_offer).is_ok());
    }

    #[test]
    fn consume_output_checks_what_is_pending() {
        let mut h = wsm_conn::new(
            Connection::upgraded_server(Config::default(), &Agreement::new()).unwrap(),
        );
        h.ping(b"x").unwrap();
        let n = h.output().len();
        assert_eq!(
            h.consume_output(n + 1).unwrap_err().code,
            WSM_ERR_INVALID_ARGUMENT
        );
        h.consume_output(n).unwrap();
        assert_eq!(h.output(), b"");
    }

    #[test]
    fn defaults_match_the_core() {
        let c = default_config();
        let core = Config::default();
        let back = config(&c, Vec::new()).unwrap();
        assert_eq!(back.limits, core.limits);
        assert_eq!(back.delivery, core.delivery);
        assert_eq!(back.auto_pong, core.auto_pong);
        assert_eq!(back.handshake_timeout, core.handshake_timeout);
        assert_eq!(back.close_timeout, core.close_timeout);
        assert_eq!(back.keepalive, core.keepalive);
        assert_eq!(back.deflate, core.deflate);
        assert_eq!(deflate_config(&c).unwrap(), Some(DeflateConfig::default()));
        // A preset sets the windows unless they are given.
        let large = wsm_config {
            deflate_memory: WSM_DEFLATE_MEMORY_LARGE,
            ..c
        };
        assert_eq!(
            deflate_config(&large).unwrap(),
            Some(DeflateConfig::new().memory(Memory::Large))
        );
        let nine = wsm_config {
            deflate_client_max_window_bits: 9,
            ..large
        };
        assert_eq!(
            deflate_config(&nine).unwrap(),
            Some(
                DeflateConfig::new()
                    .memory(Memory::Large)
                    .client_max_window_bits(9)
            )
        );
    }

    #[test]
    fn config_values_are_checked() {
        let base = default_config();
        let bad = [
            wsm_config {
                max_input_buffer: 0,
                ..base
            },
            wsm_config {
                delivery: 9,
                ..base
            },
            wsm_config {
                origin_policy: 3,
                ..base
            },
            wsm_config {
                keepalive_interval_ns: 1,
                keepalive_timeout_ns: 0,
                ..base
            },
            wsm_config {
                deflate_level: 10,
                ..base
            },
            wsm_config {
                deflate_client_max_window_bits: 7,
                ..base
            },
            wsm_config {
                deflate_server_max_window_bits: 16,
                ..base
            },
            wsm_config {
                deflate_memory: 4,
                ..base
            },
        ];
        for c in bad {
            assert_eq!(
                config(&c, Vec::new()).unwrap_err().code,
                WSM_ERR_INVALID_ARGUMENT,
                "{c:?}"
            );
        }
        let off = wsm_config {
            deflate: false,
            deflate_level: 99,
            keepalive_interval_ns: 30_000_000_000,
            keepalive_timeout_ns: 10_000_000_000,
            handshake_timeout_ns: 0,
            ..base
        };
        let c = config(&off, Vec::new()).unwrap();
        assert_eq!(c.deflate, None);
        assert_eq!(c.handshake_timeout, None);
        assert_eq!(
            c.keepalive,
            Some(Keepalive::new(
                Duration::from_secs(30),
                Duration::from_secs(10)
            ))
        );
    }

    #[test]
    fn message_kinds_are_checked() {
        assert!(message_kind(WSM_TEXT).is_ok());
        assert!(message_kind(WSM_BINARY).is_ok());
        assert_eq!(message_kind(0).unwrap_err().code, WSM_ERR_INVALID_ARGUMENT);
        assert_eq!(message_kind(3).unwrap_err().code, WSM_ERR_INVALID_ARGUMENT);
    }
}
