//! What is recorded of one request once its response body has ended (or was dropped): the
//! JSON access-log line and the request's metrics.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parallax_model::{ErrorType, FrontDoor, VpceId};
use parallax_rules::decision::{ClientCert, Context};
use parallax_rules::refusal::Reject;

use crate::access_log::AccessLog;
use crate::context::{Conn, Ticket};
use crate::proxy::{BreakSlot, UpstreamBreak};

/// How a response body ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    Complete,
    /// The upstream broke off; the client's response was aborted.
    Upstream(UpstreamBreak),
    /// The client went away before the end.
    ClientGone,
}

/// What the access-log line needs, kept until the response body ends.
pub(crate) struct Finish {
    pub(crate) metrics: Option<Arc<crate::metrics::GatewayMetrics>>,
    pub(crate) log: Arc<dyn AccessLog>,
    pub(crate) conn: Arc<Conn>,
    pub(crate) request_id: String,
    pub(crate) host: String,
    pub(crate) method: String,
    pub(crate) raw_path: String,
    pub(crate) ctx: Context,
    pub(crate) status: u16,
    pub(crate) reject: Option<Reject>,
    pub(crate) started: Instant,
    pub(crate) upstream_latency: Option<Duration>,
    pub(crate) breaks: Option<BreakSlot>,
    /// HEAD, 204, 304: hyper sends no body and never polls it.
    pub(crate) bodyless: bool,
    pub(crate) _ticket: Ticket,
}

impl Finish {
    pub(crate) fn write(self, end: End) {
        self.log.line(access_line(&self, end));
        let Some(metrics) = &self.metrics else {
            return;
        };
        // The API and stage are labels only once the request reached a stage of a known API.
        let known = self.ctx.stage.is_some();
        metrics.request(&crate::metrics::RequestSample {
            door: &self.conn.door_name,
            api: self.ctx.api.as_ref().filter(|_| known).map(|a| a.as_str()),
            stage: self.ctx.stage.as_deref(),
            status: self.status,
            reject: self.reject.as_ref(),
            seconds: self.started.elapsed().as_secs_f64(),
            upstream_seconds: self.upstream_latency.map(|d| d.as_secs_f64()),
        });
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
    use std::fmt::Write as _;
    let mut o = String::with_capacity(640);
    // Milliseconds with three decimals, from whole microseconds (rounded to the nearest).
    let ms = |o: &mut String, d: Duration| {
        let us = (d.as_nanos() + 500) / 1000;
        let _ = write!(o, "{}.{:03}", us / 1000, us % 1000);
    };
    o.push_str("{\"time\":");
    let _ = write!(
        o,
        "{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    );
    field(&mut o, "requestId", Some(&f.request_id));
    field(&mut o, "door", Some(&conn.door_name));
    field(&mut o, "endpointId", endpoint.map(VpceId::as_str));
    field(&mut o, "clientIp", Some(&conn.peer_ip));
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
    let _ = write!(o, ",\"status\":{}", f.status);
    o.push_str(if end == End::Complete {
        ",\"responseComplete\":true"
    } else {
        ",\"responseComplete\":false"
    });
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
    o.push_str(",\"latencyMs\":");
    ms(&mut o, f.started.elapsed());
    match f.upstream_latency {
        Some(d) => {
            o.push_str(",\"upstreamLatencyMs\":");
            ms(&mut o, d);
            o.push('}');
        }
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
