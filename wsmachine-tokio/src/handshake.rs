//! Opening handshakes: `connect_async`, `client_async`, `accept_async` and
//! the two-step [`accept_request`].

use std::future::{Future, poll_fn};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wsmachine::{Accept, ClientRequest, Config, Connection, Event, Reject, Request, Response};

use crate::{Error, MaybeTlsStream, WebSocketStream};

/// The default configuration, shared by every connection that uses it.
pub(crate) fn default_config() -> Arc<Config> {
    static DEFAULT: OnceLock<Arc<Config>> = OnceLock::new();
    DEFAULT.get_or_init(|| Arc::new(Config::default())).clone()
}

/// Connects to a `ws://` (or, with the `rustls` feature, `wss://`) URI with
/// the default configuration: TCP, TLS if asked for, the opening
/// handshake. Returns the open stream and the server's 101 answer.
pub async fn connect_async(
    uri: &str,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    let request = ClientRequest::new(uri).map_err(Error::Usage)?;
    connect_async_with_config(request, default_config()).await
}

/// [`connect_async`] with a request (subprotocols, headers) and a
/// configuration of your own.
pub async fn connect_async_with_config(
    request: ClientRequest,
    config: impl Into<Arc<Config>>,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    let tcp = crate::tls::tcp_connect(&request).await?;
    let stream = crate::tls::wrap(&request, tcp, None).await?;
    client_async_with_config(request, stream, config).await
}

/// Runs the client's opening handshake over a transport you connected
/// yourself (a proxy tunnel, a Unix socket, your own TLS).
pub async fn client_async<S: AsyncRead + AsyncWrite + Unpin>(
    request: ClientRequest,
    stream: S,
) -> Result<(WebSocketStream<S>, Response), Error> {
    client_async_with_config(request, stream, default_config()).await
}

/// [`client_async`] with a configuration of your own.
pub async fn client_async_with_config<S: AsyncRead + AsyncWrite + Unpin>(
    request: ClientRequest,
    stream: S,
    config: impl Into<Arc<Config>>,
) -> Result<(WebSocketStream<S>, Response), Error> {
    let conn = Connection::client(config, &request).map_err(Error::Usage)?;
    let mut ws = WebSocketStream::from_connection(stream, conn);
    match *handshake_event(&mut ws).await? {
        Event::Open(open) => Ok((ws, open.response.unwrap_or_else(|| unreachable!()))),
        _ => Err(Error::Closed),
    }
}

/// Accepts a WebSocket connection on a transport with the default
/// configuration, agreeing to no subprotocol (and to permessage-deflate if
/// the client offers it).
pub fn accept_async<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
) -> impl Future<Output = Result<WebSocketStream<S>, Error>> {
    accept_async_with_config(stream, default_config())
}

/// [`accept_async`] with a configuration of your own.
///
/// The connection is made at once; the returned future runs its handshake.
pub fn accept_async_with_config<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    config: impl Into<Arc<Config>>,
) -> impl Future<Output = Result<WebSocketStream<S>, Error>> {
    // `accept_request` and `Upgrade::accept` in one small future that holds
    // the stream once: the application's task is as large as the largest
    // future it awaits, for as long as the connection lives.
    let mut ws = Some(WebSocketStream::from_connection(
        stream,
        Connection::server(config),
    ));
    let mut got = None;
    let mut accepted = false;
    poll_fn(move |cx| {
        loop {
            let stream = ws.as_mut().expect("polled after completion");
            let event = std::task::ready!(poll_handshake(stream, &mut got, cx))?;
            match (*event, accepted) {
                (Event::Request(_), false) => {
                    stream
                        .driver
                        .conn
                        .accept(Accept::new())
                        .map_err(Error::Usage)?;
                    accepted = true;
                }
                (Event::Open(_), true) => return Poll::Ready(Ok(ws.take().expect("open"))),
                _ => return Poll::Ready(Err(Error::Closed)),
            }
        }
    })
}

/// Reads and validates the client's upgrade request and hands it over
/// before answering: look at the path, headers, `Origin`, subprotocols
/// (authentication can `await` here), then [`Upgrade::accept`] or
/// [`Upgrade::reject`]. An invalid request has been answered (400, 403,
/// 426, 431) when this returns its error.
pub async fn accept_request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    config: impl Into<Arc<Config>>,
) -> Result<Upgrade<S>, Error> {
    let mut ws = WebSocketStream::from_connection(stream, Connection::server(config));
    match *handshake_event(&mut ws).await? {
        Event::Request(request) => Ok(Upgrade { ws, request }),
        _ => Err(Error::Closed),
    }
}

/// A validated upgrade request waiting for the application's answer.
#[derive(Debug)]
pub struct Upgrade<S> {
    ws: WebSocketStream<S>,
    request: Request,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Upgrade<S> {
    /// The request: path, query, headers, `Origin`, subprotocols offered.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Accepts: sends the 101 answer and returns the open stream.
    pub async fn accept(mut self, accept: Accept) -> Result<WebSocketStream<S>, Error> {
        self.ws.driver.conn.accept(accept).map_err(Error::Usage)?;
        match *handshake_event(&mut self.ws).await? {
            Event::Open(_) => Ok(self.ws),
            _ => Err(Error::Closed),
        }
    }

    /// Refuses with an HTTP answer, written out before the transport is
    /// closed.
    pub async fn reject(mut self, reject: Reject) -> Result<(), Error> {
        self.ws.driver.conn.reject(reject).map_err(Error::Usage)?;
        while poll_fn(|cx| self.ws.poll_event(cx)).await.is_some() {}
        Ok(())
    }
}

/// Drives a connection in its opening handshake to its next event; a
/// failure is reported once the connection is finished (its answer
/// written).
async fn handshake_event<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
) -> Result<Box<Event>, Error> {
    let mut got = None;
    poll_fn(|cx| poll_handshake(ws, &mut got, cx)).await
}

/// [`handshake_event`] as a poll: `got` holds the event while the answer
/// is written. The event is boxed, and the error waits in the driver, so
/// that the futures built on this stay small (see
/// `accept_async_with_config`).
fn poll_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    got: &mut Option<Box<Event>>,
    cx: &mut Context<'_>,
) -> Poll<Result<Box<Event>, Error>> {
    loop {
        if let Some(event) = got.take() {
            // The 101 answer goes out now, whatever the application does
            // next with the stream.
            if ws.poll_write_out(cx).is_pending() {
                *got = Some(event);
                return Poll::Pending;
            }
            return Poll::Ready(Ok(event));
        }
        let error = match std::task::ready!(ws.poll_event(cx)) {
            None => {
                let error = ws.driver.take_owed_error();
                return Poll::Ready(Err(error.unwrap_or(Error::Abnormal)));
            }
            Some(event @ (Event::Request(_) | Event::Open(_))) => {
                *got = Some(Box::new(event));
                continue;
            }
            Some(Event::Error(wsmachine::Error::Transport)) => {
                let io = ws.driver.take_io_error();
                io.map_or(Error::Abnormal, Error::Io)
            }
            Some(Event::Error(e)) => Error::WebSocket(e),
            Some(_) => continue,
        };
        // The last one counts.
        ws.driver.take_owed_error();
        ws.driver.owe_error(error);
    }
}
