//! The connect rung: the TCP connection to the answer's addresses.

use super::{Diagnosis, Facts, Rule, Verdict, diag};

/// The connect rung.
pub(super) fn explain_connect(f: &Facts<'_>, evidence: &mut Vec<String>) -> Option<Diagnosis> {
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
        // A refusal is an answer: the address was reached and nothing listens on the port (a
        // security group or network ACL drops, it does not refuse).
        let refused = kind == crate::failure::ConnectFailure::Refused;
        let mut cause = format!("TCP to {} failed ({kind})", c.addr);
        let fix = if refused {
            cause.push_str(&format!(
                ": the host answered, and nothing listens on port {}",
                c.addr.port()
            ));
            format!(
                "check that the service runs and listens on {} (the port, and an address that is not only loopback), or that the URL's port is the right one",
                c.addr
            )
        } else {
            if path_private && name.is_some() {
                cause.push_str("; the address is private, so check the interface endpoint's security group allows inbound TCP 443 from this host");
            }
            "check routes, security groups and network ACLs between this host and the address"
                .to_owned()
        };
        return Some(diag(
            Verdict::ConnectFailure,
            Rule::ConnectFailure,
            cause,
            std::mem::take(evidence),
            vec![fix],
        ));
    }
    None
}
