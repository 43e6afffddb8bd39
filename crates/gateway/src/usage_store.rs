//! Usage-plan counters shared by several gateway replicas, in Redis (`--usage-store
//! redis://HOST:PORT/DB`).
//!
//! Every exchange with Redis is one Lua script, so a check and its update cannot interleave
//! with another replica's (no read-modify-write race): the quota's count for the current window
//! (expiring when the window ends), then the token bucket (refilled on Redis's own clock, so
//! replicas whose clocks differ still agree; expiring once it would be full again), both spent
//! together as the in-memory store does. A plan with an `offset` keeps one small marker of its
//! first window, without expiry, as the offset applies to that window only.
//!
//! Two modes ([`Mode`], `--usage-store-mode`):
//! - **exact**: one script call per request decides it. Counts across replicas are exact; each
//!   request waits one round trip.
//! - **batched** (the default): a replica leases a share of the allowance — quota units and
//!   bucket tokens, taken from Redis's counts at once — and spends them locally without a round
//!   trip; one lease serves up to [`Mode::Batched`]'s `batch` requests. A lease is at most
//!   1/[`SHARE`] of what remains (at least one), so leases shrink as a limit nears and the last
//!   units go one at a time. When half of a lease of eight or more is left, the next one is
//!   taken ahead, so requests do not wait for it (a replica then holds up to 1½ leases); the
//!   requests that do wait for a lease are all woken when it lands. Units a replica has not spent within [`HOLD`] of its last use go
//!   back to Redis (and all of them at shutdown). The bounds, with R replicas and leases of at
//!   most B = min(batch, ⌈remaining/16⌉): a quota is never exceeded (units are counted in Redis
//!   when leased); a call may be refused while at most (R − 1) × 1½ B units sit unspent in other
//!   replicas, for at most [`HOLD`]; a throttle admits at most R × 1½ B calls beyond its bucket
//!   within any [`HOLD`], as leased tokens are spent after they were taken. Units leased in a
//!   quota window that ends unspent stay counted in that (finished) window. This is the shape
//!   of Kong's rate-limiting `sync_rate` (local counts synced in batches) with Envoy's
//!   reservation order: take first, then spend.
//!
//! When Redis does not answer within the timeout, the decision is the [`Failure`] mode's:
//! `open` (the default) lets the request through uncounted, `closed` refuses it with 503. The
//! key itself is still checked from the topology either way. While Redis is down, one request
//! per [`RETRY_EVERY`] asks it again and the others do not wait; the first answer brings the
//! store back. Every failure is counted (`parallax_gateway_usage_store_failures_total`) and the
//! change of state is logged once each way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use parallax_rules::refusal::Reject;
use parallax_rules::usage_plan::{Limits, Pending, PlanCounter, Take, UsageStore};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::metrics::GatewayMetrics;

/// While the store is down, how often a request asks it again.
pub const RETRY_EVERY: Duration = Duration::from_millis(500);

/// What a request gets when the store does not answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Failure {
    /// Through, uncounted. API Gateway applies usage plans on a best-effort basis, not as hard
    /// limits (API Gateway Developer Guide, usage plans), so an outage of the counter store
    /// should not become an outage of every keyed API.
    #[default]
    Open,
    /// Refused: 503 Service Unavailable.
    Closed,
}

impl std::str::FromStr for Failure {
    type Err = ();
    fn from_str(s: &str) -> Result<Failure, ()> {
        match s {
            "open" => Ok(Failure::Open),
            "closed" => Ok(Failure::Closed),
            _ => Err(()),
        }
    }
}

impl Failure {
    fn action(self) -> &'static str {
        match self {
            Failure::Open => "allowed",
            Failure::Closed => "refused",
        }
    }
}

/// While a replica holds leased units unspent this long, it gives them back.
pub const HOLD: Duration = Duration::from_secs(1);

/// A lease is at most 1/SHARE of what remains of a quota or bucket.
pub const SHARE: u32 = 16;

/// How decisions reach Redis (`--usage-store-mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One script call per request.
    Exact,
    /// Leases of up to `batch` units, spent locally (see the module's text for the bounds).
    Batched {
        /// The most units one lease takes.
        batch: u32,
    },
}

impl Default for Mode {
    fn default() -> Mode {
        Mode::Batched { batch: 100 }
    }
}

/// How the gateway reaches Redis.
#[derive(Clone, Debug)]
pub struct RedisSettings {
    /// `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`.
    pub url: String,
    /// How long one decision may wait for Redis (connecting included).
    pub timeout: Duration,
    /// What a request gets when Redis does not answer in time.
    pub failure: Failure,
    /// Exact or batched.
    pub mode: Mode,
}

/// Why a usage store cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsageStoreError {
    /// Not a `redis://` URL (TLS, `rediss://`, is not built in).
    #[error("--usage-store {url}: only redis://HOST:PORT/DB (or `memory`) is supported")]
    Scheme {
        /// The URL given.
        url: String,
    },
    /// A `redis://` URL the client cannot use.
    #[error("--usage-store {url}: {source}")]
    Url {
        /// The URL given.
        url: String,
        /// The client's error.
        source: redis::RedisError,
    },
}

/// The Redis store. Cloning shares the connection.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    lease: redis::Script,
    give_back: redis::Script,
    mode: Mode,
    /// Every batched counter's lease, for the sweeper and shutdown.
    leases: std::sync::Mutex<Vec<Arc<LeaseCell>>>,
    timeout: Duration,
    failure: Failure,
    /// `host:port/db`, without credentials, for logs.
    shown: String,
    up: AtomicBool,
    /// While down: when (ms since `epoch`) a request may ask Redis again.
    retry_at: AtomicU64,
    /// When (ms since `epoch`) it last went down.
    down_at: AtomicU64,
    epoch: Instant,
    metrics: Option<Arc<GatewayMetrics>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("redis", &self.inner.shown)
            .field("failure", &self.inner.failure)
            .finish_non_exhaustive()
    }
}

/// The bucket (KEYS[2]) refilled to now on Redis's clock, given `burst` and `rate`: the start of
/// both scripts' bucket step.
macro_rules! refilled_bucket {
    () => {
        r"  local t = redis.call('TIME')
  local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  local b = redis.call('HMGET', KEYS[2], 'tokens', 'at')
  local tokens = tonumber(b[1]) or burst
  local at = tonumber(b[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
"
    };
}

/// A lease, run by Redis as one script: quota units and bucket tokens taken at once, each at
/// most its wanted number and 1/share of what remains (at least one); exact mode's decision is
/// a lease of one of each. Returns {quota units, tokens, refusal}: refusal 1 (quota spent,
/// checked first) or 2 (bucket empty) takes nothing. KEYS: the window's count, the bucket, the
/// first-window marker, the ids record. ARGV: quota limit (-1: no quota), offset, window id,
/// window end (Unix seconds), rate, burst (-1: no throttle), the plan and key ids (kept beside
/// the digest that names the keys), the units and tokens wanted (0: none), the share.
const LEASE: &str = concat!(
    r"
if redis.replicate_commands then redis.replicate_commands() end
redis.call('SET', KEYS[4], ARGV[7], 'NX')
local share = tonumber(ARGV[10])
local function portion(avail, want)
  if avail < 1 then return 0 end
  return math.min(want, math.max(1, math.floor(avail / share)))
end
local gq = 0
local limit = tonumber(ARGV[1])
local wq = tonumber(ARGV[8])
if limit >= 0 and wq > 0 then
  local offset = tonumber(ARGV[2])
  if offset > 0 then
    redis.call('SET', KEYS[3], ARGV[3], 'NX')
    if redis.call('GET', KEYS[3]) == ARGV[3] then limit = math.max(limit - offset, 0) end
  end
  local used = tonumber(redis.call('GET', KEYS[1]) or '0')
  gq = portion(limit - used, wq)
  if gq == 0 then return {0, 0, 1} end
end
local gt = 0
local burst = tonumber(ARGV[6])
local wt = tonumber(ARGV[9])
if burst >= 0 and wt > 0 then
  local rate = tonumber(ARGV[5])
",
    refilled_bucket!(),
    r"  gt = portion(math.floor(tokens), wt)
  if gt == 0 then return {0, 0, 2} end
  tokens = tokens - gt
  redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'at', tostring(now))
  if rate > 0 then
    redis.call('PEXPIRE', KEYS[2], math.ceil(burst / rate * 1000) + 1000)
  else
    redis.call('PERSIST', KEYS[2])
  end
end
if gq > 0 then
  redis.call('INCRBY', KEYS[1], gq)
  redis.call('EXPIREAT', KEYS[1], tonumber(ARGV[4]) + 60)
end
return {gq, gt, 0}
"
);

/// Unspent leased units given back: KEYS the window's count and the bucket; ARGV quota units,
/// tokens, burst, rate. A count or bucket that has expired meanwhile is left alone (an expired
/// bucket is full).
const GIVE_BACK: &str = concat!(
    r"
if redis.replicate_commands then redis.replicate_commands() end
local q = tonumber(ARGV[1])
if q > 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  local v = redis.call('DECRBY', KEYS[1], q)
  if v < 0 then redis.call('INCRBY', KEYS[1], -v) end
end
local n = tonumber(ARGV[2])
if n > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  local burst = tonumber(ARGV[3])
  local rate = tonumber(ARGV[4])
",
    refilled_bucket!(),
    r"  tokens = math.min(burst, tokens + n)
  redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'at', tostring(now))
end
return 0
"
);

/// Why Redis made no decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Miss {
    Timeout,
    Error,
    /// Down, and not yet time to ask again.
    Down,
}

impl Miss {
    fn as_str(self) -> &'static str {
        match self {
            Miss::Timeout => "timeout",
            Miss::Error => "error",
            Miss::Down => "down",
        }
    }
}

impl RedisStore {
    /// A store on `settings.url`. Nothing is dialled yet (the gateway starts whether Redis is
    /// up or not); call [`RedisStore::check`] to find out. Made within a Tokio runtime, in
    /// batched mode, it starts the task that gives back leases left unspent for [`HOLD`]
    /// (outside one, leases go back only by [`RedisStore::give_back_all`]).
    pub fn new(
        settings: &RedisSettings,
        metrics: Option<Arc<GatewayMetrics>>,
    ) -> Result<RedisStore, UsageStoreError> {
        if !settings.url.starts_with("redis://") {
            return Err(UsageStoreError::Scheme {
                url: settings.url.clone(),
            });
        }
        let url_error = |source| UsageStoreError::Url {
            url: settings.url.clone(),
            source,
        };
        let client = redis::Client::open(settings.url.as_str()).map_err(url_error)?;
        let info = client.get_connection_info();
        let shown = format!("{}/{}", info.addr(), info.redis_settings().db());
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(RETRY_EVERY);
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(url_error)?;
        let inner = Arc::new(Inner {
            conn,
            lease: redis::Script::new(LEASE),
            give_back: redis::Script::new(GIVE_BACK),
            mode: settings.mode,
            leases: std::sync::Mutex::new(Vec::new()),
            timeout: settings.timeout,
            failure: settings.failure,
            shown,
            up: AtomicBool::new(true),
            retry_at: AtomicU64::new(0),
            down_at: AtomicU64::new(0),
            epoch: Instant::now(),
            metrics,
        });
        if matches!(settings.mode, Mode::Batched { .. })
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(sweep(Arc::downgrade(&inner)));
        }
        Ok(RedisStore { inner })
    }

    /// `host:port/db`, for logs.
    pub fn shown(&self) -> &str {
        &self.inner.shown
    }

    /// Asks Redis for a PING within the timeout (and loads the scripts), to say at start
    /// whether it is reachable. A failure is not fatal: decisions follow the failure mode until
    /// Redis answers.
    pub async fn check(&self) -> Result<(), String> {
        let mut conn = self.inner.conn.clone();
        let ping = async {
            redis::cmd("PING").query_async::<String>(&mut conn).await?;
            for s in [&self.inner.lease, &self.inner.give_back] {
                s.load_async(&mut conn).await?;
            }
            Ok::<_, redis::RedisError>(())
        };
        match tokio::time::timeout(self.inner.timeout, ping).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "no answer within {} ms",
                self.inner.timeout.as_millis()
            )),
        }
    }

    /// Gives every unspent leased unit back to Redis (at shutdown): how many quota units and
    /// tokens went back. Units Redis does not take back in time stay counted (the safe side).
    pub async fn give_back_all(&self) -> (u64, u64) {
        self.inner.give_back_where(|_| true).await
    }
}

/// Every [`HOLD`]/4, gives back the leases unspent for [`HOLD`] and those of counters that are
/// gone (a reload made new ones). Ends with the store.
async fn sweep(inner: std::sync::Weak<Inner>) {
    let mut tick = tokio::time::interval(HOLD / 4);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let now = Instant::now();
        inner
            .give_back_where(|cell| {
                Arc::strong_count(cell) == 1
                    || cell
                        .held
                        .lock()
                        .map_or(true, |h| now.duration_since(h.used) >= HOLD)
            })
            .await;
        if let Ok(mut all) = inner.leases.lock() {
            all.retain(|c| Arc::strong_count(c) > 1);
        }
    }
}

/// The prefix of a (plan, key) pair's Redis keys: `parallax:usage:v2:{DIGEST}`, DIGEST being
/// 32 hex digits of SHA-256 over the length-prefixed plan id and key id, so that no two pairs
/// share counters whatever their ids hold (`a/b`+`c` and `a`+`b/c` did when the ids were joined
/// by `/`), and one hash tag keeps a pair's keys in one Redis Cluster slot. The ids themselves
/// are kept beside, in `…:ids`.
pub fn key_base(plan_id: &str, key_id: &str) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [plan_id, key_id] {
        ctx.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    let hex: String = ctx.finish().as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("parallax:usage:v2:{{{hex}}}")
}

impl UsageStore for RedisStore {
    fn counter(&self, key_id: &str, plan_id: &str, limits: Limits) -> Arc<dyn PlanCounter> {
        let base = key_base(plan_id, key_id);
        let cell = Arc::new(LeaseCell {
            keys: Keys {
                count: format!("{base}:count"),
                bucket: format!("{base}:bucket"),
                first: format!("{base}:first"),
                ids: format!("{base}:ids"),
                tuple: serde_json::json!({ "plan": plan_id, "key": key_id }).to_string(),
            },
            limits,
            held: std::sync::Mutex::new(Held {
                window: 0,
                quota: 0,
                tokens: 0,
                last_quota: 0,
                last_tokens: 0,
                used: Instant::now(),
            }),
            leasing: AtomicBool::new(false),
            arrived: tokio::sync::Notify::new(),
        });
        if matches!(self.inner.mode, Mode::Batched { .. })
            && let Ok(mut all) = self.inner.leases.lock()
        {
            all.push(cell.clone());
        }
        Arc::new(RedisCounter {
            inner: self.inner.clone(),
            cell,
        })
    }
}

#[derive(Debug)]
struct Keys {
    /// The quota's count, suffixed with the window id.
    count: String,
    bucket: String,
    first: String,
    /// The ids record, and what it holds.
    ids: String,
    tuple: String,
}

/// One (key, plan) pair's keys, limits and (batched mode) lease.
#[derive(Debug)]
struct LeaseCell {
    keys: Keys,
    limits: Limits,
    held: std::sync::Mutex<Held>,
    /// A lease is on its way (one at a time per counter).
    leasing: AtomicBool,
    /// Wakes every request waiting for that lease at once, to spend from it.
    arrived: tokio::sync::Notify,
}

/// Leased units not yet spent.
#[derive(Debug)]
struct Held {
    /// The quota window the units belong to.
    window: u64,
    quota: u64,
    tokens: u64,
    /// The size of the last lease of each.
    last_quota: u64,
    last_tokens: u64,
    /// The last lease or spend.
    used: Instant,
}

/// Whether a limit's units are low enough to lease ahead: half of the last lease left, that
/// lease being of eight units or more.
fn low(held: u64, last: u64) -> bool {
    last >= 8 && held <= last / 2
}

impl LeaseCell {
    /// The units and tokens to ask for: `batch` of each limit whose held units `short` says
    /// are short (given them and the last lease's size), else none.
    fn wants(&self, held: &Held, batch: u32, short: impl Fn(u64, u64) -> bool) -> (u64, u64) {
        let batch = u64::from(batch.max(1));
        let quota = self.limits.quota.is_some() && short(held.quota, held.last_quota);
        let tokens = self.limits.throttle.is_some() && short(held.tokens, held.last_tokens);
        (
            if quota { batch } else { 0 },
            if tokens { batch } else { 0 },
        )
    }

    /// Spends one unit of each limit from the lease, if it holds them. Units of an earlier
    /// quota window lapse.
    fn spend(&self, held: &mut Held, window: u64) -> bool {
        if held.window != window {
            held.window = window;
            held.quota = 0;
        }
        let quota = self.limits.quota.is_some();
        let throttle = self.limits.throttle.is_some();
        if (quota && held.quota == 0) || (throttle && held.tokens == 0) {
            return false;
        }
        if quota {
            held.quota -= 1;
        }
        if throttle {
            held.tokens -= 1;
        }
        held.used = Instant::now();
        true
    }
}

struct RedisCounter {
    inner: Arc<Inner>,
    cell: Arc<LeaseCell>,
}

impl std::fmt::Debug for RedisCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounter")
            .field("keys", &self.cell.keys)
            .field("limits", &self.cell.limits)
            .finish_non_exhaustive()
    }
}

/// One decision's (or lease's) arguments.
struct Ask {
    limit: i64,
    offset: i64,
    window: u64,
    window_end: u64,
    rate: f64,
    burst: i64,
}

impl Ask {
    fn of(l: &Limits, wall: SystemTime) -> Ask {
        let (limit, offset, window, window_end) = match &l.quota {
            Some(q) => {
                let w = parallax_rules::usage_plan::window(q.period, wall);
                let end = parallax_rules::usage_plan::window_end(q.period, w);
                let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                (n(q.limit), n(q.offset), w, end)
            }
            None => (-1, 0, 0, 0),
        };
        let (rate, burst) = l
            .throttle
            .as_ref()
            .map_or((0.0, -1), |t| (t.rate, i64::from(t.burst)));
        Ask {
            limit,
            offset,
            window,
            window_end,
            rate,
            burst,
        }
    }

    /// The lease script's keys (the count's of this window) and first seven arguments.
    fn invocation<'a>(
        &self,
        script: &'a redis::Script,
        keys: &Keys,
    ) -> redis::ScriptInvocation<'a> {
        let mut call = script.prepare_invoke();
        call.key(format!("{}:{}", keys.count, self.window))
            .key(&keys.bucket)
            .key(&keys.first)
            .key(&keys.ids)
            .arg(self.limit)
            .arg(self.offset)
            .arg(self.window)
            .arg(self.window_end)
            .arg(self.rate)
            .arg(self.burst)
            .arg(&keys.tuple);
        call
    }
}

impl PlanCounter for RedisCounter {
    fn take(&self, _now: Instant, wall: SystemTime) -> Take {
        let l = &self.cell.limits;
        if l.quota.is_none() && l.throttle.is_none() {
            return Take::Now(Ok(()));
        }
        let ask = Ask::of(l, wall);
        match self.inner.mode {
            Mode::Exact => {
                let (inner, cell) = (self.inner.clone(), self.cell.clone());
                Take::Later(Pending::new(async move { inner.decide(&cell, ask).await }))
            }
            Mode::Batched { batch } => {
                let cell = &self.cell;
                // Spent from the lease (and whether to lease ahead), or not: no allocation and
                // no round trip on this path.
                let spent = match cell.held.lock() {
                    Ok(mut held) => cell
                        .spend(&mut held, ask.window)
                        .then(|| cell.wants(&held, batch, low) != (0, 0)),
                    Err(_) => None,
                };
                if let Some(ahead) = spent {
                    if ahead
                        && let Ok(rt) = tokio::runtime::Handle::try_current()
                        && !cell.leasing.swap(true, Ordering::AcqRel)
                    {
                        let (inner, cell) = (self.inner.clone(), self.cell.clone());
                        rt.spawn(async move { inner.prefetch(&cell, ask, batch).await });
                    }
                    return Take::Now(Ok(()));
                }
                let (inner, cell) = (self.inner.clone(), self.cell.clone());
                Take::Later(Pending::new(async move {
                    inner.lease_and_spend(&cell, ask, batch).await
                }))
            }
        }
    }
}

impl Inner {
    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// What a request gets when Redis made no decision.
    fn failed(&self) -> Result<(), Reject> {
        match self.failure {
            Failure::Open => Ok(()),
            Failure::Closed => Err(Reject::UsageStoreUnavailable),
        }
    }

    /// Exact mode: one script call decides, a lease of one unit of each limit spent at once.
    async fn decide(&self, cell: &LeaseCell, ask: Ask) -> Result<(), Reject> {
        let one = |limit: bool| u64::from(limit);
        let mut call = ask.invocation(&self.lease, &cell.keys);
        call.arg(one(cell.limits.quota.is_some()))
            .arg(one(cell.limits.throttle.is_some()))
            .arg(1);
        match self.exchange::<(u64, u64, i64)>(&call).await {
            Some((_, _, 0)) => Ok(()),
            Some((_, _, 1)) => Err(Reject::QuotaExceeded),
            Some((_, _, 2)) => Err(Reject::Throttled),
            Some(_) | None => self.failed(),
        }
    }

    /// Batched mode, the lease spent: one lease at a time per counter (those waiting spend from
    /// it), then one unit spent.
    async fn lease_and_spend(&self, cell: &LeaseCell, ask: Ask, batch: u32) -> Result<(), Reject> {
        loop {
            // Spend if a lease has come in; else wait for the one on its way, or ask for one.
            let wants = loop {
                let arrived = cell.arrived.notified();
                tokio::pin!(arrived);
                // Registered before looking, so a lease that lands meanwhile still wakes it.
                arrived.as_mut().enable();
                {
                    let Ok(mut held) = cell.held.lock() else {
                        return self.failed();
                    };
                    if cell.spend(&mut held, ask.window) {
                        return Ok(());
                    }
                    if !cell.leasing.swap(true, Ordering::AcqRel) {
                        break cell.wants(&held, batch, |held, _| held == 0);
                    }
                }
                arrived.as_mut().await;
            };
            let leased = self.lease(cell, &ask, wants).await;
            cell.leasing.store(false, Ordering::Release);
            cell.arrived.notify_waiters();
            match leased {
                None => return self.failed(),
                Some(Err(refusal)) => return Err(refusal),
                // Spent at the top, unless the requests woken with this one took it all: then
                // this one asks again (Redis refuses once the limit is spent).
                Some(Ok(())) => {}
            }
        }
    }

    /// Batched mode, ahead of need (the caller set `leasing`): a lease taken while half of the
    /// last one (of eight or more units) is left, so that requests do not wait for it. Near a
    /// limit leases are small and none is taken ahead.
    async fn prefetch(&self, cell: &LeaseCell, ask: Ask, batch: u32) {
        let wants = match cell.held.lock() {
            Ok(held) => cell.wants(&held, batch, low),
            Err(_) => (0, 0),
        };
        if wants != (0, 0) {
            let _ = self.lease(cell, &ask, wants).await;
        }
        cell.leasing.store(false, Ordering::Release);
        cell.arrived.notify_waiters();
    }

    /// One lease asked of Redis and added to the counter's: `None` when Redis made no answer,
    /// else Redis's refusal or nothing.
    async fn lease(
        &self,
        cell: &LeaseCell,
        ask: &Ask,
        (want_quota, want_tokens): (u64, u64),
    ) -> Option<Result<(), Reject>> {
        let mut call = ask.invocation(&self.lease, &cell.keys);
        call.arg(want_quota).arg(want_tokens).arg(SHARE);
        let (quota, tokens, refusal) = self.exchange::<(u64, u64, i64)>(&call).await?;
        match refusal {
            1 => return Some(Err(Reject::QuotaExceeded)),
            2 => return Some(Err(Reject::Throttled)),
            _ => {}
        }
        let Ok(mut held) = cell.held.lock() else {
            return None;
        };
        if held.window == ask.window {
            held.quota += quota;
            if quota > 0 {
                held.last_quota = quota;
            }
        }
        held.tokens += tokens;
        if tokens > 0 {
            held.last_tokens = tokens;
        }
        held.used = Instant::now();
        Some(Ok(()))
    }

    /// Gives back the unspent leases of the counters `pick` names: (quota units, tokens).
    async fn give_back_where(&self, pick: impl Fn(&Arc<LeaseCell>) -> bool) -> (u64, u64) {
        let cells: Vec<Arc<LeaseCell>> = match self.leases.lock() {
            Ok(all) => all.iter().filter(|c| pick(c)).cloned().collect(),
            Err(_) => return (0, 0),
        };
        let mut total = (0, 0);
        for cell in cells {
            let (window, quota, tokens) = {
                let Ok(mut held) = cell.held.lock() else {
                    continue;
                };
                let out = (held.window, held.quota, held.tokens);
                held.quota = 0;
                held.tokens = 0;
                out
            };
            if quota == 0 && tokens == 0 {
                continue;
            }
            let (burst, rate) = cell
                .limits
                .throttle
                .as_ref()
                .map_or((0, 0.0), |t| (t.burst, t.rate));
            let mut call = self.give_back.prepare_invoke();
            call.key(format!("{}:{window}", cell.keys.count))
                .key(&cell.keys.bucket)
                .arg(quota)
                .arg(tokens)
                .arg(burst)
                .arg(rate);
            if self.exchange::<i64>(&call).await.is_some() {
                total.0 += quota;
                total.1 += tokens;
            }
        }
        total
    }

    /// One script call within the timeout, with the store's up/down state, log and metrics
    /// kept: `None` when Redis made no answer (or is down and not yet to be asked again).
    async fn exchange<T: redis::FromRedisValue>(
        &self,
        call: &redis::ScriptInvocation<'_>,
    ) -> Option<T> {
        let started = Instant::now();
        let answer = if !self.up.load(Ordering::Relaxed)
            && self.millis() < self.retry_at.load(Ordering::Relaxed)
        {
            Err(Miss::Down)
        } else {
            let mut conn = self.conn.clone();
            match tokio::time::timeout(self.timeout, call.invoke_async::<T>(&mut conn)).await {
                Err(_) => Err(Miss::Timeout),
                Ok(Err(e)) if e.is_timeout() => Err(Miss::Timeout),
                Ok(Err(e)) => {
                    tracing::debug!(redis = %self.shown, error = %e, "usage store: Redis error");
                    Err(Miss::Error)
                }
                Ok(Ok(v)) => Ok(v),
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        match answer {
            Ok(v) => {
                if !self.up.swap(true, Ordering::Relaxed) {
                    let down_ms =
                        self.millis() - self.down_at.load(Ordering::Relaxed).min(self.millis());
                    // A warning as the outage's was: the pair brackets it in the log.
                    tracing::warn!(
                        redis = %self.shown,
                        down_ms,
                        "usage store: Redis answers again; counting resumed"
                    );
                }
                if let Some(m) = &self.metrics {
                    m.usage_store(seconds, None);
                }
                Some(v)
            }
            Err(miss) => {
                if miss != Miss::Down {
                    let next =
                        self.millis() + u64::try_from(RETRY_EVERY.as_millis()).unwrap_or(500);
                    self.retry_at.store(next, Ordering::Relaxed);
                    if self.up.swap(false, Ordering::Relaxed) {
                        self.down_at.store(self.millis(), Ordering::Relaxed);
                        tracing::warn!(
                            redis = %self.shown,
                            reason = miss.as_str(),
                            timeout_ms = self.timeout.as_millis() as u64,
                            action = self.failure.action(),
                            "usage store: Redis did not answer; requests are {} until it does",
                            match self.failure {
                                Failure::Open => "let through uncounted",
                                Failure::Closed => "refused with 503",
                            }
                        );
                    }
                }
                if let Some(m) = &self.metrics {
                    m.usage_store(seconds, Some((miss.as_str(), self.failure.action())));
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 26: ids joined by `/` collided (plan `a/b` with key `c`, plan `a` with key
    /// `b/c`); the digest of the length-prefixed pair does not.
    #[test]
    fn pairs_of_ids_never_share_keys() {
        assert_ne!(key_base("a/b", "c"), key_base("a", "b/c"));
        assert_ne!(key_base("ab", "c"), key_base("a", "bc"));
        assert_ne!(key_base("", "ab"), key_base("ab", ""));
        assert_eq!(key_base("daily", "q"), key_base("daily", "q"));
        let base = key_base("daily", "q");
        assert!(
            base.starts_with("parallax:usage:v2:{") && base.ends_with('}'),
            "{base}"
        );
        assert_eq!(base.len(), "parallax:usage:v2:{}".len() + 32);
    }

    #[test]
    fn failure_modes_parse() {
        assert_eq!("open".parse(), Ok(Failure::Open));
        assert_eq!("closed".parse(), Ok(Failure::Closed));
        assert_eq!("OPEN".parse::<Failure>(), Err(()));
    }

    #[tokio::test]
    async fn only_redis_urls() {
        let s = |url: &str| RedisSettings {
            url: url.to_owned(),
            timeout: Duration::from_millis(100),
            failure: Failure::Open,
            mode: Mode::Exact,
        };
        assert!(matches!(
            RedisStore::new(&s("rediss://h:6379"), None),
            Err(UsageStoreError::Scheme { .. })
        ));
        assert!(matches!(
            RedisStore::new(&s("redis://h:notaport/0"), None),
            Err(UsageStoreError::Url { .. })
        ));
        let ok = RedisStore::new(&s("redis://:secret@127.0.0.1:6390/3"), None).unwrap();
        assert_eq!(ok.shown(), "127.0.0.1:6390/3", "no credentials in logs");
    }
}
