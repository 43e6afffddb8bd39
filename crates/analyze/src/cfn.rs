//! CloudFormation (JSON or YAML, SAM included) into [`Imported`]. Intrinsics are evaluated as
//! far as the template alone allows: `Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::If`, `Fn::Join`,
//! `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::ImportValue`, the condition functions, in
//! long and short (`!Ref`) form; Parameters with defaults; Conditions; Mappings. Whatever
//! depends on a parameter without a default, another stack, or a nested stack is unknown.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::imported::{
    Api, ApiKind, Cname, Domain, Endpoint, Imported, KeyMethod, Loc, Ref, UsagePlan, Vpc, Zone,
};
use crate::source::{Kind, Node};

/// An evaluated value.
#[derive(Clone, Debug, PartialEq)]
enum V {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    List(Vec<V>),
    Map(Vec<(String, V)>),
    /// A reference to a resource of this template (its physical id is not known here).
    Res(String),
    /// `GetAtt` of a resource of this template.
    Attr(String, String),
    Unknown(String),
}

impl V {
    fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_bool(&self) -> Option<bool> {
        match self {
            V::Bool(b) => Some(*b),
            V::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            V::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    fn get(&self, key: &str) -> Option<&V> {
        match self {
            V::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Text for messages and substitution: unknown parts stay visible as `${…}`.
    fn text(&self) -> String {
        match self {
            V::Str(s) => s.clone(),
            V::Num(n) => {
                if n.fract() == 0.0 {
                    format!("{}", *n as i64)
                } else {
                    n.to_string()
                }
            }
            V::Bool(b) => b.to_string(),
            V::Null => String::new(),
            V::Res(r) => format!("${{{r}}}"),
            V::Attr(r, a) => format!("${{{r}.{a}}}"),
            V::Unknown(why) => format!("${{unknown: {why}}}"),
            V::List(l) => l.iter().map(V::text).collect::<Vec<_>>().join(","),
            V::Map(_) => "{...}".to_owned(),
        }
    }

    fn to_json(&self) -> Option<Value> {
        Some(match self {
            V::Str(s) => Value::String(s.clone()),
            V::Num(n) => serde_json::Number::from_f64(*n)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            V::Bool(b) => Value::Bool(*b),
            V::Null => Value::Null,
            V::List(l) => Value::Array(l.iter().map(V::to_json).collect::<Option<_>>()?),
            V::Map(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| Some((k.clone(), v.to_json()?)))
                    .collect::<Option<Map<_, _>>>()?,
            ),
            V::Res(_) | V::Attr(..) | V::Unknown(_) => Value::String(self.text()),
        })
    }
}

struct Ctx<'a> {
    params: HashMap<String, V>,
    mappings: Option<&'a Node>,
    conditions: Option<&'a Node>,
    resources: std::collections::HashSet<String>,
    region: Option<String>,
}

impl Ctx<'_> {
    fn eval(&self, n: &Node, depth: usize) -> V {
        if depth > 64 {
            return V::Unknown("intrinsics nested too deep".to_owned());
        }
        match &n.kind {
            Kind::Null => V::Null,
            Kind::Bool(b) => V::Bool(*b),
            Kind::Int(i) => V::Num(*i as f64),
            Kind::Float(f) => V::Num(*f),
            Kind::Str(s) => V::Str(s.clone()),
            Kind::Seq(items) => V::List(items.iter().map(|i| self.eval(i, depth + 1)).collect()),
            Kind::Tag(tag, inner) => {
                let name = match tag.trim_start_matches('!') {
                    "Ref" => "Ref".to_owned(),
                    "Condition" => "Condition".to_owned(),
                    other => format!("Fn::{other}"),
                };
                // `!GetAtt A.B` is the string form of `Fn::GetAtt: [A, B]`.
                self.intrinsic(&name, inner, depth)
            }
            Kind::Map(m) => {
                if let [(k, v)] = m.as_slice()
                    && (k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
                {
                    return self.intrinsic(k, v, depth);
                }
                V::Map(
                    m.iter()
                        .map(|(k, v)| (k.clone(), self.eval(v, depth + 1)))
                        .collect(),
                )
            }
        }
    }

    fn intrinsic(&self, name: &str, arg: &Node, depth: usize) -> V {
        let a = self.eval(arg, depth + 1);
        let list = |v: &V| -> Vec<V> {
            match v {
                V::List(l) => l.clone(),
                other => vec![other.clone()],
            }
        };
        match name {
            "Ref" => match a.as_str() {
                Some("AWS::Region") => self
                    .region
                    .clone()
                    .map(V::Str)
                    .unwrap_or_else(|| V::Unknown("AWS::Region".to_owned())),
                Some("AWS::AccountId") => V::Unknown("AWS::AccountId".to_owned()),
                Some("AWS::NoValue") => V::Null,
                Some(p) if self.params.contains_key(p) => self.params[p].clone(),
                Some(r) if self.resources.contains(r) => V::Res(r.to_owned()),
                Some(other) => V::Unknown(format!(
                    "Ref {other} (not a parameter or resource of this template)"
                )),
                None => V::Unknown("Ref of a non-string".to_owned()),
            },
            "Fn::GetAtt" => {
                let parts: Vec<String> = match &a {
                    V::Str(s) => s.splitn(2, '.').map(str::to_owned).collect(),
                    V::List(l) => l.iter().map(V::text).collect(),
                    _ => vec![],
                };
                match parts.as_slice() {
                    [r, attr] if self.resources.contains(r) => V::Attr(r.clone(), attr.clone()),
                    [r, attr] => V::Unknown(format!("GetAtt {r}.{attr}")),
                    _ => V::Unknown("GetAtt with a malformed argument".to_owned()),
                }
            }
            "Fn::Sub" => {
                let (template, vars) = match &a {
                    V::Str(s) => (s.clone(), Vec::new()),
                    V::List(l) => match l.as_slice() {
                        [V::Str(s), V::Map(m)] => (s.clone(), m.clone()),
                        [V::Str(s)] => (s.clone(), Vec::new()),
                        _ => return V::Unknown("Sub with a malformed argument".to_owned()),
                    },
                    _ => return V::Unknown("Sub with a malformed argument".to_owned()),
                };
                V::Str(self.substitute(&template, &vars))
            }
            "Fn::Join" => match list(&a).as_slice() {
                [V::Str(delim), items] => V::Str(
                    list(items)
                        .iter()
                        .map(V::text)
                        .collect::<Vec<_>>()
                        .join(delim),
                ),
                _ => V::Unknown("Join with a malformed argument".to_owned()),
            },
            "Fn::Select" => match list(&a).as_slice() {
                [idx, items] => {
                    let i = match idx {
                        V::Num(n) => *n as usize,
                        V::Str(s) => s.parse().unwrap_or(usize::MAX),
                        _ => usize::MAX,
                    };
                    match items {
                        V::List(l) => l.get(i).cloned().unwrap_or_else(|| {
                            V::Unknown(format!("Select index {i} out of range"))
                        }),
                        other => V::Unknown(format!("Select from {}", other.text())),
                    }
                }
                _ => V::Unknown("Select with a malformed argument".to_owned()),
            },
            "Fn::Split" => match list(&a).as_slice() {
                [V::Str(delim), V::Str(s)] => V::List(
                    s.split(delim.as_str())
                        .map(|p| V::Str(p.to_owned()))
                        .collect(),
                ),
                _ => V::Unknown("Split of an unknown value".to_owned()),
            },
            "Fn::FindInMap" => match list(&a).as_slice() {
                [V::Str(m), V::Str(k1), V::Str(k2)] => self
                    .mappings
                    .and_then(|ms| ms.get(m))
                    .and_then(|mm| mm.get(k1))
                    .and_then(|e| e.get(k2))
                    .map(|n| self.eval(n, depth + 1))
                    .unwrap_or_else(|| V::Unknown(format!("FindInMap {m}.{k1}.{k2}"))),
                _ => V::Unknown("FindInMap with unknown keys".to_owned()),
            },
            "Fn::ImportValue" => {
                V::Unknown(format!("ImportValue {} (another stack's output)", a.text()))
            }
            "Fn::If" => match list(&a).as_slice() {
                [V::Str(cond), yes, no] => match self.condition(cond, depth) {
                    Some(true) => yes.clone(),
                    Some(false) => no.clone(),
                    None => V::Unknown(format!("depends on condition {cond}")),
                },
                _ => V::Unknown("If with a malformed argument".to_owned()),
            },
            "Condition" => a
                .as_str()
                .and_then(|c| self.condition(c, depth))
                .map(V::Bool)
                .unwrap_or_else(|| V::Unknown("condition".to_owned())),
            "Fn::Equals" => match list(&a).as_slice() {
                [x, y] if !matches!(x, V::Unknown(_)) && !matches!(y, V::Unknown(_)) => {
                    V::Bool(x.text() == y.text())
                }
                _ => V::Unknown("Equals of an unknown value".to_owned()),
            },
            "Fn::Not" => match list(&a).first().and_then(V::as_bool) {
                Some(b) => V::Bool(!b),
                None => V::Unknown("Not of an unknown value".to_owned()),
            },
            "Fn::And" | "Fn::Or" => {
                let vals: Vec<Option<bool>> = list(&a).iter().map(V::as_bool).collect();
                let and = name == "Fn::And";
                if vals.contains(&Some(!and)) {
                    V::Bool(!and)
                } else if vals.iter().all(Option::is_some) {
                    V::Bool(and)
                } else {
                    V::Unknown(format!("{name} of unknown values"))
                }
            }
            other => V::Unknown(format!("{other} is not evaluated statically")),
        }
    }

    fn condition(&self, name: &str, depth: usize) -> Option<bool> {
        let n = self.conditions?.get(name)?;
        self.eval(n, depth + 1).as_bool()
    }

    fn substitute(&self, template: &str, vars: &[(String, V)]) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = &after[..end];
            let value = if let Some(literal) = name.strip_prefix('!') {
                format!("${{{literal}}}")
            } else if let Some((_, v)) = vars.iter().find(|(k, _)| k == name) {
                v.text()
            } else if name == "AWS::Region" {
                self.region
                    .clone()
                    .unwrap_or_else(|| "${AWS::Region}".to_owned())
            } else if let Some(v) = self.params.get(name) {
                v.text()
            } else {
                format!("${{{name}}}")
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

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

fn kind_of(v: &V) -> Option<ApiKind> {
    let s = match v {
        V::List(l) => l.first()?.as_str()?.to_owned(),
        V::Str(s) => s.clone(),
        _ => return None,
    };
    ApiKind::parse(&s)
}

fn api_kind(ty: &str, props: &V, _ctx: &Ctx<'_>) -> Option<ApiKind> {
    if ty == "AWS::ApiGatewayV2::Api" {
        // HTTP and WebSocket APIs are regional.
        return Some(ApiKind::Regional);
    }
    match props.get("EndpointConfiguration") {
        // Both RestApi and SAM default to EDGE.
        None => Some(ApiKind::Edge),
        // SAM accepts a plain string; RestApi a {Types: [...]}; SAM also {Type: ...}.
        Some(V::Str(s)) => kind_of(&V::Str(s.clone())),
        Some(m) => match m.get("Types").or_else(|| m.get("Type")) {
            Some(t) => kind_of(t),
            None => Some(ApiKind::Edge),
        },
    }
}

fn policy_of(ty: &str, props: &V) -> (Option<Value>, bool) {
    let raw = if ty == "AWS::Serverless::Api" {
        props
            .get("Auth")
            .and_then(|a| a.get("ResourcePolicy"))
            .map(sam_policy)
    } else {
        props.get("Policy").cloned().or_else(|| {
            props
                .get("Body")
                .and_then(|b| b.get("x-amazon-apigateway-policy"))
                .cloned()
        })
    };
    match raw {
        None => (None, false),
        Some(V::Str(s)) => match serde_json::from_str(&s) {
            Ok(v) => (Some(v), false),
            Err(_) => (None, true),
        },
        Some(v) => match v.to_json() {
            Some(j) if !j.to_string().contains("${unknown") => (Some(j), false),
            Some(j) => (Some(j), true),
            None => (None, true),
        },
    }
}

/// SAM's `Auth.ResourcePolicy` shorthand as the IAM policy it generates (the parts the
/// findings need): `IntrinsicVpceWhitelist`/`SourceVpcWhitelist` allow those endpoints or VPCs.
fn sam_policy(rp: &V) -> V {
    let mut statements = Vec::new();
    for (key, cond) in [
        ("IntrinsicVpceWhitelist", "aws:SourceVpce"),
        ("SourceVpcWhitelist", "aws:SourceVpc"),
        ("IntrinsicVpcWhitelist", "aws:SourceVpc"),
    ] {
        if let Some(v) = rp.get(key) {
            let vals = match v {
                V::List(l) => l.clone(),
                other => vec![other.clone()],
            };
            statements.push(V::Map(vec![
                ("Effect".into(), V::Str("Allow".into())),
                ("Principal".into(), V::Str("*".into())),
                ("Action".into(), V::Str("execute-api:Invoke".into())),
                ("Resource".into(), V::Str("execute-api:/*".into())),
                (
                    "Condition".into(),
                    V::Map(vec![(
                        "StringEquals".into(),
                        V::Map(vec![(cond.into(), V::List(vals))]),
                    )]),
                ),
            ]));
        }
    }
    if let Some(V::List(custom)) = rp.get("CustomStatements") {
        statements.extend(custom.iter().cloned());
    }
    V::Map(vec![("Statement".into(), V::List(statements))])
}
