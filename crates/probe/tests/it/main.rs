//! Integration tests of the probe: against the resolver and gateway of parallax (the seed
//! incident, each row of the reference's §1.2 table), against real `openssl s_server`, and
//! against hostile servers. Everything on 127.0.0.1.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parallax_dns::{Resolver, ResolverConfig};
use parallax_gateway::pki::LeafSpec;
use parallax_gateway::{Gateway, GatewayConfig, LabCerts, MemoryLog};
use parallax_model::{Scenario, Topology};
use parallax_probe::options::{ConnectTo, Pin};
use parallax_probe::{ProbeOptions, ProbeReport, probe};
use parallax_testkit::text::assert_no_debug_text;
use rustls::pki_types::CertificateDer;

const HOST: &str = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";

/// The seed scenario at a step, served by our resolver and gateway.
struct Seed {
    topology: Topology,
    resolver: Resolver,
    gateway: Gateway,
    ca: Vec<CertificateDer<'static>>,
}

/// A gateway serving `t` with its access log kept quiet, and the CA that signs its doors.
async fn start_gateway(
    t: &Topology,
    certs: LabCerts,
    proxy_protocol: bool,
) -> (Gateway, Vec<CertificateDer<'static>>) {
    let ca = vec![certs.server_ca().cert_der()];
    let config = GatewayConfig {
        access_log: Arc::new(MemoryLog::default()),
        proxy_protocol,
        ..Default::default()
    };
    let gw = Gateway::start(t, certs, config).await.expect("gateway");
    (gw, ca)
}

impl Seed {
    async fn at(step: &str) -> Seed {
        let s = Scenario::seed().expect("seed");
        let topology = s
            .topology_at(s.step_index(step).expect("step"))
            .expect("state")
            .clone();
        let resolver = Resolver::start(&topology, ResolverConfig::default())
            .await
            .expect("resolver");
        let certs = LabCerts::new().expect("certs");
        let (gateway, ca) = start_gateway(&topology, certs, false).await;
        Seed {
            topology,
            resolver,
            gateway,
            ca,
        }
    }

    /// The lab's connect map: every modelled address to the loopback door that plays it.
    fn connect_map(&self) -> Vec<ConnectTo> {
        let mut out = Vec::new();
        let door = |d: &str| self.gateway.addr_of(d).expect("door");
        for a in self.topology.front_doors.regional.iter() {
            out.push(ConnectTo::to_addr(
                a.value.to_string(),
                Some(443),
                door("regional"),
            ));
        }
        for e in &self.topology.endpoints {
            for s in &e.subnets {
                out.push(ConnectTo::to_addr(
                    s.address.value.to_string(),
                    Some(443),
                    door(e.id.as_str()),
                ));
            }
        }
        out
    }

    fn options(&self, url: &str, view: &str) -> ProbeOptions {
        let mut o = ProbeOptions::new(url.to_owned().try_into().expect("url"));
        o.ca = Some(self.ca.clone().into());
        o.dns_servers = vec![self.resolver.addr_of(view).expect("view")];
        o.compare_dns = vec![(
            "public".to_owned(),
            self.resolver.addr_of("internet").expect("internet"),
        )];
        o.connect_to = self.connect_map();
        o.max_time = Duration::from_secs(10);
        o
    }
}

mod parity;

#[tokio::test]
async fn seed_incident_diagnosed_and_confirmed_from_the_vpc() {
    let seed = Seed::at("endpoint-added").await;
    let opts = seed.options(
        &format!("https://{HOST}/prod/test"),
        "vpc-0a1b2c3d4e5f60718",
    );
    let r = probe(&opts, Some(&seed.topology), None).await;
    assert_eq!(r.observation.outcome.dns.verdict().to_string(), "private");
    let http = r.observation.http.as_ref().expect("http");
    assert_eq!(
        (http.status, http.error_type.as_ref().map(|t| t.as_str())),
        (Some(403), Some("ForbiddenException"))
    );
    assert_eq!(r.diagnosis.rule.as_str(), "endpoint-private-dns");
    assert!(
        r.diagnosis.cause.contains("vpce-0123456789abcdef0")
            && r.diagnosis.cause.contains("vpc-0a1b2c3d4e5f60718")
            && r.diagnosis.cause.contains("REGIONAL API a1b2c3d4e5"),
        "{}",
        r.diagnosis.cause
    );
    let c = r.diagnosis.confirmation.as_ref().expect("a pinned retry");
    assert_eq!(
        (c.addr.to_string().as_str(), c.status, c.confirmed),
        ("52.94.133.10", Some(200), true)
    );
    assert_eq!(r.exit_code, 11);
    assert_eq!(
        r.observation
            .outcome
            .front_door
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("vpce-0123456789abcdef0")
    );
}

#[tokio::test]
async fn seed_incident_from_the_internet_is_fine() {
    let seed = Seed::at("endpoint-added").await;
    let opts = seed.options(&format!("https://{HOST}/prod/test"), "internet");
    let r = probe(&opts, Some(&seed.topology), Some(200)).await;
    assert_eq!((r.diagnosis.rule.as_str(), r.exit_code), ("ok", 0));
    assert_eq!(
        r.observation.http.as_ref().and_then(|h| h.status),
        Some(200)
    );
    assert!(r.diagnosis.confirmation.is_none());
    let wrong = probe(&opts, Some(&seed.topology), Some(201)).await;
    assert_eq!(wrong.exit_code, 14, "--expect 201 against a 200");
}

#[tokio::test]
async fn no_confirm_skips_the_pinned_retry() {
    let seed = Seed::at("endpoint-added").await;
    let mut opts = seed.options(
        &format!("https://{HOST}/prod/test"),
        "vpc-0a1b2c3d4e5f60718",
    );
    opts.confirm = false;
    let r = probe(&opts, None, None).await;
    assert_eq!(r.diagnosis.rule.as_str(), "endpoint-private-dns");
    assert!(
        r.diagnosis.cause.contains("public API a1b2c3d4e5"),
        "without a topology the type is not known: {}",
        r.diagnosis.cause
    );
    assert!(r.diagnosis.confirmation.is_none());
}

/// The human report and the JSON of the seed case, with what varies from run to run masked.
#[tokio::test]
async fn seed_report_snapshots() {
    let seed = Seed::at("endpoint-added").await;
    let opts = seed.options(
        &format!("https://{HOST}/prod/test"),
        "vpc-0a1b2c3d4e5f60718",
    );
    let r = probe(&opts, Some(&seed.topology), None).await;
    let filters = vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
        (r"\d+\.\d+ ms", "N ms"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "UUID",
        ),
        (r"x-amz-apigw-id: \S+", "x-amz-apigw-id: ID"),
        (r"\d+ days left", "N days left"),
        (
            r#""(elapsed_ms|total_ms|days_left|first_byte_ms)": [0-9.]+"#,
            r#""$1": N"#,
        ),
        (r#""x-amz-apigw-id": "[^"]*""#, r#""x-amz-apigw-id": "ID""#),
        (r#""serial": "[^"]*""#, r#""serial": "X""#),
        (r#""not_(before|after)": "[^"]*""#, r#""not_$1": "X""#),
    ];
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!("seed_text", r.to_text());
        insta::assert_snapshot!("seed_json", r.to_json());
    });
    validate_against_schema(&r);
}

/// The JSON report conforms to `schemas/probe-report.v1.json`.
fn validate_against_schema(r: &ProbeReport) {
    let schema_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/probe-report.v1.json"
    ))
    .expect("the schema file");
    let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("the schema is JSON");
    let report: serde_json::Value = serde_json::from_str(&r.to_json()).expect("the report is JSON");
    let errors = parallax_testkit::schema::violations(&schema, &report);
    assert!(
        errors.is_empty(),
        "the report does not match its schema:\n{}",
        errors.join("\n")
    );
}

/// A gateway with one API per §1.2 row, called with `--resolve` to its modelled public address.
struct Rows {
    gateway: Gateway,
    ca: Vec<CertificateDer<'static>>,
    certs_client: parallax_gateway::pki::Identity,
    topology: Topology,
}

const ROWS_TOPOLOGY: &str = r#"
account: "111122223333"
region: us-east-1
front_doors: { regional: [52.94.133.10] }
vpcs: [{ id: vpc-0a1b2c3d, cidr: 10.0.0.0/16, dns_hostnames: true }]
endpoints:
  - { id: vpce-0123456789abcdef0, vpc: vpc-0a1b2c3d, service: execute-api, private_dns: false, subnets: [{ id: subnet-0a1b2c3d, az: us-east-1a, address: 10.0.1.17 }] }
  - { id: vpce-0fedcba9876543210, vpc: vpc-0a1b2c3d, service: execute-api, private_dns: false, subnets: [{ id: subnet-0a1b2c3d, az: us-east-1a, address: 10.0.1.18 }] }
apis:
  - id: a1b2c3d4e5
    name: public
    endpoint_type: REGIONAL
    stages: [prod]
    routes:
      - { method: GET, path: /test, integration: { type: MOCK } }
      - { method: GET, path: /keyed, api_key_required: true, integration: { type: MOCK } }
  - id: p1r2i3v4a5
    name: private
    endpoint_type: PRIVATE
    stages: [prod]
    policy: { Statement: [ { Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*" },
                           { Effect: Deny, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*", Condition: { StringNotEquals: { "aws:SourceVpce": vpce-0123456789abcdef0 } } } ] }
    routes: [{ method: GET, path: /test, integration: { type: MOCK } }]
  - id: d1s4b1ed00
    name: disabled
    endpoint_type: REGIONAL
    stages: [prod]
    disable_execute_api_endpoint: true
    routes: [{ method: GET, path: /test, integration: { type: MOCK } }]
custom_domains:
  - { name: api.example.com, endpoint_type: REGIONAL, dns: alias, mtls: { truststore: "lab:clients" }, mappings: [{ api: a1b2c3d4e5, stage: prod }] }
usage_plans:
  - id: tight
    throttle: { rate: 0.001, burst: 1 }
    stages: [{ api: a1b2c3d4e5, stage: prod }]
    keys: [{ id: t, value: throttledkey0123456789ab }]
  - id: quota
    quota: { limit: 1, period: DAY }
    stages: [{ api: a1b2c3d4e5, stage: prod }]
    keys: [{ id: q, value: quotakey0123456789abcdef }]
"#;

impl Rows {
    async fn start() -> Rows {
        let topology =
            Topology::from_yaml(ROWS_TOPOLOGY, "<rows>").unwrap_or_else(|e| panic!("{e}"));
        let mut certs = LabCerts::new().expect("certs");
        let certs_client = certs.client("clients").expect("client");
        let (gateway, ca) = start_gateway(&topology, certs, false).await;
        Rows {
            gateway,
            ca,
            certs_client,
            topology,
        }
    }

    /// Probes `url`, pinned to the modelled address of `door` (as if DNS answered it).
    async fn probe(&self, url: &str, door: &str, key: Option<&str>) -> ProbeReport {
        self.probe_with(url, door, |o| o.api_key = key.map(str::to_owned))
            .await
    }

    /// [`Rows::probe`] with the options changed by `set`.
    async fn probe_with(
        &self,
        url: &str,
        door: &str,
        set: impl FnOnce(&mut ProbeOptions),
    ) -> ProbeReport {
        let mut o = ProbeOptions::new(url.to_owned().try_into().expect("url"));
        let addr: std::net::IpAddr = match door {
            "regional" => "52.94.133.10".parse().expect("ip"),
            "vpce-0123456789abcdef0" => "10.0.1.17".parse().expect("ip"),
            _ => "10.0.1.18".parse().expect("ip"),
        };
        o.resolve = vec![Pin::one(o.url.host.to_string(), 443, addr)];
        o.connect_to = vec![ConnectTo::to_addr(
            addr.to_string(),
            Some(443),
            self.gateway.addr_of(door).expect("door"),
        )];
        o.ca = Some(self.ca.clone().into());
        o.max_time = Duration::from_secs(10);
        set(&mut o);
        probe(&o, Some(&self.topology), None).await
    }
}

/// Each row of the reference's §1.2 table gets its own diagnosis.
#[tokio::test]
async fn each_row_of_the_reference_table_gets_its_diagnosis() {
    let rows = Rows::start().await;
    let public = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";
    let private = "https://p1r2i3v4a5.execute-api.us-east-1.amazonaws.com";
    let cases: Vec<(&str, String, &str, Option<&str>, &str)> = vec![
        // (row, url, door, key, rule)
        (
            "row 2: private API from outside",
            format!("{private}/prod/test"),
            "regional",
            None,
            "private-api-outside",
        ),
        (
            "row 3: explicit deny",
            format!("{private}/prod/test"),
            "vpce-0fedcba9876543210",
            None,
            "access-denied",
        ),
        (
            "row 5: missing API key",
            format!("{public}/prod/keyed"),
            "regional",
            None,
            "api-key",
        ),
        (
            "row 5: invalid API key",
            format!("{public}/prod/keyed"),
            "regional",
            Some("wrongkey0123456789abcdef"),
            "api-key",
        ),
        (
            "row 6: unknown resource",
            format!("{public}/prod/nope"),
            "regional",
            None,
            "missing-auth-token",
        ),
        (
            "row 7: unknown stage",
            format!("{public}/dev/test"),
            "regional",
            None,
            "unknown-stage",
        ),
        (
            "row 8: default endpoint disabled",
            "https://d1s4b1ed00.execute-api.us-east-1.amazonaws.com/prod/test".to_owned(),
            "regional",
            None,
            "default-endpoint-disabled",
        ),
    ];
    for (row, url, door, key, rule) in cases {
        let r = rows.probe(&url, door, key).await;
        assert_eq!(r.diagnosis.rule.as_str(), rule, "{row}: {}", r.to_text());
        assert_eq!(r.exit_code, 14, "{row}");
    }
    // "Invoke a private API": an endpoint-specific name with x-apigw-api-id (or Host) routes
    // only PRIVATE APIs; the public API named there answers 403 ForbiddenException, and the
    // diagnosis says so rather than blaming an API key.
    let vpce_name = "https://vpce-0123456789abcdef0-1a2b3c4d.execute-api.us-east-1.vpce.amazonaws.com/prod/test";
    for (header, value, rule) in [
        (
            "x-apigw-api-id",
            "a1b2c3d4e5",
            "public-api-through-endpoint",
        ),
        (
            "Host",
            "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "public-api-through-endpoint",
        ),
        ("x-other", "1", "vpce-name-without-api"),
    ] {
        let r = rows
            .probe_with(vpce_name, "vpce-0123456789abcdef0", |o| {
                o.headers.push((header.to_owned(), value.to_owned()))
            })
            .await;
        assert_eq!(
            r.observation.http.as_ref().and_then(|h| h.status),
            Some(403),
            "{}",
            r.to_text()
        );
        assert_eq!(r.diagnosis.rule.as_str(), rule, "{header}: {}", r.to_text());
        if rule == "public-api-through-endpoint" {
            assert!(
                r.diagnosis.cause.contains("REGIONAL API")
                    && r.diagnosis.cause.contains("routes only PRIVATE APIs"),
                "{}",
                r.diagnosis.cause
            );
        }
    }
    let denied = rows
        .probe(
            &format!("{private}/prod/test"),
            "vpce-0fedcba9876543210",
            None,
        )
        .await;
    assert!(
        denied.diagnosis.cause.contains("with an explicit deny"),
        "the message is quoted: {}",
        denied.diagnosis.cause
    );
    // Rows 10 and 11: the first call uses the burst (or the quota), the second is refused.
    for (key, rule) in [
        ("throttledkey0123456789ab", "throttled"),
        ("quotakey0123456789abcdef", "quota"),
    ] {
        assert_eq!(
            rows.probe(&format!("{public}/prod/keyed"), "regional", Some(key))
                .await
                .diagnosis
                .rule
                .as_str(),
            "ok"
        );
        assert_eq!(
            rows.probe(&format!("{public}/prod/keyed"), "regional", Some(key))
                .await
                .diagnosis
                .rule
                .as_str(),
            rule
        );
    }
    // Row 12: mutual TLS without a certificate, then with one.
    let no_cert = rows
        .probe("https://api.example.com/test", "regional", None)
        .await;
    assert_eq!(no_cert.diagnosis.rule.as_str(), "client-cert-refused");
    assert!(
        no_cert
            .observation
            .tls
            .as_ref()
            .is_some_and(|t| t.client_cert_requested && !t.client_cert_sent)
    );
    assert!(
        no_cert.observation.tls.as_ref().is_some_and(|t| t
            .acceptable_cas
            .iter()
            .any(|c| c.contains("parallax lab clients"))),
        "the CA names the server accepts"
    );
    let mut o = ProbeOptions::new(
        "https://api.example.com/test"
            .to_owned()
            .try_into()
            .expect("url"),
    );
    o.resolve = vec![Pin::one(
        "api.example.com".into(),
        443,
        "52.94.133.10".parse().expect("ip"),
    )];
    o.connect_to = vec![ConnectTo::to_addr(
        String::new(),
        None,
        rows.gateway.addr_of("regional").expect("door"),
    )];
    o.ca = Some(rows.ca.clone().into());
    o.identity = Some(parallax_probe::options::ClientIdentity {
        chain: rows.certs_client.chain.clone(),
        key: rows.certs_client.key_der(),
    });
    let with_cert = probe(&o, None, Some(200)).await;
    assert_eq!(
        (
            with_cert.exit_code,
            with_cert
                .observation
                .tls
                .as_ref()
                .map(|t| t.client_cert_sent)
        ),
        (0, Some(true))
    );
}

/// Row 1 with a CNAME-published custom domain: the name check fails at the endpoint.
#[tokio::test]
async fn a_cname_into_the_endpoint_zone_is_named() {
    let s = Scenario::seed().expect("seed");
    let mut t = s
        .topology_at(s.step_index("endpoint-added").expect("step"))
        .expect("state")
        .clone();
    t.custom_domains[0].dns.value = parallax_model::topology::DomainDns::Cname;
    let resolver = Resolver::start(&t, ResolverConfig::default())
        .await
        .expect("resolver");
    let (gw, ca) = start_gateway(&t, LabCerts::new().expect("certs"), false).await;
    let mut o = ProbeOptions::new(
        "https://api.example.com/test"
            .to_owned()
            .try_into()
            .expect("url"),
    );
    o.ca = Some(ca.into());
    o.dns_servers = vec![resolver.addr_of("vpc-0a1b2c3d4e5f60718").expect("view")];
    o.compare_dns = vec![("public".into(), resolver.addr_of("internet").expect("view"))];
    for a in ["10.0.1.17", "10.0.2.17"] {
        o.connect_to.push(ConnectTo::to_addr(
            a.into(),
            Some(443),
            gw.addr_of("vpce-0123456789abcdef0").expect("door"),
        ));
    }
    for a in ["52.94.133.10", "52.94.133.11"] {
        o.connect_to.push(ConnectTo::to_addr(
            a.into(),
            Some(443),
            gw.addr_of("regional").expect("door"),
        ));
    }
    let r = probe(&o, Some(&t), None).await;
    assert_eq!(
        (r.diagnosis.rule.as_str(), r.exit_code),
        ("cname-into-endpoint", 11),
        "{}",
        r.to_text()
    );
    assert_eq!(
        r.observation.tls.as_ref().and_then(|t| t.name_match),
        Some(false)
    );
    // The pinned retry reaches the regional door, which has the domain's certificate; the
    // domain wants a client certificate, so the confirmation is the 403 of mutual TLS.
    let c = r.diagnosis.confirmation.as_ref().expect("confirmation");
    assert_eq!(c.status, Some(403));
}

/// A DNS name that resolves to nothing, and a port nothing listens on.
#[tokio::test]
async fn dns_and_connect_failures_have_their_exit_codes() {
    let seed = Seed::at("before").await;
    let nx = seed.options("https://nope.example.com/", "internet");
    let r = probe(&nx, None, None).await;
    assert_eq!(
        (r.diagnosis.rule.as_str(), r.exit_code),
        ("dns-failure", 10)
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let mut o = ProbeOptions::new(
        "https://closed.example.com/"
            .to_owned()
            .try_into()
            .expect("url"),
    );
    o.resolve = vec![Pin::one(
        "closed.example.com".into(),
        443,
        "127.0.0.1".parse().expect("ip"),
    )];
    o.connect_to = vec![ConnectTo::to_addr(String::new(), None, closed)];
    let r = probe(&o, None, None).await;
    assert_eq!(
        (r.diagnosis.rule.as_str(), r.exit_code),
        ("connect-failure", 12)
    );
    assert!(
        r.observation.connect.as_ref().is_some_and(
            |c| c.failure == Some(parallax_probe::observation::ConnectFailure::Refused)
        )
    );
}

/// The probe against real `openssl s_server`, with and without a client-certificate requirement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_openssl_s_server() {
    let Some(openssl) = parallax_testkit::interop::require("openssl", "the Debian package openssl")
    else {
        return;
    };
    let mut certs = LabCerts::new().expect("certs");
    let server = certs
        .ca("srv")
        .expect("ca")
        .issue(&LeafSpec {
            common_name: "probe.test".into(),
            dns_names: vec!["probe.test".into()],
            server: true,
            ..Default::default()
        })
        .expect("leaf");
    let client = certs.client("cli").expect("client");
    let dir = std::env::temp_dir().join(format!("parallax-probe-ossl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("srv.pem"), server.chain_pem()).expect("write");
    std::fs::write(dir.join("srv.key"), server.key_pem()).expect("write");
    std::fs::write(
        dir.join("cli-ca.pem"),
        certs.ca("cli").expect("ca").cert_pem(),
    )
    .expect("write");
    let srv_ca = vec![certs.ca("srv").expect("ca").cert_der()];
    for require_cert in [false, true] {
        // A free port is only free until someone takes it: if s_server cannot bind and exits,
        // pick another and try again.
        let mut started = None;
        for _attempt in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("port")
                .port();
            let mut cmd = std::process::Command::new(&openssl);
            cmd.args([
                "s_server",
                "-accept",
                &port.to_string(),
                "-www",
                "-naccept",
                "4",
                "-cert",
            ])
            .arg(dir.join("srv.pem"))
            .arg("-key")
            .arg(dir.join("srv.key"));
            if require_cert {
                cmd.arg("-Verify")
                    .arg("1")
                    .arg("-CAfile")
                    .arg(dir.join("cli-ca.pem"));
            }
            let mut child = cmd
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("openssl s_server starts");
            // s_server prints ACCEPT once it listens; an exit (the port was taken) ends the
            // output instead.
            let stdout = child.stdout.take().expect("stdout");
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                use std::io::BufRead;
                // Read to the end, so that s_server never writes into a closed pipe.
                for line in std::io::BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                {
                    if line.starts_with("ACCEPT") {
                        let _ = tx.send(true);
                    }
                }
                let _ = tx.send(false);
            });
            let listening = rx.recv_timeout(Duration::from_secs(10)).unwrap_or(false);
            if listening {
                started = Some((child, port));
                break;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let (mut child, port) = started.expect("s_server listening within 5 attempts");
        let mut o = ProbeOptions::new(
            format!("https://probe.test:{port}/")
                .try_into()
                .expect("url"),
        );
        o.resolve = vec![Pin::one(
            "probe.test".into(),
            port,
            "127.0.0.1".parse().expect("ip"),
        )];
        o.ca = Some(srv_ca.clone().into());
        o.max_time = Duration::from_secs(10);
        let without = probe(&o, None, None).await;
        o.identity = Some(parallax_probe::options::ClientIdentity {
            chain: client.chain.clone(),
            key: client.key_der(),
        });
        let with = probe(&o, None, Some(200)).await;
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            with.exit_code,
            0,
            "with a client certificate: {}",
            with.to_text()
        );
        let tls = with.observation.tls.as_ref().expect("tls");
        assert_eq!(
            (tls.verified, tls.name_match, tls.client_cert_requested),
            (true, Some(true), require_cert)
        );
        if require_cert {
            assert_eq!(
                (without.diagnosis.rule.as_str(), without.exit_code),
                ("client-cert-refused", 13),
                "{}",
                without.to_text()
            );
            assert!(without.observation.tls.as_ref().is_some_and(|t| {
                t.acceptable_cas
                    .iter()
                    .any(|c| c.contains("parallax lab cli"))
            }));
            // TLS 1.3: the refusal comes as an alert after the handshake, and is a value.
            let t = without.observation.tls.as_ref().expect("tls");
            assert!(
                matches!(
                    (&t.failure, &t.client_cert_refusal),
                    (Some(f), None) if f.alert().is_some()
                ) || t.client_cert_refusal
                    == Some(parallax_probe::failure::ClientCertRefusal::Required),
                "{}",
                without.to_json()
            );
            assert_no_debug_text("s_server without a client certificate", &without.to_text());
        } else {
            assert_eq!(without.exit_code, 0, "{}", without.to_text());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Hostile servers: endless headers, a huge body, a handshake that never comes. The probe ends
/// within its time limit and keeps at most 4 KB of body and 64 KB of head.
#[tokio::test]
async fn hostile_servers_cannot_hang_the_probe_or_fill_its_memory() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                if req.starts_with("GET /headers") {
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
                    for i in 0..1_000_000u32 {
                        if s.write_all(format!("x-h{i}: {}\r\n", "a".repeat(100)).as_bytes())
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                } else if req.starts_with("GET /body") {
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000000\r\n\r\n")
                        .await;
                    let chunk = vec![b'x'; 65536];
                    for _ in 0..1600 {
                        if s.write_all(&chunk).await.is_err() {
                            return;
                        }
                    }
                }
                // Anything else (a TLS ClientHello): say nothing, hold the connection.
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
    });
    let run = |url: String| {
        let mut o = ProbeOptions::new(url.try_into().expect("url"));
        o.resolve = vec![Pin::one(
            "hostile.test".into(),
            addr.port(),
            "127.0.0.1".parse().expect("ip"),
        )];
        o.max_time = Duration::from_secs(2);
        o
    };
    let t0 = Instant::now();
    let headers = probe(
        &run(format!("http://hostile.test:{}/headers", addr.port())),
        None,
        None,
    )
    .await;
    assert!(
        headers
            .observation
            .http
            .as_ref()
            .is_some_and(|h| h.error.is_some()),
        "an endless head is an error"
    );
    let body = probe(
        &run(format!("http://hostile.test:{}/body", addr.port())),
        None,
        None,
    )
    .await;
    let h = body.observation.http.as_ref().expect("http");
    assert_eq!(
        (h.status, h.body.len(), h.body_truncated),
        (Some(200), 4096, true)
    );
    let slow = probe(
        &run(format!("https://hostile.test:{}/", addr.port())),
        None,
        None,
    )
    .await;
    assert!(
        slow.observation
            .tls
            .as_ref()
            .is_some_and(|t| t.error.is_some()),
        "a handshake that never comes times out"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(8),
        "three probes of at most 2 s each: {:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn row4_no_allowing_policy_and_secrets_are_redacted() {
    let rows = Rows::start().await;
    // The private API without its policy: it allows nobody (reference §5).
    let t = {
        let mut t = rows.topology.clone();
        t.apis[1].policy = None;
        t
    };
    let mut certs = LabCerts::new().expect("certs");
    let _ = certs.client("clients");
    let (gw, ca) = start_gateway(&t, certs, false).await;
    let mut o = ProbeOptions::new(
        "https://p1r2i3v4a5.execute-api.us-east-1.amazonaws.com/prod/test"
            .to_owned()
            .try_into()
            .expect("url"),
    );
    o.resolve = vec![Pin::one(
        o.url.host.to_string(),
        443,
        "10.0.1.17".parse().expect("ip"),
    )];
    o.connect_to = vec![ConnectTo::to_addr(
        String::new(),
        None,
        gw.addr_of("vpce-0123456789abcdef0").expect("door"),
    )];
    o.ca = Some(ca.into());
    o.api_key = Some("supersecretkeyvalue0123456789".into());
    o.headers = vec![
        ("Authorization".into(), "Bearer supersecrettoken".into()),
        ("Cookie".into(), "session=supersecretcookie".into()),
        ("X-Trace".into(), "visible".into()),
    ];
    let r = probe(&o, Some(&t), None).await;
    assert_eq!(r.diagnosis.rule.as_str(), "access-denied");
    assert!(
        r.diagnosis
            .cause
            .contains("because no resource-based policy allows the execute-api:Invoke action"),
        "{}",
        r.diagnosis.cause
    );
    for out in [r.to_text(), r.to_json()] {
        assert!(
            !out.contains("supersecret"),
            "a secret reached the report:\n{out}"
        );
        assert!(out.contains("***") && out.contains("visible"));
    }
}

/// A gateway that expects a PROXY protocol header hangs up on a plain ClientHello: the fix
/// names --haproxy-protocol, and with it the same probe gets through.
#[tokio::test]
async fn a_server_expecting_a_proxy_header_is_named() {
    let seed = Seed::at("before").await;
    let (gw, ca) = start_gateway(&seed.topology, LabCerts::new().expect("certs"), true).await;
    let mut o = seed.options(
        "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/test",
        "internet",
    );
    o.ca = Some(ca.into());
    o.connect_to = vec![ConnectTo::to_addr(
        String::new(),
        None,
        gw.addr_of("regional").expect("door"),
    )];
    o.confirm = false;
    let r = probe(&o, None, None).await;
    assert_eq!(r.diagnosis.rule.as_str(), "tls-failure", "{}", r.to_text());
    assert!(
        r.diagnosis
            .fixes
            .iter()
            .any(|f| f.contains("--haproxy-protocol")),
        "{:?}",
        r.diagnosis.fixes
    );
    o.haproxy = Some(Some("203.0.113.9".parse().expect("ip")));
    let r = probe(&o, None, None).await;
    assert_eq!(
        r.observation.outcome.http.as_ref().map(|h| h.status),
        Some(200),
        "{}",
        r.to_text()
    );
}

#[tokio::test]
async fn diff_names_the_first_layer_that_differs() {
    let seed = Seed::at("endpoint-added").await;
    let url = format!("https://{HOST}/prod/test");
    let from_vpc = probe(&seed.options(&url, "vpc-0a1b2c3d4e5f60718"), None, None).await;
    let from_net = probe(&seed.options(&url, "internet"), None, None).await;
    let a: serde_json::Value = serde_json::from_str(&from_vpc.to_json()).expect("json");
    let b: serde_json::Value = serde_json::from_str(&from_net.to_json()).expect("json");
    let d = parallax_probe::diff::first_divergence(&a, &b)
        .expect("reports")
        .expect("they differ");
    assert!(d.starts_with("DNS: A resolved a1b2c3d4e5.execute-api.us-east-1.amazonaws.com to 10.0.1.17, 10.0.2.17 (private), B to 52.94.133.10, 52.94.133.11 (public)"), "{d}");
    assert!(d.contains("split-horizon"), "{d}");
    assert_eq!(parallax_probe::diff::first_divergence(&b, &b), Ok(None));
    assert!(parallax_probe::diff::first_divergence(&serde_json::json!({}), &b).is_err());
}

/// A TLS server on loopback that serves `identity` and answers one HTTP/1.1 request with 200.
async fn tls_server(identity: &parallax_gateway::pki::Identity) -> std::net::SocketAddr {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(identity.chain.clone(), identity.key_der())
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut s) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await;
                }
            });
        }
    });
    addr
}

/// TLS failures are values (the diagnosis matches on them) with sentences a person reads: a
/// self-signed CA:TRUE certificate passed as the trust root (what `openssl req -x509` makes by
/// default), an unknown issuer, a name mismatch, and a server that hangs up on the hello.
#[tokio::test]
async fn tls_failures_are_typed_and_worded() {
    use parallax_probe::failure::{ServerCertProblem, TlsFailure};
    let self_signed = parallax_gateway::pki::self_signed_ca_server("probe.test").expect("cert");
    let mut certs = LabCerts::new().expect("certs");
    let other_name = certs
        .ca("srv")
        .expect("ca")
        .issue(&LeafSpec {
            common_name: "other.test".into(),
            dns_names: vec!["other.test".into()],
            server: true,
            ..Default::default()
        })
        .expect("leaf");
    let srv_ca = certs.ca("srv").expect("ca").cert_der();
    let hang_up = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hang_up_addr = hang_up.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = hang_up.accept().await {
            drop(tcp);
        }
    });
    let cases = [
        (
            "no --cacert for a private CA",
            tls_server(&other_name).await,
            None,
            TlsFailure::ServerCertificate {
                problem: ServerCertProblem::UnknownIssuer,
            },
            "issuer we do not trust",
        ),
        (
            "a certificate for another name",
            tls_server(&other_name).await,
            Some(srv_ca.clone()),
            TlsFailure::ServerCertificate {
                problem: ServerCertProblem::NameMismatch,
            },
            "does not name this host",
        ),
        (
            "a server that hangs up on the hello",
            hang_up_addr,
            Some(srv_ca.clone()),
            TlsFailure::ClosedBeforeHello,
            "without answering the ClientHello",
        ),
    ];
    for (what, addr, ca, failure, words) in cases {
        let mut o = ProbeOptions::new(
            format!("https://probe.test:{}/", addr.port())
                .try_into()
                .expect("url"),
        );
        o.resolve = vec![Pin::one(
            "probe.test".into(),
            addr.port(),
            "127.0.0.1".parse().expect("ip"),
        )];
        o.ca = ca.map(|c| vec![c].into());
        o.max_time = Duration::from_secs(5);
        let r = probe(&o, None, None).await;
        let tls = r.observation.tls.as_ref().expect("tls layer");
        assert_eq!(
            tls.failure.as_ref(),
            Some(&failure),
            "{what}: {}",
            r.to_text()
        );
        assert_eq!(
            (r.diagnosis.rule.as_str(), r.exit_code),
            ("tls-failure", 13),
            "{what}"
        );
        let text = r.to_text();
        assert!(text.contains(words), "{what}:\n{text}");
        assert_no_debug_text(what, &text);
        assert_no_debug_text(what, &r.to_json());
        validate_against_schema(&r);
    }
    // A self-signed CA:TRUE certificate given as --cacert, served as the server's own: curl
    // (OpenSSL) trusts it as it is, when it names the host and is within its dates; so does
    // the probe, and it says which rule accepted it.
    let self_signed_addr = tls_server(&self_signed).await;
    let mut o = ProbeOptions::new(
        format!("https://probe.test:{}/", self_signed_addr.port())
            .try_into()
            .expect("url"),
    );
    o.resolve = vec![Pin::one(
        "probe.test".into(),
        self_signed_addr.port(),
        "127.0.0.1".parse().expect("ip"),
    )];
    o.ca = Some(vec![self_signed.chain[0].clone()].into());
    o.max_time = Duration::from_secs(5);
    let r = probe(&o, None, None).await;
    let tls = r.observation.tls.as_ref().expect("tls layer");
    assert_eq!(
        (tls.failure.as_ref(), tls.trust),
        (
            None,
            Some(parallax_probe::observation::TrustRule::ServerCertificateTrusted)
        ),
        "{}",
        r.to_text()
    );
    assert!(
        r.to_text()
            .contains("trust: the server's own certificate is among the trusted ones"),
        "{}",
        r.to_text()
    );
}
