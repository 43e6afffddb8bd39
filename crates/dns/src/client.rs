//! A stub-resolver client: asks one server for the A or AAAA records of a name, over UDP with EDNS and
//! again over TCP when the answer is truncated, and reduces the reply to a [`DnsOutcome`].

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_server::proto::op::{Edns, Message, Query};
use hickory_server::proto::rr::{Name, RData, RecordType};
use parallax_model::ids::DnsName;
use parallax_model::{DnsOutcome, Rcode};

use crate::forward::forward;

/// Why a lookup produced no outcome.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// A name that cannot be put in a query.
    #[error("`{0}` is not a name that can be asked")]
    BadName(String),
    /// The server did not answer within the timeout.
    #[error("{server} did not answer within {} ms", timeout.as_millis())]
    NoAnswer {
        /// The server asked.
        server: SocketAddr,
        /// How long it was waited for.
        timeout: Duration,
    },
}

/// The address records a stub asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressType {
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
}

/// Asks `server` for the A records of `name` (recursion desired).
pub async fn lookup_a(
    server: SocketAddr,
    name: &DnsName,
    timeout: Duration,
) -> Result<DnsOutcome, LookupError> {
    lookup(server, name, AddressType::A, timeout).await
}

/// Asks `server` for the A or AAAA records of `name` (recursion desired).
pub async fn lookup(
    server: SocketAddr,
    name: &DnsName,
    qtype: AddressType,
    timeout: Duration,
) -> Result<DnsOutcome, LookupError> {
    let qname =
        Name::from_ascii(format!("{name}.")).map_err(|_| LookupError::BadName(name.to_string()))?;
    let mut m = Message::query();
    m.metadata.id = rand_id();
    m.metadata.recursion_desired = true;
    let rtype = match qtype {
        AddressType::A => RecordType::A,
        AddressType::Aaaa => RecordType::AAAA,
    };
    m.add_query(Query::query(qname, rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    m.set_edns(edns);
    let wire = m
        .to_vec()
        .map_err(|_| LookupError::BadName(name.to_string()))?;
    let reply = forward(&wire, &[server], timeout)
        .await
        .ok_or(LookupError::NoAnswer { server, timeout })?;
    Ok(outcome_of(&reply))
}

/// The outcome of a reply: rcode, the CNAME chain in order, the addresses, the smallest TTL.
pub fn outcome_of(reply: &Message) -> DnsOutcome {
    let mut cname_chain = Vec::new();
    let mut addresses = Vec::new();
    let mut ttl: Option<u32> = None;
    for r in &reply.answers {
        match &r.data {
            RData::A(a) => addresses.push(IpAddr::V4(a.0)),
            RData::AAAA(a) => addresses.push(IpAddr::V6(a.0)),
            RData::CNAME(c) => {
                if let Ok(n) = c.0.to_ascii().parse() {
                    cname_chain.push(n);
                }
            }
            _ => continue,
        }
        ttl = Some(ttl.map_or(r.ttl, |t| t.min(r.ttl)));
    }
    DnsOutcome {
        rcode: Rcode::from_u16(u16::from(reply.metadata.response_code)),
        cname_chain,
        addresses,
        ttl,
    }
}

/// A query id that differs between calls (no cryptographic need: loopback and known servers).
fn rand_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish() as u16
}
