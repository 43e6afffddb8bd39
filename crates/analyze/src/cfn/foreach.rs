//! `Fn::ForEach` (the `AWS::LanguageExtensions` transform), expanded before a template is read,
//! as CloudFormation expands it before it deploys.
//!
//! `Fn::ForEach::Name: [Identifier, Collection, {OutputKey: OutputValue}]` stands, in
//! Resources, Outputs, Conditions and inside resource properties, for one `OutputKey:
//! OutputValue` per item of the collection, with every `${Identifier}` and `&{Identifier}` in
//! them replaced by the item (`&{}` keeps only its letters and digits) and `Ref: Identifier` by
//! the item itself. Loops nest; an inner loop sees the outer loop's item. The collection is a
//! list, or a `Ref` to a `CommaDelimitedList` (or `List<…>`) parameter's default, or anything
//! else the template alone evaluates to a list; otherwise the loop's output is unknown and said
//! so. What CloudFormation refuses (no transform, a key without the identifier, a key made
//! twice) is an error where the loop is.

use parallax_model::source::{Kind, Node};

use super::intrinsics::{Ctx, V};

/// The most nodes the loops of one template may make: a loop nested in a loop multiplies, and
/// a template is small (CloudFormation's quotas apply to what the loops make: 500 resources).
pub(crate) const MAX_MADE: usize = 250_000;

/// The most bytes of keys and strings the loops of one template may make: an item substituted
/// into many `${Identifier}`s multiplies too, and is counted before it is made.
pub(crate) const MAX_MADE_BYTES: usize = 64 << 20;

/// Why a loop was not expanded, or what it would make that CloudFormation refuses.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LoopError {
    /// The template uses loops without declaring the transform that expands them.
    NoTransform,
    /// Not `[Identifier, Collection, {OutputKey: OutputValue}]`.
    Shape,
    /// An item of the collection is not a string or number.
    Item,
    /// An OutputKey without `${Identifier}` or `&{Identifier}`: every item makes that key.
    KeyWithoutIdentifier(String),
    /// A key the template (or another item) already has.
    Duplicate(String),
    /// The loops would make more than [`MAX_MADE`] nodes or [`MAX_MADE_BYTES`] of text.
    TooLarge,
}

impl std::fmt::Display for LoopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoopError::NoTransform => f.write_str(
                "Fn::ForEach needs `Transform: AWS::LanguageExtensions`; CloudFormation refuses the template without it",
            ),
            LoopError::Shape => f.write_str(
                "Fn::ForEach takes three items: an identifier, a collection and an {OutputKey: OutputValue} mapping",
            ),
            LoopError::Item => {
                f.write_str("an item of the Fn::ForEach collection is not a string or a number")
            }
            LoopError::KeyWithoutIdentifier(k) => write!(
                f,
                "OutputKey `{k}` holds neither ${{Identifier}} nor &{{Identifier}}: every item would make the same key"
            ),
            LoopError::Duplicate(k) => write!(f, "Fn::ForEach makes `{k}`, a key already there"),
            LoopError::TooLarge => write!(
                f,
                "the Fn::ForEach loops make more than {MAX_MADE} nodes or {} MiB of text",
                MAX_MADE_BYTES >> 20
            ),
        }
    }
}

/// A template with its loops expanded.
pub(crate) struct Expanded {
    pub(crate) root: Node,
    /// Loops whose collection the template alone does not give: (line, loop name, why).
    pub(crate) unknown: Vec<(u32, String, String)>,
}

/// Whether any key of the template's Resources, Outputs or Conditions (at any depth) is a loop.
pub(crate) fn has_loops(root: &Node) -> bool {
    fn any(n: &Node) -> bool {
        match &n.kind {
            Kind::Map(m) => m
                .iter()
                .any(|(k, v)| k.starts_with("Fn::ForEach::") || any(v)),
            Kind::Seq(s) => s.iter().any(any),
            Kind::Tag(_, inner) => any(inner),
            _ => false,
        }
    }
    ["Resources", "Outputs", "Conditions"]
        .iter()
        .any(|s| root.get(s).is_some_and(any))
}

/// The template with every loop expanded, or the first loop CloudFormation would refuse: its
/// line, name and why.
pub(crate) fn expand(root: &Node) -> Result<Expanded, (u32, String, LoopError)> {
    let mut params = std::collections::HashMap::new();
    let mut lists = Vec::new();
    for (name, p) in root
        .get("Parameters")
        .map(Node::entries)
        .unwrap_or_default()
    {
        let ty = p.get("Type").and_then(Node::as_str).unwrap_or("");
        if ty == "CommaDelimitedList" || ty.starts_with("List<") {
            lists.push(name.clone());
        }
        params.insert(name.clone(), super::parameter_value(name, p));
    }
    let ctx = Ctx {
        params,
        mappings: root.get("Mappings"),
        language_extensions: declares_transform(root),
        ..Ctx::plain()
    };
    let mut x = Expander {
        ctx,
        lists,
        made: 0,
        made_bytes: 0,
        unknown: Vec::new(),
        transform: declares_transform(root),
    };
    let out = x.node(root, 0)?;
    Ok(Expanded {
        root: out,
        unknown: x.unknown,
    })
}

/// `Transform: AWS::LanguageExtensions`, alone or in a list.
pub(crate) fn declares_transform(root: &Node) -> bool {
    let is = |n: &Node| n.as_str() == Some("AWS::LanguageExtensions");
    root.get("Transform")
        .is_some_and(|t| is(t) || t.items().iter().any(is))
}

struct Expander<'a> {
    ctx: Ctx<'a>,
    /// Parameters whose `Ref` is a list (their default split at commas).
    lists: Vec<String>,
    made: usize,
    made_bytes: usize,
    unknown: Vec<(u32, String, String)>,
    transform: bool,
}

type Failed = (u32, String, LoopError);

impl Expander<'_> {
    /// `n` with the loops under it expanded (`depth` 0: the template's root, where only the
    /// sections that take loops are walked).
    fn node(&mut self, n: &Node, depth: usize) -> Result<Node, Failed> {
        let kind = match &n.kind {
            Kind::Map(m) => {
                let mut out: Vec<(String, Node)> = Vec::with_capacity(m.len());
                // The parser keeps one value per literal key; a key a loop makes must be new.
                let mut seen = foldhash::HashSet::default();
                for (k, v) in m {
                    if depth == 0 && !matches!(k.as_str(), "Resources" | "Outputs" | "Conditions") {
                        out.push((k.clone(), v.clone()));
                        continue;
                    }
                    let made = match k.strip_prefix("Fn::ForEach::") {
                        Some(name) => self.looped(name, v, depth)?,
                        None => vec![(k.clone(), self.node(v, depth + 1)?)],
                    };
                    for (key, value) in made {
                        if !seen.insert(key.clone()) {
                            let name = k.strip_prefix("Fn::ForEach::").unwrap_or(k);
                            return Err((value.line, name.to_owned(), LoopError::Duplicate(key)));
                        }
                        out.push((key, value));
                    }
                }
                Kind::Map(out)
            }
            Kind::Seq(s) => Kind::Seq(
                s.iter()
                    .map(|i| self.node(i, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::Tag(t, inner) => Kind::Tag(t.clone(), Box::new(self.node(inner, depth + 1)?)),
            other => other.clone(),
        };
        Ok(Node { kind, line: n.line })
    }

    /// What loop `name` (its value `v`) makes: its keys and values, its inner loops expanded.
    fn looped(
        &mut self,
        name: &str,
        v: &Node,
        depth: usize,
    ) -> Result<Vec<(String, Node)>, Failed> {
        let fail = |e| Err((v.line, name.to_owned(), e));
        if !self.transform {
            return fail(LoopError::NoTransform);
        }
        let [id, collection, body] = v.items() else {
            return fail(LoopError::Shape);
        };
        let (Some(id), Kind::Map(entries)) = (id.as_str(), &body.kind) else {
            return fail(LoopError::Shape);
        };
        for (k, _) in entries {
            if !k.starts_with("Fn::ForEach::")
                && !k.contains(&format!("${{{id}}}"))
                && !k.contains(&format!("&{{{id}}}"))
            {
                return fail(LoopError::KeyWithoutIdentifier(k.clone()));
            }
        }
        let items = match self.collection(collection) {
            Ok(Items::Known(items)) => items,
            Ok(Items::Unknown(why)) => {
                self.unknown.push((v.line, name.to_owned(), why));
                return Ok(Vec::new());
            }
            Err(e) => return fail(e),
        };
        let mut out = Vec::new();
        for item in &items {
            self.made += size(body);
            self.made_bytes = self
                .made_bytes
                .saturating_add(substituted_bytes(body, id, item));
            if self.made > MAX_MADE || self.made_bytes > MAX_MADE_BYTES {
                return fail(LoopError::TooLarge);
            }
            let one = substitute(body, id, item);
            // The body is a mapping whose own loops (nested) expand with this item in place.
            match self.node(&one, depth + 1)?.kind {
                Kind::Map(m) => out.extend(m),
                _ => return fail(LoopError::Shape),
            }
        }
        Ok(out)
    }

    /// The collection's items, or why the template alone does not give them.
    fn collection(&self, c: &Node) -> Result<Items, LoopError> {
        let referenced = match &c.kind {
            Kind::Map(m) => match m.as_slice() {
                [(k, v)] if k == "Ref" => v.as_str(),
                _ => None,
            },
            Kind::Tag(t, v) if t.trim_start_matches('!') == "Ref" => v.as_str(),
            _ => None,
        };
        let value = match (referenced, self.ctx.eval(c, 0)) {
            (Some(p), V::Str(s)) if self.lists.iter().any(|l| l == p) => {
                V::List(s.split(',').map(|i| V::Str(i.trim().to_owned())).collect())
            }
            (_, v) => v,
        };
        match value {
            V::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    match i {
                        V::Str(s) => out.push(s),
                        V::Num(_) | V::Bool(_) => out.push(i.text()),
                        V::Unknown(why) => return Ok(Items::Unknown(why)),
                        _ => return Err(LoopError::Item),
                    }
                }
                Ok(Items::Known(out))
            }
            V::Unknown(why) => Ok(Items::Unknown(why)),
            _ => Err(LoopError::Shape),
        }
    }
}

/// A loop's collection.
enum Items {
    Known(Vec<String>),
    /// What the template alone does not tell.
    Unknown(String),
}

/// Nodes in `n`, itself included.
fn size(n: &Node) -> usize {
    1 + match &n.kind {
        Kind::Map(m) => m.iter().map(|(_, v)| size(v)).sum(),
        Kind::Seq(s) => s.iter().map(size).sum(),
        Kind::Tag(_, inner) => size(inner),
        _ => 0,
    }
}

/// The bytes of keys and strings [`substitute`] would make of `n`, counted without making them.
fn substituted_bytes(n: &Node, id: &str, item: &str) -> usize {
    let plain = format!("${{{id}}}");
    let bare = format!("&{{{id}}}");
    let alnum = item.chars().filter(char::is_ascii_alphanumeric).count();
    let text = |s: &str| {
        s.len()
            .saturating_add(s.matches(&plain).count().saturating_mul(item.len()))
            .saturating_add(s.matches(&bare).count().saturating_mul(alnum))
    };
    fn walk(n: &Node, text: &dyn Fn(&str) -> usize) -> usize {
        match &n.kind {
            Kind::Str(s) => text(s),
            Kind::Map(m) => m
                .iter()
                .map(|(k, v)| text(k).saturating_add(walk(v, text)))
                .fold(0, usize::saturating_add),
            Kind::Seq(s) => s
                .iter()
                .map(|i| walk(i, text))
                .fold(0, usize::saturating_add),
            Kind::Tag(_, inner) => walk(inner, text),
            _ => 0,
        }
    }
    walk(n, &text)
}

/// `n` with `${id}` and `&{id}` replaced by `item` in every key and string (`&{}` keeps the
/// item's ASCII letters and digits only), and `Ref: id` (or `!Ref id`) by `item`.
fn substitute(n: &Node, id: &str, item: &str) -> Node {
    let plain = format!("${{{id}}}");
    let bare = format!("&{{{id}}}");
    let alnum: String = item.chars().filter(char::is_ascii_alphanumeric).collect();
    let text = |s: &str| s.replace(&plain, item).replace(&bare, &alnum);
    fn walk(n: &Node, id: &str, item: &str, text: &dyn Fn(&str) -> String) -> Node {
        let kind = match &n.kind {
            Kind::Str(s) => Kind::Str(text(s)),
            Kind::Map(m) => match m.as_slice() {
                [(k, v)] if k == "Ref" && v.as_str() == Some(id) => Kind::Str(item.to_owned()),
                _ => Kind::Map(
                    m.iter()
                        .map(|(k, v)| (text(k), walk(v, id, item, text)))
                        .collect(),
                ),
            },
            Kind::Tag(t, v) if t.trim_start_matches('!') == "Ref" && v.as_str() == Some(id) => {
                Kind::Str(item.to_owned())
            }
            Kind::Tag(t, v) => Kind::Tag(t.clone(), Box::new(walk(v, id, item, text))),
            Kind::Seq(s) => Kind::Seq(s.iter().map(|i| walk(i, id, item, text)).collect()),
            other => other.clone(),
        };
        Node { kind, line: n.line }
    }
    walk(n, id, item, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parallax_model::source::{parse, to_json};

    fn expanded(yaml: &str) -> Result<Expanded, (u32, String, LoopError)> {
        let root = parse(yaml, "t.yaml").expect("YAML");
        assert!(has_loops(&root));
        expand(&root)
    }

    fn json(yaml: &str, section: &str) -> serde_json::Value {
        let x = expanded(yaml).unwrap_or_else(|e| panic!("{e:?}"));
        to_json(x.root.get(section).expect("section"))
    }

    fn keys_of(n: &Node) -> Vec<&str> {
        n.entries().iter().map(|(k, _)| k.as_str()).collect()
    }

    const HEAD: &str = "Transform: AWS::LanguageExtensions\n";

    #[test]
    fn nested_loops_see_the_outer_item_and_refs_become_the_item() {
        let t = format!(
            "{HEAD}Resources:
  Fn::ForEach::Envs:
    - Env
    - [dev, prod]
    - Fn::ForEach::Apps:
        - App
        - [api, web-ui]
        - '${{Env}}&{{App}}Queue':
            Type: AWS::SQS::Queue
            Properties:
              QueueName: !Sub '${{Env}}-${{App}}'
              Tags: [{{Key: app, Value: !Ref App}}, {{Key: env, Value: {{Ref: Env}}}}]
  Other:
    Type: AWS::SNS::Topic
"
        );
        let x = expanded(&t).expect("expanded");
        let keys: Vec<_> = keys_of(x.root.get("Resources").expect("resources"));
        let r = json(&t, "Resources");
        assert_eq!(
            keys,
            [
                "devapiQueue",
                "devwebuiQueue",
                "prodapiQueue",
                "prodwebuiQueue",
                "Other"
            ]
        );
        let q = &r["prodwebuiQueue"]["Properties"];
        assert_eq!(q["QueueName"], "prod-web-ui", "the !Sub's string");
        assert_eq!(q["Tags"][0]["Value"], "web-ui");
        assert_eq!(q["Tags"][1]["Value"], "prod");
    }

    #[test]
    fn loops_in_properties_outputs_and_conditions_expand_and_numbers_are_items() {
        let t = format!(
            "{HEAD}Conditions:
  Fn::ForEach::Checks:
    - N
    - [1, 2]
    - IsZone${{N}}: !Equals [!Ref 'AWS::Region', 'us-east-${{N}}']
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      Fn::ForEach::Props:
        - P
        - [Alpha, Beta]
        - 'Tag${{P}}': '${{P}}'
Outputs:
  Fn::ForEach::Out:
    - N
    - [1, 2.5]
    - 'Out&{{N}}':
        Value: '${{N}}'
"
        );
        let c = json(&t, "Conditions");
        assert_eq!(c["IsZone2"][1], "us-east-2", "the !Equals list");
        let r = json(&t, "Resources");
        assert_eq!(r["Bucket"]["Properties"]["TagBeta"], "Beta");
        let o = json(&t, "Outputs");
        assert_eq!(o["Out25"]["Value"], "2.5");
        assert_eq!(o["Out1"]["Value"], "1");
    }

    #[test]
    fn what_cloudformation_refuses_is_named_with_its_loop_and_line() {
        let no_transform =
            "Resources:\n  Fn::ForEach::L:\n    - X\n    - [a]\n    - 'R${X}': {Type: T}\n";
        let e = expanded(no_transform).err().expect("refused");
        assert_eq!((e.0, e.1.as_str(), e.2), (3, "L", LoopError::NoTransform));
        let cases = [
            ("    - X\n    - [a]\n", LoopError::Shape),
            (
                "    - X\n    - [a, b]\n    - 'Same': {Type: T}\n",
                LoopError::KeyWithoutIdentifier("Same".into()),
            ),
            (
                "    - X\n    - [a, a]\n    - 'R${X}': {Type: T}\n",
                LoopError::Duplicate("Ra".into()),
            ),
            (
                "    - X\n    - [b]\n    - 'R${X}': {Type: T}\n",
                LoopError::Duplicate("Rb".into()),
            ),
            (
                "    - X\n    - [[a]]\n    - 'R${X}': {Type: T}\n",
                LoopError::Item,
            ),
        ];
        for (body, want) in cases {
            let t = format!("{HEAD}Resources:\n  Rb: {{Type: T}}\n  Fn::ForEach::L:\n{body}");
            let got = expanded(&t).err().map(|e| e.2);
            assert_eq!(got, Some(want), "{body}");
        }
    }

    #[test]
    fn collections_come_from_list_parameters_and_mappings_or_are_unknown() {
        let t = format!(
            "{HEAD}Parameters:
  Names: {{Type: CommaDelimitedList, Default: ' a ,b'}}
  Given: {{Type: CommaDelimitedList}}
  Later: {{Type: CommaDelimitedList, Default: '<team names>'}}
Mappings:
  M: {{k: {{v: [x, y]}}}}
Resources:
  Fn::ForEach::FromParam: [N, !Ref Names, {{'P${{N}}': {{Type: T}}}}]
  Fn::ForEach::FromMap: [N, !FindInMap [M, k, v], {{'M${{N}}': {{Type: T}}}}]
  Fn::ForEach::Given: [N, {{Ref: Given}}, {{'G${{N}}': {{Type: T}}}}]
  Fn::ForEach::Later: [N, !Ref Later, {{'L&{{N}}': {{Type: T}}}}]
"
        );
        let x = expanded(&t).expect("expanded");
        let keys = keys_of(x.root.get("Resources").expect("resources"));
        assert_eq!(keys, ["Pa", "Pb", "Mx", "My"]);
        assert_eq!(x.unknown.len(), 2, "{:?}", x.unknown);
        // A placeholder default is given at deploy time, as everywhere else in a template.
        assert_eq!(x.unknown[1].1, "Later");
        assert!(x.unknown[1].2.contains("placeholder"), "{:?}", x.unknown);
        assert_eq!(x.unknown[0].1, "Given");
        assert!(
            x.unknown[0].2.contains("Given has no default"),
            "{:?}",
            x.unknown
        );
    }

    #[test]
    fn an_item_repeated_into_many_placeholders_is_counted_before_it_is_made() {
        // 40 items of 64 KiB, each put 40 times into one string: 100 MiB, past the bound.
        let item = "x".repeat(64 << 10);
        let items = vec![item; 40].join(", ");
        let many = "${X}".repeat(40);
        let t = format!(
            "{HEAD}Resources:\n  Fn::ForEach::A:\n    - X\n    - [{items}]\n    - 'R&{{X}}': {{Type: T, Properties: {{P: '{many}'}}}}\n"
        );
        assert_eq!(expanded(&t).err().map(|e| e.2), Some(LoopError::TooLarge));
    }

    #[test]
    fn loops_that_multiply_past_the_bound_are_refused() {
        let items: Vec<String> = (0..1000).map(|i| format!("i{i}")).collect();
        let list = items.join(", ");
        let t = format!(
            "{HEAD}Resources:
  Fn::ForEach::A:
    - X
    - [{list}]
    - Fn::ForEach::B:
        - Y
        - [{list}]
        - 'R${{X}}${{Y}}': {{Type: T}}
"
        );
        assert_eq!(expanded(&t).err().map(|e| e.2), Some(LoopError::TooLarge));
    }
}
