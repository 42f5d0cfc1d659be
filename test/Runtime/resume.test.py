"""Compares two metrics.jsonl files field by field, except wall time."""
import argparse
import json

def load(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    for r in rows:
        r.pop("wall_s")
    return rows

ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=5)
ap.add_argument("full")
ap.add_argument("part")
args = ap.parse_args()
full, part = load(args.full), load(args.part)
assert len(full) == args.rows and full == part, (full, part)
print("ok: %d evaluations identical" % len(full))
