//! Every type, enumeration value and constant the C header declares.
//!
//! Enumerations are `uint32_t` type aliases with `#define`d values rather
//! than Rust enums: a value the caller passes in is checked, never assumed
//! to be in range.

use core::ffi::{c_char, c_int};
use core::ptr;

// ------------------------------------------------------------------ enums

/// What an event is (`wsm_event.kind`).
pub type wsm_event_kind = u32;
/// No event: nothing more happens until more input, time or an action.
pub const WSM_EVENT_NONE: wsm_event_kind = 0;
/// Server: an upgrade request arrived (`wsm_event.request`). Answer it
/// with `wsm_accept` or `wsm_reject`; no other event comes until then.
pub const WSM_EVENT_REQUEST: wsm_event_kind = 1;
/// The opening handshake finished (`wsm_event.open`; a client also gets
/// the server's answer in `wsm_event.response`).
pub const WSM_EVENT_OPEN: wsm_event_kind = 2;
/// A whole data message (`wsm_event.payload`).
pub const WSM_EVENT_MESSAGE: wsm_event_kind = 3;
/// A piece of a data message, with `WSM_DELIVERY_CHUNKS`
/// (`wsm_event.payload`, with `first` and `last`).
pub const WSM_EVENT_CHUNK: wsm_event_kind = 4;
/// A ping arrived (`wsm_event.payload`); already answered when `auto_pong`
/// is on.
pub const WSM_EVENT_PING: wsm_event_kind = 5;
/// A pong arrived (`wsm_event.payload`).
pub const WSM_EVENT_PONG: wsm_event_kind = 6;
/// The peer, a timer or the transport failed the connection
/// (`wsm_event.error`). The connection has already answered as RFC 6455
/// requires; `WSM_EVENT_CLOSED` follows.
pub const WSM_EVENT_ERROR: wsm_event_kind = 7;
/// The WebSocket connection is closed (`wsm_event.closed`). Always the
/// last event. Keep driving the connection until `wsm_is_finished`.
pub const WSM_EVENT_CLOSED: wsm_event_kind = 8;

/// Text or binary.
pub type wsm_message_kind = u32;
/// UTF-8 text (opcode 0x1).
pub const WSM_TEXT: wsm_message_kind = 1;
/// Arbitrary bytes (opcode 0x2).
pub const WSM_BINARY: wsm_message_kind = 2;

/// The connection's state (RFC 6455 §4, §7), from `wsm_conn_state`.
pub type wsm_state = u32;
/// The opening handshake is in progress.
pub const WSM_STATE_CONNECTING: wsm_state = 0;
/// Messages flow both ways.
pub const WSM_STATE_OPEN: wsm_state = 1;
/// This side sent a Close frame and waits for the peer's.
pub const WSM_STATE_CLOSING: wsm_state = 2;
/// `WSM_EVENT_CLOSED` was queued; drive on until `wsm_is_finished`.
pub const WSM_STATE_CLOSED: wsm_state = 3;

/// How received messages are delivered (`wsm_config.delivery`).
pub type wsm_delivery = u32;
/// Whole messages: `WSM_EVENT_MESSAGE`.
pub const WSM_DELIVERY_MESSAGES: wsm_delivery = 0;
/// Pieces as they arrive, in constant memory: `WSM_EVENT_CHUNK`. Each text
/// chunk is valid UTF-8 on its own.
pub const WSM_DELIVERY_CHUNKS: wsm_delivery = 1;

/// Which `Origin` headers a server accepts (`wsm_config.origin_policy`).
/// A refused request is answered with 403 and never reaches the
/// application.
pub type wsm_origin_policy = u32;
/// Any origin, or none.
pub const WSM_ORIGIN_ANY: wsm_origin_policy = 0;
/// No `Origin`, or one whose host (and port) equals the `Host` header.
pub const WSM_ORIGIN_SAME_HOST: wsm_origin_policy = 1;
/// No `Origin`, or one equal (ASCII case-insensitively) to an entry of
/// `wsm_config.origin_allow_list`, e.g. `"https://example.com"`.
pub const WSM_ORIGIN_ALLOW_LIST: wsm_origin_policy = 2;

/// How much memory permessage-deflate may use per connection and direction
/// (`wsm_config.deflate_memory`): the window and hash sizes of the
/// compressor, and the window a peer is asked to use.
pub type wsm_deflate_memory = u32;
/// 1 KiB windows (about 5 KiB of state): very many mostly idle connections.
pub const WSM_DEFLATE_MEMORY_TINY: wsm_deflate_memory = 0;
/// 4 KiB windows (about 24 KiB of state), the default.
pub const WSM_DEFLATE_MEMORY_SMALL: wsm_deflate_memory = 1;
/// 8 KiB windows (about 48 KiB of state).
pub const WSM_DEFLATE_MEMORY_MEDIUM: wsm_deflate_memory = 2;
/// 32 KiB windows (about 192 KiB of state), the largest DEFLATE has.
pub const WSM_DEFLATE_MEMORY_LARGE: wsm_deflate_memory = 3;

/// `wsm_accept` flag: decline permessage-deflate even if offered.
pub const WSM_ACCEPT_NO_COMPRESSION: u32 = 1;

/// `wsm_poll_timeout` when no timer runs.
pub const WSM_NO_DEADLINE: u64 = u64::MAX;

// ------------------------------------------------------------ status codes

/// Success.
pub const WSM_OK: c_int = 0;

// 100-199: the application asked for something the connection cannot do
// now, or gave it something invalid. Nothing changed.

/// The opening handshake has not finished.
pub const WSM_ERR_NOT_OPEN: c_int = 100;
/// A Close frame was already sent or received: no more data may be sent.
pub const WSM_ERR_CLOSING: c_int = 101;
/// The connection is closed.
pub const WSM_ERR_CLOSED: c_int = 102;
/// The output buffer is full: write pending output and send again.
/// Nothing was queued.
pub const WSM_ERR_OUTPUT_FULL: c_int = 103;
/// The frame can never fit in the output buffer (`max_output_buffer`):
/// raise the limit or send fragments.
pub const WSM_ERR_MESSAGE_TOO_LARGE: c_int = 104;
/// A ping, pong or close payload over 125 bytes (a close reason over 123).
pub const WSM_ERR_CONTROL_PAYLOAD_TOO_LONG: c_int = 105;
/// The close code may not be sent (1000-1003, 1007-1014, 3000-4999 may).
pub const WSM_ERR_INVALID_CLOSE_CODE: c_int = 106;
/// A fragment continued no message, or a new message started while a
/// fragmented one is unfinished.
pub const WSM_ERR_FRAGMENT_ORDER: c_int = 107;
/// A fragment's kind differs from its message's.
pub const WSM_ERR_FRAGMENT_KIND: c_int = 108;
/// Text to send is not valid UTF-8 (across fragments too).
pub const WSM_ERR_INVALID_UTF8: c_int = 109;
/// `wsm_accept` or `wsm_reject` without a pending request.
pub const WSM_ERR_NO_PENDING_REQUEST: c_int = 110;
/// The chosen subprotocol was not offered by the client.
pub const WSM_ERR_SUBPROTOCOL_NOT_OFFERED: c_int = 111;
/// A header name or value is not valid HTTP (CR, LF, NUL, ...).
pub const WSM_ERR_INVALID_HEADER: c_int = 112;
/// The header is one the connection writes itself (`Upgrade`,
/// `Connection`, `Sec-WebSocket-*`, `Content-Length`, `Transfer-Encoding`).
pub const WSM_ERR_MANAGED_HEADER: c_int = 113;
/// Not a valid rejection status (200-599 except 204 and 304).
pub const WSM_ERR_INVALID_STATUS: c_int = 114;
/// Not a valid `ws://` or `wss://` URI.
pub const WSM_ERR_INVALID_URI: c_int = 115;
/// A subprotocol name is empty or not an HTTP token.
pub const WSM_ERR_INVALID_SUBPROTOCOL: c_int = 116;
/// An extension agreement this configuration cannot use.
pub const WSM_ERR_INVALID_EXTENSIONS: c_int = 117;
/// The operating system could not provide entropy.
pub const WSM_ERR_ENTROPY: c_int = 118;
/// A fragment of a compressed message could not be compressed.
pub const WSM_ERR_COMPRESSION_FAILED: c_int = 119;

// 200-299: the peer, a timer or the transport failed the connection
// (`wsm_event.error.code`).

/// A reserved opcode. Close code 1002.
pub const WSM_ERR_PROTOCOL_RESERVED_OPCODE: c_int = 200;
/// A control frame over 125 bytes. Close code 1002.
pub const WSM_ERR_PROTOCOL_CONTROL_TOO_LONG: c_int = 201;
/// A fragmented control frame. Close code 1002.
pub const WSM_ERR_PROTOCOL_FRAGMENTED_CONTROL: c_int = 202;
/// A 64-bit length with its top bit set. Close code 1002.
pub const WSM_ERR_PROTOCOL_LENGTH_OVERFLOW: c_int = 203;
/// Reserved bits set that no extension defines. Close code 1002.
pub const WSM_ERR_PROTOCOL_RESERVED_BITS: c_int = 204;
/// A client sent an unmasked frame. Close code 1002.
pub const WSM_ERR_PROTOCOL_UNMASKED_FRAME: c_int = 205;
/// A server sent a masked frame. Close code 1002.
pub const WSM_ERR_PROTOCOL_MASKED_FRAME: c_int = 206;
/// A continuation frame without a message in progress. Close code 1002.
pub const WSM_ERR_PROTOCOL_UNEXPECTED_CONTINUATION: c_int = 207;
/// A new message before the previous one finished. Close code 1002.
pub const WSM_ERR_PROTOCOL_EXPECTED_CONTINUATION: c_int = 208;
/// A Close frame with a one-byte payload. Close code 1002.
pub const WSM_ERR_PROTOCOL_INVALID_CLOSE_FRAME: c_int = 209;
/// A Close frame with a reserved or undefined code. Close code 1002.
pub const WSM_ERR_PROTOCOL_INVALID_CLOSE_CODE: c_int = 210;
/// Invalid UTF-8 in a text message or close reason. Close code 1007.
pub const WSM_ERR_PEER_INVALID_UTF8: c_int = 220;
/// A frame over `max_frame_size`. Close code 1009.
pub const WSM_ERR_LIMIT_FRAME_SIZE: c_int = 230;
/// A message over `max_message_size`. Close code 1009.
pub const WSM_ERR_LIMIT_MESSAGE_SIZE: c_int = 231;
/// A compressed message could not be inflated. Close code 1007.
pub const WSM_ERR_BAD_COMPRESSED_DATA: c_int = 240;
/// The opening handshake did not finish in time.
pub const WSM_ERR_TIMEOUT_HANDSHAKE: c_int = 250;
/// The peer did not complete the closing handshake in time.
pub const WSM_ERR_TIMEOUT_CLOSE: c_int = 251;
/// No traffic after a keepalive ping. Close code 1011.
pub const WSM_ERR_TIMEOUT_KEEPALIVE: c_int = 252;
/// The driver reported a transport failure (`wsm_transport_error`).
pub const WSM_ERR_TRANSPORT: c_int = 260;

// 300-399: the opening handshake failed (`wsm_event.error.code`). A server
// has answered with `wsm_event.error.http_status`.

/// Not well-formed HTTP/1.1 (or a bare-LF line end).
pub const WSM_ERR_MALFORMED_HTTP: c_int = 300;
/// The request method is not GET.
pub const WSM_ERR_METHOD_NOT_GET: c_int = 301;
/// Not HTTP/1.1.
pub const WSM_ERR_NOT_HTTP11: c_int = 302;
/// The request target is neither a path nor an absolute URI.
pub const WSM_ERR_INVALID_TARGET: c_int = 303;
/// A required header is missing, repeated or wrong.
pub const WSM_ERR_BAD_HEADER: c_int = 304;
/// `Sec-WebSocket-Version` is missing or not 13 (answered with 426).
pub const WSM_ERR_UNSUPPORTED_VERSION: c_int = 305;
/// The upgrade request has a body.
pub const WSM_ERR_REQUEST_HAS_BODY: c_int = 306;
/// The Origin policy refused the request (answered with 403).
pub const WSM_ERR_ORIGIN_REJECTED: c_int = 307;
/// The head is over `max_handshake_size` (answered with 431).
pub const WSM_ERR_HANDSHAKE_TOO_LARGE: c_int = 308;
/// The head has more than `max_headers` headers (answered with 431).
pub const WSM_ERR_TOO_MANY_HEADERS: c_int = 309;
/// Client: the server answered with a status other than 101; the answer
/// is in `wsm_event.response`.
pub const WSM_ERR_REJECTED: c_int = 310;
/// Client: `Sec-WebSocket-Accept` does not match the key.
pub const WSM_ERR_BAD_ACCEPT: c_int = 311;
/// Client: the server chose a subprotocol that was not offered.
pub const WSM_ERR_UNEXPECTED_SUBPROTOCOL: c_int = 312;
/// Client: the server agreed to an extension that was not offered.
pub const WSM_ERR_UNEXPECTED_EXTENSION: c_int = 313;
/// The transport closed during the handshake.
pub const WSM_ERR_HANDSHAKE_EOF: c_int = 314;

// 900-999: the C interface itself.

/// A required pointer argument is NULL.
pub const WSM_ERR_NULL_ARGUMENT: c_int = 900;
/// An argument is out of range: an unknown enumeration value or flag, a
/// length over `PTRDIFF_MAX`, more bytes than offered, a configuration
/// value outside its range.
pub const WSM_ERR_INVALID_ARGUMENT: c_int = 901;
/// A string argument is not valid UTF-8.
pub const WSM_ERR_NOT_UTF8: c_int = 902;
/// The `wsm_config` was not filled by `wsm_config_default` of this
/// library version (its `struct_size` differs).
pub const WSM_ERR_CONFIG_VERSION: c_int = 903;
/// `wsm_commit_read` without a `wsm_read_buf` right before it.
pub const WSM_ERR_NO_READ_BUFFER: c_int = 904;
/// An earlier call on this handle failed internally; only
/// `wsm_conn_free` may be called on it.
pub const WSM_ERR_POISONED: c_int = 905;
/// An internal error (a bug): the call was stopped before it could cross
/// into C, and the handle is poisoned.
pub const WSM_ERR_INTERNAL: c_int = 999;

// ------------------------------------------------------------------ structs

/// A string handed out by the library: `len` bytes at `ptr`, always
/// followed by a NUL byte, so `ptr` is a C string too. An absent value
/// (no query, no `Origin`, no subprotocol) has `ptr == NULL` and `len == 0`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct wsm_str {
    /// The bytes, NUL-terminated; NULL when absent.
    pub ptr: *const c_char,
    /// The length, without the NUL.
    pub len: usize,
}

impl wsm_str {
    /// The absent string.
    pub(crate) const NONE: wsm_str = wsm_str {
        ptr: ptr::null(),
        len: 0,
    };
}

/// A header handed out by the library (names as sent; values are bytes
/// that are usually ASCII).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct wsm_header_view {
    /// The name.
    pub name: wsm_str,
    /// The value.
    pub value: wsm_str,
}

/// A header the application gives (`wsm_client_new`, `wsm_accept`,
/// `wsm_reject`): two NUL-terminated UTF-8 strings, copied by the call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wsm_header {
    /// The name, e.g. `"Set-Cookie"`.
    pub name: *const c_char,
    /// The value.
    pub value: *const c_char,
}

/// One run of pending output, for `wsm_output_vectored`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct wsm_slice {
    /// The bytes.
    pub data: *const u8,
    /// How many.
    pub len: usize,
}

impl wsm_slice {
    /// An empty slice.
    pub(crate) const EMPTY: wsm_slice = wsm_slice {
        data: ptr::null(),
        len: 0,
    };
}

/// Configuration of a connection: every limit, timer and policy. Fill it
/// with `wsm_config_default`, change what you need, pass it to a `*_new`
/// function (which copies it; the struct and the strings it points to may
/// be freed after the call).
///
/// Durations are in nanoseconds; 0 turns a timer off.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wsm_config {
    /// `sizeof(wsm_config)`, set by `wsm_config_default`: a struct that was
    /// not filled by it, or by another version of the library, is refused
    /// with `WSM_ERR_CONFIG_VERSION`.
    pub struct_size: usize,
    /// The largest frame payload accepted (default 16 MiB); more: close
    /// 1009. `UINT64_MAX`: no limit.
    pub max_frame_size: u64,
    /// The largest message accepted, over all its fragments, after
    /// decompression (default 16 MiB); more: close 1009. `UINT64_MAX`: no
    /// limit.
    pub max_message_size: u64,
    /// The largest HTTP head of the opening handshake (default 32 KiB);
    /// more: HTTP 431.
    pub max_handshake_size: usize,
    /// The most header fields in the opening handshake (default 64).
    pub max_headers: usize,
    /// How many bytes may wait in the output buffer (default 16 MiB +
    /// 4 KiB); a send past it fails with `WSM_ERR_OUTPUT_FULL`.
    pub max_output_buffer: usize,
    /// How many received bytes may wait unprocessed (default 64 KiB, at
    /// least 1); also the size of the buffer `wsm_read_buf` offers.
    pub max_input_buffer: usize,
    /// `WSM_DELIVERY_MESSAGES` (default) or `WSM_DELIVERY_CHUNKS`.
    pub delivery: wsm_delivery,
    /// Answer pings automatically (default true).
    pub auto_pong: bool,
    /// Fail the opening handshake after this long (default 10 s).
    pub handshake_timeout_ns: u64,
    /// How long the closing handshake and the teardown after it may take
    /// (default 5 s).
    pub close_timeout_ns: u64,
    /// Send a ping after this long without incoming traffic (default 0:
    /// no keepalive).
    pub keepalive_interval_ns: u64,
    /// With keepalive on: fail the connection (close 1011) if nothing
    /// arrives this long after the ping (must not be 0 then).
    pub keepalive_timeout_ns: u64,
    /// A `WSM_ORIGIN_*` value (default `WSM_ORIGIN_ANY`).
    pub origin_policy: wsm_origin_policy,
    /// With `WSM_ORIGIN_ALLOW_LIST`: `origin_allow_count` NUL-terminated
    /// origins, e.g. `"https://example.com"`.
    pub origin_allow_list: *const *const c_char,
    /// How many entries `origin_allow_list` has.
    pub origin_allow_count: usize,
    /// permessage-deflate (RFC 7692): offered by a client, accepted by a
    /// server (default true).
    pub deflate: bool,
    /// Compression level, 0-9 (default 6).
    pub deflate_level: u32,
    /// A `WSM_DEFLATE_MEMORY_*` preset (default `WSM_DEFLATE_MEMORY_SMALL`).
    pub deflate_memory: wsm_deflate_memory,
    /// The largest window the server compresses with, 8-15; 0 (the
    /// default) takes it from `deflate_memory`.
    pub deflate_server_max_window_bits: u8,
    /// The largest window the client compresses with, 8-15; 0 (the
    /// default) takes it from `deflate_memory`.
    pub deflate_client_max_window_bits: u8,
    /// The server resets its compressor after every message (default
    /// false).
    pub deflate_server_no_context_takeover: bool,
    /// The client resets its compressor after every message (default
    /// false).
    pub deflate_client_no_context_takeover: bool,
    /// Messages shorter than this are sent uncompressed (default 32).
    pub deflate_min_size: usize,
}

/// `WSM_EVENT_REQUEST`: the client's upgrade request. Every string points
/// into the event.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wsm_request_info {
    /// The request target as sent, e.g. `/chat?room=7`.
    pub target: wsm_str,
    /// The path, e.g. `/chat`.
    pub path: wsm_str,
    /// The query after `?`, if any.
    pub query: wsm_str,
    /// The `Host` header.
    pub host: wsm_str,
    /// The `Origin` header, if any.
    pub origin: wsm_str,
    /// Every header, in order.
    pub headers: *const wsm_header_view,
    /// How many headers.
    pub header_count: usize,
    /// The subprotocols offered, most preferred first.
    pub subprotocols: *const wsm_str,
    /// How many subprotocols.
    pub subprotocol_count: usize,
}

/// An HTTP answer from the server: a client's `WSM_EVENT_OPEN` (status
/// 101), or `WSM_EVENT_ERROR` with `WSM_ERR_REJECTED` (any other status,
/// with its body, e.g. to follow a redirect).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wsm_response_info {
    /// The HTTP status; 0 when the event carries no answer.
    pub status: u16,
    /// The reason phrase.
    pub reason: wsm_str,
    /// Every header, in order.
    pub headers: *const wsm_header_view,
    /// How many headers.
    pub header_count: usize,
    /// The body of a rejection (not NUL-terminated; never NULL when
    /// `status` is set).
    pub body: *const u8,
    /// The body's length.
    pub body_len: usize,
}

/// `WSM_EVENT_OPEN`: what the handshake agreed.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wsm_open_info {
    /// The agreed subprotocol, if any.
    pub subprotocol: wsm_str,
    /// The agreed `Sec-WebSocket-Extensions` value, if any.
    pub extensions: wsm_str,
}

/// `WSM_EVENT_MESSAGE`, `WSM_EVENT_CHUNK`, `WSM_EVENT_PING`,
/// `WSM_EVENT_PONG`: the payload (not NUL-terminated).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wsm_payload_info {
    /// `WSM_TEXT` or `WSM_BINARY` (`WSM_BINARY` for pings and pongs). Text
    /// is valid UTF-8.
    pub kind: wsm_message_kind,
    /// The bytes; never NULL, even when `len` is 0.
    pub data: *const u8,
    /// How many.
    pub len: usize,
    /// `WSM_EVENT_CHUNK`: the first chunk of a message (true for a whole
    /// message).
    pub first: bool,
    /// `WSM_EVENT_CHUNK`: the last chunk of the message (true for a whole
    /// message).
    pub last: bool,
}

/// `WSM_EVENT_ERROR`: why the connection failed.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wsm_error_info {
    /// A `WSM_ERR_*` code, 200-399.
    pub code: c_int,
    /// A description for logs.
    pub message: wsm_str,
    /// The close code this error calls for (1002, 1007, 1009, 1011), sent
    /// unless a Close frame was already sent; 0 for none.
    pub close_code: u16,
    /// Server, handshake errors: the HTTP status it answered with; 0
    /// otherwise.
    pub http_status: u16,
}

/// `WSM_EVENT_CLOSED`: how the connection ended (RFC 6455 §7.1.5).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wsm_closed_info {
    /// The peer's close code; 1005 if its Close frame had none; 1006 if no
    /// Close frame was received.
    pub code: u16,
    /// The reason in the peer's Close frame (empty, not absent, otherwise).
    pub reason: wsm_str,
    /// Both Close frames were exchanged.
    pub clean: bool,
    /// This side ended the connection first (`wsm_close`, `wsm_fail`,
    /// `wsm_abort`, or failing the connection because of a peer's error).
    pub initiated_locally: bool,
    /// The code of the Close frame this side sent; 0 if none was sent (or
    /// one without a code).
    pub sent_code: u16,
    /// The reason of the Close frame this side sent.
    pub sent_reason: wsm_str,
}

/// An event from `wsm_poll_event`: `kind` says which member is filled;
/// the others are zero.
///
/// Every pointer in it stays valid until the next `wsm_poll_event` or
/// `wsm_conn_free` on the same connection: other calls (sending, feeding,
/// writing) leave it alone, so a payload can be sent back as it is, without
/// a copy.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wsm_event {
    /// A `WSM_EVENT_*` value.
    pub kind: wsm_event_kind,
    /// `WSM_EVENT_REQUEST`.
    pub request: wsm_request_info,
    /// `WSM_EVENT_OPEN`.
    pub open: wsm_open_info,
    /// A client's `WSM_EVENT_OPEN`; `WSM_EVENT_ERROR` with
    /// `WSM_ERR_REJECTED`.
    pub response: wsm_response_info,
    /// `WSM_EVENT_MESSAGE`, `WSM_EVENT_CHUNK`, `WSM_EVENT_PING`,
    /// `WSM_EVENT_PONG`.
    pub payload: wsm_payload_info,
    /// `WSM_EVENT_ERROR`.
    pub error: wsm_error_info,
    /// `WSM_EVENT_CLOSED`.
    pub closed: wsm_closed_info,
}

impl wsm_event {
    /// An event of `kind` with every member zero.
    pub fn empty(kind: wsm_event_kind) -> wsm_event {
        wsm_event {
            kind,
            request: wsm_request_info {
                target: wsm_str::NONE,
                path: wsm_str::NONE,
                query: wsm_str::NONE,
                host: wsm_str::NONE,
                origin: wsm_str::NONE,
                headers: ptr::null(),
                header_count: 0,
                subprotocols: ptr::null(),
                subprotocol_count: 0,
            },
            open: wsm_open_info {
                subprotocol: wsm_str::NONE,
                extensions: wsm_str::NONE,
            },
            response: wsm_response_info {
                status: 0,
                reason: wsm_str::NONE,
                headers: ptr::null(),
                header_count: 0,
                body: ptr::null(),
                body_len: 0,
            },
            payload: wsm_payload_info {
                kind: 0,
                data: ptr::null(),
                len: 0,
                first: false,
                last: false,
            },
            error: wsm_error_info {
                code: 0,
                message: wsm_str::NONE,
                close_code: 0,
                http_status: 0,
            },
            closed: wsm_closed_info {
                code: 0,
                reason: wsm_str::NONE,
                clean: false,
                initiated_locally: false,
                sent_code: 0,
                sent_reason: wsm_str::NONE,
            },
        }
    }
}
