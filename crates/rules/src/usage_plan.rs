//! API keys and usage plans: which key may call which stage, and the throttle and quota
//! decisions. Tables are built once from the topology. Keys are found by the SHA-256 of their
//! value, then compared in constant time; only key ids ever reach a log.
//!
//! Where the counters live is behind [`UsageStore`]: each (key, plan) pair gets its own
//! [`PlanCounter`] when the tables are built, so the request path takes no global lock. The
//! in-memory store ([`MemoryStore`]) is the default; a store shared by several gateways
//! implements the same two traits, and its counters answer [`Take::Later`]: the caller awaits
//! the decision (the gateway does; the predictor only ever builds in-memory tables).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parallax_model::ApiId;
use parallax_model::topology::{Quota, QuotaPeriod, Throttle, Topology};

use crate::refusal::Reject;

type Digest = [u8; 32];

/// The key tables.
#[derive(Debug, Default)]
pub struct Usage {
    keys: HashMap<Digest, KeyEntry>,
}

#[derive(Debug)]
struct KeyEntry {
    id: String,
    value: Vec<u8>,
    enabled: bool,
    /// (API, stage) → the plan usage this key has there. A key is in one plan per stage.
    stages: HashMap<(ApiId, String), Arc<dyn PlanCounter>>,
}

/// A plan's limits, as a counter needs them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    /// The plan's throttle, if any.
    pub throttle: Option<Throttle>,
    /// The plan's quota, if any.
    pub quota: Option<Quota>,
}

/// Makes the counter of one key's use of one plan.
pub trait UsageStore {
    /// The counter of one key's use of one plan, with the plan's limits.
    fn counter(&self, key_id: &str, plan_id: &str, limits: Limits) -> Arc<dyn PlanCounter>;
}

/// One key's use of one plan, counted across the plan's stages.
pub trait PlanCounter: Send + Sync + std::fmt::Debug {
    /// Counts one call at `now` (the bucket's clock) and `wall` (the quota's calendar), or
    /// refuses it: quota first, then throttle.
    fn take(&self, now: Instant, wall: SystemTime) -> Take;
}

/// A counter's decision: made at once (in memory), or to be awaited (a shared store).
#[derive(Debug)]
pub enum Take {
    /// Decided now.
    Now(Result<(), Reject>),
    /// Decided by a shared store later.
    Later(Pending),
}

/// A decision a shared store is still making. It owns what it needs, so the request can await
/// it after the tables' borrow has ended.
pub struct Pending(Pin<Box<dyn Future<Output = Result<(), Reject>> + Send>>);

impl Pending {
    /// A decision a shared store makes in `f`.
    pub fn new(f: impl Future<Output = Result<(), Reject>> + Send + 'static) -> Pending {
        Pending(Box::pin(f))
    }
}

impl Future for Pending {
    type Output = Result<(), Reject>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

/// Counters in this process's memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryStore;

impl UsageStore for MemoryStore {
    fn counter(&self, _key_id: &str, _plan_id: &str, limits: Limits) -> Arc<dyn PlanCounter> {
        Arc::new(PlanUse {
            state: Mutex::new(Counters {
                tokens: limits.throttle.as_ref().map_or(0.0, |t| f64::from(t.burst)),
                refilled: None,
                window: None,
                first_window: None,
                used: 0,
            }),
            throttle: limits.throttle,
            quota: limits.quota,
        })
    }
}

/// In-memory counters that outlive a reload: a (key, plan) pair whose limits did not change
/// keeps its counter, so a reload neither refills a throttle nor forgets a quota's use. A pair
/// whose limits changed, or a new one, starts fresh.
#[derive(Debug, Default)]
pub struct RetainingStore {
    counters: Mutex<HashMap<(String, String), Kept>>,
}

/// A counter a [`RetainingStore`] keeps, with the limits it was made for.
type Kept = (Limits, Arc<dyn PlanCounter>);

impl UsageStore for RetainingStore {
    fn counter(&self, key_id: &str, plan_id: &str, limits: Limits) -> Arc<dyn PlanCounter> {
        let Ok(mut counters) = self.counters.lock() else {
            return MemoryStore.counter(key_id, plan_id, limits);
        };
        let slot = (key_id.to_owned(), plan_id.to_owned());
        match counters.get(&slot) {
            Some((kept, counter)) if *kept == limits => counter.clone(),
            _ => {
                let counter = MemoryStore.counter(key_id, plan_id, limits.clone());
                counters.insert(slot, (limits, counter.clone()));
                counter
            }
        }
    }
}

/// [`MemoryStore`]'s counter: throttle and quota under one small lock.
#[derive(Debug)]
struct PlanUse {
    throttle: Option<Throttle>,
    quota: Option<Quota>,
    state: Mutex<Counters>,
}

#[derive(Debug)]
struct Counters {
    tokens: f64,
    refilled: Option<Instant>,
    /// The quota window the count belongs to, and whether it is the plan's first window.
    window: Option<u64>,
    first_window: Option<u64>,
    used: u64,
}

impl Usage {
    /// The key tables with in-memory counters.
    pub fn build(t: &Topology) -> Usage {
        Usage::build_with(t, &MemoryStore)
    }

    /// The key tables with counters from `store`.
    pub fn build_with(t: &Topology, store: &dyn UsageStore) -> Usage {
        let mut keys: HashMap<Digest, KeyEntry> = HashMap::new();
        for plan in &t.usage_plans {
            for key in &plan.keys {
                let value = key.value.expose().as_bytes().to_vec();
                let entry = keys.entry(digest(&value)).or_insert_with(|| KeyEntry {
                    id: key.id.value.clone(),
                    value,
                    enabled: key.enabled,
                    stages: HashMap::new(),
                });
                let shared = store.counter(
                    &key.id.value,
                    &plan.id.value,
                    Limits {
                        throttle: plan.throttle.clone(),
                        quota: plan.quota.clone(),
                    },
                );
                for s in &plan.stages {
                    entry
                        .stages
                        .insert((s.api.value.clone(), s.stage.value.clone()), shared.clone());
                }
            }
        }
        Usage { keys }
    }

    /// Checks the `x-api-key` value for a call to `api`/`stage` and counts it. Returns the key
    /// id, and the plan's decision when a shared store is still making it.
    pub fn admit(
        &self,
        key: Option<&[u8]>,
        api: &ApiId,
        stage: &str,
    ) -> Result<(String, Option<Pending>), Reject> {
        self.admit_at(key, api, stage, Instant::now(), SystemTime::now())
    }

    /// [`Usage::admit`] at a given time (tests, replays).
    pub fn admit_at(
        &self,
        key: Option<&[u8]>,
        api: &ApiId,
        stage: &str,
        now: Instant,
        wall: SystemTime,
    ) -> Result<(String, Option<Pending>), Reject> {
        let key = key.ok_or(Reject::InvalidApiKey)?;
        let entry = self.keys.get(&digest(key)).ok_or(Reject::InvalidApiKey)?;
        if !constant_time_eq(&entry.value, key) || !entry.enabled {
            return Err(Reject::InvalidApiKey);
        }
        let plan = entry
            .stages
            .get(&(api.clone(), stage.to_owned()))
            .ok_or(Reject::InvalidApiKey)?;
        match plan.take(now, wall) {
            Take::Now(r) => r.map(|()| (entry.id.clone(), None)),
            Take::Later(p) => Ok((entry.id.clone(), Some(p))),
        }
    }

    /// The id of the key with this value, for logs of requests that need no key.
    pub fn key_id(&self, key: &[u8]) -> Option<&str> {
        let e = self.keys.get(&digest(key))?;
        constant_time_eq(&e.value, key).then_some(e.id.as_str())
    }
}

impl PlanCounter for PlanUse {
    /// Quota first (an exhausted quota answers LimitExceeded whatever the bucket holds), then
    /// the bucket; both are spent together, so a throttled call does not use quota.
    fn take(&self, now: Instant, wall: SystemTime) -> Take {
        Take::Now(self.take_now(now, wall))
    }
}

impl PlanUse {
    fn take_now(&self, now: Instant, wall: SystemTime) -> Result<(), Reject> {
        // A poisoned lock means a panic mid-update elsewhere; the counters are still numbers.
        let mut c = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(q) = &self.quota {
            let w = window(q.period, wall);
            let first = *c.first_window.get_or_insert(w);
            if c.window != Some(w) {
                c.window = Some(w);
                c.used = 0;
            }
            // `offset` requests are subtracted from the limit in the plan's first period.
            let limit = if w == first {
                q.limit.saturating_sub(q.offset)
            } else {
                q.limit
            };
            if c.used >= limit {
                return Err(Reject::QuotaExceeded);
            }
        }
        if let Some(t) = &self.throttle {
            if let Some(last) = c.refilled {
                let gained = now.saturating_duration_since(last).as_secs_f64() * t.rate;
                c.tokens = (c.tokens + gained).min(f64::from(t.burst));
            }
            c.refilled = Some(now);
            if c.tokens < 1.0 {
                return Err(Reject::Throttled);
            }
            c.tokens -= 1.0;
        }
        if self.quota.is_some() {
            c.used += 1;
        }
        Ok(())
    }
}

/// The index of the quota window `wall` falls in: UTC days, weeks starting on Sunday
/// (UNCONFIRMED: AWS does not say which day starts its weeks), calendar months.
pub fn window(period: QuotaPeriod, wall: SystemTime) -> u64 {
    let days = wall
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    match period {
        QuotaPeriod::Day => days,
        // 1970-01-01 was a Thursday; shifting by 4 makes weeks start on Sunday.
        QuotaPeriod::Week => (days + 4) / 7,
        QuotaPeriod::Month => {
            let (y, m) = year_month(days);
            y * 12 + m
        }
    }
}

/// When window `w` of `period` ends, in seconds since 1970 (UTC): the expiry of a shared
/// store's count for that window.
pub fn window_end(period: QuotaPeriod, w: u64) -> u64 {
    let day = match period {
        QuotaPeriod::Day => w + 1,
        QuotaPeriod::Week => (w + 1) * 7 - 4,
        QuotaPeriod::Month => days_from_civil((w + 1) / 12, (w + 1) % 12 + 1),
    };
    day * 86_400
}

/// Days since 1970-01-01 of the first day of month `m` (1-based) of year `y` (Howard
/// Hinnant's algorithm), for years from 1970.
fn days_from_civil(y: u64, m: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

/// Civil year and month (0-based) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn year_month(days: u64) -> (u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m - 1)
}

fn digest(value: &[u8]) -> Digest {
    let d = ring::digest::digest(&ring::digest::SHA256, value);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Compares without an early exit, so the time taken says nothing about where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn usage(throttle: &str, quota: &str, enabled: bool) -> (Usage, ApiId) {
        let yaml = format!(
            r#"
region: us-east-1
front_doors: {{ regional: [52.94.133.10] }}
apis: [{{ id: a1b2c3d4e5, name: a, endpoint_type: REGIONAL, stages: [prod, test] }}]
usage_plans:
  - id: p
    {throttle}
    {quota}
    stages: [{{ api: a1b2c3d4e5, stage: prod }}]
    keys: [{{ id: k1, value: abcdefghij0123456789, enabled: {enabled} }}]
"#
        );
        let t = Topology::from_yaml(&yaml, "<test>").unwrap();
        (Usage::build(&t), "a1b2c3d4e5".parse().unwrap())
    }

    #[test]
    fn keys_are_checked_against_value_state_and_stage() {
        let (u, api) = usage("", "", true);
        let good = Some(&b"abcdefghij0123456789"[..]);
        assert_eq!(
            u.admit(good, &api, "prod").map(|a| a.0),
            Ok("k1".to_owned())
        );
        assert_eq!(
            u.admit(None, &api, "prod").map(|a| a.0),
            Err(Reject::InvalidApiKey)
        );
        assert_eq!(
            u.admit(Some(b"abcdefghij0123456780"), &api, "prod")
                .map(|a| a.0),
            Err(Reject::InvalidApiKey)
        );
        assert_eq!(
            u.admit(good, &api, "test").map(|a| a.0),
            Err(Reject::InvalidApiKey),
            "not in a plan of that stage"
        );
        let (u, api) = usage("", "", false);
        assert_eq!(
            u.admit(good, &api, "prod").map(|a| a.0),
            Err(Reject::InvalidApiKey),
            "disabled"
        );
    }

    #[test]
    fn burst_then_rate() {
        let (u, api) = usage("throttle: { rate: 10, burst: 2 }", "", true);
        let k = Some(&b"abcdefghij0123456789"[..]);
        let (t0, w) = (Instant::now(), SystemTime::now());
        assert!(u.admit_at(k, &api, "prod", t0, w).map(|a| a.0).is_ok());
        assert!(u.admit_at(k, &api, "prod", t0, w).map(|a| a.0).is_ok());
        assert_eq!(
            u.admit_at(k, &api, "prod", t0, w).map(|a| a.0),
            Err(Reject::Throttled)
        );
        assert!(
            u.admit_at(k, &api, "prod", t0 + Duration::from_millis(100), w)
                .map(|a| a.0)
                .is_ok()
        );
    }

    #[test]
    fn quota_with_offset_resets_next_period() {
        let (u, api) = usage("", "quota: { limit: 3, period: DAY, offset: 1 }", true);
        let k = Some(&b"abcdefghij0123456789"[..]);
        let t0 = Instant::now();
        let day1 = UNIX_EPOCH + Duration::from_secs(20_000 * 86_400 + 100);
        assert!(u.admit_at(k, &api, "prod", t0, day1).map(|a| a.0).is_ok());
        assert!(u.admit_at(k, &api, "prod", t0, day1).map(|a| a.0).is_ok());
        assert_eq!(
            u.admit_at(k, &api, "prod", t0, day1).map(|a| a.0),
            Err(Reject::QuotaExceeded),
            "3 - offset 1 in the first day"
        );
        let day2 = day1 + Duration::from_secs(86_400);
        for _ in 0..3 {
            assert!(u.admit_at(k, &api, "prod", t0, day2).map(|a| a.0).is_ok());
        }
        assert_eq!(
            u.admit_at(k, &api, "prod", t0, day2).map(|a| a.0),
            Err(Reject::QuotaExceeded)
        );
    }

    #[test]
    fn windows() {
        assert_eq!(year_month(0), (1970, 0));
        assert_eq!(year_month(31), (1970, 1));
        assert_eq!(year_month(20_454), (2026, 0), "2026-01-01");
        // Window ends: the next day, Sunday, first of the month (dates from a calendar).
        let secs = |n: u64| n * 86_400;
        assert_eq!(
            window_end(QuotaPeriod::Day, 20_454),
            secs(20_455),
            "2026-01-02"
        );
        assert_eq!(
            window_end(QuotaPeriod::Week, window(QuotaPeriod::Week, UNIX_EPOCH)),
            secs(3),
            "1970-01-04 was the first Sunday"
        );
        assert_eq!(
            window_end(QuotaPeriod::Month, 2026 * 12 + 1),
            secs(20_513),
            "February 2026 ends at 2026-03-01, day 20513"
        );
        assert_eq!(
            window_end(QuotaPeriod::Month, 2026 * 12 + 11),
            secs(20_819),
            "December 2026 ends at 2027-01-01, day 20819"
        );
        // 1970-01-04 was a Sunday: a new week starts.
        let d = |n: u64| UNIX_EPOCH + Duration::from_secs(n * 86_400);
        assert_eq!(
            window(QuotaPeriod::Week, d(2)),
            window(QuotaPeriod::Week, d(0))
        );
        assert_ne!(
            window(QuotaPeriod::Week, d(3)),
            window(QuotaPeriod::Week, d(2))
        );
    }
}
