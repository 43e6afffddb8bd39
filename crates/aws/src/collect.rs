//! One account and Region read through the SDK into a [`Snapshot`]: every call's answer in the
//! AWS CLI's output shape under the CLI command's name, and a manifest of the calls.
//!
//! A call that is denied, throttled past the SDK's retries, or refused by the service is
//! recorded and the rest goes on (the reader says it as an unknown); a call that reaches
//! nothing, or cannot be sent at all, ends the collection with a [`Fatal`] naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use aws_sdk_ec2::types::VpcAttributeName;
use aws_sdk_route53::types::{RrType, VpcRegion};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::calls::{Attempts, Call, Failure, failure};
use crate::shapes;
use crate::snapshot::{Manifest, Snapshot};

/// The service clients of one account and Region, each counting its attempts.
#[derive(Clone, Debug)]
pub struct Clients {
    ec2: aws_sdk_ec2::Client,
    route53: aws_sdk_route53::Client,
    resolver: aws_sdk_route53resolver::Client,
    profiles: aws_sdk_route53profiles::Client,
    apigateway: aws_sdk_apigateway::Client,
    apigatewayv2: aws_sdk_apigatewayv2::Client,
    /// The counts every client adds to.
    pub attempts: Attempts,
}

impl Clients {
    /// Clients for `conf` (its Region, credentials, endpoint and retry settings).
    pub fn new(conf: &aws_types::SdkConfig) -> Clients {
        let attempts = Attempts::default();
        macro_rules! client {
            ($krate:ident) => {
                $krate::Client::from_conf(
                    $krate::config::Builder::from(conf)
                        .interceptor(attempts.clone())
                        .build(),
                )
            };
        }
        Clients {
            ec2: client!(aws_sdk_ec2),
            route53: client!(aws_sdk_route53),
            resolver: client!(aws_sdk_route53resolver),
            profiles: client!(aws_sdk_route53profiles),
            apigateway: client!(aws_sdk_apigateway),
            apigatewayv2: client!(aws_sdk_apigatewayv2),
            attempts,
        }
    }
}

/// Bounds on what one collection holds and does at once.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Calls in flight at once (API Gateway's read limits are low: a few per second).
    pub concurrency: usize,
    /// Items kept from one listing; past it, the listing stops and says so.
    pub max_items: usize,
    /// Pages read from one listing.
    pub max_pages: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            concurrency: 4,
            max_items: 100_000,
            max_pages: 10_000,
        }
    }
}

/// A failure that ends the collection: the call, where it went, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fatal {
    /// The call (`ec2:DescribeVpcs`).
    pub operation: String,
    /// The IAM action it needs.
    pub action: String,
    /// The endpoint it was sent to, when it was sent.
    pub address: Option<String>,
    /// How it failed.
    pub failure: Box<Failure>,
}

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.operation.is_empty() {
            f.write_str(&self.operation)?;
            if let Some(a) = &self.address {
                write!(f, " to {a}")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.failure.words())
    }
}

impl std::error::Error for Fatal {}

impl Fatal {
    /// A call that failed in a way that ends the run, with where `attempts` saw it sent.
    pub fn call(operation: &str, attempts: &Attempts, f: Failure) -> Fatal {
        Fatal {
            action: crate::calls::iam_action(operation),
            operation: operation.to_owned(),
            address: attempts.address_of(operation),
            failure: Box::new(f),
        }
    }

    /// A failure before any call (no Region, a task that ended abnormally).
    pub fn before_calls(why: String) -> Fatal {
        Fatal {
            operation: String::new(),
            action: String::new(),
            address: None,
            failure: Box::new(Failure::Client { why }),
        }
    }
}

/// One paged listing through [`Run::list`]: `$request` builds the call from the client `$c`
/// and the page token `$token` (the token's setter named in it); the answer's `$items` are
/// written with `$shape`, and `$next` is the next token.
macro_rules! paged {
    ($run:expr, $op:expr, $file:expr, $key:expr, $client:expr,
     |$c:ident, $token:ident| $request:expr, $items:ident => $shape:path, $next:ident) => {
        $run.list(
            $op,
            $file,
            $key,
            pages($run.limits, |$token: Option<String>| {
                let $c = $client.clone();
                let request = $request;
                async move {
                    let out = request.send().await.map_err(|e| failure(&e))?;
                    Ok((
                        out.$items().iter().map($shape).collect(),
                        out.$next().map(str::to_owned),
                    ))
                }
            }),
        )
    };
}

/// A listing's items with the pages it took, or how it failed.
type Listed = Result<(Vec<Value>, u32, bool), Failure>;

/// Reads every page of a listing: `fetch(token)` gives one page's items and the next token.
/// Stops at the item and page bounds (the third value says it stopped early) and when a
/// service gives the same token twice.
async fn pages<K, F, Fut>(limits: Limits, mut fetch: F) -> Listed
where
    K: Clone + PartialEq,
    F: FnMut(Option<K>) -> Fut,
    Fut: Future<Output = Result<(Vec<Value>, Option<K>), Failure>>,
{
    let mut items = Vec::new();
    let mut token: Option<K> = None;
    let mut n = 0u32;
    loop {
        let (mut page, next) = fetch(token.clone()).await?;
        n += 1;
        items.append(&mut page);
        if items.len() > limits.max_items || n >= limits.max_pages {
            items.truncate(limits.max_items);
            return Ok((items, n, next.is_some()));
        }
        match next {
            Some(next) if token.as_ref() != Some(&next) => token = Some(next),
            _ => return Ok((items, n, false)),
        }
    }
}

/// The collection of one account and Region under way.
#[derive(Debug)]
struct Run {
    clients: Clients,
    region: String,
    limits: Limits,
    calls: Mutex<Vec<Call>>,
    files: Mutex<BTreeMap<String, Value>>,
    progress: Option<String>,
    semaphore: Arc<Semaphore>,
}

impl Run {
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs one listing, keeps its answer as `file` under `key`, and records the call.
    /// Gives the items when it answered; `Err` only for a failure that ends the collection.
    async fn list<Fut>(
        &self,
        action: &str,
        file: String,
        key: &str,
        listing: Fut,
    ) -> Result<Option<Vec<Value>>, Fatal>
    where
        Fut: Future<Output = Listed>,
    {
        let permit = self.semaphore.acquire().await;
        let result = listing.await;
        drop(permit);
        match result {
            Ok((items, pages, stopped)) => {
                Run::lock(&self.files).insert(file.clone(), json!({ key: items.clone() }));
                self.record(Call {
                    operation: action.to_owned(),
                    action: crate::calls::iam_action(action),
                    file,
                    pages,
                    outcome: if stopped { "truncated" } else { "ok" },
                    code: None,
                    message: stopped.then(|| {
                        format!(
                            "stopped after {} items in {pages} pages (the collection's bound)",
                            items.len()
                        )
                    }),
                });
                Ok(Some(items))
            }
            Err(f) => self.failed(action, file, f).map(|()| None),
        }
    }

    /// Runs one call whose answer is a single object, kept as `file`.
    async fn one<Fut>(&self, action: &str, file: String, call: Fut) -> Result<Option<Value>, Fatal>
    where
        Fut: Future<Output = Result<Value, Failure>>,
    {
        let permit = self.semaphore.acquire().await;
        let result = call.await;
        drop(permit);
        match result {
            Ok(v) => {
                Run::lock(&self.files).insert(file.clone(), v.clone());
                self.record(Call {
                    operation: action.to_owned(),
                    action: crate::calls::iam_action(action),
                    file,
                    pages: 1,
                    outcome: "ok",
                    code: None,
                    message: None,
                });
                Ok(Some(v))
            }
            Err(f) => self.failed(action, file, f).map(|()| None),
        }
    }

    fn failed(&self, action: &str, file: String, f: Failure) -> Result<(), Fatal> {
        if f.is_fatal() {
            return Err(Fatal::call(action, &self.clients.attempts, f));
        }
        self.record(Call {
            operation: action.to_owned(),
            action: crate::calls::iam_action(action),
            file,
            pages: 0,
            outcome: f.outcome(),
            code: f.code().map(str::to_owned),
            message: Some(f.words()),
        });
        Ok(())
    }

    fn record(&self, call: Call) {
        let n = {
            let mut calls = Run::lock(&self.calls);
            calls.push(call);
            calls.len()
        };
        if let Some(what) = &self.progress {
            eprint!("\r{what}: {n} calls");
        }
    }
}

/// Runs `work` for each item with the collection's concurrency; the first fatal failure wins.
async fn each<T, F, Fut>(run: &Arc<Run>, items: Vec<T>, work: F) -> Result<(), Fatal>
where
    T: Send + 'static,
    F: Fn(Arc<Run>, T) -> Fut,
    Fut: Future<Output = Result<(), Fatal>> + Send + 'static,
{
    let mut set = JoinSet::new();
    for item in items {
        set.spawn(work(run.clone(), item));
    }
    let mut first = Ok(());
    while let Some(done) = set.join_next().await {
        let result = done.unwrap_or_else(|e| {
            Err(Fatal::before_calls(format!(
                "a collection task ended abnormally: {e}"
            )))
        });
        if first.is_ok() && result.is_err() {
            first = result;
            set.abort_all();
        }
    }
    first
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Reads one account's Region. `account` and `principal` come from the caller (STS).
pub async fn region(
    clients: Clients,
    region: &str,
    account: &str,
    principal: &str,
    limits: Limits,
) -> Result<Snapshot, Fatal> {
    let started = crate::now();
    let progress = std::io::stderr()
        .is_terminal()
        .then(|| format!("collect {account} {region}"));
    let run = Arc::new(Run {
        clients,
        region: region.to_owned(),
        limits,
        calls: Mutex::new(Vec::new()),
        files: Mutex::new(BTreeMap::new()),
        progress,
        semaphore: Arc::new(Semaphore::new(limits.concurrency.max(1))),
    });
    let vpcs = ec2(&run).await?;
    route53(&run, &vpcs).await?;
    rest_apis(&run).await?;
    domains(&run).await?;
    usage_plans(&run).await?;
    apis_v2(&run).await?;
    if run.progress.is_some() {
        eprintln!();
    }
    let Ok(run) = Arc::try_unwrap(run) else {
        unreachable!("every task holding the run has ended")
    };
    let mut calls = run
        .calls
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    calls.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(Snapshot {
        manifest: Manifest {
            schema: crate::snapshot::SCHEMA.to_owned(),
            tool: format!("parallax {}", env!("CARGO_PKG_VERSION")),
            account: account.to_owned(),
            region: region.to_owned(),
            principal: principal.to_owned(),
            started,
            finished: crate::now(),
            calls,
            requests: run.clients.attempts.by_action(),
        },
        files: run
            .files
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    })
}

/// VPCs with their DNS attributes, subnets, endpoints and their network interfaces. Gives the
/// VPC ids.
async fn ec2(run: &Arc<Run>) -> Result<Vec<String>, Fatal> {
    let ec2 = &run.clients.ec2;
    let vpcs = paged!(run, "ec2:DescribeVpcs", "ec2-describe-vpcs.json".into(), "Vpcs", ec2,
        |c, token| c.describe_vpcs().set_next_token(token), vpcs => shapes::vpc, next_token)
    .await?
    .unwrap_or_default();
    let ids: Vec<String> = vpcs.iter().filter_map(|v| s(v, "VpcId")).collect();
    let attributes: Vec<(String, VpcAttributeName)> = ids
        .iter()
        .flat_map(|id| {
            [
                (id.clone(), VpcAttributeName::EnableDnsSupport),
                (id.clone(), VpcAttributeName::EnableDnsHostnames),
            ]
        })
        .collect();
    each(run, attributes, |run, (vpc, name)| async move {
        let c = run.clients.ec2.clone();
        let support = name == VpcAttributeName::EnableDnsSupport;
        let (attr, key) = if support {
            ("enableDnsSupport", "EnableDnsSupport")
        } else {
            ("enableDnsHostnames", "EnableDnsHostnames")
        };
        let file = format!("ec2-describe-vpc-attribute-{vpc}-{attr}.json");
        run.one("ec2:DescribeVpcAttribute", file, async move {
            let out = c
                .describe_vpc_attribute()
                .vpc_id(&vpc)
                .attribute(name)
                .send()
                .await
                .map_err(|e| failure(&e))?;
            let value = if support {
                out.enable_dns_support()
            } else {
                out.enable_dns_hostnames()
            }
            .and_then(|v| v.value());
            Ok(shapes::vpc_attribute(&vpc, key, value))
        })
        .await
        .map(drop)
    })
    .await?;
    paged!(run, "ec2:DescribeSubnets", "ec2-describe-subnets.json".into(), "Subnets", ec2,
        |c, token| c.describe_subnets().set_next_token(token), subnets => shapes::subnet, next_token)
    .await?;
    let endpoints = paged!(run, "ec2:DescribeVpcEndpoints", "ec2-describe-vpc-endpoints.json".into(), "VpcEndpoints", ec2,
        |c, token| c.describe_vpc_endpoints().set_next_token(token), vpc_endpoints => shapes::vpc_endpoint, next_token)
    .await?
    .unwrap_or_default();
    // The endpoints' network interfaces: the addresses their private DNS names answer with.
    let enis: Vec<String> = endpoints
        .iter()
        .filter_map(|e| e.get("NetworkInterfaceIds").and_then(Value::as_array))
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .collect();
    if !enis.is_empty() {
        run.list(
            "ec2:DescribeNetworkInterfaces",
            "ec2-describe-network-interfaces.json".into(),
            "NetworkInterfaces",
            pages(run.limits, |token: Option<usize>| {
                // At most 200 ids a call: the request stays small, each chunk is a page.
                const CHUNK: usize = 200;
                let start = token.unwrap_or(0);
                let chunk = enis[start..(start + CHUNK).min(enis.len())].to_vec();
                let next = (start + CHUNK < enis.len()).then_some(start + CHUNK);
                let request = ec2
                    .describe_network_interfaces()
                    .set_network_interface_ids(Some(chunk));
                async move {
                    let out = request.send().await.map_err(|e| failure(&e))?;
                    let found = out.network_interfaces().iter();
                    Ok((found.map(shapes::network_interface).collect(), next))
                }
            }),
        )
        .await?;
    }
    Ok(ids)
}

/// Zones by VPC, Resolver endpoints, rules and associations, Profiles and what they carry, and
/// each zone's records.
async fn route53(run: &Arc<Run>, vpcs: &[String]) -> Result<(), Fatal> {
    let zones: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let found = zones.clone();
    each(run, vpcs.to_vec(), move |run, vpc| {
        let found = found.clone();
        async move {
            let file = format!("route53-list-hosted-zones-by-vpc-{vpc}.json");
            let region = VpcRegion::from(run.region.as_str());
            let listed = paged!(run, "route53:ListHostedZonesByVPC", file, "HostedZoneSummaries", run.clients.route53,
                |c, token| c.list_hosted_zones_by_vpc().vpc_id(&vpc).vpc_region(region.clone()).set_next_token(token),
                hosted_zone_summaries => shapes::hosted_zone_summary, next_token)
            .await?;
            for z in listed.unwrap_or_default() {
                if let Some(id) = s(&z, "HostedZoneId") {
                    Run::lock(&found).insert(bare_zone_id(&id));
                }
            }
            Ok(())
        }
    })
    .await?;
    let r = &run.clients.resolver;
    paged!(run, "route53resolver:ListResolverEndpoints", "route53resolver-list-resolver-endpoints.json".into(), "ResolverEndpoints", r,
        |c, token| c.list_resolver_endpoints().set_next_token(token), resolver_endpoints => shapes::resolver_endpoint, next_token)
    .await?;
    paged!(run, "route53resolver:ListResolverRules", "route53resolver-list-resolver-rules.json".into(), "ResolverRules", r,
        |c, token| c.list_resolver_rules().set_next_token(token), resolver_rules => shapes::resolver_rule, next_token)
    .await?;
    paged!(run, "route53resolver:ListResolverRuleAssociations", "route53resolver-list-resolver-rule-associations.json".into(), "ResolverRuleAssociations", r,
        |c, token| c.list_resolver_rule_associations().set_next_token(token), resolver_rule_associations => shapes::resolver_rule_association, next_token)
    .await?;
    profiles(run, &zones).await?;
    let zones: Vec<String> = Run::lock(&zones).iter().cloned().collect();
    each(run, zones, |run, zone| async move {
        let c = run.clients.route53.clone();
        let request = c.get_hosted_zone().id(&zone);
        run.one(
            "route53:GetHostedZone",
            format!("route53-get-hosted-zone-{zone}.json"),
            async move {
                let out = request.send().await.map_err(|e| failure(&e))?;
                Ok(shapes::get_hosted_zone(&out))
            },
        )
        .await?;
        let file = format!("route53-list-resource-record-sets-{zone}.json");
        // Route 53 pages by the next record's name, type and identifier together.
        type Next = (String, Option<RrType>, Option<String>);
        run.list(
            "route53:ListResourceRecordSets",
            file,
            "ResourceRecordSets",
            pages(run.limits, |token: Option<Next>| {
                let (name, kind, identifier) = match token {
                    Some((n, k, i)) => (Some(n), k, i),
                    None => (None, None, None),
                };
                let request = c
                    .list_resource_record_sets()
                    .hosted_zone_id(&zone)
                    .set_start_record_name(name)
                    .set_start_record_type(kind)
                    .set_start_record_identifier(identifier);
                async move {
                    let out = request.send().await.map_err(|e| failure(&e))?;
                    let next = out.is_truncated().then(|| {
                        out.next_record_name().map(|n| {
                            (
                                n.to_owned(),
                                out.next_record_type().cloned(),
                                out.next_record_identifier().map(str::to_owned),
                            )
                        })
                    });
                    Ok((
                        out.resource_record_sets()
                            .iter()
                            .map(shapes::record_set)
                            .collect(),
                        next.flatten(),
                    ))
                }
            }),
        )
        .await
        .map(drop)
    })
    .await
}

/// `Z123`, from `/hostedzone/Z123` or `Z123`.
fn bare_zone_id(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_owned()
}

/// Route 53 Profiles, their VPC associations and resource associations; adds the zones the
/// profiles carry.
async fn profiles(run: &Arc<Run>, zones: &Arc<Mutex<BTreeSet<String>>>) -> Result<(), Fatal> {
    let p = &run.clients.profiles;
    let listed = paged!(run, "route53profiles:ListProfiles", "route53profiles-list-profiles.json".into(), "ProfileSummaries", p,
        |c, token| c.list_profiles().set_next_token(token), profile_summaries => shapes::profile_summary, next_token)
    .await?;
    paged!(run, "route53profiles:ListProfileAssociations", "route53profiles-list-profile-associations.json".into(), "ProfileAssociations", p,
        |c, token| c.list_profile_associations().set_next_token(token), profile_associations => shapes::profile_association, next_token)
    .await?;
    let ids: Vec<String> = listed
        .unwrap_or_default()
        .iter()
        .filter_map(|x| s(x, "Id"))
        .collect();
    let found = zones.clone();
    each(run, ids, move |run, profile| {
        let found = found.clone();
        async move {
            let file = format!("route53profiles-list-profile-resource-associations-{profile}.json");
            let listed = paged!(run, "route53profiles:ListProfileResourceAssociations", file, "ProfileResourceAssociations", run.clients.profiles,
                |c, token| c.list_profile_resource_associations().profile_id(&profile).set_next_token(token),
                profile_resource_associations => shapes::profile_resource_association, next_token)
            .await?;
            for a in listed.unwrap_or_default() {
                if let Some(arn) = s(&a, "ResourceArn")
                    && let Some(zone) = arn.strip_prefix("arn:aws:route53:::hostedzone/")
                {
                    Run::lock(&found).insert(zone.to_owned());
                }
            }
            Ok(())
        }
    })
    .await
}

/// REST APIs, each with its resources (methods embedded) and stages.
async fn rest_apis(run: &Arc<Run>) -> Result<(), Fatal> {
    let apis = paged!(run, "apigateway:GetRestApis", "apigateway-get-rest-apis.json".into(), "items", run.clients.apigateway,
        |c, token| c.get_rest_apis().set_position(token).limit(500), items => shapes::rest_api, position)
    .await?
    .unwrap_or_default();
    let ids: Vec<String> = apis.iter().filter_map(|a| s(a, "id")).collect();
    each(run, ids, |run, api| async move {
        let file = format!("apigateway-get-resources-{api}.json");
        paged!(run, "apigateway:GetResources", file, "items", run.clients.apigateway,
            |c, token| c.get_resources().rest_api_id(&api).embed("methods").limit(500).set_position(token),
            items => shapes::resource, position)
        .await?;
        let file = format!("apigateway-get-stages-{api}.json");
        let request = run.clients.apigateway.get_stages().rest_api_id(&api);
        run.list("apigateway:GetStages", file, "item", async move {
            let out = request.send().await.map_err(|e| failure(&e))?;
            Ok((out.item().iter().map(shapes::stage).collect(), 1, false))
        })
        .await
        .map(drop)
    })
    .await
}

/// Custom domain names (public and private), their base path mappings, and the access
/// associations of private ones.
async fn domains(run: &Arc<Run>) -> Result<(), Fatal> {
    let ag = &run.clients.apigateway;
    let domains = paged!(run, "apigateway:GetDomainNames", "apigateway-get-domain-names.json".into(), "items", ag,
        |c, token| c.get_domain_names().set_position(token).limit(500), items => shapes::domain_name, position)
    .await?
    .unwrap_or_default();
    let names: Vec<(String, Option<String>)> = domains
        .iter()
        .filter_map(|d| Some((s(d, "domainName")?, s(d, "domainNameId"))))
        .collect();
    each(run, names, |run, (name, id)| async move {
        // A private custom domain name is named by its name and id together.
        let file = match &id {
            Some(id) => format!("apigateway-get-base-path-mappings-{name}+{id}.json"),
            None => format!("apigateway-get-base-path-mappings-{name}.json"),
        };
        paged!(run, "apigateway:GetBasePathMappings", file, "items", run.clients.apigateway,
            |c, token| c.get_base_path_mappings().domain_name(&name).set_domain_name_id(id.clone()).set_position(token).limit(500),
            items => shapes::base_path_mapping, position)
        .await
        .map(drop)
    })
    .await?;
    paged!(run, "apigateway:GetDomainNameAccessAssociations", "apigateway-get-domain-name-access-associations.json".into(), "items", ag,
        |c, token| c.get_domain_name_access_associations().set_position(token).limit(500), items => shapes::access_association, position)
    .await
    .map(drop)
}

/// Usage plans and, for each, its keys by id.
async fn usage_plans(run: &Arc<Run>) -> Result<(), Fatal> {
    let plans = paged!(run, "apigateway:GetUsagePlans", "apigateway-get-usage-plans.json".into(), "items", run.clients.apigateway,
        |c, token| c.get_usage_plans().set_position(token).limit(500), items => shapes::usage_plan, position)
    .await?
    .unwrap_or_default();
    let ids: Vec<String> = plans.iter().filter_map(|p| s(p, "id")).collect();
    each(run, ids, |run, plan| async move {
        let file = format!("apigateway-get-usage-plan-keys-{plan}.json");
        paged!(run, "apigateway:GetUsagePlanKeys", file, "items", run.clients.apigateway,
            |c, token| c.get_usage_plan_keys().usage_plan_id(&plan).set_position(token).limit(500),
            items => shapes::usage_plan_key, position)
        .await
        .map(drop)
    })
    .await
}

/// HTTP and WebSocket APIs, their custom domain names and API mappings.
async fn apis_v2(run: &Arc<Run>) -> Result<(), Fatal> {
    let v2 = &run.clients.apigatewayv2;
    paged!(run, "apigatewayv2:GetApis", "apigatewayv2-get-apis.json".into(), "Items", v2,
        |c, token| c.get_apis().set_next_token(token).max_results("500"), items => shapes::api_v2, next_token)
    .await?;
    let domains = paged!(run, "apigatewayv2:GetDomainNames", "apigatewayv2-get-domain-names.json".into(), "Items", v2,
        |c, token| c.get_domain_names().set_next_token(token).max_results("500"), items => shapes::domain_name_v2, next_token)
    .await?
    .unwrap_or_default();
    let names: Vec<String> = domains.iter().filter_map(|d| s(d, "DomainName")).collect();
    each(run, names, |run, name| async move {
        let file = format!("apigatewayv2-get-api-mappings-{name}.json");
        paged!(run, "apigatewayv2:GetApiMappings", file, "Items", run.clients.apigatewayv2,
            |c, token| c.get_api_mappings().domain_name(&name).set_next_token(token).max_results("500"),
            items => shapes::api_mapping, next_token)
        .await
        .map(drop)
    })
    .await
}
