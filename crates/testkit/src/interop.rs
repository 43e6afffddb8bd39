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
    eprintln!(
        "skipped: {what} is not installed ({package}); set PARALLAX_INTEROP=required to make this a failure"
    );
}
