//! curl's cookie engine, as far as a probe needs it: `-b FILE` loads a Netscape cookie file,
//! `Set-Cookie` answers are kept (across `-L` hops too), each request carries the cookies that
//! match its host, path and scheme, and `-c FILE` writes the jar as curl 7.88 writes it.

use std::time::{SystemTime, UNIX_EPOCH};

/// The most cookies kept; a server sending more loses its oldest.
pub const MAX_COOKIES: usize = 1000;

/// One cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cookie {
    /// The domain, lower case, without a leading dot.
    pub domain: String,
    /// Sent to the domain's subdomains too (a `Domain=` attribute, or TRUE in a file).
    pub tailmatch: bool,
    /// The path as stored (curl keeps a default path with its trailing slash).
    pub path: String,
    /// Sent over HTTPS only.
    pub secure: bool,
    /// Seconds since the epoch; 0 for a session cookie.
    pub expires: i64,
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
    /// `HttpOnly`.
    pub http_only: bool,
    /// Order of arrival, to write the newest first as curl does.
    created: u64,
}

/// The cookies held.
#[derive(Clone, Debug, Default)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
    counter: u64,
}

/// Where Secure cookies may go, as curl 7.88 decides: HTTPS, or a loopback host
/// (`localhost`, `127.0.0.1`, `::1`).
pub fn secure_context(https: bool, host: &str) -> bool {
    https
        || host.eq_ignore_ascii_case("localhost")
        || host == "127.0.0.1"
        || host == "::1"
        || host == "[::1]"
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A cookie date: the three HTTP date forms, and the Netscape form with dashes.
fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let t = httpdate::parse_http_date(s)
        .or_else(|_| httpdate::parse_http_date(&s.replacen('-', " ", 2)))
        .ok()?;
    Some(
        t.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    )
}

/// curl's path without a trailing slash (except `/` itself), as it matches paths.
fn sanitized(path: &str) -> &str {
    if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    }
}

fn path_matches(cookie_path: &str, request_path: &str) -> bool {
    let cp = sanitized(cookie_path);
    let rp = request_path.split('?').next().unwrap_or("/");
    let rp = if rp.is_empty() { "/" } else { rp };
    if cp == "/" || cp == rp {
        return true;
    }
    rp.starts_with(cp) && rp.as_bytes().get(cp.len()) == Some(&b'/')
}

fn domain_matches(c: &Cookie, host: &str) -> bool {
    host == c.domain || (c.tailmatch && host.ends_with(&format!(".{}", c.domain)))
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> CookieJar {
        CookieJar::default()
    }

    /// Reads a Netscape cookie file (curl's, Mozilla's, a browser export): seven tab-separated
    /// fields per line, `#HttpOnly_` before the domain for HttpOnly cookies, `#` comments.
    /// Returns the line numbers of lines that are neither (curl passes over them too).
    pub fn load_netscape(&mut self, text: &str) -> Vec<usize> {
        let mut skipped = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            let (line, http_only) = match line.strip_prefix("#HttpOnly_") {
                Some(rest) => (rest, true),
                None => (line, false),
            };
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() < 6 || f.len() > 7 {
                skipped.push(i + 1);
                continue;
            }
            let Ok(expires) = f[4].parse::<i64>() else {
                skipped.push(i + 1);
                continue;
            };
            let cookie = Cookie {
                domain: f[0].trim_start_matches('.').to_ascii_lowercase(),
                tailmatch: f[1].eq_ignore_ascii_case("TRUE"),
                path: f[2].to_owned(),
                secure: f[3].eq_ignore_ascii_case("TRUE"),
                expires,
                name: f[5].to_owned(),
                value: f.get(6).copied().unwrap_or_default().to_owned(),
                http_only,
                created: 0,
            };
            self.store(cookie);
        }
        skipped
    }

    fn store(&mut self, mut c: Cookie) {
        self.counter += 1;
        c.created = self.counter;
        self.cookies
            .retain(|o| !(o.name == c.name && o.domain == c.domain && o.path == c.path));
        if c.expires != 0 && c.expires <= now() {
            return;
        }
        if self.cookies.len() >= MAX_COOKIES {
            self.cookies.remove(0);
        }
        self.cookies.push(c);
    }

    /// Takes a `Set-Cookie` value received from `host` for `path` over `https` or not, as
    /// RFC 6265 §5.2–5.3 and curl read it: a `Domain` that does not cover the host, or a
    /// `Secure` cookie over plain HTTP, is refused; `Max-Age` wins over `Expires`; an expiry
    /// in the past removes the cookie.
    pub fn receive(&mut self, host: &str, path: &str, https: bool, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
            return;
        };
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        let host = host.to_ascii_lowercase();
        let mut c = Cookie {
            domain: host.clone(),
            tailmatch: false,
            path: String::new(),
            secure: false,
            expires: 0,
            name: name.to_owned(),
            value: value.trim().to_owned(),
            http_only: false,
            created: 0,
        };
        let mut max_age = None;
        for attr in parts {
            let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "domain" if !v.is_empty() => {
                    let d = v.trim_start_matches('.').to_ascii_lowercase();
                    if host != d && !host.ends_with(&format!(".{d}")) {
                        return;
                    }
                    c.domain = d;
                    c.tailmatch = true;
                }
                "path" if v.starts_with('/') => c.path = v.to_owned(),
                "expires" => {
                    if let Some(t) = parse_date(v) {
                        c.expires = t.max(1);
                    }
                }
                "max-age" => max_age = v.parse::<i64>().ok(),
                "secure" => c.secure = true,
                "httponly" => c.http_only = true,
                _ => {}
            }
        }
        if let Some(age) = max_age {
            c.expires = if age <= 0 {
                1
            } else {
                now().saturating_add(age)
            };
        }
        if c.secure && !https {
            return;
        }
        if c.path.is_empty() {
            // The default path: the request path up to and with its last slash.
            let p = path.split('?').next().unwrap_or("/");
            c.path = match p.rfind('/') {
                Some(i) => p[..=i].to_owned(),
                None => "/".to_owned(),
            };
        }
        self.store(c);
    }

    /// The `Cookie` header's value for a request, or `None`: the matching cookies, longest
    /// path first (then longest domain, then longest name, then newest), as curl orders them.
    pub fn header_for(&self, host: &str, path: &str, https: bool) -> Option<String> {
        let host = host.to_ascii_lowercase();
        let t = now();
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| (c.expires == 0 || c.expires > t) && (https || !c.secure))
            .filter(|c| domain_matches(c, &host) && path_matches(&c.path, path))
            .collect();
        matching.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then(b.domain.len().cmp(&a.domain.len()))
                .then(b.name.len().cmp(&a.name.len()))
                .then(b.created.cmp(&a.created))
        });
        (!matching.is_empty()).then(|| {
            matching
                .iter()
                .map(|c| format!("{}={}", c.name, c.value))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The jar in Netscape format, as `curl -c` writes it: its three comment lines and a blank
    /// one, then the cookies that have not expired, newest first.
    pub fn to_netscape(&self) -> String {
        let mut out = String::from(
            "# Netscape HTTP Cookie File\n# https://curl.se/docs/http-cookies.html\n# This file was generated by libcurl! Edit at your own risk.\n\n",
        );
        let t = now();
        let mut live: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| c.expires == 0 || c.expires > t)
            .collect();
        live.sort_by_key(|c| std::cmp::Reverse(c.created));
        for c in live {
            out.push_str(&format!(
                "{}{}{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                if c.http_only { "#HttpOnly_" } else { "" },
                if c.tailmatch { "." } else { "" },
                c.domain,
                if c.tailmatch { "TRUE" } else { "FALSE" },
                c.path,
                if c.secure { "TRUE" } else { "FALSE" },
                c.expires,
                c.name,
                c.value
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6265 §5.1.3–5.1.4 (domain and path matching) and §5.3 (storage), with curl's file.
    #[test]
    fn cookies_match_as_rfc_6265_says() {
        let mut jar = CookieJar::new();
        jar.receive("www.example.com", "/a/b?q=1", false, "s=1");
        jar.receive(
            "www.example.com",
            "/",
            false,
            "d=2; Domain=.example.com; Path=/",
        );
        jar.receive("www.example.com", "/", false, "x=3; Domain=other.com");
        jar.receive("www.example.com", "/", false, "sec=4; Secure");
        jar.receive(
            "www.example.com",
            "/",
            false,
            "old=5; Expires=Wed, 09 Jun 2021 10:18:14 GMT",
        );
        assert_eq!(
            jar.header_for("www.example.com", "/a/b/c", false)
                .as_deref(),
            Some("s=1; d=2")
        );
        assert_eq!(
            jar.header_for("api.example.com", "/", false).as_deref(),
            Some("d=2")
        );
        assert_eq!(jar.header_for("example.org", "/", false), None);
        // `/a/` does not cover `/ab`.
        assert_eq!(
            jar.header_for("www.example.com", "/ab", false).as_deref(),
            Some("d=2")
        );
        let text = jar.to_netscape();
        assert!(
            text.contains(".example.com\tTRUE\t/\tFALSE\t0\td\t2\n"),
            "{text}"
        );
        assert!(
            text.contains("www.example.com\tFALSE\t/a/\tFALSE\t0\ts\t1\n"),
            "{text}"
        );
        let mut back = CookieJar::new();
        assert!(back.load_netscape(&text).is_empty());
        assert_eq!(
            back.header_for("www.example.com", "/a/b/c", false),
            jar.header_for("www.example.com", "/a/b/c", false)
        );
        jar.receive(
            "www.example.com",
            "/",
            false,
            "d=gone; Domain=example.com; Max-Age=0",
        );
        assert_eq!(
            jar.header_for("api.example.com", "/", false),
            None,
            "Max-Age=0 removes"
        );
    }
}
