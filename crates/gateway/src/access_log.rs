//! The access log: one JSON line per request, written off the request path through a bounded
//! queue that drops and counts when the output stalls.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parallax_model::{ErrorType, FrontDoor, VpceId};

use crate::reject::Reject;
use crate::response::{End, Finish};
use crate::tables::ClientCert;

/// Receives one JSON line per request.
pub trait AccessLog: Send + Sync {
    fn line(&self, line: &str);
    /// Lines dropped because the writer could not keep up (see [`StderrLog`]).
    fn dropped(&self) -> u64 {
        0
    }
    /// Writes out what is queued, waiting at most `timeout`.
    fn flush(&self, _timeout: Duration) {}
}

/// How many lines [`StderrLog`] queues before it drops (about 8 MB of typical lines).
pub const ACCESS_LOG_QUEUE: usize = 16 * 1024;

enum LogMsg {
    Line(String),
    Flush(std::sync::mpsc::Sender<()>),
}

/// Writes access-log lines to standard error from a thread of its own: the request path only
/// puts the line on a bounded queue, and never waits on the terminal or takes the stderr lock.
/// When stderr stalls and the queue is full, lines are dropped and counted, never buffered
/// without bound: the count is [`AccessLog::dropped`], and a warning names it every 10 s.
#[derive(Debug)]
pub struct StderrLog {
    tx: std::sync::mpsc::SyncSender<LogMsg>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for LogMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogMsg")
    }
}

impl StderrLog {
    pub fn new() -> StderrLog {
        StderrLog::with_writer(ACCESS_LOG_QUEUE, Box::new(std::io::stderr()))
    }

    /// A log writing to `out` through a queue of `capacity` lines.
    pub fn with_writer(capacity: usize, out: Box<dyn std::io::Write + Send>) -> StderrLog {
        use std::sync::atomic::Ordering;
        let (tx, rx) = std::sync::mpsc::sync_channel::<LogMsg>(capacity.max(1));
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = dropped.clone();
        // If the thread cannot start, lines are dropped (and counted) rather than requests failed.
        let _ = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || {
                use std::io::Write;
                let mut out = std::io::BufWriter::with_capacity(256 * 1024, out);
                let mut warned_at = (Instant::now(), 0u64);
                // The writer wakes on its own clock and drains what is queued: a sender never has
                // to wake it (a wake-up per request cost a third of the gateway's CPU under load).
                loop {
                    let mut wrote = false;
                    loop {
                        match rx.try_recv() {
                            Ok(LogMsg::Line(line)) => {
                                let _ = writeln!(out, "{line}");
                                wrote = true;
                            }
                            Ok(LogMsg::Flush(ack)) => {
                                let _ = out.flush();
                                let _ = ack.send(());
                            }
                            Err(std::sync::mpsc::TryRecvError::Empty) => break,
                            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                                let _ = out.flush();
                                return;
                            }
                        }
                    }
                    if wrote {
                        let _ = out.flush();
                    }
                    let now_dropped = counted.load(Ordering::Relaxed);
                    if now_dropped > warned_at.1 && warned_at.0.elapsed() >= Duration::from_secs(10)
                    {
                        tracing::warn!(
                            dropped = now_dropped - warned_at.1,
                            total = now_dropped,
                            "access log: lines dropped because the log output is too slow"
                        );
                        warned_at = (Instant::now(), now_dropped);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        StderrLog { tx, dropped }
    }
}

impl Default for StderrLog {
    fn default() -> Self {
        StderrLog::new()
    }
}

impl AccessLog for StderrLog {
    fn line(&self, line: &str) {
        if self.tx.try_send(LogMsg::Line(line.to_owned())).is_err() {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn flush(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let (ack, acked) = std::sync::mpsc::channel();
        let mut msg = LogMsg::Flush(ack);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(std::sync::mpsc::TrySendError::Full(m)) if Instant::now() < deadline => {
                    msg = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return,
            }
        }
        let _ = acked.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

/// Keeps access-log lines in memory (tests, the lab).
#[derive(Debug, Default)]
pub struct MemoryLog(pub Mutex<Vec<String>>);

impl AccessLog for MemoryLog {
    fn line(&self, line: &str) {
        if let Ok(mut v) = self.0.lock() {
            v.push(line.to_owned());
        }
    }
}

pub(crate) fn access_line(f: &Finish, end: End) -> String {
    let conn = &f.conn;
    let ctx = &f.ctx;
    let (subject, serial) = match &conn.client_cert {
        ClientCert::Valid { subject, serial } => (Some(subject.as_str()), Some(serial.as_str())),
        _ => (None, None),
    };
    let cert_error = match &conn.client_cert {
        ClientCert::Invalid(why) => Some(why.to_string()),
        ClientCert::Missing => Some("no client certificate".to_owned()),
        _ => None,
    };
    let endpoint: Option<&VpceId> = match &conn.door {
        FrontDoor::VpcEndpoint(id) => Some(id),
        _ => None,
    };
    let response_error = match end {
        End::Complete => None,
        End::ClientGone => Some("the client went away before the response ended"),
        End::Upstream(b) => Some(b.describe()),
    };
    // Written field by field: building a serde_json Value per request showed up in the profile.
    let mut o = String::with_capacity(512);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    o.push_str("{\"time\":");
    o.push_str(
        &SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
            .to_string(),
    );
    field(&mut o, "requestId", Some(&f.request_id));
    field(&mut o, "door", Some(&conn.door_name));
    field(&mut o, "endpointId", endpoint.map(VpceId::as_str));
    field(&mut o, "clientIp", Some(&conn.peer.ip().to_string()));
    field(&mut o, "sni", conn.sni.as_deref());
    field(&mut o, "clientCertSubject", subject);
    field(&mut o, "clientCertSerial", serial);
    field(&mut o, "clientCertError", cert_error.as_deref());
    field(&mut o, "protocol", Some(conn.protocol));
    field(&mut o, "host", Some(&f.host));
    field(&mut o, "apiId", ctx.api.as_ref().map(|a| a.as_str()));
    field(&mut o, "stage", ctx.stage.as_deref());
    field(&mut o, "resourcePath", ctx.resource.as_deref());
    field(&mut o, "method", Some(&f.method));
    field(&mut o, "path", ctx.path.as_deref());
    field(&mut o, "rawPath", Some(&f.raw_path));
    field(&mut o, "resourceArn", ctx.arn.as_deref());
    o.push_str(&format!(",\"status\":{}", f.status));
    o.push_str(&format!(",\"responseComplete\":{}", end == End::Complete));
    field(&mut o, "responseError", response_error);
    field(
        &mut o,
        "errorType",
        f.reject
            .as_ref()
            .and_then(Reject::error_type)
            .as_ref()
            .map(ErrorType::as_str),
    );
    field(
        &mut o,
        "reason",
        f.reject.as_ref().map(ToString::to_string).as_deref(),
    );
    field(&mut o, "apiKeyId", ctx.key_id.as_deref());
    o.push_str(&format!(",\"latencyMs\":{:.3}", ms(f.started.elapsed())));
    match f.upstream_latency {
        Some(d) => o.push_str(&format!(",\"upstreamLatencyMs\":{:.3}}}", ms(d))),
        None => o.push_str(",\"upstreamLatencyMs\":null}"),
    }
    o
}

/// `,"name":"value"` (JSON-escaped) or `,"name":null`.
pub(crate) fn field(o: &mut String, name: &str, value: Option<&str>) {
    o.push_str(",\"");
    o.push_str(name);
    o.push_str("\":");
    let Some(v) = value else {
        o.push_str("null");
        return;
    };
    o.push('"');
    if !v.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        o.push_str(v);
        o.push('"');
        return;
    }
    for c in v.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_fields_are_json_escaped() {
        let mut o = String::from("{\"a\":1");
        field(&mut o, "host", Some("x\"y\\z\n\u{1}é"));
        field(&mut o, "none", None);
        o.push('}');
        let v: serde_json::Value = serde_json::from_str(&o).unwrap();
        assert_eq!(v["host"], "x\"y\\z\n\u{1}é");
        assert!(v["none"].is_null());
    }
}
