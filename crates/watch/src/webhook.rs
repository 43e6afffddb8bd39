//! Events to a webhook: each one POSTed as an Alertmanager webhook payload (version 4: `status`,
//! `alerts[]` with `labels`, `annotations`, `startsAt`), so a receiver written for Alertmanager
//! takes it as is. A bounded queue between the watcher and the sender: a slow or dead receiver
//! never holds a probe up; when the queue is full the event is dropped and counted. Each POST
//! has a timeout and a bounded number of retries with a doubling pause.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

use crate::event::Event;

/// Where and how to send.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// `http://HOST:PORT/PATH`.
    pub url: url::Url,
    /// How long one POST may take.
    pub timeout: Duration,
    /// How many times a POST is retried.
    pub retries: u32,
    /// How many events may wait to be sent.
    pub queue: usize,
}

/// What became of one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered (a 2xx answer).
    Sent,
    /// Every attempt failed (refused, timed out, or a status other than 2xx).
    Failed,
    /// The queue was full.
    Dropped,
}

/// The sending side the watcher holds.
#[derive(Debug, Clone)]
pub struct Webhook {
    tx: mpsc::Sender<Event>,
}

impl Webhook {
    /// Starts the sender task; `done` hears of every delivery (metrics, tests).
    pub fn start(config: WebhookConfig, done: Box<dyn Fn(Delivery) + Send + Sync>) -> Webhook {
        let (tx, mut rx) = mpsc::channel::<Event>(config.queue.max(1));
        let done = std::sync::Arc::new(done);
        let done_tx = done.clone();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let body = payload(&event).to_string();
                let mut pause = Duration::from_millis(100);
                let mut result = Delivery::Failed;
                for attempt in 0..=config.retries {
                    if attempt > 0 {
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(5));
                    }
                    if post(&config.url, &body, config.timeout).await {
                        result = Delivery::Sent;
                        break;
                    }
                }
                done_tx(result);
            }
        });
        let _ = done;
        Webhook { tx }
    }

    /// Queues an event; `false` when the queue is full (the event is dropped).
    pub fn send(&self, event: &Event) -> bool {
        self.tx.try_send(event.clone()).is_ok()
    }
}

/// The Alertmanager webhook payload (version 4) of one event: firing while the diagnosis is not
/// `ok`, resolved when it is.
pub fn payload(e: &Event) -> serde_json::Value {
    let status = if e.after.diagnosis == "ok" {
        "resolved"
    } else {
        "firing"
    };
    let time = rfc3339(e.time);
    let mut labels = serde_json::json!({
        "alertname": "ParallaxAnswerChanged",
        "target": e.target,
        "diagnosis": e.after.diagnosis,
        "dns": e.after.dns,
    });
    // The endpoint and VPC that answered, when known: routing and inhibition can use them.
    for (key, value) in [("endpoint", &e.endpoint), ("vpc", &e.vpc)] {
        if let Some(v) = value {
            labels[key] = serde_json::Value::from(v.as_str());
        }
    }
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
    serde_json::json!({
        "version": "4",
        "groupKey": format!("{{}}:{{target=\"{}\"}}", e.target),
        "status": status,
        "receiver": "parallax-watch",
        "groupLabels": { "target": e.target },
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "",
        "truncatedAlerts": 0,
        "alerts": [{
            "status": status,
            "labels": labels,
            "annotations": {
                "cause": e.cause,
                "before": e.before.as_ref().map(|b| format!("dns {}, front door {}, diagnosis {}", b.dns, b.front_door.as_deref().unwrap_or("-"), b.diagnosis)),
                "after": format!("dns {}, front door {}, diagnosis {}", e.after.dns, e.after.front_door.as_deref().unwrap_or("-"), e.after.diagnosis),
                "answered_by": e.endpoint.as_ref().map(|ep| format!("{ep} in {}", e.vpc.as_deref().unwrap_or("an unknown VPC"))),
                "account_changes": (!changes.is_empty()).then(|| changes.join("; ")),
                "unknown": (!e.unknown.is_empty()).then(|| e.unknown.join("; ")),
            },
            "startsAt": time,
            "endsAt": if status == "resolved" { time.clone() } else { "0001-01-01T00:00:00Z".to_owned() },
            "generatorURL": "",
            "fingerprint": "",
        }],
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
async fn post(url: &url::Url, body: &str, timeout: Duration) -> bool {
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
}
