//! An imported model as a runnable Topology, for `predict` and `--matrix`. Templates rarely say
//! everything a prediction needs, so what is missing is made up and said so in the notes:
//! synthetic ids for resources created by the template, one ENI address per endpoint,
//! documentation-style public addresses for the front doors, one stage and a catch-all route
//! per API (routes are not imported: a reachable API shows as 200).

use std::net::{IpAddr, Ipv4Addr};

use parallax_model::topology::{
    Api as MApi, BasePathMapping, CustomDomain, DomainDns, Endpoint as MEndpoint, EndpointSubnet,
    EndpointType, FrontDoors, Integration, Method, Network, Route, Topology, Vantage, Vpc as MVpc,
    stable_token,
};
use parallax_model::{At, Region};

use crate::imported::{ApiKind, Imported, Ref};

/// The id given to the element a reference names: by the input's key or by its real id.
fn resolve<T: Clone>(table: &[(String, Option<String>, T)], r: &Ref) -> Option<T> {
    table
        .iter()
        .find(|(key, real, _)| match r {
            Ref::Key(x) => x == key,
            Ref::Id(x) => real.as_deref() == Some(x.as_str()),
            Ref::Unknown(_) => false,
        })
        .map(|(_, _, id)| id.clone())
}

fn hex17(seed: &str) -> String {
    let t = stable_token(seed, 34);
    t.bytes()
        .map(|b| b"0123456789abcdef"[usize::from(b) % 16] as char)
        .take(17)
        .collect()
}

/// Parses a value this module composed; `what` names the form that makes it valid.
fn composed<T: std::str::FromStr>(s: &str, what: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    // The inputs are literals or `prefix-` + 17 hex digits: valid by construction.
    s.parse()
        .unwrap_or_else(|e| panic!("composed {what} `{s}` is invalid: {e:?}"))
}

/// What [`topology`] had to assume, or leave out, to make the inputs runnable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assumption {
    /// Front door and ENI addresses and resource ids are made up where the inputs lack them.
    MadeUpAddressesAndIds,
    /// No Region in the inputs: us-east-1.
    RegionAssumed,
    /// No account in the inputs: 123456789012 (it shows only in resource ARNs).
    AccountAssumed,
    /// A VPC's DNS attributes are taken as on, since an endpoint in it has private DNS.
    DnsAttributesProven {
        /// The VPC.
        vpc: String,
    },
    /// A VPC's DNS attributes are not in the inputs and are taken as on, since a private hosted
    /// zone reaches it (directly or through a Route 53 Profile), which only works with both on.
    DnsAttributesAssumedForZone {
        /// The VPC.
        vpc: String,
    },
    /// An endpoint whose VPC is not in the inputs is left out.
    EndpointWithoutVpc {
        /// The endpoint.
        endpoint: String,
    },
    /// An API whose endpoint type is not known statically is left out.
    ApiTypeUnknown {
        /// The API.
        api: String,
    },
    /// A custom domain whose name is not known statically (a parameter without a default) is
    /// left out: calls are made by name.
    DomainNameUnknown {
        /// The domain's resource.
        domain: String,
    },
    /// An API whose resource policy is set but not known statically is left out.
    PolicyUnknown {
        /// The API.
        api: String,
    },
    /// An endpoint policy that cannot be evaluated: every call through it is predicted denied.
    EndpointPolicyNotEvaluable {
        /// The endpoint.
        endpoint: String,
        /// Why its policy cannot be evaluated.
        error: String,
    },
    /// A resource policy that cannot be evaluated: every call is predicted denied.
    PolicyNotEvaluable {
        /// The API.
        api: String,
        /// Why its policy cannot be evaluated.
        error: String,
    },
}

impl std::fmt::Display for Assumption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Assumption::MadeUpAddressesAndIds => f.write_str(
                "front door addresses, ENI addresses and resource ids the inputs do not give are made up",
            ),
            Assumption::RegionAssumed => {
                f.write_str("the Region is not in the inputs: us-east-1 is assumed")
            }
            Assumption::AccountAssumed => f.write_str(
                "the account is not in the inputs: 123456789012 is assumed (it shows only in resource ARNs)",
            ),
            Assumption::DnsAttributesProven { vpc } => write!(
                f,
                "{vpc}: its DNS attributes are not in the inputs; they are on, since an endpoint in it has private DNS"
            ),
            Assumption::DnsAttributesAssumedForZone { vpc } => write!(
                f,
                "{vpc}: its DNS attributes are not in the inputs; they are assumed on, since a private hosted zone is associated with it (add describe-vpc-attribute outputs to have them checked)"
            ),
            Assumption::EndpointWithoutVpc { endpoint } => write!(
                f,
                "{endpoint}: its VPC is not in the inputs, so it is left out of the prediction"
            ),
            Assumption::ApiTypeUnknown { api } => {
                write!(f, "{api}: its endpoint type is not known statically; left out")
            }
            Assumption::DomainNameUnknown { domain } => write!(
                f,
                "{domain}: the custom domain's name is not known statically; left out"
            ),
            Assumption::PolicyUnknown { api } => write!(
                f,
                "{api}: its resource policy is not known statically (known only after apply, or unresolved); left out"
            ),
            Assumption::EndpointPolicyNotEvaluable { endpoint, error } => write!(
                f,
                "{endpoint}: its endpoint policy cannot be evaluated ({error}); every call through it is predicted denied"
            ),
            Assumption::PolicyNotEvaluable { api, error } => write!(
                f,
                "{api}: its resource policy cannot be evaluated ({error}); every call to it is predicted denied"
            ),
        }
    }
}

/// The Region assumed when the inputs name none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The topology, and what was assumed to build it.
pub fn topology(m: &Imported) -> (Topology, Vec<Assumption>) {
    let mut b = Builder::new(m);
    b.vpcs();
    b.endpoints();
    b.made_ids();
    b.apis();
    b.endpoint_policies();
    b.custom_domains();
    b.finish()
}

/// The id each input resource (a template's logical id, a plan's address) has in the topology
/// [`topology`] makes: (input key, id), for VPCs, endpoints and APIs.
pub fn made_ids(m: &Imported) -> Vec<(String, String)> {
    let mut b = Builder::new(m);
    b.vpcs();
    b.endpoints();
    b.made_ids();
    b.apis();
    let mut out = b.made_ids;
    out.extend(
        b.api_ids
            .into_iter()
            .map(|(key, _, id)| (key, id.to_string())),
    );
    out
}

/// A topology under construction: each element kind in turn, since later kinds name the ids
/// earlier ones were given.
struct Builder<'m> {
    m: &'m Imported,
    notes: Vec<Assumption>,
    region: Region,
    account: String,
    vpcs: Vec<MVpc>,
    endpoints: Vec<MEndpoint>,
    /// (input key, real id, the id in the topology) of each endpoint.
    endpoint_ids: Vec<(String, Option<String>, parallax_model::VpceId)>,
    /// A resource's id, made up or given, for every `${Key}` the template's intrinsics left in a
    /// policy (`Ref: Endpoint` in `aws:SourceVpce`): the same id the resource itself gets.
    made_ids: Vec<(String, String)>,
    /// [`Builder::made_ids`]' ids and the pseudo parameters (`${AWS::AccountId}`, `${AWS::Region}`,
    /// `${AWS::Partition}`, `${AWS::URLSuffix}`) as this topology has them, for policies.
    policy_ids: Vec<(String, String)>,
    apis: Vec<MApi>,
    api_ids: Vec<(String, Option<String>, parallax_model::ApiId)>,
    /// The stage each API is called on (its first in the inputs, else `prod`).
    api_stages: Vec<(parallax_model::ApiId, String)>,
    custom_domains: Vec<CustomDomain>,
}

impl<'m> Builder<'m> {
    fn new(m: &'m Imported) -> Builder<'m> {
        let mut notes = vec![Assumption::MadeUpAddressesAndIds];
        // The Region: from an endpoint's service name when one says it, else us-east-1.
        let region: Region = match m.region.as_deref().and_then(|r| r.parse().ok()) {
            Some(r) => r,
            None => {
                notes.push(Assumption::RegionAssumed);
                composed(DEFAULT_REGION, "Region")
            }
        };
        let account = match &m.account {
            Some(a) => a.clone(),
            None => {
                notes.push(Assumption::AccountAssumed);
                "123456789012".to_owned()
            }
        };
        Builder {
            m,
            notes,
            region,
            account,
            vpcs: Vec::new(),
            endpoints: Vec::new(),
            endpoint_ids: Vec::new(),
            made_ids: Vec::new(),
            policy_ids: Vec::new(),
            apis: Vec::new(),
            api_ids: Vec::new(),
            api_stages: Vec::new(),
            custom_domains: Vec::new(),
        }
    }

    fn vpcs(&mut self) {
        let m = self.m;
        let vpc_id = |key: &str| -> parallax_model::VpcId {
            composed(&format!("vpc-{}", hex17(key)), "VPC id")
        };
        for (i, v) in m.vpcs.iter().enumerate() {
            let id =
                v.id.as_deref()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| vpc_id(&v.key));
            let cidr = composed(&format!("10.{}.0.0/16", i.min(255)), "CIDR");
            // An endpoint that has private DNS proves both attributes are on: AWS refuses it otherwise.
            let proven = m.endpoints.iter().any(|e| {
                e.private_dns == Some(true) && m.vpc(&e.vpc).is_some_and(|x| x.key == v.key)
            });
            let unknown = v.dns_support.is_none() || v.dns_hostnames.is_none();
            let zoned = !proven && unknown && {
                let this = Ref::Key(v.key.clone());
                let direct = m
                    .zones
                    .iter()
                    .any(|z| z.vpcs.iter().any(|r| m.same_vpc(r, &this)));
                let profiled = m.profiles.iter().any(|p| {
                    !m.profile_resources_of(p).is_empty()
                        && m.profile_vpcs_of(p).iter().any(|r| m.same_vpc(r, &this))
                });
                direct || profiled
            };
            if proven && unknown {
                self.notes
                    .push(Assumption::DnsAttributesProven { vpc: v.key.clone() });
            }
            if zoned {
                self.notes
                    .push(Assumption::DnsAttributesAssumedForZone { vpc: v.key.clone() });
            }
            let dns_support = v.dns_support.unwrap_or(true);
            let dns_hostnames = v.dns_hostnames.unwrap_or(proven || zoned);
            self.vpcs.push(MVpc {
                account: None,
                id: At::bare(id),
                cidr: At::bare(cidr),
                dns_support,
                dns_hostnames,
            });
        }
    }

    /// The index of the VPC a reference names.
    fn vpc_of(&self, r: &Ref) -> Option<usize> {
        self.m
            .vpc(r)
            .and_then(|v| self.m.vpcs.iter().position(|x| x.key == v.key))
    }

    fn endpoint_ref(&self, r: &Ref) -> Option<parallax_model::VpceId> {
        resolve(&self.endpoint_ids, r)
    }

    fn api_ref(&self, r: &Ref) -> Option<parallax_model::ApiId> {
        resolve(&self.api_ids, r)
    }

    fn endpoints(&mut self) {
        let m = self.m;
        for (n, e) in m.endpoints.iter().enumerate() {
            if e.service.as_deref() != Some("execute-api") || e.interface == Some(false) {
                continue;
            }
            let Some(vi) = self.vpc_of(&e.vpc) else {
                self.notes.push(Assumption::EndpointWithoutVpc {
                    endpoint: e.key.clone(),
                });
                continue;
            };
            let id: parallax_model::VpceId =
                e.id.as_deref()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| composed(&format!("vpce-{}", hex17(&e.key)), "endpoint id"));
            let addr = Ipv4Addr::new(10, vi.min(255) as u8, 1, 17u8.saturating_add(n as u8));
            self.endpoint_ids
                .push((e.key.clone(), e.id.clone(), id.clone()));
            let suffix = named_suffix(m, &id);
            self.endpoints.push(MEndpoint {
                // Ids in the endpoint's policy are the inputs' (`${Key}` ones are made up below,
                // after every id is known; an endpoint policy rarely names one).
                policy: e.policy.clone().map(At::bare),
                id: At::bare(id),
                vpc: At::bare(self.vpcs[vi].id.value.clone()),
                service: At::bare(
                    parallax_model::topology::ServiceName::try_from("execute-api".to_owned())
                        .unwrap_or_else(|e| panic!("{e}")),
                ),
                private_dns: e.private_dns == Some(true),
                dns_suffix: suffix.map(At::bare),
                subnets: self.eni_subnets(e).unwrap_or_else(|| {
                    vec![EndpointSubnet {
                        id: At::bare(composed(&format!("subnet-{}", hex17(&e.key)), "subnet id")),
                        az: At::bare(format!("{}a", self.region)),
                        address: At::bare(addr),
                    }]
                }),
            });
        }
    }

    /// An endpoint's real network interfaces (a snapshot's), when every one reads: its subnet
    /// and zone, and the address its private DNS names answer with.
    fn eni_subnets(&self, e: &crate::imported::Endpoint) -> Option<Vec<EndpointSubnet>> {
        if e.enis.is_empty() {
            return None;
        }
        e.enis
            .iter()
            .map(|n| {
                Some(EndpointSubnet {
                    id: At::bare(n.subnet.parse().ok()?),
                    az: At::bare(n.az.clone()),
                    address: At::bare(n.address),
                })
            })
            .collect()
    }

    /// The ids policies may name by `${Key}`: endpoints' and VPCs'.
    fn made_ids(&mut self) {
        let m = self.m;
        self.made_ids = self
            .endpoint_ids
            .iter()
            .map(|(key, _, id)| (key.clone(), id.to_string()))
            .collect();
        self.made_ids.extend(
            m.vpcs
                .iter()
                .zip(&self.vpcs)
                .map(|(v, made)| (v.key.clone(), made.id.value.to_string())),
        );
        // Endpoints left out of the topology (their VPC is not in the inputs) still get the id a
        // policy that names them expects: made up the same way, so the policy stays evaluable.
        for e in &m.endpoints {
            if !self.made_ids.iter().any(|(k, _)| k == &e.key) {
                let id =
                    e.id.clone()
                        .unwrap_or_else(|| format!("vpce-{}", hex17(&e.key)));
                self.made_ids.push((e.key.clone(), id));
            }
        }
        self.policy_ids = self.made_ids.clone();
        self.policy_ids.extend([
            ("AWS::AccountId".to_owned(), self.account.clone()),
            ("AWS::Region".to_owned(), self.region.to_string()),
            ("AWS::Partition".to_owned(), "aws".to_owned()),
            ("AWS::URLSuffix".to_owned(), "amazonaws.com".to_owned()),
        ]);
    }

    fn apis(&mut self) {
        let m = self.m;
        let stages = m.stages_by_api();
        for a in &m.apis {
            let Some(kind) = a.kind else {
                self.notes.push(Assumption::ApiTypeUnknown {
                    api: a.name.clone(),
                });
                continue;
            };
            if a.policy_unknown {
                self.notes.push(Assumption::PolicyUnknown {
                    api: a.name.clone(),
                });
                continue;
            }
            let id: parallax_model::ApiId =
                a.id.as_deref()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| composed(&stable_token(&a.key, 10), "API id"));
            self.api_ids.push((a.key.clone(), a.id.clone(), id.clone()));
            let stage = stages.get(a.key.as_str()).copied().unwrap_or("prod");
            self.api_stages.push((id.clone(), stage.to_owned()));
            let route = Route {
                method: At::bare(Method::Any),
                path: At::bare(
                    parallax_model::topology::RoutePath::try_from("/{proxy+}".to_owned())
                        .unwrap_or_else(|e| panic!("{e}")),
                ),
                api_key_required: false,
                authorization: Default::default(),
                authorizer: None,
                integration: At::bare(Integration::Mock {
                    status: 200,
                    body: Default::default(),
                    headers: Default::default(),
                }),
            };
            if let Some(Err(e)) = a
                .policy
                .as_ref()
                .map(|p| parallax_model::policy::Policy::parse(&with_ids(p, &self.policy_ids)))
            {
                self.notes.push(Assumption::PolicyNotEvaluable {
                    api: a.name.clone(),
                    error: e.to_string(),
                });
            }
            // An HTTP API: the `$default` stage and the `$default` route (the matrix calls its root).
            let (protocol, stages, routes) = if a.http {
                (
                    parallax_model::topology::ApiProtocol::Http,
                    vec![At::bare("$default".to_owned())],
                    vec![Route {
                        path: At::bare(
                            parallax_model::topology::RoutePath::try_from("$default".to_owned())
                                .unwrap_or_else(|e| panic!("{e}")),
                        ),
                        ..route.clone()
                    }],
                )
            } else {
                (
                    parallax_model::topology::ApiProtocol::Rest,
                    vec![At::bare(stage.to_owned())],
                    vec![route],
                )
            };
            self.apis.push(MApi {
                account: a
                    .account
                    .clone()
                    .filter(|x| Some(x) != m.account.as_ref() && x.len() == 12)
                    .map(At::bare),
                id: At::bare(id),
                name: a.name.clone(),
                protocol,
                endpoint_type: At::bare(match kind {
                    ApiKind::Regional => EndpointType::Regional,
                    ApiKind::Edge => EndpointType::Edge,
                    ApiKind::Private => EndpointType::Private,
                }),
                stages,
                routes,
                openapi: None,
                policy: a
                    .policy
                    .as_ref()
                    .map(|p| At::bare(with_ids(p, &self.policy_ids))),
                vpc_endpoints: a
                    .vpc_endpoints
                    .iter()
                    .filter_map(|r| self.endpoint_ref(r))
                    .map(At::bare)
                    .collect(),
                disable_execute_api_endpoint: a.disable_default == Some(true),
                route_selection_expression: None,
                authorizers: Vec::new(),
                security_policy: security_of(&a.security, kind_type(kind)).0,
                endpoint_access_mode: security_of(&a.security, kind_type(kind)).1,
            });
        }
    }

    /// Endpoint policies name APIs (`${Api}` in an ARN): give them the APIs' ids too.
    fn endpoint_policies(&mut self) {
        let apis: Vec<_> = self
            .api_ids
            .iter()
            .map(|(key, _, id)| (key.clone(), id.to_string()))
            .collect();
        self.made_ids.extend(apis.iter().cloned());
        self.policy_ids.extend(apis);
        for e in &mut self.endpoints {
            if let Some(p) = &mut e.policy {
                p.value = with_ids(&p.value, &self.policy_ids);
                if let Err(err) = parallax_model::policy::Policy::parse(&p.value) {
                    self.notes.push(Assumption::EndpointPolicyNotEvaluable {
                        endpoint: e.id.to_string(),
                        error: err.to_string(),
                    });
                }
            }
        }
    }

    fn custom_domains(&mut self) {
        let m = self.m;
        for d in &m.domains {
            let (Some(name), Some(kind)) = (d.name.as_deref().and_then(|n| n.parse().ok()), d.kind)
            else {
                if d.name.is_none() {
                    self.notes.push(Assumption::DomainNameUnknown {
                        domain: d.key.clone(),
                    });
                }
                continue;
            };
            let private = kind == ApiKind::Private;
            if private && d.policy_unknown {
                self.notes.push(Assumption::PolicyUnknown {
                    api: d.name.clone().unwrap_or_else(|| d.key.clone()),
                });
                continue;
            }
            let cname = m.cnames.iter().any(|c| {
                c.name.as_deref().map(|n| n.trim_end_matches('.')) == d.name.as_deref()
                    || c.target_domain.as_deref() == Some(&d.key)
            });
            self.custom_domains.push(CustomDomain {
                account: None,
                shared_with: Vec::new(),
                name: At::bare(name),
                endpoint_type: At::bare(match kind {
                    ApiKind::Edge => EndpointType::Edge,
                    ApiKind::Private => EndpointType::Private,
                    ApiKind::Regional => EndpointType::Regional,
                }),
                dns: At::bare(if cname {
                    DomainDns::Cname
                } else {
                    DomainDns::Alias
                }),
                target: None,
                // Mutual TLS is a property of the call, not of the path: the matrix calls without a
                // certificate, so it would only show 403 for every domain with mTLS.
                mtls: None,
                certificate: None,
                mappings: d
                    .apis
                    .iter()
                    .filter_map(|r| self.api_ref(r))
                    // A private domain maps private APIs only (AWS refuses the others).
                    .filter(|api| {
                        !private
                            || self.apis.iter().any(|a: &MApi| {
                                a.id.value == *api && a.endpoint_type.value == EndpointType::Private
                            })
                    })
                    .map(|api| BasePathMapping {
                        base_path: String::new(),
                        stage: At::bare(
                            self.api_stages
                                .iter()
                                .find(|(id, _)| *id == api)
                                .map_or("prod", |(_, s)| s.as_str())
                                .to_owned(),
                        ),
                        api: At::bare(api),
                    })
                    .take(1)
                    .collect(),
                // A private domain's policy names endpoints by `${Key}`: the ids they get here.
                policy: d
                    .policy
                    .as_ref()
                    .filter(|_| private)
                    .map(|p| At::bare(with_ids(p, &self.policy_ids))),
                access_associations: if private {
                    d.access
                        .iter()
                        .filter_map(|r| self.endpoint_ref(r))
                        .map(At::bare)
                        .collect()
                } else {
                    Vec::new()
                },
                domain_name_id: None,
                security_policy: security_of(&d.security, kind_type(kind)).0,
                endpoint_access_mode: security_of(&d.security, kind_type(kind)).1,
            });
        }
    }

    /// The Resolver rules of the inputs on the VPCs they are associated with; a rule on no VPC
    /// of the inputs, or with a domain that is not a DNS name, applies nowhere here.
    fn resolver_rules(&self) -> Vec<parallax_model::topology::ResolverRule> {
        use parallax_model::topology::{ResolverRule, RuleKind, Target};
        self.m
            .resolver_rules
            .iter()
            .filter_map(|r| {
                let vpcs: Vec<At<parallax_model::VpcId>> = r
                    .vpcs
                    .iter()
                    .filter_map(|v| self.vpc_of(v))
                    .map(|i| At::bare(self.vpcs[i].id.value.clone()))
                    .collect();
                if vpcs.is_empty() {
                    return None;
                }
                Some(ResolverRule {
                    account: None,
                    shared_with: Vec::new(),
                    id: At::bare(r.key.clone()),
                    domain: At::bare(r.domain.parse().ok()?),
                    kind: if r.forward {
                        RuleKind::Forward
                    } else {
                        RuleKind::System
                    },
                    vpcs,
                    targets: r.targets.iter().map(|t| At::bare(Target(*t))).collect(),
                })
            })
            .collect()
    }

    fn finish(self) -> (Topology, Vec<Assumption>) {
        let resolver_rules = self.resolver_rules();
        let Builder {
            m,
            notes,
            region,
            account,
            vpcs,
            endpoints,
            endpoint_ids,
            apis,
            custom_domains,
            ..
        } = self;
        let endpoint_ref =
            |r: &Ref| -> Option<parallax_model::VpceId> { resolve(&endpoint_ids, r) };
        let vantages = std::iter::once(Vantage {
            name: At::bare("internet".to_owned()),
            network: At::bare(Network::Internet),
            address: None,
        })
        .chain(vpcs.iter().map(|v| Vantage {
            name: At::bare(v.id.to_string()),
            network: At::bare(Network::Vpc(v.id.value.clone())),
            address: None,
        }))
        .collect();
        let profiles = profiles(m, &vpcs, &endpoint_ref);
        // Each endpoint's regional DNS name, for records that name it through its `DnsEntries`.
        let endpoint_names: Vec<(String, parallax_model::DnsName)> = endpoint_ids
            .iter()
            .filter_map(|(key, _, id)| {
                let e = endpoints.iter().find(|e| e.id.value == *id)?;
                let (name, _) = e.public_names(&region).into_iter().next()?;
                Some((key.clone(), name.to_dns_name()))
            })
            .collect();
        let t = Topology {
            organizations: Vec::new(),
            account: At::bare(account),
            region: At::bare(region),
            front_doors: FrontDoors {
                regional: vec![At::bare(IpAddr::from([52, 94, 133, 10]))],
                edge: vec![At::bare(IpAddr::from([13, 249, 118, 20]))],
            },
            hosted_zones: hosted_zones(m, &vpcs, &endpoint_names),
            vpcs,
            endpoints,
            resolver_rules,
            profiles,
            inbound_endpoints: Vec::new(),
            onprem: Vec::new(),
            apis,
            custom_domains,
            usage_plans: Vec::new(),
            iam_principals: Vec::new(),
            vantages,
            notices: Vec::new(),
        };
        (t, notes)
    }
}

/// The DNS-name suffix AWS gave an endpoint (`vpce-ID-SUFFIX.…vpce.amazonaws.com`), when a
/// record of the inputs names it (an alias or CNAME to the endpoint): the topology gives the
/// endpoint the same names, so the record leads to it.
fn named_suffix(m: &Imported, id: &parallax_model::VpceId) -> Option<String> {
    let prefix = format!("{id}-");
    m.zone_records
        .iter()
        .flat_map(|r| &r.values)
        .filter(|v| v.trim_end_matches('.').ends_with(".vpce.amazonaws.com"))
        .find_map(|v| {
            let label = v.split('.').next()?.strip_prefix(&prefix)?;
            let suffix = label.split('-').next()?;
            parallax_model::naming::is_endpoint_dns_suffix(suffix).then(|| suffix.to_owned())
        })
}

/// The Route 53 Profiles of the inputs with the VPCs, zones and execute-api endpoints they carry
/// that the topology holds (Resolver rules are not imported).
fn profiles(
    m: &Imported,
    vpcs: &[MVpc],
    endpoint_ref: &dyn Fn(&Ref) -> Option<parallax_model::VpceId>,
) -> Vec<parallax_model::topology::Profile> {
    use crate::imported::ProfileResource;
    let mut out: Vec<parallax_model::topology::Profile> = Vec::new();
    let mut taken: Vec<parallax_model::VpcId> = Vec::new();
    for p in &m.profiles {
        let id =
            p.id.clone()
                .unwrap_or_else(|| format!("rp-{}", hex17(&p.key)));
        let mut profile_vpcs = Vec::new();
        for r in m.profile_vpcs_of(p) {
            let Some(i) = m
                .vpc(r)
                .and_then(|v| m.vpcs.iter().position(|x| x.key == v.key))
            else {
                continue;
            };
            let vpc = vpcs[i].id.value.clone();
            // A VPC has one profile; a second association would be refused by AWS.
            if !taken.contains(&vpc) {
                taken.push(vpc.clone());
                profile_vpcs.push(At::bare(vpc));
            }
        }
        let mut hosted_zones = Vec::new();
        let mut endpoints = Vec::new();
        for r in m.profile_resources_of(p) {
            match r {
                ProfileResource::Zone(z) => {
                    if let Some(name) = m
                        .zone(z)
                        .and_then(|z| z.name.as_deref()?.parse::<parallax_model::DnsName>().ok())
                    {
                        hosted_zones.push(At::bare(name));
                    }
                }
                ProfileResource::Endpoint(e) => {
                    if let Some(id) = endpoint_ref(e) {
                        endpoints.push(At::bare(id));
                    }
                }
                ProfileResource::Rule(_) | ProfileResource::Other(_) => {}
            }
        }
        out.push(parallax_model::topology::Profile {
            account: None,
            shared_with: Vec::new(),
            id: At::bare(id),
            vpcs: profile_vpcs,
            hosted_zones,
            resolver_rules: Vec::new(),
            endpoints,
        });
    }
    out
}

/// The private zones of the inputs whose VPCs are known, with the records that can be read
/// (A and AAAA with addresses, CNAME and alias with a name); the others are left out.
fn hosted_zones(
    m: &Imported,
    vpcs: &[MVpc],
    endpoint_names: &[(String, parallax_model::DnsName)],
) -> Vec<parallax_model::topology::HostedZone> {
    use parallax_model::topology::{HostedZone, Record, RecordData};
    let mut out = Vec::new();
    for z in &m.zones {
        let Some(name) = z
            .name
            .as_deref()
            .and_then(|n| n.parse::<parallax_model::DnsName>().ok())
        else {
            continue;
        };
        let zone_vpcs: Vec<At<parallax_model::VpcId>> = z
            .vpcs
            .iter()
            .filter_map(|r| {
                let i = m
                    .vpc(r)
                    .and_then(|v| m.vpcs.iter().position(|x| x.key == v.key))?;
                Some(At::bare(vpcs[i].id.value.clone()))
            })
            .collect();
        let in_profile = m.profile_resources.iter().any(|(_, r, _)| {
            matches!(r, crate::imported::ProfileResource::Zone(zr)
                if m.zone(zr).is_some_and(|x| x.key == z.key))
        });
        if zone_vpcs.is_empty() && !in_profile {
            continue;
        }
        // A name, or an endpoint's DNS name as a template takes it from `DnsEntries`.
        let target = |v: &str| -> Option<parallax_model::DnsName> {
            if let Some(inner) = v.strip_prefix("${").and_then(|t| t.strip_suffix('}'))
                && let Some((key, attr)) = inner.split_once('.')
                && attr.starts_with("DnsEntries.")
                && attr.ends_with(".DnsName")
            {
                return endpoint_names
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, n)| n.clone());
            }
            v.parse().ok()
        };
        let records = m
            .zone_records
            .iter()
            .filter(|r| m.zone(&r.zone).is_some_and(|x| x.key == z.key))
            .filter_map(|r| {
                let rname: parallax_model::DnsName = r.name.parse().ok()?;
                if !rname.is_within(&name) {
                    return None;
                }
                let data = match r.kind.as_str() {
                    "A" => RecordData::A(r.values.iter().filter_map(|v| v.parse().ok()).collect()),
                    "AAAA" => {
                        RecordData::Aaaa(r.values.iter().filter_map(|v| v.parse().ok()).collect())
                    }
                    "CNAME" => RecordData::Cname(target(r.values.first()?)?),
                    "ALIAS" => RecordData::Alias(target(r.values.first()?)?),
                    _ => return None,
                };
                Some(At::bare(Record {
                    name: rname,
                    ttl: 300,
                    data,
                }))
            })
            .collect();
        out.push(HostedZone {
            name: At::bare(name),
            vpcs: zone_vpcs,
            records,
        });
    }
    out
}

fn kind_type(k: ApiKind) -> EndpointType {
    match k {
        ApiKind::Regional => EndpointType::Regional,
        ApiKind::Edge => EndpointType::Edge,
        ApiKind::Private => EndpointType::Private,
    }
}

/// The security policy and access mode as the topology takes them: only a combination API
/// Gateway accepts (an enhanced policy with a mode, on the endpoint type it is offered for);
/// another is left out, and the findings say what is wrong with it.
#[allow(clippy::type_complexity)]
fn security_of(
    s: &crate::imported::Security,
    ty: EndpointType,
) -> (
    Option<At<parallax_model::topology::SecurityPolicy>>,
    Option<At<parallax_model::topology::EndpointAccessMode>>,
) {
    match (s.policy, s.access_mode) {
        (Some(p), Some(m)) if p.is_enhanced() && p.fits(ty) => {
            (Some(At::bare(p)), Some(At::bare(m)))
        }
        (Some(p), _) if !p.is_enhanced() && p.fits(ty) => (Some(At::bare(p)), None),
        _ => (None, None),
    }
}

/// `value` with every `${Key}` (and `${Key.Id}`, `${Key.VpcId}`) of a known resource replaced by
/// its id.
fn with_ids(value: &serde_json::Value, ids: &[(String, String)]) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains("${") => {
            let mut out = s.clone();
            for (key, id) in ids {
                // `Ref: X` and `GetAtt X.Id` (an endpoint's) or `X.VpcId` (a VPC's) are the id.
                for form in [
                    format!("${{{key}}}"),
                    format!("${{{key}.Id}}"),
                    format!("${{{key}.VpcId}}"),
                ] {
                    out = out.replace(&form, id);
                }
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| with_ids(v, ids)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), with_ids(v, ids)))
                .collect(),
        ),
        other => other.clone(),
    }
}
