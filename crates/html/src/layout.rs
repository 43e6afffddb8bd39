//! A layered layout: each layer a column, nodes ordered in it by the barycentre of their
//! neighbours (associations and request paths), a few sweeps down and up, then placed.

use std::collections::HashMap;

use crate::graph::{Graph, LAYERS};

/// A node's box.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Placed {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Placed {
    pub(crate) fn mid_y(&self) -> f64 {
        self.y + self.h / 2.0
    }
    pub(crate) fn right(&self) -> f64 {
        self.x + self.w
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Layout {
    pub boxes: Vec<Placed>,
    pub width: f64,
    pub height: f64,
    /// Each layer shown: its index in [`LAYERS`] and the x of its column.
    pub columns: Vec<(usize, f64)>,
    /// A line between two nodes more than one layer apart passes the layers between through
    /// these slots (kept free of nodes), left to right: (x of the slot's left, y).
    pub via: HashMap<(usize, usize), Vec<(f64, f64)>>,
}

impl Layout {
    /// The slots a line from `a` to `b` passes, in the order it passes them.
    pub(crate) fn via(&self, a: usize, b: usize) -> Vec<(f64, f64)> {
        if let Some(v) = self.via.get(&(a, b)) {
            return v.clone();
        }
        self.via
            .get(&(b, a))
            .map(|v| v.iter().rev().copied().collect())
            .unwrap_or_default()
    }
}

pub(crate) const NODE_W: f64 = 200.0;
const GAP_X: f64 = 84.0;
const GAP_Y: f64 = 14.0;
const MARGIN: f64 = 16.0;
const HEAD: f64 = 34.0;
/// Lines shown under a node's title; the rest are in its title (hover) and the words.
pub(crate) const MAX_LINES: usize = 5;
const SWEEPS: usize = 4;
/// The height of a slot a line passes a layer through.
const SLOT_H: f64 = 8.0;

pub(crate) fn node_height(lines: usize) -> f64 {
    26.0 + 14.0 * lines.min(MAX_LINES) as f64
}

pub(crate) fn layout(g: &Graph) -> Layout {
    let n = g.nodes.len();
    let mut layer_of: Vec<usize> = g.nodes.iter().map(|x| x.layer).collect();
    let occupied: Vec<bool> = (0..LAYERS.len())
        .map(|l| g.nodes.iter().any(|x| x.layer == l))
        .collect();
    // Every pair of nodes joined by an association or a request's step.
    let mut pairs: Vec<(usize, usize)> = g.edges.iter().map(|e| (e.from, e.to)).collect();
    for r in &g.routes {
        pairs.extend(r.nodes.windows(2).map(|w| (w[0], w[1])));
    }
    pairs.sort_unstable();
    pairs.dedup();
    // A pair more than one layer apart gets a slot (a dummy node) in each occupied layer
    // between, so that its line is ordered with the nodes and never drawn through one.
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut chains: Vec<((usize, usize), Vec<usize>)> = Vec::new();
    for &(a, b) in &pairs {
        let (la, lb) = (layer_of[a], layer_of[b]);
        let (lo, hi) = (la.min(lb), la.max(lb));
        let mut chain = vec![a];
        let mut between: Vec<usize> = (lo + 1..hi).filter(|&l| occupied[l]).collect();
        if la > lb {
            between.reverse();
        }
        let mut slots = Vec::new();
        for l in between {
            let d = layer_of.len();
            layer_of.push(l);
            adj.push(Vec::new());
            chain.push(d);
            slots.push(d);
        }
        chain.push(b);
        for w in chain.windows(2) {
            adj[w[0]].push(w[1]);
            adj[w[1]].push(w[0]);
        }
        if !slots.is_empty() {
            chains.push(((a, b), slots));
        }
    }
    for a in &mut adj {
        a.sort_unstable();
        a.dedup();
    }
    let total = layer_of.len();
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); LAYERS.len()];
    for (i, &l) in layer_of.iter().enumerate() {
        layers[l].push(i);
    }
    // Where each node stands in its layer, from 0 to 1.
    let mut rank = vec![0.0f64; total];
    let set_rank = |layer: &[usize], rank: &mut [f64]| {
        let len = layer.len().max(1) as f64;
        for (k, &i) in layer.iter().enumerate() {
            rank[i] = (k as f64 + 0.5) / len;
        }
    };
    for l in &layers {
        set_rank(l, &mut rank);
    }
    let order: Vec<usize> = (0..LAYERS.len()).collect();
    for sweep in 0..SWEEPS {
        let pass: Vec<usize> = if sweep % 2 == 0 {
            order.clone()
        } else {
            order.iter().rev().copied().collect()
        };
        for l in pass {
            let mut keyed: Vec<(f64, usize)> = layers[l]
                .iter()
                .map(|&i| {
                    let (sum, count) = adj[i]
                        .iter()
                        .filter(|&&j| layer_of[j] != l)
                        .fold((0.0, 0usize), |(s, c), &j| (s + rank[j], c + 1));
                    let key = if count == 0 {
                        rank[i]
                    } else {
                        sum / count as f64
                    };
                    (key, i)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            layers[l] = keyed.into_iter().map(|(_, i)| i).collect();
            set_rank(&layers[l], &mut rank);
        }
    }
    let height_of = |i: usize| {
        if i < n {
            node_height(g.nodes[i].lines.len())
        } else {
            SLOT_H
        }
    };
    // Columns for the layers that have nodes.
    let mut boxes = vec![Placed::default(); total];
    let heights: Vec<f64> = layers
        .iter()
        .map(|l| l.iter().map(|&i| height_of(i) + GAP_Y).sum::<f64>())
        .collect();
    let tallest = heights.iter().copied().fold(0.0, f64::max);
    let mut out = Layout::default();
    let mut x = MARGIN;
    for (l, nodes) in layers.iter().enumerate() {
        if !occupied[l] {
            continue;
        }
        out.columns.push((l, x));
        // Shorter columns stand in the middle of the tallest.
        let mut y = MARGIN + HEAD + (tallest - heights[l]) / 2.0;
        for &i in nodes {
            let h = height_of(i);
            boxes[i] = Placed { x, y, w: NODE_W, h };
            y += h + GAP_Y;
        }
        x += NODE_W + GAP_X;
    }
    for ((a, b), slots) in chains {
        let points = slots
            .iter()
            .map(|&d| (boxes[d].x, boxes[d].mid_y()))
            .collect();
        out.via.insert((a, b), points);
    }
    boxes.truncate(n);
    out.boxes = boxes;
    out.width = (x - GAP_X + MARGIN).max(NODE_W + 2.0 * MARGIN);
    out.height = MARGIN * 2.0 + HEAD + tallest;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Edge, Node};

    fn node(key: &str, layer: usize) -> Node {
        Node {
            key: key.into(),
            layer,
            kind: "test",
            title: key.into(),
            lines: vec![],
            names: vec![],
        }
    }

    /// Two crossing associations are uncrossed: the node linked to the lower neighbour goes
    /// below.
    #[test]
    fn barycentres_uncross_two_edges() {
        let mut g = Graph::default();
        g.nodes = vec![node("a", 1), node("b", 1), node("x", 2), node("y", 2)];
        g.edges = vec![
            Edge {
                from: 2,
                to: 1,
                label: String::new(),
            },
            Edge {
                from: 3,
                to: 0,
                label: String::new(),
            },
        ];
        let l = layout(&g);
        // y (linked to a) stands above x (linked to b) exactly when a stands above b.
        let a_above_b = l.boxes[0].y < l.boxes[1].y;
        let y_above_x = l.boxes[3].y < l.boxes[2].y;
        assert_eq!(a_above_b, y_above_x, "{:?}", l.boxes);
        // Two columns, boxes inside the drawing.
        assert_eq!(l.columns.len(), 2);
        for b in &l.boxes {
            assert!(b.right() <= l.width && b.y + b.h <= l.height);
        }
    }
}
