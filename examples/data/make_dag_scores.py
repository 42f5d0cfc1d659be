"""Writes dag_scores.csv, the modular score of examples/dag.gfl: for each of
5 variables v and each parent set P (a bitmask over the 5 variables, 32
columns), the BIC local score of v given P on a synthetic data set,

    score(v | P) = -n/2 * log(RSS(v | P) / n) - (|P| + 1)/2 * log(n),

where RSS is the residual sum of squares of the least-squares regression of
v on P (with an intercept). A DAG's log-reward is the sum of its nodes'
local scores, so its reward is proportional to a BIC posterior.
Columns whose mask contains v itself are never read and hold 0.

The data: N_SAMPLES draws of a linear-Gaussian network over 5 variables
with edges 0->1, 0->2, 1->3, 2->3, 3->4. Deterministic: Python's
random.Random with a fixed seed, no NumPy. Run: python3 make_dag_scores.py
"""
import math
import os
import random

D = 5
EDGES = {(0, 1): 0.9, (0, 2): -0.8, (1, 3): 0.7, (2, 3): 0.6, (3, 4): -0.9}
N_SAMPLES = 20


def sample(rng):
    rows = []
    for _ in range(N_SAMPLES):
        x = [0.0] * D
        for v in range(D):  # 0..4 is a topological order
            x[v] = rng.gauss(0.0, 1.0) + sum(
                w * x[u] for (u, t), w in EDGES.items() if t == v)
        rows.append(x)
    return rows


def rss(data, v, parents):
    """Residual sum of squares of v regressed on parents and an intercept."""
    cols = [[1.0] * len(data)] + [[r[p] for r in data] for p in parents]
    y = [r[v] for r in data]
    k = len(cols)
    # Normal equations (X^T X) b = X^T y by Gauss-Jordan elimination.
    a = [[sum(ci * cj for ci, cj in zip(cols[i], cols[j])) for j in range(k)]
         + [sum(ci * yi for ci, yi in zip(cols[i], y))] for i in range(k)]
    for c in range(k):
        pivot = max(range(c, k), key=lambda r: abs(a[r][c]))
        a[c], a[pivot] = a[pivot], a[c]
        for r in range(k):
            if r != c:
                f = a[r][c] / a[c][c]
                a[r] = [x - f * z for x, z in zip(a[r], a[c])]
    b = [a[i][k] / a[i][i] for i in range(k)]
    return sum((yi - sum(bj * cj[n] for bj, cj in zip(b, cols))) ** 2
               for n, yi in enumerate(y))


def main():
    data = sample(random.Random(20261130))
    n = float(N_SAMPLES)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "dag_scores.csv")
    with open(path, "w") as f:
        f.write("# BIC local scores: row = variable, column = parent-set "
                "bitmask; made by make_dag_scores.py\n")
        for v in range(D):
            row = []
            for mask in range(1 << D):
                parents = [p for p in range(D) if mask >> p & 1]
                if v in parents:
                    row.append(0.0)
                    continue
                r = rss(data, v, parents)
                row.append(-n / 2 * math.log(r / n)
                           - (len(parents) + 1) / 2 * math.log(n))
            f.write(", ".join("%.6f" % s for s in row) + "\n")


if __name__ == "__main__":
    main()
