#!/usr/bin/env python3
"""Benchmark: hypergrid trajectory balance with gfl-run, beside torchgfn.

Prints ms per training iteration and trajectories per second for hypergrid
2D H8 and 4D H8 at batch 16 and 128, with gfl-run's split into rollout,
networks, objective and optimizer. Where torchgfn imports (give its Python
with --peer-python, default: this interpreter), runs its hypergrid TB at the
same settings in the same run and prints the ratio.

    python3 bench/hypergrid.py [--iterations 200] [--peer-python PATH]

Figures, not tests: nothing here asserts a speed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")


def gfl_run(artifact, batch, iterations, workdir):
    out = subprocess.run(
        [os.path.join(BIN, "gfl-run"), "train", artifact, "--out", workdir,
         "--iterations", str(iterations), "--batch", str(batch), "--seed", "1",
         "--set", "eval_every=1000000000", "--quiet", "--profile"],
        check=True, capture_output=True, text=True)
    line = [l for l in out.stderr.splitlines() if l.startswith("profile ")][-1]
    return json.loads(line[len("profile "):])


def peer(python, ndim, batch, iterations):
    script = os.path.join(ROOT, "bench", "torchgfn_hypergrid.py")
    proc = subprocess.run(
        [python, script, "--ndim", str(ndim), "--height", "8", "--batch",
         str(batch), "--iterations", str(iterations), "--json"],
        capture_output=True, text=True)
    if proc.returncode != 0:
        return None, proc.stderr.strip().splitlines()[-1:] or ["failed"]
    return json.loads(proc.stdout.strip().splitlines()[-1]), None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--peer-python", default=sys.executable)
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="gfl-bench-")
    rows = []
    for ndim in (2, 4):
        artifact = os.path.join(tmp, "hg%dd.gflx" % ndim)
        subprocess.run([os.path.join(BIN, "gflc"),
                        os.path.join(ROOT, "examples", "hypergrid.gfl"),
                        "--set", "D=%d" % ndim, "--set", "H=8", "-o", artifact],
                       check=True)
        for batch in (16, 128):
            g = gfl_run(artifact, batch, args.iterations,
                        os.path.join(tmp, "run%d_%d" % (ndim, batch)))
            p, why = (None, ["skipped"]) if args.no_peer else peer(
                args.peer_python, ndim, batch, args.iterations)
            rows.append((ndim, batch, g, p, why))

    print("hypergrid H=8, trajectory balance, MLP 256x2, %d iterations, CPU"
          % args.iterations)
    print("%-7s %5s | %9s %10s | %7s %8s %9s %9s | %9s %10s | %s" % (
        "env", "batch", "gfl ms/it", "gfl traj/s", "rollout", "networks",
        "objective", "optimizer", "peer ms", "peer traj/s", "speedup"))
    for ndim, batch, g, p, why in rows:
        s = g["split_ms"]
        peer_ms = "%.2f" % p["ms_per_iteration"] if p else "-"
        peer_tps = "%.0f" % p["trajectories_per_s"] if p else "-"
        ratio = ("%.1fx" % (p["ms_per_iteration"] / g["ms_per_iteration"])
                 if p else "(torchgfn: %s)" % " ".join(why))
        print("%-7s %5d | %9.2f %10.0f | %7.2f %8.2f %9.3f %9.2f | %9s %10s | %s"
              % ("%dD H8" % ndim, batch, g["ms_per_iteration"],
                 g["trajectories_per_s"], s["rollout"], s["networks"],
                 s["objective"], s["optimizer"], peer_ms, peer_tps, ratio))


if __name__ == "__main__":
    main()
