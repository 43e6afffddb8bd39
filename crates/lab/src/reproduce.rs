//! `lab --keep-running`: the files and the `dig` and `curl` lines that reproduce the last
//! step's requests by hand against the running lab. Certificates and API keys go to files (in
//! a directory only the user can read), so no secret is printed.

use std::fmt::Write as _;
use std::path::Path;

use parallax_model::Topology;

use crate::report::StepReport;
use crate::run::{Running, played_by};

/// The reproduction files could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReproduceError {
    /// The lab's certificates (`server-ca.pem`, `NAME-client.*`).
    #[error(transparent)]
    Certs(#[from] parallax_gateway::certs::CertError),
    /// An API key file (`key-ID.txt`).
    #[error("{}: cannot write: {source}", path.display())]
    Key {
        /// The file.
        path: std::path::PathBuf,
        /// Why it could not be written.
        source: std::io::Error,
    },
}

/// Writes the certificates and the API keys of `topology` into `dir` (0600 files).
pub fn write_files(dir: &Path, topology: &Topology, lab: &Running) -> Result<(), ReproduceError> {
    lab.gateway.with_certs(|c| c.write_to(dir))?;
    for key in topology.usage_plans.iter().flat_map(|p| &p.keys) {
        let path = dir.join(format!("key-{}.txt", key.id.value));
        parallax_gateway::certs::write_private(&path, key.value.expose().as_bytes())
            .map_err(|source| ReproduceError::Key { path, source })?;
    }
    Ok(())
}

/// What to type to ask the running lab by hand: each view's `dig`, each door, and for each
/// request of `step` its `dig` and `curl` lines (files named from `dir`).
pub fn instructions(dir: &Path, step: &StepReport, lab: &Running) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
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
        let _ = writeln!(
            o,
            "  resolver view {:<24} dig @{} -p {} NAME",
            l.view,
            l.addr.ip(),
            l.addr.port()
        );
    }
    for l in lab.gateway.listening() {
        let _ = writeln!(o, "  gateway door {:<25} https://{}", l.door, l.addr);
    }
    let _ = writeln!(
        o,
        "\n  The doors expect a PROXY protocol header first, as behind an NLB: curl sends it with\n  --haproxy-protocol, and curl 8.2 or later can add --haproxy-clientip ADDR to call from a\n  vantage point's own address (aws:SourceIp); without it the gateway sees 127.0.0.1."
    );
    for r in &step.requests {
        let _ = writeln!(o, "\n  {} ({}):", r.from, r.view);
        if let Some(addr) = r.resolver {
            let _ = writeln!(
                o,
                "    dig @{} -p {} {} +short",
                addr.ip(),
                addr.port(),
                r.host
            );
        }
        let Some((modelled, _)) = r.connected else {
            continue;
        };
        let Some(played) = played_by(lab, modelled) else {
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
            let _ = write!(
                line,
                " -H \"x-api-key: $(cat {}/key-{k}.txt)\"",
                dir.display()
            );
        }
        if let Some(c) = r
            .client_certificate
            .as_deref()
            .and_then(|c| c.strip_prefix("lab:"))
        {
            let _ = write!(
                line,
                " --cert {0}/{c}-client.pem --key {0}/{c}-client.key",
                dir.display()
            );
        }
        if r.method != "GET" {
            let _ = write!(line, " -X {}", r.method);
        }
        let _ = writeln!(o, "{line} {}", r.url);
    }
    o
}

/// What `parallax watch` needs to watch the running lab: a `watch.yaml` with one target per
/// request of `step`, probed as its vantage point does (its view's resolver, its address in the
/// PROXY header, its API key and client certificate from the files of [`write_files`]), and the
/// Prometheus scrape configuration for the watcher at `listen`.
#[derive(Debug, Clone)]
pub struct WatchFiles {
    /// `watch.yaml`.
    pub watch_yaml: String,
    /// A `scrape_configs` entry for Prometheus.
    pub scrape_yaml: String,
}

/// See [`WatchFiles`]; `None` when a request's view is not the lab's.
pub fn watch_files(
    dir: &Path,
    step: &StepReport,
    topology: &Topology,
    lab: &Running,
    listen: std::net::SocketAddr,
) -> Option<WatchFiles> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# parallax watch for the lab at step {} (written by `parallax lab --keep-running`):\n# one target per request, probed from its vantage point's view.\nlisten: {listen}\ninterval: 10s\ntimeout: 5s\ntargets:",
        step.name
    );
    let mut names = std::collections::BTreeSet::new();
    for r in &step.requests {
        let client = topology
            .vantages
            .iter()
            .find(|v| v.name.value == r.from)
            .and_then(|v| v.address.as_ref())
            .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |a| a.value);
        let mut args = probe_flags(lab, &dir.join("server-ca.pem"), &r.view, client)?;
        if let Some(k) = &r.api_key_id {
            args.extend([
                "--api-key-file".to_owned(),
                dir.join(format!("key-{k}.txt")).display().to_string(),
            ]);
        }
        if let Some(c) = r
            .client_certificate
            .as_deref()
            .and_then(|c| c.strip_prefix("lab:"))
        {
            args.extend([
                "--cert".to_owned(),
                dir.join(format!("{c}-client.pem")).display().to_string(),
                "--key".to_owned(),
                dir.join(format!("{c}-client.key")).display().to_string(),
            ]);
        }
        if r.method != "GET" {
            args.extend(["-X".to_owned(), r.method.clone()]);
        }
        // A label value: the vantage point, numbered when it makes more than one request.
        let base: String = r
            .from
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .take(60)
            .collect();
        let mut name = base.clone();
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        let list: Vec<String> = args.iter().map(|a| quote(a)).collect();
        let _ = writeln!(
            o,
            "  - name: {name}\n    url: {}\n    args: [{}]",
            quote(&r.url),
            list.join(", ")
        );
    }
    let scrape_yaml = format!(
        "scrape_configs:\n  - job_name: parallax-lab\n    scrape_interval: 10s\n    static_configs:\n      - targets: ['{listen}']\n"
    );
    Some(WatchFiles {
        watch_yaml: o,
        scrape_yaml,
    })
}

/// The `parallax probe` flags that call a running lab from one of its views, as its vantage
/// point there does: the server CA (a file, see [`write_files`]), the view's resolver (and the
/// internet view to compare with), the PROXY header with `client`'s address, and a
/// `--connect-to` for every door, so that nothing is dialled outside loopback. `None` when the
/// lab has no such view.
pub fn probe_flags(
    lab: &Running,
    ca: &Path,
    view: &str,
    client: std::net::IpAddr,
) -> Option<Vec<String>> {
    let mut flags = vec![
        "--cacert".to_owned(),
        ca.display().to_string(),
        "--dns-servers".to_owned(),
        lab.resolver.addr_of(view)?.to_string(),
        "--haproxy-clientip".to_owned(),
        client.to_string(),
    ];
    if view != "internet" {
        flags.push("--compare-dns".to_owned());
        flags.push(format!("internet={}", lab.resolver.addr_of("internet")?));
    }
    for c in &lab.connect_map {
        flags.push("--connect-to".to_owned());
        flags.push(c.to_string());
    }
    Some(flags)
}
