//! The DNS rung: the connecting path's answer and the comparison resolvers'. The path is what
//! curl would use: no DNS for an address (in the URL, or as `--connect-to`'s HOST2), then
//! `--resolve`, then `--dns-servers`, then the system's: `/etc/hosts`, then `/etc/resolv.conf`
//! with its `search`, `ndots` and `options timeout attempts rotate`, as glibc reads them. A and
//! AAAA are both asked (`-4`/`-6` ask one); IPv6 answers come first, as RFC 6724's default
//! policy orders them.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use parallax_dns::client::{AddressType, lookup};
use parallax_model::{DnsName, DnsOutcome, Rcode, classify};

use crate::failure::DnsFailure;
use crate::limits::{left, ms};
use crate::observation::DnsAnswer;
use crate::options::{Family, ProbeOptions};
use crate::route::Route;

/// An answer that did not come from DNS: `--resolve`, an address literal, a confirmation pin.
pub(crate) fn fixed(resolver: &str, addrs: Vec<IpAddr>, why: &str) -> DnsAnswer {
    DnsAnswer {
        resolver: resolver.to_owned(),
        server: None,
        source: Some(why.to_owned()),
        classes: addrs.iter().map(|a| classify(*a)).collect(),
        aws: Vec::new(),
        outcome: DnsOutcome {
            rcode: Rcode::NoError,
            cname_chain: vec![],
            addresses: addrs,
            ttl: None,
        },
        elapsed_ms: 0.0,
        failure: None,
        error: None,
    }
}

pub(crate) fn pinned(addr: IpAddr, why: &str) -> DnsAnswer {
    fixed("pinned", vec![addr], why)
}

/// The answer of the connecting path for `route` (see the module's order).
pub(crate) async fn path_answer(
    opts: &ProbeOptions,
    route: &Route,
    deadline: Instant,
) -> DnsAnswer {
    if let Some(ip) = route.literal {
        let why = if opts.proxy.is_some() {
            "the proxy is an address"
        } else if route.via_rule {
            "--connect-to names an address"
        } else {
            "the URL names an address"
        };
        return fixed("none", vec![ip], why);
    }
    if let Some(p) = opts
        .resolve
        .iter()
        .find(|p| p.matches(&route.host, route.port))
    {
        let addrs = p
            .addrs
            .iter()
            .copied()
            .filter(|a| opts.family.allows(a))
            .collect();
        return fixed("pinned", addrs, "--resolve");
    }
    // curl (7.85 and later) answers `localhost` and `*.localhost` itself, 127.0.0.1 then ::1
    // (its get_localhost), without the hosts file or DNS (RFC 6761 §6.3).
    let lower = route.host.to_ascii_lowercase();
    if lower == "localhost" || lower.ends_with(".localhost") {
        let addrs = [
            IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ]
        .into_iter()
        .filter(|a| opts.family.allows(a))
        .collect();
        return fixed("none", addrs, "localhost is loopback (RFC 6761)");
    }
    let Ok(name) = route.host.parse::<DnsName>() else {
        let mut a = fixed("system", vec![], "");
        a.source = None;
        a.outcome.rcode = Rcode::ServFail;
        a.fail(DnsFailure::BadName {
            name: route.host.clone(),
        });
        return a;
    };
    if !opts.dns_servers.is_empty() {
        let conf = ResolvConf {
            nameservers: opts.dns_servers.clone(),
            ..ResolvConf::default()
        };
        return ask_each("dns-servers", &conf, &name, opts, deadline).await;
    }
    if let Some(addrs) = hosts_file(name.as_str()) {
        let addrs = addrs
            .into_iter()
            .filter(|a| opts.family.allows(a))
            .collect();
        return fixed("system", addrs, "/etc/hosts");
    }
    let conf = ResolvConf::read();
    if conf.nameservers.is_empty() {
        let mut a = fixed("system", vec![], "");
        a.source = None;
        a.outcome.rcode = Rcode::ServFail;
        a.fail(DnsFailure::NoNameserver);
        return a;
    }
    // The search list, as glibc applies it: a name with at least `ndots` dots is tried as it
    // is first; a shorter one after the search domains.
    let dots = name.as_str().matches('.').count();
    let mut candidates: Vec<DnsName> = Vec::new();
    let searched = conf
        .search
        .iter()
        .filter_map(|d| format!("{}.{d}", name.as_str()).parse::<DnsName>().ok());
    if dots >= conf.ndots {
        candidates.push(name.clone());
        candidates.extend(searched);
    } else {
        candidates.extend(searched);
        candidates.push(name.clone());
    }
    let mut last = None;
    for c in candidates.iter().take(8) {
        let mut a = ask_each("system", &conf, c, opts, deadline).await;
        if c != &name {
            a.source = Some(format!("resolv.conf search: {c}"));
        }
        if !a.outcome.addresses.is_empty() || a.failure.is_some() {
            return a;
        }
        last = Some(a);
    }
    last.unwrap_or_else(|| fixed("system", vec![], "no candidate name"))
}

/// `/etc/resolv.conf` as glibc reads it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ResolvConf {
    pub nameservers: Vec<SocketAddr>,
    pub search: Vec<String>,
    pub ndots: usize,
    /// Seconds per try (`options timeout:n`, default 5).
    pub timeout: Duration,
    /// Tries of the whole list (`options attempts:n`, default 2).
    pub attempts: usize,
    /// `options rotate`: start at a different server each time.
    pub rotate: bool,
}

impl Default for ResolvConf {
    fn default() -> Self {
        ResolvConf {
            nameservers: Vec::new(),
            search: Vec::new(),
            ndots: 1,
            timeout: Duration::from_secs(5),
            attempts: 2,
            rotate: false,
        }
    }
}

impl ResolvConf {
    fn read() -> ResolvConf {
        ResolvConf::parse(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
    }

    /// resolv.conf(5): `nameserver`, `search` (or `domain`; the last one wins), `options`.
    pub(crate) fn parse(text: &str) -> ResolvConf {
        let mut c = ResolvConf::default();
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    if let Some(ip) = words.next().and_then(|a| a.parse::<IpAddr>().ok()) {
                        c.nameservers.push(SocketAddr::new(ip, 53));
                    }
                }
                Some("search" | "domain") => {
                    c.search = words
                        .map(|w| w.trim_end_matches('.').to_ascii_lowercase())
                        .filter(|w| !w.is_empty())
                        .collect();
                }
                Some("options") => {
                    for o in words {
                        let (k, v) = o.split_once(':').unwrap_or((o, ""));
                        let n = v.parse::<u64>().ok();
                        match (k, n) {
                            ("ndots", Some(n)) => c.ndots = n.min(15) as usize,
                            ("timeout", Some(n)) => c.timeout = Duration::from_secs(n.clamp(1, 30)),
                            ("attempts", Some(n)) => c.attempts = n.clamp(1, 5) as usize,
                            ("rotate", _) => c.rotate = true,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        // glibc reads at most three nameservers.
        c.nameservers.truncate(3);
        c
    }
}

/// Asks the servers in turn (`attempts` rounds, `timeout` each, starting elsewhere with
/// `rotate`) until one answers.
pub(crate) async fn ask_each(
    name: &str,
    conf: &ResolvConf,
    qname: &DnsName,
    opts: &ProbeOptions,
    deadline: Instant,
) -> DnsAnswer {
    let n = conf.nameservers.len();
    let start = if conf.rotate && n > 0 {
        usize::from(std::process::id() as u16) % n
    } else {
        0
    };
    let mut last = None;
    for round in 0..conf.attempts.max(1) {
        for i in 0..n {
            let server = conf.nameservers[(start + i) % n];
            let a = ask_name(name, server, qname, conf.timeout, opts, deadline).await;
            if a.error.is_none() {
                return a;
            }
            last = Some(a);
            if left(deadline).is_zero() {
                break;
            }
        }
        if round + 1 < conf.attempts && left(deadline).is_zero() {
            break;
        }
    }
    last.unwrap_or_else(|| fixed(name, vec![], "no server"))
}

/// A `--compare-dns` resolver, asked for the URL's host.
pub(crate) async fn ask(
    name: &str,
    server: SocketAddr,
    opts: &ProbeOptions,
    deadline: Instant,
) -> DnsAnswer {
    match opts.url.name() {
        Some(host) => ask_name(name, server, host, Duration::from_secs(3), opts, deadline).await,
        None => fixed(
            name,
            opts.url.ip().into_iter().collect(),
            "the URL names an address",
        ),
    }
}

/// One server, A and AAAA (as `-4`/`-6` allow) at once; IPv6 answers first.
async fn ask_name(
    name: &str,
    server: SocketAddr,
    qname: &DnsName,
    per_try: Duration,
    opts: &ProbeOptions,
    deadline: Instant,
) -> DnsAnswer {
    let t0 = Instant::now();
    let timeout = left(deadline).min(per_try).min(Duration::from_secs(3));
    let want = |t| {
        !matches!(
            (opts.family, t),
            (Family::V4, AddressType::Aaaa) | (Family::V6, AddressType::A)
        )
    };
    let a = async {
        if want(AddressType::A) {
            Some(lookup(server, qname, AddressType::A, timeout).await)
        } else {
            None
        }
    };
    let aaaa = async {
        if want(AddressType::Aaaa) {
            Some(lookup(server, qname, AddressType::Aaaa, timeout).await)
        } else {
            None
        }
    };
    let (a, aaaa) = tokio::join!(a, aaaa);
    let mut failure = None;
    let mut outcome: Option<DnsOutcome> = None;
    // IPv6 first, then IPv4; the rcode is the answer that has addresses, else A's.
    for r in [aaaa, a].into_iter().flatten() {
        match r {
            Ok(o) => {
                outcome = Some(match outcome.take() {
                    None => o,
                    Some(mut acc) => {
                        if acc.addresses.is_empty() && !o.addresses.is_empty() {
                            acc.rcode = o.rcode;
                        } else if acc.addresses.is_empty() && o.addresses.is_empty() {
                            // A's rcode says more about the name (NXDOMAIN) than AAAA's.
                            acc.rcode = o.rcode;
                        }
                        for c in o.cname_chain {
                            if !acc.cname_chain.contains(&c) {
                                acc.cname_chain.push(c);
                            }
                        }
                        acc.addresses.extend(o.addresses);
                        acc.ttl = match (acc.ttl, o.ttl) {
                            (Some(x), Some(y)) => Some(x.min(y)),
                            (x, y) => x.or(y),
                        };
                        acc
                    }
                });
            }
            Err(e) => failure = Some(DnsFailure::of(&e)),
        }
    }
    let (outcome, failure) = match outcome {
        Some(o) => (o, None),
        None => (
            DnsOutcome {
                rcode: Rcode::ServFail,
                cname_chain: vec![],
                addresses: vec![],
                ttl: None,
            },
            failure,
        ),
    };
    let classes = outcome.addresses.iter().map(|a| classify(*a)).collect();
    let mut answer = DnsAnswer {
        resolver: name.to_owned(),
        server: Some(server),
        source: None,
        outcome,
        classes,
        aws: Vec::new(),
        elapsed_ms: ms(t0.elapsed()),
        failure: None,
        error: None,
    };
    if let Some(f) = failure {
        answer.fail(f);
    }
    answer
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_as_glibc_reads_it() {
        let c = ResolvConf::parse(
            "# comment\nnameserver 10.0.0.2\nnameserver fd00::2 ; v6\nsearch ec2.internal corp.example.\noptions ndots:2 timeout:1 attempts:3 rotate\nnameserver 10.0.0.3\nnameserver 10.0.0.4\n",
        );
        assert_eq!(c.nameservers.len(), 3, "glibc reads three");
        assert_eq!(c.search, vec!["ec2.internal", "corp.example"]);
        assert_eq!(
            (c.ndots, c.timeout, c.attempts, c.rotate),
            (2, Duration::from_secs(1), 3, true)
        );
        let d = ResolvConf::parse("domain one.example\nsearch two.example\n");
        assert_eq!(
            d.search,
            vec!["two.example"],
            "the last of domain/search wins"
        );
        assert_eq!(ResolvConf::parse("").ndots, 1);
    }
}
