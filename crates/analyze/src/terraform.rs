//! Terraform plan JSON (`terraform show -json PLAN`) into [`Imported`]. Values known only after
//! apply are unknown; references between resources of the same plan are read from the
//! configuration's expressions (`aws_vpc.main`), so an endpoint still finds its VPC.

use serde_json::Value;

use crate::imported::{
    Api, ApiKind, Cname, Domain, Endpoint, Imported, KeyMethod, Loc, Ref, UsagePlan, Vpc, Zone,
};
use crate::source::{Kind, Node};

/// Whether a parsed JSON document is a Terraform plan.
pub fn is_plan(root: &Node) -> bool {
    root.get("planned_values").is_some() && root.get("format_version").is_some()
}

pub fn import(root: &Node, file: &str) -> Imported {
    let mut out = Imported::default();
    let mut resources = Vec::new();
    if let Some(m) = root
        .get("planned_values")
        .and_then(|p| p.get("root_module"))
    {
        collect(m, &mut resources);
    }
    // address → the references of each attribute expression, from the configuration.
    let mut refs: Vec<(String, String, Vec<String>)> = Vec::new();
    if let Some(m) = root.get("configuration").and_then(|c| c.get("root_module")) {
        collect_refs(m, "", &mut refs);
    }
    // Looked up once per resource attribute: a map, not a scan (plans have 100 000 resources).
    // Repeated blocks (`api_stages`) give one entry each: their references are joined.
    let mut joined: std::collections::HashMap<(String, String), Vec<String>> =
        std::collections::HashMap::new();
    for (a, k, r) in refs {
        joined.entry((a, k)).or_default().extend(r);
    }
    let refs = joined;
    // Every resource a reference expression names (`aws_api_gateway_rest_api.main`).
    let resources_named = |address: &str, attr: &str| -> Vec<String> {
        let base = address.split('[').next().unwrap_or(address);
        let mut named: Vec<String> = refs
            .get(&(base.to_owned(), attr.to_owned()))
            .map(|r| {
                r.iter()
                    .map(|x| x.trim_end_matches(".id").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        named.sort();
        named.dedup();
        named
    };
    let reference = |address: &str, attr: &str| -> Option<String> {
        let base = address.split('[').next().unwrap_or(address);
        refs.get(&(base.to_owned(), attr.to_owned()))
            .and_then(|r| {
                r.iter()
                    .find(|x| x.matches('.').count() == 1)
                    .or(r.first())
                    .cloned()
            })
            .map(|r| r.trim_end_matches(".id").to_owned())
    };
    for r in &resources {
        let address = r
            .get("address")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned();
        let ty = r.get("type").and_then(Node::as_str).unwrap_or("");
        let values = r.get("values").map(to_json).unwrap_or(Value::Null);
        let loc = Loc {
            file: file.to_owned(),
            line: r.line,
            resource: address.clone(),
        };
        let s = |k: &str| values.get(k).and_then(Value::as_str).map(str::to_owned);
        let b = |k: &str| values.get(k).and_then(Value::as_bool);
        let link = |attr: &str| -> Ref {
            match (
                values.get(attr).and_then(Value::as_str),
                reference(&address, attr),
            ) {
                (Some(id), _) => Ref::Id(id.to_owned()),
                (None, Some(a)) => Ref::Key(a),
                (None, None) => Ref::Unknown(format!("{address}.{attr} is known only after apply")),
            }
        };
        if out.account.is_none() {
            out.account = ["owner_id", "arn"]
                .iter()
                .find_map(|k| s(k).and_then(|v| crate::imported::account_of(&v)));
        }
        if ty == "aws_vpc_endpoint" && out.region.is_none() {
            out.region = s("service_name").and_then(|n| crate::imported::region_of_service(&n));
        }
        match ty {
            "aws_vpc" => out.vpcs.push(Vpc {
                key: address.clone(),
                id: s("id"),
                dns_support: Some(b("enable_dns_support").unwrap_or(true)),
                dns_hostnames: Some(b("enable_dns_hostnames").unwrap_or(false)),
                loc,
            }),
            "aws_vpc_endpoint" => out.endpoints.push(Endpoint {
                key: address.clone(),
                id: s("id"),
                vpc: link("vpc_id"),
                service: s("service_name").map(|n| n.rsplit('.').next().unwrap_or(&n).to_owned()),
                interface: Some(s("vpc_endpoint_type").as_deref() == Some("Interface")),
                private_dns: Some(b("private_dns_enabled").unwrap_or(false)),
                loc,
            }),
            "aws_api_gateway_rest_api" => {
                let conf = values.get("endpoint_configuration").and_then(|c| c.get(0));
                let kind = ApiKind::of_configuration(conf);
                let policy = s("policy")
                    .filter(|p| !p.is_empty())
                    .and_then(|p| serde_json::from_str(&p).ok());
                let vpces = crate::imported::id_refs(conf.and_then(|c| c.get("vpc_endpoint_ids")));
                out.apis.push(Api {
                    key: address.clone(),
                    id: s("id"),
                    name: s("name").unwrap_or_else(|| address.clone()),
                    kind,
                    policy,
                    policy_unknown: false,
                    vpc_endpoints: vpces,
                    disable_default: Some(b("disable_execute_api_endpoint").unwrap_or(false)),
                    loc,
                });
            }
            "aws_api_gateway_rest_api_policy" => {
                let target = reference(&address, "rest_api_id");
                let policy = s("policy").and_then(|p| serde_json::from_str(&p).ok());
                if let Some(api) = out.apis.iter_mut().find(|a| {
                    Some(&a.key) == target.as_ref() || (a.id.is_some() && a.id == s("rest_api_id"))
                }) {
                    api.policy = policy;
                }
            }
            "aws_api_gateway_domain_name" => {
                let kind = ApiKind::of_configuration(
                    values.get("endpoint_configuration").and_then(|c| c.get(0)),
                );
                let mtls = values
                    .get("mutual_tls_authentication")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty());
                out.domains.push(Domain {
                    key: address.clone(),
                    name: s("domain_name"),
                    kind,
                    mtls,
                    apis: Vec::new(),
                    loc,
                });
            }
            "aws_api_gateway_base_path_mapping" => {
                let api = link("api_id");
                let domain_ref = reference(&address, "domain_name");
                let name = s("domain_name");
                if let Some(d) = out.domains.iter_mut().find(|d| {
                    Some(&d.key) == domain_ref.as_ref() || (name.is_some() && d.name == name)
                }) {
                    d.apis.push(api);
                }
            }
            "aws_api_gateway_method" if b("api_key_required") == Some(true) => {
                out.key_methods.push(KeyMethod {
                    api: link("rest_api_id"),
                    loc,
                });
            }
            "aws_api_gateway_usage_plan" => {
                let stages = values
                    .get("api_stages")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut apis: Vec<Ref> = stages
                    .iter()
                    .filter_map(|st| st.get("api_id").and_then(Value::as_str))
                    .map(|id| Ref::Id(id.to_owned()))
                    .collect();
                if apis.len() < stages.len() {
                    // Known only after apply: the configuration says which resources they are.
                    let named = resources_named(&address, "api_stages.api_id");
                    if named.is_empty() {
                        apis.push(Ref::Unknown(format!(
                            "{address}.api_stages.api_id is known only after apply"
                        )));
                    }
                    apis.extend(named.into_iter().map(Ref::Key));
                }
                out.usage_plans.push(UsagePlan {
                    key: address.clone(),
                    id: s("id"),
                    apis,
                    loc,
                });
            }
            "aws_api_gateway_usage_plan_key" => out.plan_keys.push(link("usage_plan_id")),
            "aws_route53_zone" => {
                let vpcs = values
                    .get("vpc")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|v| {
                                v.get("vpc_id").and_then(Value::as_str).map_or_else(
                                    || Ref::Unknown("vpc_id known only after apply".into()),
                                    |i| Ref::Id(i.to_owned()),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.zones.push(Zone {
                    key: address.clone(),
                    name: s("name"),
                    vpcs,
                    loc,
                });
            }
            "aws_route53_record" if s("type").as_deref() == Some("CNAME") => {
                let target = values
                    .get("records")
                    .and_then(|r| r.get(0))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let target_domain = if target.is_none() {
                    reference(&address, "records")
                } else {
                    None
                };
                out.cnames.push(Cname {
                    name: s("name"),
                    target,
                    target_domain,
                    loc,
                });
            }
            _ => {}
        }
    }
    out
}

fn collect<'a>(module: &'a Node, out: &mut Vec<&'a Node>) {
    if let Some(Node {
        kind: Kind::Seq(rs),
        ..
    }) = module.get("resources")
    {
        out.extend(rs.iter());
    }
    if let Some(Node {
        kind: Kind::Seq(children),
        ..
    }) = module.get("child_modules")
    {
        for c in children {
            collect(c, out);
        }
    }
}

fn collect_refs(module: &Node, prefix: &str, out: &mut Vec<(String, String, Vec<String>)>) {
    if let Some(Node {
        kind: Kind::Seq(rs),
        ..
    }) = module.get("resources")
    {
        for r in rs {
            let address = format!(
                "{prefix}{}",
                r.get("address").and_then(Node::as_str).unwrap_or("")
            );
            for (attr, expr) in r.get("expressions").map(Node::entries).unwrap_or_default() {
                if let Some(refs) = references(expr, prefix) {
                    out.push((address.clone(), attr.clone(), refs));
                }
                // A nested block (`api_stages { api_id = … }`) is a list of expression maps.
                if let Kind::Seq(blocks) = &expr.kind {
                    for block in blocks {
                        for (sub, e) in block.entries() {
                            if let Some(refs) = references(e, prefix) {
                                out.push((address.clone(), format!("{attr}.{sub}"), refs));
                            }
                        }
                    }
                }
            }
        }
    }
    for (name, call) in module
        .get("module_calls")
        .map(Node::entries)
        .unwrap_or_default()
    {
        if let Some(m) = call.get("module") {
            collect_refs(m, &format!("{prefix}module.{name}."), out);
        }
    }
}

/// The resources an expression refers to, with the module prefix.
fn references(expr: &Node, prefix: &str) -> Option<Vec<String>> {
    match expr.get("references") {
        Some(Node {
            kind: Kind::Seq(list),
            ..
        }) => Some(
            list.iter()
                .filter_map(|x| x.as_str().map(|s| format!("{prefix}{s}")))
                .collect(),
        ),
        _ => None,
    }
}

/// A positioned node as plain JSON.
pub fn to_json(n: &Node) -> Value {
    match &n.kind {
        Kind::Null => Value::Null,
        Kind::Bool(b) => Value::Bool(*b),
        Kind::Int(i) => Value::from(*i),
        Kind::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Kind::Str(s) => Value::String(s.clone()),
        Kind::Seq(v) => Value::Array(v.iter().map(to_json).collect()),
        Kind::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Kind::Tag(_, inner) => to_json(inner),
    }
}
