//! `parallax probe`'s curl-shaped flags, and their translation into [`ProbeOptions`]: the
//! binary only parses them. Every refusal names the flag and the value.

use std::path::PathBuf;
use std::sync::Arc;

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
    /// The method, sent on every request (redirects included, as curl does with -X).
    #[arg(
        short = 'X',
        long = "request",
        value_name = "METHOD",
        help_heading = "Connection"
    )]
    pub method: Option<String>,
    /// HEAD: the status and headers only.
    #[arg(short = 'I', long = "head", help_heading = "HTTP")]
    pub head: bool,
    /// A request header, `Name: value`. Repeatable.
    #[arg(
        short = 'H',
        long = "header",
        value_name = "HEADER",
        help_heading = "HTTP"
    )]
    pub headers: Vec<String>,
    /// The User-Agent header.
    #[arg(
        short = 'A',
        long = "user-agent",
        value_name = "NAME",
        help_heading = "HTTP"
    )]
    pub user_agent: Option<String>,
    /// The Referer header.
    #[arg(
        short = 'e',
        long = "referer",
        value_name = "URL",
        help_heading = "HTTP"
    )]
    pub referer: Option<String>,
    /// Basic authentication, `user:password` (never printed); with --aws-sigv4, the access
    /// key id and secret, `KEY:SECRET`.
    #[arg(
        short = 'u',
        long = "user",
        value_name = "USER:PASSWORD",
        help_heading = "Auth"
    )]
    pub user: Option<String>,
    /// Sign the request with AWS SigV4, as curl: `aws:amz[:REGION[:SERVICE]]` (Region and
    /// service from an execute-api host name when left out). The credentials are --user
    /// KEY:SECRET, else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN),
    /// else the shared credentials file's AWS_PROFILE (or default) profile.
    #[arg(long = "aws-sigv4", value_name = "PROVIDER", help_heading = "Auth")]
    pub aws_sigv4: Option<String>,
    /// POST this data (`@FILE` reads a file without its CR and LF bytes, `@-` standard
    /// input); repeated, the pieces are joined with `&`.
    #[arg(short = 'd', long = "data", value_name = "DATA", help_heading = "POST")]
    pub data: Vec<String>,
    /// As -d.
    #[arg(long = "data-ascii", value_name = "DATA", help_heading = "POST")]
    pub data_ascii: Vec<String>,
    /// As -d, with no meaning for `@`.
    #[arg(long = "data-raw", value_name = "DATA", help_heading = "POST")]
    pub data_raw: Vec<String>,
    /// As -d, and `@FILE` is sent as it is.
    #[arg(long = "data-binary", value_name = "DATA", help_heading = "POST")]
    pub data_binary: Vec<String>,
    /// URL-encoded data: `content`, `=content`, `name=content`, `@FILE`, `name@FILE`.
    #[arg(long = "data-urlencode", value_name = "DATA", help_heading = "POST")]
    pub data_urlencode: Vec<String>,
    /// JSON data (as --data-binary; pieces joined with nothing), with Content-Type and Accept
    /// `application/json`.
    #[arg(long = "json", value_name = "DATA", help_heading = "POST")]
    pub json_data: Vec<String>,
    /// Send the -d data as the URL's query, with GET (HEAD with -I).
    #[arg(short = 'G', long = "get", help_heading = "HTTP")]
    pub get: bool,
    /// A multipart form field: `name=value`, `name=@FILE` (a file upload), `name=<FILE` (the
    /// value from a file); `;type=` and `;filename=` may follow. Repeatable.
    #[arg(
        short = 'F',
        long = "form",
        value_name = "NAME=CONTENT",
        help_heading = "POST"
    )]
    pub form: Vec<String>,
    /// A multipart form field whose value is taken as it is.
    #[arg(
        long = "form-string",
        value_name = "NAME=STRING",
        help_heading = "POST"
    )]
    pub form_string: Vec<String>,
    /// PUT this file (`-` for standard input, sent chunked); a URL ending in `/` gets the
    /// file's name.
    #[arg(
        short = 'T',
        long = "upload-file",
        value_name = "FILE",
        help_heading = "Upload"
    )]
    pub upload_file: Option<String>,
    /// Keep a POST a POST through a 301 (-L).
    #[arg(long = "post301", help_heading = "HTTP")]
    pub post301: bool,
    /// Keep a POST a POST through a 302 (-L).
    #[arg(long = "post302", help_heading = "HTTP")]
    pub post302: bool,
    /// Keep a POST a POST through a 303 (-L).
    #[arg(long = "post303", help_heading = "HTTP")]
    pub post303: bool,
    /// Ask for a compressed answer (deflate, gzip, br, zstd) and write it decoded.
    #[arg(long, help_heading = "HTTP")]
    pub compressed: bool,
    /// Cookies to send: `NAME=VALUE[; …]` as it is, or a Netscape cookie FILE to load (which
    /// also keeps cookies received across redirects). Repeatable.
    #[arg(
        short = 'b',
        long = "cookie",
        value_name = "DATA|FILE",
        help_heading = "HTTP"
    )]
    pub cookie: Vec<String>,
    /// Write the cookies held at the end to FILE, as curl writes its cookie jar (`-` for
    /// standard output).
    #[arg(
        short = 'c',
        long = "cookie-jar",
        value_name = "FILE",
        help_heading = "HTTP"
    )]
    pub cookie_jar: Option<PathBuf>,
    /// The pieces of -d, --data-ascii, --data-raw, --data-binary, --data-urlencode and --json
    /// in command-line order (filled by [`CurlFlags::order_data`]; without it, in that order of
    /// flags).
    #[arg(skip)]
    pub data_order: Option<Vec<crate::body::DataArg>>,
    /// Client certificate (PEM; may hold the key too).
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub key: Option<PathBuf>,
    /// Trust only these certificates (PEM) instead of the system's: CAs, or the server's own
    /// (self-signed) certificate. Default: CURL_CA_BUNDLE, then SSL_CERT_FILE, when set.
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub cacert: Option<PathBuf>,
    /// Trust the certificates in this directory's files (default: SSL_CERT_DIR, when set).
    #[arg(long, value_name = "DIR", help_heading = "TLS")]
    pub capath: Option<PathBuf>,
    /// Refuse the server unless its public key is this one: `sha256//BASE64[;…]` or a PEM/DER
    /// public key file.
    #[arg(long, value_name = "HASHES|FILE", help_heading = "TLS")]
    pub pinnedpubkey: Option<String>,
    /// Go on when the server's certificate does not verify (it is still reported).
    #[arg(short = 'k', long, help_heading = "TLS")]
    pub insecure: bool,
    /// TLS 1.0 or later (parallax speaks 1.2 and 1.3, so this changes nothing).
    #[arg(short = '1', long = "tlsv1", help_heading = "TLS")]
    pub tlsv1: bool,
    /// TLS 1.0 or later (as --tlsv1).
    #[arg(long = "tlsv1.0", help_heading = "TLS")]
    pub tlsv1_0: bool,
    /// TLS 1.1 or later (as --tlsv1).
    #[arg(long = "tlsv1.1", help_heading = "TLS")]
    pub tlsv1_1: bool,
    /// TLS 1.2 or later.
    #[arg(long = "tlsv1.2", help_heading = "TLS")]
    pub tlsv1_2: bool,
    /// TLS 1.3 only (with the default maximum).
    #[arg(long = "tlsv1.3", help_heading = "TLS")]
    pub tlsv1_3: bool,
    /// The highest TLS version to offer: 1.2, 1.3 or default (1.0 and 1.1 are not spoken).
    #[arg(long = "tls-max", value_name = "VERSION", help_heading = "TLS")]
    pub tls_max: Option<String>,
    /// Use ADDR (or several, comma-separated) for HOST:PORT instead of DNS; HOST `*` is any
    /// host; `-HOST:PORT` removes an earlier entry. Repeatable.
    #[arg(
        long,
        value_name = "[+]HOST:PORT:ADDR[,ADDR]",
        allow_hyphen_values = true,
        help_heading = "DNS"
    )]
    pub resolve: Vec<String>,
    /// Dial HOST2:PORT2 where HOST:PORT would be dialled, resolving HOST2 instead of HOST;
    /// empty fields match any / keep the original. HOST may also be a resolved address.
    /// Repeatable.
    #[arg(
        long,
        value_name = "HOST:PORT:HOST2:PORT2",
        help_heading = "Connection"
    )]
    pub connect_to: Vec<String>,
    /// Resolve and connect over IPv4 only.
    #[arg(
        short = '4',
        long = "ipv4",
        conflicts_with = "ipv6",
        help_heading = "DNS"
    )]
    pub ipv4: bool,
    /// Resolve and connect over IPv6 only.
    #[arg(short = '6', long = "ipv6", help_heading = "DNS")]
    pub ipv6: bool,
    /// Go through this HTTP proxy: `[http://][user:password@]host[:port]` (port 1080 by
    /// default, as curl); `""` turns the proxy variables off. Default: `https_proxy`/
    /// `HTTPS_PROXY` for https URLs, `http_proxy` for http ones, then `ALL_PROXY`/`all_proxy`.
    #[arg(
        short = 'x',
        long = "proxy",
        value_name = "URL",
        help_heading = "Proxy"
    )]
    pub proxy: Option<String>,
    /// The proxy's credentials, `user:password` (never printed).
    #[arg(
        short = 'U',
        long = "proxy-user",
        value_name = "USER:PASSWORD",
        help_heading = "Proxy"
    )]
    pub proxy_user: Option<String>,
    /// Hosts that do not go through the proxy: comma-separated names (a name also covers its
    /// subdomains), addresses or CIDR ranges, or `*`; overrides NO_PROXY/no_proxy.
    #[arg(long = "noproxy", value_name = "LIST", help_heading = "Proxy")]
    pub noproxy: Option<String>,
    /// Send a PROXY protocol v1 header first on the connection, as `curl --haproxy-protocol`.
    #[arg(long, help_heading = "Proxy")]
    pub haproxy_protocol: bool,
    /// The client address that header claims (implies --haproxy-protocol).
    #[arg(long, value_name = "IP", help_heading = "Proxy")]
    pub haproxy_clientip: Option<std::net::IpAddr>,
    /// Seconds the whole probe may take.
    #[arg(
        short = 'm',
        long,
        value_name = "SECONDS",
        default_value_t = 30.0,
        help_heading = "Connection"
    )]
    pub max_time: f64,
    /// Seconds that resolving, connecting and the TLS handshake may take together.
    #[arg(long, value_name = "SECONDS", help_heading = "Connection")]
    pub connect_timeout: Option<f64>,
    /// Write the whole body to FILE (`-` for standard output; the report then goes to
    /// standard error). Nothing is left half-written: the file appears when the body is whole.
    #[arg(short = 'o', long, value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Put the status line and the response headers before the body (with -o or -s).
    #[arg(short = 'i', long = "include", help_heading = "Output")]
    pub include: bool,
    /// No report: the body goes to standard output (or -o), then -w, as curl prints them.
    #[arg(short = 's', long, help_heading = "Verbose")]
    pub silent: bool,
    /// With -s: say why on standard error when the request fails, as curl does.
    #[arg(short = 'S', long, help_heading = "Verbose")]
    pub show_error: bool,
    /// After the request, print FORMAT with curl's variables: %{http_code}, %{time_total},
    /// %{remote_ip}, %{exitcode}, %{json}, %header{name}, ... (`@FILE` reads it from a file).
    #[arg(
        short = 'w',
        long = "write-out",
        value_name = "FORMAT",
        help_heading = "Verbose"
    )]
    pub write_out: Option<String>,
    /// Each step as it happens, on standard error.
    #[arg(short = 'v', long, help_heading = "Verbose")]
    pub verbose: bool,
    /// Follow redirects (each hop is in the report and the diagnosis).
    #[arg(short = 'L', long = "location", help_heading = "HTTP")]
    pub location: bool,
    /// With -L: how many redirects at most (-1: no limit).
    #[arg(
        long,
        value_name = "NUM",
        default_value_t = 50,
        allow_hyphen_values = true,
        help_heading = "HTTP"
    )]
    pub max_redirs: i64,
    /// Fail on an HTTP status of 400 or more: exit 22, nothing written (as curl --fail).
    #[arg(short = 'f', long, help_heading = "HTTP")]
    pub fail: bool,
    /// Fail on an HTTP status of 400 or more (exit 22), and write the body (as curl).
    #[arg(long = "fail-with-body", help_heading = "HTTP")]
    pub fail_with_body: bool,
    /// Write the response heads (every hop's with -L) to FILE (`-` for standard output).
    #[arg(
        short = 'D',
        long = "dump-header",
        value_name = "FILE",
        help_heading = "Output"
    )]
    pub dump_header: Option<PathBuf>,
    /// Retry a transient failure this many times (a timeout, a name that did not resolve, or
    /// HTTP 408, 429, 500, 502, 503, 504), as curl: waits 1 s, doubling, unless --retry-delay
    /// or a Retry-After says otherwise.
    #[arg(long, value_name = "NUM", default_value_t = 0, help_heading = "Curl")]
    pub retry: u32,
    /// Seconds between retries (0: curl's doubling from 1 s).
    #[arg(
        long = "retry-delay",
        value_name = "SECONDS",
        default_value_t = 0,
        help_heading = "Curl"
    )]
    pub retry_delay: u64,
    /// No retry starts after this many seconds (0: no limit).
    #[arg(
        long = "retry-max-time",
        value_name = "SECONDS",
        default_value_t = 0,
        help_heading = "Curl"
    )]
    pub retry_max_time: u64,
    /// With --retry: a refused connection is transient too.
    #[arg(long = "retry-connrefused", help_heading = "Curl")]
    pub retry_connrefused: bool,
    /// With --retry: every failure is transient.
    #[arg(long = "retry-all-errors", help_heading = "Curl")]
    pub retry_all_errors: bool,
    /// The resolvers of the connecting path instead of the system's: ADDR[:PORT][,…]
    #[arg(long, value_name = "ADDRS", help_heading = "parallax")]
    pub dns_servers: Option<String>,
    /// Another resolver to ask and compare with: NAME=ADDR[:PORT]. Repeatable.
    #[arg(long, value_name = "NAME=ADDR", help_heading = "parallax")]
    pub compare_dns: Vec<String>,
    /// The API key, sent as x-api-key (also PARALLAX_API_KEY). Never printed.
    #[arg(
        long,
        value_name = "KEY",
        env = "PARALLAX_API_KEY",
        hide_env_values = true,
        help_heading = "parallax"
    )]
    pub api_key: Option<String>,
    /// Read the API key from a file.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "api_key",
        help_heading = "parallax"
    )]
    pub api_key_file: Option<PathBuf>,
    /// AWS's `ip-ranges.json`: each DNS answer names its AWS owner and Region (also
    /// PARALLAX_IP_RANGES).
    #[arg(
        long,
        value_name = "FILE",
        env = "PARALLAX_IP_RANGES",
        help_heading = "parallax"
    )]
    pub ip_ranges: Option<PathBuf>,
    /// Do not retry pinned to another resolver's public answer.
    #[arg(long, help_heading = "parallax")]
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
    #[error("{flag} {}: {error}", path.display())]
    Read {
        /// The flag.
        flag: &'static str,
        /// The file it names.
        path: PathBuf,
        /// Why it cannot be read (not a regular file, too large, unreadable); in the message,
        /// so not also a source (said once).
        error: parallax_model::input::InputError,
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
    /// A request body that cannot be made (a file that cannot be read, a `-F` of a form curl
    /// does not take).
    #[error(transparent)]
    Body(crate::body::BodyError),
    /// A `--max-time` outside (0, 3600] seconds.
    #[error("--max-time {0}: expected seconds between 0 and 3600")]
    MaxTime(f64),
}

impl CurlFlags {
    /// Fills [`CurlFlags::data_order`] from the parsed command line: the data pieces in the
    /// order they were typed, whatever their flag (clap keeps each flag's values apart).
    pub fn order_data(&mut self, m: &clap::ArgMatches) {
        use crate::body::{DataArg, DataKind};
        let mut all: Vec<(usize, DataArg)> = Vec::new();
        for (id, kind) in [
            ("data", DataKind::Ascii),
            ("data_ascii", DataKind::Ascii),
            ("data_raw", DataKind::Raw),
            ("data_binary", DataKind::Binary),
            ("data_urlencode", DataKind::UrlEncode),
            ("json_data", DataKind::Json),
        ] {
            if let (Ok(Some(values)), Some(indices)) =
                (m.try_get_many::<String>(id), m.indices_of(id))
            {
                for (v, i) in values.zip(indices) {
                    all.push((
                        i,
                        DataArg {
                            kind,
                            value: v.clone(),
                        },
                    ));
                }
            }
        }
        all.sort_by_key(|(i, _)| *i);
        self.data_order = Some(all.into_iter().map(|(_, d)| d).collect());
    }

    /// The data pieces: in command-line order when known, else flag by flag.
    fn data_args(&self) -> Vec<crate::body::DataArg> {
        use crate::body::{DataArg, DataKind};
        if let Some(order) = &self.data_order {
            return order.clone();
        }
        let mut out = Vec::new();
        for (values, kind) in [
            (&self.data, DataKind::Ascii),
            (&self.data_ascii, DataKind::Ascii),
            (&self.data_raw, DataKind::Raw),
            (&self.data_binary, DataKind::Binary),
            (&self.data_urlencode, DataKind::UrlEncode),
            (&self.json_data, DataKind::Json),
        ] {
            out.extend(values.iter().map(|v| DataArg {
                kind,
                value: v.clone(),
            }));
        }
        out
    }

    /// The method, the body and the headers it brings, as curl 7.88 makes them from -d and
    /// its kin, --json, -G, -F, -T, -I and -X.
    fn request_body(&self, opts: &mut ProbeOptions) -> Result<(), FlagError> {
        use crate::options::RequestKind;
        let data = self.data_args();
        let form = !self.form.is_empty() || !self.form_string.is_empty();
        let chosen: Vec<&str> = [
            (!data.is_empty() && !self.get, "POST (-d)"),
            (form, "multipart POST (-F)"),
            (self.upload_file.is_some(), "PUT (-T)"),
            (self.head, "HEAD (-I)"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if chosen.len() > 1 || (self.get && (form || self.upload_file.is_some())) {
            return Err(FlagError::Value {
                flag: "-X",
                message: format!(
                    "only one request method may be chosen; these flags ask for {}",
                    if chosen.len() > 1 {
                        chosen.join(" and ")
                    } else {
                        "GET (-G) and a body".to_owned()
                    }
                ),
            });
        }
        let mut stdin = crate::body::read_stdin;
        let read_err = |e: crate::body::BodyError| FlagError::Body(e);
        opts.request_kind = if self.head {
            RequestKind::Head
        } else {
            RequestKind::Get
        };
        if !data.is_empty() {
            let (bytes, json) = crate::body::compose(&data, &mut stdin).map_err(read_err)?;
            if self.get {
                // -G: the data is the query, joined to one already there with `&`.
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let sep = if opts.url.path.contains('?') {
                    '&'
                } else {
                    '?'
                };
                opts.url.path.push(sep);
                opts.url.path.push_str(&text);
                // A fragment is never sent; curl's effective URL leaves it out too.
                let base = opts
                    .url
                    .given
                    .split('#')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let sep = if base.contains('?') { '&' } else { '?' };
                opts.url.given = format!("{base}{sep}{text}");
            } else {
                opts.request_kind = RequestKind::Post;
                if bytes.is_empty() {
                    opts.body_headers
                        .push(("Content-Length".to_owned(), "0".to_owned()));
                }
                if json {
                    // curl adds these as if given with -H (so they stay on every hop), unless
                    // -H gave them already.
                    for (k, v) in [
                        ("Content-Type", "application/json"),
                        ("Accept", "application/json"),
                    ] {
                        let given = opts.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(k))
                            || opts
                                .remove_headers
                                .iter()
                                .any(|n| n.eq_ignore_ascii_case(k));
                        if !given {
                            opts.headers.push((k.to_owned(), v.to_owned()));
                        }
                    }
                } else {
                    opts.body_headers.push((
                        "Content-Type".to_owned(),
                        "application/x-www-form-urlencoded".to_owned(),
                    ));
                }
                opts.body = bytes;
            }
        } else if form {
            // clap keeps -F and --form-string apart: -F parts first, then --form-string ones.
            let mut parts = Vec::new();
            for f in &self.form {
                parts.push(crate::body::form_part(f, false, &mut stdin).map_err(read_err)?);
            }
            for f in &self.form_string {
                parts.push(crate::body::form_part(f, true, &mut stdin).map_err(read_err)?);
            }
            let boundary = crate::body::new_boundary();
            opts.body = crate::body::multipart(&parts, &boundary);
            opts.body_headers.push((
                "Content-Type".to_owned(),
                format!("multipart/form-data; boundary={boundary}"),
            ));
            opts.request_kind = RequestKind::PostForm;
        } else if let Some(file) = &self.upload_file {
            opts.body = crate::body::read_source("-T", file, &mut stdin).map_err(read_err)?;
            opts.chunked = file == "-";
            if !opts.body.is_empty() || opts.chunked {
                opts.body_headers
                    .push(("Expect".to_owned(), "100-continue".to_owned()));
            } else {
                opts.body_headers
                    .push(("Content-Length".to_owned(), "0".to_owned()));
            }
            if opts
                .url
                .path
                .split('?')
                .next()
                .is_some_and(|p| p.ends_with('/'))
                && file != "-"
            {
                let name = std::path::Path::new(file)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let name = crate::body::escape(name.as_bytes());
                let (path, query) = match opts.url.path.split_once('?') {
                    Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                    None => (opts.url.path.clone(), None),
                };
                opts.url.path = match query {
                    Some(q) => format!("{path}{name}?{q}"),
                    None => format!("{path}{name}"),
                };
                if !opts.url.given.contains('?') && !opts.url.given.contains('#') {
                    opts.url.given.push_str(&name);
                }
            }
            opts.request_kind = RequestKind::Put;
        }
        opts.method = match opts.request_kind {
            RequestKind::Get => "GET",
            RequestKind::Head => "HEAD",
            RequestKind::Post | RequestKind::PostForm => "POST",
            RequestKind::Put => "PUT",
        }
        .to_owned();
        if let Some(m) = &self.method {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(FlagError::Value {
                    flag: "-X",
                    message: format!("`{m}` is not a method (a token of visible characters)"),
                });
            }
            opts.method = m.clone();
            opts.custom_method = true;
        }
        opts.keep_post = [self.post301, self.post302, self.post303];
        Ok(())
    }

    /// `-b` and `-c`: a `NAME=VALUE` string is sent as it is; anything else names a cookie
    /// file to load (a missing file, or `-b ''`, starts an empty engine, as curl's idiom `-b
    /// jar -c jar` needs on its first run); `-c` turns the engine on too.
    fn cookie_engine(&self, opts: &mut ProbeOptions) -> Result<(), FlagError> {
        let mut strings = Vec::new();
        let mut jar: Option<crate::cookies::CookieJar> = None;
        for b in &self.cookie {
            if let Some(path) = b
                .strip_prefix('@')
                .or((!b.contains('=')).then_some(b.as_str()))
            {
                let engine = jar.get_or_insert_with(crate::cookies::CookieJar::new);
                if path.is_empty() {
                    continue;
                }
                let p = PathBuf::from(path);
                match parallax_model::input::read_config(&p) {
                    Ok(text) => {
                        engine.load_netscape(&text);
                    }
                    Err(parallax_model::input::InputError::Unreadable(e))
                        if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(FlagError::Read {
                            flag: "-b",
                            path: p,
                            error: source,
                        });
                    }
                }
            } else {
                strings.push(b.clone());
            }
        }
        if self.cookie_jar.is_some() && jar.is_none() {
            jar = Some(crate::cookies::CookieJar::new());
        }
        opts.cookies = jar.map(|j| std::sync::Arc::new(std::sync::Mutex::new(j)));
        // curl 7.88 joins its -b strings with a bare `;`.
        opts.cookie_string = (!strings.is_empty()).then(|| strings.join(";"));
        Ok(())
    }

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
                        error: source,
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
        self.request_body(&mut opts)?;
        self.cookie_engine(&mut opts)?;
        // Trust as curl takes it: --cacert and --capath, else CURL_CA_BUNDLE, SSL_CERT_FILE and
        // SSL_CERT_DIR, else the system's store. Each source is the cache's shared list, so a
        // watch of 1,000 targets holds one copy of a bundle, not 1,000.
        let mut sources: Vec<Trust> = Vec::new();
        if let Some(ca) = &self.cacert {
            sources.push(read_certs("--cacert", ca)?);
        }
        if let Some(dir) = &self.capath {
            sources.push(read_cert_dir("--capath", dir)?);
        }
        // The variables name a trust store for TLS: for a plain-http URL one that cannot be
        // read is no error (curl reads it only to speak TLS; a redirect to https then trusts
        // the system's store).
        let tls = opts.url.https;
        if self.cacert.is_none() && self.capath.is_none() {
            let env_trust = || -> Result<Vec<Trust>, FlagError> {
                let mut found = Vec::new();
                for var in ["CURL_CA_BUNDLE", "SSL_CERT_FILE"] {
                    if let Some(p) = env(var).filter(|v| !v.is_empty()) {
                        found.push(read_certs(env_flag(var), &PathBuf::from(p))?);
                        break;
                    }
                }
                if let Some(p) = env("SSL_CERT_DIR").filter(|v| !v.is_empty()) {
                    found.push(read_cert_dir("SSL_CERT_DIR", &PathBuf::from(p))?);
                }
                Ok(found)
            };
            match env_trust() {
                Ok(found) => sources.extend(found),
                Err(e) if tls => return Err(e),
                Err(_) => {}
            }
        }
        sources.retain(|s| !s.is_empty());
        opts.ca = match sources.len() {
            0 => None,
            1 => sources.pop(),
            _ => Some(combined(sources)),
        };
        if let Some(pins) = &self.pinnedpubkey {
            opts.pinned_keys = parse_pins(pins)?;
        }
        if let Some(cert) = &self.cert {
            let chain = read_certs("--cert", cert)?.to_vec();
            let key_file = self.key.as_ref().unwrap_or(cert);
            let bytes = parallax_model::input::read_config_bytes(key_file).map_err(|source| {
                FlagError::Read {
                    flag: "--key",
                    path: key_file.clone(),
                    error: source,
                }
            })?;
            let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| FlagError::Pem {
                flag: if self.key.is_some() {
                    "--key"
                } else {
                    "--cert"
                },
                path: key_file.clone(),
                problem: if self.key.is_some() {
                    "no PRIVATE KEY block in it".to_owned()
                } else {
                    "no private key in the certificate file (pass the key with --key)".to_owned()
                },
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
        opts.fail_on_http_error = self.fail || self.fail_with_body;
        opts.fail_with_body = self.fail_with_body;
        opts.compressed = self.compressed;
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
                        error: source,
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
fn read_cert_dir(flag: &'static str, dir: &PathBuf) -> Result<Trust, FlagError> {
    cached_certs(dir, || read_cert_dir_uncached(flag, dir))
}

/// A list of certificates as the cache keeps it, shared.
type Trust = std::sync::Arc<Vec<CertificateDer<'static>>>;

/// Several cached lists as one (a bundle and a directory), made once per set of lists and
/// shared as they are.
fn combined(sources: Vec<Trust>) -> Trust {
    type Made = std::sync::Mutex<Vec<(Vec<Trust>, Trust)>>;
    static MADE: std::sync::OnceLock<Made> = std::sync::OnceLock::new();
    let made = MADE.get_or_init(Default::default);
    let same = |a: &[Trust]| {
        a.len() == sources.len() && a.iter().zip(&sources).all(|(x, y)| Arc::ptr_eq(x, y))
    };
    if let Ok(m) = made.lock()
        && let Some((_, list)) = m.iter().find(|(k, _)| same(k))
    {
        return list.clone();
    }
    let list: Trust = Arc::new(sources.iter().flat_map(|s| s.iter().cloned()).collect());
    if let Ok(mut m) = made.lock() {
        if m.len() == CERT_CACHE {
            m.remove(0);
        }
        m.push((sources, list.clone()));
    }
    list
}

fn read_cert_dir_uncached(
    flag: &'static str,
    dir: &PathBuf,
) -> Result<Vec<CertificateDer<'static>>, FlagError> {
    let entries = std::fs::read_dir(dir).map_err(|source| FlagError::Read {
        flag,
        path: dir.clone(),
        error: parallax_model::input::InputError::Unreadable(source),
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
            error: source,
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
) -> Result<Trust, FlagError> {
    type Cache = std::sync::Mutex<Vec<(CertKey, Trust)>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let Ok(meta) = std::fs::metadata(p) else {
        return read().map(std::sync::Arc::new);
    };
    let key: CertKey = (p.clone(), meta.len(), meta.modified().ok());
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(c) = cache.lock()
        && let Some((_, certs)) = c.iter().find(|(k, _)| *k == key)
    {
        return Ok(certs.clone());
    }
    let certs = std::sync::Arc::new(read()?);
    if let Ok(mut c) = cache.lock() {
        if c.len() == CERT_CACHE {
            c.remove(0);
        }
        c.push((key, certs.clone()));
    }
    Ok(certs)
}

fn read_certs(flag: &'static str, p: &PathBuf) -> Result<Trust, FlagError> {
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
    #[derive(clap::Parser)]
    #[command(no_binary_name = true)]
    struct Flags {
        #[command(flatten)]
        curl: super::CurlFlags,
    }

    fn options(args: &[&str]) -> Result<crate::ProbeOptions, super::FlagError> {
        use clap::{CommandFactory as _, FromArgMatches as _};
        let m = Flags::command()
            .try_get_matches_from(args)
            .expect("flags parse");
        let mut f = Flags::from_arg_matches(&m).expect("flags");
        f.curl.order_data(&m);
        f.curl.to_options_with_env(&|_| None)
    }

    /// A watch of many targets shares one trust list: CURL_CA_BUNDLE and SSL_CERT_DIR (both
    /// set, as in many containers) were read into a fresh copy per target, 2 MB each: a
    /// 1,000-target watch held 2.2 GB.
    #[test]
    fn targets_share_the_trust_list_of_the_environment() {
        let dir = std::env::temp_dir().join(format!("parallax-trust-{}", std::process::id()));
        let certs = dir.join("certs");
        std::fs::create_dir_all(&certs).expect("dir");
        let pem = |cn: &str| {
            let key = rcgen::KeyPair::generate().expect("key");
            let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).expect("params");
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            params.self_signed(&key).expect("cert").pem()
        };
        let bundle = dir.join("bundle.pem");
        std::fs::write(&bundle, format!("{}{}", pem("a"), pem("b"))).expect("bundle");
        std::fs::write(certs.join("c.pem"), pem("c")).expect("c");
        let (b, c) = (bundle.display().to_string(), certs.display().to_string());
        let env = move |n: &str| match n {
            "CURL_CA_BUNDLE" => Some(b.clone()),
            "SSL_CERT_DIR" => Some(c.clone()),
            _ => None,
        };
        let parse = |url: &str| {
            use clap::{CommandFactory as _, FromArgMatches as _};
            let m = Flags::command()
                .try_get_matches_from([url])
                .expect("flags parse");
            let f = Flags::from_arg_matches(&m).expect("flags");
            f.curl.to_options_with_env(&env).expect("options")
        };
        let one = parse("https://one.test/").ca.expect("trusted");
        let two = parse("https://two.test/").ca.expect("trusted");
        assert_eq!(one.len(), 3, "the bundle's two and the folder's one");
        assert!(std::sync::Arc::ptr_eq(&one, &two), "one list, shared");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// curl refuses two request methods at once ("You can only select one HTTP request
    /// method!"), and names a file it cannot read; the order of -d pieces is the order typed.
    #[test]
    fn methods_bodies_and_refusals() {
        for args in [
            &["-d", "a", "-I", "http://x.test/"][..],
            &["-d", "a", "-F", "b=c", "http://x.test/"],
            &["-G", "-F", "b=c", "http://x.test/"],
            &["-T", "/nonexistent/file", "http://x.test/"],
        ] {
            let e = options(args).expect_err("refused");
            assert!(!e.to_string().is_empty());
        }
        let missing = options(&["-d", "@/nonexistent/body", "http://x.test/"]).expect_err("read");
        assert!(
            missing.to_string().contains("/nonexistent/body"),
            "{missing}"
        );
        let o = options(&[
            "--data-raw",
            "b",
            "-d",
            "a",
            "--json",
            "{}",
            "http://x.test/",
        ])
        .expect("options");
        assert_eq!(o.body, b"b&a{}");
        assert_eq!(o.method, "POST");
        let g = options(&["-G", "-d", "a=1", "-I", "http://x.test/p?q=0"]).expect("options");
        assert_eq!(
            (g.method.as_str(), g.url.path.as_str()),
            ("HEAD", "/p?q=0&a=1")
        );
        let t = options(&["-T", "/dev/null", "-X", "POST", "http://x.test/up/"]).expect("options");
        assert_eq!(
            (t.method.as_str(), t.url.path.as_str()),
            ("POST", "/up/null")
        );
        assert!(t.custom_method);
    }

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
