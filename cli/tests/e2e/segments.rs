//! Segmented models: calibration keeps the segments; segment proofs aggregate to one proof.

use crate::common::*;
use std::path::PathBuf;
use std::process::Command;

/// A Python with Ray (`ZKONNX_PYTHON`, default python3), or None with a printed reason; CI sets
/// ZKONNX_REQUIRE_RAY, so there it must be present.
fn python_with_ray(test: &str) -> Option<String> {
    let python = std::env::var("ZKONNX_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python).args(["-c", "import ray"]).output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("ZKONNX_REQUIRE_RAY").is_none(), "ZKONNX_REQUIRE_RAY is set but {python} has no ray");
        eprintln!("{test}: the Ray part skipped, {python} has no ray (pip install ray)");
    }
    found.then_some(python)
}

/// Issue 14: testdata/transformer cut into three segments (stacked, each at most 2^13 rows),
/// proven segment by segment and aggregated by a tree of two nodes (segments 0 and 1, then that
/// node's proof and segment 2) into one proof that `verify` accepts with exactly the unsegmented
/// model's outputs; through `prove` and through the Ray driver (segment jobs, then the
/// aggregation). A changed output or accumulator instance fails; segment proofs out of order or
/// bound to another model are refused; valid segment proofs of two different inputs (their
/// boundary commitments differ) do not aggregate. (Minutes: each node has 2^21 rows.)
/// Issue 32: calibration (the README's next step after compile) keeps the segments the model was
/// compiled with, cut again for the calibrated rows.
#[test]
fn calibration_keeps_a_segmented_models_segments() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("segmented");
    ok(zk(&[&"compile", &testdata("transformer", "model.onnx"), &"-o", &art, &"--segment-logrows", &"13"]));
    ok(zk(&[&"calibrate", &art, &"--data", &testdata("transformer", "calib.json"), &"--max-error", &"0.05"]));
    let settings = json(&art.join("settings.json"));
    assert_eq!(settings["segments"]["logrows"], 13, "{settings}");
    assert!(settings["segments"]["parts"].as_array().unwrap().len() >= 2, "{settings}");
    assert!(ok(zk(&[&"inspect", &art])).contains("segment 1: nodes "));
}

#[test]
fn a_segmented_model_proves_to_one_aggregate_proof_with_the_unsegmented_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let (art, whole) = (dir.path().join("segmented"), dir.path().join("whole"));
    let model = testdata("transformer", "model.onnx");
    let input = testdata("transformer", "input.json");
    let stdout = ok(zk(&[&"compile", &model, &"-o", &art, &"--segment-logrows", &"13"]));
    assert!(stdout.contains("3 segments of at most 2^13 rows"), "{stdout}");
    assert!(stdout.contains("aggregation: 2 nodes of at most 2 proofs, 2 levels"), "{stdout}");
    let inspect = ok(zk(&[&"inspect", &art]));
    for i in 0..3 {
        assert!(inspect.contains(&format!("segment {i}: nodes ")), "{inspect}");
    }
    assert!(inspect.contains("aggregation node 0: level 0, segments 0..2; verifies segment 0, segment 1"), "{inspect}");
    assert!(
        inspect.contains("aggregation node 1 (root): level 1, segments 0..3; verifies node 0, segment 2"),
        "{inspect}"
    );
    ok(zk(&[&"compile", &model, &"-o", &whole]));
    ok(zk(&[&"gen-witness", &whole, &"-i", &input, &"-o", &whole.join("witness.json")]));
    let unsegmented = json(&whole.join("witness.json"))["outputs"].clone();

    ok(zk(&[&"setup", &art]));
    let witness = art.join("witness.json");
    ok(zk(&[&"gen-witness", &art, &"-i", &input, &"-o", &witness]));
    // One aggregate proof (each costs minutes): by the Ray driver (a job per segment, then the
    // aggregation, on a local cluster) where Ray is installed, as CI requires; else in-process.
    // Python's segmented test proves in-process through the same workflow.
    let proof = art.join("proof.json");
    match python_with_ray("a_segmented_model_proves_to_one_aggregate_proof") {
        Some(python) => {
            let out = Command::new(python)
                .arg(root().join("scripts/ray_prove.py"))
                .args([art.as_os_str(), "--witness".as_ref(), witness.as_os_str(), "-o".as_ref(), proof.as_os_str()])
                .args(["--zkonnx", env!("CARGO_BIN_EXE_zkonnx")])
                .env("ZKONNX_HOME", home())
                .output()
                .unwrap();
            let summary = ok(out);
            assert!(summary.contains("3 segments"), "{summary}");
        }
        None => {
            ok(zk(&[&"prove", &art, &"-w", &witness, &"-o", &proof]));
        }
    }
    let stdout = ok(zk(&[&"verify", &art, &"-p", &proof, &"--json"]));
    let verified: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(verified["outputs"], unsegmented, "the aggregate proves the unsegmented outputs");
    let file = json(&proof);
    assert_eq!(file["instances"].as_array().unwrap().len(), 12 + 3, "accumulator, then the three outputs");

    // A changed public output (after the 12 accumulator limbs), a changed accumulator limb.
    for (name, i) in [("output.json", 12), ("limb.json", 5)] {
        let mut p = file.clone();
        let mut inst = hex::decode(p["instances"][i].as_str().unwrap()).unwrap();
        inst[0] ^= 1;
        p["instances"][i] = hex::encode(inst).into();
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec(&p).unwrap()).unwrap();
        let line = refused(zk(&[&"verify", &art, &"-p", &path]));
        assert!(line.contains("invalid") || line.contains("does not verify"), "{line}");
    }

    // Segment proofs made apart; given out of order, they are refused before any proving.
    let parts: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("segment-{i}.json"))).collect();
    for (i, part) in parts.iter().enumerate() {
        ok(zk(&[&"prove", &art, &"-w", &witness, &"--segment", &i.to_string(), &"-o", part]));
    }
    let unused = dir.path().join("x.json");
    let aggregate_refused = |proofs: [&PathBuf; 3]| {
        refused(zk(&[&"aggregate", &art, &"--segment-proofs", proofs[0], proofs[1], proofs[2], &"-o", &unused]))
    };
    let line = aggregate_refused([&parts[1], &parts[0], &parts[2]]);
    assert!(line.contains("it proves segment 1, given as segment 0"), "{line}");
    // A segment proof bound to another model (or settings) is refused by its binding.
    let mut other = json(&parts[1]);
    let binding = other["binding"].as_str().unwrap().to_string();
    other["binding"] = format!("{}{}", if binding.starts_with('0') { '1' } else { '0' }, &binding[1..]).into();
    let swapped = dir.path().join("other-model-segment-1.json");
    std::fs::write(&swapped, serde_json::to_vec(&other).unwrap()).unwrap();
    let line = aggregate_refused([&parts[0], &swapped, &parts[2]]);
    assert!(line.contains("made for another model or settings"), "{line}");
    let line = refused(zk(&[&"prove", &art, &"-w", &witness, &"--segment", &"3", &"-o", &parts[0]]));
    assert!(line.contains("this model has 3 segments"), "{line}");
    // Segment 1 proven (validly) on another input: its input commitment is not segment 0's output
    // commitment, which the node linking them constrains equal (refused before proving; the
    // in-circuit check: runtime's aggregate tests).
    let other_input = dir.path().join("other-input.json");
    let mut x = json(&input);
    x["input_data"][0][0] = (x["input_data"][0][0].as_f64().unwrap() + 0.5).into();
    std::fs::write(&other_input, serde_json::to_vec(&x).unwrap()).unwrap();
    let other_witness = dir.path().join("other-witness.json");
    ok(zk(&[&"gen-witness", &art, &"-i", &other_input, &"-o", &other_witness]));
    let other_part = dir.path().join("other-segment-1.json");
    ok(zk(&[&"prove", &art, &"-w", &other_witness, &"--segment", &"1", &"-o", &other_part]));
    let line = aggregate_refused([&parts[0], &other_part, &parts[2]]);
    assert!(line.contains("the proofs do not link"), "{line}");
}
