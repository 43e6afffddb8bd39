//! The conformance table (`conformance/*.yaml`): documented AWS behaviours, each a request with
//! its `source:` and the result the source states, run against the live resolver and gateway
//! and against `predict` (the lab reports a request as differing when either disagrees).

use std::path::PathBuf;

use parallax_lab::{LabOptions, run};
use parallax_model::Scenario;

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance")
}

#[tokio::test]
async fn every_documented_behaviour_holds_against_the_servers_and_predict() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(conformance_dir())
        .expect("conformance/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut rows = 0;
    let mut failures = Vec::new();
    for f in &files {
        let s = Scenario::from_path(f).unwrap_or_else(|e| panic!("{e}"));
        for step in &s.steps {
            for r in &step.requests {
                let source = r.source.as_deref().unwrap_or_default();
                assert!(
                    source.len() > 10,
                    "{}: step {}: a request to {} without its source",
                    f.display(),
                    step.name.value,
                    r.url.value
                );
                assert!(
                    r.expect.is_some(),
                    "{}: a row without an expected result",
                    f.display()
                );
                rows += 1;
            }
        }
        let (report, lab) = run(&s, &LabOptions::default()).await.expect("lab runs");
        lab.shutdown().await;
        for r in report.requests() {
            if !r.differences.is_empty() {
                failures.push(format!(
                    "{}: {} {}: {}",
                    f.display(),
                    r.from,
                    r.url,
                    r.differences.join("; ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(rows >= 90, "{rows} rows: the table holds at least 90");
}
