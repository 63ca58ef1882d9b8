"""A scikit-learn MLP trained here, exported with skl2onnx and proven; then the quantization
error over several samples, computed as the EZKL workflow does (float model by onnxruntime
against the witness outputs)."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from skl2onnx import to_onnx
from sklearn.datasets import make_classification
from sklearn.neural_network import MLPClassifier

import zkonnx
from conftest import run_workflow, write_json


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """An MLP classifier trained on 4 features, 3 classes, exported with its probabilities as the
    only output (the label is their argmax, for anyone to take)."""
    folder = tmp_path_factory.mktemp("sklearn")
    x, y = make_classification(n_samples=300, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=0)
    x = x.astype(np.float32)
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=600, random_state=0).fit(x, y)
    exported = folder / "exported.onnx"
    onnx.save(to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}}, target_opset=15), exported)
    path = folder / "mlp.onnx"
    onnx.utils.extract_model(str(exported), str(path), ["X"], ["probabilities"])
    return folder, path, x


def test_sklearn_mlp_proves_and_its_quantization_error_is_small(classifier):
    folder, path, x = classifier
    calib = write_json(folder / "calib.json", {"input_data": [x[:40].flatten().tolist()]})
    data = write_json(folder / "input.json", {"input_data": [x[0].tolist()]})
    files, witness, proof = run_workflow(path, calib, data, folder)
    assert proof["outputs"] == witness["outputs"]

    # The quantization error over samples the calibration did not see.
    session = ort.InferenceSession(str(path))
    errors, agree = [], 0
    for i, sample in enumerate(x[100:110]):
        data = write_json(folder / f"sample{i}.json", {"input_data": [sample.tolist()]})
        proven = np.array(zkonnx.gen_witness(data, files["network.compiled"])["outputs"][0])
        float_out = session.run(["probabilities"], {session.get_inputs()[0].name: sample[None, :]})[0].flatten()
        errors.append(np.abs(proven - float_out))
        agree += int(proven.argmax() == float_out.argmax())
    errors = np.array(errors)
    mean_error, max_error = errors.mean(), errors.max()
    print(f"quantization error over {len(errors)} samples: mean {mean_error:.5f}, max {max_error:.5f}, top-1 {agree}/10")
    assert max_error < 0.05, max_error
    assert agree >= 9
