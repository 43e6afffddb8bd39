//! Resource policies: the IAM subset API Gateway evaluates. Statements with `Effect`,
//! `Principal: "*"` (or `{"AWS": "*"}`), `Action` (`execute-api:Invoke`, `execute-api:*`, `*`),
//! `Resource` (`execute-api:/…` shorthand or full ARNs, `*` and `?` wildcards) and
//! `Condition` with StringEquals, StringNotEquals, StringLike, StringNotLike, IpAddress and
//! NotIpAddress on `aws:SourceVpce`, `aws:SourceVpc` and `aws:SourceIp` (keys compared without
//! case). An explicit deny wins; otherwise an allow is needed.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

/// What the policy is asked about.
#[derive(Clone, Debug)]
pub struct Caller<'a> {
    /// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`.
    pub arn: &'a str,
    /// The part after the API id: `{stage}/{METHOD}/{path}`, matched by `execute-api:/…`.
    pub api_relative: &'a str,
    pub source_ip: IpAddr,
    pub source_vpce: Option<&'a str>,
    pub source_vpc: Option<&'a str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A statement denies explicitly.
    ExplicitDeny,
    /// No statement allows.
    NoAllow,
}

/// A parsed policy. Parsing never fails: parts it does not understand make their statement
/// match nothing (and are reported by [`Policy::warnings`]), so a policy can only be stricter
/// than written, never looser.
#[derive(Clone, Debug)]
pub struct Policy {
    statements: Vec<Statement>,
    warnings: Vec<String>,
}

#[derive(Clone, Debug)]
struct Statement {
    allow: bool,
    resources: Vec<String>,
    conditions: Vec<Condition>,
    /// False when something in it was not understood: the statement then never matches.
    usable: bool,
}

#[derive(Clone, Debug)]
struct Condition {
    op: Op,
    key: Key,
    values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    StringEquals,
    StringNotEquals,
    StringLike,
    StringNotLike,
    IpAddress,
    NotIpAddress,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Vpce,
    Vpc,
    Ip,
}

impl Policy {
    /// Reads a policy from JSON (a JSON string holding JSON is unwrapped).
    pub fn from_json(v: &Value) -> Policy {
        let parsed;
        let v = match v {
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(inner) => {
                    parsed = inner;
                    &parsed
                }
                Err(e) => {
                    return Policy {
                        statements: vec![],
                        warnings: vec![format!("the policy string is not JSON: {e}")],
                    };
                }
            },
            other => other,
        };
        let mut warnings = Vec::new();
        let list: Vec<&Value> = match v.get("Statement") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => {
                warnings.push("no Statement".to_owned());
                vec![]
            }
        };
        let statements = list
            .into_iter()
            .enumerate()
            .map(|(i, s)| statement(i, s, &mut warnings))
            .collect();
        Policy {
            statements,
            warnings,
        }
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn evaluate(&self, c: &Caller<'_>) -> Decision {
        let mut allowed = false;
        for s in self.statements.iter().filter(|s| s.usable) {
            let resource = s.resources.iter().any(|r| resource_matches(r, c));
            if !resource || !s.conditions.iter().all(|cond| cond.holds(c)) {
                continue;
            }
            if !s.allow {
                return Decision::ExplicitDeny;
            }
            allowed = true;
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::NoAllow
        }
    }
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

fn statement(i: usize, s: &Value, warnings: &mut Vec<String>) -> Statement {
    let mut usable = true;
    let mut warn = |w: String| {
        warnings.push(format!("Statement[{i}]: {w}"));
    };
    let allow = match s.get("Effect").and_then(Value::as_str) {
        Some("Allow") => true,
        Some("Deny") => false,
        other => {
            warn(format!("Effect {other:?} is neither Allow nor Deny"));
            usable = false;
            true
        }
    };
    let principal_any = match s.get("Principal") {
        Some(Value::String(p)) => p == "*",
        Some(Value::Object(o)) => o
            .get("AWS")
            .and_then(|a| strings(Some(a)))
            .is_some_and(|v| v.iter().any(|p| p == "*")),
        _ => false,
    };
    if !principal_any {
        // Callers here are anonymous: only `*` names them.
        warn("Principal is not \"*\": the statement matches no anonymous caller".to_owned());
        usable = false;
    }
    let actions = strings(s.get("Action")).unwrap_or_default();
    if !actions.iter().any(|a| {
        matches!(
            a.to_ascii_lowercase().as_str(),
            "execute-api:invoke" | "execute-api:*" | "*"
        )
    }) {
        warn("Action does not include execute-api:Invoke".to_owned());
        usable = false;
    }
    if s.get("NotAction").is_some()
        || s.get("NotResource").is_some()
        || s.get("NotPrincipal").is_some()
    {
        warn("NotAction, NotResource and NotPrincipal are not supported".to_owned());
        usable = false;
    }
    let resources = strings(s.get("Resource")).unwrap_or_else(|| {
        warn("Resource is missing".to_owned());
        usable = false;
        vec![]
    });
    let mut conditions = Vec::new();
    if let Some(Value::Object(ops)) = s.get("Condition") {
        for (op_name, keys) in ops {
            let op = match op_name.as_str() {
                "StringEquals" => Op::StringEquals,
                "StringNotEquals" => Op::StringNotEquals,
                "StringLike" => Op::StringLike,
                "StringNotLike" => Op::StringNotLike,
                "IpAddress" => Op::IpAddress,
                "NotIpAddress" => Op::NotIpAddress,
                other => {
                    warn(format!("condition operator {other} is not supported"));
                    usable = false;
                    continue;
                }
            };
            let Value::Object(keys) = keys else {
                usable = false;
                continue;
            };
            for (k, vals) in keys {
                let key = match k.to_ascii_lowercase().as_str() {
                    "aws:sourcevpce" => Key::Vpce,
                    "aws:sourcevpc" => Key::Vpc,
                    "aws:sourceip" => Key::Ip,
                    other => {
                        warn(format!("condition key {other} is not supported"));
                        usable = false;
                        continue;
                    }
                };
                let Some(values) = strings(Some(vals)) else {
                    usable = false;
                    continue;
                };
                conditions.push(Condition { op, key, values });
            }
        }
    }
    Statement {
        allow,
        resources,
        conditions,
        usable,
    }
}

impl Condition {
    fn holds(&self, c: &Caller<'_>) -> bool {
        let actual: Option<String> = match self.key {
            Key::Vpce => c.source_vpce.map(str::to_owned),
            Key::Vpc => c.source_vpc.map(str::to_owned),
            Key::Ip => Some(c.source_ip.to_string()),
        };
        match self.op {
            // IAM: a String*/IpAddress condition on a key that is absent is false; the negated
            // operators are true when the key is absent.
            Op::StringEquals => actual.is_some_and(|a| self.values.contains(&a)),
            Op::StringNotEquals => actual.is_none_or(|a| self.values.iter().all(|v| *v != a)),
            Op::StringLike => actual.is_some_and(|a| self.values.iter().any(|v| glob(v, &a))),
            Op::StringNotLike => actual.is_none_or(|a| self.values.iter().all(|v| !glob(v, &a))),
            Op::IpAddress => {
                self.key == Key::Ip && self.values.iter().any(|v| in_net(v, c.source_ip))
            }
            Op::NotIpAddress => {
                self.key == Key::Ip && self.values.iter().all(|v| !in_net(v, c.source_ip))
            }
        }
    }
}

fn in_net(v: &str, ip: IpAddr) -> bool {
    if let Ok(net) = v.parse::<IpNet>() {
        return net.contains(&ip);
    }
    v.parse::<IpAddr>().is_ok_and(|a| a == ip)
}

fn resource_matches(pattern: &str, c: &Caller<'_>) -> bool {
    if pattern == "*" {
        return true;
    }
    // `execute-api:/stage/METHOD/path` is shorthand for the API's own ARN.
    if let Some(rest) = pattern.strip_prefix("execute-api:/") {
        return glob(rest, c.api_relative);
    }
    glob(pattern, c.arn)
}

/// IAM wildcard match: `*` any run of characters (including none), `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller<'a>(vpce: Option<&'a str>) -> Caller<'a> {
        Caller {
            arn: "arn:aws:execute-api:us-east-1:111122223333:p1r2i3v4a5/prod/GET/test",
            api_relative: "prod/GET/test",
            source_ip: "10.0.2.15".parse().unwrap(),
            source_vpce: vpce,
            source_vpc: vpce.map(|_| "vpc-0a1b2c3d"),
        }
    }

    fn documented(vpce: &str) -> Policy {
        // The shape AWS documents: allow all, then deny unless the source endpoint matches.
        Policy::from_json(&serde_json::json!({"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":["execute-api:/*"]},
            {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":["execute-api:/*"],
             "Condition":{"StringNotEquals":{"aws:sourceVpce": vpce}}}]}))
    }

    #[test]
    fn documented_source_vpce_policy() {
        let p = documented("vpce-0123456789abcdef0");
        assert!(p.warnings().is_empty(), "{:?}", p.warnings());
        assert_eq!(
            p.evaluate(&caller(Some("vpce-0123456789abcdef0"))),
            Decision::Allow
        );
        assert_eq!(
            p.evaluate(&caller(Some("vpce-0fffffffffffffff0"))),
            Decision::ExplicitDeny
        );
        assert_eq!(
            p.evaluate(&caller(None)),
            Decision::ExplicitDeny,
            "no endpoint: StringNotEquals holds"
        );
    }

    #[test]
    fn no_statement_allows() {
        let p = Policy::from_json(&serde_json::json!({"Statement":[
            {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/prod/POST/*"}]}));
        assert_eq!(p.evaluate(&caller(None)), Decision::NoAllow);
        let s = Policy::from_json(&serde_json::Value::String("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"*\",\"Resource\":\"arn:aws:execute-api:us-east-1:*:p1r2i3v4a5/*\"}]}".to_owned()));
        assert_eq!(
            s.evaluate(&caller(None)),
            Decision::Allow,
            "policy as a JSON string, full ARN"
        );
    }

    #[test]
    fn ip_conditions_and_unknown_parts_are_strict() {
        let p = Policy::from_json(&serde_json::json!({"Statement":[
            {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/16"]}}},
            {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}]}));
        assert_eq!(p.evaluate(&caller(None)), Decision::Allow);
        assert_eq!(p.warnings().len(), 1);
        let mut outside = caller(None);
        outside.source_ip = "192.168.1.1".parse().unwrap();
        assert_eq!(
            p.evaluate(&outside),
            Decision::NoAllow,
            "the statement it cannot read allows nothing"
        );
    }

    #[test]
    fn glob_matches_iam_wildcards() {
        assert!(glob("*", ""));
        assert!(glob("prod/*", "prod/GET/test"));
        assert!(glob("prod/???/test", "prod/GET/test"));
        assert!(!glob("prod/POST/*", "prod/GET/test"));
        assert!(glob("vpce-*", "vpce-0123"));
        assert!(!glob("a*b", "ac"));
    }
}
