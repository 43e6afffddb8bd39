//! Signing a request with SigV4, as `curl --aws-sigv4 "aws:amz:REGION:SERVICE" --user
//! KEY:SECRET` does: the aws-sigv4 crate computes the signature over the method, path, query,
//! body and the headers sent (Host, every `-H` header, Content-Type), and the request carries
//! `X-Amz-Date`, `Authorization` and, with temporary credentials, `X-Amz-Security-Token`.

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

/// What `--aws-sigv4` and the credentials say.
#[derive(Clone, PartialEq, Eq)]
pub struct SigV4 {
    /// The Region of the credential scope; from the host name when not given.
    pub region: Option<String>,
    /// The service (`execute-api`); from the host name when not given.
    pub service: Option<String>,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key (never printed).
    pub secret_access_key: String,
    /// A session token (temporary credentials), sent as X-Amz-Security-Token.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for SigV4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4")
            .field("region", &self.region)
            .field("service", &self.service)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Why a request cannot be signed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// No Region given, and the host name does not say one.
    #[error(
        "--aws-sigv4 names no Region and the host `{0}` does not say one: use aws:amz:REGION:SERVICE"
    )]
    NoRegion(String),
    /// The request cannot be put in canonical form.
    #[error("the request cannot be signed: {0}")]
    Unsignable(String),
}

impl SigV4 {
    /// The Region and service: as given, else from an execute-api host name
    /// (`{api}.execute-api.{region}.amazonaws.com`, the `vpce` forms included).
    fn scope(&self, host: &str) -> Result<(String, String), SignError> {
        let from_host =
            parallax_model::ExecuteApiName::parse(host.split(':').next().unwrap_or(host))
                .map(|n| n.region().to_string());
        let region = self
            .region
            .clone()
            .or(from_host)
            .ok_or_else(|| SignError::NoRegion(host.to_owned()))?;
        let service = self
            .service
            .clone()
            .unwrap_or_else(|| "execute-api".to_owned());
        Ok((region, service))
    }

    /// Adds `X-Amz-Date`, `X-Amz-Security-Token` and `Authorization` to `headers` (which hold
    /// the Host), signing them with `method`, `path_and_query` and `body`.
    pub fn sign(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &mut Vec<(String, String)>,
        body: &[u8],
    ) -> Result<(), SignError> {
        let host = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let (region, service) = self.scope(&host)?;
        // curl signs Host, the headers it was given and the content type; not its own
        // User-Agent and Accept.
        let signed: Vec<(String, String)> = headers
            .iter()
            .filter(|(k, _)| {
                ![
                    "user-agent",
                    "accept",
                    "authorization",
                    "proxy-authorization",
                ]
                .iter()
                .any(|x| k.eq_ignore_ascii_case(x))
            })
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let identity = aws_credential_types::Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            None,
            "parallax",
        )
        .into();
        let mut settings = SigningSettings::default();
        settings.excluded_headers = None;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name(&service)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| SignError::Unsignable(e.to_string()))?
            .into();
        let uri = format!("https://{host}{path_and_query}");
        let request = SignableRequest::new(
            method,
            uri,
            signed.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| SignError::Unsignable(e.to_string()))?;
        let (instructions, _) = sign(request, &params)
            .map_err(|e| SignError::Unsignable(e.to_string()))?
            .into_parts();
        for (name, value) in instructions.headers() {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            headers.push((canonical_case(name), value.to_owned()));
        }
        Ok(())
    }
}

/// `x-amz-date` as curl writes it: `X-Amz-Date`.
fn canonical_case(name: &str) -> String {
    name.split('-')
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}
