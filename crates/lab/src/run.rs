//! Running a scenario against real resolver listeners.

use std::time::{Duration, Instant};

use parallax_dns::client::lookup_a;
use parallax_dns::view::{Source, View};
use parallax_dns::{Resolver, ResolverConfig};
use parallax_model::outcome::join_addresses;
use parallax_model::{DnsOutcome, Network, Outcome, Rcode, Scenario, Topology};

use crate::report::{LabReport, RequestRecord, StepReport};

/// How long one DNS question may take on loopback before it counts as unanswered.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, Default)]
pub struct LabOptions {
    /// Stop after this step (by name); `None` = run every step.
    pub until_step: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    #[error("scenario `{scenario}` has no step `{step}` (steps: {known})")]
    UnknownStep {
        scenario: String,
        step: String,
        known: String,
    },
    #[error(transparent)]
    Dns(#[from] parallax_dns::DnsError),
}

/// Runs `scenario`'s steps in order. Returns the report and the resolver, still running with
/// the topology of the last step run (for `--keep-running`; drop or shut it down otherwise).
pub async fn run(
    scenario: &Scenario,
    opts: &LabOptions,
) -> Result<(LabReport, Resolver), LabError> {
    let started = Instant::now();
    let last = match &opts.until_step {
        Some(name) => scenario
            .step_index(name)
            .ok_or_else(|| LabError::UnknownStep {
                scenario: scenario.name.clone(),
                step: name.clone(),
                known: scenario
                    .steps
                    .iter()
                    .map(|s| s.name.value.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?,
        None => scenario.steps.len().saturating_sub(1),
    };
    let mut resolver = Resolver::start(&scenario.topology, ResolverConfig::default()).await?;
    let mut views = view_names(&scenario.topology);
    let mut steps = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate().take(last + 1) {
        let Some(topology) = scenario.topology_at(i) else {
            break;
        };
        // Live swap when the set of views is the same; a clean restart when a VPC came or went.
        if view_names(topology) == views {
            resolver.update(topology);
        } else {
            resolver.shutdown().await;
            resolver = Resolver::start(topology, ResolverConfig::default()).await?;
            views = view_names(topology);
        }
        let mut requests = Vec::new();
        for req in &step.requests {
            requests.push(ask(&resolver, topology, step.name.as_str(), req).await);
        }
        steps.push(StepReport {
            name: step.name.value.clone(),
            description: step.description.trim().to_owned(),
            changes: step.changes.iter().map(|c| c.summary()).collect(),
            requests,
        });
    }
    let report = LabReport {
        scenario: scenario.name.clone(),
        description: scenario.description.trim().to_owned(),
        steps,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    Ok((report, resolver))
}

fn view_names(t: &Topology) -> Vec<String> {
    View::all(t).iter().map(View::name).collect()
}

async fn ask(
    resolver: &Resolver,
    topology: &Topology,
    step: &str,
    req: &parallax_model::Request,
) -> RequestRecord {
    // Loading checked that every request's vantage point exists at its step.
    let network = topology
        .vantage(&req.from)
        .map(|v| v.network.value.clone())
        .unwrap_or(Network::Internet);
    let view_name = network.to_string();
    let host = &req.url.host;
    let view = View::for_network(topology, &network);
    let predicted = view.answer(host, parallax_dns::QType::A);

    let (observed, error) = match resolver.addr_of(&view_name) {
        Some(addr) => match lookup_a(addr, host, ASK_TIMEOUT).await {
            Ok(d) => (d, None),
            Err(e) => (no_answer(), Some(e.to_string())),
        },
        None => (
            no_answer(),
            Some(format!("no listener for view {view_name}")),
        ),
    };
    let outcome = Outcome {
        dns: observed,
        front_door: None,
        http: None,
    };

    let mut differences: Vec<String> = error.iter().map(|e| format!("dns: {e}")).collect();
    // A forwarded name is answered by the rule's target, which the view cannot know.
    if predicted.forward.is_none() {
        let mut want = predicted.addresses();
        want.sort();
        let mut got = outcome.dns.addresses.clone();
        got.sort();
        if want != got || predicted.rcode != outcome.dns.rcode {
            differences.push(format!(
                "resolver: the model's view answers {} {}, the server answered {} {}",
                predicted.rcode,
                join_addresses(&want),
                outcome.dns.rcode,
                join_addresses(&got)
            ));
        }
    }
    let (expected, unchecked) = match &req.expect {
        Some(e) => {
            differences.extend(e.differences(&outcome));
            (
                Some(e.value.clone()),
                e.unchecked(&outcome)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            )
        }
        None => (None, Vec::new()),
    };
    RequestRecord {
        step: step.to_owned(),
        from: req.from.value.clone(),
        view: view_name,
        resolver: resolver.addr_of(&network.to_string()),
        method: req.method.clone(),
        url: req.url.to_string(),
        host: host.to_string(),
        verdict: outcome.dns.verdict(),
        answered_by: describe(&predicted.source),
        outcome,
        error,
        expected,
        differences,
        unchecked,
    }
}

fn no_answer() -> DnsOutcome {
    DnsOutcome {
        rcode: Rcode::ServFail,
        cname_chain: vec![],
        addresses: vec![],
        ttl: None,
    }
}

/// Which part of the view answered, in words.
fn describe(source: &Source) -> String {
    match source {
        Source::ResolverRule(id) => format!("forwarded by resolver rule {id}"),
        Source::PrivateZone(zone) => format!("private hosted zone {zone}"),
        Source::EndpointZone(id) => format!("private DNS of interface endpoint {id}"),
        Source::Public(zone) => format!("public DNS ({zone})"),
        Source::Nobody => "no zone of this view holds the name".to_owned(),
    }
}
