//! Custom domain names: type, DNS, mutual TLS and base path mappings.

use serde::{Deserialize, Serialize};

use crate::ids::{ApiId, DnsName, DomainTargetId, Region, VpceId};
use crate::naming::ExecuteApiName;
use crate::pos::At;

use super::*;

/// A custom domain name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDomain {
    /// The custom domain name.
    pub name: At<DnsName>,
    /// REGIONAL, EDGE, or PRIVATE (a private custom domain name, served at interface endpoints'
    /// doors to the endpoints it has an access association with).
    pub endpoint_type: At<EndpointType>,
    /// How public DNS publishes the name (a private domain is published by the customer's own
    /// private zone, not here).
    #[serde(default = "alias")]
    pub dns: At<DomainDns>,
    /// The regional target id (`d-…`); derived from the name when absent.
    #[serde(default)]
    pub target: Option<At<DomainTargetId>>,
    /// Mutual TLS, when the domain requires client certificates.
    #[serde(default)]
    pub mtls: Option<Mtls>,
    /// A PEM file holding the certificate chain and PKCS#8 key to serve for this name. Without
    /// it the lab's server CA issues one.
    #[serde(default)]
    pub certificate: Option<At<String>>,
    /// The base path mappings that pick the API and stage.
    #[serde(default)]
    pub mappings: Vec<BasePathMapping>,
    /// PRIVATE only: the domain name's own resource policy (`AWS::ApiGateway::DomainNameV2`
    /// `Policy`), evaluated on its ARN `…:/domainnames/{name}+{id}`; none allows nothing.
    #[serde(default)]
    pub policy: Option<At<serde_json::Value>>,
    /// PRIVATE only: the interface endpoints with an access association
    /// (`AWS::ApiGateway::DomainNameAccessAssociation`): only they may invoke the domain.
    #[serde(default)]
    pub access_associations: Vec<At<VpceId>>,
    /// PRIVATE only: the domain name id AWS gives it (the `+id` of its ARN); made up from the
    /// name when absent.
    #[serde(default)]
    pub domain_name_id: Option<At<String>>,
    /// The account that owns it; the topology's `account` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<At<String>>,
    /// RAM: the accounts (or organization ids `o-…`) it is shared with; endpoints of other accounts
    /// may have an access association only when theirs is among them (a private domain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_with: Vec<At<String>>,
    /// The domain's security policy: the TLS versions its handshakes accept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_policy: Option<At<SecurityPolicy>>,
    /// STRICT or BASIC, required with an enhanced security policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_access_mode: Option<At<EndpointAccessMode>>,
}

fn alias() -> At<DomainDns> {
    At::bare(DomainDns::Alias)
}

impl CustomDomain {
    /// A private custom domain name's id: the given one, or ten letters and digits made up
    /// from the name.
    pub fn private_id(&self) -> String {
        match &self.domain_name_id {
            Some(id) => id.value.clone(),
            None => stable_token(self.name.as_str(), 10),
        }
    }

    /// A private custom domain name's ARN, the resource its policy names:
    /// `arn:aws:execute-api:{region}:{account}:/domainnames/{name}+{id}`.
    pub fn private_arn(&self, region: &Region, account: &str) -> String {
        format!(
            "arn:aws:execute-api:{region}:{account}:/domainnames/{}+{}",
            self.name.value,
            self.private_id()
        )
    }

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

/// How a custom domain name is published in DNS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainDns {
    /// A Route 53 alias A record: resolves straight to the front door's addresses.
    Alias,
    /// A CNAME to the target name, as external DNS providers publish it.
    Cname,
}

/// Mutual TLS on a custom domain: the truststore and how a bad certificate is answered.
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

/// A base path mapping: the first path segment picks an API's stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasePathMapping {
    /// The first path segment that selects the API; empty for the root.
    #[serde(default)]
    pub base_path: String,
    /// The API.
    pub api: At<ApiId>,
    /// Its stage.
    pub stage: At<String>,
}
