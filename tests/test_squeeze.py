import pytest
import torch

import invlab
from invlab import Psi, psi, psi_inverse


def psi_by_loops(x, b):
    """The definition, written out: y[n, c·b² + i·b + j, h, w] = x[n, c, h·b + i, w·b + j]."""
    B, C, H, W = x.shape
    y = torch.empty(B, C * b * b, H // b, W // b, dtype=x.dtype)
    for c in range(C):
        for i in range(b):
            for j in range(b):
                y[:, c * b * b + i * b + j] = x[:, c, i::b, j::b]
    return y


@pytest.mark.parametrize("b", [1, 2, 4, 7])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("batch", [1, 5])
def test_psi_round_trip_is_exact(b, channels, batch):
    x = torch.randn(batch, channels, 28, 56)
    y = psi(x, b)
    assert y.shape == (batch, channels * b * b, 28 // b, 56 // b)
    assert torch.equal(psi_inverse(y, b), x)
    assert torch.equal(y, psi_by_loops(x, b))


def test_psi_float64_and_module():
    x = torch.randn(2, 2, 8, 8, dtype=torch.float64)
    m = Psi(2)
    y, log_det = m.forward_with_log_det(x)
    assert torch.equal(m.inverse(y), x)
    assert torch.equal(log_det, torch.zeros(2, dtype=torch.float64))
    assert invlab.is_invertible(m, x).rel_error == 0.0


def test_psi_mnist_shape_matches_the_lab():
    assert psi(torch.zeros(64, 1, 28, 28), 4).shape == (64, 16, 7, 7)


def test_psi_moves_pixels_not_values():
    x = torch.randn(3, 1, 8, 8)
    y = psi(x, 4)
    assert torch.equal(torch.sort(y.flatten()).values, torch.sort(x.flatten()).values)
    assert not torch.equal(y.flatten(), x.flatten())  # the order does change


def test_psi_not_divisible_names_sizes():
    with pytest.raises(ValueError, match=r"^psi: x must be a tensor \(B, C, H, W\) with height and width divisible by block_size = 4, got a tensor of shape \(1, 1, 28, 30\)"):
        psi(torch.zeros(1, 1, 28, 30), 4)


@pytest.mark.parametrize("shape", [(28, 28), (1, 28, 28), (1, 1, 1, 28, 28)])
def test_psi_non_4d_is_a_clear_error(shape):
    with pytest.raises(ValueError, match=r"^psi: x must be a tensor with 4 axes, got a tensor of shape"):
        psi(torch.zeros(shape), 4)


def test_psi_inverse_channel_count_error():
    with pytest.raises(ValueError, match=r"^psi_inverse: y must be a tensor \(B, C, H, W\) with C divisible by block_size² = 16, got a tensor of shape \(1, 8, 7, 7\)"):
        psi_inverse(torch.zeros(1, 8, 7, 7), 4)


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-2, ValueError), (2.0, TypeError),
                                        ("4", TypeError), (True, TypeError)])
def test_bad_block_size(bad, error):
    with pytest.raises(error, match=r"^psi: block_size must be an int ≥ 1, got "):
        psi(torch.zeros(1, 1, 4, 4), bad)
    with pytest.raises(error, match=r"^Psi: block_size must be an int ≥ 1, got "):
        Psi(bad)


def test_psi_rejects_non_tensor():
    with pytest.raises(TypeError, match=r"^psi: x must be a torch.Tensor, got \[\[1.0\]\] \(list\)$"):
        psi([[1.0]], 1)
    with pytest.raises(TypeError, match=r"^psi_inverse: y must be a torch.Tensor"):
        psi_inverse(None, 1)
