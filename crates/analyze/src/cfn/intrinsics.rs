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
    /// `Transform: AWS::LanguageExtensions` is declared (`FindInMap`'s `DefaultValue` needs it).
    pub(crate) language_extensions: bool,
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
            language_extensions: false,
        }
    }

    /// `Fn::FindInMap`. A key that is not known here (an `AWS::Region` the template does not
    /// fix, a parameter without a default) still gives a value when every entry it could pick
    /// holds the same one: the stack deploys only where the map has the key (CloudFormation fails
    /// a `FindInMap` whose key is missing), so that value is the one it gets. An entry without
    /// the second key could not be picked, unless a `DefaultValue` stands in for it. Keyed by
    /// an unknown `AWS::Region`, an entry's value is read with its own key (the Region) as
    /// `${AWS::Region}`, as `!Sub` leaves it: `com.amazonaws.us-east-1.execute-api` under
    /// `us-east-1` and the same under `us-west-2` are one `com.amazonaws.${AWS::Region}.execute-api`.
    fn find_in_map(
        &self,
        m: &str,
        [k1, k2]: [&V; 2],
        arg: &Node,
        default: Option<&V>,
        depth: usize,
    ) -> V {
        let why = || V::Unknown(format!("FindInMap {m}.{}.{}", k1.text(), k2.text()));
        let by_region =
            matches!(k1, V::Unknown(_)) && arg.items().get(1).is_some_and(is_region_ref);
        let Some(map) = self.mappings.and_then(|ms| ms.get(m)) else {
            return default.cloned().unwrap_or_else(why);
        };
        let Some(firsts) = picks(map, k1) else {
            return why();
        };
        let mut found: Option<V> = None;
        for (region, first) in firsts {
            let Some(seconds) = picks(first, k2) else {
                return why();
            };
            let values: Vec<V> = if seconds.is_empty() {
                default.into_iter().cloned().collect()
            } else {
                seconds
                    .iter()
                    .map(|(_, n)| self.eval(n, depth + 1))
                    .map(|v| match region {
                        Some(r) if by_region => region_placeholder(v, r),
                        _ => v,
                    })
                    .collect()
            };
            for v in values {
                match &found {
                    None => found = Some(v),
                    Some(f) if *f == v => {}
                    Some(_) => return why(),
                }
            }
        }
        found.unwrap_or_else(|| default.cloned().unwrap_or_else(why))
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
                [V::Str(m), k1, k2] => self.find_in_map(m, [k1, k2], arg, None, depth),
                // AWS::LanguageExtensions' form with a default for a key the map lacks.
                [V::Str(m), k1, k2, V::Map(opts)] if opts.len() == 1 => match opts.first() {
                    Some((k, _)) if k == "DefaultValue" && !self.language_extensions => V::Unknown(
                        "FindInMap with a DefaultValue, which needs `Transform: \
                             AWS::LanguageExtensions` (CloudFormation refuses it without)"
                            .to_owned(),
                    ),
                    Some((k, default)) if k == "DefaultValue" => {
                        self.find_in_map(m, [k1, k2], arg, Some(default), depth)
                    }
                    _ => V::Unknown("FindInMap with options other than DefaultValue".to_owned()),
                },
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

/// The entries of a mapping a `FindInMap` key can pick: the one it names, or every one (each
/// with its key) when the key is not known here; `None` for a key that is neither.
fn picks<'n>(node: &'n Node, key: &V) -> Option<Vec<(Option<&'n str>, &'n Node)>> {
    match key {
        V::Str(k) => Some(node.get(k).map(|n| (None, n)).into_iter().collect()),
        V::Unknown(_) => Some(
            node.entries()
                .iter()
                .map(|(k, n)| (Some(k.as_str()), n))
                .collect(),
        ),
        _ => None,
    }
}

/// Whether a node is `Ref: AWS::Region` (either form).
fn is_region_ref(n: &Node) -> bool {
    let inner = match &n.kind {
        Kind::Tag(t, inner) if t.trim_start_matches('!') == "Ref" => inner.as_ref(),
        Kind::Map(m) if m.len() == 1 && m[0].0 == "Ref" => &m[0].1,
        _ => return false,
    };
    inner.as_str() == Some("AWS::Region")
}

/// A value with a Region's name written as `${AWS::Region}`, as `!Sub` leaves it when the
/// Region is not known.
fn region_placeholder(v: V, region: &str) -> V {
    match v {
        V::Str(s) if !region.is_empty() => V::Str(s.replace(region, "${AWS::Region}")),
        V::List(l) => V::List(
            l.into_iter()
                .map(|v| region_placeholder(v, region))
                .collect(),
        ),
        V::Map(m) => V::Map(
            m.into_iter()
                .map(|(k, v)| (k, region_placeholder(v, region)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parallax_model::source::parse;

    const MAPS: &str = "Mappings:
  Regions:
    us-east-1: {Service: com.amazonaws.us-east-1.execute-api, Cidr: 10.1.0.0/16, Port: 443, Other: us-west-2}
    us-west-2: {Service: com.amazonaws.us-west-2.execute-api, Cidr: 10.2.0.0/16, Port: 443, Other: us-east-1}
  Stages:
    dev: {Name: dev}
    prod: {Name: prod, Extra: x}
Values:
";

    /// Evaluates each value under `Values` with the maps above and the given Region.
    fn values(region: Option<&str>, extensions: bool, values: &str) -> Vec<V> {
        let root = parse(&format!("{MAPS}{values}"), "t.yaml").expect("YAML");
        let ctx = Ctx {
            region: region.map(str::to_owned),
            mappings: root.get("Mappings"),
            language_extensions: extensions,
            params: HashMap::from([("Stage".to_owned(), V::Unknown("parameter Stage".to_owned()))]),
            ..Ctx::plain()
        };
        let vs = root.get("Values").expect("values");
        vs.items().iter().map(|n| ctx.eval(n, 0)).collect()
    }

    fn s(x: &str) -> V {
        V::Str(x.to_owned())
    }

    #[test]
    fn find_in_map_by_a_key_not_known_here() {
        let v = values(
            None,
            true,
            "  - !FindInMap [Regions, !Ref AWS::Region, Service]
  - {\"Fn::FindInMap\": [Regions, {Ref: AWS::Region}, Port]}
  - !FindInMap [Regions, !Ref AWS::Region, Cidr]
  - !FindInMap [Regions, !Ref AWS::Region, Other]
  - !FindInMap [Stages, !Ref Stage, Extra]
  - !FindInMap [Stages, !Ref Stage, Extra, {DefaultValue: x}]
  - !FindInMap [Stages, !Ref Stage, Extra, {DefaultValue: y}]
  - !FindInMap [Stages, !Ref Stage, Name]
  - !FindInMap [Stages, qa, Name, {DefaultValue: none}]
",
        );
        // Every Region's entry is the same text of its Region: what !Sub leaves.
        assert_eq!(v[0], s("com.amazonaws.${AWS::Region}.execute-api"));
        // The same value in every entry.
        assert_eq!(v[1], V::Num(443.0));
        // Entries that differ stay unknown; another Region's name is not the entry's own.
        assert!(matches!(v[2], V::Unknown(_)), "{:?}", v[2]);
        assert!(matches!(v[3], V::Unknown(_)), "{:?}", v[3]);
        // Only prod has Extra: a stack on dev would fail, so Extra is prod's.
        assert_eq!(v[4], s("x"));
        // A default standing in for dev's missing key agrees with prod's, or does not.
        assert_eq!(v[5], s("x"));
        assert!(matches!(v[6], V::Unknown(_)), "{:?}", v[6]);
        // A parameter's key is not a Region: entries are compared as written.
        assert!(matches!(v[7], V::Unknown(_)), "{:?}", v[7]);
        assert_eq!(v[8], s("none"));
    }

    #[test]
    fn find_in_map_by_a_known_region_reads_its_entry() {
        let v = values(
            Some("us-west-2"),
            false,
            "  - !FindInMap [Regions, !Ref AWS::Region, Service]
  - !FindInMap [Regions, eu-west-1, Service]
  - !FindInMap [Stages, qa, Name, {DefaultValue: none}]
",
        );
        assert_eq!(v[0], s("com.amazonaws.us-west-2.execute-api"));
        assert!(matches!(v[1], V::Unknown(_)), "{:?}", v[1]);
        // A default without the transform: CloudFormation refuses the template.
        assert!(matches!(v[2], V::Unknown(_)), "{:?}", v[2]);
    }
}
