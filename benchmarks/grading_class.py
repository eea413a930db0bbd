"""A synthetic class for the grader: right, wrong, broken and hostile submissions of labs
1–3, graded serially and with ``--jobs 2``; prints wall times, per-student times and
scores per lab.

    PYTHONPATH=$PWD python benchmarks/grading_class.py [--out /tmp/class] [--jobs 2]
        [--labs 01 02 03] [--timeout 90] [--only-jobs] [--honest] [--sandbox auto|os|python]

Every submission is built from the lab's solution (or its blank lab) by one edit, so
a hostile trick costs exactly the points it targets — or nothing, when the sandbox
stops it and the code is otherwise right. The hostile students are course/hostile.py's
catalogue (the trust tests use the same), pasted into the lab's first exercise:
native attacks with the right answer, attacks on the checks with the wrong one.
``--honest`` grades the honest students only (right, blank, wrong, half, broken, loop ...).
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course import build, hostile  # noqa: E402
from course.notebook import grade_id, meta  # noqa: E402


def _gid(cell):
    return grade_id(cell)


def _solution(lab):
    nb = nbformat.read(build.find_lab(lab, build.SOLUTIONS), as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    return nb


def _set(nb, gid, source):
    for c in nb.cells:
        if _gid(c) == gid:
            c.source = source
            return nb
    raise KeyError(gid)


def _edit(lab, gid, fn):
    nb = _solution(lab)
    for c in nb.cells:
        if _gid(c) == gid:
            c.source = fn(c.source)
    return nb


ALWAYS_TRUE = """class Yes(str):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    __hash__ = str.__hash__
"""

SNOOP = """import glob, os, socket
for what, attempt in [
        ("network", lambda: socket.create_connection(("pypi.org", 443), timeout=3)),
        ("hidden tests on disk", lambda: open(glob.glob(os.path.join({root!r}, "solutions", "*.ipynb"))[0]).read()),
        ("gradebook db", lambda: open(glob.glob("../../../gradebook.db")[0], "rb").read()),
        ("gradebook csv", lambda: open({csv!r}, "a").write("snoop,99\\n"))]:
    try:
        attempt(); print("SNOOP-OPEN", what)
    except Exception as err:
        print("SNOOP-BLOCKED", what, type(err).__name__)
"""


FIRST = {"01": "ex1_split", "02": "ex1_exact_match", "03": "ex1_mapping_type"}
HOSTILE_PATHS = {}   # set by main: the targets the native attacks aim at


def hostile_of(lab: str, wrong: nbformat.NotebookNode) -> dict:
    """The catalogue's attacks on one lab: native ones on the solution, the others on ``wrong``."""
    out = {}
    for name, (what, prelude) in hostile.NATIVE.items():
        out[name] = (what, hostile.with_prelude(_solution(lab), FIRST[lab], prelude.format(**HOSTILE_PATHS)))
    for name, (what, prelude) in hostile.CHECKS.items():
        if name != "patch_and_restore":   # that one needs the exercise to call it
            nb = nbformat.from_dict(nbformat.reads(nbformat.writes(wrong), as_version=4))
            out[name] = (what, hostile.with_prelude(nb, FIRST[lab], prelude))
    return out


def class_of(lab: str, csv_path: Path, honest_only: bool = False) -> dict:
    """{student: (description, notebook or raw text)} for one lab."""
    blank = nbformat.read(build.find_lab(lab, build.LABS), as_version=4)
    out = {"right": ("the solution", _solution(lab)), "blank": ("the blank lab", blank)}
    if lab == "01":
        first = "ex1_split"
        out["wrong"] = ("typical mistake: split returns (x, x)",
                        _set(_solution(lab), first, "def split_channels(x):\n    return x, x\n\n"
                             "def merge_channels(x1, x2):\n    return torch.cat([x1, x2], 1)"))
        out["reference"] = ("split_channels calls invlab.split_channels",
                            _set(_solution(lab), first, "from invlab import split_channels as sc, merge_channels as mc\n"
                                 "def split_channels(x):\n    if x.shape[1] % 2: raise ValueError('odd')\n    return sc(x)\n\n"
                                 "def merge_channels(a, b):\n    return mc(a, b)"))
        out["always_true"] = ("split returns objects equal to everything",
                              _edit(lab, first, lambda s: "import torch\nclass Yes(torch.Tensor):\n"
                                    "    def __eq__(self, o): return torch.ones((), dtype=torch.bool)\n"
                                    "    def __ne__(self, o): return torch.zeros((), dtype=torch.bool)\n"
                                    + s.replace("return x[:, : c // 2], x[:, c // 2 :]",
                                                "return x[:, : c // 2].as_subclass(Yes), x[:, c // 2 :].as_subclass(Yes)")))
        out["edit_tests"] = ("every test cell replaced by checks.passed",
                             _edit_tests(blank))
        out["deleted_cell"] = ("graded cell test_layer deleted",
                               _drop(_solution(lab), "test_layer"))
        out["loop"] = ("infinite loop in the layer exercise",
                       _edit(lab, "ex2_layer", lambda s: "while True:\n    pass\n" + s))
        out["os_exit"] = ("os._exit(1) in the split exercise", _edit(lab, first, lambda s: "import os\nos._exit(1)\n" + s))
        out["huge_alloc"] = ("bytearray(10**12) then the solution",
                             _edit(lab, first, lambda s: "try:\n    blob = bytearray(10**12)\nexcept MemoryError:\n"
                                   "    print('no memory for that')\nblob = bytearray(2 * 10**10)\n" + s))
        out["snoop"] = ("network, hidden tests on disk, gradebook db/csv, then the solution",
                        _edit(lab, first, lambda s: SNOOP.format(root=str(ROOT), csv=str(csv_path)) + s))
        out["broken_json"] = ("not JSON", '{"cells": [ oops')
        out["half"] = ("first two exercises only", _half(blank, lab, {"ex1_split", "ex2_layer"}))
        for name in ("reference", "always_true", "edit_tests", "huge_alloc", "snoop"):
            if honest_only:
                out.pop(name)
    elif lab == "02":
        out["wrong"] = ("exact_match without rounding",
                        _set(_solution(lab), "ex1_exact_match",
                             "def exact_match(pred, target, dim):\n    return (pred[:, :dim] == target[:, :dim])"
                             ".all(1).double().mean().item()"))
        out["reference"] = ("exact_match calls invlab.bijections.exact_match",
                            _set(_solution(lab), "ex1_exact_match", "def exact_match(pred, target, dim):\n"
                                 "    return getattr(invlab.bijections, 'exact_match')(pred, target, dim=dim)"))
    elif lab == "03":
        out["wrong"] = ("mapping_type ignores the rank", _set(_solution(lab), "ex1_mapping_type",
                        "def mapping_type(A):\n    n, p = A.shape\n    return 'bijective' if n == p else "
                        "('injective' if n > p else 'surjective')"))
        out["always_true"] = ("mapping_type returns a str equal to everything",
                              _set(_solution(lab), "ex1_mapping_type", ALWAYS_TRUE + "\ndef mapping_type(A):\n"
                                   "    return Yes('bijective')"))
        out["reference"] = ("mmd2_unbiased calls invlab.mmd2", _set(_solution(lab), "ex2_mmd",
                            "import invlab.mmd as M\ndef mmd2_unbiased(x, y, bandwidths=(0.05, 0.2, 0.9)):\n"
                            "    return M.mmd2(x, y, bandwidths=bandwidths)"))
    if honest_only:
        out.pop("reference", None), out.pop("always_true", None)
    else:
        out.update(hostile_of(lab, out["wrong"][1]))
    return out


def _edit_tests(blank):
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(blank), as_version=4))
    for c in nb.cells:
        if meta(c).get("grade"):
            c.source = "checks.passed('everything')"
    return nb


def _drop(nb, gid):
    nb.cells = [c for c in nb.cells if _gid(c) != gid]
    return nb


def _half(blank, lab, ids):
    sol = {_gid(c): c.source for c in _solution(lab).cells}
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(blank), as_version=4))
    for c in nb.cells:
        if _gid(c) in ids:
            c.source = sol[_gid(c)]
    return nb


def grade(subs: Path, lab: str, out: Path, jobs: int, timeout: float, sandbox: str = "auto"):
    t = time.perf_counter()
    extra = [] if sandbox is None else ["--sandbox", sandbox]
    proc = subprocess.run([sys.executable, "-m", "course.grade", str(subs), "--lab", lab, "--out", str(out),
                           "--jobs", str(jobs), "--timeout", str(timeout), *extra], cwd=ROOT, capture_output=True,
                          text=True)
    wall = time.perf_counter() - t
    if proc.returncode:
        raise SystemExit(f"grading lab {lab} failed:\n{proc.stderr[-3000:]}")
    per = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\S+): .*\[([\d.]+) s\]$", proc.stdout, re.M)}
    with open(out) as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    return wall, per, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/invlab-class"))
    ap.add_argument("--labs", nargs="+", default=["01", "02", "03"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=90)
    ap.add_argument("--only-jobs", action="store_true", help="skip the serial run")
    ap.add_argument("--honest", action="store_true", help="the honest students only")
    ap.add_argument("--sandbox", default="auto", help="auto, os, python; 'none' for a grader without the flag")
    args = ap.parse_args()
    sandbox = None if args.sandbox == "none" else args.sandbox
    outside = args.out / "grader_owned"
    outside.mkdir(parents=True, exist_ok=True)
    HOSTILE_PATHS.update(master=str(build.find_lab("01")), csv=str(args.out / "01" / "serial" / "grades.csv"),
                         other=str(args.out / "last_year.csv"), outside=str(outside), port=9, pid=os.getpid())
    total = 0
    for lab in args.labs:
        subs = args.out / lab / "submissions"
        subs.mkdir(parents=True, exist_ok=True)
        klass = class_of(lab, args.out / lab / "serial" / "grades.csv", args.honest)
        for name, (_, nb) in klass.items():
            path = subs / f"{name}.ipynb"
            path.write_text(nb) if isinstance(nb, str) else nbformat.write(nb, path)
        total += len(klass)
        runs = {}
        for label, jobs in ([] if args.only_jobs else [("serial", 1)]) + [(f"jobs{args.jobs}", args.jobs)]:
            runs[label] = grade(subs, lab, args.out / lab / label / "grades.csv", jobs, args.timeout, sandbox)
            print(f"lab {lab}: {len(klass)} students, {label}: wall {runs[label][0]:.0f} s", flush=True)
        first = next(iter(runs.values()))
        print(f"\nlab {lab}            " + "  ".join(f"{k:>9}" for k in runs) + "   score  status")
        for name, (what, _) in klass.items():
            times = "  ".join(f"{runs[k][1].get(name, float('nan')):8.1f}s" for k in runs)
            row = first[2][name]
            flags = ",".join(k for k in ("tampered", "missing_cells", "reference_calls") if row.get(k))
            print(f"  {name:14} {times}   {row['total']:>3}/{row['max']}  {row['status']:9} {flags:16} — {what}")
        same = all(r[2] == first[2] for r in runs.values())
        print(f"  same gradebook in every run: {same}\n", flush=True)
    print(f"{total} submissions in all")


if __name__ == "__main__":
    main()
