#!/usr/bin/env python3
"""Build the small ONNX models in testdata/ with their inputs and onnxruntime reference outputs.

Seeded, so running it again writes the same files. Needs: pip install onnx onnxruntime numpy.

Each model folder holds:
  model.onnx      the network (built with onnx.helper, in the shapes torch.onnx.export produces)
  input.json      one sample, EZKL layout {"input_data": [[flattened floats]]}
  calib.json      N samples concatenated per input, same layout
  expected.json   onnxruntime float outputs: {"input": [[...]], "calib": [[...per sample...]]}
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata")
CALIB_SAMPLES = 8
OPSET = 13


def init(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def kaiming(rng, shape, fan_in):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(np.float32)


def save(name, graph, input_shape, sample, root=None, opset=OPSET):
    """Write model.onnx, the input files and onnxruntime's outputs for them."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="zkonnx-testdata")
    model.ir_version = 8
    onnx.checker.check_model(model)
    folder = os.path.join(root or ROOT, name)
    os.makedirs(folder, exist_ok=True)
    onnx.save(model, os.path.join(folder, "model.onnx"))

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def run(x):
        return [o.reshape(-1).astype(float).tolist() for o in session.run(None, {input_name: x})]

    one = sample(0)
    calib = [sample(i + 1) for i in range(CALIB_SAMPLES)]
    write_json(os.path.join(folder, "input.json"), {"input_data": [one.reshape(-1).tolist()]})
    write_json(os.path.join(folder, "calib.json"),
               {"input_data": [np.concatenate([c.reshape(-1) for c in calib]).tolist()]})
    calib_outputs = [run(c) for c in calib]
    # Per output: the N samples concatenated, as in the input layout.
    per_output = [sum((co[i] for co in calib_outputs), []) for i in range(len(calib_outputs[0]))]
    write_json(os.path.join(folder, "expected.json"), {"input": run(one), "calib": per_output})
    print(f"wrote {folder}: input {list(input_shape)}")


def write_json(path, value):
    def rounded(v):
        if isinstance(v, list):
            return [rounded(x) for x in v]
        return float(np.float32(v))

    with open(path, "w") as f:
        json.dump(rounded(value) if isinstance(value, list) else {k: rounded(v) for k, v in value.items()}, f)
        f.write("\n")


def mlp(rng):
    """16-32-10 MLP as torch exports nn.Linear: Gemm with transB=1."""
    w1, b1 = kaiming(rng, (32, 16), 16), rng.normal(0, 0.1, 32)
    w2, b2 = kaiming(rng, (10, 32), 32), rng.normal(0, 0.1, 10)
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["h1"], name="/fc1/Gemm", transB=1),
        helper.make_node("Relu", ["h1"], ["a1"], name="/relu/Relu"),
        helper.make_node("Gemm", ["a1", "fc2.weight", "fc2.bias"], ["output"], name="/fc2/Gemm", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 10])],
        [init("fc1.weight", w1), init("fc1.bias", b1), init("fc2.weight", w2), init("fc2.bias", b2)])
    save("mlp", graph, (1, 16), lambda i: rng.normal(0, 1, (1, 16)).astype(np.float32))


def leaky(rng):
    """LeakyRelu and PRelu with no function lookup (a model like this once compiled to settings
    no later command accepted)."""
    w1, b1 = kaiming(rng, (12, 8), 8), rng.normal(0, 0.1, 12)
    w2, b2 = kaiming(rng, (4, 12), 12), rng.normal(0, 0.1, 4)
    slope = np.full((12,), 0.25, dtype=np.float32)
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["h1"], name="/fc1/Gemm", transB=1),
        helper.make_node("LeakyRelu", ["h1"], ["a1"], name="/act1/LeakyRelu", alpha=0.01),
        helper.make_node("PRelu", ["a1", "slope"], ["a2"], name="/act2/PRelu"),
        helper.make_node("Gemm", ["a2", "fc2.weight", "fc2.bias"], ["output"], name="/fc2/Gemm", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "leaky",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 4])],
        [init("fc1.weight", w1), init("fc1.bias", b1), init("slope", slope), init("fc2.weight", w2),
         init("fc2.bias", b2)])
    save("leaky", graph, (1, 8), lambda i: rng.normal(0, 1, (1, 8)).astype(np.float32))


def logic(rng):
    """Comparisons and logic on activations: Less, Greater, LessOrEqual, GreaterOrEqual, Equal,
    Not, And, Or, Xor, Sign, Where with a computed condition and Hardmax, each output cast to float
    and concatenated (12 values per branch)."""
    w = kaiming(rng, (12, 12), 12)
    f = lambda name, *ins, **kw: helper.make_node(name, list(ins[:-1]), [ins[-1]], name=f"/{ins[-1]}", **kw)
    cast = lambda b, out: helper.make_node("Cast", [b], [out], name=f"/{out}", to=TensorProto.FLOAT)
    nodes = [
        f("MatMul", "input", "w", "h"),
        f("Relu", "input", "r"),
        f("Less", "input", "half", "lt"), cast("lt", "o_lt"),
        f("Greater", "input", "h", "gt"), cast("gt", "o_gt"),
        f("LessOrEqual", "h", "input", "le"), cast("le", "o_le"),
        f("GreaterOrEqual", "input", "zero", "ge"), cast("ge", "o_ge"),
        f("Equal", "r", "input", "eq"), cast("eq", "o_eq"),
        f("Not", "lt", "not"), cast("not", "o_not"),
        f("And", "gt", "ge", "and"), cast("and", "o_and"),
        f("Or", "lt", "gt", "or"), cast("or", "o_or"),
        f("Xor", "le", "ge", "xor"), cast("xor", "o_xor"),
        f("Sign", "h", "o_sign"),
        f("Where", "gt", "input", "h", "o_where"),
        f("Hardmax", "h", "o_hardmax", axis=1),
        helper.make_node("Concat", ["o_lt", "o_gt", "o_le", "o_ge", "o_eq", "o_not", "o_and", "o_or", "o_xor",
                                    "o_sign", "o_where", "o_hardmax"], ["output"], name="/concat", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "logic",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 12])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 144])],
        [init("w", w), init("half", np.float32(0.5)), init("zero", np.float32(0.0))])
    save("logic", graph, (1, 12), lambda i: rng.normal(0, 1, (1, 12)).astype(np.float32))
    # Not of a number (not a comparison's result): refused at compile.
    bad = helper.make_graph(
        [helper.make_node("Cast", ["input"], ["b"], name="/to_bool", to=TensorProto.BOOL),
         helper.make_node("Not", ["b"], ["nb"], name="/not"),
         helper.make_node("Cast", ["nb"], ["output"], name="/to_float", to=TensorProto.FLOAT)],
        "not_of_a_number",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(bad, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="zkonnx-testdata")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(ROOT, "logic", "not_of_a_number.onnx"))


def functions(rng):
    """The inverse and hyperbolic trigonometric functions, Mish (opset 18) and Pow with any
    exponent, concatenated (8 values per branch); Asin and Acos read tanh(x), inside [-1, 1],
    Atanh 0.9 tanh(x), and Acosh 1 + relu(x)."""
    nodes = [helper.make_node("Tanh", ["input"], ["t"], name="/tanh")]
    outs = []
    for op in ["Atan", "Asin", "Acos", "Sinh", "Cosh", "Asinh", "Mish"]:
        src = "t" if op in ("Asin", "Acos") else "input"
        nodes.append(helper.make_node(op, [src], [op.lower()], name=f"/{op.lower()}"))
        outs.append(op.lower())
    # Pow: a whole exponent (products) of tanh(x), and 1.5 (a lookup) of relu(x).
    nodes += [helper.make_node("Relu", ["input"], ["r"], name="/relu"),
              helper.make_node("Pow", ["t", "four"], ["pow4"], name="/pow4"),
              helper.make_node("Pow", ["r", "three_halves"], ["pow15"], name="/pow15")]
    outs += ["pow4", "pow15"]
    nodes += [helper.make_node("Mul", ["t", "nine_tenths"], ["t9"], name="/t9"),
              helper.make_node("Atanh", ["t9"], ["atanh"], name="/atanh"),
              helper.make_node("Add", ["r", "one"], ["r1"], name="/r1"),
              helper.make_node("Acosh", ["r1"], ["acosh"], name="/acosh")]
    outs += ["atanh", "acosh"]
    nodes.append(helper.make_node("Concat", outs, ["output"], name="/concat", axis=1))
    graph = helper.make_graph(
        nodes, "functions",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 88])],
        [init("four", np.float32(4.0)), init("three_halves", np.float32(1.5)), init("nine_tenths", np.float32(0.9)),
         init("one", np.float32(1.0))])
    save("functions", graph, (1, 8), lambda i: rng.normal(0, 1, (1, 8)).astype(np.float32), opset=18)


def reductions(rng):
    """ReduceMin, ReduceSumSquare, ReduceL1, ReduceL2, ReduceLogSumExp over the last axis of a
    [1, 4, 6] activation (opset 13: axes as attributes), and LpNormalization (p = 1, 2), concatenated."""
    w = kaiming(rng, (6, 6), 6)
    nodes = [helper.make_node("MatMul", ["input", "w"], ["h"], name="/mm")]
    outs = []
    for op in ["ReduceMin", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceMax"]:
        axes = {"axes": [-1]} if op != "ReduceSumSquare" else {"axes": [1, 2]}
        nodes.append(helper.make_node(op, ["h"], [op.lower()], name=f"/{op.lower()}", keepdims=0, **axes))
        nodes.append(helper.make_node("Flatten", [op.lower()], [op.lower() + "_f"], name=f"/{op.lower()}_f"))
        outs.append(op.lower() + "_f")
    for p in (1, 2):
        nodes.append(helper.make_node("LpNormalization", ["h"], [f"lp{p}"], name=f"/lp{p}", axis=-1, p=p))
        nodes.append(helper.make_node("Flatten", [f"lp{p}"], [f"lp{p}_f"], name=f"/lp{p}_f"))
        outs.append(f"lp{p}_f")
    nodes.append(helper.make_node("Concat", outs, ["output"], name="/concat", axis=1))
    graph = helper.make_graph(
        nodes, "reductions",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4, 6])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 69])],
        [init("w", w)])
    save("reductions", graph, (1, 4, 6), lambda i: rng.normal(0, 1, (1, 4, 6)).astype(np.float32))


def embedding(rng):
    """Gather from a constant table by computed indices: token ids (floats in the input file, cast
    to int64 as exported models do) select rows of an 8 x 4 embedding, then a Gemm. Ids stay in
    [0, 8): the compiler tests plan inputs for [-8, 8]."""
    table = rng.normal(0, 1, (8, 4)).astype(np.float32)
    w = kaiming(rng, (3, 20), 20)
    nodes = [
        helper.make_node("Cast", ["input"], ["ids"], name="/ids", to=TensorProto.INT64),
        helper.make_node("Gather", ["table", "ids"], ["e"], name="/embed", axis=0),
        helper.make_node("Flatten", ["e"], ["flat"], name="/flat", axis=1),
        helper.make_node("Gemm", ["flat", "w"], ["output"], name="/head", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "embedding",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 5])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 3])],
        [init("table", table), init("w", w)])
    save("embedding", graph, (1, 5), lambda i: rng.integers(0, 8, (1, 5)).astype(np.float32))


def mnist_like(rng):
    """A 28x28 image in [0, 1]: a few bright strokes on a dark background."""
    img = np.zeros((28, 28), dtype=np.float32)
    for _ in range(3):
        r, c = rng.integers(4, 24, size=2)
        dr, dc = rng.integers(-1, 2, size=2)
        for t in range(10):
            rr, cc = np.clip(r + dr * t, 0, 27), np.clip(c + dc * t, 0, 27)
            img[max(rr - 1, 0):rr + 2, max(cc - 1, 0):cc + 2] = 1.0
    img += rng.uniform(0, 0.1, img.shape).astype(np.float32)
    return np.clip(img, 0, 1).reshape(1, 1, 28, 28)


def lenet(rng):
    """2-4-8 LeNet: two 5x5 convs with ReLU and 2x2 average pooling, then two fully connected layers."""
    c1w, c1b = kaiming(rng, (2, 1, 5, 5), 25), rng.normal(0, 0.1, 2)
    c2w, c2b = kaiming(rng, (4, 2, 5, 5), 50), rng.normal(0, 0.1, 4)
    f1w, f1b = kaiming(rng, (8, 64), 64), rng.normal(0, 0.1, 8)
    f2w, f2b = kaiming(rng, (10, 8), 8), rng.normal(0, 0.1, 10)
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], name="/conv1/Conv",
                         kernel_shape=[5, 5], strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1),
        helper.make_node("Relu", ["c1"], ["r1"], name="/relu1/Relu"),
        helper.make_node("AveragePool", ["r1"], ["p1"], name="/pool1/AveragePool", kernel_shape=[2, 2],
                         strides=[2, 2], pads=[0, 0, 0, 0], ceil_mode=0),
        helper.make_node("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"], name="/conv2/Conv",
                         kernel_shape=[5, 5]),
        helper.make_node("Relu", ["c2"], ["r2"], name="/relu2/Relu"),
        helper.make_node("AveragePool", ["r2"], ["p2"], name="/pool2/AveragePool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["flat"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["f1"], name="/fc1/Gemm",
                         alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Relu", ["f1"], ["r3"], name="/relu3/Relu"),
        helper.make_node("Gemm", ["r3", "fc2.weight", "fc2.bias"], ["output"], name="/fc2/Gemm",
                         alpha=1.0, beta=1.0, transB=1),
    ]
    graph = helper.make_graph(
        nodes, "lenet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 28, 28])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 10])],
        [init("conv1.weight", c1w), init("conv1.bias", c1b), init("conv2.weight", c2w),
         init("conv2.bias", c2b), init("fc1.weight", f1w), init("fc1.bias", f1b),
         init("fc2.weight", f2w), init("fc2.bias", f2b)])
    save("lenet", graph, (1, 1, 28, 28), lambda i: mnist_like(rng))


def reference_cnn(rng, size=(24, 16), channels=8, hidden=32, root=None, name="refcnn"):
    """The reference CNN of issue 11 (Conv 5x5 -> MaxPool 2 -> ReLU, twice, -> Flatten -> Gemm ->
    ReLU -> Gemm 5 -> x / ||x||_2), at a reduced size here; `scripts/reference_cnn.py` builds the
    full one (a 120x80 RGB image, 32 channels, 1000 hidden: 14.7M parameters) with this function."""
    h, w = size
    flat = channels * ((((h - 4) // 2) - 4) // 2) * ((((w - 4) // 2) - 4) // 2)
    c1w, c1b = kaiming(rng, (channels, 3, 5, 5), 75), rng.normal(0, 0.1, channels)
    c2w, c2b = kaiming(rng, (channels, channels, 5, 5), 25 * channels), rng.normal(0, 0.1, channels)
    f1w, f1b = kaiming(rng, (hidden, flat), flat), rng.normal(0, 0.1, hidden)
    f2w, f2b = kaiming(rng, (5, hidden), hidden), rng.normal(0, 0.1, 5)
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], name="/conv1/Conv",
                         kernel_shape=[5, 5]),
        helper.make_node("MaxPool", ["c1"], ["p1"], name="/pool1/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Relu", ["p1"], ["r1"], name="/relu1/Relu"),
        helper.make_node("Conv", ["r1", "conv2.weight", "conv2.bias"], ["c2"], name="/conv2/Conv",
                         kernel_shape=[5, 5]),
        helper.make_node("MaxPool", ["c2"], ["p2"], name="/pool2/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Relu", ["p2"], ["r2"], name="/relu2/Relu"),
        helper.make_node("Flatten", ["r2"], ["flat"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["f1"], name="/fc1/Gemm", transB=1),
        helper.make_node("Relu", ["f1"], ["r3"], name="/relu3/Relu"),
        helper.make_node("Gemm", ["r3", "fc2.weight", "fc2.bias"], ["f2"], name="/fc2/Gemm", transB=1),
        helper.make_node("ReduceL2", ["f2"], ["norm"], name="/norm/ReduceL2", axes=[1], keepdims=1),
        helper.make_node("Div", ["f2", "norm"], ["output"], name="/norm/Div"),
    ]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, h, w])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 5])],
        [init("conv1.weight", c1w), init("conv1.bias", c1b), init("conv2.weight", c2w),
         init("conv2.bias", c2b), init("fc1.weight", f1w), init("fc1.bias", f1b),
         init("fc2.weight", f2w), init("fc2.bias", f2b)])
    save(name, graph, (1, 3, h, w), lambda i: rng.uniform(0, 1, (1, 3, h, w)).astype(np.float32), root=root)


def mixed(rng):
    """Everything else issue 2 covers, in other shapes: a padded, strided conv with BatchNormalization,
    a residual Add of two activations, Mul and Sub with broadcast constants, an elementwise product,
    Dropout/Identity, GlobalAveragePool, a Reshape from a constant shape, MatMul + Add, and a Gemm with
    alpha, beta and transA."""
    cw = kaiming(rng, (4, 3, 3, 3), 27)
    bn = [rng.uniform(0.5, 1.5, 4), rng.normal(0, 0.1, 4), rng.normal(0, 0.1, 4), rng.uniform(0.5, 1.5, 4)]
    c2w, c2b = kaiming(rng, (4, 4, 3, 3), 36), rng.normal(0, 0.1, 4)
    scale = rng.uniform(0.5, 1.5, (1, 4, 1, 1))
    shift = rng.normal(0, 0.2, (4, 1, 1))
    mw, mb = kaiming(rng, (4, 6), 4), rng.normal(0, 0.1, 6)
    gw, gb = kaiming(rng, (6, 3), 6), rng.normal(0, 0.1, (1, 3))
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight"], ["c"], name="/conv/Conv", kernel_shape=[3, 3],
                         strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["bn"],
                         name="/bn/BatchNormalization", epsilon=1e-5),
        helper.make_node("Relu", ["bn"], ["r"], name="/relu/Relu"),
        helper.make_node("Conv", ["r", "conv2.weight", "conv2.bias"], ["c2"], name="/conv2/Conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "r"], ["res"], name="/Add"),
        helper.make_node("Mul", ["res", "scale"], ["scaled"], name="/Mul"),
        helper.make_node("Sub", ["scaled", "shift"], ["shifted"], name="/Sub"),
        helper.make_node("Dropout", ["shifted"], ["drop"], name="/dropout/Dropout"),
        helper.make_node("Relu", ["drop"], ["r2"], name="/relu2/Relu"),
        helper.make_node("Mul", ["r2", "r"], ["sq"], name="/Mul_1"),
        helper.make_node("Identity", ["sq"], ["ident"], name="/Identity"),
        helper.make_node("GlobalAveragePool", ["ident"], ["gap"], name="/GlobalAveragePool"),
        helper.make_node("Reshape", ["gap", "flat_shape"], ["flat"], name="/Reshape"),
        helper.make_node("MatMul", ["flat", "mm.weight"], ["mm"], name="/fc/MatMul"),
        helper.make_node("Add", ["mm", "mm.bias"], ["mmb"], name="/fc/Add"),
        helper.make_node("Relu", ["mmb"], ["r3"], name="/relu3/Relu"),
        helper.make_node("Transpose", ["r3"], ["r3t"], name="/Transpose", perm=[1, 0]),
        helper.make_node("Gemm", ["r3t", "head.weight", "head.bias"], ["output"], name="/head/Gemm",
                         alpha=0.5, beta=2.0, transA=1),
    ]
    graph = helper.make_graph(
        nodes, "mixed",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 10, 10])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 3])],
        [init("conv.weight", cw), init("bn.scale", bn[0]), init("bn.bias", bn[1]), init("bn.mean", bn[2]),
         init("bn.var", bn[3]), init("conv2.weight", c2w), init("conv2.bias", c2b), init("scale", scale),
         init("shift", shift), numpy_helper.from_array(np.array([1, 4], dtype=np.int64), "flat_shape"),
         init("mm.weight", mw), init("mm.bias", mb), init("head.weight", gw), init("head.bias", gb)])
    save("mixed", graph, (1, 3, 10, 10), lambda i: rng.normal(0, 1, (1, 3, 10, 10)).astype(np.float32))


def pooling(rng):
    """Comparison ops: MaxPool with padding, Clip (ReLU6), Neg, Abs, Max and Min of activations and
    with constants, GlobalMaxPool and ReduceMax."""
    cw, cb = kaiming(rng, (4, 2, 3, 3), 18), rng.normal(0, 0.1, 4)
    hw, hb = kaiming(rng, (5, 4), 4), rng.normal(0, 0.1, 5)
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv",
                         kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1]),
        helper.make_node("MaxPool", ["c"], ["p"], name="/pool/MaxPool", kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["p", "lo", "hi"], ["r6"], name="/relu6/Clip"),
        helper.make_node("Neg", ["p"], ["n"], name="/Neg"),
        helper.make_node("Abs", ["n"], ["a"], name="/Abs"),
        helper.make_node("Max", ["a", "r6"], ["mx"], name="/Max"),
        helper.make_node("Min", ["mx", "cap"], ["mn"], name="/Min"),
        helper.make_node("GlobalMaxPool", ["mn"], ["g"], name="/GlobalMaxPool"),
        helper.make_node("ReduceMax", ["p"], ["rm"], name="/ReduceMax", axes=[2, 3], keepdims=1),
        helper.make_node("Sub", ["g", "rm"], ["s"], name="/Sub"),
        helper.make_node("Flatten", ["s"], ["f"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "head.weight", "head.bias"], ["output"], name="/head/Gemm", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "pooling",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 2, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 5])],
        [init("conv.weight", cw), init("conv.bias", cb), init("lo", np.array(0.0)), init("hi", np.array(6.0)),
         init("cap", np.array(1.5)), init("head.weight", hw), init("head.bias", hb)])
    save("pooling", graph, (1, 2, 8, 8), lambda i: rng.normal(0, 1.5, (1, 2, 8, 8)).astype(np.float32))


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def node(op, inputs, outputs, name, **attrs):
    return helper.make_node(op, inputs, outputs, name=name, **attrs)


def transformer(rng):
    """A pre-norm transformer block on 4 tokens of width 8, as PyTorch exports it: the first layer
    norm as ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add, two-head attention (MatMul of two
    activations, scaling by Div, Softmax), the second as LayerNormalization, a GELU MLP, residuals,
    mean pooling over tokens and a linear head."""
    d, f = 8, 16
    w = {n: kaiming(rng, s, s[0]) for n, s in
         [("wq", (d, d)), ("wk", (d, d)), ("wv", (d, d)), ("wo", (d, d)), ("w1", (d, f)), ("w2", (f, d))]}
    b = {n: rng.normal(0, 0.1, s) for n, s in [("bq", d), ("bk", d), ("b1", f)]}
    ln = {n: v for n, v in [("ln1.w", rng.uniform(0.5, 1.5, d)), ("ln1.b", rng.normal(0, 0.1, d)),
                              ("ln2.w", rng.uniform(0.5, 1.5, d)), ("ln2.b", rng.normal(0, 0.1, d))]}
    hw, hb = kaiming(rng, (3, d), d), rng.normal(0, 0.1, 3)
    nodes = [
        node("ReduceMean", ["input", "last"], ["m"], "/ln1/ReduceMean"),
        node("Sub", ["input", "m"], ["c"], "/ln1/Sub"),
        node("Pow", ["c", "two"], ["p"], "/ln1/Pow"),
        node("ReduceMean", ["p", "last"], ["v"], "/ln1/ReduceMean_1"),
        node("Add", ["v", "eps"], ["ve"], "/ln1/Add"),
        node("Sqrt", ["ve"], ["s"], "/ln1/Sqrt"),
        node("Div", ["c", "s"], ["n"], "/ln1/Div"),
        node("Mul", ["n", "ln1.w"], ["nw"], "/ln1/Mul"),
        node("Add", ["nw", "ln1.b"], ["h"], "/ln1/Add_1"),
        node("MatMul", ["h", "wq"], ["q0"], "/attn/q/MatMul"),
        node("Add", ["q0", "bq"], ["q"], "/attn/q/Add"),
        node("MatMul", ["h", "wk"], ["k0"], "/attn/k/MatMul"),
        node("Add", ["k0", "bk"], ["k"], "/attn/k/Add"),
        node("MatMul", ["h", "wv"], ["v0"], "/attn/v/MatMul"),
        node("Reshape", ["q", "heads"], ["qr"], "/attn/Reshape"),
        node("Transpose", ["qr"], ["qh"], "/attn/Transpose", perm=[0, 2, 1, 3]),
        node("Reshape", ["k", "heads"], ["kr"], "/attn/Reshape_1"),
        node("Transpose", ["kr"], ["kt"], "/attn/Transpose_1", perm=[0, 2, 3, 1]),
        node("Reshape", ["v0", "heads"], ["vr"], "/attn/Reshape_2"),
        node("Transpose", ["vr"], ["vh"], "/attn/Transpose_2", perm=[0, 2, 1, 3]),
        node("MatMul", ["qh", "kt"], ["sc0"], "/attn/MatMul"),
        node("Div", ["sc0", "sqrt_dh"], ["sc"], "/attn/Div"),
        node("Softmax", ["sc"], ["a"], "/attn/Softmax", axis=-1),
        node("MatMul", ["a", "vh"], ["o"], "/attn/MatMul_1"),
        node("Transpose", ["o"], ["ot"], "/attn/Transpose_3", perm=[0, 2, 1, 3]),
        node("Reshape", ["ot", "tokens"], ["o2"], "/attn/Reshape_3"),
        node("MatMul", ["o2", "wo"], ["proj"], "/attn/o/MatMul"),
        node("Add", ["input", "proj"], ["r1"], "/Add"),
        node("LayerNormalization", ["r1", "ln2.w", "ln2.b"], ["h2"], "/ln2/LayerNormalization", axis=-1,
             epsilon=1e-5),
        node("MatMul", ["h2", "w1"], ["f0"], "/mlp/fc1/MatMul"),
        node("Add", ["f0", "b1"], ["f1"], "/mlp/fc1/Add"),
        node("Gelu", ["f1"], ["g"], "/mlp/Gelu"),
        node("MatMul", ["g", "w2"], ["f2"], "/mlp/fc2/MatMul"),
        node("Add", ["r1", "f2"], ["r2"], "/Add_1"),
        node("ReduceMean", ["r2", "tok_axis"], ["pooled"], "/pool/ReduceMean", keepdims=0),
        node("Gemm", ["pooled", "head.weight", "head.bias"], ["output"], "/head/Gemm", transB=1),
    ]
    inits = [init(n, v) for n, v in {**w, **b, **ln}.items()] + [
        ints("last", [-1]), ints("tok_axis", [1]), init("two", np.array(2.0)), init("eps", np.array(1e-5)),
        ints("heads", [1, 4, 2, 4]), ints("tokens", [1, 4, 8]), init("sqrt_dh", np.array(2.0)),
        init("head.weight", hw), init("head.bias", hb)]
    graph = helper.make_graph(
        nodes, "transformer",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4, d])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 3])], inits)
    save("transformer", graph, (1, 4, d), lambda i: rng.normal(0, 1, (1, 4, d)).astype(np.float32), opset=20)


def cnn(rng):
    """A small CNN: Conv, BatchNormalization, ReLU, MaxPool with ceil_mode, a depthwise (grouped)
    conv, InstanceNormalization, LeakyReLU, global average pooling and a Softmax head."""
    cw, cb = kaiming(rng, (4, 3, 3, 3), 27), rng.normal(0, 0.1, 4)
    bn = [rng.uniform(0.5, 1.5, 4), rng.normal(0, 0.1, 4), rng.normal(0, 0.1, 4), rng.uniform(0.5, 1.5, 4)]
    dw, db = kaiming(rng, (4, 1, 3, 3), 9), rng.normal(0, 0.1, 4)
    hw, hb = kaiming(rng, (5, 4), 4), rng.normal(0, 0.1, 5)
    nodes = [
        node("Conv", ["input", "conv.weight", "conv.bias"], ["c"], "/conv/Conv", kernel_shape=[3, 3],
             pads=[1, 1, 1, 1]),
        node("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["bn"],
             "/bn/BatchNormalization"),
        node("Relu", ["bn"], ["r"], "/relu/Relu"),
        node("MaxPool", ["r"], ["p"], "/pool/MaxPool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        node("Conv", ["p", "dw.weight", "dw.bias"], ["d"], "/dw/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
             group=4),
        node("InstanceNormalization", ["d", "in.scale", "in.bias"], ["dn"], "/in/InstanceNormalization"),
        node("LeakyRelu", ["dn"], ["l"], "/act/LeakyRelu", alpha=0.1),
        node("GlobalAveragePool", ["l"], ["g"], "/gap/GlobalAveragePool"),
        node("Flatten", ["g"], ["f"], "/Flatten"),
        node("Gemm", ["f", "head.weight", "head.bias"], ["logits"], "/head/Gemm", transB=1),
        node("Softmax", ["logits"], ["output"], "/head/Softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 5])],
        [init("conv.weight", cw), init("conv.bias", cb), init("bn.scale", bn[0]), init("bn.bias", bn[1]),
         init("bn.mean", bn[2]), init("bn.var", bn[3]), init("dw.weight", dw), init("dw.bias", db),
         init("in.scale", rng.uniform(0.5, 1.5, 4)), init("in.bias", rng.normal(0, 0.1, 4)),
         init("head.weight", hw), init("head.bias", hb)])
    save("cnn", graph, (1, 3, 8, 8), lambda i: rng.normal(0, 1, (1, 3, 8, 8)).astype(np.float32))


def activations(rng):
    """Every elementwise activation and arithmetic op of issue 4 on one linear layer's output, the
    results concatenated: lookups, their decompositions, divisions, powers, reductions, ArgMax."""
    w, bias = kaiming(rng, (8, 8), 8), rng.normal(0, 0.1, 8)
    slope = rng.uniform(0.05, 0.3, 8)
    c = np.sqrt(2 / np.pi)
    nodes = [
        node("Gemm", ["input", "w", "b"], ["x"], "/fc/Gemm", transB=1),
        node("Sigmoid", ["x"], ["sig"], "/Sigmoid"),
        node("Tanh", ["x"], ["th"], "/Tanh"),
        node("Exp", ["x"], ["ex"], "/Exp"),
        node("Softplus", ["x"], ["sp"], "/Softplus"),
        node("Log", ["sp"], ["lg"], "/Log"),
        node("Softsign", ["x"], ["ss"], "/Softsign"),
        node("Elu", ["x"], ["elu"], "/Elu", alpha=0.5),
        node("Selu", ["x"], ["selu"], "/Selu"),
        node("Celu", ["x"], ["celu"], "/Celu"),
        node("LeakyRelu", ["x"], ["lr"], "/LeakyRelu", alpha=0.1),
        node("PRelu", ["x", "slope"], ["pr"], "/PRelu"),
        node("HardSigmoid", ["x"], ["hs"], "/HardSigmoid"),
        node("HardSwish", ["x"], ["hw"], "/HardSwish"),
        node("Clip", ["x", "zero", "six"], ["r6"], "/Clip"),
        node("Erf", ["x"], ["erf"], "/Erf"),
        node("Gelu", ["x"], ["ge"], "/Gelu"),
        node("Gelu", ["x"], ["gt"], "/Gelu_tanh", approximate="tanh"),
        # GELU's tanh form as PyTorch decomposes it.
        node("Pow", ["x", "three"], ["x3"], "/gelu/Pow"),
        node("Mul", ["x3", "k"], ["x3k"], "/gelu/Mul"),
        node("Add", ["x", "x3k"], ["inner"], "/gelu/Add"),
        node("Mul", ["inner", "c"], ["ic"], "/gelu/Mul_1"),
        node("Tanh", ["ic"], ["t"], "/gelu/Tanh"),
        node("Add", ["t", "one"], ["t1"], "/gelu/Add_1"),
        node("Mul", ["x", "t1"], ["xt"], "/gelu/Mul_2"),
        node("Mul", ["xt", "half"], ["gd"], "/gelu/Mul_3"),
        node("Abs", ["x"], ["ab"], "/Abs"),
        node("Sqrt", ["ab"], ["sq"], "/Sqrt"),
        node("Add", ["ab", "one"], ["ab1"], "/Add"),
        node("Reciprocal", ["ab1"], ["rc"], "/Reciprocal"),
        node("Div", ["th", "ab1"], ["dv"], "/Div"),
        node("Div", ["one", "ab1"], ["cd"], "/Div_const"),
        node("Pow", ["x", "two"], ["p2"], "/Pow"),
        node("Neg", ["x"], ["ng"], "/Neg"),
        node("Sin", ["x"], ["sn"], "/Sin"),
        node("Cos", ["x"], ["cs"], "/Cos"),
        node("Sum", ["sig", "th", "one"], ["su"], "/Sum"),
        node("Mean", ["sig", "th", "ss"], ["me"], "/Mean"),
        node("Max", ["x", "th"], ["mx"], "/Max"),
        node("Min", ["x", "th"], ["mn"], "/Min"),
        node("LogSoftmax", ["x"], ["ls"], "/LogSoftmax", axis=-1),
        node("Softmax", ["x"], ["sm"], "/Softmax", axis=-1),
        node("ReduceSum", ["x", "axis1"], ["rs"], "/ReduceSum", keepdims=1),
        node("ReduceMean", ["x", "axis1"], ["rm"], "/ReduceMean", keepdims=1),
        node("ReduceMax", ["x", "axis1"], ["rx"], "/ReduceMax", keepdims=1),
        node("ArgMax", ["x"], ["am_i"], "/ArgMax", axis=1, keepdims=1),
        node("Cast", ["am_i"], ["am"], "/Cast", to=TensorProto.FLOAT),
        node("Concat", ["sig", "th", "ex", "sp", "lg", "ss", "elu", "selu", "celu", "lr", "pr", "hs", "hw", "r6",
                        "erf", "ge", "gt", "gd", "sq", "rc", "dv", "cd", "p2", "ng", "sn", "cs", "su", "me", "mx",
                        "mn", "ls", "sm", "rs", "rm", "rx", "am"], ["output"], "/Concat", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "activations",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 8 * 32 + 4])],
        [init("w", w), init("b", bias), init("slope", slope), init("zero", np.array(0.0)),
         init("six", np.array(6.0)), init("three", np.array(3.0)), init("two", np.array(2.0)),
         init("k", np.array(0.044715)), init("c", np.array(c)), init("one", np.array(1.0)),
         init("half", np.array(0.5)), ints("axis1", [1])])
    save("activations", graph, (1, 8), lambda i: rng.normal(0, 1, (1, 8)).astype(np.float32), opset=20)


def structure(rng):
    """Structural ops and the other convolutions on a 1-D signal: a dilated Conv1d, AveragePool1d
    with ceil_mode, a dilated and padded MaxPool1d, Concat, Slice, Split, Unsqueeze, Resize (nearest), Pad (reflect, edge,
    constant), ConvTranspose, Squeeze, Gather, Expand, Where, Tile, Cast, Identity, and the shape
    arithmetic exporters write (Range, Shape, ConstantOfShape, comparisons, logic, Floor, Ceil,
    Mod) on constants; every branch ends in the flattened output."""
    c1w, c1b = kaiming(rng, (4, 2, 3), 6), rng.normal(0, 0.1, 4)
    ctw = kaiming(rng, (4, 2, 2, 2), 16)
    hw, hb = kaiming(rng, (4, 3), 3), rng.normal(0, 0.1, 4)
    cvals = rng.uniform(0, 1, (2, 2, 3))
    nodes = [
        node("Conv", ["input", "c1.weight", "c1.bias"], ["c1"], "/conv1d/Conv", kernel_shape=[3], pads=[2, 2],
             dilations=[2]),
        node("AveragePool", ["c1"], ["ap"], "/avgpool/AveragePool", kernel_shape=[3], strides=[2], ceil_mode=1),
        node("MaxPool", ["c1"], ["mp"], "/maxpool/MaxPool", kernel_shape=[2], strides=[2], pads=[1, 1],
             dilations=[2]),
        node("Concat", ["ap", "mp"], ["cat"], "/Concat", axis=1),
        node("Slice", ["cat", "sl_start", "sl_end", "sl_axes"], ["sl"], "/Slice"),
        node("Split", ["sl", "split"], ["s1", "s2"], "/Split", axis=1),
        node("Unsqueeze", ["s2", "ax2"], ["u"], "/Unsqueeze"),
        node("Resize", ["u", "", "scales"], ["rz"], "/Resize", mode="nearest"),
        node("Pad", ["rz", "pads_reflect"], ["pr"], "/Pad_reflect", mode="reflect"),
        node("ConvTranspose", ["pr", "ct.weight"], ["ct"], "/ConvTranspose", kernel_shape=[2, 2]),
        node("Pad", ["ct", "pads_edge"], ["pe"], "/Pad_edge", mode="edge"),
        node("Pad", ["pe", "pads_const", "pad_value"], ["pc"], "/Pad_const", mode="constant"),
        node("ReduceMean", ["pc"], ["pm"], "/ReduceMean", axes=[2, 3], keepdims=0),
        node("Squeeze", ["s1", "ax0"], ["sq"], "/Squeeze"),
        # Shape arithmetic as exporters write it, folded at compile time.
        node("Range", ["r_start", "r_limit", "r_delta"], ["gidx"], "/Range"),
        node("Gather", ["sq", "gidx"], ["g"], "/Gather", axis=1),
        node("Expand", ["s1", "exp_shape"], ["e"], "/Expand"),
        node("Greater", ["cvals", "half"], ["gt"], "/Greater"),
        node("Less", ["cvals", "tenth"], ["lt"], "/Less"),
        node("Not", ["lt"], ["nlt"], "/Not"),
        node("And", ["gt", "nlt"], ["both"], "/And"),
        node("Floor", ["cvals10"], ["fl"], "/Floor"),
        node("Mod", ["fl", "two"], ["md"], "/Mod", fmod=1),
        node("Ceil", ["tenth"], ["one_"], "/Ceil"),
        node("Equal", ["md", "one_"], ["odd"], "/Equal"),
        node("Or", ["both", "odd"], ["cond"], "/Or"),
        node("Shape", ["e"], ["e_shape"], "/Shape"),
        node("ConstantOfShape", ["e_shape"], ["fill"], "/ConstantOfShape",
             value=numpy_helper.from_array(np.array([-0.25], dtype=np.float32))),
        node("Where", ["cond", "e", "fill"], ["w"], "/Where"),
        node("Tile", ["g", "reps"], ["t"], "/Tile"),
        node("Cast", ["t"], ["tc"], "/Cast", to=TensorProto.FLOAT),
        node("Identity", ["w"], ["wi"], "/Identity"),
        node("Flatten", ["pm"], ["f1"], "/Flatten", axis=1),
        node("Flatten", ["tc"], ["f2"], "/Flatten_1", axis=0),
        node("Flatten", ["wi"], ["f3"], "/Flatten_2", axis=0),
        node("Concat", ["f2", "f3"], ["f23"], "/Concat_1", axis=1),
        node("ReduceSum", ["f23", "ax1"], ["f23s"], "/ReduceSum", keepdims=1),
        node("Concat", ["f1", "f23s"], ["feat"], "/Concat_2", axis=1),
        node("Slice", ["feat", "f_start", "f_end", "ax1"], ["feat12"], "/Slice_1"),
        node("Gemm", ["feat12", "head.weight", "head.bias"], ["output"], "/head/Gemm", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "structure",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 2, 6])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 4])],
        [init("c1.weight", c1w), init("c1.bias", c1b), ints("sl_start", [0]), ints("sl_end", [6]),
         ints("sl_axes", [1]), ints("split", [2, 4]), ints("ax2", [2]), init("scales", [1, 1, 2, 2]),
         ints("pads_reflect", [0, 0, 1, 1, 0, 0, 1, 1]), init("ct.weight", ctw),
         ints("pads_edge", [0, 0, 0, 1, 0, 0, 0, 1]), ints("pads_const", [0, 0, 1, 0, 0, 0, 0, 0]),
         init("pad_value", np.array(0.5)), ints("ax0", [0]), ints("r_start", 0), ints("r_limit", 3),
         ints("r_delta", 2), ints("exp_shape", [2, 2, 3]), init("cvals", cvals), init("cvals10", cvals * 10),
         init("half", np.array(0.5)), init("tenth", np.array(0.1)), init("two", np.array(2.0)),
         ints("reps", [1, 2]), ints("ax1", [1]), ints("f_start", [0]), ints("f_end", [3]),
         init("head.weight", hw), init("head.bias", hb)])
    save("structure", graph, (1, 2, 6), lambda i: rng.normal(0, 1, (1, 2, 6)).astype(np.float32))


def lenet_weights(rng):
    """Other weights for the compiled LeNet (hashed params, `gen-witness --params`): retrained.onnx
    has new weights no wider than the original's, wide.onnx a first conv 4x larger (2 bits wider)."""
    folder = os.path.join(ROOT, "lenet")
    base = onnx.load(os.path.join(folder, "model.onnx"))
    x = np.asarray(json.load(open(os.path.join(folder, "input.json")))["input_data"][0], dtype=np.float32)

    def variant(name, change):
        model = onnx.ModelProto()
        model.CopyFrom(base)
        for t in model.graph.initializer:
            t.CopyFrom(numpy_helper.from_array(change(t.name, numpy_helper.to_array(t)), t.name))
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(folder, name + ".onnx"))
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        out = session.run(None, {"input": x.reshape(1, 1, 28, 28)})[0].reshape(-1).astype(float).tolist()
        write_json(os.path.join(folder, name + ".expected.json"), {"input": [out]})
        print(f"wrote {folder}/{name}.onnx")

    def retrained(_, w):
        # Within the original's largest magnitude, so within the compiled plan's widths.
        limit = np.abs(w).max()
        return np.clip(0.7 * w + rng.normal(0, 0.2 * w.std() + 1e-3, w.shape), -limit, limit).astype(np.float32)

    variant("retrained", retrained)
    variant("wide", lambda name, w: w * 4 if name == "conv1.weight" else w)


def unsupported(rng):
    """A model with ops zkonnx does not support, to test the compile-time error."""
    w = kaiming(rng, (4, 4), 4)
    nodes = [
        helper.make_node("MatMul", ["input", "w"], ["h"], name="/fc/MatMul"),
        helper.make_node("Reshape", ["h", "square"], ["m"], name="/fc/Reshape"),
        helper.make_node("Det", ["m"], ["det"], name="/act/Det"),
        helper.make_node("Mul", ["m", "det"], ["s"], name="/act/Mul"),
        helper.make_node("Einsum", ["s"], ["output"], name="/head/Einsum", equation="ij->ji"),
    ]
    graph = helper.make_graph(
        nodes, "unsupported",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [2, 2])],
        [init("w", w), numpy_helper.from_array(np.array([2, 2], dtype=np.int64), "square")])
    save("unsupported", graph, (1, 4), lambda i: rng.normal(0, 1, (1, 4)).astype(np.float32), opset=14)


def indexing(rng):
    """Indexing and scans on activations (opset 14): Trilu (upper, and lower with k = -1),
    GatherElements and ScatterElements with constant indices, CumSum (inclusive, and exclusive
    reversed), and Tan on a bounded input."""
    w = kaiming(rng, (16, 16), 16)
    gather_idx = rng.integers(0, 4, (1, 4, 2))
    scatter_idx = np.array([[[3, 0, 1, 2], [1, 2, 3, 0]]])
    nodes = [
        node("MatMul", ["input", "w"], ["h"], "/fc/MatMul"),
        node("Reshape", ["h", "square"], ["m"], "/reshape/Reshape"),
        node("Trilu", ["m"], ["upper"], "/triu/Trilu", upper=1),
        node("Trilu", ["m", "minus_one"], ["lower"], "/tril/Trilu", upper=0),
        node("GatherElements", ["upper", "gather_idx"], ["g"], "/gather/GatherElements", axis=2),
        node("Slice", ["upper", "zero", "two", "one"], ["rows"], "/rows/Slice"),
        node("ScatterElements", ["lower", "scatter_idx", "rows"], ["sc"], "/scatter/ScatterElements", axis=2),
        node("CumSum", ["h", "axis"], ["c"], "/cumsum/CumSum"),
        node("CumSum", ["h", "axis"], ["c2"], "/cumsum_back/CumSum", exclusive=1, reverse=1),
        node("Tanh", ["h"], ["th"], "/tanh/Tanh"),
        node("Mul", ["th", "scale"], ["ts"], "/scale/Mul"),
        node("Tan", ["ts"], ["tan"], "/tan/Tan"),
        node("Reshape", ["g", "flat"], ["gf"], "/gf/Reshape"),
        node("Reshape", ["sc", "flat"], ["scf"], "/scf/Reshape"),
        node("Concat", ["gf", "scf", "c", "c2", "tan"], ["output"], "/out/Concat", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "indexing",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 8 + 16 + 16 + 16 + 16])],
        [init("w", w), ints("square", [1, 4, 4]), ints("minus_one", -1), ints("gather_idx", gather_idx),
         ints("zero", [0]), ints("two", [2]), ints("one", [1]), ints("scatter_idx", scatter_idx),
         ints("axis", 1), init("scale", 1.2), ints("flat", [1, -1])])
    save("indexing", graph, (1, 16), lambda i: rng.normal(0, 1, (1, 16)).astype(np.float32), opset=14)


def onehot_lppool(rng):
    """OneHot of computed indices (rounded, clipped activations) and LpPool with p = 2 (2x2 windows,
    stride 1) and p = 1 (GlobalLpPool), opset 11."""
    w = kaiming(rng, (16, 16), 16)
    nodes = [
        node("MatMul", ["input", "w"], ["h"], "/fc/MatMul"),
        node("Slice", ["h", "start", "four", "axis1"], ["first"], "/first/Slice"),
        node("Clip", ["first", "lo", "hi"], ["clipped"], "/clip/Clip"),
        node("Round", ["clipped"], ["idx"], "/round/Round"),
        node("OneHot", ["idx", "depth", "values"], ["hot"], "/hot/OneHot"),
        node("Reshape", ["hot", "flat"], ["hotf"], "/hotf/Reshape"),
        node("Reshape", ["h", "image"], ["img"], "/img/Reshape"),
        node("LpPool", ["img"], ["l2"], "/l2/LpPool", kernel_shape=[2, 2], p=2),
        node("GlobalLpPool", ["img"], ["l1"], "/l1/GlobalLpPool", p=1),
        node("Reshape", ["l2", "flat"], ["l2f"], "/l2f/Reshape"),
        node("Reshape", ["l1", "flat"], ["l1f"], "/l1f/Reshape"),
        node("Concat", ["hotf", "l2f", "l1f"], ["output"], "/out/Concat", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "onehot_lppool",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 16 + 9 + 1])],
        [init("w", w), ints("start", [0]), ints("four", [4]), ints("axis1", [1]), init("lo", 0.0), init("hi", 3.0),
         init("depth", 4.0), init("values", [0.0, 1.0]), ints("flat", [1, -1]), ints("image", [1, 1, 4, 4])])
    save("onehot_lppool", graph, (1, 16), lambda i: rng.normal(0, 1.5, (1, 16)).astype(np.float32), opset=11)


def wrapping(rng):
    """Computed indices that ONNX counts from the end when negative: floor(x) in [-4, 3] selects
    rows of a 4 x 2 table (Gather) and classes of a OneHot whose class axis is 1, not the last."""
    table = rng.normal(0, 1, (4, 2)).astype(np.float32)
    nodes = [
        node("Floor", ["input"], ["f"], "/floor/Floor"),
        node("Cast", ["f"], ["idx"], "/idx/Cast", to=TensorProto.INT64),
        node("Gather", ["table", "idx"], ["rows"], "/rows/Gather", axis=0),
        node("OneHot", ["idx", "depth", "values"], ["hot"], "/hot/OneHot", axis=1),
        node("Reshape", ["rows", "flat"], ["rowsf"], "/rowsf/Reshape"),
        node("Reshape", ["hot", "flat"], ["hotf"], "/hotf/Reshape"),
        node("Concat", ["rowsf", "hotf"], ["output"], "/out/Concat", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "wrapping",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 6])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 12 + 24])],
        [init("table", table), ints("depth", 4), init("values", [0.0, 1.0]), ints("flat", [1, -1])])
    sample = lambda i: (np.array([[-4.0, -3.5, -1.2, 0.0, 2.5, 3.9]], dtype=np.float32) if i == 0
                        else rng.uniform(-4.0, 3.99, (1, 6)).astype(np.float32))
    save("wrapping", graph, (1, 6), sample)


def powers(rng):
    """Pow with a negative fractional exponent (x^-0.1, a lookup over the calibrated range) and
    with a constant base (2^x = exp(x ln 2)), as EZKL's 1l_powf and general_exp examples."""
    nodes = [
        node("Pow", ["input", "minus_tenth"], ["root"], "/root/Pow"),
        node("Pow", ["two", "input"], ["growth"], "/growth/Pow"),
        node("Concat", ["root", "growth"], ["output"], "/out/Concat", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "powers",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 6])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 12])],
        [init("minus_tenth", -0.1), init("two", 2.0)])
    save("powers", graph, (1, 6), lambda i: rng.uniform(0.25, 3.0, (1, 6)).astype(np.float32))


def fractions(rng):
    """Fractional constants on whole numbers: the remainder x - floor(x / 0.5) * 0.5 (EZKL's
    remainder example) and a comparison scaled and offset by fractions, (x > 0) * 0.25 + 0.125.
    A whole number sits at scale 2^0; its product with 0.5 must not be rounded back to whole."""
    nodes = [
        node("Div", ["input", "half"], ["q"], "/q/Div"),
        node("Floor", ["q"], ["f"], "/f/Floor"),
        node("Mul", ["f", "half"], ["m"], "/m/Mul"),
        node("Sub", ["input", "m"], ["rem"], "/rem/Sub"),
        node("Greater", ["input", "zero"], ["pos"], "/pos/Greater"),
        node("Cast", ["pos"], ["posf"], "/posf/Cast", to=TensorProto.FLOAT),
        node("Mul", ["posf", "quarter"], ["pq"], "/pq/Mul"),
        node("Add", ["pq", "eighth"], ["flag"], "/flag/Add"),
        node("Concat", ["rem", "flag"], ["output"], "/out/Concat", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "fractions",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 16])],
        [init("half", 0.5), init("zero", 0.0), init("quarter", 0.25), init("eighth", 0.125)])
    # The remainder jumps at multiples of 0.5: the proven sample stays 0.1 or more from them, so
    # an input quantized at 2^-4 or finer lands on the same side as the float.
    sample = lambda i: (np.array([[-1.8, -1.1, -0.35, 0.1, 0.3, 0.7, 1.2, 1.65]], dtype=np.float32) if i == 0
                        else rng.uniform(-2.0, 2.0, (1, 8)).astype(np.float32))
    save("fractions", graph, (1, 8), sample)


def scatter(rng):
    """Computed indices (floor(x) in [-3, 2], counted from the end when negative) into
    activations: GatherND of (row, column) pairs of a 3 x 4 matrix, ScatterElements of two
    updates per row along its columns, and ScatterND of whole rows. Two updates may hit the same
    place: the later one wins, as in onnxruntime."""
    w = kaiming(rng, (12, 12), 12)
    nodes = [
        node("MatMul", ["input", "w"], ["h"], "/fc/MatMul"),
        node("Reshape", ["h", "matrix"], ["m"], "/m/Reshape"),
        node("Slice", ["input", "zero", "six", "one"], ["first"], "/first/Slice"),
        node("Floor", ["first"], ["f"], "/floor/Floor"),
        node("Cast", ["f"], ["idx"], "/idx/Cast", to=TensorProto.INT64),
        node("Slice", ["idx", "zero", "four", "one"], ["idx4"], "/idx4/Slice"),
        node("Reshape", ["idx4", "pairs"], ["pairs_idx"], "/pairs/Reshape"),
        node("GatherND", ["m", "pairs_idx"], ["picked"], "/picked/GatherND"),
        node("Reshape", ["idx", "per_row"], ["cols"], "/cols/Reshape"),
        node("Slice", ["h", "zero", "six", "one"], ["u6"], "/u6/Slice"),
        node("Reshape", ["u6", "per_row"], ["updates"], "/updates/Reshape"),
        node("ScatterElements", ["m", "cols", "updates"], ["scattered"], "/scattered/ScatterElements", axis=1),
        node("Slice", ["idx", "four", "six", "one"], ["idx2"], "/idx2/Slice"),
        node("Reshape", ["idx2", "rows_shape"], ["rows_idx"], "/rows/Reshape"),
        node("Slice", ["h", "four", "twelve", "one"], ["u8"], "/u8/Slice"),
        node("Reshape", ["u8", "row_updates"], ["rows"], "/row_updates/Reshape"),
        node("ScatterND", ["m", "rows_idx", "rows"], ["written"], "/written/ScatterND"),
        node("Reshape", ["picked", "flat"], ["pf"], "/pf/Reshape"),
        node("Reshape", ["scattered", "flat"], ["sf"], "/sf/Reshape"),
        node("Reshape", ["written", "flat"], ["wf"], "/wf/Reshape"),
        node("Concat", ["pf", "sf", "wf"], ["output"], "/out/Concat", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "scatter",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 12])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 2 + 12 + 12])],
        [init("w", w), ints("matrix", [3, 4]), ints("zero", [0]), ints("one", [1]), ints("four", [4]),
         ints("six", [6]), ints("twelve", [12]), ints("pairs", [2, 2]), ints("per_row", [3, 2]),
         ints("rows_shape", [2, 1]), ints("row_updates", [2, 4]), ints("flat", [1, -1])])

    # The first six inputs are indices after floor: each stays 0.2 from a whole number, so the
    # input quantized at 2^-3 or finer floors as the float does. The proven sample repeats an
    # index (two updates to one place).
    def sample(i):
        x = rng.normal(0, 1, (1, 12))
        x[0, :6] = rng.integers(-3, 3, 6) + rng.uniform(0.2, 0.8, 6)
        if i == 0:
            x[0, :6] = [-2.5, 1.3, 1.7, 1.4, 0.5, 0.6]
        return x.astype(np.float32)
    save("scatter", graph, (1, 12), sample)


def no_inputs(rng):
    """A model without inputs (EZKL's arange: torch.arange(0, 10, 2) exports a constant): Range
    folds at compile time, and the proof says the outputs are the compiled model's. The input
    file holds one empty list, as EZKL writes it."""
    nodes = [
        node("Range", ["start", "limit", "delta"], ["r"], "/range/Range"),
        node("Cast", ["r"], ["rf"], "/rf/Cast", to=TensorProto.FLOAT),
        node("Mul", ["rf", "half"], ["output"], "/half/Mul"),
    ]
    graph = helper.make_graph(
        nodes, "no_inputs", [], [helper.make_tensor_value_info("output", TensorProto.FLOAT, [5])],
        [numpy_helper.from_array(np.array(v, dtype=np.int64), n) for n, v in [("start", 0), ("limit", 10), ("delta", 2)]]
        + [init("half", 0.5)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], producer_name="zkonnx-testdata")
    model.ir_version = 8
    onnx.checker.check_model(model)
    folder = os.path.join(ROOT, "no_inputs")
    os.makedirs(folder, exist_ok=True)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    out = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {})[0]
    with open(os.path.join(folder, "input.json"), "w") as f:
        json.dump({"input_data": [[]]}, f)
    write_json(os.path.join(folder, "expected.json"), {"input": [out.reshape(-1).astype(float).tolist()]})
    print(f"wrote {folder}")


def bool_input(rng):
    """A boolean model input used as a condition and in logic (Where, And, Not), beside a float
    input; the input files hold true/false."""
    nodes = [
        node("Neg", ["x"], ["minus"], "/neg/Neg"),
        node("Where", ["mask", "x", "minus"], ["picked"], "/where/Where"),
        node("Greater", ["x", "zero"], ["positive"], "/positive/Greater"),
        node("And", ["mask", "positive"], ["both"], "/both/And"),
        node("Not", ["mask"], ["unmasked"], "/not/Not"),
        node("Cast", ["both"], ["bothf"], "/bothf/Cast", to=TensorProto.FLOAT),
        node("Cast", ["unmasked"], ["unmaskedf"], "/unmaskedf/Cast", to=TensorProto.FLOAT),
        node("Concat", ["picked", "bothf", "unmaskedf"], ["output"], "/out/Concat", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "bool_input",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8]),
         helper.make_tensor_value_info("mask", TensorProto.BOOL, [1, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 24])],
        [init("zero", 0.0)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="zkonnx-testdata")
    model.ir_version = 8
    onnx.checker.check_model(model)
    folder = os.path.join(ROOT, "bool_input")
    os.makedirs(folder, exist_ok=True)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    samples = [(rng.normal(0, 1, (1, 8)).astype(np.float32), rng.random((1, 8)) < 0.5) for _ in range(CALIB_SAMPLES + 1)]
    samples[0] = (samples[0][0], np.arange(8).reshape(1, 8) % 3 != 0)  # the input: a mixed mask
    run = lambda x, m: session.run(None, {"x": x, "mask": m})[0].reshape(-1).astype(float).tolist()
    files = lambda ss: {"input_data": [np.concatenate([x.reshape(-1) for x, _ in ss]).astype(float).tolist(),
                                       [bool(b) for _, m in ss for b in m.reshape(-1)]]}
    with open(os.path.join(folder, "input.json"), "w") as f:
        json.dump(files(samples[:1]), f)
    with open(os.path.join(folder, "calib.json"), "w") as f:
        json.dump(files(samples[1:]), f)
    write_json(os.path.join(folder, "expected.json"),
               {"input": [run(*samples[0])], "calib": [sum((run(x, m) for x, m in samples[1:]), [])]})
    print(f"wrote {folder}")


def integer(rng):
    """ONNX's integer semantics on an int64 input: a Div of int64s truncates toward zero (-7 / 3 is
    -2), and a Cast from float to int32 truncates (-2.59 is -2); both on negative values too. And
    Round's halves go to the even neighbour (x / 2: -2.5 is -2, -3.5 is -4). IsNaN of an
    activation is false everywhere (transformers' masks: Where(IsNaN(x), 0, x) is x)."""
    nodes = [
        node("Div", ["x", "three"], ["q"], "/q/Div"),
        node("Cast", ["q"], ["qf"], "/qf/Cast", to=TensorProto.FLOAT),
        node("Cast", ["x"], ["xf"], "/xf/Cast", to=TensorProto.FLOAT),
        node("Mul", ["xf", "scale"], ["h"], "/h/Mul"),
        node("Cast", ["h"], ["hi"], "/hi/Cast", to=TensorProto.INT32),
        node("Cast", ["hi"], ["hf"], "/hf/Cast", to=TensorProto.FLOAT),
        node("Mul", ["xf", "half"], ["halves"], "/halves/Mul"),
        node("Round", ["halves"], ["rounded"], "/rounded/Round"),
        node("IsNaN", ["halves"], ["nan"], "/nan/IsNaN"),
        node("Where", ["nan", "zero", "halves"], ["cleaned"], "/cleaned/Where"),
        node("Concat", ["qf", "hf", "rounded", "cleaned"], ["output"], "/out/Concat", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "integer",
        [helper.make_tensor_value_info("x", TensorProto.INT64, [1, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 32])],
        [numpy_helper.from_array(np.array(3, dtype=np.int64), "three"), init("scale", 0.37), init("half", 0.5),
         init("zero", 0.0)])
    sample = lambda i: (np.array([[-7, -6, -5, -1, 0, 4, 5, 17]], dtype=np.int64) if i == 0
                        else rng.integers(-20, 21, size=(1, 8)).astype(np.int64))
    save("integer", graph, [1, 8], sample)


def tokens(rng):
    """Token ids as a language model takes them: an int64 input indexing a 10 x 4 embedding, plus
    a position embedding, then a Gemm. The compiler takes the ids' range from the table (0..9),
    not the float default, and gen-witness refuses an id outside it or a fraction."""
    table = rng.normal(0, 1, (10, 4)).astype(np.float32)
    positions = rng.normal(0, 0.5, (6, 4)).astype(np.float32)
    w = kaiming(rng, (3, 24), 24)
    nodes = [
        node("Gather", ["table", "ids"], ["e"], "/wte/Gather", axis=0),
        node("Add", ["e", "positions"], ["h"], "/wpe/Add"),
        node("Flatten", ["h"], ["flat"], "/flat", axis=1),
        node("Gemm", ["flat", "w"], ["output"], "/head", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "tokens",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 6])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3])],
        [init("table", table), init("positions", positions), init("w", w)])
    save("tokens", graph, [1, 6], lambda i: rng.integers(0, 10, (1, 6)).astype(np.int64))


def conv3d(rng):
    """3-D convolution and pooling on a [1, 2, 4, 5, 5] volume: a padded Conv (strides 1, 2, 2),
    a grouped Conv, ReLU, MaxPool 2x2x2 and AveragePool (with and without counted padding),
    GlobalAveragePool."""
    w1 = kaiming(rng, (4, 2, 3, 3, 3), 54)
    w2 = kaiming(rng, (4, 2, 2, 1, 1), 4)
    nodes = [
        node("Conv", ["input", "w1", "b1"], ["c1"], "/conv1/Conv", kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1],
             strides=[1, 2, 2]),
        node("Relu", ["c1"], ["r1"], "/relu/Relu"),
        node("Conv", ["r1", "w2"], ["c2"], "/conv2/Conv", kernel_shape=[2, 1, 1], group=2),
        node("MaxPool", ["r1"], ["mp"], "/max/MaxPool", kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
        node("AveragePool", ["c2"], ["ap"], "/avg/AveragePool", kernel_shape=[2, 2, 2], pads=[0, 1, 1, 1, 0, 0]),
        node("AveragePool", ["c2"], ["ap2"], "/avg_pad/AveragePool", kernel_shape=[2, 2, 2], pads=[1, 1, 1, 0, 0, 0],
             count_include_pad=1),
        node("GlobalAveragePool", ["r1"], ["gp"], "/gap/GlobalAveragePool"),
        node("Flatten", ["mp"], ["mpf"], "/mpf/Flatten"),
        node("Flatten", ["ap"], ["apf"], "/apf/Flatten"),
        node("Flatten", ["ap2"], ["ap2f"], "/ap2f/Flatten"),
        node("Flatten", ["gp"], ["gpf"], "/gpf/Flatten"),
        node("Concat", ["mpf", "apf", "ap2f", "gpf"], ["output"], "/out/Concat", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "conv3d",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 2, 4, 5, 5])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, None])],
        [init("w1", w1), init("b1", rng.normal(0, 0.1, 4)), init("w2", w2)])
    save("conv3d", graph, (1, 2, 4, 5, 5), lambda i: rng.normal(0, 1, (1, 2, 4, 5, 5)).astype(np.float32))


def recurrent(rng):
    """Recurrent layers on a sequence of 5 steps of 3 features (opset 14): a bidirectional LSTM
    with peepholes, a GRU with linear_before_reset (PyTorch's form) on its outputs, a reverse GRU
    without it, an RNN with a constant initial state, and an RNN in the batch-first layout."""
    u = lambda *shape: rng.uniform(-0.6, 0.6, shape).astype(np.float32)
    nodes = [
        node("LSTM", ["input", "lw", "lr", "lb", "", "", "", "lp"], ["ly", "lyh", "lyc"], "/lstm/LSTM",
             hidden_size=4, direction="bidirectional"),
        node("Transpose", ["ly"], ["lyt"], "/lstm/Transpose", perm=[0, 2, 1, 3]),
        node("Reshape", ["lyt", "seq_shape"], ["lys"], "/lstm/Reshape"),
        node("GRU", ["lys", "gw", "gr", "gb"], ["", "gyh"], "/gru/GRU", hidden_size=3, linear_before_reset=1),
        node("GRU", ["input", "g2w", "g2r"], ["g2y"], "/gru2/GRU", hidden_size=3, direction="reverse"),
        node("RNN", ["input", "rw", "rr", "rb", "", "rh0"], ["", "ryh"], "/rnn/RNN", hidden_size=3),
        node("RNN", ["input", "r2w", "r2r"], ["r2y"], "/rnn2/RNN", hidden_size=2, activations=["Relu"]),
    ]
    outputs = ["gyh", "g2y", "ryh", "lyc", "r2y"]
    nodes += [node("Flatten", [o], [o + "_f"], f"/{o}/Flatten", axis=0) for o in outputs]
    nodes.append(node("Concat", [o + "_f" for o in outputs], ["output"], "/out/Concat", axis=1))
    inits = [
        init("lw", u(2, 16, 3)), init("lr", u(2, 16, 4)), init("lb", u(2, 32) * 0.5), init("lp", u(2, 12)),
        ints("seq_shape", [5, 1, 8]),
        init("gw", u(1, 9, 8)), init("gr", u(1, 9, 3)), init("gb", u(1, 18) * 0.5),
        init("g2w", u(1, 9, 3)), init("g2r", u(1, 9, 3)),
        init("rw", u(1, 3, 3)), init("rr", u(1, 3, 3)), init("rb", u(1, 6) * 0.5), init("rh0", u(1, 1, 3)),
        init("r2w", u(1, 2, 3)), init("r2r", u(1, 2, 2)),
    ]
    graph = helper.make_graph(
        nodes, "recurrent",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [5, 1, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, None])], inits)
    save("recurrent", graph, (5, 1, 3), lambda i: rng.normal(0, 1, (5, 1, 3)).astype(np.float32), opset=14)
    layouts = helper.make_graph(
        [node("RNN", ["input", "r2w", "r2r"], ["", "seq_first"], "/seq_first/RNN", hidden_size=2),
         node("Transpose", ["input"], ["xb"], "/batch_first/Transpose", perm=[1, 0, 2]),
         node("RNN", ["xb", "r2w", "r2r"], ["", "yb"], "/batch_first/RNN", hidden_size=2, layout=1),
         node("Transpose", ["yb"], ["batch_first"], "/batch_first/back", perm=[1, 0, 2])],
        "layouts", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [5, 1, 3])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 1, 2]) for n in ["seq_first", "batch_first"]],
        [i for i in inits if i.name in ("r2w", "r2r")])
    model = helper.make_model(layouts, opset_imports=[helper.make_opsetid("", 14)], producer_name="zkonnx-testdata")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(ROOT, "recurrent", "batch_first.onnx"))


def selection(rng):
    """TopK on activations (the 3 largest of each row of a Gemm's output, and the smallest along
    the other axis, with their indices), GatherND (with and without batch_dims) and ScatterND with
    constant indices, and computed indices (floor(|x|) clipped to [0, 5]) selecting by
    GatherElements and Gather (axis 1) from the Gemm's output and Gather from a constant table, on
    a [2, 6] input. The input file's values repeat, so ties must come out
    lowest index first."""
    nodes = [
        node("Gemm", ["input", "w", "b"], ["h"], "/fc/Gemm"),
        node("TopK", ["h", "k3"], ["top", "top_i"], "/top/TopK"),
        node("TopK", ["input", "k1"], ["low", "low_i"], "/low/TopK", axis=0, largest=0),
        node("GatherND", ["input", "nd"], ["picked"], "/pick/GatherND"),
        node("GatherND", ["h", "nd_batch"], ["picked_b"], "/pick_batch/GatherND", batch_dims=1),
        node("ScatterND", ["input", "nd_scatter", "picked"], ["scattered"], "/scatter/ScatterND"),
        # Computed indices: floor(|x|) clipped to [0, 5].
        node("Abs", ["input"], ["ax"], "/idx/Abs"),
        node("Floor", ["ax"], ["fx"], "/idx/Floor"),
        node("Clip", ["fx", "zero", "five"], ["cx"], "/idx/Clip"),
        node("Cast", ["cx"], ["idx"], "/idx/Cast", to=TensorProto.INT64),
        node("GatherElements", ["h", "idx"], ["by_elements"], "/by_elements/GatherElements", axis=1),
        node("Slice", ["idx", "s0", "s1"], ["idx_row"], "/idx/Slice"),
        node("Gather", ["h", "idx_row"], ["by_rows"], "/by_rows/Gather", axis=1),
        node("Gather", ["table", "idx_row"], ["by_table"], "/by_table/Gather", axis=1),
    ]
    parts = ["top", "top_i", "low", "low_i", "picked", "picked_b", "scattered", "by_elements", "by_rows", "by_table"]
    for p in ["top_i", "low_i"]:
        nodes.append(node("Cast", [p], [p + "_f"], f"/{p}/Cast", to=TensorProto.FLOAT))
    flat = [p + "_f" if p.endswith("_i") else p for p in parts]
    nodes += [node("Flatten", [p], [p + "_flat"], f"/{p}/Flatten", axis=0) for p in flat]
    nodes.append(node("Concat", [p + "_flat" for p in flat], ["output"], "/out/Concat", axis=1))
    inits = [
        init("w", np.eye(6, dtype=np.float32)),
        init("b", np.zeros(6)), ints("k3", [3]), ints("k1", [1]),
        init("zero", 0.0), init("five", 5.0), ints("s0", [0]), ints("s1", [1]), init("table", np.round(rng.normal(0, 1, (3, 6)) * 8) / 8),
        ints("nd", [[0, 1], [1, 4]]), ints("nd_batch", [[2], [5]]), ints("nd_scatter", [[1, 2], [0, 5]]),
    ]
    graph = helper.make_graph(
        nodes, "selection",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [2, 6])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, None])], inits)

    def sample(i):
        if i == 0:
            return np.array([[0.5, -1.0, 0.5, 2.0, 0.5, -1.0], [0.5, 2.0, -0.25, 2.0, 1.5, -1.0]], dtype=np.float32)
        return rng.normal(0, 1, (2, 6)).astype(np.float32)

    save("selection", graph, (2, 6), sample, opset=14)


def save_sklearn(name, model, calib, one, test):
    """A scikit-learn export as it is: model.onnx, input.json, calib.json, test.json (the data
    set's test split) and expected.json with onnxruntime's outputs (ZipMap's dictionaries read as
    the probabilities they wrap, in class order)."""
    folder = os.path.join(ROOT, name)
    os.makedirs(folder, exist_ok=True)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def run(x):
        outputs = []
        for o in session.run(None, {input_name: x.reshape(1, -1).astype(np.float32)}):
            if isinstance(o, list):  # ZipMap: [{class: probability}]
                o = np.array([[d[k] for k in sorted(d)] for d in o])
            outputs.append(np.asarray(o).reshape(-1).astype(float).tolist())
        return outputs

    def samples(xs):
        return {"input_data": [np.concatenate([x.reshape(-1) for x in xs]).tolist()]}

    write_json(os.path.join(folder, "input.json"), {"input_data": [one.reshape(-1).tolist()]})
    write_json(os.path.join(folder, "calib.json"), samples(calib))
    write_json(os.path.join(folder, "test.json"), samples(test))
    calib_outputs = [run(c) for c in calib]
    per_output = [sum((co[i] for co in calib_outputs), []) for i in range(len(calib_outputs[0]))]
    write_json(os.path.join(folder, "expected.json"), {"input": run(one), "calib": per_output})
    print(f"wrote {folder}: {len(calib)} calibration and {len(test)} test samples")


def sklearn_split(load, seed, classes=True):
    from sklearn.model_selection import train_test_split

    x, y = load(return_X_y=True)
    return train_test_split(x.astype(np.float32), y, test_size=0.3, random_state=seed, stratify=y if classes else None)


def trees(rng):
    """scikit-learn models exported by skl2onnx as they are, trained on data sets scikit-learn
    ships: a decision tree on iris (label and ZipMap'd probabilities), a random forest on wine,
    gradient boosting on breast cancer (binary, LOGISTIC; probabilities only: tract, which
    cross-checks the float reference, gives a wrong label for one-column binary ensembles), a
    gradient-boosted regressor on diabetes (TreeEnsembleRegressor, which tract cannot run; its
    features are scaled to about [-0.2, 0.2], so it also proves at the default ranges), and
    pipelines around linear models. Calibration samples come from the training split; test.json
    is the test split."""
    from skl2onnx import to_onnx
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    seed = int(rng.integers(1 << 30))
    opsets = {"": 15, "ai.onnx.ml": 3}
    for name, load, clf, options, keep in [
        ("tree", load_iris, DecisionTreeClassifier(max_depth=4, random_state=seed), None, None),
        ("forest", load_wine, RandomForestClassifier(n_estimators=8, max_depth=4, random_state=seed),
         {"zipmap": False}, None),
        ("boosted", load_breast_cancer, GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=seed),
         {"zipmap": False}, ["probabilities"]),
        ("regressor", load_diabetes, GradientBoostingRegressor(n_estimators=10, max_depth=3, random_state=seed),
         None, None),
        # Pipelines around linear models: Scaler, LinearClassifier (SOFTMAX, then Cast, Normalizer
        # L1 and ZipMap; binary: LOGISTIC), LinearRegressor.
        ("pipeline", load_iris, make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)), None, None),
        ("pipeline_binary", load_breast_cancer, make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
         None, None),
        ("linear_regression", load_diabetes, make_pipeline(StandardScaler(), LinearRegression()), None, None),
    ]:
        regression = name in ("regressor", "linear_regression")
        x_train, x_test, y_train, y_test = sklearn_split(load, seed, classes=not regression)
        clf.fit(x_train, y_train)
        model = to_onnx(clf, x_train[:1], target_opset=opsets, options={id(clf): options} if options else None)
        if keep:
            outputs = [o for o in model.graph.output if o.name in keep]
            del model.graph.output[:]
            model.graph.output.extend(outputs)
        print(f"{name}: test accuracy {clf.score(x_test, y_test):.3f}")
        # Breast cancer's 398 training samples make calibration's mocks slow: 150 cover its ranges.
        save_sklearn(name, model, x_train[:150], x_test[0], x_test)


def main():
    builders = {"mlp": mlp, "lenet": lenet, "mixed": mixed, "pooling": pooling, "transformer": transformer,
                "cnn": cnn, "activations": activations, "structure": structure, "unsupported": unsupported,
                "lenet_weights": lenet_weights, "leaky": leaky,
                "logic": logic, "functions": functions,
                "reductions": reductions, "embedding": embedding, "trees": trees, "indexing": indexing, "onehot_lppool": onehot_lppool, "wrapping": wrapping, "powers": powers, "fractions": fractions, "scatter": scatter, "no_inputs": no_inputs, "bool_input": bool_input, "integer": integer, "tokens": tokens, "conv3d": conv3d, "recurrent": recurrent, "selection": selection, "refcnn": reference_cnn}
    wanted = sys.argv[1:] or list(builders)
    for name in wanted:
        # One generator per model, so adding a model never changes the others.
        builders[name](np.random.default_rng(sum(map(ord, name))))


if __name__ == "__main__":
    main()
