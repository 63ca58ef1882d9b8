"""Shared fixtures: the repository's test models, and a workflow run once per model."""

import json
import logging
import os
import pathlib

import pytest

import zkonnx

TESTDATA = pathlib.Path(__file__).resolve().parents[2] / "testdata"


def bundled(*parts):
    return TESTDATA.joinpath(*parts)


def run_workflow(model, calib, data, folder, run_args=None):
    """EZKL's workflow, step by step, with the files a notebook would name."""
    f = {name: folder / name for name in ["settings.json", "network.compiled", "vk.key", "pk.key", "witness.json", "proof.json"]}
    assert zkonnx.gen_settings(model, f["settings.json"], py_run_args=run_args)
    assert zkonnx.calibrate_settings(calib, model, f["settings.json"], "resources")
    assert zkonnx.compile_circuit(model, f["network.compiled"], f["settings.json"])
    with pytest.warns(UserWarning, match="dev SRS"):
        assert zkonnx.get_srs(f["settings.json"])
    with pytest.warns(UserWarning, match="dev SRS"):
        assert zkonnx.setup(f["network.compiled"], f["vk.key"], f["pk.key"])
    witness = zkonnx.gen_witness(data, f["network.compiled"], f["witness.json"])
    assert zkonnx.mock(f["witness.json"], f["network.compiled"])
    proof = zkonnx.prove(f["witness.json"], f["network.compiled"], f["pk.key"], f["proof.json"])
    assert zkonnx.verify(f["proof.json"], f["settings.json"], f["vk.key"])
    return f, witness, proof


@pytest.fixture(scope="session", autouse=True)
def dev_srs_cache(tmp_path_factory):
    # Dev SRS files are cached per run, not in the user's home (unless the caller chose a place).
    if "ZKONNX_HOME" not in os.environ:
        os.environ["ZKONNX_HOME"] = str(tmp_path_factory.mktemp("zkonnx_home"))


@pytest.fixture(scope="session")
def mlp(tmp_path_factory):
    """The bundled MLP through the whole workflow, inputs public: (files, witness, proof)."""
    folder = tmp_path_factory.mktemp("mlp")
    run_args = zkonnx.PyRunArgs()
    run_args.input_visibility = "public"
    return run_workflow(
        bundled("mlp", "model.onnx"), bundled("mlp", "calib.json"), bundled("mlp", "input.json"), folder, run_args
    )


def read_json(path):
    return json.loads(pathlib.Path(path).read_text())


def write_json(path, value):
    pathlib.Path(path).write_text(json.dumps(value))
    return path


logging.getLogger("zkonnx").setLevel(logging.INFO)
