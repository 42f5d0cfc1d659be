#!/usr/bin/env python3
"""Benchmark: data-parallel training with 1, 2, ... workers (gfl-run --nproc).

Hypergrid 4D H8, trajectory balance, MLP 256x2, batch 256 (the whole batch,
split between the workers). For each number of workers prints iterations
and trajectories per second of the whole run, and what an iteration spends
waiting for the gradients summed over the workers (all-reduce plus waiting
for the slowest worker), as worker 0's --profile reports them.

On a machine with fewer cores than the workers need the point is the
overhead, not a speed-up: every worker shares the same cores (gfl-run
--nproc divides them: OMP_NUM_THREADS = cores / workers).

    python3 bench/distributed.py [--workers 1 2] [--iterations 100]

Figures, not tests: nothing here asserts a speed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--ndim", type=int, default=4)
    ap.add_argument("--height", type=int, default=8)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="gfl-bench-dist-")
    artifact = os.path.join(tmp, "hg.gflx")
    subprocess.run([os.path.join(args.bin, "gflc"),
                    os.path.join(ROOT, "examples", "hypergrid.gfl"),
                    "--set", "D=%d" % args.ndim, "--set", "H=%d" % args.height,
                    "-o", artifact], check=True)
    rows = []
    for n in args.workers:
        cmd = [os.path.join(args.bin, "gfl-run"), "train", artifact,
               "--out", os.path.join(tmp, "run%d" % n),
               "--iterations", str(args.iterations), "--batch",
               str(args.batch), "--seed", "1",
               "--set", "eval_every=1000000000", "--quiet", "--profile"]
        if n > 1:
            cmd += ["--nproc", str(n)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("gfl-run failed: " + out.stderr.strip())
        line = [l for l in out.stderr.splitlines()
                if l.startswith("profile ")][-1]
        p = json.loads(line[len("profile "):])
        final = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append((n, p, final))

    print("hypergrid %dD H%d, TB, MLP 256x2, batch %d (whole), %d iterations,"
          " %d cores" % (args.ndim, args.height, args.batch, args.iterations,
                         os.cpu_count()))
    print("%7s | %8s %8s %10s | %11s %9s %9s | %8s" % (
        "workers", "ms/it", "it/s", "traj/s", "allreduce", "rollout",
        "networks", "l1"))
    base = rows[0][1]["ms_per_iteration"]
    for n, p, final in rows:
        ms = p["ms_per_iteration"]
        s = p["split_ms"]
        print("%7d | %8.2f %8.1f %10.0f | %8.2f ms %9.2f %9.2f | %8.4f"
              "   (%.2fx the first row's time)"
              % (n, ms, 1e3 / ms, args.batch * 1e3 / ms, s["allreduce"],
                 s["rollout"], s["networks"], final["l1"] or float("nan"),
                 ms / base))


if __name__ == "__main__":
    main()
