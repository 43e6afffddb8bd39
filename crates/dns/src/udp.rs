//! The UDP side of a view. Each datagram is answered where it is received: the answer comes
//! from memory, so the handler's future is polled once and is almost always ready; only a query
//! that must be forwarded (its future is pending) is spawned, so a slow upstream never holds up
//! the loop. hickory-server's own UDP loop spawns a task per datagram and sends every reply
//! through a channel, which cost more than the answer itself under load.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use hickory_server::net::xfer::Protocol;
use hickory_server::server::RequestHandler;
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// Receives until `stop` turns true. Several loops may share one socket.
pub(crate) async fn serve<H: RequestHandler>(
    socket: Arc<UdpSocket>,
    handler: Arc<H>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, peer) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    // ICMP errors from earlier sends surface here; they say nothing about this socket.
                    tracing::debug!(error = %e, "UDP receive failed");
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        // Port 0 cannot be answered, and an answer to ourselves would loop.
        if peer.port() == 0 {
            continue;
        }
        let message = buf[..n].to_vec();
        let h = handler.clone();
        let mut answering =
            Box::pin(async move { crate::wire::answer(message, peer, &*h, Protocol::Udp).await });
        // The context lives only for this poll: a noop waker, since a pending answer is handed to
        // a task that polls it again with its own.
        let polled = answering
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        match polled {
            Poll::Ready(replies) => send(&socket, peer, replies).await,
            Poll::Pending => {
                let socket = socket.clone();
                tokio::spawn(async move {
                    let replies = answering.await;
                    send(&socket, peer, replies).await;
                });
            }
        }
    }
}

async fn send(socket: &UdpSocket, peer: SocketAddr, replies: Vec<Vec<u8>>) {
    for r in replies {
        if let Err(e) = socket.send_to(&r, peer).await {
            tracing::debug!(%peer, error = %e, "UDP send failed");
        }
    }
}
