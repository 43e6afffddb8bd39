//! parallax-model: the one model of the network that every parallax job works on.
//!
//! - [`topology`]: VPCs, endpoints, zones, rules, APIs, domains, plans and vantage points, read
//!   from YAML with a position for every element: one file per element kind (`vpc`, `dns`,
//!   `api`, `domain`, `usage_plan`) and `validation`, one check per element kind.
//! - [`scenario`]: a topology plus steps that change it and requests to make, with expectations.
//! - [`file`]: a model file as the commands take it (scenario or bare topology), at a step.
//! - [`input`]: the one bounded reader of every file given: regular files only, a size cap.
//! - [`naming`]: AWS's execute-api host names, parsed and built.
//! - [`address`]: address classification and AWS's `ip-ranges.json`.
//! - [`error_type`]: API Gateway's `x-amzn-ErrorType` values as a type.
//! - [`outcome`]: what happened to one request, shared by prediction and observation.
//! - [`ids`]: AWS identifiers that cannot hold a malformed value.
//! - [`policy`]: resource policies, parsed whole (or refused) and evaluated for one call.
//! - [`exposition`]: Prometheus's OpenMetrics text turned into the classic text format.
//! - [`source`]: a positioned tree of YAML or JSON text (every node keeps its line), shared by
//!   the analyzer's template readers and [`openapi`]; a JSON text of 4 MiB and more is read by
//!   two threads, from its start and from near its middle (`source/split.rs`).
//! - [`notice`]: what was read but is not emulated, by file and line.
//! - [`openapi`]: API Gateway's OpenAPI 3 and Swagger 2.0 exports turned into an API's routes,
//!   policy and endpoint configuration, with what is not emulated reported by line.

pub mod address;
mod error;
pub mod error_type;
pub mod exposition;
pub mod file;
pub mod ids;
pub mod input;
pub mod naming;
pub mod notice;
pub mod openapi;
pub mod outcome;
pub mod policy;
mod pos;
pub mod scenario;
pub mod source;
pub mod topology;
mod yaml;

pub use address::{AddressClass, IpRanges, classify};
pub use error::{IdError, IpRangesError, LoadError, Problem};
pub use error_type::ErrorType;
pub use file::{ModelFile, StepError};
pub use ids::{ApiId, DnsName, DomainTargetId, Region, SubnetId, VpcId, VpceId};
pub use naming::{ExecuteApiName, InvokeResource};
pub use outcome::{
    DnsOutcome, DnsVerdict, Expectation, FrontDoor, HttpOutcome, Outcome, Rcode, TlsResult,
};
pub use pos::{At, Pos};
pub use scenario::{Change, Request, RequestUrl, Scenario, Step};
pub use topology::{Network, Topology, Vantage};
/// Reads YAML into `T` with positions (`At`), errors as `file:line:col: field: message`.
pub use yaml::parse as parse_yaml;
