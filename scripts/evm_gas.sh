#!/usr/bin/env bash
# Gas, contract size and calldata of the EVM verifier, per model and visibility, with the time of
# each step: compile --layout evm, calibrate, setup, prove, create-evm-verifier, verify-evm.
# Usage: scripts/evm_gas.sh [MODEL[:INPUT/OUTPUT/PARAMS]...]   (default: every small testdata model,
# and mlp and lenet in every visibility family). Needs solc (see the README); prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p zkonnx-cli
zk="$PWD/target/release/zkonnx"
runs=("$@")
if [ ${#runs[@]} -eq 0 ]; then
    runs=(mlp lenet mixed pooling cnn structure transformer refcnn
          lenet:private/private/fixed lenet:public/public/fixed lenet:hashed/public/fixed
          lenet:private/hashed/fixed lenet:private/public/hashed lenet:hashed/hashed/fixed)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Run a command with its output in $work/out; print its seconds.
seconds() { local s; s=$(date +%s.%N); "$@" >"$work/out" 2>&1 || return 1; echo "$(date +%s.%N) - $s" | bc; }
echo "| model | visibility | k | rows | prove | deployed | calldata | gas | create | verify-evm |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
measure() {
    local run=$1 model vis i o p art d prove create verify line gas size calldata k
    model=${run%%:*}
    vis=private/public/fixed
    [ "$run" != "$model" ] && vis=${run#*:}
    IFS=/ read -r i o p <<<"$vis"
    art="$work/$model-${i}-${o}-${p}"
    # A step that fails (a verifier too large to deploy in a block) ends the row with its error.
    fail() { printf "| %s | %s | %s |\n" "$model" "$vis" "$(tail -n 1 "$work/out")"; }
    d="testdata/$model"
    seconds $zk compile "$d/model.onnx" -o "$art" --layout evm --input-visibility "$i" --output-visibility "$o" \
        --param-visibility "$p" >/dev/null || { fail; return; }
    seconds $zk calibrate "$art" --data "$d/calib.json" >/dev/null || { fail; return; }
    seconds $zk setup "$art" >/dev/null || { fail; return; }
    seconds $zk gen-witness "$art" --input "$d/input.json" -o "$art/witness.json" >/dev/null || { fail; return; }
    prove=$(seconds $zk prove "$art" --witness "$art/witness.json" -o "$art/proof.json") || { fail; return; }
    create=$(seconds $zk create-evm-verifier "$art" -o "$art/evm" --no-size-limit) || { fail; return; }
    verify=$(seconds $zk verify-evm "$art" --proof "$art/proof.json" --verifier "$art/evm/Verifier.bin" \
        --no-size-limit) || { fail; return; }
    line=$(grep "verified on EVM" "$work/out")
    gas=$(sed -E 's/.*verified on EVM: ([0-9]+) gas.*/\1/' <<<"$line")
    size=$(sed -E 's/.*deployed code ([0-9]+) bytes.*/\1/' <<<"$line")
    calldata=$(sed -E 's/.*calldata ([0-9]+) bytes.*/\1/' <<<"$line")
    k=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(s['circuit']['k'], s['rows'])" "$art/settings.json")
    printf "| %s | %s | %s | %s | %.1f s | %s B | %s B | %s | %.1f s | %.2f s |\n" "$model" "$vis" ${k% *} ${k#* } \
        "$prove" "$size" "$calldata" "$gas" "$create" "$verify"
}
for run in "${runs[@]}"; do
    measure "$run"
done
