//! `parallax watch` against the lab's real servers on loopback: the seed's VPC view with and
//! without the endpoint's private DNS, read through the watcher's state, `/metrics` and the
//! blackbox-compatible `/probe`.

use std::sync::{Arc, Mutex};

use parallax_lab::run::Running;
use parallax_lab::{LabOptions, run};
use parallax_model::Scenario;
use parallax_watch::{Config, Event, State};

mod conformance;
mod delivery;
mod e2e;

const URL: &str = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/test";

/// The seed lab, run up to `step`, and the probe flags that reach it from the VPC.
async fn lab_at(step: &str, dir: &std::path::Path) -> (Running, Vec<String>) {
    let s = Scenario::seed().expect("seed");
    let (_, lab) = run(
        &s,
        &LabOptions {
            until_step: Some(step.to_owned()),
        },
    )
    .await
    .expect("lab runs");
    lab.gateway
        .with_certs(|c| c.write_to(dir))
        .expect("write certs");
    let mut args = parallax_lab::reproduce::probe_flags(
        &lab,
        &dir.join("server-ca.pem"),
        "vpc-0a1b2c3d4e5f60718",
        std::net::IpAddr::from([10, 0, 2, 15]),
    )
    .expect("the VPC's view");
    args.extend(["--max-time".to_owned(), "5".to_owned()]);
    (lab, args)
}

fn config(args: &[String]) -> Config {
    config_every(args, "5s")
}

fn config_every(args: &[String], every: &str) -> Config {
    let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    let yaml = format!(
        "interval: {every}\ntimeout: {every}\ntargets:\n  - name: orders\n    url: {URL}\n    args: [{list}]\n    expect: {{ dns: public, front_door: regional, status: 200 }}\nmodules:\n  lab: {{ args: [{list}] }}\n",
        list = quoted.join(", ")
    );
    Config::from_yaml(&yaml, "watch.yaml").unwrap_or_else(|e| panic!("{e}"))
}

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    parallax_testkit::http::get(addr, path, "").await
}

/// The endpoint's private DNS makes the diagnosis gauge for endpoint-private-dns 1 and
/// `probe_success` 0; rolled back, both recover, and the change is one event with both sides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_diagnosis_gauge_follows_the_incident_and_events_name_the_change() {
    let dir = std::env::temp_dir().join(format!("parallax-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = events.clone();
    let state = Arc::new(State::new(Box::new(move |e| {
        sink.lock().expect("events").push(e.clone());
    })));

    let (lab, args) = lab_at("endpoint-added", &dir).await;
    let cfg = Arc::new(config(&args));
    let target = &cfg.targets[0];
    let report = parallax_watch::watcher::probe_once(target, cfg.timeout)
        .await
        .expect("probe in time");
    state.record(target, &report);
    let text = state.metrics.encode();
    for want in [
        "parallax_diagnosis{target=\"orders\",rule=\"endpoint-private-dns\"} 1",
        "parallax_diagnosis{target=\"orders\",rule=\"ok\"} 0",
        "parallax_dns_answer_class{target=\"orders\",class=\"private\"} 1",
        "probe_success{target=\"orders\"} 0",
        "probe_http_status_code{target=\"orders\"} 403",
        "probe_tls_version_info{target=\"orders\",version=\"TLS 1.2\"} 1",
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }

    // The admin listener: /metrics, and /probe with the module's flags (no target label).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let admin = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(parallax_watch::http::serve(
        listener,
        cfg.clone(),
        state.clone(),
        stopped,
    ));
    let metrics = get(admin, "/metrics").await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.contains("text/plain; version=0.0.4"), "{metrics}");
    assert!(metrics.contains("probe_success{target=\"orders\"} 0"));
    let openmetrics = parallax_testkit::http::get(
        admin,
        "/metrics",
        "Accept: application/openmetrics-text;version=1.0.0\r\n",
    )
    .await;
    assert!(openmetrics.contains("application/openmetrics-text"));
    assert!(openmetrics.trim_end().ends_with("# EOF"), "{openmetrics}");
    // The classic format passes Prometheus's own linter.
    parallax_testkit::http::assert_promtool_accepts(&metrics).await;
    let probed = get(
        admin,
        &format!("/probe?module=lab&target={}", URL.replace(':', "%3A")),
    )
    .await;
    assert!(probed.contains("\nprobe_http_status_code 403"), "{probed}");
    assert!(probed.contains("parallax_diagnosis{rule=\"endpoint-private-dns\"} 1"));
    assert!(get(admin, "/probe").await.starts_with("HTTP/1.1 400"));
    assert!(
        get(admin, "/probe?target=https%3A%2F%2Fx.example&module=nope")
            .await
            .starts_with("HTTP/1.1 400")
    );
    lab.shutdown().await;

    // Rolled back: the same target sees the public answer again.
    let (lab, args) = lab_at("rolled-back", &dir).await;
    let cfg2 = config(&args);
    let report = parallax_watch::watcher::probe_once(&cfg2.targets[0], cfg2.timeout)
        .await
        .expect("probe in time");
    state.record(&cfg2.targets[0], &report);
    let text = state.metrics.encode();
    for want in [
        "parallax_diagnosis{target=\"orders\",rule=\"endpoint-private-dns\"} 0",
        "parallax_diagnosis{target=\"orders\",rule=\"ok\"} 1",
        "probe_success{target=\"orders\"} 1",
        "parallax_answer_changes_total{target=\"orders\"} 1",
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
    let events = events.lock().expect("events").clone();
    assert_eq!(
        events.len(),
        2,
        "the first sight, then one change: {events:?}"
    );
    let change = &events[1];
    let before = change.before.as_ref().expect("before");
    assert_eq!(
        (before.dns.as_str(), before.diagnosis.as_str()),
        ("private", "endpoint-private-dns")
    );
    assert_eq!(
        (change.after.dns.as_str(), change.after.diagnosis.as_str()),
        ("public", "ok")
    );
    // README's expectation (`front_door: regional`) holds on the healthy target: a public
    // answer for an execute-api name is the Regional door, without any topology.
    assert_eq!(change.after.front_door.as_deref(), Some("regional"));
    assert_eq!(
        before.front_door, None,
        "a private answer is no door a name can tell"
    );
    // Without a topology, the event says what it lacks instead of a bare null.
    assert!(
        events[0]
            .unknown
            .iter()
            .any(|u| u.contains("needs --topology or --aws")),
        "{:?}",
        events[0].unknown
    );
    assert!(change.unknown.is_empty(), "{:?}", change.unknown);
    let _ = stop.send(true);
    let _ = server.await;
    lab.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The shipped alerting rules load in Prometheus (`promtool check rules`) and fire on the series
/// they are meant for, and only those (`promtool test rules`, deploy/prometheus).
#[test]
fn the_alerting_rules_pass_promtool() {
    let Some(promtool) =
        parallax_testkit::interop::require("promtool", "the Debian package prometheus")
    else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus");
    for args in [
        ["check", "rules", "parallax-rules.yml"],
        ["test", "rules", "parallax-rules.test.yml"],
    ] {
        let out = std::process::Command::new(&promtool)
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("promtool runs");
        assert!(
            out.status.success(),
            "promtool {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The deployment files the README shows: the ECS task definition parses and has the watcher
/// as a non-essential sidecar; the systemd unit runs `watch --config`; Prometheus accepts the
/// scrape configuration (`promtool check config`).
#[test]
fn the_deployment_files_are_what_the_readme_says() {
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let task: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(deploy.join("ecs/task-definition.json")).expect("read"),
    )
    .expect("the task definition is JSON");
    let containers = task["containerDefinitions"].as_array().expect("containers");
    let watch = containers
        .iter()
        .find(|c| c["name"] == "parallax-watch")
        .expect("the sidecar");
    assert_eq!(watch["essential"], false);
    assert_eq!(watch["command"][0], "watch");
    assert!(
        containers
            .iter()
            .all(|c| c["image"].is_string() && c["name"].is_string())
    );
    assert!(task["family"].is_string() && task["requiresCompatibilities"].is_array());
    // The sidecar runs the Dockerfile's image as it is built: the binary checks its own health
    // (no shell, no wget in a scratch image), non-root, its configuration from a volume the
    // init container fills from an SSM parameter.
    let health: Vec<&str> = watch["healthCheck"]["command"]
        .as_array()
        .expect("a health check")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(health[..3], ["CMD", "/parallax", "probe"]);
    assert_eq!(watch["user"], "65534:65534");
    assert_eq!(watch["mountPoints"][0]["containerPath"], "/etc/parallax");
    let init = containers
        .iter()
        .find(|c| c["name"] == "parallax-config")
        .expect("the configuration's init container");
    assert!(
        init["command"][0]
            .as_str()
            .is_some_and(|c| c.contains("aws ssm get-parameter"))
    );
    let dockerfile = std::fs::read_to_string(deploy.join("../Dockerfile")).expect("the Dockerfile");
    for line in [
        "FROM scratch",
        "USER 65534:65534",
        "--target x86_64-unknown-linux-musl",
        "cp deploy/watch/watch.yaml /out/etc/parallax/watch.yaml",
        "CMD [\"/parallax\", \"probe\", \"-sf\"",
        "CMD [\"watch\", \"--config\", \"/etc/parallax/watch.yaml\"]",
    ] {
        assert!(dockerfile.contains(line), "the Dockerfile has no `{line}`");
    }
    // Kubernetes: the documents, and the configuration the ConfigMap embeds loads.
    let k8s = std::fs::read_to_string(deploy.join("kubernetes/parallax-watch.yaml"))
        .expect("the Kubernetes manifest");
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&k8s).unwrap_or_else(|e| panic!("parallax-watch.yaml: {e}"));
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["ConfigMap", "Deployment", "Service", "ServiceMonitor"]
    );
    let embedded = docs[0]["data"]["watch.yaml"].as_str().expect("watch.yaml");
    let c =
        Config::from_yaml(embedded, "ConfigMap parallax-watch").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.targets.len(), 2);
    let container = &docs[1]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"][0], "watch");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(docs[3]["spec"]["endpoints"][0]["port"], "metrics");
    // The sample configuration loads as it is (anchors, an x- key, a merge key).
    let sample = deploy.join("watch/watch.yaml");
    let text = std::fs::read_to_string(&sample).expect("the sample watch.yaml");
    let c =
        Config::from_yaml(&text, &sample.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.targets.len(), 2);
    assert!(c.targets.iter().all(|t| t.expect.is_some()));
    assert_eq!(c.snapshot_interval, std::time::Duration::from_secs(300));
    let kinds: Vec<_> = c
        .webhooks
        .iter()
        .map(|w| (w.name.as_str(), w.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("relay", parallax_watch::webhook::Kind::Webhook),
            ("alertmanager", parallax_watch::webhook::Kind::Alertmanager)
        ]
    );
    let unit =
        std::fs::read_to_string(deploy.join("systemd/parallax-watch.service")).expect("unit");
    assert!(unit.contains("ExecStart=/usr/local/bin/parallax watch --config "));
    if let Some(promtool) =
        parallax_testkit::interop::require("promtool", "the Debian package prometheus")
    {
        let out = std::process::Command::new(promtool)
            .args(["check", "config", "prometheus.yml"])
            .current_dir(deploy.join("prometheus"))
            .output()
            .expect("promtool runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// With a topology that knows the endpoint's addresses, the flip's event names the endpoint and
/// VPC whose address answered, and the account changes noted (by `watch --aws`) since the
/// target's previous probe; a later flip does not repeat them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flip_names_the_endpoint_and_vpc_that_answered_and_the_account_changes_before_it() {
    let dir = std::env::temp_dir().join(format!("parallax-watch-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = events.clone();
    let state = State::new(Box::new(move |e| {
        sink.lock().expect("events").push(e.clone());
    }));
    let seed = Scenario::seed().expect("seed");
    let at = seed.step_index("endpoint-added").expect("the step");
    state.set_topology(seed.topology_at(at).expect("its topology").clone());

    // As the watch's loop does: the probe's diagnosis is read against the state's topology.
    let topology = state.topology();
    let probe_at = |step: &'static str| {
        let (dir, topology) = (dir.clone(), topology.clone());
        async move {
            let (lab, args) = lab_at(step, &dir).await;
            let cfg = config(&args);
            let report = parallax_watch::watcher::probe_against(
                &cfg.targets[0],
                cfg.timeout,
                topology.as_deref(),
            )
            .await
            .expect("probe in time");
            lab.shutdown().await;
            (cfg, report)
        }
    };
    let (cfg, report) = probe_at("before").await;
    state.record(&cfg.targets[0], &report);
    state.note(
        serde_json::json!({"change": "endpoint_added", "endpoint": "vpce-0123456789abcdef0"}),
    );
    let (cfg, report) = probe_at("endpoint-added").await;
    state.record(&cfg.targets[0], &report);
    let series = "parallax_answered_by{target=\"orders\",endpoint=\"vpce-0123456789abcdef0\",vpc=\"vpc-0a1b2c3d4e5f60718\"} 1";
    assert!(
        state.metrics.encode().contains(series),
        "{}",
        state.metrics.encode()
    );
    let (cfg, report) = probe_at("rolled-back").await;
    state.record(&cfg.targets[0], &report);
    assert!(
        !state.metrics.encode().contains("parallax_answered_by{"),
        "the series goes with the answer"
    );

    let seen = events.lock().expect("events").clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen[0].account_changes.is_empty(),
        "the first event has no window"
    );
    let flip = &seen[1];
    assert_eq!(flip.after.diagnosis, "endpoint-private-dns");
    assert_eq!(flip.endpoint.as_deref(), Some("vpce-0123456789abcdef0"));
    assert_eq!(flip.vpc.as_deref(), Some("vpc-0a1b2c3d4e5f60718"));
    assert_eq!(flip.account_changes.len(), 1, "{flip:?}");
    assert_eq!(
        flip.account_changes[0]["endpoint"],
        "vpce-0123456789abcdef0"
    );
    assert!(flip.unknown.is_empty(), "{:?}", flip.unknown);
    // The webhook's Alertmanager payload carries them as labels and annotations.
    let payload = parallax_watch::webhook::payload(flip);
    assert_eq!(
        payload["alerts"][0]["labels"]["endpoint"],
        "vpce-0123456789abcdef0"
    );
    assert_eq!(
        payload["alerts"][0]["labels"]["vpc"],
        "vpc-0a1b2c3d4e5f60718"
    );
    assert!(
        payload["alerts"][0]["annotations"]["answered_by"]
            .as_str()
            .is_some_and(|a| a.contains("vpce-0123456789abcdef0 in vpc-0a1b2c3d4e5f60718")),
        "{payload}"
    );
    let back = &seen[2];
    assert!(back.account_changes.is_empty(), "{back:?}");
    assert_eq!(back.endpoint, None, "a public answer is no endpoint's");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `/probe` as blackbox_exporter answers it: a stalled target within the scrape's own timeout
/// (`X-Prometheus-Scrape-Timeout-Seconds` less 0.5 s) is `probe_success 0` in a scrape that
/// succeeds, not a failed scrape; `debug=true` shows the probe, the metrics and the module.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_honours_the_scrape_timeout_and_debug() {
    // A target that accepts and never answers.
    let stalled = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = stalled.local_addr().expect("addr").port();
    let _hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in stalled.incoming().flatten().take(8) {
            held.push(c);
        }
    });
    // The file's timeout (60 s) is longer than the test's client waits (15 s): only the
    // scrape's header can make the answer come in time.
    let yaml = "interval: 60s\ntimeout: 60s\ntargets:\n  - name: t\n    url: http://127.0.0.1:1/\nmodules:\n  plain: { args: [] }\n";
    let cfg = Arc::new(Config::from_yaml(yaml, "watch.yaml").expect("config"));
    let state = Arc::new(State::new(Box::new(|_| {})));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let admin = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(parallax_watch::http::serve(listener, cfg, state, stopped));
    let target = format!("http%3A%2F%2F127.0.0.1%3A{port}%2F");
    let answer = parallax_testkit::http::get(
        admin,
        &format!("/probe?module=plain&target={target}"),
        "X-Prometheus-Scrape-Timeout-Seconds: 2\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\nprobe_success 0"), "{answer}");
    let debug = parallax_testkit::http::get(
        admin,
        &format!("/probe?module=plain&debug=true&target={target}"),
        "X-Prometheus-Scrape-Timeout-Seconds: 2\r\n",
    )
    .await;
    for want in [
        "Logs for the probe:",
        "Metrics that would have been returned:",
        "probe_success 0",
        "Module configuration:",
    ] {
        assert!(debug.contains(want), "{want} not in {debug}");
    }
    let _ = stop.send(true);
    let _ = server.await;
}

/// Issue 26: with `probe_allow:`, `/probe` probes only what it lists; anything else is 403
/// before anything is dialled (a server that counts connections sees none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_allow_refuses_what_it_does_not_list() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let target = listener.local_addr().expect("addr");
    let dialled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = dialled.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let yaml = "targets:\n  - { name: a, url: 'https://example.invalid/' }\nprobe_allow: { cidrs: [10.0.0.0/8], names: ['*.execute-api.us-east-1.amazonaws.com'] }\nmodules:\n  tcp: { prober: tcp }\n";
    let config = Config::from_yaml(yaml, "watch.yaml").unwrap_or_else(|e| panic!("{e}"));
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = admin.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(parallax_watch::http::serve(
        admin,
        Arc::new(config),
        Arc::new(State::new(Box::new(|_| {}))),
        stopped,
    ));
    for path in [
        format!("/probe?target=http://{target}/"),
        format!("/probe?target={target}&module=tcp"),
        "/probe?target=http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let r = get(addr, &path).await;
        assert!(r.starts_with("HTTP/1.1 403"), "{path}: {r}");
        assert!(r.contains("not in probe_allow"), "{r}");
    }
    assert_eq!(dialled.load(std::sync::atomic::Ordering::SeqCst), 0);
    let _ = stop.send(true);
    let _ = server.await;
}

/// The pinned confirmation runs once per answer: against the lab at `endpoint-added`, the
/// first probe of a target confirms (a probe without it, then one with it: three requests reach
/// the gateway, the pinned retry among them); the next, with the same answer, is one request and
/// carries the same confirmation; a healthy target is one request each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_confirmation_runs_once_per_answer() {
    let dir = std::env::temp_dir().join(format!("parallax-watch-confirm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (lab, args) = lab_at("endpoint-added", &dir).await;
    let cfg = config(&args);
    let target = &cfg.targets[0];
    let mut quick = target.clone();
    quick.options.confirm = false;
    let state = State::new(Box::new(|_| {}));
    let requests = || lab.log.0.lock().expect("log").len();
    let before = requests();
    let first = parallax_watch::watcher::probe_target(&state, target, &quick, cfg.timeout, None)
        .await
        .expect("in time");
    assert_eq!(first.diagnosis.rule.as_str(), "endpoint-private-dns");
    let confirmed = first.diagnosis.confirmation.clone().expect("confirmed");
    assert!(confirmed.confirmed);
    assert_eq!(
        requests() - before,
        3,
        "the quick probe, the full one, its pinned retry"
    );
    let before = requests();
    let second = parallax_watch::watcher::probe_target(&state, target, &quick, cfg.timeout, None)
        .await
        .expect("in time");
    assert_eq!(requests() - before, 1, "one probe, no retry");
    assert_eq!(
        second
            .diagnosis
            .confirmation
            .map(|c| (c.addr, c.status, c.confirmed)),
        Some((confirmed.addr, confirmed.status, true))
    );
    lab.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
