"""Writes a 4x4 grid env whose two real moves come after N action families
that are never allowed (N on the command line). Every N gives the same
env, so its exact log Z must not depend on N: a family dispatched to the
wrong flat action index would change the state graph."""
import sys

n = int(sys.argv[1])
print("env grid {")
print("  state x: int[2] in 0..4 = 0")
for i in range(n):
    # Never allowed; if it ran, it would move two steps.
    print(f"  action dead{i} requires x[{i % 2}] > 100 {{ x[{i % 2}] += 2 }}")
print("  action right requires x[0] < 3 { x[0] += 1 }")
print("  action up requires x[1] < 3 { x[1] += 1 }")
print("  stop")
print("  reward { 1.0 + x[0] + 2.0 * x[1] }")
print("  features onehot(x, 4)")
print("}")
print("model {\n  pf = mlp(features -> actions, hidden [16])\n  pb = uniform\n"
      "  logZ = scalar(0.0)\n}")
print("objective tb(t: trajectory) = "
      "(logZ + sum(t.log_pf) - sum(t.log_pb) - t.log_r)^2")
print("train {\n  objective tb\n  batch 8\n  iterations 2\n"
      "  optimizer adam(lr 1e-3)\n  sampler on_policy(epsilon 0.0)\n"
      "  eval every 2: l1, logz\n}")
