//! parallax-aws: a live AWS account read through the official AWS SDK for Rust into snapshot
//! folders that the AWS CLI reader of `parallax-analyze` takes as they are.
//!
//! - [`connect`]: credentials and Region resolved as the AWS CLI resolves them (environment,
//!   shared files with a profile, SSO, web identity, ECS task role, IMDSv2, `AWS_ENDPOINT_URL`),
//!   over rustls with ring; the caller's identity; the Regions to read.
//! - [`collect`]: one account and Region read (paging, bounded concurrency, every call recorded).
//! - [`calls`]: how each call ended ([`calls::Failure`]) and what the SDK did (attempts,
//!   retries, throttled answers), counted by an interceptor.
//! - [`shapes`]: the SDK's answers in the AWS CLI's JSON output shapes.
//! - [`snapshot`]: the manifest, and writing a snapshot folder whole or not at all.
//! - [`org`]: every account of an organisation, through a role assumed in each.
//! - [`trail`]: CloudTrail LookupEvents over a window, in `aws cloudtrail lookup-events` shape.

pub mod calls;
pub mod collect;
pub mod connect;
pub mod org;
pub mod shapes;
pub mod snapshot;
pub mod trail;

pub use collect::{Fatal, Limits};
pub use snapshot::Snapshot;

/// Now, as RFC 3339 in UTC.
pub fn now() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// Reads one account: each Region of `conf`'s credentials. `regions` must not be empty.
pub async fn collect_account(
    conf: &aws_types::SdkConfig,
    regions: &[String],
    limits: Limits,
) -> Result<Vec<Snapshot>, Fatal> {
    let who = connect::identity(conf).await?;
    let mut out = Vec::new();
    for region in regions {
        let regional = connect::in_region(conf, region);
        let clients = collect::Clients::new(&regional);
        out.push(collect::region(clients, region, &who.account, &who.arn, limits).await?);
    }
    Ok(out)
}
