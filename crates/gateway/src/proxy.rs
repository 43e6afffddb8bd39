//! HTTP_PROXY integrations: the request goes on to the upstream with path parameters
//! substituted, bodies streamed both ways, upstream TLS with SNI, a custom CA and an optional
//! client certificate (the on-prem system wants one from the gateway). One connection pool
//! ([`crate::pool`]) per TLS setting, built with the tables.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, Uri};
use http_body_util::BodyExt;
use rustls::RootCertStore;

use crate::certs::{CertError, LabCerts};
use crate::pool::{OriginRef, Pool, SendError, Streaming};
use crate::tls::provider;
use parallax_rules::refusal::{Reject, UpstreamFailure};

pub use crate::body::{Body, BoxError};

pub use crate::pool::UpstreamRoutes;

/// The upstream connection pools, one per TLS setting (CA reference, client certificate
/// reference); a handful at most, so found by a linear search that allocates nothing.
#[derive(Clone, Default)]
pub struct Upstreams {
    pools: Vec<(Option<String>, Option<String>, Pool)>,
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstreams")
            .field("pools", &self.pools.len())
            .finish()
    }
}

impl Upstreams {
    fn pool(&self, ca: Option<&str>, client_cert: Option<&str>) -> Option<&Pool> {
        self.pools
            .iter()
            .find(|(a, c, _)| a.as_deref() == ca && c.as_deref() == client_cert)
            .map(|(_, _, p)| p)
    }

    /// Makes (once) the pool for one TLS setting.
    pub fn prepare(
        &mut self,
        ca: Option<&str>,
        client_cert: Option<&str>,
        certs: &mut LabCerts,
        routes: &std::sync::Arc<UpstreamRoutes>,
        metrics: Option<&std::sync::Arc<crate::metrics::GatewayMetrics>>,
    ) -> Result<(), CertError> {
        if self.pool(ca, client_cert).is_some() {
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
        let pool = Pool::new(config, routes.clone(), metrics.cloned());
        self.pools
            .push((ca.map(str::to_owned), client_cert.map(str::to_owned), pool));
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
        let pool = self
            .pool(target.ca, target.client_cert)
            .ok_or(Reject::IntegrationFailure(UpstreamFailure::NoClient))?;
        let bad_uri =
            |detail: String| Reject::IntegrationFailure(UpstreamFailure::BadUri { detail });
        let uri = substitute(target.uri, target.params, parts.uri.query()).map_err(bad_uri)?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad_uri(format!("`{uri}` is neither http:// nor https://"))),
        };
        let (Some(authority), Some(host)) = (uri.authority(), uri.host()) else {
            return Err(bad_uri(format!("`{uri}` names no host")));
        };
        let origin = OriginRef {
            https,
            host: host.trim_start_matches('[').trim_end_matches(']'),
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
        };
        // Origin-form on the wire (RFC 9112 §3.2.1), the authority in Host.
        let path: Uri = match uri.path_and_query() {
            Some(pq) => Uri::from(pq.clone()),
            None => Uri::from_static("/"),
        };
        let mut headers = parts.headers;
        strip_hop_by_hop(&mut headers);
        if let Ok(host) = HeaderValue::from_str(authority.as_str()) {
            headers.insert(header::HOST, host);
        }
        let mut req = Request::new(body);
        *req.method_mut() = parts.method;
        *req.uri_mut() = path;
        *req.headers_mut() = headers;
        let started = Instant::now();
        // One timer for the whole exchange: it bounds the head here, then the body (a second
        // timer per request showed in the proxy benchmark's profile).
        let mut sleep = Box::pin(tokio::time::sleep(target.timeout));
        let sent = pool.send(origin, req);
        tokio::pin!(sent);
        let res = std::future::poll_fn(|cx| {
            if let std::task::Poll::Ready(r) = sent.as_mut().poll(cx) {
                return std::task::Poll::Ready(Some(r));
            }
            sleep.as_mut().poll(cx).map(|()| None)
        })
        .await;
        let res = match res {
            None => return Err(Reject::IntegrationTimeout),
            Some(Err(e)) => return Err(classify(e)),
            Some(Ok(res)) => res,
        };
        let took = started.elapsed();
        let (mut parts, body) = res.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        let body = Deadline {
            inner: body,
            sleep,
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
    /// Any other error.
    Other,
}

impl UpstreamBreak {
    /// The break in a few words, for the access log.
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
    inner: Streaming,
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
    /// The integration's upstream URL, with `{name}` placeholders.
    pub uri: &'a str,
    /// The path parameters to put in it.
    pub params: &'a BTreeMap<String, String>,
    /// The integration timeout.
    pub timeout: Duration,
    /// The CA that signs the upstream's certificate (`lab:NAME` or a PEM path), if not the
    /// system's.
    pub ca: Option<&'a str>,
    /// The client certificate to present upstream (`lab:NAME`), if any.
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

/// Keeps end-to-end headers only (RFC 9110 §7.6.1): hop-by-hop ones and Host are not
/// forwarded.
fn strip_hop_by_hop(h: &mut HeaderMap) {
    if h.contains_key(header::CONNECTION) {
        let named_in_connection: Vec<HeaderName> = h
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
            .collect();
        for n in named_in_connection {
            h.remove(n);
        }
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
        h.remove(n);
    }
    h.remove("keep-alive");
}

/// An upstream failure in API Gateway's terms, classified from the error and its causes.
fn classify(e: SendError) -> Reject {
    let cause: Box<dyn std::error::Error + 'static> = match e {
        SendError::NotMapped { host, port } => {
            return Reject::IntegrationFailure(UpstreamFailure::NotMapped { host, port });
        }
        SendError::Overloaded(cap) => {
            return Reject::IntegrationFailure(UpstreamFailure::Overloaded { cap: cap.as_str() });
        }
        SendError::Connect(io) | SendError::Tls(io) => Box::new(io),
        SendError::Http(h) => Box::new(h),
    };
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&*cause);
    let mut failure = None;
    while let Some(s) = source {
        if s.downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            return Reject::TooLarge;
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
            } else if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                failure.get_or_insert(UpstreamFailure::Closed);
            }
        }
        source = s.source();
    }
    Reject::IntegrationFailure(failure.unwrap_or_else(|| UpstreamFailure::Other {
        detail: cause.to_string(),
    }))
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
        let mut f = h.clone();
        strip_hop_by_hop(&mut f);
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
