//! Every way the gateway refuses a request, mapped in one place to the status, the
//! `x-amzn-ErrorType` and the body API Gateway sends (reference §1.2 and §1.3).

use std::fmt;

/// Why a request was refused. Each variant names its row of the reference's §1.2 table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reject {
    /// A public API asked for through an execute-api endpoint's front door (row 1, the
    /// incident), or a private API through a public door (row 2).
    WrongDoor { api_type: &'static str },
    /// The Host names no API or custom domain this door serves.
    UnknownHost,
    /// The default endpoint of an API with `disable_execute_api_endpoint` (row 8; the body is
    /// not captured, so `{"message":"Forbidden"}` is assumed).
    DefaultEndpointDisabled,
    /// Mutual TLS on a custom domain: no certificate, or one that fails verification (row 12;
    /// error type and body UNCONFIRMED, ForbiddenException/Forbidden assumed).
    ClientCertificate(String),
    /// The stage in the path (or the base path of a custom domain) does not exist (row 7).
    UnknownStage,
    /// No route for the resource and method (row 6).
    MissingAuthenticationToken,
    /// The resource policy denies explicitly (row 3), or nothing allows (row 4).
    AccessDenied { arn: String, explicit: bool },
    /// Missing, unknown or disabled API key, or one not in a plan of this stage (row 5).
    InvalidApiKey,
    /// The key's usage plan throttle (row 10).
    Throttled,
    /// The key's usage plan quota (row 11).
    QuotaExceeded,
    /// Request body over 10 MB (REQUEST_TOO_LARGE, §1.3; the body text is UNCONFIRMED).
    TooLarge,
    /// The upstream did not answer within the integration timeout (INTEGRATION_TIMEOUT).
    IntegrationTimeout,
    /// The upstream refused, reset, or failed TLS (INTEGRATION_FAILURE).
    IntegrationFailure(String),
}

impl Reject {
    pub fn status(&self) -> u16 {
        match self {
            Reject::Throttled | Reject::QuotaExceeded => 429,
            Reject::TooLarge => 413,
            Reject::IntegrationTimeout | Reject::IntegrationFailure(_) => 504,
            _ => 403,
        }
    }

    /// The `x-amzn-ErrorType` header value.
    pub fn error_type(&self) -> &'static str {
        match self {
            Reject::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Reject::AccessDenied { .. } => "AccessDeniedException",
            Reject::Throttled => "TooManyRequestsException",
            Reject::QuotaExceeded => "LimitExceededException",
            Reject::TooLarge => "RequestTooLargeException",
            // UNCONFIRMED: API Gateway's header for integration errors is not captured in the
            // reference; this is the type its 5xx gateway responses are documented with.
            Reject::IntegrationTimeout | Reject::IntegrationFailure(_) => {
                "InternalServerErrorException"
            }
            _ => "ForbiddenException",
        }
    }

    /// The response body, byte for byte.
    pub fn body(&self) -> String {
        match self {
            Reject::MissingAuthenticationToken => {
                r#"{"message":"Missing Authentication Token"}"#.to_owned()
            }
            Reject::Throttled => r#"{"message":"Too Many Requests"}"#.to_owned(),
            Reject::QuotaExceeded => r#"{"message":"Limit Exceeded"}"#.to_owned(),
            Reject::TooLarge => r#"{"message":"Request Too Long"}"#.to_owned(),
            Reject::IntegrationTimeout => r#"{"message":"Endpoint request timed out"}"#.to_owned(),
            Reject::IntegrationFailure(_) => r#"{"message":"Internal server error"}"#.to_owned(),
            // Resource-policy denials use a capital-M "Message" (reference §1.2 notes).
            Reject::AccessDenied { arn, explicit } => {
                let why = if *explicit {
                    " with an explicit deny".to_owned()
                } else {
                    " because no resource-based policy allows the execute-api:Invoke action"
                        .to_owned()
                };
                let msg = format!(
                    "User: anonymous is not authorized to perform: execute-api:Invoke on resource: {arn}{why}"
                );
                serde_json::json!({ "Message": msg }).to_string()
            }
            _ => r#"{"message":"Forbidden"}"#.to_owned(),
        }
    }
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
            Reject::ClientCertificate(why) => write!(f, "client certificate: {why}"),
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
            Reject::InvalidApiKey => f.write_str(
                "missing, unknown or disabled API key, or not in a usage plan of this stage",
            ),
            Reject::Throttled => f.write_str("usage plan throttle"),
            Reject::QuotaExceeded => f.write_str("usage plan quota"),
            Reject::TooLarge => f.write_str("request body over 10 MB"),
            Reject::IntegrationTimeout => f.write_str("upstream timed out"),
            Reject::IntegrationFailure(why) => write!(f, "upstream failed: {why}"),
        }
    }
}
