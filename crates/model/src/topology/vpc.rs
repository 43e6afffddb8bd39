//! VPCs and interface endpoints.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::ids::{Region, SubnetId, VpcId, VpceId};
use crate::naming::ExecuteApiName;
use crate::pos::At;

use super::*;

/// A VPC and its DNS attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vpc {
    /// The VPC id.
    pub id: At<VpcId>,
    /// Its IPv4 CIDR.
    pub cidr: At<Ipv4Net>,
    /// `enableDnsSupport`: AWS's default is on.
    #[serde(default = "yes")]
    pub dns_support: bool,
    /// `enableDnsHostnames`: AWS's default is off outside the default VPC.
    #[serde(default)]
    pub dns_hostnames: bool,
    /// The account that owns it; the topology's `account` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<At<String>>,
}

pub(super) fn yes() -> bool {
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
    /// The endpoint id.
    pub id: At<VpceId>,
    /// The VPC it is in.
    pub vpc: At<VpcId>,
    /// The short service name (`execute-api`, `sqs`); `com.amazonaws.{region}.` is stripped.
    pub service: At<ServiceName>,
    /// `PrivateDnsEnabled`. No default: the console turns it on, CloudFormation leaves it off.
    pub private_dns: bool,
    /// The 8 characters AWS adds to the endpoint's DNS names. Derived from the id when absent.
    #[serde(default)]
    pub dns_suffix: Option<At<String>>,
    /// The subnets it has a network interface in, with their addresses.
    pub subnets: Vec<EndpointSubnet>,
    /// The endpoint policy (an IAM policy document). None is AWS's default, full access. For
    /// execute-api it is evaluated together with the API's resource policy (API Gateway
    /// Developer Guide, "apigateway-vpc-endpoint-policies").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<At<serde_json::Value>>,
}

impl Endpoint {
    /// Whether this is an endpoint for execute-api (API Gateway).
    pub fn is_execute_api(&self) -> bool {
        self.service.value.0 == "execute-api"
    }

    /// The addresses of its network interfaces.
    pub fn addresses(&self) -> Vec<Ipv4Addr> {
        self.subnets.iter().map(|s| s.address.value).collect()
    }

    /// The suffix of its DNS names: the one given, or one made from its id.
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
    /// The service name as written (`execute-api`, or the full `com.amazonaws.…`).
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

/// A subnet of an endpoint, with its network interface's address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSubnet {
    /// The subnet id.
    pub id: At<SubnetId>,
    /// The Availability Zone, e.g. `us-east-1a`.
    pub az: At<String>,
    /// The endpoint ENI's private address in this subnet.
    pub address: At<Ipv4Addr>,
}
