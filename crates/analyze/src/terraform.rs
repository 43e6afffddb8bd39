//! Terraform plan JSON (`terraform show -json PLAN`) into [`Imported`]. Values known only after
//! apply (`after_unknown`) are unknown, never empty: a policy known only after apply is not
//! "allows nothing", an endpoint whose service name is known only after apply may be
//! execute-api. References between resources of the same plan are read from the
//! configuration's expressions (`aws_vpc.main`), so an endpoint still finds its VPC. With the
//! configuration's `.tf` files (given, or beside the plan), findings point at the resource
//! blocks; without them, at the resource address.

use serde_json::Value;

use std::path::{Path, PathBuf};

use crate::hcl::{Declaration, Declarations};
use crate::imported::{
    Api, ApiKind, AuthKind, Cname, Domain, Endpoint, Imported, KeyMethod, Loc, Ref, UsagePlan, Vpc,
    Zone,
};
use crate::source::{Kind, Node};

/// Whether a parsed JSON document is a Terraform plan.
pub fn is_plan(root: &Node) -> bool {
    root.get("planned_values").is_some() && root.get("format_version").is_some()
}

/// Reads a plan without a configuration directory beside it, with the default size limit.
pub fn import(root: &Node, file: &str) -> Imported {
    import_with(root, file, None, crate::input::DEFAULT_MAX_INPUT)
}

/// The local modules a configuration calls, with their address prefixes (`module.net.`), from
/// the plan's `configuration`: a `source` that starts with `./` or `../` is a directory relative
/// to the calling module's.
fn local_modules(module: &Node, prefix: &str, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    for (name, call) in module
        .get("module_calls")
        .map(Node::entries)
        .unwrap_or_default()
    {
        let Some(source) = call.get("source").and_then(Node::as_str) else {
            continue;
        };
        if !(source.starts_with("./") || source.starts_with("../")) {
            continue;
        }
        let sub = dir.join(source);
        let p = format!("{prefix}module.{name}.");
        if out.len() < 1000 {
            out.push((p.clone(), sub.clone()));
        }
        if let Some(m) = call.get("module") {
            local_modules(m, &p, &sub, out);
        }
    }
}

/// Whether a directory holds `.tf` files.
pub fn has_tf_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "tf"))
    })
}

/// [`import`] with the configuration directory (`--tf-dir`); without one, the plan's own
/// directory is used when it holds `.tf` files.
pub fn import_with(root: &Node, file: &str, tf_dir: Option<&Path>, max_bytes: u64) -> Imported {
    import_sized(root, file, tf_dir, max_bytes, SIDE_BY_SIDE_FROM)
}

/// [`import_with`], sharing the work with a second thread from `side_from` resources.
fn import_sized(
    root: &Node,
    file: &str,
    tf_dir: Option<&Path>,
    max_bytes: u64,
    side_from: usize,
) -> Imported {
    let mut reader = Reader::default();
    let (mut plan, resources) =
        Plan::read(root, file, tf_dir, max_bytes, side_from, &mut reader.out);
    // Room for the lists that grow to the plan's size, counted in one pass.
    let (mut vpcs, mut endpoints, mut apis) = (0, 0, 0);
    for r in &resources {
        match r.get("type").and_then(Node::as_str) {
            Some("aws_vpc") => vpcs += 1,
            Some("aws_vpc_endpoint") => endpoints += 1,
            Some("aws_api_gateway_rest_api" | "aws_apigatewayv2_api") => apis += 1,
            _ => {}
        }
    }
    reader.out.reserve(vpcs, endpoints, apis);
    // A large plan's resources are read in two halves side by side, the second half by a reader
    // of its own whose lists follow the first's: what one reader reading them all would make.
    let side = crate::in_halves(
        &resources,
        side_from,
        &mut reader,
        Reader::default,
        |r, part| r.read_all(&plan, part),
    );
    let big = side.is_some();
    if let Some(second) = side {
        reader.append(second);
    }
    // The references' thousands of small strings, freed aside like the input's tree.
    crate::drop_aside(std::mem::take(&mut plan.refs), big);
    reader.finish()
}

/// How many resources a plan has before its work is shared with a second thread.
const SIDE_BY_SIDE_FROM: usize = 10_000;

/// What the whole plan tells every resource: the configuration's blocks and references, and
/// which attributes are known only after apply.
struct Plan<'a> {
    file: &'a str,
    decls: Declarations,
    /// address → which attributes are known only after apply. Borrowed from the plan's tree:
    /// looked at for a few attributes of a few resource types, so not converted (100,000
    /// conversions showed in the profile).
    after_unknown: foldhash::HashMap<&'a str, &'a Node>,
    /// Looked up once per resource attribute: a map, not a scan (plans have 100 000 resources).
    refs: Refs,
    /// Address without instance keys → the planned instances' addresses (`module.hub.aws_vpc.this`
    /// → `module.hub[0].aws_vpc.this`), for references, which the configuration writes unkeyed.
    /// Only addresses with keys are here: one without is its own single instance.
    instances: foldhash::HashMap<String, Vec<&'a str>>,
}

impl<'a> Plan<'a> {
    fn read(
        root: &'a Node,
        file: &'a str,
        tf_dir: Option<&Path>,
        max_bytes: u64,
        side_from: usize,
        out: &mut Imported,
    ) -> (Plan<'a>, Vec<&'a Node>) {
        let mut after_unknown: foldhash::HashMap<&str, &Node> = foldhash::HashMap::default();
        if let Some(Node {
            kind: Kind::Seq(changes),
            ..
        }) = root.get("resource_changes")
        {
            for c in changes {
                if let (Some(a), Some(u)) = (
                    c.get("address").and_then(Node::as_str),
                    c.get("change").and_then(|ch| ch.get("after_unknown")),
                ) {
                    after_unknown.insert(a, u);
                }
            }
        }
        // address → the references of each attribute expression, from the configuration.
        // Gathered on a thread of its own for a large plan, while the rest is read here.
        let config = root.get("configuration").and_then(|c| c.get("root_module"));
        let config_resources = config
            .and_then(|m| m.get("resources"))
            .map_or(0, |r| r.items().len());
        let (refs, (planned, instances, decls)) = crate::side_by_side(
            config_resources >= side_from,
            || {
                let mut refs = Refs::default();
                if let Some(m) = config {
                    // Room for the root module's resources at once (rehashing showed in
                    // profiles).
                    refs.reserve(config_resources);
                    collect_refs(m, "", &mut refs);
                }
                refs
            },
            || {
                let planned = Self::planned(root);
                let instances = Self::instances(&planned);
                (
                    planned,
                    instances,
                    declarations(root, file, tf_dir, max_bytes, out),
                )
            },
        );
        (
            Plan {
                file,
                decls,
                after_unknown,
                refs,
                instances,
            },
            planned,
        )
    }

    /// The planned resources, every module's, in order.
    fn planned(root: &'a Node) -> Vec<&'a Node> {
        let mut planned = Vec::new();
        if let Some(m) = root
            .get("planned_values")
            .and_then(|p| p.get("root_module"))
        {
            collect(m, &mut planned);
        }
        planned
    }

    /// Address without instance keys → the planned instances' addresses.
    fn instances(planned: &[&'a Node]) -> foldhash::HashMap<String, Vec<&'a str>> {
        let mut instances: foldhash::HashMap<String, Vec<&str>> = Default::default();
        for r in planned {
            if let Some(a) = r.get("address").and_then(Node::as_str)
                && let std::borrow::Cow::Owned(plain) = crate::hcl::strip_instance_keys(a)
            {
                instances.entry(plain).or_default().push(a);
            }
        }
        instances
    }

    /// One planned resource, ready to be read.
    fn resource<'p>(&'p self, r: &'a Node) -> Resource<'a, 'p> {
        let address = r
            .get("address")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned();
        let decl = self.decls.get(&address);
        // A plan is one line: its line numbers say nothing. The block, or the address.
        let loc = match decl {
            Some(d) => Loc {
                file: d.file.clone(),
                line: d.line,
                resource: address.clone(),
            },
            None => Loc {
                file: self.file.to_owned(),
                line: 0,
                resource: address.clone(),
            },
        };
        Resource {
            plan: self,
            base: match crate::hcl::strip_instance_keys(&address) {
                std::borrow::Cow::Owned(plain) => Some(plain),
                std::borrow::Cow::Borrowed(_) => None,
            },
            unknown: self.after_unknown.get(address.as_str()).copied(),
            address,
            values: r.get("values"),
            decl,
            loc,
        }
    }

    fn refs_of(&self, address: &str, attr: &str) -> Option<&Vec<String>> {
        self.refs
            .get(address)
            .and_then(|m| m.iter().find(|(a, _)| a == attr))
            .map(|(_, refs)| refs)
    }

    /// The resource a list of references (one expression's) leads to, followed through module
    /// variables (`module.m.var.x` → what the call passes as `x`) and module outputs
    /// (`module.m.vpc_id` → what the output's value names inside `m`), across `count` and
    /// `for_each` (`module.hub[0]`, `module.vpce["execute-api"]`), and given as the address of
    /// the planned instance (the keys the references carried pick among several).
    fn resolve(&self, refs: &[String]) -> Option<String> {
        // A resource's own address (`aws_vpc.main`, `module.m.aws_vpc.main`) before the longer
        // attribute forms and the bare module.
        let best = |r: &[String]| -> Option<String> {
            r.iter()
                .find(|x| resource_part(x).is_some_and(|(_, rest)| rest.is_empty()))
                .or_else(|| r.iter().find(|x| resource_part(x).is_some()))
                .or(r.first())
                .cloned()
        };
        let mut found = best(refs)?;
        let mut keys: Vec<String> = Vec::new();
        for _ in 0..32 {
            keys.extend(instance_keys(&found));
            let plain = crate::hcl::strip_instance_keys(&found);
            if resource_part(&plain).is_some() {
                break;
            }
            // `…module.m.var.x…`: the caller's argument.
            if let Some((module, var)) = plain.rsplit_once("var.") {
                let var = var.split('.').next().unwrap_or(var);
                match self
                    .refs_of(&format!("{module}var"), var)
                    .and_then(|r| best(r))
                {
                    Some(next) => {
                        found = next;
                        continue;
                    }
                    None => break,
                }
            }
            // `…module.m.out…`: the output's value inside `m`.
            let Some(i) = plain.rfind("module.") else {
                break;
            };
            let after = &plain[i + "module.".len()..];
            let Some((name, rest)) = after.split_once('.') else {
                break;
            };
            let output = rest.split('.').next().unwrap_or(rest);
            let module = format!("{}module.{name}.", &plain[..i]);
            match self
                .refs_of(&format!("{module}output"), output)
                .and_then(|r| best(r))
            {
                Some(next) => found = next,
                None => break,
            }
        }
        let plain = crate::hcl::strip_instance_keys(&found);
        let (address, _) = resource_part(&plain)?;
        Some(match self.instances.get(address) {
            Some(all) if all.len() == 1 => all[0].to_owned(),
            Some(all) => all
                .iter()
                .find(|a| keys.iter().any(|k| a.contains(k.as_str())))
                .unwrap_or(&all[0])
                .to_string(),
            None => address.to_owned(),
        })
    }
}

/// `[0]`, `["execute-api"]`: the instance keys an address or reference carries.
fn instance_keys(s: &str) -> Vec<String> {
    let plain = crate::hcl::strip_instance_keys(s);
    if plain.len() == s.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('[') {
        let tail = &rest[i..];
        // The key ends at the first `]` outside quotes.
        let mut quoted = false;
        let mut end = None;
        for (j, c) in tail.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ']' if !quoted => {
                    end = Some(j);
                    break;
                }
                _ => {}
            }
        }
        let Some(e) = end else { break };
        out.push(tail[..=e].to_owned());
        rest = &tail[e + 1..];
    }
    out
}

/// A reference as (the resource's address, what follows it): `module.m.aws_vpc.this.id` →
/// (`module.m.aws_vpc.this`, `id`); `data.aws_iam_policy_document.x.json` likewise; `None`
/// when it names no resource (a module output, a variable, a local, `each`, `count`).
fn resource_part(reference: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = reference.split('.').collect();
    let mut i = 0;
    while parts.get(i) == Some(&"module") && parts.len() > i + 2 {
        i += 2;
    }
    let (type_at, len) = if parts.get(i) == Some(&"data") {
        (i + 1, 3)
    } else {
        (i, 2)
    };
    let ty = parts.get(type_at)?;
    // A resource type is `provider_kind`: `aws_vpc`; never `var`, `local`, `each`, `count`,
    // `path`, `terraform`, `self`, or a module's output name under `module.m`.
    if !ty.contains('_')
        || parts.len() < i + len
        || (i > 0
            && parts[i - 2] == "module"
            && !ty.starts_with("aws_")
            && parts.get(i) != Some(&"data"))
    {
        return None;
    }
    if matches!(
        *ty,
        "var" | "local" | "each" | "count" | "path" | "terraform" | "self"
    ) {
        return None;
    }
    // The parts were split on single dots: the address is the text up to the dot that ends
    // its last part, the rest what follows that dot.
    let end: usize = parts[..i + len].iter().map(|p| p.len()).sum::<usize>() + (i + len - 1);
    Some((&reference[..end], reference.get(end + 1..).unwrap_or("")))
}

/// The configuration's resource blocks: from `--tf-dir`, else the plan's directory when it
/// holds `.tf` files, else none.
fn declarations(
    root: &Node,
    file: &str,
    tf_dir: Option<&Path>,
    max_bytes: u64,
    out: &mut Imported,
) -> Declarations {
    let beside = Path::new(file).parent().map(|p| {
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.to_path_buf()
        }
    });
    let Some(dir) = tf_dir
        .map(Path::to_path_buf)
        .or_else(|| beside.filter(|d| has_tf_files(d)))
    else {
        return Declarations::default();
    };
    let mut modules = Vec::new();
    if let Some(m) = root.get("configuration").and_then(|c| c.get("root_module")) {
        local_modules(m, "", &dir, &mut modules);
    }
    let d = Declarations::read(&dir, &modules, max_bytes);
    out.errors.extend(d.errors.iter().cloned());
    if d.is_empty() && tf_dir.is_some() {
        out.errors.push((
            Loc {
                file: dir.display().to_string(),
                line: 0,
                resource: String::new(),
            },
            "--tf-dir holds no resource blocks in *.tf files".to_owned(),
        ));
    }
    d
}

/// One planned resource: its values, its block and what of it is known only after apply.
struct Resource<'a, 'p> {
    plan: &'p Plan<'a>,
    address: String,
    /// The address without instance keys, when it has keys ([`Resource::base`]).
    base: Option<String>,
    values: Option<&'a Node>,
    decl: Option<&'p Declaration>,
    unknown: Option<&'a Node>,
    loc: Loc,
}

impl Resource<'_, '_> {
    // Read where it is needed: a scalar straight from the tree, a nested block converted to
    // JSON alone (converting every resource's `values` was 8% of a 100k plan).
    fn field(&self, k: &str) -> Option<&Node> {
        self.values.and_then(|v| v.get(k))
    }

    fn sub(&self, k: &str) -> Option<Value> {
        self.field(k).map(to_json)
    }

    fn s(&self, k: &str) -> Option<String> {
        self.field(k).and_then(Node::as_str).map(str::to_owned)
    }

    fn b(&self, k: &str) -> Option<bool> {
        match self.field(k).map(|n| &n.kind) {
            Some(Kind::Bool(x)) => Some(*x),
            _ => None,
        }
    }

    /// A field of the (one) `endpoint_configuration` block, read in the tree.
    fn configuration(&self, k: &str) -> Option<&Node> {
        self.field("endpoint_configuration")
            .and_then(|c| c.items().first())
            .and_then(|c| c.get(k))
    }

    /// The endpoint configuration's first type (EDGE when none is given).
    fn endpoint_type(&self) -> Option<ApiKind> {
        ApiKind::of_first_type(
            self.configuration("types")
                .and_then(|t| t.items().first())
                .and_then(Node::as_str),
        )
    }

    /// Known only after apply: `true`, or any part of a nested value.
    fn later(&self, k: &str) -> bool {
        self.unknown.and_then(|u| u.get(k)).is_some_and(any_true)
    }

    /// The address without instance keys (`module.api[0].aws_vpc.main[0]` →
    /// `module.api.aws_vpc.main`), as the configuration names it.
    fn base(&self) -> &str {
        self.base.as_deref().unwrap_or(&self.address)
    }

    /// Every resource a reference expression names (`aws_api_gateway_rest_api.main`).
    fn resources_named(&self, attr: &str) -> Vec<String> {
        let mut named: Vec<String> = self
            .plan
            .refs_of(self.base(), attr)
            .map(|r| {
                r.iter()
                    .map(|x| x.trim_end_matches(".id").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        named.sort();
        named.dedup();
        named
    }

    /// The resource an attribute's expression names, followed through module variables and
    /// outputs ([`Plan::resolve`]).
    fn reference(&self, attr: &str) -> Option<String> {
        self.plan.resolve(self.plan.refs_of(self.base(), attr)?)
    }

    /// `security_policy` and `endpoint_access_mode` (REST APIs and domain names).
    fn security(&self, out: &mut Imported) -> crate::imported::Security {
        crate::imported::Security::read(
            self.s("security_policy").as_deref(),
            self.s("endpoint_access_mode").as_deref(),
            &self.loc,
            &mut out.unknowns,
        )
    }

    /// What an id attribute names: the id when the plan knows it, else the resource its
    /// expression names, else unknown.
    fn link(&self, attr: &str) -> Ref {
        match (
            self.field(attr).and_then(Node::as_str),
            self.reference(attr),
        ) {
            (Some(id), _) => Ref::Id(id.to_owned()),
            (None, Some(a)) => Ref::Key(a),
            (None, None) => {
                Ref::Unknown(format!("{}.{attr} is known only after apply", self.address))
            }
        }
    }

    /// A policy attribute that is computed as well as optional: unknown in every plan that does
    /// not set it, so unknown only where the configuration sets it (or `always`, for the
    /// resources whose whole point is the policy). Unknown policies are reported as `what`.
    fn policy(&self, out: &mut Imported, always: bool, what: &str) -> (Option<Value>, bool) {
        // Asked only of a policy known after apply (most are known or absent).
        let set_here = || {
            always
                || self.plan.refs_of(self.base(), "policy").is_some()
                || self
                    .decl
                    .is_some_and(|d| d.attributes.contains_key("policy"))
        };
        let (policy, unknown) = policy_value(self.s("policy"), self.later("policy") && set_here());
        if unknown && !what.is_empty() {
            out.unknowns.push((
                self.loc.clone(),
                format!("{what} is known only after apply (or is not JSON)"),
            ));
        }
        (policy, unknown)
    }

    /// The ids of a repeated block's attribute (`api_stages[*].api_id`); those known only after
    /// apply come from the configuration's references, or stay unknown.
    fn block_ids(&self, block: &str, attr: &str) -> Vec<Ref> {
        let blocks = match self.sub(block) {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        let mut ids: Vec<Ref> = blocks
            .iter()
            .filter_map(|b| b.get(attr).and_then(Value::as_str))
            .map(|id| Ref::Id(id.to_owned()))
            .collect();
        if ids.len() < blocks.len() {
            // Known only after apply: the configuration says which resources they are.
            let named = self.resources_named(&format!("{block}.{attr}"));
            if named.is_empty() {
                ids.push(Ref::Unknown(format!(
                    "{}.{block}.{attr} is known only after apply",
                    self.address
                )));
            }
            ids.extend(named.into_iter().map(Ref::Key));
        }
        ids
    }
}

/// The resources read so far, and what waits for every resource to be read (plan order means
/// nothing): attached policies, zone associations, endpoint policies.
#[derive(Default)]
struct Reader {
    out: Imported,
    attached_policies: Vec<AttachedPolicy>,
    zone_associations: Vec<(Ref, Ref, Loc)>,
    endpoint_policies: Vec<(Ref, Option<Value>, bool)>,
}

impl Reader {
    /// Reads planned resources in order.
    fn read_all(&mut self, plan: &Plan<'_>, resources: &[&Node]) {
        for r in resources {
            let resource = plan.resource(r);
            self.resource(
                &resource,
                r.get("type").and_then(Node::as_str).unwrap_or(""),
            );
        }
    }

    /// Adds what a reader of the resources after this one's read.
    fn append(&mut self, other: Reader) {
        let Reader {
            out,
            attached_policies,
            zone_associations,
            endpoint_policies,
        } = other;
        self.out.append(out);
        self.attached_policies.extend(attached_policies);
        self.zone_associations.extend(zone_associations);
        self.endpoint_policies.extend(endpoint_policies);
    }

    /// Reads one resource by its type; types parallax does not model are passed over.
    fn resource(&mut self, r: &Resource<'_, '_>, ty: &str) {
        if self.out.account.is_none() {
            self.out.account = ["owner_id", "arn"]
                .iter()
                .find_map(|k| r.s(k).and_then(|v| crate::imported::account_of(&v)));
        }
        match ty {
            "aws_vpc" => self.vpc(r),
            "aws_vpc_endpoint" => self.endpoint(r),
            "aws_vpc_endpoint_policy" => {
                let (policy, unknown) = r.policy(&mut self.out, true, "");
                self.endpoint_policies
                    .push((r.link("vpc_endpoint_id"), policy, unknown));
            }
            "aws_api_gateway_rest_api" => self.rest_api(r),
            "aws_api_gateway_rest_api_policy" => {
                let (policy, policy_unknown) = r.policy(&mut self.out, true, "policy");
                self.attached_policies.push(AttachedPolicy {
                    target: r.reference("rest_api_id"),
                    id: r.s("rest_api_id"),
                    policy,
                    policy_unknown,
                });
            }
            "aws_api_gateway_domain_name" => self.domain_name(r),
            "aws_api_gateway_base_path_mapping" => self.base_path_mapping(r),
            "aws_api_gateway_method" => self.method(r),
            "aws_api_gateway_stage" => {
                if let Some(stage) = r.s("stage_name") {
                    self.out.stages.push((r.link("rest_api_id"), stage));
                }
            }
            "aws_api_gateway_deployment" => {
                if let Some(stage) = r.s("stage_name") {
                    self.out
                        .deployment_stages
                        .push((r.link("rest_api_id"), stage));
                }
            }
            "aws_apigatewayv2_api" => self.out.apis.push(Api {
                account: None,
                key: r.address.clone(),
                http: true,
                id: r.s("id"),
                name: r.s("name").unwrap_or_else(|| r.address.clone()),
                kind: Some(ApiKind::Regional),
                policy: None,
                policy_unknown: false,
                vpc_endpoints: Vec::new(),
                disable_default: Some(r.b("disable_execute_api_endpoint").unwrap_or(false)),
                security: Default::default(),
                loc: r.loc.clone(),
            }),
            "aws_api_gateway_usage_plan" => self.out.usage_plans.push(UsagePlan {
                key: r.address.clone(),
                id: r.s("id"),
                apis: r.block_ids("api_stages", "api_id"),
                loc: r.loc.clone(),
            }),
            "aws_api_gateway_usage_plan_key" => self.out.plan_keys.push(r.link("usage_plan_id")),
            "aws_route53_zone" => self.out.zones.push(Zone {
                key: r.address.clone(),
                name: r.s("name"),
                vpcs: r.block_ids("vpc", "vpc_id"),
                loc: r.loc.clone(),
            }),
            "aws_route53_zone_association" => {
                self.zone_associations
                    .push((r.link("zone_id"), r.link("vpc_id"), r.loc.clone()))
            }
            "aws_route53_record" => self.record(r),
            "aws_route53profiles_profile" => self.out.profiles.push(crate::imported::Profile {
                key: r.address.clone(),
                id: r.s("id"),
                loc: r.loc.clone(),
            }),
            "aws_route53profiles_association" => self.out.profile_vpcs.push((
                r.link("profile_id"),
                r.link("resource_id"),
                r.loc.clone(),
            )),
            "aws_route53profiles_resource_association" => self.profile_resource(r),
            _ => {}
        }
    }

    fn vpc(&mut self, r: &Resource<'_, '_>) {
        self.out.vpcs.push(Vpc {
            key: r.address.clone(),
            id: r.s("id"),
            dns_support: Some(r.b("enable_dns_support").unwrap_or(true)),
            dns_hostnames: Some(r.b("enable_dns_hostnames").unwrap_or(false)),
            loc: r.loc.clone(),
        });
    }

    fn endpoint(&mut self, r: &Resource<'_, '_>) {
        let out = &mut self.out;
        if out.region.is_none() {
            out.region = r
                .s("service_name")
                .and_then(|n| crate::imported::region_of_service(&n));
        }
        let mut service = r
            .s("service_name")
            .map(|n| n.rsplit('.').next().unwrap_or(&n).to_owned());
        if service.is_none() && r.later("service_name") {
            // The configuration's text can still say which service it is.
            let named = r
                .decl
                .and_then(|d| d.attributes.get("service_name"))
                .is_some_and(|t| t.contains("execute-api"));
            if named {
                service = Some("execute-api".to_owned());
            } else {
                out.unknowns.push((
                    r.loc.clone(),
                    "service_name is known only after apply: it may be execute-api".to_owned(),
                ));
            }
        }
        let private_dns = if r.later("private_dns_enabled") {
            out.unknowns.push((
                r.loc.clone(),
                "private_dns_enabled is known only after apply".to_owned(),
            ));
            None
        } else {
            Some(r.b("private_dns_enabled").unwrap_or(false))
        };
        let (policy, policy_unknown) = r.policy(out, false, "the endpoint policy");
        out.endpoints.push(Endpoint {
            key: r.address.clone(),
            id: r.s("id"),
            vpc: r.link("vpc_id"),
            policy,
            policy_unknown,
            service,
            interface: if r.later("vpc_endpoint_type") {
                None
            } else {
                Some(r.s("vpc_endpoint_type").as_deref() == Some("Interface"))
            },
            private_dns,
            enis: Vec::new(),
            loc: r.loc.clone(),
        });
    }

    fn rest_api(&mut self, r: &Resource<'_, '_>) {
        let (policy, policy_unknown) = r.policy(&mut self.out, false, "policy");
        let mut vpces: Vec<Ref> = r
            .configuration("vpc_endpoint_ids")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(Node::as_str)
            .map(|id| Ref::Id(id.to_owned()))
            .collect();
        if vpces.is_empty() {
            // Known only after apply: the configuration says which endpoints they are.
            vpces = r
                .resources_named("endpoint_configuration.vpc_endpoint_ids")
                .into_iter()
                .map(Ref::Key)
                .collect();
        }
        let security = r.security(&mut self.out);
        self.out.apis.push(Api {
            account: None,
            key: r.address.clone(),
            http: false,
            id: r.s("id"),
            name: r.s("name").unwrap_or_else(|| r.address.clone()),
            kind: r.endpoint_type(),
            policy,
            policy_unknown,
            vpc_endpoints: vpces,
            disable_default: Some(r.b("disable_execute_api_endpoint").unwrap_or(false)),
            security,
            loc: r.loc.clone(),
        });
    }

    fn domain_name(&mut self, r: &Resource<'_, '_>) {
        let kind = r.endpoint_type();
        let mtls = r
            .sub("mutual_tls_authentication")
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        let security = r.security(&mut self.out);
        self.out.domains.push(Domain {
            key: r.address.clone(),
            name: r.s("domain_name"),
            kind,
            mtls,
            apis: Vec::new(),
            policy: None,
            policy_unknown: false,
            access: Vec::new(),
            security,
            loc: r.loc.clone(),
        });
    }

    fn base_path_mapping(&mut self, r: &Resource<'_, '_>) {
        let api = r.link("api_id");
        let domain_ref = r.reference("domain_name");
        let name = r.s("domain_name");
        if let Some(d) = self
            .out
            .domains
            .iter_mut()
            .find(|d| Some(&d.key) == domain_ref.as_ref() || (name.is_some() && d.name == name))
        {
            d.apis.push(api);
        }
    }

    fn method(&mut self, r: &Resource<'_, '_>) {
        let auth = match r.s("authorization").as_deref() {
            Some("AWS_IAM") => Some(AuthKind::Iam),
            Some("CUSTOM") => Some(AuthKind::Lambda),
            Some("COGNITO_USER_POOLS") => Some(AuthKind::Cognito),
            _ => None,
        };
        if let Some(k) = auth {
            self.out
                .authorizers
                .push((r.link("rest_api_id"), k, r.loc.clone()));
        }
        if r.b("api_key_required") == Some(true) {
            self.out.key_methods.push(KeyMethod {
                api: r.link("rest_api_id"),
                loc: r.loc.clone(),
            });
        }
    }

    fn record(&mut self, r: &Resource<'_, '_>) {
        let (alias, records) = (r.sub("alias"), r.sub("records"));
        let alias = alias
            .as_ref()
            .and_then(|a| a.get(0))
            .and_then(|a| a.get("name"))
            .and_then(Value::as_str);
        let (kind, record_values) = match alias {
            Some(target) => ("ALIAS".to_owned(), vec![target.to_owned()]),
            None => (
                r.s("type").unwrap_or_default(),
                records
                    .as_ref()
                    .and_then(Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
        };
        if let Some(name) = r.s("name") {
            self.out.zone_records.push(crate::imported::ZoneRecord {
                zone: r.link("zone_id"),
                name: crate::cfn::normalise_record_name(&name),
                kind,
                values: record_values,
                loc: r.loc.clone(),
            });
        }
        if r.s("type").as_deref() == Some("CNAME") {
            let target = records
                .as_ref()
                .and_then(|r| r.get(0))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let target_domain = if target.is_none() {
                r.reference("records")
            } else {
                None
            };
            self.out.cnames.push(Cname {
                name: r.s("name"),
                target,
                target_domain,
                loc: r.loc.clone(),
            });
        }
    }

    fn profile_resource(&mut self, r: &Resource<'_, '_>) {
        use crate::imported::ProfileResource;
        let what = match (r.s("resource_arn"), r.reference("resource_arn")) {
            (Some(arn), _) => ProfileResource::from_arn(&arn),
            (None, Some(a)) => {
                let ty = resource_part(&crate::hcl::strip_instance_keys(&a))
                    .and_then(|(addr, _)| addr.rsplit('.').nth(1).map(str::to_owned))
                    .unwrap_or_default();
                let key = Ref::Key(a.clone());
                match ty.as_str() {
                    "aws_route53_zone" => ProfileResource::Zone(key),
                    "aws_vpc_endpoint" => ProfileResource::Endpoint(key),
                    "aws_route53_resolver_rule" => ProfileResource::Rule(key),
                    other => ProfileResource::Other(other.to_owned()),
                }
            }
            (None, None) => {
                self.out.unknowns.push((
                    r.loc.clone(),
                    "resource_arn is known only after apply".to_owned(),
                ));
                ProfileResource::Other("unknown".to_owned())
            }
        };
        self.out
            .profile_resources
            .push((r.link("profile_id"), what, r.loc.clone()));
    }

    /// Applies what named other resources once every resource is read.
    fn finish(self) -> Imported {
        let mut out = self.out;
        for (target, policy, policy_unknown) in self.endpoint_policies {
            if let Some(e) = out.endpoints.iter_mut().find(|e| match &target {
                Ref::Key(k) => &e.key == k,
                Ref::Id(id) => e.id.as_deref() == Some(id),
                Ref::Unknown(_) => false,
            }) {
                e.policy = policy;
                e.policy_unknown = policy_unknown;
            }
        }
        for (zone, vpc, loc) in self.zone_associations {
            let found = out.zones.iter_mut().find(|z| match &zone {
                Ref::Key(k) => &z.key == k,
                Ref::Id(id) => &z.key == id,
                Ref::Unknown(_) => false,
            });
            match found {
                Some(z) => z.vpcs.push(vpc),
                None => out.unknowns.push((
                    loc,
                    "the zone this association names is not in the plan".to_owned(),
                )),
            }
        }
        for p in self.attached_policies {
            if let Some(api) = out
                .apis
                .iter_mut()
                .find(|a| Some(&a.key) == p.target.as_ref() || (a.id.is_some() && a.id == p.id))
            {
                api.policy = p.policy;
                api.policy_unknown = p.policy_unknown;
            }
        }
        out
    }
}

fn collect<'a>(module: &'a Node, out: &mut Vec<&'a Node>) {
    if let Some(Node {
        kind: Kind::Seq(rs),
        ..
    }) = module.get("resources")
    {
        out.extend(rs.iter());
    }
    if let Some(Node {
        kind: Kind::Seq(children),
        ..
    }) = module.get("child_modules")
    {
        for c in children {
            collect(c, out);
        }
    }
}

/// A configuration's references: address → attribute → the resources its expression names.
/// Address → (attribute, its references): a resource has a few attributes with references,
/// so a list (a map per address cost 4% of a 100,000-resource plan to make and free).
type Refs = foldhash::HashMap<String, Vec<(String, Vec<String>)>>;

/// One expression's references under its attribute; a repeated block's (`api_stages`) are
/// joined.
fn join_refs(attrs: &mut Vec<(String, Vec<String>)>, attr: String, refs: Vec<String>) {
    match attrs.iter_mut().find(|(a, _)| *a == attr) {
        Some((_, all)) => all.extend(refs),
        None => attrs.push((attr, refs)),
    }
}

/// The references of each attribute expression of a module's resources, its calls' arguments
/// and its outputs, and the same of the modules it calls.
fn collect_refs(module: &Node, prefix: &str, out: &mut Refs) {
    if let Some(Node {
        kind: Kind::Seq(rs),
        ..
    }) = module.get("resources")
    {
        for r in rs {
            let mut attrs = Vec::new();
            for (attr, expr) in r.get("expressions").map(Node::entries).unwrap_or_default() {
                if let Some(refs) = references(expr, prefix) {
                    join_refs(&mut attrs, attr.clone(), refs);
                }
                // A nested block (`api_stages { api_id = … }`) is a list of expression maps.
                if let Kind::Seq(blocks) = &expr.kind {
                    for block in blocks {
                        for (sub, e) in block.entries() {
                            if let Some(refs) = references(e, prefix) {
                                join_refs(&mut attrs, format!("{attr}.{sub}"), refs);
                            }
                        }
                    }
                }
            }
            if attrs.is_empty() {
                continue;
            }
            let address = format!(
                "{prefix}{}",
                r.get("address").and_then(Node::as_str).unwrap_or("")
            );
            let all = out.entry(address).or_default();
            if all.is_empty() {
                *all = attrs;
            } else {
                for (attr, refs) in attrs {
                    join_refs(all, attr, refs);
                }
            }
        }
    }
    for (name, call) in module
        .get("module_calls")
        .map(Node::entries)
        .unwrap_or_default()
    {
        let child = format!("{prefix}module.{name}.");
        // The call's arguments, as the module's variables: (`module.m.var`, `x`) → refs.
        for (var, expr) in call
            .get("expressions")
            .map(Node::entries)
            .unwrap_or_default()
        {
            if let Some(refs) = references(expr, prefix) {
                join_refs(
                    out.entry(format!("{child}var")).or_default(),
                    var.clone(),
                    refs,
                );
            }
        }
        if let Some(m) = call.get("module") {
            // The module's outputs: (`module.m.output`, `name`) → what their values name inside.
            for (name, o) in m.get("outputs").map(Node::entries).unwrap_or_default() {
                if let Some(refs) = o.get("expression").and_then(|e| references(e, &child)) {
                    join_refs(
                        out.entry(format!("{child}output")).or_default(),
                        name.clone(),
                        refs,
                    );
                }
            }
            collect_refs(m, &child, out);
        }
    }
}

/// The resources an expression refers to, with the module prefix.
fn references(expr: &Node, prefix: &str) -> Option<Vec<String>> {
    match expr.get("references") {
        Some(Node {
            kind: Kind::Seq(list),
            ..
        }) => Some(
            list.iter()
                .filter_map(|x| x.as_str().map(|s| format!("{prefix}{s}")))
                .collect(),
        ),
        _ => None,
    }
}

/// An `aws_api_gateway_rest_api_policy`: the API it names (by address or id) and its policy.
struct AttachedPolicy {
    target: Option<String>,
    id: Option<String>,
    policy: Option<Value>,
    policy_unknown: bool,
}

/// A policy attribute: its JSON, or unknown when it is known only after apply (or is not JSON).
fn policy_value(text: Option<String>, later: bool) -> (Option<Value>, bool) {
    if later {
        return (None, true);
    }
    match text.filter(|p| !p.is_empty()) {
        None => (None, false),
        Some(p) => match serde_json::from_str(&p) {
            Ok(v) => (Some(v), false),
            Err(_) => (None, true),
        },
    }
}

/// Whether an `after_unknown` value marks anything unknown.
fn any_true(v: &Node) -> bool {
    match &v.kind {
        Kind::Bool(b) => *b,
        Kind::Seq(a) => a.iter().any(any_true),
        Kind::Map(o) => o.iter().any(|(_, v)| any_true(v)),
        Kind::Tag(_, inner) => any_true(inner),
        _ => false,
    }
}

pub use parallax_model::source::to_json;

#[cfg(test)]
mod tests {
    use super::*;

    /// Terraform's reference forms (Terraform docs, "References to Named Values"): resources,
    /// data sources, module outputs, variables and the like.
    #[test]
    fn what_a_reference_names() {
        let part = |s: &str| resource_part(s).map(|(a, rest)| format!("{a} | {rest}"));
        assert_eq!(
            part("aws_vpc.main.id").as_deref(),
            Some("aws_vpc.main | id")
        );
        assert_eq!(part("aws_vpc.main").as_deref(), Some("aws_vpc.main | "));
        assert_eq!(
            part("module.hub.aws_vpc.this.id").as_deref(),
            Some("module.hub.aws_vpc.this | id")
        );
        assert_eq!(
            part("module.a.module.b.data.aws_iam_policy_document.x.json").as_deref(),
            Some("module.a.module.b.data.aws_iam_policy_document.x | json")
        );
        for none in [
            "module.hub",
            "module.hub.vpc_id",
            "module.endpoints.endpoints.arn",
            "var.vpc_id",
            "local.api_name",
            "each.value",
            "count.index",
        ] {
            assert_eq!(part(none), None, "{none}");
        }
        assert_eq!(
            instance_keys(r#"module.vpce["execute-api"].aws_vpc_endpoint.this[0]"#),
            vec![r#"["execute-api"]"#.to_owned(), "[0]".to_owned()]
        );
        assert_eq!(
            instance_keys(r#"module.a["x]"].b"#),
            vec![r#"["x]"]"#.to_owned()]
        );
        assert!(instance_keys("aws_vpc.main").is_empty());
    }

    /// A plan read by two threads gives what one gives: lists in plan order, the account the
    /// first resource that names one gives, and what a resource in the second half says of one
    /// in the first (an endpoint's policy, a zone's association, an API's policy).
    #[test]
    fn a_plan_read_side_by_side_is_the_plan_read_alone() {
        let (mut planned, mut config, mut changes) = (Vec::new(), Vec::new(), Vec::new());
        let n = 40;
        for i in 0..n {
            let (ty, values) = match i % 4 {
                0 => ("aws_vpc", serde_json::json!({"cidr_block": "10.0.0.0/16"})),
                1 => (
                    "aws_vpc_endpoint",
                    serde_json::json!({"service_name": "com.amazonaws.us-east-1.execute-api",
                        "vpc_endpoint_type": "Interface", "private_dns_enabled": true}),
                ),
                2 => (
                    "aws_api_gateway_rest_api",
                    serde_json::json!({"name": format!("api-{i}"),
                        "endpoint_configuration": [{"types": ["PRIVATE"]}]}),
                ),
                _ => (
                    "aws_route53_zone",
                    serde_json::json!({"name": format!("z{i}.internal")}),
                ),
            };
            let address = format!("{ty}.r{i}");
            planned.push(serde_json::json!({"address": address, "type": ty, "values": values}));
            if ty == "aws_vpc_endpoint" {
                config.push(serde_json::json!({"address": address, "type": ty,
                    "expressions": {"vpc_id": {"references": [format!("aws_vpc.r{}.id", i - 1)]}}}));
                changes.push(serde_json::json!({"address": address,
                    "change": {"after_unknown": {"id": true}}}));
            }
        }
        // The second half names the first: the account first appears there.
        let late = [
            (
                "aws_vpc_endpoint_policy",
                "p",
                serde_json::json!({"vpc_endpoint_id": null,
                "policy": r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#}),
                ("vpc_endpoint_id", "aws_vpc_endpoint.r1"),
            ),
            (
                "aws_route53_zone_association",
                "a",
                serde_json::json!({"zone_id": null, "vpc_id": null}),
                ("zone_id", "aws_route53_zone.r3"),
            ),
            (
                "aws_api_gateway_rest_api_policy",
                "q",
                serde_json::json!({"rest_api_id": null,
                "policy": r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*"}]}"#}),
                ("rest_api_id", "aws_api_gateway_rest_api.r2"),
            ),
            (
                "aws_vpc",
                "owned",
                serde_json::json!({"owner_id": "123456789012"}),
                ("", ""),
            ),
        ];
        for (ty, name, values, (attr, target)) in late {
            let address = format!("{ty}.{name}");
            planned.push(serde_json::json!({"address": address, "type": ty, "values": values}));
            if !attr.is_empty() {
                config.push(serde_json::json!({"address": address, "type": ty,
                    "expressions": {attr: {"references": [format!("{target}.id"), target]}}}));
            }
        }
        let plan = serde_json::json!({"format_version": "1.2",
            "planned_values": {"root_module": {"resources": planned}},
            "configuration": {"root_module": {"resources": config}},
            "resource_changes": changes});
        let (root, _) =
            parallax_model::source::parse_with_duplicates(&plan.to_string(), "p.json").unwrap();
        let read = |side_from| {
            serde_json::to_value(import_sized(&root, "p.json", None, u64::MAX, side_from)).unwrap()
        };
        let alone = read(usize::MAX);
        let two = read(1);
        assert_eq!(alone, two);
        // What the second half said of the first was applied.
        assert_eq!(two["account"], "123456789012");
        assert!(
            two["endpoints"][0]["policy"].is_object(),
            "{}",
            two["endpoints"][0]
        );
        assert!(
            two["zones"][0]["vpcs"]
                .as_array()
                .is_some_and(|v| !v.is_empty())
        );
        assert!(two["apis"][0]["policy"].is_object(), "{}", two["apis"][0]);
        assert_eq!(two["vpcs"].as_array().map(Vec::len), Some(n / 4 + 1));
    }
}
