//! Spreading one door's connections evenly over the gateway's workers.
//!
//! Each worker has its own listener on a door (`SO_REUSEPORT`), and the kernel picks the
//! listener of a new connection by a hash of its addresses and ports, not by how busy the
//! workers are: 64 connections land 24 and 40 as easily as 32 and 32, and every request on the
//! fuller worker waits behind more others. So a worker that accepts a connection while another
//! worker of the door serves fewer hands it over, once, before its TLS handshake: its socket
//! leaves this worker's reactor and joins the other's, and every byte of it is served there
//! (nginx's workers balance the same way by taking turns at one listening socket). Counts are
//! the connections each worker serves or has been handed and not yet taken up, so two workers
//! accepting at once cannot both pick the same emptiest one for long.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// A connection accepted by one worker for another: its socket, out of any reactor, the door's
/// connection permit it holds (so the hand-offs in flight are bounded by the door's connection
/// limit) and its count against the worker it is for.
pub(crate) struct Handed {
    pub(crate) tcp: std::net::TcpStream,
    pub(crate) peer: SocketAddr,
    pub(crate) permit: OwnedSemaphorePermit,
    pub(crate) serving: Serving,
}

/// One door's workers: how many connections each serves, and where to hand one.
pub(crate) struct Spread {
    live: Box<[AtomicUsize]>,
    inbox: Box<[UnboundedSender<Handed>]>,
}

/// Where a connection just accepted by a worker is served.
pub(crate) enum Place {
    /// By the worker that accepted it.
    Here(Serving),
    /// By this other worker (its count already taken).
    There(usize, Serving),
}

/// A connection counted against a worker until this is dropped.
pub(crate) struct Serving(Arc<Spread>, usize);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.live[self.1].fetch_sub(1, Ordering::Relaxed);
    }
}

impl Spread {
    /// A door's spread over `workers` workers, with each worker's inbox.
    pub(crate) fn new(workers: usize) -> (Arc<Spread>, Vec<UnboundedReceiver<Handed>>) {
        let (inbox, receivers): (Vec<_>, Vec<_>) =
            (0..workers).map(|_| unbounded_channel()).unzip();
        let spread = Spread {
            live: (0..workers).map(|_| AtomicUsize::new(0)).collect(),
            inbox: inbox.into_boxed_slice(),
        };
        (Arc::new(spread), receivers)
    }

    /// Where worker `me` serves a connection it has just accepted: itself, unless another
    /// worker serves fewer (the one serving fewest, the lowest index among equals).
    pub(crate) fn place(self: &Arc<Spread>, me: usize) -> Place {
        let mine = self.live[me].load(Ordering::Relaxed);
        let fewest = self
            .live
            .iter()
            .enumerate()
            .map(|(w, n)| (n.load(Ordering::Relaxed), w))
            .min()
            .filter(|&(n, _)| n < mine);
        match fewest {
            Some((_, w)) => {
                self.live[w].fetch_add(1, Ordering::Relaxed);
                Place::There(w, Serving(self.clone(), w))
            }
            None => Place::Here(self.count(me)),
        }
    }

    /// Counts a connection against worker `w`.
    fn count(self: &Arc<Spread>, w: usize) -> Serving {
        self.live[w].fetch_add(1, Ordering::Relaxed);
        Serving(self.clone(), w)
    }

    /// Gives a connection to worker `w`; it comes back if that worker has stopped.
    pub(crate) fn hand(&self, w: usize, h: Handed) -> Result<(), Handed> {
        self.inbox[w].send(h).map_err(|e| e.0)
    }

    /// The connections each worker serves now.
    pub(crate) fn counts(&self) -> Vec<usize> {
        self.live
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_go_to_the_worker_serving_fewest_and_are_counted_until_dropped() {
        let (s, _rx) = Spread::new(3);
        let mut held = Vec::new();
        // Every connection accepted by worker 0: the three share them, lowest index first.
        for expected in [0, 1, 2, 0, 1, 2, 0] {
            let got = match s.place(0) {
                Place::Here(g) => {
                    held.push(g);
                    0
                }
                Place::There(w, g) => {
                    held.push(g);
                    w
                }
            };
            assert_eq!(got, expected, "{:?}", s.counts());
        }
        assert_eq!(s.counts(), vec![3, 2, 2]);
        // Worker 2's connections close: worker 0's next one goes there, worker 1's stays.
        held.retain(|g| g.1 != 2);
        assert_eq!(s.counts(), vec![3, 2, 0]);
        assert!(matches!(s.place(0), Place::There(2, _)));
        assert!(matches!(s.place(1), Place::There(2, _)));
        // Counted while held, given back when dropped (the two above already were).
        assert_eq!(s.counts(), vec![3, 2, 0]);
        assert!(matches!(s.place(1), Place::There(2, _)));
        let g = s.count(1);
        assert_eq!(s.counts(), vec![3, 3, 0]);
        drop(g);
        drop(held);
        assert_eq!(s.counts(), vec![0, 0, 0]);
    }
}
