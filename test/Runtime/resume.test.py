"""Compares two metrics.jsonl files field by field, except wall time."""
import json
import sys

def load(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    for r in rows:
        r.pop("wall_s")
    return rows

full, part = load(sys.argv[1]), load(sys.argv[2])
assert len(full) == 5 and full == part, (full, part)
print("ok: %d evaluations identical" % len(full))
