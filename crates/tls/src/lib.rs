//! parallax-tls: rustls's and webpki's certificate verification errors, sorted once into the
//! problems parallax reports. The gateway turns them into a client certificate's refusal
//! (`parallax_rules::refusal::CertRefusal`), the probe into a server certificate's problem;
//! both read the same classification, so a rustls or webpki error is never sorted twice, two
//! ways.

/// What is wrong with a certificate chain, as rustls and webpki say it. Not `non_exhaustive`:
/// a new problem must be placed by every `match` over it (the gateway's and the probe's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertProblem {
    /// Past its notAfter.
    Expired,
    /// Before its notBefore.
    NotValidYet,
    /// The chain does not lead to a trusted CA.
    UnknownIssuer,
    /// On a revocation list given to the verifier.
    Revoked,
    /// A signature in the chain does not verify.
    BadSignature,
    /// A signature algorithm, or a key for it, the verifier does not accept.
    UnsupportedAlgorithm,
    /// The extended key usage does not include the purpose asked for (clientAuth, serverAuth).
    WrongPurpose,
    /// The certificate does not name the host asked for.
    NameMismatch,
    /// A CA certificate (basic constraints CA:TRUE) used as the end entity.
    CaUsedAsEndEntity,
    /// An end-entity certificate in an issuer's place.
    EndEntityUsedAsCa,
    /// A CA's pathLenConstraint is exceeded.
    PathLength,
    /// A critical extension the verifier does not understand.
    UnsupportedCriticalExtension,
    /// More certificates above the leaf than the verifier follows.
    ChainTooDeep,
    /// Not parsable X.509 (or a malformed time in it).
    Malformed,
    /// Another verification failure, in rustls's or webpki's own words.
    Other(String),
}

impl CertProblem {
    /// The problem behind a rustls certificate error, looking into webpki's own error where
    /// rustls carries one as `Other`.
    pub fn of(c: &rustls::CertificateError) -> CertProblem {
        use rustls::CertificateError as C;
        match c {
            C::Expired | C::ExpiredContext { .. } => CertProblem::Expired,
            C::NotValidYet | C::NotValidYetContext { .. } => CertProblem::NotValidYet,
            C::UnknownIssuer => CertProblem::UnknownIssuer,
            C::Revoked => CertProblem::Revoked,
            C::BadSignature => CertProblem::BadSignature,
            C::UnsupportedSignatureAlgorithmContext { .. }
            | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                CertProblem::UnsupportedAlgorithm
            }
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => CertProblem::WrongPurpose,
            C::NotValidForName | C::NotValidForNameContext { .. } => CertProblem::NameMismatch,
            C::BadEncoding => CertProblem::Malformed,
            C::Other(o) => match o.0.downcast_ref::<webpki::Error>() {
                Some(e) => CertProblem::of_webpki(e, c),
                None => CertProblem::Other(words(c)),
            },
            other => CertProblem::Other(words(other)),
        }
    }

    /// The problem behind a rustls error: a certificate's, or the error's own words.
    pub fn of_rustls(e: &rustls::Error) -> CertProblem {
        match e {
            rustls::Error::InvalidCertificate(c) => CertProblem::of(c),
            other => CertProblem::Other(other.to_string()),
        }
    }

    fn of_webpki(e: &webpki::Error, c: &rustls::CertificateError) -> CertProblem {
        use webpki::Error as W;
        match e {
            W::CaUsedAsEndEntity => CertProblem::CaUsedAsEndEntity,
            W::EndEntityUsedAsCa => CertProblem::EndEntityUsedAsCa,
            W::PathLenConstraintViolated => CertProblem::PathLength,
            W::UnsupportedCriticalExtension => CertProblem::UnsupportedCriticalExtension,
            W::MaximumPathDepthExceeded => CertProblem::ChainTooDeep,
            W::UnsupportedSignatureAlgorithmContext(_)
            | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
                CertProblem::UnsupportedAlgorithm
            }
            W::BadDer | W::BadDerTime => CertProblem::Malformed,
            _ => CertProblem::Other(words(c)),
        }
    }
}

/// A certificate error in rustls's (or, where rustls carries one, webpki's) own words: what a
/// report says of a problem parallax does not tell apart.
pub fn words(c: &rustls::CertificateError) -> String {
    match c {
        rustls::CertificateError::Other(o) => o.to_string(),
        other => rustls::Error::InvalidCertificate(other.clone()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn rustls_errors_and_webpki_errors_inside_them_are_sorted() {
        use rustls::CertificateError as C;
        assert_eq!(CertProblem::of(&C::Expired), CertProblem::Expired);
        assert_eq!(
            CertProblem::of(&C::UnknownIssuer),
            CertProblem::UnknownIssuer
        );
        assert_eq!(
            CertProblem::of(&C::NotValidForName),
            CertProblem::NameMismatch
        );
        let inner = |e: webpki::Error| C::Other(rustls::OtherError(Arc::new(e)));
        assert_eq!(
            CertProblem::of(&inner(webpki::Error::CaUsedAsEndEntity)),
            CertProblem::CaUsedAsEndEntity
        );
        assert_eq!(
            CertProblem::of(&inner(webpki::Error::MaximumPathDepthExceeded)),
            CertProblem::ChainTooDeep
        );
        assert_eq!(
            CertProblem::of(&inner(webpki::Error::BadDerTime)),
            CertProblem::Malformed
        );
        assert!(matches!(
            CertProblem::of(&inner(webpki::Error::NameConstraintViolation)),
            CertProblem::Other(_)
        ));
        assert!(matches!(
            CertProblem::of_rustls(&rustls::Error::NoCertificatesPresented),
            CertProblem::Other(_)
        ));
    }
}
