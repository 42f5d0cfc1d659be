#!/usr/bin/env python3
"""Benchmark: gfl's RL update rules sql and ppo on hypergrid, beside peers.

Trains test/Runtime/Inputs/hypergrid_rl.gfl (pf MLP 2x256 over one-hot
coordinates, uniform P_B, a value MLP 2x256, target polyak(tau 0.25), Adam
lr 1e-3) on 2D H8 and 4D H8 with the entropy-regularized rules (soft = 1,
so the learned policy is the GFlowNet sampler), at the same batch, seed
and number of iterations, in three gfl variants:

  sql            the program as it is, `--set train.objective=sql` (soft
                 Q-learning; the value head is declared but sql reads no
                 value);
  sql, pf only   the same without the `value = mlp(...)` line: Q-network
                 and its Polyak target only, as a SoftDQN;
  ppo            `objective ppo` with `epochs 4` and `minibatches 4` in the
                 train block: 16 Adam steps per batch.

and prints ms per iteration (gfl-run's profile, evaluations not timed) and
the exact L1 of the final policy (sum over the grid of |P_T(x) - R(x)/Z|,
from metrics.jsonl: one evaluation, at the end).

Peers, in the same run where they import (else their column says why):

  torchgfn  bench/torchgfn_rules.py under --peer-python: the torchgfn
            release has neither PPO nor soft Q-learning, so the sql row gets
            its DBGFlowNet (detailed balance with a log-flow MLP 2x256, the
            transition-level rule SoftDQN is equivalent to) and the ppo row
            its TBGFlowNet (trajectory balance, one step per batch), or its
            EntPPOGFlowNet where that torchgfn has it;
  torchgfn  with --torchgfn-src DIR (a torchgfn source tree, e.g. its git
  (src)     main, whose gfn.gflownet.policy_gradient has EntPPOGFlowNet;
            put first on PYTHONPATH under --peer-python): the ppo row with
            Ent-PPO set up as gfl's ppo (GAE lambda 0.95, clip 0.2, value
            weight 0.5, 4 epochs x 4 minibatches, no KL term);
  gfnx      bench/gfnx_rules.py under --gfnx-python: gfnx (JAX) ships no
            SoftDQN in its package (its repository has a baseline script)
            and no PPO; that script is a SoftDQN on gfnx's public API, set
            up as `sql, pf only`, jitted, on CPU.

The ratio columns are peer ms / gfl ms (above 1: gfl is faster).

    python3 bench/rules.py [--iterations 200] [--peer-python PY]
        [--torchgfn-src DIR] [--gfnx-python PY]

Every trainer runs with --threads intra-op threads (default 1: on a small
shared CPU, spinning worker threads distort the figures), one at a time.
A figure, not a test: nothing here asserts a speed or an L1, and one seed
over a few hundred iterations says little about a rule's accuracy.
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "test", "Runtime", "Inputs", "hypergrid_rl.gfl")
TORCHGFN = os.path.join(ROOT, "bench", "torchgfn_rules.py")
GFNX = os.path.join(ROOT, "bench", "gfnx_rules.py")

HEIGHT = 8
# (row label, objective, train-block lines added, drop the value head)
RULES = [
    ("sql", "sql", [], False),
    ("sql, pf only", "sql", [], True),
    ("ppo", "ppo", ["epochs 4", "minibatches 4"], False),
]


def show(cmd):
    return " ".join(shlex.quote(c) for c in cmd)


def variant_source(objective, extra, drop_value):
    """hypergrid_rl.gfl with its objective (and train lines) replaced."""
    with open(SOURCE) as f:
        source = f.read()
    old = "  objective sql\n"
    if old not in source:
        sys.exit("no '%s' line in %s" % (old.strip(), SOURCE))
    new = "".join("  %s\n" % l for l in ["objective " + objective] + extra)
    source = source.replace(old, new, 1)
    if drop_value:
        lines = source.splitlines(True)
        kept = [l for l in lines if not l.lstrip().startswith("value ")]
        if len(kept) != len(lines) - 1:
            sys.exit("no single 'value = ...' line in %s" % SOURCE)
        source = "".join(kept)
    return source


def thread_env(args, pythonpath=None):
    env = dict(os.environ)
    if args.threads > 0:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(args.threads)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(
            [pythonpath] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH")
                            else []))
    return env


def thread_prefix(args, pythonpath=None):
    prefix = []
    if args.threads > 0:
        prefix += ["OMP_NUM_THREADS=%d" % args.threads,
                   "MKL_NUM_THREADS=%d" % args.threads]
    if pythonpath:
        prefix.append("PYTHONPATH=" + pythonpath)
    return prefix


def gfl(args, tmp, ndim, label, objective, extra, drop_value, commands):
    """Compiles and trains one gfl variant: {ms_per_iteration, l1, ...}."""
    name = "%s%s_D%d" % (objective, "_pf" if drop_value else "", ndim)
    gfl_path = os.path.join(tmp, name + ".gfl")
    with open(gfl_path, "w") as f:
        f.write(variant_source(objective, extra, drop_value))
    artifact = os.path.join(tmp, name + ".gflx")
    compile_cmd = [os.path.join(args.bin, "gflc"), gfl_path,
                   "--set", "D=%d" % ndim, "--set", "H=%d" % HEIGHT,
                   "-o", artifact]
    out = subprocess.run(compile_cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("gflc failed: %s\n  %s" % (out.stderr.strip(),
                                            show(compile_cmd)))
    workdir = os.path.join(tmp, "run-" + name)
    cmd = [os.path.join(args.bin, "gfl-run"), "train", artifact,
           "--out", workdir, "--quiet", "--profile",
           "--iterations", str(args.iterations), "--batch", str(args.batch),
           "--seed", str(args.seed), "--set", "eval_every=1000000000"]
    commands += [compile_cmd, thread_prefix(args) + cmd]
    print("training gfl %s, %dD ..." % (label, ndim), file=sys.stderr,
          flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True,
                         env=thread_env(args))
    if out.returncode != 0:
        sys.exit("gfl-run failed: %s\n  %s" % (out.stderr.strip(), show(cmd)))
    lines = [l for l in out.stderr.splitlines() if l.startswith("profile ")]
    if not lines:
        sys.exit("gfl-run printed no profile: %s" % show(cmd))
    profile = json.loads(lines[-1][len("profile "):])
    last = None
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        for line in f:
            if line.strip():
                last = json.loads(line)
    if last is None or last.get("l1") is None:
        sys.exit("no final l1 in %s/metrics.jsonl" % workdir)
    return {"ms_per_iteration": profile["ms_per_iteration"],
            "split_ms": profile.get("split_ms", {}), "l1": last["l1"],
            "mean_reward": last.get("mean_reward")}


class Peer:
    """One peer column: a script under a Python, and what it printed."""

    def __init__(self, key, title, python, script, pythonpath=None):
        self.key, self.title = key, title
        self.python, self.script, self.pythonpath = python, script, pythonpath
        self.unavailable = None  # why, once it exits 3
        self.notes = []

    def run(self, args, ndim, extra, commands):
        """The peer's JSON, or (None, why not)."""
        if self.unavailable:
            return None, self.unavailable
        cmd = [self.python, self.script, "--ndim", str(ndim),
               "--height", str(HEIGHT), "--batch", str(args.batch),
               "--iterations", str(args.iterations), "--seed",
               str(args.seed)] + extra
        if args.threads > 0:
            cmd += ["--threads", str(args.threads)]
        commands.append(thread_prefix(args, self.pythonpath) + cmd)
        print("training %s %s, %dD ..." % (self.key, " ".join(extra), ndim),
              file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env=thread_env(args, self.pythonpath))
        if proc.returncode == 3:
            last = proc.stderr.strip().splitlines()[-1:] or ["exit 3"]
            self.unavailable = "unavailable: " + last[0]
            return None, self.unavailable
        if proc.returncode != 0:
            last = proc.stderr.strip().splitlines()[-1:] or ["no message"]
            return None, "failed (exit %d): %s" % (proc.returncode, last[0])
        lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
        if not lines:
            return None, "failed: printed no result"
        return json.loads(lines[-1]), None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=200,
                    help="timed training iterations of every trainer")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dims", default="2,4",
                    help="hypergrid dimensions, H = 8 (default 2,4)")
    ap.add_argument("--threads", type=int, default=1,
                    help="intra-op threads of every trainer (0: each "
                    "library's default)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"),
                    help="where gflc and gfl-run are")
    ap.add_argument("--peer-python", default=sys.executable,
                    help="a Python where torchgfn imports")
    ap.add_argument("--torchgfn-src",
                    help="a torchgfn source tree (its src/ folder, holding "
                    "gfn/) with EntPPOGFlowNet, for a second torchgfn column")
    ap.add_argument("--torchgfn-src-label", default="torchgfn src",
                    help="title of that column")
    ap.add_argument("--gfnx-python", default=sys.executable,
                    help="a Python where gfnx and jax import")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--keep", action="store_true",
                    help="keep the .gfl variants, artifacts and metrics")
    args = ap.parse_args()
    for name in ("iterations", "batch"):
        if getattr(args, name) < 1:
            ap.error("--%s must be >= 1" % name)
    if args.batch % 4:
        ap.error("--batch must be a multiple of 4 (ppo's minibatches)")
    try:
        dims = [int(d) for d in args.dims.split(",")]
    except ValueError:
        ap.error("--dims: comma-separated integers")

    began = time.time()
    tmp = tempfile.mkdtemp(prefix="gfl-rules-")
    commands = []
    peers = []
    if not args.no_peers:
        peers.append(Peer("torchgfn", "torchgfn", args.peer_python, TORCHGFN))
        if args.torchgfn_src:
            peers.append(Peer("torchgfn-src", args.torchgfn_src_label,
                              args.peer_python, TORCHGFN,
                              os.path.abspath(args.torchgfn_src)))
        peers.append(Peer("gfnx", "gfnx", args.gfnx_python, GFNX))
    by_key = {p.key: p for p in peers}
    # What each peer runs for a row: the extra arguments, or None.
    plan = {
        ("torchgfn", "sql"): ["--rule", "sql"],
        ("torchgfn", "ppo"): ["--rule", "ppo"],
        ("torchgfn-src", "ppo"): ["--rule", "ppo", "--algo", "ent_ppo"],
        ("gfnx", "sql, pf only"): ["--rule", "sql"],
    }

    rows = []  # (ndim, label, gfl result, {peer key: (result, why)})
    for ndim in dims:
        for label, objective, extra, drop_value in RULES:
            g = gfl(args, tmp, ndim, label, objective, extra, drop_value,
                    commands)
            cells = {}
            for peer in peers:
                peer_args = plan.get((peer.key, label))
                if peer_args is not None:
                    cells[peer.key] = peer.run(args, ndim, peer_args,
                                               commands)
            rows.append((ndim, label, g, cells))

    # Versions and what each peer ran, from their results.
    for peer in peers:
        seen = set()
        for _, _, _, cells in rows:
            r, _ = cells.get(peer.key, (None, None))
            if r is None:
                continue
            if r["library"] == "torchgfn":
                v = "torchgfn %s (%s), torch %s, %d thread(s)" % (
                    r["version"], os.path.dirname(os.path.dirname(
                        r["gfn_path"])), r["torch_version"], r["threads"])
            else:
                vs = r["versions"]
                v = "gfnx %s, jax %s, jaxlib %s, optax %s, %s, %s XLA " \
                    "thread(s)" % (vs["gfnx"], vs["jax"], vs["jaxlib"],
                                   vs["optax"], r["device"],
                                   r["threads"] or "default")
            seen.add(v)
        peer.notes = sorted(seen)

    print("RL update rules on hypergrid H%d, soft (entropy-regularized), "
          "MLP 2x256, batch %d, %d iterations, seed %d, cpu, %s"
          % (HEIGHT, args.batch, args.iterations, args.seed,
             "OMP_NUM_THREADS=%d" % args.threads if args.threads > 0
             else "default threads"))
    print("gfl: %s; sql: --set train.objective=sql; sql, pf only: without "
          "the value head; ppo: objective ppo, epochs 4, minibatches 4"
          % os.path.relpath(SOURCE, ROOT))
    if not peers:
        print("peers: skipped (--no-peers)")
    for peer in peers:
        for note in peer.notes:
            print("%s: %s" % (peer.title, note))
        if peer.unavailable:
            print("%s: %s" % (peer.title, peer.unavailable))
    print("peer algorithms: db = DBGFlowNet (torchgfn has no soft "
          "Q-learning), tb = TBGFlowNet (stand-in where torchgfn has no "
          "PPO), ent_ppo = EntPPOGFlowNet without its KL term, soft_dqn = "
          "SoftDQN on gfnx's API (bench/gfnx_rules.py)")
    print("commands:")
    for cmd in commands:
        print("  " + show(cmd))
    print()

    head1 = "%-8s %-12s | %20s" % ("", "", "gfl")
    head2 = "%-8s %-12s | %9s %10s" % ("env", "rule", "ms/it", "L1")
    for peer in peers:
        head1 += " | %-36s" % peer.title[:36]
        head2 += " | %-8s %9s %7s %8s" % ("algo", "ms/it", "L1", "ratio")
    print(head1)
    print(head2)
    notes = []
    for ndim, label, g, cells in rows:
        line = "%-8s %-12s | %9.2f %10.3f" % (
            "%dD H%d" % (ndim, HEIGHT), label, g["ms_per_iteration"],
            g["l1"])
        for peer in peers:
            if peer.key not in cells:
                line += " | %-36s" % "-"
                continue
            r, why = cells[peer.key]
            if r is None:
                line += " | %-36s" % "(see below)"
                notes.append("%s, %dD %s: %s" % (peer.title, ndim, label,
                                                  why))
                continue
            line += " | %-8s %9.2f %7.3f %7.2fx" % (
                r["algo"], r["ms_per_iteration"], r["l1"],
                r["ms_per_iteration"] / g["ms_per_iteration"])
        print(line)
    for note in notes:
        print(note)
    print("(ms/it: training only, evaluations not timed; L1: sum over the "
          "grid of |P_T(x) - R(x)/Z| after the last iteration, at most 2; "
          "ratio: peer ms / gfl ms)")
    print()
    print("gfl split, ms/iteration:")
    for ndim, label, g, _ in rows:
        s = g["split_ms"]
        print("  %dD H%d %-12s %s" % (ndim, HEIGHT, label, "  ".join(
            "%s %.2f" % (k, v) for k, v in s.items())))
    print("%.0f s in all" % (time.time() - began))
    if args.keep:
        print("files kept in " + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
