#!/usr/bin/env bash
# The test suite (what CI runs): a venv under target/ with the Python requirements, Rust's tests,
# then the Python package's. The wheel is built from the same cargo build (dev profile: only
# pyo3 and the bindings compile anew) and tested with pytest
# in a venv under target/.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/target/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r python/tests/requirements.txt
# The segmented e2e test runs scripts/ray_prove.py with this Python (Ray is in the requirements).
ZKONNX_PYTHON="$venv/bin/python" cargo test --workspace --locked

rm -rf target/wheels
"$venv/bin/maturin" build --profile dev --locked -m python/Cargo.toml --out target/wheels
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/zkonnx-*.whl
"$venv/bin/pytest" -q python/tests
