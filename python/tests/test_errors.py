"""Bad input raises zkonnx.Error with the CLI's one-line message; nothing crashes."""

import pytest

import zkonnx
from conftest import bundled, read_json, write_json


def raises(fn, *args, match, **kwargs):
    with pytest.raises(zkonnx.Error, match=match) as err:
        fn(*args, **kwargs)
    assert "\n" not in str(err.value), str(err.value)
    assert isinstance(err.value, RuntimeError)


def test_a_missing_file(tmp_path):
    raises(zkonnx.gen_settings, tmp_path / "nope.onnx", tmp_path / "settings.json", match="cannot read .*nope.onnx")
    assert not (tmp_path / "settings.json").exists()
    raises(zkonnx.mock, tmp_path / "w.json", tmp_path / "missing.compiled", match="settings.json does not exist")


def test_a_wrong_settings_path(tmp_path):
    model = bundled("mlp", "model.onnx")
    raises(zkonnx.compile_circuit, model, tmp_path / "c", tmp_path / "missing.json", match="cannot read")
    # Settings made from another model.
    other = tmp_path / "other.json"
    zkonnx.gen_settings(bundled("lenet", "model.onnx"), other)
    raises(zkonnx.compile_circuit, model, tmp_path / "c", other, match="another model")
    raises(zkonnx.calibrate_settings, bundled("mlp", "calib.json"), model, other, match="another model")
    assert not (tmp_path / "c").exists()
    # Not a settings file at all, and one whose EZKL block was edited.
    raises(zkonnx.compile_circuit, model, tmp_path / "c", bundled("mlp", "input.json"), match="settings")
    settings = read_json(other)
    settings["run_args"]["logrows"] += 1
    raises(zkonnx.get_srs, write_json(tmp_path / "edited.json", settings), match="run_args block disagrees")


def test_a_model_with_an_unsupported_op(tmp_path):
    raises(zkonnx.gen_settings, bundled("unsupported", "model.onnx"), tmp_path / "s.json", match="Det")
    assert not (tmp_path / "s.json").exists()


def test_an_input_of_the_wrong_length(tmp_path):
    model, settings, compiled = bundled("mlp", "model.onnx"), tmp_path / "s.json", tmp_path / "c"
    zkonnx.gen_settings(model, settings)
    zkonnx.compile_circuit(model, compiled, settings)
    values = read_json(bundled("mlp", "input.json"))["input_data"][0]
    short = write_json(tmp_path / "short.json", {"input_data": [values[:-1]]})
    raises(zkonnx.gen_witness, short, compiled, tmp_path / "w.json", match="bad input")
    assert not (tmp_path / "w.json").exists()
    raises(zkonnx.calibrate_settings, short, model, settings, match="bad input")


def test_bad_arguments(tmp_path):
    model = bundled("mlp", "model.onnx")
    raises(zkonnx.gen_settings, model, tmp_path / "s.json", zkonnx.PyRunArgs(input_visibility="secret"), match="unknown visibility")
    raises(zkonnx.gen_settings, model, tmp_path / "s.json", zkonnx.PyRunArgs(layout="gpu"), match="gpu")
    zkonnx.gen_settings(model, tmp_path / "s.json")
    raises(zkonnx.calibrate_settings, bundled("mlp", "calib.json"), model, tmp_path / "s.json", "speed", match="unknown calibration target")
    raises(zkonnx.get_srs, match="settings_path or logrows")
    with pytest.warns(UserWarning, match="NOT safe"):
        raises(zkonnx.gen_srs, tmp_path / "x.srs", 40, match="out of range")
    # Keys asked for before setup, and a proof of nothing.
    zkonnx.compile_circuit(model, tmp_path / "c", tmp_path / "s.json")
    raises(zkonnx.verify, tmp_path / "p.json", tmp_path / "s.json", tmp_path / "vk.key", match="cannot read")
