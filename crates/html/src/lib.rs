//! One self-contained HTML report: the network drawn as an SVG diagram, each request's path drawn
//! on it, and the findings, changes and requests as tables linked to what they concern.
//!
//! `lab`, `analyze` and `changes` each fill a [`Report`] (the CLI does, from their own reports)
//! and [`render`] writes the page: no network fetch (styles and script are inline), readable
//! without script (every view shown, every path titled), light and dark, printable on A4.
//!
//! - `graph.rs`: the elements of one topology as nodes in six layers (callers, networks, DNS,
//!   front doors, custom domains, APIs), their associations as edges, and each request as the
//!   nodes it passes (the DNS source from the resolver view of `parallax-rules`, the door from
//!   the outcome, the API from the URL).
//! - `layout.rs`: a layered layout: nodes ordered in their layer by the barycentre of their
//!   neighbours (down and up sweeps), then placed.
//! - `svg.rs`: the diagram: nodes, association edges, request paths (colour, dash pattern and
//!   an end label, never colour alone), titles for hover and screen readers.
//! - `page.rs`: the page around it: the step or before/after selector, the side panel, tables,
//!   the diagram in words, CSS and the script.

mod graph;
mod layout;
mod page;
mod svg;

use parallax_model::Outcome;
use parallax_model::topology::{Network, Topology};

/// What the report is of: it decides the words around the views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `parallax lab`: a scenario's steps, each with the requests made.
    Lab,
    /// `parallax analyze`: the predicted outcome from every network.
    Analyze,
    /// `parallax changes`: before and after.
    Changes,
}

/// A whole report.
#[derive(Clone, Debug)]
pub struct Report {
    /// What it is of.
    pub kind: Kind,
    /// Its title (the scenario's name, the files read).
    pub title: String,
    /// Lines said under the title.
    pub summary: Vec<String>,
    /// The views: a lab's steps, analyze's one topology, changes' before and after.
    pub views: Vec<View>,
    /// Findings, most severe first.
    pub findings: Vec<FindingRow>,
    /// For `changes`: what changed.
    pub changes: Vec<ChangeRow>,
    /// What could not be read or had to be assumed.
    pub unknowns: Vec<String>,
}

/// One topology and the requests drawn on it.
#[derive(Clone, Debug)]
pub struct View {
    /// Its name (a step's name, `before`, `after`).
    pub name: String,
    /// What it shows.
    pub description: String,
    /// The changes that made it, in words.
    pub changes: Vec<String>,
    /// The network.
    pub topology: Topology,
    /// The requests, in order.
    pub requests: Vec<Request>,
    /// Also show the requests as a grid: targets by network (analyze's matrix).
    pub matrix: bool,
    /// Other names of elements, (name, element id): a template's logical id for the id the
    /// runnable topology gave its resource, so findings that say the one link to the other.
    pub aliases: Vec<(String, String)>,
}

/// One request and what came of it.
#[derive(Clone, Debug)]
pub struct Request {
    /// Who made it: a vantage point's name, `internet` or a VPC id.
    pub from: String,
    /// The network it was made from (whose resolver it asked).
    pub network: Network,
    /// What it called, for the matrix (an API's or custom domain's name).
    pub target: String,
    /// The method.
    pub method: String,
    /// The URL.
    pub url: String,
    /// What happened (observed in a lab, predicted otherwise).
    pub outcome: Outcome,
    /// Whether it is what was expected: `None` when nothing was expected.
    pub as_expected: Option<bool>,
    /// The explanation: a cause, then evidence and fixes.
    pub explanation: Vec<String>,
    /// A word to mark the request by (`changed: 200 → 403`).
    pub mark: Option<String>,
}

/// One finding.
#[derive(Clone, Debug)]
pub struct FindingRow {
    /// `error`, `warning`, `note`.
    pub severity: String,
    /// The rule id (`PX001`).
    pub rule: String,
    /// What is wrong, naming the resources.
    pub message: String,
    /// Where it is said (file:line).
    pub location: String,
    /// How to fix it.
    pub fix: String,
    /// `introduced`, `resolved` (changes), or empty.
    pub status: String,
}

/// One change (for `changes`).
#[derive(Clone, Debug)]
pub struct ChangeRow {
    /// What changed, in words.
    pub what: String,
    /// Who made it and when, from CloudTrail, when known.
    pub by: Vec<String>,
}

/// The whole page.
pub fn render(report: &Report) -> String {
    page::page(report)
}

/// How a request ended, for colour, dash pattern and words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Class {
    /// An HTTP status below 400.
    Ok,
    /// An HTTP status of 400 or more.
    Refused,
    /// No HTTP answer: DNS, no door, TLS.
    Failed,
}

impl Class {
    pub(crate) fn of(o: &Outcome) -> Class {
        match &o.http {
            Some(h) if h.status < 400 => Class::Ok,
            Some(_) => Class::Refused,
            None => Class::Failed,
        }
    }

    pub(crate) fn css(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::Refused => "refused",
            Class::Failed => "failed",
        }
    }
}

/// What the request came to, in a few words: `200`, `403 ForbiddenException`, `NXDOMAIN`.
pub(crate) fn result_words(o: &Outcome) -> String {
    use parallax_model::{DnsVerdict, FrontDoor, TlsResult};
    if let Some(h) = &o.http {
        return match &h.error_type {
            Some(e) => format!("{} {e}", h.status),
            None => h.status.to_string(),
        };
    }
    if o.tls == Some(TlsResult::Refused) {
        return "TLS refused".to_owned();
    }
    match o.dns.verdict() {
        DnsVerdict::Nxdomain => "NXDOMAIN".to_owned(),
        DnsVerdict::Nodata => "no address (NODATA)".to_owned(),
        DnsVerdict::Refused => "DNS REFUSED".to_owned(),
        DnsVerdict::Servfail => "SERVFAIL".to_owned(),
        DnsVerdict::Error => "DNS error".to_owned(),
        _ => match &o.front_door {
            Some(FrontDoor::None) | None => "no front door there".to_owned(),
            Some(_) => "no HTTP answer".to_owned(),
        },
    }
}

/// Text for HTML (element content and attribute values).
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_is_text() {
        assert_eq!(
            esc("<script>\"a\"&'b'\u{7}"),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;\u{fffd}"
        );
    }
}
