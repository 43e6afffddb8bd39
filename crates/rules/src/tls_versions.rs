//! Which TLS versions a handshake may use, by front door and SNI: the security policy of the
//! API or custom domain the name belongs to ("Security policies for REST APIs in API Gateway",
//! "Supported security policies"), else API Gateway's default for the door. Both the gateway
//! (its server configurations) and `predict` read it here, so they cannot disagree.
//!
//! - Without a policy: the public doors take TLS 1.2 and 1.3 (API Gateway's default TLS_1_0
//!   policy also takes 1.0 and 1.1, which parallax does not speak); an interface endpoint's
//!   door takes TLS 1.2 only (private APIs, reference §2.2).
//! - `TLS_1_0` and `TLS_1_2`: as without one (1.2 and 1.3; an endpoint's door: 1.2).
//! - `SecurityPolicy_TLS13_1_3_…` and `SecurityPolicy_TLS13_2025_EDGE`: TLS 1.3 only.
//! - The other enhanced policies: TLS 1.2 and 1.3, on every door.
//! - A custom domain name whose base path mappings all lead to one API with a policy takes that
//!   API's ("When you invoke that custom domain name, API Gateway uses the security policy of
//!   the API to negotiate the TLS handshake"); otherwise its own.

use parallax_model::topology::{SecurityPolicy, TlsVersion, Topology};
use parallax_model::{ExecuteApiName, FrontDoor};

/// The lowest and highest TLS versions a handshake may agree on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versions {
    /// The lowest.
    pub min: TlsVersion,
    /// The highest.
    pub max: TlsVersion,
}

impl Versions {
    /// The version two sides agree on: the highest both take, or none.
    pub fn agree(self, client: Versions) -> Option<TlsVersion> {
        let max = self.max.min(client.max);
        let min = self.min.max(client.min);
        (min <= max).then_some(max)
    }

    /// What a client takes by default (parallax's probe, like curl with rustls): 1.2 and 1.3.
    pub const CLIENT_DEFAULT: Versions = Versions {
        min: TlsVersion::Tls12,
        max: TlsVersion::Tls13,
    };
}

/// The door's own range, without a policy.
fn door_default(door: &FrontDoor) -> Versions {
    match door {
        FrontDoor::VpcEndpoint(_) => Versions {
            min: TlsVersion::Tls12,
            max: TlsVersion::Tls12,
        },
        _ => Versions::CLIENT_DEFAULT,
    }
}

/// The range a policy gives on a door.
pub fn of_policy(policy: Option<SecurityPolicy>, door: &FrontDoor) -> Versions {
    match policy {
        None | Some(SecurityPolicy::Tls10 | SecurityPolicy::Tls12) => door_default(door),
        Some(p) => Versions {
            min: p.min_version().max(TlsVersion::Tls12),
            max: TlsVersion::Tls13,
        },
    }
}

/// The range for a ClientHello naming `sni` on `door`.
pub fn for_sni(t: &Topology, door: &FrontDoor, sni: &str) -> Versions {
    let sni = sni.trim_end_matches('.');
    if let Some(d) = sni
        .parse::<parallax_model::DnsName>()
        .ok()
        .and_then(|n| t.custom_domain(&n).cloned())
    {
        let mut apis = d.mappings.iter().map(|m| &m.api.value);
        let one = apis.next().filter(|first| apis.all(|a| a == *first));
        let policy = one
            .and_then(|id| t.apis.iter().find(|a| a.id.value == *id))
            .and_then(|a| a.security_policy.as_ref())
            .map(|p| p.value)
            .or(d.security_policy.as_ref().map(|p| p.value));
        return of_policy(policy, door);
    }
    let api = match ExecuteApiName::parse(sni) {
        Some(ExecuteApiName::Default { api, .. } | ExecuteApiName::ApiVpceAlias { api, .. }) => {
            t.apis.iter().find(|a| a.id.value == api)
        }
        _ => None,
    };
    of_policy(
        api.and_then(|a| a.security_policy.as_ref())
            .map(|p| p.value),
        door,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Security policies for REST APIs": SecurityPolicy_TLS13_1_3_2025_09 "accepts TLS 1.3
    /// traffic and rejects TLS 1.2 and TLS 1.0 traffic".
    #[test]
    fn a_tls13_only_policy_refuses_a_tls12_client() {
        let door = FrontDoor::Regional;
        let only13 = of_policy(Some(SecurityPolicy::Tls13Only2025), &door);
        let tls12_client = Versions {
            min: TlsVersion::Tls12,
            max: TlsVersion::Tls12,
        };
        assert_eq!(only13.agree(tls12_client), None);
        assert_eq!(
            only13.agree(Versions::CLIENT_DEFAULT),
            Some(TlsVersion::Tls13)
        );
        let hardened = of_policy(Some(SecurityPolicy::Tls12Hardened2021), &door);
        assert_eq!(hardened.agree(tls12_client), Some(TlsVersion::Tls12));
        // A private API's endpoint door without a policy: TLS 1.2 only.
        let vpce = FrontDoor::VpcEndpoint("vpce-0123456789abcdef0".parse().expect("id"));
        assert_eq!(
            of_policy(None, &vpce).agree(Versions::CLIENT_DEFAULT),
            Some(TlsVersion::Tls12)
        );
        assert_eq!(
            of_policy(Some(SecurityPolicy::Tls12Pq2025), &vpce).agree(Versions::CLIENT_DEFAULT),
            Some(TlsVersion::Tls13)
        );
    }
}
