//! `predict`: what a request from a vantage point will see, computed from the model alone (no
//! I/O, no async). It uses the same rules as the running servers: the resolver's pure views,
//! the doors' certificate names, and the gateway's decision tables. The lab compares every
//! prediction with what it observes; a difference is a bug in one of them.

use std::collections::BTreeMap;

use crate::decision::{ClientCert, Incoming, Tables};
use crate::refusal::CertRefusal;
use crate::resolver::{QType, RecData, View};
use parallax_model::scenario::ClientCertSpec;
use parallax_model::topology::{EndpointType, Integration, Network, Topology};
use parallax_model::{DnsOutcome, FrontDoor, HttpOutcome, Outcome, RequestUrl, Vantage};

/// One request to predict.
#[derive(Clone, Debug)]
pub struct PredictRequest<'a> {
    /// The URL.
    pub url: &'a RequestUrl,
    /// The method.
    pub method: &'a str,
    /// The request's headers.
    pub headers: &'a BTreeMap<String, String>,
    /// The API key's value, when one is sent.
    pub api_key: Option<&'a str>,
    /// The client certificate the request presents, when any.
    pub client_certificate: Option<&'a ClientCertSpec>,
    /// The request body (on a WebSocket connection: the one message sent).
    pub body: Option<&'a str>,
    /// The TLS versions the client offers (curl's `--tlsv1.x` and `--tls-max`).
    pub tls: crate::tls_versions::Versions,
    /// SigV4 credentials the request is signed with (access key id, secret), as curl's
    /// `--aws-sigv4 … --user KEY:SECRET`.
    pub sign: Option<(&'a str, &'a str)>,
}

/// No headers: what a plain request sends.
static NO_HEADERS: BTreeMap<String, String> = BTreeMap::new();

impl<'a> PredictRequest<'a> {
    /// A plain GET: no headers, no API key, no client certificate.
    pub fn get(url: &'a RequestUrl) -> PredictRequest<'a> {
        PredictRequest {
            url,
            method: "GET",
            headers: &NO_HEADERS,
            api_key: None,
            client_certificate: None,
            body: None,
            tls: crate::tls_versions::Versions::CLIENT_DEFAULT,
            sign: None,
        }
    }
}

/// A prediction, with what it had to assume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prediction {
    /// What the request gets.
    pub outcome: Outcome,
    /// Assumptions that an observation may contradict without either side being wrong.
    pub notes: Vec<Note>,
}

/// What a prediction assumed, or why it stopped short of an HTTP outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// A resolver rule forwards the name: its targets' answer is not in the model.
    Forwarded {
        /// The rule.
        rule: String,
        /// The host it forwards.
        host: String,
    },
    /// The door's certificate does not name the host: the TLS name check fails.
    CertificateDoesNotName {
        /// The door.
        door: FrontDoor,
        /// The host it does not name.
        host: String,
    },
    /// A lab client certificate is assumed to chain to a truststore given as a file.
    AssumedTruststore {
        /// The lab client certificate.
        client: String,
        /// The truststore file.
        truststore: String,
    },
    /// Strict mutual TLS refuses the handshake.
    StrictHandshakeFails,
    /// No TLS version both sides take (a security policy's floor above the client's ceiling).
    TlsVersionRefused {
        /// What the server takes for this name.
        server: crate::tls_versions::Versions,
        /// What the client offers.
        client: crate::tls_versions::Versions,
    },
    /// An HTTP_PROXY upstream is assumed to answer 200.
    UpstreamAssumed {
        /// The upstream URL.
        uri: String,
    },
}

impl Note {
    /// Whether the observation may legitimately differ from the prediction's outcome.
    pub fn outside_the_model(&self) -> bool {
        matches!(self, Note::Forwarded { .. })
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::Forwarded { rule, host } => write!(
                f,
                "resolver rule {rule} forwards {host}: its targets' answer is not in the model"
            ),
            Note::CertificateDoesNotName { door, host } => write!(
                f,
                "the {door} door's certificate does not name {host}: the TLS name check fails"
            ),
            Note::AssumedTruststore { client, truststore } => write!(
                f,
                "lab:{client} is assumed to chain to the truststore file {truststore}"
            ),
            Note::StrictHandshakeFails => f.write_str("strict mutual TLS: the handshake fails"),
            Note::TlsVersionRefused { server, client } => write!(
                f,
                "the server takes {} to {} for this name (its security policy), the client {} to {}: no common version, the handshake fails",
                server.min, server.max, client.min, client.max
            ),
            Note::UpstreamAssumed { uri } => {
                write!(
                    f,
                    "HTTP_PROXY to {uri}: the upstream is assumed to answer 200"
                )
            }
        }
    }
}

/// Predicts for one topology. Usage-plan counters live in it, so predicting a step's requests
/// in order (with their repeats) counts throttles and quotas as the gateway does.
#[derive(Debug)]
pub struct Predictor<'t> {
    topology: &'t Topology,
    tables: Tables,
    /// Each vantage network's resolver view, built on its first prediction: a view is a pure
    /// function of the topology, which does not change under a predictor, and building it is
    /// most of a prediction's cost (a matrix asks every view once per target).
    views: std::sync::Mutex<std::collections::HashMap<Network, std::sync::Arc<View>>>,
}

impl<'t> Predictor<'t> {
    /// A predictor over `topology`, with fresh usage counters.
    pub fn new(topology: &'t Topology) -> Self {
        Predictor {
            topology,
            tables: Tables::build(topology),
            views: Default::default(),
        }
    }

    /// The resolver view of `network`, built once.
    fn view(&self, network: &Network) -> std::sync::Arc<View> {
        let mut views = self
            .views
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        views
            .entry(network.clone())
            .or_insert_with(|| std::sync::Arc::new(View::for_network(self.topology, network)))
            .clone()
    }

    /// What `req` gets from `vantage`: DNS, front door, HTTP.
    pub fn predict(&self, vantage: &Vantage, req: &PredictRequest<'_>) -> Prediction {
        let t = self.topology;
        let mut notes = Vec::new();
        let host = &req.url.host;
        let dns = self.dns(vantage, host, &mut notes);
        let Some(ip) = dns.addresses.first().copied() else {
            return Prediction {
                outcome: Outcome {
                    dns,
                    front_door: None,
                    http: None,
                    tls: None,
                },
                notes,
            };
        };
        let door = t.door_of(ip);
        let mut outcome = Outcome {
            dns,
            front_door: Some(door.clone()),
            http: None,
            tls: None,
        };
        if door == FrontDoor::None || !req.url.https || req.url.port != 443 {
            // Nothing answers there (in the lab: not in the connect map).
            return Prediction { outcome, notes };
        }

        // The versions: the security policy of what the name belongs to, against the client's.
        let server = crate::tls_versions::for_sni(t, &door, host.as_str());
        match server.agree(req.tls) {
            Some(v) => outcome.tls = Some(parallax_model::TlsResult::agreed(v)),
            None => {
                outcome.tls = Some(parallax_model::TlsResult::Refused);
                notes.push(Note::TlsVersionRefused {
                    server,
                    client: req.tls,
                });
                return Prediction { outcome, notes };
            }
        }
        // TLS: the certificate the door serves for this name must name it.
        let domain = t.custom_domain(host).filter(|d| match door {
            FrontDoor::Regional => d.endpoint_type.value == EndpointType::Regional,
            FrontDoor::Edge => d.endpoint_type.value == EndpointType::Edge,
            FrontDoor::VpcEndpoint(_) => d.endpoint_type.value == EndpointType::Private,
            FrontDoor::None => false,
        });
        if domain.is_none() && !covered_by_door_certificate(host.as_str(), t) {
            notes.push(Note::CertificateDoesNotName {
                door: door.clone(),
                host: host.to_string(),
            });
            return Prediction { outcome, notes };
        }
        let mtls = domain.and_then(|d| d.mtls.as_ref());
        let Some(client_cert) = client_cert(mtls, req, &mut notes) else {
            return Prediction { outcome, notes };
        };
        outcome.http = Some(self.http(vantage, req, &door, &client_cert, &mut notes));
        Prediction { outcome, notes }
    }

    /// What the vantage's resolver answers for `host`, following a forwarding rule into an
    /// on-prem network of the model.
    fn dns(
        &self,
        vantage: &Vantage,
        host: &parallax_model::DnsName,
        notes: &mut Vec<Note>,
    ) -> DnsOutcome {
        let t = self.topology;
        let mut answer = self.view(&vantage.network.value).answer(host, QType::A);
        // A rule that forwards to an on-prem network of the model (an outbound rule to its DNS)
        // is answered by that network's view; other targets are outside the model.
        if let Some((rule, targets)) = answer.forward.clone() {
            let onprem = t.onprem.iter().find(|n| {
                targets
                    .iter()
                    .any(|x| x.0 == std::net::SocketAddr::new(n.dns.value, 53))
            });
            match onprem {
                Some(n) => {
                    let last = answer
                        .records
                        .iter()
                        .rev()
                        .find_map(|r| match &r.data {
                            RecData::Cname(c) => Some(c.clone()),
                            _ => None,
                        })
                        .unwrap_or_else(|| host.clone());
                    let there =
                        View::build(t, crate::resolver::ViewKind::OnPrem(n.name.value.clone()))
                            .answer(&last, QType::A);
                    answer.records.extend(there.records);
                    answer.rcode = there.rcode;
                    answer.forward = there.forward;
                }
                None => notes.push(Note::Forwarded {
                    rule: rule.to_string(),
                    host: host.to_string(),
                }),
            }
        }
        let mut ttl: Option<u32> = None;
        for r in &answer.records {
            ttl = Some(ttl.map_or(r.ttl, |m| m.min(r.ttl)));
        }
        DnsOutcome {
            rcode: answer.rcode,
            cname_chain: answer
                .records
                .iter()
                .filter_map(|r| match &r.data {
                    RecData::Cname(n) => Some(n.clone()),
                    _ => None,
                })
                .collect(),
            addresses: answer.addresses(),
            ttl,
        }
    }

    /// HTTP: the gateway's own decision, and what the integration answers.
    fn http(
        &self,
        vantage: &Vantage,
        req: &PredictRequest<'_>,
        door: &FrontDoor,
        client_cert: &ClientCert,
        notes: &mut Vec<Note>,
    ) -> HttpOutcome {
        let host = &req.url.host;
        let path = req.url.path.split('?').next().unwrap_or("/");
        let client_ip = vantage.client_ip();
        let apigw_api_id = req
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-apigw-api-id"))
            .map(|(_, v)| v.as_str());
        let header = |name: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        // The credentials the request is signed with, against the model's identities (the
        // signature itself would be right: the client computes it from them).
        let signature = match req.sign {
            None => crate::sigv4::Signature::Unsigned,
            Some((key, secret)) => match self
                .topology
                .iam_principals
                .iter()
                .find(|p| p.access_key_id.value == key)
            {
                None => crate::sigv4::Signature::Failed(crate::sigv4::SigFailure::UnknownKey),
                Some(p) if p.secret_access_key.expose() != secret => {
                    crate::sigv4::Signature::Failed(crate::sigv4::SigFailure::Mismatch)
                }
                Some(p) => crate::sigv4::Signature::Valid {
                    arn: p.arn.value.clone(),
                    account: p.account().to_owned(),
                },
            },
        };
        let lookup = |name: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let incoming = Incoming {
            door,
            // The probe, like curl, sends the URL's host as SNI.
            sni: Some(host.as_str()),
            host: header("host").unwrap_or(host.as_str()),
            method: req.method,
            path,
            user_agent: header("user-agent"),
            referer: header("referer"),
            api_key: req.api_key.map(str::as_bytes),
            apigw_api_id,
            client_ip,
            client_cert,
            signature: &signature,
            header: crate::decision::Headers(&lookup),
        };
        let (_, decision) = self.tables.decide(&incoming);
        // A HEAD response carries no body (RFC 9110 §9.3.2).
        let body = |b: String| {
            Some(if req.method == "HEAD" {
                String::new()
            } else {
                b
            })
        };
        match decision {
            Err(r) => HttpOutcome {
                body: body(r.body()),
                ..HttpOutcome::status(r.status(), r.error_type())
            },
            // A WebSocket API: `$connect` decides; a handshake gets 101 Switching Protocols,
            // anything else 426 Upgrade Required.
            Ok(admitted) if admitted.websocket.is_some() => match &admitted.route.integration {
                Integration::Mock {
                    status, body: b, ..
                } if !(200..300).contains(status) => HttpOutcome {
                    body: body(b.to_string()),
                    ..HttpOutcome::status(*status, None)
                },
                // Switched; a message sent is answered by `$default`'s MOCK body (no
                // `$default`: an error message with ids nobody can predict).
                _ if req.url.websocket => HttpOutcome {
                    body: match (req.body.filter(|b| !b.is_empty()), admitted.websocket) {
                        (Some(m), Some(ws)) => {
                            match ws.route_for(m.as_bytes()).map(|r| &r.integration) {
                                Some(Integration::Mock { body: b, .. }) => Some(b.to_string()),
                                _ => None,
                            }
                        }
                        _ => None,
                    },
                    ..HttpOutcome::status(101, None)
                },
                _ => {
                    let r = crate::refusal::Reject::UpgradeRequired;
                    HttpOutcome {
                        body: body(r.body()),
                        ..HttpOutcome::status(r.status(), None)
                    }
                }
            },
            Ok(admitted) => match &admitted.route.integration {
                Integration::Mock {
                    status, body: b, ..
                } => HttpOutcome {
                    body: body(b.to_string()),
                    ..HttpOutcome::status(*status, None)
                },
                Integration::HttpProxy { uri, .. } => {
                    notes.push(Note::UpstreamAssumed { uri: uri.clone() });
                    HttpOutcome::status(200, None)
                }
            },
        }
    }
}

/// The client certificate the gateway would see on a mutual-TLS domain, as the request's
/// `client_certificate` describes it; `None` when a strict truststore ends the handshake.
fn client_cert(
    mtls: Option<&parallax_model::topology::Mtls>,
    req: &PredictRequest<'_>,
    notes: &mut Vec<Note>,
) -> Option<ClientCert> {
    Some(match mtls {
        None => ClientCert::NotAsked,
        Some(m) => {
            let state = match req.client_certificate {
                None => ClientCert::Missing,
                Some(ClientCertSpec::Lab(name))
                    if m.truststore.strip_prefix("lab:") == Some(name.as_str()) =>
                {
                    ClientCert::Valid {
                        subject: String::new(),
                        serial: String::new(),
                    }
                }
                Some(ClientCertSpec::Lab(name)) if !m.truststore.starts_with("lab:") => {
                    notes.push(Note::AssumedTruststore {
                        client: name.clone(),
                        truststore: m.truststore.value.clone(),
                    });
                    ClientCert::Valid {
                        subject: String::new(),
                        serial: String::new(),
                    }
                }
                Some(ClientCertSpec::Expired(_)) => ClientCert::Invalid(CertRefusal::Expired),
                Some(ClientCertSpec::Deep(_)) => {
                    ClientCert::Invalid(CertRefusal::ChainTooDeep { levels: 5 })
                }
                Some(_) => ClientCert::Invalid(CertRefusal::UnknownIssuer),
            };
            if m.strict && !matches!(state, ClientCert::Valid { .. }) {
                notes.push(Note::StrictHandshakeFails);
                return None;
            }
            state
        }
    })
}

/// The door's own certificate names `*.execute-api.{region}.{suffix}` and
/// `*.execute-api.{region}.vpce.{suffix}` (one label below each).
fn covered_by_door_certificate(host: &str, t: &Topology) -> bool {
    let region = &t.region.value;
    let suffix = region.dns_suffix();
    let Some((first, rest)) = host.split_once('.') else {
        return false;
    };
    !first.is_empty()
        && (rest == format!("execute-api.{region}.{suffix}")
            || rest == format!("execute-api.{region}.vpce.{suffix}"))
}
