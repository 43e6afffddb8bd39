//! Running a scenario: the resolver's views, the gateway's front doors and the on-prem
//! upstreams on loopback; each step's change applied; each request made from its vantage point
//! through the probe; each outcome checked against the scenario's `expect:` and against the
//! model's own DNS answer.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parallax_dns::view::{Source, View};
use parallax_dns::{Resolver, ResolverConfig};
use parallax_gateway::onprem::OnPrem;
use parallax_gateway::pki::{Ca, Identity, LeafSpec};
use parallax_gateway::{Gateway, GatewayConfig, LabCerts, MemoryLog, UpstreamRoutes};
use parallax_model::scenario::ClientCertSpec;
use parallax_model::topology::{Integration, Topology};
use parallax_model::{Network, Scenario};
use parallax_probe::options::{ClientIdentity, ConnectTo};
use parallax_probe::{ProbeOptions, probe};
use rustls_pki_types::CertificateDer;

use crate::report::{LabReport, RequestRecord, StepReport};

/// How to run a scenario.
#[derive(Clone, Debug, Default)]
pub struct LabOptions {
    /// Stop after this step (by name); `None` = run every step.
    pub until_step: Option<String>,
}

/// Why a lab cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// `--step` names no step of the scenario.
    #[error("scenario `{scenario}` has no step `{step}` (steps: {known})")]
    UnknownStep {
        /// The scenario.
        scenario: String,
        /// The step asked for.
        step: String,
        /// Its steps.
        known: String,
    },
    /// A resolver view could not start.
    #[error(transparent)]
    Dns(#[from] parallax_dns::DnsError),
    /// The gateway could not start.
    #[error(transparent)]
    Gateway(#[from] parallax_gateway::server::GatewayError),
    /// The lab's certificates could not be made.
    #[error(transparent)]
    Certs(#[from] parallax_gateway::certs::CertError),
    /// Anything else the lab needs (a runtime, an upstream stand-in) could not be set up.
    #[error("{0}")]
    Setup(String),
}

/// The servers of a running lab.
pub struct Running {
    /// The resolver, one listener per view.
    pub resolver: Resolver,
    /// The gateway, one listener per door.
    pub gateway: Gateway,
    /// The on-prem upstreams: host, port and server.
    pub upstreams: Vec<(String, u16, OnPrem)>,
    /// Modelled address:port → the loopback socket that plays it.
    pub connect_map: Vec<ConnectTo>,
    /// The CA of the gateway's server certificates.
    pub server_ca: Vec<CertificateDer<'static>>,
    /// The gateway's access log.
    pub log: Arc<MemoryLog>,
    /// The resolver's views (their names) as they are served now.
    views: Vec<String>,
    /// The step the servers hold now.
    pub step: usize,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("resolver", &self.resolver)
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Moves the running servers to the topology of step `index`: live swaps when the same
    /// servers can serve it; a clean restart of the resolver when a VPC (a view) came or went,
    /// which gives its views new sockets.
    pub async fn goto(&mut self, scenario: &Scenario, index: usize) -> Result<(), LabError> {
        let topology = scenario
            .topology_at(index)
            .ok_or_else(|| unknown_step(scenario, index.to_string()))?;
        if view_names(topology) == self.views {
            self.resolver.update(topology);
        } else {
            let old = std::mem::replace(
                &mut self.resolver,
                Resolver::start(topology, ResolverConfig::default()).await?,
            );
            old.shutdown().await;
            self.views = view_names(topology);
        }
        self.gateway.update(topology)?;
        self.connect_map = connect_map(topology, &self.gateway);
        self.step = index;
        Ok(())
    }

    /// Stops every server.
    pub async fn shutdown(self) {
        self.resolver.shutdown().await;
        self.gateway.shutdown().await;
    }
}

/// A step the scenario does not have, with the ones it has.
fn unknown_step(scenario: &Scenario, step: String) -> LabError {
    LabError::UnknownStep {
        scenario: scenario.name.clone(),
        step,
        known: scenario
            .steps
            .iter()
            .map(|s| s.name.value.clone())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Runs `scenario`'s steps in order. Returns the report and the servers, still running with the
/// topology of the last step run (for `--keep-running`; shut them down otherwise).
pub async fn run(scenario: &Scenario, opts: &LabOptions) -> Result<(LabReport, Running), LabError> {
    let started = Instant::now();
    let last = match &opts.until_step {
        Some(name) => scenario
            .step_index(name)
            .ok_or_else(|| unknown_step(scenario, name.clone()))?,
        None => scenario.steps.len().saturating_sub(1),
    };
    let first = scenario.topology_at(0).unwrap_or(&scenario.topology);
    let mut certs = LabCerts::new()?;
    let (upstreams, routes) = start_upstreams(scenario, &mut certs).await?;
    let log = Arc::new(MemoryLog::default());
    let gateway_config = GatewayConfig {
        access_log: log.clone(),
        upstream_routes: routes,
        proxy_protocol: true,
        ..Default::default()
    };
    let server_ca = vec![certs.server_ca().cert_der()];
    // The gateway gets a door for every endpoint of any step, once; each step then swaps in its
    // own tables, and a door whose endpoint does not exist at that step serves nothing.
    let mut all_doors = first.clone();
    for t in (0..scenario.steps.len()).filter_map(|i| scenario.topology_at(i)) {
        for e in &t.endpoints {
            if all_doors.endpoint(&e.id).is_none() {
                all_doors.endpoints.push(e.clone());
            }
        }
    }
    let gateway = Gateway::start(&all_doors, certs, gateway_config).await?;
    gateway.update(first)?;
    let resolver = Resolver::start(first, ResolverConfig::default()).await?;
    let mut lab = Running {
        resolver,
        gateway,
        upstreams,
        connect_map: Vec::new(),
        server_ca,
        log,
        views: view_names(first),
        step: 0,
    };
    let mut broken = BrokenCerts::default();
    let mut steps = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate().take(last + 1) {
        let Some(topology) = scenario.topology_at(i) else {
            break;
        };
        lab.goto(scenario, i).await?;
        // The prediction counts usage plans per step, as the gateway does after an update.
        let predictor = parallax_rules::Predictor::new(topology);
        let mut requests = Vec::new();
        for req in &step.requests {
            let record = make_request(
                &lab,
                topology,
                &predictor,
                step.name.as_str(),
                req,
                &mut broken,
            )
            .await?;
            requests.push(record);
        }
        steps.push(StepReport {
            name: step.name.value.clone(),
            description: step.description.trim().to_owned(),
            changes: step.changes.iter().map(|c| c.summary()).collect(),
            requests,
        });
    }
    let report = LabReport {
        scenario: scenario.name.clone(),
        description: scenario.description.trim().to_owned(),
        steps,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    Ok((report, lab))
}

fn view_names(t: &Topology) -> Vec<String> {
    View::all(t).iter().map(View::name).collect()
}

/// One on-prem stand-in per HTTP_PROXY upstream of any step, with a certificate from the
/// integration's `ca` and requiring a client certificate from its `client_certificate`'s CA.
async fn start_upstreams(
    scenario: &Scenario,
    certs: &mut LabCerts,
) -> Result<(Vec<(String, u16, OnPrem)>, UpstreamRoutes), LabError> {
    let mut wanted: BTreeSet<(String, u16, Option<String>, Option<String>)> = BTreeSet::new();
    let states = (0..scenario.steps.len()).filter_map(|i| scenario.topology_at(i));
    for t in std::iter::once(&scenario.topology).chain(states) {
        for api in &t.apis {
            for r in &api.routes {
                if let Integration::HttpProxy {
                    uri,
                    ca,
                    client_certificate,
                    ..
                } = &r.integration.value
                    && let Ok(u) = uri.replace(['{', '}', '+'], "").parse::<http::Uri>()
                    && let Some(host) = u.host()
                {
                    let port = u.port_u16().unwrap_or(if u.scheme_str() == Some("http") {
                        80
                    } else {
                        443
                    });
                    wanted.insert((
                        host.to_ascii_lowercase(),
                        port,
                        ca.clone(),
                        client_certificate.clone(),
                    ));
                }
            }
        }
    }
    let mut routes = UpstreamRoutes::only_mapped();
    let mut running = Vec::new();
    for (host, port, ca, client) in wanted {
        if routes.map.contains_key(&(host.clone(), port)) {
            continue;
        }
        let issuer = match ca.as_deref().and_then(|c| c.strip_prefix("lab:")) {
            Some(name) => name.to_owned(),
            None => {
                return Err(LabError::Setup(format!(
                    "the upstream {host}:{port} needs `ca: lab:NAME` in the lab, so that the lab can play it with a certificate the gateway trusts"
                )));
            }
        };
        let identity = certs
            .ca(&issuer)?
            .issue(&LeafSpec {
                common_name: host.clone(),
                dns_names: vec![host.clone()],
                server: true,
                ..Default::default()
            })
            .map_err(|e| LabError::Setup(e.to_string()))?;
        let client_ca = match client.as_deref().and_then(|c| c.strip_prefix("lab:")) {
            Some(name) => Some(certs.ca(name)?.cert_der()),
            None => None,
        };
        let onprem = OnPrem::start(&identity, client_ca, Duration::ZERO)
            .await
            .map_err(|e| LabError::Setup(e.to_string()))?;
        routes.map.insert((host.clone(), port), onprem.addr);
        running.push((host, port, onprem));
    }
    Ok((running, routes))
}

/// The modelled addresses of every front door → the loopback socket of that door.
fn connect_map(t: &Topology, gw: &Gateway) -> Vec<ConnectTo> {
    let mut out = Vec::new();
    let mut add = |ip: IpAddr, door: &str| {
        if let Some(to) = gw.addr_of(door) {
            out.push(ConnectTo::to_addr(ip.to_string(), Some(443), to));
        }
    };
    for a in &t.front_doors.regional {
        add(a.value, "regional");
    }
    for a in &t.front_doors.edge {
        add(a.value, "edge");
    }
    for e in t.endpoints.iter().filter(|e| e.is_execute_api()) {
        for s in &e.subnets {
            add(IpAddr::V4(s.address.value), e.id.as_str());
        }
    }
    out
}

/// Client certificates made on purpose to fail, kept for the run.
#[derive(Default)]
struct BrokenCerts {
    made: HashMap<String, Identity>,
}

fn identity_for(
    lab: &Running,
    spec: &ClientCertSpec,
    broken: &mut BrokenCerts,
) -> Result<Identity, LabError> {
    let key = String::from(spec.clone());
    if let Some(id) = broken.made.get(&key) {
        return Ok(id.clone());
    }
    let leaf = |common_name: &str, expired| LeafSpec {
        common_name: common_name.to_owned(),
        client: true,
        expired,
        ..Default::default()
    };
    let id = match spec {
        ClientCertSpec::Lab(name) => lab.gateway.with_certs(|c| c.client(name))?,
        ClientCertSpec::Expired(name) => lab.gateway.with_certs(|c| {
            c.ca(name)
                .and_then(|ca| ca.issue(&leaf("expired client", true)).map_err(Into::into))
        })?,
        ClientCertSpec::Deep(name) => lab.gateway.with_certs(
            |c| -> Result<Identity, parallax_gateway::certs::CertError> {
                let mut ca = c.ca(name)?.intermediate("level 1")?;
                for level in 2..=5 {
                    ca = ca.intermediate(&format!("level {level}"))?;
                }
                Ok(ca.issue(&leaf("deep client", false))?)
            },
        )?,
        ClientCertSpec::Untrusted => Ca::root("a CA no truststore holds")
            .and_then(|ca| ca.issue(&leaf("stranger", false)))
            .map_err(|e| LabError::Setup(e.to_string()))?,
    };
    broken.made.insert(key, id.clone());
    Ok(id)
}

async fn make_request(
    lab: &Running,
    topology: &Topology,
    predictor: &parallax_rules::Predictor<'_>,
    step: &str,
    req: &parallax_model::Request,
    broken: &mut BrokenCerts,
) -> Result<RequestRecord, LabError> {
    // Loading checked that every request's vantage point exists at its step.
    let vantage = topology.vantage(&req.from);
    let network = vantage
        .map(|v| v.network.value.clone())
        .unwrap_or(Network::Internet);
    let view_name = network.to_string();
    let host = &req.url.host;
    let answered_by = View::for_network(topology, &network)
        .answer(host, parallax_dns::QType::A)
        .source;

    let mut opts = ProbeOptions::new(req.url.value.clone().into());
    opts.method = req.method.to_ascii_uppercase();
    opts.headers = req
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    opts.ca = Some(lab.server_ca.clone().into());
    opts.max_time = Duration::from_secs(10);
    opts.connect_to = lab.connect_map.clone();
    opts.only_connect_to = true;
    opts.network = Some(network.clone());
    // The gateway sees each vantage point's own address (aws:SourceIp), not loopback's. Its
    // doors require the header, so it is always sent.
    opts.haproxy = Some(vantage.map(|v| v.client_ip()));
    if let Some(addr) = lab.resolver.addr_of(&view_name) {
        opts.dns_servers = vec![addr];
    }
    if network != Network::Internet
        && let Some(public) = lab.resolver.addr_of("internet")
    {
        opts.compare_dns = vec![("internet".to_owned(), public)];
    }
    if let Some(body) = &req.body {
        opts.body = body.clone().into_bytes();
    }
    opts.api_key = req
        .api_key
        .as_ref()
        .and_then(|id| {
            topology
                .usage_plans
                .iter()
                .flat_map(|p| &p.keys)
                .find(|k| k.id.value == id.value)
        })
        .map(|k| k.value.expose().to_owned());
    if let Some(spec) = &req.client_certificate {
        let id = identity_for(lab, spec, broken)?;
        opts.identity = Some(ClientIdentity {
            chain: id.chain.clone(),
            key: id.key_der(),
        });
    }
    if let Some(s) = &req.sign {
        opts.aws_sigv4 = Some(parallax_probe::sigv4::SigV4 {
            region: Some(topology.region.value.to_string()),
            service: Some("execute-api".to_owned()),
            access_key_id: s.value.access_key_id.clone(),
            secret_access_key: s.value.secret_access_key.expose().to_owned(),
            session_token: None,
        });
    }
    if let Some(v) = &req.tls_min {
        opts.tls.min = v.value;
    }
    if let Some(v) = &req.tls_max {
        opts.tls.max = v.value;
    }
    let vantage = topology.vantage(&req.from);
    let predict_req = parallax_rules::PredictRequest {
        url: &req.url,
        method: &opts.method,
        headers: &req.headers,
        api_key: opts.api_key.as_deref(),
        client_certificate: req.client_certificate.as_ref().map(|c| &c.value),
        body: req.body.as_deref(),
        tls: opts.tls,
        sign: req.sign.as_ref().map(|s| {
            (
                s.value.access_key_id.as_str(),
                s.value.secret_access_key.expose(),
            )
        }),
    };
    let mut report = probe(&opts, Some(topology), None).await;
    let mut prediction = vantage.map(|v| predictor.predict(v, &predict_req));
    for _ in 1..req.repeat {
        report = probe(&opts, Some(topology), None).await;
        prediction = vantage.map(|v| predictor.predict(v, &predict_req));
    }
    let outcome = report.observation.outcome.clone();

    let mut differences: Vec<String> = report
        .observation
        .dns
        .path
        .error
        .iter()
        .map(|e| format!("dns: {e}"))
        .collect();
    // One truth: what `predict` says from the model alone must be what the servers did. (A name
    // forwarded by a resolver rule is answered by its targets, which the model does not hold.)
    if let Some(p) = &prediction
        && !p
            .notes
            .iter()
            .any(parallax_rules::predict::Note::outside_the_model)
    {
        let as_expected = parallax_model::Expectation::from(&p.outcome);
        differences.extend(
            as_expected
                .differences(&outcome)
                .into_iter()
                .map(|d| format!("prediction: {d}")),
        );
        match (&p.outcome.http, &outcome.http) {
            (None, Some(h)) => differences.push(format!(
                "prediction: no HTTP exchange, observed {}",
                h.status
            )),
            (Some(h), None) => differences.push(format!(
                "prediction: {}, observed no HTTP exchange",
                h.status
            )),
            _ => {}
        }
    }
    let (expected, unchecked) = match &req.expect {
        Some(e) => {
            differences.extend(e.differences(&outcome));
            (
                Some(e.value.clone()),
                e.unchecked(&outcome)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            )
        }
        None => (None, Vec::new()),
    };
    Ok(RequestRecord {
        step: step.to_owned(),
        from: req.from.value.clone(),
        view: view_name.clone(),
        resolver: lab.resolver.addr_of(&view_name),
        method: opts.method.clone(),
        url: req.url.to_string(),
        host: host.to_string(),
        verdict: outcome.dns.verdict(),
        answered_by: describe(&answered_by),
        connected: report.observation.connect.as_ref().map(|c| (c.addr, c.via)),
        client_certificate: req
            .client_certificate
            .as_ref()
            .map(|c| String::from(c.value.clone())),
        api_key_id: req.api_key.as_ref().map(|k| k.value.clone()),
        repeat: req.repeat,
        diagnosis: report.diagnosis,
        predicted: prediction.as_ref().map(|p| p.outcome.clone()),
        prediction_notes: prediction
            .map(|p| p.notes.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        outcome,
        error: None,
        expected,
        differences,
        unchecked,
    })
}

/// Which part of the view answered, in words.
fn describe(source: &Source) -> String {
    match source {
        Source::ResolverRule(id) => format!("forwarded by resolver rule {id}"),
        Source::PrivateZone(zone) => format!("private hosted zone {zone}"),
        Source::EndpointZone(id) => format!("private DNS of interface endpoint {id}"),
        Source::Public(zone) => format!("public DNS ({zone})"),
        Source::Nobody => "no zone of this view holds the name".to_owned(),
        Source::Profile { profile, inner } => {
            format!("{}, shared by Route 53 Profile {profile}", describe(inner))
        }
        Source::OnPremZone(zone) => format!("the on-prem DNS's zone {zone}"),
        Source::InboundEndpoint { endpoint, inner } => format!(
            "forwarded to Resolver inbound endpoint {endpoint}, answered there by {}",
            describe(inner)
        ),
    }
}

/// The loopback socket a modelled address is played by, for the `curl --connect-to` lines.
pub fn played_by(lab: &Running, addr: SocketAddr) -> Option<SocketAddr> {
    let ip = addr.ip().to_string();
    lab.connect_map
        .iter()
        .find(|c| c.host == ip && c.port.is_none_or(|p| p == addr.port()))
        .and_then(|c| c.socket())
}
