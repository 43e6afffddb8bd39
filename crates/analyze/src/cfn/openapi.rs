//! What an OpenAPI 3 or Swagger 2.0 definition of a REST API says about reachability, wherever
//! the definition is: a RestApi's `Body`, SAM's `DefinitionBody`, a local file named by
//! `DefinitionUri`, `BodyS3Location` or `AWS::Include`, or a standalone file (an API Gateway
//! export) given on the command line.
//!
//! Read from it: `x-amazon-apigateway-policy`, `x-amazon-apigateway-endpoint-configuration`
//! (`vpcEndpointIds`, `disableExecuteApiEndpoint`; at the top level in Swagger 2.0, under
//! `servers` in OpenAPI 3, a `servers` mapping tolerated where a list belongs),
//! `x-amazon-apigateway-api-key-source`, `x-amazon-apigateway-security-policy` and
//! `x-amazon-apigateway-endpoint-access-mode`, the methods whose security requires an API key, and
//! the authorizers the methods use (`x-amazon-apigateway-authorizer`,
//! `x-amazon-apigateway-authtype`).

use crate::imported::AuthKind;

use super::intrinsics::V;

/// The reachability-relevant parts of one definition.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Definition {
    pub(crate) title: Option<String>,
    pub(crate) policy: Option<V>,
    pub(crate) vpc_endpoint_ids: Option<V>,
    pub(crate) disable_execute_api_endpoint: Option<V>,
    /// `HEADER` or `AUTHORIZER`.
    pub(crate) api_key_source: Option<String>,
    /// `METHOD /path` of each operation that requires an API key.
    pub(crate) key_methods: Vec<String>,
    /// The authorizer kinds that operations use.
    pub(crate) authorizers: Vec<AuthKind>,
    /// `x-amazon-apigateway-security-policy`.
    pub(crate) security_policy: Option<V>,
    /// `x-amazon-apigateway-endpoint-access-mode`.
    pub(crate) endpoint_access_mode: Option<V>,
    /// `paths` has at least one path.
    pub(crate) has_paths: bool,
}

/// HTTP methods of an OpenAPI path item, with API Gateway's `x-amazon-apigateway-any-method`.
const OPERATIONS: [&str; 9] = [
    "get",
    "put",
    "post",
    "delete",
    "options",
    "head",
    "patch",
    "trace",
    "x-amazon-apigateway-any-method",
];

/// Whether a document is an OpenAPI 3 or Swagger 2.0 definition (`openapi` or `swagger`, its
/// `paths` a mapping), as API Gateway and SAM recognise one. `paths` left out or empty (`paths:`)
/// is a definition without methods: SAM passes such a body through as it is (its translator's
/// `api_with_merge_definitions_null_paths` test), adding the paths of the API's events.
pub(crate) fn is_definition(doc: &V) -> bool {
    (doc.get("openapi").is_some() || doc.get("swagger").is_some())
        && matches!(doc.get("paths"), None | Some(V::Map(_) | V::Null))
}

impl Definition {
    pub(crate) fn read(doc: &V) -> Definition {
        let mut d = Definition {
            title: doc
                .get("info")
                .and_then(|i| i.get("title"))
                .and_then(V::as_str)
                .map(str::to_owned),
            policy: doc.get("x-amazon-apigateway-policy").cloned(),
            security_policy: doc.get("x-amazon-apigateway-security-policy").cloned(),
            endpoint_access_mode: doc.get("x-amazon-apigateway-endpoint-access-mode").cloned(),
            api_key_source: doc
                .get("x-amazon-apigateway-api-key-source")
                .and_then(V::as_str)
                .map(str::to_owned),
            ..Definition::default()
        };
        // Swagger 2.0: at the top level. OpenAPI 3: on each server; a mapping where the list
        // belongs is read as a list of one (exports and hand-written files both have it).
        let mut confs: Vec<&V> = doc
            .get("x-amazon-apigateway-endpoint-configuration")
            .into_iter()
            .collect();
        match doc.get("servers") {
            Some(V::List(servers)) => confs.extend(
                servers
                    .iter()
                    .filter_map(|s| s.get("x-amazon-apigateway-endpoint-configuration")),
            ),
            Some(server @ V::Map(_)) => {
                confs.extend(server.get("x-amazon-apigateway-endpoint-configuration"))
            }
            _ => {}
        }
        for c in confs {
            if d.vpc_endpoint_ids.is_none() {
                d.vpc_endpoint_ids = c.get("vpcEndpointIds").cloned();
            }
            if d.disable_execute_api_endpoint.is_none() {
                d.disable_execute_api_endpoint = c.get("disableExecuteApiEndpoint").cloned();
            }
        }
        // Security schemes: Swagger 2.0's securityDefinitions, OpenAPI 3's components.
        let schemes = doc
            .get("securityDefinitions")
            .or_else(|| doc.get("components").and_then(|c| c.get("securitySchemes")));
        let scheme = |name: &str| schemes.and_then(|s| s.get(name));
        let global = doc.get("security");
        if let Some(V::Map(paths)) = doc.get("paths") {
            d.has_paths = !paths.is_empty();
            for (path, item) in paths {
                for op in OPERATIONS {
                    let Some(operation) = item.get(op) else {
                        continue;
                    };
                    let method = if op == "x-amazon-apigateway-any-method" {
                        "ANY".to_owned()
                    } else {
                        op.to_ascii_uppercase()
                    };
                    let security = operation.get("security").or(global);
                    for name in requirement_names(security) {
                        let Some(s) = scheme(&name) else { continue };
                        match scheme_kind(s) {
                            Scheme::ApiKey => d.key_methods.push(format!("{method} {path}")),
                            Scheme::Authorizer(k) => {
                                if !d.authorizers.contains(&k) {
                                    d.authorizers.push(k);
                                }
                            }
                            Scheme::Other => {}
                        }
                    }
                }
            }
        }
        d
    }
}

/// The names of the schemes a `security` list requires (each entry is a map of names).
fn requirement_names(security: Option<&V>) -> Vec<String> {
    match security {
        Some(V::List(reqs)) => reqs
            .iter()
            .flat_map(|r| match r {
                V::Map(m) => m.iter().map(|(k, _)| k.clone()).collect(),
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

enum Scheme {
    ApiKey,
    Authorizer(AuthKind),
    Other,
}

/// What a security scheme is to API Gateway: the `x-api-key` header (a usage plan key), an
/// authorizer (Lambda, IAM by SigV4, Cognito), or something API Gateway does not enforce.
fn scheme_kind(s: &V) -> Scheme {
    let lower = |v: Option<&V>| v.and_then(V::as_str).map(str::to_ascii_lowercase);
    if let Some(auth) = s.get("x-amazon-apigateway-authorizer") {
        return match lower(auth.get("type")).as_deref() {
            Some("cognito_user_pools") => Scheme::Authorizer(AuthKind::Cognito),
            Some("token" | "request") => Scheme::Authorizer(AuthKind::Lambda),
            // HTTP APIs' JWT authorizers are not REST API authorizers.
            _ => Scheme::Other,
        };
    }
    match lower(s.get("x-amazon-apigateway-authtype")).as_deref() {
        Some("awssigv4") => return Scheme::Authorizer(AuthKind::Iam),
        Some("cognito_user_pools") => return Scheme::Authorizer(AuthKind::Cognito),
        Some("custom") => return Scheme::Authorizer(AuthKind::Lambda),
        _ => {}
    }
    if lower(s.get("type")).as_deref() == Some("apikey")
        && lower(s.get("name")).as_deref() == Some("x-api-key")
        && lower(s.get("in")).as_deref() == Some("header")
    {
        return Scheme::ApiKey;
    }
    Scheme::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> V {
        V::Str(x.to_owned())
    }
    fn m(entries: Vec<(&str, V)>) -> V {
        V::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    #[test]
    fn openapi3_servers_as_a_mapping_and_key_security() {
        let doc = m(vec![
            ("openapi", s("3.0.1")),
            (
                "servers",
                m(vec![(
                    "x-amazon-apigateway-endpoint-configuration",
                    m(vec![
                        ("vpcEndpointIds", V::List(vec![s("vpce-0abc")])),
                        ("disableExecuteApiEndpoint", V::Bool(true)),
                    ]),
                )]),
            ),
            (
                "components",
                m(vec![(
                    "securitySchemes",
                    m(vec![(
                        "api_key",
                        m(vec![
                            ("type", s("apiKey")),
                            ("name", s("x-api-key")),
                            ("in", s("header")),
                        ]),
                    )]),
                )]),
            ),
            (
                "paths",
                m(vec![(
                    "/pets",
                    m(vec![(
                        "get",
                        m(vec![(
                            "security",
                            V::List(vec![m(vec![("api_key", V::List(vec![]))])]),
                        )]),
                    )]),
                )]),
            ),
        ]);
        assert!(is_definition(&doc));
        let d = Definition::read(&doc);
        assert_eq!(d.vpc_endpoint_ids, Some(V::List(vec![s("vpce-0abc")])));
        assert_eq!(d.disable_execute_api_endpoint, Some(V::Bool(true)));
        assert_eq!(d.key_methods, vec!["GET /pets".to_owned()]);
        // Without paths, or `paths:` empty, a body is still a definition (SAM passes it as it
        // is); paths that are not a mapping, or no version, are not.
        assert!(is_definition(&m(vec![("swagger", V::Num(2.0))])));
        assert!(is_definition(&m(vec![
            ("swagger", V::Num(2.0)),
            ("paths", V::Null)
        ])));
        assert!(!is_definition(&m(vec![
            ("swagger", V::Num(2.0)),
            ("paths", V::List(vec![]))
        ])));
        assert!(!is_definition(&m(vec![
            ("this", s("is")),
            ("a", s("swagger"))
        ])));
    }
}
