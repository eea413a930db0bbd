"""course/workspace.py: the student's working copy is made once and never overwritten."""
import datetime
import json
import subprocess
import sys

import pytest

from course import workspace
from course.notebook import ROOT

DAY = datetime.date(2026, 11, 23)


@pytest.fixture
def labs(tmp_path):
    d = tmp_path / "labs"
    d.mkdir()
    (d / "01_a.ipynb").write_text('{"v": 1}')
    (d / "02_b.ipynb").write_text('{"v": 1}')
    return d


def test_first_run_copies_every_lab_and_records_it(labs, tmp_path):
    work = tmp_path / "work"
    said = workspace.sync(labs, work, DAY)
    assert sorted(p.name for p in work.glob("*.ipynb")) == ["01_a.ipynb", "02_b.ipynb"]
    assert len(said) == 2 and all("copied labs/" in s for s in said)
    record = json.loads((work / ".invlab" / "copied.json").read_text())
    assert record == {n: workspace.sha256(labs / n) for n in ("01_a.ipynb", "02_b.ipynb")}
    assert workspace.sync(labs, work, DAY) == []          # second run: nothing to do


def test_a_students_notebook_is_never_overwritten(labs, tmp_path):
    work = tmp_path / "work"
    workspace.sync(labs, work, DAY)
    (work / "01_a.ipynb").write_text('{"v": 1, "mine": "answer"}')
    (labs / "01_a.ipynb").write_text('{"v": 2}')
    said = workspace.sync(labs, work, DAY)
    assert (work / "01_a.ipynb").read_text() == '{"v": 1, "mine": "answer"}'
    beside = work / "01_a.new-2026-11-23.ipynb"
    assert beside.read_text() == '{"v": 2}'
    assert len(said) == 1 and beside.name in said[0] and "untouched" in said[0]
    assert workspace.sync(labs, work, DAY) == []          # said once, not at every start
    # A third version the same day gets its own name; the student's copy still stays.
    (labs / "01_a.ipynb").write_text('{"v": 3}')
    workspace.sync(labs, work, DAY)
    assert (work / "01_a.new-2026-11-23-2.ipynb").read_text() == '{"v": 3}'
    assert beside.read_text() == '{"v": 2}'
    assert (work / "01_a.ipynb").read_text() == '{"v": 1, "mine": "answer"}'


def test_an_untouched_copy_is_brought_up_to_date(labs, tmp_path):
    work = tmp_path / "work"
    workspace.sync(labs, work, DAY)
    (labs / "02_b.ipynb").write_text('{"v": 2}')
    said = workspace.sync(labs, work, DAY)
    assert (work / "02_b.ipynb").read_text() == '{"v": 2}'
    assert not list(work.glob("*.new-*"))
    assert len(said) == 1 and "had not changed it" in said[0]


def test_a_deleted_copy_comes_back_and_new_labs_arrive(labs, tmp_path):
    work = tmp_path / "work"
    workspace.sync(labs, work, DAY)
    (work / "01_a.ipynb").unlink()
    (labs / "03_c.ipynb").write_text('{"v": 1}')
    said = workspace.sync(labs, work, DAY)
    assert (work / "01_a.ipynb").exists() and (work / "03_c.ipynb").exists()
    assert any("was missing" in s for s in said) and any("03_c" in s for s in said)


def test_unrecorded_different_file_is_kept(labs, tmp_path):
    """No record (deleted .invlab/): a differing notebook is the student's; the lab goes beside."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "01_a.ipynb").write_text('{"mine": 1}')
    workspace.sync(labs, work, DAY)
    assert (work / "01_a.ipynb").read_text() == '{"mine": 1}'
    assert (work / "01_a.new-2026-11-23.ipynb").read_text() == '{"v": 1}'


def test_bad_labs_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="workspace.sync: labs must be a folder"):
        workspace.sync(tmp_path / "nope", tmp_path / "work")


def test_command_line_says_what_it_did(labs, tmp_path):
    out = subprocess.run([sys.executable, "-m", "course.workspace", str(tmp_path / "w"),
                          "--labs", str(labs)], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "invlab: copied labs/01_a.ipynb to w/01_a.ipynb" in out.stdout
    assert "invlab: your notebooks are in" in out.stdout
