//! The TLS rung: the client configuration, and the verifier and client-certificate resolver
//! that record what the handshake showed (the chain, the verification problem, the CAs asked for).

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::certificate::{cert_info, dn_text, name_matches};
use crate::failure::ServerCertProblem;
use crate::observation::{TlsLayer, TrustRule};
use crate::options::ProbeOptions;

/// What the verifier and the client-certificate resolver saw during the handshake.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    verify_error: Mutex<Option<rustls::Error>>,
    /// The server's own certificate is one of the trusted certificates.
    self_trusted: Mutex<bool>,
    /// `--pinnedpubkey` was given and the server's key is not among the pins.
    pub(crate) pin_mismatch: Mutex<bool>,
    requested: Mutex<Option<Vec<String>>>,
    sent: Mutex<bool>,
}

impl Recorder {
    pub(crate) fn fill(&self, tls: &mut TlsLayer, host: &str, accept_invalid: bool) {
        let chain = self.chain.lock().map(|c| c.clone()).unwrap_or_default();
        tls.chain = chain.iter().map(|c| cert_info(c)).collect();
        let err = self.verify_error.lock().ok().and_then(|e| e.clone());
        let self_trusted = self.self_trusted.lock().map(|s| *s).unwrap_or(false);
        tls.verified = (err.is_none() || self_trusted) && !chain.is_empty();
        tls.trust = (!chain.is_empty()).then_some(if self_trusted {
            TrustRule::ServerCertificateTrusted
        } else if err.is_none() {
            TrustRule::Chain
        } else if accept_invalid {
            TrustRule::Insecure
        } else {
            TrustRule::Refused
        });
        let err = if self_trusted { None } else { err };
        tls.name_match = tls
            .chain
            .first()
            .map(|leaf| leaf.san.iter().any(|n| name_matches(n, host)));
        if let Some(rustls::Error::InvalidCertificate(c)) = &err {
            tls.unverified(ServerCertProblem::of(c));
        } else if let Some(e) = &err {
            tls.unverified(ServerCertProblem::Other {
                detail: e.to_string(),
            });
        }
        if let Some(cas) = self.requested.lock().ok().and_then(|r| r.clone()) {
            tls.client_cert_requested = true;
            tls.acceptable_cas = cas;
        }
        tls.client_cert_sent = self.sent.lock().map(|s| *s).unwrap_or(false);
    }
}

#[derive(Debug)]
pub(crate) struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    recorder: Arc<Recorder>,
    accept_invalid: bool,
    /// The certificates given as trusted, by their DER: a server that presents one of them
    /// as its own certificate is trusted, as OpenSSL (and so curl) trusts it.
    trusted: Arc<Vec<CertificateDer<'static>>>,
    /// `--pinnedpubkey`: SHA-256 of acceptable SubjectPublicKeyInfos (empty: no pinning).
    pins: Vec<[u8; 32]>,
}

impl RecordingVerifier {
    /// OpenSSL's rule for a trusted certificate served as the leaf: trusted as it is, when it
    /// names the host and is within its dates (webpki refuses a CA:TRUE leaf; curl does not).
    fn trusted_itself(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> bool {
        if !self
            .trusted
            .iter()
            .any(|t| t.as_ref() == end_entity.as_ref())
        {
            return false;
        }
        let Ok((_, c)) = x509_parser::parse_x509_certificate(end_entity.as_ref()) else {
            return false;
        };
        let t = now.as_secs() as i64;
        if t < c.validity().not_before.timestamp() || t > c.validity().not_after.timestamp() {
            return false;
        }
        let host = match server_name {
            ServerName::DnsName(d) => d.as_ref().to_owned(),
            ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
            _ => return false,
        };
        cert_info(end_entity)
            .san
            .iter()
            .any(|n| name_matches(n, &host))
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut c) = self.recorder.chain.lock() {
            *c = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
        }
        // curl checks the pin whatever the verification says (also with -k).
        if !self.pins.is_empty() {
            let spki = x509_parser::parse_x509_certificate(end_entity.as_ref())
                .map(|(_, c)| c.public_key().raw.to_vec())
                .unwrap_or_default();
            let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
            if !self.pins.iter().any(|p| p.as_slice() == digest.as_ref()) {
                if let Ok(mut m) = self.recorder.pin_mismatch.lock() {
                    *m = true;
                }
                return Err(rustls::Error::General(
                    "the public key is not a pinned one".to_owned(),
                ));
            }
        }
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Ok(v) => Ok(v),
            Err(e) => {
                if let Ok(mut slot) = self.recorder.verify_error.lock() {
                    *slot = Some(e.clone());
                }
                if self.trusted_itself(end_entity, server_name, now) {
                    if let Ok(mut s) = self.recorder.self_trusted.lock() {
                        *s = true;
                    }
                    return Ok(ServerCertVerified::assertion());
                }
                if self.accept_invalid {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(e)
                }
            }
        }
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

/// Notes that the server asked for a client certificate (and which CAs it accepts), and
/// offers ours when we have one.
#[derive(Debug)]
pub(crate) struct RecordingClientCert {
    key: Option<Arc<CertifiedKey>>,
    recorder: Arc<Recorder>,
}

impl ResolvesClientCert for RecordingClientCert {
    fn resolve(&self, hints: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        let names = hints.iter().map(|der| dn_text(der)).collect();
        if let Ok(mut r) = self.recorder.requested.lock() {
            *r = Some(names);
        }
        if let Ok(mut s) = self.recorder.sent.lock() {
            *s = self.key.is_some();
        }
        self.key.clone()
    }
    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

/// How long the system's trust store, once read, serves later probes before it is read again.
const NATIVE_ROOTS_FOR: std::time::Duration = std::time::Duration::from_secs(300);

/// The roots a probe verifies with, parsed once and shared: a given list (by identity: the
/// certificate cache's shared list, so every target of a watch that names one bundle gets one
/// store), or the system's store, read again every [`NATIVE_ROOTS_FOR`]. Each probe of a watch
/// read and parsed the whole system store from disk.
fn trust_roots(ca: Option<&Arc<Vec<CertificateDer<'static>>>>) -> Arc<rustls::RootCertStore> {
    type Given = Mutex<
        Vec<(
            std::sync::Weak<Vec<CertificateDer<'static>>>,
            Arc<rustls::RootCertStore>,
        )>,
    >;
    static GIVEN: std::sync::OnceLock<Given> = std::sync::OnceLock::new();
    static NATIVE: Mutex<Option<(std::time::Instant, Arc<rustls::RootCertStore>)>> =
        Mutex::new(None);
    match ca {
        Some(ca) => {
            let given = GIVEN.get_or_init(Default::default);
            if let Ok(mut g) = given.lock() {
                g.retain(|(list, _)| list.strong_count() > 0);
                if let Some((_, roots)) = g
                    .iter()
                    .find(|(list, _)| std::ptr::eq(list.as_ptr(), Arc::as_ptr(ca)))
                {
                    return roots.clone();
                }
            }
            let mut roots = rustls::RootCertStore::empty();
            roots.add_parsable_certificates(ca.iter().cloned());
            let roots = Arc::new(roots);
            if let Ok(mut g) = given.lock() {
                if g.len() >= 64 {
                    g.remove(0);
                }
                g.push((Arc::downgrade(ca), roots.clone()));
            }
            roots
        }
        None => {
            if let Ok(n) = NATIVE.lock()
                && let Some((at, roots)) = n.as_ref()
                && at.elapsed() < NATIVE_ROOTS_FOR
            {
                return roots.clone();
            }
            let mut roots = rustls::RootCertStore::empty();
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            let roots = Arc::new(roots);
            if let Ok(mut n) = NATIVE.lock() {
                *n = Some((std::time::Instant::now(), roots.clone()));
            }
            roots
        }
    }
}

pub(crate) fn client_config(
    opts: &ProbeOptions,
    recorder: Arc<Recorder>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = trust_roots(opts.ca.as_ref());
    let inner = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| format!("trust roots: {e}"))?;
    let verifier = Arc::new(RecordingVerifier {
        inner,
        recorder: recorder.clone(),
        accept_invalid: opts.danger_accept_invalid_certs,
        trusted: opts.ca.clone().unwrap_or_default(),
        pins: opts.pinned_keys.clone(),
    });
    let key = match &opts.identity {
        Some(id) => {
            let signing = provider
                .key_provider
                .load_private_key(id.key.clone_key())
                .map_err(|e| format!("client key: {e}"))?;
            Some(Arc::new(CertifiedKey::new(id.chain.clone(), signing)))
        }
        None => None,
    };
    use parallax_model::topology::TlsVersion;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| *v >= opts.tls.min && *v <= opts.tls.max)
    .map(|(_, p)| p)
    .collect();
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(RecordingClientCert { key, recorder }));
    // A WebSocket handshake is an HTTP/1.1 Upgrade (RFC 6455 §4.1): no h2 is offered for it.
    config.alpn_protocols = if opts.url.websocket {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Probes with the same trust list, or with the system's, share one parsed store.
    #[test]
    fn probes_share_their_parsed_roots() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(vec!["ca.test".to_owned()]).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let der = params.self_signed(&key).expect("cert").der().clone();
        let list = Arc::new(vec![der]);
        let a = trust_roots(Some(&list));
        let b = trust_roots(Some(&list.clone()));
        assert!(Arc::ptr_eq(&a, &b), "one store for one list");
        assert_eq!(a.len(), 1);
        let other = Arc::new(list.to_vec());
        assert!(
            !Arc::ptr_eq(&a, &trust_roots(Some(&other))),
            "another list, its own store"
        );
        assert!(
            Arc::ptr_eq(&trust_roots(None), &trust_roots(None)),
            "the system's, read once"
        );
    }
}
