//! The Topology: every element of the modelled network, with the position it was read from.
//!
//! Deserialising checks each field's form (ids, CIDRs, addresses, names); [`Topology::problems`]
//! checks what spans elements (references, duplicates, addresses inside their VPC). Defaults
//! follow AWS: a VPC has `dns_support` on and `dns_hostnames` off unless it says otherwise.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::ids::{ApiId, DnsName, Region, VpcId, VpceId};
use crate::pos::At;

mod api;
mod dns;
mod domain;
mod security;
mod usage_plan;
mod validation;
mod vpc;

pub use api::*;
pub use dns::*;
pub use domain::*;
pub use security::*;
pub use usage_plan::*;
pub use vpc::*;

/// The network: VPCs, endpoints, DNS, APIs, domains, usage plans and the places requests come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// The 12-digit AWS account the resources live in (used in ARNs).
    #[serde(default = "default_account")]
    pub account: At<String>,
    /// The Region everything is in.
    pub region: At<Region>,
    /// The addresses of the public front doors.
    pub front_doors: FrontDoors,
    /// The VPCs.
    #[serde(default)]
    pub vpcs: Vec<Vpc>,
    /// The interface VPC endpoints.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// The private hosted zones.
    #[serde(default)]
    pub hosted_zones: Vec<HostedZone>,
    /// The Resolver rules.
    #[serde(default)]
    pub resolver_rules: Vec<ResolverRule>,
    /// Route 53 Profiles and their VPC associations.
    #[serde(default)]
    pub profiles: Vec<Profile>,
    /// Route 53 Resolver inbound endpoints: where networks outside AWS send the queries they
    /// forward to a VPC's resolver.
    #[serde(default)]
    pub inbound_endpoints: Vec<InboundEndpoint>,
    /// Networks outside AWS (a data centre, an office) with their own DNS.
    #[serde(default)]
    pub onprem: Vec<OnPremNetwork>,
    /// The APIs.
    #[serde(default)]
    pub apis: Vec<Api>,
    /// The custom domain names.
    #[serde(default)]
    pub custom_domains: Vec<CustomDomain>,
    /// The usage plans, with their API keys.
    #[serde(default)]
    pub usage_plans: Vec<UsagePlan>,
    /// AWS Organizations: which accounts belong to which organization (`aws:PrincipalOrgID`,
    /// RAM shares to an organization).
    #[serde(default)]
    pub organizations: Vec<Organization>,
    /// IAM identities whose access keys sign requests (SigV4) to methods with `AWS_IAM`
    /// authorization, with their identity-based policies.
    #[serde(default)]
    pub iam_principals: Vec<IamPrincipal>,
    /// The places requests are made from.
    #[serde(default)]
    pub vantages: Vec<Vantage>,
    /// What the OpenAPI definitions the file names hold that parallax does not emulate, with
    /// their lines: said when the file loads.
    #[serde(skip)]
    pub notices: Vec<crate::notice::Notice>,
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

/// Where a client sits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vantage {
    /// The vantage's name (`laptop`, `ecs-task`).
    pub name: At<String>,
    /// The network it sits in.
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
            (None, Network::OnPrem(_)) => IpAddr::from([192, 168, 0, 1]),
        }
    }
}

/// `internet`, the id of the VPC the client runs in (it then asks that VPC's resolver), or
/// `onprem:NAME`, a network outside AWS that asks its own DNS.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Network {
    /// The public internet.
    Internet,
    /// Inside a VPC, using its resolver.
    Vpc(VpcId),
    /// An on-prem network of the topology, using its DNS.
    OnPrem(String),
}

impl TryFrom<String> for Network {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s == "internet" {
            return Ok(Network::Internet);
        }
        if let Some(name) = s.strip_prefix("onprem:") {
            return if is_onprem_name(name) {
                Ok(Network::OnPrem(name.to_owned()))
            } else {
                Err(format!(
                    "`{name}` is not an on-prem network name: letters, digits and `-`"
                ))
            };
        }
        s.parse::<VpcId>().map(Network::Vpc).map_err(|_| {
            format!(
                "`{s}` is not a network: expected `internet`, a VPC id such as vpc-0a1b2c3d, or onprem:NAME"
            )
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
            Network::OnPrem(name) => write!(f, "onprem:{name}"),
        }
    }
}

/// An on-prem network's name: 1 to 63 letters, digits and `-`.
pub fn is_onprem_name(s: &str) -> bool {
    (1..=63).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
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
    /// The account that owns an element whose own `account` is `own`: it, or the topology's.
    pub fn owner<'a>(&'a self, own: Option<&'a At<String>>) -> &'a str {
        own.map_or(self.account.value.as_str(), |a| a.value.as_str())
    }

    /// The account that owns a VPC (and its endpoints); the topology's for an unknown VPC.
    pub fn vpc_account(&self, id: &VpcId) -> &str {
        self.owner(self.vpc(id).and_then(|v| v.account.as_ref()))
    }

    /// The organization an account belongs to.
    pub fn organization_of(&self, account: &str) -> Option<&str> {
        self.organizations
            .iter()
            .find(|o| o.accounts.iter().any(|a| a.value == account))
            .map(|o| o.id.value.as_str())
    }

    /// Whether a resource of `owner`, shared (RAM) with `shared_with`, reaches `account`: its
    /// owner's own, or shared with the account or with its organization.
    pub fn shared_with(&self, owner: &str, shared_with: &[At<String>], account: &str) -> bool {
        owner == account
            || shared_with.iter().any(|s| {
                s.value == account || Some(s.value.as_str()) == self.organization_of(account)
            })
    }

    /// The VPC with this id.
    pub fn vpc(&self, id: &VpcId) -> Option<&Vpc> {
        self.vpcs.iter().find(|v| v.id.value == *id)
    }

    /// The on-prem network with this name.
    pub fn onprem_network(&self, name: &str) -> Option<&OnPremNetwork> {
        self.onprem.iter().find(|n| n.name.value == name)
    }

    /// The Resolver inbound endpoint with this id.
    pub fn inbound_endpoint(&self, id: &str) -> Option<&InboundEndpoint> {
        self.inbound_endpoints.iter().find(|e| e.id.value == id)
    }

    /// The Route 53 Profile associated with a VPC (at most one).
    pub fn profile_of(&self, vpc: &VpcId) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.vpcs.iter().any(|v| v.value == *vpc))
    }

    /// The endpoint with this id.
    pub fn endpoint(&self, id: &VpceId) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.id.value == *id)
    }

    /// The API with this id.
    pub fn api(&self, id: &ApiId) -> Option<&Api> {
        self.apis.iter().find(|a| a.id.value == *id)
    }

    /// The vantage point with this name.
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

    /// The custom domain with this name.
    pub fn custom_domain(&self, name: &DnsName) -> Option<&CustomDomain> {
        self.custom_domains.iter().find(|d| d.name.value == *name)
    }
}

impl Topology {
    /// Reads a bare topology (no steps) from YAML text.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Topology, crate::LoadError> {
        let mut t: Topology = crate::yaml::parse(text, origin)?;
        let mut problems = Vec::new();
        let base = std::path::Path::new(origin).parent();
        for (i, api) in t.apis.iter_mut().enumerate() {
            let found = api.take_openapi(base, &format!("apis[{i}]"), &mut t.notices);
            problems.extend(found);
        }
        if !problems.is_empty() {
            return Err(crate::LoadError::Invalid {
                origin: origin.to_owned(),
                problems,
            });
        }
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
