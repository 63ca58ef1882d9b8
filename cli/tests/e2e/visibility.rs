//! Public, hashed and private inputs, outputs and weights: what each binds the proof to.

use crate::common::*;
use std::path::Path;

#[test]
fn public_inputs_and_private_outputs_prove_and_bind() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("mlp");
    let out = ok(zk(&[
        &"compile",
        &testdata("mlp", "model.onnx"),
        &"-o",
        &art,
        &"--input-visibility",
        &"public",
        &"--output-visibility",
        &"private",
    ]));
    assert!(out.contains("input public, output private, params fixed"), "{out}");
    assert!(ok(zk(&[&"inspect", &art])).contains("visibility: input public, output private"));
    let proof_path = setup_and_prove(&art, "mlp");

    // verify --json: the inputs, decoded from the instances; no outputs.
    let printed: serde_json::Value =
        serde_json::from_str(&ok(zk(&[&"verify", &art, &"-p", &proof_path, &"--json"]))).unwrap();
    assert!(printed.get("outputs").is_none(), "{printed}");
    let given = floats(&json(&testdata("mlp", "input.json"))["input_data"][0]);
    let verified = floats(&printed["inputs"][0]);
    assert_eq!(verified.len(), given.len());
    for (v, g) in verified.iter().zip(&given) {
        assert!((v - g).abs() <= 1.0 / 512.0, "{v} vs {g}");
    }

    // Another public input (one instance changed) fails, and so does a readable "inputs" that
    // the instances do not prove.
    let proof = json(&proof_path);
    let write = |name: &str, v: &serde_json::Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
        p
    };
    let mut p = proof.clone();
    let mut inst = hex::decode(p["instances"][3].as_str().unwrap()).unwrap();
    inst[0] ^= 1;
    p["instances"][3] = hex::encode(inst).into();
    let line = refused(zk(&[&"verify", &art, &"-p", &write("input.json", &p)]));
    assert!(line.contains("invalid"), "{line}");
    let mut p = proof.clone();
    p["inputs"][0][0] = (p["inputs"][0][0].as_f64().unwrap() + 1.0).into();
    let line = refused(zk(&[&"verify", &art, &"-p", &write("readable.json", &p)]));
    assert!(line.contains("inputs"), "{line}");
    // The output is not in the instances: a proof with an extra instance is refused.
    let mut p = proof.clone();
    p["instances"].as_array_mut().unwrap().push(proof["instances"][0].clone());
    refused(zk(&[&"verify", &art, &"-p", &write("extra.json", &p)]));
}

#[test]
fn hashed_inputs_and_outputs_bind_the_proof_to_their_commitments() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("mlp");
    ok(zk(&[
        &"compile",
        &testdata("mlp", "model.onnx"),
        &"-o",
        &art,
        &"--input-visibility",
        &"hashed/public",
        &"--output-visibility",
        &"hashed",
    ]));
    // Calibration keeps the visibility (and lays the commitments out with it).
    ok(zk(&[&"calibrate", &art, &"--data", &testdata("mlp", "calib.json")]));
    let settings = json(&art.join("settings.json"));
    assert_eq!(settings["visibility"]["input"], "hashed");
    assert_eq!(settings["visibility"]["output"], "hashed");
    assert_eq!(settings["circuit"]["poseidon"], true);
    ok(zk(&[&"setup", &art]));
    let input = testdata("mlp", "input.json");
    let witness = art.join("witness.json");
    ok(zk(&[&"gen-witness", &art, &"-i", &input, &"-o", &witness]));
    ok(zk(&[&"mock", &art, &"-w", &witness]));
    let proof_path = art.join("proof.json");
    ok(zk(&[&"prove", &art, &"-w", &witness, &"-o", &proof_path]));

    // verify --json reports exactly the commitments `zkonnx hash` computes, and nothing else.
    let printed: serde_json::Value =
        serde_json::from_str(&ok(zk(&[&"verify", &art, &"-p", &proof_path, &"--json"]))).unwrap();
    let hashes = ok(zk(&[&"hash", &art, &"-i", &input, &"-w", &witness]));
    let line = |key: &str| hashes.lines().find_map(|l| l.strip_prefix(&format!("{key}: "))).unwrap().to_string();
    assert_eq!(printed["input_hash"].as_str().unwrap(), line("input_hash"));
    assert_eq!(printed["output_hash"].as_str().unwrap(), line("output_hash"));
    assert!(printed.get("inputs").is_none() && printed.get("outputs").is_none(), "{printed}");
    assert!(line("input_hash").starts_with("0x") && line("input_hash").len() == 66);

    // One input element changed: another commitment.
    let mut other = json(&input);
    other["input_data"][0][0] = (other["input_data"][0][0].as_f64().unwrap() + 0.5).into();
    let other_input = dir.path().join("other_input.json");
    std::fs::write(&other_input, serde_json::to_vec(&other).unwrap()).unwrap();
    let other_hash = ok(zk(&[&"hash", &art, &"-i", &other_input]));
    assert_ne!(other_hash.trim(), format!("input_hash: {}", line("input_hash")));

    // A proof whose input commitment is replaced by another input's fails, and so does one whose
    // readable input_hash is not what its instances prove.
    let other_witness = dir.path().join("other_witness.json");
    ok(zk(&[&"gen-witness", &art, &"-i", &other_input, &"-o", &other_witness]));
    let other_proof = dir.path().join("other_proof.json");
    ok(zk(&[&"prove", &art, &"-w", &other_witness, &"-o", &other_proof]));
    let proof = json(&proof_path);
    let theirs = json(&other_proof);
    assert_ne!(proof["instances"][0], theirs["instances"][0]);
    let write = |name: &str, v: &serde_json::Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
        p
    };
    let mut p = proof.clone();
    p["instances"][0] = theirs["instances"][0].clone();
    p["input_hash"] = theirs["input_hash"].clone();
    let line_out = refused(zk(&[&"verify", &art, &"-p", &write("swapped.json", &p)]));
    assert!(line_out.contains("invalid"), "{line_out}");
    let mut p = proof.clone();
    p["output_hash"] = theirs["output_hash"].clone();
    refused(zk(&[&"verify", &art, &"-p", &write("readable.json", &p)]));
    // The output commitment (instance 1) changed, readable value following it: halo2 refuses.
    let mut p = proof.clone();
    p["instances"][1] = theirs["instances"][1].clone();
    p["output_hash"] = theirs["output_hash"].clone();
    assert_ne!(proof["instances"][1], theirs["instances"][1]);
    let line_out = refused(zk(&[&"verify", &art, &"-p", &write("output_swapped.json", &p)]));
    assert!(line_out.contains("invalid"), "{line_out}");
    ok(zk(&[&"verify", &art, &"-p", &proof_path]));

    // A verifier who knows the commitments says so: the proof passes with its own and is
    // refused with another input's, or with a commitment the settings do not expose.
    let (own_in, own_out) = (line("input_hash"), line("output_hash"));
    ok(zk(&[&"verify", &art, &"-p", &proof_path, &"--expect-input-hash", &own_in, &"--expect-output-hash", &own_out]));
    let theirs_in = other_hash.trim().strip_prefix("input_hash: ").unwrap().to_string();
    let line_out = refused(zk(&[&"verify", &art, &"-p", &proof_path, &"--expect-input-hash", &theirs_in]));
    assert!(line_out.contains("not the expected"), "{line_out}");
    let line_out = refused(zk(&[&"verify", &art, &"-p", &proof_path, &"--expect-params-hash", &own_in]));
    assert!(line_out.contains("exposes no params_hash"), "{line_out}");
    let line_out = refused(zk(&[&"verify", &art, &"-p", &proof_path, &"--expect-output-hash", &"0xnothex"]));
    assert!(line_out.contains("not a field element"), "{line_out}");

    // Issue 25, H1: a forged reveal of the hashed outputs. Two neighbouring outputs trade a carry
    // at every slot width a forger might try (at the real one, unchecked, the packed element and
    // so the commitment would not change), the floats following the integers: each is refused,
    // or hashes to another commitment.
    let honest = json(&witness);
    let scale = settings["outputs"][0]["scale"].as_u64().unwrap() as i32;
    let mut refusals = 0;
    for width in 2..=40 {
        let mut forged = honest.clone();
        let mut ints: Vec<i64> =
            honest["outputs_quantized"][0].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        ints[0] += 1 << width;
        ints[1] -= 1;
        forged["outputs_quantized"][0] = serde_json::json!(ints);
        forged["outputs"][0] = serde_json::json!(ints.iter().map(|&v| v as f64 / 2f64.powi(scale)).collect::<Vec<_>>());
        let out = zk(&[&"hash", &art, &"-w", &write("forged_witness.json", &forged)]);
        if out.status.success() {
            assert_ne!(String::from_utf8_lossy(&out.stdout).trim(), format!("output_hash: {own_out}"), "{width}");
        } else {
            assert!(refused(out).contains("outside the proven range"));
            refusals += 1;
        }
    }
    assert!(refusals > 0);
    // Floats that do not say what the integers say.
    let mut lying = honest.clone();
    lying["outputs"][0][0] = (lying["outputs"][0][0].as_f64().unwrap() + 1.0).into();
    let line_out = refused(zk(&[&"hash", &art, &"-w", &write("lying_witness.json", &lying)]));
    assert!(line_out.contains("floats are not its integers"), "{line_out}");
}

#[test]
fn a_proof_with_nothing_public_verifies_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("mlp");
    ok(zk(&[&"compile", &testdata("mlp", "model.onnx"), &"-o", &art, &"--output-visibility", &"private"]));
    ok(zk(&[&"setup", &art]));
    let witness = art.join("witness.json");
    ok(zk(&[&"gen-witness", &art, &"-i", &testdata("mlp", "input.json"), &"-o", &witness]));
    let proof = art.join("proof.json");
    ok(zk(&[&"prove", &art, &"-w", &witness, &"-o", &proof]));
    assert_eq!(json(&proof)["instances"].as_array().unwrap().len(), 0);
    assert!(ok(zk(&[&"verify", &art, &"-p", &proof])).contains("no public values"));
    assert_eq!(ok(zk(&[&"verify", &art, &"-p", &proof, &"--json"])).trim(), "{}");
}

#[test]
fn hashed_params_prove_other_weights_under_one_key_and_report_their_commitment() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("lenet");
    let out = ok(zk(&[&"compile", &testdata("lenet", "model.onnx"), &"-o", &art, &"--param-visibility", &"hashed"]));
    assert!(out.contains("params hashed"), "{out}");
    ok(zk(&[&"calibrate", &art, &"--data", &testdata("lenet", "calib.json")]));
    let settings = json(&art.join("settings.json"));
    assert_eq!(settings["visibility"]["params"], "hashed");
    assert_eq!(settings["circuit"]["witness_weights"], true);
    ok(zk(&[&"setup", &art]));
    let input = testdata("lenet", "input.json");
    let retrained = testdata("lenet", "retrained.onnx");
    let hash_of = |extra: &[&dyn AsRef<std::ffi::OsStr>]| {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"hash", &art];
        args.extend_from_slice(extra);
        let printed = ok(zk(&args));
        printed.lines().find_map(|l| l.strip_prefix("params_hash: ")).unwrap().to_string()
    };
    let (own_hash, their_hash) = (hash_of(&[]), hash_of(&[&"--params", &retrained]));
    assert_ne!(own_hash, their_hash);

    // The compiled weights, then the retrained ones, under the same keys.
    let prove = |params: Option<&Path>, name: &str| {
        let witness = dir.path().join(format!("{name}.witness.json"));
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"gen-witness", &art, &"-i", &input, &"-o", &witness];
        if let Some(p) = &params {
            args.extend_from_slice(&[&"--params", p]);
        }
        ok(zk(&args));
        let proof = dir.path().join(format!("{name}.proof.json"));
        ok(zk(&[&"prove", &art, &"-w", &witness, &"-o", &proof]));
        let printed: serde_json::Value =
            serde_json::from_str(&ok(zk(&[&"verify", &art, &"-p", &proof, &"--json"]))).unwrap();
        (proof, printed)
    };
    let (own_proof, own) = prove(None, "own");
    assert_eq!(own["params_hash"].as_str().unwrap(), own_hash);
    let (their_proof, theirs) = prove(Some(&retrained), "retrained");
    assert_eq!(theirs["params_hash"].as_str().unwrap(), their_hash, "a proof with other weights reports theirs");
    // Its outputs are the retrained model's (onnxruntime), not the compiled one's.
    let expected = floats(&json(&testdata("lenet", "retrained.expected.json"))["input"][0]);
    let verified = floats(&theirs["outputs"][0]);
    for (v, e) in verified.iter().zip(&expected) {
        assert!((v - e).abs() <= OUTPUT_BOUND, "{v} vs {e}");
    }
    assert_ne!(verified, floats(&own["outputs"][0]));

    // The retrained proof claiming the compiled weights' commitment fails.
    let mut p = json(&their_proof);
    let last = p["instances"].as_array().unwrap().len() - 1;
    p["instances"][last] = json(&own_proof)["instances"][last].clone();
    p["params_hash"] = own_hash.clone().into();
    let swapped = dir.path().join("swapped.json");
    std::fs::write(&swapped, serde_json::to_vec(&p).unwrap()).unwrap();
    assert!(refused(zk(&[&"verify", &art, &"-p", &swapped])).contains("invalid"));

    // Refusals: wider weights, another graph, --params with fixed weights; nothing written.
    let witness = dir.path().join("refused.json");
    for (model, says) in [(testdata("lenet", "wide.onnx"), "2 more"), (testdata("mlp", "model.onnx"), "architecture")] {
        let line = refused(zk(&[&"gen-witness", &art, &"-i", &input, &"--params", &model, &"-o", &witness]));
        assert!(line.contains(says), "{line}");
        assert!(refused(zk(&[&"hash", &art, &"--params", &model])).contains(says));
        assert!(!witness.exists());
    }
    let fixed = dir.path().join("fixed");
    ok(zk(&[&"compile", &testdata("lenet", "model.onnx"), &"-o", &fixed]));
    let line = refused(zk(&[&"gen-witness", &fixed, &"-i", &input, &"--params", &retrained, &"-o", &witness]));
    assert!(line.contains("--param-visibility hashed"), "{line}");
    assert!(!witness.exists());
}
