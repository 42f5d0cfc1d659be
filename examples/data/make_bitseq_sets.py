"""Writes the reference modes and the test set of examples/bitseq-long.gfl:

- bitseq_modes.csv: 60 modes of 120 bits, each the concatenation of 15
  blocks drawn from 5 blocks of 8 bits (the construction of Malkin et al.
  2022 for bit sequences, also torchgfn's BitSequence), no two alike;
- bitseq_tests.csv: 2 variations of each mode, each with a random number
  (0..119) of random bits flipped (the usual test set for the correlation
  of log P_T with log R).

Each row is a whole terminal state of bitseq-long.gfl: the 120 bits, then
the state's length field (120 / K words, K = 4 bits per step).

Deterministic: Python's random.Random with a fixed seed (stable across
Python versions), no NumPy. Run: python3 make_bitseq_sets.py
"""
import os
import random

BITS, BLOCK, K = 120, 8, 4
N_MODES, VARIATIONS = 60, 2
BLOCKS = [[0] * 8, [1] * 8, [1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1],
          [0, 0, 1, 1, 1, 1, 0, 0]]


def main():
    rng = random.Random(20261130)
    modes, seen = [], set()
    while len(modes) < N_MODES:
        pick = tuple(rng.randrange(len(BLOCKS)) for _ in range(BITS // BLOCK))
        if pick not in seen:
            seen.add(pick)
            modes.append([b for i in pick for b in BLOCKS[i]])
    tests = []
    for mode in modes:
        for _ in range(VARIATIONS):
            x = list(mode)
            for i in rng.sample(range(BITS), rng.randrange(BITS)):
                x[i] = 1 - x[i]
            tests.append(x)
    here = os.path.dirname(os.path.abspath(__file__))
    for name, rows in (("bitseq_modes.csv", modes), ("bitseq_tests.csv", tests)):
        with open(os.path.join(here, name), "w") as f:
            f.write("# 120 bits, then the length field (%d words); made by "
                    "make_bitseq_sets.py\n" % (BITS // K))
            for row in rows:
                f.write(",".join(str(b) for b in row + [BITS // K]) + "\n")


if __name__ == "__main__":
    main()
