//! A positioned tree of what a template says, the same for YAML (with its `!Ref`-style tags)
//! and JSON, so that every element found in it keeps its line.

use saphyr::{MarkedYaml, Scalar, YamlData};

mod flow_indent;
mod split;

/// What a node holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `null`, or an empty YAML value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order (a repeated key's last value kept).
    Map(Vec<(String, Node)>),
    /// A YAML tag such as `!Ref`, with its value.
    Tag(String, Box<Node>),
}

/// A value of the tree with the line it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: Kind,
    /// 1-based; 0 when unknown.
    pub line: u32,
}

impl Node {
    /// The value under `key`, when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items, when this is a sequence (else none).
    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(s) => s,
            _ => &[],
        }
    }

    /// The entries, when this is a mapping (else none).
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
    /// The file's name as errors give it.
    pub file: String,
    /// The line of the error (1-based).
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// A key given twice in one mapping: CloudFormation takes the last value, and so does this
/// tree; the lines of both are kept for a warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The key given twice.
    pub key: String,
    /// The line of its first value.
    pub first_line: u32,
    /// The line of its last value, the one kept.
    pub last_line: u32,
}

/// Parses YAML or JSON text (the first document). JSON takes a fast path of its own: plans
/// and synthesized templates are large, and YAML parsing them costs many times more.
pub fn parse(text: &str, file: &str) -> Result<Node, ParseError> {
    parse_with_duplicates(text, file).map(|(n, _)| n)
}

/// [`parse`], and every key given twice in a mapping (the last value is the one kept).
pub fn parse_with_duplicates(
    text: &str,
    file: &str,
) -> Result<(Node, Vec<DuplicateKey>), ParseError> {
    if text.trim_start().starts_with(['{', '[']) {
        if text.len() >= SPLIT_FROM
            && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
        {
            return split::parse(text, file);
        }
        return Json::new(text, file, 0, 1).document();
    }
    let scan = |e: saphyr::ScanError| ParseError {
        file: file.to_owned(),
        line: u32::try_from(e.marker().line()).unwrap_or(0),
        message: e.info().to_owned(),
    };
    // Refused as written: again with multi-line flow collections indented past their keys, as
    // PyYAML and SnakeYAML take them (`flow_indent`); if that fails too, its error is the one
    // those parsers would also stop at.
    let lenient;
    let (text, docs) = match load(text) {
        Ok(docs) => (text, docs),
        Err(e) => match flow_indent::reindent(text) {
            Some(t) => {
                lenient = t;
                match load(&lenient) {
                    Ok(docs) => (lenient.as_str(), docs),
                    Err(e) => return Err(scan(e)),
                }
            }
            None => return Err(scan(e)),
        },
    };
    let duplicates = yaml_duplicates(text);
    let Some(doc) = docs.first() else {
        return Err(ParseError {
            file: file.to_owned(),
            line: 1,
            message: "the file is empty".to_owned(),
        });
    };
    Ok((convert(doc, 0), duplicates))
}

/// The documents of a YAML text.
fn load(text: &str) -> Result<Vec<MarkedYaml<'_>>, saphyr::ScanError> {
    let mut loader: saphyr::YamlLoader<'_, MarkedYaml<'_>> = saphyr::YamlLoader::default();
    loader.allow_duplicate_keys(true);
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    parser.load(&mut loader, true)?;
    match loader.error() {
        Some(e) => Err(e.clone()),
        None => Ok(loader.into_documents()),
    }
}

/// The keys given twice in a mapping of the first YAML document, from the parser's events.
fn yaml_duplicates(text: &str) -> Vec<DuplicateKey> {
    use saphyr_parser::Event;
    enum Frame {
        Map {
            keys: std::collections::HashMap<String, u32>,
            expecting_key: bool,
        },
        Seq,
    }
    // A value ends: the mapping it belongs to expects a key next.
    fn value_done(stack: &mut [Frame]) {
        if let Some(Frame::Map { expecting_key, .. }) = stack.last_mut() {
            *expecting_key = !*expecting_key;
        }
    }
    let mut out = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    for item in saphyr_parser::Parser::new_from_str(text) {
        let Ok((event, span)) = item else {
            break;
        };
        let line = u32::try_from(span.start.line()).unwrap_or(0);
        match event {
            Event::DocumentEnd => break,
            Event::MappingStart(..) => stack.push(Frame::Map {
                keys: std::collections::HashMap::new(),
                expecting_key: true,
            }),
            Event::SequenceStart(..) => stack.push(Frame::Seq),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                value_done(&mut stack);
            }
            Event::Scalar(value, ..) => match stack.last_mut() {
                Some(Frame::Map {
                    keys,
                    expecting_key: expecting_key @ true,
                }) => {
                    if let Some(first) = keys.insert(value.to_string(), line) {
                        out.push(DuplicateKey {
                            key: value.to_string(),
                            first_line: first,
                            last_line: line,
                        });
                    }
                    *expecting_key = false;
                }
                _ => value_done(&mut stack),
            },
            Event::Alias(_) => value_done(&mut stack),
            _ => {}
        }
    }
    out
}

/// JSON texts this large are read by two threads ([`split`]).
const SPLIT_FROM: usize = 4 << 20;

/// JSON (RFC 8259) into the positioned tree, each node with the line it starts on.
struct Json<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    line: u32,
    file: &'a str,
    duplicates: Vec<DuplicateKey>,
    /// The entries of the objects being read, innermost last; an object's are moved out into
    /// a vector of their exact size when it closes (growing each object's own vector entry by
    /// entry was a tenth of a large plan's profile, in reallocation and copying).
    entries: Vec<(String, Node)>,
    /// The same for arrays' items.
    items: Vec<Node>,
    /// Hashes the keys of large objects for their index (foldhash, seeded per file: SipHash
    /// and a copy of every key were a tenth of reading 100k CloudFormation resources).
    hasher: foldhash::fast::RandomState,
    /// The containers open, innermost last (`{` or `[`): compared with a hand-off's.
    open: Vec<u8>,
    /// The reader of the text's second half, when another thread reads it ([`split`]).
    other: Option<split::Other<'a>>,
    /// What that thread read, once this one has reached where it started.
    taken: Option<split::Taken>,
}

/// Objects with this many keys get a key index for finding repeated keys.
const INDEX_FROM: usize = 16;

/// Deeper nesting than any template needs is refused rather than risked on the stack.
const MAX_DEPTH: usize = 256;

impl<'a> Json<'a> {
    fn new(text: &'a str, file: &'a str, i: usize, line: u32) -> Json<'a> {
        Json {
            text,
            b: text.as_bytes(),
            i,
            line,
            file,
            duplicates: Vec::new(),
            entries: Vec::new(),
            items: Vec::new(),
            hasher: foldhash::fast::RandomState::default(),
            open: Vec::new(),
            other: None,
            taken: None,
        }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            file: self.file.to_owned(),
            line: self.line,
            message: message.into(),
        }
    }

    fn document(mut self) -> Result<(Node, Vec<DuplicateKey>), ParseError> {
        let n = self.value(0)?;
        if let Some(taken) = self.taken.take() {
            // The other thread read to the end of the value: on from where it stopped.
            (self.i, self.line) = taken.end;
            self.duplicates.extend(taken.rest_of_duplicates());
        }
        self.ws();
        if self.i < self.b.len() {
            return Err(self.error("unexpected text after the JSON value"));
        }
        Ok((n, self.duplicates))
    }

    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => return,
            }
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), ParseError> {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.error(format!("expected `{}`", c as char)))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deep"));
        }
        self.ws();
        let line = self.line;
        let kind = match self.b.get(self.i) {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Kind::Str(self.string()?),
            Some(b't') if self.b[self.i..].starts_with(b"true") => {
                self.i += 4;
                Kind::Bool(true)
            }
            Some(b'f') if self.b[self.i..].starts_with(b"false") => {
                self.i += 5;
                Kind::Bool(false)
            }
            Some(b'n') if self.b[self.i..].starts_with(b"null") => {
                self.i += 4;
                Kind::Null
            }
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number()?,
            Some(_) => return Err(self.error("expected a JSON value")),
            None => return Err(self.error("the JSON ends early")),
        };
        Ok(Node { kind, line })
    }

    /// An object, from its `{`: entries gathered on the scratch stack, a repeated key's last
    /// value kept and the repeat recorded.
    fn object(&mut self, depth: usize) -> Result<Kind, ParseError> {
        self.i += 1;
        self.open.push(b'{');
        let start = self.entries.len();
        // Positions (from `start`) of the keys, once the object is large.
        let mut index: hashbrown::HashTable<usize> = hashbrown::HashTable::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
        } else {
            loop {
                if self.hand_off_here() {
                    self.merge_entries(start, &mut index);
                    break;
                }
                let (k, v) = self.entry(depth)?;
                self.insert(start, &mut index, k, v);
                if self.taken.is_some() {
                    self.merge_entries(start, &mut index);
                    break;
                }
                if self.close_or_next(b'{')? {
                    break;
                }
            }
        }
        self.open.pop();
        Ok(Kind::Map(self.entries.drain(start..).collect()))
    }

    /// An object's entry, `"key": value`, in a container at `depth`.
    fn entry(&mut self, depth: usize) -> Result<(String, Node), ParseError> {
        self.ws();
        let key_line = self.line;
        let k = self.string()?;
        self.eat(b':')?;
        let mut v = self.value(depth + 1)?;
        if v.line == 0 {
            v.line = key_line;
        }
        Ok((k, v))
    }

    /// After an element of the container opened by `open` (`{` or `[`): a `,` (more
    /// follow) or the container's end (true).
    fn close_or_next(&mut self, open: u8) -> Result<bool, ParseError> {
        if open == b'{' {
            self.closed(b'}', "expected `,` or `}` in an object")
        } else {
            self.closed(b']', "expected `,` or `]` in an array")
        }
    }

    /// An entry into the object whose entries start at `start`. The last value of a repeated
    /// key wins, as in CloudFormation. A large object (a template's Resources) looks keys up
    /// in an index, so reading it stays linear.
    fn insert(
        &mut self,
        start: usize,
        index: &mut hashbrown::HashTable<usize>,
        k: String,
        v: Node,
    ) {
        let hasher = &self.hasher;
        let hash = |k: &str| std::hash::BuildHasher::hash_one(hasher, k);
        let m = &mut self.entries[start..];
        if m.len() == INDEX_FROM && index.is_empty() {
            for (i, (key, _)) in m.iter().enumerate() {
                index.insert_unique(hash(key), i, |&j| hash(&m[j].0));
            }
        }
        let found = if index.is_empty() {
            m.iter().position(|(key, _): &(String, Node)| *key == k)
        } else {
            index.find(hash(&k), |&j| m[j].0 == k).copied()
        };
        match found {
            Some(at) => {
                let slot = &mut m[at];
                self.duplicates.push(DuplicateKey {
                    key: k,
                    first_line: slot.1.line,
                    last_line: v.line,
                });
                slot.1 = v;
            }
            None => {
                if !index.is_empty() {
                    index.insert_unique(hash(&k), m.len(), |&j| hash(&m[j].0));
                }
                self.entries.push((k, v));
            }
        }
    }

    /// An array, from its `[`: items gathered on the scratch stack.
    fn array(&mut self, depth: usize) -> Result<Kind, ParseError> {
        self.i += 1;
        self.open.push(b'[');
        let start = self.items.len();
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
        } else {
            loop {
                if self.hand_off_here() {
                    self.merge_items();
                    break;
                }
                let item = self.value(depth + 1)?;
                self.items.push(item);
                if self.taken.is_some() {
                    self.merge_items();
                    break;
                }
                if self.close_or_next(b'[')? {
                    break;
                }
            }
        }
        self.open.pop();
        Ok(Kind::Seq(self.items.drain(start..).collect()))
    }

    /// After an object's entry or an array's item: a `,` (more follow) or `close` (true).
    fn closed(&mut self, close: u8, otherwise: &str) -> Result<bool, ParseError> {
        self.ws();
        match self.b.get(self.i) {
            Some(b',') => {
                self.i += 1;
                Ok(false)
            }
            Some(&c) if c == close => {
                self.i += 1;
                Ok(true)
            }
            _ => Err(self.error(otherwise)),
        }
    }

    fn number(&mut self) -> Result<Kind, ParseError> {
        let start = self.i;
        while let Some(c) = self.b.get(self.i) {
            if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.i += 1;
            } else {
                break;
            }
        }
        let t = std::str::from_utf8(&self.b[start..self.i])
            .map_err(|_| self.error("a malformed number"))?;
        if let Ok(i) = t.parse::<i64>() {
            return Ok(Kind::Int(i));
        }
        t.parse::<f64>()
            .map(Kind::Float)
            .map_err(|_| self.error(format!("`{t}` is not a number")))
    }

    fn string(&mut self) -> Result<String, ParseError> {
        if self.b.get(self.i) != Some(&b'"') {
            return Err(self.error("expected a string"));
        }
        self.i += 1;
        // Most strings have no escape: up to the closing quote they are a slice of the text,
        // already UTF-8 (the text is a `str` and the quote is ASCII).
        let start = self.i;
        let plain = self.b[start..]
            .iter()
            .position(|&c| matches!(c, b'"' | b'\\' | b'\n'));
        if let Some(n) = plain
            && self.b[start + n] == b'"'
        {
            self.i = start + n + 1;
            // Between two ASCII quotes of a `str`: char boundaries, so no UTF-8 check again.
            return self
                .text
                .get(start..start + n)
                .map(str::to_owned)
                .ok_or_else(|| self.error("a string that is not UTF-8"));
        }
        let mut out = Vec::with_capacity(plain.unwrap_or(0) + 16);
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err(self.error("an unterminated string"));
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.b.get(self.i) else {
                        return Err(self.error("an unterminated escape"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xd800..0xdc00).contains(&cp)
                                && self.b.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                self.i += 2;
                                let low = self.hex4()?;
                                cp = 0x10000
                                    + ((cp - 0xd800) << 10)
                                    + (low.wrapping_sub(0xdc00) & 0x3ff);
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut tmp = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                        }
                        _ => return Err(self.error("an unknown escape")),
                    }
                }
                b'\n' => return Err(self.error("a newline inside a string")),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.error("a string that is not UTF-8"))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let h = self
            .b
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.error("a short \\u escape"))?;
        self.i += 4;
        std::str::from_utf8(h)
            .ok()
            .and_then(|t| u32::from_str_radix(t, 16).ok())
            .ok_or_else(|| self.error("a malformed \\u escape"))
    }
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

/// The tree as JSON; a YAML tag stands for the value it tags.
pub fn to_json(n: &Node) -> serde_json::Value {
    use serde_json::Value;
    match &n.kind {
        Kind::Null => Value::Null,
        Kind::Bool(b) => Value::Bool(*b),
        Kind::Int(i) => Value::from(*i),
        Kind::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Kind::Str(s) => Value::String(s.clone()),
        Kind::Seq(v) => Value::Array(v.iter().map(to_json).collect()),
        Kind::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Kind::Tag(_, inner) => to_json(inner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_yaml_keys_are_found_at_any_depth_and_the_last_wins() {
        let text =
            "A:\n  - x: 1\n    x: 2\n  - x: 3\nB: {c: 1, d: [1, {c: 5}], c: 2}\nT: !Ref V\nA: 3\n";
        let (n, d) = parse_with_duplicates(text, "t.yaml").unwrap();
        let got: Vec<(&str, u32, u32)> = d
            .iter()
            .map(|d| (d.key.as_str(), d.first_line, d.last_line))
            .collect();
        assert_eq!(got, [("x", 2, 3), ("c", 5, 5), ("A", 1, 7)]);
        assert_eq!(
            n.get("A").map(|a| &a.kind),
            Some(&Kind::Int(3)),
            "the last value wins"
        );
        assert_eq!(
            n.get("B").and_then(|b| b.get("c")).map(|c| &c.kind),
            Some(&Kind::Int(2))
        );
    }

    #[test]
    fn json_duplicates_are_found_in_large_objects_too() {
        // Past INDEX_FROM keys the lookup goes through an index: the same answer.
        let mut text = String::from("{");
        for i in 0..40 {
            text.push_str(&format!("\"k{i}\": {i},\n"));
        }
        text.push_str("\"k3\": \"again\"}");
        let (n, d) = parse_with_duplicates(&text, "t.json").unwrap();
        assert_eq!(
            d,
            [DuplicateKey {
                key: "k3".into(),
                first_line: 4,
                last_line: 41
            }]
        );
        assert_eq!(n.get("k3").and_then(Node::as_str), Some("again"));
        assert_eq!(n.entries().len(), 40);
        assert_eq!(n.get("k39").map(|v| &v.kind), Some(&Kind::Int(39)));
    }

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

    #[test]
    fn the_json_fast_path_agrees_with_serde_json_and_reports_lines() {
        let text = "{\"a\": [1, -2.5e3, true, null, \"x\\u00e9\\ud83d\\ude00\\n\"],\n \"b\": {}}";
        let n = parse(text, "t.json").unwrap();
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(to_json(&n), v);
        assert_eq!(n.get("b").unwrap().line, 2);
        // Strings without an escape are taken as slices (UTF-8 included); with one, decoded.
        let text = "{\"plain é 😀\": \"ok\", \"k\": \"tab\\there \\\"q\\\" é\"}";
        let n = parse(text, "t.json").unwrap();
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(to_json(&n), v);
        for bad in [
            "{\"a\": }",
            "{\"a\": 1,}",
            "[1 2]",
            "{\"a\": \"x",
            "{\"a\": \"x\\",
            "[\"a\nb\"]",
            "[\"a\\tb\nc\"]",
            "{} {}",
        ] {
            assert!(parse(bad, "bad.json").is_err(), "{bad}");
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(
            parse(&deep, "deep.json").is_err(),
            "deep nesting is refused, not a stack overflow"
        );
    }
}
