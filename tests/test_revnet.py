import pytest
import torch
import torch.nn.functional as F
from torch import nn

import invlab
from invlab import IRevNet, RevBlock, conv_relu, merge_channels, relative_error, split_channels
from invlab import randomize_


def test_split_merge_round_trip_and_contiguity():
    x = torch.randn(3, 16, 7, 7)
    a, b = split_channels(x)
    assert a.shape == b.shape == (3, 8, 7, 7)
    assert a.is_contiguous() and b.is_contiguous()
    assert torch.equal(a, x[:, :8]) and torch.equal(b, x[:, 8:])
    assert torch.equal(merge_channels(a, b), x)


def test_split_odd_channels_is_clear():
    with pytest.raises(ValueError, match="must be even.*got 5 channels"):
        split_channels(torch.zeros(2, 5, 3, 3))


def test_merge_mismatched_halves_is_clear():
    with pytest.raises(ValueError, match=r"x1 \(2, 3, 4, 4\) and x2 \(2, 2, 4, 4\)"):
        merge_channels(torch.zeros(2, 3, 4, 4), torch.zeros(2, 2, 4, 4))


@pytest.mark.parametrize("dtype, rtol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
def test_revblock_round_trip_nontrivial(dtype, rtol):
    block = randomize_(RevBlock(conv_relu(8, 7)), std=0.3).to(dtype)
    x = torch.randn(4, 16, 7, 7, dtype=dtype)
    y = block(x)
    assert relative_error(y, x) > 0.1          # the block really does something
    assert torch.equal(y[:, 8:], x[:, :8])     # [F(x1) + x2, x1]
    assert relative_error(x, block.inverse(y)) <= rtol
    assert torch.equal(block.forward_with_log_det(x)[1], torch.zeros(4, dtype=dtype))


def test_revblock_checks_F_shape():
    block = RevBlock(nn.Conv2d(2, 3, 1))
    with pytest.raises(ValueError, match="F must keep the shape"):
        block(torch.zeros(1, 4, 3, 3))


@pytest.mark.parametrize("dtype, rtol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
def test_irevnet_reconstructs_with_random_weights(dtype, rtol):
    net = randomize_(IRevNet(), std=0.1).to(dtype)
    x = torch.rand(6, 1, 28, 28, dtype=dtype)
    z = net.features(x)
    assert z.shape == (6, 16, 7, 7)
    assert relative_error(z, invlab.psi(x, 4)) > 0.1
    assert relative_error(x, net.inverse(z)) <= rtol
    assert net(x).shape == (6, 10)


def test_irevnet_stays_invertible_after_training():
    torch.manual_seed(0)
    net = IRevNet()
    x, y = torch.rand(32, 1, 28, 28), torch.randint(0, 10, (32,))
    before = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(10):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert relative_error(x, net.inverse(net.features(x).detach())) <= 1e-5
    net64 = net.double()
    x64 = x.double()
    assert relative_error(x64, net64.inverse(net64.features(x64))) <= 1e-10


def test_irevnet_bad_input_is_clear():
    with pytest.raises(ValueError, match=r"IRevNet: x must be a tensor of shape \(B, 1, 28, 28\), got a tensor of shape \(2, 1, 32, 32\)"):
        IRevNet()(torch.zeros(2, 1, 32, 32))


def test_irevnet_bad_config():
    with pytest.raises(ValueError, match="IRevNet: block_size must be a divisor of image_size=30, got 4"):
        IRevNet(image_size=30)
    with pytest.raises(ValueError, match="in_channels·block_size² is even"):
        IRevNet(block_size=1)


def test_plain_net_shapes():
    assert invlab.PlainNet()(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
