//! What spans elements, checked once the file is read: references, duplicates, addresses
//! inside their VPC, and policies the evaluator can honour. One function per element kind.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use crate::Problem;
use crate::address::classify;
use crate::ids::{ApiId, VpcId, VpceId};
use crate::naming::is_endpoint_dns_suffix;
use crate::pos::{At, Pos};

use super::*;

impl Topology {
    /// Every problem that spans elements: references, duplicates, address containment. Empty
    /// for a topology that can be run.
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        self.check_account_and_doors(&mut p);
        let vpcs = unique(
            &mut p,
            "vpcs",
            self.vpcs.iter().map(|v| (&v.id.value, v.id.pos)),
        );
        self.check_endpoints(&mut p, &vpcs);
        self.check_hosted_zones(&mut p, &vpcs);
        self.check_resolver_rules(&mut p, &vpcs);
        self.check_profiles(&mut p, &vpcs);
        self.check_onprem(&mut p, &vpcs);
        let apis = unique(
            &mut p,
            "apis",
            self.apis.iter().map(|a| (&a.id.value, a.id.pos)),
        );
        self.check_apis(&mut p);
        self.check_custom_domains(&mut p, &apis);
        self.check_usage_plans(&mut p, &apis);
        self.check_iam_principals(&mut p);
        self.check_accounts(&mut p);
        self.check_vantages(&mut p, &vpcs);
        p.sort_by_key(|p| p.pos);
        p
    }
    /// Several accounts: every account id is 12 digits, organizations are `o-…` with member
    /// accounts, and a Resolver rule, a Route 53 Profile or a private custom domain name of one
    /// account reaches another account's VPC or endpoint only when shared with it through RAM
    /// (the account, or its organization).
    fn check_accounts(&self, p: &mut Vec<Problem>) {
        let twelve = |a: &At<String>, field: String, p: &mut Vec<Problem>| {
            if a.value.len() != 12 || !a.value.bytes().all(|b| b.is_ascii_digit()) {
                p.push(Problem::new(a.pos, field, "an account id is 12 digits"));
            }
        };
        for (i, v) in self.vpcs.iter().enumerate() {
            if let Some(a) = &v.account {
                twelve(a, format!("vpcs[{i}].account"), p);
            }
        }
        for (i, a) in self.apis.iter().enumerate() {
            if let Some(x) = &a.account {
                twelve(x, format!("apis[{i}].account"), p);
            }
        }
        for (i, o) in self.organizations.iter().enumerate() {
            let id = &o.id.value;
            let ok = id.strip_prefix("o-").is_some_and(|r| {
                (10..=32).contains(&r.len())
                    && r.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
            if !ok {
                p.push(Problem::new(
                    o.id.pos,
                    format!("organizations[{i}].id"),
                    "an organization id is `o-` and 10 to 32 lower-case letters and digits",
                ));
            }
            for (j, a) in o.accounts.iter().enumerate() {
                twelve(a, format!("organizations[{i}].accounts[{j}]"), p);
            }
        }
        let reach = |what: String,
                     owner: &str,
                     shared: &[At<String>],
                     vpc: &At<VpcId>,
                     p: &mut Vec<Problem>| {
            let theirs = self.vpc_account(&vpc.value);
            if !self.shared_with(owner, shared, theirs) {
                p.push(Problem::new(
                    vpc.pos,
                    what,
                    format!(
                        "{} belongs to account {theirs}, and this is account {owner}'s, not shared with it (RAM: shared_with)",
                        vpc.value
                    ),
                ));
            }
        };
        let shareable = self
            .resolver_rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    format!("resolver_rules[{i}]"),
                    &r.account,
                    &r.shared_with,
                    &r.vpcs,
                )
            })
            .chain(self.profiles.iter().enumerate().map(|(i, r)| {
                (
                    format!("profiles[{i}]"),
                    &r.account,
                    &r.shared_with,
                    &r.vpcs,
                )
            }));
        for (at, account, shared, vpcs) in shareable {
            let owner = self.owner(account.as_ref());
            for (j, v) in vpcs.iter().enumerate() {
                reach(format!("{at}.vpcs[{j}]"), owner, shared, v, p);
            }
        }
        for (i, d) in self.custom_domains.iter().enumerate() {
            if let Some(a) = &d.account {
                twelve(a, format!("custom_domains[{i}].account"), p);
            }
            let owner = self.owner(d.account.as_ref());
            for (j, e) in d.access_associations.iter().enumerate() {
                if let Some(vpc) = self.endpoint(&e.value).map(|x| &x.vpc) {
                    let theirs = self.vpc_account(&vpc.value);
                    if !self.shared_with(owner, &d.shared_with, theirs) {
                        p.push(Problem::new(
                            e.pos,
                            format!("custom_domains[{i}].access_associations[{j}]"),
                            format!(
                                "{} belongs to account {theirs}; the domain name is account {owner}'s and not shared with it (RAM: shared_with), so the association cannot be made",
                                e.value
                            ),
                        ));
                    }
                }
            }
        }
    }

    /// IAM identities: an IAM (or STS assumed-role) ARN with a 12-digit account, an access key
    /// id of AWS's form, given once, and an identity-based policy without principals.
    fn check_iam_principals(&self, p: &mut Vec<Problem>) {
        unique(
            p,
            "iam_principals",
            self.iam_principals
                .iter()
                .map(|x| (&x.access_key_id.value, x.access_key_id.pos)),
        );
        for (i, x) in self.iam_principals.iter().enumerate() {
            let parts: Vec<&str> = x.arn.value.splitn(6, ':').collect();
            let ok = matches!(parts.as_slice(), ["arn", partition, "iam" | "sts", "", account, res]
                if partition.starts_with("aws")
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && (res.starts_with("user/") || res.starts_with("role/") || res.starts_with("assumed-role/")));
            if !ok {
                p.push(Problem::new(
                    x.arn.pos,
                    format!("iam_principals[{i}].arn"),
                    "expected arn:aws:iam::ACCOUNT:user/NAME, arn:aws:iam::ACCOUNT:role/NAME or arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION",
                ));
            }
            let k = &x.access_key_id.value;
            if !(16..=128).contains(&k.len())
                || !k
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                p.push(Problem::new(
                    x.access_key_id.pos,
                    format!("iam_principals[{i}].access_key_id"),
                    "an access key id is 16 to 128 upper-case letters and digits (AKIA…, ASIA…)",
                ));
            }
            if let Some(policy) = &x.policy {
                policy_problem_as(
                    p,
                    policy,
                    format!("iam_principals[{i}].policy"),
                    crate::policy::Policy::parse_identity,
                );
            }
        }
    }

    /// The account id and the front doors' addresses.
    fn check_account_and_doors(&self, p: &mut Vec<Problem>) {
        if !(self.account.len() == 12 && self.account.bytes().all(|b| b.is_ascii_digit())) {
            p.push(Problem::new(
                self.account.pos,
                "account",
                format!("`{}` is not a 12-digit AWS account id", self.account.value),
            ));
        }
        if self.front_doors.regional.is_empty() {
            p.push(Problem::new(
                Pos::UNKNOWN,
                "front_doors.regional",
                "the regional front door needs at least one address",
            ));
        }
        for (i, a) in self
            .front_doors
            .regional
            .iter()
            .chain(&self.front_doors.edge)
            .enumerate()
        {
            let class = classify(a.value);
            if class.is_private()
                || matches!(
                    class,
                    crate::AddressClass::Loopback
                        | crate::AddressClass::Unspecified
                        | crate::AddressClass::Multicast
                )
            {
                let field = if i < self.front_doors.regional.len() {
                    "front_doors.regional"
                } else {
                    "front_doors.edge"
                };
                p.push(Problem::new(
                    a.pos,
                    field,
                    format!(
                        "{} is a {} address; a public front door needs a public one",
                        a.value,
                        class.describe()
                    ),
                ));
            }
        }
    }
    /// Interface endpoints: their VPC, subnets, addresses and private DNS.
    fn check_endpoints(&self, p: &mut Vec<Problem>, vpcs: &[&VpcId]) {
        for (i, e) in self.endpoints.iter().enumerate() {
            let f = |s: &str| format!("endpoints[{i}].{s}");
            let vpc = self.vpc(&e.vpc);
            if vpc.is_none() {
                p.push(dangling(
                    e.vpc.pos,
                    f("vpc"),
                    "VPC",
                    e.vpc.as_str(),
                    vpcs.iter().map(|v| v.as_str()),
                ));
            }
            if e.subnets.is_empty() {
                p.push(Problem::new(
                    e.id.pos,
                    f("subnets"),
                    "an interface endpoint needs at least one subnet",
                ));
            }
            if let Some(s) = &e.dns_suffix
                && !is_endpoint_dns_suffix(s)
            {
                p.push(Problem::new(
                    s.pos,
                    f("dns_suffix"),
                    format!("`{}` is not 8 lower-case letters or digits", s.value),
                ));
            }
            for (j, s) in e.subnets.iter().enumerate() {
                if let Some(vpc) = vpc
                    && !vpc.cidr.contains(&s.address.value)
                {
                    p.push(Problem::new(
                        s.address.pos,
                        f(&format!("subnets[{j}].address")),
                        format!(
                            "{} is outside {} ({})",
                            s.address.value, vpc.id.value, vpc.cidr.value
                        ),
                    ));
                }
                if !s.az.starts_with(self.region.as_str())
                    || s.az.len() != self.region.as_str().len() + 1
                {
                    p.push(Problem::new(
                        s.az.pos,
                        f(&format!("subnets[{j}].az")),
                        format!(
                            "`{}` is not an Availability Zone of {}",
                            s.az.value, self.region.value
                        ),
                    ));
                }
            }
        }
        unique(
            p,
            "endpoints",
            self.endpoints.iter().map(|e| (&e.id.value, e.id.pos)),
        );
        // An endpoint policy the evaluator cannot honour in full does not load (as APIs').
        for (i, e) in self.endpoints.iter().enumerate() {
            if let Some(policy) = &e.policy {
                policy_problem(p, policy, format!("endpoints[{i}].policy"));
            }
        }
        self.check_endpoint_private_dns(p);
    }
    /// AWS refuses a second endpoint with private DNS for one service in one VPC: both would
    /// claim the same private zone ("conflicting DNS domain"); and a customer zone of that name.
    fn check_endpoint_private_dns(&self, p: &mut Vec<Problem>) {
        let mut claimed: HashMap<(&VpcId, &str), &VpceId> = HashMap::new();
        for (i, e) in self
            .endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| e.private_dns)
        {
            if let Some(first) = claimed.insert((&e.vpc.value, e.service.as_str()), &e.id.value) {
                p.push(Problem::new(e.id.pos, format!("endpoints[{i}].private_dns"), format!("{} already has private DNS for {} in {}; AWS rejects a second one (conflicting DNS domain)", first, e.service.as_str(), e.vpc.value)));
            }
            // A customer private zone of the endpoint's private DNS name, associated with the
            // same VPC: EC2 refuses the endpoint's private DNS with InvalidParameter.
            if let Ok(apex) =
                crate::naming::endpoint_private_zone(e.service.as_str(), &self.region.value)
                && self
                    .hosted_zones
                    .iter()
                    .any(|z| z.name.value == apex && z.vpcs.iter().any(|v| v.value == e.vpc.value))
            {
                p.push(Problem::new(
                    e.id.pos,
                    format!("endpoints[{i}].private_dns"),
                    format!(
                        "private-dns-enabled cannot be set because there is already a conflicting DNS domain for {apex} in the VPC {} (a private hosted zone of that name is associated with it; AWS answers InvalidParameter)",
                        e.vpc.value
                    ),
                ));
            }
        }
    }
    /// Private hosted zones: their VPCs and records.
    fn check_hosted_zones(&self, p: &mut Vec<Problem>, vpcs: &[&VpcId]) {
        let mut zone_keys = HashSet::new();
        for (i, z) in self.hosted_zones.iter().enumerate() {
            for (j, v) in z.vpcs.iter().enumerate() {
                if self.vpc(v).is_none() {
                    p.push(dangling(
                        v.pos,
                        format!("hosted_zones[{i}].vpcs[{j}]"),
                        "VPC",
                        v.as_str(),
                        vpcs.iter().map(|v| v.as_str()),
                    ));
                }
                if !zone_keys.insert((z.name.value.clone(), v.value.clone())) {
                    p.push(Problem::new(
                        v.pos,
                        format!("hosted_zones[{i}].vpcs[{j}]"),
                        format!(
                            "another private zone named {} is already associated with {}",
                            z.name.value, v.value
                        ),
                    ));
                }
            }
            for (j, r) in z.records.iter().enumerate() {
                if !r.name.is_within(&z.name) {
                    p.push(Problem::new(
                        r.pos,
                        format!("hosted_zones[{i}].records[{j}].name"),
                        format!("{} is not inside the zone {}", r.name, z.name.value),
                    ));
                }
            }
        }
    }
    /// Resolver rules: their VPCs, domains and targets.
    fn check_resolver_rules(&self, p: &mut Vec<Problem>, vpcs: &[&VpcId]) {
        for (i, r) in self.resolver_rules.iter().enumerate() {
            for (j, v) in r.vpcs.iter().enumerate() {
                if self.vpc(v).is_none() {
                    p.push(dangling(
                        v.pos,
                        format!("resolver_rules[{i}].vpcs[{j}]"),
                        "VPC",
                        v.as_str(),
                        vpcs.iter().map(|v| v.as_str()),
                    ));
                }
            }
            if r.kind == RuleKind::Forward && r.targets.is_empty() {
                p.push(Problem::new(
                    r.id.pos,
                    format!("resolver_rules[{i}].targets"),
                    "a forward rule needs at least one target",
                ));
            }
            if r.kind == RuleKind::System && !r.targets.is_empty() {
                p.push(Problem::new(
                    r.targets[0].pos,
                    format!("resolver_rules[{i}].targets"),
                    "a system rule has no targets: the Resolver answers it itself",
                ));
            }
        }
        unique(
            p,
            "resolver_rules",
            self.resolver_rules.iter().map(|r| (&r.id.value, r.id.pos)),
        );
    }
    /// Route 53 Profiles: their ids, VPCs (one profile per VPC) and the resources they carry.
    fn check_profiles(&self, p: &mut Vec<Problem>, vpcs: &[&VpcId]) {
        let mut profile_of: HashMap<&VpcId, &str> = HashMap::new();
        for (i, pr) in self.profiles.iter().enumerate() {
            let id = pr.id.as_str();
            let well_formed = id
                .strip_prefix("rp-")
                .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric()));
            if !well_formed {
                p.push(Problem::new(
                    pr.id.pos,
                    format!("profiles[{i}].id"),
                    format!("`{id}` is not a Route 53 Profile id (rp- and letters or digits)"),
                ));
            }
            for (j, v) in pr.vpcs.iter().enumerate() {
                let field = format!("profiles[{i}].vpcs[{j}]");
                if self.vpc(v).is_none() {
                    p.push(dangling(
                        v.pos,
                        field,
                        "VPC",
                        v.as_str(),
                        vpcs.iter().map(|v| v.as_str()),
                    ));
                } else if let Some(first) = profile_of.insert(&v.value, id) {
                    p.push(Problem::new(
                        v.pos,
                        field,
                        format!(
                            "{} is already associated with the profile {first}; a VPC can have only one Route 53 Profile",
                            v.value
                        ),
                    ));
                }
            }
            for (j, z) in pr.hosted_zones.iter().enumerate() {
                let named = self
                    .hosted_zones
                    .iter()
                    .filter(|h| h.name.value == z.value)
                    .count();
                if named == 0 {
                    p.push(dangling(
                        z.pos,
                        format!("profiles[{i}].hosted_zones[{j}]"),
                        "hosted zone",
                        z.as_str(),
                        self.hosted_zones.iter().map(|h| h.name.as_str()),
                    ));
                } else if named > 1 {
                    p.push(Problem::new(
                        z.pos,
                        format!("profiles[{i}].hosted_zones[{j}]"),
                        format!(
                            "{named} hosted_zones are named {}; a profile names one zone, so keep one zone of that name",
                            z.value
                        ),
                    ));
                }
            }
            for (j, r) in pr.resolver_rules.iter().enumerate() {
                if !self.resolver_rules.iter().any(|x| x.id.value == r.value) {
                    p.push(dangling(
                        r.pos,
                        format!("profiles[{i}].resolver_rules[{j}]"),
                        "resolver rule",
                        r.as_str(),
                        self.resolver_rules.iter().map(|x| x.id.as_str()),
                    ));
                }
            }
            for (j, e) in pr.endpoints.iter().enumerate() {
                if self.endpoint(e).is_none() {
                    p.push(dangling(
                        e.pos,
                        format!("profiles[{i}].endpoints[{j}]"),
                        "endpoint",
                        e.as_str(),
                        self.endpoints.iter().map(|x| x.id.as_str()),
                    ));
                }
            }
        }
        unique(
            p,
            "profiles",
            self.profiles.iter().map(|r| (&r.id.value, r.id.pos)),
        );
    }
    /// Inbound endpoints and on-prem networks: ids, VPCs, addresses, zones and forwarders.
    fn check_onprem(&self, p: &mut Vec<Problem>, vpcs: &[&VpcId]) {
        for (i, e) in self.inbound_endpoints.iter().enumerate() {
            let well_formed =
                e.id.strip_prefix("rslvr-in-")
                    .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric()));
            if !well_formed {
                p.push(Problem::new(
                    e.id.pos,
                    format!("inbound_endpoints[{i}].id"),
                    format!(
                        "`{}` is not a Resolver inbound endpoint id (rslvr-in- and letters or digits)",
                        e.id.value
                    ),
                ));
            }
            match self.vpc(&e.vpc) {
                None => p.push(dangling(
                    e.vpc.pos,
                    format!("inbound_endpoints[{i}].vpc"),
                    "VPC",
                    e.vpc.as_str(),
                    vpcs.iter().map(|v| v.as_str()),
                )),
                Some(vpc) => {
                    for (j, a) in e.addresses.iter().enumerate() {
                        if !vpc.cidr.contains(&a.value) {
                            p.push(Problem::new(
                                a.pos,
                                format!("inbound_endpoints[{i}].addresses[{j}]"),
                                format!(
                                    "{} is outside {} ({})",
                                    a.value, vpc.id.value, vpc.cidr.value
                                ),
                            ));
                        }
                    }
                }
            }
            if e.addresses.is_empty() {
                p.push(Problem::new(
                    e.id.pos,
                    format!("inbound_endpoints[{i}].addresses"),
                    "an inbound endpoint needs at least one address (AWS asks for two, in two Availability Zones)",
                ));
            }
        }
        unique(
            p,
            "inbound_endpoints",
            self.inbound_endpoints
                .iter()
                .map(|e| (&e.id.value, e.id.pos)),
        );
        for (i, n) in self.onprem.iter().enumerate() {
            if !crate::topology::is_onprem_name(&n.name) {
                p.push(Problem::new(
                    n.name.pos,
                    format!("onprem[{i}].name"),
                    format!(
                        "`{}` is not an on-prem network name: letters, digits and `-`",
                        n.name.value
                    ),
                ));
            }
            for (j, z) in n.zones.iter().enumerate() {
                for (k, r) in z.records.iter().enumerate() {
                    if !r.name.is_within(&z.name) {
                        p.push(Problem::new(
                            r.pos,
                            format!("onprem[{i}].zones[{j}].records[{k}].name"),
                            format!("{} is not inside the zone {}", r.name, z.name.value),
                        ));
                    }
                }
            }
            for (j, f) in n.forwards.iter().enumerate() {
                if self.inbound_endpoint(&f.to).is_none() {
                    p.push(dangling(
                        f.to.pos,
                        format!("onprem[{i}].forwards[{j}].to"),
                        "inbound endpoint",
                        f.to.as_str(),
                        self.inbound_endpoints.iter().map(|e| e.id.as_str()),
                    ));
                }
            }
        }
        unique(
            p,
            "onprem",
            self.onprem.iter().map(|n| (&n.name.value, n.name.pos)),
        );
    }
    /// APIs: stages, routes, endpoints and policies.
    fn check_apis(&self, p: &mut Vec<Problem>) {
        let endpoint_ids: Vec<&str> = self.endpoints.iter().map(|e| e.id.as_str()).collect();
        for (i, a) in self.apis.iter().enumerate() {
            self.check_api_stages_and_endpoints(i, a, &endpoint_ids, p);
            // HTTP APIs are always public and Regional, with no resource policy and no API keys
            // (apigateway-private-apis: only REST APIs can be private); `$default` routes and
            // stages are theirs alone.
            let websocket = a.protocol == super::ApiProtocol::WebSocket;
            if websocket {
                check_websocket_api(i, a, p);
            }
            if let (false, Some(e)) = (websocket, &a.route_selection_expression) {
                p.push(Problem::new(
                    e.pos,
                    format!("apis[{i}].route_selection_expression"),
                    "only WebSocket APIs select routes by expression".to_owned(),
                ));
            }
            match a.protocol {
                super::ApiProtocol::Http => check_http_api(i, a, p),
                super::ApiProtocol::Rest => check_rest_api(i, a, p),
                super::ApiProtocol::WebSocket => {}
            }
            // A policy the evaluator cannot honour in full does not load: an unread Deny would
            // make the API more open than its owner wrote.
            if let Some(policy) = &a.policy {
                policy_problem(p, policy, format!("apis[{i}].policy"));
            }
            if a.protocol != super::ApiProtocol::Rest
                && let Some(sp) = &a.security_policy
            {
                p.push(Problem::new(
                    sp.pos,
                    format!("apis[{i}].security_policy"),
                    "security policies are set on REST APIs (an HTTP or WebSocket API takes its custom domain's)",
                ));
            }
            security_problems(
                p,
                &format!("apis[{i}]"),
                a.endpoint_type.value,
                a.security_policy.as_ref(),
                a.endpoint_access_mode.as_ref(),
            );
            check_authorizers(i, a, p);
            let mut routes = HashSet::new();
            for (j, r) in a.routes.iter().enumerate() {
                if !routes.insert((r.method.value, r.path.as_str())) {
                    p.push(Problem::new(
                        r.method.pos,
                        format!("apis[{i}].routes[{j}]"),
                        format!("{:?} {} is defined twice", r.method.value, r.path.as_str()),
                    ));
                }
            }
        }
    }

    /// An API's stages, and the VPC endpoints it lists (a PRIVATE API's, for execute-api).
    fn check_api_stages_and_endpoints(
        &self,
        i: usize,
        a: &Api,
        endpoint_ids: &[&str],
        p: &mut Vec<Problem>,
    ) {
        if a.stages.is_empty() {
            p.push(Problem::new(
                a.id.pos,
                format!("apis[{i}].stages"),
                "an API needs at least one stage to be called",
            ));
        }
        unique(
            p,
            &format!("apis[{i}].stages"),
            a.stages.iter().map(|s| (&s.value, s.pos)),
        );
        for (j, v) in a.vpc_endpoints.iter().enumerate() {
            let f = format!("apis[{i}].vpc_endpoints[{j}]");
            match self.endpoint(v) {
                None => p.push(dangling(
                    v.pos,
                    f,
                    "endpoint",
                    v.as_str(),
                    endpoint_ids.iter().copied(),
                )),
                Some(e) if !e.is_execute_api() => p.push(Problem::new(
                    v.pos,
                    f,
                    format!(
                        "{} is an endpoint for {}, not execute-api",
                        v.value,
                        e.service.as_str()
                    ),
                )),
                Some(_) => {}
            }
            if a.endpoint_type.value != EndpointType::Private {
                p.push(Problem::new(
                    v.pos,
                    format!("apis[{i}].vpc_endpoints"),
                    format!(
                        "only a PRIVATE API can list VPC endpoints; {} is {}",
                        a.id.value, a.endpoint_type.value
                    ),
                ));
            }
        }
    }
    /// Custom domains: type, DNS, mutual TLS and base path mappings.
    fn check_custom_domains(&self, p: &mut Vec<Problem>, apis: &[&ApiId]) {
        unique(
            p,
            "custom_domains",
            self.custom_domains
                .iter()
                .map(|d| (&d.name.value, d.name.pos)),
        );
        for (i, d) in self.custom_domains.iter().enumerate() {
            security_problems(
                p,
                &format!("custom_domains[{i}]"),
                d.endpoint_type.value,
                d.security_policy.as_ref(),
                d.endpoint_access_mode.as_ref(),
            );
            // "Choose a security policy for your custom domain": no mutual TLS and no HTTP API
            // mapping on a domain with an enhanced policy.
            if let Some(sp) = d.security_policy.as_ref().filter(|s| s.value.is_enhanced()) {
                if d.mtls.is_some() {
                    p.push(Problem::new(
                        sp.pos,
                        format!("custom_domains[{i}].mtls"),
                        format!("mutual TLS cannot be enabled on a domain name with the enhanced security policy {}", sp.value),
                    ));
                }
                for (j, m) in d.mappings.iter().enumerate() {
                    if self.apis.iter().any(|a| {
                        a.id.value == m.api.value && a.protocol != super::ApiProtocol::Rest
                    }) {
                        p.push(Problem::new(
                            m.api.pos,
                            format!("custom_domains[{i}].mappings[{j}]"),
                            format!("an HTTP or WebSocket API cannot be mapped to a domain name with the enhanced security policy {}", sp.value),
                        ));
                    }
                }
            }
            let private = d.endpoint_type.value == EndpointType::Private;
            if private {
                self.check_private_domain(i, d, p);
            } else if let Some(first) = d.access_associations.first() {
                p.push(Problem::new(
                    first.pos,
                    format!("custom_domains[{i}].access_associations"),
                    "access associations are for PRIVATE custom domain names",
                ));
            } else if let Some(policy) = &d.policy {
                p.push(Problem::new(
                    policy.pos,
                    format!("custom_domains[{i}].policy"),
                    "a domain name policy is for PRIVATE custom domain names (public ones use their APIs' policies)",
                ));
            }
            if let Some(m) = &d.mtls
                && d.endpoint_type.value != EndpointType::Regional
            {
                p.push(Problem::new(
                    m.truststore.pos,
                    format!("custom_domains[{i}].mtls"),
                    "API Gateway offers mutual TLS on REGIONAL custom domains only",
                ));
            }
            let mut paths = HashSet::new();
            for (j, m) in d.mappings.iter().enumerate() {
                self.stage_ref(
                    p,
                    apis,
                    format!("custom_domains[{i}].mappings[{j}]"),
                    &m.api,
                    &m.stage,
                );
                if !paths.insert(m.base_path.as_str()) {
                    p.push(Problem::new(
                        m.api.pos,
                        format!("custom_domains[{i}].mappings[{j}].base_path"),
                        format!("base path `{}` is mapped twice", m.base_path),
                    ));
                }
                if !private
                    && let Some(api) = self.api(&m.api)
                    && api.endpoint_type.value == EndpointType::Private
                {
                    p.push(Problem::new(
                        m.api.pos,
                        format!("custom_domains[{i}].mappings[{j}].api"),
                        format!(
                            "{} is PRIVATE; a public custom domain cannot map it",
                            m.api.value
                        ),
                    ));
                }
            }
        }

        unique(
            p,
            "usage_plans",
            self.usage_plans.iter().map(|u| (&u.id.value, u.id.pos)),
        );
    }
    /// A private custom domain name: its access associations, policy, id and PRIVATE APIs.
    fn check_private_domain(&self, i: usize, d: &CustomDomain, p: &mut Vec<Problem>) {
        for (j, v) in d.access_associations.iter().enumerate() {
            match self.endpoint(v) {
                None => p.push(dangling(
                    v.pos,
                    format!("custom_domains[{i}].access_associations[{j}]"),
                    "endpoint",
                    v.as_str(),
                    self.endpoints.iter().map(|e| e.id.as_str()),
                )),
                Some(e) if !e.is_execute_api() => p.push(Problem::new(
                    v.pos,
                    format!("custom_domains[{i}].access_associations[{j}]"),
                    format!(
                        "{} is an endpoint for {}, not execute-api",
                        v.value,
                        e.service.as_str()
                    ),
                )),
                Some(_) => {}
            }
        }
        if let Some(policy) = &d.policy {
            policy_problem(p, policy, format!("custom_domains[{i}].policy"));
        }
        if let Some(id) = &d.domain_name_id
            && !((1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            p.push(Problem::new(
                id.pos,
                format!("custom_domains[{i}].domain_name_id"),
                "a domain name id is letters and digits (the `+id` of the domain's ARN)",
            ));
        }
        for (j, m) in d.mappings.iter().enumerate() {
            if let Some(api) = self.api(&m.api)
                && api.endpoint_type.value != EndpointType::Private
            {
                p.push(Problem::new(
                    m.api.pos,
                    format!("custom_domains[{i}].mappings[{j}].api"),
                    format!(
                        "{} is a {} API: a private custom domain name maps PRIVATE APIs only",
                        m.api.value, api.endpoint_type.value
                    ),
                ));
            }
        }
    }
    /// Usage plans: their stages, throttles and keys.
    fn check_usage_plans(&self, p: &mut Vec<Problem>, apis: &[&ApiId]) {
        for (i, u) in self.usage_plans.iter().enumerate() {
            for (j, s) in u.stages.iter().enumerate() {
                self.stage_ref(
                    p,
                    apis,
                    format!("usage_plans[{i}].stages[{j}]"),
                    &s.api,
                    &s.stage,
                );
            }
            if !aws_id(&u.id.value) {
                p.push(Problem::new(
                    u.id.pos,
                    format!("usage_plans[{i}].id"),
                    format!("`{}`: {ID_RULE}", u.id.value.escape_debug()),
                ));
            }
            for (j, k) in u.keys.iter().enumerate() {
                if !aws_id(&k.id.value) {
                    p.push(Problem::new(
                        k.id.pos,
                        format!("usage_plans[{i}].keys[{j}].id"),
                        format!("`{}`: {ID_RULE}", k.id.value.escape_debug()),
                    ));
                }
                let v = k.value.expose();
                if !(20..=128).contains(&v.chars().count())
                    || !v.bytes().all(|b| b.is_ascii_graphic())
                {
                    // The value is never shown; the key's id and position say which.
                    p.push(Problem::new(
                        k.id.pos,
                        format!("usage_plans[{i}].keys[{j}].value"),
                        "an API key's value is 20 to 128 printable ASCII characters without spaces (API Gateway's rule for imported and created keys)",
                    ));
                }
            }
            if let Some(t) = &u.throttle
                && !(t.rate.is_finite() && t.rate >= 0.0)
            {
                p.push(Problem::new(
                    u.id.pos,
                    format!("usage_plans[{i}].throttle.rate"),
                    "the rate must be a non-negative number",
                ));
            }
        }
        unique(
            p,
            "api keys",
            self.usage_plans
                .iter()
                .flat_map(|u| &u.keys)
                .map(|k| (&k.id.value, k.id.pos)),
        );

        unique(
            p,
            "vantages",
            self.vantages.iter().map(|v| (&v.name.value, v.name.pos)),
        );
    }
    /// Vantage points: their networks and addresses.
    fn check_vantages(&self, p: &mut Vec<Problem>, vpcs: &[&VpcId]) {
        for (i, v) in self.vantages.iter().enumerate() {
            match &v.network.value {
                Network::Internet => {}
                Network::OnPrem(name) => {
                    if self.onprem_network(name).is_none() {
                        p.push(dangling(
                            v.network.pos,
                            format!("vantages[{i}].network"),
                            "on-prem network",
                            name,
                            self.onprem.iter().map(|n| n.name.as_str()),
                        ));
                    }
                }
                Network::Vpc(id) => match self.vpc(id) {
                    None => p.push(dangling(
                        v.network.pos,
                        format!("vantages[{i}].network"),
                        "VPC",
                        id.as_str(),
                        vpcs.iter().map(|v| v.as_str()),
                    )),
                    Some(vpc) => {
                        if let Some(a) = &v.address
                            && !matches!(a.value, IpAddr::V4(v4) if vpc.cidr.contains(&v4))
                        {
                            p.push(Problem::new(
                                a.pos,
                                format!("vantages[{i}].address"),
                                format!(
                                    "{} is outside {} ({})",
                                    a.value, vpc.id.value, vpc.cidr.value
                                ),
                            ));
                        }
                    }
                },
            }
        }
    }
    /// A reference to an API's stage: the API must exist and have that stage.
    fn stage_ref(
        &self,
        p: &mut Vec<Problem>,
        apis: &[&ApiId],
        field: String,
        api: &At<ApiId>,
        stage: &At<String>,
    ) {
        let exists = self
            .api(api)
            .map(|a| a.stages.iter().any(|s| s.value == stage.value));
        match exists {
            None => p.push(dangling(
                api.pos,
                format!("{field}.api"),
                "API",
                api.as_str(),
                apis.iter().map(|a| a.as_str()),
            )),
            Some(false) => p.push(Problem::new(
                stage.pos,
                format!("{field}.stage"),
                format!("API {} has no stage `{}`", api.value, stage.value),
            )),
            Some(true) => {}
        }
    }
}

/// A WebSocket API: REGIONAL, no resource policy, route keys and MOCK routes, a key on
/// `$connect` only, a stage named in the URL.
fn check_websocket_api(i: usize, a: &Api, p: &mut Vec<Problem>) {
    regional_without_policy(
        i,
        a,
        p,
        "a WebSocket API is always REGIONAL",
        "WebSocket APIs",
    );
    if a.route_selection_fields().is_none() {
        let pos = a
            .route_selection_expression
            .as_ref()
            .map_or(a.id.pos, |e| e.pos);
        p.push(Problem::new(
            pos,
            format!("apis[{i}].route_selection_expression"),
            "only `$request.body.FIELD` (dots for nested fields) is read here".to_owned(),
        ));
    }
    for (j, r) in a.routes.iter().enumerate() {
        if !r.path.value.is_route_key() {
            p.push(Problem::new(
                    r.path.pos,
                    format!("apis[{i}].routes[{j}].path"),
                    "a WebSocket API's routes are route keys (`$connect`, `$disconnect`, `$default`, `sendmessage`), not paths".to_owned(),
                ));
        }
        if !matches!(r.integration.value, super::Integration::Mock { .. }) {
            p.push(Problem::new(
                r.integration.pos,
                format!("apis[{i}].routes[{j}].integration"),
                "a WebSocket API's routes here are MOCK integrations".to_owned(),
            ));
        }
        if r.api_key_required && r.path.value.as_str() != "$connect" {
            p.push(Problem::new(
                r.method.pos,
                format!("apis[{i}].routes[{j}].api_key_required"),
                "a WebSocket API asks for an API key on `$connect` only".to_owned(),
            ));
        }
    }
    if let Some(st) = a.stages.iter().find(|s| s.value == "$default") {
        p.push(Problem::new(
            st.pos,
            format!("apis[{i}].stages"),
            "`$default` is an HTTP API's stage; a WebSocket API's stage is named in the URL"
                .to_owned(),
        ));
    }
}

/// An HTTP API: REGIONAL, no resource policy, no API keys, no WebSocket route keys.
fn check_http_api(i: usize, a: &Api, p: &mut Vec<Problem>) {
    regional_without_policy(
        i,
        a,
        p,
        "an HTTP API is always REGIONAL (only REST APIs can be private or edge-optimized)",
        "HTTP APIs",
    );
    for (j, r) in a.routes.iter().enumerate() {
        if r.api_key_required {
            p.push(Problem::new(
                r.method.pos,
                format!("apis[{i}].routes[{j}].api_key_required"),
                "HTTP APIs have no API keys".to_owned(),
            ));
        }
        if r.path.value.is_route_key() && !r.path.value.is_default() {
            p.push(Problem::new(
                r.path.pos,
                format!("apis[{i}].routes[{j}].path"),
                format!("`{}` is a WebSocket API's route key", r.path.value.as_str()),
            ));
        }
    }
}

/// API Gateway v2 APIs (HTTP and WebSocket) are REGIONAL and have no resource policy
/// (apigateway-private-apis: only REST APIs can be private).
fn regional_without_policy(
    i: usize,
    a: &Api,
    p: &mut Vec<Problem>,
    always_regional: &str,
    kind: &str,
) {
    if a.endpoint_type.value != EndpointType::Regional {
        p.push(Problem::new(
            a.endpoint_type.pos,
            format!("apis[{i}].endpoint_type"),
            format!(
                "{always_regional}; {} is {}",
                a.id.value, a.endpoint_type.value
            ),
        ));
    }
    if let Some(policy) = &a.policy {
        p.push(Problem::new(
            policy.pos,
            format!("apis[{i}].policy"),
            format!("{kind} have no resource policy"),
        ));
    }
}

/// An API's authorizers and the methods that use them: each method with CUSTOM or
/// COGNITO_USER_POOLS names an authorizer of its kind, and only those methods name one; a
/// Lambda authorizer's token answers with a policy or `unauthorized`, a Cognito one's with
/// neither (a listed token is a valid one).
fn check_authorizers(i: usize, a: &Api, p: &mut Vec<Problem>) {
    use super::{Authorization, AuthorizerType};
    unique(
        p,
        &format!("apis[{i}].authorizers"),
        a.authorizers.iter().map(|z| (&z.id.value, z.id.pos)),
    );
    for (j, z) in a.authorizers.iter().enumerate() {
        let cognito = z.kind.value == AuthorizerType::CognitoUserPools;
        for (k, t) in z.tokens.iter().enumerate() {
            let at = format!("apis[{i}].authorizers[{j}].tokens[{k}]");
            match (cognito, &t.policy, t.unauthorized) {
                (true, Some(pol), _) => p.push(Problem::new(
                    pol.pos,
                    format!("{at}.policy"),
                    "a Cognito user pool returns no policy: a listed token is a valid one",
                )),
                (false, None, false) => p.push(Problem::new(
                    z.id.pos,
                    at.clone(),
                    "a Lambda authorizer's token answers with a policy or `unauthorized: true`",
                )),
                (false, Some(pol), true) => p.push(Problem::new(
                    pol.pos,
                    at.clone(),
                    "a token answers with a policy or `unauthorized: true`, not both",
                )),
                _ => {}
            }
            if let Some(pol) = &t.policy {
                policy_problem_as(
                    p,
                    pol,
                    format!("{at}.policy"),
                    crate::policy::Policy::parse_identity,
                );
            }
        }
    }
    for (j, r) in a.routes.iter().enumerate() {
        let at = format!("apis[{i}].routes[{j}]");
        let wants = match r.authorization {
            Authorization::Custom => Some(false),
            Authorization::CognitoUserPools => Some(true),
            Authorization::None | Authorization::AwsIam => None,
        };
        match (wants, &r.authorizer) {
            (None, Some(z)) => p.push(Problem::new(
                z.pos,
                format!("{at}.authorizer"),
                "an authorizer is named by CUSTOM or COGNITO_USER_POOLS methods only",
            )),
            (Some(_), None) => p.push(Problem::new(
                r.method.pos,
                format!("{at}.authorizer"),
                "a CUSTOM or COGNITO_USER_POOLS method names its authorizer",
            )),
            (Some(cognito), Some(z)) => {
                match a.authorizers.iter().find(|x| x.id.value == z.value) {
                    None => p.push(Problem::new(
                        z.pos,
                        format!("{at}.authorizer"),
                        format!(
                            "unknown authorizer `{}` (known: {})",
                            z.value,
                            a.authorizers
                                .iter()
                                .map(|x| x.id.value.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )),
                    Some(x) if (x.kind.value == AuthorizerType::CognitoUserPools) != cognito => {
                        p.push(Problem::new(
                            z.pos,
                            format!("{at}.authorizer"),
                            format!(
                                "`{}` is a {} authorizer; the method's authorization needs a {} one",
                                z.value,
                                if cognito { "Lambda" } else { "Cognito user pool" },
                                if cognito { "Cognito user pool" } else { "Lambda" }
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
            (None, None) => {}
        }
    }
}

/// A security policy and endpoint access mode, as "Security policies for REST APIs" allows
/// them: an enhanced policy needs a mode, a mode goes with an enhanced policy only, and the
/// `…_EDGE` policies are for edge-optimized endpoints (the others for Regional and private).
fn security_problems(
    p: &mut Vec<Problem>,
    at: &str,
    ty: EndpointType,
    policy: Option<&At<super::SecurityPolicy>>,
    mode: Option<&At<super::EndpointAccessMode>>,
) {
    match (policy, mode) {
        (Some(sp), None) if sp.value.is_enhanced() => p.push(Problem::new(
            sp.pos,
            format!("{at}.endpoint_access_mode"),
            format!(
                "the enhanced security policy {} needs endpoint_access_mode: STRICT or BASIC",
                sp.value
            ),
        )),
        (sp, Some(m)) if !sp.is_some_and(|s| s.value.is_enhanced()) => p.push(Problem::new(
            m.pos,
            format!("{at}.endpoint_access_mode"),
            "an endpoint access mode is set with an enhanced security policy (SecurityPolicy_…) only",
        )),
        _ => {}
    }
    if let Some(sp) = policy.filter(|s| !s.value.fits(ty)) {
        p.push(Problem::new(
            sp.pos,
            format!("{at}.security_policy"),
            format!("{} is not offered for {ty} endpoints", sp.value),
        ));
    }
}

/// A REST API: resource paths, not route keys; no `$default` stage.
fn check_rest_api(i: usize, a: &Api, p: &mut Vec<Problem>) {
    for (j, r) in a.routes.iter().enumerate() {
        if r.path.value.is_route_key() {
            p.push(Problem::new(
                    r.path.pos,
                    format!("apis[{i}].routes[{j}].path"),
                    format!("`{}` is a route key of HTTP or WebSocket APIs; a REST API names a resource path (`/{{proxy+}}` catches everything below /)", r.path.value.as_str()),
                ));
        }
    }
    if let Some(st) = a.stages.iter().find(|s| s.value == "$default") {
        p.push(Problem::new(
            st.pos,
            format!("apis[{i}].stages"),
            "`$default` is an HTTP API's stage".to_owned(),
        ));
    }
}

/// A policy the evaluator cannot honour in full does not load: an unread Deny would make the
/// resource more open than its owner wrote. The problem names the statement's field.
fn policy_problem(p: &mut Vec<Problem>, policy: &At<serde_json::Value>, field: String) {
    policy_problem_as(p, policy, field, crate::policy::Policy::parse);
}

/// [`policy_problem`] with the reader of the policy's kind (resource- or identity-based).
fn policy_problem_as(
    p: &mut Vec<Problem>,
    policy: &At<serde_json::Value>,
    field: String,
    parse: fn(&serde_json::Value) -> Result<crate::policy::Policy, crate::policy::PolicyError>,
) {
    if let Err(e) = parse(&policy.value) {
        let field = if e.at.is_empty() {
            field
        } else {
            format!("{field}.{}", e.at)
        };
        p.push(Problem::new(policy.pos, field, e.kind.to_string()));
    }
}

/// Reports every repeated key after its first use; returns the keys in order.
fn unique<'a, K: Eq + std::hash::Hash + fmt::Display + 'a>(
    p: &mut Vec<Problem>,
    what: &str,
    keys: impl Iterator<Item = (&'a K, Pos)>,
) -> Vec<&'a K> {
    let mut seen: HashMap<&K, Pos> = HashMap::new();
    let mut out = Vec::new();
    for (k, pos) in keys {
        if let Some(first) = seen.get(k) {
            p.push(Problem::new(
                pos,
                what,
                format!("`{k}` is defined twice (first at line {})", first.line),
            ));
        } else {
            seen.insert(k, pos);
            out.push(k);
        }
    }
    out
}

fn dangling<'a>(
    pos: Pos,
    field: impl Into<String>,
    what: &str,
    name: &str,
    known: impl Iterator<Item = &'a str>,
) -> Problem {
    let known: Vec<&str> = known.collect();
    let hint = if known.is_empty() {
        format!("no {what} is defined")
    } else {
        format!("known: {}", known.join(", "))
    };
    Problem::new(pos, field, format!("unknown {what} `{name}` ({hint})"))
}

/// What [`aws_id`] allows, in words.
const ID_RULE: &str =
    "ids are 1 to 128 letters, digits, `-`, `_` and `.` (API Gateway's own are letters and digits)";

/// A usage plan's or API key's id as API Gateway could have made it, and safe in a log line, a
/// label value and a store key.
fn aws_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}
