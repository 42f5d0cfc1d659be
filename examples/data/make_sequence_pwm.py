"""Writes sequence_pwm.csv, the reward table of examples/sequence.gfl: a
position weight matrix (8 positions x 4 tokens) of log-odds scores, the way
transcription-factor binding sites are scored. Two consensus motifs share
the sites; each position prefers its motif tokens, with a little noise.

Deterministic: Python's random.Random with a fixed seed (its random() is
stable across Python versions), no NumPy. Run: python3 make_sequence_pwm.py
"""
import math
import os
import random

POSITIONS, TOKENS = 8, 4
MOTIFS = ["ACGTACGT", "TTGACAGC"]  # consensus sequences over A, C, G, T
STRENGTH = 1.2  # log-odds of a consensus token over background


def main():
    rng = random.Random(20261130)
    rows = []
    for pos in range(POSITIONS):
        weights = [0.25] * TOKENS
        for motif in MOTIFS:
            weights["ACGT".index(motif[pos])] *= math.exp(STRENGTH)
        weights = [w * math.exp(rng.gauss(0.0, 0.2)) for w in weights]
        total = sum(weights)
        # log-odds against a uniform background
        rows.append([math.log(w / total / 0.25) for w in weights])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "sequence_pwm.csv")
    with open(path, "w") as f:
        f.write("# log-odds, positions 0..7 by tokens A C G T; made by "
                "make_sequence_pwm.py\n")
        for row in rows:
            f.write(", ".join("%.6f" % v for v in row) + "\n")


if __name__ == "__main__":
    main()
