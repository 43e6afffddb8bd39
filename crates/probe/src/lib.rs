//! parallax-probe: the DNS → TCP → TLS → HTTP ladder from where it runs, explained.
//!
//! - [`options`]: the inputs, with curl's flag names.
//! - [`curl`]: the command line's curl-shaped flags and their translation into options.
//! - [`body`]: request bodies as curl builds them (`-d` and its kin, `--json`, `-F`, `-T`).
//! - [`cookies`]: curl's cookie engine (`-b`, `-c`).
//! - [`url`]: the URL as curl reads it (IP literals with zone ids, IDNs, userinfo, no scheme).
//! - [`ladder`]: running the ladder, bounded and timed; its rungs are `resolve` (DNS),
//!   `handshake` (TLS, recording what it shows), `exchange` (HTTP) and `certificate` (how a
//!   certificate is shown and matched).
//!   Their shared bounds and clock are `limits`; where a probe connects is `route`.
//! - [`diff`]: where two vantage points' reports part ways.
//! - [`ipranges`]: AWS's `ip-ranges.json`: the Region and services of an answer's address.
//! - [`explain`]: rules, diagnosis, confirmation, exit codes; one file per rung (`dns`, `connect`,
//!   `proxy`, `tls`, `http`).
//! - [`failure`]: failures as values, one enum per layer, and their words.
//! - [`observation`]: what was seen, layer by layer (the JSON report's core).
//! - [`report`]: the whole probe (redirects followed with `-L`), and its text and JSON.
//! - [`writeout`]: curl's exit codes and `-w` variables, from what was observed.
//! - [`websocket`]: `ws://`/`wss://`: the opening handshake's key and accept check, one message
//!   sent and one read.
//! - [`sigv4`]: signing the request with SigV4 as `curl --aws-sigv4` does.

pub mod body;
mod certificate;
pub mod cookies;
pub mod curl;
pub mod diff;
mod exchange;
pub mod explain;
pub mod failure;
mod handshake;
pub mod ipranges;
pub mod ladder;
mod limits;
pub mod observation;
pub mod options;
pub mod report;
mod resolve;
mod route;
pub mod sigv4;
pub mod url;
pub mod websocket;
pub mod writeout;

pub use observation::Observation;
pub use options::ProbeOptions;
pub use report::{ProbeReport, probe};
