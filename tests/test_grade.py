"""Instructor grading end to end, with nbgrader's autograder in a temporary course."""
import csv
import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from course import build, grade
from course.notebook import ROOT, meta

LAB1_SOLUTION = build.find_lab("01", build.SOLUTIONS)
LAB1_BLANK = build.find_lab("01", build.LABS)


def _with_solutions(blank, solution, grade_ids):
    """The blank lab with the solution's code pasted into the exercises ``grade_ids``."""
    nb = nbformat.read(blank, as_version=4)
    sol = {meta(c).get("grade_id"): c.source for c in nbformat.read(solution, as_version=4).cells}
    for cell in nb.cells:
        if meta(cell).get("grade_id") in grade_ids:
            cell.source = sol[meta(cell)["grade_id"]]
    return nb


def _rows(path):
    with open(path) as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def lab1_grades(tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    nbformat.write(nbformat.read(LAB1_SOLUTION, as_version=4), subs / "ada.ipynb")
    (subs / "bob").mkdir()  # one folder per student works too
    nbformat.write(nbformat.read(LAB1_BLANK, as_version=4), subs / "bob" / "01_irevnet.ipynb")
    # half done, and the student "fixed" a test instead of the code: the test must come back
    cy = _with_solutions(LAB1_BLANK, LAB1_SOLUTION, {"ex1_split", "ex2_layer"})
    for cell in cy.cells:
        if meta(cell).get("grade_id") == "test_irevnet":
            cell.source = "checks.passed('IRevNet')"
    nbformat.write(cy, subs / "cy.ipynb")
    (subs / "eve.ipynb").write_text('{"cells": [ this is not json')
    out = tmp_path_factory.mktemp("out") / "grades.csv"
    grade.grade(subs, "01", out, timeout=300)
    return out


def test_gradebook_columns(lab1_grades):
    with open(lab1_grades) as fh:
        header = next(csv.reader(fh))
    graded_ids = [meta(c)["grade_id"] for c in nbformat.read(LAB1_SOLUTION, as_version=4).cells
                  if meta(c).get("grade")]
    assert header == ["student", *graded_ids, "total", "max", "status", "tampered", "timed_out", "kernel_died",
                      "missing_cells", "reference_calls", "sandbox", "note"]


def test_solution_gets_full_marks(lab1_grades):
    ada = _rows(lab1_grades)["ada"]
    assert float(ada["total"]) == float(ada["max"]) == 14, ada
    assert (lab1_grades.parent / "feedback" / "ada.html").exists()


def test_blank_lab_gets_zero(lab1_grades):
    bob = _rows(lab1_grades)["bob"]
    assert float(bob["total"]) == 0 and bob["status"] == "graded", bob


def test_half_done_lab_gets_the_points_it_earned(lab1_grades):
    cy = _rows(lab1_grades)["cy"]
    assert float(cy["test_split"]) == 2 and float(cy["test_layer"]) == 3
    assert float(cy["total"]) == 5, cy


def test_tampered_test_cell_is_restored(lab1_grades):
    cy = _rows(lab1_grades)["cy"]
    assert float(cy["test_irevnet"]) == 0, cy  # its edit would have passed; the master copy fails


def test_feedback_for_every_graded_student(lab1_grades):
    for student in ("ada", "bob", "cy"):
        html = (lab1_grades.parent / "feedback" / f"{student}.html").read_text()
        assert "test_split" in html or "split_channels" in html


def test_malformed_notebook_is_reported_not_fatal(lab1_grades):
    eve = _rows(lab1_grades)["eve"]
    assert eve["status"] == "malformed" and float(eve["total"]) == 0 and "not appear to be JSON" in eve["note"]


DEMO = [
    build.code("import math", "setup"),
    build.solution("def f(x):\n    # BEGIN SOLUTION\n    return x + 1\n    # END SOLUTION", "ex_f"),
    build.graded("assert f(1) == 2, 'f(1) should be 2'\nprint('f ok')", "test_f", 1),
    build.solution("def g(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION", "ex_g"),
    build.graded("assert g(2) == 4, 'g(2) should be 4'\nprint('g ok')", "test_g", 1),
]


def _demo_student(f_body):
    nb = build.new_notebook([nbformat.from_dict(json.loads(json.dumps(c))) for c in DEMO])
    nb.cells[1].source = f"{f_body}\ndef f(x):\n    return x + 1"
    nb.cells[3].source = "def g(x):\n    return 2 * x"
    return nb


def test_loops_and_crashes_cost_only_their_student(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(build.new_notebook(DEMO), src / "00_demo.ipynb")
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(_demo_student(""), subs / "good.ipynb")
    nbformat.write(_demo_student("while True:\n    pass"), subs / "looper.ipynb")
    nbformat.write(_demo_student("import os\nos._exit(1)"), subs / "crasher.ipynb")
    lost = _demo_student("")
    del lost.cells[4].metadata["nbgrader"]  # pasted into a new notebook: the test's identity is gone
    nbformat.write(lost, subs / "lost.ipynb")
    (subs / "nobody").mkdir()
    out = tmp_path / "grades.csv"
    proc = subprocess.run([sys.executable, "-m", "course.grade", str(subs), "--lab", "00",
                           "--out", str(out), "--timeout", "5", "--source", str(src)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = _rows(out)
    assert float(rows["good"]["total"]) == 2
    # the loop is cut after 5 s: f is lost with its cell, g still counts
    assert float(rows["looper"]["test_f"]) == 0 and float(rows["looper"]["test_g"]) == 1
    assert float(rows["crasher"]["test_f"]) == 0
    assert rows["crasher"]["kernel_died"] == "1" and "/tmp" not in "".join(rows["crasher"].values()), \
        rows["crasher"]  # no temporary path: the same gradebook from every run
    assert rows["looper"]["timed_out"] == "1" and rows["good"]["timed_out"] == "0"
    assert rows["nobody"]["status"] == "no_notebook"
    assert float(rows["lost"]["test_g"]) == 0 and rows["lost"]["missing_cells"] == "test_g"
    assert "graded 5 students" in proc.stdout


def test_two_names_for_one_id_stay_two_students(tmp_path):
    (tmp_path / "Ann Lee").mkdir()
    (tmp_path / "Ann Lee" / "01_irevnet.ipynb").write_text("{}")
    (tmp_path / "Ann_Lee.ipynb").write_text("{}")
    (tmp_path / "feedback").mkdir()  # an earlier run's output is no student
    found = grade.find_submissions(tmp_path, "01_irevnet")
    assert sorted(found) == ["Ann_Lee", "Ann_Lee-2"]
    assert {p.name for p in found.values()} == {"01_irevnet.ipynb", "Ann_Lee.ipynb"}


def test_unknown_lab_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "course.grade", str(tmp_path), "--lab", "42"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "lab '42' matches 0 notebooks" in proc.stderr


# ---------------------------------------------------------------- feedback students can keep
def _handed_back(grades_csv):
    return [grades_csv, *sorted((grades_csv.parent / "feedback").glob("*"))]


def test_no_hidden_test_line_in_anything_handed_back(lab1_grades):
    import html
    from course import feedback
    master = nbformat.read(LAB1_SOLUTION, as_version=4)
    released = nbformat.read(LAB1_BLANK, as_version=4)
    hidden = feedback.hidden_lines(master, [c.source for c in released.cells])
    assert len(hidden) > 10  # the lab has hidden tests to leak
    files = _handed_back(lab1_grades)
    assert len(files) >= 4
    for path in files:
        text = html.unescape(path.read_text())
        leaked = [h for h in hidden if len(h) >= 10 and h in text]
        assert not leaked, f"{path.name} shows hidden tests: {leaked[:3]}"


def test_feedback_is_offline_with_scores_and_messages_on_top(lab1_grades):
    import re
    page = (lab1_grades.parent / "feedback" / "bob.html").read_text()
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//[^"']*\.(?:js|css)""", page)
    assert not re.search(r"""<(?:img|link|iframe|script)\b[^>]*(?:src|href)=["']?https?://""", page, re.I)
    assert "<math" in page and "$$" not in page  # math is MathML, no TeX left to typeset
    # the banner of each graded cell sits above its code, with the failure message
    banner = page.index('id="grade-test_split"')
    assert banner < page.index("graded: split_channels / merge_channels")
    assert "0 / 2 points" in page[banner:banner + 400] and "NotImplementedError" in page[banner:banner + 600]


def test_widget_falls_back_to_its_static_figure(lab1_grades):
    page = (lab1_grades.parent / "feedback" / "ada.html").read_text()
    assert "widget-view+json" not in page
    cell = page[page.index("image_slider"):]
    assert "data:image/png;base64" in cell[:200_000]


@pytest.mark.skipif(not shutil.which("chromium") and not shutil.which("chromium-browser"),
                    reason="chromium is not installed (apt-get install chromium)")
def test_feedback_opens_in_a_browser_without_errors(lab1_grades, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    page = lab1_grades.parent / "feedback" / "ada.html"
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", f"--user-data-dir={tmp_path}", "--virtual-time-budget=3000", "--dump-dom",
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    assert "Feedback: 01_irevnet" in proc.stdout
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert not console, console
    failed = [ln for ln in proc.stderr.splitlines() if "net::ERR" in ln]
    assert not failed, failed  # nothing was fetched from the network
