"""invlab.flows: change of variables, sampling, dequantisation and bits/dim; lab-4 data."""
import math

import pytest
import torch
from torch import nn

from invlab import data, exact_log_det, is_invertible, randomize_
from invlab.coupling import ActNorm, AffineCoupling, InvertibleLinear, Permutation, SequenceINN, mlp
from invlab.flows import (Flow, Logit, StandardNormal, bits_per_dim, dequantize, fit, realnvp)


def random_flow_2d(seed=0, std=0.2):
    """A non-trivial 2-D flow in float64: random couplings, a shifted/scaled ActNorm, a rotation."""
    torch.manual_seed(seed)
    sub = lambda c_in, c_out: mlp(c_in, c_out, hidden=16, depth=2)  # noqa: E731
    norm = ActNorm(2)
    with torch.no_grad():
        norm.b.copy_(torch.tensor([0.4, -0.3]))
        norm.log_s.copy_(torch.tensor([0.3, -0.2]))
    c1, c2 = AffineCoupling(2, sub), AffineCoupling(2, sub)
    randomize_(c1, std=std, seed=seed)
    randomize_(c2, std=std, seed=seed + 100)
    t = SequenceINN(norm, c1, Permutation(2, seed=1), InvertibleLinear(2, seed=2), c2)
    return Flow(t, shape=(2,)).double().eval()


def grid(lim=8.0, n=401):
    u = torch.linspace(-lim, lim, n, dtype=torch.float64)
    xx, yy = torch.meshgrid(u, u, indexing="xy")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], 1), (u[1] - u[0]).item() ** 2


@pytest.mark.parametrize("seed", [0, 3])
def test_density_integrates_to_one_on_a_grid(seed):
    flow = random_flow_2d(seed)
    pts, cell = grid()
    with torch.no_grad():
        lp = torch.cat([flow.log_prob(c) for c in pts.split(40_000)])
        mass = float(lp.exp().sum() * cell)
        x = flow.sample(20_000, generator=torch.Generator().manual_seed(1))
    assert bool((x.abs() < 8).all(dim=1).double().mean() > 0.999), "the grid misses mass"
    assert abs(mass - 1) < 0.01, f"∫ exp(log_prob) = {mass:.4f}"
    # the flow is far from the base: its density differs from N(0, I) on the grid
    base = StandardNormal((2,)).double()
    assert float((lp - base.log_prob(pts)).abs().max()) > 1.0


def test_log_prob_is_change_of_variables_with_exact_log_det():
    flow = random_flow_2d(1)
    x = torch.randn(16, 2, dtype=torch.float64)
    with torch.no_grad():
        z = flow.latent(x)
        lp = flow.log_prob(x)
    ref = flow.base.log_prob(z) + exact_log_det(flow.transform, x)
    assert torch.allclose(lp, ref, rtol=1e-10, atol=1e-10)
    assert torch.allclose(flow(x), lp)
    assert torch.allclose(flow.nll(x), -ref.mean())


def _hist(x, edges):
    h = torch.histogramdd(x, bins=[edges, edges])[0]
    return h / len(x)


def test_samples_agree_with_log_prob():
    """The histogram of flow.sample(n) matches the mass exp(log_prob) puts in each bin."""
    flow = random_flow_2d(0)
    g = torch.Generator().manual_seed(0)
    edges = torch.linspace(-6, 6, 25, dtype=torch.float64)
    fine, cell = grid(6.0, 481)  # 20 × 20 points per histogram bin
    with torch.no_grad():
        mass = (flow.log_prob(fine).exp() * cell)
        x = flow.sample(40_000, generator=g)
        z = flow.base.sample(40_000, generator=g)
        wrong = flow.transform(z)              # pushed the wrong way (forward, not inverse)
    idx = ((fine[:, 0] - (-6)) / 0.5).long().clamp(max=23) * 24 + ((fine[:, 1] + 6) / 0.5).long().clamp(max=23)
    expected = torch.zeros(24 * 24, dtype=torch.float64).index_add_(0, idx, mass).reshape(24, 24)
    tv = 0.5 * float((_hist(x, edges) - expected).abs().sum())
    tv_wrong = 0.5 * float((_hist(wrong, edges) - expected).abs().sum())
    assert tv < 0.03, f"total variation between samples and density: {tv:.3f}"
    assert tv_wrong > 0.1, "the check must be able to fail (forward-direction samples)"
    # importance check: E_{x ~ flow}[q(x) / p(x)] = 1 for a normalised q
    q = StandardNormal((2,)).double()
    with torch.no_grad():
        w = (q.log_prob(x) - flow.log_prob(x)).exp()
    assert abs(float(w.mean()) - 1) < 5 * float(w.std()) / math.sqrt(len(w)) + 0.02


def test_sample_shapes_generator_and_base():
    flow = Flow(realnvp(4, blocks=2, hidden=8), shape=(4,))
    a = flow.sample(5, generator=torch.Generator().manual_seed(3))
    b = flow.sample(5, generator=torch.Generator().manual_seed(3))
    assert a.shape == (5, 4) and torch.equal(a, b)
    lazy = Flow(realnvp(3, blocks=1, hidden=4))
    with pytest.raises(ValueError, match="Flow.sample: .*shape"):
        lazy.sample(2)
    lazy.log_prob(torch.randn(7, 3))
    assert lazy.sample(2).shape == (2, 3)
    base = StandardNormal((1, 8, 8))
    assert base.sample(3).shape == (3, 1, 8, 8)
    assert torch.allclose(base.log_prob(torch.zeros(2, 1, 8, 8)), torch.full((2,), -32 * math.log(2 * math.pi)))


def test_logit_contract_and_log_det():
    block = Logit(0.05).double()
    y = torch.rand(6, 5, dtype=torch.float64) * 0.98 + 0.01
    assert is_invertible(block, y)
    z, ld = block.forward_with_log_det(y)
    assert torch.allclose(ld, exact_log_det(block, y), rtol=1e-10, atol=1e-10)
    y_rec, ild = block.inverse_with_log_det(z)
    assert torch.allclose(ild, -ld, rtol=1e-10, atol=1e-10)
    img = torch.rand(3, 1, 4, 4, dtype=torch.float64)
    assert torch.allclose(block.forward_with_log_det(img)[1], exact_log_det(block, img), atol=1e-9)


class StandardLogistic(nn.Module):
    """log p(z) = log σ(z) + log σ(−z) per entry: pushed through Logit(0)⁻¹ it is U[0, 1]."""

    def log_prob(self, z):
        return (nn.functional.logsigmoid(z) + nn.functional.logsigmoid(-z)).flatten(1).sum(1)

    def sample(self, n, generator=None):
        u = torch.rand(n, 64, generator=generator, dtype=torch.float64)
        return torch.log(u) - torch.log1p(-u)


def test_bits_per_dim_of_uniform_data_under_a_uniform_model_is_log2_levels():
    levels = 17
    g = torch.Generator().manual_seed(0)
    k = torch.randint(levels, (500, 64), generator=g).double()
    y = dequantize(k, levels, generator=g)
    uniform = Flow(Logit(0.0), base=StandardLogistic())   # density exactly 1 on (0, 1)^64
    assert torch.allclose(uniform.log_prob(y), torch.zeros(500, dtype=torch.float64), atol=1e-8)
    bpd = uniform.bits_per_dim(y, bin_width=1 / levels)
    assert abs(float(bpd) - math.log2(levels)) < 1e-6
    assert abs(float(bits_per_dim(0.0, 64, 1 / 256)) - 8) < 1e-12
    # without the offset (bin width 1) it would be 0 bits: the offset is what counts here
    assert abs(float(bits_per_dim(0.0, 64))) < 1e-12


def test_bits_per_dim_of_a_gaussian():
    """N(0, I) data under N(0, I): h = ½ log(2πe) nats per dim; bin width 1."""
    flow = Flow(SequenceINN(Permutation(3, seed=0)), shape=(3,))
    x = torch.randn(200_000, 3, generator=torch.Generator().manual_seed(0))
    bpd = float(flow.bits_per_dim(x))
    assert abs(bpd - 0.5 * math.log2(2 * math.pi * math.e)) < 0.01
    # per-sample NLLs are averaged, a float works too
    nll = -flow.log_prob(x)
    assert abs(float(bits_per_dim(nll, 3)) - bpd) < 1e-5
    assert abs(float(bits_per_dim(float(nll.mean()), 3)) - bpd) < 1e-5


def test_dequantize_stays_in_its_bin():
    k = torch.arange(17.).repeat(50, 1)
    y = dequantize(k, 17, generator=torch.Generator().manual_seed(0))
    assert bool(((y >= k / 17) & (y < (k + 1) / 17)).all())
    assert y.std() > 0 and not torch.equal(y, dequantize(k, 17))   # random offsets
    frac = (y * 17 - k)
    assert abs(float(frac.mean()) - 0.5) < 0.02 and abs(float(frac.var()) - 1 / 12) < 0.01


def test_fit_lowers_the_nll_and_restores_the_best_step():
    torch.manual_seed(0)
    x, _ = data.eight_gaussians(2000, seed=1)
    xv, _ = data.eight_gaussians(1000, seed=2)
    flow = Flow(realnvp(2, blocks=3, hidden=32), shape=(2,))
    hist = fit(flow, x, xv, steps=150, batch_size=512, lr=5e-3, eval_every=25, progress=False)
    assert hist["val"][-1] < hist["val"][0] - 0.5
    with torch.no_grad():
        assert abs(float(flow.nll(xv)) - hist["best_val"]) < 1e-5
    assert hist["best_step"] in hist["step"] and hist["seconds"] > 0


def test_fit_trains_with_a_log_prob_of_ones_own():
    """lab 4 trains with the student's log_prob: the same numbers as Flow.log_prob when it is right,
    other numbers when it is wrong, and a clear message when it returns the wrong shape."""
    x, _ = data.eight_gaussians(1000, seed=1)
    xv, _ = data.eight_gaussians(500, seed=2)

    def log_prob(transform, x):                      # a student's, as in lab 4
        z, log_det = transform.forward_with_log_det(x)
        z = z.flatten(1)
        return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det

    def train(**kw):
        torch.manual_seed(0)
        flow = Flow(realnvp(2, blocks=2, hidden=16), shape=(2,))
        if kw.pop("mine", False):
            kw["log_prob"] = lambda v: log_prob(flow.transform, v)
        if kw.pop("wrong", False):                   # log-det forgotten
            kw["log_prob"] = lambda v: log_prob(flow.transform, v) - flow.transform.forward_with_log_det(v)[1]
        hist = fit(flow, x, xv, steps=40, batch_size=256, lr=5e-3, eval_every=10, progress=False, **kw)
        return flow, hist

    ref, h_ref = train()
    mine, h_mine = train(mine=True)
    assert h_mine["val"] == h_ref["val"] and h_mine["train"] == h_ref["train"]
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), mine.state_dict().values()))
    _, h_wrong = train(wrong=True)
    assert h_wrong["val"] != h_ref["val"]
    flow = Flow(realnvp(2, blocks=1, hidden=8), shape=(2,))
    with pytest.raises(ValueError, match=r"^fit: log_prob\(x\) must be a tensor of shape \(1000,\) for x of shape "
                                         r"\(1000, 2\): one log-density per row"):
        fit(flow, x, steps=1, log_prob=lambda v: flow.log_prob(v).sum(), progress=False)
    with pytest.raises(TypeError, match=r"^fit: log_prob must be a function log_prob\(x\) -> \(B,\)"):
        fit(flow, x, steps=1, log_prob="mine", progress=False)


def test_messages_name_the_callers_tensors():
    logit = Logit()
    x = torch.zeros(3, 2, dtype=torch.long)
    with pytest.raises(TypeError, match=r"^Logit: x must be a floating-point tensor"):     # the caller's x, not y
        logit.forward_with_log_det(x)
    with pytest.raises(TypeError, match=r"^Logit: y must be a floating-point tensor"):     # no name: the signature's
        logit.forward_with_log_det(torch.zeros(3, 2, dtype=torch.long))
    z = torch.zeros(3, 3)
    with pytest.raises(ValueError, match=r"^StandardNormal.log_prob: z must be a tensor of shape \(B, 2\)"):
        StandardNormal((2,)).log_prob(z)
    latents = torch.zeros(3, 3)
    with pytest.raises(ValueError, match=r"^StandardNormal.log_prob: latents must be a tensor of shape"):
        StandardNormal((2,)).log_prob(latents)
    grey = torch.tensor([[0.5]])
    with pytest.raises(ValueError, match=r"^dequantize: grey must be integers in 0..16"):
        dequantize(grey, 17)


@pytest.mark.parametrize("call, err, match", [
    (lambda: StandardNormal(0), ValueError, r"StandardNormal: every entry of shape must be an int ≥ 1, got 0"),
    (lambda: StandardNormal("2"), TypeError, r"StandardNormal: shape must be a non-empty tuple"),
    (lambda: StandardNormal((2,)).log_prob(torch.zeros(3, 3)), ValueError, r"StandardNormal.log_prob: z must be a tensor of shape \(B, 2\)"),
    (lambda: StandardNormal((2,)).sample(0), ValueError, r"StandardNormal.sample: n must be an int ≥ 1, got 0"),
    (lambda: Flow(nn.Linear(2, 2)), TypeError, r"Flow: transform must be an invlab.InvertibleModule"),
    (lambda: Flow(Logit(), base="normal"), TypeError, r"Flow: base must be a distribution"),
    (lambda: Flow(Logit(), shape=(2,)).log_prob(torch.zeros(3, 2, dtype=torch.long)), TypeError, r"Flow.log_prob: x must be a floating-point tensor"),
    (lambda: Flow(Logit(), shape=(2,)).sample(1.5), TypeError, r"Flow.sample: n must be an int"),
    (lambda: Logit(0.5), ValueError, r"Logit: alpha must be a finite number ≥ 0 and < 0.5, got 0.5"),
    (lambda: dequantize(torch.tensor([[0.5]]), 17), ValueError, r"dequantize: x must be integers in 0..16"),
    (lambda: dequantize(torch.tensor([[17.]]), 17), ValueError, r"dequantize: x must be integers in 0..16"),
    (lambda: dequantize(torch.zeros(2, 2), 1), ValueError, r"dequantize: levels must be an int ≥ 2, got 1"),
    (lambda: dequantize(torch.zeros(2, 2), 17.0), TypeError, r"dequantize: levels must be an int ≥ 2, got 17.0 \(float\)"),
    (lambda: dequantize([[1]], 17), TypeError, r"dequantize: x must be a torch.Tensor"),
    (lambda: bits_per_dim(1.0, 0), ValueError, r"bits_per_dim: dim must be an int ≥ 1, got 0"),
    (lambda: bits_per_dim(1.0, 64, 0.0), ValueError, r"bits_per_dim: bin_width must be a finite number > 0"),
    (lambda: bits_per_dim("1", 64), TypeError, r"bits_per_dim: nll must be a torch.Tensor"),
    (lambda: realnvp(1), ValueError, r"realnvp: dim must be an int ≥ 2, got 1"),
    (lambda: fit(Flow(Logit()), torch.rand(4, 2), steps=0), ValueError, r"fit: steps must be an int ≥ 1, got 0"),
    (lambda: fit(nn.Linear(2, 2), torch.rand(4, 2)), TypeError, r"fit: flow must be an invlab.flows.Flow"),
    (lambda: data.checkerboard(0), ValueError, r"checkerboard: n must be an int ≥ 1, got 0"),
    (lambda: data.eight_gaussians(10.0), TypeError, r"eight_gaussians: n must be an int ≥ 1, got 10.0 \(float\)"),
    (lambda: data.load_digits("validation"), ValueError, r"load_digits: split must be one of 'train', 'val', 'test', got 'validation'"),
    (lambda: data.moons_log_density(torch.zeros(3, 3)), ValueError, r"moons_log_density: x must be a tensor of shape \(B, 2\)"),
])
def test_bad_inputs_raise_with_a_clear_message(call, err, match):
    with pytest.raises(err, match=match):
        call()


# ------------------------------------------------------------------ lab-4 data and their entropies

def test_checkerboard_is_uniform_on_the_dark_squares():
    x = data.checkerboard(40_000, seed=0)
    assert x.shape == (40_000, 2) and x.dtype == torch.float32
    assert torch.equal(x, data.checkerboard(40_000, seed=0))
    assert not torch.equal(x, data.checkerboard(40_000, seed=1))
    i, j = torch.floor((x[:, 0] + 4) / 2), torch.floor((x[:, 1] + 4) / 2)
    assert bool(((i + j) % 2 == 0).all()) and bool((x.abs() <= 4).all())
    counts = torch.bincount((i * 4 + j).long(), minlength=16).double()
    dark = counts[counts > 0]
    assert len(dark) == 8 and float(dark.std() / dark.mean()) < 0.05
    assert abs(data.CHECKERBOARD_ENTROPY - 3.4657) < 1e-4


def test_eight_gaussians_entropy_by_monte_carlo():
    x, k = data.eight_gaussians(40_000, seed=7)
    c = data.gaussian_ring_centres(8, 2 * math.sqrt(2)).double()
    s2 = 1 / 8
    d2 = ((x.double()[:, None] - c[None]) ** 2).sum(-1)
    lp = torch.logsumexp(-d2 / (2 * s2) - math.log(2 * math.pi * s2), 1) - math.log(8)
    se = float(lp.std()) / math.sqrt(len(lp))
    assert abs(float(-lp.mean()) - data.EIGHT_GAUSSIANS_ENTROPY) < 4 * se + 0.002
    assert torch.bincount(k, minlength=8).min() > 4500


def test_moons_entropy_by_monte_carlo():
    x, _ = data.two_moons(6000, noise=0.1, seed=11)
    lp = data.moons_log_density(x, noise=0.1, nodes=1000)
    se = float(lp.std()) / math.sqrt(len(lp))
    assert abs(float(-lp.mean()) - data.MOONS_ENTROPY) < 4 * se + 0.003
    # the density integrates to one on a grid
    u = torch.linspace(-2, 3, 251, dtype=torch.float64)
    xx, yy = torch.meshgrid(u, u - 0.25, indexing="xy")
    pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    mass = float(data.moons_log_density(pts, nodes=1000).exp().sum() * (u[1] - u[0]) ** 2)
    assert abs(mass - 1) < 0.005


def test_load_digits_splits():
    parts = {s: data.load_digits(s) for s in ("train", "val", "test")}
    sizes = {s: len(x) for s, (x, _) in parts.items()}
    assert sizes == {"train": 1257, "val": 270, "test": 270}
    x, y = parts["train"]
    assert x.shape == (1257, 1, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
    allx = torch.cat([p[0] for p in parts.values()]).reshape(1797, -1)
    assert bool((allx == allx.round()).all()) and allx.min() == 0 and allx.max() == 16
    assert len(torch.unique(allx, dim=0)) > 1700            # the three parts are disjoint
    assert torch.equal(data.load_digits("test")[0], parts["test"][0])
    assert set(torch.unique(parts["test"][1]).tolist()) == set(range(10))
