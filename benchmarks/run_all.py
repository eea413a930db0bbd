"""`make bench`: every figure the course promises, measured on this machine.

    INVLAB_OFFLINE=1 python benchmarks/run_all.py            # what `make bench` runs
    INVLAB_BENCH_PEERS=1 make bench                          # + benchmarks/peers.py (zuko, normflows)

seeds.py runs every solution notebook over seeds 0 1 2 (7 notebooks × 3 runs: about 12 min
on a heavily loaded 2-core machine, less when quiet). peers.py (lab 4's RealNVP against zuko
and normflows, 30–40 min loaded) needs the extras of benchmarks/requirements.txt and runs
only when INVLAB_BENCH_PEERS=1 (or --peers).
"""
import os
import platform
import runpy
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
os.environ.setdefault("INVLAB_OFFLINE", "1")
peers = "--peers" in sys.argv[1:] or os.environ.get("INVLAB_BENCH_PEERS", "") not in ("", "0")
print(f"# {platform.node()}: {os.cpu_count()} CPUs, torch {torch.__version__}, "
      f"cuda {'yes' if torch.cuda.is_available() else 'no'}")
scripts = ["notebooks.py", "step_time.py", "mmd_timing.py", "reversible.py", "seeds.py"]
if peers:
    scripts.append("peers.py")
for script in scripts:
    print(f"\n## {script}", flush=True)
    argv, sys.argv = sys.argv, [str(HERE / script)]   # each script parses its own (empty) arguments
    try:
        runpy.run_path(str(HERE / script), run_name="__main__")
    finally:
        sys.argv = argv
