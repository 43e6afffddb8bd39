//! What SAM and API Gateway resources say about an API's type and resource policy
//! (`EndpointConfiguration`, SAM's `Auth.ResourcePolicy`).

use serde_json::Value;

use crate::imported::ApiKind;

use super::intrinsics::{Ctx, V};

pub(crate) fn api_kind(ty: &str, props: &V, _ctx: &Ctx<'_>) -> Option<ApiKind> {
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

pub(crate) fn policy_of(ty: &str, props: &V) -> (Option<Value>, bool) {
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
pub(crate) fn sam_policy(rp: &V) -> V {
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

pub(crate) fn kind_of(v: &V) -> Option<ApiKind> {
    let s = match v {
        V::List(l) => l.first()?.as_str()?.to_owned(),
        V::Str(s) => s.clone(),
        _ => return None,
    };
    ApiKind::parse(&s)
}
