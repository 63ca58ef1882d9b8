#!/usr/bin/env python3
"""MLPs of about 10k, 100k and 1M parameters for the scaling benchmark, and a deep elementwise
network past 2^22 rows for segments (not committed: large).

    python3 scripts/make_scaling_models.py [OUT_DIR] [NAME...]   # default /tmp/zkonnx-scaling, all

Each folder has model.onnx, input.json, calib.json, expected.json, like testdata/.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_testdata import init, kaiming, save  # noqa: E402

SIZES = {"mlp-10k": (64, [96, 48]), "mlp-100k": (256, [256, 128]), "mlp-1m": (784, [1024, 256])}


def mlp(name, n_in, hidden, out_dir, rng):
    dims = [n_in] + hidden + [10]
    nodes, inits, x = [], [], "input"
    for i, (a, b) in enumerate(zip(dims, dims[1:])):
        w, bias = kaiming(rng, (b, a), a), rng.normal(0, 0.1, b)
        inits += [init(f"fc{i}.weight", w), init(f"fc{i}.bias", bias)]
        y = f"h{i}"
        nodes.append(helper.make_node("Gemm", [x, f"fc{i}.weight", f"fc{i}.bias"], [y], name=f"/fc{i}/Gemm", transB=1))
        if i < len(dims) - 2:
            nodes.append(helper.make_node("Relu", [y], [f"a{i}"], name=f"/relu{i}/Relu"))
            y = f"a{i}"
        x = y
    nodes[-1].output[0] = "output"
    params = sum(a * b + b for a, b in zip(dims, dims[1:]))
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", n_in])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 10])], inits)
    save(name, graph, (1, n_in), lambda i: rng.normal(0, 1, (1, n_in)).astype(np.float32), root=out_dir)
    print(f"  {name}: {params} parameters")


# Width and depth of elementwise layers (x * s + b, then ReLU): rows grow with elements x layers,
# so the circuit passes 2^22 rows with few parameters (a model for --segment-logrows).
DEEP = {"deep-64k": (65536, 30)}


def deep(name, width, depth, out_dir, rng):
    nodes, inits, x = [], [], "input"
    for i in range(depth):
        inits += [init(f"s{i}", rng.uniform(0.8, 1.2, width)), init(f"b{i}", rng.normal(0, 0.05, width))]
        nodes += [helper.make_node("Mul", [x, f"s{i}"], [f"m{i}"], name=f"/l{i}/Mul"),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"], name=f"/l{i}/Add"),
                  helper.make_node("Relu", [f"a{i}"], [f"r{i}"], name=f"/l{i}/Relu")]
        x = f"r{i}"
    # 64 outputs: the means of 64 consecutive blocks.
    inits.append(numpy_helper.from_array(np.array([1, 64, width // 64], dtype=np.int64), "blocks"))
    nodes += [helper.make_node("Reshape", [x, "blocks"], ["blocked"], name="/head/Reshape"),
              helper.make_node("ReduceMean", ["blocked"], ["output"], name="/head/ReduceMean", axes=[2],
                               keepdims=0)]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, width])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 64])], inits)
    save(name, graph, (1, width), lambda i: rng.uniform(0, 1, (1, width)).astype(np.float32), root=out_dir)
    print(f"  {name}: {depth} layers of {width} elements, {2 * depth * width} parameters")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/zkonnx-scaling"
    wanted = sys.argv[2:]
    for name, (n_in, hidden) in SIZES.items():
        if not wanted or name in wanted:
            mlp(name, n_in, hidden, out, np.random.default_rng(sum(map(ord, name))))
    for name, (width, depth) in DEEP.items():
        if not wanted or name in wanted:
            deep(name, width, depth, out, np.random.default_rng(sum(map(ord, name))))


if __name__ == "__main__":
    main()
