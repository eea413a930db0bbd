"""A small mutation tester: do the tests notice when the code is wrong?

For each target file it makes one small change at a time (an AST mutation), runs a fast
test subset against the mutant and records whether a test failed ("killed") or not
("survived"). Operators:

* compare: ``==``↔``!=``, ``<``↔``<=``, ``>``↔``>=``, ``in``↔``not in``, ``is``↔``is not``;
* arithmetic: ``+``↔``-``, ``*``↔``/``, ``**``→``*``; boolean: ``and``↔``or``, ``not x``→``x``;
* constants: a number n → n + 1, ``True``↔``False``;
* ``return e`` → ``return None``; a call statement (``check(...)``, ``f(...)``) → ``pass``.

The source tree is copied to a temporary folder; the parent process imports torch, pytest
and invlab once and forks one child per mutant, which re-executes the target module with
the mutation (classes keep their identity, names imported elsewhere are updated) and runs
the test subset: a mutant costs its tests, not the imports.

    PYTHONPATH=$PWD python benchmarks/mutation.py [--target base|checks|train|metrics] [--out FILE]

Prints killed / survived per target and each survivor with its line, and writes the
details as JSON (default: /tmp/invlab-mutation.json). Nothing is written in the repository.
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: target name -> (file, fast test subset: pytest arguments)
TARGETS = {
    "base": ("invlab/base.py", ["tests/test_base.py", "tests/test_checks.py", "tests/test_contract.py",
                                "-k", "not test_contract or ActNorm or Permutation"]),
    "checks": ("invlab/checks.py", ["tests/test_checks.py"]),
    "train": ("invlab/train.py", ["tests/test_train.py", "tests/test_flows.py", "-k",
                                  "test_train or fit"]),
    "metrics": ("invlab/bijections/metrics.py",
                ["tests/test_bijections.py", "tests/test_validation.py", "-k",
                 "roundtrip_match or noise or one_bad_row or bijective_is_not or decode_pred or "
                 "round_to_int or constant_predictor or padded or held_out or metrics or "
                 "B.exact or B.valid or B.round or B.evaluate or B.is_bij or B.roundtrip"]),
}

SWAP_CMP = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt,
            ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In,
            ast.Is: ast.IsNot, ast.IsNot: ast.Is}
SWAP_BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
            ast.Pow: ast.Mult}


def _docstring_nodes(tree: ast.AST) -> set:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0]))
                out.add(id(body[0].value))
    return out


def mutations(tree: ast.AST):
    """(index, description, line) of every mutation point, in a fixed walk order."""
    skip = _docstring_nodes(tree)
    points = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in SWAP_CMP:
                    points.append((node, ("cmp", k), f"{type(op).__name__}→{SWAP_CMP[type(op)].__name__}", line))
        elif isinstance(node, ast.BinOp) and type(node.op) in SWAP_BIN:
            points.append((node, ("bin",), f"{type(node.op).__name__}→{SWAP_BIN[type(node.op)].__name__}", line))
        elif isinstance(node, ast.BoolOp):
            points.append((node, ("bool",), "and↔or", line))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            points.append((node, ("not",), "not x→x", line))
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
            points.append((node, ("const",), f"{node.value!r}→{_const(node.value)!r}", line))
        elif isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            points.append((node, ("return",), "return e→return None", line))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            points.append((node, ("drop",), "call statement→pass", line))
    return points


def _const(v):
    return (not v) if isinstance(v, bool) else v + 1


def mutate(source: str, index: int) -> tuple[str, str, int]:
    """The source with mutation number ``index`` applied; (source, description, line)."""
    tree = ast.parse(source)
    node, kind, desc, line = mutations(tree)[index]
    if kind[0] == "cmp":
        node.ops[kind[1]] = SWAP_CMP[type(node.ops[kind[1]])]()
    elif kind[0] == "bin":
        node.op = SWAP_BIN[type(node.op)]()
    elif kind[0] == "bool":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind[0] == "not":
        _replace(tree, node, node.operand)
    elif kind[0] == "const":
        node.value = _const(node.value)
    elif kind[0] == "return":
        node.value = ast.Constant(None)
    elif kind[0] == "drop":
        _replace(tree, node, ast.Pass())
    return ast.unparse(ast.fix_missing_locations(tree)), desc, line


def _replace(tree, old, new):
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, copy.copy(new))
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return


def _rebind(value, new_cls, old_cls):
    """``value`` with its ``__class__`` cell (used by ``super()``) pointing at ``old_cls``."""
    if isinstance(value, (staticmethod, classmethod)):
        return type(value)(_rebind(value.__func__, new_cls, old_cls))
    if isinstance(value, property):
        return property(*(_rebind(f, new_cls, old_cls) if f else None
                          for f in (value.fget, value.fset, value.fdel)), value.__doc__)
    if not isinstance(value, types.FunctionType) or not value.__closure__:
        return value
    cells = tuple(types.CellType(old_cls) if name == "__class__" and cell.cell_contents is new_cls
                  else cell for name, cell in zip(value.__code__.co_freevars, value.__closure__))
    f = types.FunctionType(value.__code__, value.__globals__, value.__name__,
                           value.__defaults__, cells)
    f.__kwdefaults__, f.__qualname__, f.__doc__ = value.__kwdefaults__, value.__qualname__, value.__doc__
    f.__dict__.update(value.__dict__)
    return f


def load_mutant(module_name: str, source: str) -> None:
    """Run the mutated ``source`` inside the already imported module, keeping class identity.

    The module's dict is re-executed with the mutant; each class that existed before keeps
    its identity (subclasses elsewhere stay subclasses) and receives the new methods; every
    other invlab module that imported a function or constant by name gets the new object.
    """
    import importlib
    module = importlib.import_module(module_name)
    old = dict(module.__dict__)
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    for name, new in list(module.__dict__.items()):
        before = old.get(name)
        if isinstance(before, type) and isinstance(new, type) and before is not new:
            for attr, value in new.__dict__.items():
                if attr not in ("__dict__", "__weakref__"):
                    try:
                        setattr(before, attr, _rebind(value, new, before))
                    except (AttributeError, TypeError):
                        pass
            module.__dict__[name] = before
    swap = {id(v): module.__dict__[k] for k, v in old.items()
            if k in module.__dict__ and module.__dict__[k] is not v}
    for other in list(sys.modules.values()):
        if other is module or not getattr(other, "__name__", "").startswith("invlab"):
            continue
        for k, v in list(vars(other).items()):
            if id(v) in swap and getattr(v, "__module__", None) == module_name:
                setattr(other, k, swap[id(v)])


def run_tests(work: Path, args: list, timeout: int, module_name: str = "",
              source: str = "") -> str:
    """Fork; the child loads the mutant and runs pytest. 'killed', 'survived' or 'timeout'."""
    pid = os.fork()
    if pid == 0:                                           # child
        try:
            signal.alarm(timeout)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            if source:
                load_mutant(module_name, source)
            import pytest
            code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                                "--no-header", "-W", "ignore"] + args)
            os._exit(0 if code == 0 else 1)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "timeout" if os.WTERMSIG(status) == signal.SIGALRM else "killed"
    return "survived" if os.WEXITSTATUS(status) == 0 else "killed"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", action="append", choices=sorted(TARGETS))
    p.add_argument("--out", default="/tmp/invlab-mutation.json")
    p.add_argument("--timeout", type=int, default=60)
    p.add_argument("--limit", type=int, default=0, help="at most this many mutants per target")
    p.add_argument("--every", type=int, default=1, help="run every k-th mutant only (a sample)")
    a = p.parse_args(argv)
    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("INVLAB_OFFLINE", "1")
    import matplotlib  # noqa: F401  (imported once, before the forks)
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    import torch
    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="invlab-mut-"))
    for part in ("invlab", "course", "tests", "pyproject.toml"):   # tests/conftest.py imports course/
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / part)
    for cache in work.rglob("__pycache__"):
        shutil.rmtree(cache)
    os.chdir(work)
    sys.path[:0] = [str(work), str(work / "tests")]
    import invlab  # noqa: F401  (the whole package, once; each child patches one module)
    import invlab.bijections.metrics  # noqa: F401
    for bij in invlab.bijections.BIJECTIONS.values():      # the children share these caches
        bij.encoded_set(), bij.enumerate_codomain()
    results = {}
    try:
        for name in a.target or list(TARGETS):
            rel, args = TARGETS[name]
            path = work / rel
            module_name = rel[:-3].replace("/", ".")
            original = path.read_text()
            t0 = time.time()
            base = run_tests(work, args, a.timeout * 3, module_name, original)
            if base != "survived":
                raise SystemExit(f"{name}: the test subset fails on the unmutated code")
            n = len(mutations(ast.parse(original)))
            rows = []
            for i in range(0, n if not a.limit else min(n, a.limit), a.every):
                src, desc, line = mutate(original, i)
                outcome = run_tests(work, args, a.timeout, module_name, src)
                rows.append({"line": line, "mutation": desc, "outcome": outcome,
                             "code": original.splitlines()[line - 1].strip() if line else ""})
                print(f"{name} {i + 1}/{n} line {line}: {desc}: {outcome}", flush=True)
            killed = sum(r["outcome"] != "survived" for r in rows)
            results[name] = {"file": rel, "mutants": len(rows), "killed": killed,
                             "survived": len(rows) - killed, "seconds": round(time.time() - t0),
                             "rows": rows}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Path(a.out).write_text(json.dumps(results, indent=1, ensure_ascii=False))
    for name, r in results.items():
        print(f"\n{name} ({r['file']}): {r['mutants']} mutants, {r['killed']} killed, "
              f"{r['survived']} survived, {r['seconds']} s")
        for row in r["rows"]:
            if row["outcome"] == "survived":
                print(f"  survived line {row['line']}: {row['mutation']}: {row['code']}")


if __name__ == "__main__":
    main()
