//! The proxy rung: the proxy resolved and reached, the tunnel opened, the TLS not re-signed.

use super::{Diagnosis, Facts, Rule, Verdict, diag};

/// The proxy rung: the proxy resolved and reached, the tunnel opened, the TLS not re-signed.
pub(super) fn explain_proxy(f: &Facts<'_>, evidence: &mut Vec<String>) -> Option<Diagnosis> {
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
