//! The attacker's table: request variants (path, method, Host, SNI, client certificate) that
//! tried to get past the gateway's checks (issue 10), each with the outcome AWS's documentation
//! gives. The gateway's tests send every row to the live gateway; the analyze tests ask
//! `predict` the rows it can express. Expected values come from the sources named per row, not
//! from running our code.

use parallax_model::ErrorType;

/// The topology the rows run against: three custom domains on the regional door (two with
/// mutual TLS and different truststores, one without), and APIs whose resource policies each
/// deny something.
pub const TOPOLOGY: &str = r#"
account: "111122223333"
region: us-east-1
front_doors: { regional: [52.94.133.10], edge: [13.249.118.20] }
vpcs: [{ id: vpc-0a1b2c3d, cidr: 10.0.0.0/16 }]
apis:
  - id: a1b2c3d4e5
    name: admin-deny
    endpoint_type: REGIONAL
    stages: [prod]
    policy:
      Version: "2012-10-17"
      Statement:
        - { Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*" }
        - { Effect: Deny, Principal: "*", Action: "execute-api:Invoke", Resource: ["execute-api:/prod/GET/admin", "execute-api:/prod/GET/admin/*"] }
    routes:
      - { method: ANY, path: "/{proxy+}", integration: { type: MOCK, status: 200, body: proxy } }
      - { method: GET, path: /public, integration: { type: MOCK, status: 200, body: public } }
  - id: b2c3d4e5f6
    name: get-denied-under-any
    endpoint_type: REGIONAL
    stages: [prod]
    policy:
      Statement:
        - { Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*" }
        - { Effect: Deny, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/prod/GET/*" }
    routes:
      - { method: ANY, path: /admin, integration: { type: MOCK, status: 200, body: any } }
  - id: c3d4e5f6a7
    name: office-only
    endpoint_type: REGIONAL
    stages: [prod]
    policy:
      Statement:
        - { Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*" }
        - { Effect: Deny, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*", Condition: { NotIpAddressIfExists: { "aws:SourceIp": ["192.0.2.0/24"] } } }
    routes:
      - { method: GET, path: /test, integration: { type: MOCK, status: 200 } }
  - id: d4e5f6a7b8
    name: public-only
    endpoint_type: REGIONAL
    stages: [prod]
    policy:
      Statement:
        - { Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*" }
        - { Effect: Deny, Principal: "*", Action: "execute-api:Invoke", NotResource: "execute-api:/prod/GET/public" }
    routes:
      - { method: GET, path: /public, integration: { type: MOCK, status: 200 } }
      - { method: GET, path: /other, integration: { type: MOCK, status: 200 } }
  - id: e5f6a7b8c9
    name: partners
    endpoint_type: REGIONAL
    stages: [prod]
    disable_execute_api_endpoint: true
    routes:
      - { method: GET, path: /test, integration: { type: MOCK, status: 200, body: partners } }
custom_domains:
  - name: api.example.com
    endpoint_type: REGIONAL
    dns: alias
    mtls: { truststore: "lab:clients" }
    mappings: [{ api: a1b2c3d4e5, stage: prod }]
  - name: other.example.com
    endpoint_type: REGIONAL
    dns: alias
    mtls: { truststore: "lab:partners" }
    mappings: [{ api: e5f6a7b8c9, stage: prod }]
  - name: plain.example.com
    endpoint_type: REGIONAL
    dns: alias
    mappings: [{ api: a1b2c3d4e5, stage: prod }]
vantages:
  - { name: attacker, network: internet }
"#;

/// The client certificate a row sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cert {
    /// No client certificate.
    None,
    /// Issued by `lab:clients` (trusted by api.example.com only).
    Clients,
    /// Issued by `lab:partners` (trusted by other.example.com only).
    Partners,
}

/// How the request names its host on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// HTTP/1.1, origin-form target and a Host header.
    Origin,
    /// HTTP/2, `:authority`.
    Http2,
    /// HTTP/1.1 with an absolute-form target naming `host` and a Host header naming the SNI.
    AbsoluteForm,
}

/// One attempt and what AWS answers.
#[derive(Clone, Debug)]
pub struct Attack {
    /// What the row tries.
    pub what: &'static str,
    /// The SNI sent.
    pub sni: &'static str,
    /// The Host sent.
    pub host: &'static str,
    /// The method.
    pub method: &'static str,
    /// The path.
    pub path: &'static str,
    /// The client certificate presented.
    pub cert: Cert,
    /// How the target is written.
    pub form: Form,
    /// The status AWS answers.
    pub status: u16,
    /// The error type AWS answers.
    pub error_type: Option<ErrorType>,
    /// Where the expected outcome comes from.
    pub source: &'static str,
}

const ADMIN: &str = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";
const ANYAPI: &str = "b2c3d4e5f6.execute-api.us-east-1.amazonaws.com";
const OFFICE: &str = "c3d4e5f6a7.execute-api.us-east-1.amazonaws.com";
const PUBLIC: &str = "d4e5f6a7b8.execute-api.us-east-1.amazonaws.com";
const PARTNERS: &str = "e5f6a7b8c9.execute-api.us-east-1.amazonaws.com";

const DENY: Option<ErrorType> = Some(ErrorType::AccessDenied);
const MAT: Option<ErrorType> = Some(ErrorType::MissingAuthenticationToken);
const FORBIDDEN: Option<ErrorType> = Some(ErrorType::Forbidden);

/// Resource-policy denials: AWS's 403 troubleshooting article (AccessDeniedException, "with an
/// explicit deny"); the policy grammar: IAM's policy reference.
const KC_403: &str = "repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden";
/// The path is one resource however it is spelled (RFC 3986 §6.2.2: percent-decoding of
/// unreserved characters and dot-segment removal give an equivalent URI; empty segments are
/// dropped as the router drops them).
const RFC3986: &str = "RFC 3986 §6.2.2 normalisation; the deny covers the resource";
/// MISSING_AUTHENTICATION_TOKEN: "including an unsupported method or resource" (gateway
/// response types); methods are case-sensitive (RFC 9110 §9.1).
const METHOD: &str = "supported-gateway-response-types.html; RFC 9110 §9.1";
/// Mutual TLS is a property of the custom domain whose TLS session it is (rest-api-mutual-tls);
/// a Host from another TLS configuration: RFC 9110 §15.5.20 (our choice, AWS documents none).
const MISDIRECTED: &str = "rest-api-mutual-tls.html + RFC 9110 §15.5.20 (421 UNCONFIRMED for AWS)";

/// One row, positionally, so the table reads as a table.
#[allow(clippy::too_many_arguments)]
const fn row(
    what: &'static str,
    sni: &'static str,
    host: &'static str,
    method: &'static str,
    path: &'static str,
    cert: Cert,
    status: u16,
    error_type: Option<ErrorType>,
    source: &'static str,
) -> Attack {
    Attack {
        what,
        sni,
        host,
        method,
        path,
        cert,
        form: Form::Origin,
        status,
        error_type,
        source,
    }
}

const fn form(mut a: Attack, f: Form) -> Attack {
    a.form = f;
    a
}

// One row per line: the table reads as a table.
/// Every row.
#[rustfmt::skip]
pub const ATTACKS: &[Attack] = &[
    // Routing and the policy see one request.
    row("baseline: an allowed resource", ADMIN, ADMIN, "GET", "/prod/public", Cert::None, 200, None, "the API's own MOCK"),
    row("the denied resource", ADMIN, ADMIN, "GET", "/prod/admin", Cert::None, 403, DENY, KC_403),
    row("below the denied resource", ADMIN, ADMIN, "GET", "/prod/admin/users", Cert::None, 403, DENY, KC_403),
    row("trailing slash", ADMIN, ADMIN, "GET", "/prod/admin/", Cert::None, 403, DENY, RFC3986),
    row("empty segment", ADMIN, ADMIN, "GET", "/prod//admin", Cert::None, 403, DENY, RFC3986),
    row("percent-encoded letter", ADMIN, ADMIN, "GET", "/prod/%61dmin", Cert::None, 403, DENY, RFC3986),
    row("dot-dot", ADMIN, ADMIN, "GET", "/prod/x/../admin", Cert::None, 403, DENY, RFC3986),
    row("encoded dot-dot", ADMIN, ADMIN, "GET", "/prod/x/%2e%2e/admin", Cert::None, 403, DENY, RFC3986),
    row("dot segment", ADMIN, ADMIN, "GET", "/prod/./admin", Cert::None, 403, DENY, RFC3986),
    row("lower-case method under ANY", ADMIN, ADMIN, "get", "/prod/admin", Cert::None, 403, MAT, METHOD),
    row("mixed-case method under ANY", ADMIN, ADMIN, "Get", "/prod/admin", Cert::None, 403, MAT, METHOD),
    row("unknown method under ANY", ADMIN, ADMIN, "FOO", "/prod/admin", Cert::None, 403, MAT, METHOD),
    row("another method is not denied", ADMIN, ADMIN, "POST", "/prod/admin", Cert::None, 200, None, KC_403),
    row("GET denied under an ANY route", ANYAPI, ANYAPI, "GET", "/prod/admin", Cert::None, 403, DENY, KC_403),
    row("POST under the same ANY route", ANYAPI, ANYAPI, "POST", "/prod/admin", Cert::None, 200, None, KC_403),
    row("get under the same ANY route", ANYAPI, ANYAPI, "get", "/prod/admin", Cert::None, 403, MAT, METHOD),
    // Denies the old evaluator dropped.
    row("NotIpAddressIfExists deny, caller outside", OFFICE, OFFICE, "GET", "/prod/test", Cert::None, 403, DENY, "IAM condition operators (...IfExists); apigateway-resource-policies-examples.html"),
    row("NotResource deny", PUBLIC, PUBLIC, "GET", "/prod/other", Cert::None, 403, DENY, "IAM policy elements: NotResource"),
    row("NotResource spares its resource", PUBLIC, PUBLIC, "GET", "/prod/public", Cert::None, 200, None, "IAM policy elements: NotResource"),
    // Mutual TLS is bound to the TLS session's domain.
    row("mTLS domain with its own client", "api.example.com", "api.example.com", "GET", "/public", Cert::Clients, 200, None, "rest-api-mutual-tls.html"),
    row("Host in another case and with the port", "api.example.com", "API.Example.com:443", "GET", "/public", Cert::Clients, 200, None, "RFC 9110 §4.2.3: hosts are case-insensitive"),
    row("mTLS session, Host of the other mTLS domain", "api.example.com", "other.example.com", "GET", "/test", Cert::Clients, 421, None, MISDIRECTED),
    row("mTLS session, Host of a domain without mTLS", "api.example.com", "plain.example.com", "GET", "/public", Cert::Clients, 421, None, MISDIRECTED),
    row("session without mTLS, Host of an mTLS domain", "plain.example.com", "api.example.com", "GET", "/public", Cert::Clients, 421, None, MISDIRECTED),
    row("mTLS session, Host of a disabled default endpoint", "api.example.com", PARTNERS, "GET", "/prod/test", Cert::Clients, 421, None, MISDIRECTED),
    row("execute-api session, Host of an mTLS domain", ADMIN, "other.example.com", "GET", "/test", Cert::None, 421, None, MISDIRECTED),
    row("the other domain with the wrong CA's client", "other.example.com", "other.example.com", "GET", "/test", Cert::Clients, 403, FORBIDDEN, "rest-api-mutual-tls.html; api-gateway-mutual-tls-403-errors"),
    row("the other domain with its own client", "other.example.com", "other.example.com", "GET", "/test", Cert::Partners, 200, None, "rest-api-mutual-tls.html"),
    row("the disabled default endpoint itself", PARTNERS, PARTNERS, "GET", "/prod/test", Cert::None, 403, FORBIDDEN, "rest-api-disable-default-endpoint.html"),
    row("two execute-api names share the door's certificate", ADMIN, PUBLIC, "GET", "/prod/public", Cert::None, 200, None, "RFC 9110 §7.4: one certificate covers both names"),
    // The same binding on the other ways to name a host (live only: predict sends origin-form).
    form(row("HTTP/2 :authority of the other mTLS domain", "api.example.com", "other.example.com", "GET", "/test", Cert::Clients, 421, None, MISDIRECTED), Form::Http2),
    form(row("HTTP/2 :authority of its own domain", "api.example.com", "api.example.com", "GET", "/public", Cert::Clients, 200, None, "rest-api-mutual-tls.html"), Form::Http2),
    form(row("absolute-form target of the other mTLS domain", "api.example.com", "other.example.com", "GET", "/test", Cert::Clients, 421, None, "RFC 9112 §3.2.2: the target's authority wins over Host"), Form::AbsoluteForm),
];
