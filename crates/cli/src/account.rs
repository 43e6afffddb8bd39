//! The live account: `parallax collect`, `parallax analyze --aws`, and `parallax changes
//! --cloudtrail aws`, over `parallax-aws`. Words for the user are made here; the library gives
//! values.

use std::path::Path;
use std::process::ExitCode;

use parallax_aws::{Fatal, Snapshot};
use serde_json::Value;

use crate::args::{AwsArgs, ChangesArgs, CollectArgs};

/// Snapshots read, and the accounts of an organisation that could not be.
type Read = (Vec<Snapshot>, Vec<Value>);

async fn read(aws: &AwsArgs, role_name: Option<&str>) -> Result<Read, Fatal> {
    let access = aws.access();
    let conf = parallax_aws::connect::config(&access).await;
    let regions = parallax_aws::connect::regions(&conf, &access).await?;
    match role_name {
        Some(role) => {
            let me = parallax_aws::connect::identity(&conf).await?;
            let partition = me.arn.split(':').nth(1).unwrap_or("aws").to_owned();
            let ids = parallax_aws::org::accounts(&conf).await?;
            Ok(
                parallax_aws::org::collect(&conf, ids, role, &partition, &regions, aws.limits())
                    .await,
            )
        }
        None => Ok((
            parallax_aws::collect_account(&conf, &regions, aws.limits()).await?,
            Vec::new(),
        )),
    }
}

/// What each snapshot holds and what it could not read, one block per account and Region.
fn summary(snapshots: &[Snapshot], failed: &[Value]) -> String {
    let mut o = String::new();
    for s in snapshots {
        let m = &s.manifest;
        let pages: u32 = m.calls.iter().map(|c| c.pages).sum();
        let (retries, throttled) = m
            .requests
            .values()
            .fold((0, 0), |(r, t), q| (r + q.retries, t + q.throttled));
        let unanswered: Vec<_> = m.calls.iter().filter(|c| c.outcome != "ok").collect();
        o.push_str(&format!(
            "{} {}: {} calls, {pages} pages, {retries} retries ({throttled} throttled), {} not answered\n",
            m.account,
            m.region,
            m.calls.len(),
            unanswered.len()
        ));
        for c in unanswered {
            o.push_str(&format!(
                "  unknown: {} ({}) {}: {}\n",
                c.action,
                c.operation,
                c.outcome,
                c.message.as_deref().unwrap_or("")
            ));
        }
    }
    for f in failed {
        let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        o.push_str(&format!(
            "account {} not read: {}\n",
            s("account"),
            s("error")
        ));
    }
    o
}

/// `parallax collect`.
pub async fn collect(a: CollectArgs) -> anyhow::Result<ExitCode> {
    let role = if a.org { a.role_name.as_deref() } else { None };
    let (snapshots, failed) = match read(&a.aws, role).await {
        Ok(r) => r,
        Err(f) => {
            eprintln!("parallax collect: {f}");
            return Ok(ExitCode::from(2));
        }
    };
    if snapshots.is_empty() {
        eprint!("{}", summary(&snapshots, &failed));
        eprintln!("parallax collect: no account could be read; nothing written");
        return Ok(ExitCode::from(2));
    }
    if let Err(e) = parallax_aws::snapshot::write(&a.out, &snapshots, &failed) {
        eprintln!("parallax collect: {e}");
        return Ok(ExitCode::from(2));
    }
    print!("{}", summary(&snapshots, &failed));
    println!("wrote {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Snapshots read in memory, through the same AWS CLI reader a snapshot folder goes through.
fn model_of(snapshots: &[Snapshot]) -> parallax_analyze::imported::Imported {
    let mut model = parallax_analyze::imported::Imported::default();
    for s in snapshots {
        model.extend(parallax_analyze::awscli::read(&s.responses()));
    }
    model
}

/// `parallax analyze --aws`: the account read in memory, through the same reader a snapshot
/// folder goes through. `Err` is the exit code after a failure was said.
pub fn imported(aws: &AwsArgs) -> Result<parallax_analyze::imported::Imported, ExitCode> {
    let runtime = crate::runtime().map_err(|e| {
        eprintln!("parallax: {e:#}");
        ExitCode::from(2)
    })?;
    let (snapshots, failed) = runtime.block_on(read(aws, None)).map_err(|f| {
        eprintln!("parallax analyze --aws: {f}");
        ExitCode::from(2)
    })?;
    let model = model_of(&snapshots);
    debug_assert!(failed.is_empty(), "only --org reports failed accounts");
    Ok(model)
}

/// A snapshot's manifests (one, or one per account and Region), as JSON.
fn manifests(dir: &Path) -> Vec<Value> {
    let read = |p: &Path| -> Option<Value> {
        let text = std::fs::read_to_string(p.join(parallax_aws::snapshot::MANIFEST)).ok()?;
        serde_json::from_str(&text).ok()
    };
    let Some(top) = read(dir) else {
        return Vec::new();
    };
    match top.get("snapshots").and_then(Value::as_array) {
        Some(listed) => listed
            .iter()
            .filter_map(|s| s.get("path").and_then(Value::as_str))
            .filter_map(|p| read(&dir.join(p)))
            .collect(),
        None => vec![top],
    }
}

/// `parallax changes --cloudtrail aws`: the events that can explain `report`'s changes, looked up
/// over the window between the snapshots. `Err` is the exit code after a failure was said.
pub fn trail_events(
    a: &ChangesArgs,
    report: &parallax_analyze::changes::Changes,
) -> Result<Vec<parallax_analyze::cloudtrail::Event>, ExitCode> {
    let (before, after) = (manifests(&a.before), manifests(&a.after));
    let field = |ms: &[Value], k: &str| -> Vec<String> {
        ms.iter()
            .filter_map(|m| m.get(k).and_then(Value::as_str).map(str::to_owned))
            .collect()
    };
    let start = field(&before, "started").into_iter().min();
    let end = field(&after, "finished").into_iter().max();
    let (Some(start), Some(end)) = (start, end) else {
        eprintln!(
            "--cloudtrail aws: {} and {} must both be snapshot folders written by `parallax collect` (their {} give the window to look up)",
            a.before.display(),
            a.after.display(),
            parallax_aws::snapshot::MANIFEST
        );
        return Err(ExitCode::from(2));
    };
    let mut regions = field(&after, "region");
    let runtime = crate::runtime().map_err(|e| {
        eprintln!("parallax: {e:#}");
        ExitCode::from(2)
    })?;
    runtime
        .block_on(events_for(
            report,
            a.profile.clone(),
            &mut regions,
            (&start, &end),
        ))
        .map_err(|why| {
            eprintln!("--cloudtrail aws: {why}");
            ExitCode::from(2)
        })
}

/// The CloudTrail events (LookupEvents, in `regions` and us-east-1, where Route 53's events
/// are) that can explain `report`'s changes, between `window`'s two times, oldest first.
async fn events_for(
    report: &parallax_analyze::changes::Changes,
    profile: Option<String>,
    regions: &mut Vec<String>,
    (start, end): (&str, &str),
) -> Result<Vec<parallax_analyze::cloudtrail::Event>, String> {
    let mut names: Vec<&str> = report
        .changes
        .iter()
        .flat_map(|c| {
            parallax_analyze::cloudtrail::calls_for(&c.change)
                .iter()
                .copied()
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    regions.push("us-east-1".to_owned());
    regions.sort();
    regions.dedup();
    let access = parallax_aws::connect::Access {
        profile,
        regions: regions.clone(),
        all_regions: false,
    };
    let conf = parallax_aws::connect::config(&access).await;
    let mut events = Vec::new();
    for region in regions.iter() {
        let found = parallax_aws::trail::lookup(&conf, region, &names, (start, end), 10_000)
            .await
            .map_err(|f| f.to_string())?;
        let origin = format!("cloudtrail:LookupEvents {region}");
        let mut e = parallax_analyze::cloudtrail::parse(&found.to_string(), Path::new(&origin))
            .map_err(|e| e.to_string())?;
        events.append(&mut e);
    }
    events.sort_by(|a, b| a.time.cmp(&b.time));
    Ok(events)
}

/// `parallax watch --aws`: the account read now and every snapshot interval; each read replaces
/// the topology the watch's diagnoses are read against, and what changed since the read before
/// is noted for the events (with its CloudTrail events where LookupEvents answers).
#[derive(Debug)]
pub struct Refresher {
    aws: AwsArgs,
    previous: Option<(parallax_analyze::imported::Imported, String)>,
}

impl Refresher {
    /// Nothing read yet.
    pub fn new(aws: AwsArgs) -> Refresher {
        Refresher {
            aws,
            previous: None,
        }
    }

    /// Reads the account once; a failure is said on standard error and the state keeps what
    /// it had. `Err` is the exit code for a first read that failed.
    pub async fn refresh(&mut self, state: &parallax_watch::State) -> Result<(), ExitCode> {
        let (snapshots, _) = read(&self.aws, None).await.map_err(|f| {
            eprintln!("parallax watch --aws: {f}");
            ExitCode::from(2)
        })?;
        let model = model_of(&snapshots);
        let started = snapshots
            .iter()
            .map(|s| s.manifest.started.clone())
            .min()
            .unwrap_or_else(parallax_aws::now);
        let (topology, _) = parallax_analyze::runnable::topology(&model);
        state.set_topology(topology);
        if let Some((before, since)) = &self.previous {
            let mut report = parallax_analyze::changes::Changes::between(before, &model);
            if !report.changes.is_empty() {
                let mut regions: Vec<String> = snapshots
                    .iter()
                    .map(|s| s.manifest.region.clone())
                    .collect();
                let until = parallax_aws::now();
                match events_for(
                    &report,
                    self.aws.profile.clone(),
                    &mut regions,
                    (since, &until),
                )
                .await
                {
                    Ok(events) => report.attribute(&events),
                    Err(why) => eprintln!("parallax watch --aws: CloudTrail not read: {why}"),
                }
                for c in &report.changes {
                    if let Ok(v) = serde_json::to_value(c) {
                        state.note(v);
                    }
                }
            }
        }
        self.previous = Some((model, started));
        Ok(())
    }

    /// Reads the account every `every` until `stop` turns true.
    pub async fn run(
        mut self,
        every: std::time::Duration,
        state: std::sync::Arc<parallax_watch::State>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            // A failed read was said; the last topology stays.
            let _ = self.refresh(&state).await;
        }
    }
}
