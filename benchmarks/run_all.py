"""`make bench`: every figure the course promises, measured on this machine."""
import os
import platform
import runpy
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
os.environ.setdefault("INVLAB_OFFLINE", "1")
print(f"# {platform.node()}: {os.cpu_count()} CPUs, torch {torch.__version__}, "
      f"cuda {'yes' if torch.cuda.is_available() else 'no'}")
for script in ("notebooks.py", "step_time.py", "mmd_timing.py", "reversible.py"):
    print(f"\n## {script}", flush=True)
    runpy.run_path(str(HERE / script), run_name="__main__")
