#!/usr/bin/env bash
# The whole job on a bundled model: compile, calibrate, setup, gen-witness, mock, prove, verify.
# Usage: scripts/demo.sh [MODEL]   (a folder of testdata/: mlp, lenet, transformer, cnn, ...; default lenet)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-lenet}
art=${ART:-art/$model}
cargo build --release -q -p zkonnx-cli
zk=target/release/zkonnx
set -x
$zk compile "testdata/$model/model.onnx" -o "$art"
$zk calibrate "$art" --data "testdata/$model/calib.json" --target resources
$zk setup "$art"
$zk gen-witness "$art" --input "testdata/$model/input.json" -o "$art/witness.json"
$zk mock "$art" --witness "$art/witness.json"
$zk prove "$art" --witness "$art/witness.json" -o "$art/proof.json"
$zk verify "$art" --proof "$art/proof.json"
