//! What a probe's report becomes in Prometheus: blackbox_exporter's names, types and meanings
//! for its http prober (`probe_success`, `probe_duration_seconds`,
//! `probe_http_duration_seconds{phase}`, `probe_http_*`, `probe_ip_*`, `probe_ssl_*`,
//! `probe_tls_version_info`), and parallax's own: the DNS answer class, the diagnosis as a 0/1
//! gauge over the fixed set of rule ids, the endpoint that answered, answer changes and
//! confirmations. `probe_success` is whether the expectation held.
//!
//! Label values come from the configuration (the target's name), from fixed sets (phases,
//! classes, rule ids, TLS versions) and from the topology (endpoint, VPC); the one exception
//! is `probe_ssl_last_chain_info`, which names the served leaf certificate as blackbox_exporter
//! does: one series per target, each value cut at 256 characters.

use std::sync::atomic::AtomicU64;

use parallax_model::{DnsVerdict, Expectation};
use parallax_probe::explain::{Rule, Verdict};
use parallax_probe::report::ProbeReport;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A label set: `[("target", "orders"), ("phase", "tls")]`.
pub type Labels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// The TLS versions `probe_tls_version_info` names, as blackbox_exporter writes them.
const TLS_VERSIONS: [&str; 4] = ["TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"];
/// blackbox_exporter's HTTP phases.
const PHASES: [&str; 5] = ["resolve", "connect", "tls", "processing", "transfer"];

/// An info-style gauge with at most one series per target: `next` (its full label set) is set
/// to 1 and the target's previous series, if different, removed; `None` leaves none.
fn one_series(
    family: &Family<Labels, Gauge>,
    now: &mut std::collections::HashMap<Labels, Labels>,
    base: &Labels,
    next: Option<Labels>,
) {
    if let Some(old) = now.get(base)
        && Some(old) != next.as_ref()
    {
        family.remove(old);
    }
    match next {
        Some(l) => {
            family.get_or_create(&l).set(1);
            now.insert(base.clone(), l);
        }
        None => {
            now.remove(base);
        }
    }
}

/// HTTP's version as blackbox_exporter writes it: major + minor / 10 (1.1, 2).
fn http_version(v: &str) -> f64 {
    let v = v.trim_start_matches("HTTP/");
    match v {
        "2" | "2.0" | "h2" => 2.0,
        "3" | "3.0" | "h3" => 3.0,
        other => other.parse().unwrap_or(0.0),
    }
}

/// blackbox_exporter's `probe_ip_addr_hash`: FNV-1a (32 bits) over the address's bytes (4 for
/// IPv4, 16 for IPv6).
pub fn ip_hash(ip: std::net::IpAddr) -> f64 {
    let bytes: Vec<u8> = match ip {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    };
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    f64::from(h)
}

/// One registry and its families.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    success: Family<Labels, Gauge>,
    duration: Family<Labels, FloatGauge>,
    status: Family<Labels, Gauge>,
    dns_time: Family<Labels, FloatGauge>,
    cert_expiry: Family<Labels, FloatGauge>,
    tls_version: Family<Labels, Gauge>,
    answer_class: Family<Labels, Gauge>,
    diagnosis: Family<Labels, Gauge>,
    changes: Family<Labels, Counter>,
    confirmations: Family<Labels, Counter>,
    probes: Family<Labels, Counter>,
    webhook: crate::webhook::DeliveryMetrics,
    answered_by: Family<Labels, Gauge>,
    total: Family<Labels, FloatGauge>,
    content_length: Family<Labels, FloatGauge>,
    body_length: Family<Labels, FloatGauge>,
    redirects: Family<Labels, Gauge>,
    ssl: Family<Labels, Gauge>,
    http_version: Family<Labels, FloatGauge>,
    ip_protocol: Family<Labels, Gauge>,
    ip_hash: Family<Labels, FloatGauge>,
    last_chain_expiry: Family<Labels, FloatGauge>,
    last_chain_info: Family<Labels, Gauge>,
    failed_due_to_regex: Family<Labels, Gauge>,
    /// Each target's `probe_ssl_last_chain_info` labels now, so a new chain removes the old.
    chain_now: std::sync::Mutex<std::collections::HashMap<Labels, Labels>>,
    /// Each target's `answered_by` labels now, so a change removes the old series.
    answered_now: std::sync::Mutex<std::collections::HashMap<Labels, Labels>>,
    /// Each target's answer class and rule as its gauges show them.
    verdicts_now: std::sync::Mutex<std::collections::HashMap<Labels, (DnsVerdict, Rule)>>,
}

/// What one report says, in the terms the metrics and the events use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The kind of DNS answer.
    pub class: DnsVerdict,
    /// The front door reached.
    pub front_door: Option<String>,
    /// The diagnosis rule.
    pub rule: Rule,
    /// The HTTP status.
    pub status: Option<u16>,
    /// The expectation held (or there was none and the probe found nothing wrong).
    pub success: bool,
    /// Whether a pinned retry confirmed the diagnosis.
    pub confirmed: bool,
}

impl Summary {
    /// The summary of one probe, against its expectation.
    pub fn of(report: &ProbeReport, expect: Option<&Expectation>) -> Summary {
        let outcome = &report.observation.outcome;
        let success = match expect {
            Some(e) => e.differences(outcome).is_empty() && e.unchecked(outcome).is_empty(),
            None => report.diagnosis.verdict == Verdict::Ok,
        };
        Summary {
            class: outcome.dns.verdict(),
            front_door: outcome.front_door.as_ref().map(ToString::to_string),
            rule: report.diagnosis.rule,
            status: outcome.http.as_ref().map(|h| h.status),
            success,
            confirmed: report
                .diagnosis
                .confirmation
                .as_ref()
                .is_some_and(|c| c.confirmed),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            success: Family::default(),
            duration: Family::default(),
            status: Family::default(),
            dns_time: Family::default(),
            cert_expiry: Family::default(),
            tls_version: Family::default(),
            answer_class: Family::default(),
            diagnosis: Family::default(),
            changes: Family::default(),
            confirmations: Family::default(),
            probes: Family::default(),
            webhook: crate::webhook::DeliveryMetrics::default(),
            answered_by: Family::default(),
            total: Family::default(),
            content_length: Family::default(),
            body_length: Family::default(),
            redirects: Family::default(),
            ssl: Family::default(),
            http_version: Family::default(),
            ip_protocol: Family::default(),
            ip_hash: Family::default(),
            last_chain_expiry: Family::default(),
            last_chain_info: Family::default(),
            failed_due_to_regex: Family::default(),
            chain_now: std::sync::Mutex::default(),
            answered_now: std::sync::Mutex::default(),
            verdicts_now: std::sync::Mutex::default(),
            registry: Registry::default(),
        };
        registry.register(
            "probe_success",
            "Whether the probe succeeded (the expectation held)",
            m.success.clone(),
        );
        // blackbox_exporter's names, types and meanings (its http prober and its handler).
        registry.register(
            "probe_duration_seconds",
            "Returns how long the probe took to complete in seconds",
            m.total.clone(),
        );
        registry.register(
            "probe_http_duration_seconds",
            "Duration of http request by phase, summed over all redirects",
            m.duration.clone(),
        );
        registry.register(
            "probe_http_content_length",
            "Length of http content response (-1: not given)",
            m.content_length.clone(),
        );
        registry.register(
            "probe_http_uncompressed_body_length",
            "Length of uncompressed response body",
            m.body_length.clone(),
        );
        registry.register(
            "probe_http_redirects",
            "The number of redirects",
            m.redirects.clone(),
        );
        registry.register(
            "probe_http_ssl",
            "Indicates if SSL was used for the final redirect",
            m.ssl.clone(),
        );
        registry.register(
            "probe_http_version",
            "Returns the version of HTTP of the probe response",
            m.http_version.clone(),
        );
        registry.register(
            "probe_ip_protocol",
            "Specifies whether probe ip protocol is IP4 or IP6",
            m.ip_protocol.clone(),
        );
        registry.register(
            "probe_ip_addr_hash",
            "Specifies the hash of IP address. It's useful to detect if the IP address changes.",
            m.ip_hash.clone(),
        );
        registry.register(
            "probe_ssl_last_chain_info",
            "Contains SSL leaf certificate information",
            m.last_chain_info.clone(),
        );
        registry.register(
            "probe_failed_due_to_regex",
            "Indicates if probe failed due to regex",
            m.failed_due_to_regex.clone(),
        );
        registry.register(
            "probe_ssl_last_chain_expiry_timestamp_seconds",
            "Returns last SSL chain expiry in timestamp",
            m.last_chain_expiry.clone(),
        );
        registry.register(
            "probe_http_status_code",
            "Response HTTP status code (0: none)",
            m.status.clone(),
        );
        registry.register(
            "probe_dns_lookup_time_seconds",
            "Returns the time taken for probe dns lookup in seconds",
            m.dns_time.clone(),
        );
        registry.register(
            "probe_ssl_earliest_cert_expiry",
            "Returns last SSL chain expiry in unixtime",
            m.cert_expiry.clone(),
        );
        registry.register(
            "probe_tls_version_info",
            "Returns the TLS version used, or NaN when unknown",
            m.tls_version.clone(),
        );
        registry.register(
            "parallax_dns_answer_class",
            "The class of the DNS answer on the resolver path (1 for the current one)",
            m.answer_class.clone(),
        );
        registry.register(
            "parallax_diagnosis",
            "The diagnosis rule of the last probe (1 for the current one)",
            m.diagnosis.clone(),
        );
        registry.register(
            "parallax_answer_changes",
            "Changes of the answer class, front door or diagnosis",
            m.changes.clone(),
        );
        registry.register(
            "parallax_confirmations",
            "Diagnoses confirmed by a pinned retry to a public answer",
            m.confirmations.clone(),
        );
        registry.register("parallax_probes", "Probes run", m.probes.clone());
        registry.register(
            "parallax_webhook_deliveries",
            "Events by receiver and by what became of them (sent, failed, dropped)",
            m.webhook.deliveries.clone(),
        );
        registry.register(
            "parallax_webhook_queue_depth",
            "Events waiting in a receiver's queue",
            m.webhook.depth.clone(),
        );
        registry.register(
            "parallax_webhook_delivery_seconds",
            "From an event's enqueueing to the receiver's answer",
            m.webhook.latency.clone(),
        );
        registry.register(
            "parallax_answered_by",
            "The interface endpoint and VPC whose address answered the target's name (1), when a topology knows it",
            m.answered_by.clone(),
        );
        Metrics { registry, ..m }
    }

    /// A probe that did not end in time: `probe_success 0` and how long it was given.
    pub fn timed_out(&self, base: &Labels, secs: f64) {
        self.success.get_or_create(base).set(0);
        self.total.get_or_create(base).set(secs);
        self.probes.get_or_create(base).inc();
    }

    /// `probe_ssl_last_chain_info` for the leaf, as blackbox_exporter labels it; one series per
    /// target (a new certificate replaces the old series).
    fn chain_info(&self, base: &Labels, leaf: Option<&parallax_probe::observation::CertInfo>) {
        let Ok(mut now) = self.chain_now.lock() else {
            return;
        };
        let next = leaf.map(|c| {
            let mut l = base.clone();
            // What the server sent: bounded, one series per target.
            let cut = |v: String| v.chars().take(256).collect::<String>();
            l.push((
                "fingerprint_sha256".to_owned(),
                c.fingerprint_sha256.clone(),
            ));
            l.push(("subject".to_owned(), cut(c.subject.clone())));
            l.push(("issuer".to_owned(), cut(c.issuer.clone())));
            l.push(("subjectalternative".to_owned(), cut(c.san.join(","))));
            let serial = c.serial.to_ascii_lowercase().replace(':', "");
            l.push(("serialnumber".to_owned(), cut(serial)));
            l
        });
        one_series(&self.last_chain_info, &mut now, base, next);
    }

    /// The endpoint and VPC whose address answered `base`'s name, or none: one series per
    /// target at most (the previous one is removed), values from the topology only.
    pub fn answered(&self, base: &Labels, by: Option<(&str, &str)>) {
        let Ok(mut now) = self.answered_now.lock() else {
            return;
        };
        let next = by.map(|(endpoint, vpc)| {
            let mut l = base.clone();
            l.push(("endpoint".to_owned(), endpoint.to_owned()));
            l.push(("vpc".to_owned(), vpc.to_owned()));
            l
        });
        one_series(&self.answered_by, &mut now, base, next);
    }

    /// Records one report under `base` labels (`[("target", name)]`, or none for `/probe`).
    pub fn record(&self, base: &Labels, report: &ProbeReport, summary: &Summary, changed: bool) {
        let with = |k: &str, v: &str| -> Labels {
            let mut l = base.clone();
            l.push((k.to_owned(), v.to_owned()));
            l
        };
        let obs = &report.observation;
        self.success
            .get_or_create(base)
            .set(i64::from(summary.success));
        let secs = |ms: f64| ms / 1000.0;
        let http = obs.http.as_ref();
        let first_byte = http.and_then(|h| h.first_byte_ms).unwrap_or(0.0);
        let phases = [
            secs(obs.dns.path.elapsed_ms),
            secs(obs.connect.as_ref().map_or(0.0, |c| c.elapsed_ms)),
            secs(obs.tls.as_ref().map_or(0.0, |t| t.elapsed_ms)),
            secs(first_byte),
            secs(http.map_or(0.0, |h| (h.elapsed_ms - first_byte).max(0.0))),
        ];
        for (phase, v) in PHASES.iter().zip(phases) {
            self.duration.get_or_create(&with("phase", phase)).set(v);
        }
        self.total.get_or_create(base).set(secs(obs.total_ms));
        // No body or header regular expressions are configured: nothing fails for one.
        self.failed_due_to_regex.get_or_create(base).set(0);
        self.chain_info(base, obs.tls.as_ref().and_then(|t| t.chain.first()));
        // As blackbox_exporter (Go's Response.ContentLength): the header's value, -1 for a
        // response without one, 0 when no response came.
        let content_length = match http.filter(|h| h.status.is_some()) {
            None => 0.0,
            Some(h) => h
                .all_headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<f64>().ok())
                .unwrap_or(-1.0),
        };
        self.content_length.get_or_create(base).set(content_length);
        self.body_length
            .get_or_create(base)
            .set(http.map_or(0.0, |h| h.size_download as f64));
        self.redirects
            .get_or_create(base)
            .set(i64::try_from(report.redirects.len()).unwrap_or(i64::MAX));
        self.ssl.get_or_create(base).set(i64::from(
            obs.tls.is_some() && http.is_some_and(|h| h.status.is_some()),
        ));
        self.http_version.get_or_create(base).set(
            http.and_then(|h| h.version.as_deref())
                .map_or(0.0, http_version),
        );
        match obs.connect.as_ref().map(|c| c.addr.ip()) {
            Some(ip) => {
                self.ip_protocol
                    .get_or_create(base)
                    .set(if ip.is_ipv4() { 4 } else { 6 });
                self.ip_hash.get_or_create(base).set(ip_hash(ip));
            }
            None => {
                self.ip_protocol.get_or_create(base).set(0);
                self.ip_hash.remove(base);
            }
        }
        self.status
            .get_or_create(base)
            .set(i64::from(summary.status.unwrap_or(0)));
        self.dns_time
            .get_or_create(base)
            .set(secs(obs.dns.path.elapsed_ms));
        let expiry = obs
            .tls
            .as_ref()
            .and_then(|t| t.chain.iter().filter_map(|c| c.not_after_unix).min());
        match expiry {
            Some(e) => {
                self.cert_expiry.get_or_create(base).set(e as f64);
                // One chain is verified, so its earliest expiry is also the last chain's.
                self.last_chain_expiry.get_or_create(base).set(e as f64);
            }
            None => {
                self.cert_expiry.remove(base);
                self.last_chain_expiry.remove(base);
            }
        }
        let version = obs
            .tls
            .as_ref()
            .and_then(|t| t.version.as_deref())
            .map(|v| v.replace("TLSv", "TLS "));
        for v in TLS_VERSIONS {
            let on = version.as_deref() == Some(v);
            if on {
                self.tls_version.get_or_create(&with("version", v)).set(1);
            } else {
                self.tls_version.remove(&with("version", v));
            }
        }
        // The class and rule gauges (one series per class and rule id) are written whole when
        // a target's class or rule changes, and left as they are while it holds (most probes of
        // a watch: some forty label sets a probe otherwise).
        let now = (summary.class, summary.rule);
        let same = self
            .verdicts_now
            .lock()
            .map(|mut m| m.insert(base.clone(), now) == Some(now))
            .unwrap_or(false);
        if !same {
            for c in DnsVerdict::ALL {
                self.answer_class
                    .get_or_create(&with("class", &c.to_string()))
                    .set(i64::from(c == summary.class));
            }
            for r in Rule::ALL {
                self.diagnosis
                    .get_or_create(&with("rule", r.as_str()))
                    .set(i64::from(r == summary.rule));
            }
        }
        self.probes.get_or_create(base).inc();
        if changed {
            self.changes.get_or_create(base).inc();
        }
        if summary.confirmed {
            self.confirmations.get_or_create(base).inc();
        }
    }

    /// blackbox_exporter's verdict on an http probe: `probe_success` by its rules (statuses,
    /// versions, TLS, expressions) and `probe_failed_due_to_regex`.
    pub fn judged(
        &self,
        base: &Labels,
        success: bool,
        failed_due_to_regex: bool,
        redirects: Option<i64>,
    ) {
        if let Some(r) = redirects {
            self.redirects.get_or_create(base).set(r);
        }
        self.success.get_or_create(base).set(i64::from(success));
        self.failed_due_to_regex
            .get_or_create(base)
            .set(i64::from(failed_due_to_regex));
    }

    /// The delivery metrics' families, for the receivers' senders to update.
    pub fn deliveries(&self) -> crate::webhook::DeliveryMetrics {
        self.webhook.clone()
    }

    /// The registry in the classic text format (0.0.4) that `promtool check metrics` and older
    /// scrapers read: counters named with `_total` in HELP and TYPE, no `# EOF`.
    pub fn encode_text(&self) -> String {
        to_text_format(&self.encode())
    }

    /// The registry in Prometheus's text exposition format (OpenMetrics 1.0).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

pub use parallax_model::exposition::to_text_format;
