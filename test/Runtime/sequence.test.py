"""Checks sequence.test's run against the reward table it was compiled with."""
import json
import math
import sys

BETA, L = 1.5, 8
rows = [[float(v) for v in line.split(",")]
        for line in open(sys.argv[1]) if line.strip() and line[0] != "#"]
logz = sum(math.log(sum(math.exp(BETA * s) for s in row)) for row in rows[:L])
m = json.load(open(sys.argv[2]))
assert abs(m["logz_true"] - logz) <= 1e-3 * abs(logz), (m["logz_true"], logz)
print("log Z %.5f of the evaluator matches the table's %.5f" %
      (m["logz_true"], logz))
assert m["l1"] <= 0.05, m
assert abs(m["logz"] - logz) <= 0.1, m
print("ok: l1 %.4f, learned log Z %.4f" % (m["l1"], m["logz"]))
