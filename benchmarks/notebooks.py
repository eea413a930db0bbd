"""Run every solution notebook end to end (fresh kernel, offline) and print its wall time.

    INVLAB_OFFLINE=1 python benchmarks/notebooks.py [solutions/01_irevnet.ipynb ...]
"""
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def run(path):
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    return time.perf_counter() - t0


def main(paths=None):
    os.environ.setdefault("INVLAB_OFFLINE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    paths = [Path(p) for p in paths] if paths else sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    times = {}
    for p in paths:
        times[p.name] = run(p)
        print(f"{p.name}: {times[p.name]:.1f} s end to end (kernel start included)", flush=True)
    return times


if __name__ == "__main__":
    main(sys.argv[1:])
