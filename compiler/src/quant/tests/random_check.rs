//! Issue 11: layers proven by a random check instead of dot rows.

use super::*;
use crate::chips::freivalds;
use crate::circuit::lower::lower;
use crate::circuit::plan::count_rows;
use crate::circuit::shape::Chip;
use halo2_proofs::dev::MockProver;

fn products(graph: &Graph, plan: &QuantPlan) -> Vec<(String, Linear)> {
    graph
        .nodes
        .iter()
        .zip(&plan.nodes)
        .filter_map(|(n, q)| match &q.op {
            QOp::Linear(lin) if lin.product.is_some() => Some((n.name.clone(), lin.clone())),
            _ => None,
        })
        .collect()
}

/// The reduced reference CNN: each convolution's rows fall from its dot rows to the random
/// check's count (5x and 2x here), the whole trace takes exactly the counted rows, MockProver
/// accepts it, and its values are the evaluator's.
#[test]
fn the_reference_cnns_convolutions_fall_to_the_random_checks_rows() {
    let (graph, input, _) = testdata("refcnn");
    let plan = plan_for(&graph);
    let x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
    let layout = choose_layout(&graph, &plan, &Default::default(), 20).unwrap();
    assert!(layout.shape.chips.has(Chip::Freivalds), "the planner chose the random check");
    let advice = layout.shape.advice;
    let convs = products(&graph, &plan);
    assert_eq!(convs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["/conv1/Conv", "/conv2/Conv"]);
    let mut saved = 0;
    for (name, lin) in &convs {
        let (dot, random) = (freivalds::dot_rows(lin, advice), freivalds::rows(lin.product.as_ref().unwrap(), advice));
        // Y and X take m p + n p cells instead of m n p: the gain grows with min(m, p) (conv1: 8
        // channels over 240 positions; conv2: 12 positions).
        let gain = if name == "/conv1/Conv" { 5 } else { 2 };
        assert!(random * gain < dot, "{name}: {random} rows by the random check, {dot} by dot rows");
        saved += dot - random;
    }
    let (with, without) = (count_rows(&graph, &plan, advice, true), count_rows(&graph, &plan, advice, false));
    // The biases' fold reads the constant 1, which may open one affine row.
    assert!((saved - 1..=saved).contains(&(without - with)), "{without} - {with} rows, {saved} saved");
    let trace = lower(&graph, &plan, layout.shape, &Default::default(), std::slice::from_ref(&x)).unwrap();
    assert_eq!(trace.rows(), with);
    let spec = evaluate(&graph, &plan, &[x]).unwrap();
    let outputs: Vec<i128> = graph.outputs.iter().flat_map(|&o| spec[o].clone()).collect();
    assert_eq!(trace.model_output_values(), outputs);
    let circuit = crate::circuit::ZkCircuit::with_witness(trace, crate::circuit::KeyDigest::default());
    let instances = circuit.instances();
    MockProver::run(layout.shape.k, &circuit, vec![instances]).unwrap().assert_satisfied();
}

/// Products are found for convolutions with padding, strides and dilations and for MatMuls over
/// several rows; a MatMul of one vector (p = 1, nothing to gain) has none.
#[test]
fn products_are_the_layers_sums() {
    for name in ["mixed", "cnn", "lenet", "pooling", "transformer"] {
        let (graph, _, _) = testdata(name);
        let plan = plan_for(&graph);
        for (node, lin) in products(&graph, &plan) {
            let prod = lin.product.as_ref().unwrap();
            assert!(prod.matches(&lin) && prod.p > 1, "{name}: {node}");
        }
    }
    let (graph, _, _) = testdata("mlp");
    assert!(products(&graph, &plan_for(&graph)).is_empty());
    let (graph, _, _) = testdata("mixed");
    let found: Vec<String> = products(&graph, &plan_for(&graph)).into_iter().map(|(n, _)| n).collect();
    assert!(found.contains(&"/conv/Conv".to_string()), "the padded, strided conv: {found:?}");
}
