//! The loop: every target probed every interval (its start spread by the jitter), at most
//! `concurrency` at once, each bounded by the timeout, so that no target can starve the others.
//! The last summary of each target is kept; a change of answer class, front door or diagnosis is
//! one JSON event line, with the before, the after, the cause and its confirmation.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use parallax_model::topology::Topology;
use parallax_probe::explain::{Confirmation, Rule, Verdict};
use parallax_probe::report::ProbeReport;
use tokio::sync::{Semaphore, watch};

use crate::config::{Config, Target};
pub use crate::event::{Event, Seen};
use crate::metrics::{Labels, Metrics, Summary};

/// The shared state: metrics, each target's last summary, and where events go.
pub struct State {
    /// The metrics every probe updates.
    pub metrics: Metrics,
    /// Each target's last summary and when it was taken (seconds since the epoch).
    last: Mutex<HashMap<String, (Summary, f64)>>,
    events: Box<dyn Fn(&Event) + Send + Sync>,
    /// What the diagnoses are read against, replaced whole when a fresher one comes.
    topology: RwLock<Option<Arc<Topology>>>,
    /// Changes of the account, oldest first, with when they were seen; at most [`NOTES`].
    notes: Mutex<VecDeque<(f64, serde_json::Value)>>,
    /// Each target's last pinned confirmation, with the answer it was made for.
    confirmations: Mutex<HashMap<String, (AnswerKey, Confirmation)>>,
}

/// What a confirmation holds for: the diagnosis and the addresses the path answered.
type AnswerKey = (Rule, Vec<std::net::IpAddr>);

fn answer_key(report: &ProbeReport) -> AnswerKey {
    let mut addrs = report.observation.dns.path.outcome.addresses.clone();
    addrs.sort_unstable();
    (report.diagnosis.rule, addrs)
}

/// Account changes kept for events to name.
pub const NOTES: usize = 256;

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

impl State {
    /// `events` receives every change (the binary writes them to standard output as JSON lines).
    pub fn new(events: Box<dyn Fn(&Event) + Send + Sync>) -> State {
        State::with_metrics(Metrics::new(), events)
    }

    /// [`State::new`] with metrics made before (whose delivery families a webhook holds).
    pub fn with_metrics(metrics: Metrics, events: Box<dyn Fn(&Event) + Send + Sync>) -> State {
        State {
            metrics,
            last: Mutex::new(HashMap::new()),
            events,
            topology: RwLock::new(None),
            notes: Mutex::new(VecDeque::new()),
            confirmations: Mutex::new(HashMap::new()),
        }
    }

    /// The confirmation last made for `target` when it was made for this same answer.
    fn confirmation_for(&self, target: &str, key: &AnswerKey) -> Option<Confirmation> {
        let c = self.confirmations.lock().ok()?;
        c.get(target)
            .filter(|(k, _)| k == key)
            .map(|(_, c)| c.clone())
    }

    fn keep_confirmation(&self, target: &str, key: AnswerKey, c: Confirmation) {
        if let Ok(mut all) = self.confirmations.lock() {
            all.insert(target.to_owned(), (key, c));
        }
    }

    /// The last summary of a target.
    pub fn last(&self, target: &str) -> Option<Summary> {
        self.last.lock().ok()?.get(target).map(|(s, _)| s.clone())
    }

    /// Reads the diagnoses from now on against `t` (a scenario's, or a snapshot's of the account).
    pub fn set_topology(&self, t: Topology) {
        if let Ok(mut slot) = self.topology.write() {
            *slot = Some(Arc::new(t));
        }
    }

    /// The topology diagnoses are read against, if any.
    pub fn topology(&self) -> Option<Arc<Topology>> {
        self.topology.read().ok()?.clone()
    }

    /// Notes a change of the account, seen now; the oldest is forgotten past [`NOTES`].
    pub fn note(&self, change: serde_json::Value) {
        if let Ok(mut notes) = self.notes.lock() {
            if notes.len() == NOTES {
                notes.pop_front();
            }
            notes.push_back((now(), change));
        }
    }

    /// The changes noted after `since` (seconds since the epoch).
    fn notes_since(&self, since: f64) -> Vec<serde_json::Value> {
        self.notes.lock().map_or_else(
            |_| Vec::new(),
            |n| {
                n.iter()
                    .filter(|(t, _)| *t > since)
                    .map(|(_, c)| c.clone())
                    .collect()
            },
        )
    }

    /// Records a report: metrics, last summary, and an event when what it sees changed.
    pub fn record(&self, target: &Target, report: &ProbeReport) {
        let summary = Summary::of(report, target.expect.as_ref());
        let at = now();
        let before = self
            .last
            .lock()
            .ok()
            .and_then(|mut l| l.insert(target.name.clone(), (summary.clone(), at)));
        let (before, since) = match before {
            Some((s, t)) => (Some(s), t),
            None => (None, at),
        };
        let after = seen(&summary);
        let before_seen = before.as_ref().map(seen);
        let changed = before_seen.as_ref().is_some_and(|b| b.key() != after.key());
        let labels: Labels = vec![("target".to_owned(), target.name.clone())];
        self.metrics.record(&labels, report, &summary, changed);
        let topology = self.topology();
        let answered = topology
            .as_deref()
            .map(|t| answered_by(t, report))
            .unwrap_or_default();
        self.metrics.answered(
            &labels,
            answered.endpoint.as_deref().zip(answered.vpc.as_deref()),
        );
        if changed || before.is_none() {
            let unknown = lacking(
                report,
                topology.is_some(),
                answered.endpoint.is_some() || answered.zone.is_some(),
            );
            (self.events)(&Event {
                time: at,
                target: target.name.clone(),
                before: before_seen,
                after,
                cause: report.diagnosis.cause.clone(),
                confirmed: report.diagnosis.confirmation.as_ref().map(|c| c.confirmed),
                endpoint: answered.endpoint,
                vpc: answered.vpc,
                zone: answered.zone,
                profile: answered.profile,
                account_changes: if changed {
                    self.notes_since(since)
                } else {
                    Vec::new()
                },
                unknown,
            });
        }
    }
}

/// The address the probe connected to, or else the first its DNS answer gave.
fn answered_ip(report: &ProbeReport) -> Option<std::net::IpAddr> {
    let obs = &report.observation;
    obs.connect
        .as_ref()
        .map(|c| c.addr.ip())
        .or_else(|| obs.dns.path.outcome.addresses.first().copied())
}

/// What an event cannot name, and why, instead of a bare null.
fn lacking(report: &ProbeReport, has_topology: bool, answered: bool) -> Vec<String> {
    let obs = &report.observation;
    let Some(ip) = answered_ip(report) else {
        return vec!["front door: no address answered".to_owned()];
    };
    let private = !parallax_model::address::classify(ip).is_public();
    let mut out = Vec::new();
    if obs.outcome.front_door.is_none() {
        out.push(if private && !has_topology {
            format!("front door: {ip} is private, so some interface endpoint's; which one needs --topology or --aws")
        } else if private {
            format!("front door: no endpoint of the topology has {ip}")
        } else {
            format!("front door: {ip} is public but neither an execute-api nor a CloudFront name answered it")
        });
    }
    if private && !answered {
        out.push(if has_topology {
            format!(
                "endpoint and VPC: no endpoint interface or zone record of the topology has {ip}"
            )
        } else {
            "endpoint and VPC: need --topology or --aws".to_owned()
        });
    }
    out
}

/// What in the topology answered: the endpoint, the zone, the VPC, the profile.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The interface endpoint one of whose network interfaces has the address.
    pub endpoint: Option<String>,
    /// The endpoint's VPC, or else the VPC of the zone.
    pub vpc: Option<String>,
    /// The private hosted zone one of whose A records holds the address.
    pub zone: Option<String>,
    /// The Route 53 Profile carrying that endpoint or zone.
    pub profile: Option<String>,
}

/// What in `t` holds the address the probe connected to (or else the first its DNS answer
/// gave): an endpoint's network interface, a private hosted zone's record, and the Profile that
/// carries either.
pub fn answered_by(t: &Topology, report: &ProbeReport) -> Answered {
    let Some(ip) = answered_ip(report) else {
        return Answered::default();
    };
    let endpoint = t.endpoints.iter().find(|e| {
        e.subnets
            .iter()
            .any(|s| std::net::IpAddr::V4(s.address.value) == ip)
    });
    let zone = t.hosted_zones.iter().find(|z| {
        z.records.iter().any(|r| match &r.value.data {
            parallax_model::topology::RecordData::A(a) => {
                a.iter().any(|x| std::net::IpAddr::V4(*x) == ip)
            }
            parallax_model::topology::RecordData::Aaaa(a) => {
                a.iter().any(|x| std::net::IpAddr::V6(*x) == ip)
            }
            _ => false,
        })
    });
    let profile = t.profiles.iter().find(|p| {
        endpoint.is_some_and(|e| p.endpoints.iter().any(|x| x.value == e.id.value))
            || zone.is_some_and(|z| p.hosted_zones.iter().any(|x| x.value == z.name.value))
    });
    Answered {
        endpoint: endpoint.map(|e| e.id.value.to_string()),
        vpc: endpoint
            .map(|e| e.vpc.value.to_string())
            .or_else(|| {
                zone.and_then(|z| z.vpcs.first())
                    .map(|v| v.value.to_string())
            })
            .or_else(|| {
                profile
                    .and_then(|p| p.vpcs.first())
                    .map(|v| v.value.to_string())
            }),
        zone: zone.map(|z| z.name.value.to_string()),
        profile: profile.map(|p| p.id.value.clone()),
    }
}

/// Probes one target once, bounded by the timeout (a probe that overruns counts as failed by
/// its own `--max-time`, which the configuration caps at the timeout).
pub async fn probe_once(target: &Target, timeout: Duration) -> Option<ProbeReport> {
    probe_against(target, timeout, None).await
}

/// [`probe_once`], its diagnosis read against `topology`.
pub async fn probe_against(
    target: &Target,
    timeout: Duration,
    topology: Option<&Topology>,
) -> Option<ProbeReport> {
    tokio::time::timeout(
        timeout + Duration::from_secs(1),
        parallax_probe::probe(&target.options, topology, None),
    )
    .await
    .ok()
}

/// Probes a target as its loop does: the pinned confirmation runs once per answer. A probe is
/// made without it first; when the target is well, or its diagnosis and answered addresses are
/// those of its last confirmation, that is the report (carrying the confirmation); otherwise
/// the probe is made again with it. A target whose answer holds costs one probe per interval;
/// a change, two.
pub async fn probe_target(
    state: &State,
    target: &Target,
    quick: &Target,
    timeout: Duration,
    topology: Option<&Topology>,
) -> Option<ProbeReport> {
    if !target.options.confirm {
        return probe_against(target, timeout, topology).await;
    }
    let mut report = probe_against(quick, timeout, topology).await?;
    if report.diagnosis.verdict == Verdict::Ok {
        return Some(report);
    }
    if let Some(c) = state.confirmation_for(&target.name, &answer_key(&report)) {
        report.diagnosis.confirmation = Some(c);
        return Some(report);
    }
    let full = probe_against(target, timeout, topology).await?;
    if let Some(c) = &full.diagnosis.confirmation {
        state.keep_confirmation(&target.name, answer_key(&full), c.clone());
    }
    Some(full)
}

/// Runs every target until `stop` turns true.
pub async fn run(config: Arc<Config>, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let n = config.targets.len().max(1) as f64;
    let mut tasks = Vec::new();
    for (i, target) in config.targets.iter().cloned().enumerate() {
        let (slots, state, mut stop) = (slots.clone(), state.clone(), stop.clone());
        let timeout = config.timeout;
        // Spread the first rounds over the jitter's share of the interval, deterministically.
        let offset = target.interval.mul_f64(config.jitter * (i as f64) / n);
        let mut quick = target.clone();
        quick.options.confirm = false;
        tasks.push(tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(offset) => {}
                _ = stop.changed() => return,
            }
            let mut tick = tokio::time::interval(target.interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => return,
                }
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let topology = state.topology();
                if let Some(report) =
                    probe_target(&state, &target, &quick, timeout, topology.as_deref()).await
                {
                    state.record(&target, &report);
                }
                drop(permit);
            }
        }));
    }
    let _ = stop.changed().await;
    for t in tasks {
        t.abort();
    }
}

/// What a probe's summary says, as an event compares it.
fn seen(s: &Summary) -> Seen {
    Seen {
        dns: s.class.to_string(),
        front_door: s.front_door.clone(),
        diagnosis: s.rule.as_str().to_owned(),
        status: s.status,
    }
}
