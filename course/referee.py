"""The referee: watches a student's grading kernel from inside, before any student code runs.

Started by :mod:`course.sandbox` as the kernel itself (``python referee.py -f CONNECTION``):
it reads its settings from a pipe (``INVLAB_REFEREE_FD``: the MAC key, the mode), imports
what the labs use, takes a **snapshot** of everything a graded cell relies on — the
``builtins``, every module of invlab, torch, NumPy and math, and the dictionaries of their
classes (``torch.Tensor``, ``invlab.checks.CheckFailed`` ...) — installs an audit hook that
Python code cannot remove, and starts the IPython kernel.

The grader adds one line before and after every graded cell (and after the setup cell)::

    __import__("sys").audit("invlab.cell", "start", "test_split")   # invlab referee
    ...the graded cell...
    __import__("sys").audit("invlab.cell", "end", "test_split")     # invlab referee

* ``setup``: the names the setup cell bound (``checks``, ``torch`` ...) join the snapshot.
* ``start``: the snapshot is compared with the live objects; then, while the cell runs, a
  profiler compares it again each time the student's code returns to the cell or the
  library (so a patch made and undone inside a call is seen too), and records the
  cell's statements as they run.
* ``end``: a last comparison; the referee writes a **report** — the cell, whether anything
  had changed and what, and a fingerprint of each statement that ran — signed with the
  key (HMAC-SHA256) to a file descriptor that leads outside the sandbox. (It raises
  nothing: a traceback would show its frame. The feedback page says why the cell scored 0.)
* ``checks.own_work`` in a graded cell asks the referee to arm the reference answers'
  tripwires (:mod:`invlab.answers`): the referee swaps their code itself and keeps the
  originals, and records the calls it sees.

The grader (:mod:`course.autograde`) counts a graded cell's points only when a valid report
says it ran, unchanged, exactly the statements of the graded cell. So a submission that
rebinds ``checks``, replaces a function of ``invlab.checks``, patches a torch or builtin
function they use (by assignment, ``setattr``, ``exec`` of a decoded string, ``importlib``),
skips or rewrites a graded cell (an input transformer, a patched ``run_cell``), or
silences the report (patching ``sys.audit``) scores 0 and is marked *tampered*.

The hook also refuses, from the student's code: tracing and profiling (``sys.settrace``,
``sys.setprofile``), walking the garbage collector, ``ctypes``, building code objects
(``code.__new__``, ``marshal.loads``), starting programs, and — in ``python`` mode, where no
OS sandbox stands around the kernel — sockets, opening the denied folders and writing
outside the writable ones. The referee's own state lives only in this module's closures,
reachable from no Python object the student can reach; its hook and profiler call only
built-in functions captured at start (never a name a student could rebind).

What it does not stop: native code that rewrites the interpreter's memory (only the OS
sandbox contains native code, and it can reach nothing outside the student's folder).
"""
import _hashlib
import os
import sys

if __name__ == "__main__":               # the kernel: keep this folder off sys.path
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

# Imported before the snapshot: what the checks rely on (a module imported later by the
# student's code could be patched before a check first uses it).
# torch._dynamo rebinds torch.manual_seed (and more) when it is first imported — by the first
# optimizer step of a lab, say — so it is imported here, before the snapshot.
PRELOAD = ("numpy", "math", "torch", "torch.nn", "torch.nn.functional", "torch.func", "torch.linalg",
           "torch.autograd", "torch.autograd.functional", "torch.optim", "torch._dynamo", "invlab")
WATCHED = ("builtins", "math", "operator", "functools", "numpy", "torch", "torch.nn", "torch.nn.functional",
           "torch.func", "torch.linalg", "torch.autograd", "torch.autograd.functional", "torch.overrides",
           "torch.nn.modules.module", "invlab", "sys")
MARK = "# invlab referee"
# Names IPython itself swaps while a cell runs (its builtin trap, display and exception hooks).
NOT_WATCHED = frozenset({"builtins.input", "builtins.exit", "builtins.quit", "builtins.get_ipython",
                         "builtins.display", "builtins.breakpoint", "sys.displayhook", "sys.excepthook",
                         "sys.breakpointhook", "sys.stdout", "sys.stderr", "sys.stdin"})


def _fingerprinter(sha, rep, typ, srt=sorted, fset=frozenset):
    """The fingerprint function, built from the built-ins it is given (captured once).
    A frozenset constant (``x in {'a', 'b'}``) is hashed sorted: its order follows the
    process's string hash seed, which differs between the grader and the kernel."""
    def fingerprint(code) -> str:
        h = sha()

        def walk(c):
            h.update(c.co_code)
            h.update(rep((c.co_names, c.co_varnames, c.co_freevars, c.co_cellvars, c.co_flags)).encode())
            for const in c.co_consts:
                if typ(const) is typ(c):
                    h.update(b"<code>")
                    walk(const)
                elif typ(const) is fset:
                    h.update(rep(srt(rep(e) for e in const)).encode())
                else:
                    h.update(rep(const).encode())
        walk(code)
        return h.hexdigest()
    return fingerprint


fingerprint = _fingerprinter(_hashlib.openssl_sha256, repr, type)
fingerprint.__doc__ = """A hash of what a code object does (bytecode, constants, names), not of where
it was compiled (file, line numbers): the grader and the kernel compute the same one.

>>> fingerprint(compile("x = 1", "a.py", "exec")) == fingerprint(compile("\\nx = 1", "b.py", "exec"))
True
"""


def statements(source: str, filename: str = "<cell>") -> list:
    """The code objects IPython runs for a cell: each top-level statement compiled on its own,
    the last one in ``single`` mode when it is an expression (IPython's ``last_expr``)."""
    import ast
    tree = ast.parse(source)
    nodes = tree.body
    out = []
    for k, node in enumerate(nodes):
        if k == len(nodes) - 1 and isinstance(node, ast.Expr):
            out.append(compile(ast.Interactive([node]), filename, "single", dont_inherit=True))
        else:
            out.append(compile(ast.Module([node], []), filename, "exec", dont_inherit=True))
    return out


def with_markers(source: str, grade_id: str, kind: str = "graded") -> str:
    """A cell's source with the referee's lines (``kind``: "graded" or "setup")."""
    if kind == "setup":
        return f'{source.rstrip()}\n__import__("sys").audit("invlab.cell", "setup", {grade_id!r})  {MARK}'
    return (f'__import__("sys").audit("invlab.cell", "start", {grade_id!r})  {MARK}\n{source.rstrip()}\n'
            f'__import__("sys").audit("invlab.cell", "end", {grade_id!r})  {MARK}')


def strip_markers(source: str) -> str:
    """``source`` without the referee's lines (for the student's feedback page)."""
    return "\n".join(ln for ln in source.split("\n") if not ln.endswith(MARK))


def sign(key: bytes, line: str) -> str:
    return _hashlib.hmac_digest(key, line.encode(), "sha256").hex()


def read_reports(path, key_hex: str) -> list:
    """The referee's reports in ``path`` whose signature checks, as dicts; a line whose
    signature does not check becomes ``{"forged": line}``."""
    import json
    key, out = bytes.fromhex(key_hex), []
    try:
        text = open(path).read()
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        body, _, mac = line.rpartition("\t")
        ok = mac and _hashlib.compare_digest(sign(key, body), mac)
        out.append(json.loads(body) if ok else {"forged": line[:200]})
    return out


# ---------------------------------------------------------------- inside the kernel
def _preload() -> None:
    import importlib
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # a lab that needs it will say so itself
            pass
    import pkgutil
    import invlab
    for info in pkgutil.walk_packages(invlab.__path__, "invlab."):
        importlib.import_module(info.name)


def _snapshot():
    """``(watched, class_keys, classes)``: every (place, dict, key, object) a graded cell relies on."""
    import types
    import torch
    modules = [sys.modules[m] for m in WATCHED if m in sys.modules]
    modules += [m for n, m in sorted(sys.modules.items()) if n.startswith("invlab.") and m is not None]
    watched, classes = [], {torch.Tensor, torch._C.TensorBase, torch.nn.Module, torch.nn.Parameter}

    def watch_dict(where, d):
        for k, v in list(d.items()):
            if f"{where}.{k}" in NOT_WATCHED:
                continue
            if callable(v) or isinstance(v, (types.ModuleType, staticmethod, classmethod, property)):
                watched.append((where, d, k, v))
    for mod in modules:
        watch_dict(mod.__name__, mod.__dict__)
        classes |= {v for v in vars(mod).values()
                    if isinstance(v, type) and (v.__module__ or "").split(".")[0] in ("invlab", "torch", "builtins")}
    for name in WATCHED:                      # import invlab.checks must give the real module too
        if name in sys.modules:
            watched.append(("sys.modules", sys.modules, name, sys.modules[name]))
    class_keys = []
    for cls in sorted(classes, key=lambda c: f"{c.__module__}.{c.__qualname__}"):
        where = f"{cls.__module__}.{cls.__qualname__}"
        watch_dict(where, cls.__dict__)
        class_keys.append((where, cls.__dict__, frozenset(cls.__dict__)))
    return watched, class_keys, classes


def _is_student(filename: str, trusted: tuple) -> bool:
    return not filename.startswith(trusted)


def _gatekeeper(trusted: tuple, referee_file: str, protected: frozenset):
    """Audit hook 1: refuses what grading forbids. It holds nothing worth stealing (tuples,
    a frozenset), so a traceback that shows its frame gives nothing away."""
    getframe = sys._getframe
    watched_events = frozenset(("sys.settrace", "sys.setprofile", "sys.addaudithook", "gc.get_objects",
                                "gc.get_referrers", "gc.get_referents", "code.__new__", "marshal.loads",
                                "marshal.load", "sys._current_frames"))
    programs = frozenset(("subprocess.Popen", "os.system", "os.posix_spawn", "os.fork", "os.forkpty",
                          "pty.spawn"))

    def student_on_stack(frame) -> bool:
        while frame is not None:
            if not frame.f_code.co_filename.startswith(trusted):
                return True
            frame = frame.f_back
        return False

    def importing_a_trusted_file(frame) -> bool:   # marshal.loads inside importlib, of a file we trust
        caller = frame.f_back
        path = caller.f_locals.get("bytecode_path") if caller is not None else None
        return frame.f_code.co_name == "_compile_bytecode" and type(path) is str and path.startswith(trusted)

    def hook(event, args):
        if event in programs or event.startswith(("os.exec", "os.spawn")):
            raise PermissionError("starting other programs is off while grading")
        if event in watched_events or event.startswith("ctypes."):
            frame = getframe(1)
            if frame.f_code.co_filename == referee_file:
                return
            if event == "marshal.loads" and importing_a_trusted_file(frame):
                return
            if student_on_stack(frame):
                raise PermissionError(f"{event} is off while grading")
        elif event == "object.__setattr__" and args and id(args[0]) in protected:
            frame = getframe(1)
            if frame.f_code.co_filename != referee_file and student_on_stack(frame):
                raise PermissionError(f"changing {getattr(args[0], '__qualname__', type(args[0]).__name__)}."
                                      f"{args[1]} is off while grading")
    return hook


def _python_guard(settings: dict):
    """Audit hook 3, python mode only: no OS sandbox stands around the kernel, so Python code
    may not use the network, open the denied folders or write outside the writable ones."""
    deny = tuple(os.path.realpath(p) for p in settings.get("deny", []))
    writable = tuple(os.path.realpath(p) for p in settings["writable"]) + (
        os.path.realpath(os.path.expanduser("~/.cache")), "/dev")
    path_events = frozenset(("open", "os.listdir", "os.scandir", "os.rename", "os.remove", "os.rmdir",
                             "os.mkdir", "os.truncate", "os.chmod", "os.link", "os.symlink",
                             "shutil.copyfile", "os.utime", "glob.glob"))
    writes = frozenset(("os.rename", "os.remove", "os.rmdir", "os.mkdir", "shutil.copyfile", "os.truncate",
                        "os.chmod", "os.link", "os.symlink", "os.utime"))

    def inside(path, roots):
        return any(path == r or path.startswith(r + os.sep) for r in roots)

    network = frozenset(("socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind",
                         "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"))

    def hook(event, args):
        if event in network:   # not socket.__new__: the kernel's own event loop makes a socket pair
            raise PermissionError("network access is off while grading")
        if event not in path_events or not args:
            return
        for k, target in enumerate(args[:2] if event in ("os.rename", "os.link", "os.symlink",
                                                         "shutil.copyfile") else args[:1]):
            if isinstance(target, int) or target is None:
                continue
            try:
                path = os.path.realpath(os.fsdecode(target))
            except (TypeError, ValueError):
                continue
            if inside(path, deny) and not inside(path, writable):
                raise PermissionError(f"{path} is out of reach while grading")
            mode, flags = (list(args[1:3]) + [None, None])[:2] if event == "open" else (None, None)
            write = event in writes or k == 1 or (isinstance(mode, str) and any(c in mode for c in "wax+")) \
                or (isinstance(flags, int) and bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND
                                                             | os.O_TRUNC)))
            if write and not inside(path, writable):
                raise PermissionError(f"writing {path} is off while grading (only the notebook's own folder "
                                      "is writable)")
    return hook


def _tripwires() -> dict:
    """``{name: [(function, its code, its tripwire code)]}`` for every reference answer, built
    before any student code (the graded cells' ``checks.own_work`` asks the referee to arm them)."""
    from invlab import answers
    trips = {}
    for lab in answers.REFERENCES.values():
        for entry in lab.values():
            for name in (entry["names"] if isinstance(entry, dict) else entry):
                obj = answers.resolve(name)
                trips[name] = [(fn, fn.__code__, answers._trip_code(q, fn.__code__.co_freevars))
                               for q, fn in answers._functions(obj, name)]
    answers._refereed = True
    return trips


def _referee(key: bytes, out_fd: int, watched: list, class_keys: list, trusted: tuple, trips: dict,
             hits_out: list):
    """Audit hook 2 and its profiler. Everything they call is a built-in captured here: no name
    a student could rebind runs inside them, and no exception leaves them before a report."""
    import types
    _type, _str, _len, _callable, _ModuleType = type, str, len, callable, types.ModuleType
    _getframe, _setprofile, _write = sys._getframe, sys.setprofile, os.write
    _hmac = _hashlib.hmac_digest
    import time
    _time = time.time
    _fp = _fingerprinter(_hashlib.openssl_sha256, repr, type)
    state = {"cell": None, "file": None, "stmts": [], "found": [], "user": [], "seq": 0, "student": {},
             "armed": None, "hits": []}
    _tuple = tuple

    def report(fields: dict) -> None:
        state["seq"] += 1
        parts = [f'"seq": {state["seq"]}', f'"t": {_time():.3f}']
        for k, v in fields.items():
            if _type(v) is bool:
                val = "true" if v else "false"
            elif _type(v) is list:
                val = "[" + ", ".join('"' + _str(x).replace("\\", "/").replace('"', "'") + '"' for x in v) + "]"
            else:
                val = '"' + _str(v).replace("\\", "/").replace('"', "'") + '"'
            parts.append(f'"{k}": {val}')
        body = "{" + ", ".join(parts) + "}"
        _write(out_fd, (body + "\t" + _hmac(key, body.encode(), "sha256").hex() + "\n").encode())

    def is_student(code) -> bool:
        known = state["student"].get(code)
        if known is None:
            name = code.co_filename
            known = not (name == state["file"] or name.startswith(trusted))
            state["student"][code] = known
        return known

    def student_on_stack(frame) -> bool:
        while frame is not None:
            if is_student(frame.f_code):
                return True
            frame = frame.f_back
        return False

    def changed() -> list:
        bad = []
        for where, d, k, v in watched:
            if d.get(k) is not v:
                bad.append(f"{where}.{k}")
        for where, d, keys in class_keys:
            if _len(d) != _len(keys):
                bad += [f"{where}.{k}" for k in d if k not in keys]
        for name, ns, v in state["user"]:
            if ns.get(name) is not v:
                bad.append(name)
        return bad

    def verify(where: str) -> None:
        if not state["found"]:
            bad = changed()
            if bad:
                state["found"] = bad
                report({"cell": state["cell"], "event": "tampered", "where": where, "changed": bad[:20]})

    def profile(frame, event, arg):
        if event == "call":
            code = frame.f_code
            if code.co_name == "<module>" and code.co_filename == state["file"]:
                state["stmts"].append(code)
        elif event == "return" and is_student(frame.f_code):
            back = frame.f_back
            if back is None or not is_student(back.f_code):
                verify("when your code returned")

    def cell_event(args, frame):
        if _len(args) != 2 or _type(args[0]) is not _str or _type(args[1]) is not _str:
            return
        kind, gid = args
        if frame.f_code.co_name != "<module>" or student_on_stack(frame.f_back):
            report({"cell": gid, "event": "forged", "kind": kind})
            return
        if kind == "setup":
            ns = frame.f_globals
            for name, v in _list(ns.items()):
                if _callable(v) or _type(v) is _ModuleType:
                    state["user"].append((name, ns, v))
            verify("after the setup cell")
        elif kind == "start":
            state.update(cell=gid, file=frame.f_code.co_filename, stmts=[], found=[], student={})
            verify("before the graded cell")
            _setprofile(profile)
        elif kind == "end" and gid == state["cell"]:
            _setprofile(None)
            verify("at the end of the graded cell")
            report({"cell": gid, "event": "ran", "clean": not state["found"],
                    "statements": [_fp(c) for c in state["stmts"]]})
            state["cell"], state["file"] = None, None
            # No exception from here: its traceback would show this frame. The signed report decides
            # the grade, and the feedback page says why the cell scored 0.

    _list = list

    def tripwire_event(args, frame):
        if _len(args) != 2 or _type(args[1]) is not _tuple or student_on_stack(frame):
            return                       # only the graded cell's own checks arm the tripwires
        kind, names = args
        if kind == "arm" and state["armed"] is None:
            state["armed"], state["hits"] = [], []
            for name in names:
                for fn, code, trip in trips.get(name, ()):
                    fn.__code__ = trip
                    state["armed"].append((fn, code))
        elif kind == "end" and state["armed"] is not None:
            for fn, code in state["armed"]:
                fn.__code__ = code
            state["armed"] = None
            hits_out.extend(state["hits"])

    def hook(event, args):
        try:
            if event == "invlab.cell":
                cell_event(args, _getframe(1))
            elif event == "invlab.tripwire":
                tripwire_event(args, _getframe(1))
            elif event == "invlab.hit" and state["armed"] is not None and _len(args) == 1 and _type(args[0]) is _str:
                state["hits"].append(args[0])
        except BaseException:        # nothing may leave this frame (a traceback would show it)
            state["found"] = state["found"] or ["the referee itself"]
    report({"event": "armed", "watched": _len(watched)})   # before any student code: it cannot be held back
    return hook


def _arm(settings: dict, out_fd: int) -> None:
    """Preload, snapshot, then the hooks; returns nothing the student can reach."""
    _preload()
    sys.getprofile = _refuse_getter("sys.getprofile")   # the referee's profiler stays unreachable
    sys.gettrace = _refuse_getter("sys.gettrace")
    watched, class_keys, classes = _snapshot()
    referee_file = os.path.realpath(__file__)
    trusted = tuple(os.path.realpath(p) + os.sep for p in settings["readonly"]) + ("<frozen ", referee_file)
    protected = frozenset(id(v) for _, _, _, v in watched if not isinstance(v, type)) | {id(c) for c in classes}
    from invlab import answers
    trips = _tripwires()
    watched.append(("invlab.answers", answers.__dict__, "_HITS", answers._HITS))
    sys.addaudithook(_referee(bytes.fromhex(settings["key"]), out_fd, watched, class_keys, trusted, trips,
                              answers._HITS))
    if settings["mode"] == "python":
        sys.addaudithook(_python_guard(settings))
    sys.addaudithook(_gatekeeper(trusted, referee_file, protected))


def _refuse_getter(name):
    def getter(*args, **kwargs):
        raise PermissionError(f"{name} is off while grading")
    return getter


def main() -> None:
    import json
    fd = int(os.environ.pop("INVLAB_REFEREE_FD"))
    out = int(os.environ.pop("INVLAB_REFEREE_OUT"))
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
    os.close(fd)
    settings = json.loads(data)
    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    _arm(settings, out)
    del settings, data
    app.start()


if __name__ == "__main__":
    main()
