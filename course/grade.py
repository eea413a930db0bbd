"""Grade a class's notebooks with nbgrader's autograder, offline, no JupyterHub.

    python -m course.grade SUBMISSIONS --lab 01 --out grades.csv

``SUBMISSIONS`` holds one ``STUDENT.ipynb`` per student, or one folder per student
with the lab's notebook inside. Each student is autograded in their own nbgrader run
inside a temporary course directory, so an endless loop (cut by ``--timeout`` per
cell), a crash or a dead kernel costs that student the points, never the batch. Test
cells a student edited are restored from the master copy (nbgrader's checksums and
its cell overwrite); a malformed file is reported and graded 0.

Writes the gradebook CSV — ``student``, one column per graded cell (its grade_id),
``total``, ``max``, and ``status`` — and ``feedback/STUDENT.html`` beside it.
"""
from __future__ import annotations

import argparse
import csv
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import nbformat

from course.build import SOLUTIONS, find_lab, make_course, run_nbgrader

__all__ = ["Result", "find_submissions", "grade", "main"]

# Grades must not depend on the grading machine: every student runs on the CPU.
GRADING_ENV = {"INVLAB_DEVICE": "cpu", "CUDA_VISIBLE_DEVICES": "", "INVLAB_OFFLINE": "1"}


@dataclass
class Result:
    student: str
    scores: Dict[str, float] = field(default_factory=dict)
    status: str = "graded"

    @property
    def total(self) -> float:
        return float(sum(self.scores.values()))


def _student_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip("._") or "student"


def find_submissions(folder: Path, lab_name: str) -> Dict[str, Optional[Path]]:
    """Map each student to their notebook (``None`` with a folder but no notebook)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"SUBMISSIONS must be a folder of notebooks, got {folder}")
    found: Dict[str, Optional[Path]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name == "feedback":
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            sid, path = _student_id(entry.stem), entry
        elif entry.is_dir():
            nbs = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            exact = [p for p in nbs if p.stem == lab_name]
            sid, path = _student_id(entry.name), exact[0] if exact else (nbs[0] if len(nbs) == 1 else None)
        else:
            continue
        base, k = sid, 2
        while sid in found:  # "Ann Lee/" and "Ann_Lee.ipynb" must stay two students
            sid, k = f"{base}-{k}", k + 1
        found[sid] = path
    return found


def _grade_ids(master: Path) -> Dict[str, float]:
    nb = nbformat.read(master, as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            out[meta["grade_id"]] = float(meta.get("points", 0))
    return out


def _read_scores(course: Path, lab: str, student: str) -> Optional[Dict[str, float]]:
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            nb = gb.find_submission_notebook(lab, lab, student)
        except MissingEntry:
            return None
        return {g.name: float(g.score) for g in nb.grades}


def grade(submissions: Path, lab: str, out_csv: Path, timeout: float = 120.0,
          source: Path = SOLUTIONS, log=print) -> List[Result]:
    """Grade every submission in ``submissions``; write the CSV and feedback; return results."""
    master = find_lab(lab, source)
    name = master.stem
    points = _grade_ids(master)
    if not points:
        raise ValueError(f"{master} has no graded cells (nbgrader metadata grade: true)")
    subs = find_submissions(Path(submissions), name)
    out_csv = Path(out_csv)
    feedback_dir = out_csv.parent / "feedback"
    feedback_dir.mkdir(parents=True, exist_ok=True)
    results: List[Result] = []
    with tempfile.TemporaryDirectory(prefix="invlab-grade-") as tmp:
        course = Path(tmp)
        make_course(course, [master])
        (course / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.ExecutePreprocessor.timeout = {int(timeout)}\n"
            "c.ExecutePreprocessor.interrupt_on_timeout = True\n"
            "c.Execute.execute_retries = 0\n")
        for student, path in subs.items():
            res = Result(student, {gid: 0.0 for gid in points})
            results.append(res)
            if path is None:
                res.status = "no notebook found"
                log(f"{student}: {res.status}")
                continue
            try:
                nb = nbformat.read(path, as_version=4)
            except Exception as err:  # JSON or schema errors: report, grade 0, go on
                res.status = f"malformed notebook ({type(err).__name__}: {str(err).splitlines()[0][:120]})"
                log(f"{student}: {res.status}")
                continue
            submitted_ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
            missing = [g for g in points if g not in submitted_ids]
            dest = course / "submitted" / student / name
            dest.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, dest / f"{name}.ipynb")
            n_cells = max(1, len(nb.cells))
            try:
                proc = run_nbgrader(course, "autograde", name, "--student", student, "--force",
                                    timeout=timeout * n_cells + 120, extra_env=GRADING_ENV)
                log_text = proc.stdout + proc.stderr
            except subprocess.TimeoutExpired:
                res.status = "autograder timed out"
                log(f"{student}: {res.status}")
                continue
            scores = _read_scores(course, name, student)
            if scores is None:
                res.status = "autograder failed: " + (re.findall(r"ERROR.*", log_text) or ["no grades"])[-1][:160]
                log(f"{student}: {res.status}")
                continue
            res.scores.update({k: v for k, v in scores.items() if k in points})
            if "Timeout" in log_text or "timed out" in log_text.lower():
                res.status = "graded (a cell hit the time limit)"
            elif "DeadKernel" in log_text or "Kernel died" in log_text:
                res.status = "graded (the kernel died)"
            if missing:
                res.status += f"; test cells missing or without nbgrader metadata: {', '.join(missing)}"
            log(f"{student}: {res.total:g} / {sum(points.values()):g} ({res.status})")
        if any(r.status.startswith("graded") for r in results):  # one nbconvert run for the class
            fb = run_nbgrader(course, "generate_feedback", name, "--force")
            if fb.returncode != 0:
                log(f"feedback HTML could not be generated:\n{fb.stderr[-1500:]}")
            for r in results:
                html = course / "feedback" / r.student / name / f"{name}.html"
                if html.exists():
                    shutil.copyfile(html, feedback_dir / f"{r.student}.html")
    max_points = sum(points.values())
    with open(out_csv, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", *points, "total", "max", "status"])
        for r in results:
            w.writerow([r.student, *(f"{r.scores[g]:g}" for g in points), f"{r.total:g}",
                        f"{max_points:g}", r.status])
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course.grade", description=__doc__.split("\n\n")[0])
    ap.add_argument("submissions", type=Path, help="folder: STUDENT.ipynb files or STUDENT/ folders")
    ap.add_argument("--lab", required=True, help='which lab, e.g. "01" or "01_irevnet"')
    ap.add_argument("--out", type=Path, default=Path("grades.csv"), help="gradebook CSV to write")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per cell")
    ap.add_argument("--source", type=Path, default=SOLUTIONS, help="folder of solution notebooks")
    args = ap.parse_args(argv)
    try:
        results = grade(args.submissions, args.lab, args.out, args.timeout, args.source)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"graded {len(results)} students -> {args.out} (feedback in {args.out.parent / 'feedback'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
