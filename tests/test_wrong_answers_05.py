"""Lab 5 wrong-answer bank: typical mistakes pasted into the student lab fail its graded cells
with the intended message.

One kernel runs the lab's setup cell once; then, for every mistake, the exercise cell with
the mistake in place of ``raise NotImplementedError()`` and the exercise's graded cell.
"""
import pytest

from notebooks import ROOT, KernelSession, lab_cells, nbgrader_meta, with_body

LAB = ROOT / "labs" / "05_iresnet.ipynb"

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
return {W_tilde}, v, sigma"""


def _rescale(iters="iterations", normalise="v = v / torch.linalg.vector_norm(v)",
             sigma="torch.linalg.vector_norm(W @ v)", W_tilde="W * min(1.0, c / sigma)"):
    return _RESCALE.format(iters=iters, normalise=normalise, sigma=sigma, W_tilde=W_tilde)


_HUTCH = """x = x.detach().requires_grad_(True)
gx = g(x)
total = torch.zeros(len(x), dtype=x.dtype)
for _ in range({probes}):
    v = {v}
    w = v
    for k in range({k_range}):
        w = torch.autograd.grad(gx, x, w, retain_graph=True)[0]
        total = total + {coef} * {vw}
return {ret}"""


def _hutch(probes="n_probes", k_range="1, n_terms + 1", coef="(-1) ** (k + 1) / k",
           ret="total / n_probes", v="torch.randn_like(x)", vw="(w * v).sum(1)"):
    return _HUTCH.format(probes=probes, k_range=k_range, coef=coef, ret=ret, v=v, vw=vw)


# exercise grade_id -> (graded grade_id, [(wrong body, expected message fragment), ...])
BANK = {
    "ex1_invert": ("test_invert", [
        (_invert(update="y + g(x)"), "x + g(x) for g(x) = −x/2 (it should equal y)"),
        (_invert(after="return x, max_iterations"), "but it returned an unconverged x"),
        (_invert(stop="step <= rtol"), "the stopping rule must be relative to ‖y‖"),
        (_invert(x0="torch.zeros_like(y)"), "start from x⁽⁰⁾ = y (not from zero)"),
        (_invert(stop="k == 100", after="return x, max_iterations"), "invert_residual took 100 iterations"),
        (_invert(after="raise ValueError('no convergence')"), "not a ValueError"),
        (_invert(stop="step <= 1e-6 * y_norm"), "with rtol=1e-3 invert_residual took 20 iterations"),
        (_invert(n="200"), "with max_iterations=5 invert_residual evaluated g 200 times"),
    ]),
    "ex2_rescale": ("test_rescale", [
        (_rescale(W_tilde="W * c / sigma"), "spectral normalisation only ever shrinks a weight"),
        (_rescale(sigma="torch.linalg.matrix_norm(W)"),
         "sigma after 200 power iterations (should be ‖W‖₂, the largest singular value)"),
        (_rescale(W_tilde="W * min(1.0, 1.0 / sigma)"), "rescale W so that its spectral norm becomes c"),
        (_rescale(normalise="pass"), "normalise v after every step"),
        ("v = torch.randn(W.shape[1], dtype=W.dtype)\nv = v / torch.linalg.vector_norm(v)\n"
         + _rescale(iters="max(iterations, 1)"), "start from"),
        (_rescale(W_tilde="W * (c / sigma if sigma > 1 else 1.0)"),
         "‖W_tilde‖₂ for a weight of norm 0.95 and c = 0.9 is 0.95"),
        (_rescale(W_tilde="W * min(1.0, 0.9 / sigma)"), "‖W_tilde‖₂ for c = 0.5 is 0.9"),
        (_rescale(iters="1"), "the estimate after ONE step of the power iteration"),
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
    ]),
}


@pytest.fixture(scope="module")
def kernel():
    by_id = lab_cells(LAB)
    with KernelSession(timeout=300) as k:
        assert k.error_text(by_id["setup"].source) is None
        yield k.error_text, by_id


CASES = [(ex, body, msg) for ex, (_, mistakes) in BANK.items() for body, msg in mistakes]


def test_every_exercise_has_at_least_three_mistakes():
    exercises = [gid for gid, c in lab_cells(LAB).items() if nbgrader_meta(c).get("solution")]
    assert sorted(exercises) == sorted(BANK)
    assert all(len(m) >= 3 for _, m in BANK.values())


@pytest.mark.parametrize("exercise, body, message", CASES,
                         ids=[f"{ex}-{i}" for ex, (_, m) in BANK.items() for i in range(len(m))])
def test_wrong_answer_fails_with_its_message(kernel, exercise, body, message):
    run, by_id = kernel
    graded_id = BANK[exercise][0]
    assert run(with_body(by_id[exercise].source, body)) is None, \
        "the wrong answer must at least define the function"
    err = run(by_id[graded_id].source)
    assert err is not None, f"{graded_id} passed a wrong answer:\n{body}"
    assert message in err, f"{graded_id} failed, but not with {message!r}:\n{err[-1500:]}"


@pytest.mark.parametrize("exercise", list(BANK))
def test_solution_passes_its_graded_cell(kernel, exercise):
    """The bank's harness itself: the reference solution passes (so failures above are the mistakes')."""
    import json
    run, by_id = kernel
    sol = lab_cells(ROOT / "solutions" / "05_iresnet.ipynb")
    assert run(sol[exercise].source) is None
    graded = sol[BANK[exercise][0]].source
    assert run(graded) is None, json.dumps(graded[:200])
