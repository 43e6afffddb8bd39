//! A stand-in for the on-prem systems behind the gateway: HTTPS that requires a client
//! certificate from a given CA (the gateway's), and answers every request with a JSON echo of
//! what it received, after an optional delay. The lab runs one per HTTP_PROXY upstream; tests use
//! it to check what the gateway forwards.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;

use crate::pki::Identity;
use crate::tls::provider;

/// The upstream could not start.
#[derive(Debug, thiserror::Error)]
#[error("the on-prem upstream: {0}")]
pub struct OnPremError(String);

/// A running upstream; it stops when dropped.
#[derive(Debug)]
pub struct OnPrem {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Signalled when a request arrives (before the stand-in's delay), for tests that must
    /// act while one is in flight.
    pub arrived: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OnPrem {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OnPrem {
    /// Starts on 127.0.0.1:0 with `identity` as its server certificate. With `client_ca`, a
    /// client certificate from that CA is required (the handshake fails without one).
    pub async fn start(
        identity: &Identity,
        client_ca: Option<CertificateDer<'static>>,
        delay: Duration,
    ) -> Result<OnPrem, OnPremError> {
        let err = |e: &dyn std::fmt::Display| OnPremError(e.to_string());
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| err(&e))?;
        let builder = match client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca).map_err(|e| err(&e))?;
                let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider(),
                )
                .build()
                .map_err(|e| err(&e))?;
                builder.with_client_cert_verifier(v)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(identity.chain.clone(), identity.key_der())
            .map_err(|e| err(&e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| err(&e))?;
        let addr = listener.local_addr().map_err(|e| err(&e))?;
        let arrived = Arc::new(tokio::sync::Notify::new());
        let signal = arrived.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let signal = signal.clone();
                tokio::spawn(async move {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let client = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c| crate::tls::describe(c).0);
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let client = client.clone();
                        signal.notify_one();
                        async move {
                            tokio::time::sleep(delay).await;
                            let method = req.method().to_string();
                            let uri = req.uri().to_string();
                            let key = req.headers().get("x-api-key").is_some();
                            let host = req
                                .headers()
                                .get("host")
                                .and_then(|h| h.to_str().ok())
                                .unwrap_or("")
                                .to_owned();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes().len())
                                .unwrap_or(0);
                            let echo = serde_json::json!({
                                "method": method, "uri": uri, "host": host, "api_key_forwarded": key,
                                "client_certificates": usize::from(client.is_some()), "client_subject": client, "body_bytes": body,
                            });
                            let mut res =
                                hyper::Response::new(Full::new(Bytes::from(echo.to_string())));
                            res.headers_mut().insert(
                                http::header::CONTENT_TYPE,
                                http::HeaderValue::from_static("application/json"),
                            );
                            Ok::<_, std::convert::Infallible>(res)
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        Ok(OnPrem {
            addr,
            arrived,
            task,
        })
    }
}
