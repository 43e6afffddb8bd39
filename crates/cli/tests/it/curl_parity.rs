//! The real curl and the real `parallax probe -s` side by side: request bodies (the `-d`
//! family, `--json`, `-G`, `-F`, `-T`), methods across redirects, heads (`-i`, `-I`, `-D`,
//! `%header{}`, `%{header_json}`), `--compressed`, failures and their exit codes, cookies,
//! `--retry`, `localhost`, and a proxy's own answer. For each case both clients call one
//! server on loopback that records every request; they must agree on the exit code, the
//! stdout bytes, the files they write (`-o`, `-D`, `-c`), and the requests as the server saw
//! them. The expected values are curl's own, read in the same run.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request as the server saw it: the request line, the headers (lower case, sorted;
/// the two clients' own User-Agent and a multipart boundary masked), and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    line: String,
    headers: Vec<String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct Server {
    seen: Mutex<Vec<Seen>>,
    counters: Mutex<HashMap<String, u32>>,
}

impl Server {
    fn drain(&self) -> Vec<Seen> {
        self.counters.lock().expect("lock").clear();
        std::mem::take(&mut *self.seen.lock().expect("lock"))
    }
}

/// The CRC-32 of gzip's trailer (ISO 3309).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A DEFLATE stream of one stored block (RFC 1951 §3.2.4).
fn stored(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u16;
    let mut out = vec![0x01];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// gzip (RFC 1952) of a stored block.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(stored(data));
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// zlib (RFC 1950) of a stored block, with its Adler-32.
fn zlib(data: &[u8]) -> Vec<u8> {
    let (mut a, mut b) = (1u32, 0u32);
    for x in data {
        a = (a + u32::from(*x)) % 65521;
        b = (b + a) % 65521;
    }
    let mut out = vec![0x78, 0x01];
    out.extend(stored(data));
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// Brotli (RFC 7932) of one uncompressed meta-block: WBITS 16, MNIBBLES 4, MLEN-1,
/// ISUNCOMPRESSED, then the bytes, then an empty last meta-block.
fn brotli(data: &[u8]) -> Vec<u8> {
    let v: u32 = ((data.len() as u32 - 1) << 4) | (1 << 20);
    let mut out = v.to_le_bytes()[..3].to_vec();
    out.extend_from_slice(data);
    out.push(0x03);
    out
}

/// Zstandard (RFC 8878) of one raw block in a single-segment frame.
fn zstd(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0x20, data.len() as u8];
    let header: u32 = 1 | ((data.len() as u32) << 3);
    out.extend_from_slice(&header.to_le_bytes()[..3]);
    out.extend_from_slice(data);
    out
}

fn answer(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut h = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = h.into_bytes();
    out.extend_from_slice(body);
    out
}

/// What the server does for a request.
enum Reply {
    Bytes(Vec<u8>),
    /// These bytes, then a close.
    Cut(Vec<u8>),
    /// These bytes, then a reset.
    Reset(Vec<u8>),
    /// Nothing, then a close.
    Nothing,
    /// No answer for longer than the client waits.
    Stall,
}

fn route(server: &Server, method: &str, target: &str, headers: &[String]) -> Reply {
    let ok = |body: &str| {
        Reply::Bytes(answer(
            "200 OK",
            &[("Content-Type", "text/plain")],
            body.as_bytes(),
        ))
    };
    let redirect = |status: &str, to: &str| {
        Reply::Bytes(answer(
            status,
            &[("Location", to), ("Content-Type", "text/plain")],
            b"moving on\n",
        ))
    };
    // A proxy's own answer: an absolute-form target without credentials gets 407.
    if target.starts_with("http://") {
        let authorized = headers
            .iter()
            .any(|h| h.starts_with("proxy-authorization:"));
        return if authorized {
            ok("through the proxy\n")
        } else {
            Reply::Bytes(answer(
                "407 Proxy Authentication Required",
                &[
                    ("Proxy-Authenticate", "Basic realm=\"parity\""),
                    ("Content-Type", "text/plain"),
                ],
                b"who are you\n",
            ))
        };
    }
    let path = target.split('?').next().unwrap_or_default();
    let count = {
        let mut c = server.counters.lock().expect("lock");
        let n = c.entry(path.to_owned()).or_insert(0);
        *n += 1;
        *n
    };
    let body = b"the quick brown fox jumps over the lazy dog\n";
    match path {
        "/hello" => ok("hello parity\n"),
        "/moved301" => redirect("301 Moved Permanently", "/echo"),
        "/found302" => redirect("302 Found", "/echo"),
        "/see303" => redirect("303 See Other", "/echo"),
        "/temp307" => redirect("307 Temporary Redirect", "/echo"),
        "/perm308" => redirect("308 Permanent Redirect", "/echo"),
        "/chain" => redirect("302 Found", "/moved301"),
        "/loop" => redirect("302 Found", "/loop"),
        "/dup-header" => Reply::Bytes(answer(
            "200 OK",
            &[("X-Dup", "one"), ("Content-Type", "text/plain"), ("X-Dup", "two"), ("X-Quote", "say \"hi\"")],
            b"dup\n",
        )),
        "/gzip" => Reply::Bytes(answer("200 OK", &[("Content-Encoding", "gzip"), ("Content-Type", "text/plain")], &gzip(body))),
        "/deflate" => Reply::Bytes(answer("200 OK", &[("Content-Encoding", "deflate")], &zlib(body))),
        "/br" => Reply::Bytes(answer("200 OK", &[("Content-Encoding", "br")], &brotli(body))),
        "/zstd" => Reply::Bytes(answer("200 OK", &[("Content-Encoding", "zstd")], &zstd(body))),
        "/bad-gzip" => Reply::Bytes(answer("200 OK", &[("Content-Encoding", "gzip")], b"not gzip at all")),
        "/cookie-set" => Reply::Bytes(answer(
            "200 OK",
            &[
                ("Set-Cookie", "sess=abc"),
                ("Set-Cookie", "keep=xyz; Expires=Wed, 01 Jan 2031 00:00:00 GMT; Path=/"),
                ("Set-Cookie", "hid=1; HttpOnly; Path=/"),
                ("Content-Type", "text/plain"),
            ],
            b"cookies set\n",
        )),
        "/cookie-redirect" => Reply::Bytes(answer(
            "302 Found",
            &[("Set-Cookie", "step=1; Path=/"), ("Location", "/echo")],
            b"",
        )),
        "/partial" => Reply::Cut(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nforty bytes of a body that stops short.\n".to_vec(),
        ),
        "/partial-chunked" => Reply::Cut(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n".to_vec(),
        ),
        "/reset" => Reply::Reset(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nforty bytes of a body that stops short.\n".to_vec(),
        ),
        "/empty" => Reply::Nothing,
        "/slow" => Reply::Stall,
        "/flaky" if count < 3 => Reply::Bytes(answer("503 Service Unavailable", &[("Content-Type", "text/plain")], b"later\n")),
        "/flaky" => ok("finally\n"),
        "/limited" if count < 2 => Reply::Bytes(answer("429 Too Many Requests", &[("Retry-After", "1")], b"slow down\n")),
        "/limited" => ok("allowed\n"),
        p if p.starts_with("/status/") => {
            let code = p.trim_start_matches("/status/");
            let reason = match code {
                "404" => "Not Found",
                "500" => "Internal Server Error",
                "503" => "Service Unavailable",
                "403" => "Forbidden",
                _ => "Whatever",
            };
            Reply::Bytes(answer(&format!("{code} {reason}"), &[("Content-Type", "application/json")], format!("{{\"message\":\"{code}\"}}\n").as_bytes()))
        }
        _ if method == "HEAD" => Reply::Bytes(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n".to_vec(),
        ),
        _ => ok("echo\n"),
    }
}

/// Reads one request: the head, a `100 Continue` when asked for, then the body by its
/// Content-Length or its chunks.
async fn read_request(
    s: &mut tokio::net::TcpStream,
) -> Option<(String, Vec<String>, Vec<u8>, Vec<String>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 65536 {
            return None;
        }
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => return None,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let line = lines.next()?.to_owned();
    let raw: Vec<String> = lines.map(str::to_owned).collect();
    let lower: Vec<String> = raw
        .iter()
        .map(|l| match l.split_once(':') {
            Some((k, v)) => format!("{}: {}", k.trim().to_ascii_lowercase(), v.trim()),
            None => l.to_ascii_lowercase(),
        })
        .collect();
    let header = |name: &str| {
        lower
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
    };
    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.ok()?;
    }
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size_line = Vec::new();
            while !size_line.ends_with(b"\r\n") {
                s.read_exact(&mut byte).await.ok()?;
                size_line.push(byte[0]);
            }
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&size_line).trim(), 16).ok()?;
            let mut chunk = vec![0u8; size + 2];
            s.read_exact(&mut chunk).await.ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body = vec![0u8; n.min(1 << 20)];
        s.read_exact(&mut body).await.ok()?;
    }
    Some((line, lower, body, raw))
}

async fn serve(server: Arc<Server>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let server = server.clone();
            tokio::spawn(async move {
                for _ in 0..16 {
                    let Some((line, lower, body, _)) = read_request(&mut s).await else {
                        return;
                    };
                    let mut parts = line.split(' ');
                    let method = parts.next().unwrap_or_default().to_owned();
                    let target = parts.next().unwrap_or_default().to_owned();
                    let reply = route(&server, &method, &target, &lower);
                    server
                        .seen
                        .lock()
                        .expect("lock")
                        .push(mask(&line, &lower, &body));
                    match reply {
                        Reply::Bytes(b) => {
                            if s.write_all(&b).await.is_err() {
                                return;
                            }
                        }
                        Reply::Cut(b) => {
                            let _ = s.write_all(&b).await;
                            let _ = s.shutdown().await;
                            return;
                        }
                        Reply::Reset(b) => {
                            let _ = s.write_all(&b).await;
                            let _ = s.flush().await;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            // SO_LINGER 0 makes the close a reset; with a zero linger the drop
                            // does not block, which is what the deprecation warns of.
                            #[allow(deprecated)]
                            let _ = s.set_linger(Some(Duration::ZERO));
                            return;
                        }
                        Reply::Nothing => return,
                        Reply::Stall => {
                            tokio::time::sleep(Duration::from_secs(5)).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

/// The request without what differs between two clients by nature: their own User-Agent
/// and a multipart boundary's random part.
fn mask(line: &str, headers: &[String], body: &[u8]) -> Seen {
    let boundary = headers.iter().find_map(|h| {
        h.strip_prefix("content-type: multipart/form-data; boundary=")
            .map(str::to_owned)
    });
    let swap = |s: &str| match &boundary {
        Some(b) => s.replace(b.as_str(), "BOUNDARY"),
        None => s.to_owned(),
    };
    let mut hs: Vec<String> = headers
        .iter()
        .filter(|h| !(h.starts_with("user-agent: curl/") || h.starts_with("user-agent: parallax/")))
        .map(|h| swap(h))
        .collect();
    hs.sort();
    let body = match &boundary {
        Some(_) => swap(&String::from_utf8_lossy(body)).into_bytes(),
        None => body.to_vec(),
    };
    Seen {
        line: line.to_owned(),
        headers: hs,
        body,
    }
}

/// One case: the flags both clients get (`{BASE}` is the server, `{DIR}` the inputs' folder,
/// `{OUT}`/`{HDR}`/`{JAR}` a file of the client's own), the URL, and standard input.
struct Case {
    name: String,
    args: Vec<String>,
    url: String,
    stdin: Option<Vec<u8>>,
}

/// What one client did.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    files: Vec<(String, Option<Vec<u8>>)>,
    seen: Vec<Seen>,
}

fn run(tool: &[String], c: &Case, base: &str, inputs: &Path, own: &Path, server: &Server) -> Run {
    let _ = std::fs::remove_dir_all(own);
    std::fs::create_dir_all(own).expect("dir");
    let port = base.rsplit(':').next().unwrap_or_default();
    let fill = |a: &str| {
        a.replace("{BASE}", base)
            .replace("{PORT}", port)
            .replace("{CLOSED}", &closed_port().to_string())
            .replace("{DIR}", &inputs.display().to_string())
            .replace("{OUT}", &own.join("out").display().to_string())
            .replace("{HDR}", &own.join("hdr").display().to_string())
            .replace("{JAR}", &own.join("jar").display().to_string())
    };
    let mut cmd = Command::new(&tool[0]);
    cmd.args(&tool[1..]);
    for v in parallax_testkit::interop::CLIENT_ENV {
        cmd.env_remove(v);
    }
    cmd.env("HOME", own).current_dir(own);
    cmd.args(c.args.iter().map(|a| fill(a))).arg(fill(&c.url));
    cmd.stdin(if c.stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {}: {e}", c.name, tool[0]));
    if let (Some(data), Some(mut pipe)) = (&c.stdin, child.stdin.take()) {
        use std::io::Write as _;
        pipe.write_all(data).expect("stdin");
    }
    let out = parallax_testkit::process::output_within(child, Duration::from_secs(30), &c.name);
    let files = ["out", "hdr", "jar"]
        .iter()
        .map(|f| ((*f).to_owned(), std::fs::read(own.join(f)).ok()))
        .collect();
    // The server has recorded every request by the time the client exits.
    std::thread::sleep(Duration::from_millis(20));
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        files,
        seen: server.drain(),
    }
}

/// A loopback port nothing listens on (bound, then let go).
fn closed_port() -> u16 {
    static PORT: std::sync::OnceLock<u16> = std::sync::OnceLock::new();
    *PORT.get_or_init(|| {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_or(1, |a| a.port())
    })
}

fn case(name: &str, args: &[&str], path: &str) -> Case {
    Case {
        name: name.to_owned(),
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        url: format!("{{BASE}}{path}"),
        stdin: None,
    }
}

fn with_stdin(mut c: Case, data: &[u8]) -> Case {
    c.stdin = Some(data.to_vec());
    c
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        // -d and its kin, alone and together (joined with & in the order typed).
        case("d", &["-d", "a=1"], "/echo"),
        case("d twice", &["-d", "a=1", "-d", "b=2"], "/echo"),
        case("data-ascii", &["--data-ascii", "x=y"], "/echo"),
        case("data-raw keeps @", &["--data-raw", "@notafile"], "/echo"),
        case(
            "data-binary file",
            &["--data-binary", "@{DIR}/bin.dat"],
            "/echo",
        ),
        case("d file loses CR LF", &["-d", "@{DIR}/crlf.txt"], "/echo"),
        case(
            "data-ascii file",
            &["--data-ascii", "@{DIR}/crlf.txt"],
            "/echo",
        ),
        case(
            "data-binary keeps CR LF",
            &["--data-binary", "@{DIR}/crlf.txt"],
            "/echo",
        ),
        case(
            "d file with a CR inside a line",
            &["-d", "@{DIR}/midcr.txt"],
            "/echo",
        ),
        with_stdin(case("d stdin", &["-d", "@-"], "/echo"), b"s=1\r\nt=2\n"),
        with_stdin(
            case("data-binary stdin", &["--data-binary", "@-"], "/echo"),
            b"s=1\r\nt=2\n",
        ),
        case(
            "urlencode content",
            &["--data-urlencode", "hello world"],
            "/echo",
        ),
        case(
            "urlencode =content",
            &["--data-urlencode", "=a&b c"],
            "/echo",
        ),
        case(
            "urlencode name=content",
            &["--data-urlencode", "name=a b/c?é"],
            "/echo",
        ),
        case(
            "urlencode @file",
            &["--data-urlencode", "@{DIR}/crlf.txt"],
            "/echo",
        ),
        case(
            "urlencode name@file",
            &["--data-urlencode", "n@{DIR}/crlf.txt"],
            "/echo",
        ),
        case(
            "mixed order",
            &["-d", "a=1", "--data-urlencode", "b=x y", "--data-raw", "@c"],
            "/echo",
        ),
        case(
            "mixed order reversed",
            &["--data-raw", "@c", "--data-urlencode", "b=x y", "-d", "a=1"],
            "/echo",
        ),
        case(
            "binary then ascii",
            &["--data-binary", "@{DIR}/crlf.txt", "-d", "@{DIR}/crlf.txt"],
            "/echo",
        ),
        case("d empty", &["-d", ""], "/echo"),
        case("d empty twice", &["-d", "", "-d", ""], "/echo"),
        case(
            "d with content type",
            &["-d", "a=1", "-H", "Content-Type: text/plain"],
            "/echo",
        ),
        case(
            "d without content type",
            &["-d", "a=1", "-H", "Content-Type:"],
            "/echo",
        ),
        case("d with X PUT", &["-d", "a=1", "-X", "PUT"], "/echo"),
        case("d with X GET", &["-d", "a=1", "-X", "GET"], "/echo"),
        case("X DELETE", &["-X", "DELETE"], "/echo"),
        case("X PATCH d", &["-X", "PATCH", "-d", "p=1"], "/echo"),
        // -G: the data becomes the query.
        case("G", &["-G", "-d", "a=1", "-d", "b=2"], "/echo"),
        case("G onto a query", &["-G", "-d", "a=1"], "/echo?x=1"),
        case(
            "G urlencode",
            &["-G", "--data-urlencode", "q=a b&c"],
            "/echo",
        ),
        case("G head", &["-G", "-I", "-d", "a=1"], "/echo"),
        case(
            "G url_effective",
            &["-G", "-d", "a=1", "-w", "%{url_effective}"],
            "/echo",
        ),
        // --json.
        case("json", &["--json", "{\"a\":1}"], "/echo"),
        case(
            "json twice",
            &["--json", "{\"a\":", "--json", "1}"],
            "/echo",
        ),
        case("json file", &["--json", "@{DIR}/body.json"], "/echo"),
        case(
            "json with Accept",
            &["--json", "{}", "-H", "Accept: text/plain"],
            "/echo",
        ),
        case(
            "json with Content-Type",
            &["--json", "{}", "-H", "Content-Type: application/x-ndjson"],
            "/echo",
        ),
        case("d then json", &["-d", "a=1", "--json", "{}"], "/echo"),
        with_stdin(
            case("json stdin", &["--json", "@-"], "/echo"),
            b"{\"in\":true}\n",
        ),
        // -F multipart forms.
        case("F", &["-F", "a=1"], "/echo"),
        case("F twice", &["-F", "a=1", "-F", "b=2"], "/echo"),
        case("F file", &["-F", "file=@{DIR}/upload.txt"], "/echo"),
        case(
            "F file type",
            &["-F", "file=@{DIR}/upload.txt;type=text/x-custom"],
            "/echo",
        ),
        case(
            "F file filename",
            &["-F", "file=@{DIR}/upload.txt;filename=other.name"],
            "/echo",
        ),
        case("F from file", &["-F", "v=<{DIR}/upload.txt"], "/echo"),
        case(
            "form-string",
            &["--form-string", "s=@literal;type=x"],
            "/echo",
        ),
        case("F value type", &["-F", "a=x;type=text/foo"], "/echo"),
        case("F png", &["-F", "file=@{DIR}/pic.png"], "/echo"),
        case(
            "F unknown extension",
            &["-F", "file=@{DIR}/bin.dat"],
            "/echo",
        ),
        case("F quoted", &["-F", "q=\"a;b\""], "/echo"),
        case("F with X PUT", &["-F", "a=1", "-X", "PUT"], "/echo"),
        // -T uploads.
        case("T", &["-T", "{DIR}/upload.txt"], "/put"),
        case("T into a folder", &["-T", "{DIR}/upload.txt"], "/dir/"),
        with_stdin(
            case("T stdin", &["-T", "-"], "/put"),
            b"from standard input\n",
        ),
        case(
            "T with X POST",
            &["-T", "{DIR}/upload.txt", "-X", "POST"],
            "/put",
        ),
        case("T empty", &["-T", "{DIR}/empty.txt"], "/put"),
        // Methods across redirects.
        case("POST through 303", &["-d", "x=1", "-L"], "/see303"),
        case("POST through 301", &["-d", "x=1", "-L"], "/moved301"),
        case("POST through 302", &["-d", "x=1", "-L"], "/found302"),
        case("POST through 307", &["-d", "x=1", "-L"], "/temp307"),
        case("POST through 308", &["-d", "x=1", "-L"], "/perm308"),
        case("post301", &["-d", "x=1", "-L", "--post301"], "/moved301"),
        case("post302", &["-d", "x=1", "-L", "--post302"], "/found302"),
        case("post303", &["-d", "x=1", "-L", "--post303"], "/see303"),
        case(
            "post301 on a 302",
            &["-d", "x=1", "-L", "--post301"],
            "/found302",
        ),
        case("X PUT through 303", &["-X", "PUT", "-L"], "/see303"),
        case(
            "X PUT d through 303",
            &["-X", "PUT", "-d", "x=1", "-L"],
            "/see303",
        ),
        case(
            "X POST d through 301",
            &["-X", "POST", "-d", "x=1", "-L"],
            "/moved301",
        ),
        case("X DELETE through 302", &["-X", "DELETE", "-L"], "/found302"),
        case(
            "T through 303",
            &["-T", "{DIR}/upload.txt", "-L"],
            "/see303",
        ),
        case(
            "T through 301",
            &["-T", "{DIR}/upload.txt", "-L"],
            "/moved301",
        ),
        case(
            "T through 307",
            &["-T", "{DIR}/upload.txt", "-L"],
            "/temp307",
        ),
        case("HEAD through 303", &["-I", "-L"], "/see303"),
        case("F through 303", &["-F", "a=1", "-L"], "/see303"),
        case("F through 301", &["-F", "a=1", "-L"], "/moved301"),
        case("F through 307", &["-F", "a=1", "-L"], "/temp307"),
        case("json through 302", &["--json", "{}", "-L"], "/found302"),
        // Heads: -i, -I, -D, every hop's with -L.
        case("i", &["-i"], "/hello"),
        case("i L", &["-i", "-L"], "/moved301"),
        case("i L chain", &["-i", "-L"], "/chain"),
        case("I", &["-I"], "/hello"),
        case("I L", &["-I", "-L"], "/see303"),
        case("I L chain", &["-I", "-L"], "/chain"),
        case("i without L", &["-i"], "/moved301"),
        case(
            "i with T (100 Continue)",
            &["-i", "-T", "{DIR}/upload.txt"],
            "/put",
        ),
        case("D", &["-D", "{HDR}"], "/hello"),
        case("D L", &["-D", "{HDR}", "-L"], "/chain"),
        case("D stdout", &["-D", "-"], "/hello"),
        case("D stdout with o", &["-D", "-", "-o", "{OUT}"], "/hello"),
        case("D and i", &["-D", "{HDR}", "-i"], "/hello"),
        case("o", &["-o", "{OUT}"], "/hello"),
        case("o i", &["-o", "{OUT}", "-i"], "/hello"),
        case("o L", &["-o", "{OUT}", "-L"], "/chain"),
        case("i dup", &["-i"], "/dup-header"),
        // -w.
        case("header repeated", &["-w", "%header{x-dup}|"], "/dup-header"),
        case(
            "header any case",
            &["-w", "%header{Content-Type}|"],
            "/hello",
        ),
        case("header missing", &["-w", "[%header{missing}]"], "/hello"),
        case("header_json", &["-w", "%{header_json}"], "/dup-header"),
        case("header_json one", &["-w", "%{header_json}"], "/hello"),
        case("w file", &["-w", "@{DIR}/format.txt"], "/hello"),
        case(
            "w after L",
            &[
                "-L",
                "-w",
                "%{http_code} %{size_download} %{num_redirects} %{url_effective} %{method}\\n",
            ],
            "/chain",
        ),
        case(
            "w redirect_url",
            &["-w", "%{redirect_url} %{http_code}"],
            "/found302",
        ),
        case("w content_type", &["-w", "%{content_type}"], "/status/404"),
        case(
            "w upload",
            &["-d", "a=1", "-w", "%{http_code} %{method}"],
            "/echo",
        ),
        case(
            "w sizes",
            &[
                "-d",
                "a=12345",
                "-w",
                "%{size_upload} %{size_header} %{num_headers} %{urlnum}",
            ],
            "/dup-header",
        ),
        case(
            "w sizes after L",
            &["-L", "-w", "%{size_header} %{num_headers} %{size_upload}"],
            "/chain",
        ),
        case(
            "w size_header with 100",
            &[
                "-T",
                "{DIR}/upload.txt",
                "-w",
                "%{size_header} %{size_upload}",
            ],
            "/put",
        ),
        // Failures, as curl's exit codes, and what came before them.
        case("partial", &["-w", "%{exitcode} %{http_code}"], "/partial"),
        case(
            "partial chunked",
            &["-w", "%{exitcode}"],
            "/partial-chunked",
        ),
        case("reset", &["-w", "%{exitcode} %{http_code}"], "/reset"),
        case("empty reply", &["-w", "%{exitcode}"], "/empty"),
        case(
            "max-redirs",
            &[
                "-L",
                "--max-redirs",
                "2",
                "-w",
                "%{exitcode} %{num_redirects}",
            ],
            "/loop",
        ),
        case(
            "max-redirs 0",
            &["-L", "--max-redirs", "0", "-w", "%{exitcode}"],
            "/moved301",
        ),
        case(
            "max-redirs without L",
            &["--max-redirs", "0", "-w", "%{exitcode}"],
            "/moved301",
        ),
        case(
            "f 404",
            &["-f", "-w", "%{exitcode} %{http_code}"],
            "/status/404",
        ),
        case("f i 404", &["-f", "-i"], "/status/404"),
        case(
            "fail-with-body",
            &["--fail-with-body", "-w", "%{exitcode}"],
            "/status/404",
        ),
        case(
            "fail-with-body i",
            &["--fail-with-body", "-i"],
            "/status/500",
        ),
        case("404 without f", &["-w", "%{exitcode}"], "/status/404"),
        case("f 200", &["-f", "-w", "%{exitcode}"], "/hello"),
        case("f 503", &["-f", "-w", "%{exitcode}"], "/status/503"),
        case("timeout", &["-m", "1", "-w", "%{exitcode}"], "/slow"),
        case("f L", &["-f", "-L", "-w", "%{exitcode}"], "/chain"),
        // --compressed.
        case("gzip", &["--compressed"], "/gzip"),
        case("deflate", &["--compressed"], "/deflate"),
        case("br", &["--compressed"], "/br"),
        case("zstd", &["--compressed"], "/zstd"),
        case("gzip not asked", &[], "/gzip"),
        case(
            "gzip size",
            &["--compressed", "-w", "%{size_download}"],
            "/gzip",
        ),
        case("compressed plain", &["--compressed"], "/hello"),
        case("compressed i", &["--compressed", "-i"], "/gzip"),
        case(
            "compressed bad",
            &["--compressed", "-w", "%{exitcode}"],
            "/bad-gzip",
        ),
        case(
            "compressed own header",
            &["--compressed", "-H", "Accept-Encoding: gzip"],
            "/gzip",
        ),
        // Cookies.
        case("b string", &["-b", "a=1"], "/echo"),
        case("b two", &["-b", "a=1; b=2"], "/echo"),
        case("b twice", &["-b", "a=1", "-b", "c=3"], "/echo"),
        case("b file", &["-b", "{DIR}/cookies.txt"], "/echo"),
        case(
            "b file deep path",
            &["-b", "{DIR}/cookies.txt"],
            "/api/v1/x",
        ),
        case("c jar", &["-c", "{JAR}"], "/cookie-set"),
        case(
            "b file c jar",
            &["-b", "{DIR}/cookies.txt", "-c", "{JAR}"],
            "/cookie-set",
        ),
        case("c jar across L", &["-L", "-c", "{JAR}"], "/cookie-redirect"),
        case("b empty across L", &["-L", "-b", ""], "/cookie-redirect"),
        case("no engine across L", &["-L"], "/cookie-redirect"),
        case(
            "b missing file",
            &["-b", "{DIR}/missing.txt", "-c", "{JAR}"],
            "/cookie-set",
        ),
        case(
            "b string and file",
            &["-b", "z=9", "-b", "{DIR}/cookies.txt"],
            "/echo",
        ),
        // --retry.
        case(
            "retry",
            &["--retry", "2", "--retry-delay", "1", "-w", "%{http_code}"],
            "/flaky",
        ),
        case(
            "retry too few",
            &["--retry", "1", "--retry-delay", "1", "-w", "%{http_code}"],
            "/flaky",
        ),
        case(
            "retry not for 404",
            &["--retry", "1", "--retry-delay", "1", "-w", "%{http_code}"],
            "/status/404",
        ),
        case(
            "retry with f",
            &[
                "--retry",
                "2",
                "--retry-delay",
                "1",
                "-f",
                "-w",
                "%{exitcode}",
            ],
            "/flaky",
        ),
        case(
            "retry after",
            &["--retry", "1", "-w", "%{http_code}"],
            "/limited",
        ),
        // A proxy's own answer on a plain-HTTP URL is the response.
        case(
            "proxy 407",
            &["-x", "{BASE}", "-w", "%{exitcode} %{http_code}"],
            "/x",
        ),
    ];
    for c in &mut v {
        if c.name == "proxy 407" {
            c.url = "http://parity.example/x".to_owned();
        }
    }
    // curl answers localhost itself: 127.0.0.1, then ::1 (the server listens on the former).
    for (name, args, host) in [
        (
            "localhost",
            vec!["-w", "%{remote_ip} %{exitcode}"],
            "localhost",
        ),
        (
            "localhost -4",
            vec!["-4", "-w", "%{remote_ip}"],
            "localhost",
        ),
        ("localhost -6", vec!["-6", "-w", "%{exitcode}"], "localhost"),
        (
            "a name under localhost",
            vec!["-w", "%{remote_ip}"],
            "api.localhost",
        ),
    ] {
        v.push(Case {
            name: name.to_owned(),
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            url: format!("http://{host}:{{PORT}}/hello"),
            stdin: None,
        });
    }
    v.push(Case {
        name: "refused, retried".to_owned(),
        args: [
            "--retry",
            "1",
            "--retry-connrefused",
            "--retry-delay",
            "1",
            "-w",
            "%{exitcode}",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
        url: "http://127.0.0.1:{CLOSED}/x".to_owned(),
        stdin: None,
    });
    v.push(Case {
        name: "proxy with credentials".to_owned(),
        args: ["-x", "{BASE}", "-U", "u:p"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        url: "http://parity.example/x".to_owned(),
        stdin: None,
    });
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_sends_and_fails_as_curl_does() {
    let Some(curl) = parallax_testkit::interop::require("curl", "the Debian package curl") else {
        return;
    };
    let server = Arc::new(Server::default());
    let port = serve(server.clone()).await;
    let base = format!("http://127.0.0.1:{port}");
    let root = std::env::temp_dir().join(format!("parallax-curl-parity-{}", std::process::id()));
    let inputs = root.join("in");
    std::fs::create_dir_all(&inputs).expect("inputs");
    for (name, bytes) in [
        ("crlf.txt", b"a=1\r\nb=2\r\n\r\nc=3\n".to_vec()),
        ("midcr.txt", b"ab\rcd\nef\n".to_vec()),
        ("bin.dat", b"bin\x00ary\r\n\xff\xfe end".to_vec()),
        ("upload.txt", b"uploaded text\nsecond line\n".to_vec()),
        ("empty.txt", Vec::new()),
        ("pic.png", b"\x89PNG not really".to_vec()),
        ("body.json", b"{\"from\": \"file\"}\r\n".to_vec()),
        ("format.txt", b"code=%{http_code} type=%{content_type}\\n".to_vec()),
        (
            "cookies.txt",
            b"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tfromfile\tyes\n127.0.0.1\tFALSE\t/api\tFALSE\t1924992000\tdeep\t1\n#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsecret\ts\n127.0.0.1\tFALSE\t/\tTRUE\t0\tsecure\tno\n"
                .to_vec(),
        ),
    ] {
        std::fs::write(inputs.join(name), bytes).expect("input file");
    }
    let curl_cmd = vec![curl.display().to_string(), "-q".to_owned(), "-s".to_owned()];
    let px = vec![
        env!("CARGO_BIN_EXE_parallax").to_owned(),
        "probe".to_owned(),
        "-s".to_owned(),
    ];
    let all = cases();
    assert!(all.len() >= 120, "{} cases", all.len());
    let mut differ = Vec::new();
    for c in &all {
        let theirs = tokio::task::block_in_place(|| {
            run(&curl_cmd, c, &base, &inputs, &root.join("curl"), &server)
        });
        let ours =
            tokio::task::block_in_place(|| run(&px, c, &base, &inputs, &root.join("px"), &server));
        if theirs != ours {
            differ.push(format!(
                "{}:\n  curl:     {}\n  parallax: {}",
                c.name,
                show(&theirs),
                show(&ours)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        differ.is_empty(),
        "{} of {} cases differ from curl:\n{}",
        differ.len(),
        all.len(),
        differ.join("\n")
    );
}

fn show(r: &Run) -> String {
    let text = |b: &[u8]| format!("{:?}", String::from_utf8_lossy(b));
    let files: Vec<String> = r
        .files
        .iter()
        .filter_map(|(n, b)| b.as_ref().map(|b| format!("{n}={}", text(b))))
        .collect();
    let seen: Vec<String> = r
        .seen
        .iter()
        .map(|s| format!("[{} {:?} {}]", s.line, s.headers, text(&s.body)))
        .collect();
    format!(
        "exit {:?} stdout {} files {:?} requests {}",
        r.code,
        text(&r.stdout),
        files,
        seen.join(" ")
    )
}
