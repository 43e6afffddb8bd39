//! End to end with the real parts (issue 15): the seed topology running on loopback and moved
//! from step to step while it runs; `parallax watch` probing through the VPC's view; a real
//! Prometheus scraping it; a real blackbox_exporter probing the same URL from "inside the VPC"
//! (through a CONNECT proxy that resolves with the VPC's view and dials the lab's doors with the
//! task's PROXY header, as the task's own path does). Prometheus's HTTP API must show the
//! endpoint-private-dns gauge at 1 within two scrape intervals of the endpoint's arrival, while
//! blackbox_exporter only sees `probe_success 0`; rolled back, both recover.
//!
//! Issue 25 adds a real Alertmanager behind that Prometheus (the shipped alerting rules, a
//! webhook receiver on loopback): the step change is an alert delivered by Alertmanager whose
//! text names the endpoint and the VPC, and the rollback its resolution; watch's own webhook
//! delivers the same flip, once.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;
use parallax_probe::options::ConnectTo;
use parallax_testkit::dns::{Transport, addresses, ask};
use parallax_watch::State;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::delivery::{Act, Got, hook, receiver};
use super::{URL, config_every, lab_at};

/// Prometheus's scrape interval and the watcher's probe interval in this test.
const SCRAPE: Duration = Duration::from_secs(1);

/// A child process killed when dropped.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port free now on 127.0.0.1 for an outside program (it binds it itself).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A CONNECT proxy standing where the VPC's task stands: the name is resolved with the VPC's
/// resolver view, and the address dialled is the lab's door that plays it, with a PROXY header
/// carrying the task's address.
async fn vpc_proxy(view: SocketAddr, map: Vec<ConnectTo>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let map = map.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    match tokio::time::timeout(Duration::from_secs(5), client.read(&mut byte)).await
                    {
                        Ok(Ok(1)) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let Some(target) = head
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("CONNECT "))
                    .and_then(|l| l.split(' ').next())
                else {
                    return;
                };
                let Some((host, port)) = target.rsplit_once(':') else {
                    return;
                };
                let answer = ask(view, host, RecordType::A, Transport::Udp).await;
                let Some(ip) = addresses(&answer).into_iter().next() else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let Some(door) = map.iter().find(|c| {
                    c.host == ip.to_string()
                        && c.port.map(|p| p.to_string()).as_deref() == Some(port)
                }) else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let to = format!(
                    "{}:{}",
                    door.to_host,
                    door.to_port.map(|p| p.to_string()).unwrap_or_default()
                );
                let Ok(mut upstream) = tokio::net::TcpStream::connect(to).await else {
                    return;
                };
                let proxy_header = format!("PROXY TCP4 10.0.2.15 {ip} 40000 {port}\r\n");
                if upstream.write_all(proxy_header.as_bytes()).await.is_err()
                    || client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await
                        .is_err()
                {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    addr
}

/// One GET on loopback; the body, or `None` on any failure.
async fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let exchange = async {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
        tcp.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .ok()?;
        let mut out = String::new();
        tcp.read_to_string(&mut out).await.ok()?;
        let (head, body) = out.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .ok()
        .flatten()
}

/// The value of an instant query with one result, from Prometheus's HTTP API.
async fn query(prometheus: SocketAddr, promql: &str) -> Option<f64> {
    let q: String = promql
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let body = http_get(prometheus, &format!("/api/v1/query?query={q}")).await?;
    // Chunked or not, the JSON is the part between the first `{` and the last `}`.
    let json = &body[body.find('{')?..=body.rfind('}')?];
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let result = v["data"]["result"].as_array()?;
    match result.as_slice() {
        [one] => one["value"][1].as_str()?.parse().ok(),
        _ => None,
    }
}

/// Polls `promql` until it equals `want`, at most `limit`; how long it took.
async fn until(
    prometheus: SocketAddr,
    promql: &str,
    want: f64,
    limit: Duration,
) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if query(prometheus, promql).await == Some(want) {
            return Some(t0.elapsed());
        }
        // Prometheus is another process: its state is read, not awaited as an event.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// The next payload watch's own webhook delivered.
async fn next_payload(got: &mut tokio::sync::mpsc::UnboundedReceiver<Got>) -> serde_json::Value {
    tokio::time::timeout(Duration::from_secs(30), got.recv())
        .await
        .expect("a delivery in time")
        .expect("the receiver is up")
        .body
}

/// What Alertmanager delivered to its webhook receiver, kept so that alerts can be looked for in
/// any order.
struct Inbox {
    got: tokio::sync::mpsc::UnboundedReceiver<Got>,
    alerts: Vec<serde_json::Value>,
}

impl Inbox {
    /// The first alert named `name` with `status` delivered (others, such as the rule for
    /// private answers with its `for: 1m`, are kept for later looks).
    async fn alert(&mut self, name: &str, status: &str) -> serde_json::Value {
        let t0 = Instant::now();
        loop {
            if let Some(i) = self
                .alerts
                .iter()
                .position(|a| a["labels"]["alertname"] == name && a["status"] == status)
            {
                return self.alerts.remove(i);
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "Alertmanager delivered no {status} {name}: {:?}",
                self.alerts
            );
            let payload = next_payload(&mut self.got).await;
            self.alerts
                .extend(payload["alerts"].as_array().cloned().unwrap_or_default());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sees_the_incident_through_watch_while_blackbox_sees_only_a_failure() {
    let (Some(prometheus), Some(blackbox), Some(alertmanager)) = (
        parallax_testkit::interop::require("prometheus", "the Debian package prometheus"),
        parallax_testkit::interop::require(
            "prometheus-blackbox-exporter",
            "the Debian package prometheus-blackbox-exporter",
        ),
        parallax_testkit::interop::require(
            "prometheus-alertmanager",
            "the Debian package prometheus-alertmanager",
        ),
    ) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("parallax-watch-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let scenario = parallax_model::Scenario::seed().expect("seed");
    // The flags and the proxy's map are taken where every door exists (the endpoint's too), so
    // that nothing is ever dialled outside loopback; then the lab goes back to `before`.
    let (mut lab, args) = lab_at("endpoint-added", &dir).await;
    let view = lab.resolver.addr_of("vpc-0a1b2c3d4e5f60718").expect("view");
    let proxy = vpc_proxy(view, lab.connect_map.clone()).await;
    lab.goto(&scenario, scenario.step_index("before").expect("step"))
        .await
        .expect("goto");
    let lab = std::sync::Arc::new(tokio::sync::Mutex::new(lab));

    // parallax watch, every second, with the topology that knows the endpoint's interfaces (as
    // `--topology` or `--aws` gives it) and its own webhook.
    let cfg = std::sync::Arc::new(config_every(&args, "1s"));
    let (hook_url, mut hook_got) = receiver(|_| Act::Ok).await;
    let (am_hook, am_got) = receiver(|_| Act::Ok).await;
    let mut inbox = Inbox {
        got: am_got,
        alerts: Vec::new(),
    };
    let am_port = free_port();
    let metrics = parallax_watch::metrics::Metrics::new();
    let hooks = parallax_watch::webhook::Webhooks::start(
        vec![
            hook("relay", hook_url, Duration::from_secs(5), 3, 100),
            parallax_watch::webhook::WebhookConfig {
                kind: parallax_watch::webhook::Kind::Alertmanager,
                ..hook(
                    "alertmanager",
                    format!("http://127.0.0.1:{am_port}").parse().expect("url"),
                    Duration::from_secs(5),
                    3,
                    100,
                )
            },
        ],
        metrics.deliveries(),
        None,
    );
    let state = std::sync::Arc::new(State::with_metrics(
        metrics,
        Box::new(move |e| {
            hooks.send(e);
        }),
    ));
    state.set_topology(
        scenario
            .topology_at(scenario.step_index("endpoint-added").expect("step"))
            .expect("its topology")
            .clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let watch_addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(parallax_watch::http::serve(
        listener,
        cfg.clone(),
        state.clone(),
        stopped.clone(),
    ));
    let runner = tokio::spawn(parallax_watch::watcher::run(cfg, state, stopped));

    // blackbox_exporter, probing through the VPC's path.
    let bb_port = free_port();
    std::fs::write(
        dir.join("blackbox.yml"),
        format!(
            "modules:\n  vpc:\n    prober: http\n    timeout: 5s\n    http:\n      proxy_url: http://{proxy}\n      skip_resolve_phase_with_proxy: true\n      preferred_ip_protocol: ip4\n      tls_config:\n        ca_file: {}\n",
            dir.join("server-ca.pem").display()
        ),
    )
    .expect("blackbox config");
    let _blackbox = Proc(
        Command::new(blackbox)
            .arg(format!(
                "--config.file={}",
                dir.join("blackbox.yml").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{bb_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("blackbox_exporter starts"),
    );

    // Alertmanager (no cluster: nothing listens beyond loopback), delivering to a webhook
    // receiver on loopback, waiting a second to group.
    std::fs::write(
        dir.join("alertmanager.yml"),
        format!(
            "route:\n  receiver: hook\n  group_by: [alertname, target]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: {am_hook}\n        send_resolved: true\n"
        ),
    )
    .expect("alertmanager config");
    let _alertmanager = Proc(
        Command::new(alertmanager)
            .arg(format!(
                "--config.file={}",
                dir.join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", dir.join("am").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("alertmanager starts"),
    );
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/prometheus/parallax-rules.yml");

    // Prometheus, scraping both every second, evaluating the shipped rules every second.
    let prom_port = free_port();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: ['{rules}']\nalerting:\n  alertmanagers:\n    - static_configs: [{{ targets: ['127.0.0.1:{am_port}'] }}]\nscrape_configs:\n  - job_name: parallax\n    static_configs: [{{ targets: ['{watch_addr}'] }}]\n  - job_name: blackbox\n    metrics_path: /probe\n    params: {{ module: [vpc] }}\n    static_configs: [{{ targets: ['{URL}'] }}]\n    relabel_configs:\n      - {{ source_labels: [__address__], target_label: __param_target }}\n      - {{ source_labels: [__param_target], target_label: instance }}\n      - {{ target_label: __address__, replacement: '127.0.0.1:{bb_port}' }}\n",
            rules = rules.display()
        ),
    )
    .expect("prometheus config");
    let _prometheus = Proc(
        Command::new(prometheus)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts"),
    );
    let prom: SocketAddr = format!("127.0.0.1:{prom_port}").parse().expect("addr");

    let watch_ok = r#"parallax_diagnosis{job="parallax",target="orders",rule="ok"}"#;
    let watch_dns =
        r#"parallax_diagnosis{job="parallax",target="orders",rule="endpoint-private-dns"}"#;
    let bb_success = r#"probe_success{job="blackbox"}"#;
    let start = Duration::from_secs(60);
    assert!(
        until(prom, watch_ok, 1.0, start).await.is_some(),
        "watch's ok never reached Prometheus"
    );
    assert!(
        until(prom, bb_success, 1.0, start).await.is_some(),
        "blackbox never succeeded before the endpoint"
    );

    // The endpoint with private DNS arrives.
    let changed_at = Instant::now();
    lab.lock()
        .await
        .goto(
            &scenario,
            scenario.step_index("endpoint-added").expect("step"),
        )
        .await
        .expect("goto");
    // Within two scrape intervals of the watcher's next probe (one probe interval at most).
    let bound = SCRAPE * 2 + SCRAPE + Duration::from_secs(1);
    let took = until(prom, watch_dns, 1.0, Duration::from_secs(30))
        .await
        .expect("the endpoint-private-dns gauge reached 1");
    eprintln!(
        "endpoint-private-dns seen by Prometheus {took:?} after the change (bound {bound:?})"
    );
    assert!(took <= bound, "{took:?} is more than {bound:?}");
    assert!(
        until(prom, bb_success, 0.0, Duration::from_secs(30))
            .await
            .is_some(),
        "blackbox saw the failure"
    );
    // Alertmanager delivers the shipped rule's alert, naming the endpoint and the VPC.
    let named = "vpce-0123456789abcdef0 in vpc-0a1b2c3d4e5f60718";
    let firing = inbox.alert("ParallaxEndpointPrivateDns", "firing").await;
    let delivered = changed_at.elapsed();
    // The probe interval and a scrape to see it, two evaluation intervals, group_wait, and
    // three seconds of slack for the processes' own schedules on a loaded machine.
    let alert_bound = SCRAPE * 2 + SCRAPE * 2 + SCRAPE + Duration::from_secs(3);
    eprintln!(
        "Alertmanager delivered the alert {delivered:?} after the change (bound {alert_bound:?})"
    );
    assert!(
        firing["annotations"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains(named)),
        "{firing}"
    );
    assert_eq!(firing["labels"]["endpoint"], "vpce-0123456789abcdef0");
    assert_eq!(firing["labels"]["vpc"], "vpc-0a1b2c3d4e5f60718");
    assert!(
        delivered <= alert_bound,
        "{delivered:?} is more than {alert_bound:?}"
    );
    // watch's own alert, posted straight to Alertmanager's /api/v2/alerts, delivered by it.
    let direct = inbox.alert("ParallaxAnswerChanged", "firing").await;
    assert_eq!(
        direct["labels"]["endpoint"], "vpce-0123456789abcdef0",
        "{direct}"
    );
    assert_eq!(direct["labels"]["vpc"], "vpc-0a1b2c3d4e5f60718");
    assert!(
        direct["annotations"]["answered_by"]
            .as_str()
            .is_some_and(|s| s.contains(named)),
        "{direct}"
    );
    // watch's own webhook: the first answer (ok), then the flip, naming the same.
    let first = next_payload(&mut hook_got).await;
    assert_eq!(first["alerts"][0]["labels"]["diagnosis"], "ok", "{first}");
    let flip = next_payload(&mut hook_got).await;
    let alert = &flip["alerts"][0];
    assert_eq!(
        alert["labels"]["diagnosis"], "endpoint-private-dns",
        "{flip}"
    );
    assert_eq!(alert["labels"]["endpoint"], "vpce-0123456789abcdef0");
    assert_eq!(alert["labels"]["vpc"], "vpc-0a1b2c3d4e5f60718");
    assert!(
        alert["annotations"]["answered_by"]
            .as_str()
            .is_some_and(|s| s.contains(named)),
        "{flip}"
    );

    // blackbox_exporter says only that it failed: no diagnosis of its own.
    assert_eq!(
        query(prom, r#"count(parallax_diagnosis{job="blackbox"})"#).await,
        None
    );

    // blackbox_exporter's metric names: every `probe_*` series the real blackbox_exporter
    // gives for its http prober, parallax's watch gives too (same name; parallax adds its own).
    let theirs = r#"count(count by (__name__) ({job="blackbox", __name__=~"probe_.*"}))"#;
    let missing = r#"count(count by (__name__) ({job="blackbox", __name__=~"probe_.*"}) unless on (__name__) count by (__name__) ({job="parallax", __name__=~"probe_.*"}))"#;
    let names = query(prom, theirs).await.unwrap_or(0.0);
    assert!(names >= 10.0, "blackbox gave {names} probe_ metric names");
    assert_eq!(
        query(prom, missing).await,
        None,
        "a blackbox_exporter metric name parallax lacks"
    );

    // Rolled back: both recover.
    lab.lock()
        .await
        .goto(&scenario, scenario.step_index("rolled-back").expect("step"))
        .await
        .expect("goto");
    assert!(
        until(prom, watch_ok, 1.0, Duration::from_secs(30))
            .await
            .is_some(),
        "watch recovered"
    );
    assert!(
        until(prom, bb_success, 1.0, Duration::from_secs(30))
            .await
            .is_some(),
        "blackbox recovered"
    );

    let resolved = inbox.alert("ParallaxEndpointPrivateDns", "resolved").await;
    assert_eq!(resolved["labels"]["vpc"], "vpc-0a1b2c3d4e5f60718");
    let direct = inbox.alert("ParallaxAnswerChanged", "resolved").await;
    assert_eq!(direct["labels"]["target"], "orders");
    let back = next_payload(&mut hook_got).await;
    assert_eq!(back["status"], "resolved", "{back}");
    assert_eq!(back["alerts"][0]["labels"]["diagnosis"], "ok");
    // Once: the flip was delivered one time, and nothing more came.
    assert!(
        hook_got.try_recv().is_err(),
        "watch's webhook delivered the flip more than once"
    );

    let _ = stop.send(true);
    let _ = tokio::join!(server, runner);
    if let Ok(lab) = std::sync::Arc::try_unwrap(lab) {
        lab.into_inner().shutdown().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
