//! Terraform plan JSON (`terraform show -json PLAN`) into [`Imported`]. Values known only after
//! apply (`after_unknown`) are unknown, never empty: a policy known only after apply is not
//! "allows nothing", an endpoint whose service name is known only after apply may be
//! execute-api. References between resources of the same plan are read from the
//! configuration's expressions (`aws_vpc.main`), so an endpoint still finds its VPC. With the
//! configuration's `.tf` files (given, or beside the plan), findings point at the resource
//! blocks; without them, at the resource address.

use serde_json::Value;

use std::path::{Path, PathBuf};

use crate::hcl::Declarations;
use crate::imported::{
    Api, ApiKind, AuthKind, Cname, Domain, Endpoint, Imported, KeyMethod, Loc, Ref, UsagePlan, Vpc,
    Zone,
};
use crate::source::{Kind, Node};

/// Whether a parsed JSON document is a Terraform plan.
pub fn is_plan(root: &Node) -> bool {
    root.get("planned_values").is_some() && root.get("format_version").is_some()
}

pub fn import(root: &Node, file: &str) -> Imported {
    import_with(root, file, None, crate::input::DEFAULT_MAX_INPUT)
}

/// The local modules a configuration calls, with their address prefixes (`module.net.`), from
/// the plan's `configuration`: a `source` that starts with `./` or `../` is a directory relative
/// to the calling module's.
fn local_modules(module: &Node, prefix: &str, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    for (name, call) in module
        .get("module_calls")
        .map(Node::entries)
        .unwrap_or_default()
    {
        let Some(source) = call.get("source").and_then(Node::as_str) else {
            continue;
        };
        if !(source.starts_with("./") || source.starts_with("../")) {
            continue;
        }
        let sub = dir.join(source);
        let p = format!("{prefix}module.{name}.");
        if out.len() < 1000 {
            out.push((p.clone(), sub.clone()));
        }
        if let Some(m) = call.get("module") {
            local_modules(m, &p, &sub, out);
        }
    }
}

/// Whether a directory holds `.tf` files.
pub fn has_tf_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "tf"))
    })
}

/// [`import`] with the configuration directory (`--tf-dir`); without one, the plan's own
/// directory is used when it holds `.tf` files.
pub fn import_with(root: &Node, file: &str, tf_dir: Option<&Path>, max_bytes: u64) -> Imported {
    let mut out = Imported::default();
    let beside = Path::new(file).parent().map(|p| {
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.to_path_buf()
        }
    });
    let config_dir = tf_dir
        .map(Path::to_path_buf)
        .or_else(|| beside.filter(|d| has_tf_files(d)));
    let decls = match &config_dir {
        Some(dir) => {
            let mut modules = Vec::new();
            if let Some(m) = root.get("configuration").and_then(|c| c.get("root_module")) {
                local_modules(m, "", dir, &mut modules);
            }
            let d = Declarations::read(dir, &modules, max_bytes);
            out.errors.extend(d.errors.iter().cloned());
            if d.is_empty() && tf_dir.is_some() {
                out.errors.push((
                    Loc {
                        file: dir.display().to_string(),
                        line: 0,
                        resource: String::new(),
                    },
                    "--tf-dir holds no resource blocks in *.tf files".to_owned(),
                ));
            }
            d
        }
        None => Declarations::default(),
    };
    // address → which attributes are known only after apply.
    // Borrowed from the plan's tree: looked at for a few attributes of a few resource types, so
    // not converted (100,000 conversions showed in the profile).
    let mut after_unknown: foldhash::HashMap<&str, &Node> = foldhash::HashMap::default();
    if let Some(Node {
        kind: Kind::Seq(changes),
        ..
    }) = root.get("resource_changes")
    {
        for c in changes {
            if let (Some(a), Some(u)) = (
                c.get("address").and_then(Node::as_str),
                c.get("change").and_then(|ch| ch.get("after_unknown")),
            ) {
                after_unknown.insert(a, u);
            }
        }
    }
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
    // Address, then attribute: looked up by borrowed names, with no key made per lookup.
    let mut joined: Refs = Refs::default();
    for (a, k, r) in refs {
        joined.entry(a).or_default().entry(k).or_default().extend(r);
    }
    let refs = joined;
    let refs_of = |address: &str, attr: &str| refs.get(address).and_then(|m| m.get(attr));
    // Every resource a reference expression names (`aws_api_gateway_rest_api.main`).
    let resources_named = |address: &str, attr: &str| -> Vec<String> {
        let base = address.split('[').next().unwrap_or(address);
        let mut named: Vec<String> = refs_of(base, attr)
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
    // The resource an attribute's expression names. Inside a module, `var.x` is followed to
    // the module call's argument (`module.m.var.x` → what `x = …` names in the caller).
    let reference = |address: &str, attr: &str| -> Option<String> {
        let pick = |address: &str, attr: &str| -> Option<String> {
            refs_of(address, attr).and_then(|r| {
                r.iter()
                    .find(|x| {
                        let local = x.rsplit("module.").next().unwrap_or(x);
                        local.split('.').nth(1).is_some() && local.matches('.').count() == 1
                    })
                    .or(r.first())
                    .cloned()
            })
        };
        let base = address.split('[').next().unwrap_or(address);
        let mut found = pick(base, attr)?;
        for _ in 0..16 {
            let Some((module, var)) = found.rsplit_once("var.") else {
                break;
            };
            let var = var.split('.').next().unwrap_or(var);
            match pick(&format!("{module}var"), var) {
                Some(next) => found = next,
                None => break,
            }
        }
        Some(found.trim_end_matches(".id").to_owned())
    };
    let mut attached_policies: Vec<AttachedPolicy> = Vec::new();
    let mut zone_associations: Vec<(Ref, Ref)> = Vec::new();
    let mut endpoint_policies: Vec<(Ref, Option<Value>, bool)> = Vec::new();
    for r in &resources {
        let address = r
            .get("address")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned();
        let ty = r.get("type").and_then(Node::as_str).unwrap_or("");
        // Read where it is needed: a scalar straight from the tree, a nested block converted
        // to JSON alone (converting every resource's `values` was 8% of a 100k plan).
        let values = r.get("values");
        let field = |k: &str| values.and_then(|v| v.get(k));
        let sub = |k: &str| field(k).map(to_json);
        let decl = decls.get(&address);
        // A plan is one line: its line numbers say nothing. The block, or the address.
        let loc = match decl {
            Some(d) => Loc {
                file: d.file.clone(),
                line: d.line,
                resource: address.clone(),
            },
            None => Loc {
                file: file.to_owned(),
                line: 0,
                resource: address.clone(),
            },
        };
        let unknown_attrs = after_unknown.get(address.as_str());
        // Known only after apply: `true`, or any part of a nested value.
        let later = |k: &str| unknown_attrs.and_then(|u| u.get(k)).is_some_and(any_true);
        let s = |k: &str| field(k).and_then(Node::as_str).map(str::to_owned);
        let b = |k: &str| match field(k).map(|n| &n.kind) {
            Some(Kind::Bool(x)) => Some(*x),
            _ => None,
        };
        let link = |attr: &str| -> Ref {
            match (
                field(attr).and_then(Node::as_str),
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
            "aws_vpc_endpoint" => {
                let mut service =
                    s("service_name").map(|n| n.rsplit('.').next().unwrap_or(&n).to_owned());
                if service.is_none() && later("service_name") {
                    // The configuration's text can still say which service it is.
                    let named = decl
                        .and_then(|d| d.attributes.get("service_name"))
                        .is_some_and(|t| t.contains("execute-api"));
                    if named {
                        service = Some("execute-api".to_owned());
                    } else {
                        out.unknowns.push((
                            loc.clone(),
                            "service_name is known only after apply: it may be execute-api"
                                .to_owned(),
                        ));
                    }
                }
                let private_dns = if later("private_dns_enabled") {
                    out.unknowns.push((
                        loc.clone(),
                        "private_dns_enabled is known only after apply".to_owned(),
                    ));
                    None
                } else {
                    Some(b("private_dns_enabled").unwrap_or(false))
                };
                // `policy` is computed too: unknown only where the configuration sets it.
                let set_here = refs_of(address.split('[').next().unwrap_or(&address), "policy")
                    .is_some()
                    || decl.is_some_and(|d| d.attributes.contains_key("policy"));
                let (policy, policy_unknown) =
                    policy_value(s("policy"), later("policy") && set_here);
                if policy_unknown {
                    out.unknowns.push((
                        loc.clone(),
                        "the endpoint policy is known only after apply (or is not JSON)".to_owned(),
                    ));
                }
                out.endpoints.push(Endpoint {
                    key: address.clone(),
                    id: s("id"),
                    vpc: link("vpc_id"),
                    policy,
                    policy_unknown,
                    service,
                    interface: if later("vpc_endpoint_type") {
                        None
                    } else {
                        Some(s("vpc_endpoint_type").as_deref() == Some("Interface"))
                    },
                    private_dns,
                    loc,
                });
            }
            "aws_api_gateway_rest_api" => {
                let conf = sub("endpoint_configuration");
                let conf = conf.as_ref().and_then(|c| c.get(0));
                let kind = ApiKind::of_configuration(conf);
                // `policy` is computed as well as optional: unknown in every plan that does not
                // set it. Unknown only where the configuration sets it.
                let set_here = refs_of(address.split('[').next().unwrap_or(&address), "policy")
                    .is_some()
                    || decl.is_some_and(|d| d.attributes.contains_key("policy"));
                let (policy, policy_unknown) =
                    policy_value(s("policy"), later("policy") && set_here);
                if policy_unknown {
                    out.unknowns.push((
                        loc.clone(),
                        "policy is known only after apply (or is not JSON)".to_owned(),
                    ));
                }
                let mut vpces =
                    crate::imported::id_refs(conf.and_then(|c| c.get("vpc_endpoint_ids")));
                if vpces.is_empty() {
                    // Known only after apply: the configuration says which endpoints they are.
                    vpces = resources_named(&address, "endpoint_configuration.vpc_endpoint_ids")
                        .into_iter()
                        .map(Ref::Key)
                        .collect();
                }
                out.apis.push(Api {
                    key: address.clone(),
                    http: false,
                    id: s("id"),
                    name: s("name").unwrap_or_else(|| address.clone()),
                    kind,
                    policy,
                    policy_unknown,
                    vpc_endpoints: vpces,
                    disable_default: Some(b("disable_execute_api_endpoint").unwrap_or(false)),
                    loc,
                });
            }
            "aws_api_gateway_rest_api_policy" => {
                let (policy, policy_unknown) = policy_value(s("policy"), later("policy"));
                if policy_unknown {
                    out.unknowns.push((
                        loc.clone(),
                        "policy is known only after apply (or is not JSON)".to_owned(),
                    ));
                }
                // Applied once every API is read: plan order means nothing.
                attached_policies.push(AttachedPolicy {
                    target: reference(&address, "rest_api_id"),
                    id: s("rest_api_id"),
                    policy,
                    policy_unknown,
                });
            }
            "aws_api_gateway_domain_name" => {
                let kind = ApiKind::of_configuration(
                    sub("endpoint_configuration")
                        .as_ref()
                        .and_then(|c| c.get(0)),
                );
                let mtls = sub("mutual_tls_authentication")
                    .as_ref()
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty());
                out.domains.push(Domain {
                    key: address.clone(),
                    name: s("domain_name"),
                    kind,
                    mtls,
                    apis: Vec::new(),
                    policy: None,
                    policy_unknown: false,
                    access: Vec::new(),
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
            "aws_api_gateway_method" => {
                let auth = match s("authorization").as_deref() {
                    Some("AWS_IAM") => Some(AuthKind::Iam),
                    Some("CUSTOM") => Some(AuthKind::Lambda),
                    Some("COGNITO_USER_POOLS") => Some(AuthKind::Cognito),
                    _ => None,
                };
                if let Some(k) = auth {
                    out.authorizers.push((link("rest_api_id"), k, loc.clone()));
                }
                if b("api_key_required") == Some(true) {
                    out.key_methods.push(KeyMethod {
                        api: link("rest_api_id"),
                        loc,
                    });
                }
            }
            "aws_apigatewayv2_api" => out.apis.push(Api {
                key: address.clone(),
                http: true,
                id: s("id"),
                name: s("name").unwrap_or_else(|| address.clone()),
                kind: Some(ApiKind::Regional),
                policy: None,
                policy_unknown: false,
                vpc_endpoints: Vec::new(),
                disable_default: Some(b("disable_execute_api_endpoint").unwrap_or(false)),
                loc,
            }),
            "aws_api_gateway_usage_plan" => {
                let stages = match sub("api_stages") {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                };
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
                let blocks = match sub("vpc") {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                };
                let mut vpcs: Vec<Ref> = blocks
                    .iter()
                    .filter_map(|v| v.get("vpc_id").and_then(Value::as_str))
                    .map(|i| Ref::Id(i.to_owned()))
                    .collect();
                if vpcs.len() < blocks.len() {
                    // Known only after apply: the configuration names the VPCs.
                    let named = resources_named(&address, "vpc.vpc_id");
                    if named.is_empty() {
                        vpcs.push(Ref::Unknown(format!(
                            "{address}.vpc.vpc_id is known only after apply"
                        )));
                    }
                    vpcs.extend(named.into_iter().map(Ref::Key));
                }
                out.zones.push(Zone {
                    key: address.clone(),
                    name: s("name"),
                    vpcs,
                    loc,
                });
            }
            "aws_vpc_endpoint_policy" => {
                let (policy, policy_unknown) = policy_value(s("policy"), later("policy"));
                endpoint_policies.push((link("vpc_endpoint_id"), policy, policy_unknown));
            }
            "aws_route53profiles_profile" => out.profiles.push(crate::imported::Profile {
                key: address.clone(),
                id: s("id"),
                loc,
            }),
            "aws_route53profiles_association" => {
                out.profile_vpcs
                    .push((link("profile_id"), link("resource_id"), loc));
            }
            "aws_route53profiles_resource_association" => {
                use crate::imported::ProfileResource;
                let what = match (s("resource_arn"), reference(&address, "resource_arn")) {
                    (Some(arn), _) => ProfileResource::from_arn(&arn),
                    (None, Some(a)) => {
                        let local = a.rsplit("module.").next().unwrap_or(&a);
                        let key = Ref::Key(a.trim_end_matches(".arn").to_owned());
                        match local.split('.').next().unwrap_or("") {
                            "aws_route53_zone" => ProfileResource::Zone(key),
                            "aws_vpc_endpoint" => ProfileResource::Endpoint(key),
                            "aws_route53_resolver_rule" => ProfileResource::Rule(key),
                            other => ProfileResource::Other(other.to_owned()),
                        }
                    }
                    (None, None) => {
                        out.unknowns.push((
                            loc.clone(),
                            "resource_arn is known only after apply".to_owned(),
                        ));
                        ProfileResource::Other("unknown".to_owned())
                    }
                };
                out.profile_resources.push((link("profile_id"), what, loc));
            }
            "aws_route53_zone_association" => {
                zone_associations.push((link("zone_id"), link("vpc_id")));
            }
            "aws_route53_record" => {
                let (alias, records) = (sub("alias"), sub("records"));
                let alias = alias
                    .as_ref()
                    .and_then(|a| a.get(0))
                    .and_then(|a| a.get("name"))
                    .and_then(Value::as_str);
                let (kind, record_values) = match alias {
                    Some(target) => ("ALIAS".to_owned(), vec![target.to_owned()]),
                    None => (
                        s("type").unwrap_or_default(),
                        records
                            .as_ref()
                            .and_then(Value::as_array)
                            .map(|r| {
                                r.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default(),
                    ),
                };
                if let Some(name) = s("name") {
                    out.zone_records.push(crate::imported::ZoneRecord {
                        zone: link("zone_id"),
                        name: crate::cfn::normalise_record_name(&name),
                        kind,
                        values: record_values,
                        loc: loc.clone(),
                    });
                }
                if s("type").as_deref() == Some("CNAME") {
                    let target = records
                        .as_ref()
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
            }
            _ => {}
        }
    }
    for (target, policy, policy_unknown) in endpoint_policies {
        if let Some(e) = out.endpoints.iter_mut().find(|e| match &target {
            Ref::Key(k) => &e.key == k,
            Ref::Id(id) => e.id.as_deref() == Some(id),
            Ref::Unknown(_) => false,
        }) {
            e.policy = policy;
            e.policy_unknown = policy_unknown;
        }
    }
    for (zone, vpc) in zone_associations {
        let found = out.zones.iter_mut().find(|z| match &zone {
            Ref::Key(k) => &z.key == k,
            Ref::Id(id) => &z.key == id,
            Ref::Unknown(_) => false,
        });
        match found {
            Some(z) => z.vpcs.push(vpc),
            None => out.unknowns.push((
                Loc::default(),
                "a zone association names a zone that is not in the plan".to_owned(),
            )),
        }
    }
    for p in attached_policies {
        if let Some(api) = out
            .apis
            .iter_mut()
            .find(|a| Some(&a.key) == p.target.as_ref() || (a.id.is_some() && a.id == p.id))
        {
            api.policy = p.policy;
            api.policy_unknown = p.policy_unknown;
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

/// A configuration's references: address → attribute → the resources its expression names.
type Refs = foldhash::HashMap<String, foldhash::HashMap<String, Vec<String>>>;

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
        let child = format!("{prefix}module.{name}.");
        // The call's arguments, as the module's variables: (`module.m.var`, `x`) → refs.
        for (var, expr) in call
            .get("expressions")
            .map(Node::entries)
            .unwrap_or_default()
        {
            if let Some(refs) = references(expr, prefix) {
                out.push((format!("{child}var"), var.clone(), refs));
            }
        }
        if let Some(m) = call.get("module") {
            collect_refs(m, &child, out);
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

/// An `aws_api_gateway_rest_api_policy`: the API it names (by address or id) and its policy.
struct AttachedPolicy {
    target: Option<String>,
    id: Option<String>,
    policy: Option<Value>,
    policy_unknown: bool,
}

/// A policy attribute: its JSON, or unknown when it is known only after apply (or is not JSON).
fn policy_value(text: Option<String>, later: bool) -> (Option<Value>, bool) {
    if later {
        return (None, true);
    }
    match text.filter(|p| !p.is_empty()) {
        None => (None, false),
        Some(p) => match serde_json::from_str(&p) {
            Ok(v) => (Some(v), false),
            Err(_) => (None, true),
        },
    }
}

/// Whether an `after_unknown` value marks anything unknown.
fn any_true(v: &Node) -> bool {
    match &v.kind {
        Kind::Bool(b) => *b,
        Kind::Seq(a) => a.iter().any(any_true),
        Kind::Map(o) => o.iter().any(|(_, v)| any_true(v)),
        Kind::Tag(_, inner) => any_true(inner),
        _ => false,
    }
}

pub use parallax_model::source::to_json;
