//! The HTTP rung: what the status, the error type and the body say, with API Gateway's usual
//! 403 causes told apart.

use std::net::IpAddr;

use parallax_model::topology::{EndpointType, Topology};
use parallax_model::{ErrorType, ExecuteApiName, InvokeResource};

use super::{Diagnosis, Facts, Rule, Verdict, diag};
use crate::observation::Observation;
use crate::options::ProbeOptions;

/// The HTTP rung: what the status, the error type and the body say.
pub(super) fn explain_http(f: &Facts<'_>, mut evidence: Vec<String>) -> Diagnosis {
    let Facts {
        obs,
        opts,
        topology,
        name,
        path_private,
        ..
    } = *f;
    let Some(h) = &obs.http else {
        return diag(
            Verdict::HttpError,
            Rule::HttpError,
            "no HTTP exchange took place".to_owned(),
            evidence,
            vec![],
        );
    };
    if let Some(err) = &h.error {
        evidence.push(format!("http: {err}"));
        return diag(
            Verdict::HttpError,
            Rule::HttpError,
            format!("the HTTP exchange failed: {err}"),
            evidence,
            vec![],
        );
    }
    let status = h.status.unwrap_or(0);
    if let Some(l) = http_line(obs) {
        evidence.push(l);
    }
    let et = h.error_type.as_ref();

    if status == 403
        && et == Some(&ErrorType::Forbidden)
        && path_private
        && let Some(ExecuteApiName::Default { api, region }) = &name
    {
        return endpoint_private_dns(f, api, region, evidence);
    }
    if status == 403 && et == Some(&ErrorType::MissingAuthenticationToken) {
        return missing_token(f, evidence);
    }
    if status == 403
        && matches!(
            et,
            Some(
                ErrorType::InvalidSignature
                    | ErrorType::IncompleteSignature
                    | ErrorType::UnrecognizedClient
            )
        )
    {
        let message = serde_json::from_str::<serde_json::Value>(&h.body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_default();
        let (cause, fix) = match et {
            Some(ErrorType::UnrecognizedClient) => (
                "the access key the request is signed with belongs to no identity API Gateway knows (deleted, inactive, or another partition)".to_owned(),
                "sign with an active access key of the identity that should call (aws iam list-access-keys)".to_owned(),
            ),
            Some(ErrorType::IncompleteSignature) => (
                format!("the SigV4 Authorization header is incomplete: {message}"),
                "sign the whole request: --aws-sigv4 \"aws:amz:REGION:execute-api\" --user KEY:SECRET".to_owned(),
            ),
            _ => (
                format!("the SigV4 signature does not verify: {message}"),
                "check the secret key, the Region and service in --aws-sigv4 (aws:amz:REGION:execute-api), and this host's clock; a proxy that changes signed headers or the path breaks the signature".to_owned(),
            ),
        };
        return diag(
            Verdict::HttpError,
            Rule::Signature,
            cause,
            evidence,
            vec![fix],
        );
    }
    if status == 401 && et == Some(&ErrorType::Unauthorized) {
        let sent = opts
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
        let cause = if sent {
            "the method's authorizer refused the token (a Lambda authorizer answered Unauthorized, or the Cognito user pool does not accept it: expired, another pool, or not a token)"
        } else {
            "the method has an authorizer (Lambda or Cognito) and the request carries no token in its identity source (the Authorization header unless configured otherwise)"
        };
        return diag(
            Verdict::HttpError,
            Rule::Authorizer,
            cause.to_owned(),
            evidence,
            vec!["send a valid token: -H 'Authorization: TOKEN' (or the authorizer's identity source header)".to_owned()],
        );
    }
    if status == 403
        && et == Some(&ErrorType::AccessDenied)
        && h.body
            .contains("User is not authorized to access this resource")
    {
        let explicit = h.body.contains("explicit deny");
        return diag(
            Verdict::HttpError,
            Rule::Authorizer,
            if explicit {
                "the Lambda authorizer's policy denies this method explicitly".to_owned()
            } else {
                "the Lambda authorizer allowed the token, but its policy does not cover this method's ARN (a cached policy written for another method is the usual cause)".to_owned()
            },
            evidence,
            vec!["return a policy whose Resource covers arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH (a wildcard over the stage when results are cached)".to_owned()],
        );
    }
    if status == 403 && et == Some(&ErrorType::AccessDenied) {
        return access_denied(&h.body, evidence);
    }
    if status == 403 && et == Some(&ErrorType::Forbidden) {
        return forbidden(obs, opts, topology, name.as_ref(), evidence);
    }
    if status == 429 {
        let (rule, cause) = if et == Some(&ErrorType::LimitExceeded) {
            (
                Rule::Quota,
                "the usage plan's quota for this API key is used up for the period (429 LimitExceededException)",
            )
        } else {
            (
                Rule::Throttled,
                "the usage plan's throttle (rate and burst) for this API key is exceeded (429 TooManyRequestsException)",
            )
        };
        return diag(
            Verdict::HttpError,
            rule,
            cause.to_owned(),
            evidence,
            vec!["slow down and retry with backoff, or raise the plan's limits".to_owned()],
        );
    }
    if status == 504 {
        return diag(Verdict::HttpError, Rule::IntegrationFailure, "the API's integration (the upstream) timed out or failed".to_owned(), evidence, vec!["check the upstream from the API's side: reachability, TLS, and that it answers within the integration timeout (29 s at most)".to_owned()]);
    }
    if status >= 400 {
        return diag(
            Verdict::HttpError,
            Rule::HttpError,
            format!("the server answered {status}"),
            evidence,
            vec![],
        );
    }
    diag(
        Verdict::Ok,
        Rule::Ok,
        format!(
            "{status} from {}",
            obs.connect
                .as_ref()
                .map(|c| c.addr.to_string())
                .unwrap_or_default()
        ),
        evidence,
        vec![],
    )
}

/// 403 ForbiddenException on a private answer for a default execute-api name: an interface
/// endpoint's private DNS (or a zone or profile that sends the name there) took the name over.
fn endpoint_private_dns(
    f: &Facts<'_>,
    api: &parallax_model::ApiId,
    region: &parallax_model::Region,
    evidence: Vec<String>,
) -> Diagnosis {
    let Facts {
        opts,
        topology,
        path,
        public_elsewhere,
        ..
    } = *f;
    let api_type = topology
        .and_then(|t| t.api(api))
        .map(|a| a.endpoint_type.value);
    let kind = match api_type {
        Some(t) => format!("{t} API {api}"),
        None => format!("public API {api}"),
    };
    // What sends the name to an endpoint, asked of each VPC's resolver view: the endpoint's
    // own private DNS, a shared private zone (the centralised-endpoint pattern), or a
    // Route 53 Profile. The probe does not know which VPC it runs in: every VPC whose view
    // answers the observed address is named.
    let routes: Vec<String> = match (topology, path.outcome.addresses.first(), opts.url.name()) {
        (Some(t), Some(first), Some(host)) => {
            use parallax_model::Network;
            use parallax_rules::resolver::{QType, View, ViewKind};
            let kinds: Vec<ViewKind> = match &opts.network {
                Some(Network::Vpc(id)) => vec![ViewKind::Vpc(id.clone())],
                Some(Network::OnPrem(n)) => vec![ViewKind::OnPrem(n.clone())],
                Some(Network::Internet) => Vec::new(),
                None => t
                    .vpcs
                    .iter()
                    .map(|v| ViewKind::Vpc(v.id.value.clone()))
                    .collect(),
            };
            let mut out: Vec<String> = Vec::new();
            for kind in kinds {
                let answer = View::build(t, kind.clone()).answer(host, QType::A);
                if !answer.addresses().contains(first) {
                    continue;
                }
                if let Some(route) = route_to_endpoint(t, &answer.source, &kind, *first)
                    && !out.contains(&route)
                {
                    out.push(route);
                }
            }
            out
        }
        _ => Vec::new(),
    };
    let who = if routes.is_empty() {
        "an interface VPC endpoint for execute-api with private DNS".to_owned()
    } else {
        routes.join(", or ")
    };
    let mut d = diag(
        Verdict::PrivateAnswer,
        Rule::EndpointPrivateDns,
        format!(
            "{who} answers *.execute-api.{region}.{} {} with its private addresses; the endpoint routes only PRIVATE APIs, so the {kind} gets 403 ForbiddenException and its own logs stay empty",
            region.dns_suffix(),
            if matches!(opts.network, Some(parallax_model::Network::OnPrem(_))) {
                "for this on-prem network"
            } else {
                "inside this VPC"
            }
        ),
        evidence,
        {
            let mut fixes: Vec<String> = Vec::new();
            if matches!(opts.network, Some(parallax_model::Network::OnPrem(_))) {
                fixes.push("on the on-prem DNS, forward only the private APIs' own names ({api-id}.execute-api.{region}.amazonaws.com) to the Resolver inbound endpoint, not the whole execute-api domain".to_owned());
            }
            fixes.extend(PRIVATE_DNS_FIXES.iter().map(|s| (*s).to_owned()));
            fixes
        },
    );
    if public_elsewhere.is_none() {
        d.evidence.push("no --compare-dns resolver gave a public answer to confirm with (try --compare-dns public=1.1.1.1)".to_owned());
    }
    d
}

/// 403 MissingAuthenticationTokenException: no resource and method match (not credentials).
fn missing_token(f: &Facts<'_>, evidence: Vec<String>) -> Diagnosis {
    let Facts {
        opts,
        topology,
        name,
        ..
    } = *f;
    // A method with IAM authorization answers an unsigned call the same way.
    if opts.aws_sigv4.is_none()
        && let (Some(ExecuteApiName::Default { api, .. }), Some(t)) = (&name, topology)
        && let Some(a) = t.api(api)
    {
        let path = opts.url.path.split('?').next().unwrap_or("/");
        let rest: Vec<&str> = path.trim_start_matches('/').split('/').skip(1).collect();
        let rest = format!("/{}", rest.join("/"));
        if let Some(r) = a.routes.iter().find(|r| {
            r.authorization == parallax_model::topology::Authorization::AwsIam
                && r.path.as_str().trim_end_matches('/') == rest.trim_end_matches('/')
        }) {
            return diag(
                Verdict::HttpError,
                Rule::MissingAuthToken,
                format!("{} {} uses IAM authorization (AWS_IAM) and this request is not signed: API Gateway answers an unsigned call with Missing Authentication Token", r.method.value.as_str(), r.path.as_str()),
                evidence,
                vec!["sign the request: --aws-sigv4 \"aws:amz:REGION:execute-api\" --user KEY:SECRET (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment)".to_owned()],
            );
        }
    }
    let mut cause = format!(
        "no resource and method match {} {}: API Gateway answers an unknown path or method this way{}",
        opts.method,
        opts.url.path,
        if opts.aws_sigv4.is_none() {
            ", and a method with IAM authorization answers an unsigned call the same way"
        } else {
            " (it is not about credentials)"
        }
    );
    if let (Some(ExecuteApiName::Default { api, .. }), Some(t)) = (&name, topology)
        && let Some(a) = t.api(api)
    {
        let routes: Vec<String> = a
            .routes
            .iter()
            .map(|r| format!("{} /{{stage}}{}", r.method.value.as_str(), r.path.as_str()))
            .collect();
        cause.push_str(&format!(
            "; {api} has {} (stages: {})",
            routes.join(", "),
            a.stages
                .iter()
                .map(|s| s.value.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    diag(Verdict::HttpError, Rule::MissingAuthToken, cause, evidence, vec!["check the path (with the stage first on a default hostname), the method, and that the API was deployed".to_owned()])
}

/// 403 AccessDeniedException: a resource policy refused; the message's resource says whose.
fn access_denied(body: &str, evidence: Vec<String>) -> Diagnosis {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("Message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| body.to_owned());
    // The resource in the message says whose policy it was: the API's, or a private custom
    // domain name's.
    let signed = !message.starts_with("User: anonymous");
    let (whose, fix) = if signed && message.starts_with("User: arn:") {
        (
            "the resource policy and the caller's identity-based policy together",
            "in the API's own account, allow the caller in its IAM policy or in the resource policy; from another account, in both (API Gateway's authorization workflow, tables A and B)",
        )
    } else if let Some(InvokeResource::DomainName { .. }) = denied_resource(&message) {
        (
            "the private custom domain name's policy",
            "allow this caller in the domain name's policy (aws:SourceVpce), with aws apigateway update-domain-name --domain-name-id",
        )
    } else {
        (
            "the API's resource policy",
            "allow this caller in the resource policy (aws:SourceVpce / aws:SourceVpc / aws:SourceIp), then redeploy the API",
        )
    };
    diag(
        Verdict::HttpError,
        Rule::AccessDenied,
        format!("{whose} refused the call: \"{message}\""),
        evidence,
        vec![fix.to_owned()],
    )
}

/// The workarounds of reference §2.6 for an endpoint's private DNS shadowing a public API.
const PRIVATE_DNS_FIXES: [&str; 4] = [
    "call the public API through a custom domain (edge-optimized, or Regional published as a Route 53 alias record, not a CNAME)",
    "turn private DNS off on the execute-api endpoint, and call private APIs by their vpce-specific names with a Host or x-apigw-api-id header, or by the {api-id}-{vpce-id} alias",
    "with private DNS off, add a private hosted zone per private API, so only those names resolve privately",
    "use custom domain names for private APIs (DomainNameV2 with access associations)",
];

fn http_line(obs: &Observation) -> Option<String> {
    let h = obs.http.as_ref()?;
    let status = h.status?;
    let et = h
        .error_type
        .as_ref()
        .map(|t| format!(" {t}"))
        .unwrap_or_default();
    let body: String = h.body.chars().take(200).collect();
    Some(format!("http: {status}{et} {body}"))
}

/// In words, the part of a VPC's resolver view that sent a name to an endpoint.
fn route_to_endpoint(
    t: &Topology,
    source: &parallax_rules::resolver::Source,
    view: &parallax_rules::resolver::ViewKind,
    address: IpAddr,
) -> Option<String> {
    use parallax_rules::resolver::{Source, ViewKind};
    if let (Source::InboundEndpoint { endpoint, inner }, ViewKind::OnPrem(network)) = (source, view)
    {
        let vpc = t.inbound_endpoint(endpoint)?.vpc.value.clone();
        let there = route_to_endpoint(t, inner, &ViewKind::Vpc(vpc.clone()), address)?;
        return Some(format!(
            "the DNS of on-prem network {network}, which forwards the name to Resolver inbound endpoint {endpoint} in {vpc}, where {there},"
        ));
    }
    let ViewKind::Vpc(vpc) = view else {
        return None;
    };
    // The endpoint a customer zone's record leads to, when the address is one of its ENIs.
    let to = t
        .endpoints
        .iter()
        .find(|e| {
            e.is_execute_api()
                && e.subnets
                    .iter()
                    .any(|s| IpAddr::V4(s.address.value) == address)
        })
        .map(|e| {
            format!(
                "; its record sends the name to interface endpoint {} in {}",
                e.id, e.vpc
            )
        })
        .unwrap_or_default();
    let endpoint_in = |id: &parallax_model::VpceId| {
        t.endpoint(id)
            .map(|e| format!("{} in {}", e.id, e.vpc))
            .unwrap_or_else(|| id.to_string())
    };
    Some(match source {
        Source::EndpointZone(id) => match t.endpoint(id) {
            Some(e) => format!("interface endpoint {} (private DNS on) in {}", e.id, e.vpc),
            None => format!("interface endpoint {id} (private DNS on)"),
        },
        Source::PrivateZone(zone) => {
            format!("the private hosted zone {zone} (associated with {vpc}{to})")
        }
        Source::Profile { profile, inner } => match inner.innermost() {
            Source::EndpointZone(id) => format!(
                "the Route 53 Profile {profile} (associated with {vpc}, carrying the private DNS of interface endpoint {})",
                endpoint_in(id)
            ),
            Source::PrivateZone(zone) => format!(
                "the private hosted zone {zone} (shared with {vpc} by the Route 53 Profile {profile}{to})"
            ),
            _ => return None,
        },
        _ => return None,
    })
}

/// 403 ForbiddenException with a public answer: which of the usual causes, most likely first.
fn forbidden(
    obs: &Observation,
    opts: &ProbeOptions,
    topology: Option<&Topology>,
    name: Option<&ExecuteApiName>,
    evidence: Vec<String>,
) -> Diagnosis {
    let tls = obs.tls.as_ref();
    let mk = |rule, cause: String, fixes: Vec<String>| Diagnosis {
        verdict: Verdict::HttpError,
        rule,
        cause,
        evidence: evidence.clone(),
        fixes,
        confirmation: None,
    };
    if tls.is_some_and(|t| t.client_cert_requested) && opts.identity.is_none() {
        return mk(Rule::ClientCertRefused, "the custom domain uses mutual TLS and no client certificate was sent; API Gateway answers that with HTTP 403".to_owned(), vec!["pass --cert and --key with a certificate from the domain's truststore".to_owned()]);
    }
    if tls.is_some_and(|t| t.client_cert_requested) {
        return mk(
            Rule::ClientCertRefused,
            "the custom domain uses mutual TLS and refused our certificate (not from its truststore, expired, more than 4 CA levels, or a weak key or signature); API Gateway answers that with HTTP 403".to_owned(),
            vec!["use a certificate issued by a CA in the domain's truststore, valid today".to_owned()],
        );
    }
    if let Some((rule, cause, fixes)) = private_domain_cause(obs, opts, topology)
        .or_else(|| vpce_name_cause(opts, name, topology))
        .or_else(|| default_name_cause(opts, name, topology))
    {
        return mk(rule, cause, fixes);
    }
    let (rule, cause) = if opts.api_key.is_none()
        && !opts
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("x-api-key"))
    {
        (Rule::ApiKey, "most likely the method requires an API key and none was sent (x-api-key); a missing stage in the path and a disabled default endpoint answer the same way".to_owned())
    } else {
        (Rule::ApiKey, "most likely the API key is not valid here: unknown, disabled, or not in a usage plan bound to this stage; a missing stage in the path answers the same way".to_owned())
    };
    mk(
        rule,
        cause,
        vec![
            "send a valid key as x-api-key, one in a usage plan of this API and stage".to_owned(),
            "check the stage is the first path segment".to_owned(),
        ],
    )
}

/// A private custom domain name: only endpoints with an access association may invoke it,
/// and its base path mappings pick the API.
fn private_domain_cause(
    obs: &Observation,
    opts: &ProbeOptions,
    topology: Option<&Topology>,
) -> Option<(Rule, String, Vec<String>)> {
    if let (Some(t), Some(host)) = (topology, opts.url.name())
        && let Some(d) = t
            .custom_domain(host)
            .filter(|d| d.endpoint_type.value == EndpointType::Private)
    {
        if let Some(parallax_model::FrontDoor::VpcEndpoint(v)) = &obs.outcome.front_door
            && !d.access_associations.iter().any(|a| a.value == *v)
        {
            return Some((
                Rule::PrivateDomainAccess,
                format!(
                    "{} is a private custom domain name and {v} has no access association with it; only associated endpoints may invoke it",
                    d.name.value
                ),
                vec![format!(
                    "create an access association between {} and {v} (AWS::ApiGateway::DomainNameAccessAssociation, aws apigateway create-domain-name-access-association)",
                    d.name.value
                )],
            ));
        }
        let first = first_segment(&opts.url.path);
        if !d
            .mappings
            .iter()
            .any(|m| m.base_path.is_empty() || m.base_path == first)
        {
            return Some((
                Rule::UnknownStage,
                format!(
                    "`{first}` is not a base path of {} (base paths: {})",
                    d.name.value,
                    d.mappings
                        .iter()
                        .map(|m| m.base_path.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                vec!["start the path with one of the domain's base paths".to_owned()],
            ));
        }
    }
    None
}

/// A default execute-api name whose API the topology knows: private, default endpoint
/// disabled, or no such stage.
fn default_name_cause(
    opts: &ProbeOptions,
    name: Option<&ExecuteApiName>,
    topology: Option<&Topology>,
) -> Option<(Rule, String, Vec<String>)> {
    if let (Some(ExecuteApiName::Default { api, .. }), Some(t)) = (name, topology)
        && let Some(a) = t.api(api)
    {
        if a.endpoint_type.value == EndpointType::Private {
            return Some((Rule::PrivateApiOutside, format!("{api} is a PRIVATE API and this request did not come through one of its VPC endpoints"), vec!["call it from a VPC with an execute-api endpoint, by a name that resolves to the endpoint".to_owned()]));
        }
        if a.disable_execute_api_endpoint {
            return Some((
                Rule::DefaultEndpointDisabled,
                format!(
                    "{api} has its default execute-api endpoint disabled; it answers only through its custom domains"
                ),
                vec!["call the API through its custom domain".to_owned()],
            ));
        }
        let stage = first_segment(&opts.url.path);
        if !a.stages.iter().any(|s| s.value == stage) {
            return Some((
                Rule::UnknownStage,
                format!(
                    "`{stage}` is not a stage of {api} (stages: {}); the stage comes first in the path of a default hostname",
                    a.stages
                        .iter()
                        .map(|s| s.value.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                vec!["put the stage first in the path".to_owned()],
            ));
        }
    }
    None
}

/// An endpoint-specific name (`vpce-…-….execute-api.{region}.vpce.amazonaws.com`): the API
/// is the one a `Host` header (`{api}.execute-api.{region}.amazonaws.com`) or `x-apigw-api-id`
/// names, and an interface endpoint routes only PRIVATE APIs ("Invoke a private API"): a
/// REGIONAL or EDGE API named there answers 403 ForbiddenException, and so does a request that
/// names no API. Without a topology the API's type is not known, so the endpoint is named as the
/// likely cause and the API key as the other.
fn vpce_name_cause(
    opts: &ProbeOptions,
    name: Option<&ExecuteApiName>,
    topology: Option<&Topology>,
) -> Option<(Rule, String, Vec<String>)> {
    let Some(ExecuteApiName::VpceEndpoint { vpce, .. }) = name else {
        return None;
    };
    let header = |n: &str| {
        opts.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.trim())
    };
    let host = header("host").map(|h| h.rsplit_once(':').map_or(h, |(n, _)| n));
    let api = header("x-apigw-api-id")
        .and_then(|v| v.parse::<parallax_model::ApiId>().ok())
        .or_else(|| match host.and_then(ExecuteApiName::parse) {
            Some(ExecuteApiName::Default { api, .. }) => Some(api),
            _ => None,
        });
    let strict_fixes = |what: &str| {
        vec![
            format!(
                "call {what} by its own name (its private DNS name, {{api}}-{{vpce}} alias, or the custom domain name) so the SNI matches"
            ),
            format!("or set {what}'s endpoint access mode to BASIC"),
        ]
    };
    let Some(api) = api else {
        // A Host that is a custom domain name is a private custom domain call: STRICT refuses
        // it through the endpoint-specific name; otherwise not this rule.
        if let Some(h) = host.filter(|h| ExecuteApiName::parse(h).is_none()) {
            let strict = topology
                .and_then(|t| h.parse().ok().and_then(|n| t.custom_domain(&n)))
                .is_some_and(|d| {
                    d.endpoint_access_mode.as_ref().is_some_and(|m| {
                        m.value == parallax_model::topology::EndpointAccessMode::Strict
                    })
                });
            return strict.then(|| {
                (
                    Rule::StrictAccessMode,
                    format!("{h} has endpoint access mode STRICT: API Gateway matches the TLS session's SNI to the domain, and this request's SNI is {vpce}'s endpoint-specific name"),
                    strict_fixes(h),
                )
            });
        }
        return Some((
            Rule::VpceNameWithoutApi,
            format!(
                "{vpce}'s endpoint-specific name does not say which API: send `Host: {{api-id}}.execute-api.{{region}}.amazonaws.com` or `x-apigw-api-id: {{api-id}}`"
            ),
            vec![
                "add -H 'x-apigw-api-id: API_ID' (or the API's default hostname as Host)"
                    .to_owned(),
            ],
        ));
    };
    let fixes = vec![
        format!(
            "call {api} by its default hostname from outside the endpoint's private DNS (a VPC without it, or through a NAT gateway), or through a custom domain"
        ),
        format!("or make {api} PRIVATE and allow {vpce} in its resource policy"),
    ];
    match topology.and_then(|t| t.api(&api)) {
        Some(a)
            if a.endpoint_type.value == EndpointType::Private
                && a.endpoint_access_mode.as_ref().is_some_and(|m| {
                    m.value == parallax_model::topology::EndpointAccessMode::Strict
                }) =>
        {
            Some((
                Rule::StrictAccessMode,
                format!(
                    "{api} has endpoint access mode STRICT: a private API invoked by {vpce}'s endpoint-specific name (with x-apigw-api-id or a Host) needs BASIC, because the TLS session's SNI does not name the API"
                ),
                strict_fixes(&api.to_string()),
            ))
        }
        Some(a) if a.endpoint_type.value == EndpointType::Private => None,
        Some(a) => Some((
            Rule::PublicApiThroughEndpoint,
            format!(
                "{api} is a {} API, and this request came through interface endpoint {vpce}, which routes only PRIVATE APIs: API Gateway answers 403 ForbiddenException",
                a.endpoint_type.value
            ),
            fixes,
        )),
        None => Some((
            Rule::PublicApiThroughEndpoint,
            format!(
                "this request came through interface endpoint {vpce}, which routes only PRIVATE APIs: if {api} is REGIONAL or EDGE, API Gateway answers 403 ForbiddenException; if it is PRIVATE, its method may require an API key (x-api-key)"
            ),
            fixes,
        )),
    }
}

/// The first segment of a URL path: a REST API's stage, or a custom domain's base path.
fn first_segment(path: &str) -> &str {
    path.trim_start_matches('/')
        .split(['/', '?'])
        .next()
        .unwrap_or("")
}

/// The resource an `AccessDeniedException` message names ("… on resource: {arn} …"), parsed.
fn denied_resource(message: &str) -> Option<InvokeResource> {
    let (_, after) = message.split_once("on resource: ")?;
    let arn = after.split_whitespace().next()?;
    InvokeResource::parse_arn(arn)
}
