"""Local search accepted a share of its proposals in every evaluation."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for r in rows:
    acc = r["sampler"]["ls_acceptance"]
    assert len(acc) == 2 and all(0 < a < 1 for a in acc), r
print("ok: acceptance", [r["sampler"]["ls_acceptance"] for r in rows])
