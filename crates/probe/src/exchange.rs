//! The HTTP rung: one request over HTTP/1.1 or HTTP/2, the head bounded, the body kept only
//! as far as the report shows it, and the failure classified.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use parallax_model::{ErrorType, HttpOutcome};

use crate::failure::HttpFailure;
use crate::limits::{BODY_KEEP, MAX_HEAD, left, ms};
use crate::observation::HttpLayer;
use crate::options::ProbeOptions;

/// The HTTP exchange, with the head bounded to [`MAX_HEAD`] and the body kept for the report
/// only as far as [`BODY_KEEP`]; with `-o` (or `-s` without it) the whole body goes to its sink.
pub(crate) async fn http_exchange<IO>(
    io: TokioIo<IO>,
    h2: bool,
    opts: &ProbeOptions,
    deadline: Instant,
) -> (HttpLayer, Option<HttpOutcome>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let t0 = Instant::now();
    let mut layer = HttpLayer::default();
    let limit = left(deadline).min(opts.transfer_limit());
    let mut sink = match Sink::open(opts) {
        Ok(s) => s,
        Err(detail) => {
            layer.fail(HttpFailure::Output { detail });
            return (layer, None);
        }
    };
    let result = tokio::time::timeout(limit, exchange(io, h2, opts, &mut sink, t0)).await;
    layer.elapsed_ms = ms(t0.elapsed());
    match result {
        Err(_) => {
            sink.abandon();
            layer.fail(HttpFailure::TimedOut {
                limit_ms: limit.as_millis() as u64,
            });
            (layer, None)
        }
        Ok(Err(e)) => {
            sink.abandon();
            layer.fail(e);
            (layer, None)
        }
        Ok(Ok(r)) => {
            if let Err(detail) = sink.finish() {
                layer.fail(HttpFailure::Output { detail });
                return (layer, None);
            }
            const SHOWN: [&str; 8] = [
                "x-amzn-requestid",
                "x-amzn-errortype",
                "x-amz-apigw-id",
                "apigw-requestid",
                "via",
                "x-cache",
                "content-type",
                "server",
            ];
            layer.headers = SHOWN
                .iter()
                .filter_map(|n| {
                    r.headers
                        .get(*n)
                        .and_then(|v| v.to_str().ok())
                        .map(|v| ((*n).to_owned(), v.to_owned()))
                })
                .collect();
            layer.all_headers = r
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            layer.error_type = r
                .headers
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .map(ErrorType::from_header);
            layer.status = Some(r.status);
            layer.version = Some(r.version.to_owned());
            layer.first_byte_ms = Some(ms(r.first_byte));
            layer.size_download = r.size;
            layer.body = r.kept;
            layer.body_truncated = r.truncated;
            let outcome = HttpOutcome {
                status: r.status,
                error_type: layer.error_type.clone(),
                // A WebSocket connection's body is its first message back, when one came.
                body: if r.status == 101 {
                    r.ws_reply.clone()
                } else {
                    (!layer.body_truncated).then(|| layer.body.clone())
                },
                headers: layer
                    .all_headers
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect(),
            };
            (layer, Some(outcome))
        }
    }
}

/// The bytes of a response head as they came, up to the blank line; an interim `1xx` head is
/// dropped for the one after it.
#[derive(Default)]
struct HeadTap {
    bytes: Vec<u8>,
    done: bool,
}

impl HeadTap {
    fn push(&mut self, data: &[u8]) {
        if self.done {
            return;
        }
        self.bytes.extend_from_slice(data);
        while let Some(end) = find(&self.bytes, b"\r\n\r\n") {
            if self.bytes.starts_with(b"HTTP/1.1 1") || self.bytes.starts_with(b"HTTP/1.0 1") {
                self.bytes.drain(..end + 4);
                continue;
            }
            self.bytes.truncate(end + 4);
            self.done = true;
            return;
        }
        if self.bytes.len() > MAX_HEAD {
            self.bytes.clear();
            self.done = true;
        }
    }

    fn head(&self) -> Option<Vec<u8>> {
        (self.done && !self.bytes.is_empty()).then(|| self.bytes.clone())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A connection whose reads feed a [`HeadTap`] when one is set.
struct Tapped<IO> {
    inner: IO,
    tap: Option<Arc<std::sync::Mutex<HeadTap>>>,
}

impl<IO: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Tapped<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(tap)) = (&r, &self.tap)
            && let Ok(mut t) = tap.lock()
        {
            t.push(&buf.filled()[before..]);
        }
        r
    }
}

impl<IO: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Tapped<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// What one exchange brought back.
pub(crate) struct Response {
    pub status: u16,
    /// `1.1`, `1.0` or `2`, as curl's `%{http_version}`.
    pub version: &'static str,
    pub headers: http::HeaderMap,
    /// The start of the body, for the report.
    pub kept: String,
    pub truncated: bool,
    /// From the start of the exchange to the response head (curl's starttransfer, less the
    /// connection).
    pub first_byte: Duration,
    /// Body bytes received.
    pub size: u64,
    /// After a 101 to a WebSocket handshake: the text message that came back, if any.
    pub ws_reply: Option<String>,
}

/// Where the whole body goes: nowhere (the report keeps its start), a file (`-o FILE`, written
/// to a temporary file beside it and renamed at the end, so nothing is half-written; a device
/// or FIFO such as `/dev/null` is written in place, never replaced), or standard output (`-o
/// -`, or `-s`).
pub(crate) enum Sink {
    None,
    File {
        tmp: std::path::PathBuf,
        dest: std::path::PathBuf,
        file: std::fs::File,
    },
    /// Not a regular file: written in place.
    Direct {
        dest: std::path::PathBuf,
        file: std::fs::File,
    },
    Stdout,
}

impl Sink {
    fn open(opts: &ProbeOptions) -> Result<Sink, String> {
        match &opts.output {
            None => Ok(Sink::None),
            Some(crate::options::Output::Stdout) => Ok(Sink::Stdout),
            Some(crate::options::Output::File(dest))
                if std::fs::metadata(dest).is_ok_and(|m| !m.is_file()) =>
            {
                // A device or a pipe (`/dev/null`, a FIFO) is written as it is: never replaced.
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(dest)
                    .map_err(|e| format!("-o {}: {e}", dest.display()))?;
                Ok(Sink::Direct {
                    dest: dest.clone(),
                    file,
                })
            }
            Some(crate::options::Output::File(dest)) => {
                let name = dest
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let tmp = dest.with_file_name(format!(".{name}.parallax-{}", std::process::id()));
                let file = std::fs::File::create(&tmp)
                    .map_err(|e| format!("-o {}: {e}", dest.display()))?;
                Ok(Sink::File {
                    tmp,
                    dest: dest.clone(),
                    file,
                })
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        use std::io::Write as _;
        match self {
            Sink::None => Ok(()),
            Sink::Stdout => std::io::stdout()
                .lock()
                .write_all(bytes)
                .map_err(|e| format!("standard output: {e}")),
            Sink::File { file, dest, .. } | Sink::Direct { file, dest } => file
                .write_all(bytes)
                .map_err(|e| format!("-o {}: {e}", dest.display())),
        }
    }

    fn finish(&mut self) -> Result<(), String> {
        use std::io::Write as _;
        match std::mem::replace(self, Sink::None) {
            Sink::None | Sink::Direct { .. } => Ok(()),
            Sink::Stdout => std::io::stdout()
                .lock()
                .flush()
                .map_err(|e| format!("standard output: {e}")),
            Sink::File { tmp, dest, file } => {
                let done = file.sync_all().and_then(|()| std::fs::rename(&tmp, &dest));
                if let Err(e) = done {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(format!("-o {}: {e}", dest.display()));
                }
                Ok(())
            }
        }
    }

    /// A failed exchange leaves no file behind.
    fn abandon(&mut self) {
        if let Sink::File { tmp, .. } = std::mem::replace(self, Sink::None) {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

pub(crate) async fn exchange<IO>(
    io: TokioIo<IO>,
    h2: bool,
    opts: &ProbeOptions,
    sink: &mut Sink,
    t0: Instant,
) -> Result<Response, HttpFailure>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let url = &opts.url;
    let (list, authority) = request_headers(opts);
    let mut req = http::Request::builder().method(opts.method.as_str());
    req = if h2 {
        // HTTP/2 carries the Host as `:authority` (RFC 9113 §8.3.1), `-H 'Host: x'` included.
        req.uri(format!("https://{authority}{}", url.path))
    } else if opts.proxy.is_some() && !url.https {
        // Plain HTTP through a proxy: the absolute form (RFC 9112 §3.2.2).
        req.uri(format!("http://{}{}", url.authority(), url.path))
    } else {
        req.uri(url.path.as_str())
    };
    for (k, v) in &list {
        if h2 && k.eq_ignore_ascii_case("host") {
            continue;
        }
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(opts.body.clone())))
        .map_err(|e| HttpFailure::BadRequest {
            detail: e.to_string(),
        })?;
    // HTTP/1 and HTTP/2 have different sender types and the same steps: drive the connection,
    // wait until it can take the request, send it, and on failure read why the connection died.
    macro_rules! send_on {
        ($send:ident, $conn:ident, $req:ident) => {{
            let task = tokio::spawn($conn);
            let sent = match $send.ready().await {
                Ok(()) => $send.send_request($req).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(res) => res,
                Err(e) => return Err(connection_error(task, HttpFailure::of(&e)).await),
            }
        }};
    }
    // `-i` on HTTP/1 writes the head as it came (names' case, order, reason phrase), as curl
    // does: the connection is read through a tap that keeps the bytes up to the blank line.
    let tap = Arc::new(std::sync::Mutex::new(HeadTap::default()));
    let io = TokioIo::new(Tapped {
        inner: io.into_inner(),
        tap: (opts.include_headers && !h2).then(|| tap.clone()),
    });
    let res = if h2 {
        let (mut send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .max_header_list_size(MAX_HEAD as u32)
            .handshake(io)
            .await
            .map_err(|e| HttpFailure::of(&e))?;
        send_on!(send, conn, req)
    } else {
        let (mut send, conn) = hyper::client::conn::http1::Builder::new()
            .max_buf_size(MAX_HEAD.max(8192))
            .handshake(io)
            .await
            .map_err(|e| HttpFailure::of(&e))?;
        // A 101 hands the connection over (WebSocket).
        let conn = conn.with_upgrades();
        send_on!(send, conn, req)
    };
    let first_byte = t0.elapsed();
    let status = res.status();
    let version = match res.version() {
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_10 => "1.0",
        _ => "1.1",
    };
    let headers = res.headers().clone();
    let out_err = |detail: String| HttpFailure::Output { detail };
    // What curl does not write: a 304's (empty) body, an error's with -f, and the body of a
    // redirect that -L follows.
    let redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
        && headers.contains_key(http::header::LOCATION);
    let failed = opts.fail_on_http_error && status.as_u16() >= 400;
    if status.as_u16() == 304 || failed || (opts.follow && redirect) {
        sink.abandon();
    }
    let raw_head = tap.lock().ok().and_then(|t| t.head());
    if opts.include_headers && !matches!(sink, Sink::None) {
        if let Some(raw) = raw_head {
            sink.write(&raw).map_err(out_err)?;
        } else {
            // curl's `-i`: the status line and the headers, then a blank line, then the body.
            let mut head = format!(
                "HTTP/{version} {}{}\r\n",
                status.as_u16(),
                status
                    .canonical_reason()
                    .filter(|_| version != "2")
                    .map(|r| format!(" {r}"))
                    .unwrap_or_else(|| " ".to_owned())
            );
            for (k, v) in &headers {
                head.push_str(&format!(
                    "{k}: {}\r\n",
                    String::from_utf8_lossy(v.as_bytes())
                ));
            }
            head.push_str("\r\n");
            sink.write(head.as_bytes()).map_err(out_err)?;
        }
    }
    // Switched to the WebSocket protocol: the accept value is checked, the request body (if
    // any) goes as one text message, and the first message back is the body.
    if status.as_u16() == 101 && opts.url.websocket {
        let sent_key = list
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-key"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let reply = crate::websocket::after_upgrade(
            res,
            &headers,
            &sent_key,
            &opts.body,
            opts.transfer_limit(),
        )
        .await;
        let kept = reply.describe();
        let ws_reply = match reply {
            crate::websocket::Upgraded::Replied {
                reply: crate::websocket::Reply::Text(t),
            } => Some(t),
            _ => None,
        };
        return Ok(Response {
            status: 101,
            version,
            headers,
            size: kept.len() as u64,
            kept,
            truncated: false,
            first_byte,
            ws_reply,
        });
    }
    let whole = !matches!(sink, Sink::None);
    let mut body = res.into_body();
    let mut kept = Vec::with_capacity(BODY_KEEP);
    let mut truncated = false;
    let mut size: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| HttpFailure::of(&e))?;
        if let Ok(data) = frame.into_data() {
            size += data.len() as u64;
            let room = BODY_KEEP - kept.len();
            kept.extend_from_slice(&data[..data.len().min(room)]);
            if whole {
                sink.write(&data).map_err(out_err)?;
            } else if data.len() > room {
                // The rest is not read: dropping the body closes the connection.
                truncated = true;
                break;
            }
            if whole && data.len() > room {
                truncated = true;
            }
        }
    }
    if failed {
        // curl --fail stops at the status: nothing counts as downloaded.
        size = 0;
    }
    Ok(Response {
        status: status.as_u16(),
        version,
        headers,
        kept: String::from_utf8_lossy(&kept).into_owned(),
        truncated,
        first_byte,
        size,
        ws_reply: None,
    })
}

/// The request's headers as curl composes them: its defaults (`Host`, `User-Agent`,
/// `Accept: */*`), then `-A`/`-e`/`-u` (and the URL's `user:password@`), then each `-H`: a
/// header of the same name replaces a default, `Name:` removes the header, `Name;` (stored
/// with an empty value) sends it empty. Returns the list and the authority (the Host header's
/// value, which HTTP/2 sends as `:authority`).
pub(crate) fn request_headers(opts: &ProbeOptions) -> (Vec<(String, String)>, String) {
    let mut list: Vec<(String, String)> = vec![
        ("Host".to_owned(), opts.url.authority()),
        (
            "User-Agent".to_owned(),
            opts.user_agent
                .clone()
                .unwrap_or_else(|| concat!("parallax/", env!("CARGO_PKG_VERSION")).to_owned()),
        ),
        ("Accept".to_owned(), "*/*".to_owned()),
    ];
    if let Some(r) = &opts.referer {
        list.push(("Referer".to_owned(), r.clone()));
    }
    if opts.form_body {
        // curl's -d: a form, unless -H says otherwise.
        list.push((
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ));
    }
    if let Some((user, password)) = opts.basic_auth.as_ref().or(opts.url.user.as_ref()) {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        list.push(("Authorization".to_owned(), format!("Basic {token}")));
    }
    let defaults = list.len();
    for (k, v) in &opts.headers {
        match list[..defaults]
            .iter()
            .position(|(name, _)| name.eq_ignore_ascii_case(k))
        {
            Some(i) => list[i] = (k.clone(), v.clone()),
            None => list.push((k.clone(), v.clone())),
        }
    }
    list.retain(|(k, _)| {
        !opts
            .remove_headers
            .iter()
            .any(|r| r.eq_ignore_ascii_case(k))
    });
    if let Some(key) = &opts.api_key {
        list.push(("x-api-key".to_owned(), key.clone()));
    }
    // A WebSocket opening handshake (RFC 6455 §4.1), as curl 7.86+ sends it for ws:// and wss://.
    if opts.url.websocket {
        for (k, v) in [
            ("Upgrade", "websocket".to_owned()),
            ("Connection", "Upgrade".to_owned()),
            ("Sec-WebSocket-Version", "13".to_owned()),
            ("Sec-WebSocket-Key", crate::websocket::new_key()),
        ] {
            if !list.iter().any(|(n, _)| n.eq_ignore_ascii_case(k)) {
                list.push((k.to_owned(), v));
            }
        }
    }
    // `--aws-sigv4`: signed last, over the headers as they will be sent.
    if let Some(sig) = &opts.aws_sigv4 {
        let method = if opts.url.websocket {
            "GET"
        } else {
            opts.method.as_str()
        };
        if let Err(e) = sig.sign(method, &opts.url.path, &mut list, &opts.body) {
            opts.trace(|| format!("* --aws-sigv4: {e}; the request goes unsigned"));
        }
    }
    // Plain HTTP through a proxy carries the proxy's credentials on the request itself.
    if !opts.url.https
        && let Some(auth) = proxy_authorization(opts)
    {
        list.push(("Proxy-Authorization".to_owned(), auth));
    }
    let authority = list
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| opts.url.authority());
    (list, authority)
}

/// `Proxy-Authorization: Basic …` for the proxy's credentials, when it has some.
pub(crate) fn proxy_authorization(opts: &ProbeOptions) -> Option<String> {
    use base64::Engine as _;
    let (user, password) = opts.proxy.as_ref()?.user.as_ref()?;
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    ))
}

/// When a request fails because its connection died ("channel closed"), the reason is in the
/// connection task's own result: a TLS 1.3 alert refusing our client certificate arrives
/// there. Waits briefly for it; otherwise keeps the request's error.
pub(crate) async fn connection_error(
    task: tokio::task::JoinHandle<Result<(), hyper::Error>>,
    fallback: HttpFailure,
) -> HttpFailure {
    match tokio::time::timeout(Duration::from_millis(500), task).await {
        // The connection's own failure says more (a TLS alert) than "channel closed".
        Ok(Ok(Err(e))) => match HttpFailure::of(&e) {
            alert @ HttpFailure::TlsAlert { .. } => alert,
            HttpFailure::Other { .. } => fallback,
            known if matches!(fallback, HttpFailure::Other { .. }) => known,
            _ => fallback,
        },
        _ => fallback,
    }
}
