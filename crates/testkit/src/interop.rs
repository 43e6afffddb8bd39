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
        let required = std::env::var("PARALLAX_INTEROP").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "interop tool `{tool}` is missing and PARALLAX_INTEROP=required (install {package})"
        );
        eprintln!(
            "skipped: `{tool}` is not installed ({package}); set PARALLAX_INTEROP=required to make this a failure"
        );
    }
    found
}
