//! Integration tests of the gateway: real TLS front doors on 127.0.0.1 port 0, called by the
//! testkit HTTPS client (and real curl and openssl). One test per row of the reference's §1.2
//! table (except WAF and SigV4), each naming its row.

mod hardening;

use std::sync::Arc;
use std::time::{Duration, Instant};

use parallax_gateway::onprem::OnPrem;
use parallax_gateway::pki::{Ca, Identity, LeafSpec};
use parallax_gateway::{Gateway, GatewayConfig, LabCerts, MemoryLog};
use parallax_model::Topology;
use parallax_testkit::https::{Call, Reply, call};
use rustls::pki_types::CertificateDer;

const REGIONAL: &str = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";
const PRIVATE: &str = "p1r2i3v4a5.execute-api.us-east-1.amazonaws.com";
const NOPOLICY: &str = "n0p0l1c1y0.execute-api.us-east-1.amazonaws.com";
const DISABLED: &str = "d1s4b1ed00.execute-api.us-east-1.amazonaws.com";
const EDGE: &str = "e1d2g3e4f5.execute-api.us-east-1.amazonaws.com";
const VPCE: &str = "vpce-0123456789abcdef0";
const OTHER_VPCE: &str = "vpce-0fedcba9876543210";
const KEY: &str = "keyvalue0123456789abcdefXYZ";
const KEY_THROTTLED: &str = "throttledkey0123456789ab";
const KEY_QUOTA: &str = "quotakey0123456789abcdef";
const KEY_DISABLED: &str = "disabledkey0123456789abc";

fn topology(upstream: u16, timeout_ms: u32) -> Topology {
    let yaml = format!(
        r#"
account: "111122223333"
region: us-east-1
front_doors: {{ regional: [52.94.133.10], edge: [13.249.118.20] }}
vpcs: [{{ id: vpc-0a1b2c3d, cidr: 10.0.0.0/16, dns_hostnames: true }}]
endpoints:
  - {{ id: {VPCE}, vpc: vpc-0a1b2c3d, service: execute-api, private_dns: true, subnets: [{{ id: subnet-0a1b2c3d, az: us-east-1a, address: 10.0.1.17 }}] }}
  - {{ id: {OTHER_VPCE}, vpc: vpc-0a1b2c3d, service: execute-api, private_dns: false, subnets: [{{ id: subnet-0a1b2c3d, az: us-east-1a, address: 10.0.1.18 }}] }}
apis:
  - id: a1b2c3d4e5
    name: public
    endpoint_type: REGIONAL
    stages: [prod]
    routes:
      - {{ method: GET, path: /test, integration: {{ type: MOCK, status: 200, body: '{{"ok":true}}' }} }}
      - {{ method: GET, path: "/items/{{id}}", integration: {{ type: MOCK, status: 200, body: item }} }}
      - {{ method: GET, path: /keyed, api_key_required: true, integration: {{ type: MOCK, status: 200 }} }}
      - {{ method: ANY, path: "/onprem/{{proxy+}}", api_key_required: true,
           integration: {{ type: HTTP_PROXY, uri: "https://localhost:{upstream}/{{proxy}}", timeout_ms: {timeout_ms}, ca: "lab:onprem", client_certificate: "lab:gateway" }} }}
  - id: p1r2i3v4a5
    name: private
    endpoint_type: PRIVATE
    stages: [prod]
    vpc_endpoints: [{VPCE}]
    policy:
      Version: "2012-10-17"
      Statement:
        - {{ Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: ["execute-api:/*"] }}
        - {{ Effect: Deny, Principal: "*", Action: "execute-api:Invoke", Resource: ["execute-api:/*"], Condition: {{ StringNotEquals: {{ "aws:sourceVpce": {VPCE} }} }} }}
    routes:
      - {{ method: GET, path: /test, integration: {{ type: MOCK, status: 200, body: private }} }}
  - id: n0p0l1c1y0
    name: private-without-policy
    endpoint_type: PRIVATE
    stages: [prod]
    routes: [{{ method: GET, path: /test, integration: {{ type: MOCK }} }}]
  - id: d1s4b1ed00
    name: disabled-default
    endpoint_type: REGIONAL
    stages: [prod]
    disable_execute_api_endpoint: true
    routes: [{{ method: GET, path: /test, integration: {{ type: MOCK }} }}]
  - id: w1e2b3s4o5
    name: chat
    protocol: WEBSOCKET
    endpoint_type: REGIONAL
    stages: [production]
    routes: [{{ method: GET, path: $default, integration: {{ type: MOCK, body: '{{"echo":"hello"}}' }} }}]
  - id: e1d2g3e4f5
    name: edge
    endpoint_type: EDGE
    stages: [prod]
    routes: [{{ method: GET, path: /test, integration: {{ type: MOCK, body: edge }} }}]
custom_domains:
  - name: api.example.com
    endpoint_type: REGIONAL
    dns: alias
    mtls: {{ truststore: "lab:clients" }}
    mappings: [{{ api: a1b2c3d4e5, stage: prod }}]
  - name: plain.example.com
    endpoint_type: REGIONAL
    dns: alias
    mappings: [{{ base_path: v1, api: a1b2c3d4e5, stage: prod }}]
usage_plans:
  - id: main
    stages: [{{ api: a1b2c3d4e5, stage: prod }}]
    keys:
      - {{ id: app, value: {KEY} }}
      - {{ id: off, value: {KEY_DISABLED}, enabled: false }}
  - id: tight-throttle
    throttle: {{ rate: 0.001, burst: 10 }}
    stages: [{{ api: a1b2c3d4e5, stage: prod }}]
    keys: [{{ id: throttled, value: {KEY_THROTTLED} }}]
  - id: tight-quota
    throttle: {{ rate: 0.001, burst: 1000 }}
    quota: {{ limit: 20, period: DAY }}
    stages: [{{ api: a1b2c3d4e5, stage: prod }}]
    keys: [{{ id: quota, value: {KEY_QUOTA} }}]
"#
    );
    Topology::from_yaml(&yaml, "<gateway test>").unwrap_or_else(|e| panic!("{e}"))
}

struct Lab {
    gw: Gateway,
    log: Arc<MemoryLog>,
    ca: Vec<CertificateDer<'static>>,
    metrics: Arc<parallax_gateway::metrics::GatewayMetrics>,
    _upstream: Option<OnPrem>,
}

impl Lab {
    /// A call to the regional door with the lab's API key.
    fn keyed<'a>(&self, path: &'a str) -> Call<'a> {
        Call::get(self.door("regional"), REGIONAL, path, self.ca.clone()).header("x-api-key", KEY)
    }

    async fn start() -> Lab {
        Lab::start_with(Duration::ZERO, 2_000, true).await
    }

    /// The gateway, with an on-prem upstream that answers after `delay` and requires the
    /// gateway's client certificate (or no upstream at all: a closed port).
    async fn start_with(delay: Duration, timeout_ms: u32, upstream_up: bool) -> Lab {
        Lab::start_workers(delay, timeout_ms, upstream_up, 0).await
    }

    /// As [`Lab::start_with`], with `workers` worker threads (0: the test's runtime).
    async fn start_workers(
        delay: Duration,
        timeout_ms: u32,
        upstream_up: bool,
        workers: usize,
    ) -> Lab {
        let mut certs = LabCerts::new().expect("certs");
        let upstream = if upstream_up {
            let server = certs
                .ca("onprem")
                .expect("ca")
                .issue(&LeafSpec {
                    common_name: "localhost".into(),
                    dns_names: vec!["localhost".into()],
                    server: true,
                    ..Default::default()
                })
                .expect("leaf");
            let gateway_ca = certs.ca("gateway").expect("ca").cert_der();
            Some(
                OnPrem::start(&server, Some(gateway_ca), delay)
                    .await
                    .expect("upstream starts"),
            )
        } else {
            None
        };
        let port = match &upstream {
            Some(u) => u.addr.port(),
            // A port nothing listens on: bind, note, drop.
            None => std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("port")
                .port(),
        };
        let log = Arc::new(MemoryLog::default());
        let ca = vec![certs.server_ca().cert_der()];
        let metrics = Arc::new(parallax_gateway::metrics::GatewayMetrics::new());
        let config = GatewayConfig {
            access_log: log.clone(),
            metrics: Some(metrics.clone()),
            workers,
            ..Default::default()
        };
        let gw = Gateway::start(&topology(port, timeout_ms), certs, config)
            .await
            .expect("gateway starts");
        Lab {
            gw,
            log,
            ca,
            metrics,
            _upstream: upstream,
        }
    }

    /// A client certificate from a CA the gateway does not trust.
    fn stranger() -> Identity {
        Ca::root("stranger")
            .expect("ca")
            .issue(&LeafSpec {
                common_name: "stranger".into(),
                client: true,
                ..Default::default()
            })
            .expect("leaf")
    }

    /// A client certificate from the lab's `clients` CA that has expired.
    fn expired_client(&self) -> Identity {
        self.gw
            .with_certs(|c| {
                c.ca("clients").expect("ca").issue(&LeafSpec {
                    common_name: "old".into(),
                    client: true,
                    expired: true,
                    ..Default::default()
                })
            })
            .expect("leaf")
    }

    fn door(&self, d: &str) -> std::net::SocketAddr {
        self.gw.addr_of(d).expect("door")
    }

    async fn get(&self, door: &str, host: &'static str, path: &'static str) -> Reply {
        call(&Call::get(self.door(door), host, path, self.ca.clone()))
            .await
            .expect("the call completes")
    }
}

/// Asserts status, `x-amzn-ErrorType` and body exactly, and the headers every error carries.
fn assert_error(r: &Reply, status: u16, error_type: &str, body: &str) {
    assert_eq!(
        (r.status, r.header("x-amzn-errortype"), r.body.as_str()),
        (status, Some(error_type), body),
        "{r:?}"
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let id = r.header("x-amzn-requestid").expect("x-amzn-RequestId");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert!(r.header("x-amz-apigw-id").is_some());
}

/// curl flags that print only the status code, with a time limit.
const CURL_STATUS_ONLY: [&str; 7] = [
    "-sS",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "--max-time",
    "5",
];

const FORBIDDEN: &str = r#"{"message":"Forbidden"}"#;

#[tokio::test]
async fn row1_public_api_through_an_endpoint_door_is_forbidden() {
    let lab = Lab::start().await;
    // The incident: the VPC resolver sent the public API's name to the endpoint.
    assert_error(
        &lab.get(VPCE, REGIONAL, "/prod/test").await,
        403,
        "ForbiddenException",
        FORBIDDEN,
    );
    // The same request at the regional door works.
    let ok = lab.get("regional", REGIONAL, "/prod/test").await;
    assert_eq!((ok.status, ok.body.as_str()), (200, r#"{"ok":true}"#));
    assert!(ok.header("x-amzn-errortype").is_none());
    assert!(ok.header("x-amzn-requestid").is_some() && ok.header("x-amz-apigw-id").is_some());
}

#[tokio::test]
async fn row2_private_api_from_outside_any_endpoint_is_forbidden() {
    let lab = Lab::start().await;
    assert_error(
        &lab.get("regional", PRIVATE, "/prod/test").await,
        403,
        "ForbiddenException",
        FORBIDDEN,
    );
    let ok = lab.get(VPCE, PRIVATE, "/prod/test").await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "private"));
}

#[tokio::test]
async fn row3_resource_policy_explicit_deny() {
    let lab = Lab::start().await;
    let r = lab.get(OTHER_VPCE, PRIVATE, "/prod/test").await;
    assert_error(
        &r,
        403,
        "AccessDeniedException",
        r#"{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:111122223333:p1r2i3v4a5/prod/GET/test with an explicit deny"}"#,
    );
}

#[tokio::test]
async fn row4_private_api_without_an_allowing_policy() {
    let lab = Lab::start().await;
    let r = lab.get(VPCE, NOPOLICY, "/prod/test").await;
    assert_error(
        &r,
        403,
        "AccessDeniedException",
        r#"{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:111122223333:n0p0l1c1y0/prod/GET/test because no resource-based policy allows the execute-api:Invoke action"}"#,
    );
}

#[tokio::test]
async fn row5_missing_invalid_or_disabled_api_key() {
    let lab = Lab::start().await;
    let door = lab.door("regional");
    let with = |key: Option<&str>| {
        let mut c = Call::get(door, REGIONAL, "/prod/keyed", lab.ca.clone());
        if let Some(k) = key {
            c = c.header("X-Api-Key", k);
        }
        c
    };
    for key in [None, Some("wrongkey0123456789abcdef"), Some(KEY_DISABLED)] {
        assert_error(
            &call(&with(key)).await.expect("call"),
            403,
            "ForbiddenException",
            FORBIDDEN,
        );
    }
    let ok = call(&with(Some(KEY))).await.expect("call");
    assert_eq!(ok.status, 200, "the header name is matched in any case");
}

#[tokio::test]
async fn row6_unknown_resource_or_method_is_missing_authentication_token() {
    let lab = Lab::start().await;
    let body = r#"{"message":"Missing Authentication Token"}"#;
    assert_error(
        &lab.get("regional", REGIONAL, "/prod/nope").await,
        403,
        "MissingAuthenticationTokenException",
        body,
    );
    let mut post = Call::get(lab.door("regional"), REGIONAL, "/prod/test", lab.ca.clone());
    post.method = "POST";
    assert_error(
        &call(&post).await.expect("call"),
        403,
        "MissingAuthenticationTokenException",
        body,
    );
    // Templates: `{id}` takes one segment.
    assert_eq!(
        lab.get("regional", REGIONAL, "/prod/items/42").await.status,
        200
    );
    assert_error(
        &lab.get("regional", REGIONAL, "/prod/items/42/more").await,
        403,
        "MissingAuthenticationTokenException",
        body,
    );
}

#[tokio::test]
async fn row7_unknown_stage_is_forbidden() {
    let lab = Lab::start().await;
    assert_error(
        &lab.get("regional", REGIONAL, "/test").await,
        403,
        "ForbiddenException",
        FORBIDDEN,
    );
    assert_error(
        &lab.get("regional", REGIONAL, "/dev/test").await,
        403,
        "ForbiddenException",
        FORBIDDEN,
    );
    // A custom domain without a root mapping: an unmapped base path is the same.
    assert_error(
        &lab.get("regional", "plain.example.com", "/v2/test").await,
        403,
        "ForbiddenException",
        FORBIDDEN,
    );
    assert_eq!(
        lab.get("regional", "plain.example.com", "/v1/test")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn row8_disabled_default_endpoint_is_forbidden() {
    let lab = Lab::start().await;
    assert_error(
        &lab.get("regional", DISABLED, "/prod/test").await,
        403,
        "ForbiddenException",
        FORBIDDEN,
    );
}

/// Rows 10 and 11: 32 clients at once against a plan get exactly as many 200s as it allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows10_and_11_throttle_and_quota_under_32_concurrent_clients() {
    let lab = Arc::new(Lab::start().await);
    for (key, allowed, error_type, body) in [
        (
            KEY_THROTTLED,
            10,
            "TooManyRequestsException",
            r#"{"message":"Too Many Requests"}"#,
        ),
        (
            KEY_QUOTA,
            20,
            "LimitExceededException",
            r#"{"message":"Limit Exceeded"}"#,
        ),
    ] {
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let lab = lab.clone();
            tasks.push(tokio::spawn(async move {
                let c = Call::get(
                    lab.door("regional"),
                    REGIONAL,
                    "/prod/keyed",
                    lab.ca.clone(),
                )
                .header("x-api-key", key);
                call(&c).await.expect("call")
            }));
        }
        let mut ok = 0;
        for t in tasks {
            let r = t.await.expect("task");
            if r.status == 200 {
                ok += 1;
            } else {
                assert_error(&r, 429, error_type, body);
            }
        }
        assert_eq!(ok, allowed, "{key}");
    }
}

/// Row 12: mutual TLS failures are HTTP 403, not TLS alerts.
#[tokio::test]
async fn row12_client_certificate_failures_are_http_403() {
    let lab = Lab::start().await;
    let door = lab.door("regional");
    let good = lab
        .gw
        .with_certs(|c| c.client("clients"))
        .expect("identity");
    let other = Lab::stranger();
    let expired = lab.expired_client();
    let deep = lab.gw.with_certs(|c| {
        let mut ca = c.ca("clients").expect("ca").intermediate("i1").expect("i1");
        for i in 2..=4 {
            ca = ca.intermediate(&format!("i{i}")).expect("intermediate");
        }
        ca.issue(&LeafSpec {
            common_name: "deep".into(),
            client: true,
            ..Default::default()
        })
        .expect("leaf")
    });
    let ok_3_levels = lab.gw.with_certs(|c| {
        let ca = c
            .ca("clients")
            .expect("ca")
            .intermediate("j1")
            .expect("j1")
            .intermediate("j2")
            .expect("j2")
            .intermediate("j3")
            .expect("j3");
        ca.issue(&LeafSpec {
            common_name: "four levels".into(),
            client: true,
            ..Default::default()
        })
        .expect("leaf")
    });
    let attempt = |id: Option<&parallax_gateway::pki::Identity>| {
        let mut c = Call::get(door, "api.example.com", "/test", lab.ca.clone());
        c.identity = id.map(|i| (i.chain.clone(), i.key_der()));
        c
    };
    assert_eq!(call(&attempt(Some(&good))).await.expect("call").status, 200);
    assert_eq!(
        call(&attempt(Some(&ok_3_levels)))
            .await
            .expect("call")
            .status,
        200,
        "4 CA levels above the leaf are allowed"
    );
    for (what, id) in [
        ("none", None),
        ("another CA", Some(&other)),
        ("expired", Some(&expired)),
        ("5 CA levels", Some(&deep)),
    ] {
        let r = call(&attempt(id))
            .await
            .unwrap_or_else(|e| panic!("{what}: the handshake must succeed: {e}"));
        assert_error(&r, 403, "ForbiddenException", FORBIDDEN);
    }
    let lines = lab.log.0.lock().expect("log").clone();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("the certificate has expired")),
        "the reason reaches the log"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"clientCertSubject\":\"CN=clients client")),
        "{lines:?}"
    );
}

/// Row 13: no SNI to a default hostname fails the handshake.
#[tokio::test]
async fn row13_no_sni_fails_the_handshake() {
    let lab = Lab::start().await;
    let mut c = Call::get(lab.door("regional"), REGIONAL, "/prod/test", lab.ca.clone());
    c.sni = None;
    let err = call(&c).await.expect_err("no SNI, no handshake");
    assert!(err.starts_with("tls:"), "{err}");
}

#[tokio::test]
async fn endpoint_doors_route_vpce_names_and_the_alias() {
    let lab = Lab::start().await;
    let vpce_name = "vpce-0123456789abcdef0-abcd1234.execute-api.us-east-1.vpce.amazonaws.com";
    let with_header = Call::get(lab.door(VPCE), vpce_name, "/prod/test", lab.ca.clone())
        .header("x-apigw-api-id", "p1r2i3v4a5");
    let r = call(&with_header).await.expect("call");
    assert_eq!((r.status, r.body.as_str()), (200, "private"));
    assert_error(
        &call(&Call::get(
            lab.door(VPCE),
            vpce_name,
            "/prod/test",
            lab.ca.clone(),
        ))
        .await
        .expect("call"),
        403,
        "ForbiddenException",
        FORBIDDEN,
    );
    let alias = "p1r2i3v4a5-vpce-0123456789abcdef0.execute-api.us-east-1.amazonaws.com";
    assert_eq!(
        call(&Call::get(
            lab.door(VPCE),
            alias,
            "/prod/test",
            lab.ca.clone()
        ))
        .await
        .expect("call")
        .status,
        200
    );
    // The alias is only routed by the endpoint it names.
    let mut wrong = Call::get(lab.door(OTHER_VPCE), alias, "/prod/test", lab.ca.clone());
    wrong.sni = Some(alias);
    assert_error(
        &call(&wrong).await.expect("call"),
        403,
        "ForbiddenException",
        FORBIDDEN,
    );
}

#[tokio::test]
async fn edge_door_adds_cloudfront_headers_and_serves_http2() {
    let lab = Lab::start().await;
    let mut c = Call::get(lab.door("edge"), EDGE, "/prod/test", lab.ca.clone());
    c.http2 = true;
    let r = call(&c).await.expect("call");
    assert_eq!((r.status, r.body.as_str()), (200, "edge"));
    assert!(
        r.header("via")
            .is_some_and(|v| v.ends_with(".cloudfront.net (CloudFront)"))
    );
    assert_eq!(r.header("x-cache"), Some("Miss from cloudfront"));
    assert!(r.header("x-amz-cf-pop").is_some() && r.header("x-amz-cf-id").is_some());
    let e = lab.get("edge", REGIONAL, "/prod/test").await;
    assert_eq!(e.header("x-cache"), Some("Error from cloudfront"));
}

/// HEAD has the GET's head without content (RFC 9110 §9.3.2), on HTTP/1.1 and on HTTP/2, where
/// a body after the head would break the stream; Content-Length is the GET's. (HEAD matches
/// only a HEAD or ANY method: on a path without any, both get MISSING_AUTHENTICATION_TOKEN.)
#[tokio::test]
async fn head_answers_the_get_head_without_a_body_on_both_versions() {
    let lab = Lab::start().await;
    for http2 in [false, true] {
        let mut get = Call::get(lab.door("edge"), EDGE, "/prod/nope", lab.ca.clone());
        get.http2 = http2;
        let g = call(&get).await.expect("GET");
        let mut head = Call::get(lab.door("edge"), EDGE, "/prod/nope", lab.ca.clone());
        head.http2 = http2;
        head.method = "HEAD";
        let h = call(&head).await.expect("HEAD completes");
        assert_eq!((h.status, g.status), (403, 403), "http2={http2}");
        assert_eq!(
            h.header("x-amzn-errortype"),
            g.header("x-amzn-errortype"),
            "http2={http2}"
        );
        assert_eq!(h.body, "", "http2={http2}");
        assert_eq!(
            h.header("content-length"),
            Some(g.body.len().to_string().as_str()),
            "http2={http2}"
        );
    }
}

#[tokio::test]
async fn http_proxy_reaches_an_upstream_that_wants_the_gateways_certificate() {
    let lab = Lab::start().await;
    let c = lab.keyed("/prod/onprem/orders/42?x=1");
    let r = call(&c).await.expect("call");
    assert_eq!(r.status, 200, "{r:?}");
    let echo: serde_json::Value = serde_json::from_str(&r.body).expect("echo JSON");
    assert_eq!(echo["uri"], "/orders/42?x=1");
    assert_eq!(
        echo["client_certificates"], 1,
        "the gateway presented its client certificate"
    );
    assert!(
        echo["host"]
            .as_str()
            .is_some_and(|h| h.starts_with("localhost:"))
    );
    let line = lab
        .log
        .0
        .lock()
        .expect("log")
        .last()
        .cloned()
        .expect("a line");
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON log");
    assert_eq!(
        (
            v["resourcePath"].as_str(),
            v["apiKeyId"].as_str(),
            v["stage"].as_str()
        ),
        (Some("/onprem/{proxy+}"), Some("app"), Some("prod"))
    );
    assert!(v["upstreamLatencyMs"].is_number());
}

#[tokio::test]
async fn upstream_down_or_slow_gives_504_within_the_timeout() {
    let down = Lab::start_with(Duration::ZERO, 2_000, false).await;
    let c = Call::get(
        down.door("regional"),
        REGIONAL,
        "/prod/onprem/x",
        down.ca.clone(),
    )
    .header("x-api-key", KEY);
    let r = call(&c).await.expect("call");
    assert_error(
        &r,
        504,
        "InternalServerErrorException",
        r#"{"message":"Internal server error"}"#,
    );

    let slow = Lab::start_with(Duration::from_secs(5), 300, true).await;
    let c = Call::get(
        slow.door("regional"),
        REGIONAL,
        "/prod/onprem/x",
        slow.ca.clone(),
    )
    .header("x-api-key", KEY);
    let t0 = Instant::now();
    let r = call(&c).await.expect("call");
    assert_error(
        &r,
        504,
        "InternalServerErrorException",
        r#"{"message":"Endpoint request timed out"}"#,
    );
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "answered at the 300 ms timeout, not after the upstream: {:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn bodies_over_10_mb_are_refused() {
    let lab = Lab::start().await;
    let mut c = lab.keyed("/prod/onprem/upload");
    c.method = "POST";
    c.body = vec![b'x'; 10 * 1024 * 1024 + 1];
    let r = call(&c).await.expect("call");
    assert_eq!(
        (r.status, r.header("x-amzn-errortype")),
        (413, Some("RequestTooLargeException"))
    );
}

#[tokio::test]
async fn logs_hold_no_key_values_and_no_private_keys() {
    let lab = Lab::start().await;
    let id = lab
        .gw
        .with_certs(|c| c.client("clients"))
        .expect("identity");
    for key in [KEY, KEY_DISABLED, KEY_THROTTLED] {
        let mut c = Call::get(
            lab.door("regional"),
            "api.example.com",
            "/keyed",
            lab.ca.clone(),
        )
        .header("x-api-key", key);
        c.identity = Some((id.chain.clone(), id.key_der()));
        call(&c).await.expect("call");
        call(
            &Call::get(
                lab.door("regional"),
                REGIONAL,
                "/prod/onprem/x",
                lab.ca.clone(),
            )
            .header("x-api-key", key),
        )
        .await
        .expect("call");
    }
    let lines = lab.log.0.lock().expect("log").join("\n");
    assert!(lines.contains("\"apiKeyId\":\"app\""), "ids are logged");
    for secret in [KEY, KEY_DISABLED, KEY_THROTTLED] {
        assert!(!lines.contains(secret), "a key value reached the log");
    }
    let key_pem = id.key_pem();
    let key_b64_line = key_pem.lines().nth(1).expect("a base64 line");
    assert!(
        !lines.contains("PRIVATE KEY") && !lines.contains(key_b64_line),
        "private key material reached the log"
    );
}

#[tokio::test]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let lab = Lab::start_with(Duration::from_millis(500), 5_000, true).await;
    stop_with_a_request_in_flight(lab).await;
}

/// Stops the gateway while a request is at the (slow) upstream: the request finishes with 200
/// and the door no longer accepts.
async fn stop_with_a_request_in_flight(lab: Lab) {
    let c = lab.keyed("/prod/onprem/slow");
    let arrived = lab._upstream.as_ref().expect("an upstream").arrived.clone();
    // Earlier calls may have left a stored notification (notify_one keeps one): taken first.
    let _ = tokio::time::timeout(Duration::from_millis(10), arrived.notified()).await;
    let inflight = tokio::spawn(async move { call(&c).await });
    // Shut down while the request is at the upstream.
    tokio::time::timeout(Duration::from_secs(5), arrived.notified())
        .await
        .expect("the request reaches the upstream");
    let addr = lab.door("regional");
    let Lab { gw, .. } = lab;
    gw.shutdown().await;
    let r = inflight
        .await
        .expect("task")
        .expect("the request in flight completes");
    assert_eq!(r.status, 200);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

/// Issue 31: worker threads, each with its own listener (SO_REUSEPORT) and runtime. Many
/// connections at once all get their answers, MOCK and proxied (each worker dials its own
/// upstream connections and reuses them), every request is logged, and a request in flight
/// when the gateway stops still finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_threads_serve_every_door_and_stop_gracefully() {
    let lab = Lab::start_workers(Duration::from_millis(300), 5_000, true, 3).await;
    let calls: Vec<_> = (0..48)
        .map(|i| {
            let path = if i % 2 == 0 {
                "/prod/onprem/orders/1"
            } else {
                "/prod/keyed"
            };
            let c = lab.keyed(path);
            tokio::spawn(async move { call(&c).await })
        })
        .collect();
    for c in calls {
        let r = c.await.expect("task").expect("the call completes");
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert_eq!(lab.log.0.lock().expect("log").len(), 48);
    let opened = || -> u64 {
        let text = lab.metrics.encode_text();
        text.lines()
            .find_map(|l| l.strip_prefix("parallax_gateway_upstream_connections_opened_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("an opened count in {text}"))
    };
    let after_burst = opened();
    assert!(
        (1..=24).contains(&after_burst),
        "{after_burst} upstream connections"
    );
    // Calls one at a time, each on a new client connection (on whichever worker the kernel
    // picks): every worker reuses the upstream connections it opened in the burst.
    for _ in 0..6 {
        let c = lab.keyed("/prod/onprem/orders/2");
        assert_eq!(call(&c).await.expect("call").status, 200);
    }
    assert_eq!(opened(), after_burst, "no new upstream connection");
    // Stopped with a request at the upstream: it finishes, and the door closes.
    stop_with_a_request_in_flight(lab).await;
}

/// Issue 31: the kernel gives a new connection to one worker's listener by a hash of its ports,
/// not by load; the workers still serve equal shares. Twelve connections, one after another,
/// over three workers: after each, the shares differ by at most one; then every one of them,
/// handed over or not, completes a TLS handshake and gets its answer; closed, they are no
/// longer counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_spread_evenly_over_the_workers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let lab = Lab::start_workers(Duration::ZERO, 2_000, true, 3).await;
    let door = lab.door("regional");
    let counts = || lab.gw.worker_connections("regional").expect("workers");
    // Accepted by a worker some time after the client's connect returns.
    let settled = |n: usize| async move {
        for _ in 0..500 {
            let c = counts();
            if c.iter().sum::<usize>() == n {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{n} connections never all counted: {:?}", counts());
    };
    assert_eq!(lab.gw.worker_connections("nowhere"), None);
    let mut held = Vec::new();
    for n in 1..=12 {
        held.push(tokio::net::TcpStream::connect(door).await.expect("connect"));
        let c = settled(n).await;
        let (lo, hi) = (c.iter().min(), c.iter().max());
        assert!(
            hi.zip(lo).is_some_and(|(h, l)| h - l <= 1),
            "after {n} connections: {c:?}"
        );
    }
    let tls = tls_connector(&lab.ca);
    let mut answered = 0;
    for tcp in held {
        let mut s = tls
            .connect(
                rustls::pki_types::ServerName::try_from(REGIONAL).expect("name"),
                tcp,
            )
            .await
            .expect("handshake");
        let req = format!(
            "GET /prod/keyed HTTP/1.1\r\nHost: {REGIONAL}\r\nx-api-key: {KEY}\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.expect("request");
        let mut reply = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut reply))
            .await
            .expect("answered in time")
            .expect("read");
        assert!(
            reply.starts_with(b"HTTP/1.1 200 "),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        answered += 1;
    }
    assert_eq!(answered, 12);
    settled(0).await;
    lab.gw.shutdown().await;
}

/// A scratch directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "parallax-gw-{tag}-{}-{}",
            std::process::id(),
            parallax_gateway::server::uuid4()
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Interop: real curl through the custom domain with mutual TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_with_client_certificates() {
    let Some(curl) = parallax_testkit::interop::require("curl", "the Debian package curl") else {
        return;
    };
    let lab = Lab::start().await;
    let dir = TempDir::new("curl");
    lab.gw
        .with_certs(|c| c.write_to(&dir.0))
        .expect("write certs");
    let stranger = Lab::stranger();
    let expired = lab.expired_client();
    for (name, id) in [("stranger", &stranger), ("expired", &expired)] {
        std::fs::write(dir.0.join(format!("{name}.pem")), id.chain_pem()).expect("write");
        std::fs::write(dir.0.join(format!("{name}.key")), id.key_pem()).expect("write");
    }
    let connect_to = format!("api.example.com:443:{}", lab.door("regional"));
    let dir_path = dir.0.clone();
    let run = move |cert: Option<&str>| {
        let mut cmd = std::process::Command::new(&curl);
        cmd.args(CURL_STATUS_ONLY)
            .arg("--cacert")
            .arg(dir_path.join("server-ca.pem"));
        cmd.args([
            "--connect-to",
            &connect_to,
            "-H",
            &format!("x-api-key: {KEY}"),
        ]);
        if let Some(c) = cert {
            cmd.arg("--cert")
                .arg(dir_path.join(format!("{c}.pem")))
                .arg("--key")
                .arg(dir_path.join(format!("{c}.key")));
        }
        cmd.arg("https://api.example.com/keyed");
        let out = cmd.output().expect("curl runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let results = tokio::task::spawn_blocking(move || {
        [
            Some("clients-client"),
            None,
            Some("stranger"),
            Some("expired"),
        ]
        .map(run)
    })
    .await
    .expect("curl calls");
    assert_eq!(
        results,
        ["200", "403", "403", "403"].map(str::to_owned),
        "with the lab client cert, none, another CA's, an expired one"
    );
}

/// Interop: `openssl s_client` without SNI to a default hostname fails the handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_without_sni_fails_the_handshake() {
    let Some(openssl) = parallax_testkit::interop::require("openssl", "the Debian package openssl")
    else {
        return;
    };
    let lab = Lab::start().await;
    let addr = lab.door("regional").to_string();
    let dir = TempDir::new("openssl");
    lab.gw
        .with_certs(|c| c.write_to(&dir.0))
        .expect("write certs");
    let ca = dir.0.join("server-ca.pem");
    let (no_sni, with_sni) = tokio::task::spawn_blocking(move || {
        let run = |extra: &[&str]| {
            let out = std::process::Command::new(&openssl)
                .args(["s_client", "-connect", &addr, "-CAfile"])
                .arg(&ca)
                .args(extra)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("openssl runs");
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        };
        (run(&["-noservername"]), run(&["-servername", REGIONAL]))
    })
    .await
    .expect("openssl calls");
    assert!(no_sni.contains("alert"), "no SNI: {no_sni}");
    assert!(
        with_sni.contains("Verify return code: 0 (ok)"),
        "with SNI: {with_sni}"
    );
}

/// Strict mode (the standalone proxy): bad or missing certificates fail the handshake, and CRLs
/// are checked.
#[tokio::test]
async fn strict_mutual_tls_fails_the_handshake_and_checks_crls() {
    let mut certs = LabCerts::new().expect("certs");
    let good = certs.client("clients").expect("identity");
    let revoked = certs
        .ca("clients")
        .expect("ca")
        .issue(&LeafSpec {
            common_name: "revoked".into(),
            client: true,
            ..Default::default()
        })
        .expect("leaf");
    let crl = certs
        .ca("clients")
        .expect("ca")
        .crl_pem(&[revoked.serial()])
        .expect("crl");
    let dir = TempDir::new("strict");
    let crl_path = dir.0.join("clients.crl.pem");
    std::fs::write(&crl_path, crl).expect("write crl");
    let yaml = format!(
        r#"
region: us-east-1
front_doors: {{ regional: [52.94.133.10] }}
apis: [{{ id: a1b2c3d4e5, name: a, endpoint_type: REGIONAL, stages: [prod], routes: [{{ method: GET, path: /test, integration: {{ type: MOCK, body: strict }} }}] }}]
custom_domains:
  - name: proxy.example.com
    endpoint_type: REGIONAL
    dns: alias
    mtls: {{ truststore: "lab:clients", strict: true, crls: ["{}"] }}
    mappings: [{{ api: a1b2c3d4e5, stage: prod }}]
"#,
        crl_path.display()
    );
    let t = Topology::from_yaml(&yaml, "<strict>").unwrap_or_else(|e| panic!("{e}"));
    let ca = vec![certs.server_ca().cert_der()];
    let gw = Gateway::start(
        &t,
        certs,
        GatewayConfig {
            access_log: Arc::new(MemoryLog::default()),
            ..Default::default()
        },
    )
    .await
    .expect("starts");
    let door = gw.addr_of("regional").expect("door");
    let attempt = |id: Option<&parallax_gateway::pki::Identity>| {
        let mut c = Call::get(door, "proxy.example.com", "/test", ca.clone());
        c.identity = id.map(|i| (i.chain.clone(), i.key_der()));
        c
    };
    let ok = call(&attempt(Some(&good)))
        .await
        .expect("a good certificate passes");
    assert_eq!((ok.status, ok.body.as_str()), (200, "strict"));
    let stranger = Lab::stranger();
    for (what, id) in [
        ("none", None),
        ("revoked", Some(&revoked)),
        ("another CA", Some(&stranger)),
    ] {
        // TLS 1.3 reports a refused client certificate on the first read, so the error may
        // surface at the request rather than at the handshake; either way there is no response.
        let r = call(&attempt(id)).await;
        assert!(r.is_err(), "{what}: expected no HTTP response, got {r:?}");
    }
}

#[tokio::test]
async fn a_custom_domain_reached_at_an_endpoint_door_fails_the_name_check() {
    // A CNAME-published domain followed into the endpoint's zone lands at the endpoint, which
    // serves its *.execute-api certificate (reference §2.5).
    let lab = Lab::start().await;
    let err = call(&Call::get(
        lab.door(VPCE),
        "plain.example.com",
        "/v1/test",
        lab.ca.clone(),
    ))
    .await
    .expect_err("name mismatch");
    assert!(
        err.contains("NotValidForName") || err.contains("not valid for name"),
        "{err}"
    );
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_connections_are_capped() {
    use tokio::io::AsyncWriteExt;
    let mut certs = LabCerts::new().expect("certs");
    let ca = vec![certs.server_ca().cert_der()];
    let _ = certs.server(&["x".into()]);
    let config = GatewayConfig {
        header_read_timeout: Duration::from_millis(300),
        max_connections: 1,
        access_log: Arc::new(MemoryLog::default()),
        ..Default::default()
    };
    let gw = Gateway::start(&topology(1, 1000), certs, config)
        .await
        .expect("starts");
    let door = gw.addr_of("regional").expect("door");
    // A client that connects and sends nothing holds the only slot until the timeout frees it.
    let mut idle = tokio::net::TcpStream::connect(door).await.expect("connect");
    idle.write_all(b"\x16")
        .await
        .expect("one byte of a ClientHello");
    // The accept queue is first in, first out: the idle client takes the only slot first.
    let t0 = Instant::now();
    let r = call(&Call::get(door, REGIONAL, "/prod/test", ca.clone()))
        .await
        .expect("served once the slow client is cut off");
    assert_eq!(r.status, 200);
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(150),
        "the second connection waited for the only slot: {waited:?}"
    );
    drop(idle);
}

/// The lab's upstream map: the on-prem name goes to a loopback socket (TLS still checks the
/// name), and in lab mode any other upstream is refused rather than resolved.
#[tokio::test]
async fn upstream_map_sends_on_prem_names_to_loopback_and_refuses_the_rest() {
    let seed = parallax_model::Scenario::seed().expect("seed");
    let t = seed.topology_at(0).expect("state").clone();
    let mut certs = LabCerts::new().expect("certs");
    let server = certs
        .ca("onprem-ca")
        .expect("ca")
        .issue(&LeafSpec {
            common_name: "onprem".into(),
            dns_names: vec!["onprem.corp.example.com".into()],
            server: true,
            ..Default::default()
        })
        .expect("leaf");
    let onprem = OnPrem::start(
        &server,
        Some(certs.ca("gateway").expect("ca").cert_der()),
        Duration::ZERO,
    )
    .await
    .expect("upstream");
    let ca = vec![certs.server_ca().cert_der()];
    let mut routes = parallax_gateway::UpstreamRoutes::only_mapped();
    routes
        .map
        .insert(("onprem.corp.example.com".into(), 443), onprem.addr);
    let log = Arc::new(MemoryLog::default());
    let gw = Gateway::start(
        &t,
        certs,
        GatewayConfig {
            access_log: log.clone(),
            upstream_routes: routes,
            ..Default::default()
        },
    )
    .await
    .expect("gateway");
    let key = "labkeyecsapp0123456789abcdef";
    let c = Call::get(
        gw.addr_of("regional").expect("door"),
        REGIONAL,
        "/prod/onprem/orders",
        ca.clone(),
    )
    .header("x-api-key", key);
    let r = call(&c).await.expect("call");
    assert_eq!(r.status, 200, "{r:?}");
    let echo: serde_json::Value = serde_json::from_str(&r.body).expect("echo");
    assert_eq!(echo["uri"], "/orders");
    assert!(
        echo["client_subject"]
            .as_str()
            .is_some_and(|s| s.contains("gateway client")),
        "{echo}"
    );

    // Same gateway setup without the mapping: refused, never resolved.
    let certs = LabCerts::new().expect("certs");
    let ca = vec![certs.server_ca().cert_der()];
    let log = Arc::new(MemoryLog::default());
    let routes = parallax_gateway::UpstreamRoutes::only_mapped();
    let gw = Gateway::start(
        &t,
        certs,
        GatewayConfig {
            access_log: log.clone(),
            upstream_routes: routes,
            ..Default::default()
        },
    )
    .await
    .expect("gateway");
    let c = Call::get(
        gw.addr_of("regional").expect("door"),
        REGIONAL,
        "/prod/onprem/orders",
        ca,
    )
    .header("x-api-key", key);
    assert_eq!(call(&c).await.expect("call").status, 504);
    let lines = log.0.lock().expect("log").join("\n");
    assert!(lines.contains("not in the lab's upstream map"), "{lines}");
}

/// Garbage in place of a ClientHello, and a malformed request over good TLS: the connection is
/// refused and the door keeps serving.
#[tokio::test]
async fn garbage_does_not_stop_a_door() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let lab = Lab::start().await;
    let door = lab.door("regional");
    for garbage in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 0, 0][..],
        &[0u8; 4096][..],
    ] {
        let mut s = tokio::net::TcpStream::connect(door).await.expect("connect");
        let _ = s.write_all(garbage).await;
        let mut buf = [0u8; 256];
        let _ = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await;
    }
    // A malformed request line over a valid TLS connection.
    let tcp = tokio::net::TcpStream::connect(door).await.expect("connect");
    let mut tls = tls_connector(&lab.ca)
        .connect(
            rustls::pki_types::ServerName::try_from(REGIONAL).expect("name"),
            tcp,
        )
        .await
        .expect("handshake");
    tls.write_all(b"NOT A REQUEST\x00\x01\r\n\r\n")
        .await
        .expect("write");
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), tls.read_to_end(&mut reply)).await;
    assert!(
        reply.starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    assert_eq!(
        lab.get("regional", REGIONAL, "/prod/test").await.status,
        200,
        "still serving"
    );
}

/// Behind a load balancer with proxy protocol on: the header's source address is the client
/// (`clientIp` in the access log, `aws:SourceIp`); a connection without one is closed; curl's
/// `--haproxy-protocol` (v1) is understood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_protocol_gives_the_client_address() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let certs = LabCerts::new().expect("certs");
    let ca = vec![certs.server_ca().cert_der()];
    let log = Arc::new(MemoryLog::default());
    let config = GatewayConfig {
        access_log: log.clone(),
        proxy_protocol: true,
        header_read_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let gw = Gateway::start(&topology(1, 2_000), certs, config)
        .await
        .expect("gateway starts");
    let door = gw.addr_of("regional").expect("door");

    // Without a header the ClientHello is not a PROXY header: closed, nothing served.
    assert!(
        call(&Call::get(door, REGIONAL, "/prod/test", ca.clone()))
            .await
            .is_err()
    );

    // A v2 header (as an NLB sends), then TLS and the request.
    let mut tcp = tokio::net::TcpStream::connect(door).await.expect("connect");
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    header.extend([
        0x21, 0x11, 0, 12, 198, 51, 100, 7, 127, 0, 0, 1, 0x9c, 0x40, 1, 187,
    ]);
    tcp.write_all(&header).await.expect("header");
    let mut tls = tls_connector(&ca)
        .connect(
            rustls::pki_types::ServerName::try_from(REGIONAL).expect("name"),
            tcp,
        )
        .await
        .expect("handshake after the header");
    tls.write_all(
        format!("GET /prod/test HTTP/1.1\r\nHost: {REGIONAL}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .expect("write");
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut reply)).await;
    assert!(
        reply.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    let lines = log.0.lock().expect("log").join("\n");
    assert!(
        lines.contains(r#""clientIp":"198.51.100.7""#),
        "the header's source is the client: {lines}"
    );

    // curl --haproxy-protocol sends v1 with the socket's own addresses.
    let Some(curl) = parallax_testkit::interop::require("curl", "the Debian package curl") else {
        return;
    };
    let dir = TempDir::new("haproxy");
    gw.with_certs(|c| c.write_to(&dir.0)).expect("write certs");
    let mut cmd = std::process::Command::new(&curl);
    cmd.args(CURL_STATUS_ONLY)
        .args(["--haproxy-protocol", "--cacert"])
        .arg(dir.0.join("server-ca.pem"))
        .args(["--connect-to", &format!("{REGIONAL}:443:{door}")])
        .arg(format!("https://{REGIONAL}/prod/test"));
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("curl runs"))
        .await
        .expect("curl");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    gw.shutdown().await;
}

/// A TLS client that trusts the lab's server CA, for tests that write raw bytes around TLS.
fn tls_connector(ca: &[CertificateDer<'static>]) -> tokio_rustls::TlsConnector {
    hardening::connector(ca, None, &[])
}

/// Interop: a real WebSocket client (Python's `websockets`) through the regional door: the
/// handshake (RFC 6455 §4), a message answered by `$default`, a ping answered by a pong, a clean
/// close; a wrong stage refused at the handshake with 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_websocket_client_talks_to_a_websocket_api() {
    let Some(python) =
        parallax_testkit::interop::require_python_module("websockets", "websockets from PyPI")
    else {
        return;
    };
    let lab = Lab::start().await;
    let dir = TempDir::new("websocket");
    lab.gw
        .with_certs(|c| c.write_to(&dir.0))
        .expect("write certs");
    let door = lab.door("regional");
    let script = r#"
import asyncio, ssl, sys
try:  # websockets 13 and later
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus as Refused
    status = lambda e: e.response.status_code
except ImportError:  # Debian's python3-websockets (10.x): the legacy client
    from websockets import connect
    from websockets.exceptions import InvalidStatusCode as Refused
    status = lambda e: e.status_code

async def main(ca, port, name):
    ctx = ssl.create_default_context(cafile=ca)
    kw = dict(ssl=ctx, host="127.0.0.1", port=int(port), server_hostname=name, open_timeout=5, close_timeout=2)
    async with connect(f"wss://{name}/production", **kw) as ws:
        await ws.send('{"action":"sendmessage","text":"hi"}')
        print(await asyncio.wait_for(ws.recv(), 5))
        await asyncio.wait_for(await ws.ping(), 5)
        print("pong")
    try:
        async with connect(f"wss://{name}/staging", **kw):
            print("opened")
    except Refused as e:
        print(status(e))

asyncio.run(main(*sys.argv[1:]))
"#;
    let ca = dir.0.join("server-ca.pem");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .arg("-c")
            .arg(script)
            .arg(&ca)
            .arg(door.port().to_string())
            .arg("w1e2b3s4o5.execute-api.us-east-1.amazonaws.com")
            .output()
            .expect("python runs")
    })
    .await
    .expect("client");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"echo\":\"hello\"}\npong\n403\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The admin listener: `/metrics` counts requests by door, API, stage, status and error type
/// (an unknown host's made-up API id never becomes a label), client-certificate refusals by
/// reason, refused connections and open ones; the text passes `promtool check metrics`;
/// `/healthz` and `/readyz` answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_counts_with_bounded_labels() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let lab = Lab::start().await;
    assert_eq!(
        lab.get("regional", REGIONAL, "/prod/test").await.status,
        200
    );
    assert_eq!(
        lab.get("regional", REGIONAL, "/prod/nope").await.status,
        403
    );
    assert_eq!(
        lab.get(
            "regional",
            "zzzzzzzzzz.execute-api.us-east-1.amazonaws.com",
            "/prod/test"
        )
        .await
        .status,
        403
    );
    let c = Call::get(
        lab.door("regional"),
        "api.example.com",
        "/keyed",
        lab.ca.clone(),
    )
    .header("x-api-key", KEY);
    assert_eq!(
        call(&c).await.expect("call").status,
        403,
        "no client certificate"
    );
    // Through to the upstream: one pooled upstream connection opened, still open.
    let c = lab.keyed("/prod/onprem/x");
    assert_eq!(call(&c).await.expect("call").status, 200);
    // A client that does not trust the gateway's certificate: it ends the handshake with an
    // alert (RFC 8446 §6.2), a typed handshake failure.
    let untrusting = Call::get(lab.door("regional"), REGIONAL, "/prod/test", Vec::new());
    assert!(
        call(&untrusting).await.is_err(),
        "the client refuses the server"
    );
    // Not TLS at all: refused before any request.
    let mut raw = tokio::net::TcpStream::connect(lab.door("regional"))
        .await
        .expect("connect");
    raw.write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .expect("send");
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut sink)).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let admin = listener.local_addr().expect("addr");
    let ready = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(parallax_gateway::admin::serve(
        listener,
        lab.metrics.clone(),
        ready.clone(),
        stopped,
    ));
    let get = |path: &'static str| parallax_testkit::http::get(admin, path, "");
    // The last request's line is written when its body ends: wait for the count, bounded.
    let mut text = String::new();
    for _ in 0..50 {
        text = get("/metrics").await;
        if text.contains("reason=\"client-hello\"")
            && text.contains("reason=\"not-sent\"")
            && text.contains("reason=\"alert-from-client\"")
        {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for want in [
        "parallax_gateway_requests_total{door=\"regional\",api=\"a1b2c3d4e5\",stage=\"prod\",status=\"200\",error_type=\"-\"} 2",
        "parallax_gateway_requests_total{door=\"regional\",api=\"a1b2c3d4e5\",stage=\"prod\",status=\"403\",error_type=\"MissingAuthenticationTokenException\"} 1",
        "parallax_gateway_requests_total{door=\"regional\",api=\"-\",stage=\"-\",status=\"403\",error_type=\"ForbiddenException\"}",
        "parallax_gateway_client_certificate_refusals_total{door=\"regional\",reason=\"not-sent\"} 1",
        "parallax_gateway_connections_refused_total{door=\"regional\",reason=\"client-hello\"} 1",
        "parallax_gateway_request_duration_seconds_bucket{le=",
        "parallax_gateway_open_connections{door=\"regional\"}",
        "parallax_gateway_tls_handshake_failures_total{door=\"regional\",reason=\"alert-from-client\"} 1",
        "parallax_gateway_upstream_connections_opened_total 1",
        "parallax_gateway_upstream_connections_open 1",
        "parallax_gateway_upstream_connect_failures_total 0",
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
    assert!(
        !text.contains("zzzzzzzzzz"),
        "a made-up API id became a label"
    );
    parallax_testkit::http::assert_promtool_accepts(&text).await;
    assert!(get("/healthz").await.starts_with("HTTP/1.1 200"));
    assert!(get("/readyz").await.starts_with("HTTP/1.1 200"));
    ready.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(get("/readyz").await.starts_with("HTTP/1.1 503"));
    let _ = stop.send(true);
    let _ = server.await;
}

/// Issue 26: upstream connections are capped, as Envoy's circuit breakers cap them. Ten calls
/// at once to an upstream that never answers, with two connections allowed to it and one
/// request allowed to wait: the upstream never has more than two open, not ten; one call waits
/// for a connection (and times out, 504 "Endpoint request timed out", as the two do); the other
/// seven get API Gateway's integration failure at once; /metrics counts the overflows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_are_capped() {
    use tokio::io::AsyncReadExt;
    let stalled = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let upstream = stalled.local_addr().expect("addr");
    // Connections open now, and the most ever open at once.
    let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (o, m) = (open.clone(), most.clone());
    tokio::spawn(async move {
        use std::sync::atomic::Ordering::SeqCst;
        while let Ok((mut s, _)) = stalled.accept().await {
            let now = o.fetch_add(1, SeqCst) + 1;
            m.fetch_max(now, SeqCst);
            let o = o.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                // Reads the request and never answers, until the gateway lets go.
                while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
                o.fetch_sub(1, SeqCst);
            });
        }
    });
    let t = parallax_model::Topology::from_yaml(
        "region: us-east-1\nfront_doors: { regional: [52.94.133.10] }\napis:\n  - id: a1b2c3d4e5\n    name: orders\n    endpoint_type: REGIONAL\n    stages: [prod]\n    routes:\n      - { method: GET, path: /slow, integration: { type: HTTP_PROXY, uri: 'http://slow.test:8080/x', timeout_ms: 3000 } }\n",
        "t.yaml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let certs = LabCerts::new().expect("certs");
    let ca = vec![certs.server_ca().cert_der()];
    let mut routes = parallax_gateway::UpstreamRoutes::only_mapped();
    routes.map.insert(("slow.test".into(), 8080), upstream);
    routes.limits = parallax_gateway::UpstreamLimits {
        max_connections: 100,
        max_per_origin: 2,
        max_pending: 1,
    };
    let metrics = Arc::new(parallax_gateway::metrics::GatewayMetrics::new());
    let gw = Gateway::start(
        &t,
        certs,
        GatewayConfig {
            upstream_routes: routes,
            metrics: Some(metrics.clone()),
            access_log: Arc::new(MemoryLog::default()),
            ..Default::default()
        },
    )
    .await
    .expect("gateway");
    let door = gw.addr_of("regional").expect("door");
    let calls: Vec<_> = (0..10)
        .map(|i| {
            let ca = ca.clone();
            tokio::spawn(async move {
                // Spread a little, so that the two connections are open before the rest ask.
                tokio::time::sleep(Duration::from_millis(50 * i)).await;
                let c = Call::get(door, REGIONAL, "/prod/slow", ca);
                call(&c).await.expect("call")
            })
        })
        .collect();
    let mut replies = Vec::new();
    for c in calls {
        replies.push(c.await.expect("joined"));
    }
    let timed_out = replies
        .iter()
        .filter(|r| r.body.contains("Endpoint request timed out"))
        .count();
    let refused = replies
        .iter()
        .filter(|r| r.body.contains("Internal server error"))
        .count();
    assert!(replies.iter().all(|r| r.status == 504), "{replies:?}");
    assert_eq!(
        most.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "never more than the cap's two connections open at once"
    );
    assert_eq!((timed_out, refused), (3, 7), "{replies:?}");
    let text = metrics.encode_text();
    assert!(
        text.contains("parallax_gateway_upstream_overflows_total{cap=\"pending\"} 7"),
        "{text}"
    );
    gw.shutdown().await;
}

/// Issue 26: arbitrary bytes after the TLS handshake, and a valid request with a byte replaced,
/// on the gateway's request path (HTTP/1.1 head parsing, and HTTP/2's preface when the bytes
/// start like it): each gets an answer or a close, and the door serves a valid request after
/// them all. A bounded number of cases.
#[test]
fn arbitrary_request_bytes_never_stop_a_door() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let lab = rt.block_on(Lab::start());
    let door = lab.door("regional");
    let valid = format!(
        "GET /prod/test HTTP/1.1\r\nHost: {REGIONAL}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    );
    let strategy = (
        prop::collection::vec(any::<u8>(), 0..400),
        any::<usize>(),
        any::<u8>(),
        prop::sample::select(vec![
            &b""[..],
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"GET / HTTP/1.1\r\n",
        ]),
    );
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(noise, at, byte, prefix)| {
            let mut mutated = valid.clone().into_bytes();
            let i = at % mutated.len();
            mutated[i] = byte;
            let mut prefixed = prefix.to_vec();
            prefixed.extend_from_slice(&noise);
            for bytes in [prefixed, mutated] {
                rt.block_on(async {
                    let Ok(tcp) = tokio::net::TcpStream::connect(door).await else {
                        return;
                    };
                    let Ok(mut tls) = tls_connector(&lab.ca)
                        .connect(
                            rustls::pki_types::ServerName::try_from(REGIONAL).expect("name"),
                            tcp,
                        )
                        .await
                    else {
                        return;
                    };
                    let _ = tls.write_all(&bytes).await;
                    let mut reply = Vec::new();
                    let _ = tokio::time::timeout(
                        Duration::from_millis(300),
                        tls.read_to_end(&mut reply),
                    )
                    .await;
                });
            }
            Ok(())
        })
        .expect("no case failed");
    let ok = rt.block_on(lab.get("regional", REGIONAL, "/prod/test"));
    assert_eq!(ok.status, 200, "{ok:?}");
}

/// Interop: real curl signs with `--aws-sigv4 "aws:amz:us-east-1:execute-api" --user KEY:SECRET`
/// (curl's own SigV4 implementation, not the crate the gateway verifies with): GET, a POST
/// whose body is signed, an extra signed header, and a wrong secret and an unknown key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_aws_sigv4_against_iam_methods() {
    let Some(curl) = parallax_testkit::interop::require("curl", "the Debian package curl") else {
        return;
    };
    let t = Topology::from_yaml(
        r#"
account: "111122223333"
region: us-east-1
front_doors: { regional: [52.94.133.10] }
iam_principals:
  - arn: arn:aws:iam::111122223333:user/alice
    access_key_id: AKIAALICE0000000001
    secret_access_key: alice0secret0key0for0the0test0only000001
    policy: { Statement: [{ Effect: Allow, Action: "execute-api:Invoke", Resource: "*" }] }
apis:
  - id: a1b2c3d4e5
    name: ledger
    endpoint_type: REGIONAL
    stages: [prod]
    routes:
      - { method: GET, path: /balance, authorization: AWS_IAM, integration: { type: MOCK, body: balance } }
      - { method: POST, path: /transfers, authorization: AWS_IAM, integration: { type: MOCK, body: posted } }
"#,
        "<iam>",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let certs = LabCerts::new().expect("certs");
    let gw = Gateway::start(&t, certs, GatewayConfig::default())
        .await
        .expect("gateway starts");
    let dir = TempDir::new("sigv4");
    gw.with_certs(|c| c.write_to(&dir.0)).expect("write certs");
    let door = gw.addr_of("regional").expect("door");
    let run = move |args: Vec<String>| {
        let mut cmd = std::process::Command::new(&curl);
        cmd.args(CURL_STATUS_ONLY)
            .arg("--cacert")
            .arg(dir.0.join("server-ca.pem"))
            .args(["--connect-to", &format!("{REGIONAL}:443:{door}")])
            .args(["--aws-sigv4", "aws:amz:us-east-1:execute-api"])
            .args(args);
        let out = cmd.output().expect("curl runs");
        format!(
            "{} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    };
    let alice = "AKIAALICE0000000001:alice0secret0key0for0the0test0only000001".to_owned();
    let url = |p: &str| format!("https://{REGIONAL}/prod/{p}");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--user".into(), alice.clone(), url("balance")], "200"),
        (
            vec![
                "--user".into(),
                alice.clone(),
                "-H".into(),
                "x-request-purpose: audit".into(),
                url("balance"),
            ],
            "200",
        ),
        (
            vec![
                "--user".into(),
                alice.clone(),
                "-H".into(),
                "content-type: application/json".into(),
                "-d".into(),
                r#"{"amount":12}"#.into(),
                url("transfers"),
            ],
            "200",
        ),
        (
            vec![
                "--user".into(),
                "AKIAALICE0000000001:wrong".into(),
                url("balance"),
            ],
            "403",
        ),
        (
            vec![
                "--user".into(),
                "AKIAUNKNOWN00000001:whatever".into(),
                url("balance"),
            ],
            "403",
        ),
    ];
    let got = tokio::task::spawn_blocking(move || {
        cases
            .into_iter()
            .map(|(args, want)| (args.join(" "), run(args), want))
            .collect::<Vec<_>>()
    })
    .await
    .expect("curl");
    for (args, got, want) in got {
        assert!(got.starts_with(want), "curl {args}: {got}");
    }
    gw.shutdown().await;
}
