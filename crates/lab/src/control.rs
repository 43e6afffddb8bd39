//! The lab's control while it keeps running (`parallax lab --keep-running --control ADDR`), so a
//! test or a demo can move the running servers from step to step: `POST /step/NAME` applies that
//! step's topology to the resolver and the gateway; `GET /step` says which step they hold and
//! where each resolver view listens. Answers are JSON.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use parallax_model::Scenario;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch};

use crate::run::Running;

/// Serves the control until `stop` turns true, one request per connection (nothing keeps a
/// hold on the lab once it stops).
pub async fn serve(
    listener: TcpListener,
    scenario: Arc<Scenario>,
    lab: Arc<Mutex<Running>>,
    stop: watch::Receiver<bool>,
) {
    parallax_gateway::admin::serve_http1(listener, false, stop, move |req| {
        let (scenario, lab) = (scenario.clone(), lab.clone());
        async move { answer(req, &scenario, &lab).await }
    })
    .await;
}

fn json(status: StatusCode, v: &serde_json::Value) -> Response<Full<Bytes>> {
    parallax_gateway::admin::reply(status, "application/json", format!("{v}\n"))
}

/// Where the lab stands: its step and its views' sockets.
fn state(scenario: &Scenario, lab: &Running) -> serde_json::Value {
    let views: serde_json::Map<String, serde_json::Value> = lab
        .resolver
        .listening()
        .iter()
        .filter(|l| l.protocol == "udp")
        .map(|l| (l.view.clone(), l.addr.to_string().into()))
        .collect();
    serde_json::json!({
        "scenario": scenario.name,
        "step": scenario.steps.get(lab.step).map(|s| s.name.value.clone()),
        "index": lab.step,
        "views": views,
    })
}

async fn answer(
    req: Request<Incoming>,
    scenario: &Scenario,
    lab: &Mutex<Running>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    match (req.method(), path.strip_prefix("/step")) {
        (&Method::GET, Some("")) => json(StatusCode::OK, &state(scenario, &*lab.lock().await)),
        (&Method::POST, Some(rest)) if rest.starts_with('/') => {
            let name = &rest[1..];
            let Some(index) = scenario.step_index(name) else {
                let known: Vec<&str> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
                return json(
                    StatusCode::NOT_FOUND,
                    &serde_json::json!({
                        "error": format!("no step `{name}`"),
                        "steps": known,
                    }),
                );
            };
            let mut lab = lab.lock().await;
            match lab.goto(scenario, index).await {
                Ok(()) => json(StatusCode::OK, &state(scenario, &lab)),
                Err(e) => json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &serde_json::json!({ "error": e.to_string() }),
                ),
            }
        }
        _ => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "error": "GET /step or POST /step/NAME" }),
        ),
    }
}
