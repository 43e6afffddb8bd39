//! What request handling reads: the gateway's shared state (its configuration snapshot, log,
//! timeouts and metrics) and the connection a request came on (door, peer, TLS session, and its
//! activity for the idle timeout). The server and the front door make them; the response reads
//! them; nothing here reads back from those.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use parallax_model::FrontDoor;
use parallax_rules::decision::{ClientCert, Tables};

use crate::access_log::AccessLog;
use crate::proxy::Upstreams;
use crate::tls::DoorTls;

/// API Gateway's payload limit.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// Everything the request path reads, swapped whole on reconfiguration.
pub(crate) struct Snapshot {
    pub(crate) tables: Tables,
    /// The IAM identities' access keys, for SigV4.
    pub(crate) keys: crate::sigv4::Keys,
    pub(crate) doors: HashMap<String, DoorTls>,
    pub(crate) upstreams: Upstreams,
}

pub(crate) struct Shared {
    pub(crate) snapshot: ArcSwap<Snapshot>,
    pub(crate) log: Arc<dyn AccessLog>,
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) proxy_protocol: bool,
    pub(crate) metrics: Option<Arc<crate::metrics::GatewayMetrics>>,
    pub(crate) http2: crate::server::Http2Limits,
    /// The bytes all requests together may hold read whole at once (SigV4-signed bodies):
    /// permits of 1 KiB, [`SIGNED_BODY_BUDGET`] in all.
    pub(crate) signed_bodies: Arc<tokio::sync::Semaphore>,
}

/// The bytes of signed bodies held at once across the gateway: 64 MiB (six bodies at the
/// 10 MB limit); a request that would go over waits for room (within the integration timeout).
pub const SIGNED_BODY_BUDGET: usize = 64 * 1024 * 1024;

/// What a request knows about its connection.
pub(crate) struct Conn {
    pub(crate) door_name: String,
    pub(crate) door: FrontDoor,
    pub(crate) peer: SocketAddr,
    /// The peer's address as the access log writes it, made once per connection.
    pub(crate) peer_ip: String,
    /// The name the TLS session was made for.
    pub(crate) sni: Option<String>,
    pub(crate) client_cert: ClientCert,
    pub(crate) protocol: &'static str,
    pub(crate) activity: Arc<Activity>,
}

/// What a connection is doing, for its idle and header timeouts: requests in flight (from the
/// call of the service until its response body ends), when the last one ended, and when bytes
/// of the next request's head began to arrive with none in flight (HTTP/1.1: [`Watched`]).
/// Requests and reads only touch atomics; the watchdog looks at them when its one timer fires,
/// so a request costs no wake-up and no timer (a timer reset per request doubled the p99 of the
/// fixed-response benchmark; hyper's own header-read timer is such a reset, so it is off).
#[derive(Debug)]
pub(crate) struct Activity {
    born: Instant,
    in_flight: std::sync::atomic::AtomicUsize,
    served: std::sync::atomic::AtomicBool,
    /// When the last request ended, in milliseconds after `born`.
    since_ms: std::sync::atomic::AtomicU64,
    /// When a request head began to arrive with nothing in flight, in milliseconds after
    /// `born`; [`NOT_READING`] when none is arriving.
    reading_ms: std::sync::atomic::AtomicU64,
}

/// No request head is arriving.
const NOT_READING: u64 = u64::MAX;

impl Default for Activity {
    fn default() -> Self {
        Activity {
            born: Instant::now(),
            in_flight: Default::default(),
            served: Default::default(),
            since_ms: Default::default(),
            reading_ms: std::sync::atomic::AtomicU64::new(NOT_READING),
        }
    }
}

impl Activity {
    pub(crate) fn begin(&self) {
        use std::sync::atomic::Ordering;
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.served.store(true, Ordering::Relaxed);
    }

    pub(crate) fn end(&self) {
        use std::sync::atomic::Ordering;
        let ms = self.born.elapsed().as_millis() as u64;
        self.since_ms.store(ms, Ordering::Relaxed);
        self.reading_ms.store(NOT_READING, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// Bytes arrived: with nothing in flight, the next request's head has begun (kept from its
    /// first bytes until the request is served).
    fn arrived(&self) {
        use std::sync::atomic::Ordering;
        if self.in_flight.load(Ordering::SeqCst) == 0
            && self.reading_ms.load(Ordering::Relaxed) == NOT_READING
        {
            let ms = self.born.elapsed().as_millis() as u64;
            self.reading_ms.store(ms, Ordering::Relaxed);
        }
    }

    /// Completes when the connection has had no request in flight for `first` (before its
    /// first request: a handshake followed by silence, an HTTP/2 preface and nothing complete)
    /// or `keep_alive` (after it), or when a request head has been arriving for `first` without
    /// completing (slowloris). Checked when the timer fires, at least every `first`: a
    /// connection closes between one and two limits after it went quiet or its head began, at
    /// the latest, never before one.
    pub(crate) async fn idle(&self, first: Duration, keep_alive: Duration) {
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
            // Looked at again within `first`, whatever happens meanwhile: a head that begins
            // to arrive is not announced (that would be a wake-up per request). Not more often
            // than every 10 ms, whatever the timeouts (a timer of zero would spin).
            let next = now + first.min(limit).max(Duration::from_millis(10));
            if self.in_flight.load(Ordering::SeqCst) > 0 {
                timer.as_mut().reset(next.into());
                continue;
            }
            let at = |ms: u64| self.born + Duration::from_millis(ms);
            let reading = self.reading_ms.load(Ordering::Relaxed);
            if reading != NOT_READING && now >= at(reading) + first {
                return;
            }
            let due = at(self.since_ms.load(Ordering::Relaxed)) + limit;
            if now >= due {
                return;
            }
            timer.as_mut().reset(due.min(next).into());
        }
    }
}

/// A connection's stream that tells its [`Activity`] when bytes arrive: HTTP/1.1's, where they
/// are the next request's head when nothing is in flight. (HTTP/2's frames between requests,
/// PINGs and SETTINGS, are not a head: hyper's HTTP/2 server times nothing per request, and an
/// HTTP/2 connection is watched for idleness only.)
pub(crate) struct Watched<S> {
    inner: S,
    /// `None` for HTTP/2.
    activity: Option<Arc<Activity>>,
}

impl<S> Watched<S> {
    pub(crate) fn new(inner: S, activity: Option<Arc<Activity>>) -> Watched<S> {
        Watched { inner, activity }
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Watched<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before
            && let Some(a) = &self.activity
        {
            a.arrived();
        }
        r
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One request in flight on its connection, from the service call until the response body
/// ends (or is dropped): the connection's idle timer does not run meanwhile.
pub(crate) struct Ticket(Arc<Activity>);

impl Ticket {
    pub(crate) fn begin(a: Arc<Activity>) -> Ticket {
        a.begin();
        Ticket(a)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.end();
    }
}
