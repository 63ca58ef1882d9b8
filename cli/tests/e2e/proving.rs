//! Models through compile, calibrate, setup, prove and verify, close to onnxruntime.

use crate::common::*;
use crate::evm::{check_on_evm, solc_available};
use std::path::Path;

#[test]
fn every_testdata_model_proves_and_verifies_close_to_onnxruntime() {
    let dir = tempfile::tempdir().unwrap();
    for model in ["mlp", "lenet", "mixed", "pooling", "logic", "embedding", "tokens"] {
        let art = prove_model(model, dir.path());
        let stdout = ok(zk(&[&"verify", &art, &"-p", &art.join("proof.json")]));
        let printed = stdout.split("outputs: ").nth(1).unwrap();
        let verified: Vec<Vec<f64>> = serde_json::from_str(printed.trim()).unwrap();
        let expected = floats(&json(&testdata(model, "expected.json"))["input"][0]);
        let err = verified[0].iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(err <= OUTPUT_BOUND, "{model}: max error {err} > {OUTPUT_BOUND}");
        // Same top-1 class as the float model.
        let argmax = |v: &[f64]| v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(argmax(&verified[0]), argmax(&expected), "{model}: top-1 differs");
    }
}

/// The models of issue 4 (lookups, divisions, products of activations, structural ops): calibrated,
/// proven and verified, each output within `rel` of onnxruntime (relative to max(1, |value|)), or
/// within the calibration's own bound for `activations`, whose outputs reach ~70 (exp) and whose
/// log near 0 is as coarse as --max-error 0.2 lets its table be.
#[test]
fn nonlinear_and_structural_models_calibrate_prove_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    // (model, --max-error for calibration, relative tolerance, absolute tolerance)
    for (model, max_error, rel, abs) in [
        ("cnn", "0.05", 0.02, 0.0),
        ("transformer", "0.05", 0.05, 0.0),
        ("activations", "0.2", 0.02, 0.25),
        ("structure", "0.05", 0.02, 0.0),
        ("indexing", "0.05", 0.02, 0.0),
        ("onehot_lppool", "0.05", 0.02, 0.0),
        // Negative indices count from the end; a OneHot whose classes are axis 1.
        ("wrapping", "0.05", 0.02, 0.0),
        // x^-0.1 by lookup, 2^x as exp(x ln 2).
        ("powers", "0.05", 0.02, 0.0),
        // floor(x / 0.5) * 0.5 and a comparison times 0.25: fractions of whole numbers.
        ("fractions", "0.02", 0.02, 0.0),
        // GatherND, ScatterElements and ScatterND by computed indices, duplicates included.
        ("scatter", "0.02", 0.02, 0.0),
        ("conv3d", "0.02", 0.03, 0.0),
        ("recurrent", "0.02", 0.02, 0.0),
        // TopK and ND indexing move the inputs' values (multiples of 1/4): exact.
        ("selection", "0.02", 0.0, 1e-12),
    ] {
        let art = calibrate_and_prove(model, dir.path(), max_error);
        let proof = art.join("proof.json");
        let stdout = ok(zk(&[&"verify", &art, &"-p", &proof]));
        let printed = stdout.split("outputs: ").nth(1).unwrap();
        let verified: Vec<Vec<f64>> = serde_json::from_str(printed.trim()).unwrap();
        let expected = floats(&json(&testdata(model, "expected.json"))["input"][0]);
        assert_eq!(verified[0].len(), expected.len(), "{model}");
        for (i, (a, b)) in verified[0].iter().zip(&expected).enumerate() {
            let tolerance = (rel * b.abs().max(1.0)).max(abs);
            assert!((a - b).abs() <= tolerance, "{model}: output {i} is {a}, onnxruntime {b}");
        }
    }
}

/// Issue 11: the reference CNN at a reduced size, its convolutions proven by random checks,
/// calibrated, proven and verified close to onnxruntime; compiled with `--no-random-checks` it
/// takes more rows and its witness holds exactly the same outputs (one integer semantics). The
/// EVM verifier checks the second phase too (its challenge, its columns), and rejects tampering.
#[test]
fn the_reference_cnn_proves_its_convolutions_by_random_checks() {
    let dir = tempfile::tempdir().unwrap();
    let art = calibrate_and_prove("refcnn", dir.path(), "0.02");
    let settings = json(&art.join("settings.json"));
    let chips = settings["circuit"]["chips"].as_array().unwrap();
    assert!(chips.iter().any(|c| c == "freivalds"), "{chips:?}");
    let stdout = ok(zk(&[&"verify", &art, &"-p", &art.join("proof.json")]));
    let printed = stdout.split("outputs: ").nth(1).unwrap();
    let verified: Vec<Vec<f64>> = serde_json::from_str(printed.trim()).unwrap();
    let expected = floats(&json(&testdata("refcnn", "expected.json"))["input"][0]);
    for (i, (a, b)) in verified[0].iter().zip(&expected).enumerate() {
        assert!((a - b).abs() <= 0.02, "output {i} is {a}, onnxruntime {b}");
    }
    if solc_available("the_reference_cnn_proves_its_convolutions_by_random_checks") {
        // The prover's layout (12 columns and the second phase's 4) is past EIP-170.
        check_on_evm(&art, &art.join("proof.json"), &["--no-size-limit"]);
    }

    let (random, dots) = (dir.path().join("random"), dir.path().join("dots"));
    ok(zk(&[&"compile", &testdata("refcnn", "model.onnx"), &"-o", &random]));
    ok(zk(&[&"compile", &testdata("refcnn", "model.onnx"), &"-o", &dots, &"--no-random-checks"]));
    let rows = |art: &Path| json(&art.join("settings.json"))["rows"].as_u64().unwrap();
    assert!(rows(&random) * 2 < rows(&dots), "{} rows with random checks, {} without", rows(&random), rows(&dots));
    assert_eq!(json(&dots.join("settings.json"))["random_checks"], false);
    let input = testdata("refcnn", "input.json");
    for art in [&random, &dots] {
        ok(zk(&[&"gen-witness", art, &"-i", &input, &"-o", &art.join("witness.json")]));
    }
    assert_eq!(json(&random.join("witness.json"))["outputs"], json(&dots.join("witness.json"))["outputs"]);
}

#[test]
fn calibrated_settings_prove_and_refuse_inputs_beyond_their_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("lenet");
    ok(zk(&[&"compile", &testdata("lenet", "model.onnx"), &"-o", &art]));
    let out = ok(zk(&[&"calibrate", &art, &"--data", &testdata("lenet", "calib.json"), &"--target", &"resources"]));
    assert!(out.contains("calibrated on 8 samples"), "{out}");
    let report = json(&art.join("calibration.json"));
    assert_eq!(report["samples"], 8);
    assert!(report["error"]["max_abs"].as_f64().unwrap() <= 0.05);

    // The new settings prove end to end.
    ok(zk(&[&"setup", &art]));
    let w = art.join("witness.json");
    ok(zk(&[&"gen-witness", &art, &"-i", &testdata("lenet", "input.json"), &"-o", &w]));
    ok(zk(&[&"prove", &art, &"-w", &w, &"-o", &art.join("proof.json")]));
    ok(zk(&[&"verify", &art, &"-p", &art.join("proof.json")]));

    // An input inside the calibrated input range whose activations leave their ranges: the
    // error names the node and the range, and says how to fix it.
    let bright = dir.path().join("bright.json");
    std::fs::write(&bright, format!(r#"{{"input_data": [[{}]]}}"#, vec!["1.45"; 784].join(","))).unwrap();
    let line = refused(zk(&[&"gen-witness", &art, &"-i", &bright, &"-o", &dir.path().join("w2.json")]));
    assert!(line.contains("node /") && line.contains("outside the range") && line.contains("calibrate"), "{line}");

    // `report` measures the current settings on any data.
    let out = ok(zk(&[&"report", &art, &"--data", &testdata("lenet", "calib.json")]));
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["out_of_range"], 0);
    assert_eq!(r["samples"], 8);
}

#[test]
fn a_given_srs_is_downsized_and_must_be_the_same_for_setup_prove_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("mlp");
    ok(zk(&[&"compile", &testdata("mlp", "model.onnx"), &"-o", &art]));
    let k = json(&art.join("settings.json"))["circuit"]["k"].as_u64().unwrap();
    // A larger SRS than the circuit needs: setup downsizes it.
    let srs = dir.path().join("big.srs");
    ok(zk(&[&"gen-srs", &"--k", &(k + 2).to_string(), &"-o", &srs]));
    ok(zk(&[&"setup", &art, &"--srs", &srs]));
    let w = art.join("witness.json");
    ok(zk(&[&"gen-witness", &art, &"-i", &testdata("mlp", "input.json"), &"-o", &w]));
    let proof = art.join("proof.json");

    // Proving with another SRS (here: the cached dev one) is refused before any work.
    let line = refused(zk(&[&"prove", &art, &"-w", &w, &"-o", &proof]));
    assert!(line.contains("not the one `zkonnx setup` used"), "{line}");

    ok(zk(&[&"prove", &art, &"-w", &w, &"-o", &proof, &"--srs", &srs]));
    ok(zk(&[&"verify", &art, &"-p", &proof, &"--srs", &srs]));
    ok(zk(&[&"verify", &art, &"-p", &proof]));

    // Verifying against another SRS is refused.
    let other = dir.path().join("other.srs");
    ok(zk(&[&"gen-srs", &"--k", &(k + 1).to_string(), &"-o", &other]));
    let line = refused(zk(&[&"verify", &art, &"-p", &proof, &"--srs", &other]));
    assert!(line.contains("not the one the keys were made with"), "{line}");

    // A file that is not an SRS.
    let junk = dir.path().join("junk.srs");
    std::fs::write(&junk, b"not an srs at all").unwrap();
    let line = refused(zk(&[&"setup", &art, &"--srs", &junk]));
    assert!(line.contains("not a valid SRS file"), "{line}");
}

/// Issue 15, bug 1: LeakyRelu and PRelu with no function lookup once compiled to settings every
/// later command refused ("its plan needs more lookup lanes than its circuit has").
#[test]
fn leaky_relu_without_lookups_proves_compiled_and_calibrated() {
    let dir = tempfile::tempdir().unwrap();
    let art = prove_model("leaky", dir.path());
    let out = ok(zk(&[&"verify", &art, &"-p", &art.join("proof.json")]));
    assert!(out.contains("outputs"), "{out}");
    ok(zk(&[&"calibrate", &art, &"--data", &testdata("leaky", "calib.json")]));
    let proof = setup_and_prove(&art, "leaky");
    let printed: serde_json::Value =
        serde_json::from_str(&ok(zk(&[&"verify", &art, &"-p", &proof, &"--json"]))).unwrap();
    let expected = floats(&json(&testdata("leaky", "expected.json"))["input"][0]);
    for (v, e) in floats(&printed["outputs"][0]).iter().zip(&expected) {
        assert!((v - e).abs() <= OUTPUT_BOUND, "{v} vs {e}");
    }
}

/// A boolean model input (true/false in the input file) used as Where's condition and in And and
/// Not: proven at the default scales, every boolean and the picked values onnxruntime's.
#[test]
fn a_boolean_model_input_proves_as_a_condition() {
    let dir = tempfile::tempdir().unwrap();
    let art = prove_model("bool_input", dir.path());
    let stdout = ok(zk(&[&"verify", &art, &"-p", &art.join("proof.json"), &"--json"]));
    let public: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let got = floats(&public["outputs"][0]);
    let want = floats(&json(&testdata("bool_input", "expected.json"))["input"][0]);
    assert_eq!(got.len(), 24);
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!((a - b).abs() <= 2.0 / 256.0, "output {i} is {a}, onnxruntime {b}");
    }
    assert_eq!(got[8..], want[8..], "the booleans");
}

#[test]
fn the_ops_doc_lists_exactly_the_ops_zkonnx_supports() {
    let table = ok(zk(&[&"ops"]));
    let doc = std::fs::read_to_string(root().join("docs").join("ops.md")).unwrap();
    assert!(doc.contains(&table), "docs/ops.md's op table differs from `zkonnx ops`:\n{table}");
    assert!(table.lines().count() > 60, "{table}");
}
