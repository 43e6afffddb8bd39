//! The corpus (`tests/corpus/*/expect.yaml`): realistic inputs written by us, each with the
//! verdict AWS's documentation gives. Every entry's findings, errors, unknowns, locations and
//! account are checked, and so is the matrix's agreement with the findings.

use std::path::{Path, PathBuf};

use parallax_analyze::findings::{Finding, Severity, findings, sarif_text};
use parallax_analyze::imported::{ApiKind, Imported};
use parallax_analyze::source::Node;
use parallax_analyze::{import_paths, matrix, runnable};

fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus"))
}

struct Entry {
    name: String,
    dir: PathBuf,
    inputs: Vec<String>,
    findings: Vec<String>,
    errors: Vec<String>,
    unknowns: Vec<String>,
    locations: Vec<String>,
    account: Option<String>,
    matrix: Vec<String>,
}

fn list(n: &Node, key: &str) -> Vec<String> {
    match n.get(key).map(|v| &v.kind) {
        Some(parallax_analyze::source::Kind::Seq(items)) => items
            .iter()
            .map(|i| i.as_str().expect("a list of strings").to_owned())
            .collect(),
        None => Vec::new(),
        Some(other) => panic!("{key}: expected a list, found {other:?}"),
    }
}

fn entries() -> Vec<Entry> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("expect.yaml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .expect("a folder name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(dir.join("expect.yaml")).expect("expect.yaml");
        let n = parallax_analyze::source::parse(&text, &name).expect("expect.yaml is YAML");
        for key in ["mirrors", "why"] {
            assert!(
                n.get(key)
                    .and_then(Node::as_str)
                    .is_some_and(|s| s.len() > 20),
                "{name}: `{key}` says what the entry mirrors and why its verdict is right"
            );
        }
        out.push(Entry {
            inputs: list(&n, "inputs"),
            findings: list(&n, "findings"),
            errors: list(&n, "errors"),
            unknowns: list(&n, "unknowns"),
            locations: list(&n, "locations"),
            account: n.get("account").and_then(Node::as_str).map(str::to_owned),
            matrix: list(&n, "matrix"),
            name,
            dir,
        });
    }
    out
}

fn import(e: &Entry) -> (Imported, Vec<Finding>) {
    let paths: Vec<PathBuf> = e.inputs.iter().map(|i| e.dir.join(i)).collect();
    let m = import_paths(&paths);
    let fs = findings(&m);
    (m, fs)
}

/// A path as the entry names it: relative to the entry's folder.
fn relative(e: &Entry, file: &str) -> String {
    Path::new(file)
        .strip_prefix(&e.dir)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| file.to_owned())
}

#[test]
fn the_corpus_is_large_enough_and_covers_every_input_form() {
    let all = entries();
    assert!(all.len() >= 25, "{} entries", all.len());
    for prefix in ["cfn-", "sam-", "openapi-", "cdk-", "tf-"] {
        assert!(
            all.iter().any(|e| e.name.starts_with(prefix)),
            "no {prefix} entry"
        );
    }
    // Terraform entries carry the script that made their plans.
    assert!(corpus_dir().join("make-plan.sh").is_file());
}

#[test]
fn every_verdict_is_right() {
    let mut failures = Vec::new();
    for e in entries() {
        let (m, fs) = import(&e);
        let mut got: Vec<String> = fs
            .iter()
            .map(|f| format!("{} {}", f.rule.as_str(), f.severity.as_str()))
            .collect();
        got.sort();
        let mut want = e.findings.clone();
        want.sort();
        if got != want {
            failures.push(format!(
                "{}: findings {got:?}, expected {want:?}\n{}",
                e.name,
                fs.iter()
                    .map(|f| format!("  {}: {}", f.rule.as_str(), f.message))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
        let errors: Vec<String> = m
            .errors
            .iter()
            .map(|(l, _)| format!("{}:{}", relative(&e, &l.file), l.line))
            .collect();
        let mut errors_sorted = errors.clone();
        errors_sorted.sort();
        errors_sorted.dedup();
        let mut want_errors = e.errors.clone();
        want_errors.sort();
        if errors_sorted != want_errors {
            failures.push(format!(
                "{}: errors {errors:?}, expected {want_errors:?} ({:?})",
                e.name, m.errors
            ));
        }
        for u in &e.unknowns {
            if !m.unknowns.iter().any(|(_, why)| why.contains(u.as_str())) {
                failures.push(format!(
                    "{}: no unknown says `{u}`: {:?}",
                    e.name, m.unknowns
                ));
            }
        }
        for l in &e.locations {
            let (rule, at) = l.split_once(' ').expect("`RULE WHERE`");
            let found =
                fs.iter()
                    .filter(|f| f.rule.as_str() == rule)
                    .any(|f| match at.strip_prefix('@') {
                        Some(address) => f.location.line == 0 && f.location.resource == address,
                        None => {
                            format!("{}:{}", relative(&e, &f.location.file), f.location.line) == at
                        }
                    });
            if !found {
                failures.push(format!(
                    "{}: no {rule} at {at}: {:?}",
                    e.name,
                    fs.iter().map(|f| &f.location).collect::<Vec<_>>()
                ));
            }
        }
        if let Some(a) = &e.account
            && m.account.as_ref() != Some(a)
        {
            failures.push(format!("{}: account {:?}, expected {a}", e.name, m.account));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The matrix and the findings come from the same inputs and must say the same thing:
/// - a PX001 error names public APIs that are 403 from the endpoint's VPC in the matrix;
/// - a public API that is not 200 from a VPC has a PX001 or PX011 error or a PX007 naming it;
/// - a PX003 error means no 200 anywhere in that API's row;
/// - a private API is never 200 from the internet, and one that is 403 from a VPC whose
///   execute-api endpoint has private DNS has a PX003 or PX012 naming it;
/// - each `matrix` line of an entry (`NAME from VPC-KEY: STATUS`) holds.
#[test]
fn the_matrix_agrees_with_the_findings() {
    let mut failures = Vec::new();
    for e in entries().into_iter().filter(|e| e.errors.is_empty()) {
        let (m, fs) = import(&e);
        let (t, notes) = runnable::topology(&m);
        // A policy the matrix cannot evaluate is predicted deny-all, which no finding explains.
        for n in &notes {
            if matches!(
                n,
                runnable::Assumption::PolicyNotEvaluable { .. }
                    | runnable::Assumption::EndpointPolicyNotEvaluable { .. }
            ) {
                failures.push(format!("{}: {n}", e.name));
            }
        }
        if let Some(a) = &e.account {
            assert_eq!(&t.account.value, a, "{}: the matrix's account", e.name);
        }
        let rows = matrix::matrix(&t);
        // VPC key → the vantage name the matrix uses (its id, made up or given).
        let vantage = |key: &str| -> Option<String> {
            let i = m.vpcs.iter().position(|v| v.key == key)?;
            Some(t.vpcs[i].id.to_string())
        };
        let status = |api: &str, from: &str| -> Option<u16> {
            rows.iter()
                .find(|r| r.target.starts_with(&format!("{api} (")))?
                .cells
                .iter()
                .find(|(v, _)| v == from)?
                .1
                .http
                .as_ref()
                .map(|h| h.status)
        };
        let names_api = |f: &Finding, api: &str| f.message.contains(&format!("{api} ("));
        for f in fs.iter().filter(|f| f.severity == Severity::Error) {
            match f.rule.as_str() {
                "PX001" => {
                    let Some(ep) = m.endpoints.iter().find(|x| x.loc == f.location) else {
                        continue;
                    };
                    let Some(vpc) = m.vpc(&ep.vpc).and_then(|v| vantage(&v.key)) else {
                        continue;
                    };
                    for a in m.apis.iter().filter(|a| names_api(f, &a.name)) {
                        if let Some(s) = status(&a.name, &vpc)
                            && s != 403
                        {
                            failures.push(format!(
                                "{}: PX001 names {} but the matrix gives {s} from {vpc}",
                                e.name, a.name
                            ));
                        }
                    }
                }
                "PX003" => {
                    for a in m.apis.iter().filter(|a| f.message.starts_with(&a.name)) {
                        for r in rows
                            .iter()
                            .filter(|r| r.target.starts_with(&format!("{} (", a.name)))
                        {
                            if r.cells
                                .iter()
                                .any(|(_, o)| o.http.as_ref().is_some_and(|h| h.status == 200))
                            {
                                failures.push(format!(
                                    "{}: PX003 on {} but the matrix has a 200",
                                    e.name, a.name
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        for a in &m.apis {
            for v in &m.vpcs {
                let Some(vpc) = vantage(&v.key) else { continue };
                let Some(s) = status(&a.name, &vpc) else {
                    continue;
                };
                let public = matches!(a.kind, Some(ApiKind::Regional | ApiKind::Edge));
                if public
                    && s != 200
                    && !fs.iter().any(|f| {
                        (matches!(f.rule.as_str(), "PX001" | "PX011")
                            && f.severity == Severity::Error
                            || f.rule.as_str() == "PX007")
                            && (names_api(f, &a.name) || f.message.starts_with(&a.name))
                    })
                {
                    failures.push(format!(
                        "{}: {} gets {s} from {} and no finding says why",
                        e.name, a.name, v.key
                    ));
                }
                let shadowed = m.endpoints.iter().any(|x| {
                    x.private_dns == Some(true)
                        && x.service.as_deref() == Some("execute-api")
                        && m.vpc(&x.vpc).is_some_and(|y| y.key == v.key)
                });
                if a.kind == Some(ApiKind::Private)
                    && shadowed
                    && s == 403
                    && !fs.iter().any(|f| {
                        f.rule.as_str() == "PX003" && f.message.starts_with(&a.name)
                            || f.rule.as_str() == "PX012"
                                && f.message.contains(&format!("PRIVATE API {} ", a.name))
                    })
                {
                    failures.push(format!(
                        "{}: private {} gets 403 from its endpoint's VPC {} and no PX003 says why",
                        e.name, a.name, v.key
                    ));
                }
            }
            if a.kind == Some(ApiKind::Private) && status(&a.name, "internet") == Some(200) {
                failures.push(format!(
                    "{}: private {} is 200 from the internet",
                    e.name, a.name
                ));
            }
        }
        for line in &e.matrix {
            let (left, want) = line.rsplit_once(": ").expect("`NAME from VPC: STATUS`");
            let (api, from) = left.split_once(" from ").expect("`NAME from VPC`");
            let from_name = if from == "internet" {
                Some("internet".to_owned())
            } else {
                vantage(from)
            };
            let got = from_name.as_deref().and_then(|f| status(api, f));
            if got.map(|s| s.to_string()).as_deref() != Some(want) {
                failures.push(format!(
                    "{}: `{line}`: the matrix gives {got:?}\n{}",
                    e.name,
                    matrix::text(&rows)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every entry's SARIF passes Microsoft's SARIF multitool (`validate`), with no error or
/// warning; and the validator does reject a broken log, so a pass means something.
#[test]
fn every_entrys_sarif_passes_the_sarif_multitool() {
    let Some(tool) = parallax_testkit::interop::require(
        "sarif-multitool",
        "the npm package @microsoft/sarif-multitool",
    ) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("parallax-sarif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Written in the order sarif_text uses: the validator skips runs whose results come first.
    let mut logs = vec![(
        "broken".to_owned(),
        r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [{"level": "fatal"}]}]}"#.to_owned(),
    )];
    for e in entries() {
        let (m, fs) = import(&e);
        logs.push((e.name.clone(), sarif_text(&fs, &m)));
    }
    // One run of the validator over every log: its results name the file each is about.
    let mut cmd = std::process::Command::new(&tool);
    cmd.arg("validate");
    for (name, text) in &logs {
        let input = dir.join(format!("{name}.sarif"));
        std::fs::write(&input, text).expect("write");
        cmd.arg(input);
    }
    let output = dir.join("validation.sarif");
    cmd.arg("-o").arg(&output).args(["--log", "ForceOverwrite"]);
    let run = parallax_testkit::process::run_within(
        &mut cmd,
        std::time::Duration::from_secs(300),
        "sarif-multitool validate",
    );
    assert!(run.status.success(), "sarif-multitool failed: {run:?}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&output).expect("the validator's log"))
            .expect("the validator's log is JSON");
    let results = report["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let problems = |name: &str| -> Vec<String> {
        let file = format!("/{name}.sarif");
        results
            .iter()
            .filter(|r| r["level"].as_str().unwrap_or("warning") != "note")
            .filter(|r| {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .is_some_and(|u| u.ends_with(&file))
            })
            .map(|r| format!("{} {}", r["ruleId"], r["message"]))
            .collect()
    };
    assert!(
        problems("broken").len() >= 3,
        "the validator rejects a broken log: {results:?}"
    );
    let failures: Vec<String> = logs[1..]
        .iter()
        .filter_map(|(name, _)| {
            let p = problems(name);
            (!p.is_empty()).then(|| format!("{name}: {}", p.join("; ")))
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The committed plans are what terraform makes of the committed `.tf` files: one is made again
/// with the real binary (the local provider mirror, no AWS account) and gets the same findings.
#[test]
fn a_committed_plan_is_what_terraform_makes_of_its_configuration() {
    let Some(_) = parallax_testkit::interop::require(
        "terraform",
        "HashiCorp's terraform, with the AWS provider in the local mirror /opt/tf-plugins",
    ) else {
        return;
    };
    let src = corpus_dir().join("tf-module-endpoint");
    let work = std::env::temp_dir().join(format!("parallax-tf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    copy_tree(&src, &work);
    std::fs::remove_file(work.join("plan.json")).expect("the copied plan");
    let run = parallax_testkit::process::run_within(
        std::process::Command::new(corpus_dir().join("make-plan.sh")).arg(&work),
        std::time::Duration::from_secs(300),
        "make-plan.sh",
    );
    assert!(run.status.success(), "make-plan.sh: {run:?}");
    let summary = |dir: &Path| -> Vec<(String, String, u32)> {
        let m = import_paths(&[dir.join("plan.json")]);
        findings(&m)
            .iter()
            .map(|f| {
                (
                    f.rule.as_str().to_owned(),
                    Path::new(&f.location.file)
                        .strip_prefix(dir)
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    f.location.line,
                )
            })
            .collect()
    };
    assert_eq!(summary(&work), summary(&src));
    let _ = std::fs::remove_dir_all(&work);
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from)
        .expect("read_dir")
        .filter_map(Result::ok)
    {
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}
