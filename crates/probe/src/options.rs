//! The probe's inputs, with curl's names where curl has one.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::url::ProbeUrl;

/// `--resolve [+]HOST:PORT:ADDR[,ADDR…]`: use these addresses for HOST:PORT instead of asking
/// DNS. HOST `*` matches every host, as in curl.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    /// The host the rule applies to.
    pub host: String,
    /// The port it applies to.
    pub port: u16,
    /// The addresses to use instead of DNS.
    pub addrs: Vec<IpAddr>,
}

impl Pin {
    /// One address for one host and port.
    pub fn one(host: String, port: u16, addr: IpAddr) -> Pin {
        Pin {
            host,
            port,
            addrs: vec![addr],
        }
    }

    /// Whether the rule applies to this host and port.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        (self.host == "*" || self.host.eq_ignore_ascii_case(host)) && self.port == port
    }
}

/// One `--resolve` argument: an entry, or `-HOST:PORT`, which removes the entries before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolveArg {
    /// Pin a host and port to addresses.
    Add(Pin),
    /// `-HOST:PORT`: drop the pins given before it for this host and port.
    Remove {
        /// The host.
        host: String,
        /// The port.
        port: u16,
    },
}

/// `--connect-to HOST:PORT:HOST2:PORT2`: where HOST:PORT would be dialled, dial HOST2:PORT2
/// instead, and resolve HOST2 rather than HOST. As in curl, an empty HOST or PORT matches any,
/// an empty HOST2 or PORT2 keeps the original. parallax also matches HOST against the resolved
/// address when HOST2 is an address, which is how the lab maps modelled addresses (10.0.1.17)
/// to the loopback sockets that play them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectTo {
    /// The host to dial instead (empty: the URL's).
    pub host: String,
    /// The port to dial instead (none: the URL's).
    pub port: Option<u16>,
    /// The host dialled instead (an IPv6 address without brackets); empty: the original.
    pub to_host: String,
    /// The port dialled instead; `None`: the original.
    pub to_port: Option<u16>,
}

/// curl's form, `HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT` (an IPv6 host in brackets), as
/// [`parse_connect_to`] reads it.
impl std::fmt::Display for ConnectTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = |h: &str| {
            if h.contains(':') {
                format!("[{h}]")
            } else {
                h.to_owned()
            }
        };
        let port = |p: Option<u16>| p.map(|p| p.to_string()).unwrap_or_default();
        write!(
            f,
            "{}:{}:{}:{}",
            host(&self.host),
            port(self.port),
            host(&self.to_host),
            port(self.to_port)
        )
    }
}

impl ConnectTo {
    /// A rule that sends HOST:PORT to a socket address.
    pub fn to_addr(host: String, port: Option<u16>, to: SocketAddr) -> ConnectTo {
        ConnectTo {
            host,
            port,
            to_host: to.ip().to_string(),
            to_port: Some(to.port()),
        }
    }

    /// Whether the rule applies to this host and port.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        (self.host.is_empty() || self.host.eq_ignore_ascii_case(host))
            && self.port.is_none_or(|p| p == port)
    }

    /// The socket it sends to, when HOST2 is an address and PORT2 is given.
    pub fn socket(&self) -> Option<SocketAddr> {
        Some(SocketAddr::new(self.to_host.parse().ok()?, self.to_port?))
    }
}

/// The client's certificate and key.
pub struct ClientIdentity {
    /// The certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
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

/// `-4`, `-6`, or both families (A and AAAA are asked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Family {
    /// Either.
    #[default]
    Any,
    /// IPv4 only (`-4`).
    V4,
    /// IPv6 only (`-6`).
    V6,
}

impl Family {
    /// Whether an address is of an allowed family.
    pub fn allows(self, ip: &IpAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        }
    }
}

/// An HTTP proxy (`-x`, or the proxy variables as curl reads them).
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The proxy's host.
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// `-U`, or `user:password@` in the proxy URL; never printed.
    pub user: Option<(String, String)>,
    /// Where it came from: `-x`, `HTTPS_PROXY`, ...
    pub from: String,
}

impl Proxy {
    /// The proxy as the report shows it: no credentials.
    pub fn shown(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("http://{host}:{}", self.port)
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Proxy({} from {})", self.shown(), self.from)
    }
}

/// Where the whole response body goes (`-o FILE`, `-o -`, or `-s` without `-o`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Write the body to a file (`-o`).
    File(std::path::PathBuf),
    /// Write the body to standard output.
    Stdout,
}

/// The kind of request, as curl's `httpreq` tells them apart: what a redirect may change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RequestKind {
    /// A GET (`-G` included).
    #[default]
    Get,
    /// `-I`.
    Head,
    /// `-d` and its kin, `--json`.
    Post,
    /// `-F`.
    PostForm,
    /// `-T`.
    Put,
}

/// A sink for `-v`'s lines, written as the ladder goes.
#[derive(Clone)]
pub struct Trace(pub std::sync::Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Trace")
    }
}

/// What to probe and how: curl's flags as values.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// The URL.
    pub url: ProbeUrl,
    /// The method (`-X`).
    pub method: String,
    /// Request headers (`-H`), in order.
    pub headers: Vec<(String, String)>,
    /// `-H 'Name:'`: headers not sent, defaults included.
    pub remove_headers: Vec<String>,
    /// `-A`.
    pub user_agent: Option<String>,
    /// `-e`.
    pub referer: Option<String>,
    /// `-u user:password` (the URL's `user:password@` otherwise); never printed.
    pub basic_auth: Option<(String, String)>,
    /// The request body (`-d` and its kin, `--json`, `-F`, `-T`).
    pub body: Vec<u8>,
    /// The headers the body brings (curl's defaults for it: a form's or JSON's Content-Type,
    /// JSON's Accept, `Content-Length: 0` for `-d ''`, `Expect: 100-continue` for `-T`); a
    /// `-H` of the same name replaces one.
    pub body_headers: Vec<(String, String)>,
    /// `-T -`: the body is sent chunked (its length is not announced).
    pub chunked: bool,
    /// What kind of request curl would call this (its `httpreq`), which decides what a
    /// redirect does to the method and the body.
    pub request_kind: RequestKind,
    /// `-X` was given: its method is sent on every request, redirects included.
    pub custom_method: bool,
    /// `--post301`, `--post302`, `--post303`: keep a POST a POST through that redirect.
    pub keep_post: [bool; 3],
    /// `--compressed`: ask for deflate, gzip, br and zstd, and decode what comes.
    pub compressed: bool,
    /// `-f`: an HTTP status of 400 or more is a failure, and its body is not written.
    pub fail_on_http_error: bool,
    /// `--fail-with-body`: as `-f`, and the body is written.
    pub fail_with_body: bool,
    /// `-b FILE`/`-c`: the cookie engine (cookies sent, and those received kept across
    /// redirects), shared by the hops of one probe.
    pub cookies: Option<std::sync::Arc<std::sync::Mutex<crate::cookies::CookieJar>>>,
    /// `-b NAME=VALUE[; …]`: sent as it is, after the engine's cookies.
    pub cookie_string: Option<String>,
    /// Sent as `x-api-key`; never printed.
    pub api_key: Option<String>,
    /// `--cacert`: trust only these (shared: the certificate cache's list). `None` = the
    /// system's trust store.
    pub ca: Option<std::sync::Arc<Vec<CertificateDer<'static>>>>,
    /// The client certificate and key (`--cert`, `--key`).
    pub identity: Option<ClientIdentity>,
    /// `--pinnedpubkey`: SHA-256 digests of acceptable SubjectPublicKeyInfos.
    pub pinned_keys: Vec<[u8; 32]>,
    /// `-k`: go on when the server's certificate does not verify (still reported).
    pub danger_accept_invalid_certs: bool,
    /// `--aws-sigv4` with its credentials: the request is signed with SigV4.
    pub aws_sigv4: Option<crate::sigv4::SigV4>,
    /// The TLS versions offered (`--tlsv1.3`, `--tls-max`): 1.2 and 1.3 by default.
    pub tls: parallax_rules::tls_versions::Versions,
    /// `--resolve` pins.
    pub resolve: Vec<Pin>,
    /// `--connect-to` rules.
    pub connect_to: Vec<ConnectTo>,
    /// `-4` / `-6`.
    pub family: Family,
    /// `--dns-servers`: the resolvers of the connecting path, instead of the system's.
    pub dns_servers: Vec<SocketAddr>,
    /// `--compare-dns NAME=ADDR`: other resolvers to ask and compare.
    pub compare_dns: Vec<(String, SocketAddr)>,
    /// `--max-time`: the whole probe, confirmation included.
    pub max_time: Duration,
    /// `--connect-timeout`: name resolution, TCP and TLS together.
    pub connect_timeout: Option<Duration>,
    /// Where the whole body goes; `None`: only the report's excerpt is read.
    pub output: Option<Output>,
    /// `-i`: the status line and headers go to the body's sink first.
    pub include_headers: bool,
    /// With `-i -L`: the heads of the hops before, written before this one's.
    pub head_prefix: Vec<u8>,
    /// `-v`: each rung, as it happens.
    pub trace: Option<Trace>,
    /// The HTTP proxy, when one applies to this URL.
    pub proxy: Option<Proxy>,
    /// `--ip-ranges`: AWS's published ranges, to name each answer's owner.
    pub ip_ranges: Option<std::sync::Arc<crate::ipranges::IpRanges>>,
    /// `-L`: follow redirects.
    pub follow: bool,
    /// `--max-redirs` (curl's default 50).
    pub max_redirs: usize,
    /// Retry pinned to another resolver's public answer when the resolver path is suspected.
    pub confirm: bool,
    /// Dial only addresses a `--connect-to` rule maps (the lab: nothing leaves loopback).
    pub only_connect_to: bool,
    /// Send a PROXY protocol v1 header first (`--haproxy-protocol`); the inner address, when
    /// set, is the client address it claims (`--haproxy-clientip`), else the socket's own.
    pub haproxy: Option<Option<std::net::IpAddr>>,
    /// The network the probe runs in, when known (the lab's vantage point, or `--vpc` beside
    /// `--topology`): the diagnosis then names what that network's resolver does, not every
    /// VPC's.
    pub network: Option<parallax_model::Network>,
}

impl ProbeOptions {
    /// How long the HTTP exchange may take: a body written out may be large, so it is bounded
    /// only by `--max-time`; the report's excerpt by the step limit too.
    pub(crate) fn transfer_limit(&self) -> Duration {
        if self.output.is_some() {
            self.max_time
        } else {
            crate::limits::STEP * 3
        }
    }

    /// Writes a `-v` line when asked for.
    pub(crate) fn trace(&self, line: impl FnOnce() -> String) {
        if let Some(t) = &self.trace {
            (t.0)(&line());
        }
    }

    /// Options for a plain GET of `url`.
    pub fn new(url: ProbeUrl) -> ProbeOptions {
        ProbeOptions {
            url,
            method: "GET".to_owned(),
            headers: Vec::new(),
            remove_headers: Vec::new(),
            user_agent: None,
            referer: None,
            basic_auth: None,
            body: Vec::new(),
            body_headers: Vec::new(),
            chunked: false,
            request_kind: RequestKind::Get,
            custom_method: false,
            keep_post: [false; 3],
            compressed: false,
            fail_on_http_error: false,
            fail_with_body: false,
            cookies: None,
            cookie_string: None,
            api_key: None,
            ca: None,
            identity: None,
            pinned_keys: Vec::new(),
            danger_accept_invalid_certs: false,
            tls: parallax_rules::tls_versions::Versions::CLIENT_DEFAULT,
            aws_sigv4: None,
            resolve: Vec::new(),
            connect_to: Vec::new(),
            family: Family::Any,
            dns_servers: Vec::new(),
            compare_dns: Vec::new(),
            max_time: Duration::from_secs(30),
            connect_timeout: None,
            output: None,
            include_headers: false,
            head_prefix: Vec::new(),
            trace: None,
            proxy: None,
            ip_ranges: None,
            follow: false,
            max_redirs: 50,
            confirm: true,
            only_connect_to: false,
            network: None,
            haproxy: None,
        }
    }
}

/// Parses a `--resolve` argument as curl does: `[+]HOST:PORT:ADDR[,ADDR…]` (ADDR may be
/// `[v6]`; HOST may be `*`) or `-HOST:PORT`.
pub fn parse_resolve(s: &str) -> Result<ResolveArg, String> {
    if let Some(rest) = s.strip_prefix('-') {
        let parts = split_colons(rest);
        let [host, port] = parts.as_slice() else {
            return Err(format!("`{s}` is not -HOST:PORT"));
        };
        return Ok(ResolveArg::Remove {
            host: host.to_ascii_lowercase(),
            port: port
                .parse()
                .map_err(|_| format!("`{s}`: `{port}` is not a port"))?,
        });
    }
    let body = s.strip_prefix('+').unwrap_or(s);
    let (host_port, addrs) =
        split_host_port_rest(body).ok_or_else(|| format!("`{s}` is not HOST:PORT:ADDR[,ADDR…]"))?;
    let (host, port) = host_port;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{s}`: `{port}` is not a port"))?;
    let addrs = addrs
        .split(',')
        .map(|a| {
            let a = a.trim();
            let bare = a
                .strip_prefix('[')
                .and_then(|x| x.strip_suffix(']'))
                .unwrap_or(a);
            bare.parse::<IpAddr>()
                .map_err(|_| format!("`{s}`: `{a}` is not an IP address"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if host.is_empty() {
        return Err(format!("`{s}`: HOST is empty"));
    }
    Ok(ResolveArg::Add(Pin {
        host: host.to_ascii_lowercase(),
        port,
        addrs,
    }))
}

/// `HOST:PORT:REST` with HOST possibly `[v6]`: ((HOST, PORT), REST).
fn split_host_port_rest(s: &str) -> Option<((String, String), String)> {
    let (host, after) = if let Some(inner) = s.strip_prefix('[') {
        let close = inner.find(']')?;
        (
            inner[..close].to_owned(),
            inner[close + 1..].strip_prefix(':')?,
        )
    } else {
        let (h, a) = s.split_once(':')?;
        (h.to_owned(), a)
    };
    let (port, rest) = after.split_once(':')?;
    Some(((host, port.to_owned()), rest.to_owned()))
}

/// Parses `HOST:PORT:HOST2:PORT2` (either host may be `[v6]`; any field may be empty).
pub fn parse_connect_to(s: &str) -> Result<ConnectTo, String> {
    let parts = split_colons(s);
    let [host, port, host2, port2] = parts.as_slice() else {
        return Err(format!("`{s}` is not HOST:PORT:HOST2:PORT2"));
    };
    let port_of = |p: &String| -> Result<Option<u16>, String> {
        if p.is_empty() {
            Ok(None)
        } else {
            p.parse()
                .map(Some)
                .map_err(|_| format!("`{s}`: `{p}` is not a port"))
        }
    };
    if !host2.is_empty()
        && host2.parse::<IpAddr>().is_err()
        && host2.parse::<parallax_model::DnsName>().is_err()
    {
        return Err(format!(
            "`{s}`: `{host2}` is not a host name or an IP address"
        ));
    }
    Ok(ConnectTo {
        host: host.to_ascii_lowercase(),
        port: port_of(port)?,
        to_host: host2.to_ascii_lowercase(),
        to_port: port_of(port2)?,
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
    fn connect_to_round_trips_through_curls_form() {
        for text in [
            "a.example:443:127.0.0.1:8443",
            "::[::1]:",
            "10.0.1.17:443:[::1]:9",
        ] {
            let c = parse_connect_to(text).expect("parses");
            assert_eq!(parse_connect_to(&c.to_string()), Ok(c), "{text}");
        }
    }

    #[test]
    fn curl_forms() {
        let one = |s: &str| match parse_resolve(s).expect(s) {
            ResolveArg::Add(p) => p,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(
            one("a.example:443:52.94.133.10").addrs,
            vec!["52.94.133.10".parse::<IpAddr>().expect("ip")]
        );
        assert_eq!(
            one("a.example:443:[2600::1]").addrs,
            vec!["2600::1".parse::<IpAddr>().expect("ip")]
        );
        let many = one("+*:8443:127.0.0.1,[::1]");
        assert_eq!(
            (many.host.as_str(), many.port, many.addrs.len()),
            ("*", 8443, 2)
        );
        assert!(many.matches("anything.example", 8443));
        assert_eq!(
            parse_resolve("-a.example:443").expect("remove"),
            ResolveArg::Remove {
                host: "a.example".into(),
                port: 443
            }
        );
        assert!(parse_resolve("a.example:443:not-an-ip").is_err());
        let c = parse_connect_to("10.0.1.17:443:127.0.0.1:40123").expect("rule");
        assert_eq!(
            (c.host.as_str(), c.port, c.socket().map(|s| s.port())),
            ("10.0.1.17", Some(443), Some(40123))
        );
        let any = parse_connect_to("::localhost:8443").expect("rule");
        assert_eq!(
            (any.host.as_str(), any.port, any.to_host.as_str()),
            ("", None, "localhost")
        );
        let same_host = parse_connect_to("a.example:443::8443").expect("rule");
        assert_eq!(
            (same_host.to_host.as_str(), same_host.to_port),
            ("", Some(8443))
        );
        let v6 = parse_connect_to("::[::1]:9443").expect("rule");
        assert_eq!(v6.socket(), Some("[::1]:9443".parse().expect("sa")));
        assert!(parse_connect_to("a:b:c").is_err());
        assert!(parse_connect_to("a:443:bad host:1").is_err());
        assert_eq!(parse_dns_server("127.0.0.1").expect("addr").port(), 53);
        assert_eq!(
            parse_dns_server("127.0.0.1:5300").expect("addr").port(),
            5300
        );
    }
}
