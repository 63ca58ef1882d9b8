//! Issue 10: the EVM layout stacks every trace row down single columns.

use super::*;
use crate::circuit::lower::lower;
use crate::circuit::plan::choose_layout_for;
use crate::settings::{LayoutGoal, LayoutOptions, Mode, Visibility};
use halo2_proofs::dev::MockProver;

/// Laid out for an EVM verifier, a model's trace is the one the prover's layout holds, stacked:
/// one advice, fixed, lane and width column, no random checks; MockProver accepts it, and
/// rejects it with an output changed by one unit.
#[test]
fn evm_layouts_stack_the_trace_down_single_columns() {
    let hashed_input = Visibility::new(Mode::Hashed, Mode::Public, Mode::Fixed).unwrap();
    let cases = [
        ("mlp", Visibility::default()),
        ("lenet", Visibility::default()),
        ("mixed", Visibility::default()),
        ("structure", Visibility::default()),
        ("transformer", Visibility::default()),
        ("mlp", hashed_input),
    ];
    for (name, vis) in cases {
        let (graph, input, _) = testdata(name);
        let plan = plan_for(&graph);
        let x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
        let options = LayoutOptions::new(LayoutGoal::Evm, true);
        let evm = choose_layout_for(&graph, &plan, &vis, 20, options).unwrap();
        let s = evm.shape;
        assert!(s.stacked && !s.has_phase2(), "{name}: {s:?}");
        assert_eq!((s.advice_columns(), s.fixed_column_count(), s.lane_columns()), (1, 1, 1), "{name}");
        assert!(s.stride() > s.advice && evm.rows <= s.usable_rows(), "{name}: {s:?}, {} rows", evm.rows);
        let trace = lower(&graph, &plan, s, &vis, std::slice::from_ref(&x)).unwrap();
        assert_eq!(trace.rows(), evm.rows, "{name}");
        let spec = evaluate(&graph, &plan, &[x]).unwrap();
        let outputs: Vec<i128> = graph.outputs.iter().flat_map(|&o| spec[o].clone()).collect();
        assert_eq!(trace.model_output_values(), outputs, "{name}");

        let circuit = crate::circuit::ZkCircuit::with_witness(trace.clone(), crate::circuit::KeyDigest::default());
        MockProver::run(s.k, &circuit, vec![circuit.instances()]).unwrap().assert_satisfied();
        let mut tampered = trace;
        let out = *tampered.outputs.last().unwrap();
        tampered.tamper_wire(out, tampered.value(out) + 1);
        let circuit = crate::circuit::ZkCircuit::with_witness(tampered, crate::circuit::KeyDigest::default());
        let verdict = MockProver::run(s.k, &circuit, vec![circuit.instances()]).unwrap().verify();
        assert!(verdict.is_err(), "{name}: a changed output was accepted");
    }
}
