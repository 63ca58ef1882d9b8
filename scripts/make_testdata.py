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


def save(name, graph, input_shape, sample, root=None):
    """Write model.onnx, the input files and onnxruntime's outputs for them."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
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


def unsupported(rng):
    """A model with ops outside issue 2's set, to test the compile-time error."""
    w = kaiming(rng, (4, 8), 4)
    nodes = [
        helper.make_node("MatMul", ["input", "w"], ["h"], name="/fc/MatMul"),
        helper.make_node("Sigmoid", ["h"], ["s"], name="/act/Sigmoid"),
        helper.make_node("Softmax", ["s"], ["output"], name="/head/Softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "unsupported",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 8])],
        [init("w", w)])
    save("unsupported", graph, (1, 4), lambda i: rng.normal(0, 1, (1, 4)).astype(np.float32))


def main():
    builders = {"mlp": mlp, "lenet": lenet, "mixed": mixed, "pooling": pooling, "unsupported": unsupported}
    wanted = sys.argv[1:] or list(builders)
    for name in wanted:
        # One generator per model, so adding a model never changes the others.
        builders[name](np.random.default_rng(sum(map(ord, name))))


if __name__ == "__main__":
    main()
