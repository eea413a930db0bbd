"""The README's Slurm array, run on a real (private, single-node) Slurm cluster.

A class of six (right, blank, wrong, half done, a native attack, a switched-off check) of the
two-exercise demo lab is graded by course/slurm/submit.sh as an array of 3 shards plus the
dependent merge, and must give exactly the gradebook and feedback pages of one machine's
``course.grade``. Then an array task is cancelled midway and the same command resubmitted:
``--resume`` loses no row and duplicates none. Every task grades inside the OS sandbox.
"""
import csv
import os
import re
import shutil
import subprocess
import sys
import time

import nbformat
import pytest

from course import hostile
from course.notebook import ROOT
from course.slurm.cluster import SlurmCluster, unavailable

WHY = unavailable()
pytestmark = pytest.mark.skipif(WHY is not None, reason=f"no private Slurm cluster here: {WHY}")
SUBMIT = ROOT / "course" / "slurm" / "submit.sh"


def _class(base):
    src, subs, outside = base / "src", base / "subs", base / "outside"
    for d in (src, subs, outside):
        d.mkdir(parents=True)
    nbformat.write(hostile.demo_lab(), src / "00_demo.ipynb")
    wrong = hostile.WRONG_SPLIT
    klass = {"right": hostile.student(), "blank": hostile.student("def split_channels(x):\n    raise NotImplementedError()",
                                                                  "def label(n):\n    raise NotImplementedError()"),
             "wrong": hostile.student(wrong),
             "half": hostile.student(label_body="def label(n):\n    raise NotImplementedError()"),
             "native": hostile.with_prelude(hostile.student(), "ex_split", hostile.NATIVE["native_write"][1].format(
                 master=src / "00_demo.ipynb", csv=base / "local" / "grades.csv", other=outside / "x",
                 outside=outside, port=9, pid=os.getpid())),
             "tamper": hostile.with_prelude(hostile.student(wrong), "ex_split", hostile.CHECKS["patch_setattr"][1])}
    for name, nb in klass.items():
        nbformat.write(nb, subs / f"{name}.ipynb")
    return src, subs, outside


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with SlurmCluster(tmp_path_factory.mktemp("slurm")) as c:
        yield c


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    src, subs, outside = _class(base)
    local = base / "local" / "grades.csv"
    proc = subprocess.run([sys.executable, "-m", "course.grade", str(subs), "--lab", "00", "--source", str(src),
                           "--out", str(local), "--timeout", "60", "--jobs", "2"], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {"base": base, "src": src, "subs": subs, "outside": outside, "local": local}


def _submit(cluster, klass, out):
    env = {"INVLAB_PYTHON": sys.executable, "GRADE_ARGS": f"--source {klass['src']} --timeout 60"}
    proc = cluster.run(["bash", str(SUBMIT), "00", str(klass["subs"]), str(out), "3", "1"], cwd=ROOT, env=env)
    array, merge = re.fullmatch(r"array (\d+) merge (\d+)\s*", proc.stdout).groups()
    return array, merge


def test_array_then_merge_equals_one_machine(cluster, klass):
    out = klass["base"] / "slurm"
    t0 = time.time()
    _submit(cluster, klass, out)
    cluster.wait_until_idle()
    seconds = time.time() - t0
    assert (out / "grades.csv").read_text() == klass["local"].read_text(), \
        [p.read_text()[-800:] for p in out.glob("*.out")]
    assert sorted(p.name for p in (out / "feedback").iterdir()) == \
        sorted(p.name for p in (klass["local"].parent / "feedback").iterdir())
    rows = {r["student"]: r for r in _rows(out / "grades.csv")}
    assert rows["tamper"]["status"] == "tampered" and float(rows["tamper"]["total"]) == 0
    assert rows["native"]["sandbox"] == "os" and float(rows["native"]["total"]) == 3
    assert list(klass["outside"].iterdir()) == [], "the native attack wrote outside its folder"
    print(f"6 students, 3 shards on 2 CPUs, merge included: {seconds:.0f} s")


def test_a_cancelled_task_resumes_without_losing_or_doubling_a_row(cluster, klass):
    out = klass["base"] / "cancelled"
    array, merge = _submit(cluster, klass, out)
    deadline = time.time() + 600          # wait until some shard has saved a student, then cancel it
    while time.time() < deadline:
        saved = [p for p in out.glob("parts/*/grades.csv") if len(_rows(p)) >= 1]
        if saved:
            break
        time.sleep(0.5)
    k = saved[0].parent.name
    cluster.run(["scancel", f"{array}_{k}"])
    cluster.run(["scancel", merge], check=False)      # afterok can no longer be met
    cluster.wait_until_idle()
    assert len(_rows(saved[0])) == 1, "the task was cancelled midway: one of its two students saved"
    assert not (out / "grades.csv").exists()
    _submit(cluster, klass, out)          # the same command again
    cluster.wait_until_idle()
    rows = _rows(out / "grades.csv")
    assert sorted(r["student"] for r in rows) == ["blank", "half", "native", "right", "tamper", "wrong"]
    assert (out / "grades.csv").read_text() == klass["local"].read_text()


def test_readme_shows_the_submit_script_as_it_is():
    readme = (ROOT / "README.md").read_text()
    usage = [ln[2:] for ln in SUBMIT.read_text().splitlines()[2:5] if ln.startswith("# ")]
    for line in usage:
        assert line.strip() in readme, f"README.md lacks the usage line {line.strip()!r} of {SUBMIT.name}"
    assert shutil.which("bash")
