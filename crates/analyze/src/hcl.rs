//! Where Terraform configuration declares each resource: the `*.tf` files of a directory and of
//! the local modules it calls, parsed with `hcl-edit`, which keeps byte spans. A plan's findings
//! point at these blocks (file:line) instead of at the plan.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hcl_edit::Span;
use hcl_edit::structure::{Block, BlockLabel, Body};

use crate::imported::Loc;

/// One `resource "TYPE" "NAME"` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declaration {
    /// The `.tf` file.
    pub file: String,
    /// The line the block starts on.
    pub line: u32,
    /// The source text of each top-level attribute (`service_name = "com.amazonaws.…"`).
    pub attributes: HashMap<String, String>,
}

/// The declarations of a configuration, by address without instance keys
/// (`module.net.aws_vpc.main`).
#[derive(Clone, Debug, Default)]
pub struct Declarations {
    by_address: HashMap<String, Declaration>,
    /// `.tf` files that could not be read or parsed: (where, why).
    pub errors: Vec<(Loc, String)>,
}

impl Declarations {
    /// The block that declares an address (`aws_vpc.main`, `module.a["x"].aws_vpc.main[0]`).
    pub fn get(&self, address: &str) -> Option<&Declaration> {
        self.by_address.get(strip_instance_keys(address).as_ref())
    }

    /// Whether no resource block was found.
    pub fn is_empty(&self) -> bool {
        self.by_address.is_empty()
    }

    /// Reads `dir` as the root module and each `(module prefix, directory)` given.
    pub fn read(dir: &Path, modules: &[(String, PathBuf)], max_bytes: u64) -> Declarations {
        let mut d = Declarations::default();
        d.read_module("", dir, max_bytes);
        for (prefix, m) in modules {
            d.read_module(prefix, m, max_bytes);
        }
        d
    }

    fn read_module(&mut self, prefix: &str, dir: &Path, max_bytes: u64) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "tf"))
            .collect();
        files.sort();
        for f in files {
            // `./modules/x/main.tf` as `modules/x/main.tf`: `.` components say nothing.
            let clean: PathBuf = f
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect();
            let shown = clean.display().to_string();
            let text = match crate::input::read_text(&f, max_bytes) {
                Ok(t) => t,
                Err(e) => {
                    self.errors.push((at(&shown, 0), e.to_string()));
                    continue;
                }
            };
            match hcl_edit::parser::parse_body(&text) {
                Ok(body) => self.add(prefix, &shown, &text, &body),
                Err(e) => self.errors.push((
                    at(&shown, u32::try_from(e.location().line()).unwrap_or(0)),
                    format!("not valid HCL: {}", e.message()),
                )),
            }
        }
    }

    fn add(&mut self, prefix: &str, file: &str, text: &str, body: &Body) {
        for block in body.get_blocks("resource") {
            let (Some(ty), Some(name)) = (label(block, 0), label(block, 1)) else {
                continue;
            };
            let line = block.span().map_or(0, |s| line_of(text, s.start));
            let attributes = block
                .body
                .attributes()
                .filter_map(|a| {
                    let s = a.span()?;
                    Some((a.key.as_str().to_owned(), text.get(s)?.to_owned()))
                })
                .collect();
            self.by_address.insert(
                format!("{prefix}{ty}.{name}"),
                Declaration {
                    file: file.to_owned(),
                    line,
                    attributes,
                },
            );
        }
    }
}

fn label(b: &Block, i: usize) -> Option<&str> {
    match b.labels.get(i)? {
        BlockLabel::String(s) => Some(s.as_str()),
        BlockLabel::Ident(id) => Some(id.as_str()),
    }
}

fn at(file: &str, line: u32) -> Loc {
    Loc {
        file: file.to_owned(),
        line,
        resource: String::new(),
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> u32 {
    let n = text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(n + 1).unwrap_or(u32::MAX)
}

/// `module.a["x"].aws_vpc.main[0]` → `module.a.aws_vpc.main`: instance keys are the plan's, the
/// block is one. Brackets inside quoted keys are skipped.
/// An address without keys is given back as it is, without a copy.
pub fn strip_instance_keys(address: &str) -> std::borrow::Cow<'_, str> {
    if !address.contains('[') {
        return std::borrow::Cow::Borrowed(address);
    }
    let mut out = String::with_capacity(address.len());
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for c in address.chars() {
        if depth > 0 {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '[' if !quoted => depth += 1,
                ']' if !quoted => depth -= 1,
                _ => {}
            }
            continue;
        }
        if c == '[' {
            depth = 1;
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_keys_are_dropped() {
        assert_eq!(
            strip_instance_keys(r#"module.a["x]"].aws_vpc.main[0]"#),
            "module.a.aws_vpc.main"
        );
        assert_eq!(strip_instance_keys("aws_vpc.main"), "aws_vpc.main");
    }

    #[test]
    fn blocks_get_their_lines_and_attribute_text() {
        let text = "# vpc\n\nresource \"aws_vpc_endpoint\" \"api\" {\n  service_name = \"com.amazonaws.${var.region}.execute-api\"\n}\n";
        let body = hcl_edit::parser::parse_body(text).expect("valid HCL");
        let mut d = Declarations::default();
        d.add("", "main.tf", text, &body);
        let decl = d.get("aws_vpc_endpoint.api[0]").expect("declared");
        assert_eq!(decl.line, 3);
        assert!(decl.attributes["service_name"].contains("execute-api"));
    }

    #[test]
    fn a_tf_file_that_is_not_hcl_is_named_with_its_line() {
        let dir = std::env::temp_dir().join(format!("parallax-hcl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(
            dir.join("main.tf"),
            "resource \"aws_vpc\" \"a\" {\n  cidr_block = \"10.0.0.0/16\"\n\nresource {\n",
        )
        .expect("write");
        let d = Declarations::read(&dir, &[], 1 << 20);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
        let (at, why) = &d.errors[0];
        assert!(at.file.ends_with("main.tf") && at.line > 0, "{at:?}");
        assert!(why.starts_with("not valid HCL"), "{why}");
    }
}
