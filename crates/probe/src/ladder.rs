//! DNS → TCP → TLS → HTTP, each step timed, bounded and recorded. A failing step ends the
//! ladder; the observation says how far it got.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use parallax_dns::client::lookup_a;
use parallax_model::{DnsOutcome, HttpOutcome, Outcome, Rcode, classify};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::failure::{ClientCertRefusal, DnsFailure, HttpFailure, ServerCertProblem, TlsFailure};
use crate::observation::{
    CertInfo, ConnectFailure, ConnectLayer, DnsAnswer, DnsLayer, HttpLayer, Observation, TlsLayer,
};
use crate::options::ProbeOptions;

/// The most of the body kept for the report.
pub const BODY_KEEP: usize = 4096;
/// The most the probe reads of a response head (status line and headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// Each step's own limit, within `--max-time`.
const STEP: Duration = Duration::from_secs(10);

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

/// Runs the whole ladder for `opts`, or with the connecting address pinned to `pin`.
pub async fn run(opts: &ProbeOptions, pin: Option<IpAddr>) -> Observation {
    let started = Instant::now();
    let deadline = started + opts.max_time;
    let url = &opts.url;
    let host = url.host.as_str();

    let path = match pin {
        Some(addr) => pinned(addr, "confirmation"),
        None => path_answer(opts, deadline).await,
    };
    let mut compare = Vec::new();
    if pin.is_none() {
        for (name, server) in &opts.compare_dns {
            compare.push(ask(name, *server, opts, deadline).await);
        }
    }
    let dns = DnsLayer { path, compare };
    let mut obs = Observation {
        url: url.to_string(),
        method: opts.method.clone(),
        request_headers: redacted_headers(opts),
        dns,
        connect: None,
        tls: None,
        http: None,
        outcome: Outcome {
            dns: DnsOutcome {
                rcode: Rcode::ServFail,
                cname_chain: vec![],
                addresses: vec![],
                ttl: None,
            },
            front_door: None,
            http: None,
        },
        total_ms: 0.0,
    };
    obs.outcome.dns = obs.dns.path.outcome.clone();
    let Some(ip) = obs.dns.path.outcome.addresses.first().copied() else {
        obs.total_ms = ms(started.elapsed());
        return obs;
    };

    // Connect.
    let addr = SocketAddr::new(ip, url.port);
    let via = opts
        .connect_to
        .iter()
        .find(|c| {
            (c.host.is_empty() || c.host == host || c.host == ip.to_string())
                && c.port.is_none_or(|p| p == url.port)
        })
        .map(|c| c.to);
    if via.is_none() && opts.only_connect_to {
        obs.connect = Some(ConnectLayer {
            addr,
            via: None,
            elapsed_ms: 0.0,
            failure: Some(ConnectFailure::Unreachable),
            error: Some(format!(
                "{addr} is not in the connect map, and only mapped addresses may be dialled (the lab never leaves loopback)"
            )),
        });
        obs.total_ms = ms(started.elapsed());
        return obs;
    }
    let dial = via.unwrap_or(addr);
    let t0 = Instant::now();
    let tcp = match tokio::time::timeout(left(deadline).min(STEP), TcpStream::connect(dial)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err((connect_failure(&e), e.to_string())),
        Err(_) => Err((
            ConnectFailure::TimedOut,
            format!(
                "no connection within {} ms",
                left(deadline).min(STEP).as_millis()
            ),
        )),
    };
    let connect = ConnectLayer {
        addr,
        via,
        elapsed_ms: ms(t0.elapsed()),
        failure: tcp.as_ref().err().map(|e| e.0),
        error: tcp.as_ref().err().map(|e| e.1.clone()),
    };
    obs.connect = Some(connect);
    let Ok(tcp) = tcp else {
        obs.total_ms = ms(started.elapsed());
        return obs;
    };
    let _ = tcp.set_nodelay(true);
    let mut tcp = tcp;
    if let Some(claimed) = opts.haproxy {
        let local = tcp.local_addr().unwrap_or(SocketAddr::new(ip, 0));
        let src = SocketAddr::new(claimed.unwrap_or(local.ip()), local.port());
        let line = parallax_rules::proxy_header::write_v1(src, addr);
        if let Err(e) = tcp.write_all(line.as_bytes()).await
            && let Some(c) = obs.connect.as_mut()
        {
            c.failure = Some(ConnectFailure::Other);
            c.error = Some(format!("sending the PROXY protocol header: {e}"));
            obs.total_ms = ms(started.elapsed());
            return obs;
        }
    }

    if !url.https {
        let (http, outcome) = http_exchange(TokioIo::new(tcp), false, opts, deadline).await;
        obs.http = Some(http);
        obs.outcome.http = outcome;
        obs.total_ms = ms(started.elapsed());
        return obs;
    }

    // TLS.
    let recorder = Arc::new(Recorder::default());
    let mut tls = TlsLayer {
        sni: Some(host.to_owned()),
        ..Default::default()
    };
    let config = match client_config(opts, recorder.clone()) {
        Ok(c) => c,
        Err(what) => {
            tls.fail(TlsFailure::LocalSetup { what });
            obs.tls = Some(tls);
            obs.total_ms = ms(started.elapsed());
            return obs;
        }
    };
    let Ok(server_name) = ServerName::try_from(host.to_owned()) else {
        tls.fail(TlsFailure::BadServerName {
            host: host.to_owned(),
        });
        obs.tls = Some(tls);
        return obs;
    };
    let t0 = Instant::now();
    let handshake = tokio::time::timeout(
        left(deadline).min(STEP),
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(server_name, tcp),
    )
    .await;
    tls.elapsed_ms = ms(t0.elapsed());
    recorder.fill(&mut tls, host);
    let stream = match handshake {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            let got_hello = !tls.chain.is_empty();
            tls.fail(TlsFailure::of_handshake(&e, got_hello));
            obs.tls = Some(tls);
            obs.total_ms = ms(started.elapsed());
            return obs;
        }
        Err(_) => {
            tls.fail(TlsFailure::TimedOut);
            obs.tls = Some(tls);
            obs.total_ms = ms(started.elapsed());
            return obs;
        }
    };
    let (_, session) = stream.get_ref();
    tls.version = session
        .protocol_version()
        .map(|v| format!("{v:?}").replace('_', "."));
    tls.cipher = session
        .negotiated_cipher_suite()
        .map(|c| format!("{:?}", c.suite()));
    tls.alpn = session
        .alpn_protocol()
        .map(|a| String::from_utf8_lossy(a).into_owned());
    let h2 = session.alpn_protocol() == Some(b"h2");
    let (http, outcome) = http_exchange(TokioIo::new(stream), h2, opts, deadline).await;
    // TLS 1.3 sends the server's verdict on our certificate after the handshake: it shows up
    // as an alert on the first read, i.e. as the HTTP exchange failing.
    if let Some(HttpFailure::TlsAlert { description }) = &http.failure
        && tls.client_cert_requested
    {
        tls.refused(if description == "certificate_required" {
            ClientCertRefusal::Required
        } else {
            ClientCertRefusal::Alert {
                description: description.clone(),
            }
        });
    }
    obs.tls = Some(tls);
    obs.http = Some(http);
    obs.outcome.http = outcome;
    obs.total_ms = ms(started.elapsed());
    obs
}

/// Header names whose values are secrets.
pub const SECRET_HEADERS: [&str; 4] = [
    "x-api-key",
    "authorization",
    "proxy-authorization",
    "cookie",
];

/// The request headers for the report, secrets replaced by `***`.
pub fn redacted_headers(opts: &ProbeOptions) -> std::collections::BTreeMap<String, String> {
    let mut out: std::collections::BTreeMap<String, String> = opts
        .headers
        .iter()
        .map(|(k, v)| {
            let k = k.to_ascii_lowercase();
            let v = if SECRET_HEADERS.contains(&k.as_str()) {
                "***".to_owned()
            } else {
                v.clone()
            };
            (k, v)
        })
        .collect();
    if opts.api_key.is_some() {
        out.insert("x-api-key".to_owned(), "***".to_owned());
    }
    out
}

fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

fn pinned(addr: IpAddr, why: &str) -> DnsAnswer {
    DnsAnswer {
        resolver: "pinned".to_owned(),
        server: None,
        source: Some(why.to_owned()),
        outcome: DnsOutcome {
            rcode: Rcode::NoError,
            cname_chain: vec![],
            addresses: vec![addr],
            ttl: None,
        },
        classes: vec![classify(addr)],
        elapsed_ms: 0.0,
        failure: None,
        error: None,
    }
}

/// The answer of the connecting path: `--resolve`, else `--dns-servers`, else the system's
/// (`/etc/hosts`, then `/etc/resolv.conf`'s nameservers), as getaddrinfo would.
async fn path_answer(opts: &ProbeOptions, deadline: Instant) -> DnsAnswer {
    let host = opts.url.host.as_str();
    if let Some(p) = opts
        .resolve
        .iter()
        .find(|p| p.host == host && p.port == opts.url.port)
    {
        return pinned(p.addr, "--resolve");
    }
    if !opts.dns_servers.is_empty() {
        return ask_each("dns-servers", &opts.dns_servers, opts, deadline).await;
    }
    if let Some(addrs) = hosts_file(host) {
        let classes = addrs.iter().map(|a| classify(*a)).collect();
        return DnsAnswer {
            resolver: "system".to_owned(),
            server: None,
            source: Some("/etc/hosts".to_owned()),
            outcome: DnsOutcome {
                rcode: Rcode::NoError,
                cname_chain: vec![],
                addresses: addrs,
                ttl: None,
            },
            classes,
            elapsed_ms: 0.0,
            failure: None,
            error: None,
        };
    }
    let servers = system_nameservers();
    if servers.is_empty() {
        let mut a = pinned(IpAddr::from([0, 0, 0, 0]), "");
        a.resolver = "system".to_owned();
        a.source = None;
        a.outcome.addresses.clear();
        a.classes.clear();
        a.outcome.rcode = Rcode::ServFail;
        a.fail(DnsFailure::NoNameserver);
        return a;
    }
    ask_each("system", &servers, opts, deadline).await
}

async fn ask_each(
    name: &str,
    servers: &[SocketAddr],
    opts: &ProbeOptions,
    deadline: Instant,
) -> DnsAnswer {
    let mut last = None;
    for s in servers {
        let a = ask(name, *s, opts, deadline).await;
        if a.error.is_none() {
            return a;
        }
        last = Some(a);
    }
    // `servers` is never empty here; the fallback keeps the type total.
    last.unwrap_or_else(|| pinned(IpAddr::from([0, 0, 0, 0]), "no server"))
}

async fn ask(name: &str, server: SocketAddr, opts: &ProbeOptions, deadline: Instant) -> DnsAnswer {
    let t0 = Instant::now();
    let timeout = left(deadline).min(Duration::from_secs(3));
    let (outcome, failure) = match lookup_a(server, &opts.url.host, timeout).await {
        Ok(o) => (o, None),
        Err(e) => (
            DnsOutcome {
                rcode: Rcode::ServFail,
                cname_chain: vec![],
                addresses: vec![],
                ttl: None,
            },
            Some(DnsFailure::of(&e)),
        ),
    };
    let classes = outcome.addresses.iter().map(|a| classify(*a)).collect();
    let mut a = DnsAnswer {
        resolver: name.to_owned(),
        server: Some(server),
        source: None,
        outcome,
        classes,
        elapsed_ms: ms(t0.elapsed()),
        failure: None,
        error: None,
    };
    if let Some(f) = failure {
        a.fail(f);
    }
    a
}

/// `/etc/hosts` entries for `host`, as getaddrinfo reads them.
fn hosts_file(host: &str) -> Option<Vec<IpAddr>> {
    let text = std::fs::read_to_string("/etc/hosts").ok()?;
    let addrs: Vec<IpAddr> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let ip: IpAddr = parts.next()?.parse().ok()?;
            parts.any(|n| n.eq_ignore_ascii_case(host)).then_some(ip)
        })
        .collect();
    (!addrs.is_empty()).then_some(addrs)
}

fn system_nameservers() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

fn connect_failure(e: &std::io::Error) -> ConnectFailure {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => ConnectFailure::Refused,
        TimedOut => ConnectFailure::TimedOut,
        HostUnreachable | NetworkUnreachable | AddrNotAvailable => ConnectFailure::Unreachable,
        _ => ConnectFailure::Other,
    }
}

/// What the verifier and the client-certificate resolver saw during the handshake.
#[derive(Debug, Default)]
struct Recorder {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    verify_error: Mutex<Option<rustls::Error>>,
    requested: Mutex<Option<Vec<String>>>,
    sent: Mutex<bool>,
}

impl Recorder {
    fn fill(&self, tls: &mut TlsLayer, host: &str) {
        let chain = self.chain.lock().map(|c| c.clone()).unwrap_or_default();
        tls.chain = chain.iter().map(|c| cert_info(c)).collect();
        let err = self.verify_error.lock().ok().and_then(|e| e.clone());
        tls.verified = err.is_none() && !chain.is_empty();
        tls.name_match = tls
            .chain
            .first()
            .map(|leaf| leaf.san.iter().any(|n| name_matches(n, host)));
        if let Some(rustls::Error::InvalidCertificate(c)) = &err {
            tls.unverified(ServerCertProblem::of(c));
        } else if let Some(e) = &err {
            tls.unverified(ServerCertProblem::Other {
                detail: e.to_string(),
            });
        }
        if let Some(cas) = self.requested.lock().ok().and_then(|r| r.clone()) {
            tls.client_cert_requested = true;
            tls.acceptable_cas = cas;
        }
        tls.client_cert_sent = self.sent.lock().map(|s| *s).unwrap_or(false);
    }
}

#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    recorder: Arc<Recorder>,
    accept_invalid: bool,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut c) = self.recorder.chain.lock() {
            *c = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
        }
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Ok(v) => Ok(v),
            Err(e) => {
                if let Ok(mut slot) = self.recorder.verify_error.lock() {
                    *slot = Some(e.clone());
                }
                if self.accept_invalid {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(e)
                }
            }
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Notes that the server asked for a client certificate (and which CAs it accepts), and
/// offers ours when we have one.
#[derive(Debug)]
struct RecordingClientCert {
    key: Option<Arc<CertifiedKey>>,
    recorder: Arc<Recorder>,
}

impl ResolvesClientCert for RecordingClientCert {
    fn resolve(&self, hints: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        let names = hints.iter().map(|der| dn_text(der)).collect();
        if let Ok(mut r) = self.recorder.requested.lock() {
            *r = Some(names);
        }
        if let Ok(mut s) = self.recorder.sent.lock() {
            *s = self.key.is_some();
        }
        self.key.clone()
    }
    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

fn client_config(
    opts: &ProbeOptions,
    recorder: Arc<Recorder>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    match &opts.ca {
        Some(ca) => {
            roots.add_parsable_certificates(ca.iter().cloned());
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("trust roots: {e}"))?;
    let verifier = Arc::new(RecordingVerifier {
        inner,
        recorder: recorder.clone(),
        accept_invalid: opts.danger_accept_invalid_certs,
    });
    let key = match &opts.identity {
        Some(id) => {
            let signing = provider
                .key_provider
                .load_private_key(id.key.clone_key())
                .map_err(|e| format!("client key: {e}"))?;
            Some(Arc::new(CertifiedKey::new(id.chain.clone(), signing)))
        }
        None => None,
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(RecordingClientCert { key, recorder }));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The HTTP exchange, with the head bounded to [`MAX_HEAD`] and the body read only as far as
/// [`BODY_KEEP`].
async fn http_exchange<IO>(
    io: TokioIo<IO>,
    h2: bool,
    opts: &ProbeOptions,
    deadline: Instant,
) -> (HttpLayer, Option<HttpOutcome>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let t0 = Instant::now();
    let mut layer = HttpLayer::default();
    let limit = left(deadline).min(STEP * 3);
    let result = tokio::time::timeout(limit, exchange(io, h2, opts)).await;
    layer.elapsed_ms = ms(t0.elapsed());
    match result {
        Err(_) => {
            layer.fail(HttpFailure::TimedOut {
                limit_ms: limit.as_millis() as u64,
            });
            (layer, None)
        }
        Ok(Err(e)) => {
            layer.fail(e);
            (layer, None)
        }
        Ok(Ok((status, headers, body, truncated))) => {
            const SHOWN: [&str; 8] = [
                "x-amzn-requestid",
                "x-amzn-errortype",
                "x-amz-apigw-id",
                "apigw-requestid",
                "via",
                "x-cache",
                "content-type",
                "server",
            ];
            layer.headers = SHOWN
                .iter()
                .filter_map(|n| {
                    headers
                        .get(*n)
                        .and_then(|v| v.to_str().ok())
                        .map(|v| ((*n).to_owned(), v.to_owned()))
                })
                .collect();
            layer.error_type = headers
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(':').next().unwrap_or(v).to_owned());
            layer.status = Some(status);
            layer.body = body;
            layer.body_truncated = truncated;
            let outcome = HttpOutcome {
                status,
                error_type: layer.error_type.clone(),
            };
            (layer, Some(outcome))
        }
    }
}

async fn exchange<IO>(
    io: TokioIo<IO>,
    h2: bool,
    opts: &ProbeOptions,
) -> Result<(u16, http::HeaderMap, String, bool), HttpFailure>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let url = &opts.url;
    let authority = if (url.https && url.port == 443) || (!url.https && url.port == 80) {
        url.host.to_string()
    } else {
        format!("{}:{}", url.host, url.port)
    };
    let mut req = http::Request::builder().method(opts.method.as_str());
    req = if h2 {
        req.uri(format!("https://{authority}{}", url.path))
    } else {
        req.uri(url.path.as_str())
            .header(http::header::HOST, authority)
    };
    req = req.header(
        http::header::USER_AGENT,
        concat!("parallax/", env!("CARGO_PKG_VERSION")),
    );
    for (k, v) in &opts.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(k) = &opts.api_key {
        req = req.header("x-api-key", k.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(opts.body.clone())))
        .map_err(|e| HttpFailure::BadRequest {
            detail: e.to_string(),
        })?;
    // HTTP/1 and HTTP/2 have different sender types and the same steps: drive the connection,
    // wait until it can take the request, send it, and on failure read why the connection died.
    macro_rules! send_on {
        ($send:ident, $conn:ident, $req:ident) => {{
            let task = tokio::spawn($conn);
            let sent = match $send.ready().await {
                Ok(()) => $send.send_request($req).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(res) => res,
                Err(e) => return Err(connection_error(task, HttpFailure::of(&e)).await),
            }
        }};
    }
    let res = if h2 {
        let (mut send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .max_header_list_size(MAX_HEAD as u32)
            .handshake(io)
            .await
            .map_err(|e| HttpFailure::of(&e))?;
        send_on!(send, conn, req)
    } else {
        let (mut send, conn) = hyper::client::conn::http1::Builder::new()
            .max_buf_size(MAX_HEAD.max(8192))
            .handshake(io)
            .await
            .map_err(|e| HttpFailure::of(&e))?;
        send_on!(send, conn, req)
    };
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let mut body = res.into_body();
    let mut kept = Vec::with_capacity(BODY_KEEP);
    let mut truncated = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| HttpFailure::of(&e))?;
        if let Ok(data) = frame.into_data() {
            let room = BODY_KEEP - kept.len();
            kept.extend_from_slice(&data[..data.len().min(room)]);
            if data.len() > room {
                // The rest is not read: dropping the body closes the connection.
                truncated = true;
                break;
            }
        }
    }
    Ok((
        status,
        headers,
        String::from_utf8_lossy(&kept).into_owned(),
        truncated,
    ))
}

/// When a request fails because its connection died ("channel closed"), the reason is in the
/// connection task's own result: a TLS 1.3 alert refusing our client certificate arrives
/// there. Waits briefly for it; otherwise keeps the request's error.
async fn connection_error(
    task: tokio::task::JoinHandle<Result<(), hyper::Error>>,
    fallback: HttpFailure,
) -> HttpFailure {
    match tokio::time::timeout(Duration::from_millis(500), task).await {
        // The connection's own failure says more (a TLS alert) than "channel closed".
        Ok(Ok(Err(e))) => match HttpFailure::of(&e) {
            alert @ HttpFailure::TlsAlert { .. } => alert,
            HttpFailure::Other { .. } => fallback,
            known if matches!(fallback, HttpFailure::Other { .. }) => known,
            _ => fallback,
        },
        _ => fallback,
    }
}

/// One line about a certificate: subject, issuer, and whether it has expired.
pub fn describe_cert(der: &CertificateDer<'_>) -> String {
    let c = cert_info(der);
    let state = if c.days_left < 0 {
        "expired".to_owned()
    } else {
        format!("{} days left", c.days_left)
    };
    format!("{} issued by {} ({state})", c.subject, c.issuer)
}

pub fn cert_info(der: &CertificateDer<'_>) -> CertInfo {
    match x509_parser::parse_x509_certificate(der.as_ref()) {
        Ok((_, c)) => {
            let san = c
                .subject_alternative_name()
                .ok()
                .flatten()
                .map(|ext| {
                    ext.value
                        .general_names
                        .iter()
                        .filter_map(|g| match g {
                            x509_parser::extensions::GeneralName::DNSName(n) => {
                                Some((*n).to_owned())
                            }
                            x509_parser::extensions::GeneralName::IPAddress(b) => {
                                ip_from(b).map(|ip| ip.to_string())
                            }
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let not_after = c.validity().not_after.timestamp();
            CertInfo {
                subject: c.subject().to_string(),
                issuer: c.issuer().to_string(),
                san,
                serial: c.raw_serial_as_string(),
                not_before: c.validity().not_before.to_string(),
                not_after: c.validity().not_after.to_string(),
                days_left: (not_after - now).div_euclid(86_400),
            }
        }
        Err(_) => CertInfo {
            subject: "(unparsable)".into(),
            issuer: String::new(),
            san: vec![],
            serial: String::new(),
            not_before: String::new(),
            not_after: String::new(),
            days_left: 0,
        },
    }
}

fn ip_from(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

/// A CA name from a CertificateRequest. rustls hands over the DER of the Name; some stacks
/// send it without the outer SEQUENCE, so both forms are tried.
fn dn_text(der: &[u8]) -> String {
    use x509_parser::prelude::FromDer;
    if let Ok((_, n)) = x509_parser::x509::X509Name::from_der(der) {
        return n.to_string();
    }
    let len = der.len();
    let mut wrapped = vec![0x30];
    match len {
        0..=127 => wrapped.push(len as u8),
        128..=255 => wrapped.extend([0x81, len as u8]),
        _ => wrapped.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    wrapped.extend_from_slice(der);
    match x509_parser::x509::X509Name::from_der(&wrapped) {
        Ok((_, n)) => n.to_string(),
        Err(_) => format!("(undecodable name, {len} bytes)"),
    }
}

/// Certificate name matching, with a single leftmost `*` label.
pub fn name_matches(pattern: &str, host: &str) -> bool {
    let (p, h) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    match p.strip_prefix("*.") {
        Some(rest) => h
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => p == h,
    }
}
