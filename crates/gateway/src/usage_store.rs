//! Usage-plan counters shared by several gateway replicas, in Redis (`--usage-store
//! redis://HOST:PORT/DB`).
//!
//! Each decision is one Lua script run by Redis, so the check and the update cannot interleave
//! with another replica's (no read-modify-write race): the quota's count for the current window
//! (expiring when the window ends), then the token bucket (refilled on Redis's own clock, so
//! replicas whose clocks differ still agree; expiring once it would be full again), both spent
//! together as the in-memory store does. A plan with an `offset` keeps one small marker of its
//! first window, without expiry, as the offset applies to that window only.
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

/// How the gateway reaches Redis.
#[derive(Clone, Debug)]
pub struct RedisSettings {
    /// `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`.
    pub url: String,
    /// How long one decision may wait for Redis (connecting included).
    pub timeout: Duration,
    /// What a request gets when Redis does not answer in time.
    pub failure: Failure,
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
    script: redis::Script,
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

/// The decision, run by Redis as one script. Returns 0 (admitted), 1 (quota) or 2 (throttle).
/// KEYS: the window's count, the bucket, the first-window marker, the ids record. ARGV: quota
/// limit (-1: no quota), offset, window id, window end (Unix seconds), rate, burst (-1: no
/// throttle), the plan and key ids (kept beside the digest that names the keys).
const DECIDE: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
redis.call('SET', KEYS[4], ARGV[7], 'NX')
local limit = tonumber(ARGV[1])
if limit >= 0 then
  local offset = tonumber(ARGV[2])
  if offset > 0 then
    redis.call('SET', KEYS[3], ARGV[3], 'NX')
    if redis.call('GET', KEYS[3]) == ARGV[3] then limit = math.max(limit - offset, 0) end
  end
  local used = tonumber(redis.call('GET', KEYS[1]) or '0')
  if used >= limit then return 1 end
end
local burst = tonumber(ARGV[6])
if burst >= 0 then
  local rate = tonumber(ARGV[5])
  local t = redis.call('TIME')
  local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  local b = redis.call('HMGET', KEYS[2], 'tokens', 'at')
  local tokens = tonumber(b[1]) or burst
  local at = tonumber(b[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
  local ok = tokens >= 1
  if ok then tokens = tokens - 1 end
  redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'at', tostring(now))
  if rate > 0 then
    redis.call('PEXPIRE', KEYS[2], math.ceil(burst / rate * 1000) + 1000)
  else
    redis.call('PERSIST', KEYS[2])
  end
  if not ok then return 2 end
end
if limit >= 0 then
  redis.call('INCR', KEYS[1])
  redis.call('EXPIREAT', KEYS[1], tonumber(ARGV[4]) + 60)
end
return 0
";

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
    /// up or not); call [`RedisStore::check`] to find out. Needs a Tokio runtime.
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
        Ok(RedisStore {
            inner: Arc::new(Inner {
                conn,
                script: redis::Script::new(DECIDE),
                timeout: settings.timeout,
                failure: settings.failure,
                shown,
                up: AtomicBool::new(true),
                retry_at: AtomicU64::new(0),
                down_at: AtomicU64::new(0),
                epoch: Instant::now(),
                metrics,
            }),
        })
    }

    /// `host:port/db`, for logs.
    pub fn shown(&self) -> &str {
        &self.inner.shown
    }

    /// Asks Redis for a PING within the timeout (and loads the script), to say at start whether
    /// it is reachable. A failure is not fatal: decisions follow the failure mode until Redis
    /// answers.
    pub async fn check(&self) -> Result<(), String> {
        let mut conn = self.inner.conn.clone();
        let ping = async {
            redis::cmd("PING").query_async::<String>(&mut conn).await?;
            self.inner.script.load_async(&mut conn).await
        };
        match tokio::time::timeout(self.inner.timeout, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "no answer within {} ms",
                self.inner.timeout.as_millis()
            )),
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
        Arc::new(RedisCounter {
            inner: self.inner.clone(),
            keys: Arc::new(Keys {
                count: format!("{base}:count"),
                bucket: format!("{base}:bucket"),
                first: format!("{base}:first"),
                ids: format!("{base}:ids"),
                tuple: serde_json::json!({ "plan": plan_id, "key": key_id }).to_string(),
            }),
            limits,
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

struct RedisCounter {
    inner: Arc<Inner>,
    keys: Arc<Keys>,
    limits: Limits,
}

impl std::fmt::Debug for RedisCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounter")
            .field("keys", &self.keys)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// One decision's arguments.
struct Ask {
    count_key: String,
    limit: i64,
    offset: i64,
    window: u64,
    window_end: u64,
    rate: f64,
    burst: i64,
}

impl PlanCounter for RedisCounter {
    fn take(&self, _now: Instant, wall: SystemTime) -> Take {
        let l = &self.limits;
        if l.quota.is_none() && l.throttle.is_none() {
            return Take::Now(Ok(()));
        }
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
        let ask = Ask {
            count_key: format!("{}:{window}", self.keys.count),
            limit,
            offset,
            window,
            window_end,
            rate,
            burst,
        };
        let inner = self.inner.clone();
        let keys = self.keys.clone();
        Take::Later(Pending::new(async move { inner.decide(&keys, ask).await }))
    }
}

impl Inner {
    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    async fn decide(&self, keys: &Keys, ask: Ask) -> Result<(), Reject> {
        let started = Instant::now();
        let answer = if !self.up.load(Ordering::Relaxed)
            && self.millis() < self.retry_at.load(Ordering::Relaxed)
        {
            Err(Miss::Down)
        } else {
            self.ask(keys, &ask).await
        };
        let seconds = started.elapsed().as_secs_f64();
        match answer {
            Ok(decision) => {
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
                decision
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
                match self.failure {
                    Failure::Open => Ok(()),
                    Failure::Closed => Err(Reject::UsageStoreUnavailable),
                }
            }
        }
    }

    /// Runs the script within the timeout.
    async fn ask(&self, keys: &Keys, a: &Ask) -> Result<Result<(), Reject>, Miss> {
        let mut conn = self.conn.clone();
        let mut call = self.script.prepare_invoke();
        call.key(&a.count_key)
            .key(&keys.bucket)
            .key(&keys.first)
            .key(&keys.ids)
            .arg(a.limit)
            .arg(a.offset)
            .arg(a.window)
            .arg(a.window_end)
            .arg(a.rate)
            .arg(a.burst)
            .arg(&keys.tuple);
        match tokio::time::timeout(self.timeout, call.invoke_async::<i64>(&mut conn)).await {
            Err(_) => Err(Miss::Timeout),
            Ok(Err(e)) if e.is_timeout() => Err(Miss::Timeout),
            Ok(Err(e)) => {
                tracing::debug!(redis = %self.shown, error = %e, "usage store: Redis error");
                Err(Miss::Error)
            }
            Ok(Ok(0)) => Ok(Ok(())),
            Ok(Ok(1)) => Ok(Err(Reject::QuotaExceeded)),
            Ok(Ok(2)) => Ok(Err(Reject::Throttled)),
            Ok(Ok(_)) => Err(Miss::Error),
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
