//! `parallax probe diff A.json B.json`: where two vantage points' reports first part ways, layer
//! by layer (DNS, connect, TLS, HTTP), and what that means.

use serde_json::Value;

/// The first layer where two reports differ, in words; `None` when they agree.
pub fn first_divergence(a: &Value, b: &Value) -> Result<Option<String>, String> {
    for (name, v) in [("A", a), ("B", b)] {
        if v.get("schema").and_then(Value::as_str) != Some(crate::report::SCHEMA) {
            return Err(format!(
                "{name} is not a parallax probe report (schema {})",
                crate::report::SCHEMA
            ));
        }
    }
    let oa = &a["observation"];
    let ob = &b["observation"];
    let url = oa["url"].as_str().unwrap_or("");
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', ':', '?'])
        .next()
        .unwrap_or("");
    if oa["url"] != ob["url"] {
        return Ok(Some(format!(
            "the two reports probe different URLs ({} and {}); compare the same request from two places",
            oa["url"], ob["url"]
        )));
    }

    // DNS: the answer the request used.
    let (da, db) = (&oa["dns"]["path"]["outcome"], &ob["dns"]["path"]["outcome"]);
    let addrs = |o: &Value| -> Vec<String> {
        let mut v: Vec<String> = o["addresses"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    if da["rcode"] != db["rcode"] || addrs(da) != addrs(db) {
        let (ca, cb) = (classes(&oa["dns"]["path"]), classes(&ob["dns"]["path"]));
        let meaning = if any_private(&oa["dns"]["path"]) != any_private(&ob["dns"]["path"]) {
            "the same name answers a private address in one place and a public one in the other: split-horizon DNS (an interface endpoint's private DNS, a private hosted zone, or a resolver rule on the private side)"
        } else if da["rcode"] != db["rcode"] {
            "one place cannot resolve the name: a private zone that covers it without the record, a resolver rule, or a resolver that cannot be reached"
        } else {
            "the name resolves to different addresses: different resolvers, zones or regions"
        };
        return Ok(Some(format!(
            "DNS: A resolved {host} to {} ({ca}), B to {} ({cb}); {meaning}",
            show(da),
            show(db)
        )));
    }

    // Connect.
    let (ca, cb) = (&oa["connect"], &ob["connect"]);
    if ca["failure"] != cb["failure"] {
        return Ok(Some(format!(
            "connect: A {}, B {}; the address answers from one place only: routes, security groups or network ACLs",
            failure(ca),
            failure(cb)
        )));
    }

    // TLS.
    let (ta, tb) = (&oa["tls"], &ob["tls"]);
    let leaf = |t: &Value| {
        t["chain"]
            .get(0)
            .map(|c| c["subject"].as_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    };
    if ta["error"] != tb["error"] || leaf(ta) != leaf(tb) {
        return Ok(Some(format!(
            "TLS: A {}, B {}; the two places reach different servers for the same name",
            tls_text(ta, &leaf(ta)),
            tls_text(tb, &leaf(tb))
        )));
    }
    if ta["client_cert_requested"] != tb["client_cert_requested"] {
        return Ok(Some("TLS: only one of the servers asked for a client certificate; the two places reach different front doors".to_owned()));
    }

    // HTTP.
    let (ha, hb) = (&oa["http"], &ob["http"]);
    if ha["status"] != hb["status"] || ha["error_type"] != hb["error_type"] {
        return Ok(Some(format!(
            "HTTP: A got {}, B got {}; the request reaches the same server and is treated differently: API keys, source-based resource policies, or usage plans",
            status_text(ha),
            status_text(hb)
        )));
    }
    Ok(None)
}

/// Whether an answer holds a private address, by its classes as the report names them.
fn any_private(answer: &Value) -> bool {
    answer["classes"].as_array().is_some_and(|a| {
        a.iter()
            .filter_map(|c| serde_json::from_value::<parallax_model::AddressClass>(c.clone()).ok())
            .any(parallax_model::AddressClass::is_private)
    })
}

fn classes(answer: &Value) -> String {
    let v: Vec<&str> = answer["classes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut v: Vec<&str> = v;
    v.dedup();
    if v.is_empty() {
        "no address".to_owned()
    } else {
        v.join(", ")
    }
}

fn show(outcome: &Value) -> String {
    match outcome["addresses"].as_array() {
        Some(a) if !a.is_empty() => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => outcome["rcode"].as_str().unwrap_or("no answer").to_owned(),
    }
}

fn failure(c: &Value) -> String {
    match c["failure"].as_str() {
        Some(f) => format!("failed to connect ({f})"),
        None if c.is_null() => "did not connect".to_owned(),
        None => "connected".to_owned(),
    }
}

fn tls_text(t: &Value, leaf: &str) -> String {
    match t["error"].as_str() {
        Some(e) => format!("failed: {e}"),
        None if t.is_null() => "had no TLS".to_owned(),
        None => format!("got {leaf}"),
    }
}

fn status_text(h: &Value) -> String {
    let status = h["status"]
        .as_u64()
        .map(|s| s.to_string())
        .unwrap_or_else(|| "no response".to_owned());
    match h["error_type"].as_str() {
        Some(t) => format!("{status} {t}"),
        None => status,
    }
}
