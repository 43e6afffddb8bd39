//! Integration tests of the `parallax` binary: the real executable, real sockets on loopback.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use parallax_testkit::text::assert_no_debug_text;

mod account;
mod curl_parity;
mod deploy;
mod html;
mod messages;
mod readme;

fn parallax() -> Command {
    Command::new(cargo_bin("parallax"))
}

fn output_within(child: std::process::Child, limit: Duration, what: &str) -> std::process::Output {
    parallax_testkit::process::output_within(child, limit, what)
}

/// A scratch file that is removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str, text: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("parallax-it-{}-{name}", std::process::id()));
        std::fs::write(&path, text).expect("temp file");
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn resolver_prints_its_sockets_and_stops_on_sigterm() {
    let mut child = parallax()
        .args([
            "resolver",
            "--step",
            "endpoint-added",
            "--listen",
            "vpc-0a1b2c3d4e5f60718=127.0.0.1:0",
            "--listen",
            "internet=127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stdout = child.stdout.take().expect("stdout");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .take(4)
        .map(|l| l.expect("line"))
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(
        lines[0].starts_with("listening on udp 127.0.0.1:")
            && lines[0].ends_with(" view vpc-0a1b2c3d4e5f60718"),
        "{lines:?}"
    );
    assert!(
        lines[3].starts_with("listening on tcp 127.0.0.1:") && lines[3].ends_with(" view internet"),
        "{lines:?}"
    );

    // The advertised port answers, with the VPC view's shadowed answer.
    let port = lines[0]
        .split(':')
        .nth(1)
        .and_then(|p| p.split(' ').next())
        .expect("port");
    if let Some(dig) =
        parallax_testkit::interop::require("dig", "the Debian package bind9-dnsutils")
    {
        let out = Command::new(dig)
            .args([
                "@127.0.0.1",
                "-p",
                port,
                "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
                "+short",
                "+time=2",
                "+tries=1",
            ])
            .output()
            .expect("dig runs");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "10.0.1.17\n10.0.2.17\n"
        );
    }

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs")
            .success()
    );
    let status = output_within(child, Duration::from_secs(10), "the resolver on SIGTERM").status;
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}

#[test]
fn bad_flags_and_files_are_named() {
    let out = parallax()
        .args(["resolver", "--listen", "internet:53"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`internet:53` is not VIEW=ADDR:PORT"));

    // watch: a configuration's problems are named with file:line:column, all at once.
    let dir = std::env::temp_dir().join(format!("parallax-cli-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = dir.join("watch.yaml");
    std::fs::write(
        &cfg,
        "interval: soon\ntargets:\n  - name: orders\n    url: https://example.invalid/\n    args: [--max-time, \"-1\"]\n",
    )
    .expect("write");
    let out = parallax()
        .args(["watch", "--config"])
        .arg(&cfg)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("watch.yaml:1:11: interval: `soon` is not a duration"),
        "{err}"
    );
    assert!(err.contains("watch.yaml:5:12: targets[0].args:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    let out = parallax().args(["watch"]).output().expect("runs");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("give --config FILE, or a URL to watch with the probe's flags")
    );

    // --vpc names a VPC of the topology; the probe is refused before it sends anything.
    let out = parallax()
        .args([
            "probe",
            "--topology",
            "../../scenarios/route53-profile.yaml",
            "--vpc",
            "vpc-0bad0bad0bad0bad0",
            "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/test",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--vpc vpc-0bad0bad0bad0bad0: the topology has no such VPC (known: vpc-0aaa1111bbbb2222c, vpc-0ddd3333eeee4444f)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = parallax()
        .args(["resolver", "--listen", "vpc-nope=127.0.0.1:0"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no view named `vpc-nope` (views: internet, vpc-0a1b2c3d4e5f60718)")
    );

    let bad = Scratch::new(
        "bad.yaml",
        &parallax_model::scenario::SEED_INCIDENT.replacen(
            "cidr: 10.0.0.0/16",
            "cidr: 10.0.0.0/16\n      cidr_block: 10.0.0.0/16",
            1,
        ),
    );
    let out = parallax().arg("check").arg(&bad.0).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:21:7: cidr_block: unknown field `cidr_block`",
            bad.0.display()
        )),
        "{err}"
    );
}

#[test]
fn lab_runs_the_seed_and_fails_on_a_wrong_expectation() {
    let out = parallax().arg("lab").output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("answered by private DNS of interface endpoint vpce-0123456789abcdef0"));

    let out = parallax().args(["lab", "--json"]).output().expect("runs");
    assert!(out.status.success());
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(records.len(), 9);

    let wrong = Scratch::new(
        "wrong.yaml",
        &parallax_model::scenario::SEED_INCIDENT.replacen(
            "expect: { dns: private,",
            "expect: { dns: nxdomain,",
            1,
        ),
    );
    let out = parallax().arg("lab").arg(&wrong.0).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("DIFF   dns: expected nxdomain, got private (10.0.1.17, 10.0.2.17)")
    );
}

#[test]
fn probe_exit_codes_json_and_diff() {
    // Everything is pinned to a closed loopback port: no traffic leaves the machine.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let run = |answer: &str, name: &str| {
        let out = parallax()
            .args([
                "probe",
                "https://svc.example.com/x",
                "--format",
                "json",
                "--max-time",
                "5",
            ])
            .args(["--resolve", &format!("svc.example.com:443:{answer}")])
            // The resolved address is mapped (parallax's rule form), so --resolve still counts:
            // a rule on the URL's host would skip DNS altogether, as curl does.
            .args([
                "--connect-to",
                &format!("{answer}:443:127.0.0.1:{}", closed.port()),
            ])
            .args(["-H", "Authorization: Bearer hunter2"])
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(12),
            "connect failure: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            !text.contains("hunter2"),
            "the Authorization value is redacted"
        );
        Scratch::new(name, &text)
    };
    let a = run("10.0.0.5", "a.json");
    let b = run("52.94.133.10", "b.json");
    let out = parallax()
        .args(["probe", "diff"])
        .arg(&a.0)
        .arg(&b.0)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with(
            "DNS: A resolved svc.example.com to 10.0.0.5 (private), B to 52.94.133.10 (public)"
        ),
        "{said}"
    );
    let same = parallax()
        .args(["probe", "diff"])
        .arg(&a.0)
        .arg(&a.0)
        .output()
        .expect("runs");
    assert_eq!(same.status.code(), Some(0));
    let usage = parallax()
        .args(["probe", "--resolve", "bad"])
        .output()
        .expect("runs");
    assert_eq!(
        usage.status.code(),
        Some(2),
        "a missing URL is a usage error"
    );
}

/// `lab --keep-running`: the printed dig and curl lines reproduce the outcomes by hand, and the
/// files with keys are gone after the lab stops.
#[test]
fn lab_keep_running_lines_reproduce_the_outcomes() {
    let (Some(_curl), Some(_dig)) = (
        parallax_testkit::interop::require("curl", "the Debian package curl"),
        parallax_testkit::interop::require("dig", "the Debian package bind9-dnsutils"),
    ) else {
        return;
    };
    let mut child = parallax()
        .args(["lab", "--step", "endpoint-added", "--keep-running"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let done = line.starts_with("stop with Ctrl-C");
        lines.push(line);
        if done {
            break;
        }
    }
    let dir = lines
        .iter()
        .find_map(|l| l.split("files in ").nth(1))
        .expect("the files line")
        .to_owned();
    assert!(
        !lines.iter().any(|l| l.contains("labkeyecsapp")),
        "the API key value is not printed"
    );
    let run = |cmd: &str| {
        String::from_utf8_lossy(
            &Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .output()
                .expect("sh")
                .stdout,
        )
        .into_owned()
    };
    let curls: Vec<String> = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("curl "))
        .map(|l| format!("{} -o /dev/null -w '%{{http_code}}'", l.trim()))
        .collect();
    let codes: Vec<String> = curls.iter().map(|c| run(c)).collect();
    assert_eq!(
        codes,
        ["403", "200", "403", "200"],
        "ecs-task shadowed, laptop fine, ecs-task proxy shadowed, custom domain with mTLS"
    );
    let digs: Vec<String> = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("dig @"))
        .map(|l| run(l.trim()))
        .collect();
    assert_eq!(digs[0], "10.0.1.17\n10.0.2.17\n");
    assert_eq!(digs[1], "52.94.133.10\n52.94.133.11\n");

    // The watch.yaml it wrote watches the running lab as is: each target's first answer is the
    // request's own outcome.
    assert!(
        lines.iter().any(|l| l.contains("job_name: parallax-lab")),
        "the scrape configuration is printed"
    );
    let mut watch = parallax()
        .args(["watch", "--listen", "127.0.0.1:0", "--config"])
        .arg(format!("{dir}/watch.yaml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch spawns");
    let events = BufReader::new(watch.stdout.take().expect("stdout"));
    let mut first: Vec<(String, String)> = events
        .lines()
        .take(4)
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(&l.expect("line")).expect("JSON");
            (
                e["target"].as_str().unwrap_or("").to_owned(),
                e["after"]["diagnosis"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    first.sort();
    let _ = watch.kill();
    let _ = watch.wait();
    let diagnoses: Vec<&str> = first.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(
        diagnoses
            .iter()
            .filter(|d| **d == "endpoint-private-dns")
            .count(),
        2,
        "the ECS task's two requests are shadowed: {first:?}"
    );
    assert_eq!(
        diagnoses.iter().filter(|d| **d == "ok").count(),
        2,
        "the laptop and the custom domain are fine: {first:?}"
    );

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    output_within(child, Duration::from_secs(10), "the lab on SIGTERM");
    assert!(
        !std::path::Path::new(&dir).exists(),
        "{dir} (keys) is removed on exit"
    );
}

#[test]
fn analyze_formats_fail_on_and_matrix() {
    let fixtures =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../analyze/tests/fixtures");
    let out = parallax()
        .arg("analyze")
        .arg(fixtures.join("incident.yaml"))
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error finding fails by default"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("incident.yaml:11: error PX001"));
    let out = parallax()
        .arg("analyze")
        .arg(fixtures.join("incident-off.yaml"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let out = parallax()
        .args(["analyze", "--format", "sarif", "--fail-on", "never"])
        .arg(fixtures.join("incident.tfplan.json"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "PX001");
    let out = parallax()
        .args(["analyze", "--format", "json", "--fail-on", "never"])
        .arg(fixtures.join("malformed.yaml"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "an unreadable input is exit 2");
    let matrix = parallax()
        .args([
            "analyze",
            "--matrix",
            "../../scenarios/seed-incident.yaml",
            "--step",
            "endpoint-added",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&matrix.stdout);
    assert!(
        text.contains("door vpce-0123456789abcdef0") && text.contains("403 ForbiddenException"),
        "{text}"
    );
}

/// `parallax changes`: turning the endpoint's private DNS on (the incident's change, in a
/// CloudFormation template) introduces PX001 and flips the VPC's call to 403 (exit 1); turning
/// it off again breaks nothing (exit 0); an input that cannot be read is exit 2.
#[test]
fn changes_exit_on_what_breaks() {
    let fixtures =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../analyze/tests/fixtures");
    let (off, on) = (
        fixtures.join("incident-off.yaml"),
        fixtures.join("incident.yaml"),
    );
    let out = run_bounded(parallax().arg("changes").arg(&off).arg(&on));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("private DNS off → on"), "{text}");
    assert!(text.contains("error PX001"), "{text}");
    assert!(text.contains("200 → 403 ForbiddenException"), "{text}");

    let out = run_bounded(
        parallax()
            .args(["changes", "--format", "json"])
            .arg(&on)
            .arg(&off),
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["schema"], "parallax.changes/v1");
    assert_eq!(v["changes"][0]["change"], "endpoint_private_dns");
    assert_eq!(v["resolved"][0]["rule"], "PX001");
    assert_eq!(v["flips"][0]["after"]["status"], 200);

    let out = run_bounded(
        parallax()
            .arg("changes")
            .arg(&off)
            .arg(fixtures.join("no-such-file.yaml")),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-file.yaml"));
}

/// Runs `parallax` with a time bound (an input that hangs the process fails the test).
fn run_bounded(cmd: &mut Command) -> std::process::Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    output_within(child, Duration::from_secs(30), "parallax")
}

/// Issue 10: an AWS CLI folder whose outputs are a symlink loop, a dangling symlink, a
/// directory and a FIFO names each of them and exits 2, without hanging; so do a device, an
/// empty folder and a file over the size cap.
#[test]
fn analyze_names_every_input_it_cannot_read() {
    let dir = std::env::temp_dir().join(format!("parallax-it-{}-cli-inputs", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let link = |from: &str, to: &str| std::os::unix::fs::symlink(to, dir.join(from)).expect("link");
    link("describe-vpcs.json", "loop-b.json");
    link("loop-b.json", "describe-vpcs.json");
    link("describe-vpc-endpoints.json", "missing.json");
    std::fs::create_dir(dir.join("get-rest-apis.json")).expect("a directory");
    let fifo = Command::new("mkfifo")
        .arg(dir.join("get-domain-names.json"))
        .status()
        .expect("mkfifo");
    assert!(fifo.success());
    let out = run_bounded(parallax().args(["analyze", "--fail-on", "never"]).arg(&dir));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    for name in [
        "describe-vpcs.json",
        "describe-vpc-endpoints.json",
        "get-rest-apis.json",
        "get-domain-names.json",
    ] {
        assert!(text.contains(name), "{name} is not named:\n{text}");
    }
    assert!(
        text.contains("a FIFO") && text.contains("a directory"),
        "{text}"
    );

    let empty = dir.join("empty");
    std::fs::create_dir(&empty).expect("empty dir");
    let out = run_bounded(
        parallax()
            .args(["analyze", "--fail-on", "never"])
            .arg(&empty),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "an empty folder is not a clean pass"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("no AWS CLI output"));

    let out = run_bounded(parallax().args(["analyze", "--fail-on", "never", "/dev/zero"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not a regular file (it is a device)"));

    let fixtures =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../analyze/tests/fixtures");
    let out = run_bounded(
        parallax()
            .args(["analyze", "--fail-on", "never", "--max-input-size", "100"])
            .arg(fixtures.join("incident.yaml")),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("larger than 100 bytes"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--help` of every command, pinned: the flags are the interface people script against.
#[test]
fn help_of_every_command() {
    for (name, args) in [
        ("help", vec!["--help"]),
        ("help_resolver", vec!["resolver", "--help"]),
        ("help_lab", vec!["lab", "--help"]),
        ("help_gateway", vec!["gateway", "--help"]),
        ("help_probe", vec!["probe", "--help"]),
        ("help_probe_diff", vec!["probe", "diff", "--help"]),
        ("help_analyze", vec!["analyze", "--help"]),
        ("help_check", vec!["check", "--help"]),
        ("help_changes", vec!["changes", "--help"]),
        ("help_collect", vec!["collect", "--help"]),
    ] {
        let out = parallax().args(&args).output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        assert_no_debug_text(name, &String::from_utf8_lossy(&out.stdout));
        insta::assert_snapshot!(name, String::from_utf8_lossy(&out.stdout));
    }
}

/// The incident template's findings in the three formats, pinned.
#[test]
fn analyze_outputs_of_the_incident() {
    let fixtures =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../analyze/tests/fixtures");
    for (name, format) in [
        ("analyze_incident_text", "text"),
        ("analyze_incident_json", "json"),
        ("analyze_incident_sarif", "sarif"),
    ] {
        let out = parallax()
            .args(["analyze", "--fail-on", "never", "--format", format])
            .arg(fixtures.join("incident.yaml"))
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{format}");
        assert_no_debug_text(name, &String::from_utf8_lossy(&out.stdout));
        let ours = format!(r#""version": "{}""#, env!("CARGO_PKG_VERSION")).replace('.', r"\.");
        // The fingerprint hashes the path as given, which differs between checkouts.
        let filters = vec![
            (r#"[^\s"]*/tests/fixtures/"#, "FIXTURES/"),
            (ours.as_str(), r#""version": "OURS""#),
            (
                r#""parallaxFinding/v1": "[0-9a-z]{16}""#,
                r#""parallaxFinding/v1": "FP""#,
            ),
        ];
        insta::with_settings!({ filters => filters }, {
            insta::assert_snapshot!(name, String::from_utf8_lossy(&out.stdout));
        });
    }
}

#[test]
fn analyze_points_a_plans_findings_at_its_tf_blocks_or_at_the_address() {
    let corpus =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../analyze/tests/corpus");
    let tf = corpus.join("tf-incident");
    // The plan alone, away from its .tf files.
    let alone = Scratch::new(
        "alone-plan.json",
        &std::fs::read_to_string(tf.join("plan.json")).expect("the corpus plan"),
    );
    let run = |args: &[&std::ffi::OsStr]| {
        let out = parallax().arg("analyze").args(args).output().expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = run(&[alone.0.as_os_str()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("alone-plan.json (aws_vpc_endpoint.api_endpoint): error PX001"),
        "{text}"
    );
    let (code, text) = run(&["--tf-dir".as_ref(), tf.as_os_str(), alone.0.as_os_str()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("tf-incident/main.tf:12: error PX001"),
        "{text}"
    );
    // In SARIF, without the .tf files: a logical location only, never plan.json:1.
    let (_, sarif) = run(&["--format".as_ref(), "sarif".as_ref(), alone.0.as_os_str()]);
    let log: serde_json::Value = serde_json::from_str(&sarif).expect("SARIF is JSON");
    let loc = &log["runs"][0]["results"][0]["locations"][0];
    assert!(loc.get("physicalLocation").is_none(), "{loc}");
    assert_eq!(
        loc["logicalLocations"][0]["name"],
        "aws_vpc_endpoint.api_endpoint"
    );
    // A --tf-dir without resource blocks is said, and the exit is 2.
    let empty = std::env::temp_dir().join(format!("parallax-it-{}-empty-tf", std::process::id()));
    std::fs::create_dir_all(&empty).expect("mkdir");
    std::fs::write(empty.join("versions.tf"), "terraform {}\n").expect("write");
    let (code, text) = run(&["--tf-dir".as_ref(), empty.as_os_str(), alone.0.as_os_str()]);
    let _ = std::fs::remove_dir_all(&empty);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("holds no resource blocks"), "{text}");
}

/// A plain HTTP server on loopback answering every request with `response`, for `count`
/// connections, in a thread.
fn http_once(response: &'static [u8], count: usize) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in l.incoming().take(count) {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut byte = [0u8; 1];
            while !buf.ends_with(b"\r\n\r\n") && buf.len() < 65536 {
                match s.read(&mut byte) {
                    Ok(1) => buf.push(byte[0]),
                    _ => break,
                }
            }
            let _ = s.write_all(response);
        }
    });
    addr
}

#[test]
fn probe_scripting_flags_write_where_curl_writes() {
    let addr = http_once(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n",
        4,
    );
    let url = format!("http://api.test:{}/x", addr.port());
    let pin = format!("api.test:{}:127.0.0.1", addr.port());
    // -s: the body and -w on standard output, nothing else; -v on standard error.
    let child = parallax()
        .args([
            "probe",
            "-s",
            "-v",
            "--resolve",
            &pin,
            "-w",
            "%{http_code} %{remote_ip}\\n",
            &url,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let out = output_within(child, Duration::from_secs(20), "probe -s -v");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello\n200 127.0.0.1\n"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("*   Trying 127.0.0.1:"), "{err}");
    assert!(
        err.contains("> GET /x HTTP/1.1") && err.contains("< HTTP/1.1 200"),
        "{err}"
    );
    assert_no_debug_text("probe -v", &err);
    // -o FILE: the whole body in the file, the report on standard output.
    let file = std::env::temp_dir().join(format!("parallax-it-{}-body", std::process::id()));
    let child = parallax()
        .args(["probe", "--resolve", &pin, "-o"])
        .arg(&file)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let out = output_within(child, Duration::from_secs(20), "probe -o");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read(&file).expect("the body"), b"hello\n");
    let _ = std::fs::remove_file(&file);
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK (ok)"));
    // -s -S on a failure: curl's code and a reason on standard error, nothing on stdout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let child = parallax()
        .args([
            "probe",
            "-s",
            "-S",
            &format!("http://127.0.0.1:{}/", closed.port()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let out = output_within(child, Duration::from_secs(20), "probe -s -S");
    // With -s the probe exits as curl does: 7, could not connect.
    assert_eq!(out.status.code(), Some(7));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("parallax: (7) Failed to connect to 127.0.0.1 port"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // --expect on a mismatch: never OK, and both statuses said.
    let child = parallax()
        .args(["probe", "--resolve", &pin, "--expect", "201", &url])
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    let out = output_within(child, Duration::from_secs(20), "probe --expect");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(14), "{text}");
    assert!(!text.contains("\nOK"), "{text}");
    assert!(text.contains("expected status 201, got 200"), "{text}");
    // --ip-ranges names the owner of each answer (a file of AWS's shape, written here).
    let ranges = Scratch::new(
        "ip-ranges.json",
        r#"{"syncToken":"1","createDate":"2026-11-01-00-00-00","prefixes":[{"ip_prefix":"127.0.0.0/8","region":"us-east-1","service":"AMAZON","network_border_group":"us-east-1"}],"ipv6_prefixes":[]}"#,
    );
    let addr2 = http_once(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 1);
    let child = parallax()
        .args(["probe", "--ip-ranges"])
        .arg(&ranges.0)
        .args(["--resolve", &format!("api.test:{}:127.0.0.1", addr2.port())])
        .arg(format!("http://api.test:{}/", addr2.port()))
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    let out = output_within(child, Duration::from_secs(20), "probe --ip-ranges");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[127.0.0.1 AWS us-east-1 AMAZON]"), "{text}");
}

/// `parallax gateway` reloads on SIGHUP: new requests get the new configuration, usage-plan
/// counters carry on (a quota of 3 is not refilled by a reload), a file that does not load keeps
/// the running configuration and names its line, and `/metrics` counts both reloads.
/// A `parallax gateway` process on a topology file, its regional door and admin listener.
struct GatewayProcess {
    child: std::process::Child,
    /// Kept open: a closed pipe would make the gateway's next line fail.
    _stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
    /// Standard error, read as it comes (the access log goes there: a pipe nobody reads fills
    /// at 64 KiB and then holds the gateway's writes up).
    stderr: std::thread::JoinHandle<String>,
    door: std::net::SocketAddr,
    admin: Option<std::net::SocketAddr>,
    ca: Vec<rustls_pki_types::CertificateDer<'static>>,
    rt: tokio::runtime::Runtime,
}

impl GatewayProcess {
    /// Starts it with `--tls-dir DIR/tls` and `extra` flags; reads its addresses from stdout.
    fn start(file: &std::path::Path, dir: &std::path::Path, extra: &[&str]) -> GatewayProcess {
        GatewayProcess::start_with(&["--topology".as_ref(), file.as_os_str()], dir, extra)
    }

    /// As [`GatewayProcess::start`], with `source` for what it serves (`--openapi FILE`, ...).
    fn start_with(
        source: &[&std::ffi::OsStr],
        dir: &std::path::Path,
        extra: &[&str],
    ) -> GatewayProcess {
        let mut child = parallax()
            .arg("gateway")
            .args(source)
            .arg("--tls-dir")
            .arg(dir.join("tls"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gateway starts");
        let mut err_pipe = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            use std::io::Read as _;
            let mut text = String::new();
            let _ = err_pipe.read_to_string(&mut text);
            text
        });
        let wants_admin = extra.contains(&"--admin");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut door, mut admin) = (None, None);
        while door.is_none() || (wants_admin && admin.is_none()) {
            let line = lines.next().expect("a line").expect("utf-8");
            if let Some(rest) = line.strip_prefix("listening on https ")
                && rest.ends_with(" door regional")
            {
                door = rest.split(' ').next().and_then(|a| a.parse().ok());
            }
            if let Some(rest) = line.strip_prefix("admin on http://") {
                admin = rest.strip_suffix("/metrics").and_then(|a| a.parse().ok());
            }
        }
        let ca = {
            use rustls_pki_types::pem::PemObject as _;
            vec![
                rustls_pki_types::CertificateDer::from_pem_file(dir.join("tls/server-ca.pem"))
                    .expect("the server CA"),
            ]
        };
        GatewayProcess {
            child,
            _stdout: lines,
            stderr,
            door: door.expect("door"),
            admin,
            ca,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
        }
    }

    /// `method` `path` on `host`: status, headers and body.
    fn request(&self, method: &str, host: &str, path: &str) -> parallax_testkit::https::Reply {
        let mut c = parallax_testkit::https::Call::get(self.door, host, path, self.ca.clone());
        c.method = method;
        self.rt
            .block_on(parallax_testkit::https::call(&c))
            .expect("the call completes")
    }

    /// GET /prod/test on the seed's REGIONAL API name, with an API key when given.
    fn call(&self, key: Option<&str>) -> (u16, String) {
        let mut c = parallax_testkit::https::Call::get(
            self.door,
            "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "/prod/test",
            self.ca.clone(),
        );
        if let Some(k) = key {
            c = c.header("x-api-key", k.to_owned());
        }
        let r = self
            .rt
            .block_on(parallax_testkit::https::call(&c))
            .expect("the call completes");
        (r.status, r.body)
    }

    fn metrics(&self) -> String {
        let admin = self.admin.expect("--admin");
        self.rt
            .block_on(parallax_testkit::http::get(admin, "/metrics", ""))
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "SIG{name} sent");
    }

    /// Stops it (SIGTERM) and gives its standard error.
    fn stop(mut self) -> String {
        self.signal("TERM");
        let _ = self.child.wait().expect("gateway ends");
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        stderr.join().expect("the stderr reader")
    }
}

impl Drop for GatewayProcess {
    /// A test that fails half-way leaves no gateway running behind it.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bare topology: one REGIONAL API whose GET /test answers `body`; with `keyed`, behind an API
/// key in a plan with a quota of 3 a day.
fn reload_topology(body: &str, keyed: bool) -> String {
    let plan = if keyed {
        "usage_plans:\n  - id: trial\n    quota: { limit: 3, period: DAY }\n    stages: [{ api: a1b2c3d4e5, stage: prod }]\n    keys: [{ id: app, value: appkey0123456789abcdefgh }]\n"
    } else {
        ""
    };
    format!(
        "region: us-east-1\nfront_doors: {{ regional: [52.94.133.10] }}\napis:\n  - id: a1b2c3d4e5\n    name: orders\n    endpoint_type: REGIONAL\n    stages: [prod]\n    routes:\n      - {{ method: GET, path: /test, api_key_required: {keyed}, integration: {{ type: MOCK, body: {body} }} }}\n{plan}"
    )
}

/// `--watch-config`: a change of the file is a reload, with no signal.
#[test]
fn the_gateway_reloads_when_its_file_changes() {
    let dir = std::env::temp_dir().join(format!("parallax-cli-watchcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("topology.yaml");
    std::fs::write(&file, reload_topology("one", false)).expect("write");
    let gw = GatewayProcess::start(&file, &dir, &["--watch-config"]);
    assert_eq!(gw.call(None).1, "one");
    std::fs::write(&file, reload_topology("two", false)).expect("write");
    // The file is looked at every second: bounded, about three looks.
    let mut got = String::new();
    for _ in 0..80 {
        got = gw.call(None).1;
        if got == "two" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = gw.stop();
    assert_eq!(got, "two", "the gateway said: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `parallax gateway` reloads on SIGHUP: new requests get the new configuration, usage-plan
/// counters carry on (a quota of 3 is not refilled by a reload), a file that does not load keeps
/// the running configuration and names its line, and `/metrics` counts both reloads.
#[test]
fn the_gateway_reloads_on_sighup_and_keeps_its_counters() {
    let dir = std::env::temp_dir().join(format!("parallax-cli-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("topology.yaml");
    std::fs::write(&file, reload_topology("one", true)).expect("write");
    let gw = GatewayProcess::start(&file, &dir, &["--admin", "127.0.0.1:0"]);
    let key = Some("appkey0123456789abcdefgh");
    // Waits (bounded) until /metrics shows `want`: the reload runs after the signal arrives.
    let until = |want: &str| {
        for _ in 0..200 {
            if gw.metrics().contains(want) {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("{want} never showed in /metrics");
    };
    assert_eq!(gw.call(key), (200, "one".to_owned()));
    assert_eq!(gw.call(key), (200, "one".to_owned()));
    std::fs::write(&file, reload_topology("two", true)).expect("write");
    gw.signal("HUP");
    until("parallax_gateway_reloads_total{result=\"ok\"} 1");
    // The third call of the quota, then the fourth refused: the count survived the reload.
    assert_eq!(gw.call(key), (200, "two".to_owned()));
    assert_eq!(gw.call(key).0, 429);
    std::fs::write(&file, "region: us-east-1\napis: [oops\n").expect("write");
    gw.signal("HUP");
    until("parallax_gateway_reloads_total{result=\"refused\"} 1");
    assert_eq!(gw.call(key).0, 429, "still the running configuration");
    // Issue 26: the file becomes a symlink to /dev/zero. The reload refuses it at once (not a
    // regular file) instead of reading without end, the running configuration stays, and
    // SIGTERM is honoured afterwards (`stop` waits for the exit, bounded).
    std::fs::remove_file(&file).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", &file).expect("symlink");
    gw.signal("HUP");
    until("parallax_gateway_reloads_total{result=\"refused\"} 2");
    assert_eq!(gw.call(key).0, 429, "still the running configuration");
    let err = gw.stop();
    assert!(
        err.contains("reload (SIGHUP) refused, the running configuration stays:")
            && err.contains("topology.yaml:2:"),
        "{err}"
    );
    assert!(
        err.contains("topology.yaml: not a regular file (it is a device)"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bare topology for the Redis store: GET /test behind an API key, with two plans on the
/// stage: `daily` (key `quota…`, a quota of `quota` a day) and `burst` (key `burst…`, a bucket
/// of `burst` that refills once in 1000 s, so none refills during a test).
fn shared_plans_topology(quota: u64, burst: u32) -> String {
    format!(
        "region: us-east-1\nfront_doors: {{ regional: [52.94.133.10] }}\napis:\n  - id: a1b2c3d4e5\n    name: orders\n    endpoint_type: REGIONAL\n    stages: [prod]\n    routes:\n      - {{ method: GET, path: /test, api_key_required: true, integration: {{ type: MOCK, body: ok }} }}\nusage_plans:\n  - id: daily\n    quota: {{ limit: {quota}, period: DAY }}\n    stages: [{{ api: a1b2c3d4e5, stage: prod }}]\n    keys: [{{ id: q, value: {QUOTA_KEY} }}]\n  - id: burst\n    throttle: {{ rate: 0.001, burst: {burst} }}\n    stages: [{{ api: a1b2c3d4e5, stage: prod }}]\n    keys: [{{ id: b, value: {BURST_KEY} }}]\n  - id: big\n    quota: {{ limit: 1000000, period: DAY }}\n    throttle: {{ rate: 100000, burst: 100000 }}\n    stages: [{{ api: a1b2c3d4e5, stage: prod }}]\n    keys: [{{ id: g, value: {BIG_KEY} }}]\n"
    )
}

const BIG_KEY: &str = "bigkey0123456789abcdefgh";
const QUOTA_KEY: &str = "quotakey0123456789abcdef";
const BURST_KEY: &str = "burstkey0123456789abcdef";

/// `calls` GETs with `key`, all in flight at once, spread round-robin over `replicas`: the
/// (status, body) of each.
fn concurrently(replicas: &[&GatewayProcess], key: &str, calls: usize) -> Vec<(u16, String)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(calls));
        let tasks: Vec<_> = (0..calls)
            .map(|i| {
                let gw = replicas[i % replicas.len()];
                let (door, ca, key) = (gw.door, gw.ca.clone(), key.to_owned());
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    let c = parallax_testkit::https::Call::get(
                        door,
                        "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
                        "/prod/test",
                        ca,
                    )
                    .header("x-api-key", key);
                    barrier.wait().await;
                    let r = parallax_testkit::https::call(&c)
                        .await
                        .expect("the call completes");
                    (r.status, r.body)
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    })
}

fn count(replies: &[(u16, String)], status: u16, body: &str) -> usize {
    replies
        .iter()
        .filter(|(s, b)| *s == status && b == body)
        .count()
}

/// Issue 16: three replicas sharing one redis-server. 64 clients spread over them get exactly
/// the quota's number of 200s and the burst's number before the bucket is empty, because in
/// exact mode each decision is one atomic script in Redis; the quota's count expires when its
/// UTC day ends.
#[test]
fn three_replicas_share_one_quota_and_one_bucket_through_redis() {
    let Some(redis) = parallax_testkit::redis::RedisServer::start() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("parallax-cli-redis3-{}", std::process::id()));
    let file = dir.join("topology.yaml");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(&file, shared_plans_topology(50, 20)).expect("write");
    let url = redis.url();
    let flags = [
        "--usage-store",
        url.as_str(),
        "--usage-store-mode",
        "exact",
        "--admin",
        "127.0.0.1:0",
    ];
    let replicas: Vec<GatewayProcess> = (0..3)
        .map(|i| GatewayProcess::start(&file, &dir.join(i.to_string()), &flags))
        .collect();
    let all: Vec<&GatewayProcess> = replicas.iter().collect();

    // The quota: 50 a day; 64 clients make two calls each.
    let mut quota = concurrently(&all, QUOTA_KEY, 64);
    quota.extend(concurrently(&all, QUOTA_KEY, 64));
    assert_eq!(count(&quota, 200, "ok"), 50, "{quota:?}");
    assert_eq!(
        count(&quota, 429, r#"{"message":"Limit Exceeded"}"#),
        78,
        "{quota:?}"
    );
    // The burst: 20 tokens; 64 clients at once.
    let burst = concurrently(&all, BURST_KEY, 64);
    assert_eq!(count(&burst, 200, "ok"), 20, "{burst:?}");
    assert_eq!(
        count(&burst, 429, r#"{"message":"Too Many Requests"}"#),
        44,
        "{burst:?}"
    );

    // Every replica did part of the work, and says so in Prometheus text promtool accepts.
    for gw in &replicas {
        let text = gw.metrics();
        let body = parallax_testkit::http::body(&text);
        assert!(
            body.lines()
                .any(|l| l == "parallax_gateway_usage_store_up 1"),
            "{body}"
        );
        assert!(
            body.contains("parallax_gateway_usage_store_duration_seconds_count"),
            "{body}"
        );
        gw.rt
            .block_on(parallax_testkit::http::assert_promtool_accepts(&text));
    }

    // The window's count expires when the UTC day ends (plus a minute for clocks apart).
    let keys = redis.command(&["KEYS", "parallax:usage:*"]);
    let daily = parallax_gateway::usage_store::key_base("daily", "q");
    let count_key = keys
        .lines()
        .find(|k| k.starts_with(&format!("{daily}:count:")))
        .unwrap_or_else(|| panic!("a count key in {keys}"));
    // The ids are kept beside the digest that names the keys.
    assert_eq!(
        redis.command(&["GET", &format!("{daily}:ids")]),
        r#"{"key":"q","plan":"daily"}"#
    );
    assert_eq!(redis.command(&["GET", count_key]), "50");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let to_midnight = 86_400 - now % 86_400;
    let ttl: u64 = redis.command(&["TTL", count_key]).parse().expect("a TTL");
    assert!(
        ttl <= to_midnight + 60 && ttl + 10 >= to_midnight + 60,
        "TTL {ttl}, the day ends in {to_midnight} s"
    );
    // The bucket expires once it would be full again: 20 tokens at 0.001 a second.
    let pttl: u64 = redis
        .command(&[
            "PTTL",
            &format!(
                "{}:bucket",
                parallax_gateway::usage_store::key_base("burst", "b")
            ),
        ])
        .parse()
        .expect("a PTTL");
    assert!(pttl > 0 && pttl <= 20_000_000 + 1_000, "PTTL {pttl}");
    for gw in replicas {
        gw.stop();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 31: the same three replicas in batched mode (the default). Leases are taken from
/// Redis's counts, so the quota and the bucket are never exceeded; while other replicas hold
/// unspent units a call may be refused early, within the documented bound ((replicas − 1) ×
/// the last lease, here at most 3 units: a lease is at most 1/16 of what remains); once the
/// units have gone back (one second unused) every one of them is spent, so the totals are
/// exact again. A plan with a large allowance is decided with far fewer round trips than
/// requests; a replica that stops gives its lease back.
#[test]
fn three_batched_replicas_stay_within_the_documented_bound() {
    let Some(redis) = parallax_testkit::redis::RedisServer::start() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("parallax-cli-redisb-{}", std::process::id()));
    let file = dir.join("topology.yaml");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(&file, shared_plans_topology(50, 20)).expect("write");
    let url = redis.url();
    let flags = ["--usage-store", url.as_str(), "--admin", "127.0.0.1:0"];
    let replicas: Vec<GatewayProcess> = (0..3)
        .map(|i| GatewayProcess::start(&file, &dir.join(i.to_string()), &flags))
        .collect();
    let all: Vec<&GatewayProcess> = replicas.iter().collect();
    let limited = r#"{"message":"Limit Exceeded"}"#;
    let too_many = r#"{"message":"Too Many Requests"}"#;

    let mut quota = concurrently(&all, QUOTA_KEY, 64);
    quota.extend(concurrently(&all, QUOTA_KEY, 64));
    let first = count(&quota, 200, "ok");
    assert!((47..=50).contains(&first), "{first} of 50: {quota:?}");
    assert_eq!(count(&quota, 429, limited), 128 - first, "{quota:?}");
    let mut burst = concurrently(&all, BURST_KEY, 64);
    let first_burst = count(&burst, 200, "ok");
    assert!(
        (17..=20).contains(&first_burst),
        "{first_burst} of 20: {burst:?}"
    );
    // Unspent units go back within a second of their last use (swept four times a second).
    std::thread::sleep(Duration::from_millis(1600));
    quota.extend(concurrently(&all, QUOTA_KEY, 64));
    burst.extend(concurrently(&all, BURST_KEY, 64));
    assert_eq!(count(&quota, 200, "ok"), 50, "{quota:?}");
    assert_eq!(count(&burst, 200, "ok"), 20, "{burst:?}");
    assert_eq!(count(&burst, 429, too_many), 128 - 20, "{burst:?}");
    let daily = parallax_gateway::usage_store::key_base("daily", "q");
    let keys = redis.command(&["KEYS", &format!("{daily}:count:*")]);
    let count_key = keys.lines().next().expect("a count key");
    assert_eq!(redis.command(&["GET", count_key]), "50");

    // A large allowance: 384 calls, far fewer round trips (a lease takes up to 100).
    let round_trips = |gws: &[GatewayProcess]| -> u64 {
        gws.iter()
            .map(|gw| {
                let text = gw.metrics();
                parallax_testkit::http::body(&text)
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("parallax_gateway_usage_store_duration_seconds_count ")
                    })
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or_else(|| panic!("a round-trip count in {text}"))
            })
            .sum()
    };
    let before = round_trips(&replicas);
    let mut big = Vec::new();
    for _ in 0..6 {
        big.extend(concurrently(&all, BIG_KEY, 64));
    }
    assert_eq!(count(&big, 200, "ok"), 384, "{big:?}");
    let trips = round_trips(&replicas) - before;
    assert!(trips <= 384 / 4, "{trips} round trips for 384 calls");
    let big_key = parallax_gateway::usage_store::key_base("big", "g");
    let keys = redis.command(&["KEYS", &format!("{big_key}:count:*")]);
    let big_count = keys.lines().next().expect("a count key");
    let leased: u64 = redis.command(&["GET", big_count]).parse().expect("count");
    assert!(leased >= 384, "{leased}");
    // Stopped, each replica gives back what it leased and did not spend: Redis then counts
    // exactly the calls made.
    let mut logs = String::new();
    for gw in replicas {
        logs.push_str(&gw.stop());
    }
    assert_eq!(
        redis.command(&["GET", big_count]),
        "384",
        "leased {leased}; logs: {logs}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 16: Redis killed mid-run. `--usage-store-failure open` (the default) lets keyed calls
/// through uncounted, `closed` answers 503, both within the timeout; both say so in the log
/// and the metrics, and count again once Redis is back, without a restart.
#[test]
fn redis_stopped_mid_run_fails_as_configured_and_recovers() {
    let Some(mut redis) = parallax_testkit::redis::RedisServer::start() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("parallax-cli-redisdown-{}", std::process::id()));
    let file = dir.join("topology.yaml");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(&file, shared_plans_topology(1000, 1000)).expect("write");
    let url = redis.url();
    let common = [
        "--usage-store",
        url.as_str(),
        "--usage-store-mode",
        "exact",
        "--usage-store-timeout",
        "0.2",
        "--admin",
        "127.0.0.1:0",
    ];
    let open = GatewayProcess::start(&file, &dir.join("open"), &common);
    let mut closed_flags = common.to_vec();
    closed_flags.extend(["--usage-store-failure", "closed"]);
    let closed = GatewayProcess::start(&file, &dir.join("closed"), &closed_flags);
    let key = Some(QUOTA_KEY);
    assert_eq!(open.call(key), (200, "ok".to_owned()));
    assert_eq!(closed.call(key), (200, "ok".to_owned()));

    // Slow: Redis stopped answering (SIGSTOP) with its connections open. Each side answers as
    // configured once the 0.2 s timeout has passed, not when the client gives up (10 s).
    redis.pause();
    let started = std::time::Instant::now();
    assert_eq!(open.call(key), (200, "ok".to_owned()), "open: through");
    assert_eq!(
        closed.call(key),
        (503, r#"{"message":"Service Unavailable"}"#.to_owned()),
        "closed: refused"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered after {:?}, not within the timeout",
        started.elapsed()
    );
    let m = open.metrics();
    assert!(
        m.contains(
            "parallax_gateway_usage_store_failures_total{reason=\"timeout\",action=\"allowed\"} 1"
        ),
        "{m}"
    );
    redis.resume();
    // Down: killed.
    redis.stop();
    for _ in 0..3 {
        assert_eq!(open.call(key), (200, "ok".to_owned()), "open: through");
        assert_eq!(
            closed.call(key),
            (503, r#"{"message":"Service Unavailable"}"#.to_owned()),
            "closed: refused"
        );
    }
    // A wrong key is still refused: the keys come from the topology, not from Redis.
    assert_eq!(open.call(Some("wrongkey0123456789abcdef")).0, 403);
    let m = open.metrics();
    assert!(
        m.lines().any(|l| l == "parallax_gateway_usage_store_up 0"),
        "{m}"
    );
    assert!(
        m.contains(
            "parallax_gateway_usage_store_failures_total{reason=\"error\",action=\"allowed\"}"
        ) || m.contains(
            "parallax_gateway_usage_store_failures_total{reason=\"timeout\",action=\"allowed\"}"
        ),
        "{m}"
    );
    let m = closed.metrics();
    assert!(
        m.contains("parallax_gateway_usage_plan_refusals_total{door=\"regional\",reason=\"store-unavailable\"} 4"),
        "{m}"
    );

    // Back (empty: it kept nothing): the next decisions are Redis's again, without a restart.
    redis.restart();
    let mut back = false;
    for _ in 0..200 {
        if closed.call(key).0 == 200 {
            back = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(back, "the closed replica serves again once Redis is back");
    // The open replica served all along; it counts again once it has asked Redis (one ask per
    // 0.5 s while down): bounded, until its metrics say so.
    let mut counting = false;
    for _ in 0..200 {
        assert_eq!(open.call(key).0, 200);
        if open
            .metrics()
            .lines()
            .any(|l| l == "parallax_gateway_usage_store_up 1")
        {
            counting = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(counting, "the open replica counts again once Redis is back");
    let keys = redis.command(&[
        "KEYS",
        &format!(
            "{}:count:*",
            parallax_gateway::usage_store::key_base("daily", "q")
        ),
    ]);
    let counted: u64 = redis
        .command(&["GET", keys.lines().next().expect("a count key")])
        .parse()
        .expect("a count");
    assert!(counted >= 1, "counting resumed: {counted}");
    for (name, gw) in [("open", open), ("closed", closed)] {
        let err = gw.stop();
        assert!(
            err.contains("usage store: Redis did not answer")
                && err.contains("usage store: Redis answers again; counting resumed"),
            "{name}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 16: SIGHUP while 16 clients keep calling: every request is answered, by the old
/// configuration or the new one, none fails.
#[test]
fn a_reload_under_load_loses_no_request() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = std::env::temp_dir().join(format!("parallax-cli-reloadload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("topology.yaml");
    std::fs::write(&file, reload_topology("one", false)).expect("write");
    let gw = GatewayProcess::start(&file, &dir, &["--admin", "127.0.0.1:0"]);
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (door, ca, stop) = (gw.door, gw.ca.clone(), stop.clone());
            rt.spawn(async move {
                let mut replies = Vec::new();
                // Bounded: at most 5000 calls each.
                for _ in 0..5000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let c = parallax_testkit::https::Call::get(
                        door,
                        "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
                        "/prod/test",
                        ca.clone(),
                    );
                    replies.push(
                        parallax_testkit::https::call(&c)
                            .await
                            .map(|r| (r.status, r.body)),
                    );
                }
                replies
            })
        })
        .collect();
    for n in 1..=6 {
        let body = if n % 2 == 1 { "two" } else { "one" };
        std::fs::write(&file, reload_topology(body, false)).expect("write");
        gw.signal("HUP");
        let want = format!("parallax_gateway_reloads_total{{result=\"ok\"}} {n}");
        let mut seen = false;
        for _ in 0..400 {
            if gw.metrics().contains(&want) {
                seen = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(seen, "reload {n} happened");
    }
    stop.store(true, Ordering::Relaxed);
    let mut replies = Vec::new();
    for c in clients {
        replies.extend(rt.block_on(c).expect("client"));
    }
    let failed: Vec<_> = replies.iter().filter(|r| r.is_err()).collect();
    assert!(failed.is_empty(), "failed calls: {failed:?}");
    let ok = |body: &str| {
        replies
            .iter()
            .filter(|r| matches!(r, Ok((200, b)) if b == body))
            .count()
    };
    assert_eq!(
        ok("one") + ok("two"),
        replies.len(),
        "every call answered 200"
    );
    assert!(ok("one") > 0 && ok("two") > 0, "both configurations served");
    gw.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 16: `parallax gateway --openapi FILE` serves an API Gateway export: the API id, region
/// and stage from its servers URL, a MOCK's template and static headers, an unknown method's
/// MissingAuthenticationToken; what is not emulated is said on stderr with file:line.
#[test]
fn the_gateway_serves_an_openapi_export() {
    let dir = std::env::temp_dir().join(format!("parallax-cli-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let export = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../model/tests/openapi/petstore-oas30.yaml");
    let gw = GatewayProcess::start_with(&["--openapi".as_ref(), export.as_os_str()], &dir, &[]);
    let host = "p3tst0r3ab.execute-api.us-west-2.amazonaws.com";
    let root = gw.request("GET", host, "/test/");
    assert_eq!(root.status, 200);
    assert_eq!(root.header("content-type"), Some("text/html"));
    assert!(
        root.body.contains("Welcome to your Pet Store API"),
        "{}",
        root.body
    );
    let cors = gw.request("OPTIONS", host, "/test/pets");
    assert_eq!(cors.status, 200);
    assert_eq!(
        cors.header("access-control-allow-methods"),
        Some("POST,GET,OPTIONS")
    );
    assert_eq!(cors.header("access-control-allow-origin"), Some("*"));
    // No DELETE on /pets: API Gateway's answer for a method a REST API does not have.
    let none = gw.request("DELETE", host, "/test/pets");
    assert_eq!(
        (none.status, none.body.as_str()),
        (403, r#"{"message":"Missing Authentication Token"}"#)
    );
    let err = gw.stop();
    assert!(
        err.contains("REGIONAL API p3tst0r3ab `PetStore`, stage test, 5 routes"),
        "{err}"
    );
    assert!(
        err.contains("petstore-oas30.yaml:36: GET /pets: the request parameter mapping"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file that cannot be read is said once, with the OS's reason once (the reason is in the
/// message, not also in the error chain that `{:#}` prints).
#[test]
fn an_unreadable_file_is_named_once() {
    let out = parallax()
        .args(["check", "/nonexistent/parallax-topology.yaml"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(
        err.contains("/nonexistent/parallax-topology.yaml: cannot read"),
        "{err}"
    );
}

/// The gateway's resident memory, from /proc.
fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Issue 26: HTTP/2 clients that open many streams and never open their flow-control windows.
/// Each connection gets the gateway's 128 streams at once (the rest wait on the client's side),
/// its memory stays bounded (a 60 kB MOCK body is shared, and each stream queues at most 8 KiB
/// beyond the window: about 1 MiB a connection, where it was the whole body per stream, 14 MB a
/// connection), another client is served meanwhile, and the memory goes when they close.
#[test]
fn http2_clients_that_never_read_hold_bounded_memory() {
    let dir = std::env::temp_dir().join(format!("parallax-cli-h2window-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("topology.yaml");
    let big = "x".repeat(60_000);
    std::fs::write(&file, reload_topology(&big, false)).expect("write");
    let gw = GatewayProcess::start(&file, &dir, &[]);
    assert_eq!(gw.call(None).0, 200);
    let pid = gw.child.id();
    let before = rss_kb(pid);
    let host = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";
    let held: Vec<_> = gw.rt.block_on(async {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let ca = gw.ca.clone();
                let door = gw.door;
                tokio::spawn(async move {
                    parallax_testkit::https::unread_h2(
                        door,
                        host,
                        &ca,
                        "/prod/test",
                        256,
                        128,
                        Duration::from_millis(500),
                    )
                    .await
                    .expect("an HTTP/2 connection")
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.expect("joined"));
        }
        all
    });
    for h in &held {
        assert_eq!(h.heads.len(), 128, "the gateway's streams at once");
        assert!(h.heads.iter().all(|r| r.status() == 200));
    }
    let during = rss_kb(pid);
    // Another client is served while they hold their streams.
    assert_eq!(gw.call(None).0, 200);
    drop(held);
    // Closed: give the gateway a moment to see the connections end (bounded polling).
    let mut after = rss_kb(pid);
    for _ in 0..40 {
        if after <= during {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        after = rss_kb(pid);
    }
    eprintln!(
        "gateway RSS: {before} kB before, {during} kB with 20 x 128 unread streams, {after} kB after they closed"
    );
    let grew_mb = during.saturating_sub(before) / 1024;
    assert!(
        grew_mb < 80,
        "20 connections grew the gateway by {grew_mb} MB (bound: about 1 MiB each, and the streams' state)"
    );
    gw.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 26, with the real redis-server: the counters of plan `a/b` with key `c` and of plan `a`
/// with key `b/c` were one Redis key (`parallax:usage:{a/b/c}`), so three calls with one spent
/// the other's quota of three and its first call got 429. Now each pair has its own keys.
#[test]
fn usage_counters_of_different_pairs_never_share_redis_keys() {
    use parallax_rules::usage_plan::{Limits, Take, UsageStore as _};
    let Some(redis) = parallax_testkit::redis::RedisServer::start() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = parallax_gateway::usage_store::RedisStore::new(
            &parallax_gateway::usage_store::RedisSettings {
                url: redis.url(),
                timeout: Duration::from_secs(2),
                failure: parallax_gateway::usage_store::Failure::Closed,
                mode: parallax_gateway::usage_store::Mode::Exact,
            },
            None,
        )
        .expect("store");
        let limits = Limits {
            throttle: None,
            quota: Some(parallax_model::topology::Quota {
                limit: 3,
                period: parallax_model::topology::QuotaPeriod::Day,
                offset: 0,
            }),
        };
        let decide = |t: Take| async move {
            match t {
                Take::Now(r) => r,
                Take::Later(p) => p.await,
            }
        };
        let ab_c = store.counter("c", "a/b", limits.clone());
        let a_bc = store.counter("b/c", "a", limits);
        let now = || (std::time::Instant::now(), std::time::SystemTime::now());
        for _ in 0..3 {
            let (i, w) = now();
            assert_eq!(decide(ab_c.take(i, w)).await, Ok(()));
        }
        let (i, w) = now();
        assert!(
            decide(ab_c.take(i, w)).await.is_err(),
            "its own quota is spent"
        );
        let (i, w) = now();
        assert_eq!(
            decide(a_bc.take(i, w)).await,
            Ok(()),
            "the other pair's quota is its own"
        );
    });
    let keys = redis.command(&["KEYS", "parallax:usage:*:ids"]);
    assert_eq!(keys.lines().count(), 2, "{keys}");
}

/// Flag values curl takes that the probe refuses, named with the flag: `--aws-sigv4` without
/// credentials or with another provider, `--tls-max` below what parallax speaks.
#[test]
fn signing_and_tls_flags_are_checked() {
    for (args, want) in [
        (
            vec!["--aws-sigv4", "aws:amz:us-east-1:execute-api"],
            "--aws-sigv4 needs credentials",
        ),
        (
            vec!["--aws-sigv4", "osc:x", "--user", "K:S"],
            "--aws-sigv4 `osc:x`",
        ),
        (
            vec!["--aws-sigv4", "aws:amz", "--user", "KEYONLY"],
            "--user must be KEY:SECRET",
        ),
        (
            vec!["--tls-max", "1.1"],
            "--tls-max 1.1: parallax speaks TLS 1.2 and 1.3 only",
        ),
        (
            vec!["--tls-max", "2"],
            "--tls-max 2: expected 1.2, 1.3 or default",
        ),
    ] {
        let out = parallax()
            .arg("probe")
            .args(&args)
            .arg("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/x")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/parallax/credentials",
            )
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
