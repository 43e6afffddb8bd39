//! parallax-gateway: an API gateway that behaves like Amazon API Gateway's data plane. It holds
//! the sockets, TLS and HTTP; what to answer comes from `parallax-rules`.
//!
//! - [`certs`]: `lab:NAME` and file references to CAs and identities.
//! - [`proxy`]: HTTP_PROXY integrations.
//! - `pool`: their upstream connections, kept alive and driven by the requests' own tasks,
//!   under caps on connections (in all, per upstream) and on requests waiting for one.
//! - [`proxyproto`]: the PROXY protocol header (v1, v2) read before TLS.
//! - [`server`]: the gateway's configuration, start, reconfiguration and shutdown.
//! - [`front_door`]: the accept loop and one connection's life, with its timeouts.
//! - `spread`: a door's connections spread evenly over the workers (a worker that accepts one
//!   while another serves fewer hands it over before its handshake).
//! - [`response`]: one request's response: decision, integration, headers, the body wrapper.
//! - [`access_log`]: the JSON access log and its bounded queue.
//! - [`onprem`]: a stand-in on-prem upstream that wants the gateway's client certificate.
//! - [`pki`]: the certificates the lab makes.
//! - [`tls`]: front-door TLS by SNI, mutual TLS as API Gateway does it, and strict mode.
//! - [`websocket`]: WebSocket APIs' opening handshake and framing at the doors.
//! - [`metrics`]: requests, latencies, refusals and connections for Prometheus, bounded labels.
//! - [`admin`]: the admin listener: `/metrics`, `/healthz`, `/readyz`; its small HTTP/1.1 server
//!   serves the lab's control too.
//! - [`usage_store`]: usage-plan counters shared by replicas in Redis, exact (one script per
//!   decision) or batched (leases spent locally), and what a request gets when Redis does not
//!   answer.
//! - `body`: the body type every response and proxied request goes through.
//! - `context`: what request handling reads of the gateway and of its connection.
//! - `record`: the access-log line and metrics of one request, once its response has ended.
//! - `request_id`: `x-amzn-RequestId` and the random bytes behind ids.
//! - `sigv4`: SigV4 verification of requests to `AWS_IAM` methods (the aws-sigv4 crate), with
//!   the topology's access keys.
//!
//! What to answer (refusals, the canonical request, routes, policies, usage plans, the order of
//! checks) is `parallax-rules`' `refusal`, `request`, `route`, `policy`, `usage_plan` and
//! `decision`, used under those names.

pub mod access_log;
pub mod admin;
mod body;
pub mod certs;
mod context;
pub mod front_door;
pub mod metrics;
pub mod onprem;
pub mod pki;
mod pool;
pub mod proxy;
pub mod proxyproto;
mod record;
mod request_id;
pub mod response;
pub mod server;
mod sigv4;
mod spread;
pub mod tls;
pub mod usage_store;
pub mod websocket;

pub use certs::LabCerts;
pub use parallax_rules::usage_plan::UsageStore;
pub use pool::{UpstreamCap, UpstreamLimits};
pub use proxy::UpstreamRoutes;
pub use server::{Gateway, GatewayConfig, Listening, MemoryLog};
