"""Checks the final metrics of train-hypergrid.test."""
import json
import sys

final = json.loads(open(sys.argv[1]).read())
lines = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert lines[-1] == final, "the last metrics line is the final evaluation"
assert [m["iteration"] for m in lines] == [50, 100, 150, 200, 250], lines
for key in ("iteration", "loss", "l1", "jsd", "logz", "logz_true",
            "modes_found", "wall_s"):
    assert key in final, key
assert final["l1"] <= 0.05, final
assert abs(final["logz"] - 3.1091) <= 0.1, final
assert abs(final["logz_true"] - 3.1091) < 1e-3, final
assert final["modes_found"] == final["modes_total"] == 4, final
print("ok: l1 %.4f logz %.4f" % (final["l1"], final["logz"]))
