//! A folder of AWS CLI JSON outputs into [`Imported`]. Collect it with:
//!
//! ```sh
//! aws ec2 describe-vpcs                          > describe-vpcs.json
//! aws ec2 describe-vpc-endpoints                 > describe-vpc-endpoints.json
//! aws apigateway get-rest-apis                   > get-rest-apis.json
//! aws apigateway get-domain-names                > get-domain-names.json
//! aws route53 list-hosted-zones-by-vpc --vpc-id VPC --vpc-region REGION > list-hosted-zones-by-vpc-VPC.json
//! aws route53 list-resource-record-sets --hosted-zone-id ZONE > list-resource-record-sets-ZONE.json
//! aws route53resolver list-resolver-rules        > list-resolver-rules.json
//! aws route53profiles list-profiles              > list-profiles.json
//! aws route53profiles list-profile-associations  > list-profile-associations.json
//! aws route53profiles list-profile-resource-associations --profile-id PROFILE > list-profile-resource-associations-PROFILE.json
//! aws route53 get-hosted-zone --id ZONE          > get-hosted-zone-ZONE.json
//! ```
//!
//! A zone that reaches VPCs only through a Route 53 Profile is not in
//! `list-hosted-zones-by-vpc`: its name comes from `get-hosted-zone-ZONE.json`, or from the SOA
//! record of `list-resource-record-sets-ZONE.json`.
//!
//! `list-hosted-zones-by-vpc` does not say which VPC it was asked about: the VPC id goes in the
//! file name (a plain `list-hosted-zones-by-vpc.json` is taken as the only VPC's of
//! `describe-vpcs.json`). Route 53 writes a wildcard record's `*` as `\052`.
//!
//! For PX008 (methods that require an API key), add the usage plans, each plan's keys and each
//! API's methods; without `get-usage-plans.json` nothing is said about keys:
//!
//! ```sh
//! aws apigateway get-usage-plans                                   > get-usage-plans.json
//! aws apigateway get-usage-plan-keys --usage-plan-id PLAN          > get-usage-plan-keys-PLAN.json
//! aws apigateway get-resources --rest-api-id API --embed methods   > get-resources-API.json
//! ```
//!
//! `describe-vpcs` does not report the DNS attributes; add `describe-vpc-attribute-VPCID-
//! enableDnsSupport.json` (and `…-enableDnsHostnames.json`) from `aws ec2 describe-vpc-attribute`
//! to have them checked.

use std::path::Path;

use serde_json::Value;

use crate::imported::{
    Api, ApiKind, Domain, Endpoint, Imported, KeyMethod, Loc, Ref, UsagePlan, Vpc,
};
use crate::terraform::to_json;
use crate::{input, source};

/// The outputs a folder is read for; a folder with none of them is an error, not a clean pass.
const KNOWN: &[&str] = &[
    "describe-vpcs.json",
    "describe-vpc-endpoints.json",
    "get-rest-apis.json",
    "get-domain-names.json",
    "list-hosted-zones-by-vpc.json",
    "list-hosted-zones-by-vpc-*.json",
    "list-resolver-rules.json",
    "get-usage-plans.json",
    "list-profile-associations.json",
];

/// Whether the folder holds any of the AWS CLI outputs this reads.
pub fn holds_outputs(dir: &Path) -> bool {
    KNOWN.iter().any(|n| input::present(&dir.join(n))) || !per_vpc_zone_files(dir).is_empty()
}

/// The files of a folder whose names start with `prefix` and end in `.json`, sorted:
/// (what is between, the path).
fn files_named(dir: &Path, prefix: &str) -> Vec<(String, std::path::PathBuf)> {
    let mut out: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let middle = name.strip_prefix(prefix)?.strip_suffix(".json")?.to_owned();
                    Some((middle, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// `list-hosted-zones-by-vpc-VPC.json` files: (the VPC id, the path).
fn per_vpc_zone_files(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    files_named(dir, "list-hosted-zones-by-vpc-")
}

pub fn import(dir: &Path, max_bytes: u64) -> Imported {
    let mut out = Imported::default();
    if !holds_outputs(dir) {
        out.errors.push((
            Loc {
                file: dir.display().to_string(),
                line: 0,
                resource: String::new(),
            },
            format!(
                "nothing analyze reads is in this folder: no CDK cloud assembly (manifest.json), no Terraform plan JSON beside .tf files, and no AWS CLI output (looked for {}); templates, plans and OpenAPI files are given by their file names",
                KNOWN.join(", ")
            ),
        ));
        return out;
    }
    // An output that is absent is simply not given; one that is there but cannot be read (a
    // dangling symlink, a loop, a directory, a FIFO, too large) is an error that names it.
    let text_of = |path: &Path, out: &mut Imported| -> Option<String> {
        if !input::present(path) {
            return None;
        }
        match input::read_text(path, max_bytes) {
            Ok(t) => Some(t),
            Err(e) => {
                out.errors.push((
                    Loc {
                        file: path.display().to_string(),
                        line: 0,
                        resource: String::new(),
                    },
                    e.to_string(),
                ));
                None
            }
        }
    };
    let read = |name: &str, out: &mut Imported| -> Option<(source::Node, String)> {
        let path = dir.join(name);
        let file = path.display().to_string();
        let text = text_of(&path, out)?;
        match source::parse(&text, &file) {
            Ok(n) => Some((n, file)),
            Err(e) => {
                out.errors.push((
                    Loc {
                        file,
                        line: e.line,
                        resource: String::new(),
                    },
                    e.message,
                ));
                None
            }
        }
    };
    if let Some((root, file)) = read("describe-vpcs.json", &mut out) {
        for v in items(&root, "Vpcs") {
            let j = to_json(v);
            let id = j
                .get("VpcId")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if out.account.is_none() {
                out.account = j
                    .get("OwnerId")
                    .and_then(Value::as_str)
                    .and_then(crate::imported::account_of);
            }
            let attr = |name: &str, out: &mut Imported| -> Option<bool> {
                let path = dir.join(format!("describe-vpc-attribute-{id}-{name}.json"));
                let text = text_of(&path, out)?;
                let j: Value = match serde_json::from_str(&text) {
                    Ok(j) => j,
                    Err(e) => {
                        out.errors.push((
                            Loc {
                                file: path.display().to_string(),
                                line: u32::try_from(e.line()).unwrap_or(u32::MAX),
                                resource: String::new(),
                            },
                            format!("not JSON: {e}"),
                        ));
                        return None;
                    }
                };
                let key = format!("{}{}", name[..1].to_ascii_uppercase(), &name[1..]);
                j.get(&key)?.get("Value")?.as_bool()
            };
            let dns_support = attr("enableDnsSupport", &mut out);
            let dns_hostnames = attr("enableDnsHostnames", &mut out);
            out.vpcs.push(Vpc {
                key: id.clone(),
                id: Some(id.clone()),
                dns_support,
                dns_hostnames,
                loc: Loc {
                    file: file.clone(),
                    line: v.line,
                    resource: id,
                },
            });
        }
    }
    if let Some((root, file)) = read("describe-vpc-endpoints.json", &mut out) {
        for e in items(&root, "VpcEndpoints") {
            let j = to_json(e);
            let s = |k: &str| j.get(k).and_then(Value::as_str).map(str::to_owned);
            let id = s("VpcEndpointId").unwrap_or_default();
            if out.region.is_none() {
                out.region = s("ServiceName").and_then(|n| crate::imported::region_of_service(&n));
            }
            out.endpoints.push(Endpoint {
                key: id.clone(),
                id: Some(id.clone()),
                vpc: s("VpcId").map_or(Ref::Unknown("no VpcId".into()), Ref::Id),
                service: s("ServiceName").map(|n| n.rsplit('.').next().unwrap_or(&n).to_owned()),
                // Gateway endpoints report PrivateDnsEnabled too; only Interface ones count.
                interface: Some(s("VpcEndpointType").as_deref() == Some("Interface")),
                private_dns: j.get("PrivateDnsEnabled").and_then(Value::as_bool),
                // describe-vpc-endpoints gives the policy as a JSON string.
                policy: s("PolicyDocument").and_then(|p| serde_json::from_str(&p).ok()),
                policy_unknown: s("PolicyDocument")
                    .is_some_and(|p| serde_json::from_str::<Value>(&p).is_err()),
                loc: Loc {
                    file: file.clone(),
                    line: e.line,
                    resource: id,
                },
            });
        }
    }
    if let Some((root, file)) = read("get-rest-apis.json", &mut out) {
        for a in items(&root, "items") {
            let j = to_json(a);
            let s = |k: &str| j.get(k).and_then(Value::as_str).map(str::to_owned);
            let id = s("id").unwrap_or_default();
            let conf = j.get("endpointConfiguration");
            let kind = ApiKind::of_configuration(conf);
            // get-rest-apis returns the policy as an escaped JSON string.
            let policy =
                s("policy").and_then(|p| serde_json::from_str(&p.replace("\\\"", "\"")).ok());
            let vpces = crate::imported::id_refs(conf.and_then(|c| c.get("vpcEndpointIds")));
            out.apis.push(Api {
                key: id.clone(),
                http: false,
                id: Some(id.clone()),
                name: s("name").unwrap_or_else(|| id.clone()),
                kind,
                policy,
                policy_unknown: false,
                vpc_endpoints: vpces,
                disable_default: j
                    .get("disableExecuteApiEndpoint")
                    .and_then(Value::as_bool)
                    .or(Some(false)),
                loc: Loc {
                    file: file.clone(),
                    line: a.line,
                    resource: id,
                },
            });
        }
    }
    if let Some((root, file)) = read("get-usage-plans.json", &mut out) {
        for p in items(&root, "items") {
            let j = to_json(p);
            let id = j.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
            let apis = j
                .get("apiStages")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|st| st.get("apiId").and_then(Value::as_str))
                        .map(|api| Ref::Id(api.to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            // Whether keys are attached is in a file per plan; without it, it is not known.
            let keys_file = format!("get-usage-plan-keys-{id}.json");
            match read(&keys_file, &mut out) {
                Some((keys, _)) if !items(&keys, "items").is_empty() => {
                    out.plan_keys.push(Ref::Id(id.clone()));
                }
                Some(_) => {}
                None => out
                    .plan_keys
                    .push(Ref::Unknown(format!("{keys_file} is missing"))),
            }
            out.usage_plans.push(UsagePlan {
                key: id.clone(),
                id: Some(id.clone()),
                apis,
                loc: Loc {
                    file: file.clone(),
                    line: p.line,
                    resource: id,
                },
            });
        }
        let api_ids: Vec<String> = out.apis.iter().filter_map(|a| a.id.clone()).collect();
        for api in api_ids {
            let Some((root, file)) = read(&format!("get-resources-{api}.json"), &mut out) else {
                continue;
            };
            for r in items(&root, "items") {
                let path = r
                    .get("path")
                    .and_then(source::Node::as_str)
                    .unwrap_or("")
                    .to_owned();
                for (verb, m) in r
                    .get("resourceMethods")
                    .map(source::Node::entries)
                    .unwrap_or_default()
                {
                    if to_json(m).get("apiKeyRequired").and_then(Value::as_bool) == Some(true) {
                        out.key_methods.push(KeyMethod {
                            api: Ref::Id(api.clone()),
                            loc: Loc {
                                file: file.clone(),
                                line: m.line,
                                resource: format!("{api} {verb} {path}"),
                            },
                        });
                    }
                }
            }
        }
    }
    if let Some((root, file)) = read("get-domain-names.json", &mut out) {
        for d in items(&root, "items") {
            let j = to_json(d);
            let name = j
                .get("domainName")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let kind = ApiKind::of_configuration(j.get("endpointConfiguration"));
            out.domains.push(Domain {
                key: name.clone().unwrap_or_default(),
                name: name.clone(),
                kind,
                mtls: j.get("mutualTlsAuthentication").is_some(),
                apis: Vec::new(),
                policy: None,
                policy_unknown: false,
                access: Vec::new(),
                loc: Loc {
                    file: file.clone(),
                    line: d.line,
                    resource: name.unwrap_or_default(),
                },
            });
        }
    }
    // Private zones by VPC, and their records.
    let mut by_vpc: Vec<(String, std::path::PathBuf)> = per_vpc_zone_files(dir);
    let plain = dir.join("list-hosted-zones-by-vpc.json");
    if input::present(&plain) {
        match out.vpcs.as_slice() {
            [only] => by_vpc.push((only.id.clone().unwrap_or_default(), plain)),
            _ => out.errors.push((
                Loc {
                    file: plain.display().to_string(),
                    line: 0,
                    resource: String::new(),
                },
                "list-hosted-zones-by-vpc does not say which VPC it lists: name the file list-hosted-zones-by-vpc-VPCID.json (describe-vpcs.json does not hold exactly one VPC)".to_owned(),
            )),
        }
    }
    for (vpc, path) in by_vpc {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((root, file)) = read(&name, &mut out) else {
            continue;
        };
        for z in items(&root, "HostedZoneSummaries") {
            let j = to_json(z);
            let id = j
                .get("HostedZoneId")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim_start_matches("/hostedzone/")
                .to_owned();
            let zone_name = j
                .get("Name")
                .and_then(Value::as_str)
                .map(|n| n.trim_end_matches('.').to_ascii_lowercase());
            match out.zones.iter_mut().find(|x| x.key == id) {
                Some(existing) => existing.vpcs.push(Ref::Id(vpc.clone())),
                None => out.zones.push(crate::imported::Zone {
                    key: id.clone(),
                    name: zone_name,
                    vpcs: vec![Ref::Id(vpc.clone())],
                    loc: Loc {
                        file: file.clone(),
                        line: z.line,
                        resource: id.clone(),
                    },
                }),
            }
        }
    }
    read_profiles(dir, &mut out, &read);
    let zone_ids: Vec<String> = out.zones.iter().map(|z| z.key.clone()).collect();
    for id in zone_ids {
        let Some((root, file)) = read(&format!("list-resource-record-sets-{id}.json"), &mut out)
        else {
            continue;
        };
        for r in items(&root, "ResourceRecordSets") {
            let j = to_json(r);
            let Some(name) = j.get("Name").and_then(Value::as_str) else {
                continue;
            };
            let (kind, values) = match j.get("AliasTarget").and_then(|a| a.get("DNSName")) {
                Some(target) => (
                    "ALIAS".to_owned(),
                    vec![target.as_str().unwrap_or_default().to_owned()],
                ),
                None => (
                    j.get("Type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    j.get("ResourceRecords")
                        .and_then(Value::as_array)
                        .map(|rs| {
                            rs.iter()
                                .filter_map(|v| v.get("Value").and_then(Value::as_str))
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
            };
            out.zone_records.push(crate::imported::ZoneRecord {
                zone: Ref::Key(id.clone()),
                name: crate::cfn::normalise_record_name(name),
                kind,
                values,
                loc: Loc {
                    file: file.clone(),
                    line: r.line,
                    resource: format!("{id} {name}"),
                },
            });
        }
    }
    // A zone known only from a profile: its name from get-hosted-zone, else its SOA record.
    for i in 0..out.zones.len() {
        if out.zones[i].name.is_some() {
            continue;
        }
        let id = out.zones[i].key.clone();
        let from_get =
            read(&format!("get-hosted-zone-{id}.json"), &mut out).and_then(|(root, _)| {
                to_json(&root)
                    .get("HostedZone")?
                    .get("Name")?
                    .as_str()
                    .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
            });
        let from_soa = || {
            out.zone_records
                .iter()
                .find(|r| r.kind == "SOA" && matches!(&r.zone, Ref::Key(k) if *k == id))
                .map(|r| r.name.trim_end_matches('.').to_ascii_lowercase())
        };
        let name = from_get.or_else(from_soa);
        if name.is_none() {
            let loc = out.zones[i].loc.clone();
            out.unknowns.push((
                loc,
                format!("the name of hosted zone {id}, carried by a Route 53 Profile, is not known: add get-hosted-zone-{id}.json or list-resource-record-sets-{id}.json"),
            ));
        }
        out.zones[i].name = name;
    }
    out
}

/// Reads one output of the folder by name: its tree and its path, or `None` (absent, or an
/// error recorded in the import).
type ReadOutput<'a> = dyn Fn(&str, &mut Imported) -> Option<(source::Node, String)> + 'a;

/// Route 53 Profiles: `list-profiles.json` (optional), `list-profile-associations.json`, and
/// `list-profile-resource-associations*.json` (each association names its profile).
fn read_profiles(dir: &Path, out: &mut Imported, read: &ReadOutput) {
    use crate::imported::{Profile, ProfileResource};
    let live = |j: &Value| {
        !matches!(
            j.get("Status").and_then(Value::as_str),
            Some("DELETING" | "DELETED" | "FAILED")
        )
    };
    let loc = |file: &str, line: u32, resource: &str| Loc {
        file: file.to_owned(),
        line,
        resource: resource.to_owned(),
    };
    let add_profile = |out: &mut Imported, id: &str, l: Loc| {
        if !out.profiles.iter().any(|p| p.id.as_deref() == Some(id)) {
            out.profiles.push(Profile {
                key: id.to_owned(),
                id: Some(id.to_owned()),
                loc: l,
            });
        }
    };
    if let Some((root, file)) = read("list-profiles.json", out) {
        for p in items(&root, "ProfileSummaries") {
            let j = to_json(p);
            if let Some(id) = j.get("Id").and_then(Value::as_str) {
                add_profile(out, id, loc(&file, p.line, id));
            }
        }
    }
    if let Some((root, file)) = read("list-profile-associations.json", out) {
        for a in items(&root, "ProfileAssociations") {
            let j = to_json(a);
            let (Some(profile), Some(vpc)) = (
                j.get("ProfileId").and_then(Value::as_str),
                j.get("ResourceId").and_then(Value::as_str),
            ) else {
                continue;
            };
            if !live(&j) {
                continue;
            }
            let l = loc(&file, a.line, &format!("{profile} {vpc}"));
            add_profile(out, profile, l.clone());
            out.profile_vpcs
                .push((Ref::Id(profile.to_owned()), Ref::Id(vpc.to_owned()), l));
        }
    }
    let mut files = files_named(dir, "list-profile-resource-associations-");
    if input::present(&dir.join("list-profile-resource-associations.json")) {
        files.push((
            String::new(),
            dir.join("list-profile-resource-associations.json"),
        ));
    }
    for (_, path) in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((root, file)) = read(&name, out) else {
            continue;
        };
        for a in items(&root, "ProfileResourceAssociations") {
            let j = to_json(a);
            let (Some(profile), Some(arn)) = (
                j.get("ProfileId").and_then(Value::as_str),
                j.get("ResourceArn").and_then(Value::as_str),
            ) else {
                continue;
            };
            if !live(&j) {
                continue;
            }
            let l = loc(&file, a.line, arn);
            add_profile(out, profile, l.clone());
            let what = ProfileResource::from_arn(arn);
            // A zone reached only through the profile: known by its id until its name is read.
            if let ProfileResource::Zone(Ref::Id(z)) = &what
                && out.zone(&Ref::Id(z.clone())).is_none()
            {
                out.zones.push(crate::imported::Zone {
                    key: z.clone(),
                    name: None,
                    vpcs: Vec::new(),
                    loc: l.clone(),
                });
            }
            out.profile_resources
                .push((Ref::Id(profile.to_owned()), what, l));
        }
    }
}

fn items<'a>(root: &'a source::Node, key: &str) -> Vec<&'a source::Node> {
    match root.get(key).map(|n| &n.kind) {
        Some(source::Kind::Seq(v)) => v.iter().collect(),
        _ => Vec::new(),
    }
}
