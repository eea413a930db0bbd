"""A large synthetic class of the cheapest lab, timed three ways, with the grader's own overhead
step by step (issue 23).

    PYTHONPATH=$PWD python benchmarks/grading_scale.py [--students 200] [--lab 07] [--sample 10]
        [--out /tmp/invlab-scale] [--skip-serial] [--skip-jobs] [--skip-slurm]

The class mixes right answers (50 %), a typical wrong answer (20 %), broken notebooks
(blank, not JSON, an endless loop: 15 %) and hostile ones (course/hostile.py: 15 %).

* serial: a sample of ``--sample`` students graded one at a time, scaled to the class;
* ``--jobs 2``: the whole class on this machine;
* Slurm: the whole class as a 2-task array on a private single-node cluster (submit.sh).

Each student's time is split into the grader's steps (course/autograde.py STEPS; inside
``run``: nbgrader and the kernel's start, the notebook itself, nbgrader's own work after it).
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course import build, grade, hostile  # noqa: E402
from course.notebook import meta  # noqa: E402
from grading_class import _solution  # noqa: E402  (this folder: a solution without its outputs)



def _first_exercise(nb) -> str:
    return next(meta(c)["grade_id"] for c in nb.cells if meta(c).get("solution"))


def make_class(lab: str, n: int, folder: Path) -> dict:
    """Write ``n`` synthetic submissions into ``folder``; returns {student: kind}."""
    folder.mkdir(parents=True, exist_ok=True)
    sol, blank = _solution(lab), nbformat.read(build.find_lab(lab, build.LABS), as_version=4)
    first = _first_exercise(sol)
    wrong = _solution(lab)
    for c in wrong.cells:          # a wrong first exercise: its body replaced by a plausible slip
        if meta(c).get("grade_id") == first:
            c.source = c.source.replace("# BEGIN SOLUTION", "return None  # a wrong answer\n    # BEGIN SOLUTION", 1) \
                if "def " in c.source else c.source
    loop = _solution(lab)
    hostile.with_prelude(loop, first, "while True:\n    pass")
    attacks = sorted(hostile.CHECKS)
    paths = {"master": str(build.find_lab(lab)), "csv": str(folder / "x.csv"), "other": str(folder / "y.csv"),
             "outside": str(folder / "z"), "port": 9, "pid": os.getpid()}
    kinds = {}
    for i in range(n):
        r = i % 20
        if r < 10:
            kind, nb = "right", sol
        elif r < 14:
            kind, nb = "wrong", wrong
        elif r == 14:
            kind, nb = "blank", blank
        elif r == 15:
            kind, nb = "not_json", None
        elif r == 16:
            kind, nb = "loop", loop
        else:
            name = attacks[(i // 20) % len(attacks)] if r < 19 else sorted(hostile.NATIVE)[(i // 20) % 4]
            kind = f"hostile:{name}"
            base = _solution(lab) if name in hostile.NATIVE else nbformat.reads(nbformat.writes(wrong), 4)
            prelude = hostile.NATIVE[name][1].format(**paths) if name in hostile.NATIVE else hostile.CHECKS[name][1]
            nb = hostile.with_prelude(base, first, prelude)
        path = folder / f"s{i:03d}.ipynb"
        if nb is None:
            path.write_text('{"cells": [ oops')
        else:
            nbformat.write(nb, path)
        kinds[path.stem] = kind
    return kinds


def steps_table(results) -> str:
    per = defaultdict(list)
    for r in results:
        for k, v in r.steps.items():
            per[k].append(v)
    lines = [f"{'step':46s} {'mean s':>8s} {'median':>8s}"]
    for k, v in per.items():
        lines.append(f"{k:46s} {statistics.mean(v):8.2f} {statistics.median(v):8.2f}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=200)
    ap.add_argument("--lab", default="07")
    ap.add_argument("--sample", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--out", type=Path, default=Path("/tmp/invlab-scale"))
    ap.add_argument("--skip-serial", action="store_true")
    ap.add_argument("--skip-jobs", action="store_true")
    ap.add_argument("--skip-slurm", action="store_true")
    args = ap.parse_args()
    subs = args.out / "submissions"
    kinds = make_class(args.lab, args.students, subs)
    print(f"{len(kinds)} students of lab {args.lab}: "
          + ", ".join(f"{k} {sum(1 for v in kinds.values() if v.split(':')[0] == k)}"
                      for k in ("right", "wrong", "blank", "not_json", "loop", "hostile")), flush=True)
    quiet = lambda *a, **k: None  # noqa: E731
    if not args.skip_serial:
        sample = args.out / "sample"
        sample.mkdir(parents=True, exist_ok=True)
        for stem in sorted(kinds)[:args.sample]:
            (sample / f"{stem}.ipynb").write_bytes((subs / f"{stem}.ipynb").read_bytes())
        t = time.perf_counter()
        res = grade.grade(sample, args.lab, args.out / "serial" / "grades.csv", timeout=args.timeout, log=quiet)
        wall = time.perf_counter() - t
        print(f"\nserial: {args.sample} students in {wall:.0f} s = {wall / args.sample:.1f} s each "
              f"-> {wall / args.sample * args.students / 60:.0f} min for {args.students} (estimated)")
        print(steps_table(res), flush=True)
    if not args.skip_jobs:
        t = time.perf_counter()
        res = grade.grade(subs, args.lab, args.out / "jobs2" / "grades.csv", timeout=args.timeout, jobs=2, log=quiet)
        wall = time.perf_counter() - t
        print(f"\n--jobs 2: {len(res)} students in {wall / 60:.1f} min ({wall / len(res):.1f} s per student)")
        print(steps_table(res), flush=True)
        with open(args.out / "jobs2" / "grades.csv") as fh:
            rows = list(csv.DictReader(fh))
        by = defaultdict(list)
        for row in rows:
            by[kinds[row["student"]].split(":")[0]].append(row)
        for k, rs in sorted(by.items()):
            print(f"  {k:9s} {len(rs):4d} students, mean {statistics.mean(float(r['total']) for r in rs):.2f} "
                  f"of {rs[0]['max']}, status {sorted({r['status'] for r in rs})}")
    if not args.skip_slurm:
        from course.slurm.cluster import SlurmCluster, unavailable
        why = unavailable()
        if why:
            print(f"\nSlurm: skipped ({why})")
            return
        with SlurmCluster(args.out / "slurm-cluster") as cluster:
            t = time.perf_counter()
            env = {"INVLAB_PYTHON": sys.executable, "GRADE_ARGS": f"--timeout {args.timeout}"}
            cluster.run(["bash", str(ROOT / "course" / "slurm" / "submit.sh"), args.lab, str(subs),
                         str(args.out / "slurm"), "2", "1"], cwd=ROOT, env=env)
            cluster.wait_until_idle(timeout=6 * 3600)
            wall = time.perf_counter() - t
        same = (args.out / "slurm" / "grades.csv").read_text() == (args.out / "jobs2" / "grades.csv").read_text() \
            if not args.skip_jobs else "not compared"
        print(f"\nSlurm, a 2-task array on this machine: {args.students} students in {wall / 60:.1f} min; "
              f"the same gradebook as --jobs 2: {same}")


if __name__ == "__main__":
    main()
