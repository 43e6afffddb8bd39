//! parallax-bench: the load generators and generators of the benchmarks in BENCHMARKS.md.
//! `bench/run` drives parallax and its peers (nginx, dnsmasq, unbound) with these, side by side.
//!
//! - `certs DIR`: one set of certificates, keys and an API key for both sides of a comparison,
//!   and the parallax topology that uses them.
//! - `https`: HTTPS load with a client certificate; keep-alive, or a new handshake per request.
//! - `dns`: DNS load over UDP.
//! - `analyze-scale`: synthetic organisations as CloudFormation and Terraform JSON; the time to
//!   analyze them next to the time serde_json alone takes to parse the same bytes.
//! - `watch-cost`: `parallax watch` with many targets against the seed lab, its RSS and CPU
//!   sampled from /proc while it runs.
//! - `soak` ([`soak`]): `parallax gateway` under mixed HTTP/1.1 and HTTP/2 load with abusive
//!   clients mixed in, its RSS sampled from /proc.

mod soak;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};

#[derive(Parser, Debug)]
#[command(name = "parallax-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write server.pem (chain and key), client-ca.pem, client.pem, client.key, api-key.txt and
    /// topology.yaml (a custom domain with mutual TLS, a keyed MOCK, a keyed proxy).
    Certs {
        dir: PathBuf,
        /// The plain-HTTP upstream both gateways proxy to.
        #[arg(long)]
        upstream_port: u16,
    },
    /// HTTPS load. Prints one JSON line: requests, errors, rps, p50_ms, p99_ms.
    Https {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long)]
        host: String,
        #[arg(long, default_value = "/")]
        path: String,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// A new TCP connection and TLS handshake for every request.
        #[arg(long)]
        new_conn: bool,
        #[arg(long)]
        ca: PathBuf,
        #[arg(long)]
        cert: Option<PathBuf>,
        #[arg(long)]
        key: Option<PathBuf>,
        #[arg(long)]
        api_key_file: Option<PathBuf>,
    },
    /// DNS load over UDP. Prints one JSON line: queries, errors, qps, p50_ms, p99_ms.
    Dns {
        #[arg(long)]
        server: SocketAddr,
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// `parallax watch` (the binary at --parallax) with --targets targets every --interval
    /// against the seed lab at endpoint-added, for --seconds; its RSS and CPU from /proc every
    /// --sample seconds (JSON lines), then a summary line.
    WatchCost {
        #[arg(long)]
        parallax: PathBuf,
        #[arg(long, default_value_t = 1000)]
        targets: usize,
        #[arg(long, default_value = "30s")]
        interval: String,
        #[arg(long, default_value_t = 600.0)]
        seconds: f64,
        #[arg(long, default_value_t = 10.0)]
        sample: f64,
    },
    /// `parallax gateway` (the binary at --parallax) for --seconds under well-behaved HTTP/1.1
    /// and HTTP/2 load with abusive clients mixed in (HTTP/2 that never reads, slowloris,
    /// garbage); its RSS every --sample seconds (JSON lines), then a summary line.
    Soak {
        #[arg(long)]
        parallax: PathBuf,
        #[arg(long, default_value_t = 600.0)]
        seconds: f64,
        #[arg(long, default_value_t = 10.0)]
        sample: f64,
    },
    /// Analyze synthetic organisations of each size; one JSON line per (size, format).
    AnalyzeScale {
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "10,100,1000,10000,100000"
        )]
        sizes: Vec<usize>,
        #[arg(long)]
        out: PathBuf,
    },
}

/// The allocator the `parallax` binary ships with, so that the in-process cases (analyze and
/// its parse floor) measure what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Certs { dir, upstream_port } => certs(&dir, upstream_port),
        Command::Https {
            addr,
            host,
            path,
            concurrency,
            seconds,
            new_conn,
            ca,
            cert,
            key,
            api_key_file,
        } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(https(
                addr,
                host,
                path,
                concurrency,
                seconds,
                new_conn,
                ca,
                cert,
                key,
                api_key_file,
            ))
        }
        Command::WatchCost {
            parallax,
            targets,
            interval,
            seconds,
            sample,
        } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(watch_cost(parallax, targets, interval, seconds, sample))
        }
        Command::Dns {
            server,
            name,
            concurrency,
            seconds,
        } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(dns(server, name, concurrency, seconds))
        }
        Command::AnalyzeScale { sizes, out } => analyze_scale(&sizes, &out),
        Command::Soak {
            parallax,
            seconds,
            sample,
        } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(soak::soak(parallax, seconds, sample))
        }
    }
}

const HOST: &str = "bench.example.com";
const API_KEY: &str = "benchkey0123456789abcdefXYZ";

fn certs(dir: &PathBuf, upstream_port: u16) -> anyhow::Result<()> {
    use parallax_gateway::pki::{Ca, LeafSpec};
    std::fs::create_dir_all(dir)?;
    let server_ca = Ca::root("bench server CA")?;
    let server = server_ca.issue(&LeafSpec {
        common_name: HOST.into(),
        dns_names: vec![HOST.into()],
        server: true,
        ..Default::default()
    })?;
    let client_ca = Ca::root("bench client CA")?;
    let client = client_ca.issue(&LeafSpec {
        common_name: "bench client".into(),
        client: true,
        ..Default::default()
    })?;
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).with_context(|| format!("writing {name}"))
    };
    write("server-ca.pem", &server_ca.cert_pem())?;
    write("server.crt", &server.chain_pem())?;
    write("server.key", &server.key_pem())?;
    write(
        "server.pem",
        &format!("{}{}", server.chain_pem(), server.key_pem()),
    )?;
    write("client-ca.pem", &client_ca.cert_pem())?;
    write("client.pem", &client.chain_pem())?;
    write("client.key", &client.key_pem())?;
    write("api-key.txt", API_KEY)?;
    let d = dir.display();
    write(
        "topology.yaml",
        &format!(
            r#"# The gateway side of the nginx comparison: TLS with client-certificate verification, an
# API key checked against a key set, a fixed response, and a proxy with keep-alive.
region: us-east-1
front_doors: {{ regional: [52.94.133.10] }}
apis:
  - id: b1e2n3c4h5
    name: bench
    endpoint_type: REGIONAL
    stages: [prod]
    routes:
      - {{ method: GET, path: /mock, api_key_required: true, integration: {{ type: MOCK, status: 200, body: '{{"ok":true}}' }} }}
      - {{ method: ANY, path: "/proxy/{{proxy+}}", api_key_required: true, integration: {{ type: HTTP_PROXY, uri: "http://127.0.0.1:{upstream_port}/{{proxy}}" }} }}
custom_domains:
  - name: {HOST}
    endpoint_type: REGIONAL
    dns: alias
    certificate: {d}/server.pem
    mtls: {{ truststore: {d}/client-ca.pem }}
    mappings: [{{ api: b1e2n3c4h5, stage: prod }}]
# Limits no benchmark reaches, so that every request is counted (in memory, or in Redis with
# --usage-store) and none refused; nginx counts in its limit_req zone the same way.
usage_plans:
  - id: bench
    throttle: {{ rate: 10000000, burst: 10000000 }}
    quota: {{ limit: 1000000000000, period: DAY }}
    stages: [{{ api: b1e2n3c4h5, stage: prod }}]
    keys: [{{ id: bench, value: {API_KEY} }}]
"#
        ),
    )?;
    Ok(())
}

fn read_certs(p: &PathBuf) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    Ok(CertificateDer::pem_file_iter(p)
        .with_context(|| format!("{}", p.display()))?
        .collect::<Result<_, _>>()?)
}

#[allow(clippy::too_many_arguments)]
async fn https(
    addr: SocketAddr,
    host: String,
    path: String,
    concurrency: usize,
    seconds: f64,
    new_conn: bool,
    ca: PathBuf,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    api_key_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(read_certs(&ca)?);
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match (&cert, &key) {
        (Some(c), Some(k)) => builder.with_client_auth_cert(
            read_certs(c)?,
            PrivateKeyDer::from_pem_file(k).with_context(|| format!("{}", k.display()))?,
        )?,
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // No session resumption: every new connection is a full handshake with the certificate.
    config.resumption = rustls::client::Resumption::disabled();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let api_key = match &api_key_file {
        Some(p) => Some(std::fs::read_to_string(p)?.trim().to_owned()),
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (connector, host, path, api_key, stop) = (
            connector.clone(),
            host.clone(),
            path.clone(),
            api_key.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut sender: Option<hyper::client::conn::http1::SendRequest<Empty<Bytes>>> = None;
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                if sender.is_none() || new_conn {
                    sender = match connect(&connector, addr, &host).await {
                        Ok(s) => Some(s),
                        Err(_) => {
                            errors += 1;
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            continue;
                        }
                    };
                }
                let Some(s) = sender.as_mut() else { continue };
                let mut req = http::Request::builder()
                    .uri(path.as_str())
                    .header("host", host.as_str());
                if let Some(k) = &api_key {
                    req = req.header("x-api-key", k.as_str());
                }
                let Ok(req) = req.body(Empty::<Bytes>::new()) else {
                    continue;
                };
                let ok = match s.ready().await {
                    Ok(()) => match s.send_request(req).await {
                        Ok(res) => {
                            let good = res.status().is_success();
                            good && res.into_body().collect().await.is_ok()
                        }
                        Err(_) => false,
                    },
                    Err(_) => false,
                };
                if ok {
                    lat.push(t0.elapsed());
                } else {
                    errors += 1;
                    sender = None;
                }
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    report("requests", all, errors, started.elapsed());
    Ok(())
}

async fn connect(
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
    host: &str,
) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Empty<Bytes>>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let tls = connector
        .connect(ServerName::try_from(host.to_owned())?, tcp)
        .await?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    tokio::spawn(conn);
    Ok(send)
}

fn report(what: &str, mut lat: Vec<Duration>, errors: u64, elapsed: Duration) {
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let rate = if what == "requests" { "rps" } else { "qps" };
    println!(
        "{}",
        serde_json::json!({ what: lat.len(), "errors": errors, rate: lat.len() as f64 / elapsed.as_secs_f64(), "p50_ms": pct(0.50), "p99_ms": pct(0.99) })
    );
}

async fn dns(
    server: SocketAddr,
    name: String,
    concurrency: usize,
    seconds: f64,
) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency.max(1) {
        let (name, stop) = (name.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
            sock.connect(server).await?;
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut buf = vec![0u8; 4096];
            let mut id: u16 = (worker as u16).wrapping_mul(977);
            while !stop.load(Ordering::Relaxed) {
                id = id.wrapping_add(1);
                let q = query(id, &name);
                let t0 = Instant::now();
                sock.send(&q).await?;
                match tokio::time::timeout(Duration::from_secs(1), sock.recv(&mut buf)).await {
                    Ok(Ok(n)) if n >= 12 && buf[..2] == id.to_be_bytes() && buf[3] & 0x0f == 0 => {
                        lat.push(t0.elapsed())
                    }
                    _ => errors += 1,
                }
            }
            anyhow::Ok((lat, errors))
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await??;
        all.extend(lat);
        errors += e;
    }
    report("queries", all, errors, started.elapsed());
    Ok(())
}

/// A recursion-desired A query for `name`, without EDNS.
fn query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

fn analyze_scale(sizes: &[usize], out: &PathBuf) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    for &n in sizes {
        for format in ["cloudformation", "terraform"] {
            // Made here, after the previous file's analysis: `parallax analyze` frees a large
            // input's tree on a thread of its own, and generating the next file gives that
            // time to finish before the next floor is measured (a floor measured while the
            // previous tree was being freed came out twice as slow).
            let text = if format == "cloudformation" {
                cfn(n)
            } else {
                tfplan(n)
            };
            let path = out.join(format!("org-{n}-{format}.json"));
            std::fs::write(&path, &text)?;
            // The floor: serde_json parsing the same bytes into a Value. Each side is timed
            // three times, alternately, and its fastest kept: one timing of either swung by
            // half on this VM (the allocator's state, the other side's tree being freed).
            let mut parse = std::time::Duration::MAX;
            let mut analyze = std::time::Duration::MAX;
            let mut found = 0;
            for _ in 0..3 {
                let t0 = Instant::now();
                let v: serde_json::Value = serde_json::from_str(&text)?;
                parse = parse.min(t0.elapsed());
                drop(v);
                let t0 = Instant::now();
                let m = parallax_analyze::import_paths(std::slice::from_ref(&path));
                let f = parallax_analyze::findings::findings(&m);
                analyze = analyze.min(t0.elapsed());
                found = f.len();
                drop((m, f));
                // `analyze` frees its input's tree on a thread of its own: let it finish.
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            println!(
                "{}",
                serde_json::json!({
                    "resources": n, "format": format, "bytes": text.len(), "findings": found,
                    "parse_floor_ms": parse.as_secs_f64() * 1000.0, "analyze_ms": analyze.as_secs_f64() * 1000.0,
                    "ratio": analyze.as_secs_f64() / parse.as_secs_f64().max(1e-9), "file": path.display().to_string(),
                })
            );
        }
    }
    Ok(())
}

/// An organisation of `n` resources: VPCs, execute-api endpoints (every tenth with private
/// DNS) and REGIONAL APIs, in thirds.
fn cfn(n: usize) -> String {
    let mut res = serde_json::Map::new();
    for i in 0..n {
        let (key, value) = match i % 3 {
            0 => (
                format!("Vpc{i}"),
                serde_json::json!({"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16", "EnableDnsSupport": true, "EnableDnsHostnames": true}}),
            ),
            1 => (
                format!("Endpoint{i}"),
                serde_json::json!({"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcId": {"Ref": format!("Vpc{}", i - 1)}, "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.execute-api"}, "VpcEndpointType": "Interface", "PrivateDnsEnabled": i % 30 == 1}}),
            ),
            _ => (
                format!("Api{i}"),
                serde_json::json!({"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": format!("api-{i}"), "EndpointConfiguration": {"Types": ["REGIONAL"]}}}),
            ),
        };
        res.insert(key, value);
    }
    serde_json::json!({ "Resources": res }).to_string()
}

fn tfplan(n: usize) -> String {
    let mut resources = Vec::new();
    let mut refs = Vec::new();
    for i in 0..n {
        let (address, ty, values) = match i % 3 {
            0 => (
                format!("aws_vpc.v{i}"),
                "aws_vpc",
                serde_json::json!({"cidr_block": "10.0.0.0/16", "enable_dns_support": true, "enable_dns_hostnames": true}),
            ),
            1 => {
                refs.push(serde_json::json!({"address": format!("aws_vpc_endpoint.e{i}"), "type": "aws_vpc_endpoint", "expressions": {"vpc_id": {"references": [format!("aws_vpc.v{}.id", i - 1), format!("aws_vpc.v{}", i - 1)]}}}));
                (
                    format!("aws_vpc_endpoint.e{i}"),
                    "aws_vpc_endpoint",
                    serde_json::json!({"service_name": "com.amazonaws.us-east-1.execute-api", "vpc_endpoint_type": "Interface", "private_dns_enabled": i % 30 == 1}),
                )
            }
            _ => (
                format!("aws_api_gateway_rest_api.a{i}"),
                "aws_api_gateway_rest_api",
                serde_json::json!({"name": format!("api-{i}"), "endpoint_configuration": [{"types": ["REGIONAL"]}]}),
            ),
        };
        resources.push(serde_json::json!({"address": address, "mode": "managed", "type": ty, "name": address.split('.').nth(1), "values": values}));
    }
    serde_json::json!({
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": resources}},
        "configuration": {"root_module": {"resources": refs}},
    })
    .to_string()
}

/// RSS (kB) and CPU seconds (user + system) of a process, from /proc.
fn proc_usage(pid: u32) -> Option<(u64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some((rss, ticks / 100.0))
}

async fn watch_cost(
    parallax: PathBuf,
    targets: usize,
    interval: String,
    seconds: f64,
    sample: f64,
) -> anyhow::Result<()> {
    let scenario = parallax_model::Scenario::seed()?;
    let (_, lab) = parallax_lab::run(
        &scenario,
        &parallax_lab::LabOptions {
            until_step: Some("endpoint-added".to_owned()),
        },
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("parallax-watch-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    lab.gateway.with_certs(|c| c.write_to(&dir))?;
    let args = parallax_lab::reproduce::probe_flags(
        &lab,
        &dir.join("server-ca.pem"),
        "vpc-0a1b2c3d4e5f60718",
        std::net::IpAddr::from([10, 0, 2, 15]),
    )
    .context("the VPC's view")?;
    let list: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    let timeout = if parse_secs(&interval) < 10.0 {
        interval.clone()
    } else {
        "10s".to_owned()
    };
    let mut yaml = format!(
        "listen: 127.0.0.1:0\ninterval: {interval}\ntimeout: {timeout}\nconcurrency: 16\njitter: 1.0\ntargets:\n"
    );
    for i in 0..targets {
        yaml.push_str(&format!(
            "  - {{ name: t{i:04}, url: \"https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/test\", args: [{}] }}\n",
            list.join(", ")
        ));
    }
    let config = dir.join("watch.yaml");
    std::fs::write(&config, yaml)?;
    let mut child = std::process::Command::new(&parallax)
        .args(["watch", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("{}: cannot start", parallax.display()))?;
    let pid = child.id();
    let t0 = Instant::now();
    let mut samples: Vec<(f64, u64, f64)> = Vec::new();
    while t0.elapsed().as_secs_f64() < seconds {
        tokio::time::sleep(Duration::from_secs_f64(sample)).await;
        if let Some((rss, cpu)) = proc_usage(pid) {
            let t = t0.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({ "t_s": t, "rss_kb": rss, "cpu_s": cpu })
            );
            samples.push((t, rss, cpu));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lab.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    // Steady state: after the first interval (every target has been probed once).
    let every = parse_secs(&interval);
    let steady: Vec<&(f64, u64, f64)> = samples.iter().filter(|s| s.0 >= every).collect();
    if let (Some(first), Some(last)) = (steady.first(), steady.last()) {
        let max = steady.iter().map(|s| s.1).max().unwrap_or(0);
        let cpu = (last.2 - first.2) / (last.0 - first.0).max(1e-9) * 100.0;
        println!(
            "{}",
            serde_json::json!({
                "summary": "watch-cost",
                "targets": targets,
                "interval": interval,
                "seconds": seconds,
                "rss_first_kb": first.1,
                "rss_last_kb": last.1,
                "rss_max_kb": max,
                "cpu_percent_of_one_core": cpu,
            })
        );
    }
    Ok(())
}

/// `30s` → 30.0 (the forms `watch-cost` takes: s, m, ms).
fn parse_secs(s: &str) -> f64 {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        ms.parse::<f64>().unwrap_or(0.0) / 1000.0
    } else if let Some(m) = s.strip_suffix('m') {
        m.parse::<f64>().unwrap_or(0.0) * 60.0
    } else {
        s.trim_end_matches('s').parse().unwrap_or(0.0)
    }
}
