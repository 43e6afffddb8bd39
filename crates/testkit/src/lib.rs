//! parallax-testkit (dev only): what the integration tests of every crate share.
//!
//! - [`interop`]: finding a real outside client (dig, curl, openssl) or skipping with a reason,
//!   and failing instead when `PARALLAX_INTEROP=required` (CI).
//! - [`attacks`]: the attacker's table of request variants and AWS's answer to each (issue 10).
//! - [`dns`]: a tiny DNS client over UDP and TCP, with timeouts, for asserting on answers.
//! - [`process`]: waiting for a child process with a bound, killing it at the bound.
//! - [`schema`]: a JSON Schema checker for the keywords our schema files use.
//! - [`https`]: an HTTPS client with curl's knobs (connect-to, SNI, CA, client cert, HTTP/2).
//! - [`http`]: plain GETs of admin listeners (`/metrics`), and promtool on what they answer.
//! - [`text`]: checks on rendered words (no Rust `Debug` output reaches a report).
//! - [`redis`]: a real redis-server on a loopback port, stopped and restarted by the test.
//! - [`aws`]: a real moto server on loopback with boto3 scripts, and a fake endpoint for what
//!   moto lacks and for faults.

pub mod attacks;
pub mod aws;
pub mod dns;
pub mod http;
pub mod https;
pub mod interop;
pub mod process;
pub mod redis;
pub mod schema;
pub mod text;
