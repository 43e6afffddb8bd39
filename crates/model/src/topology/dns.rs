//! Private hosted zones and their records, Route 53 Resolver rules, and Route 53 Profiles.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{DnsName, VpcId, VpceId};
use crate::pos::At;

/// A Route 53 private hosted zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostedZone {
    /// The zone's apex name.
    pub name: At<DnsName>,
    /// The VPCs associated with the zone directly. A zone may have none and reach VPCs only
    /// through a Route 53 Profile.
    #[serde(default)]
    pub vpcs: Vec<At<VpcId>>,
    /// The zone's records.
    #[serde(default)]
    pub records: Vec<At<Record>>,
}

/// A record set. `values` holds addresses for A and AAAA, one name for CNAME and ALIAS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRecord", into = "RawRecord")]
pub struct Record {
    /// The record's owner name.
    pub name: DnsName,
    /// Time to live, in seconds.
    pub ttl: u32,
    /// What the record holds.
    pub data: RecordData,
}

/// A record's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordData {
    /// IPv4 addresses.
    A(Vec<Ipv4Addr>),
    /// IPv6 addresses.
    Aaaa(Vec<Ipv6Addr>),
    /// A canonical name.
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
    /// The rule's id (`rslvr-rr-…`).
    pub id: At<String>,
    /// The domain the rule applies to (and every name below it).
    pub domain: At<DnsName>,
    /// `forward` sends matching queries to `targets`; `system` makes the Resolver answer them
    /// itself (an exception carved out of a wider forward rule).
    #[serde(default)]
    pub kind: RuleKind,
    /// The VPCs the rule is associated with.
    pub vpcs: Vec<At<VpcId>>,
    /// Where a FORWARD rule sends queries (a Resolver outbound endpoint's targets).
    #[serde(default)]
    pub targets: Vec<At<Target>>,
    /// The account that owns it; the topology's `account` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<At<String>>,
    /// RAM: the accounts (or organization ids `o-…`) it is shared with; VPCs of other accounts
    /// may be associated only when theirs is among them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_with: Vec<At<String>>,
}

/// What a Resolver rule does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// Forward queries for the domain to the targets.
    #[default]
    Forward,
    /// Resolve the domain with the VPC resolver as usual (an exception to a forward rule).
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

/// A Route 53 Profile: DNS configuration (private hosted zones, Resolver rules, interface
/// endpoints' private DNS) applied to every VPC the profile is associated with, possibly of other
/// accounts through AWS RAM. A VPC has at most one profile (AssociateProfile, Route 53 API
/// Reference).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `rp-` and hex digits, as Route 53 names them.
    pub id: At<String>,
    /// The VPCs the profile is associated with (`AWS::Route53Profiles::ProfileAssociation`).
    #[serde(default)]
    pub vpcs: Vec<At<VpcId>>,
    /// Private hosted zones the profile carries, by the `name` of a `hosted_zones` entry.
    #[serde(default)]
    pub hosted_zones: Vec<At<DnsName>>,
    /// Resolver rules the profile carries, by id.
    #[serde(default)]
    pub resolver_rules: Vec<At<String>>,
    /// Interface endpoints whose private DNS names the profile carries to its VPCs.
    #[serde(default)]
    pub endpoints: Vec<At<VpceId>>,
    /// The account that owns it; the topology's `account` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<At<String>>,
    /// RAM: the accounts (or organization ids `o-…`) it is shared with; VPCs of other accounts
    /// may be associated only when theirs is among them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_with: Vec<At<String>>,
}

/// A Route 53 Resolver inbound endpoint: addresses in a VPC that networks outside AWS forward
/// queries to; the VPC's resolver answers them as it answers the VPC (Route 53 Developer Guide,
/// "Resolving DNS queries between VPCs and your network", inbound endpoints).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundEndpoint {
    /// `rslvr-in-` and letters or digits.
    pub id: At<String>,
    /// The VPC the endpoint's addresses are in.
    pub vpc: At<VpcId>,
    /// Its IP addresses, one per subnet, inside the VPC.
    pub addresses: Vec<At<Ipv4Addr>>,
}

/// A network outside AWS with its own DNS server, reached through Direct Connect or a VPN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnPremNetwork {
    /// Names the network: vantage points say `network: onprem:NAME`.
    pub name: At<String>,
    /// The address of its DNS server: VPCs' outbound resolver rules forward to it.
    pub dns: At<IpAddr>,
    /// Zones its DNS server holds itself (Active Directory, a corporate zone).
    #[serde(default)]
    pub zones: Vec<OnPremZone>,
    /// Conditional forwarders: queries for a domain go to an inbound endpoint.
    #[serde(default)]
    pub forwards: Vec<OnPremForward>,
}

/// A zone the on-prem DNS holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnPremZone {
    /// The zone's apex name.
    pub name: At<DnsName>,
    /// The zone's records.
    #[serde(default)]
    pub records: Vec<At<Record>>,
}

/// A conditional forwarder of the on-prem DNS: `domain` and below go to an inbound endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnPremForward {
    /// The domain forwarded (and every name below it).
    pub domain: At<DnsName>,
    /// The inbound endpoint's id.
    pub to: At<String>,
}
