"""Lab 6 (pseudo-invertible networks): its wrong-answer bank (format: tests/banks/__init__.py).

Each entry is a named body a student writes in place of ``raise NotImplementedError()``.
What the later cells do with the student's omega (the vmapped sweep) is tests/test_lab06_sweep.py.
"""
import textwrap

from . import Case, fill

LAB = "06"
PREFIX = ["setup", "data", "nets"]

OWN_OMEGA = ("omega calls the course's own implementation (invlab.cycle.omega); this exercise asks you "
             "to write it yourself, so it scores 0")
OWN_REPORT = "cycle_report calls the course's own implementation ("

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
    "both cycles added sample by sample": (
        "return (mu * (y - f(g(y))).pow(2) + lam * (x - g(f(x))).pow(2)).sum(1).mean()",
        "omega fails (The size of tensor a (7) must match the size of tensor b (5)"),
    "f.forward(...) on plain functions": (
        _omega(y_err="(y - f.forward(g.forward(y))).pow(2).sum(1).mean()",
               x_err="(x - g.forward(f.forward(x))).pow(2).sum(1).mean()"),
        "f and g are called like functions, f(v) and g(v)"),
    "sum over a dimension that is not there": (
        _omega(y_err="(y - f(g(y))).pow(2).sum(2).mean()", x_err="(x - g(f(x))).pow(2).sum(2).mean()"),
        "sum the squares over dim 1, then average over the samples"),
    "calls invlab's omega": ("return cycle.omega(f, g, x, y, mu, lam)", OWN_OMEGA),
    "calls invlab's omega through an alias": ("import invlab as il\nreference = il.cycle.omega\n"
                                              "return reference(f, g, x, y, mu, lam)", OWN_OMEGA),
    "calls invlab's omega for one term": (
        _omega(x_err="cycle.omega(f, g, x, y, 0.0, 1.0)"), OWN_OMEGA),
    "returns float32 (.float())": (_omega(ret="(mu * y_cycle + lam * x_cycle).float()"),
                                   "Ω should keep the dtype of x and y"),
    "casts its inputs with .float()": ("x, y = x.float(), y.float()\n" + _omega(), "returned a torch.float32 tensor"),
    "accumulates in torch.tensor(0.0)": (
        "total = torch.tensor(0.0)\ntotal += mu * (y - f(g(y))).pow(2).sum(1).mean()\n"
        "total += lam * (x - g(f(x))).pow(2).sum(1).mean()\nreturn total", "Ω should keep the dtype of x and y"),
    "updates y and x in place (-=)": (
        "y -= f(g(y))\nx -= g(f(x))\nreturn mu * y.pow(2).sum(1).mean() + lam * x.pow(2).sum(1).mean()",
        "omega changed its input x in place"),
    "updates y in place (.sub_)": (
        _omega(y_err="y.sub_(f(g(y))).pow(2).sum(1).mean()"), "omega changed its input y in place"),
    "updates x in place (.sub_)": (
        _omega(x_err="x.sub_(g(f(x))).pow(2).sum(1).mean()"), "omega changed its input x in place"),
    "squares a fresh tensor with e.mul_(e)": (
        "e_y = y - f(g(y))\ne_x = x - g(f(x))\ne_y.mul_(e_y)\ne_x.mul_(e_x)\n"
        "return mu * e_y.sum(1).mean() + lam * e_x.sum(1).mean()", "backward() through your omega fails"),
    "^ for the square": (_omega(y_err="((y - f(g(y))) ^ 2).sum(1).mean()", x_err="((x - g(f(x))) ^ 2).sum(1).mean()"),
                         "`^` is Python's exclusive or, not a power"),
}

# correct answers written another way: each must pass the graded cell (and train the sweep under vmap)
OMEGA_RIGHT = {
    "F.mse_loss with reduction='sum', divided by the samples": (
        "return (mu * F.mse_loss(f(g(y)), y, reduction='sum') / y.shape[0]\n"
        "        + lam * F.mse_loss(g(f(x)), x, reduction='sum') / len(x))"),
    "torch.mean of torch.sum over the last dimension": _omega(
        y_err="torch.mean(torch.sum((f(g(y)) - y) ** 2, dim=-1))",
        x_err="torch.mean(torch.sum((g(f(x)) - x) ** 2, dim=-1))"),
    "squared vector norm per sample": _omega(
        y_err="torch.linalg.vector_norm(y - f(g(y)), dim=1).pow(2).mean()",
        x_err="torch.linalg.vector_norm(x - g(f(x)), dim=1).pow(2).mean()"),
    "einsum": _omega(y_err="torch.einsum('nd,nd->', y - f(g(y)), y - f(g(y))) / len(y)",
                     x_err="torch.einsum('nd,nd->', x - g(f(x)), x - g(f(x))) / len(x)"),
    "a fresh error tensor squared in place": (
        "e_y = y - f(g(y))\ne_x = x - g(f(x))\ne_y.pow_(2)\ne_x.square_()\n"
        "return mu * e_y.sum(1).mean() + lam * e_x.sum(1).mean()"),
    "accumulates from x.new_zeros(())": (
        "total = x.new_zeros(())\ntotal = total + mu * (y - f(g(y))).pow(2).sum(1).mean()\n"
        "return total + lam * (x - g(f(x))).pow(2).sum(1).mean()"),
    "zero weights skip their term": (
        "total = torch.zeros(())\n"
        "if mu:\n    total = total + mu * (y - f(g(y))).pow(2).sum(1).mean()\n"
        "if lam:\n    total = total + lam * (x - g(f(x))).pow(2).sum(1).mean()\n"
        "return total"),
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
    "omega called without mu, lam": (_step(loss="fit_loss(f, g, x, y) + omega(f, g, x_omega, y_omega)"),
                                     "check the arguments of your calls: omega(f, g, x, y, mu, lam)"),
    ".item() before backward": (_step(loss="(fit_loss(f, g, x, y) + omega(f, g, x_omega, y_omega, mu, lam)).item()",
                                      ret="loss"),
                                "call backward() on the loss tensor"),
    "defaults x_omega only": (_step().replace("y_omega = y if y_omega is None else y_omega\n", ""),
                               "a network was given None: when x_omega or y_omega is None"),
    "loss computed under torch.no_grad()": (
        _step(loss="fit_loss(f, g, x, y) + omega(f, g, x_omega, y_omega, mu, lam)").replace(
            "loss = fit_loss", "with torch.no_grad():\n    loss = fit_loss"),
        "the loss carries no gradient"),
}

STEP_RIGHT = {
    "zero_grad(set_to_none=True), explicit None tests": (
        "if x_omega is None:\n    x_omega = x\nif y_omega is None:\n    y_omega = y\n"
        "opt.zero_grad(set_to_none=True)\n"
        "loss = fit_loss(f, g, x, y)\nloss = loss + omega(f, g, x_omega, y_omega, mu, lam)\n"
        "loss.backward()\nopt.step()\nreturn float(loss)"),
    "gradients cleared after the step": _step(zero="", after="opt.zero_grad()", ret="loss.detach().item()"),
    "keyword arguments": _step(loss="fit_loss(f=f, g=g, x=x, y=y) + omega(f, g, x=x_omega, y=y_omega, "
                                    "mu=mu, lam=lam)"),
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
    "calls invlab's cycle_report": ("return cycle.cycle_report(f, g, x_train, y_train, margin, n)", OWN_REPORT),
    "calls invlab's cycle_errors": (
        _report(err='cycle.cycle_errors(f, g, grid, grid)[0 if side == "x" else 1]',
                inside="((grid >= lo) & (grid <= hi)).squeeze(1)"), OWN_REPORT),
    ".item() on all the errors at once": (
        _report(agg_in="err[inside].pow(2).sqrt().item()", agg_out="err[~inside].pow(2).sqrt().item()"),
        ".item() and float() take one number"),
    "1-D grid": (_report(grid="torch.linspace(lo - margin, hi + margin, n)",
                         inside="(grid >= lo) & (grid <= hi)"),
                 "f and g take a batch of shape (n, 1)"),
    "mask of shape (n, 1) on 1-D errors": (
        _report(err='(grid - g(f(grid)) if side == "x" else grid - f(g(grid)))[:, 0]',
                inside="(grid >= lo) & (grid <= hi)"),
        "the inside/outside mask has more dimensions than the errors"),
    "^ for the square": (_report(agg_in="(err[inside] ^ 2).mean().sqrt().item()",
                                 agg_out="(err[~inside] ^ 2).mean().sqrt().item()"),
                         "`^` is Python's exclusive or, not a power"),
    "computed with gradients, read with .numpy()": (
        "import math\n" + _report(agg_in="math.sqrt(float(err[inside].pow(2).mean().numpy()))",
                                   agg_out="math.sqrt(float(err[~inside].pow(2).mean().numpy()))")
        .replace("with torch.no_grad():", "if True:"),
        "compute the report without gradients"),
}

REPORT_RIGHT = {
    "1-D errors with a 1-D mask": _report(
        err='(grid - g(f(grid)) if side == "x" else grid - f(g(grid)))[:, 0]', inside="(grid[:, 0] >= lo) & (grid[:, 0] <= hi)"),
    "torch.sqrt(torch.mean(...)) and float(...)": _report(
        agg_in="float(torch.sqrt(torch.mean(err[inside] ** 2)))",
        agg_out="float(torch.sqrt(torch.mean(err[~inside] ** 2)))"),
    "numpy on a detached copy": "import numpy as np\n" + _report(
        agg_in="float(np.sqrt(np.mean(err[inside].numpy() ** 2)))",
        agg_out="float(np.sqrt(np.mean(err[~inside].numpy() ** 2)))"),
    "grid in the data's dtype, flattened mask, sides written out": (
        "out = {}\n"
        "with torch.no_grad():\n"
        "    for name, data, trip in ((\"x\", x_train, lambda v: g(f(v))), (\"y\", y_train, lambda v: f(g(v)))):\n"
        "        lo, hi = float(data.min()), float(data.max())\n"
        "        grid = torch.linspace(lo - margin, hi + margin, n, dtype=data.dtype).unsqueeze(1)\n"
        "        e2 = (grid - trip(grid)).pow(2).flatten()\n"
        "        inside = ((grid >= lo) & (grid <= hi)).flatten()\n"
        "        out[name + \"_in\"] = e2[inside].mean().sqrt().item()\n"
        "        out[name + \"_out\"] = e2[~inside].mean().sqrt().item()\n"
        "return out"),
}

EXERCISES = [("ex1_omega", "test_omega", OMEGA_BANK), ("ex2_train_step", "test_train_step", STEP_BANK),
             ("ex3_cycle_report", "test_cycle_report", REPORT_BANK)]
RIGHT = {"ex1_omega": OMEGA_RIGHT, "ex2_train_step": STEP_RIGHT, "ex3_cycle_report": REPORT_RIGHT}

CASES = ([Case(LAB, ex, test, name, fill(LAB, ex, body), msg)
          for ex, test, bank in EXERCISES for name, (body, msg) in bank.items()]
         + [Case(LAB, ex, test, name, fill(LAB, ex, body), None)
            for ex, test, _ in EXERCISES for name, body in RIGHT[ex].items()])
