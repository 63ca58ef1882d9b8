#!/usr/bin/env python3
"""EZKL's example models through zkonnx, as a new user would run them (issue 27's sweep).

    git clone https://github.com/zkonduit/ezkl /tmp/ezkl   # or any checkout of it
    cargo build --release -p zkonnx-cli
    python3 scripts/ezkl_examples.py /tmp/ezkl/examples/onnx [NAME ...] [--prove] [--timeout 300]

For each example folder holding network.onnx and input.json: compile, `calibrate --target
resources` on the example's own input, gen-witness, and (with --prove, where k <= --max-prove-k,
20) setup, prove and verify; the witness's outputs are compared with onnxruntime's on the same
input (error relative to max(1, |expected|)); where onnxruntime cannot run a model (an int8
MatMul, a type it rejects), tract's Python package is the reference, and the row says so. Prints a markdown table, one row per example (k,
rows, seconds per step, peak memory of any step, error, or the one-line reason), and a summary:
proven/witnessed right, wrong (over --rel, 2%), refused (by which step), timed out. Exits
non-zero if any command panicked.
Needs numpy, onnx, onnxruntime and tract (pip install tract; target/venv has them).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
         "tensor(int32)": np.int32, "tensor(bool)": np.bool_, "tensor(int8)": np.int8}


def onnxruntime_outputs(model, data):
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    feeds = {}
    for i, inp in enumerate(session.get_inputs()):
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
        feeds[inp.name] = np.array(data[i], dtype=np.float64).astype(TYPES[inp.type]).reshape(shape)
    return [np.asarray(o, dtype=np.float64).ravel() for o in session.run(None, feeds)]


TRACT_TYPES = {1: (np.float32, "f32"), 11: (np.float64, "f64"), 7: (np.int64, "i64"), 6: (np.int32, "i32"),
               9: (np.bool_, "bool"), 3: (np.int8, "i8")}


def tract_outputs(model, data):
    """The same run on tract (an independent ONNX runtime), for what onnxruntime refuses."""
    import tract  # only needed for the few onnxruntime cannot run
    graph = onnx.load(model).graph
    weights = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    net = tract.onnx().load(model)
    feeds = []
    for k, inp in enumerate(inputs):
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in inp.type.tensor_type.shape.dim]
        dtype, mnemonic = TRACT_TYPES[inp.type.tensor_type.elem_type]
        net.set_input_fact(k, ",".join([str(s) for s in shape] + [mnemonic]))
        feeds.append(np.array(data[k], dtype=np.float64).astype(dtype).reshape(shape))
    outs = net.into_model().into_runnable().run(feeds)
    return [np.asarray(o.to_numpy(), dtype=np.float64).ravel() for o in outs]


def reference_outputs(model, data):
    """(outputs, note): onnxruntime's, or tract's with a note saying why."""
    try:
        return onnxruntime_outputs(model, data), ""
    except Exception as e:  # noqa: BLE001 - onnxruntime's own refusal is a finding, not a crash
        why = str(e).splitlines()[0].split("failed:")[-1][:100]
    try:
        return tract_outputs(model, data), f"reference: tract (onnxruntime: {why})"
    except Exception as e:  # noqa: BLE001
        raise RuntimeError(f"onnxruntime: {why}; tract: {str(e)[:100]}") from e


def run_one(zkonnx, folder, work, args):
    """(verdict, figures, detail) for one example; figures: per step seconds, k, rows, peak MB."""
    model, data = os.path.join(folder, "network.onnx"), os.path.join(folder, "input.json")
    art = os.path.join(work, os.path.basename(folder))
    figures = {"peak_mb": 0.0}

    def step(name, *cmd):
        rss = os.path.join(work, "rss")
        started = time.time()
        try:
            r = subprocess.run(["/usr/bin/time", "-q", "-f", "%M", "-o", rss, zkonnx, *cmd],
                               capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return ("timeout", f"{name} ran past {args.timeout:.0f} s")
        figures[name] = time.time() - started
        try:
            figures["peak_mb"] = max(figures["peak_mb"], int(open(rss).read().split()[-1]) / 1024)
        except (OSError, ValueError, IndexError):
            pass
        if "panicked" in r.stderr:
            return ("panic", f"{name}: {r.stderr.strip().splitlines()[0]}")
        if r.returncode:
            lines = [l for l in r.stderr.strip().splitlines() if l.startswith("error:")] or [r.stderr.strip()]
            return ("refused", f"{name}: {lines[-1][:240]}")
        return None

    for name, cmd in [("compile", ["compile", model, "-o", art]),
                      ("calibrate", ["calibrate", art, "--data", data, "--target", "resources"]),
                      ("gen-witness", ["gen-witness", art, "-i", data, "-o", os.path.join(art, "witness.json")])]:
        failed = step(name, *cmd)
        if failed:
            return (*failed[:1], figures, failed[1])
    outputs = json.load(open(os.path.join(art, "witness.json")))["outputs"]
    try:
        expected, note = reference_outputs(model, json.load(open(data))["input_data"])
    except RuntimeError as e:
        return ("no reference", figures, f"neither runtime runs it: {e}")
    err = 0.0
    for got, want in zip(outputs, expected):
        got = np.asarray(got, dtype=np.float64).ravel()
        if got.size != want.size:
            return ("wrong", figures, f"output sizes differ: {got.size} vs {want.size}")
        if want.size:
            err = max(err, float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want))))))
    settings = json.load(open(os.path.join(art, "settings.json")))
    figures.update(k=settings["circuit"]["k"], rows=settings.get("rows"), error=err)
    if err > args.rel:
        return ("wrong", figures, f"error {err:.4f} over {args.rel}" + (f"; {note}" if note else ""))
    if args.prove and figures["k"] <= args.max_prove_k:
        proof = os.path.join(art, "proof.json")
        for name, cmd in [("setup", ["setup", art]),
                          ("prove", ["prove", art, "-w", os.path.join(art, "witness.json"), "-o", proof]),
                          ("verify", ["verify", art, "-p", proof])]:
            failed = step(name, *cmd)
            if failed:
                return (*failed[:1], figures, failed[1])
        # Keys and proofs of large circuits are gigabytes: keep the disk free for the next.
        for f in os.listdir(art):
            if f.endswith((".pk", ".vk", ".srs")) or f.startswith("kzg"):
                os.remove(os.path.join(art, f))
        return ("proven", figures, note)
    return ("right", figures, note)


def cell(figures, key, fmt):
    return fmt.format(figures[key]) if figures.get(key) is not None else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("examples", help="EZKL's examples/onnx folder")
    ap.add_argument("names", nargs="*", help="only these examples")
    ap.add_argument("--zkonnx", default=os.path.join(ROOT, "target", "release", "zkonnx"))
    ap.add_argument("--prove", action="store_true", help="also setup, prove and verify where k <= --max-prove-k")
    ap.add_argument("--max-prove-k", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=300, help="seconds per command")
    ap.add_argument("--rel", type=float, default=0.02, help="bound on the error, relative to max(1, |expected|)")
    args = ap.parse_args()
    names = args.names or sorted(os.listdir(args.examples))
    counts = {}
    print("| example | verdict | k | rows | calibrate s | setup s | prove s | verify s | peak MB | error | reason |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as work:
        for name in names:
            folder = os.path.join(args.examples, name)
            if not (os.path.isfile(os.path.join(folder, "network.onnx")) and os.path.isfile(os.path.join(folder, "input.json"))):
                continue
            verdict, f, detail = run_one(args.zkonnx, folder, work, args)
            counts[verdict] = counts.get(verdict, 0) + 1
            row = [name, verdict, cell(f, "k", "{}"), cell(f, "rows", "{}"), cell(f, "calibrate", "{:.1f}"),
                   cell(f, "setup", "{:.1f}"), cell(f, "prove", "{:.1f}"), cell(f, "verify", "{:.2f}"),
                   cell(f, "peak_mb", "{:.0f}"), cell(f, "error", "{:.4f}"), detail.replace("|", "/")]
            print("| " + " | ".join(row) + " |", flush=True)
    print("summary: " + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())))
    sys.exit(1 if counts.get("panic") else 0)


if __name__ == "__main__":
    main()
