//! The admin listener: `/metrics` (every target), `/probe?target=URL&module=NAME` (one probe now,
//! in blackbox_exporter's shape, so an existing scrape config with `metrics_path: /probe` and
//! `__param_target` relabelling works unchanged), `/healthz`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::metrics::{Metrics, Summary};
use crate::module::{Module, Prober};
use crate::watcher::State;

/// OpenMetrics text, which Prometheus scrapes (and asks for).
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The classic text format, for every other client (curl, promtool).
const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether the client's Accept names OpenMetrics (Prometheus's does).
fn wants_openmetrics(req: &Request<Incoming>) -> bool {
    req.headers()
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"))
}

/// The format the client asks for: OpenMetrics when its Accept names it, else the classic one.
fn exposition(req: &Request<Incoming>, m: &Metrics) -> (&'static str, String) {
    if wants_openmetrics(req) {
        (OPENMETRICS, m.encode())
    } else {
        (TEXT, m.encode_text())
    }
}

/// Serves until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    config: Arc<Config>,
    state: Arc<State>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (tcp, _) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        let (config, state) = (config.clone(), state.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let (config, state) = (config.clone(), state.clone());
                async move { Ok::<_, Infallible>(answer(req, &config, &state).await) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tcp), svc)
                .await;
        });
    }
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        res.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    res
}

/// blackbox_exporter's timeout offset: what is left to answer the scrape after the probe.
const TIMEOUT_OFFSET: std::time::Duration = std::time::Duration::from_millis(500);

/// The scrape's timeout (Prometheus's `X-Prometheus-Scrape-Timeout-Seconds`) less
/// [`TIMEOUT_OFFSET`], when the scraper said it; at least 100 ms.
fn scrape_timeout(req: &Request<Incoming>) -> Option<std::time::Duration> {
    let secs: f64 = req
        .headers()
        .get("x-prometheus-scrape-timeout-seconds")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if !secs.is_finite() || secs <= 0.0 {
        return None;
    }
    let t = std::time::Duration::from_secs_f64(secs.min(3600.0));
    Some(
        t.saturating_sub(TIMEOUT_OFFSET)
            .max(std::time::Duration::from_millis(100)),
    )
}

/// The host a `/probe` target names: a URL's, or `HOST:PORT`'s (tcp and dns modules).
fn target_host(target: &str) -> Option<String> {
    if let Ok(u) = url::Url::parse(target)
        && let Some(h) = u.host_str()
        && u.has_authority()
    {
        return Some(h.to_owned());
    }
    if let Ok(sa) = target.parse::<std::net::SocketAddr>() {
        return Some(sa.ip().to_string());
    }
    let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
    (!host.is_empty()).then(|| host.to_owned())
}

async fn answer(req: Request<Incoming>, config: &Config, state: &State) -> Response<Full<Bytes>> {
    if req.method() != http::Method::GET {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    match req.uri().path() {
        "/metrics" => {
            let (ct, body) = exposition(&req, &state.metrics);
            reply(StatusCode::OK, ct, body)
        }
        "/healthz" => reply(StatusCode::OK, "text/plain", "ok\n".into()),
        "/probe" => {
            let params: BTreeMap<String, String> = req
                .uri()
                .query()
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default();
            let Some(target) = params.get("target") else {
                return reply(
                    StatusCode::BAD_REQUEST,
                    "text/plain",
                    "target parameter is missing\n".into(),
                );
            };
            if let Some(allow) = &config.probe_allow {
                let host = target_host(target);
                if !host.as_deref().is_some_and(|h| allow.allows(h)) {
                    return reply(
                        StatusCode::FORBIDDEN,
                        "text/plain",
                        format!(
                            "target {target:?} is not in probe_allow (its host: {})\n",
                            host.as_deref().unwrap_or("none")
                        ),
                    );
                }
            }
            let name = params.get("module").map_or("http_2xx", String::as_str);
            let module = match config.modules.get(name) {
                Some(m) => m.clone(),
                // blackbox_exporter's own default module: the http prober with its defaults.
                None if name == "http_2xx" => Module {
                    prober: Prober::Http(Box::default()),
                    timeout: None,
                    args: vec!["--location".to_owned()],
                    written: "{\"prober\":\"http\"}".to_owned(),
                },
                None => {
                    return reply(
                        StatusCode::BAD_REQUEST,
                        "text/plain",
                        format!("unknown module \"{name}\"\n"),
                    );
                }
            };
            // As blackbox_exporter: the probe gets the scrape's timeout less an offset (capped by
            // the module's own), so a stalled target is `probe_success 0` in a scrape that
            // succeeds, not a failed scrape.
            let own = module.timeout.unwrap_or(config.timeout).min(config.timeout);
            let limit = scrape_timeout(&req).map_or(own, |t| t.min(own));
            let openmetrics = wants_openmetrics(&req);
            let (text, body) = match &module.prober {
                Prober::Tcp(t) => {
                    let out = crate::probers::tcp(target, t, limit).await;
                    (out.log.join("\n"), out.encode(openmetrics))
                }
                Prober::Dns(d) => {
                    let out = crate::probers::dns(target, d, limit).await;
                    (out.log.join("\n"), out.encode(openmetrics))
                }
                Prober::Parallax | Prober::Http(_) => {
                    let mut options = match crate::config::probe_options(&module.args, target) {
                        Ok(o) => o,
                        Err(e) => {
                            return reply(
                                StatusCode::BAD_REQUEST,
                                "text/plain",
                                format!("target {target:?}: {e}\n"),
                            );
                        }
                    };
                    if let Prober::Http(checks) = &module.prober {
                        checks.apply(&mut options);
                    }
                    options.max_time = options.max_time.min(limit);
                    let started = std::time::Instant::now();
                    let probed = tokio::time::timeout(
                        limit + std::time::Duration::from_millis(100),
                        parallax_probe::probe(&options, None, None),
                    )
                    .await;
                    let m = Metrics::new();
                    let text = match probed {
                        Ok(report) => {
                            let summary = Summary::of(&report, None);
                            m.record(&Vec::new(), &report, &summary, false);
                            if let Prober::Http(checks) = &module.prober {
                                let (ok, regex) = checks.judge(&report);
                                m.judged(&Vec::new(), ok, regex, checks.redirects_offered(&report));
                            }
                            report.to_text()
                        }
                        Err(_) => {
                            m.timed_out(&Vec::new(), started.elapsed().as_secs_f64());
                            format!("the probe did not end within {limit:?}\n")
                        }
                    };
                    let body = if openmetrics {
                        m.encode()
                    } else {
                        m.encode_text()
                    };
                    (text, body)
                }
            };
            if params.get("debug").is_some_and(|d| d == "true") {
                // blackbox_exporter's debug page: what the probe did, the metrics it would have
                // given, and the module.
                let metrics = body;
                let debug = format!(
                    "Logs for the probe:\n{text}\n\nMetrics that would have been returned:\n{metrics}\n\nModule configuration:\n{name}: {}\n",
                    module.written
                );
                return reply(StatusCode::OK, "text/plain; charset=utf-8", debug);
            }
            let ct = if openmetrics { OPENMETRICS } else { TEXT };
            reply(StatusCode::OK, ct, body)
        }
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    }
}
