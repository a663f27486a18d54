//! Extension negotiation (RFC 6455 §9): what was agreed, in both roles.
//!
//! permessage-deflate (RFC 7692) is the only extension; without the
//! `deflate` feature nothing is offered, every offer is declined and a
//! server that agrees to an extension anyway fails the handshake.

use alloc::string::String;

use crate::config::Config;
use crate::error::HandshakeError;
use crate::handshake::{Extension, Response};

use super::Role;

/// What the opening handshake agreed on.
#[derive(Clone, Debug, Default)]
pub(crate) struct Agreed {
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<crate::deflate::Params>,
}

impl Agreed {
    /// Whether messages may be compressed (RSV1 allowed).
    pub(crate) fn compression(&self) -> bool {
        #[cfg(feature = "deflate")]
        {
            self.deflate.is_some()
        }
        #[cfg(not(feature = "deflate"))]
        {
            false
        }
    }
}

/// The client's `Sec-WebSocket-Extensions` offer.
pub(crate) fn client_offer(config: &Config) -> Option<String> {
    #[cfg(feature = "deflate")]
    {
        config.deflate.as_ref().map(|d| d.client_offer())
    }
    #[cfg(not(feature = "deflate"))]
    {
        let _ = config;
        None
    }
}

/// A server picks from the client's offers; returns the agreement and the
/// `Sec-WebSocket-Extensions` answer.
pub(crate) fn server_negotiate(config: &Config, offers: &[Extension]) -> (Agreed, Option<String>) {
    #[cfg(feature = "deflate")]
    if let Some(d) = &config.deflate
        && let Some((params, answer)) = d.negotiate_as_server(offers)
    {
        return (
            Agreed {
                deflate: Some(params),
            },
            Some(answer),
        );
    }
    let _ = (config, offers);
    (Agreed::default(), None)
}

/// A client checks the server's answer against its offer.
pub(crate) fn client_accept(
    config: &Config,
    response: &Response,
) -> Result<(Agreed, Option<String>), HandshakeError> {
    let mut values = response
        .extension_values()
        .filter(|v| !crate::handshake::trim(v).is_empty());
    let Some(value) = values.next() else {
        return Ok((Agreed::default(), None));
    };
    if values.next().is_some() {
        return Err(HandshakeError::UnexpectedExtension);
    }
    let value = core::str::from_utf8(value).map_err(|_| HandshakeError::UnexpectedExtension)?;
    from_value(Role::Client, config, Some(value))
}

/// Sets up what another HTTP stack agreed (`value` is the answer's
/// `Sec-WebSocket-Extensions`).
pub(crate) fn from_value(
    role: Role,
    config: &Config,
    value: Option<&str>,
) -> Result<(Agreed, Option<String>), HandshakeError> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok((Agreed::default(), None));
    };
    #[cfg(feature = "deflate")]
    if let Some(d) = &config.deflate {
        let params = d.accept_answer(role, value)?;
        return Ok((
            Agreed {
                deflate: Some(params),
            },
            Some(String::from(value.trim())),
        ));
    }
    let _ = (role, config, value);
    Err(HandshakeError::UnexpectedExtension)
}
