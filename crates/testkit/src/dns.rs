//! A small DNS client for tests: one question, UDP or TCP, a timeout on every step.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

/// How long a test waits for an answer.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// How a test query is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP without EDNS: answers over 512 bytes come back truncated.
    Udp,
    /// UDP with EDNS, advertising 1232 bytes.
    UdpEdns,
    /// TCP.
    Tcp,
}

/// Builds the wire form of a query for `name`/`rtype`.
pub fn query_bytes(name: &str, rtype: RecordType, edns: bool) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = 0x5a5a;
    m.metadata.recursion_desired = true;
    let name = Name::from_ascii(name).expect("test names are valid");
    m.add_query(Query::query(name, rtype));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        m.set_edns(e);
    }
    m.to_vec().expect("a query encodes")
}

/// Asks `server` one question and returns the whole response.
pub async fn ask(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    transport: Transport,
) -> Message {
    let wire = query_bytes(name, rtype, transport == Transport::UdpEdns);
    let bytes = match transport {
        Transport::Tcp => tcp_raw(server, &wire).await,
        _ => udp_raw(server, &wire).await,
    }
    .unwrap_or_else(|| panic!("no answer from {server} for {name} {rtype} over {transport:?}"));
    Message::from_vec(&bytes).expect("the answer decodes")
}

/// Sends raw bytes over UDP; the reply, or `None` after [`TIMEOUT`].
pub async fn udp_raw(server: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    let local = if server.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let sock = UdpSocket::bind(local).await.ok()?;
    sock.send_to(bytes, server).await.ok()?;
    let mut buf = vec![0u8; 65_535];
    let (n, _) = timeout(TIMEOUT, sock.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Sends raw bytes over TCP with the two-byte length prefix; the reply, or `None`.
pub async fn tcp_raw(server: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    let fut = async {
        let mut s = TcpStream::connect(server).await.ok()?;
        s.write_all(&u16::try_from(bytes.len()).ok()?.to_be_bytes())
            .await
            .ok()?;
        s.write_all(bytes).await.ok()?;
        let mut lb = [0u8; 2];
        s.read_exact(&mut lb).await.ok()?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(lb))];
        s.read_exact(&mut buf).await.ok()?;
        Some(buf)
    };
    timeout(TIMEOUT, fut).await.ok()?
}

/// The A and AAAA addresses of an answer, sorted.
pub fn addresses(m: &Message) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

/// The CNAME targets of an answer, in order, without trailing dots.
pub fn cnames(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::CNAME(c) => Some(c.0.to_ascii().trim_end_matches('.').to_owned()),
            _ => None,
        })
        .collect()
}
