//! AWS naming for API Gateway: the host names a client can call an API by, parsed and built.
//!
//! | form | example |
//! |---|---|
//! | default | `a1b2c3d4e5.execute-api.us-east-1.amazonaws.com` |
//! | `{api}-{vpce}` alias | `a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.us-east-1.amazonaws.com` |
//! | endpoint-specific | `vpce-0123456789abcdef0-1a2b3c4d.execute-api.us-east-1.vpce.amazonaws.com` |
//! | zonal endpoint-specific | `vpce-0123456789abcdef0-1a2b3c4d-us-east-1a.execute-api.us-east-1.vpce.amazonaws.com` |
//! | regional custom-domain target | `d-abcde12345.execute-api.us-east-1.amazonaws.com` |
//!
//! In the China Regions the suffix is `amazonaws.com.cn`.

use std::fmt;

use serde::Serialize;

use crate::ids::{ApiId, DnsName, DomainTargetId, Region, VpceId};

/// One of the host-name forms of the table above.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum ExecuteApiName {
    /// The default invoke host of any API: `{api}.execute-api.{region}.amazonaws.com`.
    Default {
        /// The API.
        api: ApiId,
        /// The Region of its endpoint.
        region: Region,
    },
    /// The Route 53 alias made when a private API is associated with an endpoint.
    ApiVpceAlias {
        /// The private API.
        api: ApiId,
        /// The interface endpoint it is associated with.
        vpce: VpceId,
        /// The Region.
        region: Region,
    },
    /// The endpoint-specific public name, regional or (with `az`) zonal.
    VpceEndpoint {
        /// The interface endpoint.
        vpce: VpceId,
        /// The 8-character suffix AWS gave the endpoint's DNS names.
        dns_suffix: String,
        /// The Availability Zone, for a zonal name.
        az: Option<String>,
        /// The Region.
        region: Region,
    },
    /// The name a regional custom domain's DNS record points at.
    DomainTarget {
        /// The regional custom domain's target id.
        target: DomainTargetId,
        /// The Region.
        region: Region,
    },
}

impl ExecuteApiName {
    /// Reads a host name (case-insensitive, a trailing dot allowed). `None` when it is not one of
    /// the execute-api forms, or names an unknown Region.
    pub fn parse(host: &str) -> Option<ExecuteApiName> {
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        let (first, rest) = host.split_once('.')?;
        let rest = rest.strip_prefix("execute-api.")?;
        let (region, suffix) = rest.split_once('.')?;
        let region = Region::known(region)?;
        if suffix == region.dns_suffix() {
            if let Ok(api) = first.parse::<ApiId>() {
                return Some(ExecuteApiName::Default { api, region });
            }
            if let Ok(target) = first.parse::<DomainTargetId>() {
                return Some(ExecuteApiName::DomainTarget { target, region });
            }
            let (api, vpce) = first.split_once('-')?;
            return Some(ExecuteApiName::ApiVpceAlias {
                api: api.parse().ok()?,
                vpce: vpce.parse().ok()?,
                region,
            });
        }
        if suffix.strip_prefix("vpce.")? != region.dns_suffix() {
            return None;
        }
        let body = first.strip_prefix("vpce-")?;
        let (hex, tail) = body.split_once('-')?;
        let vpce: VpceId = format!("vpce-{hex}").parse().ok()?;
        let (dns_suffix, az) = match tail.split_once('-') {
            Some((s, az)) => (s, Some(az)),
            None => (tail, None),
        };
        if !is_endpoint_dns_suffix(dns_suffix) {
            return None;
        }
        if let Some(az) = az {
            // A zonal name carries an Availability Zone of the same Region: `us-east-1a`.
            let letter = az.strip_prefix(region.as_str())?;
            if letter.len() != 1 || !letter.bytes().all(|b| b.is_ascii_lowercase()) {
                return None;
            }
        }
        Some(ExecuteApiName::VpceEndpoint {
            vpce,
            dns_suffix: dns_suffix.to_owned(),
            az: az.map(str::to_owned),
            region,
        })
    }

    /// The Region the name belongs to.
    pub fn region(&self) -> &Region {
        match self {
            ExecuteApiName::Default { region, .. }
            | ExecuteApiName::ApiVpceAlias { region, .. }
            | ExecuteApiName::VpceEndpoint { region, .. }
            | ExecuteApiName::DomainTarget { region, .. } => region,
        }
    }

    /// The host name, in canonical (lower-case) form.
    pub fn to_dns_name(&self) -> DnsName {
        // Every part was parsed from a valid label, so the composed name is valid.
        composed(self.to_string())
    }
}

impl fmt::Display for ExecuteApiName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecuteApiName::Default { api, region } => {
                write!(f, "{api}.execute-api.{region}.{}", region.dns_suffix())
            }
            ExecuteApiName::ApiVpceAlias { api, vpce, region } => {
                write!(
                    f,
                    "{api}-{vpce}.execute-api.{region}.{}",
                    region.dns_suffix()
                )
            }
            ExecuteApiName::VpceEndpoint {
                vpce,
                dns_suffix,
                az,
                region,
            } => {
                write!(f, "{vpce}-{dns_suffix}")?;
                if let Some(az) = az {
                    write!(f, "-{az}")?;
                }
                write!(f, ".execute-api.{region}.vpce.{}", region.dns_suffix())
            }
            ExecuteApiName::DomainTarget { target, region } => {
                write!(f, "{target}.execute-api.{region}.{}", region.dns_suffix())
            }
        }
    }
}

/// What an `execute-api` ARN names: the resource of an `execute-api:Invoke` call, as it stands
/// in a policy or in an `AccessDeniedException` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvokeResource {
    /// `arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/{method}/{path}`: a method
    /// of an API (`rest` is everything after the API id, wildcards included).
    Api {
        /// The API the call went to.
        api: ApiId,
        /// `{stage}/{method}/{path}` as written.
        rest: String,
    },
    /// `arn:{partition}:execute-api:{region}:{account}:/domainnames/{name}+{id}`: a private
    /// custom domain name, whose own policy decided.
    DomainName {
        /// The domain name.
        name: String,
        /// The id API Gateway gives a private custom domain name.
        id: String,
    },
}

impl InvokeResource {
    /// Reads an `execute-api` ARN; `None` for any other ARN or text.
    pub fn parse_arn(arn: &str) -> Option<InvokeResource> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(_partition), Some("execute-api"), Some(_region), Some(_account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let resource = parts.next()?;
        if let Some(domain) = resource.strip_prefix("/domainnames/") {
            let (name, id) = domain.split_once('+')?;
            return Some(InvokeResource::DomainName {
                name: name.to_owned(),
                id: id.to_owned(),
            });
        }
        let (api, rest) = resource.split_once('/').unwrap_or((resource, ""));
        Some(InvokeResource::Api {
            api: api.parse().ok()?,
            rest: rest.to_owned(),
        })
    }
}

/// The random part AWS adds to an endpoint's DNS names: 8 lower-case letters or digits.
pub fn is_endpoint_dns_suffix(s: &str) -> bool {
    s.len() == 8
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The zone that private DNS on an interface endpoint for `service` places in the VPC.
/// For `execute-api` it is `execute-api.{region}.amazonaws.com` with a wildcard below it (any API
/// id); for other services, the service's regional name itself (`sqs.us-east-1.amazonaws.com`).
pub fn endpoint_private_zone(service: &str, region: &Region) -> Result<DnsName, crate::IdError> {
    format!("{service}.{region}.{}", region.dns_suffix()).parse()
}

/// The zone that holds every execute-api default name of a Region.
pub fn execute_api_zone(region: &Region) -> DnsName {
    composed(format!("execute-api.{region}.{}", region.dns_suffix()))
}

/// The zone that holds the endpoint-specific names of a Region.
pub fn vpce_zone(region: &Region) -> DnsName {
    composed(format!("execute-api.{region}.vpce.{}", region.dns_suffix()))
}

/// A name composed in this module from parts that are already valid labels.
pub(crate) fn composed(s: String) -> DnsName {
    debug_assert!(
        s.parse::<DnsName>().is_ok(),
        "composed an invalid name: {s}"
    );
    DnsName(s)
}

#[cfg(test)]
mod tests {

    #[test]
    fn invoke_arns_name_an_api_method_or_a_private_domain() {
        let api = InvokeResource::parse_arn(
            "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/prod/GET/pets",
        );
        assert!(matches!(
            api,
            Some(InvokeResource::Api { ref api, ref rest }) if api.as_str() == "a1b2c3d4e5" && rest == "prod/GET/pets"
        ));
        assert_eq!(
            InvokeResource::parse_arn(
                "arn:aws:execute-api:us-east-1:111122223333:/domainnames/api.example.com+abc123"
            ),
            Some(InvokeResource::DomainName {
                name: "api.example.com".to_owned(),
                id: "abc123".to_owned()
            })
        );
        assert_eq!(InvokeResource::parse_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(InvokeResource::parse_arn("not an arn"), None);
    }
    use super::*;

    #[test]
    fn parses_each_form() {
        let n = ExecuteApiName::parse("A1B2C3D4E5.execute-api.us-east-1.amazonaws.com.").unwrap();
        assert!(matches!(n, ExecuteApiName::Default { .. }));
        assert_eq!(
            n.to_string(),
            "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
        );

        let n = ExecuteApiName::parse(
            "a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.us-east-1.amazonaws.com",
        )
        .unwrap();
        assert!(matches!(n, ExecuteApiName::ApiVpceAlias { .. }));

        let n = ExecuteApiName::parse(
            "vpce-0123456789abcdef0-1a2b3c4d-us-east-1a.execute-api.us-east-1.vpce.amazonaws.com",
        )
        .unwrap();
        match &n {
            ExecuteApiName::VpceEndpoint { az, dns_suffix, .. } => {
                assert_eq!(az.as_deref(), Some("us-east-1a"));
                assert_eq!(dns_suffix, "1a2b3c4d");
            }
            other => panic!("{other:?}"),
        }

        let n =
            ExecuteApiName::parse("d-abcde12345.execute-api.cn-north-1.amazonaws.com.cn").unwrap();
        assert!(matches!(n, ExecuteApiName::DomainTarget { .. }));
    }

    #[test]
    fn rejects_near_misses() {
        for bad in [
            "a1b2c3d4e5.execute-api.us-east-7.amazonaws.com",
            "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com.cn",
            "a1b2c3d4e.execute-api.us-east-1.amazonaws.com",
            "a1b2c3d4e5.execute-api.us-east-1.vpce.amazonaws.com",
            "vpce-0123456789abcdef0-1a2b3c4d-eu-west-1a.execute-api.us-east-1.vpce.amazonaws.com",
            "vpce-0123456789abcdef0.execute-api.us-east-1.vpce.amazonaws.com",
            "api.example.com",
        ] {
            assert_eq!(ExecuteApiName::parse(bad), None, "{bad}");
        }
    }
}
