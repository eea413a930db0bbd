"""What a lab notebook is: its nbgrader metadata, its regions and its setup cell.

Every piece of the course tooling that reads a lab goes through here:

* :func:`meta` — a cell's nbgrader metadata (``{}`` when it has none); :func:`grade_id`,
  :func:`graded_ids` and :func:`lab_of` answer "which cell / which graded cells / which lab";
* :data:`SOLUTION_REGION` and :data:`HIDDEN_TESTS` — the two regions an author marks;
* :func:`setup_source` and :func:`setup_problems` — the one setup cell every lab starts
  with (install invlab when missing, the lab's imports, ``invlab.setup(0)``);
* :func:`budget` — how long a lab's solution may run (``[tool.invlab.budget]``);
* the one notebook runner (tests, benchmarks, the site): :func:`run_notebook` executes a
  whole notebook in the repository root; :class:`KernelSession` keeps one kernel open and
  runs cells one at a time (the wrong-answer banks re-run an exercise and its graded cell
  per mistake); :func:`lab_cells` looks cells up by ``grade_id``; :func:`paste_solution`
  fills a student cell's blanks with a solution's regions, :func:`with_body` with a body.

>>> cell = {"cell_type": "code", "source": "", "metadata": {"nbgrader": {"grade_id": "test_x",
...         "grade": True, "points": 2}}}
>>> grade_id(cell), graded_ids({"cells": [cell]})
('test_x', {'test_x': 2.0})
"""
from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path
from typing import Dict, List, Optional, Set

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

__all__ = ["ROOT", "meta", "grade_id", "graded_ids", "lab_of", "SOLUTION_REGION", "HIDDEN_TESTS",
           "REPO_ENV", "setup_source", "setup_problems", "repo_line", "budget", "budget_summary", "runtime_sentence",
           "lab_cells", "run_notebook", "errors", "error_line", "stderr", "KernelSession",
           "solution_regions", "paste_solution", "with_body"]

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- nbgrader metadata
def meta(cell) -> dict:
    """The nbgrader metadata of a cell (``{}`` when it has none)."""
    return (cell.get("metadata", {}) or {}).get("nbgrader", {}) or {}


def grade_id(cell) -> str:
    """The cell's nbgrader ``grade_id`` (``""`` when it has none)."""
    return meta(cell).get("grade_id", "") or ""


def graded_ids(nb) -> Dict[str, float]:
    """``{grade_id: points}`` of the autograded cells, in notebook order."""
    return {meta(c)["grade_id"]: float(meta(c).get("points", 0)) for c in nb["cells"]
            if meta(c).get("grade") and meta(c).get("grade_id")}


def lab_of(nb, labs: Dict[str, Set[str]]) -> Optional[str]:
    """The lab whose graded cells ``nb`` carries most of (None if none).

    >>> lab_of({"cells": [{"metadata": {"nbgrader": {"grade_id": "b"}}}]}, {"01": {"a"}, "02": {"b"}})
    '02'
    """
    ids = {meta(c).get("grade_id") for c in nb["cells"]}
    best = max(labs, key=lambda k: len(ids & labs[k]), default=None)
    return best if best is not None and ids & labs[best] else None


# ---------------------------------------------------------------- regions
SOLUTION_REGION = re.compile(r"^[ \t]*# BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*# END SOLUTION[^\n]*$", re.S | re.M)
HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS[^\n]*$",
                          re.S | re.M)


# ---------------------------------------------------------------- the setup cell
REPO_ENV = "INVLAB_REPO_URL"  # overrides the repository a lab installs invlab from (tests: git+file://)

_HEAD = '''# Setup: installs invlab when it is missing (Google Colab), then picks the device.
import os
# The course's repository (`make labs` writes it from pyproject.toml); INVLAB_REPO_URL overrides it.
REPO_URL = os.environ.get("INVLAB_REPO_URL", "{repo}")
try:
    import invlab
except ImportError:  # Colab or a fresh machine: install the course package first
    import importlib, subprocess, sys
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"invlab @ git+{{REPO_URL}}"], check=True)
    importlib.invalidate_caches()
    import invlab
'''
_TAIL = ("dev = invlab.setup(0)  # prints the device; seeds; one CPU thread; warnings on stdout "
         "(nbgrader scores stderr 0)")
_REPO_LINE = re.compile(r'^(REPO_URL = os\.environ\.get\("INVLAB_REPO_URL", ")([^"]*)("\))', re.M)


def setup_source(repo: str, imports: str) -> str:
    """The setup cell of a lab: install block, the lab's ``imports``, ``invlab.setup(0)``.

    >>> src = setup_source("https://github.com/a/b", "import torch")
    >>> setup_problems(src, "https://github.com/a/b")
    []
    """
    return f"{_HEAD.format(repo=repo)}\n{imports.strip()}\n\n{_TAIL}"


def repo_line(repo: str) -> str:
    """The line of the setup cell that names the repository."""
    return f'REPO_URL = os.environ.get("{REPO_ENV}", "{repo}")'


def setup_problems(source: str, repo: str) -> List[str]:
    """How a setup cell differs from :func:`setup_source` (``[]``: it is canonical).

    Between the install block and ``invlab.setup(0)`` a lab may only import.

    >>> setup_problems("import invlab", "https://github.com/a/b")[0]
    'the setup cell must start with the install block of course/notebook.py'
    """
    problems = []
    head = _HEAD.format(repo=repo)
    if not source.startswith(head):
        problems.append("the setup cell must start with the install block of course/notebook.py")
    if not source.rstrip().endswith(_TAIL):
        problems.append(f"the setup cell must end with `{_TAIL}`")
    if problems:
        return problems
    middle = source[len(head):source.rstrip().rfind(_TAIL)]
    try:
        body = ast.parse(middle).body
    except SyntaxError as err:
        return [f"the setup cell's imports do not parse: {err}"]
    for node in body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            line = head.count("\n") + node.lineno
            problems.append(f"line {line} of the setup cell is not an import: {ast.unparse(node)[:60]}")
    return problems


def apply_repo(source: str, repo: str) -> str:
    """``source`` with the setup cell's default repository set to ``repo``."""
    return _REPO_LINE.sub(lambda m: f"{m.group(1)}{repo}{m.group(3)}", source)


# ---------------------------------------------------------------- run-time budgets
def budget(lab: str, pyproject=None) -> int:
    """Seconds lab ``lab`` ("05" or "05_iresnet") may take on a quiet 2-core CPU
    (``[tool.invlab.budget]`` in pyproject.toml, the one source).

    >>> budget("05_iresnet"), budget("01")
    (90, 60)
    """
    import tomllib
    path = Path(pyproject) if pyproject else ROOT / "pyproject.toml"
    table = tomllib.loads(path.read_text())["tool"]["invlab"]["budget"]
    return int(table.get(str(lab).split("_")[0], table["default"]))


def budget_summary() -> str:
    """The budgets in one phrase, as the README states them.

    >>> budget_summary()
    'at most 60 s (lab 5: 90 s)'
    """
    import tomllib
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["invlab"]["budget"]
    rest = ", ".join(f"lab {int(k)}: {v} s" for k, v in sorted(table.items()) if k != "default")
    return f"at most {table['default']} s" + (f" ({rest})" if rest else "")


def runtime_sentence(lab: str) -> str:
    """What a lab's first cell says about its run time, from its budget."""
    return (f"The solution runs top to bottom in at most {budget(lab)} s on a quiet 2-core laptop CPU "
            "(one thread; `make bench` measures it); it uses a GPU when there is one.")


# ---------------------------------------------------------------- the one notebook runner
def lab_cells(path) -> dict:
    """``{grade_id: cell}`` for the nbgrader cells of the notebook at ``path``."""
    return {grade_id(c): c for c in nbformat.read(path, as_version=4).cells if grade_id(c)}


def _client(nb, timeout=600, allow_errors=True):
    return NotebookClient(nb, timeout=timeout, allow_errors=allow_errors, kernel_name="python3",
                          resources={"metadata": {"path": str(ROOT)}})


def run_notebook(path, timeout=600, allow_errors=True):
    """Execute a notebook in the repository root; returns the executed notebook."""
    nb = nbformat.read(path, as_version=4)
    _client(nb, timeout, allow_errors).execute()
    return nb


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def error_line(cell) -> str | None:
    """``"ename: evalue"`` of the cell's first error output, or None when it has none."""
    errs = errors(cell)
    return f"{errs[0]['ename']}: {errs[0]['evalue']}" if errs else None


def stderr(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr")


class KernelSession:
    """One live kernel; ``run(source)`` executes a code cell and returns it with its outputs.

    >>> with KernelSession() as k:                       # doctest: +SKIP
    ...     errors(k.run("1 / 0"))[0]["ename"]
    'ZeroDivisionError'
    """

    def __init__(self, timeout: int = 600):
        self.nb = nbformat.v4.new_notebook()
        self.client = _client(self.nb, timeout)
        self._ctx = None

    def __enter__(self):
        self._ctx = self.client.setup_kernel()
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)

    def run(self, source: str):
        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.nb.cells) - 1)
        return cell

    def error_text(self, source: str) -> str | None:
        """Run ``source``; None when it runs cleanly, else the text of the ``CellExecutionError``
        nbclient would raise for it (the cell, its streams, the traceback with ename and evalue)."""
        cell = self.run(source)
        errs = errors(cell)
        return str(CellExecutionError.from_cell_and_msg(cell, errs[0])) if errs else None


_REGION = re.compile(r"^([ \t]*)# BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*# END SOLUTION[^\n]*\n?", re.M | re.S)
_RAISE = re.compile(r"^([ \t]*)raise NotImplementedError\(\)[^\n]*$", re.M)
_BLANK = re.compile(r"^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)[^\n]*", re.M)


def solution_regions(solution_source: str) -> list:
    """The code between each ``# BEGIN SOLUTION`` / ``# END SOLUTION`` pair."""
    return [m.group(2).rstrip("\n") for m in _REGION.finditer(solution_source)]


def paste_solution(student_source: str, solution_source: str) -> str:
    """The student cell with its k-th blank filled by the solution's k-th region."""
    regions = solution_regions(solution_source)
    blanks = _BLANK.findall(student_source)
    if len(blanks) != len(regions):
        raise ValueError(f"{len(blanks)} blanks in the student cell but {len(regions)} solution regions")
    it = iter(regions)
    return _BLANK.sub(lambda m: next(it), student_source)


def with_body(student_source: str, body: str) -> str:
    """The student cell with its ``raise NotImplementedError()`` line replaced by ``body``
    (dedented, then indented like that line)."""
    m = _RAISE.search(student_source)
    if m is None:
        raise ValueError("the student cell has no `raise NotImplementedError()` placeholder")
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), m.group(1))
    return student_source[: m.start()] + body + student_source[m.end():]
