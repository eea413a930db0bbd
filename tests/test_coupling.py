"""Tests of invlab.coupling: round trips, log-dets against autograd, ActNorm init, clamp, errors."""
import doctest
import math
import os
import sys

import pytest
import torch
from torch import nn

try:
    import invlab  # noqa: F401
except ImportError:  # no conftest / PYTHONPATH: fall back to the repository root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import invlab.coupling
from invlab.base import InvertibleModule, VolumePreserving, default_rtol, relative_error
from invlab.coupling import (ActNorm, AdditiveCoupling, AffineCoupling, InvertibleConv1x1,
                             InvertibleLinear, Permutation, Reverse, SequenceINN, mlp)

D = 5                # odd on purpose: halves of 2 and 3
IMG = (4, 3, 3)      # (C, H, W)


def conv_subnet(c_in, c_out):
    """An image subnetwork (B, c_in, H, W) -> (B, c_out, H, W)."""
    return nn.Sequential(nn.Conv2d(c_in, 8, 3, padding=1), nn.Tanh(),
                         nn.Conv2d(8, c_out, 3, padding=1))


def small_mlp(c_in, c_out):
    return mlp(c_in, c_out, hidden=16)


def randomise(module, std=0.3, seed=0):
    """Perturb every parameter with N(0, std²) noise, so zero-initialised layers are live."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(std * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return module


CASES = {
    "additive": (lambda: AdditiveCoupling(D, small_mlp), (D,)),
    "additive_split3": (lambda: AdditiveCoupling(D, small_mlp, split=3), (D,)),
    "affine_odd": (lambda: AffineCoupling(D, small_mlp), (D,)),
    "affine_even": (lambda: AffineCoupling(6, small_mlp, clamp=1.5), (6,)),
    "affine_noclamp": (lambda: AffineCoupling(D, small_mlp, clamp=None), (D,)),
    "permutation": (lambda: Permutation(D, seed=3), (D,)),
    "reverse": (lambda: Reverse(D), (D,)),
    "actnorm": (lambda: ActNorm(D), (D,)),
    "linear": (lambda: InvertibleLinear(D, seed=1), (D,)),
    "sequence": (lambda: SequenceINN(ActNorm(D), AffineCoupling(D, small_mlp),
                                     InvertibleLinear(D, seed=2), Permutation(D, seed=0),
                                     AdditiveCoupling(D, small_mlp), Reverse(D)), (D,)),
    "additive_img": (lambda: AdditiveCoupling(IMG[0], conv_subnet), IMG),
    "affine_img": (lambda: AffineCoupling(IMG[0], conv_subnet), IMG),
    "permutation_img": (lambda: Permutation(IMG[0], seed=0), IMG),
    "actnorm_img": (lambda: ActNorm(IMG[0]), IMG),
    "conv1x1": (lambda: InvertibleConv1x1(IMG[0], seed=0), IMG),
    "sequence_img": (lambda: SequenceINN(ActNorm(IMG[0]), AffineCoupling(IMG[0], conv_subnet),
                                         InvertibleConv1x1(IMG[0], seed=1),
                                         AdditiveCoupling(IMG[0], conv_subnet)), IMG),
}
VOLUME_PRESERVING = {"additive", "additive_split3", "permutation", "reverse", "additive_img",
                     "permutation_img"}


def make(case, dtype, batch=4, seed=0):
    """A randomised block in eval mode and an input batch for it."""
    factory, shape = CASES[case]
    torch.manual_seed(seed)
    block = randomise(factory().to(dtype), seed=seed).eval()
    gen = torch.Generator().manual_seed(seed + 100)
    x = (1.5 * torch.randn((batch,) + shape, generator=gen) + 0.5).to(dtype)
    return block, x


# --------------------------------------------------------------------------- round trip

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_round_trip(case, dtype):
    block, x = make(case, dtype, batch=16)
    with torch.no_grad():
        y, log_det = block.forward_with_log_det(x)
        x_rec = block.inverse(y)
        x_back = block.forward(block.inverse(x))   # the other way round, too
    assert y.shape == x.shape and y.dtype == dtype
    assert log_det.shape == (x.shape[0],)
    # non-trivial: the block really changes x (and its volume, unless volume preserving)
    assert relative_error(x, y) > 1e-2
    if case not in VOLUME_PRESERVING:
        assert log_det.abs().max() > 1e-3
    else:
        assert torch.equal(log_det, torch.zeros_like(log_det))
    assert relative_error(x, x_rec) <= default_rtol(dtype)
    assert relative_error(x, x_back) <= default_rtol(dtype) * 10


# --------------------------------------------------------------------------- log-det

def _per_sample_log_abs_det(fn, v):
    """log|det ∂fn/∂v| for one sample v (any shape) via autograd's full Jacobian."""
    jac = torch.func.jacrev(lambda u: fn(u.unsqueeze(0)).squeeze(0))(v)
    n = v.numel()
    sign, logabs = torch.linalg.slogdet(jac.reshape(n, n))
    assert sign != 0
    return float(logabs.detach())


@pytest.mark.parametrize("case", list(CASES))
def test_log_det_matches_autograd_jacobian(case):
    block, x = make(case, torch.float64, batch=3)
    with torch.no_grad():
        y, log_det = block.forward_with_log_det(x)
        y_inv_ld = block.inverse_with_log_det(y)[1]
    for i in range(x.shape[0]):
        expected = _per_sample_log_abs_det(block.forward, x[i])
        assert abs(float(log_det[i]) - expected) <= 1e-8, (i, log_det[i], expected)
        expected_inv = _per_sample_log_abs_det(block.inverse, y[i])
        assert abs(float(y_inv_ld[i]) - expected_inv) <= 1e-8


@pytest.mark.parametrize("case", list(CASES))
def test_inverse_log_det_is_minus_forward(case):
    block, x = make(case, torch.float64, batch=8)
    with torch.no_grad():
        y, log_det = block.forward_with_log_det(x)
        x_rec, inv_log_det = block.inverse_with_log_det(y)
    assert inv_log_det.shape == log_det.shape == (8,)
    assert torch.allclose(inv_log_det, -log_det, rtol=0, atol=1e-10)


def test_sequence_log_det_is_sum_of_blocks():
    block, x = make("sequence", torch.float64)
    h, total = x, torch.zeros(x.shape[0], dtype=x.dtype)
    for b in block:
        h, ld = b.forward_with_log_det(h)
        total = total + ld
    y, log_det = block.forward_with_log_det(x)
    assert torch.equal(h, y)
    assert torch.allclose(log_det, total, rtol=0, atol=1e-12)


def test_gradients_reach_every_parameter():
    block, x = make("sequence", torch.float32)
    block.train()
    y, log_det = block.forward_with_log_det(x)
    (0.5 * y.square().sum() - log_det.sum()).backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


# --------------------------------------------------------------------------- couplings

@pytest.mark.parametrize("dim", [2, 3, 7])
def test_coupling_halves_for_small_and_odd_dims(dim):
    torch.manual_seed(0)
    aff = randomise(AffineCoupling(dim, small_mlp)).double()
    add = randomise(AdditiveCoupling(dim, small_mlp)).double()
    assert (aff.d1, aff.d2) == (dim // 2, dim - dim // 2)
    assert add.split == dim // 2
    x = torch.randn(10, dim, dtype=torch.float64)
    for block in (aff, add):
        with torch.no_grad():
            x_rec = block.inverse(block(x))
        assert relative_error(x, x_rec) <= 1e-10


def test_affine_coupling_equations():
    """y1 = x1 ⊙ exp(s2(x2)) + t2(x2), y2 = x2 ⊙ exp(s1(y1)) + t1(y1), soft clamp on s."""
    torch.manual_seed(0)
    block = randomise(AffineCoupling(5, small_mlp, clamp=2.0), std=1.0).double()
    x = torch.randn(6, 5, dtype=torch.float64)
    y, log_det = block.forward_with_log_det(x)
    x1, x2 = x[:, :2], x[:, 2:]

    def s_t(net, h):
        s_raw, t = net(h).chunk(2, dim=1)
        return 2.0 * torch.tanh(s_raw / 2.0), t

    s2, t2 = s_t(block.subnet2, x2)
    y1 = x1 * torch.exp(s2) + t2
    s1, t1 = s_t(block.subnet1, y1)
    y2 = x2 * torch.exp(s1) + t1
    assert torch.allclose(y, torch.cat([y1, y2], 1), rtol=0, atol=1e-12)
    assert torch.allclose(log_det, s1.sum(1) + s2.sum(1), rtol=0, atol=1e-12)


def test_additive_coupling_keeps_first_half():
    block, x = make("additive_split3", torch.float64)
    y = block(x)
    assert torch.equal(y[:, :3], x[:, :3])
    assert not torch.allclose(y[:, 3:], x[:, 3:])


def test_mlp_last_layer_is_zero_so_fresh_coupling_is_identity():
    net = mlp(3, 4)
    assert net(torch.randn(2, 3)).abs().max() == 0
    x = torch.randn(5, 6)
    y, log_det = AffineCoupling(6, mlp).forward_with_log_det(x)
    assert torch.equal(y, x) and torch.equal(log_det, torch.zeros(5))


class _Const(nn.Module):
    """A 'subnetwork' whose output is a constant, whatever the input."""

    def __init__(self, c_out, value):
        super().__init__()
        self.c_out, self.value = c_out, value

    def forward(self, h):
        return torch.full((h.shape[0], self.c_out) + tuple(h.shape[2:]), self.value,
                          dtype=h.dtype)


def test_soft_clamp_bounds_huge_log_scales():
    big = lambda c_in, c_out: _Const(c_out, 1e6)  # noqa: E731
    x = torch.randn(4, 6)
    y, log_det = AffineCoupling(6, big, clamp=2.0).forward_with_log_det(x)
    assert torch.isfinite(y).all()
    assert torch.allclose(log_det, torch.full((4,), 2.0 * 6))   # s = +clamp exactly
    x_rec = AffineCoupling(6, big, clamp=2.0).inverse(y)
    assert torch.isfinite(x_rec).all()
    # without the clamp the same subnet overflows: the clamp is what keeps this finite
    y_raw = AffineCoupling(6, big, clamp=None)(x)
    assert not torch.isfinite(y_raw).all()


def test_soft_clamp_is_tanh_not_a_hard_cut():
    half = lambda c_in, c_out: _Const(c_out, 0.5)  # noqa: E731
    log_det = AffineCoupling(6, half, clamp=2.0).forward_with_log_det(torch.randn(3, 6))[1]
    assert torch.allclose(log_det, torch.full((3,), 6 * 2.0 * math.tanh(0.25)))


class _HugeS(nn.Module):
    """Wrap a subnet and blow up its first half of outputs (the raw log-scale s) by 1e4."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, h):
        s_raw, t = self.net(h).chunk(2, dim=1)
        return torch.cat([1e4 * s_raw, t], dim=1)


def test_soft_clamp_with_huge_random_log_scales():
    torch.manual_seed(0)
    block = AffineCoupling(6, lambda c_in, c_out: _HugeS(small_mlp(c_in, c_out)), clamp=1.0)
    block = randomise(block, std=0.5).double()
    x = 3 * torch.randn(64, 6, dtype=torch.float64)
    with torch.no_grad():
        y, log_det = block.forward_with_log_det(x)
        s_raw = block.subnet2(x[:, 3:]).chunk(2, dim=1)[0]
        assert s_raw.abs().max() > 100             # exp(s_raw) would overflow float32
        assert torch.isfinite(y).all()
        assert log_det.abs().max() <= 1.0 * 6 + 1e-12
        assert log_det.abs().max() > 3.0           # the clamp is engaged (|s| near 1)
        x_rec, inv_log_det = block.inverse_with_log_det(y)
        assert torch.isfinite(x_rec).all() and torch.isfinite(inv_log_det).all()
        assert relative_error(x, x_rec) <= 1e-10


# --------------------------------------------------------------------------- ActNorm

def test_actnorm_data_dependent_init():
    torch.manual_seed(0)
    x = torch.randn(512, D) * torch.tensor([0.1, 1.0, 3.0, 10.0, 0.5]) + torch.arange(D) * 4
    norm = ActNorm(D)
    assert norm.training and not norm.initialized
    y, log_det = norm.forward_with_log_det(x)
    assert bool(norm.initialized)
    assert torch.allclose(y.mean(0), torch.zeros(D), atol=1e-5)
    assert torch.allclose(y.std(0, correction=0), torch.ones(D), atol=1e-5)
    assert torch.allclose(log_det, -torch.log(x.std(0, correction=0)).sum().expand(512), atol=1e-4)
    # later batches do not re-initialise
    b, log_s = norm.b.detach().clone(), norm.log_s.detach().clone()
    norm(5 * x + 3)
    assert torch.equal(norm.b, b) and torch.equal(norm.log_s, log_s)


def test_actnorm_constant_feature_is_safe():
    torch.manual_seed(0)
    x = torch.randn(64, D)
    x[:, 2] = 0.1            # zero variance (and 0.1 is not exact in float32)
    norm = ActNorm(D)
    y, log_det = norm.forward_with_log_det(x)
    assert torch.isfinite(y).all() and torch.isfinite(log_det).all()
    assert torch.isfinite(norm.log_s).all() and torch.isfinite(norm.b).all()
    assert norm.log_s[2] == 0                         # only centred, not blown up by 1/eps
    assert y[:, 2].abs().max() < 1e-6
    others = [0, 1, 3, 4]
    assert torch.allclose(y[:, others].std(0, correction=0), torch.ones(4), atol=1e-5)
    assert relative_error(x, norm.inverse(y).detach()) <= 1e-5


def test_actnorm_batch_of_one_is_finite():
    norm = ActNorm(3)
    x = torch.tensor([[1.0, -2.0, 3.0]])
    y, log_det = norm.forward_with_log_det(x)
    assert torch.isfinite(y).all() and torch.isfinite(log_det).all()
    assert torch.equal(norm.inverse(y), x)


def test_actnorm_eval_mode_does_not_initialise():
    norm = ActNorm(3).eval()
    x = 5 + torch.randn(10, 3)
    assert torch.equal(norm(x), x)
    assert not norm.initialized


def test_actnorm_init_survives_state_dict():
    norm = ActNorm(3)
    norm(2 + 3 * torch.randn(50, 3))
    fresh = ActNorm(3)
    fresh.load_state_dict(norm.state_dict())
    x = torch.randn(7, 3)
    assert torch.equal(fresh(x), norm(x))           # fresh is in train mode: no re-init


def test_actnorm_image_per_channel():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 5, 4) * torch.tensor([1.0, 4.0, 0.2]).view(1, 3, 1, 1) + 2
    norm = ActNorm(3)
    y, log_det = norm.forward_with_log_det(x)
    assert torch.allclose(y.mean((0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(y.std((0, 2, 3), correction=0), torch.ones(3), atol=1e-5)
    assert torch.allclose(log_det, (20 * norm.log_s.sum()).expand(8))


# --------------------------------------------------------------------------- permutations, linear

def test_permutation_is_a_permutation_and_seeded():
    x = torch.arange(7.).expand(2, 7)
    p = Permutation(7, seed=5)
    assert sorted(p(x)[0].tolist()) == list(range(7))
    assert not torch.equal(p(x), x)
    assert torch.equal(Permutation(7, seed=5).perm, p.perm)
    assert isinstance(p, VolumePreserving)
    assert torch.equal(Reverse(4)(torch.tensor([[1., 2., 3., 4.]])), torch.tensor([[4., 3., 2., 1.]]))


def test_invertible_linear_starts_orthogonal():
    w = InvertibleLinear(6, seed=0).weight.detach()
    assert torch.allclose(w @ w.T, torch.eye(6), atol=1e-5)
    x = torch.randn(3, 6)
    assert InvertibleLinear(6, seed=0).forward_with_log_det(x)[1].abs().max() < 1e-5


def test_invertible_linear_is_w_times_x():
    block, x = make("linear", torch.float64)
    assert torch.allclose(block(x), (block.weight @ x.T).T, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- SequenceINN

def test_sequence_container_protocol():
    blocks = [ActNorm(D), AffineCoupling(D, small_mlp), Permutation(D, seed=0)]
    flow = SequenceINN(*blocks)
    assert isinstance(flow, InvertibleModule) and isinstance(flow, nn.Module)
    assert len(flow) == 3
    assert list(flow) == blocks and flow[1] is blocks[1] and flow[-1] is blocks[2]
    head, tail = flow[:2], flow[2:]
    assert isinstance(head, SequenceINN) and len(head) == 2 and len(tail) == 1
    assert len(list(flow.parameters())) == 2 + len(list(blocks[1].parameters()))
    block, x = make("sequence", torch.float64)
    y, ld = block.forward_with_log_det(x)
    h, ld1 = block[:3].forward_with_log_det(x)
    y2, ld2 = block[3:].forward_with_log_det(h)
    assert torch.allclose(y, y2, atol=1e-12) and torch.allclose(ld, ld1 + ld2, atol=1e-12)


def test_empty_sequence_is_identity():
    x = torch.randn(3, 4)
    y, ld = SequenceINN().forward_with_log_det(x)
    assert torch.equal(y, x) and torch.equal(ld, torch.zeros(3))


# --------------------------------------------------------------------------- errors

ALL_BLOCKS = {
    "AdditiveCoupling": lambda d: AdditiveCoupling(d, small_mlp),
    "AffineCoupling": lambda d: AffineCoupling(d, small_mlp),
    "Permutation": lambda d: Permutation(d),
    "Reverse": lambda d: Reverse(d),
    "ActNorm": lambda d: ActNorm(d),
    "InvertibleLinear": lambda d: InvertibleLinear(d),
}


@pytest.mark.parametrize("name", list(ALL_BLOCKS))
def test_wrong_feature_count_is_a_clear_error(name):
    block = ALL_BLOCKS[name](6)
    with pytest.raises(ValueError, match=rf"^{name}: x must be a tensor of shape .*dim=6 features, got a tensor of shape \(3, 5\)"):
        block(torch.randn(3, 5))
    with pytest.raises(ValueError, match=rf"^{name}: y must be a tensor of shape .*dim=6 features, got a tensor of shape \(3, 5\)"):
        block.inverse(torch.randn(3, 5))
    with pytest.raises(ValueError, match=rf"^{name}: x must be .*dim=6 channels, got a tensor of shape \(2, 3, 4, 4\)"):
        block(torch.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=rf"^{name}: x must be a tensor of shape \(B, 6\) or \(B, 6, H, W\), got a tensor of shape \(6,\)"):
        block(torch.randn(6))


@pytest.mark.parametrize("name", list(ALL_BLOCKS))
def test_non_tensor_and_integer_input_are_clear_errors(name):
    block = ALL_BLOCKS[name](4)
    with pytest.raises(TypeError, match=rf"^{name}: x must be a torch.Tensor, got .*\(list\)$"):
        block([[0.0] * 4])
    with pytest.raises(TypeError, match=rf"^{name}: y must be a torch.Tensor, got .*\(tuple\)$"):
        block.inverse((0.0, 1.0, 2.0, 3.0))
    with pytest.raises(TypeError, match=rf"^{name}: x must be a floating-point tensor \(use .float\(\)\), got a tensor of shape \(2, 4\) \(int64\)$"):
        block(torch.zeros(2, 4, dtype=torch.long))


@pytest.mark.parametrize("make_block, message", [
    (lambda: AffineCoupling(1, mlp), r"^AffineCoupling: dim must be an int ≥ 2, got 1$"),
    (lambda: AdditiveCoupling(0, mlp), r"^AdditiveCoupling: dim must be an int ≥ 2, got 0$"),
    (lambda: Permutation(0), r"^Permutation: dim must be an int ≥ 1, got 0$"),
    (lambda: ActNorm(-3), r"^ActNorm: dim must be an int ≥ 1, got -3$"),
    (lambda: InvertibleLinear(0), r"^InvertibleLinear: dim must be an int ≥ 1, got 0$"),
    (lambda: InvertibleConv1x1(0), r"^InvertibleConv1x1: channels must be an int ≥ 1, got 0$"),
    (lambda: AdditiveCoupling(4, mlp, split=4), r"^AdditiveCoupling: split must be an int ≥ 1 and ≤ 3, got 4$"),
    (lambda: AffineCoupling(4, mlp, clamp=-1.0), r"^AffineCoupling: clamp must be a finite number > 0, got -1.0 \(float\)$"),
    (lambda: ActNorm(3, eps=0), r"^ActNorm: eps must be a finite number > 0, got 0$"),
])
def test_bad_constructor_values(make_block, message):
    with pytest.raises(ValueError, match=message):
        make_block()


@pytest.mark.parametrize("make_block, message", [
    (lambda: AffineCoupling(4.0, mlp), r"^AffineCoupling: dim must be an int ≥ 2, got 4.0 \(float\)$"),
    (lambda: Permutation(True), r"^Permutation: dim must be an int ≥ 1, got True$"),
    (lambda: AffineCoupling(4, "mlp"), r"^AffineCoupling: subnet must be a factory"),
    (lambda: AdditiveCoupling(4, lambda i, o: (lambda h: h)), r"^AdditiveCoupling: subnet\(2, 2\) must be an nn.Module \(the factory must return one\), got function <lambda>$"),
    (lambda: SequenceINN(ActNorm(3), nn.Linear(3, 3)), r"^SequenceINN: block 1 must be an invlab.InvertibleModule, got a Linear module$"),
])
def test_bad_constructor_types(make_block, message):
    with pytest.raises(TypeError, match=message):
        make_block()


def test_subnet_with_wrong_output_is_a_clear_error():
    block = AffineCoupling(6, lambda c_in, c_out: nn.Linear(c_in, c_out + 1))
    with pytest.raises(ValueError, match=r"^AffineCoupling: subnet output must be a tensor of shape \(2, 6\) .* got a tensor of shape \(2, 7\) \(float32\)$"):
        block(torch.randn(2, 6))


def test_conv1x1_and_sequence_errors():
    with pytest.raises(ValueError, match=r"^InvertibleConv1x1: x must be a tensor of shape \(B, 3, H, W\), got a tensor of shape \(2, 3\) \(float32\)$"):
        InvertibleConv1x1(3)(torch.randn(2, 3))
    with pytest.raises(TypeError, match=r"^SequenceINN: x must be a torch.Tensor, got 1.0 \(float\)"):
        SequenceINN(ActNorm(2))(1.0)
    with pytest.raises(ValueError, match=r"^ActNorm: x must be a tensor of shape \(B, 2\).*dim=2 features, got a tensor of shape \(4, 3\)"):
        SequenceINN(ActNorm(2))(torch.randn(4, 3))


def test_errors_name_the_argument_as_the_caller_named_it():
    """A student's sample calls transform.inverse(z): the message says z, not the y of inverse(y)."""
    norm = ActNorm(2)

    def sample(transform, n, dim):
        z = torch.randn(dim, n)                      # transposed: a typical slip
        return transform.inverse(z)

    with pytest.raises(ValueError, match=r"^ActNorm: z must be a tensor of shape \(B, 2\).*got a tensor of shape \(2, 5\)"):
        sample(norm, 5, 2)
    with pytest.raises(ValueError, match=r"^AffineCoupling: z must be"):    # through a SequenceINN too (its last
        sample(SequenceINN(norm, AffineCoupling(2, mlp)), 5, 2)           # block inverts first)
    latent = torch.randn(5)
    with pytest.raises(ValueError, match=r"^SequenceINN: latent must be a tensor with at least 2 axes"):
        SequenceINN(norm).inverse(latent)
    with pytest.raises(ValueError, match=r"^ActNorm: y must be"):        # an expression: the signature's name
        norm.inverse(torch.randn(2, 5))
    h = torch.randn(3, 4, 2, 2)
    with pytest.raises(ValueError, match=r"^AffineCoupling: h must be a tensor of shape \(B, 6\)"):
        AffineCoupling(6, mlp)(h)


# --------------------------------------------------------------------------- doctests

def test_doctests():
    result = doctest.testmod(invlab.coupling, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
