//! `ws://` and `wss://` URLs: the client's side of a WebSocket opening handshake (RFC 6455 §4.1)
//! and, once switched, one exchange: the request body (`-d`) as one text message, and the first
//! message back. What it saw is kept as the report's body excerpt, in words.

use std::time::Duration;

use http::HeaderMap;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// RFC 6455 §1.3.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The most of a message read back.
const MAX_REPLY: usize = 128 * 1024;

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64 (§4.1: a nonce per connection).
pub fn new_key() -> String {
    use base64::Engine as _;
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 16];
    // A nonce only needs to differ between connections; the system RNG not answering is not
    // worth failing the probe for.
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The `Sec-WebSocket-Accept` a server must answer `key` with (§4.2.2).
pub fn expected_accept(key: &str) -> String {
    use base64::Engine as _;
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}{GUID}").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// What happened after a 101.
#[derive(Debug, PartialEq, Eq)]
pub enum Upgraded {
    /// The server's `Sec-WebSocket-Accept` is missing or wrong: §4.1 says fail the connection.
    BadAccept {
        /// The header received, if any.
        got: Option<String>,
    },
    /// Switched; nothing was sent (no `-d`).
    Open,
    /// Switched; the message sent, and what came back.
    Replied {
        /// What came back.
        reply: Reply,
    },
}

/// The first message the server sent back.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// A text message.
    Text(String),
    /// A binary message, by its length.
    Binary(usize),
    /// A close frame, with its status code if any.
    Close(Option<u16>),
    /// Nothing within the time limit, or the connection ended.
    Nothing,
    /// A frame that breaks the protocol (masked, reserved bits, too long).
    Broken,
}

impl Upgraded {
    /// In words, for the report's body excerpt.
    pub fn describe(&self) -> String {
        match self {
            Upgraded::BadAccept { got } => format!(
                "websocket: the Sec-WebSocket-Accept header is {} (the handshake fails)",
                got.as_deref().map_or("missing".to_owned(), |g| format!(
                    "`{g}`, not the expected value"
                ))
            ),
            Upgraded::Open => {
                "websocket: switched (101); no message sent (-d sends one)".to_owned()
            }
            Upgraded::Replied { reply } => match reply {
                Reply::Text(t) => t.clone(),
                Reply::Binary(n) => format!("websocket: a binary message of {n} bytes"),
                Reply::Close(code) => format!(
                    "websocket: the server closed the connection{}",
                    code.map(|c| format!(" ({c})")).unwrap_or_default()
                ),
                Reply::Nothing => "websocket: no message came back".to_owned(),
                Reply::Broken => "websocket: the server's frame breaks RFC 6455".to_owned(),
            },
        }
    }
}

/// After a 101: checks the accept value, sends `body` as a text message when there is one, and
/// reads the first message back within `limit`; then closes (1000).
pub(crate) async fn after_upgrade(
    res: http::Response<hyper::body::Incoming>,
    headers: &HeaderMap,
    key: &str,
    body: &[u8],
    limit: Duration,
) -> Upgraded {
    let got = headers
        .get("sec-websocket-accept")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if got.as_deref() != Some(expected_accept(key).as_str()) {
        return Upgraded::BadAccept { got };
    }
    if body.is_empty() {
        return Upgraded::Open;
    }
    let Ok(Ok(upgraded)) = tokio::time::timeout(limit, hyper::upgrade::on(res)).await else {
        return Upgraded::Replied {
            reply: Reply::Nothing,
        };
    };
    let mut io = TokioIo::new(upgraded);
    if write_masked(&mut io, 0x1, body).await.is_err() {
        return Upgraded::Replied {
            reply: Reply::Nothing,
        };
    }
    let reply = match tokio::time::timeout(limit, read_message(&mut io)).await {
        Ok(r) => r,
        Err(_) => Reply::Nothing,
    };
    let _ = write_masked(&mut io, 0x8, &1000u16.to_be_bytes()).await;
    Upgraded::Replied { reply }
}

/// A client frame: FIN, masked with a random key (§5.3).
async fn write_masked<IO: tokio::io::AsyncWrite + Unpin>(
    io: &mut IO,
    opcode: u8,
    payload: &[u8],
) -> std::io::Result<()> {
    use ring::rand::SecureRandom as _;
    let mut mask = [0u8; 4];
    let _ = ring::rand::SystemRandom::new().fill(&mut mask);
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= u16::MAX as usize => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    io.write_all(&out).await?;
    io.flush().await
}

/// The first data message (or close) from the server, skipping pings and pongs.
async fn read_message<IO: tokio::io::AsyncRead + Unpin>(io: &mut IO) -> Reply {
    let mut message = Vec::new();
    let mut first_opcode = None;
    for _ in 0..64 {
        let mut head = [0u8; 2];
        if io.read_exact(&mut head).await.is_err() {
            return Reply::Nothing;
        }
        let fin = head[0] & 0x80 != 0;
        let opcode = head[0] & 0x0F;
        // A server never masks (§5.1); no extension was negotiated.
        if head[1] & 0x80 != 0 || head[0] & 0x70 != 0 {
            return Reply::Broken;
        }
        let len = match head[1] & 0x7F {
            126 => {
                let mut b = [0u8; 2];
                if io.read_exact(&mut b).await.is_err() {
                    return Reply::Nothing;
                }
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                if io.read_exact(&mut b).await.is_err() {
                    return Reply::Nothing;
                }
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        if len as usize > MAX_REPLY.saturating_sub(message.len()) {
            return Reply::Broken;
        }
        let mut payload = vec![0u8; len as usize];
        if io.read_exact(&mut payload).await.is_err() {
            return Reply::Nothing;
        }
        match opcode {
            0x8 => {
                let code =
                    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                return Reply::Close(code);
            }
            0x9 | 0xA => continue,
            0x0..=0x2 => {
                if opcode != 0x0 {
                    first_opcode = Some(opcode);
                }
                message.extend_from_slice(&payload);
                if fin {
                    return match first_opcode {
                        Some(0x2) => Reply::Binary(message.len()),
                        _ => Reply::Text(String::from_utf8_lossy(&message).into_owned()),
                    };
                }
            }
            _ => return Reply::Broken,
        }
    }
    Reply::Broken
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6455 §1.3's worked example.
    #[test]
    fn the_accept_value_of_the_rfcs_example() {
        assert_eq!(
            expected_accept("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(new_key().len(), 24);
        assert_ne!(new_key(), new_key());
    }
}
