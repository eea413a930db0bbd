"""What a lab notebook is: its nbgrader metadata, its regions and its setup cell.

Every piece of the course tooling that reads a lab goes through here:

* :func:`meta` — a cell's nbgrader metadata (``{}`` when it has none); :func:`grade_id`,
  :func:`graded_ids` and :func:`lab_of` answer "which cell / which graded cells / which lab";
* :data:`SOLUTION_REGION` and :data:`HIDDEN_TESTS` — the two regions an author marks;
* :func:`setup_source` and :func:`setup_problems` — the one setup cell every lab starts
  with (install invlab when missing, the lab's imports, ``invlab.setup(0)``).

>>> cell = {"cell_type": "code", "source": "", "metadata": {"nbgrader": {"grade_id": "test_x",
...         "grade": True, "points": 2}}}
>>> grade_id(cell), graded_ids({"cells": [cell]})
('test_x', {'test_x': 2.0})
"""
from __future__ import annotations

import ast
import re
from typing import Dict, List, Optional, Set

__all__ = ["meta", "grade_id", "graded_ids", "lab_of", "SOLUTION_REGION", "HIDDEN_TESTS",
           "REPO_ENV", "setup_source", "setup_problems", "repo_line"]


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
