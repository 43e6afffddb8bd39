//! DNS → TCP → TLS → HTTP, each step timed, bounded and recorded. A failing step ends the
//! ladder; the observation says how far it got.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use hyper_util::rt::TokioIo;
use parallax_model::Outcome;
use rustls::pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::failure::{ClientCertRefusal, HttpFailure, TlsFailure};
use crate::observation::{ConnectFailure, ConnectLayer, DnsLayer, Observation, TlsLayer};
use crate::options::ProbeOptions;

pub use crate::certificate::{cert_info, describe_cert, name_matches};
use crate::exchange::http_exchange;
use crate::handshake::{Recorder, client_config};
use crate::limits::{MAX_HEAD, STEP, left, ms};
use crate::resolve::{ask, path_answer, pinned};
use crate::route::Route;

/// Runs the whole ladder for `opts`, or with the connecting address pinned to `pin`.
pub async fn run(opts: &ProbeOptions, pin: Option<IpAddr>) -> Observation {
    let started = Instant::now();
    let deadline = started + opts.max_time;
    // `--connect-timeout` bounds resolving, connecting and the TLS handshake together.
    let connecting = opts
        .connect_timeout
        .map_or(deadline, |c| (started + c).min(deadline));
    let route = Route::of(opts);
    let mut obs = resolve_rung(opts, &route, pin, connecting).await;
    trace_dns(opts, &route, &obs.dns.path);
    // Each rung runs only if the one before it got through; the observation says how far.
    let addrs = obs.dns.path.outcome.addresses.clone();
    if !addrs.is_empty()
        && let Some(mut tcp) = connect_rung(opts, &route, &addrs, connecting, &mut obs).await
    {
        let tunnelled = match (&opts.proxy, opts.url.https) {
            (Some(_), true) => tunnel(opts, &mut tcp, connecting, &mut obs).await,
            _ => true,
        };
        if !tunnelled {
            // The proxy said no: the observation says why.
        } else if opts.url.https {
            tls_rung(opts, tcp, connecting, deadline, &mut obs).await;
        } else {
            trace_request(opts, false);
            let (http, outcome) = http_exchange(TokioIo::new(tcp), false, opts, deadline).await;
            trace_response(opts, &http);
            obs.http = Some(http);
            obs.outcome.http = outcome;
        }
    }
    obs.total_ms = ms(started.elapsed());
    obs
}

/// HTTPS through an HTTP proxy: `CONNECT host:port`, and the proxy's answer (RFC 9110
/// §9.3.6). Only a 2xx opens the tunnel.
async fn tunnel(
    opts: &ProbeOptions,
    tcp: &mut TcpStream,
    deadline: Instant,
    obs: &mut Observation,
) -> bool {
    use crate::failure::ProxyFailure;
    use tokio::io::AsyncReadExt;
    let target = format!(
        "{}:{}",
        match opts.url.ip() {
            Some(std::net::IpAddr::V6(a)) => format!("[{a}]"),
            _ => opts.url.host_str(),
        },
        opts.url.port
    );
    let mut req = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: {}\r\nProxy-Connection: Keep-Alive\r\n",
        concat!("parallax/", env!("CARGO_PKG_VERSION"))
    );
    if let Some(auth) = crate::exchange::proxy_authorization(opts) {
        req.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    req.push_str("\r\n");
    opts.trace(|| {
        format!("* Establish HTTP proxy tunnel to {target}\n> CONNECT {target} HTTP/1.1")
    });
    let t0 = Instant::now();
    let exchange = async {
        tcp.write_all(req.as_bytes()).await?;
        // The head only, a byte at a time: what follows it is the tunnel's.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() >= MAX_HEAD {
                return Ok::<_, std::io::Error>(None);
            }
            if tcp.read(&mut byte).await? == 0 {
                return Ok(Some(head));
            }
            head.push(byte[0]);
        }
        Ok(Some(head))
    };
    let result = tokio::time::timeout(left(deadline).min(STEP), exchange).await;
    let Some(layer) = obs.proxy.as_mut() else {
        return false;
    };
    layer.elapsed_ms = ms(t0.elapsed());
    let head = match result {
        Err(_) => {
            layer.fail(ProxyFailure::TimedOut);
            return false;
        }
        Ok(Err(_)) => {
            layer.fail(ProxyFailure::Closed);
            return false;
        }
        Ok(Ok(None)) => {
            layer.fail(ProxyFailure::BadResponse {
                detail: format!("a head over {MAX_HEAD} bytes"),
            });
            return false;
        }
        Ok(Ok(Some(h))) if h.is_empty() => {
            layer.fail(ProxyFailure::Closed);
            return false;
        }
        Ok(Ok(Some(h))) => h,
    };
    let text = String::from_utf8_lossy(&head);
    let first = text.lines().next().unwrap_or_default();
    opts.trace(|| format!("< {first}"));
    let status = first
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse::<u16>().ok());
    let Some(status) = status else {
        layer.fail(ProxyFailure::BadResponse {
            detail: format!("`{first}`"),
        });
        return false;
    };
    layer.connect_status = Some(status);
    match status {
        200..=299 => true,
        407 => {
            layer.fail(ProxyFailure::AuthRequired { status });
            false
        }
        _ => {
            layer.fail(ProxyFailure::Refused { status });
            false
        }
    }
}

/// `-v`: what the name resolved to, as curl says it.
fn trace_dns(opts: &ProbeOptions, route: &Route, a: &crate::observation::DnsAnswer) {
    opts.trace(|| match &a.error {
        Some(e) => format!("* Could not resolve host: {} ({e})", route.host),
        None if a.outcome.addresses.is_empty() => format!(
            "* Could not resolve host: {} ({})",
            route.host, a.outcome.rcode
        ),
        None => {
            let mut t = format!(
                "* Host {}:{} was resolved ({}{}).",
                route.host,
                route.port,
                a.resolver,
                a.source
                    .as_deref()
                    .map(|s| format!(", {s}"))
                    .unwrap_or_default()
            );
            for ip in &a.outcome.addresses {
                t.push_str(&format!(
                    "\n* {}: {ip}",
                    if ip.is_ipv6() { "IPv6" } else { "IPv4" }
                ));
            }
            t
        }
    });
}

/// `-v`: the request line and headers (secrets redacted).
fn trace_request(opts: &ProbeOptions, h2: bool) {
    opts.trace(|| {
        let (list, _) = crate::exchange::request_headers(opts);
        let mut t = format!(
            "> {} {} HTTP/{}",
            opts.method,
            opts.url.path,
            if h2 { "2" } else { "1.1" }
        );
        for (k, v) in list {
            let v = if SECRET_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
                "***".to_owned()
            } else {
                v
            };
            t.push_str(&format!("\n> {k}: {v}"));
        }
        t.push_str("\n>");
        t
    });
}

/// `-v`: the response's status line and headers, or why there is none.
fn trace_response(opts: &ProbeOptions, h: &crate::observation::HttpLayer) {
    opts.trace(|| match (h.status, &h.error) {
        (Some(s), _) => {
            let mut t = format!("< HTTP/{} {s}", h.version.as_deref().unwrap_or("1.1"));
            for (k, v) in &h.all_headers {
                t.push_str(&format!("\n< {k}: {v}"));
            }
            t.push_str("\n<");
            t
        }
        (None, Some(e)) => format!("* {e}"),
        (None, None) => "* no response".to_owned(),
    });
}

/// DNS: the connecting path's answer (or the pinned address) and the comparison resolvers'.
async fn resolve_rung(
    opts: &ProbeOptions,
    route: &Route,
    pin: Option<IpAddr>,
    deadline: Instant,
) -> Observation {
    let path = match pin {
        Some(addr) => pinned(addr, "confirmation"),
        None => path_answer(opts, route, deadline).await,
    };
    let mut compare = Vec::new();
    if pin.is_none() {
        for (name, server) in &opts.compare_dns {
            compare.push(ask(name, *server, opts, deadline).await);
        }
    }
    let outcome = Outcome {
        dns: path.outcome.clone(),
        front_door: None,
        http: None,
        tls: None,
    };
    Observation {
        url: opts.url.to_string(),
        method: opts.method.clone(),
        request_headers: redacted_headers(opts),
        dns: DnsLayer { path, compare },
        connect: None,
        proxy: opts.proxy.as_ref().map(|p| crate::observation::ProxyLayer {
            url: p.shown(),
            from: p.from.clone(),
            ..Default::default()
        }),
        tls: None,
        http: None,
        outcome,
        total_ms: 0.0,
    }
}

/// TCP to each answer in turn until one takes the connection (or where a `--connect-to` rule
/// for the resolved address maps it), then the PROXY header if asked for.
async fn connect_rung(
    opts: &ProbeOptions,
    route: &Route,
    addrs: &[IpAddr],
    deadline: Instant,
    obs: &mut Observation,
) -> Option<TcpStream> {
    let mut last = None;
    for (i, ip) in addrs.iter().take(8).enumerate() {
        let addr = SocketAddr::new(*ip, route.port);
        // parallax's own rule form: HOST is the resolved address, HOST2 a socket.
        let via = if route.via_rule {
            None
        } else {
            opts.connect_to
                .iter()
                .find(|c| c.host == ip.to_string() && c.port.is_none_or(|p| p == route.port))
                .and_then(|c| c.socket())
        };
        if via.is_none() && opts.only_connect_to && !route.via_rule {
            obs.connect = Some(ConnectLayer {
                addr,
                via: None,
                elapsed_ms: 0.0,
                failure: Some(ConnectFailure::Unreachable),
                error: Some(format!(
                    "{addr} is not in the connect map, and only mapped addresses may be dialled (the lab never leaves loopback)"
                )),
            });
            return None;
        }
        let dial = via.unwrap_or(addr);
        opts.trace(|| match via {
            Some(v) => format!("*   Trying {addr} (dialled at {v})..."),
            None => format!("*   Trying {addr}..."),
        });
        let t0 = Instant::now();
        let tcp =
            match tokio::time::timeout(left(deadline).min(STEP), TcpStream::connect(dial)).await {
                Ok(Ok(s)) => Ok(s),
                Ok(Err(e)) => Err((connect_failure(&e), e.to_string())),
                Err(_) => Err((
                    ConnectFailure::TimedOut,
                    format!(
                        "no connection within {} ms",
                        left(deadline).min(STEP).as_millis()
                    ),
                )),
            };
        let layer = ConnectLayer {
            addr,
            via,
            elapsed_ms: ms(t0.elapsed()),
            failure: tcp.as_ref().err().map(|e| e.0),
            error: tcp.as_ref().err().map(|e| e.1.clone()),
        };
        opts.trace(|| match &layer.error {
            None => format!(
                "* Connected to {} ({}) port {}",
                route.host,
                addr.ip(),
                addr.port()
            ),
            Some(e) => format!("* connect to {addr} failed: {e}"),
        });
        match tcp {
            Ok(mut tcp) => {
                let connect = obs.connect.insert(layer);
                let _ = tcp.set_nodelay(true);
                if let Some(claimed) = opts.haproxy {
                    let local = tcp.local_addr().unwrap_or(SocketAddr::new(*ip, 0));
                    let src = SocketAddr::new(claimed.unwrap_or(local.ip()), local.port());
                    let line = parallax_rules::proxy_header::write_v1(src, addr);
                    if let Err(e) = tcp.write_all(line.as_bytes()).await {
                        connect.failure = Some(ConnectFailure::Other);
                        connect.error = Some(format!("sending the PROXY protocol header: {e}"));
                        return None;
                    }
                }
                return Some(tcp);
            }
            Err(_) => {
                last = Some(layer);
                // The next address, as curl tries each in turn, while time is left.
                if i + 1 < addrs.len() && !left(deadline).is_zero() {
                    continue;
                }
            }
        }
    }
    obs.connect = last;
    None
}

/// TLS, then the HTTP exchange inside it (where TLS 1.3 reports a refused client certificate).
async fn tls_rung(
    opts: &ProbeOptions,
    tcp: TcpStream,
    connecting: Instant,
    deadline: Instant,
    obs: &mut Observation,
) {
    let host_text = opts.url.host_str();
    let host = host_text.as_str();
    let recorder = Arc::new(Recorder::default());
    // No SNI for an address (RFC 6066 §3), as curl; the certificate is matched to the address.
    let tls = obs.tls.insert(TlsLayer {
        sni: opts.url.name().map(|n| n.as_str().to_owned()),
        verify_skipped: opts.danger_accept_invalid_certs,
        ..Default::default()
    });
    let config = match client_config(opts, recorder.clone()) {
        Ok(c) => c,
        Err(what) => {
            tls.fail(TlsFailure::LocalSetup { what });
            return;
        }
    };
    let server_name = match opts.url.ip() {
        Some(ip) => Ok(ServerName::IpAddress(ip.into())),
        None => ServerName::try_from(host.to_owned()),
    };
    let Ok(server_name) = server_name else {
        tls.fail(TlsFailure::BadServerName {
            host: host.to_owned(),
        });
        return;
    };
    let t0 = Instant::now();
    let handshake = tokio::time::timeout(
        left(connecting).min(STEP),
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(server_name, tcp),
    )
    .await;
    tls.elapsed_ms = ms(t0.elapsed());
    recorder.fill(tls, host, opts.danger_accept_invalid_certs);
    tls.name_self_signed();
    let stream = match handshake {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            let got_hello = !tls.chain.is_empty();
            let pin_mismatch = recorder.pin_mismatch.lock().map(|m| *m).unwrap_or(false);
            let failure = if pin_mismatch {
                TlsFailure::PinnedKeyMismatch
            } else {
                TlsFailure::of_handshake(&e, got_hello)
            };
            if failure == TlsFailure::VersionRefused {
                obs.outcome.tls = Some(parallax_model::TlsResult::Refused);
            }
            tls.fail(failure);
            tls.name_self_signed();
            opts.trace(|| {
                format!(
                    "* TLS handshake failed: {}",
                    tls.error.clone().unwrap_or_default()
                )
            });
            return;
        }
        Err(_) => {
            tls.fail(TlsFailure::TimedOut);
            opts.trace(|| "* TLS handshake timed out".to_owned());
            return;
        }
    };
    let h2 = negotiated(tls, stream.get_ref().1, opts);
    obs.outcome.tls = match stream.get_ref().1.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => Some(parallax_model::TlsResult::Tls13),
        Some(rustls::ProtocolVersion::TLSv1_2) => Some(parallax_model::TlsResult::Tls12),
        _ => None,
    };
    trace_request(opts, h2);
    let (http, outcome) = http_exchange(TokioIo::new(stream), h2, opts, deadline).await;
    trace_response(opts, &http);
    // TLS 1.3 sends the server's verdict on our certificate after the handshake: it shows up
    // as an alert on the first read, i.e. as the HTTP exchange failing.
    if let Some(HttpFailure::TlsAlert { description }) = &http.failure
        && tls.client_cert_requested
    {
        tls.refused(if description == "certificate_required" {
            ClientCertRefusal::Required
        } else {
            ClientCertRefusal::Alert {
                description: description.clone(),
            }
        });
    }
    obs.http = Some(http);
    obs.outcome.http = outcome;
}

/// What the handshake settled (version, cipher, ALPN), recorded and traced as curl's `-v`
/// shows it; whether HTTP/2 was agreed.
fn negotiated(tls: &mut TlsLayer, session: &rustls::ClientConnection, opts: &ProbeOptions) -> bool {
    tls.version = session
        .protocol_version()
        .and_then(|v| v.as_str())
        .map(|v| v.replace('_', "."));
    tls.cipher = session
        .negotiated_cipher_suite()
        .and_then(|c| c.suite().as_str())
        .map(str::to_owned);
    tls.alpn = session
        .alpn_protocol()
        .map(|a| String::from_utf8_lossy(a).into_owned());
    opts.trace(|| {
        let mut t = format!(
            "* SSL connection using {} / {} / ALPN: {}",
            tls.version.as_deref().unwrap_or("-"),
            tls.cipher.as_deref().unwrap_or("-"),
            tls.alpn.as_deref().unwrap_or("-")
        );
        if let Some(leaf) = tls.chain.first() {
            t.push_str(&format!(
                "\n* Server certificate:\n*  subject: {}\n*  expire date: {}\n*  subjectAltName: {}\n*  issuer: {}",
                leaf.subject,
                leaf.not_after,
                leaf.san.join(", "),
                leaf.issuer
            ));
        }
        match (&tls.trust, &tls.verify_error) {
            (Some(rule), None) => t.push_str(&format!("\n*  SSL certificate verify ok ({rule}).")),
            (_, Some(e)) => t.push_str(&format!("\n*  SSL certificate problem: {e}")),
            (None, None) => {}
        }
        t
    });
    session.alpn_protocol() == Some(b"h2")
}

/// Header names whose values are secrets.
pub const SECRET_HEADERS: [&str; 5] = [
    "x-api-key",
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-amz-security-token",
];

/// The request headers for the report, secrets replaced by `***`: what the request sends
/// beyond curl's unchanged defaults (`Host` of the URL, the User-Agent, `Accept: */*`).
pub fn redacted_headers(opts: &ProbeOptions) -> std::collections::BTreeMap<String, String> {
    let (list, _) = crate::exchange::request_headers(opts);
    let default_ua = concat!("parallax/", env!("CARGO_PKG_VERSION"));
    list.into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .filter(|(k, v)| {
            !((k == "host" && *v == opts.url.authority())
                || (k == "user-agent" && v == default_ua)
                || (k == "accept" && v == "*/*"))
        })
        .map(|(k, v)| {
            let v = if SECRET_HEADERS.contains(&k.as_str()) {
                "***".to_owned()
            } else {
                v
            };
            (k, v)
        })
        .collect()
}

fn connect_failure(e: &std::io::Error) -> ConnectFailure {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => ConnectFailure::Refused,
        TimedOut => ConnectFailure::TimedOut,
        HostUnreachable | NetworkUnreachable | AddrNotAvailable => ConnectFailure::Unreachable,
        _ => ConnectFailure::Other,
    }
}
