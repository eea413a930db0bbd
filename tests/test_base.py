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


# ---------------------------------------------------------------- SequenceINN: log-dets, tolerances, container
def _chain(seed=0):
    torch.manual_seed(seed)
    blocks = [invlab.AffineCoupling(4, invlab.mlp), invlab.Permutation(4, seed=1), invlab.AffineCoupling(4, invlab.mlp)]
    return invlab.randomize_(invlab.SequenceINN(*blocks), std=0.3, seed=seed).double()


def test_sequence_log_det_is_the_sum_of_its_blocks_and_the_autograd_one():
    net, x = _chain(), torch.randn(5, 4, dtype=torch.float64)
    y, log_det = net.forward_with_log_det(x)
    parts, h = [], x
    for block in net:
        h, ld = block.forward_with_log_det(h)
        parts.append(ld)
    assert torch.equal(h, y)
    assert torch.allclose(log_det, parts[0] + parts[1] + parts[2], rtol=0, atol=1e-12)
    assert parts[0].abs().min() > 1e-3 and parts[2].abs().min() > 1e-3  # non-trivial on both couplings
    assert torch.allclose(log_det, invlab.exact_log_det(net, x), rtol=1e-10, atol=1e-10)
    x_rec, inv_log_det = net.inverse_with_log_det(y)
    assert torch.allclose(x_rec, x, rtol=0, atol=1e-12)
    assert torch.allclose(inv_log_det, -log_det, rtol=0, atol=1e-12)


class Iterative(Scale):
    inverse_kind = "iterative"

    def __init__(self, rtol):
        super().__init__(2.0)
        self.inverse_rtol = rtol


def test_inverse_tolerances_of_blocks_and_chains():
    f32, f64 = torch.float32, torch.float64
    assert Scale(2.0).inverse_tolerance(f32) == 1e-5 and Scale(2.0).inverse_tolerance(f64) == 1e-10
    assert Iterative(1e-4).inverse_tolerance(f64) == 1e-4
    assert Iterative(1e-7).inverse_tolerance(f32) == 1e-5        # never tighter than exact
    assert Iterative(None).inverse_tolerance(f64) == 1e-10       # no declared tolerance: exact
    exact = invlab.SequenceINN(Scale(2.0), Scale(3.0))
    assert exact.inverse_kind == "exact" and exact.inverse_tolerance(f64) == 1e-10
    mixed = invlab.SequenceINN(Scale(2.0), Iterative(1e-4), Iterative(2e-4))
    assert mixed.inverse_kind == "iterative"
    assert mixed.inverse_tolerance(f64) == pytest.approx(3e-4 + 1e-10, rel=1e-12)


def test_sequence_is_a_container():
    a, b, c = Scale(2.0), Scale(3.0), Scale(5.0)
    net = invlab.SequenceINN(a, b, c)
    assert len(net) == 3 and list(net) == [a, b, c] and net[1] is b
    tail = net[1:]
    assert isinstance(tail, invlab.SequenceINN) and list(tail) == [b, c]
    assert torch.equal(tail(torch.ones(1, 2)), torch.full((1, 2), 15.0))


def test_sequence_refuses_what_it_cannot_chain():
    with pytest.raises(TypeError, match=r"SequenceINN: block 1 must be an invlab.InvertibleModule"):
        invlab.SequenceINN(Scale(2.0), nn.Linear(2, 2))
    with pytest.raises(ValueError, match="SequenceINN"):
        invlab.SequenceINN(Scale(2.0))(torch.ones(3))          # no batch dimension
    assert invlab.SequenceINN(Scale(2.0))(torch.ones(3, 2)).shape == (3, 2)


# ---------------------------------------------------------------- relative_error, is_invertible, randomize_
def test_relative_error_of_zero_and_of_a_known_pair():
    assert invlab.relative_error(torch.zeros(3), torch.zeros(3)) == 0.0
    assert invlab.relative_error(torch.zeros(2), torch.tensor([3.0, 4.0])) == 5.0   # ‖x‖ = 0: the absolute error
    assert invlab.relative_error(torch.tensor([3.0, 4.0]), torch.tensor([3.0, 3.0])) == pytest.approx(0.2)
    for bad in ([1.0], "x"):
        with pytest.raises(TypeError, match="relative_error: x must be a torch.Tensor"):
            invlab.relative_error(bad, torch.zeros(1))
        with pytest.raises(TypeError, match="relative_error: x_rec must be a torch.Tensor"):
            invlab.relative_error(torch.zeros(1), bad)


def test_is_invertible_checks_in_eval_mode():
    class TrainNoise(invlab.VolumePreserving):
        """Exact in eval mode; adds noise in training mode (as dropout would)."""
        def forward(self, x):
            return x + (torch.randn_like(x) if self.training else 0)
        def inverse(self, y):
            return y
    m = TrainNoise().train()
    assert invlab.is_invertible(m, torch.randn(4, 3)) and m.training


def test_is_invertible_input_checks_and_callables():
    with pytest.raises(TypeError, match="is_invertible: x must be"):
        invlab.is_invertible(Scale(2.0), torch.ones(2, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="is_invertible: y must be"):
        invlab.is_invertible(Scale(2.0), torch.ones(2, 2), y=torch.ones(2, 2, dtype=torch.long))
    with pytest.raises(TypeError, match=r"is_invertible: forward\(x\) must be"):
        invlab.is_invertible(None, torch.ones(2, 2), forward=lambda x: x.tolist(), inverse=lambda y: y)
    with pytest.raises(TypeError, match="module must be"):   # only one of the two callables given
        invlab.is_invertible(None, torch.ones(2, 2), forward=lambda x: 2 * x)
    report = invlab.is_invertible(None, torch.ones(2, 2), forward=lambda x: 2 * x, inverse=lambda y: y / 2)
    assert report and report.rtol == 1e-5 and report.message.startswith("f is invertible")
    assert invlab.is_invertible(Iterative(1e-3), torch.randn(3, 2, dtype=torch.float64)).rtol == 1e-3


def test_randomize_draws_the_std_it_is_given_reproducibly():
    lin = invlab.randomize_(nn.Linear(100, 100))
    assert lin.weight.std().item() == pytest.approx(0.3, rel=0.05)      # the default std
    assert torch.equal(lin.weight, invlab.randomize_(nn.Linear(100, 100), seed=0).weight)  # the default seed
    wide = invlab.randomize_(nn.Linear(100, 100), std=2.0, seed=3)
    assert wide.weight.std().item() == pytest.approx(2.0, rel=0.05)
    assert not torch.equal(wide.weight, invlab.randomize_(nn.Linear(100, 100), std=2.0, seed=4).weight)
    with pytest.raises(TypeError, match="randomize_: module must be a torch.nn.Module"):
        invlab.randomize_(torch.zeros(3))


class Affine3(invlab.VolumePreserving):
    """y = 3x + 1 (exact inverse) that records what its inverse is given."""
    def __init__(self):
        super().__init__()
        self.ys = []

    def forward(self, x):
        return 3 * x + 1

    def inverse(self, y):
        self.ys.append(y.clone())
        return (y - 1) / 3


def test_is_invertible_probes_the_inverse_with_a_batch_like_f_of_x():
    """The second round trip starts from a Gaussian batch with the mean and spread of f(x)."""
    x = torch.randn(4000, 2, dtype=torch.float64)
    m = Affine3()
    assert invlab.is_invertible(m, x)
    fx, y = 3 * x + 1, m.ys[-1]
    assert not torch.equal(y, fx)
    assert abs(y.mean() - fx.mean()) < 0.1 and y.std().item() == pytest.approx(fx.std().item(), rel=0.05)
    m = Affine3()
    invlab.is_invertible(m, torch.ones(50, 2, dtype=torch.float64))           # f(x) constant: spread 1e-3
    assert m.ys[-1].mean().item() == pytest.approx(4.0, abs=1e-3)
    assert m.ys[-1].std().item() == pytest.approx(1e-3, rel=0.3)
    m = Affine3()
    invlab.is_invertible(m, torch.tensor([[0.5]], dtype=torch.float64))       # one number: spread 1
    noise = torch.randn(1, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.allclose(m.ys[-1], 2.5 + noise)


def test_exact_log_det_refuses_what_it_cannot_differentiate():
    with pytest.raises(TypeError, match="exact_log_det: x must be"):
        invlab.exact_log_det(lambda v: v, torch.ones(2, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="exact_log_det: x must be a torch.Tensor"):
        invlab.exact_log_det(lambda v: v, [[1.0, 2.0]])
    with pytest.raises(ValueError, match="exact_log_det: x must be"):
        invlab.exact_log_det(lambda v: v, torch.ones(3))                      # no batch axis
