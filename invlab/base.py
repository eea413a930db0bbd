"""The invertible-module contract every invlab block follows, and its checker.

Every block maps ``x -> y`` (the **forward** direction, data → latent) and back:

* ``forward(x) -> y`` and ``inverse(y) -> x``, plain tensors in and out, so a block
  drops into ``nn.Sequential``-style code;
* ``forward_with_log_det(x) -> (y, log_det)`` where ``log_det`` has shape ``(B,)`` and
  is ``log |det ∂y/∂x|`` of the **forward** map at ``x``;
* ``inverse_with_log_det(y) -> (x, log_det)`` where ``log_det`` is the log-det of the
  **inverse** map, which is the negative of the forward one:
  ``log |det ∂x/∂y|(y) = - log |det ∂y/∂x|(x)``.

This sign convention is stated here once and holds for every block in invlab.

A block also declares how exact its inverse is:

* ``inverse_kind = "exact"`` (the default): the inverse is a closed formula; a round
  trip is exact up to rounding, ≤ 1e-5 relative in float32 and ≤ 1e-10 in float64;
* ``inverse_kind = "iterative"``: the inverse is computed by an iteration (an
  i-ResNet block's fixed point) that stops at the block's ``inverse_rtol``.

``inverse_tolerance(dtype)`` gives the tolerance a round trip is checked against.

It declares how exact its log-det is:

* ``log_det_kind = "exact"`` (the default): ``log_det`` is the log-det, up to rounding;
* ``log_det_kind = "estimate"``: a stochastic estimate (an i-ResNet block's power series
  with Hutchinson probes, or its Russian roulette), off by at most ``log_det_bias(x)`` in
  expectation; the contract registry checks the mean of many draws within that bias.

And where its inputs live, so that checks draw them from the right set:

* ``domain`` (inputs) and ``codomain`` (outputs): ``"real"`` (all of ℝ, the default) or
  ``"unit"`` (the open interval (0, 1) per entry, e.g. the input of lab 4's ``Logit``);
  :meth:`InvertibleModule.draw` samples either.

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

from .validate import caller_name, check_float, check_tensor, fail_type

__all__ = ["InvertibleModule", "VolumePreserving", "InvertibilityReport", "is_invertible",
           "relative_error", "default_rtol", "exact_log_det", "randomize_", "SequenceINN",
           "in_torch_func", "DOMAINS"]

DOMAINS = ("real", "unit")


def in_torch_func() -> bool:
    """True inside a ``torch.func`` transform (``vmap``, ``grad``, ``jacrev`` ...), where a
    block must not keep state or run its own autograd machinery.

    >>> in_torch_func()
    False
    >>> bool(torch.func.vmap(lambda v: torch.tensor(in_torch_func()))(torch.zeros(2)).all())
    True
    """
    return torch._C._functorch.peek_interpreter_stack() is not None


def default_rtol(dtype: torch.dtype) -> float:
    """The course's tolerance for exact inverses: 1e-10 in float64, 1e-5 otherwise."""
    return 1e-10 if dtype == torch.float64 else 1e-5


class InvertibleModule(nn.Module):
    """Base class of invertible blocks (see the module docstring for the contract).

    Class attributes:
        inverse_kind: ``"exact"`` (closed-form inverse) or ``"iterative"``.
        inverse_rtol: for iterative inverses, the relative tolerance the iteration
            stops at; ``None`` for exact inverses.
        log_det_kind: ``"exact"`` or ``"estimate"`` (see :meth:`log_det_bias`).
        domain, codomain: where inputs and outputs live, ``"real"`` or ``"unit"``.
    """

    inverse_kind: str = "exact"
    inverse_rtol: Optional[float] = None
    log_det_kind: str = "exact"
    domain: str = "real"
    codomain: str = "real"

    def log_det_bias(self, x: torch.Tensor) -> float:
        """A bound on ``|E[log_det] − log|det J(x)||`` per sample: 0 for exact log-dets."""
        return 0.0

    def draw(self, shape, side: str = "domain", generator: Optional[torch.Generator] = None,
             dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """A batch of ``shape`` from the block's ``domain`` (or ``codomain``): ``N(0, I)`` on
        the real line, uniform on ``[0.01, 0.99]`` on the unit interval.

        >>> InvertibleModule().draw((2, 3)).shape
        torch.Size([2, 3])
        """
        where = self.domain if side == "domain" else self.codomain
        if where == "unit":
            return 0.01 + 0.98 * torch.rand(shape, generator=generator, dtype=dtype)
        return torch.randn(shape, generator=generator, dtype=dtype)

    def inverse_tolerance(self, dtype: torch.dtype) -> float:
        """The relative round-trip error this block promises in ``dtype``.

        Exact inverses: :func:`default_rtol`. Iterative inverses: their ``inverse_rtol``
        (never tighter than the exact tolerance of the dtype).
        """
        exact = default_rtol(dtype)
        if self.inverse_kind == "exact" or self.inverse_rtol is None:
            return exact
        return max(float(self.inverse_rtol), exact)

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

class SequenceINN(InvertibleModule):
    r"""A chain of invertible blocks ``f = f_K ∘ … ∘ f_1``.

    ``forward_with_log_det`` runs the blocks in order and sums their log-dets
    (``log|det J_f| = Σ_k log|det J_{f_k}|``); ``inverse_with_log_det`` runs the inverses
    in reverse order. Supports ``len``, iteration and indexing (a slice gives a
    :class:`SequenceINN`).

    Args:
        *blocks: :class:`~invlab.base.InvertibleModule` instances.

    >>> from invlab.coupling import ActNorm, AffineCoupling, Permutation, mlp
    >>> _ = torch.manual_seed(0)
    >>> flow = SequenceINN(ActNorm(4), AffineCoupling(4, mlp), Permutation(4, seed=1))
    >>> x = torch.randn(8, 4)
    >>> y, log_det = flow.forward_with_log_det(x)
    >>> x_rec, inv_log_det = flow.inverse_with_log_det(y)
    >>> len(flow), torch.allclose(x_rec, x, atol=1e-6), torch.allclose(inv_log_det, -log_det)
    (3, True, True)
    """

    def __init__(self, *blocks: InvertibleModule):
        super().__init__()
        for i, block in enumerate(blocks):
            if not isinstance(block, InvertibleModule):
                fail_type("SequenceINN", f"block {i}", block, "an invlab.InvertibleModule")
        self.blocks = nn.ModuleList(blocks)

    @property
    def log_det_kind(self) -> str:
        return "estimate" if any(b.log_det_kind == "estimate" for b in self.blocks) else "exact"

    def log_det_bias(self, x: torch.Tensor) -> float:
        """The sum of the blocks' bounds (each evaluated on its own input)."""
        total = 0.0
        with torch.no_grad():
            for block in self.blocks:
                total += block.log_det_bias(x)
                x = block(x)
        return total

    @property
    def domain(self) -> str:
        return self.blocks[0].domain if len(self.blocks) else "real"

    @property
    def codomain(self) -> str:
        return self.blocks[-1].codomain if len(self.blocks) else "real"

    @property
    def inverse_kind(self) -> str:
        """Iterative as soon as one block's inverse is iterative."""
        kinds = {b.inverse_kind for b in self.blocks}
        return "iterative" if "iterative" in kinds else "exact"

    def inverse_tolerance(self, dtype: torch.dtype) -> float:
        """Errors of a chain add up (to first order): the sum of its blocks' tolerances."""
        if self.inverse_kind == "exact":
            return default_rtol(dtype)
        return sum(b.inverse_tolerance(dtype) for b in self.blocks
                   if b.inverse_kind == "iterative") + default_rtol(dtype)

    def __len__(self) -> int:
        return len(self.blocks)

    def __iter__(self):
        return iter(self.blocks)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return SequenceINN(*self.blocks[index])
        return self.blocks[index]

    def forward_with_log_det(self, x: torch.Tensor):
        log_det = self._zeros(x, "x")
        for block in self.blocks:
            x, ld = block.forward_with_log_det(x)
            log_det = log_det + ld
        return x, log_det

    def inverse_with_log_det(self, y: torch.Tensor):
        log_det = self._zeros(y, "y")
        for block in reversed(self.blocks):
            y, ld = block.inverse_with_log_det(y)
            log_det = log_det + ld
        return y, log_det

    @staticmethod
    def _zeros(x, name: str) -> torch.Tensor:
        if not (isinstance(x, torch.Tensor) and x.dim() >= 2):   # named as the caller named it
            check_tensor("SequenceINN", caller_name(x, name), x, min_dim=2)
        return x.new_zeros(x.shape[0])


def relative_error(x: torch.Tensor, x_rec: torch.Tensor) -> float:
    """‖x − x_rec‖ / ‖x‖ over the whole batch (0 when both are zero)."""
    check_tensor("relative_error", "x", x)
    check_tensor("relative_error", "x_rec", x_rec)
    if x.shape != x_rec.shape:
        raise ValueError(f"relative_error: x has shape {tuple(x.shape)} but x_rec "
                         f"has shape {tuple(x_rec.shape)}; they must match")
    x, x_rec = x.detach(), x_rec.detach()
    num = torch.linalg.vector_norm((x - x_rec).double())
    den = torch.linalg.vector_norm(x.double())
    if den == 0:
        return float(num)
    return float(num / den)


@dataclass
class InvertibilityReport:
    """What :func:`is_invertible` found. Truthy when both round trips are within ``rtol``.

    ``forward_error`` = ‖x − f⁻¹(f(x))‖/‖x‖, ``inverse_error`` = ‖y − f(f⁻¹(y))‖/‖y‖,
    ``rel_error`` = the larger of the two.
    """

    ok: bool
    rel_error: float
    rtol: float
    message: str
    forward_error: float = 0.0
    inverse_error: float = 0.0

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.message


def is_invertible(module, x: torch.Tensor, rtol: Optional[float] = None,
                  y: Optional[torch.Tensor] = None, forward: Optional[Callable] = None,
                  inverse: Optional[Callable] = None) -> InvertibilityReport:
    """Check both round trips: ``f⁻¹(f(x)) = x`` and ``f(f⁻¹(y)) = y``.

    Args:
        module: an :class:`InvertibleModule` (its ``forward`` and ``inverse`` are used,
            in eval mode, without gradients).
        x: a batch in the input space, e.g. ``(B, C, H, W)`` or ``(B, D)``.
        rtol: allowed relative error; default ``module.inverse_tolerance(x.dtype)``:
            1e-5 (float32) or 1e-10 (float64) for exact inverses, the declared
            tolerance for iterative ones.
        y: a batch in the output space for the second round trip; default a Gaussian
            batch with the mean and spread of ``f(x)``, not ``f(x)`` itself (for a block
            whose ``codomain`` is the unit interval, a draw from it).
        forward, inverse: other callables to check instead of ``module``'s methods
            (``module`` still names the report and gives the tolerance when it can).

    Returns:
        an :class:`InvertibilityReport`, truthy when both errors are within ``rtol``.

    >>> import torch
    >>> from invlab.squeeze import Psi
    >>> bool(is_invertible(Psi(2), torch.randn(3, 1, 4, 4)))
    True
    """
    check_tensor("is_invertible", "x", x, floating=True)
    if forward is None or inverse is None:
        if not isinstance(module, InvertibleModule):
            fail_type("is_invertible", "module", module,
                      "an invlab.InvertibleModule (or pass forward=... and inverse=...)")
        forward = forward or module
        inverse = inverse or module.inverse
    if rtol is None:
        rtol = (module.inverse_tolerance(x.dtype) if isinstance(module, InvertibleModule)
                else default_rtol(x.dtype))
    rtol = check_float("is_invertible", "rtol", rtol, min=0)
    was_training = isinstance(module, nn.Module) and module.training
    if was_training:
        module.eval()
    try:
        with torch.no_grad():
            fx = forward(x)
            check_tensor("is_invertible", "forward(x)", fx)
            fwd_err = relative_error(x, inverse(fx))
            if y is None and isinstance(module, InvertibleModule) and module.codomain != "real":
                g = torch.Generator(device="cpu").manual_seed(0)   # the block's own output set
                y = module.draw(fx.shape, "codomain", g).to(fx.device, fx.dtype)
            elif y is None:
                g = torch.Generator(device="cpu").manual_seed(0)
                noise = torch.randn(fx.shape, generator=g, dtype=torch.float64)
                spread = fx.double().std() if fx.numel() > 1 else torch.tensor(1.0)
                y = (fx.double().mean() + spread.clamp_min(1e-3) * noise).to(fx.device, fx.dtype)
            else:
                check_tensor("is_invertible", "y", y, floating=True)
            inv_err = relative_error(y, forward(inverse(y)))
    finally:
        if was_training:
            module.train()
    err = max(fwd_err, inv_err)
    ok = err <= rtol
    name = type(module).__name__ if module is not None else "f"
    verdict = "invertible" if ok else "NOT invertible"
    msg = (f"{name} is {verdict} on this batch: ‖x − f⁻¹(f(x))‖/‖x‖ = {fwd_err:.2e}, "
           f"‖y − f(f⁻¹(y))‖/‖y‖ = {inv_err:.2e} ({'≤' if ok else '>'} rtol {rtol:.0e}, "
           f"{str(x.dtype).replace('torch.', '')})")
    return InvertibilityReport(ok=ok, rel_error=err, rtol=rtol, message=msg,
                               forward_error=fwd_err, inverse_error=inv_err)


def exact_log_det(f: Callable, x: torch.Tensor) -> torch.Tensor:
    """log |det ∂f(x_b)/∂x_b| for every sample ``b``, from the full Jacobian (torch.func).

    The reference every cheaper log-det is checked against; costs O(D³) per sample, so
    it is for small ``D`` (tests, 2-D toys). ``f`` maps ``(B, *shape) -> (B, *shape)``
    sample by sample (no batch statistics, e.g. eval mode).

    Shapes: ``x: (B, *shape)`` → ``(B,)``.

    >>> A = torch.tensor([[2.0, 1.0], [0.0, 3.0]], dtype=torch.float64)
    >>> exact_log_det(lambda x: x @ A.T, torch.randn(4, 2, dtype=torch.float64))
    tensor([1.7918, 1.7918, 1.7918, 1.7918], dtype=torch.float64)
    """
    check_tensor("exact_log_det", "x", x, min_dim=2, floating=True)
    shape = x.shape[1:]

    def one(v):  # (D,) -> (D,)
        return f(v.reshape(1, *shape)).reshape(-1)

    jac = torch.func.vmap(torch.func.jacrev(one))(x.reshape(x.shape[0], -1))
    return torch.linalg.slogdet(jac)[1]


def randomize_(module: nn.Module, std: float = 0.3, seed: int = 0) -> nn.Module:
    """Give every parameter non-trivial random values, in place; returns ``module``.

    An identity-initialised block (zero last layers, unit scales) passes every
    invertibility test trivially; random weights make the check mean something.

    >>> lin = randomize_(torch.nn.Linear(2, 2), std=1.0, seed=1)
    >>> bool(lin.weight.abs().sum() > 0)
    True
    """
    if not isinstance(module, nn.Module):
        fail_type("randomize_", "module", module, "a torch.nn.Module")
    std = check_float("randomize_", "std", std, min=0)
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64).to(p.dtype) * std)
    return module
