//! What kind of address a DNS answer holds, and, with AWS's `ip-ranges.json`, whose it is.
//!
//! The classification is what turns "the name resolved to 10.0.1.17" into "the name resolved to
//! a private address, so it cannot be a public API Gateway front door".

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::IpRangesError;

/// The VPC resolver's link-local addresses (reference §2.3).
pub const VPC_RESOLVER_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 253);
/// The VPC resolver's IPv6 address, on Nitro instances.
pub const VPC_RESOLVER_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x253);

/// The kind of an address, from the IANA special-purpose registries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AddressClass {
    /// 0.0.0.0/8, `::`.
    Unspecified,
    /// 127.0.0.0/8, `::1`.
    Loopback,
    /// RFC 1918: 10/8, 172.16/12, 192.168/16.
    Private,
    /// RFC 6598 shared address space, 100.64/10.
    Cgnat,
    /// 169.254.169.253 and fd00:ec2::253: the Amazon-provided DNS server in every VPC.
    VpcResolver,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32.
    Documentation,
    /// 198.18/15 (RFC 2544).
    Benchmarking,
    /// 224/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// fc00::/7 (RFC 4193), the IPv6 counterpart of RFC 1918.
    UniqueLocal,
    /// 240/4 and other ranges reserved for future use or protocol assignments.
    Reserved,
    /// Everything else: globally routable.
    Public,
}

impl AddressClass {
    /// Whether an address of this class can be reached from the internet. A public execute-api
    /// name that answers anything but a public address has been intercepted.
    pub fn is_public(self) -> bool {
        self == AddressClass::Public
    }

    /// Private in the sense that matters for split-horizon DNS: reachable only inside a network.
    pub fn is_private(self) -> bool {
        matches!(
            self,
            AddressClass::Private
                | AddressClass::Cgnat
                | AddressClass::UniqueLocal
                | AddressClass::LinkLocal
                | AddressClass::VpcResolver
        )
    }

    /// The class in a few words, as reports print it (`private (RFC 1918)`).
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Unspecified => "unspecified",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private (RFC 1918)",
            AddressClass::Cgnat => "shared (CGNAT, RFC 6598)",
            AddressClass::VpcResolver => "the VPC's Amazon-provided DNS resolver",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Documentation => "documentation range",
            AddressClass::Benchmarking => "benchmarking range (RFC 2544)",
            AddressClass::Multicast => "multicast",
            AddressClass::Broadcast => "broadcast",
            AddressClass::UniqueLocal => "unique local (IPv6, RFC 4193)",
            AddressClass::Reserved => "reserved",
            AddressClass::Public => "public",
        }
    }
}

/// Classifies an address. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are classified as the
/// IPv4 address they carry.
pub fn classify(addr: IpAddr) -> AddressClass {
    match addr {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(a: Ipv4Addr) -> AddressClass {
    let [o0, o1, o2, _] = a.octets();
    if a == VPC_RESOLVER_V4 {
        AddressClass::VpcResolver
    } else if o0 == 0 {
        AddressClass::Unspecified
    } else if o0 == 127 {
        AddressClass::Loopback
    } else if a.is_private() {
        AddressClass::Private
    } else if o0 == 100 && (o1 & 0xc0) == 64 {
        AddressClass::Cgnat
    } else if a.is_link_local() {
        AddressClass::LinkLocal
    } else if (o0, o1, o2) == (192, 0, 2)
        || (o0, o1, o2) == (198, 51, 100)
        || (o0, o1, o2) == (203, 0, 113)
    {
        AddressClass::Documentation
    } else if o0 == 198 && (o1 & 0xfe) == 18 {
        AddressClass::Benchmarking
    } else if a.is_broadcast() {
        AddressClass::Broadcast
    } else if a.is_multicast() {
        AddressClass::Multicast
    } else if o0 >= 240 || (o0, o1, o2) == (192, 0, 0) {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn classify_v6(a: Ipv6Addr) -> AddressClass {
    let seg = a.segments();
    if a == VPC_RESOLVER_V6 {
        AddressClass::VpcResolver
    } else if a.is_unspecified() {
        AddressClass::Unspecified
    } else if a.is_loopback() {
        AddressClass::Loopback
    } else if a.is_multicast() {
        AddressClass::Multicast
    } else if (seg[0] & 0xffc0) == 0xfe80 {
        AddressClass::LinkLocal
    } else if (seg[0] & 0xfe00) == 0xfc00 {
        AddressClass::UniqueLocal
    } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
        AddressClass::Documentation
    } else if (seg[0] & 0xe000) == 0x2000 {
        AddressClass::Public
    } else {
        // Outside 2000::/3 nothing is allocated for global unicast.
        AddressClass::Reserved
    }
}

/// AWS's published address ranges (`https://ip-ranges.amazonaws.com/ip-ranges.json`).
#[derive(Clone, Debug, Default)]
pub struct IpRanges {
    /// `syncToken`: the file's version, seconds since the epoch.
    pub sync_token: String,
    /// `createDate`: when AWS published the file.
    pub create_date: String,
    prefixes: Vec<AwsPrefix>,
}

/// One row of `ip-ranges.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AwsPrefix {
    /// The published CIDR.
    pub prefix: IpNet,
    /// A Region code, or `GLOBAL`.
    pub region: String,
    /// The network border group the prefix is advertised from.
    pub network_border_group: String,
    /// `AMAZON`, `API_GATEWAY` (egress only), `CLOUDFRONT`, `EC2`, ...
    pub service: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRanges {
    sync_token: String,
    create_date: String,
    prefixes: Vec<RawV4>,
    // The file mixes conventions: camelCase at the top, snake_case for this list.
    #[serde(default, rename = "ipv6_prefixes")]
    ipv6_prefixes: Vec<RawV6>,
}

#[derive(Deserialize)]
struct RawV4 {
    ip_prefix: Ipv4Net,
    region: String,
    network_border_group: String,
    service: String,
}

#[derive(Deserialize)]
struct RawV6 {
    ipv6_prefix: Ipv6Net,
    region: String,
    network_border_group: String,
    service: String,
}

impl IpRanges {
    /// Parses the file's JSON. Unknown top-level fields are ignored, since AWS adds them over time.
    pub fn from_json(text: &str) -> Result<IpRanges, IpRangesError> {
        let raw: RawRanges = serde_json::from_str(text).map_err(|e| IpRangesError {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let v4 = raw.prefixes.into_iter().map(|p| AwsPrefix {
            prefix: IpNet::V4(p.ip_prefix),
            region: p.region,
            network_border_group: p.network_border_group,
            service: p.service,
        });
        let v6 = raw.ipv6_prefixes.into_iter().map(|p| AwsPrefix {
            prefix: IpNet::V6(p.ipv6_prefix),
            region: p.region,
            network_border_group: p.network_border_group,
            service: p.service,
        });
        let mut prefixes: Vec<AwsPrefix> = v4.chain(v6).collect();
        // Most specific first, so `lookup` lists the narrowest claim first.
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.prefix.prefix_len()));
        Ok(IpRanges {
            sync_token: raw.sync_token,
            create_date: raw.create_date,
            prefixes,
        })
    }

    /// Every published range that holds `addr`, most specific first. Every AWS range is also
    /// listed under `AMAZON`, so a hit usually has that row and a service-specific one.
    pub fn lookup(&self, addr: IpAddr) -> Vec<&AwsPrefix> {
        self.prefixes
            .iter()
            .filter(|p| p.prefix.contains(&addr))
            .collect()
    }

    /// The most telling (service, region) for an address: a named service before `AMAZON`.
    pub fn owner(&self, addr: IpAddr) -> Option<(&str, &str)> {
        let hits = self.lookup(addr);
        hits.iter()
            .find(|p| p.service != "AMAZON")
            .or_else(|| hits.first())
            .map(|p| (p.service.as_str(), p.region.as_str()))
    }

    /// How many prefixes were read.
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// Whether no prefix was read.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> AddressClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn classifies_the_ranges_the_incident_needs() {
        assert_eq!(c("10.0.1.17"), AddressClass::Private);
        assert_eq!(c("172.31.255.1"), AddressClass::Private);
        assert_eq!(c("172.32.0.1"), AddressClass::Public);
        assert_eq!(c("100.64.0.1"), AddressClass::Cgnat);
        assert_eq!(c("100.128.0.1"), AddressClass::Public);
        assert_eq!(c("169.254.169.253"), AddressClass::VpcResolver);
        assert_eq!(c("169.254.169.254"), AddressClass::LinkLocal);
        assert_eq!(c("203.0.113.9"), AddressClass::Documentation);
        assert_eq!(c("198.19.0.1"), AddressClass::Benchmarking);
        assert_eq!(c("224.0.0.251"), AddressClass::Multicast);
        assert_eq!(c("255.255.255.255"), AddressClass::Broadcast);
        assert_eq!(c("240.0.0.1"), AddressClass::Reserved);
        assert_eq!(c("52.94.1.10"), AddressClass::Public);
        assert_eq!(c("::ffff:10.1.2.3"), AddressClass::Private);
        assert_eq!(c("fd00:ec2::253"), AddressClass::VpcResolver);
        assert_eq!(c("fd12::1"), AddressClass::UniqueLocal);
        assert_eq!(c("fe80::1"), AddressClass::LinkLocal);
        assert_eq!(c("2001:db8::1"), AddressClass::Documentation);
        assert_eq!(c("2600:1f18::1"), AddressClass::Public);
        assert_eq!(c("::1"), AddressClass::Loopback);
    }

    #[test]
    fn ip_ranges_name_service_and_region() {
        let json = r#"{"syncToken":"1700000000","createDate":"2026-11-01-00-00-00",
          "prefixes":[
            {"ip_prefix":"52.94.0.0/16","region":"us-east-1","network_border_group":"us-east-1","service":"AMAZON"},
            {"ip_prefix":"52.94.1.0/24","region":"us-east-1","network_border_group":"us-east-1","service":"EC2"},
            {"ip_prefix":"13.249.0.0/16","region":"GLOBAL","network_border_group":"GLOBAL","service":"CLOUDFRONT"}],
          "ipv6_prefixes":[
            {"ipv6_prefix":"2600:1f18::/33","region":"us-east-1","network_border_group":"us-east-1","service":"AMAZON"}]}"#;
        let r = IpRanges::from_json(json).unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(
            r.owner("52.94.1.10".parse().unwrap()),
            Some(("EC2", "us-east-1"))
        );
        assert_eq!(r.lookup("52.94.1.10".parse().unwrap()).len(), 2);
        assert_eq!(
            r.owner("13.249.7.7".parse().unwrap()),
            Some(("CLOUDFRONT", "GLOBAL"))
        );
        assert_eq!(
            r.owner("2600:1f18::9".parse().unwrap()),
            Some(("AMAZON", "us-east-1"))
        );
        assert_eq!(r.owner("10.0.0.1".parse().unwrap()), None);
    }

    #[test]
    fn ip_ranges_errors_say_where() {
        let err = IpRanges::from_json("{\"syncToken\":\"1\",\n\"createDate\":\"x\",\n\"prefixes\":[{\"ip_prefix\":\"300.1.0.0/16\"}]}").unwrap_err();
        assert_eq!(err.line, 3);
    }
}
