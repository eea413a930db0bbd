"""Tests for invlab.mmd: exactness against a double loop, statistics, autograd, errors."""
import doctest
import math

import pytest
import torch

import invlab.mmd
from invlab.mmd import (DEFAULT_BANDWIDTHS, KERNELS, gaussian_kernel, imq_kernel, mmd2,
                        mmd2_biased, mmd2_unbiased, multiscale_kernel, pairwise_sq_dists)


# ----------------------------------------------------------------- plain-Python reference
def _k_ref(a, b, kind, hs):
    d = sum((ai - bi) ** 2 for ai, bi in zip(a, b))
    total = 0.0
    for h in hs:
        total += math.exp(-d / (2 * h * h)) if kind == "gaussian" else h * h / (h * h + d)
    return total


def _mmd2_ref(x, y, kind, hs, unbiased):
    """The lecture's formula, term by term, with explicit double loops over lists."""
    x, y = x.tolist(), y.tolist()
    n, m = len(x), len(y)
    sxx = sum(_k_ref(x[i], x[j], kind, hs) for i in range(n) for j in range(n)
              if not (unbiased and i == j))
    syy = sum(_k_ref(y[i], y[j], kind, hs) for i in range(m) for j in range(m)
              if not (unbiased and i == j))
    sxy = sum(_k_ref(x[i], y[j], kind, hs) for i in range(n) for j in range(m))
    if unbiased:
        return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - 2 * sxy / (n * m)
    return sxx / n ** 2 + syy / m ** 2 - 2 * sxy / (n * m)


def _small_pair(seed=0, n=7, m=5, d=3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randn(m, d, generator=g, dtype=torch.float64) * 1.3 + 0.4
    return x, y


@pytest.mark.parametrize("unbiased", [True, False])
@pytest.mark.parametrize("kind", ["gaussian", "imq"])
@pytest.mark.parametrize("hs", [(1.0,), (0.7,), DEFAULT_BANDWIDTHS, (0.3, 1.0, 2.5)])
def test_matches_double_loop(kind, unbiased, hs):
    x, y = _small_pair()
    got = mmd2(x, y, kernel=kind, bandwidths=hs, unbiased=unbiased)
    assert got.shape == () and got.dtype == torch.float64
    assert got.item() == pytest.approx(_mmd2_ref(x, y, kind, hs, unbiased), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("kind", ["gaussian", "imq"])
def test_kernel_matrices_match_double_loop(kind):
    x, y = _small_pair(1)
    fn = gaussian_kernel if kind == "gaussian" else imq_kernel
    single = fn(x, y, bandwidth=0.8)
    multi = multiscale_kernel(x, y, bandwidths=(0.3, 0.8, 2.0), kind=kind)
    assert single.shape == multi.shape == (7, 5)
    xs, ys = x.tolist(), y.tolist()
    ref1 = torch.tensor([[_k_ref(a, b, kind, (0.8,)) for b in ys] for a in xs], dtype=torch.float64)
    ref3 = torch.tensor([[_k_ref(a, b, kind, (0.3, 0.8, 2.0)) for b in ys] for a in xs],
                        dtype=torch.float64)
    torch.testing.assert_close(single, ref1, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(multi, ref3, rtol=1e-12, atol=1e-12)


def test_kernel_formulas_at_known_points():
    a = torch.zeros(1, 2, dtype=torch.float64)
    b = torch.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=torch.float64)   # d = 0 and 25
    torch.testing.assert_close(gaussian_kernel(a, b, bandwidth=5.0),
                               torch.tensor([[1.0, math.exp(-0.5)]], dtype=torch.float64))
    torch.testing.assert_close(imq_kernel(a, b, bandwidth=5.0),
                               torch.tensor([[1.0, 0.5]], dtype=torch.float64))
    torch.testing.assert_close(pairwise_sq_dists(a, b), torch.tensor([[0.0, 25.0]],
                                                                      dtype=torch.float64))


def test_sq_dists_nonnegative_and_zero_on_diagonal():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(200, 5, generator=g) * 100 + 1e3     # large norms: cancellation-prone
    d = pairwise_sq_dists(x, x)
    assert (d >= 0).all()
    ref = (x.double()[:, None] - x.double()[None]).pow(2).sum(-1)
    assert torch.allclose(d.double(), ref, atol=ref.max().item() * 1e-5)


def test_wrappers_and_scalar_bandwidth_and_1d_input():
    x, y = _small_pair(2)
    assert mmd2_unbiased(x, y).item() == mmd2(x, y, unbiased=True).item()
    assert mmd2_biased(x, y).item() == mmd2(x, y, unbiased=False).item()
    assert mmd2(x, y, bandwidths=0.5).item() == mmd2(x, y, bandwidths=[0.5]).item()
    x1, y1 = x[:, 0], y[:, 0]
    assert mmd2(x1, y1).item() == mmd2(x1[:, None], y1[:, None]).item()
    assert mmd2(x, y, kernel="IMQ").item() == mmd2(x, y, kernel="imq").item()


@pytest.mark.parametrize("unbiased", [True, False])
@pytest.mark.parametrize("kind", KERNELS)
def test_symmetry(kind, unbiased):
    x, y = _small_pair(4, n=9, m=6)
    a = mmd2(x, y, kernel=kind, unbiased=unbiased)
    b = mmd2(y, x, kernel=kind, unbiased=unbiased)
    assert a.item() == pytest.approx(b.item(), rel=1e-12, abs=1e-14)


# ---------------------------------------------------------------------- statistics
N_STAT = 500
# Calibration (not asserted here): over 200 seeds with N=500, D=2, default multiscale IMQ,
# the unbiased MMD² of two N(0, I) samples had mean -2e-4, std 1.4e-3, max |value| 5.6e-3;
# N(0,I) vs N(0.5,I) gave 0.046 ± 0.009 (min 0.022) and N(0,I) vs N(0,4I) 0.094 ± 0.011
# (min 0.068). So |null| < 0.01 is ~7 null standard deviations, and requiring the shifted
# cases to exceed 2 * 0.01 still leaves them ~3 and ~7 of their own std above the bound.
NULL_TOL = 0.01


def _normal_pair(seed, shift=0.0, scale=1.0, n=N_STAT, d=2):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randn(n, d, generator=g, dtype=torch.float64) * scale + shift
    return x, y


@pytest.mark.parametrize("kind", KERNELS)
def test_biased_is_nonnegative(kind):
    for seed in range(3):
        x, y = _normal_pair(seed, n=60)
        assert mmd2(x, y, kernel=kind, unbiased=False).item() >= 0
        assert mmd2(x, y + 0.3, kernel=kind, bandwidths=1.0, unbiased=False).item() >= 0
    x, _ = _normal_pair(0, n=60)
    assert mmd2(x, x, kernel=kind, unbiased=False).item() == pytest.approx(0.0, abs=1e-12)


def test_unbiased_detects_shift_and_scale_but_not_same_distribution():
    null = mmd2(*_normal_pair(10)).item()
    mean_shift = mmd2(*_normal_pair(11, shift=0.5)).item()
    var_change = mmd2(*_normal_pair(12, scale=2.0)).item()
    assert abs(null) < NULL_TOL, null
    assert mean_shift > 2 * NULL_TOL, mean_shift
    assert var_change > 2 * NULL_TOL, var_change
    assert mean_shift > 5 * abs(null) and var_change > 5 * abs(null)


def test_unbiased_has_smaller_bias_than_biased_on_same_distribution():
    x, y = _normal_pair(20, n=100)
    u, v = mmd2(x, y).item(), mmd2(x, y, unbiased=False).item()
    assert v > u                  # the V-statistic adds positive diagonal terms
    assert abs(u) < v


# ----------------------------------------------------------------- autograd, dtype, device
@pytest.mark.parametrize("kind", KERNELS)
@pytest.mark.parametrize("unbiased", [True, False])
def test_gradient_flows(kind, unbiased):
    x, y = _normal_pair(5, shift=0.5, n=50)
    x.requires_grad_(True)
    loss = mmd2(x, y, kernel=kind, bandwidths=(0.2, 0.9), unbiased=unbiased)
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_gradient_matches_finite_differences():
    x, y = _small_pair(6, n=4, m=3, d=2)
    x.requires_grad_(True)
    y.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: mmd2(a, b, bandwidths=(0.5, 1.5)), (x, y))
    assert torch.autograd.gradcheck(
        lambda a, b: mmd2(a, b, kernel="gaussian", unbiased=False, bandwidths=1.0), (x, y))


def test_gradient_descent_reduces_mmd():
    x, y = _normal_pair(7, shift=1.0, n=100)
    x.requires_grad_(True)
    opt = torch.optim.SGD([x], lr=50.0)
    first = None
    for _ in range(20):
        opt.zero_grad()
        loss = mmd2(x, y, bandwidths=(0.5, 1.0, 2.0))
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
    assert mmd2(x, y, bandwidths=(0.5, 1.0, 2.0)).item() < 0.5 * first


def test_float32_stays_float32():
    x, y = _normal_pair(8, shift=0.5, n=50)
    out = mmd2(x.float(), y.float())
    assert out.dtype == torch.float32 and out.shape == ()
    assert out.item() == pytest.approx(mmd2(x, y).item(), rel=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_matches_cpu():
    x, y = _normal_pair(9, shift=0.5, n=300)
    xc, yc = x.cuda().requires_grad_(True), y.cuda()
    out = mmd2(xc, yc)
    assert out.device.type == "cuda" and out.dtype == torch.float64
    assert out.item() == pytest.approx(mmd2(x, y).item(), rel=1e-9)
    out.backward()
    assert xc.grad.device.type == "cuda" and torch.isfinite(xc.grad).all()
    assert mmd2(xc.float(), yc.float()).device.type == "cuda"


# ------------------------------------------------------------------------------ errors
def test_error_feature_mismatch():
    with pytest.raises(ValueError, match=r"^mmd2: y must be a tensor with the 3 features of x, "
                                         r"got a tensor of shape \(4, 2\) \(float32\)$"):
        mmd2(torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match=r"^imq_kernel: y must be a tensor with the 3 features of x"):
        imq_kernel(torch.randn(4, 3), torch.randn(4, 2))


def test_error_too_few_samples_for_unbiased():
    with pytest.raises(ValueError, match=r"^mmd2: x must be a tensor with at least 2 samples \(rows\) for the unbiased "
                                         r"estimator .*got a tensor of shape \(1, 2\)"):
        mmd2(torch.randn(1, 2), torch.randn(5, 2))
    with pytest.raises(ValueError, match=r"^mmd2: y must be a tensor with at least 2 samples.*unbiased=False"):
        mmd2(torch.randn(5, 2), torch.randn(1, 2))
    # the biased estimator is defined for one sample each, but not for none
    assert torch.isfinite(mmd2(torch.randn(1, 2), torch.randn(1, 2), unbiased=False))
    with pytest.raises(ValueError, match=r"^mmd2: y must be a tensor with at least 1 sample \(row\), got a "
                                         r"tensor of shape \(0, 2\)"):
        mmd2(torch.randn(3, 2), torch.randn(0, 2), unbiased=False)
    with pytest.raises(TypeError, match=r"^mmd2: unbiased must be True or False, got 1$"):
        mmd2(torch.randn(3, 2), torch.randn(3, 2), unbiased=1)


@pytest.mark.parametrize("shape", [(), (2, 3, 4)])
def test_error_not_2d(shape):
    with pytest.raises(ValueError, match=r"^mmd2: x must be a tensor of shape \(N, D\) or \(N,\) "
                                         r"\(flatten the feature dimensions first, e.g. x.flatten\(1\)\), "
                                         r"got a tensor of shape"):
        mmd2(torch.randn(shape), torch.randn(5, 2))
    with pytest.raises(ValueError, match=r"^mmd2: y must be a tensor of shape \(N, D\)"):
        mmd2(torch.randn(5, 2), torch.randn(shape))


def test_error_non_tensor_and_integer_input():
    with pytest.raises(TypeError, match=r"^mmd2: x must be a torch.Tensor, got .* \(list\)$"):
        mmd2([[0.0, 1.0]], torch.randn(3, 2))
    with pytest.raises(TypeError, match=r"^mmd2: y must be a floating-point tensor.*\(int64\)$"):
        mmd2(torch.randn(3, 2), torch.ones(3, 2, dtype=torch.long))


@pytest.mark.parametrize("bad", [0.0, -0.5, float("nan"), float("inf")])
def test_error_nonpositive_bandwidth(bad):
    x, y = torch.randn(4, 2), torch.randn(4, 2)
    with pytest.raises(ValueError, match=r"^gaussian_kernel: bandwidth must be a finite number > 0, got"):
        gaussian_kernel(x, y, bandwidth=bad)
    with pytest.raises(ValueError, match=r"^imq_kernel: bandwidth must be a finite number > 0"):
        imq_kernel(x, y, bandwidth=bad)
    with pytest.raises(ValueError, match=r"^mmd2: bandwidths\[1\] must be a finite number > 0"):
        mmd2(x, y, bandwidths=(0.2, bad))
    with pytest.raises(ValueError, match=r"^multiscale_kernel: bandwidths must be a finite number > 0"):
        multiscale_kernel(x, y, bandwidths=bad)


def test_error_empty_or_wrong_type_bandwidths():
    x, y = torch.randn(4, 2), torch.randn(4, 2)
    with pytest.raises(ValueError, match=r"^mmd2: bandwidths must be a positive number or a "
                                         r"non-empty sequence of them, e.g. \(0.05, 0.2, 0.9\), got \(\)"):
        mmd2(x, y, bandwidths=())
    with pytest.raises(TypeError, match=r"^mmd2: bandwidths\[0\] must be a finite number > 0, got 'wide'"):
        mmd2(x, y, bandwidths=("wide",))
    with pytest.raises(TypeError, match=r"^mmd2: bandwidths must be a positive number or a sequence"):
        mmd2(x, y, bandwidths="wide")
    assert torch.isfinite(mmd2(x, y, bandwidths=torch.tensor([0.2, 0.9])))
    assert torch.isfinite(mmd2(x, y, bandwidths=torch.tensor(0.5)))


def test_error_unknown_kernel_lists_valid_ones():
    x, y = torch.randn(4, 2), torch.randn(4, 2)
    with pytest.raises(ValueError, match=r"^mmd2: kernel must be one of 'gaussian', 'imq', got 'rbf'$"):
        mmd2(x, y, kernel="rbf")
    with pytest.raises(ValueError, match=r"^multiscale_kernel: kind must be one of 'gaussian', 'imq', got 'laplace'"):
        multiscale_kernel(x, y, kind="laplace")
    with pytest.raises(TypeError, match=r"^mmd2: kernel must be one of 'gaussian', 'imq', got None$"):
        mmd2(x, y, kernel=None)
    assert torch.isfinite(mmd2(x, y, kernel="IMQ"))


def test_error_dtype_mismatch():
    with pytest.raises(TypeError, match=r"^mmd2: y must be a tensor of the dtype of x, float32 "
                                        r"\(e.g. y.to\(x.dtype\)\), got a tensor of shape \(4, 2\) \(float64\)$"):
        mmd2(torch.randn(4, 2), torch.randn(4, 2, dtype=torch.float64))


def test_error_device_mismatch():
    x = torch.randn(4, 2)
    y = torch.randn(4, 2, device="meta")    # a second device that needs no GPU
    with pytest.raises(ValueError, match=r"^mmd2: y must be a tensor on the device of x, cpu, not meta"):
        mmd2(x, y)
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"^mmd2: y must be a tensor on the device of x, cpu, not cuda"):
            mmd2(x, x.cuda())


# ----------------------------------------------------------------------------- doctests
def test_doctests():
    result = doctest.testmod(invlab.mmd)
    assert result.attempted > 0
    assert result.failed == 0
