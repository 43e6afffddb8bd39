//! Integration tests of the model: the seed scenario, error messages that name file:line and
//! the field (snapshots), and properties of the name parsers and the address classifier.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use insta::assert_snapshot;
use parallax_model::naming::ExecuteApiName;
use parallax_model::{AddressClass, DnsVerdict, Scenario, classify};
use proptest::prelude::*;

fn error_of(yaml: &str) -> String {
    Scenario::from_yaml(yaml, "bad.yaml")
        .expect_err("the file is invalid")
        .to_string()
}

/// A valid scenario; each error test breaks one line of it.
const GOOD: &str = r#"name: t
topology:
  region: us-east-1
  front_doors: { regional: [52.94.133.10] }
  vpcs:
    - id: vpc-0a1b2c3d
      cidr: 10.0.0.0/16
      dns_hostnames: true
  endpoints:
    - id: vpce-0123456789abcdef0
      vpc: vpc-0a1b2c3d
      service: com.amazonaws.us-east-1.execute-api
      private_dns: true
      subnets:
        - { id: subnet-0a1b2c3d, az: us-east-1a, address: 10.0.1.17 }
  apis:
    - id: a1b2c3d4e5
      name: public
      endpoint_type: REGIONAL
      stages: [prod]
  custom_domains:
    - name: api.example.com
      endpoint_type: REGIONAL
      dns: alias
      mappings: [{ api: a1b2c3d4e5, stage: prod }]
  vantages:
    - { name: task, network: vpc-0a1b2c3d, address: 10.0.2.15 }
steps:
  - name: only
    requests:
      - { from: task, url: "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/test" }
"#;

fn broken(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "test fixture lacks {from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn the_fixture_and_the_seed_are_valid() {
    let s = Scenario::from_yaml(GOOD, "good.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.topology.endpoints[0].service.as_str(),
        "execute-api",
        "long service names are shortened"
    );
    let seed = Scenario::seed().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seed.steps.len(), 3);
    let added = seed.step_index("endpoint-added").expect("step");
    assert_eq!(seed.topology_at(added).expect("state").endpoints.len(), 1);
    assert_eq!(
        seed.topology_at(added + 1).expect("state").endpoints.len(),
        0,
        "rolled back"
    );
}

#[test]
fn unknown_field() {
    assert_snapshot!(error_of(&broken("      dns_hostnames: true", "      dns_hostnames: true\n      dns_hostname: true")), @"bad.yaml:9:7: dns_hostname: unknown field `dns_hostname`, expected one of id, cidr, dns_support, dns_hostnames, account");
}

#[test]
fn dangling_endpoint_vpc() {
    assert_snapshot!(error_of(&broken("      vpc: vpc-0a1b2c3d", "      vpc: vpc-0badbad0")), @"bad.yaml:11:12: topology.endpoints[0].vpc: unknown VPC `vpc-0badbad0` (known: vpc-0a1b2c3d)");
}

#[test]
fn dangling_mapping_api() {
    assert_snapshot!(error_of(&broken("[{ api: a1b2c3d4e5, stage: prod }]", "[{ api: zzzzzzzzzz, stage: prod }]")), @"bad.yaml:25:25: topology.custom_domains[0].mappings[0].api: unknown API `zzzzzzzzzz` (known: a1b2c3d4e5)");
}

#[test]
fn bad_cidr() {
    assert_snapshot!(error_of(&broken("cidr: 10.0.0.0/16", "cidr: 10.0.0.0/33")), @"bad.yaml:7:13: cidr: invalid IP address syntax");
}

#[test]
fn address_outside_its_vpc() {
    assert_snapshot!(error_of(&broken("address: 10.0.1.17", "address: 10.1.1.17")), @"bad.yaml:15:59: topology.endpoints[0].subnets[0].address: 10.1.1.17 is outside vpc-0a1b2c3d (10.0.0.0/16)");
}

#[test]
fn malformed_ids() {
    assert_snapshot!(error_of(&broken("- id: a1b2c3d4e5", "- id: A1B2C3D4E5")), @"bad.yaml:17:11: id: `A1B2C3D4E5` is not a valid ApiId: expected 10 lower-case letters or digits, e.g. a1b2c3d4e5");
    assert_snapshot!(error_of(&broken("- id: vpce-0123456789abcdef0", "- id: vpce-0123")), @"bad.yaml:10:11: id: `vpce-0123` is not a valid VpceId: expected `vpce-` and 8 or 17 lower-case hex digits");
    assert_snapshot!(error_of(&broken("region: us-east-1", "region: us-east-7")), @"bad.yaml:3:11: region: `us-east-7` is not a valid Region: expected us-east-1");
}

#[test]
fn duplicate_ids() {
    let dup = broken(
        "  apis:\n",
        "  apis:\n    - { id: a1b2c3d4e5, name: again, endpoint_type: EDGE, stages: [v1] }\n",
    );
    // The first definition wins, so the mapping to stage `prod` of the second one fails too.
    assert_snapshot!(error_of(&dup), @r"
    bad.yaml:18:11: topology.apis: `a1b2c3d4e5` is defined twice (first at line 17)
    bad.yaml:26:44: topology.custom_domains[0].mappings[0].stage: API a1b2c3d4e5 has no stage `prod`
    ");
}

#[test]
fn unknown_vantage_in_a_request() {
    assert_snapshot!(error_of(&broken("{ from: task,", "{ from: tsak,")), @"bad.yaml:31:17: steps[0].requests[0].from: unknown vantage point `tsak` (known: task)");
}

#[test]
fn a_change_that_cannot_apply_and_the_problems_it_makes() {
    let s = broken(
        "  - name: only\n",
        "  - name: only\n    changes:\n      - remove_endpoint: vpce-0000000000000000a\n      - add_endpoint: { id: vpce-0123456789abcdef1, vpc: vpc-0a1b2c3d, service: execute-api, private_dns: true, subnets: [{ id: subnet-0a1b2c3d, az: us-east-1a, address: 10.0.1.18 }] }\n",
    );
    assert_snapshot!(error_of(&s), @r"
    bad.yaml:31:9: steps[0].changes[0]: there is no endpoint `vpce-0000000000000000a` to change at this step
    bad.yaml:32:29: after step `only`: topology.endpoints[1].private_dns: vpce-0123456789abcdef0 already has private DNS for execute-api in vpc-0a1b2c3d; AWS rejects a second one (conflicting DNS domain)
    ");
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let s = broken("address: 10.0.1.17", "address: 10.1.1.17").replace(
        "network: vpc-0a1b2c3d, address: 10.0.2.15",
        "network: vpc-0a1b2c3d, address: 192.168.0.1",
    );
    let err = Scenario::from_yaml(&s, "bad.yaml").expect_err("invalid");
    assert_eq!(err.problems().len(), 2);
}

#[test]
fn syntax_errors_name_the_line() {
    let err = error_of("name: t\ntopology: [\n");
    assert!(err.starts_with("bad.yaml:"), "{err}");
}

proptest! {
    #[test]
    fn default_names_round_trip(id in "[a-z0-9]{10}", region in prop::sample::select(parallax_model::ids::KNOWN_REGIONS)) {
        let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
        let host = format!("{id}.execute-api.{region}.{suffix}");
        let parsed = ExecuteApiName::parse(&host).expect("parses");
        prop_assert_eq!(parsed.to_string(), host.clone());
        prop_assert_eq!(ExecuteApiName::parse(&host.to_ascii_uppercase()), Some(parsed));
    }

    #[test]
    fn vpce_names_round_trip(hex in "[0-9a-f]{17}|[0-9a-f]{8}", sfx in "[a-z0-9]{8}", az in proptest::option::of("[a-f]"), api in "[a-z0-9]{10}") {
        let az = az.map(|l| format!("us-west-2{l}"));
        let zonal = az.as_ref().map(|a| format!("-{a}")).unwrap_or_default();
        let host = format!("vpce-{hex}-{sfx}{zonal}.execute-api.us-west-2.vpce.amazonaws.com");
        let parsed = ExecuteApiName::parse(&host);
        prop_assert!(matches!(parsed, Some(ExecuteApiName::VpceEndpoint { .. })), "{host}");
        prop_assert_eq!(parsed.map(|p| p.to_string()), Some(host));
        let alias = format!("{api}-vpce-{hex}.execute-api.us-west-2.amazonaws.com");
        prop_assert_eq!(ExecuteApiName::parse(&alias).map(|p| p.to_string()), Some(alias));
    }

    #[test]
    fn parser_never_panics_and_only_accepts_what_it_can_rebuild(s in "[a-z0-9.-]{0,80}") {
        if let Some(n) = ExecuteApiName::parse(&s) {
            prop_assert_eq!(n.to_string(), s.trim_end_matches('.'));
        }
    }

    #[test]
    fn rfc1918_is_private(a in any::<u32>()) {
        let ten = Ipv4Addr::from((a & 0x00ff_ffff) | 0x0a00_0000);
        let one72 = Ipv4Addr::from((a & 0x000f_ffff) | 0xac10_0000);
        let one92 = Ipv4Addr::from((a & 0x0000_ffff) | 0xc0a8_0000);
        for ip in [ten, one72, one92] {
            prop_assert_eq!(classify(IpAddr::V4(ip)), AddressClass::Private);
        }
    }

    #[test]
    fn classification_agrees_with_std_and_v4_mapping(a in any::<u32>()) {
        let ip = Ipv4Addr::from(a);
        let c = classify(IpAddr::V4(ip));
        prop_assert_eq!(c, classify(IpAddr::V6(ip.to_ipv6_mapped())));
        prop_assert_eq!(ip.is_private(), c == AddressClass::Private);
        prop_assert_eq!(ip.is_loopback(), c == AddressClass::Loopback);
        if c == AddressClass::Public {
            prop_assert!(!ip.is_private() && !ip.is_loopback() && !ip.is_link_local() && !ip.is_multicast() && !ip.is_documentation());
        }
    }

    #[test]
    fn ipv6_ula_and_link_local(a in any::<u128>()) {
        let ula = Ipv6Addr::from((a & !(0xfe00u128 << 112)) | (0xfc00u128 << 112));
        prop_assume!(ula != parallax_model::address::VPC_RESOLVER_V6);
        prop_assert_eq!(classify(IpAddr::V6(ula)), AddressClass::UniqueLocal);
        let ll = Ipv6Addr::from((a & !(0xffc0u128 << 112)) | (0xfe80u128 << 112));
        prop_assert_eq!(classify(IpAddr::V6(ll)), AddressClass::LinkLocal);
    }
}

#[test]
fn verdict_of_the_incident_answer_is_private() {
    let d = parallax_model::DnsOutcome {
        rcode: parallax_model::Rcode::NoError,
        cname_chain: vec![],
        addresses: vec!["10.0.1.17".parse().expect("addr")],
        ttl: Some(60),
    };
    assert_eq!(d.verdict(), DnsVerdict::Private);
}

#[test]
fn errors_after_multibyte_text_do_not_split_characters() {
    let s = broken("name: public", "name: öffentlich—ä").replace(
        "endpoint_type: REGIONAL\n      stages",
        "endpoint_type: REGIONAL\n      stagés",
    );
    let err = error_of(&s);
    assert!(
        err.starts_with("bad.yaml:20:7: stagés: unknown field `stagés`"),
        "{err}"
    );
    let err = error_of("name: \"ääää\"\ntopology: { region: ü }\nsteps: []\n");
    assert!(err.starts_with("bad.yaml:2:"), "{err}");
}

proptest! {
    /// Whatever text is given, loading ends in a scenario or an error, never a panic.
    #[test]
    fn loading_arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = Scenario::from_yaml(&s, "fuzz.yaml");
    }

    /// Mutations of a valid file (a byte replaced) never panic either.
    #[test]
    fn loading_mutated_files_never_panics(at in 0usize..2000, with in "[\\[\\]{}:\\-#&*!|>'\"\\n a-z0-9.]") {
        let mut bytes = GOOD.as_bytes().to_vec();
        let i = at % bytes.len();
        bytes.splice(i..=i, with.bytes());
        if let Ok(text) = String::from_utf8(bytes) {
            let _ = Scenario::from_yaml(&text, "fuzz.yaml");
        }
    }
}

/// EC2 refuses private DNS on an interface endpoint when a private hosted zone of the same name
/// is associated with the VPC, with InvalidParameter and this text.
#[test]
fn private_dns_beside_a_private_zone_of_the_same_name_is_refused() {
    let s = broken(
        "  - name: only\n",
        "  - name: only\n    changes:\n      - add_hosted_zone: { name: execute-api.us-east-1.amazonaws.com, vpcs: [vpc-0a1b2c3d] }\n",
    );
    let text = error_of(&s);
    assert!(
        text.contains("private-dns-enabled cannot be set because there is already a conflicting DNS domain for execute-api.us-east-1.amazonaws.com in the VPC vpc-0a1b2c3d"),
        "{text}"
    );
}

/// A VPC can have only one Route 53 Profile (AssociateProfile, Route 53 API Reference), and a
/// profile names resources that exist.
#[test]
fn profiles_are_checked() {
    let two = broken(
        "  apis:\n",
        "  profiles:\n    - { id: rp-1a2b3c4d5e6f7a8b9, vpcs: [vpc-0a1b2c3d] }\n    - { id: rp-9f8e7d6c5b4a39281, vpcs: [vpc-0a1b2c3d] }\n  apis:\n",
    );
    let text = error_of(&two);
    assert!(
        text.contains("bad.yaml:18:42: topology.profiles[1].vpcs[0]: vpc-0a1b2c3d is already associated with the profile rp-1a2b3c4d5e6f7a8b9; a VPC can have only one Route 53 Profile"),
        "{text}"
    );
    let dangling = broken(
        "  apis:\n",
        "  profiles:\n    - id: rp-1a2b3c4d5e6f7a8b9\n      hosted_zones: [corp.example]\n      endpoints: [vpce-0123456789abcdef1]\n      resolver_rules: [rslvr-rr-1]\n  apis:\n",
    );
    let text = error_of(&dangling);
    for want in [
        "profiles[0].hosted_zones[0]: unknown hosted zone `corp.example`",
        "profiles[0].endpoints[0]: unknown endpoint `vpce-0123456789abcdef1` (known: vpce-0123456789abcdef0)",
        "profiles[0].resolver_rules[0]: unknown resolver rule `rslvr-rr-1`",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    let bad_id = broken(
        "  apis:\n",
        "  profiles:\n    - { id: profile-1 }\n  apis:\n",
    );
    assert!(error_of(&bad_id).contains("profiles[0].id: `profile-1` is not a Route 53 Profile id"));
}

/// Inbound endpoints sit in a VPC with addresses inside it; on-prem forwarders name an inbound
/// endpoint; a vantage point's on-prem network exists.
#[test]
fn on_prem_networks_and_inbound_endpoints_are_checked() {
    let s = broken(
        "  apis:\n",
        "  inbound_endpoints:\n    - { id: rslvr-in-1a2b3c, vpc: vpc-0a1b2c3d, addresses: [10.9.0.10] }\n  onprem:\n    - name: datacenter\n      dns: 192.168.0.2\n      forwards: [{ domain: execute-api.us-east-1.amazonaws.com, to: rslvr-in-nope }]\n  apis:\n",
    )
    .replacen(
        "    - { name: task, network: vpc-0a1b2c3d, address: 10.0.2.15 }\n",
        "    - { name: task, network: vpc-0a1b2c3d, address: 10.0.2.15 }\n    - { name: office, network: \"onprem:branch\" }\n",
        1,
    );
    let text = error_of(&s);
    for want in [
        "topology.inbound_endpoints[0].addresses[0]: 10.9.0.10 is outside vpc-0a1b2c3d (10.0.0.0/16)",
        "topology.onprem[0].forwards[0].to: unknown inbound endpoint `rslvr-in-nope` (known: rslvr-in-1a2b3c)",
        "topology.vantages[1].network: unknown on-prem network `branch` (known: datacenter)",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    let bad = broken(
        "network: vpc-0a1b2c3d, address",
        "network: \"onprem:\", address",
    );
    assert!(error_of(&bad).contains("`` is not an on-prem network name"));
}

/// A private custom domain name maps PRIVATE APIs only and names existing execute-api endpoints
/// in its access associations; public domains have neither associations nor a domain policy.
#[test]
fn private_custom_domains_are_checked() {
    let private = broken(
        "      endpoint_type: REGIONAL\n      dns: alias\n",
        "      endpoint_type: PRIVATE\n      access_associations: [vpce-0123456789abcdef9]\n      domain_name_id: \"a+b\"\n",
    );
    let text = error_of(&private);
    for want in [
        "custom_domains[0].access_associations[0]: unknown endpoint `vpce-0123456789abcdef9` (known: vpce-0123456789abcdef0)",
        "custom_domains[0].domain_name_id: a domain name id is letters and digits",
        "custom_domains[0].mappings[0].api: a1b2c3d4e5 is a REGIONAL API: a private custom domain name maps PRIVATE APIs only",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    let public = broken(
        "      dns: alias\n",
        "      dns: alias\n      access_associations: [vpce-0123456789abcdef0]\n",
    );
    assert!(error_of(&public).contains("access associations are for PRIVATE custom domain names"));
}

/// Security policies and endpoint access mode as "Security policies for REST APIs in API
/// Gateway" and "Choose a security policy for your custom domain" allow them.
#[test]
fn security_policies_are_checked() {
    let api = broken(
        "    - id: a1b2c3d4e5\n      name: public\n      endpoint_type: REGIONAL\n      stages: [prod]\n",
        "    - id: a1b2c3d4e5\n      name: public\n      endpoint_type: REGIONAL\n      stages: [prod]\n      security_policy: SecurityPolicy_TLS13_2025_EDGE\n",
    );
    let text = error_of(&api);
    for want in [
        "apis[0].endpoint_access_mode: the enhanced security policy SecurityPolicy_TLS13_2025_EDGE needs endpoint_access_mode: STRICT or BASIC",
        "apis[0].security_policy: SecurityPolicy_TLS13_2025_EDGE is not offered for REGIONAL endpoints",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    let mode_alone = broken(
        "      dns: alias\n",
        "      dns: alias\n      security_policy: TLS_1_2\n      endpoint_access_mode: STRICT\n",
    );
    assert!(error_of(&mode_alone).contains(
        "an endpoint access mode is set with an enhanced security policy (SecurityPolicy_…) only"
    ));
    let unknown = broken(
        "      dns: alias\n",
        "      dns: alias\n      security_policy: TLS_1_3\n",
    );
    assert!(
        error_of(&unknown).contains("security_policy"),
        "{}",
        error_of(&unknown)
    );
}

/// Authorizers: a CUSTOM or COGNITO_USER_POOLS method names one of its kind; Lambda tokens answer
/// with a policy or `unauthorized`; identity policies have no Principal.
#[test]
fn authorizers_are_checked() {
    let api = broken(
        "      stages: [prod]\n  custom_domains:",
        "      stages: [prod]\n      authorizers:\n        - { id: pool, type: COGNITO_USER_POOLS, tokens: [{ value: t, policy: { Statement: [] } }] }\n        - { id: fn, type: TOKEN, tokens: [{ value: x }, { value: y, policy: { Statement: [{ Effect: Allow, Principal: \"*\", Action: \"execute-api:Invoke\", Resource: \"*\" }] } }] }\n      routes:\n        - { method: GET, path: /test, authorization: CUSTOM, authorizer: pool, integration: { type: MOCK } }\n        - { method: GET, path: /b, authorization: COGNITO_USER_POOLS, integration: { type: MOCK } }\n        - { method: GET, path: /c, authorizer: fn, integration: { type: MOCK } }\n  custom_domains:",
    );
    let text = error_of(&api);
    for want in [
        "a Cognito user pool returns no policy",
        "a Lambda authorizer's token answers with a policy or `unauthorized: true`",
        "an identity-based policy has no Principal",
        "`pool` is a Cognito user pool authorizer; the method's authorization needs a Lambda one",
        "a CUSTOM or COGNITO_USER_POOLS method names its authorizer",
        "an authorizer is named by CUSTOM or COGNITO_USER_POOLS methods only",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
}

/// Several accounts: account ids are 12 digits, and a Resolver rule or a private custom domain of
/// one account reaches another account's VPC or endpoint only when shared with it (RAM).
#[test]
fn accounts_and_shares_are_checked() {
    let s = broken(
        "      dns_hostnames: true\n",
        "      dns_hostnames: true\n      account: \"222222222222\"\n  resolver_rules:\n    - { id: rslvr-rr-0a1b2c3d4e5f60718, domain: corp.example.com, vpcs: [vpc-0a1b2c3d], targets: [10.9.0.2], account: \"111122223333\" }\n    - { id: rslvr-rr-0a1b2c3d4e5f60719, domain: lab.example.com, vpcs: [vpc-0a1b2c3d], targets: [10.9.0.2], account: \"333333333333\", shared_with: [o-a1b2c3d4e5] }\n  organizations:\n    - { id: o-a1b2c3d4e5, accounts: [\"222222222222\", \"12\"] }\n",
    );
    let text = error_of(&s);
    assert!(
        text.contains("resolver_rules[0].vpcs[0]: vpc-0a1b2c3d belongs to account 222222222222, and this is account 111122223333's, not shared with it (RAM: shared_with)"),
        "{text}"
    );
    assert!(
        !text.contains("resolver_rules[1]"),
        "shared with the organization: {text}"
    );
    assert!(
        text.contains("organizations[0].accounts[1]: an account id is 12 digits"),
        "{text}"
    );
}

/// WebSocket APIs: Regional, no policy, route keys selected by `$request.body.FIELD`; route keys
/// belong to WebSocket (and `$default` to HTTP) APIs only.
#[test]
fn websocket_apis_are_checked() {
    let s = broken(
        "    - id: a1b2c3d4e5\n      name: public\n      endpoint_type: REGIONAL\n      stages: [prod]\n",
        "    - id: a1b2c3d4e5\n      name: public\n      endpoint_type: REGIONAL\n      stages: [prod]\n      routes: [{ method: GET, path: sendmessage, integration: { type: MOCK } }]\n    - id: w1e2b3s4o5\n      name: chat\n      protocol: WEBSOCKET\n      endpoint_type: PRIVATE\n      stages: [prod]\n      route_selection_expression: $request.header.x\n      routes: [{ method: GET, path: /chat, integration: { type: MOCK } }]\n",
    );
    let text = error_of(&s);
    for want in [
        "apis[0].routes[0].path: `sendmessage` is a route key of HTTP or WebSocket APIs",
        "apis[1].endpoint_type: a WebSocket API is always REGIONAL",
        "apis[1].route_selection_expression: only `$request.body.FIELD`",
        "apis[1].routes[0].path: a WebSocket API's routes are route keys",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
}

/// The OpenAPI corpus (`tests/openapi/`): an export's routes, settings and notices, as API
/// Gateway's documentation of its extensions says.
mod openapi {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use parallax_model::openapi::{Definition, read_file};
    use parallax_model::topology::{EndpointType, Integration, Method};

    fn corpus(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/openapi")
            .join(name)
    }

    fn read(name: &str) -> Definition {
        read_file(&corpus(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// `(method, path, api_key_required, integration)` of every route, in file order.
    fn routes(d: &Definition) -> Vec<(Method, &str, bool, &Integration)> {
        d.routes
            .iter()
            .map(|r| {
                (
                    r.method.value,
                    r.path.value.as_str(),
                    r.api_key_required,
                    &r.integration.value,
                )
            })
            .collect()
    }

    fn proxy(uri: &str, timeout_ms: u32) -> Integration {
        Integration::HttpProxy {
            uri: uri.to_owned(),
            timeout_ms,
            ca: None,
            client_certificate: None,
        }
    }

    fn mock(status: u16, body: &str, headers: &[(&str, &str)]) -> Integration {
        Integration::Mock {
            status,
            body: body.into(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    /// Each notice as `line: the start of its message`.
    fn notices(d: &Definition) -> Vec<(u32, String)> {
        d.notices
            .iter()
            .map(|n| (n.line, n.message.clone()))
            .collect()
    }

    #[test]
    fn openapi_petstore_export_in_openapi_3() {
        let d = read("petstore-oas30.yaml");
        // The servers URL with its basePath variable's default (OpenAPI 3 server variables).
        assert_eq!(d.api_id.as_ref().map(|a| a.as_str()), Some("p3tst0r3ab"));
        assert_eq!(d.region.as_ref().map(|r| r.as_str()), Some("us-west-2"));
        assert_eq!(d.stage.as_deref(), Some("test"));
        assert_eq!(d.endpoint_type, None, "an export does not say");
        let pets = "http://petstore.execute-api.us-west-2.amazonaws.com/petstore/pets";
        let cors = [
            (
                "Access-Control-Allow-Headers",
                "Content-Type,X-Amz-Date,Authorization,X-Api-Key",
            ),
            ("Access-Control-Allow-Methods", "POST,GET,OPTIONS"),
            ("Access-Control-Allow-Origin", "*"),
        ];
        assert_eq!(
            routes(&d),
            [
                (Method::Get, "/pets", false, &proxy(pets, 29_000)),
                (Method::Post, "/pets", false, &proxy(pets, 29_000)),
                // The mock's request template {"statusCode": 200} picks `default`, whose static
                // ('quoted') header values are the response's headers.
                (Method::Options, "/pets", false, &mock(200, "", &cors)),
                // integration.request.path.id ← method.request.path.petId: the uri's {id} is
                // the method's {petId}.
                (
                    Method::Get,
                    "/pets/{petId}",
                    false,
                    &proxy(&format!("{pets}/{{petId}}"), 29_000)
                ),
                (
                    Method::Get,
                    "/",
                    false,
                    &mock(
                        200,
                        "<html><body><h1>Welcome to your Pet Store API</h1></body></html>",
                        &[("Content-Type", "text/html")]
                    )
                ),
            ]
        );
        let n = notices(&d);
        assert_eq!(n.len(), 3, "{n:?}");
        assert!(n[0].0 == 36 && n[0].1.contains("integration.request.querystring.page"));
        assert!(n[1].0 == 37 && n[1].1.contains("integration.request.querystring.type"));
        assert!(
            n[2].0 == 27
                && n[2]
                    .1
                    .contains("mapping templates and response mappings are not applied")
        );
    }

    #[test]
    fn openapi_private_swagger_2_export_with_what_is_not_emulated() {
        let d = read("orders-swagger2.json");
        assert_eq!(d.api_id.as_ref().map(|a| a.as_str()), Some("a1b2c3d4e5"));
        assert_eq!(d.stage.as_deref(), Some("prod"), "basePath /prod");
        // vpcEndpointIds exist on PRIVATE APIs only.
        assert_eq!(d.endpoint_type, Some(EndpointType::Private));
        assert_eq!(d.vpc_endpoints.len(), 1);
        let policy = d.policy.as_ref().expect("x-amazon-apigateway-policy");
        assert_eq!(policy.value["Statement"][0]["Resource"], "execute-api:/*");
        assert_eq!(
            routes(&d),
            [
                // `api_key` security → apiKeyRequired; x-amazon-apigateway-any-method → ANY;
                // timeoutInMillis → the integration timeout.
                (
                    Method::Any,
                    "/onprem/{proxy+}",
                    true,
                    &proxy("https://orders.onprem.example/{proxy}", 10_000)
                ),
                // statusCode 503 from the request template: `5\d{2}` matches it, `2\d{2}` does
                // not, and a match wins over `default`.
                (
                    Method::Get,
                    "/status",
                    false,
                    &mock(503, r#"{"up":false}"#, &[("Retry-After", "120")])
                ),
                (
                    Method::Get,
                    "/report",
                    false,
                    &mock(
                        501,
                        r#"{"message":"AWS_PROXY integrations are not emulated by parallax"}"#,
                        &[]
                    )
                ),
                (
                    Method::Post,
                    "/echo",
                    false,
                    &mock(200, "$input.json('$')", &[])
                ),
            ],
            "GET /legacy has no integration and is not imported"
        );
        let n = notices(&d);
        let at = |line: u32, words: &str| {
            assert!(
                n.iter().any(|(l, m)| *l == line && m.contains(words)),
                "no notice `{words}` at line {line}: {n:?}"
            );
        };
        at(81, "gateway responses are not applied");
        at(43, "AWS_PROXY");
        at(54, "VTL is not evaluated, so 200 is taken");
        at(56, "selection pattern `(2|3)\\d{2}`");
        at(57, "the response template uses VTL");
        at(63, "GET /legacy: no x-amazon-apigateway-integration");
        at(
            41,
            "security scheme `staff` (a Cognito user pool authorizer)",
        );
        assert_eq!(n.len(), 7, "{n:?}");
    }

    #[test]
    fn openapi_files_that_cannot_be_imported_name_their_line() {
        for (file, line, words) in [
            ("bad-path.yaml", 5, "opens `{` without closing it"),
            (
                "bad-proxy-without-uri.yaml",
                8,
                "an http_proxy integration needs a uri",
            ),
            (
                "bad-not-a-definition.yaml",
                1,
                "not an OpenAPI 3 or Swagger 2.0 definition",
            ),
        ] {
            let e = read_file(&corpus(file)).expect_err(file).to_string();
            let want = format!("{file}:{line}:");
            assert!(e.contains(&want) && e.contains(words), "{file}: {e}");
        }
    }

    /// `apis[].openapi` in a topology: the routes, policy and endpoints come from the file,
    /// relative to the topology's own; what is not emulated is in `notices`.
    #[test]
    fn openapi_named_by_a_topology() {
        let dir = corpus("");
        let origin = dir.join("topology.yaml");
        let yaml = "region: us-east-1\nfront_doors: { regional: [52.94.133.10] }\nvpcs: [{ id: vpc-0a1b2c3d, cidr: 10.0.0.0/16, dns_hostnames: true }]\nendpoints:\n  - { id: vpce-0123456789abcdef0, vpc: vpc-0a1b2c3d, service: com.amazonaws.us-east-1.execute-api, private_dns: true, subnets: [{ id: subnet-0a1b2c3d, az: us-east-1a, address: 10.0.1.17 }] }\napis:\n  - id: a1b2c3d4e5\n    name: orders\n    endpoint_type: PRIVATE\n    stages: [prod]\n    openapi: orders-swagger2.json\n";
        let t = parallax_model::topology::Topology::from_yaml(yaml, &origin.display().to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        let api = &t.apis[0];
        assert_eq!(api.routes.len(), 4);
        assert!(api.policy.is_some() && api.vpc_endpoints.len() == 1);
        assert!(api.openapi.is_none(), "read, then cleared");
        assert_eq!(t.notices.len(), 7);
        // The same API said REGIONAL: the definition's endpoints contradict it, at the line of
        // `openapi:`.
        let bad = yaml.replace("PRIVATE", "REGIONAL");
        let e = parallax_model::topology::Topology::from_yaml(&bad, &origin.display().to_string())
            .expect_err("REGIONAL with vpcEndpointIds")
            .to_string();
        assert!(
            e.contains("topology.yaml:11:")
                && e.contains("apis[0].openapi")
                && e.contains("only a PRIVATE API"),
            "{e}"
        );
        let missing = yaml.replace("orders-swagger2.json", "nope.json");
        let e =
            parallax_model::topology::Topology::from_yaml(&missing, &origin.display().to_string())
                .expect_err("a missing file")
                .to_string();
        assert!(
            e.contains("apis[0].openapi") && e.contains("nope.json"),
            "{e}"
        );
    }
}

/// Issue 26: usage plan and API key ids as API Gateway makes them (a `/` joined two pairs into
/// one usage counter), and key values of 20 to 128 printable characters, each named with its
/// line; the value itself is never printed.
#[test]
fn usage_plan_and_key_ids_and_values_are_checked_as_aws_does() {
    let text = broken(
        "  vantages:\n",
        "  usage_plans:\n    - id: a/b\n      stages: [{ api: a1b2c3d4e5, stage: prod }]\n      keys:\n        - { id: \"b\\\"c\", value: shortkey }\n        - { id: fine, value: \"has a space in it 0123456789\" }\n        - { id: good, value: goodkey0123456789abcdefgh }\n  vantages:\n",
    );
    let e = error_of(&text);
    for want in [
        "bad.yaml:27:11: topology.usage_plans[0].id: `a/b`: ids are 1 to 128 letters",
        "bad.yaml:30:17: topology.usage_plans[0].keys[0].id: `b\\\"c`: ids are",
        "bad.yaml:30:17: topology.usage_plans[0].keys[0].value: an API key's value is 20 to 128",
        "bad.yaml:31:17: topology.usage_plans[0].keys[1].value: an API key's value",
    ] {
        assert!(e.contains(want), "{want} not in\n{e}");
    }
    assert!(!e.contains("shortkey") && !e.contains("has a space"), "{e}");
    assert!(!e.contains("keys[2]"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    /// Issue 26: an OpenAPI document of arbitrary text, or a valid one with a byte replaced,
    /// ends in a definition or an error, never a panic.
    #[test]
    fn openapi_of_arbitrary_text_never_panics(
        s in "\\PC{0,300}",
        at in 0usize..400,
        with in "[\\[\\]{}:\\-#&*!|>'\"\\n a-z0-9.$]",
    ) {
        let _ = parallax_model::openapi::read(&s, "fuzz.yaml");
        let good = "openapi: 3.0.1\ninfo: { title: t, version: '1' }\npaths:\n  /orders/{id}:\n    get:\n      x-amazon-apigateway-integration: { type: http_proxy, uri: 'https://onprem.example.com/{id}', httpMethod: GET, requestParameters: { integration.request.path.id: method.request.path.id } }\n";
        let mut bytes = good.as_bytes().to_vec();
        let i = at % bytes.len();
        bytes.splice(i..=i, with.bytes());
        if let Ok(text) = String::from_utf8(bytes) {
            let _ = parallax_model::openapi::read(&text, "fuzz.yaml");
        }
    }
}
