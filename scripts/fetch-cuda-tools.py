#!/usr/bin/env python3
"""Fetches NVIDIA's cuobjdump and nvdisasm where the CUDA toolkit lacks them.

The toolkit at /usr/local/cuda on the build machines has nvcc and ptxas but
not the binary utilities; the lit tests use cuobjdump (which runs nvdisasm
for SASS) to check the cubins gflc writes. NVIDIA publishes both on PyPI as
wheels; this takes the pinned versions with the standard library alone (no
pip), checks their SHA-256 against PyPI's index, and unpacks the two programs into
.tools/cuda/bin. Prints a warning and exits 0 when PyPI cannot be reached:
the tests that need the tools are then reported unsupported.
"""
import hashlib
import html
import io
import os
import re
import stat
import sys
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEST = os.path.join(ROOT, ".tools", "cuda", "bin")
WHEELS = {"nvidia-cuda-cuobjdump": ("13.5.37", "cuobjdump"),
          "nvidia-cuda-nvdisasm": ("13.5.37", "nvdisasm")}


def fetch(package, version, program):
    # PyPI's simple index (PEP 503): one link per file, its SHA-256 after '#'.
    index = urllib.request.urlopen(
        "https://pypi.org/simple/%s/" % package, timeout=60).read().decode()
    prefix = "%s-%s-" % (package.replace("-", "_"), version)
    links = re.findall(r'href="([^"]+)"', index)
    url = next(html.unescape(l) for l in links
               if prefix in l and "x86_64" in l and ".whl#sha256=" in l)
    url, digest = url.split("#sha256=")
    data = urllib.request.urlopen(url, timeout=300).read()
    if hashlib.sha256(data).hexdigest() != digest:
        raise RuntimeError("%s: SHA-256 mismatch" % url)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        name = next(n for n in z.namelist() if n.endswith("/bin/" + program))
        path = os.path.join(DEST, program)
        with open(path, "wb") as out:
            out.write(z.read(name))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP |
             stat.S_IXOTH)


def main():
    os.makedirs(DEST, exist_ok=True)
    for package, (version, program) in WHEELS.items():
        if os.path.exists(os.path.join(DEST, program)):
            continue
        try:
            fetch(package, version, program)
        except Exception as e:  # offline, or PyPI changed: tests skip
            print("fetch-cuda-tools: %s not fetched (%s)" % (program, e),
                  file=sys.stderr)


if __name__ == "__main__":
    main()
