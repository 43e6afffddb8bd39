//! `--format html`: the lab's, analyze's and changes' reports turned into the page's terms
//! (`parallax-html` draws them).

use parallax_analyze::findings::Finding;
use parallax_analyze::imported::{Imported, Loc};
use parallax_html::{ChangeRow, FindingRow, Kind, Report, Request, View};
use parallax_model::Outcome;
use parallax_model::scenario::Scenario;
use parallax_model::topology::{Network, Topology};

/// A lab run: one view per step run, on the topology as that step left it.
pub fn lab(scenario: &Scenario, report: &parallax_lab::LabReport) -> String {
    let mut views = Vec::new();
    for step in &report.steps {
        let Some(t) = scenario
            .step_index(&step.name)
            .and_then(|i| scenario.topology_at(i))
        else {
            continue;
        };
        let requests = step
            .requests
            .iter()
            .map(|r| {
                let d = &r.diagnosis;
                let mut explanation = vec![d.cause.clone()];
                explanation.extend(d.evidence.iter().map(|e| format!("seen: {e}")));
                explanation.extend(d.fixes.iter().map(|f| format!("fix: {f}")));
                explanation.extend(r.differences.iter().map(|x| format!("differs: {x}")));
                if let Some(e) = &r.error {
                    explanation.push(format!("no answer: {e}"));
                }
                Request {
                    from: r.from.clone(),
                    network: network_of(t, &r.from, &r.view),
                    target: r.host.clone(),
                    method: r.method.clone(),
                    url: r.url.clone(),
                    outcome: r.outcome.clone(),
                    as_expected: Some(r.differences.is_empty()),
                    explanation,
                    mark: None,
                }
            })
            .collect();
        views.push(View {
            name: step.name.clone(),
            description: step.description.clone(),
            changes: step.changes.clone(),
            topology: t.clone(),
            requests,
            matrix: false,
            aliases: Vec::new(),
        });
    }
    let passed = report.passed();
    parallax_html::render(&Report {
        kind: Kind::Lab,
        title: report.scenario.clone(),
        summary: vec![
            report.description.clone(),
            format!(
                "{} steps, {} requests; {}",
                report.steps.len(),
                report.requests().count(),
                if passed {
                    "every request as expected and as predicted"
                } else {
                    "some requests NOT as expected or predicted (marked ✗ in the tables)"
                }
            ),
        ],
        views,
        findings: Vec::new(),
        changes: Vec::new(),
        unknowns: Vec::new(),
    })
}

/// analyze: the topology the inputs build, every API and custom domain predicted from the
/// internet and every VPC, and the findings.
pub fn analyze(title: String, model: &Imported, found: &[Finding]) -> String {
    let (t, notes) = parallax_analyze::runnable::topology(model);
    let view = View {
        name: "predicted".to_owned(),
        description: "Every API's default URL and every custom domain called from the internet and from each VPC, as predicted from the inputs.".to_owned(),
        changes: Vec::new(),
        requests: matrix_requests(&t, &[]),
        topology: t,
        matrix: true,
        aliases: parallax_analyze::runnable::made_ids(model),
    };
    let mut unknowns: Vec<String> = model
        .unknowns
        .iter()
        .map(|(l, why)| format!("{}: {why}", place(l)))
        .collect();
    unknowns.extend(notes.into_iter().map(|n| format!("assumed: {n}")));
    parallax_html::render(&Report {
        kind: Kind::Analyze,
        title,
        summary: vec![format!(
            "{} VPCs, {} endpoints, {} APIs, {} custom domains read; {} findings",
            model.vpcs.len(),
            model.endpoints.len(),
            model.apis.len(),
            model.domains.len(),
            found.len()
        )],
        views: vec![view],
        findings: found.iter().map(|f| finding_row(f, "")).collect(),
        changes: Vec::new(),
        unknowns,
    })
}

/// changes: before and after drawn, the outcomes that flip marked on the after side.
pub fn changes(
    before: &Imported,
    after: &Imported,
    names: (&str, &str),
    report: &parallax_analyze::changes::Changes,
) -> String {
    let side = |m: &Imported, name: &str, flips: &[(String, String, String)]| {
        let (t, _) = parallax_analyze::runnable::topology(m);
        View {
            name: name.to_owned(),
            description: String::new(),
            changes: Vec::new(),
            requests: matrix_requests(&t, flips),
            topology: t,
            matrix: true,
            aliases: parallax_analyze::runnable::made_ids(m),
        }
    };
    let flips: Vec<(String, String, String)> = report
        .flips
        .iter()
        .map(|f| {
            (
                f.from.clone(),
                f.url.clone(),
                format!("changed: {} → {}", f.before, f.after),
            )
        })
        .collect();
    let before_view = side(before, &format!("before: {}", names.0), &flips);
    let after_view = side(after, &format!("after: {}", names.1), &flips);
    let mut findings: Vec<FindingRow> = report
        .introduced
        .iter()
        .map(|f| finding_row(f, "introduced"))
        .collect();
    findings.extend(report.resolved.iter().map(|f| finding_row(f, "resolved")));
    parallax_html::render(&Report {
        kind: Kind::Changes,
        title: format!("{} → {}", names.0, names.1),
        summary: vec![format!(
            "{} changes that matter for reachability, {} outcomes that flip, {} findings introduced, {} resolved",
            report.changes.len(),
            report.flips.len(),
            report.introduced.len(),
            report.resolved.len()
        )],
        views: vec![before_view, after_view],
        findings,
        changes: report
            .changes
            .iter()
            .map(|c| ChangeRow {
                what: c.change.to_string(),
                by: c.by.iter().flatten().map(|e| e.to_string()).collect(),
            })
            .collect(),
        unknowns: Vec::new(),
    })
}

/// The matrix's cells as requests; `marks` are (from, url, words) to mark requests by.
fn matrix_requests(t: &Topology, marks: &[(String, String, String)]) -> Vec<Request> {
    let mut out = Vec::new();
    for row in parallax_analyze::matrix::matrix(t) {
        for (from, outcome) in row.cells {
            let mark = marks
                .iter()
                .find(|(f, u, _)| *f == from && *u == row.url)
                .map(|(_, _, w)| w.clone());
            out.push(request(t, &from, &row.target, &row.url, outcome, mark));
        }
    }
    out
}

fn request(
    t: &Topology,
    from: &str,
    target: &str,
    url: &str,
    outcome: Outcome,
    mark: Option<String>,
) -> Request {
    Request {
        from: from.to_owned(),
        network: network_of(t, from, from),
        target: target.to_owned(),
        method: "GET".to_owned(),
        url: url.to_owned(),
        outcome,
        as_expected: None,
        explanation: Vec::new(),
        mark,
    }
}

/// The network a request was made from: its vantage point's, else the one its view names.
fn network_of(t: &Topology, from: &str, view: &str) -> Network {
    if let Some(v) = t.vantage(from) {
        return v.network.value.clone();
    }
    Network::try_from(view.to_owned()).unwrap_or(Network::Internet)
}

fn finding_row(f: &Finding, status: &str) -> FindingRow {
    FindingRow {
        severity: f.severity.as_str().to_owned(),
        rule: format!("{} {}", f.rule, f.rule.rule().name),
        message: f.message.clone(),
        location: place(&f.location),
        fix: f.fix.to_owned(),
        status: status.to_owned(),
    }
}

fn place(l: &Loc) -> String {
    if l.file.is_empty() {
        String::new()
    } else if l.line == 0 {
        format!("{} ({})", l.file, l.resource)
    } else {
        format!("{}:{}", l.file, l.line)
    }
}
