"""Lab 6: what the later cells do with the student's omega (its bank: tests/banks/lab06.py).

The sweep of section 8 runs the student's omega under ``torch.func.vmap(grad(...))``: every
right omega of the bank must train it; an omega that its own cell passes but that asks a
tensor for True/False is named by the sweep; and an omega its own cell refuses, run on into
the later cells anyway, is named there too (the real mistake, not a symptom).
"""
import ast

import pytest

from banks import fill, solution, student
from banks.lab06 import LAB, OMEGA_BANK, OMEGA_RIGHT, PREFIX
from course.notebook import KernelSession, errors

SWEEP_PROBE = """
_probe = train_sweep([0.0, 1.0], seeds=[0, 1], x=x_nf, y=y_nf, steps=3, warm=1, desc="probe")
assert all(bool(torch.isfinite(v).all()) for v in _probe["theta"].values())
"""
# right for the graded cell, but it asks a tensor for True/False, which vmap cannot answer for all pairs at once
OMEGA_BRANCHES = """
err_y = (y - f(g(y))).pow(2).sum(1)
err_x = (x - g(f(x))).pow(2).sum(1)
if err_y.max() == 0 and err_x.max() == 0:
    return torch.zeros(())
return mu * err_y.mean() + lam * err_x.mean()
"""
SWEEP_CELLS = ["train", "functional", "sweep"]   # what the probe needs defined (train_sweep and its helpers)
CROSS = {"float32 omega, in train_step's cell": ("returns float32 (.float())", "test_train_step",
                                                 "this check trains in float64, but your omega returns a torch.float32"),
         "in-place omega, in train_step's cell": ("updates y and x in place (-=)", "test_train_step",
                                                  "backward() needs a tensor that was changed in place"),
         "in-place omega, in the vmap sweep": ("updates y and x in place (-=)", "sweep",
                                               "your omega changes a tensor in place")}


def _definitions_only(sol):
    """The functions of the cells the sweep needs (train_sweep, pair_from, ...), without their training runs."""
    def upper(t):
        return (isinstance(t, ast.Name) and t.id.isupper()) or (isinstance(t, ast.Tuple) and all(map(upper, t.elts)))
    out = []
    for gid in SWEEP_CELLS:
        tree = ast.parse(sol[gid])
        keep = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.Import, ast.ImportFrom))
                or (isinstance(n, ast.Assign) and all(map(upper, n.targets)))]
        out.append(ast.unparse(ast.Module(body=keep, type_ignores=[])))
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def outcomes():
    """{(where, answer): (ename, evalue) of the cell, or None when it passed}."""
    lab, sol = student(LAB), solution(LAB)
    probe = _definitions_only(sol) + SWEEP_PROBE
    results = {}
    with KernelSession(timeout=300) as k:
        def run(source):
            errs = errors(k.run(source))
            return (errs[0].ename, errs[0].evalue) if errs else None

        for gid in PREFIX:
            assert run(lab[gid]) is None, f"lab cell {gid!r} failed"
        for gid in ["ex2_train_step", "ex3_cycle_report"]:
            assert run(sol[gid]) is None
        for name, body in {**OMEGA_RIGHT, "reference answer": None, "branches on tensor values": OMEGA_BRANCHES}.items():
            assert run(sol["ex1_omega"] if body is None else fill(LAB, "ex1_omega", body)) is None
            results[("sweep", name)] = run(probe)
        results[("test_omega", "branches on tensor values")] = run(lab["test_omega"])
        for name, (wrong, cell, _) in CROSS.items():
            assert run(fill(LAB, "ex1_omega", OMEGA_BANK[wrong][0])) is None
            results[("cross", name)] = run(lab[cell] if cell != "sweep" else probe)
    return results


@pytest.mark.parametrize("name", [*OMEGA_RIGHT, "reference answer"])
def test_a_right_omega_trains_the_vmap_sweep(outcomes, name):
    assert outcomes[("sweep", name)] is None, outcomes[("sweep", name)]


def test_an_omega_that_branches_on_tensors_passes_its_cell_but_the_sweep_says_why_not(outcomes):
    assert outcomes[("test_omega", "branches on tensor values")] is None
    ename, evalue = outcomes[("sweep", "branches on tensor values")]
    assert ename == "CheckFailed" and evalue.startswith("train_sweep fails (") and \
        "it may not ask a tensor for True/False (if ...:)" in evalue, evalue


@pytest.mark.parametrize("name", list(CROSS))
def test_a_refused_omega_is_named_by_the_later_cells_too(outcomes, name):
    got = outcomes[("cross", name)]
    assert got is not None and got[0] == "CheckFailed" and CROSS[name][2] in got[1], got
