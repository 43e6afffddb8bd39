//! Integration tests of the analyzer: predictions on the scenario library's topologies.

use parallax_analyze::{PredictRequest, Predictor};
use parallax_model::{FrontDoor, RequestUrl, Scenario};

fn url(s: &str) -> RequestUrl {
    s.to_owned().try_into().expect("url")
}

#[test]
fn the_seed_incident_is_predicted_step_by_step() {
    let seed = Scenario::seed().expect("seed");
    let u = url("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/test");
    let req = PredictRequest::get(&u);
    let mut seen = Vec::new();
    for (i, step) in seed.steps.iter().enumerate() {
        let t = seed.topology_at(i).expect("state");
        let p = Predictor::new(t);
        let ecs = p
            .predict(t.vantage("ecs-task").expect("vantage"), &req)
            .outcome;
        let laptop = p
            .predict(t.vantage("laptop").expect("vantage"), &req)
            .outcome;
        seen.push((
            step.name.value.clone(),
            ecs.front_door.clone(),
            ecs.http.as_ref().map(|h| h.status),
            laptop.http.as_ref().map(|h| h.status),
        ));
    }
    let vpce = FrontDoor::VpcEndpoint("vpce-0123456789abcdef0".parse().expect("id"));
    assert_eq!(
        seen,
        vec![
            (
                "before".to_owned(),
                Some(FrontDoor::Regional),
                Some(200),
                Some(200)
            ),
            (
                "endpoint-added".to_owned(),
                Some(vpce),
                Some(403),
                Some(200)
            ),
            (
                "rolled-back".to_owned(),
                Some(FrontDoor::Regional),
                Some(200),
                Some(200)
            ),
        ]
    );
}

/// The attacker's table (issue 10), asked of `predict`: every row it can express (origin-form
/// requests; the URL's host is the SNI, a `Host` header the authority) gets AWS's answer.
#[test]
fn the_attackers_table_is_predicted() {
    use parallax_model::scenario::ClientCertSpec;
    use parallax_testkit::attacks::{ATTACKS, Cert, Form, TOPOLOGY};
    let t = parallax_model::Topology::from_yaml(TOPOLOGY, "<attacks>").expect("topology");
    let p = Predictor::new(&t);
    let attacker = t.vantage("attacker").expect("vantage");
    let mut wrong = Vec::new();
    let mut asked = 0;
    for a in ATTACKS.iter().filter(|a| a.form == Form::Origin) {
        let u = url(&format!("https://{}{}", a.sni, a.path));
        let mut headers = std::collections::BTreeMap::new();
        if a.host != a.sni {
            headers.insert("Host".to_owned(), a.host.to_owned());
        }
        let cert = match a.cert {
            Cert::None => None,
            Cert::Clients => Some(ClientCertSpec::Lab("clients".into())),
            Cert::Partners => Some(ClientCertSpec::Lab("partners".into())),
        };
        let req = PredictRequest {
            url: &u,
            method: a.method,
            headers: &headers,
            api_key: None,
            client_certificate: cert.as_ref(),
            body: None,
            tls: parallax_rules::tls_versions::Versions::CLIENT_DEFAULT,
            sign: None,
        };
        let got = p
            .predict(attacker, &req)
            .outcome
            .http
            .map(|h| (h.status, h.error_type));
        asked += 1;
        if got != Some((a.status, a.error_type.clone())) {
            wrong.push(format!(
                "{}: predicted {got:?}, AWS gives {} {:?} ({})",
                a.what, a.status, a.error_type, a.source
            ));
        }
    }
    assert!(asked >= 25, "{asked}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn usage_plans_are_counted_across_predictions() {
    let s = Scenario::from_path(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/api-keys.yaml"
    )))
    .expect("scenario");
    let t = s.topology_at(0).expect("state");
    let p = Predictor::new(t);
    let u = url("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/orders");
    let req = PredictRequest {
        api_key: Some("batchjobkey0123456789abcd"),
        ..PredictRequest::get(&u)
    };
    let statuses: Vec<u16> = (0..4)
        .map(|_| {
            p.predict(t.vantage("ecs-task").expect("v"), &req)
                .outcome
                .http
                .expect("http")
                .status
        })
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429], "a burst of 3");
}

#[test]
fn a_cname_into_the_endpoint_zone_fails_the_name_check() {
    let s = Scenario::from_path(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/cname-shadowed.yaml"
    )))
    .expect("scenario");
    let t = s.topology_at(1).expect("the cname step");
    let u = url("https://shop.example.com/test");
    let req = PredictRequest::get(&u);
    let p = Predictor::new(t).predict(t.vantage("ecs-task").expect("v"), &req);
    assert_eq!(p.outcome.http, None);
    assert!(
        p.notes.iter().any(|n| matches!(
            n,
            parallax_rules::predict::Note::CertificateDoesNotName { host, .. } if host == "shop.example.com"
        )),
        "{:?}",
        p.notes
    );
}

mod changes;
mod corpus;

mod importers {
    use std::path::PathBuf;

    use parallax_analyze::findings::{Finding, Severity, findings, json, sarif, text};
    use parallax_analyze::import_paths;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(name)
    }

    fn analyze(names: &[&str]) -> (Vec<Finding>, parallax_analyze::imported::Imported) {
        let m = import_paths(&names.iter().map(|n| fixture(n)).collect::<Vec<_>>());
        (findings(&m), m)
    }

    #[test]
    fn the_incident_template_gets_the_finding_at_the_endpoint_line() {
        let (fs, m) = analyze(&["incident.yaml"]);
        assert_eq!(fs.len(), 1, "{fs:?}");
        let f = &fs[0];
        assert_eq!(
            (
                f.rule.as_str(),
                f.severity,
                f.location.line,
                f.location.resource.as_str()
            ),
            ("PX001", Severity::Error, 11, "ExecuteApiEndpoint")
        );
        assert!(f.message.contains("orders-api (REGIONAL)"), "{}", f.message);
        let t = text(&fs, &m);
        assert!(
            t.contains("incident.yaml:11: error PX001") && t.contains("orders-api (REGIONAL)"),
            "{t}"
        );
        let j = json(&fs, &m);
        assert_eq!(j["findings"][0]["location"]["line"], 11);
        let s = sarif(&fs, &m);
        assert_eq!(
            s["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            11
        );
        assert!(
            s["runs"][0]["results"][0]["message"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("orders-api"))
        );
    }

    #[test]
    fn api_keys_without_a_usage_plan_or_without_a_key_in_it() {
        let (fs, _) = analyze(&["api-keys.yaml"]);
        let px8: Vec<_> = fs.iter().filter(|f| f.rule.as_str() == "PX008").collect();
        assert_eq!(px8.len(), 2, "{fs:?}");
        let no_plan = px8
            .iter()
            .find(|f| f.message.contains("no-plan-api"))
            .expect("the API without a plan");
        assert_eq!(
            (no_plan.location.resource.as_str(), no_plan.location.line),
            ("NoPlanGet", 10)
        );
        assert!(
            no_plan
                .message
                .starts_with("2 methods require an API key on no-plan-api")
                && no_plan.message.contains("403"),
            "{}",
            no_plan.message
        );
        let keyless = px8
            .iter()
            .find(|f| f.message.contains("keyless-plan-api"))
            .expect("the API whose plan has no key");
        assert_eq!(keyless.location.resource, "KeylessPlan");
        assert!(
            keyless.message.contains("no key is attached"),
            "{}",
            keyless.message
        );
        assert!(!fs.iter().any(|f| f.message.contains("good-api")), "{fs:?}");
    }

    #[test]
    fn a_plan_whose_api_is_known_only_after_apply_is_not_guessed_at() {
        let dir = std::env::temp_dir().join(format!("px-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plan = |stages: &str, plan_key: &str| {
            format!(
                r#"{{"format_version":"1.2","planned_values":{{"root_module":{{"resources":[
  {{"address":"aws_api_gateway_rest_api.orders","type":"aws_api_gateway_rest_api","values":{{"name":"orders"}}}},
  {{"address":"aws_api_gateway_method.get","type":"aws_api_gateway_method","values":{{"api_key_required":true,"http_method":"GET"}}}},
  {{"address":"aws_api_gateway_usage_plan.main","type":"aws_api_gateway_usage_plan","values":{{"api_stages":[{{"stage":"prod"}}]}}}}
  {plan_key}
]}}}},
"configuration":{{"root_module":{{"resources":[
  {{"address":"aws_api_gateway_method.get","expressions":{{"rest_api_id":{{"references":["aws_api_gateway_rest_api.orders.id","aws_api_gateway_rest_api.orders"]}}}}}},
  {{"address":"aws_api_gateway_usage_plan.main","expressions":{{"api_stages":[{stages}]}}}}
]}}}}}}"#
            )
        };
        let linked = r#"{"api_id":{"references":["aws_api_gateway_rest_api.orders.id","aws_api_gateway_rest_api.orders"]}}"#;
        let key = r#",{"address":"aws_api_gateway_usage_plan_key.k","type":"aws_api_gateway_usage_plan_key","values":{}}"#;
        let cases = [
            // The plan names the API by reference; no key: the finding.
            ("keyless.json", plan(linked, ""), 1),
            // The plan's API is unknown: nothing is said.
            ("unknown.json", plan("{}", ""), 0),
            // The key's plan is known only after apply: nothing is said.
            ("unknown-key.json", plan(linked, key), 0),
        ];
        for (name, text, want) in cases {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            let m = import_paths(std::slice::from_ref(&p));
            assert!(m.errors.is_empty(), "{name}: {:?}", m.errors);
            let fs: Vec<_> = findings(&m)
                .into_iter()
                .filter(|f| f.rule.as_str() == "PX008")
                .collect();
            assert_eq!(fs.len(), want, "{name}: {fs:?}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn an_aws_cli_folder_with_usage_plans_gets_px008_and_without_them_nothing() {
        let dir = std::env::temp_dir().join(format!("px-cli-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = [
            (
                "get-rest-apis.json",
                r#"{"items":[{"id":"aaaaaaaaaa","name":"planned","endpointConfiguration":{"types":["REGIONAL"]}},
                             {"id":"bbbbbbbbbb","name":"unplanned","endpointConfiguration":{"types":["REGIONAL"]}}]}"#,
            ),
            (
                "get-usage-plans.json",
                r#"{"items":[{"id":"plan01","name":"gold","apiStages":[{"apiId":"aaaaaaaaaa","stage":"prod"}]}]}"#,
            ),
            ("get-usage-plan-keys-plan01.json", r#"{"items":[]}"#),
            (
                "get-resources-aaaaaaaaaa.json",
                r#"{"items":[{"id":"r1","path":"/orders","resourceMethods":{"GET":{"httpMethod":"GET","apiKeyRequired":true}}}]}"#,
            ),
            (
                "get-resources-bbbbbbbbbb.json",
                "{\"items\":[\n {\"id\":\"r2\",\"path\":\"/\",\"resourceMethods\":{\n  \"POST\":{\"apiKeyRequired\":true},\n  \"GET\":{\"apiKeyRequired\":false}}}]}",
            ),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let run = || {
            let m = import_paths(std::slice::from_ref(&dir));
            assert!(m.errors.is_empty(), "{:?}", m.errors);
            findings(&m)
                .into_iter()
                .filter(|f| f.rule.as_str() == "PX008")
                .collect::<Vec<_>>()
        };
        let fs = run();
        assert_eq!(fs.len(), 2, "{fs:?}");
        let unplanned = fs.iter().find(|f| f.message.contains("unplanned")).unwrap();
        assert_eq!(
            (
                unplanned.location.resource.as_str(),
                unplanned.location.line
            ),
            ("bbbbbbbbbb POST /", 3)
        );
        let planned = fs
            .iter()
            .find(|f| !f.message.contains("unplanned"))
            .unwrap();
        assert!(
            planned.message.contains("no key is attached"),
            "{}",
            planned.message
        );
        assert_eq!(planned.location.resource, "plan01");
        // A key in the plan: only the unplanned API is left.
        std::fs::write(
            dir.join("get-usage-plan-keys-plan01.json"),
            r#"{"items":[{"id":"k1","type":"API_KEY","name":"app"}]}"#,
        )
        .unwrap();
        assert_eq!(run().len(), 1);
        // Without the keys file, whether the plan has keys is unknown: nothing said about it.
        std::fs::remove_file(dir.join("get-usage-plan-keys-plan01.json")).unwrap();
        assert_eq!(run().len(), 1);
        // Without the usage plans, nothing is known about keys: nothing is said.
        std::fs::remove_file(dir.join("get-usage-plans.json")).unwrap();
        assert_eq!(run().len(), 0);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Severity by evidence: with only PRIVATE APIs (the pattern AWS documents for them), the
    /// endpoint breaks nothing in the inputs; PX001 is a warning that names what it would break
    /// from that VPC. Next to a public API it stays an error.
    #[test]
    fn px001_is_an_error_only_with_evidence() {
        let (fs, _) = analyze(&["private-only.yaml"]);
        assert_eq!(fs.len(), 1, "{fs:?}");
        assert_eq!(
            (fs[0].rule.as_str(), fs[0].severity),
            ("PX001", Severity::Warning)
        );
        assert!(
            fs[0]
                .message
                .contains("including other accounts' and vendors' APIs"),
            "{}",
            fs[0].message
        );
        let (fs, _) = analyze(&["private-only.yaml", "incident.yaml"]);
        assert!(
            fs.iter()
                .any(|f| f.rule.as_str() == "PX001" && f.severity == Severity::Error),
            "a public API in the inputs is evidence: {fs:?}"
        );
    }

    /// A `cdk.out` folder is read by its manifest, nested stacks included: the REGIONAL API
    /// in the nested stack is what the endpoint's private DNS breaks.
    #[test]
    fn a_cdk_cloud_assembly_is_read_with_its_nested_stacks() {
        let (fs, m) = analyze(&["cdk.out"]);
        assert!(m.errors.is_empty(), "{:?}", m.errors);
        assert_eq!(fs.len(), 1, "{fs:?}");
        assert_eq!(
            (fs[0].rule.as_str(), fs[0].severity),
            ("PX001", Severity::Error)
        );
        assert!(
            fs[0].message.contains("orders-api (REGIONAL)"),
            "{}",
            fs[0].message
        );
    }

    /// Input that is not a template, a plan or CLI outputs is named for what it is (exit 2),
    /// never passed over as "0 findings".
    #[test]
    fn cdk_source_and_terraform_configuration_are_named() {
        let dir = std::env::temp_dir().join(format!("parallax-inputs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tf")).unwrap();
        std::fs::write(
            dir.join("app.ts"),
            "import * as cdk from 'aws-cdk-lib';\nnew cdk.App();\n",
        )
        .unwrap();
        std::fs::write(dir.join("main.tf"), "resource \"aws_vpc\" \"v\" {}\n").unwrap();
        std::fs::write(dir.join("tf/main.tf"), "resource \"aws_vpc\" \"v\" {}\n").unwrap();
        for (input, want) in [
            ("app.ts", "run `cdk synth`"),
            ("main.tf", "terraform show -json"),
            ("tf", "terraform show -json"),
        ] {
            let m = import_paths(&[dir.join(input)]);
            assert_eq!(m.errors.len(), 1, "{input}: {:?}", m.errors);
            assert!(m.errors[0].1.contains(want), "{input}: {:?}", m.errors);
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A key given twice does not abort the template: the last value wins, as in
    /// CloudFormation, and both lines get a PX009 warning.
    #[test]
    fn duplicate_keys_keep_the_last_value_with_a_warning_at_both_lines() {
        let (fs, m) = analyze(&["duplicate-keys.yaml"]);
        assert!(m.errors.is_empty(), "{:?}", m.errors);
        let mut got: Vec<(&str, u32)> = fs
            .iter()
            .map(|f| (f.rule.as_str(), f.location.line))
            .collect();
        got.sort();
        assert_eq!(got, [("PX001", 14), ("PX009", 19), ("PX009", 20)], "{fs:?}");
        // The same in JSON.
        let dir = std::env::temp_dir().join(format!("parallax-dup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let json = dir.join("t.json");
        std::fs::write(
            &json,
            "{\"Resources\": {\"V\": {\"Type\": \"AWS::EC2::VPC\",\n \"Type\": \"AWS::EC2::VPC\"}}}",
        )
        .unwrap();
        let m = import_paths(std::slice::from_ref(&json));
        assert_eq!(m.duplicate_keys.len(), 1, "{:?}", m.duplicate_keys);
        assert_eq!(
            (m.duplicate_keys[0].1.line, m.duplicate_keys[0].2.line),
            (1, 2)
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Strict where CloudFormation is: a boolean property with another value is an error at its
    /// line (exit 2), and a resource type one edit away from one read here is a warning that
    /// names it. A type that is merely not read (S3) is no finding.
    #[test]
    fn misspelled_values_and_types_are_named() {
        let (fs, m) = analyze(&["typos.yaml"]);
        assert_eq!(m.errors.len(), 1, "{:?}", m.errors);
        assert_eq!(m.errors[0].0.line, 22);
        assert!(
            m.errors[0]
                .1
                .contains("PrivateDnsEnabled: `ture` is not a boolean"),
            "{:?}",
            m.errors
        );
        let px10: Vec<_> = fs.iter().filter(|f| f.rule.as_str() == "PX010").collect();
        assert_eq!(px10.len(), 1, "{fs:?}");
        assert_eq!(px10[0].location.line, 12, "the line of its Type");
        assert!(
            px10[0]
                .message
                .contains("did you mean `AWS::EC2::VPCEndpoint`"),
            "{}",
            px10[0].message
        );
        assert!(!fs.iter().any(|f| f.message.contains("Bucket")));
    }

    #[test]
    fn with_private_dns_off_there_is_no_finding() {
        let (fs, m) = analyze(&["incident-off.yaml"]);
        assert!(fs.is_empty(), "{fs:?}");
        assert!(m.errors.is_empty());
    }

    #[test]
    fn a_terraform_plan_and_an_aws_cli_folder_of_the_same_topology_get_the_same_finding() {
        for input in ["incident.tfplan.json", "incident-cli"] {
            let (fs, m) = analyze(&[input]);
            assert_eq!(
                fs.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(),
                ["PX001"],
                "{input}: {fs:?}"
            );
            assert!(
                fs[0].message.contains("orders-api (REGIONAL)"),
                "{input}: {}",
                fs[0].message
            );
            // A plan read without its `.tf` files names the resource address, not a line.
            if input.ends_with(".json") {
                assert_eq!(
                    (fs[0].location.line, fs[0].location.resource.as_str()),
                    (0, "aws_vpc_endpoint.execute_api"),
                    "{input}"
                );
            } else {
                assert!(
                    fs[0].location.line > 0,
                    "{input}: the finding points at a line"
                );
            }
            assert!(m.errors.is_empty(), "{input}: {:?}", m.errors);
        }
        // The Gateway endpoint for S3 in the CLI output also says PrivateDnsEnabled: it is not counted.
        let (fs, _) = analyze(&["incident-cli"]);
        assert!(
            !fs.iter()
                .any(|f| f.message.contains("vpce-0aaaabbbbccccdddd"))
        );
    }

    #[test]
    fn sam_template_traps() {
        let (fs, _) = analyze(&["sam-traps.yaml"]);
        assert_eq!(
            fs.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(),
            ["PX001"],
            "{fs:?}"
        );
        let f = &fs[0];
        assert_eq!(f.location.resource, "ApiEndpoint", "not the SQS endpoint");
        assert!(
            f.message.contains("private-orders (REGIONAL)"),
            "a REGIONAL API named private is public: {}",
            f.message
        );
        assert!(
            f.message.contains("PublicApi (EDGE)"),
            "SAM's default is EDGE: {}",
            f.message
        );
        assert!(
            !f.message.contains("InternalApi"),
            "the PRIVATE API is not shadowed: {}",
            f.message
        );
        assert!(
            f.message.contains("parameter ExistingVpcId has no default"),
            "the unknown VPC is said so: {}",
            f.message
        );
    }

    #[test]
    fn cdk_synthesized_json_with_heavy_intrinsics() {
        let (fs, m) = analyze(&["cdk-synth.json"]);
        let rules: Vec<&str> = fs.iter().map(|f| f.rule.as_str()).collect();
        for r in ["PX001", "PX004", "PX006", "PX007"] {
            assert!(rules.contains(&r), "{r} missing: {fs:?}");
        }
        // Fn::If over a FindInMap decides PrivateDnsEnabled; Fn::Join builds the service name.
        assert!(fs.iter().any(|f| f.rule.as_str() == "PX001"
            && f.location.resource == "NetworkVpcExecuteApiEndpoint1A2B3C4D"));
        assert!(
            m.unknowns
                .iter()
                .any(|(l, why)| l.resource == "SharedServices" && why.contains("nested stack"))
        );
    }

    #[test]
    fn a_malformed_file_is_named_and_the_others_are_still_analyzed() {
        let (fs, m) = analyze(&["malformed.yaml", "incident.yaml"]);
        assert_eq!(fs.len(), 1);
        let (loc, msg) = &m.errors[0];
        assert!(
            loc.file.ends_with("malformed.yaml") && loc.line == 3,
            "{loc:?} {msg}"
        );
        let s = sarif(&fs, &m);
        assert_eq!(s["runs"][0]["invocations"][0]["executionSuccessful"], false);
    }

    #[test]
    fn sarif_conforms_to_the_sarif_2_1_0_constraints() {
        let schema: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../schemas/sarif-2.1.0-subset.json"
            ))
            .expect("schema"),
        )
        .expect("json");
        for names in [
            &["incident.yaml"][..],
            &["cdk-synth.json", "sam-traps.yaml", "malformed.yaml"][..],
            &["incident-off.yaml"][..],
        ] {
            let (fs, m) = analyze(names);
            let log = sarif(&fs, &m);
            let errors = parallax_testkit::schema::violations(&schema, &log);
            assert!(errors.is_empty(), "{names:?}:\n{}", errors.join("\n"));
        }
        // And the checker does reject a broken log.
        let broken = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [{"level": "fatal"}]}]});
        assert_eq!(
            parallax_testkit::schema::violations(&schema, &broken).len(),
            3
        );
    }

    /// A private API whose policy allows the endpoint by `Ref` (AWS's documented pattern): the
    /// matrix gives the endpoint one id everywhere, so the API's own VPC gets 200 and the
    /// internet 403 (reference §1.2, a private API called from outside any endpoint).
    #[test]
    fn the_matrix_resolves_refs_in_policies_to_the_same_made_up_ids() {
        let m = import_paths(&[fixture("private-only.yaml")]);
        let (t, notes) = parallax_analyze::runnable::topology(&m);
        let rows = parallax_analyze::matrix::matrix(&t);
        assert_eq!(rows.len(), 1);
        let cells = &rows[0].cells;
        let status = |i: usize| {
            cells[i]
                .1
                .http
                .as_ref()
                .map(|h| (h.status, h.error_type.clone()))
        };
        assert_eq!(
            status(0),
            Some((403, Some(parallax_model::ErrorType::Forbidden))),
            "{notes:?}"
        );
        assert_eq!(status(1), Some((200, None)), "{notes:?}");
    }

    /// The account comes from the inputs when they carry it (AWS CLI `OwnerId`), and is said
    /// to be assumed when they do not.
    #[test]
    fn the_matrix_takes_the_account_from_the_inputs() {
        let dir = std::env::temp_dir().join(format!("parallax-owner-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("describe-vpcs.json"),
            r#"{"Vpcs":[{"VpcId":"vpc-0a1b2c3d4e5f60718","OwnerId":"444455556666","CidrBlock":"10.0.0.0/16"}]}"#,
        )
        .unwrap();
        let m = import_paths(std::slice::from_ref(&dir));
        let (t, notes) = parallax_analyze::runnable::topology(&m);
        assert_eq!(t.account.value, "444455556666", "{notes:?}");
        assert!(!notes.contains(&parallax_analyze::runnable::Assumption::AccountAssumed));
        let (_, notes) =
            parallax_analyze::runnable::topology(&import_paths(&[fixture("incident.yaml")]));
        assert!(notes.contains(&parallax_analyze::runnable::Assumption::AccountAssumed));
        std::fs::remove_dir_all(&dir).ok();
    }

    /// The three forms of the incident predict the same matrix: from the internet 200 at the
    /// regional door, from the VPC a private answer, the endpoint's door, and 403.
    #[test]
    fn the_matrix_from_each_input_form_predicts_the_incident() {
        for input in ["incident.yaml", "incident.tfplan.json", "incident-cli"] {
            let m = import_paths(&[fixture(input)]);
            let (t, notes) = parallax_analyze::runnable::topology(&m);
            let rows = parallax_analyze::matrix::matrix(&t);
            assert_eq!(rows.len(), 1, "{input}");
            let cells = &rows[0].cells;
            let internet = &cells[0].1;
            let vpc = &cells[1].1;
            assert_eq!(
                (
                    internet.dns.verdict().to_string(),
                    internet.http.as_ref().map(|h| h.status)
                ),
                ("public".to_owned(), Some(200)),
                "{input}"
            );
            assert_eq!(
                vpc.dns.verdict().to_string(),
                "private",
                "{input}: {notes:?}"
            );
            assert_eq!(
                vpc.http.as_ref().map(|h| (h.status, h.error_type.clone())),
                Some((403, Some(parallax_model::ErrorType::Forbidden))),
                "{input}"
            );
        }
    }
}

mod robustness {
    use parallax_analyze::source;
    use proptest::prelude::*;
    use serde_json::Value;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-zA-Z0-9 _\\-\"\\\\/\\n\\té€😀${}:]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[A-Za-z:]{1,8}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The JSON fast path reads what serde_json writes, exactly.
        #[test]
        fn json_fast_path_round_trips(v in json_value()) {
            let text = serde_json::to_string_pretty(&v).expect("serialises");
            let n = source::parse(&text, "p.json").expect("parses");
            prop_assert_eq!(parallax_analyze::terraform::to_json(&n), v);
        }

        /// Arbitrary bytes never panic the parser (YAML or JSON).
        #[test]
        fn parsers_never_panic(s in "\\PC{0,200}", json in "[\\[\\]{}\",:0-9a-z\\\\. \\n-]{0,200}") {
            let _ = source::parse(&s, "p.yaml");
            let _ = source::parse(&format!("{{{json}"), "p.json");
        }

        /// Arbitrary resources, intrinsics included, never panic the CloudFormation importer.
        #[test]
        fn cloudformation_import_never_panics(resources in prop::collection::btree_map("[A-Za-z]{1,6}", json_value(), 0..6), types in prop::collection::vec(prop::sample::select(vec!["AWS::EC2::VPC", "AWS::EC2::VPCEndpoint", "AWS::ApiGateway::RestApi", "AWS::Serverless::Api", "AWS::ApiGateway::DomainName", "AWS::ApiGateway::BasePathMapping", "AWS::Route53::RecordSet", "AWS::Route53::HostedZone"]), 6)) {
            let mut res = serde_json::Map::new();
            for (i, (k, props)) in resources.into_iter().enumerate() {
                res.insert(k, serde_json::json!({"Type": types[i % types.len()], "Properties": props}));
            }
            let text = serde_json::json!({"Parameters": {"P": {"Type": "String"}}, "Conditions": {"C": {"Fn::Equals": [{"Ref": "P"}, "x"]}}, "Resources": res}).to_string();
            let root = source::parse(&text, "t.json").expect("valid JSON");
            let m = parallax_analyze::cfn::import(&root, "t.json");
            let _ = parallax_analyze::findings::findings(&m);
            let _ = parallax_analyze::runnable::topology(&m);
        }

        /// Issue 26: arbitrary resources of the types the Terraform importer reads, in a
        /// plan's shape, never panic it (nor the findings and the runnable topology after it).
        #[test]
        fn terraform_import_never_panics(values in prop::collection::vec(json_value(), 0..6), types in prop::collection::vec(prop::sample::select(vec!["aws_vpc", "aws_vpc_endpoint", "aws_api_gateway_rest_api", "aws_api_gateway_domain_name", "aws_api_gateway_base_path_mapping", "aws_route53_record", "aws_route53_zone", "aws_api_gateway_usage_plan", "aws_api_gateway_rest_api_policy"]), 6)) {
            let resources: Vec<serde_json::Value> = values
                .into_iter()
                .enumerate()
                .map(|(i, v)| serde_json::json!({"address": format!("{}.r{i}", types[i % types.len()]), "mode": "managed", "type": types[i % types.len()], "name": format!("r{i}"), "values": v}))
                .collect();
            let text = serde_json::json!({"format_version": "1.2", "planned_values": {"root_module": {"resources": resources}}, "resource_changes": [], "configuration": {"root_module": {}}}).to_string();
            let root = source::parse(&text, "plan.json").expect("valid JSON");
            let m = parallax_analyze::terraform::import(&root, "plan.json");
            let _ = parallax_analyze::findings::findings(&m);
            let _ = parallax_analyze::runnable::topology(&m);
        }
    }

    #[test]
    fn hostile_intrinsics_are_bounded() {
        // Deep nesting, self-referencing conditions, huge Select indexes.
        let deep = format!(
            "{}{}",
            "{\"Fn::Join\": [\"\", [".repeat(200),
            "]]}".repeat(200)
        );
        for props in [
            format!("{{\"VpcId\": {deep}}}"),
            "{\"VpcId\": {\"Fn::If\": [\"Loop\", \"a\", \"b\"]}}".to_owned(),
            "{\"VpcId\": {\"Fn::Select\": [99999999999, [\"a\"]]}}".to_owned(),
            "{\"VpcId\": {\"Fn::Sub\": \"${${${\"}}".to_owned(),
        ] {
            let text = format!(
                "{{\"Conditions\": {{\"Loop\": {{\"Condition\": \"Loop\"}}}}, \"Resources\": {{\"E\": {{\"Type\": \"AWS::EC2::VPCEndpoint\", \"Properties\": {props}}}}}}}"
            );
            if let Ok(root) = source::parse(&text, "h.json") {
                let _ = parallax_analyze::cfn::import(&root, "h.json");
            }
        }
    }
}
