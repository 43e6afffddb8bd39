//! Every account of an AWS Organization: listed through Organizations, each read through a role
//! assumed in it (STS AssumeRole), a few at a time; an account that fails is reported and the
//! others go on.

use std::sync::Arc;

use aws_credential_types::provider::SharedCredentialsProvider;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::calls::{Attempts, failure};
use crate::collect::{Fatal, Limits};
use crate::snapshot::Snapshot;

/// Accounts read at once.
const ACCOUNTS_AT_ONCE: usize = 4;

/// The organisation's active account ids (Organizations ListAccounts, paged).
pub async fn accounts(conf: &aws_types::SdkConfig) -> Result<Vec<String>, Fatal> {
    let attempts = Attempts::default();
    let client = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(conf)
            .interceptor(attempts.clone())
            .build(),
    );
    const OP: &str = "organizations:ListAccounts";
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10_000 {
        let out = client
            .list_accounts()
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| Fatal::call(OP, &attempts, failure(&e)))?;
        for a in out.accounts() {
            let active = a
                .state()
                .map(|s| s.as_str() == "ACTIVE")
                .or_else(|| a.status().map(|s| s.as_str() == "ACTIVE"))
                .unwrap_or(true);
            if active && let Some(id) = a.id() {
                ids.push(id.to_owned());
            }
        }
        match out.next_token() {
            Some(next) if token.as_deref() != Some(next) => token = Some(next.to_owned()),
            _ => break,
        }
    }
    ids.sort();
    Ok(ids)
}

/// Reads each account in `ids` through `role_name` in it; gives the snapshots and, for each
/// account that failed, `{"account", "error"}`.
pub async fn collect(
    conf: &aws_types::SdkConfig,
    ids: Vec<String>,
    role_name: &str,
    partition: &str,
    regions: &[String],
    limits: Limits,
) -> (Vec<Snapshot>, Vec<Value>) {
    let semaphore = Arc::new(Semaphore::new(ACCOUNTS_AT_ONCE));
    let mut set = JoinSet::new();
    for id in ids {
        let role = format!("arn:{partition}:iam::{id}:role/{role_name}");
        let (conf, regions, semaphore) = (conf.clone(), regions.to_vec(), semaphore.clone());
        set.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let provider = aws_config::sts::AssumeRoleProvider::builder(role.clone())
                .session_name("parallax-collect")
                .configure(&conf)
                .build()
                .await;
            let assumed = conf
                .to_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build();
            let result = crate::collect_account(&assumed, &regions, limits).await;
            (id, role, result)
        });
    }
    let (mut snapshots, mut failed) = (Vec::new(), Vec::new());
    while let Some(done) = set.join_next().await {
        match done {
            Ok((_, _, Ok(mut s))) => snapshots.append(&mut s),
            Ok((id, role, Err(e))) => failed.push(json!({
                "account": id,
                "role": role,
                "error": e.to_string(),
            })),
            Err(e) => failed.push(json!({ "account": null, "error": e.to_string() })),
        }
    }
    snapshots.sort_by(|a, b| {
        (&a.manifest.account, &a.manifest.region).cmp(&(&b.manifest.account, &b.manifest.region))
    });
    (snapshots, failed)
}
