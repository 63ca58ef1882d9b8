use super::eval::evaluate;
use super::*;
use crate::circuit::plan::choose_layout;
use crate::frontend::load_onnx;
use params::Weights;

mod malicious;
mod random_check;
mod stacked;
mod trees;
mod witnessed;

pub(crate) fn testdata(name: &str) -> (Graph, Vec<f64>, Vec<f64>) {
    let dir = format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(format!("{dir}/model.onnx")).unwrap();
    let graph = load_onnx(&bytes, name).unwrap();
    let json = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{f}")).unwrap()).unwrap()
    };
    let floats = |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>();
    let input = floats(&json("input.json")["input_data"][0]);
    let expected = floats(&json("expected.json")["input"][0]);
    (graph, input, expected)
}

/// Every testdata model that proves.
pub(crate) const MODELS: &[&str] = &[
    "mlp",
    "lenet",
    "mixed",
    "pooling",
    "transformer",
    "cnn",
    "activations",
    "structure",
    "logic",
    "functions",
    "reductions",
    "embedding",
    "indexing",
    "onehot_lppool",
    "wrapping",
    "powers",
    "fractions",
    "scatter",
    "conv3d",
    "recurrent",
    "selection",
    "refcnn",
];

fn plan_for(graph: &Graph) -> QuantPlan {
    let scales = Scales { input: 7, param: 7, table_bits: 10 };
    QuantPlan::build(graph, &scales, &[InputRange { min: -8.0, max: 8.0 }], &RangeBits::new(), Weights::InKey).unwrap()
}

#[test]
fn circuit_values_equal_the_evaluator_node_by_node() {
    for &name in MODELS {
        let (graph, input, _) = testdata(name);
        let plan = plan_for(&graph);
        let x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
        let spec = evaluate(&graph, &plan, std::slice::from_ref(&x)).unwrap();
        let layout = choose_layout(&graph, &plan, &Default::default(), 20).unwrap();
        let (trace, wires) = crate::circuit::lower::lower_with_wires(&graph, &plan, layout.shape, &[x]).unwrap();
        let circuit: Vec<Vec<i128>> = wires.iter().map(|ws| ws.iter().map(|&w| trace.value(w)).collect()).collect();
        for (id, (a, b)) in spec.iter().zip(&circuit).enumerate() {
            assert_eq!(a, b, "{name}: node {} ({}) differs", id, graph.nodes[id].name);
        }
    }
}

#[test]
fn quantized_outputs_track_onnxruntime() {
    for name in [
        "mlp",
        "lenet",
        "mixed",
        "pooling",
        "functions",
        "reductions",
        "embedding",
        "wrapping",
        "tokens",
        "powers",
        "fractions",
        "scatter",
    ] {
        let (graph, input, expected) = testdata(name);
        let plan = plan_for(&graph);
        // Each input at its kind's scale (tokens' int64 ids at 2^0).
        let s = crate::input_kind(&graph.nodes[graph.input_ids()[0]]).scale(7);
        let x: Vec<i128> = input.iter().map(|&v| quantize(v, s)).collect();
        let values = evaluate(&graph, &plan, &[x]).unwrap();
        let out = graph.outputs[0];
        let unit = (plan.nodes[out].scale as f64).exp2();
        let got: Vec<f64> = values[out].iter().map(|&v| v as f64 / unit).collect();
        let err = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        // Scale 2^7 leaves ~0.004 per rounding; a few layers of accumulation stay well below 0.1.
        assert!(err < 0.1, "{name}: max error {err} ({got:?} vs {expected:?})");
    }
}

#[test]
fn out_of_range_input_names_the_node() {
    let (graph, input, _) = testdata("mlp");
    let plan = plan_for(&graph);
    let mut x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
    x[3] = quantize(100.0, 7);
    match evaluate(&graph, &plan, &[x]).unwrap_err() {
        eval::RangeError::Input { node, element, min, max, .. } => {
            assert_eq!((node.as_str(), element, min, max), ("input", 3, -8.0, 8.0))
        }
        other => panic!("expected out of range, got {other}"),
    }
}

#[test]
fn static_bounds_hold_on_real_data() {
    let (graph, input, _) = testdata("lenet");
    let plan = plan_for(&graph);
    let x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
    let values = evaluate(&graph, &plan, &[x]).unwrap();
    for (id, v) in values.iter().enumerate() {
        let max = v.iter().map(|x| x.abs()).max().unwrap_or(0);
        assert!(max <= plan.nodes[id].bound, "node {id}: {max} > bound {}", plan.nodes[id].bound);
    }
}

#[test]
fn counted_rows_equal_the_lowered_trace() {
    use crate::circuit::plan::count_rows;
    for &name in MODELS {
        let (graph, input, _) = testdata(name);
        let plan = plan_for(&graph);
        let x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
        for advice in [4, 5, 7, 10, 12] {
            let layout = choose_layout(&graph, &plan, &Default::default(), 20).unwrap();
            let shape = crate::circuit::shape::CircuitShape { advice, ..layout.shape };
            let trace =
                crate::circuit::lower::lower(&graph, &plan, shape, &Default::default(), std::slice::from_ref(&x))
                    .unwrap();
            assert_eq!(count_rows(&graph, &plan, advice, shape.has_phase2()), trace.rows(), "{name}, advice {advice}");
        }
    }
}

/// With commitments: the planner's rows (model and commitments) are the lowered trace's.
#[test]
fn counted_rows_with_commitments_equal_the_lowered_trace() {
    use crate::circuit::lower::{commitment_rows, lower};
    use crate::circuit::plan::count_rows;
    use crate::settings::{Mode, Visibility};
    for name in ["mlp", "lenet", "transformer"] {
        let (graph, input, _) = testdata(name);
        let plan = plan_for(&graph);
        let x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
        for (i, o) in [(Mode::Hashed, Mode::Public), (Mode::Private, Mode::Hashed), (Mode::Hashed, Mode::Hashed)] {
            let vis = Visibility::new(i, o, Mode::Fixed).unwrap();
            let layout = choose_layout(&graph, &plan, &vis, 20).unwrap();
            assert!(layout.shape.poseidon && layout.shape.advice >= 6);
            let trace = lower(&graph, &plan, layout.shape, &vis, std::slice::from_ref(&x)).unwrap();
            let advice = layout.shape.advice;
            let counted = count_rows(&graph, &plan, advice, layout.shape.has_phase2())
                + commitment_rows(&graph, &plan, &vis, advice);
            assert_eq!((counted, layout.rows), (trace.rows(), trace.rows()), "{name}, {vis:?}");
        }
    }
}

/// A ReLU right on a model input (found by the ONNX backend sweep: it was fused into the input's
/// range check, which does not apply ReLU, and so disappeared).
#[test]
fn relu_of_a_model_input_is_kept() {
    use crate::ir::{Node, Op};
    let node = |name: &str, op, inputs| Node { name: name.into(), op, inputs, shape: vec![1, 4] };
    let graph = Graph {
        nodes: vec![node("x", Op::Input { index: 0, kind: Default::default() }, vec![]), node("r", Op::Relu, vec![0])],
        outputs: vec![1],
    };
    let plan = plan_for(&graph);
    let values = evaluate(&graph, &plan, &[vec![-3, 5, 0, -1]]).unwrap();
    assert_eq!(values[1], vec![0, 5, 0, 0]);
    let layout = choose_layout(&graph, &plan, &Default::default(), 20).unwrap();
    let (trace, wires) =
        crate::circuit::lower::lower_with_wires(&graph, &plan, layout.shape, &[vec![-3, 5, 0, -1]]).unwrap();
    assert_eq!(wires[1].iter().map(|&w| trace.value(w)).collect::<Vec<_>>(), vec![0, 5, 0, 0]);
}

/// For every kind of op in the models of the nonlinear and structural ops: change one value the
/// op computes in an honest trace, and MockProver must reject it.
#[test]
fn a_changed_value_of_every_op_is_rejected() {
    use crate::circuit::ZkCircuit;
    use halo2_proofs::dev::MockProver;
    for name in [
        "structure",
        "cnn",
        "transformer",
        "activations",
        "logic",
        "functions",
        "reductions",
        "embedding",
        "indexing",
        // GatherND and the scatters by computed indices: one-hots, their products, the updates.
        "scatter",
        "recurrent",
    ] {
        let (graph, input, _) = testdata(name);
        let plan = plan_for(&graph);
        let x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
        let layout = choose_layout(&graph, &plan, &Default::default(), 20).unwrap();
        let (trace, wires) = crate::circuit::lower::lower_with_wires(&graph, &plan, layout.shape, &[x]).unwrap();
        let mut seen = std::collections::HashSet::new();
        for (id, node) in graph.nodes.iter().enumerate() {
            // One node of each kind, and only where the op itself computes its output.
            let kind = format!("{}{}", node.op.kind(), if plan.nodes[id].requant.is_some() { "+rescale" } else { "" });
            let moves_only = matches!(plan.nodes[id].op, QOp::Copy { .. }) && plan.nodes[id].requant.is_none();
            if moves_only || matches!(node.op, crate::ir::Op::Input { .. }) || !seen.insert(kind.clone()) {
                continue;
            }
            let mut t = trace.clone();
            let w = wires[id][0];
            t.tamper_wire(w, t.value(w) + 1);
            let circuit = ZkCircuit::with_witness(t, crate::circuit::KeyDigest::default());
            let instances = circuit.instances();
            let result = MockProver::run(layout.shape.k, &circuit, vec![instances]).unwrap().verify();
            assert!(result.is_err(), "{name}: a changed output of {} ({kind}) was accepted", node.name);
        }
    }
}

/// Keygen lays out the circuit on zero inputs without checking values: the same gates and fixed
/// columns as a proving trace, even where zeros leave the ranges (here every range is 2 bits).
#[test]
fn the_keygen_trace_has_the_proving_traces_rows_and_constants() {
    use crate::circuit::lower::{lower, lower_structure};
    for &name in MODELS {
        let (graph, input, _) = testdata(name);
        let plan = plan_for(&graph);
        let x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
        let shape = choose_layout(&graph, &plan, &Default::default(), 20).unwrap().shape;
        let proving = lower(&graph, &plan, shape, &Default::default(), std::slice::from_ref(&x)).unwrap();
        let keygen = lower_structure(&graph, &plan, shape, &Default::default()).unwrap();
        assert_eq!(keygen.gates, proving.gates, "{name}");
        assert_eq!(keygen.fixed, proving.fixed, "{name}");
        assert_eq!(keygen.tables, proving.tables, "{name}");

        let ranged = graph
            .nodes
            .iter()
            .zip(&plan.nodes)
            .filter(|(_, q)| q.requant.is_some() || matches!(q.op, QOp::Lookup { .. }));
        let tight: RangeBits = ranged.map(|(n, _)| (n.name.clone(), 2)).collect();
        let tight_plan = QuantPlan::build(
            &graph,
            &Scales { input: 7, param: 7, table_bits: 10 },
            &[InputRange { min: -4.0, max: 4.0 }],
            &tight,
            Weights::InKey,
        )
        .unwrap();
        let shape = choose_layout(&graph, &tight_plan, &Default::default(), 20).unwrap().shape;
        let keygen = lower_structure(&graph, &tight_plan, shape, &Default::default()).unwrap();
        assert_eq!(
            keygen.rows(),
            crate::circuit::plan::count_rows(&graph, &tight_plan, shape.advice, shape.has_phase2()),
            "{name}"
        );
    }
}

/// Table entries are part of the verifying key: they must not depend on the machine's math
/// library. These were computed independently (f(x / 16) * 2^16, rounded); none lies near a
/// rounding boundary, so any correct implementation gives them, and `libm` always does.
#[test]
fn function_tables_have_fixed_values() {
    use crate::ir::Func;
    let expected: &[(Func, [(i128, i128); 3])] = &[
        (Func::Sigmoid, [(16, 47911), (-24, 11955), (37, 59632)]),
        (Func::Tanh, [(16, 49912), (-24, -59320), (37, 64263)]),
        (Func::Exp, [(16, 178145), (-24, 14623), (37, 661890)]),
        (Func::Log, [(16, 0), (37, 54941), (37, 54941)]),
        (Func::Erf, [(16, 55227), (-24, -63315), (37, 65466)]),
        (Func::Gelu, [(16, 55138), (-24, -6567), (37, 149980)]),
        (Func::Sin, [(16, 55147), (-24, -65372), (37, 48321)]),
        (Func::Cos, [(16, 35409), (-24, 4636), (37, -44273)]),
        (Func::Atan, [(16, 51472), (-24, -64408), (37, 76195)]),
        (Func::Asin, [(8, 34315), (-12, -55579), (15, 79651)]),
        (Func::Acos, [(8, 68629), (-12, 158522), (15, 23293)]),
        (Func::Sinh, [(16, 77018), (-24, -139544), (37, 327701)]),
        (Func::Cosh, [(16, 101127), (-24, 154168), (37, 334190)]),
        (Func::Asinh, [(16, 57762), (-24, -78300), (37, 103236)]),
        (Func::Acosh, [(8, 0), (24, 63073), (37, 97063)]),
        (Func::Atanh, [(8, 35999), (-12, -63764), (15, 112525)]),
        (Func::Mish, [(16, 56695), (-24, -19536), (37, 149112)]),
        (Func::Pow { exponent: 1.5 }, [(16, 65536), (-24, 0), (37, 230464)]),
    ];
    for (func, entries) in expected {
        let t = table::FuncTable { func: *func, in_exp: -4, out_scale: 16, bound: 64 };
        for &(x, y) in entries {
            assert_eq!(t.value(x), Some(y), "{} at {x}/16", func.name());
        }
    }
}

/// Issue 15, bug 3: a mean over 300 elements kept 1/300 as round(2^8 / 300) = 1, a 15% error
/// (and 0 at small scales). Its reciprocal now keeps the weight scale's precision.
#[test]
fn a_mean_over_many_elements_keeps_its_precision() {
    use crate::ir::{Node, Op};
    let n = 300;
    let graph = Graph {
        nodes: vec![
            Node {
                name: "x".into(),
                op: Op::Input { index: 0, kind: Default::default() },
                inputs: vec![],
                shape: vec![1, n],
            },
            Node {
                name: "mean".into(),
                op: Op::Reduce { windows: vec![(0..n).collect()], mean: true },
                inputs: vec![0],
                shape: vec![1, 1],
            },
        ],
        outputs: vec![1],
    };
    for (sa, sp) in [(8, 8), (8, 4), (12, 6)] {
        let scales = Scales { input: sa, param: sp, table_bits: 10 };
        let ranges = [InputRange { min: -2.0, max: 2.0 }];
        let plan = QuantPlan::build(&graph, &scales, &ranges, &RangeBits::new(), Weights::InKey).unwrap();
        let xs: Vec<f64> = (0..n).map(|i| ((i * 37 % 101) as f64 / 50.0 - 1.0) * 1.5 + 0.2).collect();
        let q: Vec<i128> = xs.iter().map(|&v| quantize(v, sa)).collect();
        let got = evaluate(&graph, &plan, &[q]).unwrap()[1][0] as f64 / pow2(plan.nodes[1].scale as i32);
        let want = xs.iter().sum::<f64>() / n as f64;
        // Input rounding (2^-(sa+1)), the reciprocal (2^-(sp+1) of the largest term), the rescale.
        let bound = pow2(-(sa as i32)) + 2.0 * pow2(-(sp as i32 + 1)) + pow2(-(plan.nodes[1].scale as i32));
        assert!((got - want).abs() <= bound, "scales {sa}/{sp}: {got} vs {want}");
        let layout = choose_layout(&graph, &plan, &Default::default(), 20).unwrap();
        let trace = crate::circuit::lower::lower(
            &graph,
            &plan,
            layout.shape,
            &Default::default(),
            &[xs.iter().map(|&v| quantize(v, sa)).collect()],
        )
        .unwrap();
        crate::chips::tests::testing::assert_satisfied(&trace);
    }
}

/// Comparisons and logic on activations (testdata/logic): every boolean the evaluator computes is
/// onnxruntime's exactly, Sign too; Where picks the same branch.
#[test]
fn comparisons_and_logic_match_onnxruntime_exactly() {
    let (got, expected) = evaluated_output("logic");
    // 10 branches of 12 booleans (Sign: -1, 0, 1), Where's 12 values, then Hardmax's one-hot.
    assert_eq!(got[..120], expected[..120]);
    for (g, e) in got[120..132].iter().zip(&expected[120..132]) {
        assert!((g - e).abs() < 0.05, "{g} vs {e}");
    }
    assert_eq!(got[132..], expected[132..]);
}

/// TopK (with ties: lowest index first), GatherND and ScatterND on testdata/selection, whose
/// input values are multiples of 1/4: every value and index equals onnxruntime's exactly.
#[test]
fn top_k_and_nd_indexing_match_onnxruntime_exactly() {
    let (got, expected) = evaluated_output("selection");
    assert_eq!(got, expected);
}

/// A testdata model's first output from the evaluator at scale 2^7 (dequantized), and
/// onnxruntime's.
fn evaluated_output(name: &str) -> (Vec<f64>, Vec<f64>) {
    let (graph, input, expected) = testdata(name);
    let plan = plan_for(&graph);
    let x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
    let values = evaluate(&graph, &plan, &[x]).unwrap();
    let out = graph.outputs[0];
    let unit = pow2(plan.nodes[out].scale as i32);
    (values[out].iter().map(|&v| v as f64 / unit).collect(), expected)
}

/// An RNN in the batch-first layout (which onnxruntime does not run) computes exactly what the
/// same RNN computes in the sequence-first layout (testdata/recurrent/batch_first.onnx).
#[test]
fn a_batch_first_recurrent_layer_equals_the_sequence_first_one() {
    let path = format!("{}/../testdata/recurrent/batch_first.onnx", env!("CARGO_MANIFEST_DIR"));
    let graph = load_onnx(&std::fs::read(&path).unwrap(), &path).unwrap();
    let (_, input, _) = testdata("recurrent");
    let plan = plan_for(&graph);
    let x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
    let values = evaluate(&graph, &plan, &[x]).unwrap();
    let [seq_first, batch_first] = [0, 1].map(|i| values[graph.outputs[i]].clone());
    assert_eq!(seq_first.len(), 2);
    assert!(seq_first.iter().any(|&v| v != 0), "an all-zero state would prove nothing");
    assert_eq!(seq_first, batch_first);
}

/// Floor, Ceil and Round on activations: exact on the quantized values (ties round up), proven.
#[test]
fn floor_ceil_and_round_are_exact_on_the_quantized_values() {
    use crate::ir::{Node, Op, RoundMode};
    let n = 33;
    for mode in [RoundMode::Floor, RoundMode::Ceil, RoundMode::Nearest] {
        let graph = Graph {
            nodes: vec![
                Node {
                    name: "x".into(),
                    op: Op::Input { index: 0, kind: Default::default() },
                    inputs: vec![],
                    shape: vec![1, n],
                },
                Node { name: "r".into(), op: Op::Round { mode }, inputs: vec![0], shape: vec![1, n] },
            ],
            outputs: vec![1],
        };
        let plan = plan_for(&graph);
        // Scale 2^7: every multiple of 1/8 from -2 to 2, halves and whole numbers included.
        let x: Vec<i128> = (0..n as i128).map(|i| (i - 16) * 16).collect();
        let got = evaluate(&graph, &plan, std::slice::from_ref(&x)).unwrap()[1].clone();
        assert_eq!(plan.nodes[1].scale, 0);
        let want: Vec<i128> = x
            .iter()
            .map(|&v| {
                let f = v as f64 / 128.0;
                let r = match mode {
                    RoundMode::Floor => f.floor(),
                    RoundMode::Ceil => f.ceil(),
                    RoundMode::Nearest => (f + 0.5).floor(),
                };
                r as i128
            })
            .collect();
        assert_eq!(got, want, "{mode:?}");
        let layout = choose_layout(&graph, &plan, &Default::default(), 20).unwrap();
        let trace = crate::circuit::lower::lower(&graph, &plan, layout.shape, &Default::default(), &[x]).unwrap();
        crate::chips::tests::testing::assert_satisfied(&trace);
    }
}

/// A mean over windows of different lengths (3-D pooling at the borders, uneven windows) divides
/// each window by its own length.
#[test]
fn means_over_windows_of_different_lengths_divide_by_their_own() {
    use crate::ir::{Node, Op};
    let windows = vec![vec![0], vec![1, 2], vec![3, 4, 5], vec![0, 1, 2, 3, 4]];
    let graph = Graph {
        nodes: vec![
            Node {
                name: "x".into(),
                op: Op::Input { index: 0, kind: Default::default() },
                inputs: vec![],
                shape: vec![1, 6],
            },
            Node {
                name: "mean".into(),
                op: Op::Reduce { windows: windows.clone(), mean: true },
                inputs: vec![0],
                shape: vec![4],
            },
        ],
        outputs: vec![1],
    };
    let x = [1.5, -2.0, 3.25, 0.5, 7.0, -1.0];
    let scales = Scales { input: 8, param: 8, table_bits: 10 };
    let plan =
        QuantPlan::build(&graph, &scales, &[InputRange { min: -8.0, max: 8.0 }], &RangeBits::new(), Weights::InKey)
            .unwrap();
    let xq: Vec<i128> = x.iter().map(|&v| quantize(v, 8)).collect();
    let got = &evaluate(&graph, &plan, &[xq]).unwrap()[1];
    let unit = pow2(plan.nodes[1].scale as i32);
    for (w, g) in windows.iter().zip(got) {
        let want = w.iter().map(|&i| x[i]).sum::<f64>() / w.len() as f64;
        assert!((*g as f64 / unit - want).abs() <= 1.0 / unit, "window {w:?}: {} vs {want}", *g as f64 / unit);
    }
}

/// ONNX's integer semantics (issue 27's integer_div, EZKL's bitshift): a Div of int64s and a Cast
/// from float to int32 truncate toward zero, negative values included. The evaluator gives
/// onnxruntime's outputs exactly, and the circuit equals the evaluator.
#[test]
fn integer_division_and_casts_truncate_as_onnx_does() {
    let (graph, input, expected) = testdata("integer");
    let scales = Scales { input: 4, param: 7, table_bits: 10 };
    let ranges = [InputRange { min: -32.0, max: 32.0 }];
    let plan = QuantPlan::build(&graph, &scales, &ranges, &RangeBits::new(), Weights::InKey).unwrap();
    // The int64 input sits at 2^0 (`InputKind::scale`).
    let s = crate::input_kind(&graph.nodes[graph.input_ids()[0]]).scale(4);
    let x: Vec<i128> = input.iter().map(|&v| quantize(v, s)).collect();
    let spec = evaluate(&graph, &plan, std::slice::from_ref(&x)).unwrap();
    let out = graph.outputs[0];
    let unit = (plan.nodes[out].scale as f64).exp2();
    let got: Vec<f64> = spec[out].iter().map(|&v| v as f64 / unit).collect();
    assert_eq!(got, expected, "-7 / 3 is -2 and (int)(-2.59) is -2, as onnxruntime gives");
    let layout = choose_layout(&graph, &plan, &Default::default(), 20).unwrap();
    let (trace, wires) = crate::circuit::lower::lower_with_wires(&graph, &plan, layout.shape, &[x]).unwrap();
    for (id, ws) in wires.iter().enumerate() {
        let circuit: Vec<i128> = ws.iter().map(|&w| trace.value(w)).collect();
        assert_eq!(spec[id], circuit, "node {} ({}) differs", id, graph.nodes[id].name);
    }
}

/// An integer input (token ids) is planned at 2^0 with its index range [0, 9] as whole numbers:
/// the input chip's range check then proves each id whole (a field fraction fails it:
/// `chips::tests::input::a_fractional_input_fails`), where at 2^s a prover could give a
/// multiple of 2^-s, an id ONNX cannot take, whose one-hot selects nothing.
#[test]
fn an_integer_input_is_planned_whole_at_scale_one() {
    let (graph, _, _) = testdata("tokens");
    let ranges = crate::default_input_ranges(&graph);
    let plan = QuantPlan::build(
        &graph,
        &Scales { input: 8, param: 8, table_bits: 10 },
        &ranges,
        &RangeBits::new(),
        Weights::InKey,
    )
    .unwrap();
    let id = graph.input_ids()[0];
    match plan.nodes[id].op {
        QOp::Input { lo, hi, .. } => assert_eq!((lo, hi, plan.nodes[id].scale), (0, 9, 0)),
        ref other => panic!("{other:?}"),
    }
    // 2.5 quantized at the input's scale is not in the evaluator's domain: refused, not zeros.
    let half_id: Vec<i128> = vec![quantize(2.5, 8); 6];
    assert!(evaluate(&graph, &plan, &[half_id]).is_err());
}
