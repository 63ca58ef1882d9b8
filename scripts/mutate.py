#!/usr/bin/env python3
"""Mutation harness (issue 26): use zkonnx as a hostile but realistic user would, and count what happens.

Usage:
  scripts/mutate.py --zkonnx target/debug/zkonnx [--onnx 300] [--artifacts 250] [--seed 1]
                    [--timeout 120] [--work DIR] [--json OUT] [--case ID] [--rel 0.02] [--mem-limit GB]

Needs numpy, onnx and onnxruntime (target/venv, as scripts/test.sh installs them).

Part A mutates a bundled model (testdata/{mlp,lenet,mixed,pooling,logic,embedding}/model.onnx) once
per case and runs compile, setup, gen-witness, prove, verify --json on it; onnx's checker and an
onnxruntime run on input.json are the reference. Part B builds one honest artifact folder per model,
then mutates one file of a copy (settings.json, circuit.json, keys, SRS, witness, proof, or puts in
another model's proof or key) and runs the commands that read it, verify last.

Each case gets one verdict (the first bad one over its commands):
  panic             stderr says "panicked" or "RUST_BACKTRACE"
  abort             killed by a signal that is not our timeout, or "memory allocation of" on stderr
  hang              ran past --timeout (its process group is killed)
  wrongly accepted  Part A: verify passed although the checker or onnxruntime rejected the model, or
                    the verified outputs differ from onnxruntime's by more than --rel (2%) of
                    max(1, |expected|), or onnxruntime gives NaN/inf where they are finite.
                    Part B: verify passed on a changed proof, vk, settings or SRS, or on another
                    model's proof or vk; or, after a changed circuit, pk or witness, verify passed
                    with outputs other than the honest proof's
  clean             a refusal (non-zero exit) or a verified proof that agrees with the reference
A refusal whose stderr is not exactly one "error:" line (besides "warning:" lines) is clean but also
counted as "untidy". Every case has its own seeded RNG (--seed and its id): `--case A17` reruns one.
The files of cases that are not clean (or untidy) stay in WORK/cases/ID/, with commands.txt.
Each child runs with ZKONNX_HOME=WORK/home (dev SRS cached once), stdin closed, and an address-space
limit (--mem-limit, 8 GB; 0 for none) so a runaway allocation aborts instead of swapping the machine.
"""
import argparse, json, math, os, random, re, resource, shutil, signal, subprocess, sys, time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["mlp", "lenet", "mixed", "pooling", "logic", "embedding"]
COLUMNS = ["tried", "clean", "untidy", "panic", "abort", "hang", "wrongly accepted"]
P = 21888242871839275222246617145695784041095026026405775808491893817034525208577  # BN254's scalar field
REL = 0.02  # --rel

@dataclass
class Case:
    id: str
    kind: str
    model: str
    detail: str = ""  # what the mutation changed
    verdict: str = "clean"
    untidy: bool = False
    why: str = ""
    command: str = ""  # the command that earned the verdict (or the untidy refusal)
    stderr: str = ""  # its first 300 characters
    refusal: str = ""  # which command refused, and its first stderr line
    reference: str = ""  # Part A: "ok" or why onnx/onnxruntime rejected the model
    seconds: float = 0.0
    commands: list = field(default_factory=list)

class NotApplicable(Exception):
    """The mutation has nothing to change in this model: the case takes the next model."""

def mark(case, verdict, why, cmd=None, err=""):
    if case.verdict == "clean":
        case.verdict, case.why, case.stderr = verdict, why, err[:300]
        case.command = " ".join(cmd) if cmd else case.commands[-1]

class Zk:
    """Runs zkonnx commands for cases and judges each run."""

    def __init__(self, exe, home, timeout, mem_gb):
        self.exe, self.timeout, self.mem = str(Path(exe).resolve()), timeout, mem_gb
        self.env = dict(os.environ, ZKONNX_HOME=str(home))

    def limit(self):
        if self.mem:
            lim = int(self.mem * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

    def run(self, case, *args):
        """One command; a panic, abort or hang becomes the case's verdict. Returns (exit 0, stdout)."""
        cmd = [self.exe] + [str(a) for a in args]
        case.commands.append(" ".join(cmd))
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=self.env, start_new_session=True, preexec_fn=self.limit)
        hung = False
        try:
            out, err = p.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # the child's own process group
            out, err = p.communicate()
            hung = True
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
        bad = ("hang" if hung else "panic" if "panicked" in err or "RUST_BACKTRACE" in err
               else "abort" if p.returncode < 0 or "memory allocation of" in err else None)
        if bad:
            mark(case, bad, f"{args[0]}: exit {p.returncode}", cmd, err)
            return False, out
        if p.returncode != 0:
            lines = [l for l in err.splitlines() if not l.startswith("warning:")]
            case.refusal = f"{args[0]}: {lines[0] if lines else '(no message)'}"[:160]
            if not (len(lines) == 1 and lines[0].startswith("error:")):
                case.untidy = True
                case.command, case.stderr = case.command or " ".join(cmd), case.stderr or err[:300]
        return p.returncode == 0, out

# ---------------------------------------------------------------- the reference: onnx and onnxruntime

def reference(model_path, input_path):
    """What onnx's checker and onnxruntime say of a model: {"ok", "why", "outputs"} (run in a child)."""
    import numpy as np, onnx, onnxruntime as ort
    short = lambda stage, e: {"ok": False, "why": f"{stage}: " + re.sub(
        r"\[ONNXRuntimeError\] : \d+ : \w+ : |Load model from \S+ failed:|/onnxruntime_src/\S+ [^(]*\([^)]*\) ",
        "", str(e)).strip()[:200]}
    try:
        m = onnx.load(model_path)
    except Exception as e:
        return short("onnx.load", e)
    try:
        onnx.checker.check_model(m)
    except Exception as e:
        return short("checker", e)
    try:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        s = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
        feeds = {}
        for inp, values in zip(s.get_inputs(), json.load(open(input_path))["input_data"]):
            dtype = {"tensor(double)": np.float64, "tensor(int64)": np.int64, "tensor(int32)": np.int32,
                     "tensor(bool)": np.bool_}.get(inp.type, np.float32)
            shape = [d if isinstance(d, int) else 1 for d in inp.shape]
            feeds[inp.name] = np.asarray(values, dtype=np.float64).astype(dtype).reshape(shape)
        outs = s.run(None, feeds)
    except Exception as e:
        return short("onnxruntime", e)
    return {"ok": True, "why": "", "outputs": [np.asarray(o, dtype=np.float64).ravel().tolist() for o in outs]}

def run_reference(model_path, input_path, zk):
    """reference() in a child process: a model that crashes onnxruntime must not end the harness."""
    cmd = [sys.executable, __file__, "--reference", str(model_path), str(input_path)]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=120, stdin=subprocess.DEVNULL, preexec_fn=zk.limit)
        return json.loads(p.stdout) if p.returncode == 0 else {"ok": False, "why": f"onnxruntime crashed ({p.returncode})"}
    except subprocess.TimeoutExpired:
        return {"ok": False, "why": "onnxruntime timed out"}

def disagreement(expected, verified, exact=False):
    """Why the verified outputs are not the expected ones (within REL, or exactly), or None."""
    if verified is None or len(expected) != len(verified):
        return f"{0 if verified is None else len(verified)} outputs verified, {len(expected)} expected"
    for o, (es, vs) in enumerate(zip(expected, verified)):
        if len(es) != len(vs):
            return f"output {o} has {len(vs)} values, {len(es)} expected"
        for i, (e, v) in enumerate(zip(es, vs)):
            if not math.isfinite(e) and not math.isfinite(v):
                continue
            bound = 1e-12 if exact else REL * max(1.0, abs(e)) if math.isfinite(e) else -1.0
            if not abs(v - e) <= bound:
                return f"output {o}[{i}] verified {v}, expected {e}"
    return None

# ---------------------------------------------------------------- Part A: ONNX mutations

def node_name(n):
    return n.name or n.output[0]

def float_init(m, rng):
    from onnx import numpy_helper
    t = rng.choice([t for t in m.graph.initializer if t.data_type in (1, 10, 11) and math.prod(t.dims) > 0])
    return t, numpy_helper.to_array(t).copy()

def put_init(t, a):
    from onnx import numpy_helper
    t.CopyFrom(numpy_helper.from_array(a, t.name))

def a_init_scale(m, rng):
    import numpy as np
    t, a = float_init(m, rng)
    i, f = rng.randrange(a.size), rng.choice([2.0**56, 1e30, 3e38])
    with np.errstate(all="ignore"):
        a.flat[i] = a.flat[i] * f if a.flat[i] != 0 else f
    put_init(t, a)
    return f"{t.name}[{i}] *= {f:g}"

def a_init_nonfinite(m, rng):
    t, a = float_init(m, rng)
    i, v = rng.randrange(a.size), rng.choice([math.nan, math.inf, -math.inf])
    a.flat[i] = v
    put_init(t, a)
    return f"{t.name}[{i}] = {v}"

def a_init_bitflip(m, rng):
    from onnx import numpy_helper
    t = rng.choice([t for t in m.graph.initializer if math.prod(t.dims) > 0])
    if not t.raw_data:
        put_init(t, numpy_helper.to_array(t))
    b, bit = bytearray(t.raw_data), rng.randrange(len(t.raw_data) * 8)
    b[bit // 8] ^= 1 << (bit % 8)
    t.raw_data = bytes(b)
    return f"{t.name}: raw bit {bit} flipped"

def a_input_dim(m, rng):
    inits = {t.name for t in m.graph.initializer}
    inp = rng.choice([i for i in m.graph.input if i.name not in inits])
    dims = inp.type.tensor_type.shape.dim
    d, v = rng.randrange(len(dims)), rng.choice([0, -7, 2**40])
    dims[d].dim_value = v
    return f"input {inp.name} dim {d} = {v}"

OPS = ["Relu", "Sigmoid", "Tanh", "Add", "Mul", "Div", "MatMul", "Gemm", "Conv", "Softmax", "Abs", "Exp", "Log",
       "Sqrt", "Identity", "Reshape", "Transpose", "MaxPool", "Concat", "Erf", "Floor", "Where", "Gather", "NotAnOp"]

def a_op_type(m, rng):
    n = rng.choice(m.graph.node)
    old, n.op_type = n.op_type, rng.choice([o for o in OPS if o != n.op_type])
    return f"node {node_name(n)}: {old} -> {n.op_type}"

def a_node_input(m, rng):
    n = rng.choice(m.graph.node)
    if n.input and rng.random() < 0.5:
        i = rng.randrange(len(n.input))
        gone = n.input.pop(i)
        return f"node {node_name(n)}: input {i} ({gone}) dropped"
    n.input.append("zkonnx_mutate_missing")
    return f"node {node_name(n)}: an input no node makes added"

def a_node_swap(m, rng):
    nodes = m.graph.node
    if len(nodes) < 2:
        raise NotApplicable
    i = rng.randrange(len(nodes) - 1)
    j = i + 1 if rng.random() < 0.7 else rng.randrange(i + 1, len(nodes))
    a = type(nodes[i])()
    a.CopyFrom(nodes[i])
    nodes[i].CopyFrom(nodes[j])
    nodes[j].CopyFrom(a)
    return f"nodes {i} and {j} swapped"

def a_int_attr(m, rng):
    cands = [(n, a, k) for n in m.graph.node for a in n.attribute
             for k in ([None] if a.type == 2 else range(len(a.ints)) if a.type == 7 else [])]
    if not cands:
        raise NotApplicable
    shape = [c for c in cands if c[1].name in ("kernel_shape", "pads", "strides", "dilations", "group")]
    n, a, k = rng.choice(shape if shape and rng.random() < 0.7 else cands)
    old = a.i if k is None else a.ints[k]
    v = rng.choice([x for x in (0, -1, 2**32) if x != old])
    if k is None:
        a.i = v
    else:
        a.ints[k] = v
    return f"{n.op_type} {node_name(n)}: {a.name}{'' if k is None else f'[{k}]'} {old} -> {v}"

def truncate(data, rng, least=1):
    n = rng.randrange(least, len(data))
    return data[:n], f"truncated to {n} of {len(data)} bytes"

def a_byteflip(data, rng):
    b, at = bytearray(data), sorted(rng.sample(range(len(data)), rng.randint(1, 8)))
    for i in at:
        b[i] ^= rng.randrange(1, 256)
    return bytes(b), f"bytes {at} flipped"

def a_no_outputs(m, rng):
    del m.graph.output[:]
    return "graph outputs removed"

def a_opset99(m, rng):
    for o in m.opset_import:
        o.version = 99 if o.domain in ("", "ai.onnx") else o.version
    return "opset 99"

# name -> (mutation, whether it works on the serialized bytes rather than the ModelProto)
ONNX_KINDS = {"init-scale": (a_init_scale, False), "init-nonfinite": (a_init_nonfinite, False),
              "init-bitflip": (a_init_bitflip, False), "no-outputs": (a_no_outputs, False),
              "input-dim": (a_input_dim, False), "opset-99": (a_opset99, False), "op-type": (a_op_type, False),
              "node-input": (a_node_input, False), "node-swap": (a_node_swap, False),
              "int-attr": (a_int_attr, False), "truncate": (truncate, True), "byte-flip": (a_byteflip, True)}
ORIGINAL = {}  # model -> onnxruntime on the unmutated model

def onnx_case(case, rng, zk, dirs):
    import onnx
    src, inp = ROOT / "testdata" / case.model / "model.onnx", ROOT / "testdata" / case.model / "input.json"
    fn, raw = ONNX_KINDS[case.kind]
    if raw:
        data, case.detail = fn(src.read_bytes(), rng)
    else:
        m = onnx.load(str(src))
        case.detail = fn(m, rng)
        data = m.SerializeToString()
    mut, art, w, p = dirs / "mutated.onnx", dirs / "art", dirs / "witness.json", dirs / "proof.json"
    mut.write_bytes(data)
    ref = run_reference(mut, inp, zk)
    case.reference = "ok" if ref["ok"] else ref["why"]
    for args in (["compile", mut, "-o", art], ["setup", art], ["gen-witness", art, "-i", inp, "-o", w],
                 ["prove", art, "-w", w, "-o", p]):
        if not zk.run(case, *args)[0]:
            return
    ok, out = zk.run(case, "verify", art, "-p", p, "--json")
    if not ok:
        return
    verified = json.loads(out).get("outputs")
    if ref["ok"]:
        if why := disagreement(ref["outputs"], verified):
            mark(case, "wrongly accepted", f"verified, onnxruntime disagrees: {why}")
        return
    if case.model not in ORIGINAL:
        ORIGINAL[case.model] = run_reference(src, inp, zk).get("outputs", [])
    diff = disagreement(ORIGINAL[case.model], verified)
    mark(case, "wrongly accepted", f"verified, but {ref['why']} (the verified outputs "
         + (f"are not the unmutated model's: {diff})" if diff else "are the unmutated model's)"))

# ---------------------------------------------------------------- Part B: artifact mutations

def leaves(x, path=()):
    """(path, value) of every number and string in a JSON value."""
    if isinstance(x, (dict, list)):
        for k, v in (x.items() if isinstance(x, dict) else enumerate(x)):
            yield from leaves(v, path + (k,))
    elif not isinstance(x, bool) and x is not None:
        yield path, x

def set_at(x, path, v):
    for k in path[:-1]:
        x = x[k]
    x[path[-1]] = v

def dotted(path):
    return ".".join(map(str, path))

def b_settings_number(s, rng):
    want = re.compile(r"^circuit\.(k|lookup_bits)$|scale|range|^inputs\.|^outputs\.")
    p, v = rng.choice([(p, v) for p, v in leaves(s) if isinstance(v, (int, float)) and want.search(dotted(p))])
    nv = rng.choice([c for c in (0, -1, 2**32, 2**63, 1e308, -v, v + 1, v * 2, v - 1) if c != v])
    set_at(s, p, nv)
    return f"{dotted(p)}: {v} -> {nv}"

def b_settings_visibility(s, rng):
    k = rng.choice(sorted(s["visibility"]))
    v = s["visibility"][k]
    s["visibility"][k] = rng.choice([x for x in ("private", "public", "hashed", "fixed", "polycommit", "") if x != v])
    return f"visibility.{k}: {v!r} -> {s['visibility'][k]!r}"

def b_settings_delete(s, rng):
    # only keys without a serde default (deleting one that equals its default would change nothing)
    keys = [(k,) for k in ("format", "model_sha256", "visibility", "scales", "inputs", "outputs", "circuit", "rows")
            if k in s] + [("circuit", k) for k in ("k", "lookup_bits", "advice", "rem_lanes", "mag_lanes",
                                                    "range_widths") if k in s.get("circuit", {})]
    p = rng.choice(keys + [("visibility", k) for k in s.get("visibility", {})])
    del (s if len(p) == 1 else s[p[0]])[p[-1]]
    return f"{dotted(p)} deleted"

def b_circuit_forward(c, rng):
    nodes = c["graph"]["nodes"]
    i = rng.choice([i for i, n in enumerate(nodes) if n["inputs"]])
    j, to = rng.randrange(len(nodes[i]["inputs"])), rng.choice(list(range(i, len(nodes))) + [len(nodes) + 5])
    nodes[i]["inputs"][j] = to
    return f"node {i} input {j} -> node {to}"

def b_circuit_constant(c, rng):
    cands = [(p, v) for i, n in enumerate(c["graph"]["nodes"]) for p, v in leaves(n["op"], ("graph", "nodes", i, "op"))
             if isinstance(v, (int, float)) and "index" not in p]
    if not cands:
        raise NotApplicable
    p, v = rng.choice(cands)
    nv = (rng.choice([v * 2, -v, v + 0.5, v * 1e30]) if v else 0.5) if isinstance(v, float) else v + 1
    set_at(c, p, nv)
    return f"{dotted(p[2:])}: {v} -> {nv}"

def flip(b, lo, hi, rng):
    i, b = rng.randrange(lo, hi), bytearray(b)
    b[i] ^= rng.randrange(1, 256)
    return bytes(b), f"byte {i} of {len(b)} flipped"

def b_witness_int(w, rng, with_float=False):
    o = rng.randrange(len(w["outputs_quantized"]))
    q, i = w["outputs_quantized"][o], rng.randrange(len(w["outputs_quantized"][o]))
    ratios = [f / x for f, x in zip(w["outputs"][o], q) if x and f]  # 2^-scale
    old = q[i]
    q[i] = old + rng.choice([1, -1, 7, 1 << 20, -(1 << 40)])
    if with_float:
        w["outputs"][o][i] = q[i] * (ratios[0] if ratios else 1 / 256)
    return f"outputs_quantized[{o}][{i}]: {old} -> {q[i]}" + (" and its float" if with_float else "")

def b_witness_drop(w, rng):
    k = rng.choice(sorted(k for k, v in w.items() if isinstance(v, list)))
    if w[k] and rng.random() < 0.5:
        w[k].pop(rng.randrange(len(w[k])))
        return f"one list of {k} dropped"
    del w[k]
    return f"{k} deleted"

def b_circuit_empty(c, rng):
    c["graph"]["nodes"] = []
    return "node list emptied"

def b_proof_append(p, rng):
    p["proof"] += "00" * 32
    return "32 zero bytes appended to proof"

def b_proof_byte(p, rng):
    b = bytes.fromhex(p["proof"].removeprefix("0x"))
    b, what = flip(b, 0, len(b), rng)
    p["proof"] = ("0x" if p["proof"].startswith("0x") else "") + b.hex()
    return f"proof {what}"

def b_proof_instance(p, rng):
    if not p["instances"]:
        raise NotApplicable
    i = rng.randrange(len(p["instances"]))
    s = p["instances"][i]
    b = bytes.fromhex(s.removeprefix("0x"))
    v = (int.from_bytes(b, "little") + rng.choice([1, -1, 256, P // 2])) % P
    p["instances"][i] = ("0x" if s.startswith("0x") else "") + v.to_bytes(len(b), "little").hex()
    return f"instance {i} changed"

def b_proof_outputs(p, rng):
    if not p.get("outputs"):
        raise NotApplicable
    o = rng.randrange(len(p["outputs"]))
    i = rng.randrange(len(p["outputs"][o]))
    old = p["outputs"][o][i]
    p["outputs"][o][i] = old + rng.choice([1.0, -0.5, 1 / 256, 1e6])
    return f"readable outputs[{o}][{i}]: {old} -> {p['outputs'][o][i]}"

# name -> (file, mutation or "cross", what makes a passing verify wrong: "any" = passing at all,
# "outputs" = passing with other outputs than the honest proof's). Ordered so a short run sees each file.
ART_KINDS = {
    "proof-byte": ("proof.json", b_proof_byte, "any"),
    "settings-number": ("settings.json", b_settings_number, "any"),
    "vk-header": ("vk.bin", lambda d, rng: flip(d, 0, 77, rng), "any"),  # magic, kind, version, binding, checksum
    "witness-int": ("witness.json", b_witness_int, "outputs"),
    "circuit-constant": ("circuit.json", b_circuit_constant, "outputs"),
    "srs-flip": ("srs.verifier", lambda d, rng: flip(d, 0, len(d), rng), "any"),
    "cross-proof": ("proof.json", "cross", "any"),
    "pk-payload": ("pk.bin", lambda d, rng: flip(d, 77, len(d), rng), "outputs"),
    "proof-instance": ("proof.json", b_proof_instance, "any"),
    "proof-outputs": ("proof.json", b_proof_outputs, "any"),
    "settings-visibility": ("settings.json", b_settings_visibility, "any"),
    "witness-int+float": ("witness.json", lambda w, rng: b_witness_int(w, rng, with_float=True), "outputs"),
    "vk-payload": ("vk.bin", lambda d, rng: flip(d, 77, len(d), rng), "any"),
    "circuit-forward": ("circuit.json", b_circuit_forward, "outputs"),
    "cross-vk": ("vk.bin", "cross", "any"),
    "proof-append": ("proof.json", b_proof_append, "any"),
    "settings-delete": ("settings.json", b_settings_delete, "any"),
    "pk-header": ("pk.bin", lambda d, rng: flip(d, 0, 77, rng), "outputs"),
    "vk-truncate": ("vk.bin", lambda d, rng: truncate(d, rng, 0), "any"),
    "pk-truncate": ("pk.bin", lambda d, rng: truncate(d, rng, 0), "outputs"),
    "circuit-empty": ("circuit.json", b_circuit_empty, "outputs"),
    "witness-drop": ("witness.json", b_witness_drop, "outputs"),
}

def build_honest(zk, work, models):
    """One honest folder per model (compile, setup, gen-witness, prove, verify): {model: verified outputs}."""
    honest = {}
    for model in models:
        t0, art, case = time.time(), work / "honest" / model, Case(f"honest-{model}", "honest", model)
        shutil.rmtree(art, ignore_errors=True)
        for args in (["compile", ROOT / "testdata" / model / "model.onnx", "-o", art], ["setup", art],
                     ["gen-witness", art, "-i", ROOT / "testdata" / model / "input.json", "-o", art / "witness.json"],
                     ["prove", art, "-w", art / "witness.json", "-o", art / "proof.json"],
                     ["verify", art, "-p", art / "proof.json", "--json"]):
            ok, out = zk.run(case, *args)
            if not ok:
                print(f"honest {model}: {case.refusal or case.why}; left out of part B", file=sys.stderr)
                break
        else:
            honest[model] = json.loads(out).get("outputs")
        print(f"honest {model}: {time.time() - t0:.1f}s", file=sys.stderr)
    return honest

def artifact_case(case, rng, zk, dirs, work, honest):
    file, fn, judge = ART_KINDS[case.kind]
    src, art = work / "honest" / case.model, dirs / "art"
    if fn == "cross":
        other = rng.choice([m for m in honest if m != case.model])
        shutil.copytree(work / "honest" / (other if case.kind == "cross-proof" else case.model), art)
        shutil.copy(work / "honest" / (case.model if case.kind == "cross-proof" else other) / file, art / file)
        case.detail = (f"{case.model}'s proof in {other}'s folder" if case.kind == "cross-proof"
                       else f"{other}'s vk.bin in {case.model}'s folder")
    else:
        shutil.copytree(src, art)
        path = art / file
        if file.endswith(".json"):
            doc = json.loads(path.read_text())
            case.detail = fn(doc, rng)
            path.write_text(json.dumps(doc))
        else:
            data, case.detail = fn(path.read_bytes(), rng)
            path.write_bytes(data)
    inp, w, w2, proof, fresh = (ROOT / "testdata" / case.model / "input.json", art / "witness.json",
                                art / "witness2.json", art / "proof.json", art / "proof2.json")
    # The commands that read the changed file, then verify: of the new proof if there is one, else of
    # the honest proof (which says nothing of a changed circuit, pk or witness: then no verify).
    anew = [["gen-witness", art, "-i", inp, "-o", w2], ["mock", art, "-w", w2], ["prove", art, "-w", w2, "-o", fresh]]
    pipeline = {"settings.json": anew, "circuit.json": anew, "pk.bin": [["prove", art, "-w", w, "-o", fresh]],
                "witness.json": [["mock", art, "-w", w], ["prove", art, "-w", w, "-o", fresh]]}.get(file, [])
    for args in pipeline:
        ok, _ = zk.run(case, *args)
        if case.verdict != "clean":
            return
        if not ok and args[0] != "mock":  # a refused mock does not stop a prover who skips it
            break
    else:
        proof = fresh if pipeline else proof
    if proof != fresh and judge == "outputs":
        return
    ok, out = zk.run(case, "verify", art, "-p", proof, "--json")
    if ok and judge == "any":
        mark(case, "wrongly accepted", f"verify passed ({proof.name}) after: {case.detail}")
    elif ok and (why := disagreement(honest[case.model], json.loads(out).get("outputs"), exact=True)):
        mark(case, "wrongly accepted", f"verify passed with other outputs than the honest proof's: {why}")

# ---------------------------------------------------------------- driver and report

def run_part(part, n, seed, models, kinds, work, body, only=None):
    """A part's cases: kinds round-robin, models rotating (the next model where a mutation does not
    apply), each case with its own seeded RNG. body(case, rng, dirs) runs one case."""
    kinds, cases = list(kinds), []
    for i in range(n if models and kinds else 0):
        if only is not None and only != f"{part}{i}":
            continue
        t0 = time.time()
        for attempt in range(len(models)):
            case = Case(f"{part}{i}", kinds[i % len(kinds)], models[(i + i // len(kinds) + attempt) % len(models)])
            dirs = work / "cases" / case.id
            shutil.rmtree(dirs, ignore_errors=True)
            dirs.mkdir(parents=True)
            try:
                body(case, random.Random(f"{seed}-{part}-{i}"), dirs)
                break
            except NotApplicable:
                case.verdict = "n/a"
            except Exception as e:  # a bug of this harness: shown, not counted, and the run goes on
                case.verdict, case.why = "n/a", f"harness error: {e!r}"
        case.seconds = round(time.time() - t0, 1)
        if case.verdict in ("clean", "n/a") and not case.untidy:
            shutil.rmtree(dirs, ignore_errors=True)
        else:
            (dirs / "commands.txt").write_text("\n".join(case.commands) + "\n")
        what = case.why if case.verdict != "clean" else case.refusal or "verified"
        print(f"{case.id} {case.kind} {case.model}: {case.verdict}{' (untidy)' * case.untidy} {case.seconds}s"
              f"  [{case.detail}] {what[:200]}", file=sys.stderr, flush=True)
        cases.append(case)
    return cases

def table(title, cases):
    rows = {}
    for c in cases:
        if c.verdict != "n/a":
            r = rows.setdefault(c.kind, dict.fromkeys(COLUMNS, 0))
            r["tried"], r[c.verdict], r["untidy"] = r["tried"] + 1, r[c.verdict] + 1, r["untidy"] + c.untidy
    total = {k: sum(r[k] for r in rows.values()) for k in COLUMNS}
    w = max([len(k) for k in rows] + [5])
    print(f"{title}\n{'kind':<{w}}  " + "  ".join(COLUMNS))
    for name, r in list(rows.items()) + [("total", total)]:
        print(f"{name:<{w}}  " + "  ".join(f"{r[k]:>{len(k)}}" for k in COLUMNS))
    return {"rows": rows, "total": total}

def main():
    global REL
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zkonnx", help="the zkonnx binary")
    ap.add_argument("--onnx", type=int, default=300, help="ONNX mutation cases (part A)")
    ap.add_argument("--artifacts", type=int, default=250, help="artifact mutation cases (part B)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120, help="seconds per command before it counts as a hang")
    ap.add_argument("--work", help="working folder (default target/mutate)")
    ap.add_argument("--json", help="also write the tables and every case that is not clean here")
    ap.add_argument("--case", help="run only this case (A17, B3)")
    ap.add_argument("--rel", type=float, default=REL, help="part A's bound, relative to max(1, |expected|)")
    ap.add_argument("--mem-limit", type=float, default=8, help="address-space limit of each child, GB (0: none)")
    ap.add_argument("--reference", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    try:
        import numpy, onnx, onnxruntime  # noqa: F401
    except ImportError:  # run by another Python: take the project's venv, where scripts/test.sh installs them
        venv = ROOT / "target" / "venv" / "bin" / "python"
        if not venv.exists() or os.environ.get("ZKONNX_MUTATE_VENV"):
            sys.exit("error: needs numpy, onnx and onnxruntime (python3 -m venv target/venv && target/venv/bin/pip "
                     "install numpy onnx onnxruntime)")
        os.environ["ZKONNX_MUTATE_VENV"] = "1"
        os.execv(venv, [str(venv), __file__] + sys.argv[1:])
    if a.reference:
        return print(json.dumps(reference(*a.reference)))
    if not a.zkonnx:
        ap.error("--zkonnx is required")
    t0, REL = time.time(), a.rel
    work = Path(a.work or ROOT / "target" / "mutate").resolve()
    work.mkdir(parents=True, exist_ok=True)
    zk = Zk(a.zkonnx, work / "home", a.timeout, a.mem_limit)
    models = [m for m in MODELS if (ROOT / "testdata" / m / "model.onnx").exists()]
    part_a = run_part("A", a.onnx, a.seed, models, ONNX_KINDS, work,
                      lambda case, rng, dirs: onnx_case(case, rng, zk, dirs), a.case)
    part_b = []
    if a.artifacts and (a.case is None or a.case.startswith("B")):
        honest = build_honest(zk, work, models)
        kinds = [k for k, v in ART_KINDS.items() if len(honest) > 1 or v[1] != "cross"]
        part_b = run_part("B", a.artifacts, a.seed, list(honest), kinds, work,
                          lambda case, rng, dirs: artifact_case(case, rng, zk, dirs, work, honest), a.case)
    report = {"seed": a.seed, "timeout": a.timeout, "rel": REL, "zkonnx": zk.exe,
              "onnx": table("Part A: ONNX mutations", part_a)}
    print()
    report["artifacts"] = table("Part B: artifact mutations", part_b)
    report["cases"] = [dict(asdict(c), files=str(work / "cases" / c.id)) for c in part_a + part_b
                       if c.verdict not in ("clean", "n/a") or c.untidy or c.why.startswith("harness")]
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))
    cases = part_a + part_b
    counts = {v: sum(c.verdict == v for c in cases) for v in COLUMNS[3:]}
    print(f"\nmutate: {len(cases)} cases, " + ", ".join(f"{n} {v}" for v, n in counts.items())
          + f", {sum(c.untidy for c in cases)} untidy, in {time.time() - t0:.0f}s (seed {a.seed}, work {work})")

if __name__ == "__main__":
    main()
