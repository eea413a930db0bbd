"""Grading a class you can trust: sandbox, integrity, interruption, shards, clear errors.

A tiny two-exercise lab (``00_demo``, written here) keeps these fast; the lab-1 checks
of hidden tests and feedback pages live in test_grade.py beside its shared fixture.
"""
import csv
import html
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import nbformat
import pytest

from course import build, grade, hostile, sandbox
from course.notebook import ROOT, meta

demo_lab, student = hostile.demo_lab, hostile.student
OS_SANDBOX, WHY_NOT = sandbox.os_sandbox()
SANDBOX = "os" if OS_SANDBOX else "python"   # CI installs bubblewrap: the OS path is what it tests
needs_os = pytest.mark.skipif(not OS_SANDBOX, reason=f"no operating-system sandbox here: {WHY_NOT}")


class Listener:
    """A TCP listener on 127.0.0.1 that counts who connects (a submission must not)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port, self.connections, self._stop = self.sock.getsockname()[1], [], False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, addr = self.sock.accept()
                self.connections.append(addr)
                conn.close()
            except OSError:
                continue

    def close(self):
        self._stop = True
        self.thread.join()
        self.sock.close()

ALWAYS_TRUE = """class Yes:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    def __float__(self): return 0.0

def split_channels(x):
    return Yes(), Yes()"""

SNOOP = """import glob, os, socket
for what, attempt in [
        ("network", lambda: socket.create_connection(("pypi.org", 443), timeout=3)),
        ("solutions", lambda: open(glob.glob(os.path.join({root!r}, "solutions", "*.ipynb"))[0]).read()),
        ("master copy", lambda: open({src!r}).read()),
        ("gradebook db", lambda: open(glob.glob("../../../gradebook.db")[0], "rb").read()),
        ("gradebook csv", lambda: open({csv!r}, "a").write("snoop,99,99,99,3,hacked\\n")),
        ("another gradebook", lambda: open({other!r}, "a").write("snoop,99,99,99,3,hacked\\n")),
        ("a new file elsewhere", lambda: open({other!r} + ".new", "w").write("x")),
        ("shell", lambda: os.system("true"))]:
    try:
        attempt()
        print("SNOOP-OPEN", what)
    except Exception as err:
        print("SNOOP-BLOCKED", what, type(err).__name__, err)
import tempfile
open("scratch.txt", "w").write("mine"); tempfile.TemporaryFile().write(b"mine")
print("OWN-FILES-WRITABLE")

def split_channels(x):
    c = x.shape[1]
    return x[:, : c // 2], x[:, c // 2 :]"""

HOG = "blob = bytearray(8 * 10**9)  # lazily zeroed: only a cap on the address space stops it\n" \
      "def split_channels(x):\n    c = x.shape[1]\n    return x[:, : c // 2], x[:, c // 2 :]"


def _drop_test_label(nb):
    nb.cells = [c for c in nb.cells if meta(c).get("grade_id") != "test_label"]


def _rename_test_split(nb):
    for c in nb.cells:
        if meta(c).get("grade_id") == "test_split":
            c.metadata["nbgrader"]["grade_id"] = "my_test"


def _rows(path):
    with open(path) as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


def _run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "course.grade", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=900, **kw)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo class graded once with --jobs 2; returns (paths, rows, stdout)."""
    base = tmp_path_factory.mktemp("demo")
    src, subs, out = base / "src", base / "subs", base / "out"
    other = base / "last_year"  # another run's gradebook, outside everything this run denies
    outside = base / "grader_owned"  # a folder of the grader's where nothing may appear
    for d in (src, subs, out, other, outside):
        d.mkdir()
    (other / "grades.csv").write_text("student,total\n")
    listener = Listener()
    nbformat.write(demo_lab(), src / "00_demo.ipynb")
    class_ = {
        "good": student(),
        "blank": nbformat.read(src / "00_demo.ipynb", as_version=4),  # the solution's shape, no answers
        "cheat": student("def split_channels(x):\n    return invlab.split_channels(x)"),
        "cheat_alias": student("from invlab.revnet import split_channels as s\n\ndef split_channels(x):\n    return s(x)"),
        "always_true": student(ALWAYS_TRUE),
        "snoop": student(SNOOP.format(root=str(ROOT), src=str(src / "00_demo.ipynb"), csv=str(out / "grades.csv"),
                                   other=str(other / "grades.csv"))),
        "hog": student(HOG),
        "deleter": student(edit=_drop_test_label),
        "renamer": student(edit=_rename_test_split),
        **hostile.demo_class({"master": str(src / "00_demo.ipynb"), "csv": str(out / "grades.csv"),
                              "other": str(other / "grades.csv"), "outside": str(outside),
                              "port": listener.port, "pid": os.getpid()}),
    }
    for cell in class_["blank"].cells:  # the blank lab: solutions replaced by raise
        if meta(cell).get("solution"):
            cell.source = cell.source.split("# BEGIN SOLUTION")[0] + "raise NotImplementedError()"
    for name, nb in class_.items():
        nbformat.write(nb, subs / f"{name}.ipynb")
    proc = _run(subs, "--lab", "00", "--out", out / "grades.csv", "--timeout", "60", "--source", src,
                "--jobs", "2", "--memory-mb", "6000", "--sandbox", SANDBOX)
    listener.close()
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the snoop aims at this gradebook by name, and at another run's: the sandbox keeps both out
    text = (out / "grades.csv").read_text()
    return {"src": src, "subs": subs, "out": out, "csv": out / "grades.csv", "text": text, "other": other,
            "outside": outside, "connections": listener.connections}, _rows(out / "grades.csv"), proc.stdout


def test_right_answer_full_marks_blank_zero(demo):
    _, rows, _ = demo
    assert float(rows["good"]["total"]) == 3 and rows["good"]["status"] == "graded", rows["good"]
    assert rows["good"]["tampered"] == "" and rows["good"]["sandbox"] == SANDBOX
    assert float(rows["blank"]["total"]) == 0


def test_calling_the_reference_answer_scores_zero_with_a_note(demo):
    paths, rows, _ = demo
    for who in ("cheat", "cheat_alias"):
        r = rows[who]
        assert float(r["test_split"]) == 0 and float(r["test_label"]) == 1, r  # other exercises still count
        assert r["reference_calls"] == "test_split" and r["status"] == "graded", r
        page = (paths["out"] / "feedback" / f"{who}.html").read_text()
        assert "calls the course&#x27;s own implementation" in page or "calls the course's own implementation" in page


def test_always_true_objects_do_not_pass(demo):
    r = demo[1]["always_true"]
    assert float(r["test_split"]) == 0, r


def test_sandbox_keeps_network_files_and_shell_out(demo):
    paths, rows, _ = demo
    page = (paths["out"] / "feedback" / "snoop.html").read_text()
    for what in ("network", "solutions", "master copy", "gradebook db", "gradebook csv", "another gradebook",
                 "a new file elsewhere", "shell"):
        assert f"SNOOP-OPEN {what}" not in page and f"SNOOP-BLOCKED {what}" in page, what
    assert "OWN-FILES-WRITABLE" in page  # the notebook's own folder and TMPDIR stay writable
    assert (paths["other"] / "grades.csv").read_text() == "student,total\n"
    assert not (paths["other"] / "grades.csv.new").exists()
    assert set(rows) == {"good", "blank", "cheat", "cheat_alias", "always_true", "snoop", "hog", "deleter",
                         "renamer", *hostile.NATIVE, *hostile.CHECKS}  # the snoop's forged row is not in it
    assert float(rows["snoop"]["total"]) == 3  # blocked attempts cost nothing when the code is right


def test_memory_cap_stops_a_huge_allocation(demo):
    paths, rows, _ = demo
    assert float(rows["hog"]["test_split"]) == 0
    assert "MemoryError" in (paths["out"] / "feedback" / "hog.html").read_text()


def test_deleted_or_renamed_graded_cell_scores_zero_and_is_flagged(demo):
    rows = demo[1]
    assert float(rows["deleter"]["test_label"]) == 0 and rows["deleter"]["missing_cells"] == "test_label"
    assert float(rows["deleter"]["test_split"]) == 2
    assert float(rows["renamer"]["test_split"]) == 0 and rows["renamer"]["missing_cells"] == "test_split"


# ---------------------------------------------------------------- the hostile catalogue (course/hostile.py)
def _page(paths, who):
    return (paths["out"] / "feedback" / f"{who}.html").read_text()


@needs_os
@pytest.mark.parametrize("who", sorted(hostile.NATIVE))
def test_native_code_achieves_nothing(demo, who):
    """Native reads, writes, sockets, shells and forks: every attempt fails, nothing outside the
    student's folder changes, no one connects to the listener, and the right answer still counts."""
    paths, rows, _ = demo
    page = _page(paths, who)
    printed = [ln for ln in page.splitlines() if re.search(r"ATTACK-(OPEN|BLOCKED) \w|LEAK b", ln)]
    assert printed and not any("ATTACK-OPEN" in ln or "LEAK" in ln for ln in printed), printed
    assert (paths["other"] / "grades.csv").read_text() == "student,total\n"
    assert list(paths["outside"].iterdir()) == [] and paths["connections"] == []
    assert not any(s in page for s in hostile.SECRETS)
    assert float(rows[who]["total"]) == 3 and rows[who]["status"] == "graded", rows[who]


@pytest.mark.parametrize("who", sorted(hostile.CHECKS))
def test_switching_off_the_checks_scores_nothing(demo, who):
    """Each way of switching off the checks, with a wrong answer: the lab scores 0, and where the
    checks were really switched off the gradebook says *tampered* and the lab scores 0 (a refused
    attempt just fails)."""
    paths, rows, _ = demo
    r = rows[who]
    assert float(r["test_split"]) == 0, r          # the wrong answer never scores
    refused = who == "trace"      # sys.settrace is refused outright: the attempt fails, nothing to flag
    assert (r["status"] == "tampered") != refused and bool(r["tampered"]) != refused, r
    if not refused:                                 # tampering costs the whole lab
        assert float(r["total"]) == 0 and "your instructor will review it" in _page(paths, who), r


def test_python_fallback_says_what_it_lacks_and_still_guards_the_checks(tmp_path):
    """--sandbox python: one warning names what is not protected; Python-level snooping is still
    refused and the referee still catches a switched-off check."""
    src, subs = tmp_path / "src", tmp_path / "subs"
    src.mkdir(), subs.mkdir()
    nbformat.write(demo_lab(), src / "00_demo.ipynb")
    nbformat.write(student(), subs / "good.ipynb")
    nbformat.write(hostile.with_prelude(student(hostile.WRONG_SPLIT), "ex_split", hostile.CHECKS["patch_setattr"][1]),
                   subs / "tamper.ipynb")
    nbformat.write(student(SNOOP.format(root=str(ROOT), src=str(src / "00_demo.ipynb"), csv=str(tmp_path / "g.csv"),
                                        other=str(tmp_path / "other.csv"))), subs / "snoop.ipynb")
    proc = _run(subs, "--lab", "00", "--out", tmp_path / "g.csv", "--timeout", "60", "--source", src, "--jobs", "2",
                "--sandbox", "python")
    assert proc.returncode == 0, proc.stderr[-2000:]
    warning = [ln for ln in proc.stderr.splitlines() if ln.startswith("invlab grading:")]
    assert len(warning) == 1 and "NOT native code" in warning[0]
    rows = _rows(tmp_path / "g.csv")
    assert {r["sandbox"] for r in rows.values()} == {"python"}
    assert float(rows["good"]["total"]) == 3 and rows["tamper"]["status"] == "tampered"
    page = (tmp_path / "feedback" / "snoop.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert re.search(r"SNOOP-BLOCKED solutions", text) and not re.search(r"SNOOP-OPEN [a-z]", text)
    assert not (tmp_path / "other.csv").exists()


def test_feedback_of_the_demo_class_has_no_hidden_tests(demo):
    paths, _, _ = demo
    secret = ["z_secret", "hidden_label_test", "split_channels(z)[1] for a hidden z"]
    for page in (paths["out"] / "feedback").glob("*.html"):
        text = page.read_text()
        assert not any(s in text for s in secret), page.name
    assert not any(s in paths["text"] for s in secret)


def test_shards_merged_and_an_interrupted_shard_resumed_equal_one_run(demo, tmp_path):
    paths, rows, _ = demo
    subs = tmp_path / "subs"  # five of the class (two per shard at least): the same rows as in one run
    subs.mkdir()
    few = ["good", "blank", "cheat", "deleter", "renamer"]
    for who in few:
        shutil.copy(paths["subs"] / f"{who}.ipynb", subs)
    lines = paths["text"].splitlines(keepends=True)
    expected = lines[0] + "".join(line for line in lines[1:] if line.split(",")[0] in few)
    common = ["--lab", "00", "--timeout", "60", "--source", paths["src"], "--memory-mb", "6000"]
    one = _run(subs, *common, "--out", tmp_path / "a" / "s1.csv", "--shard", "1/2", "--jobs", "2")
    assert one.returncode == 0, one.stderr[-2000:]
    # shard 2, killed (SIGKILL: no clean-up at all) once its first row is saved, then resumed
    s2 = tmp_path / "b" / "s2.csv"
    cmd = [sys.executable, "-m", "course.grade", str(subs), *map(str, common), "--out", str(s2),
           "--shard", "2/2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if s2.exists() and len(_rows(s2)) >= 1:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    saved = _rows(s2)
    assert 1 <= len(saved) < len(grade.shard_of(few, (2, 2))), saved
    again = _run(subs, *common, "--out", s2, "--shard", "2/2", "--resume")
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"resuming: {len(saved)} of" in again.stdout
    merged = _run("merge", tmp_path / "a" / "s1.csv", s2, "--out", tmp_path / "all.csv")
    assert merged.returncode == 0, merged.stderr
    assert (tmp_path / "all.csv").read_text() == expected
    assert len(list((tmp_path / "feedback").glob("*.html"))) == len(few)


def test_shards_are_deterministic_and_cover_the_class():
    ids = [f"s{i:02d}" for i in range(10)][::-1]
    parts = [grade.shard_of(ids, (k, 3)) for k in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(ids) and parts[0] == ["s00", "s03", "s06", "s09"]


# ---------------------------------------------------------------- errors an instructor can act on
@pytest.mark.parametrize("case", ["wrong_lab", "empty", "other_lab", "no_nbgrader", "bad_shard"])
def test_errors_are_one_actionable_line(case, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    args = [subs, "--lab", "01", "--out", tmp_path / "g.csv"]
    if case == "wrong_lab":
        args[2], want = "9", "pass one of these to --lab: 01"
        nbformat.write(nbformat.read(build.find_lab("01", build.LABS), as_version=4), subs / "a.ipynb")
    elif case == "empty":
        want = "no submissions in"
    elif case == "other_lab":
        nbformat.write(nbformat.read(build.find_lab("02", build.LABS), as_version=4), subs / "a.ipynb")
        want = "grade them with --lab 02"
    elif case == "bad_shard":
        nbformat.write(nbformat.read(build.find_lab("01", build.LABS), as_version=4), subs / "a.ipynb")
        args += ["--shard", "3/2"]
        want = "--shard must be K/N"
    if case == "no_nbgrader":
        code = ("import sys; sys.modules['nbgrader'] = None; from course import grade; "
                f"sys.exit(grade.main({[str(a) for a in args]!r}))")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        want = "nbgrader is not installed"
    else:
        proc = _run(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and want in lines[0], proc.stderr
