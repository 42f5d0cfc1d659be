#!/usr/bin/env python3
"""Benchmark: modes found on a hard hypergrid by gfl's samplers and torchgfn.

On the 4D H16 hypergrid with R0 = 1e-3, R1 = 0.5, R2 = 2.0 (65536 states,
16 modes: the states with every coordinate at 2 or 13, reward R0+R1+R2,
in plateaus of reward R1 parted by wide regions of reward R0), trains with
trajectory balance, the same seed, batch, iterations and network (MLP 2x256
over one-hot coordinates, uniform P_B), three gfl samplers side by side:

  on_policy     on_policy(epsilon 0.0)
  replay        on-policy, and half of each batch replayed from a buffer of
                high-reward terminal states (their trajectories drawn
                backward with P_B)
  local_search  on-policy, then rounds of LS-GFN local search (backtrack K
                steps with P_B, rebuild with P_F, keep the proposal when
                its reward is no lower),
                trained on the originals and the refined batch

and prints, every --eval-every iterations, the number of modes found so far
(among the terminal states of every training batch), then each sampler's
final L1 (exact, over the grid), log Z and ms per iteration. The variants
are examples/hypergrid-replay-ls.gfl with its sampler block replaced,
compiled with gflc (the commands are printed in the header).

Where torchgfn imports (give its Python with --peer-python, default: this
interpreter), bench/torchgfn_local_search.py runs its on-policy Sampler and
LocalSearchSampler at the same settings in the same run, and their columns
are printed beside gfl's.

    python3 bench/samplers.py [--iterations 2000] [--peer-python PY]

Both trainers run with --threads intra-op threads (default 1, through
OMP_NUM_THREADS): on a small, shared CPU, libtorch's spinning worker
threads can make an iteration tens of times slower than one thread does.

A figure, not a test: nothing here asserts a count or a speed, and one seed
says little about a sampler.
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
SOURCE = os.path.join(ROOT, "examples", "hypergrid-replay-ls.gfl")
PEER = os.path.join(ROOT, "bench", "torchgfn_local_search.py")

# The hard hypergrid: params of the .gfl file.
NDIM, HEIGHT, R0, R1, R2 = 4, 16, 0.001, 0.5, 2.0
PARAMS = {"D": NDIM, "H": HEIGHT, "R0": R0, "R1": R1, "R2": R2}


def sampler_blocks(args):
    """The sampler block of each gfl variant, by name, in table order."""
    on_policy = "on_policy(epsilon 0.0)"
    return [
        ("on_policy", [on_policy]),
        ("replay", [on_policy,
                    "replay(capacity %d, fraction %g, priority reward, "
                    "insert new)" % (args.replay_capacity,
                                     args.replay_fraction)]),
        ("local_search", [on_policy,
                          "local_search(backtrack %d, rounds %d, accept %s, "
                          "keep_originals true)" % (args.backtrack,
                                                    args.rounds,
                                                    args.accept)]),
    ]


def with_sampler(source, stages):
    """`source` with its `sampler { ... }` block replaced by `stages`."""
    start = source.find("sampler {")
    if start < 0:
        sys.exit("no 'sampler {' block in %s" % SOURCE)
    end = source.find("}", start)  # stages hold no braces
    if end < 0:
        sys.exit("unterminated sampler block in %s" % SOURCE)
    indent = " " * (start - source.rfind("\n", 0, start) - 1)
    block = "sampler {\n%s\n%s}" % (
        "\n".join(indent + "  " + s for s in stages), indent)
    return source[:start] + block + source[end + 1:]


def show(cmd):
    return " ".join(shlex.quote(c) for c in cmd)


def compile_variant(args, name, stages, tmp):
    """Writes and compiles one variant; returns (artifact, gflc command)."""
    with open(SOURCE) as f:
        source = f.read()
    gfl = os.path.join(tmp, "hypergrid-%s.gfl" % name)
    with open(gfl, "w") as f:
        f.write(with_sampler(source, stages))
    artifact = os.path.join(tmp, "hypergrid-%s.gflx" % name)
    cmd = [os.path.join(args.bin, "gflc"), gfl, "-o", artifact]
    for key, value in PARAMS.items():
        cmd += ["--set", "%s=%s" % (key, value)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("gflc failed on %s: %s" % (gfl, out.stderr.strip()))
    return artifact, cmd


def gfl_train_command(args, artifact, workdir):
    return [os.path.join(args.bin, "gfl-run"), "train", artifact,
            "--out", workdir, "--quiet", "--profile",
            "--iterations", str(args.iterations), "--batch", str(args.batch),
            "--seed", str(args.seed),
            "--set", "eval_every=%d" % args.eval_every]


def thread_env(args):
    """The environment of both trainers: --threads intra-op threads."""
    env = dict(os.environ)
    if args.threads > 0:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(args.threads)
    return env


def thread_prefix(args):
    """What thread_env sets, as a command's prefix for the header."""
    if args.threads <= 0:
        return []
    return ["OMP_NUM_THREADS=%d" % args.threads,
            "MKL_NUM_THREADS=%d" % args.threads]


def gfl_train(args, cmd, workdir):
    """Runs gfl-run; returns (metrics by iteration, profile)."""
    out = subprocess.run(cmd, capture_output=True, text=True,
                         env=thread_env(args))
    if out.returncode != 0:
        sys.exit("gfl-run failed: %s\n  %s" % (out.stderr.strip(), show(cmd)))
    lines = [l for l in out.stderr.splitlines() if l.startswith("profile ")]
    if not lines:
        sys.exit("gfl-run printed no profile: %s" % show(cmd))
    profile = json.loads(lines[-1][len("profile "):])
    metrics = {}
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        for line in f:
            if line.strip():
                m = json.loads(line)
                metrics[m["iteration"]] = m
    return metrics, profile


def peer_command(args, sampler):
    cmd = [args.peer_python, PEER, "--sampler", sampler,
           "--ndim", str(NDIM), "--height", str(HEIGHT),
           "--r0", str(R0), "--r1", str(R1), "--r2", str(R2),
           "--batch", str(args.batch), "--iterations", str(args.iterations),
           "--eval-every", str(args.eval_every), "--seed", str(args.seed),
           "--backtrack", str(args.backtrack), "--rounds", str(args.rounds),
           "--accept", args.accept, "--keep-originals", "true"]
    if args.threads > 0:
        cmd += ["--threads", str(args.threads)]
    return cmd


def peer_train(args, cmd):
    """Runs the peer: (metrics by iteration, summary), or (None, why not)."""
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env=thread_env(args))
    if proc.returncode == 3:
        return None, "unavailable (cannot import gfn with %s)" % cmd[0]
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1:] or ["no message"]
        return None, "failed (exit %d): %s" % (proc.returncode, last[0])
    metrics, summary = {}, None
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            m = json.loads(line)
            if m.get("summary"):
                summary = m
            else:
                metrics[m["iteration"]] = m
    if summary is None:
        return None, "failed: no summary line"
    return metrics, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--replay-capacity", type=int, default=10000)
    ap.add_argument("--replay-fraction", type=float, default=0.5)
    ap.add_argument("--backtrack", type=int, default=8,
                    help="local search: steps undone with P_B")
    ap.add_argument("--rounds", type=int, default=2,
                    help="local search: rounds per batch")
    ap.add_argument("--accept", choices=["greedy", "mh"], default="greedy",
                    help="local search: acceptance")
    ap.add_argument("--threads", type=int, default=1,
                    help="intra-op threads of both trainers (OMP_NUM_THREADS;"
                    " 0: each library's default)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"),
                    help="where gflc and gfl-run are")
    ap.add_argument("--peer-python", default=sys.executable,
                    help="a Python where torchgfn imports")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--keep", action="store_true",
                    help="keep the .gfl variants, artifacts and metrics")
    args = ap.parse_args()
    for name in ("iterations", "batch", "eval_every", "backtrack", "rounds"):
        if getattr(args, name) < 1:
            ap.error("--%s must be >= 1" % name.replace("_", "-"))

    began = time.time()
    tmp = tempfile.mkdtemp(prefix="gfl-samplers-")
    columns = []  # (label, metrics by iteration, summary dict)
    commands = []
    blocks = sampler_blocks(args)
    for name, stages in blocks:
        artifact, compile_cmd = compile_variant(args, name, stages, tmp)
        workdir = os.path.join(tmp, "run-" + name)
        cmd = gfl_train_command(args, artifact, workdir)
        commands += [compile_cmd, thread_prefix(args) + cmd]
        print("training gfl %s ..." % name, file=sys.stderr, flush=True)
        metrics, profile = gfl_train(args, cmd, workdir)
        last = metrics[max(metrics)]
        columns.append(("gfl " + name, metrics, {
            "l1": last["l1"], "logz": last["logz"],
            "ms_per_iteration": profile["ms_per_iteration"],
            # gfl-run's profile counts `batch` trajectories an iteration;
            # keep_originals local search trains on twice as many.
            "trajectories_per_iteration":
                args.batch * (2 if name == "local_search" else 1),
            "sampler": last.get("sampler")}))

    peer_notes = ["torchgfn: skipped (--no-peer)"] if args.no_peer else []
    for sampler in () if args.no_peer else ("on_policy", "local_search"):
        cmd = peer_command(args, sampler)
        commands.append(thread_prefix(args) + cmd)
        print("training torchgfn %s ..." % sampler, file=sys.stderr,
              flush=True)
        metrics, summary = peer_train(args, cmd)
        if metrics is None:
            if summary.startswith("unavailable"):
                peer_notes.append("torchgfn: " + summary)
                break
            peer_notes.append("torchgfn %s: %s" % (sampler, summary))
            continue
        last = metrics[max(metrics)]
        columns.append(("torchgfn " + sampler, metrics, {
            "l1": last["l1"], "logz": last["logz"],
            "ms_per_iteration": summary["ms_per_iteration"],
            "trajectories_per_iteration":
                summary["trajectories_per_iteration"]}))
        version = "torchgfn %s, torch %s, %d threads" % (
            summary["version"], summary["torch_version"], summary["threads"])
        if version not in peer_notes:
            peer_notes.append(version)

    print("Modes found: %dD H%d hypergrid, R0=%g R1=%g R2=%g (%d states, "
          "%d modes), trajectory balance, MLP 2x256, batch %d, %d "
          "iterations, seed %d, cpu, %s"
          % (NDIM, HEIGHT, R0, R1, R2, HEIGHT ** NDIM, 2 ** NDIM, args.batch,
             args.iterations, args.seed,
             "OMP_NUM_THREADS=%d" % args.threads if args.threads > 0
             else "default threads"))
    print("gfl samplers (sampler block of each variant):")
    for name, stages in blocks:
        print("  %-13s %s" % (name, "; ".join(stages)))
    for note in peer_notes:
        print(note)
    if any(label.startswith("torchgfn") for label, _, _ in columns):
        print("torchgfn samplers: on_policy = Sampler(pf), epsilon 0; "
              "local_search = LocalSearchSampler.local_search, backtrack %d, "
              "%d rounds, accept %s, trained with the originals"
              % (args.backtrack, args.rounds, args.accept))
    print("commands:")
    for cmd in commands:
        print("  " + show(cmd))
    print()

    width = max(14, max(len(label) for label, _, _ in columns))
    print("%9s | %s" % ("iteration", " ".join(
        "%*s" % (width, label) for label, _, _ in columns)))
    iterations = sorted(set().union(*(m.keys() for _, m, _ in columns)))
    for it in iterations:
        cells = []
        for _, metrics, _ in columns:
            m = metrics.get(it)
            cells.append("%*s" % (width, "%d/%d" % (
                m["modes_found"], m["modes_total"]) if m else "-"))
        print("%9d | %s" % (it, " ".join(cells)))
    print()
    rows = [("L1", lambda s: "%.3f" % s["l1"]),
            ("log Z", lambda s: "%.2f" % s["logz"]),
            ("ms/iteration", lambda s: "%.2f" % s["ms_per_iteration"]),
            ("traj/iteration",
             lambda s: "%.0f" % s["trajectories_per_iteration"])]
    for title, cell in rows:
        print("%-14s | %s" % (title, " ".join(
            "%*s" % (width, cell(s)) for _, _, s in columns)))
    logz_true = columns[0][1][max(columns[0][1])].get("logz_true")
    if logz_true is not None:
        print("(true log Z %.2f; L1 is sum |P_T(x) - R(x)/Z| over the grid, "
              "at most 2; ms/iteration: training only, evaluations not "
              "timed)" % logz_true)
    for label, _, s in columns:
        if s.get("sampler"):
            print("%s sampler at the end: %s" % (label,
                                                 json.dumps(s["sampler"])))
    print("%.0f s in all" % (time.time() - began))
    if args.keep:
        print("files kept in " + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
