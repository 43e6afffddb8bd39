//! TLS for the front doors. Each door picks a server configuration from the ClientHello's SNI:
//! a custom domain gets its own certificate (and its mutual TLS); every other name gets the
//! door's `*.execute-api` certificate, so a name the door does not serve fails the client's
//! name check, as an endpoint does. No SNI fails the handshake (API Gateway requires SNI).
//!
//! Mutual TLS, as API Gateway does it, does not fail the handshake: the certificate is taken
//! as sent, and checked after the handshake, and a bad one gets HTTP 403. The signature that
//! proves the client holds the key is still checked during the handshake. In `strict` mode (the
//! standalone proxy) a bad or missing certificate fails the handshake, and CRLs are checked.
//! Either way at most 4 CA levels may stand above the leaf (reference §3), keys are at least
//! RSA-2048 or ECDSA-256 (§3), and RFC 5280's rules for a clientAuth chain hold: the leaf's
//! keyUsage (when present) has digitalSignature and its extended key usage clientAuth, each CA
//! is a CA with keyCertSign, and path lengths are kept (webpki checks the last two).
//!
//! A chain that passed the post-handshake check is kept (bounded, per truststore, until its
//! earliest notAfter and at most five minutes), so a client that reconnects with it is not
//! verified again; the handshake's signature is checked on every connection all the same.

use std::collections::HashMap;
use std::sync::Arc;

use parallax_model::topology::TlsVersion;
use parallax_rules::tls_versions::Versions;
use parallax_tls::CertProblem;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme,
};

use crate::pki::Identity;
use parallax_rules::decision::ClientCert;
use parallax_rules::refusal::CertRefusal;

pub use parallax_rules::refusal::MAX_CA_LEVELS;

/// A TLS configuration problem, named by what it concerns.
#[derive(Debug, thiserror::Error)]
#[error("TLS for {what}: {message}")]
pub struct TlsError {
    /// What the configuration was for.
    pub what: String,
    /// rustls's words.
    pub message: String,
}

/// The crypto provider every TLS configuration here uses (ring).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The provider of the gateway's own listeners: ring's suites in the order AWS lists those of
/// API Gateway's `TLS_1_2` policy (API Gateway Developer Guide, security policies): AES-128-GCM
/// before AES-256-GCM before ChaCha20 in each version, which the server picks by its own
/// order. SHA-256 suites also keep a handshake's key schedule off SHA-384, which ring computes
/// without SHA-512 instructions.
pub fn server_provider() -> Arc<CryptoProvider> {
    use rustls::crypto::ring::cipher_suite as cs;
    let mut p = rustls::crypto::ring::default_provider();
    p.cipher_suites = vec![
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    Arc::new(p)
}

/// A truststore: the CAs a custom domain accepts client certificates from.
#[derive(Clone, Debug)]
pub struct Truststore {
    /// The CA certificates.
    pub roots: Vec<CertificateDer<'static>>,
    /// CRLs, checked in strict mode.
    pub crls: Vec<CertificateRevocationListDer<'static>>,
    /// Fail the handshake on a bad certificate instead of answering 403.
    pub strict: bool,
}

/// What a door needs to set up its TLS.
#[derive(Debug)]
pub struct DoorTlsSpec<'a> {
    /// The door's certificate for every execute-api name it serves.
    pub default_identity: &'a Identity,
    /// An interface endpoint's door: private APIs speak TLS 1.2 only, and serve HTTP/2
    /// requests as HTTP/1.1 (API Gateway Developer Guide, private APIs' IP address types and
    /// security policies; reference §9), so only `http/1.1` is offered in ALPN.
    pub endpoint_door: bool,
    /// Custom domains on this door: name → (certificate, truststore if mutual TLS, the TLS
    /// versions its security policy takes).
    pub domains: Vec<(String, &'a Identity, Option<Truststore>, Versions)>,
    /// Execute-api names whose API's security policy takes other versions than the door's:
    /// name → versions (served with the door's certificate).
    pub names: Vec<(String, Versions)>,
}

/// The TLS side of one door.
#[derive(Debug)]
pub struct DoorTls {
    default: Arc<ServerConfig>,
    reject: Arc<ServerConfig>,
    domains: HashMap<String, (Arc<ServerConfig>, Option<Arc<ClientCheck>>)>,
    /// Execute-api names with their API's own versions.
    names: HashMap<String, Arc<ServerConfig>>,
}

/// How a connection's TLS was chosen: its config, and the check to run on the client's
/// certificate after the handshake (mutual TLS in API Gateway's mode).
#[derive(Debug)]
pub struct Chosen {
    /// The server configuration for the handshake.
    pub config: Arc<ServerConfig>,
    /// The post-handshake check of a client certificate, for a domain with mutual TLS.
    pub check: Option<Arc<ClientCheck>>,
    /// False when the handshake is meant to fail (no SNI).
    pub accept: bool,
}

impl DoorTls {
    /// Builds a door's TLS: its certificate, and each custom domain's, with their truststores.
    pub fn build(spec: &DoorTlsSpec<'_>) -> Result<DoorTls, TlsError> {
        let door_versions = if spec.endpoint_door {
            Versions {
                min: TlsVersion::Tls12,
                max: TlsVersion::Tls12,
            }
        } else {
            Versions::CLIENT_DEFAULT
        };
        let default = server_config(
            spec.default_identity,
            None,
            "the door's execute-api names",
            spec.endpoint_door,
            door_versions,
        )?;
        let mut names = HashMap::new();
        for (name, versions) in &spec.names {
            if *versions != door_versions {
                names.insert(
                    name.to_ascii_lowercase(),
                    server_config(
                        spec.default_identity,
                        None,
                        name,
                        spec.endpoint_door,
                        *versions,
                    )?,
                );
            }
        }
        let reject = Arc::new(
            ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsError {
                    what: "the no-SNI refusal".into(),
                    message: e.to_string(),
                })?
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(NoCertificate)),
        );
        let mut domains = HashMap::new();
        for (name, identity, trust, versions) in &spec.domains {
            let (verifier, check) = match trust {
                None => (None, None),
                Some(t) => {
                    let inner = webpki_verifier(t, name)?;
                    let passed = Arc::new(Passed::default());
                    let check = Arc::new(ClientCheck {
                        inner: inner.clone(),
                        passed: passed.clone(),
                    });
                    let outer: Arc<dyn ClientCertVerifier> = if t.strict {
                        Arc::new(Strict { inner })
                    } else {
                        Arc::new(Deferred { inner, passed })
                    };
                    (Some(outer), if t.strict { None } else { Some(check) })
                }
            };
            // A private custom domain name at an endpoint's door speaks as the door does.
            let config = server_config(identity, verifier, name, spec.endpoint_door, *versions)?;
            domains.insert(name.to_ascii_lowercase(), (config, check));
        }
        Ok(DoorTls {
            default,
            reject,
            domains,
            names,
        })
    }

    /// The configuration for a ClientHello's SNI.
    pub fn choose(&self, sni: Option<&str>) -> Chosen {
        let Some(sni) = sni else {
            return Chosen {
                config: self.reject.clone(),
                check: None,
                accept: false,
            };
        };
        let sni = sni.trim_end_matches('.').to_ascii_lowercase();
        match self.domains.get(&sni) {
            Some((config, check)) => Chosen {
                config: config.clone(),
                check: check.clone(),
                accept: true,
            },
            None => Chosen {
                config: self.names.get(&sni).unwrap_or(&self.default).clone(),
                check: None,
                accept: true,
            },
        }
    }
}

fn server_config(
    id: &Identity,
    verifier: Option<Arc<dyn ClientCertVerifier>>,
    what: &str,
    endpoint_door: bool,
    versions: Versions,
) -> Result<Arc<ServerConfig>, TlsError> {
    let err = |e: rustls::Error| TlsError {
        what: what.to_owned(),
        message: e.to_string(),
    };
    let offered: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| *v >= versions.min && *v <= versions.max)
    .map(|(_, p)| p)
    .collect();
    let builder = ServerConfig::builder_with_provider(server_provider())
        .with_protocol_versions(&offered)
        .map_err(err)?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(id.chain.clone(), id.key_der())
        .map_err(err)?;
    config.ignore_client_order = true;
    config.alpn_protocols = if endpoint_door {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

fn webpki_verifier(t: &Truststore, what: &str) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(t.roots.iter().cloned());
    if added == 0 {
        return Err(TlsError {
            what: format!("the truststore of {what}"),
            message: format!("no usable CA certificate ({ignored} unparsable)"),
        });
    }
    let mut b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
    if t.strict && !t.crls.is_empty() {
        b = b
            .with_crls(t.crls.iter().cloned())
            .allow_unknown_revocation_status();
    }
    b.build().map_err(|e| TlsError {
        what: format!("the truststore of {what}"),
        message: e.to_string(),
    })
}

/// The post-handshake check of a client certificate (API Gateway's mode).
#[derive(Debug)]
pub struct ClientCheck {
    inner: Arc<dyn ClientCertVerifier>,
    passed: Arc<Passed>,
}

impl ClientCheck {
    /// Verifies the chain a client sent (leaf first) against the truststore.
    pub fn check(&self, chain: Option<&[CertificateDer<'static>]>) -> ClientCert {
        self.check_at(chain, UnixTime::now())
    }

    fn check_at(&self, chain: Option<&[CertificateDer<'static>]>, now: UnixTime) -> ClientCert {
        let Some((leaf, intermediates)) = chain.and_then(|c| c.split_first()) else {
            return ClientCert::Missing;
        };
        if let Some(cert) = self.passed.get(leaf, intermediates, now) {
            return cert;
        }
        if let Err(why) = verify(&*self.inner, leaf, intermediates, now) {
            return ClientCert::Invalid(why);
        }
        let (subject, serial) = describe(leaf);
        self.passed
            .insert(leaf, intermediates, &subject, &serial, now);
        ClientCert::Valid { subject, serial }
    }

    /// How many passes were recorded: chains verified in full that passed (a chain answered
    /// from an earlier pass, or one that failed, records none).
    #[cfg(test)]
    fn verified(&self) -> u64 {
        self.passed
            .verified
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Chains that passed the check, so that a client coming back with the chain it sent before is
/// not verified again: the parses, the path and the CA's signature on each certificate were
/// about a twentieth of the gateway's CPU per new mutual-TLS connection (perf, 16 clients of
/// full handshakes). The result depends on the chain's bytes, the truststore (one store per
/// truststore; a new configuration makes a new one) and the time: an entry holds until the
/// earliest notAfter of its certificates, and at most five minutes. Only passes are kept, at
/// most [`PASSED_MAX`] leaves of chains up to [`PASSED_BYTES`] (a longer chain is verified every
/// time), so at most 8 MiB; when full, expired entries go, and if none has, all of them.
#[derive(Debug, Default)]
struct Passed {
    chains: std::sync::Mutex<HashMap<Box<[u8]>, PassedChain>>,
    #[cfg(test)]
    verified: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct PassedChain {
    intermediates: Vec<Box<[u8]>>,
    subject: String,
    serial: String,
    /// Seconds since the Unix epoch before which the pass holds.
    until: u64,
}

/// Leaves whose passes are kept at once.
const PASSED_MAX: usize = 1024;
/// How long a pass is kept at most, in seconds.
const PASSED_FOR: u64 = 300;
/// The largest chain kept, in bytes of its certificates (a leaf and an intermediate are
/// usually 1–3 KiB together).
const PASSED_BYTES: usize = 8 * 1024;

impl Passed {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<[u8]>, PassedChain>> {
        self.chains
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The check's result for a chain that passed before and still holds at `now`.
    fn get(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Option<ClientCert> {
        let chains = self.lock();
        let p = chains.get(leaf.as_ref())?;
        (now.as_secs() < p.until
            && p.intermediates.len() == intermediates.len()
            && p.intermediates
                .iter()
                .zip(intermediates)
                .all(|(a, b)| **a == *b.as_ref()))
        .then(|| ClientCert::Valid {
            subject: p.subject.clone(),
            serial: p.serial.clone(),
        })
    }

    /// Whether this leaf passed with some chain and still holds at `now`: then it has no
    /// [`leaf_problem`] (a pass implies none, and that check reads only the leaf's bytes).
    fn knows(&self, leaf: &CertificateDer<'_>, now: UnixTime) -> bool {
        self.lock()
            .get(leaf.as_ref())
            .is_some_and(|p| now.as_secs() < p.until)
    }

    fn insert(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        subject: &str,
        serial: &str,
        now: UnixTime,
    ) {
        #[cfg(test)]
        self.verified
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let bytes: usize = std::iter::once(leaf)
            .chain(intermediates)
            .map(|c| c.as_ref().len())
            .sum();
        if bytes > PASSED_BYTES {
            return;
        }
        let mut until = now.as_secs().saturating_add(PASSED_FOR);
        for cert in std::iter::once(leaf).chain(intermediates) {
            match x509_parser::parse_x509_certificate(cert.as_ref()) {
                Ok((_, c)) => {
                    let not_after = u64::try_from(c.validity().not_after.timestamp()).unwrap_or(0);
                    until = until.min(not_after);
                }
                // Verified yet unparsable here: nothing is kept.
                Err(_) => return,
            }
        }
        if until <= now.as_secs() {
            return;
        }
        let mut chains = self.lock();
        if chains.len() >= PASSED_MAX && !chains.contains_key(leaf.as_ref()) {
            chains.retain(|_, p| now.as_secs() < p.until);
            if chains.len() >= PASSED_MAX {
                chains.clear();
            }
        }
        chains.insert(
            leaf.as_ref().into(),
            PassedChain {
                intermediates: intermediates.iter().map(|c| c.as_ref().into()).collect(),
                subject: subject.to_owned(),
                serial: serial.to_owned(),
                until,
            },
        );
    }
}

/// Everything a client chain must pass: the depth limit, RFC 5280's rules for clientAuth that
/// webpki leaves out (key usage), AWS's key-size floor, then webpki's path validation.
fn verify(
    inner: &dyn ClientCertVerifier,
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
) -> Result<(), CertRefusal> {
    chain_problem(leaf, intermediates).map_or(Ok(()), Err)?;
    inner
        .verify_client_cert(leaf, intermediates, now)
        .map(|_| ())
        .map_err(|e| refusal(&e))
}

/// What is wrong with a chain before path validation, if anything.
pub fn chain_problem(
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Option<CertRefusal> {
    // The intermediates sent plus the root they lead to.
    if intermediates.len() + 1 > MAX_CA_LEVELS {
        return Some(CertRefusal::ChainTooDeep {
            levels: intermediates.len() + 1,
        });
    }
    if let Some(p) = leaf_problem(leaf) {
        return Some(p);
    }
    for ca in intermediates {
        let Ok((_, c)) = x509_parser::parse_x509_certificate(ca.as_ref()) else {
            return Some(CertRefusal::Malformed);
        };
        if c.basic_constraints()
            .ok()
            .flatten()
            .is_none_or(|b| !b.value.ca)
        {
            return Some(CertRefusal::BasicConstraints);
        }
        if c.key_usage()
            .ok()
            .flatten()
            .is_some_and(|k| !k.value.key_cert_sign())
        {
            return Some(CertRefusal::IssuerKeyUsage {
                subject: c.subject().to_string(),
            });
        }
    }
    None
}

/// What is wrong with the leaf alone: these are checked before the handshake signature too, so
/// a certificate refused here gets its 403 instead of a failed handshake.
pub fn leaf_problem(leaf: &CertificateDer<'_>) -> Option<CertRefusal> {
    use x509_parser::extensions::ParsedExtension;
    use x509_parser::public_key::PublicKey;
    let Ok((_, c)) = x509_parser::parse_x509_certificate(leaf.as_ref()) else {
        return Some(CertRefusal::Malformed);
    };
    if c.extensions().iter().any(|e| {
        e.critical
            && matches!(
                e.parsed_extension(),
                ParsedExtension::UnsupportedExtension { .. }
            )
    }) {
        return Some(CertRefusal::UnsupportedCriticalExtension);
    }
    match c.public_key().parsed() {
        Ok(PublicKey::RSA(k)) if k.key_size() < 2048 => {
            return Some(CertRefusal::WeakKey { bits: k.key_size() });
        }
        Ok(PublicKey::EC(k)) if k.key_size() < 256 => {
            return Some(CertRefusal::WeakKey { bits: k.key_size() });
        }
        Ok(PublicKey::RSA(_) | PublicKey::EC(_)) => {}
        // Ed25519 and the like parse as Unknown here; webpki judges them.
        Ok(PublicKey::Unknown(_)) => {}
        Ok(_) => return Some(CertRefusal::InsecureAlgorithm),
        Err(_) => return Some(CertRefusal::Malformed),
    }
    if c.basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|b| b.value.ca)
    {
        return Some(CertRefusal::BasicConstraints);
    }
    if c.key_usage()
        .ok()
        .flatten()
        .is_some_and(|k| !k.value.digital_signature())
    {
        return Some(CertRefusal::LeafKeyUsage);
    }
    if c.extended_key_usage()
        .ok()
        .flatten()
        .is_some_and(|e| !(e.value.client_auth || e.value.any))
    {
        return Some(CertRefusal::NotForClientAuth);
    }
    None
}

/// A rustls verification error as a refusal (parallax-tls sorts the error, once for the
/// gateway and the probe alike).
pub fn refusal(e: &rustls::Error) -> CertRefusal {
    match CertProblem::of_rustls(e) {
        CertProblem::Expired => CertRefusal::Expired,
        CertProblem::NotValidYet => CertRefusal::NotValidYet,
        CertProblem::UnknownIssuer => CertRefusal::UnknownIssuer,
        CertProblem::Revoked => CertRefusal::Revoked,
        CertProblem::BadSignature => CertRefusal::BadSignature,
        CertProblem::UnsupportedAlgorithm => CertRefusal::InsecureAlgorithm,
        CertProblem::WrongPurpose => CertRefusal::NotForClientAuth,
        CertProblem::Malformed => CertRefusal::Malformed,
        CertProblem::CaUsedAsEndEntity | CertProblem::EndEntityUsedAsCa => {
            CertRefusal::BasicConstraints
        }
        CertProblem::PathLength => CertRefusal::PathLength,
        CertProblem::UnsupportedCriticalExtension => CertRefusal::UnsupportedCriticalExtension,
        CertProblem::ChainTooDeep => CertRefusal::ChainTooDeep {
            levels: MAX_CA_LEVELS + 1,
        },
        // A client certificate is not checked against a name: rustls's words, as for the rest.
        CertProblem::NameMismatch => CertRefusal::Other(e.to_string()),
        CertProblem::Other(words) => CertRefusal::Other(words),
    }
}

/// The subject and serial of a certificate, for the request context and the access log.
pub fn describe(cert: &CertificateDer<'_>) -> (String, String) {
    match x509_parser::parse_x509_certificate(cert.as_ref()) {
        Ok((_, c)) => (c.subject().to_string(), c.raw_serial_as_string()),
        Err(_) => ("(unparsable)".to_owned(), String::new()),
    }
}

/// Asks for a certificate, takes any, and leaves judging it to [`ClientCheck`]. The handshake
/// signature (proof that the client holds the key) is verified here all the same, except for a
/// leaf that [`leaf_problem`] refuses (an RSA-1024 key, an unknown critical extension): webpki
/// cannot check its signature, and the request gets its 403 from the same `leaf_problem`, so
/// nothing is admitted on a signature left unchecked.
#[derive(Debug)]
struct Deferred {
    inner: Arc<dyn ClientCertVerifier>,
    /// The chains [`ClientCheck`] passed: a leaf among them has no [`leaf_problem`].
    passed: Arc<Passed>,
}

impl Deferred {
    /// Whether the leaf is refused anyway (its signature then goes unchecked).
    fn refused_anyway(&self, leaf: &CertificateDer<'_>) -> bool {
        !self.passed.knows(leaf, UnixTime::now()) && leaf_problem(leaf).is_some()
    }
}

impl ClientCertVerifier for Deferred {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.refused_anyway(c) {
            return Ok(HandshakeSignatureValid::assertion());
        }
        self.inner.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.refused_anyway(c) {
            return Ok(HandshakeSignatureValid::assertion());
        }
        self.inner.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Strict mode: the webpki verifier (with CRLs), plus the CA-depth limit, in the handshake.
#[derive(Debug)]
struct Strict {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for Strict {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        ee: &CertificateDer<'_>,
        ints: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if let Some(problem) = chain_problem(ee, ints) {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(StrictRefusal(problem))),
            )));
        }
        self.inner.verify_client_cert(ee, ints, now)
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A strict-mode refusal carried through rustls's error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct StrictRefusal(CertRefusal);

/// Serves no certificate: the handshake fails with an alert (used when there is no SNI).
#[derive(Debug)]
struct NoCertificate;

impl ResolvesServerCert for NoCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Ca, LeafFlaw, LeafSpec};

    fn client(ca: &Ca, flaw: Option<LeafFlaw>) -> Identity {
        ca.issue(&LeafSpec {
            common_name: "client".into(),
            client: true,
            flaw,
            ..Default::default()
        })
        .expect("leaf")
    }

    fn problem(id: &Identity) -> Option<CertRefusal> {
        let (leaf, rest) = id.chain.split_first().expect("leaf");
        chain_problem(leaf, rest)
    }

    /// RFC 5280 §4.2.1.3 and §4.2.1.12 for a clientAuth chain, and AWS's chain-depth limit.
    #[test]
    fn client_chains_follow_rfc_5280() {
        let root = Ca::root("root").expect("root");
        assert_eq!(problem(&client(&root, None)), None);
        for (flaw, refusal) in [
            (LeafFlaw::NoDigitalSignature, CertRefusal::LeafKeyUsage),
            (LeafFlaw::ServerAuthOnly, CertRefusal::NotForClientAuth),
            (
                LeafFlaw::UnknownCriticalExtension,
                CertRefusal::UnsupportedCriticalExtension,
            ),
            (LeafFlaw::CaAsLeaf, CertRefusal::BasicConstraints),
        ] {
            assert_eq!(
                problem(&client(&root, Some(flaw))),
                Some(refusal),
                "{flaw:?}"
            );
        }
        let no_sign = root.intermediate_with("no keyCertSign", false).expect("ca");
        assert!(matches!(
            problem(&client(&no_sign, None)),
            Some(CertRefusal::IssuerKeyUsage { .. })
        ));
        let mut deep = root.intermediate("i1").expect("ca");
        for i in 2..=4 {
            deep = deep.intermediate(&format!("i{i}")).expect("ca");
        }
        assert_eq!(
            problem(&client(&deep, None)),
            Some(CertRefusal::ChainTooDeep { levels: 5 })
        );
    }

    fn check_of(root: &Ca) -> ClientCheck {
        let t = Truststore {
            roots: vec![root.cert_der()],
            crls: Vec::new(),
            strict: false,
        };
        ClientCheck {
            inner: webpki_verifier(&t, "test").expect("verifier"),
            passed: Arc::new(Passed::default()),
        }
    }

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs))
    }

    /// A chain that passed is answered from the passes until its time is up; failures are
    /// verified every time; the same leaf with other intermediates is verified anew.
    #[test]
    fn passed_chains_are_kept_while_they_hold() {
        let root = Ca::root("root").expect("root");
        let check = check_of(&root);
        let now = UnixTime::now();
        let leaf = client(&root, None);
        let valid = |c: &ClientCert| matches!(c, ClientCert::Valid { subject, .. } if subject.contains("CN=client"));
        assert!(valid(&check.check_at(Some(&leaf.chain), now)));
        assert!(valid(&check.check_at(Some(&leaf.chain), now)));
        assert_eq!(
            check.verified(),
            1,
            "the second check was answered from the pass"
        );
        assert!(check.passed.knows(&leaf.chain[0], now));
        // Five minutes on, the pass is verified again (and still holds).
        let later = at(now.as_secs() + PASSED_FOR + 1);
        assert!(valid(&check.check_at(Some(&leaf.chain), later)));
        assert_eq!(check.verified(), 2);
        // After the certificate's notAfter (rcgen's default: 4096-01-01) nothing passes.
        let after = at(4_200_000_000 * 32);
        assert!(matches!(
            check.check_at(Some(&leaf.chain), after),
            ClientCert::Invalid(_)
        ));
        assert!(!check.passed.knows(&leaf.chain[0], after));
        // An expired leaf fails each time and is never kept.
        let old = root
            .issue(&LeafSpec {
                common_name: "old".into(),
                client: true,
                expired: true,
                ..Default::default()
            })
            .expect("leaf");
        for _ in 0..2 {
            assert!(matches!(
                check.check_at(Some(&old.chain), now),
                ClientCert::Invalid(_)
            ));
        }
        assert!(!check.passed.knows(&old.chain[0], now));
        // A leaf that passed with its intermediate does not pass without it.
        let int = root.intermediate("int").expect("ca");
        let below = client(&int, None);
        assert_eq!(below.chain.len(), 2);
        assert!(valid(&check.check_at(Some(&below.chain), now)));
        assert!(matches!(
            check.check_at(Some(&below.chain[..1]), now),
            ClientCert::Invalid(_)
        ));
    }

    /// The passes are bounded: past [`PASSED_MAX`] leaves the store starts over, and a chain
    /// longer than [`PASSED_BYTES`] is not kept.
    #[test]
    fn passes_are_bounded() {
        let root = Ca::root("root").expect("root");
        let passed = Passed::default();
        let now = UnixTime::now();
        let first = client(&root, None);
        passed.insert(&first.chain[0], &[], "s", "1", now);
        for _ in 0..PASSED_MAX {
            let leaf = client(&root, None);
            passed.insert(&leaf.chain[0], &[], "s", "1", now);
            assert!(passed.lock().len() <= PASSED_MAX);
        }
        assert!(!passed.knows(&first.chain[0], now));
        // A chain longer than PASSED_BYTES is not kept.
        let big = root
            .issue(&LeafSpec {
                common_name: "big".into(),
                dns_names: (0..400)
                    .map(|i| format!("host-{i:04}.example.internal"))
                    .collect(),
                client: true,
                ..Default::default()
            })
            .expect("leaf");
        assert!(big.chain[0].as_ref().len() > PASSED_BYTES);
        passed.insert(&big.chain[0], &[], "s", "1", now);
        assert!(!passed.knows(&big.chain[0], now));
        let small = client(&root, None);
        passed.insert(&small.chain[0], &[], "s", "1", now);
        assert!(passed.knows(&small.chain[0], now));
    }

    /// A leaf that is refused anyway has its handshake signature taken unchecked, so it gets
    /// its 403; any other leaf's signature is checked.
    #[test]
    fn only_refused_leaves_skip_the_signature_check() {
        let root = Ca::root("root").expect("root");
        let bad = client(&root, Some(LeafFlaw::UnknownCriticalExtension));
        assert!(leaf_problem(&bad.chain[0]).is_some());
        assert!(leaf_problem(&client(&root, None).chain[0]).is_none());
    }
}
