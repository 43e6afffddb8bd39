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
//!
//! Datagrams are taken in batches (`recvmmsg`, up to [`BATCH`] per call) and the batch's replies
//! given back in one `sendmmsg` (nix's safe wrappers): under load one system call carries
//! several queries each way. Measured on 2 cores with 32 clients, batches average two to three
//! datagrams, and the loop's cost is then almost all the kernel's delivery of each reply.

use std::collections::HashMap;
use std::future::Future;
use std::io::{IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use hickory_server::net::xfer::Protocol;
use hickory_server::server::RequestHandler;
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg};
use tokio::io::Interest;
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

/// Datagrams taken from the socket in one call (`recvmmsg`), and replies given to it in one
/// (`sendmmsg`). Four: with 32 clients on 2 cores batches averaged about two datagrams even
/// when sixteen were allowed, and each slot is resident memory (below).
const BATCH: usize = 4;

/// The largest UDP payload: every slot can take any datagram, so none is ever truncated.
const SLOT: usize = 65_535;

/// Replies waiting for the batch's one `sendmmsg`: their bytes end to end, and each one's peer
/// and end offset.
#[derive(Default)]
struct Outgoing {
    bytes: Vec<u8>,
    ends: Vec<(SocketAddr, usize)>,
}

impl Outgoing {
    fn push(&mut self, peer: SocketAddr, reply: &[u8]) {
        self.bytes.extend_from_slice(reply);
        self.ends.push((peer, self.bytes.len()));
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

/// Receives until `stop` turns true. Several loops may share one socket.
pub(crate) async fn serve<H: RequestHandler>(
    socket: Arc<UdpSocket>,
    handler: Arc<H>,
    replay: Replay,
    mut stop: watch::Receiver<bool>,
) {
    // Zeroed by the allocator, so resident: 256 KiB per loop (the resolver's peak RSS under the
    // benchmark's load went from 17.5 to 18.2 MB; sixteen slots cost 3 MB more).
    let mut slots = vec![0u8; BATCH * SLOT];
    // Each received datagram: its slot, length and sender.
    let mut received: Vec<(usize, usize, SocketAddr)> = Vec::with_capacity(BATCH);
    let mut outgoing = Outgoing::default();
    let mut kept: HashMap<Box<[u8]>, Box<[u8]>> = HashMap::new();
    let mut generation = replay.generation.load(Ordering::Acquire);
    loop {
        tokio::select! {
            r = socket.readable() => if let Err(e) = r {
                tracing::debug!(error = %e, "UDP socket no longer pollable");
                break;
            },
            _ = stop.changed() => break,
        }
        received.clear();
        match socket.try_io(Interest::READABLE, || {
            receive(socket.as_raw_fd(), &mut slots, &mut received)
        }) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            // ICMP errors from earlier sends surface here; they say nothing about this socket.
            Err(e) => {
                tracing::debug!(error = %e, "UDP receive failed");
                continue;
            }
        }
        let now = replay.generation.load(Ordering::Acquire);
        if now != generation {
            kept.clear();
            generation = now;
        }
        outgoing.clear();
        for &(slot, n, peer) in &received {
            let buf = &slots[slot * SLOT..slot * SLOT + n];
            if n >= 12
                && let Some(reply) = kept.get(&buf[2..])
                && replay.limiter.allow(peer.ip())
            {
                // The kept reply with this query's id.
                outgoing.push(peer, reply);
                let at = outgoing.bytes.len() - reply.len();
                outgoing.bytes[at..at + 2].copy_from_slice(&buf[..2]);
                continue;
            }
            let message = buf.to_vec();
            let h = handler.clone();
            let mut answering =
                Box::pin(
                    async move { crate::wire::answer(message, peer, &*h, Protocol::Udp).await },
                );
            // The context lives only for this poll: a noop waker, since a pending answer is
            // handed to a task that polls it again with its own.
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
                        kept.insert(buf[2..].into(), reply.as_slice().into());
                    }
                    for r in &replies {
                        outgoing.push(peer, r);
                    }
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
        send_all(&socket, &outgoing).await;
    }
}

/// One `recvmmsg`: up to [`BATCH`] datagrams, each in its own slot of `slots`. A datagram from
/// port 0 cannot be answered (and an answer to ourselves would loop): it is left out.
fn receive(
    fd: RawFd,
    slots: &mut [u8],
    into: &mut Vec<(usize, usize, SocketAddr)>,
) -> std::io::Result<()> {
    // Made for each call: recvmmsg leaves each header's address length as the last datagram
    // set it, which would cut a longer address short in the next call.
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut iovs: Vec<[IoSliceMut<'_>; 1]> = slots
        .chunks_mut(SLOT)
        .map(|s| [IoSliceMut::new(s)])
        .collect();
    let got = recvmmsg(fd, &mut headers, iovs.iter_mut(), MsgFlags::empty(), None)?;
    for (slot, m) in got.enumerate() {
        if m.flags.contains(MsgFlags::MSG_TRUNC) {
            continue;
        }
        if let Some(peer) = m.address.as_ref().and_then(socket_addr)
            && peer.port() != 0
        {
            into.push((slot, m.bytes, peer));
        }
    }
    Ok(())
}

fn socket_addr(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        Some(SocketAddr::V4((*v4).into()))
    } else {
        a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
    }
}

/// Gives every reply to the socket, a batch per `sendmmsg`. A reply the kernel refuses (the
/// first of what is left when a call fails) is dropped, as a failed `sendto` would be; a full
/// send buffer is waited out.
async fn send_all(socket: &UdpSocket, outgoing: &Outgoing) {
    let mut next = 0;
    while next < outgoing.ends.len() {
        let chunk = &outgoing.ends[next..outgoing.ends.len().min(next + BATCH)];
        let result = socket.try_io(Interest::WRITABLE, || {
            let mut start = if next == 0 {
                0
            } else {
                outgoing.ends[next - 1].1
            };
            let mut iovs = Vec::with_capacity(chunk.len());
            let mut addrs = Vec::with_capacity(chunk.len());
            for &(peer, end) in chunk {
                iovs.push([IoSlice::new(&outgoing.bytes[start..end])]);
                addrs.push(Some(SockaddrStorage::from(peer)));
                start = end;
            }
            // Made for each call, like recvmmsg's: its raw pointers cannot be held across an await.
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(chunk.len(), None);
            let sent = sendmmsg(
                socket.as_raw_fd(),
                &mut headers,
                iovs.iter(),
                &addrs,
                [],
                MsgFlags::empty(),
            )?;
            Ok(sent.count())
        });
        match result {
            Ok(0) => next += 1,
            Ok(k) => next += k,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if socket.writable().await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::debug!(peer = %chunk[0].0, error = %e, "UDP send failed");
                next += 1;
            }
        }
    }
}

/// A forwarded query's replies, once its answer came: through the same `sendmmsg` path.
async fn send(socket: &UdpSocket, peer: SocketAddr, replies: Vec<Vec<u8>>) {
    let mut outgoing = Outgoing::default();
    for r in &replies {
        outgoing.push(peer, r);
    }
    send_all(socket, &outgoing).await;
}
