#!/usr/bin/env python
"""Time torchgfn's HyperGrid + trajectory-balance (TB) training loop (CPU or GPU).

This is a peer benchmark: it only calls torchgfn's public API, so that the
numbers can be put next to another GFlowNet trainer measured on the same
problem (HyperGrid, original reward R0=0.1, R1=0.5, R2=2.0, forward MLP 2x256
ReLU, uniform backward policy, learned log Z, Adam with
lr 1e-3 for the policy and 0.1 for log Z, on-policy sampling).

One iteration = sample B trajectories with the current forward policy,
compute the TB loss, backward, optimizer step.  Only iterations after the
warm-up are timed.  Besides the total wall time per iteration, the time spent
in each of the four phases is summed over the timed iterations.

By default the log-probabilities of the sampled actions are kept while
sampling (``save_logprobs=True``) and reused by the loss
(``recalculate_all_logprobs=False``), which is torchgfn's usual on-policy
mode: the forward-policy evaluation is then part of the "sample" phase.
With ``--recompute-logprobs`` sampling runs under ``torch.no_grad()`` and
the loss re-evaluates the forward policy on the whole batch of trajectories,
which moves that work into the "loss" phase.

Features: by default torchgfn's ``KHotPreprocessor``, a one-hot of each
coordinate (D*H inputs), the encoding gfl's hypergrid example feeds
(``onehot(x, H)``), so that both train the same network. ``--features
one-hot`` gives ``OneHotPreprocessor``, a one-hot of the whole state (H^D
inputs: 4,096 on 4D H8), which makes torchgfn's first layer far larger.

Exit status 3 means torchgfn (``gfn``) could not be imported, so that a
calling script can skip this peer.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Benchmark torchgfn HyperGrid + trajectory balance training."
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--ndim", type=int, default=2, help="grid dimension D (default 2)")
    p.add_argument("--height", type=int, default=8, help="grid height H (default 8)")
    p.add_argument("--batch", type=int, default=16, help="trajectories per iteration")
    p.add_argument("--iterations", type=int, default=200, help="timed iterations")
    p.add_argument("--warmup", type=int, default=10, help="untimed warm-up iterations")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads value (default: leave torch's default)",
    )
    p.add_argument(
        "--recompute-logprobs",
        action="store_true",
        help="sample without grad and let the loss re-evaluate log P_F "
        "(default: reuse the log-probs saved during sampling)",
    )
    p.add_argument(
        "--features",
        choices=("k-hot", "one-hot"),
        default="k-hot",
        help="k-hot: one-hot per coordinate (gfl's features, the default); "
        "one-hot: one-hot of the whole state",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per run")
    args = p.parse_args(argv)
    for name in ("ndim", "height", "batch", "iterations"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    return args


def import_torchgfn():
    """Import what is needed from torchgfn; exit with status 3 if unavailable."""
    import warnings

    try:
        import torch

        # torch_geometric (pulled in by gfn) calls the deprecated torch.jit.script
        # at import time; keep that FutureWarning out of the benchmark's output.
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r".*torch\.jit\.script.*", category=FutureWarning
            )
            import gfn
            import gfn.gflownet
            import gfn.gym
        from gfn.estimators import DiscretePolicyEstimator
        from gfn.gflownet import TBGFlowNet
        from gfn.gym import HyperGrid
        from gfn.preprocessors import KHotPreprocessor, OneHotPreprocessor
        from gfn.utils.modules import MLP
    except Exception as exc:  # ImportError, or a broken install
        print(
            f"torchgfn_hypergrid: cannot import torchgfn (gfn): "
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        sys.exit(3)
    try:
        from gfn.utils.modules import UniformModule
    except Exception:  # older releases only have DiscreteUniform
        UniformModule = None
    try:
        from gfn.utils.modules import DiscreteUniform
    except Exception:
        DiscreteUniform = None
    version = getattr(gfn, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as _v

            version = _v("torchgfn")
        except Exception:
            version = "unknown"
    return dict(
        torch=torch,
        version=str(version),
        DiscretePolicyEstimator=DiscretePolicyEstimator,
        TBGFlowNet=TBGFlowNet,
        HyperGrid=HyperGrid,
        OneHotPreprocessor=OneHotPreprocessor,
        KHotPreprocessor=KHotPreprocessor,
        MLP=MLP,
        UniformModule=UniformModule,
        DiscreteUniform=DiscreteUniform,
    )


def seed_everything(torch, seed):
    import random

    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except Exception:
        pass


def build(api, ndim, height, device="cpu", features="k-hot"):
    """Environment, TB GFlowNet and optimizer in the standard hypergrid setting."""
    torch = api["torch"]
    env = api["HyperGrid"](
        ndim=ndim,
        height=height,
        reward_fn_str="original",
        reward_fn_kwargs={"R0": 0.1, "R1": 0.5, "R2": 2.0},
        device=device,
    )
    if features == "k-hot":
        preprocessor = api["KHotPreprocessor"](height=height, ndim=ndim)
    else:
        preprocessor = api["OneHotPreprocessor"](
            n_states=env.n_states, get_states_indices=env.get_states_indices
        )

    pf_module = api["MLP"](
        input_dim=preprocessor.output_dim,
        output_dim=env.n_actions,
        hidden_dim=256,
        n_hidden_layers=2,
        activation_fn="relu",
    )
    pf = api["DiscretePolicyEstimator"](
        pf_module, env.n_actions, preprocessor=preprocessor, is_backward=False
    )

    # Uniform P_B: constant (zero) logits over the n_actions - 1 backward actions,
    # masked to the valid parents by the estimator.
    DPE = api["DiscretePolicyEstimator"]
    if hasattr(DPE, "uniform"):
        pb = DPE.uniform(env.n_actions, preprocessor=preprocessor)
    elif api["UniformModule"] is not None:
        pb = DPE(
            api["UniformModule"](output_dim=env.n_actions - 1, fill_value=0.0),
            env.n_actions,
            preprocessor=preprocessor,
            is_backward=True,
        )
    else:
        pb = DPE(
            api["DiscreteUniform"](env.n_actions - 1),
            env.n_actions,
            preprocessor=preprocessor,
            is_backward=True,
        )

    gflownet = api["TBGFlowNet"](pf=pf, pb=pb, init_logZ=0.0).to(device)

    logz_params = list(gflownet.logz_parameters())
    logz_ids = {id(p) for p in logz_params}
    policy_params = [
        p for p in gflownet.parameters() if p.requires_grad and id(p) not in logz_ids
    ]
    optimizer = torch.optim.Adam(
        [
            {"params": policy_params, "lr": 1e-3},
            {"params": logz_params, "lr": 0.1},
        ]
    )
    return env, gflownet, optimizer


def true_log_partition(torch, env, ndim, height, limit=2_000_000):
    """log sum_x R(x) over all grid cells, or None if the grid is too large."""
    n = height**ndim
    if n > limit:
        return None
    try:
        axes = [torch.arange(height, device=getattr(env, "device", "cpu"))] * ndim
        grid = torch.cartesian_prod(*axes).reshape(n, ndim)
        return float(torch.logsumexp(env.log_reward(env.States(grid)), dim=0))
    except Exception:
        return None


def run(args, api):
    torch = api["torch"]
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    seed_everything(torch, args.seed)

    env, gflownet, optimizer = build(
        api, args.ndim, args.height, args.device, args.features
    )
    recompute = bool(args.recompute_logprobs)
    B = args.batch

    def one_iteration(clock):
        if recompute:
            with torch.no_grad():
                trajectories = gflownet.sample_trajectories(env, n=B, save_logprobs=False)
        else:
            trajectories = gflownet.sample_trajectories(env, n=B, save_logprobs=True)
        t1 = clock()
        loss = gflownet.loss(env, trajectories, recalculate_all_logprobs=recompute)
        t2 = clock()
        loss.backward()
        t3 = clock()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        t4 = clock()
        return trajectories, loss, t1, t2, t3, t4

    if args.device.startswith("cuda"):
        # Phase times need the GPU's work finished.
        def clock():
            torch.cuda.synchronize()
            return time.perf_counter()
    else:
        clock = time.perf_counter
    optimizer.zero_grad(set_to_none=True)
    for _ in range(args.warmup):
        one_iteration(clock)

    split = {"sample": 0.0, "loss": 0.0, "backward": 0.0, "optimizer": 0.0}
    lengths = []
    loss = None
    start = clock()
    for _ in range(args.iterations):
        t0 = clock()
        trajectories, loss, t1, t2, t3, t4 = one_iteration(clock)
        split["sample"] += t1 - t0
        split["loss"] += t2 - t1
        split["backward"] += t3 - t2
        split["optimizer"] += t4 - t3
        lengths.append(trajectories.terminating_idx)  # number of actions, incl. exit
    total = clock() - start

    N = args.iterations
    mean_len = float(torch.cat(lengths).double().mean())
    final_logz = float(torch.as_tensor(gflownet.logZ).detach().reshape(-1)[0])
    return {
        "library": "torchgfn",
        "version": api["version"],
        "ndim": args.ndim,
        "height": args.height,
        "batch": B,
        "iterations": N,
        "warmup": args.warmup,
        "seed": args.seed,
        "threads": torch.get_num_threads(),
        "device": args.device,
        "logprobs": "recomputed" if recompute else "saved",
        "ms_per_iteration": 1000.0 * total / N,
        "trajectories_per_s": B * N / total,
        "split_ms": {k: 1000.0 * v / N for k, v in split.items()},
        "mean_trajectory_length": mean_len,
        "final_loss": float(loss.detach()),
        "final_logz": final_logz,
        "true_logz": true_log_partition(torch, env, args.ndim, args.height),
        "torch_version": torch.__version__,
        "features": args.features,
    }


def format_text(r):
    s = r["split_ms"]
    line = (
        f"torchgfn hypergrid D={r['ndim']} H={r['height']} batch={r['batch']}: "
        f"{r['ms_per_iteration']:.2f} ms/iteration, "
        f"{r['trajectories_per_s']:.0f} trajectories/s "
        f"(sample {s['sample']:.1f} ms, loss {s['loss']:.1f} ms, "
        f"backward {s['backward']:.1f} ms, optimizer {s['optimizer']:.1f} ms)"
    )
    true_logz = "n/a" if r["true_logz"] is None else f"{r['true_logz']:.3f}"
    detail = (
        f"  torchgfn {r['version']}, torch {r['torch_version']}, "
        f"{r['threads']} threads, {r['iterations']} timed + {r['warmup']} warm-up "
        f"iterations, log-probs {r['logprobs']}, mean trajectory length "
        f"{r['mean_trajectory_length']:.2f}; final loss {r['final_loss']:.4f}, "
        f"log Z {r['final_logz']:.4f} (true {true_logz})"
    )
    return line + "\n" + detail


def main(argv=None):
    args = parse_args(argv)
    api = import_torchgfn()
    result = run(args, api)
    if args.json:
        print(json.dumps(result), flush=True)
    else:
        print(format_text(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
