#!/usr/bin/env python
"""Modes found by torchgfn on a hard hypergrid: on-policy vs. local search.

The peer of bench/samplers.py. It only calls torchgfn's public API: the
HyperGrid environment with the original reward (R0, R1, R2 given), a
forward MLP 2x256 ReLU over the one-hot encoding of each coordinate
(``KHotPreprocessor``, as gfl's ``features onehot(x, H)``), a uniform
backward policy, trajectory balance with a learned log Z, Adam (lr 1e-3,
log Z 0.1). The batch is drawn with either

  --sampler on_policy     ``Sampler`` (the forward policy, epsilon 0),
                          log-probs saved while sampling;
  --sampler local_search  ``LocalSearchSampler``: B trajectories on-policy,
                          then --rounds rounds of its ``local_search``
                          (backtrack K steps with P_B, rebuild with P_F,
                          keep the proposal greedily, --accept greedy, or
                          by Metropolis-Hastings, --accept mh), each round
                          from the trajectories the last one kept. The
                          batch trained on is the refined B and, with
                          --keep-originals true (the default), the B
                          originals too: gfl's local_search(...,
                          keep_originals true). The loss recomputes the
                          log-probs.

The rounds are driven here, through ``LocalSearchSampler.local_search``,
rather than by ``LocalSearchSampler.sample_trajectories(...,
n_local_search_loops=R, back_steps=K)``: in torchgfn 2.4.1 that call fails
on any trajectory with fewer than K moves (it clamps K to the number of
actions, exit included, and gathers at index -1), which early in training
is most of them; here K is clamped to each trajectory's moves, as gfl does.
That call would also train on every round's proposals, accepted or not.

Every --eval-every iterations it prints one JSON line: the iteration,
``modes_found`` (how many of the 2^D reward modes, the states whose reward
is at least R0 + R1 + R2, are among the terminal states of every training
batch so far), ``l1`` (sum over the grid of |P_T(x) - R(x)/Z|, the exact
terminal distribution of the forward policy computed by dynamic
programming over the grid, as gfl-run's metric), the learned log Z and the
loss. A last line has ``"summary": true``, the torchgfn version and the
milliseconds per training iteration (sampling, loss, backward, optimizer
step; evaluation is not timed).

Exit status 3 means torchgfn (``gfn``) could not be imported, so that a
calling script can skip this peer. A figure, not a test.
"""

import argparse
import json
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sampler", choices=["on_policy", "local_search"],
                   default="on_policy")
    p.add_argument("--ndim", type=int, default=4)
    p.add_argument("--height", type=int, default=16)
    p.add_argument("--r0", type=float, default=1e-3)
    p.add_argument("--r1", type=float, default=0.5)
    p.add_argument("--r2", type=float, default=2.0)
    p.add_argument("--batch", type=int, default=16,
                   help="trajectories drawn on-policy per iteration")
    p.add_argument("--iterations", type=int, default=1000)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--backtrack", type=int, default=8,
                   help="local search: backward steps K")
    p.add_argument("--rounds", type=int, default=2,
                   help="local search: rounds (n_local_search_loops)")
    p.add_argument("--accept", choices=["greedy", "mh"], default="greedy")
    p.add_argument("--keep-originals", choices=["true", "false"],
                   default="true",
                   help="local search: train on the originals too")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads (default: torch's)")
    args = p.parse_args(argv)
    for name in ("ndim", "height", "batch", "iterations", "eval_every",
                 "backtrack", "rounds"):
        if getattr(args, name) < 1:
            p.error("--%s must be >= 1" % name.replace("_", "-"))
    return args


def import_torchgfn():
    """The torchgfn pieces used here; exits with status 3 when unavailable."""
    import warnings

    try:
        import torch

        with warnings.catch_warnings():
            # torch_geometric, imported by gfn, calls the deprecated
            # torch.jit.script at import time.
            warnings.simplefilter("ignore", FutureWarning)
            import gfn
            from gfn.estimators import DiscretePolicyEstimator
            from gfn.gflownet import TBGFlowNet
            from gfn.gym import HyperGrid
            from gfn.preprocessors import KHotPreprocessor
            from gfn.samplers import LocalSearchSampler, Sampler
            from gfn.utils.modules import MLP
    except Exception as exc:  # ImportError, or a broken install
        print("torchgfn_local_search: cannot import torchgfn (gfn): %s: %s"
              % (type(exc).__name__, exc), file=sys.stderr)
        sys.exit(3)
    version = getattr(gfn, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version
            version = dist_version("torchgfn")
        except Exception:
            version = "unknown"
    return dict(torch=torch, version=str(version),
                DiscretePolicyEstimator=DiscretePolicyEstimator,
                TBGFlowNet=TBGFlowNet, HyperGrid=HyperGrid,
                KHotPreprocessor=KHotPreprocessor,
                LocalSearchSampler=LocalSearchSampler, Sampler=Sampler,
                MLP=MLP)


class Grid:
    """Every state of the grid, its reward, the modes, and the exact L1."""

    def __init__(self, api, env, ndim, height, mode_reward):
        torch = api["torch"]
        self.torch = torch
        self.env = env
        self.ndim, self.height = ndim, height
        axes = [torch.arange(height)] * ndim
        # Row-major: the flat position of x is sum_d x_d H^(D-1-d), which is
        # also HyperGrid.get_states_indices.
        coords = torch.cartesian_prod(*axes).reshape(-1, ndim)
        self.states = env.states_from_tensor(coords)
        self.index = env.get_states_indices(self.states)
        reward = env.reward(self.states).double()
        target = torch.zeros(height ** ndim, dtype=torch.float64)
        target[self.index] = reward / reward.sum()
        self.target = target
        self.log_z_true = float(reward.sum().log())
        # A small tolerance: R0 + R1 + R2 in float32 against float64.
        self.mode_index = self.index[reward >= mode_reward * (1 - 1e-6)]
        self.seen = torch.zeros(height ** ndim, dtype=torch.bool)
        # States by level (sum of coordinates): a trajectory climbs one level
        # per step, so the levels in order are a topological order.
        level = coords.sum(-1)
        self.levels = [(self.index[level == l], coords[level == l])
                       for l in range(int(level.max()) + 1)]

    def mark(self, terminal_states):
        self.seen[self.env.get_states_indices(terminal_states)] = True

    def modes_found(self):
        return int(self.seen[self.mode_index].sum())

    def l1(self, pf):
        """sum_x |P_T(x) - R(x)/Z| for the forward policy `pf`."""
        torch = self.torch
        H = self.height
        with torch.no_grad():
            probs_in_order = pf.to_probability_distribution(
                self.states, pf(self.states)).probs.double()
            probs = torch.empty_like(probs_in_order)
            probs[self.index] = probs_in_order
            reach = torch.zeros(H ** self.ndim, dtype=torch.float64)
            reach[0] = 1.0
            strides = [H ** (self.ndim - 1 - d) for d in range(self.ndim)]
            for rows, coords in self.levels:
                r = reach[rows]
                for d in range(self.ndim):
                    can = coords[:, d] < H - 1  # else masked
                    reach.index_add_(0, rows[can] + strides[d],
                                     r[can] * probs[rows[can], d])
            end = reach * probs[:, self.ndim]  # the exit action is last
            return float((end - self.target).abs().sum())


def build(api, args):
    torch = api["torch"]
    env = api["HyperGrid"](
        ndim=args.ndim, height=args.height, reward_fn_str="original",
        reward_fn_kwargs={"R0": args.r0, "R1": args.r1, "R2": args.r2},
        device="cpu")
    preprocessor = api["KHotPreprocessor"](height=args.height, ndim=args.ndim)
    DPE = api["DiscretePolicyEstimator"]
    pf = DPE(api["MLP"](input_dim=preprocessor.output_dim,
                        output_dim=env.n_actions, hidden_dim=256,
                        n_hidden_layers=2, activation_fn="relu"),
             env.n_actions, preprocessor=preprocessor, is_backward=False)
    pb = DPE.uniform(env.n_actions, preprocessor=preprocessor)
    gflownet = api["TBGFlowNet"](pf=pf, pb=pb, init_logZ=0.0)
    logz = list(gflownet.logz_parameters())
    logz_ids = {id(p) for p in logz}
    policy = [p for p in gflownet.parameters()
              if p.requires_grad and id(p) not in logz_ids]
    optimizer = torch.optim.Adam([{"params": policy, "lr": 1e-3},
                                  {"params": logz, "lr": 0.1}])
    return env, pf, pb, gflownet, optimizer


def run(args, api):
    torch = api["torch"]
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    env, pf, pb, gflownet, optimizer = build(api, args)
    grid = Grid(api, env, args.ndim, args.height, args.r0 + args.r1 + args.r2)
    local_search = args.sampler == "local_search"
    if local_search:
        sampler = api["LocalSearchSampler"](pf_estimator=pf, pb_estimator=pb)
    else:
        sampler = api["Sampler"](pf)
    mh = args.accept == "mh"
    keep_originals = args.keep_originals == "true"

    def refine(originals):
        """`args.rounds` rounds of local search from `originals`."""
        current = originals
        for _ in range(args.rounds):
            # terminating_idx counts the exit action: the moves are one less.
            moves = current.terminating_idx - 1
            back_steps = moves.clamp(max=args.backtrack)
            proposals, accepted = sampler.local_search(
                env, current, back_steps=back_steps,
                use_metropolis_hastings=mh)
            kept = current[~accepted]
            kept.extend(proposals[accepted])
            current = kept
        return current

    def draw():
        if not local_search:
            return sampler.sample_trajectories(env, n=args.batch,
                                               save_logprobs=True)
        with torch.no_grad():
            originals = sampler.sample_trajectories(env, n=args.batch,
                                                    save_logprobs=mh)
            refined = refine(originals)
            if keep_originals:
                originals.extend(refined)
                return originals
            return refined

    trained_s = 0.0
    trained_on = 0
    for it in range(1, args.iterations + 1):
        t0 = time.perf_counter()
        trajectories = draw()
        loss = gflownet.loss(env, trajectories,
                             recalculate_all_logprobs=local_search)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        trained_s += time.perf_counter() - t0
        trained_on += int(trajectories.batch_size)
        grid.mark(trajectories.terminating_states)
        if it % args.eval_every == 0 or it == args.iterations:
            print(json.dumps({
                "iteration": it, "modes_found": grid.modes_found(),
                "modes_total": int(grid.mode_index.numel()),
                "l1": grid.l1(pf), "loss": float(loss.detach()),
                "logz": float(gflownet.logZ.detach().reshape(-1)[0]),
                "logz_true": grid.log_z_true}), flush=True)
    print(json.dumps({
        "summary": True, "library": "torchgfn", "version": api["version"],
        "torch_version": torch.__version__, "sampler": args.sampler,
        "iterations": args.iterations, "batch": args.batch,
        "trajectories_per_iteration": trained_on / args.iterations,
        "threads": torch.get_num_threads(),
        "ms_per_iteration": 1000.0 * trained_s / args.iterations}),
        flush=True)


def main(argv=None):
    args = parse_args(argv)
    api = import_torchgfn()
    run(args, api)
    return 0


if __name__ == "__main__":
    sys.exit(main())
