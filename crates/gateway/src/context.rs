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
    /// The name the TLS session was made for.
    pub(crate) sni: Option<String>,
    pub(crate) client_cert: ClientCert,
    pub(crate) protocol: &'static str,
    pub(crate) activity: Arc<Activity>,
}

/// What a connection is doing, for its idle timeout: requests in flight (from the call of the
/// service until its response body ends) and when the last one ended. Requests only touch
/// atomics; the watchdog looks at them when its one timer fires, so a request costs no wake-up
/// and no timer (a timer reset per request doubled the p99 of the fixed-response benchmark).
#[derive(Debug)]
pub(crate) struct Activity {
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
    pub(crate) fn begin(&self) {
        use std::sync::atomic::Ordering;
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.served.store(true, Ordering::Relaxed);
    }

    pub(crate) fn end(&self) {
        use std::sync::atomic::Ordering;
        let ms = self.born.elapsed().as_millis() as u64;
        self.since_ms.store(ms, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// Completes when the connection has had no request in flight for `first` (before its
    /// first request: a handshake followed by silence, an HTTP/2 preface and nothing complete)
    /// or `keep_alive` (after it). Checked when the timer fires, so a connection closes between
    /// one and two limits after it went quiet at the latest, never before one.
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
