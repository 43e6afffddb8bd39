//! API Gateway's OpenAPI 3 and Swagger 2.0 definitions (what `get-export` writes, JSON or
//! YAML) turned into an API of the topology: its routes, resource policy and endpoint
//! configuration. `parallax gateway --openapi FILE` and a scenario's `apis[].openapi: FILE` both
//! come here.
//!
//! Read: `paths` with their operations (and `x-amazon-apigateway-any-method`), each
//! operation's `x-amazon-apigateway-integration` (`http_proxy`; `http` as a pass-through;
//! `mock` with its request template's `statusCode`, the integration response chosen by its
//! selection pattern, and that response's static headers and template), `api_key` security
//! (a scheme of `type: apiKey, name: x-api-key, in: header`, at the top or per operation) as
//! `api_key_required`, `x-amazon-apigateway-api-key-source`, `x-amazon-apigateway-policy`,
//! `x-amazon-apigateway-endpoint-configuration` (`vpcEndpointIds`,
//! `disableExecuteApiEndpoint`), `x-amazon-apigateway-security-policy` and
//! `x-amazon-apigateway-endpoint-access-mode`, and the API id, region and stage of an export's `host` and
//! `basePath` (Swagger 2.0) or `servers` URL (OpenAPI 3).
//!
//! What parallax does not emulate is never dropped silently: it is a [`Notice`] with the line
//! it is on, and the route says what it does instead (a Lambda or AWS-service integration
//! answers 501; an authorizer is not applied; a mapping template is not evaluated). What cannot
//! be read at all (not a definition, a path API Gateway would refuse, an `http_proxy` without a
//! `uri`) is an error with its line.

use std::collections::BTreeMap;
use std::path::Path;

use crate::ids::{ApiId, Region, VpceId};
use crate::naming::ExecuteApiName;
use crate::pos::{At, Pos};
use crate::source::{Kind, Node};
use crate::topology::{Api, ApiProtocol, EndpointType, Integration, Method, Route, RoutePath};
use crate::{LoadError, Problem};

pub use crate::notice::Notice;

/// What one definition says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Definition {
    /// `info.title`.
    pub title: Option<String>,
    /// From an export's host (`{api}.execute-api.{region}.amazonaws.com`).
    pub api_id: Option<ApiId>,
    /// The Region an export's servers or host name give, when one does.
    pub region: Option<Region>,
    /// From an export's `basePath` or `servers` URL.
    pub stage: Option<String>,
    /// `PRIVATE` when the definition lists VPC endpoints (only private APIs have them); else
    /// not said (API Gateway's import takes EDGE unless told otherwise).
    pub endpoint_type: Option<EndpointType>,
    /// The VPC endpoints of `x-amazon-apigateway-endpoint-configuration`.
    pub vpc_endpoints: Vec<At<VpceId>>,
    /// `disableExecuteApiEndpoint`, when the definition sets it.
    pub disable_execute_api_endpoint: Option<bool>,
    /// `x-amazon-apigateway-policy`, at its line.
    pub policy: Option<At<serde_json::Value>>,
    /// `x-amazon-apigateway-security-policy`, at its line.
    pub security_policy: Option<At<crate::topology::SecurityPolicy>>,
    /// `x-amazon-apigateway-endpoint-access-mode`, at its line.
    pub endpoint_access_mode: Option<At<crate::topology::EndpointAccessMode>>,
    /// Every operation with an integration, as a route.
    pub routes: Vec<Route>,
    /// What was read but is not emulated.
    pub notices: Vec<Notice>,
}

impl Definition {
    /// The API this definition stands for on its own (`parallax gateway --openapi FILE`): the
    /// id, region and stage an export names, else an id made from `file`'s name and the stage
    /// `prod`; PRIVATE when it lists VPC endpoints, else `endpoint_type`.
    pub fn into_api(self, file: &str, endpoint_type: EndpointType) -> Api {
        let stem = Path::new(file)
            .file_stem()
            .map_or_else(|| file.to_owned(), |s| s.to_string_lossy().into_owned());
        let id = self.api_id.clone().unwrap_or_else(|| made_id(&stem));
        Api {
            id: At::bare(id),
            name: self.title.clone().unwrap_or(stem),
            protocol: ApiProtocol::Rest,
            endpoint_type: At::bare(self.endpoint_type.unwrap_or(endpoint_type)),
            stages: vec![At::bare(
                self.stage.clone().unwrap_or_else(|| "prod".to_owned()),
            )],
            routes: self.routes,
            openapi: None,
            policy: self.policy,
            vpc_endpoints: self.vpc_endpoints,
            disable_execute_api_endpoint: self.disable_execute_api_endpoint.unwrap_or(false),
            route_selection_expression: None,
            security_policy: self.security_policy,
            endpoint_access_mode: self.endpoint_access_mode,
            authorizers: Vec::new(),
            account: None,
        }
    }
}

/// A 10-character API id (lowercase letters and digits) made from a name, the same every time.
fn made_id(name: &str) -> ApiId {
    // FNV-1a, then base 36.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let id: String = (0..10)
        .map(|_| {
            let d = digits[(h % 36) as usize];
            h /= 36;
            if h == 0 {
                h = 0x9e37_79b9_7f4a_7c15;
            }
            char::from(d)
        })
        .collect();
    id.parse()
        .unwrap_or_else(|_| unreachable!("ten base-36 digits are an API id"))
}

/// The status and body of an integration parallax does not emulate.
pub const NOT_EMULATED_STATUS: u16 = 501;

/// HTTP methods of a path item; `trace` is not one API Gateway has.
const OPERATIONS: [(&str, Option<Method>); 9] = [
    ("get", Some(Method::Get)),
    ("put", Some(Method::Put)),
    ("post", Some(Method::Post)),
    ("delete", Some(Method::Delete)),
    ("options", Some(Method::Options)),
    ("head", Some(Method::Head)),
    ("patch", Some(Method::Patch)),
    ("x-amazon-apigateway-any-method", Some(Method::Any)),
    ("trace", None),
];

/// Top-level extensions that change nothing parallax models (documentation, SDK names).
const HARMLESS: [&str; 3] = [
    "x-amazon-apigateway-documentation",
    "x-amazon-apigateway-importexport-version",
    "x-amazon-apigateway-tag-value",
];

/// Reads the definition at `path`.
pub fn read_file(path: &Path) -> Result<Definition, LoadError> {
    let text = crate::input::read_config(path).map_err(|error| LoadError::Read {
        path: path.to_owned(),
        error,
    })?;
    read(&text, &path.display().to_string())
}

/// Reads a definition from text; `file` names it in errors and notices.
pub fn read(text: &str, file: &str) -> Result<Definition, LoadError> {
    let invalid = |line: u32, field: &str, message: String| LoadError::Invalid {
        origin: file.to_owned(),
        problems: vec![Problem::new(Pos::new(line, 1), field, message)],
    };
    let root = crate::source::parse(text, file).map_err(|e| invalid(e.line, "", e.message))?;
    let mut r = Reader {
        file,
        lines: text.lines().collect(),
        notices: Vec::new(),
        problems: Vec::new(),
    };
    let def = r.definition(&root);
    if r.problems.is_empty() {
        Ok(Definition {
            notices: r.notices,
            ..def
        })
    } else {
        Err(LoadError::Invalid {
            origin: file.to_owned(),
            problems: r.problems,
        })
    }
}

struct Reader<'a> {
    file: &'a str,
    lines: Vec<&'a str>,
    notices: Vec<Notice>,
    problems: Vec<Problem>,
}

/// An operation's security, as far as parallax is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Scheme {
    ApiKey,
    /// `x-amazon-apigateway-authtype: awsSigv4`: IAM authorization.
    AwsIam,
    /// Any other: a Lambda or Cognito authorizer, OAuth.
    NotEmulated {
        kind: &'static str,
    },
}

impl Reader<'_> {
    /// The line of `key` whose value starts at `value_line`: in YAML's block style the value
    /// starts a line or more below its key.
    fn key_line(&self, key: &str, value_line: u32) -> u32 {
        let quoted = [key.to_owned(), format!("\"{key}\""), format!("'{key}'")];
        (value_line.saturating_sub(3).max(1)..=value_line)
            .rev()
            .find(|l| {
                let t = self
                    .lines
                    .get(*l as usize - 1)
                    .map_or("", |t| t.trim_start().trim_start_matches("- "));
                quoted.iter().any(|q| {
                    t.strip_prefix(q.as_str())
                        .is_some_and(|r| r.trim_start().starts_with(':'))
                })
            })
            .unwrap_or(value_line)
    }

    fn notice(&mut self, line: u32, message: impl Into<String>) {
        self.notices.push(Notice {
            file: self.file.to_owned(),
            line,
            message: message.into(),
        });
    }

    fn problem(&mut self, line: u32, field: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::new(Pos::new(line, 1), field, message));
    }

    fn definition(&mut self, root: &Node) -> Definition {
        let mut d = Definition::default();
        let version = match (root.get("openapi"), root.get("swagger")) {
            (Some(v), _) => text(v).filter(|v| v.starts_with("3.")).map(|_| 3),
            (None, Some(v)) => text(v).filter(|v| v == "2.0").map(|_| 2),
            (None, None) => None,
        };
        let Some(version) = version else {
            self.problem(
                root.line.max(1),
                "",
                "not an OpenAPI 3 or Swagger 2.0 definition: `openapi: 3.x` or `swagger: \"2.0\"` is missing",
            );
            return d;
        };
        let Some(paths) = root.get("paths").filter(|p| matches!(p.kind, Kind::Map(_))) else {
            self.problem(
                root.line.max(1),
                "paths",
                "the definition has no `paths` mapping",
            );
            return d;
        };
        d.title = root.get("info").and_then(|i| i.get("title")).and_then(text);
        self.whereabouts(root, version, &mut d);
        self.endpoint_configuration(root, &mut d);
        if let Some(p) = root.get("x-amazon-apigateway-policy") {
            d.policy = Some(At::new(crate::source::to_json(p), Pos::new(p.line, 1)));
        }
        self.root_extensions(root);
        self.security(root, &mut d);
        let schemes = self.schemes(root, version);
        let default_security = root.get("security");
        self.paths(paths, &schemes, default_security, &mut d);
        d
    }

    /// The definition's own `x-amazon-apigateway-*` keys: the API key source, and a notice for
    /// each one that is not emulated.
    fn root_extensions(&mut self, root: &Node) {
        if let Some(source) = root.get("x-amazon-apigateway-api-key-source") {
            match text(source).as_deref() {
                Some("HEADER") => {}
                Some("AUTHORIZER") => self.notice(
                    source.line,
                    "x-amazon-apigateway-api-key-source AUTHORIZER: the key a Lambda authorizer returns is not emulated; parallax reads the key from the x-api-key header",
                ),
                _ => self.problem(
                    source.line,
                    "x-amazon-apigateway-api-key-source",
                    "expected HEADER or AUTHORIZER",
                ),
            }
        }
        for (key, v) in root.entries() {
            if key == "x-amazon-apigateway-gateway-responses" {
                self.notice(
                    v.line,
                    "x-amazon-apigateway-gateway-responses: customised gateway responses are not applied; parallax answers API Gateway's defaults",
                );
            } else if key.starts_with("x-amazon-apigateway-")
                && !HARMLESS.contains(&key.as_str())
                && ![
                    "x-amazon-apigateway-policy",
                    "x-amazon-apigateway-api-key-source",
                    "x-amazon-apigateway-endpoint-configuration",
                    "x-amazon-apigateway-security-policy",
                    "x-amazon-apigateway-endpoint-access-mode",
                ]
                .contains(&key.as_str())
            {
                self.notice(v.line, format!("{key} is not emulated"));
            }
        }
    }

    /// `x-amazon-apigateway-security-policy` and `x-amazon-apigateway-endpoint-access-mode`
    /// ("Security policies for REST APIs"): a name API Gateway does not know is an error.
    fn security(&mut self, root: &Node, d: &mut Definition) {
        use crate::topology::{EndpointAccessMode, SecurityPolicy};
        let key = "x-amazon-apigateway-security-policy";
        if let Some(v) = root.get(key) {
            match text(v).as_deref().and_then(SecurityPolicy::parse) {
                Some(p) => d.security_policy = Some(At::new(p, Pos::new(v.line, 1))),
                None => self.problem(
                    v.line,
                    key,
                    format!(
                        "not a security policy API Gateway offers (one of {})",
                        SecurityPolicy::ALL.map(SecurityPolicy::as_str).join(", ")
                    ),
                ),
            }
        }
        let key = "x-amazon-apigateway-endpoint-access-mode";
        if let Some(v) = root.get(key) {
            let mode = match text(v).as_deref() {
                Some("STRICT") => Some(EndpointAccessMode::Strict),
                Some("BASIC") => Some(EndpointAccessMode::Basic),
                _ => None,
            };
            match mode {
                Some(m) => d.endpoint_access_mode = Some(At::new(m, Pos::new(v.line, 1))),
                None => self.problem(v.line, key, "expected STRICT or BASIC"),
            }
        }
    }

    /// Every path's operations, as routes; a security scheme that is not emulated is noticed
    /// once, with the number of operations using it.
    fn paths(
        &mut self,
        paths: &Node,
        schemes: &BTreeMap<String, Scheme>,
        default_security: Option<&Node>,
        d: &mut Definition,
    ) {
        // A scheme parallax does not emulate: the operations using it, and the first's line.
        let mut unapplied: BTreeMap<String, (&'static str, u32, usize)> = BTreeMap::new();
        for (path, item) in paths.entries() {
            let path_line = self.key_line(path, item.line);
            let route_path = match RoutePath::try_from(path.clone()) {
                Ok(p) if !p.is_route_key() => p,
                Ok(_) => {
                    self.problem(
                        path_line,
                        "paths",
                        format!("`{path}` is not a resource path"),
                    );
                    continue;
                }
                Err(why) => {
                    self.problem(path_line, "paths", why);
                    continue;
                }
            };
            for (key, op) in item.entries() {
                let op_line = self.key_line(key, op.line);
                let Some((_, method)) = OPERATIONS.iter().find(|(k, _)| k == key) else {
                    if key == "$ref" {
                        self.notice(
                            op_line,
                            format!(
                                "{path}: `$ref` path items are not followed; the path has no routes"
                            ),
                        );
                    }
                    continue;
                };
                let Some(method) = *method else {
                    self.notice(
                        op_line,
                        format!("TRACE {path}: API Gateway has no TRACE method; not imported"),
                    );
                    continue;
                };
                let shown = format!(
                    "{} {path}",
                    key.trim_start_matches("x-amazon-apigateway-")
                        .replace("any-method", "ANY")
                        .to_uppercase()
                );
                let security = op.get("security").or(default_security);
                let mut api_key_required = false;
                let mut authorization = crate::topology::Authorization::None;
                for name in requirement_names(security) {
                    match schemes.get(&name) {
                        Some(Scheme::ApiKey) => api_key_required = true,
                        Some(Scheme::AwsIam) => {
                            authorization = crate::topology::Authorization::AwsIam;
                        }
                        Some(Scheme::NotEmulated { kind }) => {
                            let e = unapplied.entry(name).or_insert((kind, op_line, 0));
                            e.2 += 1;
                        }
                        None => self.problem(
                            security.map_or(op_line, |s| s.line),
                            "security",
                            format!("{shown}: no security scheme named `{name}`"),
                        ),
                    }
                }
                // x-amazon-apigateway-auth: `{ type: AWS_IAM }` (case-insensitive) or NONE.
                if let Some(auth) = op.get("x-amazon-apigateway-auth") {
                    match auth
                        .get("type")
                        .and_then(text)
                        .map(|t| t.to_ascii_uppercase())
                    {
                        Some(t) if t == "AWS_IAM" => {
                            authorization = crate::topology::Authorization::AwsIam;
                        }
                        Some(t) if t == "NONE" => {}
                        _ => self.problem(
                            auth.line,
                            "x-amazon-apigateway-auth",
                            format!("{shown}: `type` must be NONE or AWS_IAM"),
                        ),
                    }
                }
                let Some(integration) = self.integration(op, op_line, &shown, &route_path) else {
                    continue;
                };
                d.routes.push(Route {
                    method: At::new(method, Pos::new(op_line, 1)),
                    path: At::new(route_path.clone(), Pos::new(path_line, 1)),
                    api_key_required,
                    authorization,
                    authorizer: None,
                    integration: At::new(integration, Pos::new(op_line, 1)),
                });
            }
        }
        for (name, (kind, line, n)) in unapplied {
            self.notice(
                line,
                format!("security scheme `{name}` ({kind}) is not emulated: the {n} operation(s) using it are served without it"),
            );
        }
    }

    /// The API id, region and stage an export names.
    fn whereabouts(&mut self, root: &Node, version: u8, d: &mut Definition) {
        let (host, base) = if version == 2 {
            (
                root.get("host").and_then(text),
                root.get("basePath").and_then(text),
            )
        } else {
            let Some(server) = root.get("servers").and_then(|s| match &s.kind {
                Kind::Seq(list) => list.first(),
                Kind::Map(_) => Some(s),
                _ => None,
            }) else {
                return;
            };
            let Some(mut url) = server.get("url").and_then(text) else {
                return;
            };
            // `{basePath}` and any other variable take their default.
            for (name, v) in server.get("variables").map_or(&[][..], Node::entries) {
                if let Some(default) = v.get("default").and_then(text) {
                    url = url.replace(&format!("{{{name}}}"), &default);
                }
            }
            let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            (Some(host.to_owned()), Some(format!("/{path}")))
        };
        if let Some(ExecuteApiName::Default { api, region }) =
            host.as_deref().and_then(ExecuteApiName::parse)
        {
            d.api_id = Some(api);
            d.region = Some(region);
        }
        d.stage = base
            .as_deref()
            .map(|b| b.trim_matches('/'))
            .filter(|b| !b.is_empty() && !b.contains('/'))
            .map(str::to_owned);
    }

    fn endpoint_configuration(&mut self, root: &Node, d: &mut Definition) {
        // Swagger 2.0: at the top level. OpenAPI 3: on each server (a mapping where the list
        // belongs is read as a list of one).
        let mut confs: Vec<&Node> = root
            .get("x-amazon-apigateway-endpoint-configuration")
            .into_iter()
            .collect();
        match root.get("servers").map(|s| &s.kind) {
            Some(Kind::Seq(list)) => confs.extend(
                list.iter()
                    .filter_map(|s| s.get("x-amazon-apigateway-endpoint-configuration")),
            ),
            Some(Kind::Map(_)) => confs.extend(
                root.get("servers")
                    .and_then(|s| s.get("x-amazon-apigateway-endpoint-configuration")),
            ),
            _ => {}
        }
        for c in confs {
            for (key, v) in c.entries() {
                match key.as_str() {
                    "vpcEndpointIds" => {
                        let Kind::Seq(ids) = &v.kind else {
                            self.problem(
                                v.line,
                                "vpcEndpointIds",
                                "expected a list of VPC endpoint ids",
                            );
                            continue;
                        };
                        for id in ids {
                            match text(id).map(|s| s.parse::<VpceId>()) {
                                Some(Ok(vpce)) => {
                                    d.vpc_endpoints.push(At::new(vpce, Pos::new(id.line, 1)));
                                }
                                Some(Err(e)) => {
                                    self.problem(id.line, "vpcEndpointIds", e.to_string())
                                }
                                None => self.problem(
                                    id.line,
                                    "vpcEndpointIds",
                                    "expected a VPC endpoint id",
                                ),
                            }
                        }
                        if !d.vpc_endpoints.is_empty() {
                            d.endpoint_type = Some(EndpointType::Private);
                        }
                    }
                    "disableExecuteApiEndpoint" => match &v.kind {
                        Kind::Bool(b) => d.disable_execute_api_endpoint = Some(*b),
                        _ => self.problem(
                            v.line,
                            "disableExecuteApiEndpoint",
                            "expected true or false",
                        ),
                    },
                    other => self.notice(
                        v.line,
                        format!(
                            "x-amazon-apigateway-endpoint-configuration: `{other}` is not read"
                        ),
                    ),
                }
            }
        }
    }

    /// Security schemes by name: API keys, and the kinds parallax does not emulate.
    fn schemes(&mut self, root: &Node, version: u8) -> BTreeMap<String, Scheme> {
        let defs = if version == 2 {
            root.get("securityDefinitions")
        } else {
            root.get("components")
                .and_then(|c| c.get("securitySchemes"))
        };
        let mut out = BTreeMap::new();
        for (name, s) in defs.map_or(&[][..], Node::entries) {
            let field = |k: &str| s.get(k).and_then(text);
            let scheme = if s.get("x-amazon-apigateway-authorizer").is_some() {
                let kind = match field("x-amazon-apigateway-authtype").as_deref() {
                    Some("cognito_user_pools") => "a Cognito user pool authorizer",
                    _ => "a Lambda authorizer",
                };
                Scheme::NotEmulated { kind }
            } else if field("x-amazon-apigateway-authtype").as_deref() == Some("awsSigv4") {
                Scheme::AwsIam
            } else if field("type").as_deref() == Some("apiKey")
                && field("in").as_deref() == Some("header")
                && field("name").is_some_and(|n| n.eq_ignore_ascii_case("x-api-key"))
            {
                Scheme::ApiKey
            } else {
                Scheme::NotEmulated {
                    kind: "an authorization scheme API Gateway applies",
                }
            };
            out.insert(name.clone(), scheme);
        }
        out
    }

    /// The operation's integration, or `None` (with a notice) when the method has none.
    fn integration(
        &mut self,
        op: &Node,
        op_line: u32,
        shown: &str,
        path: &RoutePath,
    ) -> Option<Integration> {
        let Some(i) = op.get("x-amazon-apigateway-integration") else {
            self.notice(
                op_line,
                format!("{shown}: no x-amazon-apigateway-integration; API Gateway cannot deploy a method without one, so it is not imported"),
            );
            return None;
        };
        let kind = i
            .get("type")
            .and_then(text)
            .map(|t| t.to_ascii_lowercase())
            .unwrap_or_default();
        match kind.as_str() {
            "http_proxy" | "http" => self.http_integration(i, &kind, shown, path),
            "mock" => Some(self.mock(i, shown)),
            "aws_proxy" | "aws" => {
                let what = if kind == "aws_proxy" {
                    "Lambda proxy (AWS_PROXY)"
                } else {
                    "AWS service or Lambda (AWS)"
                };
                self.notice(
                    i.line,
                    format!("{shown}: {what} integrations are not emulated; the route answers {NOT_EMULATED_STATUS}"),
                );
                Some(not_emulated(if kind == "aws_proxy" {
                    "AWS_PROXY"
                } else {
                    "AWS"
                }))
            }
            _ => {
                self.problem(
                    i.get("type").map_or(i.line, |t| t.line),
                    "type",
                    format!("{shown}: integration type `{kind}` is not one of http_proxy, http, mock, aws_proxy, aws"),
                );
                None
            }
        }
    }

    /// An HTTP_PROXY (or HTTP, passed through as one) integration: its uri with the path
    /// parameters mapped, and its timeout.
    fn http_integration(
        &mut self,
        i: &Node,
        kind: &str,
        shown: &str,
        path: &RoutePath,
    ) -> Option<Integration> {
        let Some(uri_node) = i.get("uri") else {
            self.problem(
                i.line,
                "uri",
                format!("{shown}: an {kind} integration needs a uri"),
            );
            return None;
        };
        let Some(mut uri) = text(uri_node) else {
            self.problem(
                uri_node.line,
                "uri",
                format!("{shown}: the uri is not a string"),
            );
            return None;
        };
        if uri.contains("${stageVariables.") {
            self.notice(
                uri_node.line,
                format!("{shown}: stage variables in the uri are not emulated; the route answers {NOT_EMULATED_STATUS}"),
            );
            return Some(not_emulated("stage-variable"));
        }
        for (to, from) in i.get("requestParameters").map_or(&[][..], Node::entries) {
            let source = text(from).unwrap_or_default();
            match (
                to.strip_prefix("integration.request.path."),
                source.strip_prefix("method.request.path."),
            ) {
                (Some(x), Some(y)) => {
                    uri = uri.replace(&format!("{{{x}}}"), &format!("{{{y}}}"));
                }
                _ => self.notice(
                    from.line,
                    format!(
                        "{shown}: the request parameter mapping `{to}: {source}` is not applied"
                    ),
                ),
            }
        }
        self.undeclared_placeholders(&uri, uri_node.line, shown, path);
        if kind == "http"
            && (i.get("requestTemplates").is_some()
                || i.get("responses").is_some_and(|r| {
                    r.entries().iter().any(|(_, v)| {
                        v.get("responseTemplates").is_some()
                            || v.get("responseParameters").is_some()
                    })
                }))
        {
            self.notice(
                i.line,
                format!("{shown}: the http integration's mapping templates and response mappings are not applied; the request and response pass through as with http_proxy"),
            );
        }
        let timeout = match i.get("timeoutInMillis") {
            None => None,
            Some(t) => match &t.kind {
                Kind::Int(n) => u32::try_from(*n).ok().or(Some(0)),
                _ => {
                    self.problem(
                        t.line,
                        "timeoutInMillis",
                        format!("{shown}: expected a number of milliseconds"),
                    );
                    return None;
                }
            },
        };
        match Integration::http_proxy(uri, timeout) {
            Ok(integration) => Some(integration),
            Err(why) => {
                self.problem(
                    i.line,
                    "x-amazon-apigateway-integration",
                    format!("{shown}: {why}"),
                );
                None
            }
        }
    }

    /// A `{name}` in an integration uri that is no path parameter of the method is sent as
    /// written: noticed.
    fn undeclared_placeholders(&mut self, uri: &str, line: u32, shown: &str, path: &RoutePath) {
        let declared: Vec<&str> = path
            .as_str()
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|s| s.trim_end_matches('+'))
            .collect();
        for name in placeholders(uri) {
            if !declared.contains(&name.as_str()) {
                self.notice(
                    line,
                    format!("{shown}: `{{{name}}}` in the uri is no path parameter of the method; it is sent as written"),
                );
            }
        }
    }

    /// A MOCK: the request template's `statusCode` picks the integration response (by its
    /// selection pattern, else `default`), whose status, static headers and template answer.
    fn mock(&mut self, i: &Node, shown: &str) -> Integration {
        let mut code: u16 = 200;
        if let Some(t) = template(i.get("requestTemplates")) {
            let parsed =
                text(t).and_then(|s| serde_json::from_str::<serde_json::Value>(s.trim()).ok());
            match parsed.as_ref().and_then(|v| v.get("statusCode")).and_then(serde_json::Value::as_u64) {
                Some(n) if (100..=599).contains(&n) => code = u16::try_from(n).unwrap_or(200),
                _ => self.notice(
                    t.line,
                    format!("{shown}: the mock's request template is not a plain {{\"statusCode\": N}}; VTL is not evaluated, so 200 is taken"),
                ),
            }
        }
        let code_text = code.to_string();
        let responses = i.get("responses").map_or(&[][..], Node::entries);
        let mut chosen = None;
        for (pattern, r) in responses.iter().filter(|(p, _)| p != "default") {
            match selection_matches(pattern, &code_text) {
                Some(true) => {
                    chosen = Some(r);
                    break;
                }
                Some(false) => {}
                None => self.notice(
                    r.line,
                    format!("{shown}: selection pattern `{pattern}` is beyond what parallax reads (digits, \\d, ., [..], {{n}}, *, +, ?, |); it never matches"),
                ),
            }
        }
        let chosen = chosen.or_else(|| {
            responses
                .iter()
                .find(|(p, _)| p == "default")
                .map(|(_, r)| r)
        });
        let Some(r) = chosen else {
            // API Gateway: no integration response for the status is a configuration error.
            return Integration::Mock {
                status: 500,
                body: r#"{"message": "Internal server error"}"#.into(),
                headers: BTreeMap::new(),
            };
        };
        let status = match r.get("statusCode").map(|s| (&s.kind, s.line)) {
            Some((Kind::Int(n), _)) => u16::try_from(*n).ok(),
            Some((Kind::Str(s), _)) => s.parse().ok(),
            None => Some(200),
            _ => None,
        }
        .filter(|s| (100..=599).contains(s))
        .unwrap_or_else(|| {
            self.notice(
                r.line,
                format!("{shown}: the response's statusCode is not an HTTP status; 200 is taken"),
            );
            200
        });
        let headers = self.mock_headers(r, shown);
        let body = self.mock_body(r, shown);
        Integration::Mock {
            status,
            body: body.into(),
            headers,
        }
    }

    /// A MOCK response's static headers (`'value'`); others are noticed and not applied.
    fn mock_headers(&mut self, r: &Node, shown: &str) -> BTreeMap<String, String> {
        let mut headers = BTreeMap::new();
        for (to, from) in r.get("responseParameters").map_or(&[][..], Node::entries) {
            let value = text(from).unwrap_or_default();
            match (
                to.strip_prefix("method.response.header."),
                value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')),
            ) {
                (Some(name), Some(v)) => {
                    headers.insert(name.to_owned(), v.to_owned());
                }
                _ => self.notice(
                    from.line,
                    format!(
                        "{shown}: the response parameter `{to}: {value}` is not static; not applied"
                    ),
                ),
            }
        }
        headers
    }

    /// A MOCK response's template, sent as written (VTL is noticed, not evaluated).
    fn mock_body(&mut self, r: &Node, shown: &str) -> String {
        match template(r.get("responseTemplates")) {
            None => String::new(),
            Some(t) => {
                let body = text(t).unwrap_or_default();
                if [
                    "$input",
                    "$context",
                    "$util",
                    "$stageVariables",
                    "#set",
                    "#if",
                    "#foreach",
                ]
                .iter()
                .any(|m| body.contains(m))
                {
                    self.notice(
                        t.line,
                        format!("{shown}: the response template uses VTL, which is not evaluated; it is sent as written"),
                    );
                }
                body
            }
        }
    }
}

/// What a route whose integration parallax does not emulate answers.
fn not_emulated(what: &str) -> Integration {
    Integration::Mock {
        status: NOT_EMULATED_STATUS,
        body: format!(r#"{{"message":"{what} integrations are not emulated by parallax"}}"#).into(),
        headers: BTreeMap::new(),
    }
}

/// The `application/json` template of a template map, else its first.
fn template(map: Option<&Node>) -> Option<&Node> {
    let entries = map?.entries();
    entries
        .iter()
        .find(|(k, _)| k == "application/json")
        .or_else(|| entries.first())
        .map(|(_, v)| v)
}

/// The names of `{name}` placeholders in a URI.
fn placeholders(uri: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = uri;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push(
            rest[open + 1..open + close]
                .trim_end_matches('+')
                .to_owned(),
        );
        rest = &rest[open + close + 1..];
    }
    out
}

/// A scalar as text (numbers and booleans too: YAML reads `2.0` as a number).
fn text(n: &Node) -> Option<String> {
    match &n.kind {
        Kind::Str(s) => Some(s.clone()),
        Kind::Int(i) => Some(i.to_string()),
        Kind::Float(f) => Some(format!("{f:?}")),
        Kind::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The scheme names a security requirement list names: `[{api_key: []}, {a: [], b: []}]`.
fn requirement_names(security: Option<&Node>) -> Vec<String> {
    let Some(Kind::Seq(reqs)) = security.map(|s| &s.kind) else {
        return Vec::new();
    };
    reqs.iter()
        .flat_map(|r| r.entries().iter().map(|(k, _)| k.clone()))
        .collect()
}

/// Whether a selection pattern (a Java regular expression matched against the whole status
/// code) matches `text`; `None` for a pattern beyond the subset read here: literals, `\d`, `.`,
/// classes `[...]` with ranges, the quantifiers `{n}`, `{n,m}`, `*`, `+`, `?`, and `|` at the top.
pub fn selection_matches(pattern: &str, text: &str) -> Option<bool> {
    let mut any = false;
    for alt in pattern.split('|') {
        let atoms = atoms(alt)?;
        any |= matches_from(&atoms, text.as_bytes());
    }
    Some(any)
}

#[derive(Debug)]
struct Atom {
    /// Which bytes it takes.
    set: Vec<(u8, u8)>,
    min: usize,
    max: usize,
}

fn atoms(p: &str) -> Option<Vec<Atom>> {
    let b = p.as_bytes();
    let mut i = 0;
    let mut out: Vec<Atom> = Vec::new();
    while i < b.len() {
        let set = match b[i] {
            b'\\' => {
                i += 1;
                match b.get(i)? {
                    b'd' => vec![(b'0', b'9')],
                    c if c.is_ascii_punctuation() => vec![(*c, *c)],
                    _ => return None,
                }
            }
            b'.' => vec![(0, 255)],
            b'[' => {
                let close = i + p[i..].find(']')?;
                let inner = &b[i + 1..close];
                if inner.first() == Some(&b'^') || inner.is_empty() {
                    return None;
                }
                let mut set = Vec::new();
                let mut j = 0;
                while j < inner.len() {
                    if j + 2 < inner.len() && inner[j + 1] == b'-' {
                        set.push((inner[j], inner[j + 2]));
                        j += 3;
                    } else if inner[j] == b'\\' && inner.get(j + 1) == Some(&b'd') {
                        set.push((b'0', b'9'));
                        j += 2;
                    } else {
                        set.push((inner[j], inner[j]));
                        j += 1;
                    }
                }
                i = close;
                set
            }
            b'*' | b'+' | b'?' | b'{' | b'(' | b')' | b'^' | b'$' => return None,
            c => vec![(c, c)],
        };
        i += 1;
        let (min, max) = match b.get(i) {
            Some(b'*') => (0, usize::MAX),
            Some(b'+') => (1, usize::MAX),
            Some(b'?') => (0, 1),
            Some(b'{') => {
                let close = i + p[i..].find('}')?;
                let inner = &p[i + 1..close];
                let (lo, hi) = match inner.split_once(',') {
                    Some((lo, "")) => (lo.parse().ok()?, usize::MAX),
                    Some((lo, hi)) => (lo.parse().ok()?, hi.parse().ok()?),
                    None => {
                        let n = inner.parse().ok()?;
                        (n, n)
                    }
                };
                i = close;
                (lo, hi)
            }
            _ => {
                i -= 1;
                (1, 1)
            }
        };
        i += 1;
        out.push(Atom { set, min, max });
    }
    Some(out)
}

fn matches_from(atoms: &[Atom], text: &[u8]) -> bool {
    let Some((a, rest)) = atoms.split_first() else {
        return text.is_empty();
    };
    let takes = |c: u8| a.set.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c));
    let mut n = 0;
    while n < a.max && n < text.len() && takes(text[n]) {
        n += 1;
    }
    // Longest first, as a greedy Java quantifier; backtrack down to the minimum.
    (a.min..=n).rev().any(|k| matches_from(rest, &text[k..]))
}

impl Api {
    /// Reads the `openapi:` file, if any, into this API (routes, and the policy and VPC
    /// endpoints when the topology does not give them), and clears the field. `base` is the
    /// directory of the file that names it; `field` this API's path in it (`apis[0]`). Every
    /// element taken carries the `openapi:` line, since its own line is in another file; what
    /// is not emulated goes to `notices`. Returns the problems found.
    pub fn take_openapi(
        &mut self,
        base: Option<&std::path::Path>,
        field: &str,
        notices: &mut Vec<Notice>,
    ) -> Vec<crate::Problem> {
        let Some(file) = self.openapi.take() else {
            return Vec::new();
        };
        let at = file.pos;
        let field = format!("{field}.openapi");
        let problem = |message: String| crate::Problem::new(at, field.clone(), message);
        let path = match base {
            Some(dir) => dir.join(&file.value),
            None => std::path::PathBuf::from(&file.value),
        };
        let def = match read_file(&path) {
            Ok(d) => d,
            Err(crate::LoadError::Read { path, error }) => {
                return vec![problem(format!("cannot read {}: {error}", path.display()))];
            }
            Err(e) => {
                return e
                    .problems()
                    .iter()
                    .map(|p| {
                        let field = if p.field.is_empty() {
                            String::new()
                        } else {
                            format!("{}: ", p.field)
                        };
                        problem(format!(
                            "{}:{}: {field}{}",
                            path.display(),
                            p.pos.line,
                            p.message
                        ))
                    })
                    .collect();
            }
        };
        let mut problems = Vec::new();
        if self.protocol != ApiProtocol::Rest {
            problems.push(problem(
                "only a REST API's routes are imported from OpenAPI".to_owned(),
            ));
        }
        if !self.routes.is_empty() {
            problems.push(problem(
                "routes and openapi are both given: the routes come from the definition".to_owned(),
            ));
        }
        if def.endpoint_type == Some(EndpointType::Private)
            && self.endpoint_type.value != EndpointType::Private
        {
            problems.push(problem(format!(
                "the definition lists VPC endpoints, which only a PRIVATE API has, but endpoint_type is {}",
                self.endpoint_type.value
            )));
        }
        if let Some(p) = def.policy {
            if self.policy.is_some() {
                problems.push(problem(
                    "policy is given here and in the definition (x-amazon-apigateway-policy)"
                        .to_owned(),
                ));
            } else {
                self.policy = Some(At::new(p.value, at));
            }
        }
        if let Some(p) = def.security_policy {
            match &self.security_policy {
                Some(mine) if mine.value != p.value => problems.push(problem(format!(
                    "security_policy is {} here and {} in the definition (x-amazon-apigateway-security-policy)",
                    mine.value, p.value
                ))),
                _ => self.security_policy = Some(At::new(p.value, at)),
            }
        }
        if let Some(m) = def.endpoint_access_mode {
            match &self.endpoint_access_mode {
                Some(mine) if mine.value != m.value => problems.push(problem(format!(
                    "endpoint_access_mode is {} here and {} in the definition (x-amazon-apigateway-endpoint-access-mode)",
                    mine.value, m.value
                ))),
                _ => self.endpoint_access_mode = Some(At::new(m.value, at)),
            }
        }
        if !def.vpc_endpoints.is_empty() {
            if self.vpc_endpoints.is_empty() {
                self.vpc_endpoints = def
                    .vpc_endpoints
                    .into_iter()
                    .map(|v| At::new(v.value, at))
                    .collect();
            } else {
                problems.push(problem(
                    "vpc_endpoints are given here and in the definition (vpcEndpointIds)"
                        .to_owned(),
                ));
            }
        }
        if def.disable_execute_api_endpoint == Some(true) {
            self.disable_execute_api_endpoint = true;
        }
        self.routes = def
            .routes
            .into_iter()
            .map(|r| Route {
                method: At::new(r.method.value, at),
                path: At::new(r.path.value, at),
                api_key_required: r.api_key_required,
                authorization: r.authorization,
                authorizer: None,
                integration: At::new(r.integration.value, at),
            })
            .collect();
        notices.extend(def.notices);
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x-amazon-apigateway-security-policy` and `x-amazon-apigateway-endpoint-access-mode`,
    /// as the OpenAPI extensions pages give them; a name API Gateway does not offer is an error
    /// at its line.
    /// "x-amazon-apigateway-auth object" and "x-amazon-apigateway-authtype" (awsSigv4): both
    /// make a method AWS_IAM.
    #[test]
    fn iam_authorization_in_definitions() {
        let text = "openapi: 3.0.1\ninfo: { title: t, version: '1' }\npaths:\n  /a:\n    get:\n      x-amazon-apigateway-auth: { type: aws_iam }\n      x-amazon-apigateway-integration: { type: mock, requestTemplates: { application/json: '{\"statusCode\": 200}' } }\n  /b:\n    get:\n      security: [{ sigv4: [] }]\n      x-amazon-apigateway-integration: { type: mock, requestTemplates: { application/json: '{\"statusCode\": 200}' } }\ncomponents:\n  securitySchemes:\n    sigv4: { type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4 }\n";
        let d = super::read(text, "t.yaml").expect("reads");
        assert_eq!(d.routes.len(), 2);
        assert!(
            d.routes
                .iter()
                .all(|r| r.authorization == crate::topology::Authorization::AwsIam),
            "{:?}",
            d.routes
        );
    }

    #[test]
    fn security_policy_extensions() {
        let text = "openapi: 3.0.1\ninfo: { title: t, version: '1' }\nx-amazon-apigateway-security-policy: SecurityPolicy_TLS13_1_3_2025_09\nx-amazon-apigateway-endpoint-access-mode: STRICT\npaths: {}\n";
        let d = super::read(text, "t.yaml").expect("reads");
        assert_eq!(
            d.security_policy.map(|p| p.value),
            Some(crate::topology::SecurityPolicy::Tls13Only2025)
        );
        assert_eq!(
            d.endpoint_access_mode.map(|m| m.value),
            Some(crate::topology::EndpointAccessMode::Strict)
        );
        let bad = text.replace("SecurityPolicy_TLS13_1_3_2025_09", "TLS_1_3");
        let e = super::read(&bad, "t.yaml")
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains(":3:") && e.contains("x-amazon-apigateway-security-policy"),
            "{e}"
        );
    }

    #[test]
    fn selection_patterns_as_java_matches_them() {
        // Full matches, as java.util.regex.Matcher.matches() does.
        assert_eq!(selection_matches("200", "200"), Some(true));
        assert_eq!(selection_matches("20", "200"), Some(false));
        assert_eq!(selection_matches("4\\d{2}", "404"), Some(true));
        assert_eq!(selection_matches("4\\d{2}", "504"), Some(false));
        assert_eq!(selection_matches("5..", "503"), Some(true));
        assert_eq!(selection_matches("2\\d{2}|3\\d{2}", "302"), Some(true));
        assert_eq!(selection_matches("[45]\\d\\d", "429"), Some(true));
        assert_eq!(selection_matches("[45]\\d\\d", "302"), Some(false));
        assert_eq!(selection_matches(".*", "201"), Some(true));
        assert_eq!(selection_matches("4\\d+", "4"), Some(false));
        assert_eq!(selection_matches("(4|5)\\d{2}", "404"), None);
        assert_eq!(selection_matches("[^2]\\d{2}", "404"), None);
    }
}
