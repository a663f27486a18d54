//! The C functions: the only module with `unsafe` code.
//!
//! Each function turns its pointers into references, slices and strings
//! (checking for NULL, lengths over `PTRDIFF_MAX` and invalid UTF-8), calls
//! the safe code of `handle.rs`, and runs inside `catch_unwind`, so that no
//! panic crosses into C: a panic becomes `WSM_ERR_INTERNAL` and poisons the
//! handle.
//!
//! The contract every `# Safety` section refers to: a pointer argument is
//! NULL or valid for what the function does with it (reads of `len` bytes,
//! a NUL-terminated string, an array of `count` elements, a write of one
//! value), for the duration of the call; `conn` is NULL or a handle
//! returned by a `*_new` function and not yet freed, which no other thread
//! uses during the call.

#![allow(
    unsafe_code,
    reason = "the C boundary: raw pointers in, raw pointers out; every block says why it is sound"
)]

use std::boxed::Box;
use std::ffi::CStr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::string::{String, ToString};
use std::vec::Vec;

use core::ffi::{c_char, c_int, c_void};
use core::ptr;

use wsmachine::{Config, Connection};

use crate::handle::{self, message_kind, wsm_conn};
use crate::status::{self, Fail};
use crate::types::*;

// ------------------------------------------------------------------ guards

/// Runs `f`; a panic is recorded as `WSM_ERR_INTERNAL` and `on_panic()` is
/// returned instead.
fn guard<R>(on_panic: impl FnOnce() -> R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            // Recording allocates; it cannot panic short of running out of
            // memory, which aborts rather than unwinds.
            let _ = catch_unwind(AssertUnwindSafe(|| Fail::internal(&*payload).record()));
            on_panic()
        }
    }
}

/// Runs `f` and turns its result into a status code.
fn status(f: impl FnOnce() -> Result<(), Fail>) -> c_int {
    guard(
        || WSM_ERR_INTERNAL,
        || match f() {
            Ok(()) => WSM_OK,
            Err(fail) => fail.record(),
        },
    )
}

fn poisoned() -> Fail {
    Fail::new(
        WSM_ERR_POISONED,
        "an earlier call on this connection failed internally; only wsm_conn_free may be called",
    )
}

/// Runs `f` on the handle behind `conn`, with what the call before offered
/// to read into (see `wsm_read_buf`). A panic poisons the handle.
///
/// # Safety
///
/// `conn` is NULL or a live handle no other thread uses during the call.
unsafe fn with_conn(
    conn: *mut wsm_conn,
    f: impl FnOnce(&mut wsm_conn, Option<usize>) -> Result<(), Fail>,
) -> c_int {
    guard(
        || WSM_ERR_INTERNAL,
        || {
            // SAFETY: by this function's contract, `conn` is NULL or points
            // to a live handle that nothing else accesses during the call.
            let Some(h) = (unsafe { conn.as_mut() }) else {
                return Fail::null("conn").record();
            };
            if h.poisoned {
                return poisoned().record();
            }
            let offer = h.read_offer.take();
            match catch_unwind(AssertUnwindSafe(|| f(&mut *h, offer))) {
                Ok(Ok(())) => WSM_OK,
                Ok(Err(fail)) => fail.record(),
                Err(payload) => {
                    h.poisoned = true;
                    Fail::internal(&*payload).record()
                }
            }
        },
    )
}

/// Runs `f` on the handle behind `conn`, read-only, and turns its result
/// into a status code.
///
/// # Safety
///
/// `conn` is NULL or a live handle no other thread mutates during the call.
unsafe fn with_conn_ref(
    conn: *const wsm_conn,
    f: impl FnOnce(&wsm_conn) -> Result<(), Fail>,
) -> c_int {
    status(|| {
        // SAFETY: by this function's contract, `conn` is NULL or points to
        // a live handle that nothing mutates during the call.
        let Some(h) = (unsafe { conn.as_ref() }) else {
            return Err(Fail::null("conn"));
        };
        if h.poisoned {
            return Err(poisoned());
        }
        f(h)
    })
}

/// Runs `f` on the handle behind `conn`, read-only; `fallback` when `conn`
/// is NULL or poisoned, or when `f` panics.
///
/// # Safety
///
/// `conn` is NULL or a live handle no other thread mutates during the call.
unsafe fn read_conn<R: Copy>(
    conn: *const wsm_conn,
    fallback: R,
    f: impl FnOnce(&wsm_conn) -> R,
) -> R {
    guard(
        || fallback,
        || {
            // SAFETY: by this function's contract, `conn` is NULL or points
            // to a live handle that nothing mutates during the call.
            let Some(h) = (unsafe { conn.as_ref() }) else {
                Fail::null("conn").record();
                return fallback;
            };
            if h.poisoned {
                poisoned().record();
                return fallback;
            }
            f(h)
        },
    )
}

// ---------------------------------------------------------- argument reads

/// `len` bytes at `data`; NULL is allowed for an empty slice.
///
/// # Safety
///
/// `data` is NULL or valid for reads of `len` bytes for `'a`.
unsafe fn bytes<'a>(data: *const c_void, len: usize, what: &str) -> Result<&'a [u8], Fail> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Fail::null(what));
    }
    if len > isize::MAX as usize {
        return Err(Fail::invalid(format!(
            "{what}: length {len} is over PTRDIFF_MAX"
        )));
    }
    // SAFETY: `data` is non-null, `len` is at most `isize::MAX`, and by this
    // function's contract `data` is valid for reads of `len` bytes for 'a.
    Ok(unsafe { core::slice::from_raw_parts(data.cast::<u8>(), len) })
}

/// `count` elements at `items`; NULL is allowed for an empty array.
///
/// # Safety
///
/// `items` is NULL or valid for reads of `count` elements for `'a`.
unsafe fn array<'a, T>(items: *const T, count: usize, what: &str) -> Result<&'a [T], Fail> {
    if count == 0 {
        return Ok(&[]);
    }
    if items.is_null() {
        return Err(Fail::null(what));
    }
    if count > isize::MAX as usize / core::mem::size_of::<T>().max(1) {
        return Err(Fail::invalid(format!("{what}: count {count} is too large")));
    }
    // SAFETY: non-null, the total size is at most `isize::MAX`, and by this
    // function's contract `items` is valid for reads of `count` elements.
    Ok(unsafe { core::slice::from_raw_parts(items, count) })
}

/// The UTF-8 string at `s`, which must not be NULL.
///
/// # Safety
///
/// `s` is NULL or a NUL-terminated string valid for `'a`.
unsafe fn c_str<'a>(s: *const c_char, what: &str) -> Result<&'a str, Fail> {
    if s.is_null() {
        return Err(Fail::null(what));
    }
    // SAFETY: non-null, and by this function's contract NUL-terminated and
    // valid for 'a.
    let s = unsafe { CStr::from_ptr(s) };
    s.to_str()
        .map_err(|_| Fail::new(WSM_ERR_NOT_UTF8, format!("{what} is not valid UTF-8")))
}

/// The UTF-8 string at `s`, or `None` for NULL.
///
/// # Safety
///
/// `s` is NULL or a NUL-terminated string valid for `'a`.
unsafe fn opt_c_str<'a>(s: *const c_char, what: &str) -> Result<Option<&'a str>, Fail> {
    if s.is_null() {
        return Ok(None);
    }
    // SAFETY: this function's contract.
    unsafe { c_str(s, what) }.map(Some)
}

/// `count` strings at `list`, copied.
///
/// # Safety
///
/// `list` is NULL or valid for `count` pointers, each NULL or a
/// NUL-terminated string.
unsafe fn strings(
    list: *const *const c_char,
    count: usize,
    what: &str,
) -> Result<Vec<String>, Fail> {
    // SAFETY: this function's contract.
    let list = unsafe { array(list, count, what) }?;
    list.iter()
        .enumerate()
        .map(|(i, &s)| {
            // SAFETY: this function's contract covers every element.
            unsafe { c_str(s, &format!("{what}[{i}]")) }.map(String::from)
        })
        .collect()
}

/// `count` headers at `headers`, copied.
///
/// # Safety
///
/// `headers` is NULL or valid for `count` elements, whose strings are NULL
/// or NUL-terminated.
unsafe fn headers(headers: *const wsm_header, count: usize) -> Result<Vec<(String, String)>, Fail> {
    // SAFETY: this function's contract.
    let list = unsafe { array(headers, count, "headers") }?;
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            // SAFETY: this function's contract covers every element's strings.
            let name = unsafe { c_str(h.name, &format!("headers[{i}].name")) }?;
            // SAFETY: as above.
            let value = unsafe { c_str(h.value, &format!("headers[{i}].value")) }?;
            Ok((name.to_string(), value.to_string()))
        })
        .collect()
}

/// The configuration at `config` (the defaults for NULL).
///
/// # Safety
///
/// `config` is NULL or points to a `wsm_config` (or, from another version
/// of the header, to a struct that starts with `struct_size`), whose
/// `origin_allow_list` is NULL or valid for `origin_allow_count` strings.
unsafe fn read_config(config: *const wsm_config) -> Result<Config, Fail> {
    if config.is_null() {
        return Ok(Config::default());
    }
    // SAFETY: non-null; every version of the struct starts with
    // `struct_size`, so reading that field alone stays inside the caller's
    // struct even if it is smaller than ours.
    let size = unsafe { ptr::addr_of!((*config).struct_size).read() };
    if size != core::mem::size_of::<wsm_config>() {
        return Err(Fail::new(
            WSM_ERR_CONFIG_VERSION,
            format!(
                "wsm_config.struct_size is {size}, not {}: fill the struct with wsm_config_default",
                core::mem::size_of::<wsm_config>()
            ),
        ));
    }
    // SAFETY: the struct has our size, so it is a whole `wsm_config`.
    let c = unsafe { config.read() };
    let allow = if c.origin_policy == WSM_ORIGIN_ALLOW_LIST {
        // SAFETY: this function's contract.
        unsafe {
            strings(
                c.origin_allow_list,
                c.origin_allow_count,
                "origin_allow_list",
            )
        }?
    } else {
        Vec::new()
    };
    handle::config(&c, allow)
}

/// Writes `value` to `out`.
///
/// # Safety
///
/// `out` is NULL or valid for a write of a `T`.
unsafe fn write<T>(out: *mut T, value: T) {
    debug_assert!(!out.is_null());
    // SAFETY: callers check for NULL first; this function's contract does
    // the rest. `write` does not read or drop the old value, which may be
    // uninitialized.
    unsafe { out.write(value) }
}

fn require<T>(p: *const T, what: &str) -> Result<(), Fail> {
    if p.is_null() {
        Err(Fail::null(what))
    } else {
        Ok(())
    }
}

/// Creates a handle with `make` and stores it in `*out` (NULL on failure).
///
/// # Safety
///
/// `out` is NULL or valid for a write of a pointer.
unsafe fn create(
    out: *mut *mut wsm_conn,
    make: impl FnOnce() -> Result<Connection, Fail>,
) -> c_int {
    status(|| {
        require(out, "out")?;
        // SAFETY: non-null, and by this function's contract writable.
        unsafe { write(out, ptr::null_mut()) };
        let handle = Box::into_raw(Box::new(wsm_conn::new(make()?)));
        // SAFETY: as above.
        unsafe { write(out, handle) };
        Ok(())
    })
}

// ----------------------------------------------------------------- library

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("the version has no NUL"),
    };

/// The library's version, e.g. `"0.1.0"`. A static string.
#[unsafe(no_mangle)]
pub extern "C" fn wsm_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The status code of the last call that failed on this thread (`WSM_OK`
/// if none has).
#[unsafe(no_mangle)]
pub extern "C" fn wsm_last_error_code() -> c_int {
    guard(|| WSM_ERR_INTERNAL, status::last_error_code)
}

/// A description of the last call that failed on this thread, for logs
/// (`""` if none has). Owned by the library: valid until the next call
/// that fails on this thread. Successful calls leave it alone.
#[unsafe(no_mangle)]
pub extern "C" fn wsm_last_error_message() -> *const c_char {
    guard(|| c"".as_ptr(), status::last_error_message)
}

/// The name of a status code, e.g. `"WSM_ERR_OUTPUT_FULL"` for 103; NULL for
/// a code the library does not define. A static string.
#[unsafe(no_mangle)]
pub extern "C" fn wsm_error_name(code: c_int) -> *const c_char {
    guard(ptr::null, || {
        status::name(code).map_or(ptr::null(), CStr::as_ptr)
    })
}

/// Fills `*config` with the defaults (see each field) and sets
/// `struct_size`.
///
/// Errors: `WSM_ERR_NULL_ARGUMENT`.
///
/// # Safety
///
/// `config` is NULL or valid for a write of a `wsm_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_config_default(config: *mut wsm_config) -> c_int {
    status(|| {
        require(config, "config")?;
        // SAFETY: non-null, and by the contract writable.
        unsafe { write(config, handle::default_config()) };
        Ok(())
    })
}

// ----------------------------------------------------------- constructors

/// Creates a server connection, waiting for the client's upgrade request,
/// and stores it in `*out` (NULL on failure). `config` may be NULL for the
/// defaults; it is copied, with its strings.
///
/// The connection is owned by the caller: free it with `wsm_conn_free`.
///
/// Errors: `WSM_ERR_NULL_ARGUMENT`, `WSM_ERR_CONFIG_VERSION`,
/// `WSM_ERR_INVALID_ARGUMENT` (a configuration value), `WSM_ERR_NOT_UTF8`.
///
/// # Safety
///
/// `config` is NULL or a `wsm_config` filled by `wsm_config_default`;
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_server_new(
    config: *const wsm_config,
    out: *mut *mut wsm_conn,
) -> c_int {
    let make = || {
        // SAFETY: the contract covers `config`.
        let config = unsafe { read_config(config) }?;
        Ok(Connection::server(config))
    };
    // SAFETY: the contract covers `out`.
    unsafe { create(out, make) }
}

/// Creates a client connection for `uri` (`ws://` or `wss://`; the caller
/// runs TLS for `wss://`) and stores it in `*out` (NULL on failure). The
/// upgrade request is already in the output when it returns.
///
/// `subprotocols`: `subprotocol_count` names to offer, most preferred
/// first (NULL when the count is 0). `headers`: `header_count` extra
/// headers (`Origin`, `Authorization`, ...; a `Host` replaces the one from
/// the URI). Everything is copied. Free the connection with
/// `wsm_conn_free`.
///
/// Errors: `WSM_ERR_NULL_ARGUMENT`, `WSM_ERR_NOT_UTF8`,
/// `WSM_ERR_CONFIG_VERSION`, `WSM_ERR_INVALID_ARGUMENT`,
/// `WSM_ERR_INVALID_URI`, `WSM_ERR_INVALID_SUBPROTOCOL`,
/// `WSM_ERR_INVALID_HEADER`, `WSM_ERR_MANAGED_HEADER`, `WSM_ERR_ENTROPY`.
///
/// # Safety
///
/// `uri` is NULL or NUL-terminated; the arrays are NULL or hold as many
/// elements as their counts say, each string NULL or NUL-terminated;
/// `config` as for `wsm_server_new`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_client_new(
    config: *const wsm_config,
    uri: *const c_char,
    subprotocols: *const *const c_char,
    subprotocol_count: usize,
    headers: *const wsm_header,
    header_count: usize,
    out: *mut *mut wsm_conn,
) -> c_int {
    let make = || {
        // SAFETY: the contract covers `config`.
        let config = unsafe { read_config(config) }?;
        // SAFETY: the contract covers `uri`.
        let uri = unsafe { c_str(uri, "uri") }?;
        // SAFETY: the contract covers `subprotocols`.
        let offered = unsafe { strings(subprotocols, subprotocol_count, "subprotocols") }?;
        // SAFETY: the contract covers `headers`.
        let headers = unsafe { self::headers(headers, header_count) }?;
        handle::client(config, uri, offered, headers)
    };
    // SAFETY: the contract covers `out`.
    unsafe { create(out, make) }
}

/// Reads the arguments of the `wsm_upgraded_*_new` functions.
///
/// # Safety
///
/// As for `wsm_upgraded_server_new`.
unsafe fn upgraded_args(
    config: *const wsm_config,
    subprotocol: *const c_char,
    extensions: *const c_char,
) -> Result<(Config, wsmachine::Agreement), Fail> {
    // SAFETY: this function's contract covers `config`.
    let config = unsafe { read_config(config) }?;
    // SAFETY: this function's contract covers the strings.
    let (subprotocol, extensions) = unsafe {
        (
            opt_c_str(subprotocol, "subprotocol")?,
            opt_c_str(extensions, "extensions")?,
        )
    };
    Ok((config, handle::agreement(subprotocol, extensions)))
}

/// Creates a server connection whose opening handshake was done by another
/// HTTP stack: it starts open and queues no `WSM_EVENT_OPEN`.
/// `subprotocol` and `extensions` (the `Sec-WebSocket-Extensions` value the
/// 101 answer carried) may be NULL. Free it with `wsm_conn_free`.
///
/// Errors: as `wsm_server_new`, and `WSM_ERR_INVALID_SUBPROTOCOL`,
/// `WSM_ERR_INVALID_EXTENSIONS`.
///
/// # Safety
///
/// The strings are NULL or NUL-terminated; `config` as for
/// `wsm_server_new`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_upgraded_server_new(
    config: *const wsm_config,
    subprotocol: *const c_char,
    extensions: *const c_char,
    out: *mut *mut wsm_conn,
) -> c_int {
    let make = || {
        // SAFETY: the contract covers the arguments.
        let (config, agreed) = unsafe { upgraded_args(config, subprotocol, extensions) }?;
        Ok(Connection::upgraded_server(config, &agreed)?)
    };
    // SAFETY: the contract covers `out`.
    unsafe { create(out, make) }
}

/// Creates a client connection whose opening handshake was done by another
/// HTTP stack (mask keys from an OS-seeded generator). The server's
/// `extensions` answer is checked against the configuration's offer.
/// Free it with `wsm_conn_free`.
///
/// Errors: as `wsm_upgraded_server_new`, and `WSM_ERR_ENTROPY`.
///
/// # Safety
///
/// As for `wsm_upgraded_server_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_upgraded_client_new(
    config: *const wsm_config,
    subprotocol: *const c_char,
    extensions: *const c_char,
    out: *mut *mut wsm_conn,
) -> c_int {
    let make = || {
        // SAFETY: the contract covers the arguments.
        let (config, agreed) = unsafe { upgraded_args(config, subprotocol, extensions) }?;
        Ok(Connection::upgraded_client(config, &agreed)?)
    };
    // SAFETY: the contract covers `out`.
    unsafe { create(out, make) }
}

/// Frees a connection and everything it handed out (event strings and
/// payloads, the read buffer, output pointers). NULL is allowed and does
/// nothing; freeing the same handle twice is undefined behaviour.
///
/// # Safety
///
/// `conn` is NULL or a live handle, not used again afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_conn_free(conn: *mut wsm_conn) {
    if conn.is_null() {
        return;
    }
    guard(
        || (),
        || {
            // SAFETY: by the contract, `conn` came from `Box::into_raw` in
            // `create` and is freed once.
            drop(unsafe { Box::from_raw(conn) });
        },
    );
}

// ------------------------------------------------------------------ inputs

/// Hands received bytes to the connection; `*taken` is how many it took:
/// all of them unless its input buffer is full (events wait to be polled,
/// or a server waits for `wsm_accept`). Feed the rest again after polling;
/// reading at most `wsm_input_room` bytes guarantees all are taken. The
/// bytes are copied (or processed at once): `data` may be reused after the
/// call.
///
/// Errors: `WSM_ERR_NULL_ARGUMENT` (`conn`, `taken`, or `data` with `len` >
/// 0), `WSM_ERR_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `data` is NULL or readable for `len` bytes; `taken` is NULL or
/// writable; `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_feed(
    conn: *mut wsm_conn,
    data: *const c_void,
    len: usize,
    taken: *mut usize,
) -> c_int {
    let body = |h: &mut wsm_conn, _| {
        require(taken, "taken")?;
        // SAFETY: the contract covers `data`.
        let data = unsafe { bytes(data, len, "data") }?;
        let n = h.feed(data);
        // SAFETY: checked non-null; writable by the contract.
        unsafe { write(taken, n) };
        Ok(())
    };
    // SAFETY: the contract covers `conn`.
    unsafe { with_conn(conn, body) }
}

/// Offers room at the end of the connection's input buffer to read into
/// directly: `*buf` and `*len`. Report how many bytes were read with
/// `wsm_commit_read`, as the next call on this connection (getters such as
/// `wsm_wants_read` aside). When `*len` is 0 the buffer is full: do not
/// read (`wsm_wants_read` is false).
///
/// The buffer belongs to the connection: it stays valid until the next call
/// on the connection other than a getter. It is allocated once, at
/// `max_input_buffer`, and kept (see `wsm_shrink_buffers`); drivers that
/// want no per-connection buffer read into their own and call `wsm_feed`.
///
/// Errors: `WSM_ERR_NULL_ARGUMENT`.
///
/// # Safety
///
/// `buf` and `len` are NULL or writable; `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_read_buf(
    conn: *mut wsm_conn,
    buf: *mut *mut u8,
    len: *mut usize,
) -> c_int {
    let body = |h: &mut wsm_conn, _| {
        require(buf, "buf")?;
        require(len, "len")?;
        let (p, n) = h.read_buf();
        // SAFETY: both checked non-null; the contract makes them writable.
        unsafe {
            write(buf, p);
            write(len, n);
        }
        Ok(())
    };
    // SAFETY: the contract covers `conn`.
    unsafe { with_conn(conn, body) }
}

/// Marks `n` bytes written into the buffer of the `wsm_read_buf` call just
/// before as received, and processes them. 0 means nothing was read (the
/// end of the stream is `wsm_feed_eof`).
///
/// Errors: `WSM_ERR_NO_READ_BUFFER` (not right after `wsm_read_buf`),
/// `WSM_ERR_INVALID_ARGUMENT` (`n` over what was offered).
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_commit_read(conn: *mut wsm_conn, n: usize) -> c_int {
    // SAFETY: the contract covers `conn`.
    unsafe { with_conn(conn, |h, offer| h.commit_read(n, offer)) }
}

/// The transport reached the end of its stream (a read returned 0): no
/// more bytes will come.
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_feed_eof(conn: *mut wsm_conn) -> c_int {
    // SAFETY: the contract covers `conn`.
    unsafe {
        with_conn(conn, |h, _| {
            h.feed_eof();
            Ok(())
        })
    }
}

/// Reading from or writing to the transport failed (a reset, a broken
/// pipe): pending output is dropped, `WSM_EVENT_ERROR`
/// (`WSM_ERR_TRANSPORT`) and `WSM_EVENT_CLOSED` follow unless the
/// connection was already closed, and it is finished.
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_transport_error(conn: *mut wsm_conn) -> c_int {
    // SAFETY: the contract covers `conn`.
    unsafe {
        with_conn(conn, |h, _| {
            h.transport_error();
            Ok(())
        })
    }
}

/// Tells the connection the time, in nanoseconds since an origin the
/// caller picks (e.g. `CLOCK_MONOTONIC`); fires expired timers. Call it
/// when `wsm_poll_timeout`'s deadline has passed (more often is harmless).
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_handle_timeout(conn: *mut wsm_conn, now: u64) -> c_int {
    // SAFETY: the contract covers `conn`.
    unsafe {
        with_conn(conn, |h, _| {
            h.handle_timeout(now);
            Ok(())
        })
    }
}

// ----------------------------------------------------------------- outputs

/// Stores the next event in `*event`; `event->kind` is `WSM_EVENT_NONE`
/// when nothing more can happen until more input, time or an action. Poll
/// until then after every input or action.
///
/// The previous event is released: every pointer in an event stays valid
/// until the next `wsm_poll_event` or `wsm_conn_free` on the connection,
/// and no longer. Strings (`wsm_str`) are NUL-terminated; payloads are
/// not. The library owns all of it: never free it.
///
/// Errors: `WSM_ERR_NULL_ARGUMENT` (nothing is polled then).
///
/// # Safety
///
/// `event` is NULL or writable; `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_poll_event(conn: *mut wsm_conn, event: *mut wsm_event) -> c_int {
    let body = |h: &mut wsm_conn, _| {
        require(event, "event")?;
        let next = h.poll_event();
        // SAFETY: checked non-null; writable by the contract.
        unsafe { write(event, next) };
        Ok(())
    };
    // SAFETY: the contract covers `conn`.
    unsafe { with_conn(conn, body) }
}

/// The first contiguous run of bytes to write: `*data`, `*len` (0 when
/// nothing is pending). Write what you can, then report it with
/// `wsm_consume_output`; call again for the next run.
///
/// The bytes belong to the connection: valid until the next call on it
/// other than a getter (`wsm_output`, `wsm_output_vectored`, `wsm_wants_*`,
/// `wsm_is_finished`, `wsm_poll_timeout`, `wsm_conn_state`, the sizes).
///
/// Errors: `WSM_ERR_NULL_ARGUMENT`.
///
/// # Safety
///
/// `data` and `len` are NULL or writable; `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_output(
    conn: *const wsm_conn,
    data: *mut *const u8,
    len: *mut usize,
) -> c_int {
    let body = |h: &wsm_conn| {
        require(data, "data")?;
        require(len, "len")?;
        let out = h.output();
        // SAFETY: both checked non-null; the contract makes them writable.
        unsafe {
            write(data, out.as_ptr());
            write(len, out.len());
        }
        Ok(())
    };
    // SAFETY: the contract covers `conn`.
    unsafe { with_conn_ref(conn, body) }
}

/// Fills `slices` (room for `max`) with the pending runs of output, in
/// order, for `writev`; `*count` is how many were filled. Report what was
/// written with `wsm_consume_output`. Same lifetime as `wsm_output`.
///
/// Errors: `WSM_ERR_NULL_ARGUMENT`, `WSM_ERR_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `slices` is NULL or writable for `max` elements; `count` is NULL or
/// writable; `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_output_vectored(
    conn: *const wsm_conn,
    slices: *mut wsm_slice,
    max: usize,
    count: *mut usize,
) -> c_int {
    let body = |h: &wsm_conn| {
        require(count, "count")?;
        let filled = if max == 0 {
            0
        } else {
            require(slices, "slices")?;
            if max > isize::MAX as usize / core::mem::size_of::<wsm_slice>() {
                return Err(Fail::invalid(format!("max {max} is too large")));
            }
            // SAFETY: non-null, the total size is at most `isize::MAX`, and
            // by the contract writable for `max` elements; each is
            // initialized before the slice is made.
            let slots = unsafe {
                for i in 0..max {
                    slices.add(i).write(wsm_slice::EMPTY);
                }
                core::slice::from_raw_parts_mut(slices, max)
            };
            h.output_vectored(slots)
        };
        // SAFETY: checked non-null; writable by the contract.
        unsafe { write(count, filled) };
        Ok(())
    };
    // SAFETY: the contract covers `conn`.
    unsafe { with_conn_ref(conn, body) }
}

/// Reports that `n` bytes from the front of the output were written.
///
/// Errors: `WSM_ERR_INVALID_ARGUMENT` (more than is pending).
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_consume_output(conn: *mut wsm_conn, n: usize) -> c_int {
    // SAFETY: the contract covers `conn`.
    unsafe { with_conn(conn, |h, _| h.consume_output(n)) }
}

/// Whether reading from the transport is useful now. False once EOF was
/// seen, while a server waits for `wsm_accept`/`wsm_reject`, and while the
/// input buffer is full because events wait to be polled. False for NULL.
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_wants_read(conn: *const wsm_conn) -> bool {
    // SAFETY: the contract covers `conn`.
    unsafe { read_conn(conn, false, |h| h.conn().wants_read()) }
}

/// Whether bytes wait to be written. False for NULL.
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_wants_write(conn: *const wsm_conn) -> bool {
    // SAFETY: the contract covers `conn`.
    unsafe { read_conn(conn, false, |h| h.conn().wants_write()) }
}

/// Whether to shut down the transport's write side now (TCP:
/// `shutdown(fd, SHUT_WR)`): the connection will write nothing more and
/// everything it wrote was taken. True from then on; do it once. False for
/// NULL.
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_wants_shutdown(conn: *const wsm_conn) -> bool {
    // SAFETY: the contract covers `conn`.
    unsafe { read_conn(conn, false, |h| h.conn().wants_shutdown()) }
}

/// Whether the driver is done: every event was polled, the last bytes were
/// written (or given up on), and the transport was seen to end. Close the
/// transport and free the connection. True for NULL (there is nothing to
/// drive) and for a poisoned handle.
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_is_finished(conn: *const wsm_conn) -> bool {
    // SAFETY: the contract covers `conn`.
    unsafe { read_conn(conn, true, |h| h.conn().is_finished()) }
}

/// When to call `wsm_handle_timeout` next, in the caller's nanoseconds;
/// `WSM_NO_DEADLINE` (`UINT64_MAX`) when no timer runs, or for NULL. A
/// deadline at or before the current time means "call it now" (a new
/// connection asks for that once, to learn the time).
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_poll_timeout(conn: *const wsm_conn) -> u64 {
    // SAFETY: the contract covers `conn`.
    unsafe { read_conn(conn, WSM_NO_DEADLINE, |h| h.poll_timeout()) }
}

/// The connection's state, a `WSM_STATE_*` value (`WSM_STATE_CLOSED` for
/// NULL).
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_conn_state(conn: *const wsm_conn) -> wsm_state {
    // SAFETY: the contract covers `conn`.
    unsafe { read_conn(conn, WSM_STATE_CLOSED, |h| h.state()) }
}

/// How many more bytes `wsm_feed` takes now: read at most this much into a
/// shared buffer and every byte read is taken (0 for NULL).
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_input_room(conn: *const wsm_conn) -> usize {
    // SAFETY: the contract covers `conn`.
    unsafe { read_conn(conn, 0, |h| h.conn().input_room()) }
}

/// How many bytes wait to be written (0 for NULL).
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_output_len(conn: *const wsm_conn) -> usize {
    // SAFETY: the contract covers `conn`.
    unsafe { read_conn(conn, 0, |h| h.conn().output_len()) }
}

/// Heap bytes held by the connection's buffers and compression state (0
/// for NULL). What the current event holds is not counted.
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_buffer_capacity(conn: *const wsm_conn) -> usize {
    // SAFETY: the contract covers `conn`.
    unsafe { read_conn(conn, 0, |h| h.conn().buffer_capacity()) }
}

/// Releases buffers that hold nothing (the read buffer), so that an idle
/// connection costs little; the next `wsm_read_buf` allocates again.
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_shrink_buffers(conn: *mut wsm_conn) -> c_int {
    // SAFETY: the contract covers `conn`.
    unsafe {
        with_conn(conn, |h, _| {
            h.shrink_buffers();
            Ok(())
        })
    }
}

// ----------------------------------------------------------------- actions

/// Runs a send-like action with the payload at `data`.
///
/// # Safety
///
/// `data` is NULL or readable for `len` bytes; `conn` is NULL or a live
/// handle.
unsafe fn with_payload(
    conn: *mut wsm_conn,
    data: *const c_void,
    len: usize,
    action: impl FnOnce(&mut wsm_conn, &[u8]) -> Result<(), Fail>,
) -> c_int {
    let body = |h: &mut wsm_conn, _| {
        // SAFETY: this function's contract covers `data`.
        let payload = unsafe { bytes(data, len, "data") }?;
        action(h, payload)
    };
    // SAFETY: this function's contract covers `conn`.
    unsafe { with_conn(conn, body) }
}

/// Sends a whole message of `kind` (`WSM_TEXT`: valid UTF-8), compressed
/// if permessage-deflate was agreed and it is large enough. The payload is
/// copied, except when it lies inside the current event's payload (an
/// echo), which is shared without a copy.
///
/// Errors: `WSM_ERR_OUTPUT_FULL` (nothing was queued: write pending output
/// and send again), `WSM_ERR_MESSAGE_TOO_LARGE`, `WSM_ERR_NOT_OPEN`,
/// `WSM_ERR_CLOSING`, `WSM_ERR_CLOSED`, `WSM_ERR_INVALID_UTF8`,
/// `WSM_ERR_FRAGMENT_ORDER` (a fragmented message is unfinished),
/// `WSM_ERR_NULL_ARGUMENT`, `WSM_ERR_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `data` is NULL or readable for `len` bytes; `conn` is NULL or a live
/// handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_send(
    conn: *mut wsm_conn,
    kind: wsm_message_kind,
    data: *const c_void,
    len: usize,
) -> c_int {
    // SAFETY: the contract covers `conn` and `data`.
    unsafe { with_payload(conn, data, len, |h, p| h.send(message_kind(kind)?, p, true)) }
}

/// `wsm_send` without compression, whatever was agreed (for data that is
/// already compressed).
///
/// # Safety
///
/// As for `wsm_send`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_send_uncompressed(
    conn: *mut wsm_conn,
    kind: wsm_message_kind,
    data: *const c_void,
    len: usize,
) -> c_int {
    // SAFETY: the contract covers `conn` and `data`.
    unsafe {
        with_payload(conn, data, len, |h, p| {
            h.send(message_kind(kind)?, p, false)
        })
    }
}

/// Sends one fragment of a message: the first call starts a message of
/// `kind`, later ones continue it with the same `kind`, the one with
/// `last` ends it. Pings, pongs and closes may come between fragments;
/// `wsm_send` may not. Text may split a code point between fragments but
/// must be valid UTF-8 as a whole. Copied like `wsm_send`.
///
/// Errors: as `wsm_send`, and `WSM_ERR_FRAGMENT_KIND`,
/// `WSM_ERR_COMPRESSION_FAILED`.
///
/// # Safety
///
/// As for `wsm_send`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_send_fragment(
    conn: *mut wsm_conn,
    kind: wsm_message_kind,
    data: *const c_void,
    len: usize,
    last: bool,
) -> c_int {
    // SAFETY: the contract covers `conn` and `data`.
    unsafe {
        with_payload(conn, data, len, |h, p| {
            h.send_fragment(message_kind(kind)?, p, last)
        })
    }
}

/// Sends a ping with at most 125 bytes of payload (copied).
///
/// Errors: `WSM_ERR_CONTROL_PAYLOAD_TOO_LONG`, `WSM_ERR_NOT_OPEN`,
/// `WSM_ERR_CLOSING`, `WSM_ERR_CLOSED`, `WSM_ERR_NULL_ARGUMENT`.
///
/// # Safety
///
/// As for `wsm_send`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_ping(conn: *mut wsm_conn, data: *const c_void, len: usize) -> c_int {
    // SAFETY: the contract covers `conn` and `data`.
    unsafe { with_payload(conn, data, len, |h, p| h.ping(p)) }
}

/// Sends a pong, solicited or not (at most 125 bytes, copied); allowed
/// after this side's Close until the peer's arrives.
///
/// Errors: as `wsm_ping`.
///
/// # Safety
///
/// As for `wsm_send`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_pong(conn: *mut wsm_conn, data: *const c_void, len: usize) -> c_int {
    // SAFETY: the contract covers `conn` and `data`.
    unsafe { with_payload(conn, data, len, |h, p| h.pong(p)) }
}

/// Starts the closing handshake: sends a Close frame with `code` and
/// `reason` (UTF-8, at most 123 bytes; NULL for none). Messages are still
/// delivered until the peer's Close; then `WSM_EVENT_CLOSED`. During the
/// opening handshake a server answers a pending request with 503 and a
/// client gives up; `WSM_EVENT_CLOSED` follows at once.
///
/// Errors: `WSM_ERR_INVALID_CLOSE_CODE`, `WSM_ERR_CONTROL_PAYLOAD_TOO_LONG`,
/// `WSM_ERR_CLOSING`, `WSM_ERR_CLOSED`, `WSM_ERR_NOT_UTF8`.
///
/// # Safety
///
/// `reason` is NULL or NUL-terminated; `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_close(conn: *mut wsm_conn, code: u16, reason: *const c_char) -> c_int {
    let body = |h: &mut wsm_conn, _| {
        // SAFETY: the contract covers `reason`.
        let reason = unsafe { opt_c_str(reason, "reason") }?;
        h.close(code, reason.unwrap_or(""))
    };
    // SAFETY: the contract covers `conn`.
    unsafe { with_conn(conn, body) }
}

/// Fails the connection from this side (e.g. 1003, 1008, 1009 for a
/// message it cannot take): sends a Close frame with `code` and `reason`
/// unless one was sent, and closes without waiting for the peer's.
/// `WSM_EVENT_CLOSED` follows at once; drive on until `wsm_is_finished`.
///
/// Errors: as `wsm_close`.
///
/// # Safety
///
/// As for `wsm_close`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_fail(conn: *mut wsm_conn, code: u16, reason: *const c_char) -> c_int {
    let body = |h: &mut wsm_conn, _| {
        // SAFETY: the contract covers `reason`.
        let reason = unsafe { opt_c_str(reason, "reason") }?;
        h.fail(code, reason.unwrap_or(""))
    };
    // SAFETY: the contract covers `conn`.
    unsafe { with_conn(conn, body) }
}

/// Ends the connection at once, without a Close frame: pending output is
/// dropped and the connection is finished (close the transport).
/// `WSM_EVENT_CLOSED` follows unless it was already queued.
///
/// # Safety
///
/// `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_abort(conn: *mut wsm_conn) -> c_int {
    // SAFETY: the contract covers `conn`.
    unsafe {
        with_conn(conn, |h, _| {
            h.abort();
            Ok(())
        })
    }
}

/// Server: accepts the pending request. `subprotocol` (NULL for none) must
/// be one the client offered; `headers` (`header_count` of them, NULL when
/// 0) are added to the 101 answer; `flags` is 0 or
/// `WSM_ACCEPT_NO_COMPRESSION`. Everything is copied. `WSM_EVENT_OPEN`
/// follows.
///
/// Errors: `WSM_ERR_NO_PENDING_REQUEST`, `WSM_ERR_SUBPROTOCOL_NOT_OFFERED`,
/// `WSM_ERR_INVALID_HEADER`, `WSM_ERR_MANAGED_HEADER`,
/// `WSM_ERR_NULL_ARGUMENT`, `WSM_ERR_NOT_UTF8`, `WSM_ERR_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `subprotocol` is NULL or NUL-terminated; `headers` is NULL or holds
/// `header_count` elements with NUL-terminated strings; `conn` is NULL or
/// a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_accept(
    conn: *mut wsm_conn,
    subprotocol: *const c_char,
    headers: *const wsm_header,
    header_count: usize,
    flags: u32,
) -> c_int {
    let body = |h: &mut wsm_conn, _| {
        // SAFETY: the contract covers `subprotocol`.
        let subprotocol = unsafe { opt_c_str(subprotocol, "subprotocol") }?;
        // SAFETY: the contract covers `headers`.
        let headers = unsafe { self::headers(headers, header_count) }?;
        h.accept(subprotocol, headers, flags)
    };
    // SAFETY: the contract covers `conn`.
    unsafe { with_conn(conn, body) }
}

/// Server: refuses the pending request with an HTTP answer: `status`
/// (200-599 but 204 and 304), `headers` (`header_count`, NULL when 0) and
/// `body` (`body_len` bytes, NULL when 0), all copied. `WSM_EVENT_CLOSED`
/// follows.
///
/// Errors: `WSM_ERR_NO_PENDING_REQUEST`, `WSM_ERR_INVALID_STATUS`,
/// `WSM_ERR_INVALID_HEADER`, `WSM_ERR_MANAGED_HEADER`,
/// `WSM_ERR_NULL_ARGUMENT`, `WSM_ERR_NOT_UTF8`.
///
/// # Safety
///
/// `headers` as for `wsm_accept`; `body` is NULL or readable for
/// `body_len` bytes; `conn` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wsm_reject(
    conn: *mut wsm_conn,
    status: u16,
    headers: *const wsm_header,
    header_count: usize,
    body: *const c_void,
    body_len: usize,
) -> c_int {
    let run = |h: &mut wsm_conn, _| {
        // SAFETY: the contract covers `headers`.
        let headers = unsafe { self::headers(headers, header_count) }?;
        // SAFETY: the contract covers `body`.
        let body = unsafe { bytes(body, body_len, "body") }?;
        h.reject(status, headers, body)
    };
    // SAFETY: the contract covers `conn`.
    unsafe { with_conn(conn, run) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> *mut wsm_conn {
        let mut conn = ptr::null_mut();
        // SAFETY: `conn` is a valid place for the handle.
        assert_eq!(unsafe { wsm_server_new(ptr::null(), &mut conn) }, WSM_OK);
        conn
    }

    fn last_message() -> String {
        // SAFETY: the library's own NUL-terminated string, read at once.
        unsafe { CStr::from_ptr(wsm_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_a_status_and_poisons_the_handle() {
        let conn = server();
        // SAFETY: `conn` is live.
        let rc = unsafe { with_conn(conn, |_, _| panic!("deliberate test panic")) };
        assert_eq!(rc, WSM_ERR_INTERNAL);
        assert!(last_message().contains("deliberate test panic"));
        // SAFETY: `conn` is live (poisoned, not freed).
        unsafe {
            assert_eq!(wsm_feed_eof(conn), WSM_ERR_POISONED);
            assert!(wsm_is_finished(conn));
            assert!(!wsm_wants_read(conn));
            let mut len = 0;
            let mut data = ptr::null();
            assert_eq!(wsm_output(conn, &mut data, &mut len), WSM_ERR_POISONED);
            wsm_conn_free(conn);
        }
        assert_eq!(status(|| panic!("no handle")), WSM_ERR_INTERNAL);
        assert_eq!(guard(|| 7, || -> i32 { panic!("getter") }), 7);
    }

    #[test]
    fn an_old_config_is_refused_by_its_size() {
        #[repr(C)]
        struct Smaller {
            struct_size: usize,
            max_frame_size: u64,
        }
        let old = Smaller {
            struct_size: core::mem::size_of::<Smaller>(),
            max_frame_size: 1,
        };
        let mut conn = ptr::null_mut();
        // SAFETY: a struct that starts with `struct_size`, as the contract
        // allows; only that field is read.
        let rc = unsafe { wsm_server_new(ptr::addr_of!(old).cast(), &mut conn) };
        assert_eq!(rc, WSM_ERR_CONFIG_VERSION);
        assert!(conn.is_null());
        assert_eq!(old.max_frame_size, 1);
    }

    #[test]
    fn a_request_through_the_c_functions() {
        let conn = server();
        let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        let mut taken = 0;
        let mut event = wsm_event::empty(WSM_EVENT_NONE);
        // SAFETY: `conn` is live, the buffers are valid for their lengths.
        unsafe {
            assert_eq!(
                wsm_feed(conn, request.as_ptr().cast(), request.len(), &mut taken),
                WSM_OK
            );
            assert_eq!(taken, request.len());
            assert_eq!(wsm_poll_event(conn, &mut event), WSM_OK);
            assert_eq!(event.kind, WSM_EVENT_REQUEST);
            let path = CStr::from_ptr(event.request.path.ptr);
            assert_eq!(path.to_bytes(), b"/");
            assert_eq!(wsm_accept(conn, ptr::null(), ptr::null(), 0, 0), WSM_OK);
            let mut slices = [wsm_slice::EMPTY; 2];
            let mut count = 0;
            assert_eq!(
                wsm_output_vectored(conn, slices.as_mut_ptr(), 2, &mut count),
                WSM_OK
            );
            assert_eq!(count, 1);
            let head = core::slice::from_raw_parts(slices[0].data, slices[0].len);
            assert!(head.starts_with(b"HTTP/1.1 101 "));
            wsm_conn_free(conn);
        }
    }
}
