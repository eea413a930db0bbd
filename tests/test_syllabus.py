"""docs/syllabus.md: every lab section and graded cell it cites exists, and its counts add up.

The syllabus cites a section as ``L4 «2. RealNVP on three 2-D densities»`` (the text of a
markdown heading of ``solutions/04_*.ipynb``, any level) and a graded cell as
``L4:test_log_prob`` (its nbgrader ``grade_id``). Renaming a heading or a graded cell without
updating the syllabus makes this test fail.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from course.notebook import ROOT, grade_id, meta

SYLLABUS = ROOT / "docs" / "syllabus.md"
SECTION = re.compile(r"\bL([1-7]) «([^»]+)»")
GRADED = re.compile(r"\bL([1-7]):([A-Za-z0-9_]+)")
ROW = re.compile(r"^\| ([0-4])\.(\d+) \| .*? \| ([GTML])( ⏳)? \| ", re.M)
STATUSES = "GTML"


def headings(path: Path) -> set:
    """The text of every markdown heading of a notebook (``#`` stripped)."""
    nb = nbformat.read(path, as_version=4)
    return {m.group(1).strip() for c in nb.cells if c.cell_type == "markdown"
            for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", c.source, re.M)}


def graded_ids(path: Path) -> set:
    nb = nbformat.read(path, as_version=4)
    return {grade_id(c) for c in nb.cells if meta(c).get("grade")}


def lab_path(solutions: Path, lab: str) -> Path:
    found = sorted(solutions.glob(f"0{lab}_*.ipynb"))
    assert len(found) == 1, f"no single solutions/0{lab}_*.ipynb: {found}"
    return found[0]


def broken_references(text: str, solutions: Path) -> list:
    """Every citation of ``text`` that names no heading / graded cell of the labs in ``solutions``."""
    cache_h, cache_g, broken = {}, {}, []
    for lab, title in SECTION.findall(text):
        if lab not in cache_h:
            cache_h[lab] = headings(lab_path(solutions, lab))
        if title.strip() not in cache_h[lab]:
            broken.append(f"L{lab} «{title}»")
    for lab, gid in GRADED.findall(text):
        if lab not in cache_g:
            cache_g[lab] = graded_ids(lab_path(solutions, lab))
        if gid not in cache_g[lab]:
            broken.append(f"L{lab}:{gid}")
    return broken


def test_every_cited_section_and_graded_cell_exists():
    text = SYLLABUS.read_text(encoding="utf-8")
    assert len(SECTION.findall(text)) > 100 and len(GRADED.findall(text)) > 40, "the syllabus cites too little"
    broken = broken_references(text, ROOT / "solutions")
    assert not broken, f"docs/syllabus.md cites lab sections or graded cells that do not exist: {broken}"


def test_a_renamed_heading_or_graded_cell_is_caught(tmp_path):
    """The check can fail: rename one heading of a copy of lab 2, and one graded cell of lab 1."""
    text = SYLLABUS.read_text(encoding="utf-8")
    for src in (ROOT / "solutions").glob("0*_*.ipynb"):
        (tmp_path / src.name).write_bytes(src.read_bytes())
    assert broken_references(text, tmp_path) == []
    lab2 = lab_path(tmp_path, "2")
    nb = nbformat.read(lab2, as_version=4)
    old = "## 4. Exercise 2 — invert an affine coupling block"
    cell = next(c for c in nb.cells if c.cell_type == "markdown" and old in c.source)
    cell.source = cell.source.replace(old, "## 4. Exercise 2 — the inverse of a coupling block")
    nbformat.write(nb, lab2)
    lab1 = lab_path(tmp_path, "1")
    nb = nbformat.read(lab1, as_version=4)
    next(c for c in nb.cells if grade_id(c) == "test_split").metadata["nbgrader"]["grade_id"] = "test_split_merge"
    nbformat.write(nb, lab1)
    broken = broken_references(text, tmp_path)
    assert "L2 «4. Exercise 2 — invert an affine coupling block»" in broken
    assert "L1:test_split" in broken


def rows(text: str) -> dict:
    """``{seed: Counter(status)}`` from the item rows of the per-seed tables."""
    out: dict = {}
    for seed, _, status, _ in ROW.findall(text):
        out.setdefault(seed, Counter())[status] += 1
    return out


def test_the_summary_counts_are_the_rows():
    text = SYLLABUS.read_text(encoding="utf-8")
    counted = rows(text)
    assert sorted(counted) == list("01234")
    summary = {}
    for m in re.finditer(r"^\| (\d{3}) [^|]+\| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$", text, re.M):
        seed, items, *by_status = m.groups()
        summary[seed[-1]] = (int(items), dict(zip(STATUSES, map(int, by_status))))
    assert sorted(summary) == list("01234"), "the summary table lists each seed once"
    for seed, (items, by_status) in summary.items():
        got = counted[seed]
        assert sum(got.values()) == items, f"seed {seed}: {sum(got.values())} rows, the summary says {items}"
        assert {s: got.get(s, 0) for s in STATUSES} == by_status, f"seed {seed}: rows {dict(got)}, summary {by_status}"
    total = re.search(r"^\| \*\*all\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \| "
                      r"\*\*(\d+)\*\* \|", text, re.M)
    assert total, "the summary has an **all** row"
    all_rows = sum(counted.values(), Counter())
    assert [int(v) for v in total.groups()] == [sum(all_rows.values())] + [all_rows.get(s, 0) for s in STATUSES]


@pytest.mark.parametrize("seed, items", [("0", 16), ("1", 16), ("2", 33), ("3", 37), ("4", 12)])
def test_every_audited_item_has_a_row(seed, items):
    """The seed audit's items, numbered N.1 … N.k, each once."""
    numbers = [int(n) for s, n, _, _ in ROW.findall(SYLLABUS.read_text(encoding="utf-8")) if s == seed]
    assert numbers == list(range(1, items + 1))


def test_map_lists_the_syllabus():
    assert "docs/syllabus.md" in (ROOT / "docs" / "map.md").read_text(encoding="utf-8")
