//! The aggregation tree: segment proofs are aggregated `arity` at a time, those aggregates again,
//! up to one root. Every node is one aggregation circuit, a job of bounded size whatever the
//! number of segments; a node's proof is what its parent verifies in-circuit.
//!
//! Consecutive children of a node cover consecutive segments, so a node covers a range of them;
//! it exposes the range's two ends (the first segment's input side, the last one's output side)
//! and its parent links them to its neighbours' ends.

use std::ops::Range;

/// A child of a node: a segment proof or the proof of an earlier node (by index in `nodes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Child {
    Segment(usize),
    Node(usize),
}

/// One aggregation circuit: the proofs it verifies, in segment order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeNode {
    pub children: Vec<Child>,
    /// The segments it covers.
    pub span: Range<usize>,
    /// 0 for a node of segment proofs only; one more than its highest child node's otherwise.
    pub level: usize,
}

/// The nodes bottom-up: children before parents, the root last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregationTree {
    pub nodes: Vec<TreeNode>,
}

impl AggregationTree {
    /// `segments` segment proofs aggregated `arity` (>= 2) at a time, level by level; a lone item
    /// at the end of a level moves up unchanged. One segment still gets a root (the verifier
    /// always checks an aggregate).
    pub fn new(segments: usize, arity: usize) -> Self {
        let arity = arity.max(2);
        let mut nodes: Vec<TreeNode> = vec![];
        let mut items: Vec<(Child, Range<usize>)> = (0..segments).map(|i| (Child::Segment(i), i..i + 1)).collect();
        let mut level = 0;
        while items.len() > 1 || !matches!(items.first(), Some((Child::Node(_), _))) {
            let mut next = vec![];
            for chunk in items.chunks(arity) {
                if chunk.len() == 1 && items.len() > 1 {
                    next.push(chunk[0].clone());
                    continue;
                }
                let span = chunk[0].1.start..chunk[chunk.len() - 1].1.end;
                let children = chunk.iter().map(|(c, _)| *c).collect();
                nodes.push(TreeNode { children, span: span.clone(), level });
                next.push((Child::Node(nodes.len() - 1), span));
            }
            if next.is_empty() {
                break;
            }
            items = next;
            level += 1;
        }
        AggregationTree { nodes }
    }

    /// The root's index (the last node).
    pub fn root(&self) -> usize {
        self.nodes.len().saturating_sub(1)
    }

    /// How many levels of nodes, i.e. aggregation jobs one after another.
    pub fn depth(&self) -> usize {
        self.nodes.last().map_or(0, |n| n.level + 1)
    }
}
