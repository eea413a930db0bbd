"""Reference-answer checks in the grader: an exercise may not call the course package's own
version of the function it asks the student to write.

The table is :data:`invlab.answers.REFERENCES` (in the package, because a graded cell reads
it too: :func:`invlab.checks.own_work`), and both say the same words
(:func:`invlab.answers.message`). To cover a new lab, add its entry there::

    REFERENCES["04"] = {"ex1_actnorm": ["invlab.coupling.ActNorm"]}

A solution notebook may also declare entries in its metadata
(``{"invlab": {"forbidden": {...}}}``); they add to the table. Here the grader reads the
whole notebook with :mod:`ast` (never runs it): the exercise's solution cell, and every
other cell the student could edit for a definition of the names the exercise defines
(``mmd2_unbiased = invlab.mmd2`` in a cell of its own).
"""
from __future__ import annotations

import ast
from typing import Dict, List, Set

import nbformat

from course.notebook import meta
from invlab import answers

__all__ = ["FORBIDDEN", "rules_for", "violations"]

FORBIDDEN = answers.REFERENCES  # the one table (kept under its old name for readers of the grader)


def rules_for(lab_name: str, master: nbformat.NotebookNode) -> Dict[str, dict]:
    """``{exercise grade_id: {"names": [...], "tests": [...], "defines": {...}}}`` for a lab."""
    table = dict(answers.REFERENCES.get(lab_name.split("_")[0], {}))
    table.update(master.metadata.get("invlab", {}).get("forbidden", {}))  # a lab may declare its own
    cells = master.cells
    out = {}
    for ex, entry in table.items():
        entry = {"names": list(entry)} if isinstance(entry, (list, tuple)) else dict(entry)
        idx = next((i for i, c in enumerate(cells) if meta(c).get("grade_id") == ex), None)
        if idx is None:
            raise ValueError(f"invlab/answers.py: lab {lab_name} has no exercise {ex!r}")
        if "tests" not in entry:
            nxt = next((c for c in cells[idx + 1:] if meta(c).get("grade")), None)
            entry["tests"] = [meta(nxt)["grade_id"]] if nxt is not None else []
        entry["defines"] = defined_names(cells[idx].source)
        out[ex] = entry
    return out


def defined_names(source: str) -> Set[str]:
    """The functions and classes a cell defines at its top level."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def _ipython_clean(source: str) -> str:
    """Drop IPython magics and shell lines, which are not Python."""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())


def violations(nb: nbformat.NotebookNode, rules: Dict[str, dict],
               locked_ids: Set[str]) -> Dict[str, str]:
    """``{test grade_id: note}`` for every exercise that reaches its forbidden names."""
    code = [c for c in nb.cells if c.get("cell_type") == "code"]
    known = answers.aliases(_ipython_clean(c.source) for c in code)
    notes: Dict[str, str] = {}
    for ex, rule in rules.items():
        hits: List[str] = []
        for cell in code:
            gid = meta(cell).get("grade_id")
            src = _ipython_clean(cell.source)
            if gid == ex:
                hits += answers.scan(src, rule["names"], known)
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
                        hits += answers.scan(ast.unparse(node), rule["names"], known)
        if hits:
            note = answers.message(", ".join(sorted(rule["defines"])) or ex, hits)
            for test in rule["tests"]:
                notes[test] = note
    return notes
