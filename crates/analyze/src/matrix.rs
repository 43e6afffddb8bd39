//! `--matrix`: for the internet and every VPC, the predicted outcome of calling each API's
//! default URL and each custom domain.

use parallax_model::topology::{Network, Topology, Vantage};
use parallax_model::{At, Outcome, RequestUrl};

use crate::predict::{PredictRequest, Predictor};

/// One target (an API's default URL or a custom domain) and its outcome from each vantage.
#[derive(Clone, Debug)]
pub struct Row {
    /// The API or custom domain called.
    pub target: String,
    /// The URL called.
    pub url: String,
    /// The outcome from each vantage point, by name.
    pub cells: Vec<(String, Outcome)>,
}

/// Every API's and custom domain's URL predicted from the internet and from each VPC.
pub fn matrix(t: &Topology) -> Vec<Row> {
    let mut vantages = vec![Vantage {
        name: At::bare("internet".to_owned()),
        network: At::bare(Network::Internet),
        address: None,
    }];
    vantages.extend(t.vpcs.iter().map(|v| Vantage {
        name: At::bare(v.id.to_string()),
        network: At::bare(Network::Vpc(v.id.value.clone())),
        address: None,
    }));
    let mut targets: Vec<(String, String)> = Vec::new();
    for api in &t.apis {
        // `$default`, an HTTP API's catch-all route, is called at `/x`.
        let path = api
            .routes
            .first()
            .map(|r| {
                if r.path.value.is_default() {
                    "/x".to_owned()
                } else {
                    r.path.as_str().replace("{proxy+}", "x")
                }
            })
            .unwrap_or_else(|| "/".to_owned());
        // The `$default` stage takes no path segment.
        let stage = api
            .stages
            .first()
            .map(|s| s.value.clone())
            .filter(|s| s != "$default")
            .map(|s| format!("/{s}"))
            .unwrap_or_default();
        let kind = if api.protocol == parallax_model::topology::ApiProtocol::Http {
            "HTTP".to_owned()
        } else {
            api.endpoint_type.value.to_string()
        };
        targets.push((
            format!("{} ({kind})", api.name),
            format!("https://{}{stage}{path}", api.default_name(&t.region)),
        ));
    }
    for d in &t.custom_domains {
        targets.push((
            format!("{} (custom domain)", d.name),
            // Below the root mapping, as an API is called at `/x`: a reachable API shows 200.
            format!("https://{}/x", d.name),
        ));
    }
    let predictor = Predictor::new(t);
    targets
        .into_iter()
        .filter_map(|(target, url)| {
            let u = RequestUrl::try_from(url.clone()).ok()?;
            let cells = vantages
                .iter()
                .map(|v| {
                    let req = PredictRequest::get(&u);
                    (v.name.value.clone(), predictor.predict(v, &req).outcome)
                })
                .collect();
            Some(Row { target, url, cells })
        })
        .collect()
}

/// The matrix as a table.
pub fn text(rows: &[Row]) -> String {
    let mut out = String::new();
    for r in rows {
        out.push_str(&format!("{}  {}\n", r.target, r.url));
        for (v, o) in &r.cells {
            let http = match &o.http {
                Some(h) => format!(
                    "{}{}",
                    h.status,
                    h.error_type
                        .as_ref()
                        .map(|e| format!(" {e}"))
                        .unwrap_or_default()
                ),
                None => "no HTTP exchange".to_owned(),
            };
            let door = o
                .front_door
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "-".to_owned());
            out.push_str(&format!(
                "  from {v:<24} dns {:<8} door {door:<24} {http}\n",
                o.dns.verdict().to_string()
            ));
        }
    }
    out
}
