//! Rules over an observation (and a topology, when one is given) that say what went wrong, in
//! words, with the evidence, the fixes, and (for the resolver path) a pinned confirmation.
//!
//! Exit codes (`parallax probe`): 0 the expectation is met (or, with no `--expect`, the status
//! is below 400); 10 DNS failure; 11 a private answer for a public name (the resolver path is
//! the cause); 12 connect failure; 13 TLS failure; 14 HTTP error or unexpected status.

use std::net::IpAddr;

use parallax_model::topology::Topology;
use parallax_model::{DnsVerdict, ErrorType, ExecuteApiName};
use serde::Serialize;

use crate::ladder;
use crate::observation::{DnsAnswer, Observation};
use crate::options::ProbeOptions;

mod connect;
mod dns;
mod http;
mod proxy;
mod tls;

use connect::explain_connect;
use dns::explain_dns;
use http::explain_http;
use proxy::explain_proxy;
use tls::explain_tls;

/// A diagnosis rule, by its stable id (what `--json` and the text report carry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Nothing is wrong.
    Ok,
    /// The name did not resolve.
    DnsFailure,
    /// A private zone answers NXDOMAIN for the name.
    PrivateZoneNxdomain,
    /// An execute-api endpoint's private DNS (or a zone or profile sending the name there) takes a
    /// public API's name.
    EndpointPrivateDns,
    /// A CNAME leads into an execute-api endpoint's private zone.
    CnameIntoEndpoint,
    /// No TCP connection.
    ConnectFailure,
    /// The TLS handshake failed.
    TlsFailure,
    /// No TLS version in common: a security policy's floor above the client's ceiling.
    TlsVersion,
    /// The custom domain's mutual TLS refused the client certificate (or none was sent).
    ClientCertRefused,
    /// The HTTP exchange failed or answered an error.
    HttpError,
    /// 403 MissingAuthenticationTokenException: no such resource or method.
    MissingAuthToken,
    /// 403 AccessDeniedException: a resource policy refused.
    AccessDenied,
    /// 403 with a SigV4 error: the signature does not verify, is incomplete, or its key is
    /// unknown.
    Signature,
    /// An authorizer refused: no token or a refused one (401), or a Lambda authorizer's policy
    /// (403).
    Authorizer,
    /// 403 ForbiddenException, most likely about the API key.
    ApiKey,
    /// The path names no stage (or base path).
    UnknownStage,
    /// The API's default endpoint is disabled.
    DefaultEndpointDisabled,
    /// A private API called from outside its endpoints.
    PrivateApiOutside,
    /// A private custom domain name called through an endpoint without an access association.
    PrivateDomainAccess,
    /// A REGIONAL or EDGE API called through an interface endpoint, which routes only PRIVATE
    /// APIs.
    PublicApiThroughEndpoint,
    /// An endpoint-specific name with neither a Host naming the API nor `x-apigw-api-id`.
    VpceNameWithoutApi,
    /// Endpoint access mode STRICT refused a request whose SNI does not name the resource.
    StrictAccessMode,
    /// 429 from the usage plan's throttle.
    Throttled,
    /// 429 from the usage plan's quota.
    Quota,
    /// The integration (upstream) timed out or failed.
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
    pub const ALL: [Rule; 30] = [
        Rule::Ok,
        Rule::DnsFailure,
        Rule::PrivateZoneNxdomain,
        Rule::EndpointPrivateDns,
        Rule::CnameIntoEndpoint,
        Rule::ConnectFailure,
        Rule::TlsFailure,
        Rule::TlsVersion,
        Rule::ClientCertRefused,
        Rule::HttpError,
        Rule::MissingAuthToken,
        Rule::AccessDenied,
        Rule::Signature,
        Rule::Authorizer,
        Rule::ApiKey,
        Rule::UnknownStage,
        Rule::DefaultEndpointDisabled,
        Rule::PrivateApiOutside,
        Rule::PrivateDomainAccess,
        Rule::PublicApiThroughEndpoint,
        Rule::VpceNameWithoutApi,
        Rule::StrictAccessMode,
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
            Rule::TlsVersion => "tls-version",
            Rule::ClientCertRefused => "client-cert-refused",
            Rule::HttpError => "http-error",
            Rule::MissingAuthToken => "missing-auth-token",
            Rule::AccessDenied => "access-denied",
            Rule::Signature => "signature",
            Rule::Authorizer => "authorizer",
            Rule::ApiKey => "api-key",
            Rule::UnknownStage => "unknown-stage",
            Rule::DefaultEndpointDisabled => "default-endpoint-disabled",
            Rule::PrivateApiOutside => "private-api-outside",
            Rule::PrivateDomainAccess => "private-domain-access",
            Rule::PublicApiThroughEndpoint => "public-api-through-endpoint",
            Rule::VpceNameWithoutApi => "vpce-name-without-api",
            Rule::StrictAccessMode => "strict-access-mode",
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

/// What went wrong, in words, with the evidence, the fixes and the pinned confirmation.
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
    /// The pinned retry through another resolver's answer, when one was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<Confirmation>,
}

/// Which layer failed, which decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The request got what was expected.
    Ok,
    /// DNS failed.
    DnsFailure,
    /// A private answer for a public name.
    PrivateAnswer,
    /// No connection.
    ConnectFailure,
    /// TLS failed.
    TlsFailure,
    /// The HTTP exchange failed or answered an error.
    HttpError,
}

impl Verdict {
    /// The process exit code for this verdict (see the module's table).
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
    /// The address the retry was pinned to.
    pub addr: IpAddr,
    /// The retry's HTTP status, when it got one.
    pub status: Option<u16>,
    /// The retry's `x-amzn-ErrorType`, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<ErrorType>,
    /// Why the retry failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// True when the pinned request succeeded (status below 400): the resolver path was the cause.
    pub confirmed: bool,
}

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
pub(super) struct Facts<'a> {
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

pub(super) fn diag(
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
