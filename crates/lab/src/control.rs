//! The lab's control while it keeps running (`parallax lab --keep-running --control ADDR`), so a
//! test or a demo can move the running servers from step to step: `POST /step/NAME` applies that
//! step's topology to the resolver and the gateway; `GET /step` says which step they hold and
//! where each resolver view listens. Answers are JSON.
//!
//! A web page in a browser on the same machine can send requests here (a form's POST, or DNS
//! rebinding a name of its own to 127.0.0.1): only requests whose `Host` is the address the
//! control bound (or `localhost` with its port, when that address is loopback) and whose
//! `Origin`, when sent, is that same `http://` address are taken; others get 403 and move
//! nothing.

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
    let Ok(bound) = listener.local_addr() else {
        return;
    };
    parallax_gateway::admin::serve_http1(listener, false, stop, move |req| {
        let (scenario, lab) = (scenario.clone(), lab.clone());
        async move {
            match foreign(&req, bound) {
                Some(why) => json(StatusCode::FORBIDDEN, &serde_json::json!({ "error": why })),
                None => answer(req, &scenario, &lab).await,
            }
        }
    })
    .await;
}

/// Why a request is not the control's own (a foreign `Host` or `Origin`), or `None`.
fn foreign(req: &Request<Incoming>, bound: std::net::SocketAddr) -> Option<String> {
    let own = |authority: &str| {
        authority.eq_ignore_ascii_case(&bound.to_string())
            || (bound.ip().is_loopback()
                && authority.eq_ignore_ascii_case(&format!("localhost:{}", bound.port())))
    };
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    match host {
        Some(h) if own(h) => {}
        Some(h) => {
            return Some(format!(
                "Host `{}` is not this control's address {bound}",
                h.escape_debug()
            ));
        }
        None => return Some(format!("no Host: this control answers only Host {bound}")),
    }
    let origins: Vec<&str> = req
        .headers()
        .get_all(http::header::ORIGIN)
        .iter()
        .map(|o| o.to_str().unwrap_or("\u{fffd}"))
        .collect();
    for o in origins {
        let ok = o
            .strip_prefix("http://")
            .is_some_and(|authority| own(authority.trim_end_matches('/')));
        if !ok {
            return Some(format!(
                "Origin `{}` is not this control's own (http://{bound}): a web page may not move the lab",
                o.escape_debug()
            ));
        }
    }
    None
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
