"""A catalogue of hostile students: one place for the attacks the grader must survive.

The trust tests (tests/test_grade_trust.py, tests/test_sandbox.py) and the class benchmark
(benchmarks/grading_class.py) take their hostile submissions from here. Each attack is a
prelude pasted into an exercise cell before the student's code, so the same attack can hit
any lab. Native attacks (``torch.from_file``, ``numpy.fromfile``/``tofile``, ``torch.save``,
``ctypes``) print ``ATTACK-OPEN <what>`` when they get through and ``ATTACK-BLOCKED <what>``
when they do not; the attacks on the checks come with a wrong answer, so they score only
when the checks were switched off.

:func:`demo_lab` is a two-exercise lab that grades in seconds; :func:`demo_class` its class.
"""
from __future__ import annotations

import base64
from typing import Dict, Tuple

import nbformat

from course import build
from course.notebook import meta

__all__ = ["NATIVE", "CHECKS", "demo_lab", "student", "with_prelude", "demo_class"]

SETUP = "import torch\nimport invlab\nfrom invlab import checks"
SPLIT = ("def split_channels(x):\n    # BEGIN SOLUTION\n    c = x.shape[1]\n"
         "    return x[:, : c // 2], x[:, c // 2 :]\n    # END SOLUTION")
RIGHT_SPLIT = "def split_channels(x):\n    c = x.shape[1]\n    return x[:, : c // 2], x[:, c // 2 :]"
WRONG_SPLIT = "def split_channels(x):\n    c = x.shape[1]\n    return 0 * x[:, : c // 2], 0 * x[:, c // 2 :]"
TEST_SPLIT = ("x = torch.randn(2, 4, 3, 3)\na, b = split_channels(x)\n"
              "checks.check_equal('split_channels(x)[0]', a, x[:, :2])\n"
              "### BEGIN HIDDEN TESTS\nz_secret = torch.randn(1, 6, 2, 2)\n"
              "checks.check_equal('split_channels(z)[1] for a hidden z', split_channels(z_secret)[1], z_secret[:, 3:])\n"
              "### END HIDDEN TESTS\nchecks.passed('split_channels')")
LABEL = "def label(n):\n    # BEGIN SOLUTION\n    return 'even' if n % 2 == 0 else 'odd'\n    # END SOLUTION"
RIGHT_LABEL = "def label(n):\n    return 'even' if n % 2 == 0 else 'odd'"
TEST_LABEL = ("checks.check_equal('label(2)', label(2), 'even')\n### BEGIN HIDDEN TESTS\n"
              "checks.check_equal('label(7) in the hidden_label_test', label(7), 'odd')\n"
              "### END HIDDEN TESTS\nchecks.passed('label')")
SECRETS = ("z_secret", "hidden_label_test", "split_channels(z)[1] for a hidden z")


def demo_lab() -> nbformat.NotebookNode:
    """Two exercises, two graded cells with hidden tests; split_channels may not call invlab's."""
    nb = build.new_notebook([
        build.code(SETUP, "setup"),
        build.solution(SPLIT, "ex_split"), build.graded(TEST_SPLIT, "test_split", 2),
        build.solution(LABEL, "ex_label"), build.graded(TEST_LABEL, "test_label", 1)])
    nb.metadata["invlab"] = {"forbidden": {"ex_split": ["invlab.revnet.split_channels"]}}
    return nb


def student(split_body=None, label_body=None, edit=None) -> nbformat.NotebookNode:
    """The demo lab as a student hands it in: the given bodies in the exercise cells."""
    nb = demo_lab()
    for cell in nb.cells:
        gid = meta(cell).get("grade_id")
        if gid == "ex_split":
            cell.source = split_body if split_body is not None else RIGHT_SPLIT
        if gid == "ex_label":
            cell.source = label_body if label_body is not None else RIGHT_LABEL
    if edit:
        edit(nb)
    return nb


def with_prelude(nb: nbformat.NotebookNode, grade_id: str, prelude: str) -> nbformat.NotebookNode:
    """``nb`` with ``prelude`` pasted at the top of its cell ``grade_id``."""
    for cell in nb.cells:
        if meta(cell).get("grade_id") == grade_id:
            cell.source = prelude.rstrip() + "\n\n" + cell.source
            return nb
    raise KeyError(grade_id)


def _try(what: str, body: str) -> str:
    return (f"try:\n    {body}\n    print('ATTACK-OPEN', {what!r})\n"
            f"except Exception as err:\n    print('ATTACK-BLOCKED', {what!r}, type(err).__name__)\n")


# ---------------------------------------------------------------- native code: the OS must contain it
# Placeholders: {master} the master solution, {csv} this run's gradebook, {other} another run's
# gradebook, {outside} a folder the grader owns, {port} a listener on 127.0.0.1, {pid} the grader.
NATIVE: Dict[str, Tuple[str, str]] = {
    "native_read": ("reads the master, the gradebooks and the grader's /proc with torch and numpy",
                    "import torch, numpy as np\n"
                    + _try("master by torch.from_file", "print('LEAK', bytes(torch.from_file({master!r}, size=200, "
                                                        "dtype=torch.uint8).tolist()))")
                    + _try("master by numpy.fromfile", "print('LEAK', np.fromfile({master!r}, dtype=np.uint8).tobytes())")
                    + _try("gradebook db by numpy.fromfile", "np.fromfile('../../../gradebook.db', dtype=np.uint8)[:10]")
                    + _try("gradebook csv by torch.from_file", "torch.from_file({csv!r}, size=10, dtype=torch.uint8)")
                    + _try("the grader's /proc", "print('LEAK', np.fromfile('/proc/{pid}/environ', dtype=np.uint8)"
                                                 ".tobytes()[:300])")),
    "native_write": ("writes outside its folder with torch.save, numpy.tofile and ctypes",
                     "import torch, numpy as np, ctypes\n"
                     + _try("torch.save outside", "torch.save(torch.zeros(1), {outside!r} + '/by_torch.pt')")
                     + _try("numpy.tofile over another gradebook", "np.frombuffer(b'hacked', dtype=np.uint8)"
                                                                   ".tofile({other!r})")
                     + _try("ctypes fopen on this gradebook", "libc = ctypes.CDLL(None); "
                            "f = libc.fopen({csv!r}.encode(), b'a'); libc.fputs(b'x,9,9,9\\n', f); libc.fclose(f)")),
    "native_socket": ("connects to a listener on 127.0.0.1 with ctypes and with Python's socket",
                      "import ctypes, socket, struct\n"
                      + _try("ctypes socket", "libc = ctypes.CDLL(None); s = libc.socket(2, 1, 0); "
                             "addr = struct.pack('<HH4s8x', 2, socket.htons({port}), bytes([127, 0, 0, 1])); "
                             "assert libc.connect(s, addr, 16) == 0")
                      + _try("python socket", "socket.create_connection(('127.0.0.1', {port}), timeout=2)")),
    "native_system": ("runs a shell and forks with ctypes",
                      "import ctypes, os\n"
                      + _try("ctypes system", "assert ctypes.CDLL(None).system(b'touch {outside}/by_system') == 0")
                      + _try("ctypes fork", "pid = ctypes.CDLL(None).fork(); "
                             "os._exit(0) if pid == 0 else None; assert pid > 0")
                      + _try("os.system", "assert os.system('touch {outside}/by_os_system') == 0")),
}

# ---------------------------------------------------------------- switching off the checks
_FAKE = "lambda *a, **k: None"
_ENCODED = base64.b64encode(f"import invlab.checks as c\nc.check_equal = {_FAKE}".encode()).decode()
CHECKS: Dict[str, Tuple[str, str]] = {
    "rebind_checks": ("rebinds the name checks", "class _Any:\n    def __getattr__(self, n):\n"
                      "        return lambda *a, **k: None\nchecks = _Any()"),
    "patch_setattr": ("replaces invlab.checks.check_equal by setattr",
                      f"import invlab\nsetattr(invlab.checks, 'check_equal', {_FAKE})"),
    "patch_exec": ("replaces check_equal from a string decoded at run time",
                   f"import base64\nexec(base64.b64decode({_ENCODED!r}).decode())"),
    "patch_importlib": ("replaces check_equal through importlib and the module's __dict__",
                        f"import importlib\nimportlib.import_module('invlab.' + 'checks').__dict__['check_equal'] = {_FAKE}"),
    "patch_builtin": ("patches abs, which check_close compares numbers with",
                      "import builtins\nbuiltins.abs = lambda v: 0"),
    "patch_tensor": ("patches torch.Tensor.__ne__, which check_equal compares with",
                     "import torch\ntorch.Tensor.__ne__ = lambda a, b: torch.zeros(a.shape, dtype=torch.bool)"),
    "patch_and_restore": ("split_channels switches the checks off; checks.passed puts them back before the "
                          "cell ends",
                          "import invlab.checks as _c\n_real_eq, _real_passed = _c.check_equal, _c.passed\n"
                          "def _restore_and_pass(what):\n"
                          "    _c.check_equal, _c.passed = _real_eq, _real_passed\n    _real_passed(what)\n"
                          "def _arm():\n    _c.check_equal, _c.passed = (lambda *a, **k: None), _restore_and_pass\n"),
    "rewrite_cell": ("an input transformer drops every check from the cells that follow",
                     "get_ipython().input_transformers_post.append(\n"
                     "    lambda lines: [l for l in lines if 'checks.check' not in l])"),
    "skip_cell": ("the shell skips the graded cells and reports success",
                  "_shell = get_ipython()\n_run, _run_async = _shell.run_cell, _shell.run_cell_async\n"
                  "def _skipped(raw_cell):\n"
                  "    return 'pass' if 'checks.' in raw_cell and 'def ' not in raw_cell else raw_cell\n"
                  "def _skip(raw_cell, *a, **k):\n    return _run(_skipped(raw_cell), *a, **k)\n"
                  "async def _skip_async(raw_cell, *a, **k):\n    return await _run_async(_skipped(raw_cell), *a, **k)\n"
                  "_shell.run_cell, _shell.run_cell_async = _skip, _skip_async"),
    "silence_audit": ("replaces sys.audit (to silence the referee), then check_equal",
                      f"import sys, invlab\nsys.audit = lambda *a: None\ninvlab.checks.check_equal = {_FAKE}"),
    "forge_report": ("replaces check_equal, then writes a clean report of its own to every open file",
                     f"import os, stat, invlab\ninvlab.checks.check_equal = {_FAKE}\nfor _fd in range(3, 64):\n    try:\n"
                     "        if stat.S_ISREG(os.fstat(_fd).st_mode):\n"
                     "            os.write(_fd, b'{\"seq\": 1, \"cell\": \"test_split\", \"event\": \"ran\", "
                     "\"clean\": true}\\tbad\\n')\n"
                     "    except OSError:\n        pass"),
    "trace": ("a trace function zeroes the count of differences inside check_equal",
              "import sys\ndef _t(frame, event, arg):\n    if frame.f_code.co_name != 'check_equal':\n"
              "        return None\n    def _local(f, e, a):\n        if 'bad' in f.f_locals:\n"
              "            f.f_locals['bad'] = 0\n        return _local\n    return _local\nsys.settrace(_t)"),
}


def demo_class(paths: Dict[str, str]) -> Dict[str, nbformat.NotebookNode]:
    """The demo lab's hostile class: every attack of :data:`NATIVE` (with right answers) and of
    :data:`CHECKS` (with a wrong split_channels: its graded cell scores only if the checks were off)."""
    out = {}
    for name, (_, prelude) in NATIVE.items():
        out[name] = with_prelude(student(), "ex_split", prelude.format(**paths))
    for name, (_, prelude) in CHECKS.items():
        body = WRONG_SPLIT
        if name == "patch_and_restore":
            body = WRONG_SPLIT.replace("    c = x.shape[1]", "    _arm()\n    c = x.shape[1]")
        out[name] = with_prelude(student(body), "ex_split", prelude)
    return out
