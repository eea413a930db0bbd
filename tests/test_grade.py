"""Grading a class from the command line: endless loops, crashes and lost cells cost only their
student; two names stay two students; clear errors; a feedback page opens in a browser.
(Every lab through the grader: test_grade_labs.py; hostile students: test_grade_trust.py.)"""
import csv
import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from course import build, grade
from course.notebook import ROOT

def _rows(path):
    with open(path) as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


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


@pytest.fixture(scope="module")
def demo_grades(tmp_path_factory):
    """A class of the two-exercise demo lab, graded once from the command line."""
    tmp = tmp_path_factory.mktemp("demo")
    src = tmp / "src"
    src.mkdir()
    nbformat.write(build.new_notebook(DEMO), src / "00_demo.ipynb")
    subs = tmp / "subs"
    subs.mkdir()
    nbformat.write(_demo_student(""), subs / "good.ipynb")
    nbformat.write(_demo_student("while True:\n    pass"), subs / "looper.ipynb")
    nbformat.write(_demo_student("import os\nos._exit(1)"), subs / "crasher.ipynb")
    lost = _demo_student("")
    del lost.cells[4].metadata["nbgrader"]  # pasted into a new notebook: the test's identity is gone
    nbformat.write(lost, subs / "lost.ipynb")
    (subs / "nobody").mkdir()
    (subs / "ann").mkdir()                  # one folder per student works too
    nbformat.write(_demo_student(""), subs / "ann" / "00_demo.ipynb")
    (subs / "eve.ipynb").write_text('{"cells": [ this is not json')
    out = tmp / "out" / "grades.csv"
    proc = subprocess.run([sys.executable, "-m", "course.grade", str(subs), "--lab", "00",
                           "--out", str(out), "--timeout", "5", "--source", str(src)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "graded 7 students" in proc.stdout
    return out


def test_loops_and_crashes_cost_only_their_student(demo_grades):
    rows = _rows(demo_grades)
    assert float(rows["good"]["total"]) == 2 and float(rows["ann"]["total"]) == 2
    # the loop is cut after 5 s: f is lost with its cell, g still counts
    assert float(rows["looper"]["test_f"]) == 0 and float(rows["looper"]["test_g"]) == 1
    assert float(rows["crasher"]["test_f"]) == 0
    assert rows["crasher"]["kernel_died"] == "1" and "/tmp" not in "".join(rows["crasher"].values()), \
        rows["crasher"]  # no temporary path: the same gradebook from every run
    assert rows["looper"]["timed_out"] == "1" and rows["good"]["timed_out"] == "0"
    assert rows["nobody"]["status"] == "no_notebook"
    assert float(rows["lost"]["test_g"]) == 0 and rows["lost"]["missing_cells"] == "test_g"


def test_malformed_notebook_is_reported_not_fatal(demo_grades):
    eve = _rows(demo_grades)["eve"]
    assert eve["status"] == "malformed" and float(eve["total"]) == 0 and "not appear to be JSON" in eve["note"]


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


@pytest.mark.skipif(not shutil.which("chromium") and not shutil.which("chromium-browser"),
                    reason="chromium is not installed (apt-get install chromium)")
def test_feedback_opens_in_a_browser_without_errors(demo_grades, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    page = demo_grades.parent / "feedback" / "good.html"
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", f"--user-data-dir={tmp_path}", "--virtual-time-budget=3000", "--dump-dom",
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    assert "Feedback: 00_demo" in proc.stdout
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert not console, console
    failed = [ln for ln in proc.stderr.splitlines() if "net::ERR" in ln]
    assert not failed, failed  # nothing was fetched from the network
