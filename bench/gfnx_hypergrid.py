#!/usr/bin/env python
"""Trajectory balance on gfnx's hypergrid, beside gfl's and torchgfn's.

The gfnx peer of bench/hypergrid.py. gfnx (JAX) ships the hypergrid
environment, rollouts and masks; this script writes the TB step against its
public API (``HypergridEnvironment``, ``utils.forward_rollout``,
``utils.split_traj_to_transitions``, ``utils.mask_logits``) with optax, set
up as examples/hypergrid.gfl: reward R0 0.1, R1 0.5, R2 2.0, the forward
policy an MLP 2x256 ReLU over the one-hot coordinates (gfnx's observation,
gfl's ``onehot(x, H)`` features), a uniform P_B, a learned log Z, Adam with
lr 1e-3 for the policy and 0.1 for log Z, on-policy sampling.

One iteration (rollout, TB loss, gradient, Adam) is one jitted call; the
first --warmup iterations (compilation included) are not timed, and each
timed one waits for its result. Threads as bench/gfnx_rules.py. Prints one
JSON line with ms per iteration and the exact L1 of the final policy.

Exit status 3 means gfnx or JAX could not be imported. A figure, not a test.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gfnx_rules import exact_l1, import_gfnx  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ndim", type=int, default=2)
    p.add_argument("--height", type=int, default=8)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--iterations", type=int, default=200,
                   help="timed iterations")
    p.add_argument("--warmup", type=int, default=5,
                   help="untimed iterations first (the first compiles)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1,
                   help="XLA CPU threads (0: XLA's default)")
    args = p.parse_args(argv)
    if min(args.ndim, args.height, args.batch, args.iterations,
           args.warmup) < 1:
        p.error("sizes and counts must be >= 1")
    return args


def run(args, api):
    jax, jnp, np, optax, gfnx = (api[k] for k in
                                 ("jax", "jnp", "np", "optax", "gfnx"))
    reward = gfnx.GeneralHypergridRewardModule(R0=0.1, R1=0.5, R2=2.0)
    env = gfnx.HypergridEnvironment(reward, dim=args.ndim, side=args.height)
    key = jax.random.PRNGKey(args.seed)
    key, env_key, net_key = jax.random.split(key, 3)
    env_params = env.init(env_key)
    n_in = env.observation_space.shape[0]
    n_act = env.action_space.n
    exit_action = n_act - 1
    B = args.batch

    layers = []
    sizes = [n_in, 256, 256, n_act]
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        net_key, kw, kb = jax.random.split(net_key, 3)
        bound = 1.0 / np.sqrt(fan_in)  # PyTorch's default initialization
        layers.append((
            jax.random.uniform(kw, (fan_in, fan_out), jnp.float32, -bound,
                               bound),
            jax.random.uniform(kb, (fan_out,), jnp.float32, -bound, bound)))
    params = {"pf": layers, "logz": jnp.zeros(())}

    def mlp(layers, x):
        for w, b in layers[:-1]:
            x = jax.nn.relu(x @ w + b)
        w, b = layers[-1]
        return x @ w + b

    optimizer = optax.multi_transform(
        {"pf": optax.adam(1e-3), "logz": optax.adam(0.1)},
        {"pf": "pf", "logz": "logz"})
    opt_state = optimizer.init(params)

    def policy_fn(rng_key, obs, policy_params):
        return mlp(policy_params["pf"], obs), {}

    def train_step(params, opt_state, key):
        key, rollout_key = jax.random.split(key)
        traj, info = gfnx.utils.forward_rollout(
            rng_key=rollout_key, num_envs=B, policy_fn=policy_fn,
            policy_params=params, env=env, env_params=env_params)
        tr = gfnx.utils.split_traj_to_transitions(traj)
        valid = jnp.logical_not(tr.pad)
        move = jnp.logical_and(valid, tr.action != exit_action)
        # Uniform P_B: 1 / (parents of the state a move leads to).
        n_parents = jnp.sum(jnp.logical_not(
            env.get_invalid_backward_mask(tr.next_state, env_params)), -1)
        log_pb = -jnp.log(jnp.maximum(n_parents, 1).astype(jnp.float32))
        sum_log_pb = jnp.sum(jnp.where(move, log_pb, 0.0).reshape(B, -1), 1)
        log_r = info["log_gfn_reward"]
        invalid = env.get_invalid_mask(tr.state, env_params)

        def loss_fn(p):
            logits = gfnx.utils.mask_logits(mlp(p["pf"], tr.obs), invalid)
            log_pf = jnp.take_along_axis(jax.nn.log_softmax(logits),
                                         tr.action[:, None], axis=-1)[:, 0]
            sum_log_pf = jnp.sum(
                jnp.where(valid, log_pf, 0.0).reshape(B, -1), 1)
            return jnp.mean((p["logz"] + sum_log_pf - sum_log_pb - log_r) ** 2)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, key, loss, info["trajectory_length"]

    step = jax.jit(train_step)
    t0 = time.perf_counter()
    for i in range(args.warmup):
        params, opt_state, key, loss, lengths = step(params, opt_state, key)
        jax.block_until_ready(loss)
        if i == 0:
            compile_s = time.perf_counter() - t0
    start = time.perf_counter()
    for _ in range(args.iterations):
        params, opt_state, key, loss, lengths = step(params, opt_state, key)
        jax.block_until_ready(loss)
    total = time.perf_counter() - start
    l1, mass = exact_l1(api, env, env_params,
                        lambda obs: mlp(params["pf"], obs), args.height,
                        args.ndim)
    return {
        "library": "gfnx", "versions": api["versions"], "objective": "tb",
        "ndim": args.ndim, "height": args.height, "batch": B,
        "iterations": args.iterations, "warmup": args.warmup,
        "threads": args.threads, "device": str(jax.devices()[0]),
        "compile_s": compile_s,
        "ms_per_iteration": 1000.0 * total / args.iterations,
        "final_loss": float(loss), "logz": float(params["logz"]),
        "mean_trajectory_length": float(np.mean(np.asarray(lengths))),
        "l1": l1, "terminal_mass": mass,
    }


def main(argv=None):
    args = parse_args(argv)
    api = import_gfnx(args)
    print(json.dumps(run(args, api)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
