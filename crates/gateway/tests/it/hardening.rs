//! Issue 10, from the attacker's side and a bad network's: every way found to get past the
//! gateway's checks, hang it, or make it lose what it logs, run against the live gateway.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parallax_gateway::pki::Identity;
use parallax_gateway::{Gateway, GatewayConfig, LabCerts, MemoryLog};
use parallax_model::Topology;
use parallax_testkit::attacks::{ATTACKS, Cert, Form};
use parallax_testkit::https::{Call, call};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Armed {
    gw: Gateway,
    log: Arc<MemoryLog>,
    ca: Vec<CertificateDer<'static>>,
}

impl Armed {
    async fn start(yaml: &str, tweak: impl FnOnce(&mut GatewayConfig)) -> Armed {
        let topology = Topology::from_yaml(yaml, "<hardening>").unwrap_or_else(|e| panic!("{e}"));
        let certs = LabCerts::new().expect("certs");
        let ca = vec![certs.server_ca().cert_der()];
        let log = Arc::new(MemoryLog::default());
        let mut config = GatewayConfig {
            access_log: log.clone(),
            ..Default::default()
        };
        tweak(&mut config);
        let gw = Gateway::start(&topology, certs, config)
            .await
            .expect("gateway starts");
        Armed { gw, log, ca }
    }

    fn regional(&self) -> std::net::SocketAddr {
        self.gw.addr_of("regional").expect("door")
    }

    fn identity(&self, cert: Cert) -> Option<Identity> {
        let name = match cert {
            Cert::None => return None,
            Cert::Clients => "clients",
            Cert::Partners => "partners",
        };
        Some(self.gw.with_certs(|c| c.client(name)).expect("identity"))
    }

    fn lines(&self) -> Vec<serde_json::Value> {
        self.log
            .0
            .lock()
            .expect("log")
            .iter()
            .map(|l| serde_json::from_str(l).expect("every line is JSON"))
            .collect()
    }
}

/// A TLS client (optionally with a client identity) for raw bytes over TLS.
pub(crate) fn connector(
    ca: &[CertificateDer<'static>],
    id: Option<&Identity>,
    alpn: &[&[u8]],
) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(ca.iter().cloned());
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    let mut config = match id {
        Some(i) => b
            .with_client_auth_cert(i.chain.clone(), i.key_der())
            .expect("identity"),
        None => b.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Sends raw bytes over TLS and reads until the server closes (at most 5 s).
async fn raw_exchange(
    addr: std::net::SocketAddr,
    sni: &str,
    ca: &[CertificateDer<'static>],
    id: Option<&Identity>,
    bytes: &[u8],
) -> String {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut tls = connector(ca, id, &[b"http/1.1"])
        .connect(ServerName::try_from(sni.to_owned()).expect("name"), tcp)
        .await
        .expect("handshake");
    tls.write_all(bytes).await.expect("write");
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut reply)).await;
    String::from_utf8_lossy(&reply).into_owned()
}

fn status_of(raw: &str) -> Option<u16> {
    raw.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Every row of the attacker's table against the live gateway: status and error type as AWS's
/// documentation gives them.
#[tokio::test]
async fn the_attackers_table_against_the_live_gateway() {
    let armed = Armed::start(parallax_testkit::attacks::TOPOLOGY, |_| {}).await;
    let door = armed.regional();
    let mut wrong = Vec::new();
    for a in ATTACKS {
        let id = armed.identity(a.cert);
        let (status, error_type) = match a.form {
            Form::Origin | Form::Http2 => {
                let mut c = Call::get(door, a.host, a.path, armed.ca.clone());
                c.sni = Some(a.sni);
                c.method = a.method;
                c.http2 = a.form == Form::Http2;
                c.identity = id.as_ref().map(|i| (i.chain.clone(), i.key_der()));
                let r = call(&c).await.unwrap_or_else(|e| panic!("{}: {e}", a.what));
                (r.status, r.header("x-amzn-errortype").map(str::to_owned))
            }
            Form::AbsoluteForm => {
                let req = format!(
                    "{} https://{}{} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    a.method, a.host, a.path, a.sni
                );
                let raw = raw_exchange(door, a.sni, &armed.ca, id.as_ref(), req.as_bytes()).await;
                let error_type = raw
                    .lines()
                    .find_map(|l| l.strip_prefix("x-amzn-errortype: "))
                    .map(str::to_owned);
                (status_of(&raw).unwrap_or(0), error_type)
            }
        };
        if (status, error_type.as_deref()) != (a.status, a.error_type.as_ref().map(|t| t.as_str()))
        {
            wrong.push(format!(
                "{}: got {status} {error_type:?}, AWS gives {} {:?} ({})",
                a.what, a.status, a.error_type, a.source
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The access log names the canonical request that routing and the policy saw.
    for line in armed.lines() {
        assert_log_agrees(&line);
    }
}

/// The access log's path, resource ARN and resource agree with each other.
fn assert_log_agrees(v: &serde_json::Value) {
    let (Some(path), Some(stage)) = (v["path"].as_str(), v["stage"].as_str()) else {
        return;
    };
    if let Some(arn) = v["resourceArn"].as_str() {
        let method = v["method"].as_str().expect("method");
        // Default names carry the stage in the path; custom domains map it.
        let rest = path
            .strip_prefix(&format!("/{stage}"))
            .filter(|r| r.is_empty() || r.starts_with('/'))
            .unwrap_or(path);
        let expected_tail = format!("/{stage}/{method}/{}", rest.trim_start_matches('/'));
        assert!(
            arn.ends_with(&expected_tail),
            "the policy's ARN {arn} is not the logged request {method} {path}: {v}"
        );
    }
}

#[tokio::test]
async fn several_hosts_or_a_host_that_differs_from_authority_are_400() {
    let armed = Armed::start(parallax_testkit::attacks::TOPOLOGY, |_| {}).await;
    let admin = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";
    let raw = raw_exchange(
        armed.regional(),
        admin,
        &armed.ca,
        None,
        format!(
            "GET /prod/public HTTP/1.1\r\nHost: {admin}\r\nHost: api.example.com\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(status_of(&raw), Some(400), "{raw}");
    let raw = raw_exchange(
        armed.regional(),
        admin,
        &armed.ca,
        None,
        b"GET /prod/public HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&raw), Some(400), "no Host: {raw}");
    let mut c = Call::get(armed.regional(), admin, "/prod/public", armed.ca.clone())
        .header("host", "api.example.com");
    c.http2 = true;
    let r = call(&c).await.expect("call");
    assert_eq!(r.status, 400, "HTTP/2 Host differing from :authority");
}

/// A policy the evaluator cannot honour does not load: the topology names it with its line.
#[test]
fn a_policy_that_cannot_be_evaluated_does_not_load() {
    let yaml = parallax_testkit::attacks::TOPOLOGY
        .replace("NotIpAddressIfExists: {", "NotIpAddressIfExistz: {");
    let e = Topology::from_yaml(&yaml, "t.yaml").expect_err("refused");
    let text = e.to_string();
    assert!(
        text.contains("t.yaml:34:") && text.contains("apis[2].policy.Statement[1].Condition"),
        "{text}"
    );
    assert!(
        text.contains("`NotIpAddressIfExistz` is not an IAM operator"),
        "{text}"
    );
}

const IDLE_TOPOLOGY: &str = r#"
account: "111122223333"
region: us-east-1
front_doors: { regional: [52.94.133.10] }
apis:
  - id: a1b2c3d4e5
    name: quiet
    endpoint_type: REGIONAL
    stages: [prod]
    routes: [{ method: GET, path: /test, integration: { type: MOCK, status: 200 } }]
"#;
const IDLE_HOST: &str = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";

/// Connections that go quiet after the handshake (HTTP/1.1 with no byte, an HTTP/2 preface and
/// SETTINGS only, HEADERS without END_HEADERS) or after a request are closed, and the door's
/// only slot serves a good request again.
#[tokio::test]
async fn quiet_connections_are_closed_and_free_their_slot() {
    let armed = Armed::start(IDLE_TOPOLOGY, |c| {
        c.max_connections = 1;
        c.header_read_timeout = Duration::from_millis(300);
        c.idle_timeout = Duration::from_millis(300);
    })
    .await;
    let door = armed.regional();
    let name = ServerName::try_from(IDLE_HOST).expect("name");
    let preface: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    // HEADERS on stream 1 with END_STREAM but not END_HEADERS, one indexed field (:method GET).
    let open_headers: &[u8] = b"\x00\x00\x01\x01\x01\x00\x00\x00\x01\x82";
    let cases: [(&str, &[u8], &[u8]); 4] = [
        ("HTTP/1.1, nothing after the handshake", b"http/1.1", b""),
        ("HTTP/2 preface and SETTINGS only", b"h2", preface),
        (
            "HTTP/2 HEADERS without END_HEADERS",
            b"h2",
            &[preface, open_headers].concat(),
        ),
        (
            "HTTP/1.1 keep-alive after one request",
            b"http/1.1",
            b"GET /prod/test HTTP/1.1\r\nHost: a1b2c3d4e5.execute-api.us-east-1.amazonaws.com\r\n\r\n",
        ),
    ];
    for (what, alpn, bytes) in cases {
        let tcp = tokio::net::TcpStream::connect(door).await.expect("connect");
        let mut tls = connector(&armed.ca, None, &[alpn])
            .connect(name.clone(), tcp)
            .await
            .expect("handshake");
        tls.write_all(bytes).await.expect("write");
        // The server, not the client, ends it: read to EOF (bounded).
        let mut sink = Vec::new();
        let t0 = Instant::now();
        let ended = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut sink)).await;
        assert!(ended.is_ok(), "{what}: still open after 5 s");
        assert!(
            t0.elapsed() >= Duration::from_millis(200),
            "{what}: closed before its timeout ({:?})",
            t0.elapsed()
        );
        let r = call(&Call::get(door, IDLE_HOST, "/prod/test", armed.ca.clone()))
            .await
            .unwrap_or_else(|e| panic!("{what}: the slot is free again: {e}"));
        assert_eq!(r.status, 200, "{what}");
    }
}

/// Slowloris on a kept-alive HTTP/1.1 connection: after one request is served, the next head
/// arrives a byte at a time and never ends. It is cut off by the header timeout (300 ms, counted
/// from its first byte), not the idle timeout (30 s), although bytes keep arriving; a head sent
/// whole after a pause longer than the header timeout is served.
#[tokio::test]
async fn a_slow_head_on_a_kept_alive_connection_is_cut_off() {
    let armed = Armed::start(IDLE_TOPOLOGY, |c| {
        c.header_read_timeout = Duration::from_millis(300);
        c.idle_timeout = Duration::from_secs(30);
    })
    .await;
    let door = armed.regional();
    let name = ServerName::try_from(IDLE_HOST).expect("name");
    let request = format!("GET /prod/test HTTP/1.1\r\nHost: {IDLE_HOST}\r\n\r\n");
    let tcp = tokio::net::TcpStream::connect(door).await.expect("connect");
    let mut tls = connector(&armed.ca, None, &[b"http/1.1"])
        .connect(name, tcp)
        .await
        .expect("handshake");
    // Served twice, the second after a pause past the header timeout (idle, not reading).
    for pause in [Duration::ZERO, Duration::from_millis(700)] {
        tokio::time::sleep(pause).await;
        tls.write_all(request.as_bytes()).await.expect("write");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut byte))
                .await
                .expect("an answer within 5 s")
                .expect("read");
            assert_eq!(
                n,
                1,
                "closed before answering: {}",
                String::from_utf8_lossy(&head)
            );
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        assert_eq!(status_of(&head), Some(200), "{head}");
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_owned())
            })
            .and_then(|v| v.parse().ok())
            .expect("a length");
        let mut body = vec![0u8; length];
        tls.read_exact(&mut body).await.expect("body");
    }
    // Then a head that never ends, a byte every 50 ms.
    let t0 = Instant::now();
    let mut closed = false;
    for b in b"GET /prod/test HTTP/1.1\r\nHost: x"
        .iter()
        .cycle()
        .take(200)
    {
        if tls.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        let mut sink = [0u8; 512];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(50), tls.read(&mut sink)).await
        {
            closed = true;
            break;
        }
    }
    let took = t0.elapsed();
    assert!(closed, "still open after {took:?} of a slow head");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "closed after {took:?}: the header timeout is 300 ms, the idle timeout 30 s"
    );
}

/// An upstream played by raw sockets: it answers by path, misbehaving on purpose.
async fn misbehaving_upstream() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                let ok = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n";
                match path.as_str() {
                    "/stall" => {
                        let _ = s
                            .write_all(format!("{ok}content-length: 100\r\n\r\nabc").as_bytes())
                            .await;
                        // Hold the connection open, sending nothing more.
                        let _ = s.read(&mut buf).await;
                    }
                    "/reset" => {
                        let _ = s
                            .write_all(format!("{ok}content-length: 100\r\n\r\nabc").as_bytes())
                            .await;
                        let _ = s.flush().await;
                        // SO_LINGER 0 makes the close a reset; with a zero linger the drop does
                        // not block, which is what the deprecation warns of.
                        #[allow(deprecated)]
                        let _ = s.set_linger(Some(Duration::ZERO));
                        drop(s);
                    }
                    "/short" => {
                        let _ = s
                            .write_all(format!("{ok}content-length: 100\r\n\r\nabc").as_bytes())
                            .await;
                        let _ = s.shutdown().await;
                    }
                    "/badchunk" => {
                        let _ = s
                            .write_all(
                                format!("{ok}transfer-encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
                                    .as_bytes(),
                            )
                            .await;
                        let _ = s.shutdown().await;
                    }
                    "/echo" => {
                        // Wait for the body (a client body that breaks never ends).
                        let _ = s.read(&mut buf).await;
                        let _ = s
                            .write_all(format!("{ok}content-length: 2\r\n\r\nok").as_bytes())
                            .await;
                    }
                    _ => {
                        let _ = s
                            .write_all(format!("{ok}content-length: 2\r\n\r\nok").as_bytes())
                            .await;
                    }
                }
            });
        }
    });
    (port, task)
}

fn proxy_topology(port: u16, timeout_ms: u32) -> String {
    format!(
        r#"
account: "111122223333"
region: us-east-1
front_doors: {{ regional: [52.94.133.10] }}
apis:
  - id: a1b2c3d4e5
    name: proxied
    endpoint_type: REGIONAL
    stages: [prod]
    routes:
      - {{ method: ANY, path: "/raw/{{proxy+}}", integration: {{ type: HTTP_PROXY, uri: "http://127.0.0.1:{port}/{{proxy}}", timeout_ms: {timeout_ms} }} }}
"#
    )
}

/// A stalled, reset, short or badly chunked upstream body ends the client's response with an
/// error within the integration timeout, and the access log says the response was cut off.
#[tokio::test]
async fn broken_upstream_bodies_abort_the_response_and_are_logged() {
    let (port, _upstream) = misbehaving_upstream().await;
    let armed = Armed::start(&proxy_topology(port, 400), |_| {}).await;
    for (path, reason) in [
        ("/prod/raw/stall", "ran past the integration timeout"),
        ("/prod/raw/reset", "reset the connection mid-body"),
        ("/prod/raw/short", "closed before the announced end"),
        ("/prod/raw/badchunk", "body framing was invalid"),
    ] {
        let t0 = Instant::now();
        let r = call(&Call::get(
            armed.regional(),
            IDLE_HOST,
            path,
            armed.ca.clone(),
        ))
        .await;
        let err = r.expect_err(&format!("{path}: the client must see the response break"));
        assert!(err.starts_with("body:"), "{path}: {err}");
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "{path}: held the client {:?}",
            t0.elapsed()
        );
        let lines = armed.lines();
        let line = lines
            .iter()
            .rev()
            .find(|l| l["rawPath"] == path)
            .unwrap_or_else(|| panic!("{path}: no log line in {lines:?}"));
        assert_eq!(line["status"], 200, "{path}: the head that was sent");
        assert_eq!(line["responseComplete"], false, "{path}: {line}");
        assert!(
            line["responseError"]
                .as_str()
                .is_some_and(|e| e.contains(reason)),
            "{path}: {line}"
        );
    }
    let ok = call(&Call::get(
        armed.regional(),
        IDLE_HOST,
        "/prod/raw/fine",
        armed.ca.clone(),
    ))
    .await
    .expect("a good upstream answer");
    assert_eq!((ok.status, ok.body.as_str()), (200, "ok"));
    let line = armed.lines().pop().expect("line");
    assert_eq!(line["responseComplete"], true, "{line}");
}

/// An upstream that counts its connections and keeps them alive: `/keep` answers and waits for
/// the next request, `/close` answers with `Connection: close` and closes, `/drop` answers as if
/// it would keep the connection and then closes it without a word (`closed` is signalled).
async fn counting_upstream() -> (
    u16,
    Arc<std::sync::atomic::AtomicUsize>,
    Arc<tokio::sync::Notify>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let closed = Arc::new(tokio::sync::Notify::new());
    let (count, signal) = (accepted.clone(), closed.clone());
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let signal = signal.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    buf.drain(..end);
                    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                    let (extra, body) = match path.as_str() {
                        "/close" => ("connection: close\r\n", "closed"),
                        "/drop" => ("", "dropped"),
                        _ => ("", "kept"),
                    };
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\n{extra}content-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                    if path != "/keep" {
                        let _ = s.shutdown().await;
                        drop(s);
                        signal.notify_one();
                        return;
                    }
                }
            });
        }
    });
    (port, accepted, closed, task)
}

/// Upstream connections are kept alive and reused, as nginx's `keepalive` upstreams are; one the
/// upstream closed, announced (`Connection: close`) or not, is never used again: the next call
/// opens a new one and succeeds.
#[tokio::test]
async fn upstream_connections_are_reused_until_the_upstream_closes_them() {
    use std::sync::atomic::Ordering;
    let (port, accepted, closed, _upstream) = counting_upstream().await;
    let armed = Armed::start(&proxy_topology(port, 2_000), |_| {}).await;
    let get = |path: &'static str| {
        let c = Call::get(armed.regional(), IDLE_HOST, path, armed.ca.clone());
        async move {
            let r = call(&c).await.unwrap_or_else(|e| panic!("{path}: {e}"));
            (r.status, r.body)
        }
    };
    for _ in 0..5 {
        assert_eq!(get("/prod/raw/keep").await, (200, "kept".to_owned()));
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "five calls, one connection"
    );
    assert_eq!(get("/prod/raw/close").await, (200, "closed".to_owned()));
    assert_eq!(get("/prod/raw/keep").await, (200, "kept".to_owned()));
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        2,
        "a new one after `close`"
    );
    let gone = closed.notified();
    assert_eq!(get("/prod/raw/drop").await, (200, "dropped".to_owned()));
    tokio::time::timeout(Duration::from_secs(5), gone)
        .await
        .expect("the upstream closed its end");
    assert_eq!(get("/prod/raw/keep").await, (200, "kept".to_owned()));
    assert_eq!(get("/prod/raw/keep").await, (200, "kept".to_owned()));
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "a new one after the silent close"
    );
}

/// A malformed chunked request body is the client's error: 400, not the upstream's 504.
#[tokio::test]
async fn a_malformed_chunked_request_body_is_400() {
    let (port, _upstream) = misbehaving_upstream().await;
    let armed = Armed::start(&proxy_topology(port, 2_000), |_| {}).await;
    let raw = raw_exchange(
        armed.regional(),
        IDLE_HOST,
        &armed.ca,
        None,
        format!(
            "POST /prod/raw/echo HTTP/1.1\r\nHost: {IDLE_HOST}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nnot a chunk\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(status_of(&raw), Some(400), "{raw}");
    assert!(raw.contains(r#"{"message":"Bad Request"}"#), "{raw}");
}

/// `--tls-dir`: the key files are 0600 and a directory it creates is 0700.
#[test]
fn tls_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let base = std::env::temp_dir().join(format!("parallax-tlsdir-{}", std::process::id()));
    let dir = base.join("lab-tls");
    let mut certs = LabCerts::new().expect("certs");
    certs.client("clients").expect("client");
    let files = certs.write_to(&dir).expect("written");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert!(files.iter().any(|f| f.ends_with("clients-client.key")));
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// A writer whose writes wait until it is opened, to play a stalled stderr.
struct Gate {
    open: Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    out: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl std::io::Write for Gate {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (lock, cv) = &*self.open;
        let mut open = lock.lock().expect("gate");
        while !*open {
            open = cv.wait(open).expect("gate");
        }
        self.out.lock().expect("out").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A stalled log output costs a bounded queue and a count of what was dropped, never memory
/// without bound; what was queued is written out at flush.
#[test]
fn a_stalled_access_log_drops_and_counts_and_flushes_what_it_kept() {
    use parallax_gateway::server::{AccessLog, StderrLog};
    let open = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let out = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = StderrLog::with_writer(
        8,
        Box::new(Gate {
            open: open.clone(),
            out: out.clone(),
        }),
    );
    // 1 KB lines: the writer's 256 KB buffer holds at most 258 of them, with the one in hand.
    let pad = "x".repeat(1000);
    for i in 0..2000 {
        log.line(format!("{{\"n\":{i},\"pad\":\"{pad}\"}}"));
    }
    let dropped = log.dropped();
    assert!(
        dropped >= 2000 - 8 - 260,
        "at most the queue (8 lines) and the write buffer are kept: only {dropped} dropped"
    );
    {
        let (lock, cv) = &*open;
        *lock.lock().expect("gate") = true;
        cv.notify_all();
    }
    log.flush(Duration::from_secs(5));
    let written = String::from_utf8(out.lock().expect("out").clone()).expect("utf8");
    assert_eq!(
        written.lines().count() as u64 + dropped,
        2000,
        "every line is either written or counted"
    );
}

/// Lines logged just before shutdown are written out by it, not lost.
#[tokio::test]
async fn shutdown_writes_out_the_access_log() {
    use parallax_gateway::server::StderrLog;
    let open = Arc::new((std::sync::Mutex::new(true), std::sync::Condvar::new()));
    let out = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::new(StderrLog::with_writer(
        100_000,
        Box::new(Gate {
            open,
            out: out.clone(),
        }),
    ));
    let topology = Topology::from_yaml(IDLE_TOPOLOGY, "<idle>").expect("topology");
    let certs = LabCerts::new().expect("certs");
    let ca = vec![certs.server_ca().cert_der()];
    let gw = Gateway::start(
        &topology,
        certs,
        GatewayConfig {
            access_log: log,
            ..Default::default()
        },
    )
    .await
    .expect("gateway");
    let door = gw.addr_of("regional").expect("door");
    for _ in 0..50 {
        let r = call(&Call::get(door, IDLE_HOST, "/prod/test", ca.clone()))
            .await
            .expect("call");
        assert_eq!(r.status, 200);
    }
    gw.shutdown().await;
    let written = String::from_utf8(out.lock().expect("out").clone()).expect("utf8");
    assert_eq!(
        written.lines().count(),
        50,
        "every request's line, none lost"
    );
}

fn certs_topology(truststore: &str) -> String {
    format!(
        r#"
account: "111122223333"
region: us-east-1
front_doors: {{ regional: [52.94.133.10] }}
apis:
  - id: a1b2c3d4e5
    name: certs
    endpoint_type: REGIONAL
    stages: [prod]
    routes: [{{ method: GET, path: /test, integration: {{ type: MOCK, status: 200 }} }}]
custom_domains:
  - {{ name: api.example.com, endpoint_type: REGIONAL, dns: alias, mtls: {{ truststore: "{truststore}" }}, mappings: [{{ api: a1b2c3d4e5, stage: prod }}] }}
  - {{ name: strict.example.com, endpoint_type: REGIONAL, dns: alias, mtls: {{ truststore: "{truststore}", strict: true }}, mappings: [{{ api: a1b2c3d4e5, stage: prod }}] }}
"#
    )
}

/// Client certificates that break RFC 5280's clientAuth rules get 403 in API Gateway's mode and
/// no handshake in strict mode; a good one gets 200 in both.
#[tokio::test]
async fn client_certificates_are_verified_as_rfc_5280_requires() {
    use parallax_gateway::pki::{LeafFlaw, LeafSpec};
    let armed = Armed::start(&certs_topology("lab:clients"), |_| {}).await;
    let issue = |flaw: Option<LeafFlaw>, no_cert_sign: bool| {
        armed.gw.with_certs(|c| {
            let root = c.ca("clients").expect("ca");
            let spec = LeafSpec {
                common_name: format!("{flaw:?}"),
                client: true,
                flaw,
                ..Default::default()
            };
            if no_cert_sign {
                root.intermediate_with("no keyCertSign", false)
                    .expect("ca")
                    .issue(&spec)
            } else {
                root.issue(&spec)
            }
            .expect("leaf")
        })
    };
    let send = |id: &Identity, host: &'static str| {
        let mut c = Call::get(armed.regional(), host, "/test", armed.ca.clone());
        c.identity = Some((id.chain.clone(), id.key_der()));
        c
    };
    let good = issue(None, false);
    for host in ["api.example.com", "strict.example.com"] {
        let r = call(&send(&good, host)).await.expect("call");
        assert_eq!(r.status, 200, "{host}");
    }
    for (what, id, reason) in [
        (
            "keyUsage without digitalSignature",
            issue(Some(LeafFlaw::NoDigitalSignature), false),
            "digitalSignature",
        ),
        (
            "extendedKeyUsage serverAuth only",
            issue(Some(LeafFlaw::ServerAuthOnly), false),
            "clientAuth",
        ),
        (
            "an unknown critical extension",
            issue(Some(LeafFlaw::UnknownCriticalExtension), false),
            "critical extension",
        ),
        (
            "a CA as the leaf",
            issue(Some(LeafFlaw::CaAsLeaf), false),
            "basic constraints",
        ),
        (
            "an intermediate without keyCertSign",
            issue(None, true),
            "keyCertSign",
        ),
    ] {
        let r = call(&send(&id, "api.example.com"))
            .await
            .unwrap_or_else(|e| panic!("{what}: the handshake must succeed: {e}"));
        assert_eq!(
            (r.status, r.header("x-amzn-errortype")),
            (403, Some("ForbiddenException")),
            "{what}"
        );
        let line = armed.lines().pop().expect("line");
        assert!(
            line["clientCertError"]
                .as_str()
                .is_some_and(|e| e.contains(reason)),
            "{what}: {line}"
        );
        assert!(
            call(&send(&id, "strict.example.com")).await.is_err(),
            "{what}: strict mode refuses the handshake"
        );
    }
}

/// Interop: `openssl verify -purpose sslclient` is the oracle for which chains a clientAuth
/// verifier refuses, and an RSA-1024 client (sent by `openssl s_client`, the only client here
/// that still signs with one) gets the documented 403, not a failed handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_agrees_on_client_chains_and_a_weak_key_gets_403() {
    use parallax_gateway::pki::{Ca, LeafFlaw, LeafSpec};
    let Some(openssl) = parallax_testkit::interop::require("openssl", "the Debian package openssl")
    else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("parallax-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let run = |args: &[&str]| {
        std::process::Command::new(&openssl)
            .args(args)
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("openssl runs")
    };
    // An RSA-1024 client certificate from an openssl CA.
    std::fs::write(
        dir.join("ext.cnf"),
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
    .expect("ext");
    for args in [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ossl-ca.key",
            "-out",
            "ossl-ca.pem",
            "-subj",
            "/CN=oracle CA",
            "-days",
            "2",
        ][..],
        &[
            "req", "-newkey", "rsa:1024", "-nodes", "-keyout", "weak.key", "-out", "weak.csr",
            "-subj", "/CN=weak",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "weak.csr",
            "-CA",
            "ossl-ca.pem",
            "-CAkey",
            "ossl-ca.key",
            "-CAcreateserial",
            "-out",
            "weak.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    ] {
        let out = run(args);
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The lab's flawed chains from a root of ours.
    let root = Ca::root("oracle root").expect("root");
    let pem = |c: &CertificateDer<'_>| {
        let id = Identity {
            chain: vec![c.clone().into_owned()],
            key: rustls::pki_types::PrivatePkcs8KeyDer::from(Vec::new()),
        };
        id.chain_pem()
    };
    std::fs::write(
        dir.join("truststore.pem"),
        format!(
            "{}{}",
            root.cert_pem(),
            std::fs::read_to_string(dir.join("ossl-ca.pem")).expect("ca")
        ),
    )
    .expect("truststore");
    let truststore = dir.join("truststore.pem").display().to_string();
    let armed = Armed::start(&certs_topology(&truststore), |_| {}).await;
    let issue = |ca: &Ca, flaw| {
        ca.issue(&LeafSpec {
            common_name: "oracle client".into(),
            client: true,
            flaw,
            ..Default::default()
        })
        .expect("leaf")
    };
    let no_sign = root.intermediate_with("no keyCertSign", false).expect("ca");
    let cases = [
        ("good", issue(&root, None)),
        (
            "no digitalSignature",
            issue(&root, Some(LeafFlaw::NoDigitalSignature)),
        ),
        (
            "serverAuth only",
            issue(&root, Some(LeafFlaw::ServerAuthOnly)),
        ),
        (
            "unknown critical extension",
            issue(&root, Some(LeafFlaw::UnknownCriticalExtension)),
        ),
        ("intermediate without keyCertSign", issue(&no_sign, None)),
    ];
    for (what, id) in &cases {
        std::fs::write(dir.join("leaf.pem"), pem(&id.chain[0])).expect("leaf");
        let untrusted: String = id.chain[1..].iter().map(pem).collect();
        std::fs::write(dir.join("untrusted.pem"), &untrusted).expect("untrusted");
        let mut args = vec![
            "verify",
            "-purpose",
            "sslclient",
            "-CAfile",
            "truststore.pem",
        ];
        if !untrusted.is_empty() {
            args.extend(["-untrusted", "untrusted.pem"]);
        }
        args.push("leaf.pem");
        let openssl_accepts = run(&args).status.success();
        let mut c = Call::get(
            armed.regional(),
            "api.example.com",
            "/test",
            armed.ca.clone(),
        );
        c.identity = Some((id.chain.clone(), id.key_der()));
        let status = call(&c).await.expect("call").status;
        assert_eq!(
            status == 200,
            openssl_accepts,
            "{what}: the gateway says {status}, openssl verify -purpose sslclient {}",
            if openssl_accepts {
                "accepts"
            } else {
                "refuses"
            }
        );
    }
    // RSA-1024: the documented 403 (AWS: RSA-2048 and up), after a completed handshake.
    armed
        .gw
        .with_certs(|c| std::fs::write(dir.join("server-ca.pem"), c.server_ca().cert_pem()))
        .expect("server CA");
    let addr = armed.regional().to_string();
    let out = tokio::task::spawn_blocking({
        let (openssl, dir) = (openssl.clone(), dir.clone());
        move || {
            use std::io::Write;
            let mut child = std::process::Command::new(&openssl)
                .args([
                    "s_client",
                    "-quiet",
                    "-connect",
                    &addr,
                    "-servername",
                    "api.example.com",
                ])
                .args([
                    "-CAfile",
                    "server-ca.pem",
                    "-cert",
                    "weak.pem",
                    "-key",
                    "weak.key",
                ])
                .args(["-cipher", "DEFAULT@SECLEVEL=0"])
                .current_dir(&dir)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("s_client");
            let _ = child.stdin.take().expect("stdin").write_all(
                b"GET /test HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n",
            );
            child.wait_with_output().expect("s_client ends")
        }
    })
    .await
    .expect("joined");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("HTTP/1.1 403") && stdout.contains("ForbiddenException"),
        "RSA-1024: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = armed.lines().pop().expect("line");
    assert!(
        line["clientCertError"]
            .as_str()
            .is_some_and(|e| e.contains("1024 bits")),
        "{line}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bytes of a real ClientHello for `sni`, as rustls sends it.
fn client_hello(sni: &str) -> Vec<u8> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let mut conn = rustls::ClientConnection::new(
        Arc::new(config),
        ServerName::try_from(sni.to_owned()).expect("name"),
    )
    .expect("client");
    let mut out = Vec::new();
    conn.write_tls(&mut out).expect("hello");
    out
}

/// Byte edits: (position, byte, kind) with kind 0 flip a bit, 1 replace, 2 insert, 3 delete,
/// 4 cut the rest.
fn mutate(data: &[u8], edits: &[(u16, u8, u8)]) -> Vec<u8> {
    let mut d = data.to_vec();
    for &(pos, byte, kind) in edits {
        if d.is_empty() {
            break;
        }
        let i = usize::from(pos) % d.len();
        match kind {
            0 => d[i] ^= 1 << (byte % 8),
            1 => d[i] = byte,
            2 => d.insert(i, byte),
            3 => {
                d.remove(i);
            }
            _ => d.truncate(i),
        }
    }
    d
}

/// What one mutated connection came to.
#[derive(Debug)]
struct Ending {
    /// The server ended the connection within the bound.
    closed: bool,
    status: Option<u16>,
}

async fn mutated_case(
    door: std::net::SocketAddr,
    ca: &[CertificateDer<'static>],
    target: u8,
    proxy: &[u8],
    hello: &[u8],
    request: &[u8],
) -> Ending {
    let bound = Duration::from_secs(4);
    let Ok(mut tcp) = tokio::net::TcpStream::connect(door).await else {
        return Ending {
            closed: false,
            status: None,
        };
    };
    let mut reply = Vec::new();
    let _ = tcp.write_all(proxy).await;
    if target == 1 {
        let _ = tcp.write_all(hello).await;
        let closed = tokio::time::timeout(bound, tcp.read_to_end(&mut reply))
            .await
            .is_ok();
        return Ending {
            closed,
            status: None,
        };
    }
    let handshake = tokio::time::timeout(
        bound,
        connector(ca, None, &[b"http/1.1"]).connect(
            ServerName::try_from("a1b2c3d4e5.execute-api.us-east-1.amazonaws.com").expect("name"),
            tcp,
        ),
    )
    .await;
    let mut tls = match handshake {
        Err(_) => {
            return Ending {
                closed: false,
                status: None,
            };
        }
        // A mutated PROXY header is refused by closing: that is an ending.
        Ok(Err(_)) => {
            return Ending {
                closed: true,
                status: None,
            };
        }
        Ok(Ok(t)) => t,
    };
    let _ = tls.write_all(request).await;
    let closed = tokio::time::timeout(bound, tls.read_to_end(&mut reply))
        .await
        .is_ok();
    Ending {
        closed,
        status: status_of(&String::from_utf8_lossy(&reply)),
    }
}

/// Byte-level mutations of valid requests (the PROXY header, the ClientHello, the HTTP request
/// inside TLS) never hang a connection, never panic the gateway, and never stop it: afterwards
/// it answers a good request, and every access-log line agrees with itself on the resource.
#[test]
fn mutated_raw_requests_never_hang_panic_or_stop_the_gateway() {
    use proptest::prelude::*;
    let panics = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = panics.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("mutation-gateway"))
        {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        previous(info);
    }));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("mutation-gateway")
        .enable_all()
        .build()
        .expect("runtime");
    let armed = rt.block_on(Armed::start(parallax_testkit::attacks::TOPOLOGY, |c| {
        c.proxy_protocol = true;
        c.header_read_timeout = Duration::from_millis(300);
        c.idle_timeout = Duration::from_millis(300);
    }));
    let door = armed.regional();
    let host = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";
    let proxy = b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 443\r\n".to_vec();
    let hello = client_hello(host);
    let request = format!(
        "GET /prod/admin HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mutant\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes();
    let config = ProptestConfig {
        cases: 60,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(
        target in 0u8..3,
        edits in proptest::collection::vec((any::<u16>(), any::<u8>(), 0u8..5), 1..6),
    )| {
        let (p, h, r) = match target {
            0 => (mutate(&proxy, &edits), hello.clone(), request.clone()),
            1 => (proxy.clone(), mutate(&hello, &edits), request.clone()),
            _ => (proxy.clone(), hello.clone(), mutate(&request, &edits)),
        };
        let ending = rt.block_on(mutated_case(door, &armed.ca, target, &p, &h, &r));
        prop_assert!(ending.closed, "target {target}: the connection was left open: {ending:?}");
        if let Some(s) = ending.status {
            prop_assert!((200..600).contains(&s) && s != 500, "target {target}: status {s}");
        }
    });
    // Still serving, with the PROXY header's address as the client.
    let good = rt.block_on(async {
        let mut tcp = tokio::net::TcpStream::connect(door).await.expect("connect");
        tcp.write_all(&proxy).await.expect("proxy");
        let mut tls = connector(&armed.ca, None, &[b"http/1.1"])
            .connect(ServerName::try_from(host).expect("name"), tcp)
            .await
            .expect("handshake");
        tls.write_all(
            format!("GET /prod/public HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("write");
        let mut reply = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut reply)).await;
        String::from_utf8_lossy(&reply).into_owned()
    });
    assert_eq!(status_of(&good), Some(200), "{good}");
    assert_eq!(
        panics.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the gateway panicked"
    );
    for line in armed.lines() {
        assert_log_agrees(&line);
    }
}
