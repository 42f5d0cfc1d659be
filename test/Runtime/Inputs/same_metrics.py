"""Checks that two metrics.jsonl files (or a file's last line and a final
metrics JSON with --last) agree: the same iterations and every metric within
1e-5 relative, wall time aside."""
import json
import sys

RTOL = 1e-5
SKIP = {"wall_s"}


def lines(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def same(a, b, where):
    assert a.keys() == b.keys(), (where, a.keys(), b.keys())
    for k in a:
        if k in SKIP:
            continue
        x, y = a[k], b[k]
        if isinstance(x, float) or isinstance(y, float):
            assert abs(x - y) <= RTOL * max(abs(x), abs(y), 1e-6), (where, k, x, y)
        elif isinstance(x, dict):
            same(x, y, where + "." + k)
        else:
            assert x == y, (where, k, x, y)


args = [a for a in sys.argv[1:] if a != "--last"]
a = lines(args[0])
b = lines(args[1])
if "--last" in sys.argv:
    a = a[-1:]
assert [m["iteration"] for m in a] == [m["iteration"] for m in b], (a, b)
for x, y in zip(a, b):
    same(x, y, "iteration %d" % x["iteration"])
print("ok: %d lines agree; last l1 %s and %s" % (len(a), a[-1]["l1"], b[-1]["l1"]))
