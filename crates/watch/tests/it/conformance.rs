//! blackbox_exporter conformance (issue 25): the real `prometheus-blackbox-exporter` (Debian)
//! and parallax watch's `/probe`, given the same module file (blackbox_exporter's own format,
//! read by watch through `modules_file:`), probe the same targets on loopback: plain HTTP, TLS,
//! a redirect, a 404, body expressions, a stalled server, a tcp dialogue, a DNS answer and a DNS
//! failure. Every metric name and label set blackbox_exporter gives, parallax gives; the values
//! that are facts of the exchange (success, status, redirects, TLS, version, lengths, address,
//! record counts) are equal. Timings are compared only for presence.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, Record, rdata::A};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

/// The module file both read.
const MODULES: &str = "\
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
  http_tls:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      fail_if_not_ssl: true
      valid_http_versions: [HTTP/1.1, HTTP/2.0]
      tls_config:
        ca_file: CA_FILE
  http_no_follow:
    prober: http
    http:
      preferred_ip_protocol: ip4
      follow_redirects: false
      valid_status_codes: [302]
  http_body:
    prober: http
    http:
      preferred_ip_protocol: ip4
      method: GET
      headers: { X-Probe: conformance }
      fail_if_body_not_matches_regexp: ['hello']
      fail_if_header_matches: [{ header: X-Cache, regexp: 'MISS', allow_missing: true }]
  http_body_fails:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_body_matches_regexp: ['parallax']
  tcp_banner:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: '^hello'
        - send: 'QUIT'
  dns_a:
    prober: dns
    timeout: 5s
    dns:
      query_name: ok.test
      query_type: A
      transport_protocol: udp
      preferred_ip_protocol: ip4
      validate_answer_rrs:
        fail_if_not_matches_regexp: ['ok\\.test\\.\\t.*\\tIN\\tA\\t192\\.0\\.2\\.1']
  dns_nx:
    prober: dns
    timeout: 5s
    dns:
      query_name: missing.test
      query_type: A
      preferred_ip_protocol: ip4
";

/// A plain HTTP/1.1 server: `/ok` (200, a body), `/redirect` (302 to `/ok`), `/missing` (404),
/// `/stall` (read, never answered).
async fn http_server(tls: Option<Arc<rustls::ServerConfig>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(c) => {
                        if let Ok(s) = tokio_rustls::TlsAcceptor::from(c).accept(tcp).await {
                            serve_one(s).await;
                        }
                    }
                    None => serve_one(tcp).await,
                }
            });
        }
    });
    addr
}

async fn serve_one<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(s: S) {
    let mut s = tokio::io::BufReader::new(s);
    let mut line = String::new();
    if s.read_line(&mut line).await.is_err() {
        return;
    }
    let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
    loop {
        let mut h = String::new();
        match s.read_line(&mut h).await {
            Ok(0) | Err(_) => return,
            Ok(_) if h == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let body = "hello parallax\n";
    let answer = match path.as_str() {
        "/ok" => format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
        "/redirect" => {
            "HTTP/1.1 302 Found\r\nlocation: /ok\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                .to_owned()
        }
        "/stall" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return;
        }
        _ => "HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot found"
            .to_owned(),
    };
    let _ = s.get_mut().write_all(answer.as_bytes()).await;
    let _ = s.get_mut().shutdown().await;
}

/// A line server: says `hello`, reads a line.
async fn banner_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let _ = tcp.write_all(b"hello from the test\r\n").await;
                let mut buf = [0u8; 64];
                let _ = tcp.read(&mut buf).await;
            });
        }
    });
    addr
}

/// A DNS server on UDP: `ok.test. A 192.0.2.1`, NXDOMAIN for everything else.
async fn dns_server() -> SocketAddr {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = sock.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut r = Message::response(q.metadata.id, q.metadata.op_code);
            r.metadata.recursion_desired = q.metadata.recursion_desired;
            r.metadata.recursion_available = true;
            for query in &q.queries {
                r.add_query(query.clone());
                if query.name().to_ascii().eq_ignore_ascii_case("ok.test.") {
                    r.add_answer(Record::from_rdata(
                        query.name().clone(),
                        300,
                        RData::A(A::new(192, 0, 2, 1)),
                    ));
                } else {
                    r.metadata.response_code = ResponseCode::NXDomain;
                }
            }
            if let Ok(bytes) = r.to_vec() {
                let _ = sock.send_to(&bytes, from).await;
            }
        }
    });
    addr
}

/// The body of a whole response, chunked or not.
fn body_of(response: &str) -> String {
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or(("", response));
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// `name{sorted labels}` → value, from the text exposition.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample line: {line:?} in\n{text}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => {
                let mut ls: Vec<&str> = rest
                    .trim_end_matches('}')
                    .split("\",")
                    .map(|l| l.trim_end_matches('"'))
                    .filter(|l| !l.is_empty())
                    .collect();
                ls.sort_unstable();
                (n, ls.join(","))
            }
            None => (series, String::new()),
        };
        out.insert(
            format!("{name}{{{labels}}}"),
            value.parse().unwrap_or(f64::NAN),
        );
    }
    out
}

/// The metrics of one `/probe`, with Prometheus's scrape-timeout header.
async fn probe(exporter: SocketAddr, target: &str, module: &str, scrape_timeout: &str) -> String {
    let target: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
    let path = format!("/probe?target={target}&module={module}");
    parallax_testkit::http::get(
        exporter,
        &path,
        &format!("X-Prometheus-Scrape-Timeout-Seconds: {scrape_timeout}\r\n"),
    )
    .await
}

/// Metrics whose values are facts of the exchange, compared exactly.
const FACTS: &[&str] = &[
    "probe_success",
    "probe_http_status_code",
    "probe_http_redirects",
    "probe_http_ssl",
    "probe_http_version",
    "probe_http_content_length",
    "probe_http_uncompressed_body_length",
    "probe_failed_due_to_regex",
    "probe_ip_protocol",
    "probe_ip_addr_hash",
    "probe_tls_version_info",
    "probe_dns_answer_rrs",
    "probe_dns_authority_rrs",
    "probe_dns_additional_rrs",
    "probe_dns_query_succeeded",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallax_probe_answers_what_blackbox_exporter_answers() {
    let Some(blackbox) = parallax_testkit::interop::require(
        "prometheus-blackbox-exporter",
        "the Debian package prometheus-blackbox-exporter",
    ) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("parallax-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");

    // A certificate for 127.0.0.1, trusted through ca_file by both.
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
    let cert = params.self_signed(&key).expect("cert");
    std::fs::write(dir.join("ca.pem"), cert.pem()).expect("ca");
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .expect("server config");

    let plain = http_server(None).await;
    let secure = http_server(Some(Arc::new(tls))).await;
    let banner = banner_server().await;
    let dns = dns_server().await;

    let modules = MODULES.replace("CA_FILE", &dir.join("ca.pem").display().to_string());
    std::fs::write(dir.join("blackbox.yml"), &modules).expect("modules");
    let port = super::e2e::free_port();
    let _blackbox = super::e2e::Proc(
        Command::new(blackbox)
            .arg(format!(
                "--config.file={}",
                dir.join("blackbox.yml").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("blackbox_exporter starts"),
    );
    let bb: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");

    // parallax watch with the same file as its modules_file.
    let watch_yaml = format!(
        "modules_file: blackbox.yml\ntargets:\n  - {{ name: t, url: 'http://{plain}/ok' }}\n"
    );
    let config = parallax_watch::Config::from_yaml(
        &watch_yaml,
        &dir.join("watch.yaml").display().to_string(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let ours = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(parallax_watch::http::serve(
        listener,
        Arc::new(config),
        Arc::new(parallax_watch::State::new(Box::new(|_| {}))),
        stopped,
    ));

    // blackbox_exporter is up when its /-/healthy answers.
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(bb).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "blackbox_exporter did not listen");

    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("plain", format!("http://{plain}/ok"), "http_2xx", "10"),
        ("tls", format!("https://{secure}/ok"), "http_tls", "10"),
        (
            "redirect followed",
            format!("http://{plain}/redirect"),
            "http_2xx",
            "10",
        ),
        (
            "redirect not followed",
            format!("http://{plain}/redirect"),
            "http_no_follow",
            "10",
        ),
        ("404", format!("http://{plain}/missing"), "http_2xx", "10"),
        (
            "body matches",
            format!("http://{plain}/ok"),
            "http_body",
            "10",
        ),
        (
            "body regex fails",
            format!("http://{plain}/ok"),
            "http_body_fails",
            "10",
        ),
        ("stalled", format!("http://{plain}/stall"), "http_2xx", "2"),
        (
            "refused",
            "http://127.0.0.1:1/ok".to_owned(),
            "http_2xx",
            "10",
        ),
        ("tcp dialogue", banner.to_string(), "tcp_banner", "10"),
        ("dns answer", dns.to_string(), "dns_a", "10"),
        ("dns failure", dns.to_string(), "dns_nx", "10"),
    ];
    let mut problems = Vec::new();
    for (what, target, module, timeout) in &cases {
        let theirs = samples(&body_of(&probe(bb, target, module, timeout).await));
        let mine = samples(&body_of(&probe(ours, target, module, timeout).await));
        assert!(
            theirs.contains_key("probe_success{}"),
            "{what}: blackbox_exporter answered no probe_success: {theirs:?}"
        );
        for (series, value) in &theirs {
            let name = &series[..series.find('{').unwrap_or(series.len())];
            // An info series may carry labels blackbox_exporter's newer releases add
            // (serialnumber, in 0.25): blackbox_exporter's labels must all be there.
            let found = mine.get(series).or_else(|| {
                let (name, labels) = series.split_once('{')?;
                let want: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                mine.iter()
                    .find(|(k, _)| {
                        k.split_once('{').is_some_and(|(n, l)| {
                            n == name && want.iter().all(|w| l.split(',').any(|x| x == *w))
                        })
                    })
                    .map(|(_, v)| v)
            });
            match found {
                None => problems.push(format!(
                    "{what}: blackbox_exporter gives {series} = {value}, parallax does not"
                )),
                Some(v) if FACTS.contains(&name) && v != value => problems.push(format!(
                    "{what}: {series}: blackbox_exporter {value}, parallax {v}"
                )),
                _ => {}
            }
        }
        if problems.iter().any(|p| p.starts_with(&format!("{what}:"))) {
            let debug = probe(ours, target, &format!("{module}&debug=true"), timeout).await;
            problems.push(format!(
                "{what}: parallax's debug page:\n{}",
                body_of(&debug)
            ));
        }
        eprintln!(
            "{what}: probe_success {:?}, {} series from blackbox_exporter, {} from parallax",
            theirs.get("probe_success{}"),
            theirs.len(),
            mine.len()
        );
    }
    let _ = stop.send(true);
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(problems.is_empty(), "differences:\n{}", problems.join("\n"));
}
