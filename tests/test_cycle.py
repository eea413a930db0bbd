"""invlab.cycle: the reference fit loss, cycle penalty Ω(μ, λ) and cycle report of lab 6."""
import math

import pytest
import torch
from torch import nn

from invlab import cycle


def pair():
    f = lambda v: 2 * v                    # g(f(x)) = x + 0.1, f(g(y)) = y + 0.2
    g = lambda v: v / 2 + 0.1
    return f, g


def test_omega_weighs_each_cycle_with_its_own_coefficient():
    f, g = pair()
    x, y = torch.randn(4, 1), torch.randn(9, 1)
    assert cycle.omega(f, g, x, y, 1.0, 0.0).item() == pytest.approx(0.04)
    assert cycle.omega(f, g, x, y, 0.0, 1.0).item() == pytest.approx(0.01)
    assert cycle.omega(f, g, x, y, 2.0, 3.0).item() == pytest.approx(0.11)


def test_omega_sums_features_and_averages_samples():
    f, g = pair()
    x = torch.zeros(5, 3)
    assert cycle.omega(f, g, x, x, 0.0, 1.0).item() == pytest.approx(3 * 0.01)


def test_omega_carries_gradients_and_matches_a_hand_written_loss():
    torch.manual_seed(0)
    f, g = nn.Linear(1, 1), nn.Linear(1, 1)
    x, y = torch.randn(7, 1), torch.randn(5, 1)
    val = cycle.omega(f, g, x, y, 0.5, 2.0)
    assert val.requires_grad and val.dim() == 0
    by_hand = 0.5 * ((y - f(g(y))) ** 2).mean() + 2.0 * ((x - g(f(x))) ** 2).mean()
    assert torch.allclose(val, by_hand)


def test_fit_loss_is_zero_for_an_exact_pair_and_needs_pairs():
    x = torch.linspace(-1, 1, 5)[:, None]
    cube_root = lambda v: v.sign() * v.abs() ** (1 / 3)
    assert cycle.fit_loss(lambda v: v ** 3, cube_root, x, x ** 3).item() == pytest.approx(0.0, abs=1e-10)
    with pytest.raises(ValueError, match="fit_loss: x and y must have the same number of rows"):
        cycle.fit_loss(lambda v: v, lambda v: v, x, x[:3])


def test_cycle_report_separates_inside_and_outside():
    xt = torch.linspace(-1, 1, 11)[:, None]
    g = lambda v: v + 0.1 * (v > 1) + 0.3 * (v < -1)
    r = cycle.cycle_report(lambda v: v, g, xt, xt, margin=1.0)
    assert r["x_in"] == 0.0 and r["y_in"] == 0.0
    assert r["x_out"] == pytest.approx(math.sqrt((0.01 + 0.09) / 2), rel=1e-2)
    assert r["y_out"] == pytest.approx(r["x_out"])


def test_cycle_report_sees_errors_between_training_points():
    xt = torch.linspace(-1, 1, 11)[:, None]
    wiggle = lambda v: v + 0.05 * torch.sin(5 * torch.pi * v)     # exact at the training points
    r = cycle.cycle_report(lambda v: v, wiggle, xt, xt, margin=1.0)
    assert r["x_in"] == pytest.approx(0.05 / math.sqrt(2), rel=1e-2)


def test_cycle_errors_shapes():
    ex, ey = cycle.cycle_errors(*pair(), torch.zeros(6, 2), torch.zeros(3, 2))
    assert ex.shape == (6,) and ey.shape == (3,)
    assert torch.allclose(ey, torch.full((3,), 0.2 * math.sqrt(2)))


@pytest.mark.parametrize("call, error, text", [
    (lambda: cycle.omega(1, pair()[1], torch.zeros(2, 1), torch.zeros(2, 1), 1.0, 1.0), TypeError, "omega: f must be"),
    (lambda: cycle.omega(*pair(), [0.0], torch.zeros(2, 1), 1.0, 1.0), TypeError, "omega: x must be a torch.Tensor"),
    (lambda: cycle.omega(*pair(), torch.zeros(2), torch.zeros(2, 1), 1.0, 1.0), ValueError, "omega: x must be"),
    (lambda: cycle.omega(*pair(), torch.zeros(2, 1), torch.zeros(2, 1), -1.0, 1.0), ValueError, "omega: mu must be"),
    (lambda: cycle.omega(*pair(), torch.zeros(2, 1), torch.zeros(2, 1), 1.0, "1"), TypeError, "omega: lam must be"),
    (lambda: cycle.cycle_report(*pair(), torch.zeros(4, 2), torch.zeros(4, 1), 1.0), ValueError,
     "cycle_report: x_train must be a tensor of shape"),
    (lambda: cycle.cycle_report(*pair(), torch.zeros(4, 1), torch.zeros(4, 1), 0.0), ValueError,
     "cycle_report: margin must be"),
    (lambda: cycle.cycle_report(*pair(), torch.zeros(4, 1), torch.zeros(4, 1), 1.0, n=2.5), TypeError,
     "cycle_report: n must be an int"),
])
def test_bad_input_is_named(call, error, text):
    with pytest.raises(error, match=text):
        call()
