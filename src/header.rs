//! HTTP header values: tokens, comma-separated lists (RFC 7230 §3.2.6,
//! §7) and the `Sec-WebSocket-Extensions` grammar (RFC 6455 §9.1).
//!
//! ```text
//! extension-list = 1#extension
//! extension      = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! A quoted value must be a token once unescaped (§9.1).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// One extension of an offer or answer, e.g.
/// `permessage-deflate; client_max_window_bits`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The extension name.
    pub name: String,
    /// Its parameters, in order.
    pub params: Vec<ExtensionParam>,
}

/// A parameter of an [`Extension`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionParam {
    /// The parameter name.
    pub name: String,
    /// The value, unquoted, if one was given.
    pub value: Option<String>,
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for p in &self.params {
            write!(f, "; {}", p.name)?;
            if let Some(v) = &p.value {
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

/// Parses a `Sec-WebSocket-Extensions` value into its extensions. `None`
/// if the value does not follow the grammar.
///
/// ```
/// use wsmachine::handshake::parse_extensions;
/// let exts = parse_extensions("permessage-deflate; client_max_window_bits=\"10\", x-foo").unwrap();
/// assert_eq!(exts[0].name, "permessage-deflate");
/// assert_eq!(exts[0].params[0].value.as_deref(), Some("10"));
/// assert_eq!(exts[1].name, "x-foo");
/// ```
pub fn parse_extensions(value: &str) -> Option<Vec<Extension>> {
    let mut p = Parser {
        s: value.as_bytes(),
        at: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip_ows();
        if p.eat(b',') {
            // Empty list elements are allowed by the #rule.
            continue;
        }
        if p.done() {
            break;
        }
        let name = p.token()?;
        let mut params = Vec::new();
        loop {
            p.skip_ows();
            if !p.eat(b';') {
                break;
            }
            p.skip_ows();
            let pname = p.token()?;
            p.skip_ows();
            let pvalue = if p.eat(b'=') {
                p.skip_ows();
                Some(if p.peek() == Some(b'"') {
                    let v = p.quoted()?;
                    if !v.bytes().all(is_tchar) || v.is_empty() {
                        return None;
                    }
                    v
                } else {
                    p.token()?
                })
            } else {
                None
            };
            params.push(ExtensionParam {
                name: pname,
                value: pvalue,
            });
        }
        out.push(Extension { name, params });
        p.skip_ows();
        if !p.done() && !p.eat(b',') {
            return None;
        }
    }
    if out.is_empty() { None } else { Some(out) }
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.at >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        if self.at == start {
            return None;
        }
        core::str::from_utf8(&self.s[start..self.at])
            .ok()
            .map(String::from)
    }

    fn quoted(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return String::from_utf8(out).ok();
                }
                b'\\' => {
                    self.at += 1;
                    out.push(self.peek()?);
                    self.at += 1;
                }
                b => {
                    out.push(b);
                    self.at += 1;
                }
            }
        }
    }
}

/// Whether a comma-separated header value contains `token`
/// (ASCII case-insensitive, optional whitespace around elements).
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|element| trim(element).eq_ignore_ascii_case(token.as_bytes()))
}

/// The comma-separated, trimmed, non-empty elements of a header value.
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|e| !e.is_empty())
}

/// Strips optional whitespace (space, tab) from both ends.
pub(crate) fn trim(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |p| p + 1);
    &value[start..end]
}

/// An HTTP token (RFC 7230 §3.2.6): one or more tchar.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A header value that can be written without corrupting the HTTP head:
/// visible ASCII, spaces and tabs, and obs-text; never CR, LF or NUL or
/// other control characters.
pub(crate) fn is_valid_header_value(v: &str) -> bool {
    v.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7F))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    type Flat = Vec<(String, Vec<(String, Option<String>)>)>;

    fn names(v: &str) -> Option<Flat> {
        parse_extensions(v).map(|exts| {
            exts.into_iter()
                .map(|e| {
                    (
                        e.name,
                        e.params.into_iter().map(|p| (p.name, p.value)).collect(),
                    )
                })
                .collect()
        })
    }

    #[test]
    fn parses_offers() {
        let got = names("permessage-deflate; client_no_context_takeover; server_max_window_bits=10, permessage-deflate").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1.len(), 2);
        assert_eq!(
            got[0].1[1],
            ("server_max_window_bits".into(), Some("10".into()))
        );
        assert!(got[1].1.is_empty());
        assert_eq!(names(" , a ,, b ;c=\"d\"").unwrap().len(), 2);
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            "",
            ",",
            "a;",
            "a; =1",
            "a;b=",
            "a;b=\"\"",
            "a;b=\"x y\"",
            "a b",
            "a;b=\"unterminated",
            "a;b=1 2",
        ] {
            assert_eq!(parse_extensions(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn display_roundtrips() {
        let e = &parse_extensions("permessage-deflate;client_max_window_bits=\"12\";x").unwrap()[0];
        assert_eq!(
            e.to_string(),
            "permessage-deflate; client_max_window_bits=12; x"
        );
    }

    #[test]
    fn token_lists() {
        assert!(has_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(has_token(b"  UPGRADE\t", "upgrade"));
        assert!(!has_token(b"upgrades", "upgrade"));
        assert!(!has_token(b"", "upgrade"));
        assert_eq!(
            list_elements(b" a, ,b ,c").collect::<Vec<_>>(),
            [&b"a"[..], b"b", b"c"]
        );
    }

    #[test]
    fn header_values_are_checked() {
        assert!(is_valid_header_value("a b\tc"));
        assert!(!is_valid_header_value("a\r\nInjected: 1"));
        assert!(!is_valid_header_value("a\0"));
        assert!(is_token("chat.v2"));
        assert!(!is_token("a b"));
        assert!(!is_token(""));
    }
}
