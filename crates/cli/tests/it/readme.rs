//! README stays true: every example block marked `<!-- README test -->` (or `<!-- README test:
//! exit N -->`) runs here, and every repository file README names exists.
//!
//! A marked block is a `console` block: a line `$ COMMAND` runs COMMAND with `sh -c` in the
//! repository's root, with this build's `parallax` first on PATH; the lines after it, up to the
//! next `$`, are its standard output. A line `...` stands for any number of lines, and `[..]`
//! inside a line for any text. Standard error is not compared; the last command's exit code
//! must be the block's (0 unless the marker says otherwise).

use std::path::{Path, PathBuf};
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One marked block: where it starts, its exit code, and its commands with their output.
struct Block {
    line: usize,
    exit: i32,
    steps: Vec<(String, Vec<String>)>,
}

fn blocks(readme: &str) -> Vec<Block> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let marker = lines[i].trim();
        let exit = if marker == "<!-- README test -->" {
            Some(0)
        } else {
            marker
                .strip_prefix("<!-- README test: exit ")
                .and_then(|r| r.strip_suffix(" -->"))
                .and_then(|n| n.parse().ok())
        };
        let Some(exit) = exit else {
            i += 1;
            continue;
        };
        assert_eq!(
            lines.get(i + 1).map(|l| l.trim()),
            Some("```console"),
            "README.md:{}: a README test marker must be followed by a ```console block",
            i + 1
        );
        let start = i + 1;
        let mut steps: Vec<(String, Vec<String>)> = Vec::new();
        i += 2;
        while i < lines.len() && lines[i].trim() != "```" {
            match lines[i].strip_prefix("$ ") {
                Some(cmd) => steps.push((cmd.to_owned(), Vec::new())),
                None => steps
                    .last_mut()
                    .unwrap_or_else(|| panic!("README.md:{}: output before any `$` line", i + 1))
                    .1
                    .push(lines[i].to_owned()),
            }
            i += 1;
        }
        out.push(Block {
            line: start,
            exit,
            steps,
        });
        i += 1;
    }
    out
}

/// Whether `line` matches `pattern`, where `[..]` stands for any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let mut rest = line;
    for (k, part) in parts.iter().enumerate() {
        if k == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if k == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

/// Whether the output's lines match the expected ones (`...` is any number of lines).
fn output_matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| line_matches(first, a) && output_matches(rest, more)),
    }
}

#[test]
fn readme_examples_run_as_shown() {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let all = blocks(&text);
    assert!(all.len() >= 5, "only {} marked blocks", all.len());
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_parallax"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut wrong = Vec::new();
    for b in &all {
        for (k, (cmd, expected)) in b.steps.iter().enumerate() {
            let out = parallax_testkit::process::run_within(
                std::process::Command::new("sh")
                    .args(["-c", cmd])
                    .current_dir(root())
                    .env("PATH", &path)
                    .env_remove("RUST_LOG"),
                Duration::from_secs(120),
                cmd,
            );
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let actual: Vec<&str> = stdout.lines().collect();
            if !output_matches(expected, &actual) {
                wrong.push(format!(
                    "README.md:{}: `{cmd}` printed:\n{stdout}\n(stderr: {})",
                    b.line,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            if k + 1 == b.steps.len() && out.status.code() != Some(b.exit) {
                wrong.push(format!(
                    "README.md:{}: `{cmd}` exited {:?}, README says {}",
                    b.line,
                    out.status.code(),
                    b.exit
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every repository path README names in backquotes or as a link target exists.
#[test]
fn every_file_readme_names_exists() {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    const TOP: [&str; 10] = [
        "crates/",
        "docs/",
        "deploy/",
        "scenarios/",
        "schemas/",
        "conformance/",
        "bench/",
        ".ci/",
        "Dockerfile",
        "BENCHMARKS.md",
    ];
    let mut named = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut candidates: Vec<&str> = line.split('`').skip(1).step_by(2).collect();
        candidates.extend(line.split("](").skip(1).filter_map(|r| r.split(')').next()));
        for c in candidates {
            let c = c.trim();
            if c.contains(' ') || c.contains('*') || c.contains('{') || c.contains("...") {
                continue;
            }
            let path = c.split(['#', ':']).next().unwrap_or_default();
            if TOP
                .iter()
                .any(|t| path.starts_with(t) || path == t.trim_end_matches('/'))
            {
                named.push((n + 1, path.to_owned()));
            }
        }
    }
    assert!(named.len() > 20, "README names {} files", named.len());
    let missing: Vec<String> = named
        .iter()
        .filter(|(_, p)| !root().join(p).exists())
        .map(|(n, p)| format!("README.md:{n}: {p}"))
        .collect();
    assert!(
        missing.is_empty(),
        "README names files that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_matcher_reads_its_wildcards() {
    assert!(line_matches("a [..] c", "a b b c"));
    assert!(!line_matches("a [..] c", "a b b d"));
    let exp: Vec<String> = ["one", "...", "four"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert!(output_matches(&exp, &["one", "two", "three", "four"]));
    assert!(output_matches(&exp, &["one", "four"]));
    assert!(!output_matches(&exp, &["one", "two"]));
}
