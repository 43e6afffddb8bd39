//! What the probe saw, layer by layer. This is the `--json` report's `observation` (schema
//! `parallax.probe/v1`, in `schemas/probe-report.v1.json`).

use std::net::{IpAddr, SocketAddr};

use parallax_model::{AddressClass, DnsOutcome, Outcome};
use serde::Serialize;

use crate::failure::{ClientCertRefusal, DnsFailure, HttpFailure, ServerCertProblem, TlsFailure};

/// One resolver's answer for the URL's host.
#[derive(Clone, Debug, Serialize)]
pub struct DnsAnswer {
    /// `system`, `dns-servers`, `pinned` (for `--resolve`), or a `--compare-dns` name.
    pub resolver: String,
    /// The server asked (absent for `/etc/hosts` and `--resolve`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<SocketAddr>,
    /// Where the answer came from when not a DNS server: `/etc/hosts` or `--resolve`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub outcome: DnsOutcome,
    /// The class of each address, in order.
    pub classes: Vec<AddressClass>,
    /// With `--ip-ranges`: each address's AWS owner (`AWS us-east-1 AMAZON`), or `not AWS`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aws: Vec<String>,
    pub elapsed_ms: f64,
    /// Why there is no answer, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<DnsFailure>,
    /// The same, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DnsAnswer {
    /// Records why there is no answer (the words come from the failure itself).
    pub fn fail(&mut self, f: DnsFailure) {
        self.error = Some(f.to_string());
        self.failure = Some(f);
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct DnsLayer {
    /// The answer the request used.
    pub path: DnsAnswer,
    /// The other resolvers asked (`--compare-dns`), for the comparison.
    pub compare: Vec<DnsAnswer>,
}

pub use crate::failure::ConnectFailure;

#[derive(Clone, Debug, Serialize)]
pub struct ConnectLayer {
    /// The address the name resolved to (or was pinned to).
    pub addr: SocketAddr,
    /// The socket actually dialled when a `--connect-to` rule applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<SocketAddr>,
    pub elapsed_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<ConnectFailure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A certificate of the server's chain.
#[derive(Clone, Debug, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub san: Vec<String>,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// `not_after` in seconds since the Unix epoch (`probe_ssl_earliest_cert_expiry`).
    #[serde(skip)]
    pub not_after_unix: Option<i64>,
    pub days_left: i64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct TlsLayer {
    pub sni: Option<String>,
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub alpn: Option<String>,
    pub chain: Vec<CertInfo>,
    /// Whether the leaf names the host.
    pub name_match: Option<bool>,
    /// Whether the chain verified against the trust roots.
    pub verified: bool,
    /// Which rule accepted or refused the server's certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust: Option<TrustRule>,
    /// `-k` was given (curl then loads no trust anchors).
    #[serde(skip)]
    pub verify_skipped: bool,
    /// The verification problem (also with `-k`, which goes on despite it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_problem: Option<ServerCertProblem>,
    /// The same, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_error: Option<String>,
    pub client_cert_requested: bool,
    /// The CA names the server said it accepts client certificates from.
    pub acceptable_cas: Vec<String>,
    pub client_cert_sent: bool,
    /// The server refused our certificate (TLS 1.3 reports this on the first read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert_refusal: Option<ClientCertRefusal>,
    /// The same, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert_refused: Option<String>,
    pub elapsed_ms: f64,
    /// Why the handshake failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<TlsFailure>,
    /// The same, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The rule that decided about the server's certificate, as curl (OpenSSL) would decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrustRule {
    /// The chain leads to a trusted CA (`--cacert`, `--capath`, the bundle, or the system's).
    Chain,
    /// The server's own certificate is one of the trusted certificates (a self-signed one in
    /// `--cacert`, CA:TRUE or not), and it names the host and is within its dates.
    ServerCertificateTrusted,
    /// `-k`: the certificate did not verify, and the probe went on.
    Insecure,
    /// Nothing trusted it.
    Refused,
}

impl std::fmt::Display for TrustRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrustRule::Chain => "the chain leads to a trusted CA",
            TrustRule::ServerCertificateTrusted => {
                "the server's own certificate is among the trusted ones"
            }
            TrustRule::Insecure => "not verified (-k)",
            TrustRule::Refused => "refused",
        })
    }
}

impl TlsLayer {
    /// Records why the handshake failed (the words come from the failure itself).
    pub fn fail(&mut self, f: TlsFailure) {
        self.error = Some(f.to_string());
        self.failure = Some(f);
    }

    /// Records a verification problem.
    pub fn unverified(&mut self, p: ServerCertProblem) {
        self.verify_error = Some(p.to_string());
        self.verify_problem = Some(p);
    }

    /// Records that the server refused our client certificate.
    pub fn refused(&mut self, r: ClientCertRefusal) {
        self.client_cert_refused = Some(r.to_string());
        self.client_cert_refusal = Some(r);
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct HttpLayer {
    pub status: Option<u16>,
    /// `x-amzn-RequestId`, `x-amzn-ErrorType`, `x-amz-apigw-id`, `apigw-requestid`, `via`,
    /// `x-cache`, `content-type`, `server`: those present.
    pub headers: std::collections::BTreeMap<String, String>,
    /// `x-amzn-ErrorType` without its `:http://…` suffix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<parallax_model::ErrorType>,
    /// The first 4 KB of the body, as text.
    pub body: String,
    pub body_truncated: bool,
    pub elapsed_ms: f64,
    /// `1.1`, `1.0` or `2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// From sending the request to the response head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_byte_ms: Option<f64>,
    /// Body bytes received (all of them when the body went to `-o`; else at most the part read).
    pub size_download: u64,
    /// Every response header, in order (`-i`, `-v`); not in the JSON report, which keeps the
    /// ones that explain an answer.
    #[serde(skip)]
    pub all_headers: Vec<(String, String)>,
    /// Why the exchange failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<HttpFailure>,
    /// The same, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl HttpLayer {
    /// Records why the exchange failed (the words come from the failure itself).
    pub fn fail(&mut self, f: HttpFailure) {
        self.error = Some(f.to_string());
        self.failure = Some(f);
    }
}

/// Everything observed for one request.
#[derive(Clone, Debug, Serialize)]
pub struct Observation {
    pub url: String,
    pub method: String,
    /// The request's headers as sent, with secrets (`x-api-key`, `authorization`,
    /// `proxy-authorization`, `cookie`) shown as `***`.
    pub request_headers: std::collections::BTreeMap<String, String>,
    pub dns: DnsLayer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectLayer>,
    /// The HTTP proxy the request went through (`-x`, `HTTPS_PROXY`, ...): then `dns` and
    /// `connect` are the proxy's, and the proxy resolved the URL's host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyLayer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsLayer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpLayer>,
    /// The same request in the shape predictions use.
    pub outcome: Outcome,
    pub total_ms: f64,
}

/// The proxy hop.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProxyLayer {
    /// The proxy, without credentials.
    pub url: String,
    /// Where the proxy came from: `-x`, or the variable (`HTTPS_PROXY`, ...).
    pub from: String,
    /// The CONNECT answer's status (HTTPS through the proxy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_status: Option<u16>,
    pub elapsed_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<crate::failure::ProxyFailure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ProxyLayer {
    pub fn fail(&mut self, f: crate::failure::ProxyFailure) {
        self.error = Some(f.to_string());
        self.failure = Some(f);
    }
}

impl Observation {
    /// The address the request connected to, if it got that far.
    pub fn connected_ip(&self) -> Option<IpAddr> {
        self.connect.as_ref().map(|c| c.addr.ip())
    }
}
