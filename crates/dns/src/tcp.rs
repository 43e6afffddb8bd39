//! The TCP side of a view, with the limits hickory-server's own TCP listener does not have: a
//! cap on connections served at once (more wait in the kernel's backlog) and an idle timeout.
//! Messages use the two-byte length prefix of RFC 1035 §4.2.2; several queries may share one
//! connection, answered in order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::xfer::Protocol;
use hickory_server::server::RequestHandler;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::timeout;

/// Accepts until `stop` turns true; each connection is served by `handler`.
pub(crate) async fn serve<H: RequestHandler>(
    listener: TcpListener,
    handler: Arc<H>,
    max_connections: usize,
    idle: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        // Wait for a free slot before accepting: past the cap, clients queue in the backlog.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "TCP accept failed");
                    // Out of descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let handler = handler.clone();
        let mut stop = stop.clone();
        tasks.spawn(async move {
            tokio::select! {
                r = connection(stream, peer, &*handler, idle) => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "TCP connection ended");
                    }
                }
                _ = stop.changed() => {}
            }
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    tasks.shutdown().await;
}

async fn connection<H: RequestHandler>(
    mut stream: TcpStream,
    peer: SocketAddr,
    handler: &H,
    idle: Duration,
) -> std::io::Result<()> {
    loop {
        let mut len = [0u8; 2];
        match timeout(idle, stream.read_exact(&mut len)).await {
            Err(_) => return Ok(()), // idle: close quietly
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(r) => r?,
        };
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        timeout(idle, stream.read_exact(&mut buf))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "query body did not arrive")
            })??;
        let replies = crate::wire::answer(buf, peer, handler, Protocol::Tcp).await;
        for reply in replies {
            let n = u16::try_from(reply.len())
                .map_err(|_| std::io::Error::other("reply over 65535 bytes"))?;
            stream.write_all(&n.to_be_bytes()).await?;
            stream.write_all(&reply).await?;
        }
    }
}
