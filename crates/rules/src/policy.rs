//! Resource- and identity-policy evaluation for one call (anonymous, or signed by an IAM
//! identity), on the grammar `parallax-model` parses
//! (and refuses when a statement could not be honoured in full). An applicable Deny wins;
//! otherwise an applicable Allow allows; otherwise nothing allows.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use parallax_model::policy::{Base, Condition, Origin, SetQualifier, Statement, date};
pub use parallax_model::policy::{Policy, PolicyError, PolicyErrorKind};

/// What a policy is asked about: one call.
#[derive(Clone, Debug)]
pub struct Caller<'a> {
    /// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`.
    pub arn: &'a str,
    /// The part after the API id: `{stage}/{METHOD}/{path}`, matched by `execute-api:/…`.
    pub api_relative: &'a str,
    /// The client's address (`aws:SourceIp`, `aws:VpcSourceIp`).
    pub source_ip: IpAddr,
    /// Set when the call came through an interface endpoint.
    pub source_vpce: Option<&'a str>,
    /// The endpoint's VPC, when the call came through one (`aws:SourceVpc`).
    pub source_vpc: Option<&'a str>,
    /// The User-Agent header.
    pub user_agent: Option<&'a str>,
    /// The Referer header.
    pub referer: Option<&'a str>,
    /// Seconds since the Unix epoch, for `aws:CurrentTime` and `aws:EpochTime`.
    pub now: i64,
    /// The signed caller (SigV4), when the call is signed and its signature verified; `None`
    /// for an anonymous call.
    pub principal: Option<Principal<'a>>,
}

/// A signed caller: the IAM identity whose credentials signed the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal<'a> {
    /// Its ARN (`arn:aws:iam::111122223333:user/alice`), for `aws:PrincipalArn`.
    pub arn: &'a str,
    /// Its account, for `aws:PrincipalAccount`.
    pub account: &'a str,
    /// Its account's organization, for `aws:PrincipalOrgID`.
    pub org: Option<&'a str>,
}

/// What a resource policy says to a signed caller (API Gateway's "How API Gateway resource
/// policies affect authorization workflow" needs the difference between an Allow naming the
/// caller and one naming only its account, which delegates to the account's own policies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A Deny applies.
    ExplicitDeny,
    /// An Allow names the caller (or everyone), and no Deny applies.
    Allow,
    /// An Allow names only the caller's account (its id or `arn:…:iam::ACCOUNT:root`).
    AccountAllow,
    /// Nothing applies.
    NoAllow,
}

impl Caller<'_> {
    /// The current time as `now`.
    pub fn now() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// What a policy decides for one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A statement allows and none denies.
    Allow,
    /// A statement denies explicitly.
    ExplicitDeny,
    /// No statement allows.
    NoAllow,
}

/// The decision of `policy` for one anonymous call to `execute-api:Invoke`: an applicable
/// Deny wins; otherwise an applicable Allow allows; otherwise nothing allows.
pub fn evaluate(policy: &Policy, c: &Caller<'_>) -> Decision {
    match verdict(policy, c) {
        Verdict::ExplicitDeny => Decision::ExplicitDeny,
        Verdict::Allow => Decision::Allow,
        // An account's Allow grants nothing by itself: its own policies must.
        Verdict::AccountAllow | Verdict::NoAllow => Decision::NoAllow,
    }
}

/// The policy's verdict for the call, telling an Allow that names the caller from one that
/// names only its account.
pub fn verdict(policy: &Policy, c: &Caller<'_>) -> Verdict {
    let mut allowed = None;
    for s in policy.statements() {
        let Some(how) = applies(s, c) else {
            continue;
        };
        if s.deny {
            return Verdict::ExplicitDeny;
        }
        if allowed != Some(Named::Caller) {
            allowed = Some(how);
        }
    }
    match allowed {
        Some(Named::Caller) => Verdict::Allow,
        Some(Named::Account) => Verdict::AccountAllow,
        None => Verdict::NoAllow,
    }
}

/// How a statement's principal element names the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Named {
    /// Everyone, or the caller's own ARN.
    Caller,
    /// The caller's account (its id, or its root ARN).
    Account,
}

/// How the principal element names the caller, if it does.
fn named(p: &parallax_model::policy::Principals, c: &Caller<'_>) -> Option<Named> {
    if p.anyone {
        return Some(Named::Caller);
    }
    let who = c.principal?;
    if p.aws.iter().any(|x| x == who.arn) {
        return Some(Named::Caller);
    }
    let root = format!("arn:aws:iam::{}:root", who.account);
    p.aws
        .iter()
        .any(|x| x == who.account || *x == root)
        .then_some(Named::Account)
}

fn applies(s: &Statement, c: &Caller<'_>) -> Option<Named> {
    let principal = match (named(&s.principal.value, c), s.principal.not) {
        (Some(n), false) => Some(n),
        (None, true) => Some(Named::Caller),
        _ => None,
    }?;
    let action = s
        .action
        .value
        .iter()
        .any(|a| glob_ignore_case(a, "execute-api:Invoke"))
        != s.action.not;
    let resource = s.resource.value.iter().any(|r| resource_matches(r, c)) != s.resource.not;
    (action && resource && s.conditions.iter().all(|k| holds(k, c))).then_some(principal)
}

fn context(k: &Condition, c: &Caller<'_>) -> Option<Vec<String>> {
    let one = |s: &str| Some(vec![s.to_owned()]);
    match k.key.source {
        Origin::SourceIp => one(&c.source_ip.to_string()),
        Origin::VpcSourceIp => c.source_vpce.and_then(|_| one(&c.source_ip.to_string())),
        Origin::SourceVpc => c.source_vpc.and_then(one),
        Origin::SourceVpce => c.source_vpce.and_then(one),
        Origin::CurrentTime | Origin::EpochTime => one(&c.now.to_string()),
        Origin::SecureTransport => one("true"),
        Origin::UserAgent => c.user_agent.and_then(one),
        Origin::Referer => c.referer.and_then(one),
        Origin::SignedOnly => {
            let p = c.principal?;
            match k.key.name {
                "aws:PrincipalArn" => one(p.arn),
                "aws:PrincipalAccount" => one(p.account),
                "aws:PrincipalOrgID" => p.org.and_then(one),
                "aws:PrincipalType" => one(if p.arn.contains(":assumed-role/") {
                    "AssumedRole"
                } else if p.arn.ends_with(":root") {
                    "Account"
                } else {
                    "User"
                }),
                // Tags, organisation, MFA and session facts are not modelled: absent.
                _ => None,
            }
        }
        Origin::ServiceOnly => None,
    }
}

fn holds(k: &Condition, c: &Caller<'_>) -> bool {
    let context = context(k, c);
    if k.op.base == Base::Null {
        let absent = context.is_none();
        return k
            .values
            .iter()
            .any(|v| v.eq_ignore_ascii_case("true") == absent);
    }
    let Some(values) = context else {
        // IAM on an absent key: IfExists and ForAllValues hold, ForAnyValue does not; plain
        // negated operators hold and plain positive ones do not.
        return match k.op.set {
            _ if k.op.if_exists => true,
            SetQualifier::ForAllValues => true,
            SetQualifier::ForAnyValue => false,
            SetQualifier::None => negated(k.op.base),
        };
    };
    let each = |ctx: &str| {
        let any = k.values.iter().any(|p| compare(k.op.base, ctx, p));
        if negated(k.op.base) { !any } else { any }
    };
    match k.op.set {
        SetQualifier::ForAllValues => values.iter().all(|v| each(v)),
        SetQualifier::ForAnyValue => values.iter().any(|v| each(v)),
        SetQualifier::None if negated(k.op.base) => values.iter().all(|v| each(v)),
        SetQualifier::None => values.iter().any(|v| each(v)),
    }
}

fn negated(b: Base) -> bool {
    matches!(
        b,
        Base::StringNotEquals
            | Base::StringNotEqualsIgnoreCase
            | Base::StringNotLike
            | Base::NumericNotEquals
            | Base::DateNotEquals
            | Base::NotIpAddress
            | Base::ArnNotEquals
            | Base::ArnNotLike
    )
}

/// Whether the context value matches one policy value under the (un-negated) operator.
fn compare(b: Base, ctx: &str, p: &str) -> bool {
    use Base as B;
    let num = |s: &str| s.parse::<f64>().ok();
    match b {
        B::StringEquals | B::StringNotEquals => ctx == p,
        B::StringEqualsIgnoreCase | B::StringNotEqualsIgnoreCase => {
            ctx.to_lowercase() == p.to_lowercase()
        }
        B::StringLike | B::StringNotLike => glob(p, ctx),
        B::NumericEquals | B::NumericNotEquals => num(ctx) == num(p) && num(p).is_some(),
        B::NumericLessThan => matches!((num(ctx), num(p)), (Some(a), Some(b)) if a < b),
        B::NumericLessThanEquals => matches!((num(ctx), num(p)), (Some(a), Some(b)) if a <= b),
        B::NumericGreaterThan => matches!((num(ctx), num(p)), (Some(a), Some(b)) if a > b),
        B::NumericGreaterThanEquals => {
            matches!((num(ctx), num(p)), (Some(a), Some(b)) if a >= b)
        }
        B::DateEquals | B::DateNotEquals => date(ctx).is_some() && date(ctx) == date(p),
        B::DateLessThan => matches!((date(ctx), date(p)), (Some(a), Some(b)) if a < b),
        B::DateLessThanEquals => matches!((date(ctx), date(p)), (Some(a), Some(b)) if a <= b),
        B::DateGreaterThan => matches!((date(ctx), date(p)), (Some(a), Some(b)) if a > b),
        B::DateGreaterThanEquals => matches!((date(ctx), date(p)), (Some(a), Some(b)) if a >= b),
        B::Bool => ctx.eq_ignore_ascii_case(p),
        B::BinaryEquals => ctx == p,
        B::IpAddress | B::NotIpAddress => ctx.parse::<IpAddr>().is_ok_and(|ip| in_net(p, ip)),
        B::ArnEquals | B::ArnLike | B::ArnNotEquals | B::ArnNotLike => arn_like(p, ctx),
        B::Null => false,
    }
}

fn in_net(v: &str, ip: IpAddr) -> bool {
    if let Ok(net) = v.parse::<IpNet>() {
        return net.contains(&ip);
    }
    v.parse::<IpAddr>().is_ok_and(|a| a == ip)
}

/// IAM's ARN comparison: the six colon-separated parts, each matched with wildcards.
fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| glob(p, a))
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

fn glob_ignore_case(pattern: &str, text: &str) -> bool {
    glob(&pattern.to_ascii_lowercase(), &text.to_ascii_lowercase())
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
    use serde_json::Value;

    /// `policy.evaluate(caller)`, for the tests' readability.
    trait Evaluate {
        fn evaluate(&self, c: &Caller<'_>) -> Decision;
    }

    impl Evaluate for Policy {
        fn evaluate(&self, c: &Caller<'_>) -> Decision {
            super::evaluate(self, c)
        }
    }
    use serde_json::json;

    fn caller<'a>(vpce: Option<&'a str>) -> Caller<'a> {
        Caller {
            arn: "arn:aws:execute-api:us-east-1:111122223333:p1r2i3v4a5/prod/GET/test",
            api_relative: "prod/GET/test",
            source_ip: "10.0.2.15".parse().unwrap(),
            source_vpce: vpce,
            source_vpc: vpce.map(|_| "vpc-0a1b2c3d"),
            user_agent: Some("curl/8.5.0"),
            referer: None,
            now: date("2026-11-30T12:00:00Z").unwrap(),
            principal: None,
        }
    }

    fn allow_then_deny(condition: Value) -> Policy {
        Policy::parse(&json!({"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":["execute-api:/*"]},
            {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":["execute-api:/*"],
             "Condition": condition}]}))
        .unwrap()
    }

    /// The shape AWS documents (apigateway-resource-policies-examples.html): allow all, then
    /// deny unless the source endpoint matches.
    #[test]
    fn documented_source_vpce_policy() {
        let p =
            allow_then_deny(json!({"StringNotEquals":{"aws:sourceVpce":"vpce-0123456789abcdef0"}}));
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
            "absent: StringNotEquals holds"
        );
    }

    #[test]
    fn a_json_string_and_full_arns() {
        let s = Policy::parse(&Value::String("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"*\",\"Resource\":\"arn:aws:execute-api:us-east-1:*:p1r2i3v4a5/*\"}]}".to_owned())).unwrap();
        assert_eq!(s.evaluate(&caller(None)), Decision::Allow);
        let post_only = Policy::parse(&json!({"Statement":[
            {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/prod/POST/*"}]})).unwrap();
        assert_eq!(post_only.evaluate(&caller(None)), Decision::NoAllow);
    }

    /// The issue-10 findings: Denies the old code dropped as "not understood".
    #[test]
    fn not_ip_address_if_exists_and_not_resource_denies_apply() {
        let p = allow_then_deny(json!({"NotIpAddressIfExists":{"aws:SourceIp":["192.0.2.0/24"]}}));
        assert_eq!(p.evaluate(&caller(None)), Decision::ExplicitDeny);
        let mut office = caller(None);
        office.source_ip = "192.0.2.7".parse().unwrap();
        assert_eq!(p.evaluate(&office), Decision::Allow);

        let p = Policy::parse(&json!({"Statement":[
            {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"},
            {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","NotResource":"execute-api:/prod/GET/public"}]})).unwrap();
        assert_eq!(
            p.evaluate(&caller(None)),
            Decision::ExplicitDeny,
            "everything but /public is denied"
        );
        let mut public = caller(None);
        public.api_relative = "prod/GET/public";
        assert_eq!(p.evaluate(&public), Decision::Allow);
    }

    #[test]
    fn not_action_and_not_principal() {
        let p = Policy::parse(&json!({"Statement":[
            {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*"},
            {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"NotAction":"execute-api:InvalidateCache","Resource":"*"}]})).unwrap();
        assert_eq!(
            p.evaluate(&caller(None)),
            Decision::ExplicitDeny,
            "anonymous is not the named principal"
        );
        let p = Policy::parse(&json!({"Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"execute-api:Invoke","Resource":"*"}]})).unwrap();
        assert_eq!(
            p.evaluate(&caller(None)),
            Decision::NoAllow,
            "a named principal is not anonymous"
        );
    }

    #[test]
    fn set_qualifiers_if_exists_null_and_absent_keys() {
        let deny = |c: Value| allow_then_deny(c).evaluate(&caller(None));
        // aws:PrincipalArn is absent for anonymous callers.
        assert_eq!(
            deny(json!({"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}})),
            Decision::ExplicitDeny
        );
        assert_eq!(
            deny(json!({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}})),
            Decision::Allow
        );
        assert_eq!(
            deny(json!({"StringEqualsIfExists":{"aws:PrincipalAccount":"1"}})),
            Decision::ExplicitDeny
        );
        assert_eq!(
            deny(json!({"ForAllValues:StringEquals":{"aws:PrincipalOrgPaths":"o-1/*"}})),
            Decision::ExplicitDeny
        );
        assert_eq!(
            deny(json!({"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"o-1/*"}})),
            Decision::Allow
        );
        assert_eq!(
            deny(json!({"Null":{"aws:SourceVpce":"true"}})),
            Decision::ExplicitDeny
        );
        assert_eq!(
            deny(json!({"Null":{"aws:SourceVpce":false}})),
            Decision::Allow
        );
        assert_eq!(
            deny(json!({"Bool":{"aws:SecureTransport":"false"}})),
            Decision::Allow
        );
        assert_eq!(
            deny(json!({"StringLike":{"aws:UserAgent":"curl/*"}})),
            Decision::ExplicitDeny
        );
        assert_eq!(
            deny(json!({"StringEqualsIgnoreCase":{"aws:UserAgent":"CURL/8.5.0"}})),
            Decision::ExplicitDeny
        );
        assert_eq!(
            deny(json!({"DateGreaterThan":{"aws:CurrentTime":"2026-11-30T00:00:00Z"}})),
            Decision::ExplicitDeny
        );
        assert_eq!(
            deny(json!({"DateLessThan":{"aws:CurrentTime":"2026-01-01"}})),
            Decision::Allow
        );
        assert_eq!(
            deny(json!({"NumericGreaterThanEquals":{"aws:EpochTime":1}})),
            Decision::ExplicitDeny
        );
        assert_eq!(
            deny(
                json!({"IpAddress":{"aws:SourceIp":"10.0.0.0/16"},"StringEquals":{"aws:SourceVpce":"vpce-1"}})
            ),
            Decision::Allow,
            "conditions are ANDed"
        );
    }

    /// Each operator family of the IAM User Guide's "IAM JSON policy elements: Condition
    /// operators" page, on a key the call carries and on one it does not (the page's
    /// "Important" box: a missing key makes a condition false, a negated one true; `…IfExists`
    /// holds when the key is missing; `Null` tests presence), and the rules of "Condition with
    /// multiple context keys or values": keys AND, values OR, a negated operator over several
    /// values is true only when none matches, `ForAllValues` holds for a missing key and
    /// `ForAnyValue` does not.
    #[test]
    fn iam_condition_operators_page() {
        let c = caller(Some("vpce-0123456789abcdef0"));
        let internet = caller(None);
        let holds = |cond: Value, c: &Caller<'_>| {
            let p = Policy::parse(&json!({"Statement":[{"Effect":"Allow","Principal":"*",
                "Action":"execute-api:Invoke","Resource":"*","Condition":cond}]}))
            .expect("loads");
            p.evaluate(c) == Decision::Allow
        };
        let table: Vec<(Value, bool, bool)> = vec![
            // String condition operators (case-sensitive; IgnoreCase; Like with * and ?).
            (
                json!({"StringEquals":{"aws:SourceVpce":"vpce-0123456789abcdef0"}}),
                true,
                false,
            ),
            (
                json!({"StringEquals":{"aws:SourceVpce":"VPCE-0123456789ABCDEF0"}}),
                false,
                false,
            ),
            (
                json!({"StringEqualsIgnoreCase":{"aws:SourceVpce":"VPCE-0123456789ABCDEF0"}}),
                true,
                false,
            ),
            (
                json!({"StringNotEquals":{"aws:SourceVpce":"vpce-0123456789abcdef0"}}),
                false,
                true,
            ),
            (
                json!({"StringNotEqualsIgnoreCase":{"aws:SourceVpce":"VPCE-0123456789ABCDEF0"}}),
                false,
                true,
            ),
            (
                json!({"StringLike":{"aws:SourceVpce":"vpce-0123*"}}),
                true,
                false,
            ),
            (
                json!({"StringLike":{"aws:SourceVpce":"vpce-0123456789abcdef?"}}),
                true,
                false,
            ),
            (
                json!({"StringNotLike":{"aws:SourceVpce":"vpce-9*"}}),
                true,
                true,
            ),
            // Multiple values for one key are ORed; a negated operator needs none to match.
            (
                json!({"StringEquals":{"aws:SourceVpce":["vpce-1","vpce-0123456789abcdef0"]}}),
                true,
                false,
            ),
            (
                json!({"StringNotEquals":{"aws:SourceVpce":["vpce-1","vpce-0123456789abcdef0"]}}),
                false,
                true,
            ),
            (
                json!({"StringNotEquals":{"aws:SourceVpce":["vpce-1","vpce-2"]}}),
                true,
                true,
            ),
            // Multiple keys (and operators) are ANDed.
            (
                json!({"StringEquals":{"aws:SourceVpce":"vpce-0123456789abcdef0","aws:SourceVpc":"vpc-0a1b2c3d"}}),
                true,
                false,
            ),
            (
                json!({"StringEquals":{"aws:SourceVpce":"vpce-0123456789abcdef0","aws:SourceVpc":"vpc-other"}}),
                false,
                false,
            ),
            (
                json!({"StringEquals":{"aws:SourceVpce":"vpce-0123456789abcdef0"},"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}),
                false,
                false,
            ),
            // Numeric condition operators (aws:EpochTime is 2026-11-30T12:00:00Z).
            (
                json!({"NumericGreaterThan":{"aws:EpochTime":"1700000000"}}),
                true,
                true,
            ),
            (
                json!({"NumericLessThanEquals":{"aws:EpochTime":1700000000}}),
                false,
                false,
            ),
            (
                json!({"NumericNotEquals":{"aws:EpochTime":"1"}}),
                true,
                true,
            ),
            // Date condition operators (ISO 8601 or epoch seconds).
            (
                json!({"DateGreaterThanEquals":{"aws:CurrentTime":"2026-11-30T12:00:00Z"}}),
                true,
                true,
            ),
            (
                json!({"DateLessThan":{"aws:CurrentTime":"2026-11-30T12:00:00Z"}}),
                false,
                false,
            ),
            (
                json!({"DateNotEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}),
                true,
                true,
            ),
            // Boolean condition operators.
            (json!({"Bool":{"aws:SecureTransport":"true"}}), true, true),
            (
                json!({"Bool":{"aws:MultiFactorAuthPresent":"false"}}),
                false,
                false,
            ),
            (
                json!({"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}),
                true,
                true,
            ),
            // IP address condition operators (CIDR or one address; only aws:SourceIp and
            // aws:VpcSourceIp, the latter only through an endpoint).
            (
                json!({"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}),
                true,
                true,
            ),
            (
                json!({"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.1"]}}),
                false,
                false,
            ),
            (
                json!({"IpAddress":{"aws:VpcSourceIp":"10.0.2.15"}}),
                true,
                false,
            ),
            (
                json!({"NotIpAddress":{"aws:VpcSourceIp":"10.0.2.15/32"}}),
                false,
                true,
            ),
            // ARN condition operators: the principal's ARN is missing for anonymous callers.
            (
                json!({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/app"}}),
                false,
                false,
            ),
            (
                json!({"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:root"}}),
                true,
                true,
            ),
            // …IfExists: "if the key is not present, evaluate the condition as true".
            (
                json!({"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}),
                false,
                true,
            ),
            (
                json!({"StringNotEqualsIfExists":{"aws:SourceVpce":"vpce-0123456789abcdef0"}}),
                false,
                true,
            ),
            // Null: true tests that the key is missing, false that it is present.
            (json!({"Null":{"aws:SourceVpce":"true"}}), false, true),
            (json!({"Null":{"aws:SourceVpce":"false"}}), true, false),
            // Set operators over a single-valued key: a set of one, or empty when missing.
            (
                json!({"ForAnyValue:StringEquals":{"aws:SourceVpce":["vpce-0123456789abcdef0"]}}),
                true,
                false,
            ),
            (
                json!({"ForAllValues:StringEquals":{"aws:SourceVpce":["vpce-0123456789abcdef0"]}}),
                true,
                true,
            ),
            (
                json!({"ForAllValues:StringNotEquals":{"aws:SourceVpce":["vpce-0123456789abcdef0"]}}),
                false,
                true,
            ),
            (
                json!({"ForAnyValue:StringNotEquals":{"aws:SourceVpce":["vpce-1"]}}),
                true,
                false,
            ),
        ];
        for (cond, through_endpoint, from_internet) in table {
            assert_eq!(
                holds(cond.clone(), &c),
                through_endpoint,
                "through an endpoint: {cond}"
            );
            assert_eq!(
                holds(cond.clone(), &internet),
                from_internet,
                "from the internet: {cond}"
            );
        }
    }

    #[test]
    fn glob_matches_iam_wildcards() {
        assert!(glob("*", ""));
        assert!(glob("prod/*", "prod/GET/test"));
        assert!(glob("prod/???/test", "prod/GET/test"));
        assert!(!glob("prod/POST/*", "prod/GET/test"));
        assert!(!glob("a*b", "ac"));
        assert!(glob_ignore_case("Execute-API:invoke", "execute-api:Invoke"));
    }

    proptest::proptest! {
        /// For a key the call carries, each negated operator is the exact opposite of its
        /// positive one, and IfExists changes nothing; for an absent key, IfExists always holds.
        #[test]
        fn negated_operators_are_complements(
            ip in proptest::array::uniform4(0u8..=255),
            net in proptest::array::uniform4(0u8..=255),
            bits in 0u8..=32,
            agent in "[a-z]{1,5}(/[0-9])?",
            pattern in "[a-z*?]{1,5}",
        ) {
            let mut c = caller(None);
            c.source_ip = std::net::IpAddr::from(ip);
            c.user_agent = Some(&agent);
            let cidr = format!("{}/{bits}", std::net::Ipv4Addr::from(net));
            let holds = |op: &str, key: &str, value: &str, c: &Caller<'_>| {
                let p = Policy::parse(&json!({"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*","Condition":{op:{key:value}}}]})).expect("loads");
                p.evaluate(c) == Decision::Allow
            };
            for (pos, neg, key, value) in [
                ("IpAddress", "NotIpAddress", "aws:SourceIp", cidr.as_str()),
                ("StringEquals", "StringNotEquals", "aws:UserAgent", pattern.as_str()),
                ("StringLike", "StringNotLike", "aws:UserAgent", pattern.as_str()),
            ] {
                let p = holds(pos, key, value, &c);
                proptest::prop_assert_eq!(p, !holds(neg, key, value, &c), "{} vs {}", pos, neg);
                proptest::prop_assert_eq!(p, holds(&format!("{pos}IfExists"), key, value, &c));
            }
            let mut absent = c.clone();
            absent.user_agent = None;
            proptest::prop_assert!(holds("StringEqualsIfExists", "aws:UserAgent", &pattern, &absent));
            proptest::prop_assert!(!holds("StringEquals", "aws:UserAgent", &pattern, &absent));
            proptest::prop_assert!(holds("StringNotEquals", "aws:UserAgent", &pattern, &absent));
        }
    }
}
