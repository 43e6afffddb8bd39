//! What happened to one request, in a form that prediction and observation share, so that the
//! two can be compared field by field. The DNS part is filled now; the front door and HTTP parts
//! are filled by the gateway and the probe.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::address::classify;
use crate::error_type::ErrorType;
use crate::ids::{DnsName, VpceId};

/// A DNS response code, as far as parallax tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Rcode {
    /// The query was answered.
    NoError,
    /// The server could not read the query.
    FormErr,
    /// The server failed to answer.
    ServFail,
    /// The name does not exist.
    NxDomain,
    /// The server does not support the query.
    NotImp,
    /// The server refused to answer.
    Refused,
    /// Any other response code, by number.
    Other(u16),
}

impl Rcode {
    /// The code's name for its number (RFC 1035 §4.1.1, RFC 6895).
    pub fn from_u16(code: u16) -> Rcode {
        match code {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            n => Rcode::Other(n),
        }
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rcode::NoError => f.write_str("NOERROR"),
            Rcode::FormErr => f.write_str("FORMERR"),
            Rcode::ServFail => f.write_str("SERVFAIL"),
            Rcode::NxDomain => f.write_str("NXDOMAIN"),
            Rcode::NotImp => f.write_str("NOTIMP"),
            Rcode::Refused => f.write_str("REFUSED"),
            Rcode::Other(n) => write!(f, "RCODE{n}"),
        }
    }
}

/// The answer to one name, followed through its CNAME chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsOutcome {
    /// The response code.
    pub rcode: Rcode,
    /// The names the answer went through, first the one asked for's CNAME target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cname_chain: Vec<DnsName>,
    /// The addresses of the final answer, in answer order.
    pub addresses: Vec<IpAddr>,
    /// The smallest TTL of the answer records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
}

/// The one-word summary of a DNS outcome that scenarios expect and diagnoses reason about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsVerdict {
    /// Only public addresses.
    Public,
    /// Only private addresses (RFC 1918, CGNAT, ULA, link-local).
    Private,
    /// Both, or addresses of other classes (loopback, documentation, ...).
    Mixed,
    /// The name does not exist.
    Nxdomain,
    /// The name exists without addresses.
    Nodata,
    /// The resolver refused the query.
    Refused,
    /// The resolver failed (SERVFAIL).
    Servfail,
    /// Any other failure (FORMERR, NOTIMP, no answer).
    Error,
}

impl DnsVerdict {
    /// Every verdict, for label sets bounded in advance.
    pub const ALL: [DnsVerdict; 8] = [
        DnsVerdict::Public,
        DnsVerdict::Private,
        DnsVerdict::Mixed,
        DnsVerdict::Nxdomain,
        DnsVerdict::Nodata,
        DnsVerdict::Refused,
        DnsVerdict::Servfail,
        DnsVerdict::Error,
    ];
}

impl DnsOutcome {
    /// `a.example → d-123.execute-api…`: the CNAME targets followed, or `None` for a direct answer.
    pub fn cname_path(&self) -> Option<String> {
        if self.cname_chain.is_empty() {
            return None;
        }
        let names: Vec<&str> = self.cname_chain.iter().map(|n| n.as_str()).collect();
        Some(names.join(" → "))
    }

    /// What the answer means for reaching an AWS API: public, private, mixed or no answer.
    pub fn verdict(&self) -> DnsVerdict {
        match self.rcode {
            Rcode::NoError => {}
            Rcode::NxDomain => return DnsVerdict::Nxdomain,
            Rcode::Refused => return DnsVerdict::Refused,
            Rcode::ServFail => return DnsVerdict::Servfail,
            _ => return DnsVerdict::Error,
        }
        if self.addresses.is_empty() {
            return DnsVerdict::Nodata;
        }
        let classes: Vec<_> = self.addresses.iter().map(|a| classify(*a)).collect();
        if classes.iter().all(|c| c.is_public()) {
            DnsVerdict::Public
        } else if classes.iter().all(|c| c.is_private()) {
            DnsVerdict::Private
        } else {
            DnsVerdict::Mixed
        }
    }
}

impl fmt::Display for DnsVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&s)
    }
}

/// Which of API Gateway's doors a request reached.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FrontDoor {
    /// The Region's public endpoint.
    Regional,
    /// The CloudFront edge.
    Edge,
    /// An execute-api interface endpoint.
    VpcEndpoint(VpceId),
    /// None: DNS failed, or the address belongs to no door.
    None,
}

impl TryFrom<String> for FrontDoor {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "regional" => Ok(FrontDoor::Regional),
            "edge" => Ok(FrontDoor::Edge),
            "none" => Ok(FrontDoor::None),
            other => other.parse().map(FrontDoor::VpcEndpoint).map_err(|_| {
                format!(
                    "`{other}` is not a front door: expected regional, edge, none or a vpce- id"
                )
            }),
        }
    }
}

impl From<FrontDoor> for String {
    fn from(d: FrontDoor) -> String {
        d.to_string()
    }
}

impl fmt::Display for FrontDoor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrontDoor::Regional => f.write_str("regional"),
            FrontDoor::Edge => f.write_str("edge"),
            FrontDoor::VpcEndpoint(id) => id.fmt(f),
            FrontDoor::None => f.write_str("none"),
        }
    }
}

/// The HTTP result, when a request got that far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpOutcome {
    /// The HTTP status code.
    pub status: u16,
    /// `x-amzn-ErrorType` without its `:http://…` suffix, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<ErrorType>,
    /// The body, when it is known whole (an observed body cut short, or an upstream's body a
    /// prediction cannot know, is `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Response headers as observed (names in lower case), in order; a prediction leaves them
    /// empty. Not serialised: reports carry them in their HTTP layer already.
    #[serde(skip)]
    pub headers: Vec<(String, String)>,
}

impl HttpOutcome {
    /// An outcome with only a status and an error type (headers and body unknown).
    pub fn status(status: u16, error_type: Option<ErrorType>) -> HttpOutcome {
        HttpOutcome {
            status,
            error_type,
            body: None,
            headers: Vec::new(),
        }
    }
}

/// What happened to one request from one vantage point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// What DNS answered.
    pub dns: DnsOutcome,
    /// Filled once the request is sent through the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub front_door: Option<FrontDoor>,
    /// The HTTP result, once a request got that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpOutcome>,
    /// The TLS handshake: the version agreed, or refused for want of a common version. `None`
    /// when no handshake was tried, or it failed for another reason (a certificate, a reset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsResult>,
}

/// How a TLS handshake ended, as far as versions go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TlsResult {
    /// Agreed on TLS 1.2.
    #[serde(rename = "1.2")]
    Tls12,
    /// Agreed on TLS 1.3.
    #[serde(rename = "1.3")]
    Tls13,
    /// No version both sides accept (a `protocol_version` alert).
    #[serde(rename = "refused")]
    Refused,
}

impl TlsResult {
    /// The result of agreeing on `v`.
    pub fn agreed(v: crate::topology::TlsVersion) -> TlsResult {
        match v {
            crate::topology::TlsVersion::Tls13 => TlsResult::Tls13,
            _ => TlsResult::Tls12,
        }
    }
}

impl fmt::Display for TlsResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsResult::Tls12 => "TLS 1.2",
            TlsResult::Tls13 => "TLS 1.3",
            TlsResult::Refused => "refused (no common TLS version)",
        })
    }
}

/// The parts of an Outcome a scenario expects. Every field is optional; a missing one is not
/// checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The kind of DNS answer expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsVerdict>,
    /// The exact set of addresses expected (in any order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<IpAddr>>,
    /// The front door expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub front_door: Option<FrontDoor>,
    /// The HTTP status expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The `x-amzn-ErrorType` expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<ErrorType>,
    /// The whole body, byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Response headers that must be present with these values (names in any case). Checked
    /// against what the servers send; a prediction does not know headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// The TLS handshake: `"1.2"` or `"1.3"` agreed, or `refused` (no common version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsResult>,
}

impl From<&Outcome> for Expectation {
    /// Everything an outcome says, as an expectation (how a prediction is checked).
    fn from(o: &Outcome) -> Expectation {
        Expectation {
            dns: Some(o.dns.verdict()),
            addresses: Some(o.dns.addresses.clone()),
            front_door: o.front_door.clone(),
            status: o.http.as_ref().map(|h| h.status),
            error_type: o.http.as_ref().and_then(|h| h.error_type.clone()),
            body: o.http.as_ref().and_then(|h| h.body.clone()),
            headers: None,
            tls: o.tls,
        }
    }
}

impl Expectation {
    /// Every way `outcome` differs from what is expected, as `field: expected X, got Y`.
    /// Only the parts present in the outcome are compared: the HTTP part of an expectation waits
    /// for an outcome that has one (see [`Expectation::unchecked`]).
    pub fn differences(&self, outcome: &Outcome) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(want) = self.dns {
            let got = outcome.dns.verdict();
            if want != got {
                out.push(format!(
                    "dns: expected {want}, got {got} ({})",
                    show_addrs(&outcome.dns)
                ));
            }
        }
        if let Some(want) = &self.addresses {
            let (mut w, mut g) = (want.clone(), outcome.dns.addresses.clone());
            w.sort();
            g.sort();
            if w != g {
                out.push(format!(
                    "addresses: expected {}, got {}",
                    join_addresses(&w),
                    join_addresses(&g)
                ));
            }
        }
        if let (Some(want), Some(got)) = (&self.front_door, &outcome.front_door)
            && want != got
        {
            out.push(format!("front_door: expected {want}, got {got}"));
        }
        if let (Some(want), Some(got)) = (self.tls, outcome.tls)
            && want != got
        {
            out.push(format!("tls: expected {want}, got {got}"));
        }
        if let Some(http) = &outcome.http {
            if let Some(want) = self.status
                && want != http.status
            {
                out.push(format!("status: expected {want}, got {}", http.status));
            }
            if let Some(want) = &self.error_type
                && Some(want) != http.error_type.as_ref()
            {
                out.push(format!(
                    "error_type: expected {want}, got {}",
                    http.error_type.as_ref().map_or("none", ErrorType::as_str)
                ));
            }
            if let (Some(want), Some(got)) = (&self.body, &http.body)
                && want != got
            {
                out.push(format!("body: expected {want:?}, got {got:?}"));
            }
            for (name, want) in self.headers.iter().flatten() {
                let got = http
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_str());
                if got != Some(want.as_str()) {
                    out.push(format!(
                        "header {name}: expected {want:?}, got {}",
                        got.map_or("none".to_owned(), |g| format!("{g:?}"))
                    ));
                }
            }
        }
        out
    }

    /// The expected fields that `outcome` has no part to compare with yet.
    pub fn unchecked(&self, outcome: &Outcome) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.front_door.is_some() && outcome.front_door.is_none() {
            out.push("front_door");
        }
        if self.tls.is_some() && outcome.tls.is_none() {
            out.push("tls");
        }
        if outcome.http.is_none() {
            if self.status.is_some() {
                out.push("status");
            }
            if self.error_type.is_some() {
                out.push("error_type");
            }
            if self.body.is_some() {
                out.push("body");
            }
            if self.headers.is_some() {
                out.push("headers");
            }
        } else if let Some(http) = &outcome.http {
            if self.body.is_some() && http.body.is_none() {
                out.push("body");
            }
            if self.headers.is_some() && http.headers.is_empty() {
                out.push("headers");
            }
        }
        out
    }
}

/// `10.0.1.17, 10.0.2.17: private (RFC 1918)`: the addresses grouped by class, in order.
pub fn describe_addresses(addrs: &[IpAddr]) -> String {
    let mut groups: Vec<(&'static str, Vec<String>)> = Vec::new();
    for a in addrs {
        let class = classify(*a).describe();
        match groups.iter_mut().find(|(c, _)| *c == class) {
            Some((_, v)) => v.push(a.to_string()),
            None => groups.push((class, vec![a.to_string()])),
        }
    }
    groups
        .iter()
        .map(|(c, v)| format!("{}: {c}", v.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `a, b, c`, or `none`.
pub fn join_addresses(addrs: &[IpAddr]) -> String {
    if addrs.is_empty() {
        return "none".to_owned();
    }
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn show_addrs(d: &DnsOutcome) -> String {
    if d.rcode == Rcode::NoError {
        join_addresses(&d.addresses)
    } else {
        d.rcode.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(addrs: &[&str]) -> DnsOutcome {
        DnsOutcome {
            rcode: Rcode::NoError,
            cname_chain: vec![],
            addresses: addrs.iter().map(|a| a.parse().unwrap()).collect(),
            ttl: Some(60),
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(dns(&["52.94.1.10"]).verdict(), DnsVerdict::Public);
        assert_eq!(
            dns(&["10.0.1.17", "10.0.2.17"]).verdict(),
            DnsVerdict::Private
        );
        assert_eq!(
            dns(&["10.0.1.17", "52.94.1.10"]).verdict(),
            DnsVerdict::Mixed
        );
        assert_eq!(dns(&[]).verdict(), DnsVerdict::Nodata);
        let mut nx = dns(&[]);
        nx.rcode = Rcode::NxDomain;
        assert_eq!(nx.verdict(), DnsVerdict::Nxdomain);
    }

    #[test]
    fn differences_name_the_field_and_both_values() {
        let e = Expectation {
            dns: Some(DnsVerdict::Public),
            status: Some(200),
            ..Default::default()
        };
        let o = Outcome {
            dns: dns(&["10.0.1.17"]),
            front_door: None,
            http: None,
            tls: None,
        };
        assert_eq!(
            e.differences(&o),
            vec!["dns: expected public, got private (10.0.1.17)"]
        );
        assert_eq!(e.unchecked(&o), vec!["status"]);
    }

    #[test]
    fn bodies_are_compared_whole_and_headers_by_name_in_any_case() {
        let e = Expectation {
            body: Some(r#"{"message":"Forbidden"}"#.to_owned()),
            headers: Some(BTreeMap::from([
                (
                    "X-Amzn-ErrorType".to_owned(),
                    "ForbiddenException".to_owned(),
                ),
                ("content-type".to_owned(), "application/json".to_owned()),
            ])),
            ..Default::default()
        };
        let mut http = HttpOutcome {
            body: Some(r#"{"message":"Forbidden"}"#.to_owned()),
            headers: vec![
                (
                    "x-amzn-errortype".to_owned(),
                    "ForbiddenException".to_owned(),
                ),
                ("content-type".to_owned(), "application/json".to_owned()),
            ],
            ..HttpOutcome::status(403, Some(ErrorType::Forbidden))
        };
        let o = |http: &HttpOutcome| Outcome {
            dns: dns(&["10.0.1.17"]),
            front_door: None,
            http: Some(http.clone()),
            tls: None,
        };
        assert!(e.differences(&o(&http)).is_empty());
        http.body = Some(r#"{"message":"Forbidden"} "#.to_owned());
        http.headers.pop();
        assert_eq!(
            e.differences(&o(&http)),
            vec![
                r#"body: expected "{\"message\":\"Forbidden\"}", got "{\"message\":\"Forbidden\"} ""#,
                r#"header content-type: expected "application/json", got none"#,
            ]
        );
        // A body cut short is not compared, and says so.
        http.body = None;
        assert_eq!(e.unchecked(&o(&http)), vec!["body"]);
    }
}
