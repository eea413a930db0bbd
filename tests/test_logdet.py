"""invlab.logdet: log|det(I + J_g)| exact, by the power series with Hutchinson probes, and by
Russian roulette; bias and spread measured against the exact value."""
import math

import pytest
import torch

import invlab
from invlab import logdet
from invlab.iresnet import IResBlock, lipschitz_mlp

C = 0.9


def _g64(D=2, c=C, seed=0):
    torch.manual_seed(seed)
    g = lipschitz_mlp(D, hidden=16, depth=2, c=c).double()
    invlab.randomize_(g, std=1.0, seed=seed)
    g(torch.randn(2, D, dtype=torch.float64))       # initialise the power iteration
    return g.eval()


@pytest.mark.parametrize("D", [2, 5])
def test_exact_log_det_equals_slogdet_float64(D):
    g = _g64(D)
    x = 2 * torch.randn(6, D, dtype=torch.float64)
    ref = invlab.exact_log_det(lambda v: v + g(v), x)
    assert torch.allclose(logdet.residual_log_det(g, x), ref, rtol=0, atol=1e-10)
    block = IResBlock(g, log_det="exact").double().eval()
    y, ld = block.forward_with_log_det(x)
    assert torch.allclose(ld, ref, rtol=0, atol=1e-10)
    assert ref.abs().max() > 0.05          # a non-trivial Jacobian


def test_series_with_exact_traces_approaches_exact_as_terms_grow():
    g = _g64(3, c=0.97, seed=1)
    x = 2 * torch.randn(5, 3, dtype=torch.float64)
    exact = logdet.residual_log_det(g, x)
    with torch.no_grad():
        errs = [float((logdet.power_series_log_det(g, x, n, exact_traces=True) - exact).abs().max())
                for n in (1, 2, 4, 8, 16, 64)]
    assert errs[0] > 1e-3
    assert all(b < a for a, b in zip(errs, errs[1:])), errs
    assert errs[-1] < 1e-8


@pytest.mark.parametrize("estimator,probe", [("series", "gaussian"), ("series", "rademacher"),
                                             ("roulette", "gaussian"), ("roulette", "rademacher")])
def test_stochastic_estimators_are_within_3_standard_errors(estimator, probe):
    g = _g64(2, c=0.8, seed=2)
    x0 = torch.tensor([[0.3, -0.7]], dtype=torch.float64)
    exact = float(logdet.residual_log_det(g, x0).detach())
    xs = x0.repeat(20000, 1)
    gen = torch.Generator().manual_seed(5)
    if estimator == "series":
        est = logdet.power_series_log_det(g, xs, n_terms=30, probe=probe, generator=gen)
    else:
        est = logdet.russian_roulette_log_det(g, xs, probe=probe, generator=gen)
    est = est.detach()
    se = float(est.std()) / math.sqrt(len(est))
    assert abs(float(est.mean()) - exact) <= 3 * se, (float(est.mean()), exact, se)
    assert float(est.std()) > 1e-3      # it is a random estimate


def test_truncated_series_is_biased_and_roulette_is_not():
    g = _g64(2, c=0.95, seed=3)
    x = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    exact = float(logdet.residual_log_det(g, x).detach())
    one_term = float(logdet.power_series_log_det(g, x, 1, exact_traces=True).detach())
    assert abs(one_term - exact) > 1e-3
    # with the same two guaranteed terms and many probes, the truncated series misses the
    # exact value by many standard errors; the roulette (n_exact = 2, reweighted tail) does not.
    # A linear g, J = A with eigenvalues 0.65 and 0.2 (Lip² < 1 − p: the roulette's variance is finite)
    A = torch.tensor([[0.425, 0.225], [0.225, 0.425]], dtype=torch.float64)
    g = lambda v: v @ A.T
    exact = float(torch.linalg.slogdet(torch.eye(2, dtype=torch.float64) + A)[1])
    xs = x.repeat(20000, 1)
    two = logdet.power_series_log_det(g, xs, n_terms=2, generator=torch.Generator().manual_seed(8))
    rr = logdet.russian_roulette_log_det(g, xs, n_exact=2, generator=torch.Generator().manual_seed(8))
    se = lambda e: float(e.std()) / math.sqrt(len(e))
    assert abs(float(two.mean()) - exact) > 5 * se(two), (float(two.mean()), exact, se(two))
    assert abs(float(rr.mean()) - exact) <= 3 * se(rr), (float(rr.mean()), exact, se(rr))


@pytest.mark.parametrize("estimator", ["series", "roulette", "exact"])
def test_log_det_estimators_train(estimator):
    torch.manual_seed(6)
    block = IResBlock(lipschitz_mlp(2, 16, c=0.8), log_det=estimator, n_terms=3)
    x = torch.randn(32, 2, requires_grad=True)
    y, ld = block.forward_with_log_det(x)
    (ld.sum() + y.sum()).backward()
    grads = [p.grad for p in block.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(gr).all() for gr in grads)
    assert sum(float(gr.abs().sum()) for gr in grads) > 0
    assert x.grad is not None and torch.isfinite(x.grad).all()
    with torch.no_grad():
        y2, ld2 = block.forward_with_log_det(x)
    assert not ld2.requires_grad and not y2.requires_grad


# ---------------------------------------------------------------- the inverse
