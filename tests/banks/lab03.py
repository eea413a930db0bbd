"""Lab 3 (inverse problems (MMD, augmented latent)): its wrong-answer bank (format: tests/banks/__init__.py).

Each mistake is a substitution ``(old, new)`` on the solution's cell of an exercise, so it
reads as the slip a student makes; the message is a regex the graded cell's error matches.
"""
from . import Case, edit, rx

LAB = "03"
# Cells the graded cells do not need (figures, side studies): left out to keep the run short.
SKIP = {"wide", "mmd_demo", "compare_plot"}
# Every code cell up to the last graded one runs first, with the solutions pasted.
PREFIX = None

# (lab, exercise grade_id, graded grade_id, mistake, [(old, new), ...], message regex)
MISTAKES = [
    # ---- lab 3, exercise 1: mapping_type
    ("03", "ex1_mapping_type", "test_mapping_type", "injective and surjective swapped",
     [('return "injective"\n    if r == n:\n        return "surjective"', 'return "surjective"\n    if r == n:\n        return "injective"')],
     r"mapping_type\(a tall 3×2 matrix of rank 2\) is 'surjective'; expected 'injective'"),
    ("03", "ex1_mapping_type", "test_mapping_type", "the shape instead of the rank",
     [("r = int(torch.linalg.matrix_rank(A))", "r = min(n, p)")],
     r"mapping_type\(a square 2×2 matrix of rank 1\) is 'bijective'; expected 'neither'"),
    ("03", "ex1_mapping_type", "test_mapping_type", "bijective never returned",
     [("if r == n == p:", "if False:")],
     r"mapping_type\(the 3×3 identity\) is 'injective'; expected 'bijective'"),
    ("03", "ex1_mapping_type", "test_mapping_type", "the determinant",
     [("r = int(torch.linalg.matrix_rank(A))", "r = n if torch.linalg.det(A) != 0 else 0")],
     r"fails .*matrix_rank\) works for matrices of any shape"),
    ("03", "ex1_mapping_type", "test_mapping_type", "tall means injective",
     [("if r == p:", "if n >= p:")],
     r"rank 1\) is 'injective'; expected 'neither'"),
    ("03", "ex1_mapping_type", "test_mapping_type", "capitalised",
     [('return "bijective"', 'return "Bijective"')],
     r"is 'Bijective'; expected 'bijective'"),
    # ---- lab 3, exercise 2: mmd2_unbiased
    ("03", "ex2_mmd", "test_mmd", "the biased estimate",
     [("term_xx = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))", "term_xx = k_xx.mean()"),
      ("term_yy = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))", "term_yy = k_yy.mean()")],
     r"equals the biased estimate"),
    ("03", "ex2_mmd", "test_mmd", "diagonal left out, divided by n²",
     [("/ (n * (n - 1))", "/ (n * n)"), ("/ (m * (m - 1))", "/ (m * m)")],
     r"what it divides by"),
    ("03", "ex2_mmd", "test_mmd", "distances not squared",
     [(".pow(2).sum(-1)", ".pow(2).sum(-1).sqrt()")],
     r"kernel on SQUARED distances"),
    ("03", "ex2_mmd", "test_mmd", "cross term without its factor 2",
     [("- 2 * k_xy.sum()", "- k_xy.sum()")],
     r"the factor of the cross term"),
    ("03", "ex2_mmd", "test_mmd", "a Python loop over the samples",
     [("""        d = (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)      # (len(a), len(b)) squared distances
        return sum(h * h / (h * h + d) for h in bandwidths)""",
       """        rows = []
        for ai in a:
            d = ((ai[None, :] - b) ** 2).sum(-1)
            rows.append(sum(h * h / (h * h + d) for h in bandwidths))
        return torch.stack(rows)""")],
     r"torch operations for 60 points"),
    ("03", "ex2_mmd", "test_mmd", ".item() at the end",
     [("return term_xx + term_yy - 2 * k_xy.sum() / (n * m)", "return (term_xx + term_yy - 2 * k_xy.sum() / (n * m)).item()")],
     r"0-dim tensor, got float"),
    ("03", "ex2_mmd", "test_mmd", "bandwidths hard-coded",
     [("for h in bandwidths", "for h in (0.05, 0.2, 0.9)")],
     r"use the bandwidths given as the argument"),
    # ---- lab 3, exercise 3: invert_by_gradient_descent
    ("03", "ex3_adhoc", "test_adhoc", "a mean instead of a sum",
     [("loss = ((f(x) - y) ** 2).sum()", "loss = ((f(x) - y) ** 2).mean()")],
     r"SUM over the starts, not a mean"),
    ("03", "ex3_adhoc", "test_adhoc", "Adam",
     [("""    for _ in range(steps):
        loss = ((f(x) - y) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x -= lr * grad""", """    opt = torch.optim.Adam([x], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        ((f(x) - y) ** 2).sum().backward()
        opt.step()""")],
     r"that is Adam"),
    ("03", "ex3_adhoc", "test_adhoc", "momentum",
     [("""    for _ in range(steps):
        loss = ((f(x) - y) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x -= lr * grad""", """    opt = torch.optim.SGD([x], lr=lr, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        ((f(x) - y) ** 2).sum().backward()
        opt.step()""")],
     r"no momentum"),
    ("03", "ex3_adhoc", "test_adhoc", "a factor ½ in the loss",
     [("loss = ((f(x) - y) ** 2).sum()", "loss = 0.5 * ((f(x) - y) ** 2).sum()")],
     r"half as far as it should"),
    ("03", "ex3_adhoc", "test_adhoc", "absolute error instead of squared",
     [("loss = ((f(x) - y) ** 2).sum()", "loss = (f(x) - y).abs().sum()")],
     r"check your loss, L = Σ_i \(f\(x_i\) − y\)²"),
    ("03", "ex3_adhoc", "test_adhoc", "uphill",
     [("x -= lr * grad", "x += lr * grad")],
     r"moved x uphill"),
    ("03", "ex3_adhoc", "test_adhoc", "one step too many",
     [("for _ in range(steps):", "for _ in range(steps + 1):")],
     r"with steps=3 your function took 4 steps"),
    ("03", "ex3_adhoc", "test_adhoc", "x0 changed in place",
     [("x = x0.detach().clone().requires_grad_(True)", "x = x0.requires_grad_(True)")],
     r"x0 after the call \(it must not change"),
    ("03", "ex3_adhoc", "test_adhoc", "not detached",
     [("return x.detach()", "return x")],
     r"return x\.detach\(\)"),
    ("03", "ex3_adhoc", "test_adhoc", "x does not require grad",
     [("x = x0.detach().clone().requires_grad_(True)", "x = x0.detach().clone()")],
     r"fails \(element 0 of tensors does not require grad.*\): L has no gradient with respect to x"),
    ("03", "ex3_adhoc", "test_adhoc", "in-place update outside torch.no_grad",
     [("        with torch.no_grad():\n            x -= lr * grad", "        x -= lr * grad")],
     r"fails \(a leaf Variable that requires grad.*\): x requires grad, so autograd forbids updating it in place"),
    ("03", "ex3_adhoc", "test_adhoc", "100 steps whatever steps says",
     [("for _ in range(steps):", "for _ in range(100):")],
     r"with steps=1 and steps=2 your function returns the same x: it ignores its argument steps"),
    ("03", "ex3_adhoc", "test_adhoc", "a fixed 0.1 instead of lr",
     [("x -= lr * grad", "x -= 0.1 * grad")],
     r"with lr=0\.1 and lr=0\.05 your function returns the same x: it ignores its argument lr"),
    # ---- lab 3, exercise 4: sample_posterior
    ("03", "ex4_sampler", "test_sampler", "[z, y, 0] order",
     [("torch.cat([y_col, z, padding], 1)", "torch.cat([z, y_col, padding], 1)")],
     r"first column \(should be y = 0\.7"),
    ("03", "ex4_sampler", "test_sampler", "no padding",
     [("torch.cat([y_col, z, padding], 1)", "torch.cat([y_col, z], 1)")],
     r"inn\.inverse got a batch of shape \(4000, 2\); expected \(n, DIM\)"),
    ("03", "ex4_sampler", "test_sampler", "uniform z",
     [("z = torch.randn(n, DIM_Z", "z = torch.rand(n, DIM_Z")],
     r"mean of the z column"),
    ("03", "ex4_sampler", "test_sampler", "one z for every row",
     [("z = torch.randn(n, DIM_Z, device=dev)", "z = torch.randn(1, DIM_Z, device=dev).expand(n, DIM_Z)")],
     r"all n samples then share one z"),
    ("03", "ex4_sampler", "test_sampler", "padding of ones",
     [("padding = torch.zeros(", "padding = torch.ones(")],
     r"padding should be zeros"),
    ("03", "ex4_sampler", "test_sampler", "every feature returned",
     [("return x[:, :DIM_X]", "return x")],
     r"sample_posterior\(inn, 0\.7, 4000\) has shape \(4000, 4\)"),
    ("03", "ex4_sampler", "test_sampler", "no torch.no_grad",
     [("with torch.no_grad():", "if True:")],
     r"requires grad: run inn\.inverse inside `with torch\.no_grad\(\):`"),
    ("03", "ex4_sampler", "test_sampler", "a fixed seed inside",
     [("z = torch.randn(n, DIM_Z, device=dev)", "torch.manual_seed(0)\n    z = torch.randn(n, DIM_Z, device=dev)")],
     r"returns the same samples on every call: each call should draw fresh z"),
    ("03", "ex4_sampler", "test_sampler", "one y row, not n",
     [("y_col = torch.full((n, DIM_Y), float(y), device=dev)", "y_col = torch.tensor([[float(y)]], device=dev)")],
     r"sample_posterior\(inn, 0\.7, 4000\) fails \(Sizes of tensors must match.*\): torch\.cat puts y, z and the "
     r"padding side by side"),
    ("03", "ex2_mmd", "test_mmd", "calls invlab.mmd2",
     [("return term_xx + term_yy - 2 * k_xy.sum() / (n * m)", "return invlab.mmd2(x, y, bandwidths=bandwidths)")],
     r"^CheckFailed: mmd2_unbiased calls the course's own implementation \(invlab\.mmd\.mmd2\); "
     r"this exercise asks you to write it yourself, so it scores 0$"),
    ("03", "ex2_mmd", "test_mmd", "invlab's estimator through eval (only the run finds it)",
     [("return term_xx + term_yy - 2 * k_xy.sum() / (n * m)",
       "return eval(\"invlab.mmd.\" + \"mmd2_unbiased\")(x, y, bandwidths=bandwidths)")],
     r"^CheckFailed: mmd2_unbiased calls the course's own implementation \(invlab\.mmd\.mmd2_unbiased\)"),
    ("03", "ex2_mmd", "test_compare", "calls invlab.mmd2 (the comparison grades it too)",
     [("return term_xx + term_yy - 2 * k_xy.sum() / (n * m)", "return invlab.mmd2(x, y, bandwidths=bandwidths)")],
     r"^CheckFailed: mmd2_unbiased calls the course's own implementation \(invlab\.mmd\.mmd2\); "
     r"this exercise asks you to write it yourself, so it scores 0$"),
    ("03", "ex2_mmd", "test_mmd", "both samples shifted in place",
     [("    n, m = len(x), len(y)\n", "    shift = x.mean(0)\n    x -= shift\n    y -= shift\n    n, m = len(x), len(y)\n")],
     r"mmd2_unbiased\(x, y\) changed x or y in place"),
    ("03", "ex2_mmd", "test_compare", "both samples shifted in place (the comparison)",
     [("    n, m = len(x), len(y)\n", "    shift = x.mean(0)\n    x -= shift\n    y -= shift\n    n, m = len(x), len(y)\n")],
     r"mmd2_unbiased\(x, y\) changed x or y in place"),
]

# Right answers written another way: each must pass its visible graded cell and the hidden tests.
RIGHT = [
    ("03", "ex1_mapping_type", "test_mapping_type", "rank from the singular values",
     [("r = int(torch.linalg.matrix_rank(A))", "r = int((torch.linalg.svdvals(A.double()) > 1e-10).sum())")]),
    ("03", "ex2_mmd", "test_mmd", "torch.cdist",
     [("d = (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)", "d = torch.cdist(a, b).pow(2)")]),
    ("03", "ex3_adhoc", "test_adhoc", "a new leaf every step",
     [("        with torch.no_grad():\n            x -= lr * grad", "        x = (x - lr * grad).detach().requires_grad_(True)")]),
    ("03", "ex4_sampler", "test_sampler", "y times ones",
     [("y_col = torch.full((n, DIM_Y), float(y), device=dev)", "y_col = y * torch.ones(n, DIM_Y, device=dev)")]),
    ("03", "ex2_mmd", "test_compare", "torch.cdist (the comparison)",
     [("d = (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)", "d = torch.cdist(a, b).pow(2)")]),
    ("03", "ex3_adhoc", "test_adhoc", "torch.optim.SGD",
     [("""    for _ in range(steps):
        loss = ((f(x) - y) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x -= lr * grad""", """    opt = torch.optim.SGD([x], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        ((f(x) - y) ** 2).sum().backward()
        opt.step()""")]),
    ("03", "ex4_sampler", "test_sampler", "one y row expanded to n",
     [("y_col = torch.full((n, DIM_Y), float(y), device=dev)", "y_col = torch.tensor([[float(y)]], device=dev).expand(n, DIM_Y)")]),
    ("03", "ex2_mmd", "test_compare", "samples shifted into new tensors (the comparison)",
     [("    n, m = len(x), len(y)\n", "    shift = x.mean(0)\n    x = x - shift\n    y = y - shift\n    n, m = len(x), len(y)\n")]),
]

CASES = ([Case(lab, ex, test, name, edit(lab, ex, subs), rx(msg)) for lab, ex, test, name, subs, msg in MISTAKES]
         + [Case(lab, ex, test, name, edit(lab, ex, subs), None) for lab, ex, test, name, subs in RIGHT])
