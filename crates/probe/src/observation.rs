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
    /// What the resolver answered.
    pub outcome: DnsOutcome,
    /// The class of each address, in order.
    pub classes: Vec<AddressClass>,
    /// With `--ip-ranges`: each address's AWS owner (`AWS us-east-1 AMAZON`), or `not AWS`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aws: Vec<String>,
    /// How long the query took.
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

/// The DNS rung: the answer the connection used and those of comparison resolvers.
#[derive(Clone, Debug, Serialize)]
pub struct DnsLayer {
    /// The answer the request used.
    pub path: DnsAnswer,
    /// The other resolvers asked (`--compare-dns`), for the comparison.
    pub compare: Vec<DnsAnswer>,
}

pub use crate::failure::ConnectFailure;

/// The TCP connect rung.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectLayer {
    /// The address the name resolved to (or was pinned to).
    pub addr: SocketAddr,
    /// The socket actually dialled when a `--connect-to` rule applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<SocketAddr>,
    /// How long the connect took.
    pub elapsed_ms: f64,
    /// Why it failed, as a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<ConnectFailure>,
    /// Why it failed, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A certificate of the server's chain.
#[derive(Clone, Debug, Serialize)]
pub struct CertInfo {
    /// The subject's distinguished name.
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// The subject alternative names.
    pub san: Vec<String>,
    /// The serial number, in hex.
    pub serial: String,
    /// notBefore.
    pub not_before: String,
    /// notAfter.
    pub not_after: String,
    /// `not_after` in seconds since the Unix epoch (`probe_ssl_earliest_cert_expiry`).
    #[serde(skip)]
    pub not_after_unix: Option<i64>,
    /// Days until notAfter (negative once past).
    pub days_left: i64,
    /// SHA-256 of the certificate's DER, in lower-case hex (`probe_ssl_last_chain_info`).
    #[serde(skip)]
    pub fingerprint_sha256: String,
}

/// The TLS rung: what the handshake settled and what the certificates show.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TlsLayer {
    /// The name sent as SNI (none for an address).
    pub sni: Option<String>,
    /// The protocol version (`TLSv1.3`).
    pub version: Option<String>,
    /// The cipher suite.
    pub cipher: Option<String>,
    /// The ALPN protocol agreed (`h2`, `http/1.1`).
    pub alpn: Option<String>,
    /// The server's chain, leaf first.
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
    /// Whether the server asked for a client certificate.
    pub client_cert_requested: bool,
    /// The CA names the server said it accepts client certificates from.
    pub acceptable_cas: Vec<String>,
    /// Whether one was sent.
    pub client_cert_sent: bool,
    /// The server refused our certificate (TLS 1.3 reports this on the first read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert_refusal: Option<ClientCertRefusal>,
    /// The same, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert_refused: Option<String>,
    /// How long the handshake took.
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

    /// A lone self-signed certificate that is not trusted is said as such (as curl and OpenSSL
    /// say it), not as an unknown issuer or a CA used as a leaf: the fix is to trust it.
    pub fn name_self_signed(&mut self) {
        use crate::failure::{ServerCertProblem as P, TlsFailure};
        let lone =
            self.chain.len() == 1 && self.chain.first().is_some_and(|c| c.subject == c.issuer);
        if !lone || self.trust == Some(TrustRule::ServerCertificateTrusted) {
            return;
        }
        let rename = |p: &mut P| {
            if matches!(p, P::UnknownIssuer | P::CaUsedAsEndEntity) {
                *p = P::SelfSigned;
            }
        };
        if let Some(p) = &mut self.verify_problem {
            rename(p);
            self.verify_error = Some(p.to_string());
        }
        if let Some(TlsFailure::ServerCertificate { problem }) = &mut self.failure {
            rename(problem);
            self.error = self.failure.as_ref().map(ToString::to_string);
        }
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

/// The HTTP rung: status, headers, error type and the start of the body.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HttpLayer {
    /// The status code, once a response came.
    pub status: Option<u16>,
    /// `x-amzn-RequestId`, `x-amzn-ErrorType`, `x-amz-apigw-id`, `apigw-requestid`, `via`,
    /// `x-cache`, `content-type`, `server`: those present.
    pub headers: std::collections::BTreeMap<String, String>,
    /// `x-amzn-ErrorType` without its `:http://…` suffix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<parallax_model::ErrorType>,
    /// The first 4 KB of the body, as text.
    pub body: String,
    /// Whether the body was longer than what was kept.
    pub body_truncated: bool,
    /// How long the exchange took.
    pub elapsed_ms: f64,
    /// `1.1`, `1.0` or `2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// From sending the request to the response head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_byte_ms: Option<f64>,
    /// Body bytes received (all of them when the body went to `-o`; else at most the part read).
    pub size_download: u64,
    /// Request body bytes sent (curl's `%{size_upload}`).
    #[serde(default)]
    pub size_upload: u64,
    /// Every response header in the order and case it came (`-v`, `%header{}`); not in the JSON
    /// report, which keeps the ones that explain an answer.
    #[serde(skip)]
    pub all_headers: Vec<(String, String)>,
    /// The response's heads as they came (`-i`, `-D`); not in the JSON report.
    #[serde(skip)]
    pub raw_head: Vec<u8>,
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
    /// The URL probed.
    pub url: String,
    /// The method sent.
    pub method: String,
    /// The request's headers as sent, with secrets (`x-api-key`, `authorization`,
    /// `proxy-authorization`, `cookie`) shown as `***`.
    pub request_headers: std::collections::BTreeMap<String, String>,
    /// The DNS rung.
    pub dns: DnsLayer,
    /// The connect rung, when reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectLayer>,
    /// The HTTP proxy the request went through (`-x`, `HTTPS_PROXY`, ...): then `dns` and
    /// `connect` are the proxy's, and the proxy resolved the URL's host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyLayer>,
    /// The TLS rung, for `https://`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsLayer>,
    /// The HTTP rung, when reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpLayer>,
    /// The same request in the shape predictions use.
    pub outcome: Outcome,
    /// How long the whole ladder took.
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
    /// How long reaching the proxy took.
    pub elapsed_ms: f64,
    /// Why it failed, as a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<crate::failure::ProxyFailure>,
    /// Why it failed, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ProxyLayer {
    /// Records a failure and its words.
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
