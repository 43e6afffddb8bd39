//! `parallax`: the command line. Parses flags, loads files, calls the library crates, maps
//! errors to exit codes. All logic lives in the crates it calls.

mod account;
mod args;
mod html;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use args::{
    AnalyzeArgs, Cli, Command, Format, GatewayArgs, LabArgs, ProbeArgs, ProbeSub, ResolverArgs,
    WatchArgs,
};
use parallax_dns::{RateLimit, Resolver, ResolverConfig};
use parallax_model::{ModelFile, Scenario, Topology};

/// mimalloc rather than glibc's malloc: the gateway's per-request buffers (hyper's 8 KiB read
/// buffer per message among them) went through glibc's slow bins and consolidation (about 9%
/// of the proxy benchmark's CPU; BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    init_tracing();
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let mut cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // curl joins -d pieces in the order typed, whatever their flag: clap keeps each flag's
    // values apart, so their order comes from the matches.
    if let (Command::Probe(cmd), Some(("probe", m))) = (&mut cli.command, matches.subcommand()) {
        cmd.args.curl.order_data(m);
    }
    parallax_model::input::set_config_limit(cli.max_config_size);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // The reader went away (`parallax man | head`): as a tool that SIGPIPE ends, with
            // nothing to say and the shell's code for it.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::from(141);
            }
            eprintln!("parallax: {}", said_once(&e));
            ExitCode::from(2)
        }
    }
}

/// An error and its causes, each said once: a cause whose words the message before it already
/// holds (an error that quotes its source) is not repeated.
fn said_once(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let words = cause.to_string();
        if !out.contains(&words) {
            out.push_str(": ");
            out.push_str(&words);
        }
    }
    out
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    use std::io::IsTerminal as _;
    // Colour only on a terminal: a log file or journald gets plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { file } => check(&file),
        Command::Analyze(args) => analyze(args),
        Command::Changes(args) => changes(&args),
        Command::Collect(args) => runtime()?.block_on(account::collect(args)),
        Command::Resolver(args) => runtime()?.block_on(resolver(args)),
        Command::Lab(args) => runtime()?.block_on(lab(args)),
        Command::Gateway(args) => runtime()?.block_on(gateway(args)),
        Command::Watch(args) => runtime()?.block_on(watch(*args)),
        Command::Completions { shell } => {
            completions(&shell)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { dir } => man(dir.as_deref()),
        Command::Probe(cmd) => {
            if let Some(ProbeSub::Diff { a, b }) = &cmd.sub {
                return probe_diff(a, b);
            }
            let flags = cmd.args.curl.clone();
            let write_out = flags.write_out_format()?;
            let (mut opts, topology, expect, json) = probe_options(cmd.args)?;
            if flags.verbose {
                opts.trace = Some(parallax_probe::options::Trace(std::sync::Arc::new(
                    |line| eprintln!("{line}"),
                )));
            }
            // `-D -` with the body on standard output is `-i`: the heads go before the body.
            let dump_stdout = flags.dump_header.as_deref() == Some(std::path::Path::new("-"));
            if dump_stdout && opts.output == Some(parallax_probe::options::Output::Stdout) {
                opts.include_headers = true;
            }
            let retry = parallax_probe::report::Retry {
                times: flags.retry,
                delay: (flags.retry_delay > 0)
                    .then(|| std::time::Duration::from_secs(flags.retry_delay)),
                max_time: (flags.retry_max_time > 0)
                    .then(|| std::time::Duration::from_secs(flags.retry_max_time)),
                connrefused: flags.retry_connrefused,
                all_errors: flags.retry_all_errors,
            };
            let silent = flags.silent;
            let warn = move |line: &str| {
                if !silent {
                    eprintln!("Warning: {line}");
                }
            };
            // One request: a runtime on this thread, no worker threads to start (6.36 -> 4.86 ms
            // of CPU per probe, alternating builds; BENCHMARKS.md).
            let report =
                single_thread_runtime()?.block_on(parallax_probe::report::probe_with_retry(
                    &opts,
                    topology.as_ref(),
                    expect,
                    &retry,
                    &warn,
                ));
            // The report goes to standard output, or to standard error when the body does;
            // `-s` leaves only the body and -w, as curl prints them.
            if !flags.silent {
                let text = if json {
                    format!("{}\n", report.to_json())
                } else {
                    report.to_text()
                };
                if opts.output == Some(parallax_probe::options::Output::Stdout) {
                    eprint!("{text}");
                } else {
                    print!("{text}");
                }
            }
            // The exit code: curl's with -s (the probe is then curl, for scripts testing $?),
            // the diagnosis's otherwise (and with --expect); %{exitcode} is always this one.
            let (curl_code, message) =
                parallax_probe::writeout::curl_exit_of(&report, opts.fail_on_http_error);
            let code = if flags.silent && expect.is_none() {
                curl_code
            } else {
                report.exit_code
            };
            if let Some(path) = &flags.dump_header {
                let heads = report.heads();
                if dump_stdout {
                    if !opts.include_headers {
                        use std::io::Write as _;
                        let _ = std::io::stdout().write_all(&heads);
                    }
                } else {
                    write_whole(path, &heads)
                        .map_err(|e| anyhow::anyhow!("-D {}: {e}", path.display()))?;
                }
            }
            if let Some(format) = &write_out {
                let (out, unknown) =
                    parallax_probe::writeout::expand(format, &report, &(code, message.clone()));
                for u in unknown {
                    eprintln!("parallax: unknown --write-out variable: '{u}'");
                }
                print!("{out}");
            }
            if let (Some(path), Some(jar)) = (&flags.cookie_jar, &opts.cookies) {
                let text = jar.lock().map(|j| j.to_netscape()).unwrap_or_default();
                if path.as_os_str() == "-" {
                    print!("{text}");
                } else {
                    write_whole(path, text.as_bytes())
                        .map_err(|e| anyhow::anyhow!("-c {}: {e}", path.display()))?;
                }
            }
            if flags.silent && flags.show_error && curl_code != 0 {
                eprintln!("parallax: ({curl_code}) {message}");
            }
            Ok(ExitCode::from(code))
        }
    }
}

/// Writes a file whole or not at all: a temporary file beside it, renamed over it.
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        // A device or a pipe (`/dev/null`): written as it is.
        return std::fs::write(path, bytes);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.parallax-{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// `parallax completions SHELL`: the script on standard output (made in memory first: a
/// closed pipe is an error to report, not a panic).
fn completions(shell: &str) -> anyhow::Result<()> {
    use clap_complete::Shell;
    let shell = match shell {
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        "powershell" => Shell::PowerShell,
        "elvish" => Shell::Elvish,
        _ => Shell::Bash,
    };
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "parallax", &mut script);
    use std::io::Write as _;
    std::io::stdout()
        .write_all(&script)
        .context("standard output")
}

/// `parallax man`: parallax's page on standard output, or one page per command in `dir`
/// (`parallax.1`, `parallax-probe.1`, ...).
fn man(dir: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    if let Some(d) = dir {
        std::fs::create_dir_all(d).with_context(|| format!("--dir {}", d.display()))?;
    }
    let mut pages: Vec<(String, clap::Command)> = vec![("parallax".to_owned(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("parallax-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    for (name, page) in pages {
        let mut roff = Vec::new();
        clap_mangen::Man::new(page)
            .render(&mut roff)
            .context("rendering the manual page")?;
        match dir {
            Some(d) => {
                let path = d.join(format!("{name}.1"));
                write_whole(&path, &roff).with_context(|| format!("--dir: {}", path.display()))?;
            }
            None if name == "parallax" => {
                use std::io::Write as _;
                std::io::stdout()
                    .write_all(&roff)
                    .context("standard output")?;
            }
            None => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A runtime that runs everything on the calling thread.
fn single_thread_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
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
    say_notices(&scenario.topology);
    // The control port is taken before the lab runs: a port in use fails at once.
    let control = match (args.keep_running, args.control) {
        (true, Some(addr)) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("--control {addr}: cannot listen"))?,
        ),
        _ => None,
    };
    let opts = parallax_lab::LabOptions {
        until_step: args.step.clone(),
    };
    let (report, lab) = parallax_lab::run(&scenario, &opts).await?;
    match (args.json, args.format) {
        (true, _) | (false, args::LabFormat::Json) => print!("{}", report.to_json_lines()),
        (false, args::LabFormat::Html) => print!("{}", html::lab(&scenario, &report)),
        (false, args::LabFormat::Text) => print!("{}", report.to_text()),
    }
    let lab = if args.keep_running {
        keep_running(&scenario, &report, lab, control).await?
    } else {
        lab
    };
    lab.shutdown().await;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Leaves the lab up and prints the `dig` and `curl` lines that reproduce each request of the
/// last step by hand. Certificates and API keys go to files, so no secret is printed. With a
/// control address, `POST /step/NAME` moves the running lab meanwhile.
async fn keep_running(
    scenario: &Scenario,
    report: &parallax_lab::LabReport,
    lab: parallax_lab::run::Running,
    control: Option<tokio::net::TcpListener>,
) -> anyhow::Result<parallax_lab::run::Running> {
    let signals = signals()?;
    let dir = std::env::temp_dir().join(format!("parallax-lab-{}", std::process::id()));
    // Private keys and API key values go here: readable by this user only, removed on exit.
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    let lab = std::sync::Arc::new(tokio::sync::Mutex::new(lab));
    let result = async {
        show_reproduction(&dir, scenario, report, &*lab.lock().await)?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let server = match control {
            Some(listener) => {
                if let Ok(addr) = listener.local_addr() {
                    println!(
                        "\ncontrol: POST http://{addr}/step/NAME moves the lab to a step; GET http://{addr}/step says where it is"
                    );
                }
                Some(tokio::spawn(parallax_lab::control::serve(
                    listener,
                    std::sync::Arc::new(scenario.clone()),
                    lab.clone(),
                    stopped,
                )))
            }
            None => None,
        };
        let waited = signals.wait().await;
        let _ = stop.send(true);
        if let Some(s) = server {
            let _ = s.await;
        }
        waited
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    std::sync::Arc::try_unwrap(lab)
        .map(tokio::sync::Mutex::into_inner)
        .map_err(|_| anyhow::anyhow!("the lab is still in use by its control"))
}

fn show_reproduction(
    dir: &std::path::Path,
    scenario: &Scenario,
    report: &parallax_lab::LabReport,
    lab: &parallax_lab::run::Running,
) -> anyhow::Result<()> {
    let Some(step) = report.steps.last() else {
        return Ok(());
    };
    let topology = scenario
        .step_index(&step.name)
        .and_then(|i| scenario.topology_at(i))
        .context("the last step's topology")?;
    parallax_lab::reproduce::write_files(dir, topology, lab)?;
    print!("{}", parallax_lab::reproduce::instructions(dir, step, lab));
    // What `parallax watch` needs to watch the lab, and Prometheus to scrape the watcher.
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 9595));
    if let Some(w) = parallax_lab::reproduce::watch_files(dir, step, topology, lab, listen) {
        let (config, scrape) = (dir.join("watch.yaml"), dir.join("prometheus.yml"));
        std::fs::write(&config, &w.watch_yaml)
            .with_context(|| format!("{}: cannot write", config.display()))?;
        std::fs::write(&scrape, &w.scrape_yaml)
            .with_context(|| format!("{}: cannot write", scrape.display()))?;
        println!(
            "\n  watch it: parallax watch --config {} (metrics on http://{listen}/metrics)\n  Prometheus scrape configuration ({}):",
            config.display(),
            scrape.display()
        );
        for line in w.scrape_yaml.lines() {
            println!("    {line}");
        }
    }
    println!("\nstop with Ctrl-C");
    Ok(())
}

fn analyze(a: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    use parallax_analyze::findings;
    if a.matrix {
        let scenario = match a.files.as_slice() {
            [one] => parallax_analyze::input::read_text(one, a.max_input_size)
                .ok()
                .filter(|t| ModelFile::holds_scenario(t))
                .map(|t| (one.display().to_string(), t)),
            _ => None,
        };
        let t = if let Some((origin, text)) = scenario {
            ModelFile::from_yaml(&text, &origin)?.topology_at(a.step.as_deref())?
        } else {
            let model = match model_of(&a) {
                Ok(m) => m,
                Err(code) => return Ok(code),
            };
            if !model.errors.is_empty() {
                for (l, why) in &model.errors {
                    eprintln!("{}: error: {why}", l.place());
                }
                return Ok(ExitCode::from(2));
            }
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
    let model = match model_of(&a) {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let found = findings::findings(&model);
    match a.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&findings::json(&found, &model))?
        ),
        Format::Sarif => println!("{}", findings::sarif_text(&found, &model)),
        Format::Text => print!("{}", findings::text(&found, &model)),
        Format::Html => print!("{}", html::analyze(analyze_title(&a), &model, &found)),
    }
    let threshold = a.fail_on.threshold();
    let failing = threshold.is_some_and(|t| found.iter().any(|f| f.severity >= t));
    // Input that was not understood outweighs findings on the part that was.
    Ok(if !model.errors.is_empty() {
        ExitCode::from(2)
    } else if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// What an analyze report is of: the files read, and the account.
fn analyze_title(a: &AnalyzeArgs) -> String {
    let mut parts: Vec<String> = a.files.iter().map(|f| f.display().to_string()).collect();
    if a.aws {
        parts.push("the live account (--aws)".to_owned());
    }
    parts.join(", ")
}

/// The files given and, with --aws, the live account, joined. `Err` is the exit code after a
/// failure was said.
fn model_of(a: &AnalyzeArgs) -> Result<parallax_analyze::imported::Imported, ExitCode> {
    if !a.aws && a.account.given() {
        eprintln!(
            "parallax analyze: --profile, --region and --all-regions read an account: add --aws"
        );
        return Err(ExitCode::from(2));
    }
    let mut model = parallax_analyze::import_paths_opts(&a.files, &a.import_options());
    if a.aws {
        model.extend(account::imported(&a.account)?);
    }
    Ok(model)
}

fn changes(a: &args::ChangesArgs) -> anyhow::Result<ExitCode> {
    let opts = parallax_analyze::Options {
        max_bytes: a.max_input_size,
        tf_dir: None,
    };
    let before = parallax_analyze::import_paths_opts(std::slice::from_ref(&a.before), &opts);
    let after = parallax_analyze::import_paths_opts(std::slice::from_ref(&a.after), &opts);
    // Input that was not understood: a comparison of what was would be a guess.
    let errors: Vec<_> = before.errors.iter().chain(&after.errors).collect();
    if !errors.is_empty() {
        for (l, why) in errors {
            eprintln!("{}: error: {why}", l.place());
        }
        return Ok(ExitCode::from(2));
    }
    let mut report = parallax_analyze::changes::Changes::between(&before, &after);
    let sides = (&before, &after);
    if let Some(path) = &a.cloudtrail {
        if path.as_os_str() == "aws" && !path.exists() {
            match account::trail_events(a, &report) {
                Ok(events) => report.attribute(&events),
                Err(code) => return Ok(code),
            }
            return changes_report(a, sides, &report);
        }
        let (events, errors) = parallax_analyze::cloudtrail::read(path, a.max_input_size);
        if !errors.is_empty() {
            for e in errors {
                eprintln!("error: --cloudtrail {e}");
            }
            return Ok(ExitCode::from(2));
        }
        report.attribute(&events);
    }
    changes_report(a, sides, &report)
}

fn changes_report(
    a: &args::ChangesArgs,
    (before, after): (
        &parallax_analyze::imported::Imported,
        &parallax_analyze::imported::Imported,
    ),
    report: &parallax_analyze::changes::Changes,
) -> anyhow::Result<ExitCode> {
    match a.format {
        args::ChangesFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        args::ChangesFormat::Text => print!("{}", report.text()),
        args::ChangesFormat::Html => print!(
            "{}",
            html::changes(
                before,
                after,
                (
                    &a.before.display().to_string(),
                    &a.after.display().to_string()
                ),
                report
            )
        ),
    }
    Ok(if report.breaks_something() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn check(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    match ModelFile::from_path(path)? {
        ModelFile::Scenario(s) => {
            println!(
                "{}: scenario `{}`, {} steps",
                path.display(),
                s.name,
                s.steps.len()
            );
            summarise(&s.topology);
            say_notices(&s.topology);
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
        ModelFile::Topology(t) => {
            println!("{}: topology", path.display());
            summarise(&t);
            say_notices(&t);
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

/// A file's content, as a hash (`--watch-config`; topology files are small).
fn content_hash(p: &std::path::Path) -> Option<u64> {
    use std::hash::{Hash as _, Hasher as _};
    let bytes = parallax_model::input::read_config_bytes(p).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    Some(h.finish())
}

/// `--usage-store`: `None` for memory, else the Redis store, whose reachability is said at
/// start (an unreachable Redis is not fatal: `--usage-store-failure` applies until it answers).
async fn usage_store(
    args: &GatewayArgs,
    metrics: &std::sync::Arc<parallax_gateway::metrics::GatewayMetrics>,
) -> anyhow::Result<Option<parallax_gateway::usage_store::RedisStore>> {
    use parallax_gateway::usage_store::{Failure, Mode, RedisSettings, RedisStore};
    if args.usage_store == "memory" {
        return Ok(None);
    }
    let store = RedisStore::new(
        &RedisSettings {
            url: args.usage_store.clone(),
            timeout: args.usage_store_timeout,
            failure: match args.usage_store_failure {
                args::StoreFailure::Open => Failure::Open,
                args::StoreFailure::Closed => Failure::Closed,
            },
            mode: match args.usage_store_mode {
                args::StoreMode::Exact => Mode::Exact,
                args::StoreMode::Batched => Mode::Batched {
                    batch: args.usage_store_batch,
                },
            },
        },
        args.admin.map(|_| metrics.clone()),
    )?;
    match store.check().await {
        Ok(()) => eprintln!("usage store: Redis at {}", store.shown()),
        Err(why) => eprintln!(
            "usage store: Redis at {} does not answer yet ({why}); requests are {} until it does",
            store.shown(),
            match args.usage_store_failure {
                args::StoreFailure::Open => "let through uncounted",
                args::StoreFailure::Closed => "refused with 503",
            }
        ),
    }
    Ok(Some(store))
}

/// What the gateway serves: `--topology` (at `--step`), with the `--openapi` APIs added; the
/// `--openapi` APIs alone when there is no `--topology`; else the seed incident.
struct GatewaySource {
    topology: Option<PathBuf>,
    step: Option<String>,
    openapi: Vec<PathBuf>,
    endpoint_type: parallax_model::topology::EndpointType,
}

impl GatewaySource {
    fn files(&self) -> Vec<PathBuf> {
        self.topology.iter().chain(&self.openapi).cloned().collect()
    }

    fn load(&self) -> anyhow::Result<Topology> {
        if self.topology.is_none() && !self.openapi.is_empty() {
            let mut t = Topology::from_yaml(
                "region: us-east-1\nfront_doors: { regional: [52.94.133.10], edge: [13.249.118.20] }\n",
                "<--openapi>",
            )?;
            self.add_openapi(&mut t, true)?;
            return Ok(t);
        }
        let mut t = topology_at(self.topology.as_ref(), self.step.as_deref())?;
        self.add_openapi(&mut t, false)?;
        Ok(t)
    }

    /// Adds each `--openapi` API; `alone`: the region is the first export's.
    fn add_openapi(&self, t: &mut Topology, alone: bool) -> anyhow::Result<()> {
        for (i, path) in self.openapi.iter().enumerate() {
            let shown = path.display().to_string();
            let def = parallax_model::openapi::read_file(path)?;
            if alone
                && i == 0
                && let Some(r) = &def.region
            {
                t.region.value = r.clone();
            }
            if let Some(r) = def.region.as_ref().filter(|r| **r != t.region.value) {
                bail!(
                    "{shown}: the export is of an API in {r}, the topology's region is {}",
                    t.region.value
                );
            }
            for n in &def.notices {
                eprintln!("note: {n}");
            }
            let api = def.into_api(&shown, self.endpoint_type);
            if t.api(&api.id.value).is_some() {
                bail!(
                    "{shown}: the topology already has API {}; name the file with `openapi:` on that API instead",
                    api.id.value
                );
            }
            eprintln!(
                "{shown}: {} API {} `{}`, stage {}, {} routes",
                api.endpoint_type.value,
                api.id.value,
                api.name,
                api.stages.first().map_or("-", |s| s.value.as_str()),
                api.routes.len()
            );
            t.apis.push(api);
        }
        if !self.openapi.is_empty() {
            let problems = t.problems();
            if !problems.is_empty() {
                // Named by the files, not the flag: the problems are in what they hold.
                let files: Vec<String> = self
                    .openapi
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                return Err(parallax_model::LoadError::Invalid {
                    origin: files.join(", "),
                    problems,
                }
                .into());
            }
        }
        Ok(())
    }
}

/// The content of several files, hashed together (a missing file hashes as missing).
fn files_hash(files: &[PathBuf]) -> Option<u64> {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        content_hash(f).hash(&mut h);
    }
    (!files.is_empty()).then(|| h.finish())
}

async fn gateway(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    let signals = signals()?;
    use parallax_model::topology::EndpointType;
    let source = GatewaySource {
        topology: args.topology.clone(),
        step: args.step.clone(),
        openapi: args.openapi.clone(),
        endpoint_type: match args.endpoint_type {
            args::EndpointTypeArg::Regional => EndpointType::Regional,
            args::EndpointTypeArg::Edge => EndpointType::Edge,
            args::EndpointTypeArg::Private => EndpointType::Private,
        },
    };
    if args.watch_config && source.files().is_empty() {
        bail!("--watch-config needs --topology or --openapi (the embedded seed does not change)");
    }
    // Taken before the files are loaded: a change from then on is a reload (at worst one more).
    let loaded_hash = files_hash(&source.files());
    let topology = source.load()?;
    let certs = parallax_gateway::LabCerts::new()?;
    let metrics = std::sync::Arc::new(parallax_gateway::metrics::GatewayMetrics::new());
    let redis = usage_store(&args, &metrics).await?;
    let store = redis.clone().map(|r| {
        std::sync::Arc::new(r) as std::sync::Arc<dyn parallax_gateway::UsageStore + Send + Sync>
    });
    let config = parallax_gateway::GatewayConfig {
        listen: args.listen,
        max_connections: args.max_connections,
        workers: args.workers.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            usize::from,
        ),
        proxy_protocol: args.proxy_protocol,
        header_read_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
        // Without --admin nobody reads the counts, so none are kept.
        metrics: args.admin.map(|_| metrics.clone()),
        usage_store: store,
        upstream_routes: {
            let mut routes = parallax_gateway::UpstreamRoutes::default();
            let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
            routes.limits = parallax_gateway::UpstreamLimits {
                max_connections: n(args.upstream_max_connections),
                max_per_origin: n(args.upstream_max_per_origin),
                max_pending: n(args.upstream_max_pending),
            };
            routes
        },
        http2: parallax_gateway::server::Http2Limits {
            max_streams: args.http2_max_streams,
            stream_buffer: usize::try_from(args.http2_stream_buffer).unwrap_or(8192),
        },
        ..Default::default()
    };
    // The admin listener is bound first, so that a bad address fails before the doors open.
    let admin = match args.admin {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("--admin {addr}: cannot listen"))?,
        ),
        None => None,
    };
    let gw = parallax_gateway::Gateway::start(&topology, certs, config).await?;
    // Installed before the addresses are printed: whoever reads them may send SIGHUP at once
    // (whose default action would end the process).
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("installing the SIGHUP handler")?;
    let ready = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (stop_admin, admin_stopped) = tokio::sync::watch::channel(false);
    let admin_task = admin.map(|listener| {
        if let Ok(a) = listener.local_addr() {
            println!("admin on http://{a}/metrics");
        }
        tokio::spawn(parallax_gateway::admin::serve(
            listener,
            metrics.clone(),
            ready.clone(),
            admin_stopped,
        ))
    });
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
    // SIGHUP reloads the files (and the certificates and truststores they name); a file that
    // does not load keeps the running configuration and says why, with file:line.
    // --watch-config: the files' content, looked at every second (a modification time can stay
    // the same across two quick writes), compared with what was loaded.
    let watched = if args.watch_config {
        source.files()
    } else {
        Vec::new()
    };
    let mut seen = loaded_hash;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // One reload, whatever asked for it; a file that does not load is counted here (`reload`
    // counts itself).
    let reload = |why: &str| {
        let refused = |e: &dyn std::fmt::Display| {
            eprintln!("reload ({why}) refused, the running configuration stays: {e}");
        };
        match source.load() {
            Err(e) => {
                metrics.reload(false);
                refused(&format!("{e:#}"));
            }
            Ok(t) => match gw.reload(&t) {
                Ok(()) => eprintln!("reloaded ({why}): new requests get the new configuration"),
                Err(e) => refused(&e),
            },
        }
    };
    let stopped = signals.wait();
    tokio::pin!(stopped);
    loop {
        let changed = async {
            loop {
                tick.tick().await;
                if !watched.is_empty() {
                    let now = files_hash(&watched);
                    if now != seen {
                        seen = now;
                        return;
                    }
                }
            }
        };
        tokio::select! {
            r = &mut stopped => { r?; break; }
            () = changed => reload("the file changed"),
            _ = hup.recv() => reload("SIGHUP"),
        }
    }
    // Not ready while draining, so that a load balancer stops sending.
    ready.store(false, std::sync::atomic::Ordering::SeqCst);
    gw.shutdown().await;
    // Leased usage-plan units not spent go back, for the other replicas.
    if let Some(r) = &redis {
        let (units, tokens) = r.give_back_all().await;
        if units + tokens > 0 {
            eprintln!("usage store: gave back {units} quota units and {tokens} tokens unspent");
        }
    }
    let _ = stop_admin.send(true);
    if let Some(t) = admin_task {
        let _ = t.await;
    }
    Ok(ExitCode::SUCCESS)
}

fn probe_diff(a: &PathBuf, b: &PathBuf) -> anyhow::Result<ExitCode> {
    let read = |p: &PathBuf| -> anyhow::Result<serde_json::Value> {
        let text =
            parallax_model::input::read_config(p).with_context(|| p.display().to_string())?;
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
    let mut opts = a.curl.to_options()?;
    let topology = match &a.topology {
        Some(p) => Some(topology_at(Some(p), a.step.as_deref())?),
        None => None,
    };
    if let (Some(vpc), Some(t)) = (&a.vpc, &topology) {
        let id: parallax_model::VpcId = vpc
            .parse()
            .map_err(|e| anyhow::anyhow!("--vpc {vpc}: {e}"))?;
        if t.vpc(&id).is_none() {
            let known: Vec<String> = t.vpcs.iter().map(|v| v.id.to_string()).collect();
            bail!(
                "--vpc {vpc}: the topology has no such VPC (known: {})",
                known.join(", ")
            );
        }
        opts.network = Some(parallax_model::Network::Vpc(id));
    }
    Ok((opts, topology, a.expect, a.format == "json"))
}

/// The topology of a file (or the seed), as it is after `step` when one is named; a folder is
/// a snapshot of an account (`parallax collect`, or AWS CLI outputs), read as analyze reads it.
fn topology_at(path: Option<&PathBuf>, step: Option<&str>) -> anyhow::Result<Topology> {
    if let Some(dir) = path.filter(|p| p.is_dir()) {
        if let Some(step) = step {
            bail!(
                "--step {step}: {} is a snapshot folder, which has no steps",
                dir.display()
            );
        }
        let model = parallax_analyze::import_paths(std::slice::from_ref(dir));
        if let Some((l, why)) = model.errors.first() {
            bail!("{}: {why}", l.place());
        }
        for (l, why) in &model.unknowns {
            eprintln!("{}: unknown: {} ({why})", l.place(), l.resource);
        }
        let (t, assumed) = parallax_analyze::runnable::topology(&model);
        for a in assumed {
            eprintln!("assumed: {a}");
        }
        return Ok(t);
    }
    let t = ModelFile::path_or_seed(path.map(PathBuf::as_path))?.topology_at(step)?;
    say_notices(&t);
    Ok(t)
}

/// What the OpenAPI files a topology names hold that parallax does not emulate, on stderr.
fn say_notices(t: &Topology) {
    for n in &t.notices {
        eprintln!("note: {n}");
    }
}

async fn resolver(args: ResolverArgs) -> anyhow::Result<ExitCode> {
    let signals = signals()?;
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
    signals.wait().await?;
    resolver.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn watch(args: WatchArgs) -> anyhow::Result<ExitCode> {
    let signals = signals()?;
    use parallax_watch::config::{Config, Target, parse_duration};
    let config = match (&args.config, &args.curl.url) {
        (Some(_), Some(url)) => {
            bail!("give --config FILE or one URL with the probe's flags, not both ({url})")
        }
        (Some(path), None) => {
            let text = parallax_model::input::read_config(path)
                .with_context(|| path.display().to_string())?;
            let mut c = Config::from_yaml(&text, &path.display().to_string())?;
            if let Some(l) = args.listen {
                c.listen = l;
            }
            c
        }
        (None, Some(url)) => {
            let every = parse_duration(&args.every).map_err(|e| anyhow::anyhow!("--every {e}"))?;
            let options = args.curl.to_options()?;
            let timeout = options.max_time.min(every);
            Config {
                listen: args
                    .listen
                    .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 9595))),
                interval: every,
                timeout,
                concurrency: 1,
                jitter: 0.0,
                targets: vec![Target {
                    name: args.name.clone(),
                    url: url.clone(),
                    options,
                    expect: None,
                    interval: every,
                }],
                modules: Default::default(),
                probe_allow: None,
                webhooks: Vec::new(),
                snapshot_interval: match &args.snapshot_every {
                    Some(e) => {
                        parse_duration(e).map_err(|e| anyhow::anyhow!("--snapshot-every {e}"))?
                    }
                    None => parallax_watch::config::DEFAULT_SNAPSHOT_INTERVAL,
                },
            }
        }
        (None, None) => bail!("give --config FILE, or a URL to watch with the probe's flags"),
    };
    let config = std::sync::Arc::new(config);
    // Each receiver has a sender of its own, counting in the metrics the state exposes.
    let metrics = parallax_watch::metrics::Metrics::new();
    let webhooks = parallax_watch::webhook::Webhooks::start(
        config.webhooks.clone(),
        metrics.deliveries(),
        None,
    );
    let state = std::sync::Arc::new(parallax_watch::State::with_metrics(
        metrics,
        Box::new(move |e| {
            if let Ok(line) = serde_json::to_string(e) {
                println!("{line}");
            }
            webhooks.send(e);
        }),
    ));
    if let Some(path) = &args.topology {
        state.set_topology(topology_at(Some(path), None)?);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let refresher = if args.aws {
        // The first read is awaited: a watch that cannot read its account says so and stops.
        let mut snapshots = account::Refresher::new(args.account());
        if let Err(code) = snapshots.refresh(&state).await {
            return Ok(code);
        }
        Some(tokio::spawn(snapshots.run(
            config.snapshot_interval,
            state.clone(),
            stopped.clone(),
        )))
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    eprintln!(
        "watching {} targets; metrics on http://{}/metrics",
        config.targets.len(),
        listener.local_addr().unwrap_or(config.listen)
    );
    let server = tokio::spawn(parallax_watch::http::serve(
        listener,
        config.clone(),
        state.clone(),
        stopped.clone(),
    ));
    let runner = tokio::spawn(parallax_watch::watcher::run(config, state, stopped));
    signals.wait().await?;
    let _ = stop.send(true);
    let _ = tokio::join!(server, runner);
    if let Some(r) = refresher {
        let _ = r.await;
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM and SIGINT, caught from the moment this is made: a command makes it before it says
/// it is ready, so a signal sent on that line stops it cleanly instead of killing it.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

fn signals() -> anyhow::Result<Signals> {
    use tokio::signal::unix::{SignalKind, signal};
    Ok(Signals {
        term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
    })
}

impl Signals {
    /// Until one of them comes.
    async fn wait(mut self) -> anyhow::Result<()> {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        Ok(())
    }
}
