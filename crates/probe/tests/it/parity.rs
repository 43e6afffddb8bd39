//! The curl parity suite: each case is a server started here on loopback, called by the real
//! curl and by the probe with the same flags. They must agree on the status or failure class
//! (curl's exit code), the body bytes (`-o`), and every `-w` value that is not a time. The
//! expected values are curl's, read from curl itself in the same run.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use parallax_probe::curl::CurlFlags;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The `-w` variables compared (times differ by nature; error messages are worded differently).
const COMPARED: [&str; 12] = [
    "http_code",
    "http_version",
    "exitcode",
    "remote_ip",
    "remote_port",
    "ssl_verify_result",
    "num_redirects",
    "url_effective",
    "size_download",
    "content_type",
    "method",
    "redirect_url",
];

#[derive(Parser)]
struct Probe {
    #[command(flatten)]
    curl: CurlFlags,
}

/// A certificate and key, as PEM files for curl and DER for the servers.
struct Pem {
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
    cert_file: PathBuf,
    key_file: PathBuf,
}

struct Pki {
    dir: PathBuf,
    n: std::sync::atomic::AtomicUsize,
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Validity {
    Now,
    Expired,
    NotYet,
}

impl Pki {
    /// Certificates in a folder of their own: `name` keeps two tests of one process apart.
    fn new(name: &str) -> Pki {
        let dir =
            std::env::temp_dir().join(format!("parallax-parity-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("pki dir");
        Pki {
            dir,
            n: Default::default(),
        }
    }

    fn write(&self, chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> Pem {
        let i = self.n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cert_file = self.dir.join(format!("c{i}.pem"));
        let key_file = self.dir.join(format!("k{i}.pem"));
        let text: String = chain.iter().map(|c| pem("CERTIFICATE", c)).collect();
        std::fs::write(&cert_file, text).expect("cert file");
        std::fs::write(&key_file, pem("PRIVATE KEY", &key.serialize_der())).expect("key file");
        Pem {
            chain,
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
            cert_file,
            key_file,
        }
    }

    fn params(cn: &str, sans: &[&str], ca: bool, validity: Validity) -> CertificateParams {
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        p.distinguished_name = dn;
        p.subject_alt_names = sans
            .iter()
            .map(|s| match s.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*s).to_owned().try_into().expect("dns name")),
            })
            .collect();
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::DigitalSignature,
            ];
        } else {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
        }
        match validity {
            Validity::Now => {}
            Validity::Expired => {
                p.not_before = rcgen::date_time_ymd(2020, 1, 1);
                p.not_after = rcgen::date_time_ymd(2020, 12, 31);
            }
            Validity::NotYet => {
                p.not_before = rcgen::date_time_ymd(2090, 1, 1);
                p.not_after = rcgen::date_time_ymd(2091, 1, 1);
            }
        }
        p
    }

    fn root(&self, cn: &str) -> (CertifiedIssuer<'static, KeyPair>, Pem) {
        let key = KeyPair::generate().expect("key");
        let issuer = CertifiedIssuer::self_signed(Self::params(cn, &[], true, Validity::Now), key)
            .expect("root");
        let key2 = KeyPair::generate().expect("key");
        let pem = self.write(vec![issuer.der().clone()], &key2);
        (issuer, pem)
    }

    fn leaf(
        &self,
        issuer: &CertifiedIssuer<'static, KeyPair>,
        sans: &[&str],
        validity: Validity,
        extra_chain: &[CertificateDer<'static>],
    ) -> Pem {
        let key = KeyPair::generate().expect("key");
        let cert = Self::params(sans[0], sans, false, validity)
            .signed_by(&key, issuer)
            .expect("leaf");
        let mut chain = vec![cert.der().clone()];
        chain.extend(extra_chain.iter().cloned());
        self.write(chain, &key)
    }

    fn self_signed(&self, sans: &[&str], ca: bool) -> Pem {
        let key = KeyPair::generate().expect("key");
        let mut p = Self::params(sans[0], sans, ca, Validity::Now);
        if ca {
            // What `openssl req -x509` makes: CA:TRUE, and usable as a server certificate.
            p.key_usages.push(KeyUsagePurpose::DigitalSignature);
        }
        let cert = p.self_signed(&key).expect("self-signed");
        self.write(vec![cert.der().clone()], &key)
    }
}

/// Maps a request's method and path to its answer.
type Route = Arc<dyn Fn(&str, &str) -> Answer + Send + Sync>;

/// How the test server answers one request.
#[derive(Clone)]
enum Answer {
    /// A raw HTTP/1.x response, written as it is.
    Raw(Vec<u8>),
    /// The request head, echoed in a 200's body (to compare what each client sent).
    Echo,
    /// Accept and never answer.
    Silent,
}

#[derive(Clone, Default)]
struct Tls {
    server: Option<Arc<Pem>>,
    client_ca: Option<CertificateDer<'static>>,
    client_required: bool,
    h2_only: bool,
}

/// Starts a server on `bind`: `route` maps a request path to its answer.
async fn serve(bind: &str, tls: Tls, route: Route) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let acceptor = tls.server.as_ref().map(|id| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions");
        let builder = match &tls.client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca.clone()).expect("client ca");
                let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                );
                let v = if tls.client_required {
                    v.build()
                } else {
                    v.allow_unauthenticated().build()
                };
                builder.with_client_cert_verifier(v.expect("client verifier"))
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(id.chain.clone(), PrivateKeyDer::Pkcs8(id.key.clone_key()))
            .expect("server config");
        config.alpn_protocols = if tls.h2_only {
            vec![b"h2".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    let h2 = tls.h2_only;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let route = route.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    Some(a) => {
                        if let Ok(s) = a.accept(tcp).await {
                            if h2 {
                                serve_h2(s).await;
                            } else {
                                serve_h1(s, route).await;
                            }
                        }
                    }
                    None => serve_h1(tcp, route).await,
                }
            });
        }
    });
    addr
}

async fn serve_h1<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, route: Route) {
    // Requests on one connection, in turn (curl and the probe reuse none across redirects,
    // but a keep-alive read must not hang the server).
    for _ in 0..8 {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
            match tokio::time::timeout(Duration::from_secs(10), s.read(&mut byte)).await {
                Ok(Ok(1)) => head.push(byte[0]),
                _ => return,
            }
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        let mut first = text.lines().next().unwrap_or_default().split(' ');
        let method = first.next().unwrap_or_default().to_owned();
        let path = first.next().unwrap_or_default().to_owned();
        // A request body (Content-Length only: neither client chunks a -d body).
        let len: usize = text
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0u8; len.min(1 << 20)];
        if s.read_exact(&mut body).await.is_err() {
            return;
        }
        let answer = route(&method, &path);
        let bytes = match answer {
            Answer::Raw(b) => b,
            Answer::Silent => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return;
            }
            Answer::Echo => {
                // The head without the lines that differ between two clients by nature.
                // Lower case, and trailing whitespace dropped: `X-Empty:` and `X-Empty: ` are the
                // same field (RFC 9110 §5.5, optional whitespace).
                let mut lines: Vec<String> = text
                    .lines()
                    .filter(|l| !l.is_empty())
                    .filter(|l| !l.to_ascii_lowercase().starts_with("user-agent:"))
                    .map(|l| l.to_ascii_lowercase().trim_end().to_owned())
                    .collect();
                lines[1..].sort();
                let mut b = lines.join("\n");
                b.push('\n');
                b.push_str(&String::from_utf8_lossy(&body));
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{b}",
                    b.len()
                )
                .into_bytes()
            }
        };
        if s.write_all(&bytes).await.is_err() || s.flush().await.is_err() {
            return;
        }
        let keep = String::from_utf8_lossy(&bytes)
            .to_ascii_lowercase()
            .contains("content-length")
            && !String::from_utf8_lossy(&bytes).starts_with("HTTP/1.0");
        if !keep {
            let _ = s.shutdown().await;
            return;
        }
    }
}

async fn serve_h2<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(s: S) {
    let svc = hyper::service::service_fn(|_req| async {
        Ok::<_, std::convert::Infallible>(
            http::Response::builder()
                .status(200)
                .header("content-type", "text/plain")
                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                    b"over h2\n",
                )))
                .expect("response"),
        )
    });
    let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
        .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
        .await;
}

fn raw(status_line: &str, headers: &[(&str, &str)], body: &[u8], length: bool) -> Answer {
    let mut h = format!("{status_line}\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    if length {
        h.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    h.push_str("\r\n");
    let mut b = h.into_bytes();
    b.extend_from_slice(body);
    Answer::Raw(b)
}

fn fixed(
    status_line: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: &'static [u8],
) -> Route {
    Arc::new(move |_, _| raw(status_line, &headers, body, true))
}

/// One case: a URL on a started server and the flags both clients get.
struct Case {
    name: &'static str,
    url: String,
    args: Vec<String>,
    /// Flags only curl gets (its name for what the probe spells otherwise, e.g. `-I`).
    curl_only: Vec<String>,
    /// The environment both get (the proxy variables); nothing else of the test's leaks in.
    env: Vec<(&'static str, String)>,
}

/// The variables curl and the probe read; cleared for every run, then set from the case.
const ENV_READ: [&str; 15] = parallax_testkit::interop::CLIENT_ENV;

/// What one client did: its -w values, exit class and the body written to -o.
#[derive(Debug)]
struct Run {
    w: serde_json::Value,
    body: Option<Vec<u8>>,
}

/// Removes a previous output, when it is a regular file (never a device such as /dev/null).
fn clear(out: &Path) {
    if std::fs::symlink_metadata(out).is_ok_and(|m| m.is_file()) {
        let _ = std::fs::remove_file(out);
    }
}

fn run_curl(tool: &Path, c: &Case, out: &Path) -> Run {
    clear(out);
    let mut cmd = std::process::Command::new(tool);
    for v in ENV_READ {
        cmd.env_remove(v);
    }
    for (k, v) in &c.env {
        cmd.env(k, v);
    }
    let o = parallax_testkit::process::run_within(
        cmd.args(["-s", "-o"])
            .arg(out)
            .args(["-w", "%{json}"])
            .args(&c.args)
            .args(&c.curl_only)
            .arg(&c.url),
        Duration::from_secs(30),
        c.name,
    );
    let w: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{}: curl's -w json: {e}: {:?}", c.name, o));
    Run {
        w,
        body: std::fs::read(out).ok(),
    }
}

async fn run_probe(c: &Case, out: &Path) -> Run {
    clear(out);
    let mut argv: Vec<String> = vec!["probe".into(), "-s".into(), "-o".into()];
    argv.push(out.display().to_string());
    argv.extend(c.args.iter().cloned());
    argv.push(c.url.clone());
    let flags = Probe::try_parse_from(&argv)
        .unwrap_or_else(|e| panic!("{}: flags: {e}", c.name))
        .curl;
    let env = |n: &str| c.env.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
    let mut opts = flags
        .to_options_with_env(&env)
        .unwrap_or_else(|e| panic!("{}: {e}", c.name));
    opts.confirm = false;
    let report = parallax_probe::probe(&opts, None, None).await;
    let (w, unknown) = parallax_probe::writeout::expand(
        "%{json}",
        &report,
        &parallax_probe::writeout::curl_exit_of(&report, flags.fail),
    );
    assert!(unknown.is_empty(), "{}: {unknown:?}", c.name);
    Run {
        w: serde_json::from_str(&w).expect("our -w json"),
        body: std::fs::read(out).ok(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_answers_as_curl_does() {
    let Some(curl) = parallax_testkit::interop::require("curl", "the Debian package curl") else {
        return;
    };
    let pki = Pki::new("direct");
    let (ca, ca_pem) = pki.root("parity root CA");
    let (other_ca, other_pem) = pki.root("another CA");
    let _ = other_ca;
    // An intermediate: the server sends leaf + intermediate; the client trusts the root.
    let inter_key = KeyPair::generate().expect("key");
    let inter = CertifiedIssuer::signed_by(
        Pki::params("parity intermediate", &[], true, Validity::Now),
        inter_key,
        &ca,
    )
    .expect("intermediate");
    let names = ["parity.test", "localhost", "127.0.0.1", "::1"];
    let good = Arc::new(pki.leaf(&ca, &names, Validity::Now, &[]));
    let chained = Arc::new(pki.leaf(&inter, &names, Validity::Now, &[inter.der().clone()]));
    let wrong_name = Arc::new(pki.leaf(&ca, &["elsewhere.test"], Validity::Now, &[]));
    let expired = Arc::new(pki.leaf(&ca, &names, Validity::Expired, &[]));
    let not_yet = Arc::new(pki.leaf(&ca, &names, Validity::NotYet, &[]));
    let self_ca = Arc::new(pki.self_signed(&names, true));
    let self_leaf = Arc::new(pki.self_signed(&names, false));
    let client = pki.leaf(&ca, &["client.parity.test"], Validity::Now, &[]);
    let ca_file = ca_pem.cert_file.display().to_string();
    let other_ca_file = other_pem.cert_file.display().to_string();

    let hello = fixed(
        "HTTP/1.1 200 OK",
        vec![("Content-Type", "text/plain")],
        b"hello parity\n",
    );
    let http = serve("127.0.0.1:0", Tls::default(), hello.clone()).await;
    let http6 = serve("[::1]:0", Tls::default(), hello.clone()).await;
    let tls_with = |pem: &Arc<Pem>| Tls {
        server: Some(pem.clone()),
        ..Tls::default()
    };
    let https = serve("127.0.0.1:0", tls_with(&good), hello.clone()).await;
    let https6 = serve("[::1]:0", tls_with(&good), hello.clone()).await;
    let https_chain = serve("127.0.0.1:0", tls_with(&chained), hello.clone()).await;
    let https_wrong = serve("127.0.0.1:0", tls_with(&wrong_name), hello.clone()).await;
    let https_expired = serve("127.0.0.1:0", tls_with(&expired), hello.clone()).await;
    let https_not_yet = serve("127.0.0.1:0", tls_with(&not_yet), hello.clone()).await;
    let https_self_ca = serve("127.0.0.1:0", tls_with(&self_ca), hello.clone()).await;
    let https_self_leaf = serve("127.0.0.1:0", tls_with(&self_leaf), hello.clone()).await;
    let mtls = |required| Tls {
        server: Some(good.clone()),
        client_ca: Some(ca.der().clone()),
        client_required: required,
        h2_only: false,
    };
    let https_mtls = serve("127.0.0.1:0", mtls(true), hello.clone()).await;
    let https_mtls_opt = serve("127.0.0.1:0", mtls(false), hello.clone()).await;
    let https_h2 = serve(
        "127.0.0.1:0",
        Tls {
            h2_only: true,
            ..tls_with(&good)
        },
        hello.clone(),
    )
    .await;
    let many: Route = Arc::new(|method, path| {
        let big: Vec<u8> = (0..1_048_576u32).map(|i| b'a' + (i % 26) as u8).collect();
        match path {
            "/204" => raw("HTTP/1.1 204 No Content", &[], b"", false),
            "/304" => raw("HTTP/1.1 304 Not Modified", &[("ETag", "\"x\"")], b"", false),
            "/404" => raw("HTTP/1.1 404 Not Found", &[("Content-Type", "text/plain")], b"no such thing\n", true),
            "/500" => raw("HTTP/1.1 500 Internal Server Error", &[], b"boom\n", true),
            "/chunked" => Answer::Raw(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\n7\r\n chunks\r\n0\r\n\r\n".to_vec(),
            ),
            "/http10" => Answer::Raw(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the connection closes\n".to_vec()),
            "/big" => raw("HTTP/1.1 200 OK", &[("Content-Type", "application/octet-stream")], &big, true),
            "/moved" => raw("HTTP/1.1 301 Moved Permanently", &[("Location", "/hello")], b"moved\n", true),
            "/found" => raw("HTTP/1.1 302 Found", &[("Location", "hello")], b"", true),
            "/see-other" => raw("HTTP/1.1 303 See Other", &[("Location", "/echo")], b"", true),
            "/temporary" => raw("HTTP/1.1 307 Temporary Redirect", &[("Location", "/echo")], b"", true),
            "/loop" => raw("HTTP/1.1 302 Found", &[("Location", "/loop")], b"", true),
            "/echo" => Answer::Echo,
            "/silent" => Answer::Silent,
            _ if method == "HEAD" => raw("HTTP/1.1 200 OK", &[("Content-Type", "text/plain"), ("Content-Length", "13")], b"", false),
            _ => raw("HTTP/1.1 200 OK", &[("Content-Type", "text/plain")], b"hello parity\n", true),
        }
    });
    let web = serve("127.0.0.1:0", Tls::default(), many.clone()).await;
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        l.local_addr().expect("addr")
    };

    let a = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let p = http.port();
    let wp = web.port();
    let s = |addr: SocketAddr| addr.port();
    let cert = client.cert_file.display().to_string();
    let key = client.key_file.display().to_string();
    let mut cases = vec![
        Case {
            name: "GET 200",
            url: format!("http://127.0.0.1:{p}/"),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "upper-case scheme and host",
            url: format!("HTTP://LOCALHOST:{p}/x"),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "localhost from /etc/hosts, -4",
            url: format!("http://localhost:{p}/"),
            args: a(&["-4"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "IPv6 literal",
            url: format!("http://[::1]:{}/", s(http6)),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "a query string",
            url: format!("http://127.0.0.1:{wp}/echo?a=1&b=two"),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HEAD",
            url: format!("http://127.0.0.1:{wp}/head"),
            args: a(&["-I"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "204",
            url: format!("http://127.0.0.1:{wp}/204"),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "304",
            url: format!("http://127.0.0.1:{wp}/304"),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "404 with a body",
            url: format!("http://127.0.0.1:{wp}/404"),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "404 with -f",
            url: format!("http://127.0.0.1:{wp}/404"),
            args: a(&["-f"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "500",
            url: format!("http://127.0.0.1:{wp}/500"),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "chunked",
            url: format!("http://127.0.0.1:{wp}/chunked"),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTP/1.0 until close",
            url: format!("http://127.0.0.1:{wp}/http10"),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "a 1 MiB body",
            url: format!("http://127.0.0.1:{wp}/big"),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "301 not followed",
            url: format!("http://127.0.0.1:{wp}/moved"),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "301 followed",
            url: format!("http://127.0.0.1:{wp}/moved"),
            args: a(&["-L"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "302 to a relative path",
            url: format!("http://127.0.0.1:{wp}/a/found"),
            args: a(&["-L"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "303 after POST becomes GET",
            url: format!("http://127.0.0.1:{wp}/see-other"),
            args: a(&["-L", "-d", "x=1"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "307 keeps the POST",
            url: format!("http://127.0.0.1:{wp}/temporary"),
            args: a(&["-L", "-d", "x=1"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "a redirect loop stops at --max-redirs",
            url: format!("http://127.0.0.1:{wp}/loop"),
            args: a(&["-L", "--max-redirs", "3"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "-H Host replaces the Host",
            url: format!("http://127.0.0.1:{wp}/echo"),
            args: a(&["-H", "Host: other.example"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "-H 'Accept:' removes it",
            url: format!("http://127.0.0.1:{wp}/echo"),
            args: a(&["-H", "Accept:"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "-H 'X-Empty;' sends it empty",
            url: format!("http://127.0.0.1:{wp}/echo"),
            args: a(&["-H", "X-Empty;"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "-H adds a header",
            url: format!("http://127.0.0.1:{wp}/echo"),
            args: a(&["-H", "X-Trace: abc"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "-e",
            url: format!("http://127.0.0.1:{wp}/echo"),
            args: a(&["-e", "https://from.example/"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "-u",
            url: format!("http://127.0.0.1:{wp}/echo"),
            args: a(&["-u", "me:secret"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "user:password in the URL",
            url: format!("http://me:p%40ss@127.0.0.1:{wp}/echo"),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "-d POST",
            url: format!("http://127.0.0.1:{wp}/echo"),
            args: a(&["-d", "a=1&b=2"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "-X PUT with -d",
            url: format!("http://127.0.0.1:{wp}/echo"),
            args: a(&["-X", "PUT", "-d", "{}"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "refused",
            url: format!("http://127.0.0.1:{}/", closed.port()),
            args: vec![],
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "-m on a server that never answers",
            url: format!("http://127.0.0.1:{wp}/silent"),
            args: a(&["-m", "1"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "--resolve",
            url: format!("http://parity.test:{p}/"),
            args: a(&["--resolve", &format!("parity.test:{p}:127.0.0.1")]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "--resolve with *",
            url: format!("http://parity.test:{p}/"),
            args: a(&["--resolve", &format!("*:{p}:127.0.0.1")]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "--resolve with two addresses, the first refusing",
            url: format!("http://parity.test:{p}/"),
            args: a(&["--resolve", &format!("parity.test:{p}:127.0.0.2,127.0.0.1")]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "--connect-to means no DNS for the name",
            url: "http://nowhere.invalid:80/".to_owned(),
            args: a(&["--connect-to", &format!("nowhere.invalid:80:127.0.0.1:{p}")]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "--connect-to with empty fields",
            url: format!("http://nowhere.invalid:{p}/"),
            args: a(&["--connect-to", "::127.0.0.1:"]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS, a CA-issued certificate",
            url: format!("https://localhost:{}/", s(https)),
            args: a(&["--cacert", &ca_file]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS over IPv6, an IP SAN",
            url: format!("https://[::1]:{}/", s(https6)),
            args: a(&["--cacert", &ca_file]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS to an IPv4 literal, an IP SAN",
            url: format!("https://127.0.0.1:{}/", s(https)),
            args: a(&["--cacert", &ca_file]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS through an intermediate",
            url: format!("https://localhost:{}/", s(https_chain)),
            args: a(&["--cacert", &ca_file]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS, an unknown CA",
            url: format!("https://localhost:{}/", s(https)),
            args: a(&["--cacert", &other_ca_file]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS, another name",
            url: format!("https://localhost:{}/", s(https_wrong)),
            args: a(&["--cacert", &ca_file]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS, expired",
            url: format!("https://localhost:{}/", s(https_expired)),
            args: a(&["--cacert", &ca_file]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS, not yet valid",
            url: format!("https://localhost:{}/", s(https_not_yet)),
            args: a(&["--cacert", &ca_file]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS, -k on another name",
            url: format!("https://localhost:{}/", s(https_wrong)),
            args: a(&["-k", "--cacert", &ca_file]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS, self-signed CA:TRUE as --cacert",
            url: format!("https://localhost:{}/", s(https_self_ca)),
            args: a(&["--cacert", &self_ca.cert_file.display().to_string()]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS, self-signed CA:FALSE as --cacert",
            url: format!("https://localhost:{}/", s(https_self_leaf)),
            args: a(&["--cacert", &self_leaf.cert_file.display().to_string()]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS, self-signed without --cacert",
            url: format!("https://localhost:{}/", s(https_self_leaf)),
            args: a(&["--cacert", &ca_file]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "HTTPS, --connect-to keeps the URL's name for TLS",
            url: "https://localhost:443/".to_owned(),
            args: a(&[
                "--cacert",
                &ca_file,
                "--connect-to",
                &format!("localhost:443:127.0.0.1:{}", s(https)),
            ]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "mTLS required, no certificate",
            url: format!("https://localhost:{}/", s(https_mtls)),
            args: a(&["--cacert", &ca_file]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "mTLS required, with a certificate",
            url: format!("https://localhost:{}/", s(https_mtls)),
            args: a(&["--cacert", &ca_file, "--cert", &cert, "--key", &key]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "mTLS optional, no certificate",
            url: format!("https://localhost:{}/", s(https_mtls_opt)),
            args: a(&["--cacert", &ca_file]),
            curl_only: vec![],
            env: vec![],
        },
        Case {
            name: "an h2-only server",
            url: format!("https://localhost:{}/", s(https_h2)),
            args: a(&["--cacert", &ca_file]),
            curl_only: vec![],
            env: vec![],
        },
    ];
    // --pinnedpubkey: the good certificate's key, by its SHA-256, and another.
    let spki = {
        let (_, c) = x509_parser::parse_x509_certificate(good.chain[0].as_ref()).expect("x509");
        let d = ring::digest::digest(&ring::digest::SHA256, c.public_key().raw);
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(d.as_ref())
    };
    cases.push(Case {
        name: "--pinnedpubkey that matches",
        url: format!("https://localhost:{}/", s(https)),
        args: a(&[
            "--cacert",
            &ca_file,
            "--pinnedpubkey",
            &format!("sha256//{spki}"),
        ]),
        curl_only: vec![],
        env: vec![],
    });
    cases.push(Case {
        name: "--pinnedpubkey that does not",
        url: format!("https://localhost:{}/", s(https)),
        args: a(&[
            "--cacert",
            &ca_file,
            "--pinnedpubkey",
            "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ]),
        curl_only: vec![],
        env: vec![],
    });

    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let curl_out = pki.dir.join("curl.out");
        let ours_out = pki.dir.join("ours.out");
        let theirs = run_curl(&curl, c, &curl_out);
        let ours = run_probe(c, &ours_out).await;
        for v in COMPARED {
            let (t, o) = (&theirs.w[v], &ours.w[v]);
            if t != o {
                failures.push(format!("{}: %{{{v}}}: curl {t}, probe {o}", c.name));
            }
        }
        if theirs.body != ours.body {
            failures.push(format!(
                "{}: body: curl {:?}, probe {:?}",
                c.name,
                theirs
                    .body
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned()),
                ours.body
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned()),
            ));
        }
    }
    // -o /dev/null stays the device it is.
    let dev_null = serve("127.0.0.1:0", Tls::default(), hello.clone()).await;
    let null = Case {
        name: "-o /dev/null",
        url: format!("http://127.0.0.1:{}/", dev_null.port()),
        args: vec![],
        curl_only: vec![],
        env: vec![],
    };
    let r = run_probe(&null, Path::new("/dev/null")).await;
    assert_eq!(r.w["http_code"], 200);
    {
        use std::os::unix::fs::FileTypeExt;
        assert!(
            std::fs::metadata("/dev/null")
                .expect("/dev/null")
                .file_type()
                .is_char_device(),
            "-o /dev/null must not replace the device"
        );
    }
    let _ = std::fs::remove_dir_all(&pki.dir);
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from curl:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A tinyproxy started on loopback for one test, stopped when dropped.
struct Tinyproxy {
    child: std::process::Child,
    addr: SocketAddr,
    _dir: PathBuf,
}

impl Tinyproxy {
    /// Starts tinyproxy with `extra` config lines, on a free port; ready once it says it
    /// accepts connections (its own log line: with -d it logs to standard output).
    fn start(tool: &Path, dir: &Path, name: &str, extra: &str) -> Tinyproxy {
        use std::io::BufRead as _;
        for _attempt in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let conf = dir.join(format!("{name}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "Port {port}\nListen 127.0.0.1\nTimeout 15\nMaxClients 32\nAllow 127.0.0.1\nLogLevel Info\nDisableViaHeader Yes\nPidFile \"{}\"\n{extra}\n",
                    dir.join(format!("{name}.pid")).display()
                ),
            )
            .expect("tinyproxy config");
            let mut child = std::process::Command::new(tool)
                .arg("-d")
                .arg("-c")
                .arg(&conf)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("tinyproxy starts");
            let stderr = child.stdout.take().expect("stdout");
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stderr)
                    .lines()
                    .map_while(Result::ok)
                {
                    if line.contains("Accepting connections") {
                        let _ = tx.send(true);
                    }
                    if line.contains("Could not create listening socket") {
                        let _ = tx.send(false);
                    }
                }
            });
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(true) => {
                    return Tinyproxy {
                        child,
                        addr: SocketAddr::from(([127, 0, 0, 1], port)),
                        _dir: dir.to_path_buf(),
                    };
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        panic!("tinyproxy did not start within 5 attempts");
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Proxies, against curl, through a real tinyproxy (Debian's): -x, the variables, NO_PROXY and
/// --noproxy, credentials (407 and -U), a refused CONNECT, and a proxy that is down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_goes_through_proxies_as_curl_does() {
    let Some(curl) = parallax_testkit::interop::require("curl", "the Debian package curl") else {
        return;
    };
    let Some(tp) = parallax_testkit::interop::require("tinyproxy", "the Debian package tinyproxy")
    else {
        return;
    };
    let pki = Pki::new("proxies");
    let dir = pki.dir.clone();
    let (ca, ca_pem) = pki.root("proxy parity CA");
    let good = Arc::new(pki.leaf(&ca, &["localhost", "127.0.0.1"], Validity::Now, &[]));
    let ca_file = ca_pem.cert_file.display().to_string();
    let hello = fixed(
        "HTTP/1.1 200 OK",
        vec![("Content-Type", "text/plain")],
        b"hello through the proxy\n",
    );
    let web = serve("127.0.0.1:0", Tls::default(), hello.clone()).await;
    let https = serve(
        "127.0.0.1:0",
        Tls {
            server: Some(good.clone()),
            ..Tls::default()
        },
        hello.clone(),
    )
    .await;
    let open = Tinyproxy::start(&tp, &dir, "open", "");
    let locked = Tinyproxy::start(&tp, &dir, "locked", "BasicAuth parity s3cret");
    let port443 = Tinyproxy::start(&tp, &dir, "port443", "ConnectPort 443");
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let a = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let px = |p: &Tinyproxy| format!("http://{}", p.addr);
    let http_url = format!("http://127.0.0.1:{}/", web.port());
    let https_url = format!("https://localhost:{}/", https.port());
    let case =
        |name: &'static str, url: &str, args: Vec<String>, env: Vec<(&'static str, String)>| Case {
            name,
            url: url.to_owned(),
            args,
            curl_only: vec![],
            env,
        };
    let cases = vec![
        case("http through -x", &http_url, a(&["-x", &px(&open)]), vec![]),
        case(
            "https through -x (CONNECT)",
            &https_url,
            a(&["-x", &px(&open), "--cacert", &ca_file]),
            vec![],
        ),
        case(
            "-x without a scheme",
            &http_url,
            a(&["-x", &open.addr.to_string()]),
            vec![],
        ),
        case(
            "HTTPS_PROXY",
            &https_url,
            a(&["--cacert", &ca_file]),
            vec![("HTTPS_PROXY", px(&open))],
        ),
        case(
            "https_proxy",
            &https_url,
            a(&["--cacert", &ca_file]),
            vec![("https_proxy", px(&open))],
        ),
        case(
            "http_proxy",
            &http_url,
            vec![],
            vec![("http_proxy", px(&open))],
        ),
        case(
            "HTTP_PROXY is not read (only http_proxy)",
            &http_url,
            vec![],
            vec![("HTTP_PROXY", px(&locked))],
        ),
        case(
            "ALL_PROXY",
            &http_url,
            vec![],
            vec![("ALL_PROXY", px(&open))],
        ),
        case(
            "NO_PROXY names the host",
            &https_url,
            a(&["--cacert", &ca_file]),
            vec![
                ("HTTPS_PROXY", format!("http://{down}")),
                ("NO_PROXY", "localhost".into()),
            ],
        ),
        case(
            "NO_PROXY with a domain",
            &https_url,
            a(&["--cacert", &ca_file]),
            vec![
                ("HTTPS_PROXY", format!("http://{down}")),
                ("NO_PROXY", "example.com,.localhost,localhost".into()),
            ],
        ),
        case(
            "NO_PROXY with a CIDR",
            &http_url,
            vec![],
            vec![
                ("http_proxy", format!("http://{down}")),
                ("NO_PROXY", "127.0.0.0/8".into()),
            ],
        ),
        case(
            "--noproxy '*'",
            &https_url,
            a(&["--noproxy", "*", "--cacert", &ca_file]),
            vec![("HTTPS_PROXY", format!("http://{down}"))],
        ),
        case(
            "-x '' turns the variables off",
            &http_url,
            a(&["-x", ""]),
            vec![("http_proxy", format!("http://{down}"))],
        ),
        case(
            "a proxy that wants credentials, http",
            &http_url,
            a(&["-x", &px(&locked)]),
            vec![],
        ),
        case(
            "a proxy that wants credentials, CONNECT",
            &https_url,
            a(&["-x", &px(&locked), "--cacert", &ca_file]),
            vec![],
        ),
        case(
            "-U gives them",
            &https_url,
            a(&[
                "-x",
                &px(&locked),
                "-U",
                "parity:s3cret",
                "--cacert",
                &ca_file,
            ]),
            vec![],
        ),
        case(
            "credentials in the proxy URL",
            &http_url,
            a(&["-x", &format!("http://parity:s3cret@{}", locked.addr)]),
            vec![],
        ),
        case(
            "wrong credentials",
            &http_url,
            a(&["-x", &px(&locked), "-U", "parity:wrong"]),
            vec![],
        ),
        case(
            "CONNECT to a port the proxy refuses",
            &https_url,
            a(&["-x", &px(&port443), "--cacert", &ca_file]),
            vec![],
        ),
        case(
            "a proxy that is down",
            &https_url,
            a(&["-x", &format!("http://{down}"), "--cacert", &ca_file]),
            vec![],
        ),
    ];
    let mut failures = Vec::new();
    for c in &cases {
        let theirs = run_curl(&curl, c, &dir.join("curl.out"));
        let ours = run_probe(c, &dir.join("ours.out")).await;
        for v in COMPARED.iter().chain(&["http_connect"]) {
            let (t, o) = (&theirs.w[*v], &ours.w[*v]);
            if t != o {
                failures.push(format!("{}: %{{{v}}}: curl {t}, probe {o}", c.name));
            }
        }
        if theirs.body != ours.body {
            failures.push(format!(
                "{}: body: curl {:?}, probe {:?}",
                c.name,
                theirs
                    .body
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned()),
                ours.body
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned()),
            ));
        }
    }
    drop((open, locked, port443));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} of {} proxy cases differ from curl:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A proxy that opens every CONNECT tunnel to a TLS server of its own (another CA's
/// certificate), as a TLS-inspecting corporate proxy does: the probe names the interception.
#[tokio::test]
async fn a_proxy_that_re_signs_tls_is_named() {
    let pki = Pki::new("intercept");
    let (ca, ca_pem) = pki.root("the real CA");
    let (inspector, _) = pki.root("Corporate Inspection CA");
    let _ = ca;
    let forged = Arc::new(pki.leaf(&inspector, &["api.example.com"], Validity::Now, &[]));
    let hello = fixed("HTTP/1.1 200 OK", vec![], b"inspected\n");
    let inner = serve(
        "127.0.0.1:0",
        Tls {
            server: Some(forged),
            ..Tls::default()
        },
        hello,
    )
    .await;
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let proxy_addr = proxy.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut client, _)) = proxy.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let Ok(mut upstream) = tokio::net::TcpStream::connect(inner).await else {
                    return;
                };
                if client
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
    let argv = [
        "probe",
        "-x",
        &format!("http://{proxy_addr}"),
        "--cacert",
        &ca_pem.cert_file.display().to_string(),
        "https://api.example.com/",
    ];
    let flags = Probe::try_parse_from(argv).expect("flags").curl;
    let mut opts = flags.to_options_with_env(&|_| None).expect("options");
    opts.confirm = false;
    let r = parallax_probe::probe(&opts, None, None).await;
    let text = r.to_text();
    assert_eq!(
        r.diagnosis.rule.as_str(),
        "proxy-tls-interception",
        "{text}"
    );
    assert!(text.contains("Corporate Inspection CA"), "{text}");
    assert!(text.contains("proxy    http://127.0.0.1:"), "{text}");
    parallax_testkit::text::assert_no_debug_text("interception", &text);
    let _ = std::fs::remove_dir_all(&pki.dir);
}
