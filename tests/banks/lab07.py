"""Lab 7 (backprop without stored activations): its wrong-answer bank (format:
tests/banks/__init__.py). Each entry is the whole exercise cell a student writes.
"""
from . import Case

LAB = "07"
PREFIX = ["setup"]

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
MISTAKES = {
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
    "reconstruct: returns the two halves": (
        "ex1_reconstruct", "test_reconstruct",
        RECONSTRUCT.format(body="y2, y1 - block.F(y2)"),
        "reconstruct(block, y) should return a tensor, got tuple"),
    "reconstruct: calls block.inverse": (
        "ex1_reconstruct", "test_reconstruct",
        "def reconstruct(block, y):\n    with torch.no_grad():\n        return block.inverse(y)\n",
        "reconstruct calls the course's own implementation (invlab.revnet.RevBlock.inverse); this exercise "
        "asks you to write it yourself, so it scores 0"),
    "reconstruct: calls block.inverse_with_log_det": (
        "ex1_reconstruct", "test_reconstruct",
        "def reconstruct(block, y):\n    with torch.no_grad():\n        return block.inverse_with_log_det(y)[0]\n",
        "reconstruct calls the course's own implementation (invlab.revnet.RevBlock.inverse)"),
    "reconstruct: calls RevBlock.inverse on the class": (
        "ex1_reconstruct", "test_reconstruct",
        "def reconstruct(block, y):\n    with torch.no_grad():\n        return RevBlock.inverse(block, y)\n",
        "reconstruct calls the course's own implementation (invlab.revnet.RevBlock.inverse)"),
    "reconstruct: calls the package's block_backward": (
        "ex1_reconstruct", "test_reconstruct",
        "from invlab.reversible import block_backward as bb\n"
        "def reconstruct(block, y):\n    return bb(block, y, torch.zeros_like(y))[0]\n",
        "reconstruct calls the course's own implementation (invlab.reversible.block_backward)"),
    "reconstruct: torch.inference_mode (exercise 2 could not make x require grad)": (
        "ex1_reconstruct", "test_reconstruct",
        RECONSTRUCT.format(body="merge_channels(y2, y1 - block.F(y2))").replace("torch.no_grad()", "torch.inference_mode()"),
        "returns an inference tensor"),
    "reconstruct: returns float32 (rounding, named)": (
        "ex1_reconstruct", "test_reconstruct",
        RECONSTRUCT.format(body="merge_channels(y2, y1 - block.F(y2)).float()"),
        "reconstruct(block, y) returns torch.float32 for a torch.float64 y"),
    "reconstruct: changes y in place": (
        "ex1_reconstruct", "test_reconstruct",
        "def reconstruct(block, y):\n    h = y.shape[1] // 2\n    with torch.no_grad():\n"
        "        y1, y2 = y[:, :h], y[:, h:]\n        y1 -= block.F(y2)\n        return merge_channels(y2, y1)\n",
        "reconstruct changed y in place"),
    "reconstruct: float32 on the way (a dtype error, explained)": (
        "ex1_reconstruct", "test_reconstruct",
        RECONSTRUCT.format(body="merge_channels(y2, y1 - block.F(y2.float()))"),
        "keep to y's dtype"),
    "reconstruct: splits along the batch (a conv error, explained)": (
        "ex1_reconstruct", "test_reconstruct",
        "def reconstruct(block, y):\n    with torch.no_grad():\n        y1, y2 = torch.split(y, y.shape[1] // 2)\n"
        "        return merge_channels(y2, y1 - block.F(y2))\n",
        "F takes half of the channels: split y along dim 1"),
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
        "block_backward changes p.grad of the block's parameters (.backward() inside it adds to p.grad)"),
    "block_backward: .backward() on zeroed .grad, returns clones (doubled inside ReversibleSequence)": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body="""block.zero_grad()
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        block(x).backward(grad_y)
    return x.detach(), x.grad, [p.grad.clone() for p in params]"""),
        "so every parameter gradient would count twice"),
    "block_backward: .backward(), clones, then p.grad = None (earlier gradients lost)": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body="""for p in params:
        p.grad = None
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        block(x).backward(grad_y)
    grads = [p.grad.clone() for p in params]
    for p in params:
        p.grad = None
    return x.detach(), x.grad, grads"""),
        "block_backward sets p.grad of the block's parameters to None"),
    "block_backward: (w * y).sum().backward(), zero_grad(set_to_none=False) first": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body="""block.zero_grad(set_to_none=False)
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        (block(x) * grad_y).sum().backward()
    return x.detach(), x.grad, [p.grad.detach().clone() for p in params]"""),
        "block_backward changes p.grad of the block's parameters"),
    "block_backward: grad_y in float32 (rounding, named)": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace("params, grad_y)", "params, grad_y.float())")),
        "an error of the size of float32 rounding"),
    "block_backward: x rebuilt in float32 (rounding, named)": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace("return x.detach(),", "return x.detach().float(),")),
        "it is torch.float32; keep to the dtype of y and grad_y"),
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
    "block_backward: correct, but reconstruct runs under torch.inference_mode": (
        "ex2_block_backward", "test_block_backward",
        RECONSTRUCT.format(body="merge_channels(y2, y1 - block.F(y2))").replace("torch.no_grad()", "torch.inference_mode()")
        + BLOCK_BACKWARD.format(body=GOOD_BACKWARD),
        "your reconstruct runs under torch.inference_mode()"),
    "block_backward: grad_x read from x.grad after autograd.grad (None)": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body="""with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        grads = torch.autograd.grad(block(x), params, grad_y)
    return x.detach(), x.grad, list(grads)"""),
        "should be a torch.Tensor, but it is a NoneType"),
    "block_backward: calls the package's block_backward": (
        "ex2_block_backward", "test_block_backward",
        "def block_backward(block, y, grad_y):\n    return invlab.reversible.block_backward(block, y, grad_y)\n",
        "block_backward calls the course's own implementation (invlab.reversible.block_backward); this exercise "
        "asks you to write it yourself, so it scores 0"),
    "block_backward: through a ReversibleSequence": (
        "ex2_block_backward", "test_block_backward",
        "def block_backward(block, y, grad_y):\n    seq = ReversibleSequence(block)\n"
        "    x = reconstruct(block, y).requires_grad_(True)\n    with torch.enable_grad():\n"
        "        g = torch.autograd.grad(seq(x), [x] + list(block.parameters()), grad_y)\n"
        "    return x.detach(), g[0], list(g[1:])\n",
        "block_backward calls the course's own implementation (invlab.reversible.ReversibleSequence)"),
    "block_backward: grad_outputs of the wrong shape (explained)": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace("params, grad_y)", "params, grad_y.sum(0))")),
        "grad_outputs must be grad_y, of the shape of the recomputed output"),
    "block_backward: float32 on the way (explained)": (
        "ex2_block_backward", "test_block_backward",
        BLOCK_BACKWARD.format(body=GOOD_BACKWARD.replace("x = x.detach().requires_grad_(True)",
                                                         "x = x.detach().float().requires_grad_(True)")),
        "keep to the dtype of y and grad_y"),
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
    "gradient_check: the reference forward under torch.no_grad": (
        "ex3_gradient_check", "test_gradient_check",
        gc().replace("    xg = x.clone().requires_grad_(True)\n    y = xg\n    for b in blocks:\n        y = b(y)\n",
                     "    xg = x.clone().requires_grad_(True)\n    with torch.no_grad():\n        y = xg\n"
                     "        for b in blocks:\n            y = b(y)\n", 1),
        "the reference needs a forward with a graph"),
    "gradient_check: returns a tensor, not a Python float": (
        "ex3_gradient_check", "test_gradient_check",
        gc().replace("invlab.relative_error(flat(ref), flat(rev))",
                     "(flat(ref) - flat(rev)).norm() / flat(ref).norm()"),
        "gradient_check should return one Python float, as the text asks; it returns a tensor of shape ()"),
    "gradient_check: parameters' gradients concatenated in another order": (
        "ex3_gradient_check", "test_gradient_check",
        gc(rev="[g] + [t for gp in reversed(per_block) for t in gp]"),
        "for a backward that is correct"),
    "gradient_check: torch.cat of the unflattened gradients (explained)": (
        "ex3_gradient_check", "test_gradient_check",
        gc().replace("torch.cat([t.reshape(-1) for t in ts])", "torch.cat(list(ts))"),
        "flatten each one (t.reshape(-1)) before torch.cat"),
    "gradient_check: torch.cat of the gradients flattened from dim 1 (explained)": (
        "ex3_gradient_check", "test_gradient_check",
        gc().replace("torch.cat([t.reshape(-1) for t in ts])", "torch.cat([t.flatten(1) for t in ts])"),
        "flatten every gradient completely (t.reshape(-1)) before torch.cat"),
    "gradient_check: torch.cat of squeezed gradients (explained)": (
        "ex3_gradient_check", "test_gradient_check",
        gc().replace("torch.cat([t.reshape(-1) for t in ts])", "torch.cat([t.squeeze() for t in ts])"),
        "flatten each one (t.reshape(-1)) before torch.cat"),
    "gradient_check: norm of the difference, not divided": (
        "ex3_gradient_check", "test_gradient_check",
        gc().replace("invlab.relative_error(flat(ref), flat(rev))", "(flat(ref) - flat(rev)).norm().item()"),
        "should be relative to the size of autograd's gradient"),
}


# right answers written another way: each must pass its graded cell (and the solution's earlier ones)
RIGHT = {
    "reconstruct: as a decorator, with chunk": (
        "ex1_reconstruct", "test_reconstruct",
        "@torch.no_grad()\ndef reconstruct(block, y):\n    y1, y2 = y.chunk(2, dim=1)\n"
        "    return torch.cat([y2, y1 - block.F(y2)], dim=1)\n"),
    "reconstruct: detached results instead of no_grad": (
        "ex1_reconstruct", "test_reconstruct",
        "def reconstruct(block, y):\n    y1, y2 = split_channels(y.detach())\n"
        "    return merge_channels(y2, y1 - block.F(y2)).detach()\n"),
    "reconstruct: in place on a copy": (
        "ex1_reconstruct", "test_reconstruct",
        "def reconstruct(block, y):\n    with torch.no_grad():\n        y1, y2 = split_channels(y)\n"
        "        y1 = y1.clone()\n        y1 -= block.F(y2)\n        return merge_channels(y2, y1)\n"),
    "block_backward: torch.func.vjp (a transform: no enable_grad needed)": (
        "ex2_block_backward", "test_block_backward",
        "def block_backward(block, y, grad_y):\n    params = dict(block.named_parameters())\n"
        "    x = reconstruct(block, y)\n"
        "    f = lambda x, p: torch.func.functional_call(block, p, (x,))\n"
        "    _, vjp = torch.func.vjp(f, x, params)\n    gx, gp = vjp(grad_y)\n"
        "    return x, gx, [gp[name] for name, _ in block.named_parameters()]\n"),
    "block_backward: backward() on fresh .grad, what was in p.grad put back": (
        "ex2_block_backward", "test_block_backward",
        "def block_backward(block, y, grad_y):\n    params = list(block.parameters())\n"
        "    kept = [p.grad for p in params]\n    for p in params:\n        p.grad = None\n"
        "    with torch.enable_grad():\n        x = reconstruct(block, y).requires_grad_(True)\n"
        "        block(x).backward(grad_y)\n"
        "    grads = [p.grad for p in params]\n    for p, g in zip(params, kept):\n        p.grad = g\n"
        "    return x.detach(), x.grad, grads\n"),
    "block_backward: block.inverse for x (allowed here), grads with inputs=": (
        "ex2_block_backward", "test_block_backward",
        "def block_backward(block, y, grad_y):\n    params = list(block.parameters())\n"
        "    with torch.no_grad():\n        x = block.inverse(y)\n"
        "    with torch.enable_grad():\n        x.requires_grad_(True)\n"
        "        gx, *gp = torch.autograd.grad(block(x), inputs=[x, *params], grad_outputs=grad_y)\n"
        "    return x.detach(), gx, gp\n"),
    "block_backward: reconstruct under inference_mode, then a copy (clone) that requires grad": (
        "ex2_block_backward", "test_block_backward",
        "def block_backward(block, y, grad_y):\n    params = list(block.parameters())\n"
        "    with torch.inference_mode():\n        x = block.inverse(y)\n"
        "    with torch.enable_grad():\n        x = x.clone().requires_grad_(True)\n"
        "        g = torch.autograd.grad(block(x), [x] + params, grad_y)\n"
        "    return x.detach(), g[0], list(g[1:])\n"),
    "block_backward: sum of w * y as the loss": (
        "ex2_block_backward", "test_block_backward",
        "def block_backward(block, y, grad_y):\n    params = list(block.parameters())\n"
        "    with torch.enable_grad():\n        x = reconstruct(block, y).clone().requires_grad_()\n"
        "        loss = (block(x) * grad_y).sum()\n"
        "        gx, *gp = torch.autograd.grad(loss, [x, *params])\n"
        "    return x.detach(), gx, gp\n"),
    "gradient_check: w drawn in float32 (the same numbers in both ways)": (
        "ex3_gradient_check", "test_gradient_check",
        gc(w="torch.randn(y.shape, generator=torch.Generator().manual_seed(0))")),
    "gradient_check: NumPy norms": (
        "ex3_gradient_check", "test_gradient_check",
        gc().replace("return invlab.relative_error(flat(ref), flat(rev))",
                     "import numpy as np\n    a, b = flat(ref).numpy(), flat(rev).numpy()\n"
                     "    return np.linalg.norm(a - b) / np.linalg.norm(a)")),
    "gradient_check: torch.cat of flattened views, gradients in a list comprehension": (
        "ex3_gradient_check", "test_gradient_check",
        gc().replace("torch.cat([t.reshape(-1) for t in ts])", "torch.cat([t.flatten() for t in ts])")),
    "gradient_check: .item() of a torch norm ratio": (
        "ex3_gradient_check", "test_gradient_check",
        gc().replace("return invlab.relative_error(flat(ref), flat(rev))",
                     "return ((flat(ref) - flat(rev)).norm() / flat(ref).norm()).item()")),
}

CASES = ([Case(LAB, ex, test, name, source, msg) for name, (ex, test, source, msg) in MISTAKES.items()]
         + [Case(LAB, ex, test, name, source, None) for name, (ex, test, source) in RIGHT.items()])
