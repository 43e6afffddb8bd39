//! A real `redis-server` (Debian's package) on a loopback port, started by the test: ready when
//! it says so on its standard output, stopped and started again on the same port, and asked
//! plain RESP commands.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long redis-server may take to say it is ready.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A running redis-server, killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    bin: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one on a free loopback port, without persistence. `None` (with the reason
    /// printed) when redis-server is not installed; a failure under `PARALLAX_INTEROP=required`.
    pub fn start() -> Option<RedisServer> {
        let bin = crate::interop::require("redis-server", "the Debian package redis-server")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let mut r = RedisServer {
            bin,
            port,
            child: None,
        };
        r.restart();
        Some(r)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills it (SIGKILL: no goodbye to its clients) and waits for it to end.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // A paused server dies of SIGKILL too.
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops it answering without closing anything (SIGSTOP): a Redis that is slow, not down.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let Some(c) = &self.child else {
            panic!("redis-server is not running");
        };
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(c.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "SIG{name} sent to redis-server");
    }

    /// Starts it (again) on its port and returns when it accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        let mut child = Command::new(&self.bin)
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                "--logfile",
                "",
                "--daemonize",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains("Ready to accept connections") {
                    let _ = tx.send(());
                }
            }
        });
        self.child = Some(child);
        rx.recv_timeout(READY_WITHIN)
            .expect("redis-server says it is ready");
    }

    /// Sends one command and returns its reply: a simple string, a bulk string, an integer as
    /// text, `nil`, or an array's elements joined by newlines.
    pub fn command(&self, args: &[&str]) -> String {
        let mut tcp = TcpStream::connect_timeout(&self.addr(), Duration::from_secs(5))
            .expect("connect to redis-server");
        tcp.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        tcp.write_all(req.as_bytes()).expect("send");
        let mut r = BufReader::new(tcp);
        read_reply(&mut r)
    }
}

fn read_reply(r: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    r.read_line(&mut line).expect("a reply");
    let line = line.trim_end();
    let (kind, rest) = line.split_at(1);
    match kind {
        "+" | ":" => rest.to_owned(),
        "-" => panic!("redis-server answered an error: {rest}"),
        "$" => {
            let n: i64 = rest.parse().expect("a length");
            if n < 0 {
                return "nil".to_owned();
            }
            let mut buf = vec![0; usize::try_from(n).expect("length") + 2];
            r.read_exact(&mut buf).expect("the string");
            String::from_utf8_lossy(&buf[..buf.len() - 2]).into_owned()
        }
        "*" => {
            let n: i64 = rest.parse().expect("a count");
            (0..n.max(0))
                .map(|_| read_reply(r))
                .collect::<Vec<_>>()
                .join("\n")
        }
        _ => panic!("not a RESP reply: {line}"),
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
