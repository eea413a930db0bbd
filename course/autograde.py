"""Grade one student: a pipeline of named steps, each adding structured flags.

:func:`prepare` releases the lab once per batch (``nbgrader generate_assignment`` into a
base course directory, with the referee's lines around every graded cell, then removes the
master copies: the gradebook database keeps what autograding needs). :func:`grade_student`
then runs, for one student, in their own copy of that course:

====================  ==========================================================================
``read``              the notebook (a missing or malformed one scores 0, with its status)
``identify``          which lab it is (another lab's notebook is refused)
``restore``           graded cells the student renamed lose their metadata, deleted ones are
                      listed; nbgrader restores every locked cell's source from the master
``scan``              reference-answer calls read from the code (:mod:`course.integrity`)
``run``               nbgrader's autograder with the student's kernel in the sandbox
                      (:class:`course.sandbox.Policy`, built here, in one place)
``score``             nbgrader's scores, counted only where the referee's signed report
                      says the graded cell ran unchanged (:mod:`course.referee`)
``rules``             the integrity rules: reference calls and missing cells score 0; a
                      tampered notebook scores 0 for the whole lab
``feedback``          the student's page (:mod:`course.feedback`)
====================  ==========================================================================

Students share nothing, so any number of them can be graded at once.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set

import nbformat

from course import feedback, integrity, referee, sandbox
from course.build import kill_live, make_course, run_nbgrader
from course.notebook import graded_ids, lab_of, meta

__all__ = ["Result", "Master", "prepare", "grade_student", "STEPS", "FLAGS", "kill_live", "worker_init"]

# The gradebook's structured columns, beside one column per graded cell.
FLAGS = ("status", "tampered", "timed_out", "kernel_died", "missing_cells", "reference_calls", "sandbox", "note")


@dataclass
class Result:
    """One student's grade: scores per graded cell, a one-word status and structured flags."""
    student: str
    scores: Dict[str, float] = field(default_factory=dict)
    status: str = "graded"  # graded · tampered · no_notebook · malformed · wrong_lab · autograder_failed · timed_out
    tampered: List[str] = field(default_factory=list)         # graded cells whose report says so
    timed_out: bool = False
    kernel_died: bool = False
    missing_cells: List[str] = field(default_factory=list)
    reference_calls: List[str] = field(default_factory=list)
    sandbox: str = ""
    note: str = ""                                             # free text for the instructor
    seconds: float = 0.0
    steps: Dict[str, float] = field(default_factory=dict)     # seconds per step (and inside "run")
    feedback: Optional[str] = None  # the HTML page, when one was made

    @property
    def total(self) -> float:
        return float(sum(self.scores.values()))

    def flags(self) -> Dict[str, str]:
        """The structured columns, as the gradebook writes them."""
        return {"status": self.status, "tampered": ";".join(self.tampered), "timed_out": str(int(self.timed_out)),
                "kernel_died": str(int(self.kernel_died)), "missing_cells": ";".join(self.missing_cells),
                "reference_calls": ";".join(self.reference_calls), "sandbox": self.sandbox, "note": self.note}


@dataclass
class Master:
    """What grading a lab needs, computed once per batch."""
    name: str
    course: Path               # the released base course (no master copies inside)
    points: Dict[str, float]   # graded cell -> points, in notebook order
    hidden: Set[str]           # lines of the hidden tests (to keep them out of feedback)
    rules: Dict[str, dict]     # reference-answer rules, course.integrity.rules_for
    locked: Set[str]           # grade_ids of the locked cells
    expected: Dict[str, List[str]]  # graded cell -> fingerprints of the statements it runs
    ids: Set[str] = field(default_factory=set)  # every grade_id of the lab
    timeout: float = 120.0
    memory_mb: int = 8192
    cpu_seconds: int = 3600
    mode: str = "os"           # the sandbox: "os" or "python" (course.sandbox.choose)
    deny: List[str] = field(default_factory=list)


def prepare(master_path: Path, workdir: Path, timeout: float, memory_mb: int, deny: List[str],
            mode: str = "os", cpu_seconds: int = 3600) -> Master:
    """Release the lab once, with the referee's lines in its graded cells and setup cell."""
    master_path = Path(master_path)
    name = master_path.stem
    nb = nbformat.read(master_path, as_version=4)
    points = graded_ids(nb)
    if not points:
        raise ValueError(f"{master_path} has no graded cells (nbgrader metadata grade: true)")
    refereed = nbformat.read(master_path, as_version=4)
    expected = {}
    for cell in refereed.cells:
        gid = meta(cell).get("grade_id")
        if cell.cell_type == "code" and gid in points:
            cell.source = referee.with_markers(cell.source, gid)
            expected[gid] = [referee.fingerprint(c) for c in referee.statements(cell.source)[1:]]
        elif cell.cell_type == "code" and gid == "setup":
            cell.source = referee.with_markers(cell.source, gid, kind="setup")
    course = Path(workdir) / "base"
    (course / "master").mkdir(parents=True)
    nbformat.write(refereed, course / "master" / f"{name}.ipynb")
    make_course(course, [course / "master" / f"{name}.ipynb"])
    released = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    hidden = feedback.hidden_lines(nb, [c.source for c in released.cells])
    for folder in ("source", "release", "master"):   # the kernel must find no master copy to read
        shutil.rmtree(course / folder)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.ExecutePreprocessor.timeout = {int(timeout)}\n"
        "c.ExecutePreprocessor.interrupt_on_timeout = True\n"
        "c.ExecutePreprocessor.shutdown_kernel = 'immediate'\n"   # killed, not asked: no atexit of the student's runs
        f"c.ExecutePreprocessor.kernel_name = {sandbox.KERNEL_NAME!r}\n"
        "c.KernelManager.transport = 'ipc'\n"       # Unix sockets: the kernel has no network at all
        "c.Execute.execute_retries = 0\n")
    locked = {meta(c).get("grade_id") for c in nb.cells if meta(c).get("locked")}
    ids = {meta(c).get("grade_id") for c in nb.cells} - {None}
    return Master(name, course, points, hidden, integrity.rules_for(name, nb), locked, expected, ids=ids,
                  timeout=timeout, memory_mb=memory_mb, cpu_seconds=cpu_seconds, mode=mode, deny=list(deny))


def worker_init():
    """In a pool worker: Ctrl-C is the parent's business; SIGTERM takes nbgrader down too."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def term(*_):
        kill_live()
        os._exit(143)
    signal.signal(signal.SIGTERM, term)


# ---------------------------------------------------------------- one student, step by step
@dataclass
class Job:
    """One student's grading as it moves through :data:`STEPS`."""
    m: Master
    res: Result
    path: Optional[Path]
    workdir: Path
    labs: Dict[str, Set[str]]
    nb: Optional[nbformat.NotebookNode] = None
    notes: Dict[str, str] = field(default_factory=dict)
    course: Optional[Path] = None
    log: str = ""
    scores: Optional[Dict[str, float]] = None
    reports: List[dict] = field(default_factory=list)
    done: bool = False         # a step ended the grading early (the status says why)


def read(job: Job) -> None:
    if job.path is None:
        job.res.status, job.done = "no_notebook", True
        return
    try:
        job.nb = nbformat.read(job.path, as_version=4)
    except Exception as err:  # JSON or schema errors: report, grade 0, go on
        job.res.status, job.done = "malformed", True
        job.res.note = f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"


def identify(job: Job) -> None:
    which = lab_of(job.nb, job.labs)
    if which is not None and which != job.m.name and not set(job.m.points) & {meta(c).get("grade_id")
                                                                            for c in job.nb.cells}:
        job.res.status, job.done = "wrong_lab", True
        job.res.note = f"a notebook of lab {which}, not {job.m.name}"


def restore(job: Job) -> None:
    for cell in job.nb.cells:  # a renamed cell is the student's own: no grade of its own
        if "nbgrader" in cell.get("metadata", {}) and meta(cell).get("grade_id") not in job.m.ids:
            del cell.metadata["nbgrader"]
    present = {meta(c).get("grade_id") for c in job.nb.cells}
    job.res.missing_cells = [g for g in job.m.points if g not in present]


def scan(job: Job) -> None:
    job.notes.update(integrity.violations(job.nb, job.m.rules, job.m.locked))
    job.res.reference_calls = sorted(g for g in job.notes if g not in job.res.missing_cells)


def run(job: Job) -> None:
    m, res = job.m, job.res
    job.course = course = job.workdir / f"course-{res.student}"
    shutil.copytree(m.course, course)
    dest = course / "submitted" / res.student / m.name
    dest.mkdir(parents=True)
    nbformat.write(job.nb, dest / f"{m.name}.ipynb")
    (course / "tmp").mkdir()
    runtime = Path(tempfile.mkdtemp(prefix="ig", dir="/tmp" if os.path.isdir("/tmp") else None))  # short: socket paths
    own = course / "autograded" / res.student / m.name
    own.mkdir(parents=True)
    policy = sandbox.Policy.for_student(m.mode, own, course / "tmp", runtime, course / "referee.log",
                                        m.memory_mb, m.cpu_seconds, [str(job.workdir), *m.deny])
    policy_path = policy.save(course / "policy.json")
    sandbox.install_kernelspec(course / "jupyter", policy_path)
    with open(course / "nbgrader_config.py", "a") as fh:   # the kernel's connection file and sockets
        fh.write(f"c.KernelManager.connection_file = {str(runtime / 'kernel.json')!r}\n"
                 f"c.KernelManager.ip = {str(runtime / 'kernel')!r}\n")
    res.sandbox = m.mode
    env = {"JUPYTER_PATH": str(course / "jupyter"), "JUPYTER_RUNTIME_DIR": str(runtime)}
    t0 = time.time()
    try:
        proc = run_nbgrader(course, "autograde", m.name, "--student", res.student, "--force",
                            extra_env=env, timeout=m.timeout * max(1, len(job.nb.cells)) + 120)
        job.log = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired:
        res.status, res.timed_out, job.done = "timed_out", True, True
        return
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    job.scores = _read_scores(course, m.name, res.student)
    res.timed_out = "Timeout" in job.log or "timed out" in job.log.lower()
    res.kernel_died = "DeadKernel" in job.log or "Kernel died" in job.log
    if job.scores is None:
        res.status, job.done = "autograder_failed", True
        res.note = (re.findall(r"ERROR.*", job.log) or ["no grades"])[-1][:160]
    job.reports = referee.read_reports(course / "referee.log", policy.key)
    t1, times = time.time(), [float(r["t"]) for r in job.reports if "t" in r]
    if times:   # where nbgrader's time went: to the kernel being ready, the notebook, the rest
        res.steps.update({"run: nbgrader and kernel start": times[0] - t0,
                          "run: the notebook (to its last graded cell)": times[-1] - times[0],
                          "run: the rest, and nbgrader's own work": t1 - times[-1]})
    if job.scores is not None and not any(r.get("event") == "armed" for r in job.reports):
        res.status, job.done = "autograder_failed", True   # the grader's fault, not the student's
        res.note = "the referee did not start in the student's kernel"


def score(job: Job) -> None:
    """nbgrader's points count only where the referee vouches for the graded cell."""
    res = job.res
    ran = {}
    for r in job.reports:
        if "forged" in r or r.get("event") in ("tampered", "forged"):
            res.tampered.append(r.get("cell") or "(a forged report)")
        elif r.get("event") == "ran":
            ran.setdefault(r["cell"], []).append(r)
    for gid, got in job.scores.items():
        if gid not in job.m.points:
            continue
        res.scores[gid] = got
        if got > 0:
            vouched = [r for r in ran.get(gid, []) if r.get("clean") and r.get("statements") == job.m.expected[gid]]
            if not vouched or len(vouched) != len(ran.get(gid, [])):
                res.tampered.append(gid)   # passed for nbgrader, but not as the graded cell ran it
    res.tampered = sorted(set(res.tampered))


def rules(job: Job) -> None:
    res = job.res
    for gid in res.missing_cells:
        job.notes.setdefault(gid, "this graded cell is missing from your notebook (deleted, renamed or "
                                  "pasted without its nbgrader metadata): it scores 0")
    for gid in job.notes:
        res.scores[gid] = 0.0
    if res.tampered:
        res.status = "tampered"
        for gid in res.scores:
            res.scores[gid] = 0.0
        for gid in res.tampered:
            if gid in job.m.points:
                job.notes.setdefault(gid, "this graded cell found that code it relies on had been changed by "
                                          "your notebook, or it did not run as written: the lab scores 0 and "
                                          "your instructor will review it")
        res.note = "the referee's report of these graded cells does not vouch for them: " + ", ".join(res.tampered)


def make_feedback(job: Job) -> None:
    m, res = job.m, job.res
    graded = job.course / "autograded" / res.student / m.name / f"{m.name}.ipynb"
    try:
        done = nbformat.read(graded, as_version=4)
        res.feedback = feedback.render_html(done, m.hidden, {g: (res.scores[g], p) for g, p in m.points.items()},
                                            job.notes, m.name, res.status)
    except Exception as err:  # feedback is a courtesy; the grade stands (no temporary paths in the gradebook)
        why = ("nbgrader wrote no graded notebook" if not graded.exists() else
               f"{type(err).__name__}: {str(err).replace(str(job.course) + os.sep, '')[:80]}")
        res.note = (res.note + "; " if res.note else "") + f"no feedback page ({why})"


STEPS = (("read", read), ("identify", identify), ("restore", restore), ("scan", scan), ("run", run),
         ("score", score), ("rules", rules), ("feedback", make_feedback))


def grade_student(m: Master, student: str, path: Optional[Path], workdir: Path,
                  labs: Dict[str, Set[str]]) -> Result:
    """Grade one notebook through :data:`STEPS`; never raises for anything the student did."""
    start = time.perf_counter()
    job = Job(m, Result(student, {gid: 0.0 for gid in m.points}), path, Path(workdir), labs)
    try:
        for name, step in STEPS:
            t = time.perf_counter()
            step(job)
            job.res.steps[name] = time.perf_counter() - t
            if job.done:
                break
    finally:
        if job.course is not None:
            shutil.rmtree(job.course, ignore_errors=True)
        job.res.seconds = time.perf_counter() - start
    return job.res


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
    from course.build import LABS, lab_notebooks
    labs: Dict[str, Set[str]] = {}
    for folder in (Path(source), LABS):
        for p in lab_notebooks(folder):
            try:
                labs.setdefault(p.stem, set()).update(graded_ids(nbformat.read(p, as_version=4)))
            except Exception:
                continue
    return labs
