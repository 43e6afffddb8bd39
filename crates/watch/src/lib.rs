//! parallax-watch: the probe's ladder on a schedule, inside a VPC, told to Prometheus.
//!
//! - [`config`]: `watch.yaml` (targets with the probe's own flags and their expectations,
//!   modules for `/probe`), checked with positions.
//! - [`event`]: a change of what a target sees, as events and webhooks carry it.
//! - [`watcher`]: the schedule (interval, jitter, timeout, bounded concurrency), each target's
//!   last answer, and change events.
//! - [`module`]: `/probe` modules as blackbox_exporter writes them (`prober`, `timeout`,
//!   `http:`, `tcp:`, `dns:`), every unknown option named.
//! - [`probers`]: blackbox_exporter's tcp and dns probers.
//! - [`metrics`]: blackbox_exporter's metric names and parallax's own, with bounded labels.
//! - [`http`]: `/metrics`, the blackbox-compatible `/probe`, `/healthz`.
//! - [`webhook`]: events POSTed as Alertmanager webhook payloads, through a bounded queue.

pub mod config;
pub mod event;
pub mod http;
pub mod metrics;
pub mod module;
pub mod probers;
pub mod watcher;
pub mod webhook;

pub use config::Config;
pub use watcher::{Event, State};
