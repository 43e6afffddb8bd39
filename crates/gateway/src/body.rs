//! The body every response and every proxied request goes through: boxed, with errors boxed.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;

/// Any error a body can end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A response's or a proxied request's body.
pub type Body = BoxBody<Bytes, BoxError>;
