"""Build the student labs from the solutions with nbgrader's own preprocessors.

    python -m course.build            # solutions/*.ipynb -> labs/*.ipynb  (`make labs`)
    python -m course.build --check    # exit 1 if labs/ is stale
    python -m course.build --execute 04 05   # re-run these solutions, save their outputs, then build

A solution notebook is the single source of its lab:

* exercise code sits between ``# BEGIN SOLUTION`` / ``# END SOLUTION``;
* graded cells carry nbgrader schema-3 metadata (``grade``, ``grade_id``, ``points``,
  ``locked``) and may hold ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``.

``nbgrader generate_assignment`` runs in a temporary course directory: solutions become
``raise NotImplementedError()``, hidden tests go, outputs are cleared, cells are locked
and checksummed. Before that, the course's one setting — the repository URL in
``pyproject.toml`` (``[tool.invlab] repository``) — is written into every solution's
install cell and Colab badge.

The cell helpers below (:func:`markdown`, :func:`code`, :func:`solution`, :func:`graded`)
write that metadata for authors and tests.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable, List, Optional

import nbformat

from course import notebook

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LABS = ROOT / "labs"

__all__ = ["markdown", "code", "solution", "graded", "new_notebook", "lab_notebooks",
           "find_lab", "repository_url", "colab_url", "apply_repository", "run_nbgrader", "kill_live",
           "make_course", "build_labs", "stale_labs"]


# ---------------------------------------------------------------- authoring helpers
def _meta(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
         "solution": solution, "task": False}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def markdown(text: str, grade_id: Optional[str] = None):
    """A markdown cell; locked (read-only for students) when given a ``grade_id``."""
    meta = _meta(grade_id, locked=True) if grade_id else {}
    return nbformat.v4.new_markdown_cell(text.strip("\n"), metadata=meta)


def code(source: str, grade_id: Optional[str] = None):
    """A code cell the student runs as given; locked when given a ``grade_id``."""
    meta = _meta(grade_id, locked=True) if grade_id else {}
    return nbformat.v4.new_code_cell(source.strip("\n"), metadata=meta)


def solution(source: str, grade_id: str):
    """An exercise cell: its ``# BEGIN SOLUTION`` region is blanked in the lab."""
    if "# BEGIN SOLUTION" not in source:
        raise ValueError(f"solution cell {grade_id!r} has no '# BEGIN SOLUTION' region")
    return nbformat.v4.new_code_cell(source.strip("\n"), metadata=_meta(grade_id, solution=True))


def graded(source: str, grade_id: str, points: float):
    """A locked, autograded test cell worth ``points``."""
    return nbformat.v4.new_code_cell(source.strip("\n"),
                                     metadata=_meta(grade_id, grade=True, locked=True, points=points))


def new_notebook(cells: Iterable) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


# ---------------------------------------------------------------- the course's setting
def lab_notebooks(folder: Path = SOLUTIONS) -> List[Path]:
    """The lab notebooks of a folder, ``NN_topic.ipynb``, in order."""
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def find_lab(lab: str, folder: Path = SOLUTIONS) -> Path:
    """The notebook of ``lab`` ("01" or "01_irevnet") in ``folder``."""
    found = [p for p in lab_notebooks(folder) if p.stem == lab or p.stem.split("_")[0] == lab]
    if len(found) != 1:
        names = ", ".join(p.stem for p in lab_notebooks(folder)) or "none"
        raise ValueError(f"lab {lab!r} matches {len(found)} notebooks in {folder}; labs there: {names}")
    return found[0]


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The repository URL from ``[tool.invlab] repository`` in pyproject.toml."""
    import tomllib
    with open(pyproject, "rb") as fh:
        url = tomllib.load(fh)["tool"]["invlab"]["repository"].rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"[tool.invlab] repository must look like https://github.com/OWNER/REPO, got {url!r}")
    return url


def colab_url(repo: str, lab_name: str, branch: str = "main") -> str:
    owner_repo = repo.split("github.com/", 1)[1]
    return f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/labs/{lab_name}.ipynb"


_COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^)\s]*?/labs/(\w+)\.ipynb")


def apply_repository(nb: nbformat.NotebookNode, repo: str) -> bool:
    """Write ``repo`` into the install cell and the Colab badge; True if anything changed."""
    changed = False
    for cell in nb.cells:
        new = notebook.apply_repo(cell.source, repo)
        new = _COLAB_LINK.sub(lambda m: colab_url(repo, m.group(1)), new)
        if new != cell.source:
            cell.source, changed = new, True
    return changed


# ---------------------------------------------------------------- nbgrader
_LIVE: set = set()  # process groups of the nbgrader runs under way in this process


def kill_live(*_) -> None:
    """Kill every nbgrader run this process started (and so their kernels)."""
    for pgid in list(_LIVE):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass


def _die_with_parent():  # Linux: nbgrader (and so its kernel) ends when its parent is killed
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def run_nbgrader(course: Path, *args: str, timeout: Optional[float] = None,
                 extra_env: Optional[dict] = None, warm: bool = True) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course directory ``course`` (this Python's nbgrader): the
    one nbgrader launcher of the course (building labs and grading alike).

    nbgrader runs in a process group of its own that dies with this process; on a timeout
    or Ctrl-C the whole group (nbgrader and its kernel) is killed before the error rises.
    ``warm=True`` (the default, on Linux): nbgrader is imported once into this process and
    each run is a fork of it, not a fresh interpreter. The child is the same trusted side as
    a fresh process (the student's code runs only in the kernel), and it saves nbgrader's
    import (2.6 s a run) and the ``alembic heads`` process of a new gradebook (3 s).
    """
    env = dict(os.environ)
    # nbgrader shells out to `alembic`, which lives beside this interpreter.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra_env or {})
    argv = [*args, f"--CourseDirectory.root={course}"]
    if warm and hasattr(os, "fork") and sys.platform.startswith("linux"):
        return _forked_nbgrader(Path(course), argv, env, timeout)
    cmd = [sys.executable, "-m", "nbgrader", *argv]
    proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
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


def _alembic_in_process() -> None:
    """nbgrader asks a new ``alembic`` process for the schema's head; ask alembic here instead."""
    import nbgrader.api as api
    if not hasattr(api, "_temp_alembic_ini"):   # another nbgrader: leave it be
        return

    def head() -> str:
        from alembic.config import Config
        from alembic.script import ScriptDirectory
        with api._temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:
            return ScriptDirectory.from_config(Config(ini)).get_current_head()
    api.get_alembic_version = head


def _forked_nbgrader(course: Path, argv: list, env: dict, timeout: Optional[float]) -> subprocess.CompletedProcess:
    """``nbgrader ARGV`` in a fork of this process (see :func:`run_nbgrader`)."""
    import tempfile
    import time
    from nbgrader.apps.nbgraderapp import NbGraderApp   # once per process; the fork inherits it
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:                                       # the child: nbgrader, then exit
        code = 1
        try:
            os.setpgid(0, 0)                           # its own process group, as the parent sets too
            _die_with_parent()
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)   # not the parent's (pytest's, say)
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
            os.chdir(course)
            os.environ.clear()
            os.environ.update(env)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            sys.argv = ["nbgrader", *argv]
            _alembic_in_process()
            NbGraderApp.launch_instance(argv=argv)
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    try:
        os.setpgid(pid, pid)                           # before any kill: no race with the child's own call
    except OSError:
        pass
    _LIVE.add(pid)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(["nbgrader", *argv], timeout)
            time.sleep(0.02)
    except BaseException:  # timeout, Ctrl-C: nbgrader and its kernel go together
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    finally:
        _LIVE.discard(pid)
    texts = []
    for fh in (out, err):
        fh.seek(0)
        texts.append(fh.read().decode("utf-8", "replace"))
        fh.close()
    return subprocess.CompletedProcess(["nbgrader", *argv], os.waitstatus_to_exitcode(status), *texts)


def make_course(course: Path, sources: Iterable[Path], repo: Optional[str] = None) -> List[str]:
    """Put each solution into ``course/source/NAME/NAME.ipynb`` and release it.

    Returns the assignment names. Raises RuntimeError with nbgrader's log on failure.
    """
    names = []
    for src in sources:
        name = Path(src).stem
        nb = nbformat.read(src, as_version=4)
        if repo:
            apply_repository(nb, repo)
        dest = course / "source" / name
        dest.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest / f"{name}.ipynb")
        proc = run_nbgrader(course, "generate_assignment", name, "--force")
        out = course / "release" / name / f"{name}.ipynb"
        if proc.returncode != 0 or not out.exists() or "ERROR" in proc.stderr:
            raise RuntimeError(f"nbgrader generate_assignment failed for {src}:\n{proc.stderr[-4000:]}")
        names.append(name)
    return names


def _normalise(path: Path) -> str:
    """A student lab as written to labs/: sorted keys, and nothing left of the solution's
    execution (cell timings, the widget state of its progress bars)."""
    nb = json.loads(Path(path).read_text())
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        cell.get("metadata", {}).pop("execution", None)
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def build_labs(solutions: Path = SOLUTIONS, labs: Path = LABS, write_solutions: bool = True) -> List[Path]:
    """Regenerate every lab in ``labs`` from ``solutions``; returns the written paths."""
    repo = repository_url()
    sources = lab_notebooks(solutions)
    if not sources:
        raise ValueError(f"no lab notebooks (NN_topic.ipynb) in {solutions}")
    if write_solutions:  # keep the single setting in the sources too
        for src in sources:
            nb = nbformat.read(src, as_version=4)
            if apply_repository(nb, repo):
                nbformat.write(nb, src)
    labs.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="invlab-build-") as tmp:
        names = make_course(Path(tmp), sources, repo)
        for name in names:
            dest = labs / f"{name}.ipynb"
            dest.write_text(_normalise(Path(tmp) / "release" / name / f"{name}.ipynb"))
            written.append(dest)
    return written


def stale_labs(solutions: Path = SOLUTIONS, labs: Path = LABS, fresh: Optional[Path] = None) -> List[str]:
    """Labs that differ from a fresh build (or are missing, or have no solution).

    ``fresh``: a folder already built from ``solutions`` by :func:`build_labs` (the
    comparison alone); without it, the labs are built afresh in a temporary folder.
    """
    if fresh is None:
        with tempfile.TemporaryDirectory(prefix="invlab-check-") as tmp:
            build_labs(solutions, Path(tmp) / "labs", write_solutions=False)
            return stale_labs(solutions, labs, Path(tmp) / "labs")
    problems = []
    for p in sorted(fresh.glob("*.ipynb")):
        ours = labs / p.name
        if not ours.exists():
            problems.append(f"{ours} is missing")
        elif _normalise(ours) != p.read_text():
            problems.append(f"{ours} differs from solutions/{p.name} built afresh")
    for p in sorted(labs.glob("*.ipynb")):
        if not (fresh / p.name).exists():
            problems.append(f"{p} has no solution notebook")
    return problems


def execute_solution(path: Path) -> List[str]:
    """Run a solution top to bottom (offline, in the repository root) and save it with its
    outputs, without run residue (cell timings, widget state); returns the cells that failed."""
    from course.notebook import errors, run_notebook
    os.environ.setdefault("INVLAB_OFFLINE", "1")
    # The kernel inherits the environment: with MPLBACKEND=Agg (the suite's, CI's) plt.show()
    # draws nothing inline and the saved solution would hold no figure for the site to show.
    os.environ.pop("MPLBACKEND", None)
    nb = run_notebook(path, allow_errors=True)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "code" and errors(c)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course.build", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only report whether labs/ is stale")
    ap.add_argument("--execute", nargs="+", metavar="LAB",
                    help="first run these solutions (e.g. 04 05) and save them with their outputs")
    args = ap.parse_args(argv)
    for lab in args.execute or []:
        failed = execute_solution(find_lab(lab))
        print(f"executed {find_lab(lab).name}" + (f": cells failed: {failed}" if failed else ""))
        if failed:
            return 1
    if args.check:
        problems = stale_labs()
        for p in problems:
            print(p)
        print("labs/ is up to date" if not problems else "labs/ is stale: run `make labs`")
        return 1 if problems else 0
    for path in build_labs():
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
