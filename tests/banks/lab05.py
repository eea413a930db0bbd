"""Lab 5 (invertible ResNets): its wrong-answer bank (format: tests/banks/__init__.py).

Each entry is a body a student writes in place of ``raise NotImplementedError()``; a call to
the course's own implementation fails with the grader's own words (:func:`invlab.answers.message`).
"""
import textwrap

from invlab import answers

from . import Case, fill

LAB = "05"
PREFIX = ["setup"]

_LOOP = """with torch.no_grad():
    x = {x0}
    y_norm = torch.linalg.vector_norm(y)
    for k in range(1, {n} + 1):
        x_new = {update}
        step = torch.linalg.vector_norm(x_new - x)
        x = x_new
        if {stop}:
            return x, k
{after}"""
_RAISE = "raise RuntimeError('no convergence')"


def _invert(x0="y", update="y - g(x)", stop="step <= rtol * y_norm", after=_RAISE, n="max_iterations"):
    return _LOOP.format(x0=x0, update=update, stop=stop, after=after, n=n)


_RESCALE = """for _ in range({iters}):
    v = W.T @ (W @ v)
    {normalise}
sigma = float({sigma})
{before_return}return {W_tilde}, v, sigma"""


def _rescale(iters="iterations", normalise="v = v / torch.linalg.vector_norm(v)",
             sigma="torch.linalg.vector_norm(W @ v)", W_tilde="W * min(1.0, c / sigma)", before_return=""):
    return _RESCALE.format(iters=iters, normalise=normalise, sigma=sigma, W_tilde=W_tilde,
                           before_return=before_return)


_HUTCH = """x = {x_copy}
gx = g(x)
total = torch.zeros(len(x), dtype=x.dtype)
for _ in range({probes}):
    v = {v}
    w = v
    for k in range({k_range}):
        w = {vjp}
        total = total + {coef} * {vw}
return {ret}"""


def _hutch(probes="n_probes", k_range="1, n_terms + 1", coef="(-1) ** (k + 1) / k",
           ret="total / n_probes", v="torch.randn_like(x)", vw="(w * v).sum(1)",
           vjp="torch.autograd.grad(gx, x, w, retain_graph=True)[0]",
           x_copy="x.detach().requires_grad_(True)"):
    return _HUTCH.format(probes=probes, k_range=k_range, coef=coef, ret=ret, v=v, vw=vw, vjp=vjp,
                         x_copy=x_copy)


def _own(fn, *names):
    """What the graded cell (and the grader) say when ``fn`` calls the course's own version."""
    return answers.message(fn, names)


# exercise grade_id -> (graded grade_id, [(wrong body, expected message fragment), ...])
BANK = {
    "ex1_invert": ("test_invert", [
        (_invert(update="y + g(x)"), "x + g(x) for g(x) = −x/2 (it should equal y)"),
        (_invert(after="return x, max_iterations"), "but it returned an unconverged x"),
        (_invert(stop="step <= rtol"), "the stopping rule must be relative to ‖y‖"),
        # relative to the new x (‖x‖ ≈ 2‖y‖ for g = −x/2): one early there, one late for g = +x/2
        (_invert(stop="step <= rtol * torch.linalg.vector_norm(x)"), "its stopping test scales with ‖x‖, not with ‖y‖"),
        # relative to the previous x
        (_invert().replace("        x = x_new\n        if step <= rtol * y_norm:",
                           "        small = step <= rtol * torch.linalg.vector_norm(x)\n        x = x_new\n        if small:"),
         "its stopping test scales with ‖x‖, not with ‖y‖"),
        (_invert(x0="torch.zeros_like(y)"), "evaluated g first at x = 0: start from x⁽⁰⁾ = y (not from zero)"),
        (_invert(x0="y / 2"), "evaluated g first at an x that is not y: start from x⁽⁰⁾ = y"),
        (_invert(stop="k == 100", after="return x, max_iterations"), "invert_residual took 100 iterations"),
        (_invert(after="raise ValueError('no convergence')"), "not a ValueError"),
        (_invert(stop="step <= 1e-6 * y_norm"), "with rtol=1e-3 invert_residual took 20 iterations"),
        (_invert(n="200"), "with max_iterations=5 invert_residual evaluated g 200 times"),
        # counts from 0: 20 evaluations of g, 19 reported
        ("with torch.no_grad():\n    x = y\n    y_norm = torch.linalg.vector_norm(y)\n"
         "    for k in range(max_iterations):\n        x_new = y - g(x)\n"
         "        step = torch.linalg.vector_norm(x_new - x)\n        x = x_new\n"
         "        if step <= rtol * y_norm:\n            return x, k\n" + _RAISE,
         "evaluated g 20 times but returned 19 iterations"),
        # stops on the residual of the new x: one iteration early
        ("with torch.no_grad():\n    x = y\n    y_norm = torch.linalg.vector_norm(y)\n"
         "    for k in range(1, max_iterations + 1):\n        x = y - g(x)\n"
         "        if torch.linalg.vector_norm(x + g(x) - y) <= rtol * y_norm:\n            return x, k\n" + _RAISE,
         "a test on the residual ‖x + g(x) − y‖ of the new x is the size of the NEXT step"),
        # tests the previous step at the top of the loop: one iteration late
        ("with torch.no_grad():\n    x, step = y, None\n    y_norm = torch.linalg.vector_norm(y)\n"
         "    for k in range(1, max_iterations + 1):\n"
         "        if step is not None and step <= rtol * y_norm:\n            return x, k\n"
         "        x_new = y - g(x)\n        step = torch.linalg.vector_norm(x_new - x)\n        x = x_new\n" + _RAISE,
         "one more than the 20 needed: test the step right after each update"),
        # x aliases y and is updated in place
        ("with torch.no_grad():\n    x = y\n    y_norm = torch.linalg.vector_norm(y)\n"
         "    for k in range(1, max_iterations + 1):\n        x_new = y - g(x)\n"
         "        step = torch.linalg.vector_norm(x_new - x)\n        x[:] = x_new\n"
         "        if step <= rtol * y_norm:\n            return x, k\n" + _RAISE,
         "invert_residual changed the y it was given"),
        # gives up at the first step that is not yet small enough
        (_invert(after="").replace("            return x, k\n",
                                   "            return x, k\n        else:\n            raise RuntimeError('no convergence')\n"),
         "g(x) = −x/2 has Lip = 1/2, so the iteration converges"),
        # per-sample norms: the stopping test is not one True/False
        (_invert().replace("y_norm = torch.linalg.vector_norm(y)", "y_norm = torch.linalg.vector_norm(y, dim=1)")
         .replace("step = torch.linalg.vector_norm(x_new - x)", "step = torch.linalg.vector_norm(x_new - x, dim=1)"),
         "the stopping test must be one True/False"),
        ("return fixed_point_inverse(g, y, rtol=rtol, max_iterations=max_iterations)",
         _own("invert_residual", "invlab.iresnet.fixed_point_inverse")),
        ("block = IResBlock(torch.nn.Identity(), inverse_rtol=rtol, max_iterations=max_iterations)\n"
         "block.g = g\nreturn block.inverse(y), block.last_iterations",
         _own("invert_residual", "invlab.iresnet.IResBlock")),
    ]),
    "ex2_rescale": ("test_rescale", [
        (_rescale(W_tilde="W * c / sigma"), "spectral normalisation only ever shrinks a weight"),
        (_rescale(sigma="torch.linalg.matrix_norm(W)"),
         "sigma after 200 power iterations (should be ‖W‖₂, the largest singular value)"),
        (_rescale(W_tilde="W * min(1.0, 1.0 / sigma)"), "rescale W so that its spectral norm becomes c"),
        (_rescale(normalise="pass"), "normalise v after every step"),
        ("v = torch.randn(W.shape[1], dtype=W.dtype)\nv = v / torch.linalg.vector_norm(v)\n"
         + _rescale(iters="max(iterations, 1)"), "start from that v"),
        (_rescale(W_tilde="W * (c / sigma if sigma > 1 else 1.0)"),
         "‖W_tilde‖₂ for a weight of norm 0.95 and c = 0.9 is 0.95"),
        (_rescale(W_tilde="W * min(1.0, 0.9 / sigma)"), "‖W_tilde‖₂ for c = 0.5 is 0.9"),
        (_rescale(iters="1"), "the estimate after ONE step of the power iteration"),
        (_rescale(iters="iterations - 1"), "returned v unchanged: no step of the power iteration ran"),
        (_rescale(iters="iterations + 1"), "ran two steps of the power iteration"),
        (_rescale(W_tilde="W", before_return="W *= min(1.0, c / sigma)\n"),
         "spectral_rescale changed the W it was given (in place"),
        (_rescale(W_tilde="W", before_return="W.mul_(min(1.0, c / sigma))\n"),
         "spectral_rescale changed the W it was given (in place"),
        (_rescale(sigma="torch.linalg.vector_norm(W.T @ (W @ v))"), "= ‖W‖₂², the largest eigenvalue of WᵀW"),
        ("sigma = float(torch.linalg.vector_norm(W @ v))\n" + _rescale().replace(
            "sigma = float(torch.linalg.vector_norm(W @ v))\n", ""),
         "= ‖W v‖ for the v you were given: compute sigma with the new v"),
        (_rescale().replace("v = W.T @ (W @ v)", "v = W @ (W @ v)"), "W @ v has shape (out,), and Wᵀ(W v) has v's shape"),
        (_rescale().replace("v = W.T @ (W @ v)", "v = (W @ W) @ v"), "W @ v has shape (out,), and Wᵀ(W v) has v's shape"),
        # no gradient from W_tilde back to W: a no_grad decorator, a no_grad block, W.detach(), W.data
        ("@torch.no_grad()\ndef rescale(W, v):\n"
         + textwrap.indent(_rescale(), "    ") + "\nreturn rescale(W, v)",
         "W_tilde carries no gradient back to W: it was computed under torch.no_grad()"),
        ("with torch.no_grad():\n" + textwrap.indent(_rescale(), "    "),
         "W_tilde carries no gradient back to W"),
        ("W = W.detach()\n" + _rescale(), "W_tilde carries no gradient back to W"),
        ("W = W.data\n" + _rescale(), "detached on the way (W.detach(), W.data"),
        (_rescale(W_tilde="(W * min(1.0, c / sigma)).detach()"), "W_tilde.detach()"),
        (_rescale(W_tilde="torch.tensor(W.tolist(), dtype=W.dtype) * min(1.0, c / sigma)"),
         "a NumPy or .tolist() round trip"),
        ("import numpy as np\nWn, vn = W.detach().numpy(), v.detach().numpy()\nfor _ in range(iterations):\n"
         "    vn = Wn.T @ (Wn @ vn)\n    vn = vn / np.linalg.norm(vn)\nsigma = float(np.linalg.norm(Wn @ vn))\n"
         "return torch.from_numpy(Wn * min(1.0, c / sigma)), torch.from_numpy(vn), sigma",
         "W_tilde carries no gradient back to W"),
        # the factor applied through .data: the gradient passes to W as if W_tilde were W
        (_rescale(W_tilde="W_tilde", before_return="W_tilde = W.clone()\nW_tilde.data *= min(1.0, c / sigma)\n"),
         "the factor min(1, c/σ̂) was applied where autograd cannot see it"),
        # a weight below c returned detached
        (_rescale(W_tilde="(W * (c / sigma) if sigma > c else W.detach().clone())"),
         "for a weight whose norm 0.5 is already below c = 0.9, W_tilde = W carries no gradient back to W"),
        # rescaled in place only above the threshold
        (_rescale(W_tilde="W", before_return="if sigma > c:\n    W *= c / sigma\n"),
         "spectral_rescale changed the W it was given (in place"),
        # only the factor in the graph, W itself detached: part of the gradient
        (_rescale(sigma="torch.linalg.vector_norm(W @ v)", W_tilde="W.detach() * torch.clamp(c / torch.linalg.vector_norm(W @ v), max=1.0)"),
         "is part of the path from W to W_tilde detached?"),
        # sigma by an SVD, v never updated
        ("sigma = float(torch.linalg.matrix_norm(W, ord=2))\nreturn W * min(1.0, c / sigma), v, sigma",
         "returned the v it was given, unchanged: update v at every step"),
        # sigma by an SVD, v updated
        (_rescale(sigma="torch.linalg.matrix_norm(W, ord=2)"),
         "not the norm computed another way (an SVD, matrix_norm(W, 2))"),
        # a float32 v against a float64 W
        (_rescale().replace("v = W.T @ (W @ v)", "v = W.T @ (W @ v.float())"), "keep v, and every tensor you make, in W's dtype"),
        ("layer = torch.nn.Linear(W.shape[1], W.shape[0], bias=False).to(W.dtype)\n"
         "with torch.no_grad():\n    layer.weight.copy_(W)\n"
         "sn = SpectralNorm(layer, c=c, init_iterations=max(iterations, 1))\nsn(v[None])\n"
         "return sn.weight().detach(), sn.v[0], float(sn.sigma_hat)",
         _own("spectral_rescale", "invlab.iresnet.SpectralNorm")),
    ]),
    "ex3_hutchinson": ("test_hutchinson", [
        (_hutch(coef="1 / k"), "Check the sign (−1)^(k+1)"),
        (_hutch(coef="(-1) ** (k + 1)"), "Check the sign (−1)^(k+1), the 1/k"),
        (_hutch(k_range="0, n_terms", coef="(-1) ** (k + 1) / max(k, 1)"), "starts at k = 1"),
        (_hutch(ret="total.sum() / n_probes"), "has shape (); expected (3,)"),
        (_hutch(probes="1", ret="total"), "average over n_probes independent probes"),
        (_hutch(v="torch.randn_like(x) if _ == 0 else v"), "average over n_probes independent probes"),
        (_hutch(probes="1"), "add up one estimate per probe, n_probes of them, and divide by n_probes once"),
        (_hutch(ret="total / n_probes / n_probes"), "and divide by n_probes once"),
        (_hutch(ret="total"), "that is the sum over the probes: average them"),
        (_hutch(v="torch.randn_like(x[:1]).expand_as(x)"), "got the same estimate"),
        (_hutch(v="torch.randn(x.shape[1], dtype=x.dtype)"), "one probe per sample"),
        (_hutch(vw="(w * v).mean(1)"), "vᵀw is a sum over the features, not a mean"),
        (_hutch(vw="(w * v).sum()"), "vᵀw was summed over the whole batch as well as over the features"),
        (_hutch(v="torch.rand_like(x)"), "what probes uniform on [0, 1) (torch.rand_like: mean 1/2, variance 1/12) give"),
        (_hutch(v="torch.randint_like(x, 2)"), "what probes 0 or 1"),
        (_hutch(v="torch.empty_like(x).bernoulli_(0.5)"), "Hutchinson's trick needs E[v vᵀ] = I"),
        (_hutch(k_range="0, n_terms"), "the series starts at k = 1 (term k has the factor 1/k, undefined for k = 0)"),
        # no autograd: g evaluated at w (J w for a linear g without bias, so the linear test alone passes it)
        (_hutch(vjp="g(w)"), "They use the wrong vector: w overwritten with g(w)"),
        (_hutch(vjp="g(w)", vw="(w * v).sum(1)\n        v = w"), "each w is paired with the previous w"),
        # the probe overwritten: v = w (each w paired with itself), or w = v updated in place (the same tensor)
        (_hutch(vjp="torch.autograd.grad(gx, x, w, retain_graph=True)[0]\n        v = w"),
         "each w is paired with itself instead of with v"),
        (_hutch(vjp="w.copy_(torch.autograd.grad(gx, x, w, retain_graph=True)[0])"),
         "an in-place update of w changes v too"),
        # v = w after each term: each w paired with the previous one
        (_hutch(vw="(w * v).sum(1)\n        v = w"), "each w is paired with the previous w instead of with v"),
        (_hutch(vjp="g(w) - g(torch.zeros_like(w))"), "J_g depends on x"),
        (_hutch(k_range="1, n_terms"), "with n_terms=1 every estimate is 0: no term of the series was added"),
        (_hutch(k_range="1, n_terms + 2"), "One term too many"),
        (_hutch(vjp="torch.autograd.grad(gx, x, v, retain_graph=True)[0]"),
         "update w ← wᵀJ from the previous w, not from v"),
        (_hutch(vjp="torch.autograd.grad(gx, x, w)[0]"), "pass retain_graph=True to torch.autograd.grad"),
        (_hutch(x_copy="x.detach()"), "compute gx = g(x) on x.detach().requires_grad_(True)"),
        (_hutch(vjp="torch.autograd.grad(gx, x)[0]"), "pass the vector w as the third argument"),
        ("return logdet.power_series_log_det(g, x, n_terms, n_probes)",
         _own("hutchinson_log_det", "invlab.logdet.power_series_log_det")),
        ("return logdet.residual_log_det(g, x)",
         _own("hutchinson_log_det", "invlab.logdet.residual_log_det")),
    ]),
}

# exercise grade_id -> [correct bodies written another way]: each must pass the graded cell
CORRECT = {
    "ex1_invert": [
        # a while loop with its own counter, torch.norm, a ratio test
        "x, k = y, 0\nwith torch.no_grad():\n    while k < max_iterations:\n        k += 1\n"
        "        x_new = y - g(x)\n        converged = torch.norm(x_new - x) / torch.norm(y) <= rtol\n"
        "        x = x_new\n        if converged:\n            return x, k\n"
        "raise RuntimeError(f'no convergence in {max_iterations} iterations')",
        # in place, on a copy of y
        "with torch.no_grad():\n    x = y.clone()\n    for k in range(1, max_iterations + 1):\n"
        "        x_new = y - g(x)\n        small = (x_new - x).norm() <= rtol * y.norm()\n        x.copy_(x_new)\n"
        "        if small:\n            return x, k\nraise RuntimeError('did not converge')",
        # a stricter per-sample test (every sample's step small)
        "with torch.no_grad():\n    x = y\n    for k in range(1, max_iterations + 1):\n        x_new = y - g(x)\n"
        "        steps = torch.linalg.vector_norm((x_new - x).flatten(1), dim=1)\n"
        "        scales = torch.linalg.vector_norm(y.flatten(1), dim=1)\n        x = x_new\n"
        "        if bool((steps <= rtol * scales).all()):\n            return x, k\nraise RuntimeError('no convergence')",
        # no torch.no_grad, detached iterates; a RuntimeError subclass
        "class NoConvergence(RuntimeError):\n    pass\nx = y.detach()\n"
        "for k in range(1, max_iterations + 1):\n    x_new = (y - g(x)).detach()\n"
        "    done = float(torch.linalg.vector_norm(x_new - x)) <= rtol * float(torch.linalg.vector_norm(y))\n"
        "    x = x_new\n    if done:\n        return x, k\nraise NoConvergence('Lip(g) >= 1?')",
    ],
    "ex2_rescale": [
        # v updated in place, as torch.nn.utils.spectral_norm does (u and v alternate)
        "for _ in range(iterations):\n    u = W @ v\n    u = u / torch.linalg.vector_norm(u)\n"
        "    v.copy_(W.T @ u)\n    v.div_(torch.linalg.vector_norm(v))\n"
        "sigma = float(torch.linalg.vector_norm(W @ v))\nreturn W * min(1.0, c / sigma), v, sigma",
        # torch's own sigma = uᵀ W v with F.normalize, a conditional scale
        "u = F.normalize(W @ v, dim=0)\nfor _ in range(iterations):\n    u = F.normalize(W @ v, dim=0)\n"
        "    v = F.normalize(W.T @ u, dim=0)\nsigma = torch.dot(u, W @ v).item() if iterations else "
        "torch.linalg.norm(W @ v).item()\nW_tilde = W * (c / sigma) if sigma > c else W.clone()\nreturn W_tilde, v, sigma",
        # torch.mv, W.t(), sigma from the Rayleigh quotient, a clamp
        "for _ in range(iterations):\n    v = torch.mv(W.t(), torch.mv(W, v))\n    v = v / v.norm()\n"
        "sigma = math.sqrt(float(v @ torch.mv(W.t(), torch.mv(W, v))))\n"
        "return W * torch.clamp(torch.tensor(c / sigma), max=1.0).item(), v, sigma",
        # σ̂ kept in the graph for W_tilde (as invlab's SpectralNorm), returned as a float
        "for _ in range(iterations):\n    v = W.T @ (W @ v)\n    v = v / torch.linalg.vector_norm(v)\n"
        "sigma_t = torch.linalg.vector_norm(W @ v)\nreturn W * torch.clamp(c / sigma_t, max=1.0), v, sigma_t.item()",
        # the power iteration under no_grad (as torch's spectral_norm), the rescaling outside it
        "with torch.no_grad():\n    for _ in range(iterations):\n        v = W.T @ (W @ v)\n"
        "        v = v / torch.linalg.vector_norm(v)\n    sigma = torch.linalg.vector_norm(W @ v).item()\n"
        "return W * min(1.0, c / sigma), v, sigma",
        # the power iteration with gradients all the way (v depends on W), σ̂ in the graph
        "for _ in range(iterations):\n    v = W.T @ (W @ v)\n    v = v / torch.linalg.vector_norm(v)\n"
        "s = torch.linalg.vector_norm(W @ v)\nreturn W * torch.clamp(c / s, max=1.0), v.detach(), float(s)",
        # the power iteration on W.detach(), σ̂ in the graph, W / max(1, σ̂/c)
        "Wd = W.detach()\nfor _ in range(iterations):\n    v = F.normalize(Wd.T @ (Wd @ v), dim=0)\n"
        "sigma_t = (W @ v).norm()\nreturn W / torch.clamp(sigma_t / c, min=1.0), v, float(sigma_t)",
    ],
    "ex3_hutchinson": [
        # Rademacher probes
        _hutch(v="torch.empty_like(x).bernoulli_(0.5) * 2 - 1"),
        # torch.distributions, float32 probes (autograd casts them)
        _hutch(v="torch.distributions.Normal(0.0, 1.0).sample(x.shape)"),
        _hutch(v="torch.distributions.Normal(torch.zeros_like(x), torch.ones_like(x)).sample()"),
        # torch.func.vjp: a pullback reused for every term
        "from torch.func import vjp\n_, pullback = vjp(g, x)\nests = []\nfor _ in range(n_probes):\n"
        "    v = torch.randn_like(x)\n    w, est = v, torch.zeros(len(x), dtype=x.dtype)\n"
        "    for k in range(1, n_terms + 1):\n        (w,) = pullback(w)\n        est = est + (-1) ** (k + 1) / k * (w * v).sum(1)\n"
        "    ests.append(est)\nreturn torch.stack(ests).mean(0)",
        # torch.func.jvp: J w instead of wᵀ J (the same traces)
        "total = 0\nfor _ in range(n_probes):\n    v = torch.randn_like(x)\n    w = v\n"
        "    for k in range(1, n_terms + 1):\n        w = torch.func.jvp(g, (x,), (w,))[1]\n"
        "        total = total + (-1) ** (k + 1) / k * torch.einsum('bd,bd->b', w, v)\nreturn total / n_probes",
        # torch.autograd.functional.vjp, a device-aware accumulator
        "est = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)\nfor _ in range(n_probes):\n"
        "    v = torch.randn_like(x)\n    w = v\n    for k in range(1, n_terms + 1):\n"
        "        w = torch.autograd.functional.vjp(g, x, w)[1]\n"
        "        est += (-1) ** (k + 1) / k * torch.einsum('bd,bd->b', w, v)\nreturn est / n_probes",
        # all probes at once on a repeated batch, create_graph=True
        "B = len(x)\nxr = x.detach().repeat(n_probes, 1).requires_grad_(True)\ngx = g(xr)\nv = torch.randn_like(xr)\n"
        "w, total = v, torch.zeros(len(xr), dtype=x.dtype)\nfor k in range(1, n_terms + 1):\n"
        "    (w,) = torch.autograd.grad(gx, xr, w, retain_graph=True, create_graph=True)\n"
        "    total = total + (-1) ** (k + 1) / k * (w * v).sum(1)\nreturn total.reshape(n_probes, B).mean(0).detach()",
    ],
}

CASES = ([Case(LAB, ex, test, str(i), fill(LAB, ex, body), msg)
          for ex, (test, mistakes) in BANK.items() for i, (body, msg) in enumerate(mistakes)]
         + [Case(LAB, ex, BANK[ex][0], f"ok{i}", fill(LAB, ex, body), None)
            for ex, bodies in CORRECT.items() for i, body in enumerate(bodies)])
