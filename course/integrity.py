"""Reference-answer checks: an exercise may not call the course package's own version of
the function it asks the student to write.

:data:`FORBIDDEN` maps each lab (its number) and exercise (the solution cell's
``grade_id``) to the invlab objects that *are* the answer. Calling any other package
function stays allowed. To cover a new lab, add an entry::

    FORBIDDEN["04"] = {"ex1_actnorm": ["invlab.coupling.ActNorm"]}

An entry is a list of dotted names (re-exports such as ``invlab.ActNorm`` are matched
by identity, so one name per object is enough), or a dict ``{"names": [...],
"tests": [...]}`` when the exercise is graded by other cells than the first graded
cell after it. A solution notebook may also declare entries in its metadata
(``{"invlab": {"forbidden": {...}}}``); they add to the table.

:func:`scan` reads the student's code with :mod:`ast` — never runs it — and follows
``invlab.x``, ``import invlab.mmd as m``, ``from invlab import mmd2 as m``, local
aliases ``f = invlab.mmd2``, ``getattr(invlab, "mmd2")``, ``vars(invlab)[...]``,
``invlab.__dict__[...]``, ``sys.modules["invlab"]``, ``__import__`` /
``importlib.import_module`` and constant strings given to ``eval`` / ``exec``.
"""
from __future__ import annotations

import ast
import importlib
from typing import Dict, Iterable, List, Optional, Set

import nbformat

__all__ = ["FORBIDDEN", "rules_for", "scan", "violations"]

FORBIDDEN: Dict[str, Dict[str, object]] = {
    "01": {
        "ex1_split": ["invlab.revnet.split_channels", "invlab.revnet.merge_channels"],
        "ex2_layer": ["invlab.revnet.RevBlock", "invlab.coupling.AdditiveCoupling"],
        "ex3_irevnet": ["invlab.revnet.IRevNet", "invlab.revnet.RevBlock"],
        "ex5_error": ["invlab.base.relative_error", "invlab.base.is_invertible"],
    },
    "02": {
        "ex1_exact_match": ["invlab.bijections.exact_match", "invlab.bijections.roundtrip_match"],
        "ex2_coupling": ["invlab.coupling.AffineCoupling"],
        "ex3_log_det": ["invlab.base.exact_log_det", "invlab.coupling.AffineCoupling"],
        "ex5_honest": ["invlab.bijections.evaluate"],
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
        "ex2_block_backward": ["invlab.reversible.block_backward", "invlab.reversible.ReversibleSequence",
                               "invlab.reversible.reversible"],
    },
}


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def rules_for(lab_name: str, master: nbformat.NotebookNode) -> Dict[str, dict]:
    """``{exercise grade_id: {"names": [...], "tests": [...], "defines": {...}}}`` for a lab."""
    table = dict(FORBIDDEN.get(lab_name.split("_")[0], {}))
    table.update(master.metadata.get("invlab", {}).get("forbidden", {}))  # a lab may declare its own
    cells = master.cells
    out = {}
    for ex, entry in table.items():
        entry = {"names": list(entry)} if isinstance(entry, (list, tuple)) else dict(entry)
        idx = next((i for i, c in enumerate(cells) if _meta(c).get("grade_id") == ex), None)
        if idx is None:
            raise ValueError(f"course/integrity.py: lab {lab_name} has no exercise {ex!r}")
        if "tests" not in entry:
            nxt = next((c for c in cells[idx + 1:] if _meta(c).get("grade")), None)
            entry["tests"] = [_meta(nxt)["grade_id"]] if nxt is not None else []
        entry["defines"] = _defined_names(cells[idx].source)
        out[ex] = entry
    return out


def _defined_names(source: str) -> Set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


# ---------------------------------------------------------------- resolving names
def _resolve_object(dotted: str):
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


class _Scanner(ast.NodeVisitor):
    """Collect every dotted ``invlab...`` name a piece of code reaches."""

    def __init__(self, aliases: Dict[str, str]):
        self.aliases = dict(aliases)
        self.reached: List[str] = []

    # a chain like invlab.mmd.mmd2, or an alias of one
    def dotted(self, node) -> Optional[str]:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            if base is not None:
                return base if node.attr == "__dict__" else f"{base}.{node.attr}"
            return None
        if isinstance(node, ast.Call):
            fn = node.func
            args = node.args
            name = fn.id if isinstance(fn, ast.Name) else (fn.attr if isinstance(fn, ast.Attribute) else None)
            if name == "getattr" and len(args) >= 2:
                base = self.dotted(args[0])
                if base is not None:
                    const = args[1].value if isinstance(args[1], ast.Constant) and isinstance(args[1].value, str) else None
                    return f"{base}.{const}" if const else f"{base}.<dynamic>"
            if name in ("vars",) and len(args) == 1:
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
            if base is not None:
                return f"{base}.{const}" if const else f"{base}.<dynamic>"
        return None

    def generic_visit(self, node):
        if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
            d = self.dotted(node)
            if d is not None:
                self.reached.append(d)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("eval", "exec") \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            try:
                self.visit(ast.parse(node.args[0].value))
            except SyntaxError:
                pass
        super().generic_visit(node)

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
            for t in node.targets:
                if isinstance(t, ast.Name):
                    self.aliases[t.id] = d


def _aliases(sources: Iterable[str]) -> Dict[str, str]:
    """Import aliases of invlab set anywhere in the notebook (``import invlab as il`` ...)."""
    sc = _Scanner({"invlab": "invlab"})
    for src in sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        sc.visit(tree)  # imports, and assignments such as ``m = invlab.mmd``
    return sc.aliases


def scan(source: str, aliases: Dict[str, str], forbidden: Iterable[str]) -> List[str]:
    """The forbidden names that ``source`` reaches (as the student wrote them, resolved)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    sc = _Scanner(aliases)
    sc.visit(tree)
    targets = {id(o): name for name in forbidden if (o := _resolve_object(name)) is not None}
    hits = []
    for dotted in sc.reached:
        if dotted.endswith(".<dynamic>"):
            hits.append(f"{dotted[:-len('.<dynamic>')]}.<computed name>")
            continue
        obj = _resolve_object(dotted)
        if obj is not None and id(obj) in targets and dotted not in hits:
            hits.append(dotted)
    return hits


def _ipython_clean(source: str) -> str:
    """Drop IPython magics and shell lines, which are not Python."""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())


def violations(nb: nbformat.NotebookNode, rules: Dict[str, dict],
               locked_ids: Set[str]) -> Dict[str, str]:
    """``{test grade_id: note}`` for every exercise that reaches its forbidden names.

    The exercise's solution cell is scanned whole; every other cell the student could
    edit (not one of ``locked_ids``) is scanned for a definition of the names the
    exercise defines (``mmd2_unbiased = invlab.mmd2`` in a cell of its own).
    """
    code = [c for c in nb.cells if c.get("cell_type") == "code"]
    aliases = _aliases(_ipython_clean(c.source) for c in code)
    notes: Dict[str, str] = {}
    for ex, rule in rules.items():
        hits: List[str] = []
        for cell in code:
            gid = _meta(cell).get("grade_id")
            src = _ipython_clean(cell.source)
            if gid == ex:
                hits += scan(src, aliases, rule["names"])
            elif gid not in locked_ids:
                try:
                    tree = ast.parse(src)
                except SyntaxError:
                    continue
                for node in tree.body:
                    defined = set()
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        defined = {node.name}
                    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                        tg = node.targets if isinstance(node, ast.Assign) else [node.target]
                        defined = {t.id for t in tg if isinstance(t, ast.Name)}
                    if defined & rule["defines"]:
                        hits += scan(ast.unparse(node), aliases, rule["names"])
        if hits:
            what = ", ".join(sorted(set(rule["defines"]))) or ex
            note = (f"{what} calls the course's own implementation ({', '.join(sorted(set(hits)))}); "
                    "this exercise asks you to write it yourself, so it scores 0")
            for test in rule["tests"]:
                notes[test] = note
    return notes
