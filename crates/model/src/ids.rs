//! AWS identifiers, parsed once so that nothing downstream holds a malformed one.
//!
//! Forms, as AWS generates them: a REST API id is 10 lower-case letters or digits; VPC, subnet
//! and endpoint ids are a prefix and 8 (older resources) or 17 lower-case hex digits; a regional
//! custom domain's target is `d-` and 10 lower-case letters or digits.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::IdError;

/// Declares a string newtype whose only constructor is its parser.
macro_rules! parsed_id {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(pub(crate) String);

        impl $name {
            /// The id as written (lower case).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                let check: fn(&str) -> Result<(), &'static str> = $check;
                match check(s) {
                    Ok(()) => Ok($name(s.to_owned())),
                    Err(expected) => Err(IdError {
                        kind: stringify!($name),
                        value: s.to_owned(),
                        expected,
                    }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

parsed_id!(
    /// A REST (or HTTP) API id such as `a1b2c3d4e5`.
    ApiId,
    |s| check_alnum(s, "", 10, "10 lower-case letters or digits, e.g. a1b2c3d4e5")
);
parsed_id!(
    /// A VPC id such as `vpc-0a1b2c3d4e5f67890`.
    VpcId,
    |s| check_hex(s, "vpc-", "`vpc-` and 8 or 17 lower-case hex digits")
);
parsed_id!(
    /// An interface VPC endpoint id such as `vpce-0123456789abcdef0`.
    VpceId,
    |s| check_hex(s, "vpce-", "`vpce-` and 8 or 17 lower-case hex digits")
);
parsed_id!(
    /// A subnet id such as `subnet-0a1b2c3d`.
    SubnetId,
    |s| check_hex(s, "subnet-", "`subnet-` and 8 or 17 lower-case hex digits")
);
parsed_id!(
    /// The id in a regional custom domain's target name, `d-abcde12345`.
    DomainTargetId,
    |s| check_alnum(s, "d-", 10, "`d-` and 10 lower-case letters or digits")
);

fn check_alnum(
    s: &str,
    prefix: &str,
    len: usize,
    expected: &'static str,
) -> Result<(), &'static str> {
    let body = s.strip_prefix(prefix).ok_or(expected)?;
    let ok = body.len() == len
        && body
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok { Ok(()) } else { Err(expected) }
}

fn check_hex(s: &str, prefix: &str, expected: &'static str) -> Result<(), &'static str> {
    let body = s.strip_prefix(prefix).ok_or(expected)?;
    let ok = (body.len() == 8 || body.len() == 17)
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok { Ok(()) } else { Err(expected) }
}

/// Region codes AWS publishes. A code outside this list is almost always a typo
/// (`us-east-7`, `eu-west1`), so it is rejected with the closest known code.
pub const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// An AWS Region code such as `us-east-1`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region(String);

impl Region {
    /// The Region when `s` is a known code; no suggestion is computed for an unknown one (the
    /// request path parses Host headers a client controls).
    pub fn known(s: &str) -> Option<Region> {
        KNOWN_REGIONS.contains(&s).then(|| Region(s.to_owned()))
    }

    /// The Region code (`us-east-1`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The DNS suffix of the Region's partition: `amazonaws.com.cn` in China, else `amazonaws.com`.
    pub fn dns_suffix(&self) -> &'static str {
        if self.0.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        }
    }
}

impl FromStr for Region {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        if KNOWN_REGIONS.contains(&s) {
            return Ok(Region(s.to_owned()));
        }
        let expected = closest_region(s).unwrap_or("a Region code such as us-east-1");
        Err(IdError {
            kind: "Region",
            value: s.to_owned(),
            expected,
        })
    }
}

/// The known Region nearest to `s` by edit distance, if one is near enough to be the intent.
fn closest_region(s: &str) -> Option<&'static str> {
    KNOWN_REGIONS
        .iter()
        .map(|r| (edit_distance(s, r), *r))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, r)| r)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

impl TryFrom<String> for Region {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<Region> for String {
    fn from(r: Region) -> String {
        r.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DNS name in presentation form: lower-case, no trailing dot, labels of 1 to 63 letters,
/// digits, `-` or `_`, 253 characters at most. A leading `*.` label is allowed for wildcards.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DnsName(pub(crate) String);

impl DnsName {
    /// The name in canonical form: lower case, no trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `self` is `zone` or lies below it.
    pub fn is_within(&self, zone: &DnsName) -> bool {
        self.0 == zone.0
            || (self.0.len() > zone.0.len()
                && self.0.ends_with(zone.as_str())
                && self.0.as_bytes()[self.0.len() - zone.0.len() - 1] == b'.')
    }

    /// The labels, leftmost first.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    /// The name one label up, or `None` at a top-level label.
    pub fn parent(&self) -> Option<DnsName> {
        self.0.split_once('.').map(|(_, p)| DnsName(p.to_owned()))
    }

    /// `label.self`. The label must itself be valid (checked).
    pub fn child(&self, label: &str) -> Result<DnsName, IdError> {
        format!("{label}.{}", self.0).parse()
    }
}

impl FromStr for DnsName {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let err = |expected| IdError {
            kind: "DnsName",
            value: s.to_owned(),
            expected,
        };
        let name = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
        if name.is_empty() || name.len() > 253 {
            return Err(err("a DNS name of 1 to 253 characters"));
        }
        for (i, label) in name.split('.').enumerate() {
            if i == 0 && label == "*" {
                continue;
            }
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(err(
                    "dot-separated labels of 1 to 63 letters, digits, `-` or `_`",
                ));
            }
        }
        Ok(DnsName(name))
    }
}

impl TryFrom<String> for DnsName {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<DnsName> for String {
    fn from(n: DnsName) -> String {
        n.0
    }
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_aws_forms_and_reject_near_misses() {
        assert!("a1b2c3d4e5".parse::<ApiId>().is_ok());
        assert!("A1b2c3d4e5".parse::<ApiId>().is_err());
        assert!("a1b2c3d4e".parse::<ApiId>().is_err());
        assert!("vpce-0123456789abcdef0".parse::<VpceId>().is_ok());
        assert!("vpce-01234567".parse::<VpceId>().is_ok());
        assert!("vpce-0123456789abcdef".parse::<VpceId>().is_err());
        assert!("vpce-0123456g".parse::<VpceId>().is_err());
        assert!("vpc-0123456789abcdef0".parse::<VpceId>().is_err());
        assert!("d-abcde12345".parse::<DomainTargetId>().is_ok());
    }

    #[test]
    fn region_typos_name_the_closest_region() {
        let err = "us-east-7".parse::<Region>().unwrap_err();
        assert_eq!(err.expected, "us-east-1");
        let err = "mars-north-1".parse::<Region>().unwrap_err();
        assert_eq!(err.expected, "a Region code such as us-east-1");
        assert_eq!(
            "cn-north-1".parse::<Region>().unwrap().dns_suffix(),
            "amazonaws.com.cn"
        );
    }

    #[test]
    fn dns_names_normalise_and_nest() {
        let n: DnsName = "API.Example.COM.".parse().unwrap();
        assert_eq!(n.as_str(), "api.example.com");
        let zone: DnsName = "example.com".parse().unwrap();
        assert!(n.is_within(&zone));
        assert!(
            !"badexample.com"
                .parse::<DnsName>()
                .unwrap()
                .is_within(&zone)
        );
        assert!("a..b".parse::<DnsName>().is_err());
        assert!("-a.b".parse::<DnsName>().is_err());
        assert!(
            "*.execute-api.us-east-1.amazonaws.com"
                .parse::<DnsName>()
                .is_ok()
        );
    }
}
