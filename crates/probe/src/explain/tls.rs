//! The TLS rung: the handshake, the server's certificate, and the client's.

use parallax_model::ExecuteApiName;

use super::{Diagnosis, Facts, Rule, Verdict, diag};
use crate::failure::TlsFailure;
use crate::options::ProbeOptions;

/// The TLS rung: the handshake, the server's certificate, and ours.
pub(super) fn explain_tls(f: &Facts<'_>, evidence: &mut Vec<String>) -> Option<Diagnosis> {
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
            if t.failure == Some(TlsFailure::VersionRefused) {
                let offered = if opts.tls.min == opts.tls.max {
                    opts.tls.min.to_string()
                } else {
                    format!("{} to {}", opts.tls.min, opts.tls.max)
                };
                let (cause, fixes) = if opts.tls.max < parallax_model::topology::TlsVersion::Tls13 {
                    (
                        format!("{host} takes no TLS version we offered ({offered}): its security policy most likely accepts TLS 1.3 only (API Gateway's SecurityPolicy_TLS13_1_3_…), and a TLS 1.2 client is refused at the handshake"),
                        vec![
                            "let the client speak TLS 1.3 (drop --tls-max 1.2; upgrade an old TLS stack)".to_owned(),
                            "or give the API or domain a security policy that takes TLS 1.2 (SecurityPolicy_TLS13_1_2_…, TLS_1_2)".to_owned(),
                        ],
                    )
                } else {
                    (
                        format!(
                            "{host} takes no TLS version we offered ({offered}): an interface endpoint's door without an enhanced security policy speaks TLS 1.2 only"
                        ),
                        vec!["offer TLS 1.2 as well (drop --tlsv1.3)".to_owned()],
                    )
                };
                return Some(diag(
                    Verdict::TlsFailure,
                    Rule::TlsVersion,
                    cause,
                    std::mem::take(evidence),
                    fixes,
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
            problem: P::SelfSigned,
        }) => "trust it: pass the certificate itself with --cacert (a self-signed server certificate given as trusted is accepted, CA:TRUE or not, as curl accepts it); or give the server a certificate from a CA this host trusts".to_owned(),
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
