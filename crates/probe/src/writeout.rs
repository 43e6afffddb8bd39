//! curl's exit codes and `-w`/`--write-out`, computed from what the probe observed, so that a
//! script written for curl reads the same values from `parallax probe`.
//!
//! The exit codes are curl's (libcurl's `CURLcode`): 6 could not resolve, 7 could not connect,
//! 22 HTTP error with `--fail`, 23 write error, 28 timeout, 35 TLS connect error, 52 empty
//! reply, 56 receive failure, 60 peer certificate not verified, 90 pinned key mismatch.
//! `ssl_verify_result` is OpenSSL's verify code, as curl reports it: 0 ok, 9 not yet valid,
//! 10 expired, 18 self-signed, 20 unknown issuer, 62 host name mismatch.

use crate::failure::ConnectFailure;
use crate::failure::{HttpFailure, ServerCertProblem, TlsFailure};
use crate::observation::Observation;
use crate::report::ProbeReport;

/// curl's exit code for an observation, and its error message in our words.
pub fn curl_exit(obs: &Observation, fail_on_http_error: bool) -> (u8, String) {
    let d = &obs.dns.path;
    // The proxy's name that does not resolve is curl's 5, not 6.
    let unresolved = if obs.proxy.is_some() { 5 } else { 6 };
    if obs.connect.is_none() {
        if let Some(e) = &d.error {
            return (unresolved, format!("Could not resolve host: {e}"));
        }
        if d.outcome.addresses.is_empty() {
            return (6, format!("Could not resolve host ({})", d.outcome.rcode));
        }
    }
    if let Some(c) = &obs.connect
        && let Some(f) = c.failure
    {
        let code = match f {
            ConnectFailure::TimedOut => 28,
            _ => 7,
        };
        return (
            code,
            format!(
                "Failed to connect to {} port {}: {}",
                c.addr.ip(),
                c.addr.port(),
                c.error.clone().unwrap_or_else(|| f.to_string())
            ),
        );
    }
    if let Some(p) = &obs.proxy
        && let Some(f) = &p.failure
    {
        // curl: "CONNECT tunnel failed", a receive error.
        return (56, f.to_string());
    }
    if let Some(t) = &obs.tls
        && let Some(f) = &t.failure
    {
        let code = match f {
            TlsFailure::ServerCertificate { .. } => 60,
            TlsFailure::PinnedKeyMismatch => 90,
            TlsFailure::TimedOut => 28,
            _ => 35,
        };
        return (code, f.to_string());
    }
    if let Some(h) = &obs.http {
        if let Some(f) = &h.failure {
            let code = match f {
                HttpFailure::TimedOut { .. } => 28,
                HttpFailure::Closed => 52,
                HttpFailure::BodyCut { .. } => 18,
                HttpFailure::BodyReset { .. } => 56,
                HttpFailure::BadEncoding { .. } => 61,
                HttpFailure::Protocol { .. } => 8,
                HttpFailure::Output { .. } => 23,
                HttpFailure::BadRequest { .. } => 43,
                HttpFailure::TlsAlert { .. } | HttpFailure::Other { .. } => 56,
            };
            return (code, f.to_string());
        }
        if fail_on_http_error && let Some(s) = h.status.filter(|s| *s >= 400) {
            return (22, format!("The requested URL returned error: {s}"));
        }
    }
    (0, String::new())
}

/// curl's exit code for a whole report: 47 when `-L` hit `--max-redirs`.
pub fn curl_exit_of(r: &ProbeReport, fail_on_http_error: bool) -> (u8, String) {
    if r.too_many_redirects {
        return (
            47,
            format!("Maximum ({}) redirects followed", r.redirects.len()),
        );
    }
    curl_exit(&r.observation, fail_on_http_error)
}

/// OpenSSL's verify result for the server's certificate, as curl's `%{ssl_verify_result}`.
pub fn ssl_verify_result(obs: &Observation) -> u32 {
    let Some(t) = &obs.tls else { return 0 };
    let self_signed = t.chain.len() == 1 && t.chain.first().is_some_and(|c| c.subject == c.issuer);
    // With -k curl loads no trust anchors: OpenSSL then says self-signed (18) or unknown
    // issuer (20), whatever the certificate.
    if t.verify_skipped && !t.chain.is_empty() {
        return if self_signed { 18 } else { 20 };
    }
    match &t.verify_problem {
        None => 0,
        Some(p) => match p {
            ServerCertProblem::NotValidYet => 9,
            ServerCertProblem::Expired => 10,
            // curl checks the name itself, after OpenSSL: its verify result is then 1.
            ServerCertProblem::NameMismatch => 1,
            ServerCertProblem::UnknownIssuer => {
                if self_signed {
                    18
                } else {
                    20
                }
            }
            ServerCertProblem::CaUsedAsEndEntity | ServerCertProblem::SelfSigned => 18,
            ServerCertProblem::BadSignature => 7,
            ServerCertProblem::Revoked => 23,
            ServerCertProblem::NotForServerAuth => 26,
            _ => 1,
        },
    }
}

/// The value of one `-w` variable, or `None` for a name curl has but the probe does not.
fn variable(name: &str, r: &ProbeReport, exit: &(u8, String)) -> Option<String> {
    let o = &r.observation;
    let secs = |ms: f64| format!("{:.6}", ms / 1000.0);
    let dns = o.dns.path.elapsed_ms;
    let tcp = o.connect.as_ref().map_or(0.0, |c| c.elapsed_ms);
    let tls = o.tls.as_ref().map_or(0.0, |t| t.elapsed_ms);
    let connected = o.connect.as_ref().is_some_and(|c| c.failure.is_none());
    let handshaken = o.tls.as_ref().is_some_and(|t| t.failure.is_none());
    let remote = o
        .connect
        .as_ref()
        .filter(|c| c.failure.is_none())
        .map(|c| c.via.unwrap_or(c.addr));
    let h = o.http.as_ref();
    Some(match name {
        "http_code" | "response_code" => format!("{:03}", h.and_then(|h| h.status).unwrap_or(0)),
        // curl 7.88 writes HTTP/1.0 as `1`.
        "http_version" => match h.and_then(|h| h.version.as_deref()) {
            Some("1.0") => "1".to_owned(),
            Some(v) => v.to_owned(),
            None => "0".to_owned(),
        },
        "time_namelookup" => secs(dns),
        "time_connect" => secs(if connected { dns + tcp } else { 0.0 }),
        "time_appconnect" => secs(if handshaken { dns + tcp + tls } else { 0.0 }),
        "time_pretransfer" => secs(if connected { dns + tcp + tls } else { 0.0 }),
        "time_starttransfer" => secs(
            h.and_then(|h| h.first_byte_ms)
                .map_or(0.0, |fb| dns + tcp + tls + fb),
        ),
        "time_total" => secs(o.total_ms),
        "remote_ip" => remote.map(|a| a.ip().to_string()).unwrap_or_default(),
        "remote_port" => remote.map_or(0, |a| a.port()).to_string(),
        "ssl_verify_result" => ssl_verify_result(o).to_string(),
        "exitcode" => exit.0.to_string(),
        "errormsg" => exit.1.clone(),
        "url_effective" => r.url_effective.clone(),
        "url" => r.url_first.clone(),
        "method" => o.method.clone(),
        // curl writes the scheme in capitals (`HTTP`, `HTTPS`).
        "scheme" => o
            .url
            .split("://")
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase(),
        "size_download" => h.map_or(0, |h| h.size_download).to_string(),
        "size_upload" => h.map_or(0, |h| h.size_upload).to_string(),
        // Every head received, redirects' and interim ones' included, as curl counts them.
        "size_header" => r.heads().len().to_string(),
        "num_headers" => fields(r).len().to_string(),
        "filename_effective" => r.filename_effective.clone().unwrap_or_default(),
        "urlnum" => "0".to_owned(),
        "content_type" => h
            .and_then(|h| {
                h.all_headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_default(),
        "num_redirects" => r.redirects.len().to_string(),
        "redirect_url" => r.redirect_url.clone().unwrap_or_default(),
        "num_connects" => usize::from(connected).to_string(),
        "http_connect" => format!(
            "{:03}",
            o.proxy.as_ref().and_then(|p| p.connect_status).unwrap_or(0)
        ),
        _ => return None,
    })
}

/// The variables `%{json}` holds.
const JSON_VARS: [&str; 29] = [
    "content_type",
    "errormsg",
    "exitcode",
    "filename_effective",
    "num_headers",
    "size_header",
    "size_upload",
    "urlnum",
    "http_code",
    "http_connect",
    "http_version",
    "method",
    "num_connects",
    "num_redirects",
    "redirect_url",
    "remote_ip",
    "remote_port",
    "response_code",
    "scheme",
    "size_download",
    "ssl_verify_result",
    "time_appconnect",
    "time_connect",
    "time_namelookup",
    "time_pretransfer",
    "time_starttransfer",
    "time_total",
    "url",
    "url_effective",
];

/// Expands a `-w` format as curl does: `%{name}`, `%header{name}`, `%%`, and the escapes
/// `\n`, `\r`, `\t`, `\\`. Unknown variables expand to nothing and are returned, to be warned
/// about (curl warns and goes on).
/// `exit` is the process's exit code and curl's error message (`%{exitcode}`, `%{errormsg}`).
pub fn expand(format: &str, r: &ProbeReport, exit: &(u8, String)) -> (String, Vec<String>) {
    let exit = exit.clone();
    let mut out = String::new();
    let mut unknown = Vec::new();
    let mut rest = format;
    while let Some(c) = rest.chars().next() {
        if let Some(tail) = rest.strip_prefix("%{")
            && let Some(end) = tail.find('}')
        {
            {
                let name = &tail[..end];
                if name == "header_json" {
                    out.push_str(&header_json(&fields(r)));
                } else if name == "json" {
                    let obj: serde_json::Map<String, serde_json::Value> = JSON_VARS
                        .iter()
                        .filter_map(|v| {
                            let val = variable(v, r, &exit)?;
                            // As curl's %{json} types them: numbers, strings, and null for
                            // an error message or redirect URL that is not there.
                            let json = match *v {
                                "errormsg" | "redirect_url" | "content_type"
                                | "filename_effective"
                                    if val.is_empty() =>
                                {
                                    serde_json::Value::Null
                                }
                                "exitcode" | "num_redirects" | "num_connects" | "size_download"
                                | "size_upload" | "size_header" | "num_headers" | "urlnum"
                                | "ssl_verify_result" | "remote_port" | "response_code"
                                | "http_code" | "http_connect" => val
                                    .parse::<u64>()
                                    .map(serde_json::Value::from)
                                    .unwrap_or(serde_json::Value::String(val)),
                                t if t.starts_with("time_") => val
                                    .parse::<f64>()
                                    .ok()
                                    .and_then(serde_json::Number::from_f64)
                                    .map(serde_json::Value::Number)
                                    .unwrap_or(serde_json::Value::String(val)),
                                _ => serde_json::Value::String(val),
                            };
                            Some(((*v).to_owned(), json))
                        })
                        .collect();
                    out.push_str(&serde_json::Value::Object(obj).to_string());
                } else {
                    match variable(name, r, &exit) {
                        Some(v) => out.push_str(&v),
                        None => unknown.push(name.to_owned()),
                    }
                }
                rest = &tail[end + 1..];
                continue;
            }
        }
        if let Some(tail) = rest.strip_prefix("%header{")
            && let Some(end) = tail.find('}')
        {
            let name = &tail[..end];
            // curl's %header{} is the first value of a repeated header.
            if let Some((_, v)) = fields(r)
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
            {
                out.push_str(&v);
            }
            rest = &tail[end + 1..];
            continue;
        }
        if let Some(tail) = rest.strip_prefix("%%") {
            out.push('%');
            rest = tail;
            continue;
        }
        if let Some(tail) = rest.strip_prefix('\\')
            && let Some(e) = tail.chars().next()
        {
            let mapped = match e {
                'n' => Some('\n'),
                'r' => Some('\r'),
                't' => Some('\t'),
                '\\' => Some('\\'),
                _ => None,
            };
            if let Some(m) = mapped {
                out.push(m);
                rest = &tail[e.len_utf8()..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    (out, unknown)
}

/// The last response's header fields, in the order they came.
fn fields(r: &ProbeReport) -> Vec<(String, String)> {
    r.observation
        .http
        .as_ref()
        .map(|h| h.all_headers.clone())
        .unwrap_or_default()
}

/// A JSON string's content as curl 7.88's `jsonWriteString` writes it.
fn json_chars(s: &str, lower: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if lower => out.push(c.to_ascii_lowercase()),
            c => out.push(c),
        }
    }
    out
}

/// `%{header_json}` as curl 7.88 writes it: names in lower case, each with the array of its
/// values, in the order they came; a repeated name is written where it first came, and the
/// walk goes on after its last occurrence (curl's `curl_easy_nextheader` from there).
fn header_json(fields: &[(String, String)]) -> String {
    let mut out = String::from("{");
    let mut pos = 0;
    let mut first = true;
    while pos < fields.len() {
        let (name, value) = &fields[pos];
        let same: Vec<usize> = (0..fields.len())
            .filter(|i| fields[*i].0.eq_ignore_ascii_case(name))
            .collect();
        let index = same.iter().position(|i| *i == pos).unwrap_or(0);
        if same.len() > 1 && index > 0 {
            first = false;
            pos += 1;
            continue;
        }
        out.push_str(if first { "\"" } else { ",\n\"" });
        out.push_str(&json_chars(name, true));
        out.push_str("\":[\"");
        out.push_str(&json_chars(value, false));
        out.push('"');
        for i in same.iter().skip(1) {
            out.push_str(",\"");
            out.push_str(&json_chars(&fields[*i].1, false));
            out.push('"');
        }
        out.push(']');
        first = false;
        pos = same.last().map_or(pos, |l| (*l).max(pos)) + 1;
    }
    out.push_str("\n}");
    out
}
