//! Intrinsic functions evaluated as far as the template alone allows (`Ref`, `Fn::Sub`,
//! `Fn::GetAtt`, `Fn::If`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap`,
//! `Fn::ImportValue`, the condition functions), long and short form, with Parameters'
//! defaults, Conditions and Mappings.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::source::{Kind, Node};

/// An evaluated value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum V {
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
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            V::Bool(b) => Some(*b),
            V::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            V::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        match self {
            V::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Text for messages and substitution: unknown parts stay visible as `${…}`.
    pub(crate) fn text(&self) -> String {
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

    pub(crate) fn to_json(&self) -> Option<Value> {
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

pub(crate) struct Ctx<'a> {
    pub(crate) params: HashMap<String, V>,
    pub(crate) mappings: Option<&'a Node>,
    pub(crate) conditions: Option<&'a Node>,
    /// The template's logical ids, borrowed from its tree (100,000 copied and SipHashed ids
    /// were a tenth of importing a template that large).
    pub(crate) resources: foldhash::HashSet<&'a str>,
    pub(crate) region: Option<String>,
}

impl Ctx<'_> {
    /// No parameters, mappings, conditions or resources: for defaults and standalone files.
    pub(crate) fn plain() -> Ctx<'static> {
        Ctx {
            params: HashMap::new(),
            mappings: None,
            conditions: None,
            resources: Default::default(),
            region: None,
        }
    }

    pub(crate) fn eval(&self, n: &Node, depth: usize) -> V {
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

    pub(crate) fn intrinsic(&self, name: &str, arg: &Node, depth: usize) -> V {
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
                    [r, attr] if self.resources.contains(r.as_str()) => {
                        V::Attr(r.clone(), attr.clone())
                    }
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
                        // An endpoint's DNS entries, as templates take them apart:
                        // `Select [1, Split [":", Select [0, GetAtt E.DnsEntries]]]` is the
                        // regional DNS name, `Select [0, …]` its hosted zone id.
                        V::Attr(r, a) if a == "DnsEntries" => {
                            V::Attr(r.clone(), format!("DnsEntries.{i}"))
                        }
                        V::Attr(r, a) if a.ends_with(".split") => {
                            let entry = a.trim_end_matches(".split");
                            match i {
                                0 => V::Attr(r.clone(), format!("{entry}.HostedZoneId")),
                                1 => V::Attr(r.clone(), format!("{entry}.DnsName")),
                                _ => V::Unknown(format!("Select {i} of {r}.{entry}")),
                            }
                        }
                        other => V::Unknown(format!("Select from {}", other.text())),
                    }
                }
                _ => V::Unknown("Select with a malformed argument".to_owned()),
            },
            "Fn::Split" => match list(&a).as_slice() {
                [V::Str(delim), V::Attr(r, attr)]
                    if delim == ":" && attr.starts_with("DnsEntries.") =>
                {
                    V::Attr(r.clone(), format!("{attr}.split"))
                }
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

    pub(crate) fn condition(&self, name: &str, depth: usize) -> Option<bool> {
        let n = self.conditions?.get(name)?;
        self.eval(n, depth + 1).as_bool()
    }

    pub(crate) fn substitute(&self, template: &str, vars: &[(String, V)]) -> String {
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
