//! Rules over an observation (and a topology, when one is given) that say what went wrong, in
//! words, with the evidence, the fixes, and (for the resolver path) a pinned confirmation.
//!
//! Exit codes (`parallax probe`): 0 the expectation is met (or, with no `--expect`, the status
//! is below 400); 10 DNS failure; 11 a private answer for a public name (the resolver path is
//! the cause); 12 connect failure; 13 TLS failure; 14 HTTP error or unexpected status.

use std::net::IpAddr;

use parallax_model::topology::{EndpointType, Topology};
use parallax_model::{DnsVerdict, ExecuteApiName, Rcode};
use serde::Serialize;

use crate::failure::TlsFailure;
use crate::ladder;
use crate::observation::{DnsAnswer, Observation};
use crate::options::ProbeOptions;

/// A diagnosis rule, by its stable id (what `--json` and the text report carry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    Ok,
    DnsFailure,
    PrivateZoneNxdomain,
    EndpointPrivateDns,
    CnameIntoEndpoint,
    ConnectFailure,
    TlsFailure,
    ClientCertRefused,
    HttpError,
    MissingAuthToken,
    AccessDenied,
    ApiKey,
    UnknownStage,
    DefaultEndpointDisabled,
    PrivateApiOutside,
    /// A private custom domain name called through an endpoint without an access association.
    PrivateDomainAccess,
    Throttled,
    Quota,
    IntegrationFailure,
    /// `--expect STATUS` and another status (or none) came.
    UnexpectedStatus,
    /// The proxy could not be resolved or reached.
    ProxyUnreachable,
    /// The proxy wants credentials (407).
    ProxyAuthRequired,
    /// The proxy refused the tunnel (CONNECT answered other than 2xx), or did not answer it.
    ProxyRefused,
    /// Through a proxy, the server's certificate comes from an issuer we do not trust: the
    /// proxy likely terminates and re-signs TLS.
    ProxyTlsInterception,
}

impl Rule {
    /// Every rule, for label sets bounded in advance (`parallax watch`'s diagnosis gauge).
    pub const ALL: [Rule; 24] = [
        Rule::Ok,
        Rule::DnsFailure,
        Rule::PrivateZoneNxdomain,
        Rule::EndpointPrivateDns,
        Rule::CnameIntoEndpoint,
        Rule::ConnectFailure,
        Rule::TlsFailure,
        Rule::ClientCertRefused,
        Rule::HttpError,
        Rule::MissingAuthToken,
        Rule::AccessDenied,
        Rule::ApiKey,
        Rule::UnknownStage,
        Rule::DefaultEndpointDisabled,
        Rule::PrivateApiOutside,
        Rule::PrivateDomainAccess,
        Rule::Throttled,
        Rule::Quota,
        Rule::IntegrationFailure,
        Rule::UnexpectedStatus,
        Rule::ProxyUnreachable,
        Rule::ProxyAuthRequired,
        Rule::ProxyRefused,
        Rule::ProxyTlsInterception,
    ];

    /// The stable id: `endpoint-private-dns`, `missing-auth-token`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Ok => "ok",
            Rule::DnsFailure => "dns-failure",
            Rule::PrivateZoneNxdomain => "private-zone-nxdomain",
            Rule::EndpointPrivateDns => "endpoint-private-dns",
            Rule::CnameIntoEndpoint => "cname-into-endpoint",
            Rule::ConnectFailure => "connect-failure",
            Rule::TlsFailure => "tls-failure",
            Rule::ClientCertRefused => "client-cert-refused",
            Rule::HttpError => "http-error",
            Rule::MissingAuthToken => "missing-auth-token",
            Rule::AccessDenied => "access-denied",
            Rule::ApiKey => "api-key",
            Rule::UnknownStage => "unknown-stage",
            Rule::DefaultEndpointDisabled => "default-endpoint-disabled",
            Rule::PrivateApiOutside => "private-api-outside",
            Rule::PrivateDomainAccess => "private-domain-access",
            Rule::Throttled => "throttled",
            Rule::Quota => "quota",
            Rule::IntegrationFailure => "integration-failure",
            Rule::UnexpectedStatus => "unexpected-status",
            Rule::ProxyUnreachable => "proxy-unreachable",
            Rule::ProxyAuthRequired => "proxy-auth-required",
            Rule::ProxyRefused => "proxy-refused",
            Rule::ProxyTlsInterception => "proxy-tls-interception",
        }
    }

    /// Whether the rule suspects the resolver path, so a pinned retry can confirm it.
    pub fn suspects_resolver_path(self) -> bool {
        matches!(
            self,
            Rule::EndpointPrivateDns | Rule::CnameIntoEndpoint | Rule::PrivateZoneNxdomain
        )
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    /// `ok`, or what failed.
    pub verdict: Verdict,
    /// The rule that explains it.
    pub rule: Rule,
    /// The cause, in one sentence.
    pub cause: String,
    /// The observations it rests on.
    pub evidence: Vec<String>,
    /// What to do about it, most direct first.
    pub fixes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<Confirmation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ok,
    DnsFailure,
    PrivateAnswer,
    ConnectFailure,
    TlsFailure,
    HttpError,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Ok => 0,
            Verdict::DnsFailure => 10,
            Verdict::PrivateAnswer => 11,
            Verdict::ConnectFailure => 12,
            Verdict::TlsFailure => 13,
            Verdict::HttpError => 14,
        }
    }
}

/// The pinned retry: the same request, SNI and Host, to another resolver's public answer.
#[derive(Clone, Debug, Serialize)]
pub struct Confirmation {
    /// The resolver whose answer was used.
    pub resolver: String,
    pub addr: IpAddr,
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// True when the pinned request succeeded (status below 400): the resolver path was the cause.
    pub confirmed: bool,
}

/// The workarounds of reference §2.6 for an endpoint's private DNS shadowing a public API.
const PRIVATE_DNS_FIXES: [&str; 4] = [
    "call the public API through a custom domain (edge-optimized, or Regional published as a Route 53 alias record, not a CNAME)",
    "turn private DNS off on the execute-api endpoint, and call private APIs by their vpce-specific names with a Host or x-apigw-api-id header, or by the {api-id}-{vpce-id} alias",
    "with private DNS off, add a private hosted zone per private API, so only those names resolve privately",
    "use custom domain names for private APIs (DomainNameV2 with access associations)",
];

fn answer_line(a: &DnsAnswer, host: &str) -> String {
    let who = match (&a.server, &a.source) {
        (Some(s), _) => format!("{} ({s})", a.resolver),
        (None, Some(src)) => format!("{} ({src})", a.resolver),
        (None, None) => a.resolver.clone(),
    };
    let what = if a.outcome.addresses.is_empty() {
        a.error
            .clone()
            .unwrap_or_else(|| a.outcome.rcode.to_string())
    } else {
        let v = a.outcome.verdict();
        format!(
            "{} ({v})",
            a.outcome
                .addresses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let via = a
        .outcome
        .cname_path()
        .map(|c| format!(" via CNAME {c}"))
        .unwrap_or_default();
    format!("dns {who}: {host}{via} → {what}")
}

fn http_line(obs: &Observation) -> Option<String> {
    let h = obs.http.as_ref()?;
    let status = h.status?;
    let et = h
        .error_type
        .as_deref()
        .map(|t| format!(" {t}"))
        .unwrap_or_default();
    let body: String = h.body.chars().take(200).collect();
    Some(format!("http: {status}{et} {body}"))
}

/// Runs the rules. `confirm` is called for rules that suspect the resolver path.
pub fn explain(obs: &Observation, opts: &ProbeOptions, topology: Option<&Topology>) -> Diagnosis {
    let host_text = opts.url.host_str();
    let host = host_text.as_str();
    let path = &obs.dns.path;
    let name = ExecuteApiName::parse(host);
    let facts = Facts {
        obs,
        opts,
        topology,
        host,
        name: &name,
        path,
        public_elsewhere: obs
            .dns
            .compare
            .iter()
            .find(|a| a.outcome.verdict() == DnsVerdict::Public),
        path_private: matches!(
            path.outcome.verdict(),
            DnsVerdict::Private | DnsVerdict::Mixed
        ),
    };
    if let Some(p) = &obs.proxy {
        // Through a proxy the local resolver never sees the URL's host: the DNS rules do not
        // apply, and the proxy hop is the first rung.
        let facts = Facts {
            public_elsewhere: None,
            path_private: false,
            ..facts
        };
        let mut evidence = vec![format!(
            "through the proxy {} (from {}); the proxy resolves {host}",
            p.url, p.from
        )];
        evidence.push(answer_line(path, &p.url));
        for rung in [explain_proxy, explain_tls] {
            if let Some(d) = rung(&facts, &mut evidence) {
                return d;
            }
        }
        return explain_http(&facts, evidence);
    }
    let mut evidence = vec![answer_line(path, host)];
    evidence.extend(obs.dns.compare.iter().map(|a| answer_line(a, host)));
    // Each rung in order; the first that explains the outcome decides.
    for rung in [explain_dns, explain_connect, explain_tls] {
        if let Some(d) = rung(&facts, &mut evidence) {
            return d;
        }
    }
    explain_http(&facts, evidence)
}

/// What every rung of the explanation reads.
#[derive(Clone, Copy)]
struct Facts<'a> {
    obs: &'a Observation,
    opts: &'a ProbeOptions,
    topology: Option<&'a Topology>,
    host: &'a str,
    name: &'a Option<ExecuteApiName>,
    path: &'a DnsAnswer,
    /// A comparison resolver's public answer, when one gave it.
    public_elsewhere: Option<&'a DnsAnswer>,
    /// Whether the connecting path's answer is private (or mixed).
    path_private: bool,
}

fn diag(
    verdict: Verdict,
    rule: Rule,
    cause: String,
    evidence: Vec<String>,
    fixes: Vec<String>,
) -> Diagnosis {
    Diagnosis {
        verdict,
        rule,
        cause,
        evidence,
        fixes,
        confirmation: None,
    }
}

/// The DNS rung: no answer, or a private one for a public name.
fn explain_dns(f: &Facts<'_>, evidence: &mut Vec<String>) -> Option<Diagnosis> {
    let Facts {
        obs,
        opts,
        topology,
        host,
        path,
        ..
    } = *f;
    if path.outcome.addresses.is_empty() {
        if path.outcome.rcode == Rcode::NxDomain
            && let Some(other) = obs
                .dns
                .compare
                .iter()
                .find(|a| !a.outcome.addresses.is_empty())
        {
            let zone = topology.and_then(|t| {
                t.hosted_zones
                    .iter()
                    .filter(|z| opts.url.name().is_some_and(|n| n.is_within(&z.name)))
                    .max_by_key(|z| z.name.as_str().len())
            });
            let zone_text = zone
                .map(|z| {
                    format!(
                        "the private hosted zone {} (associated with {})",
                        z.name,
                        z.vpcs
                            .iter()
                            .map(|v| v.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .unwrap_or_else(|| "a private hosted zone".to_owned());
            return Some(diag(
                Verdict::PrivateAnswer,
                Rule::PrivateZoneNxdomain,
                format!(
                    "{zone_text} covers {host} but has no record for it: the VPC resolver answers NXDOMAIN and does not fall back to public DNS, while {} answers it",
                    other.resolver
                ),
                std::mem::take(evidence),
                vec![
                    format!("add a record for {host} to the private zone"),
                    "or narrow the private zone so it no longer covers the public name".to_owned(),
                ],
            ));
        }
        let why = path
            .error
            .clone()
            .unwrap_or_else(|| format!("the resolver answered {}", path.outcome.rcode));
        return Some(diag(
            Verdict::DnsFailure,
            Rule::DnsFailure,
            format!("{host} did not resolve: {why}"),
            std::mem::take(evidence),
            vec!["check the name, and that this host can reach its resolver".to_owned()],
        ));
    }
    None
}

/// The connect rung.
fn explain_connect(f: &Facts<'_>, evidence: &mut Vec<String>) -> Option<Diagnosis> {
    let Facts {
        obs,
        name,
        path_private,
        ..
    } = *f;
    if let Some(c) = &obs.connect
        && let Some(kind) = c.failure
    {
        evidence.push(format!(
            "connect {}: {}: {}",
            c.addr,
            kind,
            c.error.clone().unwrap_or_default()
        ));
        let mut cause = format!("TCP to {} failed ({kind})", c.addr);
        if path_private && name.is_some() {
            cause.push_str("; the address is private, so check the interface endpoint's security group allows inbound TCP 443 from this host");
        }
        return Some(diag(
            Verdict::ConnectFailure,
            Rule::ConnectFailure,
            cause,
            std::mem::take(evidence),
            vec![
                "check routes, security groups and network ACLs between this host and the address"
                    .to_owned(),
            ],
        ));
    }
    None
}

/// The proxy rung: the proxy resolved and reached, the tunnel opened, the TLS not re-signed.
fn explain_proxy(f: &Facts<'_>, evidence: &mut Vec<String>) -> Option<Diagnosis> {
    use crate::failure::{ProxyFailure, ServerCertProblem};
    let obs = f.obs;
    let p = obs.proxy.as_ref()?;
    let d = &obs.dns.path;
    if obs.connect.is_none() {
        return Some(diag(
            Verdict::DnsFailure,
            Rule::ProxyUnreachable,
            format!(
                "the proxy {} could not be resolved: {}",
                p.url,
                d.error.clone().unwrap_or_else(|| d.outcome.rcode.to_string())
            ),
            std::mem::take(evidence),
            vec!["check the proxy's name in -x or the proxy variables (HTTPS_PROXY, http_proxy, ALL_PROXY)".to_owned()],
        ));
    }
    if let Some(c) = &obs.connect
        && let Some(kind) = c.failure
    {
        evidence.push(format!(
            "connect {} (the proxy): {kind}: {}",
            c.addr,
            c.error.clone().unwrap_or_default()
        ));
        return Some(diag(
            Verdict::ConnectFailure,
            Rule::ProxyUnreachable,
            format!("the proxy {} cannot be reached ({kind})", p.url),
            std::mem::take(evidence),
            vec![
                "check that the proxy runs and that this host may reach it (routes, security groups)".to_owned(),
                "or bypass it for this host with --noproxy / NO_PROXY".to_owned(),
            ],
        ));
    }
    let auth_status = match (&p.failure, obs.http.as_ref().and_then(|h| h.status)) {
        (Some(ProxyFailure::AuthRequired { status }), _) => Some(*status),
        // Plain HTTP: the proxy answers the request itself.
        (None, Some(407)) => Some(407),
        _ => None,
    };
    if let Some(status) = auth_status {
        evidence.push(format!("proxy: {status} Proxy Authentication Required"));
        return Some(diag(
            Verdict::ConnectFailure,
            Rule::ProxyAuthRequired,
            format!("the proxy {} wants credentials ({status})", p.url),
            std::mem::take(evidence),
            vec!["give them with -U user:password or in the proxy URL (http://user:password@proxy:port)".to_owned()],
        ));
    }
    if let Some(failure) = &p.failure {
        evidence.push(format!("proxy: {failure}"));
        let target = format!("{}:{}", f.opts.url.host_str(), f.opts.url.port);
        return Some(diag(
            Verdict::ConnectFailure,
            Rule::ProxyRefused,
            format!(
                "the proxy {} did not open a tunnel to {target}: {failure}",
                p.url
            ),
            std::mem::take(evidence),
            vec![
                format!(
                    "allow CONNECT to {target} in the proxy's rules (tinyproxy ConnectPort, squid SSL_ports/http_access)"
                ),
                "or bypass the proxy for this host with --noproxy / NO_PROXY".to_owned(),
            ],
        ));
    }
    if let Some(t) = &obs.tls
        && t.verify_problem == Some(ServerCertProblem::UnknownIssuer)
    {
        let issuer = t
            .chain
            .first()
            .map(|c| c.issuer.clone())
            .unwrap_or_default();
        evidence.push(format!(
            "tls: the certificate for {} is issued by {issuer}",
            f.host
        ));
        return Some(diag(
            Verdict::TlsFailure,
            Rule::ProxyTlsInterception,
            format!(
                "through the proxy {}, the certificate for {} comes from an issuer we do not trust ({issuer}): the proxy likely terminates TLS and signs with its own CA",
                p.url, f.host
            ),
            std::mem::take(evidence),
            vec![
                "trust the proxy's CA (--cacert, or the system store) if the interception is sanctioned".to_owned(),
                "or bypass the proxy for this host with --noproxy / NO_PROXY".to_owned(),
            ],
        ));
    }
    None
}

/// The TLS rung: the handshake, the server's certificate, and ours.
fn explain_tls(f: &Facts<'_>, evidence: &mut Vec<String>) -> Option<Diagnosis> {
    let Facts {
        obs,
        opts,
        host,
        path,
        ..
    } = *f;
    if let Some(t) = &obs.tls {
        let leaf_san = t
            .chain
            .first()
            .map(|l| l.san.join(", "))
            .unwrap_or_default();
        if let Some(err) = &t.error {
            evidence.push(format!("tls: {err}"));
            if t.name_match == Some(false) {
                evidence.push(format!("tls: the server's certificate names {leaf_san}"));
            }
            let into_execute_api = path
                .outcome
                .cname_chain
                .iter()
                .any(|n| ExecuteApiName::parse(n.as_str()).is_some());
            let door_certificate = t
                .chain
                .first()
                .is_some_and(|l| l.san.iter().any(|s| s.starts_with("*.execute-api.")));
            if t.name_match == Some(false) && into_execute_api && door_certificate {
                let target = path
                    .outcome
                    .cname_chain
                    .last()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                return Some(diag(
                    Verdict::PrivateAnswer,
                    Rule::CnameIntoEndpoint,
                    format!("{host} is published as a CNAME to {target}, which this resolver sends into an execute-api endpoint's private zone; the endpoint serves its *.execute-api certificate, so the name check fails"),
                    std::mem::take(evidence),
                    vec!["publish the custom domain as a Route 53 alias record instead of a CNAME (reference §2.5)".to_owned(), "or turn private DNS off on the execute-api endpoint".to_owned()],
                ));
            }
            if t.client_cert_requested && t.failure.as_ref().is_some_and(|f| f.alert().is_some()) {
                return Some(client_cert_diag(
                    t,
                    opts,
                    std::mem::take(evidence),
                    Verdict::TlsFailure,
                ));
            }
            return Some(diag(
                Verdict::TlsFailure,
                Rule::TlsFailure,
                format!("the TLS handshake with {host} failed: {err}"),
                std::mem::take(evidence),
                vec![tls_fix(t.name_match, t.failure.as_ref())],
            ));
        }
        if let Some(refused) = &t.client_cert_refused {
            evidence.push(format!(
                "tls: the server refused our client certificate after the handshake: {refused}"
            ));
            return Some(client_cert_diag(
                t,
                opts,
                std::mem::take(evidence),
                Verdict::TlsFailure,
            ));
        }
    }
    None
}

/// The HTTP rung: what the status, the error type and the body say.
fn explain_http(f: &Facts<'_>, mut evidence: Vec<String>) -> Diagnosis {
    let Facts {
        obs,
        opts,
        topology,
        name,
        path,
        public_elsewhere,
        path_private,
        ..
    } = *f;
    let Some(h) = &obs.http else {
        return diag(
            Verdict::HttpError,
            Rule::HttpError,
            "no HTTP exchange took place".to_owned(),
            evidence,
            vec![],
        );
    };
    if let Some(err) = &h.error {
        evidence.push(format!("http: {err}"));
        return diag(
            Verdict::HttpError,
            Rule::HttpError,
            format!("the HTTP exchange failed: {err}"),
            evidence,
            vec![],
        );
    }
    let status = h.status.unwrap_or(0);
    if let Some(l) = http_line(obs) {
        evidence.push(l);
    }
    let et = h.error_type.as_deref().unwrap_or("");
    let api_type = |api: &parallax_model::ApiId| {
        topology
            .and_then(|t| t.api(api))
            .map(|a| a.endpoint_type.value)
    };

    if status == 403
        && et == "ForbiddenException"
        && path_private
        && let Some(ExecuteApiName::Default { api, region }) = &name
    {
        let kind = match api_type(api) {
            Some(t) => format!("{t} API {api}"),
            None => format!("public API {api}"),
        };
        // What sends the name to an endpoint, asked of each VPC's resolver view: the endpoint's
        // own private DNS, a shared private zone (the centralised-endpoint pattern), or a
        // Route 53 Profile. The probe does not know which VPC it runs in: every VPC whose view
        // answers the observed address is named.
        let routes: Vec<String> = match (topology, path.outcome.addresses.first(), opts.url.name())
        {
            (Some(t), Some(first), Some(host)) => {
                use parallax_model::Network;
                use parallax_rules::resolver::{QType, View, ViewKind};
                let kinds: Vec<ViewKind> = match &opts.network {
                    Some(Network::Vpc(id)) => vec![ViewKind::Vpc(id.clone())],
                    Some(Network::OnPrem(n)) => vec![ViewKind::OnPrem(n.clone())],
                    Some(Network::Internet) => Vec::new(),
                    None => t
                        .vpcs
                        .iter()
                        .map(|v| ViewKind::Vpc(v.id.value.clone()))
                        .collect(),
                };
                let mut out: Vec<String> = Vec::new();
                for kind in kinds {
                    let answer = View::build(t, kind.clone()).answer(host, QType::A);
                    if !answer.addresses().contains(first) {
                        continue;
                    }
                    if let Some(route) = route_to_endpoint(t, &answer.source, &kind, *first)
                        && !out.contains(&route)
                    {
                        out.push(route);
                    }
                }
                out
            }
            _ => Vec::new(),
        };
        let who = if routes.is_empty() {
            "an interface VPC endpoint for execute-api with private DNS".to_owned()
        } else {
            routes.join(", or ")
        };
        let mut d = diag(
            Verdict::PrivateAnswer,
            Rule::EndpointPrivateDns,
            format!(
                "{who} answers *.execute-api.{region}.{} {} with its private addresses; the endpoint routes only PRIVATE APIs, so the {kind} gets 403 ForbiddenException and its own logs stay empty",
                region.dns_suffix(),
                if matches!(opts.network, Some(parallax_model::Network::OnPrem(_))) {
                    "for this on-prem network"
                } else {
                    "inside this VPC"
                }
            ),
            evidence,
            {
                let mut fixes: Vec<String> = Vec::new();
                if matches!(opts.network, Some(parallax_model::Network::OnPrem(_))) {
                    fixes.push("on the on-prem DNS, forward only the private APIs' own names ({api-id}.execute-api.{region}.amazonaws.com) to the Resolver inbound endpoint, not the whole execute-api domain".to_owned());
                }
                fixes.extend(PRIVATE_DNS_FIXES.iter().map(|s| (*s).to_owned()));
                fixes
            },
        );
        if public_elsewhere.is_none() {
            d.evidence.push("no --compare-dns resolver gave a public answer to confirm with (try --compare-dns public=1.1.1.1)".to_owned());
        }
        return d;
    }
    if status == 403 && et == "MissingAuthenticationTokenException" {
        let mut cause = format!(
            "no resource and method match {} {}: API Gateway answers an unknown path or method this way (it is not about credentials)",
            opts.method, opts.url.path
        );
        if let (Some(ExecuteApiName::Default { api, .. }), Some(t)) = (&name, topology)
            && let Some(a) = t.api(api)
        {
            let routes: Vec<String> = a
                .routes
                .iter()
                .map(|r| {
                    format!(
                        "{} /{{stage}}{}",
                        parallax_rules::route::method_name(r.method.value),
                        r.path.as_str()
                    )
                })
                .collect();
            cause.push_str(&format!(
                "; {api} has {} (stages: {})",
                routes.join(", "),
                a.stages
                    .iter()
                    .map(|s| s.value.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        return diag(Verdict::HttpError, Rule::MissingAuthToken, cause, evidence, vec!["check the path (with the stage first on a default hostname), the method, and that the API was deployed".to_owned()]);
    }
    if status == 403 && et == "AccessDeniedException" {
        let message = serde_json::from_str::<serde_json::Value>(&h.body)
            .ok()
            .and_then(|v| v.get("Message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| h.body.clone());
        // The resource in the message says whose policy it was: a private custom domain
        // name's ARN has `:/domainnames/`.
        let (whose, fix) = if message.contains(":/domainnames/") {
            (
                "the private custom domain name's policy",
                "allow this caller in the domain name's policy (aws:SourceVpce), with aws apigateway update-domain-name --domain-name-id",
            )
        } else {
            (
                "the API's resource policy",
                "allow this caller in the resource policy (aws:SourceVpce / aws:SourceVpc / aws:SourceIp), then redeploy the API",
            )
        };
        return diag(
            Verdict::HttpError,
            Rule::AccessDenied,
            format!("{whose} refused the call: \"{message}\""),
            evidence,
            vec![fix.to_owned()],
        );
    }
    if status == 403 && et == "ForbiddenException" {
        return forbidden(obs, opts, topology, name.as_ref(), evidence);
    }
    if status == 429 {
        let (rule, cause) = if et == "LimitExceededException" {
            (
                Rule::Quota,
                "the usage plan's quota for this API key is used up for the period (429 LimitExceededException)",
            )
        } else {
            (
                Rule::Throttled,
                "the usage plan's throttle (rate and burst) for this API key is exceeded (429 TooManyRequestsException)",
            )
        };
        return diag(
            Verdict::HttpError,
            rule,
            cause.to_owned(),
            evidence,
            vec!["slow down and retry with backoff, or raise the plan's limits".to_owned()],
        );
    }
    if status == 504 {
        return diag(Verdict::HttpError, Rule::IntegrationFailure, "the API's integration (the upstream) timed out or failed".to_owned(), evidence, vec!["check the upstream from the API's side: reachability, TLS, and that it answers within the integration timeout (29 s at most)".to_owned()]);
    }
    if status >= 400 {
        return diag(
            Verdict::HttpError,
            Rule::HttpError,
            format!("the server answered {status}"),
            evidence,
            vec![],
        );
    }
    diag(
        Verdict::Ok,
        Rule::Ok,
        format!(
            "{status} from {}",
            obs.connect
                .as_ref()
                .map(|c| c.addr.to_string())
                .unwrap_or_default()
        ),
        evidence,
        vec![],
    )
}

/// In words, the part of a VPC's resolver view that sent a name to an endpoint.
fn route_to_endpoint(
    t: &Topology,
    source: &parallax_rules::resolver::Source,
    view: &parallax_rules::resolver::ViewKind,
    address: IpAddr,
) -> Option<String> {
    use parallax_rules::resolver::{Source, ViewKind};
    if let (Source::InboundEndpoint { endpoint, inner }, ViewKind::OnPrem(network)) = (source, view)
    {
        let vpc = t.inbound_endpoint(endpoint)?.vpc.value.clone();
        let there = route_to_endpoint(t, inner, &ViewKind::Vpc(vpc.clone()), address)?;
        return Some(format!(
            "the DNS of on-prem network {network}, which forwards the name to Resolver inbound endpoint {endpoint} in {vpc}, where {there},"
        ));
    }
    let ViewKind::Vpc(vpc) = view else {
        return None;
    };
    // The endpoint a customer zone's record leads to, when the address is one of its ENIs.
    let to = t
        .endpoints
        .iter()
        .find(|e| {
            e.is_execute_api()
                && e.subnets
                    .iter()
                    .any(|s| IpAddr::V4(s.address.value) == address)
        })
        .map(|e| {
            format!(
                "; its record sends the name to interface endpoint {} in {}",
                e.id, e.vpc
            )
        })
        .unwrap_or_default();
    let endpoint_in = |id: &parallax_model::VpceId| {
        t.endpoint(id)
            .map(|e| format!("{} in {}", e.id, e.vpc))
            .unwrap_or_else(|| id.to_string())
    };
    Some(match source {
        Source::EndpointZone(id) => match t.endpoint(id) {
            Some(e) => format!("interface endpoint {} (private DNS on) in {}", e.id, e.vpc),
            None => format!("interface endpoint {id} (private DNS on)"),
        },
        Source::PrivateZone(zone) => {
            format!("the private hosted zone {zone} (associated with {vpc}{to})")
        }
        Source::Profile { profile, inner } => match inner.innermost() {
            Source::EndpointZone(id) => format!(
                "the Route 53 Profile {profile} (associated with {vpc}, carrying the private DNS of interface endpoint {})",
                endpoint_in(id)
            ),
            Source::PrivateZone(zone) => format!(
                "the private hosted zone {zone} (shared with {vpc} by the Route 53 Profile {profile}{to})"
            ),
            _ => return None,
        },
        _ => return None,
    })
}

fn tls_fix(name_match: Option<bool>, failure: Option<&TlsFailure>) -> String {
    use crate::failure::ServerCertProblem as P;
    if name_match == Some(false) {
        return "the address answers for another name: check which server this name resolves to"
            .to_owned();
    }
    match failure {
        Some(TlsFailure::ServerCertificate {
            problem: P::UnknownIssuer,
        }) => "pass the server's CA with --cacert, or fix the server's chain".to_owned(),
        Some(TlsFailure::ServerCertificate {
            problem: P::CaUsedAsEndEntity,
        }) => "give the server a leaf certificate (basic constraints CA:FALSE) issued by a CA, and pass that CA with --cacert; or make the self-signed one with `-addext basicConstraints=critical,CA:FALSE`".to_owned(),
        Some(TlsFailure::ServerCertificate {
            problem: P::Expired | P::NotValidYet,
        }) => "renew the server's certificate, or check this host's clock".to_owned(),
        // A reset or an end of stream before the server's hello: it hung up instead of answering.
        Some(TlsFailure::ClosedBeforeHello) => "the server closed the connection without answering the ClientHello: if it expects a PROXY protocol header (behind a Network Load Balancer with proxy protocol on, or `parallax gateway --proxy-protocol`), send one with --haproxy-protocol; otherwise check that the port speaks TLS and that nothing filters on the SNI".to_owned(),
        _ => "check the server's certificate and TLS settings".to_owned(),
    }
}

fn client_cert_diag(
    t: &crate::observation::TlsLayer,
    opts: &ProbeOptions,
    mut evidence: Vec<String>,
    verdict: Verdict,
) -> Diagnosis {
    let cas = if t.acceptable_cas.is_empty() {
        "(no CA names sent)".to_owned()
    } else {
        t.acceptable_cas.join("; ")
    };
    evidence.push(format!(
        "tls: the server asked for a client certificate from: {cas}"
    ));
    let why = match &opts.identity {
        None => "no client certificate was sent (pass --cert and --key)".to_owned(),
        Some(id) => {
            let ours = id
                .chain
                .first()
                .map(|c| crate::ladder::describe_cert(c))
                .unwrap_or_default();
            evidence.push(format!("tls: ours: {ours}"));
            let leaf = id.chain.first().map(|c| crate::ladder::cert_info(c));
            if leaf.as_ref().is_some_and(|l| l.days_left < 0) {
                "our client certificate has expired".to_owned()
            } else if !t.acceptable_cas.is_empty()
                && !leaf
                    .as_ref()
                    .is_some_and(|l| t.acceptable_cas.contains(&l.issuer))
            {
                "our client certificate is not issued by a CA the server accepts".to_owned()
            } else {
                "the server refused our client certificate (issuer, chain depth, key or signature algorithm)".to_owned()
            }
        }
    };
    Diagnosis { verdict, rule: Rule::ClientCertRefused, cause: why, evidence, fixes: vec!["use a certificate issued by one of the CAs the server names, valid today, with at most 4 CA levels above it".to_owned()], confirmation: None }
}

/// 403 ForbiddenException with a public answer: which of the usual causes, most likely first.
fn forbidden(
    obs: &Observation,
    opts: &ProbeOptions,
    topology: Option<&Topology>,
    name: Option<&ExecuteApiName>,
    evidence: Vec<String>,
) -> Diagnosis {
    let tls = obs.tls.as_ref();
    let mk = |rule, cause: String, fixes: Vec<String>| Diagnosis {
        verdict: Verdict::HttpError,
        rule,
        cause,
        evidence: evidence.clone(),
        fixes,
        confirmation: None,
    };
    if tls.is_some_and(|t| t.client_cert_requested) && opts.identity.is_none() {
        return mk(Rule::ClientCertRefused, "the custom domain uses mutual TLS and no client certificate was sent; API Gateway answers that with HTTP 403".to_owned(), vec!["pass --cert and --key with a certificate from the domain's truststore".to_owned()]);
    }
    if tls.is_some_and(|t| t.client_cert_requested) {
        return mk(
            Rule::ClientCertRefused,
            "the custom domain uses mutual TLS and refused our certificate (not from its truststore, expired, more than 4 CA levels, or a weak key or signature); API Gateway answers that with HTTP 403".to_owned(),
            vec!["use a certificate issued by a CA in the domain's truststore, valid today".to_owned()],
        );
    }
    // A private custom domain name: only endpoints with an access association may invoke it,
    // and its base path mappings pick the API.
    if let (Some(t), Some(host)) = (topology, opts.url.name())
        && let Some(d) = t
            .custom_domain(host)
            .filter(|d| d.endpoint_type.value == EndpointType::Private)
    {
        if let Some(parallax_model::FrontDoor::VpcEndpoint(v)) = &obs.outcome.front_door
            && !d.access_associations.iter().any(|a| a.value == *v)
        {
            return mk(
                Rule::PrivateDomainAccess,
                format!(
                    "{} is a private custom domain name and {v} has no access association with it; only associated endpoints may invoke it",
                    d.name.value
                ),
                vec![format!(
                    "create an access association between {} and {v} (AWS::ApiGateway::DomainNameAccessAssociation, aws apigateway create-domain-name-access-association)",
                    d.name.value
                )],
            );
        }
        let first = first_segment(&opts.url.path);
        if !d
            .mappings
            .iter()
            .any(|m| m.base_path.is_empty() || m.base_path == first)
        {
            return mk(
                Rule::UnknownStage,
                format!(
                    "`{first}` is not a base path of {} (base paths: {})",
                    d.name.value,
                    d.mappings
                        .iter()
                        .map(|m| m.base_path.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                vec!["start the path with one of the domain's base paths".to_owned()],
            );
        }
    }
    if let (Some(ExecuteApiName::Default { api, .. }), Some(t)) = (name, topology)
        && let Some(a) = t.api(api)
    {
        if a.endpoint_type.value == EndpointType::Private {
            return mk(Rule::PrivateApiOutside, format!("{api} is a PRIVATE API and this request did not come through one of its VPC endpoints"), vec!["call it from a VPC with an execute-api endpoint, by a name that resolves to the endpoint".to_owned()]);
        }
        if a.disable_execute_api_endpoint {
            return mk(
                Rule::DefaultEndpointDisabled,
                format!(
                    "{api} has its default execute-api endpoint disabled; it answers only through its custom domains"
                ),
                vec!["call the API through its custom domain".to_owned()],
            );
        }
        let stage = first_segment(&opts.url.path);
        if !a.stages.iter().any(|s| s.value == stage) {
            return mk(
                Rule::UnknownStage,
                format!(
                    "`{stage}` is not a stage of {api} (stages: {}); the stage comes first in the path of a default hostname",
                    a.stages
                        .iter()
                        .map(|s| s.value.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                vec!["put the stage first in the path".to_owned()],
            );
        }
    }
    let (rule, cause) = if opts.api_key.is_none()
        && !opts
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("x-api-key"))
    {
        (Rule::ApiKey, "most likely the method requires an API key and none was sent (x-api-key); a missing stage in the path and a disabled default endpoint answer the same way".to_owned())
    } else {
        (Rule::ApiKey, "most likely the API key is not valid here: unknown, disabled, or not in a usage plan bound to this stage; a missing stage in the path answers the same way".to_owned())
    };
    mk(
        rule,
        cause,
        vec![
            "send a valid key as x-api-key, one in a usage plan of this API and stage".to_owned(),
            "check the stage is the first path segment".to_owned(),
        ],
    )
}

/// Runs the pinned retry when the rule suspects the resolver path and another resolver gave a
/// public answer.
pub async fn confirm(diagnosis: &mut Diagnosis, obs: &Observation, opts: &ProbeOptions) {
    if !opts.confirm || !diagnosis.rule.suspects_resolver_path() {
        return;
    }
    let Some(public) = obs
        .dns
        .compare
        .iter()
        .find(|a| a.outcome.verdict() == DnsVerdict::Public)
    else {
        return;
    };
    let Some(addr) = public.outcome.addresses.first().copied() else {
        return;
    };
    // The retry only answers the question: its body goes nowhere and it is not traced.
    let mut quiet = opts.clone();
    quiet.output = None;
    quiet.include_headers = false;
    quiet.trace = None;
    let retry = ladder::run(&quiet, Some(addr)).await;
    let http = retry.http.as_ref();
    let status = http.and_then(|h| h.status);
    let error = retry
        .tls
        .as_ref()
        .and_then(|t| t.error.clone())
        .or_else(|| retry.connect.as_ref().and_then(|c| c.error.clone()))
        .or_else(|| http.and_then(|h| h.error.clone()));
    diagnosis.confirmation = Some(Confirmation {
        resolver: public.resolver.clone(),
        addr,
        status,
        error_type: http.and_then(|h| h.error_type.clone()),
        error,
        confirmed: status.is_some_and(|s| s < 400),
    });
}

/// The first segment of a URL path: a REST API's stage, or a custom domain's base path.
fn first_segment(path: &str) -> &str {
    path.trim_start_matches('/')
        .split(['/', '?'])
        .next()
        .unwrap_or("")
}
