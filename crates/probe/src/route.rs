//! Where the probe connects: the URL's host and port, a proxy's, or what a `--connect-to` rule
//! names instead.

use std::net::IpAddr;

use crate::options::ProbeOptions;

/// Where the probe connects: the URL's host and port, or what a `--connect-to` rule that matches
/// them names instead (curl resolves and dials HOST2, keeps the URL's name for TLS and HTTP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    pub host: String,
    pub port: u16,
    /// The host is an address: no DNS.
    pub literal: Option<IpAddr>,
    /// A `--connect-to` rule chose it.
    pub via_rule: bool,
}

impl Route {
    pub(crate) fn of(opts: &ProbeOptions) -> Route {
        // Through a proxy, the connection is the proxy's; the proxy resolves the URL's host.
        if let Some(p) = &opts.proxy {
            return Route {
                literal: p.host.parse().ok(),
                host: p.host.clone(),
                port: p.port,
                via_rule: false,
            };
        }
        let host = opts.url.host_str();
        let port = opts.url.port;
        match opts.connect_to.iter().find(|r| r.matches(&host, port)) {
            Some(r) => {
                let to = if r.to_host.is_empty() {
                    host
                } else {
                    r.to_host.clone()
                };
                Route {
                    literal: to.parse().ok(),
                    host: to,
                    port: r.to_port.unwrap_or(port),
                    via_rule: true,
                }
            }
            None => Route {
                literal: opts.url.ip(),
                host,
                port,
                via_rule: false,
            },
        }
    }
}
