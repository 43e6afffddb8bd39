//! A positioned tree of what a template says, the same for YAML (with its `!Ref`-style tags)
//! and JSON, so that every element found in it keeps its line.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    /// A YAML tag such as `!Ref`, with its value.
    Tag(String, Box<Node>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: Kind,
    /// 1-based; 0 when unknown.
    pub line: u32,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, Node)] {
        match &self.kind {
            Kind::Map(m) => m,
            _ => &[],
        }
    }
}

/// A file that cannot be read as YAML or JSON.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ParseError {
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// Parses YAML or JSON text (the first document).
pub fn parse(text: &str, file: &str) -> Result<Node, ParseError> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| ParseError {
        file: file.to_owned(),
        line: u32::try_from(e.marker().line()).unwrap_or(0),
        message: e.info().to_owned(),
    })?;
    let Some(doc) = docs.first() else {
        return Err(ParseError {
            file: file.to_owned(),
            line: 1,
            message: "the file is empty".to_owned(),
        });
    };
    Ok(convert(doc, 0))
}

fn convert(n: &MarkedYaml<'_>, parent_line: u32) -> Node {
    let line = match u32::try_from(n.span.start.line()).unwrap_or(0) {
        0 => parent_line,
        l => l,
    };
    let kind = match &n.data {
        YamlData::Value(s) => match s {
            Scalar::Null => Kind::Null,
            Scalar::Boolean(b) => Kind::Bool(*b),
            Scalar::Integer(i) => Kind::Int(*i),
            Scalar::FloatingPoint(f) => Kind::Float(f.into_inner()),
            Scalar::String(s) => Kind::Str(s.to_string()),
        },
        YamlData::Representation(s, _, _) => Kind::Str(s.to_string()),
        YamlData::Sequence(items) => Kind::Seq(items.iter().map(|i| convert(i, line)).collect()),
        YamlData::Mapping(m) => Kind::Map(
            m.iter()
                .map(|(k, v)| {
                    let key = match &k.data {
                        YamlData::Value(Scalar::String(s)) => s.to_string(),
                        YamlData::Value(Scalar::Integer(i)) => i.to_string(),
                        YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
                        YamlData::Representation(s, _, _) => s.to_string(),
                        _ => String::new(),
                    };
                    // A value takes its key's line when it has none of its own.
                    let kline = u32::try_from(k.span.start.line()).unwrap_or(line);
                    (key, convert(v, kline))
                })
                .collect(),
        ),
        YamlData::Tagged(tag, inner) => Kind::Tag(
            format!("{}{}", tag.handle, tag.suffix),
            Box::new(convert(inner, line)),
        ),
        YamlData::Alias(_) | YamlData::BadValue => Kind::Null,
    };
    Node { kind, line }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_tags_and_json_keep_lines() {
        let n = parse("A:\n  B: !Ref X\n  C: [1, 2]\n", "t.yaml").unwrap();
        let b = n.get("A").unwrap().get("B").unwrap();
        assert_eq!(b.line, 2);
        assert!(
            matches!(&b.kind, Kind::Tag(t, inner) if t == "!Ref" && inner.as_str() == Some("X") && inner.line == 2)
        );
        let j = parse("{\"A\":\n {\"Ref\": \"X\"}}", "t.json").unwrap();
        assert_eq!(j.get("A").unwrap().get("Ref").unwrap().line, 2);
        let err = parse("A: [\n", "bad.yaml").unwrap_err();
        assert!(err.to_string().starts_with("bad.yaml:"), "{err}");
    }
}
