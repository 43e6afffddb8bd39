//! Plain HTTP/1.1 GETs for the admin listeners (`/metrics`, `/healthz`, `/probe`) that tests
//! read: the raw response (status line, headers, body) with a bound on the wait.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GET `path` with `Connection: close` and any `headers` (`"Accept: …\r\n"`): the whole
/// response as text.
pub async fn get(addr: SocketAddr, path: &str, headers: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n{headers}\r\n")
            .as_bytes(),
    )
    .await
    .expect("send");
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(15), tcp.read_to_string(&mut out))
        .await
        .unwrap_or_else(|_| panic!("no answer from {addr}{path} in 15 s"))
        .expect("read");
    out
}

/// The body of a response [`get`] returned.
pub fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// `promtool check metrics` on the body of a `/metrics` response: a test failure with
/// promtool's words when it objects; nothing when promtool is missing (see
/// [`crate::interop::require`]).
pub async fn assert_promtool_accepts(response: &str) {
    let text = body(response).to_owned();
    let checked =
        tokio::task::spawn_blocking(move || crate::interop::promtool_check_metrics(&text))
            .await
            .expect("promtool");
    if let Some(Err(why)) = checked {
        panic!("promtool check metrics: {why}");
    }
}
