"""Checks dag.test's run against the score table: enumerates the DAGs on 4
labelled nodes and their log-rewards (sum over v of SCORES[v, parents(v)])."""
import itertools
import json
import math
import sys

N = 4
scores = [[float(v) for v in line.split(",")]
          for line in open(sys.argv[1]) if line.strip() and line[0] != "#"]
pairs = [(i, j) for i in range(N) for j in range(N) if i != j]


def acyclic(edges):
    indegree = [sum(1 for (_, j) in edges if j == v) for v in range(N)]
    ready = [v for v in range(N) if indegree[v] == 0]
    seen = 0
    while ready:
        u = ready.pop()
        seen += 1
        for (a, b) in edges:
            if a == u:
                indegree[b] -= 1
                if indegree[b] == 0:
                    ready.append(b)
    return seen == N


log_rewards = []
for bits in itertools.product([0, 1], repeat=len(pairs)):
    edges = [p for p, b in zip(pairs, bits) if b]
    if acyclic(edges):
        log_rewards.append(sum(
            scores[v][sum(1 << p for (p, t) in edges if t == v)]
            for v in range(N)))
m_ = max(log_rewards)
logz = m_ + math.log(sum(math.exp(r - m_) for r in log_rewards))
m = json.load(open(sys.argv[2]))
assert len(log_rewards) == 543, len(log_rewards)
assert abs(m["logz_true"] - logz) <= 1e-4 * max(1.0, abs(logz)), (m, logz)
print("%d DAGs; log Z %.5f of the evaluator matches the table's %.5f" %
      (len(log_rewards), m["logz_true"], logz))
assert m["l1"] <= 0.05, m
assert abs(m["logz"] - logz) <= 0.1, m
print("ok: l1 %.4f, learned log Z %.4f" % (m["l1"], m["logz"]))
