//! The TCP side of a view, with the limits hickory-server's own TCP listener does not have: a
//! cap on connections served at once (more wait in the kernel's backlog) and an idle timeout.
//! Messages use the two-byte length prefix of RFC 1035 §4.2.2; several queries may share one
//! connection, answered in order.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_server::net::NetError;
use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{MessageType, ResponseCode};
use hickory_server::proto::rr::Record;
use hickory_server::proto::serialize::binary::BinEncoder;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
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
        let replies = answer(buf, peer, handler).await;
        for reply in replies {
            let n = u16::try_from(reply.len())
                .map_err(|_| std::io::Error::other("reply over 65535 bytes"))?;
            stream.write_all(&n.to_be_bytes()).await?;
            stream.write_all(&reply).await?;
        }
    }
}

/// The wire replies to one message: none for responses and runts, FORMERR for undecodable ones.
async fn answer<H: RequestHandler>(buf: Vec<u8>, peer: SocketAddr, handler: &H) -> Vec<Vec<u8>> {
    match Request::from_bytes(buf.clone(), peer, Protocol::Tcp) {
        Ok(request) => {
            if request.metadata.message_type == MessageType::Response {
                return Vec::new();
            }
            let out = Collect::default();
            handler
                .handle_request::<_, TokioTime>(&request, out.clone())
                .await;
            out.take()
        }
        Err(_) => formerr(&buf).into_iter().collect(),
    }
}

/// FORMERR for a message whose header could be read: same id and opcode, QR set, no records.
pub(crate) fn formerr(query: &[u8]) -> Option<Vec<u8>> {
    let header = query.get(..12)?;
    let mut out = header.to_vec();
    out[2] = 0x80 | (header[2] & 0x78); // QR, the query's opcode, no AA/TC/RD
    out[3] = ResponseCode::FormErr.low();
    out[4..12].fill(0);
    Some(out)
}

/// A response handler that keeps the encoded replies for the connection to write.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Vec<u8>>>>);

impl Collect {
    fn take(&self) -> Vec<Vec<u8>> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl ResponseHandler for Collect {
    async fn send_response<'a>(
        &mut self,
        response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        let mut bytes = Vec::with_capacity(512);
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_max_size(u16::MAX);
        let info = response.destructive_emit(&mut encoder)?;
        if let Ok(mut v) = self.0.lock() {
            v.push(bytes);
        }
        Ok(info)
    }
}
