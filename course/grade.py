"""Grade a class's notebooks with nbgrader's autograder, offline, no JupyterHub.

    python -m course.grade SUBMISSIONS --lab 01 --out grades.csv [--jobs 4] [--resume]
    python -m course.grade SUBMISSIONS --lab 01 --out part2.csv --shard 2/8
    python -m course.grade merge part*.csv --out grades.csv

``SUBMISSIONS`` holds one ``STUDENT.ipynb`` per student, or one folder per student
with the lab's notebook inside. Each student is autograded in a course directory of
their own (:mod:`course.autograde`) by a sandboxed kernel (network off, memory cap,
the grader's files out of reach: :mod:`course.sandbox`), so an endless loop (cut by
``--timeout`` per cell), a crash or a dead kernel costs that student the points, never
the batch. Test cells a student edited are restored from the master copy; a deleted or
renamed graded cell scores 0 and is flagged; an exercise that calls the course's own
implementation of what it asks for scores 0 (:mod:`course.integrity`).

Writes the gradebook CSV — ``student``, one column per graded cell (its grade_id),
``total``, ``max``, ``status`` — one row per student as soon as that student is graded
(atomically: a temporary file, then ``os.replace``), sorted by student, and
``feedback/STUDENT.html`` beside it: self-contained pages without hidden tests
(:mod:`course.feedback`). ``--resume`` keeps the rows already in the CSV.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from course.build import ROOT, SOLUTIONS, find_lab, lab_notebooks

__all__ = ["find_submissions", "grade", "merge", "shard_of", "main"]


class GradingError(ValueError):
    """A problem the instructor must fix; its message says how (one line)."""


def _student_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip("._") or "student"


def find_submissions(folder: Path, lab_name: str) -> Dict[str, Optional[Path]]:
    """Map each student to their notebook (``None`` with a folder but no notebook)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GradingError(f"SUBMISSIONS must be a folder of notebooks, got {folder}: "
                           "pass the folder that holds STUDENT.ipynb files or STUDENT/ folders")
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
    return dict(sorted(found.items()))


def shard_of(students: Sequence[str], shard: Tuple[int, int]) -> List[str]:
    """The K-th of N deterministic shards (1-based K): every N-th student by sorted id."""
    k, n = shard
    return [s for i, s in enumerate(sorted(students)) if i % n == k - 1]


def _parse_shard(text: str) -> Tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise GradingError(f"--shard must be K/N with 1 ≤ K ≤ N (e.g. 3/8), got {text!r}")
    return int(m.group(1)), int(m.group(2))


# ---------------------------------------------------------------- the gradebook CSV
def _header(points: Dict[str, float]) -> List[str]:
    from course.autograde import FLAGS
    return ["student", *points, "total", "max", *FLAGS]


def _row(res, points: Dict[str, float]) -> List[str]:
    flags = res.flags()
    return [res.student, *(f"{res.scores[g]:g}" for g in points), f"{res.total:g}",
            f"{sum(points.values()):g}", *flags.values()]


def _read_csv(path: Path) -> Tuple[List[str], Dict[str, List[str]]]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return [], {}
    return rows[0], {r[0]: r for r in rows[1:] if r}


def _write_atomic(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_csv(path: Path, header: List[str], rows: Dict[str, List[str]]) -> None:
    def write(fh):
        w = csv.writer(fh)
        w.writerow(header)
        for sid in sorted(rows):
            w.writerow(rows[sid])
    _write_atomic(path, write)


# ---------------------------------------------------------------- checks before grading
def _require_nbgrader() -> None:
    try:
        import nbgrader  # noqa: F401  (only: is it installed?)
    except ImportError:
        raise GradingError(f"nbgrader is not installed for {sys.executable}: run `make install` "
                           "(or `pip install -r requirements.txt`) and grade again") from None


def _find_master(lab: str, source: Path) -> Path:
    try:
        return find_lab(lab, source)
    except ValueError as err:
        labs = ", ".join(p.stem.split("_")[0] for p in lab_notebooks(source)) or "none"
        raise GradingError(f"{err}; pass one of these to --lab: {labs}") from None


def _safe_to_deny(path: Path) -> bool:
    """A folder the student's kernel may be kept out of (never one holding the package)."""
    p = os.path.realpath(path)
    keep = [os.path.realpath(ROOT / "invlab"), os.path.realpath(sys.prefix)]
    return not any(k == p or k.startswith(p + os.sep) for k in keep)


# ---------------------------------------------------------------- grading a class
def grade(submissions: Path, lab: str, out_csv: Path, timeout: float = 120.0,
          source: Path = SOLUTIONS, log=print, jobs: int = 1, shard: Optional[Tuple[int, int]] = None,
          resume: bool = False, memory_mb: int = 8192, sandbox: str = "auto", cpu_seconds: int = 3600) -> list:
    """Grade the submissions; each row and feedback page is saved as soon as it is ready.

    ``sandbox``: ``auto`` (the operating-system sandbox where it can start, else the Python
    fallback with a warning), ``os`` or ``python`` (:func:`course.sandbox.choose`).
    Returns the results of the students graded in this run (not those kept by ``resume``).
    """
    from course import autograde
    from course import sandbox as sandboxes
    _require_nbgrader()
    try:
        mode, warning = sandboxes.choose(sandbox)
    except ValueError as err:
        raise GradingError(str(err)) from None
    if warning:
        print(warning, file=sys.stderr)
    master_path = _find_master(lab, Path(source))
    name = master_path.stem
    subs = find_submissions(Path(submissions), name)
    if not subs:
        raise GradingError(f"no submissions in {submissions}: expected one STUDENT.ipynb per student "
                           f"or one STUDENT/ folder each holding {name}.ipynb")
    labs = autograde.other_labs(Path(source))
    _refuse_other_lab(subs, name, labs)
    if shard is not None:
        subs = {s: subs[s] for s in shard_of(list(subs), shard)}
    import nbformat
    points = autograde.graded_ids(nbformat.read(master_path, as_version=4))
    out_csv = Path(out_csv)
    feedback_dir = out_csv.parent / "feedback"
    header = _header(points)
    rows: Dict[str, List[str]] = {}
    if resume and out_csv.exists():
        old_header, rows = _read_csv(out_csv)
        if old_header and old_header != header:
            raise GradingError(f"{out_csv} has other columns than lab {name} ({', '.join(c for c in old_header[1:] if c in points) or 'other columns'}): "
                               "resume with its own --lab, or write to another --out")
        rows = {s: r for s, r in rows.items() if s in subs}
        log(f"resuming: {len(rows)} of {len(subs)} students already in {out_csv}")
    elif out_csv.exists():
        log(f"{out_csv} exists: regrading every student (--resume keeps its rows)")
    todo = [s for s in subs if s not in rows]
    _write_csv(out_csv, header, rows)
    feedback_dir.mkdir(parents=True, exist_ok=True)

    deny = [str(p) for p in (Path(source).resolve(), SOLUTIONS, out_csv.resolve(), feedback_dir.resolve(),
                             Path(submissions).resolve()) if _safe_to_deny(p)]
    results = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="invlab-grade-") as tmp:
        master = autograde.prepare(master_path, Path(tmp), timeout, memory_mb, deny, mode, cpu_seconds)

        def save(res):
            if res.feedback is not None:
                _write_atomic(feedback_dir / f"{res.student}.html", lambda fh: fh.write(res.feedback))
                res.feedback = None
            rows[res.student] = _row(res, points)
            _write_csv(out_csv, header, rows)  # saved before the next student starts
            results.append(res)
            log(f"{res.student}: {res.total:g} / {sum(points.values()):g} ({res.status}"
                + (f": {res.note}" if res.note else "") + f") [{res.seconds:.1f} s]")

        if jobs <= 1:
            try:
                for sid in todo:
                    save(autograde.grade_student(master, sid, subs[sid], Path(tmp), labs))
            except KeyboardInterrupt:
                autograde.kill_live()
                _interrupted(log, results, len(todo), out_csv)
                raise
        else:
            import multiprocessing
            args = [(master, sid, subs[sid], Path(tmp), labs) for sid in todo]
            pool = multiprocessing.get_context("fork").Pool(jobs, initializer=autograde.worker_init)
            try:
                for res in pool.imap_unordered(_grade_one, args):
                    save(res)
            except BaseException:
                pool.terminate()  # each worker's SIGTERM handler takes its nbgrader down
                pool.join()
                _interrupted(log, results, len(todo), out_csv)
                raise
            pool.close()
            pool.join()
    log(f"{len(results)} students graded in {time.perf_counter() - t0:.1f} s")
    return results


def _grade_one(args):
    from course import autograde
    return autograde.grade_student(*args)


def _interrupted(log, results, n, out_csv) -> None:
    log(f"interrupted: {len(results)} of {n} students graded in this run are saved in {out_csv}; "
        "run again with --resume to grade the others")


def _refuse_other_lab(subs: Dict[str, Optional[Path]], name: str, labs) -> None:
    """Stop when every readable notebook belongs to one other lab (a wrong --lab)."""
    from course import autograde
    import nbformat
    seen = []
    for path in subs.values():
        if path is None:
            continue
        try:
            seen.append(autograde.lab_of(nbformat.read(path, as_version=4), labs))
        except Exception:
            continue
    found = {s for s in seen if s is not None}
    if seen and len(found) == 1 and name not in found and None not in seen:
        other = found.pop()
        raise GradingError(f"the notebooks in these submissions are lab {other}, not {name}: "
                           f"grade them with --lab {other.split('_')[0]}")


# ---------------------------------------------------------------- shards
def merge(csvs: Sequence[Path], out: Path, log=print) -> int:
    """Combine shard gradebooks (and their feedback folders) into one; returns the row count."""
    if not csvs:
        raise GradingError("merge needs at least one gradebook CSV")
    header, rows = None, {}
    for path in map(Path, csvs):
        if not path.exists():
            raise GradingError(f"no such gradebook: {path}")
        h, r = _read_csv(path)
        if header is None:
            header = h
        elif h != header:
            raise GradingError(f"{path} has other columns than {csvs[0]}: are both the same lab?")
        for sid, row in r.items():
            if sid in rows and rows[sid] != row:
                raise GradingError(f"student {sid} has different rows in two gradebooks (one is {path}): "
                                   "regrade that student or drop one row")
            rows[sid] = row
        fb = path.parent / "feedback"
        dest = Path(out).parent / "feedback"
        if fb.is_dir() and fb.resolve() != dest.resolve():
            dest.mkdir(parents=True, exist_ok=True)
            for sid in r:
                if (fb / f"{sid}.html").exists():
                    shutil.copyfile(fb / f"{sid}.html", dest / f"{sid}.html")
    _write_csv(Path(out), header, rows)
    log(f"merged {len(csvs)} gradebooks: {len(rows)} students -> {out}")
    return len(rows)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["merge"]:
        ap = argparse.ArgumentParser(prog="python -m course.grade merge",
                                     description="Merge shard gradebooks into the class gradebook.")
        ap.add_argument("csvs", nargs="+", type=Path)
        ap.add_argument("--out", type=Path, required=True)
        args = ap.parse_args(argv[1:])
        try:
            merge(args.csvs, args.out)
        except GradingError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0
    ap = argparse.ArgumentParser(prog="python -m course.grade", description=__doc__.split("\n\n")[0])
    ap.add_argument("submissions", type=Path, help="folder: STUDENT.ipynb files or STUDENT/ folders")
    ap.add_argument("--lab", required=True, help='which lab, e.g. "01" or "01_irevnet"')
    ap.add_argument("--out", type=Path, default=Path("grades.csv"), help="gradebook CSV to write")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per cell")
    ap.add_argument("--source", type=Path, default=SOLUTIONS, help="folder of solution notebooks")
    ap.add_argument("--jobs", type=int, default=1, help="students graded at once (processes)")
    ap.add_argument("--shard", default=None, help="K/N: grade only the K-th of N shards of the class")
    ap.add_argument("--resume", action="store_true", help="keep the students already in --out")
    ap.add_argument("--memory-mb", type=int, default=8192,
                    help="address-space cap of each student's kernel, MiB (0: none)")
    ap.add_argument("--cpu-seconds", type=int, default=3600,
                    help="CPU-time cap of each student's kernel, seconds (0: none)")
    ap.add_argument("--sandbox", choices=("auto", "os", "python"), default="auto",
                    help="auto: bubblewrap where it can start, else the Python audit hook (with a warning)")
    args = ap.parse_args(argv)
    try:
        if args.jobs < 1:
            raise GradingError(f"--jobs must be ≥ 1, got {args.jobs}")
        shard = _parse_shard(args.shard) if args.shard else None
        results = grade(args.submissions, args.lab, args.out, args.timeout, args.source,
                        jobs=args.jobs, shard=shard, resume=args.resume, memory_mb=args.memory_mb,
                        sandbox=args.sandbox, cpu_seconds=args.cpu_seconds)
    except GradingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print(f"graded {len(results)} students -> {args.out} (feedback in {args.out.parent / 'feedback'})")
    return 0


def __getattr__(name):  # ``grade.Result`` keeps working for callers of the old module
    if name == "Result":
        from course.autograde import Result
        return Result
    raise AttributeError(name)


if __name__ == "__main__":
    sys.exit(main())
