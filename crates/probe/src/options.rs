//! The probe's inputs, with curl's names where curl has one.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use parallax_model::RequestUrl;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// `--resolve HOST:PORT:ADDR`: use ADDR for HOST:PORT instead of asking DNS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    pub host: String,
    pub port: u16,
    pub addr: IpAddr,
}

/// `--connect-to HOST:PORT:HOST2:PORT2`: where HOST:PORT would be dialled, dial HOST2:PORT2.
/// As in curl, HOST is the URL's host (empty = any). parallax also accepts the resolved
/// address as HOST, which is how the lab maps modelled addresses (10.0.1.17) to the loopback
/// sockets that play them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectTo {
    pub host: String,
    pub port: Option<u16>,
    pub to: SocketAddr,
}

/// The client's certificate and key.
pub struct ClientIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("chain_len", &self.chain.len())
            .field("key", &"***")
            .finish()
    }
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        ClientIdentity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ProbeOptions {
    pub url: RequestUrl,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sent as `x-api-key`; never printed.
    pub api_key: Option<String>,
    /// `--cacert`: trust only these. `None` = the system's trust store.
    pub ca: Option<Vec<CertificateDer<'static>>>,
    pub identity: Option<ClientIdentity>,
    /// `-k`: go on when the server's certificate does not verify (still reported).
    pub danger_accept_invalid_certs: bool,
    pub resolve: Vec<Pin>,
    pub connect_to: Vec<ConnectTo>,
    /// `--dns-servers`: the resolvers of the connecting path, instead of the system's.
    pub dns_servers: Vec<SocketAddr>,
    /// `--compare-dns NAME=ADDR`: other resolvers to ask and compare.
    pub compare_dns: Vec<(String, SocketAddr)>,
    /// `--max-time`: the whole probe, confirmation included.
    pub max_time: Duration,
    /// Retry pinned to another resolver's public answer when the resolver path is suspected.
    pub confirm: bool,
    /// Dial only addresses a `--connect-to` rule maps (the lab: nothing leaves loopback).
    pub only_connect_to: bool,
    /// Send a PROXY protocol v1 header first (`--haproxy-protocol`); the inner address, when
    /// set, is the client address it claims (`--haproxy-clientip`), else the socket's own.
    pub haproxy: Option<Option<std::net::IpAddr>>,
}

impl ProbeOptions {
    pub fn new(url: RequestUrl) -> ProbeOptions {
        ProbeOptions {
            url,
            method: "GET".to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            api_key: None,
            ca: None,
            identity: None,
            danger_accept_invalid_certs: false,
            resolve: Vec::new(),
            connect_to: Vec::new(),
            dns_servers: Vec::new(),
            compare_dns: Vec::new(),
            max_time: Duration::from_secs(30),
            confirm: true,
            only_connect_to: false,
            haproxy: None,
        }
    }
}

/// Parses `HOST:PORT:ADDR` (ADDR may be `[v6]`).
pub fn parse_resolve(s: &str) -> Result<Pin, String> {
    let parts = split_colons(s);
    match parts.as_slice() {
        [host, port, addr] => Ok(Pin {
            host: host.to_ascii_lowercase(),
            port: port
                .parse()
                .map_err(|_| format!("`{s}`: `{port}` is not a port"))?,
            addr: addr
                .parse()
                .map_err(|_| format!("`{s}`: `{addr}` is not an IP address"))?,
        }),
        _ => Err(format!("`{s}` is not HOST:PORT:ADDR")),
    }
}

/// Parses `HOST:PORT:HOST2:PORT2` (either host may be `[v6]`; HOST and PORT may be empty).
pub fn parse_connect_to(s: &str) -> Result<ConnectTo, String> {
    let parts = split_colons(s);
    let [host, port, host2, port2] = parts.as_slice() else {
        return Err(format!("`{s}` is not HOST:PORT:HOST2:PORT2"));
    };
    let port = if port.is_empty() {
        None
    } else {
        Some(
            port.parse()
                .map_err(|_| format!("`{s}`: `{port}` is not a port"))?,
        )
    };
    let ip: IpAddr = if host2.eq_ignore_ascii_case("localhost") {
        IpAddr::from([127, 0, 0, 1])
    } else {
        host2.parse().map_err(|_| {
            format!("`{s}`: HOST2 must be an IP address or localhost (got `{host2}`)")
        })?
    };
    let port2: u16 = port2
        .parse()
        .map_err(|_| format!("`{s}`: `{port2}` is not a port"))?;
    Ok(ConnectTo {
        host: host.to_ascii_lowercase(),
        port,
        to: SocketAddr::new(ip, port2),
    })
}

/// `ADDR[:PORT]`, port 53 by default.
pub fn parse_dns_server(s: &str) -> Result<SocketAddr, String> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("`{s}` is not ADDR or ADDR:PORT"))
}

/// Splits on `:` outside `[...]`, dropping the brackets.
fn split_colons(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => out.push(String::new()),
            c => out.last_mut().map(|l| l.push(c)).unwrap_or(()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_forms() {
        assert_eq!(
            parse_resolve("a.example:443:52.94.133.10").unwrap().addr,
            "52.94.133.10".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            parse_resolve("a.example:443:[2600::1]").unwrap().addr,
            "2600::1".parse::<IpAddr>().unwrap()
        );
        let c = parse_connect_to("10.0.1.17:443:127.0.0.1:40123").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.to.port()),
            ("10.0.1.17", Some(443), 40123)
        );
        let any = parse_connect_to("::localhost:8443").unwrap();
        assert_eq!((any.host.as_str(), any.port), ("", None));
        assert!(parse_connect_to("a:b:c").is_err());
        assert_eq!(parse_dns_server("127.0.0.1").unwrap().port(), 53);
        assert_eq!(parse_dns_server("127.0.0.1:5300").unwrap().port(), 5300);
    }
}
