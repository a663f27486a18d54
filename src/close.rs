//! Close codes and Close frame bodies (RFC 6455 §5.5.1, §7.4).

use alloc::string::String;
use core::fmt;

/// A close status code (RFC 6455 §7.4).
///
/// Any `u16` can be held; [`is_sendable`](Self::is_sendable) tells whether
/// the code may appear in a Close frame on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present. Never sent on the wire.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection closed without a Close frame. Never sent.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: data inconsistent with the message type (invalid UTF-8 text).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violates the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message is too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not agree to.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: bad gateway (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: the TLS handshake failed. Never sent.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Wraps a raw code.
    pub const fn new(code: u16) -> CloseCode {
        CloseCode(code)
    }

    /// The raw code.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether the code may be sent in a Close frame: 1000–1003, 1007–1014
    /// (defined by RFC 6455 or registered with IANA), 3000–3999 (registered
    /// by libraries and frameworks) and 4000–4999 (private use). 1004, 1005,
    /// 1006, 1015 and everything else are reserved (§7.4.1, §7.4.2).
    pub const fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The body of a Close frame that carries a status code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most 123 bytes of UTF-8 (§5.5: a control payload is
    /// at most 125 bytes, two of which are the code).
    pub reason: String,
}

/// The longest close reason that fits in a control frame.
pub const MAX_REASON_LEN: usize = 123;

/// Why a Close frame payload is invalid (§5.5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadClose {
    /// A one-byte payload.
    OneByte,
    /// A code that may not be sent.
    Code(u16),
    /// The reason is not UTF-8.
    Utf8,
}

/// Parses a Close frame payload (§5.5.1). `Ok(None)` is a Close without a
/// status code.
pub(crate) fn parse_close_payload(payload: &[u8]) -> Result<Option<CloseFrame>, BadClose> {
    match payload {
        [] => Ok(None),
        [_] => Err(BadClose::OneByte),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_sendable() {
                return Err(BadClose::Code(code.0));
            }
            let reason = core::str::from_utf8(reason).map_err(|_| BadClose::Utf8)?;
            Ok(Some(CloseFrame {
                code,
                reason: String::from(reason),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_codes_match_section_7_4() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            assert!(CloseCode(code).is_sendable(), "{code}");
        }
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!CloseCode(code).is_sendable(), "{code}");
        }
    }

    #[test]
    fn parses_close_bodies() {
        assert_eq!(parse_close_payload(&[]), Ok(None));
        assert_eq!(parse_close_payload(&[3]), Err(BadClose::OneByte));
        assert_eq!(
            parse_close_payload(&[0x03, 0xe8, b'o', b'k']),
            Ok(Some(CloseFrame {
                code: CloseCode::NORMAL,
                reason: "ok".into()
            }))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xed]),
            Err(BadClose::Code(1005))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xe8, 0xff]),
            Err(BadClose::Utf8)
        );
    }
}
