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

fn kinds(c: &Changes) -> Vec<Change> {
    c.changes.iter().map(|c| c.change.clone()).collect()
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
        kinds(&report),
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
        kinds(&back).as_slice(),
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
        kinds(&dns_off),
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

/// A CloudTrail log file in the shape CloudTrail delivers to S3 (CloudTrail User Guide,
/// "CloudTrail record contents": `Records`, `eventName`, `eventTime`, `userIdentity.arn`,
/// `sourceIPAddress`, `userAgent`, `requestParameters`, `responseElements`, `errorCode`; EC2
/// wraps a call's parameters and answer as `CreateVpcEndpointRequest` and
/// `CreateVpcEndpointResponse`). Written by us: one failed attempt, the call that made the
/// endpoint, and an unrelated read.
const TRAIL: &str = r#"{"Records": [
  {"eventVersion": "1.09", "eventTime": "2026-11-30T09:12:01Z", "eventSource": "ec2.amazonaws.com",
   "eventName": "CreateVpcEndpoint", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.20",
   "userAgent": "aws-cli/2.15.0", "errorCode": "Client.UnauthorizedOperation",
   "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/intern"},
   "requestParameters": {"CreateVpcEndpointRequest": {"VpcId": "vpc-0a1b2c3d4e5f60718",
     "ServiceName": "com.amazonaws.us-east-1.execute-api", "PrivateDnsEnabled": true}},
   "responseElements": null},
  {"eventVersion": "1.09", "eventTime": "2026-11-30T09:14:37Z", "eventSource": "ec2.amazonaws.com",
   "eventName": "CreateVpcEndpoint", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7",
   "userAgent": "aws-cli/2.15.0",
   "userIdentity": {"type": "AssumedRole",
     "arn": "arn:aws:sts::111122223333:assumed-role/platform-team/alice"},
   "requestParameters": {"CreateVpcEndpointRequest": {"VpcId": "vpc-0a1b2c3d4e5f60718",
     "ServiceName": "com.amazonaws.us-east-1.execute-api", "VpcEndpointType": "Interface",
     "PrivateDnsEnabled": true}},
   "responseElements": {"CreateVpcEndpointResponse": {"vpcEndpoint": {
     "vpcEndpointId": "vpce-0123456789abcdef0", "vpcId": "vpc-0a1b2c3d4e5f60718",
     "privateDnsEnabled": true}}}},
  {"eventVersion": "1.09", "eventTime": "2026-11-30T09:15:00Z", "eventSource": "ec2.amazonaws.com",
   "eventName": "DescribeVpcs", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7",
   "userIdentity": {"type": "AssumedRole",
     "arn": "arn:aws:sts::111122223333:assumed-role/platform-team/alice"},
   "requestParameters": {"vpcSet": {}}, "responseElements": null}
]}"#;

#[test]
fn the_change_is_attributed_to_the_call_that_made_it() {
    use std::io::Write;
    let root = std::env::temp_dir().join(format!("px-trail-{}", std::process::id()));
    let before = snapshot(&root.join("before"), &[S3_GATEWAY]);
    let after = snapshot(&root.join("after"), &[S3_GATEWAY, EXECUTE_API]);
    // As delivered to S3: gzipped, under AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/.
    let day = root.join("trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/30");
    std::fs::create_dir_all(&day).expect("trail dir");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(TRAIL.as_bytes()).expect("gzip");
    std::fs::write(
        day.join("111122223333_CloudTrail_us-east-1_20261130T0915Z_x.json.gz"),
        gz.finish().expect("gzip"),
    )
    .expect("write trail");

    let (events, errors) = parallax_analyze::cloudtrail::read(&root.join("trail"), 1 << 20);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events.len(), 2, "the failed call is passed over");
    let mut report = compare(&before, &after);
    report.attribute(&events);
    let by = report.changes[0].by.as_deref().unwrap_or_default();
    assert_eq!(by.len(), 1, "{by:?}");
    assert_eq!(
        by[0].principal.as_deref(),
        Some("arn:aws:sts::111122223333:assumed-role/platform-team/alice")
    );
    assert_eq!(
        (by[0].name.as_str(), by[0].time.as_str()),
        ("CreateVpcEndpoint", "2026-11-30T09:14:37Z")
    );
    assert!(report.text().contains(
        "by arn:aws:sts::111122223333:assumed-role/platform-team/alice at 2026-11-30T09:14:37Z (CreateVpcEndpoint from 203.0.113.7, aws-cli/2.15.0)"
    ));

    // The same record through `aws cloudtrail lookup-events` (each record a JSON string).
    let record: serde_json::Value = serde_json::from_str(TRAIL).expect("json");
    let lookup = serde_json::json!({"Events": [{"EventName": "CreateVpcEndpoint",
        "CloudTrailEvent": record["Records"][1].to_string()}]});
    let file = root.join("lookup-events.json");
    std::fs::write(&file, lookup.to_string()).expect("write lookup");
    let (events, errors) = parallax_analyze::cloudtrail::read(&file, 1 << 20);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        parallax_analyze::cloudtrail::attribute(&report.changes[0].change, &events).len(),
        1
    );

    // What is not a trail is named, not passed over: JSON of another shape, a broken gzip.
    std::fs::write(root.join("other.json"), r#"{"Vpcs": []}"#).expect("write");
    std::fs::write(day.join("broken.json.gz"), b"not gzip").expect("write");
    let (_, errors) = parallax_analyze::cloudtrail::read(&root.join("other.json"), 1 << 20);
    assert!(
        errors[0]
            .to_string()
            .contains("neither CloudTrail log records"),
        "{errors:?}"
    );
    let (_, errors) = parallax_analyze::cloudtrail::read(&root.join("trail"), 1 << 20);
    assert!(
        errors.len() == 1 && errors[0].to_string().contains("broken.json.gz: not gzip"),
        "{errors:?}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// A forwarding rule for the Region's execute-api names, associated with the VPC (Route 53
/// API Reference, ListResolverRules and ListResolverRuleAssociations shapes): from the VPC the
/// API's name now goes to the rule's targets, which are outside what was read, so the outcome
/// there is no longer predicted 200.
#[test]
fn a_forwarding_rule_is_a_change_and_takes_the_name_out_of_the_model() {
    let root = std::env::temp_dir().join(format!("px-rules-{}", std::process::id()));
    let before = snapshot(&root.join("before"), &[S3_GATEWAY]);
    let after = snapshot(&root.join("after"), &[S3_GATEWAY]);
    std::fs::write(
        after.join("route53resolver-list-resolver-rules.json"),
        r#"{"ResolverRules": [{"Id": "rslvr-rr-0123456789abcdef0",
            "DomainName": "execute-api.us-east-1.amazonaws.com.", "RuleType": "FORWARD",
            "Status": "COMPLETE", "TargetIps": [{"Ip": "10.20.0.2", "Port": 53}]}]}"#,
    )
    .expect("write rules");
    std::fs::write(
        after.join("route53resolver-list-resolver-rule-associations.json"),
        r#"{"ResolverRuleAssociations": [{"ResolverRuleId": "rslvr-rr-0123456789abcdef0",
            "VPCId": "vpc-0a1b2c3d4e5f60718", "Status": "COMPLETE"}]}"#,
    )
    .expect("write associations");
    let report = compare(&before, &after);
    assert_eq!(
        kinds(&report),
        vec![
            Change::RuleAdded {
                rule: "rslvr-rr-0123456789abcdef0".to_owned(),
                domain: "execute-api.us-east-1.amazonaws.com".to_owned(),
                forward: true,
            },
            Change::RuleAssociated {
                rule: "rslvr-rr-0123456789abcdef0".to_owned(),
                vpc: "vpc-0a1b2c3d4e5f60718".to_owned(),
            },
        ]
    );
    let flips: Vec<(&str, Option<u16>, Option<u16>)> = report
        .flips
        .iter()
        .map(|f| (f.from.as_str(), f.before.status, f.after.status))
        .collect();
    assert_eq!(flips, [("vpc-0a1b2c3d4e5f60718", Some(200), None)]);
    assert!(report.breaks_something());
    let _ = std::fs::remove_dir_all(&root);
}
