//! What the importers find, before it is a runnable Topology: every element keeps where it
//! came from (file and line, or a resource address), and what cannot be known statically (a
//! parameter without a default, another stack's output, a value known only after apply) is
//! recorded as unknown, never guessed.

use serde::Serialize;

/// Where an element was declared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Loc {
    /// The file.
    pub file: String,
    /// 1-based; 0 when the format has no lines (a plan's resource address is in `resource`).
    pub line: u32,
    /// The logical id, resource address or physical id that names it.
    pub resource: String,
}

impl Loc {
    /// `file:line`, or the file alone when there is no line (a file that could not be read, a
    /// format without lines).
    pub fn place(&self) -> String {
        if self.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}", self.file, self.line)
        }
    }
}

/// A reference to another element: to one declared in the input (by its key), to an id that
/// exists elsewhere, or to something that cannot be known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Ref {
    /// An element of the inputs, by its key (logical id, address).
    Key(String),
    /// A real id (`vpc-…`) that may exist outside the inputs.
    Id(String),
    /// Something that cannot be known statically, and why.
    Unknown(String),
}

/// A VPC.
#[derive(Clone, Debug, Serialize)]
pub struct Vpc {
    /// Its key in the input.
    pub key: String,
    /// Its id, when the input gives it.
    pub id: Option<String>,
    /// `enableDnsSupport`, when known.
    pub dns_support: Option<bool>,
    /// `enableDnsHostnames`, when known.
    pub dns_hostnames: Option<bool>,
    /// Where it is declared.
    pub loc: Loc,
}

/// A VPC endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct Endpoint {
    /// Its key in the input.
    pub key: String,
    /// Its id, when the input gives it.
    pub id: Option<String>,
    /// The VPC it is in.
    pub vpc: Ref,
    /// The short service name, when known (`execute-api`).
    pub service: Option<String>,
    /// Only interface endpoints get private DNS (gateway endpoints report the flag too).
    pub interface: Option<bool>,
    /// Whether private DNS is on, when known.
    pub private_dns: Option<bool>,
    /// The endpoint policy, when one is set and readable (none is full access).
    pub policy: Option<serde_json::Value>,
    /// A policy is set but could not be read statically.
    pub policy_unknown: bool,
    /// Its network interfaces, when the input gives them (a snapshot's
    /// describe-network-interfaces): the addresses its private DNS names answer with.
    pub enis: Vec<Eni>,
    /// Where it is declared.
    pub loc: Loc,
}

/// An interface endpoint's network interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Eni {
    /// Its subnet.
    pub subnet: String,
    /// Its Availability Zone.
    pub az: String,
    /// Its private IPv4 address.
    pub address: std::net::Ipv4Addr,
}

/// An API's (or custom domain's) endpoint type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ApiKind {
    /// REGIONAL.
    Regional,
    /// EDGE.
    Edge,
    /// PRIVATE.
    Private,
}

impl ApiKind {
    /// `REGIONAL`, `EDGE` or `PRIVATE`, in any case.
    pub fn parse(s: &str) -> Option<ApiKind> {
        match s.to_ascii_uppercase().as_str() {
            "REGIONAL" => Some(ApiKind::Regional),
            "EDGE" => Some(ApiKind::Edge),
            "PRIVATE" => Some(ApiKind::Private),
            _ => None,
        }
    }
}

impl ApiKind {
    /// The first of an endpoint configuration's `types` (CLI and Terraform spell the key
    /// alike); EDGE when there is none, the API Gateway default. `None` for an unknown type.
    pub fn of_configuration(conf: Option<&serde_json::Value>) -> Option<ApiKind> {
        ApiKind::of_first_type(
            conf.and_then(|c| c.get("types"))
                .and_then(|t| t.get(0))
                .and_then(serde_json::Value::as_str),
        )
    }

    /// The first of the `types`, when there is one; EDGE otherwise.
    pub fn of_first_type(first: Option<&str>) -> Option<ApiKind> {
        match first {
            Some(t) => ApiKind::parse(t),
            None => Some(ApiKind::Edge),
        }
    }
}

/// A JSON array of ids (`vpcEndpointIds`, `vpc_endpoint_ids`) as references.
pub fn id_refs(v: Option<&serde_json::Value>) -> Vec<Ref> {
    v.and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(|id| Ref::Id(id.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

impl std::fmt::Display for ApiKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApiKind::Regional => "REGIONAL",
            ApiKind::Edge => "EDGE",
            ApiKind::Private => "PRIVATE",
        })
    }
}

/// A REST or HTTP API.
#[derive(Clone, Debug, Serialize)]
pub struct Api {
    /// Its key in the input.
    pub key: String,
    /// Its id, when the input gives it.
    pub id: Option<String>,
    /// Its name.
    pub name: String,
    /// An HTTP API (API Gateway v2), always public and Regional.
    pub http: bool,
    /// `None` when it depends on something unknown.
    pub kind: Option<ApiKind>,
    /// Its resource policy, when known.
    pub policy: Option<serde_json::Value>,
    /// Some policy is set but could not be read statically.
    pub policy_unknown: bool,
    /// The VPC endpoints a private API names.
    pub vpc_endpoints: Vec<Ref>,
    /// Whether its default execute-api endpoint is disabled, when known.
    pub disable_default: Option<bool>,
    /// Its security policy and endpoint access mode, when set.
    pub security: Security,
    /// The account that owns it, when the inputs say (a snapshot of several accounts).
    pub account: Option<String>,
    /// Where it is declared.
    pub loc: Loc,
}

/// A REST API's or custom domain's security policy and endpoint access mode.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Security {
    /// `SecurityPolicy` / `security_policy` / `securityPolicy`.
    pub policy: Option<parallax_model::topology::SecurityPolicy>,
    /// `EndpointAccessMode` / `endpoint_access_mode` / `endpointAccessMode`.
    pub access_mode: Option<parallax_model::topology::EndpointAccessMode>,
}

impl Security {
    /// Reads the two values as the inputs give them; a value API Gateway does not offer is an
    /// unknown line at `loc` (and left unset), never dropped silently.
    pub fn read(
        policy: Option<&str>,
        mode: Option<&str>,
        loc: &Loc,
        unknowns: &mut Vec<(Loc, String)>,
    ) -> Security {
        use parallax_model::topology::{EndpointAccessMode, SecurityPolicy};
        let policy = policy.and_then(|p| {
            let parsed = SecurityPolicy::parse(p);
            if parsed.is_none() {
                unknowns.push((
                    loc.clone(),
                    format!("security policy `{p}` is not one API Gateway offers"),
                ));
            }
            parsed
        });
        let access_mode = mode.and_then(|m| match m {
            "STRICT" => Some(EndpointAccessMode::Strict),
            "BASIC" => Some(EndpointAccessMode::Basic),
            other => {
                unknowns.push((
                    loc.clone(),
                    format!("endpoint access mode `{other}` is neither STRICT nor BASIC"),
                ));
                None
            }
        });
        Security {
            policy,
            access_mode,
        }
    }

    /// Endpoint access mode STRICT.
    pub fn strict(&self) -> bool {
        self.access_mode == Some(parallax_model::topology::EndpointAccessMode::Strict)
    }
}

/// A custom domain name.
#[derive(Clone, Debug, Serialize)]
pub struct Domain {
    /// Its key in the input.
    pub key: String,
    /// The domain name, when known.
    pub name: Option<String>,
    /// Its endpoint type, when known.
    pub kind: Option<ApiKind>,
    /// Whether it requires mutual TLS.
    pub mtls: bool,
    /// The APIs it maps.
    pub apis: Vec<Ref>,
    /// A private custom domain name's policy, when set and readable.
    pub policy: Option<serde_json::Value>,
    /// A private custom domain name's policy is set but not readable statically.
    pub policy_unknown: bool,
    /// A private custom domain name's access associations: the endpoints that may invoke it.
    pub access: Vec<Ref>,
    /// Its security policy and endpoint access mode, when set.
    pub security: Security,
    /// Where it is declared.
    pub loc: Loc,
}

/// A hosted zone.
#[derive(Clone, Debug, Serialize)]
pub struct Zone {
    /// Its key in the input (or its id).
    pub key: String,
    /// Its name, when known.
    pub name: Option<String>,
    /// Private zones name their VPCs.
    pub vpcs: Vec<Ref>,
    /// Where it is declared.
    pub loc: Loc,
}

/// A record of a hosted zone (A, AAAA, CNAME, or a Route 53 alias), by the zone it is in.
#[derive(Clone, Debug, Serialize)]
pub struct ZoneRecord {
    /// The zone, by key (the template's or plan's) or id/name (AWS CLI).
    pub zone: Ref,
    /// The record's name, `*.` first for a wildcard (Route 53's `\052.` read as `*.`).
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, or `ALIAS`.
    pub kind: String,
    /// The addresses or the one target name, when known.
    pub values: Vec<String>,
    /// Where it is declared.
    pub loc: Loc,
}

/// A DNS record that publishes a name by CNAME.
#[derive(Clone, Debug, Serialize)]
pub struct Cname {
    /// The record's name, when known.
    pub name: Option<String>,
    /// The target, when known; or the domain it points at (`GetAtt Domain.RegionalDomainName`).
    pub target: Option<String>,
    /// The custom domain its target names, when it names one by reference.
    pub target_domain: Option<String>,
    /// Where it is declared.
    pub loc: Loc,
}

/// How a method authorizes its callers, where that changes how the resource policy is read
/// (AWS's "How API Gateway resource policies affect authorization workflow").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AuthKind {
    /// A Lambda (TOKEN or REQUEST) authorizer: the resource policy is first checked only for
    /// an explicit deny, then the authorizer's policy decides with it.
    Lambda,
    /// `AWS_IAM`: a same-account caller whose IAM policy allows the call gets in unless the
    /// resource policy denies it.
    Iam,
    /// A Cognito user pool: the resource policy still has to allow the call.
    Cognito,
}

impl std::fmt::Display for AuthKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthKind::Lambda => "a Lambda authorizer",
            AuthKind::Iam => "IAM authorization (AWS_IAM)",
            AuthKind::Cognito => "a Cognito user pool authorizer",
        })
    }
}

/// A method that requires an API key (`ApiKeyRequired`, `api_key_required`).
#[derive(Clone, Debug, Serialize)]
pub struct KeyMethod {
    /// The API.
    pub api: Ref,
    /// Where the method is declared.
    pub loc: Loc,
}

/// A usage plan: the API stages it covers and whether any key is attached to it.
#[derive(Clone, Debug, Serialize)]
pub struct UsagePlan {
    /// Its key in the input.
    pub key: String,
    /// Its id, when the input gives it.
    pub id: Option<String>,
    /// The APIs its stages cover.
    pub apis: Vec<Ref>,
    /// Where it is declared.
    pub loc: Loc,
}

/// Everything found in the inputs, joined.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Imported {
    /// The Region, when an input names it (a full service name, a plan's values).
    pub region: Option<String>,
    /// The account, when an input names it (`OwnerId`, `owner_id`, an ARN).
    pub account: Option<String>,
    /// The VPCs.
    pub vpcs: Vec<Vpc>,
    /// The VPC endpoints (every service).
    pub endpoints: Vec<Endpoint>,
    /// The REST and HTTP APIs.
    pub apis: Vec<Api>,
    /// The custom domain names.
    pub domains: Vec<Domain>,
    /// The hosted zones.
    pub zones: Vec<Zone>,
    /// The CNAME records.
    pub cnames: Vec<Cname>,
    /// Records of hosted zones.
    pub zone_records: Vec<ZoneRecord>,
    /// The methods that require an API key.
    pub key_methods: Vec<KeyMethod>,
    /// The usage plans.
    pub usage_plans: Vec<UsagePlan>,
    /// The usage plans that API keys are attached to (`UsagePlanKey`).
    pub plan_keys: Vec<Ref>,
    /// Methods that authorize their callers: the API, how, and where it is said.
    pub authorizers: Vec<(Ref, AuthKind, Loc)>,
    /// What could not be known, where.
    pub unknowns: Vec<(Loc, String)>,
    /// Files or parts that could not be read; the analysis goes on without them.
    pub errors: Vec<(Loc, String)>,
    /// Keys given twice in one mapping: (the key, where first, where last; the last wins).
    pub duplicate_keys: Vec<(String, Loc, Loc)>,
    /// Resource types that are not read here but are close to one that is: (type, suggestion).
    pub misspelled_types: Vec<(String, String, Loc)>,
    /// Route 53 Profiles.
    pub profiles: Vec<Profile>,
    /// A profile associated with a VPC: (profile, VPC, where).
    pub profile_vpcs: Vec<(Ref, Ref, Loc)>,
    /// A resource a profile carries: (profile, resource, where).
    pub profile_resources: Vec<(Ref, ProfileResource, Loc)>,
    /// Route 53 Resolver rules (FORWARD and SYSTEM) with the VPCs they are associated with.
    pub resolver_rules: Vec<ResolverRule>,
    /// REST APIs' stages in input order: (the API, the stage's name). SAM's `StageName`, its
    /// implicit API's `Prod`, `AWS::ApiGateway::Stage`/`Deployment`, `aws_api_gateway_stage`,
    /// `get-stages-API.json`.
    pub stages: Vec<(Ref, String)>,
    /// Stages named only by a deployment (`AWS::ApiGateway::Deployment`'s `StageName`,
    /// `aws_api_gateway_deployment`'s `stage_name`): an API's stage when nothing else names
    /// one. SAM gives every API's deployment `StageName: Stage`, which makes a stage `Stage` next
    /// to the one users call (its `Prod`, its `StageName`).
    pub deployment_stages: Vec<(Ref, String)>,
}

/// A Route 53 Resolver rule.
#[derive(Clone, Debug, Serialize)]
pub struct ResolverRule {
    /// Its id (`rslvr-rr-…`).
    pub key: String,
    /// The domain it applies to (and every name below it).
    pub domain: String,
    /// FORWARD (else SYSTEM: the Resolver answers, an exception carved out of a wider forward).
    pub forward: bool,
    /// Where a FORWARD rule sends queries.
    pub targets: Vec<std::net::SocketAddr>,
    /// The VPCs it is associated with.
    pub vpcs: Vec<Ref>,
    /// Where it is declared.
    pub loc: Loc,
}

/// A Route 53 Profile.
#[derive(Clone, Debug, Serialize)]
pub struct Profile {
    /// Its key in the input.
    pub key: String,
    /// `rp-…`, when known.
    pub id: Option<String>,
    /// Where it is declared.
    pub loc: Loc,
}

/// What a profile carries to its VPCs, read from the resource's ARN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ProfileResource {
    /// A private hosted zone (`arn:aws:route53:::hostedzone/ID`).
    Zone(Ref),
    /// An interface endpoint's private DNS (`arn:aws:ec2:…:vpc-endpoint/vpce-…`).
    Endpoint(Ref),
    /// A Resolver rule (`arn:aws:route53resolver:…:resolver-rule/rslvr-rr-…`).
    Rule(Ref),
    /// Something else (a DNS Firewall rule group), or an ARN that cannot be read.
    Other(String),
}

impl ProfileResource {
    /// Reads a resource ARN. The id part may be a template's reference, `${Key}` or
    /// `${Key.Id}` (what `Fn::Sub` leaves for a resource of the template), or a plan's
    /// configuration reference, given as `Ref::Key` by the caller.
    pub fn from_arn(arn: &str) -> ProfileResource {
        let id_ref = |tail: &str| -> Ref {
            match tail.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
                Some(inner) => {
                    let key = inner.split('.').next().unwrap_or(inner);
                    if key.starts_with("unknown:") || key.contains("::") {
                        Ref::Unknown(tail.to_owned())
                    } else {
                        Ref::Key(key.to_owned())
                    }
                }
                None => Ref::Id(tail.to_owned()),
            }
        };
        // The Region and account may still be `${AWS::Region}`: look for the resource part.
        let after = |marker: &str| arn.find(marker).map(|i| &arn[i + marker.len()..]);
        if !arn.starts_with("arn:") {
            ProfileResource::Other(arn.to_owned())
        } else if let Some(t) = after(":hostedzone/") {
            ProfileResource::Zone(id_ref(t))
        } else if let Some(t) = after(":vpc-endpoint/") {
            ProfileResource::Endpoint(id_ref(t))
        } else if let Some(t) = after(":resolver-rule/") {
            ProfileResource::Rule(id_ref(t))
        } else {
            ProfileResource::Other(arn.to_owned())
        }
    }
}

impl Imported {
    /// The profile a reference names, by key or id.
    pub fn profile(&self, r: &Ref) -> Option<&Profile> {
        match r {
            Ref::Key(k) => self.profiles.iter().find(|p| &p.key == k),
            Ref::Id(id) => self
                .profiles
                .iter()
                .find(|p| p.id.as_deref() == Some(id) || &p.key == id),
            Ref::Unknown(_) => None,
        }
    }

    /// The endpoint a reference names, by key or id.
    pub fn endpoint(&self, r: &Ref) -> Option<&Endpoint> {
        match r {
            Ref::Key(k) => self.endpoints.iter().find(|e| &e.key == k),
            Ref::Id(id) => self
                .endpoints
                .iter()
                .find(|e| e.id.as_deref() == Some(id) || &e.key == id),
            Ref::Unknown(_) => None,
        }
    }

    /// The VPCs a profile is associated with.
    pub fn profile_vpcs_of(&self, p: &Profile) -> Vec<&Ref> {
        self.profile_vpcs
            .iter()
            .filter(|(pr, ..)| self.profile(pr).is_some_and(|x| x.key == p.key))
            .map(|(_, v, _)| v)
            .collect()
    }

    /// The resources a profile carries.
    pub fn profile_resources_of(&self, p: &Profile) -> Vec<&ProfileResource> {
        self.profile_resources
            .iter()
            .filter(|(pr, ..)| self.profile(pr).is_some_and(|x| x.key == p.key))
            .map(|(_, r, _)| r)
            .collect()
    }

    /// The ARN of a resource read from a live account (`aws:ACCOUNT:REGION/…` locations name
    /// their resource by its id): a VPC, an endpoint, a REST or HTTP API, a hosted zone, a
    /// custom domain name. `None` for anything else, or when the account or Region is unknown.
    pub fn arn_of(&self, l: &Loc) -> Option<String> {
        let rest = l.file.strip_prefix("aws:")?;
        let (account, rest) = rest.split_once(':')?;
        let region = rest.split('/').next()?;
        let id = l.resource.split_whitespace().next()?;
        let arn = if id.starts_with("vpce-") {
            format!("arn:aws:ec2:{region}:{account}:vpc-endpoint/{id}")
        } else if id.starts_with("vpc-") {
            format!("arn:aws:ec2:{region}:{account}:vpc/{id}")
        } else if self.zones.iter().any(|z| z.key == id) {
            format!("arn:aws:route53:::hostedzone/{id}")
        } else if self.apis.iter().any(|a| a.id.as_deref() == Some(id)) {
            let kind = if self
                .apis
                .iter()
                .any(|a| a.id.as_deref() == Some(id) && a.http)
            {
                "apis"
            } else {
                "restapis"
            };
            format!("arn:aws:apigateway:{region}::/{kind}/{id}")
        } else if self.domains.iter().any(|d| d.name.as_deref() == Some(id)) {
            format!("arn:aws:apigateway:{region}::/domainnames/{id}")
        } else {
            return None;
        };
        Some(arn)
    }

    /// Room for the VPCs, endpoints and APIs a file declares, counted before it is read:
    /// pushed one by one, a 100,000-resource file's lists were reallocated and copied for a
    /// quarter of its import time.
    pub fn reserve(&mut self, vpcs: usize, endpoints: usize, apis: usize) {
        self.vpcs.reserve(vpcs);
        self.endpoints.reserve(endpoints);
        self.apis.reserve(apis);
    }

    /// Adds another input's elements (one analysis over several files).
    pub fn extend(&mut self, mut other: Imported) {
        // Inputs of several accounts (a `collect --org` tree): each API keeps its own, so its
        // ARN is its owner's.
        for m in [&mut *self, &mut other] {
            if let Some(acct) = m.account.clone() {
                for a in m.apis.iter_mut().filter(|a| a.account.is_none()) {
                    a.account = Some(acct.clone());
                }
            }
        }
        self.append(other);
    }

    /// Adds what was read after this of the same input (one input read in parts): its lists
    /// after this one's, its Region and account where this has none.
    pub fn append(&mut self, mut other: Imported) {
        if self.region.is_none() {
            self.region = other.region.take();
        }
        if self.account.is_none() {
            self.account = other.account.take();
        }
        let Imported {
            region: _,
            account: _,
            vpcs,
            endpoints,
            apis,
            domains,
            zones,
            cnames,
            zone_records,
            key_methods,
            usage_plans,
            plan_keys,
            authorizers,
            unknowns,
            errors,
            duplicate_keys,
            misspelled_types,
            profiles,
            profile_vpcs,
            profile_resources,
            resolver_rules,
            stages,
            deployment_stages,
        } = other;
        // Into an empty list the other's is moved whole (copying 100,000 resources into an
        // empty model showed in profiles).
        fn join<T>(into: &mut Vec<T>, from: Vec<T>) {
            if into.is_empty() {
                *into = from;
            } else {
                into.extend(from);
            }
        }
        join(&mut self.vpcs, vpcs);
        join(&mut self.endpoints, endpoints);
        join(&mut self.apis, apis);
        join(&mut self.domains, domains);
        join(&mut self.zones, zones);
        join(&mut self.cnames, cnames);
        join(&mut self.zone_records, zone_records);
        join(&mut self.key_methods, key_methods);
        join(&mut self.usage_plans, usage_plans);
        join(&mut self.plan_keys, plan_keys);
        join(&mut self.authorizers, authorizers);
        join(&mut self.unknowns, unknowns);
        join(&mut self.errors, errors);
        join(&mut self.duplicate_keys, duplicate_keys);
        join(&mut self.misspelled_types, misspelled_types);
        join(&mut self.profiles, profiles);
        join(&mut self.profile_vpcs, profile_vpcs);
        join(&mut self.profile_resources, profile_resources);
        join(&mut self.resolver_rules, resolver_rules);
        join(&mut self.stages, stages);
        join(&mut self.deployment_stages, deployment_stages);
    }

    /// Each API's first stage in the inputs, by the API's key (calls and policies name it:
    /// SAM's `Prod` is not `prod`); a stage only a deployment names when no other is given.
    pub fn stages_by_api(&self) -> std::collections::HashMap<&str, &str> {
        let ids: std::collections::HashMap<&str, &str> = self
            .apis
            .iter()
            .filter_map(|a| Some((a.id.as_deref()?, a.key.as_str())))
            .collect();
        let mut out = std::collections::HashMap::new();
        for (r, stage) in self.stages.iter().chain(&self.deployment_stages) {
            let key = match r {
                Ref::Key(k) => Some(k.as_str()),
                Ref::Id(id) => ids.get(id.as_str()).copied(),
                Ref::Unknown(_) => None,
            };
            if let Some(k) = key {
                out.entry(k).or_insert(stage.as_str());
            }
        }
        out
    }

    /// The VPC a reference names, by key or id.
    pub fn vpc(&self, r: &Ref) -> Option<&Vpc> {
        match r {
            Ref::Key(k) => self.vpcs.iter().find(|v| &v.key == k),
            Ref::Id(id) => self.vpcs.iter().find(|v| v.id.as_deref() == Some(id)),
            Ref::Unknown(_) => None,
        }
    }

    /// The API a reference names, by key or id.
    pub fn api(&self, r: &Ref) -> Option<&Api> {
        match r {
            Ref::Key(k) => self.apis.iter().find(|a| &a.key == k),
            Ref::Id(id) => self.apis.iter().find(|a| a.id.as_deref() == Some(id)),
            Ref::Unknown(_) => None,
        }
    }

    /// The zone a reference names, by key, id, or name.
    pub fn zone(&self, r: &Ref) -> Option<&Zone> {
        match r {
            Ref::Key(k) => self.zones.iter().find(|z| &z.key == k),
            Ref::Id(id) => self.zones.iter().find(|z| {
                &z.key == id
                    || z.name.as_deref().map(|n| n.trim_end_matches('.'))
                        == Some(id.trim_end_matches('.'))
            }),
            Ref::Unknown(_) => None,
        }
    }

    /// How an API's methods authorize callers, each kind once.
    pub fn authorizers_of(&self, api: &Api) -> Vec<AuthKind> {
        let mut kinds = Vec::new();
        for (r, k, _) in &self.authorizers {
            if self.api(r).is_some_and(|a| a.key == api.key) && !kinds.contains(k) {
                kinds.push(*k);
            }
        }
        kinds
    }

    /// Whether two references name the same VPC.
    pub fn same_vpc(&self, a: &Ref, b: &Ref) -> bool {
        match (self.vpc(a), self.vpc(b)) {
            (Some(x), Some(y)) => x.key == y.key,
            _ => a == b && !matches!(a, Ref::Unknown(_)),
        }
    }

    /// A readable name for a VPC reference.
    pub fn vpc_name(&self, r: &Ref) -> String {
        match (self.vpc(r), r) {
            (Some(v), _) => v.id.clone().unwrap_or_else(|| v.key.clone()),
            (None, Ref::Key(k) | Ref::Id(k)) => k.clone(),
            (None, Ref::Unknown(why)) => format!("an unknown VPC ({why})"),
        }
    }
}

/// The Region in a full service name: `com.amazonaws.us-east-1.execute-api` → `us-east-1`.
pub fn region_of_service(name: &str) -> Option<String> {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        ["com", "amazonaws", region, _service]
            // A plain lookup: parsing would also compute a suggestion for every unknown
            // (`${AWS::Region}`), which dominated large imports.
            if parallax_model::Region::known(region).is_some() =>
        {
            Some((*region).to_owned())
        }
        _ => None,
    }
}

/// A 12-digit AWS account id, as `OwnerId` carries it or as the fifth field of an ARN.
pub fn account_of(s: &str) -> Option<String> {
    let candidate = match s.strip_prefix("arn:") {
        Some(rest) => rest.split(':').nth(3)?,
        None => s,
    };
    (candidate.len() == 12 && candidate.bytes().all(|b| b.is_ascii_digit()))
        .then(|| candidate.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn accounts_from_owner_ids_and_arns() {
        use super::account_of;
        assert_eq!(account_of("111122223333").as_deref(), Some("111122223333"));
        assert_eq!(
            account_of("arn:aws:execute-api:us-east-1:111122223333:abc/*").as_deref(),
            Some("111122223333")
        );
        assert_eq!(account_of("arn:aws:s3:::bucket"), None);
        assert_eq!(account_of("1234"), None);
    }
}
