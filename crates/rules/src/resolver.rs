//! A view: what one resolver answers, from one place. The internet view is the public DNS of the
//! modelled names; a VPC view is that VPC's Route 53 Resolver (VPC+2), which checks, in order
//! (reference §2.4, §2.1):
//!
//! 1. resolver rules associated with the VPC (the most specific domain wins; a `system` rule
//!    sends the name back to the Resolver's own answers);
//! 2. private hosted zones associated with the VPC, the customer's and the ones AWS manages for
//!    its interface endpoints' private DNS (for execute-api the wildcard
//!    `*.execute-api.{region}.amazonaws.com` → the endpoint's addresses), together: the most
//!    specific zone wins (Route 53 Developer Guide, "Considerations when working with a private
//!    hosted zone", overlapping namespaces). A customer zone of the same name as an endpoint's
//!    cannot exist beside it: AWS refuses the endpoint's private DNS ("conflicting DNS domain"),
//!    and the model does too; if it ever met both, the customer's would answer (INFERRED). A zone
//!    that matches the name but has no record answers NXDOMAIN and never falls back to public
//!    answers (same page: "Resolver doesn't forward the request to a public DNS resolver");
//! 3. the internet view.
//!
//! Record names may start with `*.`: the wildcard matches a name with one or more labels in
//! place of `*`, and a record of the exact name wins (Route 53 Developer Guide,
//! "DNS domain name format", asterisk); the most specific wildcard answers.
//!
//! A Route 53 Profile associated with the VPC adds its Resolver rules to step 1 and its private
//! zones and interface endpoints' private DNS to step 2 (Route 53 Developer Guide, "What are
//! Amazon Route 53 Profiles?", "Associate interface VPC endpoints to a Route 53 Profile"); a
//! local rule, zone or endpoint zone of the very same name wins over the profile's (INFERRED:
//! AWS documents no order). Answers from them say which profile carried them.
//!
//! An on-prem view is a network's own DNS server: its zones, then its conditional forwarders to
//! Route 53 Resolver inbound endpoints (most specific domain; a zone of its own at least as
//! specific wins), answered as the endpoint's VPC view answers; the rest, the internet view
//! (Route 53 Developer Guide, "Resolving DNS queries between VPCs and your network").
//!
//! Steps 2 and 3 need both `dns_support` and `dns_hostnames` on. With `dns_support` off the
//! resolver does not answer at all (here: REFUSED, so that a client learns it at once).
//!
//! CNAMEs are followed inside the view, so a public CNAME into `*.execute-api` is caught by the
//! endpoint zone, as the VPC resolver does.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use parallax_model::ids::{DnsName, Region, VpcId, VpceId};
use parallax_model::naming::{ExecuteApiName, endpoint_private_zone, execute_api_zone, vpce_zone};
use parallax_model::topology::{
    DomainDns, Endpoint, EndpointType, HostedZone, RecordData, RuleKind, Target, Topology,
};
use parallax_model::{Network, Rcode};

/// TTL of answers synthesised for AWS-owned names (API Gateway answers with 60 s).
pub const AWS_TTL: u32 = 60;
/// The SOA that negative answers carry, in Route 53's shape.
pub const SOA_MNAME: &str = "ns-1536.awsdns-00.co.uk";
/// The SOA RNAME of AWS's public zones.
pub const SOA_RNAME: &str = "awsdns-hostmaster.amazon.com";
/// The SOA record's TTL.
pub const SOA_TTL: u32 = 900;
/// The SOA minimum (negative-caching TTL).
pub const SOA_MINIMUM: u32 = 86400;
/// How many CNAMEs a chain may have before the answer is SERVFAIL (a loop, most likely).
pub const MAX_CHAIN: usize = 8;

/// Query types the views know. Anything else is answered as NODATA for existing names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QType {
    /// A.
    A,
    /// AAAA.
    Aaaa,
    /// CNAME.
    Cname,
    /// SOA.
    Soa,
    /// Any other type, by number.
    Other(u16),
}

/// One answer record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rec {
    /// The owner name.
    pub name: DnsName,
    /// Time to live, in seconds.
    pub ttl: u32,
    /// What the record holds.
    pub data: RecData,
}

/// A record's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(std::net::Ipv6Addr),
    /// A canonical name.
    Cname(DnsName),
}

/// Which part of a view produced an answer: what a diagnosis cites.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A Resolver rule, by id.
    ResolverRule(String),
    /// A private hosted zone, by name.
    PrivateZone(DnsName),
    /// An interface endpoint's private DNS zone.
    EndpointZone(VpceId),
    /// Public DNS, by zone.
    Public(DnsName),
    /// A zone of an on-prem DNS server.
    OnPremZone(DnsName),
    /// Forwarded by an on-prem DNS server to a Resolver inbound endpoint, answered there by the
    /// endpoint's VPC resolver.
    InboundEndpoint {
        /// The inbound endpoint's id.
        endpoint: String,
        /// What answered in the endpoint's VPC.
        inner: Box<Source>,
    },
    /// A zone or rule that reaches the VPC through its Route 53 Profile.
    Profile {
        /// The profile's id.
        profile: String,
        /// What the profile carries that answered.
        inner: Box<Source>,
    },
    /// No view claims the name.
    Nobody,
}

impl Source {
    /// The zone or rule itself, without the profile that carried it.
    pub fn innermost(&self) -> &Source {
        match self {
            Source::Profile { inner, .. } | Source::InboundEndpoint { inner, .. } => {
                inner.innermost()
            }
            other => other,
        }
    }

    /// The Route 53 Profile that carried the zone or rule, if one did.
    pub fn profile(&self) -> Option<&str> {
        match self {
            Source::Profile { profile, .. } => Some(profile),
            _ => None,
        }
    }

    fn rule_id(&self) -> Option<&str> {
        match self {
            Source::ResolverRule(id) => Some(id),
            _ => None,
        }
    }
}

/// The answer a view gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The response code.
    pub rcode: Rcode,
    /// The records of the answer, CNAMEs first.
    pub records: Vec<Rec>,
    /// For NXDOMAIN and NODATA: the zone whose SOA goes in the authority section.
    pub soa_zone: Option<DnsName>,
    /// The part of the view that answered the last name of the chain.
    pub source: Source,
    /// Set when a resolver rule wants the query forwarded: the rule id and its targets. The
    /// records so far (a CNAME chain into the forwarded domain) are kept.
    pub forward: Option<(String, Vec<Target>)>,
}

impl Answer {
    fn new(rcode: Rcode, source: Source) -> Self {
        Answer {
            rcode,
            records: Vec::new(),
            soa_zone: None,
            source,
            forward: None,
        }
    }

    /// The addresses of the answer, in order.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.records
            .iter()
            .filter_map(|r| match r.data {
                RecData::A(a) => Some(IpAddr::V4(a)),
                RecData::Aaaa(a) => Some(IpAddr::V6(a)),
                RecData::Cname(_) => None,
            })
            .collect()
    }
}

/// What a name holds in one zone.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Holding {
    Addrs(Vec<Ipv4Addr>, Vec<std::net::Ipv6Addr>, u32),
    Cname(DnsName, u32),
    Alias(DnsName),
}

/// A zone: its apex, its names, and its wildcards (`*.parent`, by their parent).
#[derive(Clone, Debug)]
struct Zone {
    apex: DnsName,
    names: BTreeMap<DnsName, Holding>,
    wildcards: BTreeMap<DnsName, Holding>,
    source: Source,
}

impl Zone {
    fn new(apex: DnsName, source: Source) -> Self {
        Zone {
            apex,
            names: BTreeMap::new(),
            wildcards: BTreeMap::new(),
            source,
        }
    }

    fn add_addrs(&mut self, name: DnsName, addrs: &[IpAddr], ttl: u32) {
        let (v4, v6) = split(addrs);
        // When a CNAME already owns the name the topology is inconsistent; the first writer wins.
        if let Holding::Addrs(a, b, _) = self
            .names
            .entry(name)
            .or_insert_with(|| Holding::Addrs(vec![], vec![], ttl))
        {
            a.extend(v4);
            b.extend(v6);
        }
    }

    /// What the zone holds for `name` (itself within the zone): `None` = the name does not exist.
    fn holding(&self, name: &DnsName) -> Option<&Holding> {
        if let Some(h) = self.names.get(name) {
            return Some(h);
        }
        // A wildcard `*.P` covers names one or more labels below P that are not owned
        // explicitly; the most specific P answers.
        self.wildcards
            .iter()
            .filter(|(parent, _)| name != *parent && name.is_within(parent))
            .max_by_key(|(parent, _)| parent.as_str().len())
            .map(|(_, h)| h)
    }

    /// True when `name` exists as an empty non-terminal (a name above some record).
    fn has_descendants(&self, name: &DnsName) -> bool {
        self.names.keys().any(|n| n != name && n.is_within(name))
            || self
                .wildcards
                .keys()
                .any(|p| p == name || p.is_within(name))
    }
}

/// Where a view sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViewKind {
    /// The public internet.
    Internet,
    /// Inside a VPC.
    Vpc(VpcId),
    /// A network outside AWS: its DNS server's own zones, its conditional forwarders to
    /// Resolver inbound endpoints, and the internet for the rest.
    OnPrem(String),
}

/// One resolver view over a topology.
#[derive(Clone, Debug)]
pub struct View {
    kind: ViewKind,
    /// Public zones, shared by every view.
    public: Vec<Zone>,
    /// Public wildcard: a default execute-api name whose API id the model does not know. AWS's
    /// public DNS answers any API id of the Region with the regional front door (INFERRED: every
    /// default hostname is in one wildcard zone; unknown ids then get 403 from the gateway).
    unknown_api_addrs: Vec<IpAddr>,
    region_zone: DnsName,
    /// Resolver rules of this VPC: (domain, the source citing the rule, kind, targets).
    rules: Vec<(DnsName, Source, RuleKind, Vec<Target>)>,
    private_zones: Vec<Zone>,
    endpoint_zones: Vec<Zone>,
    /// `dns_support` of the VPC; the internet view always answers.
    answering: bool,
    /// On-prem only: conditional forwarders, (domain, inbound endpoint id, the view of the
    /// endpoint's VPC, which answers what arrives there).
    forwards: Vec<(DnsName, String, View)>,
}

impl View {
    /// The name of the view: `internet`, or the VPC id.
    pub fn name(&self) -> String {
        match &self.kind {
            ViewKind::Internet => "internet".to_owned(),
            ViewKind::Vpc(id) => id.to_string(),
            ViewKind::OnPrem(name) => format!("onprem:{name}"),
        }
    }

    /// Which resolver this view is.
    pub fn kind(&self) -> &ViewKind {
        &self.kind
    }

    /// Every view of a topology: the internet first, then one per VPC in file order.
    pub fn all(t: &Topology) -> Vec<View> {
        let mut out = vec![View::build(t, ViewKind::Internet)];
        out.extend(
            t.vpcs
                .iter()
                .map(|v| View::build(t, ViewKind::Vpc(v.id.value.clone()))),
        );
        out.extend(
            t.onprem
                .iter()
                .map(|n| View::build(t, ViewKind::OnPrem(n.name.value.clone()))),
        );
        out
    }

    /// The view a vantage point's network asks.
    pub fn for_network(t: &Topology, network: &Network) -> View {
        match network {
            Network::Internet => View::build(t, ViewKind::Internet),
            Network::Vpc(id) => View::build(t, ViewKind::Vpc(id.clone())),
            Network::OnPrem(name) => View::build(t, ViewKind::OnPrem(name.clone())),
        }
    }

    /// The view of `kind` over a topology.
    pub fn build(t: &Topology, kind: ViewKind) -> View {
        View::build_zones(t, kind)
    }

    /// Every name this view can put in an answer by name (not through a wildcard): zone
    /// apexes, record names, CNAME and alias targets. A server converts them to wire form once.
    pub fn names(&self) -> Vec<DnsName> {
        let mut names: Vec<DnsName> = Vec::new();
        for z in self
            .public
            .iter()
            .chain(&self.private_zones)
            .chain(&self.endpoint_zones)
        {
            names.push(z.apex.clone());
            for (n, h) in &z.names {
                names.push(n.clone());
                if let Holding::Cname(target, _) | Holding::Alias(target) = h {
                    names.push(target.clone());
                }
            }
            for h in z.wildcards.values() {
                if let Holding::Cname(target, _) | Holding::Alias(target) = h {
                    names.push(target.clone());
                }
            }
        }
        for (_, _, inbound) in &self.forwards {
            names.extend(inbound.names());
        }
        names
    }

    fn build_zones(t: &Topology, kind: ViewKind) -> View {
        let (public, regional) = View::public_zones(t);
        let mut view = View {
            kind: kind.clone(),
            public,
            unknown_api_addrs: regional,
            region_zone: execute_api_zone(&t.region.value),
            rules: Vec::new(),
            private_zones: Vec::new(),
            endpoint_zones: Vec::new(),
            answering: true,
            forwards: Vec::new(),
        };
        match &kind {
            ViewKind::OnPrem(name) => view.add_onprem(t, name),
            ViewKind::Vpc(vpc_id) => {
                if let Some(vpc) = t.vpc(vpc_id) {
                    view.add_vpc(t, vpc);
                }
            }
            ViewKind::Internet => {}
        }
        view
    }

    /// Public DNS: the execute-api, vpce and CloudFront zones, and the public zones of custom
    /// domains; with the Regional front door's addresses (what an unknown API name gets).
    fn public_zones(t: &Topology) -> (Vec<Zone>, Vec<IpAddr>) {
        let region = &t.region.value;
        let regional: Vec<IpAddr> = t.front_doors.regional.iter().map(|a| a.value).collect();
        let edge: Vec<IpAddr> = t.front_doors.edge.iter().map(|a| a.value).collect();
        let mut execute_api = Zone::new(
            execute_api_zone(region),
            Source::Public(execute_api_zone(region)),
        );
        let mut vpce = Zone::new(vpce_zone(region), Source::Public(vpce_zone(region)));
        let cloudfront: DnsName = composed("cloudfront.net");
        let mut cf = Zone::new(cloudfront.clone(), Source::Public(cloudfront));
        let mut domain_zones: BTreeMap<DnsName, Zone> = BTreeMap::new();

        for api in &t.apis {
            let addrs = if api.endpoint_type.value == EndpointType::Edge {
                &edge
            } else {
                &regional
            };
            execute_api.add_addrs(api.default_name(region).to_dns_name(), addrs, AWS_TTL);
            if api.endpoint_type.value == EndpointType::Private {
                for id in &api.vpc_endpoints {
                    if let Some(e) = t.endpoint(id) {
                        let alias = ExecuteApiName::ApiVpceAlias {
                            api: api.id.value.clone(),
                            vpce: id.value.clone(),
                            region: region.clone(),
                        };
                        execute_api.add_addrs(
                            alias.to_dns_name(),
                            &v4_as_ip(&e.addresses()),
                            AWS_TTL,
                        );
                    }
                }
            }
        }
        for e in t.endpoints.iter().filter(|e| e.is_execute_api()) {
            for (name, addrs) in e.public_names(region) {
                vpce.add_addrs(name.to_dns_name(), &v4_as_ip(&addrs), AWS_TTL);
            }
        }
        // A private custom domain name is published by the customer's own private zone (a
        // record to the endpoint), never in public DNS.
        for d in t
            .custom_domains
            .iter()
            .filter(|d| d.endpoint_type.value != EndpointType::Private)
        {
            let target = d.target_name(region);
            let (addrs, target_zone) = if d.endpoint_type.value == EndpointType::Edge {
                (&edge, &mut cf)
            } else {
                (&regional, &mut execute_api)
            };
            target_zone.add_addrs(target.clone(), addrs, AWS_TTL);
            let apex = d
                .name
                .parent()
                .filter(|p| p.labels().count() >= 2)
                .unwrap_or_else(|| d.name.value.clone());
            let zone = domain_zones
                .entry(apex.clone())
                .or_insert_with(|| Zone::new(apex.clone(), Source::Public(apex)));
            match d.dns.value {
                DomainDns::Alias => zone.add_addrs(d.name.value.clone(), addrs, AWS_TTL),
                DomainDns::Cname => {
                    zone.names
                        .insert(d.name.value.clone(), Holding::Cname(target, 300));
                }
            }
        }
        let mut public = vec![execute_api, vpce, cf];
        public.extend(domain_zones.into_values());
        (public, regional)
    }

    /// An on-prem network's own zones and its forwards to inbound endpoints.
    fn add_onprem(&mut self, t: &Topology, name: &str) {
        let view = self;
        if let Some(n) = t.onprem_network(name) {
            for z in &n.zones {
                view.private_zones.push(records_zone(
                    &z.name.value,
                    &z.records,
                    Source::OnPremZone(z.name.value.clone()),
                ));
            }
            for f in &n.forwards {
                if let Some(e) = t.inbound_endpoint(&f.to) {
                    view.forwards.push((
                        f.domain.value.clone(),
                        e.id.value.clone(),
                        View::build(t, ViewKind::Vpc(e.vpc.value.clone())),
                    ));
                }
            }
        }
    }

    /// A VPC's resolver: its rules, private zones and endpoints' private DNS, its own and those
    /// a Route 53 Profile carries.
    fn add_vpc(&mut self, t: &Topology, vpc: &parallax_model::topology::Vpc) {
        let view = self;
        let region = &t.region.value;
        let vpc_id = &vpc.id.value;
        view.answering = vpc.dns_support;
        let profile = t.profile_of(vpc_id);
        let via = |inner: Source| match profile {
            Some(p) => Source::Profile {
                profile: p.id.value.clone(),
                inner: Box::new(inner),
            },
            None => inner,
        };
        let local_rules = t
            .resolver_rules
            .iter()
            .filter(|r| r.vpcs.iter().any(|v| v.value == *vpc_id));
        for r in local_rules {
            view.rules.push((
                r.domain.value.clone(),
                Source::ResolverRule(r.id.value.clone()),
                r.kind,
                r.targets.iter().map(|t| t.value).collect(),
            ));
        }
        // A profile's resources reach the VPC unless the VPC holds a local one for the same
        // domain, which wins (INFERRED: AWS documents no order between the two).
        for r in profile
            .iter()
            .flat_map(|p| &p.resolver_rules)
            .filter_map(|id| t.resolver_rules.iter().find(|r| r.id.value == id.value))
        {
            if view.rules.iter().all(|(d, ..)| *d != r.domain.value) {
                view.rules.push((
                    r.domain.value.clone(),
                    via(Source::ResolverRule(r.id.value.clone())),
                    r.kind,
                    r.targets.iter().map(|t| t.value).collect(),
                ));
            }
        }
        if !vpc.private_dns_active() {
            return;
        }
        for z in t
            .hosted_zones
            .iter()
            .filter(|z| z.vpcs.iter().any(|v| v.value == *vpc_id))
        {
            view.private_zones
                .push(private_zone(z, Source::PrivateZone(z.name.value.clone())));
        }
        for z in profile
            .iter()
            .flat_map(|p| &p.hosted_zones)
            .filter_map(|n| t.hosted_zones.iter().find(|z| z.name.value == n.value))
        {
            if view.private_zones.iter().all(|l| l.apex != z.name.value) {
                view.private_zones.push(private_zone(
                    z,
                    via(Source::PrivateZone(z.name.value.clone())),
                ));
            }
        }
        let local_endpoints = t
            .endpoints
            .iter()
            .filter(|e| e.vpc.value == *vpc_id && e.private_dns);
        for e in local_endpoints {
            if let Some(zone) = endpoint_zone(e, region, Source::EndpointZone(e.id.value.clone())) {
                view.endpoint_zones.push(zone);
            }
        }
        // A profile carries an interface endpoint's private DNS names to its VPCs (Route 53
        // Developer Guide, "Associate interface VPC endpoints to a Route 53 Profile").
        for e in profile
            .iter()
            .flat_map(|p| &p.endpoints)
            .filter_map(|id| t.endpoint(id))
        {
            if let Some(zone) =
                endpoint_zone(e, region, via(Source::EndpointZone(e.id.value.clone())))
                && view.endpoint_zones.iter().all(|l| l.apex != zone.apex)
            {
                view.endpoint_zones.push(zone);
            }
        }
    }

    /// Answers `name`/`qtype` as this view's resolver would.
    pub fn answer(&self, name: &DnsName, qtype: QType) -> Answer {
        self.answer_within(name, qtype, 0)
    }

    /// `depth` counts the names already followed (CNAMEs and aliases), so that a loop of
    /// either ends in SERVFAIL instead of running forever.
    fn answer_within(&self, name: &DnsName, qtype: QType, depth: usize) -> Answer {
        if !self.answering {
            return Answer::new(Rcode::Refused, Source::Nobody);
        }
        let mut records = Vec::new();
        let mut current = name.clone();
        for hop in depth..=MAX_CHAIN {
            if let Some((endpoint, inbound)) = self.forward_for(&current) {
                let inner = inbound.answer_within(&current, qtype, hop);
                records.extend(inner.records);
                return Answer {
                    rcode: inner.rcode,
                    records,
                    soa_zone: inner.soa_zone,
                    source: Source::InboundEndpoint {
                        endpoint: endpoint.to_owned(),
                        inner: Box::new(inner.source),
                    },
                    forward: inner.forward,
                };
            }
            if let Some((source, targets)) = self.rule_for(&current) {
                let id = source.innermost().rule_id().unwrap_or_default().to_owned();
                let mut a = Answer::new(Rcode::NoError, source);
                a.records = records;
                a.forward = Some((id, targets));
                return a;
            }
            let Some(zone) = self.zone_for(&current) else {
                // Outside every zone this view serves: no recursion here. A chain that leaves
                // the view ends with what it has (as an authoritative server would).
                let mut a = Answer::new(
                    if records.is_empty() {
                        Rcode::Refused
                    } else {
                        Rcode::NoError
                    },
                    Source::Nobody,
                );
                a.records = records;
                return a;
            };
            let step = self.step(zone, &current, qtype, hop);
            records.extend(step.records);
            match step.next {
                Next::Done(rcode, soa) => {
                    let mut a = Answer::new(rcode, zone.source.clone());
                    a.records = records;
                    a.soa_zone = soa.then(|| zone.apex.clone());
                    return a;
                }
                Next::Follow(target) => current = target,
            }
        }
        let mut a = Answer::new(Rcode::ServFail, Source::Nobody);
        a.records = records;
        a
    }

    /// The on-prem conditional forwarder that takes `name`: the most specific domain, unless a
    /// zone of the on-prem DNS is more specific still (or as specific).
    fn forward_for(&self, name: &DnsName) -> Option<(&str, &View)> {
        let (domain, id, view) = self
            .forwards
            .iter()
            .filter(|(domain, ..)| name.is_within(domain))
            .max_by_key(|(domain, ..)| domain.as_str().len())?;
        let zone = most_specific(&self.private_zones, name);
        if zone.is_some_and(|z| z.apex.as_str().len() >= domain.as_str().len()) {
            return None;
        }
        Some((id.as_str(), view))
    }

    /// The resolver rule that takes `name`: the most specific domain among this VPC's rules.
    fn rule_for(&self, name: &DnsName) -> Option<(Source, Vec<Target>)> {
        let (_, source, kind, targets) = self
            .rules
            .iter()
            .filter(|(domain, ..)| name.is_within(domain))
            .max_by_key(|(domain, ..)| domain.as_str().len())?;
        (*kind == RuleKind::Forward).then(|| (source.clone(), targets.clone()))
    }

    /// The zone that answers `name`, by the precedence in the module docs: the most specific
    /// private zone, customer or endpoint-managed (the customer's on a tie), else public.
    fn zone_for(&self, name: &DnsName) -> Option<&Zone> {
        let customer = most_specific(&self.private_zones, name);
        let managed = most_specific(&self.endpoint_zones, name);
        match (customer, managed) {
            (Some(c), Some(m)) if m.apex.as_str().len() > c.apex.as_str().len() => Some(m),
            (Some(c), _) => Some(c),
            (None, Some(m)) => Some(m),
            (None, None) => most_specific(&self.public, name),
        }
    }

    fn step(&self, zone: &Zone, name: &DnsName, qtype: QType, hop: usize) -> Step {
        let unknown_api;
        let holding = match zone.holding(name) {
            Some(h) => h,
            // The public execute-api zone answers any API id of the Region; a private zone
            // never falls back to public answers.
            None if zone.apex == self.region_zone
                && matches!(zone.source, Source::Public(_))
                && is_api_default_name(name) =>
            {
                let (v4, v6) = split(&self.unknown_api_addrs);
                unknown_api = Holding::Addrs(v4, v6, AWS_TTL);
                &unknown_api
            }
            None if qtype == QType::Soa && *name == zone.apex => {
                return Step::done(Rcode::NoError, true);
            }
            None if *name == zone.apex || zone.has_descendants(name) => {
                return Step::done(Rcode::NoError, true);
            }
            None => return Step::done(Rcode::NxDomain, true),
        };
        match holding {
            Holding::Addrs(v4, v6, ttl) => {
                let records: Vec<Rec> = match qtype {
                    QType::A => v4.iter().map(|a| rec(name, *ttl, RecData::A(*a))).collect(),
                    QType::Aaaa => v6
                        .iter()
                        .map(|a| rec(name, *ttl, RecData::Aaaa(*a)))
                        .collect(),
                    _ => Vec::new(),
                };
                let empty = records.is_empty();
                Step {
                    records,
                    next: Next::Done(Rcode::NoError, empty),
                }
            }
            Holding::Cname(target, ttl) => {
                let records = vec![rec(name, *ttl, RecData::Cname(target.clone()))];
                if qtype == QType::Cname {
                    Step {
                        records,
                        next: Next::Done(Rcode::NoError, false),
                    }
                } else {
                    Step {
                        records,
                        next: Next::Follow(target.clone()),
                    }
                }
            }
            Holding::Alias(target) => {
                // An alias answers with the target's records under the alias's own name.
                let inner = self.answer_within(target, qtype, hop + 1);
                let records = inner
                    .records
                    .into_iter()
                    .filter(|r| !matches!(r.data, RecData::Cname(_)))
                    .map(|r| Rec {
                        name: name.clone(),
                        ..r
                    })
                    .collect::<Vec<_>>();
                let empty = records.is_empty();
                let rcode = if inner.rcode == Rcode::NxDomain || inner.rcode == Rcode::NoError {
                    Rcode::NoError
                } else {
                    inner.rcode
                };
                Step {
                    records,
                    next: Next::Done(rcode, empty),
                }
            }
        }
    }
}

/// A customer's private hosted zone as the view holds it.
fn private_zone(z: &HostedZone, source: Source) -> Zone {
    records_zone(&z.name.value, &z.records, source)
}

/// A zone of records (a private hosted zone's, or an on-prem DNS server's).
fn records_zone(
    apex: &DnsName,
    records: &[parallax_model::At<parallax_model::topology::Record>],
    source: Source,
) -> Zone {
    let mut zone = Zone::new(apex.clone(), source);
    for r in records {
        let holding = match &r.data {
            RecordData::A(a) => Holding::Addrs(a.clone(), vec![], r.ttl),
            RecordData::Aaaa(a) => Holding::Addrs(vec![], a.clone(), r.ttl),
            RecordData::Cname(n) => Holding::Cname(n.clone(), r.ttl),
            RecordData::Alias(n) => Holding::Alias(n.clone()),
        };
        // `*.parent`: a wildcard, kept by its parent.
        let (map, key) = match r.name.as_str().strip_prefix("*.") {
            Some(parent) => match parent.parse::<DnsName>() {
                Ok(p) => (&mut zone.wildcards, p),
                Err(_) => (&mut zone.names, r.name.clone()),
            },
            None => (&mut zone.names, r.name.clone()),
        };
        match (map.get_mut(&key), holding) {
            (Some(Holding::Addrs(a4, a6, _)), Holding::Addrs(b4, b6, _)) => {
                a4.extend(b4);
                a6.extend(b6);
            }
            (Some(_), _) => {}
            (None, h) => {
                map.insert(key, h);
            }
        }
    }
    zone
}

/// The private zone AWS manages for an interface endpoint's private DNS; for execute-api the
/// wildcard below the Region's apex too. `None` for a service name without one.
fn endpoint_zone(e: &Endpoint, region: &Region, source: Source) -> Option<Zone> {
    let apex = endpoint_private_zone(e.service.as_str(), region).ok()?;
    let mut zone = Zone::new(apex.clone(), source);
    let holding = Holding::Addrs(e.addresses(), vec![], AWS_TTL);
    zone.names.insert(apex.clone(), holding.clone());
    if e.is_execute_api() {
        zone.wildcards.insert(apex, holding);
    }
    Some(zone)
}

fn most_specific<'z>(zones: &'z [Zone], name: &DnsName) -> Option<&'z Zone> {
    zones
        .iter()
        .filter(|z| name.is_within(&z.apex))
        .max_by_key(|z| z.apex.as_str().len())
}

struct Step {
    records: Vec<Rec>,
    next: Next,
}

enum Next {
    /// The answer is complete; `bool` = a negative answer that carries the zone's SOA.
    Done(Rcode, bool),
    Follow(DnsName),
}

impl Step {
    fn done(rcode: Rcode, soa: bool) -> Step {
        Step {
            records: Vec::new(),
            next: Next::Done(rcode, soa),
        }
    }
}

fn rec(name: &DnsName, ttl: u32, data: RecData) -> Rec {
    Rec {
        name: name.clone(),
        ttl,
        data,
    }
}

fn is_api_default_name(name: &DnsName) -> bool {
    matches!(
        ExecuteApiName::parse(name.as_str()),
        Some(ExecuteApiName::Default { .. })
    )
}

fn split(addrs: &[IpAddr]) -> (Vec<Ipv4Addr>, Vec<std::net::Ipv6Addr>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for a in addrs {
        match a {
            IpAddr::V4(a) => v4.push(*a),
            IpAddr::V6(a) => v6.push(*a),
        }
    }
    (v4, v6)
}

fn v4_as_ip(addrs: &[Ipv4Addr]) -> Vec<IpAddr> {
    addrs.iter().copied().map(IpAddr::V4).collect()
}

fn composed(s: &str) -> DnsName {
    // Only called with literal names of this module.
    s.parse()
        .unwrap_or_else(|_| unreachable!("literal name {s} is valid"))
}
