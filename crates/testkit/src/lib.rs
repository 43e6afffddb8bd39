//! parallax-testkit (dev only): what the integration tests of every crate share.
//!
//! - [`interop`]: finding a real outside client (dig, curl, openssl) or skipping with a reason,
//!   and failing instead when `PARALLAX_INTEROP=required` (CI).
//! - [`dns`]: a tiny DNS client over UDP and TCP, with timeouts, for asserting on answers.

pub mod dns;
pub mod interop;
