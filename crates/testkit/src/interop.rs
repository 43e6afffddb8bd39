//! Outside tools for interop tests.

use std::path::PathBuf;

/// The path of `tool` on PATH; `package` says where it comes from (`the Debian package curl`). When it is missing: with `PARALLAX_INTEROP=required` the test
/// fails (CI installs every tool), otherwise it prints why it skips and returns `None`.
pub fn require(tool: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        missing(&format!("interop tool `{tool}`"), package);
    }
    found
}

/// `python3`, when it can import `module` (`package` says where it comes from: `websockets
/// from PyPI`). Missing either: as [`require`].
pub fn require_python_module(module: &str, package: &str) -> Option<PathBuf> {
    let python = require("python3", "the Debian package python3")?;
    let imports = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !imports {
        missing(&format!("the Python module `{module}`"), package);
        return None;
    }
    Some(python)
}

/// Something an interop test needs is missing: a failure under `PARALLAX_INTEROP=required`,
/// else a printed reason to skip.
fn missing(what: &str, package: &str) {
    let required = std::env::var("PARALLAX_INTEROP").is_ok_and(|v| v == "required");
    assert!(
        !required,
        "{what} is missing and PARALLAX_INTEROP=required (install {package})"
    );
    // Written to the process's standard error itself, not through eprintln!: the test harness
    // captures the macros' output of a passing test, and a skip must show in a plain run.
    let test = std::thread::current()
        .name()
        .unwrap_or("an interop test")
        .to_owned();
    let line = format!(
        "SKIPPED {test}: {what} is not installed ({package}); PARALLAX_INTEROP=required makes this a failure\n"
    );
    use std::io::Write as _;
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Runs `promtool check metrics` on an exposition text: `None` when promtool is missing (see
/// [`require`]), else promtool's verdict with its words.
pub fn promtool_check_metrics(text: &str) -> Option<Result<(), String>> {
    use std::io::Write as _;
    let promtool = require("promtool", "the Debian package prometheus")?;
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(text.as_bytes()));
    let out = child.wait_with_output().ok()?;
    Some(match (written, out.status.success()) {
        (Some(Ok(())), true) => Ok(()),
        _ => Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    })
}

/// The environment variables curl and `parallax probe` read (proxies, trust, curl's home, the
/// probe's keys): a side-by-side test clears them all for both, then sets what its case needs.
pub const CLIENT_ENV: [&str; 15] = [
    "http_proxy",
    "https_proxy",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_HOME",
    "PARALLAX_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
];
