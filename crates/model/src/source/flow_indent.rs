//! Flow collections written across lines with their later lines at or left of the key they
//! belong to:
//!
//! ```yaml
//!       Schema: {"type": "object",
//!       "title": "Stats"}
//! ```
//!
//! YAML 1.2 wants those lines indented past the key (`saphyr` refuses them: "invalid
//! indentation"); PyYAML and SnakeYAML, which the SAM CLI and CloudFormation's own tooling build
//! on, take them, and public templates are written that way. Inside a flow collection the
//! indentation means nothing, so such lines are moved right of their key and the text parsed
//! again; lines keep their numbers. Block scalars (`|`, `>`) and quoted scalars are passed over.

/// `text` with every continuation line of a multi-line flow collection indented one column past
/// the line that opened the collection, or `None` when no line needed it.
pub(super) fn reindent(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 256);
    let mut changed = false;
    let mut s = Scan::default();
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = &line[indent..];
        let blank = body.trim().is_empty();
        if let Some(parent) = s.block_scalar {
            if blank || indent > parent {
                out.push_str(line);
                continue;
            }
            s.block_scalar = None;
        }
        if s.depth > 0 || s.quote.is_some() {
            if s.depth > 0 && !blank && indent < s.min_col {
                changed = true;
                out.extend(std::iter::repeat_n(' ', s.min_col));
            } else {
                out.push_str(&line[..indent]);
            }
            out.push_str(body);
            s.flow(body);
            continue;
        }
        out.push_str(line);
        if blank || body.starts_with('#') {
            continue;
        }
        s.block_line(line, indent);
    }
    changed.then_some(out)
}

#[derive(Default)]
struct Scan {
    /// Open flow collections.
    depth: usize,
    /// The column continuation lines of the open collection need.
    min_col: usize,
    /// A quoted scalar left open at the end of a line.
    quote: Option<char>,
    /// Inside a block scalar whose parent line is indented this much.
    block_scalar: Option<usize>,
}

impl Scan {
    /// A line in block context: where its value starts, and whether that opens a flow
    /// collection, a block scalar or a quoted scalar that goes on.
    fn block_line(&mut self, line: &str, indent: usize) {
        let b = line.as_bytes();
        let mut i = indent;
        // `- ` sequence entries, possibly several on one line.
        while b.get(i) == Some(&b'-') && matches!(b.get(i + 1), Some(b' ') | None | Some(b'\n')) {
            i += 1;
            while b.get(i) == Some(&b' ') {
                i += 1;
            }
        }
        let content = i;
        // A key: quoted, or plain up to `: ` (or `:` at the end).
        let mut j = i;
        if let Some(&q @ (b'"' | b'\'')) = b.get(j) {
            match close_quote(&line[j + 1..], q as char) {
                Some(end) => j += 1 + end,
                None => {
                    self.quote = Some(q as char);
                    return;
                }
            }
        }
        let value = match find_colon(&line[j..]) {
            Some(c) => j + c + 1,
            None => i,
        };
        let mut v = value;
        loop {
            while matches!(b.get(v), Some(b' ' | b'\t')) {
                v += 1;
            }
            // Tags (`!Sub`, `!!str`) and anchors (`&a`) come before the value.
            if !matches!(b.get(v), Some(b'!' | b'&')) {
                break;
            }
            while b.get(v).is_some_and(|c| !c.is_ascii_whitespace()) {
                v += 1;
            }
        }
        match b.get(v) {
            Some(b'[' | b'{') => {
                self.min_col = content + 1;
                self.flow(&line[v..]);
            }
            Some(b'|' | b'>') => self.block_scalar = Some(indent),
            Some(&q @ (b'"' | b'\'')) if close_quote(&line[v + 1..], q as char).is_none() => {
                self.quote = Some(q as char);
            }
            _ => {}
        }
    }

    /// Goes through flow text (or the rest of an open quoted scalar), counting brackets outside
    /// quotes and stopping at a comment.
    fn flow(&mut self, text: &str) {
        let mut chars = text.chars().peekable();
        // A quote opens a scalar only where a token starts (`it's` is plain).
        let mut prev = ' ';
        while let Some(c) = chars.next() {
            if let Some(q) = self.quote {
                if c == '\\' && q == '"' {
                    chars.next();
                } else if c == q {
                    if q == '\'' && chars.peek() == Some(&'\'') {
                        chars.next();
                    } else {
                        self.quote = None;
                        if self.depth == 0 {
                            // A quoted block value that went on over lines: done.
                            return;
                        }
                    }
                }
                prev = c;
                continue;
            }
            match c {
                '#' if prev.is_whitespace() => return,
                '"' | '\'' if prev.is_whitespace() || "[{,:".contains(prev) => {
                    self.quote = Some(c);
                }
                '[' | '{' => self.depth += 1,
                ']' | '}' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
            prev = c;
        }
    }
}

/// Where `q` closes a quoted scalar in `rest` (the text after its opening quote).
fn close_quote(rest: &str, q: char) -> Option<usize> {
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' && q == '"' {
            chars.next();
        } else if c == q {
            if q == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
                chars.next();
            } else {
                return Some(i + c.len_utf8());
            }
        }
    }
    None
}

/// Where a mapping key ends: the `:` followed by a space or the line's end.
fn find_colon(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    b.iter().enumerate().find_map(|(i, &c)| {
        (c == b':' && matches!(b.get(i + 1), None | Some(b' ' | b'\t' | b'\n' | b'\r')))
            .then_some(i)
    })
}

#[cfg(test)]
mod tests {
    use crate::source::{parse, to_json};

    /// Shapes of public SAM templates (aws-samples/serverless-patterns: a Model's inline
    /// `Schema`, IAM statements with `Action: [` closed at the key's column) around block,
    /// quoted and plain scalars holding brackets. The expected value is what PyYAML 6 loads
    /// from the same text (tags read as their scalar).
    const TEXT: &str = r#"Resources:
  Model:
    Properties:
      Schema: {"title": "Stats",
      "type": "object",
      "required": ["a",
      "b"]}
  Role:
    Statement:
      - 
        Effect: "Allow"
        Action: [
          "dynamodb:PutItem",
          "dynamodb:DeleteItem",
        ]
        Resource: [
          !GetAtt "Fn.Arn",
          'it''s [not] a bracket'
        ]
  Notes:
    Script: |
      [this, is, text
      {not: flow
    Quoted: "a [b
      c] d"
    Plain: x[1]
    Policy: [{
      "Effect": "Allow" # a comment ] with a bracket
    }]
"#;

    const PYYAML: &str = r#"{"Resources": {"Model": {"Properties": {"Schema": {"title": "Stats", "type": "object", "required": ["a", "b"]}}}, "Role": {"Statement": [{"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:DeleteItem"], "Resource": ["Fn.Arn", "it's [not] a bracket"]}]}, "Notes": {"Script": "[this, is, text\n{not: flow\n", "Quoted": "a [b c] d", "Plain": "x[1]", "Policy": [{"Effect": "Allow"}]}}}"#;

    #[test]
    fn flow_lines_left_of_their_key_read_as_pyyaml_reads_them_and_keep_their_lines() {
        assert!(super::reindent(TEXT).is_some(), "the text needs it");
        let n = parse(TEXT, "t.yaml").expect("read leniently");
        let want: serde_json::Value = serde_json::from_str(PYYAML).expect("JSON");
        assert_eq!(to_json(&n), want);
        let action = n
            .get("Resources")
            .and_then(|r| r.get("Role"))
            .and_then(|r| r.get("Statement"))
            .and_then(|s| s.items().first())
            .and_then(|s| s.get("Action"))
            .expect("Action");
        assert_eq!(action.line, 12, "lines are the file's");
    }

    #[test]
    fn what_is_wrong_anyway_keeps_its_first_error_and_valid_text_is_not_touched() {
        // A key without its colon (a real template's typo): no indentation fixes it, and the
        // error named is that one, not the flow lines PyYAML would have taken.
        let bad = "A:\n  B: [1,\n  2]\n  C:oops\n  D\n";
        let e = parse(bad, "t.yaml").expect_err("refused");
        assert_eq!(e.line, 5, "{e:?}");
        let ok = "A:\n  B: [1,\n     2]\n  C: {x: 1}\n";
        assert_eq!(super::reindent(ok), None);
    }
}
