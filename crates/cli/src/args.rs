//! The command line's flags, as clap reads them. Only shapes and help live here; what the flags
//! mean is in the library crates (the probe's curl flags, the model's files).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "parallax",
    version,
    about = "Why the same request works from one place and fails from another"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// The largest configuration file read (topology, scenario, OpenAPI, certificate, key,
    /// truststore, watch configuration); larger files, and anything not a regular file, are
    /// refused with their name. analyze's inputs have their own --max-input-size.
    #[arg(
        long,
        global = true,
        value_name = "BYTES",
        env = "PARALLAX_MAX_CONFIG_SIZE",
        default_value_t = parallax_model::input::DEFAULT_MAX_CONFIG
    )]
    pub max_config_size: u64,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the split-horizon resolver: one view per VPC and one for the internet.
    Resolver(ResolverArgs),
    /// Run a scenario on loopback: every resolver view, each step applied, each request's name
    /// asked from its vantage point and checked. Exits 1 when anything differs.
    Lab(LabArgs),
    /// Run the API gateway: a TLS front door per address a client can reach (regional, edge,
    /// one per execute-api endpoint), with mutual TLS, API keys, usage plans and integrations.
    Gateway(GatewayArgs),
    /// Walk DNS → TCP → TLS → HTTP to a URL from here, through several resolvers, and say what
    /// is wrong and how to confirm and fix it. Takes curl's flags; with -s it is curl (the body
    /// on standard output, curl's exit codes). Otherwise, exit codes: 0 as expected; 10 DNS
    /// failure; 11 a private answer for a public name; 12 connect failure; 13 TLS failure; 14
    /// HTTP error.
    Probe(Box<ProbeCmd>),
    /// Read CloudFormation templates (JSON or YAML, SAM included), Terraform plan JSON, or a
    /// folder of AWS CLI outputs, and report what will break before it is deployed. Exit 1 when
    /// findings at or above --fail-on exist.
    Analyze(AnalyzeArgs),
    /// Probe targets on a schedule from where this runs (an ECS sidecar, an EC2 instance),
    /// serve Prometheus metrics (/metrics, and a blackbox_exporter-compatible /probe), and print
    /// a JSON event line whenever a target's DNS answer class, front door or diagnosis changes.
    /// Either --config FILE, or one target: the probe's flags and URL.
    #[command(
        mut_arg("url", |a| a.required(false)),
        after_long_help = WATCH_HELP
    )]
    Watch(Box<WatchArgs>),
    /// Compare two snapshots of an account (or any two inputs `analyze` reads): what changed
    /// that matters for reachability, and the findings and predicted outcomes it flips.
    ///
    /// Exit 1 when the change introduces an error finding or turns a predicted success into a
    /// failure, 2 when an input cannot be read, 0 otherwise.
    Changes(ChangesArgs),
    /// Read a live AWS account through the AWS SDK into a snapshot folder: the AWS CLI's JSON
    /// output of each call, named after the command (ec2-describe-vpc-endpoints.json), and
    /// parallax-manifest.json (account, Regions, time, calls, pages, retries, what was denied).
    /// `parallax analyze DIR` and `parallax changes BEFORE AFTER` read it. Read-only: the
    /// actions it needs are in docs/iam/parallax-collect-policy.json.
    ///
    /// Credentials and Region resolve as the AWS CLI's do. A call that is denied is recorded
    /// and said as unknown; the rest goes on. Exit 2 when nothing could be read (no
    /// credentials, no Region, an endpoint that does not answer) or the folder cannot be
    /// written, 0 otherwise.
    Collect(CollectArgs),
    /// Check a scenario or topology file and summarise it.
    Check {
        /// The scenario (or bare topology) YAML file.
        file: PathBuf,
    },
    /// Print a shell completion script: `parallax completions bash >
    /// ~/.local/share/bash-completion/completions/parallax` (zsh, fish, powershell and elvish
    /// too; README's Install section has each line).
    Completions {
        /// The shell.
        #[arg(value_parser = ["bash", "zsh", "fish", "powershell", "elvish"])]
        shell: String,
    },
    /// Print the manual page (roff): `parallax man > ~/.local/share/man/man1/parallax.1`; with
    /// --dir DIR, one page per command (parallax.1, parallax-probe.1, ...) written there.
    Man {
        /// Write one page per command into this folder instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
pub struct LabArgs {
    /// The scenario YAML file. Default: the embedded seed incident.
    pub scenario: Option<PathBuf>,
    /// What to write: text, one JSON record per request (JSON lines), or one self-contained
    /// HTML page with the network drawn and each request's path on it.
    #[arg(long, value_enum, default_value_t = LabFormat::Text, conflicts_with = "json")]
    pub format: LabFormat,
    /// The same as `--format json`.
    #[arg(long)]
    pub json: bool,
    /// Stop after this step.
    #[arg(long, value_name = "NAME")]
    pub step: Option<String>,
    /// Leave the resolvers up after the last step run, print how to ask them by hand, and
    /// wait for SIGINT or SIGTERM.
    #[arg(long)]
    pub keep_running: bool,
    /// With --keep-running: listen here for `POST /step/NAME` (move the running lab to that
    /// step) and `GET /step` (the step it holds, and where each view listens).
    #[arg(long, value_name = "ADDR:PORT", requires = "keep_running")]
    pub control: Option<std::net::SocketAddr>,
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ProbeCmd {
    #[command(subcommand)]
    pub sub: Option<ProbeSub>,
    #[command(flatten)]
    pub args: ProbeArgs,
}

#[derive(Subcommand, Debug)]
pub enum ProbeSub {
    /// Name the first layer where two reports (`probe --format json` from two places) part ways, and
    /// what that means. Exit 0 when they agree, 1 when they diverge.
    Diff { a: PathBuf, b: PathBuf },
}

#[derive(clap::Args, Debug)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub curl: parallax_probe::curl::CurlFlags,
    /// A scenario or topology that names the endpoints, VPCs and APIs in the diagnosis; or a
    /// snapshot folder of the account (`parallax collect`).
    #[arg(long, value_name = "FILE|DIR", help_heading = "parallax")]
    pub topology: Option<PathBuf>,
    /// With --topology: the scenario step to read it at.
    #[arg(
        long,
        value_name = "NAME",
        requires = "topology",
        help_heading = "parallax"
    )]
    pub step: Option<String>,
    /// With --topology: the VPC this probe runs in, so that the diagnosis names what that
    /// VPC's resolver does (its endpoint, a shared private zone, or a Route 53 Profile).
    #[arg(
        long,
        value_name = "VPC-ID",
        requires = "topology",
        help_heading = "parallax"
    )]
    pub vpc: Option<String>,
    /// The report's form: text, or json (schema parallax.probe/v1). `--json DATA` is curl's
    /// JSON body.
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"], default_value = "text", help_heading = "parallax")]
    pub format: String,
    /// Exit 0 only when the status is this one.
    #[arg(long, value_name = "STATUS", help_heading = "parallax")]
    pub expect: Option<u16>,
}

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Templates, plans, or AWS CLI output folders (snapshots); joined into one model. With
    /// --matrix, a scenario file works too.
    #[arg(required_unless_present = "aws")]
    pub files: Vec<PathBuf>,
    /// Read the live account through the AWS SDK (as `parallax collect` does, in memory) and
    /// analyze that, with the files given if any.
    #[arg(long)]
    pub aws: bool,
    #[command(flatten)]
    pub account: AwsArgs,
    /// text, json, sarif (SARIF 2.1.0, for code scanning) or html (one self-contained page).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Fail (exit 1) on findings of this severity or above.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Instead of findings: the predicted outcome of calling each API's default URL (and each
    /// custom domain) from the internet and from every VPC.
    #[arg(long)]
    pub matrix: bool,
    /// With --matrix: the scenario step.
    #[arg(long, value_name = "NAME", requires = "matrix")]
    pub step: Option<String>,
    /// The largest input file read, in bytes (default 512 MiB). Only regular files are read.
    #[arg(long, value_name = "BYTES", default_value_t = parallax_analyze::input::DEFAULT_MAX_INPUT)]
    pub max_input_size: u64,
    /// The Terraform configuration of the plans given: findings point at its resource blocks
    /// (default: the plan's own directory, when it holds *.tf files).
    #[arg(long, value_name = "DIR")]
    pub tf_dir: Option<PathBuf>,
}

impl AnalyzeArgs {
    pub fn import_options(&self) -> parallax_analyze::Options {
        parallax_analyze::Options {
            max_bytes: self.max_input_size,
            tf_dir: self.tf_dir.clone(),
        }
    }
}

/// Where an account is read from: the AWS CLI's credential and Region chain.
#[derive(clap::Args, Debug, Clone)]
pub struct AwsArgs {
    /// A named profile of the shared config and credentials files (default: AWS_PROFILE, else
    /// `default`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// A Region to read; repeat for several (default: AWS_REGION, else the profile's).
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Every Region enabled for the account (EC2 DescribeRegions).
    #[arg(long, conflicts_with = "regions")]
    pub all_regions: bool,
    /// API calls in flight at once per account (API Gateway allows few reads a second).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

impl AwsArgs {
    pub fn access(&self) -> parallax_aws::connect::Access {
        parallax_aws::connect::Access {
            profile: self.profile.clone(),
            regions: self.regions.clone(),
            all_regions: self.all_regions,
        }
    }

    pub fn limits(&self) -> parallax_aws::Limits {
        parallax_aws::Limits {
            concurrency: usize::from(self.concurrency),
            ..parallax_aws::Limits::default()
        }
    }

    /// Whether any of these flags was given.
    pub fn given(&self) -> bool {
        self.profile.is_some() || !self.regions.is_empty() || self.all_regions
    }
}

#[derive(clap::Args, Debug)]
pub struct CollectArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The snapshot folder to write (created; an earlier snapshot there is replaced whole).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Every account of the AWS Organization (Organizations ListAccounts), each read through
    /// --role-name assumed in it; one snapshot per account and Region under DIR/ACCOUNT/REGION.
    #[arg(long, requires = "role_name")]
    pub org: bool,
    /// With --org: the role to assume in each account (e.g. OrganizationAccountAccessRole, or
    /// a read-only role carrying docs/iam/parallax-collect-policy.json).
    #[arg(long, value_name = "NAME", requires = "org")]
    pub role_name: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct ChangesArgs {
    /// The earlier input: a snapshot folder (AWS CLI outputs), a template or a plan.
    pub before: PathBuf,
    /// The later input, of the same kind.
    pub after: PathBuf,
    /// text, json or html (one self-contained page).
    #[arg(long, value_enum, default_value_t = ChangesFormat::Text)]
    pub format: ChangesFormat,
    /// CloudTrail log files (`{"Records": [...]}`, `.json` or `.json.gz`, or a folder of them as
    /// delivered to S3) or `aws cloudtrail lookup-events` output: each change is attributed to
    /// the events that made it (who, when, from where). `aws`: CloudTrail LookupEvents through
    /// the AWS SDK over the window between the two snapshots (their manifests), in their
    /// Regions and us-east-1 (where Route 53's events are).
    #[arg(long, value_name = "PATH|aws")]
    pub cloudtrail: Option<PathBuf>,
    /// With --cloudtrail aws: a named profile of the shared config and credentials files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The largest input file read, in bytes (default 512 MiB). Only regular files are read.
    #[arg(long, value_name = "BYTES", default_value_t = parallax_analyze::input::DEFAULT_MAX_INPUT)]
    pub max_input_size: u64,
}

/// How `parallax changes` writes its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ChangesFormat {
    Text,
    Json,
    /// One self-contained page: before and after drawn, the outcomes that changed marked.
    Html,
}

/// How `parallax lab` writes its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LabFormat {
    Text,
    Json,
    /// One self-contained page: each step's network drawn with its requests' paths.
    Html,
}

#[derive(clap::Args, Debug)]
pub struct GatewayArgs {
    /// A scenario or bare topology YAML file. Default: the embedded seed incident.
    #[arg(long, value_name = "FILE")]
    pub topology: Option<PathBuf>,
    /// Serve the topology as it is after this step of the scenario.
    #[arg(long, value_name = "NAME")]
    pub step: Option<String>,
    /// Listen for a door: `regional=127.0.0.1:8443`, `vpce-0123…=127.0.0.1:0`. Repeatable.
    /// Without it every door gets a free loopback port.
    #[arg(long, value_name = "DOOR=ADDR:PORT", value_parser = parse_listen)]
    pub listen: Vec<(String, SocketAddr)>,
    /// Write the lab's certificates here: server-ca.pem (for --cacert) and, for every lab CA,
    /// NAME-ca.pem, NAME-client.pem and NAME-client.key (for --cert/--key).
    #[arg(long, value_name = "DIR")]
    pub tls_dir: Option<PathBuf>,
    /// Connections served at once per door; more wait in the backlog.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
    /// Worker threads, each with its own listener on every door (SO_REUSEPORT: the kernel
    /// spreads new connections) and its own connections, as nginx's `worker_processes`;
    /// default: one per core. 0: every connection on one shared runtime.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=64))]
    pub workers: Option<u16>,
    /// HTTP/2 streams a client may have open at once on one connection (nginx's default).
    #[arg(long, value_name = "N", default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=65_535))]
    pub http2_max_streams: u32,
    /// Bytes of response queued per HTTP/2 stream beyond the client's flow-control window; with
    /// the streams, what one connection can make the gateway hold (1 MiB by default).
    #[arg(long, value_name = "BYTES", default_value_t = 8192, value_parser = clap::value_parser!(u64).range(1024..=16_777_216))]
    pub http2_stream_buffer: u64,
    /// Upstream (HTTP_PROXY) connections open at once, all upstreams together.
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub upstream_max_connections: u64,
    /// Upstream connections open at once to one upstream (Envoy's per-cluster default).
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub upstream_max_per_origin: u64,
    /// Requests waiting for an upstream connection when a cap is full; beyond it a request
    /// gets API Gateway's integration failure at once (Envoy's max_pending_requests default).
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub upstream_max_pending: u64,
    /// Expect a PROXY protocol header (v1 or v2) first on every connection, as behind a
    /// Network Load Balancer with proxy protocol on; its source address is the client's.
    #[arg(long)]
    pub proxy_protocol: bool,
    /// Seconds a client has for the PROXY header, the TLS handshake, its first request after
    /// the handshake, and each request's headers.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub header_timeout: std::time::Duration,
    /// Seconds a connection may stay open with no request in flight after its first one.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    pub idle_timeout: std::time::Duration,
    /// Serve /metrics (Prometheus), /healthz and /readyz here.
    #[arg(long, value_name = "ADDR:PORT")]
    pub admin: Option<SocketAddr>,
    /// Serve the REST API an OpenAPI 3 or Swagger 2.0 definition describes (an API Gateway
    /// export, JSON or YAML): its id, region and stage from the export's host and base path.
    /// Repeatable; added to --topology's APIs, or served alone.
    #[arg(long, value_name = "FILE")]
    pub openapi: Vec<PathBuf>,
    /// The endpoint type of --openapi APIs (an export does not say; one that lists VPC
    /// endpoints is PRIVATE).
    #[arg(long, value_enum, default_value_t = EndpointTypeArg::Regional, requires = "openapi")]
    pub endpoint_type: EndpointTypeArg,
    /// Reload the --topology and --openapi files when their content changes (looked at every
    /// second), as SIGHUP does.
    #[arg(long)]
    pub watch_config: bool,
    /// Where usage-plan throttle buckets and quota counts live: `memory` (this process), or
    /// `redis://HOST:PORT/DB`, shared by every replica that names the same Redis.
    #[arg(long, value_name = "memory|URL", default_value = "memory")]
    pub usage_store: String,
    /// With a Redis store: seconds a request waits for its usage-plan decision.
    #[arg(long, value_name = "SECONDS", default_value = "0.1", value_parser = parse_seconds)]
    pub usage_store_timeout: std::time::Duration,
    /// With a Redis store: what a request gets when Redis does not answer in time. `open`: it
    /// goes through uncounted (usage plans are best-effort at AWS too); `closed`: 503.
    #[arg(long, value_enum, default_value_t = StoreFailure::Open)]
    pub usage_store_failure: StoreFailure,
    /// With a Redis store: `batched` leases shares of each allowance and spends them without a
    /// round trip (a quota is never exceeded; a throttle may admit up to replicas × batch calls
    /// beyond its bucket; unspent units go back after a second unused); `exact` asks Redis once
    /// per request.
    #[arg(long, value_enum, default_value_t = StoreMode::Batched)]
    pub usage_store_mode: StoreMode,
    /// With `--usage-store-mode batched`: the most units one lease takes (a lease is also at
    /// most 1/16 of what remains).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub usage_store_batch: u32,
}

/// `--usage-store-mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreMode {
    Batched,
    Exact,
}

/// `--endpoint-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum EndpointTypeArg {
    Regional,
    Edge,
    Private,
}

/// `--usage-store-failure`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreFailure {
    Open,
    Closed,
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
pub struct ResolverArgs {
    /// A scenario or bare topology YAML file. Default: the embedded seed incident.
    #[arg(long, value_name = "FILE")]
    pub topology: Option<PathBuf>,
    /// Serve the topology as it is after this step of the scenario.
    #[arg(long, value_name = "NAME")]
    pub step: Option<String>,
    /// Listen for a view: `internet=127.0.0.1:5300`, `vpc-0a1b2c3d=127.0.0.1:0`. Repeatable.
    /// Without it every view gets a free loopback port.
    #[arg(long, value_name = "VIEW=ADDR:PORT", value_parser = parse_listen)]
    pub listen: Vec<(String, SocketAddr)>,
    /// Forward names outside every view here instead of answering REFUSED.
    #[arg(long, value_name = "ADDR:PORT")]
    pub upstream: Option<SocketAddr>,
    /// Queries per second allowed per client address (0 = no limit); burst is twice the rate.
    #[arg(long, value_name = "QPS", default_value_t = 1024.0)]
    pub rate_limit: f64,
    /// TCP connections served at once per view; more wait in the backlog.
    #[arg(long, value_name = "N", default_value_t = parallax_dns::server::DEFAULT_MAX_TCP_CONNECTIONS, value_parser = clap::value_parser!(usize))]
    pub max_tcp_connections: usize,
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

/// `analyze --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// One self-contained page: the network drawn, the predicted path from every network to
    /// every API and custom domain on it, and the findings linked to what they name.
    Html,
}

/// `analyze --fail-on`: the least severity that exits 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
    Never,
}

impl FailOn {
    /// The threshold, or none for `never`.
    pub fn threshold(self) -> Option<parallax_analyze::findings::Severity> {
        use parallax_analyze::findings::Severity;
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Note => Some(Severity::Note),
            FailOn::Never => None,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    /// The configuration: listen address, interval, timeout, concurrency, targets (each a URL,
    /// the probe's flags, and an expectation) and modules for /probe.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where /metrics, /probe and /healthz listen (one-target form; the file's `listen` else).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    /// How often to probe (one-target form): 30s, 1m, 500ms.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub every: String,
    /// The one target's name (its `target` label).
    #[arg(long, value_name = "NAME", default_value = "target")]
    pub name: String,
    #[command(flatten)]
    pub curl: parallax_probe::curl::CurlFlags,
    /// A scenario, topology or snapshot folder the diagnoses are read against: events then name
    /// the endpoint and VPC whose address answered.
    #[arg(long, value_name = "FILE|DIR", conflicts_with = "aws")]
    pub topology: Option<PathBuf>,
    /// Read the account through the AWS SDK now and every snapshot interval (`snapshot_interval:`
    /// in the file, --snapshot-every here; 5m): diagnoses are read against it, and an event names
    /// the account changes seen since the target's previous probe, with their CloudTrail events.
    #[arg(long)]
    pub aws: bool,
    /// With --aws: a named profile of the shared config and credentials files.
    #[arg(long, value_name = "NAME", requires = "aws")]
    pub profile: Option<String>,
    /// With --aws: a Region to read; repeat for several.
    #[arg(long = "region", value_name = "REGION", requires = "aws")]
    pub regions: Vec<String>,
    /// With --aws, in the one-target form: how often the account is read again (5m).
    #[arg(long, value_name = "DURATION", requires = "aws")]
    pub snapshot_every: Option<String>,
}

impl WatchArgs {
    /// The account --aws reads.
    pub fn account(&self) -> AwsArgs {
        AwsArgs {
            profile: self.profile.clone(),
            regions: self.regions.clone(),
            all_regions: false,
            concurrency: 4,
        }
    }
}

/// `parallax watch --help`'s tail: the configuration, the metrics, the events, the rules.
const WATCH_HELP: &str = "\
Configuration (--config FILE, YAML; every problem is named with file:line:column):
  listen: ADDR:PORT (127.0.0.1:9595)   interval: 30s   timeout: 10s   concurrency: 16   jitter: 0.1
  targets: [{ name, url, args: [probe flags], expect: { dns, front_door, status, ... },
              api_key_env: VAR, interval }]
  modules: { NAME: { prober: http|tcp|dns, timeout, http: {...}, tcp: {...}, dns: {...},
             args: [probe flags] } }           (blackbox_exporter's module format, for
  modules_file: blackbox.yml                    /probe?target=URL&module=NAME)
  probe_allow: { cidrs: [10.0.0.0/8], names: [\"*.execute-api.*.amazonaws.com\"] }
                                                (what /probe may probe; anything by default)
  webhooks: [{ name, url: http://..., kind: webhook|alertmanager, timeout: 5s, retries: 3,
              queue: 1000 }]                        (or webhook: with one; a sender each)
  snapshot_interval: 5m                             (with --aws: how often the account is read)

Endpoints: /metrics (OpenMetrics, or the classic text format), /probe (blackbox_exporter's
shape), /healthz.

Metrics (labels from the configuration and fixed sets only):
  blackbox_exporter's: probe_success, probe_duration_seconds, probe_http_duration_seconds{phase},
  probe_http_status_code, probe_http_content_length, probe_http_uncompressed_body_length,
  probe_http_redirects, probe_http_ssl, probe_http_version, probe_failed_due_to_regex,
  probe_ip_protocol, probe_ip_addr_hash, probe_dns_lookup_time_seconds,
  probe_ssl_earliest_cert_expiry, probe_ssl_last_chain_expiry_timestamp_seconds,
  probe_ssl_last_chain_info, probe_tls_version_info{version}; and parallax's:
  parallax_dns_answer_class{class}, parallax_diagnosis{rule}, parallax_answered_by{endpoint,vpc},
  parallax_answer_changes_total, parallax_confirmations_total, parallax_probes_total,
  parallax_webhook_deliveries_total{receiver,result}, parallax_webhook_queue_depth{receiver},
  parallax_webhook_delivery_seconds{receiver}; the others carry target.

Events: one JSON line on standard output per change of DNS answer class, front door or
diagnosis: {time, target, before, after, cause, confirmed}, and with --topology or --aws the
endpoint, vpc, zone and profile whose address answered and, with --aws, the account_changes
seen since the target's previous probe (with their CloudTrail events); what an event cannot
name is listed in unknown. With webhooks:, each is also delivered: as an Alertmanager webhook
payload, or to Alertmanager's /api/v2/alerts (kind: alertmanager); changes go ahead of the
first answers, which are sent as one initial-state summary; every delivery carries an
Idempotency-Key header, the same on each retry. Secrets never appear in events, logs or
metrics.

Alerting rules: deploy/prometheus/parallax-rules.yml (checked with promtool). The README's
\"parallax watch\" section has the metric table and the deployment files.";
