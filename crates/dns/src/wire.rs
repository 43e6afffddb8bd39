//! One DNS message in, its wire replies out: shared by the UDP and TCP loops. Undecodable
//! messages get FORMERR; responses and runts get nothing. UDP replies are truncated to what the
//! client can take (its EDNS size, or 512 bytes), with TC set, as RFC 1035 and 6891 ask.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_server::net::NetError;
use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{MessageType, ResponseCode};
use hickory_server::proto::rr::Record;
use hickory_server::proto::serialize::binary::BinEncoder;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;

/// The wire replies to one message: none for responses and runts, FORMERR for undecodable ones.
pub(crate) async fn answer<H: RequestHandler>(
    buf: Vec<u8>,
    peer: SocketAddr,
    handler: &H,
    protocol: Protocol,
) -> Vec<Vec<u8>> {
    match Request::from_bytes(buf.clone(), peer, protocol) {
        Ok(request) => {
            if request.metadata.message_type == MessageType::Response {
                return Vec::new();
            }
            let out = Collect {
                replies: Arc::default(),
                udp: protocol == Protocol::Udp,
            };
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

/// A response handler that keeps the encoded replies for the loop to write.
#[derive(Clone)]
struct Collect {
    replies: Arc<Mutex<Vec<Vec<u8>>>>,
    udp: bool,
}

impl Collect {
    fn take(&self) -> Vec<Vec<u8>> {
        self.replies
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
        encoder.set_max_size(if self.udp {
            response.edns().map_or(512, |e| e.max_payload().max(512))
        } else {
            u16::MAX
        });
        let info = response.destructive_emit(&mut encoder)?;
        if let Ok(mut v) = self.replies.lock() {
            v.push(bytes);
        }
        Ok(info)
    }
}
