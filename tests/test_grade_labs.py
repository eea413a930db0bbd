"""Labs 4–7 through the real grader (nbgrader's autograder in the sandbox), like labs 1–3:
the solution gets full marks, the blank lab zero, and a lab with only its first exercise
done gets exactly the points of that exercise's graded cell."""
import csv

import nbformat
import pytest

from course import build, grade
from course.notebook import meta


def _points(nb):
    return {meta(c)["grade_id"]: float(meta(c)["points"])
            for c in nb.cells if meta(c).get("grade")}


@pytest.mark.parametrize("lab", ["04", "05", "06", "07"])
def test_lab_is_graded_like_labs_1_to_3(lab, tmp_path):
    solution = nbformat.read(build.find_lab(lab, build.SOLUTIONS), as_version=4)
    blank = nbformat.read(build.find_lab(lab, build.LABS), as_version=4)
    points = _points(solution)
    # the first exercise done, the rest left blank
    first_ex = next(meta(c)["grade_id"] for c in solution.cells if meta(c).get("solution"))
    first_test = next(gid for gid in points)
    half = nbformat.read(build.find_lab(lab, build.LABS), as_version=4)
    for cell in half.cells:
        if meta(cell).get("grade_id") == first_ex:
            cell.source = next(c.source for c in solution.cells if meta(c).get("grade_id") == first_ex)
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, nb in [("right", solution), ("blank", blank), ("first_only", half)]:
        nbformat.write(nb, subs / f"{name}.ipynb")
    out = tmp_path / "grades.csv"
    grade.grade(subs, lab, out, timeout=300, jobs=2, log=lambda *a, **k: None)
    with open(out) as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"right", "blank", "first_only"}
    total = sum(points.values())
    for name, row in rows.items():
        assert row["status"] == "graded", (name, row["status"])
        assert float(row["max"]) == total
    assert float(rows["right"]["total"]) == total, rows["right"]
    assert float(rows["blank"]["total"]) == 0, rows["blank"]
    assert float(rows["first_only"][first_test]) == points[first_test], rows["first_only"]
    assert float(rows["first_only"]["total"]) == points[first_test], rows["first_only"]
    assert (tmp_path / "feedback" / "right.html").exists()
