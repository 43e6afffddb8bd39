//! Integration tests of the lab: every scenario in `scenarios/` runs green, and a wrong
//! `expect:` is reported as a difference naming the field and both values.

use std::path::PathBuf;

use parallax_lab::{LabOptions, run};
use parallax_model::Scenario;

mod conformance;

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// Runs one scenario of the library and checks that everything went as expected (and as
/// predicted).
async fn runs_green(file: &str) {
    let path = scenarios_dir().join(file);
    let s = Scenario::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
    let (report, lab) = run(&s, &LabOptions::default()).await.expect("lab runs");
    lab.shutdown().await;
    assert!(report.passed(), "{file}:\n{}", report.to_text());
    assert!(report.requests().count() > 0, "{file} makes no request");
}

/// One test per scenario file, named after it.
macro_rules! scenario_tests {
    ($($name:ident => $file:literal),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                runs_green($file).await;
            }
        )*
        /// Every file in `scenarios/` has its test above.
        #[test]
        fn every_scenario_file_has_its_test() {
            let listed: Vec<&str> = vec![$($file),*];
            let mut files: Vec<String> = std::fs::read_dir(scenarios_dir())
                .expect("scenarios/ exists")
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".yaml"))
                .collect();
            files.sort();
            let mut listed: Vec<String> = listed.into_iter().map(str::to_owned).collect();
            listed.sort();
            assert_eq!(files, listed, "add a line to scenario_tests! for each new scenario");
        }
    };
}

scenario_tests! {
    scenario_api_keys => "api-keys.yaml",
    scenario_cname_shadowed => "cname-shadowed.yaml",
    scenario_fixes => "fixes.yaml",
    scenario_hub_and_spoke => "hub-and-spoke.yaml",
    scenario_mutual_tls => "mutual-tls.yaml",
    scenario_onprem_hybrid => "onprem-hybrid.yaml",
    scenario_openapi_import => "openapi-import.yaml",
    scenario_private_api => "private-api.yaml",
    scenario_private_custom_domain => "private-custom-domain.yaml",
    scenario_route53_profile => "route53-profile.yaml",
    scenario_seed_incident => "seed-incident.yaml",
    scenario_source_ip => "source-ip.yaml",
    scenario_websocket => "websocket.yaml",
}

#[tokio::test]
async fn seed_story_observed_step_by_step() {
    let s = Scenario::seed().expect("seed");
    let (report, resolver) = run(&s, &LabOptions::default()).await.expect("lab runs");
    resolver.shutdown().await;
    let ecs: Vec<_> = report
        .requests()
        .filter(|r| r.from == "ecs-task" && r.host.starts_with("a1b2c3d4e5."))
        .map(|r| (r.step.as_str(), r.verdict.to_string()))
        .collect();
    assert_eq!(
        ecs,
        vec![
            ("before", "public".to_owned()),
            ("before", "public".to_owned()),
            ("endpoint-added", "private".to_owned()),
            ("endpoint-added", "private".to_owned()),
            ("rolled-back", "public".to_owned()),
        ]
    );
    let shadowed = report
        .requests()
        .find(|r| r.step == "endpoint-added" && r.from == "ecs-task")
        .expect("record");
    assert_eq!(
        shadowed.answered_by,
        "private DNS of interface endpoint vpce-0123456789abcdef0"
    );
    // JSON lines: one valid record per request.
    let json = report.to_json_lines();
    assert_eq!(json.lines().count(), report.requests().count());
    for line in json.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
        assert!(v["outcome"]["dns"]["addresses"].is_array());
    }
}

#[tokio::test]
async fn a_wrong_expectation_is_a_clear_difference() {
    let text = parallax_model::scenario::SEED_INCIDENT.replacen(
        "expect: { dns: private, front_door: vpce-0123456789abcdef0, status: 403, error_type: ForbiddenException }",
        "expect: { dns: public }",
        1,
    );
    assert_ne!(
        text,
        parallax_model::scenario::SEED_INCIDENT,
        "the fixture line exists"
    );
    let s = Scenario::from_yaml(&text, "wrong.yaml").expect("still valid");
    let (report, resolver) = run(&s, &LabOptions::default()).await.expect("lab runs");
    resolver.shutdown().await;
    assert!(!report.passed());
    let diffs: Vec<&String> = report.requests().flat_map(|r| &r.differences).collect();
    assert_eq!(
        diffs,
        vec!["dns: expected public, got private (10.0.1.17, 10.0.2.17)"]
    );
    assert!(
        report
            .to_text()
            .contains("DIFF   dns: expected public, got private (10.0.1.17, 10.0.2.17)")
    );
}

#[tokio::test]
async fn stopping_at_a_step_and_unknown_steps() {
    let s = Scenario::seed().expect("seed");
    let (report, resolver) = run(
        &s,
        &LabOptions {
            until_step: Some("endpoint-added".to_owned()),
        },
    )
    .await
    .expect("runs");
    assert_eq!(report.steps.len(), 2);
    resolver.shutdown().await;
    let err = run(
        &s,
        &LabOptions {
            until_step: Some("nope".to_owned()),
        },
    )
    .await
    .expect_err("unknown step");
    assert_eq!(
        err.to_string(),
        "scenario `seed-incident` has no step `nope` (steps: before, endpoint-added, rolled-back)"
    );
}

/// A name that resolves to an address no front door plays (a private zone's record) is never
/// dialled: the lab refuses to connect outside its connect map.
#[tokio::test]
async fn addresses_outside_the_connect_map_are_never_dialled() {
    let yaml = r#"
name: unplayed
topology:
  region: us-east-1
  front_doors: { regional: [52.94.133.10] }
  vpcs: [{ id: vpc-0a1b2c3d, cidr: 10.0.0.0/16, dns_hostnames: true }]
  hosted_zones:
    - name: internal.example.com
      vpcs: [vpc-0a1b2c3d]
      records: [{ name: db.internal.example.com, type: A, values: [10.0.9.9] }]
  vantages: [{ name: task, network: vpc-0a1b2c3d }]
steps:
  - name: only
    requests:
      - from: task
        url: https://db.internal.example.com/
        expect: { dns: private, front_door: none }
"#;
    let s = Scenario::from_yaml(yaml, "<unplayed>").expect("valid");
    let t0 = std::time::Instant::now();
    let (report, lab) = run(&s, &LabOptions::default()).await.expect("lab runs");
    lab.shutdown().await;
    assert!(report.passed(), "{}", report.to_text());
    let r = report.requests().next().expect("a record");
    assert_eq!(r.diagnosis.rule.as_str(), "connect-failure");
    assert!(
        r.diagnosis
            .evidence
            .iter()
            .any(|e| e.contains("not in the connect map")),
        "{:?}",
        r.diagnosis.evidence
    );
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(5),
        "refused at once, not timed out"
    );
}

/// One truth: for every request of every step of every scenario, what `predict` says from the
/// model alone is what the servers did.
#[tokio::test]
async fn predicted_equals_observed_for_every_scenario_step() {
    let mut checked = 0;
    for entry in std::fs::read_dir(scenarios_dir()).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let s = Scenario::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
        let (report, lab) = run(&s, &LabOptions::default()).await.expect("lab runs");
        lab.shutdown().await;
        for r in report.requests() {
            let predicted = r.predicted.as_ref().unwrap_or_else(|| {
                panic!("{}: {} {} has no prediction", path.display(), r.step, r.url)
            });
            assert_eq!(
                predicted.dns.addresses,
                r.outcome.dns.addresses,
                "{}: {} {}",
                path.display(),
                r.step,
                r.url
            );
            // Status, error type and, where the prediction knows it, the body byte for byte
            // (headers are the servers' alone).
            let seen = |h: &parallax_model::outcome::HttpOutcome, body: bool| {
                (
                    h.status,
                    h.error_type.clone(),
                    body.then(|| h.body.clone()).flatten(),
                )
            };
            let knows_body = predicted.http.as_ref().is_some_and(|h| h.body.is_some());
            assert_eq!(
                (
                    &predicted.front_door,
                    predicted.http.as_ref().map(|h| seen(h, knows_body))
                ),
                (
                    &r.outcome.front_door,
                    r.outcome.http.as_ref().map(|h| seen(h, knows_body))
                ),
                "{}: {} {} {}",
                path.display(),
                r.step,
                r.from,
                r.url
            );
            assert!(
                !r.differences.iter().any(|d| d.starts_with("prediction:")),
                "{:?}",
                r.differences
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} requests checked");
}

/// Ports, durations and the scratch directory differ from run to run.
fn stable_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
        (
            r"127\.0\.0\.1:443:127\.0\.0\.1:\d+",
            "127.0.0.1:443:127.0.0.1:PORT",
        ),
        (r"-p \d+", "-p PORT"),
        (r":443:127\.0\.0\.1:\d+", ":443:127.0.0.1:PORT"),
        (r"\d+(\.\d+)? ms", "N ms"),
    ]
}

/// The seed scenario's report, as a person reads it.
#[tokio::test]
async fn seed_report_snapshot() {
    let s = Scenario::seed().expect("seed");
    let (report, lab) = run(&s, &LabOptions::default()).await.expect("lab runs");
    lab.shutdown().await;
    insta::with_settings!({ filters => stable_filters() }, {
        insta::assert_snapshot!("seed_report", report.to_text());
    });
}

/// `--keep-running`'s lines for the seed's last step: what a person types to reproduce each
/// request by hand (the test of the CLI runs them against the live lab).
#[tokio::test]
async fn keep_running_lines_snapshot() {
    let s = Scenario::seed().expect("seed");
    let (report, lab) = run(&s, &LabOptions::default()).await.expect("lab runs");
    let step = report.steps.last().expect("a step");
    let text = parallax_lab::reproduce::instructions(
        std::path::Path::new("/tmp/parallax-lab-PID"),
        step,
        &lab,
    );
    lab.shutdown().await;
    insta::with_settings!({ filters => stable_filters() }, {
        insta::assert_snapshot!("keep_running_lines", text);
    });
}

/// In the shared-DNS scenarios the 403's diagnosis names what sent the spoke's name to the hub's
/// endpoint: the shared private zone, or the Route 53 Profile that carries the endpoint.
#[tokio::test]
async fn shared_dns_diagnoses_name_the_zone_or_the_profile() {
    for (file, step, answered, cause) in [
        (
            "hub-and-spoke.yaml",
            "shared-wildcard",
            "private hosted zone execute-api.us-east-1.amazonaws.com",
            "the private hosted zone execute-api.us-east-1.amazonaws.com (associated with vpc-0ddd3333eeee4444f; its record sends the name to interface endpoint vpce-0123456789abcdef0 in vpc-0aaa1111bbbb2222c)",
        ),
        (
            "route53-profile.yaml",
            "endpoint-in-profile",
            "private DNS of interface endpoint vpce-0123456789abcdef0, shared by Route 53 Profile rp-4b5c6d7e8f9a0b1c2",
            "the Route 53 Profile rp-4b5c6d7e8f9a0b1c2 (associated with vpc-0ddd3333eeee4444f, carrying the private DNS of interface endpoint vpce-0123456789abcdef0 in vpc-0aaa1111bbbb2222c)",
        ),
        (
            "onprem-hybrid.yaml",
            "whole-domain-forwarded",
            "forwarded to Resolver inbound endpoint rslvr-in-0a1b2c3d4e5f60718, answered there by private DNS of interface endpoint vpce-0123456789abcdef0",
            "the DNS of on-prem network datacenter, which forwards the name to Resolver inbound endpoint rslvr-in-0a1b2c3d4e5f60718 in vpc-0a1b2c3d4e5f60718, where interface endpoint vpce-0123456789abcdef0 (private DNS on)",
        ),
    ] {
        let s = Scenario::from_path(&scenarios_dir().join(file)).unwrap_or_else(|e| panic!("{e}"));
        let (report, lab) = run(&s, &LabOptions::default()).await.expect("lab runs");
        lab.shutdown().await;
        let r = report
            .requests()
            .find(|r| {
                r.step == step
                    && r.host.starts_with("a1b2c3d4e5.")
                    && (r.from == "spoke-task" || r.from == "office")
            })
            .unwrap_or_else(|| panic!("{file}: the spoke's call to the public API"));
        assert_eq!(r.answered_by, answered, "{file}");
        assert_eq!(
            r.diagnosis.rule.as_str(),
            "endpoint-private-dns",
            "{file}: {}",
            r.diagnosis.cause
        );
        assert!(
            r.diagnosis.cause.starts_with(cause),
            "{file}: {}",
            r.diagnosis.cause
        );
    }
}

/// `--control`: a running lab moves between steps on `POST /step/NAME`, its resolver and gateway
/// both (the seed's task gets 200, then the endpoint's 403, then 200 again); an unknown step is
/// a 404 that lists the steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_moves_a_running_lab_between_steps() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Scenario::seed().expect("seed");
    let (_, lab) = run(
        &s,
        &LabOptions {
            until_step: Some("before".to_owned()),
        },
    )
    .await
    .expect("lab runs");
    let lab = std::sync::Arc::new(tokio::sync::Mutex::new(lab));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(parallax_lab::control::serve(
        listener,
        std::sync::Arc::new(s.clone()),
        lab.clone(),
        stopped,
    ));
    let call_with = |method: &'static str, path: String, headers: String| async move {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(
            format!("{method} {path} HTTP/1.1\r\n{headers}Content-Length: 0\r\n\r\n").as_bytes(),
        )
        .await
        .expect("send");
        let mut out = String::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            tcp.read_to_string(&mut out),
        )
        .await
        .expect("in time")
        .expect("read");
        out
    };
    let call =
        |method: &'static str, path: String| call_with(method, path, format!("Host: {addr}\r\n"));
    // What the seed's task gets now, through the running servers.
    let status = || async {
        let lab = lab.lock().await;
        let mut opts = parallax_probe::options::ProbeOptions::new(
            parallax_probe::url::ProbeUrl::parse(
                "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/test",
            )
            .expect("url"),
        );
        opts.dns_servers = vec![lab.resolver.addr_of("vpc-0a1b2c3d4e5f60718").expect("view")];
        opts.connect_to = lab.connect_map.clone();
        opts.only_connect_to = true;
        opts.ca = Some(lab.server_ca.clone().into());
        opts.haproxy = Some(None);
        opts.confirm = false;
        parallax_probe::probe(&opts, None, None)
            .await
            .observation
            .outcome
            .http
            .map(|h| h.status)
    };
    assert_eq!(status().await, Some(200));
    // Issue 26: what a web page in a browser on this machine could send (DNS rebinding: a
    // foreign Host; a form's POST: a foreign Origin) moves nothing.
    for headers in [
        "Host: attacker.example:80\r\n".to_owned(),
        format!("Host: {addr}\r\nOrigin: http://attacker.example\r\n"),
        format!("Host: {addr}\r\nOrigin: null\r\n"),
        String::new(),
    ] {
        let refused = call_with("POST", "/step/endpoint-added".to_owned(), headers.clone()).await;
        assert!(
            refused.starts_with("HTTP/1.1 403"),
            "{headers:?}: {refused}"
        );
    }
    assert_eq!(status().await, Some(200), "the lab did not move");
    let same_origin = call_with(
        "GET",
        "/step".to_owned(),
        format!(
            "Host: localhost:{}\r\nOrigin: http://{addr}\r\n",
            addr.port()
        ),
    )
    .await;
    assert!(same_origin.starts_with("HTTP/1.1 200"), "{same_origin}");
    let moved = call("POST", "/step/endpoint-added".to_owned()).await;
    assert!(moved.starts_with("HTTP/1.1 200"), "{moved}");
    assert!(moved.contains("\"step\":\"endpoint-added\""), "{moved}");
    assert_eq!(status().await, Some(403));
    let where_ = call("GET", "/step".to_owned()).await;
    assert!(where_.contains("\"index\":1"), "{where_}");
    assert!(
        call("POST", "/step/rolled-back".to_owned())
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert_eq!(status().await, Some(200));
    let unknown = call("POST", "/step/nope".to_owned()).await;
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    assert!(unknown.contains("endpoint-added"), "{unknown}");
    let _ = stop.send(true);
    let _ = server.await;
    let lab = std::sync::Arc::try_unwrap(lab).expect("no one holds the lab");
    lab.into_inner().shutdown().await;
}
