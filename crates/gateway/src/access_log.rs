//! The access log: one JSON line per request, written off the request path through a bounded
//! queue that drops and counts when the output stalls.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Receives one JSON line per request.
pub trait AccessLog: Send + Sync {
    /// Takes one line (without its newline); it is moved, not copied, onto a queue.
    fn line(&self, line: String);
    /// Lines dropped because the writer could not keep up (see [`StderrLog`]).
    fn dropped(&self) -> u64 {
        0
    }
    /// Writes out what is queued, waiting at most `timeout`.
    fn flush(&self, _timeout: Duration) {}
}

/// How many lines [`StderrLog`] queues before it drops (about 8 MB of typical lines).
pub const ACCESS_LOG_QUEUE: usize = 16 * 1024;

enum LogMsg {
    Line(String),
    Flush(std::sync::mpsc::Sender<()>),
}

/// Writes access-log lines to standard error from a thread of its own: the request path only
/// puts the line on a bounded queue, and never waits on the terminal or takes the stderr lock.
/// When stderr stalls and the queue is full, lines are dropped and counted, never buffered
/// without bound: the count is [`AccessLog::dropped`], and a warning names it every 10 s.
#[derive(Debug)]
pub struct StderrLog {
    tx: std::sync::mpsc::SyncSender<LogMsg>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for LogMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogMsg")
    }
}

impl StderrLog {
    /// A log to standard error with the default queue.
    pub fn new() -> StderrLog {
        StderrLog::with_writer(ACCESS_LOG_QUEUE, Box::new(std::io::stderr()))
    }

    /// A log writing to `out` through a queue of `capacity` lines.
    pub fn with_writer(capacity: usize, out: Box<dyn std::io::Write + Send>) -> StderrLog {
        use std::sync::atomic::Ordering;
        let (tx, rx) = std::sync::mpsc::sync_channel::<LogMsg>(capacity.max(1));
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = dropped.clone();
        // If the thread cannot start, lines are dropped (and counted) rather than requests failed.
        let _ = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || {
                use std::io::Write;
                let mut out = std::io::BufWriter::with_capacity(256 * 1024, out);
                let mut warned_at = (Instant::now(), 0u64);
                // The writer wakes on its own clock and drains what is queued: a sender never has
                // to wake it (a wake-up per request cost a third of the gateway's CPU under load).
                loop {
                    let mut wrote = false;
                    loop {
                        match rx.try_recv() {
                            Ok(LogMsg::Line(line)) => {
                                let _ = out.write_all(line.as_bytes());
                                let _ = out.write_all(b"\n");
                                wrote = true;
                            }
                            Ok(LogMsg::Flush(ack)) => {
                                let _ = out.flush();
                                let _ = ack.send(());
                            }
                            Err(std::sync::mpsc::TryRecvError::Empty) => break,
                            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                                let _ = out.flush();
                                return;
                            }
                        }
                    }
                    if wrote {
                        let _ = out.flush();
                    }
                    let now_dropped = counted.load(Ordering::Relaxed);
                    if now_dropped > warned_at.1 && warned_at.0.elapsed() >= Duration::from_secs(10)
                    {
                        tracing::warn!(
                            dropped = now_dropped - warned_at.1,
                            total = now_dropped,
                            "access log: lines dropped because the log output is too slow"
                        );
                        warned_at = (Instant::now(), now_dropped);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        StderrLog { tx, dropped }
    }
}

impl Default for StderrLog {
    fn default() -> Self {
        StderrLog::new()
    }
}

impl AccessLog for StderrLog {
    fn line(&self, line: String) {
        if self.tx.try_send(LogMsg::Line(line)).is_err() {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn flush(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let (ack, acked) = std::sync::mpsc::channel();
        let mut msg = LogMsg::Flush(ack);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(std::sync::mpsc::TrySendError::Full(m)) if Instant::now() < deadline => {
                    msg = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return,
            }
        }
        let _ = acked.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

/// Keeps access-log lines in memory (tests, the lab).
#[derive(Debug, Default)]
pub struct MemoryLog(pub Mutex<Vec<String>>);

impl AccessLog for MemoryLog {
    fn line(&self, line: String) {
        if let Ok(mut v) = self.0.lock() {
            v.push(line);
        }
    }
}
