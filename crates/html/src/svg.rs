//! The diagram of one view: layer headings, association edges, request paths, nodes.
//!
//! Every path carries its outcome three ways: colour, dash pattern (solid for an answer below
//! 400, dashed for a refusal, dotted for no HTTP answer) and the words at its end (`✓ 200`,
//! `✗ 403`); its `<title>` says the whole request on hover and to screen readers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::graph::{Graph, LAYERS};
use crate::layout::{Layout, MAX_LINES, NODE_W, Placed};
use crate::{Class, Request, esc, result_words};

/// Room on the right for the words at the end of the last column's paths.
pub(crate) const END_ROOM: f64 = 90.0;
/// Above this many requests, paths are bundled: one line per step and outcome.
pub(crate) const MAX_PATHS: usize = 200;
/// Above this many end words, they are left to the tables (they would pile up).
const MAX_END_WORDS: usize = 400;
/// Characters of a line in a node box; longer lines end in `…` (the whole line is in the title).
const LINE_CHARS: usize = 31;

/// The id of node `i` of view `v`.
pub(crate) fn node_id(v: usize, i: usize) -> String {
    format!("v{v}-n{i}")
}

/// The id of request `i`'s path of view `v`; its table row is `v{v}-r{i}`.
pub(crate) fn path_id(v: usize, i: usize) -> String {
    format!("v{v}-p{i}")
}

pub(crate) fn diagram(
    out: &mut String,
    v: usize,
    name: &str,
    g: &Graph,
    l: &Layout,
    requests: &[Request],
) -> Vec<Vec<String>> {
    let width = l.width + END_ROOM;
    let (ok, refused, failed) =
        requests
            .iter()
            .fold((0, 0, 0), |c, r| match Class::of(&r.outcome) {
                Class::Ok => (c.0 + 1, c.1, c.2),
                Class::Refused => (c.0, c.1 + 1, c.2),
                Class::Failed => (c.0, c.1, c.2 + 1),
            });
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="diagram" id="v{v}-svg" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" height="{h:.0}" style="max-width:{w:.0}px;min-width:{m:.0}px" role="img" aria-labelledby="v{v}-title v{v}-desc">"#,
        w = width,
        h = l.height,
        m = width.min(960.0)
    );
    let _ = write!(
        out,
        r#"<title id="v{v}-title">The network of {}: {} elements, {} associations, {} requests drawn</title><desc id="v{v}-desc">{} requests answered below 400, {} refused with an HTTP status, {} with no HTTP answer. The same facts are in the tables and in "The diagram in words" below.</desc>"#,
        esc(name),
        g.nodes.len(),
        g.edges.len(),
        requests.len(),
        ok,
        refused,
        failed
    );
    out.push_str("<defs>");
    for c in [Class::Ok, Class::Refused, Class::Failed] {
        let _ = write!(
            out,
            r#"<marker id="v{v}-m-{c}" class="m-{c}" viewBox="0 0 8 8" refX="7" refY="4" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z"/></marker>"#,
            c = c.css()
        );
    }
    out.push_str("</defs>");
    for (layer, x) in &l.columns {
        let _ = write!(
            out,
            r#"<text class="layer" x="{:.1}" y="28">{}</text>"#,
            x,
            esc(LAYERS[*layer])
        );
    }
    // Associations, under everything.
    out.push_str(r#"<g class="edges">"#);
    for e in &g.edges {
        let mut d = String::new();
        segment(&mut d, g, l, e.from, e.to, 0.0);
        let _ = write!(
            out,
            r#"<path class="assoc" d="{d}"><title>{} {} {}</title></path>"#,
            esc(&g.nodes[e.from].title),
            esc(&e.label),
            esc(&g.nodes[e.to].title)
        );
    }
    out.push_str("</g>");
    // Request paths: one per request, or, past MAX_PATHS, one per distinct step between two
    // elements and outcome (a bundle, titled with how many requests it carries).
    out.push_str(r#"<g class="routes">"#);
    let mut ends: BTreeMap<usize, Vec<(Class, String)>> = BTreeMap::new();
    let mut drawn: Vec<Vec<String>> = Vec::with_capacity(requests.len());
    let bundle = requests.len() > MAX_PATHS;
    let mut bundles: BTreeMap<(usize, usize, Class), (usize, usize)> = BTreeMap::new();
    for (i, (route, r)) in g.routes.iter().zip(requests).enumerate() {
        if let Some(&last) = route.nodes.last() {
            let words = end_words(route.class, &r.outcome);
            let at = ends.entry(last).or_default();
            if !at.contains(&(route.class, words.clone())) {
                at.push((route.class, words));
            }
        }
        if bundle {
            let c = route.class;
            let mut mine = Vec::new();
            let mut steps: Vec<(usize, usize)> =
                route.nodes.windows(2).map(|w| (w[0], w[1])).collect();
            // The stub out of the last node, as a step to itself.
            if let Some(&last) = route.nodes.last() {
                steps.push((last, last));
            }
            for (a, b) in steps {
                let next = bundles.len();
                let e = bundles.entry((a, b, c)).or_insert((next, 0));
                e.1 += 1;
                mine.push(format!("v{v}-s{}", e.0));
            }
            drawn.push(mine);
            continue;
        }
        let lane = ((i % 9) as f64 - 4.0) * 2.5;
        let mut d = String::new();
        for w in route.nodes.windows(2) {
            segment(&mut d, g, l, w[0], w[1], lane);
        }
        if let Some(&last) = route.nodes.last() {
            stub(&mut d, &l.boxes[last], lane);
        }
        let c = route.class.css();
        let _ = write!(
            out,
            r#"<path id="{}" class="route {c}" data-row="v{v}-r{i}" d="{d}" marker-end="url(#v{v}-m-{c})" tabindex="0"><title>{}</title></path>"#,
            path_id(v, i),
            esc(&route_title(r, route))
        );
        drawn.push(vec![path_id(v, i)]);
    }
    if bundle {
        let mut ordered: Vec<_> = bundles.into_iter().collect();
        ordered.sort_by_key(|(_, (k, _))| *k);
        for ((a, b, class), (k, count)) in ordered {
            // The outcomes side by side where they share a step.
            let lane = match class {
                Class::Ok => -4.0,
                Class::Refused => 0.0,
                Class::Failed => 4.0,
            };
            let mut d = String::new();
            let what = if a == b {
                stub(&mut d, &l.boxes[a], lane);
                format!("end at {}", g.nodes[a].title)
            } else {
                segment(&mut d, g, l, a, b, lane);
                format!("pass {} → {}", g.nodes[a].title, g.nodes[b].title)
            };
            let css = class.css();
            let width = 1.5 + (count as f64).log10() * 1.5;
            let marker = if a == b {
                format!(r#" marker-end="url(#v{v}-m-{css})""#)
            } else {
                String::new()
            };
            let _ = write!(
                out,
                r#"<path id="v{v}-s{k}" class="route {css}" style="stroke-width:{width:.1}" d="{d}"{marker} tabindex="0"><title>{count} requests {} {what}</title></path>"#,
                class_words(class)
            );
        }
    }
    out.push_str("</g>");
    // The nodes, over the lines.
    out.push_str(r#"<g class="nodes">"#);
    for (i, n) in g.nodes.iter().enumerate() {
        let b = &l.boxes[i];
        let mut title = format!("{}: {}", n.kind, n.title);
        for line in &n.lines {
            title.push('\n');
            title.push_str(line);
        }
        let _ = write!(
            out,
            r#"<g class="node layer{}" id="{}" tabindex="0"><title>{}</title><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="6"/><text class="t" x="{:.1}" y="{:.1}">{}</text>"#,
            n.layer,
            node_id(v, i),
            esc(&title),
            b.x,
            b.y,
            b.w,
            b.h,
            b.x + 8.0,
            b.y + 17.0,
            esc(&cut(&n.title, LINE_CHARS - 2))
        );
        for (k, line) in n.lines.iter().take(MAX_LINES).enumerate() {
            let _ = write!(
                out,
                r#"<text class="l" x="{:.1}" y="{:.1}">{}</text>"#,
                b.x + 8.0,
                b.y + 32.0 + 14.0 * k as f64,
                esc(&cut(line, LINE_CHARS))
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</g>");
    // Where requests ended, in words (when there are few enough to read).
    if ends.values().map(Vec::len).sum::<usize>() <= MAX_END_WORDS {
        out.push_str(r#"<g class="ends">"#);
        for (node, words) in &ends {
            let b = &l.boxes[*node];
            for (k, (class, w)) in words.iter().enumerate() {
                let _ = write!(
                    out,
                    r#"<text class="end {}" x="{:.1}" y="{:.1}">{}</text>"#,
                    class.css(),
                    b.right() + 30.0,
                    b.y + 12.0 + 13.0 * k as f64,
                    esc(w)
                );
            }
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    drawn
}

/// A short line out of the right side of a node: where a request ended.
fn stub(d: &mut String, b: &Placed, lane: f64) {
    let y = b.mid_y() + lane.clamp(-(b.h / 2.0 - 4.0), b.h / 2.0 - 4.0);
    let _ = write!(d, "M{:.1},{y:.1} h22", b.right());
}

fn segment(d: &mut String, g: &Graph, l: &Layout, a: usize, b: usize, lane: f64) {
    let (pa, pb) = (&l.boxes[a], &l.boxes[b]);
    let (la, lb) = (g.nodes[a].layer, g.nodes[b].layer);
    let dy = lane.clamp(-(pa.h / 2.0 - 4.0), pa.h / 2.0 - 4.0);
    let dyb = lane.clamp(-(pb.h / 2.0 - 4.0), pb.h / 2.0 - 4.0);
    if la == lb {
        let (ay, by) = (pa.mid_y() + dy, pb.mid_y() + dyb);
        let bulge = 36.0;
        let _ = write!(
            d,
            "M{:.1},{ay:.1} C{:.1},{ay:.1} {:.1},{by:.1} {:.1},{by:.1} ",
            pa.right(),
            pa.right() + bulge,
            pb.right() + bulge,
            pb.right()
        );
        return;
    }
    // Left to right: out of the right side, through each slot between, into the left side;
    // right to left the other way round.
    let forward = la < lb;
    let (mut x, mut y) = if forward {
        (pa.right(), pa.mid_y() + dy)
    } else {
        (pa.x, pa.mid_y() + dy)
    };
    let _ = write!(d, "M{x:.1},{y:.1} ");
    for (sx, sy) in l.via(a, b) {
        let (enter, leave) = if forward {
            (sx, sx + NODE_W)
        } else {
            (sx + NODE_W, sx)
        };
        cubic(d, (x, y), (enter, sy));
        let _ = write!(d, "L{leave:.1},{sy:.1} ");
        (x, y) = (leave, sy);
    }
    let end = if forward { pb.x } else { pb.right() };
    cubic(d, (x, y), (end, pb.mid_y() + dyb));
}

/// An S-shaped cubic from the current point `from` to `to`.
fn cubic(d: &mut String, from: (f64, f64), to: (f64, f64)) {
    let mx = (from.0 + to.0) / 2.0;
    let _ = write!(
        d,
        "C{mx:.1},{:.1} {mx:.1},{:.1} {:.1},{:.1} ",
        from.1, to.1, to.0, to.1
    );
}

fn class_words(c: Class) -> &'static str {
    match c {
        Class::Ok => "answered below 400",
        Class::Refused => "refused with an HTTP status",
        Class::Failed => "with no HTTP answer",
    }
}

/// `✓ 200`, `✗ 403`, `✗ NXDOMAIN`: short enough for the gap between columns.
fn end_words(class: Class, o: &parallax_model::Outcome) -> String {
    let mark = if class == Class::Ok { "✓" } else { "✗" };
    match &o.http {
        Some(h) => format!("{mark} {}", h.status),
        None => format!("{mark} {}", cut(&result_words(o), 12)),
    }
}

fn route_title(r: &Request, route: &crate::graph::Route) -> String {
    let mut s = format!(
        "{} → {} {}: {}\nDNS answered by {}",
        r.from,
        r.method,
        r.url,
        result_words(&r.outcome),
        route.answered_by
    );
    if let Some(stop) = route.stop {
        let _ = write!(s, "\nstops: {stop}");
    }
    if let Some(m) = &r.mark {
        let _ = write!(s, "\n{m}");
    }
    s
}

/// `s` cut to `n` characters, ending in `…` when cut.
pub(crate) fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
}
