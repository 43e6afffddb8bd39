//! The admin listener (`parallax gateway --admin ADDR:PORT`): `/metrics` (the classic text
//! format, which Prometheus scrapes and `promtool check metrics` reads), `/healthz` (the process
//! answers) and `/readyz` (the doors are up and not shutting down).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::GatewayMetrics;

/// Serves until `stop` turns true; `ready` is what `/readyz` reports.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<GatewayMetrics>,
    ready: Arc<AtomicBool>,
    stop: watch::Receiver<bool>,
) {
    serve_http1(listener, true, stop, move |req| {
        let (metrics, ready) = (metrics.clone(), ready.clone());
        async move { answer(&req, &metrics, &ready) }
    })
    .await;
}

/// A small HTTP/1.1 server: each connection on `listener` is answered by `answer` until `stop`
/// turns true; `keep_alive: false` closes each connection after one request. On stop it waits
/// (up to 5 s) for the connections in flight, so that nothing `answer` holds outlives the call.
/// The admin listener and the lab's control (`parallax lab --control`) are both this.
pub async fn serve_http1<F, Fut>(
    listener: TcpListener,
    keep_alive: bool,
    mut stop: watch::Receiver<bool>,
    answer: F,
) where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (tcp, _) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(_) => continue,
            },
            _ = stop.changed() => break,
        };
        // Finished connections are reaped as new ones come, so the set stays small.
        while connections.try_join_next().is_some() {}
        let answer = answer.clone();
        let mut stopping = stop.clone();
        connections.spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let answered = answer(req);
                async move { Ok::<_, Infallible>(answered.await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(keep_alive)
                .serve_connection(TokioIo::new(tcp), svc);
            tokio::pin!(conn);
            // A kept-alive connection (a Prometheus scraper's) ends its request in flight and
            // closes when the server stops, rather than holding the stop up.
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(answer);
    let drained = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

/// A response with a fixed body and its content type.
pub fn reply(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    res
}

fn answer(
    req: &Request<Incoming>,
    metrics: &GatewayMetrics,
    ready: &AtomicBool,
) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (req.method(), req.uri().path()) {
        (&http::Method::GET, "/metrics") => (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.encode_text(),
        ),
        (&http::Method::GET, "/healthz") => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
        (&http::Method::GET, "/readyz") if ready.load(Ordering::SeqCst) => {
            (StatusCode::OK, "text/plain", "ready\n".to_owned())
        }
        (&http::Method::GET, "/readyz") => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "not ready\n".to_owned(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".to_owned(),
        ),
    };
    reply(status, content_type, body)
}
