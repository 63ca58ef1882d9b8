#!/usr/bin/env python3
"""Rows and cells per output element of each kind of op, measured by compiling one-op models.

Each model applies one op to inputs of 64 elements; `zkonnx compile` (default settings) reports
the rows; the model inputs' range checks (one row per input element) are subtracted. Cells are
rows times the columns of a row (advice + lookup lanes) of the layout the planner chose.

    cargo build --release -p zkonnx-cli && python3 scripts/op_costs.py
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ZKONNX = os.path.join(ROOT, "target", "release", "zkonnx")
rng = np.random.default_rng(0)


def const(name, array, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(array, dtype=dtype), name)


# name: (op, input shapes, output shape, attributes, constant inputs appended after the activations)
CASES = {
    "Relu": ("Relu", [[1, 64]], {}, []),
    "Add (two activations)": ("Add", [[1, 64], [1, 64]], {}, []),
    "Mul (two activations)": ("Mul", [[1, 64], [1, 64]], {}, []),
    "Mul (constant)": ("Mul", [[1, 64]], {}, [const("c", rng.normal(size=64))]),
    "Div (two activations)": ("Div", [[1, 64], [1, 64]], {}, []),
    "Reciprocal": ("Reciprocal", [[1, 64]], {}, []),
    "Gemm 64x64": ("Gemm", [[1, 64]], {"transB": 1}, [const("w", rng.normal(size=(64, 64)))]),
    "MatMul (two activations, 8x8 @ 8x8)": ("MatMul", [[8, 8], [8, 8]], {}, []),
    "Conv 3x3, 4 -> 4 channels": ("Conv", [[1, 4, 4, 4]], {"pads": [1, 1, 1, 1]},
                                   [const("w", rng.normal(size=(4, 4, 3, 3)))]),
    "Max (two activations)": ("Max", [[1, 64], [1, 64]], {}, []),
    "MaxPool 2x2": ("MaxPool", [[1, 4, 8, 8]], {"kernel_shape": [2, 2], "strides": [2, 2]}, []),
    "AveragePool 2x2": ("AveragePool", [[1, 4, 8, 8]], {"kernel_shape": [2, 2], "strides": [2, 2]}, []),
    "Sigmoid": ("Sigmoid", [[1, 64]], {}, []),
    "Tanh": ("Tanh", [[1, 64]], {}, []),
    "Exp": ("Exp", [[1, 64]], {}, []),
    "Gelu": ("Gelu", [[1, 64]], {}, []),
    "Sqrt": ("Sqrt", [[1, 64]], {}, []),
    "LeakyRelu": ("LeakyRelu", [[1, 64]], {"alpha": 0.1}, []),
    "HardSwish": ("HardSwish", [[1, 64]], {}, []),
    "Softmax (rows of 8)": ("Softmax", [[8, 8]], {"axis": -1}, []),
    "LayerNormalization (rows of 8)": ("LayerNormalization", [[8, 8]], {"axis": -1},
                                        [const("s", np.ones(8)), const("b", np.zeros(8))]),
    "ReduceMean (rows of 8)": ("ReduceMean", [[8, 8]], {"keepdims": 1}, [const("axes", [1], np.int64)]),
    "ArgMax (rows of 8)": ("ArgMax", [[8, 8]], {"axis": 1}, []),
    "Transpose": ("Transpose", [[8, 8]], {"perm": [1, 0]}, []),
    "Pad (reflect)": ("Pad", [[1, 1, 8, 8]], {"mode": "reflect"}, [const("p", [0, 0, 1, 1, 0, 0, 1, 1], np.int64)]),
    "Resize (nearest, x2)": ("Resize", [[1, 1, 8, 8]], {"mode": "nearest"},
                             [const("roi", []), const("scales", [1, 1, 2, 2])]),
}


def build(op, shapes, attrs, consts):
    names = [f"x{i}" for i in range(len(shapes))]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in zip(names, shapes)]
    out_type = TensorProto.INT64 if op == "ArgMax" else TensorProto.FLOAT
    node = helper.make_node(op, names + [c.name for c in consts], ["y"], name=f"/{op}", **attrs)
    graph = helper.make_graph([node], op, inputs, [helper.make_tensor_value_info("y", out_type, None)], consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    return onnx.shape_inference.infer_shapes(model)


def main():
    rows_out = []
    with tempfile.TemporaryDirectory() as work:
        for label, (op, shapes, attrs, consts) in CASES.items():
            model = build(op, shapes, attrs, consts)
            path = os.path.join(work, "m.onnx")
            onnx.save(model, path)
            art = os.path.join(work, label.replace(" ", "_").replace("/", "_"))
            p = subprocess.run([ZKONNX, "compile", path, "-o", art], capture_output=True, text=True)
            if p.returncode != 0:
                print(f"{label}: {p.stderr.strip()}", file=sys.stderr)
                continue
            s = json.load(open(os.path.join(art, "settings.json")))
            inputs = sum(int(np.prod(i["shape"])) for i in s["inputs"])
            outputs = sum(int(np.prod(o["shape"])) for o in s["outputs"])
            rows = s["rows"] - inputs
            width = s["circuit"]["advice"] + s["circuit"]["rem_lanes"] + s["circuit"]["mag_lanes"]
            rows_out.append((label, rows / outputs, rows * width / outputs, s["circuit"]["advice"],
                             s["circuit"]["table_rows"]))
    print("| op | rows per output element | cells per output element | advice columns | function table rows |")
    print("| --- | --- | --- | --- | --- |")
    for label, r, c, a, t in rows_out:
        print(f"| {label} | {r:.2f} | {c:.1f} | {a} | {t} |")


if __name__ == "__main__":
    main()
