//! An HTTPS client for tests that controls what curl's flags control: the address to connect
//! to (`--connect-to`), the SNI (or none), the Host, the CA, a client certificate, HTTP/2.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;

/// One request.
#[derive(Debug)]
pub struct Call<'a> {
    /// The address to connect to.
    pub addr: SocketAddr,
    /// `None` sends no SNI at all.
    pub sni: Option<&'a str>,
    /// The Host (and SNI).
    pub host: &'a str,
    /// The method.
    pub method: &'a str,
    /// The path.
    pub path: &'a str,
    /// Extra headers.
    pub headers: Vec<(&'a str, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The CAs to trust.
    pub roots: Vec<CertificateDer<'static>>,
    /// The client certificate and key, if any.
    pub identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    /// Whether to speak HTTP/2.
    pub http2: bool,
}

impl<'a> Call<'a> {
    /// A GET of `path` on `host`, SNI = host, trusting `roots`.
    pub fn get(
        addr: SocketAddr,
        host: &'a str,
        path: &'a str,
        roots: Vec<CertificateDer<'static>>,
    ) -> Call<'a> {
        Call {
            addr,
            sni: Some(host),
            host,
            method: "GET",
            path,
            headers: vec![],
            body: vec![],
            roots,
            identity: None,
            http2: false,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A response, body read whole.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body, as text.
    pub body: String,
}

impl Reply {
    /// A header's value, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Makes the call; `Err` carries the connect or TLS error in words.
pub async fn call(c: &Call<'_>) -> Result<Reply, String> {
    tokio::time::timeout(Duration::from_secs(10), call_inner(c))
        .await
        .map_err(|_| "timed out".to_owned())?
}

async fn call_inner(c: &Call<'_>) -> Result<Reply, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(c.roots.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match &c.identity {
        // Sent as given, unchecked: tests send certificates that are wrong on purpose (rustls's
        // own `with_client_auth_cert` would refuse to load some of them).
        Some((chain, key)) => {
            let signer = provider
                .key_provider
                .load_private_key(key.clone_key())
                .map_err(|e| e.to_string())?;
            let certified = Arc::new(rustls::sign::CertifiedKey::new(chain.clone(), signer));
            builder.with_client_cert_resolver(Arc::new(AsGiven(certified)))
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = if c.http2 {
        vec![b"h2".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    let name = match c.sni {
        Some(s) => ServerName::try_from(s.to_owned()).map_err(|e| e.to_string())?,
        None => {
            config.enable_sni = false;
            ServerName::try_from(c.host.to_owned()).map_err(|e| e.to_string())?
        }
    };
    let tcp = TcpStream::connect(c.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let mut req = http::Request::builder().method(c.method).uri(if c.http2 {
        format!("https://{}{}", c.host, c.path)
    } else {
        c.path.to_owned()
    });
    if !c.http2 {
        req = req.header("host", c.host);
    }
    for (k, v) in &c.headers {
        req = req.header(*k, v.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(c.body.clone())))
        .map_err(|e| e.to_string())?;
    let io = TokioIo::new(tls);
    let res = if c.http2 {
        let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| format!("h2: {e}"))?;
        tokio::spawn(conn);
        send.ready().await.map_err(|e| format!("h2: {e}"))?;
        send.send_request(req).await
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| format!("h1: {e}"))?;
        tokio::spawn(conn);
        send.ready().await.map_err(|e| format!("h1: {e}"))?;
        send.send_request(req).await
    }
    .map_err(|e| format!("request: {e}"))?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A client identity sent whatever the server asks.
#[derive(Debug)]
struct AsGiven(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for AsGiven {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// An HTTP/2 connection that asks and never reads: its streams' flow-control windows start at
/// zero and are never opened, so the server can send heads but no body byte. Kept open while
/// this lives.
#[derive(Debug)]
pub struct Unread {
    /// The responses whose heads came, bodies unread.
    pub heads: Vec<http::Response<hyper::body::Incoming>>,
    _send: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    _pending: Vec<tokio::task::JoinHandle<()>>,
}

/// Opens one HTTP/2 connection to `addr` (SNI and `:authority` `host`, trusting `ca`), sends
/// `streams` GETs of `path` at once, and waits for response heads: as many as the server lets
/// run at once (its SETTINGS_MAX_CONCURRENT_STREAMS) arrive, the rest wait. It waits until
/// `expect` heads came, and then `wait` longer for any more (or `wait` in all when fewer come).
pub async fn unread_h2(
    addr: SocketAddr,
    host: &str,
    ca: &[CertificateDer<'static>],
    path: &str,
    streams: usize,
    expect: usize,
    wait: Duration,
) -> Result<Unread, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in ca {
        roots.add(c.clone()).map_err(|e| e.to_string())?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let name = ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let (send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(0)
        .initial_connection_window_size(65_535)
        .adaptive_window(false)
        .handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("h2: {e}"))?;
    tokio::spawn(conn);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut pending = Vec::new();
    for _ in 0..streams {
        let mut send = send.clone();
        let tx = tx.clone();
        let req = http::Request::get(format!("https://{host}{path}"))
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        pending.push(tokio::spawn(async move {
            if send.ready().await.is_ok()
                && let Ok(res) = send.send_request(req).await
            {
                let _ = tx.send(res);
            }
        }));
    }
    drop(tx);
    let mut heads = Vec::new();
    // The first `expect` heads may take a while on a loaded machine (a debug build, tests in
    // parallel); the wait for any more after them is `wait`.
    let mut deadline = tokio::time::Instant::now() + (wait * 4).max(Duration::from_secs(30));
    while let Ok(Some(res)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        heads.push(res);
        if heads.len() == expect {
            // Any more than expected would come now.
            deadline = tokio::time::Instant::now() + wait;
        }
    }
    Ok(Unread {
        heads,
        _send: send,
        _pending: pending,
    })
}
