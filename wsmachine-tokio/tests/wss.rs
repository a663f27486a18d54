//! wss:// end to end: a local TLS echo server whose certificate is made in
//! the test, trusted through a custom root store; and the default roots
//! refusing it.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use wsmachine::{ClientRequest, CloseCode, Config, Message};
use wsmachine_tokio::{Error, MaybeTlsStream, accept_async, connect_async, connect_async_with_tls};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS echo server for `localhost` on an ephemeral port; returns the
/// port and the certificate to trust.
async fn tls_echo_server() -> (u16, rustls::pki_types::CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let (write, read) = accept_async(tls).await.unwrap().split();
                let _ = read.forward(write).await;
            });
        }
    });
    (port, cert)
}

#[tokio::test]
async fn wss_round_trip_with_a_custom_root_store() {
    let (port, cert) = tls_echo_server().await;
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let tls = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let request = ClientRequest::new(&format!("wss://localhost:{port}/secure")).unwrap();
    let (mut ws, response) = connect_async_with_tls(request, Config::default(), Arc::new(tls))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert!(matches!(ws.get_ref(), MaybeTlsStream::Rustls(_)));
    for m in [Message::from("over TLS"), Message::from(vec![3u8; 300_000])] {
        ws.send(m.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), m);
    }
    let closed = ws.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(closed.clean);
}

#[tokio::test]
async fn the_default_roots_refuse_a_self_signed_certificate() {
    let (port, _) = tls_echo_server().await;
    match connect_async(&format!("wss://localhost:{port}/")).await {
        Err(Error::Io(e)) => assert!(e.to_string().contains("certificate"), "{e}"),
        other => panic!("{:?}", other.map(|_| ())),
    }
}
