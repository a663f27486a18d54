//! The client's transport: plain TCP, or TLS through tokio-rustls (feature
//! `rustls`) with the Mozilla roots of webpki-roots and SNI from the URI's
//! host.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use wsmachine::ClientRequest;

use crate::Error;

/// What [`connect_async`](crate::connect_async) connects: TCP, or TLS over
/// TCP for `wss://`.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream<S> {
    /// `ws://`.
    Plain(S),
    /// `wss://`.
    #[cfg(feature = "rustls")]
    Rustls(Box<tokio_rustls::client::TlsStream<S>>),
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            MaybeTlsStream::Plain($s) => $e,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls($s) => $e,
        }
    };
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write(cx, buf))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.is_write_vectored(),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

/// The URI's host without IPv6 brackets.
fn bare_host(request: &ClientRequest) -> &str {
    request.host().trim_start_matches('[').trim_end_matches(']')
}

pub(crate) async fn tcp_connect(request: &ClientRequest) -> Result<TcpStream, Error> {
    let tcp = TcpStream::connect((bare_host(request), request.port())).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

#[cfg(not(feature = "rustls"))]
pub(crate) async fn wrap(
    request: &ClientRequest,
    tcp: TcpStream,
    _: Option<()>,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    if request.is_tls() {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::Unsupported,
            "wss:// needs the `rustls` feature of wsmachine-tokio",
        )));
    }
    Ok(MaybeTlsStream::Plain(tcp))
}

#[cfg(feature = "rustls")]
pub(crate) async fn wrap(
    request: &ClientRequest,
    tcp: TcpStream,
    tls: Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    use tokio_rustls::rustls::pki_types::ServerName;
    if !request.is_tls() {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    let config = match tls {
        Some(c) => c,
        None => default_tls()?,
    };
    let name = ServerName::try_from(bare_host(request).to_owned())
        .map_err(|e| Error::Io(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await?;
    Ok(MaybeTlsStream::Rustls(Box::new(stream)))
}

/// A client configuration trusting the Mozilla roots of webpki-roots, on
/// the ring provider; built once.
#[cfg(feature = "rustls")]
fn default_tls() -> Result<std::sync::Arc<tokio_rustls::rustls::ClientConfig>, Error> {
    use std::sync::{Arc, OnceLock};
    use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(c) = CONFIG.get() {
        return Ok(c.clone());
    }
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Io(io::Error::other(e)))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(CONFIG.get_or_init(|| Arc::new(config)).clone())
}

/// [`connect_async_with_config`](crate::connect_async_with_config) with a
/// rustls client configuration of your own (a private root store, client
/// certificates). `ws://` URIs ignore it.
#[cfg(feature = "rustls")]
pub async fn connect_async_with_tls(
    request: ClientRequest,
    config: impl Into<std::sync::Arc<wsmachine::Config>>,
    tls: std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
) -> Result<
    (
        crate::WebSocketStream<MaybeTlsStream<TcpStream>>,
        wsmachine::Response,
    ),
    Error,
> {
    let tcp = tcp_connect(&request).await?;
    let stream = wrap(&request, tcp, Some(tls)).await?;
    crate::client_async_with_config(request, stream, config).await
}
