"""benchmarks/seeds.py keeps up with the labs: fast checks, no notebook is executed.

seeds.py reads each lab's headline numbers from variables of the executed solution notebook
(``LABS``) and shifts its seeds by rewriting a few calls in memory. When a lab renames a
variable or changes how it seeds, these tests say so at once (instead of a failed
`make bench` several minutes in).
"""
import builtins
import symtable
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import seeds  # noqa: E402


def _free_names(source: str) -> set:
    """Names an expression or cell reads from the module scope (builtins excluded)."""
    names = set()

    def walk(table):
        for sym in table.get_symbols():
            if sym.is_referenced() and (sym.is_global() or (table.get_type() == "module" and not sym.is_assigned())):
                names.add(sym.get_name())
        for child in table.get_children():
            walk(child)

    walk(symtable.symtable(source, "<expr>", "exec"))
    return {n for n in names if not hasattr(builtins, n)}


def _assigned_names(nb) -> set:
    """Names the notebook's code cells bind at module scope (assignments, defs, imports, loops)."""
    names = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        table = symtable.symtable(cell.source, "<cell>", "exec")
        names |= {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    return names


@pytest.mark.parametrize("lab", sorted(seeds.LABS))
def test_every_headline_reads_a_variable_the_lab_defines(lab):
    path, metrics = seeds.LABS[lab]
    nb = nbformat.read(ROOT / "solutions" / path, as_version=4)
    defined = _assigned_names(nb)
    for name, expr, spec, target, where in metrics:
        missing = _free_names(f"_ = ({expr})") - defined - {"_"}
        assert not missing, (f"lab {lab}: benchmarks/seeds.py reads {name!r} as `{expr}`, but the notebook "
                             f"no longer defines {sorted(missing)}; update LABS in benchmarks/seeds.py "
                             f"(or record the number in the notebook's RESULTS dict)")
        format(0.5, spec)  # a valid format spec


@pytest.mark.parametrize("lab", sorted(seeds.LABS))
def test_seed_shift_finds_the_setup_call_and_leaves_seed_0_unchanged(lab):
    path, _ = seeds.LABS[lab]
    nb = nbformat.read(ROOT / "solutions" / path, as_version=4)
    before = [c.source for c in nb.cells]
    counts = seeds.inject(nb, 0)
    assert counts["invlab.setup"] == 1
    assert nb.cells[0].source.startswith("SEED = 0")
    for old, cell in zip(before, nb.cells[1:]):
        if cell.cell_type != "code" or seeds.is_graded(cell):
            assert cell.source == old          # graded cells and markdown are never touched
        else:
            # with SEED = 0 every rewritten call is the same call: `N + SEED` == N
            assert cell.source.replace(" + SEED", "") == old


def test_only_torch_manual_seed_and_seed_defaults_are_shifted():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("dev = invlab.setup(0)\n# invlab.setup(0) in a comment\n"
                                  "torch.manual_seed(3)\ng = torch.Generator().manual_seed(5)\n"
                                  "def train(net, lr=0.1, seed=0):\n    pass\n"
                                  "rows = split(10, seed=0)\n"),
        nbformat.v4.new_code_cell("# graded: something\ntorch.manual_seed(0)\n"),
    ])
    seeds.inject(nb, 2)
    src = nb.cells[1].source
    assert "invlab.setup(0 + SEED)" in src and "# invlab.setup(0) in a comment" in src
    assert "torch.manual_seed(3 + SEED)" in src
    assert "torch.Generator().manual_seed(5)" in src          # data / evaluation generators stay fixed
    assert "def train(net, lr=0.1, seed=0 + SEED):" in src
    assert "rows = split(10, seed=0)" in src                  # explicit call-site seeds (data) stay fixed
    assert nb.cells[2].source == "# graded: something\ntorch.manual_seed(0)\n"
    assert nb.cells[0].source.startswith("SEED = 2")


def test_edit_must_match():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("steps = 400")])
    seeds.apply_edits(nb, [("400", "600")])
    assert nb.cells[0].source == "steps = 600"
    with pytest.raises(RuntimeError, match="occurs in no code cell"):
        seeds.apply_edits(nb, [("400", "800")])
