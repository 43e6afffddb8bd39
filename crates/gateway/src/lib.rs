//! parallax-gateway: an API gateway that behaves like Amazon API Gateway's data plane.
//!
//! - [`certs`]: `lab:NAME` and file references to CAs and identities.
//! - [`proxy`]: HTTP_PROXY integrations.
//! - [`server`]: front doors, HTTP serving, headers, access log.
//! - [`onprem`]: a stand-in on-prem upstream that wants the gateway's client certificate.
//! - [`pki`]: the certificates the lab makes.
//! - [`tls`]: front-door TLS by SNI, mutual TLS as API Gateway does it, and strict mode.
//! - [`reject`]: every refusal, mapped to status, `x-amzn-ErrorType` and body (reference §1.2).
//! - [`route`]: resource path templates.
//! - [`policy`]: resource policies.
//! - [`usage`]: API keys, throttles and quotas.
//! - [`tables`]: the tables built from a topology, and the order of checks for one request.

pub mod certs;
pub mod onprem;
pub mod pki;
pub mod policy;
pub mod proxy;
pub mod proxyproto;
pub mod reject;
pub mod route;
pub mod server;
pub mod tables;
pub mod tls;
pub mod usage;

pub use certs::LabCerts;
pub use proxy::UpstreamRoutes;
pub use server::{Gateway, GatewayConfig, Listening, MemoryLog};
