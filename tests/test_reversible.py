"""Reversible training: gradients equal autograd's, memory constant in depth, refusals."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import invlab
from invlab import (ActNorm, AdditiveCoupling, AffineCoupling, InvertibleLinear, IRevNet,
                    InvertibleModule, Permutation, RevBlock, SequenceINN, conv_relu, mlp)
from invlab.base import exact_log_det, is_invertible, randomize_, relative_error
from invlab.reversible import (ReversibleSequence, SavedTensors, block_backward, reversible,
                               saved_bytes)

f64 = torch.float64


def grads(model, x, log_det=False, seed=1):
    """∂L/∂x and ∂L/∂θ (concatenated) for L = <w, y> (+ Σ log_det·v)."""
    g = torch.Generator().manual_seed(seed)
    x = x.detach().clone().requires_grad_(True)
    model.zero_grad(set_to_none=True)
    y, ld = model.forward_with_log_det(x)
    w = torch.randn(y.shape, generator=g, dtype=f64).to(y.dtype)
    loss = (w * y).sum()
    if log_det:
        loss = loss + (torch.randn(ld.shape, generator=g, dtype=f64).to(ld.dtype) * ld).sum()
    loss.backward()
    ps = [p.grad if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]
    return torch.cat([x.grad.flatten()] + [p.flatten() for p in ps])


def revblocks(depth, channels=4, seed=0):
    torch.manual_seed(seed)
    return SequenceINN(*[RevBlock(conv_relu(channels // 2, 3)) for _ in range(depth)])


def coupling_flow(dim=6, repeats=3, seed=0):
    torch.manual_seed(seed)
    blocks = []
    for k in range(repeats):
        blocks += [ActNorm(dim), AffineCoupling(dim, mlp), Permutation(dim, seed=k),
                   AdditiveCoupling(dim, mlp), InvertibleLinear(dim, seed=k)]
    flow = SequenceINN(*blocks)
    randomize_(flow, std=0.1, seed=seed)   # non-trivial, and well conditioned
    return flow


# ------------------------------------------------------------------ gradients = autograd

@pytest.mark.parametrize("fast", [True, False])
def test_revblock_stack_gradients_equal_autograd_float64(fast):
    seq = revblocks(8).double()
    x = torch.randn(3, 4, 6, 6, dtype=f64)
    ref = grads(seq, x)
    got = grads(ReversibleSequence(seq, fast=fast), x)
    assert relative_error(ref, got) <= 1e-10
    assert ref.abs().sum() > 0


@pytest.mark.parametrize("fast", [True, False])
def test_parameter_gradients_when_the_input_needs_none(fast):
    seq = SequenceINN(Permutation(4, seed=0), *revblocks(3)).double()
    x = torch.randn(2, 4, 5, 5, dtype=f64)                 # no requires_grad
    params = list(seq.parameters())
    ref = torch.autograd.grad(seq(x).sin().sum(), params)
    got = torch.autograd.grad(ReversibleSequence(seq, fast=fast)(x).sin().sum(), params)
    for a, b in zip(ref, got):
        assert relative_error(a, b) <= 1e-10


def test_irevnet_body_gradients_equal_autograd_float64():
    torch.manual_seed(0)
    net = IRevNet(depth=5, make_F=lambda c: conv_relu(c, 3)).double()
    x = torch.rand(4, 1, 28, 28, dtype=f64)
    labels = torch.arange(4)

    def g(net):
        net.zero_grad(set_to_none=True)
        xr = x.clone().requires_grad_(True)
        F.cross_entropy(net(xr), labels).backward()
        return torch.cat([xr.grad.flatten()] + [p.grad.flatten() for p in net.parameters()])

    ref = g(net)
    net.body = reversible(net.body)
    assert isinstance(net.body, ReversibleSequence) and len(net.body) == 6
    assert isinstance(net.psi, invlab.Psi)
    assert relative_error(ref, g(net)) <= 1e-10


def test_coupling_sequence_gradients_with_log_det_equal_autograd_float64():
    flow = coupling_flow().double()
    x = torch.randn(16, 6, dtype=f64)
    ref = grads(flow, x, log_det=True)
    got = grads(ReversibleSequence(flow), x, log_det=True)
    assert relative_error(ref, got) <= 1e-10


def test_actnorm_initialises_once_in_the_forward_and_matches_autograd():
    torch.manual_seed(0)
    seq = SequenceINN(ActNorm(4), randomize_(AffineCoupling(4, mlp), 0.1), ActNorm(4)).double()
    plain, rev = copy.deepcopy(seq), ReversibleSequence(copy.deepcopy(seq))
    assert not bool(rev[0].initialized)
    x = 3 + 2 * torch.randn(32, 4, dtype=f64)
    assert relative_error(grads(plain, x, log_det=True), grads(rev, x, log_det=True)) <= 1e-10
    assert bool(rev[0].initialized) and torch.equal(rev[0].b, plain[0].b)


def test_parameter_gradients_by_autograd_grad_and_shared_parameters():
    torch.manual_seed(0)
    F_shared = conv_relu(2, 3)
    seq = SequenceINN(RevBlock(F_shared), RevBlock(conv_relu(2, 3)), RevBlock(F_shared)).double()
    x = torch.randn(2, 4, 5, 5, dtype=f64, requires_grad=True)
    params = list(seq.parameters())
    ref = torch.autograd.grad(seq(x).sin().sum(), [x] + params)
    got = torch.autograd.grad(ReversibleSequence(seq)(x).sin().sum(), [x] + params)
    for a, b in zip(ref, got):
        assert relative_error(a, b) <= 1e-10


def test_gradient_of_the_log_det_alone():
    flow = coupling_flow(repeats=2).double()
    x = torch.randn(8, 6, dtype=f64, requires_grad=True)
    ref = torch.autograd.grad(flow.forward_with_log_det(x)[1].sum(), x)[0]
    got = torch.autograd.grad(ReversibleSequence(flow).forward_with_log_det(x)[1].sum(), x)[0]
    assert relative_error(ref, got) <= 1e-10 and ref.abs().sum() > 0


def test_block_backward_matches_autograd_for_one_block():
    torch.manual_seed(0)
    block = randomize_(AffineCoupling(4, mlp), 0.2).double()
    x = torch.randn(5, 4, dtype=f64, requires_grad=True)
    y, ld = block.forward_with_log_det(x)
    gy, gld = torch.randn_like(y), torch.randn_like(ld)
    ref = torch.autograd.grad([y, ld], [x] + list(block.parameters()), [gy, gld])
    with torch.no_grad():                      # as inside a backward pass
        x_rec, gx, gp = block_backward(block, y.detach(), gy, gld)
    assert relative_error(x, x_rec) <= 1e-12 and not x_rec.requires_grad
    for a, b in zip(ref, [gx] + gp):
        assert relative_error(a, b) <= 1e-10


@pytest.mark.parametrize("depth", [4, 16, 32])
def test_float32_gradients_within_a_tolerance_growing_with_depth(depth):
    """Measured on these stacks: 1.3e-7, 1.9e-7, 6.6e-7 at depths 4, 16, 32 (plain float32
    autograd: 1.3–1.5e-7); allowed 1e-7·depth, so a drift that grows faster shows."""
    seq = revblocks(depth)
    x = torch.randn(3, 4, 6, 6)
    ref = grads(copy.deepcopy(seq).double(), x.double())
    got = grads(ReversibleSequence(seq), x).double()
    assert relative_error(ref, got) <= 1e-7 * depth


# ------------------------------------------------------------------ contract, switches

def test_reversible_sequence_keeps_the_invertible_contract():
    flow = ReversibleSequence(coupling_flow(dim=4, repeats=2).double())
    x = torch.randn(6, 4, dtype=f64)
    assert isinstance(flow, InvertibleModule) and flow.inverse_kind == "exact"
    assert is_invertible(flow, x)
    y, ld = flow.forward_with_log_det(x.clone().requires_grad_(True))
    x_rec, inv_ld = flow.inverse_with_log_det(y.detach())
    assert relative_error(x, x_rec) <= 1e-10
    assert torch.allclose(inv_ld, -ld.detach(), rtol=1e-10, atol=0)
    assert torch.allclose(ld.detach(), exact_log_det(flow, x), rtol=1e-10, atol=1e-12)


def test_same_outputs_and_state_dict_as_the_sequence_it_wraps():
    seq = revblocks(3)
    rev = reversible(seq)
    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    assert torch.equal(rev(x), seq(x))
    assert rev.state_dict().keys() == seq.state_dict().keys()
    assert rev[1] is seq[1] and reversible([*seq]).enabled


def test_disabled_and_no_grad_run_plain_autograd():
    seq = revblocks(4)
    x = torch.randn(2, 4, 5, 5)
    off = ReversibleSequence(seq, enabled=False)
    assert saved_bytes(lambda x: off(x).sum(), x, exclude=seq) == \
        saved_bytes(lambda x: seq(x).sum(), x, exclude=seq)
    with torch.no_grad():
        assert not ReversibleSequence(seq)(x).requires_grad


def test_double_backward_is_refused():
    seq = ReversibleSequence(revblocks(2).double())
    x = torch.randn(2, 4, 5, 5, dtype=f64, requires_grad=True)
    (g,) = torch.autograd.grad(seq(x).square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="twice|double|once"):
        g.sum().backward()


# ------------------------------------------------------------------ refusals

class _Iterative(invlab.VolumePreserving):
    inverse_kind = "iterative"
    inverse_rtol = 1e-6

    def forward(self, x):
        return x

    def inverse(self, y):
        return y


class _Counter(invlab.VolumePreserving):
    """Changes a buffer every forward: the recomputation is not the forward."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        self.calls += 1
        return x * torch.exp(self.w * 0) + 0 * self.calls

    def inverse(self, y):
        return y


class _Noisy(invlab.VolumePreserving):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(2))

    def forward(self, x):
        x1, x2 = x.chunk(2, 1)
        return torch.cat([x1, x2 + F.dropout(x1 * self.w, 0.5, training=True)], 1)

    def inverse(self, y):
        return y


def test_refuses_what_is_not_an_invertible_module():
    with pytest.raises(TypeError, match=r"ReversibleSequence: block 1 must be an "
                                        r"invlab.InvertibleModule.*got a Linear module"):
        ReversibleSequence(RevBlock(conv_relu(1, 3)), nn.Linear(2, 2))
    with pytest.raises(TypeError, match="enabled must be True or False, got 1"):
        ReversibleSequence(RevBlock(conv_relu(1, 3)), enabled=1)


def test_refuses_iterative_inverses_even_nested():
    with pytest.raises(ValueError, match=r"block 0 \(_Iterative\) must have an exact "
                                         r"inverse.*got inverse_kind 'iterative'"):
        ReversibleSequence(_Iterative())
    nested = SequenceINN(RevBlock(conv_relu(1, 3)), _Iterative())
    with pytest.raises(ValueError, match=r"block 1 \(SequenceINN\) must have an exact inverse"):
        ReversibleSequence(Permutation(2), nested)


def test_refuses_batch_norm_in_training_mode_and_allows_it_in_eval():
    torch.manual_seed(0)
    F_bn = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU())
    seq = ReversibleSequence(RevBlock(F_bn), RevBlock(conv_relu(2, 3))).double()
    x = torch.randn(3, 4, 5, 5, dtype=f64, requires_grad=True)
    with pytest.raises(ValueError, match=r"block 0 \(RevBlock.F.1\) holds a BatchNorm2d in "
                                         r"training mode.*\.eval\(\)"):
        seq(x)
    seq.eval()
    plain = SequenceINN(*seq.blocks)
    assert relative_error(grads(plain, x), grads(seq, x)) <= 1e-10


def test_refuses_dropout_in_training_mode():
    F_drop = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.Dropout(0.2))
    seq = ReversibleSequence(RevBlock(F_drop))
    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    with pytest.raises(ValueError, match=r"Dropout\(p=0.2\) in training mode.*random mask"):
        seq(x)
    seq.eval()
    seq(x).sum().backward()          # deterministic in eval mode: fine


def test_refuses_hidden_randomness():
    seq = ReversibleSequence(_Noisy())
    x = torch.randn(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"block 0 \(_Noisy\) drew random numbers"):
        seq(x)


def test_refuses_state_changed_by_the_recomputation():
    seq = ReversibleSequence(_Counter(), fast=False)
    x = torch.randn(3, 4, requires_grad=True)
    y = seq(x)
    with pytest.raises(RuntimeError, match=r"block 0 \(_Counter\) changed its own state"):
        y.sum().backward()


def test_refuses_parameters_changed_between_forward_and_backward():
    seq = ReversibleSequence(revblocks(2))
    y = seq(torch.randn(2, 4, 5, 5, requires_grad=True))
    with torch.no_grad():
        seq[1].F[0].weight.mul_(2)
    with pytest.raises(RuntimeError, match=r"block 1 \(RevBlock\) was modified in place"):
        y.sum().backward()


# ------------------------------------------------------------------ memory

def test_saved_tensors_counts_each_storage_once_and_excludes():
    lin = nn.Linear(10, 10)
    x = torch.randn(4, 10, requires_grad=True)
    with SavedTensors() as s:
        y = x * x                    # saves x twice: one storage
    assert s.tensors == 2 and s.storages == 1 and s.bytes == 4 * 10 * 4
    # x requires grad, so the Linear also saves its weight for ∂L/∂x: excluded or not
    assert saved_bytes(lambda x: lin(x).relu(), x, exclude=lin) == 2 * 4 * 10 * 4
    assert saved_bytes(lambda x: lin(x).relu(), x) == 2 * 4 * 10 * 4 + 10 * 10 * 4
    with pytest.raises(TypeError, match="saved_bytes: fn must be a function, got 3"):
        saved_bytes(3)
    del y


def test_saved_bytes_constant_in_depth_for_reversible_linear_for_plain():
    x = torch.randn(8, 4, 6, 6)
    plain, rev = {}, {}
    for d in (2, 8, 32):
        seq = revblocks(d)
        plain[d] = saved_bytes(lambda x: seq(x).square().mean(), x, exclude=seq)
        r = ReversibleSequence(seq)
        rev[d] = saved_bytes(lambda x: r(x).square().mean(), x, exclude=seq)
    assert rev[32] <= 1.2 * rev[2] and rev[2] > 0
    assert plain[32] - plain[8] == pytest.approx(4 * (plain[8] - plain[2]), rel=0.05)
    assert plain[32] > 10 * rev[32]


# ------------------------------------------------------------------ a backward of the caller's own (lab 7)

def _lab_block_backward(block, y, grad_y):
    """A student's generic block_backward: grads in the order of list(block.parameters())."""
    params = list(block.parameters())
    with torch.enable_grad():
        x = block.inverse(y).detach().requires_grad_(True)
        g = torch.autograd.grad(block(x), [x] + params, grad_y)
    return x.detach(), g[0], list(g[1:])


def test_block_backward_hook_gives_autograd_gradients_and_is_called_for_every_block():
    seq = revblocks(5).double()
    x = torch.randn(3, 4, 6, 6, dtype=f64)
    calls = []

    def mine(block, y, grad_y):
        calls.append(block)
        assert not torch.is_grad_enabled()          # called as during a backward pass
        return _lab_block_backward(block, y, grad_y)

    got = grads(ReversibleSequence(seq, block_backward=mine), x)
    assert relative_error(grads(seq, x), got) <= 1e-10
    assert calls == list(reversed(seq.blocks))
    rev = reversible(seq, block_backward=mine)
    assert rev.block_backward is mine and "block_backward=mine" in repr(rev)


def test_block_backward_hook_is_used_not_the_package_backward():
    seq = revblocks(3).double()
    x = torch.randn(2, 4, 5, 5, dtype=f64)

    def doubled(block, y, grad_y):                   # a wrong backward must show in the gradients
        x_, gx, gp = _lab_block_backward(block, y, grad_y)
        return x_, 2 * gx, gp

    assert relative_error(grads(seq, x), grads(ReversibleSequence(seq, block_backward=doubled), x)) > 0.1


def test_block_backward_hook_with_a_frozen_parameter():
    seq = revblocks(3).double()
    seq.blocks[1].F[0].bias.requires_grad_(False)    # frozen: the hook still returns one entry per parameter

    def mine(block, y, grad_y):
        params = list(block.parameters())
        with torch.enable_grad():
            x = block.inverse(y).detach().requires_grad_(True)
            live = [p for p in params if p.requires_grad]
            g = iter(torch.autograd.grad(block(x), [x] + live, grad_y))
            gx = next(g)
        return x.detach(), gx, [next(g) if p.requires_grad else None for p in params]

    x = torch.randn(2, 4, 5, 5, dtype=f64)
    assert relative_error(grads(seq, x), grads(ReversibleSequence(seq, block_backward=mine), x)) <= 1e-10


@pytest.mark.parametrize("bad, match", [
    (lambda b, y, g: (y, g), r"its result must be a tuple \(x, grad_x, grad_params\)"),
    (lambda b, y, g: (y[:1], g, [torch.zeros_like(p) for p in b.parameters()]),
     r"the x it returns must be a tensor of the block's input shape \(2, 4, 5, 5\), got a tensor of shape \(1, 4, 5, 5\)"),
    (lambda b, y, g: (y, g, []), r"the grad_params it returns must be a list of 2 gradients"),
    (lambda b, y, g: (y, g, [torch.zeros(1) for p in b.parameters()]),
     r"grad_params\[0\] must be None or a tensor of the shape of parameter 0, \(2, 2, 3, 3\)"),
])
def test_block_backward_hook_results_are_checked(bad, match):
    seq = ReversibleSequence(revblocks(3), block_backward=bad)
    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    with pytest.raises((TypeError, ValueError),
                       match=r"^ReversibleSequence: block_backward\(block, y, grad_y\) for block 2 \(RevBlock\): " + match):
        seq(x).sum().backward()


def test_block_backward_hook_refuses_a_loss_on_the_log_det():
    flow = coupling_flow(repeats=1).double()
    x = torch.randn(4, 6, dtype=f64, requires_grad=True)
    rev = ReversibleSequence(flow, block_backward=_lab_block_backward)
    with pytest.raises(RuntimeError, match="the loss depends on log_det"):
        rev.forward_with_log_det(x)[1].sum().backward()
    y, _ = rev.forward_with_log_det(x)               # a loss on y alone is fine, volume-preserving or not
    torch.autograd.grad((y ** 2).sum(), x)
    with pytest.raises(TypeError, match="ReversibleSequence: block_backward must be a function"):
        ReversibleSequence(flow, block_backward="mine")


def test_split_and_merge_name_the_callers_variables():
    """lab 7's reconstruct calls split_channels / merge_channels on its own y, y1, y2."""
    from invlab.revnet import merge_channels, split_channels
    y = torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"split_channels: the channel count must be even .*\(y has shape"):
        split_channels(y)
    y2, x2 = torch.zeros(1, 2, 3, 3), torch.zeros(2, 2, 3, 3)
    with pytest.raises(ValueError, match=r"got y2 \(1, 2, 3, 3\) and x2 \(2, 2, 3, 3\)"):
        merge_channels(y2, x2)
    with pytest.raises(ValueError, match=r"got x1 \(1, 2, 3, 3\) and x2 \(2, 2, 3, 3\)"):
        merge_channels(torch.zeros(1, 2, 3, 3), torch.zeros(2, 2, 3, 3))   # expressions: the signature's names


def test_the_fast_path_is_asked_for_by_the_block_not_by_its_type():
    """A block offers coupling_parts(); a subclass that changes forward without restating its
    parts takes the generic path (its gradients stay right), the originals take the fast one."""
    from invlab.reversible import _has_fast_path

    class Shifted(RevBlock):                # forward changed, parts not restated
        def forward(self, x):
            return super().forward(x) + 1.0

        def inverse(self, y):
            return super().inverse(y - 1.0)

    torch.manual_seed(0)
    assert _has_fast_path(RevBlock(conv_relu(1, 3))) and _has_fast_path(invlab.AdditiveCoupling(4, invlab.mlp))
    assert not _has_fast_path(Shifted(conv_relu(1, 3))) and not _has_fast_path(invlab.AffineCoupling(4, invlab.mlp))
    block = Shifted(conv_relu(1, 3)).double()
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    want = torch.autograd.grad(block(x).pow(2).sum(), x)[0]
    got = torch.autograd.grad(ReversibleSequence(block)(x).pow(2).sum(), x)[0]
    assert torch.allclose(got, want, atol=1e-10)
