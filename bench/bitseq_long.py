#!/usr/bin/env python3
"""Learning curve on examples/bitseq-long.gfl (120 bits, 4 per step, 60
modes, T = 2), gfl-run beside torchgfn's BitSequence on the same modes,
test set and settings (bench/torchgfn_bitseq.py says what differs), in one
run.

Prints, every --eval-every iterations, the Spearman correlation of log P_T
with log R over the 120 test states and the modes found within Hamming
distance 20, for each trainer, and the wall time. gfl's log P_T is its
importance-sampling estimate (exact here: one parent per state); torchgfn's
is log P_F of the one trajectory. Needs gflc and gfl-run (--bin) and, for
the peer, a Python with torchgfn (--peer-python; skipped when it cannot
import torchgfn).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def gfl_curve(args, work):
    art = os.path.join(work, "bitseq-long.gflx")
    subprocess.run([os.path.join(args.bin, "gflc"),
                    os.path.join(ROOT, "examples", "bitseq-long.gfl"),
                    "-o", art], check=True)
    out = os.path.join(work, "gfl")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    subprocess.run([os.path.join(args.bin, "gfl-run"), "train", art,
                    "--out", out, "--iterations", str(args.iterations),
                    "--set", "eval_every=%d" % args.eval_every, "--quiet"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]


def peer_curve(args):
    cmd = [args.peer_python, os.path.join(HERE, "torchgfn_bitseq.py"),
           "--iterations", str(args.iterations),
           "--eval-every", str(args.eval_every), "--threads", str(args.threads)]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode == 3:
        print("torchgfn: skipped (%s)" % r.stderr.strip().splitlines()[-1])
        return None
    if r.returncode != 0:
        sys.exit("torchgfn_bitseq.py failed:\n" + r.stderr)
    return [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--peer-python", default=sys.executable)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        gfl = gfl_curve(args, work)
    peer = peer_curve(args) or []
    by_it = {m["iteration"]: m for m in peer}
    print("| iteration | gfl Spearman | gfl modes | gfl s | torchgfn Spearman "
          "| torchgfn modes | torchgfn s |")
    print("|---|---|---|---|---|---|---|")
    for m in gfl:
        p = by_it.get(m["iteration"], {})
        print("| %d | %s | %d/%d | %.1f | %s | %s | %s |" % (
            m["iteration"], fmt(m.get("est_spearman"), ".3f"),
            m["ref_modes_found"], m["ref_modes_total"], m["wall_s"],
            fmt(p.get("spearman"), ".3f"),
            "-" if not p else "%d/%d" % (p["modes_found"], p["modes_total"]),
            fmt(p.get("wall_s"), ".1f")))


if __name__ == "__main__":
    main()
