//! `parallax probe`'s curl-shaped flags, and their translation into [`ProbeOptions`]: the
//! binary only parses them. Every refusal names the flag and the value.

use std::path::PathBuf;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::options::{
    ClientIdentity, Family, ProbeOptions, ResolveArg, parse_connect_to, parse_dns_server,
    parse_resolve,
};

/// The flags `parallax probe` shares with curl, and the probe's own resolver and key flags.
#[derive(clap::Args, Debug, Clone)]
pub struct CurlFlags {
    /// The URL, e.g. https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/test
    #[arg(required = true)]
    pub url: Option<String>,
    /// The method.
    #[arg(
        short = 'X',
        long = "request",
        value_name = "METHOD",
        default_value = "GET"
    )]
    pub method: String,
    /// HEAD: the status and headers only.
    #[arg(short = 'I', long = "head")]
    pub head: bool,
    /// A request header, `Name: value`. Repeatable.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// The User-Agent header.
    #[arg(short = 'A', long = "user-agent", value_name = "NAME")]
    pub user_agent: Option<String>,
    /// The Referer header.
    #[arg(short = 'e', long = "referer", value_name = "URL")]
    pub referer: Option<String>,
    /// Basic authentication, `user:password` (never printed); with --aws-sigv4, the access
    /// key id and secret, `KEY:SECRET`.
    #[arg(short = 'u', long = "user", value_name = "USER:PASSWORD")]
    pub user: Option<String>,
    /// Sign the request with AWS SigV4, as curl: `aws:amz[:REGION[:SERVICE]]` (Region and
    /// service from an execute-api host name when left out). The credentials are --user
    /// KEY:SECRET, else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN),
    /// else the shared credentials file's AWS_PROFILE (or default) profile.
    #[arg(long = "aws-sigv4", value_name = "PROVIDER")]
    pub aws_sigv4: Option<String>,
    /// The request body (`@FILE` reads a file).
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Option<String>,
    /// Client certificate (PEM; may hold the key too).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Trust only these certificates (PEM) instead of the system's: CAs, or the server's own
    /// (self-signed) certificate. Default: CURL_CA_BUNDLE, then SSL_CERT_FILE, when set.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Trust the certificates in this directory's files (default: SSL_CERT_DIR, when set).
    #[arg(long, value_name = "DIR")]
    pub capath: Option<PathBuf>,
    /// Refuse the server unless its public key is this one: `sha256//BASE64[;…]` or a PEM/DER
    /// public key file.
    #[arg(long, value_name = "HASHES|FILE")]
    pub pinnedpubkey: Option<String>,
    /// Go on when the server's certificate does not verify (it is still reported).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// TLS 1.0 or later (parallax speaks 1.2 and 1.3, so this changes nothing).
    #[arg(short = '1', long = "tlsv1")]
    pub tlsv1: bool,
    /// TLS 1.0 or later (as --tlsv1).
    #[arg(long = "tlsv1.0")]
    pub tlsv1_0: bool,
    /// TLS 1.1 or later (as --tlsv1).
    #[arg(long = "tlsv1.1")]
    pub tlsv1_1: bool,
    /// TLS 1.2 or later.
    #[arg(long = "tlsv1.2")]
    pub tlsv1_2: bool,
    /// TLS 1.3 only (with the default maximum).
    #[arg(long = "tlsv1.3")]
    pub tlsv1_3: bool,
    /// The highest TLS version to offer: 1.2, 1.3 or default (1.0 and 1.1 are not spoken).
    #[arg(long = "tls-max", value_name = "VERSION")]
    pub tls_max: Option<String>,
    /// Use ADDR (or several, comma-separated) for HOST:PORT instead of DNS; HOST `*` is any
    /// host; `-HOST:PORT` removes an earlier entry. Repeatable.
    #[arg(
        long,
        value_name = "[+]HOST:PORT:ADDR[,ADDR]",
        allow_hyphen_values = true
    )]
    pub resolve: Vec<String>,
    /// Dial HOST2:PORT2 where HOST:PORT would be dialled, resolving HOST2 instead of HOST;
    /// empty fields match any / keep the original. HOST may also be a resolved address.
    /// Repeatable.
    #[arg(long, value_name = "HOST:PORT:HOST2:PORT2")]
    pub connect_to: Vec<String>,
    /// Resolve and connect over IPv4 only.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Resolve and connect over IPv6 only.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Go through this HTTP proxy: `[http://][user:password@]host[:port]` (port 1080 by
    /// default, as curl); `""` turns the proxy variables off. Default: `https_proxy`/
    /// `HTTPS_PROXY` for https URLs, `http_proxy` for http ones, then `ALL_PROXY`/`all_proxy`.
    #[arg(short = 'x', long = "proxy", value_name = "URL")]
    pub proxy: Option<String>,
    /// The proxy's credentials, `user:password` (never printed).
    #[arg(short = 'U', long = "proxy-user", value_name = "USER:PASSWORD")]
    pub proxy_user: Option<String>,
    /// Hosts that do not go through the proxy: comma-separated names (a name also covers its
    /// subdomains), addresses or CIDR ranges, or `*`; overrides NO_PROXY/no_proxy.
    #[arg(long = "noproxy", value_name = "LIST")]
    pub noproxy: Option<String>,
    /// Send a PROXY protocol v1 header first on the connection, as `curl --haproxy-protocol`.
    #[arg(long)]
    pub haproxy_protocol: bool,
    /// The client address that header claims (implies --haproxy-protocol).
    #[arg(long, value_name = "IP")]
    pub haproxy_clientip: Option<std::net::IpAddr>,
    /// Seconds the whole probe may take.
    #[arg(short = 'm', long, value_name = "SECONDS", default_value_t = 30.0)]
    pub max_time: f64,
    /// Seconds that resolving, connecting and the TLS handshake may take together.
    #[arg(long, value_name = "SECONDS")]
    pub connect_timeout: Option<f64>,
    /// Write the whole body to FILE (`-` for standard output; the report then goes to
    /// standard error). Nothing is left half-written: the file appears when the body is whole.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Put the status line and the response headers before the body (with -o or -s).
    #[arg(short = 'i', long = "include")]
    pub include: bool,
    /// No report: the body goes to standard output (or -o), then -w, as curl prints them.
    #[arg(short = 's', long)]
    pub silent: bool,
    /// With -s: say why on standard error when the request fails, as curl does.
    #[arg(short = 'S', long)]
    pub show_error: bool,
    /// After the request, print FORMAT with curl's variables: %{http_code}, %{time_total},
    /// %{remote_ip}, %{exitcode}, %{json}, %header{name}, ... (`@FILE` reads it from a file).
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub write_out: Option<String>,
    /// Each step as it happens, on standard error.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Follow redirects (each hop is in the report and the diagnosis).
    #[arg(short = 'L', long = "location")]
    pub location: bool,
    /// With -L: how many redirects at most (-1: no limit).
    #[arg(
        long,
        value_name = "NUM",
        default_value_t = 50,
        allow_hyphen_values = true
    )]
    pub max_redirs: i64,
    /// %{exitcode} is 22 for an HTTP status of 400 or more, as with curl --fail.
    #[arg(short = 'f', long)]
    pub fail: bool,
    /// The resolvers of the connecting path instead of the system's: ADDR[:PORT][,…]
    #[arg(long, value_name = "ADDRS")]
    pub dns_servers: Option<String>,
    /// Another resolver to ask and compare with: NAME=ADDR[:PORT]. Repeatable.
    #[arg(long, value_name = "NAME=ADDR")]
    pub compare_dns: Vec<String>,
    /// The API key, sent as x-api-key (also PARALLAX_API_KEY). Never printed.
    #[arg(
        long,
        value_name = "KEY",
        env = "PARALLAX_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// Read the API key from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "api_key")]
    pub api_key_file: Option<PathBuf>,
    /// AWS's `ip-ranges.json`: each DNS answer names its AWS owner and Region (also
    /// PARALLAX_IP_RANGES).
    #[arg(long, value_name = "FILE", env = "PARALLAX_IP_RANGES")]
    pub ip_ranges: Option<PathBuf>,
    /// Do not retry pinned to another resolver's public answer.
    #[arg(long)]
    pub no_confirm: bool,
}

/// A proxy URL: `[http://][user:password@]host[:port]`; curl's default port is 1080. Only
/// HTTP proxies are spoken (an `https://` or SOCKS proxy is refused, by name).
fn parse_proxy(spec: &str, from: String) -> Result<crate::options::Proxy, String> {
    let (scheme, rest) = match spec.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_owned(), spec),
    };
    if scheme != "http" {
        return Err(format!(
            "`{spec}`: only http:// proxies are supported (not {scheme}://)"
        ));
    }
    let rest = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (user, host_port) = match rest.rsplit_once('@') {
        Some((u, h)) => {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            (Some((pct_decode(user), pct_decode(password))), h)
        }
        None => (None, rest),
    };
    let (host, port) = if let Some(inner) = host_port.strip_prefix('[') {
        let (h, after) = inner
            .split_once(']')
            .ok_or_else(|| format!("`{spec}`: an unclosed [ in the host"))?;
        (h.to_owned(), after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (host_port.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("`{spec}` names no host"));
    }
    let port = match port {
        Some(p) => p
            .parse()
            .map_err(|_| format!("`{spec}`: `{p}` is not a port"))?,
        None => 1080,
    };
    Ok(crate::options::Proxy {
        host: host.to_ascii_lowercase(),
        port,
        user,
        from,
    })
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| hex(*c)),
                b.get(i + 2).and_then(|c| hex(*c)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a no-proxy list names the URL's host, as curl reads it: `*` is every host; an
/// entry (a leading `.` ignored) matches the host or any name below it; an address matches
/// itself; a CIDR range matches the addresses in it.
pub fn no_proxy_matches(list: &str, url: &crate::url::ProbeUrl) -> bool {
    let host = url.host_str();
    let ip = url.ip();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            if let Some(ip) = ip {
                if let Ok(net) = entry.parse::<ipnet::IpNet>() {
                    return net.contains(&ip);
                }
                let bare = entry.trim_start_matches('[').trim_end_matches(']');
                return bare.parse::<std::net::IpAddr>().is_ok_and(|e| e == ip);
            }
            let e = entry.trim_start_matches('.').to_ascii_lowercase();
            host == e || host.ends_with(&format!(".{e}"))
        })
}

/// An HTTP field name (RFC 9110 §5.1: a token).
fn valid_header_name(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A flag whose value cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlagError {
    /// The URL argument is not an http(s) URL the probe can call.
    #[error("URL: {0}")]
    Url(String),
    /// A `-H` value that is not `Name: value`, `Name:` or `Name;`.
    #[error("-H `{0}`: expected `Name: value`, `Name:` (remove) or `Name;` (empty)")]
    Header(String),
    /// A file named by a flag (`-d @FILE`, `--api-key-file`) that cannot be read.
    #[error("{flag} {}: {source}", path.display())]
    Read {
        /// The flag.
        flag: &'static str,
        /// The file it names.
        path: PathBuf,
        /// Why it cannot be read (not a regular file, too large, unreadable).
        source: parallax_model::input::InputError,
    },
    /// A `--cacert`, `--cert` or `--key` file without usable PEM.
    #[error("{flag} {}: {problem}", path.display())]
    Pem {
        /// The flag.
        flag: &'static str,
        /// The file it names.
        path: PathBuf,
        /// What is wrong with its PEM.
        problem: String,
    },
    /// `--key` given without `--cert`.
    #[error("--key needs --cert")]
    KeyWithoutCert,
    /// A flag value of the wrong form (`--resolve`, `--connect-to`, `--dns-servers`, `--compare-dns`).
    #[error("{flag} {message}")]
    Value {
        /// The flag.
        flag: &'static str,
        /// What is wrong with its value.
        message: String,
    },
    /// A `--max-time` outside (0, 3600] seconds.
    #[error("--max-time {0}: expected seconds between 0 and 3600")]
    MaxTime(f64),
}

impl CurlFlags {
    /// The proxy for `url`, as curl chooses it: `-x` (an empty one: none), else the
    /// variables (`https_proxy`/`HTTPS_PROXY` for https, lower-case `http_proxy` only for
    /// http, then `ALL_PROXY`/`all_proxy`), unless `--noproxy` (else `NO_PROXY`/`no_proxy`)
    /// names the host.
    pub fn proxy_for(
        &self,
        url: &crate::url::ProbeUrl,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<crate::options::Proxy>, FlagError> {
        let var = |names: &[&str]| -> Option<(String, String)> {
            names.iter().find_map(|n| {
                env(n)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (v, (*n).to_owned()))
            })
        };
        let (spec, from) = match &self.proxy {
            Some(p) if p.trim().is_empty() => return Ok(None),
            Some(p) => (p.clone(), "-x".to_owned()),
            None => {
                let scheme_vars: &[&str] = if url.https {
                    &["https_proxy", "HTTPS_PROXY"]
                } else {
                    // curl reads only the lower-case http_proxy (HTTP_PROXY can be set by a
                    // request header in CGI environments).
                    &["http_proxy"]
                };
                match var(scheme_vars).or_else(|| var(&["ALL_PROXY", "all_proxy"])) {
                    Some(found) => found,
                    None => return Ok(None),
                }
            }
        };
        let bypass = match &self.noproxy {
            Some(list) => list.clone(),
            None => var(&["NO_PROXY", "no_proxy"])
                .map(|v| v.0)
                .unwrap_or_default(),
        };
        if no_proxy_matches(&bypass, url) {
            return Ok(None);
        }
        let flag = if from == "-x" { "-x" } else { "proxy variable" };
        let mut proxy = parse_proxy(&spec, from).map_err(|message| FlagError::Value {
            flag: if flag == "-x" {
                "-x"
            } else {
                "HTTPS_PROXY/http_proxy/ALL_PROXY"
            },
            message,
        })?;
        if let Some(u) = &self.proxy_user {
            let (user, password) = u.split_once(':').unwrap_or((u.as_str(), ""));
            proxy.user = Some((user.to_owned(), password.to_owned()));
        }
        Ok(Some(proxy))
    }

    /// The `-w` format: as given, or read from the file `@FILE` names.
    pub fn write_out_format(&self) -> Result<Option<String>, FlagError> {
        match self.write_out.as_deref() {
            Some(f) if f.starts_with('@') => {
                let path = PathBuf::from(&f[1..]);
                parallax_model::input::read_config(&path)
                    .map(Some)
                    .map_err(|source| FlagError::Read {
                        flag: "-w",
                        path,
                        source,
                    })
            }
            other => Ok(other.map(str::to_owned)),
        }
    }

    /// The probe's options, as curl would read the same flags (and the environment: the
    /// proxy variables, CURL_CA_BUNDLE, SSL_CERT_FILE, SSL_CERT_DIR).
    pub fn to_options(&self) -> Result<ProbeOptions, FlagError> {
        self.to_options_with_env(&|n| std::env::var(n).ok())
    }

    /// [`CurlFlags::to_options`] with the environment given.
    pub fn to_options_with_env(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ProbeOptions, FlagError> {
        let url = crate::url::ProbeUrl::parse(self.url.as_deref().unwrap_or_default())
            .map_err(FlagError::Url)?;
        let mut opts = ProbeOptions::new(url);
        opts.method = if self.head {
            "HEAD".to_owned()
        } else {
            self.method.clone()
        };
        for h in &self.headers {
            // curl's forms: `Name: value`, `Name:` (remove), `Name;` (send empty).
            if let Some(name) = h.strip_suffix(';').filter(|n| !n.contains(':')) {
                let name = name.trim();
                if !valid_header_name(name) {
                    return Err(FlagError::Header(h.clone()));
                }
                opts.headers.push((name.to_owned(), String::new()));
                continue;
            }
            let (k, v) = h
                .split_once(':')
                .ok_or_else(|| FlagError::Header(h.clone()))?;
            let (k, v) = (k.trim(), v.trim());
            if !valid_header_name(k) || v.contains(['\r', '\n']) {
                return Err(FlagError::Header(h.clone()));
            }
            if v.is_empty() {
                opts.remove_headers.push(k.to_owned());
                opts.headers
                    .retain(|(name, _)| !name.eq_ignore_ascii_case(k));
            } else {
                opts.headers.push((k.to_owned(), v.to_owned()));
            }
        }
        opts.user_agent = self.user_agent.clone();
        opts.referer = self.referer.clone();
        match (&self.aws_sigv4, &self.user) {
            (Some(provider), user) => opts.aws_sigv4 = Some(sigv4_spec(provider, user.as_deref())?),
            (None, Some(u)) => {
                let (user, password) = u.split_once(':').unwrap_or((u.as_str(), ""));
                opts.basic_auth = Some((user.to_owned(), password.to_owned()));
            }
            (None, None) => {}
        }
        if let Some(d) = &self.data {
            opts.body = match d.strip_prefix('@') {
                Some(path) => parallax_model::input::read_config_bytes(std::path::Path::new(path))
                    .map_err(|source| FlagError::Read {
                        flag: "-d",
                        path: PathBuf::from(path),
                        source,
                    })?,
                None => d.clone().into_bytes(),
            };
            opts.form_body = true;
            if self.method == "GET" && !self.head {
                opts.method = "POST".to_owned();
            }
        }
        // Trust as curl takes it: --cacert and --capath, else CURL_CA_BUNDLE, SSL_CERT_FILE and
        // SSL_CERT_DIR, else the system's store.
        let mut trusted = Vec::new();
        if let Some(ca) = &self.cacert {
            trusted.extend(read_certs("--cacert", ca)?);
        }
        if let Some(dir) = &self.capath {
            trusted.extend(read_cert_dir("--capath", dir)?);
        }
        if self.cacert.is_none() && self.capath.is_none() {
            for var in ["CURL_CA_BUNDLE", "SSL_CERT_FILE"] {
                if let Some(p) = env(var).filter(|v| !v.is_empty()) {
                    trusted.extend(read_certs(env_flag(var), &PathBuf::from(p))?);
                    break;
                }
            }
            if let Some(p) = env("SSL_CERT_DIR").filter(|v| !v.is_empty()) {
                trusted.extend(read_cert_dir("SSL_CERT_DIR", &PathBuf::from(p))?);
            }
        }
        if !trusted.is_empty() {
            opts.ca = Some(trusted);
        }
        if let Some(pins) = &self.pinnedpubkey {
            opts.pinned_keys = parse_pins(pins)?;
        }
        if let Some(cert) = &self.cert {
            let chain = read_certs("--cert", cert)?;
            let key_file = self.key.as_ref().unwrap_or(cert);
            let bytes = parallax_model::input::read_config_bytes(key_file).map_err(|source| {
                FlagError::Read {
                    flag: "--key",
                    path: key_file.clone(),
                    source,
                }
            })?;
            let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| FlagError::Pem {
                flag: "--key",
                path: key_file.clone(),
                problem: "no private key (pass --key)".to_owned(),
            })?;
            opts.identity = Some(ClientIdentity { chain, key });
        } else if self.key.is_some() {
            return Err(FlagError::KeyWithoutCert);
        }
        opts.danger_accept_invalid_certs = self.insecure;
        {
            use parallax_model::topology::TlsVersion;
            if self.tlsv1_3 {
                opts.tls.min = TlsVersion::Tls13;
            }
            match self.tls_max.as_deref() {
                None | Some("default") => {}
                Some("1.2") => opts.tls.max = TlsVersion::Tls12,
                Some("1.3") => opts.tls.max = TlsVersion::Tls13,
                Some(v @ ("1.0" | "1.1")) => {
                    return Err(FlagError::Value {
                        flag: "--tls-max",
                        message: format!("{v}: parallax speaks TLS 1.2 and 1.3 only"),
                    });
                }
                Some(other) => {
                    return Err(FlagError::Value {
                        flag: "--tls-max",
                        message: format!("{other}: expected 1.2, 1.3 or default"),
                    });
                }
            }
            if opts.tls.min > opts.tls.max {
                return Err(FlagError::Value {
                    flag: "--tls-max",
                    message: format!(
                        "{} is below the minimum --tlsv1.3 asks for",
                        opts.tls.max.as_str()
                    ),
                });
            }
        }
        opts.family = match (self.ipv4, self.ipv6) {
            (true, _) => Family::V4,
            (_, true) => Family::V6,
            _ => Family::Any,
        };
        opts.haproxy = match (self.haproxy_protocol, self.haproxy_clientip) {
            (_, Some(ip)) => Some(Some(ip)),
            (true, None) => Some(None),
            (false, None) => None,
        };
        let value = |flag: &'static str| move |message: String| FlagError::Value { flag, message };
        for r in &self.resolve {
            match parse_resolve(r).map_err(value("--resolve"))? {
                ResolveArg::Add(pin) => opts.resolve.push(pin),
                ResolveArg::Remove { host, port } => opts
                    .resolve
                    .retain(|p| !(p.host.eq_ignore_ascii_case(&host) && p.port == port)),
            }
        }
        opts.connect_to = self
            .connect_to
            .iter()
            .map(|s| parse_connect_to(s))
            .collect::<Result<_, _>>()
            .map_err(value("--connect-to"))?;
        if let Some(list) = &self.dns_servers {
            opts.dns_servers = list
                .split(',')
                .map(|s| parse_dns_server(s.trim()))
                .collect::<Result<_, _>>()
                .map_err(value("--dns-servers"))?;
        }
        for c in &self.compare_dns {
            let (name, addr) = c.split_once('=').ok_or_else(|| FlagError::Value {
                flag: "--compare-dns",
                message: format!("`{c}`: expected NAME=ADDR[:PORT]"),
            })?;
            opts.compare_dns.push((
                name.to_owned(),
                parse_dns_server(addr).map_err(value("--compare-dns"))?,
            ));
        }
        if !(self.max_time.is_finite() && self.max_time > 0.0 && self.max_time <= 3600.0) {
            return Err(FlagError::MaxTime(self.max_time));
        }
        opts.max_time = std::time::Duration::from_secs_f64(self.max_time);
        if let Some(c) = self.connect_timeout {
            if !(c.is_finite() && c > 0.0 && c <= 3600.0) {
                return Err(FlagError::Value {
                    flag: "--connect-timeout",
                    message: format!("{c}: expected seconds between 0 and 3600"),
                });
            }
            opts.connect_timeout = Some(std::time::Duration::from_secs_f64(c));
        }
        opts.output = match &self.output {
            Some(p) if p.as_os_str() == "-" => Some(crate::options::Output::Stdout),
            Some(p) => Some(crate::options::Output::File(p.clone())),
            None if self.silent => Some(crate::options::Output::Stdout),
            None => None,
        };
        // curl's -I writes the head where the body would go.
        opts.proxy = self.proxy_for(&opts.url, env)?;
        opts.include_headers = self.include || self.head;
        opts.fail_on_http_error = self.fail;
        opts.follow = self.location;
        opts.max_redirs = match self.max_redirs {
            n if n < 0 => usize::MAX,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        opts.api_key = match &self.api_key_file {
            Some(p) => Some(
                parallax_model::input::read_config(p)
                    .map_err(|source| FlagError::Read {
                        flag: "--api-key-file",
                        path: p.clone(),
                        source,
                    })?
                    .trim()
                    .to_owned(),
            ),
            None => self.api_key.clone(),
        };
        opts.confirm = !self.no_confirm;
        if let Some(p) = &self.ip_ranges {
            let ranges = crate::ipranges::IpRanges::load(p).map_err(|e| FlagError::Value {
                flag: "--ip-ranges",
                message: e.to_string(),
            })?;
            opts.ip_ranges = Some(std::sync::Arc::new(ranges));
        }
        Ok(opts)
    }
}

fn env_flag(var: &str) -> &'static str {
    match var {
        "CURL_CA_BUNDLE" => "CURL_CA_BUNDLE",
        _ => "SSL_CERT_FILE",
    }
}

/// Every certificate in the regular files of a directory (`--capath`, `SSL_CERT_DIR`); files
/// without a CERTIFICATE block are passed over, as OpenSSL's lookup does.
fn read_cert_dir(
    flag: &'static str,
    dir: &PathBuf,
) -> Result<Vec<CertificateDer<'static>>, FlagError> {
    cached_certs(dir, || read_cert_dir_uncached(flag, dir))
}

fn read_cert_dir_uncached(
    flag: &'static str,
    dir: &PathBuf,
) -> Result<Vec<CertificateDer<'static>>, FlagError> {
    let entries = std::fs::read_dir(dir).map_err(|source| FlagError::Read {
        flag,
        path: dir.clone(),
        source: parallax_model::input::InputError::Unreadable(source),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files.iter().take(10_000) {
        if let Ok(bytes) = parallax_model::input::read_config_bytes(f) {
            out.extend(CertificateDer::pem_slice_iter(&bytes).filter_map(Result::ok));
        }
    }
    if out.is_empty() {
        return Err(FlagError::Pem {
            flag,
            path: dir.clone(),
            problem: "no file in it holds a CERTIFICATE block".to_owned(),
        });
    }
    Ok(out)
}

/// `--pinnedpubkey`: `sha256//BASE64[;sha256//BASE64…]`, or a file with the public key (PEM
/// `PUBLIC KEY` or DER SubjectPublicKeyInfo). Each pin is the SHA-256 of a SubjectPublicKeyInfo.
fn parse_pins(spec: &str) -> Result<Vec<[u8; 32]>, FlagError> {
    use base64::Engine as _;
    let bad = |message: String| FlagError::Value {
        flag: "--pinnedpubkey",
        message,
    };
    if spec.starts_with("sha256//") {
        return spec
            .split(';')
            .map(|p| {
                let b64 = p
                    .trim()
                    .strip_prefix("sha256//")
                    .ok_or_else(|| bad(format!("`{p}`: expected sha256//BASE64")))?;
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| bad(format!("`{p}`: not base64: {e}")))?;
                <[u8; 32]>::try_from(raw.as_slice())
                    .map_err(|_| bad(format!("`{p}`: a SHA-256 is 32 bytes")))
            })
            .collect();
    }
    let path = PathBuf::from(spec);
    let bytes =
        parallax_model::input::read_config_bytes(&path).map_err(|source| FlagError::Read {
            flag: "--pinnedpubkey",
            path: path.clone(),
            source,
        })?;
    let der = match rustls_pki_types::SubjectPublicKeyInfoDer::from_pem_slice(&bytes) {
        Ok(spki) => spki.as_ref().to_vec(),
        Err(_) => bytes,
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, &der);
    let mut pin = [0u8; 32];
    pin.copy_from_slice(digest.as_ref());
    Ok(vec![pin])
}

/// Certificates already read in this process, by file or folder, its size and modification
/// time: a watch file's thousand targets share one CA bundle (CURL_CA_BUNDLE, SSL_CERT_DIR or
/// the same `--cacert`), which took 40 ms a target to parse again. At most [`CERT_CACHE`] entries;
/// a file that changes is read again.
type CertKey = (PathBuf, u64, Option<std::time::SystemTime>);

/// Entries of the certificate cache.
const CERT_CACHE: usize = 64;

fn cached_certs(
    p: &PathBuf,
    read: impl FnOnce() -> Result<Vec<CertificateDer<'static>>, FlagError>,
) -> Result<Vec<CertificateDer<'static>>, FlagError> {
    type Cache = std::sync::Mutex<Vec<(CertKey, Vec<CertificateDer<'static>>)>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let Ok(meta) = std::fs::metadata(p) else {
        return read();
    };
    let key: CertKey = (p.clone(), meta.len(), meta.modified().ok());
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(c) = cache.lock()
        && let Some((_, certs)) = c.iter().find(|(k, _)| *k == key)
    {
        return Ok(certs.clone());
    }
    let certs = read()?;
    if let Ok(mut c) = cache.lock() {
        if c.len() == CERT_CACHE {
            c.remove(0);
        }
        c.push((key, certs.clone()));
    }
    Ok(certs)
}

fn read_certs(flag: &'static str, p: &PathBuf) -> Result<Vec<CertificateDer<'static>>, FlagError> {
    cached_certs(p, || read_certs_uncached(flag, p))
}

fn read_certs_uncached(
    flag: &'static str,
    p: &std::path::Path,
) -> Result<Vec<CertificateDer<'static>>, FlagError> {
    let pem = |problem: String| FlagError::Pem {
        flag,
        path: p.to_path_buf(),
        problem,
    };
    let bytes = parallax_model::input::read_config_bytes(p).map_err(|e| pem(e.to_string()))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| pem(format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(pem("no CERTIFICATE block".to_owned()));
    }
    Ok(certs)
}
/// The standard chain's next link: the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`,
/// else `~/.aws/credentials`), profile `AWS_PROFILE` (else `default`): its
/// `aws_access_key_id`, `aws_secret_access_key` and `aws_session_token`.
fn shared_credentials(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, String, Option<String>), String> {
    let none = "needs credentials: --user KEY:SECRET, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in the shared credentials file".to_owned();
    let path = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| env("HOME").map(|h| std::path::Path::new(&h).join(".aws/credentials")));
    let Some(path) = path else {
        return Err(none);
    };
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let text = match parallax_model::input::read_config_bytes(&path) {
        Ok(b) => String::from_utf8(b).map_err(|_| format!("{}: not UTF-8 text", path.display()))?,
        Err(parallax_model::input::InputError::Unreadable(e))
            if e.kind() == std::io::ErrorKind::NotFound =>
        {
            return Err(none);
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut section = String::new();
    let (mut key, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        if section != profile {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_owned();
            match k.trim() {
                "aws_access_key_id" => key = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    match (key, secret) {
        (Some(k), Some(s)) => Ok((k, s, token)),
        _ => Err(format!(
            "{none}: {} has no aws_access_key_id and aws_secret_access_key under [{profile}]",
            path.display()
        )),
    }
}

/// `--aws-sigv4 PROVIDER` with `--user KEY:SECRET` (or the standard environment variables),
/// read as curl reads them: `aws:amz[:REGION[:SERVICE]]`.
fn sigv4_spec(provider: &str, user: Option<&str>) -> Result<crate::sigv4::SigV4, FlagError> {
    let bad = |message: String| FlagError::Value {
        flag: "--aws-sigv4",
        message,
    };
    let parts: Vec<&str> = provider.split(':').collect();
    if parts.len() > 4 || parts.first().map(|p| p.to_ascii_lowercase()) != Some("aws".to_owned()) {
        return Err(bad(format!(
            "`{provider}`: expected aws:amz[:REGION[:SERVICE]] (only AWS's provider is spoken)"
        )));
    }
    let nonempty = |i: usize| {
        parts
            .get(i)
            .filter(|s| !s.is_empty())
            .map(|s| (*s).to_owned())
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (key, secret, token) = match user {
        Some(u) => {
            let (k, s) = u
                .split_once(':')
                .ok_or_else(|| bad("--user must be KEY:SECRET with --aws-sigv4".to_owned()))?;
            (k.to_owned(), s.to_owned(), None)
        }
        None => match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            (Some(k), Some(s)) => (k, s, env("AWS_SESSION_TOKEN")),
            _ => shared_credentials(&env).map_err(bad)?,
        },
    };
    if key.is_empty() || secret.is_empty() {
        return Err(bad(
            "the access key id and the secret may not be empty".to_owned()
        ));
    }
    Ok(crate::sigv4::SigV4 {
        region: nonempty(2),
        service: nonempty(3),
        access_key_id: key,
        secret_access_key: secret,
        session_token: token,
    })
}

#[cfg(test)]
mod tests {
    /// The shared credentials file as the AWS CLI writes it: the profile AWS_PROFILE names, else
    /// `default`.
    #[test]
    fn shared_credentials_file() {
        let dir = std::env::temp_dir().join(format!("parallax-creds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("credentials");
        std::fs::write(
            &file,
            "[default]\naws_access_key_id = AKIADEFAULT00000001\naws_secret_access_key = d3f\n\n[ops]\naws_access_key_id=AKIAOPS000000000001\naws_secret_access_key=0ps\naws_session_token = t0k\n",
        )
        .expect("write");
        let path = file.display().to_string();
        let env = |profile: Option<&'static str>| {
            let path = path.clone();
            move |k: &str| match k {
                "AWS_SHARED_CREDENTIALS_FILE" => Some(path.clone()),
                "AWS_PROFILE" => profile.map(str::to_owned),
                _ => None,
            }
        };
        assert_eq!(
            super::shared_credentials(&env(None)),
            Ok(("AKIADEFAULT00000001".into(), "d3f".into(), None))
        );
        assert_eq!(
            super::shared_credentials(&env(Some("ops"))),
            Ok((
                "AKIAOPS000000000001".into(),
                "0ps".into(),
                Some("t0k".into())
            ))
        );
        let missing = super::shared_credentials(&env(Some("nope"))).expect_err("no such profile");
        assert!(missing.contains("under [nope]"), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
