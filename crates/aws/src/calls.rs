//! Every API call a collection makes: what it was (`ec2:DescribeVpcs`), how it ended, and what
//! the SDK did underneath (attempts, retries, throttled answers, the address it went to).
//!
//! An [`Attempts`] interceptor is registered on every client; the SDK calls it once per HTTP
//! attempt, so retries after throttling are counted where they happen instead of guessed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;

/// What the SDK did for one operation (`service:Operation`), over all its calls.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Requests {
    /// Operations the SDK ran (each page is one).
    pub operations: u32,
    /// HTTP attempts made.
    pub attempts: u32,
    /// Attempts after the first of a call: the SDK's retries (throttling, 5xx, timeouts).
    pub retries: u32,
    /// Answers that said the caller was throttled (HTTP 429, or a throttling error type).
    pub throttled: u32,
}

/// Counts attempts per action; one is shared by every client of a collection.
#[derive(Clone, Debug, Default)]
pub struct Attempts {
    inner: Arc<Mutex<AttemptsInner>>,
}

#[derive(Debug, Default)]
struct AttemptsInner {
    by_action: BTreeMap<String, Requests>,
    /// The last address each action was sent to (for an unreachable endpoint's message).
    address: BTreeMap<String, String>,
}

/// `service:Operation` from the SDK's metadata, the service written as its IAM prefix
/// (`apigatewayv2` kept apart from `apigateway`, whose IAM action is `apigateway:GET` for both).
pub fn operation_of(service: &str, operation: &str) -> String {
    // The SDK's names vary in case and spacing ("APIGateway", "api gateway", "Route 53").
    let prefix: String = service
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("{prefix}:{operation}")
}

/// Every IAM action parallax's account reading uses; `docs/iam/parallax-collect-policy.json`
/// grants exactly these (a test holds the two together).
pub const ACTIONS: &[&str] = &[
    "apigateway:GET",
    "cloudtrail:LookupEvents",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRegions",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
    "organizations:ListAccounts",
    "route53:GetHostedZone",
    "route53:ListHostedZonesByVPC",
    "route53:ListResourceRecordSets",
    "route53profiles:ListProfileAssociations",
    "route53profiles:ListProfileResourceAssociations",
    "route53profiles:ListProfiles",
    "route53resolver:ListResolverEndpoints",
    "route53resolver:ListResolverRuleAssociations",
    "route53resolver:ListResolverRules",
    "sts:AssumeRole",
    "sts:GetCallerIdentity",
];

/// The IAM action an operation needs: API Gateway's reads are all `apigateway:GET` (on the
/// resource's ARN); the other services name the operation.
pub fn iam_action(operation: &str) -> String {
    match operation.split_once(':') {
        Some(("apigateway" | "apigatewayv2", _)) => "apigateway:GET".to_owned(),
        _ => operation.to_owned(),
    }
}

fn action_in(cfg: &ConfigBag) -> Option<String> {
    cfg.load::<Metadata>()
        .map(|m| operation_of(m.service(), m.name()))
}

impl Attempts {
    /// What was counted, by action.
    pub fn by_action(&self) -> BTreeMap<String, Requests> {
        self.lock().by_action.clone()
    }

    /// Where `action` was last sent.
    pub fn address_of(&self, action: &str) -> Option<String> {
        self.lock().address.get(action).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AttemptsInner> {
        // A panic while counting cannot leave the counts half-updated in a way that matters.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Intercept for Attempts {
    fn name(&self) -> &'static str {
        "parallax-attempts"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(action) = action_in(cfg) {
            let uri = context.request().uri();
            // The scheme, host and port: the path and query say nothing about reachability.
            let address = match uri.find("://") {
                Some(i) => {
                    let rest = &uri[i + 3..];
                    let end = rest.find('/').map_or(uri.len(), |j| i + 3 + j);
                    uri[..end].to_owned()
                }
                None => uri.to_owned(),
            };
            let mut inner = self.lock();
            // The SDK numbers each call's attempts from 1: a later one is a retry.
            let attempt = cfg
                .load::<RequestAttempts>()
                .map_or(1, RequestAttempts::attempts);
            let counts = inner.by_action.entry(action.clone()).or_default();
            counts.attempts += 1;
            if attempt > 1 {
                counts.retries += 1;
            } else {
                counts.operations += 1;
            }
            inner.address.insert(action, address);
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(action) = action_in(cfg) else {
            return Ok(());
        };
        let throttled = context.response().is_some_and(|r| {
            r.status().as_u16() == 429
                || r.headers()
                    .get("x-amzn-errortype")
                    .is_some_and(|t| is_throttling(t.split(':').next().unwrap_or(t)))
        });
        if throttled {
            self.lock().by_action.entry(action).or_default().throttled += 1;
        }
        Ok(())
    }
}

/// The error codes AWS services use for a throttled caller (the SDK's retry classifier retries
/// these with backoff).
pub fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "TransactionInProgressException"
            | "RequestLimitExceeded"
            | "BandwidthLimitExceeded"
            | "LimitExceededException"
            | "RequestThrottled"
            | "SlowDown"
            | "PriorRequestNotComplete"
            | "EC2ThrottledException"
    )
}

/// The error codes that say the caller is not allowed (IAM or an SCP denied the action).
pub fn is_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "UnauthorizedException"
            | "AuthorizationError"
            | "AuthorizationErrorException"
            | "NotAuthorized"
            | "Forbidden"
            | "ForbiddenException"
    )
}

/// How a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The caller may not make it: `code` as the service said it.
    Denied {
        /// The error code (`AccessDenied`, `UnauthorizedOperation`, …).
        code: String,
        /// The service's message.
        message: String,
    },
    /// Still throttled after the SDK's retries.
    Throttled {
        /// The error code.
        code: String,
    },
    /// The service answered with another error.
    Service {
        /// The error code, when the answer had one.
        code: String,
        /// The service's message.
        message: String,
        /// The HTTP status.
        status: u16,
    },
    /// Nothing answered: the connection failed or timed out.
    Unreachable {
        /// What the SDK said, its causes included.
        why: String,
    },
    /// The request could not be made here (no credentials, no region, a bad endpoint URL).
    Client {
        /// What the SDK said, its causes included.
        why: String,
    },
    /// An answer came that the SDK could not read.
    Response {
        /// What the SDK said.
        why: String,
    },
}

impl Failure {
    /// Whether the rest of the collection can go on (a fault of this one call) or not (no
    /// network, no credentials: every other call would fail the same way).
    pub fn is_fatal(&self) -> bool {
        matches!(self, Failure::Unreachable { .. } | Failure::Client { .. })
    }

    /// The short name of the outcome in the manifest.
    pub fn outcome(&self) -> &'static str {
        match self {
            Failure::Denied { .. } => "denied",
            Failure::Throttled { .. } => "throttled",
            Failure::Service { .. } => "failed",
            Failure::Unreachable { .. } => "unreachable",
            Failure::Client { .. } => "not-sent",
            Failure::Response { .. } => "unreadable",
        }
    }

    /// The error code, when the service gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Failure::Denied { code, .. }
            | Failure::Throttled { code }
            | Failure::Service { code, .. } => Some(code.as_str()).filter(|c| !c.is_empty()),
            _ => None,
        }
    }

    /// Words for a person.
    pub fn words(&self) -> String {
        match self {
            Failure::Denied { code, message } => format!("denied ({code}: {message})"),
            Failure::Throttled { code } => format!("still throttled after retries ({code})"),
            Failure::Service {
                code,
                message,
                status,
            } if code.is_empty() => format!("HTTP {status} without an error code: {message}"),
            Failure::Service {
                code,
                message,
                status,
            } => format!("HTTP {status}: {code}: {message}"),
            Failure::Unreachable { why } => format!("unreachable: {why}"),
            Failure::Client { why } => why.clone(),
            Failure::Response { why } => format!("unreadable answer: {why}"),
        }
    }
}

/// Sorts an SDK error into a [`Failure`]. The decision reads the error's kind and its code,
/// never its text.
pub fn failure<E>(e: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let why = causes(e);
    match e {
        SdkError::ServiceError(service) => {
            let code = e.code().unwrap_or("").to_owned();
            let message = e.message().unwrap_or("").to_owned();
            let status = service.raw().status().as_u16();
            if is_denied(&code) || (code.is_empty() && status == 403) {
                Failure::Denied {
                    code: if code.is_empty() {
                        "HTTP 403".to_owned()
                    } else {
                        code
                    },
                    message,
                }
            } else if is_throttling(&code) || status == 429 {
                Failure::Throttled { code }
            } else if code.is_empty() {
                // No error code (an answer the model does not know, or a bare 404/500): the
                // SDK's own words carry what there is.
                Failure::Service {
                    code: String::new(),
                    message: body_gist(service.raw().body().bytes().unwrap_or_default()),
                    status,
                }
            } else {
                Failure::Service {
                    code,
                    message,
                    status,
                }
            }
        }
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => Failure::Unreachable { why },
        SdkError::TimeoutError(_) => Failure::Unreachable { why },
        SdkError::ResponseError(_) => Failure::Response { why },
        _ => Failure::Client { why },
    }
}

/// An error and its causes, each said once ("dispatch failure: io error: … Connection refused").
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let said = err.to_string();
        // A wrapper often repeats its cause's words; keep each once.
        if !parts.iter().any(|p| p.contains(&said)) {
            parts.push(said);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// What an answer without an error code said: an HTML page's title, else its first line, at
/// most 160 characters.
fn body_gist(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let lower = text.to_ascii_lowercase();
    let said = match (lower.find("<title>"), lower.find("</title>")) {
        (Some(a), Some(b)) if a + 7 <= b => text[a + 7..b].trim().to_owned(),
        _ => text.lines().next().unwrap_or("").trim().to_owned(),
    };
    let said: String = said.chars().filter(|c| !c.is_control()).take(160).collect();
    if said.is_empty() {
        "an empty answer".to_owned()
    } else {
        said
    }
}

/// One call made, as the manifest lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Call {
    /// `service:Operation` (`apigateway:GetRestApis`).
    pub operation: String,
    /// The IAM action it needs (`apigateway:GET`).
    pub action: String,
    /// The file its answer went to (all pages joined).
    pub file: String,
    /// Pages read.
    pub pages: u32,
    /// `ok`, `denied`, `throttled`, `failed`, `unreachable`, `not-sent`, `unreadable`.
    pub outcome: &'static str,
    /// The error code, when it failed with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What went wrong, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_file_grants_exactly_the_actions_used() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/iam/parallax-collect-policy.json"
        );
        let policy: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("the policy file"))
                .expect("JSON");
        let mut granted: Vec<String> = Vec::new();
        for s in policy["Statement"].as_array().expect("statements") {
            assert_eq!(s["Effect"], "Allow", "read-only grants only");
            match &s["Action"] {
                serde_json::Value::String(a) => granted.push(a.clone()),
                serde_json::Value::Array(a) => {
                    granted.extend(a.iter().filter_map(|x| x.as_str().map(str::to_owned)));
                }
                other => panic!("Action {other}"),
            }
        }
        granted.sort();
        let mut used: Vec<String> = ACTIONS.iter().map(|a| (*a).to_owned()).collect();
        used.sort();
        assert_eq!(granted, used);
        // Nothing that writes, and no wildcard action.
        assert!(granted.iter().all(|a| !a.contains('*')));
        let writes = [
            "Create",
            "Delete",
            "Put",
            "Update",
            "Modify",
            "Associate",
            "PATCH",
            "POST",
        ];
        assert!(
            granted.iter().all(|a| !writes
                .iter()
                .any(|w| a.split(':').nth(1).is_some_and(|op| op.starts_with(w)))),
            "{granted:?}"
        );
    }

    #[test]
    fn api_gateway_operations_need_apigateway_get() {
        assert_eq!(iam_action("apigatewayv2:GetApis"), "apigateway:GET");
        assert_eq!(iam_action("apigateway:GetRestApis"), "apigateway:GET");
        assert_eq!(iam_action("ec2:DescribeVpcs"), "ec2:DescribeVpcs");
        assert_eq!(
            operation_of("API Gateway", "GetRestApis"),
            "apigateway:GetRestApis"
        );
        assert_eq!(
            operation_of("Route 53", "GetHostedZone"),
            "route53:GetHostedZone"
        );
    }
}
