#!/usr/bin/env python3
"""Tree ensembles as their exporters write them, through zkonnx: scikit-learn (skl2onnx), XGBoost
and LightGBM (onnxmltools) classifiers trained on data sets scikit-learn ships. For each: settings,
calibration on the training split, keys, a proof and its verification, then the proven class
against onnxruntime's on every sample of the test split. Prints one table (trees x depth, rows, k,
prove time, agreement).

    pip install ./python scikit-learn skl2onnx onnxmltools xgboost lightgbm onnxruntime
    python scripts/tree_exports.py [--out folder]
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


def models():
    """(name, data set loader, estimator, converter) for every export this script checks."""
    from lightgbm import LGBMClassifier
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier
    from xgboost import XGBClassifier

    def skl(clf, x):
        from skl2onnx import to_onnx

        return to_onnx(clf, x[:1], target_opset={"": 15, "ai.onnx.ml": 3}, options={id(clf): {"zipmap": False}})

    def xgb(clf, x):
        from onnxmltools import convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType

        return convert_xgboost(clf, initial_types=[("X", FloatTensorType([None, x.shape[1]]))], target_opset=15)

    def lgbm(clf, x):
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType

        return convert_lightgbm(
            clf, initial_types=[("X", FloatTensorType([None, x.shape[1]]))], target_opset=15, zipmap=False
        )

    return [
        ("sklearn tree (iris)", load_iris, DecisionTreeClassifier(max_depth=4, random_state=0), skl),
        ("sklearn forest (wine)", load_wine, RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0), skl),
        ("sklearn boosting (breast cancer)", load_breast_cancer,
         GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0), skl),
        ("xgboost (wine)", load_wine, XGBClassifier(n_estimators=10, max_depth=3, random_state=0), xgb),
        ("xgboost (breast cancer)", load_breast_cancer, XGBClassifier(n_estimators=10, max_depth=3, random_state=0), xgb),
        ("lightgbm (iris)", load_iris, LGBMClassifier(n_estimators=10, max_depth=3, num_leaves=8, verbose=-1), lgbm),
    ]


def probabilities_only(model):
    """The probabilities output alone: the label output of a binary ensemble is one tract (the
    float reference) computes wrongly, and the class is the probabilities' argmax anyway."""
    names = [o.name for o in model.graph.output]
    keep = [o for o in model.graph.output if "prob" in o.name] or model.graph.output[-1:]
    del model.graph.output[:]
    model.graph.output.extend(keep)
    return model, names


def shape_of(model):
    node = next(n for n in model.graph.node if n.op_type == "TreeEnsembleClassifier")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    trees = len(set(attrs["nodes_treeids"]))
    splits = sum(1 for m in attrs["nodes_modes"] if m != b"LEAF")
    return trees, splits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path)
    parser.add_argument("--max-error", type=float, default=0.2,
                        help="calibration's bound on the probabilities' error (one tree of a forest of 8 moves "
                             "them by 0.125 when an input within a grid step of a threshold falls on its other side)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.WARNING)
    out = args.out or pathlib.Path(tempfile.mkdtemp(prefix="zkonnx_trees_"))
    from sklearn.model_selection import train_test_split

    rows = []
    for name, load, clf, convert in models():
        x, y = load(return_X_y=True)
        x_train, x_test, y_train, _ = train_test_split(x.astype(np.float32), y, test_size=0.3, random_state=0, stratify=y)
        clf.fit(x_train, y_train)
        folder = out / name.split()[0] / name.split("(")[1].rstrip(")").replace(" ", "_")
        folder.mkdir(parents=True, exist_ok=True)
        model, _ = probabilities_only(convert(clf, x_train))
        path = folder / "model.onnx"
        onnx.save(model, path)
        trees, splits = shape_of(model)
        f = {n: folder / n for n in ["settings.json", "compiled", "vk.key", "pk.key", "w.json", "proof.json"]}
        calib = folder / "calib.json"
        calib.write_text(json.dumps({"input_data": [x_train.flatten().tolist()]}))
        zkonnx.gen_settings(path, f["settings.json"])
        zkonnx.calibrate_settings(calib, path, f["settings.json"], "resources", max_error=args.max_error)
        zkonnx.compile_circuit(path, f["compiled"], f["settings.json"])
        zkonnx.setup(f["compiled"], f["vk.key"], f["pk.key"])
        sample = folder / "input.json"
        sample.write_text(json.dumps({"input_data": [x_test[0].tolist()]}))
        zkonnx.gen_witness(sample, f["compiled"], f["w.json"])
        start = time.perf_counter()
        zkonnx.prove(f["w.json"], f["compiled"], f["pk.key"], f["proof.json"])
        prove_s = time.perf_counter() - start
        assert zkonnx.verify(f["proof.json"], f["settings.json"], f["vk.key"])
        session = ort.InferenceSession(str(path))
        agree = 0
        for s in x_test:
            sample.write_text(json.dumps({"input_data": [s.tolist()]}))
            proven = np.array(zkonnx.gen_witness(sample, f["compiled"])["outputs"][-1])
            reference = np.asarray(session.run(None, {session.get_inputs()[0].name: s[None]})[-1]).reshape(-1)
            agree += int(proven.argmax() == reference.argmax())
        settings = json.loads(f["settings.json"].read_text())
        rows.append((name, trees, splits, settings["rows"], settings["run_args"]["logrows"], prove_s, agree, len(x_test)))
        print(f"{name}: {trees} trees, {splits} splits, {settings['rows']} rows, k={settings['run_args']['logrows']}, "
              f"prove {prove_s:.2f} s, test split {agree}/{len(x_test)}", flush=True)
    print("\n| model | trees | splits | rows | k | prove | test split agreement |\n| --- | --- | --- | --- | --- | --- | --- |")
    for name, trees, splits, r, k, p, agree, n in rows:
        print(f"| {name} | {trees} | {splits} | {r} | {k} | {p:.2f} s | {agree}/{n} |")


if __name__ == "__main__":
    main()
