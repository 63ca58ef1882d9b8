//! Segments: a model cut between nodes into consecutive circuits that each fit in 2^k rows.
//!
//! A segment is the nodes `start..end` of the graph (topological order). The tensors crossing a
//! cut (made before it, read after it or a model output) are the segment's boundary: the segment
//! before the cut exposes their commitment (the hashed output of its circuit) and the segment after
//! it recomputes the same commitment from its own inputs (its hashed input), so the aggregation
//! only has to check the two public values equal. The first segment takes the model's inputs as
//! the model's visibility says, the last exposes the model's outputs likewise.
//!
//! Nothing is re-planned: a segment's plan is the model's plan restricted to its nodes, with
//! each boundary tensor a model input declared in [-bound, bound] (the bound the model's plan
//! proves for it, so its packing in both commitments is the same). The integer semantics of the
//! model and of its segments are one.

use crate::circuit::plan::{choose_layout_for, Layout};
use crate::circuit::shape::CircuitShape;
use crate::error::{CompileError, Result};
use crate::ir::{Graph, Node, NodeId, Op};
use crate::quant::{QNode, QOp, QuantPlan};
use crate::settings::{
    LayoutGoal, LayoutOptions, Mode, SegmentLayout, SegmentRecord, Segmentation, Stacking, Visibility,
};

pub mod tree;

pub use crate::settings::Segment;

/// The tensors crossing the cut before node `cut`: made before it and read at or after it, or
/// model outputs (which every later segment carries to the last).
pub fn crossing(graph: &Graph, cut: NodeId) -> Vec<NodeId> {
    let mut crosses = vec![false; cut];
    for node in &graph.nodes[cut..] {
        for &i in node.inputs.iter().filter(|&&i| i < cut) {
            crosses[i] = true;
        }
    }
    for &o in graph.outputs.iter().filter(|&&o| o < cut) {
        crosses[o] = true;
    }
    (0..cut).filter(|&i| crosses[i]).collect()
}

/// The segment between two cuts (0 and the node count are the model's ends).
pub fn between(graph: &Graph, start: NodeId, end: NodeId) -> Segment {
    let n = graph.nodes.len();
    let inputs = if start == 0 { graph.input_ids() } else { crossing(graph, start) };
    let outputs = if end == n { graph.outputs.clone() } else { crossing(graph, end) };
    Segment { start, end, inputs, outputs }
}

/// The visibility of segment `i` of `count`: the model's at the model's ends, hashed (a
/// boundary commitment) at every cut.
pub fn visibility_of(model: &Visibility, i: usize, count: usize) -> Visibility {
    let input = if i == 0 { model.input } else { Mode::Hashed };
    let output = if i + 1 == count { model.output } else { Mode::Hashed };
    Visibility { input, output, params: model.params }
}

/// A segment as a model of its own: its graph (boundary tensors first, as inputs) and the model's
/// plan restricted to it (function tables it does not use dropped).
pub fn extract(graph: &Graph, plan: &QuantPlan, seg: &Segment) -> (Graph, QuantPlan) {
    let mut nodes: Vec<Node> = vec![];
    let mut qnodes: Vec<QNode> = vec![];
    // Where each model node lives in the segment's graph.
    let mut map: std::collections::HashMap<NodeId, NodeId> = Default::default();
    if seg.start > 0 {
        for (index, &b) in seg.inputs.iter().enumerate() {
            let (node, q) = (&graph.nodes[b], &plan.nodes[b]);
            map.insert(b, nodes.len());
            nodes.push(Node {
                name: node.name.clone(),
                op: Op::Input { index, kind: Default::default() },
                inputs: vec![],
                shape: node.shape.clone(),
            });
            let op = QOp::Input { index, lo: -q.bound, hi: q.bound };
            qnodes.push(QNode { op, requant: None, scale: q.scale, bound: q.bound });
        }
    }
    let mut used_tables: Vec<usize> = vec![];
    let mut table_index = |t: usize| -> usize {
        match used_tables.iter().position(|&u| u == t) {
            Some(i) => i,
            None => {
                used_tables.push(t);
                used_tables.len() - 1
            }
        }
    };
    for id in seg.start..seg.end {
        let node = &graph.nodes[id];
        let inputs = node.inputs.iter().map(|i| map[i]).collect();
        map.insert(id, nodes.len());
        nodes.push(Node { inputs, ..node.clone() });
        let mut q = plan.nodes[id].clone();
        if let QOp::Lookup { table, split, .. } = &mut q.op {
            *table = table_index(*table);
            if let Some(s) = split {
                s.lo_table = table_index(s.lo_table);
            }
        }
        qnodes.push(q);
    }
    let outputs = seg.outputs.iter().map(|o| map[o]).collect();
    let tables = used_tables.iter().map(|&t| plan.tables[t].clone()).collect();
    let plan = QuantPlan { nodes: qnodes, tables, weights: plan.weights, param_scale: plan.param_scale };
    (Graph { nodes, outputs }, plan)
}

/// A segment, extracted, with the layout its circuit takes.
pub struct Planned {
    pub segment: Segment,
    pub layout: Layout,
}

/// Cut the model into as few consecutive segments as fit in 2^max_k rows each (each as long as
/// it can be, by a binary search on its end). The first segment holds every model input.
/// `layout`: stacked or row-layout segments; `random_checks`: whether row-layout segments may
/// prove products by random checks.
pub fn cut(
    graph: &Graph,
    plan: &QuantPlan,
    visibility: &Visibility,
    max_k: u32,
    layout: SegmentLayout,
    random_checks: bool,
) -> Result<Vec<Planned>> {
    let n = graph.nodes.len();
    let first_end = graph.input_ids().last().map_or(1, |&i| i + 1);
    let mut segments: Vec<Planned> = vec![];
    let mut start = 0;
    while start < n {
        // A segment ending at the model's end is the last; any other hands on a commitment.
        let i = segments.len();
        let fit = |end: NodeId| -> Option<Layout> {
            let seg = between(graph, start, end);
            let vis = visibility_of(visibility, i, if end == n { i + 1 } else { i + 2 });
            let (g, p) = extract(graph, plan, &seg);
            // The fewest commitments: the aggregation verifies every commitment of every segment
            // proof in-circuit (~250k cells each), which dwarfs the segment's own proving, and a
            // node of the aggregation tree must fit one job. Stacked rows halve a segment proof's
            // in-circuit cost (measured: 4.3M cells against 8.7M for a testdata/cnn segment), so
            // two of them make a node of ~9.3M cells, proven in ~8 GB; a row-layout segment's
            // proof fills such a node alone.
            // A row-layout segment's commitments grow with its columns: at most 8 advice keeps
            // its proof within one node (a wider, longer segment would make its node the job past
            // the bound: 20 advice columns is ~40 commitments).
            let (stacking, max_advice) = match layout {
                SegmentLayout::Stacked => (Stacking::Only, CircuitShape::MAX_ADVICE),
                SegmentLayout::Rows => (Stacking::Never, ROW_SEGMENT_MAX_ADVICE),
            };
            let options = LayoutOptions { goal: LayoutGoal::Evm, random_checks, stacking, max_advice };
            choose_layout_for(&g, &p, &vis, max_k, options).ok()
        };
        let lowest = if start == 0 { first_end } else { start + 1 };
        let Some(mut layout) = fit(lowest) else {
            let node = &graph.nodes[lowest - 1];
            return Err(CompileError::Plan(format!(
                "node {} ({}) does not fit in a segment of 2^{max_k} rows on its own; raise --segment-logrows",
                node.name,
                node.op.kind()
            )));
        };
        // The longest end that fits: gallop from `lowest`, then halve the gap.
        let (mut good, mut bad, mut step) = (lowest, n + 1, 1);
        while good + step <= n {
            match fit(good + step) {
                Some(l) => (good, layout) = (good + step, l),
                None => {
                    bad = good + step;
                    break;
                }
            }
            step *= 2;
        }
        while bad - good > 1 {
            let mid = (good + bad) / 2;
            match fit(mid) {
                Some(l) => (good, layout) = (mid, l),
                None => bad = mid,
            }
        }
        segments.push(Planned { segment: between(graph, start, good), layout });
        start = good;
    }
    Ok(segments)
}

/// The widest row-layout segment (`--segment-layout rows`).
pub const ROW_SEGMENT_MAX_ADVICE: usize = 8;

/// The k of every aggregation circuit (2^k rows; its SRS is every segment's): a node of two
/// proofs (~9.5M cells) takes 5 advice columns at 2^21.
pub const AGGREGATE_K: u32 = 21;

/// The settings' record of the model cut into segments of at most 2^logrows rows, their proofs
/// aggregated `arity` at a time (`tree::AggregationTree`).
pub fn segmentation(
    graph: &Graph,
    plan: &QuantPlan,
    visibility: &Visibility,
    logrows: u32,
    arity: usize,
    layout: SegmentLayout,
    random_checks: bool,
) -> Result<Segmentation> {
    if arity < 2 {
        return Err(CompileError::Plan(format!(
            "--aggregation-arity {arity}: an aggregation node takes at least 2 proofs"
        )));
    }
    if visibility.params == Mode::Hashed {
        return Err(CompileError::Plan(
            "segments with hashed params are not supported (each segment would commit to its own weights); use \
             fixed params"
                .into(),
        ));
    }
    if !(6..AGGREGATE_K).contains(&logrows) {
        return Err(CompileError::Plan(format!(
            "--segment-logrows {logrows} is outside 6..{AGGREGATE_K} (segments must be smaller than the aggregation \
             circuit, 2^{AGGREGATE_K} rows)"
        )));
    }
    let parts = cut(graph, plan, visibility, logrows, layout, random_checks)?
        .into_iter()
        .map(|p| SegmentRecord { segment: p.segment, circuit: p.layout.shape, rows: p.layout.rows })
        .collect();
    Ok(Segmentation { logrows, aggregate_k: AGGREGATE_K, arity, layout, parts })
}

#[cfg(test)]
mod tests;
