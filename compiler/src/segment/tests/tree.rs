use crate::segment::tree::{AggregationTree, Child};

fn children(tree: &AggregationTree) -> Vec<Vec<Child>> {
    tree.nodes.iter().map(|n| n.children.clone()).collect()
}

#[test]
fn segments_are_aggregated_arity_at_a_time_up_to_one_root() {
    use Child::{Node, Segment};
    let t = AggregationTree::new(3, 2);
    assert_eq!(children(&t), vec![vec![Segment(0), Segment(1)], vec![Node(0), Segment(2)]]);
    assert_eq!((t.root(), t.depth()), (1, 2));
    assert_eq!(t.nodes[1].span, 0..3);

    let t = AggregationTree::new(5, 2);
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
    assert_eq!(children(&AggregationTree::new(3, 3)), vec![vec![Segment(0), Segment(1), Segment(2)]]);
    assert_eq!(children(&AggregationTree::new(1, 2)), vec![vec![Segment(0)]]);
}

#[test]
fn every_node_covers_its_childrens_consecutive_spans_and_every_segment_once() {
    for n in 1..40 {
        for arity in 2..6 {
            let t = AggregationTree::new(n, arity);
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
