"""Every lab through the real grader (nbgrader's autograder, the kernel in the sandbox, the
referee watching): the solution gets full marks; a student who did only the first exercise
and "fixed" every graded cell instead of the code gets exactly that exercise's points (the
graded cells are restored from the master copy). Whatever is handed
back (the gradebook, the feedback pages) shows no line of the hidden tests; the pages are
offline, with each graded cell's score and message above its code."""
import csv
import html
import re

import nbformat
import pytest

from course import build, feedback, grade
from course.notebook import graded_ids, meta

LABS = [p.stem for p in build.lab_notebooks(build.SOLUTIONS)]
# The first-exercise student tests the grader's points, blanks and restoring, which are the
# same for every lab: three cheap labs show it (each student runs the whole notebook; in
# labs 2, 4, 5 and 6 the second student cost 40-90 s). Every lab's solution is graded.
FIRST_ONLY = {"01_irevnet", "03_inverse_problems", "07_reversible"}


def _class_of(lab: str) -> dict:
    """The solution, and in the FIRST_ONLY labs (each student runs the whole notebook, so the
    class is kept small) a student who did only the first exercise AND "fixed" every graded cell to
    pass. The second one shows three things at once: the first exercise earns exactly its
    points, the blank exercises earn nothing, and edited graded cells are restored from the
    master (unrestored, they would all pass). A blank lab scoring 0 is tests/test_labs.py's
    (every visible graded cell fails) and tests/test_grade_trust.py's (through the grader)."""
    solution = nbformat.read(build.find_lab(lab, build.SOLUTIONS), as_version=4)
    first_ex = next(meta(c)["grade_id"] for c in solution.cells if meta(c).get("solution"))
    sol = {meta(c).get("grade_id"): c.source for c in solution.cells}
    first_only = nbformat.read(build.find_lab(lab, build.LABS), as_version=4)
    for cell in first_only.cells:
        if meta(cell).get("grade_id") == first_ex:
            cell.source = sol[first_ex]
        elif meta(cell).get("grade"):
            cell.source = "checks.passed('everything')"
    return {"right": solution, "first_only": first_only} if lab in FIRST_ONLY else {"right": solution}


@pytest.fixture(scope="module", params=LABS)
def graded(request, tmp_path_factory):
    lab = request.param
    tmp = tmp_path_factory.mktemp(lab)
    subs = tmp / "subs"
    subs.mkdir()
    for name, nb in _class_of(lab).items():
        nbformat.write(nb, subs / f"{name}.ipynb")
    out = tmp / "out" / "grades.csv"
    grade.grade(subs, lab[:2], out, timeout=300, jobs=2, log=lambda *a, **k: None)
    with open(out) as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    return lab, out, rows


def test_scores_right_and_first_exercise_and_restores_edited_tests(graded):
    lab, out, rows = graded
    points = graded_ids(nbformat.read(build.find_lab(lab, build.SOLUTIONS), as_version=4))
    total = sum(points.values())
    first_test = next(iter(points))
    assert set(rows) == ({"right", "first_only"} if lab in FIRST_ONLY else {"right"})
    for name, row in rows.items():
        assert row["status"] == "graded" and row["tampered"] == "" and float(row["max"]) == total, (name, row)
    assert float(rows["right"]["total"]) == total, rows["right"]
    if lab not in FIRST_ONLY:
        return
    assert float(rows["first_only"][first_test]) == points[first_test], rows["first_only"]
    assert float(rows["first_only"]["total"]) == points[first_test], \
        ("only the first exercise's points: the edited graded cells must be restored from the master", rows["first_only"])


def test_nothing_handed_back_shows_a_hidden_test(graded):
    lab, out, _ = graded
    master = nbformat.read(build.find_lab(lab, build.SOLUTIONS), as_version=4)
    released = nbformat.read(build.find_lab(lab, build.LABS), as_version=4)
    hidden = feedback.hidden_lines(master, [c.source for c in released.cells])
    files = [out, *sorted((out.parent / "feedback").glob("*"))]
    assert len(files) == 1 + len(_class_of(lab))
    for path in files:
        text = html.unescape(path.read_text())
        leaked = [h for h in hidden if len(h) >= 10 and h in text]
        assert not leaked, f"{path.name} shows hidden tests: {leaked[:3]}"


def test_feedback_is_offline_with_scores_and_messages_on_top(graded):
    lab, out, rows = graded
    pages = {name: (out.parent / "feedback" / f"{name}.html").read_text() for name in rows}
    for page in pages.values():
        assert "<script" not in page.lower()
        assert not re.search(r"""<(?:img|link|iframe|script)\b[^>]*(?:src|href)=["']?https?://""", page, re.I)
        assert "$$" not in page and "invlab referee" not in page    # math as MathML; no grader lines
    points = graded_ids(nbformat.read(build.find_lab(lab, build.SOLUTIONS), as_version=4))
    for gid, p in points.items():                                   # the solution: every banner at full marks
        banner = pages["right"].index(f'id="grade-{gid}"')
        assert f"{p:g} / {p:g} point" in pages["right"][banner:banner + 400], gid
    if lab in FIRST_ONLY:                                           # a blank exercise: 0 and its error on top
        page, first_exercise = pages["first_only"], next(iter(points))
        blank = next(g for g in points if g != first_exercise and float(rows["first_only"][g]) == 0)
        banner = page.index(f'id="grade-{blank}"')
        assert "0 / " in page[banner:banner + 400] and "NotImplementedError" in page[banner:banner + 800]
    if lab.startswith("01"):   # a widget falls back to its static figure
        right = (out.parent / "feedback" / "right.html").read_text()
        assert "widget-view+json" not in right and "data:image/png;base64" in right[right.index("image_slider"):][:200_000]
