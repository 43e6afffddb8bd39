//! The DNS rung: the connecting path's answer (`--resolve`, `/etc/hosts`, `--dns-servers` or
//! `/etc/resolv.conf`) and the comparison resolvers'.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use parallax_dns::client::lookup_a;
use parallax_model::{DnsOutcome, Rcode, classify};

use crate::failure::DnsFailure;
use crate::ladder::{left, ms};
use crate::observation::DnsAnswer;
use crate::options::ProbeOptions;

pub(crate) fn pinned(addr: IpAddr, why: &str) -> DnsAnswer {
    DnsAnswer {
        resolver: "pinned".to_owned(),
        server: None,
        source: Some(why.to_owned()),
        outcome: DnsOutcome {
            rcode: Rcode::NoError,
            cname_chain: vec![],
            addresses: vec![addr],
            ttl: None,
        },
        classes: vec![classify(addr)],
        elapsed_ms: 0.0,
        failure: None,
        error: None,
    }
}

/// The answer of the connecting path: `--resolve`, else `--dns-servers`, else the system's
/// (`/etc/hosts`, then `/etc/resolv.conf`'s nameservers), as getaddrinfo would.
pub(crate) async fn path_answer(opts: &ProbeOptions, deadline: Instant) -> DnsAnswer {
    let host = opts.url.host.as_str();
    if let Some(p) = opts
        .resolve
        .iter()
        .find(|p| p.host == host && p.port == opts.url.port)
    {
        return pinned(p.addr, "--resolve");
    }
    if !opts.dns_servers.is_empty() {
        return ask_each("dns-servers", &opts.dns_servers, opts, deadline).await;
    }
    if let Some(addrs) = hosts_file(host) {
        let classes = addrs.iter().map(|a| classify(*a)).collect();
        return DnsAnswer {
            resolver: "system".to_owned(),
            server: None,
            source: Some("/etc/hosts".to_owned()),
            outcome: DnsOutcome {
                rcode: Rcode::NoError,
                cname_chain: vec![],
                addresses: addrs,
                ttl: None,
            },
            classes,
            elapsed_ms: 0.0,
            failure: None,
            error: None,
        };
    }
    let servers = system_nameservers();
    if servers.is_empty() {
        let mut a = pinned(IpAddr::from([0, 0, 0, 0]), "");
        a.resolver = "system".to_owned();
        a.source = None;
        a.outcome.addresses.clear();
        a.classes.clear();
        a.outcome.rcode = Rcode::ServFail;
        a.fail(DnsFailure::NoNameserver);
        return a;
    }
    ask_each("system", &servers, opts, deadline).await
}

pub(crate) async fn ask_each(
    name: &str,
    servers: &[SocketAddr],
    opts: &ProbeOptions,
    deadline: Instant,
) -> DnsAnswer {
    let mut last = None;
    for s in servers {
        let a = ask(name, *s, opts, deadline).await;
        if a.error.is_none() {
            return a;
        }
        last = Some(a);
    }
    // `servers` is never empty here; the fallback keeps the type total.
    last.unwrap_or_else(|| pinned(IpAddr::from([0, 0, 0, 0]), "no server"))
}

pub(crate) async fn ask(
    name: &str,
    server: SocketAddr,
    opts: &ProbeOptions,
    deadline: Instant,
) -> DnsAnswer {
    let t0 = Instant::now();
    let timeout = left(deadline).min(Duration::from_secs(3));
    let (outcome, failure) = match lookup_a(server, &opts.url.host, timeout).await {
        Ok(o) => (o, None),
        Err(e) => (
            DnsOutcome {
                rcode: Rcode::ServFail,
                cname_chain: vec![],
                addresses: vec![],
                ttl: None,
            },
            Some(DnsFailure::of(&e)),
        ),
    };
    let classes = outcome.addresses.iter().map(|a| classify(*a)).collect();
    let mut a = DnsAnswer {
        resolver: name.to_owned(),
        server: Some(server),
        source: None,
        outcome,
        classes,
        elapsed_ms: ms(t0.elapsed()),
        failure: None,
        error: None,
    };
    if let Some(f) = failure {
        a.fail(f);
    }
    a
}

/// `/etc/hosts` entries for `host`, as getaddrinfo reads them.
pub(crate) fn hosts_file(host: &str) -> Option<Vec<IpAddr>> {
    let text = std::fs::read_to_string("/etc/hosts").ok()?;
    let addrs: Vec<IpAddr> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let ip: IpAddr = parts.next()?.parse().ok()?;
            parts.any(|n| n.eq_ignore_ascii_case(host)).then_some(ip)
        })
        .collect();
    (!addrs.is_empty()).then_some(addrs)
}

pub(crate) fn system_nameservers() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}
