#!/usr/bin/env python
"""torchgfn's BitSequence with trajectory balance, on the settings of
examples/bitseq-long.gfl, reporting the same learning curve.

Same problem: 120 bits appended 4 at a time (torchgfn's BitSequence,
word_size 4), log R = -(Hamming distance to the nearest mode) / T, with the
modes replaced by examples/data/bitseq_modes.csv (torchgfn draws its own
otherwise); forward MLP 2x256 ReLU on a one-hot of each word (30 x 17
inputs, the word or "empty"; gfl feeds a one-hot of each bit and of the
length, 391 inputs), uniform P_B (each state has one parent), learned log Z,
Adam lr 1e-3 (log Z 0.1), epsilon 0.05 exploration is not used here (torchgfn
samples on-policy).

Every --eval-every iterations it prints one JSON line: the Spearman and
Pearson correlation of log P_T(x) with log R(x) over the test set
(examples/data/bitseq_tests.csv; with one parent per state, log P_T(x) is
log P_F of the one trajectory to x, computed exactly), modes found within
Hamming distance --within of the reference modes among all terminal states
sampled so far, and the wall time. Exit status 3: torchgfn cannot be
imported.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "examples", "data")


def read_rows(name):
    rows = []
    for line in open(os.path.join(DATA, name)):
        if line.strip() and not line.startswith("#"):
            rows.append([int(v) for v in line.split(",")][:-1])  # drop len
    return rows


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = 0.5 * (i + j) + 1
        i = j + 1
    return r


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    return sab / (saa * sbb) ** 0.5 if saa > 0 and sbb > 0 else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iterations", type=int, default=2000)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--within", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    try:
        import torch
        from gfn.estimators import DiscretePolicyEstimator
        from gfn.gflownet import TBGFlowNet
        from gfn.gym import BitSequence
        from gfn.preprocessors import Preprocessor
        from gfn.utils.modules import MLP
    except ImportError as e:
        print("torchgfn_bitseq: cannot import torchgfn: %s" % e, file=sys.stderr)
        sys.exit(3)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    env = BitSequence(word_size=4, seq_size=120, n_modes=60,
                      temperature=args.temperature, seed=args.seed)
    env.modes = torch.tensor(read_rows("bitseq_modes.csv"), dtype=torch.long)
    words = env.words_per_seq

    class WordOneHot(Preprocessor):
        def __init__(self):
            super().__init__(output_dim=words * 17)

        def preprocess(self, states):
            t = states.tensor.long().clamp(min=-1) + 1  # -1 (empty) -> 0
            return torch.nn.functional.one_hot(t.clamp(max=16), 17).flatten(-2).float()

    pre = WordOneHot()
    pf = DiscretePolicyEstimator(
        MLP(input_dim=pre.output_dim, output_dim=env.n_actions, hidden_dim=256,
            n_hidden_layers=2, activation_fn="relu"),
        env.n_actions, preprocessor=pre, is_backward=False)
    pb = DiscretePolicyEstimator.uniform(env.n_actions, preprocessor=pre) \
        if hasattr(DiscretePolicyEstimator, "uniform") else None
    gfn = TBGFlowNet(pf=pf, pb=pb, init_logZ=0.0)
    logz = list(gfn.logz_parameters())
    ids = {id(q) for q in logz}
    opt = torch.optim.Adam([
        {"params": [q for q in gfn.parameters() if q.requires_grad and id(q) not in ids], "lr": 1e-3},
        {"params": logz, "lr": 0.1}])

    tests_bits = torch.tensor(read_rows("bitseq_tests.csv"), dtype=torch.long)
    tests = env.binary_to_integers(tests_bits, 4)
    test_traj = env.trajectory_from_terminating_states(tests)
    test_log_r = (-env.hamming_distance(tests_bits, env.modes).float()
                  / args.temperature).tolist()
    found = torch.zeros(env.modes.shape[0], dtype=torch.bool)
    start = time.perf_counter()
    for it in range(1, args.iterations + 1):
        traj = gfn.sample_trajectories(env, n=args.batch, save_logprobs=True)
        loss = gfn.loss(env, traj, recalculate_all_logprobs=False)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            bits = env.integers_to_binary(traj.terminating_states.tensor.long(), 4)
            dist = (bits.unsqueeze(1) != env.modes.unsqueeze(0)).sum(-1)
            found |= (dist <= args.within).any(0)
        if it % args.eval_every == 0 or it == args.iterations:
            with torch.no_grad():
                pfs, _ = gfn.get_pfs_and_pbs(test_traj, recalculate_all_logprobs=True)
                log_pt = pfs.sum(0).tolist()
            print(json.dumps({
                "iteration": it, "loss": float(loss.detach()),
                "spearman": pearson(ranks(log_pt), ranks(test_log_r)),
                "pearson": pearson(log_pt, test_log_r),
                "modes_found": int(found.sum()), "modes_total": int(found.numel()),
                "wall_s": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    main()
