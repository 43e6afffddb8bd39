//! Upstream connections of HTTP_PROXY integrations: dialled (the lab's map, else the system's
//! resolver), TLS with SNI, HTTP/1.1 kept alive and reused as nginx's `keepalive` upstreams are.
//!
//! A connection is driven by the task of the request using it, not by a task of its own: the
//! request task polls hyper's connection future next to the response it waits for, and the
//! response body ([`Streaming`]) polls it while the body streams. Hyper's pooled client gives
//! every connection a task and hands each request and response across tasks, which cost the
//! proxy benchmark a wake-up of another task per request and per body. Idle connections wait
//! per origin, newest first; a sweep every few seconds closes the ones the upstream closed or
//! that waited longer than the idle timeout.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::body::{Body, BoxError};
use crate::metrics::GatewayMetrics;

/// Where upstream hosts really are. The lab maps each on-prem name (`onprem.corp.example.com:443`)
/// to the loopback socket that plays it and sets `only_mapped`, so the gateway never resolves
/// or dials anything else. The standalone gateway leaves the map empty and uses the system's DNS.
#[derive(Clone, Debug, Default)]
pub struct UpstreamRoutes {
    /// `(host, port)` → the loopback socket that plays it.
    pub map: std::collections::HashMap<(String, u16), std::net::SocketAddr>,
    /// Refuse any upstream the map does not name.
    pub only_mapped: bool,
    /// The caps on upstream connections and on requests waiting for one.
    pub limits: UpstreamLimits,
    /// The connections counted against the caps, shared by every pool (and every reload) of
    /// the gateway that holds these routes.
    budget: std::sync::OnceLock<Arc<Budget>>,
}

impl UpstreamRoutes {
    /// Routes that dial only what their map names (the lab's), with the default caps.
    pub fn only_mapped() -> UpstreamRoutes {
        UpstreamRoutes {
            only_mapped: true,
            ..Default::default()
        }
    }

    fn budget(&self) -> &Arc<Budget> {
        self.budget
            .get_or_init(|| Arc::new(Budget::new(self.limits)))
    }
}

/// Caps on upstream connections, as Envoy's circuit breakers: however many clients and streams
/// ask at once, the gateway opens at most `max_connections` (and `max_per_origin` to one
/// upstream), and at most `max_pending` requests wait for a connection; beyond that a request
/// gets API Gateway's INTEGRATION_FAILURE at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpstreamLimits {
    /// Open upstream connections, all origins together.
    pub max_connections: usize,
    /// Open upstream connections to one origin (Envoy's per-cluster default: 1024).
    pub max_per_origin: usize,
    /// Requests waiting for a connection (Envoy's `max_pending_requests` default: 1024).
    pub max_pending: usize,
}

impl Default for UpstreamLimits {
    fn default() -> Self {
        UpstreamLimits {
            max_connections: 4096,
            max_per_origin: 1024,
            max_pending: 1024,
        }
    }
}

/// Which cap a request met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamCap {
    /// All origins' connections.
    Connections,
    /// One origin's connections.
    PerOrigin,
    /// Requests waiting for a connection.
    Pending,
}

impl UpstreamCap {
    /// The metric's label value.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamCap::Connections => "connections",
            UpstreamCap::PerOrigin => "per_origin",
            UpstreamCap::Pending => "pending",
        }
    }
}

/// The connection slots: a permit of the total and one of the origin's for every open
/// connection, and the requests waiting.
#[derive(Debug)]
pub(crate) struct Budget {
    limits: UpstreamLimits,
    total: Arc<tokio::sync::Semaphore>,
    origins: Mutex<Vec<(Origin, Arc<tokio::sync::Semaphore>)>>,
    pending: std::sync::atomic::AtomicUsize,
    /// Woken when a connection closes or goes back idle: a waiting request looks again.
    freed: tokio::sync::Notify,
}

impl Budget {
    fn new(limits: UpstreamLimits) -> Budget {
        Budget {
            limits,
            total: Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1))),
            origins: Mutex::new(Vec::new()),
            pending: std::sync::atomic::AtomicUsize::new(0),
            freed: tokio::sync::Notify::new(),
        }
    }

    /// A slot for a new connection to `origin`, or the cap that is full.
    fn try_slot(self: &Arc<Self>, origin: OriginRef<'_>) -> Result<Slot, UpstreamCap> {
        let per_origin = {
            let mut origins = self.origins.lock().unwrap_or_else(|p| p.into_inner());
            // Origins with no connection open are forgotten, so the list stays as long as the
            // origins in use.
            let max = self.limits.max_per_origin.max(1);
            origins.retain(|(_, s)| s.available_permits() < max);
            match origins.iter().find(|(o, _)| origin.is(o)) {
                Some((_, s)) => s.clone(),
                None => {
                    let s = Arc::new(tokio::sync::Semaphore::new(max));
                    origins.push((origin.to_owned(), s.clone()));
                    s
                }
            }
        };
        let origin_permit = per_origin
            .try_acquire_owned()
            .map_err(|_| UpstreamCap::PerOrigin)?;
        let total_permit = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| UpstreamCap::Connections)?;
        Ok(Slot {
            _permits: (total_permit, origin_permit),
            budget: Arc::downgrade(self),
        })
    }
}

/// One open upstream connection's place under the caps; freed when the connection goes.
struct Slot {
    _permits: (
        tokio::sync::OwnedSemaphorePermit,
        tokio::sync::OwnedSemaphorePermit,
    ),
    budget: Weak<Budget>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(b) = self.budget.upgrade() {
            b.freed.notify_waiters();
        }
    }
}

/// A request counted waiting until this is dropped.
struct Waiting<'a>(&'a Budget);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0
            .pending
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// How long a connection may wait unused before it is closed (the legacy client's default).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept per origin; more are closed when they come back.
const MAX_IDLE_PER_ORIGIN: usize = 256;
/// Time to open a TCP connection, divided among the addresses a name resolves to.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often idle connections are looked at.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Where a connection goes: scheme, host (lowercase, IPv6 without brackets) and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// An [`Origin`] borrowed from a request's URI (the host in any case).
#[derive(Clone, Copy, Debug)]
pub(crate) struct OriginRef<'a> {
    pub(crate) https: bool,
    pub(crate) host: &'a str,
    pub(crate) port: u16,
}

impl OriginRef<'_> {
    fn is(&self, o: &Origin) -> bool {
        self.https == o.https && self.port == o.port && self.host.eq_ignore_ascii_case(&o.host)
    }

    fn to_owned(self) -> Origin {
        Origin {
            https: self.https,
            host: self.host.to_ascii_lowercase(),
            port: self.port,
        }
    }
}

/// Why a request did not get a response head from its upstream. Each carries the error that
/// says why, for the proxy to classify.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The lab's map does not hold this origin, and the lab dials nothing else.
    NotMapped { host: String, port: u16 },
    /// A cap on upstream connections is full and too many requests already wait.
    Overloaded(UpstreamCap),
    /// Resolving, or opening the TCP connection.
    Connect(std::io::Error),
    /// The TLS handshake.
    Tls(std::io::Error),
    /// Writing the request or reading the response head.
    Http(hyper::Error),
}

/// The stream under one upstream connection, counted open (for `/metrics`) until dropped.
pub(crate) struct UpstreamIo {
    stream: Stream,
    _open: Open,
}

/// One upstream connection counted open from its TCP connect until this is dropped, whichever
/// step (TLS, HTTP, the pool) lets it go.
struct Open(Option<Arc<GatewayMetrics>>);

impl Open {
    fn counted(metrics: &Option<Arc<GatewayMetrics>>) -> Open {
        if let Some(m) = metrics {
            m.upstream_connect(true);
        }
        Open(metrics.clone())
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(m) = &self.0 {
            m.upstream_closed();
        }
    }
}

impl AsyncRead for UpstreamIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for UpstreamIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

type Driver = http1::Connection<TokioIo<UpstreamIo>, Body>;

/// One upstream connection: hyper's handle to send on and the future that does its I/O.
struct Conn {
    sender: http1::SendRequest<Body>,
    driver: Pin<Box<Driver>>,
    /// The driver has finished: the connection is closed.
    done: bool,
    /// It has carried a request before (a request it fails before writing may be retried on a
    /// new connection).
    reused: bool,
    origin: Origin,
    /// Its place under the caps (declared last: freed after the connection is dropped).
    _slot: Slot,
}

impl Conn {
    /// Does the connection's pending I/O; true once it has closed.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.done && self.driver.as_mut().poll(cx).is_ready() {
            self.done = true;
        }
        self.done
    }

    /// Whether an idle connection can take a request now: its I/O done (an upstream's close
    /// seen), and hyper ready for the next request.
    fn usable(&mut self, cx: &mut Context<'_>) -> bool {
        !self.drive(cx) && matches!(self.sender.poll_ready(cx), Poll::Ready(Ok(())))
    }
}

struct Idle {
    conn: Conn,
    since: Instant,
}

struct Inner {
    tls: tokio_rustls::TlsConnector,
    routes: Arc<UpstreamRoutes>,
    metrics: Option<Arc<GatewayMetrics>>,
    /// Idle connections per origin, the most recently used last, one list per gateway worker
    /// ([`crate::server::worker`]): a connection is registered with its worker's runtime, so it
    /// is only ever taken by that worker's requests.
    idle: Vec<IdleList>,
}

/// One worker's idle connections per origin.
type IdleList = Mutex<Vec<(Origin, Vec<Idle>)>>;

impl Inner {
    /// The current worker's idle list.
    fn idle_here(&self) -> &IdleList {
        &self.idle[crate::server::worker() % self.idle.len()]
    }
}

/// The connections for one upstream TLS setting (CA and client certificate).
#[derive(Clone)]
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    /// A pool whose idle connections are swept by a task on the current runtime (if any; it
    /// ends when the pool is dropped, i.e. when a reload replaced the configuration).
    pub(crate) fn new(
        tls: rustls::ClientConfig,
        routes: Arc<UpstreamRoutes>,
        metrics: Option<Arc<GatewayMetrics>>,
    ) -> Pool {
        let inner = Arc::new(Inner {
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            routes,
            metrics,
            idle: (0..=crate::server::MAX_WORKERS)
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(sweep(Arc::downgrade(&inner)));
        }
        Pool { inner }
    }

    /// Sends `req` (origin-form URI, Host set) to `origin` on an idle connection or a new one,
    /// and returns the response head; the body goes on driving the connection and gives it back
    /// when it has ended. A request a reused connection failed before writing it (the upstream
    /// closed it as it was taken) goes once more, on a new connection.
    pub(crate) async fn send(
        &self,
        origin: OriginRef<'_>,
        mut req: Request<Body>,
    ) -> Result<Response<Streaming>, SendError> {
        loop {
            let mut conn = self.conn_for(origin).await?;
            let sent = conn.sender.try_send_request(req);
            tokio::pin!(sent);
            let res = poll_fn(|cx| {
                if let Poll::Ready(r) = sent.as_mut().poll(cx) {
                    return Poll::Ready(r);
                }
                if conn.drive(cx) {
                    // Closed: the request has its answer (an error) now.
                    return sent.as_mut().poll(cx);
                }
                Poll::Pending
            })
            .await;
            match res {
                Ok(res) => {
                    let (parts, body) = res.into_parts();
                    let mut streaming = Streaming {
                        body,
                        conn: Some(conn),
                        pool: Arc::downgrade(&self.inner),
                    };
                    // A body with nothing to read (Content-Length: 0, 304) may never be polled.
                    if hyper::body::Body::is_end_stream(&streaming.body) {
                        streaming.release();
                    }
                    return Ok(Response::from_parts(parts, streaming));
                }
                Err(mut e) => match e.take_message() {
                    Some(again) if conn.reused => req = again,
                    _ => return Err(SendError::Http(e.into_error())),
                },
            }
        }
    }

    /// An idle connection to `origin`, or a new one when the caps allow; else the request
    /// waits (counted) for a connection to close or come back idle, or is refused when too
    /// many already wait. The integration's timeout bounds the wait.
    async fn conn_for(&self, origin: OriginRef<'_>) -> Result<Conn, SendError> {
        let budget = self.inner.routes.budget().clone();
        let mut waiting = None;
        loop {
            // The request path's usual case: an idle connection, or room for a new one.
            if let Some(c) = self.take_idle(origin).await {
                return Ok(c);
            }
            if let Ok(slot) = budget.try_slot(origin) {
                return self.connect(origin, slot).await;
            }
            // A cap is full: register for a wake-up first, then look once more, so that a
            // connection freed in between is not missed.
            let freed = budget.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(c) = self.take_idle(origin).await {
                return Ok(c);
            }
            let cap = match budget.try_slot(origin) {
                Ok(slot) => return self.connect(origin, slot).await,
                Err(cap) => cap,
            };
            if waiting.is_none() {
                let before = budget
                    .pending
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let w = Waiting(&budget);
                if before >= budget.limits.max_pending {
                    drop(w);
                    if let Some(m) = &self.inner.metrics {
                        m.upstream_overflow(UpstreamCap::Pending);
                    }
                    return Err(SendError::Overloaded(UpstreamCap::Pending));
                }
                if let Some(m) = &self.inner.metrics {
                    m.upstream_overflow(cap);
                }
                waiting = Some(w);
            }
            freed.await;
        }
    }

    /// The most recently used idle connection to `origin` that can take a request.
    async fn take_idle(&self, origin: OriginRef<'_>) -> Option<Conn> {
        loop {
            let candidate = {
                let mut idle = self
                    .inner
                    .idle_here()
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                let (_, stack) = idle.iter_mut().find(|(o, _)| origin.is(o))?;
                stack.pop()?
            };
            if candidate.since.elapsed() >= IDLE_TIMEOUT {
                continue;
            }
            let mut conn = candidate.conn;
            if poll_fn(|cx| Poll::Ready(conn.usable(cx))).await {
                return Some(conn);
            }
        }
    }

    async fn connect(&self, origin: OriginRef<'_>, slot: Slot) -> Result<Conn, SendError> {
        let inner = &*self.inner;
        let host = origin.host;
        let mapped = if inner.routes.map.is_empty() {
            None
        } else {
            inner
                .routes
                .map
                .get(&(host.to_ascii_lowercase(), origin.port))
                .copied()
        };
        let name = match origin.https {
            true => Some(
                rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| {
                    SendError::Tls(std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
                })?,
            ),
            false => None,
        };
        let addrs = match mapped {
            Some(a) => Ok(vec![a]),
            None if inner.routes.only_mapped => {
                return Err(SendError::NotMapped {
                    host: host.to_ascii_lowercase(),
                    port: origin.port,
                });
            }
            None => match host.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(vec![(ip, origin.port).into()]),
                Err(_) => tokio::net::lookup_host((host, origin.port))
                    .await
                    .map(Iterator::collect),
            },
        };
        // A name that does not resolve counts as a failed connect, as one nothing answers.
        let tcp = match addrs {
            Ok(addrs) => dial(&addrs).await,
            Err(e) => Err(e),
        };
        let tcp = match tcp {
            Ok(tcp) => tcp,
            Err(e) => {
                if let Some(m) = &inner.metrics {
                    m.upstream_connect(false);
                }
                return Err(SendError::Connect(e));
            }
        };
        let open = Open::counted(&inner.metrics);
        let _ = tcp.set_nodelay(true);
        let stream = match name {
            Some(name) => Stream::Tls(Box::new(
                inner.tls.connect(name, tcp).await.map_err(SendError::Tls)?,
            )),
            None => Stream::Plain(tcp),
        };
        let io = UpstreamIo {
            stream,
            _open: open,
        };
        let (sender, driver) = http1::Builder::new()
            .handshake(TokioIo::new(io))
            .await
            .map_err(SendError::Http)?;
        Ok(Conn {
            sender,
            driver: Box::pin(driver),
            done: false,
            reused: false,
            origin: origin.to_owned(),
            _slot: slot,
        })
    }
}

/// Opens a TCP connection to the first of `addrs` that answers, each given its share of the
/// connect timeout; the last failure if none does.
async fn dial(addrs: &[std::net::SocketAddr]) -> std::io::Result<TcpStream> {
    let share = CONNECT_TIMEOUT / u32::try_from(addrs.len().max(1)).unwrap_or(u32::MAX);
    let mut last = std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "the upstream's name resolved to no address",
    );
    for addr in addrs {
        match tokio::time::timeout(share, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = e,
            Err(_) => {
                last = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("connecting to {addr} timed out after {share:?}"),
                );
            }
        }
    }
    Err(last)
}

impl Inner {
    fn put(&self, mut conn: Conn) {
        conn.reused = true;
        let mut idle = self.idle_here().lock().unwrap_or_else(|p| p.into_inner());
        let at = match idle.iter().position(|(o, _)| *o == conn.origin) {
            Some(i) => i,
            None => {
                idle.push((conn.origin.clone(), Vec::new()));
                idle.len() - 1
            }
        };
        let stack = &mut idle[at].1;
        if stack.len() < MAX_IDLE_PER_ORIGIN {
            stack.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
        drop(idle);
        // A request waiting for a connection can take this one.
        self.routes.budget().freed.notify_waiters();
    }

    /// Closes idle connections that the upstream closed or that waited too long. Their I/O is
    /// polled without a waker: nothing waits on an idle connection.
    fn sweep(&self) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut closed = Vec::new();
        for list in &self.idle {
            let mut idle = list.lock().unwrap_or_else(|p| p.into_inner());
            for (_, stack) in idle.iter_mut() {
                let mut i = 0;
                while i < stack.len() {
                    let entry = &mut stack[i];
                    if entry.since.elapsed() >= IDLE_TIMEOUT || entry.conn.drive(&mut cx) {
                        closed.push(stack.remove(i));
                    } else {
                        i += 1;
                    }
                }
            }
            idle.retain(|(_, stack)| !stack.is_empty());
        }
        drop(closed);
    }
}

async fn sweep(pool: Weak<Inner>) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        match pool.upgrade() {
            Some(inner) => inner.sweep(),
            None => return,
        }
    }
}

/// An upstream response body. Polling it drives the connection; when it has ended, the
/// connection goes back to the pool. Dropped before its end (the client went away, the
/// integration timed out), it closes the connection, as nginx does.
pub(crate) struct Streaming {
    body: Incoming,
    conn: Option<Conn>,
    pool: Weak<Inner>,
}

impl Streaming {
    fn release(&mut self) {
        if let Some(conn) = self.conn.take()
            && !conn.done
            && let Some(pool) = self.pool.upgrade()
        {
            pool.put(conn);
        }
    }
}

impl hyper::body::Body for Streaming {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let mut polled = Pin::new(&mut this.body).poll_frame(cx);
        if polled.is_pending()
            && let Some(conn) = &mut this.conn
            && !conn.done
        {
            conn.drive(cx);
            polled = Pin::new(&mut this.body).poll_frame(cx);
        }
        match &polled {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Err(_))) => this.conn = None,
            _ => {}
        }
        polled.map(|f| f.map(|r| r.map_err(|e| Box::new(e) as BoxError)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        if hyper::body::Body::is_end_stream(&self.body) {
            self.release();
        }
    }
}
