//! Certificates the lab makes: CAs (roots and intermediates), server certificates for every
//! served name, client certificates (including broken ones for tests: expired, from another
//! CA, too deep a chain). Nothing is written to disk unless asked (`--tls-dir`).

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot make the certificate for {what}: {source}")]
pub struct PkiError {
    /// What was being made.
    pub what: String,
    /// rcgen's error.
    pub source: rcgen::Error,
}

/// A certificate authority.
pub struct Ca {
    name: String,
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// The CAs above this one, nearest first (empty for a root).
    above: Vec<CertificateDer<'static>>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A certificate chain and its private key. `Debug` never shows the key.
pub struct Identity {
    /// Leaf first, then the intermediates up to (not including) the root.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivatePkcs8KeyDer<'static>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("chain_len", &self.chain.len())
            .field("key", &"***")
            .finish()
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// The key, as rustls takes it.
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }

    /// The chain as PEM, leaf first.
    pub fn chain_pem(&self) -> String {
        self.chain.iter().map(|c| pem("CERTIFICATE", c)).collect()
    }

    /// The leaf's serial number, as encoded.
    pub fn serial(&self) -> Vec<u8> {
        self.chain
            .first()
            .and_then(|c| x509_parser::parse_x509_certificate(c.as_ref()).ok())
            .map(|(_, c)| c.raw_serial().to_vec())
            .unwrap_or_default()
    }

    /// The private key in PEM. Secret: write it only to files the user asked for.
    pub fn key_pem(&self) -> String {
        pem("PRIVATE KEY", self.key.secret_pkcs8_der())
    }
}

/// What a leaf certificate is for, and how it may be broken on purpose.
#[derive(Clone, Debug, Default)]
pub struct LeafSpec {
    /// The certificate's common name.
    pub common_name: String,
    /// Its DNS names.
    pub dns_names: Vec<String>,
    /// Whether it may authenticate a client (clientAuth).
    pub client: bool,
    /// Whether it may authenticate a server (serverAuth).
    pub server: bool,
    /// Valid only in 2020: expired now.
    pub expired: bool,
    /// A defect on purpose, for tests of what a verifier must refuse.
    pub flaw: Option<LeafFlaw>,
}

/// Ways a leaf certificate breaks RFC 5280's rules for TLS client authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafFlaw {
    /// keyUsage keyEncipherment only: no digitalSignature.
    NoDigitalSignature,
    /// extendedKeyUsage serverAuth only.
    ServerAuthOnly,
    /// A critical extension no verifier knows (OID 1.3.6.1.4.1.55555.1).
    UnknownCriticalExtension,
    /// basicConstraints CA:TRUE on the leaf.
    CaAsLeaf,
}

impl Ca {
    /// A new self-signed root.
    pub fn root(name: &str) -> Result<Ca, PkiError> {
        let err = |source| PkiError {
            what: format!("CA {name}"),
            source,
        };
        let key = KeyPair::generate().map_err(err)?;
        let issuer = CertifiedIssuer::self_signed(ca_params(name), key).map_err(err)?;
        Ok(Ca {
            name: name.to_owned(),
            issuer,
            above: Vec::new(),
        })
    }

    /// A CA signed by this one.
    pub fn intermediate(&self, name: &str) -> Result<Ca, PkiError> {
        self.intermediate_with(name, true)
    }

    /// A CA signed by this one whose keyUsage lacks keyCertSign when `cert_sign` is false: a
    /// chain through it breaks RFC 5280 §4.2.1.3 (for tests).
    pub fn intermediate_with(&self, name: &str, cert_sign: bool) -> Result<Ca, PkiError> {
        let err = |source| PkiError {
            what: format!("CA {name}"),
            source,
        };
        let key = KeyPair::generate().map_err(err)?;
        let mut params = ca_params(name);
        if !cert_sign {
            params
                .key_usages
                .retain(|u| *u != KeyUsagePurpose::KeyCertSign);
        }
        let issuer = CertifiedIssuer::signed_by(params, key, &self.issuer).map_err(err)?;
        let mut above = vec![self.issuer.der().clone()];
        above.extend(self.above.iter().cloned());
        Ok(Ca {
            name: name.to_owned(),
            issuer,
            above,
        })
    }

    /// The CA's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This CA's own certificate.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// The CA's certificate as PEM.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A CRL signed by this CA that revokes the given serials (valid from 2025 to 2099).
    pub fn crl_pem(&self, revoked: &[Vec<u8>]) -> Result<String, PkiError> {
        let err = |source| PkiError {
            what: format!("the CRL of {}", self.name),
            source,
        };
        let params = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2025, 1, 1),
            next_update: rcgen::date_time_ymd(2099, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|s| rcgen::RevokedCertParams {
                    serial_number: SerialNumber::from_slice(s),
                    revocation_time: rcgen::date_time_ymd(2025, 6, 1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer).map_err(err)?;
        Ok(pem("X509 CRL", crl.der()))
    }

    /// A leaf signed by this CA; its chain carries this CA and those above it, without the root.
    pub fn issue(&self, spec: &LeafSpec) -> Result<Identity, PkiError> {
        let err = |source| PkiError {
            what: format!("{} (from {})", spec.common_name, self.name),
            source,
        };
        let mut params = CertificateParams::new(spec.dns_names.clone()).map_err(err)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, spec.common_name.clone());
        dn.push(DnType::OrganizationName, "parallax lab");
        params.distinguished_name = dn;
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if spec.server {
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ServerAuth);
        }
        if spec.client {
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ClientAuth);
        }
        if spec.expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 12, 31);
        }
        match spec.flaw {
            None => {}
            Some(LeafFlaw::NoDigitalSignature) => {
                params.key_usages = vec![KeyUsagePurpose::KeyEncipherment];
            }
            Some(LeafFlaw::ServerAuthOnly) => {
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            }
            Some(LeafFlaw::UnknownCriticalExtension) => {
                let mut ext = rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 4, 1, 55555, 1],
                    vec![0x05, 0x00],
                );
                ext.set_criticality(true);
                params.custom_extensions.push(ext);
            }
            Some(LeafFlaw::CaAsLeaf) => {
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            }
        }
        let key = KeyPair::generate().map_err(err)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(err)?;
        let mut chain = vec![cert.der().clone()];
        if !self.above.is_empty() {
            // An intermediate signed this leaf: send it and every CA above it but the root.
            chain.push(self.issuer.der().clone());
            chain.extend(self.above[..self.above.len() - 1].iter().cloned());
        }
        Ok(Identity {
            chain,
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }
}

/// A self-signed server certificate for `name` that is also a CA (basic constraints CA:TRUE),
/// as `openssl req -x509` makes by default: what people pass to `--cacert` and then wonder why
/// verification fails.
pub fn self_signed_ca_server(name: &str) -> Result<Identity, PkiError> {
    let err = |source| PkiError {
        what: format!("self-signed {name}"),
        source,
    };
    let mut params = ca_params(name);
    params.subject_alt_names = vec![rcgen::SanType::DnsName(
        name.to_owned().try_into().map_err(err)?,
    )];
    let key = KeyPair::generate().map_err(err)?;
    let cert = params.self_signed(&key).map_err(err)?;
    Ok(Identity {
        chain: vec![cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    })
}

fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn.push(DnType::OrganizationName, "parallax lab");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    p
}

fn random_serial() -> [u8; 16] {
    let mut s = [0u8; 16];
    // A failure of the system RNG leaves zeros; serials only need to differ, and the counter
    // below keeps them apart within one process.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut s);
    s[0] &= 0x7f; // positive
    s[0] |= 0x01; // and not zero-led
    s
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Standard base64 with padding.
pub(crate) fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn chains_carry_intermediates_but_not_the_root() {
        let root = Ca::root("root").unwrap();
        let leaf = root
            .issue(&LeafSpec {
                common_name: "a".into(),
                client: true,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(leaf.chain.len(), 1);
        let i1 = root.intermediate("i1").unwrap();
        let i2 = i1.intermediate("i2").unwrap();
        let deep = i2
            .issue(&LeafSpec {
                common_name: "b".into(),
                client: true,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(deep.chain.len(), 3, "leaf, i2, i1");
        assert!(deep.chain_pem().matches("BEGIN CERTIFICATE").count() == 3);
        assert!(format!("{deep:?}").contains("***"));
    }
}
