//! Bad input, bad artifacts and tampered proofs: each refused in one line, nothing written.

use crate::common::*;
use std::path::Path;

#[test]
fn tampered_proofs_and_foreign_keys_fail_verify() {
    let dir = tempfile::tempdir().unwrap();
    let art = prove_model("mlp", dir.path());
    let proof_path = art.join("proof.json");
    let proof = json(&proof_path);
    let write = |name: &str, v: &serde_json::Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
        p
    };

    // A changed byte in the proof.
    let mut p = proof.clone();
    let mut bytes = hex::decode(p["proof"].as_str().unwrap()).unwrap();
    bytes[100] ^= 1;
    p["proof"] = hex::encode(bytes).into();
    let line = refused(zk(&[&"verify", &art, &"-p", &write("byte.json", &p)]));
    assert!(line.contains("invalid"), "{line}");

    // Bytes appended to the proof: another byte string, refused.
    let mut p = proof.clone();
    p["proof"] = format!("{}{}", p["proof"].as_str().unwrap(), "00".repeat(32)).into();
    let line = refused(zk(&[&"verify", &art, &"-p", &write("appended.json", &p)]));
    assert!(line.contains("32 bytes follow the proof"), "{line}");

    // A changed public output (the instance the proof is checked against).
    let mut p = proof.clone();
    let mut inst = hex::decode(p["instances"][0].as_str().unwrap()).unwrap();
    inst[0] ^= 1;
    p["instances"][0] = hex::encode(inst).into();
    refused(zk(&[&"verify", &art, &"-p", &write("instance.json", &p)]));

    // A changed readable output that no longer matches the proven instances.
    let mut p = proof.clone();
    p["outputs"][0][0] = (p["outputs"][0][0].as_f64().unwrap() + 1.0).into();
    let line = refused(zk(&[&"verify", &art, &"-p", &write("outputs.json", &p)]));
    assert!(line.contains("outputs"), "{line}");

    // The verifying key of another model: refused by its binding, before Halo2 reads it.
    let other = dir.path().join("other");
    ok(zk(&[&"compile", &testdata("mixed", "model.onnx"), &"-o", &other]));
    ok(zk(&[&"setup", &other]));
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    for f in ["settings.json", "circuit.json", "pk.bin", "srs.verifier"] {
        std::fs::copy(art.join(f), foreign.join(f)).unwrap();
    }
    std::fs::copy(other.join("vk.bin"), foreign.join("vk.bin")).unwrap();
    let line = refused(zk(&[&"verify", &foreign, &"-p", &proof_path]));
    assert!(line.contains("another model"), "{line}");

    // A proof of another model against this one's keys.
    let line = refused(zk(&[&"verify", &other, &"-p", &proof_path]));
    assert!(line.contains("another model"), "{line}");

    // The untouched proof still verifies.
    ok(zk(&[&"verify", &art, &"-p", &proof_path]));
}

#[test]
fn unsupported_ops_are_refused_at_compile_without_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("art");
    let line = refused(zk(&[&"compile", &testdata("unsupported", "model.onnx"), &"-o", &art]));
    assert!(line.contains("Det (node /act/Det)") && line.contains("Einsum (node /head/Einsum)"), "{line}");
    assert!(line.contains("zkonnx ops"), "{line}");
    assert!(!art.join("settings.json").exists());
}

#[test]
fn bad_inputs_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("mlp");
    ok(zk(&[&"compile", &testdata("mlp", "model.onnx"), &"-o", &art]));
    let input = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let w = dir.path().join("w.json");
    let gen = |p: &Path| zk(&[&"gen-witness", &art, &"-i", &p, &"-o", &w]);

    let line = refused(gen(&input("short.json", r#"{"input_data": [[1, 2, 3]]}"#)));
    assert!(line.contains("has 3 values; the model expects 16"), "{line}");

    let mut values = vec!["0.5"; 16];
    values[4] = "\"NaN\"";
    let line = refused(gen(&input("nan.json", &format!(r#"{{"input_data": [[{}]]}}"#, values.join(",")))));
    assert!(line.contains("element 4") && line.contains("not a finite number"), "{line}");

    let mut values = vec!["0.5"; 16];
    values[2] = "100.0";
    let line = refused(gen(&input("range.json", &format!(r#"{{"input_data": [[{}]]}}"#, values.join(",")))));
    assert!(line.contains("element 2") && line.contains("outside the range"), "{line}");

    let line = refused(gen(&input("garbage.json", "not json")));
    assert!(line.contains("not a valid input file"), "{line}");
    assert!(!w.exists(), "no witness is written for a refused input");

    // Integers and booleans (true = 1, false = 0) are numbers, as in EZKL's files.
    let mut values = vec!["0"; 16];
    values[1] = "true";
    values[2] = "false";
    values[3] = "-2";
    ok(gen(&input("typed.json", &format!(r#"{{"input_data": [[{}]]}}"#, values.join(",")))));
    let mut floats = vec!["0.0"; 16];
    floats[1] = "1.0";
    floats[3] = "-2.0";
    let w2 = dir.path().join("w2.json");
    ok(zk(&[
        &"gen-witness",
        &art,
        &"-i",
        &input("floats.json", &format!(r#"{{"input_data": [[{}]]}}"#, floats.join(","))),
        &"-o",
        &w2,
    ]));
    assert_eq!(json(&w)["outputs"], json(&w2)["outputs"]);
}

/// Issue 31: an int64 input used as token ids takes its range from the table it indexes, and a
/// fraction or an id outside the vocabulary is one line (gen-witness and calibrate), nothing written.
#[test]
fn integer_inputs_refuse_fractions_and_ids_outside_the_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("tokens");
    ok(zk(&[&"compile", &testdata("tokens", "model.onnx"), &"-o", &art]));
    let input = &json(&art.join("settings.json"))["inputs"][0];
    assert_eq!((input["range"]["min"].as_f64(), input["range"]["max"].as_f64()), (Some(0.0), Some(9.0)), "{input}");
    let w = dir.path().join("w.json");
    let file = |name: &str, ids: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!(r#"{{"input_data": [[{ids}]]}}"#)).unwrap();
        p
    };
    for (name, ids, says) in [
        ("fraction.json", "1, 2, 2.5, 3, 4, 5", "element 2 is 2.5, but the model declares this input an integer type"),
        ("past.json", "1, 2, 3, 10, 4, 5", "element 3 is 10, but it indexes an axis of 10"),
        ("negative.json", "-1, 2, 3, 4, 4, 5", "element 0 is -1, but it indexes an axis of 10"),
    ] {
        let line = refused(zk(&[&"gen-witness", &art, &"-i", &file(name, ids), &"-o", &w]));
        assert!(line.contains(says), "{name}: {line}");
        assert!(!w.exists(), "{name}: no witness is written for a refused input");
        let settings = std::fs::read(art.join("settings.json")).unwrap();
        let line = refused(zk(&[&"calibrate", &art, &"--data", &file(name, ids)]));
        assert!(line.contains(says), "calibrate {name}: {line}");
        assert_eq!(std::fs::read(art.join("settings.json")).unwrap(), settings, "{name}: settings unchanged");
    }
    ok(zk(&[&"gen-witness", &art, &"-i", &file("ok.json", "0, 9, 3, 3, 4, 5"), &"-o", &w]));
}

#[test]
fn corrupt_or_foreign_artifacts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let art = prove_model("mlp", dir.path());
    let witness = art.join("witness.json");
    let proof = art.join("proof.json");
    let flip = |file: &str, at: usize| {
        let p = art.join(file);
        let mut bytes = std::fs::read(&p).unwrap();
        let i = at.min(bytes.len() - 1);
        bytes[i] ^= 0x40;
        std::fs::write(&p, bytes).unwrap();
    };

    // A corrupted proving key: caught by its checksum, no panic.
    std::fs::copy(art.join("pk.bin"), dir.path().join("pk.bak")).unwrap();
    flip("pk.bin", 5000);
    let line = refused(zk(&[&"prove", &art, &"-w", &witness, &"-o", &dir.path().join("p2.json")]));
    assert!(line.contains("checksum"), "{line}");
    std::fs::copy(dir.path().join("pk.bak"), art.join("pk.bin")).unwrap();

    // A truncated verifying key.
    let vk = std::fs::read(art.join("vk.bin")).unwrap();
    std::fs::write(art.join("vk.bin"), &vk[..vk.len() / 2]).unwrap();
    refused(zk(&[&"verify", &art, &"-p", &proof]));
    std::fs::write(art.join("vk.bin"), &vk).unwrap();

    // A proof file that is not JSON.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{").unwrap();
    refused(zk(&[&"verify", &art, &"-p", &junk]));

    // settings.json from another version, then corrupted: every command refuses it.
    let settings = std::fs::read_to_string(art.join("settings.json")).unwrap();
    let mut old: serde_json::Value = serde_json::from_str(&settings).unwrap();
    old["format"] = "zkonnx-settings/0".into();
    std::fs::write(art.join("settings.json"), serde_json::to_vec(&old).unwrap()).unwrap();
    let line = refused(zk(&[&"verify", &art, &"-p", &proof]));
    assert!(line.contains("zkonnx-settings/0"), "{line}");
    std::fs::write(art.join("settings.json"), &settings[..settings.len() / 2]).unwrap();
    refused(zk(&[&"mock", &art, &"-w", &witness]));

    // Settings edited by hand (another k): EZKL's run_args block no longer mirrors them; edited
    // there too, the keys no longer match them.
    let mut edited: serde_json::Value = serde_json::from_str(&settings).unwrap();
    let k = edited["circuit"]["k"].as_u64().unwrap();
    assert_eq!(edited["run_args"]["logrows"], k);
    edited["circuit"]["k"] = (k + 1).into();
    std::fs::write(art.join("settings.json"), serde_json::to_vec(&edited).unwrap()).unwrap();
    let line = refused(zk(&[&"verify", &art, &"-p", &proof]));
    assert!(line.contains("run_args block disagrees"), "{line}");
    edited["run_args"]["logrows"] = (k + 1).into();
    std::fs::write(art.join("settings.json"), serde_json::to_vec(&edited).unwrap()).unwrap();
    let line = refused(zk(&[&"verify", &art, &"-p", &proof]));
    assert!(line.contains("another model or settings"), "{line}");

    // More or wider lookup lanes than the circuit allows (limbs are composed below 2^120), and
    // wider limbs than the plan's range table: refused when loaded, before any key is read.
    for (field, value, says) in
        [("mag_lanes", 9, "outside what the circuit allows"), ("lookup_bits", 23, "range table differs")]
    {
        let mut edited: serde_json::Value = serde_json::from_str(&settings).unwrap();
        edited["circuit"][field] = value.into();
        if field == "mag_lanes" {
            edited["circuit"]["lookup_bits"] = 20.into();
        }
        std::fs::write(art.join("settings.json"), serde_json::to_vec(&edited).unwrap()).unwrap();
        let line = refused(zk(&[&"mock", &art, &"-w", &witness]));
        assert!(line.contains(says), "{field}: {line}");
        // Setup cannot fix settings that do not give their own circuit: the line says what does.
        assert!(line.contains("run `zkonnx compile`") && !line.contains("zkonnx setup"), "{field}: {line}");
    }
    std::fs::write(art.join("settings.json"), &settings).unwrap();

    // Issue 26: a circuit.json with no nodes, or a node reading one after it: one line, no panic.
    let circuit = std::fs::read_to_string(art.join("circuit.json")).unwrap();
    let original: serde_json::Value = serde_json::from_str(&circuit).unwrap();
    let mut empty = original.clone();
    empty["graph"]["nodes"] = serde_json::json!([]);
    std::fs::write(art.join("circuit.json"), serde_json::to_vec(&empty).unwrap()).unwrap();
    let input = testdata("mlp", "input.json");
    let out = dir.path().join("w2.json");
    assert!(refused(zk(&[&"gen-witness", &art, &"-i", &input, &"-o", &out])).contains("compiled circuit"));
    assert!(refused(zk(&[&"mock", &art, &"-w", &witness])).contains("compiled circuit"));
    let mut cycle = original.clone();
    cycle["graph"]["nodes"][1]["inputs"] = serde_json::json!([2]);
    std::fs::write(art.join("circuit.json"), serde_json::to_vec(&cycle).unwrap()).unwrap();
    assert!(refused(zk(&[&"gen-witness", &art, &"-i", &input, &"-o", &out])).contains("does not come before it"));
    assert!(!out.exists());
    std::fs::write(art.join("circuit.json"), &circuit).unwrap();
}

#[test]
fn calibration_data_of_the_wrong_length_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("mlp");
    ok(zk(&[&"compile", &testdata("mlp", "model.onnx"), &"-o", &art]));
    let data = dir.path().join("d.json");
    std::fs::write(&data, format!(r#"{{"input_data": [[{}]]}}"#, vec!["0.1"; 40].join(","))).unwrap();
    let line = refused(zk(&[&"calibrate", &art, &"--data", &data]));
    assert!(line.contains("not a multiple of its 16 elements"), "{line}");
}

#[test]
fn unknown_or_unsupported_visibility_is_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, mode, says) in [
        ("--input-visibility", "secret", "unknown visibility"),
        ("--input-visibility", "polycommit", "Poseidon"),
        ("--input-visibility", "fixed", "not one of private, public, hashed"),
        ("--param-visibility", "public", "not one of fixed, hashed"),
        ("--output-visibility", "hashed/private", "hashed/private"),
    ] {
        let art = dir.path().join(mode.replace('/', "_"));
        let line = refused(zk(&[&"compile", &testdata("mlp", "model.onnx"), &"-o", &art, &flag, &mode]));
        assert!(line.contains(says), "{mode}: {line}");
        assert!(!art.join("settings.json").exists(), "{mode}: wrote settings");
    }
}

/// Issue 25: the verifying key commits to the settings that decode its public values. Each edit
/// of a decoding field followed by setup is refused or makes another key (every byte of the
/// key's payload the same before: a verifier with the published key would have read doubled
/// outputs).
#[test]
fn a_verifying_key_commits_to_the_settings_that_decode_it() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("mlp");
    ok(zk(&[&"compile", &testdata("mlp", "model.onnx"), &"-o", &art]));
    ok(zk(&[&"setup", &art]));
    // The binary container's header (magic, kind, version, binding, checksum) is 77 bytes.
    let payload = |dir: &Path| std::fs::read(dir.join("vk.bin")).unwrap()[77..].to_vec();
    let original = payload(&art);
    let edits: [(&str, serde_json::Value); 4] = [
        ("/outputs/0/scale", 7.into()),
        ("/scales/input", 7.into()),
        ("/inputs/0/range/max", 4.0.into()),
        ("/outputs/0/name", "renamed".into()),
    ];
    for (i, (pointer, value)) in edits.into_iter().enumerate() {
        let edited = dir.path().join(format!("edited{i}"));
        std::fs::create_dir_all(&edited).unwrap();
        for f in ["settings.json", "circuit.json", "model.onnx"] {
            if art.join(f).exists() {
                std::fs::copy(art.join(f), edited.join(f)).unwrap();
            }
        }
        let mut settings = json(&edited.join("settings.json"));
        *settings.pointer_mut(pointer).unwrap() = value;
        std::fs::write(edited.join("settings.json"), serde_json::to_vec(&settings).unwrap()).unwrap();
        let out = zk(&[&"setup", &edited]);
        if out.status.success() {
            assert_ne!(payload(&edited), original, "{pointer}: the same key under edited settings");
        } else {
            refused(out);
        }
    }
}

/// EZKL's bitwise_ops: the exporter dropped inputs the graph never reads, the input file still
/// holds a list for each. The first lists are read, as EZKL reads them, and a warning says so;
/// too few lists are refused.
#[test]
fn an_input_file_with_more_lists_than_inputs_reads_the_first_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let art = prove_model("mlp", dir.path());
    let mut input = json(&testdata("mlp", "input.json"));
    let first = input["input_data"][0].clone();
    input["input_data"] = serde_json::json!([first, [1.0, 2.0]]);
    let extra = dir.path().join("extra.json");
    std::fs::write(&extra, serde_json::to_vec(&input).unwrap()).unwrap();
    let w = dir.path().join("w.json");
    let out = zk(&[&"gen-witness", &art, &"-i", &extra, &"-o", &w]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out);
    assert!(stderr.contains("warning: input_data has 2 lists but the model reads 1 input(s)"), "{stderr}");
    assert_eq!(json(&w)["outputs"], json(&art.join("witness.json"))["outputs"], "the first list is the input");
    input["input_data"] = serde_json::json!([]);
    std::fs::write(&extra, serde_json::to_vec(&input).unwrap()).unwrap();
    let line = refused(zk(&[&"gen-witness", &art, &"-i", &extra, &"-o", &dir.path().join("none.json")]));
    assert!(line.contains("input_data has 0 lists but the model has 1 input(s)"), "{line}");
}

/// A model without inputs (EZKL's arange) proves its constant outputs; a changed output is
/// refused like any other.
#[test]
fn a_model_without_inputs_proves_its_constants() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("no_inputs");
    ok(zk(&[&"compile", &testdata("no_inputs", "model.onnx"), &"-o", &art]));
    ok(zk(&[&"calibrate", &art, &"--data", &testdata("no_inputs", "input.json")]));
    let proof = setup_and_prove(&art, "no_inputs");
    let stdout = ok(zk(&[&"verify", &art, &"-p", &proof]));
    let verified: Vec<Vec<f64>> = serde_json::from_str(stdout.split("outputs: ").nth(1).unwrap().trim()).unwrap();
    assert_eq!(verified[0], floats(&json(&testdata("no_inputs", "expected.json"))["input"][0]));
    let mut p = json(&proof);
    let n = p["instances"].as_array().unwrap().len();
    let mut inst = hex::decode(p["instances"][n - 1].as_str().unwrap()).unwrap();
    inst[0] ^= 1;
    p["instances"][n - 1] = hex::encode(inst).into();
    let changed = dir.path().join("changed.json");
    std::fs::write(&changed, serde_json::to_vec(&p).unwrap()).unwrap();
    refused(zk(&[&"verify", &art, &"-p", &changed]));
}
