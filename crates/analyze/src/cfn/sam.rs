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
        Some(m @ V::Map(_)) => match m.get("Types").or_else(|| m.get("Type")) {
            Some(t) => kind_of(t),
            None => Some(ApiKind::Edge),
        },
        // A value the template does not fix (a parameter without a default): not known.
        Some(_) => None,
    }
}

/// A policy value as JSON: a string is parsed (`Policy` may be a JSON string), unresolved parts
/// (another stack's output, a parameter without a default) make it unknown.
pub(crate) fn policy_json(raw: Option<V>) -> (Option<Value>, Option<String>) {
    match raw {
        None => (None, None),
        Some(V::Str(s)) => match serde_json::from_str(&s) {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(format!("a string that is not JSON ({e})"))),
        },
        Some(v) => {
            let why = first_unknown(&v);
            (v.to_json(), why)
        }
    }
}

/// Why a value is not fully known: its first unknown part.
fn first_unknown(v: &V) -> Option<String> {
    match v {
        V::Unknown(why) => Some(why.clone()),
        V::List(l) => l.iter().find_map(first_unknown),
        V::Map(m) => m.iter().find_map(|(_, x)| first_unknown(x)),
        V::Str(s) => s
            .find("${unknown: ")
            .map(|i| s[i + 11..].split('}').next().unwrap_or("").to_owned()),
        _ => None,
    }
}

/// The statements of a policy value (a map with `Statement`, one statement or a list).
fn statements_of(policy: &V) -> Vec<V> {
    match policy.get("Statement").unwrap_or(policy) {
        V::List(l) => l.clone(),
        V::Map(m) if m.is_empty() => Vec::new(),
        one @ V::Map(_) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// Several policies (a definition's `x-amazon-apigateway-policy`, SAM's generated statements,
/// a `Policy` property) as one: SAM appends its statements to the definition's policy.
pub(crate) fn join_policies(parts: &[V]) -> Option<V> {
    if parts.is_empty() {
        return None;
    }
    if let [one] = parts {
        return Some(one.clone());
    }
    let mut all = Vec::new();
    for p in parts {
        if let V::Unknown(_) | V::Str(_) = p {
            // A string policy or an unknown one cannot be merged: keep it as the unknown it is.
            return Some(V::Unknown(
                "a policy given in several parts, one of them not a mapping".into(),
            ));
        }
        for st in statements_of(p) {
            if !all.contains(&st) {
                all.push(st);
            }
        }
    }
    Some(V::Map(vec![
        ("Version".into(), V::Str("2012-10-17".into())),
        ("Statement".into(), V::List(all)),
    ]))
}

/// An `execute-api:Invoke` statement on every method, with a condition (`{Op: {key: values}}`).
fn statement(effect: &str, principal: V, condition: Option<V>) -> V {
    let mut st = vec![
        ("Effect".into(), V::Str(effect.into())),
        ("Principal".into(), principal),
        ("Action".into(), V::Str("execute-api:Invoke".into())),
        ("Resource".into(), V::Str("execute-api:/*".into())),
    ];
    if let Some(c) = condition {
        st.push(("Condition".into(), c));
    }
    V::Map(st)
}

/// `{op: {key: values}}`.
fn condition(op: &str, entries: Vec<(String, V)>) -> V {
    V::Map(vec![(op.into(), V::Map(entries))])
}

fn as_list(v: &V) -> Vec<V> {
    match v {
        V::List(l) => l.clone(),
        other => vec![other.clone()],
    }
}

/// SAM's `Auth.ResourcePolicy` as the statements SAM's translator generates for it (applied to
/// every method: `execute-api:/*` stands for SAM's per-method resources; `per_path` false, for
/// an API without paths, leaves out all but the custom statements):
/// - `AwsAccountWhitelist`/`Blacklist`: Allow/Deny with `Principal: {AWS: [...]}`;
/// - `IpRangeWhitelist`/`Blacklist`: Allow, plus Deny on `NotIpAddress`/`IpAddress`;
/// - `SourceVpcWhitelist`/`Blacklist` (`vpc-` and `vpce-` strings split into `aws:SourceVpc` and
///   `aws:SourceVpce`), `IntrinsicVpcWhitelist`/`Blacklist`, `IntrinsicVpceWhitelist`/`Blacklist`:
///   Allow, plus Deny on `StringNotEquals` (whitelists) or `StringEquals` (blacklists);
/// - `CustomStatements`, one statement or a list, appended as they are.
///
/// No statements (an API without paths, no custom statements): no policy, as SAM writes none.
pub(crate) fn sam_policy(rp: &V, per_path: bool) -> Option<V> {
    // SAM writes the lists' statements for each path of the API (api_generator's `_add_auth`:
    // one set per path of the definition and its events), the custom statements once.
    let custom_only;
    let rp = if per_path {
        rp
    } else {
        custom_only = V::Map(
            rp.get("CustomStatements")
                .map(|c| ("CustomStatements".to_owned(), c.clone()))
                .into_iter()
                .collect(),
        );
        &custom_only
    };
    let mut statements = Vec::new();
    let mut push = |st: V| {
        if !statements.contains(&st) {
            statements.push(st);
        }
    };
    let star = || V::Str("*".into());
    for (key, effect) in [
        ("AwsAccountWhitelist", "Allow"),
        ("AwsAccountBlacklist", "Deny"),
    ] {
        if let Some(v) = rp.get(key) {
            let accounts = as_list(v);
            if !accounts.is_empty() {
                push(statement(
                    effect,
                    V::Map(vec![("AWS".into(), V::List(accounts))]),
                    None,
                ));
            }
        }
    }
    for (key, op) in [
        ("IpRangeWhitelist", "NotIpAddress"),
        ("IpRangeBlacklist", "IpAddress"),
    ] {
        if let Some(v) = rp.get(key) {
            let ips = as_list(v);
            if !ips.is_empty() {
                push(statement("Allow", star(), None));
                push(statement(
                    "Deny",
                    star(),
                    Some(condition(op, vec![("aws:SourceIp".into(), V::List(ips))])),
                ));
            }
        }
    }
    for (list, intrinsic_vpc, intrinsic_vpce, op) in [
        (
            "SourceVpcBlacklist",
            "IntrinsicVpcBlacklist",
            "IntrinsicVpceBlacklist",
            "StringEquals",
        ),
        (
            "SourceVpcWhitelist",
            "IntrinsicVpcWhitelist",
            "IntrinsicVpceWhitelist",
            "StringNotEquals",
        ),
    ] {
        let mut vpcs = Vec::new();
        let mut vpces = Vec::new();
        for v in rp.get(list).map(as_list).unwrap_or_default() {
            // SAM sorts the strings by prefix and drops the others; a value that is not a string
            // (an intrinsic) it refuses ("must be a list of strings"): unknown here, never dropped.
            match &v {
                V::Str(s) if s.starts_with("vpce-") => vpces.push(v.clone()),
                V::Str(s) if s.starts_with("vpc-") => vpcs.push(v.clone()),
                V::Str(_) => {}
                V::Unknown(_) => vpcs.push(v.clone()),
                _ => vpcs.push(V::Unknown(format!(
                    "{list} holds an intrinsic function, which SAM refuses there (it takes strings; {intrinsic_vpc} and {intrinsic_vpce} take intrinsics)"
                ))),
            }
        }
        vpcs.extend(rp.get(intrinsic_vpc).map(as_list).unwrap_or_default());
        vpces.extend(rp.get(intrinsic_vpce).map(as_list).unwrap_or_default());
        if vpcs.is_empty() && vpces.is_empty() {
            continue;
        }
        let mut cond = Vec::new();
        if !vpcs.is_empty() {
            cond.push(("aws:SourceVpc".to_owned(), V::List(vpcs)));
        }
        if !vpces.is_empty() {
            cond.push(("aws:SourceVpce".to_owned(), V::List(vpces)));
        }
        push(statement("Allow", star(), None));
        push(statement("Deny", star(), Some(condition(op, cond))));
    }
    if let Some(custom) = rp.get("CustomStatements") {
        for st in as_list(custom) {
            push(st);
        }
    }
    if statements.is_empty() {
        return None;
    }
    Some(V::Map(vec![
        ("Version".into(), V::Str("2012-10-17".into())),
        ("Statement".into(), V::List(statements)),
    ]))
}

pub(crate) fn kind_of(v: &V) -> Option<ApiKind> {
    let s = match v {
        V::List(l) => l.first()?.as_str()?.to_owned(),
        V::Str(s) => s.clone(),
        _ => return None,
    };
    ApiKind::parse(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RestApi and SAM default to EDGE; a string, `Types` or SAM's `Type` name the kind; a value
    /// the template does not fix (`EndpointConfiguration: !Ref Param`, no default) is not known.
    #[test]
    fn endpoint_kinds_as_given_or_unknown() {
        let ctx = Ctx::plain();
        let with = |v: Option<V>| {
            let props = V::Map(
                v.map(|v| ("EndpointConfiguration".to_owned(), v))
                    .into_iter()
                    .collect(),
            );
            api_kind("AWS::Serverless::Api", &props, &ctx)
        };
        let s = |x: &str| V::Str(x.to_owned());
        assert_eq!(with(None), Some(ApiKind::Edge));
        assert_eq!(with(Some(s("REGIONAL"))), Some(ApiKind::Regional));
        assert_eq!(
            with(Some(V::Map(vec![("Type".into(), s("PRIVATE"))]))),
            Some(ApiKind::Private)
        );
        assert_eq!(
            with(Some(V::Map(vec![(
                "Types".into(),
                V::List(vec![s("REGIONAL")])
            )]))),
            Some(ApiKind::Regional)
        );
        assert_eq!(
            with(Some(V::Unknown("parameter EndpointConfig".into()))),
            None
        );
    }
}
