#!/usr/bin/env python3
"""Run EZKL and zkonnx side by side on the same ONNX models and data; print one table per model.

    python3 scripts/compare_ezkl.py [--target resources|accuracy] [MODEL_DIR ...]

A MODEL_DIR holds model.onnx, calib.json (N samples, EZKL layout) and input.json (one sample); the
default is every proving model in testdata/. Both tools get the same visibility (private input,
public output, fixed weights), are calibrated on the same data with the same target, and each step
runs as its own process under /usr/bin/time (wall time, peak memory). Quantization error is the max
absolute difference from onnxruntime over the calibration samples; with --target resources, zkonnx
is calibrated with --max-error set to the error EZKL reached, so costs are compared at equal or
better accuracy.

EZKL is installed from PyPI into .venv-ezkl/ on first use (with onnx, onnxruntime, numpy); this
script re-runs itself inside that venv. SRSs are generated locally for both tools (unsafe, for
measurement only).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
VENV = os.environ.get("ZKONNX_EZKL_VENV", os.path.join(ROOT, ".venv-ezkl"))
VENV_PY = os.path.join(VENV, "bin", "python")


def ensure_venv():
    """Re-run inside a venv that has ezkl, creating it if needed."""
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        return
    if not os.path.exists(VENV_PY):
        print(f"installing ezkl into {VENV} ...", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([VENV_PY, "-m", "pip", "install", "-q", "ezkl", "onnx", "onnxruntime", "numpy"])
    os.execv(VENV_PY, [VENV_PY] + sys.argv)


def timed(cmd, cwd=None):
    """Run cmd under /usr/bin/time; return (seconds, peak MB, stdout)."""
    with tempfile.NamedTemporaryFile(mode="r") as rep:
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", rep.name] + cmd, cwd=cwd,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:4])}... failed:\n{proc.stderr[-2000:]}")
        secs, kb = rep.read().split()[-2:]
        return float(secs), int(kb) / 1024.0, proc.stdout


def ezkl_step(code):
    """One EZKL call in a fresh interpreter (so its memory is measured alone)."""
    prelude = "import asyncio, inspect, ezkl\n" \
              "def run(r):\n    return asyncio.run(r) if inspect.isawaitable(r) else r\n"
    return timed([sys.executable, "-c", prelude + code])


def samples(data_path, input_size):
    values = json.load(open(data_path))["input_data"][0]
    return [values[i:i + input_size] for i in range(0, len(values), input_size)]


def onnx_outputs(model_path, batch):
    import numpy as np
    import onnxruntime as ort
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    return [sess.run(None, {inp.name: np.array(x, dtype=np.float32).reshape(shape)})[0].reshape(-1).tolist()
            for x in batch]


def max_error(got, want):
    return max(abs(a - b) for g, w in zip(got, want) for a, b in zip(g, w))


def explicit_defaults(model_path, work):
    """An equivalent model with ONNX's default Conv/pool attributes written out: EZKL 23 refuses a
    Conv without `strides` ("a node is missing required params"), though ONNX defines the default."""
    import onnx
    from onnx import helper
    m = onnx.load(model_path)
    changed = False
    for node in m.graph.node:
        if node.op_type not in ("Conv", "AveragePool", "MaxPool"):
            continue
        have = {a.name for a in node.attribute}
        rank = 2
        for name, value in (("strides", [1] * rank), ("pads", [0] * 2 * rank), ("dilations", [1] * rank)):
            if name not in have and not (name == "dilations" and node.op_type == "AveragePool"):
                node.attribute.append(helper.make_attribute(name, value))
                changed = True
    if not changed:
        return model_path
    out = os.path.join(work, "model_explicit.onnx")
    onnx.save(m, out)
    print(f"  (EZKL gets {os.path.basename(model_path)} with default attributes written out)", file=sys.stderr)
    return out


def run_ezkl(d, work, target, calib_batch):
    model, calib, inp = (os.path.join(d, f) for f in ("model.onnx", "calib.json", "input.json"))
    model = explicit_defaults(model, work)
    p = {k: os.path.join(work, k) for k in ("settings.json", "model.compiled", "kzg.srs", "witness.json",
                                           "pk.key", "vk.key", "proof.json")}
    r = {}
    ezkl_step(f"""
args = ezkl.PyRunArgs()
args.input_visibility = "private"; args.output_visibility = "public"; args.param_visibility = "fixed"
args.variables = [("batch", 1)]
assert run(ezkl.gen_settings({model!r}, {p['settings.json']!r}, py_run_args=args))
""")
    r["calibrate"] = ezkl_step(f"assert run(ezkl.calibrate_settings({calib!r}, {model!r}, {p['settings.json']!r}, {target!r}))")
    ezkl_step(f"assert run(ezkl.compile_circuit({model!r}, {p['model.compiled']!r}, {p['settings.json']!r}))")
    settings = json.load(open(p["settings.json"]))
    r["k"] = settings["run_args"]["logrows"]
    ezkl_step(f"run(ezkl.gen_srs({p['kzg.srs']!r}, {r['k']}))")
    r["gen-witness"] = ezkl_step(f"run(ezkl.gen_witness({inp!r}, {p['model.compiled']!r}, {p['witness.json']!r}))")
    r["setup"] = ezkl_step(f"assert run(ezkl.setup({p['model.compiled']!r}, {p['vk.key']!r}, {p['pk.key']!r}, {p['kzg.srs']!r}))")
    r["prove"] = ezkl_step(f"run(ezkl.prove({p['witness.json']!r}, {p['model.compiled']!r}, {p['pk.key']!r}, {p['proof.json']!r}, {p['kzg.srs']!r}))")
    r["verify"] = ezkl_step(f"assert run(ezkl.verify({p['proof.json']!r}, {p['settings.json']!r}, {p['vk.key']!r}, {p['kzg.srs']!r}))")
    r["pk"] = os.path.getsize(p["pk.key"])
    r["vk"] = os.path.getsize(p["vk.key"])
    proof = json.load(open(p["proof.json"]))
    r["proof"] = len(proof.get("proof", [])) if isinstance(proof.get("proof"), list) else len(bytes.fromhex(proof.get("hex_proof", "0x")[2:]))
    # Outputs on every calibration sample (not timed).
    outs = []
    for i, x in enumerate(calib_batch):
        f = os.path.join(work, f"sample{i}.json")
        json.dump({"input_data": [x]}, open(f, "w"))
        w = os.path.join(work, f"w{i}.json")
        ezkl_step(f"run(ezkl.gen_witness({f!r}, {p['model.compiled']!r}, {w!r}))")
        outs.append([float(v) for v in json.load(open(w))["pretty_elements"]["rescaled_outputs"][0]])
    r["outputs"] = outs
    return r


def run_zkonnx(d, work, target, calib_batch, max_error):
    zk = os.path.join(ROOT, "target", "release", "zkonnx")
    env_home = os.path.join(work, "home")
    os.environ["ZKONNX_HOME"] = env_home
    art = os.path.join(work, "art")
    model, calib, inp = (os.path.join(d, f) for f in ("model.onnx", "calib.json", "input.json"))
    r = {}
    timed([zk, "compile", model, "-o", art])
    extra = ["--max-error", f"{max_error:.6g}"] if max_error is not None else []
    r["calibrate"] = timed([zk, "calibrate", art, "--data", calib, "--target", target] + extra)
    settings = json.load(open(os.path.join(art, "settings.json")))
    r["k"] = settings["circuit"]["k"]
    w, proof = os.path.join(work, "witness.json"), os.path.join(work, "proof.json")
    # The dev SRS is generated on first use; make it outside the timed setup, as EZKL's gen_srs is.
    timed([zk, "setup", art])
    r["setup"] = timed([zk, "setup", art])
    r["gen-witness"] = timed([zk, "gen-witness", art, "-i", inp, "-o", w])
    r["prove"] = timed([zk, "prove", art, "-w", w, "-o", proof])
    r["verify"] = timed([zk, "verify", art, "-p", proof])
    r["pk"] = os.path.getsize(os.path.join(art, "pk.bin"))
    r["vk"] = os.path.getsize(os.path.join(art, "vk.bin"))
    r["proof"] = len(bytes.fromhex(json.load(open(proof))["proof"]))
    outs = []
    for i, x in enumerate(calib_batch):
        f = os.path.join(work, f"sample{i}.json")
        json.dump({"input_data": [x]}, open(f, "w"))
        wi = os.path.join(work, f"w{i}.json")
        timed([zk, "gen-witness", art, "-i", f, "-o", wi])
        outs.append(json.load(open(wi))["outputs"][0])
    r["outputs"] = outs
    return r


def fmt_size(b):
    return f"{b / 1e6:.1f} MB" if b >= 1e6 else f"{b / 1e3:.1f} kB"


def table(name, target, ez, zk, ref):
    rows = [("k (logrows)", ez["k"], zk["k"], str)]
    for step in ("calibrate", "setup", "gen-witness", "prove", "verify"):
        rows.append((f"{step} time", ez[step][0], zk[step][0], lambda v: f"{v:.2f} s"))
    for step in ("setup", "prove"):
        rows.append((f"{step} peak memory", ez[step][1], zk[step][1], lambda v: f"{v:.0f} MB"))
    rows += [("proving key", ez["pk"], zk["pk"], fmt_size), ("verifying key", ez["vk"], zk["vk"], fmt_size),
             ("proof", ez["proof"], zk["proof"], fmt_size),
             ("max abs error vs onnxruntime", max_error(ez["outputs"], ref), max_error(zk["outputs"], ref),
              lambda v: f"{v:.4f}")]
    print(f"\n### {name} (target {target}, {len(ref)} samples)\n")
    print("| metric | EZKL | zkonnx | zkonnx / EZKL |")
    print("| --- | --- | --- | --- |")
    for label, a, b, f in rows:
        ratio = f"{b / a:.3f}" if a else "-"
        print(f"| {label} | {f(a)} | {f(b)} | {ratio} |")


def main():
    ensure_venv()
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", choices=["resources", "accuracy"], default="resources")
    ap.add_argument("models", nargs="*")
    args = ap.parse_args()
    models = [os.path.abspath(m) for m in args.models] or [os.path.join(ROOT, "testdata", m) for m in ("mlp", "lenet", "mixed")]
    subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "zkonnx-cli"], cwd=ROOT)
    import ezkl
    print(f"EZKL {getattr(ezkl, '__version__', '?')} vs zkonnx, {os.cpu_count()} cores")
    for d in models:
        name = os.path.basename(os.path.normpath(d))
        inp = json.load(open(os.path.join(d, "input.json")))["input_data"][0]
        batch = samples(os.path.join(d, "calib.json"), len(inp))
        ref = onnx_outputs(os.path.join(d, "model.onnx"), batch)
        with tempfile.TemporaryDirectory() as ew, tempfile.TemporaryDirectory() as zw:
            try:
                ez = run_ezkl(d, ew, args.target, batch)
            except RuntimeError as e:
                # EZKL refusing or panicking on a model is a result too: say so and show zkonnx alone.
                last = [l for l in str(e).splitlines() if l.strip()][-1]
                print(f"\n### {name} (target {args.target})\n\nEZKL failed: {last}")
                zk = run_zkonnx(d, zw, args.target, batch, None)
                print(f"zkonnx: k={zk['k']}, prove {zk['prove'][0]:.2f} s, pk {fmt_size(zk['pk'])}, "
                      f"proof {fmt_size(zk['proof'])}, max abs error {max_error(zk['outputs'], ref):.4f}")
                continue
            # Same accuracy or better: under `resources`, zkonnx may not exceed the error EZKL reached.
            bound = max_error(ez["outputs"], ref) if args.target == "resources" else None
            zk = run_zkonnx(d, zw, args.target, batch, bound)
        table(name, args.target, ez, zk, ref)


if __name__ == "__main__":
    main()
