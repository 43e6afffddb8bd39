//! Every way the gateway refuses a request, mapped in one place to the status, the
//! `x-amzn-ErrorType` and the body API Gateway sends (reference §1.2 and §1.3).

use std::fmt;

use parallax_model::ErrorType;

/// API Gateway accepts at most this many CA certificates above the client's leaf (reference §3).
pub const MAX_CA_LEVELS: usize = 4;

/// Why a request was refused. Each variant names its row of the reference's §1.2 table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reject {
    /// A public API asked for through an execute-api endpoint's front door (row 1, the
    /// incident), or a private API through a public door (row 2).
    WrongDoor {
        /// The API's endpoint type (`PRIVATE`, `REGIONAL`).
        api_type: &'static str,
    },
    /// The Host names no API or custom domain this door serves.
    UnknownHost,
    /// A WebSocket API's URL called without a WebSocket opening handshake (no `Upgrade:
    /// websocket`, or over HTTP/2): 426 Upgrade Required (RFC 9110 §15.5.22, RFC 6455 §4.2.2;
    /// API Gateway's answer is not documented, INFERRED).
    UpgradeRequired,
    /// A private custom domain name called through an interface endpoint it has no access
    /// association with (API Gateway Developer Guide, private custom domain names: only
    /// associated endpoints may invoke it; the answer is not documented, 403
    /// ForbiddenException/Forbidden is INFERRED as for any unroutable name at an endpoint).
    NoAccessAssociation,
    /// Endpoint access mode STRICT ("Security policies for REST APIs in API Gateway"): the
    /// request came through another endpoint type than the resource's, or (Regional and private
    /// endpoints) its SNI does not name the resource: an endpoint-specific `vpce-…` name with a
    /// Host or `x-apigw-api-id`, or a Host other than the SNI. The answer is not documented;
    /// 403 ForbiddenException/Forbidden is INFERRED, as for the other refusals at the door.
    StrictAccessMode,
    /// The default endpoint of an API with `disable_execute_api_endpoint` (row 8; the body is
    /// not captured, so `{"message":"Forbidden"}` is assumed).
    DefaultEndpointDisabled,
    /// Mutual TLS on a custom domain: no certificate, or one that fails verification (row 12;
    /// error type and body UNCONFIRMED, ForbiddenException/Forbidden assumed).
    ClientCertificate(CertRefusal),
    /// The Host (`:authority`, absolute-form target) names a domain other than the one the TLS
    /// session was made for, so the session's mutual TLS does not vouch for it. AWS documents
    /// no answer for this; 421 Misdirected Request (RFC 9110 §15.5.20) is ours, UNCONFIRMED.
    Misdirected,
    /// A request API Gateway's front end would not read (400; body UNCONFIRMED).
    BadRequest(BadRequest),
    /// The stage in the path (or the base path of a custom domain) does not exist (row 7).
    UnknownStage,
    /// No route for the resource and method (row 6).
    MissingAuthenticationToken,
    /// An HTTP API: no route (and no `$default` route), or no such stage: 404
    /// `{"message":"Not Found"}` (http-api-develop-routes).
    NotFound,
    /// The resource policy denies explicitly (row 3), or nothing allows (row 4).
    AccessDenied {
        /// The resource ARN the policy was asked about.
        arn: String,
        /// Whether a statement denies (else nothing allows).
        explicit: bool,
    },
    /// A signed call (`AWS_IAM`) that the resource policy and the identity's policy do not
    /// together allow ("How API Gateway resource policies affect authorization workflow"):
    /// AccessDeniedException naming the identity.
    SignedDenied {
        /// The resource ARN the policies were asked about.
        arn: String,
        /// The identity's ARN.
        user: String,
        /// Whether a statement denies (else nothing allows).
        explicit: bool,
    },
    /// An authorizer found no token in its identity source, or refused it (a Lambda
    /// authorizer's `Unauthorized`, an invalid Cognito token): UNAUTHORIZED, 401
    /// `{"message":"Unauthorized"}`.
    Unauthorized,
    /// A Lambda authorizer's policy denies the method explicitly, or does not allow it:
    /// ACCESS_DENIED, 403 `{"Message":"User is not authorized to access this resource[ with an
    /// explicit deny]"}`.
    AuthorizerDenied {
        /// Whether its policy denies explicitly.
        explicit: bool,
    },
    /// A method with `AWS_IAM` authorization and a signature that does not pass.
    Signature(crate::sigv4::SigFailure),
    /// The VPC endpoint's policy denies explicitly, or nothing in it allows (reference §9;
    /// the message's wording is third-party, UNCONFIRMED in AWS's docs).
    EndpointPolicyDenied {
        /// The resource ARN the policy was asked about.
        arn: String,
        /// Whether a statement denies (else nothing allows).
        explicit: bool,
    },
    /// Missing, unknown or disabled API key, or one not in a plan of this stage (row 5).
    InvalidApiKey,
    /// The key's usage plan throttle (row 10).
    Throttled,
    /// The key's usage plan quota (row 11).
    QuotaExceeded,
    /// The shared usage-plan store (Redis) did not answer in time, and the gateway runs with
    /// `--usage-store-failure closed`. Not an API Gateway answer: 503 Service Unavailable (RFC
    /// 9110 §15.6.4) is ours.
    UsageStoreUnavailable,
    /// Request body over 10 MB (REQUEST_TOO_LARGE, §1.3; the body text is UNCONFIRMED).
    TooLarge,
    /// The upstream did not answer within the integration timeout (INTEGRATION_TIMEOUT).
    IntegrationTimeout,
    /// The upstream refused, reset, or failed TLS (INTEGRATION_FAILURE).
    IntegrationFailure(UpstreamFailure),
}

/// Why an HTTP_PROXY integration got no response from its upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpstreamFailure {
    /// The lab never dials a name outside its upstream map (loopback only).
    NotMapped {
        /// The upstream host.
        host: String,
        /// Its port.
        port: u16,
    },
    /// The integration URI, with its parameters substituted, is not a valid URI.
    BadUri {
        /// Why it is not a usable URL.
        detail: String,
    },
    /// Nothing listens at the upstream's address.
    Refused,
    /// The connection was reset or closed before a response head.
    Closed,
    /// The upstream's TLS failed (its certificate, our client certificate, an alert).
    Tls {
        /// What failed.
        detail: String,
    },
    /// The upstream's name did not resolve, or the connect failed otherwise.
    Connect {
        /// What failed.
        detail: String,
    },
    /// The upstream's response head was not valid HTTP.
    Protocol {
        /// What failed.
        detail: String,
    },
    /// The gateway has no client for this integration's TLS settings (a bug if seen).
    NoClient,
    /// A cap on the gateway's upstream connections was full and too many requests waited
    /// (`connections`, `per_origin`, `pending`).
    Overloaded {
        /// The cap.
        cap: &'static str,
    },
    /// Anything else, in the HTTP client's words.
    Other {
        /// What failed.
        detail: String,
    },
}

impl fmt::Display for UpstreamFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamFailure::NotMapped { host, port } => write!(
                f,
                "{host}:{port} is not in the lab's upstream map; the lab never connects outside loopback"
            ),
            UpstreamFailure::BadUri { detail } => {
                write!(f, "the upstream URI is not valid: {detail}")
            }
            UpstreamFailure::Refused => f.write_str("the upstream refused the connection"),
            UpstreamFailure::Closed => {
                f.write_str("the upstream closed the connection before answering")
            }
            UpstreamFailure::Tls { detail } => write!(f, "the upstream's TLS failed: {detail}"),
            UpstreamFailure::Connect { detail } => {
                write!(f, "the upstream could not be reached: {detail}")
            }
            UpstreamFailure::Protocol { detail } => {
                write!(f, "the upstream's response is not valid HTTP: {detail}")
            }
            UpstreamFailure::NoClient => f.write_str("no upstream client for these TLS settings"),
            UpstreamFailure::Overloaded { cap } => write!(
                f,
                "the gateway's upstream connections are at their cap ({cap}) and too many requests wait"
            ),
            UpstreamFailure::Other { detail } => f.write_str(detail),
        }
    }
}

/// Why a request could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadRequest {
    /// No Host, several, a malformed one, or a Host that differs from `:authority`.
    Host,
    /// A `%` escape that is not two hex digits or does not decode to UTF-8.
    PercentEncoding,
    /// The request body broke off or its chunked framing is invalid.
    Body,
}

/// Why a client certificate was refused (mutual TLS). Each is a value, so the access log, the
/// status and a diagnosis never depend on the words.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertRefusal {
    /// The domain asks for a client certificate and none was sent.
    NotSent,
    /// Past its notAfter.
    Expired,
    /// Before its notBefore.
    NotValidYet,
    /// The chain does not lead to a CA in the truststore.
    UnknownIssuer,
    /// On the truststore's CRL (strict mode only: API Gateway checks no revocation).
    Revoked,
    /// A signature in the chain does not verify.
    BadSignature,
    /// A signature algorithm below AWS's floor (SHA-256 and up).
    InsecureAlgorithm,
    /// A key below AWS's floor (RSA-2048, ECDSA-256).
    WeakKey {
        /// The key's size in bits.
        bits: usize,
    },
    /// More CA levels above the leaf than API Gateway accepts.
    ChainTooDeep {
        /// How many CA levels the chain has above the leaf.
        levels: usize,
    },
    /// Extended key usage without clientAuth.
    NotForClientAuth,
    /// The leaf's keyUsage lacks digitalSignature (RFC 5280 §4.2.1.3, RFC 8446 §4.4.2.2).
    LeafKeyUsage,
    /// A CA in the chain whose keyUsage lacks keyCertSign (RFC 5280 §4.2.1.3).
    IssuerKeyUsage {
        /// The CA's subject.
        subject: String,
    },
    /// A certificate in the issuer's place that is not a CA, or a CA used as the leaf.
    BasicConstraints,
    /// A CA's pathLenConstraint is exceeded.
    PathLength,
    /// A critical extension no verifier here understands.
    UnsupportedCriticalExtension,
    /// Not a parsable X.509 certificate.
    Malformed,
    /// Another verification failure, in rustls's words.
    Other(String),
}

impl fmt::Display for CertRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertRefusal::NotSent => f.write_str("no client certificate was sent"),
            CertRefusal::Expired => f.write_str("the certificate has expired"),
            CertRefusal::NotValidYet => f.write_str("the certificate is not valid yet"),
            CertRefusal::UnknownIssuer => {
                f.write_str("the certificate's issuer is not in the truststore")
            }
            CertRefusal::Revoked => f.write_str("the certificate is revoked"),
            CertRefusal::BadSignature => f.write_str("a signature in the chain does not verify"),
            CertRefusal::InsecureAlgorithm => {
                f.write_str("the certificate uses an insecure or unsupported signature algorithm")
            }
            CertRefusal::WeakKey { bits } => write!(
                f,
                "the certificate's key has {bits} bits (RSA needs 2048, ECDSA 256)"
            ),
            CertRefusal::ChainTooDeep { levels } => write!(
                f,
                "the chain has {levels} CA levels above the leaf; at most {} are allowed",
                MAX_CA_LEVELS
            ),
            CertRefusal::NotForClientAuth => {
                f.write_str("the certificate's extended key usage does not include clientAuth")
            }
            CertRefusal::LeafKeyUsage => {
                f.write_str("the certificate's key usage does not include digitalSignature")
            }
            CertRefusal::IssuerKeyUsage { subject } => {
                write!(f, "the CA {subject} has a key usage without keyCertSign")
            }
            CertRefusal::BasicConstraints => f.write_str(
                "the chain's basic constraints are violated (a CA as leaf, or a leaf as CA)",
            ),
            CertRefusal::PathLength => f.write_str("a CA's path length constraint is exceeded"),
            CertRefusal::UnsupportedCriticalExtension => {
                f.write_str("the certificate has a critical extension that is not understood")
            }
            CertRefusal::Malformed => f.write_str("the certificate is not valid X.509"),
            CertRefusal::Other(why) => write!(f, "the certificate is not valid: {why}"),
        }
    }
}

impl CertRefusal {
    /// A stable id for a label (`expired`, `unknown-issuer`, …): a fixed set.
    pub fn kind(&self) -> &'static str {
        match self {
            CertRefusal::NotSent => "not-sent",
            CertRefusal::Expired => "expired",
            CertRefusal::NotValidYet => "not-valid-yet",
            CertRefusal::UnknownIssuer => "unknown-issuer",
            CertRefusal::Revoked => "revoked",
            CertRefusal::BadSignature => "bad-signature",
            CertRefusal::InsecureAlgorithm => "insecure-algorithm",
            CertRefusal::WeakKey { .. } => "weak-key",
            CertRefusal::ChainTooDeep { .. } => "chain-too-deep",
            CertRefusal::NotForClientAuth => "not-for-client-auth",
            CertRefusal::LeafKeyUsage => "leaf-key-usage",
            CertRefusal::IssuerKeyUsage { .. } => "issuer-key-usage",
            CertRefusal::BasicConstraints => "basic-constraints",
            CertRefusal::PathLength => "path-length",
            CertRefusal::UnsupportedCriticalExtension => "unsupported-critical-extension",
            CertRefusal::Malformed => "malformed",
            CertRefusal::Other(_) => "other",
        }
    }
}

impl Reject {
    /// What the refusal is answered with; every variant is placed here once, and status, error
    /// type and body follow from it.
    fn answer(&self) -> Answer<'_> {
        match self {
            Reject::WrongDoor { .. }
            | Reject::UnknownHost
            | Reject::NoAccessAssociation
            | Reject::StrictAccessMode
            | Reject::DefaultEndpointDisabled
            | Reject::ClientCertificate(_)
            | Reject::UnknownStage
            | Reject::InvalidApiKey => Answer::Forbidden,
            Reject::MissingAuthenticationToken => Answer::MissingAuthenticationToken,
            Reject::AccessDenied { arn, explicit } => Answer::AccessDenied {
                arn,
                user: "anonymous",
                explicit: *explicit,
                endpoint_policy: false,
            },
            Reject::SignedDenied {
                arn,
                user,
                explicit,
            } => Answer::AccessDenied {
                arn,
                user,
                explicit: *explicit,
                endpoint_policy: false,
            },
            Reject::EndpointPolicyDenied { arn, explicit } => Answer::AccessDenied {
                arn,
                user: "anonymous",
                explicit: *explicit,
                endpoint_policy: true,
            },
            Reject::Signature(f) => Answer::Signature(f),
            Reject::Unauthorized => Answer::Unauthorized,
            Reject::AuthorizerDenied { explicit } => Answer::AuthorizerDenied {
                explicit: *explicit,
            },
            Reject::Throttled => Answer::Throttled,
            Reject::QuotaExceeded => Answer::QuotaExceeded,
            Reject::TooLarge => Answer::TooLarge,
            Reject::IntegrationTimeout => Answer::IntegrationTimeout,
            Reject::IntegrationFailure(_) => Answer::IntegrationFailure,
            Reject::NotFound => Answer::NotFound,
            Reject::UpgradeRequired => Answer::UpgradeRequired,
            Reject::UsageStoreUnavailable => Answer::UsageStoreUnavailable,
            Reject::Misdirected => Answer::Misdirected,
            Reject::BadRequest(_) => Answer::BadRequest,
        }
    }

    /// The HTTP status API Gateway answers with.
    pub fn status(&self) -> u16 {
        match self.answer() {
            Answer::Forbidden
            | Answer::MissingAuthenticationToken
            | Answer::Signature(_)
            | Answer::AuthorizerDenied { .. }
            | Answer::AccessDenied { .. } => 403,
            Answer::Unauthorized => 401,
            Answer::Throttled | Answer::QuotaExceeded => 429,
            Answer::TooLarge => 413,
            Answer::IntegrationTimeout | Answer::IntegrationFailure => 504,
            Answer::NotFound => 404,
            Answer::UpgradeRequired => 426,
            Answer::UsageStoreUnavailable => 503,
            Answer::Misdirected => 421,
            Answer::BadRequest => 400,
        }
    }

    /// The `x-amzn-ErrorType` header value; none for refusals that are not API Gateway's
    /// gateway responses (421, 400).
    pub fn error_type(&self) -> Option<ErrorType> {
        Some(match self.answer() {
            Answer::Forbidden => ErrorType::Forbidden,
            Answer::MissingAuthenticationToken => ErrorType::MissingAuthenticationToken,
            Answer::AccessDenied { .. } | Answer::AuthorizerDenied { .. } => {
                ErrorType::AccessDenied
            }
            Answer::Unauthorized => ErrorType::Unauthorized,
            Answer::Signature(f) => {
                use crate::sigv4::SigFailure as F;
                match f {
                    F::Missing => ErrorType::MissingAuthenticationToken,
                    F::Incomplete(_) => ErrorType::IncompleteSignature,
                    F::UnknownKey => ErrorType::UnrecognizedClient,
                    F::Mismatch | F::WrongRegion(_) | F::WrongService(_) | F::Expired { .. } => {
                        ErrorType::InvalidSignature
                    }
                }
            }
            Answer::Throttled => ErrorType::TooManyRequests,
            Answer::QuotaExceeded => ErrorType::LimitExceeded,
            Answer::TooLarge => ErrorType::RequestTooLarge,
            // UNCONFIRMED: API Gateway's header for integration errors is not captured in the
            // reference; this is the type its 5xx gateway responses are documented with.
            Answer::IntegrationTimeout | Answer::IntegrationFailure => {
                ErrorType::InternalServerError
            }
            // HTTP APIs' answers carry no x-amzn-ErrorType.
            Answer::NotFound
            | Answer::UpgradeRequired
            | Answer::UsageStoreUnavailable
            | Answer::Misdirected
            | Answer::BadRequest => return None,
        })
    }

    /// The response body, byte for byte.
    pub fn body(&self) -> String {
        let fixed = match self.answer() {
            // Resource-policy denials use a capital-M "Message" (reference §1.2 notes).
            Answer::Signature(f) => {
                use crate::sigv4::SigFailure as F;
                let message = match f {
                    F::Missing => "Missing Authentication Token".to_owned(),
                    F::Incomplete(parts) => parts
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" "),
                    F::UnknownKey => {
                        "The security token included in the request is invalid.".to_owned()
                    }
                    F::Mismatch => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".to_owned(),
                    F::WrongRegion(r) => {
                        format!("Credential should be scoped to a valid region, not '{r}'. ")
                    }
                    F::WrongService(s) => format!(
                        "Credential should be scoped to correct service: 'execute-api'. (not '{s}')"
                    ),
                    F::Expired { signed } => format!(
                        "Signature expired: {signed} is now earlier or later than the gateway's clock by more than 5 min."
                    ),
                };
                return serde_json::json!({ "message": message }).to_string();
            }
            Answer::AccessDenied {
                arn,
                user,
                explicit,
                endpoint_policy,
            } => {
                let why = match (explicit, endpoint_policy) {
                    (true, false) => " with an explicit deny",
                    (false, false) => {
                        " because no resource-based policy allows the execute-api:Invoke action"
                    }
                    (true, true) => " with an explicit deny in a VPC endpoint policy",
                    (false, true) => {
                        " because no VPC endpoint policy allows the execute-api:Invoke action"
                    }
                };
                let msg = format!(
                    "User: {user} is not authorized to perform: execute-api:Invoke on resource: {arn}{why}"
                );
                return serde_json::json!({ "Message": msg }).to_string();
            }
            Answer::AuthorizerDenied { explicit } => {
                let msg = if explicit {
                    "User is not authorized to access this resource with an explicit deny"
                } else {
                    "User is not authorized to access this resource"
                };
                return serde_json::json!({ "Message": msg }).to_string();
            }
            Answer::Unauthorized => r#"{"message":"Unauthorized"}"#,
            Answer::Forbidden => r#"{"message":"Forbidden"}"#,
            Answer::MissingAuthenticationToken => r#"{"message":"Missing Authentication Token"}"#,
            Answer::Throttled => r#"{"message":"Too Many Requests"}"#,
            Answer::QuotaExceeded => r#"{"message":"Limit Exceeded"}"#,
            Answer::NotFound => r#"{"message":"Not Found"}"#,
            Answer::UsageStoreUnavailable => r#"{"message":"Service Unavailable"}"#,
            Answer::UpgradeRequired => r#"{"message":"Upgrade Required"}"#,
            Answer::TooLarge => r#"{"message":"Request Too Long"}"#,
            Answer::IntegrationTimeout => r#"{"message":"Endpoint request timed out"}"#,
            Answer::IntegrationFailure => r#"{"message":"Internal server error"}"#,
            Answer::Misdirected => r#"{"message":"Misdirected Request"}"#,
            Answer::BadRequest => r#"{"message":"Bad Request"}"#,
        };
        fixed.to_owned()
    }
}

/// What a refusal is answered with: API Gateway's gateway response where it is one (the
/// response type in each comment), or the HTTP answer parallax gives where AWS documents none.
enum Answer<'a> {
    /// 403 `{"message":"Forbidden"}`: the default 403 (wrong door, unknown host or stage, a
    /// disabled default endpoint, a refused client certificate, no access association), and
    /// INVALID_API_KEY.
    Forbidden,
    /// MISSING_AUTHENTICATION_TOKEN.
    MissingAuthenticationToken,
    /// ACCESS_DENIED: a resource policy's or an endpoint policy's denial of `arn` to `user`.
    AccessDenied {
        arn: &'a str,
        user: &'a str,
        explicit: bool,
        endpoint_policy: bool,
    },
    /// A signature that does not pass (MISSING_AUTHENTICATION_TOKEN, or the SigV4 errors).
    Signature(&'a crate::sigv4::SigFailure),
    /// UNAUTHORIZED: an authorizer's 401.
    Unauthorized,
    /// ACCESS_DENIED from a Lambda authorizer's policy.
    AuthorizerDenied { explicit: bool },
    /// THROTTLED.
    Throttled,
    /// QUOTA_EXCEEDED.
    QuotaExceeded,
    /// REQUEST_TOO_LARGE.
    TooLarge,
    /// INTEGRATION_TIMEOUT.
    IntegrationTimeout,
    /// INTEGRATION_FAILURE.
    IntegrationFailure,
    /// An HTTP API's 404.
    NotFound,
    /// 426, parallax's answer to a WebSocket URL called without a handshake.
    UpgradeRequired,
    /// 503, parallax's answer when the shared usage store does not answer.
    UsageStoreUnavailable,
    /// 421, parallax's answer to a Host outside the TLS session's domain.
    Misdirected,
    /// 400, a request the front end would not read.
    BadRequest,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reject::WrongDoor { api_type } => write!(
                f,
                "a {api_type} API cannot be reached through this front door"
            ),
            Reject::UnknownHost => {
                f.write_str("no API or custom domain for this Host on this front door")
            }
            Reject::DefaultEndpointDisabled => {
                f.write_str("the API's default execute-api endpoint is disabled")
            }
            Reject::SignedDenied { user, explicit, .. } => write!(
                f,
                "{user} may not invoke this method: {}",
                if *explicit {
                    "a policy denies it explicitly"
                } else {
                    "neither the resource policy nor the identity's policy allows it (both must, across accounts)"
                }
            ),
            Reject::Unauthorized => f.write_str(
                "the authorizer found no token, or refused it (401 Unauthorized)",
            ),
            Reject::AuthorizerDenied { explicit } => f.write_str(if *explicit {
                "the Lambda authorizer's policy denies the method"
            } else {
                "the Lambda authorizer's policy does not allow the method"
            }),
            Reject::Signature(why) => write!(f, "SigV4: {why:?}"),
            Reject::NoAccessAssociation => f.write_str(
                "the private custom domain name has no access association with this VPC endpoint",
            ),
            Reject::StrictAccessMode => f.write_str(
                "endpoint access mode STRICT: the TLS session's SNI does not name the API or domain, or the request came through another endpoint type",
            ),
            Reject::ClientCertificate(why) => write!(f, "client certificate: {why}"),
            Reject::Misdirected => {
                f.write_str("the Host names another domain than the TLS session (SNI) was made for")
            }
            Reject::BadRequest(BadRequest::Host) => {
                f.write_str("no single valid Host (or it differs from :authority)")
            }
            Reject::BadRequest(BadRequest::PercentEncoding) => {
                f.write_str("the path has a malformed percent escape")
            }
            Reject::BadRequest(BadRequest::Body) => {
                f.write_str("the request body is malformed or cut short")
            }
            Reject::UnknownStage => f.write_str("no such stage (or base path)"),
            Reject::MissingAuthenticationToken => {
                f.write_str("no route for this resource and method")
            }
            Reject::AccessDenied { explicit: true, .. } => {
                f.write_str("the resource policy denies the caller")
            }
            Reject::AccessDenied {
                explicit: false, ..
            } => f.write_str("no resource policy statement allows the caller"),
            Reject::EndpointPolicyDenied { explicit: true, .. } => {
                f.write_str("the VPC endpoint's policy denies the caller")
            }
            Reject::EndpointPolicyDenied {
                explicit: false, ..
            } => f.write_str("no statement of the VPC endpoint's policy allows the caller"),
            Reject::InvalidApiKey => f.write_str(
                "missing, unknown or disabled API key, or not in a usage plan of this stage",
            ),
            Reject::NotFound => f.write_str("no route of the HTTP API matches (404)"),
            Reject::UpgradeRequired => {
                f.write_str("a WebSocket API called without a WebSocket handshake (426)")
            }
            Reject::Throttled => f.write_str("usage plan throttle"),
            Reject::QuotaExceeded => f.write_str("usage plan quota"),
            Reject::UsageStoreUnavailable => f.write_str(
                "the usage-plan store did not answer in time (--usage-store-failure closed)",
            ),
            Reject::TooLarge => f.write_str("request body over 10 MB"),
            Reject::IntegrationTimeout => f.write_str("upstream timed out"),
            Reject::IntegrationFailure(why) => write!(f, "upstream failed: {why}"),
        }
    }
}
