//! `/probe` modules as blackbox_exporter's configuration writes them: `prober` (`http`, `tcp`,
//! `dns`), `timeout`, and the prober's options, read with blackbox_exporter's meanings and
//! defaults (blackbox_exporter's CONFIGURATION.md). A module may also carry parallax's own
//! `args` (the probe's flags), alone or with a prober's options. Every option that is unknown, or
//! known but not carried out here, is named at once with where it is; none is ignored.

use std::collections::BTreeMap;
use std::time::Duration;

use parallax_model::{At, Problem};
use parallax_probe::options::ProbeOptions;
use parallax_probe::report::ProbeReport;
use regex_lite::Regex;
use serde_json::Value;

/// A module, checked.
#[derive(Clone, Debug)]
pub struct Module {
    /// What it probes with.
    pub prober: Prober,
    /// Its own limit (blackbox_exporter's `timeout`), if set.
    pub timeout: Option<Duration>,
    /// parallax's probe flags: the module's `args`, and those its `http:` options become.
    pub args: Vec<String>,
    /// The module as written, for `/probe?debug=true`.
    pub written: String,
}

/// The prober a module names.
#[derive(Clone, Debug)]
pub enum Prober {
    /// parallax's probe, successful when it finds nothing wrong (a module of `args` only).
    Parallax,
    /// blackbox_exporter's http prober: parallax's probe, judged by blackbox_exporter's rules.
    Http(Box<HttpChecks>),
    /// A TCP connection, and a dialogue of expected lines and lines sent.
    Tcp(TcpModule),
    /// One DNS query to the target.
    Dns(Box<DnsModule>),
}

/// A header rule (`fail_if_header_matches`, `fail_if_header_not_matches`).
#[derive(Clone, Debug)]
pub struct HeaderRule {
    /// The header's name.
    pub header: String,
    /// The expression its values are matched with.
    pub regexp: Regex,
    /// Whether a missing header passes.
    pub allow_missing: bool,
}

/// What the http prober checks and sets beyond the probe's flags.
#[derive(Clone, Debug, Default)]
pub struct HttpChecks {
    /// Statuses that succeed; empty means 2xx.
    pub valid_status_codes: Vec<u16>,
    /// Versions that succeed (`HTTP/1.1`, `HTTP/2.0`); empty means any.
    pub valid_http_versions: Vec<String>,
    /// Fail when the final response came over TLS.
    pub fail_if_ssl: bool,
    /// Fail when it did not.
    pub fail_if_not_ssl: bool,
    /// Fail when the body matches one of these.
    pub fail_if_body_matches: Vec<Regex>,
    /// Fail when the body does not match one of these.
    pub fail_if_body_not_matches: Vec<Regex>,
    /// Fail when a header matches.
    pub fail_if_header_matches: Vec<HeaderRule>,
    /// Fail when a header does not match.
    pub fail_if_header_not_matches: Vec<HeaderRule>,
    /// The method (`GET`).
    pub method: Option<String>,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Option<String>,
    /// `basic_auth`.
    pub basic_auth: Option<(String, String)>,
    /// `bearer_token`.
    pub bearer_token: Option<String>,
    /// `follow_redirects` (blackbox_exporter's default: on).
    pub no_follow: bool,
}

/// One step of a TCP dialogue.
#[derive(Clone, Debug)]
pub enum Step {
    /// Read lines until one matches.
    Expect(Regex),
    /// Send a line.
    Send(String),
}

/// The tcp prober's options.
#[derive(Clone, Debug, Default)]
pub struct TcpModule {
    /// The dialogue.
    pub query_response: Vec<Step>,
    /// Only IPv4 or only IPv6, when the fallback is off.
    pub family: Option<IpFamily>,
}

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpFamily {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// Expressions over a section's records, as blackbox_exporter's `validate_*_rrs`.
#[derive(Clone, Debug, Default)]
pub struct RrRules {
    /// Fail if a record matches one.
    pub fail_if_matches: Vec<Regex>,
    /// Fail if a record does not match one (or there is no record).
    pub fail_if_not_matches: Vec<Regex>,
    /// Fail unless every record matches every one (blackbox_exporter's code, whatever its
    /// name says).
    pub fail_if_all_match: Vec<Regex>,
    /// Fail if no record matches any (or there is no record).
    pub fail_if_none_matches: Vec<Regex>,
}

/// The dns prober's options.
#[derive(Clone, Debug)]
pub struct DnsModule {
    /// The name asked.
    pub query_name: String,
    /// The type asked (`ANY` by default, as blackbox_exporter).
    pub query_type: String,
    /// `udp` or `tcp`.
    pub tcp: bool,
    /// Rcodes that succeed (`NOERROR` by default).
    pub valid_rcodes: Vec<String>,
    /// The answer section's rules.
    pub answer: RrRules,
    /// The authority section's rules.
    pub authority: RrRules,
    /// The additional section's rules.
    pub additional: RrRules,
    /// The RD bit (on by default).
    pub recursion_desired: bool,
    /// Only IPv4 or only IPv6, when the fallback is off.
    pub family: Option<IpFamily>,
}

/// Reads one module; problems are pushed with `field` as the module's path.
pub fn read(
    raw: &BTreeMap<String, At<Value>>,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<Module> {
    let before = problems.len();
    let mut p = Reader {
        problems,
        field: field.to_owned(),
    };
    let mut args = Vec::new();
    if let Some(a) = raw.get("args") {
        match a.value.as_array() {
            Some(list) if list.iter().all(Value::is_string) => {
                args = list
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
            }
            _ => p.bad(a, "args", "a list of the probe's flags"),
        }
    }
    let timeout = raw.get("timeout").and_then(|t| match t.value.as_str() {
        Some(s) => crate::config::parse_duration(s)
            .map_err(|e| p.bad(t, "timeout", &e))
            .ok(),
        None => {
            p.bad(t, "timeout", "a duration such as 5s");
            None
        }
    });
    let prober_name = raw
        .get("prober")
        .map(|v| (v, v.value.as_str().unwrap_or("")));
    for (key, v) in raw {
        match key.as_str() {
            "args" | "timeout" | "prober" | "http" | "tcp" | "dns" => {}
            "icmp" | "grpc" | "unix" => p.bad(
                v,
                key,
                "this prober is not carried out by parallax (http, tcp and dns are)",
            ),
            _ => p.bad(v, key, "unknown option"),
        }
    }
    let section = |name: &str| raw.get(name);
    let prober = match prober_name {
        None if section("http").is_some()
            || section("tcp").is_some()
            || section("dns").is_some() =>
        {
            let any = raw
                .values()
                .next()
                .map_or(parallax_model::Pos::UNKNOWN, |v| v.pos);
            p.problems.push(Problem::new(
                any,
                format!("{field}.prober"),
                "missing: http, tcp or dns",
            ));
            Prober::Parallax
        }
        None => Prober::Parallax,
        Some((_, "http")) => {
            let mut checks = HttpChecks::default();
            if let Some(h) = section("http") {
                http(&mut p, h, &mut checks, &mut args);
            }
            Prober::Http(Box::new(checks))
        }
        Some((_, "tcp")) => {
            let mut m = TcpModule::default();
            if let Some(t) = section("tcp") {
                tcp(&mut p, t, &mut m);
            }
            Prober::Tcp(m)
        }
        Some((v, "dns")) => match section("dns") {
            Some(d) => dns(&mut p, d).map_or(Prober::Parallax, |m| Prober::Dns(Box::new(m))),
            None => {
                p.bad(v, "dns", "the dns prober needs dns.query_name");
                Prober::Parallax
            }
        },
        Some((v, "icmp" | "grpc")) => {
            p.bad(
                v,
                "prober",
                "this prober is not carried out by parallax (http, tcp and dns are)",
            );
            Prober::Parallax
        }
        Some((v, other)) => {
            p.bad(v, "prober", &format!("`{other}`: http, tcp or dns"));
            Prober::Parallax
        }
    };
    for (name, wanted) in [("http", "http"), ("tcp", "tcp"), ("dns", "dns")] {
        if let Some(s) = section(name)
            && prober_name.is_some_and(|(_, p)| p != wanted)
        {
            p.bad(s, name, "options of another prober than the module's");
        }
    }
    let written = serde_json::to_string(
        &raw.iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
    .unwrap_or_default();
    (problems.len() == before).then_some(Module {
        prober,
        timeout,
        args,
        written,
    })
}

/// Problems with the module's path and the position of the value they are about.
struct Reader<'a> {
    problems: &'a mut Vec<Problem>,
    field: String,
}

impl Reader<'_> {
    fn bad(&mut self, at: &At<Value>, key: &str, why: &str) {
        self.problems
            .push(Problem::new(at.pos, format!("{}.{key}", self.field), why));
    }
}

/// A section's options, with the section's position for every problem.
fn options<'v>(
    p: &mut Reader<'_>,
    section: &'v At<Value>,
    name: &str,
) -> Vec<(&'v str, &'v Value)> {
    match section.value.as_object() {
        Some(m) => m.iter().map(|(k, v)| (k.as_str(), v)).collect(),
        None => {
            p.bad(section, name, "a mapping of options");
            Vec::new()
        }
    }
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|s| s.as_str().map(str::to_owned))
        .collect()
}

fn regexes(p: &mut Reader<'_>, at: &At<Value>, key: &str, v: &Value) -> Vec<Regex> {
    let Some(list) = strings(v) else {
        p.bad(at, key, "a list of regular expressions");
        return Vec::new();
    };
    list.iter()
        .filter_map(|r| {
            Regex::new(r)
                .map_err(|e| p.bad(at, key, &format!("`{r}`: {e}")))
                .ok()
        })
        .collect()
}

fn header_rules(p: &mut Reader<'_>, at: &At<Value>, key: &str, v: &Value) -> Vec<HeaderRule> {
    let Some(list) = v.as_array() else {
        p.bad(at, key, "a list of { header, regexp, allow_missing }");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let k = format!("{key}[{i}]");
        let (Some(header), Some(regexp)) = (r["header"].as_str(), r["regexp"].as_str()) else {
            p.bad(at, &k, "header and regexp are both needed");
            continue;
        };
        if let Some(extra) = r.as_object().and_then(|o| {
            o.keys()
                .find(|k| !["header", "regexp", "allow_missing"].contains(&k.as_str()))
        }) {
            p.bad(at, &format!("{k}.{extra}"), "unknown option");
        }
        match Regex::new(regexp) {
            Ok(re) => out.push(HeaderRule {
                header: header.to_owned(),
                regexp: re,
                allow_missing: r["allow_missing"].as_bool().unwrap_or(false),
            }),
            Err(e) => p.bad(at, &k, &format!("`{regexp}`: {e}")),
        }
    }
    out
}

/// `preferred_ip_protocol` and `ip_protocol_fallback`: a family only when the fallback is off
/// (with it on, either family is used, as blackbox_exporter falls back).
fn family(
    p: &mut Reader<'_>,
    at: &At<Value>,
    name: &str,
    opts: &[(&str, &Value)],
) -> Option<IpFamily> {
    let preferred = opts
        .iter()
        .find(|(k, _)| *k == "preferred_ip_protocol")
        .map(|(_, v)| *v);
    let fallback = opts
        .iter()
        .find(|(k, _)| *k == "ip_protocol_fallback")
        .map_or(Some(true), |(_, v)| v.as_bool());
    let fam = match preferred.map(|v| v.as_str()) {
        None | Some(Some("ip6" | "ipv6")) => IpFamily::V6,
        Some(Some("ip4" | "ipv4")) => IpFamily::V4,
        Some(_) => {
            p.bad(at, &format!("{name}.preferred_ip_protocol"), "ip4 or ip6");
            IpFamily::V6
        }
    };
    match fallback {
        Some(true) => None,
        Some(false) => Some(fam),
        None => {
            p.bad(at, &format!("{name}.ip_protocol_fallback"), "true or false");
            None
        }
    }
}

/// The TLS options parallax carries out, as probe flags.
fn tls_config(p: &mut Reader<'_>, at: &At<Value>, key: &str, v: &Value, args: &mut Vec<String>) {
    let Some(m) = v.as_object() else {
        p.bad(at, key, "a mapping");
        return;
    };
    for (k, v) in m {
        let path = format!("{key}.{k}");
        match (k.as_str(), v) {
            ("insecure_skip_verify", Value::Bool(true)) => args.push("--insecure".into()),
            ("insecure_skip_verify", Value::Bool(false)) => {}
            ("ca_file", Value::String(f)) => args.extend(["--cacert".into(), f.clone()]),
            ("cert_file", Value::String(f)) => args.extend(["--cert".into(), f.clone()]),
            ("key_file", Value::String(f)) => args.extend(["--key".into(), f.clone()]),
            // parallax speaks TLS 1.2 and 1.3 only: a floor at or below 1.2 is what it does.
            ("min_version", Value::String(s)) if matches!(s.as_str(), "TLS10" | "TLS11" | "TLS12") => {}
            ("server_name" | "min_version" | "max_version" | "ca" | "cert" | "key", _) => p.bad(
                at,
                &path,
                "not carried out by parallax's probe (give the certificates as files; --connect-to in args for another name)",
            ),
            _ => p.bad(at, &path, "unknown option"),
        }
    }
}

fn http(p: &mut Reader<'_>, at: &At<Value>, c: &mut HttpChecks, args: &mut Vec<String>) {
    let opts = options(p, at, "http");
    let mut follow = true;
    for (k, v) in &opts {
        let key = format!("http.{k}");
        let wrong = |p: &mut Reader<'_>, what: &str| p.bad(at, &key, what);
        match *k {
            "valid_status_codes" => match v.as_array().and_then(|a| {
                a.iter()
                    .map(|s| s.as_u64().and_then(|n| u16::try_from(n).ok()))
                    .collect::<Option<Vec<u16>>>()
            }) {
                Some(codes) => c.valid_status_codes = codes,
                None => wrong(p, "a list of status codes"),
            },
            "valid_http_versions" => match strings(v) {
                Some(vs) => c.valid_http_versions = vs,
                None => wrong(p, "a list such as [HTTP/1.1, HTTP/2.0]"),
            },
            "method" => match v.as_str() {
                Some(m) => c.method = Some(m.to_owned()),
                None => wrong(p, "a method such as GET"),
            },
            "headers" => match v.as_object() {
                Some(h) if h.values().all(Value::is_string) => {
                    c.headers = h
                        .iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect();
                }
                _ => wrong(p, "a mapping of header names to values"),
            },
            "body" => match v.as_str() {
                Some(b) => c.body = Some(b.to_owned()),
                None => wrong(p, "a string"),
            },
            "fail_if_ssl" | "fail_if_not_ssl" => match v.as_bool() {
                Some(b) if *k == "fail_if_ssl" => c.fail_if_ssl = b,
                Some(b) => c.fail_if_not_ssl = b,
                None => wrong(p, "true or false"),
            },
            "fail_if_body_matches_regexp" => c.fail_if_body_matches = regexes(p, at, &key, v),
            "fail_if_body_not_matches_regexp" => {
                c.fail_if_body_not_matches = regexes(p, at, &key, v);
            }
            "fail_if_header_matches" => c.fail_if_header_matches = header_rules(p, at, &key, v),
            "fail_if_header_not_matches" => {
                c.fail_if_header_not_matches = header_rules(p, at, &key, v);
            }
            "tls_config" => tls_config(p, at, &key, v, args),
            "preferred_ip_protocol" | "ip_protocol_fallback" => {}
            "follow_redirects" => match v.as_bool() {
                Some(b) => follow = b,
                None => wrong(p, "true or false"),
            },
            "no_follow_redirects" => match v.as_bool() {
                Some(b) => follow = !b,
                None => wrong(p, "true or false"),
            },
            "proxy_url" => match v.as_str() {
                Some(u) => args.extend(["--proxy".into(), u.to_owned()]),
                None => wrong(p, "a URL"),
            },
            // parallax's probe does not resolve the target's name itself when a proxy is set.
            "skip_resolve_phase_with_proxy" | "enable_http2" | "enable_http1" => {}
            "compression" if v.as_str() == Some("") => {}
            "basic_auth" => {
                let user = v["username"].as_str();
                let pass = match (v["password"].as_str(), v["password_file"].as_str()) {
                    (Some(p), _) => Some(p.to_owned()),
                    (None, Some(f)) => parallax_model::input::read_config(std::path::Path::new(f))
                        .map(|s| s.trim_end_matches(['\r', '\n']).to_owned())
                        .map_err(|e| wrong(p, &format!("password_file {f}: {e}")))
                        .ok(),
                    (None, None) => Some(String::new()),
                };
                match (user, pass) {
                    (Some(u), Some(pw)) => c.basic_auth = Some((u.to_owned(), pw)),
                    (None, _) => wrong(p, "username is needed"),
                    _ => {}
                }
            }
            "bearer_token" => match v.as_str() {
                Some(t) => c.bearer_token = Some(t.to_owned()),
                None => wrong(p, "a string"),
            },
            "bearer_token_file" => match v
                .as_str()
                .map(|f| parallax_model::input::read_config(std::path::Path::new(f)))
            {
                Some(Ok(t)) => c.bearer_token = Some(t.trim().to_owned()),
                Some(Err(e)) => wrong(p, &format!("{e}")),
                None => wrong(p, "a file name"),
            },
            "compression" | "body_size_limit" | "oauth2" | "follow_redirect"
            | "http_client_config" | "iptables" | "source_ip_address" | "body_file" => {
                wrong(p, "not carried out by parallax's probe");
            }
            _ => wrong(p, "unknown option"),
        }
    }
    if follow {
        args.push("--location".into());
    }
    c.no_follow = !follow;
    if let Some(f) = family(p, at, "http", &opts) {
        args.push(match f {
            IpFamily::V4 => "--ipv4".into(),
            IpFamily::V6 => "--ipv6".into(),
        });
    }
}

fn tcp(p: &mut Reader<'_>, at: &At<Value>, m: &mut TcpModule) {
    let opts = options(p, at, "tcp");
    for (k, v) in &opts {
        let key = format!("tcp.{k}");
        match *k {
            "preferred_ip_protocol" | "ip_protocol_fallback" => {}
            "query_response" => {
                let Some(list) = v.as_array() else {
                    p.bad(at, &key, "a list of { expect, send }");
                    continue;
                };
                for (i, step) in list.iter().enumerate() {
                    let Some(o) = step.as_object() else {
                        p.bad(at, &format!("{key}[{i}]"), "a mapping");
                        continue;
                    };
                    for (sk, sv) in o {
                        let path = format!("{key}[{i}].{sk}");
                        match (sk.as_str(), sv.as_str()) {
                            ("expect", Some(r)) => match Regex::new(r) {
                                Ok(re) => m.query_response.push(Step::Expect(re)),
                                Err(e) => p.bad(at, &path, &format!("`{r}`: {e}")),
                            },
                            ("send", Some(s)) => m.query_response.push(Step::Send(s.to_owned())),
                            ("starttls", _) => {
                                p.bad(at, &path, "not carried out by parallax's tcp prober")
                            }
                            _ => p.bad(at, &path, "unknown option"),
                        }
                    }
                }
            }
            "tls" if v.as_bool() == Some(false) => {}
            "tls" | "tls_config" | "source_ip_address" => {
                p.bad(
                    at,
                    &key,
                    "not carried out by parallax's tcp prober (use the http prober for TLS)",
                );
            }
            _ => p.bad(at, &key, "unknown option"),
        }
    }
    m.family = family(p, at, "tcp", &opts);
}

fn rr_rules(p: &mut Reader<'_>, at: &At<Value>, key: &str, v: &Value) -> RrRules {
    let mut r = RrRules::default();
    let Some(o) = v.as_object() else {
        p.bad(at, key, "a mapping of fail_if_… lists");
        return r;
    };
    for (k, list) in o {
        let path = format!("{key}.{k}");
        let res = regexes(p, at, &path, list);
        match k.as_str() {
            "fail_if_matches_regexp" => r.fail_if_matches = res,
            "fail_if_not_matches_regexp" => r.fail_if_not_matches = res,
            "fail_if_all_match_regexp" => r.fail_if_all_match = res,
            "fail_if_none_matches_regexp" => r.fail_if_none_matches = res,
            _ => p.bad(at, &path, "unknown option"),
        }
    }
    r
}

fn dns(p: &mut Reader<'_>, at: &At<Value>) -> Option<DnsModule> {
    let opts = options(p, at, "dns");
    let mut m = DnsModule {
        query_name: String::new(),
        query_type: "ANY".into(),
        tcp: false,
        valid_rcodes: vec!["NOERROR".into()],
        answer: RrRules::default(),
        authority: RrRules::default(),
        additional: RrRules::default(),
        recursion_desired: true,
        family: None,
    };
    for (k, v) in &opts {
        let key = format!("dns.{k}");
        match (*k, v) {
            ("query_name", Value::String(s)) => m.query_name = s.clone(),
            ("query_type", Value::String(s)) => {
                if s.parse::<hickory_proto::rr::RecordType>().is_err() {
                    p.bad(at, &key, &format!("`{s}` is not a record type"));
                }
                m.query_type = s.to_ascii_uppercase();
            }
            ("query_class", Value::String(s)) if s.eq_ignore_ascii_case("IN") => {}
            ("transport_protocol", Value::String(s)) if s == "udp" || s == "tcp" => {
                m.tcp = s == "tcp"
            }
            ("valid_rcodes", v) => match strings(v) {
                Some(r) => m.valid_rcodes = r,
                None => p.bad(at, &key, "a list such as [NOERROR]"),
            },
            ("validate_answer_rrs", v) => m.answer = rr_rules(p, at, &key, v),
            ("validate_authority_rrs", v) => m.authority = rr_rules(p, at, &key, v),
            ("validate_additional_rrs", v) => m.additional = rr_rules(p, at, &key, v),
            ("recursion_desired", Value::Bool(b)) => m.recursion_desired = *b,
            ("preferred_ip_protocol" | "ip_protocol_fallback", _) => {}
            ("query_name" | "query_type" | "recursion_desired", _) => {
                p.bad(at, &key, "a string (a bool for recursion_desired)")
            }
            ("query_class", _) => p.bad(at, &key, "IN (other classes are not asked by parallax)"),
            ("transport_protocol", _) => p.bad(at, &key, "udp or tcp"),
            ("dns_over_tls" | "tls_config" | "source_ip_address", _) => {
                p.bad(at, &key, "not carried out by parallax's dns prober");
            }
            _ => p.bad(at, &key, "unknown option"),
        }
    }
    if m.query_name.is_empty() {
        p.bad(at, "dns.query_name", "missing: the name to ask");
        return None;
    }
    m.family = family(p, at, "dns", &opts);
    Some(m)
}

impl HttpChecks {
    /// Sets what the options say on the probe's options.
    pub fn apply(&self, o: &mut ProbeOptions) {
        if let Some(m) = &self.method {
            o.method = m.to_ascii_uppercase();
        }
        for (k, v) in &self.headers {
            o.headers.push((k.clone(), v.clone()));
        }
        if let Some(b) = &self.body {
            o.body = b.clone().into_bytes();
        }
        if let Some(a) = &self.basic_auth {
            o.basic_auth = Some(a.clone());
        }
        if let Some(t) = &self.bearer_token {
            o.headers
                .push(("Authorization".into(), format!("Bearer {t}")));
        }
    }

    /// `probe_http_redirects` as blackbox_exporter counts it when it does not follow: the
    /// redirect offered counts (its client counts before it declines to follow).
    pub fn redirects_offered(&self, report: &ProbeReport) -> Option<i64> {
        let h = report.observation.http.as_ref()?;
        let offered = self.no_follow
            && h.status.is_some_and(|s| (300..400).contains(&s))
            && h.all_headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("location"));
        offered.then_some(1)
    }

    /// blackbox_exporter's verdict on a report: success, and whether an expression failed it.
    pub fn judge(&self, report: &ProbeReport) -> (bool, bool) {
        let Some(h) = report.observation.http.as_ref() else {
            return (false, false);
        };
        let Some(status) = h.status else {
            return (false, false);
        };
        let mut ok = if self.valid_status_codes.is_empty() {
            (200..300).contains(&status)
        } else {
            self.valid_status_codes.contains(&status)
        };
        if !self.valid_http_versions.is_empty() {
            let proto = match h.version.as_deref() {
                Some("2" | "2.0") => "HTTP/2.0".to_owned(),
                Some(v) => format!("HTTP/{v}"),
                None => String::new(),
            };
            ok &= self
                .valid_http_versions
                .iter()
                .any(|v| v == &proto || (v == "HTTP/2" && proto == "HTTP/2.0"));
        }
        let tls = report
            .observation
            .tls
            .as_ref()
            .is_some_and(|t| t.version.is_some());
        if (self.fail_if_ssl && tls) || (self.fail_if_not_ssl && !tls) {
            ok = false;
        }
        let mut regex = false;
        if self
            .fail_if_body_matches
            .iter()
            .any(|r| r.is_match(&h.body))
            || !self
                .fail_if_body_not_matches
                .iter()
                .all(|r| r.is_match(&h.body))
        {
            regex = true;
        }
        let values = |name: &str| -> Vec<&str> {
            h.all_headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect()
        };
        for r in &self.fail_if_header_matches {
            let vs = values(&r.header);
            if vs.is_empty() && !r.allow_missing {
                ok = false;
            }
            if vs.iter().any(|v| r.regexp.is_match(v)) {
                regex = true;
            }
        }
        for r in &self.fail_if_header_not_matches {
            let vs = values(&r.header);
            if vs.is_empty() && !r.allow_missing {
                ok = false;
            }
            if !vs.is_empty() && !vs.iter().any(|v| r.regexp.is_match(v)) {
                regex = true;
            }
        }
        (ok && !regex, regex)
    }
}
