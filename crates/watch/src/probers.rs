//! blackbox_exporter's tcp and dns probers, for `/probe` modules that name them: the same metric
//! names and meanings (blackbox_exporter's `prober/tcp.go` and `prober/dns.go` as documented in
//! its CONFIGURATION.md), each probe bounded by its time limit and by what it reads.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::module::{DnsModule, IpFamily, RrRules, Step, TcpModule};

/// A sample: name, help, one label if any, value.
type Sample = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
    f64,
);

/// One probe's metrics: gauges without labels except where blackbox_exporter has them.
#[derive(Debug, Default)]
pub struct Output {
    samples: Vec<Sample>,
    /// What the probe did, line by line, for `/probe?debug=true`.
    pub log: Vec<String>,
}

impl Output {
    fn set(&mut self, name: &'static str, help: &'static str, v: f64) {
        self.samples.push((name, help, None, v));
    }

    fn phase(&mut self, name: &'static str, help: &'static str, phase: &'static str, v: f64) {
        self.samples.push((name, help, Some(("phase", phase)), v));
    }

    /// The classic text format, each name's HELP and TYPE once, or OpenMetrics with its `# EOF`.
    pub fn encode(&self, openmetrics: bool) -> String {
        let mut out = String::new();
        let mut done: Vec<&str> = Vec::new();
        for (name, help, _, _) in &self.samples {
            if done.contains(name) {
                continue;
            }
            done.push(name);
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (n, _, label, v) in self.samples.iter().filter(|s| s.0 == *name) {
                match label {
                    Some((k, val)) => {
                        let _ = writeln!(out, "{n}{{{k}=\"{val}\"}} {v}");
                    }
                    None => {
                        let _ = writeln!(out, "{n} {v}");
                    }
                }
            }
        }
        if openmetrics {
            out.push_str("# EOF\n");
        }
        out
    }

    /// The value of a sample (tests, the debug page).
    pub fn value(&self, name: &str) -> Option<f64> {
        self.samples.iter().find(|s| s.0 == name).map(|s| s.3)
    }
}

/// How much a tcp dialogue reads at most (lines and all).
const MAX_READ: u64 = 1 << 20;

/// The target's host and port (`HOST:PORT`, `[V6]:PORT`; `default` when the port is absent).
fn host_port(target: &str, default: Option<u16>) -> Option<(String, u16)> {
    if let Ok(sa) = target.parse::<SocketAddr>() {
        return Some((sa.ip().to_string(), sa.port()));
    }
    if let Ok(ip) = target
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Some((ip.to_string(), default?));
    }
    match target.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !h.contains(':') => Some((h.to_owned(), p.parse().ok()?)),
        None if !target.is_empty() => Some((target.to_owned(), default?)),
        _ => None,
    }
}

/// Resolves the target's host as blackbox_exporter's chooseProtocol does (an address is used as
/// it is): `probe_dns_lookup_time_seconds`, `probe_ip_protocol`, `probe_ip_addr_hash`.
async fn choose(
    out: &mut Output,
    host: &str,
    port: u16,
    family: Option<IpFamily>,
) -> Option<SocketAddr> {
    let t = Instant::now();
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => match tokio::net::lookup_host((host, port)).await {
            Ok(a) => a.collect(),
            Err(e) => {
                out.log.push(format!("resolving {host}: {e}"));
                Vec::new()
            }
        },
    };
    out.set(
        "probe_dns_lookup_time_seconds",
        "Returns the time taken for probe dns lookup in seconds",
        t.elapsed().as_secs_f64(),
    );
    let pick = addrs.iter().copied().find(|a| match family {
        Some(IpFamily::V4) => a.is_ipv4(),
        Some(IpFamily::V6) => a.is_ipv6(),
        None => true,
    });
    out.set(
        "probe_ip_protocol",
        "Specifies whether probe ip protocol is IP4 or IP6",
        match pick {
            Some(a) if a.is_ipv4() => 4.0,
            Some(_) => 6.0,
            None => 0.0,
        },
    );
    if let Some(a) = pick {
        out.set(
            "probe_ip_addr_hash",
            "Specifies the hash of IP address. It's useful to detect if the IP address changes.",
            crate::metrics::ip_hash(a.ip()),
        );
        out.log.push(format!("resolved {host} to {}", a.ip()));
    }
    pick
}

/// A probe that did not end within its limit: `probe_success 0` and how long it was given.
fn timed_out(limit: Duration, started: Instant) -> Output {
    let mut out = Output::default();
    out.log
        .push(format!("the probe did not end within {limit:?}"));
    finish(&mut out, started, false);
    out
}

fn finish(out: &mut Output, started: Instant, success: bool) {
    out.set(
        "probe_success",
        "Displays whether or not the probe was a success",
        f64::from(u8::from(success)),
    );
    out.set(
        "probe_duration_seconds",
        "Returns how long the probe took to complete in seconds",
        started.elapsed().as_secs_f64(),
    );
}

/// blackbox_exporter's tcp prober: connect, then the dialogue (each `expect` reads lines until
/// one matches, each `send` writes a line), within `limit`.
pub async fn tcp(target: &str, m: &TcpModule, limit: Duration) -> Output {
    let started = Instant::now();
    let mut out = Output::default();
    let run = async {
        let mut failed_regex = false;
        let Some((host, port)) = host_port(target, None) else {
            out.log.push(format!("{target:?} is not HOST:PORT"));
            return (out, false, false);
        };
        let Some(addr) = choose(&mut out, &host, port, m.family).await else {
            return (out, false, false);
        };
        let tcp = match tokio::net::TcpStream::connect(addr).await {
            Ok(t) => t,
            Err(e) => {
                out.log.push(format!("connecting to {addr}: {e}"));
                return (out, false, false);
            }
        };
        out.log.push(format!("connected to {addr}"));
        let (read, mut write) = tcp.into_split();
        let mut lines = tokio::io::BufReader::new(read.take(MAX_READ));
        for step in &m.query_response {
            match step {
                Step::Expect(re) => {
                    let mut matched = false;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match lines.read_line(&mut line).await {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {
                                let l = line.trim_end_matches(['\r', '\n']);
                                out.log.push(format!("read {l:?}"));
                                if re.is_match(l) {
                                    matched = true;
                                    break;
                                }
                            }
                        }
                    }
                    if !matched {
                        out.log.push(format!("no line matched {}", re.as_str()));
                        failed_regex = true;
                        return (out, false, failed_regex);
                    }
                }
                Step::Send(s) => {
                    if write.write_all(format!("{s}\n").as_bytes()).await.is_err() {
                        return (out, false, failed_regex);
                    }
                    out.log.push(format!("sent {s:?}"));
                }
            }
        }
        (out, true, failed_regex)
    };
    match tokio::time::timeout(limit, run).await {
        Ok((mut out, ok, regex)) => {
            out.set(
                "probe_failed_due_to_regex",
                "Indicates if probe failed due to regex",
                f64::from(u8::from(regex)),
            );
            finish(&mut out, started, ok);
            out
        }
        Err(_) => timed_out(limit, started),
    }
}

/// A record as blackbox_exporter matches it: miekg/dns's text form, tab-separated.
fn rr_text(r: &hickory_proto::rr::Record) -> String {
    format!("{}\t{}\tIN\t{}\t{}", r.name, r.ttl, r.record_type(), r.data)
}

/// An rcode by the name blackbox_exporter's `valid_rcodes` uses (miekg/dns's RcodeToString).
fn rcode_name(code: u16) -> String {
    let name = match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADSIG",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        other => return other.to_string(),
    };
    name.to_owned()
}

/// Whether a section passes its rules, as blackbox_exporter's `validRRs` (prober/dns.go)
/// decides, which its option names only hint at: no record at all fails `fail_if_not_matches`
/// and `fail_if_none_matches`; a record matching a `fail_if_matches` expression fails; a record
/// not matching a `fail_if_not_matches` expression fails; `fail_if_all_match` fails unless every
/// record matches every one of its expressions; `fail_if_none_matches` fails when no record
/// matches any of its expressions.
fn valid_rrs(records: &[String], rules: &RrRules) -> bool {
    let any = |res: &[regex_lite::Regex], r: &str| res.iter().any(|re| re.is_match(r));
    let all = |res: &[regex_lite::Regex], r: &str| res.iter().all(|re| re.is_match(r));
    if records.is_empty()
        && !(rules.fail_if_not_matches.is_empty() && rules.fail_if_none_matches.is_empty())
    {
        return false;
    }
    let each_ok = records
        .iter()
        .all(|r| !any(&rules.fail_if_matches, r) && all(&rules.fail_if_not_matches, r));
    let all_match = rules.fail_if_all_match.is_empty()
        || records.iter().all(|r| all(&rules.fail_if_all_match, r));
    let none_matches = !rules.fail_if_none_matches.is_empty()
        && !records.iter().any(|r| any(&rules.fail_if_none_matches, r));
    each_ok && all_match && !none_matches
}

/// blackbox_exporter's dns prober: one query to the target (`HOST[:PORT]`, port 53 by default)
/// over UDP or TCP, judged by its rcode and its sections' rules.
pub async fn dns(target: &str, m: &DnsModule, limit: Duration) -> Output {
    let started = Instant::now();
    let mut out = Output::default();
    let run = async {
        let Some((host, port)) = host_port(target, Some(53)) else {
            out.log.push(format!("{target:?} is not HOST[:PORT]"));
            return (out, false);
        };
        let resolve = Instant::now();
        let Some(server) = choose(&mut out, &host, port, m.family).await else {
            return (out, false);
        };
        out.phase(
            "probe_dns_duration_seconds",
            "Duration of DNS request by phase",
            "resolve",
            resolve.elapsed().as_secs_f64(),
        );
        let Ok(qtype) = m.query_type.parse::<RecordType>() else {
            return (out, false);
        };
        let name = if m.query_name.ends_with('.') {
            m.query_name.clone()
        } else {
            format!("{}.", m.query_name)
        };
        let Ok(qname) = Name::from_ascii(&name) else {
            out.log.push(format!("{name:?} is not a DNS name"));
            return (out, false);
        };
        let mut q = Message::query();
        q.metadata.id = (started.elapsed().subsec_nanos() & 0xffff) as u16 ^ 0x2a5d;
        q.metadata.recursion_desired = m.recursion_desired;
        q.add_query(Query::query(qname, qtype));
        let Ok(wire) = q.to_vec() else {
            return (out, false);
        };
        let connect = Instant::now();
        let reply = if m.tcp {
            exchange_tcp(&mut out, server, &wire, connect).await
        } else {
            exchange_udp(&mut out, server, &wire, connect).await
        };
        let Some(reply) = reply else {
            out.set(
                "probe_dns_query_succeeded",
                "Displays whether or not the query was executed successfully",
                0.0,
            );
            return (out, false);
        };
        out.set(
            "probe_dns_query_succeeded",
            "Displays whether or not the query was executed successfully",
            1.0,
        );
        let answer: Vec<String> = reply.answers.iter().map(rr_text).collect();
        let authority: Vec<String> = reply.authorities.iter().map(rr_text).collect();
        let additional: Vec<String> = reply.additionals.iter().map(rr_text).collect();
        out.set(
            "probe_dns_answer_rrs",
            "Returns number of entries in the answer resource record list",
            answer.len() as f64,
        );
        out.set(
            "probe_dns_authority_rrs",
            "Returns number of entries in the authority resource record list",
            authority.len() as f64,
        );
        out.set(
            "probe_dns_additional_rrs",
            "Returns number of entries in the additional resource record list",
            additional.len() as f64,
        );
        // As blackbox_exporter: for an SOA query only, the last SOA's serial (0 for none).
        if qtype == RecordType::SOA {
            let serial = reply.answers.iter().rev().find_map(|r| match &r.data {
                hickory_proto::rr::RData::SOA(soa) => Some(soa.serial),
                _ => None,
            });
            out.set(
                "probe_dns_serial",
                "Returns the serial number of the zone",
                f64::from(serial.unwrap_or(0)),
            );
        }
        let rcode = rcode_name(u16::from(reply.metadata.response_code));
        out.log
            .push(format!("rcode {rcode}, {} answers", answer.len()));
        if !m
            .valid_rcodes
            .iter()
            .any(|v| v.eq_ignore_ascii_case(&rcode))
        {
            out.log
                .push(format!("rcode {rcode} is not one of {:?}", m.valid_rcodes));
            return (out, false);
        }
        let ok = valid_rrs(&answer, &m.answer)
            && valid_rrs(&authority, &m.authority)
            && valid_rrs(&additional, &m.additional);
        (out, ok)
    };
    match tokio::time::timeout(limit, run).await {
        Ok((mut out, ok)) => {
            finish(&mut out, started, ok);
            out
        }
        Err(_) => timed_out(limit, started),
    }
}

async fn exchange_udp(
    out: &mut Output,
    server: SocketAddr,
    wire: &[u8],
    connect: Instant,
) -> Option<Message> {
    let bind: SocketAddr = if server.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let sock = tokio::net::UdpSocket::bind(bind).await.ok()?;
    sock.connect(server).await.ok()?;
    out.phase(
        "probe_dns_duration_seconds",
        "Duration of DNS request by phase",
        "connect",
        connect.elapsed().as_secs_f64(),
    );
    let request = Instant::now();
    sock.send(wire).await.ok()?;
    let mut buf = vec![0u8; 65_535];
    // Replies with another id are not ours: read on until ours (the caller's limit bounds it).
    let id = u16::from_be_bytes([wire[0], wire[1]]);
    loop {
        let n = sock.recv(&mut buf).await.ok()?;
        if let Ok(m) = Message::from_vec(&buf[..n])
            && m.metadata.id == id
        {
            out.phase(
                "probe_dns_duration_seconds",
                "Duration of DNS request by phase",
                "request",
                request.elapsed().as_secs_f64(),
            );
            return Some(m);
        }
    }
}

async fn exchange_tcp(
    out: &mut Output,
    server: SocketAddr,
    wire: &[u8],
    connect: Instant,
) -> Option<Message> {
    let mut tcp = tokio::net::TcpStream::connect(server).await.ok()?;
    out.phase(
        "probe_dns_duration_seconds",
        "Duration of DNS request by phase",
        "connect",
        connect.elapsed().as_secs_f64(),
    );
    let request = Instant::now();
    let len = u16::try_from(wire.len()).ok()?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(wire);
    tcp.write_all(&framed).await.ok()?;
    let mut n = [0u8; 2];
    tcp.read_exact(&mut n).await.ok()?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(n))];
    tcp.read_exact(&mut buf).await.ok()?;
    out.phase(
        "probe_dns_duration_seconds",
        "Duration of DNS request by phase",
        "request",
        request.elapsed().as_secs_f64(),
    );
    Message::from_vec(&buf).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// miekg/dns's text form of a record, which blackbox_exporter's expressions are written
    /// against: owner, TTL, class, type and data, tab-separated.
    #[test]
    fn records_in_miekg_text_form() {
        let r = hickory_proto::rr::Record::from_rdata(
            Name::from_ascii("ok.test.").expect("name"),
            300,
            hickory_proto::rr::RData::A(hickory_proto::rr::rdata::A::new(192, 0, 2, 1)),
        );
        assert_eq!(rr_text(&r), "ok.test.\t300\tIN\tA\t192.0.2.1");
    }

    /// blackbox_exporter's validRRs, case by case (its prober/dns.go), on two A records.
    #[test]
    fn record_rules_as_blackbox_applies_them() {
        let re = |s: &[&str]| -> Vec<regex_lite::Regex> {
            s.iter()
                .map(|r| regex_lite::Regex::new(r).expect("regex"))
                .collect()
        };
        let two = vec![
            "ok.test.\t300\tIN\tA\t192.0.2.1".to_owned(),
            "ok.test.\t300\tIN\tA\t192.0.2.2".to_owned(),
        ];
        let rules = |m: &[&str], not: &[&str], all: &[&str], none: &[&str]| RrRules {
            fail_if_matches: re(m),
            fail_if_not_matches: re(not),
            fail_if_all_match: re(all),
            fail_if_none_matches: re(none),
        };
        let none: &[&str] = &[];
        assert!(valid_rrs(&two, &rules(none, none, none, none)));
        assert!(!valid_rrs(
            &two,
            &rules(&["192\\.0\\.2\\.2"], none, none, none)
        ));
        // Every record must match each fail_if_not_matches expression.
        assert!(!valid_rrs(
            &two,
            &rules(none, &["192\\.0\\.2\\.1"], none, none)
        ));
        assert!(valid_rrs(&two, &rules(none, &["IN\tA"], none, none)));
        // fail_if_all_match fails unless every record matches.
        assert!(!valid_rrs(&two, &rules(none, none, &["\\.1$"], none)));
        assert!(valid_rrs(&two, &rules(none, none, &["^ok"], none)));
        // fail_if_none_matches fails when no record matches.
        assert!(valid_rrs(
            &two,
            &rules(none, none, none, &["\\.2$", "nothing"])
        ));
        assert!(!valid_rrs(&two, &rules(none, none, none, &["nothing"])));
        // No record: fails the two that need a match, passes the others.
        assert!(!valid_rrs(&[], &rules(none, &["x"], none, none)));
        assert!(!valid_rrs(&[], &rules(none, none, none, &["x"])));
        assert!(valid_rrs(&[], &rules(&["x"], none, &["x"], none)));
    }

    #[test]
    fn targets_as_blackbox_takes_them() {
        assert_eq!(
            host_port("127.0.0.1:53", None),
            Some(("127.0.0.1".into(), 53))
        );
        assert_eq!(host_port("[::1]:853", None), Some(("::1".into(), 853)));
        assert_eq!(
            host_port("ns1.example.com", Some(53)),
            Some(("ns1.example.com".into(), 53))
        );
        assert_eq!(host_port("ns1.example.com", None), None);
        assert_eq!(host_port("", Some(53)), None);
        assert_eq!(host_port("host:port", None), None);
    }
}
