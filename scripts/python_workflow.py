#!/usr/bin/env python3
"""The EZKL workflow on zkonnx's Python package, in one go: train a scikit-learn MLP, export it
to ONNX, then settings, calibration, circuit, SRS, keys, witness, mock, proof and verification,
and the quantization error over a few samples. Prints each step's time.

    pip install ./python scikit-learn skl2onnx onnx onnxruntime
    python scripts/python_workflow.py                  # the scikit-learn MLP, trained here
    python scripts/python_workflow.py --bundled lenet  # a model under testdata/ instead

Artifacts go to --out (default: a temporary folder). The SRS is the dev one: not for production.
"""

import argparse
import json
import logging
import pathlib
import tempfile
import time
import warnings

import numpy as np
import onnx
import onnxruntime as ort

import zkonnx

TESTDATA = pathlib.Path(__file__).resolve().parents[1] / "testdata"


def write_json(path, value):
    path.write_text(json.dumps(value))
    return path


def train_and_export(out):
    """An MLP classifier on 8 features and 3 classes; its ONNX graph keeps the probabilities."""
    from skl2onnx import to_onnx
    from sklearn.datasets import make_classification
    from sklearn.neural_network import MLPClassifier

    x, y = make_classification(n_samples=600, n_features=8, n_informative=6, n_classes=3, random_state=1)
    x = x.astype(np.float32)
    clf = MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=800, random_state=1).fit(x[:500], y[:500])
    print(f"trained: accuracy {clf.score(x[500:], y[500:]):.2f} on held-out samples")
    exported = out / "exported.onnx"
    onnx.save(to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}}, target_opset=15), exported)
    model = out / "network.onnx"
    onnx.utils.extract_model(str(exported), str(model), ["X"], ["probabilities"])
    calib = write_json(out / "calib.json", {"input_data": [x[:50].flatten().tolist()]})
    samples = [s[None, :] for s in x[500:510]]
    return model, calib, samples


def bundled(name, out):
    folder = TESTDATA / name
    data = json.loads((folder / "calib.json").read_text())["input_data"][0]
    session = ort.InferenceSession(str(folder / "model.onnx"))
    shape = [d if isinstance(d, int) else 1 for d in session.get_inputs()[0].shape]
    size = int(np.prod(shape))
    samples = [np.array(data[i * size : (i + 1) * size], dtype=np.float32).reshape(shape) for i in range(len(data) // size)]
    return folder / "model.onnx", folder / "calib.json", samples[:10]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundled", help="a model folder under testdata/ instead of the trained MLP")
    parser.add_argument("--out", type=pathlib.Path, help="artifact folder (default: temporary)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="  %(name)s: %(message)s")
    warnings.simplefilter("ignore", UserWarning)  # the dev SRS warning, once per step
    out = args.out or pathlib.Path(tempfile.mkdtemp(prefix="zkonnx_"))
    out.mkdir(parents=True, exist_ok=True)
    model, calib, samples = bundled(args.bundled, out) if args.bundled else train_and_export(out)
    data = write_json(out / "input.json", {"input_data": [samples[0].flatten().tolist()]})
    f = {n: out / n for n in ["settings.json", "network.compiled", "vk.key", "pk.key", "witness.json", "proof.json"]}

    times = {}

    def step(name, fn, *a, **kw):
        start = time.perf_counter()
        result = fn(*a, **kw)
        times[name] = time.perf_counter() - start
        print(f"{name}: {times[name]:.3f} s")
        return result

    step("gen_settings", zkonnx.gen_settings, model, f["settings.json"])
    step("calibrate_settings", zkonnx.calibrate_settings, calib, model, f["settings.json"], "resources")
    step("compile_circuit", zkonnx.compile_circuit, model, f["network.compiled"], f["settings.json"])
    step("get_srs", zkonnx.get_srs, f["settings.json"])
    step("setup", zkonnx.setup, f["network.compiled"], f["vk.key"], f["pk.key"])
    step("gen_witness", zkonnx.gen_witness, data, f["network.compiled"], f["witness.json"])
    step("mock", zkonnx.mock, f["witness.json"], f["network.compiled"])
    proof = step("prove", zkonnx.prove, f["witness.json"], f["network.compiled"], f["pk.key"], f["proof.json"])
    step("verify", zkonnx.verify, f["proof.json"], f["settings.json"], f["vk.key"])
    print(f"verified; public outputs {proof['outputs']}")

    # The quantization error, as the EZKL workflow computes it: the float model (onnxruntime)
    # against the witness outputs, over a few samples.
    session = ort.InferenceSession(str(model))
    errors = []
    for i, sample in enumerate(samples):
        sample_file = write_json(out / f"sample{i}.json", {"input_data": [sample.flatten().tolist()]})
        proven = np.concatenate([np.ravel(o) for o in zkonnx.gen_witness(sample_file, f["network.compiled"])["outputs"]])
        reference = np.concatenate([np.ravel(o) for o in session.run(None, {session.get_inputs()[0].name: sample})])
        errors.append(np.abs(proven - reference))
    errors = np.array(errors)
    settings = json.loads(f["settings.json"].read_text())
    print(
        f"quantization error over {len(errors)} samples: mean {errors.mean():.5f}, max {errors.max():.5f}; "
        f"k={settings['run_args']['logrows']}, pk {f['pk.key'].stat().st_size / 2**20:.1f} MB, "
        f"proof {len(proof['proof']) // 2} bytes; total {sum(times.values()):.1f} s; artifacts in {out}"
    )


if __name__ == "__main__":
    main()
