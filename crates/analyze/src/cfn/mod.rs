//! CloudFormation (JSON or YAML, SAM included) into [`Imported`]. Intrinsics are evaluated as
//! far as the template alone allows: `Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::If`, `Fn::Join`,
//! `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::ImportValue`, the condition functions, in
//! long and short (`!Ref`) form; Parameters with defaults; Conditions; Mappings. Whatever
//! depends on a parameter without a default, another stack, or a nested stack is unknown.
//!
//! - `foreach`: `Fn::ForEach` loops (the `AWS::LanguageExtensions` transform), expanded first.
//! - `intrinsics`: values and their evaluation.
//! - `sam`: API types and resource policies of API Gateway and SAM resources.

use std::collections::HashMap;

use crate::imported::{
    Api, ApiKind, AuthKind, Cname, Domain, Endpoint, Imported, KeyMethod, Loc, Ref, UsagePlan, Vpc,
    Zone,
};
use crate::source::{Kind, Node};

mod foreach;
mod intrinsics;
mod openapi;
mod sam;

use intrinsics::{Ctx, V};
use openapi::Definition;
use sam::{api_kind, join_policies, kind_of, policy_json, sam_policy};

/// Whether a parsed file is a standalone OpenAPI 3 or Swagger 2.0 definition.
pub fn is_definition_file(root: &Node) -> bool {
    (root.get("openapi").is_some() || root.get("swagger").is_some())
        && root.get("paths").is_some()
        && root.get("Resources").is_none()
}

/// Reads one template; definition files it names are read from beside it.
pub fn import(root: &Node, file: &str) -> Imported {
    import_with(root, file, crate::input::DEFAULT_MAX_INPUT)
}

/// [`import`] with a cap on the size of each definition file the template names.
pub fn import_with(root: &Node, file: &str, max_bytes: u64) -> Imported {
    import_sized(root, file, max_bytes, SIDE_BY_SIDE_FROM)
}

/// [`import_with`], sharing the work with a second thread from `side_from` resources; a
/// template's `Fn::ForEach` loops are expanded first.
fn import_sized(root: &Node, file: &str, max_bytes: u64, side_from: usize) -> Imported {
    if !foreach::has_loops(root) {
        return import_expanded(root, file, max_bytes, side_from);
    }
    let loc = |line: u32, name: &str| Loc {
        file: file.to_owned(),
        line: line.max(1),
        resource: format!("Fn::ForEach::{name}"),
    };
    match foreach::expand(root) {
        Ok(x) => {
            let mut out = import_expanded(&x.root, file, max_bytes, side_from);
            for (line, name, why) in x.unknown {
                out.unknowns.push((
                    loc(line, &name),
                    format!(
                        "the loop's collection is not known from the template alone ({why}): what it makes is not read"
                    ),
                ));
            }
            out
        }
        Err((line, name, why)) => {
            let mut out = Imported::default();
            out.errors.push((loc(line, &name), why.to_string()));
            out
        }
    }
}

fn import_expanded(root: &Node, file: &str, max_bytes: u64, side_from: usize) -> Imported {
    let mut out = Imported::default();
    let Some(resources) = root.get("Resources") else {
        out.errors.push((
            Loc {
                file: file.to_owned(),
                line: root.line.max(1),
                resource: String::new(),
            },
            "no Resources section: expected a CloudFormation template".to_owned(),
        ));
        return out;
    };
    let mut params = HashMap::new();
    let mut region = None;
    for (name, p) in root
        .get("Parameters")
        .map(Node::entries)
        .unwrap_or_default()
    {
        let v = parameter_value(name, p);
        if name == "Region" {
            region = v.as_str().map(str::to_owned);
        }
        if out.account.is_none()
            && name.to_ascii_lowercase().contains("account")
            && let Some(a) = v.as_str().and_then(crate::imported::account_of)
        {
            out.account = Some(a);
        }
        params.insert(name.clone(), v);
    }
    let ctx = Ctx {
        params,
        mappings: root.get("Mappings"),
        conditions: root.get("Conditions"),
        resources: resources
            .entries()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect(),
        region,
        language_extensions: foreach::declares_transform(root),
    };
    let globals_api = root
        .get("Globals")
        .and_then(|g| g.get("Api"))
        .map(|a| ctx.eval(a, 0));
    let dir = std::path::Path::new(file)
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let event_apis = event_apis(resources);
    let reader = |out, later: bool| Reader {
        ctx: &ctx,
        file,
        dir: &dir,
        max_bytes,
        globals_api: globals_api.as_ref(),
        event_apis: &event_apis,
        out,
        learned: later.then(Vec::new),
        mappings: Vec::new(),
        access: Vec::new(),
        implicit: Vec::new(),
        unnamed_domains: Vec::new(),
        event_policies: Vec::new(),
    };
    let mut r = reader(out, false);
    // Room for the lists that grow to the template's size, counted in one pass.
    let (mut vpcs, mut endpoints, mut apis) = (0, 0, 0);
    for (_, n) in resources.entries() {
        match n.get("Type").and_then(Node::as_str) {
            Some("AWS::EC2::VPC") => vpcs += 1,
            Some("AWS::EC2::VPCEndpoint") => endpoints += 1,
            Some(
                "AWS::ApiGateway::RestApi"
                | "AWS::Serverless::Api"
                | "AWS::ApiGatewayV2::Api"
                | "AWS::Serverless::HttpApi"
                | "AWS::Serverless::WebSocketApi",
            ) => apis += 1,
            _ => {}
        }
    }
    r.out.reserve(vpcs, endpoints, apis);
    // A large template's resources are read in two halves side by side, the second by a reader
    // of its own whose lists follow the first's: what one reader reading them all would make.
    let side = crate::in_halves(
        resources.entries(),
        side_from,
        &mut r,
        || reader(Imported::default(), true),
        |r, part| {
            for (key, node) in part {
                r.resource(key, node);
            }
        },
    );
    if let Some(second) = side {
        r.append(second);
    }
    r.finish()
}

/// A resource whose Type is one of Rain's modules.
const RAIN_MODULE: &str = "`Type: !Rain::Module` is a Rain module, which CloudFormation does not \
     read: analyze what `rain pkg` makes of the template";

/// How many resources a template has before its work is shared with a second thread.
const SIDE_BY_SIDE_FROM: usize = 10_000;

/// What a template's parameter is taken to be: its default, unless it has none or the default
/// is a placeholder (both unknown).
fn parameter_value(name: &str, p: &Node) -> V {
    match p.get("Default") {
        Some(d) => match Ctx::plain().eval(d, 0) {
            V::Str(s) if placeholder(&s) => V::Unknown(format!(
                "parameter {name}'s default `{s}` is a placeholder: its value is given at deploy time"
            )),
            v => v,
        },
        None => V::Unknown(format!("parameter {name} has no default")),
    }
}

/// A parameter default written to be replaced (`<VPC ID here>`, `REPLACE_ME`, `CHANGE-ME`,
/// `TODO`): the value deployed is another, so nothing is predicted from it.
fn placeholder(s: &str) -> bool {
    let t = s.trim();
    let upper = t.to_ascii_uppercase().replace(['-', ' '], "_");
    (t.starts_with('<') && t.ends_with('>') && t.len() > 2)
        || (t.starts_with("{{") && t.ends_with("}}"))
        || [
            "REPLACE_ME",
            "REPLACEME",
            "CHANGE_ME",
            "CHANGEME",
            "TODO",
            "TBD",
            "FIXME",
        ]
        .iter()
        .any(|p| upper == *p || upper.starts_with(&format!("{p}_")))
}

/// What a reader of a later part learned of the template's Region and account: the Region of
/// an endpoint's service name, or an account (and its ARN's Region) from a policy. Each is
/// applied, as when it was read, only where nothing earlier had set it. At most one of each
/// is kept: the part's own Region and account, once set, stop it looking.
enum Learned {
    Region(String),
    Account(Option<String>, Option<String>),
}

/// One resource, evaluated.
struct Res<'n> {
    key: String,
    node: &'n Node,
    props: V,
    loc: Loc,
}

impl Res<'_> {
    fn prop(&self, name: &str) -> Option<V> {
        self.props.get(name).cloned()
    }

    /// The line of a property, or the resource's.
    fn line_of(&self, name: &str) -> u32 {
        self.node
            .get("Properties")
            .and_then(|p| p.get(name))
            .map_or(self.loc.line, |n| n.line)
    }
}

/// An implicit API that SAM creates for functions' events (`ServerlessRestApi`,
/// `ServerlessHttpApi`), declared where the first such function is.
struct Implicit {
    key: &'static str,
    http: bool,
    loc: Loc,
}

struct Reader<'a, 's> {
    ctx: &'s Ctx<'a>,
    file: &'a str,
    dir: &'s std::path::Path,
    max_bytes: u64,
    globals_api: Option<&'s V>,
    /// The APIs that SAM functions' and state machines' `Api` events name by `RestApiId`.
    event_apis: &'s foldhash::HashSet<&'a str>,
    out: Imported,
    /// A reader of a later part of the resources (side by side with the first): what it learned
    /// of the Region and account, in order, to be applied after what the earlier part learned.
    learned: Option<Vec<Learned>>,
    /// Base path mappings, attached once every resource is read: template order means nothing.
    mappings: Vec<(V, Ref, Loc)>,
    /// Access associations of private custom domain names: (domain, endpoint, where).
    access: Vec<(V, Ref, Loc)>,
    implicit: Vec<Implicit>,
    /// Custom domains whose name the template does not give (a parameter without a default):
    /// their key and that unknown value, which a mapping naming the same value points at.
    unnamed_domains: Vec<(String, V)>,
    /// `Auth.ResourcePolicy` of functions' `Api` events: the statements SAM adds to that API's
    /// policy for the event's path, joined to it once every API is read.
    event_policies: Vec<(Ref, V, Loc)>,
}

/// The logical ids that SAM functions' and state machines' `Api` events name as their
/// `RestApiId` (`Ref: X`, either form), read before the resources are.
fn event_apis(resources: &Node) -> foldhash::HashSet<&str> {
    let mut out = foldhash::HashSet::default();
    for (_, res) in resources.entries() {
        if !matches!(
            res.get("Type").and_then(Node::as_str),
            Some("AWS::Serverless::Function" | "AWS::Serverless::StateMachine")
        ) {
            continue;
        }
        let events = res.get("Properties").and_then(|p| p.get("Events"));
        for (_, ev) in events.map(Node::entries).unwrap_or_default() {
            if ev.get("Type").and_then(Node::as_str) != Some("Api") {
                continue;
            }
            let id = ev.get("Properties").and_then(|p| p.get("RestApiId"));
            let target = id.and_then(|n| match &n.kind {
                Kind::Tag(t, inner) if t.trim_start_matches('!') == "Ref" => inner.as_str(),
                Kind::Map(_) => n.get("Ref").and_then(Node::as_str),
                _ => None,
            });
            out.extend(target);
        }
    }
    out
}

fn to_ref(v: &V) -> Ref {
    match v {
        V::Res(r) => Ref::Key(r.clone()),
        // `GetAtt Vpc.VpcId`, `GetAtt Endpoint.Id`: the resource's id, as `Ref` gives it.
        V::Attr(r, a) if a == "VpcId" || a == "Id" => Ref::Key(r.clone()),
        V::Str(s) => Ref::Id(s.clone()),
        V::Unknown(why) => Ref::Unknown(why.clone()),
        other => Ref::Unknown(other.text()),
    }
}

fn refs(v: &V) -> Vec<Ref> {
    match v {
        V::List(l) => l.iter().map(to_ref).collect(),
        other => vec![to_ref(other)],
    }
}

impl Reader<'_, '_> {
    fn loc(&self, key: &str, line: u32) -> Loc {
        Loc {
            file: self.file.to_owned(),
            line,
            resource: key.to_owned(),
        }
    }

    fn unknown(&mut self, r: &Res<'_>, what: &str, v: &Option<V>) {
        if let Some(V::Unknown(why)) = v {
            self.out
                .unknowns
                .push((r.loc.clone(), format!("{what}: {why}")));
        }
    }

    fn resource(&mut self, key: &str, node: &Node) {
        let l = self.loc(key, node.line);
        if let Some(cond) = node.get("Condition").and_then(Node::as_str) {
            match self.ctx.condition(cond, 0) {
                Some(false) => return,
                Some(true) => {}
                None => self.out.unknowns.push((
                    l.clone(),
                    format!(
                        "created only if condition {cond} holds, which depends on unknown values"
                    ),
                )),
            }
        }
        let ty = match node.get("Type").map(|t| &t.kind) {
            Some(Kind::Str(ty)) => ty.as_str(),
            // Rain's modules (`Type: !Rain::Module path`, in JSON `{"Rain::Module": path}`) are
            // expanded by `rain pkg`, not by CloudFormation.
            Some(Kind::Tag(tag, _)) if tag.trim_start_matches('!') == "Rain::Module" => {
                self.out.errors.push((l, RAIN_MODULE.to_owned()));
                return;
            }
            Some(Kind::Map(m)) if matches!(m.as_slice(), [(k, _)] if k == "Rain::Module") => {
                self.out.errors.push((l, RAIN_MODULE.to_owned()));
                return;
            }
            Some(_) => {
                self.out
                    .errors
                    .push((l, "the resource's Type is not a string".to_owned()));
                return;
            }
            None => {
                self.out
                    .errors
                    .push((l, "a resource without a Type".to_owned()));
                return;
            }
        };
        let props = node
            .get("Properties")
            .map(|p| self.ctx.eval(p, 0))
            .unwrap_or(V::Map(vec![]));
        let r = Res {
            key: key.to_owned(),
            node,
            props,
            loc: l,
        };
        self.check_booleans(&r);
        if !READ_TYPES.contains(&ty)
            && let Some(near) = nearest_type(ty)
        {
            self.out
                .misspelled_types
                .push((ty.to_owned(), near.to_owned(), r.loc.clone()));
        }
        match ty {
            "AWS::EC2::VPC" => self.vpc(r),
            "AWS::EC2::VPCEndpoint" => self.endpoint(r),
            "AWS::ApiGateway::RestApi" => self.rest_api(r),
            "AWS::Serverless::Api" => self.serverless_api(r),
            "AWS::ApiGatewayV2::Api"
            | "AWS::Serverless::HttpApi"
            | "AWS::Serverless::WebSocketApi" => self.http_api(r),
            // A state machine's `Api` events make SAM's implicit API as a function's do.
            "AWS::Serverless::Function" | "AWS::Serverless::StateMachine" => self.function(r),
            "AWS::ApiGateway::DomainName"
            | "AWS::ApiGatewayV2::DomainName"
            | "AWS::ApiGateway::DomainNameV2" => self.domain(ty, r),
            "AWS::ApiGateway::BasePathMapping"
            | "AWS::ApiGatewayV2::ApiMapping"
            | "AWS::ApiGateway::BasePathMappingV2" => self.mapping(r),
            "AWS::ApiGateway::DomainNameAccessAssociation" => {
                if let (Some(d), Some(src)) =
                    (r.prop("DomainNameArn"), r.prop("AccessAssociationSource"))
                {
                    self.access.push((d, to_ref(&src), r.loc));
                }
            }
            "AWS::Route53::HostedZone" => self.zone(r),
            "AWS::Route53::RecordSet" => self.record(r),
            "AWS::Route53Profiles::Profile" => self.out.profiles.push(crate::imported::Profile {
                key: r.key.clone(),
                id: None,
                loc: r.loc,
            }),
            "AWS::Route53Profiles::ProfileAssociation" => {
                if let (Some(p), Some(v)) = (r.prop("ProfileId"), r.prop("ResourceId")) {
                    self.out.profile_vpcs.push((to_ref(&p), to_ref(&v), r.loc));
                }
            }
            "AWS::Route53Profiles::ProfileResourceAssociation" => self.profile_resource(r),
            "AWS::ApiGateway::Method" => self.method(r),
            "AWS::ApiGateway::Stage" | "AWS::ApiGateway::Deployment" => {
                if let (Some(api), Some(V::Str(stage))) = (r.prop("RestApiId"), r.prop("StageName"))
                {
                    let stages = if ty == "AWS::ApiGateway::Stage" {
                        &mut self.out.stages
                    } else {
                        &mut self.out.deployment_stages
                    };
                    stages.push((to_ref(&api), stage));
                }
            }
            "AWS::ApiGateway::UsagePlan" => self.usage_plan(r),
            "AWS::ApiGateway::UsagePlanKey" => {
                if let Some(plan) = r.prop("UsagePlanId") {
                    self.out.plan_keys.push(to_ref(&plan));
                }
            }
            "AWS::CloudFormation::Stack" => self.out.unknowns.push((
                r.loc,
                "a nested stack: its resources and outputs are not read".to_owned(),
            )),
            _ => {}
        }
    }

    /// A boolean property with another value (`ture`): CloudFormation refuses the template.
    fn check_booleans(&mut self, r: &Res<'_>) {
        for name in BOOLEAN_PROPERTIES {
            if let Some(v) = r.props.get(name)
                && !matches!(v, V::Unknown(_))
                && v.as_bool().is_none()
            {
                self.out.errors.push((
                    Loc {
                        line: r.line_of(name),
                        ..r.loc.clone()
                    },
                    format!("{name}: `{}` is not a boolean (true or false)", v.text()),
                ));
            }
        }
    }

    fn profile_resource(&mut self, r: Res<'_>) {
        let arn = r.prop("ResourceArn");
        self.unknown(&r, "ResourceArn", &arn);
        if let (Some(p), Some(arn)) = (r.prop("ProfileId"), arn) {
            let what = match &arn {
                V::Unknown(why) => crate::imported::ProfileResource::Other(why.clone()),
                other => crate::imported::ProfileResource::from_arn(&other.text()),
            };
            self.out.profile_resources.push((to_ref(&p), what, r.loc));
        }
    }

    fn vpc(&mut self, r: Res<'_>) {
        self.out.vpcs.push(Vpc {
            key: r.key.clone(),
            id: None,
            dns_support: Some(
                r.prop("EnableDnsSupport")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(true),
            ),
            dns_hostnames: Some(
                r.prop("EnableDnsHostnames")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
            ),
            loc: r.loc,
        });
    }

    fn endpoint(&mut self, r: Res<'_>) {
        let service = r.prop("ServiceName");
        if self.out.region.is_none() {
            self.out.region = service
                .as_ref()
                .and_then(|s| s.as_str())
                .and_then(crate::imported::region_of_service);
            // None leaves the Region unset wherever it is read: not worth keeping.
            if let (Some(l), Some(r)) = (&mut self.learned, &self.out.region) {
                l.push(Learned::Region(r.clone()));
            }
        }
        let private_dns = r.prop("PrivateDnsEnabled");
        self.unknown(&r, "ServiceName", &service);
        self.unknown(&r, "PrivateDnsEnabled", &private_dns);
        let kind = r.prop("VpcEndpointType");
        // PolicyDocument: an object, or a JSON string.
        let (policy, policy_why) = policy_json(r.prop("PolicyDocument"));
        if let Some(p) = &policy {
            self.note_account(p);
        }
        if let Some(why) = &policy_why {
            self.out
                .unknowns
                .push((r.loc.clone(), format!("the endpoint policy: {why}")));
        }
        self.out.endpoints.push(Endpoint {
            key: r.key.clone(),
            id: None,
            vpc: r
                .prop("VpcId")
                .map(|v| to_ref(&v))
                .unwrap_or_else(|| Ref::Unknown("no VpcId".to_owned())),
            service: service.as_ref().and_then(|s| s.as_str().map(short_service)),
            // CloudFormation's default endpoint type is Gateway.
            interface: match &kind {
                None => Some(false),
                Some(V::Str(s)) => Some(s == "Interface"),
                Some(_) => None,
            },
            private_dns: match &private_dns {
                None => Some(false),
                Some(v) => v.as_bool(),
            },
            policy,
            policy_unknown: policy_why.is_some(),
            enis: Vec::new(),
            loc: r.loc,
        });
    }

    /// `AWS::ApiGateway::RestApi`: properties first, then the definition (`Body`, or a local
    /// `BodyS3Location` file) for what the properties leave out.
    fn rest_api(&mut self, r: Res<'_>) {
        let (def, def_unknown) = match (r.prop("Body"), r.prop("BodyS3Location")) {
            (Some(V::Str(text)), _) => self.definition_text(&r, "Body", &text),
            (Some(body), _) => self.definition_value(&r, "Body", body),
            (None, Some(location)) => {
                self.definition_file(&r, Included::No, "BodyS3Location", &location)
            }
            (None, None) => (None, None),
        };
        let kind = api_kind("AWS::ApiGateway::RestApi", &r.props, self.ctx);
        let policy = r
            .prop("Policy")
            .or_else(|| def.as_ref().and_then(|d| d.policy.clone()));
        let vpces = r
            .props
            .get("EndpointConfiguration")
            .and_then(|e| e.get("VpcEndpointIds"))
            .cloned();
        self.push_api(r, kind, policy, def_unknown, vpces, def.as_ref(), &[]);
    }

    /// `AWS::Serverless::Api`, with `Globals.Api` merged in: the definition (`DefinitionBody`,
    /// `AWS::Include`, a local `DefinitionUri`), then `Auth` (its resource policy, API keys and
    /// authorizers) as SAM's translator applies them.
    fn serverless_api(&mut self, mut r: Res<'_>) {
        if let Some(g) = &self.globals_api {
            r.props = merge(g, &r.props);
        }
        let (def, def_unknown) = self.sam_definition(&r);
        let kind = api_kind("AWS::Serverless::Api", &r.props, self.ctx);
        // SAM's implicit API is deployed to the stage `Prod`.
        let stage = match r.prop("StageName") {
            Some(V::Str(s)) => Some(s),
            _ if r.node.entries().is_empty() && r.key == "ServerlessRestApi" => {
                Some("Prod".to_owned())
            }
            _ => None,
        };
        if let Some(s) = stage {
            self.out.stages.push((Ref::Key(r.key.clone()), s));
        }
        let auth = r.prop("Auth");
        let mut parts = Vec::new();
        if let Some(p) = def.as_ref().and_then(|d| d.policy.clone()) {
            parts.push(p);
        }
        if let Some(p) = r.prop("Policy") {
            parts.push(p);
        }
        // SAM writes Auth.ResourcePolicy's statements for each path of the API (its
        // definition's, and those its events add): an API with neither gets none.
        let implicit = r.node.entries().is_empty() && r.key == "ServerlessRestApi";
        let has_paths = implicit
            || self.event_apis.contains(r.key.as_str())
            || def.as_ref().is_some_and(|d| d.has_paths)
            || def_unknown.is_some();
        if let Some(p) = auth
            .as_ref()
            .and_then(|a| a.get("ResourcePolicy"))
            .and_then(|rp| sam_policy(rp, has_paths))
        {
            parts.push(p);
        }
        let policy = join_policies(&parts);
        let vpces = match r.props.get("EndpointConfiguration") {
            Some(e @ V::Map(_)) => e
                .get("VPCEndpointIds")
                .or_else(|| e.get("VpcEndpointIds"))
                .cloned(),
            _ => None,
        };
        let auth_kinds = auth.as_ref().map(sam_auth).unwrap_or_default();
        // `Auth.UsagePlan.CreateUsagePlan: PER_API | SHARED` makes SAM create a usage plan for
        // the API, and an API key attached to it.
        if let Some(create) = auth
            .as_ref()
            .and_then(|a| a.get("UsagePlan"))
            .and_then(|u| u.get("CreateUsagePlan"))
            .and_then(V::as_str)
            .filter(|c| matches!(*c, "PER_API" | "SHARED"))
        {
            let plan = format!(
                "{}UsagePlan",
                if create == "SHARED" {
                    "ServerlessUsagePlan"
                } else {
                    &r.key
                }
            );
            self.out.usage_plans.push(UsagePlan {
                key: plan.clone(),
                id: None,
                apis: vec![Ref::Key(r.key.clone())],
                loc: r.loc.clone(),
            });
            self.out.plan_keys.push(Ref::Key(plan));
        }
        if auth
            .as_ref()
            .and_then(|a| a.get("ApiKeyRequired"))
            .and_then(V::as_bool)
            == Some(true)
        {
            self.out.key_methods.push(KeyMethod {
                api: Ref::Key(r.key.clone()),
                loc: r.loc.clone(),
            });
        }
        self.sam_domain(&r, false);
        self.push_api(
            r,
            kind,
            policy,
            def_unknown,
            vpces,
            def.as_ref(),
            &auth_kinds,
        );
    }

    /// SAM's `Domain` on an API: the custom domain and base path mappings SAM's translator makes
    /// of it (its `api_generator`: `EndpointConfiguration` REGIONAL unless given, PRIVATE a
    /// `DomainNameV2`, a mapping per `BasePath`), read as those resources are read.
    fn sam_domain(&mut self, r: &Res<'_>, http: bool) {
        let Some(d @ V::Map(_)) = r.prop("Domain") else {
            return;
        };
        let endpoint = d
            .get("EndpointConfiguration")
            .cloned()
            .unwrap_or_else(|| V::Str("REGIONAL".into()));
        let mut props: Vec<(String, V)> = [
            "DomainName",
            "MutualTlsAuthentication",
            "SecurityPolicy",
            "EndpointAccessMode",
            "Policy",
        ]
        .into_iter()
        .filter_map(|k| Some((k.to_owned(), d.get(k)?.clone())))
        .collect();
        let ty = if http {
            let config = V::Map(vec![("EndpointType".into(), endpoint)]);
            props.push(("DomainNameConfigurations".into(), V::List(vec![config])));
            "AWS::ApiGatewayV2::DomainName"
        } else if endpoint.as_str() == Some("PRIVATE") {
            "AWS::ApiGateway::DomainNameV2"
        } else {
            let types = V::Map(vec![("Types".into(), V::List(vec![endpoint]))]);
            props.push(("EndpointConfiguration".into(), types));
            "AWS::ApiGateway::DomainName"
        };
        // APIs that name the same domain share it, as SAM makes one domain resource per name.
        let key = match d.get("DomainName") {
            Some(V::Str(name)) => format!("{name} (SAM Domain)"),
            _ => format!("{}Domain", r.key),
        };
        if !self.out.domains.iter().any(|x| x.key == key) {
            self.domain(
                ty,
                Res {
                    key: key.clone(),
                    node: r.node,
                    props: V::Map(props),
                    loc: r.loc.clone(),
                },
            );
        }
        self.mappings
            .push((V::Res(key), Ref::Key(r.key.clone()), r.loc.clone()));
    }

    /// HTTP and WebSocket APIs (`AWS::ApiGatewayV2::Api`, `AWS::Serverless::HttpApi`,
    /// `AWS::Serverless::WebSocketApi`): Regional
    /// by construction, no resource policy.
    fn http_api(&mut self, r: Res<'_>) {
        let body = r
            .prop("Body")
            .filter(openapi::is_definition)
            .map(|b| Definition::read(&b));
        // The name, else the OpenAPI body's title (API Gateway names an imported API by it).
        let name = r
            .prop("Name")
            .map(|v| v.text())
            .or_else(|| body.as_ref().and_then(|d| d.title.clone()))
            .unwrap_or_else(|| r.key.clone());
        // The property, else the body's `x-amazon-apigateway-endpoint-configuration` (SAM
        // writes `DisableExecuteApiEndpoint` there, on the body's server).
        let disable = r
            .prop("DisableExecuteApiEndpoint")
            .or_else(|| body.and_then(|d| d.disable_execute_api_endpoint));
        let disable_default = self.disable_default(&r, disable);
        self.sam_domain(&r, true);
        self.out.apis.push(Api {
            account: None,
            key: r.key.clone(),
            http: true,
            id: None,
            name,
            kind: Some(ApiKind::Regional),
            policy: None,
            policy_unknown: false,
            vpc_endpoints: Vec::new(),
            disable_default,
            security: Default::default(),
            loc: r.loc,
        });
    }

    /// Whether an API's default endpoint is disabled: not when nothing says so; a value the
    /// template does not fix is an unknown line, not a guess.
    fn disable_default(&mut self, r: &Res<'_>, v: Option<V>) -> Option<bool> {
        let Some(v) = v else {
            return Some(false);
        };
        let b = v.as_bool();
        if b.is_none() {
            self.out.unknowns.push((
                r.loc.clone(),
                format!(
                    "DisableExecuteApiEndpoint is {}: whether the default execute-api endpoint answers",
                    v.text()
                ),
            ));
        }
        b
    }

    /// A SAM function's (or state machine's) `Api` and `HttpApi` events: without a
    /// `RestApiId`/`ApiId` they create SAM's implicit `ServerlessRestApi`/`ServerlessHttpApi`.
    fn function(&mut self, r: Res<'_>) {
        let Some(V::Map(events)) = r.props.get("Events") else {
            return;
        };
        for (_, ev) in events {
            let ty = ev.get("Type").and_then(V::as_str).unwrap_or("");
            let props = ev.get("Properties");
            let (http, explicit) = match ty {
                "Api" => (false, props.and_then(|p| p.get("RestApiId"))),
                "HttpApi" => (true, props.and_then(|p| p.get("ApiId"))),
                _ => continue,
            };
            let auth = props.and_then(|p| p.get("Auth"));
            let key_required = auth
                .and_then(|a| a.get("ApiKeyRequired"))
                .and_then(V::as_bool)
                == Some(true);
            let authorizer = match auth.and_then(|a| a.get("Authorizer")).and_then(V::as_str) {
                Some("AWS_IAM") => Some(AuthKind::Iam),
                Some("NONE") | None => None,
                Some(_) => Some(AuthKind::Lambda),
            };
            let api = match explicit {
                Some(v) => to_ref(v),
                None => {
                    let key = if http {
                        "ServerlessHttpApi"
                    } else {
                        "ServerlessRestApi"
                    };
                    if !self.implicit.iter().any(|i| i.key == key) {
                        self.implicit.push(Implicit {
                            key,
                            http,
                            loc: r.loc.clone(),
                        });
                    }
                    Ref::Key(key.to_owned())
                }
            };
            if http {
                continue;
            }
            if let Some(p) = auth
                .and_then(|a| a.get("ResourcePolicy"))
                .and_then(|rp| sam_policy(rp, true))
            {
                self.event_policies.push((api.clone(), p, r.loc.clone()));
            }
            if key_required {
                self.out.key_methods.push(KeyMethod {
                    api: api.clone(),
                    loc: r.loc.clone(),
                });
            }
            if let Some(k) = authorizer {
                self.out.authorizers.push((api, k, r.loc.clone()));
            }
        }
    }

    fn domain(&mut self, ty: &str, r: Res<'_>) {
        let types = r
            .props
            .get("EndpointConfiguration")
            .and_then(|e| e.get("Types"))
            .cloned();
        let v2_type = r
            .props
            .get("DomainNameConfigurations")
            .and_then(|c| match c {
                V::List(l) => l.first().and_then(|f| f.get("EndpointType")).cloned(),
                _ => None,
            });
        let kind = match (ty, types.or(v2_type)) {
            ("AWS::ApiGateway::DomainNameV2", _) => Some(ApiKind::Private),
            ("AWS::ApiGatewayV2::DomainName", None) => Some(ApiKind::Regional),
            (_, Some(t)) => kind_of(&t),
            (_, None) => Some(ApiKind::Edge),
        };
        // A private custom domain name's own policy (`DomainNameV2` `Policy`).
        let (policy, policy_why) = sam::policy_json(r.prop("Policy"));
        if let Some(why) = &policy_why {
            self.out
                .unknowns
                .push((r.loc.clone(), format!("Policy: {why}")));
        }
        let security = self.security(&r, None);
        if let Some(name @ V::Unknown(_)) = r.prop("DomainName") {
            self.unnamed_domains.push((r.key.clone(), name));
        }
        self.out.domains.push(Domain {
            key: r.key.clone(),
            name: r
                .prop("DomainName")
                .and_then(|v| v.as_str().map(str::to_owned)),
            kind,
            mtls: r.props.get("MutualTlsAuthentication").is_some(),
            apis: Vec::new(),
            policy_unknown: policy_why.is_some(),
            policy: if policy_why.is_some() { None } else { policy },
            access: Vec::new(),
            security,
            loc: r.loc,
        });
    }

    fn mapping(&mut self, r: Res<'_>) {
        if let (Some(d), Some(a)) = (
            r.prop("DomainName").or_else(|| r.prop("DomainNameArn")),
            r.prop("RestApiId").or_else(|| r.prop("ApiId")),
        ) {
            self.mappings.push((d, to_ref(&a), r.loc));
        }
    }

    fn zone(&mut self, r: Res<'_>) {
        let vpcs = match r.props.get("VPCs") {
            Some(V::List(l)) => l
                .iter()
                .filter_map(|v| v.get("VPCId"))
                .map(to_ref)
                .collect(),
            _ => Vec::new(),
        };
        self.out.zones.push(Zone {
            key: r.key.clone(),
            name: r.prop("Name").and_then(|v| v.as_str().map(str::to_owned)),
            vpcs,
            loc: r.loc,
        });
    }

    fn record(&mut self, r: Res<'_>) {
        let kind = r
            .prop("Type")
            .as_ref()
            .and_then(V::as_str)
            .unwrap_or_default()
            .to_owned();
        let zone = match (r.prop("HostedZoneId"), r.prop("HostedZoneName")) {
            (Some(id), _) => Some(to_ref(&id)),
            (None, Some(V::Str(name))) => Some(Ref::Id(name)),
            _ => None,
        };
        if let (Some(zone), Some(name)) = (
            zone,
            r.prop("Name").and_then(|v| v.as_str().map(str::to_owned)),
        ) {
            let alias = r.props.get("AliasTarget").and_then(|a| a.get("DNSName"));
            let (kind, values) = match alias {
                Some(target) => ("ALIAS".to_owned(), vec![target.text()]),
                None => (
                    kind.clone(),
                    match r.props.get("ResourceRecords") {
                        Some(V::List(l)) => l.iter().map(V::text).collect(),
                        _ => Vec::new(),
                    },
                ),
            };
            self.out.zone_records.push(crate::imported::ZoneRecord {
                zone,
                name: normalise_record_name(&name),
                kind,
                values,
                loc: r.loc.clone(),
            });
        }
        if kind != "CNAME" {
            return;
        }
        let first = match r.props.get("ResourceRecords") {
            Some(V::List(l)) => l.first().cloned(),
            _ => None,
        };
        let (target, target_domain) = match first {
            Some(V::Str(s)) => (Some(s), None),
            Some(V::Attr(res, a)) if a.contains("DomainName") => (None, Some(res)),
            _ => (None, None),
        };
        self.out.cnames.push(Cname {
            name: r.prop("Name").and_then(|v| v.as_str().map(str::to_owned)),
            target,
            target_domain,
            loc: r.loc,
        });
    }

    fn method(&mut self, r: Res<'_>) {
        let required = r.prop("ApiKeyRequired");
        self.unknown(&r, "ApiKeyRequired", &required);
        let Some(api) = r.prop("RestApiId") else {
            return;
        };
        let auth = match r.prop("AuthorizationType").as_ref().and_then(V::as_str) {
            Some("AWS_IAM") => Some(AuthKind::Iam),
            Some("CUSTOM") => Some(AuthKind::Lambda),
            Some("COGNITO_USER_POOLS") => Some(AuthKind::Cognito),
            _ => None,
        };
        if let Some(k) = auth {
            self.out.authorizers.push((to_ref(&api), k, r.loc.clone()));
        }
        if required.as_ref().and_then(V::as_bool) == Some(true) {
            self.out.key_methods.push(KeyMethod {
                api: to_ref(&api),
                loc: r.loc,
            });
        }
    }

    fn usage_plan(&mut self, r: Res<'_>) {
        let apis = match r.props.get("ApiStages") {
            Some(V::List(stages)) => stages
                .iter()
                .filter_map(|st| st.get("ApiId"))
                .map(to_ref)
                .collect(),
            Some(other @ V::Unknown(_)) => vec![to_ref(other)],
            _ => Vec::new(),
        };
        self.out.usage_plans.push(UsagePlan {
            key: r.key.clone(),
            id: None,
            apis,
            loc: r.loc,
        });
    }

    /// An API with everything the resource and its definition say; `def_unknown` says why the
    /// definition, and so perhaps the policy, could not be read.
    #[allow(clippy::too_many_arguments)]
    fn push_api(
        &mut self,
        r: Res<'_>,
        kind: Option<ApiKind>,
        policy: Option<V>,
        def_unknown: Option<String>,
        vpces: Option<V>,
        def: Option<&Definition>,
        auth: &[AuthKind],
    ) {
        let name = r
            .prop("Name")
            .map(|v| v.text())
            .or_else(|| def.and_then(|d| d.title.clone()))
            .unwrap_or_else(|| r.key.clone());
        let (policy, policy_why) = policy_json(policy);
        let mut policy_unknown = policy_why.is_some();
        if let Some(why) = &policy_why {
            self.out
                .unknowns
                .push((r.loc.clone(), format!("the resource policy: {why}")));
        }
        if let Some(why) = &def_unknown {
            self.out
                .unknowns
                .push((r.loc.clone(), format!("the API definition: {why}")));
            policy_unknown |= policy.is_none();
        }
        if let Some(p) = &policy {
            self.note_account(p);
        }
        let vpces = vpces.or_else(|| def.and_then(|d| d.vpc_endpoint_ids.clone()));
        let disable = r
            .prop("DisableExecuteApiEndpoint")
            .or_else(|| def.and_then(|d| d.disable_execute_api_endpoint.clone()));
        let disable_default = self.disable_default(&r, disable);
        let me = Ref::Key(r.key.clone());
        if let Some(d) = def {
            for m in &d.key_methods {
                self.out.key_methods.push(KeyMethod {
                    api: me.clone(),
                    loc: Loc {
                        resource: format!("{} {m}", r.key),
                        ..r.loc.clone()
                    },
                });
            }
        }
        for k in auth
            .iter()
            .chain(def.map(|d| &d.authorizers[..]).unwrap_or_default())
        {
            self.out.authorizers.push((me.clone(), *k, r.loc.clone()));
        }
        let security = self.security(&r, def);
        self.out.apis.push(Api {
            account: None,
            key: r.key.clone(),
            http: false,
            id: None,
            name,
            kind,
            policy,
            policy_unknown,
            vpc_endpoints: vpces.as_ref().map(refs).unwrap_or_default(),
            disable_default,
            security,
            loc: r.loc,
        });
    }

    /// A resource's `SecurityPolicy` and `EndpointAccessMode` (or, for an API, its definition's
    /// extensions); an unresolved value is an unknown line.
    fn security(&mut self, r: &Res<'_>, def: Option<&Definition>) -> crate::imported::Security {
        let mut unknown = Vec::new();
        let mut text = |prop: &str, ext: Option<&V>| -> Option<String> {
            match r.prop(prop).or_else(|| ext.cloned()) {
                Some(V::Str(s)) => Some(s),
                Some(other) => {
                    unknown.push((r.loc.clone(), format!("{prop} is {}", other.text())));
                    None
                }
                None => None,
            }
        };
        let policy = text(
            "SecurityPolicy",
            def.and_then(|d| d.security_policy.as_ref()),
        );
        let mode = text(
            "EndpointAccessMode",
            def.and_then(|d| d.endpoint_access_mode.as_ref()),
        );
        self.out.unknowns.extend(unknown);
        crate::imported::Security::read(
            policy.as_deref(),
            mode.as_deref(),
            &r.loc,
            &mut self.out.unknowns,
        )
    }

    /// The account of the API, from an execute-api ARN in its policy's `Resource`.
    fn note_account(&mut self, policy: &serde_json::Value) {
        if self.out.account.is_some() {
            return;
        }
        let statements = match policy.get("Statement") {
            Some(serde_json::Value::Array(a)) => a.iter().collect(),
            Some(one) => vec![one],
            None => Vec::new(),
        };
        for st in statements {
            let resources = match st.get("Resource") {
                Some(serde_json::Value::Array(a)) => a.iter().collect(),
                Some(one) => vec![one],
                None => Vec::new(),
            };
            if let Some(arn) = resources
                .iter()
                .filter_map(|v| v.as_str())
                .filter(|s| s.starts_with("arn:aws:execute-api:"))
                .find(|s| crate::imported::account_of(s).is_some())
            {
                self.out.account = crate::imported::account_of(arn);
                // The Region is the ARN's fourth field, when the template did not say it.
                let region = arn
                    .split(':')
                    .nth(3)
                    .filter(|r| parallax_model::Region::known(r).is_some())
                    .map(str::to_owned);
                match &mut self.learned {
                    // Whether it sets the Region depends on what the earlier part learned:
                    // kept to be applied then, and this part's Region left to its endpoints.
                    Some(l) => l.push(Learned::Account(self.out.account.clone(), region)),
                    None => {
                        if self.out.region.is_none() {
                            self.out.region = region;
                        }
                    }
                }
                return;
            }
        }
    }

    /// SAM's definition: `DefinitionBody` (inline, or `Fn::Transform` `AWS::Include` of a local
    /// file), else `DefinitionUri` (a local file before `sam package`, an S3 location after).
    fn sam_definition(&mut self, r: &Res<'_>) -> (Option<Definition>, Option<String>) {
        let raw_body = r
            .node
            .get("Properties")
            .and_then(|p| p.get("DefinitionBody"));
        if let Some(location) = raw_body
            .and_then(|b| b.get("Fn::Transform"))
            .filter(|t| t.get("Name").and_then(Node::as_str) == Some("AWS::Include"))
            .and_then(|t| t.get("Parameters"))
            .and_then(|p| p.get("Location"))
        {
            let loc = self.ctx.eval(location, 0);
            return self.definition_file(
                r,
                Included::Yes(location.line),
                "DefinitionBody AWS::Include Location",
                &loc,
            );
        }
        match (r.prop("DefinitionBody"), r.prop("DefinitionUri")) {
            (Some(body), _) => self.definition_value(r, "DefinitionBody", body),
            (None, Some(uri)) => self.definition_file(r, Included::No, "DefinitionUri", &uri),
            (None, None) => (None, None),
        }
    }

    fn definition_value(
        &mut self,
        r: &Res<'_>,
        what: &str,
        body: V,
    ) -> (Option<Definition>, Option<String>) {
        if let V::Unknown(why) = &body {
            return (None, Some(format!("{what} is {why}")));
        }
        if !openapi::is_definition(&body) {
            self.out.errors.push((
                Loc {
                    line: r.line_of(what),
                    ..r.loc.clone()
                },
                format!("{what} is not an OpenAPI 3 or Swagger 2.0 definition (no `openapi` or `swagger`, or `paths` not a mapping)"),
            ));
            return (None, Some(format!("{what} was not understood")));
        }
        (Some(Definition::read(&body)), None)
    }

    /// A `Body` given as a JSON string.
    fn definition_text(
        &mut self,
        r: &Res<'_>,
        what: &str,
        text: &str,
    ) -> (Option<Definition>, Option<String>) {
        let label = format!("{}:{} {what}", self.file, r.line_of(what));
        match crate::source::parse(text, &label) {
            Ok(node) => {
                let v = Ctx::plain().eval(&node, 0);
                self.definition_value(r, what, v)
            }
            Err(e) => {
                self.out.errors.push((
                    Loc {
                        line: r.line_of(what),
                        ..r.loc.clone()
                    },
                    format!("{what}: {}", e.message),
                ));
                (None, Some(format!("{what} was not understood")))
            }
        }
    }

    /// A definition in a file named by a property: a local path (relative to the template) is
    /// read; an S3 location is unknown here. `what` names the property in messages.
    fn definition_file(
        &mut self,
        r: &Res<'_>,
        included: Included,
        what: &str,
        location: &V,
    ) -> (Option<Definition>, Option<String>) {
        let path = match location {
            V::Str(s) if s.starts_with("s3://") || s.starts_with("https://") => {
                return (
                    None,
                    Some(format!(
                        "{what} {s} is in S3: pass the template before `sam package`/`aws cloudformation package`, or the definition file itself"
                    )),
                );
            }
            V::Str(s) => s.clone(),
            V::Map(_) => {
                return (
                    None,
                    Some(format!(
                        "{what} is an S3 location: pass the template before packaging, or the definition file itself"
                    )),
                );
            }
            other => return (None, Some(format!("{what} is {}", other.text()))),
        };
        let full = self.dir.join(&path);
        let at = Loc {
            line: match included {
                Included::Yes(line) => line,
                Included::No => r.line_of(what),
            },
            ..r.loc.clone()
        };
        let text = match crate::input::read_text(&full, self.max_bytes) {
            Ok(t) => t,
            // A file that is not there (not committed, or made by a build step): that API's
            // definition is unknown, said with the property's line; the rest of the stack is
            // still analyzed. A file that is there but unreadable as text is an error.
            Err(crate::input::InputError::Unreadable(io))
                if io.kind() == std::io::ErrorKind::NotFound =>
            {
                return (
                    None,
                    Some(format!(
                        "{what} {path} (line {}) does not exist next to the template ({}): `sam build` and `aws cloudformation package` would stop there",
                        at.line,
                        full.display()
                    )),
                );
            }
            Err(e) => {
                self.out.errors.push((at, format!("{what} {path}: {e}")));
                return (None, Some(format!("{what} {path} could not be read")));
            }
        };
        let shown = full.display().to_string();
        match crate::source::parse(&text, &shown) {
            Ok(node) => {
                // An included snippet is processed with the template's intrinsics; a
                // DefinitionUri or BodyS3Location file is uploaded as it is.
                let v = match included {
                    Included::Yes(_) => self.ctx.eval(&node, 0),
                    Included::No => Ctx::plain().eval(&node, 0),
                };
                if !openapi::is_definition(&v) {
                    self.out.errors.push((
                        Loc {
                            file: shown,
                            line: node.line.max(1),
                            resource: r.key.clone(),
                        },
                        "not an OpenAPI 3 or Swagger 2.0 definition (no `openapi` or `swagger`, or `paths` not a mapping)".to_owned(),
                    ));
                    return (None, Some(format!("{what} {path} was not understood")));
                }
                (Some(Definition::read(&v)), None)
            }
            Err(e) => {
                self.out.errors.push((
                    Loc {
                        file: shown,
                        line: e.line,
                        resource: r.key.clone(),
                    },
                    e.message,
                ));
                (None, Some(format!("{what} {path} could not be parsed")))
            }
        }
    }

    /// Adds what a reader of the resources after this one's read: its lists after these, what
    /// it learned of the Region and account applied where this had learned nothing, SAM's
    /// implicit APIs where not already declared here.
    fn append(&mut self, other: Reader<'_, '_>) {
        let Reader {
            mut out,
            learned,
            mappings,
            access,
            implicit,
            unnamed_domains,
            event_policies,
            ..
        } = other;
        for l in learned.into_iter().flatten() {
            match l {
                Learned::Region(r) => {
                    if self.out.region.is_none() {
                        self.out.region = Some(r);
                    }
                }
                Learned::Account(a, r) => {
                    if self.out.account.is_none() {
                        self.out.account = a;
                        if self.out.region.is_none() {
                            self.out.region = r;
                        }
                    }
                }
            }
        }
        (out.region, out.account) = (None, None);
        self.out.append(out);
        self.mappings.extend(mappings);
        self.access.extend(access);
        self.unnamed_domains.extend(unnamed_domains);
        self.event_policies.extend(event_policies);
        for i in implicit {
            if !self.implicit.iter().any(|j| j.key == i.key) {
                self.implicit.push(i);
            }
        }
    }

    /// An event's resource policy joined to its API's, as SAM appends the event path's
    /// statements to the API's policy.
    fn add_event_policy(&mut self, api: &Ref, policy: V, at: Loc) {
        let target = match api {
            Ref::Key(k) => self.out.apis.iter_mut().find(|a| &a.key == k && !a.http),
            _ => None,
        };
        let Some(a) = target else {
            self.out.unknowns.push((
                at,
                format!(
                    "an Api event's Auth.ResourcePolicy for an API that is not a REST API of this template ({})",
                    match api {
                        Ref::Key(k) | Ref::Id(k) | Ref::Unknown(k) => k,
                    }
                ),
            ));
            return;
        };
        if a.policy_unknown {
            return;
        }
        let (json, why) = policy_json(Some(policy));
        let (Some(json), None) = (json, why) else {
            a.policy_unknown = true;
            return;
        };
        let statements = |v: &serde_json::Value| match v.get("Statement") {
            Some(serde_json::Value::Array(l)) => l.clone(),
            Some(one) => vec![one.clone()],
            None => Vec::new(),
        };
        match a.policy.as_mut() {
            None => a.policy = Some(json),
            Some(existing) => {
                let mut all = statements(existing);
                for st in statements(&json) {
                    if !all.contains(&st) {
                        all.push(st);
                    }
                }
                match existing.as_object_mut() {
                    Some(o) => {
                        o.insert("Statement".into(), serde_json::Value::Array(all));
                    }
                    None => a.policy_unknown = true,
                }
            }
        }
    }

    fn finish(mut self) -> Imported {
        let implicit = std::mem::take(&mut self.implicit);
        for i in implicit {
            let node = Node {
                kind: crate::source::Kind::Map(Vec::new()),
                line: i.loc.line,
            };
            let r = Res {
                key: i.key.to_owned(),
                node: &node,
                props: V::Map(Vec::new()),
                loc: i.loc.clone(),
            };
            if i.http {
                self.http_api(r);
            } else {
                // SAM gives its implicit API the Globals.Api properties.
                self.serverless_api(r);
            }
        }
        for (api, p, at) in std::mem::take(&mut self.event_policies) {
            self.add_event_policy(&api, p, at);
        }
        // A domain named by `Ref`, `GetAtt D.DomainNameArn`, or its name, known or not: a
        // mapping's `Ref DomainNameParameter` is the domain whose name is that same parameter.
        let unnamed = std::mem::take(&mut self.unnamed_domains);
        let names = |x: &Domain, domain: &V| match domain {
            V::Res(k) | V::Attr(k, _) => &x.key == k,
            V::Str(s) => x.name.as_deref() == Some(s),
            V::Unknown(_) => unnamed.iter().any(|(k, v)| *k == x.key && v == domain),
            _ => false,
        };
        let not_here = |domain: &V| match domain {
            V::Unknown(why) => format!(
                "a domain whose name is not known ({why}) and is not the name of a domain of this template"
            ),
            _ => format!(
                "the domain {}, which is not in this template",
                domain.text()
            ),
        };
        for (domain, endpoint, l) in std::mem::take(&mut self.access) {
            match self.out.domains.iter_mut().find(|x| names(x, &domain)) {
                Some(d) => d.access.push(endpoint),
                None => self
                    .out
                    .unknowns
                    .push((l, format!("an access association of {}", not_here(&domain)))),
            }
        }
        for (domain, api, l) in std::mem::take(&mut self.mappings) {
            let target = self.out.domains.iter_mut().find(|x| names(x, &domain));
            match target {
                Some(d) => d.apis.push(api),
                None => self
                    .out
                    .unknowns
                    .push((l, format!("maps to {}", not_here(&domain)))),
            }
        }
        self.out
    }
}

/// SAM's `Globals` merge: mappings merge key by key, lists are the global items then the
/// resource's, anything else is the resource's value.
fn merge(global: &V, local: &V) -> V {
    match (global, local) {
        (V::Map(g), V::Map(l)) => {
            let mut out = g.clone();
            for (k, v) in l {
                match out.iter_mut().find(|(gk, _)| gk == k) {
                    Some((_, gv)) => *gv = merge(gv, v),
                    None => out.push((k.clone(), v.clone())),
                }
            }
            V::Map(out)
        }
        (V::List(g), V::List(l)) => V::List(g.iter().chain(l).cloned().collect()),
        (_, l) => l.clone(),
    }
}

/// The authorizers SAM's `Auth` puts on an API's methods: `DefaultAuthorizer` (`AWS_IAM`, or
/// the name of an entry of `Authorizers`: `FunctionArn` is Lambda, `UserPoolArn` Cognito).
fn sam_auth(auth: &V) -> Vec<AuthKind> {
    let kind_of_entry = |name: &str| -> Option<AuthKind> {
        if name == "AWS_IAM" {
            return Some(AuthKind::Iam);
        }
        let entry = auth.get("Authorizers")?.get(name)?;
        if entry.get("UserPoolArn").is_some() {
            Some(AuthKind::Cognito)
        } else if entry.get("FunctionArn").is_some() {
            Some(AuthKind::Lambda)
        } else {
            None
        }
    };
    auth.get("DefaultAuthorizer")
        .and_then(V::as_str)
        .and_then(kind_of_entry)
        .into_iter()
        .collect()
}

/// A standalone OpenAPI 3 or Swagger 2.0 file (an API Gateway export): one REST API. Its
/// endpoint type is not in the file (it is chosen at import); `vpcEndpointIds` make it PRIVATE.
pub fn import_definition(root: &Node, file: &str) -> Imported {
    let mut out = Imported::default();
    let v = Ctx::plain().eval(root, 0);
    let d = Definition::read(&v);
    let key = d.title.clone().unwrap_or_else(|| file.to_owned());
    let loc = Loc {
        file: file.to_owned(),
        line: root
            .get("x-amazon-apigateway-policy")
            .or_else(|| root.get("info"))
            .map_or(1, |n| n.line),
        resource: key.clone(),
    };
    let kind = match &d.vpc_endpoint_ids {
        Some(V::List(l)) if !l.is_empty() => Some(ApiKind::Private),
        _ => {
            out.unknowns.push((
                loc.clone(),
                "the endpoint type is not in an OpenAPI file: it is chosen at import (API Gateway's default is EDGE); the API is left out of the matrix".to_owned(),
            ));
            None
        }
    };
    let (policy, policy_why) = policy_json(d.policy.clone());
    let policy_unknown = policy_why.is_some();
    if let Some(why) = policy_why {
        out.unknowns
            .push((loc.clone(), format!("the resource policy: {why}")));
    }
    let me = Ref::Key(key.clone());
    for m in &d.key_methods {
        out.key_methods.push(KeyMethod {
            api: me.clone(),
            loc: Loc {
                resource: format!("{key} {m}"),
                ..loc.clone()
            },
        });
    }
    for k in &d.authorizers {
        out.authorizers.push((me.clone(), *k, loc.clone()));
    }
    out.apis.push(Api {
        account: None,
        key: key.clone(),
        http: false,
        id: None,
        name: key,
        kind,
        policy,
        policy_unknown,
        vpc_endpoints: d.vpc_endpoint_ids.as_ref().map(refs).unwrap_or_default(),
        disable_default: d
            .disable_execute_api_endpoint
            .as_ref()
            .map(|v| v.as_bool().unwrap_or(false))
            .or(Some(false)),
        security: crate::imported::Security::read(
            d.security_policy.as_ref().and_then(V::as_str),
            d.endpoint_access_mode.as_ref().and_then(V::as_str),
            &loc,
            &mut out.unknowns,
        ),
        loc,
    });
    out
}

/// A record name as Route 53 means it: lower case, no final dot, and `\052` (how the API writes
/// the asterisk) as `*`.
pub(crate) fn normalise_record_name(name: &str) -> String {
    name.replace("\\052", "*")
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

fn short_service(s: &str) -> String {
    // com.amazonaws.us-east-1.execute-api, com.amazonaws.${AWS::Region}.execute-api → execute-api
    s.rsplit('.').next().unwrap_or(s).to_owned()
}

/// The boolean properties of the resources read here.
const BOOLEAN_PROPERTIES: [&str; 5] = [
    "EnableDnsSupport",
    "EnableDnsHostnames",
    "PrivateDnsEnabled",
    "DisableExecuteApiEndpoint",
    "ApiKeyRequired",
];

/// The resource types this importer reads.
const READ_TYPES: [&str; 25] = [
    "AWS::EC2::VPC",
    "AWS::EC2::VPCEndpoint",
    "AWS::ApiGateway::RestApi",
    "AWS::Serverless::Api",
    "AWS::ApiGatewayV2::Api",
    "AWS::Serverless::HttpApi",
    "AWS::Serverless::WebSocketApi",
    "AWS::Serverless::Function",
    "AWS::Serverless::StateMachine",
    "AWS::ApiGateway::DomainName",
    "AWS::ApiGatewayV2::DomainName",
    "AWS::ApiGateway::DomainNameV2",
    "AWS::ApiGateway::BasePathMapping",
    "AWS::ApiGatewayV2::ApiMapping",
    "AWS::ApiGateway::BasePathMappingV2",
    "AWS::ApiGateway::DomainNameAccessAssociation",
    "AWS::Route53::HostedZone",
    "AWS::Route53::RecordSet",
    "AWS::Route53Profiles::Profile",
    "AWS::Route53Profiles::ProfileAssociation",
    "AWS::Route53Profiles::ProfileResourceAssociation",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::UsagePlanKey",
    "AWS::CloudFormation::Stack",
];

/// A read type within two edits of `ty` (a misspelling such as `AWS::EC2::VPCEndpont`).
fn nearest_type(ty: &str) -> Option<&'static str> {
    READ_TYPES
        .iter()
        .map(|k| (edit_distance(ty, k), *k))
        .filter(|(d, _)| (1..=2).contains(d))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// How a definition file becomes the API's: included into the template (`AWS::Include`, with
/// the template's intrinsics evaluated in it), or uploaded as it is (`DefinitionUri`,
/// `BodyS3Location`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Included {
    /// By `Fn::Transform` `AWS::Include`, whose `Location` is at this line.
    Yes(u32),
    No,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A template read by two threads gives what one gives: lists in template order, SAM's
    /// implicit API declared where its first function is, a mapping in the second half attached
    /// to a domain in the first, and the Region and account as reading in order sets them (the
    /// account from a parameter, so a later policy's ARN does not set the Region; an endpoint's
    /// service after it does).
    #[test]
    fn a_template_read_side_by_side_is_the_template_read_alone() {
        let mut resources = serde_json::Map::new();
        let function = serde_json::json!({"Type": "AWS::Serverless::Function", "Properties": {
            "Events": {"Get": {"Type": "Api", "Properties": {"Path": "/", "Method": "get"}}}}});
        for i in 0..20 {
            let r = match i % 4 {
                0 => {
                    serde_json::json!({"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}})
                }
                1 => serde_json::json!({"Type": "AWS::EC2::VPCEndpoint", "Properties": {
                    "VpcId": {"Ref": format!("R{:03}", i - 1)}, "VpcEndpointType": "Interface",
                    "PrivateDnsEnabled": true}}),
                2 => function.clone(),
                _ => serde_json::json!({"Type": "AWS::ApiGateway::DomainName", "Properties": {
                    "DomainName": format!("api{i}.example.com"),
                    "EndpointConfiguration": {"Types": ["REGIONAL"]}}}),
            };
            resources.insert(format!("R{i:03}"), r);
        }
        let late = [
            serde_json::json!({"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "late",
                "EndpointConfiguration": {"Types": ["PRIVATE"]},
                "Policy": {"Statement": [{"Effect": "Allow", "Principal": "*",
                    "Action": "execute-api:Invoke",
                    "Resource": "arn:aws:execute-api:eu-west-1:111122223333:abcdef1234/*"}]}}}),
            serde_json::json!({"Type": "AWS::EC2::VPCEndpoint", "Properties": {
                "ServiceName": "com.amazonaws.us-west-2.execute-api", "VpcId": {"Ref": "R000"},
                "VpcEndpointType": "Interface", "PrivateDnsEnabled": true}}),
            function.clone(),
            serde_json::json!({"Type": "AWS::ApiGateway::BasePathMapping", "Properties": {
                "DomainName": {"Ref": "R003"}, "RestApiId": {"Ref": "R020"}, "BasePath": "v1"}}),
        ];
        for (i, r) in late.into_iter().enumerate() {
            resources.insert(format!("R{:03}", 20 + i), r);
        }
        let template = serde_json::json!({
            "Parameters": {"AccountId": {"Type": "String", "Default": "123456789012"}},
            "Resources": resources,
        });
        let (root, _) =
            parallax_model::source::parse_with_duplicates(&template.to_string(), "t.json").unwrap();
        let read = |side_from| {
            serde_json::to_value(import_sized(&root, "t.json", u64::MAX, side_from)).unwrap()
        };
        let alone = read(usize::MAX);
        let two = read(1);
        assert_eq!(alone, two);
        assert_eq!(two["account"], "123456789012");
        assert_eq!(two["region"], "us-west-2");
        let apis: Vec<&str> = two["apis"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["key"].as_str())
            .collect();
        assert_eq!(apis, ["R020", "ServerlessRestApi"]);
        assert_eq!(
            two["domains"][0]["apis"].as_array().map(Vec::len),
            Some(1),
            "{}",
            two["domains"]
        );
    }

    /// API Gateway's `Ref` of a domain is its name, so templates whose domain name is a
    /// parameter map it by that parameter (aws-samples/serverless-patterns
    /// apigw-custom-domain-regional): with no default, the mapping still belongs to the domain
    /// named by the same parameter, and not to one named by another.
    #[test]
    fn a_mapping_by_the_domains_name_parameter_belongs_to_that_domain() {
        let text = "Parameters:
  DomainName: {Type: String}
  OtherName: {Type: String}
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: orders, EndpointConfiguration: {Types: [REGIONAL]}}
  Mapping:
    Type: AWS::ApiGateway::BasePathMapping
    Properties: {DomainName: !Ref DomainName, RestApiId: !Ref Api}
  Stray:
    Type: AWS::ApiGateway::BasePathMapping
    Properties: {DomainName: !Ref OtherName, RestApiId: !Ref Api}
  Domain:
    Type: AWS::ApiGateway::DomainName
    Properties: {DomainName: !Ref DomainName, EndpointConfiguration: {Types: [REGIONAL]}}
";
        let root = crate::source::parse(text, "t.yaml").expect("YAML");
        let m = import(&root, "t.yaml");
        assert_eq!(m.domains.len(), 1);
        assert_eq!(m.domains[0].apis, vec![Ref::Key("Api".to_owned())]);
        let stray: Vec<_> = m
            .unknowns
            .iter()
            .filter(|(l, _)| l.resource == "Stray")
            .collect();
        assert_eq!(stray.len(), 1, "{:?}", m.unknowns);
        assert!(
            stray[0].1.contains("parameter OtherName has no default") && !stray[0].1.contains("${"),
            "{}",
            stray[0].1
        );
    }
}
