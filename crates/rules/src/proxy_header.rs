//! The PROXY protocol header (HAProxy's spec, versions 1 and 2) that a Network Load Balancer
//! with proxy protocol on sends first on each connection, so the target sees the client's
//! address: how it is written, and how its parts are read. AWS NLBs send version 2; `curl
//! --haproxy-protocol` sends version 1. The gateway frames the header off its socket and
//! calls these; the probe and the lab write it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The version 2 signature.
pub const V2_SIG: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The longest version 1 line, with its CRLF (the spec's limit).
pub const V1_MAX: usize = 107;

/// Why a header was refused. The connection is closed; the message names what was wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProxyError {
    /// The connection did not start with a PROXY header (its first bytes are named).
    #[error("the connection did not start with a PROXY protocol header (got `{0}`)")]
    Missing(String),
    /// A malformed v1 line.
    #[error("PROXY v1 header: {0}")]
    V1(String),
    /// A malformed v2 header.
    #[error("PROXY v2 header: {0}")]
    V2(String),
    /// The connection ended inside the header.
    #[error("the connection closed inside the PROXY header")]
    Eof,
}

/// `PROXY TCP4 src dst sport dport` (without CRLF).
pub fn parse_v1(line: &[u8]) -> Result<Option<SocketAddr>, ProxyError> {
    let text = std::str::from_utf8(line).map_err(|_| ProxyError::V1("not ASCII".to_owned()))?;
    let fields: Vec<&str> = text.split(' ').collect();
    match fields.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Ok(None),
        ["PROXY", proto @ ("TCP4" | "TCP6"), src, _dst, sport, _dport] => {
            let ip: IpAddr = src
                .parse()
                .map_err(|_| ProxyError::V1(format!("source address `{src}` is not an IP")))?;
            if ip.is_ipv4() != (*proto == "TCP4") {
                return Err(ProxyError::V1(format!("`{src}` is not a {proto} address")));
            }
            let port: u16 = sport
                .parse()
                .map_err(|_| ProxyError::V1(format!("source port `{sport}` is not a port")))?;
            Ok(Some(SocketAddr::new(ip, port)))
        }
        _ => Err(ProxyError::V1(format!(
            "expected `PROXY TCP4|TCP6 SRC DST SPORT DPORT`, got `{text}`"
        ))),
    }
}

/// The address block of a v2 header: `Some(source)` for PROXY over TCP, `None` for LOCAL or a
/// family without a TCP source.
pub fn parse_v2(ver_cmd: u8, family: u8, body: &[u8]) -> Result<Option<SocketAddr>, ProxyError> {
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError::V2(format!(
            "version {} (only 2 exists)",
            ver_cmd >> 4
        )));
    }
    match ver_cmd & 0x0f {
        0 => return Ok(None), // LOCAL: a health check from the proxy itself
        1 => {}
        c => {
            return Err(ProxyError::V2(format!(
                "command {c} (expected LOCAL 0 or PROXY 1)"
            )));
        }
    }
    match family {
        0x11 => {
            if body.len() < 12 {
                return Err(ProxyError::V2(format!(
                    "TCP over IPv4 needs 12 address bytes, got {}",
                    body.len()
                )));
            }
            let ip = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
            let port = u16::from_be_bytes([body[8], body[9]]);
            Ok(Some(SocketAddr::new(IpAddr::V4(ip), port)))
        }
        0x21 => {
            if body.len() < 36 {
                return Err(ProxyError::V2(format!(
                    "TCP over IPv6 needs 36 address bytes, got {}",
                    body.len()
                )));
            }
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&body[..16]);
            let port = u16::from_be_bytes([body[32], body[33]]);
            Ok(Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)))
        }
        // UNSPEC, UDP, UNIX: no TCP source to take.
        _ => Ok(None),
    }
}

/// The v1 line for a connection from `src` to `dst`, with its CRLF (`PROXY UNKNOWN` when the
/// two families differ, which v1 cannot say).
pub fn write_v1(src: SocketAddr, dst: SocketAddr) -> String {
    let proto = match (src.ip(), dst.ip()) {
        (IpAddr::V4(_), IpAddr::V4(_)) => "TCP4",
        (IpAddr::V6(_), IpAddr::V6(_)) => "TCP6",
        _ => return "PROXY UNKNOWN\r\n".to_owned(),
    };
    format!(
        "PROXY {proto} {} {} {} {}\r\n",
        src.ip(),
        dst.ip(),
        src.port(),
        dst.port()
    )
}

/// The v2 header for a TCP connection from `src` to `dst`, as an NLB sends it (no TLVs). Mixed
/// families are sent as LOCAL, which carries no address.
pub fn write_v2(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let mut h = V2_SIG.to_vec();
    match (src, dst) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => {
            h.extend([0x21, 0x11, 0, 12]);
            h.extend(s.ip().octets());
            h.extend(d.ip().octets());
            h.extend(s.port().to_be_bytes());
            h.extend(d.port().to_be_bytes());
        }
        (SocketAddr::V6(s), SocketAddr::V6(d)) => {
            h.extend([0x21, 0x21, 0, 36]);
            h.extend(s.ip().octets());
            h.extend(d.ip().octets());
            h.extend(s.port().to_be_bytes());
            h.extend(d.port().to_be_bytes());
        }
        _ => h.extend([0x20, 0x00, 0, 0]),
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), p)),
            (any::<[u8; 16]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), p)),
        ]
    }

    proptest! {
        /// What is written is read back: the source of a same-family pair, nothing otherwise.
        #[test]
        fn v1_and_v2_round_trip(src in addr(), dst in addr()) {
            let same = src.is_ipv4() == dst.is_ipv4();
            let line = write_v1(src, dst);
            prop_assert!(line.len() <= V1_MAX);
            let read = parse_v1(line.trim_end_matches("\r\n").as_bytes());
            prop_assert_eq!(read, Ok(same.then_some(src)));
            let h = write_v2(src, dst);
            let len = usize::from(u16::from_be_bytes([h[14], h[15]]));
            prop_assert_eq!(h.len(), 16 + len);
            prop_assert_eq!(parse_v2(h[12], h[13], &h[16..]), Ok(same.then_some(src)));
        }

        /// Arbitrary bytes (issue 26): an address or an error, never a panic.
        #[test]
        fn arbitrary_headers_never_panic(
            line in prop::collection::vec(any::<u8>(), 0..120),
            text in "PROXY (TCP4|TCP6|UNKNOWN|[A-Z0-9]{0,5})( [0-9a-f.:]{0,40}){0,5}",
            ver_cmd in any::<u8>(),
            family in any::<u8>(),
            body in prop::collection::vec(any::<u8>(), 0..300),
        ) {
            let _ = parse_v1(&line);
            let _ = parse_v1(text.as_bytes());
            let _ = parse_v2(ver_cmd, family, &body);
            let _ = parse_v2(0x21, family, &body);
        }
    }
}
