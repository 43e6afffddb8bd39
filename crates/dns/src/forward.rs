//! Forwarding a query to another DNS server (a resolver rule's targets, or an upstream): UDP
//! first, TCP when the answer comes back truncated, a timeout on every step.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_server::proto::op::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

/// Sends `query` (a whole DNS message) to each target in turn until one answers.
pub async fn forward(query: &[u8], targets: &[SocketAddr], per_try: Duration) -> Option<Message> {
    for target in targets {
        match exchange(query, *target, per_try).await {
            Ok(m) => return Some(m),
            Err(e) => tracing::debug!(%target, error = %e, "forward target did not answer"),
        }
    }
    None
}

async fn exchange(query: &[u8], target: SocketAddr, per_try: Duration) -> std::io::Result<Message> {
    let id = query
        .get(..2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .unwrap_or(0);
    let bind: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let sock = UdpSocket::bind(bind).await?;
    sock.connect(target).await?;
    sock.send(query).await?;
    // Room for the largest datagram, not zeroed: `recv_buf` writes into the spare capacity
    // (zeroing 64 KiB twice a probe was a visible share of a 1,000-target watch's CPU).
    let mut buf: Vec<u8> = Vec::with_capacity(65_535);
    let deadline = tokio::time::Instant::now() + per_try;
    // Skip stray datagrams that do not answer this query id.
    loop {
        buf.clear();
        let n = tokio::time::timeout_at(deadline, sock.recv_buf(&mut buf))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no UDP answer"))??;
        let Ok(msg) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        if msg.metadata.id != id {
            continue;
        }
        if !msg.metadata.truncation {
            return Ok(msg);
        }
        break;
    }
    timeout(per_try, tcp_exchange(query, target))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no TCP answer"))?
}

async fn tcp_exchange(query: &[u8], target: SocketAddr) -> std::io::Result<Message> {
    let mut s = TcpStream::connect(target).await?;
    let len = u16::try_from(query.len()).map_err(|_| std::io::Error::other("query too long"))?;
    s.write_all(&len.to_be_bytes()).await?;
    s.write_all(query).await?;
    let mut lb = [0u8; 2];
    s.read_exact(&mut lb).await?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(lb))];
    s.read_exact(&mut buf).await?;
    Message::from_vec(&buf)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}
