//! permessage-deflate negotiation (RFC 7692 §5, §7.1): offers, answers and
//! the parameters both sides agree on.

use alloc::string::String;

use super::{DeflateConfig, EXTENSION_NAME};
use crate::header::Extension;
use crate::role::Role;

impl DeflateConfig {
    /// The client's offer.
    pub(crate) fn client_offer(&self) -> String {
        let mut s = String::from(EXTENSION_NAME);
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.server_max_window_bits < 15 {
            s.push_str(&alloc::format!(
                "; server_max_window_bits={}",
                self.server_max_window_bits
            ));
        }
        if self.client_max_window_bits < 15 {
            s.push_str(&alloc::format!(
                "; client_max_window_bits={}",
                self.client_max_window_bits
            ));
        } else {
            s.push_str("; client_max_window_bits");
        }
        s
    }

    /// A server picks the first acceptable offer (§5.1, §7.1).
    pub(crate) fn negotiate_as_server(&self, offers: &[Extension]) -> Option<(Params, String)> {
        offers
            .iter()
            .filter(|e| e.name.eq_ignore_ascii_case(EXTENSION_NAME))
            .find_map(|e| self.accept_offer(e))
    }

    fn accept_offer(&self, offer: &Extension) -> Option<(Params, String)> {
        let raw = RawParams::parse(offer)?;
        let server_bits = match raw.server_max_window_bits {
            // §7.1.2.1: the parameter has a value in an offer.
            Some(None) => return None,
            Some(Some(n)) => n.min(self.server_max_window_bits),
            None => self.server_max_window_bits,
        };
        let client_bits = match raw.client_max_window_bits {
            Some(offered) => offered.unwrap_or(15).min(self.client_max_window_bits),
            // The client cannot be limited: accept its full window.
            None => 15,
        };
        let params = Params {
            server_no_context_takeover: raw.server_no_context_takeover
                || self.server_no_context_takeover,
            // A client whose window cannot be limited keeps no context, so
            // its window costs memory only while a message is inflated.
            client_no_context_takeover: self.client_no_context_takeover
                || (raw.client_max_window_bits.is_none() && self.client_max_window_bits < 15),
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        };
        let mut answer = String::from(EXTENSION_NAME);
        if params.server_no_context_takeover {
            answer.push_str("; server_no_context_takeover");
        }
        if params.client_no_context_takeover {
            answer.push_str("; client_no_context_takeover");
        }
        if raw.server_max_window_bits.is_some() || server_bits < 15 {
            answer.push_str(&alloc::format!("; server_max_window_bits={server_bits}"));
        }
        if raw.client_max_window_bits.is_some() && client_bits < 15 {
            answer.push_str(&alloc::format!("; client_max_window_bits={client_bits}"));
        }
        Some((params, answer))
    }

    /// Checks an answer: a client against its offer (§7.1); a server (when
    /// another HTTP stack negotiated) only for validity. `None`: the answer
    /// is not one this side can accept.
    pub(crate) fn accept_answer(&self, role: Role, value: &str) -> Option<Params> {
        let exts = crate::header::parse_extensions(value)?;
        let [ext] = exts.as_slice() else {
            return None;
        };
        if !ext.name.eq_ignore_ascii_case(EXTENSION_NAME) {
            return None;
        }
        let raw = RawParams::parse(ext)?;
        let bits = |v: Option<Option<u8>>| match v {
            Some(Some(n)) => Some(n),
            Some(None) => None,
            None => Some(15),
        };
        let params = Params {
            server_no_context_takeover: raw.server_no_context_takeover,
            client_no_context_takeover: raw.client_no_context_takeover,
            server_max_window_bits: bits(raw.server_max_window_bits)?,
            client_max_window_bits: bits(raw.client_max_window_bits)?,
        };
        if role == Role::Client {
            // What we asked for must be granted; what we promised holds.
            if self.server_no_context_takeover && !params.server_no_context_takeover {
                return None;
            }
            if self.server_max_window_bits < 15
                && raw
                    .server_max_window_bits
                    .is_none_or(|_| params.server_max_window_bits > self.server_max_window_bits)
            {
                return None;
            }
            return Some(Params {
                client_no_context_takeover: params.client_no_context_takeover
                    || self.client_no_context_takeover,
                client_max_window_bits: params
                    .client_max_window_bits
                    .min(self.client_max_window_bits),
                ..params
            });
        }
        Some(params)
    }
}

/// The parameters of an offer or answer, checked for form (§7.1).
#[derive(Clone, Copy, Debug, Default)]
struct RawParams {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<Option<u8>>,
    client_max_window_bits: Option<Option<u8>>,
}

impl RawParams {
    /// `None` for unknown or repeated parameters, a value where none is
    /// allowed, or window bits that are not exactly `8`–`15`.
    fn parse(ext: &Extension) -> Option<RawParams> {
        let mut raw = RawParams::default();
        for p in &ext.params {
            let value = p.value.as_deref();
            match p.name.to_ascii_lowercase().as_str() {
                "server_no_context_takeover"
                    if !raw.server_no_context_takeover && value.is_none() =>
                {
                    raw.server_no_context_takeover = true;
                }
                "client_no_context_takeover"
                    if !raw.client_no_context_takeover && value.is_none() =>
                {
                    raw.client_no_context_takeover = true;
                }
                "server_max_window_bits" if raw.server_max_window_bits.is_none() => {
                    raw.server_max_window_bits = Some(optional_bits(value)?);
                }
                "client_max_window_bits" if raw.client_max_window_bits.is_none() => {
                    raw.client_max_window_bits = Some(optional_bits(value)?);
                }
                _ => return None,
            }
        }
        Some(raw)
    }
}

/// `Some(None)` without a value, `Some(Some(bits))` with a valid one,
/// `None` for an invalid one.
fn optional_bits(value: Option<&str>) -> Option<Option<u8>> {
    match value {
        None => Some(None),
        Some(v) => window_bits(v).map(Some),
    }
}

/// `8` to `15`, written without leading zeros (§7.1.2.1).
fn window_bits(v: &str) -> Option<u8> {
    match v {
        "8" => Some(8),
        "9" => Some(9),
        "10" => Some(10),
        "11" => Some(11),
        "12" => Some(12),
        "13" => Some(13),
        "14" => Some(14),
        "15" => Some(15),
        _ => None,
    }
}

/// The agreed parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Params {
    /// The server resets its compressor after each message.
    pub(crate) server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub(crate) client_no_context_takeover: bool,
    /// The server's compression window, in bits.
    pub(crate) server_max_window_bits: u8,
    /// The client's compression window, in bits.
    pub(crate) client_max_window_bits: u8,
}

impl Params {
    /// (window bits, no context takeover) of `role`'s compressor.
    pub(crate) fn sender(&self, role: Role) -> (u8, bool) {
        match role {
            Role::Server => (self.server_max_window_bits, self.server_no_context_takeover),
            Role::Client => (self.client_max_window_bits, self.client_no_context_takeover),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::parse_extensions;
    use alloc::vec::Vec;

    fn offer(s: &str) -> Vec<Extension> {
        parse_extensions(s).unwrap()
    }

    #[test]
    fn server_declines_invalid_offers_and_takes_the_first_valid() {
        let c = DeflateConfig::new();
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=09",
        ] {
            assert!(c.negotiate_as_server(&offer(bad)).is_none(), "{bad}");
        }
        let (p, answer) = c
            .negotiate_as_server(&offer(
                "permessage-deflate; bogus, permessage-deflate; server_max_window_bits=10; client_max_window_bits",
            ))
            .unwrap();
        assert_eq!(
            answer,
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12"
        );
        assert_eq!(
            (p.server_max_window_bits, p.client_max_window_bits),
            (10, 12)
        );
    }
}
