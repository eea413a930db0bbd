"""The one notebook runner of the project (tests/ and benchmarks/ both use it).

* :func:`run_notebook` executes a whole notebook in the repository root;
* :class:`KernelSession` keeps one kernel open and runs cells one at a time (the
  wrong-answer bank re-runs an exercise cell and its graded cell for each mistake);
* :func:`paste_solution` fills a student cell's ``raise NotImplementedError()`` regions
  with the (possibly mutated) regions of the solution cell.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str:
    return nbgrader_meta(cell).get("grade_id", "")


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


_REGION = re.compile(r"^([ \t]*)# BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*# END SOLUTION[^\n]*\n?", re.M | re.S)
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
