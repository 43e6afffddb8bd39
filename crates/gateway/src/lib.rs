//! parallax-gateway: an API gateway that behaves like Amazon API Gateway's data plane.
//!
//! - [`certs`]: `lab:NAME` and file references to CAs and identities.
//! - [`proxy`]: HTTP_PROXY integrations.
//! - [`server`]: front doors, HTTP serving, headers, access log.
//! - [`onprem`]: a stand-in on-prem upstream that wants the gateway's client certificate.
//! - [`pki`]: the certificates the lab makes.
//! - [`tls`]: front-door TLS by SNI, mutual TLS as API Gateway does it, and strict mode.
//! - [`reject`]: every refusal, mapped to status, `x-amzn-ErrorType` and body (reference §1.2).
//! - [`request`]: the canonical request (host, method token, decoded path) every check reads.
//! - [`route`]: resource path templates.
//! - [`policy`]: resource policies (the model's grammar and evaluator, re-exported).
//! - [`usage`]: API keys, throttles and quotas.
//! - [`tables`]: the tables built from a topology, and the order of checks for one request.

pub mod certs;
pub mod onprem;
pub mod pki;
pub use parallax_model::policy;
pub mod proxy;
pub mod proxyproto;
pub mod reject;
pub mod request;
pub mod route;
pub mod server;
pub mod tables;
pub mod tls;
pub mod usage;

pub use certs::LabCerts;
pub use proxy::UpstreamRoutes;
pub use server::{Gateway, GatewayConfig, Listening, MemoryLog};
