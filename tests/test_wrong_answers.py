"""Every lab's wrong-answer bank through one runner (the banks and their format: tests/banks/).

Per lab, one kernel runs the student lab's cells that the graded cells need (``PREFIX``; by
default every code cell up to the last graded one, less the bank's ``SKIP``) with the
solutions pasted, and then the visible graded cells the bank meets, which must pass without a
line on stderr. Then each case runs its exercise cell as the student wrote it and the visible graded
cell: a mistake must fail there with the message meant for it, a right answer written
another way must pass there and in the grader's hidden tests. The solutions' own cells (of
the case's exercise and the ones before it) put the state back after each case.
"""
from __future__ import annotations

import functools
import importlib

import nbformat
import pytest

from banks import LABS, matches, solution, student
from course import build
from course.notebook import KernelSession, error_line, grade_id, meta, paste_solution, stderr

BANKS = {lab: importlib.import_module(f"banks.lab{lab}") for lab in LABS}
MISTAKES = [c for b in BANKS.values() for c in b.CASES if not c.right]
RIGHT = [c for b in BANKS.values() for c in b.CASES if c.right]


def _prefix(lab: str) -> list:
    """The student lab's code cells the runner executes first: ``(grade_id, source)``."""
    bank, nb = BANKS[lab], nbformat.read(build.find_lab(lab, build.LABS), as_version=4)
    sol = solution(lab)
    if bank.PREFIX is None:
        last = max(i for i, c in enumerate(nb.cells) if meta(c).get("grade"))
        cells = [c for c in nb.cells[: last + 1] if c.cell_type == "code" and grade_id(c) not in bank.SKIP]
    else:
        cells = [c for c in nb.cells if grade_id(c) in bank.PREFIX]
        cells += [c for c in nb.cells if meta(c).get("solution")]          # the exercises' answers
        used = {case.graded for case in bank.CASES}
        cells += [c for c in nb.cells if grade_id(c) in used]             # then the graded cells the bank meets
    return [(grade_id(c), paste_solution(c.source, sol[grade_id(c)]) if meta(c).get("solution") else c.source)
            for c in cells]


@functools.lru_cache(maxsize=None)
def outcomes(lab: str) -> dict:
    """``{"prefix": {grade_id: (error, stderr)}, case.id: (defined, visible, stderr, hidden)}``."""
    cells = nbformat.read(build.find_lab(lab, build.LABS), as_version=4).cells
    graded = {grade_id(c) for c in cells if meta(c).get("grade")}
    exercises = [grade_id(c) for c in cells if meta(c).get("solution")]
    out = {"prefix": {}}
    with KernelSession(timeout=300) as k:
        for gid, source in _prefix(lab):
            ran = k.run(source)
            out["prefix"][gid or f"cell {len(out['prefix'])}"] = (error_line(ran), stderr(ran) if gid in graded else "")
        for case in BANKS[lab].CASES:
            defined = error_line(k.run(case.source))
            visible = k.run(student(lab)[case.graded])
            hidden = error_line(k.run(solution(lab)[case.graded])) if case.right else None
            out[case.id] = (defined, error_line(visible), stderr(visible), hidden)
            for ex in exercises[: exercises.index(case.exercise) + 1]:   # restore (a cell may redefine an earlier one)
                k.run(paste_solution(student(lab)[ex], solution(lab)[ex]))
    return out


@pytest.mark.parametrize("lab", sorted(LABS))
def test_solutions_pass_every_visible_graded_cell(lab):
    results = outcomes(lab)["prefix"]
    failed = {gid: err for gid, (err, _) in results.items() if err}
    assert not failed, f"lab {lab}: cells fail with the correct solutions pasted: {failed}"
    noisy = {gid: err for gid, (_, err) in results.items() if err}
    assert not noisy, f"lab {lab}: graded cells write to stderr (nbgrader scores it 0): {noisy}"


@pytest.mark.parametrize("case", MISTAKES, ids=[c.id for c in MISTAKES])
def test_visible_graded_cell_catches_the_mistake(case):
    defined, visible, _, _ = outcomes(case.lab)[case.id]
    assert defined is None, f"the mistake broke the exercise cell itself: {defined}"
    assert visible is not None, f"the visible graded cell {case.graded} PASSES the mistake:\n{case.source}"
    pattern = getattr(case.message, "pattern", case.message)
    assert matches(case.message, visible), \
        f"{case.graded} fails, but not with the intended message {pattern!r}:\n{visible[-1500:]}"


@pytest.mark.parametrize("case", RIGHT, ids=[c.id for c in RIGHT])
def test_right_answer_written_another_way_passes(case):
    defined, visible, err_stream, hidden = outcomes(case.lab)[case.id]
    assert defined is None, f"the variant broke the exercise cell itself: {defined}"
    assert visible is None, f"{case.graded} REFUSES a right answer: {visible}\n{case.source}"
    assert not err_stream, f"{case.graded} writes to stderr for it (nbgrader scores it 0): {err_stream}"
    assert hidden is None, f"the hidden tests of {case.graded} refuse a right answer: {hidden}\n{case.source}"


@pytest.mark.parametrize("lab", sorted(LABS))
def test_every_exercise_has_three_mistakes_a_right_variant_and_a_reference_call(lab):
    """And each exercise of invlab.answers.REFERENCES has a mistake that calls the course's own
    answer, which its visible cell must refuse with the grader's words."""
    from invlab.answers import REFERENCES
    cases = BANKS[lab].CASES
    exercises = [grade_id(c) for c in nbformat.read(build.find_lab(lab), as_version=4).cells
                 if meta(c).get("solution")]
    assert {c.exercise for c in cases} == set(exercises), "every exercise has a bank, and only exercises"
    for ex in exercises:
        mistakes = [c for c in cases if c.exercise == ex and not c.right]
        assert len(mistakes) >= 3, f"lab {lab} {ex}: {len(mistakes)} mistakes in the bank; expected ≥ 3"
        assert any(c.exercise == ex and c.right for c in cases), f"lab {lab} {ex}: no right variant"
        if ex in REFERENCES.get(lab, {}):
            assert any("calls the course's own implementation" in getattr(c.message, "pattern", c.message)
                       for c in mistakes), f"lab {lab} {ex}: no reference call in the bank"
