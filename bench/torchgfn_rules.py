#!/usr/bin/env python
"""torchgfn's nearest equivalents of gfl's RL update rules, on hypergrid.

The peer of bench/rules.py. It only calls torchgfn's public API: the
HyperGrid environment with the original reward (R0 0.1, R1 0.5, R2 2.0),
a forward MLP 2x256 ReLU over the one-hot encoding of each coordinate
(``KHotPreprocessor``, as gfl's ``features onehot(x, H)``), a uniform
backward policy, on-policy sampling (epsilon 0), Adam lr 1e-3, and one of

  --algo ent_ppo  ``EntPPOGFlowNet`` (torchgfn's PPO, not in the 2.4.1
                  release: its git main after 2.4.1 adds
                  gfn.gflownet.policy_gradient). As gfl's ``ppo``: GAE
                  lambda 0.95, clip 0.2, a value MLP 2x256 (``logV``),
                  --epochs passes over each batch in --minibatches
                  minibatches, each step one Adam step on policy loss +
                  0.5 value loss. The analytic KL trust region of
                  Ent-PPO is off (gfl's ppo has none): --kl turns it on.
                  torchgfn's value target is GAE + V, gfl's the return.
  --algo tb       ``TBGFlowNet`` (trajectory balance, learned log Z, lr
                  0.1): one step per batch. torchgfn's stand-in for PPO
                  where it has none (an on-policy, trajectory-level rule;
                  its gradient is REINFORCE's on the soft return).
  --algo db       ``DBGFlowNet`` (detailed balance, a log-flow MLP 2x256):
                  one step per batch. torchgfn has no soft Q-learning;
                  DB is its per-transition rule, and SoftDQN is DB with
                  log F(s) = logsumexp Q(s, .) (Tiapkin et al. 2024).

``--algo auto`` (the default) picks db for ``--rule sql`` and, for ``--rule
ppo``, ent_ppo where this torchgfn has it, else tb.

One iteration = sample --batch trajectories with the current policy, then
the rule's optimizer steps; --warmup iterations run untimed first. Prints
one JSON line: the algorithm, torchgfn and torch versions, ms per
iteration and the exact L1 of the final policy (sum over the grid of
|P_T(x) - R(x)/Z|, the terminal distribution computed by dynamic
programming over the grid, as gfl-run's metric; not timed).

Exit status 3 means torchgfn (``gfn``) could not be imported, or lacks
the algorithm asked for, so that a calling script can skip this peer.
A figure, not a test.
"""

import argparse
import json
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rule", choices=["sql", "ppo"], default="ppo",
                   help="which gfl rule to stand beside")
    p.add_argument("--algo", choices=["auto", "ent_ppo", "tb", "db"],
                   default="auto")
    p.add_argument("--ndim", type=int, default=2)
    p.add_argument("--height", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--iterations", type=int, default=200,
                   help="timed iterations")
    p.add_argument("--warmup", type=int, default=5,
                   help="untimed iterations first")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=4, help="ent_ppo")
    p.add_argument("--minibatches", type=int, default=4, help="ent_ppo")
    p.add_argument("--gae-lambda", type=float, default=0.95, help="ent_ppo")
    p.add_argument("--clip-eps", type=float, default=0.2, help="ent_ppo")
    p.add_argument("--value-weight", type=float, default=0.5,
                   help="ent_ppo: weight of the value loss")
    p.add_argument("--kl", action="store_true",
                   help="ent_ppo: keep Ent-PPO's analytic KL term")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads (default: torch's)")
    args = p.parse_args(argv)
    for name in ("ndim", "height", "batch", "iterations", "epochs",
                 "minibatches"):
        if getattr(args, name) < 1:
            p.error("--%s must be >= 1" % name)
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    if args.batch % args.minibatches:
        p.error("--minibatches must divide --batch")
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
            import gfn.gflownet as gflownets
            from gfn.estimators import DiscretePolicyEstimator, ScalarEstimator
            from gfn.gym import HyperGrid
            from gfn.preprocessors import KHotPreprocessor
            from gfn.samplers import Sampler
            from gfn.utils.modules import MLP
    except Exception as exc:  # ImportError, or a broken install
        print("torchgfn_rules: cannot import torchgfn (gfn): %s: %s"
              % (type(exc).__name__, exc), file=sys.stderr)
        sys.exit(3)
    version = getattr(gfn, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version
            version = dist_version("torchgfn")
        except Exception:
            version = "unknown"
    return dict(torch=torch, version=str(version), gfn_path=gfn.__file__,
                gflownets=gflownets,
                DiscretePolicyEstimator=DiscretePolicyEstimator,
                ScalarEstimator=ScalarEstimator, HyperGrid=HyperGrid,
                KHotPreprocessor=KHotPreprocessor, Sampler=Sampler, MLP=MLP)


def choose_algo(args, api):
    has_ppo = hasattr(api["gflownets"], "EntPPOGFlowNet")
    algo = args.algo
    if algo == "auto":
        algo = "db" if args.rule == "sql" else ("ent_ppo" if has_ppo else "tb")
    if algo == "ent_ppo" and not has_ppo:
        print("torchgfn_rules: torchgfn %s (%s) has no EntPPOGFlowNet"
              % (api["version"], api["gfn_path"]), file=sys.stderr)
        sys.exit(3)
    return algo, has_ppo


def exact_l1(torch, env, pf, ndim, height):
    """sum_x |P_T(x) - R(x)/Z| for the forward policy `pf`, row-major grid."""
    H = height
    axes = [torch.arange(H)] * ndim
    coords = torch.cartesian_prod(*axes).reshape(-1, ndim)
    states = env.states_from_tensor(coords)
    with torch.no_grad():
        probs = pf.to_probability_distribution(states, pf(states)).probs
        probs = probs.double()
        reward = env.reward(states).double()
    target = reward / reward.sum()
    strides = [H ** (ndim - 1 - d) for d in range(ndim)]
    level = coords.sum(-1)
    reach = torch.zeros(H ** ndim, dtype=torch.float64)
    reach[0] = 1.0
    # A move climbs one level (sum of coordinates): levels in order are a
    # topological order of the grid.
    for lv in range(int(level.max()) + 1):
        rows = (level == lv).nonzero().reshape(-1)
        r = reach[rows]
        for d in range(ndim):
            can = coords[rows, d] < H - 1
            reach.index_add_(0, rows[can] + strides[d],
                             r[can] * probs[rows[can], d])
    end = reach * probs[:, ndim]  # the exit action is last
    return float((end - target).abs().sum())


def build(args, api, algo):
    torch = api["torch"]
    g = api["gflownets"]
    env = api["HyperGrid"](ndim=args.ndim, height=args.height,
                           reward_fn_str="original",
                           reward_fn_kwargs={"R0": 0.1, "R1": 0.5, "R2": 2.0},
                           device="cpu")
    pre = api["KHotPreprocessor"](height=args.height, ndim=args.ndim)

    def mlp(out):
        return api["MLP"](input_dim=pre.output_dim, output_dim=out,
                          hidden_dim=256, n_hidden_layers=2,
                          activation_fn="relu")

    DPE = api["DiscretePolicyEstimator"]
    pf = DPE(mlp(env.n_actions), env.n_actions, preprocessor=pre,
             is_backward=False)
    pb = DPE.uniform(env.n_actions, preprocessor=pre)
    if algo == "tb":
        gflownet = g.TBGFlowNet(pf=pf, pb=pb, init_logZ=0.0)
        logz = list(gflownet.logz_parameters())
        ids = {id(p) for p in logz}
        rest = [p for p in gflownet.parameters()
                if p.requires_grad and id(p) not in ids]
        groups = [{"params": rest, "lr": args.lr},
                  {"params": logz, "lr": 0.1}]
    elif algo == "db":
        logF = api["ScalarEstimator"](mlp(1), preprocessor=pre)
        gflownet = g.DBGFlowNet(pf=pf, pb=pb, logF=logF)
        groups = [{"params": [p for p in gflownet.parameters()
                              if p.requires_grad], "lr": args.lr}]
    else:
        logV = api["ScalarEstimator"](mlp(1), preprocessor=pre)
        gflownet = g.EntPPOGFlowNet(pf=pf, pb=pb, logV=logV,
                                    gae_lambda=args.gae_lambda,
                                    clip_eps=args.clip_eps, use_kl=args.kl,
                                    value_loss_weight=args.value_weight)
        groups = [{"params": [p for p in gflownet.parameters()
                              if p.requires_grad], "lr": args.lr}]
    return env, pf, gflownet, torch.optim.Adam(groups)


def run(args, api):
    torch = api["torch"]
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    algo, has_ppo = choose_algo(args, api)
    env, pf, gflownet, optimizer = build(args, api, algo)
    sampler = api["Sampler"](pf)
    B = args.batch
    steps = [0]

    def step(loss):
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps[0] += 1

    def iteration():
        if algo == "tb":
            # torchgfn's usual on-policy TB: log-probs kept while sampling.
            traj = sampler.sample_trajectories(env, n=B, save_logprobs=True)
            step(gflownet.loss(env, traj, recalculate_all_logprobs=False))
            return
        with torch.no_grad():
            traj = sampler.sample_trajectories(
                env, n=B, save_logprobs=False,
                save_estimator_outputs=(algo == "ent_ppo" and args.kl))
        if algo == "db":
            step(gflownet.loss(env, gflownet.to_training_samples(traj),
                               recalculate_all_logprobs=True))
            return
        batch = gflownet.to_training_samples(traj)  # frozen advantages
        for _ in range(args.epochs):
            for chunk in torch.randperm(B).chunk(args.minibatches):
                split = batch[chunk]
                step(gflownet.policy_loss(split) + args.value_weight *
                     gflownet.value_loss(env, split))

    for _ in range(args.warmup):
        iteration()
    steps[0] = 0
    start = time.perf_counter()
    for _ in range(args.iterations):
        iteration()
    total = time.perf_counter() - start
    return {
        "library": "torchgfn", "version": api["version"],
        "gfn_path": api["gfn_path"], "torch_version": torch.__version__,
        "has_ent_ppo": has_ppo, "rule": args.rule, "algo": algo,
        "kl": bool(args.kl) if algo == "ent_ppo" else None,
        "ndim": args.ndim, "height": args.height, "batch": B,
        "iterations": args.iterations, "warmup": args.warmup,
        "optimizer_steps_per_iteration": steps[0] / args.iterations,
        "threads": torch.get_num_threads(),
        "ms_per_iteration": 1000.0 * total / args.iterations,
        "l1": exact_l1(torch, env, pf, args.ndim, args.height),
    }


def main(argv=None):
    args = parse_args(argv)
    api = import_torchgfn()
    print(json.dumps(run(args, api)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
