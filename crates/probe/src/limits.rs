//! The probe's bounds and its clock: what is kept of a body, how much of a head is read, each
//! step's own limit, the time left before a deadline, and milliseconds as reports give them.

use std::time::{Duration, Instant};

/// The most of the body kept for the report.
pub const BODY_KEEP: usize = 4096;
/// The most the probe reads of a response head (status line and headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// Each step's own limit, within `--max-time`.
pub(crate) const STEP: Duration = Duration::from_secs(10);

pub(crate) fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

pub(crate) fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}
