//! parallax-lab: runs a scenario on loopback and checks what it observes.
//!
//! Every resolver view, every front door of the gateway and the on-prem upstreams run on
//! loopback; each step's changes are applied to the running servers; each request goes through
//! the probe from its vantage point (its resolver view, the PROXY header with its address). Each
//! observed outcome is checked twice: against the scenario's `expect:` and against `predict` on
//! the same topology (a difference is a bug in one of them).
//!
//! - [`run`]: starting the servers, applying steps ([`run::Running::goto`]), making requests.
//! - [`report`]: what was observed, as text for people and JSON for machines.
//! - [`reproduce`]: `--keep-running`'s files and the `dig`/`curl` lines that reproduce a step.
//! - [`control`]: `--control ADDR`, moving the running lab between steps over HTTP.

pub mod control;
pub mod report;
pub mod reproduce;
pub mod run;

pub use report::{LabReport, RequestRecord, StepReport};
pub use run::{LabError, LabOptions, run};
