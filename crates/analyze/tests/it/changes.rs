//! `parallax changes`: two snapshot folders in the AWS CLI's output shapes (the files named
//! `SERVICE-COMMAND.json`, as a collection names them), before and after the incident's change.
//! The shapes mirror the EC2 API Reference's DescribeVpcs and DescribeVpcEndpoints responses and
//! API Gateway's GetRestApis; the expected outcome is AWS's Knowledge Center article on private
//! APIs and VPC endpoints: with an execute-api endpoint with private DNS in the VPC, a REGIONAL
//! API's default hostname answers 403 ForbiddenException from that VPC.

use std::path::{Path, PathBuf};

use parallax_analyze::changes::{Change, Changes};
use parallax_analyze::{Options, import_paths_opts};

const VPCS: &str = r#"{"Vpcs": [{"VpcId": "vpc-0a1b2c3d4e5f60718", "OwnerId": "111122223333",
  "CidrBlock": "10.0.0.0/16", "State": "available"}]}"#;
const APIS: &str = r#"{"items": [{"id": "a1b2c3d4e5", "name": "orders-api",
  "endpointConfiguration": {"types": ["REGIONAL"]}, "disableExecuteApiEndpoint": false}]}"#;
const S3_GATEWAY: &str = r#"{"VpcEndpointId": "vpce-0aaaabbbbccccdddd", "VpcEndpointType": "Gateway",
  "VpcId": "vpc-0a1b2c3d4e5f60718", "ServiceName": "com.amazonaws.us-east-1.s3",
  "State": "available", "PrivateDnsEnabled": false}"#;
const EXECUTE_API: &str = r#"{"VpcEndpointId": "vpce-0123456789abcdef0", "VpcEndpointType": "Interface",
  "VpcId": "vpc-0a1b2c3d4e5f60718", "ServiceName": "com.amazonaws.us-east-1.execute-api",
  "State": "available", "PrivateDnsEnabled": true}"#;

fn snapshot(dir: &Path, endpoints: &[&str]) -> PathBuf {
    std::fs::create_dir_all(dir).expect("snapshot dir");
    for (name, text) in [
        ("ec2-describe-vpcs.json", VPCS.to_owned()),
        ("apigateway-get-rest-apis.json", APIS.to_owned()),
        (
            "ec2-describe-vpc-endpoints.json",
            format!(r#"{{"VpcEndpoints": [{}]}}"#, endpoints.join(",")),
        ),
    ] {
        std::fs::write(dir.join(name), text).expect("write snapshot file");
    }
    dir.to_path_buf()
}

fn compare(before: &Path, after: &Path) -> Changes {
    let read = |p: &Path| {
        let m = import_paths_opts(&[p.to_path_buf()], &Options::default());
        assert!(m.errors.is_empty(), "{}: {:?}", p.display(), m.errors);
        m
    };
    Changes::between(&read(before), &read(after))
}

#[test]
fn the_incidents_endpoint_is_named_with_its_finding_and_the_outcome_it_flips() {
    let root = std::env::temp_dir().join(format!("px-changes-{}", std::process::id()));
    let before = snapshot(&root.join("before"), &[S3_GATEWAY]);
    let after = snapshot(&root.join("after"), &[S3_GATEWAY, EXECUTE_API]);

    let report = compare(&before, &after);
    assert_eq!(
        report.changes,
        vec![Change::EndpointAdded {
            endpoint: "vpce-0123456789abcdef0".to_owned(),
            vpc: "vpc-0a1b2c3d4e5f60718".to_owned(),
            service: Some("execute-api".to_owned()),
            private_dns: Some(true),
        }]
    );
    assert_eq!(
        report
            .introduced
            .iter()
            .map(|f| (f.rule.as_str(), f.severity.as_str()))
            .collect::<Vec<_>>(),
        [("PX001", "error")]
    );
    assert!(report.resolved.is_empty(), "{:?}", report.resolved);
    // From the VPC the API's default name now reaches the endpoint: 200 → 403 Forbidden. From
    // the internet nothing changes.
    let flips: Vec<String> = report
        .flips
        .iter()
        .map(|f| format!("{} {} {} → {}", f.from, f.url, f.before, f.after))
        .collect();
    assert_eq!(
        flips,
        [
            "vpc-0a1b2c3d4e5f60718 https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/x 200 → 403 ForbiddenException"
        ]
    );
    assert!(report.breaks_something());

    // The way back resolves the finding and flips the outcome back; nothing breaks.
    let back = compare(&after, &before);
    assert_eq!(back.introduced.len(), 0);
    assert_eq!(back.resolved.len(), 1);
    assert!(matches!(
        back.changes.as_slice(),
        [Change::EndpointRemoved { endpoint, .. }] if endpoint == "vpce-0123456789abcdef0"
    ));
    assert!(!back.breaks_something());

    // Turning private DNS off is a change of its own, and undoes the flip.
    let off = EXECUTE_API.replace(
        r#""PrivateDnsEnabled": true"#,
        r#""PrivateDnsEnabled": false"#,
    );
    let later = snapshot(&root.join("later"), &[S3_GATEWAY, &off]);
    let dns_off = compare(&after, &later);
    assert_eq!(
        dns_off.changes,
        vec![Change::EndpointPrivateDns {
            endpoint: "vpce-0123456789abcdef0".to_owned(),
            before: Some(true),
            after: Some(false),
        }]
    );
    assert_eq!(dns_off.flips.len(), 1);
    assert!(!dns_off.breaks_something());

    // The same snapshot twice: nothing.
    let same = compare(&after, &after);
    assert!(same.changes.is_empty() && same.introduced.is_empty() && same.flips.is_empty());
    assert_eq!(same.text(), "no change that matters for reachability\n");
    let _ = std::fs::remove_dir_all(&root);
}
