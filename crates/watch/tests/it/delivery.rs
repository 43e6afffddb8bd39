//! Delivery to receivers (issue 25): a sender per receiver, so a receiver that stalls delays no
//! other; retries carry the same body and idempotency key; the startup burst is one
//! initial-state payload behind the changes; a full queue drops and counts. The receivers are
//! real HTTP/1.1 servers on loopback; the tests wait on the senders' reports, never on sleeps.

use std::sync::Arc;
use std::time::Duration;

use parallax_watch::Event;
use parallax_watch::metrics::Metrics;
use parallax_watch::watcher::Seen;
use parallax_watch::webhook::{Delivery, Kind, Outcome, Tap, WebhookConfig, Webhooks};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// What a test receiver does with its n-th request.
#[derive(Clone, Copy)]
pub(crate) enum Act {
    Ok,
    Fail,
    /// Reads the request and never answers.
    Stall,
}

/// One request a receiver took.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    pub(crate) key: String,
    pub(crate) body: serde_json::Value,
}

/// An HTTP/1.1 receiver on 127.0.0.1:0; each request read whole and reported.
pub(crate) async fn receiver(
    act: impl Fn(usize) -> Act + Send + 'static,
) -> (url::Url, mpsc::UnboundedReceiver<Got>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let what = act(n);
            n += 1;
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head, body) = loop {
                    let Ok(k) = tcp.read(&mut chunk).await else {
                        return;
                    };
                    if k == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            break (head.to_owned(), body.to_owned());
                        }
                    }
                };
                let key = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("idempotency-key")
                            .then(|| v.trim().to_owned())
                    })
                    .unwrap_or_default();
                let _ = tx.send(Got {
                    key,
                    body: serde_json::from_str(&body).expect("a JSON body"),
                });
                let status = match what {
                    Act::Ok => "200 OK",
                    Act::Fail => "500 Internal Server Error",
                    Act::Stall => {
                        // Held open until the sender gives up on it.
                        let _ = tcp.read(&mut chunk).await;
                        return;
                    }
                };
                let _ = tcp
                    .write_all(
                        format!(
                            "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        )
                        .as_bytes(),
                    )
                    .await;
            });
        }
    });
    (
        format!("http://{addr}/hooks/parallax")
            .parse()
            .expect("url"),
        rx,
    )
}

pub(crate) fn hook(
    name: &str,
    url: url::Url,
    timeout: Duration,
    retries: u32,
    queue: usize,
) -> WebhookConfig {
    WebhookConfig {
        name: name.to_owned(),
        url,
        kind: Kind::Webhook,
        timeout,
        retries,
        queue,
    }
}

fn seen(diagnosis: &str) -> Seen {
    let ok = diagnosis == "ok";
    Seen {
        dns: if ok { "public" } else { "private" }.to_owned(),
        front_door: Some(if ok { "regional" } else { "vpce" }.to_owned()),
        diagnosis: diagnosis.to_owned(),
        status: Some(if ok { 200 } else { 403 }),
    }
}

/// A change of `target` from ok to the endpoint's private DNS (or the first answer when
/// `first`).
fn event(target: &str, time: f64, first: bool, diagnosis: &str) -> Event {
    Event {
        time,
        target: target.to_owned(),
        before: (!first).then(|| seen("ok")),
        after: seen(diagnosis),
        cause: "an interface endpoint's private DNS answers".to_owned(),
        confirmed: Some(true),
        endpoint: Some("vpce-0123456789abcdef0".to_owned()),
        vpc: Some("vpc-0a1b2c3d4e5f60718".to_owned()),
        zone: None,
        profile: None,
        account_changes: Vec::new(),
        unknown: Vec::new(),
    }
}

/// A tap that forwards every outcome.
fn tap() -> (Tap, mpsc::UnboundedReceiver<Outcome>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        Arc::new(move |o: &Outcome| {
            let _ = tx.send(o.clone());
        }),
        rx,
    )
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

/// A receiver that fails once gets the retry: the same body, the same Idempotency-Key, which
/// is also the alert's `idempotency_key` annotation; the payload is Alertmanager's webhook
/// payload with the endpoint and VPC as labels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_carries_the_same_body_and_idempotency_key() {
    let (url, mut got) = receiver(|n| if n == 0 { Act::Fail } else { Act::Ok }).await;
    let (tap, mut outcomes) = tap();
    let hooks = Webhooks::start(
        vec![hook("relay", url, Duration::from_secs(5), 2, 4)],
        Metrics::new().deliveries(),
        Some(tap),
    );
    let e = event("orders", 1_796_040_000.0, false, "endpoint-private-dns");
    assert_eq!(hooks.send(&e), 1);
    let o = next(&mut outcomes).await;
    assert_eq!(o.delivery, Delivery::Sent);
    let (a, b) = (next(&mut got).await, next(&mut got).await);
    assert_eq!(a.body, b.body, "the retry sends the same payload");
    assert_eq!(a.key, b.key);
    assert_eq!(a.key.len(), 16, "{a:?}");
    assert_eq!(a.key, o.key);
    let v = &b.body;
    assert_eq!(v["version"], "4");
    assert_eq!(v["status"], "firing");
    let alert = &v["alerts"][0];
    assert_eq!(alert["annotations"]["idempotency_key"], a.key.as_str());
    assert_eq!(alert["labels"]["diagnosis"], "endpoint-private-dns");
    assert_eq!(alert["labels"]["endpoint"], "vpce-0123456789abcdef0");
    assert_eq!(alert["labels"]["vpc"], "vpc-0a1b2c3d4e5f60718");
    assert_eq!(alert["startsAt"], "2026-11-30T12:00:00Z");
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    // The same event queued again (a duplicate) has the same key.
    hooks.send(&e);
    let again = next(&mut got).await;
    assert_eq!(again.key, a.key);
}

/// One receiver stalls every request until its timeout; the other gets every event while the
/// stalled one is still on its first, and sending never waits for either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_receiver_delays_no_other() {
    let (slow_url, _slow_got) = receiver(|_| Act::Stall).await;
    let (fast_url, mut fast_got) = receiver(|_| Act::Ok).await;
    let (tap, mut outcomes) = tap();
    let metrics = Metrics::new();
    let hooks = Webhooks::start(
        vec![
            hook("slow", slow_url, Duration::from_secs(30), 3, 100),
            hook("fast", fast_url, Duration::from_secs(5), 3, 100),
        ],
        metrics.deliveries(),
        Some(tap),
    );
    for i in 0..5 {
        let e = event(
            &format!("t{i}"),
            1_796_040_000.0 + f64::from(i),
            false,
            "endpoint-private-dns",
        );
        assert_eq!(hooks.send(&e), 2, "both queues take it");
    }
    let mut fast = 0;
    while fast < 5 {
        let o = next(&mut outcomes).await;
        assert_eq!(
            o.receiver, "fast",
            "the slow receiver answered first: {o:?}"
        );
        assert_eq!(o.delivery, Delivery::Sent);
        fast += 1;
    }
    let mut targets = Vec::new();
    for _ in 0..5 {
        targets.push(next(&mut fast_got).await.body["alerts"][0]["labels"]["target"].clone());
    }
    assert_eq!(targets, ["t0", "t1", "t2", "t3", "t4"], "in order");
    let text = metrics.encode();
    assert!(
        text.contains("parallax_webhook_deliveries_total{receiver=\"fast\",result=\"sent\"} 5"),
        "{text}"
    );
    assert!(
        text.contains("parallax_webhook_queue_depth{receiver=\"slow\"} 4"),
        "the slow one holds the other four: {text}"
    );
    assert!(text.contains("parallax_webhook_delivery_seconds_count{receiver=\"fast\"} 5"));
}

/// Every target's first answer arrives together at startup: one initial-state payload (the
/// targets that are not ok as alerts, a count of all), and a change queued behind that burst
/// goes first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_startup_burst_is_one_summary_behind_the_changes() {
    let (url, mut got) = receiver(|_| Act::Ok).await;
    let (tap, mut outcomes) = tap();
    let hooks = Webhooks::start(
        vec![hook("relay", url, Duration::from_secs(5), 1, 1000)],
        Metrics::new().deliveries(),
        Some(tap),
    );
    for i in 0..52 {
        let diagnosis = if i % 13 == 0 {
            "endpoint-private-dns"
        } else {
            "ok"
        };
        hooks.send(&event(&format!("t{i}"), 1_796_040_000.0, true, diagnosis));
    }
    hooks.send(&event("t1", 1_796_040_030.0, false, "endpoint-private-dns"));
    let first = next(&mut got).await.body;
    assert_eq!(
        first["alerts"][0]["labels"]["target"], "t1",
        "the change first: {first}"
    );
    let summary = next(&mut got).await.body;
    assert_eq!(summary["groupLabels"]["initial"], "true", "{summary}");
    assert_eq!(
        summary["alerts"].as_array().map(Vec::len),
        Some(4),
        "t0, t13, t26, t39"
    );
    assert_eq!(
        summary["commonAnnotations"]["summary"],
        "initial state of 52 targets: 4 endpoint-private-dns, 48 ok"
    );
    let (a, b) = (next(&mut outcomes).await, next(&mut outcomes).await);
    assert_eq!((a.events, b.events), (1, 52));
}

/// A queue of two behind a stalled receiver: the third and later events are dropped and
/// counted, and an initial answer gives way to a change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_and_counts() {
    let (url, mut got) = receiver(|_| Act::Stall).await;
    let (tap, mut outcomes) = tap();
    let metrics = Metrics::new();
    let hooks = Webhooks::start(
        vec![hook("stuck", url, Duration::from_secs(30), 0, 2)],
        metrics.deliveries(),
        Some(tap),
    );
    hooks.send(&event("a", 1.0, false, "endpoint-private-dns"));
    // The sender has taken the first event once the receiver has it.
    let _ = next(&mut got).await;
    assert_eq!(hooks.send(&event("b", 2.0, true, "ok")), 1);
    assert_eq!(
        hooks.send(&event("c", 3.0, false, "endpoint-private-dns")),
        1
    );
    // Full (b, c): a change pushes the initial answer b out; an initial answer is dropped.
    assert_eq!(
        hooks.send(&event("d", 4.0, false, "endpoint-private-dns")),
        1
    );
    assert_eq!(hooks.send(&event("e", 5.0, true, "ok")), 0);
    for _ in 0..2 {
        assert_eq!(next(&mut outcomes).await.delivery, Delivery::Dropped);
    }
    let text = metrics.encode();
    assert!(
        text.contains("parallax_webhook_deliveries_total{receiver=\"stuck\",result=\"dropped\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("parallax_webhook_queue_depth{receiver=\"stuck\"} 2"),
        "{text}"
    );
}
