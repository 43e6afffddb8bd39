//! Security policies and endpoint access mode of REST APIs and custom domain names (API Gateway
//! Developer Guide, "Security policies for REST APIs in API Gateway" and "Supported security
//! policies", 2025): the TLS versions a handshake may use, and whether a request must come
//! through its resource's own endpoint type with an SNI that names it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::EndpointType;

/// A security policy, by the name API Gateway gives it (`securityPolicy`, CloudFormation
/// `SecurityPolicy`, Terraform `security_policy`). `TLS_1_0` and `TLS_1_2` are the legacy ones;
/// every `SecurityPolicy_…` one is enhanced and needs an endpoint access mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SecurityPolicy {
    /// Legacy: TLS 1.0 and later.
    #[serde(rename = "TLS_1_0")]
    Tls10,
    /// Legacy: TLS 1.2 and later.
    #[serde(rename = "TLS_1_2")]
    Tls12,
    /// TLS 1.3 only.
    #[serde(rename = "SecurityPolicy_TLS13_1_3_2025_09")]
    Tls13Only2025,
    /// TLS 1.3 only, FIPS cipher suites.
    #[serde(rename = "SecurityPolicy_TLS13_1_3_FIPS_2025_09")]
    Tls13OnlyFips2025,
    /// TLS 1.2 and 1.3, perfect forward secrecy and post-quantum key exchange.
    #[serde(rename = "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09")]
    Tls12PfsPq2025,
    /// TLS 1.2 and 1.3, FIPS and post-quantum.
    #[serde(rename = "SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09")]
    Tls12FipsPq2025,
    /// TLS 1.2 and 1.3, FIPS, forward secrecy and post-quantum.
    #[serde(rename = "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09")]
    Tls12FipsPfsPq2025,
    /// TLS 1.2 and 1.3, post-quantum key exchange.
    #[serde(rename = "SecurityPolicy_TLS13_1_2_PQ_2025_09")]
    Tls12Pq2025,
    /// TLS 1.2 and 1.3, without CBC ciphers.
    #[serde(rename = "SecurityPolicy_TLS13_1_2_2021_06")]
    Tls12Hardened2021,
    /// Edge-optimized: TLS 1.3 only.
    #[serde(rename = "SecurityPolicy_TLS13_2025_EDGE")]
    Tls13Edge2025,
    /// Edge-optimized: TLS 1.2 and later, forward secrecy.
    #[serde(rename = "SecurityPolicy_TLS12_PFS_2025_EDGE")]
    Tls12PfsEdge2025,
    /// Edge-optimized: TLS 1.2 and later.
    #[serde(rename = "SecurityPolicy_TLS12_2018_EDGE")]
    Tls12Edge2018,
}

impl SecurityPolicy {
    /// Every policy, in the API reference's order.
    pub const ALL: [SecurityPolicy; 12] = [
        SecurityPolicy::Tls10,
        SecurityPolicy::Tls12,
        SecurityPolicy::Tls13Only2025,
        SecurityPolicy::Tls13OnlyFips2025,
        SecurityPolicy::Tls12PfsPq2025,
        SecurityPolicy::Tls12FipsPq2025,
        SecurityPolicy::Tls12FipsPfsPq2025,
        SecurityPolicy::Tls12Pq2025,
        SecurityPolicy::Tls12Hardened2021,
        SecurityPolicy::Tls13Edge2025,
        SecurityPolicy::Tls12PfsEdge2025,
        SecurityPolicy::Tls12Edge2018,
    ];

    /// API Gateway's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityPolicy::Tls10 => "TLS_1_0",
            SecurityPolicy::Tls12 => "TLS_1_2",
            SecurityPolicy::Tls13Only2025 => "SecurityPolicy_TLS13_1_3_2025_09",
            SecurityPolicy::Tls13OnlyFips2025 => "SecurityPolicy_TLS13_1_3_FIPS_2025_09",
            SecurityPolicy::Tls12PfsPq2025 => "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09",
            SecurityPolicy::Tls12FipsPq2025 => "SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09",
            SecurityPolicy::Tls12FipsPfsPq2025 => "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09",
            SecurityPolicy::Tls12Pq2025 => "SecurityPolicy_TLS13_1_2_PQ_2025_09",
            SecurityPolicy::Tls12Hardened2021 => "SecurityPolicy_TLS13_1_2_2021_06",
            SecurityPolicy::Tls13Edge2025 => "SecurityPolicy_TLS13_2025_EDGE",
            SecurityPolicy::Tls12PfsEdge2025 => "SecurityPolicy_TLS12_PFS_2025_EDGE",
            SecurityPolicy::Tls12Edge2018 => "SecurityPolicy_TLS12_2018_EDGE",
        }
    }

    /// Reads API Gateway's name (exactly as written).
    pub fn parse(s: &str) -> Option<SecurityPolicy> {
        SecurityPolicy::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// An enhanced policy (`SecurityPolicy_…`): it needs an endpoint access mode.
    pub fn is_enhanced(self) -> bool {
        !matches!(self, SecurityPolicy::Tls10 | SecurityPolicy::Tls12)
    }

    /// The lowest TLS version it accepts.
    pub fn min_version(self) -> TlsVersion {
        match self {
            SecurityPolicy::Tls10 => TlsVersion::Tls10,
            SecurityPolicy::Tls13Only2025
            | SecurityPolicy::Tls13OnlyFips2025
            | SecurityPolicy::Tls13Edge2025 => TlsVersion::Tls13,
            _ => TlsVersion::Tls12,
        }
    }

    /// The endpoint types it may be set on: the `…_EDGE` ones on edge-optimized APIs and
    /// domains only, the other enhanced ones on Regional and private ones only.
    pub fn fits(self, t: EndpointType) -> bool {
        match self {
            SecurityPolicy::Tls10 | SecurityPolicy::Tls12 => true,
            SecurityPolicy::Tls13Edge2025
            | SecurityPolicy::Tls12PfsEdge2025
            | SecurityPolicy::Tls12Edge2018 => t == EndpointType::Edge,
            _ => t != EndpointType::Edge,
        }
    }
}

impl fmt::Display for SecurityPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A TLS protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.0 (parallax's servers and probe speak 1.2 and 1.3 only).
    #[serde(rename = "1.0")]
    Tls10,
    /// TLS 1.2.
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "1.3")]
    Tls13,
}

impl TlsVersion {
    /// `1.2`, as curl's `--tls-max` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls10 => "1.0",
            TlsVersion::Tls12 => "1.2",
            TlsVersion::Tls13 => "1.3",
        }
    }

    /// Reads `1.0`, `1.2` or `1.3`.
    pub fn parse(s: &str) -> Option<TlsVersion> {
        match s {
            "1.0" => Some(TlsVersion::Tls10),
            "1.2" => Some(TlsVersion::Tls12),
            "1.3" => Some(TlsVersion::Tls13),
            _ => None,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS {}", self.as_str())
    }
}

/// The endpoint access mode (`endpointAccessMode`), set with an enhanced security policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EndpointAccessMode {
    /// No check beyond the legacy behaviour (for migrations, and the only mode that lets a
    /// private API be invoked by an endpoint-specific name).
    Basic,
    /// A request must come through the resource's own endpoint type, and (Regional and private
    /// endpoints) its SNI must name the resource.
    Strict,
}

impl fmt::Display for EndpointAccessMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointAccessMode::Basic => "BASIC",
            EndpointAccessMode::Strict => "STRICT",
        })
    }
}

/// How a method is authorized (`AuthorizationType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Authorization {
    /// Open: nothing but the resource policy.
    #[default]
    #[serde(rename = "NONE")]
    None,
    /// The request must be signed with SigV4 by an IAM identity that may invoke it.
    #[serde(rename = "AWS_IAM")]
    AwsIam,
    /// A Lambda authorizer (`authorizer:` names it) decides.
    #[serde(rename = "CUSTOM")]
    Custom,
    /// A Cognito user pool authorizer (`authorizer:` names it) checks the token.
    #[serde(rename = "COGNITO_USER_POOLS")]
    CognitoUserPools,
}

/// An authorizer of an API, with its answers declared per token: what the Lambda function (or
/// the user pool) would say, so the lab needs neither.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorizer {
    /// Its id, as routes name it.
    pub id: crate::pos::At<String>,
    /// TOKEN or REQUEST (Lambda), or COGNITO_USER_POOLS.
    #[serde(rename = "type")]
    pub kind: crate::pos::At<AuthorizerType>,
    /// The request header the token is read from (`Authorization` by default).
    #[serde(default = "authorization_header")]
    pub identity_source: String,
    /// The tokens it knows and what it answers for each; any other token is refused (a Lambda
    /// authorizer's `Unauthorized`, an invalid Cognito token): 401.
    #[serde(default)]
    pub tokens: Vec<AuthorizerToken>,
}

fn authorization_header() -> String {
    "Authorization".to_owned()
}

/// The kind of an authorizer (`Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthorizerType {
    /// A Lambda authorizer given the token of one header.
    #[serde(rename = "TOKEN")]
    Token,
    /// A Lambda authorizer given the request (here: the identity source header).
    #[serde(rename = "REQUEST")]
    Request,
    /// An Amazon Cognito user pool.
    #[serde(rename = "COGNITO_USER_POOLS")]
    CognitoUserPools,
}

/// One token an authorizer knows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizerToken {
    /// The header's value.
    pub value: super::Secret,
    /// The principal id a Lambda authorizer returns.
    #[serde(default)]
    pub principal_id: Option<String>,
    /// The IAM policy a Lambda authorizer returns (no `Principal`; its Resource names the
    /// methods, `arn:aws:execute-api:…`): Allow lets the call on to the resource policy, Deny
    /// or nothing refuses it with 403.
    #[serde(default)]
    pub policy: Option<crate::pos::At<serde_json::Value>>,
    /// The Lambda authorizer answers `Unauthorized` (401) for this token.
    #[serde(default)]
    pub unauthorized: bool,
}

/// An IAM user or role whose access key signs requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamPrincipal {
    /// Its ARN: `arn:aws:iam::ACCOUNT:user/NAME` or `arn:aws:iam::ACCOUNT:role/NAME` (a role's
    /// calls show as `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`).
    pub arn: crate::pos::At<String>,
    /// The access key id its requests are signed with (`AKIA…`, `ASIA…`).
    pub access_key_id: crate::pos::At<String>,
    /// The secret access key. Never printed.
    pub secret_access_key: super::Secret,
    /// Its identity-based policy (no `Principal`); none grants nothing.
    #[serde(default)]
    pub policy: Option<crate::pos::At<serde_json::Value>>,
}

impl IamPrincipal {
    /// The account in its ARN.
    pub fn account(&self) -> &str {
        self.arn.value.split(':').nth(4).unwrap_or("")
    }
}

/// An AWS organization and its member accounts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// Its id, `o-` and 10 to 32 lower-case letters and digits.
    pub id: crate::pos::At<String>,
    /// Its member accounts.
    pub accounts: Vec<crate::pos::At<String>>,
}
