//! One request's response: the canonical request decided by the rules, the integration (MOCK
//! or HTTP_PROXY), API Gateway's headers, and the body wrapper that writes the access-log line
//! when the response has ended.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use parallax_model::topology::Integration;
use parallax_model::{ErrorType, FrontDoor};

use crate::body::{Body, BoxError, InBody};
use crate::context::{Conn, MAX_BODY, Shared, Snapshot, Ticket};
use crate::pki::base64;
use crate::proxy::{BreakSlot, Target, UpstreamBreak};
use crate::record::{End, Finish};
use crate::request_id::{random, uuid4};
use parallax_rules::decision::{Context, Incoming as Req};
use parallax_rules::refusal::{BadRequest, Reject};

/// One request: decided by the rules' tables (then the shared usage store, if any), answered
/// (refusal, WebSocket switch, MOCK or upstream), decorated with API Gateway's headers, and
/// wrapped so that the access-log line is written when the response body ends.
pub(crate) async fn handle(
    req: Request<Incoming>,
    conn: Arc<Conn>,
    shared: Arc<Shared>,
) -> Response<Tracked> {
    let ticket = Ticket::begin(conn.activity.clone());
    let started = Instant::now();
    let request_id = uuid4();
    let snapshot = shared.snapshot.load();
    let (host, unreadable) = match authority_of(&req) {
        Ok(h) => (h, None),
        Err(r) => (String::new(), Some(r)),
    };
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    // A SigV4-signed request whose body is part of the signature is read whole first (within
    // the payload limit and the integration timeout); every other body streams.
    let (parts, body) = req.into_parts();
    // The room the body takes in the gateway-wide budget of signed bodies, held until the
    // request is answered: its Content-Length, or the limit when it does not say.
    let mut _room = None;
    let (body, early) = if crate::sigv4::Keys::needs_body(&parts) {
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(MAX_BODY)
            .min(MAX_BODY);
        let permits = u32::try_from(declared.div_ceil(1024).max(1)).unwrap_or(u32::MAX);
        let budget = shared.signed_bodies.clone();
        let read = tokio::time::timeout(Duration::from_secs(29), async move {
            let permit = budget.acquire_many_owned(permits).await;
            let body = Limited::new(body, MAX_BODY).collect().await;
            (permit, body)
        })
        .await;
        match read {
            Ok((Ok(permit), Ok(c))) => {
                _room = Some(permit);
                (InBody::Buffered(Some(c.to_bytes())), None)
            }
            Ok((_, Err(e)))
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                (InBody::Buffered(None), Some(Reject::TooLarge))
            }
            _ => (
                InBody::Buffered(None),
                Some(Reject::BadRequest(BadRequest::Body)),
            ),
        }
    } else {
        (InBody::Stream(body), None)
    };
    let signature = match &body {
        InBody::Buffered(b) => snapshot
            .keys
            .check(&parts, &host, b.as_deref().unwrap_or_default()),
        InBody::Stream(_) => snapshot.keys.check(&parts, &host, &[]),
    };
    let req = Request::from_parts(parts, body);
    let header_str = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let (ctx, decision) = match unreadable.or(early) {
        Some(r) => (Context::default(), Err(r)),
        None => snapshot.tables.decide(&Req {
            door: &conn.door,
            sni: conn.sni.as_deref(),
            host: &host,
            method: &method,
            path: &path,
            user_agent: header_str("user-agent"),
            referer: header_str("referer"),
            api_key: req.headers().get("x-api-key").map(HeaderValue::as_bytes),
            apigw_api_id: header_str("x-apigw-api-id"),
            client_ip: conn.peer.ip(),
            client_cert: &conn.client_cert,
            signature: &signature,
            header: parallax_rules::decision::Headers(&|name| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            }),
        }),
    };
    // A shared usage store (Redis) decides the plan's throttle and quota after the tables.
    let decision = match decision {
        Ok(mut admitted) => match admitted.pending.take() {
            Some(pending) => pending.await.map(|()| admitted),
            None => Ok(admitted),
        },
        Err(r) => Err(r),
    };
    let (outcome, upstream_latency, breaks) =
        answer(req, decision, &conn, &shared, &snapshot, &request_id).await;
    let (mut res, reject) = match outcome {
        Ok(res) => (res, None),
        Err(r) => (refusal(&r), Some(r)),
    };
    decorate(&mut res, &conn, &request_id);
    if method == "HEAD" {
        head_only(&mut res);
    }
    let bodyless = method == "HEAD"
        || res.status() == StatusCode::NO_CONTENT
        || res.status() == StatusCode::NOT_MODIFIED;
    let finish = Finish {
        metrics: shared.metrics.clone(),
        log: shared.log.clone(),
        conn: conn.clone(),
        request_id,
        host,
        method,
        raw_path: path,
        ctx,
        status: res.status().as_u16(),
        reject,
        started,
        upstream_latency,
        breaks,
        bodyless,
        _ticket: ticket,
    };
    // The access-log line is written when the response body has ended, so it says whether the
    // client got all of it.
    res.map(|inner| Tracked {
        inner,
        finish: Some(finish),
        failed: None,
    })
}

/// What answers an admitted request: a refusal, the WebSocket switch, a MOCK or the upstream
/// (with its latency, and the slot where a broken upstream body is noted).
async fn answer(
    req: Request<InBody>,
    decision: Result<parallax_rules::decision::Admitted<'_>, Reject>,
    conn: &Conn,
    shared: &Shared,
    snapshot: &Snapshot,
    request_id: &str,
) -> (
    Result<Response<Body>, Reject>,
    Option<Duration>,
    Option<BreakSlot>,
) {
    let too_large = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY as u64);
    let mut upstream_latency = None;
    let mut breaks = None;
    let outcome: Result<Response<Body>, Reject> = match decision {
        Err(r) => Err(r),
        Ok(_) if too_large => Err(Reject::TooLarge),
        // A WebSocket API: `$connect` decides (a MOCK other than 2xx refuses the connection
        // with its status and body); a valid handshake is switched to the WebSocket protocol.
        Ok(admitted) if admitted.websocket.is_some() => match &admitted.route.integration {
            Integration::Mock { status, body, .. } if !(200..300).contains(status) => {
                let mut res = Response::new(shared_body(body.bytes()));
                *res.status_mut() = StatusCode::from_u16(*status).unwrap_or(StatusCode::FORBIDDEN);
                Ok(res)
            }
            _ => switch_to_websocket(req, &admitted, conn, shared, request_id),
        },
        Ok(admitted) => match &admitted.route.integration {
            Integration::Mock {
                status,
                body,
                headers,
            } => Ok(mock(*status, body, headers)),
            Integration::HttpProxy {
                uri,
                timeout_ms,
                ca,
                client_certificate,
            } => {
                let target = Target {
                    uri,
                    params: &admitted.params,
                    timeout: Duration::from_millis(u64::from(*timeout_ms)),
                    ca: ca.as_deref(),
                    client_cert: client_certificate.as_deref(),
                };
                proxy(req, &target, &snapshot.upstreams)
                    .await
                    .map(|(res, took, slot)| {
                        upstream_latency = Some(took);
                        breaks = Some(slot);
                        res
                    })
            }
        },
    };
    (outcome, upstream_latency, breaks)
}

/// A valid WebSocket opening handshake: 101 Switching Protocols, and the connection served as
/// WebSocket messages on its own task.
fn switch_to_websocket(
    req: Request<InBody>,
    admitted: &parallax_rules::decision::Admitted<'_>,
    conn: &Conn,
    shared: &Shared,
    request_id: &str,
) -> Result<Response<Body>, Reject> {
    let accept = crate::websocket::handshake(&req, conn.protocol)?;
    let answer = crate::websocket::Answer {
        routes: admitted
            .websocket
            .cloned()
            .unwrap_or_else(|| unreachable!()),
        connection_id: request_id.to_owned(),
    };
    let on = hyper::upgrade::on(req);
    tokio::spawn(crate::websocket::serve(on, answer, shared.idle_timeout));
    let mut res = Response::new(full(String::new()));
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert("sec-websocket-accept", v);
    }
    Ok(res)
}

/// A MOCK integration's response: its status, body and headers (JSON unless it says otherwise).
fn mock(
    status: u16,
    body: &parallax_model::topology::MockBody,
    headers: &std::collections::BTreeMap<String, String>,
) -> Response<Body> {
    // The configuration's own buffer, shared: 128 streams sending one MOCK body hold it once.
    let mut res = Response::new(shared_body(body.bytes()));
    *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            res.headers_mut().insert(k, v);
        }
    }
    res.headers_mut()
        .entry(header::CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("application/json"));
    res
}

/// An HTTP_PROXY integration: the request forwarded upstream; the response, how long the
/// upstream took, and the slot where a broken upstream body is noted.
async fn proxy(
    req: Request<InBody>,
    target: &Target<'_>,
    upstreams: &crate::proxy::Upstreams,
) -> Result<(Response<Body>, Duration, BreakSlot), Reject> {
    let (parts, body) = req.into_parts();
    // A client whose body breaks (bad chunked framing, cut short) is told 400, not
    // blamed on the upstream: the wrapper notes it, as a value.
    let client_broke = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let body: Body = ClientBody {
        inner: Limited::new(body, MAX_BODY),
        broke: client_broke.clone(),
    }
    .boxed();
    let slot = BreakSlot::default();
    match upstreams.forward(target, parts, body, &slot).await {
        Ok((res, took)) => Ok((res, took, slot)),
        Err(Reject::IntegrationFailure(_))
            if client_broke.load(std::sync::atomic::Ordering::SeqCst) =>
        {
            Err(Reject::BadRequest(BadRequest::Body))
        }
        Err(r) => Err(r),
    }
}

/// A refusal as API Gateway answers it: status, JSON body, `x-amzn-ErrorType`.
fn refusal(r: &Reject) -> Response<Body> {
    let mut res = Response::new(full(r.body()));
    *res.status_mut() = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::FORBIDDEN);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Every refusal's type is one parallax knows, so its name is static.
    if let Some(t) = r.error_type().as_ref().and_then(ErrorType::known_name) {
        h.insert("x-amzn-errortype", HeaderValue::from_static(t));
    }
    // 426 names the protocol to switch to (RFC 9110 §15.5.22) and the WebSocket
    // version this server speaks (RFC 6455 §4.2.2).
    if *r == Reject::UpgradeRequired {
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert("sec-websocket-version", HeaderValue::from_static("13"));
    }
    res
}

/// A HEAD response has the GET's head and no content (RFC 9110 §9.3.2). HTTP/1.1 drops the body
/// itself; on HTTP/2 a DATA frame after it would be a protocol error, so the body goes here, and
/// its length stays in Content-Length.
fn head_only(res: &mut Response<Body>) {
    let hint = hyper::body::Body::size_hint(res.body());
    if let Some(n) = hint.exact()
        && !res.headers().contains_key(header::CONTENT_LENGTH)
    {
        res.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    *res.body_mut() = full(String::new());
}

/// The authority a request names: `:authority` on HTTP/2 (a differing Host is malformed, RFC
/// 9113 §8.3.1), the target's on an absolute-form HTTP/1.1 request (RFC 9112 §3.2.2), else
/// the one Host header (none or several: 400, RFC 9112 §3.2).
pub(crate) fn authority_of<B>(req: &Request<B>) -> Result<String, Reject> {
    let bad = Reject::BadRequest(BadRequest::Host);
    let mut hosts = req.headers().get_all(header::HOST).iter();
    let host = hosts
        .next()
        .map(|h| h.to_str().map_err(|_| bad.clone()))
        .transpose()?;
    if hosts.next().is_some() {
        return Err(bad);
    }
    match req.uri().authority() {
        Some(a) if req.version() == http::Version::HTTP_2 => match host {
            Some(h) if !h.eq_ignore_ascii_case(a.as_str()) => Err(bad),
            _ => Ok(a.as_str().to_owned()),
        },
        Some(a) => Ok(a.as_str().to_owned()),
        None => host.map(str::to_owned).ok_or(bad),
    }
}

/// A response body that writes the access-log line when it ends.
pub(crate) struct Tracked {
    inner: Body,
    finish: Option<Finish>,
    /// The body failed: the error is given on the next poll. Hyper's server ends a connection
    /// at a body error without flushing what it had buffered, so a pending poll first lets it
    /// write out what the client was sent before the error (the head, the body so far).
    failed: Option<BoxError>,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        use std::task::Poll;
        let this = self.get_mut();
        if let Some(e) = this.failed.take() {
            return Poll::Ready(Some(Err(e)));
        }
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                if let Some(f) = this.finish.take() {
                    f.write(End::Complete);
                }
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                if let Some(f) = this.finish.take() {
                    let why = f
                        .breaks
                        .as_ref()
                        .and_then(|b| b.get().copied())
                        .unwrap_or(UpstreamBreak::Other);
                    f.write(End::Upstream(why));
                }
                this.failed = Some(e);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(f) = self.finish.take() {
            let end = if f.bodyless || hyper::body::Body::is_end_stream(&self.inner) {
                End::Complete
            } else {
                End::ClientGone
            };
            f.write(end);
        }
    }
}

/// The client's request body on its way upstream; notes whether it broke.
pub(crate) struct ClientBody {
    inner: Limited<InBody>,
    broke: Arc<std::sync::atomic::AtomicBool>,
}

impl hyper::body::Body for ClientBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = std::pin::Pin::new(&mut this.inner).poll_frame(cx);
        if let std::task::Poll::Ready(Some(Err(e))) = &polled
            && e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_none()
        {
            this.broke.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Headers every API Gateway response carries, and the CloudFront ones on the edge door.
pub(crate) fn decorate(res: &mut Response<Body>, conn: &Conn, request_id: &str) {
    let status = res.status();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    if let Ok(v) = HeaderValue::from_str(&base64(&random::<11>())) {
        h.insert("x-amz-apigw-id", v);
    }
    // Captures of API Gateway's answers carry `Server: Server` (third-party, reference §9).
    h.insert(header::SERVER, HeaderValue::from_static("Server"));
    if conn.door == FrontDoor::Edge {
        let id = uuid4().replace('-', "");
        if let Ok(v) = HeaderValue::from_str(&format!("1.1 {id}.cloudfront.net (CloudFront)")) {
            h.insert(header::VIA, v);
        }
        let cache = if status.is_client_error() || status.is_server_error() {
            "Error from cloudfront"
        } else {
            "Miss from cloudfront"
        };
        h.insert("x-cache", HeaderValue::from_static(cache));
        h.insert("x-amz-cf-pop", HeaderValue::from_static("IAD89-C1"));
        if let Ok(v) = HeaderValue::from_str(&base64(&random::<42>()).replace(['+', '/'], "-")) {
            h.insert("x-amz-cf-id", v);
        }
    }
}

/// A body of bytes held elsewhere too (a reference count, not a copy).
pub(crate) fn shared_body(b: Bytes) -> Body {
    Full::new(b).map_err(|never| match never {}).boxed()
}

pub(crate) fn full(s: String) -> Body {
    Full::new(Bytes::from(s))
        .map_err(|never| match never {})
        .boxed()
}
