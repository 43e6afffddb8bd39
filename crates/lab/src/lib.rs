//! parallax-lab: runs a scenario on loopback and checks what it observes.
//!
//! Today it runs the DNS half of a scenario: every resolver view on loopback, each step's
//! change applied to the running views, each request's name asked from its vantage point's
//! view. Each observed answer is checked twice: against the scenario's `expect:` and against
//! the pure view's own answer for the same topology (a difference is a bug in one of them).
//! The gateway's half (front door, status, error type) arrives with the gateway.
//!
//! - [`run`]: starting the views, applying steps, asking.
//! - [`report`]: what was observed, as text for people and JSON for machines.
//! - [`reproduce`]: `--keep-running`'s files and the `dig`/`curl` lines that reproduce a step.

pub mod report;
pub mod reproduce;
pub mod run;

pub use report::{LabReport, RequestRecord, StepReport};
pub use run::{LabError, LabOptions, run};
