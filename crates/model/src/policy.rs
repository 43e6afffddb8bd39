//! Resource policies: the IAM grammar that API Gateway accepts on an API, parsed whole or not
//! at all.
//!
//! Parsing is complete or it fails: a statement the evaluator could not honour would make a
//! Deny silently weaker, so any element, operator, key or value outside the grammar below is a
//! [`PolicyError`] naming where it is, and the topology that holds it does not load.
//!
//! - Top level: `Version` (`2012-10-17` or `2008-10-17`), `Id`, `Statement` (one or a list).
//! - Statement: `Sid`, `Effect`, exactly one of `Principal`/`NotPrincipal`, of
//!   `Action`/`NotAction` and of `Resource`/`NotResource`, and `Condition`.
//! - Principals: `*`, or `{"AWS"|"Service"|"Federated"|"CanonicalUser": one or a list}`. The
//!   gateway's callers are anonymous (no SigV4), so only `*` and `{"AWS": "*"}` name them.
//! - Actions: `service:action` with `*`/`?` wildcards, compared without case with
//!   `execute-api:Invoke`.
//! - Resources: `*`, full ARNs and the `execute-api:/stage/METHOD/path` shorthand, with `*`/`?`.
//! - Conditions: every IAM operator family (String, Numeric, Date, Bool, Binary, IpAddress, Arn,
//!   Null), the `IfExists` suffix and the `ForAnyValue:`/`ForAllValues:` set qualifiers, on the
//!   keys API Gateway documents for resource policies (reference §5). Keys that need a signed
//!   caller (`aws:PrincipalArn`, …) are absent for anonymous calls and evaluate as IAM
//!   evaluates an absent key.
//!
//! Evaluating a policy for one call is `parallax-rules`'s `policy`; this module is the grammar
//! and the parsed tree it reads.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Map, Value};

/// Why a policy could not be read, and where in it (`Statement[1].Condition.StringLike`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{kind}", if at.is_empty() { String::new() } else { format!("{at}: ") })]
pub struct PolicyError {
    /// The path of the offending part (`Statement[1].Condition`), empty for the whole policy.
    pub at: String,
    /// What is wrong there.
    pub kind: PolicyErrorKind,
}

/// Each way a policy falls outside the grammar the evaluator honours.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// A policy given as a string that does not hold JSON.
    NotJson(String),
    /// Something other than the expected JSON type.
    WrongType {
        /// The JSON type the element needs.
        expected: &'static str,
    },
    /// An element IAM does not define at this place.
    UnknownElement(String),
    /// A required element is missing (`one_of` lists the accepted forms).
    Missing {
        /// The elements of which one is required.
        one_of: &'static str,
    },
    /// Both forms of an element (`Resource` and `NotResource`).
    Both(&'static str, &'static str),
    /// A `Version` other than 2012-10-17 and 2008-10-17.
    BadVersion(String),
    /// An `Effect` other than Allow and Deny.
    BadEffect(String),
    /// A principal type other than AWS, Service, Federated, CanonicalUser.
    BadPrincipalType(String),
    /// `Principal` or `NotPrincipal` in an identity-based policy (IAM refuses them there).
    PrincipalInIdentityPolicy,
    /// An action that is neither `*` nor `service:action`.
    BadAction(String),
    /// A resource that is neither `*`, an ARN, nor the `execute-api:/` shorthand.
    BadResource(String),
    /// A condition operator IAM does not define.
    UnknownOperator(String),
    /// `Null` takes no `IfExists`.
    NullIfExists,
    /// A condition key API Gateway does not set for resource policies.
    UnknownKey(String),
    /// The operator compares a type the key does not have (`IpAddress` on `aws:SourceVpce`).
    OperatorDoesNotFitKey {
        /// The condition operator as written.
        operator: String,
        /// The condition key it is applied to.
        key: String,
    },
    /// A value the operator cannot compare (`10.0.0.0/33` for `IpAddress`).
    BadValue {
        /// The condition operator as written.
        operator: String,
        /// The value it cannot compare.
        value: String,
    },
    /// `${aws:username}` and the like.
    PolicyVariable(String),
    /// An empty list where one value is needed.
    Empty,
}

impl fmt::Display for PolicyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PolicyErrorKind as K;
        match self {
            K::NotJson(e) => write!(f, "the policy string is not JSON: {e}"),
            K::WrongType { expected } => write!(f, "expected {expected}"),
            K::UnknownElement(e) => write!(f, "`{e}` is not a policy element here"),
            K::Missing { one_of } => write!(f, "missing {one_of}"),
            K::Both(a, b) => write!(f, "{a} and {b} cannot both be given"),
            K::BadVersion(v) => write!(
                f,
                "Version `{v}` is not one IAM knows (2012-10-17 or 2008-10-17)"
            ),
            K::BadEffect(e) => write!(f, "Effect `{e}` is neither Allow nor Deny"),
            K::PrincipalInIdentityPolicy => f.write_str(
                "an identity-based policy has no Principal (it applies to the identity it is attached to)",
            ),
            K::BadPrincipalType(t) => write!(
                f,
                "principal type `{t}` is not AWS, Service, Federated or CanonicalUser"
            ),
            K::BadAction(a) => write!(f, "action `{a}` is not `*` or `service:action`"),
            K::BadResource(r) => write!(
                f,
                "resource `{r}` is not `*`, an ARN or `execute-api:/stage/METHOD/path`"
            ),
            K::UnknownOperator(o) => write!(f, "condition operator `{o}` is not an IAM operator"),
            K::NullIfExists => f.write_str("the Null operator takes no IfExists"),
            K::UnknownKey(k) => write!(
                f,
                "condition key `{k}` is not one API Gateway sets for resource policies ({})",
                KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
            ),
            K::OperatorDoesNotFitKey { operator, key } => {
                write!(f, "{operator} cannot compare {key}")
            }
            K::BadValue { operator, value } => {
                write!(f, "`{value}` is not a value {operator} can compare")
            }
            K::PolicyVariable(v) => write!(f, "policy variables are not evaluated: `{v}`"),
            K::Empty => f.write_str("the list is empty"),
        }
    }
}

/// A policy that the evaluator honours in full.
#[derive(Clone, Debug)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// One statement of a policy, read whole.
#[derive(Clone, Debug)]
pub struct Statement {
    /// `Effect: Deny` (else Allow).
    pub deny: bool,
    /// `Principal` or `NotPrincipal` (negated); in an identity-based policy, none (the
    /// identity it is attached to).
    pub principal: Negatable<Principals>,
    /// `Action` or `NotAction`, with their patterns.
    pub action: Negatable<Vec<String>>,
    /// `Resource` or `NotResource`, with their ARN patterns.
    pub resource: Negatable<Vec<String>>,
    /// Every condition of the `Condition` block; all must hold.
    pub conditions: Vec<Condition>,
}

/// What a principal element names, as far as execute-api callers go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Principals {
    /// `*` (or `{"AWS": "*"}`): everyone, anonymous callers included.
    pub anyone: bool,
    /// The `AWS` principals other than `*`: account ids, `arn:aws:iam::ACCOUNT:root`, and user,
    /// role and assumed-role ARNs.
    pub aws: Vec<String>,
}

impl Principals {
    /// Everyone (the identity of an identity-based policy is its caller).
    pub fn everyone() -> Principals {
        Principals {
            anyone: true,
            aws: Vec::new(),
        }
    }
}

/// An element, or its `Not` form.
#[derive(Clone, Debug)]
pub struct Negatable<T> {
    /// True for the `Not…` form of the element.
    pub not: bool,
    /// The element's values.
    pub value: T,
}

/// One condition: an operator applied to a key with its values.
#[derive(Clone, Debug)]
pub struct Condition {
    /// The operator, with its set qualifier and `IfExists`.
    pub op: Operator,
    /// The condition key and what IAM knows of it.
    pub key: &'static KeyInfo,
    /// The values to compare with; any one may match.
    pub values: Vec<String>,
}

/// How an operator applies to a multivalued key (IAM's set operators).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetQualifier {
    /// A single-valued comparison.
    None,
    /// `ForAnyValue:`: at least one of the request's values matches.
    ForAnyValue,
    /// `ForAllValues:`: every value of the request matches (true when there is none).
    ForAllValues,
}

/// An IAM condition operator: its base comparison, set qualifier and `IfExists`.
#[derive(Clone, Copy, Debug)]
pub struct Operator {
    /// `ForAnyValue:` or `ForAllValues:`, if any.
    pub set: SetQualifier,
    /// The comparison.
    pub base: Base,
    /// `…IfExists`: true when the key is absent.
    pub if_exists: bool,
}

/// The base operators. The negated ones are true when no policy value matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// Exact, case-sensitive string match.
    StringEquals,
    /// Negated `StringEquals`.
    StringNotEquals,
    /// Exact string match ignoring case.
    StringEqualsIgnoreCase,
    /// Negated `StringEqualsIgnoreCase`.
    StringNotEqualsIgnoreCase,
    /// Case-sensitive match with `*` and `?` wildcards.
    StringLike,
    /// Negated `StringLike`.
    StringNotLike,
    /// Numbers equal.
    NumericEquals,
    /// Numbers differ.
    NumericNotEquals,
    /// The key's number is less than the value.
    NumericLessThan,
    /// The key's number is at most the value.
    NumericLessThanEquals,
    /// The key's number is greater than the value.
    NumericGreaterThan,
    /// The key's number is at least the value.
    NumericGreaterThanEquals,
    /// Dates equal.
    DateEquals,
    /// Dates differ.
    DateNotEquals,
    /// The key's date is before the value.
    DateLessThan,
    /// The key's date is at or before the value.
    DateLessThanEquals,
    /// The key's date is after the value.
    DateGreaterThan,
    /// The key's date is at or after the value.
    DateGreaterThanEquals,
    /// A boolean key is `true` or `false` as given.
    Bool,
    /// Base64 bytes equal.
    BinaryEquals,
    /// The key's address is inside one of the CIDRs.
    IpAddress,
    /// The key's address is inside none of the CIDRs.
    NotIpAddress,
    /// ARNs equal, part by part.
    ArnEquals,
    /// ARNs match, with wildcards in each part.
    ArnLike,
    /// Negated `ArnEquals`.
    ArnNotEquals,
    /// Negated `ArnLike`.
    ArnNotLike,
    /// `Null`: whether the key is absent (`true`) or present (`false`).
    Null,
}

const BASES: &[(&str, Base)] = &[
    ("StringEquals", Base::StringEquals),
    ("StringNotEquals", Base::StringNotEquals),
    ("StringEqualsIgnoreCase", Base::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Base::StringNotEqualsIgnoreCase),
    ("StringLike", Base::StringLike),
    ("StringNotLike", Base::StringNotLike),
    ("NumericEquals", Base::NumericEquals),
    ("NumericNotEquals", Base::NumericNotEquals),
    ("NumericLessThan", Base::NumericLessThan),
    ("NumericLessThanEquals", Base::NumericLessThanEquals),
    ("NumericGreaterThan", Base::NumericGreaterThan),
    ("NumericGreaterThanEquals", Base::NumericGreaterThanEquals),
    ("DateEquals", Base::DateEquals),
    ("DateNotEquals", Base::DateNotEquals),
    ("DateLessThan", Base::DateLessThan),
    ("DateLessThanEquals", Base::DateLessThanEquals),
    ("DateGreaterThan", Base::DateGreaterThan),
    ("DateGreaterThanEquals", Base::DateGreaterThanEquals),
    ("Bool", Base::Bool),
    ("BinaryEquals", Base::BinaryEquals),
    ("IpAddress", Base::IpAddress),
    ("NotIpAddress", Base::NotIpAddress),
    ("ArnEquals", Base::ArnEquals),
    ("ArnLike", Base::ArnLike),
    ("ArnNotEquals", Base::ArnNotEquals),
    ("ArnNotLike", Base::ArnNotLike),
    ("Null", Base::Null),
];

/// What a condition key holds, which decides the operators that may compare it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// Text.
    String,
    /// An IP address.
    Ip,
    /// A date and time.
    Date,
    /// A number.
    Numeric,
    /// A boolean.
    Bool,
    /// An ARN.
    Arn,
}

/// Where a key's value comes from in an anonymous call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `aws:SourceIp`: the client's address on the public path.
    SourceIp,
    /// The client's address, only through an endpoint.
    VpcSourceIp,
    /// `aws:SourceVpc`: the VPC of the endpoint the call came through.
    SourceVpc,
    /// `aws:SourceVpce`: the endpoint the call came through.
    SourceVpce,
    /// `aws:CurrentTime`: now.
    CurrentTime,
    /// `aws:EpochTime`: now, in seconds.
    EpochTime,
    /// `aws:SecureTransport`: always true (API Gateway serves HTTPS only).
    SecureTransport,
    /// `aws:UserAgent`: the request's User-Agent.
    UserAgent,
    /// `aws:Referer`: the request's Referer.
    Referer,
    /// Set only for signed (IAM) callers: absent here.
    SignedOnly,
    /// Set only for service-to-service calls: absent here.
    ServiceOnly,
}

/// A global condition key IAM documents, as this evaluator knows it.
#[derive(Debug)]
pub struct KeyInfo {
    /// The key's name (`aws:SourceVpce`).
    pub name: &'static str,
    /// What the key holds.
    pub ty: KeyType,
    /// Where its value comes from in an anonymous call.
    pub source: Origin,
    /// A prefix key (`aws:PrincipalTag/…`).
    pub prefix: bool,
}

/// The keys of AWS's "condition keys that can be used in API Gateway resource policies" table
/// (apigateway-resource-policies-aws-condition-keys.html). Those that need AuthN are absent for
/// the anonymous callers this gateway serves.
const KEYS: &[KeyInfo] = &[
    key("aws:CurrentTime", KeyType::Date, Origin::CurrentTime),
    key("aws:EpochTime", KeyType::Numeric, Origin::EpochTime),
    key("aws:TokenIssueTime", KeyType::Date, Origin::SignedOnly),
    key(
        "aws:MultiFactorAuthPresent",
        KeyType::Bool,
        Origin::SignedOnly,
    ),
    key(
        "aws:MultiFactorAuthAge",
        KeyType::Numeric,
        Origin::SignedOnly,
    ),
    key("aws:PrincipalAccount", KeyType::String, Origin::SignedOnly),
    key("aws:PrincipalArn", KeyType::Arn, Origin::SignedOnly),
    key("aws:PrincipalOrgID", KeyType::String, Origin::SignedOnly),
    key("aws:PrincipalOrgPaths", KeyType::String, Origin::SignedOnly),
    KeyInfo {
        name: "aws:PrincipalTag/",
        ty: KeyType::String,
        source: Origin::SignedOnly,
        prefix: true,
    },
    key("aws:PrincipalType", KeyType::String, Origin::SignedOnly),
    key("aws:Referer", KeyType::String, Origin::Referer),
    key(
        "aws:SecureTransport",
        KeyType::Bool,
        Origin::SecureTransport,
    ),
    key("aws:SourceArn", KeyType::Arn, Origin::ServiceOnly),
    // Set when an AWS service calls on a resource's behalf, never on a direct call (IAM global
    // condition keys): absent here.
    key("aws:SourceAccount", KeyType::String, Origin::ServiceOnly),
    key("aws:SourceOrgID", KeyType::String, Origin::ServiceOnly),
    key("aws:SourceOrgPaths", KeyType::String, Origin::ServiceOnly),
    key("aws:SourceIp", KeyType::Ip, Origin::SourceIp),
    key("aws:SourceVpc", KeyType::String, Origin::SourceVpc),
    key("aws:SourceVpce", KeyType::String, Origin::SourceVpce),
    key("aws:VpcSourceIp", KeyType::Ip, Origin::VpcSourceIp),
    key("aws:UserAgent", KeyType::String, Origin::UserAgent),
    key("aws:userid", KeyType::String, Origin::SignedOnly),
    key("aws:username", KeyType::String, Origin::SignedOnly),
];

const fn key(name: &'static str, ty: KeyType, source: Origin) -> KeyInfo {
    KeyInfo {
        name,
        ty,
        source,
        prefix: false,
    }
}

fn err(at: impl Into<String>, kind: PolicyErrorKind) -> PolicyError {
    PolicyError {
        at: at.into(),
        kind,
    }
}

impl Policy {
    /// Its statements, in order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// Reads a resource-based policy from JSON (a JSON string holding JSON is unwrapped, as
    /// CloudFormation and the AWS CLI give it): every statement names its principals.
    pub fn parse(v: &Value) -> Result<Policy, PolicyError> {
        Policy::parse_as(v, false)
    }

    /// Reads an identity-based policy (attached to a user or role): no statement names a
    /// principal.
    pub fn parse_identity(v: &Value) -> Result<Policy, PolicyError> {
        Policy::parse_as(v, true)
    }

    fn parse_as(v: &Value, identity: bool) -> Result<Policy, PolicyError> {
        let parsed;
        let v = match v {
            Value::String(s) => {
                parsed = serde_json::from_str::<Value>(s)
                    .map_err(|e| err("", PolicyErrorKind::NotJson(e.to_string())))?;
                &parsed
            }
            other => other,
        };
        let top = object(v, "")?;
        for k in top.keys() {
            if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
                return Err(err("", PolicyErrorKind::UnknownElement(k.clone())));
            }
        }
        match top.get("Version") {
            None => {}
            Some(Value::String(s)) if s == "2012-10-17" || s == "2008-10-17" => {}
            Some(Value::String(s)) => {
                return Err(err("Version", PolicyErrorKind::BadVersion(s.clone())));
            }
            Some(_) => {
                return Err(err(
                    "Version",
                    PolicyErrorKind::WrongType {
                        expected: "a string",
                    },
                ));
            }
        }
        let list: Vec<&Value> = match top.get("Statement") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            Some(_) => {
                return Err(err(
                    "Statement",
                    PolicyErrorKind::WrongType {
                        expected: "a statement or a list of statements",
                    },
                ));
            }
            None => {
                return Err(err(
                    "",
                    PolicyErrorKind::Missing {
                        one_of: "Statement",
                    },
                ));
            }
        };
        let statements = list
            .into_iter()
            .enumerate()
            .map(|(i, s)| statement(s, &format!("Statement[{i}]"), identity))
            .collect::<Result<_, _>>()?;
        Ok(Policy { statements })
    }
}

fn object<'v>(v: &'v Value, at: &str) -> Result<&'v Map<String, Value>, PolicyError> {
    v.as_object().ok_or_else(|| {
        err(
            at,
            PolicyErrorKind::WrongType {
                expected: "an object",
            },
        )
    })
}

/// One string or a non-empty list of strings.
fn strings(v: &Value, at: &str) -> Result<Vec<String>, PolicyError> {
    let list = match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) if a.is_empty() => return Err(err(at, PolicyErrorKind::Empty)),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str().map(str::to_owned).ok_or_else(|| {
                    err(
                        at,
                        PolicyErrorKind::WrongType {
                            expected: "a string or a list of strings",
                        },
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(err(
                at,
                PolicyErrorKind::WrongType {
                    expected: "a string or a list of strings",
                },
            ));
        }
    };
    if let Some(var) = list.iter().find(|s| s.contains("${")) {
        return Err(err(at, PolicyErrorKind::PolicyVariable(var.clone())));
    }
    Ok(list)
}

/// The one of `name` / `Not{name}` that is present.
fn one_of<'v>(
    s: &'v Map<String, Value>,
    name: &'static str,
    not_name: &'static str,
    at: &str,
) -> Result<(bool, &'v Value), PolicyError> {
    match (s.get(name), s.get(not_name)) {
        (Some(v), None) => Ok((false, v)),
        (None, Some(v)) => Ok((true, v)),
        (Some(_), Some(_)) => Err(err(at, PolicyErrorKind::Both(name, not_name))),
        (None, None) => Err(err(
            at,
            PolicyErrorKind::Missing {
                one_of: match name {
                    "Principal" => "Principal or NotPrincipal",
                    "Action" => "Action or NotAction",
                    _ => "Resource or NotResource",
                },
            },
        )),
    }
}

fn statement(v: &Value, at: &str, identity: bool) -> Result<Statement, PolicyError> {
    let s = object(v, at)?;
    for k in s.keys() {
        if !matches!(
            k.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(err(at, PolicyErrorKind::UnknownElement(k.clone())));
        }
    }
    let deny = match s.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => false,
        Some(Value::String(e)) if e == "Deny" => true,
        Some(Value::String(e)) => {
            return Err(err(
                format!("{at}.Effect"),
                PolicyErrorKind::BadEffect(e.clone()),
            ));
        }
        Some(_) => {
            return Err(err(
                format!("{at}.Effect"),
                PolicyErrorKind::WrongType {
                    expected: "Allow or Deny",
                },
            ));
        }
        None => return Err(err(at, PolicyErrorKind::Missing { one_of: "Effect" })),
    };
    let principal = if identity {
        if let Some(k) = ["Principal", "NotPrincipal"]
            .into_iter()
            .find(|k| s.get(*k).is_some())
        {
            return Err(err(
                format!("{at}.{k}"),
                PolicyErrorKind::PrincipalInIdentityPolicy,
            ));
        }
        Negatable {
            not: false,
            value: Principals::everyone(),
        }
    } else {
        let (not, p) = one_of(s, "Principal", "NotPrincipal", at)?;
        let pat = format!("{at}.{}", if not { "NotPrincipal" } else { "Principal" });
        Negatable {
            not,
            value: principals(p, &pat)?,
        }
    };
    let (not, a) = one_of(s, "Action", "NotAction", at)?;
    let aat = format!("{at}.{}", if not { "NotAction" } else { "Action" });
    let actions = strings(a, &aat)?;
    if let Some(bad) = actions.iter().find(|a| {
        *a != "*"
            && a.split_once(':')
                .is_none_or(|(s, n)| s.is_empty() || n.is_empty())
    }) {
        return Err(err(aat, PolicyErrorKind::BadAction(bad.clone())));
    }
    let action = Negatable {
        not,
        value: actions,
    };
    let (not, r) = one_of(s, "Resource", "NotResource", at)?;
    let rat = format!("{at}.{}", if not { "NotResource" } else { "Resource" });
    let resources = strings(r, &rat)?;
    if let Some(bad) = resources
        .iter()
        .find(|r| !(*r == "*" || r.starts_with("arn:") || r.starts_with("execute-api:/")))
    {
        return Err(err(rat, PolicyErrorKind::BadResource(bad.clone())));
    }
    let resource = Negatable {
        not,
        value: resources,
    };
    let conditions = match s.get("Condition") {
        None => Vec::new(),
        Some(c) => conditions(c, &format!("{at}.Condition"))?,
    };
    Ok(Statement {
        deny,
        principal,
        action,
        resource,
        conditions,
    })
}

/// What a principal element names: `*`, and the AWS principals (Service, Federated and
/// CanonicalUser principals never call execute-api directly).
fn principals(p: &Value, at: &str) -> Result<Principals, PolicyError> {
    match p {
        Value::String(s) if s == "*" => Ok(Principals::everyone()),
        Value::String(s) => Err(err(at, PolicyErrorKind::BadPrincipalType(s.clone()))),
        Value::Object(o) => {
            let mut out = Principals::default();
            for (ty, v) in o {
                let list = strings(v, &format!("{at}.{ty}"))?;
                match ty.as_str() {
                    "AWS" => {
                        for p in list {
                            if p == "*" {
                                out.anyone = true;
                            } else {
                                out.aws.push(p);
                            }
                        }
                    }
                    "Service" | "Federated" | "CanonicalUser" => {}
                    other => {
                        return Err(err(at, PolicyErrorKind::BadPrincipalType(other.to_owned())));
                    }
                }
            }
            Ok(out)
        }
        _ => Err(err(
            at,
            PolicyErrorKind::WrongType {
                expected: "\"*\" or an object of principals",
            },
        )),
    }
}

fn conditions(v: &Value, at: &str) -> Result<Vec<Condition>, PolicyError> {
    let mut out = Vec::new();
    for (op_name, keys) in object(v, at)? {
        let oat = format!("{at}.{op_name}");
        let op = operator(op_name)
            .ok_or_else(|| err(at, PolicyErrorKind::UnknownOperator(op_name.clone())))?;
        if op.base == Base::Null && op.if_exists {
            return Err(err(oat, PolicyErrorKind::NullIfExists));
        }
        for (key_name, vals) in object(keys, &oat)? {
            let kat = format!("{oat}.{key_name}");
            let key = KEYS
                .iter()
                .find(|k| {
                    if k.prefix {
                        key_name.len() > k.name.len()
                            && key_name[..k.name.len()].eq_ignore_ascii_case(k.name)
                    } else {
                        key_name.eq_ignore_ascii_case(k.name)
                    }
                })
                .ok_or_else(|| err(&oat, PolicyErrorKind::UnknownKey(key_name.clone())))?;
            if !fits(op.base, key.ty) {
                return Err(err(
                    &oat,
                    PolicyErrorKind::OperatorDoesNotFitKey {
                        operator: op_name.clone(),
                        key: key_name.clone(),
                    },
                ));
            }
            let values = condition_values(vals, &kat)?;
            if let Some(bad) = values.iter().find(|v| !value_fits(op.base, v)) {
                return Err(err(
                    &kat,
                    PolicyErrorKind::BadValue {
                        operator: op_name.clone(),
                        value: bad.clone(),
                    },
                ));
            }
            out.push(Condition { op, key, values });
        }
    }
    Ok(out)
}

/// Condition values: strings, numbers or booleans, one or a list (IAM compares their text).
fn condition_values(v: &Value, at: &str) -> Result<Vec<String>, PolicyError> {
    let one = |x: &Value| match x {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let list: Option<Vec<String>> = match v {
        Value::Array(a) if a.is_empty() => return Err(err(at, PolicyErrorKind::Empty)),
        Value::Array(a) => a.iter().map(one).collect(),
        other => one(other).map(|s| vec![s]),
    };
    let list = list.ok_or_else(|| {
        err(
            at,
            PolicyErrorKind::WrongType {
                expected: "a string, number or boolean, or a list of them",
            },
        )
    })?;
    if let Some(var) = list.iter().find(|s| s.contains("${")) {
        return Err(err(at, PolicyErrorKind::PolicyVariable(var.clone())));
    }
    Ok(list)
}

fn operator(name: &str) -> Option<Operator> {
    let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
        (SetQualifier::ForAnyValue, r)
    } else if let Some(r) = name.strip_prefix("ForAllValues:") {
        (SetQualifier::ForAllValues, r)
    } else {
        (SetQualifier::None, name)
    };
    let (if_exists, base_name) = match rest.strip_suffix("IfExists") {
        Some(b) => (true, b),
        None => (false, rest),
    };
    let base = BASES.iter().find(|(n, _)| *n == base_name)?.1;
    Some(Operator {
        set,
        base,
        if_exists,
    })
}

fn fits(base: Base, ty: KeyType) -> bool {
    use Base as B;
    match base {
        B::StringEquals
        | B::StringNotEquals
        | B::StringEqualsIgnoreCase
        | B::StringNotEqualsIgnoreCase
        | B::StringLike
        | B::StringNotLike
        | B::Null => true,
        B::NumericEquals
        | B::NumericNotEquals
        | B::NumericLessThan
        | B::NumericLessThanEquals
        | B::NumericGreaterThan
        | B::NumericGreaterThanEquals => ty == KeyType::Numeric,
        B::DateEquals
        | B::DateNotEquals
        | B::DateLessThan
        | B::DateLessThanEquals
        | B::DateGreaterThan
        | B::DateGreaterThanEquals => matches!(ty, KeyType::Date | KeyType::Numeric),
        B::Bool => ty == KeyType::Bool,
        // No key API Gateway sets is binary.
        B::BinaryEquals => false,
        B::IpAddress | B::NotIpAddress => ty == KeyType::Ip,
        B::ArnEquals | B::ArnLike | B::ArnNotEquals | B::ArnNotLike => ty == KeyType::Arn,
    }
}

fn value_fits(base: Base, v: &str) -> bool {
    use Base as B;
    match base {
        B::NumericEquals
        | B::NumericNotEquals
        | B::NumericLessThan
        | B::NumericLessThanEquals
        | B::NumericGreaterThan
        | B::NumericGreaterThanEquals => v.parse::<f64>().is_ok_and(f64::is_finite),
        B::DateEquals
        | B::DateNotEquals
        | B::DateLessThan
        | B::DateLessThanEquals
        | B::DateGreaterThan
        | B::DateGreaterThanEquals => date(v).is_some(),
        B::Bool | B::Null => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
        B::IpAddress | B::NotIpAddress => v.parse::<IpNet>().is_ok() || v.parse::<IpAddr>().is_ok(),
        _ => true,
    }
}

/// Seconds since the epoch of an IAM date: ISO 8601 (`2026-11-30`, `2026-11-30T12:00:00Z`,
/// with fractions or an offset) or epoch seconds.
pub fn date(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        (!t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if b.len() == 10 {
        return Some(secs);
    }
    if !(b[10] == b'T' || b[10] == b't') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hh, mm, ss) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    secs += hh * 3600 + mm * 60 + ss;
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    match rest {
        "Z" | "z" => Some(secs),
        off if off.len() == 6 && (off.starts_with('+') || off.starts_with('-')) => {
            let oh: i64 = off.get(1..3)?.parse().ok()?;
            let om: i64 = off.get(4..6)?.parse().ok()?;
            if off.as_bytes()[3] != b':' {
                return None;
            }
            let o = oh * 3600 + om * 60;
            Some(if off.starts_with('+') {
                secs - o
            } else {
                secs + o
            })
        }
        _ => None,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_the_evaluator_cannot_honour_does_not_load() {
        let bad = |s: Value| {
            Policy::parse(&json!({"Statement":[s]}))
                .expect_err("must not load")
                .to_string()
        };
        let base = |extra: (&str, Value)| {
            let mut s = json!({"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"*"});
            s.as_object_mut().unwrap().insert(extra.0.into(), extra.1);
            s
        };
        assert!(
            bad(base((
                "Condition",
                json!({"StringEqualz":{"aws:SourceIp":"x"}})
            )))
            .contains("`StringEqualz` is not an IAM operator")
        );
        assert!(
            bad(base((
                "Condition",
                json!({"StringEquals":{"aws:SourceFoo":"x"}})
            )))
            .contains("aws:SourceFoo")
        );
        assert!(
            bad(base((
                "Condition",
                json!({"IpAddress":{"aws:SourceVpce":"10.0.0.0/8"}})
            )))
            .contains("cannot compare")
        );
        assert!(
            bad(base((
                "Condition",
                json!({"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}})
            )))
            .contains("10.0.0.0/33")
        );
        assert!(
            bad(base((
                "Condition",
                json!({"NullIfExists":{"aws:SourceIp":"true"}})
            )))
            .contains("IfExists")
        );
        assert!(
            bad(base((
                "Condition",
                json!({"StringEquals":{"aws:SourceVpce":"${aws:SourceVpc}"}})
            )))
            .contains("policy variables")
        );
        assert!(bad(base(("NotResource", json!("*")))).contains("Resource and NotResource"));
        assert!(bad(base(("Effects", json!("x")))).contains("`Effects`"));
        let e = Policy::parse(
            &json!({"Statement":[{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke"}]}),
        )
        .unwrap_err();
        assert_eq!(e.at, "Statement[0]");
        assert!(Policy::parse(&json!({"Version":"2012-10-18","Statement":[]})).is_err());
    }

    #[test]
    fn dates_as_iam_reads_them() {
        assert_eq!(date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(date("2000-03-01"), Some(951_868_800));
        assert_eq!(date("2000-03-01T01:00:00+01:00"), Some(951_868_800));
        assert_eq!(date("2000-03-01T00:00:00.123Z"), Some(951_868_800));
        assert_eq!(date("1700000000"), Some(1_700_000_000));
        assert_eq!(date("2000-13-01"), None);
        assert_eq!(date("yesterday"), None);
    }
}
