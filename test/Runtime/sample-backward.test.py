"""Each backward-drawn path starts at s0, moves one coordinate up per step
(its action), ends with the exit in the sampled state, and has the uniform
P_B's log-probability: log(1 / #parents) per step."""
import csv
import math
import sys

samples = list(csv.DictReader(open(sys.argv[1])))
paths = {}
for row in csv.DictReader(open(sys.argv[2])):
    paths.setdefault(int(row["trajectory"]), []).append(row)
assert sorted(paths) == list(range(len(samples))), sorted(paths)
for t, rows in paths.items():
    x = [0, 0]
    for k, row in enumerate(rows):
        assert int(row["step"]) == k, row
        assert [int(float(row["x_0"])), int(float(row["x_1"]))] == x, (t, row)
        a = int(row["action"])
        if k + 1 < len(rows):
            x[a] += 1
            parents = sum(1 for v in x if v > 0)
            assert abs(float(row["log_pb"]) - math.log(1 / parents)) < 1e-5, row
        else:
            assert a == 2 and float(row["log_pb"]) == 0, row  # the exit
        assert float(row["log_pf"]) <= 0, row
    s = samples[t]
    assert x == [int(float(s["x_0"])), int(float(s["x_1"]))], (t, x, s)
print("ok: %d paths" % len(paths))
