r"""Invertible residual networks (Behrmann et al., 2019): y = x + g(x) with Lip(g) < 1.

**Theorem.** If ``Lip(g) < 1`` then ``F(x) = x + g(x)`` is invertible, and its inverse is
the limit of the fixed-point iteration

.. math:: x^{(0)} = y, \qquad x^{(k+1)} = y - g(x^{(k)}),

because ``x ↦ y − g(x)`` is a contraction (Banach's fixed-point theorem). The error
shrinks at least like ``Lip(g)^k``.

**How Lip(g) < 1 is kept.** For ``g = W_L ∘ φ ∘ … ∘ φ ∘ W_1`` with 1-Lipschitz
activations ``φ`` (ReLU, ELU, tanh), ``Lip(g) ≤ ∏_l ‖W_l‖₂``. :class:`SpectralNorm`
rescales every layer, ``W̃ = W · min(1, c / σ̂)``, with ``σ̂ ≈ ‖W‖₂`` from a power
iteration whose vectors are kept from step to step, so ``‖W̃‖₂ ≤ c < 1``.

For a convolution, ``‖W‖₂`` means the norm of the **convolution operator** on inputs of
the size it sees, not of the reshaped ``(C_out, C_in·k·k)`` kernel matrix that
``torch.nn.utils.spectral_norm`` normalises (for a 3×3 convolution the operator norm can
be 1.5× larger than that). :class:`SpectralNorm` runs its power iteration through the
convolution and its transpose (``conv_transpose2d``), on an input of the layer's own
shape, so it bounds the true operator norm.

The log-determinant estimators are in :mod:`invlab.logdet`.
"""
from __future__ import annotations

import contextlib
import math
import warnings
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .base import InvertibleModule, in_torch_func
from .validate import (check_callable, check_choice, check_float, check_int, check_module,
                       check_tensor, fail_value)
from . import logdet as _logdet

__all__ = ["LipSwish", "SpectralNorm", "operator_norm", "lipschitz_bound", "empirical_lipschitz",
           "no_power_iteration", "lipschitz_mlp", "lipschitz_convnet", "fixed_point_inverse",
           "ConvergenceError", "IResBlock", "LOG_DET_ESTIMATORS"]

LOG_DET_ESTIMATORS = ("exact", "series", "roulette")


class SpectralNorm(nn.Module):
    r"""A linear or convolutional layer whose operator norm is kept ≤ ``c``.

    Forward: ``layer`` with the weight ``W̃ = W · min(1, c / σ̂)``, where ``σ̂`` is the
    power-iteration estimate of ``‖W‖₂`` (for a convolution: of the convolution operator
    on inputs of the shape seen at the first call). The iteration's vector ``v`` is a
    buffer, so it is refined step after step: ``init_iterations`` at the first call,
    then up to ``iterations`` per training-mode call, stopping early when ``σ̂``
    changes by less than ``tol`` (relative). During training ``σ̂`` lags behind a
    moving ``W`` (the optimiser grows the directions the estimate misses), so the bound
    holds only approximately in training mode — measured over 60 Adam steps, worst
    ``‖W̃‖₂ / c``: 1.04 (linear) and 1.04 (3×3 conv) at lr 1e-3, 1.10 and 1.16 at lr 0.05
    (``tests/test_iresnet.py`` pins this) — as in Miyato et al. and Behrmann et al.
    ``eval()`` runs ``init_iterations`` more (at the first use of the weight after it, so
    a switch to eval and back that never uses the layer costs nothing), and a frozen layer
    satisfies ``‖W̃‖₂ ≤ c`` to ~1e-4: invert and evaluate in eval mode. In eval mode, or inside
    :func:`no_power_iteration`, ``σ̂`` is frozen and the layer is a fixed linear map.

    ``σ = ⟨u, W v⟩`` with ``u = Wv/‖Wv‖`` is differentiable in ``W``, so gradients see
    the rescaling (as in Miyato et al., 2018).

    ``rescale`` (``nn.Linear`` only) hands both jobs to a function written elsewhere — lab 5's
    ``spectral_rescale(W, c, v, iterations) -> (W_tilde, v, sigma)`` with ``v`` of shape
    ``(in,)`` and ``sigma`` a float: it runs the power iteration (``iterations`` steps, no
    early stop) and makes the weight the layer uses. The gradient then sees whatever
    ``W_tilde`` depends on: with ``σ̂`` computed as a float, a constant factor (unlike the
    default rule's differentiable ``σ``); with ``σ̂`` kept in the graph, the default rule's.

    Args:
        layer: ``nn.Linear`` or ``nn.Conv2d`` (stride 1, no dilation, one group).
        c: the bound on the operator norm, ``0 < c``; ``c < 1`` for i-ResNets.
        iterations: power iterations per training step (at most).
        init_iterations: power iterations at the first call.
        tol: stop a step's iterations when ``|σ̂_k − σ̂_{k−1}| ≤ tol · σ̂_k``.
        rescale: ``None`` (the rule above) or a function as described (linear layers).

    Shapes: as ``layer``.

    >>> _ = torch.manual_seed(0)
    >>> sn = SpectralNorm(nn.Linear(3, 3), c=0.5)
    >>> sn(torch.randn(4, 3)).shape
    torch.Size([4, 3])
    >>> float(torch.linalg.matrix_norm(sn.weight().detach(), ord=2)) <= 0.5 + 1e-6
    True
    >>> def mine(W, c, v, iterations):              # the same rule, written by hand
    ...     for _ in range(iterations):
    ...         v = W.T @ (W @ v); v = v / torch.linalg.vector_norm(v)
    ...     sigma = float(torch.linalg.vector_norm(W @ v))
    ...     return W * min(1.0, c / sigma), v, sigma
    >>> sn2 = SpectralNorm(nn.Linear(3, 3), c=0.5, rescale=mine)
    >>> sn2(torch.randn(4, 3)).shape, round(operator_norm(sn2), 4)
    (torch.Size([4, 3]), 0.5)
    """

    def __init__(self, layer: nn.Module, c: float = 0.9, iterations: int = 10,
                 init_iterations: int = 500, tol: float = 1e-7, rescale=None):
        super().__init__()
        check_module("SpectralNorm", "layer", layer, (nn.Linear, nn.Conv2d),
                     "an nn.Linear or nn.Conv2d")
        if isinstance(layer, nn.Conv2d) and (layer.stride != (1, 1) or layer.dilation != (1, 1)
                                             or layer.groups != 1
                                             or layer.padding_mode != "zeros"
                                             or isinstance(layer.padding, str)):
            fail_value("SpectralNorm", "layer", layer, "a Conv2d with stride 1, dilation 1, "
                       "groups 1 and integer zero padding")
        self.layer = layer
        self.c = check_float("SpectralNorm", "c", c, min=0, min_open=True)
        self.iterations = check_int("SpectralNorm", "iterations", iterations, min=0)
        self.init_iterations = check_int("SpectralNorm", "init_iterations", init_iterations, min=1)
        self.tol = check_float("SpectralNorm", "tol", tol, min=0)
        if rescale is not None:
            check_callable("SpectralNorm", "rescale", rescale,
                           "None or a function (W, c, v, iterations) -> (W_tilde, v, sigma)")
            if isinstance(layer, nn.Conv2d):
                fail_value("SpectralNorm", "rescale", rescale, "None for an nn.Conv2d (a matrix rule "
                           "W.T @ (W @ v) does not run through the convolution operator)")
        self.rescale = rescale
        self.frozen = False
        self._converge = False        # eval() asked for a converged σ̂: done at the next use of the weight
        self.register_buffer("v", torch.empty(0))
        self.register_buffer("sigma_hat", torch.tensor(float("nan")))

    # ---------------------------------------------------------------- the operator
    @property
    def is_conv(self) -> bool:
        return isinstance(self.layer, nn.Conv2d)

    def _apply_W(self, v: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if self.is_conv:
            return F.conv2d(v, weight, None, padding=self.layer.padding)
        return v @ weight.T

    def _apply_WT(self, u: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if self.is_conv:
            return F.conv_transpose2d(u, weight, None, padding=self.layer.padding)
        return u @ weight

    def _init_v(self, x: torch.Tensor) -> None:
        shape = (1, *x.shape[1:]) if self.is_conv else (1, self.layer.in_features)
        g = torch.Generator().manual_seed(0)
        v = torch.randn(shape, generator=g, dtype=torch.float64).to(x.device, x.dtype)
        self.v = v / torch.linalg.vector_norm(v)

    @torch.no_grad()
    def power_iteration(self, n: int, tol: Optional[float] = None) -> float:
        """Run up to ``n`` steps ``v ← Wᵀ W v / ‖Wᵀ W v‖``; returns the new ``σ̂``.

        Stops early when ``σ̂`` changes by ≤ ``tol`` (default ``self.tol``; 0: never).
        """
        tol = self.tol if tol is None else tol
        W = self.layer.weight.detach()
        v = self.v
        if self.rescale is not None:
            _, v, sigma = self._rescaled(W, n)
            self.v = v.detach().reshape(1, -1).to(W.dtype)
            self.sigma_hat = self.sigma_hat.new_tensor(sigma)   # no in-place op: may run under torch.func
            return sigma
        sigma = float(torch.linalg.vector_norm(self._apply_W(v, W)))
        for _ in range(n):
            v = self._apply_WT(self._apply_W(v, W), W)          # Wᵀ W v
            norm = torch.linalg.vector_norm(v)
            if norm == 0:
                break
            v = v / norm
            new = float(torch.linalg.vector_norm(self._apply_W(v, W)))
            converged = abs(new - sigma) <= tol * new
            sigma = new
            if converged:
                break
        self.v = v
        self.sigma_hat = self.sigma_hat.new_tensor(sigma)   # no in-place op: may run under torch.func
        return sigma

    def _rescaled(self, W: torch.Tensor, n: int):
        """``rescale(W, c, v, n)`` on a copy of the kept ``v`` (shape ``(in,)``)."""
        with warnings.catch_warnings():     # float(sigma) of a W that requires grad: intended
            warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")
            out = self.rescale(W, self.c, self.v[0].detach().clone(), n)
        if not (isinstance(out, (tuple, list)) and len(out) == 3):
            fail_value("SpectralNorm", "rescale", self.rescale,
                       "a function that returns (W_tilde, v, sigma)")
        return out[0], out[1], float(out[2])

    def _sigma(self) -> torch.Tensor:
        """σ = ‖W v‖ with v held fixed: differentiable in W."""
        return torch.linalg.vector_norm(self._apply_W(self.v, self.layer.weight))

    def weight(self) -> torch.Tensor:
        """The rescaled weight ``W̃ = W · min(1, c/σ̂)`` the layer uses."""
        if self.v.numel() == 0:
            raise RuntimeError("SpectralNorm: call the layer once on an input first "
                               "(a convolution's operator norm depends on the input size)")
        if self._converge:
            self._converge = False
            self.power_iteration(self.init_iterations, tol=0.0)
        if self.rescale is not None:
            return self._rescaled(self.layer.weight, 0)[0]
        scale = torch.clamp(self.c / self._sigma(), max=1.0)
        return self.layer.weight * scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = self.v.numel() == 0
        if first:
            self._init_v(x)
        elif self.is_conv and tuple(x.shape[1:]) != tuple(self.v.shape[1:]):
            fail_value("SpectralNorm", "x", x, f"inputs of shape (B, {', '.join(map(str, self.v.shape[1:]))}) "
                       "(the size its operator norm was measured on)")
        if first:
            self.power_iteration(self.init_iterations, tol=0.0)
        elif (self.training and not self.frozen and self.iterations
              and not in_torch_func()):
            self.power_iteration(self.iterations)
        W = self.weight()
        if self.is_conv:
            return F.conv2d(x, W, self.layer.bias, padding=self.layer.padding)
        return F.linear(x, W, self.layer.bias)

    def train(self, mode: bool = True):
        """``eval()`` runs ``init_iterations`` full power iterations before the weight is next
        used: a frozen layer's ``σ̂`` is converged, whatever the last training steps did.
        Lazily, because ``invlab.train.fit`` switches to eval mode after every step (for its
        ``on_step``), and most of those switches never use the layer; back in training mode
        before any use, nothing is run."""
        if not mode and self.training and self.v.numel() and not self.frozen:
            self._converge = True
        elif mode:
            self._converge = False
        return super().train(mode)

    def extra_repr(self) -> str:
        extra = f", rescale={getattr(self.rescale, '__name__', 'custom')}" if self.rescale is not None else ""
        return f"c={self.c}, iterations={self.iterations}, init_iterations={self.init_iterations}{extra}"


@contextlib.contextmanager
def no_power_iteration(module: nn.Module):
    """Freeze every :class:`SpectralNorm` in ``module``: g is one fixed map inside.

    The fixed-point inverse and the Jacobian log-dets call ``g`` many times; they must
    all see the same weights.
    """
    layers = [m for m in module.modules() if isinstance(m, SpectralNorm)]
    before = [m.frozen for m in layers]
    for m in layers:
        m.frozen = True
    try:
        yield
    finally:
        for m, b in zip(layers, before):
            m.frozen = b


def operator_norm(layer: nn.Module, input_shape=None, iterations: int = 2000) -> float:
    """The true operator norm ``‖A‖₂`` of a layer's linear part (bias left out).

    ``layer``: a :class:`SpectralNorm` (its rescaled weight), ``nn.Linear`` or
    ``nn.Conv2d``. ``input_shape``: ``(C, H, W)`` of one input for a convolution
    (default: the shape a SpectralNorm saw). Exact (SVD of the full matrix, float64)
    when the input has at most 2,048 entries; else a float64 power iteration.

    >>> lin = nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad(): lin.weight.copy_(torch.tensor([[3.0, 0], [0, 1]]))
    ... # doctest: +ELLIPSIS
    Parameter...
    >>> round(operator_norm(lin), 6)
    3.0
    """
    if isinstance(layer, SpectralNorm):
        W, conv = layer.weight().detach(), layer.layer if layer.is_conv else None
        if conv is not None and input_shape is None and layer.v.numel():
            input_shape = tuple(layer.v.shape[1:])
    elif isinstance(layer, (nn.Linear, nn.Conv2d)):
        W, conv = layer.weight.detach(), layer if isinstance(layer, nn.Conv2d) else None
    else:
        raise TypeError(f"operator_norm: layer must be a SpectralNorm, nn.Linear or nn.Conv2d, "
                        f"got a {type(layer).__name__}")
    W = W.double()
    if conv is None:
        return float(torch.linalg.matrix_norm(W, ord=2))
    if input_shape is None:
        raise ValueError("operator_norm: input_shape (C, H, W) is needed for a convolution")

    def A(v):
        return F.conv2d(v, W, None, stride=conv.stride, padding=conv.padding,
                        dilation=conv.dilation, groups=conv.groups)

    n = math.prod(input_shape)
    if n <= 2048:
        basis = torch.eye(n, dtype=torch.float64, device=W.device).reshape(n, *input_shape)
        M = A(basis).reshape(n, -1)
        return float(torch.linalg.matrix_norm(M, ord=2))
    g = torch.Generator().manual_seed(1)
    v = torch.randn(1, *input_shape, generator=g, dtype=torch.float64).to(W.device)
    sigma = 0.0
    for _ in range(iterations):
        v = v / torch.linalg.vector_norm(v)
        with torch.enable_grad():
            v_ = v.clone().requires_grad_(True)
            u = A(v_)
            sigma = float(torch.linalg.vector_norm(u.detach()))
            v = torch.autograd.grad(u, v_, u)[0]  # Aᵀ A v
    return sigma


def lipschitz_bound(g: nn.Module) -> float:
    """``∏_l ‖W̃_l‖₂`` over the :class:`SpectralNorm` layers of ``g``: an upper bound of
    ``Lip(g)`` when everything between them is 1-Lipschitz (ReLU, ELU, tanh)."""
    out = 1.0
    for m in g.modules():
        if isinstance(m, SpectralNorm):
            out *= operator_norm(m)
    return out


@torch.no_grad()
def empirical_lipschitz(g, x: torch.Tensor, n_pairs: int = 256, scale: float = 1e-2,
                        seed: int = 0) -> float:
    """A lower estimate of ``Lip(g)``: ``max ‖g(a) − g(b)‖ / ‖a − b‖`` over random pairs.

    Pairs: ``a`` from the rows of ``x`` (repeated to ``n_pairs``), ``b = a + scale·ε``
    (near pairs) and shuffled rows of ``x`` (far pairs). ``x: (B, *shape)``.
    """
    check_tensor("empirical_lipschitz", "x", x, min_dim=2, floating=True)
    n_pairs = check_int("empirical_lipschitz", "n_pairs", n_pairs, min=1)
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(x), (n_pairs,), generator=gen)
    a = x[idx]
    eps = torch.randn(a.shape, generator=gen, dtype=torch.float64).to(a.device, a.dtype)
    near = a + scale * eps * a.flatten(1).std().clamp_min(1e-3)
    far = x[torch.randint(len(x), (n_pairs,), generator=gen)]
    best = 0.0
    for b in (near, far):
        d_in = torch.linalg.vector_norm((a - b).flatten(1), dim=1)
        d_out = torch.linalg.vector_norm((g(a) - g(b)).flatten(1), dim=1)
        ok = d_in > 0
        if ok.any():
            best = max(best, float((d_out[ok] / d_in[ok]).max()))
    return best


class LipSwish(nn.Module):
    r"""``x · sigmoid(β x) / 1.1`` with a learned ``β > 0`` (Chen et al., 2019): 1-Lipschitz.

    Why not ELU (Chen et al., 2019, Residual Flows, §3.3): a flow's log-det depends on
    ``g``'s first derivatives, so its gradient involves second derivatives. ELU's slope is
    at its maximum, 1, exactly where its second derivative is 0 (all ``x > 0``); LipSwish
    keeps ``|φ'| ≤ 1`` with a second derivative that does not vanish where ``|φ'|`` is
    near 1.
    """

    def __init__(self):
        super().__init__()
        self.beta_raw = nn.Parameter(torch.tensor(0.5413))  # softplus(0.5413) = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = F.softplus(self.beta_raw)
        return x * torch.sigmoid(beta * x) / 1.1


def lipschitz_mlp(dim: int, hidden: int = 64, depth: int = 2, c: float = 0.9,
                  activation=nn.ELU, **sn) -> nn.Sequential:
    """``g: (B, dim) → (B, dim)``, ``depth`` spectral-normalised linear layers with 1-Lipschitz
    ``activation`` between them; ``Lip(g) ≤ c^depth ≤ c``.

    >>> g = lipschitz_mlp(2, hidden=8, c=0.5)
    >>> g(torch.randn(3, 2)).shape
    torch.Size([3, 2])
    """
    dim = check_int("lipschitz_mlp", "dim", dim, min=1)
    hidden = check_int("lipschitz_mlp", "hidden", hidden, min=1)
    depth = check_int("lipschitz_mlp", "depth", depth, min=1)
    sizes = [dim] + [hidden] * (depth - 1) + [dim]
    layers = []
    for i in range(depth):
        if i:
            layers.append(activation())
        layers.append(SpectralNorm(nn.Linear(sizes[i], sizes[i + 1]), c=c, **sn))
    return nn.Sequential(*layers)


def lipschitz_convnet(channels: int, hidden: int = 32, kernel_size: int = 3, c: float = 0.9,
                      activation=nn.ReLU, **sn) -> nn.Sequential:
    """``g: (B, C, H, W) → (B, C, H, W)``: conv(C→hidden) · φ · conv(hidden→C), each
    spectral-normalised through the convolution operator; ``Lip(g) ≤ c²``."""
    channels = check_int("lipschitz_convnet", "channels", channels, min=1)
    hidden = check_int("lipschitz_convnet", "hidden", hidden, min=1)
    kernel_size = check_int("lipschitz_convnet", "kernel_size", kernel_size, min=1)
    if kernel_size % 2 == 0:
        fail_value("lipschitz_convnet", "kernel_size", kernel_size, "an odd int (same padding)")
    p = kernel_size // 2
    return nn.Sequential(
        activation(),
        SpectralNorm(nn.Conv2d(channels, hidden, kernel_size, padding=p), c=c, **sn),
        activation(),
        SpectralNorm(nn.Conv2d(hidden, channels, kernel_size, padding=p), c=c, **sn))


class ConvergenceError(RuntimeError):
    """The fixed-point iteration of an i-ResNet inverse did not reach its tolerance."""


def fixed_point_inverse(g, y: torch.Tensor, rtol: float = 1e-5, max_iterations: int = 500,
                        owner: str = "fixed_point_inverse"):
    r"""Solve ``x + g(x) = y`` by ``x ← y − g(x)`` from ``x = y``; returns ``(x, iterations)``.

    Stops when, for every sample, the Banach error bound of the new iterate,
    ``q/(1−q) · ‖x_{k+1} − x_k‖`` with ``q`` the measured contraction (ratio of the last
    two steps), is ≤ ``rtol · ‖x_{k+1}‖`` and the step itself (= the residual
    ``‖x_k + g(x_k) − y‖``) is ≤ ``rtol · ‖y‖``. Raises :class:`ConvergenceError` after
    ``max_iterations`` (never returns an unconverged ``x``). Runs without gradients.

    Shapes: ``y: (B, *shape)`` → ``x: (B, *shape)``.

    >>> y = torch.ones(2, 3, dtype=torch.float64)
    >>> x, k = fixed_point_inverse(lambda x: 0.5 * torch.sin(x), y, rtol=1e-10)
    >>> bool(torch.allclose(x + 0.5 * torch.sin(x), y, atol=1e-10)), k < 40
    (True, True)
    """
    check_tensor(owner, "y", y, min_dim=2, floating=True)
    rtol = check_float(owner, "rtol", rtol, min=0, min_open=True)
    max_iterations = check_int(owner, "max_iterations", max_iterations, min=1)

    def norms(t):
        return torch.linalg.vector_norm(t.flatten(1).double(), dim=1)

    y_norm = norms(y)
    floor = 20 * torch.finfo(y.dtype).eps * y_norm        # below this a step is rounding
    x, prev_step = y, None
    q = torch.zeros_like(y_norm)                          # contraction seen so far
    with torch.no_grad():
        for k in range(1, max_iterations + 1):
            x_new = y - g(x)
            step = norms(x_new - x)
            if prev_step is not None:                     # ‖g(a) − g(b)‖ ≤ Lip(g)‖a − b‖
                seen = prev_step > 10 * floor
                ratio = step / torch.where(seen, prev_step, torch.ones_like(prev_step))
                q = torch.where(seen, torch.maximum(q, ratio), q).clamp(max=0.999)
            x, prev_step = x_new, step
            bound = step * torch.clamp(q / (1 - q), min=1.0)   # Banach: ‖x − x*‖ ≤ q/(1−q)·step
            scale = torch.minimum(norms(x), y_norm)
            done = (step <= floor) | ((bound <= rtol * scale) & (k > 1))
            if bool(done.all()):
                return x, k
    worst = float((step / y_norm.detach().clamp_min(1e-300)).max())
    raise ConvergenceError(
        f"{owner}: the fixed-point iteration x ← y − g(x) did not converge in "
        f"{max_iterations} iterations (relative step {worst:.2e}, tolerance rtol = {rtol:.0e}); "
        f"the measured contraction ‖Δx_k‖/‖Δx_(k−1)‖ reached {float(q.max()):.3f}: "
        f"is Lip(g) < 1?")


class IResBlock(InvertibleModule):
    r"""One i-ResNet block, ``y = x + g(x)`` with ``Lip(g) < 1``.

    * ``inverse``: the fixed-point iteration :func:`fixed_point_inverse`; the number of
      iterations it used is ``last_iterations``; raises :class:`ConvergenceError` when it
      does not reach ``inverse_rtol`` in ``max_iterations``.
    * ``forward_with_log_det``: ``log|det(I + J_g)|`` by ``log_det`` —
      ``"exact"`` (full Jacobian, small D), ``"series"`` (power series with ``n_terms``
      terms and ``n_probes`` Hutchinson probes) or ``"roulette"`` (unbiased
      Russian-roulette series); see :mod:`invlab.logdet`.

    ``g`` is run with frozen spectral norms inside the inverse and the Jacobian
    computations, so every call sees one and the same map.

    Args:
        g: ``(B, *shape) → (B, *shape)``, e.g. :func:`lipschitz_mlp`.
        log_det: one of ``"exact"``, ``"series"``, ``"roulette"``.
        n_terms, n_probes, probe: settings of the estimators.
        inverse_rtol: relative tolerance of the inverse (the contract's tolerance); the
            iteration stops at ``inverse_tolerance(dtype) = max(inverse_rtol, 1e-5)`` in
            float32 (its rounding floor) and at ``inverse_rtol`` in float64.
        max_iterations: iteration cap of the inverse.

    >>> _ = torch.manual_seed(0)
    >>> block = IResBlock(lipschitz_mlp(2, 16, c=0.7), log_det="exact")
    >>> x = torch.randn(5, 2, dtype=torch.float64); block = block.double()
    >>> y, ld = block.forward_with_log_det(x)
    >>> x_rec = block.inverse(y)
    >>> bool(torch.allclose(x_rec, x, atol=1e-4)), ld.shape, block.last_iterations < 60
    (True, torch.Size([5]), True)
    """

    inverse_kind = "iterative"
    inverse_rtol = 1e-5

    @property
    def log_det_kind(self) -> str:
        """``"exact"`` with the full Jacobian, else ``"estimate"`` (series or roulette)."""
        return "exact" if self.log_det == "exact" else "estimate"

    def log_det_bias(self, x: torch.Tensor) -> float:
        r"""A bound on the truncation bias of the estimate per sample:

        .. math:: \Big|\sum_{k > n} \frac{(-1)^{k+1}}{k} \operatorname{tr} J_g^k\Big|
                  \le D \sum_{k > n} \frac{L^k}{k} \le \frac{D\, L^{n+1}}{(n+1)(1 - L)}

        with ``L`` the Lipschitz bound of ``g`` (:func:`lipschitz_bound`), ``n = n_terms``
        and ``D`` the size of one sample; 0 for ``"exact"`` and for the unbiased
        ``"roulette"``.
        """
        if self.log_det != "series":
            return 0.0
        L = min(lipschitz_bound(self.g), 1 - 1e-6)
        return x[0].numel() * L ** (self.n_terms + 1) / ((self.n_terms + 1) * (1 - L))

    def __init__(self, g: nn.Module, log_det: str = "series", n_terms: int = 5,
                 n_probes: int = 1, probe: str = "gaussian", inverse_rtol: float = 1e-5,
                 max_iterations: int = 500):
        super().__init__()
        self.g = check_module("IResBlock", "g", g)
        self.log_det = check_choice("IResBlock", "log_det", log_det, LOG_DET_ESTIMATORS)
        self.n_terms = check_int("IResBlock", "n_terms", n_terms, min=1)
        self.n_probes = check_int("IResBlock", "n_probes", n_probes, min=1)
        self.probe = check_choice("IResBlock", "probe", probe, _logdet.PROBES)
        self.inverse_rtol = check_float("IResBlock", "inverse_rtol", inverse_rtol,
                                        min=0, min_open=True)
        self.max_iterations = check_int("IResBlock", "max_iterations", max_iterations, min=1)
        self.last_iterations: Optional[int] = None

    def _log_det(self, x: torch.Tensor):
        """(g(x), log|det(I + J_g(x))|) with the chosen estimator."""
        if self.log_det == "exact":
            xg, gx, wants = _logdet.with_graph(self.g, x)
            ld = _logdet.log_det_from_jacobian(_logdet.jacobian_from_graph(xg, gx, wants))
            return (gx, ld) if wants else (gx.detach(), ld)
        xg, gx, wants = _logdet.with_graph(self.g, x)
        with no_power_iteration(self.g):
            if self.log_det == "series":
                ld = _logdet.series_from_graph(xg, gx, self.n_terms, self.n_probes, self.probe,
                                               create_graph=wants)
            else:
                ld = _logdet.roulette_from_graph(xg, gx, n_probes=self.n_probes,
                                                 probe=self.probe, create_graph=wants)
        if not wants:
            gx = gx.detach()
        return gx, ld

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("IResBlock", "x", x, min_dim=2, floating=True)
        return x + self.g(x)

    def forward_with_log_det(self, x: torch.Tensor):
        check_tensor("IResBlock", "x", x, min_dim=2, floating=True)
        gx, ld = self._log_det(x)
        return x + gx, ld

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        with no_power_iteration(self.g):
            x, self.last_iterations = fixed_point_inverse(
                self.g, y, rtol=self.inverse_tolerance(y.dtype), max_iterations=self.max_iterations,
                owner="IResBlock.inverse")
        return x

    def inverse_with_log_det(self, y: torch.Tensor):
        x = self.inverse(y)
        with no_power_iteration(self.g):
            _, ld = self._log_det(x)
        return x, -ld

    def extra_repr(self) -> str:
        return (f"log_det={self.log_det!r}, n_terms={self.n_terms}, n_probes={self.n_probes}, "
                f"inverse_rtol={self.inverse_rtol:g}")
