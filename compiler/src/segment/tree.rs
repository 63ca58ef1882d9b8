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
    /// Segment proofs aggregated `arity` (>= 2) at a time, level by level; `alone[i]`: segment
    /// i's proof fills a node by itself (a row-layout segment, twice a stacked one's in-circuit
    /// cost), so its node verifies only it and hands its parent a proof as cheap as any node's.
    /// A lone cheap item at the end of a level moves up unchanged. One segment still gets a root
    /// (the verifier always checks an aggregate).
    pub fn new(alone: &[bool], arity: usize) -> Self {
        let arity = arity.max(2);
        let mut nodes: Vec<TreeNode> = vec![];
        let mut items: Vec<Item> = alone
            .iter()
            .enumerate()
            .map(|(i, &alone)| Item { child: Child::Segment(i), span: i..i + 1, alone })
            .collect();
        let mut level = 0;
        while items.len() > 1 || !matches!(items.first(), Some(Item { child: Child::Node(_), .. })) {
            let groups = groups(&items, arity);
            let mut next = vec![];
            for group in &groups {
                if let [item] = &group[..] {
                    if !item.alone && groups.len() > 1 {
                        next.push(item.clone());
                        continue;
                    }
                }
                let span = group[0].span.start..group[group.len() - 1].span.end;
                let children = group.iter().map(|item| item.child).collect();
                nodes.push(TreeNode { children, span: span.clone(), level });
                next.push(Item { child: Child::Node(nodes.len() - 1), span, alone: false });
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

/// A proof waiting for its node at some level.
#[derive(Clone)]
struct Item {
    child: Child,
    span: Range<usize>,
    alone: bool,
}

/// Consecutive items in groups of at most `arity`, an item that must be alone in a group of one.
fn groups(items: &[Item], arity: usize) -> Vec<Vec<Item>> {
    let mut groups: Vec<Vec<Item>> = vec![];
    let mut open: Vec<Item> = vec![];
    for item in items {
        if item.alone {
            groups.extend((!open.is_empty()).then(|| std::mem::take(&mut open)));
            groups.push(vec![item.clone()]);
            continue;
        }
        open.push(item.clone());
        if open.len() == arity {
            groups.push(std::mem::take(&mut open));
        }
    }
    groups.extend((!open.is_empty()).then_some(open));
    groups
}

impl crate::settings::Segmentation {
    /// The tree its segment proofs are aggregated by: a row-layout segment's proof has a node
    /// of its own.
    pub fn tree(&self) -> AggregationTree {
        let alone: Vec<bool> = self.parts.iter().map(|p| !p.circuit.stacked).collect();
        AggregationTree::new(&alone, self.arity)
    }
}
