#!/usr/bin/env python3
"""MLPs of about 10k, 100k and 1M parameters for the scaling benchmark (not committed: large).

    python3 scripts/make_scaling_models.py [OUT_DIR]      # default /tmp/zkonnx-scaling

Each folder has model.onnx, input.json, calib.json, expected.json, like testdata/.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper

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


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/zkonnx-scaling"
    for name, (n_in, hidden) in SIZES.items():
        mlp(name, n_in, hidden, out, np.random.default_rng(sum(map(ord, name))))


if __name__ == "__main__":
    main()
