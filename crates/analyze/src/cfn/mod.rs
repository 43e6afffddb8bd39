//! CloudFormation (JSON or YAML, SAM included) into [`Imported`]. Intrinsics are evaluated as
//! far as the template alone allows: `Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::If`, `Fn::Join`,
//! `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::ImportValue`, the condition functions, in
//! long and short (`!Ref`) form; Parameters with defaults; Conditions; Mappings. Whatever
//! depends on a parameter without a default, another stack, or a nested stack is unknown.
//!
//! - `intrinsics`: values and their evaluation.
//! - `sam`: API types and resource policies of API Gateway and SAM resources.

use std::collections::HashMap;

use crate::imported::{
    Api, ApiKind, Cname, Domain, Endpoint, Imported, KeyMethod, Loc, Ref, UsagePlan, Vpc, Zone,
};
use crate::source::Node;

mod intrinsics;
mod sam;

use intrinsics::{Ctx, V};
use sam::{api_kind, kind_of, policy_of};

/// Reads one template.
pub fn import(root: &Node, file: &str) -> Imported {
    let mut out = Imported::default();
    let Some(resources) = root.get("Resources") else {
        out.errors.push((
            Loc {
                file: file.to_owned(),
                line: root.line.max(1),
                resource: String::new(),
            },
            "no Resources section: expected a CloudFormation template".to_owned(),
        ));
        return out;
    };
    let mut params = HashMap::new();
    let mut region = None;
    for (name, p) in root
        .get("Parameters")
        .map(Node::entries)
        .unwrap_or_default()
    {
        let v = match p.get("Default") {
            Some(d) => Ctx {
                params: HashMap::new(),
                mappings: None,
                conditions: None,
                resources: Default::default(),
                region: None,
            }
            .eval(d, 0),
            None => V::Unknown(format!("parameter {name} has no default")),
        };
        if name == "Region" {
            region = v.as_str().map(str::to_owned);
        }
        params.insert(name.clone(), v);
    }
    let ctx = Ctx {
        params,
        mappings: root.get("Mappings"),
        conditions: root.get("Conditions"),
        resources: resources.entries().iter().map(|(k, _)| k.clone()).collect(),
        region,
    };
    let loc = |key: &str, line: u32| Loc {
        file: file.to_owned(),
        line,
        resource: key.to_owned(),
    };
    let to_ref = |v: &V| -> Ref {
        match v {
            V::Res(r) => Ref::Key(r.clone()),
            V::Str(s) => Ref::Id(s.clone()),
            V::Unknown(why) => Ref::Unknown(why.clone()),
            other => Ref::Unknown(other.text()),
        }
    };

    let mut mappings: Vec<(V, Ref, Loc)> = Vec::new();
    for (key, res) in resources.entries() {
        let l = loc(key, res.line);
        if let Some(cond) = res.get("Condition").and_then(Node::as_str) {
            match ctx.condition(cond, 0) {
                Some(false) => continue,
                Some(true) => {}
                None => out.unknowns.push((
                    l.clone(),
                    format!(
                        "created only if condition {cond} holds, which depends on unknown values"
                    ),
                )),
            }
        }
        let Some(ty) = res.get("Type").and_then(Node::as_str) else {
            out.errors.push((l, "a resource without a Type".to_owned()));
            continue;
        };
        let props = res
            .get("Properties")
            .map(|p| ctx.eval(p, 0))
            .unwrap_or(V::Map(vec![]));
        // A boolean property with another value (`ture`): CloudFormation refuses the template.
        for name in BOOLEAN_PROPERTIES {
            if let Some(v) = props.get(name)
                && !matches!(v, V::Unknown(_))
                && v.as_bool().is_none()
            {
                let line = res
                    .get("Properties")
                    .and_then(|p| p.get(name))
                    .map_or(l.line, |n| n.line);
                out.errors.push((
                    Loc { line, ..l.clone() },
                    format!("{name}: `{}` is not a boolean (true or false)", v.text()),
                ));
            }
        }
        if !READ_TYPES.contains(&ty)
            && let Some(near) = nearest_type(ty)
        {
            out.misspelled_types
                .push((ty.to_owned(), near.to_owned(), l.clone()));
        }
        let prop = |name: &str| props.get(name).cloned();
        let mut unknown = |what: &str, v: &Option<V>| {
            if let Some(V::Unknown(why)) = v {
                out.unknowns.push((l.clone(), format!("{what}: {why}")));
            }
        };
        match ty {
            "AWS::EC2::VPC" => {
                out.vpcs.push(Vpc {
                    key: key.clone(),
                    id: None,
                    dns_support: Some(
                        prop("EnableDnsSupport")
                            .and_then(|v| v.as_bool())
                            .unwrap_or(true),
                    ),
                    dns_hostnames: Some(
                        prop("EnableDnsHostnames")
                            .and_then(|v| v.as_bool())
                            .unwrap_or(false),
                    ),
                    loc: l,
                });
            }
            "AWS::EC2::VPCEndpoint" => {
                let service = prop("ServiceName");
                if out.region.is_none() {
                    out.region = service
                        .as_ref()
                        .and_then(|s| s.as_str())
                        .and_then(crate::imported::region_of_service);
                }
                let private_dns = prop("PrivateDnsEnabled");
                unknown("ServiceName", &service);
                unknown("PrivateDnsEnabled", &private_dns);
                let kind = prop("VpcEndpointType");
                out.endpoints.push(Endpoint {
                    key: key.clone(),
                    id: None,
                    vpc: prop("VpcId")
                        .map(|v| to_ref(&v))
                        .unwrap_or_else(|| Ref::Unknown("no VpcId".to_owned())),
                    service: service.as_ref().and_then(|s| s.as_str().map(short_service)),
                    // CloudFormation's default endpoint type is Gateway.
                    interface: match &kind {
                        None => Some(false),
                        Some(V::Str(s)) => Some(s == "Interface"),
                        Some(_) => None,
                    },
                    private_dns: match &private_dns {
                        None => Some(false),
                        Some(v) => v.as_bool(),
                    },
                    loc: l,
                });
            }
            "AWS::ApiGateway::RestApi" | "AWS::Serverless::Api" | "AWS::ApiGatewayV2::Api" => {
                let name = prop("Name")
                    .map(|v| v.text())
                    .unwrap_or_else(|| key.clone());
                let kind = api_kind(ty, &props, &ctx);
                let (policy, policy_unknown) = policy_of(ty, &props);
                let vpces = props
                    .get("EndpointConfiguration")
                    .and_then(|e| e.get("VpcEndpointIds"))
                    .map(|v| match v {
                        V::List(l) => l.iter().map(to_ref).collect(),
                        other => vec![to_ref(other)],
                    });
                out.apis.push(Api {
                    key: key.clone(),
                    id: None,
                    name,
                    kind,
                    policy,
                    policy_unknown,
                    vpc_endpoints: vpces.unwrap_or_default(),
                    disable_default: prop("DisableExecuteApiEndpoint")
                        .map(|v| v.as_bool().unwrap_or(false))
                        .or(Some(false)),
                    loc: l,
                });
            }
            "AWS::ApiGateway::DomainName"
            | "AWS::ApiGatewayV2::DomainName"
            | "AWS::ApiGateway::DomainNameV2" => {
                let types = props
                    .get("EndpointConfiguration")
                    .and_then(|e| e.get("Types"))
                    .cloned();
                let v2_type = props.get("DomainNameConfigurations").and_then(|c| match c {
                    V::List(l) => l.first().and_then(|f| f.get("EndpointType")).cloned(),
                    _ => None,
                });
                let kind = match (ty, types.or(v2_type)) {
                    ("AWS::ApiGateway::DomainNameV2", _) => Some(ApiKind::Private),
                    ("AWS::ApiGatewayV2::DomainName", None) => Some(ApiKind::Regional),
                    (_, Some(t)) => kind_of(&t),
                    (_, None) => Some(ApiKind::Edge),
                };
                out.domains.push(Domain {
                    key: key.clone(),
                    name: prop("DomainName").and_then(|v| v.as_str().map(str::to_owned)),
                    kind,
                    mtls: props.get("MutualTlsAuthentication").is_some(),
                    apis: Vec::new(),
                    loc: l,
                });
            }
            "AWS::ApiGateway::BasePathMapping" | "AWS::ApiGatewayV2::ApiMapping" => {
                // Attached once every resource is read: template order means nothing.
                if let (Some(d), Some(a)) = (
                    prop("DomainName"),
                    prop("RestApiId").or_else(|| prop("ApiId")),
                ) {
                    mappings.push((d, to_ref(&a), l));
                }
            }
            "AWS::Route53::HostedZone" => {
                let vpcs = match props.get("VPCs") {
                    Some(V::List(l)) => l
                        .iter()
                        .filter_map(|v| v.get("VPCId"))
                        .map(to_ref)
                        .collect(),
                    _ => Vec::new(),
                };
                out.zones.push(Zone {
                    key: key.clone(),
                    name: prop("Name").and_then(|v| v.as_str().map(str::to_owned)),
                    vpcs,
                    loc: l,
                });
            }
            "AWS::Route53::RecordSet"
                if prop("Type")
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .as_deref()
                    == Some("CNAME") =>
            {
                let first = match props.get("ResourceRecords") {
                    Some(V::List(l)) => l.first().cloned(),
                    _ => None,
                };
                let (target, target_domain) = match first {
                    Some(V::Str(s)) => (Some(s), None),
                    Some(V::Attr(r, a)) if a.contains("DomainName") => (None, Some(r)),
                    _ => (None, None),
                };
                out.cnames.push(Cname {
                    name: prop("Name").and_then(|v| v.as_str().map(str::to_owned)),
                    target,
                    target_domain,
                    loc: l,
                });
            }
            "AWS::ApiGateway::Method" => {
                let required = prop("ApiKeyRequired");
                unknown("ApiKeyRequired", &required);
                if required.as_ref().and_then(V::as_bool) == Some(true)
                    && let Some(api) = prop("RestApiId")
                {
                    out.key_methods.push(KeyMethod {
                        api: to_ref(&api),
                        loc: l,
                    });
                }
            }
            "AWS::ApiGateway::UsagePlan" => {
                let apis = match props.get("ApiStages") {
                    Some(V::List(stages)) => stages
                        .iter()
                        .filter_map(|st| st.get("ApiId"))
                        .map(to_ref)
                        .collect(),
                    Some(other @ V::Unknown(_)) => vec![to_ref(other)],
                    _ => Vec::new(),
                };
                out.usage_plans.push(UsagePlan {
                    key: key.clone(),
                    id: None,
                    apis,
                    loc: l,
                });
            }
            "AWS::ApiGateway::UsagePlanKey" => {
                if let Some(plan) = prop("UsagePlanId") {
                    out.plan_keys.push(to_ref(&plan));
                }
            }
            "AWS::CloudFormation::Stack" => out.unknowns.push((
                l,
                "a nested stack: its resources and outputs are not read".to_owned(),
            )),
            _ => {}
        }
    }
    for (domain, api, l) in mappings {
        let target = out.domains.iter_mut().find(|x| match &domain {
            V::Res(k) => &x.key == k,
            V::Str(s) => x.name.as_deref() == Some(s),
            _ => false,
        });
        match target {
            Some(d) => d.apis.push(api),
            None => out.unknowns.push((
                l,
                format!(
                    "maps to the domain {}, which is not in this template",
                    domain.text()
                ),
            )),
        }
    }
    out
}

fn short_service(s: &str) -> String {
    // com.amazonaws.us-east-1.execute-api, com.amazonaws.${AWS::Region}.execute-api → execute-api
    s.rsplit('.').next().unwrap_or(s).to_owned()
}

/// The boolean properties of the resources read here.
const BOOLEAN_PROPERTIES: [&str; 5] = [
    "EnableDnsSupport",
    "EnableDnsHostnames",
    "PrivateDnsEnabled",
    "DisableExecuteApiEndpoint",
    "ApiKeyRequired",
];

/// The resource types this importer reads.
const READ_TYPES: [&str; 16] = [
    "AWS::EC2::VPC",
    "AWS::EC2::VPCEndpoint",
    "AWS::ApiGateway::RestApi",
    "AWS::Serverless::Api",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGateway::DomainName",
    "AWS::ApiGatewayV2::DomainName",
    "AWS::ApiGateway::DomainNameV2",
    "AWS::ApiGateway::BasePathMapping",
    "AWS::ApiGatewayV2::ApiMapping",
    "AWS::Route53::HostedZone",
    "AWS::Route53::RecordSet",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::UsagePlanKey",
    "AWS::CloudFormation::Stack",
];

/// A read type within two edits of `ty` (a misspelling such as `AWS::EC2::VPCEndpont`).
fn nearest_type(ty: &str) -> Option<&'static str> {
    READ_TYPES
        .iter()
        .map(|k| (edit_distance(ty, k), *k))
        .filter(|(d, _)| (1..=2).contains(d))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
