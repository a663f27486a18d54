//! Extensions (RFC 6455 §9): negotiation in both roles, and the per-message
//! compression state of an open connection.
//!
//! permessage-deflate (RFC 7692) is the only extension. This module is the
//! one place that knows whether the `deflate` feature is compiled in:
//! without it nothing is offered, every offer is declined, a server that
//! agrees to an extension anyway fails the handshake, and the
//! [`Encoder`]/[`Decoder`] never compress.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::config::Config;
use crate::role::Role;
use crate::usage::UsageError;

#[cfg(feature = "deflate")]
pub(crate) use crate::deflate::{Compressed, Corrupt, Progress as Inflated};
#[cfg(feature = "deflate")]
use crate::deflate::{Compressor, Inflater, Params};
#[cfg(feature = "deflate")]
use crate::header::{Extension, parse_extensions};

#[cfg(not(feature = "deflate"))]
mod stub {
    /// Never constructed without the `deflate` feature.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Params {}
    #[derive(Debug)]
    pub(crate) enum Compressor {}
    #[derive(Debug)]
    pub(crate) enum Inflater {}

    /// Outcome of compressing one message or fragment.
    #[derive(Debug)]
    pub(crate) enum Compressed {
        /// Never built without the `deflate` feature.
        #[allow(dead_code, reason = "only the deflate compressor builds it")]
        Yes(bytes::BytesMut, bool),
        /// Send the payload as it is.
        No,
    }

    /// What one call to inflate did.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) struct Inflated {
        pub(crate) consumed: usize,
        pub(crate) done: bool,
        pub(crate) overflow: bool,
    }

    /// The compressed data is not valid deflate.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) struct Corrupt;
}
#[cfg(not(feature = "deflate"))]
pub(crate) use stub::{Compressed, Corrupt, Inflated};
#[cfg(not(feature = "deflate"))]
use stub::{Compressor, Inflater, Params};

/// What the opening handshake agreed on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Agreed {
    deflate: Option<Params>,
    /// The `Sec-WebSocket-Extensions` value of the 101 answer.
    header: Option<String>,
}

impl Agreed {
    /// The agreed `Sec-WebSocket-Extensions` value.
    pub(crate) fn header(&self) -> Option<&str> {
        self.header.as_deref()
    }

    pub(crate) fn into_header(self) -> Option<String> {
        self.header
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

/// A server picks from the client's offers (every
/// `Sec-WebSocket-Extensions` value, in order).
pub(crate) fn server_negotiate<'a>(
    config: &Config,
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Agreed {
    #[cfg(not(feature = "deflate"))]
    let _ = (config, values);
    #[cfg(feature = "deflate")]
    if let Some(d) = &config.deflate {
        let offers: Vec<Extension> = values
            .into_iter()
            .filter_map(|v| core::str::from_utf8(v).ok())
            .filter_map(parse_extensions)
            .flatten()
            .collect();
        if let Some((params, answer)) = d.negotiate_as_server(&offers) {
            return Agreed {
                deflate: Some(params),
                header: Some(answer),
            };
        }
    }
    Agreed::default()
}

/// The server answered with an extension this side did not offer, or with
/// parameters it cannot accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Unacceptable;

/// A client checks the server's `Sec-WebSocket-Extensions` values against
/// its offer.
pub(crate) fn client_accept<'a>(
    config: &Config,
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Agreed, Unacceptable> {
    let mut values = values
        .into_iter()
        .filter(|v| !crate::header::trim(v).is_empty());
    let Some(value) = values.next() else {
        return Ok(Agreed::default());
    };
    if values.next().is_some() {
        return Err(Unacceptable);
    }
    let value = core::str::from_utf8(value).map_err(|_| Unacceptable)?;
    from_value(Role::Client, config, Some(value))
}

/// Sets up what an opening handshake agreed, from the answer's
/// `Sec-WebSocket-Extensions` value: a client checks it against its offer,
/// a server (whose HTTP stack negotiated elsewhere) only for validity.
pub(crate) fn from_value(
    role: Role,
    config: &Config,
    value: Option<&str>,
) -> Result<Agreed, Unacceptable> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(Agreed::default());
    };
    #[cfg(feature = "deflate")]
    if let Some(d) = &config.deflate {
        let params = d.accept_answer(role, value).ok_or(Unacceptable)?;
        return Ok(Agreed {
            deflate: Some(params),
            header: Some(String::from(value.trim())),
        });
    }
    let _ = (role, config, value);
    Err(Unacceptable)
}

/// The server side of negotiation for a handshake done elsewhere: the
/// `Sec-WebSocket-Extensions` answer to the request's offers (every value of
/// the header, in order) under `config`, or `None` to agree to nothing. Put
/// it in the 101 answer and in the [`Agreement`](crate::Agreement) of
/// [`Connection::upgraded_server`](crate::Connection::upgraded_server).
pub fn negotiate_extensions<'a>(
    config: &Config,
    offers: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    server_negotiate(config, offers.into_iter().map(str::as_bytes)).into_header()
}

/// The client side of negotiation for a handshake done elsewhere: the
/// `Sec-WebSocket-Extensions` offer for `config`, if any. Pass the server's
/// answer in the [`Agreement`](crate::Agreement), which the connection
/// checks.
pub fn extension_offer(config: &Config) -> Option<String> {
    client_offer(config)
}

/// The sending side's compression state.
#[derive(Debug, Default)]
pub(crate) struct Encoder(Option<Box<Compressor>>);

impl Encoder {
    pub(crate) fn new(agreed: &Agreed, role: Role, config: &Config) -> Encoder {
        #[cfg(feature = "deflate")]
        {
            let compressor = agreed.deflate.as_ref().and_then(|p| {
                config
                    .deflate
                    .as_ref()
                    .map(|d| Box::new(Compressor::new(p, role, d)))
            });
            Encoder(compressor)
        }
        #[cfg(not(feature = "deflate"))]
        {
            let _ = (agreed, role, config);
            Encoder(None)
        }
    }

    /// Compresses a message or fragment (`first`: the message's first
    /// frame; `allowed`: the caller did not ask for an uncompressed send).
    /// `Err` only when a fragment of an already compressed message cannot be
    /// compressed.
    pub(crate) fn compress(
        &mut self,
        first: bool,
        fin: bool,
        payload: &[u8],
        allowed: bool,
    ) -> Result<Compressed, UsageError> {
        match self.0.as_mut() {
            #[cfg(feature = "deflate")]
            Some(c) => c
                .compress(first, fin, payload, allowed)
                .map_err(|_| UsageError::CompressionFailed),
            #[cfg(not(feature = "deflate"))]
            Some(never) => match **never {},
            None => {
                let _ = (first, fin, payload, allowed);
                Ok(Compressed::No)
            }
        }
    }

    /// The most output room a message or fragment of `len` bytes can need
    /// if it is compressed (compressed data can be larger than its input).
    pub(crate) fn worst_case(&self, len: usize) -> usize {
        match self.0.as_ref() {
            #[cfg(feature = "deflate")]
            Some(_) => crate::deflate::max_compressed_len(len),
            #[cfg(not(feature = "deflate"))]
            Some(never) => match **never {},
            None => len,
        }
    }

    /// Whether the next fragment continues a message sent compressed: it
    /// must be compressed too.
    pub(crate) fn continues_compressed(&self) -> bool {
        match self.0.as_ref() {
            #[cfg(feature = "deflate")]
            Some(c) => c.continues_compressed(),
            #[cfg(not(feature = "deflate"))]
            Some(never) => match **never {},
            None => false,
        }
    }

    /// Heap bytes held by compression state.
    pub(crate) fn memory(&self) -> usize {
        match self.0.as_ref() {
            #[cfg(feature = "deflate")]
            Some(c) => c.memory(),
            #[cfg(not(feature = "deflate"))]
            Some(never) => match **never {},
            None => 0,
        }
    }
}

/// The most inflated bytes handed over per chunk in chunk delivery mode.
pub(crate) const INFLATE_STEP: usize = 64 << 10;

/// The receiving side's compression state.
#[derive(Debug, Default)]
pub(crate) struct Decoder(Option<Box<Inflater>>);

impl Decoder {
    pub(crate) fn new(agreed: &Agreed, role: Role) -> Decoder {
        #[cfg(feature = "deflate")]
        {
            Decoder(
                agreed
                    .deflate
                    .as_ref()
                    .map(|p| Box::new(Inflater::new(p, role))),
            )
        }
        #[cfg(not(feature = "deflate"))]
        {
            let _ = (agreed, role);
            Decoder(None)
        }
    }

    /// Whether the peer may send compressed messages (RSV1).
    pub(crate) fn enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Inflates `input` (unmasked compressed payload) into `out`, never
    /// letting `out` grow past `cap` bytes; with `probe`, `cap` is a hard
    /// limit and reaching it with more to come is an `overflow`.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        cap: usize,
        finish: bool,
        probe: bool,
    ) -> Result<Inflated, Corrupt> {
        match self.0.as_mut() {
            #[cfg(feature = "deflate")]
            Some(i) => i.inflate(input, out, cap, finish, probe),
            #[cfg(not(feature = "deflate"))]
            Some(never) => match **never {},
            None => {
                let _ = (input, out, cap, finish, probe);
                Err(Corrupt)
            }
        }
    }

    /// Heap bytes held by decompression state.
    pub(crate) fn memory(&self) -> usize {
        match self.0.as_ref() {
            #[cfg(feature = "deflate")]
            Some(i) => i.memory(),
            #[cfg(not(feature = "deflate"))]
            Some(never) => match **never {},
            None => 0,
        }
    }

    /// Frees decompression state (the connection is closed).
    pub(crate) fn release(&mut self) {
        self.0 = None;
    }
}
