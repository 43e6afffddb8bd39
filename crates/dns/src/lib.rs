//! parallax-dns: the split-horizon resolver. One view per VPC (that VPC's Route 53 Resolver)
//! and one for the internet, each on its own UDP and TCP listener.
//!
//! - [`view`]: what a view answers, by the precedence of reference §2: `parallax-rules`'s
//!   resolver, re-exported.
//! - [`server`]: listeners, hickory-server request handling, live view swaps.
//! - `tcp`, `udp`, `wire`: the listeners' loops (a connection cap and idle timeout for TCP;
//!   answers in place for UDP) around hickory-server's request handling.
//! - [`client`]: asking one server for a name, reduced to a `DnsOutcome`.
//! - [`forward`]: sending a query on to a resolver rule's targets or an upstream.
//! - [`rate_limit`]: the per-client token bucket.

pub mod client;
pub mod forward;
pub mod rate_limit;
pub mod server;
mod tcp;
mod udp;
pub use parallax_rules::resolver as view;
mod wire;

pub use parallax_model::Rcode;
pub use rate_limit::RateLimit;
pub use server::{Listening, Resolver, ResolverConfig};
pub use view::{Answer, QType, View, ViewKind};

use std::net::SocketAddr;

/// Errors of the resolver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why it could not be bound (in the message, so not also a source: said once).
        error: std::io::Error,
    },
    /// `--listen` named a view the topology does not have.
    #[error("no view named `{view}` (views: {known})")]
    UnknownView {
        /// The view asked for.
        view: String,
        /// The views the topology has.
        known: String,
    },
}
