"""The course's own answers: which invlab objects *are* the answer to each exercise, and how
a graded cell and the grader tell that a student's code used one.

:data:`REFERENCES` maps each lab (its number) and exercise (the solution cell's
``grade_id``) to the invlab objects an exercise may not call. It is the one table: the
graded cell reads it (:func:`invlab.checks.own_work`) and so does the grader
(``course/integrity.py``), and both say the same words (:func:`message`). Calling any
other invlab function stays allowed. An entry is a list of dotted names (re-exports
such as ``invlab.mmd2`` match by identity), or ``{"names": [...], "tests": [...]}`` when
other graded cells than the next one grade the exercise.

Two ways to find a use, one per place:

* :func:`scan` reads code with :mod:`ast` (never runs it): the calls, subclasses, aliases and
  imports of the code, followed through ``import invlab.mmd as m``, ``from invlab import
  mmd2 as m``, ``f = invlab.mmd2``, ``getattr(invlab, "mmd2")``, ``vars(invlab)[...]``,
  ``sys.modules["invlab"]``, ``__import__`` / ``importlib.import_module`` and constant
  strings given to ``eval`` / ``exec``, with a function's own names hiding the notebook's
  (the grader scans the whole notebook; a graded cell scans the student's function);
* :func:`tripwire` arms the referenced functions while the student's code runs: however it
  reached them (an alias made anywhere, a string decoded at run time), a call is recorded.

>>> message("mmd2_unbiased", ["invlab.mmd.mmd2"])
"mmd2_unbiased calls the course's own implementation (invlab.mmd.mmd2); this exercise asks you to write it yourself, so it scores 0"
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import sys
import types
from typing import Dict, Iterable, List, Optional

__all__ = ["REFERENCES", "message", "names_for", "resolve", "scan", "tripwire", "ReferenceUsed"]

REFERENCES: Dict[str, Dict[str, object]] = {
    "01": {
        "ex1_split": ["invlab.revnet.split_channels", "invlab.revnet.merge_channels"],
        "ex2_layer": ["invlab.revnet.RevBlock", "invlab.coupling.AdditiveCoupling"],
        "ex3_irevnet": ["invlab.revnet.IRevNet", "invlab.revnet.RevBlock"],
        "ex4_accuracy": ["invlab.train.accuracy"],
        "ex5_error": ["invlab.base.relative_error", "invlab.base.is_invertible"],
    },
    "02": {
        "ex1_exact_match": ["invlab.bijections.exact_match", "invlab.bijections.roundtrip_match"],
        "ex2_coupling": ["invlab.coupling.AffineCoupling"],
        "ex3_log_det": ["invlab.base.exact_log_det", "invlab.coupling.AffineCoupling"],
        "ex4_actnorm": ["invlab.coupling.ActNorm"],
        "ex6_honest": ["invlab.bijections.evaluate", "invlab.bijections.exact_match"],
    },
    "03": {
        "ex2_mmd": {"names": ["invlab.mmd.mmd2", "invlab.mmd.mmd2_unbiased", "invlab.mmd.mmd2_biased",
                              "invlab.mmd.multiscale_kernel", "invlab.mmd.imq_kernel"],
                    "tests": ["test_mmd", "test_compare"]},
    },
    "04": {
        "ex1_log_prob": ["invlab.flows.Flow"],
        "ex2_sample": ["invlab.flows.Flow"],
        "ex3_dequantize": ["invlab.flows.dequantize"],
        "ex4_bits_per_dim": ["invlab.flows.bits_per_dim", "invlab.flows.Flow"],
    },
    "05": {
        "ex1_invert": ["invlab.iresnet.fixed_point_inverse", "invlab.iresnet.IResBlock"],
        "ex2_rescale": ["invlab.iresnet.SpectralNorm"],
        "ex3_hutchinson": ["invlab.logdet.power_series_log_det", "invlab.logdet.series_from_graph",
                           "invlab.logdet.russian_roulette_log_det", "invlab.logdet.roulette_from_graph",
                           "invlab.logdet.residual_log_det", "invlab.logdet.log_det_from_jacobian",
                           "invlab.base.exact_log_det"],
    },
    "06": {
        "ex1_omega": ["invlab.cycle.omega"],
        "ex3_cycle_report": ["invlab.cycle.cycle_report", "invlab.cycle.cycle_errors"],
    },
    "07": {
        "ex1_reconstruct": ["invlab.revnet.RevBlock.inverse", "invlab.reversible.block_backward"],
        "ex2_block_backward": ["invlab.reversible.block_backward", "invlab.reversible.ReversibleSequence",
                               "invlab.reversible.reversible"],
    },
}


def names_for(lab: str, exercise: str) -> List[str]:
    """The dotted names :data:`REFERENCES` lists for ``exercise`` of ``lab`` ("04" or "04_flows").

    >>> names_for("06_pseudo_invertible", "ex1_omega")
    ['invlab.cycle.omega']
    """
    entry = REFERENCES.get(str(lab).split("_")[0], {}).get(exercise)
    if entry is None:
        raise ValueError(f"names_for: no exercise {exercise!r} of lab {lab!r} in invlab.answers.REFERENCES")
    return list(entry["names"] if isinstance(entry, dict) else entry)


def message(what: str, hits: Iterable[str]) -> str:
    """The one wording, for the graded cell and the grader's note alike."""
    return (f"{what} calls the course's own implementation ({', '.join(sorted(set(hits)))}); "
            "this exercise asks you to write it yourself, so it scores 0")


def resolve(dotted: str):
    """The object a dotted name names (``None`` when there is none).

    >>> resolve("invlab.mmd.mmd2").__name__
    'mmd2'
    """
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


# ---------------------------------------------------------------- reading code: ast
class _Scanner(ast.NodeVisitor):
    """Collect the dotted ``invlab...`` names a piece of code *uses*: calls (``invlab.mmd2(x, y)``,
    ``invlab.RevBlock.inverse(self, y)``), subclasses and decorators, aliases it makes
    (``f = invlab.mmd2``) and imports into its own cell. Names are followed through aliases,
    ``getattr`` with a constant name, ``vars``/``__dict__``, ``sys.modules``, ``__import__``,
    ``importlib.import_module`` and constant strings given to ``eval`` / ``exec``; a name
    computed at run time is left to the tripwire. A function's own parameters and local
    variables hide the notebook's names (a local ``mmd2 = …`` is not ``invlab.mmd2``)."""

    def __init__(self, aliases: Dict[str, str]):
        self.aliases = dict(aliases)
        self.reached: List[str] = []

    def dotted(self, node) -> Optional[str]:
        """A chain like invlab.mmd.mmd2, or an alias of one."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            if base is not None:
                return base if node.attr == "__dict__" else f"{base}.{node.attr}"
            return None
        if isinstance(node, ast.Call):
            fn, args = node.func, node.args
            name = fn.id if isinstance(fn, ast.Name) else (fn.attr if isinstance(fn, ast.Attribute) else None)
            if name == "getattr" and len(args) >= 2:
                base = self.dotted(args[0])
                if base is not None and isinstance(args[1], ast.Constant) and isinstance(args[1].value, str):
                    return f"{base}.{args[1].value}"
            if name == "vars" and len(args) == 1:
                return self.dotted(args[0])
            if name in ("__import__", "import_module") and args and isinstance(args[0], ast.Constant) \
                    and isinstance(args[0].value, str) and args[0].value.split(".")[0] == "invlab":
                return args[0].value if name == "import_module" else "invlab"
            return None
        if isinstance(node, ast.Subscript):
            key = node.slice
            const = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
            if isinstance(node.value, ast.Attribute) and node.value.attr == "modules" and const \
                    and const.split(".")[0] == "invlab":
                return const  # sys.modules["invlab.mmd"]
            base = self.dotted(node.value)
            if base is not None and const:
                return f"{base}.{const}"
        return None

    def use(self, node) -> None:
        d = self.dotted(node)
        if d is not None:
            self.reached.append(d)

    def visit_Call(self, node):
        self.use(node.func)
        fn = node.func
        if isinstance(fn, ast.Name) and fn.id in ("eval", "exec") and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            try:
                self.visit(ast.parse(node.args[0].value))
            except SyntaxError:
                pass
        self.generic_visit(node)

    def visit_ClassDef(self, node):
        for base in [*node.bases, *node.decorator_list]:
            self.use(base)
        self.generic_visit(node)

    def _scope(self, node, args, body):
        hidden = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                                  *([args.vararg] if args.vararg else []), *([args.kwarg] if args.kwarg else [])]}
        declared = set()
        for sub in ast.walk(body if isinstance(body, ast.AST) else ast.Module(body=body, type_ignores=[])):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                hidden.add(sub.id)
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                hidden.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                hidden |= {(a.asname or a.name).split(".")[0] for a in sub.names}
            elif isinstance(sub, (ast.Global, ast.Nonlocal)):
                declared |= set(sub.names)
        saved = dict(self.aliases)
        for name in hidden - declared:
            self.aliases.pop(name, None)
        for deco in getattr(node, "decorator_list", []):
            self.use(deco)
        for default in [*args.defaults, *[d for d in args.kw_defaults if d is not None]]:
            self.visit(default)
        for stmt in (body if isinstance(body, list) else [body]):
            self.visit(stmt)
        self.aliases = saved

    def visit_FunctionDef(self, node):
        self._scope(node, node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._scope(node, node.args, node.body)

    def visit_Import(self, node):
        for a in node.names:
            if a.name.split(".")[0] == "invlab":
                self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else "invlab"
                self.reached.append(a.name)

    def visit_ImportFrom(self, node):
        if node.module and node.module.split(".")[0] == "invlab" and not node.level:
            for a in node.names:
                full = f"{node.module}.{a.name}"
                self.aliases[a.asname or a.name] = full
                self.reached.append(full)

    def visit_Assign(self, node):
        self.generic_visit(node)
        d = self.dotted(node.value)
        if d is not None:
            self.reached.append(d)       # an alias made here: f = invlab.mmd2
            for t in node.targets:
                if isinstance(t, ast.Name):
                    self.aliases[t.id] = d


def aliases(sources: Iterable[str]) -> Dict[str, str]:
    """Names bound to invlab objects anywhere in ``sources`` (``import invlab as il`` ...)."""
    sc = _Scanner({"invlab": "invlab"})
    for src in sources:
        try:
            sc.visit(ast.parse(src))
        except SyntaxError:
            continue
    return sc.aliases


def scan(source: str, forbidden: Iterable[str], known: Optional[Dict[str, str]] = None) -> List[str]:
    """The names of ``forbidden`` that ``source`` reaches, each as the table writes it.

    ``known``: aliases bound elsewhere (:func:`aliases` of the other cells).

    >>> scan("import invlab as il\\ndef f(x, y): return il.mmd2(x, y)", ["invlab.mmd.mmd2"])
    ['invlab.mmd.mmd2']
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    sc = _Scanner({"invlab": "invlab", **(known or {})})
    sc.visit(tree)
    targets = {id(o): name for name in forbidden if (o := resolve(name)) is not None}
    hits = []
    for dotted in sc.reached:        # invlab.RevBlock.inverse uses invlab.RevBlock: try each prefix
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            obj = resolve(".".join(parts[:cut]))
            if obj is not None and id(obj) in targets:
                hits.append(targets[id(obj)])
                break
    return sorted(set(hits))


# ---------------------------------------------------------------- running code: a tripwire
class ReferenceUsed(AssertionError):
    """Raised when armed reference code runs inside :func:`tripwire` (an ``AssertionError``,
    like a failed check)."""


_HITS: List[str] = []
# True in a grading kernel: its referee (course/referee.py) arms and disarms the tripwires itself
# (the originals stay out of the student's reach) and records the calls.
_refereed = False


def _hit(name: str):
    sys.audit("invlab.hit", name)
    _HITS.append(name)
    raise ReferenceUsed(f"{name} was called")


def _trip_code(name: str, freevars: tuple) -> types.CodeType:
    """A code object that calls :func:`_hit` with ``name`` and has ``freevars`` (so it fits
    any function, closures and ``super()`` methods included)."""
    inner = ("    def _trip(*args, **kwargs):\n"
             f"        __import__('invlab.answers', fromlist=['_'])._hit({name!r})\n"
             + "".join(f"        {v}\n" for v in freevars))
    src = "def _outer():\n" + "".join(f"    {v} = None\n" for v in freevars) + inner
    outer = compile(src, f"<invlab.answers: {name}>", "exec").co_consts
    code = next(c for c in outer if isinstance(c, types.CodeType)).co_consts
    trip = next(c for c in code if isinstance(c, types.CodeType) and c.co_name == "_trip")
    return trip.replace(co_freevars=freevars) if trip.co_freevars != freevars else trip


def _functions(obj, name: str):
    """``(qualified name, function)`` of every Python function behind ``obj`` (a function,
    or every method, static/class method and property of a class)."""
    if inspect.isfunction(obj):
        yield name, obj
    elif inspect.isclass(obj):
        for attr, value in vars(obj).items():
            for fn in (value, getattr(value, "__func__", None), getattr(value, "fget", None)):
                while inspect.isfunction(fn):
                    yield f"{name}", fn
                    fn = getattr(fn, "__wrapped__", None)


@contextlib.contextmanager
def tripwire(forbidden: Iterable[str]):
    """Arm the functions behind ``forbidden`` for the ``with`` block; yields the list of the
    names called inside (a call also raises :class:`ReferenceUsed` where it happens).

    Compute expected values *outside* the block: the armed functions refuse everyone.

    >>> from invlab import mmd
    >>> with tripwire(["invlab.mmd.mmd2"]) as used:
    ...     try:
    ...         mmd.mmd2(None, None)
    ...     except ReferenceUsed:
    ...         pass
    >>> used
    ['invlab.mmd.mmd2']
    >>> mmd.mmd2 is resolve("invlab.mmd.mmd2") and mmd.mmd2.__code__.co_name
    'mmd2'
    """
    saved, used = [], []
    start = len(_HITS)
    if _refereed:
        names = tuple(forbidden)
        sys.audit("invlab.tripwire", "arm", names)
        try:
            yield used
        finally:
            sys.audit("invlab.tripwire", "end", names)   # the referee adds the calls it saw to _HITS
            used.extend(sorted(set(_HITS[start:])))
            del _HITS[start:]
        return
    try:
        for dotted in forbidden:
            obj = resolve(dotted)
            for name, fn in _functions(obj, dotted):
                saved.append((fn, fn.__code__))
                fn.__code__ = _trip_code(name, fn.__code__.co_freevars)
        yield used
    finally:
        for fn, code in reversed(saved):
            fn.__code__ = code
        used.extend(sorted(set(_HITS[start:])))
        del _HITS[start:]
