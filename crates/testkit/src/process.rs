//! Child processes with a bound on how long a test waits for them.

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Waits for a child to exit, on its exit (a thread blocked in `wait_with_output`), at most
/// `limit`; on the limit it is killed and the test fails naming `what`. Pipes the test has
/// taken already are left out of the output.
pub fn output_within(child: Child, limit: Duration, what: &str) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("{what}: did not exit within {limit:?}");
        }
    }
}

/// Runs a command to its end with its output captured, at most `limit` (see [`output_within`]).
pub fn run_within(cmd: &mut Command, limit: Duration, what: &str) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    output_within(child, limit, what)
}
