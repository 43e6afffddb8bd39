//! API Gateway's error types: the value of the `x-amzn-ErrorType` response header, held as a
//! type so that a verdict matches a variant rather than comparing text.
//!
//! The names are AWS's: the 403 Knowledge Center article maps messages to
//! `AccessDeniedException`, `MissingAuthenticationTokenException`, `InvalidSignatureException`
//! and `ForbiddenException`; the gateway-response table of the API Gateway Developer Guide gives
//! the others. A value parallax does not know is kept whole as [`ErrorType::Other`], so nothing
//! read from the wire is lost and nothing unknown is taken for a known type.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One `x-amzn-ErrorType` value, without its `:http://…` suffix.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// `AccessDeniedException`: a resource or VPC endpoint policy denied the call.
    AccessDenied,
    /// `ForbiddenException`: API Gateway's catch-all 403 (wrong front door, unknown stage,
    /// invalid API key, disabled default endpoint, client certificate refused).
    Forbidden,
    /// `MissingAuthenticationTokenException`: no route for the resource and method.
    MissingAuthenticationToken,
    /// `InvalidSignatureException`: a SigV4 signature that does not verify.
    InvalidSignature,
    /// `IncompleteSignatureException`: a SigV4 `Authorization` header that lacks parts.
    IncompleteSignature,
    /// `UnrecognizedClientException`: an access key no identity has.
    UnrecognizedClient,
    /// `UnauthorizedException`: an authorizer refused the caller (401).
    Unauthorized,
    /// `TooManyRequestsException`: a usage plan's or the account's throttle (429).
    TooManyRequests,
    /// `LimitExceededException`: a usage plan's quota is spent (429).
    LimitExceeded,
    /// `RequestTooLargeException`: the request body is over the payload limit (413).
    RequestTooLarge,
    /// `BadRequestException`: the request failed validation (400).
    BadRequest,
    /// `NotFoundException`: no such resource (404).
    NotFound,
    /// `InternalServerErrorException`: the integration failed or timed out (5xx).
    InternalServerError,
    /// A value parallax does not know, kept as it was seen.
    Other(String),
}

impl ErrorType {
    /// The type named by a header value: the part before the first `:` (API Gateway appends
    /// `:http://internal.amazon.com/coral/…` on some answers), matched exactly.
    pub fn from_header(value: &str) -> ErrorType {
        match value.split(':').next().unwrap_or(value) {
            "AccessDeniedException" => ErrorType::AccessDenied,
            "ForbiddenException" => ErrorType::Forbidden,
            "MissingAuthenticationTokenException" => ErrorType::MissingAuthenticationToken,
            "InvalidSignatureException" => ErrorType::InvalidSignature,
            "IncompleteSignatureException" => ErrorType::IncompleteSignature,
            "UnrecognizedClientException" => ErrorType::UnrecognizedClient,
            "UnauthorizedException" => ErrorType::Unauthorized,
            "TooManyRequestsException" => ErrorType::TooManyRequests,
            "LimitExceededException" => ErrorType::LimitExceeded,
            "RequestTooLargeException" => ErrorType::RequestTooLarge,
            "BadRequestException" => ErrorType::BadRequest,
            "NotFoundException" => ErrorType::NotFound,
            "InternalServerErrorException" => ErrorType::InternalServerError,
            other => ErrorType::Other(other.to_owned()),
        }
    }

    /// The name as it stands in the header and in parallax's JSON.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorType::Other(name) => name,
            known => known.known_name().unwrap_or_default(),
        }
    }

    /// The name of a type parallax knows, as a `&'static str` (for a header built without
    /// copying); `None` for [`ErrorType::Other`].
    pub fn known_name(&self) -> Option<&'static str> {
        Some(match self {
            ErrorType::AccessDenied => "AccessDeniedException",
            ErrorType::Forbidden => "ForbiddenException",
            ErrorType::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorType::InvalidSignature => "InvalidSignatureException",
            ErrorType::IncompleteSignature => "IncompleteSignatureException",
            ErrorType::UnrecognizedClient => "UnrecognizedClientException",
            ErrorType::Unauthorized => "UnauthorizedException",
            ErrorType::TooManyRequests => "TooManyRequestsException",
            ErrorType::LimitExceeded => "LimitExceededException",
            ErrorType::RequestTooLarge => "RequestTooLargeException",
            ErrorType::BadRequest => "BadRequestException",
            ErrorType::NotFound => "NotFoundException",
            ErrorType::InternalServerError => "InternalServerErrorException",
            ErrorType::Other(_) => return None,
        })
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ErrorType, D::Error> {
        let name = String::deserialize(d)?;
        Ok(ErrorType::from_header(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_variant_reads_back_from_its_name() {
        let known = [
            ErrorType::AccessDenied,
            ErrorType::Forbidden,
            ErrorType::MissingAuthenticationToken,
            ErrorType::InvalidSignature,
            ErrorType::IncompleteSignature,
            ErrorType::UnrecognizedClient,
            ErrorType::Unauthorized,
            ErrorType::TooManyRequests,
            ErrorType::LimitExceeded,
            ErrorType::RequestTooLarge,
            ErrorType::BadRequest,
            ErrorType::NotFound,
            ErrorType::InternalServerError,
        ];
        for t in known {
            assert!(t.as_str().ends_with("Exception"), "{t:?}");
            assert_eq!(ErrorType::from_header(t.as_str()), t);
        }
    }

    #[test]
    fn the_suffix_is_dropped_and_unknown_names_are_kept() {
        assert_eq!(
            ErrorType::from_header(
                "ForbiddenException:http://internal.amazon.com/coral/com.amazonaws.gateway/"
            ),
            ErrorType::Forbidden
        );
        let odd = ErrorType::from_header("ForbidenException");
        assert_eq!(odd, ErrorType::Other("ForbidenException".to_owned()));
        assert_eq!(odd.to_string(), "ForbidenException");
        // Case matters on the wire: API Gateway sends these names exactly.
        assert!(matches!(
            ErrorType::from_header("forbiddenexception"),
            ErrorType::Other(_)
        ));
    }

    #[test]
    fn json_carries_the_wire_name() {
        let json = serde_json::to_string(&ErrorType::LimitExceeded).unwrap_or_default();
        assert_eq!(json, r#""LimitExceededException""#);
        let back: ErrorType =
            serde_json::from_str(r#""AccessDeniedException""#).unwrap_or(ErrorType::Forbidden);
        assert_eq!(back, ErrorType::AccessDenied);
    }
}
