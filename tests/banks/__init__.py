"""The wrong-answer banks of labs 1–7, in one format (tests/test_wrong_answers.py runs them).

Every entry is a :class:`Case`: the exercise cell as a student wrote it (``source``), the
graded cell it meets, and what that cell must say:

* ``message=None`` — a right answer written another way: the visible graded cell passes it,
  writes nothing to stderr, and so do the grader's hidden tests;
* a ``str`` — a typical mistake: the visible graded cell fails with a ``CheckFailed`` whose
  text contains it (``"ValueError: ..."`` / ``"TypeError: ..."``: invlab's own error, in the
  student's names, starting with it);
* a compiled regex — the same, matched with ``re.search``.

A bank writes ``source`` in whichever way reads best: :func:`fill` puts a body where the
student lab has ``raise NotImplementedError()``, :func:`edit` applies substitutions to the
solution's regions (the mistake shows as a diff), and a whole cell is plain text.
Each lab's module (``banks.labNN``) holds ``CASES`` and ``PREFIX``: the cells the runner
executes first (solutions pasted) so that the graded cells find what they need.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Dict, Optional, Pattern, Union

from course import build
from course.notebook import lab_cells, paste_solution, with_body

LABS = {p.stem[:2]: p.stem for p in build.lab_notebooks(build.SOLUTIONS)}


@dataclass(frozen=True)
class Case:
    lab: str
    exercise: str
    graded: str
    name: str
    source: str
    message: Union[None, str, Pattern]

    @property
    def right(self) -> bool:
        return self.message is None

    @property
    def id(self) -> str:
        return f"{self.lab}-{self.exercise}-{self.name}"


@functools.lru_cache(maxsize=None)
def student(lab: str) -> Dict[str, str]:
    """``{grade_id: source}`` of the student lab."""
    return {gid: c.source for gid, c in lab_cells(build.find_lab(lab, build.LABS)).items()}


@functools.lru_cache(maxsize=None)
def solution(lab: str) -> Dict[str, str]:
    """``{grade_id: source}`` of the solution (graded cells with their hidden tests)."""
    return {gid: c.source for gid, c in lab_cells(build.find_lab(lab, build.SOLUTIONS)).items()}


def fill(lab: str, exercise: str, body: str) -> str:
    """The student's exercise cell with ``body`` in place of ``raise NotImplementedError()``."""
    return with_body(student(lab)[exercise], body)


def edit(lab: str, exercise: str, subs) -> str:
    """The student's exercise cell with the solution's regions pasted, after the ``(old, new)``
    substitutions ``subs`` (each must apply)."""
    source = solution(lab)[exercise]
    for old, new in subs:
        if old not in source:
            raise ValueError(f"lab {lab} {exercise}: the edit does not apply, {old!r} is not in the solution")
        source = source.replace(old, new)
    return paste_solution(student(lab)[exercise], source)


def rx(pattern: str) -> Pattern:
    return re.compile(pattern, re.S)


def matches(message: Union[str, Pattern], error: Optional[str]) -> bool:
    """Does the graded cell's error line say what the bank expects?"""
    if not error:
        return False
    if isinstance(message, str):
        if message.startswith(("ValueError:", "TypeError:")):
            return error.startswith(message)
        return error.startswith("CheckFailed") and message in error
    return error.startswith("CheckFailed") and message.search(error) is not None
