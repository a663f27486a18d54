//! Failures as status codes, and the thread's last error.

use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::string::String;

use core::ffi::c_int;

use wsmachine::UsageError;

use crate::types::*;

/// A failed call: its status code and a message for `wsm_last_error_message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fail {
    pub(crate) code: c_int,
    pub(crate) message: String,
}

impl Fail {
    pub(crate) fn new(code: c_int, message: impl Into<String>) -> Fail {
        Fail {
            code,
            message: message.into(),
        }
    }

    /// A NULL pointer where `what` was required.
    pub(crate) fn null(what: &str) -> Fail {
        Fail::new(WSM_ERR_NULL_ARGUMENT, format!("{what} is NULL"))
    }

    /// An argument out of range.
    pub(crate) fn invalid(message: impl Into<String>) -> Fail {
        Fail::new(WSM_ERR_INVALID_ARGUMENT, message)
    }

    /// A panic caught at the boundary.
    pub(crate) fn internal(payload: &(dyn core::any::Any + Send)) -> Fail {
        let detail = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown panic");
        Fail::new(
            WSM_ERR_INTERNAL,
            format!("internal error (a bug in wsmachine, please report it): {detail}"),
        )
    }

    /// Records this failure as the thread's last error; returns its code.
    pub(crate) fn record(self) -> c_int {
        let code = self.code;
        let message = c_string(self.message);
        LAST_ERROR.with(|last| *last.borrow_mut() = Some((code, message)));
        code
    }
}

impl From<UsageError> for Fail {
    fn from(e: UsageError) -> Fail {
        Fail::new(c_int::from(e.code()), e.to_string())
    }
}

/// `s` as a C string; interior NUL bytes (never in the library's own
/// messages) become U+FFFD.
pub(crate) fn c_string(s: String) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let cleaned = String::from_utf8_lossy(&e.into_vec()).replace('\0', "\u{FFFD}");
        CString::new(cleaned).unwrap_or_default()
    })
}

thread_local! {
    static LAST_ERROR: RefCell<Option<(c_int, CString)>> = const { RefCell::new(None) };
}

/// The code of the thread's last failed call (`WSM_OK` if none yet).
pub(crate) fn last_error_code() -> c_int {
    LAST_ERROR.with(|last| last.borrow().as_ref().map_or(WSM_OK, |(code, _)| *code))
}

/// The message of the thread's last failed call (empty if none yet). The
/// pointer stays valid until the next failed call on this thread.
pub(crate) fn last_error_message() -> *const core::ffi::c_char {
    LAST_ERROR.with(|last| {
        last.borrow()
            .as_ref()
            .map_or(c"".as_ptr(), |(_, message)| message.as_ptr())
    })
}

/// Every status code with its C name, for `wsm_error_name`.
pub(crate) const NAMES: &[(c_int, &CStr)] = &[
    (WSM_OK, c"WSM_OK"),
    (WSM_ERR_NOT_OPEN, c"WSM_ERR_NOT_OPEN"),
    (WSM_ERR_CLOSING, c"WSM_ERR_CLOSING"),
    (WSM_ERR_CLOSED, c"WSM_ERR_CLOSED"),
    (WSM_ERR_OUTPUT_FULL, c"WSM_ERR_OUTPUT_FULL"),
    (WSM_ERR_MESSAGE_TOO_LARGE, c"WSM_ERR_MESSAGE_TOO_LARGE"),
    (
        WSM_ERR_CONTROL_PAYLOAD_TOO_LONG,
        c"WSM_ERR_CONTROL_PAYLOAD_TOO_LONG",
    ),
    (WSM_ERR_INVALID_CLOSE_CODE, c"WSM_ERR_INVALID_CLOSE_CODE"),
    (WSM_ERR_FRAGMENT_ORDER, c"WSM_ERR_FRAGMENT_ORDER"),
    (WSM_ERR_FRAGMENT_KIND, c"WSM_ERR_FRAGMENT_KIND"),
    (WSM_ERR_INVALID_UTF8, c"WSM_ERR_INVALID_UTF8"),
    (WSM_ERR_NO_PENDING_REQUEST, c"WSM_ERR_NO_PENDING_REQUEST"),
    (
        WSM_ERR_SUBPROTOCOL_NOT_OFFERED,
        c"WSM_ERR_SUBPROTOCOL_NOT_OFFERED",
    ),
    (WSM_ERR_INVALID_HEADER, c"WSM_ERR_INVALID_HEADER"),
    (WSM_ERR_MANAGED_HEADER, c"WSM_ERR_MANAGED_HEADER"),
    (WSM_ERR_INVALID_STATUS, c"WSM_ERR_INVALID_STATUS"),
    (WSM_ERR_INVALID_URI, c"WSM_ERR_INVALID_URI"),
    (WSM_ERR_INVALID_SUBPROTOCOL, c"WSM_ERR_INVALID_SUBPROTOCOL"),
    (WSM_ERR_INVALID_EXTENSIONS, c"WSM_ERR_INVALID_EXTENSIONS"),
    (WSM_ERR_ENTROPY, c"WSM_ERR_ENTROPY"),
    (WSM_ERR_COMPRESSION_FAILED, c"WSM_ERR_COMPRESSION_FAILED"),
    (
        WSM_ERR_PROTOCOL_RESERVED_OPCODE,
        c"WSM_ERR_PROTOCOL_RESERVED_OPCODE",
    ),
    (
        WSM_ERR_PROTOCOL_CONTROL_TOO_LONG,
        c"WSM_ERR_PROTOCOL_CONTROL_TOO_LONG",
    ),
    (
        WSM_ERR_PROTOCOL_FRAGMENTED_CONTROL,
        c"WSM_ERR_PROTOCOL_FRAGMENTED_CONTROL",
    ),
    (
        WSM_ERR_PROTOCOL_LENGTH_OVERFLOW,
        c"WSM_ERR_PROTOCOL_LENGTH_OVERFLOW",
    ),
    (
        WSM_ERR_PROTOCOL_RESERVED_BITS,
        c"WSM_ERR_PROTOCOL_RESERVED_BITS",
    ),
    (
        WSM_ERR_PROTOCOL_UNMASKED_FRAME,
        c"WSM_ERR_PROTOCOL_UNMASKED_FRAME",
    ),
    (
        WSM_ERR_PROTOCOL_MASKED_FRAME,
        c"WSM_ERR_PROTOCOL_MASKED_FRAME",
    ),
    (
        WSM_ERR_PROTOCOL_UNEXPECTED_CONTINUATION,
        c"WSM_ERR_PROTOCOL_UNEXPECTED_CONTINUATION",
    ),
    (
        WSM_ERR_PROTOCOL_EXPECTED_CONTINUATION,
        c"WSM_ERR_PROTOCOL_EXPECTED_CONTINUATION",
    ),
    (
        WSM_ERR_PROTOCOL_INVALID_CLOSE_FRAME,
        c"WSM_ERR_PROTOCOL_INVALID_CLOSE_FRAME",
    ),
    (
        WSM_ERR_PROTOCOL_INVALID_CLOSE_CODE,
        c"WSM_ERR_PROTOCOL_INVALID_CLOSE_CODE",
    ),
    (WSM_ERR_PEER_INVALID_UTF8, c"WSM_ERR_PEER_INVALID_UTF8"),
    (WSM_ERR_LIMIT_FRAME_SIZE, c"WSM_ERR_LIMIT_FRAME_SIZE"),
    (WSM_ERR_LIMIT_MESSAGE_SIZE, c"WSM_ERR_LIMIT_MESSAGE_SIZE"),
    (WSM_ERR_BAD_COMPRESSED_DATA, c"WSM_ERR_BAD_COMPRESSED_DATA"),
    (WSM_ERR_TIMEOUT_HANDSHAKE, c"WSM_ERR_TIMEOUT_HANDSHAKE"),
    (WSM_ERR_TIMEOUT_CLOSE, c"WSM_ERR_TIMEOUT_CLOSE"),
    (WSM_ERR_TIMEOUT_KEEPALIVE, c"WSM_ERR_TIMEOUT_KEEPALIVE"),
    (WSM_ERR_TRANSPORT, c"WSM_ERR_TRANSPORT"),
    (WSM_ERR_MALFORMED_HTTP, c"WSM_ERR_MALFORMED_HTTP"),
    (WSM_ERR_METHOD_NOT_GET, c"WSM_ERR_METHOD_NOT_GET"),
    (WSM_ERR_NOT_HTTP11, c"WSM_ERR_NOT_HTTP11"),
    (WSM_ERR_INVALID_TARGET, c"WSM_ERR_INVALID_TARGET"),
    (WSM_ERR_BAD_HEADER, c"WSM_ERR_BAD_HEADER"),
    (WSM_ERR_UNSUPPORTED_VERSION, c"WSM_ERR_UNSUPPORTED_VERSION"),
    (WSM_ERR_REQUEST_HAS_BODY, c"WSM_ERR_REQUEST_HAS_BODY"),
    (WSM_ERR_ORIGIN_REJECTED, c"WSM_ERR_ORIGIN_REJECTED"),
    (WSM_ERR_HANDSHAKE_TOO_LARGE, c"WSM_ERR_HANDSHAKE_TOO_LARGE"),
    (WSM_ERR_TOO_MANY_HEADERS, c"WSM_ERR_TOO_MANY_HEADERS"),
    (WSM_ERR_REJECTED, c"WSM_ERR_REJECTED"),
    (WSM_ERR_BAD_ACCEPT, c"WSM_ERR_BAD_ACCEPT"),
    (
        WSM_ERR_UNEXPECTED_SUBPROTOCOL,
        c"WSM_ERR_UNEXPECTED_SUBPROTOCOL",
    ),
    (
        WSM_ERR_UNEXPECTED_EXTENSION,
        c"WSM_ERR_UNEXPECTED_EXTENSION",
    ),
    (WSM_ERR_HANDSHAKE_EOF, c"WSM_ERR_HANDSHAKE_EOF"),
    (WSM_ERR_NULL_ARGUMENT, c"WSM_ERR_NULL_ARGUMENT"),
    (WSM_ERR_INVALID_ARGUMENT, c"WSM_ERR_INVALID_ARGUMENT"),
    (WSM_ERR_NOT_UTF8, c"WSM_ERR_NOT_UTF8"),
    (WSM_ERR_CONFIG_VERSION, c"WSM_ERR_CONFIG_VERSION"),
    (WSM_ERR_NO_READ_BUFFER, c"WSM_ERR_NO_READ_BUFFER"),
    (WSM_ERR_POISONED, c"WSM_ERR_POISONED"),
    (WSM_ERR_INTERNAL, c"WSM_ERR_INTERNAL"),
];

/// The C name of a status code, or NULL for a code the library does not
/// define.
pub(crate) fn name(code: c_int) -> Option<&'static CStr> {
    NAMES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsmachine::frame::FrameError;
    use wsmachine::{Error, HandshakeError, Limit, ProtocolViolation, Timer};

    #[test]
    fn codes_are_the_core_codes() {
        let usage = [
            (WSM_ERR_NOT_OPEN, UsageError::NotOpen),
            (WSM_ERR_CLOSING, UsageError::Closing),
            (WSM_ERR_CLOSED, UsageError::Closed),
            (
                WSM_ERR_OUTPUT_FULL,
                UsageError::OutputFull {
                    pending: 0,
                    limit: 0,
                },
            ),
            (
                WSM_ERR_MESSAGE_TOO_LARGE,
                UsageError::MessageTooLarge { len: 0, limit: 0 },
            ),
            (
                WSM_ERR_CONTROL_PAYLOAD_TOO_LONG,
                UsageError::ControlPayloadTooLong,
            ),
            (WSM_ERR_INVALID_CLOSE_CODE, UsageError::InvalidCloseCode(0)),
            (WSM_ERR_FRAGMENT_ORDER, UsageError::FragmentOrder),
            (WSM_ERR_FRAGMENT_KIND, UsageError::FragmentKind),
            (WSM_ERR_INVALID_UTF8, UsageError::InvalidUtf8),
            (WSM_ERR_NO_PENDING_REQUEST, UsageError::NoPendingRequest),
            (
                WSM_ERR_SUBPROTOCOL_NOT_OFFERED,
                UsageError::SubprotocolNotOffered,
            ),
            (WSM_ERR_INVALID_HEADER, UsageError::InvalidHeader),
            (WSM_ERR_MANAGED_HEADER, UsageError::ManagedHeader),
            (WSM_ERR_INVALID_STATUS, UsageError::InvalidStatus(0)),
            (WSM_ERR_INVALID_URI, UsageError::InvalidUri),
            (WSM_ERR_INVALID_SUBPROTOCOL, UsageError::InvalidSubprotocol),
            (WSM_ERR_INVALID_EXTENSIONS, UsageError::InvalidExtensions),
            (WSM_ERR_ENTROPY, UsageError::Entropy),
            (WSM_ERR_COMPRESSION_FAILED, UsageError::CompressionFailed),
        ];
        for (c, e) in &usage {
            assert_eq!(*c, c_int::from(e.code()), "{e:?}");
            assert_eq!(Fail::from(e.clone()).code, *c);
        }
        let protocol = |v| Error::Protocol(v);
        let errors = [
            (
                WSM_ERR_PROTOCOL_RESERVED_OPCODE,
                protocol(ProtocolViolation::Frame(FrameError::ReservedOpcode(3))),
            ),
            (
                WSM_ERR_PROTOCOL_CONTROL_TOO_LONG,
                protocol(ProtocolViolation::Frame(FrameError::ControlFrameTooLong)),
            ),
            (
                WSM_ERR_PROTOCOL_FRAGMENTED_CONTROL,
                protocol(ProtocolViolation::Frame(FrameError::FragmentedControlFrame)),
            ),
            (
                WSM_ERR_PROTOCOL_LENGTH_OVERFLOW,
                protocol(ProtocolViolation::Frame(FrameError::LengthOverflow)),
            ),
            (
                WSM_ERR_PROTOCOL_RESERVED_BITS,
                protocol(ProtocolViolation::ReservedBits),
            ),
            (
                WSM_ERR_PROTOCOL_UNMASKED_FRAME,
                protocol(ProtocolViolation::UnmaskedFrame),
            ),
            (
                WSM_ERR_PROTOCOL_MASKED_FRAME,
                protocol(ProtocolViolation::MaskedFrame),
            ),
            (
                WSM_ERR_PROTOCOL_UNEXPECTED_CONTINUATION,
                protocol(ProtocolViolation::UnexpectedContinuation),
            ),
            (
                WSM_ERR_PROTOCOL_EXPECTED_CONTINUATION,
                protocol(ProtocolViolation::ExpectedContinuation),
            ),
            (
                WSM_ERR_PROTOCOL_INVALID_CLOSE_FRAME,
                protocol(ProtocolViolation::InvalidCloseFrame),
            ),
            (
                WSM_ERR_PROTOCOL_INVALID_CLOSE_CODE,
                protocol(ProtocolViolation::InvalidCloseCode(1)),
            ),
            (WSM_ERR_PEER_INVALID_UTF8, Error::InvalidUtf8),
            (
                WSM_ERR_LIMIT_FRAME_SIZE,
                Error::LimitExceeded(Limit::FrameSize),
            ),
            (
                WSM_ERR_LIMIT_MESSAGE_SIZE,
                Error::LimitExceeded(Limit::MessageSize),
            ),
            (WSM_ERR_BAD_COMPRESSED_DATA, Error::BadCompressedData),
            (WSM_ERR_TIMEOUT_HANDSHAKE, Error::Timeout(Timer::Handshake)),
            (WSM_ERR_TIMEOUT_CLOSE, Error::Timeout(Timer::Close)),
            (WSM_ERR_TIMEOUT_KEEPALIVE, Error::Timeout(Timer::Keepalive)),
            (WSM_ERR_TRANSPORT, Error::Transport),
            (WSM_ERR_MALFORMED_HTTP, HandshakeError::MalformedHttp.into()),
            (WSM_ERR_METHOD_NOT_GET, HandshakeError::MethodNotGet.into()),
            (WSM_ERR_NOT_HTTP11, HandshakeError::NotHttp11.into()),
            (WSM_ERR_INVALID_TARGET, HandshakeError::InvalidTarget.into()),
            (WSM_ERR_BAD_HEADER, HandshakeError::BadHeader("Host").into()),
            (
                WSM_ERR_UNSUPPORTED_VERSION,
                HandshakeError::UnsupportedVersion.into(),
            ),
            (
                WSM_ERR_REQUEST_HAS_BODY,
                HandshakeError::RequestHasBody.into(),
            ),
            (
                WSM_ERR_ORIGIN_REJECTED,
                HandshakeError::OriginRejected.into(),
            ),
            (
                WSM_ERR_HANDSHAKE_TOO_LARGE,
                HandshakeError::TooLarge(Limit::HandshakeSize).into(),
            ),
            (
                WSM_ERR_TOO_MANY_HEADERS,
                HandshakeError::TooLarge(Limit::HeaderCount).into(),
            ),
            (WSM_ERR_BAD_ACCEPT, HandshakeError::BadAccept.into()),
            (
                WSM_ERR_UNEXPECTED_SUBPROTOCOL,
                HandshakeError::UnexpectedSubprotocol.into(),
            ),
            (
                WSM_ERR_UNEXPECTED_EXTENSION,
                HandshakeError::UnexpectedExtension.into(),
            ),
            (WSM_ERR_HANDSHAKE_EOF, HandshakeError::Eof.into()),
        ];
        for (c, e) in &errors {
            assert_eq!(*c, c_int::from(e.code()), "{e:?}");
        }
        // `WSM_ERR_REJECTED` needs a server's answer: `tests/api.c` checks
        // it on a real rejection.
    }

    /// `#define WSM_...` lines of a text, as (name, value).
    fn defines(text: &str, prefix: &str) -> Vec<(String, c_int)> {
        text.lines()
            .filter_map(|l| l.strip_prefix("#define "))
            .filter_map(|l| l.split_once(' '))
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, value)| (name.to_string(), value.trim().parse().unwrap()))
            .collect()
    }

    #[test]
    fn every_status_code_in_the_header_has_a_name() {
        let header = include_str!("../include/wsmachine.h");
        let mut codes = defines(header, "WSM_ERR_");
        codes.extend(defines(header, "WSM_OK"));
        assert_eq!(codes.len(), NAMES.len());
        for (name, value) in &codes {
            assert_eq!(
                super::name(*value).and_then(|n| n.to_str().ok()),
                Some(name.as_str()),
                "{name}"
            );
        }
        let mut values: Vec<c_int> = NAMES.iter().map(|(c, _)| *c).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), NAMES.len(), "duplicate codes");
        assert!(
            values
                .iter()
                .all(|&c| c == WSM_OK || (100..1000).contains(&c))
        );
    }

    #[test]
    fn the_last_error_is_per_thread() {
        assert_eq!(Fail::invalid("here").record(), WSM_ERR_INVALID_ARGUMENT);
        assert_eq!(last_error_code(), WSM_ERR_INVALID_ARGUMENT);
        std::thread::spawn(|| assert_eq!(last_error_code(), WSM_OK))
            .join()
            .unwrap();
        assert_eq!(Fail::new(1, "a\0b").message, "a\0b");
        assert_eq!(c_string("a\0b".into()).to_str(), Ok("a\u{FFFD}b"));
    }
}

#[cfg(test)]
mod docs {
    use super::*;

    /// `docs/c-api.md` lists every code with its name, and nothing else.
    #[test]
    fn the_error_table_in_the_guide_is_complete() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/c-api.md");
        let Ok(guide) = std::fs::read_to_string(path) else {
            // A packaged crate has no repository around it.
            return;
        };
        let rows: Vec<(c_int, String)> = guide
            .lines()
            .filter_map(|l| {
                let mut cells = l.split('|').map(str::trim).skip(1);
                let code = cells.next()?.parse().ok()?;
                let name = cells.next()?.trim_matches('`');
                name.starts_with("WSM_").then(|| (code, name.to_string()))
            })
            .collect();
        let names: Vec<(c_int, String)> = NAMES
            .iter()
            .map(|(c, n)| (*c, n.to_str().unwrap().to_string()))
            .collect();
        assert_eq!(rows, names);
    }
}
