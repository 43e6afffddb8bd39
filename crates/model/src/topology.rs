//! The Topology: every element of the modelled network, with the position it was read from.
//!
//! Deserialising checks each field's form (ids, CIDRs, addresses, names); [`Topology::problems`]
//! checks what spans elements (references, duplicates, addresses inside their VPC). Defaults
//! follow AWS: a VPC has `dns_support` on and `dns_hostnames` off unless it says otherwise.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::Problem;
use crate::address::classify;
use crate::ids::{ApiId, DnsName, DomainTargetId, Region, SubnetId, VpcId, VpceId};
use crate::naming::{ExecuteApiName, is_endpoint_dns_suffix};
use crate::pos::{At, Pos};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// The 12-digit AWS account the resources live in (used in ARNs).
    #[serde(default = "default_account")]
    pub account: At<String>,
    pub region: At<Region>,
    pub front_doors: FrontDoors,
    #[serde(default)]
    pub vpcs: Vec<Vpc>,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    #[serde(default)]
    pub hosted_zones: Vec<HostedZone>,
    #[serde(default)]
    pub resolver_rules: Vec<ResolverRule>,
    #[serde(default)]
    pub apis: Vec<Api>,
    #[serde(default)]
    pub custom_domains: Vec<CustomDomain>,
    #[serde(default)]
    pub usage_plans: Vec<UsagePlan>,
    #[serde(default)]
    pub vantages: Vec<Vantage>,
}

fn default_account() -> At<String> {
    At::bare("123456789012".to_owned())
}

/// The public addresses a client reaches API Gateway at, from outside any VPC endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontDoors {
    /// Addresses of the Region's public execute-api front door (REGIONAL APIs and domains).
    pub regional: Vec<At<IpAddr>>,
    /// Addresses of the CloudFront edge (EDGE APIs and domains).
    #[serde(default)]
    pub edge: Vec<At<IpAddr>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vpc {
    pub id: At<VpcId>,
    pub cidr: At<Ipv4Net>,
    /// `enableDnsSupport`: AWS's default is on.
    #[serde(default = "yes")]
    pub dns_support: bool,
    /// `enableDnsHostnames`: AWS's default is off outside the default VPC.
    #[serde(default)]
    pub dns_hostnames: bool,
}

fn yes() -> bool {
    true
}

impl Vpc {
    /// The VPC+2 resolver address (10.0.0.2 for 10.0.0.0/16).
    pub fn resolver_address(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.cidr.network()).wrapping_add(2))
    }

    /// Private hosted zones and endpoint private DNS need both DNS attributes on.
    pub fn private_dns_active(&self) -> bool {
        self.dns_support && self.dns_hostnames
    }
}

/// An interface VPC endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub id: At<VpceId>,
    pub vpc: At<VpcId>,
    /// The short service name (`execute-api`, `sqs`); `com.amazonaws.{region}.` is stripped.
    pub service: At<ServiceName>,
    /// `PrivateDnsEnabled`. No default: the console turns it on, CloudFormation leaves it off.
    pub private_dns: bool,
    /// The 8 characters AWS adds to the endpoint's DNS names. Derived from the id when absent.
    #[serde(default)]
    pub dns_suffix: Option<At<String>>,
    pub subnets: Vec<EndpointSubnet>,
}

impl Endpoint {
    pub fn is_execute_api(&self) -> bool {
        self.service.value.0 == "execute-api"
    }

    pub fn addresses(&self) -> Vec<Ipv4Addr> {
        self.subnets.iter().map(|s| s.address.value).collect()
    }

    pub fn dns_suffix(&self) -> String {
        match &self.dns_suffix {
            Some(s) => s.value.clone(),
            None => stable_token(self.id.as_str(), 8),
        }
    }

    /// The endpoint-specific public names: the regional one, then one per Availability Zone.
    pub fn public_names(&self, region: &Region) -> Vec<(ExecuteApiName, Vec<Ipv4Addr>)> {
        let regional = ExecuteApiName::VpceEndpoint {
            vpce: self.id.value.clone(),
            dns_suffix: self.dns_suffix(),
            az: None,
            region: region.clone(),
        };
        let mut out = vec![(regional, self.addresses())];
        let mut zones: BTreeMap<&str, Vec<Ipv4Addr>> = BTreeMap::new();
        for s in &self.subnets {
            zones
                .entry(s.az.as_str())
                .or_default()
                .push(s.address.value);
        }
        for (az, addrs) in zones {
            let zonal = ExecuteApiName::VpceEndpoint {
                vpce: self.id.value.clone(),
                dns_suffix: self.dns_suffix(),
                az: Some(az.to_owned()),
                region: region.clone(),
            };
            out.push((zonal, addrs));
        }
        out
    }
}

/// A service name in its short form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceName(String);

impl ServiceName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ServiceName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        // `com.amazonaws.us-east-1.execute-api` → `execute-api`
        let short = match s.strip_prefix("com.amazonaws.") {
            Some(rest) => rest.split_once('.').map(|(_, svc)| svc).unwrap_or(rest),
            None => s.as_str(),
        };
        let ok = !short.is_empty()
            && short
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if ok {
            Ok(ServiceName(short.to_owned()))
        } else {
            Err(format!(
                "`{s}` is not a service name: expected `execute-api`, `sqs`, or `com.amazonaws.REGION.SERVICE`"
            ))
        }
    }
}

impl From<ServiceName> for String {
    fn from(s: ServiceName) -> String {
        s.0
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSubnet {
    pub id: At<SubnetId>,
    /// The Availability Zone, e.g. `us-east-1a`.
    pub az: At<String>,
    /// The endpoint ENI's private address in this subnet.
    pub address: At<Ipv4Addr>,
}

/// A Route 53 private hosted zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostedZone {
    pub name: At<DnsName>,
    pub vpcs: Vec<At<VpcId>>,
    #[serde(default)]
    pub records: Vec<At<Record>>,
}

/// A record set. `values` holds addresses for A and AAAA, one name for CNAME and ALIAS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRecord", into = "RawRecord")]
pub struct Record {
    pub name: DnsName,
    pub ttl: u32,
    pub data: RecordData,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordData {
    A(Vec<Ipv4Addr>),
    Aaaa(Vec<Ipv6Addr>),
    Cname(DnsName),
    /// A Route 53 alias: answered with the target's addresses, as if they were the record's own.
    Alias(DnsName),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default = "default_ttl")]
    ttl: u32,
    values: Vec<String>,
}

fn default_ttl() -> u32 {
    300
}

impl TryFrom<RawRecord> for Record {
    type Error = String;
    fn try_from(raw: RawRecord) -> Result<Self, String> {
        let name: DnsName = raw.name.parse().map_err(|e| format!("name: {e}"))?;
        let one_name = |what: &str| -> Result<DnsName, String> {
            match raw.values.as_slice() {
                [one] => one.parse().map_err(|e| format!("values: {e}")),
                _ => Err(format!("values: a {what} record holds exactly one name")),
            }
        };
        let data = match raw.kind.as_str() {
            "A" => RecordData::A(parse_all(&raw.values, "an IPv4 address")?),
            "AAAA" => RecordData::Aaaa(parse_all(&raw.values, "an IPv6 address")?),
            "CNAME" => RecordData::Cname(one_name("CNAME")?),
            "ALIAS" => RecordData::Alias(one_name("ALIAS")?),
            other => {
                return Err(format!(
                    "type: unknown record type `{other}`, expected one of A, AAAA, CNAME, ALIAS"
                ));
            }
        };
        if matches!(data, RecordData::A(ref v) if v.is_empty())
            || matches!(data, RecordData::Aaaa(ref v) if v.is_empty())
        {
            return Err("values: an address record needs at least one address".to_owned());
        }
        Ok(Record {
            name,
            ttl: raw.ttl,
            data,
        })
    }
}

fn parse_all<T: FromStr>(values: &[String], what: &str) -> Result<Vec<T>, String> {
    values
        .iter()
        .map(|v| {
            v.parse()
                .map_err(|_| format!("values: `{v}` is not {what}"))
        })
        .collect()
}

impl From<Record> for RawRecord {
    fn from(r: Record) -> RawRecord {
        let (kind, values) = match r.data {
            RecordData::A(v) => ("A", v.iter().map(ToString::to_string).collect()),
            RecordData::Aaaa(v) => ("AAAA", v.iter().map(ToString::to_string).collect()),
            RecordData::Cname(n) => ("CNAME", vec![n.to_string()]),
            RecordData::Alias(n) => ("ALIAS", vec![n.to_string()]),
        };
        RawRecord {
            name: r.name.to_string(),
            kind: kind.to_owned(),
            ttl: r.ttl,
            values,
        }
    }
}

/// A Route 53 Resolver rule associated with VPCs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolverRule {
    pub id: At<String>,
    pub domain: At<DnsName>,
    /// `forward` sends matching queries to `targets`; `system` makes the Resolver answer them
    /// itself (an exception carved out of a wider forward rule).
    #[serde(default)]
    pub kind: RuleKind,
    pub vpcs: Vec<At<VpcId>>,
    #[serde(default)]
    pub targets: Vec<At<Target>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    #[default]
    Forward,
    System,
}

/// A DNS server to forward to: `ADDR` or `ADDR:PORT` (port 53 by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Target(pub SocketAddr);

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(sa) = s.parse::<SocketAddr>() {
            return Ok(Target(sa));
        }
        s.parse::<IpAddr>()
            .map(|ip| Target(SocketAddr::new(ip, 53)))
            .map_err(|_| format!("`{s}` is not ADDR or ADDR:PORT"))
    }
}

impl TryFrom<String> for Target {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Target> for String {
    fn from(t: Target) -> String {
        t.0.to_string()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EndpointType {
    Regional,
    Edge,
    Private,
}

impl fmt::Display for EndpointType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointType::Regional => "REGIONAL",
            EndpointType::Edge => "EDGE",
            EndpointType::Private => "PRIVATE",
        })
    }
}

/// A REST API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub id: At<ApiId>,
    pub name: String,
    pub endpoint_type: At<EndpointType>,
    pub stages: Vec<At<String>>,
    #[serde(default)]
    pub routes: Vec<Route>,
    /// The resource policy: a JSON document, written as YAML or as a JSON string.
    #[serde(default)]
    pub policy: Option<At<serde_json::Value>>,
    /// `endpointConfiguration.vpcEndpointIds`: endpoints that get the `{api}-{vpce}` alias.
    #[serde(default)]
    pub vpc_endpoints: Vec<At<VpceId>>,
    #[serde(default)]
    pub disable_execute_api_endpoint: bool,
}

impl Api {
    pub fn default_name(&self, region: &Region) -> ExecuteApiName {
        ExecuteApiName::Default {
            api: self.id.value.clone(),
            region: region.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub method: At<Method>,
    /// `/test`, `/items/{id}`, `/onprem/{proxy+}`.
    pub path: At<RoutePath>,
    #[serde(default)]
    pub api_key_required: bool,
    pub integration: At<Integration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
    Any,
}

/// A resource path: `/`-separated segments, each literal, `{name}`, or a final `{name+}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoutePath(String);

impl RoutePath {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RoutePath {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if !s.starts_with('/') {
            return Err(format!(
                "`{s}` is not a resource path: it must start with `/`"
            ));
        }
        let segments: Vec<&str> = s[1..].split('/').collect();
        let last = segments.len() - 1;
        for (i, seg) in segments.iter().enumerate() {
            if seg.is_empty() && s != "/" {
                return Err(format!("`{s}` has an empty path segment"));
            }
            if let Some(inner) = seg.strip_prefix('{') {
                let Some(inner) = inner.strip_suffix('}') else {
                    return Err(format!(
                        "`{s}`: segment `{seg}` opens `{{` without closing it"
                    ));
                };
                let (name, greedy) = match inner.strip_suffix('+') {
                    Some(n) => (n, true),
                    None => (inner, false),
                };
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(format!("`{s}`: `{seg}` is not a path parameter"));
                }
                if greedy && i != last {
                    return Err(format!(
                        "`{s}`: the greedy parameter `{seg}` must be the last segment"
                    ));
                }
            } else if seg.contains(['{', '}']) {
                return Err(format!("`{s}`: segment `{seg}` mixes text and a parameter"));
            }
        }
        Ok(RoutePath(s))
    }
}

impl From<RoutePath> for String {
    fn from(p: RoutePath) -> String {
        p.0
    }
}

/// What a route calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawIntegration", into = "RawIntegration")]
pub enum Integration {
    /// A fixed response, as API Gateway's MOCK integration with a mapping template.
    Mock {
        status: u16,
        body: String,
        headers: BTreeMap<String, String>,
    },
    /// Pass the request through to `uri` (`{proxy}` and `{name}` substituted).
    HttpProxy {
        uri: String,
        /// Milliseconds before the gateway gives up: 50 to 29000, default 29000 (as AWS).
        timeout_ms: u32,
        /// CA bundle that signs the upstream's certificate (a PEM path, or `lab:NAME`).
        /// Without it the upstream must present a certificate from the gateway's trust store.
        ca: Option<String>,
        /// The certificate the gateway presents to the upstream (`lab:NAME` or a PEM path
        /// holding the certificate chain and the key).
        client_certificate: Option<String>,
    },
}

/// API Gateway's integration timeout: at most 29 s, and the default.
pub const MAX_INTEGRATION_TIMEOUT_MS: u32 = 29_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntegration {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeout_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ca: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_certificate: Option<String>,
}

impl TryFrom<RawIntegration> for Integration {
    type Error = String;
    fn try_from(raw: RawIntegration) -> Result<Self, String> {
        match raw.kind.as_str() {
            "MOCK" => {
                if raw.uri.is_some()
                    || raw.timeout_ms.is_some()
                    || raw.ca.is_some()
                    || raw.client_certificate.is_some()
                {
                    return Err("a MOCK integration takes status, body and headers only".to_owned());
                }
                let status = raw.status.unwrap_or(200);
                if !(100..=599).contains(&status) {
                    return Err(format!("status: {status} is not an HTTP status"));
                }
                Ok(Integration::Mock {
                    status,
                    body: raw.body.unwrap_or_default(),
                    headers: raw.headers,
                })
            }
            "HTTP_PROXY" => {
                let uri = raw
                    .uri
                    .ok_or("uri: an HTTP_PROXY integration needs a uri")?;
                if !(uri.starts_with("https://") || uri.starts_with("http://")) {
                    return Err(format!("uri: `{uri}` is not an http:// or https:// URL"));
                }
                if raw.status.is_some() || raw.body.is_some() || !raw.headers.is_empty() {
                    return Err(
                        "an HTTP_PROXY integration takes only uri; status, body and headers come from the upstream"
                            .to_owned(),
                    );
                }
                let timeout_ms = raw.timeout_ms.unwrap_or(MAX_INTEGRATION_TIMEOUT_MS);
                if !(50..=MAX_INTEGRATION_TIMEOUT_MS).contains(&timeout_ms) {
                    return Err(format!(
                        "timeout_ms: {timeout_ms} is outside 50..=29000 (API Gateway's limits)"
                    ));
                }
                Ok(Integration::HttpProxy {
                    uri,
                    timeout_ms,
                    ca: raw.ca,
                    client_certificate: raw.client_certificate,
                })
            }
            other => Err(format!(
                "type: unknown integration type `{other}`, expected MOCK or HTTP_PROXY"
            )),
        }
    }
}

impl From<Integration> for RawIntegration {
    fn from(i: Integration) -> RawIntegration {
        match i {
            Integration::Mock {
                status,
                body,
                headers,
            } => RawIntegration {
                kind: "MOCK".to_owned(),
                uri: None,
                status: Some(status),
                body: Some(body),
                headers,
                timeout_ms: None,
                ca: None,
                client_certificate: None,
            },
            Integration::HttpProxy {
                uri,
                timeout_ms,
                ca,
                client_certificate,
            } => RawIntegration {
                kind: "HTTP_PROXY".to_owned(),
                uri: Some(uri),
                status: None,
                body: None,
                headers: BTreeMap::new(),
                timeout_ms: Some(timeout_ms),
                ca,
                client_certificate,
            },
        }
    }
}

/// A custom domain name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDomain {
    pub name: At<DnsName>,
    pub endpoint_type: At<EndpointType>,
    /// How public DNS publishes the name.
    pub dns: At<DomainDns>,
    /// The regional target id (`d-…`); derived from the name when absent.
    #[serde(default)]
    pub target: Option<At<DomainTargetId>>,
    #[serde(default)]
    pub mtls: Option<Mtls>,
    /// A PEM file holding the certificate chain and PKCS#8 key to serve for this name. Without
    /// it the lab's server CA issues one.
    #[serde(default)]
    pub certificate: Option<At<String>>,
    #[serde(default)]
    pub mappings: Vec<BasePathMapping>,
}

impl CustomDomain {
    /// The name the domain's DNS record points at: `d-….execute-api.{region}.amazonaws.com` for
    /// REGIONAL, a `d….cloudfront.net` distribution for EDGE.
    pub fn target_name(&self, region: &Region) -> DnsName {
        match self.endpoint_type.value {
            EndpointType::Edge => {
                let token = stable_token(self.name.as_str(), 13);
                crate::naming::composed(format!("d{token}.cloudfront.net"))
            }
            _ => {
                let target = match &self.target {
                    Some(t) => t.value.clone(),
                    // stable_token yields [a-z0-9], the form of a target id.
                    None => DomainTargetId(format!("d-{}", stable_token(self.name.as_str(), 10))),
                };
                ExecuteApiName::DomainTarget {
                    target,
                    region: region.clone(),
                }
                .to_dns_name()
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainDns {
    /// A Route 53 alias A record: resolves straight to the front door's addresses.
    Alias,
    /// A CNAME to the target name, as external DNS providers publish it.
    Cname,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mtls {
    /// A PEM bundle of CA certificates, or `lab:NAME` for a CA the lab generates.
    pub truststore: At<String>,
    /// Fail the TLS handshake on a bad client certificate (and check CRLs) instead of answering
    /// HTTP 403 as API Gateway does. For the standalone proxy.
    #[serde(default)]
    pub strict: bool,
    /// PEM CRLs checked in strict mode (paths).
    #[serde(default)]
    pub crls: Vec<At<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasePathMapping {
    /// The first path segment that selects the API; empty for the root.
    #[serde(default)]
    pub base_path: String,
    pub api: At<ApiId>,
    pub stage: At<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePlan {
    pub id: At<String>,
    #[serde(default)]
    pub throttle: Option<Throttle>,
    #[serde(default)]
    pub quota: Option<Quota>,
    pub stages: Vec<PlanStage>,
    #[serde(default)]
    pub keys: Vec<ApiKey>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// Steady requests per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    pub limit: u64,
    pub period: QuotaPeriod,
    #[serde(default)]
    pub offset: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum QuotaPeriod {
    Day,
    Week,
    Month,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanStage {
    pub api: At<ApiId>,
    pub stage: At<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub id: At<String>,
    pub value: Secret,
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// A secret (an API key's value). Never printed: `Debug`, `Display` and serialisation redact it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// Where a client sits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vantage {
    pub name: At<String>,
    pub network: At<Network>,
    /// The client's own address (inside its VPC's CIDR).
    #[serde(default)]
    pub address: Option<At<IpAddr>>,
}

impl Vantage {
    /// The address the client calls from: its own, or a stand-in for its network (a documentation
    /// address for the internet, `10.0.0.1` inside a VPC) that policies see as `aws:SourceIp`.
    pub fn client_ip(&self) -> IpAddr {
        match (&self.address, &self.network.value) {
            (Some(a), _) => a.value,
            (None, Network::Vpc(_)) => IpAddr::from([10, 0, 0, 1]),
            (None, Network::Internet) => IpAddr::from([198, 51, 100, 1]),
        }
    }
}

/// `internet`, or the id of the VPC the client runs in (it then asks that VPC's resolver).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Network {
    Internet,
    Vpc(VpcId),
}

impl TryFrom<String> for Network {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s == "internet" {
            return Ok(Network::Internet);
        }
        s.parse::<VpcId>().map(Network::Vpc).map_err(|_| {
            format!("`{s}` is not a network: expected `internet` or a VPC id such as vpc-0a1b2c3d")
        })
    }
}

impl From<Network> for String {
    fn from(n: Network) -> String {
        n.to_string()
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Network::Internet => f.write_str("internet"),
            Network::Vpc(id) => id.fmt(f),
        }
    }
}

/// A deterministic token of `len` characters from [a-z0-9], derived from `seed` (FNV-1a). Used
/// where AWS would generate a random suffix, so the same topology always gets the same names.
pub fn stable_token(seed: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (0..len)
        .map(|i| {
            h ^= i as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
            char::from(ALPHABET[(h >> 33) as usize % ALPHABET.len()])
        })
        .collect()
}

impl Topology {
    pub fn vpc(&self, id: &VpcId) -> Option<&Vpc> {
        self.vpcs.iter().find(|v| v.id.value == *id)
    }

    pub fn endpoint(&self, id: &VpceId) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.id.value == *id)
    }

    pub fn api(&self, id: &ApiId) -> Option<&Api> {
        self.apis.iter().find(|a| a.id.value == *id)
    }

    pub fn vantage(&self, name: &str) -> Option<&Vantage> {
        self.vantages.iter().find(|v| v.name.value == name)
    }

    /// The front door a modelled address belongs to: the regional or edge front door, an
    /// execute-api endpoint's ENI, or none.
    pub fn door_of(&self, ip: IpAddr) -> crate::FrontDoor {
        if self.front_doors.regional.iter().any(|a| a.value == ip) {
            return crate::FrontDoor::Regional;
        }
        if self.front_doors.edge.iter().any(|a| a.value == ip) {
            return crate::FrontDoor::Edge;
        }
        for e in self.endpoints.iter().filter(|e| e.is_execute_api()) {
            if e.subnets.iter().any(|s| IpAddr::V4(s.address.value) == ip) {
                return crate::FrontDoor::VpcEndpoint(e.id.value.clone());
            }
        }
        crate::FrontDoor::None
    }

    pub fn custom_domain(&self, name: &DnsName) -> Option<&CustomDomain> {
        self.custom_domains.iter().find(|d| d.name.value == *name)
    }

    /// Every problem that spans elements: references, duplicates, address containment. Empty
    /// for a topology that can be run.
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        if !(self.account.len() == 12 && self.account.bytes().all(|b| b.is_ascii_digit())) {
            p.push(Problem::new(
                self.account.pos,
                "account",
                format!("`{}` is not a 12-digit AWS account id", self.account.value),
            ));
        }
        if self.front_doors.regional.is_empty() {
            p.push(Problem::new(
                Pos::UNKNOWN,
                "front_doors.regional",
                "the regional front door needs at least one address",
            ));
        }
        for (i, a) in self
            .front_doors
            .regional
            .iter()
            .chain(&self.front_doors.edge)
            .enumerate()
        {
            let class = classify(a.value);
            if class.is_private()
                || matches!(
                    class,
                    crate::AddressClass::Loopback
                        | crate::AddressClass::Unspecified
                        | crate::AddressClass::Multicast
                )
            {
                let field = if i < self.front_doors.regional.len() {
                    "front_doors.regional"
                } else {
                    "front_doors.edge"
                };
                p.push(Problem::new(
                    a.pos,
                    field,
                    format!(
                        "{} is a {} address; a public front door needs a public one",
                        a.value,
                        class.describe()
                    ),
                ));
            }
        }

        let vpcs = unique(
            &mut p,
            "vpcs",
            self.vpcs.iter().map(|v| (&v.id.value, v.id.pos)),
        );
        for (i, e) in self.endpoints.iter().enumerate() {
            let f = |s: &str| format!("endpoints[{i}].{s}");
            let vpc = self.vpc(&e.vpc);
            if vpc.is_none() {
                p.push(dangling(
                    e.vpc.pos,
                    f("vpc"),
                    "VPC",
                    e.vpc.as_str(),
                    vpcs.iter().map(|v| v.as_str()),
                ));
            }
            if e.subnets.is_empty() {
                p.push(Problem::new(
                    e.id.pos,
                    f("subnets"),
                    "an interface endpoint needs at least one subnet",
                ));
            }
            if let Some(s) = &e.dns_suffix
                && !is_endpoint_dns_suffix(s)
            {
                p.push(Problem::new(
                    s.pos,
                    f("dns_suffix"),
                    format!("`{}` is not 8 lower-case letters or digits", s.value),
                ));
            }
            for (j, s) in e.subnets.iter().enumerate() {
                if let Some(vpc) = vpc
                    && !vpc.cidr.contains(&s.address.value)
                {
                    p.push(Problem::new(
                        s.address.pos,
                        f(&format!("subnets[{j}].address")),
                        format!(
                            "{} is outside {} ({})",
                            s.address.value, vpc.id.value, vpc.cidr.value
                        ),
                    ));
                }
                if !s.az.starts_with(self.region.as_str())
                    || s.az.len() != self.region.as_str().len() + 1
                {
                    p.push(Problem::new(
                        s.az.pos,
                        f(&format!("subnets[{j}].az")),
                        format!(
                            "`{}` is not an Availability Zone of {}",
                            s.az.value, self.region.value
                        ),
                    ));
                }
            }
        }
        unique(
            &mut p,
            "endpoints",
            self.endpoints.iter().map(|e| (&e.id.value, e.id.pos)),
        );
        // AWS refuses a second endpoint with private DNS for one service in one VPC: both would
        // claim the same private zone ("conflicting DNS domain").
        let mut claimed: HashMap<(&VpcId, &str), &VpceId> = HashMap::new();
        for (i, e) in self
            .endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| e.private_dns)
        {
            if let Some(first) = claimed.insert((&e.vpc.value, e.service.as_str()), &e.id.value) {
                p.push(Problem::new(e.id.pos, format!("endpoints[{i}].private_dns"), format!("{} already has private DNS for {} in {}; AWS rejects a second one (conflicting DNS domain)", first, e.service.as_str(), e.vpc.value)));
            }
        }

        let mut zone_keys = HashSet::new();
        for (i, z) in self.hosted_zones.iter().enumerate() {
            for (j, v) in z.vpcs.iter().enumerate() {
                if self.vpc(v).is_none() {
                    p.push(dangling(
                        v.pos,
                        format!("hosted_zones[{i}].vpcs[{j}]"),
                        "VPC",
                        v.as_str(),
                        vpcs.iter().map(|v| v.as_str()),
                    ));
                }
                if !zone_keys.insert((z.name.value.clone(), v.value.clone())) {
                    p.push(Problem::new(
                        v.pos,
                        format!("hosted_zones[{i}].vpcs[{j}]"),
                        format!(
                            "another private zone named {} is already associated with {}",
                            z.name.value, v.value
                        ),
                    ));
                }
            }
            for (j, r) in z.records.iter().enumerate() {
                if !r.name.is_within(&z.name) {
                    p.push(Problem::new(
                        r.pos,
                        format!("hosted_zones[{i}].records[{j}].name"),
                        format!("{} is not inside the zone {}", r.name, z.name.value),
                    ));
                }
            }
        }

        for (i, r) in self.resolver_rules.iter().enumerate() {
            for (j, v) in r.vpcs.iter().enumerate() {
                if self.vpc(v).is_none() {
                    p.push(dangling(
                        v.pos,
                        format!("resolver_rules[{i}].vpcs[{j}]"),
                        "VPC",
                        v.as_str(),
                        vpcs.iter().map(|v| v.as_str()),
                    ));
                }
            }
            if r.kind == RuleKind::Forward && r.targets.is_empty() {
                p.push(Problem::new(
                    r.id.pos,
                    format!("resolver_rules[{i}].targets"),
                    "a forward rule needs at least one target",
                ));
            }
            if r.kind == RuleKind::System && !r.targets.is_empty() {
                p.push(Problem::new(
                    r.targets[0].pos,
                    format!("resolver_rules[{i}].targets"),
                    "a system rule has no targets: the Resolver answers it itself",
                ));
            }
        }
        unique(
            &mut p,
            "resolver_rules",
            self.resolver_rules.iter().map(|r| (&r.id.value, r.id.pos)),
        );

        let apis = unique(
            &mut p,
            "apis",
            self.apis.iter().map(|a| (&a.id.value, a.id.pos)),
        );
        let endpoint_ids: Vec<&str> = self.endpoints.iter().map(|e| e.id.as_str()).collect();
        for (i, a) in self.apis.iter().enumerate() {
            if a.stages.is_empty() {
                p.push(Problem::new(
                    a.id.pos,
                    format!("apis[{i}].stages"),
                    "an API needs at least one stage to be called",
                ));
            }
            unique(
                &mut p,
                &format!("apis[{i}].stages"),
                a.stages.iter().map(|s| (&s.value, s.pos)),
            );
            for (j, v) in a.vpc_endpoints.iter().enumerate() {
                let f = format!("apis[{i}].vpc_endpoints[{j}]");
                match self.endpoint(v) {
                    None => p.push(dangling(
                        v.pos,
                        f,
                        "endpoint",
                        v.as_str(),
                        endpoint_ids.iter().copied(),
                    )),
                    Some(e) if !e.is_execute_api() => p.push(Problem::new(
                        v.pos,
                        f,
                        format!(
                            "{} is an endpoint for {}, not execute-api",
                            v.value,
                            e.service.as_str()
                        ),
                    )),
                    Some(_) => {}
                }
                if a.endpoint_type.value != EndpointType::Private {
                    p.push(Problem::new(
                        v.pos,
                        format!("apis[{i}].vpc_endpoints"),
                        format!(
                            "only a PRIVATE API can list VPC endpoints; {} is {}",
                            a.id.value, a.endpoint_type.value
                        ),
                    ));
                }
            }
            // A policy the evaluator cannot honour in full does not load: an unread Deny would
            // make the API more open than its owner wrote.
            if let Some(policy) = &a.policy
                && let Err(e) = crate::policy::Policy::parse(&policy.value)
            {
                let field = if e.at.is_empty() {
                    format!("apis[{i}].policy")
                } else {
                    format!("apis[{i}].policy.{}", e.at)
                };
                p.push(Problem::new(policy.pos, field, e.kind.to_string()));
            }
            let mut routes = HashSet::new();
            for (j, r) in a.routes.iter().enumerate() {
                if !routes.insert((r.method.value, r.path.as_str())) {
                    p.push(Problem::new(
                        r.method.pos,
                        format!("apis[{i}].routes[{j}]"),
                        format!("{:?} {} is defined twice", r.method.value, r.path.as_str()),
                    ));
                }
            }
        }

        let stage_exists = |api: &ApiId, stage: &str| {
            self.api(api)
                .map(|a| a.stages.iter().any(|s| s.value == stage))
        };
        let stage_ref =
            |p: &mut Vec<Problem>, field: String, api: &At<ApiId>, stage: &At<String>| {
                match stage_exists(api, stage) {
                    None => p.push(dangling(
                        api.pos,
                        format!("{field}.api"),
                        "API",
                        api.as_str(),
                        apis.iter().map(|a| a.as_str()),
                    )),
                    Some(false) => p.push(Problem::new(
                        stage.pos,
                        format!("{field}.stage"),
                        format!("API {} has no stage `{}`", api.value, stage.value),
                    )),
                    Some(true) => {}
                }
            };
        unique(
            &mut p,
            "custom_domains",
            self.custom_domains
                .iter()
                .map(|d| (&d.name.value, d.name.pos)),
        );
        for (i, d) in self.custom_domains.iter().enumerate() {
            if d.endpoint_type.value == EndpointType::Private {
                p.push(Problem::new(
                    d.endpoint_type.pos,
                    format!("custom_domains[{i}].endpoint_type"),
                    "custom domains here are REGIONAL or EDGE",
                ));
            }
            if let Some(m) = &d.mtls
                && d.endpoint_type.value != EndpointType::Regional
            {
                p.push(Problem::new(
                    m.truststore.pos,
                    format!("custom_domains[{i}].mtls"),
                    "API Gateway offers mutual TLS on REGIONAL custom domains only",
                ));
            }
            let mut paths = HashSet::new();
            for (j, m) in d.mappings.iter().enumerate() {
                stage_ref(
                    &mut p,
                    format!("custom_domains[{i}].mappings[{j}]"),
                    &m.api,
                    &m.stage,
                );
                if !paths.insert(m.base_path.as_str()) {
                    p.push(Problem::new(
                        m.api.pos,
                        format!("custom_domains[{i}].mappings[{j}].base_path"),
                        format!("base path `{}` is mapped twice", m.base_path),
                    ));
                }
                if let Some(api) = self.api(&m.api)
                    && api.endpoint_type.value == EndpointType::Private
                {
                    p.push(Problem::new(
                        m.api.pos,
                        format!("custom_domains[{i}].mappings[{j}].api"),
                        format!(
                            "{} is PRIVATE; a public custom domain cannot map it",
                            m.api.value
                        ),
                    ));
                }
            }
        }

        unique(
            &mut p,
            "usage_plans",
            self.usage_plans.iter().map(|u| (&u.id.value, u.id.pos)),
        );
        for (i, u) in self.usage_plans.iter().enumerate() {
            for (j, s) in u.stages.iter().enumerate() {
                stage_ref(
                    &mut p,
                    format!("usage_plans[{i}].stages[{j}]"),
                    &s.api,
                    &s.stage,
                );
            }
            if let Some(t) = &u.throttle
                && !(t.rate.is_finite() && t.rate >= 0.0)
            {
                p.push(Problem::new(
                    u.id.pos,
                    format!("usage_plans[{i}].throttle.rate"),
                    "the rate must be a non-negative number",
                ));
            }
        }
        unique(
            &mut p,
            "api keys",
            self.usage_plans
                .iter()
                .flat_map(|u| &u.keys)
                .map(|k| (&k.id.value, k.id.pos)),
        );

        unique(
            &mut p,
            "vantages",
            self.vantages.iter().map(|v| (&v.name.value, v.name.pos)),
        );
        for (i, v) in self.vantages.iter().enumerate() {
            match &v.network.value {
                Network::Internet => {}
                Network::Vpc(id) => match self.vpc(id) {
                    None => p.push(dangling(
                        v.network.pos,
                        format!("vantages[{i}].network"),
                        "VPC",
                        id.as_str(),
                        vpcs.iter().map(|v| v.as_str()),
                    )),
                    Some(vpc) => {
                        if let Some(a) = &v.address
                            && !matches!(a.value, IpAddr::V4(v4) if vpc.cidr.contains(&v4))
                        {
                            p.push(Problem::new(
                                a.pos,
                                format!("vantages[{i}].address"),
                                format!(
                                    "{} is outside {} ({})",
                                    a.value, vpc.id.value, vpc.cidr.value
                                ),
                            ));
                        }
                    }
                },
            }
        }
        p.sort_by_key(|p| p.pos);
        p
    }
}

/// Reports every repeated key after its first use; returns the keys in order.
fn unique<'a, K: Eq + std::hash::Hash + fmt::Display + 'a>(
    p: &mut Vec<Problem>,
    what: &str,
    keys: impl Iterator<Item = (&'a K, Pos)>,
) -> Vec<&'a K> {
    let mut seen: HashMap<&K, Pos> = HashMap::new();
    let mut out = Vec::new();
    for (k, pos) in keys {
        if let Some(first) = seen.get(k) {
            p.push(Problem::new(
                pos,
                what,
                format!("`{k}` is defined twice (first at line {})", first.line),
            ));
        } else {
            seen.insert(k, pos);
            out.push(k);
        }
    }
    out
}

fn dangling<'a>(
    pos: Pos,
    field: impl Into<String>,
    what: &str,
    name: &str,
    known: impl Iterator<Item = &'a str>,
) -> Problem {
    let known: Vec<&str> = known.collect();
    let hint = if known.is_empty() {
        format!("no {what} is defined")
    } else {
        format!("known: {}", known.join(", "))
    };
    Problem::new(pos, field, format!("unknown {what} `{name}` ({hint})"))
}

impl Topology {
    /// Reads a bare topology (no steps) from YAML text.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Topology, crate::LoadError> {
        let t: Topology = crate::yaml::parse(text, origin)?;
        let problems = t.problems();
        if problems.is_empty() {
            Ok(t)
        } else {
            Err(crate::LoadError::Invalid {
                origin: origin.to_owned(),
                problems,
            })
        }
    }
}
