use crate::segment::tree::{AggregationTree, Child};

fn children(tree: &AggregationTree) -> Vec<Vec<Child>> {
    tree.nodes.iter().map(|n| n.children.clone()).collect()
}

#[test]
fn segments_are_aggregated_arity_at_a_time_up_to_one_root() {
    use Child::{Node, Segment};
    let t = AggregationTree::new(&[false; 3], 2);
    assert_eq!(children(&t), vec![vec![Segment(0), Segment(1)], vec![Node(0), Segment(2)]]);
    assert_eq!((t.root(), t.depth()), (1, 2));
    assert_eq!(t.nodes[1].span, 0..3);

    let t = AggregationTree::new(&[false; 5], 2);
    assert_eq!(
        children(&t),
        vec![
            vec![Segment(0), Segment(1)],
            vec![Segment(2), Segment(3)],
            vec![Node(0), Node(1)],
            vec![Node(2), Segment(4)],
        ]
    );
    assert_eq!(t.nodes.iter().map(|n| n.span.clone()).collect::<Vec<_>>(), vec![0..2, 2..4, 0..4, 0..5]);

    // An arity as large as the segments is one flat aggregation; one segment still has a root.
    assert_eq!(children(&AggregationTree::new(&[false; 3], 3)), vec![vec![Segment(0), Segment(1), Segment(2)]]);
    assert_eq!(children(&AggregationTree::new(&[false], 2)), vec![vec![Segment(0)]]);
}

#[test]
fn every_node_covers_its_childrens_consecutive_spans_and_every_segment_once() {
    for n in 1..40 {
        for (arity, pattern) in (2..6).flat_map(|a| [(a, 0), (a, 1), (a, 2), (a, 3)]) {
            // Every segment cheap; every one alone; every third alone; every other one.
            let alone: Vec<bool> = (0..n).map(|i| [false, true, i % 3 == 1, i % 2 == 0][pattern]).collect();
            let t = AggregationTree::new(&alone, arity);
            let root = &t.nodes[t.root()];
            assert_eq!(root.span, 0..n, "n={n} arity={arity}");
            let mut used = vec![0; n];
            let mut parent = vec![0; t.nodes.len()];
            for (j, node) in t.nodes.iter().enumerate() {
                assert!(node.children.len() <= arity && !node.children.is_empty());
                let mut at = node.span.start;
                for c in &node.children {
                    let span = match *c {
                        Child::Segment(i) => {
                            used[i] += 1;
                            // A segment whose proof fills a node is that node's only child.
                            assert!(!alone[i] || node.children.len() == 1, "n={n} arity={arity}");
                            i..i + 1
                        }
                        Child::Node(m) => {
                            assert!(m < j, "a child node comes before its parent");
                            parent[m] += 1;
                            t.nodes[m].span.clone()
                        }
                    };
                    assert_eq!(span.start, at);
                    at = span.end;
                }
                assert_eq!(at, node.span.end);
            }
            assert!(used.iter().all(|&u| u == 1), "n={n} arity={arity}");
            assert!(parent[..t.root()].iter().all(|&p| p == 1) && parent[t.root()] == 0);
        }
    }
}

#[test]
fn a_row_layout_segment_has_a_node_of_its_own_and_its_node_pairs_up() {
    use Child::{Node, Segment};
    // Row-layout segments 0 and 2, stacked 1 and 3.
    let t = AggregationTree::new(&[true, false, true, false], 2);
    assert_eq!(
        children(&t),
        vec![
            vec![Segment(0)],
            vec![Segment(2)],
            vec![Node(0), Segment(1)],
            vec![Node(1), Segment(3)],
            vec![Node(2), Node(3)]
        ]
    );
    // Row-layout only: one node per segment, then pairs: 2n - 1 jobs.
    let t = AggregationTree::new(&[true; 5], 2);
    assert_eq!(t.nodes.len(), 9);
    assert_eq!(t.nodes.iter().filter(|n| n.children.len() == 1).count(), 5);
}
