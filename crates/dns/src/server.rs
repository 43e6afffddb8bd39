//! The resolver as a server: one UDP and one TCP listener per view, on the same port, each
//! answering from its view. Views can be swapped while running (the lab's live reconfiguration).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{
    Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode,
};
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, SOA};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use parallax_model::Topology;
use parallax_model::ids::DnsName;
use tokio::net::{TcpListener, UdpSocket};

use crate::forward::forward;
use crate::rate_limit::{Limiter, RateLimit};
use crate::view::{self, Answer, QType, RecData, View};

/// A view as a listener serves it: the rules' view, and every name it can answer by name
/// already in wire form (converting names on each query cost a tenth of the resolver's time
/// under load).
#[derive(Debug)]
pub struct Served {
    /// The resolver view that answers.
    pub view: View,
    wire: HashMap<DnsName, Name>,
}

impl Served {
    /// Serves `view`.
    pub fn new(view: View) -> Served {
        let wire = view
            .names()
            .into_iter()
            .filter_map(|n| Name::from_ascii(format!("{n}.")).ok().map(|w| (n, w)))
            .collect();
        Served { view, wire }
    }

    /// `name` in wire form: from the table, or converted now for a name the view only answers
    /// through a wildcard.
    pub fn wire_name(&self, name: &DnsName) -> Name {
        match self.wire.get(name) {
            Some(n) => n.clone(),
            // A DnsName is a valid presentation name by construction; the root is never used.
            None => Name::from_ascii(format!("{name}.")).unwrap_or_else(|_| Name::root()),
        }
    }
}
use crate::{DnsError, Rcode};

/// How long a TCP client may stay idle between queries.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// TCP connections served at once per view, by default.
pub const DEFAULT_MAX_TCP_CONNECTIONS: usize = 256;
/// How long one forward target has to answer.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest UDP answer offered to EDNS clients (the DNS flag day 2020 value).
const MAX_UDP_PAYLOAD: u16 = 1232;

/// How to run the resolver.
#[derive(Clone, Debug)]
pub struct ResolverConfig {
    /// `(view name, address)` to listen on; empty = every view on `127.0.0.1:0`.
    pub listen: Vec<(String, SocketAddr)>,
    /// Where names outside every view go. `None` = answer REFUSED (no open recursion).
    pub upstream: Option<SocketAddr>,
    /// Per-client rate limit.
    pub rate_limit: RateLimit,
    /// Where a forward target really is: the lab maps modelled addresses (10.1.0.2:53) to the
    /// loopback sockets that play them. Targets not in the map are used as they are.
    pub forward_map: HashMap<SocketAddr, SocketAddr>,
    /// TCP connections served at once per view; more wait in the kernel's backlog.
    pub max_tcp_connections: usize,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig {
            listen: Vec::new(),
            upstream: None,
            rate_limit: RateLimit::default(),
            forward_map: HashMap::new(),
            max_tcp_connections: DEFAULT_MAX_TCP_CONNECTIONS,
        }
    }
}

/// One bound socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listening {
    /// The view it answers for.
    pub view: String,
    /// `udp` or `tcp`.
    pub protocol: &'static str,
    /// The bound address.
    pub addr: SocketAddr,
}

/// A running resolver.
pub struct Resolver {
    views: HashMap<String, Arc<RwLock<Arc<Served>>>>,
    /// Bumped by [`Resolver::update`]: the UDP loops forget the replies they kept.
    generation: Arc<std::sync::atomic::AtomicU64>,
    listening: Vec<Listening>,
    /// The UDP and TCP loops (`udp.rs`, `tcp.rs`), stopped through `stop`.
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("listening", &self.listening)
            .finish()
    }
}

impl Resolver {
    /// Binds every listener and starts answering.
    pub async fn start(topology: &Topology, config: ResolverConfig) -> Result<Resolver, DnsError> {
        let all = View::all(topology);
        let known: Vec<String> = all.iter().map(View::name).collect();
        let listen = if config.listen.is_empty() {
            known
                .iter()
                .map(|v| (v.clone(), SocketAddr::from(([127, 0, 0, 1], 0))))
                .collect()
        } else {
            config.listen.clone()
        };
        let mut views = HashMap::new();
        for v in all {
            views.insert(v.name(), Arc::new(RwLock::new(Arc::new(Served::new(v)))));
        }
        let limiter = Arc::new(Limiter::new(config.rate_limit));
        let generation = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let shared = Arc::new(Shared {
            upstream: config.upstream,
            forward_map: config.forward_map.clone(),
            onprem_dns: std::sync::OnceLock::new(),
        });
        let mut listening = Vec::new();
        let mut tasks = Vec::new();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        for (name, addr) in listen {
            let view = views.get(&name).ok_or_else(|| DnsError::UnknownView {
                view: name.clone(),
                known: known.join(", "),
            })?;
            let (udp, tcp) = bind_pair(addr).await?;
            let bound = udp
                .local_addr()
                .map_err(|error| DnsError::Bind { addr, error })?;
            let handler = ViewHandler {
                view: view.clone(),
                limiter: limiter.clone(),
                shared: shared.clone(),
            };
            tasks.push(tokio::spawn(crate::tcp::serve(
                tcp,
                Arc::new(handler.clone()),
                config.max_tcp_connections,
                TCP_IDLE,
                stopped.clone(),
            )));
            // One UDP loop per core on the same socket.
            let udp = Arc::new(udp);
            let handler = Arc::new(handler);
            let loops = std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .clamp(1, 8);
            for _ in 0..loops {
                tasks.push(tokio::spawn(crate::udp::serve(
                    udp.clone(),
                    handler.clone(),
                    crate::udp::Replay {
                        generation: generation.clone(),
                        limiter: limiter.clone(),
                    },
                    stopped.clone(),
                )));
            }
            listening.push(Listening {
                view: name.clone(),
                protocol: "udp",
                addr: bound,
            });
            listening.push(Listening {
                view: name.clone(),
                protocol: "tcp",
                addr: bound,
            });
        }
        // An outbound rule that forwards to an on-prem network's DNS server reaches that
        // network's view here, where it listens.
        let onprem_dns: HashMap<SocketAddr, SocketAddr> = topology
            .onprem
            .iter()
            .filter_map(|n| {
                let view = format!("onprem:{}", n.name.value);
                let at = listening.iter().find(|l| l.view == view)?.addr;
                Some((SocketAddr::new(n.dns.value, 53), at))
            })
            .collect();
        let _ = shared.onprem_dns.set(onprem_dns);
        Ok(Resolver {
            views,
            generation,
            listening,
            tasks,
            stop,
        })
    }

    /// Every bound listener.
    pub fn listening(&self) -> &[Listening] {
        &self.listening
    }

    /// The address (UDP and TCP) of a view's first listener.
    pub fn addr_of(&self, view: &str) -> Option<SocketAddr> {
        self.listening
            .iter()
            .find(|l| l.view == view)
            .map(|l| l.addr)
    }

    /// Swaps in the views of a new topology. Views that the new topology no longer has keep
    /// their last answers; new VPCs need a restart to get listeners.
    pub fn update(&self, topology: &Topology) {
        for v in View::all(topology) {
            if let Some(slot) = self.views.get(&v.name())
                && let Ok(mut guard) = slot.write()
            {
                *guard = Arc::new(Served::new(v));
            }
        }
        // The UDP loops' kept replies are the old views' answers.
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// Stops every listener and waits for in-flight answers.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            if tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .is_err()
            {
                tracing::warn!("a resolver listener did not stop within 5 s");
            }
        }
    }
}

/// Binds UDP and TCP on one port. With port 0 the UDP port is chosen first, then TCP takes the
/// same number (a few tries, in case another process holds it for TCP).
async fn bind_pair(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), DnsError> {
    let mut last = None;
    for _ in 0..16 {
        let udp = UdpSocket::bind(addr)
            .await
            .map_err(|error| DnsError::Bind { addr, error })?;
        let port = udp
            .local_addr()
            .map_err(|error| DnsError::Bind { addr, error })?
            .port();
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if addr.port() == 0 => last = Some(e),
            Err(error) => return Err(DnsError::Bind { addr, error }),
        }
    }
    Err(DnsError::Bind {
        addr,
        error: last.unwrap_or_else(|| std::io::Error::other("no port free for both UDP and TCP")),
    })
}

/// RFC 7873 §5.2.2: a COOKIE option shorter than a client cookie (8 bytes), between 9 and 15
/// bytes, or longer than 40 bytes is malformed, and the answer is FORMERR.
fn malformed_cookie(edns: &Edns) -> bool {
    use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
    edns.options()
        .get_all(EdnsCode::Cookie)
        .iter()
        .any(|o| match o {
            EdnsOption::Unknown(_, data) => !(data.len() == 8 || (16..=40).contains(&data.len())),
            _ => true,
        })
}

struct Shared {
    upstream: Option<SocketAddr>,
    forward_map: HashMap<SocketAddr, SocketAddr>,
    /// Each on-prem network's DNS address (port 53) → where its view listens; set once the
    /// listeners are bound.
    onprem_dns: std::sync::OnceLock<HashMap<SocketAddr, SocketAddr>>,
}

/// Answers the queries of one listener from its view.
#[derive(Clone)]
struct ViewHandler {
    view: Arc<RwLock<Arc<Served>>>,
    limiter: Arc<Limiter>,
    shared: Arc<Shared>,
}

#[async_trait::async_trait]
impl RequestHandler for ViewHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let meta = request.metadata;
        let mut edns_out = None;
        if let Some(edns) = &request.edns {
            let mut e = Edns::new();
            e.set_max_payload(edns.max_payload().clamp(512, MAX_UDP_PAYLOAD));
            edns_out = Some(e);
        }
        let builder = || {
            let mut b = MessageResponseBuilder::from_message_request(request);
            if let Some(e) = &edns_out {
                b.edns(e);
            }
            b
        };
        let refuse = |code| builder().error_msg(&meta, code);

        let send = |r: Result<ResponseInfo, _>| match r {
            Ok(info) => info,
            Err(e) => {
                tracing::debug!(src = %request.src(), error = %e, "could not send the answer");
                failed(&meta)
            }
        };

        if !self.limiter.allow(request.src().ip()) {
            tracing::debug!(src = %request.src(), "rate limited");
            return send(response.send_response(refuse(ResponseCode::Refused)).await);
        }
        if meta.op_code != OpCode::Query {
            return send(response.send_response(refuse(ResponseCode::NotImp)).await);
        }
        if request.edns.as_ref().is_some_and(malformed_cookie) {
            return send(response.send_response(refuse(ResponseCode::FormErr)).await);
        }
        let query = match request.queries.queries() {
            [q] => q,
            // RFC 9619: exactly one question. Zero or several is a malformed query.
            _ => return send(response.send_response(refuse(ResponseCode::FormErr)).await),
        };
        let qtype = match query.query_type() {
            RecordType::A => QType::A,
            RecordType::AAAA => QType::Aaaa,
            RecordType::CNAME => QType::Cname,
            RecordType::SOA => QType::Soa,
            other => QType::Other(u16::from(other)),
        };
        let view = self.view.read().ok().map(|g| Arc::clone(&g));
        let Some(view) = view else {
            return send(response.send_response(refuse(ResponseCode::ServFail)).await);
        };
        let answer = match query.name().to_string().parse::<DnsName>() {
            Ok(name) => view.view.answer(&name, qtype),
            // Not a name any view could hold (the root, odd characters): not ours to answer.
            Err(_) => Answer {
                rcode: Rcode::Refused,
                records: vec![],
                soa_zone: None,
                source: view::Source::Nobody,
                forward: None,
            },
        };

        // `RUST_LOG=info`: one line per query, with who answered it (the level is checked
        // before any of this is formatted).
        tracing::info!(
            view = %view.view.name(),
            src = %request.src(),
            name = %query.name(),
            qtype = %query.query_type(),
            rcode = ?answer.rcode,
            source = ?answer.source,
            "query"
        );
        let mut records: Vec<Record> = answer.records.iter().map(|r| to_record(r, &view)).collect();
        let mut authorities: Vec<Record> = Vec::new();
        let mut additionals: Vec<Record> = Vec::new();
        let mut rcode = to_response_code(answer.rcode);

        let targets: Option<Vec<SocketAddr>> = match &answer.forward {
            Some((_, targets)) => Some(
                targets
                    .iter()
                    .map(|t| {
                        self.shared
                            .forward_map
                            .get(&t.0)
                            .or_else(|| self.shared.onprem_dns.get()?.get(&t.0))
                            .copied()
                            .unwrap_or(t.0)
                    })
                    .collect(),
            ),
            None if answer.rcode == Rcode::Refused
                && answer.source == view::Source::Nobody
                && answer.records.is_empty() =>
            {
                self.shared.upstream.map(|u| vec![u])
            }
            None => None,
        };
        if let Some(targets) = targets {
            // Ask for the last name of the chain, as a recursive resolver would.
            let last = records.iter().rev().find_map(|r| match &r.data {
                RData::CNAME(c) => Some(c.0.clone()),
                _ => None,
            });
            let wire = forwarded_query(request, last);
            match forward(&wire, &targets, FORWARD_TIMEOUT).await {
                Some(reply) => {
                    rcode = reply.metadata.response_code;
                    records.extend(reply.answers);
                    authorities.extend(reply.authorities);
                    additionals.extend(
                        reply
                            .additionals
                            .into_iter()
                            .filter(|r| r.record_type() != RecordType::OPT),
                    );
                }
                None => rcode = ResponseCode::ServFail,
            }
        }

        let mut soa = Vec::new();
        let mut answers = records;
        if let Some(zone) = &answer.soa_zone {
            let soa_rec = soa_record(zone, &view);
            if qtype == QType::Soa
                && query.name().to_string().trim_end_matches('.') == zone.as_str()
            {
                answers.push(soa_rec);
            } else {
                soa.push(soa_rec);
            }
        }

        let mut out = Metadata::response_from_request(&meta);
        out.response_code = rcode;
        // The VPC resolver is a recursive resolver to its clients; the internet view answers
        // authoritatively for the modelled names.
        out.recursion_available = !matches!(view.view.kind(), view::ViewKind::Internet);
        out.authoritative = matches!(view.view.kind(), view::ViewKind::Internet)
            && answer.source != view::Source::Nobody;
        let msg = builder().build(
            out,
            answers.iter(),
            authorities.iter(),
            soa.iter(),
            additionals.iter(),
        );
        send(response.send_response(msg).await)
    }
}

fn failed(meta: &Metadata) -> ResponseInfo {
    let mut m = Metadata::new(meta.id, MessageType::Response, meta.op_code);
    m.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header {
        metadata: m,
        counts: HeaderCounts::default(),
    })
}

/// The query to send on: the client's own bytes, or the same question for the chain's last name.
fn forwarded_query(request: &Request, last: Option<Name>) -> Vec<u8> {
    use hickory_server::proto::op::{Message, Query};
    let Some(name) = last else {
        return request.as_slice().to_vec();
    };
    let mut m = Message::query();
    m.metadata.id = request.metadata.id;
    m.metadata.recursion_desired = true;
    let qtype = request
        .queries
        .queries()
        .first()
        .map(|q| q.query_type())
        .unwrap_or(RecordType::A);
    m.add_query(Query::query(name, qtype));
    m.to_vec().unwrap_or_else(|_| request.as_slice().to_vec())
}

fn to_record(r: &view::Rec, view: &Served) -> Record {
    let data = match &r.data {
        RecData::A(a) => RData::A(A(*a)),
        RecData::Aaaa(a) => RData::AAAA(AAAA(*a)),
        RecData::Cname(n) => RData::CNAME(CNAME(view.wire_name(n))),
    };
    Record::from_rdata(view.wire_name(&r.name), r.ttl, data)
}

fn soa_record(zone: &DnsName, view: &Served) -> Record {
    let soa = SOA::new(
        Name::from_ascii(format!("{}.", view::SOA_MNAME)).unwrap_or_else(|_| Name::root()),
        Name::from_ascii(format!("{}.", view::SOA_RNAME)).unwrap_or_else(|_| Name::root()),
        1,
        7200,
        900,
        1_209_600,
        view::SOA_MINIMUM,
    );
    Record::from_rdata(view.wire_name(zone), view::SOA_TTL, RData::SOA(soa))
}

fn to_response_code(r: Rcode) -> ResponseCode {
    match r {
        Rcode::NoError => ResponseCode::NoError,
        Rcode::FormErr => ResponseCode::FormErr,
        Rcode::ServFail => ResponseCode::ServFail,
        Rcode::NxDomain => ResponseCode::NXDomain,
        Rcode::NotImp => ResponseCode::NotImp,
        Rcode::Refused => ResponseCode::Refused,
        Rcode::Other(n) => ResponseCode::from((n >> 4) as u8, (n & 0xf) as u8),
    }
}

/// The view a client address would ask when it sits in one of the topology's VPCs.
pub fn view_for_client(topology: &Topology, client: IpAddr) -> String {
    topology
        .vpcs
        .iter()
        .find(|v| matches!(client, IpAddr::V4(a) if v.cidr.contains(&a)))
        .map(|v| v.id.to_string())
        .unwrap_or_else(|| "internet".to_owned())
}
