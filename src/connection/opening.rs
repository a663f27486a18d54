//! The opening handshake inside the state machine (RFC 6455 §4): the
//! server's `AwaitRequest` and `AwaitDecision`, the client's
//! `AwaitResponse` and `ReadingRejection`, and connections whose handshake
//! was done elsewhere.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use bytes::Bytes;

use super::closing::Teardown;
use super::{BoxedRng, Connection, Phase};
use crate::config::Config;
use crate::error::Error;
use crate::event::{Event, Open};
use crate::extensions::{self, Agreed};
use crate::handshake::HandshakeError;
use crate::handshake::{
    self, Accept, BodyLength, ClientRequest, Reject, Request, RequestScanner, Response,
};
use crate::rng::RandomSource;
use crate::role::Role;
use crate::usage::UsageError;

/// What an opening handshake done elsewhere (an HTTP library: hyper, axum,
/// an HTTP/1 server of your own) agreed, for
/// [`Connection::upgraded_server`] and [`Connection::upgraded_client`].
///
/// ```
/// use wsmachine::{Agreement, Config, Connection};
/// let agreed = Agreement::new().subprotocol("chat");
/// let conn = Connection::upgraded_server(Config::default(), &agreed)?;
/// assert_eq!(conn.subprotocol(), Some("chat"));
/// # Ok::<(), wsmachine::UsageError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Agreement {
    subprotocol: Option<String>,
    extensions: Option<String>,
}

impl Agreement {
    /// No subprotocol, no extensions.
    pub fn new() -> Agreement {
        Agreement::default()
    }

    /// The subprotocol the 101 answer named (`Sec-WebSocket-Protocol`).
    #[must_use]
    pub fn subprotocol(mut self, name: impl Into<String>) -> Self {
        self.subprotocol = Some(name.into());
        self
    }

    /// The `Sec-WebSocket-Extensions` value of the 101 answer: for a server,
    /// what [`negotiate_extensions`](crate::handshake::negotiate_extensions)
    /// returned; for a client, what the server answered (checked against
    /// the configuration's offer).
    #[must_use]
    pub fn extensions(mut self, value: impl Into<String>) -> Self {
        self.extensions = Some(value.into());
        self
    }
}

/// A client's non-101 answer whose body is being read.
#[derive(Debug)]
pub(super) struct Rejection {
    response: Response,
    length: BodyLength,
    body: Vec<u8>,
}

impl Connection {
    /// A server connection, waiting for the client's upgrade request.
    pub fn server(config: impl Into<Arc<Config>>) -> Connection {
        Connection::new(
            Role::Server,
            config.into(),
            Phase::AwaitRequest(RequestScanner::default()),
            None,
        )
    }

    /// A client connection; the upgrade request is already in the output
    /// buffer. Mask keys and the handshake key come from a ChaCha20
    /// generator seeded by the operating system.
    #[cfg(feature = "std")]
    pub fn client(
        config: impl Into<Arc<Config>>,
        request: &ClientRequest,
    ) -> Result<Connection, UsageError> {
        let rng = crate::rng::ChaCha20Rng::from_os()?;
        Connection::client_with_rng(config, request, rng)
    }

    /// A client connection drawing its keys from `rng`.
    pub fn client_with_rng(
        config: impl Into<Arc<Config>>,
        request: &ClientRequest,
        rng: impl RandomSource + 'static,
    ) -> Result<Connection, UsageError> {
        let config = config.into();
        let mut rng: BoxedRng = Box::new(rng);
        let offer = extensions::client_offer(&config);
        let (bytes, hs) = request.encode(rng.as_mut(), offer.as_deref())?;
        let mut conn = Connection::new(
            Role::Client,
            config,
            Phase::AwaitResponse(Box::new(hs)),
            Some(rng),
        );
        conn.send.raw(&mut conn.out, &bytes);
        Ok(conn)
    }

    /// A server connection whose opening handshake was done elsewhere: it
    /// starts open, and queues no [`Event::Open`]. Needs no random source,
    /// so it works without `std`.
    pub fn upgraded_server(
        config: impl Into<Arc<Config>>,
        agreement: &Agreement,
    ) -> Result<Connection, UsageError> {
        Connection::upgraded(Role::Server, config.into(), agreement, None)
    }

    /// A client connection whose opening handshake was done elsewhere, with
    /// mask keys from an OS-seeded ChaCha20 generator. The server's
    /// extension answer is checked against the configuration's offer.
    #[cfg(feature = "std")]
    pub fn upgraded_client(
        config: impl Into<Arc<Config>>,
        agreement: &Agreement,
    ) -> Result<Connection, UsageError> {
        let rng = crate::rng::ChaCha20Rng::from_os()?;
        Connection::upgraded_client_with_rng(config, agreement, rng)
    }

    /// [`upgraded_client`](Self::upgraded_client) with mask keys from `rng`.
    pub fn upgraded_client_with_rng(
        config: impl Into<Arc<Config>>,
        agreement: &Agreement,
        rng: impl RandomSource + 'static,
    ) -> Result<Connection, UsageError> {
        Connection::upgraded(Role::Client, config.into(), agreement, Some(Box::new(rng)))
    }

    fn upgraded(
        role: Role,
        config: Arc<Config>,
        agreement: &Agreement,
        rng: Option<BoxedRng>,
    ) -> Result<Connection, UsageError> {
        let agreed = extensions::from_value(role, &config, agreement.extensions.as_deref())
            .map_err(|_| UsageError::InvalidExtensions)?;
        if agreement
            .subprotocol
            .as_deref()
            .is_some_and(|p| !crate::header::is_token(p))
        {
            return Err(UsageError::InvalidSubprotocol);
        }
        let mut conn = Connection::new(role, config, Phase::Open, rng);
        conn.subprotocol = agreement.subprotocol.clone();
        conn.open_with(agreed);
        Ok(conn)
    }

    /// Server: accepts the pending [`Event::Request`]. The 101 answer goes
    /// into the output buffer and [`Event::Open`] follows.
    pub fn accept(&mut self, accept: Accept) -> Result<(), UsageError> {
        let Phase::AwaitDecision(request) = &self.phase else {
            return Err(UsageError::NoPendingRequest);
        };
        if let Some(p) = &accept.subprotocol
            && !request.subprotocols().any(|offered| offered == p)
        {
            return Err(UsageError::SubprotocolNotOffered);
        }
        handshake::check_headers(&accept.headers)?;
        let agreed = if accept.compression {
            extensions::server_negotiate(&self.config, request.extension_values())
        } else {
            Agreed::default()
        };
        let bytes = handshake::accept_response_bytes(
            request.accept_key(),
            accept.subprotocol.as_deref(),
            agreed.header(),
            &accept.headers,
        );
        self.send.raw(&mut self.out, &bytes);
        self.subprotocol = accept.subprotocol;
        self.phase = Phase::Open;
        self.open_with(agreed);
        self.events.push_back(Event::Open(Open {
            subprotocol: self.subprotocol.clone(),
            extensions: self.extensions.clone(),
            response: None,
        }));
        Ok(())
    }

    /// Server: refuses the pending [`Event::Request`] with an HTTP answer;
    /// [`Event::Closed`] follows.
    pub fn reject(&mut self, reject: Reject) -> Result<(), UsageError> {
        if !matches!(self.phase, Phase::AwaitDecision(_)) {
            return Err(UsageError::NoPendingRequest);
        }
        if !(200..=599).contains(&reject.status) || reject.status == 204 || reject.status == 304 {
            return Err(UsageError::InvalidStatus(reject.status));
        }
        handshake::check_headers(&reject.headers)?;
        self.answer(reject.status, &reject.headers, &reject.body);
        self.finish(Teardown::server_done());
        Ok(())
    }

    /// Queues a non-101 answer.
    pub(super) fn answer(&mut self, status: u16, headers: &[(String, String)], body: &[u8]) {
        let bytes = handshake::reject_response_bytes(status, headers, body);
        self.send.raw(&mut self.out, &bytes);
    }

    /// Applies an agreement in both directions and starts the keepalive.
    fn open_with(&mut self, agreed: Agreed) {
        self.send.configure(&agreed, self.role, &self.config);
        self.recv.configure(&agreed);
        self.extensions = agreed.into_header();
        self.timers
            .set(super::Which::Handshake, super::Deadline::Off);
        // The handshake's own bytes are not traffic for the keepalive.
        self.activity = false;
        if let Some(k) = self.config.keepalive {
            self.timers.set(
                super::Which::Keepalive,
                super::Deadline::start(Some(k.interval)),
            );
        }
    }

    pub(super) fn step_request(&mut self) -> bool {
        let Phase::AwaitRequest(scanner) = &mut self.phase else {
            return false;
        };
        match scanner.scan(self.input.data(), &self.config.limits) {
            Ok(Some(n)) => {
                let head = Bytes::copy_from_slice(&self.input.data()[..n]);
                self.input.consume(n);
                match Request::parse(head, &self.config.limits) {
                    Ok(request) => self.request_received(request),
                    Err(e) => self.fail_handshake(e),
                }
                true
            }
            Ok(None) if self.eof => {
                self.fail_handshake(HandshakeError::Eof);
                true
            }
            Ok(None) => false,
            Err(e) => {
                self.fail_handshake(e);
                true
            }
        }
    }

    fn request_received(&mut self, request: Request) {
        if !self
            .config
            .origin_policy
            .allows(request.origin(), request.host())
        {
            self.fail_handshake(HandshakeError::OriginRejected);
            return;
        }
        self.phase = Phase::AwaitDecision(Box::new(request.clone()));
        self.events.push_back(Event::Request(request));
    }

    pub(super) fn step_response(&mut self) -> bool {
        let Phase::AwaitResponse(hs) = &mut self.phase else {
            return false;
        };
        let n = match handshake::find_response(hs, self.input.data(), &self.config.limits) {
            Ok(Some(n)) => n,
            Ok(None) if self.eof => {
                self.fail_handshake(HandshakeError::Eof);
                return true;
            }
            Ok(None) => return false,
            Err(e) => {
                self.fail_handshake(e);
                return true;
            }
        };
        let head = Bytes::copy_from_slice(&self.input.data()[..n]);
        self.input.consume(n);
        let response = match handshake::parse_response(head, &self.config.limits) {
            Ok(r) => r,
            Err(e) => {
                self.fail_handshake(e);
                return true;
            }
        };
        if response.status() != 101 {
            let length = handshake::body_length(&response);
            self.phase = Phase::ReadingRejection(Box::new(Rejection {
                response,
                length,
                body: Vec::new(),
            }));
            return true;
        }
        let checked = handshake::check_switching(&response, hs).and_then(|subprotocol| {
            let agreed = extensions::client_accept(&self.config, response.extension_values())
                .map_err(|_| HandshakeError::UnexpectedExtension)?;
            Ok((subprotocol, agreed))
        });
        match checked {
            Ok((subprotocol, agreed)) => {
                self.subprotocol = subprotocol;
                self.phase = Phase::Open;
                self.open_with(agreed);
                self.events.push_back(Event::Open(Open {
                    subprotocol: self.subprotocol.clone(),
                    extensions: self.extensions.clone(),
                    response: Some(response),
                }));
            }
            Err(e) => self.fail_handshake(e),
        }
        true
    }

    /// Reads the body of a non-101 answer, at most `max_handshake_size`
    /// bytes, then fails the handshake with the whole answer.
    pub(super) fn step_rejection(&mut self) -> bool {
        let cap = self.config.limits.max_handshake_size;
        let Phase::ReadingRejection(r) = &mut self.phase else {
            return false;
        };
        let want = match r.length {
            BodyLength::Fixed(n) => usize::try_from(n).unwrap_or(usize::MAX).min(cap),
            BodyLength::UntilEof => cap,
            BodyLength::Skip => 0,
        };
        let take = self.input.len().min(want - r.body.len());
        r.body.extend_from_slice(&self.input.data()[..take]);
        self.input.consume(take);
        if r.body.len() < want && !self.eof {
            return take > 0;
        }
        // The phase is replaced right away by fail_handshake.
        if let Phase::ReadingRejection(r) = core::mem::replace(&mut self.phase, Phase::Open) {
            let Rejection {
                mut response, body, ..
            } = *r;
            response.set_body(Bytes::from(body));
            self.fail_handshake(HandshakeError::Rejected(Box::new(response)));
        }
        true
    }

    /// The opening handshake failed: a server answers with an HTTP error; a
    /// client just closes.
    pub(super) fn fail_handshake(&mut self, error: HandshakeError) {
        let teardown = match self.role {
            Role::Server if error != HandshakeError::Eof => {
                let body = alloc::format!("{error}\n");
                self.answer(error.http_status(), &[], body.as_bytes());
                Teardown::server_done()
            }
            Role::Server => Teardown::after_eof(),
            Role::Client => Teardown::client_gives_up(),
        };
        self.events.push_back(Event::Error(Error::Handshake(error)));
        self.finish(teardown);
    }
}
