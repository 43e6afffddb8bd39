//! WebSocket APIs at the doors: the server's side of the opening handshake (RFC 6455 §4.2) and of
//! the framing (§5). A connection's data messages are answered by the API's `$default` route (a
//! MOCK integration's body, as one text message); pings get pongs; a close is answered and ends
//! the connection. Limits follow API Gateway's quotas for WebSocket APIs: 32 KB per frame,
//! 128 KB per message; past them the connection is closed with 1009 (message too big).

use std::sync::Arc;
use std::time::Duration;

use hyper::Request;
use hyper_util::rt::TokioIo;
use parallax_model::topology::Integration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use parallax_rules::decision::WebSocketEntry;
use parallax_rules::refusal::Reject;

/// RFC 6455 §1.3: appended to the client's key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// API Gateway's WebSocket frame size quota.
pub const MAX_FRAME: usize = 32 * 1024;
/// API Gateway's WebSocket message payload quota.
pub const MAX_MESSAGE: usize = 128 * 1024;

/// Checks the opening handshake and gives the `Sec-WebSocket-Accept` value; anything that is not
/// a version-13 handshake over HTTP/1.1 is refused with 426 Upgrade Required.
pub(crate) fn handshake<B>(req: &Request<B>, protocol: &str) -> Result<String, Reject> {
    let has_token = |name: &str, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    let key = req
        .headers()
        .get("sec-websocket-key")
        .and_then(|k| k.to_str().ok())
        .map(str::trim)
        .filter(|k| k.len() == 24 && k.ends_with("=="));
    let ok = protocol == "HTTP/1.1"
        && req.method() == hyper::Method::GET
        && has_token("upgrade", "websocket")
        && has_token("connection", "upgrade")
        && req
            .headers()
            .get("sec-websocket-version")
            .is_some_and(|v| v.as_bytes() == b"13");
    match (ok, key) {
        (true, Some(key)) => Ok(accept_value(key)),
        _ => Err(Reject::UpgradeRequired),
    }
}

/// `base64(SHA-1(key + GUID))` (RFC 6455 §4.2.2, item 5.4).
pub fn accept_value(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}{GUID}").as_bytes(),
    );
    crate::pki::base64(digest.as_ref())
}

/// What the connection answers a data message with: the route the API's selection picks
/// (`WebSocketEntry::route_for`, shared with `predict`), its MOCK body as one text message.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) routes: Arc<WebSocketEntry>,
    pub(crate) connection_id: String,
}

impl Answer {
    fn text(&self, message: &[u8]) -> String {
        match self.routes.route_for(message).map(|r| &r.integration) {
            Some(Integration::Mock { body, .. }) => body.to_string(),
            // No route takes it (no `$default`): an error message in API Gateway's shape
            // (INFERRED: `{"message": "Forbidden", "connectionId": …, "requestId": …}`).
            _ => serde_json::json!({
                "message": "Forbidden",
                "connectionId": self.connection_id,
                "requestId": crate::request_id::uuid4(),
            })
            .to_string(),
        }
    }
}

/// Runs one upgraded connection until the client closes it, breaks the framing, or is idle for
/// `idle`.
pub(crate) async fn serve(on: hyper::upgrade::OnUpgrade, answer: Answer, idle: Duration) {
    let Ok(upgraded) = on.await else {
        return;
    };
    let mut io = TokioIo::new(upgraded);
    let mut message: Vec<u8> = Vec::new();
    let mut in_message = false;
    loop {
        let frame = match tokio::time::timeout(idle, read_frame(&mut io)).await {
            Err(_) => {
                let _ = write_close(&mut io, 1001).await;
                return;
            }
            Ok(Err(code)) => {
                let _ = write_close(&mut io, code).await;
                return;
            }
            Ok(Ok(f)) => f,
        };
        match frame.opcode {
            // Continuation, text, binary: one message, possibly in fragments.
            0x0..=0x2 => {
                if (frame.opcode == 0x0) != in_message {
                    let _ = write_close(&mut io, 1002).await;
                    return;
                }
                message.extend_from_slice(&frame.payload);
                if message.len() > MAX_MESSAGE {
                    let _ = write_close(&mut io, 1009).await;
                    return;
                }
                in_message = !frame.fin;
                if frame.fin {
                    let reply = answer.text(&message);
                    message.clear();
                    if write_frame(&mut io, 0x1, reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            }
            0x8 => {
                // Echo the status code, then end (§5.5.1).
                let code = match frame.payload.as_slice() {
                    [a, b, ..] => u16::from_be_bytes([*a, *b]),
                    _ => 1000,
                };
                let _ = write_close(&mut io, code).await;
                return;
            }
            0x9 => {
                if write_frame(&mut io, 0xA, &frame.payload).await.is_err() {
                    return;
                }
            }
            0xA => {}
            _ => {
                let _ = write_close(&mut io, 1002).await;
                return;
            }
        }
    }
}

struct Frame {
    fin: bool,
    opcode: u8,
    payload: Vec<u8>,
}

/// Reads one client frame; `Err` is the close code to answer a broken one with.
async fn read_frame<IO: tokio::io::AsyncRead + Unpin>(io: &mut IO) -> Result<Frame, u16> {
    let mut head = [0u8; 2];
    io.read_exact(&mut head).await.map_err(|_| 1006u16)?;
    let fin = head[0] & 0x80 != 0;
    if head[0] & 0x70 != 0 {
        // No extension was negotiated: reserved bits must be 0.
        return Err(1002);
    }
    let opcode = head[0] & 0x0F;
    // A client masks every frame (§5.1).
    if head[1] & 0x80 == 0 {
        return Err(1002);
    }
    let len = match head[1] & 0x7F {
        126 => {
            let mut b = [0u8; 2];
            io.read_exact(&mut b).await.map_err(|_| 1006u16)?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            io.read_exact(&mut b).await.map_err(|_| 1006u16)?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    // Control frames are short and whole (§5.5).
    if opcode >= 0x8 && (len > 125 || !fin) {
        return Err(1002);
    }
    if len > MAX_FRAME as u64 {
        return Err(1009);
    }
    let mut mask = [0u8; 4];
    io.read_exact(&mut mask).await.map_err(|_| 1006u16)?;
    let mut payload = vec![0u8; len as usize];
    io.read_exact(&mut payload).await.map_err(|_| 1006u16)?;
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    if opcode == 0x1 && fin && std::str::from_utf8(&payload).is_err() {
        return Err(1007);
    }
    Ok(Frame {
        fin,
        opcode,
        payload,
    })
}

/// Writes one unmasked, unfragmented server frame.
async fn write_frame<IO: tokio::io::AsyncWrite + Unpin>(
    io: &mut IO,
    opcode: u8,
    payload: &[u8],
) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= u16::MAX as usize => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    io.write_all(&out).await?;
    io.flush().await
}

async fn write_close<IO: tokio::io::AsyncWrite + Unpin>(
    io: &mut IO,
    code: u16,
) -> std::io::Result<()> {
    // 1006 is never sent on the wire (§7.4.1): the connection just ends.
    if code == 1006 {
        return Ok(());
    }
    write_frame(io, 0x8, &code.to_be_bytes()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: FIN, `opcode`, masked with `mask` when given.
    fn frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut out = vec![0x80 | opcode];
        let m = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => out.push(m | n as u8),
            n if n <= u16::MAX as usize => {
                out.push(m | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(m | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(k) => {
                out.extend_from_slice(&k);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
            }
            None => out.extend_from_slice(payload),
        }
        out
    }

    async fn read(bytes: Vec<u8>) -> Result<Frame, u16> {
        let mut r: &[u8] = &bytes;
        read_frame(&mut r).await
    }

    /// §5.1, §5.2, §5.5 and API Gateway's frame quota, each refusal with its close code.
    #[tokio::test]
    async fn frames_are_read_as_rfc_6455_says() {
        let f = read(frame(0x1, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d])))
            .await
            .expect("a masked text frame");
        assert_eq!(
            (f.fin, f.opcode, f.payload.as_slice()),
            (true, 0x1, &b"Hello"[..])
        );
        // RFC 6455 §5.7: the masked "Hello" bytes as the RFC prints them.
        assert_eq!(
            frame(0x1, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d])),
            [
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
            ]
        );
        assert_eq!(
            read(frame(0x1, b"Hello", None)).await.err(),
            Some(1002),
            "unmasked"
        );
        let big = vec![b'a'; MAX_FRAME + 1];
        assert_eq!(
            read(frame(0x2, &big, Some([1, 2, 3, 4]))).await.err(),
            Some(1009)
        );
        let long_ping = vec![0u8; 126];
        assert_eq!(
            read(frame(0x9, &long_ping, Some([1, 2, 3, 4]))).await.err(),
            Some(1002)
        );
        assert_eq!(
            read(frame(0x1, &[0xff, 0xfe], Some([0, 0, 0, 0])))
                .await
                .err(),
            Some(1007)
        );
        assert_eq!(read(vec![0x81]).await.err(), Some(1006), "cut short");
    }

    /// RFC 6455 §1.3's worked example.
    #[test]
    fn the_accept_value_of_the_rfcs_example() {
        assert_eq!(
            accept_value("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
