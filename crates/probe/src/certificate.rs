//! Certificates as the report shows them: subject, issuer, names, validity, and name matching.

use std::net::IpAddr;

use rustls::pki_types::CertificateDer;

use crate::observation::CertInfo;

/// One line about a certificate: subject, issuer, and whether it has expired.
pub fn describe_cert(der: &CertificateDer<'_>) -> String {
    let c = cert_info(der);
    let state = if c.days_left < 0 {
        "expired".to_owned()
    } else {
        format!("{} days left", c.days_left)
    };
    format!("{} issued by {} ({state})", c.subject, c.issuer)
}

/// What a certificate shows: subject, issuer, names, serial, validity and days left.
pub fn cert_info(der: &CertificateDer<'_>) -> CertInfo {
    match x509_parser::parse_x509_certificate(der.as_ref()) {
        Ok((_, c)) => {
            let san = c
                .subject_alternative_name()
                .ok()
                .flatten()
                .map(|ext| {
                    ext.value
                        .general_names
                        .iter()
                        .filter_map(|g| match g {
                            x509_parser::extensions::GeneralName::DNSName(n) => {
                                Some((*n).to_owned())
                            }
                            x509_parser::extensions::GeneralName::IPAddress(b) => {
                                ip_from(b).map(|ip| ip.to_string())
                            }
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let not_after = c.validity().not_after.timestamp();
            CertInfo {
                subject: c.subject().to_string(),
                issuer: c.issuer().to_string(),
                san,
                serial: c.raw_serial_as_string(),
                not_before: c.validity().not_before.to_string(),
                not_after: c.validity().not_after.to_string(),
                not_after_unix: Some(not_after),
                days_left: (not_after - now).div_euclid(86_400),
                fingerprint_sha256: fingerprint(der),
            }
        }
        Err(_) => CertInfo {
            subject: "(unparsable)".into(),
            issuer: String::new(),
            san: vec![],
            serial: String::new(),
            not_before: String::new(),
            not_after: String::new(),
            not_after_unix: None,
            days_left: 0,
            fingerprint_sha256: fingerprint(der),
        },
    }
}

/// SHA-256 of a certificate's DER, lower-case hex.
fn fingerprint(der: &CertificateDer<'_>) -> String {
    ring::digest::digest(&ring::digest::SHA256, der.as_ref())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn ip_from(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

/// A CA name from a CertificateRequest. rustls hands over the DER of the Name; some stacks
/// send it without the outer SEQUENCE, so both forms are tried.
pub(crate) fn dn_text(der: &[u8]) -> String {
    use x509_parser::prelude::FromDer;
    if let Ok((_, n)) = x509_parser::x509::X509Name::from_der(der) {
        return n.to_string();
    }
    let len = der.len();
    let mut wrapped = vec![0x30];
    match len {
        0..=127 => wrapped.push(len as u8),
        128..=255 => wrapped.extend([0x81, len as u8]),
        _ => wrapped.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    wrapped.extend_from_slice(der);
    match x509_parser::x509::X509Name::from_der(&wrapped) {
        Ok((_, n)) => n.to_string(),
        Err(_) => format!("(undecodable name, {len} bytes)"),
    }
}

/// Certificate name matching, with a single leftmost `*` label.
pub fn name_matches(pattern: &str, host: &str) -> bool {
    let (p, h) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    match p.strip_prefix("*.") {
        Some(rest) => h
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => p == h,
    }
}
