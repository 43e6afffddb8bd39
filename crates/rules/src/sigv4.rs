//! SigV4 as API Gateway judges it for a method with `AWS_IAM` authorization: the
//! `Authorization` header read into its parts, and what a signature check can say. The
//! signature itself is computed where the bytes are (the gateway verifies with the aws-sigv4
//! crate, `predict` compares the credentials a request is signed with to the model's); this
//! module holds what both share.
//!
//! The answers (API Gateway Developer Guide, "Troubleshoot IAM authorization"; AWS General
//! Reference, "Signature Version 4 signing process" and its errors):
//! - no `Authorization` header (nor signed query): 403 MissingAuthenticationTokenException,
//!   `Missing Authentication Token`;
//! - a header without `Credential`, `SignedHeaders` or `Signature`, or no `X-Amz-Date`/`Date`:
//!   403 IncompleteSignatureException, naming what is missing;
//! - an access key nobody has: 403 UnrecognizedClientException, `The security token included
//!   in the request is invalid.`;
//! - a signature that does not match, a scope of another Region or service, or a date more
//!   than 5 minutes away (INFERRED window): 403 InvalidSignatureException.

use std::fmt;

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
/// Signature=…` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthHeader {
    /// The access key id.
    pub access_key_id: String,
    /// The scope's date, `YYYYMMDD`.
    pub date: String,
    /// The scope's Region.
    pub region: String,
    /// The scope's service (`execute-api`).
    pub service: String,
    /// The signed header names, lower case, as listed.
    pub signed_headers: Vec<String>,
    /// The signature, hex.
    pub signature: String,
}

/// Why a request's signature does not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigFailure {
    /// No `Authorization` header: the method needs one.
    Missing,
    /// The header lacks parts (each named), or the request lacks a date.
    Incomplete(Vec<Incomplete>),
    /// No identity has this access key.
    UnknownKey,
    /// The signature does not match the request.
    Mismatch,
    /// The credential scope names another Region.
    WrongRegion(String),
    /// The credential scope names another service.
    WrongService(String),
    /// The request's date is too far from now (`X-Amz-Date`, and the gateway's clock).
    Expired {
        /// The request's `X-Amz-Date`.
        signed: String,
    },
}

/// A part a SigV4 `Authorization` header (or request) must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incomplete {
    /// `Credential=AKID/DATE/REGION/SERVICE/aws4_request`.
    Credential,
    /// `SignedHeaders=a;b`.
    SignedHeaders,
    /// `Signature=HEX`.
    Signature,
    /// An `X-Amz-Date` or `Date` header.
    Date,
    /// The header is not `AWS4-HMAC-SHA256 …` at all.
    Algorithm,
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Incomplete::Credential => "Authorization header requires 'Credential' parameter.",
            Incomplete::SignedHeaders => {
                "Authorization header requires 'SignedHeaders' parameter."
            }
            Incomplete::Signature => "Authorization header requires 'Signature' parameter.",
            Incomplete::Date => {
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            }
            Incomplete::Algorithm => {
                "Authorization header requires the AWS4-HMAC-SHA256 algorithm."
            }
        })
    }
}

/// What the signature check of one request says.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Signature {
    /// No `Authorization` header.
    #[default]
    Unsigned,
    /// Signed, and the signature does not pass.
    Failed(SigFailure),
    /// Signed by this identity, and the signature verifies.
    Valid {
        /// The identity's ARN.
        arn: String,
        /// Its account.
        account: String,
    },
}

/// Reads an `Authorization` header value. Every missing part is named at once.
pub fn parse_authorization(value: &str) -> Result<AuthHeader, SigFailure> {
    let value = value.trim();
    let Some(rest) = value.strip_prefix("AWS4-HMAC-SHA256") else {
        return Err(SigFailure::Incomplete(vec![Incomplete::Algorithm]));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    let scope = credential.and_then(|c| {
        let parts: Vec<&str> = c.split('/').collect();
        match parts.as_slice() {
            [key, date, region, service, "aws4_request"]
                if !key.is_empty()
                    && date.len() == 8
                    && date.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Some((*key, *date, *region, *service))
            }
            _ => None,
        }
    });
    let mut missing = Vec::new();
    if scope.is_none() {
        missing.push(Incomplete::Credential);
    }
    if signed.is_none_or(str::is_empty) {
        missing.push(Incomplete::SignedHeaders);
    }
    if signature.is_none_or(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit())) {
        missing.push(Incomplete::Signature);
    }
    match (scope, signed, signature) {
        (Some((key, date, region, service)), Some(signed), Some(signature))
            if missing.is_empty() =>
        {
            Ok(AuthHeader {
                access_key_id: key.to_owned(),
                date: date.to_owned(),
                region: region.to_owned(),
                service: service.to_owned(),
                signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
                signature: signature.to_ascii_lowercase(),
            })
        }
        _ => Err(SigFailure::Incomplete(missing)),
    }
}

/// An `X-Amz-Date` value (`20261206T194500Z`) as seconds since the Unix epoch.
pub fn amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

/// How far a request's date may be from the gateway's clock: 5 minutes (INFERRED).
pub const SKEW_SECONDS: i64 = 300;

#[cfg(test)]
mod tests {
    use super::*;

    /// The header curl sends with `--aws-sigv4 aws:amz:us-east-1:execute-api` (curl's
    /// documentation of --aws-sigv4), and one missing parts.
    #[test]
    fn authorization_headers() {
        let h = parse_authorization("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261206/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7").expect("reads");
        assert_eq!(h.access_key_id, "AKIDEXAMPLE");
        assert_eq!(h.region, "us-east-1");
        assert_eq!(h.service, "execute-api");
        assert_eq!(h.signed_headers, vec!["host", "x-amz-date"]);
        assert_eq!(
            parse_authorization("AWS4-HMAC-SHA256 SignedHeaders=host"),
            Err(SigFailure::Incomplete(vec![
                Incomplete::Credential,
                Incomplete::Signature
            ]))
        );
        assert_eq!(
            parse_authorization("Bearer abc"),
            Err(SigFailure::Incomplete(vec![Incomplete::Algorithm]))
        );
        assert_eq!(amz_date("19700101T000000Z"), Some(0));
        assert_eq!(amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(amz_date("2015-08-30"), None);
    }
}
