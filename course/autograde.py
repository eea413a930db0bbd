"""Grade one student: nbgrader's autograder in a course directory of their own.

:func:`prepare` releases the lab once (``nbgrader generate_assignment`` into a base
course directory, then removes the master copies from it: the gradebook database keeps
what autograding needs). :func:`grade_student` copies that base course, autogrades the
student's notebook there with the sandboxed kernel (:mod:`course.sandbox`), reads the
scores, applies the reference-answer rule (:mod:`course.integrity`) and renders the
feedback page (:mod:`course.feedback`). Students share nothing, so any number of them
can be graded at once.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set

import nbformat

from course import feedback, integrity, sandbox
from course.build import LABS, ROOT, lab_notebooks, make_course

__all__ = ["Result", "Master", "prepare", "grade_student", "lab_of", "graded_ids"]

# Grades must not depend on the grading machine: every student runs on the CPU.
GRADING_ENV = {"INVLAB_DEVICE": "cpu", "CUDA_VISIBLE_DEVICES": "", "INVLAB_OFFLINE": "1"}


@dataclass
class Result:
    student: str
    scores: Dict[str, float] = field(default_factory=dict)
    status: str = "graded"
    seconds: float = 0.0
    feedback: Optional[str] = None  # the HTML page, when one was made

    @property
    def total(self) -> float:
        return float(sum(self.scores.values()))


@dataclass
class Master:
    """What grading a lab needs, computed once per batch."""
    name: str
    course: Path               # the released base course (no master copies inside)
    points: Dict[str, float]   # graded cell -> points, in notebook order
    hidden: Set[str]           # lines of the hidden tests (to keep them out of feedback)
    rules: Dict[str, dict]     # reference-answer rules, course.integrity.rules_for
    locked: Set[str]           # grade_ids of the locked cells
    ids: Set[str] = field(default_factory=set)  # every grade_id of the lab
    timeout: float = 120.0
    memory_mb: int = 8192
    deny: List[str] = field(default_factory=list)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def graded_ids(nb: nbformat.NotebookNode) -> Dict[str, float]:
    return {_meta(c)["grade_id"]: float(_meta(c).get("points", 0)) for c in nb.cells
            if _meta(c).get("grade") and _meta(c).get("grade_id")}


def lab_of(nb: nbformat.NotebookNode, labs: Dict[str, Set[str]]) -> Optional[str]:
    """The lab whose graded cells ``nb`` carries most of (None if none)."""
    ids = {_meta(c).get("grade_id") for c in nb.cells}
    best = max(labs, key=lambda k: len(ids & labs[k]), default=None)
    return best if best is not None and ids & labs[best] else None


def prepare(master_path: Path, workdir: Path, timeout: float, memory_mb: int,
            deny: List[str]) -> Master:
    master_path = Path(master_path)
    name = master_path.stem
    nb = nbformat.read(master_path, as_version=4)
    points = graded_ids(nb)
    if not points:
        raise ValueError(f"{master_path} has no graded cells (nbgrader metadata grade: true)")
    course = Path(workdir) / "base"
    course.mkdir(parents=True)
    make_course(course, [master_path])
    released = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    hidden = feedback.hidden_lines(nb, [c.source for c in released.cells])
    shutil.rmtree(course / "source")   # the kernel must find no master copy to read
    shutil.rmtree(course / "release")
    kernel = sandbox.install_kernelspec(course / "jupyter")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.ExecutePreprocessor.timeout = {int(timeout)}\n"
        "c.ExecutePreprocessor.interrupt_on_timeout = True\n"
        f"c.ExecutePreprocessor.kernel_name = {kernel!r}\n"
        "c.Execute.execute_retries = 0\n")
    locked = {_meta(c).get("grade_id") for c in nb.cells if _meta(c).get("locked")}
    ids = {_meta(c).get("grade_id") for c in nb.cells} - {None}
    return Master(name, course, points, hidden, integrity.rules_for(name, nb), locked,
                  timeout=timeout, memory_mb=memory_mb, deny=list(deny), ids=ids)


# ---------------------------------------------------------------- running nbgrader
_LIVE: Set[int] = set()  # process groups of the nbgrader runs under way in this process


def kill_live(*_):
    for pgid in list(_LIVE):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass


def _worker_init():
    """In a pool worker: Ctrl-C is the parent's business; SIGTERM takes nbgrader down too."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def term(*_):
        kill_live()
        os._exit(143)
    signal.signal(signal.SIGTERM, term)


def _die_with_parent():  # Linux: nbgrader (and so its kernel) ends when the grader is killed
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _nbgrader(course: Path, args: List[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"]
    full = dict(os.environ)
    full["PATH"] = str(Path(sys.executable).parent) + os.pathsep + full.get("PATH", "")
    full.pop("MPLBACKEND", None)  # the kernel draws inline, so the feedback keeps every figure
    full.update(env)
    proc = subprocess.Popen(cmd, cwd=course, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    _LIVE.add(proc.pid)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:  # timeout, Ctrl-C: nbgrader and its kernel go together
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    finally:
        _LIVE.discard(proc.pid)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _read_scores(course: Path, lab: str, student: str) -> Optional[Dict[str, float]]:
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            nb = gb.find_submission_notebook(lab, lab, student)
        except MissingEntry:
            return None
        return {g.name: float(g.score or 0) for g in nb.grades}


def other_labs(source: Path) -> Dict[str, Set[str]]:
    """grade_ids of every lab in the solutions folder and in labs/ (to recognise them)."""
    labs: Dict[str, Set[str]] = {}
    for folder in (Path(source), LABS):
        for p in lab_notebooks(folder):
            try:
                labs.setdefault(p.stem, set()).update(graded_ids(nbformat.read(p, as_version=4)))
            except Exception:
                continue
    return labs


# ---------------------------------------------------------------- one student
def grade_student(m: Master, student: str, path: Optional[Path], workdir: Path,
                  labs: Dict[str, Set[str]]) -> Result:
    """Grade one notebook; never raises for anything the student did."""
    start = time.perf_counter()
    res = Result(student, {gid: 0.0 for gid in m.points})
    try:
        _grade(m, res, path, Path(workdir), labs)
    finally:
        res.seconds = time.perf_counter() - start
    return res


def _grade(m: Master, res: Result, path: Optional[Path], workdir: Path, labs) -> None:
    if path is None:
        res.status = "no notebook found"
        return
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # JSON or schema errors: report, grade 0, go on
        res.status = f"malformed notebook ({type(err).__name__}: {str(err).splitlines()[0][:120]})"
        return
    which = lab_of(nb, labs)
    if which is not None and which != m.name and not set(m.points) & {_meta(c).get("grade_id") for c in nb.cells}:
        res.status = f"a notebook of lab {which}, not {m.name}"
        return
    for cell in nb.cells:  # a renamed cell is the student's own: no grade of its own
        if "nbgrader" in cell.get("metadata", {}) and _meta(cell).get("grade_id") not in m.ids:
            del cell.metadata["nbgrader"]
    submitted = [_meta(c).get("grade_id") for c in nb.cells]
    missing = [g for g in m.points if g not in submitted]
    notes = integrity.violations(nb, m.rules, m.locked)

    course = workdir / f"course-{res.student}"
    shutil.copytree(m.course, course)
    dest = course / "submitted" / res.student / m.name
    dest.mkdir(parents=True)
    nbformat.write(nb, dest / f"{m.name}.ipynb")
    scratch = course / "tmp"  # the kernel's TMPDIR: writable, like the student's own folder
    scratch.mkdir()
    env = dict(GRADING_ENV)
    env.update({"JUPYTER_PATH": str(course / "jupyter"), "TMPDIR": str(scratch),
                "INVLAB_SANDBOX_MEMORY_MB": str(m.memory_mb),
                "INVLAB_SANDBOX_DENY": os.pathsep.join([str(workdir), *m.deny]),
                "INVLAB_SANDBOX_ALLOW": os.pathsep.join([str(course / "autograded" / res.student), str(scratch)])})
    try:
        proc = _nbgrader(course, ["autograde", m.name, "--student", res.student, "--force"], env,
                         timeout=m.timeout * max(1, len(nb.cells)) + 120)
        log_text = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired:
        res.status = "autograder timed out"
        return
    scores = _read_scores(course, m.name, res.student)
    if scores is None:
        res.status = "autograder failed: " + (re.findall(r"ERROR.*", log_text) or ["no grades"])[-1][:160]
        return
    res.scores.update({k: v for k, v in scores.items() if k in m.points})
    flags = []
    if "Timeout" in log_text or "timed out" in log_text.lower():
        flags.append("a cell hit the time limit")
    if "DeadKernel" in log_text or "Kernel died" in log_text:
        flags.append("the kernel died")
    for gid in missing:
        res.scores[gid] = 0.0
        notes.setdefault(gid, "this graded cell is missing from your notebook (deleted, renamed or "
                              "pasted without its nbgrader metadata): it scores 0")
    for gid in notes:
        res.scores[gid] = 0.0
    if missing:
        flags.append(f"graded cells missing or renamed: {', '.join(missing)}")
    used = sorted(g for g in notes if g not in missing)
    if used:
        flags.append(f"reference answer called, set to 0: {', '.join(used)}")
    res.status = "graded" + (f" ({'; '.join(flags)})" if flags else "")

    graded = course / "autograded" / res.student / m.name / f"{m.name}.ipynb"
    try:
        done = nbformat.read(graded, as_version=4)
        res.feedback = feedback.render_html(done, m.hidden, {g: (res.scores[g], p) for g, p in m.points.items()},
                                            notes, m.name, res.status)
    except Exception as err:  # feedback is a courtesy; the grade stands (no temporary paths in the gradebook)
        why = ("nbgrader wrote no graded notebook" if not graded.exists() else
               f"{type(err).__name__}: {str(err).replace(str(course) + os.sep, '')[:80]}")
        res.status += f"; no feedback page ({why})"
    finally:
        shutil.rmtree(course, ignore_errors=True)
