"""Checks final gfl-run metrics (JSON files) against bounds."""
import argparse
import json

ap = argparse.ArgumentParser()
ap.add_argument("--l1", type=float)
ap.add_argument("--logz", type=float)
ap.add_argument("--logz-tol", type=float, default=0.2)
ap.add_argument("--min-mean-reward", type=float)
ap.add_argument("--min-topk-reward", type=float)
ap.add_argument("files", nargs="+")
args = ap.parse_args()
for path in args.files:
    m = json.loads(open(path).read())
    if args.l1 is not None:
        assert m["l1"] is not None and m["l1"] <= args.l1, (path, m)
    if args.min_mean_reward is not None:
        assert m["mean_reward"] >= args.min_mean_reward, (path, m)
    if args.min_topk_reward is not None:
        assert m["topk_reward"] >= args.min_topk_reward, (path, m)
    if args.logz is not None:
        assert m["logz"] is not None, (path, m)
        assert abs(m["logz"] - args.logz) <= args.logz_tol, (path, m)
    print("ok: %s l1 %s logz %s mean reward %s top-10 %s"
          % (path, m["l1"], m["logz"], m["mean_reward"], m["topk_reward"]))
