//! `soak`: `parallax gateway` (the binary given) under mixed HTTP/1.1 and HTTP/2 load for a
//! while, with abusive clients mixed in, its resident memory sampled from /proc. Well-behaved
//! clients: keep-alive HTTP/1.1 connections and multiplexed HTTP/2 ones, each request read
//! whole. Abusive ones: HTTP/2 connections that open every stream they may and never open their
//! flow-control windows (held a while, then dropped, again and again), slowloris connections
//! that send a header byte a second, and connections that send random bytes after TLS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const API: &str = "s0a1k2t3e4";

fn host() -> String {
    format!("{API}.execute-api.us-east-1.amazonaws.com")
}

/// The kinds of client the soak runs.
#[derive(Clone, Copy)]
enum Client {
    H1,
    H2,
    NeverReading,
    Slowloris,
    Garbage,
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    failed: AtomicU64,
    abusive: AtomicU64,
}

/// Runs the soak and prints JSON lines: a sample every `sample` seconds, then a summary.
pub async fn soak(parallax: PathBuf, seconds: f64, sample: f64) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("parallax-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let body = "x".repeat(16 * 1024);
    let topology = dir.join("topology.yaml");
    std::fs::write(
        &topology,
        format!(
            "region: us-east-1\nfront_doors: {{ regional: [52.94.133.10] }}\napis:\n  - id: {API}\n    name: soak\n    endpoint_type: REGIONAL\n    stages: [prod]\n    routes:\n      - {{ method: GET, path: /soak, integration: {{ type: MOCK, body: {body} }} }}\n"
        ),
    )?;
    let mut child = std::process::Command::new(&parallax)
        .args(["gateway", "--topology"])
        .arg(&topology)
        .arg("--tls-dir")
        .arg(dir.join("tls"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("{}: cannot start", parallax.display()))?;
    let pid = child.id();
    let stdout = child.stdout.take().context("stdout")?;
    let door: SocketAddr = {
        use std::io::BufRead;
        let mut found = None;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line?;
            if let Some(rest) = line.strip_prefix("listening on https ")
                && rest.ends_with(" door regional")
            {
                found = rest.split(' ').next().and_then(|a| a.parse().ok());
                break;
            }
        }
        found.context("the gateway's regional door")?
    };
    let ca = super::read_certs(&dir.join("tls/server-ca.pem"))?;
    let tls = |alpn: &[u8]| -> anyhow::Result<tokio_rustls::TlsConnector> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(ca.clone());
        let mut c = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        c.alpn_protocols = vec![alpn.to_vec()];
        Ok(tokio_rustls::TlsConnector::from(Arc::new(c)))
    };
    let (h1, h2) = (tls(b"http/1.1")?, tls(b"h2")?);
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (n, kind) in [
        (16, Client::H1),
        (4, Client::H2),
        (4, Client::NeverReading),
        (50, Client::Slowloris),
        (2, Client::Garbage),
    ] {
        for _ in 0..n {
            let connector = match kind {
                Client::H2 | Client::NeverReading => h2.clone(),
                _ => h1.clone(),
            };
            let (counts, stop) = (counts.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                match kind {
                    Client::H1 => well_behaved_h1(connector, door, counts, stop).await,
                    Client::H2 => well_behaved_h2(connector, door, counts, stop).await,
                    Client::NeverReading => never_reading_h2(connector, door, counts, stop).await,
                    Client::Slowloris => slowloris(connector, door, counts, stop).await,
                    Client::Garbage => garbage(connector, door, counts, stop).await,
                }
            }));
        }
    }
    let t0 = Instant::now();
    let mut samples: Vec<(f64, u64)> = Vec::new();
    while t0.elapsed().as_secs_f64() < seconds {
        tokio::time::sleep(Duration::from_secs_f64(sample)).await;
        if let Some((rss, _)) = super::proc_usage(pid) {
            let t = t0.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({
                    "t_s": t,
                    "rss_kb": rss,
                    "ok": counts.ok.load(Ordering::Relaxed),
                    "failed": counts.failed.load(Ordering::Relaxed),
                    "abusive_connections": counts.abusive.load(Ordering::Relaxed),
                })
            );
            samples.push((t, rss));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.abort();
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    // Steady state: from the first minute on (or the second sample in a short run).
    let warm = samples
        .iter()
        .position(|s| s.0 >= 60.0_f64.min(seconds / 2.0))
        .unwrap_or(0);
    let steady = &samples[warm..];
    if let (Some(first), Some(last)) = (steady.first(), steady.last()) {
        let max = steady.iter().map(|s| s.1).max().unwrap_or(0);
        let min = steady.iter().map(|s| s.1).min().unwrap_or(0);
        println!(
            "{}",
            serde_json::json!({
                "summary": "soak",
                "seconds": seconds,
                "rss_at_warm_kb": first.1,
                "rss_last_kb": last.1,
                "rss_min_kb": min,
                "rss_max_kb": max,
                "spread_percent": (max - min) as f64 / first.1.max(1) as f64 * 100.0,
                "ok": counts.ok.load(Ordering::Relaxed),
                "failed": counts.failed.load(Ordering::Relaxed),
                "abusive_connections": counts.abusive.load(Ordering::Relaxed),
            })
        );
    }
    Ok(())
}

async fn tls_to(
    connector: &tokio_rustls::TlsConnector,
    door: SocketAddr,
) -> anyhow::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = tokio::net::TcpStream::connect(door).await?;
    Ok(connector
        .connect(ServerName::try_from(host())?, tcp)
        .await?)
}

fn get() -> http::Request<Empty<Bytes>> {
    http::Request::get(format!("https://{}/prod/soak", host()))
        .header("host", host())
        .body(Empty::new())
        .unwrap_or_default()
}

async fn well_behaved_h1(
    connector: tokio_rustls::TlsConnector,
    door: SocketAddr,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(tls) = tls_to(&connector, door).await else {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok((mut send, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await
        else {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        tokio::spawn(conn);
        // A connection carries 1,000 requests, then a new one is made.
        for _ in 0..1000 {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let ok = match send.ready().await {
                Ok(()) => match send.send_request(get()).await {
                    Ok(res) => res.status() == 200 && res.into_body().collect().await.is_ok(),
                    Err(_) => false,
                },
                Err(_) => false,
            };
            if ok {
                counts.ok.fetch_add(1, Ordering::Relaxed);
            } else {
                counts.failed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

async fn well_behaved_h2(
    connector: tokio_rustls::TlsConnector,
    door: SocketAddr,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(tls) = tls_to(&connector, door).await else {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok((send, conn)) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await
        else {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        tokio::spawn(conn);
        // Eight streams at a time, 1,000 requests each, then a new connection.
        let streams: Vec<_> = (0..8)
            .map(|_| {
                let (mut send, counts, stop) = (send.clone(), counts.clone(), stop.clone());
                tokio::spawn(async move {
                    for _ in 0..1000 {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let ok = match send.ready().await {
                            Ok(()) => match send.send_request(get()).await {
                                Ok(res) => {
                                    res.status() == 200 && res.into_body().collect().await.is_ok()
                                }
                                Err(_) => false,
                            },
                            Err(_) => false,
                        };
                        if ok {
                            counts.ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            counts.failed.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                })
            })
            .collect();
        for s in streams {
            let _ = s.await;
        }
    }
}

/// Opens every stream it may and never reads: held 5 s, dropped, again.
async fn never_reading_h2(
    connector: tokio_rustls::TlsConnector,
    door: SocketAddr,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(tls) = tls_to(&connector, door).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        counts.abusive.fetch_add(1, Ordering::Relaxed);
        let Ok((send, conn)) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .initial_stream_window_size(0)
            .adaptive_window(false)
            .handshake::<_, Empty<Bytes>>(TokioIo::new(tls))
            .await
        else {
            continue;
        };
        let driver = tokio::spawn(conn);
        let mut held = Vec::new();
        for _ in 0..256 {
            let mut send = send.clone();
            held.push(tokio::spawn(async move {
                if send.ready().await.is_ok()
                    && let Ok(res) = send.send_request(get()).await
                {
                    // Held, never read, until the task is aborted.
                    std::future::pending::<()>().await;
                    drop(res);
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        for h in held {
            h.abort();
        }
        driver.abort();
    }
}

/// A request head a byte a second, until the gateway's header timeout closes the connection.
async fn slowloris(
    connector: tokio_rustls::TlsConnector,
    door: SocketAddr,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
) {
    let head = format!("GET /prod/soak HTTP/1.1\r\nHost: {}\r\nX-Slow: ", host());
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut tls) = tls_to(&connector, door).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        counts.abusive.fetch_add(1, Ordering::Relaxed);
        if tls.write_all(head.as_bytes()).await.is_err() {
            continue;
        }
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if tls.write_all(b"a").await.is_err() {
                break;
            }
        }
    }
}

/// Random bytes after TLS, ten connections a second.
async fn garbage(
    connector: tokio_rustls::TlsConnector,
    door: SocketAddr,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let Ok(mut tls) = tls_to(&connector, door).await else {
            continue;
        };
        counts.abusive.fetch_add(1, Ordering::Relaxed);
        let bytes: Vec<u8> = (0..512)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x & 0xff) as u8
            })
            .collect();
        let _ = tls.write_all(&bytes).await;
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), tls.read_to_end(&mut sink)).await;
    }
}
