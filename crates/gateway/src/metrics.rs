//! The gateway's Prometheus metrics (`--admin ADDR:PORT`, `/metrics`): requests by door, API,
//! stage, status and error type; latency histograms, total and upstream; refused connections
//! (PROXY header, ClientHello, TLS handshake) and client-certificate refusals by their typed
//! reason, TLS handshake failures by rustls's typed error; usage-plan refusals; open connections;
//! upstream connections (the pool's state); the shared usage store's latency, failures
//! and state.
//!
//! Every label value comes from a bounded set: the topology's doors, APIs and stages (a request
//! that named none of them is `-`), the statuses and error types the gateway answers with, and
//! fixed reason ids. Nothing a client sends becomes a label.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use parallax_model::ErrorType;
use parallax_rules::refusal::Reject;

type Labels = Vec<(String, String)>;

/// Why a connection ended before any request (a fixed set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnRefusal {
    /// The PROXY protocol header was malformed.
    ProxyHeader,
    /// No PROXY protocol header in time.
    ProxyHeaderTimeout,
    /// No TLS ClientHello in time (or not TLS at all).
    ClientHello,
    /// No SNI: the handshake is refused, as API Gateway does.
    NoSni,
    /// The TLS handshake failed (a strict-mode client certificate, no common version, an alert).
    Handshake,
    /// The handshake did not finish in time.
    HandshakeTimeout,
}

impl ConnRefusal {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnRefusal::ProxyHeader => "proxy-header",
            ConnRefusal::ProxyHeaderTimeout => "proxy-header-timeout",
            ConnRefusal::ClientHello => "client-hello",
            ConnRefusal::NoSni => "no-sni",
            ConnRefusal::Handshake => "handshake",
            ConnRefusal::HandshakeTimeout => "handshake-timeout",
        }
    }
}

/// Why a TLS handshake failed, from rustls's typed error (a fixed set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// Strict mutual TLS: the client sent no certificate.
    NoClientCertificate,
    /// Strict mutual TLS: the client's certificate did not verify.
    BadClientCertificate,
    /// No protocol version, cipher suite or signature scheme in common.
    Incompatible,
    /// The client sent an alert (often: it does not trust the gateway's certificate).
    AlertFromClient,
    /// The client broke the protocol (an unexpected or malformed message).
    Protocol,
    /// The connection ended or failed underneath TLS.
    Io,
    /// Anything else.
    Other,
}

impl HandshakeFailure {
    /// Classifies the error `LazyConfigAcceptor`'s stream returned.
    pub fn of(e: &std::io::Error) -> HandshakeFailure {
        let Some(tls) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        else {
            return HandshakeFailure::Io;
        };
        match tls {
            rustls::Error::NoCertificatesPresented => HandshakeFailure::NoClientCertificate,
            rustls::Error::InvalidCertificate(_) => HandshakeFailure::BadClientCertificate,
            rustls::Error::PeerIncompatible(_) => HandshakeFailure::Incompatible,
            rustls::Error::AlertReceived(_) => HandshakeFailure::AlertFromClient,
            rustls::Error::PeerMisbehaved(_)
            | rustls::Error::InappropriateMessage { .. }
            | rustls::Error::InappropriateHandshakeMessage { .. }
            | rustls::Error::InvalidMessage(_)
            | rustls::Error::DecryptError => HandshakeFailure::Protocol,
            _ => HandshakeFailure::Other,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            HandshakeFailure::NoClientCertificate => "no-client-certificate",
            HandshakeFailure::BadClientCertificate => "bad-client-certificate",
            HandshakeFailure::Incompatible => "incompatible",
            HandshakeFailure::AlertFromClient => "alert-from-client",
            HandshakeFailure::Protocol => "protocol",
            HandshakeFailure::Io => "io",
            HandshakeFailure::Other => "other",
        }
    }
}

/// One request as the metrics see it.
#[derive(Debug)]
pub struct RequestSample<'a> {
    /// The front door's name.
    pub door: &'a str,
    /// The API and stage, when the request reached a stage of an API of the topology.
    pub api: Option<&'a str>,
    /// The stage, once one was reached.
    pub stage: Option<&'a str>,
    /// The status answered.
    pub status: u16,
    /// The refusal, when the request was refused.
    pub reject: Option<&'a Reject>,
    /// Seconds from the request to its answer.
    pub seconds: f64,
    /// Seconds the upstream took, for HTTP_PROXY.
    pub upstream_seconds: Option<f64>,
}

/// The registry and its families.
#[derive(Debug)]
pub struct GatewayMetrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    duration: Family<Labels, Histogram>,
    upstream: Family<Labels, Histogram>,
    refused: Family<Labels, Counter>,
    cert_refusals: Family<Labels, Counter>,
    usage_refusals: Family<Labels, Counter>,
    open: Family<Labels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    reloads: Family<Labels, Counter<u64, AtomicU64>>,
    store_duration: Histogram,
    store_failures: Family<Labels, Counter>,
    store_up: Gauge,
    handshakes: Family<Labels, Counter>,
    upstream_opened: Counter,
    upstream_failed: Counter,
    upstream_open: Gauge,
    upstream_overflow: Family<Labels, Counter>,
}

fn buckets() -> impl Iterator<Item = f64> {
    [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 29.0,
    ]
    .into_iter()
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        GatewayMetrics::new()
    }
}

impl GatewayMetrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> GatewayMetrics {
        let mut registry = Registry::default();
        let m = GatewayMetrics {
            registry: Registry::default(),
            requests: Family::default(),
            duration: Family::new_with_constructor(|| Histogram::new(buckets())),
            upstream: Family::new_with_constructor(|| Histogram::new(buckets())),
            refused: Family::default(),
            cert_refusals: Family::default(),
            usage_refusals: Family::default(),
            open: Family::default(),
            reloads: Family::default(),
            store_duration: Histogram::new(buckets()),
            store_failures: Family::default(),
            store_up: Gauge::default(),
            handshakes: Family::default(),
            upstream_opened: Counter::default(),
            upstream_failed: Counter::default(),
            upstream_open: Gauge::default(),
            upstream_overflow: Family::default(),
        };
        registry.register(
            "parallax_gateway_requests",
            "Requests answered, by door, API, stage, status and error type",
            m.requests.clone(),
        );
        registry.register(
            "parallax_gateway_request_duration_seconds",
            "From the request head to the end of the response body, by door",
            m.duration.clone(),
        );
        registry.register(
            "parallax_gateway_upstream_duration_seconds",
            "HTTP_PROXY integrations: from sending upstream to its response head, by door",
            m.upstream.clone(),
        );
        registry.register(
            "parallax_gateway_connections_refused",
            "Connections ended before any request, by door and reason",
            m.refused.clone(),
        );
        registry.register(
            "parallax_gateway_client_certificate_refusals",
            "Requests refused for their client certificate (mutual TLS), by door and reason",
            m.cert_refusals.clone(),
        );
        registry.register(
            "parallax_gateway_usage_plan_refusals",
            "Requests refused by API keys and usage plans, by door and reason",
            m.usage_refusals.clone(),
        );
        registry.register(
            "parallax_gateway_open_connections",
            "Connections open now, by door",
            m.open.clone(),
        );
        registry.register(
            "parallax_gateway_reloads",
            "Configuration reloads, by result",
            m.reloads.clone(),
        );
        registry.register(
            "parallax_gateway_usage_store_duration_seconds",
            "Exchanges with the shared usage-plan store (Redis): decisions, leases and units given \
             back, answered or not",
            m.store_duration.clone(),
        );
        registry.register(
            "parallax_gateway_usage_store_failures",
            "Usage-plan decisions the shared store did not make, by reason (timeout, error) and \
             what the gateway did (allowed, refused)",
            m.store_failures.clone(),
        );
        registry.register(
            "parallax_gateway_usage_store_up",
            "Whether the shared usage-plan store answered the last decision (1) or not (0)",
            m.store_up.clone(),
        );
        registry.register(
            "parallax_gateway_tls_handshake_failures",
            "TLS handshakes that failed after the ClientHello, by door and reason",
            m.handshakes.clone(),
        );
        registry.register(
            "parallax_gateway_upstream_connections_opened",
            "Connections opened to HTTP_PROXY upstreams (TCP connected)",
            m.upstream_opened.clone(),
        );
        registry.register(
            "parallax_gateway_upstream_connect_failures",
            "Connections to HTTP_PROXY upstreams that could not be opened",
            m.upstream_failed.clone(),
        );
        registry.register(
            "parallax_gateway_upstream_connections_open",
            "Upstream connections open now, in use or idle in the pool",
            m.upstream_open.clone(),
        );
        registry.register(
            "parallax_gateway_upstream_overflows",
            "Requests that met a full cap on upstream connections, by cap: connections and per_origin (the request waited), pending (refused)",
            m.upstream_overflow.clone(),
        );
        GatewayMetrics { registry, ..m }
    }

    /// A TLS handshake that failed.
    pub fn handshake_failed(&self, door: &str, why: HandshakeFailure) {
        let mut l = Self::door(door);
        l.push(("reason".to_owned(), why.as_str().to_owned()));
        self.handshakes.get_or_create(&l).inc();
    }

    /// An upstream connection opened (`Ok`) or not; [`GatewayMetrics::upstream_closed`] when
    /// it ends.
    pub fn upstream_connect(&self, ok: bool) {
        if ok {
            self.upstream_opened.inc();
            self.upstream_open.inc();
        } else {
            self.upstream_failed.inc();
        }
    }

    /// A request met a full cap on upstream connections.
    pub fn upstream_overflow(&self, cap: crate::pool::UpstreamCap) {
        self.upstream_overflow
            .get_or_create(&vec![("cap".to_owned(), cap.as_str().to_owned())])
            .inc();
    }

    /// Counts an upstream connection closed.
    pub fn upstream_closed(&self) {
        self.upstream_open.dec();
    }

    /// One decision asked of the shared usage store: how long it took, and, when it failed, why
    /// and whether the request was let through.
    pub fn usage_store(&self, seconds: f64, failed: Option<(&'static str, &'static str)>) {
        self.store_duration.observe(seconds);
        self.store_up.set(i64::from(failed.is_none()));
        if let Some((reason, action)) = failed {
            self.store_failures
                .get_or_create(&vec![
                    ("reason".to_owned(), reason.to_owned()),
                    ("action".to_owned(), action.to_owned()),
                ])
                .inc();
        }
    }

    fn door(door: &str) -> Labels {
        vec![("door".to_owned(), door.to_owned())]
    }

    /// Counts one answered request.
    pub fn request(&self, r: &RequestSample<'_>) {
        let labels = vec![
            ("door".to_owned(), r.door.to_owned()),
            ("api".to_owned(), r.api.unwrap_or("-").to_owned()),
            ("stage".to_owned(), r.stage.unwrap_or("-").to_owned()),
            ("status".to_owned(), r.status.to_string()),
            (
                "error_type".to_owned(),
                r.reject
                    .and_then(Reject::error_type)
                    .as_ref()
                    .map_or("-", ErrorType::as_str)
                    .to_owned(),
            ),
        ];
        self.requests.get_or_create(&labels).inc();
        self.duration
            .get_or_create(&Self::door(r.door))
            .observe(r.seconds);
        if let Some(u) = r.upstream_seconds {
            self.upstream.get_or_create(&Self::door(r.door)).observe(u);
        }
        let with = |k: &str, v: &str| {
            let mut l = Self::door(r.door);
            l.push((k.to_owned(), v.to_owned()));
            l
        };
        match r.reject {
            Some(Reject::ClientCertificate(why)) => {
                self.cert_refusals
                    .get_or_create(&with("reason", why.kind()))
                    .inc();
            }
            Some(Reject::InvalidApiKey) => {
                self.usage_refusals
                    .get_or_create(&with("reason", "invalid-api-key"))
                    .inc();
            }
            Some(Reject::Throttled) => {
                self.usage_refusals
                    .get_or_create(&with("reason", "throttled"))
                    .inc();
            }
            Some(Reject::QuotaExceeded) => {
                self.usage_refusals
                    .get_or_create(&with("reason", "quota"))
                    .inc();
            }
            Some(Reject::UsageStoreUnavailable) => {
                self.usage_refusals
                    .get_or_create(&with("reason", "store-unavailable"))
                    .inc();
            }
            _ => {}
        }
    }

    /// Counts a connection that ended before any request.
    pub fn refused(&self, door: &str, why: ConnRefusal) {
        let mut l = Self::door(door);
        l.push(("reason".to_owned(), why.as_str().to_owned()));
        self.refused.get_or_create(&l).inc();
    }

    /// A connection opened (+1) or closed (-1).
    pub fn connection(&self, door: &str, delta: i64) {
        self.open.get_or_create(&Self::door(door)).inc_by(delta);
    }

    /// A reload, `ok` or `refused` (a bad file keeps the running configuration).
    pub fn reload(&self, ok: bool) {
        let result = if ok { "ok" } else { "refused" };
        self.reloads
            .get_or_create(&vec![("result".to_owned(), result.to_owned())])
            .inc();
    }

    /// The classic text format (0.0.4), which `promtool check metrics` reads.
    pub fn encode_text(&self) -> String {
        let mut om = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut om, &self.registry);
        parallax_model::exposition::to_text_format(&om)
    }
}
