//! The C ABI of [`wsmachine`]: a static library (`libwsmachine_ffi.a`), a
//! shared one (`libwsmachine_ffi.so`, `.dylib`, `.dll`) and the header
//! `include/wsmachine.h`, generated from this crate by `cbindgen`.
//!
//! The C API mirrors the Rust one: an opaque `wsm_conn *` created as a
//! server or a client; bytes fed in, events polled out into a tagged
//! `wsm_event`, output handed out as pointer and length and reported back
//! when written; time as `uint64_t` nanoseconds. Every fallible function
//! returns a status code (`WSM_OK` or a stable `WSM_ERR_*`, the core's
//! [`code`](wsmachine::Error::code)s plus 900-999 for the C interface
//! itself) and records a message for `wsm_last_error_message`.
//!
//! `docs/c-api.md` in the repository is the guide: the driver loop in C,
//! ownership and lifetime rules, the error code table and how to build and
//! link. `examples/c/echo_server.c` is a complete driver.
//!
//! # Safety design
//!
//! - No panic crosses into C: every function runs inside `catch_unwind`;
//!   a panic (a bug) becomes `WSM_ERR_INTERNAL` and poisons the handle, on
//!   which only `wsm_conn_free` is then allowed. The crate refuses to build
//!   with `panic = "abort"`.
//! - NULL pointers, lengths over `PTRDIFF_MAX`, strings that are not
//!   UTF-8 and out-of-range enumeration values are errors, not undefined
//!   behaviour. A dangling or freed pointer cannot be detected and is.
//! - All `unsafe` code is in one module, `ffi`, each block with the reason
//!   it is sound; the rest of the crate denies it.

#![deny(missing_docs)]
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![allow(
    non_camel_case_types,
    reason = "the C names of the types (`wsm_conn`, `wsm_event`) are the Rust names, so that the header needs no renaming"
)]

#[cfg(panic = "abort")]
compile_error!(
    "wsmachine-ffi must be built with panic = \"unwind\": it catches panics so that none crosses into C"
);

mod ffi;
mod handle;
mod status;
mod types;

pub use crate::ffi::*;
pub use crate::handle::wsm_conn;
pub use crate::types::*;
