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
            if r.body_error.is_some() {
                // What came went to standard output as it came; a file is never left half-written.
                sink.abandon();
            } else if let Err(detail) = sink.finish() {
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
            layer.all_headers = head_fields(&r.raw_head);
            if layer.all_headers.is_empty() {
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
            }
            layer.error_type = r
                .headers
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .map(ErrorType::from_header);
            layer.status = Some(r.status);
            layer.version = Some(r.version.to_owned());
            layer.first_byte_ms = Some(ms(r.first_byte));
            layer.size_download = r.size;
            layer.size_upload = opts.body.len() as u64;
            layer.body = r.kept;
            layer.body_truncated = r.truncated;
            layer.raw_head = r.raw_head;
            if let Some(f) = r.body_error {
                layer.fail(f);
                return (layer, None);
            }
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

/// The bytes of a response's heads as they came, up to the final head's blank line: interim
/// `1xx` heads (a `100 Continue`) are kept before it, as curl's `-i` writes them; a `101` is
/// final.
#[derive(Default)]
struct HeadTap {
    bytes: Vec<u8>,
    /// Where the head being read starts.
    start: usize,
    done: bool,
}

impl HeadTap {
    fn push(&mut self, data: &[u8]) {
        if self.done {
            return;
        }
        self.bytes.extend_from_slice(data);
        while let Some(end) = find(&self.bytes[self.start..], b"\r\n\r\n") {
            let end = self.start + end + 4;
            let head = &self.bytes[self.start..];
            let interim = (head.starts_with(b"HTTP/1.1 1") || head.starts_with(b"HTTP/1.0 1"))
                && !head[9..].starts_with(b"101");
            if interim {
                self.start = end;
                continue;
            }
            self.bytes.truncate(end);
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
    /// The heads as they came (HTTP/1) or as curl writes HTTP/2's (`-i`, `-D`).
    pub raw_head: Vec<u8>,
    /// The body did not arrive whole (curl's 18, 56 or 61); what came was written.
    pub body_error: Option<HttpFailure>,
}

/// The final head's fields in the order and case they came (curl's `%header{}` and
/// `%{header_json}` read them so; a header map groups a repeated name): the lines of the last
/// block of the heads' bytes, after its status line.
fn head_fields(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let last = text
        .trim_end_matches("\r\n")
        .rsplit("\r\n\r\n")
        .next()
        .unwrap_or_default();
    last.split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// A request body sent chunked (`-T -`): one chunk, its length not announced.
struct OneChunk(Option<Bytes>);

impl hyper::body::Body for OneChunk {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.take().map(|b| Ok(hyper::body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }
}

/// curl's head for HTTP/2 (or when the bytes were not seen): the status line, each header,
/// and a blank line.
fn synthesized_head(version: &str, status: http::StatusCode, headers: &http::HeaderMap) -> Vec<u8> {
    let mut head = format!(
        "HTTP/{version} {}{}\r\n",
        status.as_u16(),
        status
            .canonical_reason()
            .filter(|_| version != "2")
            .map(|r| format!(" {r}"))
            .unwrap_or_else(|| " ".to_owned())
    );
    for (k, v) in headers {
        head.push_str(&format!(
            "{k}: {}\r\n",
            String::from_utf8_lossy(v.as_bytes())
        ));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// The most compressed body `--compressed` holds to decode.
const MAX_ENCODED: usize = 64 * 1024 * 1024;

/// The most a `--compressed` body may decode to (a decompression bomb is refused, not held).
const MAX_DECODED: usize = 256 * 1024 * 1024;

/// Decodes a body by its Content-Encoding (the codings in the reverse of their order), as
/// `curl --compressed` does: deflate (zlib or raw), gzip, br, zstd; identity passes.
fn decode(encoding: &str, body: Vec<u8>) -> Result<Vec<u8>, HttpFailure> {
    use std::io::Read as _;
    let bad = || HttpFailure::BadEncoding {
        encoding: encoding.to_owned(),
    };
    let mut data = body;
    for coding in encoding
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .rev()
    {
        let limit = MAX_DECODED as u64 + 1;
        let mut out = Vec::new();
        let read = match coding.as_str() {
            "" | "identity" => continue,
            "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(data.as_slice())
                .take(limit)
                .read_to_end(&mut out),
            "deflate" => {
                let zlib = flate2::read::ZlibDecoder::new(data.as_slice())
                    .take(limit)
                    .read_to_end(&mut out);
                if zlib.is_err() {
                    out.clear();
                    flate2::read::DeflateDecoder::new(data.as_slice())
                        .take(limit)
                        .read_to_end(&mut out)
                } else {
                    zlib
                }
            }
            "br" => brotli_decompressor::Decompressor::new(data.as_slice(), 4096)
                .take(limit)
                .read_to_end(&mut out),
            "zstd" => match ruzstd::decoding::StreamingDecoder::new(data.as_slice()) {
                Ok(d) => d.take(limit).read_to_end(&mut out),
                Err(_) => return Err(bad()),
            },
            _ => return Err(bad()),
        };
        read.map_err(|_| bad())?;
        if out.len() > MAX_DECODED {
            // Never cut short in silence: a body that decodes to more is refused.
            return Err(HttpFailure::Output {
                detail: format!("the body decodes to more than {} MiB", MAX_DECODED >> 20),
            });
        }
        data = out;
    }
    Ok(data)
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
        // HTTP/2 has no Host (`:authority`), and curl sends no `Expect` over it.
        if h2 && (k.eq_ignore_ascii_case("host") || k.eq_ignore_ascii_case("expect")) {
            continue;
        }
        req = req.header(k.as_str(), v.as_str());
    }
    let bytes = Bytes::from(opts.body.clone());
    let body = if opts.chunked && !h2 {
        http_body_util::Either::Right(OneChunk((!bytes.is_empty()).then_some(bytes)))
    } else {
        http_body_util::Either::Left(Full::new(bytes))
    };
    let req = req.body(body).map_err(|e| HttpFailure::BadRequest {
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
    // HTTP/1's heads are kept as they came (names' case, order, reason phrase, a `100
    // Continue` before the final one), as curl's `-i` and `-D` write them: the connection is
    // read through a tap that keeps the bytes up to the final head's blank line.
    let tap = Arc::new(std::sync::Mutex::new(HeadTap::default()));
    let io = TokioIo::new(Tapped {
        inner: io.into_inner(),
        tap: (!h2).then(|| tap.clone()),
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
    let raw_head = tap
        .lock()
        .ok()
        .and_then(|t| t.head())
        .unwrap_or_else(|| synthesized_head(version, status, &headers));
    let out_err = |detail: String| HttpFailure::Output { detail };
    // What curl does not write: a 304's (empty) body, an error's with -f (its body is written
    // with --fail-with-body), and a redirect that -L follows (its head goes before the next
    // hop's with -i).
    let redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
        && headers.contains_key(http::header::LOCATION);
    let failed = opts.fail_on_http_error && status.as_u16() >= 400;
    let followed = opts.follow && redirect;
    // curl -f -i writes the head, then stops.
    let head_only = failed && !opts.fail_with_body;
    let quiet = followed || (head_only && !opts.include_headers);
    if quiet || (status.as_u16() == 304 && !opts.include_headers) {
        sink.abandon();
    }
    if opts.include_headers && !matches!(sink, Sink::None) {
        sink.write(&opts.head_prefix).map_err(out_err)?;
        sink.write(&raw_head).map_err(out_err)?;
    }
    if head_only && !matches!(sink, Sink::None) {
        // Written so far stays (standard output, or a file that is then whole); the body is
        // not read.
        if let Err(detail) = sink.finish() {
            return Err(out_err(detail));
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
            raw_head,
            body_error: None,
        });
    }
    let expected_len = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // --compressed: a body with a Content-Encoding is read whole (bounded) and decoded.
    let encoding = headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .filter(|e| opts.compressed && !e.trim().eq_ignore_ascii_case("identity"));
    let whole = !matches!(sink, Sink::None);
    let mut body = res.into_body();
    let mut kept = Vec::with_capacity(BODY_KEEP);
    let mut encoded = Vec::new();
    let mut truncated = false;
    let mut size: u64 = 0;
    let mut body_error = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                body_error = Some(HttpFailure::of_body(&e, size, expected_len));
                break;
            }
        };
        if let Ok(data) = frame.into_data() {
            size += data.len() as u64;
            if encoding.is_some() {
                if encoded.len() + data.len() > MAX_ENCODED {
                    return Err(HttpFailure::Output {
                        detail: format!(
                            "a compressed body over {} MiB is not decoded",
                            MAX_ENCODED >> 20
                        ),
                    });
                }
                encoded.extend_from_slice(&data);
                continue;
            }
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
    if let Some(enc) = &encoding
        && body_error.is_none()
    {
        match decode(enc, std::mem::take(&mut encoded)) {
            Ok(plain) => {
                kept.extend_from_slice(&plain[..plain.len().min(BODY_KEEP)]);
                truncated = plain.len() > BODY_KEEP;
                if whole {
                    sink.write(&plain).map_err(out_err)?;
                }
            }
            Err(e) => body_error = Some(e),
        }
    }
    if failed && !opts.fail_with_body {
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
        raw_head,
        body_error,
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
    if opts.compressed {
        // What curl 7.88 built with zlib, brotli and zstd asks for.
        list.push((
            "Accept-Encoding".to_owned(),
            "deflate, gzip, br, zstd".to_owned(),
        ));
    }
    // The body's own headers (a form's or JSON's Content-Type, JSON's Accept, ...): defaults
    // that -H replaces; JSON's Accept replaces curl's `*/*`.
    for (k, v) in &opts.body_headers {
        match list
            .iter()
            .position(|(name, _)| name.eq_ignore_ascii_case(k))
        {
            Some(i) => list[i] = (k.clone(), v.clone()),
            None => list.push((k.clone(), v.clone())),
        }
    }
    let cookies = opts.cookies.as_ref().and_then(|jar| {
        jar.lock().ok()?.header_for(
            &opts.url.host_str(),
            &opts.url.path,
            crate::cookies::secure_context(opts.url.https, &opts.url.host_str()),
        )
    });
    let cookie = match (cookies, &opts.cookie_string) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or_else(|| b.clone()),
    };
    if let Some(c) = cookie {
        list.push(("Cookie".to_owned(), c));
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
    // Plain HTTP through a proxy carries the proxy's credentials on the request itself, and
    // curl's `Proxy-Connection: Keep-Alive`.
    if !opts.url.https && opts.proxy.is_some() {
        if let Some(auth) = proxy_authorization(opts) {
            list.push(("Proxy-Authorization".to_owned(), auth));
        }
        list.push(("Proxy-Connection".to_owned(), "Keep-Alive".to_owned()));
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

#[cfg(test)]
mod tests {
    /// RFC 9110 §8.4: codings are listed in the order applied, so decoded last-first; an
    /// unknown coding is a failure (curl's 61), never passed through as if decoded.
    #[test]
    fn content_codings_decode_last_first() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello").expect("gzip");
        let gz = gz.finish().expect("gzip");
        assert_eq!(super::decode("gzip", gz.clone()).expect("gzip"), b"hello");
        assert_eq!(
            super::decode("identity, gzip", gz.clone()).expect("gzip"),
            b"hello"
        );
        assert!(matches!(
            super::decode("compress", gz),
            Err(crate::failure::HttpFailure::BadEncoding { .. })
        ));
        assert!(super::decode("gzip", b"not gzip".to_vec()).is_err());
        assert_eq!(
            super::head_fields(
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\n\r\n"
            ),
            vec![
                ("X-A".to_owned(), "1".to_owned()),
                ("x-a".to_owned(), "2".to_owned())
            ]
        );
    }
}
