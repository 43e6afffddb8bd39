//! The DNS rung: no answer, or a private one for a public name.

use parallax_model::Rcode;

use super::{Diagnosis, Facts, Rule, Verdict, diag};

/// The DNS rung: no answer, or a private one for a public name.
pub(super) fn explain_dns(f: &Facts<'_>, evidence: &mut Vec<String>) -> Option<Diagnosis> {
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
