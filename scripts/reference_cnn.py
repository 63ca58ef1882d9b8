#!/usr/bin/env python3
"""Build the full reference CNN of issue 11 (14.7M parameters, 59 MB; never committed) into a folder
as the testdata models are: model.onnx, input.json, calib.json, expected.json (onnxruntime's outputs).

    python3 scripts/reference_cnn.py OUT_DIR

Seeded weights, inputs uniform in [0, 1). Needs numpy, onnx and onnxruntime (scripts/requirements.txt)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_testdata  # noqa: E402


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = os.path.abspath(sys.argv[1])
    make_testdata.reference_cnn(np.random.default_rng(11), size=(120, 80), channels=32, hidden=1000,
                                root=os.path.dirname(out), name=os.path.basename(out))


if __name__ == "__main__":
    main()
