//! The gateway as a server: its configuration, starting every front door, the tables swapped
//! atomically on reconfiguration (the request path takes no lock), and shutdown. A door's
//! connections are [`crate::front_door`]'s, a request's response [`crate::response`]'s, and
//! the log [`crate::access_log`]'s.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use parallax_model::FrontDoor;
use parallax_model::topology::{EndpointType, Integration, Topology};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::certs::{CertError, LabCerts, read_crls};
use crate::proxy::{UpstreamRoutes, Upstreams};
use crate::tls::{DoorTls, DoorTlsSpec, Truststore};
use parallax_rules::decision::Tables;
use parallax_rules::usage_plan::{MemoryStore, RetainingStore, UsageStore};

pub use crate::access_log::{ACCESS_LOG_QUEUE, AccessLog, MemoryLog, StderrLog};
pub use crate::context::MAX_BODY;
use crate::context::{Shared, Snapshot};
use crate::front_door::{Entrance, Share, accept_loop};
pub use crate::request_id::uuid4;
use crate::spread::Spread;

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
    /// Where request, connection and refusal counts go (`--admin`'s `/metrics`); `None` counts
    /// nothing, so a gateway nobody scrapes pays nothing on its request path.
    pub metrics: Option<Arc<crate::metrics::GatewayMetrics>>,
    /// Where usage-plan counters live when they are shared by several replicas
    /// ([`crate::usage_store::RedisStore`]); `None` keeps them in this process's memory.
    pub usage_store: Option<Arc<dyn UsageStore + Send + Sync>>,
    /// HTTP/2's limits per connection.
    pub http2: Http2Limits,
    /// Worker threads, each with a runtime of its own and its own listener on every door
    /// (`SO_REUSEPORT`), serving its connections and its upstream connections without handing
    /// them to another thread (nginx's worker model). The kernel picks a new connection's
    /// listener by a hash, so a worker that accepts one while another serves fewer hands it
    /// over once, before its handshake (see [`Gateway::worker_connections`]). 0: everything
    /// runs on the runtime that starts the gateway. At most [`MAX_WORKERS`].
    pub workers: usize,
}

/// The most worker threads a gateway runs.
pub const MAX_WORKERS: usize = 64;

thread_local! {
    static WORKER: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The worker the current thread is (1 to [`MAX_WORKERS`]), or 0 outside the gateway's
/// workers: which of a pool's per-worker lists a request uses.
pub(crate) fn worker() -> usize {
    WORKER.with(std::cell::Cell::get)
}

/// What one HTTP/2 connection may make the gateway hold. A client that opens many streams and
/// never opens its flow-control window holds at most `max_streams × stream_buffer` bytes of
/// response queued per connection (1 MiB by default, Envoy's per-connection buffer limit),
/// the bodies themselves being shared with the configuration (MOCK) or read from upstream
/// only as the window allows (HTTP_PROXY).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Http2Limits {
    /// Concurrent streams a client may open (SETTINGS_MAX_CONCURRENT_STREAMS; nginx's
    /// `http2_max_concurrent_streams` default is 128).
    pub max_streams: u32,
    /// Bytes of response queued per stream beyond what the client's window takes.
    pub stream_buffer: usize,
}

impl Default for Http2Limits {
    fn default() -> Self {
        Http2Limits {
            max_streams: 128,
            stream_buffer: 8 * 1024,
        }
    }
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("listen", &self.listen)
            .field("max_connections", &self.max_connections)
            .field("workers", &self.workers)
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
            metrics: None,
            usage_store: None,
            http2: Http2Limits::default(),
            workers: 0,
        }
    }
}

/// Why a gateway cannot start or take a new topology.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// A listen address (`--listen`) that cannot be bound.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why it could not be bound (in the message, so not also a source: said once).
        error: std::io::Error,
    },
    /// A `--listen` door name the topology does not have.
    #[error("no front door named `{door}` (doors: {known})")]
    UnknownDoor {
        /// The door asked for.
        door: String,
        /// The doors the topology has.
        known: String,
    },
    /// A certificate the topology names (`certificate:`, a truststore, an upstream CA) that cannot be used.
    #[error(transparent)]
    Certs(#[from] CertError),
    /// A TLS configuration that rustls refuses (named by what it was for).
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// A worker thread or its runtime that could not be made.
    #[error("cannot start a gateway worker thread: {0}")]
    Worker(std::io::Error),
}

/// A listener on `addr` (backlog 1024), sharing its port with the other workers' when
/// `reuse_port`.
fn bind(addr: SocketAddr, reuse_port: bool) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    socket.listen(1024)
}

/// One bound door.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listening {
    /// The door's name.
    pub door: String,
    /// The bound address.
    pub addr: SocketAddr,
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
    /// Usage-plan counters shared by replicas (Redis), when configured.
    shared_store: Option<Arc<dyn UsageStore + Send + Sync>>,
    /// Otherwise: in-memory counters that a reload keeps.
    retained: Arc<RetainingStore>,
    /// Each door's spread of connections over the workers (none without workers).
    spreads: Vec<(String, Arc<Spread>)>,
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
        let shared_store = config.usage_store.clone();
        let retained = Arc::new(RetainingStore::default());
        let counters: &dyn UsageStore = match &shared_store {
            Some(store) => &**store,
            None => &*retained,
        };
        let snapshot = build_snapshot(
            topology,
            &mut certs,
            &routes,
            counters,
            config.metrics.as_ref(),
        )?;
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
            metrics: config.metrics.clone(),
            http2: config.http2,
            signed_bodies: Arc::new(tokio::sync::Semaphore::new(
                crate::context::SIGNED_BODY_BUDGET / 1024,
            )),
        });
        let (stop, stopped) = watch::channel(false);
        let workers = config.workers.min(MAX_WORKERS);
        let mut listening = Vec::new();
        // Per door: its listeners (one per worker, or one), and the connection limit they share.
        let mut doors_bound = Vec::new();
        for (name, addr) in listen {
            let door = all
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, d)| d.clone())
                .ok_or_else(|| GatewayError::UnknownDoor {
                    door: name.clone(),
                    known: known.clone(),
                })?;
            let bind_error = |error| GatewayError::Bind { addr, error };
            let first = bind(addr, workers > 0).map_err(bind_error)?;
            let bound = first.local_addr().map_err(bind_error)?;
            let mut listeners = vec![first];
            for _ in 1..workers {
                listeners.push(bind(bound, true).map_err(bind_error)?);
            }
            listening.push(Listening {
                door: name.clone(),
                addr: bound,
            });
            let permits = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
            doors_bound.push((name, door, listeners, permits));
        }
        let mut tasks = Vec::new();
        let mut spreads = Vec::new();
        if workers == 0 {
            for (name, door, mut listeners, permits) in doors_bound {
                let Some(listener) = listeners.pop() else {
                    continue;
                };
                let entrance = Entrance {
                    listener,
                    name,
                    door,
                    permits,
                    share: None,
                };
                tasks.push(tokio::spawn(accept_loop(
                    entrance,
                    shared.clone(),
                    stopped.clone(),
                    config.grace,
                )));
            }
        } else {
            // Each worker takes its listener of every door, out of this runtime's reactor and
            // into its own.
            let mut per_worker: Vec<Vec<_>> = (0..workers).map(|_| Vec::new()).collect();
            for (name, door, listeners, permits) in doors_bound {
                let (spread, inboxes) = Spread::new(workers);
                spreads.push((name.clone(), spread.clone()));
                for ((w, l), inbox) in listeners.into_iter().enumerate().zip(inboxes) {
                    let addr = l
                        .local_addr()
                        .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
                    let std = l
                        .into_std()
                        .map_err(|error| GatewayError::Bind { addr, error })?;
                    let share = Share {
                        worker: w,
                        spread: spread.clone(),
                        inbox,
                    };
                    per_worker[w].push((name.clone(), door.clone(), std, permits.clone(), share));
                }
            }
            for (w, doors) in per_worker.into_iter().enumerate() {
                let (done, finished) = tokio::sync::oneshot::channel::<()>();
                let (shared, stopped, grace) = (shared.clone(), stopped.clone(), config.grace);
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(GatewayError::Worker)?;
                std::thread::Builder::new()
                    .name(format!("gateway-{}", w + 1))
                    .spawn(move || {
                        WORKER.with(|c| c.set(w + 1));
                        runtime.block_on(async move {
                            let mut loops = tokio::task::JoinSet::new();
                            for (name, door, std, permits, share) in doors {
                                match TcpListener::from_std(std) {
                                    Ok(listener) => {
                                        let entrance = Entrance {
                                            listener,
                                            name,
                                            door,
                                            permits,
                                            share: Some(share),
                                        };
                                        loops.spawn(accept_loop(
                                            entrance,
                                            shared.clone(),
                                            stopped.clone(),
                                            grace,
                                        ));
                                    }
                                    Err(e) => tracing::error!(
                                        door = %name,
                                        error = %e,
                                        "a worker could not take its listener"
                                    ),
                                }
                            }
                            while loops.join_next().await.is_some() {}
                        });
                        let _ = done.send(());
                    })
                    .map_err(GatewayError::Worker)?;
                tasks.push(tokio::spawn(async move {
                    let _ = finished.await;
                }));
            }
        }
        Ok(Gateway {
            listening,
            shared,
            certs: Mutex::new(certs),
            stop,
            tasks,
            grace: config.grace,
            routes,
            shared_store,
            retained,
            spreads,
        })
    }

    /// Every bound door.
    pub fn listening(&self) -> &[Listening] {
        &self.listening
    }

    /// The address a door is bound to.
    pub fn addr_of(&self, door: &str) -> Option<SocketAddr> {
        self.listening
            .iter()
            .find(|l| l.door == door)
            .map(|l| l.addr)
    }

    /// The connections each worker serves on a door now, worker by worker (`None` for a door
    /// not bound, or a gateway without workers).
    pub fn worker_connections(&self, door: &str) -> Option<Vec<usize>> {
        self.spreads
            .iter()
            .find(|(d, _)| d == door)
            .map(|(_, s)| s.counts())
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

    /// Swaps in a new topology, with fresh in-memory usage counters (a shared store's stay
    /// where they are). Requests in flight finish on the old tables; doors that the new
    /// topology adds need a restart to get a listener.
    pub fn update(&self, topology: &Topology) -> Result<(), GatewayError> {
        let store: &dyn UsageStore = match &self.shared_store {
            Some(shared) => &**shared,
            None => &MemoryStore,
        };
        let metrics = self.shared.metrics.as_ref();
        let snapshot =
            self.with_certs(|c| build_snapshot(topology, c, &self.routes, store, metrics))?;
        self.shared.snapshot.store(Arc::new(snapshot));
        Ok(())
    }

    /// Swaps in a reloaded topology (SIGHUP): as [`Gateway::update`], but every usage-plan
    /// counter whose key, plan and limits are unchanged carries on, and the reload is counted.
    /// Connections and requests in flight keep the tables they started with. A door that the new
    /// topology adds needs a restart.
    pub fn reload(&self, topology: &Topology) -> Result<(), GatewayError> {
        let metrics = self.shared.metrics.as_ref();
        let store: &dyn UsageStore = match &self.shared_store {
            Some(shared) => &**shared,
            None => &*self.retained,
        };
        let built = self.with_certs(|c| build_snapshot(topology, c, &self.routes, store, metrics));
        if let Some(m) = &self.shared.metrics {
            m.reload(built.is_ok());
        }
        self.shared.snapshot.store(Arc::new(built?));
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
    store: &dyn UsageStore,
    metrics: Option<&Arc<crate::metrics::GatewayMetrics>>,
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
            FrontDoor::VpcEndpoint(_) => Some(EndpointType::Private),
            FrontDoor::None => None,
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
            let versions = parallax_rules::tls_versions::for_sni(t, &door, d.name.as_str());
            domains.push((d.name.to_string(), id, trust, versions));
        }
        // Execute-api names whose API has a security policy: the default name, and the
        // `{api}-{vpce}` aliases at an endpoint's door.
        let mut names = Vec::new();
        for a in t.apis.iter().filter(|a| a.security_policy.is_some()) {
            let mut forms = vec![format!("{}.execute-api.{region}.{suffix}", a.id.value)];
            if let FrontDoor::VpcEndpoint(v) = &door {
                forms.push(format!("{}-{v}.execute-api.{region}.{suffix}", a.id.value));
            }
            for name in forms {
                let versions = parallax_rules::tls_versions::for_sni(t, &door, &name);
                names.push((name, versions));
            }
        }
        doors_tls.insert(
            name,
            DoorTls::build(&DoorTlsSpec {
                default_identity: &default_id,
                endpoint_door: matches!(door, FrontDoor::VpcEndpoint(_)),
                domains,
                names,
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
                upstreams.prepare(
                    ca.as_deref(),
                    client_certificate.as_deref(),
                    certs,
                    routes,
                    metrics,
                )?;
            }
        }
    }
    Ok(Snapshot {
        keys: crate::sigv4::Keys::of(t),
        tables: Tables::build_with(t, store),
        doors: doors_tls,
        upstreams,
    })
}
