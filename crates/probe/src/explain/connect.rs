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
