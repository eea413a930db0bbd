"""Lab 6 wrong-answer bank: typical mistakes, pasted into the student lab, must fail the
visible graded cell with the message meant for them (and the reference answer must pass).

One kernel runs the lab's setup cells once, then, per exercise, each answer followed by
the exercise's graded cell. Exercises that build on earlier ones get the reference
answers of the earlier ones (from the solution notebook) first.
"""
import textwrap

import pytest

from notebooks import ROOT, KernelSession, errors, lab_cells, nbgrader_meta, with_body

LAB = ROOT / "labs" / "06_pseudo_invertible.ipynb"
SOLUTION = ROOT / "solutions" / "06_pseudo_invertible.ipynb"
SETUP_CELLS = ["setup", "data", "nets"]

# ------------------------------------------------------------------ exercise 1: omega
_OMEGA = """
y_cycle = {y_err}
x_cycle = {x_err}
return {ret}
"""


def _omega(y_err="(y - f(g(y))).pow(2).sum(1).mean()", x_err="(x - g(f(x))).pow(2).sum(1).mean()",
           ret="mu * y_cycle + lam * x_cycle"):
    return _OMEGA.format(y_err=y_err, x_err=x_err, ret=ret)


OMEGA_BANK = {
    "mu and lam swapped": (_omega(ret="lam * y_cycle + mu * x_cycle"), "are mu and lam swapped"),
    "y-cycle as g(f(y))": (_omega(y_err="(y - g(f(y))).pow(2).sum(1).mean()"),
                           "sends y through f first, then g"),
    "x-cycle as f(g(x))": (_omega(x_err="(x - f(g(x))).pow(2).sum(1).mean()"),
                           "sends x through g first, then f"),
    "sum instead of mean": (_omega(y_err="(y - f(g(y))).pow(2).sum()", x_err="(x - g(f(x))).pow(2).sum()"),
                            "is a mean over the samples, not a sum"),
    "missing square": (_omega(y_err="(y - f(g(y))).abs().sum(1).mean()",
                              x_err="(x - g(f(x))).abs().sum(1).mean()"), "are the errors squared"),
    "norm not squared": (_omega(y_err="(y - f(g(y))).norm(dim=1).mean()",
                                x_err="(x - g(f(x))).norm(dim=1).mean()"), "are the errors squared"),
    "mean over features too": (_omega(y_err="(y - f(g(y))).pow(2).mean()", x_err="(x - g(f(x))).pow(2).mean()"),
                               "sums the squares over the features of a sample"),
    "returns a float": (_omega(ret="(mu * y_cycle + lam * x_cycle).item()"), "should be a torch.Tensor"),
    "no gradient": ("with torch.no_grad():\n" + textwrap.indent(_omega(), "    "), "carries no gradient"),
}

# ------------------------------------------------------------------ exercise 2: train_step
_STEP = """
x_omega = x if x_omega is None else x_omega
y_omega = y if y_omega is None else y_omega
{zero}
loss = {loss}
loss.backward()
{zero_late}
opt.step()
{after}
return {ret}
"""


def _step(zero="opt.zero_grad()", loss="fit_loss(f, g, x, y) + omega(f, g, x_omega, y_omega, mu, lam)",
          zero_late="", after="", ret="loss.item()"):
    return _STEP.format(zero=zero, loss=loss, zero_late=zero_late, after=after, ret=ret)


STEP_BANK = {
    "forgot zero_grad": (_step(zero=""), "gradients of the first step were still in .grad"),
    "no Ω in the loss": (_step(loss="fit_loss(f, g, x, y)"), "Ω(mu, lam) is missing"),
    "no fit in the loss": (_step(loss="omega(f, g, x_omega, y_omega, mu, lam)"), "the fit loss on the pairs"),
    "Ω on x, y instead of x_omega, y_omega": (_step(loss="fit_loss(f, g, x, y) + omega(f, g, x, y, mu, lam)"),
                                              "evaluates Ω on the training x, y"),
    "returns the tensor": (_step(ret="loss"), "should return the loss as a Python float"),
    "zero_grad between backward and step": (_step(zero="", zero_late="opt.zero_grad()"),
                                            "the gradients were cleared between backward()"),
    "zero_grad(set_to_none=False) between backward and step": (
        _step(zero="", zero_late="opt.zero_grad(set_to_none=False)"),
        "the gradients were cleared between backward()"),
    "step before backward (and zero_grad after)": (_step(zero_late="opt.step()", after="opt.zero_grad()").replace(
        "loss.backward()\nopt.step()\nopt.step()", "opt.step()\nloss.backward()"),
        "did not change the weights: back-propagate, then take the optimizer's step"),
    "returns the loss after the update": (
        _step(after="loss = fit_loss(f, g, x, y) + omega(f, g, x_omega, y_omega, mu, lam)"),
        "return the loss computed before the update"),
    "mu and lam swapped in the call": (_step(loss="fit_loss(f, g, x, y) + omega(f, g, x_omega, y_omega, lam, mu)"),
                                       "gives omega mu and lam in the wrong order"),
    "x_omega and y_omega swapped in the call": (
        _step(loss="fit_loss(f, g, x, y) + omega(f, g, y_omega, x_omega, mu, lam)"),
        "gives omega x_omega and y_omega swapped"),
    "x_omega = x_omega or x": (
        _step().replace("x if x_omega is None else x_omega", "x_omega or x")
               .replace("y if y_omega is None else y_omega", "y_omega or y"),
        "test `x_omega is None` instead"),
}

# ------------------------------------------------------------------ exercise 3: cycle_report
_REPORT = """
report = {{}}
with torch.no_grad():
    for side, data in [("x", x_train), ("y", y_train)]:
        lo, hi = data.min().item(), data.max().item()
        grid = {grid}
        err = {err}
        inside = {inside}
        report[side + "_in"] = {agg_in}
        report[side + "_out"] = {agg_out}
return report
"""
_RMS = "err[{m}].pow(2).mean().sqrt().item()"


def _report(grid="torch.linspace(lo - margin, hi + margin, n)[:, None]",
            err='grid - g(f(grid)) if side == "x" else grid - f(g(grid))',
            inside="((grid >= lo) & (grid <= hi)).squeeze(1)",
            agg_in=_RMS.format(m="inside"), agg_out=_RMS.format(m="~inside"), pre=""):
    return pre + _REPORT.format(grid=grid, err=err, inside=inside, agg_in=agg_in, agg_out=agg_out)


REPORT_BANK = {
    "in-range error at the training points": (
        _report(agg_in='((data - g(f(data))) if side == "x" else (data - f(g(data)))).pow(2).mean().sqrt().item()'),
        "not at the training points"),
    "mean absolute error instead of RMS": (
        _report(agg_in="err[inside].abs().mean().item()", agg_out="err[~inside].abs().mean().item()"),
        "that is the mean of |x − g(f(x))|"),
    "mean square without the root": (
        _report(agg_in="err[inside].pow(2).mean().item()", agg_out="err[~inside].pow(2).mean().item()"),
        "square root of the mean"),
    "x-cycle as f(g(x))": (_report(err='grid - f(g(grid)) if side == "x" else grid - g(f(grid))'),
                           "your x-cycle applies g first"),
    "out of range on one side only": (_report(agg_out="err[(grid > hi).squeeze(1)].pow(2).mean().sqrt().item()"),
                                      "the grid outside the range has two parts"),
    "grid without the margin (nothing outside)": (_report(grid="torch.linspace(lo, hi, n)[:, None]"),
                                                   "the report has NaN values"),
    "in and out swapped": (_report(inside="((grid < lo) | (grid > hi)).squeeze(1)"), "look swapped"),
    "margin ignored (always 1.0)": (_report(grid="torch.linspace(lo - 1.0, hi + 1.0, n)[:, None]"),
                                    "use its `margin` argument"),
    "y grid over the x range": (
        _report(grid="torch.linspace(x_train.min().item() - margin, x_train.max().item() + margin, n)[:, None]",
                inside="((grid >= x_train.min()) & (grid <= x_train.max())).squeeze(1)"),
        "the y grid spans"),
}

EXERCISES = [("ex1_omega", "test_omega", OMEGA_BANK), ("ex2_train_step", "test_train_step", STEP_BANK),
             ("ex3_cycle_report", "test_cycle_report", REPORT_BANK)]


@pytest.fixture(scope="module")
def outcomes():
    """{(exercise, answer): (ename, evalue) of the graded cell, or None when it passed}."""
    lab = {gid: c.source for gid, c in lab_cells(LAB).items()}
    sol = {gid: c.source for gid, c in lab_cells(SOLUTION).items()}
    results = {}
    with KernelSession(timeout=300) as k:
        def run(source):
            errs = errors(k.run(source))
            return (errs[0].ename, errs[0].evalue) if errs else None

        for gid in SETUP_CELLS:
            assert run(lab[gid]) is None, f"lab cell {gid!r} failed"
        for exercise, test, bank in EXERCISES:
            for name, (body, _) in bank.items():
                defined = run(with_body(lab[exercise], body))
                assert defined is None, f"{exercise}: the wrong answer {name!r} does not even define: {defined}"
                results[(exercise, name)] = run(lab[test])
            assert run(sol[exercise]) is None
            results[(exercise, "reference answer")] = run(lab[test])
    return results


@pytest.mark.parametrize("exercise", [e for e, _, _ in EXERCISES])
def test_reference_answer_passes(outcomes, exercise):
    assert outcomes[(exercise, "reference answer")] is None, outcomes[(exercise, "reference answer")]


@pytest.mark.parametrize("exercise, name, expected",
                         [(e, n, msg) for e, _, bank in EXERCISES for n, (_, msg) in bank.items()],
                         ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_wrong_answer_fails_with_its_message(outcomes, exercise, name, expected):
    got = outcomes[(exercise, name)]
    assert got is not None, f"{exercise}: the graded cell passes the wrong answer {name!r}"
    ename, evalue = got
    assert ename == "CheckFailed", f"{exercise} / {name}: the graded cell crashed with {ename}: {evalue}"
    assert expected in evalue, f"{exercise} / {name}: expected a message with {expected!r}, got: {evalue}"


def test_bank_covers_every_exercise():
    exercises = {gid for gid, c in lab_cells(LAB).items() if nbgrader_meta(c).get("solution")}
    assert exercises == {e for e, _, _ in EXERCISES}
    assert all(len(bank) >= 3 for _, _, bank in EXERCISES)
