#!/usr/bin/env python
"""Soft Q-learning (SoftDQN) on gfnx's hypergrid, beside gfl's ``sql``.

The peer of bench/rules.py. gfnx (JAX) ships environments, rollouts and
metrics; its SoftDQN is a single-file baseline script in its repository
(baselines/soft_dqn_hypergrid.py, not in the installed package), and it
has no PPO. This script is its own SoftDQN written against gfnx's public
API (``HypergridEnvironment``, ``utils.forward_rollout``,
``utils.split_traj_to_transitions``, the invalid-action masks,
``utils.mask_logits``) with optax, set up as gfl's ``sql`` in
test/Runtime/Inputs/hypergrid_rl.gfl without its value head:

  reward R0 0.1, R1 0.5, R2 2.0 (``GeneralHypergridRewardModule``), a
  Q-network MLP 2x256 ReLU over the one-hot coordinates (gfnx's
  observation), the policy softmax(Q) sampled on-policy (epsilon 0), the
  entropy-regularized shaping of Tiapkin et al. (2024): a move s -> s'
  earns log P_B(s | s') (uniform P_B), the exit log R(x); the Huber loss
  (delta 1) of Q(s, a) against r + logsumexp Q_target(s', .), summed over
  each trajectory's transitions and averaged over the batch; Adam lr 1e-3;
  a Polyak target (tau 0.25) after every step.

gfnx's baseline differs in a dueling head, a weight 5 on the exit
transitions and a per-transition mean; none of these changes the work of
an iteration much.

One iteration (rollout, loss, gradient, Adam, Polyak) is one jitted call;
the first --warmup iterations (compilation included) are not timed, and
each timed one waits for its result. XLA's CPU thread pool is limited
with --threads (default 1) through XLA_FLAGS, set before JAX loads.
Prints one JSON line: versions, compile and ms per iteration, the exact
L1 of the final policy (sum over the grid of |P_T(x) - R(x)/Z|, dynamic
programming over the grid, as gfl-run's metric; not timed).

Exit status 3 means gfnx or JAX could not be imported, so that a calling
script can skip this peer. A figure, not a test.
"""

import argparse
import json
import os
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rule", choices=["sql"], default="sql",
                   help="gfnx has no PPO; only soft Q-learning here")
    p.add_argument("--ndim", type=int, default=2)
    p.add_argument("--height", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--iterations", type=int, default=200,
                   help="timed iterations")
    p.add_argument("--warmup", type=int, default=5,
                   help="untimed iterations first (the first compiles)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--tau", type=float, default=0.25,
                   help="Polyak rate of the target network")
    p.add_argument("--threads", type=int, default=1,
                   help="XLA CPU threads (0: XLA's default)")
    args = p.parse_args(argv)
    for name in ("ndim", "height", "batch", "iterations"):
        if getattr(args, name) < 1:
            p.error("--%s must be >= 1" % name)
    if args.warmup < 1:
        p.error("--warmup must be >= 1 (it compiles)")
    return args


def import_gfnx(args):
    """jax, optax and gfnx; exits with status 3 when unavailable."""
    if args.threads > 0:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (
            flags + " --xla_cpu_multi_thread_eigen=false"
            " intra_op_parallelism_threads=%d" % args.threads).strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import jax
        import jax.numpy as jnp
        import numpy as np
        import optax

        import gfnx
    except Exception as exc:  # ImportError, or a broken install
        print("gfnx_rules: cannot import gfnx / jax: %s: %s"
              % (type(exc).__name__, exc), file=sys.stderr)
        sys.exit(3)
    from importlib.metadata import version as dist_version

    def version(name):
        try:
            return dist_version(name)
        except Exception:
            return "unknown"
    return dict(jax=jax, jnp=jnp, np=np, optax=optax, gfnx=gfnx,
                versions={"gfnx": version("gfnx"), "jax": jax.__version__,
                          "jaxlib": version("jaxlib"),
                          "optax": version("optax")})


def exact_l1(api, env, env_params, logits_of, H, D):
    """The exact L1 of the policy logits_of(obs) on gfnx's hypergrid and
    its terminal mass: dynamic programming over the grid in row-major order
    (a move raises the flat index, so index order is a topological order)."""
    jax, np, gfnx = api["jax"], api["np"], api["gfnx"]
    states = env.get_all_states(env_params)
    logits = gfnx.utils.mask_logits(
        logits_of(env.get_obs(states, env_params)),
        env.get_invalid_mask(states, env_params))
    probs = np.asarray(jax.nn.softmax(logits, axis=-1), dtype=np.float64)
    coords = np.asarray(states.state)
    strides = [H ** (D - 1 - d) for d in range(D)]
    reach = np.zeros(H ** D)
    reach[0] = 1.0
    for i in range(H ** D):
        for d in range(D):
            if coords[i, d] < H - 1:
                reach[i + strides[d]] += reach[i] * probs[i, d]
    end = reach * probs[:, D]  # the exit action is last
    true = np.asarray(env.get_true_distribution(env_params),
                      dtype=np.float64).reshape(-1)
    return float(np.abs(end - true).sum()), float(end.sum())


def run(args, api):
    jax, jnp, np, optax, gfnx = (api[k] for k in
                                 ("jax", "jnp", "np", "optax", "gfnx"))
    reward = gfnx.GeneralHypergridRewardModule(R0=0.1, R1=0.5, R2=2.0)
    env = gfnx.HypergridEnvironment(reward, dim=args.ndim, side=args.height)
    key = jax.random.PRNGKey(args.seed)
    key, env_key = jax.random.split(key)
    env_params = env.init(env_key)
    n_in = env.observation_space.shape[0]
    n_act = env.action_space.n

    def init_mlp(key, sizes):
        """PyTorch's default initialization: U(+-1/sqrt(fan_in))."""
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            key, kw, kb = jax.random.split(key, 3)
            bound = 1.0 / np.sqrt(fan_in)
            layers.append((
                jax.random.uniform(kw, (fan_in, fan_out), jnp.float32,
                                   -bound, bound),
                jax.random.uniform(kb, (fan_out,), jnp.float32,
                                   -bound, bound)))
        return layers

    def mlp(layers, x):
        for w, b in layers[:-1]:
            x = jax.nn.relu(x @ w + b)
        w, b = layers[-1]
        return x @ w + b

    key, net_key = jax.random.split(key)
    params = init_mlp(net_key, [n_in, 256, 256, n_act])
    target = jax.tree_util.tree_map(jnp.copy, params)
    optimizer = optax.adam(args.lr)
    opt_state = optimizer.init(params)
    B, tau = args.batch, args.tau

    def policy_fn(rng_key, obs, policy_params):
        return mlp(policy_params, obs), {}

    def train_step(params, target, opt_state, key):
        key, rollout_key = jax.random.split(key)
        traj, info = gfnx.utils.forward_rollout(
            rng_key=rollout_key, num_envs=B, policy_fn=policy_fn,
            policy_params=params, env=env, env_params=env_params)
        tr = gfnx.utils.split_traj_to_transitions(traj)
        valid = jnp.logical_not(tr.pad)
        # Target: log P_B(s | s') + V_target(s') for a move, log R(x) for
        # the exit (gfnx puts it on the transition that ends the episode).
        n_parents = jnp.sum(jnp.logical_not(
            env.get_invalid_backward_mask(tr.next_state, env_params)), -1)
        log_pb = -jnp.log(jnp.maximum(n_parents, 1).astype(jnp.float32))
        q_next = gfnx.utils.mask_logits(
            mlp(target, tr.next_obs),
            env.get_invalid_mask(tr.next_state, env_params))
        v_next = jax.nn.logsumexp(q_next, axis=-1)
        y = jnp.where(tr.done, tr.log_gfn_reward, log_pb + v_next)
        y = jax.lax.stop_gradient(jnp.where(valid, y, 0.0))

        def loss_fn(p):
            q = jnp.take_along_axis(mlp(p, tr.obs), tr.action[:, None],
                                    axis=-1)[:, 0]
            q = jnp.where(valid, q, 0.0)
            return jnp.sum(optax.losses.huber_loss(q, y, delta=1.0)
                           * valid) / B

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        target = optax.incremental_update(params, target, tau)
        return params, target, opt_state, key, loss, info["trajectory_length"]

    step = jax.jit(train_step)

    t0 = time.perf_counter()
    lengths = None
    for i in range(args.warmup):
        params, target, opt_state, key, loss, lengths = step(
            params, target, opt_state, key)
        jax.block_until_ready(loss)
        if i == 0:
            compile_s = time.perf_counter() - t0
    start = time.perf_counter()
    for _ in range(args.iterations):
        params, target, opt_state, key, loss, lengths = step(
            params, target, opt_state, key)
        jax.block_until_ready(loss)
    total = time.perf_counter() - start

    l1, end_mass = exact_l1(api, env, env_params,
                            lambda obs: mlp(params, obs),
                            args.height, args.ndim)
    H, D = args.height, args.ndim
    return {
        "library": "gfnx", "versions": api["versions"], "rule": args.rule,
        "algo": "soft_dqn", "ndim": D, "height": H, "batch": B,
        "iterations": args.iterations, "warmup": args.warmup,
        "threads": args.threads, "device": str(jax.devices()[0]),
        "rollout_steps": env.max_steps_in_episode + 1,
        "compile_s": compile_s,
        "ms_per_iteration": 1000.0 * total / args.iterations,
        "final_loss": float(loss),
        "mean_trajectory_length": float(np.mean(np.asarray(lengths))),
        "l1": l1,
        "terminal_mass": end_mass,
    }


def main(argv=None):
    args = parse_args(argv)
    api = import_gfnx(args)
    print(json.dumps(run(args, api)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
