"""Prints the sample-based metrics of each line of a metrics.jsonl and checks
that the exact ones are absent (null) and the estimates well-formed."""
import json
import math
import sys

for line in open(sys.argv[1]):
    m = json.loads(line)
    assert m["l1"] is None and m["logz_true"] is None, m
    for key in ("est_spearman", "est_pearson"):
        assert m[key] is not None and -1 <= m[key] <= 1, m
    assert 0 <= m["ref_modes_found"] <= m["ref_modes_total"], m
    print("iteration %d: unique %d, modes found %d of %d, spearman %.4f "
          "pearson %.4f from %d walks, l1 %s"
          % (m["iteration"], m["unique_terminal"], m["ref_modes_found"],
             m["ref_modes_total"], m["est_spearman"], m["est_pearson"],
             m["est_samples"], "null" if m["l1"] is None else m["l1"]))
