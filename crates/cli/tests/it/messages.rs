//! What the binary says when something is wrong: what, where, and what to do, said once. Each
//! message is pinned by a snapshot (ports, process ids and temporary paths masked).

use std::process::{Command, Stdio};
use std::time::Duration;

fn parallax() -> Command {
    Command::new(env!("CARGO_BIN_EXE_parallax"))
}

fn run(cmd: &mut Command, what: &str) -> std::process::Output {
    parallax_testkit::process::run_within(cmd, Duration::from_secs(60), what)
}

/// The message with what differs between runs masked.
fn masked(text: &str, dir: &std::path::Path) -> String {
    let mut out = text.replace(&dir.display().to_string(), "[DIR]");
    // Ports after `127.0.0.1:` and `port `.
    for prefix in ["127.0.0.1:", "port "] {
        let mut s = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find(prefix) {
            s.push_str(&rest[..i + prefix.len()]);
            rest = &rest[i + prefix.len()..];
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            if digits > 0 {
                s.push_str("[PORT]");
            }
            rest = &rest[digits..];
        }
        s.push_str(rest);
        out = s;
    }
    out
}

/// The report's DIAGNOSIS part (what follows the word).
fn diagnosis_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout)
        .split("DIAGNOSIS")
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn messages_say_what_where_and_what_to_do() {
    let dir = std::env::temp_dir().join(format!("parallax-messages-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();

    // A port in use is said once, and `lab --control` fails before the lab runs.
    let o = run(
        parallax().args(["gateway", "--listen", &format!("regional=127.0.0.1:{port}")]),
        "gateway on a taken port",
    );
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("taken_port_gateway", masked(&stderr(&o), &dir));
    let o = run(
        parallax().args([
            "lab",
            "--keep-running",
            "--control",
            &format!("127.0.0.1:{port}"),
        ]),
        "lab --control on a taken port",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        o.stdout.is_empty(),
        "the lab ran first: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    insta::assert_snapshot!("taken_port_lab_control", masked(&stderr(&o), &dir));

    // A missing file is named without a line it does not have.
    let o = run(
        parallax().current_dir(&dir).args(["analyze", "nope.yaml"]),
        "analyze a missing file",
    );
    assert_eq!(o.status.code(), Some(2));
    let said = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    insta::assert_snapshot!("analyze_missing_file", masked(&said, &dir));

    // An OpenAPI export's problem names the file and line, not the flag.
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/openapi");
    let o = run(
        parallax()
            .args(["gateway", "--openapi"])
            .arg(corpus.join("bad-path.yaml")),
        "gateway --openapi with a bad path",
    );
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("openapi_problem", masked(&stderr(&o), &corpus));

    // A URL with a space is refused as a URL, not as a name.
    let o = run(
        parallax().args(["probe", "-s", "http://exa mple.com/x"]),
        "a URL with a space",
    );
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("url_with_a_space", masked(&stderr(&o), &dir));

    // A refused connection: the port answered, nothing listens; no security-group advice.
    drop(taken);
    let o = run(
        parallax().args([
            "probe",
            "--max-time",
            "5",
            &format!("http://127.0.0.1:{port}/"),
        ]),
        "a refused connection",
    );
    assert_eq!(o.status.code(), Some(12));
    let diagnosis = diagnosis_of(&o);
    insta::assert_snapshot!("connection_refused", masked(&diagnosis, &dir));

    let _ = std::fs::remove_dir_all(&dir);
}

/// The certificate `openssl req -x509` makes (CA:TRUE, self-signed), served by `openssl
/// s_server`: without trust the probe says what curl says (self-signed, not trusted) and to
/// pass it with --cacert; a missing --key is named as missing; with --cacert it works.
#[test]
fn a_self_signed_certificate_is_named_and_trusted_with_cacert() {
    let Some(openssl) = parallax_testkit::interop::require("openssl", "the Debian package openssl")
    else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("parallax-selfsigned-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
    let made = run(
        Command::new(&openssl)
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        "openssl req -x509",
    );
    assert!(made.status.success(), "{}", stderr(&made));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut server = Command::new(&openssl)
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server");
    // Ready when it takes a connection (bounded).
    let ready = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(ready, "openssl s_server did not listen");
    let url = format!("https://127.0.0.1:{port}/");

    let o = run(
        parallax().args(["probe", "--max-time", "10", "--no-confirm", &url]),
        "probe without trust",
    );
    assert_eq!(o.status.code(), Some(13));
    let diagnosis = diagnosis_of(&o);
    insta::assert_snapshot!("self_signed_not_trusted", masked(&diagnosis, &dir));
    let o = run(
        parallax().args([
            "probe",
            "-s",
            "-S",
            "-w",
            "%{exitcode} %{ssl_verify_result}",
            &url,
        ]),
        "probe -s without trust",
    );
    assert_eq!(o.status.code(), Some(60));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "60 18");

    let o = run(
        parallax()
            .args([
                "probe",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--cacert",
            ])
            .arg(&cert)
            .arg(&url),
        "probe with --cacert",
    );
    assert_eq!(
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned()
        ),
        (Some(0), "200".to_owned()),
        "{}",
        stderr(&o)
    );

    let o = run(
        parallax().args(["probe", "-s", "--cert"]).arg(&cert).args([
            "--key",
            "/nonexistent/client.key",
            &url,
        ]),
        "a --key that is missing",
    );
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("key_file_missing", masked(&stderr(&o), &dir));

    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
