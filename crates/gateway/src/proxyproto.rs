//! The PROXY protocol header (HAProxy's spec, versions 1 and 2) that a load balancer in front
//! of the gateway sends first on each connection, so the gateway sees the client's real
//! address. AWS Network Load Balancers send version 2; `curl --haproxy-protocol` sends
//! version 1. The lab sends it to give each vantage point its modelled address
//! (`aws:SourceIp`).
//!
//! The header is read exactly: not one byte of the TLS ClientHello after it is consumed. The
//! header's format (parsing its parts, writing it) is `parallax-rules`'s `proxy_header`.

use std::net::SocketAddr;

pub use parallax_rules::proxy_header::{ProxyError, V1_MAX, V2_SIG, parse_v1, parse_v2};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Reads one header. `Some(source)` for a proxied connection; `None` for a v2 LOCAL command,
/// a v1 `UNKNOWN` or a v2 family other than TCP over IPv4/IPv6 (the connection's own peer
/// address then stands).
pub async fn read_header<S: AsyncRead + Unpin>(
    s: &mut S,
) -> Result<Option<SocketAddr>, ProxyError> {
    let mut start = [0u8; 5];
    read(s, &mut start).await?;
    if &start == b"PROXY" {
        let mut line = start.to_vec();
        loop {
            if line.len() >= V1_MAX {
                return Err(ProxyError::V1(format!("longer than {V1_MAX} bytes")));
            }
            let mut b = [0u8; 1];
            read(s, &mut b).await?;
            line.push(b[0]);
            if line.ends_with(b"\r\n") {
                break;
            }
        }
        return parse_v1(&line[..line.len() - 2]);
    }
    if start != V2_SIG[..5] {
        return Err(ProxyError::Missing(
            String::from_utf8_lossy(&start).into_owned(),
        ));
    }
    let mut rest = [0u8; 11];
    read(s, &mut rest).await?;
    if rest[..7] != V2_SIG[5..] {
        return Err(ProxyError::V2("bad signature".to_owned()));
    }
    let (ver_cmd, family) = (rest[7], rest[8]);
    let len = usize::from(u16::from_be_bytes([rest[9], rest[10]]));
    // The length is at most 65535: read it all, then decide.
    let mut body = vec![0u8; len];
    read(s, &mut body).await?;
    parse_v2(ver_cmd, family, &body)
}

async fn read<S: AsyncRead + Unpin>(s: &mut S, buf: &mut [u8]) -> Result<(), ProxyError> {
    s.read_exact(buf)
        .await
        .map(|_| ())
        .map_err(|_| ProxyError::Eof)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(bytes: &[u8]) -> (Result<Option<SocketAddr>, ProxyError>, Vec<u8>) {
        let mut cursor = std::io::Cursor::new(bytes.to_vec());
        let r = read_header(&mut cursor).await;
        let pos = cursor.position() as usize;
        (r, bytes[pos..].to_vec())
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn v1_is_read_to_its_crlf_and_not_a_byte_more() {
        rt().block_on(async {
            let (r, rest) = parse(b"PROXY TCP4 10.0.2.15 10.0.1.9 40000 443\r\n\x16\x03\x01").await;
            assert_eq!(r, Ok(Some("10.0.2.15:40000".parse().unwrap())));
            assert_eq!(rest, b"\x16\x03\x01");
            let (r, rest) = parse(b"PROXY UNKNOWN\r\n\x16").await;
            assert_eq!((r, rest.as_slice()), (Ok(None), &b"\x16"[..]));
            let (r, _) = parse(b"PROXY TCP6 2001:db8::1 2001:db8::2 5000 443\r\n").await;
            assert_eq!(r, Ok(Some("[2001:db8::1]:5000".parse().unwrap())));
        });
    }

    #[test]
    fn v2_proxy_local_and_ipv6() {
        rt().block_on(async {
            let mut h = V2_SIG.to_vec();
            h.extend([
                0x21, 0x11, 0, 12, 198, 51, 100, 7, 10, 0, 1, 9, 0x9c, 0x40, 1, 187,
            ]);
            h.extend(b"\x16\x03");
            let (r, rest) = parse(&h).await;
            assert_eq!(r, Ok(Some("198.51.100.7:40000".parse().unwrap())));
            assert_eq!(rest, b"\x16\x03");
            // TLVs after the addresses are skipped.
            let mut h = V2_SIG.to_vec();
            h.extend([
                0x21, 0x11, 0, 16, 198, 51, 100, 7, 10, 0, 1, 9, 0, 1, 1, 187,
            ]);
            h.extend([0x04, 0, 1, 0xff, b'X']);
            let (r, rest) = parse(&h).await;
            assert_eq!(r, Ok(Some("198.51.100.7:1".parse().unwrap())));
            assert_eq!(rest, b"X");
            let mut h = V2_SIG.to_vec();
            h.extend([0x20, 0x00, 0, 0]);
            assert_eq!(parse(&h).await.0, Ok(None));
            let mut h = V2_SIG.to_vec();
            h.extend([0x21, 0x21, 0, 36]);
            let mut a = [0u8; 36];
            a[0] = 0x20;
            a[1] = 0x01;
            a[15] = 1;
            a[32] = 0x13;
            a[33] = 0x88;
            h.extend(a);
            assert_eq!(
                parse(&h).await.0,
                Ok(Some("[2001::1]:5000".parse().unwrap()))
            );
        });
    }

    /// The writer's headers, read off a stream by the gateway's framing: the source comes back
    /// and not one byte of what follows is consumed.
    #[test]
    fn written_headers_are_read_exactly() {
        use parallax_rules::proxy_header::{write_v1, write_v2};
        use proptest::prelude::*;
        let rt = rt();
        let v4 = (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p)));
        let v6 = (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p)));
        let addr = prop_oneof![v4, v6];
        proptest!(|(src in addr.clone(), dst in addr, v2 in any::<bool>(), tail in proptest::collection::vec(any::<u8>(), 0..8))| {
            let mut bytes = if v2 { write_v2(src, dst) } else { write_v1(src, dst).into_bytes() };
            bytes.extend(&tail);
            let (r, rest) = rt.block_on(parse(&bytes));
            let same = src.is_ipv4() == dst.is_ipv4();
            prop_assert_eq!(r, Ok(same.then_some(src)));
            prop_assert_eq!(rest, tail);
        });
    }

    #[test]
    fn bad_headers_are_named() {
        rt().block_on(async {
            let cases: &[(&[u8], &str)] = &[
                (b"\x16\x03\x01\x02\x00", "did not start with a PROXY"),
                (b"PROXY TCP4 nope 10.0.0.1 1 2\r\n", "`nope` is not an IP"),
                (b"PROXY TCP4 ::1 ::1 1 2\r\n", "not a TCP4 address"),
                (b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n", "not a port"),
                (b"PROXY TCP4 1.2.3.4\r\n", "expected `PROXY"),
                (b"PROXY TCP4 1.2.3.4 5.6", "closed inside"),
                (b"PROXY A", "closed inside"),
            ];
            for (bytes, want) in cases {
                let err = parse(bytes).await.0.unwrap_err().to_string();
                assert!(err.contains(want), "{bytes:?}: {err}");
            }
            let long = format!("PROXY {}\r\n", "A".repeat(200));
            let err = parse(long.as_bytes()).await.0.unwrap_err().to_string();
            assert!(err.contains("longer than 107"), "{err}");
            let mut h = V2_SIG.to_vec();
            h.extend([0x31, 0x11, 0, 0]);
            assert!(
                parse(&h)
                    .await
                    .0
                    .unwrap_err()
                    .to_string()
                    .contains("version 3")
            );
            let mut h = V2_SIG.to_vec();
            h.extend([0x21, 0x11, 0, 4, 1, 2, 3, 4]);
            assert!(
                parse(&h)
                    .await
                    .0
                    .unwrap_err()
                    .to_string()
                    .contains("needs 12")
            );
            let mut h = V2_SIG.to_vec();
            h.extend([0x21, 0x11, 0, 12, 1]);
            assert_eq!(parse(&h).await.0, Err(ProxyError::Eof));
        });
    }
}
