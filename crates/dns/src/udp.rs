//! The UDP side of a view. Each datagram is answered where it is received: the answer comes
//! from memory, so the handler's future is polled once and is almost always ready; only a query
//! that must be forwarded (its future is pending) is spawned, so a slow upstream never holds up
//! the loop. hickory-server's own UDP loop spawns a task per datagram and sends every reply
//! through a channel, which cost more than the answer itself under load.
//!
//! Each loop also keeps the replies it made from memory, keyed by the query's bytes after its
//! id: the same question (with the same flags and EDNS) gets the same bytes back with only the
//! id patched, without decoding or encoding anything. Only NOERROR and NXDOMAIN replies that
//! were ready at once (never a forwarded one, never a REFUSED from the rate limiter) are kept;
//! a changed topology ([`Replay::generation`]) empties every loop's replies, and a hit still
//! takes a token from the client's rate limit.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use hickory_server::net::xfer::Protocol;
use hickory_server::server::RequestHandler;
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// What lets a loop answer a repeated question from its kept replies.
#[derive(Clone, Debug)]
pub(crate) struct Replay {
    /// Bumped whenever the views change; a loop that sees a new value forgets its replies.
    pub generation: Arc<AtomicU64>,
    pub limiter: Arc<crate::rate_limit::Limiter>,
}

/// Replies kept per loop; past this many the loop forgets them all and starts again.
const MAX_KEPT: usize = 4096;

/// Whether a reply may be replayed: a response, NOERROR or NXDOMAIN, not truncated.
fn replayable(reply: &[u8]) -> bool {
    reply.len() >= 12
        && reply[2] & 0x80 != 0
        && reply[2] & 0x02 == 0
        && matches!(reply[3] & 0x0f, 0 | 3)
}

/// Receives until `stop` turns true. Several loops may share one socket.
pub(crate) async fn serve<H: RequestHandler>(
    socket: Arc<UdpSocket>,
    handler: Arc<H>,
    replay: Replay,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 65_535];
    // A replayed reply is written here, its id patched: no allocation per answer.
    let mut out = Vec::with_capacity(512);
    let mut kept: HashMap<Box<[u8]>, Box<[u8]>> = HashMap::new();
    let mut generation = replay.generation.load(Ordering::Acquire);
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
        let now = replay.generation.load(Ordering::Acquire);
        if now != generation {
            kept.clear();
            generation = now;
        }
        if n >= 12
            && let Some(reply) = kept.get(&buf[2..n])
            && replay.limiter.allow(peer.ip())
        {
            out.clear();
            out.extend_from_slice(reply);
            out[..2].copy_from_slice(&buf[..2]);
            if let Err(e) = socket.send_to(&out, peer).await {
                tracing::debug!(%peer, error = %e, "UDP send failed");
            }
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
            Poll::Ready(replies) => {
                if let [reply] = replies.as_slice()
                    && n >= 12
                    && replayable(reply)
                {
                    if kept.len() >= MAX_KEPT {
                        kept.clear();
                    }
                    kept.insert(buf[2..n].into(), reply.as_slice().into());
                }
                send(&socket, peer, replies).await;
            }
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
