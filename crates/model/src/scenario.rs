//! A Scenario: a topology and named steps. Each step changes the topology (changes accumulate
//! from step to step) and lists requests to make from vantage points, with what to expect.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ids::{ApiId, DnsName, VpcId, VpceId};
use crate::outcome::Expectation;
use crate::pos::{At, Pos};
use crate::topology::{
    Api, CustomDomain, DomainDns, Endpoint, EndpointType, HostedZone, OnPremNetwork, Profile,
    Record, ResolverRule, Topology, Vpc,
};
use crate::{LoadError, Problem};

/// The seed incident, embedded so that `parallax lab` runs with no file at hand.
pub const SEED_INCIDENT: &str = include_str!("../../../scenarios/seed-incident.yaml");
/// The name errors give the scenario embedded in the binary.
pub const SEED_INCIDENT_ORIGIN: &str = "<embedded scenarios/seed-incident.yaml>";

/// A scenario: a topology, steps that change it, and requests to make at each step.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The scenario's name.
    pub name: String,
    /// What the scenario shows, in prose.
    #[serde(default)]
    pub description: String,
    /// Sections of the AWS behaviour reference this scenario exercises (`2.1`, `2.4`, ...).
    #[serde(default)]
    pub exercises: Vec<String>,
    /// The network before the first step.
    pub topology: Topology,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The topology in force at each step, in step order (filled by loading).
    #[serde(skip)]
    states: Vec<Topology>,
}

/// One step: changes to the topology, then requests against it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The step's name (unique in the scenario).
    pub name: At<String>,
    /// What the step shows, in prose.
    #[serde(default)]
    pub description: String,
    /// The changes made at the start of the step.
    #[serde(default)]
    pub changes: Vec<At<Change>>,
    /// The requests made once the changes are in place.
    #[serde(default)]
    pub requests: Vec<Request>,
}

/// One change to the topology.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// Adds a VPC.
    AddVpc(Vpc),
    /// Turn a VPC's DNS attributes on or off.
    SetVpc(SetVpc),
    /// Adds an interface VPC endpoint.
    AddEndpoint(Endpoint),
    /// Removes an endpoint, with its associations to APIs and profiles.
    RemoveEndpoint(VpceId),
    /// Turn an endpoint's private DNS on or off.
    SetEndpoint(SetEndpoint),
    /// Adds a private hosted zone.
    AddHostedZone(HostedZone),
    /// Remove a private zone (by name; every zone of that name).
    RemoveHostedZone(DnsName),
    /// Adds a record to a private hosted zone.
    AddRecord(AddRecord),
    /// Adds a Resolver rule.
    AddResolverRule(ResolverRule),
    /// Removes a Resolver rule by id.
    RemoveResolverRule(String),
    /// Add a Route 53 Profile with its VPC associations and resources.
    AddProfile(Profile),
    /// Remove a Route 53 Profile (by id), its associations with it.
    RemoveProfile(String),
    /// Add an on-prem network (its DNS zones and conditional forwarders).
    AddOnprem(OnPremNetwork),
    /// Remove an on-prem network by name (to add it back changed).
    RemoveOnprem(String),
    /// Adds an API.
    AddApi(Api),
    /// Changes an API's endpoint type, endpoints, default endpoint or policy.
    SetApi(SetApi),
    /// Adds a custom domain.
    AddCustomDomain(CustomDomain),
    /// Removes a custom domain by name.
    RemoveCustomDomain(DnsName),
    /// Changes a custom domain's DNS, access associations or policy.
    SetCustomDomain(SetCustomDomain),
}

/// Changes a VPC's DNS attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetVpc {
    /// The VPC.
    pub id: VpcId,
    /// `enableDnsSupport`, when given.
    #[serde(default)]
    pub dns_support: Option<bool>,
    /// `enableDnsHostnames`, when given.
    #[serde(default)]
    pub dns_hostnames: Option<bool>,
}

/// Turns an endpoint's private DNS on or off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetEndpoint {
    /// The endpoint.
    pub id: VpceId,
    /// Whether private DNS is on.
    pub private_dns: bool,
}

/// A record added to a private hosted zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddRecord {
    /// The zone's name.
    pub zone: DnsName,
    /// The record.
    pub record: At<Record>,
}

/// What changes on an API; fields not given stay as they are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetApi {
    /// The API.
    pub id: ApiId,
    /// The new endpoint type.
    #[serde(default)]
    pub endpoint_type: Option<EndpointType>,
    /// The new list of associated VPC endpoints.
    #[serde(default)]
    pub vpc_endpoints: Option<Vec<At<VpceId>>>,
    /// Whether the default execute-api endpoint is disabled.
    #[serde(default)]
    pub disable_execute_api_endpoint: Option<bool>,
    /// The new resource policy.
    #[serde(default)]
    pub policy: Option<At<serde_json::Value>>,
    /// The new security policy.
    #[serde(default)]
    pub security_policy: Option<At<crate::topology::SecurityPolicy>>,
    /// The new endpoint access mode.
    #[serde(default)]
    pub endpoint_access_mode: Option<At<crate::topology::EndpointAccessMode>>,
}

/// What changes on a custom domain; fields not given stay as they are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetCustomDomain {
    /// The custom domain.
    pub name: DnsName,
    /// How the domain is published in DNS.
    #[serde(default)]
    pub dns: Option<DomainDns>,
    /// A private custom domain name's access associations, replaced.
    #[serde(default)]
    pub access_associations: Option<Vec<At<VpceId>>>,
    /// A private custom domain name's policy, replaced.
    #[serde(default)]
    pub policy: Option<At<serde_json::Value>>,
    /// The new security policy.
    #[serde(default)]
    pub security_policy: Option<At<crate::topology::SecurityPolicy>>,
    /// The new endpoint access mode.
    #[serde(default)]
    pub endpoint_access_mode: Option<At<crate::topology::EndpointAccessMode>>,
}

impl SetApi {
    /// Sets what the change gives on the API it names.
    fn apply_to(&self, api: &mut crate::topology::Api) {
        if let Some(ty) = self.endpoint_type {
            api.endpoint_type.value = ty;
        }
        if let Some(v) = &self.vpc_endpoints {
            api.vpc_endpoints = v.clone();
        }
        if let Some(d) = self.disable_execute_api_endpoint {
            api.disable_execute_api_endpoint = d;
        }
        if let Some(p) = &self.policy {
            api.policy = Some(p.clone());
        }
        if let Some(p) = &self.security_policy {
            api.security_policy = Some(p.clone());
        }
        if let Some(m) = &self.endpoint_access_mode {
            api.endpoint_access_mode = Some(m.clone());
        }
    }
}

impl SetCustomDomain {
    /// Sets what the change gives on the custom domain it names.
    fn apply_to(&self, d: &mut crate::topology::CustomDomain) {
        if let Some(dns) = self.dns {
            d.dns.value = dns;
        }
        if let Some(a) = &self.access_associations {
            d.access_associations = a.clone();
        }
        if let Some(p) = &self.policy {
            d.policy = Some(p.clone());
        }
        if let Some(p) = &self.security_policy {
            d.security_policy = Some(p.clone());
        }
        if let Some(m) = &self.endpoint_access_mode {
            d.endpoint_access_mode = Some(m.clone());
        }
    }
}

/// A change names an element the topology does not have at its step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// What kind of element (`endpoint`, `private hosted zone`).
    pub what: &'static str,
    /// Its id or name as the change gives it.
    pub id: String,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "there is no {} `{}` to change at this step",
            self.what, self.id
        )
    }
}

impl std::error::Error for Missing {}

/// Removes the elements `matches` picks; whether there was one.
fn remove<T>(list: &mut Vec<T>, matches: impl Fn(&T) -> bool) -> bool {
    let before = list.len();
    list.retain(|x| !matches(x));
    list.len() != before
}

impl Change {
    /// Applies the change, or says which element it names is missing.
    pub fn apply(&self, t: &mut Topology) -> Result<(), Missing> {
        let missing = |what: &'static str, id: &dyn fmt::Display| Missing {
            what,
            id: id.to_string(),
        };
        match self {
            Change::AddVpc(v) => t.vpcs.push(v.clone()),
            Change::SetVpc(s) => {
                let vpc = t
                    .vpcs
                    .iter_mut()
                    .find(|v| v.id.value == s.id)
                    .ok_or_else(|| missing("VPC", &s.id))?;
                if let Some(on) = s.dns_support {
                    vpc.dns_support = on;
                }
                if let Some(on) = s.dns_hostnames {
                    vpc.dns_hostnames = on;
                }
            }
            Change::AddEndpoint(e) => t.endpoints.push(e.clone()),
            Change::RemoveEndpoint(id) => {
                if !remove(&mut t.endpoints, |e| e.id.value == *id) {
                    return Err(missing("endpoint", id));
                }
                // AWS drops the associations along with the endpoint.
                for api in &mut t.apis {
                    api.vpc_endpoints.retain(|v| v.value != *id);
                }
                for p in &mut t.profiles {
                    p.endpoints.retain(|v| v.value != *id);
                }
            }
            Change::SetEndpoint(s) => {
                let e = t
                    .endpoints
                    .iter_mut()
                    .find(|e| e.id.value == s.id)
                    .ok_or_else(|| missing("endpoint", &s.id))?;
                e.private_dns = s.private_dns;
            }
            Change::AddHostedZone(z) => t.hosted_zones.push(z.clone()),
            Change::RemoveHostedZone(name) => {
                if !remove(&mut t.hosted_zones, |z| z.name.value == *name) {
                    return Err(missing("private hosted zone", name));
                }
            }
            Change::AddRecord(a) => {
                let z = t
                    .hosted_zones
                    .iter_mut()
                    .find(|z| z.name.value == a.zone)
                    .ok_or_else(|| missing("private hosted zone", &a.zone))?;
                z.records.push(a.record.clone());
            }
            Change::AddResolverRule(r) => t.resolver_rules.push(r.clone()),
            Change::RemoveResolverRule(id) => {
                if !remove(&mut t.resolver_rules, |r| r.id.value == *id) {
                    return Err(missing("resolver rule", id));
                }
            }
            Change::AddProfile(p) => t.profiles.push(p.clone()),
            Change::RemoveProfile(id) => {
                if !remove(&mut t.profiles, |p| p.id.value == *id) {
                    return Err(missing("Route 53 Profile", id));
                }
            }
            Change::AddOnprem(n) => t.onprem.push(n.clone()),
            Change::RemoveOnprem(name) => {
                if !remove(&mut t.onprem, |n| n.name.value == *name) {
                    return Err(missing("on-prem network", name));
                }
            }
            Change::AddApi(a) => t.apis.push(a.clone()),
            Change::SetApi(s) => {
                let api = t
                    .apis
                    .iter_mut()
                    .find(|a| a.id.value == s.id)
                    .ok_or_else(|| missing("API", &s.id))?;
                s.apply_to(api);
            }
            Change::AddCustomDomain(d) => t.custom_domains.push(d.clone()),
            Change::RemoveCustomDomain(name) => {
                if !remove(&mut t.custom_domains, |d| d.name.value == *name) {
                    return Err(missing("custom domain", name));
                }
            }
            Change::SetCustomDomain(s) => {
                let d = t
                    .custom_domains
                    .iter_mut()
                    .find(|d| d.name.value == s.name)
                    .ok_or_else(|| missing("custom domain", &s.name))?;
                s.apply_to(d);
            }
        }
        Ok(())
    }

    /// A short human summary: `add_endpoint vpce-…`.
    pub fn summary(&self) -> String {
        match self {
            Change::AddVpc(v) => format!("add VPC {} ({})", v.id, v.cidr),
            Change::SetVpc(s) => format!(
                "set {} dns_support={:?} dns_hostnames={:?}",
                s.id, s.dns_support, s.dns_hostnames
            ),
            Change::AddEndpoint(e) => format!(
                "add {} endpoint {} in {} (private DNS {})",
                e.service.as_str(),
                e.id,
                e.vpc,
                on_off(e.private_dns)
            ),
            Change::RemoveEndpoint(id) => format!("remove endpoint {id}"),
            Change::SetEndpoint(s) => {
                format!("turn private DNS {} on {}", on_off(s.private_dns), s.id)
            }
            Change::AddHostedZone(z) => format!("add private hosted zone {}", z.name),
            Change::RemoveHostedZone(n) => format!("remove private hosted zone {n}"),
            Change::AddRecord(a) => format!("add record {} to {}", a.record.name, a.zone),
            Change::AddResolverRule(r) => format!("add resolver rule {} for {}", r.id, r.domain),
            Change::RemoveResolverRule(id) => format!("remove resolver rule {id}"),
            Change::AddProfile(p) => format!(
                "add Route 53 Profile {} for {}",
                p.id,
                p.vpcs
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Change::RemoveProfile(id) => format!("remove Route 53 Profile {id}"),
            Change::AddOnprem(n) => format!(
                "add on-prem network {} (forwarding {})",
                n.name,
                if n.forwards.is_empty() {
                    "nothing".to_owned()
                } else {
                    n.forwards
                        .iter()
                        .map(|f| format!("{} to {}", f.domain, f.to))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            Change::RemoveOnprem(name) => format!("remove on-prem network {name}"),
            Change::AddApi(a) => format!("add {} API {}", a.endpoint_type, a.id),
            Change::SetApi(s) => format!("change API {}", s.id),
            Change::AddCustomDomain(d) => format!("add custom domain {}", d.name),
            Change::RemoveCustomDomain(n) => format!("remove custom domain {n}"),
            Change::SetCustomDomain(s) => format!("change custom domain {}", s.name),
        }
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// A request to make from a vantage point.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The vantage point's name.
    pub from: At<String>,
    /// The URL to call.
    pub url: At<RequestUrl>,
    /// The HTTP method (GET by default).
    #[serde(default = "get")]
    pub method: String,
    /// Request headers to send.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Sign the request with SigV4 with these credentials, as `curl --aws-sigv4
    /// "aws:amz:REGION:execute-api" --user KEY:SECRET` (the topology's Region).
    #[serde(default)]
    pub sign: Option<At<SignWith>>,
    /// The lowest TLS version the client offers (`"1.2"`, `"1.3"`), as curl's `--tlsv1.x`.
    #[serde(default)]
    pub tls_min: Option<At<crate::topology::TlsVersion>>,
    /// The highest TLS version the client offers, as curl's `--tls-max`.
    #[serde(default)]
    pub tls_max: Option<At<crate::topology::TlsVersion>>,
    /// A body to send (on a `wss://` URL: one text message once the connection is switched).
    #[serde(default)]
    pub body: Option<String>,
    /// The id of an API key of a usage plan, sent as `x-api-key`.
    #[serde(default)]
    pub api_key: Option<At<String>>,
    /// The client certificate to present: `lab:NAME` (issued by the lab CA NAME),
    /// `expired:NAME`, `deep:NAME` (5 CA levels below NAME), or `untrusted` (a CA nobody trusts).
    #[serde(default)]
    pub client_certificate: Option<At<ClientCertSpec>>,
    /// Send the request this many times (1 to 1000); the last one is checked. For throttles and
    /// quotas.
    #[serde(default = "once")]
    pub repeat: u32,
    /// What the outcome must be.
    #[serde(default)]
    pub expect: Option<At<Expectation>>,
    /// Where the expected result comes from: the AWS page that states it, or `inferred: why`
    /// (the conformance table requires it on every request).
    #[serde(default)]
    pub source: Option<String>,
}

fn get() -> String {
    "GET".to_owned()
}

fn once() -> u32 {
    1
}

/// The credentials a request is signed with (an `iam_principals` entry's, or others: an
/// unknown key or a wrong secret is what the gateway must refuse).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignWith {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: crate::topology::Secret,
}

/// Which client certificate a request presents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ClientCertSpec {
    /// A valid certificate from the lab CA of that name.
    Lab(String),
    /// An expired one from that CA.
    Expired(String),
    /// One 5 CA levels below that CA (API Gateway allows 4).
    Deep(String),
    /// One from a CA that no truststore holds.
    Untrusted,
}

impl TryFrom<String> for ClientCertSpec {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let named = |rest: &str| -> Result<String, String> {
            if rest.is_empty()
                || !rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                Err(format!(
                    "`{s}`: the CA name must be letters, digits, `-` or `_`"
                ))
            } else {
                Ok(rest.to_owned())
            }
        };
        if s == "untrusted" {
            return Ok(ClientCertSpec::Untrusted);
        }
        if let Some(r) = s.strip_prefix("lab:") {
            return named(r).map(ClientCertSpec::Lab);
        }
        if let Some(r) = s.strip_prefix("expired:") {
            return named(r).map(ClientCertSpec::Expired);
        }
        if let Some(r) = s.strip_prefix("deep:") {
            return named(r).map(ClientCertSpec::Deep);
        }
        Err(format!(
            "`{s}` is not a client certificate: expected lab:NAME, expired:NAME, deep:NAME or untrusted"
        ))
    }
}

impl From<ClientCertSpec> for String {
    fn from(c: ClientCertSpec) -> String {
        match c {
            ClientCertSpec::Lab(n) => format!("lab:{n}"),
            ClientCertSpec::Expired(n) => format!("expired:{n}"),
            ClientCertSpec::Deep(n) => format!("deep:{n}"),
            ClientCertSpec::Untrusted => "untrusted".to_owned(),
        }
    }
}

/// An `https://host[:port]/path` URL, or a WebSocket one (`wss://`, `ws://`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestUrl {
    /// `https://` (else `http://`).
    pub https: bool,
    /// `wss://` or `ws://`: the request is a WebSocket opening handshake (RFC 6455 §4.1).
    #[serde(skip)]
    pub websocket: bool,
    /// The host the URL names.
    pub host: DnsName,
    /// The port (the scheme's default when the URL gives none).
    pub port: u16,
    /// The path and query, starting with `/`.
    pub path: String,
}

impl TryFrom<String> for RequestUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let (https, websocket, rest) = if let Some(r) = s.strip_prefix("https://") {
            (true, false, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (false, false, r)
        } else if let Some(r) = s.strip_prefix("wss://") {
            (true, true, r)
        } else if let Some(r) = s.strip_prefix("ws://") {
            (false, true, r)
        } else {
            return Err(format!(
                "`{s}` is not an http://, https://, ws:// or wss:// URL"
            ));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("`{s}`: `{p}` is not a port"))?,
            ),
            None => (authority, if https { 443 } else { 80 }),
        };
        let host = host.parse().map_err(|e| format!("`{s}`: {e}"))?;
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        Ok(RequestUrl {
            https,
            websocket,
            host,
            port,
            path,
        })
    }
}

impl From<RequestUrl> for String {
    fn from(u: RequestUrl) -> String {
        u.to_string()
    }
}

impl fmt::Display for RequestUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (self.https, self.websocket) {
            (true, false) => "https",
            (false, false) => "http",
            (true, true) => "wss",
            (false, true) => "ws",
        };
        let default = if self.https { 443 } else { 80 };
        write!(f, "{scheme}://{}", self.host)?;
        if self.port != default {
            write!(f, ":{}", self.port)?;
        }
        f.write_str(&self.path)
    }
}

impl Scenario {
    /// Reads a scenario from YAML text. `origin` names the text in errors (a path).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Scenario, LoadError> {
        let mut s: Scenario = crate::yaml::parse(text, origin)?;
        // APIs whose routes are in an OpenAPI file, read relative to this file.
        let base = Path::new(origin).parent();
        let mut problems = Vec::new();
        let mut notices = Vec::new();
        for (i, api) in s.topology.apis.iter_mut().enumerate() {
            problems.extend(api.take_openapi(base, &format!("topology.apis[{i}]"), &mut notices));
        }
        for (si, step) in s.steps.iter_mut().enumerate() {
            for (ci, change) in step.changes.iter_mut().enumerate() {
                if let Change::AddApi(api) = &mut change.value {
                    let field = format!("steps[{si}].changes[{ci}].add_api");
                    problems.extend(api.take_openapi(base, &field, &mut notices));
                }
            }
        }
        if !problems.is_empty() {
            return Err(LoadError::Invalid {
                origin: origin.to_owned(),
                problems,
            });
        }
        s.topology.notices.extend(notices);
        s.states = s.compute_states().map_err(|problems| LoadError::Invalid {
            origin: origin.to_owned(),
            problems,
        })?;
        Ok(s)
    }

    /// Reads and checks a scenario file.
    pub fn from_path(path: &Path) -> Result<Scenario, LoadError> {
        let text = crate::input::read_config(path).map_err(|error| LoadError::Read {
            path: path.to_owned(),
            error,
        })?;
        Scenario::from_yaml(&text, &path.display().to_string())
    }

    /// The embedded seed incident.
    pub fn seed() -> Result<Scenario, LoadError> {
        Scenario::from_yaml(SEED_INCIDENT, SEED_INCIDENT_ORIGIN)
    }

    /// The topology in force at step `index` (changes of steps 0..=index applied).
    pub fn topology_at(&self, index: usize) -> Option<&Topology> {
        self.states.get(index)
    }

    /// The index of the step called `name`.
    pub fn step_index(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.name.value == name)
    }

    fn compute_states(&self) -> Result<Vec<Topology>, Vec<Problem>> {
        let mut problems = self.topology.problems();
        if !problems.is_empty() {
            prefix(&mut problems, "topology.");
            return Err(problems);
        }
        let mut states = Vec::with_capacity(self.steps.len());
        let mut current = self.topology.clone();
        let mut names = BTreeMap::new();
        if self.steps.is_empty() {
            problems.push(Problem::new(
                Pos::UNKNOWN,
                "steps",
                "a scenario needs at least one step",
            ));
        }
        for (i, step) in self.steps.iter().enumerate() {
            if let Some(first) = names.insert(step.name.value.clone(), step.name.pos) {
                problems.push(Problem::new(
                    step.name.pos,
                    format!("steps[{i}].name"),
                    format!(
                        "`{}` is used by another step (line {})",
                        step.name.value, first.line
                    ),
                ));
            }
            for (j, c) in step.changes.iter().enumerate() {
                if let Err(missing) = c.apply(&mut current) {
                    problems.push(Problem::new(
                        c.pos,
                        format!("steps[{i}].changes[{j}]"),
                        missing.to_string(),
                    ));
                }
            }
            let mut after = current.problems();
            prefix(
                &mut after,
                &format!("after step `{}`: topology.", step.name.value),
            );
            // A problem without a position of its own (from a change) takes the step's.
            for p in &mut after {
                if !p.pos.is_known() {
                    p.pos = step.name.pos;
                }
            }
            problems.extend(after);
            for (j, r) in step.requests.iter().enumerate() {
                if current.vantage(&r.from).is_none() {
                    let known: Vec<&str> =
                        current.vantages.iter().map(|v| v.name.as_str()).collect();
                    problems.push(Problem::new(
                        r.from.pos,
                        format!("steps[{i}].requests[{j}].from"),
                        format!(
                            "unknown vantage point `{}` (known: {})",
                            r.from.value,
                            known.join(", ")
                        ),
                    ));
                }
                if !(1..=1000).contains(&r.repeat) {
                    problems.push(Problem::new(
                        r.from.pos,
                        format!("steps[{i}].requests[{j}].repeat"),
                        format!("repeat is {}; it must be 1 to 1000", r.repeat),
                    ));
                }
                if let Some(k) = &r.api_key
                    && !current
                        .usage_plans
                        .iter()
                        .flat_map(|u| &u.keys)
                        .any(|key| key.id.value == k.value)
                {
                    problems.push(Problem::new(
                        k.pos,
                        format!("steps[{i}].requests[{j}].api_key"),
                        format!("no usage plan has an API key `{}`", k.value),
                    ));
                }
            }
            states.push(current.clone());
        }
        if problems.is_empty() {
            Ok(states)
        } else {
            Err(problems)
        }
    }
}

fn prefix(problems: &mut [Problem], with: &str) {
    for p in problems {
        p.field = format!("{with}{}", p.field);
    }
}
