//! AWS for tests, on loopback only: a real moto server (`moto[server]` from PyPI) started on a
//! free port, boto3 scripts run against it, and a small fake endpoint for what moto does not
//! implement (answers written by the test in the shapes the API references document) or for
//! faults (throttling, AccessDenied).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A moto server on 127.0.0.1, killed when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// An empty file given as the shared config and credentials files, so nothing of the
    /// machine's own AWS setup is read.
    empty: PathBuf,
    python: PathBuf,
}

impl Moto {
    /// Starts moto; `None` (after saying why) when moto is not installed and interop tools
    /// are not required.
    pub fn start() -> Option<Moto> {
        let server = crate::interop::require("moto_server", "moto[server] from PyPI")?;
        let python = crate::interop::require_python_module("boto3", "boto3 from PyPI")?;
        // A free port: bound, read, released, then given to moto.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {addr} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let empty =
            std::env::temp_dir().join(format!("parallax-empty-aws-{}-{port}", std::process::id()));
        std::fs::write(&empty, "").expect("empty AWS config file");
        Some(Moto {
            child,
            addr,
            empty,
            python,
        })
    }

    /// The endpoint URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The environment a client of this moto gets: its endpoint, fake keys, us-east-1, no
    /// instance metadata, empty shared files.
    pub fn env(&self) -> Vec<(String, String)> {
        let empty = self.empty.display().to_string();
        [
            ("AWS_ENDPOINT_URL", self.url()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", empty.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE", empty),
            ("AWS_MAX_ATTEMPTS", "3".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Clears the AWS variables of `cmd`'s environment and sets [`Moto::env`].
    pub fn apply(&self, cmd: &mut Command) {
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
    }

    /// Runs a boto3 script against this moto (`ENDPOINT` is its URL, `kw` the client keywords)
    /// and gives what it printed; a failing script fails the test.
    pub fn boto3(&self, script: &str) -> String {
        let prelude = format!(
            "import boto3, json\nENDPOINT = {:?}\nkw = dict(endpoint_url=ENDPOINT, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n",
            self.url()
        );
        let mut cmd = Command::new(&self.python);
        cmd.arg("-c").arg(format!("{prelude}{script}"));
        self.apply(&mut cmd);
        let out = crate::process::run_within(&mut cmd, Duration::from_secs(60), "boto3 script");
        assert!(
            out.status.success(),
            "boto3 script failed:\n{script}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.empty);
    }
}

/// A request the fake endpoint received.
#[derive(Clone, Debug)]
pub struct Request {
    /// GET, POST, …
    pub method: String,
    /// The path and query.
    pub target: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, headers, body.
pub type Answer = (u16, Vec<(&'static str, String)>, String);

/// A fake AWS endpoint on 127.0.0.1: every request is answered by `answer`, one connection
/// at a time, each closed after its answer. It stops with the test process.
#[derive(Debug)]
pub struct Fake {
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Fake {
    /// Starts answering.
    pub fn start(answer: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("its address");
        let answer = Arc::new(answer);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let answer = answer.clone();
                std::thread::spawn(move || serve(stream, answer.as_ref()));
            }
        });
        Fake { addr }
    }

    /// The endpoint URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn serve(stream: TcpStream, answer: &dyn Fn(&Request) -> Answer) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Request {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (status, extra, body) = answer(&request);
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&body);
    let mut stream = stream;
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}
