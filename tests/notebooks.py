"""The one notebook runner of the project (tests/ and benchmarks/ both use it).

* :func:`run_notebook` executes a whole notebook in the repository root;
* :class:`KernelSession` keeps one kernel open and runs cells one at a time (the
  wrong-answer banks re-run an exercise cell and its graded cell for each mistake);
* :func:`lab_cells` looks a notebook's cells up by nbgrader ``grade_id``;
* :func:`paste_solution` fills a student cell's ``raise NotImplementedError()`` regions
  with the (possibly mutated) regions of the solution cell; :func:`with_body` puts a
  hand-written body there instead.
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str:
    return nbgrader_meta(cell).get("grade_id", "")


def lab_cells(path) -> dict:
    """``{grade_id: cell}`` for the nbgrader cells of the notebook at ``path``."""
    return {grade_id(c): c for c in nbformat.read(path, as_version=4).cells if grade_id(c)}


def _client(nb, timeout=600, allow_errors=True) -> NotebookClient:
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
