//! scikit-learn exports (tree ensembles, pipelines) against the float model.

use crate::common::*;
use std::path::Path;

/// scikit-learn models exported by skl2onnx as they are (tree ensembles; pipelines of Scaler,
/// LinearClassifier, Normalizer, ZipMap; a LinearRegressor): calibrated on the training split,
/// proven and verified; on the test split every sample is in range and a classifier's proven
/// class (label, and argmax of the probabilities) is the float model's on every sample.
#[test]
fn scikit_learn_exports_prove_and_agree_with_the_float_model_on_the_test_split() {
    let dir = tempfile::tempdir().unwrap();
    // boosted and pipeline_binary: a test sample's probability is 0.4974 (0.5062), so its class
    // needs an error below 0.0026 (0.0062); the default 1% bound allows 0.0086. `on_threshold`:
    // test samples whose feature equals a split threshold (forest's samples 17 and 40, at
    // distance 0 and 6e-8): the quantized input lands on either side whatever the scale, so
    // their class may differ (docs/ops.md, tree ensembles); every other sample must agree.
    for (model, max_error, classifier, on_threshold) in [
        ("tree", "0.01", true, 0),
        ("forest", "0.01", true, 2),
        ("boosted", "0.002", true, 0),
        ("pipeline", "0.01", true, 0),
        ("pipeline_binary", "0.005", true, 0),
        ("linear_regression", "3", false, 0),
    ] {
        let art = calibrate_and_prove(model, dir.path(), max_error);
        let proof = art.join("proof.json");
        let stdout = ok(zk(&[&"verify", &art, &"-p", &proof, &"--json"]));
        let public: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        let expected = json(&testdata(model, "expected.json"))["input"].clone();
        let outputs = public["outputs"].as_array().unwrap();
        assert_eq!(outputs.len(), expected.as_array().unwrap().len(), "{model}");
        let tolerance: f64 = max_error.parse().unwrap();
        for (o, (got, want)) in outputs.iter().zip(expected.as_array().unwrap()).enumerate() {
            for (a, b) in floats(got).iter().zip(floats(want)) {
                assert!((a - b).abs() <= 2.0 * tolerance, "{model}: output {o} is {a}, onnxruntime {b}");
            }
        }
        let report = art.join("test_report.json");
        ok(zk(&[&"report", &art, &"--data", &testdata(model, "test.json"), &"--json", &report]));
        let report = json(&report);
        assert_eq!(report["out_of_range"], 0, "{model}: {report}");
        for (o, output) in report["error"]["outputs"].as_array().unwrap().iter().enumerate().filter(|_| classifier) {
            let samples = report["samples"].as_f64().unwrap();
            match output["top1_agreement"].as_f64() {
                Some(agree) => assert!(
                    agree * samples >= samples - on_threshold as f64 - 1e-9,
                    "{model}: output {o} top-1 on the test split agrees on {agree}"
                ),
                // The label: exactly the float model's.
                None => assert_eq!(output["max_abs"].as_f64(), Some(0.0), "{model}: label on the test split"),
            }
        }
    }
}

/// A gradient-boosted regressor (TreeEnsembleRegressor, which tract cannot run): proven at the
/// default scales, and calibrated against the IR in floating point, the calibration saying tract
/// could not cross-check it; its prediction onnxruntime's.
#[test]
fn a_tree_ensemble_regressor_proves_and_calibrates_without_tract() {
    let dir = tempfile::tempdir().unwrap();
    let want = floats(&json(&testdata("regressor", "expected.json"))["input"][0]);
    let art = prove_model("regressor", dir.path());
    let verified = |art: &Path| {
        let stdout = ok(zk(&[&"verify", &art, &"-p", &art.join("proof.json"), &"--json"]));
        let public: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        floats(&public["outputs"][0])
    };
    let got = verified(&art);
    assert_eq!(got.len(), 1);
    assert!((got[0] - want[0]).abs() <= 0.05, "proved {} where onnxruntime gives {}", got[0], want[0]);
    let calibrated = calibrate_and_prove("regressor", &dir.path().join("calibrated"), "0.5");
    let report = json(&calibrated.join("calibration.json"));
    let reason = report["reference"]["unavailable"]["reason"].as_str().unwrap();
    assert!(reason.contains("TreeEnsembleRegressor"), "{reason}");
    let got = verified(&calibrated);
    assert!((got[0] - want[0]).abs() <= 0.5, "proved {} where onnxruntime gives {}", got[0], want[0]);
}
