"""Writes the tables test/Frontend/load*.gfl read into the directory argv[1]:
CSV files and .npy arrays (written byte by byte, so no NumPy is needed)."""
import os
import struct
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def write(name, data, mode="w"):
    with open(os.path.join(out, name), mode) as f:
        f.write(data)


def npy(name, descr, shape, payload, fortran=False, version=1):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, "True" if fortran else "False",
        "".join("%d, " % d for d in shape) if len(shape) != 1 else "%d," % shape[0])
    pad = 64 - (10 + len(header) + 1) % 64
    header += " " * pad + "\n"
    if version == 1:
        head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header))
    else:
        head = b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header))
    write(name, head + header.encode() + payload, "wb")


# Good tables.
write("scores.csv", "# node, parent set\n1.5, -2, 3\n4, 5.25, -6\n")
write("ints.csv", "1, 2\n3, 4\n5, 6\n")
write("column.csv", "7\n8\n9\n")
npy("f4.npy", "<f4", (2, 3), struct.pack("<6f", 0, 1, 2, 3, 4, 5))
# Column-major on disk: the array [[0, 1, 2], [3, 4, 5]].
npy("fortran.npy", "<f8", (2, 3), struct.pack("<6d", 0, 3, 1, 4, 2, 5),
    fortran=True)
npy("i8.npy", "<i8", (4,), struct.pack("<4q", -1, 0, 2, 1 << 20), version=2)
npy("bool.npy", "|b1", (2, 2), bytes([1, 0, 0, 1]))

# Bad tables.
write("ragged.csv", "1, 2, 3\n4, 5\n")
write("word.csv", "1, 2\n3, abc\n")
write("nan.csv", "1, nan\n")
write("empty.csv", "# nothing\n\n")
write("big.csv", "4000000000\n")
npy("nan.npy", "<f4", (3,), struct.pack("<3f", 1, float("nan"), 2))
npy("short.npy", "<f4", (4,), struct.pack("<2f", 1, 2))
npy("complex.npy", "<c8", (1,), b"\0" * 8)
npy("big-endian.npy", ">f4", (1,), b"\0" * 4)
write("magic.npy", "not numpy at all")
os.makedirs(os.path.join(out, "dir.csv"), exist_ok=True)
