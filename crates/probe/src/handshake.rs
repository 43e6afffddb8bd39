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
use crate::observation::TlsLayer;
use crate::options::ProbeOptions;

/// What the verifier and the client-certificate resolver saw during the handshake.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    verify_error: Mutex<Option<rustls::Error>>,
    requested: Mutex<Option<Vec<String>>>,
    sent: Mutex<bool>,
}

impl Recorder {
    pub(crate) fn fill(&self, tls: &mut TlsLayer, host: &str) {
        let chain = self.chain.lock().map(|c| c.clone()).unwrap_or_default();
        tls.chain = chain.iter().map(|c| cert_info(c)).collect();
        let err = self.verify_error.lock().ok().and_then(|e| e.clone());
        tls.verified = err.is_none() && !chain.is_empty();
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
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Ok(v) => Ok(v),
            Err(e) => {
                if let Ok(mut slot) = self.recorder.verify_error.lock() {
                    *slot = Some(e.clone());
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

pub(crate) fn client_config(
    opts: &ProbeOptions,
    recorder: Arc<Recorder>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    match &opts.ca {
        Some(ca) => {
            roots.add_parsable_certificates(ca.iter().cloned());
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("trust roots: {e}"))?;
    let verifier = Arc::new(RecordingVerifier {
        inner,
        recorder: recorder.clone(),
        accept_invalid: opts.danger_accept_invalid_certs,
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
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(RecordingClientCert { key, recorder }));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
