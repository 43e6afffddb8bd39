//! Failures as values, one enum per layer. The ladder classifies what went wrong (walking an
//! error's causes for rustls's, webpki's, hyper's and the socket's own kinds) into these; the
//! diagnosis matches on them, never on the text of a message; and the words are made here, in
//! their `Display`, the one place a failure becomes a sentence.

use std::fmt;

use parallax_tls::CertProblem;
use serde::Serialize;

/// Why a resolver gave no answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DnsFailure {
    /// `/etc/resolv.conf` names no nameserver.
    NoNameserver,
    /// The server did not answer in time.
    NoAnswer {
        /// The server asked.
        server: std::net::SocketAddr,
        /// How long it was waited for.
        timeout_ms: u64,
    },
    /// The host is not a name that can be asked.
    BadName {
        /// The host.
        name: String,
    },
    /// A kind the DNS client adds later, in its own words.
    Other {
        /// The client's words.
        detail: String,
    },
}

impl DnsFailure {
    /// The failure behind a DNS client error.
    pub fn of(e: &parallax_dns::client::LookupError) -> DnsFailure {
        use parallax_dns::client::LookupError as L;
        match e {
            L::BadName(name) => DnsFailure::BadName { name: name.clone() },
            L::NoAnswer { server, timeout } => DnsFailure::NoAnswer {
                server: *server,
                timeout_ms: timeout.as_millis() as u64,
            },
            other => DnsFailure::Other {
                detail: other.to_string(),
            },
        }
    }
}

/// Why the proxy did not open the tunnel (or answer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProxyFailure {
    /// 407: the proxy wants credentials (or refused the ones given).
    AuthRequired {
        /// The proxy's status (407).
        status: u16,
    },
    /// Another status than 200 to CONNECT: the proxy refused the tunnel.
    Refused {
        /// The proxy's status.
        status: u16,
    },
    /// Not an HTTP answer, or one over the head limit.
    BadResponse {
        /// What was wrong with it.
        detail: String,
    },
    /// The proxy closed the connection before answering CONNECT.
    Closed,
    /// No answer to CONNECT in time.
    TimedOut,
}

impl fmt::Display for ProxyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyFailure::AuthRequired { status } => write!(
                f,
                "the proxy wants credentials ({status} Proxy Authentication Required)"
            ),
            ProxyFailure::Refused { status } => {
                write!(
                    f,
                    "the proxy refused the tunnel (CONNECT answered {status})"
                )
            }
            ProxyFailure::BadResponse { detail } => {
                write!(f, "the proxy's answer to CONNECT is not HTTP: {detail}")
            }
            ProxyFailure::Closed => {
                f.write_str("the proxy closed the connection before answering CONNECT")
            }
            ProxyFailure::TimedOut => f.write_str("the proxy did not answer CONNECT in time"),
        }
    }
}

/// Why a TCP connect failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectFailure {
    /// Nothing listens there (RST).
    Refused,
    /// No answer to the SYN in time.
    TimedOut,
    /// No route to the host or network.
    Unreachable,
    /// Any other socket error.
    Other,
}

/// Why the server's certificate did not verify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ServerCertProblem {
    /// The chain does not lead to a CA we trust.
    UnknownIssuer,
    /// Past its notAfter.
    Expired,
    /// Before its notBefore.
    NotValidYet,
    /// The certificate does not name the host we asked for.
    NameMismatch,
    /// A CA certificate (basic constraints CA:TRUE) served as the server's own certificate.
    CaUsedAsEndEntity,
    /// A self-signed certificate (CA:TRUE or not) that nothing trusted names: curl's "(60) SSL
    /// certificate problem: self-signed certificate".
    SelfSigned,
    /// On a revocation list we were given.
    Revoked,
    /// A signature in the chain does not verify.
    BadSignature,
    /// A signature algorithm or key we do not accept.
    UnsupportedAlgorithm,
    /// The extended key usage does not include serverAuth.
    NotForServerAuth,
    /// Not parsable X.509.
    Malformed,
    /// Another verification failure, in rustls's own words.
    Other {
        /// rustls's or webpki's words.
        detail: String,
    },
}

/// Why the TLS handshake failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TlsFailure {
    /// The server's certificate did not verify.
    ServerCertificate {
        /// What is wrong with the server's certificate.
        problem: ServerCertProblem,
    },
    /// The server sent a fatal alert (its TLS name, `handshake_failure`).
    Alert {
        /// The alert's TLS name.
        description: String,
    },
    /// No TLS version both sides take: the server's `protocol_version` alert, or its hello
    /// choosing a version we did not offer (a security policy's floor above `--tls-max`).
    VersionRefused,
    /// The server hung up (reset or end of stream) before answering the ClientHello.
    ClosedBeforeHello,
    /// The server hung up after its hello, before the handshake finished.
    ClosedDuringHandshake,
    /// The handshake did not finish in time.
    TimedOut,
    /// The server's public key is not one `--pinnedpubkey` names.
    PinnedKeyMismatch,
    /// The host cannot be sent as SNI.
    BadServerName {
        /// The host.
        host: String,
    },
    /// Our own TLS setup failed (trust roots, client key).
    LocalSetup {
        /// What could not be set up (a CA file, the client identity).
        what: String,
    },
    /// Anything else, in rustls's or the socket's own words.
    Other {
        /// rustls's words.
        detail: String,
    },
}

/// How the server refused the client certificate we sent (or did not send).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ClientCertRefusal {
    /// The server requires one and we sent none (`certificate_required`).
    Required,
    /// The server refused ours with this alert (`bad_certificate`, `unknown_ca`, …).
    Alert {
        /// The alert's TLS name.
        description: String,
    },
}

/// Why the HTTP exchange failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HttpFailure {
    /// No complete response within the time left.
    TimedOut {
        /// The limit, in milliseconds.
        limit_ms: u64,
    },
    /// The server sent a TLS alert on the connection (TLS 1.3 refuses a client certificate this
    /// way, after the handshake).
    TlsAlert {
        /// The alert's TLS name.
        description: String,
    },
    /// The connection closed before a complete response.
    Closed,
    /// The connection closed after the head, before the whole body (curl's 18).
    BodyCut {
        /// Body bytes received.
        received: u64,
        /// What the Content-Length announced, when it did.
        #[serde(skip_serializing_if = "Option::is_none")]
        expected: Option<u64>,
    },
    /// The connection was reset after the head, during the body (curl's 56).
    BodyReset {
        /// Body bytes received.
        received: u64,
    },
    /// `--compressed`: a body that does not decode as its Content-Encoding says, or an
    /// encoding we do not know (curl's 61).
    BadEncoding {
        /// The Content-Encoding.
        encoding: String,
    },
    /// The response was not valid HTTP (or its head was over our limit).
    Protocol {
        /// hyper's words.
        detail: String,
    },
    /// Our request could not be built (a header the flags made invalid).
    BadRequest {
        /// What is wrong with the request.
        detail: String,
    },
    /// The body could not be written where `-o` said.
    Output {
        /// Why the body could not be written.
        detail: String,
    },
    /// Anything else, in hyper's own words.
    Other {
        /// The error's words.
        detail: String,
    },
}

/// A TLS alert's name as RFC 8446 §6 writes it.
pub fn alert_name(a: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    let name = match a {
        A::CloseNotify => "close_notify",
        A::UnexpectedMessage => "unexpected_message",
        A::BadRecordMac => "bad_record_mac",
        A::RecordOverflow => "record_overflow",
        A::HandshakeFailure => "handshake_failure",
        A::BadCertificate => "bad_certificate",
        A::UnsupportedCertificate => "unsupported_certificate",
        A::CertificateRevoked => "certificate_revoked",
        A::CertificateExpired => "certificate_expired",
        A::CertificateUnknown => "certificate_unknown",
        A::IllegalParameter => "illegal_parameter",
        A::UnknownCA => "unknown_ca",
        A::AccessDenied => "access_denied",
        A::DecodeError => "decode_error",
        A::DecryptError => "decrypt_error",
        A::ProtocolVersion => "protocol_version",
        A::InsufficientSecurity => "insufficient_security",
        A::InternalError => "internal_error",
        A::InappropriateFallback => "inappropriate_fallback",
        A::UserCanceled => "user_canceled",
        A::MissingExtension => "missing_extension",
        A::UnsupportedExtension => "unsupported_extension",
        A::UnrecognisedName => "unrecognized_name",
        A::BadCertificateStatusResponse => "bad_certificate_status_response",
        A::UnknownPSKIdentity => "unknown_psk_identity",
        A::CertificateRequired => "certificate_required",
        A::NoApplicationProtocol => "no_application_protocol",
        other => return format!("alert {}", u8::from(other)),
    };
    name.to_owned()
}

impl ServerCertProblem {
    /// The problem behind a rustls certificate error (sorted by parallax-tls, as the
    /// gateway's client-certificate refusals are).
    pub fn of(c: &rustls::CertificateError) -> ServerCertProblem {
        match CertProblem::of(c) {
            CertProblem::NameMismatch => ServerCertProblem::NameMismatch,
            CertProblem::UnknownIssuer => ServerCertProblem::UnknownIssuer,
            CertProblem::Expired => ServerCertProblem::Expired,
            CertProblem::NotValidYet => ServerCertProblem::NotValidYet,
            CertProblem::Revoked => ServerCertProblem::Revoked,
            CertProblem::BadSignature => ServerCertProblem::BadSignature,
            CertProblem::UnsupportedAlgorithm => ServerCertProblem::UnsupportedAlgorithm,
            CertProblem::WrongPurpose => ServerCertProblem::NotForServerAuth,
            CertProblem::Malformed => ServerCertProblem::Malformed,
            CertProblem::CaUsedAsEndEntity => ServerCertProblem::CaUsedAsEndEntity,
            CertProblem::EndEntityUsedAsCa
            | CertProblem::PathLength
            | CertProblem::UnsupportedCriticalExtension
            | CertProblem::ChainTooDeep => ServerCertProblem::Other {
                detail: parallax_tls::words(c),
            },
            CertProblem::Other(detail) => ServerCertProblem::Other { detail },
        }
    }
}

impl TlsFailure {
    /// Classifies a handshake error. `got_hello` says whether the server's certificate (so its
    /// hello) arrived before the failure.
    pub fn of_handshake(e: &std::io::Error, got_hello: bool) -> TlsFailure {
        if let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return TlsFailure::of_rustls(r);
        }
        use std::io::ErrorKind as K;
        match e.kind() {
            K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
                if got_hello {
                    TlsFailure::ClosedDuringHandshake
                } else {
                    TlsFailure::ClosedBeforeHello
                }
            }
            K::TimedOut => TlsFailure::TimedOut,
            _ => TlsFailure::Other {
                detail: e.to_string(),
            },
        }
    }

    /// The failure behind a rustls error.
    pub fn of_rustls(r: &rustls::Error) -> TlsFailure {
        match r {
            rustls::Error::InvalidCertificate(c) => TlsFailure::ServerCertificate {
                problem: ServerCertProblem::of(c),
            },
            rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion)
            | rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13
                | rustls::PeerIncompatible::SupportedVersionsExtensionRequired
                | rustls::PeerIncompatible::Tls12NotOffered
                | rustls::PeerIncompatible::Tls12NotOfferedOrEnabled
                | rustls::PeerIncompatible::Tls13RequiredForQuic,
            ) => TlsFailure::VersionRefused,
            rustls::Error::AlertReceived(a) => TlsFailure::Alert {
                description: alert_name(*a),
            },
            other => TlsFailure::Other {
                detail: other.to_string(),
            },
        }
    }

    /// The alert the server sent, if that is what this is.
    pub fn alert(&self) -> Option<&str> {
        match self {
            TlsFailure::Alert { description } => Some(description),
            _ => None,
        }
    }
}

impl HttpFailure {
    /// Classifies a failure while reading the body, after the head came: a reset is curl's
    /// 56, any other end before the body's is its 18.
    pub fn of_body(
        e: &(dyn std::error::Error + 'static),
        received: u64,
        expected: Option<u64>,
    ) -> HttpFailure {
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = src {
            if let Some(io) = s.downcast_ref::<std::io::Error>()
                && matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                )
            {
                return HttpFailure::BodyReset { received };
            }
            src = s.source();
        }
        match HttpFailure::of(e) {
            HttpFailure::Closed => HttpFailure::BodyCut { received, expected },
            other => other,
        }
    }

    /// Classifies a failed exchange from the error and its causes.
    pub fn of(e: &(dyn std::error::Error + 'static)) -> HttpFailure {
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut closed = false;
        let mut parse = None;
        while let Some(s) = src {
            if let Some(rustls::Error::AlertReceived(a)) = s.downcast_ref::<rustls::Error>() {
                return HttpFailure::TlsAlert {
                    description: alert_name(*a),
                };
            }
            if let Some(h) = s.downcast_ref::<hyper::Error>() {
                if h.is_parse() || h.is_parse_too_large() {
                    parse.get_or_insert_with(|| h.to_string());
                }
                if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                    closed = true;
                }
            }
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                use std::io::ErrorKind as K;
                // An io::Error's `source` skips the error it wraps: look at that one directly.
                if let Some(rustls::Error::AlertReceived(a)) =
                    io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
                {
                    return HttpFailure::TlsAlert {
                        description: alert_name(*a),
                    };
                }
                if matches!(
                    io.kind(),
                    K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
                ) {
                    closed = true;
                }
            }
            src = s.source();
        }
        if let Some(detail) = parse {
            return HttpFailure::Protocol { detail };
        }
        if closed {
            return HttpFailure::Closed;
        }
        HttpFailure::Other {
            detail: e.to_string(),
        }
    }
}

impl fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsFailure::NoNameserver => f.write_str("/etc/resolv.conf names no nameserver"),
            DnsFailure::NoAnswer { server, timeout_ms } => {
                write!(f, "{server} did not answer within {timeout_ms} ms")
            }
            DnsFailure::BadName { name } => write!(f, "`{name}` is not a name that can be asked"),
            DnsFailure::Other { detail } => f.write_str(detail),
        }
    }
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectFailure::Refused => "refused",
            ConnectFailure::TimedOut => "timed out",
            ConnectFailure::Unreachable => "unreachable",
            ConnectFailure::Other => "failed",
        })
    }
}

impl fmt::Display for ServerCertProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerCertProblem::UnknownIssuer => f.write_str(
                "the server's certificate is from an issuer we do not trust (unknown issuer)",
            ),
            ServerCertProblem::Expired => f.write_str("the server's certificate has expired"),
            ServerCertProblem::NotValidYet => {
                f.write_str("the server's certificate is not valid yet")
            }
            ServerCertProblem::NameMismatch => {
                f.write_str("the server's certificate does not name this host (name mismatch)")
            }
            ServerCertProblem::SelfSigned => f.write_str(
                "self-signed certificate, not trusted: the server's certificate is its own issuer and is not among the trusted certificates",
            ),
            ServerCertProblem::CaUsedAsEndEntity => f.write_str(
                "the server's certificate is a CA certificate (basic constraints CA:TRUE) used as a server certificate, which TLS verifiers refuse even when it is the trusted one; `openssl req -x509` makes such certificates by default",
            ),
            ServerCertProblem::Revoked => f.write_str("the server's certificate is revoked"),
            ServerCertProblem::BadSignature => {
                f.write_str("a signature in the server's certificate chain does not verify")
            }
            ServerCertProblem::UnsupportedAlgorithm => f.write_str(
                "the server's certificate uses a signature algorithm or key we do not accept",
            ),
            ServerCertProblem::NotForServerAuth => f.write_str(
                "the server's certificate is not for server authentication (extended key usage)",
            ),
            ServerCertProblem::Malformed => {
                f.write_str("the server's certificate is not valid X.509")
            }
            ServerCertProblem::Other { detail } => {
                write!(f, "the server's certificate is not valid: {detail}")
            }
        }
    }
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::ServerCertificate { problem } => problem.fmt(f),
            TlsFailure::Alert { description } => {
                write!(f, "the server refused the handshake (alert {description})")
            }
            TlsFailure::VersionRefused => f.write_str(
                "no TLS version both sides take (the server's security policy sets its floor above what we offered, or the reverse)",
            ),
            TlsFailure::ClosedBeforeHello => {
                f.write_str("the server closed the connection without answering the ClientHello")
            }
            TlsFailure::ClosedDuringHandshake => {
                f.write_str("the server closed the connection during the handshake")
            }
            TlsFailure::TimedOut => f.write_str("the TLS handshake did not finish in time"),
            TlsFailure::PinnedKeyMismatch => {
                f.write_str("the server's public key is not the one --pinnedpubkey names")
            }
            TlsFailure::BadServerName { host } => write!(f, "`{host}` cannot be sent as SNI"),
            TlsFailure::LocalSetup { what } => write!(f, "our TLS setup failed: {what}"),
            TlsFailure::Other { detail } => f.write_str(detail),
        }
    }
}

impl fmt::Display for ClientCertRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCertRefusal::Required => {
                f.write_str("the server requires a client certificate (alert certificate_required)")
            }
            ClientCertRefusal::Alert { description } => write!(
                f,
                "the server refused our client certificate (alert {description})"
            ),
        }
    }
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpFailure::TimedOut { limit_ms } => {
                write!(f, "no complete response within {limit_ms} ms")
            }
            HttpFailure::TlsAlert { description } => {
                write!(
                    f,
                    "the server closed the connection with TLS alert {description}"
                )
            }
            HttpFailure::Closed => f.write_str("the connection closed before a complete response"),
            HttpFailure::BodyCut {
                received,
                expected: Some(e),
            } => write!(
                f,
                "the connection closed with {} of {e} body bytes still to come",
                e.saturating_sub(*received)
            ),
            HttpFailure::BodyCut { received, .. } => write!(
                f,
                "the connection closed before the body's end ({received} bytes received)"
            ),
            HttpFailure::BodyReset { received } => write!(
                f,
                "the connection was reset during the body ({received} bytes received)"
            ),
            HttpFailure::BadEncoding { encoding } => write!(
                f,
                "the body does not decode as Content-Encoding `{encoding}` says (or the encoding is unknown)"
            ),
            HttpFailure::Protocol { detail } => {
                write!(f, "the response is not valid HTTP: {detail}")
            }
            HttpFailure::BadRequest { detail } => {
                write!(f, "the request cannot be built: {detail}")
            }
            HttpFailure::Output { detail } => write!(f, "the body cannot be written: {detail}"),
            HttpFailure::Other { detail } => f.write_str(detail),
        }
    }
}
