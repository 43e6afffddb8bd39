//! `parallax changes BEFORE AFTER`: what changed between two inputs (two snapshots of an
//! account, or any two inputs `analyze` reads) that matters for reachability, the findings the
//! change brings and removes, and the predicted outcomes it flips.
//!
//! Elements are matched by their key: a snapshot's real ids (`vpce-…`, a zone id, an API id, a
//! domain name), a template's logical ids. Outcomes are compared by what a caller notices: the
//! kind of DNS answer, the status and the error type, from each vantage point, for each API's
//! default URL and each custom domain.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use parallax_model::{DnsVerdict, ErrorType, Outcome};
use serde::Serialize;

use crate::findings::{Finding, Severity, findings};
use crate::imported::{ApiKind, Imported, ProfileResource, Ref};

/// The `schema` of the JSON report.
pub const SCHEMA: &str = "parallax.changes/v1";

/// One change that matters for reachability.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// An interface VPC endpoint appeared.
    EndpointAdded {
        /// The endpoint.
        endpoint: String,
        /// Its VPC.
        vpc: String,
        /// Its service (`execute-api`), when known.
        service: Option<String>,
        /// Whether it has private DNS, when known.
        private_dns: Option<bool>,
    },
    /// An interface VPC endpoint is gone.
    EndpointRemoved {
        /// The endpoint.
        endpoint: String,
        /// Its VPC.
        vpc: String,
    },
    /// An endpoint's private DNS was turned on or off.
    EndpointPrivateDns {
        /// The endpoint.
        endpoint: String,
        /// Before.
        before: Option<bool>,
        /// After.
        after: Option<bool>,
    },
    /// An endpoint's policy changed.
    EndpointPolicy {
        /// The endpoint.
        endpoint: String,
    },
    /// A hosted zone appeared.
    ZoneAdded {
        /// The zone's id (or key).
        zone: String,
        /// Its name, when known.
        name: Option<String>,
    },
    /// A hosted zone is gone.
    ZoneRemoved {
        /// The zone's id (or key).
        zone: String,
        /// Its name, when known.
        name: Option<String>,
    },
    /// A private zone was associated with a VPC.
    ZoneAssociated {
        /// The zone.
        zone: String,
        /// The VPC.
        vpc: String,
    },
    /// A private zone was disassociated from a VPC.
    ZoneDisassociated {
        /// The zone.
        zone: String,
        /// The VPC.
        vpc: String,
    },
    /// A record set's values changed, appeared (`before` empty) or went (`after` empty).
    Record {
        /// The zone.
        zone: String,
        /// The record's name.
        name: String,
        /// Its type (`A`, `CNAME`, `ALIAS`).
        kind: String,
        /// Its values before.
        before: Vec<String>,
        /// Its values after.
        after: Vec<String>,
    },
    /// A Resolver rule appeared.
    RuleAdded {
        /// The rule.
        rule: String,
        /// Its domain.
        domain: String,
        /// FORWARD (else SYSTEM).
        forward: bool,
    },
    /// A Resolver rule is gone.
    RuleRemoved {
        /// The rule.
        rule: String,
        /// Its domain.
        domain: String,
    },
    /// A Resolver rule's domain, type or targets changed.
    RuleChanged {
        /// The rule.
        rule: String,
    },
    /// A Resolver rule was associated with a VPC.
    RuleAssociated {
        /// The rule.
        rule: String,
        /// The VPC.
        vpc: String,
    },
    /// A Resolver rule was disassociated from a VPC.
    RuleDisassociated {
        /// The rule.
        rule: String,
        /// The VPC.
        vpc: String,
    },
    /// An API appeared.
    ApiAdded {
        /// The API.
        api: String,
        /// Its endpoint type, when known.
        endpoint_type: Option<ApiKind>,
    },
    /// An API is gone.
    ApiRemoved {
        /// The API.
        api: String,
    },
    /// An API's endpoint type changed.
    ApiEndpointType {
        /// The API.
        api: String,
        /// Before.
        before: Option<ApiKind>,
        /// After.
        after: Option<ApiKind>,
    },
    /// An API's resource policy changed.
    ApiPolicy {
        /// The API.
        api: String,
    },
    /// An API's default execute-api endpoint was disabled or enabled.
    ApiDefaultEndpoint {
        /// The API.
        api: String,
        /// Whether it was disabled before.
        disabled_before: Option<bool>,
        /// Whether it is disabled after.
        disabled_after: Option<bool>,
    },
    /// The VPC endpoints a private API names changed.
    ApiVpcEndpoints {
        /// The API.
        api: String,
        /// Before.
        before: Vec<String>,
        /// After.
        after: Vec<String>,
    },
    /// A custom domain name appeared.
    DomainAdded {
        /// The domain.
        domain: String,
    },
    /// A custom domain name is gone.
    DomainRemoved {
        /// The domain.
        domain: String,
    },
    /// A custom domain's endpoint type, mutual TLS, mappings or access associations changed.
    DomainChanged {
        /// The domain.
        domain: String,
    },
    /// A Route 53 Profile was associated with a VPC.
    ProfileAssociated {
        /// The profile.
        profile: String,
        /// The VPC.
        vpc: String,
    },
    /// A Route 53 Profile was disassociated from a VPC.
    ProfileDisassociated {
        /// The profile.
        profile: String,
        /// The VPC.
        vpc: String,
    },
    /// A resource was added to a profile.
    ProfileResourceAdded {
        /// The profile.
        profile: String,
        /// The resource (a zone, an endpoint, a rule).
        resource: String,
    },
    /// A resource was removed from a profile.
    ProfileResourceRemoved {
        /// The profile.
        profile: String,
        /// The resource.
        resource: String,
    },
}

/// What a caller notices of an outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Seen {
    /// The kind of DNS answer.
    pub dns: DnsVerdict,
    /// The HTTP status, when a request got that far.
    pub status: Option<u16>,
    /// The `x-amzn-ErrorType`, when any.
    pub error_type: Option<ErrorType>,
}

impl Seen {
    fn of(o: &Outcome) -> Seen {
        Seen {
            dns: o.dns.verdict(),
            status: o.http.as_ref().map(|h| h.status),
            error_type: o.http.as_ref().and_then(|h| h.error_type.clone()),
        }
    }

    /// A status below 400.
    fn succeeds(&self) -> bool {
        self.status.is_some_and(|s| s < 400)
    }
}

/// A predicted outcome that is not the same after the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Flip {
    /// The vantage point (`internet`, a VPC id).
    pub from: String,
    /// The API or custom domain called.
    pub target: String,
    /// The URL called.
    pub url: String,
    /// Before the change.
    pub before: Seen,
    /// After it.
    pub after: Seen,
}

/// A change, and (when CloudTrail was read) the events that made it.
#[derive(Clone, Debug, Serialize)]
pub struct Changed {
    /// The change.
    #[serde(flatten)]
    pub change: Change,
    /// The management events that made it, oldest first; `None` when no trail was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<Vec<crate::cloudtrail::Event>>,
}

/// Everything `parallax changes` reports.
#[derive(Clone, Debug, Serialize)]
pub struct Changes {
    /// The report's schema name.
    pub schema: &'static str,
    /// The changes, in a stable order (by kind, then resource).
    pub changes: Vec<Changed>,
    /// Findings present after and not before.
    pub introduced: Vec<Finding>,
    /// Findings present before and not after.
    pub resolved: Vec<Finding>,
    /// Predicted outcomes that differ.
    pub flips: Vec<Flip>,
}

impl Changes {
    /// Compares two imported models.
    pub fn between(before: &Imported, after: &Imported) -> Changes {
        let mut changes = Vec::new();
        endpoints(before, after, &mut changes);
        zones(before, after, &mut changes);
        records(before, after, &mut changes);
        resolver_rules(before, after, &mut changes);
        apis(before, after, &mut changes);
        domains(before, after, &mut changes);
        profiles(before, after, &mut changes);
        let (introduced, resolved) = finding_changes(&findings(before), &findings(after));
        Changes {
            schema: SCHEMA,
            changes: changes
                .into_iter()
                .map(|change| Changed { change, by: None })
                .collect(),
            introduced,
            resolved,
            flips: flips(before, after),
        }
    }

    /// Attributes each change to the CloudTrail events that made it.
    pub fn attribute(&mut self, events: &[crate::cloudtrail::Event]) {
        for c in &mut self.changes {
            c.by = Some(
                crate::cloudtrail::attribute(&c.change, events)
                    .into_iter()
                    .cloned()
                    .collect(),
            );
        }
    }

    /// Whether the change should fail a pipeline: it introduces an error-level finding, or turns
    /// a predicted success into a failure.
    pub fn breaks_something(&self) -> bool {
        self.introduced
            .iter()
            .any(|f| f.severity == Severity::Error)
            || self
                .flips
                .iter()
                .any(|f| f.before.succeeds() && !f.after.succeeds())
    }

    /// The report as text.
    pub fn text(&self) -> String {
        let mut o = String::new();
        if self.changes.is_empty() {
            o.push_str("no change that matters for reachability\n");
        } else {
            o.push_str("changes\n");
            for c in &self.changes {
                o.push_str(&format!("  {}\n", c.change));
                match c.by.as_deref() {
                    None => {}
                    Some([]) => o.push_str("      by: no CloudTrail event read names it\n"),
                    Some(events) => {
                        for e in events {
                            o.push_str(&format!("      by {e}\n"));
                        }
                    }
                }
            }
        }
        for (title, list) in [
            ("findings introduced", &self.introduced),
            ("findings resolved", &self.resolved),
        ] {
            if !list.is_empty() {
                o.push_str(&format!("{title}\n"));
                for f in list {
                    o.push_str(&format!(
                        "  {} {}: {}\n",
                        f.severity.as_str(),
                        f.rule.as_str(),
                        f.message
                    ));
                }
            }
        }
        if !self.flips.is_empty() {
            o.push_str("outcomes that flip\n");
            for f in &self.flips {
                o.push_str(&format!(
                    "  from {} GET {}: {} → {}\n",
                    f.from, f.url, f.before, f.after
                ));
            }
        }
        o
    }
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.status, &self.error_type) {
            (Some(s), Some(t)) => write!(f, "{s} {t}"),
            (Some(s), None) => write!(f, "{s}"),
            (None, _) => write!(f, "no HTTP exchange (dns {})", self.dns),
        }
    }
}

fn on_off(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "on",
        Some(false) => "off",
        None => "unknown",
    }
}

fn kind_text(k: Option<ApiKind>) -> String {
    k.map_or_else(|| "unknown".to_owned(), |k| k.to_string())
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::EndpointAdded {
                endpoint,
                vpc,
                service,
                private_dns,
            } => write!(
                f,
                "+ endpoint {endpoint} ({}) in {vpc}, private DNS {}",
                service.as_deref().unwrap_or("service unknown"),
                on_off(*private_dns)
            ),
            Change::EndpointRemoved { endpoint, vpc } => {
                write!(f, "- endpoint {endpoint} in {vpc}")
            }
            Change::EndpointPrivateDns {
                endpoint,
                before,
                after,
            } => write!(
                f,
                "~ endpoint {endpoint}: private DNS {} → {}",
                on_off(*before),
                on_off(*after)
            ),
            Change::EndpointPolicy { endpoint } => {
                write!(f, "~ endpoint {endpoint}: its policy changed")
            }
            Change::ZoneAdded { zone, name } => write!(
                f,
                "+ hosted zone {zone} ({})",
                name.as_deref().unwrap_or("name unknown")
            ),
            Change::ZoneRemoved { zone, name } => write!(
                f,
                "- hosted zone {zone} ({})",
                name.as_deref().unwrap_or("name unknown")
            ),
            Change::ZoneAssociated { zone, vpc } => {
                write!(f, "+ hosted zone {zone} associated with {vpc}")
            }
            Change::ZoneDisassociated { zone, vpc } => {
                write!(f, "- hosted zone {zone} disassociated from {vpc}")
            }
            Change::Record {
                zone,
                name,
                kind,
                before,
                after,
            } => match (before.is_empty(), after.is_empty()) {
                (true, _) => write!(f, "+ record {name} {kind} {} in {zone}", after.join(" ")),
                (_, true) => write!(f, "- record {name} {kind} {} in {zone}", before.join(" ")),
                _ => write!(
                    f,
                    "~ record {name} {kind} in {zone}: {} → {}",
                    before.join(" "),
                    after.join(" ")
                ),
            },
            Change::RuleAdded {
                rule,
                domain,
                forward,
            } => write!(
                f,
                "+ Resolver rule {rule} ({} {domain})",
                if *forward { "FORWARD" } else { "SYSTEM" }
            ),
            Change::RuleRemoved { rule, domain } => write!(f, "- Resolver rule {rule} ({domain})"),
            Change::RuleChanged { rule } => {
                write!(
                    f,
                    "~ Resolver rule {rule}: its domain, type or targets changed"
                )
            }
            Change::RuleAssociated { rule, vpc } => {
                write!(f, "+ Resolver rule {rule} associated with {vpc}")
            }
            Change::RuleDisassociated { rule, vpc } => {
                write!(f, "- Resolver rule {rule} disassociated from {vpc}")
            }
            Change::ApiAdded { api, endpoint_type } => {
                write!(f, "+ API {api} ({})", kind_text(*endpoint_type))
            }
            Change::ApiRemoved { api } => write!(f, "- API {api}"),
            Change::ApiEndpointType { api, before, after } => write!(
                f,
                "~ API {api}: endpoint type {} → {}",
                kind_text(*before),
                kind_text(*after)
            ),
            Change::ApiPolicy { api } => write!(f, "~ API {api}: its resource policy changed"),
            Change::ApiDefaultEndpoint {
                api,
                disabled_before,
                disabled_after,
            } => write!(
                f,
                "~ API {api}: default execute-api endpoint {} → {}",
                if *disabled_before == Some(true) {
                    "disabled"
                } else {
                    "enabled"
                },
                if *disabled_after == Some(true) {
                    "disabled"
                } else {
                    "enabled"
                }
            ),
            Change::ApiVpcEndpoints { api, before, after } => write!(
                f,
                "~ API {api}: VPC endpoints [{}] → [{}]",
                before.join(", "),
                after.join(", ")
            ),
            Change::DomainAdded { domain } => write!(f, "+ custom domain {domain}"),
            Change::DomainRemoved { domain } => write!(f, "- custom domain {domain}"),
            Change::DomainChanged { domain } => write!(
                f,
                "~ custom domain {domain}: endpoint type, mutual TLS, mappings or access associations changed"
            ),
            Change::ProfileAssociated { profile, vpc } => {
                write!(f, "+ Route 53 Profile {profile} associated with {vpc}")
            }
            Change::ProfileDisassociated { profile, vpc } => {
                write!(f, "- Route 53 Profile {profile} disassociated from {vpc}")
            }
            Change::ProfileResourceAdded { profile, resource } => {
                write!(f, "+ {resource} added to Route 53 Profile {profile}")
            }
            Change::ProfileResourceRemoved { profile, resource } => {
                write!(f, "- {resource} removed from Route 53 Profile {profile}")
            }
        }
    }
}

/// A reference as reports name it: the id or key, or `unknown`.
fn name(r: &Ref) -> String {
    match r {
        Ref::Key(k) | Ref::Id(k) => k.clone(),
        Ref::Unknown(_) => "unknown".to_owned(),
    }
}

fn by_key<T>(items: &[T], key: impl Fn(&T) -> &str) -> BTreeMap<&str, &T> {
    items.iter().map(|i| (key(i), i)).collect()
}

/// Interface endpoints: a Gateway endpoint (S3, DynamoDB) changes route tables, not DNS, and
/// API Gateway is never reached through one.
fn endpoints(before: &Imported, after: &Imported, out: &mut Vec<Change>) {
    let (b, a) = (interface_endpoints(before), interface_endpoints(after));
    for (key, e) in &a {
        match b.get(key) {
            None => out.push(Change::EndpointAdded {
                endpoint: (*key).to_owned(),
                vpc: name(&e.vpc),
                service: e.service.clone(),
                private_dns: e.private_dns,
            }),
            Some(old) => {
                if old.private_dns != e.private_dns {
                    out.push(Change::EndpointPrivateDns {
                        endpoint: (*key).to_owned(),
                        before: old.private_dns,
                        after: e.private_dns,
                    });
                }
                if old.policy != e.policy || old.policy_unknown != e.policy_unknown {
                    out.push(Change::EndpointPolicy {
                        endpoint: (*key).to_owned(),
                    });
                }
            }
        }
    }
    for (key, e) in &b {
        if !a.contains_key(key) {
            out.push(Change::EndpointRemoved {
                endpoint: (*key).to_owned(),
                vpc: name(&e.vpc),
            });
        }
    }
}

fn interface_endpoints(m: &Imported) -> BTreeMap<&str, &crate::imported::Endpoint> {
    m.endpoints
        .iter()
        .filter(|e| e.interface != Some(false))
        .map(|e| (e.key.as_str(), e))
        .collect()
}

fn zones(before: &Imported, after: &Imported, out: &mut Vec<Change>) {
    let (b, a) = (
        by_key(&before.zones, |z| &z.key),
        by_key(&after.zones, |z| &z.key),
    );
    for (key, z) in &a {
        let old_vpcs: &[Ref] = match b.get(key) {
            None => {
                out.push(Change::ZoneAdded {
                    zone: (*key).to_owned(),
                    name: z.name.clone(),
                });
                &[]
            }
            Some(old) => &old.vpcs,
        };
        let (added, removed) = vpc_diff(old_vpcs, &z.vpcs);
        out.extend(added.into_iter().map(|vpc| Change::ZoneAssociated {
            zone: (*key).to_owned(),
            vpc,
        }));
        out.extend(removed.into_iter().map(|vpc| Change::ZoneDisassociated {
            zone: (*key).to_owned(),
            vpc,
        }));
    }
    for (key, z) in &b {
        if !a.contains_key(key) {
            out.push(Change::ZoneRemoved {
                zone: (*key).to_owned(),
                name: z.name.clone(),
            });
        }
    }
}

/// The VPCs `after` names and `before` does not, and the other way round, by name.
fn vpc_diff(before: &[Ref], after: &[Ref]) -> (Vec<String>, Vec<String>) {
    let (b, a): (BTreeSet<String>, BTreeSet<String>) = (
        before.iter().map(name).collect(),
        after.iter().map(name).collect(),
    );
    (
        a.difference(&b).cloned().collect(),
        b.difference(&a).cloned().collect(),
    )
}

fn records(before: &Imported, after: &Imported, out: &mut Vec<Change>) {
    type Sets = BTreeMap<(String, String, String), Vec<String>>;
    let sets = |m: &Imported| -> Sets {
        let mut s = Sets::new();
        for r in &m.zone_records {
            let mut values = r.values.clone();
            values.sort();
            s.entry((name(&r.zone), r.name.clone(), r.kind.clone()))
                .or_default()
                .extend(values);
        }
        s
    };
    let (b, a) = (sets(before), sets(after));
    let keys: BTreeSet<&(String, String, String)> = b.keys().chain(a.keys()).collect();
    for key in keys {
        let (old, new) = (
            b.get(key).cloned().unwrap_or_default(),
            a.get(key).cloned().unwrap_or_default(),
        );
        if old != new {
            let (zone, name, kind) = key.clone();
            out.push(Change::Record {
                zone,
                name,
                kind,
                before: old,
                after: new,
            });
        }
    }
}

fn resolver_rules(before: &Imported, after: &Imported, out: &mut Vec<Change>) {
    let (b, a) = (
        by_key(&before.resolver_rules, |r| &r.key),
        by_key(&after.resolver_rules, |r| &r.key),
    );
    for (key, r) in &a {
        let old_vpcs: &[Ref] = match b.get(key) {
            None => {
                out.push(Change::RuleAdded {
                    rule: (*key).to_owned(),
                    domain: r.domain.clone(),
                    forward: r.forward,
                });
                &[]
            }
            Some(old) => {
                if (&old.domain, old.forward, &old.targets) != (&r.domain, r.forward, &r.targets) {
                    out.push(Change::RuleChanged {
                        rule: (*key).to_owned(),
                    });
                }
                &old.vpcs
            }
        };
        let (added, removed) = vpc_diff(old_vpcs, &r.vpcs);
        out.extend(added.into_iter().map(|vpc| Change::RuleAssociated {
            rule: (*key).to_owned(),
            vpc,
        }));
        out.extend(removed.into_iter().map(|vpc| Change::RuleDisassociated {
            rule: (*key).to_owned(),
            vpc,
        }));
    }
    for (key, r) in &b {
        if !a.contains_key(key) {
            out.push(Change::RuleRemoved {
                rule: (*key).to_owned(),
                domain: r.domain.clone(),
            });
        }
    }
}

fn apis(before: &Imported, after: &Imported, out: &mut Vec<Change>) {
    let (b, a) = (
        by_key(&before.apis, |x| &x.key),
        by_key(&after.apis, |x| &x.key),
    );
    for (key, api) in &a {
        let api_name = (*key).to_owned();
        let Some(old) = b.get(key) else {
            out.push(Change::ApiAdded {
                api: api_name,
                endpoint_type: api.kind,
            });
            continue;
        };
        if old.kind != api.kind {
            out.push(Change::ApiEndpointType {
                api: api_name.clone(),
                before: old.kind,
                after: api.kind,
            });
        }
        if old.policy != api.policy || old.policy_unknown != api.policy_unknown {
            out.push(Change::ApiPolicy {
                api: api_name.clone(),
            });
        }
        if old.disable_default != api.disable_default {
            out.push(Change::ApiDefaultEndpoint {
                api: api_name.clone(),
                disabled_before: old.disable_default,
                disabled_after: api.disable_default,
            });
        }
        let ids = |refs: &[Ref]| -> Vec<String> {
            let mut v: Vec<String> = refs.iter().map(name).collect();
            v.sort();
            v
        };
        let (vb, va) = (ids(&old.vpc_endpoints), ids(&api.vpc_endpoints));
        if vb != va {
            out.push(Change::ApiVpcEndpoints {
                api: api_name,
                before: vb,
                after: va,
            });
        }
    }
    for key in b.keys() {
        if !a.contains_key(key) {
            out.push(Change::ApiRemoved {
                api: (*key).to_owned(),
            });
        }
    }
}

fn domains(before: &Imported, after: &Imported, out: &mut Vec<Change>) {
    let (b, a) = (
        by_key(&before.domains, |d| &d.key),
        by_key(&after.domains, |d| &d.key),
    );
    // What of a domain decides where its calls go.
    let shape = |d: &crate::imported::Domain| {
        let mut apis: Vec<String> = d.apis.iter().map(name).collect();
        apis.sort();
        let mut access: Vec<String> = d.access.iter().map(name).collect();
        access.sort();
        (d.kind, d.mtls, apis, access, d.policy.clone())
    };
    for (key, d) in &a {
        match b.get(key) {
            None => out.push(Change::DomainAdded {
                domain: (*key).to_owned(),
            }),
            Some(old) if shape(old) != shape(d) => out.push(Change::DomainChanged {
                domain: (*key).to_owned(),
            }),
            Some(_) => {}
        }
    }
    for key in b.keys() {
        if !a.contains_key(key) {
            out.push(Change::DomainRemoved {
                domain: (*key).to_owned(),
            });
        }
    }
}

fn profiles(before: &Imported, after: &Imported, out: &mut Vec<Change>) {
    let vpcs = |m: &Imported| -> BTreeSet<(String, String)> {
        m.profile_vpcs
            .iter()
            .map(|(p, v, _)| (name(p), name(v)))
            .collect()
    };
    let resources = |m: &Imported| -> BTreeSet<(String, String)> {
        m.profile_resources
            .iter()
            .map(|(p, r, _)| {
                let what = match r {
                    ProfileResource::Zone(z) => format!("hosted zone {}", name(z)),
                    ProfileResource::Endpoint(e) => format!("endpoint {}", name(e)),
                    ProfileResource::Rule(x) => format!("resolver rule {}", name(x)),
                    ProfileResource::Other(o) => o.clone(),
                };
                (name(p), what)
            })
            .collect()
    };
    let (vb, va) = (vpcs(before), vpcs(after));
    for (profile, vpc) in va.difference(&vb) {
        out.push(Change::ProfileAssociated {
            profile: profile.clone(),
            vpc: vpc.clone(),
        });
    }
    for (profile, vpc) in vb.difference(&va) {
        out.push(Change::ProfileDisassociated {
            profile: profile.clone(),
            vpc: vpc.clone(),
        });
    }
    let (rb, ra) = (resources(before), resources(after));
    for (profile, resource) in ra.difference(&rb) {
        out.push(Change::ProfileResourceAdded {
            profile: profile.clone(),
            resource: resource.clone(),
        });
    }
    for (profile, resource) in rb.difference(&ra) {
        out.push(Change::ProfileResourceRemoved {
            profile: profile.clone(),
            resource: resource.clone(),
        });
    }
}

/// Findings after and not before, and before and not after, matched by rule and message (the
/// message names the resources).
fn finding_changes(before: &[Finding], after: &[Finding]) -> (Vec<Finding>, Vec<Finding>) {
    let key = |f: &Finding| (f.rule.as_str(), f.message.clone());
    let b: BTreeSet<_> = before.iter().map(key).collect();
    let a: BTreeSet<_> = after.iter().map(key).collect();
    (
        after
            .iter()
            .filter(|f| !b.contains(&key(f)))
            .cloned()
            .collect(),
        before
            .iter()
            .filter(|f| !a.contains(&key(f)))
            .cloned()
            .collect(),
    )
}

/// Each API's default URL and each custom domain, from the internet and each VPC, predicted on
/// both sides; the pairs whose outcome a caller would notice changed.
fn flips(before: &Imported, after: &Imported) -> Vec<Flip> {
    let cells = |m: &Imported| -> BTreeMap<(String, String), (String, Seen)> {
        let (t, _) = crate::runnable::topology(m);
        let mut out = BTreeMap::new();
        for row in crate::matrix::matrix(&t) {
            for (from, o) in &row.cells {
                out.insert(
                    (row.url.clone(), from.clone()),
                    (row.target.clone(), Seen::of(o)),
                );
            }
        }
        out
    };
    let (b, a) = (cells(before), cells(after));
    let mut out = Vec::new();
    for ((url, from), (target, seen)) in &a {
        if let Some((_, old)) = b.get(&(url.clone(), from.clone()))
            && old != seen
        {
            out.push(Flip {
                from: from.clone(),
                target: target.clone(),
                url: url.clone(),
                before: old.clone(),
                after: seen.clone(),
            });
        }
    }
    out
}
