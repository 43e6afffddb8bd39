//! Integration tests of the analyzer: predictions on the scenario library's topologies.

use std::collections::BTreeMap;

use parallax_analyze::{PredictRequest, Predictor};
use parallax_model::{FrontDoor, RequestUrl, Scenario};

fn url(s: &str) -> RequestUrl {
    s.to_owned().try_into().expect("url")
}

#[test]
fn the_seed_incident_is_predicted_step_by_step() {
    let seed = Scenario::seed().expect("seed");
    let u = url("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/test");
    let headers = BTreeMap::new();
    let req = PredictRequest {
        url: &u,
        method: "GET",
        headers: &headers,
        api_key: None,
        client_certificate: None,
    };
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
    let headers = BTreeMap::new();
    let req = PredictRequest {
        url: &u,
        method: "GET",
        headers: &headers,
        api_key: Some("batchjobkey0123456789abcd"),
        client_certificate: None,
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
    let headers = BTreeMap::new();
    let req = PredictRequest {
        url: &u,
        method: "GET",
        headers: &headers,
        api_key: None,
        client_certificate: None,
    };
    let p = Predictor::new(t).predict(t.vantage("ecs-task").expect("v"), &req);
    assert_eq!(p.outcome.http, None);
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("does not name shop.example.com")),
        "{:?}",
        p.notes
    );
}
