//! The canonical request: the one reading of a request's host, method and path that routing,
//! the resource policy's ARN, usage plans and the access log all use. Reading a request twice
//! (the router one way, the ARN another) is how a Deny on `/prod/GET/admin` was evaded by
//! `/prod/admin/` and `get`.
//!
//! - **Host**: lower case, without port or trailing dot.
//! - **Method**: the token as sent. Methods are case-sensitive (RFC 9110 §9.1): `get` is not
//!   `GET`, and only API Gateway's seven methods can match a route (`ANY` included).
//! - **Path**: split on `/`, empty segments dropped (so `/a//b/` is `/a/b`), each segment
//!   percent-decoded, then `.` and `..` removed as RFC 3986 §5.2.4 does, so `%2e%2e` cannot
//!   climb past a route's prefix. A malformed escape is a 400.

use parallax_model::topology::Method;

use crate::refusal::{BadRequest, Reject};

/// A request method as the gateway reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MethodToken {
    /// One of API Gateway's methods, spelled exactly.
    Known(Method),
    /// Any other token (`get`, `FOO`): it reaches the policy as sent and matches no route.
    Other(String),
}

impl MethodToken {
    /// Reads a request's method token (case-sensitive, as API Gateway reads it).
    pub fn parse(token: &str) -> MethodToken {
        let m = match token {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            other => return MethodToken::Other(other.to_owned()),
        };
        MethodToken::Known(m)
    }

    /// The token as sent.
    pub fn as_str(&self) -> &str {
        match self {
            MethodToken::Known(m) => m.as_str(),
            MethodToken::Other(s) => s,
        }
    }
}

/// A path in canonical form: decoded segments, no empty or dot segments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CanonicalPath {
    /// The decoded segments, empty ones dropped.
    pub segments: Vec<String>,
}

impl CanonicalPath {
    /// Reads a request path (without the query string).
    pub fn parse(raw: &str) -> Result<CanonicalPath, Reject> {
        let mut segments: Vec<String> = Vec::new();
        for part in raw.split('/').filter(|s| !s.is_empty()) {
            let decoded = percent_decode(part)?;
            match decoded.as_str() {
                "." | "" => {}
                ".." => {
                    segments.pop();
                }
                _ => segments.push(decoded),
            }
        }
        Ok(CanonicalPath { segments })
    }

    /// `/a/b`, or `/` for no segment: what the access log shows.
    pub fn display(&self) -> String {
        if self.segments.is_empty() {
            return "/".to_owned();
        }
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            out.push_str(s);
        }
        out
    }
}

/// The host a request names: lower case, no port, no trailing dot. An empty or malformed
/// authority is a 400.
pub fn canonical_host(raw: &str) -> Result<String, Reject> {
    let bad = || Reject::BadRequest(BadRequest::Host);
    let host = if let Some(rest) = raw.strip_prefix('[') {
        // An IPv6 literal: `[::1]:443`.
        let end = rest.find(']').ok_or_else(bad)?;
        &rest[..end]
    } else {
        match raw.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            Some(_) => return Err(bad()),
            None => raw,
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'))
    {
        return Err(bad());
    }
    Ok(host.to_ascii_lowercase())
}

fn percent_decode(s: &str) -> Result<String, Reject> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) else {
                return Err(Reject::BadRequest(BadRequest::PercentEncoding));
            };
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Reject::BadRequest(BadRequest::PercentEncoding))
}

/// A decoded path value, encoded again for an upstream URI: every byte outside RFC 3986's
/// `pchar` is escaped, `/` included, so a decoded `%2F` stays inside its segment.
pub fn encode_segment(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            )
        {
            out.push(b as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0x0f)] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> Vec<String> {
        CanonicalPath::parse(s).expect("valid").segments
    }

    #[test]
    fn paths_read_once_for_every_use() {
        assert_eq!(path("/prod/admin/"), ["prod", "admin"]);
        assert_eq!(path("//prod//admin"), ["prod", "admin"]);
        assert_eq!(path("/prod/%61dmin"), ["prod", "admin"]);
        assert_eq!(path("/prod/x/../admin"), ["prod", "admin"]);
        assert_eq!(path("/prod/x/%2e%2E/admin"), ["prod", "admin"]);
        assert_eq!(path("/prod/./admin"), ["prod", "admin"]);
        assert_eq!(path("/../../prod"), ["prod"]);
        assert_eq!(path("/prod/a%2Fb"), ["prod", "a/b"]);
        assert_eq!(path("/"), Vec::<String>::new());
        assert!(CanonicalPath::parse("/prod/%zz").is_err());
        assert!(CanonicalPath::parse("/prod/%ff").is_err(), "not UTF-8");
    }

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!(MethodToken::parse("GET"), MethodToken::Known(Method::Get));
        assert_eq!(MethodToken::parse("get"), MethodToken::Other("get".into()));
        assert_eq!(MethodToken::parse("Get").as_str(), "Get");
    }

    #[test]
    fn hosts() {
        assert_eq!(
            canonical_host("API.Example.com.:443").unwrap(),
            "api.example.com"
        );
        assert_eq!(canonical_host("[::1]:8443").unwrap(), "::1");
        assert!(canonical_host("").is_err());
        assert!(canonical_host("a b").is_err());
        assert!(canonical_host("host:port").is_err());
    }

    #[test]
    fn segments_encode_back_without_climbing() {
        let mut s = String::new();
        encode_segment("a/../b c", &mut s);
        assert_eq!(s, "a%2F..%2Fb%20c");
    }
}
