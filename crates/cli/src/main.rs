//! `parallax`: the command line. Parses flags, loads files, calls the library crates, maps
//! errors to exit codes. All logic lives in the crates it calls.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use parallax_dns::{RateLimit, Resolver, ResolverConfig};
use parallax_model::{Scenario, Topology};

#[derive(Parser, Debug)]
#[command(
    name = "parallax",
    version,
    about = "Why the same request works from one place and fails from another"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the split-horizon resolver: one view per VPC and one for the internet.
    Resolver(ResolverArgs),
    /// Run a scenario on loopback: every resolver view, each step applied, each request's name
    /// asked from its vantage point and checked. Exits 1 when anything differs.
    Lab(LabArgs),
    /// Run the API gateway: a TLS front door per address a client can reach (regional, edge,
    /// one per execute-api endpoint), with mutual TLS, API keys, usage plans and integrations.
    Gateway(GatewayArgs),
    /// Walk DNS → TCP → TLS → HTTP to a URL from here, through several resolvers, and say what
    /// is wrong and how to confirm and fix it. Exit codes: 0 as expected; 10 DNS failure; 11 a
    /// private answer for a public name; 12 connect failure; 13 TLS failure; 14 HTTP error.
    Probe(Box<ProbeCmd>),
    /// Read CloudFormation templates (JSON or YAML, SAM included), Terraform plan JSON, or a
    /// folder of AWS CLI outputs, and report what will break before it is deployed. Exit 1 when
    /// findings at or above --fail-on exist.
    Analyze(AnalyzeArgs),
    /// Check a scenario or topology file and summarise it.
    Check {
        /// The scenario (or bare topology) YAML file.
        file: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
struct LabArgs {
    /// The scenario YAML file. Default: the embedded seed incident.
    scenario: Option<PathBuf>,
    /// One JSON record per request (JSON lines) instead of text.
    #[arg(long)]
    json: bool,
    /// Stop after this step.
    #[arg(long, value_name = "NAME")]
    step: Option<String>,
    /// Leave the resolvers up after the last step run, print how to ask them by hand, and
    /// wait for SIGINT or SIGTERM.
    #[arg(long)]
    keep_running: bool,
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct ProbeCmd {
    #[command(subcommand)]
    sub: Option<ProbeSub>,
    #[command(flatten)]
    args: ProbeArgs,
}

#[derive(Subcommand, Debug)]
enum ProbeSub {
    /// Name the first layer where two reports (`probe --json` from two places) part ways, and
    /// what that means. Exit 0 when they agree, 1 when they diverge.
    Diff { a: PathBuf, b: PathBuf },
}

#[derive(clap::Args, Debug)]
struct ProbeArgs {
    /// The URL, e.g. https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/test
    #[arg(required = true)]
    url: Option<String>,
    /// The method.
    #[arg(
        short = 'X',
        long = "request",
        value_name = "METHOD",
        default_value = "GET"
    )]
    method: String,
    /// A request header, `Name: value`. Repeatable.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// The request body (`@FILE` reads a file).
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    data: Option<String>,
    /// Client certificate (PEM; may hold the key too).
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Trust only these CA certificates (PEM) instead of the system's.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Go on when the server's certificate does not verify (it is still reported).
    #[arg(short = 'k', long)]
    insecure: bool,
    /// Use ADDR for HOST:PORT instead of DNS. Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    resolve: Vec<String>,
    /// Dial HOST2:PORT2 where HOST:PORT would be dialled; HOST may be the URL's host or a
    /// resolved address. Repeatable.
    #[arg(long, value_name = "HOST:PORT:HOST2:PORT2")]
    connect_to: Vec<String>,
    /// Send a PROXY protocol v1 header first on the connection, as `curl --haproxy-protocol`.
    #[arg(long)]
    haproxy_protocol: bool,
    /// The client address that header claims (implies --haproxy-protocol).
    #[arg(long, value_name = "IP")]
    haproxy_clientip: Option<std::net::IpAddr>,
    /// Seconds the whole probe may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    max_time: f64,
    /// The resolvers of the connecting path instead of the system's: ADDR[:PORT][,…]
    #[arg(long, value_name = "ADDRS")]
    dns_servers: Option<String>,
    /// Another resolver to ask and compare with: NAME=ADDR[:PORT]. Repeatable.
    #[arg(long, value_name = "NAME=ADDR")]
    compare_dns: Vec<String>,
    /// The API key, sent as x-api-key (also PARALLAX_API_KEY). Never printed.
    #[arg(
        long,
        value_name = "KEY",
        env = "PARALLAX_API_KEY",
        hide_env_values = true
    )]
    api_key: Option<String>,
    /// Read the API key from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "api_key")]
    api_key_file: Option<PathBuf>,
    /// A scenario or topology that names the endpoints, VPCs and APIs in the diagnosis.
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,
    /// With --topology: the scenario step to read it at.
    #[arg(long, value_name = "NAME", requires = "topology")]
    step: Option<String>,
    /// The JSON report (schema parallax.probe/v1) instead of text.
    #[arg(long)]
    json: bool,
    /// Exit 0 only when the status is this one.
    #[arg(long, value_name = "STATUS")]
    expect: Option<u16>,
    /// Do not retry pinned to another resolver's public answer.
    #[arg(long)]
    no_confirm: bool,
}

#[derive(clap::Args, Debug)]
struct AnalyzeArgs {
    /// Templates, plans, or AWS CLI output folders; joined into one model. With --matrix, a
    /// scenario file works too.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// text, json or sarif (SARIF 2.1.0, for code scanning).
    #[arg(long, default_value = "text", value_parser = ["text", "json", "sarif"])]
    format: String,
    /// Fail (exit 1) on findings of this severity or above: error, warning, note, or never.
    #[arg(long, default_value = "error", value_parser = ["error", "warning", "note", "never"])]
    fail_on: String,
    /// Instead of findings: the predicted outcome of calling each API's default URL (and each
    /// custom domain) from the internet and from every VPC.
    #[arg(long)]
    matrix: bool,
    /// With --matrix: the scenario step.
    #[arg(long, value_name = "NAME", requires = "matrix")]
    step: Option<String>,
    /// The largest input file read, in bytes (default 512 MiB). Only regular files are read.
    #[arg(long, value_name = "BYTES", default_value_t = parallax_analyze::input::DEFAULT_MAX_INPUT)]
    max_input_size: u64,
}

#[derive(clap::Args, Debug)]
struct GatewayArgs {
    /// A scenario or bare topology YAML file. Default: the embedded seed incident.
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,
    /// Serve the topology as it is after this step of the scenario.
    #[arg(long, value_name = "NAME")]
    step: Option<String>,
    /// Listen for a door: `regional=127.0.0.1:8443`, `vpce-0123…=127.0.0.1:0`. Repeatable.
    /// Without it every door gets a free loopback port.
    #[arg(long, value_name = "DOOR=ADDR:PORT", value_parser = parse_listen)]
    listen: Vec<(String, SocketAddr)>,
    /// Write the lab's certificates here: server-ca.pem (for --cacert) and, for every lab CA,
    /// NAME-ca.pem, NAME-client.pem and NAME-client.key (for --cert/--key).
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<PathBuf>,
    /// Connections served at once per door; more wait in the backlog.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
    /// Expect a PROXY protocol header (v1 or v2) first on every connection, as behind a
    /// Network Load Balancer with proxy protocol on; its source address is the client's.
    #[arg(long)]
    proxy_protocol: bool,
    /// Seconds a client has for the PROXY header, the TLS handshake, its first request after
    /// the handshake, and each request's headers.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    header_timeout: std::time::Duration,
    /// Seconds a connection may stay open with no request in flight after its first one.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    idle_timeout: std::time::Duration,
}

/// A positive number of seconds (`10`, `0.5`).
fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    match s.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() && n <= 86_400.0 => {
            Ok(std::time::Duration::from_secs_f64(n))
        }
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0 and 86400"
        )),
    }
}

#[derive(clap::Args, Debug)]
struct ResolverArgs {
    /// A scenario or bare topology YAML file. Default: the embedded seed incident.
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,
    /// Serve the topology as it is after this step of the scenario.
    #[arg(long, value_name = "NAME")]
    step: Option<String>,
    /// Listen for a view: `internet=127.0.0.1:5300`, `vpc-0a1b2c3d=127.0.0.1:0`. Repeatable.
    /// Without it every view gets a free loopback port.
    #[arg(long, value_name = "VIEW=ADDR:PORT", value_parser = parse_listen)]
    listen: Vec<(String, SocketAddr)>,
    /// Forward names outside every view here instead of answering REFUSED.
    #[arg(long, value_name = "ADDR:PORT")]
    upstream: Option<SocketAddr>,
    /// Queries per second allowed per client address (0 = no limit); burst is twice the rate.
    #[arg(long, value_name = "QPS", default_value_t = 1024.0)]
    rate_limit: f64,
    /// TCP connections served at once per view; more wait in the backlog.
    #[arg(long, value_name = "N", default_value_t = parallax_dns::server::DEFAULT_MAX_TCP_CONNECTIONS, value_parser = clap::value_parser!(usize))]
    max_tcp_connections: usize,
}

fn parse_listen(s: &str) -> Result<(String, SocketAddr), String> {
    let (view, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not VIEW=ADDR:PORT"))?;
    let addr = addr
        .parse()
        .map_err(|_| format!("`{addr}` is not ADDR:PORT (e.g. 127.0.0.1:5300)"))?;
    Ok((view.to_owned(), addr))
}

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("parallax: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { file } => check(&file),
        Command::Analyze(args) => analyze(args),
        Command::Resolver(args) => runtime()?.block_on(resolver(args)),
        Command::Lab(args) => runtime()?.block_on(lab(args)),
        Command::Gateway(args) => runtime()?.block_on(gateway(args)),
        Command::Probe(cmd) => {
            if let Some(ProbeSub::Diff { a, b }) = &cmd.sub {
                return probe_diff(a, b);
            }
            let (opts, topology, expect, json) = probe_options(cmd.args)?;
            let report =
                runtime()?.block_on(parallax_probe::probe(&opts, topology.as_ref(), expect));
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            Ok(ExitCode::from(report.exit_code))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn lab(args: LabArgs) -> anyhow::Result<ExitCode> {
    let scenario = match &args.scenario {
        Some(path) => Scenario::from_path(path)?,
        None => Scenario::seed()?,
    };
    let opts = parallax_lab::LabOptions {
        until_step: args.step.clone(),
    };
    let (report, lab) = parallax_lab::run(&scenario, &opts).await?;
    if args.json {
        print!("{}", report.to_json_lines());
    } else {
        print!("{}", report.to_text());
    }
    if args.keep_running {
        keep_running(&scenario, &report, &lab).await?;
    }
    lab.shutdown().await;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Leaves the lab up and prints the `dig` and `curl` lines that reproduce each request of the
/// last step by hand. Certificates and API keys go to files, so no secret is printed.
async fn keep_running(
    scenario: &Scenario,
    report: &parallax_lab::LabReport,
    lab: &parallax_lab::run::Running,
) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("parallax-lab-{}", std::process::id()));
    // Private keys and API key values go here: readable by this user only, removed on exit.
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    let result = keep_running_in(&dir, scenario, report, lab).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn keep_running_in(
    dir: &std::path::Path,
    scenario: &Scenario,
    report: &parallax_lab::LabReport,
    lab: &parallax_lab::run::Running,
) -> anyhow::Result<()> {
    lab.gateway.with_certs(|c| c.write_to(dir))?;
    let Some(step) = report.steps.last() else {
        return Ok(());
    };
    let topology = scenario
        .step_index(&step.name)
        .and_then(|i| scenario.topology_at(i))
        .context("the last step's topology")?;
    for key in topology.usage_plans.iter().flat_map(|p| &p.keys) {
        let path = dir.join(format!("key-{}.txt", key.id.value));
        parallax_gateway::certs::write_private(&path, key.value.expose().as_bytes())
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    println!(
        "\nthe lab stays up at step {}; files in {}",
        step.name,
        dir.display()
    );
    for l in lab
        .resolver
        .listening()
        .iter()
        .filter(|l| l.protocol == "udp")
    {
        println!(
            "  resolver view {:<24} dig @{} -p {} NAME",
            l.view,
            l.addr.ip(),
            l.addr.port()
        );
    }
    for l in lab.gateway.listening() {
        println!("  gateway door {:<25} https://{}", l.door, l.addr);
    }
    println!(
        "\n  The doors expect a PROXY protocol header first, as behind an NLB: curl sends it with\n  --haproxy-protocol, and curl 8.2 or later can add --haproxy-clientip ADDR to call from a\n  vantage point's own address (aws:SourceIp); without it the gateway sees 127.0.0.1."
    );
    for r in &step.requests {
        println!("\n  {} ({}):", r.from, r.view);
        if let Some(addr) = r.resolver {
            println!(
                "    dig @{} -p {} {} +short",
                addr.ip(),
                addr.port(),
                r.host
            );
        }
        let Some((modelled, _)) = r.connected else {
            continue;
        };
        let Some(played) = parallax_lab::run::played_by(lab, modelled) else {
            continue;
        };
        let mut line = format!(
            "    curl -sS -i --haproxy-protocol --cacert {}/server-ca.pem --connect-to {}:{}:{}:{}",
            dir.display(),
            r.host,
            modelled.port(),
            played.ip(),
            played.port()
        );
        if let Some(k) = &r.api_key_id {
            line.push_str(&format!(
                " -H \"x-api-key: $(cat {}/key-{k}.txt)\"",
                dir.display()
            ));
        }
        if let Some(c) = r
            .client_certificate
            .as_deref()
            .and_then(|c| c.strip_prefix("lab:"))
        {
            line.push_str(&format!(
                " --cert {0}/{c}-client.pem --key {0}/{c}-client.key",
                dir.display()
            ));
        }
        if r.method != "GET" {
            line.push_str(&format!(" -X {}", r.method));
        }
        println!("{line} {}", r.url);
    }
    println!("\nstop with Ctrl-C");
    wait_for_signal().await
}

fn analyze(a: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    use parallax_analyze::findings::{self, Severity};
    if a.matrix {
        let is_scenario = a.files.len() == 1
            && parallax_analyze::input::read_text(&a.files[0], a.max_input_size).is_ok_and(|t| {
                t.lines()
                    .any(|l| l.starts_with("steps:") || l.starts_with("topology:"))
            });
        let t = if is_scenario {
            topology_at(Some(&a.files[0]), a.step.as_deref())?
        } else {
            let model = parallax_analyze::import_paths_with(&a.files, a.max_input_size);
            let (t, notes) = parallax_analyze::runnable::topology(&model);
            for n in notes {
                println!("assumed: {n}");
            }
            t
        };
        print!(
            "{}",
            parallax_analyze::matrix::text(&parallax_analyze::matrix::matrix(&t))
        );
        return Ok(ExitCode::SUCCESS);
    }
    let model = parallax_analyze::import_paths_with(&a.files, a.max_input_size);
    let found = findings::findings(&model);
    match a.format.as_str() {
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&findings::json(&found, &model))?
        ),
        "sarif" => println!(
            "{}",
            serde_json::to_string_pretty(&findings::sarif(&found, &model))?
        ),
        _ => print!("{}", findings::text(&found, &model)),
    }
    let threshold = Severity::parse(&a.fail_on);
    let failing = threshold.is_some_and(|t| found.iter().any(|f| f.severity >= t));
    Ok(if failing {
        ExitCode::from(1)
    } else if !model.errors.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Loads a scenario (a file with `steps:`) or a bare topology.
fn load(path: Option<&PathBuf>) -> anyhow::Result<Loaded> {
    let Some(path) = path else {
        return Ok(Loaded::Scenario(Box::new(Scenario::seed()?)));
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let origin = path.display().to_string();
    let is_scenario = text
        .lines()
        .any(|l| l.starts_with("steps:") || l.starts_with("topology:"));
    Ok(if is_scenario {
        Loaded::Scenario(Box::new(Scenario::from_yaml(&text, &origin)?))
    } else {
        Loaded::Topology(Box::new(Topology::from_yaml(&text, &origin)?))
    })
}

enum Loaded {
    Scenario(Box<Scenario>),
    Topology(Box<Topology>),
}

fn check(path: &PathBuf) -> anyhow::Result<ExitCode> {
    match load(Some(path))? {
        Loaded::Scenario(s) => {
            println!(
                "{}: scenario `{}`, {} steps",
                path.display(),
                s.name,
                s.steps.len()
            );
            summarise(&s.topology);
            for (i, step) in s.steps.iter().enumerate() {
                println!(
                    "  step {}: {} ({} changes, {} requests)",
                    i + 1,
                    step.name,
                    step.changes.len(),
                    step.requests.len()
                );
            }
        }
        Loaded::Topology(t) => {
            println!("{}: topology", path.display());
            summarise(&t);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn summarise(t: &Topology) {
    println!(
        "  {} in {}: {} VPCs, {} endpoints, {} private zones, {} resolver rules, {} APIs, {} custom domains, {} usage plans, {} vantage points",
        t.account,
        t.region,
        t.vpcs.len(),
        t.endpoints.len(),
        t.hosted_zones.len(),
        t.resolver_rules.len(),
        t.apis.len(),
        t.custom_domains.len(),
        t.usage_plans.len(),
        t.vantages.len()
    );
}

async fn gateway(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    let topology = topology_at(args.topology.as_ref(), args.step.as_deref())?;
    let certs = parallax_gateway::LabCerts::new()?;
    let config = parallax_gateway::GatewayConfig {
        listen: args.listen,
        max_connections: args.max_connections,
        proxy_protocol: args.proxy_protocol,
        header_read_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
        ..Default::default()
    };
    let gw = parallax_gateway::Gateway::start(&topology, certs, config).await?;
    if let Some(dir) = &args.tls_dir {
        let written = gw.with_certs(|c| c.write_to(dir))?;
        eprintln!(
            "wrote {} certificate files to {}",
            written.len(),
            dir.display()
        );
    }
    for l in gw.listening() {
        println!("listening on https {} door {}", l.addr, l.door);
    }
    wait_for_signal().await?;
    gw.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

fn probe_diff(a: &PathBuf, b: &PathBuf) -> anyhow::Result<ExitCode> {
    let read = |p: &PathBuf| -> anyhow::Result<serde_json::Value> {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", p.display()))
    };
    match parallax_probe::diff::first_divergence(&read(a)?, &read(b)?)
        .map_err(|e| anyhow::anyhow!(e))?
    {
        Some(d) => {
            println!("{d}");
            Ok(ExitCode::from(1))
        }
        None => {
            println!("the two reports agree at every layer");
            Ok(ExitCode::SUCCESS)
        }
    }
}

type ProbeSetup = (
    parallax_probe::ProbeOptions,
    Option<Topology>,
    Option<u16>,
    bool,
);

fn probe_options(a: ProbeArgs) -> anyhow::Result<ProbeSetup> {
    use parallax_probe::options::{
        ClientIdentity, parse_connect_to, parse_dns_server, parse_resolve,
    };
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    let url: parallax_model::RequestUrl = a
        .url
        .clone()
        .unwrap_or_default()
        .try_into()
        .map_err(|e: String| anyhow::anyhow!("URL: {e}"))?;
    let mut opts = parallax_probe::ProbeOptions::new(url);
    opts.method = a.method.to_ascii_uppercase();
    for h in &a.headers {
        let (k, v) = h
            .split_once(':')
            .with_context(|| format!("-H `{h}`: expected `Name: value`"))?;
        opts.headers
            .push((k.trim().to_owned(), v.trim().to_owned()));
    }
    if let Some(d) = &a.data {
        opts.body = match d.strip_prefix('@') {
            Some(path) => {
                std::fs::read(path).with_context(|| format!("-d @{path}: cannot read"))?
            }
            None => d.clone().into_bytes(),
        };
        if a.method == "GET" {
            opts.method = "POST".to_owned();
        }
    }
    let read_certs = |p: &PathBuf| -> anyhow::Result<Vec<CertificateDer<'static>>> {
        let certs: Vec<_> = CertificateDer::pem_file_iter(p)
            .with_context(|| format!("{}: cannot read", p.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: not PEM certificates", p.display()))?;
        anyhow::ensure!(!certs.is_empty(), "{}: no CERTIFICATE block", p.display());
        Ok(certs)
    };
    if let Some(ca) = &a.cacert {
        opts.ca = Some(read_certs(ca)?);
    }
    if let Some(cert) = &a.cert {
        let chain = read_certs(cert)?;
        let key_file = a.key.as_ref().unwrap_or(cert);
        let key = PrivateKeyDer::from_pem_file(key_file)
            .with_context(|| format!("{}: no private key (pass --key)", key_file.display()))?;
        opts.identity = Some(ClientIdentity { chain, key });
    } else if a.key.is_some() {
        bail!("--key needs --cert");
    }
    opts.danger_accept_invalid_certs = a.insecure;
    opts.haproxy = match (a.haproxy_protocol, a.haproxy_clientip) {
        (_, Some(ip)) => Some(Some(ip)),
        (true, None) => Some(None),
        (false, None) => None,
    };
    opts.resolve = a
        .resolve
        .iter()
        .map(|s| parse_resolve(s))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("--resolve {e}"))?;
    opts.connect_to = a
        .connect_to
        .iter()
        .map(|s| parse_connect_to(s))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("--connect-to {e}"))?;
    if let Some(list) = &a.dns_servers {
        opts.dns_servers = list
            .split(',')
            .map(|s| parse_dns_server(s.trim()))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("--dns-servers {e}"))?;
    }
    for c in &a.compare_dns {
        let (name, addr) = c
            .split_once('=')
            .with_context(|| format!("--compare-dns `{c}`: expected NAME=ADDR[:PORT]"))?;
        opts.compare_dns.push((
            name.to_owned(),
            parse_dns_server(addr).map_err(|e| anyhow::anyhow!("--compare-dns {e}"))?,
        ));
    }
    anyhow::ensure!(
        a.max_time.is_finite() && a.max_time > 0.0 && a.max_time <= 3600.0,
        "--max-time {}: expected seconds between 0 and 3600",
        a.max_time
    );
    opts.max_time = std::time::Duration::from_secs_f64(a.max_time);
    opts.api_key = match &a.api_key_file {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("{}: cannot read", p.display()))?
                .trim()
                .to_owned(),
        ),
        None => a.api_key.clone(),
    };
    opts.confirm = !a.no_confirm;
    let topology = match &a.topology {
        Some(p) => Some(topology_at(Some(p), a.step.as_deref())?),
        None => None,
    };
    Ok((opts, topology, a.expect, a.json))
}

/// The topology of a file (or the seed), as it is after `step` when one is named.
fn topology_at(path: Option<&PathBuf>, step: Option<&str>) -> anyhow::Result<Topology> {
    Ok(match (load(path)?, step) {
        (Loaded::Scenario(s), Some(step)) => {
            let Some(i) = s.step_index(step) else {
                let names: Vec<&str> = s.steps.iter().map(|s| s.name.as_str()).collect();
                bail!(
                    "scenario `{}` has no step `{step}` (steps: {})",
                    s.name,
                    names.join(", ")
                );
            };
            s.topology_at(i).cloned().context("step topology")?
        }
        (Loaded::Scenario(s), None) => s.topology.clone(),
        (Loaded::Topology(_), Some(_)) => bail!("--step needs a scenario file (one with `steps:`)"),
        (Loaded::Topology(t), None) => *t,
    })
}

async fn resolver(args: ResolverArgs) -> anyhow::Result<ExitCode> {
    let topology = topology_at(args.topology.as_ref(), args.step.as_deref())?;
    let rate = args.rate_limit;
    if !(rate.is_finite() && rate >= 0.0) {
        bail!("--rate-limit {rate}: expected a number of queries per second, 0 or more");
    }
    let config = ResolverConfig {
        listen: args.listen,
        upstream: args.upstream,
        rate_limit: RateLimit {
            rate,
            burst: rate * 2.0,
        },
        forward_map: Default::default(),
        max_tcp_connections: args.max_tcp_connections,
    };
    let resolver = Resolver::start(&topology, config).await?;
    for l in resolver.listening() {
        println!("listening on {} {} view {}", l.protocol, l.addr, l.view);
    }
    wait_for_signal().await?;
    resolver.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}
