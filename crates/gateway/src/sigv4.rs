//! SigV4 verification of a request (methods with `AWS_IAM` authorization): the signature is
//! computed again with the aws-sigv4 crate from the request's own method, path, query, signed
//! headers, date and body, with the secret of the access key it names, and compared. What the
//! result means for the request is `parallax_rules::sigv4`'s and the decision's.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http::request::Parts;
use parallax_model::Topology;
use parallax_model::topology::Secret;
use parallax_rules::sigv4::{
    Incomplete, SKEW_SECONDS, SigFailure, Signature, amz_date, parse_authorization,
};

/// The identities' access keys: key id → (secret, ARN, account).
#[derive(Debug, Default)]
pub(crate) struct Keys {
    by_id: HashMap<String, (Secret, String, String)>,
    region: String,
}

impl Keys {
    /// The keys of a topology's IAM principals, for its Region.
    pub(crate) fn of(t: &Topology) -> Keys {
        Keys {
            by_id: t
                .iam_principals
                .iter()
                .map(|p| {
                    (
                        p.access_key_id.value.clone(),
                        (
                            p.secret_access_key.clone(),
                            p.arn.value.clone(),
                            p.account().to_owned(),
                        ),
                    )
                })
                .collect(),
            region: t.region.value.to_string(),
        }
    }

    /// Whether a request must be read whole before it is judged: it carries a SigV4
    /// `Authorization` header without `x-amz-content-sha256`, so the body is part of what is
    /// signed.
    pub(crate) fn needs_body(parts: &Parts) -> bool {
        parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("AWS4-HMAC-SHA256"))
            && !parts.headers.contains_key("x-amz-content-sha256")
    }

    /// What the request's signature says. `host` is the request's authority (Host, or
    /// HTTP/2's `:authority`); `body` is the whole body when [`Keys::needs_body`] said so.
    pub(crate) fn check(&self, parts: &Parts, host: &str, body: &[u8]) -> Signature {
        let Some(value) = parts.headers.get(http::header::AUTHORIZATION) else {
            return Signature::Unsigned;
        };
        let Ok(value) = value.to_str() else {
            return Signature::Failed(SigFailure::Incomplete(vec![Incomplete::Algorithm]));
        };
        let auth = match parse_authorization(value) {
            Ok(a) => a,
            Err(f) => return Signature::Failed(f),
        };
        let Some(date) = parts
            .headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        else {
            return Signature::Failed(SigFailure::Incomplete(vec![Incomplete::Date]));
        };
        if auth.region != self.region {
            return Signature::Failed(SigFailure::WrongRegion(auth.region));
        }
        if auth.service != "execute-api" {
            return Signature::Failed(SigFailure::WrongService(auth.service));
        }
        let Some((secret, arn, account)) = self.by_id.get(&auth.access_key_id) else {
            return Signature::Failed(SigFailure::UnknownKey);
        };
        let Some(signed_at) = amz_date(&date) else {
            return Signature::Failed(SigFailure::Incomplete(vec![Incomplete::Date]));
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if (now - signed_at).abs() > SKEW_SECONDS || !auth.date.eq(&date[..8]) {
            return Signature::Failed(SigFailure::Expired { signed: date });
        }
        // The signed headers, with the values the request carries (several joined by commas);
        // `x-amz-date` is added by the signer from the time.
        let mut headers: Vec<(String, String)> = Vec::new();
        for name in auth.signed_headers.iter().filter(|n| *n != "x-amz-date") {
            if name == "host" {
                headers.push(("host".to_owned(), host.to_owned()));
                continue;
            }
            let values: Vec<&str> = parts
                .headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if values.is_empty() {
                // A header listed as signed that the request does not carry cannot match.
                return Signature::Failed(SigFailure::Mismatch);
            }
            headers.push((name.clone(), values.join(",")));
        }
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let uri = format!("https://{host}{path_and_query}");
        let hash = parts
            .headers
            .get("x-amz-content-sha256")
            .and_then(|v| v.to_str().ok());
        let body = match hash {
            Some(h) => SignableBody::Precomputed(h.to_owned()),
            None => SignableBody::Bytes(body),
        };
        let time = UNIX_EPOCH + Duration::from_secs(signed_at.max(0) as u64);
        match signature_of(
            parts.method.as_str(),
            &uri,
            &headers,
            body,
            &auth.access_key_id,
            secret.expose(),
            &self.region,
            time,
        ) {
            Some(expected) if equal(expected.as_bytes(), auth.signature.as_bytes()) => {
                Signature::Valid {
                    arn: arn.clone(),
                    account: account.clone(),
                }
            }
            _ => Signature::Failed(SigFailure::Mismatch),
        }
    }
}

/// The SigV4 signature (hex) of a request, as AWS's signer computes it for execute-api;
/// `None` when the request cannot be put in canonical form (an unreadable URI or header).
#[allow(clippy::too_many_arguments)]
fn signature_of(
    method: &str,
    uri: &str,
    headers: &[(String, String)],
    body: SignableBody<'_>,
    key: &str,
    secret: &str,
    region: &str,
    time: SystemTime,
) -> Option<String> {
    let identity =
        aws_credential_types::Credentials::new(key, secret, None, None, "parallax").into();
    let mut settings = SigningSettings::default();
    // Every header the client listed is signed, whatever the SDKs leave out by default.
    settings.excluded_headers = None;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("execute-api")
        .time(time)
        .settings(settings)
        .build()
        .ok()?
        .into();
    let request = SignableRequest::new(
        method,
        uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        body,
    )
    .ok()?;
    let (_, signature) = sign(request, &params).ok()?.into_parts();
    Some(signature)
}

/// Equal byte strings, compared in time independent of where they differ.
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
