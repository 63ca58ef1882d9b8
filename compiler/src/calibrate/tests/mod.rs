use super::*;
use crate::frontend::load_onnx;
use crate::quant::params::Weights;
use crate::quant::{quantize, RangeBits};

/// A testdata model with its calibration samples and onnxruntime's outputs for them.
fn calibration_data(name: &str) -> (Graph, Samples) {
    let dir = format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let graph = load_onnx(&std::fs::read(format!("{dir}/model.onnx")).unwrap(), name).unwrap();
    let json = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{f}")).unwrap()).unwrap()
    };
    let floats = |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>();
    let input = floats(&json("calib.json")["input_data"][0]);
    let output = floats(&json("expected.json")["calib"][0]);
    let (n_in, n_out) =
        (graph.nodes[0].shape.iter().product::<usize>(), graph.nodes[graph.outputs[0]].shape.iter().product::<usize>());
    let samples = Samples {
        inputs: input.chunks(n_in).map(|c| vec![c.to_vec()]).collect(),
        float_outputs: output.chunks(n_out).map(|c| vec![c.to_vec()]).collect(),
    };
    (graph, samples)
}

fn run(graph: &Graph, samples: &Samples, target: Target) -> (Settings, QuantPlan, Report) {
    let opts = Options { target, ..Options::default() };
    calibrate(graph, "test", samples, &opts, &|_| {}).unwrap()
}

#[test]
fn accuracy_is_no_worse_and_resources_no_larger_on_every_model() {
    for name in ["mlp", "lenet", "mixed", "pooling"] {
        let (graph, samples) = calibration_data(name);
        let (res, _, res_report) = run(&graph, &samples, Target::Resources);
        let (acc, _, acc_report) = run(&graph, &samples, Target::Accuracy);
        let (res_err, acc_err) = (res_report.error.unwrap(), acc_report.error.unwrap());
        assert!(
            acc_err.max_abs <= res_err.max_abs,
            "{name}: accuracy {} > resources {}",
            acc_err.max_abs,
            res_err.max_abs
        );
        assert!(res.circuit.k <= acc.circuit.k, "{name}: resources k {} > accuracy k {}", res.circuit.k, acc.circuit.k);
        assert!(res_err.over(Options::default().max_error).is_none(), "{name}: {}", res_err.max_abs);
        assert_eq!(res_err.top1_agreement(), 1.0, "{name}");
    }
}

#[test]
fn every_calibration_sample_evaluates_within_the_chosen_ranges() {
    // The runtime also mocks each sample; here: the evaluator, with the circuit's range checks.
    for name in ["lenet", "mixed"] {
        let (graph, samples) = calibration_data(name);
        let (settings, plan, _) = run(&graph, &samples, Target::Resources);
        for sample in &samples.inputs {
            let x: Vec<Vec<i128>> =
                sample.iter().map(|v| v.iter().map(|&f| quantize(f, settings.scales.input)).collect()).collect();
            crate::circuit::lower::lower(&graph, &plan, settings.circuit, &settings.visibility, &x).unwrap();
        }
    }
}

#[test]
fn calibrated_ranges_are_tighter_than_static_bounds() {
    let (graph, samples) = calibration_data("lenet");
    let (settings, _, _) = run(&graph, &samples, Target::Resources);
    let ranges = input_ranges(&graph, &samples, 0.5);
    let static_plan = QuantPlan::build(&graph, &settings.scales, &ranges, &RangeBits::new(), Weights::InKey).unwrap();
    let static_bits: Vec<u32> = static_plan.nodes.iter().filter_map(|q| q.requant.map(|r| r.bits)).collect();
    let calibrated: Vec<u32> = settings.rescales.iter().map(|r| r.requant.bits).collect();
    assert_eq!(static_bits.len(), calibrated.len());
    assert!(calibrated.iter().zip(&static_bits).all(|(c, s)| c <= s), "{calibrated:?} vs {static_bits:?}");
    assert!(calibrated.iter().sum::<u32>() < static_bits.iter().sum::<u32>());
}

#[test]
fn an_impossible_bound_is_refused_with_the_best_error() {
    let (graph, samples) = calibration_data("mlp");
    let opts = Options { max_error: ErrorBound::Absolute(1e-9), ..Options::default() };
    let err = calibrate(&graph, "test", &samples, &opts, &|_| {}).unwrap_err().to_string();
    assert!(err.contains("no settings keep the error within 0.000000001") && err.contains("--max-error"), "{err}");
}

#[test]
fn the_default_bound_is_relative_to_each_output() {
    let output = |max_abs: f64, max_float: f64| OutputError {
        mean_abs: max_abs,
        max_abs,
        mean_rel: 0.0,
        top1_agreement: None,
        max_float,
        flat: false,
    };
    // 0.02 is within 1% of outputs up to 3, not of outputs up to 0.03 (the scikit-learn MLP's case).
    let stats =
        |o: Vec<OutputError>| ErrorStats { max_abs: o.iter().map(|o| o.max_abs).fold(0.0, f64::max), outputs: o };
    let bound = ErrorBound::default();
    assert!(stats(vec![output(0.02, 3.0)]).over(bound).is_none());
    assert_eq!(stats(vec![output(0.001, 3.0), output(0.02, 0.03)]).over(bound), Some((1, 0.02, 0.01 * 0.03)));
    assert!(stats(vec![output(0.02, 0.03)]).over(ErrorBound::Absolute(0.05)).is_none());
}

#[test]
fn an_output_without_signal_is_never_accepted() {
    // Quantized outputs all 0 while the floats vary: flat, whatever the bound.
    let float = vec![vec![vec![0.01, -0.02]], vec![vec![0.03, 0.0]]];
    let quantized = vec![vec![vec![0.0, 0.0]], vec![vec![0.0, 0.0]]];
    let stats = ErrorStats::compare(&quantized, &float);
    assert!(stats.outputs[0].flat);
    assert!(stats.over(ErrorBound::Absolute(0.05)).is_none(), "an absolute bound alone would accept it");
    assert!(!ErrorStats::compare(&float, &float).outputs[0].flat);
}

#[test]
fn a_tie_in_the_reference_is_not_a_top_1_disagreement() {
    // Copies of one value (classes 0 and 2) that float rounding left 1 ulp apart.
    let float = vec![vec![vec![0.7, 0.1, 0.7 + 1e-16]]];
    let tied = vec![vec![vec![0.703125, 0.09375, 0.703125]]];
    assert_eq!(ErrorStats::compare(&tied, &float).top1_agreement(), 1.0);
    let other = vec![vec![vec![0.6, 0.1, 0.703125]], vec![vec![0.703125, 0.1, 0.6]]];
    let float2 = vec![vec![vec![0.7, 0.1, 0.69]], vec![vec![0.7, 0.1, 0.69]]];
    assert_eq!(ErrorStats::compare(&other, &float2).top1_agreement(), 0.5, "0.69 is not a top class");
}

#[test]
fn calibration_report_snapshots() {
    for name in ["mlp", "lenet", "mixed", "pooling"] {
        let (graph, samples) = calibration_data(name);
        let (settings, _, report) = run(&graph, &samples, Target::Resources);
        insta::assert_json_snapshot!(format!("settings_{name}"), settings);
        // Four decimals: the report is read by people, and the digits past that are noise.
        let rounded = round_floats(serde_json::to_value(&report).unwrap());
        insta::assert_json_snapshot!(format!("report_{name}"), rounded);
    }
}

fn round_floats(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap();
            serde_json::json!((x * 1e4).round() / 1e4)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(round_floats).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, round_floats(v))).collect()),
        other => other,
    }
}

/// The integer evaluator with the most accurate calibrated settings against onnxruntime on the
/// models of the nonlinear and structural ops, on every calibration sample: each output within 1%
/// of max(1, |value|) (exp reaches ~70 in `activations`). A lookup is off by up to |f'| times half
/// a table step, so this needs the larger tables (up to 2^16 entries) the search offers.
#[test]
fn calibrated_nonlinear_models_track_onnxruntime_on_every_sample() {
    for (name, rel) in [("transformer", 0.01), ("cnn", 0.01), ("activations", 0.01), ("structure", 0.01)] {
        let (graph, samples) = calibration_data(name);
        let opts = Options { target: Target::Accuracy, ..Options::default() };
        let (settings, plan, _) = calibrate(&graph, "test", &samples, &opts, &|_| {}).unwrap();
        let dir = format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/expected.json")).unwrap()).unwrap();
        let all: Vec<f64> = expected["calib"][0].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let per = all.len() / samples.inputs.len();
        for (s, sample) in samples.inputs.iter().enumerate() {
            let x: Vec<Vec<i128>> = sample
                .iter()
                .map(|v| v.iter().map(|&f| crate::quant::quantize(f, settings.scales.input)).collect())
                .collect();
            let values = crate::quant::eval::evaluate(&graph, &plan, &x).unwrap();
            let o = graph.outputs[0];
            let unit = (plan.nodes[o].scale as f64).exp2();
            for (i, (&v, &e)) in values[o].iter().zip(&all[s * per..(s + 1) * per]).enumerate() {
                let got = v as f64 / unit;
                assert!((got - e).abs() <= rel * e.abs().max(1.0), "{name} sample {s} output {i}: {got} vs {e}");
            }
        }
    }
}
