//! Segments compute the model's values, each proves on its own, and consecutive segments expose
//! equal boundary commitments exactly when they are given the same boundary values.

use super::*;
use crate::circuit::instance::{InstanceLayout, Public};
use crate::circuit::lower::{instance_layout, lower};
use crate::circuit::ZkCircuit;
use crate::quant::eval::evaluate;
use crate::quant::params::Weights;
use crate::quant::tests::testdata;
use crate::quant::{quantize, InputRange, RangeBits, Scales};
use halo2_proofs::dev::MockProver;
use halo2curves::bn256::Fr;

fn planned(name: &str) -> (Graph, QuantPlan, Vec<Vec<i128>>) {
    let (graph, input, _) = testdata(name);
    let scales = Scales { input: 7, param: 7, table_bits: 10 };
    let ranges = vec![InputRange { min: -8.0, max: 8.0 }; graph.input_ids().len()];
    let plan = QuantPlan::build(&graph, &scales, &ranges, &RangeBits::new(), Weights::InKey).unwrap();
    let x = vec![input.iter().map(|&v| quantize(v, 7)).collect()];
    (graph, plan, x)
}

/// Segment `seg`'s inputs, taken from the model's values.
fn inputs_of(seg: &Segment, values: &[Vec<i128>], model_inputs: &[Vec<i128>]) -> Vec<Vec<i128>> {
    match seg.start {
        0 => model_inputs.to_vec(),
        _ => seg.inputs.iter().map(|&b| values[b].clone()).collect(),
    }
}

/// The public values of one segment proven on `inputs`, after MockProver accepts its trace.
fn prove_segment(
    graph: &Graph,
    plan: &QuantPlan,
    planned: &Planned,
    vis: &Visibility,
    inputs: &[Vec<i128>],
) -> Vec<Fr> {
    let (g, p) = extract(graph, plan, &planned.segment);
    let trace = lower(&g, &p, planned.layout.shape, vis, inputs).unwrap();
    assert_eq!(trace.rows(), planned.layout.rows, "counted rows");
    let circuit = ZkCircuit::with_witness(trace, crate::circuit::KeyDigest::default());
    let instances = circuit.instances();
    MockProver::run(planned.layout.shape.k, &circuit, vec![instances.clone()]).unwrap().assert_satisfied();
    instances
}

fn hash_of(layout: &InstanceLayout, kind: Public, instances: &[Fr]) -> Fr {
    instances[layout.range(kind).unwrap()][0]
}

#[test]
fn segments_compute_the_models_values_and_chain_their_commitments() {
    for (name, max_k, count) in [("transformer", 13, 3), ("recurrent", 13, 4)] {
        let (graph, plan, x) = planned(name);
        let values = evaluate(&graph, &plan, &x).unwrap();
        let model_vis = Visibility::default();
        let segments = cut(&graph, &plan, &model_vis, max_k, SegmentLayout::Stacked, true).unwrap();
        assert_eq!(segments.len(), count, "{name}");
        let mut previous: Option<Fr> = None;
        for (i, s) in segments.iter().enumerate() {
            assert!(
                s.layout.shape.k <= max_k && s.layout.shape.stacked,
                "{name}: segment {i} is stacked, within 2^{max_k} rows"
            );
            let (g, p) = extract(&graph, &plan, &s.segment);
            let inputs = inputs_of(&s.segment, &values, &x);
            // The segment's integer semantics are the model's.
            let seg_values = evaluate(&g, &p, &inputs).unwrap();
            for (&o, &m) in g.outputs.iter().zip(&s.segment.outputs) {
                assert_eq!(seg_values[o], values[m], "{name}: segment {i}, tensor {}", graph.nodes[m].name);
            }
            let vis = visibility_of(&model_vis, i, segments.len());
            let instances = prove_segment(&graph, &plan, s, &vis, &inputs);
            let layout = instance_layout(&g, &vis);
            if let Some(prev) = previous {
                assert_eq!(hash_of(&layout, Public::InputHash, &instances), prev, "{name}: cut before segment {i}");
            }
            previous = (i + 1 < segments.len()).then(|| hash_of(&layout, Public::OutputHash, &instances));
        }
        // The cuts cover the model, in order.
        assert_eq!(segments.first().unwrap().segment.start, 0);
        assert_eq!(segments.last().unwrap().segment.end, graph.nodes.len());
        for w in segments.windows(2) {
            assert_eq!(w[0].segment.end, w[1].segment.start);
            assert_eq!(w[0].segment.outputs, w[1].segment.inputs);
        }
    }
}

/// A prover who runs a segment on another boundary value (one element changed by one unit) gets
/// a valid proof of that segment, but its input commitment is not the one the segment before
/// exposed: the aggregation's equality check is what refuses it.
#[test]
fn a_segment_run_on_another_boundary_value_exposes_another_commitment() {
    let (graph, plan, x) = planned("transformer");
    let values = evaluate(&graph, &plan, &x).unwrap();
    let vis = Visibility::default();
    let segments = cut(&graph, &plan, &vis, 13, SegmentLayout::Stacked, true).unwrap();
    let (s0, s1) = (&segments[0], &segments[1]);
    let out0 = prove_segment(&graph, &plan, s0, &visibility_of(&vis, 0, segments.len()), &x);
    let (g1, _) = extract(&graph, &plan, &s1.segment);
    let mut inputs = inputs_of(&s1.segment, &values, &x);
    let honest_vis = visibility_of(&vis, 1, segments.len());
    let honest = prove_segment(&graph, &plan, s1, &honest_vis, &inputs);
    let (g0, _) = extract(&graph, &plan, &s0.segment);
    let handed_on = hash_of(&instance_layout(&g0, &visibility_of(&vis, 0, segments.len())), Public::OutputHash, &out0);
    let layout1 = instance_layout(&g1, &honest_vis);
    assert_eq!(hash_of(&layout1, Public::InputHash, &honest), handed_on);
    let element = inputs[0].iter().position(|&v| v < plan.nodes[s1.segment.inputs[0]].bound).unwrap();
    inputs[0][element] += 1;
    let other = prove_segment(&graph, &plan, s1, &honest_vis, &inputs);
    assert_ne!(hash_of(&layout1, Public::InputHash, &other), handed_on);
}

#[test]
fn a_node_too_large_for_one_segment_is_refused_by_name() {
    let (graph, plan, _) = planned("lenet");
    let err = cut(&graph, &plan, &Visibility::default(), 7, SegmentLayout::Stacked, true)
        .err()
        .expect("2^7 rows hold no LeNet layer")
        .to_string();
    assert!(err.contains("does not fit in a segment of 2^7 rows on its own; raise --segment-logrows"), "{err}");
    assert!(!err.contains('\n'));
}

mod tree;

#[test]
fn row_layout_segments_are_narrow_and_each_has_a_node_of_its_own() {
    let (graph, plan, _) = planned("mixed");
    let seg = segmentation(&graph, &plan, &Visibility::default(), 10, 2, SegmentLayout::Rows, true).unwrap();
    assert!(seg.parts.len() >= 2);
    for p in &seg.parts {
        assert!(!p.circuit.stacked && p.circuit.advice <= ROW_SEGMENT_MAX_ADVICE, "{:?}", p.circuit);
        assert!(p.circuit.k <= 10);
    }
    let tree = seg.tree();
    for i in 0..seg.parts.len() {
        assert!(
            tree.nodes.iter().any(|n| n.children == [crate::segment::tree::Child::Segment(i)]),
            "segment {i} wrapped"
        );
    }
    // Stacked, the same model at 2^10 rows has no room for its convolutions.
    assert!(segmentation(&graph, &plan, &Visibility::default(), 10, 2, SegmentLayout::Stacked, true).is_err());
}
