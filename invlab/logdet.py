r"""log|det(I + J_g(x))| of an i-ResNet block, exactly and by stochastic estimators.

For ``Lip(g) < 1`` every eigenvalue of ``J_g`` has modulus < 1, and

.. math:: \log|\det(I + J_g)| = \operatorname{tr}\log(I + J_g)
          = \sum_{k=1}^{\infty} \frac{(-1)^{k+1}}{k}\, \operatorname{tr}(J_g^k).

* :func:`residual_log_det` — exact, from the full Jacobian (checked against
  :func:`invlab.exact_log_det` in the tests);
  ``O(D³)`` per sample, for small ``D``.
* :func:`power_series_log_det` — the series truncated after ``n`` terms, each trace by
  Hutchinson's estimator ``tr(A) = E[vᵀ A v]`` for probes with ``E[v vᵀ] = I``
  (Gaussian or Rademacher). ``vᵀ J^k`` costs ``k`` vector-Jacobian products; no
  Jacobian is ever formed. Biased by the truncation (the tail is ≤ Σ_{k>n} D·c^k/k).
  ``exact_traces=True`` uses ``tr(J^k)`` from the full Jacobian instead (no probe noise,
  only the truncation).
* :func:`russian_roulette_log_det` — unbiased (Chen et al., 2019, Residual Flows): the
  first ``n_exact`` terms always, then term ``k`` only when a random ``N ≥ k``, divided
  by ``P(N ≥ k) = (1−p)^{k−n_exact}`` (geometric ``N``).

All functions take ``g: (B, *shape) → (B, *shape)`` acting sample by sample and
``x: (B, *shape)`` and return ``(B,)``. Gradients flow to ``g``'s parameters and ``x``
when gradients are enabled.
"""
from __future__ import annotations

from typing import Optional

import torch

from .validate import check_callable, check_choice, check_float, check_int, check_tensor

__all__ = ["PROBES", "probes", "with_graph", "jacobian", "residual_log_det", "power_series_log_det",
           "russian_roulette_log_det", "series_from_graph", "roulette_from_graph",
           "jacobian_from_graph", "log_det_from_jacobian"]

PROBES = ("gaussian", "rademacher")


def probes(like: torch.Tensor, kind: str = "gaussian",
           generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """A Hutchinson probe shaped like ``like``: ``E[v vᵀ] = I`` (per sample).

    >>> v = probes(torch.zeros(2, 3), "rademacher", torch.Generator().manual_seed(0))
    >>> sorted(set(v.abs().flatten().tolist()))
    [1.0]
    """
    kind = check_choice("probes", "kind", kind, PROBES)
    v = torch.randn(like.shape, generator=generator, dtype=torch.float64)
    if kind == "rademacher":
        v = torch.sign(v) + (v == 0)
    return v.to(like.device, like.dtype)


def jacobian(g, x: torch.Tensor) -> torch.Tensor:
    """The per-sample Jacobian ``J_g(x_b)``, ``(B, D, D)`` with ``D = x[0].numel()``.

    Row by row with autograd (``D`` vector-Jacobian products on the whole batch, no
    torch.func), differentiable when gradients are enabled; for small ``D``.

    >>> jacobian(lambda v: 2 * v, torch.ones(1, 2))
    tensor([[[2., 0.],
             [0., 2.]]])
    """
    check_callable("jacobian", "g", g)
    check_tensor("jacobian", "x", x, min_dim=2, floating=True)
    xg, gx, wants = with_graph(g, x)
    return jacobian_from_graph(xg, gx, create_graph=wants)


def jacobian_from_graph(xg: torch.Tensor, gx: torch.Tensor,
                        create_graph: Optional[bool] = None) -> torch.Tensor:
    """:func:`jacobian` on a computed ``gx = g(xg)``: ``(B, D, D)``."""
    if create_graph is None:
        create_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        out = gx.flatten(1)
        rows = [torch.autograd.grad(out[:, i].sum(), xg, retain_graph=True,
                                    create_graph=create_graph)[0].flatten(1)
                for i in range(out.shape[1])]
    J = torch.stack(rows, 1)
    return J if create_graph else J.detach()


def log_det_from_jacobian(J: torch.Tensor) -> torch.Tensor:
    """``log|det(I + J)|`` for ``J: (B, D, D)`` → ``(B,)``."""
    eye = torch.eye(J.shape[-1], dtype=J.dtype, device=J.device)
    return torch.linalg.slogdet(eye + J)[1]


def residual_log_det(g, x: torch.Tensor) -> torch.Tensor:
    """Exact ``log|det(I + J_g(x_b))|`` per sample, ``(B,)`` (full Jacobian, small D).

    The same number as ``invlab.exact_log_det(lambda v: v + g(v), x)``, computed with
    plain autograd (:func:`jacobian`) so that it trains without torch.func.

    >>> residual_log_det(lambda v: 0.5 * v, torch.zeros(3, 2, dtype=torch.float64))
    tensor([0.8109, 0.8109, 0.8109], dtype=torch.float64)
    """
    return log_det_from_jacobian(jacobian(g, x))


def with_graph(g, x: torch.Tensor):
    """(x with grad, g(x) with its graph, whether the caller wants gradients)."""
    wants_grad = torch.is_grad_enabled()
    with torch.enable_grad():
        xg = x if x.requires_grad else x.detach().requires_grad_(True)
        gx = g(xg)
    return xg, gx, wants_grad


def _vjp(gx, xg, w, create_graph):
    return torch.autograd.grad(gx, xg, w, create_graph=create_graph, retain_graph=True)[0]


def _dot(a, b):
    return (a * b).flatten(1).sum(1)


def series_from_graph(xg: torch.Tensor, gx: torch.Tensor, n_terms: int, n_probes: int = 1,
                      probe: str = "gaussian", generator=None,
                      create_graph: Optional[bool] = None) -> torch.Tensor:
    """The truncated series on a computed ``gx = g(xg)`` (used by :class:`IResBlock`)."""
    if create_graph is None:
        create_graph = torch.is_grad_enabled()
    total = xg.new_zeros(len(xg))
    with torch.enable_grad():
        for _ in range(n_probes):
            v = probes(xg, probe, generator)
            w = v
            for k in range(1, n_terms + 1):
                w = _vjp(gx, xg, w, create_graph)          # w = vᵀ J^k
                total = total + (-1) ** (k + 1) / k * _dot(w, v)
    out = total / n_probes
    return out if create_graph else out.detach()


def roulette_from_graph(xg: torch.Tensor, gx: torch.Tensor, p: float = 0.5, n_exact: int = 2,
                        n_probes: int = 1, probe: str = "gaussian", generator=None,
                        max_terms: int = 200, create_graph: Optional[bool] = None) -> torch.Tensor:
    """The Russian-roulette estimator on a computed ``gx = g(xg)``."""
    if create_graph is None:
        create_graph = torch.is_grad_enabled()
    B = len(xg)
    total = xg.new_zeros(B)
    with torch.enable_grad():
        for _ in range(n_probes):
            u = torch.rand(B, generator=generator, dtype=torch.float64)
            # N − n_exact ~ Geometric on {0, 1, ...}: P(N ≥ n_exact + j) = (1 − p)^j
            extra = torch.floor(torch.log(u) / torch.log1p(torch.tensor(-p, dtype=torch.float64)))
            N = (n_exact + extra).clamp(max=max_terms).to(xg.device)
            v = probes(xg, probe, generator)
            w = v
            for k in range(1, int(N.max()) + 1):
                w = _vjp(gx, xg, w, create_graph)
                keep = (N >= k).to(xg.dtype)
                weight = (1 - p) ** -max(0, k - n_exact)
                total = total + keep * weight * (-1) ** (k + 1) / k * _dot(w, v)
    out = total / n_probes
    return out if create_graph else out.detach()


def _check(fn, g, x):
    check_callable(fn, "g", g)
    check_tensor(fn, "x", x, min_dim=2, floating=True)


def power_series_log_det(g, x: torch.Tensor, n_terms: int = 5, n_probes: int = 1,
                         probe: str = "gaussian", exact_traces: bool = False,
                         generator: Optional[torch.Generator] = None) -> torch.Tensor:
    r"""``Σ_{k=1}^{n} (−1)^{k+1} tr(J_g^k)/k`` per sample, ``(B,)``.

    Traces by Hutchinson (``n_probes`` probes of kind ``probe``, averaged), or exact
    (``exact_traces=True``: from the full Jacobian; small D only).

    >>> g = lambda v: 0.5 * v                  # J = I/2, log det(I + J) = D·log 1.5
    >>> x = torch.zeros(1, 2, dtype=torch.float64)
    >>> round(float(power_series_log_det(g, x, 40, exact_traces=True)), 6)
    0.81093
    """
    _check("power_series_log_det", g, x)
    n_terms = check_int("power_series_log_det", "n_terms", n_terms, min=1)
    n_probes = check_int("power_series_log_det", "n_probes", n_probes, min=1)
    if exact_traces:
        J = jacobian(g, x)
        Jk, total = J, x.new_zeros(len(x))
        for k in range(1, n_terms + 1):
            total = total + (-1) ** (k + 1) / k * torch.diagonal(Jk, dim1=1, dim2=2).sum(1)
            Jk = Jk @ J
        return total
    xg, gx, wants = with_graph(g, x)
    return series_from_graph(xg, gx, n_terms, n_probes, probe, generator, create_graph=wants)


def russian_roulette_log_det(g, x: torch.Tensor, p: float = 0.5, n_exact: int = 2,
                             n_probes: int = 1, probe: str = "gaussian",
                             generator: Optional[torch.Generator] = None,
                             max_terms: int = 200) -> torch.Tensor:
    r"""Unbiased estimate of ``log|det(I + J_g)|`` per sample, ``(B,)``.

    ``Σ_{k=1}^{N} (−1)^{k+1} vᵀJ^k v / (k · P(N ≥ k))`` with ``N = n_exact + Geometric(p)``.
    Its variance is finite when ``Lip(g)² < 1 − p``; the expected number of terms is
    ``n_exact + (1 − p)/p``.
    """
    _check("russian_roulette_log_det", g, x)
    p = check_float("russian_roulette_log_det", "p", p, min=0, max=1, min_open=True, max_open=True)
    n_exact = check_int("russian_roulette_log_det", "n_exact", n_exact, min=0)
    n_probes = check_int("russian_roulette_log_det", "n_probes", n_probes, min=1)
    xg, gx, wants = with_graph(g, x)
    return roulette_from_graph(xg, gx, p, n_exact, n_probes, probe, generator, max_terms,
                               create_graph=wants)
