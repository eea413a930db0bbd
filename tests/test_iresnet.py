"""invlab.iresnet: Lip(g) < c kept, the fixed-point inverse (its log-det estimators: test_logdet.py)."""

import pytest
import torch
from torch import nn

import invlab
from invlab import logdet
from invlab.iresnet import (ConvergenceError, IResBlock, SpectralNorm, empirical_lipschitz,
                            fixed_point_inverse, lipschitz_bound, lipschitz_convnet,
                            lipschitz_mlp, no_power_iteration, operator_norm)

C = 0.9


def _train(g, x, steps=30, lr=0.05, seed=0):
    """Push the weights hard (Adam, large lr) so the norms would grow without the constraint."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(g.parameters(), lr=lr)
    target = 3 * torch.randn_like(x)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((g(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
    g(x)  # the forward after the last step refreshes the estimate, as in training
    return g.eval()


def _layers(g):
    return [m for m in g.modules() if isinstance(m, SpectralNorm)]


# ---------------------------------------------------------------- spectral normalisation
def test_linear_layers_stay_below_c_after_training():
    torch.manual_seed(0)
    g = lipschitz_mlp(4, hidden=32, depth=3, c=C)
    g = _train(g, torch.randn(64, 4))
    norms = [operator_norm(m) for m in _layers(g)]
    assert len(norms) == 3
    assert max(norms) <= C * (1 + 1e-3), norms
    assert min(norms) > 0.5 * C  # the constraint is active, not a vanishing net
    raw = [operator_norm(m.layer) for m in _layers(g)]
    assert max(raw) > C, "training should have pushed some raw weight above c"


@pytest.mark.parametrize("lr, bound", [(1e-3, 1.06), (0.05, 1.2)])
def test_in_training_mode_the_bound_lags_a_little_and_eval_restores_it(lr, bound):
    """The documented training-mode figure (SpectralNorm's docstring): the weight the forward
    uses may exceed c by a few per cent while σ̂ lags; eval() brings it back under c."""
    torch.manual_seed(0)
    g = lipschitz_mlp(4, hidden=32, depth=3, c=C)
    x = torch.randn(64, 4)
    opt = torch.optim.Adam(g.parameters(), lr=lr)
    target = 3 * torch.randn_like(x)
    worst = 0.0
    for _ in range(60):
        opt.zero_grad()
        ((g(x) - target) ** 2).mean().backward()
        opt.step()
        g(x)
        with torch.no_grad():
            worst = max(worst, *(float(torch.linalg.matrix_norm(m.weight(), ord=2)) / C for m in _layers(g)))
    assert 1.0 < worst <= bound, worst        # it does lag (this is not a vacuous bound) ...
    g.eval()
    assert max(operator_norm(m) for m in _layers(g)) <= C * (1 + 1e-3)   # ... and eval() fixes it


def test_convolutions_stay_below_c_after_training_true_operator_norm():
    torch.manual_seed(1)
    g = lipschitz_convnet(4, hidden=8, kernel_size=3, c=C)
    x = torch.randn(8, 4, 7, 7)
    g = _train(g, x, steps=20)
    for m in _layers(g):
        # exact: SVD of the convolution's full matrix on 4×7×7 (or 8×7×7) inputs
        assert operator_norm(m) <= C * (1 + 1e-3)


def test_lipschitz_of_g_measured_on_random_pairs_below_c():
    torch.manual_seed(2)
    x = torch.randn(128, 3)
    g = _train(lipschitz_mlp(3, hidden=32, depth=2, c=C), x)
    lip = empirical_lipschitz(g, 3 * x, n_pairs=2000)
    assert 0 < lip <= C
    assert lipschitz_bound(g) <= C ** 2 * (1 + 2e-3)
    xc = torch.randn(16, 2, 6, 6)
    gc = _train(lipschitz_convnet(2, hidden=6, c=C), xc, steps=10)
    assert 0 < empirical_lipschitz(gc, xc, n_pairs=500) <= C


def test_torch_spectral_norm_misses_the_convolution_operator_norm_and_ours_does_not():
    torch.manual_seed(3)
    conv = nn.Conv2d(8, 8, 3, padding=1)
    ref = torch.nn.utils.spectral_norm(nn.Conv2d(8, 8, 3, padding=1), n_power_iterations=50)
    with torch.no_grad():
        ref.weight_orig.copy_(conv.weight)
    ref(torch.randn(1, 8, 7, 7))
    reshaped = nn.Conv2d(8, 8, 3, padding=1)
    with torch.no_grad():
        reshaped.weight.copy_(ref.weight)
    assert float(torch.linalg.matrix_norm(reshaped.weight.detach().reshape(8, -1), ord=2)) == pytest.approx(1, abs=1e-3)
    assert operator_norm(reshaped, (8, 7, 7)) > 1.2          # the gap the lab measures
    ours = SpectralNorm(conv, c=1.0)
    ours(torch.randn(1, 8, 7, 7))
    assert operator_norm(ours) == pytest.approx(1.0, abs=1e-3)


def test_power_iteration_state_is_kept_and_frozen_in_eval_and_inverse():
    torch.manual_seed(4)
    sn = SpectralNorm(nn.Linear(5, 5), c=0.5, iterations=1)
    sn(torch.randn(2, 5))
    with torch.no_grad():
        sn.layer.weight.add_(torch.randn(5, 5))
    sn.eval()                             # eval() refines σ̂ to convergence, then freezes it
    assert operator_norm(sn) == pytest.approx(0.5, rel=1e-4)
    v1 = sn.v.clone()
    sn(torch.randn(2, 5))
    assert torch.equal(sn.v, v1)          # eval: frozen
    sn.train()
    v0 = v1
    with torch.no_grad():
        sn.layer.weight.add_(torch.randn(5, 5))
    with no_power_iteration(sn):
        sn(torch.randn(2, 5))
    assert torch.equal(sn.v, v0)          # frozen inside the context
    sn(torch.randn(2, 5))
    assert not torch.equal(sn.v, v0)      # training: refined


def test_spectral_norm_bad_input():
    with pytest.raises(TypeError, match="SpectralNorm: layer must be an nn.Linear or nn.Conv2d"):
        SpectralNorm(nn.ReLU())
    with pytest.raises(ValueError, match="SpectralNorm: layer must be a Conv2d with stride 1"):
        SpectralNorm(nn.Conv2d(2, 2, 3, stride=2))
    with pytest.raises(ValueError, match="SpectralNorm: c must be a finite number > 0, got 0"):
        SpectralNorm(nn.Linear(2, 2), c=0)
    sn = SpectralNorm(nn.Conv2d(2, 2, 3, padding=1))
    sn(torch.randn(1, 2, 5, 5))
    with pytest.raises(ValueError, match=r"inputs of shape \(B, 2, 5, 5\)"):
        sn(torch.randn(1, 2, 6, 6))



def _rule(W, c, v, iterations=1):
    """Lab 5's spectral_rescale, written as a student would."""
    for _ in range(iterations):
        v = W.T @ (W @ v)
        v = v / torch.linalg.vector_norm(v)
    sigma = float(torch.linalg.vector_norm(W @ v))
    return W * min(1.0, c / sigma), v, sigma


def test_rescale_hook_runs_the_given_rule_and_keeps_its_state():
    """SpectralNorm(rescale=f): f makes the power iteration (from the kept v, shape (in,)) and
    the weight the layer uses; its v is kept; the bound holds after training and eval."""
    calls = []

    def spy(W, c, v, iterations):
        calls.append((tuple(v.shape), iterations))
        return _rule(W, c, v, iterations)

    torch.manual_seed(0)
    g = lipschitz_mlp(4, hidden=16, depth=2, c=C, iterations=1, rescale=spy)
    x = torch.randn(32, 4)
    g(x)
    assert calls[0] == ((4,), 500) and calls[2] == ((16,), 500)   # init: 500 steps from the kept v
    layer = _layers(g)[0]
    v_before = layer.v.clone()
    g(x)                                                         # a training step: one more iteration
    W = layer.layer.weight.detach()
    step = W.T @ (W @ v_before[0])
    assert torch.allclose(layer.v[0], step / torch.linalg.vector_norm(step), atol=1e-6)
    g = _train(g, x)
    assert max(operator_norm(m) for m in _layers(g)) <= C * (1 + 1e-4)
    assert max(operator_norm(m.layer) for m in _layers(g)) > C   # the constraint was active
    assert "rescale=spy" in repr(layer)


def test_rescale_hook_uses_the_returned_weight_and_passes_gradients():
    torch.manual_seed(1)
    zero = SpectralNorm(nn.Linear(3, 2), rescale=lambda W, c, v, n: (0 * W, v, 1.0))
    x = torch.randn(5, 3)
    assert torch.allclose(zero(x), zero.layer.bias.expand(5, 2))  # W_tilde = 0: only the bias is left
    sn = SpectralNorm(nn.Linear(3, 2), c=0.1, rescale=_rule)
    sn(x).sum().backward()
    assert sn.layer.weight.grad is not None and float(sn.layer.weight.grad.abs().sum()) > 0


def test_rescale_hook_bad_input():
    with pytest.raises(TypeError, match="SpectralNorm: rescale must be None or a function"):
        SpectralNorm(nn.Linear(2, 2), rescale=3)
    with pytest.raises(ValueError, match="SpectralNorm: rescale must be None for an nn.Conv2d"):
        SpectralNorm(nn.Conv2d(2, 2, 3, padding=1), rescale=_rule)
    sn = SpectralNorm(nn.Linear(2, 2), rescale=lambda W, c, v, n: W)
    with pytest.raises(ValueError, match=r"SpectralNorm: rescale must be a function that returns \(W_tilde, v, sigma\)"):
        sn(torch.randn(1, 2))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_iresblock_inverts_both_ways_within_its_tolerance(dtype):
    torch.manual_seed(7)
    g = lipschitz_mlp(3, hidden=32, c=0.9).to(dtype)
    invlab.randomize_(g, std=1.0, seed=7)
    block = IResBlock(g, inverse_rtol=1e-6 if dtype == torch.float64 else 1e-5).to(dtype)
    x = 2 * torch.randn(50, 3, dtype=dtype)
    block(x)
    report = invlab.is_invertible(block, x)
    assert report, report
    assert report.rtol == block.inverse_rtol
    assert block.inverse_kind == "iterative"
    assert isinstance(block.last_iterations, int) and 2 <= block.last_iterations < 200
    with torch.no_grad():
        y = block(x)
        x_rec, ld_inv = block.inverse_with_log_det(y)
        _, ld = block.forward_with_log_det(x)
    assert invlab.relative_error(x, x_rec) <= block.inverse_rtol


def test_conv_iresblock_inverts_within_tolerance():
    torch.manual_seed(8)
    g = lipschitz_convnet(4, hidden=8, c=0.9)
    invlab.randomize_(g, std=0.5, seed=8)
    block = IResBlock(g)
    x = torch.randn(3, 4, 7, 7)
    block(x)
    assert invlab.is_invertible(block, x)


def test_chain_of_blocks_inverts():
    torch.manual_seed(9)
    flow = invlab.SequenceINN(*[IResBlock(lipschitz_mlp(2, 16, c=0.9), log_det="exact")
                                for _ in range(3)]).double()
    x = torch.randn(20, 2, dtype=torch.float64)
    flow(x)
    assert flow.inverse_kind == "iterative"
    assert invlab.is_invertible(flow, x)
    _, ld = flow.forward_with_log_det(x)
    assert torch.allclose(ld, invlab.exact_log_det(flow.eval(), x), atol=1e-10)


def test_fixed_point_converges_like_the_contraction():
    A = torch.diag(torch.tensor([-0.5, 0.1], dtype=torch.float64))
    y = torch.ones(1, 2, dtype=torch.float64)
    x, k = fixed_point_inverse(lambda v: v @ A.T, y, rtol=1e-10)
    assert torch.allclose(x, y @ torch.linalg.inv(torch.eye(2, dtype=torch.float64) + A).T, atol=1e-10)
    assert 30 <= k <= 45     # 0.5^k ≈ 1e-10 → k ≈ 33


def test_non_convergence_raises_never_silent():
    y = torch.ones(4, 2)
    with pytest.raises(ConvergenceError, match=r"did not converge in 50 iterations.*Lip\(g\) < 1"):
        fixed_point_inverse(lambda v: -1.5 * v, y, max_iterations=50)
    block = IResBlock(lipschitz_mlp(2, 8, c=0.99), max_iterations=2)
    invlab.randomize_(block, std=2.0)
    x = torch.randn(8, 2)
    block(x)
    with pytest.raises(ConvergenceError, match="IResBlock.inverse: the fixed-point iteration"):
        block.inverse(block(x))
    assert issubclass(ConvergenceError, RuntimeError)


def test_iresblock_bad_input():
    with pytest.raises(TypeError, match="IResBlock: g must be"):
        IResBlock(lambda x: x)
    with pytest.raises(ValueError, match="IResBlock: log_det must be one of 'exact', 'series', 'roulette'"):
        IResBlock(nn.Linear(2, 2), log_det="hutchinson")
    with pytest.raises(ValueError, match="IResBlock: inverse_rtol must be a finite number > 0"):
        IResBlock(nn.Linear(2, 2), inverse_rtol=0.0)
    with pytest.raises(TypeError, match="IResBlock: x must be a"):
        IResBlock(nn.Linear(2, 2))([1.0, 2.0])
    with pytest.raises(ValueError, match="fixed_point_inverse: rtol must be a finite number > 0"):
        fixed_point_inverse(lambda v: v, torch.ones(1, 2), rtol=-1.0)


def test_exact_log_det_of_a_conv_block_under_no_grad():
    torch.manual_seed(10)
    g = lipschitz_convnet(2, hidden=4, c=0.8).double()
    invlab.randomize_(g, std=0.5, seed=10)
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64)
    g(x)
    g.eval()
    with torch.no_grad():
        ld = logdet.residual_log_det(g, x)
    assert torch.allclose(ld, invlab.exact_log_det(lambda v: v + g(v), x), atol=1e-10)
