//! Witnessed weights (hashed params): the same values as weights in the key, rows the planner
//! counts, other weights under the same circuit, and a prover who swaps weights but claims the
//! compiled model's commitment.

use super::{testdata, MODELS};
use crate::chips::tests::testing::assert_satisfied;
use crate::circuit::lower::{commitment_rows, lower};
use crate::circuit::plan::{choose_layout, count_rows};
use crate::circuit::ZkCircuit;
use crate::commit::params_commitment;
use crate::ir::Graph;
use crate::quant::eval::evaluate;
use crate::quant::params::Weights;
use crate::quant::{quantize, InputRange, QuantPlan, RangeBits, Scales};
use crate::settings::{Mode, Visibility};
use halo2_proofs::dev::MockProver;

fn plan(graph: &Graph, weights: Weights) -> QuantPlan {
    let scales = Scales { input: 7, param: 7, table_bits: 10 };
    QuantPlan::build(graph, &scales, &[InputRange { min: -8.0, max: 8.0 }], &RangeBits::new(), weights).unwrap()
}

fn hashed_params() -> Visibility {
    Visibility::new(Mode::Private, Mode::Public, Mode::Hashed).unwrap()
}

/// Another ONNX file of testdata/lenet (`scripts/make_testdata.py lenet_weights`).
fn lenet_variant(name: &str) -> Graph {
    let path = format!("{}/../testdata/lenet/{name}.onnx", env!("CARGO_MANIFEST_DIR"));
    crate::frontend::load_onnx(&std::fs::read(path).unwrap(), name).unwrap()
}

#[test]
fn witnessed_weights_compute_the_same_values_in_the_counted_rows() {
    for &name in MODELS {
        let (graph, input, _) = testdata(name);
        let x = vec![input.iter().map(|&v| quantize(v, 7)).collect::<Vec<i128>>()];
        let (fixed, witnessed) = (plan(&graph, Weights::InKey), plan(&graph, Weights::Witness));
        let values = evaluate(&graph, &witnessed, &x).unwrap();
        // Not recurrent's: with no calibrated ranges its sigmoid inputs' static bounds grow with
        // the width witnessed weights may take, so its tables reduce their inputs by more bits.
        if name != "recurrent" {
            assert_eq!(evaluate(&graph, &fixed, &x).unwrap(), values, "{name}");
        }
        let vis = hashed_params();
        let layout = choose_layout(&graph, &witnessed, &vis, 20).unwrap();
        assert!(layout.shape.witness_weights && layout.shape.poseidon);
        let trace = lower(&graph, &witnessed, layout.shape, &vis, &x).unwrap();
        let advice = layout.shape.advice;
        let counted = count_rows(&graph, &witnessed, advice, layout.shape.has_phase2())
            + commitment_rows(&graph, &witnessed, &vis, advice);
        assert_eq!((counted, layout.rows), (trace.rows(), trace.rows()), "{name}");
        let outputs: Vec<i128> = graph.outputs.iter().flat_map(|&o| values[o].clone()).collect();
        assert_eq!(trace.model_output_values(), outputs, "{name}");
        let weights: usize = witnessed.param_tensors().map(|(_, t)| t.values.len()).sum();
        assert_eq!(trace.params.len(), weights, "{name}");
    }
}

#[test]
fn other_weights_compute_what_a_plan_of_them_computes_under_the_same_rows() {
    let (graph, input, _) = testdata("lenet");
    let x = vec![input.iter().map(|&v| quantize(v, 7)).collect::<Vec<i128>>()];
    let compiled = plan(&graph, Weights::Witness);
    let other_graph = lenet_variant("retrained");
    graph.check_same_architecture(&other_graph).unwrap();
    let scales = Scales { input: 7, param: 7, table_bits: 10 };
    let ranges = [InputRange { min: -8.0, max: 8.0 }];
    let values = QuantPlan::param_values_of(&other_graph, &scales, &ranges).unwrap();
    let swapped = compiled.with_params(&values, |i| graph.nodes[i].name.clone()).unwrap();
    // The integers are those of the other model planned on its own (weights in the key).
    let theirs = evaluate(&other_graph, &plan(&other_graph, Weights::InKey), &x).unwrap();
    let out = graph.outputs[0];
    assert_eq!(evaluate(&graph, &swapped, &x).unwrap()[out], theirs[out]);
    assert_ne!(evaluate(&graph, &compiled, &x).unwrap()[out], theirs[out]);
    assert_ne!(params_commitment(&swapped).unwrap(), params_commitment(&compiled).unwrap());
    // The same circuit: same layout, same fixed columns.
    let vis = hashed_params();
    let shape = choose_layout(&graph, &compiled, &vis, 20).unwrap().shape;
    let a = lower(&graph, &compiled, shape, &vis, &x).unwrap();
    let b = lower(&graph, &swapped, shape, &vis, &x).unwrap();
    assert_eq!((a.gates.clone(), a.rows()), (b.gates.clone(), b.rows()));
    assert!((0..a.rows()).all(|r| (0..shape.fixed_columns()).all(|c| a.fixed_value(r, c) == b.fixed_value(r, c))));
    // Wider weights are refused, saying by how much.
    let wide = QuantPlan::param_values_of(&lenet_variant("wide"), &scales, &ranges).unwrap();
    let err = compiled.with_params(&wide, |i| graph.nodes[i].name.clone()).unwrap_err();
    assert!(err.contains("/conv1/Conv") && err.contains("2 more"), "{err}");
    assert!(compiled.with_params(&values[1..], |_| String::new()).is_err());
}

#[test]
fn a_prover_with_other_weights_cannot_claim_the_compiled_commitment() {
    let (graph, input, _) = testdata("lenet");
    let x = vec![input.iter().map(|&v| quantize(v, 7)).collect::<Vec<i128>>()];
    let compiled = plan(&graph, Weights::Witness);
    let values = QuantPlan::param_values_of(
        &lenet_variant("retrained"),
        &Scales { input: 7, param: 7, table_bits: 10 },
        &[InputRange { min: -8.0, max: 8.0 }],
    )
    .unwrap();
    let swapped = compiled.with_params(&values, |i| graph.nodes[i].name.clone()).unwrap();
    let vis = hashed_params();
    let shape = choose_layout(&graph, &compiled, &vis, 20).unwrap().shape;
    let trace = lower(&graph, &swapped, shape, &vis, &x).unwrap();
    assert_satisfied(&trace);
    let circuit = ZkCircuit::with_witness(trace, crate::circuit::KeyDigest::default());
    let mut instances = circuit.instances();
    // The layout puts the params commitment last.
    let last = instances.len() - 1;
    assert_eq!(instances[last], params_commitment(&swapped).unwrap());
    instances[last] = params_commitment(&compiled).unwrap();
    let mock = MockProver::run(shape.k, &circuit, vec![instances]).unwrap();
    assert!(mock.verify().is_err(), "other weights proved under the compiled model's commitment");
}

/// The circuit configures exactly the arithmetic chips its trace uses, in every visibility.
#[test]
fn the_planned_chips_are_the_ones_the_trace_uses() {
    use crate::circuit::shape::ChipSet;
    for &name in MODELS {
        let (graph, input, _) = testdata(name);
        let x = vec![input.iter().map(|&v| quantize(v, 7)).collect::<Vec<i128>>()];
        for (i, o, p) in [
            (Mode::Private, Mode::Public, Mode::Fixed),
            (Mode::Hashed, Mode::Hashed, Mode::Fixed),
            (Mode::Private, Mode::Public, Mode::Hashed),
        ] {
            let vis = Visibility::new(i, o, p).unwrap();
            let plan = plan(&graph, vis.weights());
            let shape = choose_layout(&graph, &plan, &vis, 20).unwrap().shape;
            let trace = lower(&graph, &plan, shape, &vis, &x).unwrap();
            let used = trace.gates.iter().filter_map(|g| g.chip()).fold(ChipSet::none(), ChipSet::with);
            assert_eq!(used, shape.chips, "{name}, {vis:?}");
        }
    }
}
