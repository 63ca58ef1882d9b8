#!/usr/bin/env python3
"""Run the PyTorch-exported test models that the onnx pip package ships through zkonnx.

For every model in onnx/backend/test/data/pytorch-converted and pytorch-operator: compile, calibrate
on its test input, gen-witness, and (with --mock) mock; compare the outputs with the reference
outputs stored beside the model. Prints one line per model and a summary; exits non-zero if any
command panicked (a panic is a bug: every failure must be a one-line error).

    cargo build --release -p zkonnx-cli
    python3 scripts/onnx_backend_sweep.py [--mock] [--markdown out.md]

Needs: pip install onnx numpy.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SUITES = ["pytorch-converted", "pytorch-operator"]


def load_pbs(folder, prefix):
    arrays = []
    for path in sorted(glob.glob(os.path.join(folder, f"{prefix}_*.pb")),
                       key=lambda p: int(p.rsplit("_", 1)[1].split(".")[0])):
        t = onnx.TensorProto()
        with open(path, "rb") as f:
            t.ParseFromString(f.read())
        arrays.append(numpy_helper.to_array(t))
    return arrays


def run(cmd, env):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    err = p.stderr.strip().splitlines()
    line = next((l for l in err if l.startswith("error:")), err[-1] if err else "")
    return p.returncode, line, p.stdout, "panicked" in p.stderr


def sweep_one(zkonnx, model_dir, work, env, mock):
    """Returns (stage reached, detail, panicked)."""
    data = os.path.join(model_dir, "test_data_set_0")
    inputs, outputs = load_pbs(data, "input"), load_pbs(data, "output")
    art = os.path.join(work, "art")
    sample = os.path.join(work, "input.json")
    with open(sample, "w") as f:
        json.dump({"input_data": [np.asarray(x, dtype=np.float64).reshape(-1).tolist() for x in inputs]}, f)
    steps = [
        ("compile", [zkonnx, "compile", os.path.join(model_dir, "model.onnx"), "-o", art]),
        ("calibrate", [zkonnx, "calibrate", art, "--data", sample, "--target", "accuracy"]),
        ("gen-witness", [zkonnx, "gen-witness", art, "-i", sample, "-o", os.path.join(work, "witness.json")]),
    ]
    if mock:
        steps.append(("mock", [zkonnx, "mock", art, "-w", os.path.join(work, "witness.json")]))
    for stage, cmd in steps:
        code, line, _, panicked = run(cmd, env)
        if code != 0 or panicked:
            return stage, line, panicked
    with open(os.path.join(work, "witness.json")) as f:
        got = json.load(f)["outputs"]
    if len(got) != len(outputs):
        return "compare", f"{len(got)} outputs, reference has {len(outputs)}", False
    worst = 0.0
    for g, e in zip(got, outputs):
        e = np.asarray(e, dtype=np.float64).reshape(-1)
        g = np.asarray(g, dtype=np.float64)
        if g.shape != e.shape:
            return "compare", f"output of {g.size} values, reference {e.size}", False
        if np.isnan(e).any():
            return "compare", "the reference output holds NaN", False
        worst = max(worst, float(np.max(np.abs(g - e) / np.maximum(1.0, np.abs(e)))) if e.size else 0.0)
    if worst > 0.02:
        return "compare", f"max relative error {worst:.4f}", False
    return "match", f"max relative error {worst:.4f}", False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zkonnx", default=os.path.join(ROOT, "target", "release", "zkonnx"))
    ap.add_argument("--mock", action="store_true", help="also run the constraint check")
    ap.add_argument("--markdown", help="write the table to this file")
    args = ap.parse_args()
    base = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
    home = tempfile.mkdtemp(prefix="zkonnx-sweep-home-")
    env = dict(os.environ, ZKONNX_HOME=home)
    rows, panics = [], 0
    for suite in SUITES:
        for model_dir in sorted(glob.glob(os.path.join(base, suite, "*"))):
            name = f"{suite}/{os.path.basename(model_dir)}"
            with tempfile.TemporaryDirectory() as work:
                stage, detail, panicked = sweep_one(args.zkonnx, model_dir, work, env, args.mock)
            panics += panicked
            rows.append((name, stage, detail))
            print(f"{'PANIC ' if panicked else ''}{name}: {stage}: {detail}", flush=True)
    total = len(rows)
    compiled = sum(1 for _, s, _ in rows if s != "compile")
    matched = sum(1 for _, s, _ in rows if s == "match")
    summary = f"{total} models: {compiled} compile, {matched} match the reference outputs, {panics} panics"
    print(summary)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(f"{summary}\n\n| model | reached | detail |\n| --- | --- | --- |\n")
            for name, stage, detail in rows:
                f.write(f"| {name} | {stage} | {detail.replace('|', '/')} |\n")
    sys.exit(1 if panics else 0)


if __name__ == "__main__":
    main()
