//! The gateway as a server: one TLS listener per front door, HTTP/1.1 and HTTP/2, the tables
//! swapped atomically on reconfiguration (the request path takes no lock), a connection limit,
//! a header-read timeout, graceful shutdown, and one JSON access-log line per request.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use parallax_model::topology::{EndpointType, Integration, Topology};
use parallax_model::{FrontDoor, VpceId};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::certs::{CertError, LabCerts, read_crls};
use crate::pki::base64;
use crate::proxy::{Body, BoxError, BreakSlot, Target, UpstreamBreak, UpstreamRoutes, Upstreams};
use crate::reject::{BadRequest, Reject};
use crate::tables::{ClientCert, Context, Incoming as Req, Tables};
use crate::tls::{Chosen, DoorTls, DoorTlsSpec, Truststore, describe};

/// API Gateway's payload limit.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// How the gateway runs.
#[derive(Clone)]
pub struct GatewayConfig {
    /// `(door, address)`; empty = every door on `127.0.0.1:0`. Doors: `regional`, `edge`, and the
    /// id of every execute-api interface endpoint.
    pub listen: Vec<(String, SocketAddr)>,
    /// Connections served at once per door; more wait in the backlog.
    pub max_connections: usize,
    /// Time a client has to send its TLS ClientHello, its first request after the handshake,
    /// and each request's headers.
    pub header_read_timeout: Duration,
    /// How long a connection may sit with no request in flight after its first one (HTTP/1.1
    /// keep-alive, an HTTP/2 connection with no open stream) before it is closed.
    pub idle_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub grace: Duration,
    /// Where access-log lines go.
    pub access_log: Arc<dyn AccessLog>,
    /// Where HTTP_PROXY upstreams really are (the lab's on-prem systems).
    pub upstream_routes: UpstreamRoutes,
    /// Every connection starts with a PROXY protocol header (v1 or v2), as behind a Network
    /// Load Balancer with proxy protocol on; its source address is the client's (`aws:SourceIp`,
    /// the access log). Connections without one are closed.
    pub proxy_protocol: bool,
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("listen", &self.listen)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: Vec::new(),
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            grace: Duration::from_secs(10),
            access_log: Arc::new(StderrLog::new()),
            upstream_routes: UpstreamRoutes::default(),
            proxy_protocol: false,
        }
    }
}

/// Receives one JSON line per request.
pub trait AccessLog: Send + Sync {
    fn line(&self, line: &str);
    /// Lines dropped because the writer could not keep up (see [`StderrLog`]).
    fn dropped(&self) -> u64 {
        0
    }
    /// Writes out what is queued, waiting at most `timeout`.
    fn flush(&self, _timeout: Duration) {}
}

/// How many lines [`StderrLog`] queues before it drops (about 8 MB of typical lines).
pub const ACCESS_LOG_QUEUE: usize = 16 * 1024;

enum LogMsg {
    Line(String),
    Flush(std::sync::mpsc::Sender<()>),
}

/// Writes access-log lines to standard error from a thread of its own: the request path only
/// puts the line on a bounded queue, and never waits on the terminal or takes the stderr lock.
/// When stderr stalls and the queue is full, lines are dropped and counted, never buffered
/// without bound: the count is [`AccessLog::dropped`], and a warning names it every 10 s.
#[derive(Debug)]
pub struct StderrLog {
    tx: std::sync::mpsc::SyncSender<LogMsg>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for LogMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogMsg")
    }
}

impl StderrLog {
    pub fn new() -> StderrLog {
        StderrLog::with_writer(ACCESS_LOG_QUEUE, Box::new(std::io::stderr()))
    }

    /// A log writing to `out` through a queue of `capacity` lines.
    pub fn with_writer(capacity: usize, out: Box<dyn std::io::Write + Send>) -> StderrLog {
        use std::sync::atomic::Ordering;
        let (tx, rx) = std::sync::mpsc::sync_channel::<LogMsg>(capacity.max(1));
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = dropped.clone();
        // If the thread cannot start, lines are dropped (and counted) rather than requests failed.
        let _ = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || {
                use std::io::Write;
                let mut out = std::io::BufWriter::with_capacity(256 * 1024, out);
                let mut warned_at = (Instant::now(), 0u64);
                // The writer wakes on its own clock and drains what is queued: a sender never has
                // to wake it (a wake-up per request cost a third of the gateway's CPU under load).
                loop {
                    let mut wrote = false;
                    loop {
                        match rx.try_recv() {
                            Ok(LogMsg::Line(line)) => {
                                let _ = writeln!(out, "{line}");
                                wrote = true;
                            }
                            Ok(LogMsg::Flush(ack)) => {
                                let _ = out.flush();
                                let _ = ack.send(());
                            }
                            Err(std::sync::mpsc::TryRecvError::Empty) => break,
                            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                                let _ = out.flush();
                                return;
                            }
                        }
                    }
                    if wrote {
                        let _ = out.flush();
                    }
                    let now_dropped = counted.load(Ordering::Relaxed);
                    if now_dropped > warned_at.1 && warned_at.0.elapsed() >= Duration::from_secs(10)
                    {
                        tracing::warn!(
                            dropped = now_dropped - warned_at.1,
                            total = now_dropped,
                            "access log: lines dropped because the log output is too slow"
                        );
                        warned_at = (Instant::now(), now_dropped);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        StderrLog { tx, dropped }
    }
}

impl Default for StderrLog {
    fn default() -> Self {
        StderrLog::new()
    }
}

impl AccessLog for StderrLog {
    fn line(&self, line: &str) {
        if self.tx.try_send(LogMsg::Line(line.to_owned())).is_err() {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn flush(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let (ack, acked) = std::sync::mpsc::channel();
        let mut msg = LogMsg::Flush(ack);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(std::sync::mpsc::TrySendError::Full(m)) if Instant::now() < deadline => {
                    msg = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return,
            }
        }
        let _ = acked.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

/// Keeps access-log lines in memory (tests, the lab).
#[derive(Debug, Default)]
pub struct MemoryLog(pub Mutex<Vec<String>>);

impl AccessLog for MemoryLog {
    fn line(&self, line: &str) {
        if let Ok(mut v) = self.0.lock() {
            v.push(line.to_owned());
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("no front door named `{door}` (doors: {known})")]
    UnknownDoor { door: String, known: String },
    #[error(transparent)]
    Certs(#[from] CertError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// One bound door.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listening {
    pub door: String,
    pub addr: SocketAddr,
}

/// Everything the request path reads, swapped whole on reconfiguration.
struct Snapshot {
    tables: Tables,
    doors: HashMap<String, DoorTls>,
    upstreams: Upstreams,
}

struct Shared {
    snapshot: ArcSwap<Snapshot>,
    log: Arc<dyn AccessLog>,
    header_read_timeout: Duration,
    idle_timeout: Duration,
    proxy_protocol: bool,
}

/// A running gateway.
pub struct Gateway {
    listening: Vec<Listening>,
    shared: Arc<Shared>,
    certs: Mutex<LabCerts>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    grace: Duration,
    routes: Arc<UpstreamRoutes>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("listening", &self.listening)
            .finish_non_exhaustive()
    }
}

/// The doors a topology has: `regional`, `edge`, then its execute-api endpoints.
pub fn doors(t: &Topology) -> Vec<(String, FrontDoor)> {
    let mut out = vec![
        ("regional".to_owned(), FrontDoor::Regional),
        ("edge".to_owned(), FrontDoor::Edge),
    ];
    out.extend(
        t.endpoints
            .iter()
            .filter(|e| e.is_execute_api())
            .map(|e| (e.id.to_string(), FrontDoor::VpcEndpoint(e.id.value.clone()))),
    );
    out
}

impl Gateway {
    /// Builds the tables and certificates and binds every door.
    pub async fn start(
        topology: &Topology,
        mut certs: LabCerts,
        config: GatewayConfig,
    ) -> Result<Gateway, GatewayError> {
        let routes = Arc::new(config.upstream_routes.clone());
        let snapshot = build_snapshot(topology, &mut certs, &routes)?;
        let all = doors(topology);
        let known = all
            .iter()
            .map(|(n, _)| n.clone())
            .collect::<Vec<_>>()
            .join(", ");
        let listen: Vec<(String, SocketAddr)> = if config.listen.is_empty() {
            all.iter()
                .map(|(n, _)| (n.clone(), SocketAddr::from(([127, 0, 0, 1], 0))))
                .collect()
        } else {
            config.listen.clone()
        };
        let shared = Arc::new(Shared {
            snapshot: ArcSwap::from_pointee(snapshot),
            log: config.access_log.clone(),
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            proxy_protocol: config.proxy_protocol,
        });
        let (stop, stopped) = watch::channel(false);
        let mut listening = Vec::new();
        let mut tasks = Vec::new();
        for (name, addr) in listen {
            let door = all
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, d)| d.clone())
                .ok_or_else(|| GatewayError::UnknownDoor {
                    door: name.clone(),
                    known: known.clone(),
                })?;
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| GatewayError::Bind { addr, source })?;
            let bound = listener
                .local_addr()
                .map_err(|source| GatewayError::Bind { addr, source })?;
            listening.push(Listening {
                door: name.clone(),
                addr: bound,
            });
            tasks.push(tokio::spawn(accept_loop(
                listener,
                name,
                door,
                shared.clone(),
                config.max_connections,
                stopped.clone(),
                config.grace,
            )));
        }
        Ok(Gateway {
            listening,
            shared,
            certs: Mutex::new(certs),
            stop,
            tasks,
            grace: config.grace,
            routes,
        })
    }

    pub fn listening(&self) -> &[Listening] {
        &self.listening
    }

    pub fn addr_of(&self, door: &str) -> Option<SocketAddr> {
        self.listening
            .iter()
            .find(|l| l.door == door)
            .map(|l| l.addr)
    }

    /// The CA clients must trust to call the gateway (PEM).
    pub fn server_ca_pem(&self) -> String {
        self.certs
            .lock()
            .map(|c| c.server_ca().cert_pem())
            .unwrap_or_default()
    }

    /// Runs `f` with the lab certificates (to issue client identities, write them out, ...).
    pub fn with_certs<R>(&self, f: impl FnOnce(&mut LabCerts) -> R) -> R {
        let mut guard = self.certs.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Swaps in a new topology. Requests in flight finish on the old tables; doors that the new
    /// topology adds need a restart to get a listener.
    pub fn update(&self, topology: &Topology) -> Result<(), GatewayError> {
        let snapshot = self.with_certs(|c| build_snapshot(topology, c, &self.routes))?;
        self.shared.snapshot.store(Arc::new(snapshot));
        Ok(())
    }

    /// Access-log lines dropped so far because the log output could not keep up.
    pub fn access_log_dropped(&self) -> u64 {
        self.shared.log.dropped()
    }

    /// Stops accepting, lets requests in flight finish (up to the grace period), writes out the
    /// access log, and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            if tokio::time::timeout(self.grace + Duration::from_secs(1), t)
                .await
                .is_err()
            {
                tracing::warn!("a front door did not stop within its grace period");
            }
        }
        let log = self.shared.log.clone();
        let _ = tokio::task::spawn_blocking(move || log.flush(Duration::from_secs(5))).await;
        let dropped = self.shared.log.dropped();
        if dropped > 0 {
            tracing::warn!(dropped, "access log: lines were dropped while running");
        }
    }
}

fn build_snapshot(
    t: &Topology,
    certs: &mut LabCerts,
    routes: &Arc<UpstreamRoutes>,
) -> Result<Snapshot, GatewayError> {
    let region = t.region.value.clone();
    let suffix = region.dns_suffix();
    let default_names = vec![
        format!("*.execute-api.{region}.{suffix}"),
        format!("*.execute-api.{region}.vpce.{suffix}"),
    ];
    let default_id = certs.server(&default_names)?;
    let mut doors_tls = HashMap::new();
    for (name, door) in doors(t) {
        let mut domains = Vec::new();
        let served = match door {
            FrontDoor::Regional => Some(EndpointType::Regional),
            FrontDoor::Edge => Some(EndpointType::Edge),
            _ => None,
        };
        let mut ids = Vec::new();
        for d in t
            .custom_domains
            .iter()
            .filter(|d| Some(d.endpoint_type.value) == served)
        {
            let id = match &d.certificate {
                Some(path) => certs.identity(path)?,
                None => certs.server(&[d.name.to_string()])?,
            };
            ids.push((d, id));
        }
        for (d, id) in &ids {
            let trust = match &d.mtls {
                None => None,
                Some(m) => {
                    let mut crls = Vec::new();
                    for c in &m.crls {
                        crls.extend(read_crls(std::path::Path::new(c.as_str()))?);
                    }
                    Some(Truststore {
                        roots: certs.ca_certs(&m.truststore)?,
                        crls,
                        strict: m.strict,
                    })
                }
            };
            domains.push((d.name.to_string(), id, trust));
        }
        doors_tls.insert(
            name,
            DoorTls::build(&DoorTlsSpec {
                default_identity: &default_id,
                domains,
            })?,
        );
    }
    let mut upstreams = Upstreams::default();
    for api in &t.apis {
        for r in &api.routes {
            if let Integration::HttpProxy {
                ca,
                client_certificate,
                ..
            } = &r.integration.value
            {
                upstreams.prepare(ca.as_deref(), client_certificate.as_deref(), certs, routes)?;
            }
        }
    }
    Ok(Snapshot {
        tables: Tables::build(t),
        doors: doors_tls,
        upstreams,
    })
}

async fn accept_loop(
    listener: TcpListener,
    name: String,
    door: FrontDoor,
    shared: Arc<Shared>,
    max: usize,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let permits = Arc::new(Semaphore::new(max.max(1)));
    let mut conns = tokio::task::JoinSet::new();
    let door = Arc::new((name, door));
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.changed() => break,
        };
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let (shared, door, stop) = (shared.clone(), door.clone(), stop.clone());
        conns.spawn(async move {
            connection(tcp, peer, door, shared, stop).await;
            drop(permit);
        });
        while conns.try_join_next().is_some() {}
    }
    // Requests in flight get the grace period; connections still open then are cut.
    if tokio::time::timeout(grace, async { while conns.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        conns.shutdown().await;
    }
}

/// What a request knows about its connection.
struct Conn {
    door_name: String,
    door: FrontDoor,
    peer: SocketAddr,
    /// The name the TLS session was made for.
    sni: Option<String>,
    client_cert: ClientCert,
    protocol: &'static str,
    activity: Arc<Activity>,
}

async fn connection(
    mut tcp: TcpStream,
    mut peer: SocketAddr,
    door: Arc<(String, FrontDoor)>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let timeout = shared.header_read_timeout;
    if shared.proxy_protocol {
        match tokio::time::timeout(timeout, crate::proxyproto::read_header(&mut tcp)).await {
            Ok(Ok(Some(source))) => peer = source,
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "connection refused");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "no PROXY protocol header in time");
                return;
            }
        }
    }
    let acceptor = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp);
    let Ok(Ok(start)) = tokio::time::timeout(timeout, acceptor).await else {
        tracing::debug!(%peer, "no TLS ClientHello in time");
        return;
    };
    let sni = start.client_hello().server_name().map(str::to_owned);
    let snapshot = shared.snapshot.load_full();
    let Some(tls) = snapshot.doors.get(&door.0) else {
        return;
    };
    let Chosen {
        config,
        check,
        accept,
    } = tls.choose(sni.as_deref());
    let stream = match tokio::time::timeout(timeout, start.into_stream(config)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(%peer, sni = ?sni, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => return,
    };
    if !accept {
        return;
    }
    let (_, session) = stream.get_ref();
    let presented = session.peer_certificates().map(<[_]>::to_vec);
    let client_cert = match (&check, &presented) {
        (Some(check), p) => check.check(p.as_deref()),
        // Strict mode verified it during the handshake.
        (None, Some(chain)) if !chain.is_empty() => {
            let (subject, serial) = describe(&chain[0]);
            ClientCert::Valid { subject, serial }
        }
        (None, _) => ClientCert::NotAsked,
    };
    let protocol = if session.alpn_protocol() == Some(b"h2") {
        "HTTP/2"
    } else {
        "HTTP/1.1"
    };
    let activity = Arc::new(Activity::default());
    let conn = Arc::new(Conn {
        door_name: door.0.clone(),
        door: door.1.clone(),
        peer,
        sni,
        client_cert,
        protocol,
        activity: activity.clone(),
    });
    let svc_shared = shared.clone();
    let service = service_fn(move |req| {
        let (conn, shared) = (conn.clone(), svc_shared.clone());
        async move { Ok::<_, Infallible>(handle(req, conn, shared).await) }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256);
    let served = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    let idle = activity.idle(timeout, shared.idle_timeout);
    tokio::pin!(idle);
    tokio::select! {
        r = served.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            return;
        }
        _ = stop.changed() => {}
        () = idle.as_mut() => {
            tracing::debug!(%peer, "connection idle: closed");
        }
    }
    // Shutting down or idle: no new requests; what is in flight may finish, within a bound (an
    // idle connection has nothing in flight and closes at once).
    served.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(timeout, served).await;
}

/// What a connection is doing, for its idle timeout: requests in flight (from the call of the
/// service until its response body ends) and when the last one ended. Requests only touch
/// atomics; the watchdog looks at them when its one timer fires, so a request costs no wake-up
/// and no timer (a timer reset per request doubled the p99 of the fixed-response benchmark).
#[derive(Debug)]
struct Activity {
    born: Instant,
    in_flight: std::sync::atomic::AtomicUsize,
    served: std::sync::atomic::AtomicBool,
    /// When the last request ended, in milliseconds after `born`.
    since_ms: std::sync::atomic::AtomicU64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            born: Instant::now(),
            in_flight: Default::default(),
            served: Default::default(),
            since_ms: Default::default(),
        }
    }
}

impl Activity {
    fn begin(&self) {
        use std::sync::atomic::Ordering;
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.served.store(true, Ordering::Relaxed);
    }

    fn end(&self) {
        use std::sync::atomic::Ordering;
        let ms = self.born.elapsed().as_millis() as u64;
        self.since_ms.store(ms, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// Completes when the connection has had no request in flight for `first` (before its
    /// first request: a handshake followed by silence, an HTTP/2 preface and nothing complete)
    /// or `keep_alive` (after it). Checked when the timer fires, so a connection closes between
    /// one and two limits after it went quiet at the latest, never before one.
    async fn idle(&self, first: Duration, keep_alive: Duration) {
        use std::sync::atomic::Ordering;
        let timer = tokio::time::sleep(first);
        tokio::pin!(timer);
        loop {
            timer.as_mut().await;
            let limit = if self.served.load(Ordering::Relaxed) {
                keep_alive
            } else {
                first
            };
            let now = Instant::now();
            if self.in_flight.load(Ordering::SeqCst) > 0 {
                timer.as_mut().reset((now + limit).into());
                continue;
            }
            let since = self.born + Duration::from_millis(self.since_ms.load(Ordering::Relaxed));
            let due = since + limit;
            if now >= due {
                return;
            }
            timer.as_mut().reset(due.into());
        }
    }
}

async fn handle(req: Request<Incoming>, conn: Arc<Conn>, shared: Arc<Shared>) -> Response<Tracked> {
    let ticket = Ticket::begin(conn.activity.clone());
    let started = Instant::now();
    let request_id = uuid4();
    let snapshot = shared.snapshot.load();
    let (host, unreadable) = match authority_of(&req) {
        Ok(h) => (h, None),
        Err(r) => (String::new(), Some(r)),
    };
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let header_str = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let (ctx, decision) = match unreadable {
        Some(r) => (Context::default(), Err(r)),
        None => snapshot.tables.decide(&Req {
            door: &conn.door,
            sni: conn.sni.as_deref(),
            host: &host,
            method: &method,
            path: &path,
            user_agent: header_str("user-agent"),
            referer: header_str("referer"),
            api_key: req.headers().get("x-api-key").map(HeaderValue::as_bytes),
            apigw_api_id: header_str("x-apigw-api-id"),
            client_ip: conn.peer.ip(),
            client_cert: &conn.client_cert,
        }),
    };
    let too_large = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY as u64);
    let mut upstream_latency = None;
    let mut breaks = None;
    let outcome: Result<Response<Body>, Reject> = match decision {
        Err(r) => Err(r),
        Ok(_) if too_large => Err(Reject::TooLarge),
        Ok(admitted) => match &admitted.route.integration {
            Integration::Mock {
                status,
                body,
                headers,
            } => {
                let mut res = Response::new(full(body.clone()));
                *res.status_mut() = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
                for (k, v) in headers {
                    if let (Ok(k), Ok(v)) = (
                        header::HeaderName::from_bytes(k.as_bytes()),
                        HeaderValue::from_str(v),
                    ) {
                        res.headers_mut().insert(k, v);
                    }
                }
                res.headers_mut()
                    .entry(header::CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static("application/json"));
                Ok(res)
            }
            Integration::HttpProxy {
                uri,
                timeout_ms,
                ca,
                client_certificate,
            } => {
                let (parts, body) = req.into_parts();
                // A client whose body breaks (bad chunked framing, cut short) is told 400, not
                // blamed on the upstream: the wrapper notes it, as a value.
                let client_broke = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let body: Body = ClientBody {
                    inner: Limited::new(body, MAX_BODY),
                    broke: client_broke.clone(),
                }
                .boxed();
                let target = Target {
                    uri,
                    params: &admitted.params,
                    timeout: Duration::from_millis(u64::from(*timeout_ms)),
                    ca: ca.as_deref(),
                    client_cert: client_certificate.as_deref(),
                };
                let slot = BreakSlot::default();
                let forwarded = snapshot
                    .upstreams
                    .forward(&target, parts, body, &slot)
                    .await;
                match forwarded {
                    Ok((res, took)) => {
                        upstream_latency = Some(took);
                        breaks = Some(slot);
                        Ok(res)
                    }
                    Err(Reject::IntegrationFailure(_))
                        if client_broke.load(std::sync::atomic::Ordering::SeqCst) =>
                    {
                        Err(Reject::BadRequest(BadRequest::Body))
                    }
                    Err(r) => Err(r),
                }
            }
        },
    };
    let (mut res, reject) = match outcome {
        Ok(res) => (res, None),
        Err(r) => {
            let mut res = Response::new(full(r.body()));
            *res.status_mut() = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::FORBIDDEN);
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            if let Some(t) = r.error_type() {
                h.insert("x-amzn-errortype", HeaderValue::from_static(t));
            }
            (res, Some(r))
        }
    };
    decorate(&mut res, &conn, &request_id);
    let bodyless = method == "HEAD"
        || res.status() == StatusCode::NO_CONTENT
        || res.status() == StatusCode::NOT_MODIFIED;
    let finish = Finish {
        log: shared.log.clone(),
        conn: conn.clone(),
        request_id,
        host,
        method,
        raw_path: path,
        ctx,
        status: res.status().as_u16(),
        reject,
        started,
        upstream_latency,
        breaks,
        bodyless,
        _ticket: ticket,
    };
    // The access-log line is written when the response body has ended, so it says whether the
    // client got all of it.
    res.map(|inner| Tracked {
        inner,
        finish: Some(finish),
    })
}

/// The authority a request names: `:authority` on HTTP/2 (a differing Host is malformed, RFC
/// 9113 §8.3.1), the target's on an absolute-form HTTP/1.1 request (RFC 9112 §3.2.2), else
/// the one Host header (none or several: 400, RFC 9112 §3.2).
fn authority_of(req: &Request<Incoming>) -> Result<String, Reject> {
    let bad = Reject::BadRequest(BadRequest::Host);
    let mut hosts = req.headers().get_all(header::HOST).iter();
    let host = hosts
        .next()
        .map(|h| h.to_str().map_err(|_| bad.clone()))
        .transpose()?;
    if hosts.next().is_some() {
        return Err(bad);
    }
    match req.uri().authority() {
        Some(a) if req.version() == http::Version::HTTP_2 => match host {
            Some(h) if !h.eq_ignore_ascii_case(a.as_str()) => Err(bad),
            _ => Ok(a.as_str().to_owned()),
        },
        Some(a) => Ok(a.as_str().to_owned()),
        None => host.map(str::to_owned).ok_or(bad),
    }
}

/// One request in flight on its connection, from the service call until the response body
/// ends (or is dropped): the connection's idle timer does not run meanwhile.
struct Ticket(Arc<Activity>);

impl Ticket {
    fn begin(a: Arc<Activity>) -> Ticket {
        a.begin();
        Ticket(a)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// How a response body ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Complete,
    /// The upstream broke off; the client's response was aborted.
    Upstream(UpstreamBreak),
    /// The client went away before the end.
    ClientGone,
}

/// What the access-log line needs, kept until the response body ends.
struct Finish {
    log: Arc<dyn AccessLog>,
    conn: Arc<Conn>,
    request_id: String,
    host: String,
    method: String,
    raw_path: String,
    ctx: Context,
    status: u16,
    reject: Option<Reject>,
    started: Instant,
    upstream_latency: Option<Duration>,
    breaks: Option<BreakSlot>,
    /// HEAD, 204, 304: hyper sends no body and never polls it.
    bodyless: bool,
    _ticket: Ticket,
}

impl Finish {
    fn write(self, end: End) {
        let line = access_line(&self, end);
        self.log.line(&line);
    }
}

/// A response body that writes the access-log line when it ends.
struct Tracked {
    inner: Body,
    finish: Option<Finish>,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        use std::task::Poll;
        let this = self.get_mut();
        let polled = std::pin::Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => {
                if let Some(f) = this.finish.take() {
                    f.write(End::Complete);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(f) = this.finish.take() {
                    let why = f
                        .breaks
                        .as_ref()
                        .and_then(|b| b.get().copied())
                        .unwrap_or(UpstreamBreak::Other);
                    f.write(End::Upstream(why));
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(f) = self.finish.take() {
            let end = if f.bodyless || hyper::body::Body::is_end_stream(&self.inner) {
                End::Complete
            } else {
                End::ClientGone
            };
            f.write(end);
        }
    }
}

/// The client's request body on its way upstream; notes whether it broke.
struct ClientBody {
    inner: Limited<Incoming>,
    broke: Arc<std::sync::atomic::AtomicBool>,
}

impl hyper::body::Body for ClientBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = std::pin::Pin::new(&mut this.inner).poll_frame(cx);
        if let std::task::Poll::Ready(Some(Err(e))) = &polled
            && e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_none()
        {
            this.broke.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Headers every API Gateway response carries, and the CloudFront ones on the edge door.
fn decorate(res: &mut Response<Body>, conn: &Conn, request_id: &str) {
    let status = res.status();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    if let Ok(v) = HeaderValue::from_str(&base64(&random::<11>())) {
        h.insert("x-amz-apigw-id", v);
    }
    if conn.door == FrontDoor::Edge {
        let hex: String = random::<16>().iter().map(|b| format!("{b:02x}")).collect();
        if let Ok(v) = HeaderValue::from_str(&format!("1.1 {hex}.cloudfront.net (CloudFront)")) {
            h.insert(header::VIA, v);
        }
        let cache = if status.is_client_error() || status.is_server_error() {
            "Error from cloudfront"
        } else {
            "Miss from cloudfront"
        };
        h.insert("x-cache", HeaderValue::from_static(cache));
        h.insert("x-amz-cf-pop", HeaderValue::from_static("IAD89-C1"));
        if let Ok(v) = HeaderValue::from_str(&base64(&random::<42>()).replace(['+', '/'], "-")) {
            h.insert("x-amz-cf-id", v);
        }
    }
}

fn access_line(f: &Finish, end: End) -> String {
    let conn = &f.conn;
    let ctx = &f.ctx;
    let (subject, serial) = match &conn.client_cert {
        ClientCert::Valid { subject, serial } => (Some(subject.as_str()), Some(serial.as_str())),
        _ => (None, None),
    };
    let cert_error = match &conn.client_cert {
        ClientCert::Invalid(why) => Some(why.to_string()),
        ClientCert::Missing => Some("no client certificate".to_owned()),
        _ => None,
    };
    let endpoint: Option<&VpceId> = match &conn.door {
        FrontDoor::VpcEndpoint(id) => Some(id),
        _ => None,
    };
    let response_error = match end {
        End::Complete => None,
        End::ClientGone => Some("the client went away before the response ended"),
        End::Upstream(b) => Some(b.describe()),
    };
    // Written field by field: building a serde_json Value per request showed up in the profile.
    let mut o = String::with_capacity(512);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    o.push_str("{\"time\":");
    o.push_str(
        &SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
            .to_string(),
    );
    field(&mut o, "requestId", Some(&f.request_id));
    field(&mut o, "door", Some(&conn.door_name));
    field(&mut o, "endpointId", endpoint.map(VpceId::as_str));
    field(&mut o, "clientIp", Some(&conn.peer.ip().to_string()));
    field(&mut o, "sni", conn.sni.as_deref());
    field(&mut o, "clientCertSubject", subject);
    field(&mut o, "clientCertSerial", serial);
    field(&mut o, "clientCertError", cert_error.as_deref());
    field(&mut o, "protocol", Some(conn.protocol));
    field(&mut o, "host", Some(&f.host));
    field(&mut o, "apiId", ctx.api.as_ref().map(|a| a.as_str()));
    field(&mut o, "stage", ctx.stage.as_deref());
    field(&mut o, "resourcePath", ctx.resource.as_deref());
    field(&mut o, "method", Some(&f.method));
    field(&mut o, "path", ctx.path.as_deref());
    field(&mut o, "rawPath", Some(&f.raw_path));
    field(&mut o, "resourceArn", ctx.arn.as_deref());
    o.push_str(&format!(",\"status\":{}", f.status));
    o.push_str(&format!(",\"responseComplete\":{}", end == End::Complete));
    field(&mut o, "responseError", response_error);
    field(
        &mut o,
        "errorType",
        f.reject.as_ref().and_then(Reject::error_type),
    );
    field(
        &mut o,
        "reason",
        f.reject.as_ref().map(ToString::to_string).as_deref(),
    );
    field(&mut o, "apiKeyId", ctx.key_id.as_deref());
    o.push_str(&format!(",\"latencyMs\":{:.3}", ms(f.started.elapsed())));
    match f.upstream_latency {
        Some(d) => o.push_str(&format!(",\"upstreamLatencyMs\":{:.3}}}", ms(d))),
        None => o.push_str(",\"upstreamLatencyMs\":null}"),
    }
    o
}

/// `,"name":"value"` (JSON-escaped) or `,"name":null`.
fn field(o: &mut String, name: &str, value: Option<&str>) {
    o.push_str(",\"");
    o.push_str(name);
    o.push_str("\":");
    let Some(v) = value else {
        o.push_str("null");
        return;
    };
    o.push('"');
    if !v.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        o.push_str(v);
        o.push('"');
        return;
    }
    for c in v.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
}

fn full(s: String) -> Body {
    Full::new(Bytes::from(s))
        .map_err(|never| match never {})
        .boxed()
}

/// Bytes for request ids. Ids must differ, not be secret: a per-thread generator seeded once
/// from the system RNG (a system call per request showed up in the profile).
fn random<const N: usize>() -> [u8; N] {
    thread_local! {
        static STATE: std::cell::Cell<u64> = std::cell::Cell::new({
            let mut seed = [0u8; 8];
            // A failing system RNG leaves a fixed seed: ids still differ within the thread.
            let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed);
            u64::from_le_bytes(seed) | 1
        });
    }
    let mut b = [0u8; N];
    STATE.with(|s| {
        for chunk in b.chunks_mut(8) {
            // wyrand
            let x = s.get().wrapping_add(0xa076_1d64_78bd_642f);
            s.set(x);
            let t = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
            let v = ((t >> 64) as u64 ^ t as u64).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    });
    b
}

/// A random (version 4) UUID, as `x-amzn-RequestId` carries.
pub fn uuid4() -> String {
    let mut b = random::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_fields_are_json_escaped() {
        let mut o = String::from("{\"a\":1");
        field(&mut o, "host", Some("x\"y\\z\n\u{1}é"));
        field(&mut o, "none", None);
        o.push('}');
        let v: serde_json::Value = serde_json::from_str(&o).unwrap();
        assert_eq!(v["host"], "x\"y\\z\n\u{1}é");
        assert!(v["none"].is_null());
    }

    #[test]
    fn request_ids_differ_and_are_uuids() {
        let a = uuid4();
        let b = uuid4();
        assert_ne!(a, b);
        assert_eq!((a.len(), &a[14..15]), (36, "4"));
    }
}
