"""course/sandbox.py: the policy, the choice of mode, and bubblewrap containing native code on
its own (no referee, no audit hook: what the operating system alone guarantees)."""
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from course import referee, sandbox

OS_SANDBOX, WHY_NOT = sandbox.os_sandbox()
needs_os = pytest.mark.skipif(not OS_SANDBOX, reason=f"no operating-system sandbox here: {WHY_NOT}")

NATIVE = textwrap.dedent("""
    import ctypes, os, socket, struct, sys
    import numpy as np, torch
    libc = ctypes.CDLL(None)
    master, gradebook, outside, port, pid = sys.argv[1:6]
    def attempt(what, fn):
        try:
            fn()
            print("OPEN", what)
        except Exception as err:
            print("BLOCKED", what, type(err).__name__)
    attempt("torch.from_file master", lambda: torch.from_file(master, size=4, dtype=torch.uint8))
    attempt("numpy read gradebook", lambda: np.fromfile(gradebook, dtype=np.uint8)[:4])
    attempt("ctypes fopen gradebook", lambda: (_ for _ in ()).throw(OSError()) if not libc.fopen(gradebook.encode(), b"a") else None)
    attempt("torch.save outside", lambda: torch.save(torch.zeros(1), outside + "/t.pt"))
    attempt("numpy tofile outside", lambda: np.zeros(1).tofile(outside + "/n.bin"))
    def connect():
        s = libc.socket(2, 1, 0)
        addr = struct.pack("<HH4s8x", 2, socket.htons(int(port)), bytes([127, 0, 0, 1]))
        assert libc.connect(s, addr, 16) == 0
    attempt("ctypes connect", connect)
    attempt("ctypes system", lambda: 1 / 0 if libc.system(f"touch {outside}/sh".encode()) != 0 else None)
    def fork():
        child = libc.fork()
        if child == 0:
            os._exit(0)
        assert child > 0 and os.path.exists("/proc/" + str(child))
    attempt("fork, then look at the processes in /proc", fork)  # a child stays in the same sandbox
    attempt("the grader's /proc", lambda: open(f"/proc/{pid}/environ").read())
    open("own.txt", "w").write("mine")
    print("OWN-WRITABLE")
""")


@needs_os
def test_bubblewrap_alone_contains_native_code(tmp_path):
    """ctypes, torch and numpy at the C level reach nothing the policy does not grant."""
    grader = tmp_path / "grader"           # the master, the gradebook and a folder of the grader's
    grader.mkdir()
    (grader / "master.ipynb").write_text("### BEGIN HIDDEN TESTS secret")
    (grader / "grades.csv").write_text("student,total\n")
    outside = grader / "outside"
    outside.mkdir()
    own, tmp = tmp_path / "own", tmp_path / "tmp"
    own.mkdir(), tmp.mkdir()
    policy = sandbox.Policy.for_student("os", own, tmp, tmp, tmp / "report", 6000, 120, [])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    (own / "attack.py").write_text(NATIVE)
    argv = sandbox.bwrap_argv(policy, [sys.executable, str(own / "attack.py"), str(grader / "master.ipynb"),
                                       str(grader / "grades.csv"), str(outside), str(port), str(os.getpid())],
                              sandbox.kernel_env(policy))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert not [ln for ln in lines if ln.startswith("OPEN")], lines
    assert len([ln for ln in lines if ln.startswith("BLOCKED")]) == 9 and "OWN-WRITABLE" in lines, lines
    assert (grader / "grades.csv").read_text() == "student,total\n" and list(outside.iterdir()) == []
    assert (own / "own.txt").read_text() == "mine"
    with pytest.raises(socket.timeout):
        listener.accept()
    listener.close()


@needs_os
def test_bubblewrap_caps_memory_and_cpu_time(tmp_path):
    own = tmp_path / "own"
    own.mkdir()
    policy = sandbox.Policy.for_student("os", own, own, own, own / "r", 300, 1, [])
    env = sandbox.kernel_env(policy)
    hog = sandbox.bwrap_argv(policy, [sys.executable, "-c", "b = bytearray(2 * 10**9)"], env)
    spin = sandbox.bwrap_argv(policy, [sys.executable, "-c", "while True: pass"], env)
    limited = [sys.executable, "-c", "import sys, os; from course import sandbox; "
               "sandbox._limit(sandbox.Policy.load(sys.argv[1])); os.execvp(sys.argv[2], sys.argv[2:])",
               str(policy.save(own / "p.json"))]
    out = subprocess.run(limited + hog, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "MemoryError" in out.stderr
    out = subprocess.run(limited + spin, capture_output=True, text=True, timeout=120)
    assert out.returncode in (-24, 128 + 24), out  # SIGXCPU after one second of CPU


def test_choose_takes_the_strongest_and_says_what_the_fallback_lacks(monkeypatch):
    monkeypatch.setattr(sandbox, "_PROBE", (False, "bwrap is not installed"))
    mode, warning = sandbox.choose("auto")
    assert mode == "python" and "NOT native code" in warning and "bwrap is not installed" in warning
    with pytest.raises(ValueError, match="--sandbox os: bubblewrap cannot start here"):
        sandbox.choose("os")
    monkeypatch.setattr(sandbox, "_PROBE", (True, ""))
    assert sandbox.choose("auto") == ("os", None)
    assert sandbox.choose("python")[0] == "python"
    with pytest.raises(ValueError, match="--sandbox must be one of auto, os, python"):
        sandbox.choose("docker")


def test_policy_is_one_object_saved_private(tmp_path):
    p = sandbox.Policy.for_student("os", tmp_path / "a", tmp_path / "t", tmp_path / "r", tmp_path / "log",
                                   100, 5, ["/secret"])
    path = p.save(tmp_path / "policy.json")
    assert sandbox.Policy.load(path) == p and oct(path.stat().st_mode & 0o777) == "0o600"
    assert len(p.key) == 64 and p.writable[0] == str(tmp_path / "a")
    argv = sandbox.bwrap_argv(p, ["python"], sandbox.kernel_env(p))
    assert "--unshare-all" in argv and "--clearenv" in argv and "/secret" not in argv
    assert not any(a in argv for a in ("/usr/bin", "/bin/sh", "/proc")), "no shells, no /proc"


# ---------------------------------------------------------------- the referee's pieces
def test_fingerprints_ignore_where_the_code_was_compiled():
    a = referee.statements("x = 1\nprint(x)", "one.py")
    b = referee.statements("x = 1\nprint(x)", "/tmp/ipykernel_2/9.py")
    assert [referee.fingerprint(c) for c in a] == [referee.fingerprint(c) for c in b]
    c = referee.statements("x = 1\nprint(x + 0)")
    assert referee.fingerprint(a[1]) != referee.fingerprint(c[1])
    # a set literal is a frozenset constant, ordered by the string hash seed of the process
    prints = {subprocess.run([sys.executable, "-c", "from course import referee; print(referee.fingerprint("
                              "compile('x in {\\'a\\', \\'b\\', \\'c\\'}', 'f', 'eval')))"],
                             env={**os.environ, "PYTHONHASHSEED": str(seed)}, capture_output=True, text=True,
                             cwd=str(referee.__file__).rsplit("/course/", 1)[0]).stdout for seed in range(6)}
    assert len(prints) == 1, prints


def test_markers_round_trip_and_reports_must_be_signed(tmp_path):
    src = "checks.passed('x')"
    marked = referee.with_markers(src, "test_x")
    assert referee.strip_markers(marked) == src and marked.count(referee.MARK) == 2
    key = "ab" * 32
    body = '{"seq": 1, "cell": "test_x", "event": "ran", "clean": true, "statements": []}'
    (tmp_path / "log").write_text(f"{body}\t{referee.sign(bytes.fromhex(key), body)}\n{body}\tforged\n")
    good, bad = referee.read_reports(tmp_path / "log", key)
    assert good["cell"] == "test_x" and good["clean"] is True and "forged" in bad
