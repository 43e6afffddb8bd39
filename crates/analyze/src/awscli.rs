//! A folder of AWS CLI JSON outputs into [`Imported`]. Collect it with:
//!
//! ```sh
//! aws ec2 describe-vpcs                          > describe-vpcs.json
//! aws ec2 describe-vpc-endpoints                 > describe-vpc-endpoints.json
//! aws apigateway get-rest-apis                   > get-rest-apis.json
//! aws apigateway get-domain-names                > get-domain-names.json
//! aws apigatewayv2 get-apis                      > get-apis.json
//! aws route53 list-hosted-zones-by-vpc --vpc-id VPC --vpc-region REGION > list-hosted-zones-by-vpc-VPC.json
//! aws route53 list-resource-record-sets --hosted-zone-id ZONE > list-resource-record-sets-ZONE.json
//! aws route53resolver list-resolver-rules        > list-resolver-rules.json
//! aws route53resolver list-resolver-rule-associations > list-resolver-rule-associations.json
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
//! An API is called, and its policy judged, on its first stage when `get-stages-API.json` (`aws
//! apigateway get-stages --rest-api-id API`) is there, else on `prod`.
//!
//! The account and Region come from `parallax-manifest.json` (a snapshot of `parallax collect`),
//! else from the VPCs' `OwnerId` and the endpoints' service names, else from an API's policy (API
//! Gateway saves `execute-api:/…` as the full ARN, with the Region and account); else they are
//! assumed, and the matrix says so.
//!
//! Each file may also carry its service before the command, as `parallax collect` will name them
//! (`ec2-describe-vpc-endpoints.json`, `route53-list-resource-record-sets-ZONE.json`).
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
    "get-apis.json",
    MANIFEST,
];

/// Whether the folder holds any of the AWS CLI outputs this reads.
pub fn holds_outputs(dir: &Path) -> bool {
    let folder = Folder { dir, max_bytes: 0 };
    KNOWN.iter().any(|n| folder.given(n).is_some())
        || !folder.named("list-hosted-zones-by-vpc-").is_empty()
}

/// The AWS CLI service a command belongs to. A snapshot names each file `SERVICE-COMMAND.json`
/// (`ec2-describe-vpc-endpoints.json`, one file per call); a folder made by hand may leave the
/// service out (`describe-vpc-endpoints.json`). Both are read.
fn service_of(command: &str) -> Option<&'static str> {
    const SERVICES: [(&str, &str); 14] = [
        ("get-apis", "apigatewayv2"),
        ("get-api-mappings-", "apigatewayv2"),
        ("describe-vpc", "ec2"),
        ("describe-network-interfaces", "ec2"),
        ("get-rest-apis", "apigateway"),
        ("get-domain-names", "apigateway"),
        ("get-usage-plan", "apigateway"),
        ("get-resources-", "apigateway"),
        ("get-stages-", "apigateway"),
        ("list-hosted-zones-by-vpc", "route53"),
        ("list-resource-record-sets-", "route53"),
        ("get-hosted-zone-", "route53"),
        ("list-resolver-rule", "route53resolver"),
        ("list-profile", "route53profiles"),
    ];
    SERVICES
        .iter()
        .find(|(prefix, _)| command.starts_with(prefix))
        .map(|(_, service)| *service)
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

/// Reads a folder of AWS CLI outputs (each file at most `max_bytes`); a folder with none of them is
/// an error.
pub fn import(dir: &Path, max_bytes: u64) -> Imported {
    if !holds_outputs(dir) {
        let mut out = Imported::default();
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
    read(&Folder { dir, max_bytes })
}

/// Reads API responses into [`Imported`]: the entry point for anything that holds the
/// responses already parsed (a folder of CLI outputs through [`Folder`], or an account read
/// live, keyed by the same names).
pub fn read(responses: &dyn Responses) -> Imported {
    let mut r = Reader {
        responses,
        out: Imported::default(),
    };
    r.manifest();
    r.vpcs();
    r.endpoints();
    r.rest_apis();
    r.apis_v2();
    r.usage_plans();
    r.domain_names();
    r.zones_by_vpc();
    r.profiles();
    r.records();
    r.zone_names();
    r.resolver_rules();
    r.out
}

/// Where the reader finds each API response, by the name of the CLI output that holds it
/// (`describe-vpcs.json`, `list-resource-record-sets-ZONE.json`).
pub trait Responses {
    /// The response saved as `name`, parsed, with the file (or call) it came from; `None` when
    /// it was not given. One that was given but cannot be read is recorded in `out.errors`.
    fn response(&self, name: &str, out: &mut Imported) -> Option<(source::Node, String)>;

    /// The names given that start with `prefix` and end in `.json`, sorted: (what is between,
    /// the whole name).
    fn named(&self, prefix: &str) -> Vec<(String, String)>;

    /// Where the response `name` comes from (a file's path), when it is given.
    fn given(&self, name: &str) -> Option<String>;
}

/// A folder of AWS CLI outputs, each read with a bound on its size.
#[derive(Debug)]
pub struct Folder<'a> {
    /// The folder.
    pub dir: &'a Path,
    /// The largest file read, in bytes.
    pub max_bytes: u64,
}

impl Folder<'_> {
    /// The file that holds the output of `name`: as named, or with its service before it.
    fn path_of(&self, name: &str) -> Option<std::path::PathBuf> {
        let plain = self.dir.join(name);
        if input::present(&plain) {
            return Some(plain);
        }
        let prefixed = self.dir.join(format!("{}-{name}", service_of(name)?));
        input::present(&prefixed).then_some(prefixed)
    }
}

impl Responses for Folder<'_> {
    fn response(&self, name: &str, out: &mut Imported) -> Option<(source::Node, String)> {
        // An output that is absent is simply not given; one that is there but cannot be read
        // (a dangling symlink, a loop, a directory, a FIFO, too large) is an error that names it.
        let path = self.path_of(name)?;
        let file = path.display().to_string();
        let text = match input::read_text(&path, self.max_bytes) {
            Ok(t) => t,
            Err(e) => {
                out.errors.push((
                    Loc {
                        file,
                        line: 0,
                        resource: String::new(),
                    },
                    e.to_string(),
                ));
                return None;
            }
        };
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
    }

    fn given(&self, name: &str) -> Option<String> {
        self.path_of(name).map(|p| p.display().to_string())
    }

    fn named(&self, prefix: &str) -> Vec<(String, String)> {
        let mut found = files_named(self.dir, prefix);
        if let Some(service) = service_of(prefix) {
            found.extend(files_named(self.dir, &format!("{service}-{prefix}")));
        }
        let mut names: Vec<(String, String)> = found
            .into_iter()
            .map(|(middle, path)| {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (middle, name)
            })
            .collect();
        names.sort();
        names.dedup_by(|a, b| a.0 == b.0);
        names
    }
}

/// Responses already parsed, by name (what a live collection holds).
/// Each name may also carry its service before it, as in a folder.
impl Responses for std::collections::BTreeMap<String, source::Node> {
    fn response(&self, name: &str, _: &mut Imported) -> Option<(source::Node, String)> {
        let key = self.given(name)?;
        self.get(&key).map(|n| (n.clone(), key))
    }

    fn given(&self, name: &str) -> Option<String> {
        if self.contains_key(name) {
            return Some(name.to_owned());
        }
        let prefixed = format!("{}-{name}", service_of(name)?);
        self.contains_key(&prefixed).then_some(prefixed)
    }

    fn named(&self, prefix: &str) -> Vec<(String, String)> {
        let prefixed = service_of(prefix).map(|service| format!("{service}-{prefix}"));
        let mut names: Vec<(String, String)> = self
            .keys()
            .filter_map(|name| {
                let rest = name
                    .strip_prefix(prefix)
                    .or_else(|| name.strip_prefix(prefixed.as_deref()?))?;
                let middle = rest.strip_suffix(".json")?;
                Some((middle.to_owned(), name.clone()))
            })
            .collect();
        names.sort();
        names.dedup_by(|a, b| a.0 == b.0);
        names
    }
}

/// The import under way: one method per API response.
struct Reader<'r> {
    responses: &'r dyn Responses,
    out: Imported,
}

impl Reader<'_> {
    fn read(&mut self, name: &str) -> Option<(source::Node, String)> {
        self.responses.response(name, &mut self.out)
    }

    /// `parallax-manifest.json` of a snapshot (`parallax collect`): its account and Region, and
    /// each call that was not answered as an unknown naming the IAM action and what it leaves
    /// unread. A folder without one (outputs saved by hand) has nothing to say here.
    fn manifest(&mut self) {
        let Some((root, file)) = self.read(MANIFEST) else {
            return;
        };
        let j = to_json(&root);
        let s = |k: &str| j.get(k).and_then(Value::as_str).map(str::to_owned);
        if let Some(account) = s("account").filter(|a| !a.is_empty()) {
            self.out.account.get_or_insert(account);
        }
        if let Some(region) = s("region").filter(|r| !r.is_empty()) {
            self.out.region.get_or_insert(region);
        }
        for c in items(&root, "calls") {
            let call = to_json(c);
            let cs = |k: &str| call.get(k).and_then(Value::as_str).unwrap_or("");
            if cs("outcome") == "ok" {
                continue;
            }
            let operation = cs("operation");
            self.out.unknowns.push((
                loc(&file, c.line, cs("action")),
                format!(
                    "{operation} {}: {} not read ({})",
                    cs("outcome"),
                    read_by(operation),
                    cs("message")
                ),
            ));
        }
    }

    /// `describe-vpcs`, with each VPC's DNS attributes from `describe-vpc-attribute`.
    fn vpcs(&mut self) {
        let Some((root, file)) = self.read("describe-vpcs.json") else {
            return;
        };
        for v in items(&root, "Vpcs") {
            let j = to_json(v);
            let id = j
                .get("VpcId")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if self.out.account.is_none() {
                self.out.account = j
                    .get("OwnerId")
                    .and_then(Value::as_str)
                    .and_then(crate::imported::account_of);
            }
            let dns_support = self.vpc_attribute(&id, "enableDnsSupport");
            let dns_hostnames = self.vpc_attribute(&id, "enableDnsHostnames");
            self.out.vpcs.push(Vpc {
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

    /// `describe-vpc-attribute-VPC-NAME.json`: `{"EnableDnsSupport": {"Value": true}}`.
    fn vpc_attribute(&mut self, vpc: &str, name: &str) -> Option<bool> {
        let (root, _) = self.read(&format!("describe-vpc-attribute-{vpc}-{name}.json"))?;
        let key = format!("{}{}", name[..1].to_ascii_uppercase(), &name[1..]);
        to_json(&root).get(&key)?.get("Value")?.as_bool()
    }

    /// `describe-network-interfaces`: each interface's subnet, zone and primary address, by id.
    fn network_interfaces(&mut self) -> std::collections::BTreeMap<String, crate::imported::Eni> {
        let Some((root, _)) = self.read("describe-network-interfaces.json") else {
            return std::collections::BTreeMap::new();
        };
        items(&root, "NetworkInterfaces")
            .into_iter()
            .filter_map(|n| {
                let j = to_json(n);
                let s = |k: &str| j.get(k).and_then(Value::as_str).map(str::to_owned);
                Some((
                    s("NetworkInterfaceId")?,
                    crate::imported::Eni {
                        subnet: s("SubnetId").unwrap_or_default(),
                        az: s("AvailabilityZone").unwrap_or_default(),
                        address: s("PrivateIpAddress")?.parse().ok()?,
                    },
                ))
            })
            .collect()
    }

    fn endpoints(&mut self) {
        let Some((root, file)) = self.read("describe-vpc-endpoints.json") else {
            return;
        };
        let interfaces = self.network_interfaces();
        for e in items(&root, "VpcEndpoints") {
            let j = to_json(e);
            let s = |k: &str| j.get(k).and_then(Value::as_str).map(str::to_owned);
            let id = s("VpcEndpointId").unwrap_or_default();
            if self.out.region.is_none() {
                self.out.region =
                    s("ServiceName").and_then(|n| crate::imported::region_of_service(&n));
            }
            self.out.endpoints.push(Endpoint {
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
                enis: j
                    .get("NetworkInterfaceIds")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|x| interfaces.get(x.as_str()?).cloned())
                    .collect(),
                loc: Loc {
                    file: file.clone(),
                    line: e.line,
                    resource: id,
                },
            });
        }
    }

    fn rest_apis(&mut self) {
        let Some((root, file)) = self.read("get-rest-apis.json") else {
            return;
        };
        for a in items(&root, "items") {
            let j = to_json(a);
            let s = |k: &str| j.get(k).and_then(Value::as_str).map(str::to_owned);
            let id = s("id").unwrap_or_default();
            let conf = j.get("endpointConfiguration");
            // get-rest-apis returns the policy as an escaped JSON string.
            let policy =
                s("policy").and_then(|p| serde_json::from_str(&p.replace("\\\"", "\"")).ok());
            // A policy that is there but does not read is said, never taken as none.
            let policy_unknown = s("policy").is_some() && policy.is_none();
            // API Gateway saves a policy's `execute-api:/…` resources as full ARNs with the
            // API's Region and account: without a manifest or EC2 outputs, they say where it is.
            if let Some((region, account)) = policy.as_ref().and_then(|p| api_place(p, &id)) {
                self.out.region.get_or_insert(region);
                self.out.account.get_or_insert(account);
            }
            let at = Loc {
                file: file.clone(),
                line: a.line,
                resource: id.clone(),
            };
            let security = crate::imported::Security::read(
                s("securityPolicy").as_deref(),
                s("endpointAccessMode").as_deref(),
                &at,
                &mut self.out.unknowns,
            );
            self.out.apis.push(Api {
                account: None,
                key: id.clone(),
                http: false,
                id: Some(id.clone()),
                name: s("name").unwrap_or_else(|| id.clone()),
                kind: ApiKind::of_configuration(conf),
                policy,
                policy_unknown,
                vpc_endpoints: crate::imported::id_refs(conf.and_then(|c| c.get("vpcEndpointIds"))),
                disable_default: j
                    .get("disableExecuteApiEndpoint")
                    .and_then(Value::as_bool)
                    .or(Some(false)),
                security,
                loc: at,
            });
            self.stages(&id);
        }
    }

    /// `apigatewayv2 get-apis`: HTTP and WebSocket APIs, always public and Regional; their
    /// default endpoint is an execute-api name like a REST API's.
    fn apis_v2(&mut self) {
        let Some((root, file)) = self.read("get-apis.json") else {
            return;
        };
        for a in items(&root, "Items") {
            let j = to_json(a);
            let s = |k: &str| j.get(k).and_then(Value::as_str).map(str::to_owned);
            let Some(id) = s("ApiId") else {
                continue;
            };
            self.out.apis.push(Api {
                account: None,
                key: id.clone(),
                http: true,
                id: Some(id.clone()),
                name: s("Name").unwrap_or_else(|| id.clone()),
                kind: Some(ApiKind::Regional),
                policy: None,
                policy_unknown: false,
                vpc_endpoints: Vec::new(),
                disable_default: j
                    .get("DisableExecuteApiEndpoint")
                    .and_then(Value::as_bool)
                    .or(Some(false)),
                security: Default::default(),
                loc: loc(&file, a.line, &id),
            });
        }
    }

    /// `get-usage-plans`, each plan's keys, and (only then) each API's methods.
    fn usage_plans(&mut self) {
        let Some((root, file)) = self.read("get-usage-plans.json") else {
            return;
        };
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
            match self.read(&keys_file) {
                Some((keys, _)) if !items(&keys, "items").is_empty() => {
                    self.out.plan_keys.push(Ref::Id(id.clone()));
                }
                Some(_) => {}
                None => self
                    .out
                    .plan_keys
                    .push(Ref::Unknown(format!("{keys_file} is missing"))),
            }
            self.out.usage_plans.push(UsagePlan {
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
        let api_ids: Vec<String> = self.out.apis.iter().filter_map(|a| a.id.clone()).collect();
        for api in api_ids {
            self.key_methods(&api);
        }
    }

    /// `get-stages-API.json`: the API's stages, in the order given.
    fn stages(&mut self, api: &str) {
        let Some((root, _)) = self.read(&format!("get-stages-{api}.json")) else {
            return;
        };
        for st in items(&root, "item") {
            if let Some(name) = st.get("stageName").and_then(source::Node::as_str) {
                self.out
                    .stages
                    .push((Ref::Id(api.to_owned()), name.to_owned()));
            }
        }
    }

    /// `get-resources-API.json`: the methods of an API that require an API key.
    fn key_methods(&mut self, api: &str) {
        let Some((root, file)) = self.read(&format!("get-resources-{api}.json")) else {
            return;
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
                    self.out.key_methods.push(KeyMethod {
                        api: Ref::Id(api.to_owned()),
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

    fn domain_names(&mut self) {
        let Some((root, file)) = self.read("get-domain-names.json") else {
            return;
        };
        for d in items(&root, "items") {
            let j = to_json(d);
            let name = j
                .get("domainName")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let at = Loc {
                file: file.clone(),
                line: d.line,
                resource: name.clone().unwrap_or_default(),
            };
            let text = |k: &str| j.get(k).and_then(Value::as_str);
            let security = crate::imported::Security::read(
                text("securityPolicy"),
                text("endpointAccessMode"),
                &at,
                &mut self.out.unknowns,
            );
            self.out.domains.push(Domain {
                key: name.clone().unwrap_or_default(),
                name: name.clone(),
                kind: ApiKind::of_configuration(j.get("endpointConfiguration")),
                mtls: j.get("mutualTlsAuthentication").is_some(),
                apis: Vec::new(),
                policy: None,
                policy_unknown: false,
                access: Vec::new(),
                security,
                loc: at,
            });
        }
    }

    /// Private zones by VPC: `list-hosted-zones-by-vpc-VPC.json`, and the plain file when
    /// there is exactly one VPC.
    fn zones_by_vpc(&mut self) {
        let mut by_vpc = self.responses.named("list-hosted-zones-by-vpc-");
        let plain = "list-hosted-zones-by-vpc.json";
        if let Some(origin) = self.responses.given(plain) {
            match self.out.vpcs.as_slice() {
                [only] => by_vpc.push((only.id.clone().unwrap_or_default(), plain.to_owned())),
                _ => self.out.errors.push((
                    Loc {
                        file: origin,
                        line: 0,
                        resource: String::new(),
                    },
                    "list-hosted-zones-by-vpc does not say which VPC it lists: name the file list-hosted-zones-by-vpc-VPCID.json (describe-vpcs.json does not hold exactly one VPC)".to_owned(),
                )),
            }
        }
        for (vpc, name) in by_vpc {
            if let Some(given) = self.read(&name) {
                self.zones_of(&vpc, given);
            }
        }
    }

    fn zones_of(&mut self, vpc: &str, (root, file): (source::Node, String)) {
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
            match self.out.zones.iter_mut().find(|x| x.key == id) {
                Some(existing) => existing.vpcs.push(Ref::Id(vpc.to_owned())),
                None => self.out.zones.push(crate::imported::Zone {
                    key: id.clone(),
                    name: zone_name,
                    vpcs: vec![Ref::Id(vpc.to_owned())],
                    loc: Loc {
                        file: file.clone(),
                        line: z.line,
                        resource: id.clone(),
                    },
                }),
            }
        }
    }

    /// `list-resource-record-sets-ZONE.json` for every zone known so far.
    fn records(&mut self) {
        let zone_ids: Vec<String> = self.out.zones.iter().map(|z| z.key.clone()).collect();
        for id in zone_ids {
            let Some((root, file)) = self.read(&format!("list-resource-record-sets-{id}.json"))
            else {
                continue;
            };
            for r in items(&root, "ResourceRecordSets") {
                let j = to_json(r);
                let Some(name) = j.get("Name").and_then(Value::as_str) else {
                    continue;
                };
                let (kind, values) = record_values(&j);
                self.out.zone_records.push(crate::imported::ZoneRecord {
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
    }

    /// A zone known only from a profile: its name from get-hosted-zone, else its SOA record.
    fn zone_names(&mut self) {
        for i in 0..self.out.zones.len() {
            if self.out.zones[i].name.is_some() {
                continue;
            }
            let id = self.out.zones[i].key.clone();
            let from_get =
                self.read(&format!("get-hosted-zone-{id}.json"))
                    .and_then(|(root, _)| {
                        to_json(&root)
                            .get("HostedZone")?
                            .get("Name")?
                            .as_str()
                            .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
                    });
            let out = &mut self.out;
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
    }

    /// `list-resolver-rules.json` (FORWARD and SYSTEM rules; the Resolver's own RECURSIVE rule
    /// is the default and is left out) and `list-resolver-rule-associations.json` (which VPCs
    /// each rule is associated with; without it a rule applies nowhere, and that is said).
    fn resolver_rules(&mut self) {
        let Some((root, file)) = self.read("list-resolver-rules.json") else {
            return;
        };
        let mut rules = Vec::new();
        for r in items(&root, "ResolverRules") {
            let j = to_json(r);
            let s = |k: &str| j.get(k).and_then(Value::as_str);
            let (Some(id), Some(domain)) = (s("Id"), s("DomainName")) else {
                continue;
            };
            let forward = match s("RuleType") {
                Some("FORWARD") => true,
                Some("SYSTEM") => false,
                _ => continue,
            };
            let targets = j
                .get("TargetIps")
                .and_then(Value::as_array)
                .map(|t| {
                    t.iter()
                        .filter_map(|x| {
                            let ip: std::net::IpAddr = x.get("Ip")?.as_str()?.parse().ok()?;
                            let port = x.get("Port").and_then(Value::as_u64).unwrap_or(53);
                            Some(std::net::SocketAddr::new(ip, u16::try_from(port).ok()?))
                        })
                        .collect()
                })
                .unwrap_or_default();
            rules.push(crate::imported::ResolverRule {
                key: id.to_owned(),
                domain: domain.trim_end_matches('.').to_ascii_lowercase(),
                forward,
                targets,
                vpcs: Vec::new(),
                loc: loc(&file, r.line, id),
            });
        }
        match self.read("list-resolver-rule-associations.json") {
            Some((root, _)) => {
                for a in items(&root, "ResolverRuleAssociations") {
                    let j = to_json(a);
                    let (Some(rule), Some(vpc)) = (
                        j.get("ResolverRuleId").and_then(Value::as_str),
                        j.get("VPCId").and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    if !live(&j) {
                        continue;
                    }
                    if let Some(r) = rules.iter_mut().find(|r| r.key == rule) {
                        r.vpcs.push(Ref::Id(vpc.to_owned()));
                    }
                }
            }
            None if !rules.is_empty() => self.out.unknowns.push((
                loc(&file, 0, ""),
                "list-resolver-rule-associations.json is missing: which VPCs the Resolver rules apply to is not known, so they are applied to none".to_owned(),
            )),
            None => {}
        }
        self.out.resolver_rules = rules;
    }

    /// Route 53 Profiles: `list-profiles.json` (optional), `list-profile-associations.json`, and
    /// `list-profile-resource-associations*.json` (each association names its profile).
    fn profiles(&mut self) {
        if let Some((root, file)) = self.read("list-profiles.json") {
            for p in items(&root, "ProfileSummaries") {
                let j = to_json(p);
                if let Some(id) = j.get("Id").and_then(Value::as_str) {
                    self.add_profile(id, loc(&file, p.line, id));
                }
            }
        }
        if let Some((root, file)) = self.read("list-profile-associations.json") {
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
                self.add_profile(profile, l.clone());
                self.out.profile_vpcs.push((
                    Ref::Id(profile.to_owned()),
                    Ref::Id(vpc.to_owned()),
                    l,
                ));
            }
        }
        let plain = "list-profile-resource-associations.json";
        let mut names = self.responses.named("list-profile-resource-associations-");
        if self.responses.given(plain).is_some() {
            names.push((String::new(), plain.to_owned()));
        }
        for (_, name) in names {
            if let Some(given) = self.read(&name) {
                self.profile_resources(given);
            }
        }
    }

    fn profile_resources(&mut self, (root, file): (source::Node, String)) {
        use crate::imported::ProfileResource;
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
            self.add_profile(profile, l.clone());
            let what = ProfileResource::from_arn(arn);
            // A zone reached only through the profile: known by its id until its name is read.
            if let ProfileResource::Zone(Ref::Id(z)) = &what
                && self.out.zone(&Ref::Id(z.clone())).is_none()
            {
                self.out.zones.push(crate::imported::Zone {
                    key: z.clone(),
                    name: None,
                    vpcs: Vec::new(),
                    loc: l.clone(),
                });
            }
            self.out
                .profile_resources
                .push((Ref::Id(profile.to_owned()), what, l));
        }
    }

    fn add_profile(&mut self, id: &str, l: Loc) {
        if !self
            .out
            .profiles
            .iter()
            .any(|p| p.id.as_deref() == Some(id))
        {
            self.out.profiles.push(crate::imported::Profile {
                key: id.to_owned(),
                id: Some(id.to_owned()),
                loc: l,
            });
        }
    }
}

/// Whether a Route 53 Profiles association is in force (not being deleted, deleted or failed).
/// What an API call of a snapshot reads, for the unknown its failure leaves.
/// The Region and account of the API `id` from its own execute-api ARNs in its policy's
/// `Resource` or `NotResource` (`arn:aws:execute-api:us-east-2:123456789012:aabbccddee/*`), as
/// API Gateway saves them (developer guide, "API Gateway resource policy examples": the
/// abbreviated `execute-api:/` syntax is converted to the full ARN with the current Region,
/// the account and the API's id). Wildcards and other APIs' ARNs say nothing.
fn api_place(policy: &Value, id: &str) -> Option<(String, String)> {
    let statements = match policy.get("Statement")? {
        Value::Array(a) => a.iter().collect::<Vec<_>>(),
        one => vec![one],
    };
    statements
        .into_iter()
        .flat_map(|st| ["Resource", "NotResource"].map(|k| st.get(k)))
        .flatten()
        .flat_map(|r| match r {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>(),
            other => other.as_str().into_iter().collect(),
        })
        .find_map(|arn| {
            let mut f = arn.strip_prefix("arn:")?.splitn(5, ':');
            let (_partition, service, region, account, rest) =
                (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
            let ok = service == "execute-api"
                && rest.split('/').next() == Some(id)
                && parallax_model::Region::known(region).is_some()
                && crate::imported::account_of(account).is_some();
            ok.then(|| (region.to_owned(), account.to_owned()))
        })
}

fn read_by(operation: &str) -> &'static str {
    match operation.split_once(':').map_or(operation, |(_, op)| op) {
        "DescribeVpcs" => "the VPCs are",
        "DescribeVpcAttribute" => "this VPC's DNS attributes are",
        "DescribeSubnets" => "the subnets are",
        "DescribeVpcEndpoints" => "the VPC endpoints (and whose private DNS takes which names) are",
        "DescribeNetworkInterfaces" => "the endpoints' addresses are",
        "ListHostedZonesByVPC" => "the private hosted zones of this VPC are",
        "GetHostedZone" => "this hosted zone's name and VPCs are",
        "ListResourceRecordSets" => "this hosted zone's records are",
        "ListResolverEndpoints" => "the Resolver endpoints are",
        "ListResolverRules" | "ListResolverRuleAssociations" => {
            "the Resolver rules (and where they forward names) are"
        }
        "ListProfiles" | "ListProfileAssociations" | "ListProfileResourceAssociations" => {
            "the Route 53 Profiles (and the zones and rules they carry) are"
        }
        "GetRestApis" => "the REST APIs are",
        "GetResources" => "this API's methods (API keys, authorization) are",
        "GetStages" => "this API's stages are",
        "GetDomainNames" => "the custom domain names are",
        "GetBasePathMappings" | "GetApiMappings" => "this domain's API mappings are",
        "GetDomainNameAccessAssociations" => "the private domains' access associations are",
        "GetUsagePlans" => "the usage plans (and which APIs need keys) are",
        "GetUsagePlanKeys" => "this plan's keys are",
        "GetApis" => "the HTTP and WebSocket APIs are",
        _ => "what it reads is",
    }
}

/// The manifest `parallax collect` writes beside a snapshot's outputs.
pub const MANIFEST: &str = "parallax-manifest.json";

fn live(j: &Value) -> bool {
    !matches!(
        j.get("Status").and_then(Value::as_str),
        Some("DELETING" | "DELETED" | "FAILED")
    )
}

fn loc(file: &str, line: u32, resource: &str) -> Loc {
    Loc {
        file: file.to_owned(),
        line,
        resource: resource.to_owned(),
    }
}

/// A record set's type and values: an alias as `ALIAS` with its target.
fn record_values(j: &Value) -> (String, Vec<String>) {
    match j.get("AliasTarget").and_then(|a| a.get("DNSName")) {
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
    }
}

fn items<'a>(root: &'a source::Node, key: &str) -> Vec<&'a source::Node> {
    match root.get(key).map(|n| &n.kind) {
        Some(source::Kind::Seq(v)) => v.iter().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The shapes of `aws ec2 describe-vpcs` and `describe-vpc-endpoints` (EC2 API Reference,
    /// DescribeVpcs and DescribeVpcEndpoints responses), given already parsed as a live
    /// collection holds them.
    #[test]
    fn parsed_responses_read_as_a_folder_does() {
        let parse = |text: &str| source::parse(text, "memory").ok();
        let mut given = BTreeMap::new();
        let texts = [
            (
                "describe-vpcs.json",
                r#"{"Vpcs":[{"VpcId":"vpc-0a1b2c3d","OwnerId":"111122223333"}]}"#,
            ),
            (
                "describe-vpc-endpoints.json",
                r#"{"VpcEndpoints":[{"VpcEndpointId":"vpce-0123456789abcdef0","VpcId":"vpc-0a1b2c3d","ServiceName":"com.amazonaws.us-east-1.execute-api","VpcEndpointType":"Interface","PrivateDnsEnabled":true}]}"#,
            ),
            (
                "describe-vpc-attribute-vpc-0a1b2c3d-enableDnsSupport.json",
                r#"{"VpcId":"vpc-0a1b2c3d","EnableDnsSupport":{"Value":false}}"#,
            ),
        ];
        for (name, text) in &texts {
            if let Some(node) = parse(text) {
                given.insert((*name).to_owned(), node);
            }
        }
        let out = read(&given);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        // The same responses as files of a folder (one under its service-prefixed name) read
        // to the same model, but for where each element was read.
        let dir = std::env::temp_dir().join(format!("px-awscli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        for (name, text) in &texts {
            let file = if name.starts_with("describe-vpc-endpoints") {
                format!("ec2-{name}")
            } else {
                (*name).to_owned()
            };
            std::fs::write(dir.join(file), text).unwrap_or_default();
        }
        let from_folder = import(&dir, input::DEFAULT_MAX_INPUT);
        let _ = std::fs::remove_dir_all(&dir);
        let shape = |m: &Imported| {
            let mut v = serde_json::json!({
                "account": m.account, "region": m.region, "vpcs": m.vpcs, "endpoints": m.endpoints,
            });
            for kind in ["vpcs", "endpoints"] {
                for e in v[kind].as_array_mut().into_iter().flatten() {
                    e["loc"]["file"] = Value::Null;
                    e["loc"]["line"] = Value::Null;
                }
            }
            v
        };
        assert!(from_folder.errors.is_empty(), "{:?}", from_folder.errors);
        assert_eq!(shape(&out), shape(&from_folder));
        assert_eq!(out.account.as_deref(), Some("111122223333"));
        assert_eq!(out.region.as_deref(), Some("us-east-1"));
        assert_eq!(out.vpcs.len(), 1);
        assert_eq!(out.vpcs[0].dns_support, Some(false));
        assert_eq!(out.vpcs[0].dns_hostnames, None);
        assert_eq!(out.endpoints.len(), 1);
        let e = &out.endpoints[0];
        assert_eq!(e.service.as_deref(), Some("execute-api"));
        assert_eq!(e.private_dns, Some(true));
        assert_eq!(e.interface, Some(true));
        assert!(matches!(&e.vpc, Ref::Id(v) if v == "vpc-0a1b2c3d"));
    }

    /// The shapes of Route 53 Resolver's ListResolverRules and ListResolverRuleAssociations
    /// responses (Route 53 API Reference): the Resolver's own RECURSIVE rule is the default and
    /// is not a rule of the model; a rule whose associations are not given is said.
    /// An interface endpoint's addresses come from its network interfaces (EC2 API Reference:
    /// VpcEndpoint.NetworkInterfaceIds, NetworkInterface.PrivateIpAddress), and the runnable
    /// topology answers its private DNS names with them instead of made-up ones. The HTTP API of
    /// `apigatewayv2 get-apis` is read as one.
    #[test]
    fn endpoint_addresses_from_network_interfaces_and_http_apis() {
        let endpoints = r#"{"VpcEndpoints": [{"VpcEndpointId": "vpce-0123456789abcdef0",
          "VpcId": "vpc-0a1b2c3d", "ServiceName": "com.amazonaws.us-east-1.execute-api",
          "VpcEndpointType": "Interface", "PrivateDnsEnabled": true,
          "NetworkInterfaceIds": ["eni-0aaa", "eni-0bbb"]}]}"#;
        let enis = r#"{"NetworkInterfaces": [
          {"NetworkInterfaceId": "eni-0aaa", "SubnetId": "subnet-0a0a0a0a", "AvailabilityZone": "us-east-1a", "PrivateIpAddress": "10.0.1.57"},
          {"NetworkInterfaceId": "eni-0bbb", "SubnetId": "subnet-0b0b0b0b", "AvailabilityZone": "us-east-1b", "PrivateIpAddress": "10.0.2.91"}]}"#;
        let vpcs = r#"{"Vpcs": [{"VpcId": "vpc-0a1b2c3d", "OwnerId": "111122223333"}]}"#;
        let apis = r#"{"Items": [{"ApiId": "h1t2p3a4p5", "Name": "events", "ProtocolType": "HTTP",
          "ApiEndpoint": "https://h1t2p3a4p5.execute-api.us-east-1.amazonaws.com"}]}"#;
        let mut given = BTreeMap::new();
        for (name, text) in [
            ("ec2-describe-vpc-endpoints.json", endpoints),
            ("ec2-describe-network-interfaces.json", enis),
            ("ec2-describe-vpcs.json", vpcs),
            ("apigatewayv2-get-apis.json", apis),
        ] {
            if let Ok(n) = source::parse(text, "memory") {
                given.insert(name.to_owned(), n);
            }
        }
        let out = read(&given);
        let addresses: Vec<String> = out.endpoints[0]
            .enis
            .iter()
            .map(|e| e.address.to_string())
            .collect();
        assert_eq!(addresses, ["10.0.1.57", "10.0.2.91"]);
        assert!(
            out.apis
                .iter()
                .any(|a| a.http && a.id.as_deref() == Some("h1t2p3a4p5"))
        );
        let (t, _) = crate::runnable::topology(&out);
        let e = &t.endpoints[0];
        let answered: Vec<String> = e
            .subnets
            .iter()
            .map(|s| s.address.value.to_string())
            .collect();
        assert_eq!(answered, ["10.0.1.57", "10.0.2.91"]);
        assert_eq!(e.subnets[1].az.value, "us-east-1b");
    }

    #[test]
    fn resolver_rules_and_their_associations() {
        let rules = r#"{"ResolverRules": [
          {"Id": "rslvr-rr-1111", "DomainName": "corp.example.com.", "RuleType": "FORWARD",
           "Status": "COMPLETE", "TargetIps": [{"Ip": "10.10.0.2", "Port": 53}]},
          {"Id": "rslvr-autodefined-rr-internet-resolver", "DomainName": ".",
           "RuleType": "RECURSIVE", "Status": "COMPLETE"}]}"#;
        let associations = r#"{"ResolverRuleAssociations": [
          {"ResolverRuleId": "rslvr-rr-1111", "VPCId": "vpc-0a1b2c3d", "Status": "COMPLETE"},
          {"ResolverRuleId": "rslvr-rr-1111", "VPCId": "vpc-0e0e0e0e", "Status": "DELETING"}]}"#;
        let mut given = BTreeMap::new();
        for (name, text) in [
            ("list-resolver-rules.json", rules),
            ("list-resolver-rule-associations.json", associations),
        ] {
            if let Ok(n) = source::parse(text, "memory") {
                given.insert(name.to_owned(), n);
            }
        }
        let out = read(&given);
        assert_eq!(out.resolver_rules.len(), 1);
        let r = &out.resolver_rules[0];
        assert_eq!(
            (r.key.as_str(), r.domain.as_str(), r.forward),
            ("rslvr-rr-1111", "corp.example.com", true)
        );
        assert_eq!(
            r.targets,
            vec![
                "10.10.0.2:53"
                    .parse()
                    .unwrap_or(std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
            ]
        );
        assert!(matches!(r.vpcs.as_slice(), [Ref::Id(v)] if v == "vpc-0a1b2c3d"));
        assert!(out.unknowns.is_empty(), "{:?}", out.unknowns);

        given.remove("list-resolver-rule-associations.json");
        let out = read(&given);
        assert!(out.resolver_rules[0].vpcs.is_empty());
        assert!(
            out.unknowns
                .iter()
                .any(|(_, why)| why.starts_with("list-resolver-rule-associations.json is missing")),
            "{:?}",
            out.unknowns
        );
    }
}
