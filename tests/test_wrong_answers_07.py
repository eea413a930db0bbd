"""Lab 7's wrong-answer bank: typical mistakes pasted into the student lab, each of which
must make the visible graded cell fail with the intended message (and the solution pass).

One kernel runs the lab's setup once; every case then runs the exercise cell with the
mistake and the lab's graded cell, as a student would.
"""
import pytest

from notebooks import ROOT, KernelSession, error_line, errors, lab_cells

LAB = ROOT / "labs" / "07_reversible.ipynb"
SOLUTION = ROOT / "solutions" / "07_reversible.ipynb"


def _solution_source(grade_id):
    return lab_cells(SOLUTION)[grade_id].source        # the markers are comments


RECONSTRUCT = '''
def reconstruct(block, y):
    with torch.no_grad():
        y1, y2 = split_channels(y)
        return {body}
'''

BLOCK_BACKWARD = '''
def block_backward(block, y, grad_y):
    params = list(block.parameters())
    x = reconstruct(block, y)
    {body}
'''

GOOD_BACKWARD = '''with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        grads = torch.autograd.grad(block(x), [x] + params, grad_y)
    return x.detach(), grads[0], list(grads[1:])'''

GRADIENT_CHECK = '''
def gradient_check(blocks, x, backward):
    params = [p for b in blocks for p in b.parameters()]
    xg = x.clone().requires_grad_(True)
    y = xg
    for b in blocks:
        y = b(y)
    w = {w}
    ref = torch.autograd.grad((w * y).sum(), [xg] + params)
    with torch.no_grad():
        y = x
        for b in blocks:
            y = b(y)
        g, per_block = {w2}, []
        for b in {order}:
            y, g{g_new}, gp = backward(b, y, g)
            per_block.insert(0, gp)
    rev = {rev}
    ref = {ref}
    flat = lambda ts: torch.cat([t.reshape(-1) for t in ts])
    return invlab.relative_error(flat(ref), flat(rev))
'''
W = "torch.randn(y.shape, generator=torch.Generator().manual_seed(0), dtype=y.dtype)"


def gc(w=W, w2="w", order="reversed(blocks)", g_new="", rev="[g] + [t for gp in per_block for t in gp]",
       ref="ref"):
    return GRADIENT_CHECK.format(w=w, w2=w2, order=order, g_new=g_new, rev=rev, ref=ref)


# (exercise cell, graded cell, source of the mistake, fragment of the intended message)
CASES = {
    # ---- exercise 1: reconstruct
    "reconstruct: wrong sign": (
        "ex1_reconstruct", "test_reconstruct",
        RECONSTRUCT.format(body="merge_channels(y2, y1 + block.F(y2))"),
        "the first half (x1) is right, the second half (x2) is not"),
    "reconstruct: halves swapped": (
        "ex1_reconstruct", "test_reconstruct",
        RECONSTRUCT.format(body="merge_channels(y1 - block.F(y2), y2)"),
        "has the right halves in the wrong order"),
    "reconstruct: F of the wrong half": (
        "ex1_reconstruct", "test_reconstruct",
        RECONSTRUCT.format(body="merge_channels(y2, y1 - block.F(y1))"),
        "the first half (x1) is right, the second half (x2) is not"),
    "reconstruct: the forward instead of the inverse": (
        "ex1_reconstruct", "test_reconstruct",
        RECONSTRUCT.format(body="block(y)"),
        "the first half (x1) is wrong"),
    "reconstruct: builds a graph (no torch.no_grad)": (
        "ex1_reconstruct", "test_reconstruct",
        "def reconstruct(block, y):\n    y1, y2 = split_channels(y)\n"
        "    return merge_channels(y2, y1 - block.F(y2))\n",
        "part of an autograd graph (requires_grad=True)"),
    "reconstruct: calls block.inverse": (
        "ex1_reconstruct", "test_reconstruct",
        "def reconstruct(block, y):\n    with torch.no_grad():\n        return block.inverse(y)\n",
        "not call block.inverse"),
    # ---- exercise 2: block_backward
    "block_backward: no torch.enable_grad": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace("with torch.enable_grad():", "if True:")),
        "Switch them on around the recomputation with torch.enable_grad()"),
    "block_backward: x does not require grad": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace(".requires_grad_(True)", "")),
        "Make the reconstructed x a leaf that requires grad"),
    "block_backward: returns the output's gradient": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace("grads[0],", "grad_y,")),
        "grad_x is grad_y itself"),
    "block_backward: recomputes at y, not at x": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace(
            "grads = torch.autograd.grad(block(x), [x] + params, grad_y)",
            "yl = y.detach().requires_grad_(True)\n"
            "        grads = torch.autograd.grad(block(yl), [yl] + params, grad_y)")),
        "differs from autograd's ∂L/∂x"),
    "block_backward: x returned without detach": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace("return x.detach(),", "return x,")),
        "still requires grad: return it detached"),
    "block_backward: parameter gradients read from .grad (they pile up)": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body="""with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        block(x).backward(grad_y)
    return x.detach(), x.grad, [p.grad for p in params]"""),
        "do they pile up in p.grad?"),
    "block_backward: no parameter gradients": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace("list(grads[1:])", "[]")),
        "grad_params should hold one gradient per tensor in block.parameters()"),
    "block_backward: parameter gradients in reverse order": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace("list(grads[1:])", "list(grads[1:])[::-1]")),
        "in the order of list(block.parameters())"),
    "block_backward: returns (grad_x, x, grad_params)": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace("return x.detach(), grads[0],", "return grads[0], x.detach(),")),
        "the return order is (x, grad_x, grad_params)"),
    "block_backward: create_graph=True (the gradients keep a graph)": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace("params, grad_y)", "params, grad_y, create_graph=True)")),
        "the gradients must not keep a graph"),
    # ---- exercise 3: gradient_check
    "gradient_check: blocks in forward order": (
        "ex3_gradient_check", "test_gradient_check", gc(order="blocks"),
        "for a backward that is correct"),
    "gradient_check: gradient not passed on": (
        "ex3_gradient_check", "test_gradient_check", gc(g_new="_unused"),
        "for a backward that is correct"),
    "gradient_check: a different w for each way": (
        "ex3_gradient_check", "test_gradient_check", gc(w="torch.randn_like(y)", w2="torch.randn_like(y)"),
        "for a backward that is correct"),
    "gradient_check: compares the reversible gradients with themselves": (
        "ex3_gradient_check", "test_gradient_check", gc(ref="rev"),
        "compare the reversible gradients with ordinary autograd"),
    "gradient_check: w = ones instead of the fixed random w": (
        "ex3_gradient_check", "test_gradient_check", gc(w="torch.ones_like(y)"),
        "weight the loss with the fixed random w of the text"),
    "gradient_check: only the input's gradient": (
        "ex3_gradient_check", "test_gradient_check", gc(rev="[g]", ref="ref[:1]"),
        "compare the gradients of every parameter"),
    "gradient_check: only the parameters' gradients": (
        "ex3_gradient_check", "test_gradient_check",
        gc(rev="[t for gp in per_block for t in gp]", ref="ref[1:]"),
        "the input's gradient ∂L/∂x was not compared"),
    "gradient_check: largest absolute difference": (
        "ex3_gradient_check", "test_gradient_check",
        gc().replace("invlab.relative_error(flat(ref), flat(rev))", "(flat(ref) - flat(rev)).abs().max().item()"),
        "should be relative to the size of autograd's gradient"),
    "gradient_check: norm of the difference, not divided": (
        "ex3_gradient_check", "test_gradient_check",
        gc().replace("invlab.relative_error(flat(ref), flat(rev))", "(flat(ref) - flat(rev)).norm().item()"),
        "should be relative to the size of autograd's gradient"),
}


@pytest.fixture(scope="module")
def kernel():
    """A kernel that ran the lab's setup cell; yields run(source) -> outputs."""
    graded = lab_cells(LAB)
    with KernelSession(timeout=120) as k:
        def run(source):
            return k.run(source)

        setup = run(graded["setup"].source)
        assert not errors(setup), errors(setup)
        run.graded = graded
        yield run


def _define_solutions(run, upto):
    for gid in ("ex1_reconstruct", "ex2_block_backward", "ex3_gradient_check"):
        if gid == upto:
            return
        assert not errors(run(_solution_source(gid)))


@pytest.mark.parametrize("exercise,graded_id", [
    ("ex1_reconstruct", "test_reconstruct"),
    ("ex2_block_backward", "test_block_backward"),
    ("ex3_gradient_check", "test_gradient_check")])
def test_solution_passes_and_blank_fails_the_graded_cell(kernel, exercise, graded_id):
    _define_solutions(kernel, exercise)
    assert not errors(kernel(_solution_source(exercise)))
    cell = kernel(kernel.graded[graded_id].source)
    assert error_line(cell) is None, error_line(cell)
    blank = kernel(kernel.graded[exercise].source)            # raise NotImplementedError()
    assert not errors(blank)
    cell = kernel(kernel.graded[graded_id].source)
    assert "NotImplementedError" in (error_line(cell) or "")


@pytest.mark.parametrize("case", list(CASES))
def test_mistake_fails_the_graded_cell_with_the_intended_message(kernel, case):
    exercise, graded_id, source, message = CASES[case]
    _define_solutions(kernel, exercise)
    defined = kernel(source)
    assert not errors(defined), error_line(defined)
    cell = kernel(kernel.graded[graded_id].source)
    got = error_line(cell)
    assert got is not None, f"the graded cell {graded_id!r} passed the mistake {case!r}"
    assert got.startswith("CheckFailed"), got
    assert message in got, f"{case!r}: expected a message with {message!r}, got {got!r}"
