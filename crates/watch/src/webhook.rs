//! Events to receivers, each with a sender of its own: a slow or dead receiver delays no other
//! receiver and no probe.
//!
//! - Two kinds of receiver: a webhook (each delivery an Alertmanager webhook payload, version 4:
//!   `status`, `alerts[]` with `labels`, `annotations`, `startsAt`, so a receiver written for
//!   Alertmanager takes it as is), or Alertmanager itself (`POST /api/v2/alerts`, the alerts as
//!   Prometheus sends them, firing ones sent again every minute with an `endsAt` ahead, as
//!   Prometheus does, so that Alertmanager does not resolve them by itself).
//! - A bounded queue per receiver, changes of state ahead of the initial state; when it is full
//!   an initial-state event gives way to a change, otherwise the new event is dropped and
//!   counted.
//! - The startup burst (every target's first answer) is coalesced into one "initial state"
//!   delivery: the targets that are not ok, and a count of those that are.
//! - Each delivery carries an idempotency key (a header, `Idempotency-Key`, and an annotation
//!   in webhook payloads); a retry sends the same body with the same key, so a receiver can drop
//!   duplicates.
//! - Each attempt has a timeout; retries wait a doubling, jittered pause.
//! - Queue depth, deliveries by result, drops and delivery latency (enqueue to answer) are
//!   metrics with the receiver's name.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::Notify;

use crate::event::Event;
use crate::metrics::Labels;

/// What a receiver speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An Alertmanager webhook payload POSTed to the URL as given.
    Webhook,
    /// Alertmanager's API: alerts POSTed to `URL/api/v2/alerts`.
    Alertmanager,
}

/// Where and how to send.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// The receiver's name (a label value of the delivery metrics).
    pub name: String,
    /// `http://HOST:PORT/PATH`.
    pub url: url::Url,
    /// What it speaks.
    pub kind: Kind,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// How many times a delivery is retried.
    pub retries: u32,
    /// How many events may wait to be sent.
    pub queue: usize,
}

/// What became of one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered (a 2xx answer).
    Sent,
    /// Every attempt failed (refused, timed out, or a status other than 2xx).
    Failed,
    /// The queue was full.
    Dropped,
}

impl Delivery {
    /// The metric's label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Sent => "sent",
            Delivery::Failed => "failed",
            Delivery::Dropped => "dropped",
        }
    }
}

/// One delivery's report: to the metrics, and to whoever listens (tests).
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The receiver's name.
    pub receiver: String,
    /// What became of it.
    pub delivery: Delivery,
    /// How many events it carried (the initial state carries many).
    pub events: usize,
    /// Its idempotency key (empty for a drop).
    pub key: String,
    /// From the oldest event's enqueueing to the answer.
    pub latency: Duration,
}

/// The delivery metrics' families, shared with the registry that exposes them.
#[derive(Clone, Debug)]
pub struct DeliveryMetrics {
    /// `parallax_webhook_deliveries_total{receiver,result}`.
    pub deliveries: Family<Labels, Counter>,
    /// `parallax_webhook_queue_depth{receiver}`.
    pub depth: Family<Labels, Gauge>,
    /// `parallax_webhook_delivery_seconds{receiver}`.
    pub latency: Family<Labels, Histogram, fn() -> Histogram>,
}

/// The latency histogram's buckets, in seconds.
pub fn latency_buckets() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
    ])
}

impl Default for DeliveryMetrics {
    fn default() -> Self {
        DeliveryMetrics {
            deliveries: Family::default(),
            depth: Family::default(),
            latency: Family::new_with_constructor(latency_buckets),
        }
    }
}

/// How long the startup burst is gathered: until no first answer came for [`QUIET`], at most
/// [`GATHER`] after the first.
const QUIET: Duration = Duration::from_secs(2);
/// See [`QUIET`].
const GATHER: Duration = Duration::from_secs(30);
/// At most this many alerts in one delivery; the rest are counted in `truncatedAlerts`.
pub const MAX_ALERTS: usize = 200;
/// How often Alertmanager is told again of the alerts still firing.
const RESEND: Duration = Duration::from_secs(60);
/// A retry's first pause; each next one doubles, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(200);
/// See [`FIRST_PAUSE`].
const MAX_PAUSE: Duration = Duration::from_secs(10);

struct Queued {
    event: Event,
    at: Instant,
}

/// One receiver's queue: changes first, then the initial state.
#[derive(Default)]
struct Queue {
    changes: VecDeque<Queued>,
    initial: VecDeque<Queued>,
    /// When the last initial-state event came.
    last_initial: Option<Instant>,
}

impl Queue {
    fn len(&self) -> usize {
        self.changes.len() + self.initial.len()
    }
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Arc<Notify>,
    config: WebhookConfig,
    metrics: DeliveryMetrics,
    tap: Option<Tap>,
}

/// Who hears of every outcome besides the metrics (tests).
pub type Tap = Arc<dyn Fn(&Outcome) + Send + Sync>;

impl Shared {
    fn labels(&self) -> Labels {
        vec![("receiver".to_owned(), self.config.name.clone())]
    }

    fn report(&self, o: Outcome) {
        let mut labels = self.labels();
        labels.push(("result".to_owned(), o.delivery.as_str().to_owned()));
        self.metrics.deliveries.get_or_create(&labels).inc_by(
            // A dropped event counts once; a delivery counts its events.
            o.events.max(1) as u64,
        );
        if o.delivery != Delivery::Dropped {
            self.metrics
                .latency
                .get_or_create(&self.labels())
                .observe(o.latency.as_secs_f64());
        }
        if let Some(tap) = &self.tap {
            tap(&o);
        }
    }

    fn set_depth(&self, n: usize) {
        self.metrics
            .depth
            .get_or_create(&self.labels())
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    fn dropped(&self) {
        self.report(Outcome {
            receiver: self.config.name.clone(),
            delivery: Delivery::Dropped,
            events: 1,
            key: String::new(),
            latency: Duration::ZERO,
        });
    }

    /// Queues an event; `false` when it was dropped.
    fn push(&self, event: &Event) -> bool {
        let Ok(mut q) = self.queue.lock() else {
            return false;
        };
        let initial = event.before.is_none();
        if q.len() >= self.config.queue.max(1) {
            // A change of state is worth more than an initial answer.
            if initial || q.initial.pop_front().is_none() {
                drop(q);
                self.dropped();
                return false;
            }
            self.dropped();
        }
        let queued = Queued {
            event: event.clone(),
            at: Instant::now(),
        };
        if initial {
            q.last_initial = Some(queued.at);
            q.initial.push_back(queued);
        } else {
            q.changes.push_back(queued);
        }
        // Set under the lock, so that the gauge's last value is the queue's.
        self.set_depth(q.len());
        drop(q);
        self.wake.notify_one();
        true
    }

    /// The next delivery to make, or how long to wait for one.
    fn next(&self) -> Result<Vec<Queued>, Option<Duration>> {
        let Ok(mut q) = self.queue.lock() else {
            return Err(None);
        };
        if let Some(one) = q.changes.pop_front() {
            self.set_depth(q.len());
            return Ok(vec![one]);
        }
        let Some(first) = q.initial.front().map(|f| f.at) else {
            return Err(None);
        };
        let quiet = q.last_initial.map_or(Duration::MAX, |t| t.elapsed());
        let wait = QUIET
            .saturating_sub(quiet)
            .min(GATHER.saturating_sub(first.elapsed()));
        if !wait.is_zero() {
            return Err(Some(wait));
        }
        let all = q.initial.drain(..).collect();
        self.set_depth(q.len());
        Ok(all)
    }
}

/// The senders, one per receiver; what the watcher holds.
#[derive(Clone)]
pub struct Webhooks {
    receivers: Vec<Arc<Shared>>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.receivers.iter().map(|r| &r.config.name))
            .finish()
    }
}

impl Webhooks {
    /// Starts one sender task per receiver; `tap` hears of every outcome (tests).
    pub fn start(
        configs: Vec<WebhookConfig>,
        metrics: DeliveryMetrics,
        tap: Option<Tap>,
    ) -> Webhooks {
        let receivers: Vec<Arc<Shared>> = configs
            .into_iter()
            .map(|config| {
                Arc::new(Shared {
                    queue: Mutex::new(Queue::default()),
                    wake: Arc::new(Notify::new()),
                    config,
                    metrics: metrics.clone(),
                    tap: tap.clone(),
                })
            })
            .collect();
        for r in &receivers {
            r.set_depth(0);
            tokio::spawn(sender(Arc::downgrade(r)));
        }
        Webhooks { receivers }
    }

    /// Queues an event for every receiver; how many queues took it.
    pub fn send(&self, event: &Event) -> usize {
        self.receivers.iter().filter(|r| r.push(event)).count()
    }
}

/// One receiver's sender, until the [`Webhooks`] holding it is dropped.
async fn sender(shared: std::sync::Weak<Shared>) {
    // Alertmanager's firing alerts, by target, sent again every RESEND.
    let mut firing: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut last_sent = Instant::now();
    loop {
        let Some(s) = shared.upgrade() else { return };
        let next = s.next();
        let batch = match next {
            Ok(batch) => batch,
            Err(wait) => {
                let resend = (s.config.kind == Kind::Alertmanager && !firing.is_empty())
                    .then(|| RESEND.saturating_sub(last_sent.elapsed()));
                if resend.is_some_and(|r| r.is_zero()) {
                    let alerts: Vec<serde_json::Value> = firing.values().cloned().collect();
                    let body = serde_json::Value::Array(
                        alerts.into_iter().map(|a| with_ends(a, now())).collect(),
                    );
                    let key = idempotency_key(&[body.to_string().as_str()]);
                    let _ = attempt_all(&s.config, &body.to_string(), &key).await;
                    last_sent = Instant::now();
                    continue;
                }
                let wait = [wait, resend]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(Duration::from_secs(3600));
                let wake = s.wake.clone();
                drop(s);
                let notified = wake.notified();
                // The weak reference is checked again at least every second, so that a dropped
                // Webhooks ends its senders.
                let _ = tokio::time::timeout(wait.min(Duration::from_secs(1)), notified).await;
                continue;
            }
        };
        let oldest = batch
            .iter()
            .map(|q| q.at)
            .min()
            .unwrap_or_else(Instant::now);
        let events: Vec<&Event> = batch.iter().map(|q| &q.event).collect();
        let initial = events.iter().all(|e| e.before.is_none()) && events.len() > 1;
        let keys: Vec<String> = events.iter().map(|e| event_key(e)).collect();
        let key = if keys.len() == 1 {
            keys[0].clone()
        } else {
            idempotency_key(&keys.iter().map(String::as_str).collect::<Vec<_>>())
        };
        let body = match s.config.kind {
            Kind::Webhook if initial => initial_payload(&events, &key),
            Kind::Webhook => {
                let mut p = payload(events[0]);
                p["alerts"][0]["annotations"]["idempotency_key"] = key.clone().into();
                p
            }
            Kind::Alertmanager => {
                for e in &events {
                    let alert = postable_alert(e);
                    if is_resolved(e) {
                        firing.remove(&e.target);
                    } else {
                        firing.insert(e.target.clone(), alert);
                    }
                }
                let alerts: Vec<serde_json::Value> = events
                    .iter()
                    // At startup, Alertmanager hears only of what is wrong.
                    .filter(|e| !(e.before.is_none() && is_resolved(e)))
                    .map(|e| postable_alert(e))
                    .take(MAX_ALERTS)
                    .collect();
                if alerts.is_empty() {
                    s.report(Outcome {
                        receiver: s.config.name.clone(),
                        delivery: Delivery::Sent,
                        events: events.len(),
                        key,
                        latency: oldest.elapsed(),
                    });
                    continue;
                }
                last_sent = Instant::now();
                serde_json::Value::Array(alerts.into_iter().map(|a| with_ends(a, now())).collect())
            }
        };
        let delivery = attempt_all(&s.config, &body.to_string(), &key).await;
        s.report(Outcome {
            receiver: s.config.name.clone(),
            delivery,
            events: events.len(),
            key,
            latency: oldest.elapsed(),
        });
    }
}

/// Every attempt of one delivery: the same body and key each time, a jittered doubling pause
/// between them.
async fn attempt_all(config: &WebhookConfig, body: &str, key: &str) -> Delivery {
    let url = match config.kind {
        Kind::Webhook => config.url.clone(),
        Kind::Alertmanager => {
            let mut u = config.url.clone();
            let path = format!("{}/api/v2/alerts", u.path().trim_end_matches('/'));
            u.set_path(&path);
            u
        }
    };
    let mut pause = FIRST_PAUSE;
    for attempt in 0..=config.retries {
        if attempt > 0 {
            tokio::time::sleep(jittered(pause, key, attempt)).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
        if post(&url, body, key, config.timeout).await {
            return Delivery::Sent;
        }
    }
    Delivery::Failed
}

/// A pause between half of `pause` and all of it, spread by the key, the attempt and the clock
/// so that receivers coming back are not hit by every sender at once.
fn jittered(pause: Duration, key: &str, attempt: u32) -> Duration {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(clock) ^ (u64::from(attempt) << 32);
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let fraction = 0.5 + (h % 1000) as f64 / 2000.0;
    pause.mul_f64(fraction)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Whether an event says the target is well again.
fn is_resolved(e: &Event) -> bool {
    e.after.diagnosis == "ok"
}

/// 16 hex digits of SHA-256 over the parts.
fn idempotency_key(parts: &[&str]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p.as_bytes());
        ctx.update(&[0]);
    }
    ctx.finish().as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An event's idempotency key: the same event, the same key, however often it is sent.
pub fn event_key(e: &Event) -> String {
    let (dns, front, diagnosis) = e.after.key();
    idempotency_key(&[
        &e.target,
        &format!("{:.6}", e.time),
        dns,
        front.unwrap_or("-"),
        diagnosis,
    ])
}

/// The labels every form of an event's alert carries.
fn labels(e: &Event) -> serde_json::Value {
    let mut labels = serde_json::json!({
        "alertname": "ParallaxAnswerChanged",
        "target": e.target,
        "diagnosis": e.after.diagnosis,
        "dns": e.after.dns,
    });
    // The endpoint, VPC, zone and profile that answered, when known: routing and inhibition can
    // use them.
    for (key, value) in [
        ("endpoint", &e.endpoint),
        ("vpc", &e.vpc),
        ("zone", &e.zone),
        ("profile", &e.profile),
    ] {
        if let Some(v) = value {
            labels[key] = serde_json::Value::from(v.as_str());
        }
    }
    labels
}

/// The annotations of an event's alert; absent facts are left out.
fn annotations(e: &Event) -> serde_json::Value {
    let changes: Vec<String> = e
        .account_changes
        .iter()
        .map(|c| {
            let by = c["by"][0]["principal"]
                .as_str()
                .unwrap_or("unknown principal");
            let at = c["by"][0]["time"].as_str().unwrap_or("");
            format!("{} {by} {at}", c["change"].as_str().unwrap_or("change"))
        })
        .collect();
    let seen = |s: &crate::event::Seen| {
        format!(
            "dns {}, front door {}, diagnosis {}",
            s.dns,
            s.front_door.as_deref().unwrap_or("-"),
            s.diagnosis
        )
    };
    let mut a = serde_json::Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            a.insert(k.to_owned(), v.into());
        }
    };
    put("cause", Some(e.cause.clone()));
    put("before", e.before.as_ref().map(seen));
    put("after", Some(seen(&e.after)));
    put(
        "answered_by",
        e.endpoint
            .as_ref()
            .map(|ep| format!("{ep} in {}", e.vpc.as_deref().unwrap_or("an unknown VPC"))),
    );
    put(
        "account_changes",
        (!changes.is_empty()).then(|| changes.join("; ")),
    );
    put(
        "unknown",
        (!e.unknown.is_empty()).then(|| e.unknown.join("; ")),
    );
    serde_json::Value::Object(a)
}

/// One event as Alertmanager's API takes it (`postableAlert`); `endsAt` is set when sent.
fn postable_alert(e: &Event) -> serde_json::Value {
    let mut alert = serde_json::json!({
        "labels": labels(e),
        "annotations": annotations(e),
        "startsAt": rfc3339(e.time),
    });
    if is_resolved(e) {
        alert["endsAt"] = rfc3339(e.time).into();
    }
    alert
}

/// A firing alert's `endsAt` four resend intervals ahead, as Prometheus sets it.
fn with_ends(mut alert: serde_json::Value, now: f64) -> serde_json::Value {
    if alert.get("endsAt").is_none() {
        alert["endsAt"] = rfc3339(now + 4.0 * RESEND.as_secs_f64()).into();
    }
    alert
}

/// The alert of one event in a webhook payload.
fn webhook_alert(e: &Event) -> serde_json::Value {
    let status = if is_resolved(e) { "resolved" } else { "firing" };
    let time = rfc3339(e.time);
    let mut annotations = annotations(e);
    annotations["idempotency_key"] = event_key(e).into();
    serde_json::json!({
        "status": status,
        "labels": labels(e),
        "annotations": annotations,
        "startsAt": time,
        "endsAt": if status == "resolved" { time.clone() } else { "0001-01-01T00:00:00Z".to_owned() },
        "generatorURL": "",
        "fingerprint": event_key(e),
    })
}

/// The Alertmanager webhook payload (version 4) of one event: firing while the diagnosis is not
/// `ok`, resolved when it is.
pub fn payload(e: &Event) -> serde_json::Value {
    let alert = webhook_alert(e);
    serde_json::json!({
        "version": "4",
        "groupKey": format!("{{}}:{{target=\"{}\"}}", e.target),
        "status": alert["status"],
        "receiver": "parallax-watch",
        "groupLabels": { "target": e.target },
        "commonLabels": alert["labels"],
        "commonAnnotations": {},
        "externalURL": "",
        "truncatedAlerts": 0,
        "alerts": [alert],
    })
}

/// The startup burst as one payload: an alert for each target that is not ok (at most
/// [`MAX_ALERTS`], the rest counted in `truncatedAlerts`) and a summary of them all.
pub fn initial_payload(events: &[&Event], key: &str) -> serde_json::Value {
    let bad: Vec<&&Event> = events.iter().filter(|e| !is_resolved(e)).collect();
    let alerts: Vec<serde_json::Value> = bad
        .iter()
        .take(MAX_ALERTS)
        .map(|e| webhook_alert(e))
        .collect();
    let mut by_diagnosis: BTreeMap<&str, usize> = BTreeMap::new();
    for e in events {
        *by_diagnosis.entry(e.after.diagnosis.as_str()).or_default() += 1;
    }
    let summary = by_diagnosis
        .iter()
        .map(|(d, n)| format!("{n} {d}"))
        .collect::<Vec<_>>()
        .join(", ");
    serde_json::json!({
        "version": "4",
        "groupKey": "{}:{initial=\"true\"}",
        "status": if bad.is_empty() { "resolved" } else { "firing" },
        "receiver": "parallax-watch",
        "groupLabels": { "initial": "true" },
        "commonLabels": { "alertname": "ParallaxInitialState" },
        "commonAnnotations": {
            "summary": format!("initial state of {} targets: {summary}", events.len()),
            "idempotency_key": key,
        },
        "externalURL": "",
        "truncatedAlerts": bad.len().saturating_sub(MAX_ALERTS),
        "alerts": alerts,
    })
}

/// Unix seconds as RFC 3339 UTC (civil-from-days, Howard Hinnant's algorithm).
fn rfc3339(t: f64) -> String {
    let secs = t.max(0.0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// One POST over HTTP/1.1; `true` on a 2xx within the timeout.
async fn post(url: &url::Url, body: &str, key: &str, timeout: Duration) -> bool {
    let attempt = async {
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        let tcp = tokio::net::TcpStream::connect((host, port)).await.ok()?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .ok()?;
        tokio::spawn(conn);
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let req = http::Request::post(path)
            .header(http::header::HOST, url.authority())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", key)
            .header(
                http::header::USER_AGENT,
                concat!("parallax-watch/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(body.to_owned())))
            .ok()?;
        let res = send.send_request(req).await.ok()?;
        Some(res.status().is_success())
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_rfc_3339() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00Z");
        // 2026-11-30T12:00:00Z: 20787 days after the epoch (Python datetime), and half a day.
        assert_eq!(
            rfc3339(20_787.0 * 86_400.0 + 43_200.0),
            "2026-11-30T12:00:00Z"
        );
        assert_eq!(rfc3339(951_782_400.0), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn pauses_are_jittered_within_half_to_whole() {
        for attempt in 1..50 {
            let p = jittered(Duration::from_secs(2), "abc", attempt);
            assert!(
                p >= Duration::from_secs(1) && p <= Duration::from_secs(2),
                "{p:?}"
            );
        }
    }
}
