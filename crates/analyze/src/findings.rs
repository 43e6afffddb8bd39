//! Findings over what the importers found: stable ids, severity, message, location, fix.
//! Output as text, JSON, or SARIF 2.1.0 for code scanning.

use serde::Serialize;
use serde_json::{Value, json};

use crate::imported::{ApiKind, AuthKind, Imported, Loc, Ref};
use parallax_rules::policy::Decision;

/// How much a finding matters (SARIF's levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing breaks by itself.
    Note,
    /// Breaks something under conditions the inputs do not settle.
    Warning,
    /// Breaks a call the inputs describe.
    Error,
}

impl Severity {
    /// `note`, `warning` or `error`: SARIF's level names.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Reads `note`, `warning` or `error`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "note" => Some(Severity::Note),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// A rule: the stable id, what it is about, and how to fix it.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Rule {
    /// The rule's id (`PX001`).
    pub id: &'static str,
    /// Its short name (kebab-case).
    pub name: &'static str,
    /// What it finds, in one line.
    pub summary: &'static str,
    /// How to fix what it finds.
    pub help: &'static str,
    /// Its usual severity.
    pub severity: Severity,
}

/// Every rule, in id order.
pub const RULES: [Rule; 13] = [
    Rule {
        id: "PX001",
        name: "execute-api-private-dns-shadows-public-apis",
        summary: "An execute-api interface endpoint with private DNS makes every public API of the Region unreachable by its default hostname from the VPC",
        help: "Call public APIs through custom domains (edge, or Regional published as a Route 53 alias), or turn private DNS off on the endpoint and call private APIs by their {api}-{vpce} alias or vpce-specific name with x-apigw-api-id, or give each private API its own private hosted zone.",
        severity: Severity::Error,
    },
    Rule {
        id: "PX002",
        name: "two-execute-api-private-dns-endpoints",
        summary: "Two execute-api interface endpoints with private DNS in one VPC",
        help: "AWS refuses the second (a conflicting DNS domain). Keep one endpoint with private DNS per VPC, or turn private DNS off on the others.",
        severity: Severity::Error,
    },
    Rule {
        id: "PX003",
        name: "private-api-without-allow",
        summary: "A PRIVATE API whose resource policy allows no endpoint in scope",
        help: "A private API rejects every call until its resource policy allows it. Allow execute-api:Invoke for the endpoints (aws:SourceVpce) or VPCs (aws:SourceVpc) that call it, then redeploy.",
        severity: Severity::Error,
    },
    Rule {
        id: "PX004",
        name: "regional-domain-cname-shadowed",
        summary: "A Regional custom domain published by CNAME to its d-….execute-api name is followed into an execute-api endpoint's private zone",
        help: "Publish the domain as a Route 53 alias A record (the VPC resolver then answers the public addresses), or turn private DNS off on the endpoint.",
        severity: Severity::Warning,
    },
    Rule {
        id: "PX005",
        name: "private-dns-without-vpc-dns-attributes",
        summary: "Private DNS on an interface endpoint in a VPC without enableDnsSupport and enableDnsHostnames",
        help: "Private DNS needs both VPC attributes; turn them on (AWS rejects the endpoint otherwise).",
        severity: Severity::Error,
    },
    Rule {
        id: "PX006",
        name: "mtls-bypassed-by-default-endpoint",
        summary: "Mutual TLS on a custom domain while the mapped API's default execute-api endpoint stays enabled",
        help: "Clients can call the default endpoint without a client certificate. Set DisableExecuteApiEndpoint: true on the API and redeploy.",
        severity: Severity::Warning,
    },
    Rule {
        id: "PX007",
        name: "source-vpc-condition-on-public-api",
        summary: "a public API whose resource policy refuses every call from the internet (evaluated as IAM does: a condition on a key the call lacks is false, a negated one true)",
        help: "aws:SourceVpc, aws:SourceVpce and aws:VpcSourceIp exist only for calls through a VPC endpoint, which a public API never receives. Make the API PRIVATE, or condition on aws:SourceIp. A date window (aws:CurrentTime) that has passed or not begun refuses every call until its dates move.",
        severity: Severity::Error,
    },
    Rule {
        id: "PX008",
        name: "api-key-required-without-usage-plan",
        summary: "Methods require an API key, but no usage plan with an attached key covers the API",
        help: "A key is accepted only if it is in a usage plan that lists the API's stage. Add the stage to a usage plan (ApiStages / api_stages) and attach the key to that plan (UsagePlanKey / aws_api_gateway_usage_plan_key). Plans managed elsewhere are not seen here: check with `aws apigateway get-usage-plans --key-id KEY`.",
        severity: Severity::Warning,
    },
    Rule {
        id: "PX009",
        name: "duplicate-key",
        summary: "A key given twice in one mapping: CloudFormation keeps the last value",
        help: "Remove one of the two; the value CloudFormation deploys is the last one, which is the one analyzed here.",
        severity: Severity::Warning,
    },
    Rule {
        id: "PX010",
        name: "misspelled-resource-type",
        summary: "A resource type that is a misspelling of one that matters here",
        help: "Fix the type: CloudFormation rejects unknown types, and until then this resource is not analyzed.",
        severity: Severity::Warning,
    },
    Rule {
        id: "PX011",
        name: "execute-api-captured-by-shared-zone",
        summary: "A private hosted zone for the Region's execute-api names, associated with a VPC, captures the default hostnames of public APIs there (the centralised-endpoint pattern)",
        help: "Keep the shared zone to the private APIs' own names (one zone or record per API, no wildcard over execute-api), call public APIs through custom domains, or leave the VPC out of the zone's associations (for a Route 53 Profile: the endpoint out of the profile, or the VPC out of its associations).",
        severity: Severity::Error,
    },
    Rule {
        id: "PX012",
        name: "endpoint-policy-blocks-private-api",
        summary: "An execute-api VPC endpoint's policy does not allow a private API that is meant to be called through it",
        help: "Add the API's ARN (arn:aws:execute-api:REGION:ACCOUNT:API-ID/*) to an Allow of the endpoint policy, or remove the endpoint from the API's VPC endpoints and policy.",
        severity: Severity::Error,
    },
    Rule {
        id: "PX013",
        name: "security-policy-cuts-off-callers",
        summary: "A security policy or endpoint access mode that AWS refuses, or that cuts off callers: STRICT with only endpoint-specific names to call by, TLS 1.3 only",
        help: "Give an enhanced security policy an endpoint access mode; call a STRICT private API by its {api}-{vpce} alias, its private DNS name or a private custom domain (or set BASIC); keep a policy that takes TLS 1.2 while clients that cannot speak TLS 1.3 call the API.",
        severity: Severity::Warning,
    },
];

/// A finding's rule, by its stable id: the index into [`RULES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingId {
    /// An execute-api endpoint's private DNS takes public API names over.
    Px001,
    /// Two execute-api endpoints with private DNS in one VPC.
    Px002,
    /// A private API whose resource policy allows nothing (or no endpoint in scope).
    Px003,
    /// A Regional custom domain published by CNAME into execute-api.
    Px004,
    /// Private DNS without the VPC's DNS attributes on.
    Px005,
    /// Mutual TLS bypassed through the default endpoint.
    Px006,
    /// A public API whose policy conditions on keys only endpoints set.
    Px007,
    /// Methods that require an API key with no usage plan and key.
    Px008,
    /// A key given twice in one mapping.
    Px009,
    /// A resource type that looks misspelt.
    Px010,
    /// A shared private zone that answers execute-api names.
    Px011,
    /// An endpoint policy that blocks the calls it carries.
    Px012,
    /// A security policy or access mode that AWS refuses or that cuts callers off.
    Px013,
}

impl FindingId {
    /// Every finding id, in order.
    pub const ALL: [FindingId; 13] = [
        FindingId::Px001,
        FindingId::Px002,
        FindingId::Px003,
        FindingId::Px004,
        FindingId::Px005,
        FindingId::Px006,
        FindingId::Px007,
        FindingId::Px008,
        FindingId::Px009,
        FindingId::Px010,
        FindingId::Px011,
        FindingId::Px012,
        FindingId::Px013,
    ];

    /// The rule's metadata (`RULES` is in `FindingId` order; a test holds them together).
    pub fn rule(self) -> &'static Rule {
        &RULES[self as usize]
    }

    /// `PX001`, …: what reports and SARIF carry.
    pub fn as_str(self) -> &'static str {
        self.rule().id
    }
}

impl std::fmt::Display for FindingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FindingId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One finding: the rule, its severity here, the message, where, and how to fix it.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: FindingId,
    /// Its severity in this case.
    pub severity: Severity,
    /// What is wrong, naming the resources.
    pub message: String,
    /// Where it is said.
    pub location: Loc,
    /// How to fix it.
    pub fix: &'static str,
}

/// Every finding, most severe first, then by file and line.
pub fn findings(m: &Imported) -> Vec<Finding> {
    let mut out = Found::default();
    let vpcs = VpcIndex::new(m);
    let public: Vec<_> = m
        .apis
        .iter()
        .filter(|a| matches!(a.kind, Some(ApiKind::Regional | ApiKind::Edge)))
        .collect();
    endpoint_private_dns(m, &vpcs, &public, &mut out);
    shared_zone_capture(m, &public, &mut |severity, message, loc| {
        out.add(FindingId::Px011, Some(severity), message, loc);
    });
    endpoint_policy_blocks(m, &mut |message, loc| {
        out.add(FindingId::Px012, None, message, loc);
    });
    let with_dns: Vec<_> = m
        .endpoints
        .iter()
        .filter(exec_api)
        .filter(|e| e.private_dns == Some(true))
        .collect();
    endpoints_sharing_a_vpc(m, &vpcs, &with_dns, &mut out);
    resource_policies(m, &mut out);
    cname_domains(m, &with_dns, &mut out);
    mtls_bypass(m, &mut out);
    key_methods_without_plan(m, &mut |id, message, loc| out.add(id, None, message, loc));
    security_policies(m, &mut |severity, message, loc| {
        out.add(FindingId::Px013, Some(severity), message, loc)
    });
    input_mistakes(m, &mut out);
    let mut out = out.0;
    // One finding per fact: the same VPC reached twice (by key and by id, by a zone's own
    // association and by an association resource) is said once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| {
        seen.insert((
            f.rule,
            f.message.clone(),
            f.location.file.clone(),
            f.location.line,
            f.location.resource.clone(),
        ))
    });
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.location.file.cmp(&b.location.file))
            .then(a.location.line.cmp(&b.location.line))
    });
    out
}

/// The findings gathered so far.
#[derive(Default)]
struct Found(Vec<Finding>);

impl Found {
    /// A finding of rule `id`, at the rule's severity unless `severity` says otherwise.
    fn add(&mut self, id: FindingId, severity: Option<Severity>, message: String, location: &Loc) {
        let r = id.rule();
        self.0.push(Finding {
            rule: id,
            severity: severity.unwrap_or(r.severity),
            message,
            location: location.clone(),
            fix: r.help,
        });
    }
}

/// An interface endpoint for execute-api (or one whose type is not known).
fn exec_api(e: &&crate::imported::Endpoint) -> bool {
    e.service.as_deref() == Some("execute-api") && e.interface != Some(false)
}

/// PX001 and PX005: an execute-api endpoint's private DNS, and the VPC attributes it needs.
fn endpoint_private_dns(
    m: &Imported,
    vpcs: &VpcIndex<'_>,
    public: &[&crate::imported::Api],
    out: &mut Found,
) {
    // PX001's severity comes from evidence: an error when the inputs hold something the
    // endpoint's private DNS breaks from that VPC (a public API, or a Regional domain published
    // by CNAME into execute-api); otherwise a warning naming what it would break.
    let shadowed_cnames: Vec<_> = m
        .cnames
        .iter()
        .filter(|c| cname_into_execute_api(m, c))
        .collect();
    let region = m.region.as_deref().unwrap_or("this Region");
    for e in m.endpoints.iter().filter(exec_api) {
        let vpc = vpcs.name(&e.vpc);
        match e.private_dns {
            Some(true) => {
                // Name at most ten: a message that lists thousands of APIs helps nobody.
                let mut names: Vec<String> = public.iter().take(10).map(|a| format!("{} ({})", a.name, a.kind.unwrap_or(ApiKind::Edge))).collect();
                names.extend(shadowed_cnames.iter().take(10usize.saturating_sub(names.len())).map(|c| format!("{} (CNAME into execute-api)", c.name.clone().unwrap_or_else(|| c.loc.resource.clone()))));
                let total = public.len() + shadowed_cnames.len();
                if total > names.len() {
                    names.push(format!("and {} more", total - names.len()));
                }
                let (severity, msg) = if names.is_empty() {
                    (Severity::Warning, format!("{} gives {vpc} private DNS for *.execute-api.{region}: nothing in these inputs is broken by it, but from that VPC every public (REGIONAL or EDGE) API Gateway API of {region} called by its default hostname, including other accounts' and vendors' APIs, gets 403 ForbiddenException", e.key))
                } else {
                    (Severity::Error, format!("{} gives {vpc} private DNS for *.execute-api: from that VPC these public APIs become unreachable by their default hostnames (403 ForbiddenException): {}", e.key, names.join(", ")))
                };
                out.add(FindingId::Px001, Some(severity), msg, &e.loc);
                if let Some(v) = vpcs.get(&e.vpc)
                    && (v.dns_support == Some(false) || v.dns_hostnames == Some(false))
                {
                    out.add(FindingId::Px005, None, format!("{} has private DNS but {} has enableDnsSupport={:?}, enableDnsHostnames={:?}", e.key, v.key, v.dns_support.unwrap_or(true), v.dns_hostnames.unwrap_or(false)), &e.loc);
                }
            }
            None => out.add(FindingId::Px001, Some(Severity::Note), format!("{}: whether it has private DNS is not known statically; if it does, public APIs become unreachable from {vpc} by their default hostnames", e.key), &e.loc),
            Some(false) => {}
        }
    }
    // An interface endpoint whose service is not known statically (a value known only after
    // apply, a parameter without a default) may be execute-api: said, never dropped.
    for e in m.endpoints.iter().filter(|e| {
        e.service.is_none() && e.interface != Some(false) && e.private_dns != Some(false)
    }) {
        out.add(FindingId::Px001, Some(Severity::Note), format!("{}: its service is not known statically; if it is execute-api with private DNS, public APIs become unreachable from {} by their default hostnames", e.key, vpcs.name(&e.vpc)), &e.loc);
    }
}

/// PX002: endpoints with private DNS, grouped by the VPC they name.
fn endpoints_sharing_a_vpc(
    m: &Imported,
    vpcs: &VpcIndex<'_>,
    with_dns: &[&crate::imported::Endpoint],
    out: &mut Found,
) {
    let mut by_vpc: std::collections::HashMap<String, Vec<&crate::imported::Endpoint>> =
        std::collections::HashMap::new();
    for e in with_dns {
        let key = match (vpcs.get(&e.vpc), &e.vpc) {
            (Some(v), _) => v.key.clone(),
            (None, Ref::Key(k) | Ref::Id(k)) => k.clone(),
            (None, Ref::Unknown(_)) => continue,
        };
        by_vpc.entry(key).or_default().push(e);
    }
    let mut groups: Vec<_> = by_vpc.into_values().filter(|g| g.len() > 1).collect();
    groups.sort_by_key(|g| (g[0].loc.file.clone(), g[0].loc.line));
    for g in groups {
        for b in &g[1..] {
            out.add(
                FindingId::Px002,
                None,
                format!(
                    "{} and {} both have private DNS for execute-api in {}",
                    g[0].key,
                    b.key,
                    m.vpc_name(&g[0].vpc)
                ),
                &b.loc,
            );
        }
    }
}

/// PX003 and PX007: resource policies.
fn resource_policies(m: &Imported, out: &mut Found) {
    let stages = m.stages_by_api();
    for a in &m.apis {
        let conditions = a.policy.as_ref().map(source_conditions).unwrap_or_default();
        match a.kind {
            Some(ApiKind::Private) if !a.policy_unknown => {
                let allows = a.policy.as_ref().is_some_and(has_allow);
                if !allows {
                    // AWS's authorization workflow: with a Lambda authorizer the policy is first
                    // checked only for an explicit deny; with AWS_IAM a same-account identity
                    // policy can allow what the resource policy is silent on. Cognito, or no
                    // authorizer, needs the resource policy's explicit allow.
                    let auths = m.authorizers_of(a);
                    let lenient: Vec<String> = auths
                        .iter()
                        .filter(|k| matches!(k, AuthKind::Lambda | AuthKind::Iam))
                        .map(ToString::to_string)
                        .collect();
                    if lenient.is_empty() {
                        out.add(FindingId::Px003, None, format!("{} is PRIVATE and its resource policy allows nothing: every call gets 403 AccessDeniedException", a.name), &a.loc);
                    } else {
                        out.add(FindingId::Px003, Some(Severity::Warning), format!("{} is PRIVATE and its resource policy allows nothing by itself; its methods use {}, so a call passes only where that allows it in the same account (AWS's policy evaluation table A); anonymous calls and other accounts' get 403", a.name, lenient.join(" and ")), &a.loc);
                    }
                } else if let Some(vpces) = allowed_vpces(a.policy.as_ref()) {
                    let in_scope: Vec<String> = m
                        .endpoints
                        .iter()
                        .filter(exec_api)
                        .filter_map(|e| e.id.clone().or(Some(e.key.clone())))
                        .collect();
                    let known =
                        !in_scope.is_empty() && vpces.iter().all(|v| v.starts_with("vpce-"));
                    if known && !vpces.iter().any(|v| in_scope.contains(v)) {
                        out.add(
                            FindingId::Px003,
                            Some(Severity::Warning),
                            format!(
                                "{} allows only {} ; no endpoint in scope is among them",
                                a.name,
                                vpces.join(", ")
                            ),
                            &a.loc,
                        );
                    }
                }
            }
            Some(kind @ (ApiKind::Regional | ApiKind::Edge)) => {
                let Some(p) = a.policy.as_ref() else { continue };
                let stage = stages.get(a.key.as_str()).copied().unwrap_or("prod");
                let why = match internet_decision(p, a.id.as_deref(), stage) {
                    InternetDecision::Denied(Decision::ExplicitDeny) => "denies every",
                    InternetDecision::Denied(_) => "allows no",
                    InternetDecision::Allowed | InternetDecision::NotJudged => continue,
                };
                let keys = if conditions.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (it conditions on {}, which only a call through an interface endpoint carries, and a public API never receives one)",
                        conditions.join(", ")
                    )
                };
                if conditions.is_empty() && allowed_at_other_times(p, a.id.as_deref(), stage) {
                    let dates: Vec<String> =
                        policy_times(p).into_iter().map(|(text, _)| text).collect();
                    out.add(FindingId::Px007, None, format!("{} is {kind} but its resource policy lets calls in only at times its aws:CurrentTime or aws:EpochTime conditions name ({}), and now is not one: every call gets 403 AccessDeniedException", a.name, dates.join(", ")), &a.loc);
                    continue;
                }
                out.add(FindingId::Px007, None, format!("{} is {kind} but its resource policy {why} call from outside a VPC endpoint, whatever its address{keys}: every call gets 403 AccessDeniedException", a.name), &a.loc);
            }
            _ => {}
        }
    }
}

/// PX004: CNAME-published regional domains, shadowed where an execute-api endpoint has private DNS.
fn cname_domains(m: &Imported, with_dns: &[&crate::imported::Endpoint], out: &mut Found) {
    let shadowing = !with_dns.is_empty();
    for c in &m.cnames {
        if cname_into_execute_api(m, c) {
            let sev = if shadowing {
                Severity::Error
            } else {
                Severity::Warning
            };
            let where_ = if shadowing {
                format!(
                    "in {}",
                    with_dns
                        .iter()
                        .map(|e| m.vpc_name(&e.vpc))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                "in any VPC with an execute-api endpoint with private DNS".to_owned()
            };
            out.add(FindingId::Px004, Some(sev), format!("{} is a CNAME to its execute-api target: {where_} the resolver follows it into the endpoint's zone and the TLS name check fails", c.name.clone().unwrap_or_else(|| c.loc.resource.clone())), &c.loc);
        }
    }
}

/// PX006: mutual TLS bypass.
fn mtls_bypass(m: &Imported, out: &mut Found) {
    for d in m.domains.iter().filter(|d| d.mtls) {
        for r in &d.apis {
            if let Some(a) = m.api(r)
                && a.disable_default != Some(true)
            {
                out.add(FindingId::Px006, None, format!("{} has mutual TLS, but {}'s default execute-api endpoint stays enabled: it can be called without a client certificate", d.name.clone().unwrap_or_else(|| d.key.clone()), a.name), &d.loc);
            }
        }
    }
}

/// PX010 and PX009: misspelt resource types, and keys given twice (at both lines).
fn input_mistakes(m: &Imported, out: &mut Found) {
    for (ty, near, l) in &m.misspelled_types {
        out.add(
            FindingId::Px010,
            None,
            format!(
                "{}: `{ty}` is not a resource type; did you mean `{near}`? It is not analyzed",
                l.resource
            ),
            l,
        );
    }
    for (key, first, last) in &m.duplicate_keys {
        out.add(FindingId::Px009, None, format!("`{key}` is given again at line {}: the value there is the one CloudFormation keeps", last.line), first);
        out.add(
            FindingId::Px009,
            None,
            format!(
                "`{key}` was given already at line {}: this value replaces it",
                first.line
            ),
            last,
        );
    }
}

/// PX011: a private zone associated with a VPC that answers the Region's execute-api names (the
/// zone is `execute-api.{region}.amazonaws.com` or a parent of it), in a VPC without an
/// execute-api endpoint of its own with private DNS (that is PX001's). Public APIs called by
/// their default hostnames from there go where the zone says: a wildcard's addresses (the hub's
/// endpoint, which routes only private APIs: 403) or nowhere (NXDOMAIN).
fn shared_zone_capture(
    m: &Imported,
    public: &[&crate::imported::Api],
    push: &mut dyn FnMut(Severity, String, &Loc),
) {
    // The Region in the zone's own name when the inputs say it nowhere else; else the one the
    // matrix assumes (and says so).
    let region = m
        .region
        .as_deref()
        .or_else(|| {
            m.zones.iter().find_map(|z| {
                z.name
                    .as_deref()?
                    .strip_prefix("execute-api.")?
                    .strip_suffix(".amazonaws.com")
            })
        })
        .unwrap_or(crate::runnable::DEFAULT_REGION);
    let service = format!("execute-api.{region}.amazonaws.com");
    let within = |name: &str, zone: &str| name == zone || name.ends_with(&format!(".{zone}"));
    let own_endpoint = |v: &Ref| {
        m.endpoints.iter().any(|e| {
            e.service.as_deref() == Some("execute-api")
                && e.private_dns == Some(true)
                && m.same_vpc(&e.vpc, v)
        })
    };
    for z in &m.zones {
        let Some(raw) = z
            .name
            .as_deref()
            .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
        else {
            continue;
        };
        // A Region the template leaves to deployment (`execute-api.${Region}.amazonaws.com`, a
        // parameter without a default, `${AWS::Region}`): the zone is the execute-api zone of
        // whatever Region the stack is deployed in. Its names are read with that Region.
        let unsettled = raw
            .strip_prefix("execute-api.")
            .and_then(|r| r.strip_suffix(".amazonaws.com"))
            .filter(|r| r.contains("${"))
            .map(str::to_owned);
        let mut shown_zone = z.name.clone().unwrap_or_else(|| raw.clone());
        let (zname, zregion, zservice) = match &unsettled {
            Some(placeholder) => {
                // As written (the lowercase copy is for matching).
                let shown = z
                    .name
                    .as_deref()
                    .and_then(|n| n.get("execute-api.".len()..n.len() - ".amazonaws.com".len()))
                    .filter(|r| r.eq_ignore_ascii_case(placeholder))
                    .unwrap_or(placeholder);
                // `${unknown: parameter Region has no default}` is shown as the template wrote it.
                let shown = shown
                    .strip_prefix("${unknown: parameter ")
                    .and_then(|r| r.split([' ', '\'']).next())
                    .map_or_else(|| shown.to_owned(), |p| format!("${{{p}}}"));
                shown_zone = format!("execute-api.{shown}.amazonaws.com");
                let r = m
                    .region
                    .clone()
                    .unwrap_or_else(|| format!("the Region the stack is deployed in ({shown})"));
                let svc = format!(
                    "execute-api.{}.amazonaws.com",
                    m.region.as_deref().unwrap_or("{region}")
                );
                (svc.clone(), r, svc)
            }
            None => (raw.clone(), region.to_owned(), service.clone()),
        };
        let norm = |name: &str| match &unsettled {
            Some(placeholder) => name.to_ascii_lowercase().replace(
                placeholder.as_str(),
                m.region.as_deref().unwrap_or("{region}"),
            ),
            None => name.to_owned(),
        };
        if !within(&zservice, &zname) {
            continue;
        }
        let records: Vec<crate::imported::ZoneRecord> = m
            .zone_records
            .iter()
            .filter(|r| m.zone(&r.zone).is_some_and(|x| x.key == z.key))
            .map(|r| crate::imported::ZoneRecord {
                name: norm(&r.name),
                ..r.clone()
            })
            .collect();
        let wildcard = records
            .iter()
            .find(|r| r.name.starts_with("*.") && within(&zservice, &r.name[2..]));
        // The zone's VPCs: its own associations, and those of the profiles that carry it.
        let mut reached: Vec<(&Ref, Option<String>)> = z.vpcs.iter().map(|v| (v, None)).collect();
        for p in &m.profiles {
            let carries = m.profile_resources_of(p).iter().any(|r| {
                matches!(r, crate::imported::ProfileResource::Zone(zr)
                    if m.zone(zr).is_some_and(|x| x.key == z.key))
            });
            if carries {
                let name = p.id.clone().unwrap_or_else(|| p.key.clone());
                reached.extend(
                    m.profile_vpcs_of(p)
                        .into_iter()
                        .map(|v| (v, Some(name.clone()))),
                );
            }
        }
        let mut said = std::collections::HashSet::new();
        for (v, via) in reached {
            if own_endpoint(v) {
                continue;
            }
            let vpc = m.vpc_name(v);
            if !said.insert(vpc.clone()) {
                continue;
            }
            let broken: Vec<String> = public
                .iter()
                .filter(|a| {
                    // An API whose own name the zone holds exactly is not broken by it.
                    let default = a.id.as_ref().map(|id| format!("{id}.{zservice}"));
                    !default
                        .as_deref()
                        .is_some_and(|d| records.iter().any(|r| r.name == d))
                })
                .take(10)
                .map(|a| format!("{} ({})", a.name, a.kind.unwrap_or(ApiKind::Edge)))
                .collect();
            let what = match wildcard {
                Some(w) => format!(
                    "its wildcard {} answers every API id with {} (an endpoint that routes only PRIVATE APIs: 403 ForbiddenException)",
                    w.name,
                    if w.values.is_empty() { "its targets".to_owned() } else { w.values.join(", ") }
                ),
                None => "an API id without a record of its own gets NXDOMAIN (a matching private zone never falls back to public answers)".to_owned(),
            };
            let how = match &via {
                Some(p) => format!("reaches {vpc} through the Route 53 Profile {p}"),
                None => format!("is associated with {vpc}"),
            };
            report(
                &zregion,
                &vpc,
                &format!(
                    "the private zone {} {how}, which has no execute-api endpoint of its own: {what}",
                    shown_zone
                ),
                broken,
                &z.loc,
                push,
            );
        }
    }
    // A profile that carries an execute-api endpoint's private DNS to VPCs without their own.
    for p in &m.profiles {
        let pname = p.id.clone().unwrap_or_else(|| p.key.clone());
        for (r, what, loc) in &m.profile_resources {
            if m.profile(r).is_none_or(|x| x.key != p.key) {
                continue;
            }
            let crate::imported::ProfileResource::Endpoint(er) = what else {
                continue;
            };
            let Some(e) = m.endpoint(er) else {
                continue;
            };
            if e.service.as_deref() != Some("execute-api") || e.interface == Some(false) {
                continue;
            }
            let ename = e.id.clone().unwrap_or_else(|| e.key.clone());
            for v in m.profile_vpcs_of(p) {
                if own_endpoint(v) || m.same_vpc(&e.vpc, v) {
                    continue;
                }
                let vpc = m.vpc_name(v);
                let broken: Vec<String> = public
                    .iter()
                    .take(10)
                    .map(|a| format!("{} ({})", a.name, a.kind.unwrap_or(ApiKind::Edge)))
                    .collect();
                report(
                    region,
                    &vpc,
                    &format!(
                        "the Route 53 Profile {pname} carries the private DNS of the execute-api endpoint {ename} to {vpc}, which has no execute-api endpoint of its own: every API id of {region} answers that endpoint's addresses (an endpoint that routes only PRIVATE APIs: 403 ForbiddenException)"
                    ),
                    broken,
                    loc,
                    push,
                );
            }
        }
    }
}

/// PX011's words: an error naming the broken APIs, or a warning when none in the inputs is.
fn report(
    region: &str,
    vpc: &str,
    cause: &str,
    broken: Vec<String>,
    loc: &Loc,
    push: &mut dyn FnMut(Severity, String, &Loc),
) {
    let region_note = format!(
        "every public API Gateway API of {region} called by its default hostname is, other accounts' and vendors' included"
    );
    if broken.is_empty() {
        push(
            Severity::Warning,
            format!(
                "{cause}; nothing in these inputs is broken by it, but from {vpc} {region_note}"
            ),
            loc,
        );
    } else {
        push(
            Severity::Error,
            format!(
                "{cause}; from {vpc} these public APIs are unreachable by their default hostnames: {}",
                broken.join(", ")
            ),
            loc,
        );
    }
}

/// PX012: an execute-api endpoint with a policy, and a PRIVATE API that names the endpoint (in
/// its VPC endpoints, or an `aws:SourceVpce` of its policy) but that the endpoint policy does
/// not allow: every call through that endpoint gets 403 AccessDeniedException. The API's ARN
/// uses its id, or the same made-up id the matrix gives it.
fn endpoint_policy_blocks(m: &Imported, push: &mut dyn FnMut(String, &Loc)) {
    use parallax_rules::policy::{Caller, Decision, Policy, evaluate};
    let region = m.region.as_deref().unwrap_or("us-east-1");
    let account = m.account.as_deref().unwrap_or("123456789012");
    let stages = m.stages_by_api();
    for e in m
        .endpoints
        .iter()
        .filter(|e| e.service.as_deref() == Some("execute-api") && e.interface != Some(false))
    {
        let Some(policy_json) = e.policy.as_ref() else {
            continue;
        };
        let ep_ref = |r: &Ref| match r {
            Ref::Key(k) => k == &e.key,
            Ref::Id(id) => e.id.as_deref() == Some(id) || id == &e.key,
            Ref::Unknown(_) => false,
        };
        let vpce_id = e.id.clone().unwrap_or_else(|| e.key.clone());
        for a in m.apis.iter().filter(|a| a.kind == Some(ApiKind::Private)) {
            let named = a.vpc_endpoints.iter().any(ep_ref)
                || a.policy.as_ref().is_some_and(|p| {
                    let text = p.to_string();
                    text.contains(&format!("${{{}}}", e.key)) || text.contains(&vpce_id)
                });
            if !named {
                continue;
            }
            let api_id =
                a.id.clone()
                    .unwrap_or_else(|| parallax_model::topology::stable_token(&a.key, 10));
            let relative = format!(
                "{}/GET/",
                stages.get(a.key.as_str()).copied().unwrap_or("prod")
            );
            // The API's own account (inputs of several accounts), else the inputs' one.
            let account = a.account.as_deref().unwrap_or(account);
            let arn = format!("arn:aws:execute-api:{region}:{account}:{api_id}/{relative}");
            let caller = Caller {
                arn: &arn,
                api_relative: &relative,
                source_ip: std::net::IpAddr::from([10, 0, 0, 10]),
                source_vpce: Some(&vpce_id),
                source_vpc: None,
                user_agent: None,
                referer: None,
                now: Caller::now(),
                principal: None,
            };
            // The template's references (`${Api}`, `${Endpoint}`) as the ids the matrix uses; a
            // policy that still names something unknown cannot be judged here.
            let mut text = policy_json.to_string();
            for other in &m.apis {
                let id = other
                    .id
                    .clone()
                    .unwrap_or_else(|| parallax_model::topology::stable_token(&other.key, 10));
                text = text.replace(&format!("${{{}}}", other.key), &id);
            }
            text = text.replace(&format!("${{{}}}", e.key), &vpce_id);
            let Some(policy) = serde_json::from_str(&text)
                .ok()
                .and_then(|v| Policy::parse(&v).ok())
            else {
                continue;
            };
            let d = evaluate(&policy, &caller);
            if d != Decision::Allow {
                let why = if d == Decision::ExplicitDeny {
                    "denies it explicitly"
                } else {
                    "allows nothing for it"
                };
                push(
                    format!(
                        "{}'s endpoint policy {why}: every call to the PRIVATE API {} through this endpoint gets 403 AccessDeniedException (\"because no VPC endpoint policy allows the execute-api:Invoke action\")",
                        e.key, a.name
                    ),
                    &e.loc,
                );
            }
        }
    }
}

/// PX013: security policies and endpoint access mode ("Security policies for REST APIs in API
/// Gateway", "Choose a security policy for your custom domain", "Invoke a private API"):
/// - error: what AWS refuses to create (an enhanced policy without a mode, a mode without one,
///   an EDGE policy elsewhere or the reverse, mutual TLS or an HTTP API mapping on a domain with
///   an enhanced policy);
/// - warning: a STRICT private API that callers can reach only by endpoint-specific names (no
///   endpoint with private DNS in the inputs, no `{api}-{vpce}` alias, no private custom domain
///   maps it): STRICT refuses those names;
/// - note: a TLS 1.3-only policy, which refuses every TLS 1.2 client at the handshake.
fn security_policies(m: &Imported, push: &mut dyn FnMut(Severity, String, &Loc)) {
    use parallax_model::topology::{EndpointType, TlsVersion};
    let ty = |k: Option<ApiKind>| match k {
        Some(ApiKind::Regional) => Some(EndpointType::Regional),
        Some(ApiKind::Edge) => Some(EndpointType::Edge),
        Some(ApiKind::Private) => Some(EndpointType::Private),
        None => None,
    };
    let refused = |push: &mut dyn FnMut(Severity, String, &Loc),
                   what: &str,
                   s: &crate::imported::Security,
                   k: Option<ApiKind>,
                   loc: &Loc| {
        match (s.policy, s.access_mode) {
            (Some(p), None) if p.is_enhanced() => push(
                Severity::Error,
                format!(
                    "{what} has the enhanced security policy {p} and no endpoint access mode: API Gateway refuses it (an enhanced policy needs STRICT or BASIC)"
                ),
                loc,
            ),
            (p, Some(mode)) if !p.is_some_and(|p| p.is_enhanced()) => push(
                Severity::Error,
                format!(
                    "{what} sets endpoint access mode {mode} without an enhanced security policy (SecurityPolicy_…): API Gateway refuses it"
                ),
                loc,
            ),
            _ => {}
        }
        if let (Some(p), Some(t)) = (s.policy, ty(k))
            && !p.fits(t)
        {
            push(
                Severity::Error,
                format!(
                    "{what} is {t} but its security policy {p} is not offered for {t} endpoints: API Gateway refuses it"
                ),
                loc,
            );
        }
        if let Some(p) = s.policy.filter(|p| p.min_version() == TlsVersion::Tls13) {
            push(
                Severity::Note,
                format!(
                    "{what}'s security policy {p} takes TLS 1.3 only: every TLS 1.2 client (curl --tls-max 1.2, Java 8 before update 261, OpenSSL before 1.1.1) is refused at the handshake"
                ),
                loc,
            );
        }
    };
    for a in m.apis.iter().filter(|a| !a.http) {
        refused(push, &a.name, &a.security, a.kind, &a.loc);
    }
    for d in &m.domains {
        let name = d.name.clone().unwrap_or_else(|| d.key.clone());
        refused(push, &name, &d.security, d.kind, &d.loc);
        if let Some(p) = d.security.policy.filter(|p| p.is_enhanced()) {
            if d.mtls {
                push(
                    Severity::Error,
                    format!(
                        "{name} has mutual TLS and the enhanced security policy {p}: API Gateway does not allow both on one domain name"
                    ),
                    &d.loc,
                );
            }
            let http: Vec<&str> = d
                .apis
                .iter()
                .filter_map(|r| m.api(r))
                .filter(|a| a.http)
                .map(|a| a.name.as_str())
                .collect();
            if !http.is_empty() {
                push(
                    Severity::Error,
                    format!(
                        "{name} has the enhanced security policy {p}, and {} is an HTTP API: API Gateway does not map HTTP APIs to such a domain name",
                        http.join(", ")
                    ),
                    &d.loc,
                );
            }
        }
    }
    // A STRICT private API with only endpoint-specific names to be called by.
    for a in m
        .apis
        .iter()
        .filter(|a| a.kind == Some(ApiKind::Private) && a.security.strict())
    {
        let private_dns = m
            .endpoints
            .iter()
            .filter(exec_api)
            .any(|e| e.private_dns != Some(false));
        let aliased = !a.vpc_endpoints.is_empty();
        let me_key = Ref::Key(a.key.clone());
        let by_domain = m.domains.iter().any(|d| {
            d.kind == Some(ApiKind::Private)
                && d.apis
                    .iter()
                    .any(|r| *r == me_key || m.api(r).is_some_and(|x| std::ptr::eq(x, a)))
        });
        let has_endpoint = m.endpoints.iter().any(|e| exec_api(&e));
        if has_endpoint && !private_dns && !aliased && !by_domain {
            push(
                Severity::Warning,
                format!(
                    "{} is PRIVATE with endpoint access mode STRICT, and the inputs give it no name of its own to be called by (no execute-api endpoint with private DNS, no VPC endpoint association for the {{api}}-{{vpce}} alias, no private custom domain): callers must use endpoint-specific vpce-… names with x-apigw-api-id or a Host, which STRICT refuses (\"Invoke a private API\": those need BASIC)",
                    a.name
                ),
                &a.loc,
            );
        }
    }
}

/// PX008: an API with methods that require a key, and no usage plan (with a key attached)
/// that lists it. Where a plan's APIs or a key's plan cannot be known, nothing is said.
fn key_methods_without_plan(m: &Imported, push: &mut dyn FnMut(FindingId, String, &Loc)) {
    if m.key_methods.is_empty() {
        return;
    }
    // Maps, not scans: a generated template can hold thousands of methods, APIs and plans.
    use std::collections::HashMap;
    let by_key: HashMap<&str, &crate::imported::Api> =
        m.apis.iter().map(|a| (a.key.as_str(), a)).collect();
    let by_id: HashMap<&str, &crate::imported::Api> = m
        .apis
        .iter()
        .filter_map(|a| a.id.as_deref().map(|id| (id, a)))
        .collect();
    let api_of = |r: &Ref| match r {
        Ref::Key(k) => by_key.get(k.as_str()).copied(),
        Ref::Id(id) => by_id.get(id.as_str()).copied(),
        Ref::Unknown(_) => None,
    };
    let mut plans_of: HashMap<&str, Vec<&crate::imported::UsagePlan>> = HashMap::new();
    for p in &m.usage_plans {
        for a in p.apis.iter().filter_map(api_of) {
            let v = plans_of.entry(a.key.as_str()).or_default();
            if !v.iter().any(|x| std::ptr::eq(*x, p)) {
                v.push(p);
            }
        }
    }
    let mut keyed_plans: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let plan_ids: HashMap<&str, &str> = m
        .usage_plans
        .iter()
        .filter_map(|p| p.id.as_deref().map(|id| (id, p.key.as_str())))
        .collect();
    for r in &m.plan_keys {
        match r {
            Ref::Key(k) => {
                keyed_plans.insert(k.as_str());
            }
            Ref::Id(id) => {
                if let Some(k) = plan_ids.get(id.as_str()) {
                    keyed_plans.insert(k);
                }
            }
            Ref::Unknown(_) => {}
        }
    }
    // The API each method names, grouped in input order.
    let mut groups: Vec<(&crate::imported::Api, Vec<&Loc>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for km in &m.key_methods {
        let Some(api) = api_of(&km.api) else { continue };
        let i = *index.entry(api.key.as_str()).or_insert_with(|| {
            groups.push((api, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(&km.loc);
    }
    let plan_unknown = m
        .usage_plans
        .iter()
        .any(|p| p.apis.iter().any(|r| matches!(r, Ref::Unknown(_))));
    let key_unknown = m.plan_keys.iter().any(|r| matches!(r, Ref::Unknown(_)));
    for (api, locs) in groups {
        let (methods, them) = match locs.len() {
            1 => ("a method requires".to_owned(), "it"),
            n => (format!("{n} methods require"), "them"),
        };
        let plans = plans_of.get(api.key.as_str()).cloned().unwrap_or_default();
        if plans.is_empty() {
            if !plan_unknown {
                push(
                    FindingId::Px008,
                    format!(
                        "{methods} an API key on {}, but no usage plan in the inputs lists a stage of {}: every call to {them} gets 403 {{\"message\":\"Forbidden\"}}",
                        api.name, api.name
                    ),
                    locs[0],
                );
            }
            continue;
        }
        let keyed = plans.iter().any(|p| keyed_plans.contains(p.key.as_str()));
        if !keyed && !key_unknown {
            let names: Vec<&str> = plans.iter().map(|p| p.key.as_str()).collect();
            push(
                FindingId::Px008,
                format!(
                    "{methods} an API key on {}, but no key is attached to the usage plan that lists it ({}): every call to {them} gets 403 {{\"message\":\"Forbidden\"}}",
                    api.name,
                    names.join(", ")
                ),
                &plans[0].loc,
            );
        }
    }
}

/// VPCs by key and by id, so that resolving a reference is not a scan.
struct VpcIndex<'a> {
    by_key: std::collections::HashMap<&'a str, &'a crate::imported::Vpc>,
    by_id: std::collections::HashMap<&'a str, &'a crate::imported::Vpc>,
}

impl<'a> VpcIndex<'a> {
    fn new(m: &'a Imported) -> Self {
        VpcIndex {
            by_key: m.vpcs.iter().map(|v| (v.key.as_str(), v)).collect(),
            by_id: m
                .vpcs
                .iter()
                .filter_map(|v| v.id.as_deref().map(|id| (id, v)))
                .collect(),
        }
    }

    fn get(&self, r: &Ref) -> Option<&'a crate::imported::Vpc> {
        match r {
            Ref::Key(k) => self.by_key.get(k.as_str()).copied(),
            Ref::Id(id) => self.by_id.get(id.as_str()).copied(),
            Ref::Unknown(_) => None,
        }
    }

    fn name(&self, r: &Ref) -> String {
        match (self.get(r), r) {
            (Some(v), _) => v.id.clone().unwrap_or_else(|| v.key.clone()),
            (None, Ref::Key(k) | Ref::Id(k)) => k.clone(),
            (None, Ref::Unknown(why)) => format!("an unknown VPC ({why})"),
        }
    }
}

fn statements(p: &Value) -> Vec<&Value> {
    match p.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => vec![],
    }
}

fn has_allow(p: &Value) -> bool {
    statements(p)
        .iter()
        .any(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
}

/// What a public API's resource policy answers an anonymous call from the internet.
enum InternetDecision {
    /// Some internet caller is allowed.
    Allowed,
    /// Every internet caller tried gets this (ExplicitDeny or NoAllow).
    Denied(parallax_rules::policy::Decision),
    /// The policy cannot be judged here: it does not parse, it names principals (signed callers
    /// may pass where anonymous ones do not), or it names something the inputs do not settle.
    NotJudged,
}

/// The resource policy `p` evaluated, as IAM evaluates it, for anonymous calls from the
/// internet: no `aws:SourceVpc`, `aws:SourceVpce` or `aws:VpcSourceIp` (those keys are absent,
/// so a condition on them is false, or true for a negated operator: IAM User Guide, "Condition
/// operators"). Every distinct answer the policy's own values can give is tried: an address
/// inside each `aws:SourceIp` range and addresses outside them all, and each `aws:UserAgent` or
/// `aws:Referer` value the policy names, and neither.
fn internet_decision(p: &Value, api_id: Option<&str>, stage: &str) -> InternetDecision {
    internet_decision_at(p, api_id, stage, parallax_rules::policy::Caller::now())
}

/// The dates a policy's `aws:CurrentTime` and `aws:EpochTime` conditions name, as written and
/// in seconds since the epoch.
fn policy_times(p: &Value) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for s in statements(p) {
        if let Some(Value::Object(ops)) = s.get("Condition") {
            for keys in ops.values().filter_map(Value::as_object) {
                for (name, v) in keys {
                    let l = name.to_ascii_lowercase();
                    if l != "aws:currenttime" && l != "aws:epochtime" {
                        continue;
                    }
                    let values = match v {
                        Value::Array(a) => a.iter().collect(),
                        one => vec![one],
                    };
                    for v in values {
                        let text = match v {
                            Value::String(t) => t.clone(),
                            other => other.to_string(),
                        };
                        if let Some(t) = parallax_model::policy::date(&text) {
                            out.push((text, t));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Whether a policy that refuses every internet caller now lets one in at some other time its
/// date conditions name (a window that has passed, or not yet begun).
fn allowed_at_other_times(p: &Value, api_id: Option<&str>, stage: &str) -> bool {
    // Each date is up to three full judgements: a policy of many dates is judged on its first
    // sixteen (a window has two).
    policy_times(p).iter().take(16).any(|(_, t)| {
        [t - 1, *t, t + 1].into_iter().any(|at| {
            matches!(
                internet_decision_at(p, api_id, stage, at),
                InternetDecision::Allowed
            )
        })
    })
}

/// [`internet_decision`] for a call made at `now` (seconds since the epoch).
fn internet_decision_at(
    p: &Value,
    api_id: Option<&str>,
    stage: &str,
    now: i64,
) -> InternetDecision {
    use parallax_model::policy::Origin;
    use parallax_rules::policy::{Caller, Decision, Policy, evaluate};
    let named_principal = statements(p).iter().any(|s| match s.get("Principal") {
        None => s.get("NotPrincipal").is_some(),
        Some(Value::String(x)) => x != "*",
        Some(Value::Object(o)) => o.values().any(|v| match v {
            Value::String(x) => x != "*",
            Value::Array(a) => a.iter().any(|x| x.as_str() != Some("*")),
            _ => true,
        }),
        Some(_) => true,
    });
    if named_principal {
        return InternetDecision::NotJudged;
    }
    // The values of keys an internet call never carries cannot change its answer: an unknown
    // one there (an imported endpoint id) is no reason not to judge. Unknown elsewhere is.
    let mut p = p.clone();
    for s in statement_list_mut(&mut p) {
        // The API's id, account and Region are often made up here (or `${…}` references):
        // an execute-api ARN is judged by what follows the API id, as `execute-api:/…` is.
        for element in ["Resource", "NotResource"] {
            let relative = |v: &mut Value| {
                if let Value::String(r) = v
                    && r.starts_with("arn:")
                    && r.split(':').nth(2) == Some("execute-api")
                    && let Some((id, rest)) =
                        r.splitn(6, ':').nth(5).and_then(|x| x.split_once('/'))
                    && (id == "*" || id.contains("${") || api_id.is_none_or(|a| a == id))
                {
                    *r = format!("execute-api:/{rest}");
                }
            };
            match s.get_mut(element) {
                Some(Value::Array(list)) => list.iter_mut().for_each(relative),
                Some(one) => relative(one),
                None => {}
            }
        }
        if let Some(Value::Object(ops)) = s.get_mut("Condition") {
            for keys in ops.values_mut() {
                if let Value::Object(k) = keys {
                    for (name, v) in k.iter_mut() {
                        let l = name.to_ascii_lowercase();
                        if matches!(
                            l.as_str(),
                            "aws:sourcevpc" | "aws:sourcevpce" | "aws:vpcsourceip"
                        ) {
                            *v = Value::String("vpc-or-endpoint".to_owned());
                        }
                    }
                }
            }
        }
    }
    if p.to_string().contains("${unknown") {
        return InternetDecision::NotJudged;
    }
    let Ok(policy) = Policy::parse(&p) else {
        return InternetDecision::NotJudged;
    };
    // Values a caller can take: the policy's own (with wildcards filled), and outside them all.
    let mut ips: Vec<std::net::IpAddr> = ["203.0.113.77", "198.51.100.77", "2001:db8::77"]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let mut agents: Vec<Option<String>> = vec![None, Some("curl/8.5.0".to_owned())];
    let mut referers: Vec<Option<String>> = vec![None];
    for c in policy.statements().iter().flat_map(|s| &s.conditions) {
        for v in &c.values {
            match c.key.source {
                Origin::SourceIp => {
                    if let Ok(net) = v.parse::<ipnet::IpNet>() {
                        ips.push(net.network());
                    } else if let Ok(ip) = v.parse() {
                        ips.push(ip);
                    }
                }
                Origin::UserAgent => agents.push(Some(v.replace('*', "").replace('?', "x"))),
                Origin::Referer => referers.push(Some(v.replace('*', "").replace('?', "x"))),
                _ => {}
            }
        }
    }
    for l in [&mut agents, &mut referers] {
        l.truncate(32);
    }
    ips.truncate(64);
    // Stages, methods and paths a caller can name: the API's stage, and the policy's own
    // resources (with wildcards filled).
    let mut paths = vec![format!("{stage}/GET/")];
    for s in statements(&p) {
        let resources = match s.get("Resource") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(one) => vec![one],
            None => Vec::new(),
        };
        for r in resources.into_iter().filter_map(Value::as_str) {
            if let Some(rest) = r.strip_prefix("execute-api:/") {
                let filled = rest.replace(['*', '?'], "x");
                if !paths.contains(&filled) {
                    paths.push(filled);
                }
            }
        }
    }
    // Every combination is tried: at most 65,536 callers.
    paths.truncate((65_536 / (ips.len() * agents.len() * referers.len()).max(1)).max(1));
    let mut seen = None;
    for path in &paths {
        let arn = format!("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/{path}");
        for ip in &ips {
            for ua in &agents {
                for rf in &referers {
                    let caller = Caller {
                        arn: &arn,
                        api_relative: path,
                        source_ip: *ip,
                        source_vpce: None,
                        source_vpc: None,
                        user_agent: ua.as_deref(),
                        referer: rf.as_deref(),
                        now,
                        principal: None,
                    };
                    match evaluate(&policy, &caller) {
                        Decision::Allow => return InternetDecision::Allowed,
                        d => {
                            // One explicit deny among no-allows: the call is still refused; say
                            // "denies" only when every caller meets an explicit deny.
                            seen = Some(match seen {
                                Some(Decision::NoAllow) => Decision::NoAllow,
                                _ => d,
                            })
                        }
                    }
                }
            }
        }
    }
    seen.map_or(InternetDecision::NotJudged, InternetDecision::Denied)
}

/// The statements of a policy, to change in place.
fn statement_list_mut(p: &mut Value) -> Vec<&mut Value> {
    match p.get_mut("Statement") {
        Some(Value::Array(a)) => a.iter_mut().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// The `aws:SourceVpc`/`aws:SourceVpce` keys a policy conditions on (any case).
fn source_conditions(p: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for s in statements(p) {
        if let Some(Value::Object(ops)) = s.get("Condition") {
            for keys in ops.values() {
                if let Value::Object(k) = keys {
                    for name in k.keys() {
                        let l = name.to_ascii_lowercase();
                        if (l == "aws:sourcevpc" || l == "aws:sourcevpce") && !out.contains(name) {
                            out.push(name.clone());
                        }
                    }
                }
            }
        }
    }
    out
}

/// The endpoints an allow-only-these policy names (StringEquals aws:SourceVpce on an Allow).
fn allowed_vpces(p: Option<&Value>) -> Option<Vec<String>> {
    let p = p?;
    let mut out = Vec::new();
    for s in statements(p)
        .into_iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
    {
        let c = s.get("Condition")?.get("StringEquals")?;
        let Value::Object(keys) = c else { return None };
        let v = keys
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("aws:SourceVpce"))?
            .1;
        match v {
            Value::String(x) => out.push(x.clone()),
            Value::Array(a) => out.extend(a.iter().filter_map(|x| x.as_str().map(str::to_owned))),
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Human text: one block per finding, then the unknowns and the unreadable parts.
pub fn text(fs: &[Finding], m: &Imported) -> String {
    let mut o = String::new();
    for f in fs {
        let at = if let Some(arn) = m.arn_of(&f.location) {
            // Read from a live account: the resource's ARN says where, the call's answer how.
            format!("{arn} ({})", f.location.place())
        } else if f.location.line > 0 {
            f.location.place()
        } else {
            format!("{} ({})", f.location.file, f.location.resource)
        };
        o.push_str(&format!(
            "{at}: {} {} {}\n  {}\n  fix: {}\n",
            f.severity.as_str(),
            f.rule,
            f.rule.rule().name,
            f.message,
            f.fix
        ));
    }
    for (l, why) in &m.unknowns {
        if l.file.is_empty() {
            o.push_str(&format!("unknown: {why}\n"));
        } else if l.line == 0 {
            // A plan without its configuration: the resource address says where.
            o.push_str(&format!("{} ({}): unknown: {why}\n", l.file, l.resource));
        } else {
            o.push_str(&format!(
                "{}:{}: unknown: {} ({why})\n",
                l.file, l.line, l.resource
            ));
        }
    }
    for (l, why) in &m.errors {
        o.push_str(&format!("{}: error: {why}\n", l.place()));
    }
    let count = |s| fs.iter().filter(|f| f.severity == s).count();
    o.push_str(&format!(
        "{} findings: {} errors, {} warnings, {} notes\n",
        fs.len(),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Note)
    ));
    o
}

/// The findings as JSON (`parallax analyze --format json`), with what was read.
pub fn json(fs: &[Finding], m: &Imported) -> Value {
    json!({
        "schema": "parallax.analyze/v1",
        "findings": fs,
        "unknowns": m.unknowns.iter().map(|(l, w)| json!({"location": l, "reason": w})).collect::<Vec<_>>(),
        "errors": m.errors.iter().map(|(l, w)| json!({"location": l, "message": w})).collect::<Vec<_>>(),
    })
}

/// Where the project's documentation is published; each rule's page is `docs/rules/ID.md`
/// under it (SARIF's `helpUri`, an absolute URI). The page itself travels in the SARIF as
/// `help.markdown`, which code scanning shows beside the alert.
pub const PROJECT_URI: &str = "https://example.invalid/parallax";

/// Each rule's page, as `docs/rules/` holds it.
fn page(id: &str) -> &'static str {
    match id {
        "PX001" => include_str!("../../../docs/rules/PX001.md"),
        "PX002" => include_str!("../../../docs/rules/PX002.md"),
        "PX003" => include_str!("../../../docs/rules/PX003.md"),
        "PX004" => include_str!("../../../docs/rules/PX004.md"),
        "PX005" => include_str!("../../../docs/rules/PX005.md"),
        "PX006" => include_str!("../../../docs/rules/PX006.md"),
        "PX007" => include_str!("../../../docs/rules/PX007.md"),
        "PX008" => include_str!("../../../docs/rules/PX008.md"),
        "PX009" => include_str!("../../../docs/rules/PX009.md"),
        "PX010" => include_str!("../../../docs/rules/PX010.md"),
        "PX011" => include_str!("../../../docs/rules/PX011.md"),
        "PX012" => include_str!("../../../docs/rules/PX012.md"),
        "PX013" => include_str!("../../../docs/rules/PX013.md"),
        _ => "",
    }
}

/// SARIF 2.1.0, as GitHub code scanning reads it.
pub fn sarif(fs: &[Finding], m: &Imported) -> Value {
    let level = Severity::as_str;
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": format!("{}. {}", r.summary, r.help) },
                "help": { "text": r.help, "markdown": page(r.id) },
                "helpUri": format!("{PROJECT_URI}/docs/rules/{}.md", r.id),
                "defaultConfiguration": { "level": level(r.severity) },
            })
        })
        .collect();
    // A finding without a file (an AWS CLI output folder's, say) keeps its logical location.
    // A finding without a line (an AWS CLI output folder's, a plan read without its `.tf`
    // files, whose one line says nothing) keeps its logical location: the resource.
    let location = |l: &Loc| {
        // Read from a live account (`aws:ACCOUNT:REGION/…`): no file to point at, the resource's
        // ARN is its fully qualified name.
        let arn = m.arn_of(l);
        let logical = match &arn {
            Some(arn) => {
                json!([{ "name": l.resource, "fullyQualifiedName": arn, "kind": "resource" }])
            }
            None => json!([{ "name": l.resource, "kind": "resource" }]),
        };
        if l.file.is_empty() || l.line == 0 || arn.is_some() || l.file.starts_with("aws:") {
            return json!({ "logicalLocations": logical });
        }
        json!({
            "physicalLocation": {
                "artifactLocation": { "uri": uri_of(&l.file) },
                "region": { "startLine": l.line },
            },
            "logicalLocations": logical,
        })
    };
    let results: Vec<Value> = fs
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.rule.as_str(),
                "ruleIndex": f.rule as usize,
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [location(&f.location)],
                // Stable when lines move: the rule, the file and the resource.
                "partialFingerprints": {
                    "parallaxFinding/v1": parallax_model::topology::stable_token(
                        &format!("{}\0{}\0{}", f.rule, f.location.file, f.location.resource),
                        16,
                    ),
                },
            })
        })
        .collect();
    let notifications: Vec<Value> = m
        .errors
        .iter()
        .map(|(l, w)| json!({ "level": "error", "message": { "text": w }, "locations": [location(l)] }))
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "parallax",
                "informationUri": PROJECT_URI,
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{ "executionSuccessful": m.errors.is_empty(), "toolExecutionNotifications": notifications }],
            "results": results,
        }],
    })
}

/// [`sarif`] as text in the order SARIF's own examples use (`version` before `runs`; in a run,
/// `tool` before `invocations` and `results`). Readers that stream the log depend on it: Microsoft's
/// SARIF multitool silently skips validating a run whose `results` come before its `tool`.
pub fn sarif_text(fs: &[Finding], m: &Imported) -> String {
    #[derive(Serialize)]
    struct Log<'a> {
        #[serde(rename = "$schema")]
        schema: &'a Value,
        version: &'a Value,
        runs: [Run<'a>; 1],
    }
    #[derive(Serialize)]
    struct Run<'a> {
        tool: &'a Value,
        invocations: &'a Value,
        results: &'a Value,
    }
    let v = sarif(fs, m);
    let run = &v["runs"][0];
    let log = Log {
        schema: &v["$schema"],
        version: &v["version"],
        runs: [Run {
            tool: &run["tool"],
            invocations: &run["invocations"],
            results: &run["results"],
        }],
    };
    // Serialising values that are already JSON cannot fail.
    serde_json::to_string_pretty(&log).unwrap_or_default()
}

/// A file path as a SARIF URI reference: every byte outside RFC 3986's unreserved set and `/`
/// percent-encoded; absolute paths as `file://` URIs.
fn uri_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 7);
    // An absolute path is a `file://` URI; a relative reference must not begin with a slash
    // (SARIF §3.4.4), so it is given as it is, relative to where analyze ran.
    if path.starts_with('/') {
        out.push_str("file://");
    }
    let path = path.strip_prefix("./").unwrap_or(path);
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a CNAME publishes a name into execute-api (a `d-….execute-api` target, or a Regional
/// domain of the inputs), so that an endpoint's private DNS catches it.
fn cname_into_execute_api(m: &Imported, c: &crate::imported::Cname) -> bool {
    c.target
        .as_deref()
        .is_some_and(|t| t.contains(".execute-api."))
        || c.target_domain.as_ref().is_some_and(|d| {
            m.domains
                .iter()
                .any(|x| &x.key == d && x.kind == Some(ApiKind::Regional))
        })
}

#[cfg(test)]
mod id_tests {
    use super::*;

    #[test]
    fn sarif_keeps_every_finding_with_a_stable_fingerprint_and_encoded_uris() {
        let loc = |file: &str, line| Loc {
            file: file.to_owned(),
            line,
            resource: "Endpoint".to_owned(),
        };
        let f = |file: &str, line| Finding {
            rule: FindingId::Px001,
            severity: Severity::Error,
            message: "m".to_owned(),
            location: loc(file, line),
            fix: "",
        };
        let fs = [
            f("stacks/my stack.yaml", 11),
            f("stacks/my stack.yaml", 40),
            f("", 0),
        ];
        let s = sarif(&fs, &Imported::default());
        let results = s["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 3, "a finding without a file is kept");
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "stacks/my%20stack.yaml"
        );
        assert_eq!(
            results[0]["partialFingerprints"], results[1]["partialFingerprints"],
            "the same finding on another line keeps its fingerprint"
        );
        assert!(results[2]["locations"][0].get("physicalLocation").is_none());
        assert_eq!(
            results[2]["locations"][0]["logicalLocations"][0]["name"],
            "Endpoint"
        );
        let rule = &s["runs"][0]["tool"]["driver"]["rules"][0];
        assert_ne!(rule["fullDescription"], rule["shortDescription"]);
    }

    /// PX007's judgement reads execute-api ARNs of any account and Region by what follows the
    /// API id, so a policy written for the real account (unknown here) is judged as written;
    /// another API's ARN stays another API's.
    #[test]
    fn internet_decision_reads_arns_of_any_account() {
        let allow_arn = json!({"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke",
            "Resource":"arn:aws:execute-api:eu-west-1:222222222222:abc123defg/*"}]});
        assert!(matches!(
            internet_decision(&allow_arn, Some("abc123defg"), "prod"),
            InternetDecision::Allowed
        ));
        assert!(matches!(
            internet_decision(&allow_arn, None, "prod"),
            InternetDecision::Allowed
        ));
        assert!(matches!(
            internet_decision(&allow_arn, Some("zzz999yyyx"), "prod"),
            InternetDecision::Denied(_)
        ));
        let vpc_only = json!({"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke",
            "Resource":"arn:aws:execute-api:*:*:*/*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}]});
        assert!(matches!(
            internet_decision(&vpc_only, None, "prod"),
            InternetDecision::Denied(Decision::NoAllow)
        ));
    }

    /// SAM's stage is `Prod`, and execute-api ARNs match case-sensitively: a policy scoped to
    /// it lets internet callers in (aws-samples/serverless-patterns apigw-custom-resource-policy
    /// scopes its statement to `execute-api:/Prod/*/*`). A date window is judged at its dates:
    /// one that has passed refuses every call now, and the finding names the dates.
    #[test]
    fn internet_calls_are_tried_on_the_policys_own_stages_and_dates() {
        let prod = json!({"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke",
            "Resource":"execute-api:/Prod/*/*"}]});
        assert!(matches!(
            internet_decision(&prod, None, "prod"),
            InternetDecision::Allowed
        ));
        let window = |from: &str, to: &str| {
            json!({"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke",
                "Resource":"execute-api:/Prod/*/*","Condition":{
                    "DateGreaterThan":{"aws:CurrentTime":from},"DateLessThan":{"aws:CurrentTime":to}}}]})
        };
        let passed = window("2022-09-01T00:00:00Z", "2022-09-30T23:59:59Z");
        assert!(matches!(
            internet_decision(&passed, None, "prod"),
            InternetDecision::Denied(_)
        ));
        assert!(allowed_at_other_times(&passed, None, "prod"));
        let open = window("2022-09-01T00:00:00Z", "2999-01-01T00:00:00Z");
        assert!(matches!(
            internet_decision(&open, None, "prod"),
            InternetDecision::Allowed
        ));
        let vpc_only = json!({"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke",
            "Resource":"execute-api:/*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"},
            "DateGreaterThan":{"aws:CurrentTime":"2022-09-01T00:00:00Z"}}}]});
        assert!(
            !allowed_at_other_times(&vpc_only, None, "prod"),
            "no time lets an internet call in"
        );
        let m = Imported {
            apis: vec![crate::imported::Api {
                key: "TempApi".into(),
                id: None,
                name: "TempApi".into(),
                http: false,
                kind: Some(ApiKind::Edge),
                policy: Some(passed),
                policy_unknown: false,
                vpc_endpoints: Vec::new(),
                disable_default: None,
                security: Default::default(),
                account: None,
                loc: Default::default(),
            }],
            ..Default::default()
        };
        let fs = findings(&m);
        assert_eq!(fs.len(), 1, "{fs:?}");
        assert!(
            fs[0].message.contains("2022-09-30T23:59:59Z") && !fs[0].message.contains("VPC"),
            "{}",
            fs[0].message
        );
    }

    /// Every rule has its page (`docs/rules/PXnnn.md`) with its name, its severity and the
    /// reason for it.
    #[test]
    fn every_rule_has_its_page() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules");
        for r in &RULES {
            let page = std::fs::read_to_string(dir.join(format!("{}.md", r.id)))
                .unwrap_or_else(|e| panic!("docs/rules/{}.md: {e}", r.id));
            assert!(
                page.starts_with(&format!("# {} {}", r.id, r.name)),
                "{}: the page's title",
                r.id
            );
            assert!(
                page.contains("**Severity"),
                "{}: the page says its severity",
                r.id
            );
        }
    }

    #[test]
    fn ids_and_rules_line_up() {
        for (i, id) in FindingId::ALL.iter().enumerate() {
            assert_eq!(id.as_str(), format!("PX{:03}", i + 1));
        }
        assert_eq!(FindingId::ALL.len(), RULES.len());
    }
}
