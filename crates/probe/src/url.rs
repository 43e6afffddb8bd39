//! The URL a probe calls, read as curl reads it: a scheme of any case (none means `http://`),
//! `user:password@` (sent as basic authentication), a host that is a DNS name (lower-cased,
//! an IDN as punycode), an IPv4 literal or a bracketed IPv6 literal with an optional zone id
//! (`[fe80::1%25eth0]` or `[fe80::1%eth0]`), an explicit port, and the path and query as given
//! (the fragment is never sent). Parsing is the WHATWG URL standard's (the `url` crate), with
//! curl's additions.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use parallax_model::{DnsName, RequestUrl};

/// The host of a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// A DNS name, lower-case ASCII (an IDN in punycode).
    Name(DnsName),
    /// An IPv4 literal.
    V4(Ipv4Addr),
    /// An IPv6 literal and its zone id (`eth0`, `2`), if any.
    V6(Ipv6Addr, Option<String>),
}

/// A URL the probe can call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeUrl {
    /// `https://` (else `http://`).
    pub https: bool,
    /// `wss://` or `ws://`: a WebSocket opening handshake (RFC 6455 §4.1) over HTTP/1.1.
    pub websocket: bool,
    /// The host.
    pub host: Host,
    /// The port (the scheme's default when none is given).
    pub port: u16,
    /// The path and query, starting with `/`.
    pub path: String,
    /// `user:password@`, percent-decoded.
    pub user: Option<(String, String)>,
    /// The URL as curl reports it (`%{url_effective}`): as given, with the scheme in lower
    /// case and `/` for an empty path; the host's case, an explicit default port and the
    /// credentials are kept. Never put in a report: it may hold a password.
    pub given: String,
}

impl ProbeUrl {
    /// Parses a URL as curl does. Words are made here; the caller names the argument.
    pub fn parse(input: &str) -> Result<ProbeUrl, String> {
        let s = input.trim();
        // curl refuses a space or a control character anywhere in a URL (exit 3, "URL using
        // bad/illegal format"), before any IDN or DNS question.
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "`{input}` holds {}: a URL cannot (write a space in a path or query as %20)",
                if c == ' ' {
                    "a space".to_owned()
                } else {
                    format!("the character U+{:04X}", c as u32)
                }
            ));
        }
        // curl's default protocol is HTTP: `example.com/x` is `http://example.com/x`.
        let with_scheme = match s.find("://") {
            Some(_) => s.to_owned(),
            None => format!("http://{s}"),
        };
        let (scheme, rest) = with_scheme
            .split_once("://")
            .ok_or_else(|| format!("`{input}` is not a URL"))?;
        let (https, websocket) = match scheme.to_ascii_lowercase().as_str() {
            "https" => (true, false),
            "http" => (false, false),
            "wss" => (true, true),
            "ws" => (false, true),
            other => {
                return Err(format!(
                    "`{input}`: the scheme `{other}` is not http, https, ws or wss"
                ));
            }
        };
        // A zone id inside brackets: WHATWG refuses it, curl accepts it. Take it out first.
        let (rest, zone) = take_zone(rest)?;
        let normalised = format!("{}://{rest}", if https { "https" } else { "http" });
        let u = url::Url::parse(&normalised).map_err(|e| format!("`{input}`: {e}"))?;
        let host = match u.host() {
            Some(url::Host::Domain(d)) => {
                let d = d.trim_end_matches('.');
                Host::Name(
                    d.parse()
                        .map_err(|e| format!("`{input}`: the host `{d}`: {e}"))?,
                )
            }
            Some(url::Host::Ipv4(a)) => {
                if zone.is_some() {
                    return Err(format!("`{input}`: a zone id belongs to an IPv6 address"));
                }
                Host::V4(a)
            }
            Some(url::Host::Ipv6(a)) => Host::V6(a, zone),
            None => return Err(format!("`{input}` has no host")),
        };
        let port = u
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        let mut path = u.path().to_owned();
        if let Some(q) = u.query() {
            path.push('?');
            path.push_str(q);
        }
        let user = (!u.username().is_empty() || u.password().is_some()).then(|| {
            (
                decode(u.username()),
                decode(u.password().unwrap_or_default()),
            )
        });
        let scheme_name = |https: bool| match (https, websocket) {
            (true, false) => "https",
            (false, false) => "http",
            (true, true) => "wss",
            (false, true) => "ws",
        };
        let given = {
            let scheme = scheme_name(https);
            let after = rest_of(&with_scheme);
            let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
            let (authority, tail) = after.split_at(authority_end);
            let tail = tail.split('#').next().unwrap_or_default();
            let tail = if tail.starts_with('/') {
                tail.to_owned()
            } else {
                format!("/{tail}")
            };
            format!("{scheme}://{authority}{tail}")
        };
        Ok(ProbeUrl {
            https,
            websocket,
            host,
            port,
            path,
            user,
            given,
        })
    }

    /// The host as `--resolve` and `--connect-to` name it: the name, or the address without
    /// brackets or zone.
    pub fn host_str(&self) -> String {
        self.host.to_string()
    }

    /// The DNS name, when the host is one.
    pub fn name(&self) -> Option<&DnsName> {
        match &self.host {
            Host::Name(n) => Some(n),
            _ => None,
        }
    }

    /// The address, when the host is a literal (no DNS for it, as in curl).
    pub fn ip(&self) -> Option<IpAddr> {
        match &self.host {
            Host::Name(_) => None,
            Host::V4(a) => Some(IpAddr::V4(*a)),
            Host::V6(a, _) => Some(IpAddr::V6(*a)),
        }
    }

    /// Whether the port is the scheme's default.
    pub fn default_port(&self) -> bool {
        self.port == if self.https { 443 } else { 80 }
    }

    /// What the `Host` header (and HTTP/2's `:authority`) carries: the host as written in a URL
    /// (IPv6 in brackets, no zone id, as curl sends it) and the port when it is not the default.
    pub fn authority(&self) -> String {
        let host = match &self.host {
            Host::V6(a, _) => format!("[{a}]"),
            _ => self.host_str(),
        };
        if self.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The same URL as the model's, when its host is a DNS name (the topology's names are).
    pub fn request_url(&self) -> Option<RequestUrl> {
        self.name().map(|n| RequestUrl {
            https: self.https,
            websocket: self.websocket,
            host: n.clone(),
            port: self.port,
            path: self.path.clone(),
        })
    }
}

impl TryFrom<String> for ProbeUrl {
    type Error = String;
    fn try_from(s: String) -> Result<ProbeUrl, String> {
        ProbeUrl::parse(&s)
    }
}

impl fmt::Display for Host {
    /// As `--resolve` names it: the name, or the address without brackets or zone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n.as_str()),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a, _) => write!(f, "{a}"),
        }
    }
}

impl From<RequestUrl> for ProbeUrl {
    fn from(u: RequestUrl) -> ProbeUrl {
        let given = u.to_string();
        ProbeUrl {
            https: u.https,
            websocket: u.websocket,
            host: Host::Name(u.host),
            port: u.port,
            path: u.path,
            user: None,
            given,
        }
    }
}

impl fmt::Display for ProbeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (self.https, self.websocket) {
            (true, false) => "https",
            (false, false) => "http",
            (true, true) => "wss",
            (false, true) => "ws",
        };
        let host = match &self.host {
            Host::V6(a, Some(z)) => format!("[{a}%25{z}]"),
            Host::V6(a, None) => format!("[{a}]"),
            _ => self.host_str(),
        };
        write!(f, "{scheme}://{host}")?;
        if !self.default_port() {
            write!(f, ":{}", self.port)?;
        }
        f.write_str(&self.path)
    }
}

/// What follows `scheme://`.
fn rest_of(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, r)| r)
}

/// Takes a zone id out of a bracketed IPv6 host: `[fe80::1%25eth0]:8443/x` →
/// (`[fe80::1]:8443/x`, `eth0`). `%25` is the URL form; curl also takes a bare `%`.
fn take_zone(rest: &str) -> Result<(String, Option<String>), String> {
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host_part = &authority[host_start..];
    let Some(inner) = host_part.strip_prefix('[') else {
        return Ok((rest.to_owned(), None));
    };
    let Some(close) = inner.find(']') else {
        return Ok((rest.to_owned(), None));
    };
    let (addr, after) = (&inner[..close], &inner[close..]);
    let Some(pct) = addr.find('%') else {
        return Ok((rest.to_owned(), None));
    };
    let zone = addr[pct + 1..]
        .strip_prefix("25")
        .unwrap_or(&addr[pct + 1..]);
    if zone.is_empty()
        || !zone
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
    {
        return Err(format!("`{addr}`: `{zone}` is not a zone id"));
    }
    Ok((
        format!("{}[{}{after}{tail}", &authority[..host_start], &addr[..pct]),
        Some(zone.to_owned()),
    ))
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ProbeUrl {
        ProbeUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn hosts_as_curl_reads_them() {
        let u = p("https://127.0.0.1:8443/x?y=1#frag");
        assert_eq!(
            (u.ip(), u.port, u.path.as_str(), u.authority()),
            (
                Some(IpAddr::from([127, 0, 0, 1])),
                8443,
                "/x?y=1",
                "127.0.0.1:8443".to_owned()
            )
        );
        let v6 = p("https://[::1]:9443/");
        assert_eq!(v6.host_str(), "::1");
        assert_eq!(v6.authority(), "[::1]:9443");
        let zoned = p("http://[fe80::1%25eth0]/");
        assert_eq!(
            zoned.host,
            Host::V6("fe80::1".parse().expect("v6"), Some("eth0".into()))
        );
        assert_eq!(zoned.to_string(), "http://[fe80::1%25eth0]/");
        assert_eq!(p("http://[fe80::1%eth0]:81/").port, 81);
        assert_eq!(
            p("HTTPS://API.Example.COM/Prod").host_str(),
            "api.example.com"
        );
        assert_eq!(
            p("https://bücher.example/").host_str(),
            "xn--bcher-kva.example"
        );
        assert_eq!(p("example.com/a").to_string(), "http://example.com/a");
        let creds = p("https://me:p%40ss@example.com/");
        assert_eq!(creds.user, Some(("me".into(), "p@ss".into())));
        assert!(ProbeUrl::parse("ftp://example.com/").is_err());
        assert!(ProbeUrl::parse("https://[fe80::1%25]/").is_err());
        assert!(ProbeUrl::parse("https://exa mple.com/").is_err());
    }
}
