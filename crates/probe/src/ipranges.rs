//! AWS's published address ranges (`ip-ranges.json`): which Region and services an answer's
//! address belongs to. The file's shape: `syncToken`, `createDate`, `prefixes[]` with
//! `ip_prefix`, `region`, `network_border_group`, `service`, and `ipv6_prefixes[]` with
//! `ipv6_prefix` in place of `ip_prefix`. Every range is also listed under `AMAZON`; the
//! `API_GATEWAY` ranges are egress only (what API Gateway calls backends from), so a public
//! execute-api address is found under `AMAZON` (and `CLOUDFRONT` for edge-optimized APIs).

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

/// The loaded ranges.
#[derive(Clone, Debug, Default)]
pub struct IpRanges {
    prefixes: Vec<(IpNet, String, String)>,
    /// The file's `createDate`, for the report.
    pub create_date: String,
}

/// Who owns an address: the Region and the services listing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The Region (or `GLOBAL`).
    pub region: String,
    /// The services that list the address (`AMAZON`, `API_GATEWAY`, `CLOUDFRONT`).
    pub services: Vec<String>,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AWS {} {}", self.region, self.services.join("+"))
    }
}

/// Why the file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IpRangesError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The file is not `ip-ranges.json`.
    #[error("{path}: not ip-ranges.json: {detail}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong with it.
        detail: String,
    },
}

impl IpRanges {
    /// Reads `ip-ranges.json` (at most 64 MiB; today's file is about 2 MiB).
    pub fn load(path: &Path) -> Result<IpRanges, IpRangesError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| IpRangesError::Read {
            path: shown.clone(),
            source,
        })?;
        if meta.len() > 64 << 20 {
            return Err(IpRangesError::Format {
                path: shown,
                detail: format!("{} bytes, more than 64 MiB", meta.len()),
            });
        }
        let text = parallax_model::input::read_config(path).map_err(|e| IpRangesError::Format {
            path: shown.clone(),
            detail: e.to_string(),
        })?;
        IpRanges::parse(&text).map_err(|detail| IpRangesError::Format {
            path: shown,
            detail,
        })
    }

    /// Reads the text of `ip-ranges.json`.
    pub fn parse(text: &str) -> Result<IpRanges, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut out = IpRanges {
            create_date: v["createDate"].as_str().unwrap_or_default().to_owned(),
            ..IpRanges::default()
        };
        let mut seen = false;
        for (list, key) in [("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")] {
            let Some(items) = v.get(list).and_then(|l| l.as_array()) else {
                continue;
            };
            seen = true;
            for (i, p) in items.iter().enumerate() {
                let net: IpNet = p[key]
                    .as_str()
                    .ok_or_else(|| format!("{list}[{i}] has no {key}"))?
                    .parse()
                    .map_err(|e| format!("{list}[{i}].{key}: {e}"))?;
                out.prefixes.push((
                    net,
                    p["region"].as_str().unwrap_or("?").to_owned(),
                    p["service"].as_str().unwrap_or("?").to_owned(),
                ));
            }
        }
        if !seen {
            return Err("no `prefixes` or `ipv6_prefixes`".to_owned());
        }
        Ok(out)
    }

    /// The owner of `ip`: the Region of its most specific range, and every service listing it.
    pub fn owner(&self, ip: IpAddr) -> Option<Owner> {
        let hits: Vec<&(IpNet, String, String)> = self
            .prefixes
            .iter()
            .filter(|(n, _, _)| n.contains(&ip))
            .collect();
        let best = hits.iter().max_by_key(|(n, _, _)| n.prefix_len())?;
        let mut services: Vec<String> = hits.iter().map(|(_, _, s)| s.clone()).collect();
        services.sort();
        services.dedup();
        Some(Owner {
            region: best.1.clone(),
            services,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of AWS's file, written by us with documentation prefixes.
    const SAMPLE: &str = r#"{"syncToken":"1700000000","createDate":"2026-11-01-00-00-00","prefixes":[
        {"ip_prefix":"52.94.0.0/16","region":"us-east-1","service":"AMAZON","network_border_group":"us-east-1"},
        {"ip_prefix":"52.94.133.0/24","region":"us-east-1","service":"AMAZON","network_border_group":"us-east-1"},
        {"ip_prefix":"3.216.135.0/24","region":"us-east-1","service":"API_GATEWAY","network_border_group":"us-east-1"},
        {"ip_prefix":"3.216.0.0/16","region":"us-east-1","service":"AMAZON","network_border_group":"us-east-1"}],
        "ipv6_prefixes":[{"ipv6_prefix":"2600:1f18::/36","region":"us-east-1","service":"AMAZON","network_border_group":"us-east-1"}]}"#;

    #[test]
    fn owners_by_the_most_specific_range() {
        let r = IpRanges::parse(SAMPLE).expect("sample");
        assert_eq!(
            r.owner("52.94.133.10".parse().expect("ip")),
            Some(Owner {
                region: "us-east-1".into(),
                services: vec!["AMAZON".into()]
            })
        );
        let egress = r.owner("3.216.135.7".parse().expect("ip")).expect("owner");
        assert_eq!(egress.services, vec!["AMAZON", "API_GATEWAY"]);
        assert!(r.owner("10.0.1.17".parse().expect("ip")).is_none());
        assert!(r.owner("2600:1f18::1".parse().expect("ip")).is_some());
        assert!(IpRanges::parse("{}").is_err());
        assert!(IpRanges::parse(r#"{"prefixes":[{"ip_prefix":"nope"}]}"#).is_err());
    }
}
