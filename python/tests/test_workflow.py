"""EZKL's Python workflow on zkonnx: the steps, what they return and write, and the public values
a verifier checks."""

import logging
import os
import shutil

import numpy as np
import pytest

import zkonnx
from conftest import bundled, read_json, run_workflow, write_json


def test_workflow_returns_what_ezkl_returns(mlp):
    files, witness, proof = mlp
    # gen_witness and prove return the JSON they write.
    assert witness == read_json(files["witness.json"])
    assert proof == read_json(files["proof.json"])
    expected = read_json(bundled("mlp", "expected.json"))
    # The float model's outputs (onnxruntime), within the calibrated error.
    outputs, reference = np.array(witness["outputs"][0]), np.array(expected["input"][0])
    assert outputs.shape == reference.shape
    assert np.abs(outputs - reference).max() <= 0.05 * np.abs(reference).max()
    # The proof exposes the outputs and, with public inputs, the inputs it was made from.
    assert proof["outputs"] == witness["outputs"]
    inputs = read_json(bundled("mlp", "input.json"))["input_data"][0]
    assert np.allclose(proof["inputs"][0], inputs, atol=2.0 ** -read_json(files["settings.json"])["scales"]["input"])


def test_settings_carry_ezkls_run_args(mlp):
    files, _, _ = mlp
    settings = read_json(files["settings.json"])
    run_args = settings["run_args"]
    assert run_args["logrows"] == settings["circuit"]["k"]
    assert run_args["input_scale"] == settings["scales"]["input"]
    assert run_args["param_scale"] == settings["scales"]["param"]
    assert (run_args["input_visibility"], run_args["output_visibility"], run_args["param_visibility"]) == (
        "Public",
        "Public",
        "Fixed",
    )
    # The compiled circuit holds the same settings.
    assert read_json(files["network.compiled"] / "settings.json") == settings


def test_a_changed_public_value_fails_verify(mlp, tmp_path):
    files, _, proof = mlp
    for name, index in [("an output", -1), ("an input", 0)]:
        changed = dict(proof)
        instances = list(proof["instances"])
        value = int.from_bytes(bytes.fromhex(instances[index]), "little") + 1
        instances[index] = value.to_bytes(32, "little").hex()
        changed["instances"] = instances
        path = write_json(tmp_path / "changed.json", changed)
        with pytest.raises(zkonnx.InvalidProofError):
            zkonnx.verify(path, files["settings.json"], files["vk.key"])


def test_verify_with_another_srs_fails(mlp, tmp_path):
    files, _, _ = mlp
    k = read_json(files["settings.json"])["run_args"]["logrows"]
    other = tmp_path / "other.srs"
    with pytest.warns(UserWarning):
        zkonnx.gen_srs(other, k)
    with pytest.raises(zkonnx.InvalidProofError):
        zkonnx.verify(files["proof.json"], files["settings.json"], files["vk.key"], srs_path=other)


def test_long_steps_report_through_logging(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="zkonnx")
    settings = tmp_path / "settings.json"
    zkonnx.gen_settings(bundled("mlp", "model.onnx"), settings)
    zkonnx.calibrate_settings(bundled("mlp", "calib.json"), bundled("mlp", "model.onnx"), settings)
    messages = [r.getMessage() for r in caplog.records if r.name == "zkonnx"]
    assert any(m.startswith("gen_settings:") for m in messages), messages
    assert any(m.startswith("calibrating:") for m in messages), messages
    assert any(m.startswith("calibrated on") and "max error" in m for m in messages), messages


def test_an_srs_file_serves_setup_prove_and_verify(tmp_path):
    shutil.copytree(bundled("mlp"), tmp_path / "mlp")
    settings, compiled = tmp_path / "settings.json", tmp_path / "compiled"
    zkonnx.gen_settings(tmp_path / "mlp" / "model.onnx", settings)
    zkonnx.compile_circuit(tmp_path / "mlp" / "model.onnx", compiled, settings)
    srs = tmp_path / "kzg.srs"
    with pytest.warns(UserWarning, match="NOT safe"):
        assert zkonnx.get_srs(settings, srs_path=srs)
    assert srs.exists()
    assert zkonnx.setup(compiled, tmp_path / "vk.key", tmp_path / "pk.key", srs_path=srs)
    zkonnx.gen_witness(tmp_path / "mlp" / "input.json", compiled, tmp_path / "w.json")
    zkonnx.prove(tmp_path / "w.json", compiled, tmp_path / "pk.key", tmp_path / "p.json", srs_path=srs)
    assert zkonnx.verify(tmp_path / "p.json", settings, tmp_path / "vk.key", srs_path=srs)


def test_hashed_params_expose_the_weights_commitment(tmp_path):
    lenet = bundled("lenet")
    args = zkonnx.PyRunArgs(param_visibility="hashed", input_visibility="hashed")
    settings, compiled = tmp_path / "settings.json", tmp_path / "compiled"
    zkonnx.gen_settings(lenet / "model.onnx", settings, py_run_args=args)
    zkonnx.compile_circuit(lenet / "model.onnx", compiled, settings)
    w = zkonnx.gen_witness(lenet / "input.json", compiled, params=lenet / "retrained.onnx")
    hashes = zkonnx.hash(compiled, data=lenet / "input.json", params=lenet / "retrained.onnx")
    assert hashes["params_hash"] == w["params_hash"]
    assert hashes["input_hash"] == w["input_hash"]
    assert zkonnx.hash(compiled)["params_hash"] != w["params_hash"]


def test_hashed_values_are_checked_as_a_verifier_reads_them(tmp_path):
    """Issue 25: a reveal of hashed outputs must be the proven one, and a verifier who knows the
    commitments it expects says so and is refused any other."""
    mlp = bundled("mlp")
    args = zkonnx.PyRunArgs(input_visibility="hashed", output_visibility="hashed")
    settings, compiled = tmp_path / "settings.json", tmp_path / "compiled"
    zkonnx.gen_settings(mlp / "model.onnx", settings, py_run_args=args)
    zkonnx.compile_circuit(mlp / "model.onnx", compiled, settings)
    with pytest.warns(UserWarning, match="dev SRS"):
        zkonnx.setup(compiled, tmp_path / "vk.key", tmp_path / "pk.key")
    w = zkonnx.gen_witness(mlp / "input.json", compiled, tmp_path / "w.json")
    proof = zkonnx.prove(tmp_path / "w.json", compiled, tmp_path / "pk.key", tmp_path / "p.json")
    hashes = zkonnx.hash(compiled, data=mlp / "input.json", witness=tmp_path / "w.json")
    assert (hashes["input_hash"], hashes["output_hash"]) == (proof["input_hash"], proof["output_hash"])
    verify = lambda **expected: zkonnx.verify(tmp_path / "p.json", settings, tmp_path / "vk.key", **expected)
    assert verify(expected_input_hash=hashes["input_hash"], expected_output_hash=hashes["output_hash"])
    # Another input's commitment, or a commitment of weights this proof does not expose: refused.
    other = read_json(mlp / "input.json")
    other["input_data"][0][0] += 0.5
    other_hash = zkonnx.hash(compiled, data=write_json(tmp_path / "other.json", other))["input_hash"]
    assert other_hash != hashes["input_hash"]
    with pytest.raises(zkonnx.InvalidProofError, match="not the expected"):
        verify(expected_input_hash=other_hash)
    with pytest.raises(zkonnx.InvalidProofError, match="exposes no params_hash"):
        verify(expected_params_hash=hashes["input_hash"])
    # A forged reveal: two neighbouring outputs trade a carry at every slot width a forger might
    # try (at the real one, unchecked, it would pack to the proven commitment); the floats follow
    # the integers. Each is refused, or hashes to another commitment.
    scale = read_json(settings)["outputs"][0]["scale"]
    refused = 0
    for width in range(2, 41):
        ints = list(w["outputs_quantized"][0])
        ints[0] += 1 << width
        ints[1] -= 1
        forged = dict(w, outputs_quantized=[ints], outputs=[[v / 2.0**scale for v in ints]])
        try:
            forged_hash = zkonnx.hash(compiled, witness=write_json(tmp_path / "forged.json", forged))["output_hash"]
        except zkonnx.Error as e:
            assert "outside the proven range" in str(e)
            refused += 1
        else:
            assert forged_hash != hashes["output_hash"], width
    assert refused > 0
    # Floats that do not say what the integers say: refused.
    lying = dict(w, outputs=[[v + 1.0 for v in w["outputs"][0]]])
    with pytest.raises(zkonnx.Error, match="floats are not its integers"):
        zkonnx.hash(compiled, witness=write_json(tmp_path / "lying.json", lying))


def solc_available():
    if os.environ.get("ZKONNX_REQUIRE_SOLC"):
        return True
    return any(shutil.which(s) for s in ["solc", "solcjs"]) or bool(os.environ.get("ZKONNX_SOLC"))


@pytest.mark.skipif(not solc_available(), reason="no solc 0.8.19 (npm install -g solc@0.8.19)")
def test_evm_verifier_accepts_the_proof_and_rejects_a_changed_one(mlp, tmp_path, caplog):
    files, _, proof = mlp
    sol, abi = tmp_path / "Verifier.sol", tmp_path / "abi.json"
    assert zkonnx.create_evm_verifier(files["vk.key"], files["settings.json"], sol, abi)
    assert "contract" in sol.read_text() and read_json(abi)
    caplog.set_level(logging.INFO, logger="zkonnx")
    assert zkonnx.verify_evm(files["proof.json"], files["settings.json"], sol.with_suffix(".bin"))
    assert any("gas" in r.getMessage() for r in caplog.records)
    changed = dict(proof, instances=list(proof["instances"]))
    last = int.from_bytes(bytes.fromhex(changed["instances"][-1]), "little") + 1
    changed["instances"][-1] = last.to_bytes(32, "little").hex()
    with pytest.raises(zkonnx.InvalidProofError):
        zkonnx.verify_evm(write_json(tmp_path / "changed.json", changed), files["settings.json"], sol.with_suffix(".bin"))
