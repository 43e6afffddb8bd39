//! What a lab run observed: one record per request, as text for people and JSON for machines.

use std::fmt::Write as _;
use std::net::SocketAddr;

use parallax_model::{DnsVerdict, Expectation, Outcome};
use serde::Serialize;

/// A lab run: each step with its changes and requests.
#[derive(Clone, Debug, Serialize)]
pub struct LabReport {
    /// The scenario's name.
    pub scenario: String,
    /// What it shows.
    pub description: String,
    /// The steps run.
    pub steps: Vec<StepReport>,
    /// How long the run took.
    pub elapsed_ms: f64,
}

/// One step of the run.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    /// Its name.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// The changes made, in words.
    pub changes: Vec<String>,
    /// The requests made.
    pub requests: Vec<RequestRecord>,
}

/// One request from one vantage point.
#[derive(Clone, Debug, Serialize)]
pub struct RequestRecord {
    /// The step it was made at.
    pub step: String,
    /// The vantage point it was made from.
    pub from: String,
    /// The resolver view the vantage point asks: `internet` or its VPC id.
    pub view: String,
    /// The loopback socket that played that resolver.
    pub resolver: Option<SocketAddr>,
    /// The method.
    pub method: String,
    /// The URL.
    pub url: String,
    /// The host called.
    pub host: String,
    /// What kind of DNS answer it got.
    pub verdict: DnsVerdict,
    /// Which part of the view answered (resolver rule, private zone, endpoint, public DNS).
    pub answered_by: String,
    /// The modelled address the request connected to, and the loopback socket that played it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected: Option<(SocketAddr, Option<SocketAddr>)>,
    /// The lab client certificate presented, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    /// The id of the API key sent (never its value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<String>,
    /// How many times it was sent.
    pub repeat: u32,
    /// The probe's diagnosis of the (last) request.
    pub diagnosis: parallax_probe::explain::Diagnosis,
    /// What `predict` said from the model alone (checked against `outcome`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted: Option<Outcome>,
    /// What the prediction had to assume.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prediction_notes: Vec<String>,
    /// What happened.
    pub outcome: Outcome,
    /// Why there is no answer, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the scenario expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expectation>,
    /// Every way the observation differs from the expectation or from the prediction.
    pub differences: Vec<String>,
    /// Expected fields the run could not observe (no HTTP exchange took place, for instance).
    pub unchecked: Vec<String>,
}

impl LabReport {
    /// Every request of every step, in order.
    pub fn requests(&self) -> impl Iterator<Item = &RequestRecord> {
        self.steps.iter().flat_map(|s| &s.requests)
    }

    /// True when nothing differed.
    pub fn passed(&self) -> bool {
        self.requests().all(|r| r.differences.is_empty())
    }

    /// One JSON record per request, one per line.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for r in self.requests() {
            // Serialising plain data with string keys cannot fail.
            if let Ok(line) = serde_json::to_string(r) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }

    /// The text people read.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let total = self.steps.len();
        let _ = writeln!(o, "scenario {}", self.scenario);
        if !self.description.is_empty() {
            let _ = writeln!(o, "  {}", wrap(&self.description, 92, "  "));
        }
        for (i, step) in self.steps.iter().enumerate() {
            let _ = writeln!(o, "\nstep {}/{total}: {}", i + 1, step.name);
            if !step.description.is_empty() {
                let _ = writeln!(o, "  {}", wrap(&step.description, 92, "  "));
            }
            for c in &step.changes {
                let _ = writeln!(o, "  change: {c}");
            }
            for r in &step.requests {
                request_text(&mut o, r);
            }
        }
        let n = self.requests().count();
        let bad = self
            .requests()
            .filter(|r| !r.differences.is_empty())
            .count();
        let _ = writeln!(
            o,
            "\n{n} requests in {total} steps: {} as expected, {bad} differ. {:.0} ms.",
            n - bad,
            self.elapsed_ms
        );
        o
    }
}

/// One request of a step: what was sent, the DNS answer, the door, the HTTP result, why, and
/// how it differs from what was expected.
fn request_text(o: &mut String, r: &RequestRecord) {
    let mark = if r.differences.is_empty() {
        "ok"
    } else {
        "DIFFERS"
    };
    let extras: Vec<String> = [
        r.api_key_id.as_ref().map(|k| format!("key {k}")),
        r.client_certificate.as_ref().map(|c| format!("cert {c}")),
        (r.repeat > 1).then(|| format!("x{}", r.repeat)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let extras = if extras.is_empty() {
        String::new()
    } else {
        format!(" ({})", extras.join(", "))
    };
    let _ = writeln!(
        o,
        "  {} ({}) {} {}{extras}",
        r.from, r.view, r.method, r.url
    );
    let via = r
        .outcome
        .dns
        .cname_path()
        .map(|c| format!(" via CNAME {c}"))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "    dns    {}{via} → {}",
        r.host,
        answer_text(&r.outcome.dns)
    );
    let _ = writeln!(o, "           {}: answered by {}", r.verdict, r.answered_by);
    if let Some(door) = &r.outcome.front_door {
        let addr = r
            .connected
            .map(|(a, _)| format!(" at {a}"))
            .unwrap_or_default();
        let _ = writeln!(o, "    door   {door}{addr}");
    }
    match &r.outcome.http {
        Some(h) => {
            let et = h
                .error_type
                .as_ref()
                .map(|e| format!(" {e}"))
                .unwrap_or_default();
            let _ = writeln!(o, "    http   {}{et}  [{mark}]", h.status);
        }
        None => {
            let _ = writeln!(o, "    http   no response  [{mark}]");
        }
    }
    if r.diagnosis.rule != parallax_probe::explain::Rule::Ok {
        let _ = writeln!(
            o,
            "    why    {}: {}",
            r.diagnosis.rule,
            wrap(&r.diagnosis.cause, 86, "           ")
        );
        if let Some(c) = &r.diagnosis.confirmation {
            let result = c
                .status
                .map(|s| s.to_string())
                .or_else(|| c.error.clone())
                .unwrap_or_else(|| "no answer".to_owned());
            let verdict = if c.confirmed {
                "confirmed"
            } else {
                "not confirmed"
            };
            let _ = writeln!(
                o,
                "    check  the same request pinned to {} (the {} answer): {result}, {verdict}",
                c.addr, c.resolver
            );
        }
    }
    for d in &r.differences {
        let _ = writeln!(o, "    DIFF   {d}");
    }
    if !r.unchecked.is_empty() {
        let _ = writeln!(
            o,
            "    note   expected {} not observed (no HTTP exchange)",
            r.unchecked.join(", ")
        );
    }
}

fn answer_text(dns: &parallax_model::DnsOutcome) -> String {
    if dns.addresses.is_empty() {
        return dns.rcode.to_string();
    }
    parallax_model::outcome::describe_addresses(&dns.addresses)
}

fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut col = 0;
    for word in text.split_whitespace() {
        if col > 0 && col + 1 + word.len() > width {
            out.push('\n');
            out.push_str(indent);
            col = 0;
        } else if col > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += word.len();
    }
    out
}
