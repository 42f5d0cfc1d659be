#!/usr/bin/env python3
"""Benchmark: hypergrid trajectory balance with gfl-run, beside torchgfn.

Prints ms per training iteration and trajectories per second, with gfl-run's
split into rollout, networks, objective and optimizer:

  --device cpu  (default)  2D H8 and 4D H8 at batch 16 and 128;
  --device cuda            2D H8 and 4D H32 at batch 32 and 512, beside the
                           peers' published GPU figures (reference.md),
                           with CUDA graphs (gfl-run's default) and without
                           (--cuda-graph off; the split is of that run).

Peers run at the same settings and device in the same run, each with the
same features as gfl (one-hot per coordinate): torchgfn (its
KHotPreprocessor; give its Python with --peer-python, default: this
interpreter) and, on the CPU, gfnx (JAX; its hypergrid and a TB step
through its public API, bench/gfnx_hypergrid.py; its Python with
--gfnx-python). Each prints its ratio to gfl where it imports.

Each gfl row also gives the GEMM floor measured in the same run: the same
networks' forward and backward, with the same LibTorch, over as many rows
as an iteration's states that exist (gfl-run --profile), gfl's time over
it, the rows the networks saw against the padded grid's, and gfl-run's
peak resident memory.

On a shared machine whose speed varies from minute to minute, --repeat N
runs every tool N times per setting, in turn (gfl, torchgfn, gfnx, gfl,
...), and keeps each tool's fastest run.

Artifacts are compiled with gflc, or taken from --artifacts DIR
(hg_D<d>_H<h>.gflx; scripts/gpu-prepare.sh makes them for machines without
the compiler).

    python3 bench/hypergrid.py [--device cuda] [--iterations 200]

Figures, not tests: nothing here asserts a speed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (D, H, batch) per device.
SETTINGS = {
    "cpu": [(2, 8, 16), (2, 8, 128), (4, 8, 16), (4, 8, 128)],
    "cuda": [(2, 8, 32), (2, 8, 512), (4, 32, 32), (4, 32, 512)],
}

# Published GPU ms/iteration (reference.md; not measured here):
# torchgfn and gfnx.
PUBLISHED_GPU = {
    (2, 8, 32): (33.0, 3.2),
    (2, 8, 512): (50.1, 3.4),
    (4, 32, 32): (122.0, 9.6),
    (4, 32, 512): (189.0, 18.0),
}


def artifact_for(args, ndim, height, tmp):
    name = "hg_D%d_H%d.gflx" % (ndim, height)
    if args.artifacts:
        path = os.path.join(args.artifacts, name)
        if not os.path.exists(path):
            sys.exit("no artifact %s" % path)
        return path
    path = os.path.join(tmp, name)
    subprocess.run([os.path.join(args.bin, "gflc"),
                    os.path.join(ROOT, "examples", "hypergrid.gfl"),
                    "--set", "D=%d" % ndim, "--set", "H=%d" % height,
                    "-o", path], check=True)
    return path


def gfl_run(args, artifact, batch, workdir, extra=()):
    """gfl-run's --profile JSON (peak resident memory included)."""
    out = subprocess.run(
        [os.path.join(args.bin, "gfl-run"), "train", artifact,
         "--device", args.device, "--out", workdir,
         "--iterations", str(args.iterations), "--batch", str(batch),
         "--seed", "1", "--set", "eval_every=1000000000", "--quiet",
         "--profile", *extra],
        capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("gfl-run failed: " + out.stderr.strip())
    line = [l for l in out.stderr.splitlines() if l.startswith("profile ")][-1]
    return json.loads(line[len("profile "):])


def peer(args, ndim, height, batch):
    script = os.path.join(ROOT, "bench", "torchgfn_hypergrid.py")
    proc = subprocess.run(
        [args.peer_python, script, "--ndim", str(ndim), "--height",
         str(height), "--batch", str(batch), "--iterations",
         str(args.iterations), "--device", args.device, "--json"],
        capture_output=True, text=True)
    if proc.returncode != 0:
        return None, proc.stderr.strip().splitlines()[-1:] or ["failed"]
    return json.loads(proc.stdout.strip().splitlines()[-1]), None


def gfnx(args, ndim, height, batch):
    if args.device != "cpu":
        return None, ["CPU only here"]
    script = os.path.join(ROOT, "bench", "gfnx_hypergrid.py")
    proc = subprocess.run(
        [args.gfnx_python, script, "--ndim", str(ndim), "--height",
         str(height), "--batch", str(batch), "--iterations",
         str(args.iterations)], capture_output=True, text=True)
    if proc.returncode != 0:
        return None, proc.stderr.strip().splitlines()[-1:] or ["failed"]
    return json.loads(proc.stdout.strip().splitlines()[-1]), None


def fastest(best, result):
    """The faster of two runs' results (either may be None: failed)."""
    if result is None:
        return best
    if best is None or result["ms_per_iteration"] < best["ms_per_iteration"]:
        return result
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=sorted(SETTINGS), default="cpu")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"),
                    help="where gfl-run (and gflc) are")
    ap.add_argument("--artifacts", help="prebuilt hg_D<d>_H<h>.gflx")
    ap.add_argument("--peer-python", default=sys.executable)
    ap.add_argument("--gfnx-python", default=sys.executable)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per tool and setting, in turn; the fastest "
                         "of each tool's is kept")
    args = ap.parse_args()
    if args.repeat < 1:
        sys.exit("--repeat must be at least 1")

    tmp = tempfile.mkdtemp(prefix="gfl-bench-")
    rows = []
    for ndim, height, batch in SETTINGS[args.device]:
        artifact = artifact_for(args, ndim, height, tmp)
        run = os.path.join(tmp, "run%d_%d_%d" % (ndim, height, batch))
        g = eager = p = x = None
        why = xwhy = ["skipped"]
        for _ in range(args.repeat):
            g = fastest(g, gfl_run(args, artifact, batch, run))
            if args.device == "cuda":
                eager = fastest(eager, gfl_run(args, artifact, batch,
                                               run + "_eager",
                                               ["--cuda-graph", "off"]))
            if args.no_peer:
                continue
            result, why = peer(args, ndim, height, batch)
            p = fastest(p, result)
            result, xwhy = gfnx(args, ndim, height, batch)
            x = fastest(x, result)
        if args.device != "cuda":
            eager = g
        rows.append((ndim, height, batch, g, eager, p, why, x, xwhy))

    print("hypergrid, trajectory balance, MLP 256x2, %d iterations, %s; "
          "peers with gfl's features (one-hot per coordinate)%s"
          % (args.iterations, args.device,
             "; fastest of %d runs each" % args.repeat
             if args.repeat > 1 else ""))
    gpu = args.device == "cuda"
    print("%-8s %5s | %9s %10s |%s %7s %8s %9s %9s | %6s %10s %6s %7s |%s "
          "%9s %8s | %9s %8s" % (
              "env", "batch", "gfl ms/it", "gfl traj/s",
              " no graph |" if gpu else "", "rollout", "networks",
              "objective", "optimizer", "floor", "x floor", "rows",
              "RSS MiB",
              " published ms/it: torchgfn  gfnx |" if gpu else "",
              "torchgfn", "speedup", "gfnx", "speedup"))
    for ndim, height, batch, g, eager, p, why, x, xwhy in rows:
        s = eager["split_ms"]
        ms = g["ms_per_iteration"]

        def ratio(peer_result, reasons, name):
            if not peer_result:
                return "-", "(%s: %s)" % (name, " ".join(reasons))
            return ("%.2f" % peer_result["ms_per_iteration"],
                    "%.1fx" % (peer_result["ms_per_iteration"] / ms))
        tg_ms, tg_ratio = ratio(p, why, "torchgfn")
        gx_ms, gx_ratio = ratio(x, xwhy, "gfnx")
        published = ""
        if gpu:
            published = " %26.1f %5.1f |" % PUBLISHED_GPU[(ndim, height, batch)]
        no_graph = " %8.2f |" % eager["ms_per_iteration"] if gpu else ""
        floor = g.get("gemm_floor_ms", 0)
        rows_seen = "%.0f%%" % (100.0 * g["live_rows"] / g["padded_rows"]) \
            if g.get("padded_rows") else "-"
        rss = "%.0f" % g["peak_rss_mib"] if g.get("peak_rss_mib") else "-"
        print("%-8s %5d | %9.2f %10.0f |%s %7.2f %8.2f %9.3f %9.2f | %6.2f "
              "%9.2fx %6s %7s |%s %9s %8s | %9s %8s"
              % ("%dD H%d" % (ndim, height), batch, ms,
                 g["trajectories_per_s"], no_graph, s["rollout"],
                 s["networks"], s["objective"], s["optimizer"], floor,
                 ms / floor if floor else float("nan"), rows_seen, rss,
                 published, tg_ms, tg_ratio, gx_ms, gx_ratio))
    print("floor: the networks' forward+backward over an iteration's live "
          "rows, same LibTorch, same run; rows: live rows over the padded "
          "B x (T+1) grid's")


if __name__ == "__main__":
    main()
