//! A per-client token bucket. The VPC resolver allows each ENI 1024 packets per second
//! (reference §2.3); queries over the limit are answered REFUSED, a short answer that cannot
//! be used to amplify traffic towards a forged source.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Queries per second and burst per client address. `rate == 0` turns the limit off.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Queries per second, steady.
    pub rate: f64,
    /// The bucket's size: how many queries a client may send at once.
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            rate: 1024.0,
            burst: 2048.0,
        }
    }
}

/// At most this many clients are tracked; past it, idle buckets (full again) are dropped.
const MAX_CLIENTS: usize = 65_536;

/// A per-client token bucket over a bounded table of clients.
#[derive(Debug)]
pub struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Limiter {
    /// A limiter enforcing `limit`.
    pub fn new(limit: RateLimit) -> Self {
        Limiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client`; false when its bucket is empty.
    pub fn allow(&self, client: IpAddr) -> bool {
        self.allow_at(client, Instant::now())
    }

    fn allow_at(&self, client: IpAddr, now: Instant) -> bool {
        if self.limit.rate <= 0.0 {
            return true;
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            // A panic while holding the lock is a bug elsewhere; do not turn it into an outage.
            return true;
        };
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            let (rate, burst) = (self.limit.rate, self.limit.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(client).or_insert((self.limit.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.limit.rate)
            .min(self.limit.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_per_client() {
        let l = Limiter::new(RateLimit {
            rate: 10.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        let a: IpAddr = "10.0.2.15".parse().unwrap();
        let b: IpAddr = "10.0.2.16".parse().unwrap();
        assert!((0..3).all(|_| l.allow_at(a, t0)));
        assert!(!l.allow_at(a, t0));
        assert!(l.allow_at(b, t0), "another client has its own bucket");
        assert!(
            l.allow_at(a, t0 + Duration::from_millis(100)),
            "one token back after 1/rate"
        );
        assert!(!l.allow_at(a, t0 + Duration::from_millis(100)));
    }
}
