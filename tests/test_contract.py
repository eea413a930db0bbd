"""The contract registry: every invertible block of invlab, checked the same way.

For each entry, with non-trivial random weights (``invlab.randomize_``):

* both round trips, ``f⁻¹(f(x)) = x`` and ``f(f⁻¹(y)) = y``, in float32 and float64, at
  the block's own tolerance (``inverse_tolerance``: 1e-5 / 1e-10 for exact inverses,
  the declared ``inverse_rtol`` for iterative ones);
* ``forward_with_log_det``'s log-det equals the log-det of the torch.func Jacobian in
  float64 (``invlab.exact_log_det``), sample by sample — or, for a block that declares
  ``log_det_kind = "estimate"``, the mean of many draws does, within the block's stated
  bias (``log_det_bias``) plus five standard errors;
* inputs come from the block's declared ``domain`` (``block.draw``: ℝ, or the unit
  interval for ``Logit``), not from a sampler written here;
* the inverse's log-det is minus the forward one, and ``forward``/``inverse`` agree with
  the ``*_with_log_det`` pair.

A new ``InvertibleModule`` subclass anywhere in invlab makes
:func:`test_every_invertible_module_is_registered` fail until it has an entry here.
To add a block: append an :class:`Entry` with a factory that builds it (random weights
are applied by the test) and an input shape (keep ``D`` small: the Jacobian is
``D × D`` per sample).
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from typing import Callable, Tuple

import pytest
import torch
from torch import nn

import invlab
from invlab.base import InvertibleModule, SequenceINN, VolumePreserving, exact_log_det
from invlab.coupling import (ActNorm, AdditiveCoupling, AffineCoupling, InvertibleConv1x1,
                             InvertibleLinear, Permutation, Reverse, mlp)
from invlab.iresnet import IResBlock, lipschitz_convnet, lipschitz_mlp
from invlab.revnet import RevBlock, conv_relu
from invlab.squeeze import Psi

# Abstract bases: not blocks themselves.
ABSTRACT = {InvertibleModule, VolumePreserving}


@dataclass
class Entry:
    """One registered block: ``factory()`` builds it, ``shape`` is one sample's shape."""

    name: str                      # the class name (what the discovery test matches)
    factory: Callable[[], nn.Module]
    shape: Tuple[int, ...]
    std: float = 0.3               # spread of the random weights
    logdet_atol: float = 1e-10     # float64 agreement with the Jacobian's log-det
    batch: int = 3
    notes: str = ""
    prepare: Callable[[nn.Module], None] = field(default=lambda m: None)


def _conv_subnet(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, 4, 3, padding=1), nn.Tanh(), nn.Conv2d(4, c_out, 3, padding=1))


def _mark_initialised(m):
    for mod in m.modules():
        if isinstance(mod, ActNorm):
            mod.initialized.fill_(True)


REGISTRY = [
    Entry("Psi", lambda: Psi(2), (2, 4, 4)),
    Entry("RevBlock", lambda: RevBlock(conv_relu(2, 3)), (4, 3, 3)),
    Entry("AdditiveCoupling", lambda: AdditiveCoupling(5, mlp), (5,)),
    Entry("AffineCoupling", lambda: AffineCoupling(5, mlp), (5,), std=0.4),
    Entry("AffineCoupling", lambda: AffineCoupling(4, _conv_subnet), (4, 2, 2), std=0.3,
          notes="images: a CNN subnet on the channels"),
    Entry("Permutation", lambda: Permutation(6, seed=3), (6,)),
    Entry("Reverse", lambda: Reverse(4), (4,)),
    Entry("ActNorm", lambda: ActNorm(3), (3,), prepare=_mark_initialised),
    Entry("ActNorm", lambda: ActNorm(2), (2, 2, 3), prepare=_mark_initialised, notes="images"),
    Entry("InvertibleLinear", lambda: InvertibleLinear(4, seed=1), (4,), std=0.6),
    Entry("InvertibleConv1x1", lambda: InvertibleConv1x1(3, seed=2), (3, 2, 2), std=0.6),
    Entry("SequenceINN",
          lambda: SequenceINN(ActNorm(4), AffineCoupling(4, mlp), Permutation(4, seed=0),
                              AdditiveCoupling(4, mlp)),
          (4,), std=0.3, prepare=_mark_initialised, notes="a RealNVP-style chain"),
    Entry("SequenceINN", lambda: invlab.IRevNet(in_channels=1, image_size=4, block_size=2,
                                                depth=2, make_F=lambda c: conv_relu(c, 3)).body,
          (1, 4, 4), std=0.3, notes="IRevNet's invertible part: psi + RevBlocks"),
    Entry("IResBlock", lambda: IResBlock(lipschitz_mlp(3, 8, c=0.7), log_det="exact",
                                         inverse_rtol=1e-12),
          (3,), std=0.5, notes="iterative inverse: 1e-12 in float64, 1e-5 in float32"),
    Entry("IResBlock", lambda: IResBlock(lipschitz_convnet(2, 4, c=0.7), log_det="exact",
                                         inverse_rtol=1e-12),
          (2, 3, 3), std=0.5, notes="convolutional g, spectral norm of the conv operator"),
    Entry("IResBlock", lambda: IResBlock(lipschitz_mlp(3, 8, c=0.7), log_det="series", n_terms=4,
                                         inverse_rtol=1e-12),
          (3,), std=0.5, notes="log-det estimated: 4 terms of the power series, one probe"),
    Entry("IResBlock", lambda: IResBlock(lipschitz_mlp(3, 8, c=0.7), log_det="roulette",
                                         inverse_rtol=1e-12),
          (3,), std=0.5, notes="log-det estimated without bias: Russian roulette"),
    Entry("Logit", lambda: invlab.flows.Logit(0.05), (1, 3, 3), logdet_atol=1e-9,
          notes="lab 4's pre-transform [0, 1] → ℝ; its domain is the unit interval"),
    Entry("ReversibleSequence",
          lambda: invlab.ReversibleSequence(AffineCoupling(4, mlp), Permutation(4, seed=0),
                                            AdditiveCoupling(4, mlp)),
          (4,), std=0.3, notes="the same chain, trained by reconstruction (lab 7)"),
]


def _ids(entries):
    seen = {}
    out = []
    for e in entries:
        seen[e.name] = seen.get(e.name, 0) + 1
        out.append(e.name if seen[e.name] == 1 else f"{e.name}-{seen[e.name]}")
    return out


def build(entry: Entry, dtype: torch.dtype, seed: int = 0) -> nn.Module:
    """The block with random weights, in eval mode, in ``dtype``."""
    torch.manual_seed(seed)
    block = entry.factory()
    invlab.randomize_(block, std=entry.std, seed=seed)
    entry.prepare(block)
    return block.to(dtype).eval()


def sample(block: InvertibleModule, entry: Entry, dtype: torch.dtype, seed: int = 1) -> torch.Tensor:
    """Inputs from the block's own domain."""
    g = torch.Generator().manual_seed(seed)
    return block.draw((entry.batch, *entry.shape), "domain", g).to(dtype)


def estimate_within_its_bias(block, x: torch.Tensor, draws: int = 400) -> None:
    """An estimated log-det: the mean of ``draws`` estimates is within the block's stated
    bias plus five standard errors of the Jacobian's log-det, sample by sample."""
    with torch.no_grad():
        est = torch.stack([block.forward_with_log_det(x)[1] for _ in range(draws)])
    ref = exact_log_det(block, x)
    gap = (est.mean(0) - ref).abs()
    allowed = block.log_det_bias(x) + 5 * est.std(0) / draws ** 0.5
    assert bool((gap <= allowed).all()), \
        f"estimated log-det off by {gap.max():.3g} (> bias {block.log_det_bias(x):.3g} + 5 SE)"


def check_block(block: nn.Module, x: torch.Tensor, logdet_atol: float = 1e-10) -> None:
    """Every check of the contract on one block (float64 input for the log-det part)."""
    report = invlab.is_invertible(block, x)
    assert report, report.message
    with torch.no_grad():
        y, ld = block.forward_with_log_det(x)
        x_rec, ld_inv = block.inverse_with_log_det(y)
    assert ld.shape == (x.shape[0],), f"log_det has shape {tuple(ld.shape)}, expected (B,)"
    tol = 1e-12 if x.dtype == torch.float64 else 1e-5
    if block.log_det_kind == "exact":   # two estimates are two random draws
        assert torch.allclose(ld_inv, -ld, rtol=tol, atol=tol), \
            "the inverse's log-det must be minus the forward one"
    assert torch.equal(block(x), y) and torch.allclose(block.inverse(y), x_rec), \
        "forward/inverse disagree with forward_with_log_det/inverse_with_log_det"
    if x.dtype == torch.float64 and block.log_det_kind == "estimate":
        estimate_within_its_bias(block, x)
    elif x.dtype == torch.float64:
        ref = exact_log_det(block, x)
        err = (ld - ref).abs().max().item()
        assert err <= logdet_atol, f"log-det differs from the Jacobian's by {err:.2e}"


@pytest.mark.parametrize("entry", REGISTRY, ids=_ids(REGISTRY))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_contract(entry, dtype):
    block = build(entry, dtype)
    assert isinstance(block, InvertibleModule)
    x = sample(block, entry, dtype)
    with torch.no_grad():
        y = block(x)
    if y.shape == x.shape and not isinstance(block, (Permutation, Psi)):
        # non-trivial weights: a block that leaves x (nearly) unchanged proves nothing
        moved = invlab.relative_error(x, y)
        assert moved > 1e-2, f"{entry.name} is (nearly) the identity: the check proves nothing"
    check_block(block, x, entry.logdet_atol)


@pytest.mark.parametrize("entry", REGISTRY, ids=_ids(REGISTRY))
def test_inverse_kind_is_declared(entry):
    block = build(entry, torch.float64)
    assert block.inverse_kind in {"exact", "iterative"}
    assert block.log_det_kind in {"exact", "estimate"}
    assert block.domain in invlab.base.DOMAINS and block.codomain in invlab.base.DOMAINS
    if block.log_det_kind == "exact":
        assert block.log_det_bias(sample(block, entry, torch.float64)) == 0.0
    if block.inverse_kind == "exact":
        assert block.inverse_tolerance(torch.float32) == 1e-5
        assert block.inverse_tolerance(torch.float64) == 1e-10
    else:
        assert block.inverse_rtol is not None and block.inverse_rtol > 0


def _invlab_block_classes():
    found = set()
    for mod in pkgutil.walk_packages(invlab.__path__, prefix="invlab."):
        module = importlib.import_module(mod.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, InvertibleModule) and cls not in ABSTRACT
                    and cls.__module__.startswith("invlab.")):
                found.add(cls)
    return found


def test_every_invertible_module_is_registered():
    registered = {e.name for e in REGISTRY}
    missing = sorted(c.__name__ for c in _invlab_block_classes() if c.__name__ not in registered)
    assert not missing, (f"InvertibleModule subclasses without a contract entry: {missing}; "
                         "add an Entry to REGISTRY in tests/test_contract.py")


# ---------------------------------------------------------------- the checks can fail

class _WrongSign(AffineCoupling):
    """A coupling whose log-det has the wrong sign."""

    def forward_with_log_det(self, x):
        y, ld = super().forward_with_log_det(x)
        return y, -ld


class _Leaky(VolumePreserving):
    """Claims volume preservation but scales by 1.1."""

    def forward(self, x):
        return 1.1 * x

    def inverse(self, y):
        return y / 1.1


class _Sloppy(VolumePreserving):
    """An inverse that is off by 1e-4 relative."""

    def forward(self, x):
        return x.flip(1)

    def inverse(self, y):
        return y.flip(1) * (1 + 1e-4)


class _Overconfident(IResBlock):
    """A two-term series that claims to be unbiased."""

    def log_det_bias(self, x):
        return 0.0


@pytest.mark.parametrize("block, match", [
    (lambda: _WrongSign(4, mlp), "log-det"),
    (lambda: _Leaky(), "log-det differs"),
    (lambda: _Sloppy(), "NOT invertible"),
    (lambda: _Overconfident(lipschitz_mlp(4, 8, c=0.9), log_det="series", n_terms=1, n_probes=64,
                            inverse_rtol=1e-12),
     "estimated log-det off by"),
], ids=["wrong-sign log-det", "missing log-det", "inexact inverse", "estimate beyond its stated bias"])
def test_contract_checks_catch_broken_blocks(block, match):
    torch.manual_seed(0)
    b = invlab.randomize_(block(), std=0.8).double().eval()
    x = torch.randn(3, 4, dtype=torch.float64)
    with pytest.raises(AssertionError, match=match):
        check_block(b, x)
