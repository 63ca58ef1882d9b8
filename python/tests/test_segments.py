"""A segmented model through the Python package: the settings keep their segments through
calibration, and setup, prove and verify take the aggregation's path (issue 32: they used the
circuit's k and one circuit's keys)."""

import pytest

import zkonnx
from conftest import bundled, read_json


def test_a_segmented_model_calibrates_proves_and_verifies(tmp_path):
    model = bundled("transformer", "model.onnx")
    args = zkonnx.PyRunArgs(segment_logrows=13)
    settings, compiled = tmp_path / "settings.json", tmp_path / "compiled"
    assert zkonnx.gen_settings(model, settings, py_run_args=args)
    segments = read_json(settings)["segments"]
    assert len(segments["parts"]) >= 2
    assert zkonnx.calibrate_settings(bundled("transformer", "calib.json"), model, settings, max_error=0.05)
    calibrated = read_json(settings)
    assert calibrated.get("segments"), "calibration dropped the segments"
    assert len(calibrated["segments"]["parts"]) >= 2
    assert zkonnx.compile_circuit(model, compiled, settings)
    with pytest.warns(UserWarning, match="dev SRS"):
        assert zkonnx.get_srs(settings)
    vk, pk = tmp_path / "vk.key", tmp_path / "pk.key"
    with pytest.warns(UserWarning, match="dev SRS"):
        assert zkonnx.setup(compiled, vk, pk)
    zkonnx.gen_witness(bundled("transformer", "input.json"), compiled, tmp_path / "w.json")
    proof = zkonnx.prove(tmp_path / "w.json", compiled, pk, tmp_path / "p.json")
    # The aggregate: 12 accumulator limbs, then the model's outputs.
    assert len(proof["instances"]) > 12
    assert zkonnx.verify(tmp_path / "p.json", settings, vk)
    expected = read_json(tmp_path / "w.json")["outputs"]
    assert proof["outputs"] == expected
