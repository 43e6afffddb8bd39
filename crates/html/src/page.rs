//! The page: header and legend, the view selector, each view's diagram with its side panel and
//! tables, findings, changes, and the diagram in words. Styles and script are inline.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::graph::Graph;
use crate::layout::layout;
use crate::svg::{MAX_PATHS, cut, diagram, node_id};

/// Above this many cells, the matrix is built by the script when it is opened.
const LAZY_CELLS: usize = 2000;
use crate::{Class, Kind, Report, Request, esc, result_words};

const CSS: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

pub(crate) fn page(report: &Report) -> String {
    let graphs: Vec<Graph> = report
        .views
        .iter()
        .map(|v| Graph::build(&v.topology, &v.requests, &v.aliases))
        .collect();
    let kind = match report.kind {
        Kind::Lab => "lab",
        Kind::Analyze => "analyze",
        Kind::Changes => "changes",
    };
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="generator" content="parallax {}"><title>parallax {kind}: {}</title><style>{CSS}</style></head><body data-report="{kind}" data-errors="0">"#,
        env!("CARGO_PKG_VERSION"),
        esc(&report.title)
    );
    // Errors are counted from the first moment, so a test can read them off the page.
    out.push_str(
        r#"<script>window.addEventListener("error",function(){document.body.dataset.errors=String(1+Number(document.body.dataset.errors));});</script>"#,
    );
    let _ = write!(
        out,
        r#"<header><div class="top"><h1>parallax {kind}: {}</h1><div class="controls"><button type="button" id="theme" aria-label="Colour theme">theme: auto</button> <button type="button" id="print">print</button></div></div>"#,
        esc(&report.title)
    );
    for line in &report.summary {
        let _ = write!(out, "<p>{}</p>", esc(line));
    }
    out.push_str(concat!(
        r#"<p class="legend"><span class="key ok"><svg width="34" height="10" aria-hidden="true"><line x1="0" y1="5" x2="34" y2="5"/></svg> ✓ answered below 400 (solid)</span> "#,
        r#"<span class="key refused"><svg width="34" height="10" aria-hidden="true"><line x1="0" y1="5" x2="34" y2="5"/></svg> ✗ refused with an HTTP status (dashed)</span> "#,
        r#"<span class="key failed"><svg width="34" height="10" aria-hidden="true"><line x1="0" y1="5" x2="34" y2="5"/></svg> ✗ no HTTP answer: DNS, no door, TLS (dotted)</span> "#,
        r#"<span class="key assoc"><svg width="34" height="10" aria-hidden="true"><line x1="0" y1="5" x2="34" y2="5"/></svg> association (grey, thin)</span></p>"#,
        "<p class=\"hint\">Select a path, a box or a table row to see it in the side panel; hover for its words.</p></header>"
    ));
    if report.views.len() > 1 {
        let label = if report.kind == Kind::Changes {
            "Before or after"
        } else {
            "Steps"
        };
        let _ = write!(out, r#"<nav class="steps" aria-label="{label}">"#);
        for (k, v) in report.views.iter().enumerate() {
            let _ = write!(
                out,
                r#"<button type="button" data-view="v{k}" aria-pressed="false">{}</button>"#,
                esc(&view_heading(report.kind, k, &v.name))
            );
        }
        out.push_str("</nav>");
    }
    out.push_str("<main>");
    for (k, (v, g)) in report.views.iter().zip(&graphs).enumerate() {
        let l = layout(g);
        let _ = write!(
            out,
            r#"<section class="view" id="v{k}" aria-labelledby="v{k}-h"><h2 id="v{k}-h">{}</h2>"#,
            esc(&view_heading(report.kind, k, &v.name))
        );
        if !v.description.is_empty() {
            let _ = write!(out, "<p>{}</p>", esc(&v.description));
        }
        if !v.changes.is_empty() {
            out.push_str(r#"<ul class="changes">"#);
            for c in &v.changes {
                let _ = write!(out, "<li>{}</li>", esc(c));
            }
            out.push_str("</ul>");
        }
        out.push_str(r#"<div class="stage"><div class="scroll">"#);
        let drawn = diagram(&mut out, k, &v.name, g, &l, &v.requests);
        let _ = write!(
            out,
            r#"</div><aside class="panel" id="v{k}-panel" aria-live="polite"><h3>Selected</h3><div class="body">Nothing yet: select a path, a box or a row.</div></aside></div>"#
        );
        // A large matrix is read as the grid; its rows would be the same facts, many times over.
        if !(v.matrix && v.requests.len() > MAX_PATHS) {
            requests_table(&mut out, k, g, &v.requests, &drawn);
        }
        if v.matrix {
            matrix(&mut out, k, &v.requests, &drawn);
        }
        words(&mut out, g);
        out.push_str("</section>");
    }
    // Findings and changes name elements of the last view (analyze's only one, changes' after).
    let last = graphs.len().saturating_sub(1);
    let target = graphs.last();
    if !report.changes.is_empty() {
        out.push_str(r#"<section id="changes"><h2>What changed</h2><table><thead><tr><th scope="col">Change</th><th scope="col">Concerns</th><th scope="col">Made by (CloudTrail)</th></tr></thead><tbody>"#);
        for c in &report.changes {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.what),
                links(target, last, &c.what),
                if c.by.is_empty() {
                    "not read".to_owned()
                } else {
                    c.by.iter().map(|b| esc(b)).collect::<Vec<_>>().join("<br>")
                }
            );
        }
        out.push_str("</tbody></table></section>");
    }
    if report.kind != Kind::Lab || !report.findings.is_empty() {
        let _ = write!(
            out,
            r#"<section id="findings"><h2>Findings ({})</h2>"#,
            report.findings.len()
        );
        if report.findings.is_empty() {
            out.push_str("<p>None.</p>");
        } else {
            let status = report.findings.iter().any(|f| !f.status.is_empty());
            out.push_str(
                r#"<table><thead><tr><th scope="col">Severity</th><th scope="col">Rule</th>"#,
            );
            if status {
                out.push_str(r#"<th scope="col">Status</th>"#);
            }
            out.push_str(r#"<th scope="col">What</th><th scope="col">Concerns</th><th scope="col">Where</th><th scope="col">Fix</th></tr></thead><tbody>"#);
            for f in &report.findings {
                let _ = write!(
                    out,
                    r#"<tr class="sev-{}"><td>{}</td><td>{}</td>"#,
                    esc(&f.severity),
                    esc(&f.severity),
                    esc(&f.rule)
                );
                if status {
                    let _ = write!(out, "<td>{}</td>", esc(&f.status));
                }
                let _ = write!(
                    out,
                    "<td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                    esc(&f.message),
                    links(target, last, &f.message),
                    esc(&f.location),
                    esc(&f.fix)
                );
            }
            out.push_str("</tbody></table>");
        }
        out.push_str("</section>");
    }
    if !report.unknowns.is_empty() {
        out.push_str(r#"<section id="unknowns"><h2>Not understood or assumed</h2><ul>"#);
        for u in &report.unknowns {
            let _ = write!(out, "<li>{}</li>", esc(u));
        }
        out.push_str("</ul></section>");
    }
    let _ = write!(
        out,
        r#"</main><footer>parallax {}: this page fetches nothing; it works offline and prints on A4.</footer><script>{SCRIPT}</script></body></html>"#,
        env!("CARGO_PKG_VERSION")
    );
    out
}

fn view_heading(kind: Kind, k: usize, name: &str) -> String {
    match kind {
        Kind::Lab => format!("Step {}: {name}", k + 1),
        Kind::Analyze | Kind::Changes => name.to_owned(),
    }
}

fn requests_table(
    out: &mut String,
    v: usize,
    g: &Graph,
    requests: &[Request],
    drawn: &[Vec<String>],
) {
    if requests.is_empty() {
        out.push_str("<p>No requests.</p>");
        return;
    }
    let expected = requests.iter().any(|r| r.as_expected.is_some());
    let _ = write!(
        out,
        r#"<h3>Requests ({})</h3><table class="requests"><thead><tr><th scope="col">#</th><th scope="col">From</th><th scope="col">Request</th><th scope="col">DNS</th><th scope="col">Door</th><th scope="col">Result</th>"#,
        requests.len()
    );
    if expected {
        out.push_str(r#"<th scope="col">Expected?</th>"#);
    }
    out.push_str("</tr></thead><tbody>");
    for (i, (r, route)) in requests.iter().zip(&g.routes).enumerate() {
        let class = Class::of(&r.outcome);
        let o = &r.outcome;
        let addrs: Vec<String> = o
            .dns
            .addresses
            .iter()
            .take(4)
            .map(|a| a.to_string())
            .collect();
        let dns = if addrs.is_empty() {
            o.dns.verdict().to_string()
        } else {
            format!("{} {}", o.dns.verdict(), addrs.join(" "))
        };
        let door = o
            .front_door
            .as_ref()
            .map(|d| d.to_string())
            .unwrap_or_else(|| "none".to_owned());
        let mark = if class == Class::Ok { "✓" } else { "✗" };
        let _ = write!(
            out,
            r#"<tr id="v{v}-r{i}" class="{}" data-segs="{}" tabindex="0"><td>{}</td><td>{}</td><td><code>{} {}</code>{}</td><td>{}<br><small>{}</small></td><td>{}</td><td>{mark} {}</td>"#,
            class.css(),
            drawn.get(i).map(|d| d.join(" ")).unwrap_or_default(),
            i + 1,
            esc(&r.from),
            esc(&r.method),
            esc(&r.url),
            r.mark
                .as_ref()
                .map(|m| format!("<br><strong>{}</strong>", esc(m)))
                .unwrap_or_default(),
            esc(&dns),
            esc(&route.answered_by),
            esc(&door),
            esc(&result_words(o))
        );
        if expected {
            let _ = write!(
                out,
                "<td>{}</td>",
                match r.as_expected {
                    Some(true) => "✓ as expected",
                    Some(false) => "✗ NOT as expected",
                    None => "",
                }
            );
        }
        // What the side panel shows for this request.
        let _ = write!(
            out,
            r#"<td hidden class="detail"><p><strong>{}</strong> → <code>{} {}</code></p><p>{} {}</p><p>DNS: {} (answered by {})</p><p>door: {}{}</p>"#,
            esc(&r.from),
            esc(&r.method),
            esc(&r.url),
            mark,
            esc(&result_words(o)),
            esc(&dns),
            esc(&route.answered_by),
            esc(&door),
            route
                .stop
                .map(|s| format!("; stops: {}", esc(s)))
                .unwrap_or_default()
        );
        if !r.explanation.is_empty() {
            out.push_str("<ul>");
            for line in &r.explanation {
                let _ = write!(out, "<li>{}</li>", esc(line));
            }
            out.push_str("</ul>");
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table>");
}

/// Targets down, networks across: each cell the result, linked to its path.
/// Targets down, networks across, each cell the result. What each cell's request drew is in
/// one JSON block beside the table (`grid`: the request of each cell; `drawn`: the numbers of
/// the lines each request drew, `kind` saying whether they are paths or bundles), not in an
/// attribute per cell: a 100-VPC organisation has 10,000 cells.
fn matrix(out: &mut String, v: usize, requests: &[Request], drawn: &[Vec<String>]) {
    let mut froms: Vec<&str> = Vec::new();
    let mut targets: Vec<&str> = Vec::new();
    let mut seen: (HashSet<&str>, HashSet<&str>) = (HashSet::new(), HashSet::new());
    let mut at: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, r) in requests.iter().enumerate() {
        if seen.0.insert(r.from.as_str()) {
            froms.push(&r.from);
        }
        if seen.1.insert(r.target.as_str()) {
            targets.push(&r.target);
        }
        at.entry((r.from.as_str(), r.target.as_str())).or_insert(i);
    }
    // A large grid is built by the script when it is opened: parsing 10,000 cells at load
    // doubled the time a 100-VPC page took to open.
    let lazy = froms.len() * targets.len() > LAZY_CELLS;
    let mut results: Vec<(Class, String)> = Vec::new();
    let mut res: Vec<usize> = Vec::with_capacity(requests.len());
    for r in requests {
        let w = (Class::of(&r.outcome), cut(&result_words(&r.outcome), 24));
        let k = results.iter().position(|x| *x == w).unwrap_or_else(|| {
            results.push(w);
            results.len() - 1
        });
        res.push(k);
    }
    let mut grid: Vec<Vec<i64>> = Vec::with_capacity(targets.len());
    for t in &targets {
        grid.push(
            froms
                .iter()
                .map(|f| at.get(&(*f, *t)).map_or(-1, |&i| i as i64))
                .collect(),
        );
    }
    if lazy {
        let _ = write!(
            out,
            r#"<details class="lazy" id="v{v}-matrix" data-grid="v{v}-grid"><summary>Matrix: {} targets × {} networks ({} cells, built when opened; <code>parallax analyze --matrix</code> prints it as text)</summary><div class="scroll"></div></details>"#,
            targets.len(),
            froms.len(),
            froms.len() * targets.len()
        );
    } else {
        let _ = write!(
            out,
            r#"<h3>Matrix</h3><div class="scroll"><table class="matrix" data-grid="v{v}-grid"><thead><tr><th scope="col">Target</th>"#
        );
        for f in &froms {
            let _ = write!(out, r#"<th scope="col">{}</th>"#, esc(f));
        }
        out.push_str("</tr></thead><tbody>");
        for (t, row) in targets.iter().zip(&grid) {
            let _ = write!(out, r#"<tr><th scope="row">{}</th>"#, esc(t));
            for &i in row {
                match usize::try_from(i).ok().and_then(|i| res.get(i)) {
                    Some(&k) => {
                        let (class, words) = &results[k];
                        let mark = if *class == Class::Ok { "✓" } else { "✗" };
                        let _ = write!(
                            out,
                            r#"<td class="{}">{mark} {}</td>"#,
                            class.css(),
                            esc(words)
                        );
                    }
                    None => out.push_str("<td></td>"),
                }
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
    }
    // The drawn ids are `v{v}-p{n}` (a path) or `v{v}-s{n}` (a bundle): the kind once, the numbers.
    let prefix = format!("v{v}-");
    let mut kind = "p";
    let numbers: Vec<Vec<u64>> = drawn
        .iter()
        .map(|ids| {
            ids.iter()
                .filter_map(|id| {
                    let rest = id.strip_prefix(&prefix)?;
                    if rest.starts_with('s') {
                        kind = "s";
                    }
                    rest.get(1..)?.parse().ok()
                })
                .collect()
        })
        .collect();
    let drawn_json = json_rows(&numbers);
    let strings = |xs: &[&str]| {
        let v: Vec<String> = xs.iter().map(|x| json_string(x)).collect();
        format!("[{}]", v.join(","))
    };
    let results_json = {
        let v: Vec<String> = results
            .iter()
            .map(|(c, w)| {
                let mark = if *c == Class::Ok { "✓" } else { "✗" };
                format!("[\"{}\",{}]", c.css(), json_string(&format!("{mark} {w}")))
            })
            .collect();
        format!("[{}]", v.join(","))
    };
    let res_json: Vec<String> = res.iter().map(usize::to_string).collect();
    let _ = write!(
        out,
        r#"<script type="application/json" id="v{v}-grid">{{"view":"v{v}","kind":"{kind}","grid":{},"drawn":{drawn_json},"froms":{},"targets":{},"results":{results_json},"res":[{}]}}</script>"#,
        json_rows(&grid),
        strings(&froms),
        strings(&targets),
        res_json.join(",")
    );
}

/// Rows of numbers as a JSON array of arrays.
fn json_rows<T: ToString>(rows: &[Vec<T>]) -> String {
    let cells: Vec<String> = rows
        .iter()
        .map(|r| {
            let v: Vec<String> = r.iter().map(T::to_string).collect();
            format!("[{}]", v.join(","))
        })
        .collect();
    format!("[{}]", cells.join(","))
}

/// `s` as a JSON string that is safe inside a `<script>` element (no `<`, `>` or `&`).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The diagram in words: every element and association, for screen readers and print.
fn words(out: &mut String, g: &Graph) {
    out.push_str(r#"<details class="words"><summary>The diagram in words</summary><ul>"#);
    for n in &g.nodes {
        let _ = write!(
            out,
            "<li>{} <strong>{}</strong>{}</li>",
            esc(n.kind),
            esc(&n.title),
            if n.lines.is_empty() {
                String::new()
            } else {
                format!(": {}", esc(&n.lines.join("; ")))
            }
        );
    }
    out.push_str("</ul><ul>");
    for e in &g.edges {
        let _ = write!(
            out,
            "<li>{} {} {}</li>",
            esc(&g.nodes[e.from].title),
            esc(&e.label),
            esc(&g.nodes[e.to].title)
        );
    }
    out.push_str("</ul></details>");
}

/// Links to the elements whose ids or names `text` says, as whole words.
fn links(g: Option<&Graph>, v: usize, text: &str) -> String {
    let Some(g) = g else {
        return String::new();
    };
    let mut out = Vec::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if n.names.iter().any(|name| says(text, name)) {
            out.push(format!(
                r##"<a href="#{}" data-node="{}">{}</a>"##,
                node_id(v, i),
                node_id(v, i),
                esc(&n.title)
            ));
        }
    }
    out.join(" ")
}

/// Whether `text` says `name` as a whole word (not inside a longer id or name).
fn says(text: &str, name: &str) -> bool {
    if name.len() < 3 {
        return false;
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut from = 0;
    while let Some(k) = text[from..].find(name) {
        let start = from + k;
        let end = start + name.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        // A trailing dot ends a sentence, not a name.
        let after_ok = match after {
            None => true,
            Some('.') => text[end + 1..].chars().next().is_none_or(|c| !word(c)),
            Some(c) => !word(c),
        };
        if before.is_none_or(|c| !word(c) && c != '.') && after_ok {
            return true;
        }
        from = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{json_string, says};

    /// A name in the matrix's JSON cannot end the `<script>` element it sits in.
    #[test]
    fn json_in_a_script_element_stays_data() {
        assert_eq!(
            json_string("</script><b>\"a\\\u{1}"),
            r#""\u003c/script\u003e\u003cb\u003e\"a\\\u0001""#
        );
    }

    #[test]
    fn a_name_is_said_as_a_whole_word() {
        assert!(says("endpoint vpce-0abc in vpc-1 captures", "vpc-1"));
        assert!(says("captures vpc-1.", "vpc-1"));
        assert!(!says("captures vpc-12", "vpc-1"));
        assert!(!says("the zone a.vpc-1.example", "vpc-1"));
        assert!(!says("api orders-v2", "orders"));
        assert!(says("api `orders` is", "orders"));
    }
}
