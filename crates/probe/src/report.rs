//! The probe's report: the observation, the diagnosis, the exit code; as text for people and
//! as JSON (schema `parallax.probe/v1`, `schemas/probe-report.v1.json`) for machines.

use std::fmt::Write as _;

use parallax_model::Topology;
use serde::Serialize;

use crate::explain::{self, Diagnosis, Verdict};
use crate::ladder;
use crate::observation::{DnsAnswer, Observation};
use crate::options::ProbeOptions;

/// The `schema` of the JSON report.
pub const SCHEMA: &str = "parallax.probe/v1";

/// One redirect followed with `-L`.
#[derive(Clone, Debug, Serialize)]
pub struct Hop {
    /// The URL of this hop.
    pub url: String,
    /// Its status.
    pub status: u16,
    /// The next URL, the `Location` resolved against this one.
    pub location: String,
    /// Its heads as they came (`-D`); not in the JSON report.
    #[serde(skip)]
    pub head: Vec<u8>,
}

/// The whole probe: redirects followed, the last observation, the diagnosis, the exit code.
#[derive(Clone, Debug, Serialize)]
pub struct ProbeReport {
    /// The report's schema name.
    pub schema: &'static str,
    /// The redirects followed (`-L`), in order; the observation is the last request's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<Hop>,
    /// `-L` stopped at `--max-redirs`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub too_many_redirects: bool,
    /// Where a 3xx's `Location` points, resolved (curl's `%{redirect_url}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// The last URL as curl writes it (`%{url_effective}`); not in the report: it may hold a
    /// password from the URL.
    #[serde(skip)]
    pub url_effective: String,
    /// The first URL, as given (`%{url}`).
    #[serde(skip)]
    pub url_first: String,
    /// Where `-o` wrote the body (`%{filename_effective}`).
    #[serde(skip)]
    pub filename_effective: Option<String>,
    /// What the last request saw.
    pub observation: Observation,
    /// What it means.
    pub diagnosis: Diagnosis,
    /// `--expect STATUS`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_status: Option<u16>,
    /// The exit code (see the explain module).
    pub exit_code: u8,
}

/// The front door the request reached: the topology's door for the address connected to, else
/// what the names say. An edge-optimized API or custom domain answers through a CloudFront name
/// (`*.cloudfront.net` in the CNAME chain); any other public answer for an execute-api name (the
/// default one, or a custom domain's `d-….execute-api…` target) is the Regional door. A private
/// answer is some interface endpoint's, and only a topology says whose: `None`.
fn front_door(
    obs: &Observation,
    opts: &ProbeOptions,
    topology: Option<&Topology>,
) -> Option<parallax_model::FrontDoor> {
    use parallax_model::FrontDoor;
    let ip = obs.connected_ip()?;
    let modelled = topology.map(|t| t.door_of(ip));
    if let Some(door) = modelled.clone().filter(|d| *d != FrontDoor::None) {
        return Some(door);
    }
    // A topology that knows no door at this address says so, unless the names do.
    by_name(obs, opts, ip).or(modelled)
}

fn by_name(
    obs: &Observation,
    opts: &ProbeOptions,
    ip: std::net::IpAddr,
) -> Option<parallax_model::FrontDoor> {
    use parallax_model::FrontDoor;
    let mut names: Vec<String> = obs
        .dns
        .path
        .outcome
        .cname_chain
        .iter()
        .map(ToString::to_string)
        .collect();
    names.push(opts.url.host_str());
    let ends = |n: &str, suffix: &str| n.trim_end_matches('.').ends_with(suffix);
    if names.iter().any(|n| ends(n, ".cloudfront.net")) {
        return Some(FrontDoor::Edge);
    }
    if !parallax_model::address::classify(ip).is_public() {
        return None;
    }
    names
        .iter()
        .any(|n| n.contains(".execute-api.") && ends(n, ".amazonaws.com"))
        .then_some(FrontDoor::Regional)
}

/// Runs the probe: the ladder, the rules, the confirmation, the expectation.
pub async fn probe(
    opts: &ProbeOptions,
    topology: Option<&Topology>,
    expect: Option<u16>,
) -> ProbeReport {
    let mut current = opts.clone();
    let mut redirects = Vec::new();
    let mut too_many_redirects = false;
    let (mut observation, redirect_url) = loop {
        let observation = ladder::run(&current, None).await;
        keep_cookies(&current, &observation);
        let next = redirect_target(&current, &observation);
        let Some((status, next_url)) = next else {
            break (observation, None);
        };
        if !opts.follow {
            break (observation, Some(next_url.to_string()));
        }
        if redirects.len() >= opts.max_redirs {
            too_many_redirects = true;
            break (observation, Some(next_url.to_string()));
        }
        let head = observation
            .http
            .as_ref()
            .map(|h| h.raw_head.clone())
            .unwrap_or_default();
        if current.include_headers {
            current.head_prefix.extend_from_slice(&head);
        }
        redirects.push(Hop {
            url: current.url.to_string(),
            status,
            location: next_url.to_string(),
            head,
        });
        follow(&mut current, status, next_url);
    };
    if let Some(ranges) = &opts.ip_ranges {
        let name = |a: &mut crate::observation::DnsAnswer| {
            a.aws = a
                .outcome
                .addresses
                .iter()
                .map(|ip| {
                    ranges
                        .owner(*ip)
                        .map_or_else(|| "not AWS".to_owned(), |o| o.to_string())
                })
                .collect();
        };
        name(&mut observation.dns.path);
        observation.dns.compare.iter_mut().for_each(name);
    }
    observation.outcome.front_door = front_door(&observation, &current, topology);
    let mut diagnosis = explain::explain(&observation, &current, topology);
    explain::confirm(&mut diagnosis, &observation, &current).await;
    for h in &redirects {
        diagnosis
            .evidence
            .push(format!("redirect: {} {} → {}", h.status, h.url, h.location));
    }
    if too_many_redirects {
        diagnosis.evidence.push(format!(
            "stopped after {} redirects (--max-redirs)",
            redirects.len()
        ));
    }
    let status = observation.http.as_ref().and_then(|h| h.status);
    let exit_code = match (expect, status) {
        (Some(want), Some(got)) if want == got => 0,
        (Some(want), got) => {
            let came = got.map_or("no response".to_owned(), |s| s.to_string());
            // A mismatch is never "OK": the diagnosis says what was expected and what came.
            if diagnosis.verdict == Verdict::Ok {
                diagnosis.verdict = Verdict::HttpError;
                diagnosis.rule = explain::Rule::UnexpectedStatus;
                diagnosis.cause = format!("expected status {want}, got {came}");
                diagnosis.fixes.clear();
            } else {
                diagnosis
                    .evidence
                    .push(format!("expected status {want}, got {came}"));
            }
            diagnosis.verdict.exit_code()
        }
        (None, _) => diagnosis.verdict.exit_code(),
    };
    ProbeReport {
        schema: SCHEMA,
        redirects,
        too_many_redirects,
        redirect_url,
        url_effective: current.url.given.clone(),
        url_first: opts.url.given.clone(),
        filename_effective: match &opts.output {
            Some(crate::options::Output::File(p)) => Some(p.display().to_string()),
            _ => None,
        },
        observation,
        diagnosis,
        expected_status: expect,
        exit_code,
    }
}

/// The URL a 3xx answer points to (301, 302, 303, 307, 308 with a `Location`), resolved
/// against the request's URL as curl resolves it.
fn redirect_target(opts: &ProbeOptions, obs: &Observation) -> Option<(u16, crate::url::ProbeUrl)> {
    let h = obs.http.as_ref()?;
    let status = h
        .status
        .filter(|s| matches!(s, 301 | 302 | 303 | 307 | 308))?;
    let location = h
        .all_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.trim())?;
    let base = url::Url::parse(&opts.url.to_string()).ok()?;
    let joined = base.join(location).ok()?;
    crate::url::ProbeUrl::parse(joined.as_str())
        .ok()
        .map(|u| (status, u))
}

/// The next request of `-L`, as curl 7.88 makes it: a POST (`-d`, `-F`) becomes a GET without
/// its body on a 301 or 302 unless `--post301`/`--post302`; on a 303 anything but a GET or HEAD
/// does, unless it is a POST and `--post303`. A method given with `-X` is sent on every hop
/// all the same (only the body goes). Credentials are not sent to another host.
fn follow(opts: &mut ProbeOptions, status: u16, next: crate::url::ProbeUrl) {
    use crate::options::RequestKind as K;
    let post = matches!(opts.request_kind, K::Post | K::PostForm);
    let to_get = match status {
        301 => post && !opts.keep_post[0],
        302 => post && !opts.keep_post[1],
        303 => !(matches!(opts.request_kind, K::Get | K::Head) || (post && opts.keep_post[2])),
        _ => false,
    };
    if to_get {
        opts.request_kind = K::Get;
        if !opts.custom_method {
            opts.method = "GET".to_owned();
        }
        opts.body.clear();
        opts.body_headers.clear();
        opts.chunked = false;
    }
    let other_host = next.host != opts.url.host || next.port != opts.url.port;
    if other_host {
        opts.basic_auth = None;
        opts.headers.retain(|(k, _)| {
            !k.eq_ignore_ascii_case("authorization") && !k.eq_ignore_ascii_case("cookie")
        });
    }
    opts.url = next;
}

/// Keeps the `Set-Cookie` answers of a hop in the cookie engine, when it runs.
fn keep_cookies(opts: &ProbeOptions, obs: &Observation) {
    let (Some(jar), Some(h)) = (&opts.cookies, &obs.http) else {
        return;
    };
    if let Ok(mut jar) = jar.lock() {
        for (_, v) in h
            .all_headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        {
            jar.receive(
                &opts.url.host_str(),
                &opts.url.path,
                crate::cookies::secure_context(opts.url.https, &opts.url.host_str()),
                v,
            );
        }
    }
}

/// `--retry` and its kin, as curl reads them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Retry {
    /// How many times at most.
    pub times: u32,
    /// A fixed wait; `None`: 1 s, doubling (up to 10 minutes).
    pub delay: Option<std::time::Duration>,
    /// No retry starts after this much time since the first try.
    pub max_time: Option<std::time::Duration>,
    /// A refused connection is transient too (`--retry-connrefused`).
    pub connrefused: bool,
    /// Every failure is transient (`--retry-all-errors`).
    pub all_errors: bool,
}

/// Why curl tries again (its `RETRY_*` kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transient {
    /// A timeout, or a name (or the proxy's) that did not resolve.
    Timeout,
    /// A refused connection, with `--retry-connrefused`.
    ConnectionRefused,
    /// HTTP 408, 429, 500, 502, 503 or 504.
    Http,
    /// Anything, with `--retry-all-errors`.
    AllErrors,
}

impl Transient {
    /// curl's words for it, as its warning puts them after "Problem".
    fn words(self) -> &'static str {
        match self {
            Transient::Timeout => ": timeout",
            Transient::ConnectionRefused => ": connection refused",
            Transient::Http => ": HTTP error",
            Transient::AllErrors => "(retrying all errors)",
        }
    }
}

/// Why curl would try again, or `None`.
fn transient(r: &ProbeReport, retry: &Retry, fail: bool) -> Option<Transient> {
    let (code, _) = crate::writeout::curl_exit_of(r, fail);
    let status = r.observation.http.as_ref().and_then(|h| h.status);
    match code {
        28 | 6 | 5 => Some(Transient::Timeout),
        7 if retry.connrefused
            && r.observation.connect.as_ref().and_then(|c| c.failure)
                == Some(crate::failure::ConnectFailure::Refused) =>
        {
            Some(Transient::ConnectionRefused)
        }
        0 | 22 if status.is_some_and(|s| matches!(s, 408 | 429 | 500 | 502 | 503 | 504)) => {
            Some(Transient::Http)
        }
        0 => None,
        _ if retry.all_errors => Some(Transient::AllErrors),
        _ => None,
    }
}

/// The seconds a `Retry-After` asks for (a number, or an HTTP date from now).
fn retry_after(r: &ProbeReport) -> Option<u64> {
    let v = r
        .observation
        .http
        .as_ref()?
        .all_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))?
        .1
        .trim()
        .to_owned();
    if let Ok(n) = v.parse::<u64>() {
        return Some(n);
    }
    let when = httpdate::parse_http_date(&v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .map_or(0, |d| d.as_secs()),
    )
}

/// [`probe`], tried again as `curl --retry` does on a transient failure: each retry's warning
/// goes to `warn` (curl's words), and the last try's report is returned.
pub async fn probe_with_retry(
    opts: &ProbeOptions,
    topology: Option<&Topology>,
    expect: Option<u16>,
    retry: &Retry,
    warn: &dyn Fn(&str),
) -> ProbeReport {
    let start = std::time::Instant::now();
    let mut left = retry.times;
    let mut sleep = retry.delay.unwrap_or(std::time::Duration::from_secs(1));
    loop {
        let report = probe(opts, topology, expect).await;
        let Some(why) = (left > 0)
            .then(|| transient(&report, retry, opts.fail_on_http_error))
            .flatten()
        else {
            return report;
        };
        if retry.max_time.is_some_and(|m| start.elapsed() >= m) {
            return report;
        }
        let mut wait = sleep;
        if why == Transient::Http
            && let Some(after) = retry_after(&report).filter(|a| *a > 0)
        {
            wait = std::time::Duration::from_secs(after);
            if retry.max_time.is_some_and(|m| start.elapsed() + wait > m) {
                return report;
            }
        }
        warn(&format!(
            "Problem {}. Will retry in {} seconds. {left} retries left.",
            why.words(),
            wait.as_secs()
        ));
        left -= 1;
        if retry.delay.is_none() {
            sleep = (sleep * 2).min(std::time::Duration::from_secs(600));
        }
        tokio::time::sleep(wait).await;
    }
}

impl ProbeReport {
    /// Every hop's heads as they came, in order (curl's `-D`).
    pub fn heads(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.redirects.iter().flat_map(|h| h.head.clone()).collect();
        if let Some(h) = &self.observation.http {
            out.extend_from_slice(&h.raw_head);
        }
        out
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report people read. No colour: it reads the same in a terminal, a CI log or a ticket.
    pub fn to_text(&self) -> String {
        let o = &self.observation;
        let mut t = String::new();
        for h in &self.redirects {
            let _ = writeln!(t, "redirect {} {} → {}", h.status, h.url, h.location);
        }
        let _ = writeln!(t, "parallax probe {} {}", o.method, o.url);
        for (k, v) in &o.request_headers {
            let _ = writeln!(t, "  request  {k}: {v}");
        }
        let _ = writeln!(t, "  dns      {}", dns_text(&o.dns.path));
        for c in &o.dns.compare {
            let differs = if c.outcome.addresses == o.dns.path.outcome.addresses
                && c.outcome.rcode == o.dns.path.outcome.rcode
            {
                ""
            } else {
                "   <- differs"
            };
            let _ = writeln!(t, "  compare  {}{differs}", dns_text(c));
        }
        if let Some(c) = &o.connect {
            let via = c.via.map(|v| format!(" via {v}")).unwrap_or_default();
            match &c.failure {
                None => {
                    let _ = writeln!(t, "  connect  {}{via} in {:.1} ms", c.addr, c.elapsed_ms);
                }
                Some(f) => {
                    let _ = writeln!(
                        t,
                        "  connect  {}{via} FAILED ({f}): {}",
                        c.addr,
                        c.error.clone().unwrap_or_default()
                    );
                }
            }
        }
        if let Some(p) = &o.proxy {
            let result = match (&p.error, p.connect_status) {
                (Some(e), _) => format!(" FAILED: {e}"),
                (None, Some(s)) => format!(": CONNECT {s} in {:.1} ms", p.elapsed_ms),
                (None, None) => " (plain HTTP: the request goes to the proxy)".to_owned(),
            };
            let _ = writeln!(t, "  proxy    {} from {}{result}", p.url, p.from);
        }
        if let Some(tls) = &o.tls {
            let sni = tls
                .sni
                .clone()
                .unwrap_or_else(|| "- (an address)".to_owned());
            match &tls.error {
                None => {
                    let _ = writeln!(
                        t,
                        "  tls      {} {} alpn {} sni {sni} in {:.1} ms",
                        tls.version.clone().unwrap_or_default(),
                        tls.cipher.clone().unwrap_or_default(),
                        tls.alpn.clone().unwrap_or_else(|| "-".into()),
                        tls.elapsed_ms
                    );
                }
                Some(e) => {
                    let _ = writeln!(t, "  tls      sni {sni} FAILED: {e}");
                }
            }
            if let Some(leaf) = tls.chain.first() {
                let names = if leaf.san.is_empty() {
                    leaf.subject.clone()
                } else {
                    leaf.san.join(", ")
                };
                let _ = writeln!(
                    t,
                    "           certificate {names}; issuer {}; {} days left; name {}",
                    leaf.issuer,
                    leaf.days_left,
                    if tls.name_match == Some(true) {
                        "matches"
                    } else {
                        "does NOT match"
                    }
                );
            }
            if let Some(rule) = tls.trust {
                let why = tls
                    .verify_error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                let _ = writeln!(t, "           trust: {rule}{why}");
            }
            if tls.client_cert_requested {
                let _ = writeln!(
                    t,
                    "           client certificate requested (CAs: {}); ours {}",
                    if tls.acceptable_cas.is_empty() {
                        "-".to_owned()
                    } else {
                        tls.acceptable_cas.join("; ")
                    },
                    if tls.client_cert_sent {
                        "sent"
                    } else {
                        "not sent"
                    }
                );
            }
        }
        if let Some(h) = &o.http {
            match (&h.error, h.status) {
                (Some(e), _) => {
                    let _ = writeln!(t, "  http     FAILED: {e}");
                }
                (None, Some(s)) => {
                    let et = h
                        .error_type
                        .as_ref()
                        .map(|e| format!(" {e}"))
                        .unwrap_or_default();
                    let _ = writeln!(t, "  http     {s}{et} in {:.1} ms", h.elapsed_ms);
                    for (k, v) in &h.headers {
                        let _ = writeln!(t, "           {k}: {v}");
                    }
                    if !h.body.is_empty() {
                        let body: String = h.body.chars().take(300).collect();
                        let _ = writeln!(
                            t,
                            "           body: {}{}",
                            body.replace('\n', " "),
                            if h.body_truncated || h.body.len() > 300 {
                                " ..."
                            } else {
                                ""
                            }
                        );
                    }
                }
                (None, None) => {}
            }
        }
        let d = &self.diagnosis;
        let _ = writeln!(
            t,
            "\n{} ({})",
            if d.verdict == Verdict::Ok {
                "OK"
            } else {
                "DIAGNOSIS"
            },
            d.rule
        );
        let _ = writeln!(t, "  cause: {}", d.cause);
        if !d.evidence.is_empty() {
            let _ = writeln!(t, "  evidence:");
            for e in &d.evidence {
                let _ = writeln!(t, "    - {e}");
            }
        }
        if !d.fixes.is_empty() {
            let _ = writeln!(t, "  fix:");
            for f in &d.fixes {
                let _ = writeln!(t, "    - {f}");
            }
        }
        if let Some(c) = &d.confirmation {
            let result = match (c.status, &c.error) {
                (Some(s), _) => format!(
                    "{s}{}",
                    c.error_type
                        .as_ref()
                        .map(|e| format!(" {e}"))
                        .unwrap_or_default()
                ),
                (None, Some(e)) => format!("failed: {e}"),
                (None, None) => "no answer".to_owned(),
            };
            let verdict = if c.confirmed {
                "CONFIRMED: the resolver path is the cause"
            } else {
                "not confirmed"
            };
            let _ = writeln!(
                t,
                "  confirm: the same request pinned to {} (the answer of `{}`, as curl --resolve): {result}. {verdict}",
                c.addr, c.resolver
            );
        }
        let _ = writeln!(t, "  exit {}", self.exit_code);
        t
    }
}

fn dns_text(a: &DnsAnswer) -> String {
    let who = match (&a.server, &a.source) {
        (Some(s), _) => format!("{} {s}", a.resolver),
        (None, Some(src)) => format!("{} {src}", a.resolver),
        (None, None) => a.resolver.clone(),
    };
    if let Some(e) = &a.error {
        return format!("{who}: {e}");
    }
    let chain = a
        .outcome
        .cname_path()
        .map(|c| format!("CNAME {c} → "))
        .unwrap_or_default();
    if a.outcome.addresses.is_empty() {
        return format!("{who}: {chain}{}", a.outcome.rcode);
    }
    let owners = if a.aws.is_empty() {
        String::new()
    } else {
        let named: Vec<String> = a
            .outcome
            .addresses
            .iter()
            .zip(&a.aws)
            .map(|(ip, o)| format!("{ip} {o}"))
            .collect();
        format!(" [{}]", named.join("; "))
    };
    format!(
        "{who}: {chain}{} in {:.1} ms{owners}",
        parallax_model::outcome::describe_addresses(&a.outcome.addresses),
        a.elapsed_ms
    )
}
