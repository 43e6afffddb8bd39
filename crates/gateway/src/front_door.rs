//! A front door: the accept loop with its connection limit, and one connection's life (PROXY
//! header, TLS by SNI, HTTP/1.1 or HTTP/2) with a timeout on every phase, idle included.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use parallax_model::FrontDoor;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::{Semaphore, watch};

use crate::context::{Activity, Conn, Shared};
use crate::response::handle;
use crate::spread::{Handed, Place, Spread};
use crate::tls::{Chosen, describe};
use parallax_rules::decision::ClientCert;

/// One worker's share of a door when the gateway runs workers: which worker it is, the door's
/// spread over them, and the connections other workers hand it.
pub(crate) struct Share {
    pub(crate) worker: usize,
    pub(crate) spread: Arc<Spread>,
    pub(crate) inbox: UnboundedReceiver<Handed>,
}

/// A door's listener as one accept loop runs it.
pub(crate) struct Entrance {
    pub(crate) listener: TcpListener,
    pub(crate) name: String,
    pub(crate) door: FrontDoor,
    /// The door's connection limit, shared by every worker's loop.
    pub(crate) permits: Arc<Semaphore>,
    /// Without workers, `None`.
    pub(crate) share: Option<Share>,
}

pub(crate) async fn accept_loop(
    entrance: Entrance,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let Entrance {
        listener,
        name,
        door,
        permits,
        mut share,
    } = entrance;
    let mut conns = tokio::task::JoinSet::new();
    let door = Arc::new((name, door));
    // A permit first, then a connection: at the door's limit new connections wait in the
    // listener's backlog.
    let accept = async |permits: &Arc<Semaphore>| {
        let permit = permits.clone().acquire_owned().await.ok()?;
        loop {
            match listener.accept().await {
                Ok((tcp, peer)) => return Some((tcp, peer, permit)),
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    };
    loop {
        let handed = async {
            match share.as_mut() {
                Some(s) => s.inbox.recv().await,
                None => std::future::pending().await,
            }
        };
        let (tcp, peer, permit, serving) = tokio::select! {
            _ = stop.changed() => break,
            h = handed => {
                // Never closed while this worker holds the spread that holds its sender.
                let Some(h) = h else { break };
                match TcpStream::from_std(h.tcp) {
                    Ok(tcp) => (tcp, h.peer, h.permit, Some(h.serving)),
                    Err(e) => {
                        tracing::debug!(error = %e, peer = %h.peer, "a handed connection could not join this worker");
                        continue;
                    }
                }
            }
            a = accept(&permits) => {
                let Some((tcp, peer, permit)) = a else { break };
                match share.as_ref().map(|s| (s, s.spread.place(s.worker))) {
                    None => (tcp, peer, permit, None),
                    Some((_, Place::Here(serving))) => (tcp, peer, permit, Some(serving)),
                    Some((s, Place::There(w, serving))) => {
                        // Out of this worker's reactor and into the other's (if that worker
                        // has stopped, the connection is closed).
                        match tcp.into_std() {
                            Ok(tcp) => {
                                let _ = s.spread.hand(w, Handed { tcp, peer, permit, serving });
                            }
                            Err(e) => tracing::debug!(error = %e, %peer, "a connection could not leave this worker"),
                        }
                        continue;
                    }
                }
            }
        };
        let (shared, door, stop) = (shared.clone(), door.clone(), stop.clone());
        conns.spawn(async move {
            connection(tcp, peer, door, shared, stop).await;
            drop((permit, serving));
        });
        while conns.try_join_next().is_some() {}
    }
    // Requests in flight get the grace period; connections still open then are cut.
    if tokio::time::timeout(grace, async { while conns.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        conns.shutdown().await;
    }
}

pub(crate) async fn connection(
    mut tcp: TcpStream,
    mut peer: SocketAddr,
    door: Arc<(String, FrontDoor)>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let timeout = shared.header_read_timeout;
    use crate::metrics::ConnRefusal;
    // Counted up now and down whenever this function returns, whatever the path.
    struct Open(
        Arc<crate::metrics::GatewayMetrics>,
        Arc<(String, FrontDoor)>,
    );
    impl Drop for Open {
        fn drop(&mut self) {
            self.0.connection(&self.1.0, -1);
        }
    }
    let _open = shared.metrics.clone().map(|m| {
        m.connection(&door.0, 1);
        Open(m, door.clone())
    });
    let refused = |why: ConnRefusal| {
        if let Some(m) = &shared.metrics {
            m.refused(&door.0, why);
        }
    };
    if shared.proxy_protocol {
        match proxy_header(&mut tcp, timeout, peer).await {
            Ok(source) => peer = source,
            Err(why) => {
                refused(why);
                return;
            }
        }
    }
    let acceptor = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp);
    let Ok(Ok(start)) = tokio::time::timeout(timeout, acceptor).await else {
        tracing::debug!(%peer, "no TLS ClientHello in time");
        refused(ConnRefusal::ClientHello);
        return;
    };
    let sni = start.client_hello().server_name().map(str::to_owned);
    let snapshot = shared.snapshot.load_full();
    let Some(tls) = snapshot.doors.get(&door.0) else {
        return;
    };
    let Chosen {
        config,
        check,
        accept,
    } = tls.choose(sni.as_deref());
    let stream = match tokio::time::timeout(timeout, start.into_stream(config)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(%peer, sni = ?sni, error = %e, "TLS handshake failed");
            if accept && let Some(m) = &shared.metrics {
                m.handshake_failed(&door.0, crate::metrics::HandshakeFailure::of(&e));
            }
            refused(if accept {
                ConnRefusal::Handshake
            } else {
                ConnRefusal::NoSni
            });
            return;
        }
        Err(_) => {
            refused(ConnRefusal::HandshakeTimeout);
            return;
        }
    };
    if !accept {
        refused(ConnRefusal::NoSni);
        return;
    }
    let (_, session) = stream.get_ref();
    let presented = session.peer_certificates().map(<[_]>::to_vec);
    let client_cert = client_cert(check.as_deref(), presented.as_deref());
    let protocol = if session.alpn_protocol() == Some(b"h2") {
        "HTTP/2"
    } else {
        "HTTP/1.1"
    };
    let activity = Arc::new(Activity::default());
    let conn = Arc::new(Conn {
        door_name: door.0.clone(),
        door: door.1.clone(),
        peer,
        peer_ip: peer.ip().to_string(),
        sni,
        client_cert,
        protocol,
        activity: activity.clone(),
    });
    serve(stream, conn, activity, shared, stop, peer).await;
}

/// What the client's certificate chain says: checked by the domain's truststore, or (strict
/// mode) already verified during the handshake, or not asked for.
fn client_cert(
    check: Option<&crate::tls::ClientCheck>,
    presented: Option<&[rustls_pki_types::CertificateDer<'static>]>,
) -> ClientCert {
    match (check, presented) {
        (Some(check), p) => check.check(p),
        // Strict mode verified it during the handshake.
        (None, Some(chain)) if !chain.is_empty() => {
            let (subject, serial) = describe(&chain[0]);
            ClientCert::Valid { subject, serial }
        }
        (None, _) => ClientCert::NotAsked,
    }
}

/// The client's address from a PROXY protocol header (v1 or v2), read within `timeout`; the
/// TCP peer's when the header says LOCAL.
async fn proxy_header(
    tcp: &mut TcpStream,
    timeout: std::time::Duration,
    peer: SocketAddr,
) -> Result<SocketAddr, crate::metrics::ConnRefusal> {
    use crate::metrics::ConnRefusal;
    match tokio::time::timeout(timeout, crate::proxyproto::read_header(tcp)).await {
        Ok(Ok(Some(source))) => Ok(source),
        Ok(Ok(None)) => Ok(peer),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "connection refused");
            Err(ConnRefusal::ProxyHeader)
        }
        Err(_) => {
            tracing::debug!(%peer, "no PROXY protocol header in time");
            Err(ConnRefusal::ProxyHeaderTimeout)
        }
    }
}

/// Serves HTTP/1.1 or HTTP/2 (with upgrades) on an accepted TLS stream until the client closes,
/// the gateway stops, or the connection is idle; then in-flight requests get a bounded grace.
async fn serve(
    stream: tokio_rustls::server::TlsStream<TcpStream>,
    conn: Arc<Conn>,
    activity: Arc<Activity>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    peer: SocketAddr,
) {
    let timeout = shared.header_read_timeout;
    let heads = (conn.protocol == "HTTP/1.1").then(|| activity.clone());
    let svc_shared = shared.clone();
    let service = service_fn(move |req| {
        let (conn, shared) = (conn.clone(), svc_shared.clone());
        async move { Ok::<_, Infallible>(handle(req, conn, shared).await) }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // No header-read timer of hyper's (it resets a timer per request): a head that takes longer
    // than `timeout` from its first bytes is cut off by the watchdog (`Activity::idle`), told of
    // arriving bytes by `Watched`.
    builder
        .http1()
        .header_read_timeout(None)
        .keep_alive(true)
        // A response's head and body flattened into one buffer: given as two, rustls seals
        // each into a TLS record of its own.
        .writev(false);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(shared.http2.max_streams)
        .max_send_buf_size(shared.http2.stream_buffer);
    // With upgrades: a WebSocket API's connection leaves HTTP after its 101.
    let io = crate::context::Watched::new(stream, heads);
    let served = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(served);
    let idle = activity.idle(timeout, shared.idle_timeout);
    tokio::pin!(idle);
    tokio::select! {
        r = served.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            return;
        }
        _ = stop.changed() => {}
        () = idle.as_mut() => {
            tracing::debug!(%peer, "connection idle: closed");
        }
    }
    // Shutting down or idle: no new requests; what is in flight may finish, within a bound (an
    // idle connection has nothing in flight and closes at once).
    served.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(timeout, served).await;
}
