//! HTTP_PROXY integrations: the request goes on to the upstream with path parameters
//! substituted, bodies streamed both ways, upstream TLS with SNI, a custom CA and an optional
//! client certificate (the on-prem system wants one from the gateway). One pooled client per
//! TLS setting, built with the tables.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, Uri};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;

use crate::certs::{CertError, LabCerts};
use crate::reject::{Reject, UpstreamFailure};
use crate::tls::provider;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Body = BoxBody<Bytes, BoxError>;

type HttpsClient = Client<hyper_rustls::HttpsConnector<MappedConnector>, Body>;

/// Where upstream hosts really are. The lab maps each on-prem name (`onprem.corp.example.com:443`)
/// to the loopback socket that plays it and sets `only_mapped`, so the gateway never resolves
/// or dials anything else. The standalone gateway leaves the map empty and uses the system's DNS.
#[derive(Clone, Debug, Default)]
pub struct UpstreamRoutes {
    pub map: HashMap<(String, u16), std::net::SocketAddr>,
    pub only_mapped: bool,
}

/// Dials mapped upstreams at their mapped socket (TLS still sends the original name as SNI),
/// and counts the connections it opens while they live (the pool's state, for `/metrics`).
#[derive(Clone, Debug)]
pub struct MappedConnector {
    inner: HttpConnector,
    routes: std::sync::Arc<UpstreamRoutes>,
    metrics: Option<std::sync::Arc<crate::metrics::GatewayMetrics>>,
}

/// An upstream connection, counted open until it is dropped (closed by either side, or let go by
/// the pool).
#[derive(Debug)]
pub struct Counted<T> {
    inner: T,
    metrics: Option<std::sync::Arc<crate::metrics::GatewayMetrics>>,
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        if let Some(m) = &self.metrics {
            m.upstream_closed();
        }
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for Counted<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for Counted<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<T: hyper_util::client::legacy::connect::Connection>
    hyper_util::client::legacy::connect::Connection for Counted<T>
{
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        self.inner.connected()
    }
}

impl tower_service::Service<Uri> for MappedConnector {
    type Response = Counted<<HttpConnector as tower_service::Service<Uri>>::Response>;
    type Error = BoxError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, BoxError>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let host = uri
            .host()
            .unwrap_or("")
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        let target = match self.routes.map.get(&(host.clone(), port)) {
            Some(addr) => match format!("http://{addr}").parse::<Uri>() {
                Ok(u) => u,
                Err(e) => return Box::pin(std::future::ready(Err(e.into()))),
            },
            None if self.routes.only_mapped => {
                return Box::pin(std::future::ready(Err(NotMapped { host, port }.into())));
            }
            None => uri,
        };
        let fut = self.inner.call(target);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let r = fut.await;
            if let Some(m) = &metrics {
                m.upstream_connect(r.is_ok());
            }
            Ok(Counted { inner: r?, metrics })
        })
    }
}

/// The upstream clients, keyed by (CA reference, client certificate reference).
#[derive(Clone, Default)]
pub struct Upstreams {
    clients: HashMap<(Option<String>, Option<String>), HttpsClient>,
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstreams")
            .field("clients", &self.clients.len())
            .finish()
    }
}

impl Upstreams {
    /// Makes (once) the client for one TLS setting.
    pub fn prepare(
        &mut self,
        ca: Option<&str>,
        client_cert: Option<&str>,
        certs: &mut LabCerts,
        routes: &std::sync::Arc<UpstreamRoutes>,
        metrics: Option<&std::sync::Arc<crate::metrics::GatewayMetrics>>,
    ) -> Result<(), CertError> {
        let key = (ca.map(str::to_owned), client_cert.map(str::to_owned));
        if self.clients.contains_key(&key) {
            return Ok(());
        }
        let mut roots = RootCertStore::empty();
        if let Some(ca) = ca {
            roots.add_parsable_certificates(certs.ca_certs(ca)?);
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| CertError::File {
                path: "<upstream TLS>".into(),
                message: e.to_string(),
            })?
            .with_root_certificates(roots);
        let config = match client_cert {
            Some(r) => {
                let id = certs.identity(r)?;
                builder
                    .with_client_auth_cert(id.chain.clone(), id.key_der())
                    .map_err(|e| CertError::File {
                        path: r.into(),
                        message: e.to_string(),
                    })?
            }
            None => builder.with_no_client_auth(),
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let mapped = MappedConnector {
            inner: http,
            routes: routes.clone(),
            metrics: metrics.cloned(),
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .wrap_connector(mapped);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        self.clients.insert(key, client);
        Ok(())
    }

    /// Sends the request on. Returns the response and how long the upstream took to answer its
    /// head. `timeout` covers the whole exchange, the response body included: a body still
    /// running at the deadline, or one the upstream breaks off, ends the client's response with
    /// an error (an abort, never a clean end), and `breaks` says why.
    pub async fn forward(
        &self,
        target: &Target<'_>,
        parts: http::request::Parts,
        body: Body,
        breaks: &BreakSlot,
    ) -> Result<(Response<Body>, Duration), Reject> {
        let key = (
            target.ca.map(str::to_owned),
            target.client_cert.map(str::to_owned),
        );
        let client = self
            .clients
            .get(&key)
            .ok_or(Reject::IntegrationFailure(UpstreamFailure::NoClient))?;
        let uri = substitute(target.uri, target.params, parts.uri.query())
            .map_err(|detail| Reject::IntegrationFailure(UpstreamFailure::BadUri { detail }))?;
        let mut req = Request::builder()
            .method(parts.method)
            .uri(uri.clone())
            .body(body)
            .map_err(|e| {
                Reject::IntegrationFailure(UpstreamFailure::BadUri {
                    detail: e.to_string(),
                })
            })?;
        *req.headers_mut() = forwardable(&parts.headers);
        if let Some(host) = uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            req.headers_mut().insert(header::HOST, host);
        }
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + target.timeout;
        let res = match tokio::time::timeout_at(deadline, client.request(req)).await {
            Err(_) => return Err(Reject::IntegrationTimeout),
            Ok(Err(e)) => return Err(classify(&e)),
            Ok(Ok(res)) => res,
        };
        let took = started.elapsed();
        let (mut parts, body) = res.into_parts();
        parts.headers = forwardable(&parts.headers);
        let body = Deadline {
            inner: body.map_err(|e| Box::new(e) as BoxError).boxed(),
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            breaks: breaks.clone(),
        };
        Ok((Response::from_parts(parts, body.boxed()), took))
    }
}

/// Why an upstream response body did not end cleanly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamBreak {
    /// The integration timeout ran out mid-body.
    Timeout,
    /// The connection was reset.
    Reset,
    /// The connection closed before the length the head announced.
    Truncated,
    /// The framing (chunked encoding) was invalid.
    Malformed,
    Other,
}

impl UpstreamBreak {
    pub fn describe(self) -> &'static str {
        match self {
            UpstreamBreak::Timeout => "the upstream response body ran past the integration timeout",
            UpstreamBreak::Reset => "the upstream reset the connection mid-body",
            UpstreamBreak::Truncated => "the upstream closed before the announced end of the body",
            UpstreamBreak::Malformed => "the upstream's body framing was invalid",
            UpstreamBreak::Other => "the upstream body failed",
        }
    }

    fn of(e: &(dyn std::error::Error + 'static)) -> UpstreamBreak {
        let mut source = Some(e);
        while let Some(s) = source {
            if let Some(h) = s.downcast_ref::<hyper::Error>() {
                if h.is_incomplete_message() {
                    return UpstreamBreak::Truncated;
                }
                if h.is_parse() {
                    return UpstreamBreak::Malformed;
                }
                if h.is_timeout() {
                    return UpstreamBreak::Timeout;
                }
            }
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                use std::io::ErrorKind as K;
                return match io.kind() {
                    K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
                        UpstreamBreak::Reset
                    }
                    K::UnexpectedEof => UpstreamBreak::Truncated,
                    K::InvalidData | K::InvalidInput => UpstreamBreak::Malformed,
                    _ => UpstreamBreak::Other,
                };
            }
            source = s.source();
        }
        UpstreamBreak::Other
    }
}

/// Where a response body records why it broke off.
pub type BreakSlot = std::sync::Arc<std::sync::OnceLock<UpstreamBreak>>;

/// An upstream body held to the integration deadline.
struct Deadline {
    inner: Body,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    breaks: BreakSlot,
}

impl hyper::body::Body for Deadline {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        use std::future::Future;
        use std::task::Poll;
        let this = self.get_mut();
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Err(e))) => {
                let _ = this.breaks.set(UpstreamBreak::of(&*e));
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending => {
                if this.sleep.as_mut().poll(cx).is_ready() {
                    let _ = this.breaks.set(UpstreamBreak::Timeout);
                    return Poll::Ready(Some(Err(UpstreamBreak::Timeout.describe().into())));
                }
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Where one integration sends a request.
#[derive(Debug)]
pub struct Target<'a> {
    pub uri: &'a str,
    pub params: &'a BTreeMap<String, String>,
    pub timeout: Duration,
    pub ca: Option<&'a str>,
    pub client_cert: Option<&'a str>,
}

/// The upstream URI: `{name}` and `{name+}` replaced by the path parameters, the query kept.
pub fn substitute(
    template: &str,
    params: &BTreeMap<String, String>,
    query: Option<&str>,
) -> Result<Uri, String> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("unclosed `{{` in the integration uri {template}"));
        };
        let name = rest[open + 1..open + close].trim_end_matches('+');
        let value = params.get(name).ok_or_else(|| {
            format!("the integration uri names `{{{name}}}`, which the route does not capture")
        })?;
        out.push_str(value);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    if let Some(q) = query {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(q);
    }
    out.parse()
        .map_err(|e| format!("the upstream uri `{out}` is not valid: {e}"))
}

/// End-to-end headers only (RFC 9110 §7.6.1): hop-by-hop ones and Host are not forwarded.
fn forwardable(h: &HeaderMap) -> HeaderMap {
    let mut out = h.clone();
    let named_in_connection: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named_in_connection {
        out.remove(n);
    }
    for n in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
        header::HOST,
    ] {
        out.remove(n);
    }
    out.remove("keep-alive");
    out
}

/// An upstream failure in API Gateway's terms, classified from the error's causes.
fn classify(e: &hyper_util::client::legacy::Error) -> Reject {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut failure = None;
    while let Some(s) = source {
        if s.downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            return Reject::TooLarge;
        }
        if let Some(n) = s.downcast_ref::<NotMapped>() {
            return Reject::IntegrationFailure(UpstreamFailure::NotMapped {
                host: n.host.clone(),
                port: n.port,
            });
        }
        let tls = s.downcast_ref::<rustls::Error>().or_else(|| {
            s.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|i| i.downcast_ref::<rustls::Error>())
        });
        if let Some(t) = tls {
            return Reject::IntegrationFailure(UpstreamFailure::Tls {
                detail: t.to_string(),
            });
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            failure.get_or_insert(match io.kind() {
                K::ConnectionRefused => UpstreamFailure::Refused,
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    UpstreamFailure::Closed
                }
                _ => UpstreamFailure::Connect {
                    detail: io.to_string(),
                },
            });
        }
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_parse() {
                failure.get_or_insert(UpstreamFailure::Protocol {
                    detail: h.to_string(),
                });
            } else if h.is_incomplete_message() || h.is_closed() {
                failure.get_or_insert(UpstreamFailure::Closed);
            }
        }
        source = s.source();
    }
    Reject::IntegrationFailure(failure.unwrap_or_else(|| UpstreamFailure::Other {
        detail: e.to_string(),
    }))
}

/// A name the lab's upstream map does not hold (the lab dials nothing else).
#[derive(Debug, thiserror::Error)]
#[error("{host}:{port} is not in the lab's upstream map")]
struct NotMapped {
    host: String,
    port: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_keeps_greedy_paths_and_queries() {
        let mut p = BTreeMap::new();
        p.insert("proxy".to_owned(), "orders/42".to_owned());
        p.insert("id".to_owned(), "7".to_owned());
        assert_eq!(
            substitute("https://onprem.example/{proxy}", &p, Some("a=1"))
                .unwrap()
                .to_string(),
            "https://onprem.example/orders/42?a=1"
        );
        assert_eq!(
            substitute("http://h:8080/x/{id}?v=2", &p, Some("a=1"))
                .unwrap()
                .to_string(),
            "http://h:8080/x/7?v=2&a=1"
        );
        assert!(substitute("https://h/{missing}", &p, None).is_err());
    }

    #[test]
    fn hop_by_hop_headers_stay_behind() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("x-api-key", HeaderValue::from_static("k"));
        h.insert(header::HOST, HeaderValue::from_static("a"));
        let f = forwardable(&h);
        assert!(
            f.get("x-secret-hop").is_none()
                && f.get(header::HOST).is_none()
                && f.get(header::CONNECTION).is_none()
        );
        assert!(
            f.get("x-api-key").is_some(),
            "API Gateway passes request headers on to HTTP_PROXY"
        );
    }
}
