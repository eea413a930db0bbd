"""Run every solution notebook end to end (fresh kernel, offline) and print its wall time,
quiet and loaded (with a competing CPU-bound process this script starts and stops itself).

    INVLAB_OFFLINE=1 python benchmarks/notebooks.py [--quiet-only] [solutions/01_irevnet.ipynb ...]

Each solution's budget is ``[tool.invlab.budget]`` in pyproject.toml (quiet; twice that
loaded); the table says whether it holds. The runner is the project's one
(course/notebook.py).
"""
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course.notebook import budget, errors, run_notebook  # noqa: E402


def run(path) -> float:
    """Seconds to execute one notebook (kernel start included); fails on a cell error."""
    t0 = time.perf_counter()
    nb = run_notebook(path, allow_errors=True)
    seconds = time.perf_counter() - t0
    bad = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "code" and errors(c)]
    if bad:
        raise RuntimeError(f"{Path(path).name}: cells failed: {bad}")
    return seconds


class CompetingLoad:
    """A CPU-bound subprocess (``while True: pass``) for the duration of a ``with`` block."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    quiet_only = "--quiet-only" in argv
    argv = [a for a in argv if a != "--quiet-only"]
    os.environ.setdefault("INVLAB_OFFLINE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    paths = [Path(p) for p in argv] or sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    times = {}
    print(f"{'notebook':32s} {'quiet':>8s} {'loaded':>8s} {'budget':>7s}   (seconds end to end, kernel "
          "start included; loaded = one competing CPU-bound process; budget: quiet, loaded ≤ 2×)", flush=True)
    for p in paths:
        quiet = run(p)
        loaded = float("nan")
        if not quiet_only:
            with CompetingLoad():
                loaded = run(p)
        times[p.name] = (quiet, loaded)
        b = budget(p.stem)
        ok = quiet <= b and not loaded > 2 * b
        print(f"{p.name:32s} {quiet:8.1f} {loaded:8.1f} {b:7d}   {'holds' if ok else 'OVER BUDGET'}", flush=True)
    return times


if __name__ == "__main__":
    main()
