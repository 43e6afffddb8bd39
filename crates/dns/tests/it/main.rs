//! Integration tests of the resolver: real listeners on 127.0.0.1 port 0, asked over UDP and
//! TCP by the testkit client and by real `dig`. One test per DNS rule of reference §2.

use std::net::{IpAddr, SocketAddr};
use std::process::Command;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use parallax_dns::{RateLimit, Resolver, ResolverConfig};
use parallax_model::{Scenario, Topology};
use parallax_testkit::dns::{Transport, addresses, ask, cnames, query_bytes, tcp_raw, udp_raw};
use parallax_testkit::interop;

const VPC: &str = "vpc-0a1b2c3d4e5f60718";
const API: &str = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";

/// A topology with one VPC (10.0.0.0/16), a REGIONAL API, a PRIVATE API and the public custom
/// domain api.example.com; `extra` adds top-level sections (endpoints, zones, rules).
fn topology(hostnames: bool, domain_dns: &str, extra: &str) -> Topology {
    let yaml = format!(
        r#"
region: us-east-1
front_doors: {{ regional: [52.94.133.10], edge: [13.249.118.20] }}
vpcs:
  - {{ id: {VPC}, cidr: 10.0.0.0/16, dns_support: true, dns_hostnames: {hostnames} }}
apis:
  - {{ id: a1b2c3d4e5, name: public, endpoint_type: REGIONAL, stages: [prod] }}
  - {{ id: p1r2i3v4a5, name: private, endpoint_type: PRIVATE, stages: [prod] }}
custom_domains:
  - {{ name: api.example.com, endpoint_type: REGIONAL, dns: {domain_dns}, target: d-abcde12345 }}
{extra}
"#
    );
    Topology::from_yaml(&yaml, "<test>").unwrap_or_else(|e| panic!("{e}"))
}

const ENDPOINT: &str = r#"
endpoints:
  - id: vpce-0123456789abcdef0
    vpc: vpc-0a1b2c3d4e5f60718
    service: execute-api
    private_dns: true
    dns_suffix: 1a2b3c4d
    subnets:
      - { id: subnet-0aaa1111bbbb22223, az: us-east-1a, address: 10.0.1.17 }
      - { id: subnet-0ccc3333dddd44445, az: us-east-1b, address: 10.0.2.17 }
"#;

async fn start(t: &Topology) -> Resolver {
    Resolver::start(t, ResolverConfig::default())
        .await
        .expect("resolver starts on port 0")
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = list
        .iter()
        .map(|s| s.parse().expect("test address"))
        .collect();
    v.sort();
    v
}

fn views(r: &Resolver) -> (SocketAddr, SocketAddr) {
    (
        r.addr_of("internet").expect("internet view"),
        r.addr_of(VPC).expect("vpc view"),
    )
}

// Blocking `dig` runs beside the server: a second worker keeps the server answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_incident_split_horizon_with_real_dig() {
    let Some(dig) = interop::require("dig", "the Debian package bind9-dnsutils") else {
        return;
    };
    let seed = Scenario::seed().expect("the embedded seed loads");
    for (i, step) in seed.steps.iter().enumerate() {
        let r = start(seed.topology_at(i).expect("state")).await;
        let (internet, vpc) = views(&r);
        let run = |addr: SocketAddr| {
            let out = Command::new(&dig)
                .args([
                    "@127.0.0.1",
                    "-p",
                    &addr.port().to_string(),
                    API,
                    "A",
                    "+short",
                    "+time=2",
                    "+tries=1",
                ])
                .output()
                .expect("dig runs");
            assert!(
                out.status.success(),
                "dig failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_owned)
                .collect();
            lines.sort();
            lines
        };
        let public = vec!["52.94.133.10".to_owned(), "52.94.133.11".to_owned()];
        assert_eq!(run(internet), public, "step {}: internet view", step.name);
        let expected_vpc = if step.name.value == "endpoint-added" {
            vec!["10.0.1.17".to_owned(), "10.0.2.17".to_owned()]
        } else {
            public.clone()
        };
        assert_eq!(run(vpc), expected_vpc, "step {}: VPC view", step.name);
        r.shutdown().await;
    }
}

#[tokio::test]
async fn endpoint_private_dns_shadows_every_api_in_the_region() {
    let r = start(&topology(true, "alias", ENDPOINT)).await;
    let (internet, vpc) = views(&r);
    for name in [
        API,
        "p1r2i3v4a5.execute-api.us-east-1.amazonaws.com",
        "zzzzzzzzzz.execute-api.us-east-1.amazonaws.com",
    ] {
        let m = ask(vpc, name, RecordType::A, Transport::Udp).await;
        assert_eq!(
            addresses(&m),
            ips(&["10.0.1.17", "10.0.2.17"]),
            "{name} in the VPC"
        );
        let m = ask(internet, name, RecordType::A, Transport::Udp).await;
        assert_eq!(
            addresses(&m),
            ips(&["52.94.133.10"]),
            "{name} on the internet"
        );
    }
    // Another Region's names are not shadowed (reference §1.1, last row).
    let other = ask(
        vpc,
        "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
        RecordType::A,
        Transport::Udp,
    )
    .await;
    assert_eq!(
        other.metadata.response_code,
        ResponseCode::Refused,
        "outside every view and no upstream"
    );
}

#[tokio::test]
async fn private_dns_is_ignored_without_both_dns_attributes() {
    let r = start(&topology(false, "alias", ENDPOINT)).await;
    let (_, vpc) = views(&r);
    let m = ask(vpc, API, RecordType::A, Transport::Udp).await;
    assert_eq!(
        addresses(&m),
        ips(&["52.94.133.10"]),
        "dns_hostnames off: public answer"
    );

    let mut t = topology(true, "alias", ENDPOINT);
    t.vpcs[0].dns_support = false;
    let r = start(&t).await;
    let (_, vpc) = views(&r);
    let m = ask(vpc, API, RecordType::A, Transport::Udp).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::Refused,
        "dns_support off: the resolver does not answer"
    );
}

#[tokio::test]
async fn precedence_rules_over_private_zones_over_endpoint_zones() {
    // A stub upstream for the rule: another resolver whose internet view answers the name.
    let upstream_t = topology(false, "alias", "").clone();
    let mut upstream_t = upstream_t;
    upstream_t.front_doors.regional[0].value = "198.51.100.77".parse().expect("addr");
    let upstream = start(&upstream_t).await;
    let up = upstream.addr_of("internet").expect("internet view");

    let zone = format!(
        r#"
hosted_zones:
  - name: a1b2c3d4e5.execute-api.us-east-1.amazonaws.com
    vpcs: [{VPC}]
    records:
      - {{ name: a1b2c3d4e5.execute-api.us-east-1.amazonaws.com, type: A, values: [10.0.9.9] }}
"#
    );
    let rule = format!(
        r#"
resolver_rules:
  - id: rslvr-rr-0001
    domain: execute-api.us-east-1.amazonaws.com
    vpcs: [{VPC}]
    targets: ["{up}"]
"#
    );
    // 1. Endpoint zone alone.
    let r = start(&topology(true, "alias", ENDPOINT)).await;
    assert_eq!(
        addresses(&ask(views(&r).1, API, RecordType::A, Transport::Udp).await),
        ips(&["10.0.1.17", "10.0.2.17"])
    );
    // 2. A private zone for the name beats the endpoint zone (the per-API zone fix, §2.6 #3).
    let r = start(&topology(true, "alias", &format!("{ENDPOINT}{zone}"))).await;
    assert_eq!(
        addresses(&ask(views(&r).1, API, RecordType::A, Transport::Udp).await),
        ips(&["10.0.9.9"])
    );
    // The endpoint zone still answers the APIs the private zone does not cover.
    let other = ask(
        views(&r).1,
        "p1r2i3v4a5.execute-api.us-east-1.amazonaws.com",
        RecordType::A,
        Transport::Udp,
    )
    .await;
    assert_eq!(addresses(&other), ips(&["10.0.1.17", "10.0.2.17"]));
    // 3. A forwarding rule beats both: the answer comes from the rule's target.
    let r = start(&topology(true, "alias", &format!("{ENDPOINT}{zone}{rule}"))).await;
    assert_eq!(
        addresses(&ask(views(&r).1, API, RecordType::A, Transport::Udp).await),
        ips(&["198.51.100.77"])
    );
    // A system rule for a narrower domain sends that name back to the Resolver's own answers.
    let system = format!(
        r#"{rule}  - {{ id: rslvr-rr-0002, domain: {API}, kind: system, vpcs: [{VPC}] }}
"#
    );
    let r = start(&topology(
        true,
        "alias",
        &format!("{ENDPOINT}{zone}{system}"),
    ))
    .await;
    assert_eq!(
        addresses(&ask(views(&r).1, API, RecordType::A, Transport::Udp).await),
        ips(&["10.0.9.9"])
    );
}

#[tokio::test]
async fn a_matching_private_zone_without_the_record_answers_nxdomain() {
    let zone = format!(
        r#"
hosted_zones:
  - name: example.com
    vpcs: [{VPC}]
    records:
      - {{ name: db.example.com, type: A, values: [10.0.7.7] }}
"#
    );
    let r = start(&topology(true, "alias", &zone)).await;
    let (internet, vpc) = views(&r);
    let m = ask(vpc, "api.example.com", RecordType::A, Transport::Udp).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NXDomain,
        "no fall back to public DNS"
    );
    let soa = m
        .authorities
        .iter()
        .find(|r| r.record_type() == RecordType::SOA)
        .expect("SOA in the authority section");
    assert_eq!(soa.name.to_ascii(), "example.com.");
    let m = ask(internet, "api.example.com", RecordType::A, Transport::Udp).await;
    assert_eq!(addresses(&m), ips(&["52.94.133.10"]));
    let m = ask(vpc, "db.example.com", RecordType::A, Transport::Udp).await;
    assert_eq!(addresses(&m), ips(&["10.0.7.7"]));
}

#[tokio::test]
async fn nodata_and_nxdomain_are_told_apart_with_soa() {
    let r = start(&topology(true, "alias", "")).await;
    let (internet, _) = views(&r);
    let nodata = ask(
        internet,
        "api.example.com",
        RecordType::AAAA,
        Transport::Udp,
    )
    .await;
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert!(
        nodata
            .authorities
            .iter()
            .any(|r| r.record_type() == RecordType::SOA)
    );
    let nx = ask(internet, "nope.example.com", RecordType::A, Transport::Udp).await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert!(
        nx.authorities
            .iter()
            .any(|r| r.record_type() == RecordType::SOA)
    );
    assert!(
        nx.metadata.authoritative,
        "the internet view is authoritative for modelled names"
    );
}

#[tokio::test]
async fn a_cname_published_domain_is_followed_into_the_shadowed_zone() {
    let r = start(&topology(true, "cname", ENDPOINT)).await;
    let (internet, vpc) = views(&r);
    let target = "d-abcde12345.execute-api.us-east-1.amazonaws.com";
    let m = ask(vpc, "api.example.com", RecordType::A, Transport::Udp).await;
    assert_eq!(cnames(&m), vec![target.to_owned()]);
    assert_eq!(
        addresses(&m),
        ips(&["10.0.1.17", "10.0.2.17"]),
        "the CNAME target is caught by the endpoint zone"
    );
    let m = ask(internet, "api.example.com", RecordType::A, Transport::Udp).await;
    assert_eq!(cnames(&m), vec![target.to_owned()]);
    assert_eq!(addresses(&m), ips(&["52.94.133.10"]));
    // Published as an alias, the domain is not shadowed (reference §2.5).
    let r = start(&topology(true, "alias", ENDPOINT)).await;
    let m = ask(
        views(&r).1,
        "api.example.com",
        RecordType::A,
        Transport::Udp,
    )
    .await;
    assert!(cnames(&m).is_empty());
    assert_eq!(addresses(&m), ips(&["52.94.133.10"]));
}

#[tokio::test]
async fn endpoint_specific_names_and_the_api_vpce_alias() {
    let mut t = topology(true, "alias", ENDPOINT);
    t.endpoints[0].private_dns = false;
    t.apis[1].vpc_endpoints.push(parallax_model::At::bare(
        "vpce-0123456789abcdef0".parse().expect("id"),
    ));
    let r = start(&t).await;
    let (internet, vpc) = views(&r);
    for server in [internet, vpc] {
        let m = ask(
            server,
            "vpce-0123456789abcdef0-1a2b3c4d.execute-api.us-east-1.vpce.amazonaws.com",
            RecordType::A,
            Transport::Udp,
        )
        .await;
        assert_eq!(addresses(&m), ips(&["10.0.1.17", "10.0.2.17"]));
        let m = ask(
            server,
            "vpce-0123456789abcdef0-1a2b3c4d-us-east-1b.execute-api.us-east-1.vpce.amazonaws.com",
            RecordType::A,
            Transport::Udp,
        )
        .await;
        assert_eq!(
            addresses(&m),
            ips(&["10.0.2.17"]),
            "zonal name: that AZ's ENI only"
        );
        let m = ask(
            server,
            "p1r2i3v4a5-vpce-0123456789abcdef0.execute-api.us-east-1.amazonaws.com",
            RecordType::A,
            Transport::Udp,
        )
        .await;
        assert_eq!(addresses(&m), ips(&["10.0.1.17", "10.0.2.17"]));
    }
    // With private DNS off the default name of the public API resolves publicly again.
    assert_eq!(
        addresses(&ask(vpc, API, RecordType::A, Transport::Udp).await),
        ips(&["52.94.133.10"])
    );
    // An alias for an API that does not list the endpoint does not exist.
    let m = ask(
        internet,
        "a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.us-east-1.amazonaws.com",
        RecordType::A,
        Transport::Udp,
    )
    .await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

// Blocking `dig` runs beside the server: a second worker keeps the server answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_udp_answers_are_complete_over_tcp() {
    let many: Vec<String> = (1..=60).map(|i| format!("10.0.8.{i}")).collect();
    let zone = format!(
        "hosted_zones:\n  - name: big.internal\n    vpcs: [{VPC}]\n    records:\n      - {{ name: many.big.internal, type: A, values: [{}] }}\n",
        many.join(", ")
    );
    let r = start(&topology(true, "alias", &zone)).await;
    let (_, vpc) = views(&r);
    let udp = ask(vpc, "many.big.internal", RecordType::A, Transport::Udp).await;
    assert!(udp.metadata.truncation, "60 A records do not fit 512 bytes");
    assert!(udp.answers.len() < 60);
    let tcp = ask(vpc, "many.big.internal", RecordType::A, Transport::Tcp).await;
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers.len(), 60);
    // Real dig retries over TCP by itself and prints the full answer.
    if let Some(dig) = interop::require("dig", "the Debian package bind9-dnsutils") {
        let out = Command::new(dig)
            .args([
                "@127.0.0.1",
                "-p",
                &vpc.port().to_string(),
                "many.big.internal",
                "+noedns",
                "+short",
                "+time=2",
                "+tries=1",
            ])
            .output()
            .expect("dig runs");
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 60);
    }
}

#[tokio::test]
async fn malformed_queries_get_formerr() {
    let r = start(&topology(true, "alias", "")).await;
    let (internet, _) = views(&r);
    // A header that promises one question, then a label running past the end of the packet.
    let mut bad = vec![
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    bad.extend_from_slice(&[0x3f, b'a', b'b']);
    let reply = udp_raw(internet, &bad)
        .await
        .expect("a FORMERR reply, not silence");
    assert_eq!(&reply[..2], &[0x12, 0x34], "the reply carries the query id");
    assert_eq!(reply[3] & 0x0f, 1, "rcode FORMERR");
    let reply = tcp_raw(internet, &bad)
        .await
        .expect("a FORMERR reply over TCP too");
    assert_eq!(
        (&reply[..2], reply[2] & 0x80, reply[3] & 0x0f),
        (&[0x12u8, 0x34][..], 0x80, 1)
    );
    // Two questions in one query: also FORMERR (RFC 9619).
    let mut two = query_bytes(API, RecordType::A, false);
    two[5] = 2;
    let q = two[12..].to_vec();
    two.extend_from_slice(&q);
    let reply = tcp_raw(internet, &two).await.expect("reply");
    assert_eq!(reply[3] & 0x0f, 1);
    // Issue 26: a COOKIE option of a length RFC 7873 §5.2.2 calls malformed (under 8 bytes,
    // 9 to 15, over 40) is FORMERR; a client cookie alone (8) or with a server cookie (16 to
    // 40) is answered.
    let with_cookie = |len: usize| {
        let mut q = query_bytes(API, RecordType::A, false);
        q[11] = 1; // ARCOUNT: the OPT record
        let mut rdata = vec![0x00, 0x0a];
        rdata.extend_from_slice(&u16::try_from(len).expect("short").to_be_bytes());
        rdata.extend(std::iter::repeat_n(0x5a, len));
        q.extend_from_slice(&[0x00, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0]);
        q.extend_from_slice(&u16::try_from(rdata.len()).expect("short").to_be_bytes());
        q.extend_from_slice(&rdata);
        q
    };
    for (len, rcode) in [
        (0, 1),
        (7, 1),
        (8, 0),
        (9, 1),
        (15, 1),
        (16, 0),
        (40, 0),
        (41, 1),
    ] {
        let reply = udp_raw(internet, &with_cookie(len)).await.expect("reply");
        assert_eq!(reply[3] & 0x0f, rcode, "a COOKIE of {len} bytes");
    }
    // Shorter than a header: dropped, and the server keeps answering.
    assert!(udp_raw(internet, &[1, 2, 3]).await.is_none());
    assert_eq!(
        addresses(&ask(internet, API, RecordType::A, Transport::Udp).await),
        ips(&["52.94.133.10"])
    );
}

#[tokio::test]
async fn no_open_recursion_unless_an_upstream_is_configured() {
    let t = topology(true, "alias", "");
    let r = start(&t).await;
    let (internet, vpc) = views(&r);
    for server in [internet, vpc] {
        let m = ask(server, "www.wikipedia.org", RecordType::A, Transport::Udp).await;
        assert_eq!(m.metadata.response_code, ResponseCode::Refused);
        assert!(m.answers.is_empty());
    }
    // With an upstream (here another parallax resolver on loopback), such names are forwarded.
    let mut up_t = topology(true, "alias", "");
    up_t.custom_domains[0].name.value = "www.wikipedia.org".parse().expect("name");
    let upstream = start(&up_t).await;
    let config = ResolverConfig {
        upstream: upstream.addr_of("internet"),
        ..Default::default()
    };
    let r = Resolver::start(&t, config).await.expect("starts");
    let m = ask(
        r.addr_of(VPC).expect("vpc"),
        "www.wikipedia.org",
        RecordType::A,
        Transport::Udp,
    )
    .await;
    assert_eq!(addresses(&m), ips(&["52.94.133.10"]));
}

#[tokio::test]
async fn clients_over_the_rate_limit_are_refused() {
    let config = ResolverConfig {
        rate_limit: RateLimit {
            rate: 0.5,
            burst: 3.0,
        },
        ..Default::default()
    };
    let r = Resolver::start(&topology(true, "alias", ""), config)
        .await
        .expect("starts");
    let (internet, _) = views(&r);
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(
            ask(internet, API, RecordType::A, Transport::Udp)
                .await
                .metadata
                .response_code,
        );
    }
    assert_eq!(&codes[..3], &[ResponseCode::NoError; 3]);
    assert_eq!(codes[4], ResponseCode::Refused);
}

#[tokio::test]
async fn views_are_swapped_live() {
    let r = start(&topology(true, "alias", "")).await;
    let (_, vpc) = views(&r);
    assert_eq!(
        addresses(&ask(vpc, API, RecordType::A, Transport::Udp).await),
        ips(&["52.94.133.10"])
    );
    r.update(&topology(true, "alias", ENDPOINT));
    assert_eq!(
        addresses(&ask(vpc, API, RecordType::A, Transport::Tcp).await),
        ips(&["10.0.1.17", "10.0.2.17"])
    );
}

/// A repeated UDP question is answered from the loop's kept reply: the same answer under each
/// query's own id (RFC 1035 §4.1.1: the id is copied into the reply), and after a topology
/// change the new answer, never the kept one.
#[tokio::test]
async fn repeated_udp_questions_keep_their_ids_and_follow_updates() {
    let r = start(&topology(true, "alias", "")).await;
    let (_, vpc) = views(&r);
    let with_id = |id: u16| {
        let mut q = query_bytes(API, RecordType::A, false);
        q[..2].copy_from_slice(&id.to_be_bytes());
        q
    };
    let decode = |b: Vec<u8>| hickory_proto::op::Message::from_vec(&b).expect("decodes");
    // More asks than loops, so every loop has kept the reply before the last ones.
    for id in 1..=20u16 {
        let m = decode(udp_raw(vpc, &with_id(id)).await.expect("an answer"));
        assert_eq!(m.metadata.id, id);
        assert_eq!(addresses(&m), ips(&["52.94.133.10"]));
    }
    r.update(&topology(true, "alias", ENDPOINT));
    for id in 100..120u16 {
        let m = decode(udp_raw(vpc, &with_id(id)).await.expect("an answer"));
        assert_eq!(m.metadata.id, id);
        assert_eq!(
            addresses(&m),
            ips(&["10.0.1.17", "10.0.2.17"]),
            "the endpoint's answer, not the kept one"
        );
    }
}

/// Many clients each sending several queries at once, over IPv4 and IPv6: the loops take
/// several datagrams per receive and give several replies per send, and every reply must still
/// reach the client that asked, with its id, answering its question (a reply sent to the wrong
/// peer, or a kept reply without its id patched, would show here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_many_clients_gets_each_its_own_answers() {
    let t = topology(true, "alias", "");
    let config = ResolverConfig {
        listen: vec![
            ("internet".to_owned(), "127.0.0.1:0".parse().expect("v4")),
            (VPC.to_owned(), "[::1]:0".parse().expect("v6")),
        ],
        ..Default::default()
    };
    let r = Resolver::start(&t, config).await.expect("resolver starts");
    let questions = [
        (API, RecordType::A),
        (API, RecordType::AAAA),
        ("api.example.com", RecordType::A),
        ("nothing.example.invalid", RecordType::A),
    ];
    let decode = |b: &[u8]| hickory_proto::op::Message::from_vec(b).expect("decodes");
    for server in [r.addr_of("internet"), r.addr_of(VPC)].map(|a| a.expect("listening")) {
        // What each question gets when asked alone.
        let mut alone = Vec::new();
        for (name, rtype) in questions {
            let m = ask(server, name, rtype, Transport::Udp).await;
            alone.push((m.metadata.response_code, addresses(&m)));
        }
        let local: SocketAddr = if server.is_ipv4() {
            "127.0.0.1:0".parse().expect("v4")
        } else {
            "[::1]:0".parse().expect("v6")
        };
        let mut clients = Vec::new();
        for c in 0..24u16 {
            let sock = tokio::net::UdpSocket::bind(local).await.expect("binds");
            // Every question, twice (the second time from the loops' kept replies), with ids
            // of this client's own.
            for k in 0..(2 * questions.len() as u16) {
                let (name, rtype) = questions[usize::from(k) % questions.len()];
                let mut q = query_bytes(name, rtype, false);
                q[..2].copy_from_slice(&(c * 100 + k).to_be_bytes());
                sock.send_to(&q, server).await.expect("sends");
            }
            clients.push(sock);
        }
        for (c, sock) in clients.iter().enumerate() {
            let mut seen = Vec::new();
            let mut buf = vec![0u8; 65_535];
            for _ in 0..2 * questions.len() {
                let (n, from) = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    sock.recv_from(&mut buf),
                )
                .await
                .unwrap_or_else(|_| panic!("client {c} of {server}: a reply missing"))
                .expect("receives");
                assert_eq!(from, server);
                let m = decode(&buf[..n]);
                let id = m.metadata.id;
                assert_eq!(
                    usize::from(id) / 100,
                    c,
                    "client {c} got another client's reply"
                );
                let k = usize::from(id % 100);
                let (name, rtype) = questions[k % questions.len()];
                let q = &m.queries[0];
                assert_eq!(q.name().to_ascii().trim_end_matches('.'), name);
                assert_eq!(q.query_type(), rtype);
                assert_eq!(
                    (m.metadata.response_code, addresses(&m)),
                    alone[k % questions.len()],
                    "{name} {rtype} in a burst"
                );
                seen.push(id);
            }
            seen.sort_unstable();
            let c = c as u16;
            assert_eq!(seen, (0..8).map(|k| c * 100 + k).collect::<Vec<_>>());
        }
    }
}

/// A second resolver asking for a port in use is refused (the loops of the first share one
/// socket; SO_REUSEPORT twins were tried and measured worse, see BENCHMARKS.md).
#[tokio::test]
async fn a_port_in_use_is_refused_despite_reuse_port() {
    let r = start(&topology(true, "alias", "")).await;
    let (internet, _) = views(&r);
    let config = ResolverConfig {
        listen: vec![("internet".to_owned(), internet)],
        ..Default::default()
    };
    let err = Resolver::start(&topology(true, "alias", ""), config)
        .await
        .expect_err("the port is taken");
    assert!(err.to_string().contains(&internet.to_string()), "{err}");
    // And the first still answers.
    for _ in 0..8 {
        assert_eq!(
            addresses(&ask(internet, API, RecordType::A, Transport::Udp).await),
            ips(&["52.94.133.10"])
        );
    }
}

#[tokio::test]
async fn listening_on_an_unknown_view_names_the_known_ones() {
    let config = ResolverConfig {
        listen: vec![("vpc-nope".to_owned(), "127.0.0.1:0".parse().expect("addr"))],
        ..Default::default()
    };
    let err = Resolver::start(&topology(true, "alias", ""), config)
        .await
        .expect_err("unknown view");
    assert_eq!(
        err.to_string(),
        format!("no view named `vpc-nope` (views: internet, {VPC})")
    );
}

#[tokio::test]
async fn cname_and_alias_loops_end_in_servfail() {
    let zone = format!(
        r#"
hosted_zones:
  - name: loop.internal
    vpcs: [{VPC}]
    records:
      - {{ name: self.loop.internal, type: ALIAS, values: [self.loop.internal] }}
      - {{ name: a.loop.internal, type: ALIAS, values: [b.loop.internal] }}
      - {{ name: b.loop.internal, type: ALIAS, values: [a.loop.internal] }}
      - {{ name: c.loop.internal, type: CNAME, values: [d.loop.internal] }}
      - {{ name: d.loop.internal, type: CNAME, values: [c.loop.internal] }}
"#
    );
    let r = start(&topology(true, "alias", &zone)).await;
    let (_, vpc) = views(&r);
    for name in ["self.loop.internal", "a.loop.internal", "c.loop.internal"] {
        let m = ask(vpc, name, RecordType::A, Transport::Tcp).await;
        assert_eq!(m.metadata.response_code, ResponseCode::ServFail, "{name}");
    }
}

#[tokio::test]
async fn tcp_connections_over_the_cap_wait_for_a_free_slot() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = ResolverConfig {
        max_tcp_connections: 2,
        ..Default::default()
    };
    let r = Resolver::start(&topology(true, "alias", ""), config)
        .await
        .expect("starts");
    let (internet, _) = views(&r);
    // Two connections that each get one answer (so the server has surely accepted both) and
    // then stay open without a word: they hold both slots.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(internet)
            .await
            .expect("connect");
        tcp_exchange(&mut s).await;
        held.push(s);
    }
    let (idle1, idle2) = (held.remove(0), held.remove(0));

    let mut third = tokio::net::TcpStream::connect(internet)
        .await
        .expect("the kernel backlog accepts it");
    let q = query_bytes(API, RecordType::A, false);
    third
        .write_all(&u16::try_from(q.len()).expect("len").to_be_bytes())
        .await
        .expect("write");
    third.write_all(&q).await.expect("write");
    let mut len = [0u8; 2];
    let early = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        third.read_exact(&mut len),
    )
    .await;
    assert!(
        early.is_err(),
        "a third connection is not served while two are open"
    );

    drop(idle1);
    let late = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        third.read_exact(&mut len),
    )
    .await;
    assert!(matches!(late, Ok(Ok(_))), "served once a slot is free");
    drop(idle2);
    r.shutdown().await;
}

#[tokio::test]
async fn several_queries_share_one_tcp_connection() {
    let r = start(&topology(true, "alias", "")).await;
    let (internet, _) = views(&r);
    let mut s = tokio::net::TcpStream::connect(internet)
        .await
        .expect("connect");
    for _ in 0..3 {
        let m = tcp_exchange(&mut s).await;
        assert_eq!(addresses(&m), ips(&["52.94.133.10"]));
    }
}

/// One A query for the API's name over an open TCP connection, and its answer (at most 3 s).
async fn tcp_exchange(s: &mut tokio::net::TcpStream) -> hickory_proto::op::Message {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let q = query_bytes(API, RecordType::A, false);
    s.write_all(&u16::try_from(q.len()).expect("len").to_be_bytes())
        .await
        .expect("write");
    s.write_all(&q).await.expect("write");
    let mut len = [0u8; 2];
    tokio::time::timeout(std::time::Duration::from_secs(3), s.read_exact(&mut len))
        .await
        .expect("answered in time")
        .expect("answered");
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut buf).await.expect("the answer");
    hickory_proto::op::Message::from_vec(&buf).expect("decodes")
}

#[tokio::test]
async fn ipv6_front_door_addresses_are_served_as_aaaa() {
    let mut t = topology(true, "alias", "");
    t.front_doors.regional.push(parallax_model::At::bare(
        "2600:1f18:4000::10".parse().expect("v6"),
    ));
    let r = start(&t).await;
    let (internet, vpc) = views(&r);
    for server in [internet, vpc] {
        let m = ask(server, API, RecordType::AAAA, Transport::Udp).await;
        assert_eq!(addresses(&m), ips(&["2600:1f18:4000::10"]));
        let m = ask(server, "api.example.com", RecordType::AAAA, Transport::Udp).await;
        assert_eq!(
            addresses(&m),
            ips(&["2600:1f18:4000::10"]),
            "the alias-published domain too"
        );
        let m = ask(server, API, RecordType::A, Transport::Udp).await;
        assert_eq!(addresses(&m), ips(&["52.94.133.10"]));
    }
}

/// Random datagrams (a fixed seed, so a failure reproduces) neither crash the resolver nor stop
/// it answering.
#[tokio::test]
async fn random_datagrams_do_not_stop_the_resolver() {
    let r = start(&topology(true, "alias", ENDPOINT)).await;
    let (internet, vpc) = views(&r);
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let valid = query_bytes(API, RecordType::A, true);
    for i in 0..2000 {
        let mut packet = if i % 2 == 0 {
            valid.clone()
        } else {
            vec![0u8; (next() % 600) as usize]
        };
        // Flip bytes of a valid query, or fill random garbage.
        for _ in 0..(next() % 8 + 1) {
            if !packet.is_empty() {
                let at = (next() as usize) % packet.len();
                packet[at] = next() as u8;
            }
        }
        let target = if i % 3 == 0 { vpc } else { internet };
        sock.send_to(&packet, target).await.expect("send");
    }
    // Both views still answer.
    assert_eq!(
        addresses(&ask(internet, API, RecordType::A, Transport::Udp).await),
        ips(&["52.94.133.10"])
    );
    assert_eq!(
        addresses(&ask(vpc, API, RecordType::A, Transport::Tcp).await),
        ips(&["10.0.1.17", "10.0.2.17"])
    );
}

/// Route 53 wildcard records in a private zone, as the centralised-endpoint pattern uses them:
/// a spoke VPC without an endpoint, associated with a zone for the execute-api name whose
/// `*` record points at the hub's endpoint ENIs. Route 53 Developer Guide, "DNS domain name
/// format" (asterisk): `*.example.com` matches names with one or more labels in place of `*`,
/// and a record of the exact name wins. The same page applies to private zones.
#[tokio::test]
async fn a_wildcard_in_a_private_zone_answers_the_spoke() {
    let zone = format!(
        r#"
hosted_zones:
  - name: execute-api.us-east-1.amazonaws.com
    vpcs: [{VPC}]
    records:
      - {{ name: "*.execute-api.us-east-1.amazonaws.com", type: A, values: [10.1.1.17, 10.1.2.17] }}
      - {{ name: exact0api.execute-api.us-east-1.amazonaws.com, type: A, values: [10.1.9.9] }}
"#
    );
    let r = start(&topology(true, "alias", &zone)).await;
    let (internet, vpc) = views(&r);
    // Any API id of the Region: the wildcard, the hub's ENIs.
    for name in [API, "zzzzzzzzzz.execute-api.us-east-1.amazonaws.com"] {
        let m = ask(vpc, name, RecordType::A, Transport::Udp).await;
        assert_eq!(addresses(&m), ips(&["10.1.1.17", "10.1.2.17"]), "{name}");
    }
    // One or more labels in place of `*`.
    let deep = ask(
        vpc,
        "a.b.execute-api.us-east-1.amazonaws.com",
        RecordType::A,
        Transport::Udp,
    )
    .await;
    assert_eq!(addresses(&deep), ips(&["10.1.1.17", "10.1.2.17"]));
    // The exact record wins over the wildcard.
    let exact = ask(
        vpc,
        "exact0api.execute-api.us-east-1.amazonaws.com",
        RecordType::A,
        Transport::Udp,
    )
    .await;
    assert_eq!(addresses(&exact), ips(&["10.1.9.9"]));
    // The internet is not associated with the zone: the public front door.
    let public = ask(internet, API, RecordType::A, Transport::Udp).await;
    assert_eq!(addresses(&public), ips(&["52.94.133.10"]));
}

/// A private zone for the Region's execute-api name that holds some APIs only: the others get
/// NXDOMAIN, never the public answer. Route 53 Developer Guide, "Considerations when working
/// with a private hosted zone": with a matching private zone and no matching record, "Resolver
/// doesn't forward the request to a public DNS resolver. Instead, it returns NXDOMAIN".
#[tokio::test]
async fn a_private_execute_api_zone_never_falls_back_to_public_answers() {
    let zone = format!(
        r#"
hosted_zones:
  - name: execute-api.us-east-1.amazonaws.com
    vpcs: [{VPC}]
    records:
      - {{ name: p1r2i3v4a5.execute-api.us-east-1.amazonaws.com, type: A, values: [10.1.1.17] }}
"#
    );
    let r = start(&topology(true, "alias", &zone)).await;
    let (_, vpc) = views(&r);
    let m = ask(vpc, API, RecordType::A, Transport::Udp).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(addresses(&m).is_empty());
}

/// The customer's and the endpoint's zones compete by specificity (the same page's
/// "overlapping namespaces"): a broad customer zone does not hide the endpoint's
/// execute-api zone, and still answers its own names.
#[tokio::test]
async fn the_most_specific_private_zone_answers_customer_or_endpoint() {
    let zone = format!(
        r#"
hosted_zones:
  - name: us-east-1.amazonaws.com
    vpcs: [{VPC}]
    records:
      - {{ name: internal.us-east-1.amazonaws.com, type: A, values: [10.0.5.5] }}
"#
    );
    let r = start(&topology(true, "alias", &format!("{ENDPOINT}{zone}"))).await;
    let (_, vpc) = views(&r);
    let api = ask(vpc, API, RecordType::A, Transport::Udp).await;
    assert_eq!(addresses(&api), ips(&["10.0.1.17", "10.0.2.17"]));
    let own = ask(
        vpc,
        "internal.us-east-1.amazonaws.com",
        RecordType::A,
        Transport::Udp,
    )
    .await;
    assert_eq!(addresses(&own), ips(&["10.0.5.5"]));
}

/// A hub VPC with the execute-api endpoint, a spoke associated with a Route 53 Profile that
/// carries the endpoint, and a third VPC without the profile; `extra` adds zones or profiles.
fn hub_and_spoke(profile: &str, extra: &str) -> Topology {
    let yaml = format!(
        r#"
region: us-east-1
front_doors: {{ regional: [52.94.133.10] }}
vpcs:
  - {{ id: vpc-0aaa1111bbbb2222c, cidr: 10.0.0.0/16, dns_support: true, dns_hostnames: true }}
  - {{ id: vpc-0ddd3333eeee4444f, cidr: 10.1.0.0/16, dns_support: true, dns_hostnames: true }}
  - {{ id: vpc-0fff5555aaaa6666b, cidr: 10.2.0.0/16, dns_support: true, dns_hostnames: true }}
endpoints:
  - id: vpce-0123456789abcdef0
    vpc: vpc-0aaa1111bbbb2222c
    service: execute-api
    private_dns: true
    subnets:
      - {{ id: subnet-0aaa1111bbbb22223, az: us-east-1a, address: 10.0.1.17 }}
apis:
  - {{ id: a1b2c3d4e5, name: public, endpoint_type: REGIONAL, stages: [prod] }}
profiles:
{profile}
{extra}
"#
    );
    Topology::from_yaml(&yaml, "<test>").unwrap_or_else(|e| panic!("{e}"))
}

/// Route 53 Profiles carry interface endpoints' private DNS to the VPCs the profile is
/// associated with (Route 53 Developer Guide, "Associate interface VPC endpoints to a Route 53
/// Profile"; AWS's networking blog "Streamlining multi-VPC DNS management with Amazon Route 53
/// Profiles and interface VPC endpoint integration"): the spoke answers every API id of the
/// Region with the hub endpoint's address, as the hub does; a VPC without the profile does not.
#[tokio::test]
async fn a_profile_carries_an_endpoints_private_dns_to_its_vpcs() {
    let t = hub_and_spoke(
        "  - { id: rp-4b5c6d7e8f9a0b1c2, vpcs: [vpc-0ddd3333eeee4444f], endpoints: [vpce-0123456789abcdef0] }",
        "",
    );
    let r = start(&t).await;
    for (vpc, want) in [
        ("vpc-0aaa1111bbbb2222c", "10.0.1.17"),
        ("vpc-0ddd3333eeee4444f", "10.0.1.17"),
        ("vpc-0fff5555aaaa6666b", "52.94.133.10"),
    ] {
        let at = r.addr_of(vpc).expect("view");
        for name in [API, "zzzzzzzzzz.execute-api.us-east-1.amazonaws.com"] {
            let m = ask(at, name, RecordType::A, Transport::Udp).await;
            assert_eq!(addresses(&m), ips(&[want]), "{name} from {vpc}");
        }
    }
}

/// A private zone associated with no VPC but carried by a profile answers in the profile's VPCs
/// as an associated zone would (Route 53 Developer Guide, "What are Amazon Route 53 Profiles?":
/// a profile applies its private hosted zones to every VPC it is associated with), wildcard and
/// no public fall-back included.
#[tokio::test]
async fn a_profiles_zone_answers_in_the_profiles_vpcs() {
    let t = hub_and_spoke(
        "  - { id: rp-4b5c6d7e8f9a0b1c2, vpcs: [vpc-0fff5555aaaa6666b], hosted_zones: [execute-api.us-east-1.amazonaws.com] }",
        r#"hosted_zones:
  - name: execute-api.us-east-1.amazonaws.com
    records:
      - { name: "*.execute-api.us-east-1.amazonaws.com", type: A, values: [10.0.1.17] }
"#,
    );
    let r = start(&t).await;
    let spoke = r.addr_of("vpc-0fff5555aaaa6666b").expect("view");
    let m = ask(spoke, API, RecordType::A, Transport::Udp).await;
    assert_eq!(addresses(&m), ips(&["10.0.1.17"]));
    // The VPC without the profile and without an endpoint: the public answer.
    let other = r.addr_of("vpc-0ddd3333eeee4444f").expect("view");
    let m = ask(other, API, RecordType::A, Transport::Udp).await;
    assert_eq!(addresses(&m), ips(&["52.94.133.10"]));
}

/// A VPC with the execute-api endpoint (private DNS on), a Resolver inbound endpoint in it, an
/// outbound rule to the data centre's DNS, and the data centre, whose DNS holds corp.example and
/// forwards `forward` to the inbound endpoint.
fn hybrid(forward: &str) -> Topology {
    let yaml = format!(
        r#"
region: us-east-1
front_doors: {{ regional: [52.94.133.10] }}
vpcs:
  - {{ id: {VPC}, cidr: 10.0.0.0/16, dns_support: true, dns_hostnames: true }}
endpoints:
  - id: vpce-0123456789abcdef0
    vpc: {VPC}
    service: execute-api
    private_dns: true
    subnets:
      - {{ id: subnet-0aaa1111bbbb22223, az: us-east-1a, address: 10.0.1.17 }}
inbound_endpoints:
  - {{ id: rslvr-in-0a1b2c3d4e5f60718, vpc: {VPC}, addresses: [10.0.1.53] }}
resolver_rules:
  - {{ id: rslvr-rr-1, domain: corp.example, vpcs: [{VPC}], targets: [192.168.0.2] }}
apis:
  - {{ id: a1b2c3d4e5, name: public, endpoint_type: REGIONAL, stages: [prod] }}
onprem:
  - name: datacenter
    dns: 192.168.0.2
    zones:
      - name: corp.example
        records:
          - {{ name: git.corp.example, type: A, values: [192.168.10.5] }}
      - name: pinned.execute-api.us-east-1.amazonaws.com
        records:
          - {{ name: pinned.execute-api.us-east-1.amazonaws.com, type: A, values: [192.168.10.9] }}
    forwards:
      - {{ domain: {forward}, to: rslvr-in-0a1b2c3d4e5f60718 }}
"#
    );
    Topology::from_yaml(&yaml, "<test>").unwrap_or_else(|e| panic!("{e}"))
}

/// Route 53 Developer Guide, "Resolving DNS queries between VPCs and your network": DNS
/// resolvers on your network forward queries to an inbound endpoint, and Resolver answers them as
/// it answers the VPC, private hosted zones and endpoints' private DNS included; an outbound
/// endpoint with a forwarding rule sends the VPC's queries for a domain to your network's DNS.
#[tokio::test]
async fn on_prem_forwards_to_the_inbound_endpoint_and_the_vpc_forwards_back() {
    let r = start(&hybrid("execute-api.us-east-1.amazonaws.com")).await;
    let office = r.addr_of("onprem:datacenter").expect("on-prem view");
    let vpc = r.addr_of(VPC).expect("vpc view");
    // Forwarded to the inbound endpoint: the VPC's answer, the endpoint's private DNS.
    let m = ask(office, API, RecordType::A, Transport::Udp).await;
    assert_eq!(addresses(&m), ips(&["10.0.1.17"]));
    // A zone of the on-prem DNS more specific than the forwarder answers itself.
    let m = ask(
        office,
        "pinned.execute-api.us-east-1.amazonaws.com",
        RecordType::A,
        Transport::Udp,
    )
    .await;
    assert_eq!(addresses(&m), ips(&["192.168.10.9"]));
    // The data centre's own zone, from the office and, through the outbound rule, from the VPC.
    for (from, transport) in [(office, Transport::Udp), (vpc, Transport::Tcp)] {
        let m = ask(from, "git.corp.example", RecordType::A, transport).await;
        assert_eq!(addresses(&m), ips(&["192.168.10.5"]), "from {from}");
    }
    // Names outside the forwarder: public answers.
    let r2 = start(&hybrid("p1r2i3v4a5.execute-api.us-east-1.amazonaws.com")).await;
    let office = r2.addr_of("onprem:datacenter").expect("on-prem view");
    let m = ask(office, API, RecordType::A, Transport::Udp).await;
    assert_eq!(addresses(&m), ips(&["52.94.133.10"]));
}

/// Issue 26: arbitrary bytes, and valid queries with bytes replaced, over UDP and TCP: each
/// gets an answer (FORMERR for what parses as far as the header) or nothing, and the resolver
/// keeps answering a valid query after them all. A bounded number of cases.
#[test]
fn arbitrary_packets_never_stop_the_resolver() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let r = rt.block_on(start(&topology(true, "alias", "")));
    let (internet, _) = views(&r);
    let valid = query_bytes(API, RecordType::A, true);
    let strategy = (
        prop::collection::vec(any::<u8>(), 0..600),
        any::<usize>(),
        any::<u8>(),
        any::<bool>(),
    );
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(noise, at, byte, tcp)| {
            let mut mutated = valid.clone();
            let i = at % mutated.len();
            mutated[i] = byte;
            for packet in [&noise, &mutated] {
                rt.block_on(async {
                    // An answer or silence (dropped); waited for briefly.
                    let wait = std::time::Duration::from_millis(150);
                    if tcp {
                        let _ = tokio::time::timeout(wait, tcp_raw(internet, packet)).await;
                    } else {
                        let _ = tokio::time::timeout(wait, udp_raw(internet, packet)).await;
                    }
                });
            }
            Ok(())
        })
        .expect("no case failed");
    let still = rt.block_on(ask(internet, API, RecordType::A, Transport::Udp));
    assert_eq!(addresses(&still), ips(&["52.94.133.10"]));
    rt.block_on(r.shutdown());
}
