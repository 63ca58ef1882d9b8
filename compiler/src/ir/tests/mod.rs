use super::float_eval::outputs_float;
use crate::frontend::load_onnx;

/// The IR in floating point gives onnxruntime's outputs on every testdata model (the exports of
/// scikit-learn included): the translation is faithful before anything is quantized, and
/// calibration can measure against it where tract cannot run the model.
#[test]
fn the_ir_in_floating_point_gives_onnxruntimes_outputs() {
    let root = format!("{}/../testdata", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "unsupported")
        .collect();
    names.sort();
    assert!(names.len() >= 20, "{names:?}");
    let json = |name: &str, f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/{name}/{f}")).unwrap()).unwrap()
    };
    // Numbers, and true/false for boolean inputs.
    let floats = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array().unwrap().iter().map(|x| x.as_f64().or(x.as_bool().map(f64::from)).unwrap()).collect()
    };
    for name in &names {
        let graph = load_onnx(&std::fs::read(format!("{root}/{name}/model.onnx")).unwrap(), name).unwrap();
        let inputs: Vec<Vec<f64>> =
            json(name, "input.json")["input_data"].as_array().unwrap().iter().map(floats).collect();
        let got = outputs_float(&graph, &inputs).unwrap();
        let want: Vec<Vec<f64>> = json(name, "expected.json")["input"].as_array().unwrap().iter().map(floats).collect();
        assert_eq!(got.len(), want.len(), "{name}: outputs");
        for (o, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.len(), w.len(), "{name}: output {o}");
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-3 * b.abs().max(1.0),
                    "{name}: output {o} element {i} is {a}, onnxruntime {b}"
                );
            }
        }
    }
}
