import pytest
import torch
from torch import nn

import invlab
from invlab.base import InvertibleModule, default_rtol


class Scale(InvertibleModule):
    def __init__(self, a, b=None):
        super().__init__()
        self.a, self.b = a, a if b is None else b

    def forward_with_log_det(self, x):
        return self.a * x, torch.full((x.shape[0],), x[0].numel() * torch.log(torch.tensor(abs(self.a))).item())

    def inverse_with_log_det(self, y):
        return y / self.b, -self.forward_with_log_det(y)[1]


def test_base_derives_forward_and_inverse():
    m = Scale(2.0)
    x = torch.randn(3, 4)
    assert torch.equal(m(x), 2 * x)
    assert torch.equal(m.inverse(m(x)), x)


def test_is_invertible_true_and_false():
    x = torch.randn(5, 3)
    good = invlab.is_invertible(Scale(2.0), x)
    assert good and good.rel_error == 0.0 and "is invertible" in str(good)
    bad = invlab.is_invertible(Scale(2.0, 2.2), x)
    assert not bad
    assert bad.rel_error == pytest.approx(1 - 2.0 / 2.2, rel=1e-6)
    assert "NOT invertible" in bad.message and "rtol 1e-05" in bad.message


def test_is_invertible_on_irevnet_body_float64_tolerance():
    net = invlab.randomize_(invlab.IRevNet(depth=2), std=0.1).double()
    report = invlab.is_invertible(net.body, torch.rand(2, 1, 28, 28, dtype=torch.float64))
    assert report and report.rtol == 1e-10
    assert 0 < report.forward_error <= 1e-10 and 0 < report.inverse_error <= 1e-10


def test_is_invertible_refuses_a_classifier():
    with pytest.raises(TypeError, match="is_invertible: module must be an invlab.InvertibleModule"):
        invlab.is_invertible(invlab.IRevNet(depth=1), torch.rand(1, 1, 28, 28))


def test_is_invertible_catches_a_wrong_inverse_of_other_points():
    """f⁻¹ that only undoes f on f's own outputs (it remembers x) fails the second trip."""
    class Cheat(invlab.VolumePreserving):
        def forward(self, x):
            self.seen = x
            return 2 * x
        def inverse(self, y):
            return self.seen
    report = invlab.is_invertible(Cheat(), torch.randn(4, 3))
    assert report.forward_error == 0 and report.inverse_error > 0.1 and not report


def test_is_invertible_restores_training_mode():
    net = invlab.IRevNet(depth=1)
    net.train()
    invlab.is_invertible(net.body, torch.rand(1, 1, 28, 28))
    assert net.body.training


def test_is_invertible_errors():
    with pytest.raises(TypeError, match="module must be an invlab.InvertibleModule"):
        invlab.is_invertible(nn.Linear(2, 2), torch.zeros(1, 2))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        invlab.is_invertible(Scale(1.0), [1.0])


def test_unimplemented_module_says_what_is_missing():
    class Half(InvertibleModule):
        pass
    with pytest.raises(NotImplementedError, match="Half must implement forward_with_log_det"):
        Half()(torch.zeros(1, 2))


def test_relative_error_shape_mismatch():
    with pytest.raises(ValueError, match=r"relative_error: x has shape \(2,\) but x_rec has shape \(3,\)"):
        invlab.relative_error(torch.zeros(2), torch.zeros(3))


def test_default_rtol():
    assert default_rtol(torch.float64) == 1e-10 and default_rtol(torch.float32) == 1e-5
