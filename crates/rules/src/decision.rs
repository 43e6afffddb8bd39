//! The gateway's tables, built once from a topology, and [`Tables::decide`]: what to do with
//! one request. Nothing here does I/O, so every rule is tested without a socket.
//!
//! The order of checks (API Gateway does not document its own; where the reference marks an
//! order UNCONFIRMED this is the most likely one, and the lab compares it with predictions):
//!
//! Every step reads the one canonical request of [`crate::request`] (host, method token,
//! decoded path), so routing and the policy's ARN cannot see two different requests.
//!
//! 0. **The TLS session's domain.** A Host that picks another TLS configuration on this door
//!    than the SNI did → 421 Misdirected Request: mutual TLS vouches for one domain only. The
//!    one exception is documented ("Invoke a private custom domain name"): an endpoint's
//!    endpoint-specific name with a private custom domain name (without mutual TLS) as Host.
//! 1. **Host → target.** The `Host` (HTTP/2 `:authority`) names an API by one of the
//!    execute-api forms, or a custom domain. On an endpoint's door the endpoint-specific name
//!    needs `x-apigw-api-id`, and the `{api}-{vpce}` alias needs the API to list that endpoint.
//!    Nothing matches → 403 ForbiddenException.
//! 2. **Door.** An endpoint's door serves PRIVATE APIs only; the regional door REGIONAL APIs and
//!    domains; the edge door EDGE ones. A mismatch → 403 ForbiddenException (the incident).
//!    **Endpoint access mode STRICT** (with an enhanced security policy): the SNI must be the
//!    API's own name (default name or `{api}-{vpce}` alias) or the custom domain's → else 403
//!    ForbiddenException (INFERRED).
//! 3. **Default endpoint disabled** → 403 ForbiddenException.
//! 4. **Mutual TLS** (custom domains with a truststore): no valid client certificate → 403
//!    ForbiddenException (or, in strict mode, no handshake at all).
//!    A **private custom domain name** (served at endpoints' doors only): the endpoint needs an
//!    access association with it → else 403 ForbiddenException (INFERRED); then the domain's
//!    own policy on its ARN `…:/domainnames/{name}+{id}` → explicit deny or nothing allows: 403
//!    AccessDeniedException.
//! 5. **Stage** (first path segment; base path mapping on a custom domain) → 403
//!    ForbiddenException.
//! 6. **VPC endpoint policy**, when the request came through an endpoint that has one: explicit
//!    deny, or nothing allows → 403 AccessDeniedException ("… because no VPC endpoint policy
//!    allows …"). Then the **resource policy**: explicit deny, or (PRIVATE APIs always, others
//!    when they have a policy) nothing allows → 403 AccessDeniedException. AWS evaluates both
//!    (API Gateway Developer Guide, "apigateway-vpc-endpoint-policies"); which message wins when
//!    both refuse is UNCONFIRMED: the endpoint's is checked first.
//! 7. **Route**: resource and method → 403 MissingAuthenticationTokenException.
//! 8. **API key**, when the route requires one → 403 ForbiddenException; then the key's usage
//!    plan: quota → 429 LimitExceededException, throttle → 429 TooManyRequestsException.
//!
//! The body limit (413) and the integration (MOCK, HTTP_PROXY) follow in the server.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use parallax_model::topology::{EndpointType, Integration, Topology};
use parallax_model::{ApiId, ExecuteApiName, FrontDoor, Region, VpcId, VpceId};

use crate::policy::{Caller, Decision, Policy};
use crate::refusal::{CertRefusal, Reject};
use crate::request::{CanonicalPath, MethodToken, canonical_host};
use crate::route::{Template, method_matches};
use crate::usage_plan::Usage;

/// One route of an API.
#[derive(Debug)]
pub struct RouteEntry {
    /// An HTTP API's `$default` route: it matches what no other route does.
    pub default: bool,
    /// The method (ANY matches every one).
    pub method: parallax_model::topology::Method,
    /// The resource path, compiled for matching.
    pub template: Template,
    /// Whether an API key is required.
    pub api_key_required: bool,
    /// How the method is authorized.
    pub auth: RouteAuth,
    /// What answers.
    pub integration: Integration,
}

/// How a method is authorized, with its authorizer's table.
#[derive(Clone, Debug, Default)]
pub enum RouteAuth {
    /// `NONE`.
    #[default]
    None,
    /// `AWS_IAM`: a SigV4-signed call from an identity allowed to invoke it.
    Iam,
    /// A Lambda authorizer.
    Lambda(std::sync::Arc<AuthorizerEntry>),
    /// A Cognito user pool authorizer.
    Cognito(std::sync::Arc<AuthorizerEntry>),
}

/// An authorizer: the header its token comes from, and its answer per token.
#[derive(Debug)]
pub struct AuthorizerEntry {
    header: String,
    tokens: HashMap<String, TokenAnswer>,
}

/// What an authorizer answers for one token.
#[derive(Debug)]
enum TokenAnswer {
    /// A Lambda authorizer's `Unauthorized`.
    Unauthorized,
    /// A Lambda authorizer's policy.
    Policy(PolicyEntry),
    /// A valid Cognito token.
    Valid,
}

impl AuthorizerEntry {
    fn of(z: &parallax_model::topology::Authorizer) -> AuthorizerEntry {
        AuthorizerEntry {
            header: z.identity_source.to_ascii_lowercase(),
            tokens: z
                .tokens
                .iter()
                .map(|t| {
                    let answer = match (&t.policy, t.unauthorized) {
                        (_, true) => TokenAnswer::Unauthorized,
                        (Some(p), false) => {
                            TokenAnswer::Policy(match Policy::parse_identity(&p.value) {
                                Ok(p) => PolicyEntry::Usable(p),
                                Err(_) => PolicyEntry::Unusable,
                            })
                        }
                        (None, false) => TokenAnswer::Valid,
                    };
                    (t.value.expose().to_owned(), answer)
                })
                .collect(),
        }
    }
}

#[derive(Debug)]
struct ApiEntry {
    /// An HTTP API: `$default` stage and route, 404 for no route.
    http: bool,
    /// A WebSocket API: its `$connect` route (none: every connection is accepted) and the
    /// route that answers messages (`$default`).
    websocket: Option<std::sync::Arc<WebSocketEntry>>,
    endpoint_type: EndpointType,
    stages: HashSet<String>,
    routes: Vec<RouteEntry>,
    policy: Option<PolicyEntry>,
    vpc_endpoints: HashSet<VpceId>,
    /// The account that owns it: its ARN's, and the side of "same account" for signed callers.
    account: String,
    disable_default: bool,
    /// Whether any method has IAM or an authorizer: only then is the route looked up before
    /// the policies (most APIs have none, and the request path stays one lookup).
    any_auth: bool,
    /// Endpoint access mode STRICT.
    strict: bool,
}

/// A WebSocket API's routes.
#[derive(Debug)]
pub struct WebSocketEntry {
    /// `$connect`, or an accepting stand-in when the API has none.
    pub connect: RouteEntry,
    /// `$default`: what answers a message no other route takes.
    pub default: Option<RouteEntry>,
    /// The API's own route keys (`sendmessage`) and their routes.
    pub keyed: Vec<(String, RouteEntry)>,
    /// The route selection expression's JSON fields (`["action"]`).
    pub selection: Vec<String>,
}

impl WebSocketEntry {
    /// The route that answers a message: the one whose key the route selection expression
    /// yields (`$request.body.action` of a JSON message), else `$default`; `None` when neither
    /// (API Gateway Developer Guide, "Create routes for WebSocket APIs": route selection, and
    /// `$default` for a key that matches no route or a message that is not JSON).
    pub fn route_for(&self, message: &[u8]) -> Option<&RouteEntry> {
        let key = serde_json::from_slice::<serde_json::Value>(message)
            .ok()
            .and_then(|v| {
                let mut at = &v;
                for f in &self.selection {
                    at = at.get(f)?;
                }
                at.as_str().map(str::to_owned)
            });
        key.and_then(|k| self.keyed.iter().find(|(key, _)| *key == k))
            .map(|(_, r)| r)
            .or(self.default.as_ref())
    }
}

/// A policy as loaded. Topologies refuse policies the evaluator cannot honour when they load;
/// one that reaches the tables anyway (built by hand) denies every call rather than none.
#[derive(Debug)]
enum PolicyEntry {
    Usable(Policy),
    Unusable,
}

/// Where steps 1-5 led: the API, its stage, the path below the stage and the method token.
#[derive(Clone, Copy)]
struct Target<'a> {
    api_id: &'a ApiId,
    stage: &'a str,
    rest: &'a [String],
    method: &'a MethodToken,
}

#[derive(Debug)]
struct DomainEntry {
    endpoint_type: EndpointType,
    mtls: bool,
    /// Endpoint access mode STRICT.
    strict: bool,
    /// A private custom domain name: the endpoints with an access association, its policy
    /// (`None`: nothing allows), and its ARN with the part its policy's `execute-api:/…` names.
    private: Option<PrivateDomain>,
    /// (base path segments, API, stage); no segment is the root mapping.
    mappings: Vec<(Vec<String>, ApiId, String)>,
}

#[derive(Debug)]
struct PrivateDomain {
    access: HashSet<VpceId>,
    policy: Option<PolicyEntry>,
    arn: String,
    relative: String,
}

/// The state of the client certificate on this connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCert {
    /// The door did not ask for one (no mutual TLS for this name).
    NotAsked,
    /// Asked, and none was sent.
    Missing,
    /// Sent, and it failed verification.
    Invalid(CertRefusal),
    /// Sent and verified.
    Valid {
        /// The certificate's subject, for the access log.
        subject: String,
        /// Its serial number.
        serial: String,
    },
}

/// One request, as far as the decision needs it.
#[derive(Clone, Debug)]
pub struct Incoming<'a> {
    /// The front door the request came through.
    pub door: &'a FrontDoor,
    /// The name the TLS session was made for; `None` only where no TLS name applies.
    pub sni: Option<&'a str>,
    /// The request's authority: `:authority`, the absolute-form target, or the Host header.
    pub host: &'a str,
    /// The method token as sent.
    pub method: &'a str,
    /// The path as sent, without the query string.
    pub path: &'a str,
    /// The User-Agent header, for `aws:UserAgent`.
    pub user_agent: Option<&'a str>,
    /// The Referer header, for `aws:Referer`.
    pub referer: Option<&'a str>,
    /// The `x-api-key` header, as bytes.
    pub api_key: Option<&'a [u8]>,
    /// The `x-apigw-api-id` header, which names the API on an endpoint's apex name.
    pub apigw_api_id: Option<&'a str>,
    /// The client's address.
    pub client_ip: IpAddr,
    /// What the client's certificate said.
    pub client_cert: &'a ClientCert,
    /// What the request's SigV4 signature says (checked by the caller of [`Tables::decide`],
    /// which has the bytes); judged only on methods with `AWS_IAM` authorization.
    pub signature: &'a crate::sigv4::Signature,
    /// A request header's value by its lower-case name (an authorizer's identity source),
    /// asked only for methods with an authorizer.
    pub header: Headers<'a>,
}

/// A request's headers as the decision reads them: by lower-case name, on demand.
#[derive(Clone, Copy)]
pub struct Headers<'a>(pub &'a dyn Fn(&str) -> Option<String>);

impl Headers<'_> {
    /// None at all.
    pub const NONE: Headers<'static> = Headers(&|_| None);

    /// A header's value, by its lower-case name.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }
}

impl std::fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Headers(..)")
    }
}

/// What the decision learned, kept for the access log whatever the outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// The API the request reached, once known.
    pub api: Option<ApiId>,
    /// Its stage, once known.
    pub stage: Option<String>,
    /// The route's template (`/onprem/{proxy+}`), once a route matched.
    pub resource: Option<String>,
    /// The canonical path (stage included) that routing and the policy used.
    pub path: Option<String>,
    /// The resource ARN the policy was asked about, when one was.
    pub arn: Option<String>,
    /// The API key's id, once known.
    pub key_id: Option<String>,
    /// Whether the name was a custom domain.
    pub custom_domain: bool,
}

/// A request that may go on to its integration.
#[derive(Debug)]
pub struct Admitted<'t> {
    /// The route that answers.
    pub route: &'t RouteEntry,
    /// Path parameters, greedy ones included (`proxy` → `a/b/c`).
    pub params: BTreeMap<String, String>,
    /// A WebSocket API's connection: the request must upgrade, and its messages go to these
    /// routes.
    pub websocket: Option<&'t std::sync::Arc<WebSocketEntry>>,
    /// The usage plan's decision, when a shared store is still making it: the request goes on
    /// only if it resolves to `Ok` (tables built on [`crate::usage_plan::MemoryStore`] never
    /// leave one).
    pub pending: Option<crate::usage_plan::Pending>,
}

/// The tables of one topology.
#[derive(Debug)]
pub struct Tables {
    region: Region,
    apis: HashMap<ApiId, ApiEntry>,
    domains: HashMap<String, DomainEntry>,
    endpoint_vpc: HashMap<VpceId, VpcId>,
    /// The endpoints that have a policy (the others allow everything).
    endpoint_policies: HashMap<VpceId, PolicyEntry>,
    usage: Usage,
    /// The IAM identities' identity-based policies, by ARN (none: nothing allowed).
    identities: HashMap<String, Option<PolicyEntry>>,
    /// Each member account's organization (`aws:PrincipalOrgID`).
    organizations: HashMap<String, String>,
}

impl Tables {
    /// Builds the tables of a topology: APIs, domains, policies and usage plans.
    pub fn build(t: &Topology) -> Tables {
        Tables::build_with(t, &crate::usage_plan::MemoryStore)
    }

    /// The tables, with usage-plan counters from `store` (a reload keeps them with a
    /// [`crate::usage_plan::RetainingStore`]).
    pub fn build_with(t: &Topology, store: &dyn crate::usage_plan::UsageStore) -> Tables {
        let apis = t
            .apis
            .iter()
            .map(|a| {
                let authorizers: HashMap<&str, std::sync::Arc<AuthorizerEntry>> = a
                    .authorizers
                    .iter()
                    .map(|z| {
                        (
                            z.id.value.as_str(),
                            std::sync::Arc::new(AuthorizerEntry::of(z)),
                        )
                    })
                    .collect();
                let auth_of = |r: &parallax_model::topology::Route| {
                    use parallax_model::topology::Authorization as A;
                    let named = || {
                        r.authorizer
                            .as_ref()
                            .and_then(|n| authorizers.get(n.value.as_str()).cloned())
                    };
                    match r.authorization {
                        A::None => RouteAuth::None,
                        A::AwsIam => RouteAuth::Iam,
                        // A topology that loaded names an authorizer of the right kind.
                        A::Custom => named().map_or(RouteAuth::Iam, RouteAuth::Lambda),
                        A::CognitoUserPools => named().map_or(RouteAuth::Iam, RouteAuth::Cognito),
                    }
                };
                let route_entry = |r: &parallax_model::topology::Route| RouteEntry {
                    default: r.path.is_default(),
                    method: r.method.value,
                    template: Template::new(&r.path),
                    api_key_required: r.api_key_required,
                    auth: auth_of(r),
                    integration: r.integration.value.clone(),
                };
                let websocket = (a.protocol == parallax_model::topology::ApiProtocol::WebSocket)
                    .then(|| {
                        let key = |k: &str| a.routes.iter().find(|r| r.path.as_str() == k);
                        std::sync::Arc::new(WebSocketEntry {
                            connect: key("$connect").map(route_entry).unwrap_or_else(|| {
                                RouteEntry {
                                    default: false,
                                    method: parallax_model::topology::Method::Get,
                                    template: Template::new(
                                        &"$connect"
                                            .to_owned()
                                            .try_into()
                                            .unwrap_or_else(|e: String| unreachable!("{e}")),
                                    ),
                                    api_key_required: false,
                                    auth: RouteAuth::None,
                                    integration: Integration::Mock {
                                        status: 200,
                                        body: Default::default(),
                                        headers: Default::default(),
                                    },
                                }
                            }),
                            default: key("$default").map(route_entry),
                            keyed: a
                                .routes
                                .iter()
                                .filter(|r| !r.path.as_str().starts_with('$'))
                                .map(|r| (r.path.as_str().to_owned(), route_entry(r)))
                                .collect(),
                            selection: a
                                .route_selection_fields()
                                .unwrap_or_else(|| vec!["action".to_owned()]),
                        })
                    });
                let entry = ApiEntry {
                    websocket,
                    http: a.protocol == parallax_model::topology::ApiProtocol::Http,
                    endpoint_type: a.endpoint_type.value,
                    stages: a.stages.iter().map(|s| s.value.clone()).collect(),
                    routes: a.routes.iter().map(route_entry).collect(),
                    any_auth: a
                        .routes
                        .iter()
                        .any(|r| r.authorization != parallax_model::topology::Authorization::None),
                    policy: a.policy.as_ref().map(|p| match Policy::parse(&p.value) {
                        Ok(p) => PolicyEntry::Usable(p),
                        Err(_) => PolicyEntry::Unusable,
                    }),
                    vpc_endpoints: a.vpc_endpoints.iter().map(|v| v.value.clone()).collect(),
                    disable_default: a.disable_execute_api_endpoint,
                    account: t.owner(a.account.as_ref()).to_owned(),
                    strict: a.endpoint_access_mode.as_ref().is_some_and(|m| {
                        m.value == parallax_model::topology::EndpointAccessMode::Strict
                    }),
                };
                (a.id.value.clone(), entry)
            })
            .collect();
        let domains = t
            .custom_domains
            .iter()
            .map(|d| {
                let private = (d.endpoint_type.value == EndpointType::Private).then(|| {
                    let arn = d.private_arn(&t.region.value, t.owner(d.account.as_ref()));
                    PrivateDomain {
                        access: d
                            .access_associations
                            .iter()
                            .map(|v| v.value.clone())
                            .collect(),
                        policy: d.policy.as_ref().map(|p| match Policy::parse(&p.value) {
                            Ok(p) => PolicyEntry::Usable(p),
                            Err(_) => PolicyEntry::Unusable,
                        }),
                        relative: format!("domainnames/{}+{}", d.name.value, d.private_id()),
                        arn,
                    }
                });
                let entry = DomainEntry {
                    endpoint_type: d.endpoint_type.value,
                    mtls: d.mtls.is_some(),
                    strict: d.endpoint_access_mode.as_ref().is_some_and(|m| {
                        m.value == parallax_model::topology::EndpointAccessMode::Strict
                    }),
                    private,
                    mappings: d
                        .mappings
                        .iter()
                        .map(|m| {
                            let base = CanonicalPath::parse(&m.base_path)
                                .map(|p| p.segments)
                                .unwrap_or_else(|_| vec![m.base_path.clone()]);
                            (base, m.api.value.clone(), m.stage.value.clone())
                        })
                        .collect(),
                };
                (d.name.to_string(), entry)
            })
            .collect();
        let identities = t
            .iam_principals
            .iter()
            .map(|p| {
                (
                    p.arn.value.clone(),
                    p.policy
                        .as_ref()
                        .map(|v| match Policy::parse_identity(&v.value) {
                            Ok(p) => PolicyEntry::Usable(p),
                            Err(_) => PolicyEntry::Unusable,
                        }),
                )
            })
            .collect();
        Tables {
            identities,
            organizations: t
                .organizations
                .iter()
                .flat_map(|o| {
                    o.accounts
                        .iter()
                        .map(|a| (a.value.clone(), o.id.value.clone()))
                })
                .collect(),
            region: t.region.value.clone(),
            apis,
            domains,
            endpoint_vpc: t
                .endpoints
                .iter()
                .map(|e| (e.id.value.clone(), e.vpc.value.clone()))
                .collect(),
            endpoint_policies: t
                .endpoints
                .iter()
                .filter_map(|e| {
                    let p = e.policy.as_ref()?;
                    Some((
                        e.id.value.clone(),
                        match Policy::parse(&p.value) {
                            Ok(p) => PolicyEntry::Usable(p),
                            Err(_) => PolicyEntry::Unusable,
                        },
                    ))
                })
                .collect(),
            usage: Usage::build_with(t, store),
        }
    }

    /// Decides a request by the order of checks in the module docs.
    pub fn decide(&self, req: &Incoming<'_>) -> (Context, Result<Admitted<'_>, Reject>) {
        let mut ctx = Context::default();
        let result = self.decide_into(req, &mut ctx);
        (ctx, result)
    }

    fn decide_into<'t>(
        &'t self,
        req: &Incoming<'_>,
        ctx: &mut Context,
    ) -> Result<Admitted<'t>, Reject> {
        let host = canonical_host(req.host)?;
        // The domain whose checks a request passes is the domain its TLS session was made for:
        // a Host that picks another TLS configuration on this door (another custom domain, or a
        // custom domain from an execute-api session) is misdirected, whatever its certificate.
        // Most requests name their SNI again: no lookup, no allocation for them.
        if let Some(sni) = req.sni.map(|s| s.trim_end_matches('.'))
            && !sni.eq_ignore_ascii_case(&host)
        {
            let sni_binding = self.tls_binding(req.door, &sni.to_ascii_lowercase());
            let host_binding = self.tls_binding(req.door, &host);
            // "Invoke a private custom domain name": through an endpoint, its endpoint-specific
            // name (an execute-api session) with the private domain as Host is a documented
            // call. A domain with mutual TLS is never reached by a session that did not verify
            // a certificate against its truststore, so it stays misdirected.
            let vpce_name_to_private_domain = sni_binding.is_none()
                && matches!(req.door, FrontDoor::VpcEndpoint(_))
                && matches!(
                    ExecuteApiName::parse(sni),
                    Some(ExecuteApiName::VpceEndpoint { .. })
                )
                && host_binding
                    .and_then(|h| self.domains.get(h))
                    .is_some_and(|d| d.private.is_some() && !d.mtls);
            if sni_binding != host_binding && !vpce_name_to_private_domain {
                return Err(Reject::Misdirected);
            }
        }
        let path = CanonicalPath::parse(req.path)?;
        let method = MethodToken::parse(req.method);

        // 1-5: host, door, default endpoint, mutual TLS, stage.
        // The Region's apex name through an endpoint, with x-apigw-api-id naming the API, works
        // as the endpoint-specific name does (third-party, reference §9).
        let apex = format!("execute-api.{}.{}", self.region, self.region.dns_suffix());
        let host = match (host == apex, req.door, req.apigw_api_id) {
            (true, FrontDoor::VpcEndpoint(_), Some(id)) if id.parse::<ApiId>().is_ok() => {
                format!("{id}.{apex}")
            }
            _ => host,
        };
        let (api_id, stage, rest) = match ExecuteApiName::parse(&host) {
            Some(name) => self.by_execute_api_name(&name, req, &path, ctx)?,
            None => self.by_custom_domain(&host, req, &path, ctx)?,
        };
        ctx.stage = Some(stage.to_owned());
        let api = self.apis.get(&api_id).ok_or(Reject::UnknownHost)?;
        let target = Target {
            api_id: &api_id,
            stage,
            rest,
            method: &method,
        };
        self.authorize(req, api, &target, ctx)?;
        self.route(req, api, &target, ctx)
    }

    /// 1-5 for an execute-api name: the API, its door, its default endpoint, the stage.
    fn by_execute_api_name<'a>(
        &'a self,
        name: &ExecuteApiName,
        req: &Incoming<'_>,
        path: &'a CanonicalPath,
        ctx: &mut Context,
    ) -> Result<(ApiId, &'a str, &'a [String]), Reject> {
        let api_id = self.execute_api_target(name, req)?;
        ctx.api = Some(api_id.clone());
        let api = self.apis.get(&api_id).ok_or(Reject::UnknownHost)?;
        check_door(req.door, api.endpoint_type)?;
        // STRICT: the session's SNI must be one of the API's own names (its default name, or
        // its `{api}-{vpce}` alias); an endpoint-specific name, or a Host other than the SNI,
        // is refused (a private API invoked that way needs BASIC: "Invoke a private API").
        if api.strict && !self.sni_names_api(req, name, &api_id) {
            return Err(Reject::StrictAccessMode);
        }
        if api.disable_default {
            return Err(Reject::DefaultEndpointDisabled);
        }
        ctx.path = Some(path.display());
        // A WebSocket API: the URL is the stage and nothing more (inferred: another path
        // names no stage).
        if api.websocket.is_some() {
            match path.segments.as_slice() {
                [stage] if api.stages.contains(stage) => {
                    Ok((api_id, stage.as_str(), &path.segments[1..]))
                }
                _ => Err(Reject::UnknownStage),
            }
        } else if api.http && api.stages.contains("$default") {
            Ok((api_id, "$default", &path.segments[..]))
        } else {
            let unknown = if api.http {
                Reject::NotFound
            } else {
                Reject::UnknownStage
            };
            let Some((stage, rest)) = path.segments.split_first() else {
                return Err(unknown);
            };
            if !api.stages.contains(stage) {
                return Err(unknown);
            }
            Ok((api_id, stage.as_str(), rest))
        }
    }

    /// 1-5 for a custom domain: its door, mutual TLS, a private domain's checks, the mapping.
    fn by_custom_domain<'a>(
        &'a self,
        host: &str,
        req: &Incoming<'_>,
        path: &'a CanonicalPath,
        ctx: &mut Context,
    ) -> Result<(ApiId, &'a str, &'a [String]), Reject> {
        let domain = self.domains.get(host).ok_or(Reject::UnknownHost)?;
        ctx.custom_domain = true;
        if !serves(req.door, domain.endpoint_type) {
            return Err(Reject::UnknownHost);
        }
        // STRICT: the session was made for this domain name (SNI host matching); the
        // endpoint-specific name with the domain as Host is BASIC's alone.
        if domain.strict
            && !req
                .sni
                .is_some_and(|s| s.trim_end_matches('.').eq_ignore_ascii_case(host))
        {
            return Err(Reject::StrictAccessMode);
        }
        if domain.mtls {
            match req.client_cert {
                ClientCert::Valid { .. } => {}
                ClientCert::Invalid(why) => return Err(Reject::ClientCertificate(why.clone())),
                ClientCert::Missing | ClientCert::NotAsked => {
                    return Err(Reject::ClientCertificate(CertRefusal::NotSent));
                }
            }
        }
        // A private custom domain name: the endpoint must have an access association with
        // it, and the domain's own policy must allow the call (API Gateway Developer Guide,
        // private custom domain names); then the API's checks follow as for any call
        // through the endpoint.
        self.private_domain(domain, req, ctx)?;
        ctx.path = Some(path.display());
        // The longest base path that prefixes the path, else the root mapping.
        let (base, api, stage) = domain
            .mappings
            .iter()
            .filter(|(base, ..)| path.segments.starts_with(base))
            .max_by_key(|(base, ..)| base.len())
            .ok_or(Reject::UnknownStage)?;
        ctx.api = Some(api.clone());
        Ok((api.clone(), stage.as_str(), &path.segments[base.len()..]))
    }

    /// A private custom domain name: the endpoint must have an access association with it, and
    /// the domain's own policy must allow the call (API Gateway Developer Guide, private custom
    /// domain names); then the API's checks follow as for any call through the endpoint.
    fn private_domain(
        &self,
        domain: &DomainEntry,
        req: &Incoming<'_>,
        ctx: &mut Context,
    ) -> Result<(), Reject> {
        let (Some(private), FrontDoor::VpcEndpoint(vpce)) = (&domain.private, req.door) else {
            return Ok(());
        };
        if !private.access.contains(vpce) {
            return Err(Reject::NoAccessAssociation);
        }
        let caller = Caller {
            arn: &private.arn,
            api_relative: &private.relative,
            source_ip: req.client_ip,
            source_vpce: Some(vpce.as_str()),
            source_vpc: self.endpoint_vpc.get(vpce).map(VpcId::as_str),
            user_agent: req.user_agent,
            referer: req.referer,
            now: Caller::now(),
            principal: None,
        };
        let decision = match &private.policy {
            Some(PolicyEntry::Usable(p)) => crate::policy::evaluate(p, &caller),
            Some(PolicyEntry::Unusable) => Decision::ExplicitDeny,
            None => Decision::NoAllow,
        };
        if decision != Decision::Allow {
            ctx.arn = Some(private.arn.clone());
            return Err(Reject::AccessDenied {
                arn: private.arn.clone(),
                explicit: decision == Decision::ExplicitDeny,
            });
        }
        Ok(())
    }

    /// 6: for a method with `AWS_IAM` authorization, the signature first (API Gateway
    /// authenticates before it authorizes); then the endpoint's policy and the resource policy,
    /// on the same method token and canonical path the router uses, for the signed identity
    /// when there is one. The ARN is built only when there is something to evaluate: most
    /// public APIs have no policy, and the request path stays free of that formatting.
    ///
    /// A signed identity is judged by "How API Gateway resource policies affect authorization
    /// workflow": an explicit deny anywhere denies; in the API's own account the resource
    /// policy or the identity's policy must allow (table A); from another account both must
    /// (table B), the resource policy naming the identity or its account.
    fn authorize(
        &self,
        req: &Incoming<'_>,
        api: &ApiEntry,
        target: &Target<'_>,
        ctx: &mut Context,
    ) -> Result<(), Reject> {
        let Target {
            api_id,
            stage,
            rest,
            method,
        } = *target;
        let auth = if api.any_auth && api.websocket.is_none() {
            self.find_route(api, method, rest)
                .map(|(r, _)| r.auth.clone())
                .unwrap_or_default()
        } else {
            RouteAuth::None
        };
        // An authorizer's token: missing, or one it refuses, is 401 before anything else.
        let token = match &auth {
            RouteAuth::Lambda(z) | RouteAuth::Cognito(z) => {
                let value = req.header.get(&z.header).filter(|v| !v.trim().is_empty());
                let answer = value.as_deref().and_then(|v| z.tokens.get(v));
                match answer {
                    None | Some(TokenAnswer::Unauthorized) => {
                        return Err(Reject::Unauthorized);
                    }
                    Some(a) => Some(a),
                }
            }
            RouteAuth::None | RouteAuth::Iam => None,
        };
        let principal = if matches!(auth, RouteAuth::Iam) {
            match req.signature {
                crate::sigv4::Signature::Unsigned => {
                    return Err(Reject::MissingAuthenticationToken);
                }
                crate::sigv4::Signature::Failed(f) => return Err(Reject::Signature(f.clone())),
                crate::sigv4::Signature::Valid { arn, account } => Some(crate::policy::Principal {
                    arn,
                    account,
                    org: self.organizations.get(account.as_str()).map(String::as_str),
                }),
            }
        } else {
            None
        };
        let vpce = match req.door {
            FrontDoor::VpcEndpoint(id) => Some(id),
            _ => None,
        };
        let endpoint_policy = vpce.and_then(|v| self.endpoint_policies.get(v));
        if !(api.policy.is_some()
            || api.endpoint_type == EndpointType::Private
            || endpoint_policy.is_some()
            || principal.is_some()
            || matches!(token, Some(TokenAnswer::Policy(_))))
        {
            return Ok(());
        }
        let relative = format!("{stage}/{}/{}", method.as_str(), rest.join("/"));
        let arn = format!(
            "arn:aws:execute-api:{}:{}:{api_id}/{relative}",
            self.region, api.account
        );
        let caller = Caller {
            arn: &arn,
            api_relative: &relative,
            source_ip: req.client_ip,
            source_vpce: vpce.map(VpceId::as_str),
            source_vpc: vpce
                .and_then(|v| self.endpoint_vpc.get(v))
                .map(VpcId::as_str),
            user_agent: req.user_agent,
            referer: req.referer,
            now: Caller::now(),
            principal,
        };
        let user = principal.map(|p| p.arn.to_owned());
        if let Some(ep) = endpoint_policy {
            let d = match ep {
                PolicyEntry::Usable(p) => crate::policy::evaluate(p, &caller),
                PolicyEntry::Unusable => Decision::ExplicitDeny,
            };
            if d != Decision::Allow {
                ctx.arn = Some(arn.clone());
                return Err(Reject::EndpointPolicyDenied {
                    explicit: d == Decision::ExplicitDeny,
                    arn,
                });
            }
        }
        use crate::policy::Verdict;
        let resource = match &api.policy {
            Some(PolicyEntry::Usable(p)) => crate::policy::verdict(p, &caller),
            // No policy: a public API allows; a private one rejects everything until a policy
            // grants access (reference §5); a signed call to a public API without one is the
            // identity's policy's to decide.
            None if principal.is_some() => Verdict::NoAllow,
            None if api.endpoint_type != EndpointType::Private => Verdict::Allow,
            // Unknown is never allow.
            Some(PolicyEntry::Unusable) => Verdict::ExplicitDeny,
            None => Verdict::NoAllow,
        };
        // A Lambda authorizer: an explicit deny of the resource policy refuses before the
        // authorizer is asked; then its policy must allow (else 403 with its own message), and
        // the resource policy's silence is enough (table A).
        if let Some(TokenAnswer::Policy(z)) = token {
            if resource == Verdict::ExplicitDeny {
                ctx.arn = Some(arn.clone());
                return Err(Reject::AccessDenied {
                    arn,
                    explicit: true,
                });
            }
            let d = match z {
                PolicyEntry::Usable(p) => crate::policy::evaluate(p, &caller),
                PolicyEntry::Unusable => Decision::ExplicitDeny,
            };
            ctx.arn = Some(arn.clone());
            return match d {
                Decision::Allow => Ok(()),
                d => Err(Reject::AuthorizerDenied {
                    explicit: d == Decision::ExplicitDeny,
                }),
            };
        }
        let decision = match principal {
            None => match resource {
                Verdict::Allow => Decision::Allow,
                Verdict::ExplicitDeny => Decision::ExplicitDeny,
                Verdict::AccountAllow | Verdict::NoAllow => Decision::NoAllow,
            },
            Some(p) => {
                let identity = match self.identities.get(p.arn) {
                    Some(Some(PolicyEntry::Usable(policy))) => {
                        crate::policy::evaluate(policy, &caller)
                    }
                    Some(Some(PolicyEntry::Unusable)) => Decision::ExplicitDeny,
                    _ => Decision::NoAllow,
                };
                let same_account = p.account == api.account;
                match (resource, identity) {
                    (Verdict::ExplicitDeny, _) | (_, Decision::ExplicitDeny) => {
                        Decision::ExplicitDeny
                    }
                    // Table A: either allows.
                    (Verdict::Allow, _) if same_account => Decision::Allow,
                    (_, Decision::Allow) if same_account => Decision::Allow,
                    // Table B: both allow.
                    (Verdict::Allow | Verdict::AccountAllow, Decision::Allow) => Decision::Allow,
                    _ => Decision::NoAllow,
                }
            }
        };
        if decision != Decision::Allow {
            ctx.arn = Some(arn.clone());
            return Err(match user {
                Some(user) => Reject::SignedDenied {
                    arn,
                    user,
                    explicit: decision == Decision::ExplicitDeny,
                },
                None => Reject::AccessDenied {
                    arn,
                    explicit: decision == Decision::ExplicitDeny,
                },
            });
        }
        ctx.arn = Some(arn);
        Ok(())
    }

    /// The route a method and path select (not an HTTP API's `$default`), with its path
    /// parameters: the most specific template, a named method before ANY.
    fn find_route<'t>(
        &self,
        api: &'t ApiEntry,
        method: &MethodToken,
        rest: &[String],
    ) -> Option<(&'t RouteEntry, BTreeMap<String, String>)> {
        api.routes
            .iter()
            .filter(|r| !r.default)
            .filter(|r| method_matches(r.method, method))
            .filter_map(|r| r.template.matches(rest).map(|(p, score)| (r, p, score)))
            .max_by(|(a, _, sa), (b, _, sb)| {
                sa.cmp(sb).then(
                    (a.method != parallax_model::topology::Method::Any)
                        .cmp(&(b.method != parallax_model::topology::Method::Any)),
                )
            })
            .map(|(r, p, _)| (r, p))
    }

    /// 7 and 8: the route (a WebSocket API's `$connect`), then the API key and usage plan.
    fn route<'t>(
        &'t self,
        req: &Incoming<'_>,
        api: &'t ApiEntry,
        target: &Target<'_>,
        ctx: &mut Context,
    ) -> Result<Admitted<'t>, Reject> {
        let Target {
            api_id,
            stage,
            rest,
            method,
        } = *target;
        // 7: a WebSocket API's connection goes to `$connect` (its API key included).
        if let Some(ws) = &api.websocket {
            ctx.resource = Some("$connect".to_owned());
            let mut pending = None;
            if ws.connect.api_key_required {
                let (id, later) = self.usage.admit(req.api_key, api_id, stage)?;
                ctx.key_id = Some(id);
                pending = later;
            }
            return Ok(Admitted {
                route: &ws.connect,
                params: BTreeMap::new(),
                websocket: Some(ws),
                pending,
            });
        }
        // 7: route.
        let matched = self.find_route(api, method, rest);
        // An HTTP API: the `$default` route catches what no other route matches; without one,
        // 404 Not Found (http-api-develop-routes). A REST API: MissingAuthenticationToken.
        let (route, params) = match matched {
            Some(m) => m,
            None if api.http => api
                .routes
                .iter()
                .find(|r| r.default)
                .map(|r| (r, Default::default()))
                .ok_or(Reject::NotFound)?,
            None => return Err(Reject::MissingAuthenticationToken),
        };
        ctx.resource = Some(route.template.as_str().to_owned());

        // 8: API key and usage plan.
        let mut pending = None;
        if route.api_key_required {
            let (id, later) = self.usage.admit(req.api_key, api_id, stage)?;
            ctx.key_id = Some(id);
            pending = later;
        } else if let Some(k) = req.api_key {
            ctx.key_id = self.usage.key_id(k).map(str::to_owned);
        }
        Ok(Admitted {
            route,
            params,
            websocket: None,
            pending,
        })
    }

    /// Whether the request's SNI is the name it asks for and that name is the API's own.
    fn sni_names_api(&self, req: &Incoming<'_>, name: &ExecuteApiName, api: &ApiId) -> bool {
        let Some(sni) = req.sni.map(|s| s.trim_end_matches('.')) else {
            return false;
        };
        match (ExecuteApiName::parse(sni), name) {
            (
                Some(ExecuteApiName::Default { api: a, .. }),
                ExecuteApiName::Default { api: b, .. },
            ) => a == *b && b == api,
            (
                Some(ExecuteApiName::ApiVpceAlias {
                    api: a, vpce: v, ..
                }),
                ExecuteApiName::ApiVpceAlias {
                    api: b, vpce: w, ..
                },
            ) => a == *b && v == *w && b == api,
            _ => false,
        }
    }

    /// Which TLS configuration a name gets on this door: its custom domain's, or (`None`) the
    /// door's execute-api one. Mirrors `DoorTls::choose`.
    fn tls_binding(&self, door: &FrontDoor, name: &str) -> Option<&str> {
        self.domains
            .get_key_value(name)
            .filter(|(_, d)| serves(door, d.endpoint_type))
            .map(|(k, _)| k.as_str())
    }

    /// The API an execute-api host name selects on this door.
    fn execute_api_target(
        &self,
        name: &ExecuteApiName,
        req: &Incoming<'_>,
    ) -> Result<ApiId, Reject> {
        if name.region() != &self.region {
            return Err(Reject::UnknownHost);
        }
        match name {
            ExecuteApiName::Default { api, .. } => Ok(api.clone()),
            ExecuteApiName::ApiVpceAlias { api, vpce, .. } => {
                let listed = self
                    .apis
                    .get(api)
                    .is_some_and(|a| a.vpc_endpoints.contains(vpce));
                match req.door {
                    FrontDoor::VpcEndpoint(door) if door == vpce && listed => Ok(api.clone()),
                    _ => Err(Reject::UnknownHost),
                }
            }
            ExecuteApiName::VpceEndpoint { vpce, .. } => match req.door {
                FrontDoor::VpcEndpoint(door) if door == vpce => req
                    .apigw_api_id
                    .and_then(|id| id.parse().ok())
                    .ok_or(Reject::UnknownHost),
                _ => Err(Reject::UnknownHost),
            },
            ExecuteApiName::DomainTarget { .. } => Err(Reject::UnknownHost),
        }
    }
}

/// Whether a door serves custom domains of this type (endpoint doors serve private ones).
fn serves(door: &FrontDoor, t: EndpointType) -> bool {
    match door {
        FrontDoor::Regional => t == EndpointType::Regional,
        FrontDoor::Edge => t == EndpointType::Edge,
        FrontDoor::VpcEndpoint(_) => t == EndpointType::Private,
        FrontDoor::None => false,
    }
}

fn check_door(door: &FrontDoor, api_type: EndpointType) -> Result<(), Reject> {
    let ok = match door {
        FrontDoor::VpcEndpoint(_) => api_type == EndpointType::Private,
        FrontDoor::Regional => api_type == EndpointType::Regional,
        FrontDoor::Edge => api_type == EndpointType::Edge,
        FrontDoor::None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Reject::WrongDoor {
            api_type: match api_type {
                EndpointType::Regional => "REGIONAL",
                EndpointType::Edge => "EDGE",
                EndpointType::Private => "PRIVATE",
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ADMIN: &str = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";

    fn tables() -> &'static Tables {
        static TABLES: std::sync::LazyLock<Tables> = std::sync::LazyLock::new(|| {
            let t = Topology::from_yaml(parallax_testkit::attacks::TOPOLOGY, "<attacks>")
                .expect("topology");
            Tables::build(&t)
        });
        &TABLES
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        /// For random requests, routing, the policy and the access log agree on the resource:
        /// the ARN the policy judged is the logged method and canonical path, a matched route
        /// matches that path, and the denied resource is never reached by another spelling.
        #[test]
        fn routing_policy_and_log_agree(
            method in prop::sample::select(vec!["GET", "get", "Get", "POST", "FOO", "DELETE", "HEAD"]),
            segments in prop::collection::vec(
                prop::sample::select(vec!["prod", "admin", "x", "", ".", "..", "%61dmin", "%2e%2e", "public", "a%2Fb", "users", "%2E"]),
                0..6,
            ),
            trailing in any::<bool>(),
        ) {
            let t = tables();
            let mut path = format!("/{}", segments.join("/"));
            if trailing {
                path.push('/');
            }
            let door = FrontDoor::Regional;
            let cert = ClientCert::NotAsked;
            let req = Incoming {
                door: &door,
                sni: Some(ADMIN),
                host: ADMIN,
                method,
                path: &path,
                user_agent: None,
                referer: None,
                api_key: None,
                apigw_api_id: None,
                client_ip: "198.51.100.1".parse().expect("ip"),
                client_cert: &cert,
                signature: &crate::sigv4::Signature::Unsigned,
                header: Headers::NONE,
            };
            let (ctx, decision) = t.decide(&req);
            let Ok(canonical) = CanonicalPath::parse(&path) else {
                prop_assert!(matches!(decision, Err(Reject::BadRequest(_))));
                return Ok(());
            };
            let shown = canonical.display();
            if let Some(arn) = &ctx.arn {
                let rest = canonical.segments.iter().skip(1).cloned().collect::<Vec<_>>().join("/");
                prop_assert_eq!(
                    arn,
                    &format!("arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/prod/{method}/{rest}")
                );
                prop_assert_eq!(ctx.path.as_deref(), Some(shown.as_str()));
            }
            if ctx.resource.is_some() {
                let route = t.apis[&"a1b2c3d4e5".parse::<ApiId>().expect("id")]
                    .routes
                    .iter()
                    .find(|r| Some(r.template.as_str()) == ctx.resource.as_deref())
                    .expect("the logged resource is a route");
                prop_assert!(route.template.matches(&canonical.segments[1..]).is_some());
                prop_assert!(method_matches(route.method, &MethodToken::parse(method)));
            }
            let denied = method == "GET"
                && canonical.segments.len() >= 2
                && canonical.segments[..2] == ["prod".to_owned(), "admin".to_owned()];
            if denied {
                prop_assert!(
                    matches!(decision, Err(Reject::AccessDenied { explicit: true, .. })),
                    "{} {} reached {:?}", method, path, decision.map(|a| a.route.template.as_str().to_owned())
                );
            }
            if decision.is_ok() {
                prop_assert!(!denied);
            }
        }
    }

    /// "Invoke a private custom domain name": the endpoint-specific name as SNI with the private
    /// domain as Host is served through the associated endpoint; through another door, as
    /// another execute-api name, or for a domain name of another door it stays misdirected.
    #[test]
    fn vpce_name_with_a_private_domain_host() {
        let t = Topology::from_yaml(
            r#"
account: "111122223333"
region: us-east-1
front_doors: { regional: [52.94.133.10] }
vpcs: [{ id: vpc-0a1b2c3d, cidr: 10.0.0.0/16 }]
endpoints:
  - { id: vpce-0123456789abcdef0, vpc: vpc-0a1b2c3d, service: execute-api, private_dns: false, dns_suffix: 1a2b3c4d, subnets: [{ id: subnet-0a1b2c3d, az: us-east-1a, address: 10.0.1.17 }] }
apis:
  - id: p1r2i3v4a5
    name: orders
    endpoint_type: PRIVATE
    stages: [prod]
    policy: { Statement: [{ Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*" }] }
    routes: [{ method: GET, path: /orders, integration: { type: MOCK } }]
  - id: a1b2c3d4e5
    name: public
    endpoint_type: REGIONAL
    stages: [prod]
    routes: [{ method: GET, path: /orders, integration: { type: MOCK } }]
custom_domains:
  - name: orders.internal.example.com
    endpoint_type: PRIVATE
    domain_name_id: a1b2c3d4e5
    access_associations: [vpce-0123456789abcdef0]
    policy: { Statement: [{ Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*" }] }
    mappings: [{ api: p1r2i3v4a5, stage: prod }]
  - name: public.example.com
    endpoint_type: REGIONAL
    dns: alias
    mappings: [{ api: a1b2c3d4e5, stage: prod }]
"#,
            "<test>",
        )
        .expect("topology");
        let tables = Tables::build(&t);
        let vpce_door = FrontDoor::VpcEndpoint("vpce-0123456789abcdef0".parse().expect("id"));
        let cert = ClientCert::NotAsked;
        let ask = |door: &FrontDoor, sni: &str, host: &str| {
            let req = Incoming {
                door,
                sni: Some(sni),
                host,
                method: "GET",
                path: "/orders",
                user_agent: None,
                referer: None,
                api_key: None,
                apigw_api_id: None,
                client_ip: "10.0.2.15".parse().expect("ip"),
                client_cert: &cert,
                signature: &crate::sigv4::Signature::Unsigned,
                header: Headers::NONE,
            };
            tables
                .decide(&req)
                .1
                .map(|a| a.route.template.as_str().to_owned())
        };
        let vpce_name = "vpce-0123456789abcdef0-1a2b3c4d.execute-api.us-east-1.vpce.amazonaws.com";
        let private = "orders.internal.example.com";
        assert_eq!(
            ask(&vpce_door, vpce_name, private).ok().as_deref(),
            Some("/orders")
        );
        // Another execute-api name as SNI (the API's default name) is not the documented call.
        let default_name = "p1r2i3v4a5.execute-api.us-east-1.amazonaws.com";
        assert!(matches!(
            ask(&vpce_door, default_name, private),
            Err(Reject::Misdirected)
        ));
        // A public custom domain through the regional door from an execute-api session.
        assert!(matches!(
            ask(
                &FrontDoor::Regional,
                "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
                "public.example.com"
            ),
            Err(Reject::Misdirected)
        ));
    }

    /// `AWS_IAM` methods, by "How API Gateway resource policies affect authorization workflow":
    /// unsigned → MissingAuthenticationToken; a failed signature → its SigV4 error; a signed
    /// identity of the API's account needs the resource policy or its own policy to allow
    /// (table A), one of another account needs both (table B); an explicit deny wins.
    #[test]
    fn iam_authorization_tables() {
        let topology = |rp: &str| {
            Topology::from_yaml(
                &format!(
                    r#"
account: "111122223333"
region: us-east-1
front_doors: {{ regional: [52.94.133.10] }}
iam_principals:
  - arn: arn:aws:iam::111122223333:user/alice
    access_key_id: AKIAALICE0000000001
    secret_access_key: alice-secret
    policy: {{ Statement: [{{ Effect: Allow, Action: "execute-api:Invoke", Resource: "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/*" }}] }}
  - arn: arn:aws:iam::111122223333:user/bob
    access_key_id: AKIABOB00000000000001
    secret_access_key: bob-secret
  - arn: arn:aws:iam::444455556666:user/carol
    access_key_id: AKIACAROL0000000001
    secret_access_key: carol-secret
    policy: {{ Statement: [{{ Effect: Allow, Action: "execute-api:Invoke", Resource: "*" }}] }}
apis:
  - id: a1b2c3d4e5
    name: orders
    endpoint_type: REGIONAL
    stages: [prod]
{rp}
    routes:
      - {{ method: GET, path: /me, authorization: AWS_IAM, integration: {{ type: MOCK }} }}
      - {{ method: GET, path: /open, integration: {{ type: MOCK }} }}
"#
                ),
                "<iam>",
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let ask = |t: &Tables, path: &str, sig: crate::sigv4::Signature| {
            let cert = ClientCert::NotAsked;
            let req = Incoming {
                door: &FrontDoor::Regional,
                sni: Some(ADMIN),
                host: ADMIN,
                method: "GET",
                path,
                user_agent: None,
                referer: None,
                api_key: None,
                apigw_api_id: None,
                client_ip: "198.51.100.1".parse().expect("ip"),
                client_cert: &cert,
                signature: &sig,
                header: Headers::NONE,
            };
            match t.decide(&req).1 {
                Ok(_) => "200".to_owned(),
                Err(r) => format!("{} {:?}", r.status(), r.error_type()),
            }
        };
        let signed = |who: &str, account: &str| crate::sigv4::Signature::Valid {
            arn: format!("arn:aws:iam::{account}:user/{who}"),
            account: account.to_owned(),
        };
        use crate::sigv4::{SigFailure, Signature};
        let none = Tables::build(&topology(""));
        let cross = Tables::build(&topology(
            "    policy: { Statement: [{ Effect: Allow, Principal: { AWS: \"arn:aws:iam::444455556666:root\" }, Action: \"execute-api:Invoke\", Resource: \"execute-api:/*\" }, { Effect: Allow, Principal: { AWS: \"arn:aws:iam::111122223333:user/bob\" }, Action: \"execute-api:Invoke\", Resource: \"execute-api:/*\" }, { Effect: Allow, Principal: \"*\", Action: \"execute-api:Invoke\", Resource: \"execute-api:/prod/GET/open\" }] }",
        ));
        let deny = Tables::build(&topology(
            "    policy: { Statement: [{ Effect: Deny, Principal: { AWS: \"111122223333\" }, Action: \"execute-api:Invoke\", Resource: \"execute-api:/*\" }] }",
        ));
        let table: Vec<(&str, &Tables, &str, Signature, &str)> = vec![
            (
                "open method",
                &none,
                "/prod/open",
                Signature::Unsigned,
                "200",
            ),
            (
                "unsigned",
                &none,
                "/prod/me",
                Signature::Unsigned,
                "403 Some(MissingAuthenticationToken)",
            ),
            (
                "unknown key",
                &none,
                "/prod/me",
                Signature::Failed(SigFailure::UnknownKey),
                "403 Some(UnrecognizedClient)",
            ),
            (
                "bad signature",
                &none,
                "/prod/me",
                Signature::Failed(SigFailure::Mismatch),
                "403 Some(InvalidSignature)",
            ),
            (
                "A: identity allows",
                &none,
                "/prod/me",
                signed("alice", "111122223333"),
                "200",
            ),
            (
                "A: neither allows",
                &none,
                "/prod/me",
                signed("bob", "111122223333"),
                "403 Some(AccessDenied)",
            ),
            (
                "B: only the identity allows",
                &none,
                "/prod/me",
                signed("carol", "444455556666"),
                "403 Some(AccessDenied)",
            ),
            (
                "B: both allow",
                &cross,
                "/prod/me",
                signed("carol", "444455556666"),
                "200",
            ),
            (
                "A: the resource policy names bob",
                &cross,
                "/prod/me",
                signed("bob", "111122223333"),
                "200",
            ),
            (
                "explicit deny of the account",
                &deny,
                "/prod/me",
                signed("alice", "111122223333"),
                "403 Some(AccessDenied)",
            ),
        ];
        for (row, t, path, sig, want) in table {
            assert_eq!(ask(t, path, sig), want, "{row}");
        }
    }
}
