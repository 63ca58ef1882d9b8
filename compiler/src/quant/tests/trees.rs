//! Tree ensembles (testdata/tree, forest, boosted: skl2onnx exports): split tests exact at the
//! input scale, the evaluator against onnxruntime, and a prover who flips a split's test, selects
//! a second leaf or changes a score is refused.

use super::testdata;
use crate::circuit::plan::choose_layout;
use crate::circuit::ZkCircuit;
use crate::ir::{Graph, Node, Op};
use crate::quant::eval::evaluate;
use crate::quant::params::Weights;
use crate::quant::{pow2, quantize, InputRange, QuantPlan, RangeBits, Scales};
use halo2_proofs::dev::MockProver;

const TREE_MODELS: &[&str] = &["tree", "forest", "boosted", "regressor"];

/// The skl2onnx exports: tree ensembles, and pipelines around linear models (not the binary
/// pipeline: with every feature's range at +-5000, its logistic's table is too coarse uncalibrated;
/// the end-to-end test calibrates it).
const SKLEARN_MODELS: &[&str] = &["tree", "forest", "boosted", "regressor", "pipeline", "linear_regression"];

/// A plan wide enough for the data sets' features (breast cancer's reach ~4,300).
fn plan(graph: &Graph, scale: u32) -> QuantPlan {
    let scales = Scales { input: scale, param: 8, table_bits: 10 };
    let range = InputRange { min: -5000.0, max: 5000.0 };
    QuantPlan::build(graph, &scales, &[range], &RangeBits::new(), Weights::InKey).unwrap()
}

/// x <= t and x >= t at a coarse scale, for thresholds on, between and far beyond its grid: on
/// every quantized value the margin is <= 0 exactly when the float test holds on the value it
/// stands for; a float input is rounded to the grid first, so it decides as the float test
/// wherever it is more than half a grid step from the threshold.
#[test]
fn split_margins_decide_exactly_as_the_float_test_on_quantized_values() {
    let scale = 2;
    let step = 1.0 / pow2(scale as i32);
    let thresholds = vec![0.0, 0.25, 0.3, -0.3, 1.1, -1.75, 0.124, 0.375, 100.0, -100.0];
    let k = thresholds.len();
    // The grid's values, and floats 16 times finer.
    let grid: Vec<f64> = (-16..=16).map(|i| i as f64 * step).collect();
    let fine: Vec<f64> = (-64..=64).map(|i| i as f64 / 64.0).collect();
    for at_most in [true, false] {
        let graph = Graph {
            nodes: vec![
                Node {
                    name: "x".into(),
                    op: Op::Input { index: 0, kind: Default::default() },
                    inputs: vec![],
                    shape: vec![1, k],
                },
                Node {
                    name: "margin".into(),
                    op: Op::SplitMargin { thresholds: thresholds.clone(), at_most: vec![at_most; k] },
                    inputs: vec![0],
                    shape: vec![1, k],
                },
            ],
            outputs: vec![1],
        };
        let scales = Scales { input: scale, param: 8, table_bits: 10 };
        let range = InputRange { min: -4.0, max: 4.0 };
        let plan = QuantPlan::build(&graph, &scales, &[range], &RangeBits::new(), Weights::InKey).unwrap();
        for (x, on_grid) in grid.iter().map(|&x| (x, true)).chain(fine.iter().map(|&x| (x, false))) {
            let margin = &evaluate(&graph, &plan, &[vec![quantize(x, scale); k]]).unwrap()[1];
            for (j, &t) in thresholds.iter().enumerate() {
                let holds = if at_most { x <= t } else { x >= t };
                if on_grid || (x - t).abs() > step / 2.0 {
                    assert_eq!(margin[j] <= 0, holds, "x = {x}, t = {t}, at_most = {at_most}: margin {}", margin[j]);
                }
            }
        }
    }
}

/// The evaluator's classes are onnxruntime's exactly, its probabilities (and a regression's
/// prediction, relative to its size) within a rounding.
#[test]
fn scikit_learn_exports_match_onnxruntime() {
    for &name in SKLEARN_MODELS {
        let (graph, input, expected) = testdata(name);
        let plan = plan(&graph, 8);
        let x: Vec<i128> = input.iter().map(|&v| quantize(v, 8)).collect();
        let values = evaluate(&graph, &plan, &[x]).unwrap();
        let got: Vec<f64> = graph
            .outputs
            .iter()
            .flat_map(|&o| {
                let unit = pow2(plan.nodes[o].scale as i32);
                values[o].iter().map(move |&v| v as f64 / unit)
            })
            .collect();
        let dir = format!("{}/../testdata/{name}/expected.json", env!("CARGO_MANIFEST_DIR"));
        let all: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir).unwrap()).unwrap();
        let want: Vec<f64> = all["input"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|o| o.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
            .collect();
        assert_eq!(got.len(), want.len(), "{name}");
        assert!(!expected.is_empty());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() < 0.02 * w.abs().max(1.0), "{name}: output element {i} is {g}, onnxruntime {w}");
        }
    }
}

/// An honest trace passes MockProver; flipping one split's test, selecting a second leaf in a
/// tree, or changing one score each fails.
#[test]
fn a_flipped_split_a_second_leaf_or_a_changed_score_is_rejected() {
    for &name in TREE_MODELS {
        let (graph, input, _) = testdata(name);
        let plan = plan(&graph, 8);
        let x: Vec<i128> = input.iter().map(|&v| quantize(v, 8)).collect();
        let layout = choose_layout(&graph, &plan, &Default::default(), 20).unwrap();
        let (trace, wires) = crate::circuit::lower::lower_with_wires(&graph, &plan, layout.shape, &[x]).unwrap();
        let run = |t: crate::circuit::trace::Trace| {
            let circuit = ZkCircuit::with_witness(t, crate::circuit::KeyDigest::default());
            let instances = circuit.instances();
            MockProver::run(layout.shape.k, &circuit, vec![instances]).unwrap().verify()
        };
        assert_eq!(run(trace.clone()), Ok(()), "{name}: the honest trace");
        let node = |suffix: &str| {
            graph.nodes.iter().position(|n| n.name.ends_with(suffix)).unwrap_or_else(|| panic!("{name}: no {suffix}"))
        };
        let (split, reached, scores) = (node("/split/step"), node("/reached"), node("/scores"));
        let flip = |w| {
            let mut t = trace.clone();
            t.tamper_wire(w, 1 - t.value(w));
            t
        };
        assert!(run(flip(wires[split][0])).is_err(), "{name}: a flipped split test was accepted");
        let unreached = wires[reached].iter().copied().find(|&w| trace.value(w) == 0).unwrap();
        assert!(run(flip(unreached)).is_err(), "{name}: a second leaf was accepted");
        let mut t = trace.clone();
        t.tamper_wire(wires[scores][0], t.value(wires[scores][0]) + 1);
        assert!(run(t).is_err(), "{name}: a changed score was accepted");
    }
}
