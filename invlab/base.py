"""The invertible-module contract every invlab block follows, and a checker.

Every block maps ``x -> y`` and back:

* ``forward(x) -> y`` and ``inverse(y) -> x``, plain tensors in and out, so a block
  drops into ``nn.Sequential``-style code;
* ``forward_with_log_det(x) -> (y, log_det)`` where ``log_det`` has shape ``(B,)`` and
  is ``log |det ∂y/∂x|`` of the **forward** map at ``x``;
* ``inverse_with_log_det(y) -> (x, log_det)`` where ``log_det`` is the log-det of the
  **inverse** map, which is the negative of the forward one:
  ``log |det ∂x/∂y|(y) = - log |det ∂y/∂x|(x)``.

This sign convention is stated here once and holds for every block in invlab.

A subclass overrides either the pair ``forward_with_log_det`` /
``inverse_with_log_det`` (the base class derives ``forward`` / ``inverse`` from them),
or, if it preserves volume, derives from :class:`VolumePreserving` and overrides
``forward`` / ``inverse`` (its log-det is zero).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn

__all__ = ["InvertibleModule", "VolumePreserving", "InvertibilityReport", "is_invertible",
           "relative_error", "default_rtol"]


class InvertibleModule(nn.Module):
    """Base class of invertible blocks (see the module docstring for the contract)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """y = f(x)."""
        return self.forward_with_log_det(x)[0]

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """x = f⁻¹(y)."""
        return self.inverse_with_log_det(y)[0]

    def forward_with_log_det(self, x: torch.Tensor):
        """(y, log|det ∂y/∂x|) with log_det of shape (B,)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement forward_with_log_det(x) -> (y, log_det)")

    def inverse_with_log_det(self, y: torch.Tensor):
        """(x, log|det ∂x/∂y|) = (x, -log|det ∂y/∂x|(x)), log_det of shape (B,)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement inverse_with_log_det(y) -> (x, log_det)")


class VolumePreserving(InvertibleModule):
    """An invertible block with |det J| = 1: subclasses write ``forward`` and ``inverse``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def inverse(self, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement inverse(y)")

    def forward_with_log_det(self, x: torch.Tensor):
        return self.forward(x), x.new_zeros(x.shape[0])

    def inverse_with_log_det(self, y: torch.Tensor):
        return self.inverse(y), y.new_zeros(y.shape[0])


def default_rtol(dtype: torch.dtype) -> float:
    """The course's reconstruction tolerance: 1e-10 in float64, 1e-5 otherwise."""
    return 1e-10 if dtype == torch.float64 else 1e-5


def relative_error(x: torch.Tensor, x_rec: torch.Tensor) -> float:
    """‖x − x_rec‖ / ‖x‖ over the whole batch (0 when both are zero)."""
    if x.shape != x_rec.shape:
        raise ValueError(f"relative_error: x has shape {tuple(x.shape)} but the reconstruction "
                         f"has shape {tuple(x_rec.shape)}; they must match")
    x, x_rec = x.detach(), x_rec.detach()
    num = torch.linalg.vector_norm((x - x_rec).double())
    den = torch.linalg.vector_norm(x.double())
    if den == 0:
        return float(num)
    return float(num / den)


@dataclass
class InvertibilityReport:
    """What :func:`is_invertible` found. Truthy when the round trip is within ``rtol``."""

    ok: bool
    rel_error: float
    rtol: float
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.message


def is_invertible(module, x: torch.Tensor, rtol: Optional[float] = None,
                  forward: Optional[Callable] = None,
                  inverse: Optional[Callable] = None) -> InvertibilityReport:
    """Check that ``inverse(forward(x))`` gives back ``x``.

    Args:
        module: an object with an ``inverse`` method (and ``features`` or ``forward``).
        x: a batch, e.g. ``(B, C, H, W)`` or ``(B, D)``.
        rtol: allowed relative error ‖x − x̂‖/‖x‖; default 1e-5 (float32) or 1e-10 (float64).
        forward: the map to invert; default ``module.features`` when the module has one
            (a classifier whose invertible part ends before its head), else ``module``.
        inverse: default ``module.inverse``.

    Returns:
        an :class:`InvertibilityReport`, truthy when the error is within ``rtol``.

    >>> import torch
    >>> from invlab.squeeze import Psi
    >>> bool(is_invertible(Psi(2), torch.randn(3, 1, 4, 4)))
    True
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"is_invertible: x must be a torch.Tensor, got {type(x).__name__}")
    if forward is None:
        forward = getattr(module, "features", None) or module
    if inverse is None:
        if not hasattr(module, "inverse"):
            raise TypeError(f"is_invertible: {type(module).__name__} has no inverse method; "
                            "pass inverse=... or give the module an inverse(y) method")
        inverse = module.inverse
    rtol = default_rtol(x.dtype) if rtol is None else float(rtol)
    was_training = getattr(module, "training", None)
    if was_training:
        module.eval()
    try:
        with torch.no_grad():
            x_rec = inverse(forward(x))
    finally:
        if was_training:
            module.train()
    err = relative_error(x, x_rec)
    ok = err <= rtol
    name = type(module).__name__
    verdict = "invertible" if ok else "NOT invertible"
    msg = (f"{name} is {verdict} on this batch: relative error ‖x − f⁻¹(f(x))‖/‖x‖ = "
           f"{err:.2e} ({'≤' if ok else '>'} rtol {rtol:.0e}, {str(x.dtype).replace('torch.', '')})")
    return InvertibilityReport(ok=ok, rel_error=err, rtol=rtol, message=msg)
