//! The SDK's configuration, resolved as the AWS CLI resolves it, and who it speaks as.

use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_types::SdkConfig;
use aws_types::region::Region;

use crate::calls::{Attempts, failure};
use crate::collect::Fatal;

/// Where credentials and Regions come from: the same chain as the AWS CLI's.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// `--profile`: a profile of the shared config and credentials files (else `AWS_PROFILE`,
    /// else `default`).
    pub profile: Option<String>,
    /// `--region`, repeated; none means the chain's Region (`AWS_REGION`, the profile's).
    pub regions: Vec<String>,
    /// `--all-regions`: every Region enabled for the account (EC2 DescribeRegions).
    pub all_regions: bool,
}

/// The SDK's configuration for `access`: credentials from the default chain (environment,
/// shared files, SSO, web identity, ECS container credentials, IMDSv2), the Region from
/// `--region` or the chain, endpoints from `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`,
/// retries from `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE` (the SDK's standard mode otherwise),
/// all over HTTPS with rustls and ring.
pub async fn config(access: &Access) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(p) = &access.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = access.regions.first() {
        loader = loader.region(Region::new(r.clone()));
    }
    loader.load().await
}

/// `conf` pointed at another Region.
pub fn in_region(conf: &SdkConfig, region: &str) -> SdkConfig {
    conf.to_builder()
        .region(Region::new(region.to_owned()))
        .build()
}

/// Who the credentials are.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The account id.
    pub account: String,
    /// The principal's ARN.
    pub arn: String,
}

/// STS GetCallerIdentity: the first call, so a missing credential or an unreachable endpoint
/// is said once, naming it, before anything else is tried. Every failure here is fatal.
pub async fn identity(conf: &SdkConfig) -> Result<Identity, Fatal> {
    if conf.region().is_none() {
        return Err(no_region());
    }
    let attempts = Attempts::default();
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(conf)
            .interceptor(attempts.clone())
            .build(),
    );
    const OP: &str = "sts:GetCallerIdentity";
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| Fatal::call(OP, &attempts, failure(&e)))?;
    Ok(Identity {
        account: out.account().unwrap_or_default().to_owned(),
        arn: out.arn().unwrap_or_default().to_owned(),
    })
}

fn no_region() -> Fatal {
    Fatal::before_calls(
        "no Region: give --region, or set AWS_REGION or the profile's region".to_owned(),
    )
}

/// The Regions to read: `--region` as given, every enabled Region with `--all-regions`
/// (EC2 DescribeRegions), else the chain's one.
pub async fn regions(conf: &SdkConfig, access: &Access) -> Result<Vec<String>, Fatal> {
    if access.all_regions {
        let attempts = Attempts::default();
        let ec2 = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(conf)
                .interceptor(attempts.clone())
                .build(),
        );
        const OP: &str = "ec2:DescribeRegions";
        let out = ec2
            .describe_regions()
            .send()
            .await
            .map_err(|e| Fatal::call(OP, &attempts, failure(&e)))?;
        let mut names: Vec<String> = out
            .regions()
            .iter()
            .filter_map(|r| r.region_name().map(str::to_owned))
            .collect();
        names.sort();
        return Ok(names);
    }
    if !access.regions.is_empty() {
        let mut names = access.regions.clone();
        names.dedup();
        return Ok(names);
    }
    match conf.region() {
        Some(r) => Ok(vec![r.to_string()]),
        None => Err(no_region()),
    }
}
