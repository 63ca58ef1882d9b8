#!/usr/bin/env python3
"""Prove a segmented model on a Ray cluster: one Ray task per segment (`zkonnx prove --segment i`),
then one task that aggregates their proofs (`zkonnx aggregate`: the aggregation tree's nodes one
after another, each a job of ~8 GB) into the proof `zkonnx verify` checks. A thin driver: zkonnx
does the work; Ray only schedules it.

    zkonnx compile model.onnx -o art/ --segment-logrows 18 && zkonnx setup art/
    zkonnx gen-witness art/ --input input.json -o witness.json
    python3 scripts/ray_prove.py art/ --witness witness.json -o proof.json [--address ray://host:10001]

Without --address a local Ray cluster starts on this machine (ray.init()). With one, the tasks
run on the cluster's nodes: the artifact folder, the witness, the zkonnx binary and the output
folder must be at the same paths on every node (shared storage), and each node's zkonnx must
find the same SRS (pass --srs, or the same $ZKONNX_HOME). Needs: pip install ray.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import ray


def run_zkonnx(args):
    """Run one zkonnx command; returns (seconds, peak memory of the command in MB, its progress
    lines: what it printed to stderr, e.g. each aggregation node's time and peak memory)."""
    import resource

    start = time.time()
    p = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.time() - start
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed: {p.stderr.strip().splitlines()[-1:]}")
    # ru_maxrss of the children this worker ran, in kB: zkonnx is the largest of them.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak, p.stderr.strip().splitlines()


@ray.remote(max_calls=1)
def prove_segment(zkonnx, art, witness, i, out, srs):
    cmd = [zkonnx, "prove", art, "--witness", witness, "--segment", str(i), "-o", out]
    if srs:
        cmd += ["--srs", srs]
    return run_zkonnx(cmd)


@ray.remote(max_calls=1)
def aggregate(zkonnx, art, proofs, out, srs):
    cmd = [zkonnx, "aggregate", art, "--segment-proofs", *proofs, "-o", out]
    if srs:
        cmd += ["--srs", srs]
    return run_zkonnx(cmd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("art", help="artifact folder of a model compiled with --segment-logrows and set up")
    ap.add_argument("--witness", required=True)
    ap.add_argument("-o", "--out", required=True, help="the aggregate proof file to write")
    ap.add_argument("--address", help="a Ray cluster to join (default: start a local one)")
    ap.add_argument("--srs", help="the SRS file given to setup, if any")
    ap.add_argument("--zkonnx", default=shutil.which("zkonnx") or "zkonnx", help="the zkonnx binary")
    ap.add_argument("--work", help="folder for the segment proofs (default: beside the output)")
    args = ap.parse_args()

    art, witness = os.path.abspath(args.art), os.path.abspath(args.witness)
    out = os.path.abspath(args.out)
    zkonnx = os.path.abspath(args.zkonnx) if os.path.exists(args.zkonnx) else args.zkonnx
    srs = os.path.abspath(args.srs) if args.srs else None
    with open(os.path.join(art, "settings.json")) as f:
        segments = (json.load(f).get("segments") or {}).get("parts")
    if not segments:
        sys.exit(f"error: {args.art} is not segmented; compile it with --segment-logrows")
    work = os.path.abspath(args.work or os.path.join(os.path.dirname(out), "segment-proofs"))
    os.makedirs(work, exist_ok=True)

    start = time.time()
    if args.address:
        ray.init(address=args.address, log_to_driver=False)
    else:
        ray.init(log_to_driver=False, include_dashboard=False)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    print(f"{len(segments)} segments on a Ray cluster of {cpus} CPUs", file=sys.stderr, flush=True)
    proofs = [os.path.join(work, f"segment-{i}.json") for i in range(len(segments))]
    pending = {prove_segment.remote(zkonnx, art, witness, i, proofs[i], srs): i for i in range(len(segments))}
    peaks, times = [0.0] * len(segments), [0.0] * len(segments)
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        i = pending.pop(done[0])
        times[i], peaks[i], _ = ray.get(done[0])
        print(f"segment {i + 1}/{len(segments)} proven: {times[i]:.1f} s, peak {peaks[i]:.0f} MB",
              file=sys.stderr, flush=True)
    agg_time, agg_peak, lines = ray.get(aggregate.remote(zkonnx, art, proofs, out, srs))
    for line in lines:
        if line.startswith("aggregation node"):
            print(f"  {line}", file=sys.stderr, flush=True)
    print(f"aggregate proven: {agg_time:.1f} s, peak {agg_peak:.0f} MB", file=sys.stderr, flush=True)
    ray.shutdown()
    print(f"proof written to {out}: {len(segments)} segments (largest {max(s['rows'] for s in segments)} rows), "
          f"segment jobs {sum(times):.1f} s in all (peak {max(peaks):.0f} MB each at most), aggregation "
          f"{agg_time:.1f} s (peak {agg_peak:.0f} MB), wall {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
