//! REST APIs: endpoint type, stages, routes, integrations and resource policy.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{ApiId, Region, VpceId};
use crate::naming::ExecuteApiName;
use crate::pos::At;

/// Which front door serves an API (or custom domain).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EndpointType {
    /// The Regional front door.
    Regional,
    /// The edge-optimized (CloudFront) front door.
    Edge,
    /// Only through interface VPC endpoints for execute-api.
    Private,
}

impl fmt::Display for EndpointType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointType::Regional => "REGIONAL",
            EndpointType::Edge => "EDGE",
            EndpointType::Private => "PRIVATE",
        })
    }
}

/// The kind of API: REST (API Gateway v1) or HTTP (v2). HTTP APIs are always public and
/// Regional, have no resource policy and no API keys, may use the `$default` stage (no stage in
/// the path) and the `$default` route (a catch-all), and answer a request no route matches with
/// 404 `{"message":"Not Found"}` (API Gateway Developer Guide, "http-api-develop-routes",
/// "http-api-stages").
///
/// WebSocket APIs (v2) are public and Regional too, without resource policies; a client
/// connects with an HTTP/1.1 Upgrade to `wss://{api}.execute-api.{region}.amazonaws.com/{stage}`;
/// the `$connect` route decides the connection (none: accepted), `$default` answers the messages
/// ("apigateway-websocket-api-overview", "websocket-api-develop-routes").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ApiProtocol {
    /// A REST API (API Gateway v1).
    #[default]
    Rest,
    /// An HTTP API (v2).
    Http,
    /// A WebSocket API (v2).
    #[serde(rename = "WEBSOCKET")]
    WebSocket,
}

/// A REST or HTTP API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// The API id.
    pub id: At<ApiId>,
    /// The API's name.
    pub name: String,
    /// REST (the default) or HTTP.
    #[serde(default)]
    pub protocol: ApiProtocol,
    /// Who can reach it: REGIONAL, EDGE or PRIVATE.
    pub endpoint_type: At<EndpointType>,
    /// The deployed stages.
    pub stages: Vec<At<String>>,
    /// The resources and methods, with their integrations.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// An OpenAPI 3 or Swagger 2.0 definition (an API Gateway export) to take the routes from,
    /// with its policy and endpoint configuration; relative to the file that names it. Read when
    /// the file loads ([`crate::openapi`]), then cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openapi: Option<At<String>>,
    /// The resource policy: a JSON document, written as YAML or as a JSON string.
    #[serde(default)]
    pub policy: Option<At<serde_json::Value>>,
    /// `endpointConfiguration.vpcEndpointIds`: endpoints that get the `{api}-{vpce}` alias.
    #[serde(default)]
    pub vpc_endpoints: Vec<At<VpceId>>,
    /// Whether the default execute-api endpoint is disabled (only custom domains answer).
    #[serde(default)]
    pub disable_execute_api_endpoint: bool,
    /// A WebSocket API's route selection expression: `$request.body.FIELD` (dots for nested
    /// fields); `$request.body.action` when absent.
    #[serde(default)]
    pub route_selection_expression: Option<At<String>>,
    /// The account that owns it (its ARN's); the topology's `account` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<At<String>>,
    /// Its authorizers (Lambda or Cognito), with their answers per token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorizers: Vec<super::Authorizer>,
    /// The security policy of its default endpoint (REST APIs): the TLS versions its
    /// handshakes accept. Absent: API Gateway's default for the endpoint type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_policy: Option<At<super::SecurityPolicy>>,
    /// STRICT or BASIC, required with an enhanced security policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_access_mode: Option<At<super::EndpointAccessMode>>,
}

impl Api {
    /// The JSON fields a WebSocket message's route key is read from (`["action"]` by default),
    /// or `None` for an expression this model does not read.
    pub fn route_selection_fields(&self) -> Option<Vec<String>> {
        let expr = self
            .route_selection_expression
            .as_ref()
            .map_or("$request.body.action", |e| e.value.as_str());
        let path = expr.strip_prefix("$request.body.")?;
        let fields: Vec<String> = path.split('.').map(str::to_owned).collect();
        fields
            .iter()
            .all(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .then_some(fields)
    }

    /// The API's default invoke name, `{api}.execute-api.{region}.amazonaws.com`.
    pub fn default_name(&self, region: &Region) -> ExecuteApiName {
        ExecuteApiName::Default {
            api: self.id.value.clone(),
            region: region.clone(),
        }
    }
}

/// One method of a resource (or an HTTP or WebSocket API's route) and its integration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The method (ANY matches every one).
    pub method: At<Method>,
    /// `/test`, `/items/{id}`, `/onprem/{proxy+}`.
    pub path: At<RoutePath>,
    /// Whether the method requires an API key from a usage plan.
    #[serde(default)]
    pub api_key_required: bool,
    /// `NONE` (the default), `AWS_IAM` (a SigV4-signed request from an IAM identity),
    /// `CUSTOM` (a Lambda authorizer) or `COGNITO_USER_POOLS`.
    #[serde(default)]
    pub authorization: super::Authorization,
    /// The authorizer of a `CUSTOM` or `COGNITO_USER_POOLS` method, by its id.
    #[serde(default)]
    pub authorizer: Option<At<String>>,
    /// What answers the method.
    pub integration: At<Integration>,
}

/// An HTTP method as API Gateway names it on a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// HEAD.
    Head,
    /// OPTIONS.
    Options,
    /// ANY: every method.
    Any,
}

impl Method {
    /// The method as API Gateway spells it (`GET`, `ANY`): in ARNs, routes and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Any => "ANY",
        }
    }
}

/// A resource path: `/`-separated segments, each literal, `{name}`, or a final `{name+}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoutePath(String);

impl RoutePath {
    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `$default` route of an HTTP or WebSocket API.
    pub fn is_default(&self) -> bool {
        self.0 == "$default"
    }

    /// A route key rather than a resource path: `$default`, a WebSocket API's `$connect` and
    /// `$disconnect`, or a WebSocket API's own key (`sendmessage`).
    pub fn is_route_key(&self) -> bool {
        !self.0.starts_with('/')
    }
}

impl TryFrom<String> for RoutePath {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        // An HTTP API's catch-all route, and a WebSocket API's route keys.
        if matches!(s.as_str(), "$default" | "$connect" | "$disconnect") {
            return Ok(RoutePath(s));
        }
        if !s.starts_with('/') {
            // A WebSocket API's route key (what its route selection expression yields).
            let key = (1..=128).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
            if key {
                return Ok(RoutePath(s));
            }
            return Err(format!(
                "`{s}` is not a resource path (it must start with `/`) nor a WebSocket route key (letters, digits, `_-.:`)"
            ));
        }
        let segments: Vec<&str> = s[1..].split('/').collect();
        let last = segments.len() - 1;
        for (i, seg) in segments.iter().enumerate() {
            if seg.is_empty() && s != "/" {
                return Err(format!("`{s}` has an empty path segment"));
            }
            if let Some(inner) = seg.strip_prefix('{') {
                let Some(inner) = inner.strip_suffix('}') else {
                    return Err(format!(
                        "`{s}`: segment `{seg}` opens `{{` without closing it"
                    ));
                };
                let (name, greedy) = match inner.strip_suffix('+') {
                    Some(n) => (n, true),
                    None => (inner, false),
                };
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(format!("`{s}`: `{seg}` is not a path parameter"));
                }
                if greedy && i != last {
                    return Err(format!(
                        "`{s}`: the greedy parameter `{seg}` must be the last segment"
                    ));
                }
            } else if seg.contains(['{', '}']) {
                return Err(format!("`{s}`: segment `{seg}` mixes text and a parameter"));
            }
        }
        Ok(RoutePath(s))
    }
}

impl From<RoutePath> for String {
    fn from(p: RoutePath) -> String {
        p.0
    }
}

/// A MOCK body: text held once and shared, not copied, by every response that sends it (a
/// gateway answering many streams of one connection sends one buffer, counted).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MockBody(bytes::Bytes);

impl MockBody {
    /// The body as text.
    pub fn as_str(&self) -> &str {
        // Made from a String only: always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The shared bytes (a clone is a reference count, not a copy).
    pub fn bytes(&self) -> bytes::Bytes {
        self.0.clone()
    }
}

impl From<String> for MockBody {
    fn from(s: String) -> Self {
        MockBody(bytes::Bytes::from(s))
    }
}

impl From<&str> for MockBody {
    fn from(s: &str) -> Self {
        MockBody(bytes::Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl std::ops::Deref for MockBody {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for MockBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for MockBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a route calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawIntegration", into = "RawIntegration")]
pub enum Integration {
    /// A fixed response, as API Gateway's MOCK integration with a mapping template.
    Mock {
        /// The status code of the response.
        status: u16,
        /// The body of the response.
        body: MockBody,
        /// Response headers.
        headers: BTreeMap<String, String>,
    },
    /// Pass the request through to `uri` (`{proxy}` and `{name}` substituted).
    HttpProxy {
        /// The upstream URL, with `{name}` placeholders.
        uri: String,
        /// Milliseconds before the gateway gives up: 50 to 29000, default 29000 (as AWS).
        timeout_ms: u32,
        /// CA bundle that signs the upstream's certificate (a PEM path, or `lab:NAME`).
        /// Without it the upstream must present a certificate from the gateway's trust store.
        ca: Option<String>,
        /// The certificate the gateway presents to the upstream (`lab:NAME` or a PEM path
        /// holding the certificate chain and the key).
        client_certificate: Option<String>,
    },
}

impl Integration {
    /// An HTTP_PROXY integration, checked as the YAML form is (an importer's way in).
    pub fn http_proxy(uri: String, timeout_ms: Option<u32>) -> Result<Integration, String> {
        Integration::try_from(RawIntegration {
            kind: "HTTP_PROXY".to_owned(),
            uri: Some(uri),
            status: None,
            body: None,
            headers: BTreeMap::new(),
            timeout_ms,
            ca: None,
            client_certificate: None,
        })
    }
}

/// API Gateway's integration timeout: at most 29 s, and the default.
pub const MAX_INTEGRATION_TIMEOUT_MS: u32 = 29_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntegration {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeout_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ca: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_certificate: Option<String>,
}

impl TryFrom<RawIntegration> for Integration {
    type Error = String;
    fn try_from(raw: RawIntegration) -> Result<Self, String> {
        match raw.kind.as_str() {
            "MOCK" => {
                if raw.uri.is_some()
                    || raw.timeout_ms.is_some()
                    || raw.ca.is_some()
                    || raw.client_certificate.is_some()
                {
                    return Err("a MOCK integration takes status, body and headers only".to_owned());
                }
                let status = raw.status.unwrap_or(200);
                if !(100..=599).contains(&status) {
                    return Err(format!("status: {status} is not an HTTP status"));
                }
                Ok(Integration::Mock {
                    status,
                    body: raw.body.unwrap_or_default().into(),
                    headers: raw.headers,
                })
            }
            "HTTP_PROXY" => {
                let uri = raw
                    .uri
                    .ok_or("uri: an HTTP_PROXY integration needs a uri")?;
                if !(uri.starts_with("https://") || uri.starts_with("http://")) {
                    return Err(format!("uri: `{uri}` is not an http:// or https:// URL"));
                }
                if raw.status.is_some() || raw.body.is_some() || !raw.headers.is_empty() {
                    return Err(
                        "an HTTP_PROXY integration takes only uri; status, body and headers come from the upstream"
                            .to_owned(),
                    );
                }
                let timeout_ms = raw.timeout_ms.unwrap_or(MAX_INTEGRATION_TIMEOUT_MS);
                if !(50..=MAX_INTEGRATION_TIMEOUT_MS).contains(&timeout_ms) {
                    return Err(format!(
                        "timeout_ms: {timeout_ms} is outside 50..=29000 (API Gateway's limits)"
                    ));
                }
                Ok(Integration::HttpProxy {
                    uri,
                    timeout_ms,
                    ca: raw.ca,
                    client_certificate: raw.client_certificate,
                })
            }
            other => Err(format!(
                "type: unknown integration type `{other}`, expected MOCK or HTTP_PROXY"
            )),
        }
    }
}

impl From<Integration> for RawIntegration {
    fn from(i: Integration) -> RawIntegration {
        match i {
            Integration::Mock {
                status,
                body,
                headers,
            } => RawIntegration {
                kind: "MOCK".to_owned(),
                uri: None,
                status: Some(status),
                body: Some(body.to_string()),
                headers,
                timeout_ms: None,
                ca: None,
                client_certificate: None,
            },
            Integration::HttpProxy {
                uri,
                timeout_ms,
                ca,
                client_certificate,
            } => RawIntegration {
                kind: "HTTP_PROXY".to_owned(),
                uri: Some(uri),
                status: None,
                body: None,
                headers: BTreeMap::new(),
                timeout_ms: Some(timeout_ms),
                ca,
                client_certificate,
            },
        }
    }
}
