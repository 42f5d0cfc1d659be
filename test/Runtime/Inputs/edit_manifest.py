"""Replaces the first OLD in an artifact's manifest by NEW (same length) and
seals the result again, as a hand edit that keeps the seal valid would."""
import hashlib
import struct
import sys

src, dst, old, new = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4].encode()
data = open(src, "rb").read()[:-48]  # without the seal
assert len(old) == len(new), "OLD and NEW must have the same length"
assert old in data, "OLD is not in the artifact"
data = data.replace(old, new, 1)
seal = hashlib.sha256(data).digest() + struct.pack("<Q", len(data)) + b"GFLXSEAL"
open(dst, "wb").write(data + seal)
