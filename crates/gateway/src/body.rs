//! The body every response and every proxied request goes through: boxed, with errors boxed.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;

/// Any error a body can end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A response's or a proxied request's body.
pub type Body = BoxBody<Bytes, BoxError>;

/// A request's body as the gateway holds it: still streaming from the client, or already read
/// whole (a SigV4-signed request whose body is part of what was signed).
pub(crate) enum InBody {
    /// Not read yet.
    Stream(hyper::body::Incoming),
    /// Read whole; taken on the first poll.
    Buffered(Option<Bytes>),
}

impl hyper::body::Body for InBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            InBody::Stream(s) => std::pin::Pin::new(s)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(BoxError::from))),
            InBody::Buffered(b) => {
                std::task::Poll::Ready(b.take().map(|b| Ok(hyper::body::Frame::data(b))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            InBody::Stream(s) => s.is_end_stream(),
            InBody::Buffered(b) => b.is_none(),
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            InBody::Stream(s) => s.size_hint(),
            InBody::Buffered(b) => {
                hyper::body::SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}
