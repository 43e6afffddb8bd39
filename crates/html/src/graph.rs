//! The elements of one topology as nodes in layers, their associations as edges, and each
//! request as the nodes it passed.

use std::collections::HashMap;

use parallax_model::FrontDoor;
use parallax_model::naming::ExecuteApiName;
use parallax_model::topology::{DomainDns, EndpointType, Network, RecordData, RuleKind, Topology};
use parallax_rules::resolver::{QType, Source, View as ResolverView};

use crate::{Class, Request};

/// The layers, left to right: a request passes them in this order.
pub(crate) const LAYERS: [&str; 6] = [
    "Callers",
    "Networks (resolver views)",
    "What answers DNS",
    "Front doors",
    "Custom domains",
    "APIs",
];

/// One element of the network.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// The key other parts name it by (`vpc:vpc-0a1b`), unique in its graph.
    pub key: String,
    /// Its layer (an index of [`LAYERS`]).
    pub layer: usize,
    /// What kind of element it is, in words (`VPC`, `private hosted zone`).
    pub kind: &'static str,
    /// Its name or id.
    pub title: String,
    /// What else to say of it, one line each.
    pub lines: Vec<String>,
    /// The ids and names that findings may mention it by.
    pub names: Vec<String>,
}

/// An association between two elements (not a request).
#[derive(Clone, Debug)]
pub(crate) struct Edge {
    pub from: usize,
    pub to: usize,
    /// In words: `associated with`, `lives in`, `maps /v1 to`.
    pub label: String,
}

/// One request's way through the nodes.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    /// The nodes passed, in order (at least one).
    pub nodes: Vec<usize>,
    pub class: Class,
    /// The part of the view's DNS that answered, in words.
    pub answered_by: String,
    /// Why the path stops where it does, when it stops before an API.
    pub stop: Option<&'static str>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub routes: Vec<Route>,
    index: HashMap<String, usize>,
}

impl Graph {
    fn add(&mut self, node: Node) -> usize {
        if let Some(&i) = self.index.get(&node.key) {
            return i;
        }
        let i = self.nodes.len();
        self.index.insert(node.key.clone(), i);
        self.nodes.push(node);
        i
    }

    pub(crate) fn find(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    fn link(&mut self, from: &str, to: &str, label: impl Into<String>) {
        if let (Some(f), Some(t)) = (self.find(from), self.find(to))
            && f != t
        {
            self.edges.push(Edge {
                from: f,
                to: t,
                label: label.into(),
            });
        }
    }

    /// The graph of `t` with `requests` routed through it.
    pub(crate) fn build(t: &Topology, requests: &[Request], aliases: &[(String, String)]) -> Graph {
        let mut g = Graph::default();
        g.elements(t, requests);
        for (name, id) in aliases {
            for n in &mut g.nodes {
                if n.names.iter().any(|x| x == id) && !n.names.contains(name) {
                    n.names.push(name.clone());
                }
            }
        }
        let mut views: HashMap<Network, ResolverView> = HashMap::new();
        for r in requests {
            let route = g.route(t, r, &mut views);
            g.routes.push(route);
        }
        g
    }

    fn elements(&mut self, t: &Topology, requests: &[Request]) {
        let owner = |own: Option<&parallax_model::At<String>>| {
            let a = t.owner(own);
            if a.is_empty() || a == t.account.value {
                None
            } else {
                Some(format!("account {a}"))
            }
        };
        // Callers; a vantage that only names its network (analyze's `internet` and one per VPC)
        // is that network's node.
        for v in t.vantages.iter().filter(|v| !names_its_network(v)) {
            let mut lines = vec![format!("in {}", network_words(&v.network.value))];
            if let Some(a) = &v.address {
                lines.push(format!("address {a}"));
            }
            self.add(Node {
                key: format!("vantage:{}", v.name),
                layer: 0,
                kind: "vantage point",
                title: v.name.value.clone(),
                lines,
                names: vec![v.name.value.clone()],
            });
        }
        // Networks: the internet when anything calls from it, every VPC, every on-prem network.
        let internet_used = requests.iter().any(|r| r.network == Network::Internet)
            || t.vantages
                .iter()
                .any(|v| v.network.value == Network::Internet);
        if internet_used {
            self.add(Node {
                key: "net:internet".into(),
                layer: 1,
                kind: "network",
                title: "internet".into(),
                lines: vec!["public resolvers".into()],
                names: vec![],
            });
        }
        for v in &t.vpcs {
            let mut lines = vec![v.cidr.to_string()];
            if let Some(a) = owner(v.account.as_ref()) {
                lines.push(a);
            }
            if !v.dns_support {
                lines.push("DNS resolution off".into());
            }
            self.add(Node {
                key: format!("net:{}", v.id),
                layer: 1,
                kind: "VPC",
                title: v.id.to_string(),
                lines,
                names: vec![v.id.to_string()],
            });
        }
        for n in &t.onprem {
            self.add(Node {
                key: format!("net:onprem:{}", n.name),
                layer: 1,
                kind: "on-prem network",
                title: format!("on-prem {}", n.name),
                lines: vec![format!("DNS {}", n.dns)],
                names: vec![n.name.value.clone()],
            });
        }
        // What answers DNS.
        self.add(Node {
            key: "dns:public".into(),
            layer: 2,
            kind: "public DNS",
            title: "public DNS".into(),
            lines: vec!["public zones and AWS's own names".into()],
            names: vec![],
        });
        for z in &t.hosted_zones {
            let mut lines = vec![format!("{} records", z.records.len())];
            for r in z.records.iter().take(3) {
                lines.push(record_words(&r.value));
            }
            self.add(Node {
                key: format!("zone:{}", z.name),
                layer: 2,
                kind: "private hosted zone",
                title: z.name.to_string(),
                lines,
                names: vec![z.name.to_string()],
            });
        }
        for r in &t.resolver_rules {
            let mut lines = vec![match r.kind {
                RuleKind::Forward => format!("forward {}", r.domain),
                RuleKind::System => format!("system {}", r.domain),
            }];
            if !r.targets.is_empty() {
                let to: Vec<String> = r.targets.iter().map(|x| x.0.to_string()).collect();
                lines.push(format!("to {}", to.join(", ")));
            }
            if let Some(a) = owner(r.account.as_ref()) {
                lines.push(a);
            }
            self.add(Node {
                key: format!("rule:{}", r.id),
                layer: 2,
                kind: "Resolver rule",
                title: r.id.value.clone(),
                lines,
                names: vec![r.id.value.clone()],
            });
        }
        for p in &t.profiles {
            let mut lines = vec![format!(
                "{} zones, {} rules, {} endpoints",
                p.hosted_zones.len(),
                p.resolver_rules.len(),
                p.endpoints.len()
            )];
            if let Some(a) = owner(p.account.as_ref()) {
                lines.push(a);
            }
            self.add(Node {
                key: format!("profile:{}", p.id),
                layer: 2,
                kind: "Route 53 Profile",
                title: p.id.value.clone(),
                lines,
                names: vec![p.id.value.clone()],
            });
        }
        for e in &t.endpoints {
            if e.private_dns && e.is_execute_api() {
                self.add(Node {
                    key: format!("epdns:{}", e.id),
                    layer: 2,
                    kind: "endpoint private DNS",
                    title: format!("private DNS of {}", e.id),
                    lines: vec![format!("*.execute-api.{}.amazonaws.com", t.region)],
                    names: vec![],
                });
            }
        }
        for i in &t.inbound_endpoints {
            let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
            self.add(Node {
                key: format!("inbound:{}", i.id),
                layer: 2,
                kind: "Resolver inbound endpoint",
                title: i.id.value.clone(),
                lines: vec![addrs.join(", ")],
                names: vec![i.id.value.clone()],
            });
        }
        for n in &t.onprem {
            for z in &n.zones {
                self.add(Node {
                    key: format!("opzone:{}", z.name),
                    layer: 2,
                    kind: "on-prem zone",
                    title: z.name.to_string(),
                    lines: vec![format!("on {}", n.name)],
                    names: vec![],
                });
            }
        }
        // Front doors.
        let kinds: Vec<EndpointType> = t
            .apis
            .iter()
            .map(|a| a.endpoint_type.value)
            .chain(t.custom_domains.iter().map(|d| d.endpoint_type.value))
            .collect();
        let used = |d: FrontDoor| {
            requests
                .iter()
                .any(|r| r.outcome.front_door == Some(d.clone()))
        };
        if kinds.contains(&EndpointType::Regional) || used(FrontDoor::Regional) {
            let addrs: Vec<String> = t
                .front_doors
                .regional
                .iter()
                .take(3)
                .map(|a| a.to_string())
                .collect();
            self.add(Node {
                key: "door:regional".into(),
                layer: 3,
                kind: "front door",
                title: "Regional front door".into(),
                lines: vec![format!("{} (public)", t.region), addrs.join(", ")],
                names: vec![],
            });
        }
        if kinds.contains(&EndpointType::Edge) || used(FrontDoor::Edge) {
            self.add(Node {
                key: "door:edge".into(),
                layer: 3,
                kind: "front door",
                title: "Edge front door".into(),
                lines: vec!["CloudFront".into()],
                names: vec![],
            });
        }
        for e in &t.endpoints {
            let mut lines = vec![
                format!("{} in {}", e.service.value.as_str(), e.vpc),
                format!("private DNS {}", if e.private_dns { "on" } else { "off" }),
            ];
            for s in e.subnets.iter().take(3) {
                lines.push(format!("{} {} {}", s.az, s.id, s.address));
            }
            if e.subnets.len() > 3 {
                lines.push(format!("and {} more interfaces", e.subnets.len() - 3));
            }
            self.add(Node {
                key: format!("door:{}", e.id),
                layer: 3,
                kind: "interface VPC endpoint",
                title: e.id.to_string(),
                lines,
                names: vec![e.id.to_string()],
            });
        }
        // Custom domains and APIs.
        for d in &t.custom_domains {
            let mut lines = vec![format!(
                "{}{}",
                d.endpoint_type,
                match d.dns.value {
                    DomainDns::Alias => ", alias record",
                    DomainDns::Cname => ", CNAME",
                }
            )];
            if let Some(m) = &d.mtls {
                lines.push(format!("mutual TLS, truststore {}", m.truststore));
            }
            if let Some(p) = &d.security_policy {
                lines.push(format!("policy {p}"));
            }
            if let Some(a) = owner(d.account.as_ref()) {
                lines.push(a);
            }
            self.add(Node {
                key: format!("domain:{}", d.name),
                layer: 4,
                kind: "custom domain",
                title: d.name.to_string(),
                lines,
                names: vec![d.name.to_string()],
            });
        }
        for a in &t.apis {
            let mut lines = vec![
                a.id.to_string(),
                format!("{} {:?}", a.endpoint_type, a.protocol).to_uppercase(),
            ];
            let stages: Vec<&str> = a.stages.iter().map(|s| s.value.as_str()).collect();
            if !stages.is_empty() {
                lines.push(format!("stages {}", stages.join(", ")));
            }
            if a.policy.is_some() {
                lines.push("resource policy".into());
            }
            if let Some(acc) = owner(a.account.as_ref()) {
                lines.push(acc);
            }
            self.add(Node {
                key: format!("api:{}", a.id),
                layer: 5,
                kind: "API",
                title: a.name.clone(),
                lines,
                names: vec![a.id.to_string(), a.name.clone()],
            });
        }
        // Associations.
        for v in t.vantages.iter().filter(|v| !names_its_network(v)) {
            let net = network_key(&v.network.value);
            self.link(&format!("vantage:{}", v.name), &net, "calls from");
        }
        for z in &t.hosted_zones {
            for v in &z.vpcs {
                self.link(
                    &format!("zone:{}", z.name),
                    &format!("net:{v}"),
                    "associated with",
                );
            }
        }
        for r in &t.resolver_rules {
            for v in &r.vpcs {
                self.link(
                    &format!("rule:{}", r.id),
                    &format!("net:{v}"),
                    "associated with",
                );
            }
        }
        for p in &t.profiles {
            let key = format!("profile:{}", p.id);
            for v in &p.vpcs {
                self.link(&key, &format!("net:{v}"), "associated with");
            }
            for z in &p.hosted_zones {
                self.link(&key, &format!("zone:{z}"), "carries");
            }
            for r in &p.resolver_rules {
                self.link(&key, &format!("rule:{r}"), "carries");
            }
            for e in &p.endpoints {
                self.link(&key, &format!("door:{e}"), "carries");
            }
        }
        for e in &t.endpoints {
            self.link(
                &format!("door:{}", e.id),
                &format!("net:{}", e.vpc),
                "lives in",
            );
            self.link(
                &format!("epdns:{}", e.id),
                &format!("net:{}", e.vpc),
                "answers in",
            );
        }
        for i in &t.inbound_endpoints {
            self.link(
                &format!("inbound:{}", i.id),
                &format!("net:{}", i.vpc),
                "lives in",
            );
        }
        for n in &t.onprem {
            for z in &n.zones {
                self.link(
                    &format!("opzone:{}", z.name),
                    &format!("net:onprem:{}", n.name),
                    "served in",
                );
            }
        }
        for d in &t.custom_domains {
            for m in &d.mappings {
                let path = if m.base_path.is_empty() {
                    "(root)".to_owned()
                } else {
                    format!("/{}", m.base_path)
                };
                self.link(
                    &format!("domain:{}", d.name),
                    &format!("api:{}", m.api),
                    format!("maps {path} to stage {}", m.stage),
                );
            }
        }
        for a in &t.apis {
            for e in &a.vpc_endpoints {
                self.link(
                    &format!("door:{e}"),
                    &format!("api:{}", a.id),
                    "alias name of",
                );
            }
        }
    }

    /// The nodes `r` passed: where it was made, what answered its DNS question, the door it
    /// reached and, when the door serves it, the custom domain and the API.
    fn route(
        &mut self,
        t: &Topology,
        r: &Request,
        views: &mut HashMap<Network, ResolverView>,
    ) -> Route {
        let class = Class::of(&r.outcome);
        let mut nodes = Vec::new();
        if let Some(i) = self.find(&format!("vantage:{}", r.from)) {
            nodes.push(i);
        }
        let net = network_key(&r.network);
        if let Some(i) = self.find(&net) {
            nodes.push(i);
        }
        let host = parallax_model::RequestUrl::try_from(r.url.clone()).ok();
        let source = host.as_ref().map(|u| {
            views
                .entry(r.network.clone())
                .or_insert_with(|| ResolverView::for_network(t, &r.network))
                .answer(&u.host, QType::A)
                .source
        });
        let mut answered_by = "nobody: no zone or rule claims the name".to_owned();
        if let Some(s) = &source {
            answered_by = source_words(s);
            self.source_nodes(s, &mut nodes);
        }
        let door = match &r.outcome.front_door {
            Some(FrontDoor::Regional) => self.find("door:regional"),
            Some(FrontDoor::Edge) => self.find("door:edge"),
            Some(FrontDoor::VpcEndpoint(id)) => self.find(&format!("door:{id}")),
            Some(FrontDoor::None) | None => None,
        };
        let Some(door) = door else {
            let stop = if r.outcome.dns.addresses.is_empty() {
                "DNS gave no address"
            } else {
                "no front door at the address"
            };
            return Route {
                nodes,
                class,
                answered_by,
                stop: Some(stop),
            };
        };
        nodes.push(door);
        if r.outcome.http.is_none() {
            return Route {
                nodes,
                class,
                answered_by,
                stop: Some("no HTTP answer (TLS or connection)"),
            };
        }
        let door_type = match &r.outcome.front_door {
            Some(FrontDoor::Regional) => EndpointType::Regional,
            Some(FrontDoor::Edge) => EndpointType::Edge,
            _ => EndpointType::Private,
        };
        let Some(u) = host else {
            return Route {
                nodes,
                class,
                answered_by,
                stop: None,
            };
        };
        // Through a custom domain: its mapping by the first path segment (the longest base path
        // that matches), else the root mapping.
        if let Some(d) = t.custom_domain(&u.host) {
            if d.endpoint_type.value != door_type {
                return Route {
                    nodes,
                    class,
                    answered_by,
                    stop: Some("this door does not serve the domain's endpoint type"),
                };
            }
            if let Some(i) = self.find(&format!("domain:{}", d.name)) {
                nodes.push(i);
            }
            let path = u
                .path
                .split('?')
                .next()
                .unwrap_or("")
                .trim_start_matches('/');
            let mapping = d
                .mappings
                .iter()
                .filter(|m| {
                    m.base_path.is_empty()
                        || path == m.base_path
                        || path.starts_with(&format!("{}/", m.base_path))
                })
                .max_by_key(|m| m.base_path.len());
            if let Some(i) = mapping.and_then(|m| self.find(&format!("api:{}", m.api))) {
                nodes.push(i);
            }
            return Route {
                nodes,
                class,
                answered_by,
                stop: None,
            };
        }
        let api = match ExecuteApiName::parse(u.host.as_str()) {
            Some(
                ExecuteApiName::Default { api, .. } | ExecuteApiName::ApiVpceAlias { api, .. },
            ) => t.api(&api),
            _ => None,
        };
        let mut stop = None;
        if let Some(a) = api {
            if a.endpoint_type.value == door_type {
                if let Some(i) = self.find(&format!("api:{}", a.id)) {
                    nodes.push(i);
                }
            } else {
                stop = Some("this door does not route the API's endpoint type");
            }
        }
        Route {
            nodes,
            class,
            answered_by,
            stop,
        }
    }

    fn source_nodes(&self, s: &Source, nodes: &mut Vec<usize>) {
        let key = match s {
            Source::ResolverRule(id) => format!("rule:{id}"),
            Source::PrivateZone(z) => format!("zone:{z}"),
            Source::EndpointZone(e) => format!("epdns:{e}"),
            Source::Public(_) => "dns:public".to_owned(),
            Source::OnPremZone(z) => format!("opzone:{z}"),
            Source::InboundEndpoint { endpoint, inner } => {
                if let Some(i) = self.find(&format!("inbound:{endpoint}")) {
                    nodes.push(i);
                }
                return self.source_nodes(inner, nodes);
            }
            Source::Profile { profile, inner } => {
                if let Some(i) = self.find(&format!("profile:{profile}")) {
                    nodes.push(i);
                }
                return self.source_nodes(inner, nodes);
            }
            Source::Nobody => return,
        };
        if let Some(i) = self.find(&key) {
            nodes.push(i);
        }
    }
}

fn names_its_network(v: &parallax_model::topology::Vantage) -> bool {
    match &v.network.value {
        Network::Internet => v.name.value == "internet",
        Network::Vpc(id) => v.name.value == id.to_string(),
        Network::OnPrem(n) => v.name.value == format!("onprem:{n}"),
    }
}

fn network_key(n: &Network) -> String {
    match n {
        Network::Internet => "net:internet".to_owned(),
        Network::Vpc(v) => format!("net:{v}"),
        Network::OnPrem(name) => format!("net:onprem:{name}"),
    }
}

fn network_words(n: &Network) -> String {
    match n {
        Network::Internet => "the internet".to_owned(),
        Network::Vpc(v) => v.to_string(),
        Network::OnPrem(name) => format!("on-prem {name}"),
    }
}

fn record_words(r: &parallax_model::topology::Record) -> String {
    let data = match &r.data {
        RecordData::A(a) => {
            let s: Vec<String> = a.iter().map(|x| x.to_string()).collect();
            format!("A {}", s.join(" "))
        }
        RecordData::Aaaa(a) => {
            let s: Vec<String> = a.iter().map(|x| x.to_string()).collect();
            format!("AAAA {}", s.join(" "))
        }
        RecordData::Cname(n) => format!("CNAME {n}"),
        RecordData::Alias(n) => format!("ALIAS {n}"),
    };
    format!("{} {data}", r.name)
}

/// The part of a view that answered, in words.
pub(crate) fn source_words(s: &Source) -> String {
    match s {
        Source::ResolverRule(id) => format!("Resolver rule {id}"),
        Source::PrivateZone(z) => format!("private hosted zone {z}"),
        Source::EndpointZone(e) => format!("the private DNS of endpoint {e}"),
        Source::Public(z) => format!("public DNS ({z})"),
        Source::OnPremZone(z) => format!("on-prem zone {z}"),
        Source::InboundEndpoint { endpoint, inner } => {
            format!(
                "{} through inbound endpoint {endpoint}",
                source_words(inner)
            )
        }
        Source::Profile { profile, inner } => {
            format!("{} through Route 53 Profile {profile}", source_words(inner))
        }
        Source::Nobody => "nobody: no zone or rule claims the name".to_owned(),
    }
}
