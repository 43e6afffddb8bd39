//! parallax-rules: what AWS does, as pure functions over the model. No I/O, no async, no
//! sockets: the servers (`parallax-dns`, `parallax-gateway`) call these rules, `predict` calls
//! the same ones, and each rule is tested apart from any server.
//!
//! - [`resolver`]: what one resolver answers from one place (the internet, a VPC's Route 53
//!   Resolver): rules, private zones, endpoint zones, CNAME chains.
//! - [`request`]: the canonical request (host, method token, decoded path) every check reads.
//! - [`route`]: resource path templates and method matching.
//! - [`policy`]: resource-policy evaluation for one call (the grammar, and its refusal of what
//!   cannot be honoured, are the model's: a topology with such a policy does not load).
//! - [`usage_plan`]: API keys, throttles and quotas; the counters' storage behind a trait.
//! - [`refusal`]: every refusal, mapped to status, `x-amzn-ErrorType` and body (reference §1.2).
//! - [`decision`]: the gateway's tables and the order of checks for one request.
//! - [`sigv4`]: SigV4 `Authorization` headers and what a signature check can say.
//! - [`tls_versions`]: the TLS versions a handshake may use, by door and SNI (security policies).
//! - [`proxy_header`]: the PROXY protocol header an NLB sends first (v1, v2), written and read.
//! - [`predict`]: the outcome of a request from a vantage point, computed from the model alone.

pub mod decision;
pub mod predict;
pub mod proxy_header;
pub mod refusal;
pub mod request;
pub mod resolver;
pub mod route;
pub mod sigv4;
pub mod tls_versions;
pub mod usage_plan;

pub mod policy;
pub use predict::{PredictRequest, Prediction, Predictor};
