r"""Pseudo-invertible pairs: two networks :math:`f \approx g^{-1}` tied by a cycle penalty (lab 6).

Two ordinary networks :math:`f_\theta: X \to Y` and :math:`g_\phi: Y \to X` are trained on
pairs :math:`(x_i, y_i)` with the fit loss

.. math::  \mathcal{L} = \tfrac1n \textstyle\sum_i \lVert f(x_i) - y_i\rVert^2
                       + \tfrac1n \sum_i \lVert g(y_i) - x_i\rVert^2

plus the cycle penalty

.. math::  \Omega(\mu, \lambda) = \mu\, \mathbb{E}_Y \lVert Y - f(g(Y))\rVert^2
                                + \lambda\, \mathbb{E}_X \lVert X - g(f(X))\rVert^2 .

Nothing makes the pair invertible by construction: it is only where Ω was evaluated.
:func:`cycle_report` measures that honestly, on fine grids inside the training range
and outside it. These are the course's reference implementations (the lab's graded cells
compare the student's versions with them).

Shapes: ``x``: ``(N, D)``, ``y``: ``(M, D')``; ``f``, ``g`` map batches to batches.
"""
from __future__ import annotations

from typing import Callable, Dict

import torch

from .validate import check_callable, check_float, check_int, check_tensor

__all__ = ["fit_loss", "omega", "cycle_errors", "cycle_report"]

Fn = Callable[[torch.Tensor], torch.Tensor]


def _sq_norm_mean(d: torch.Tensor) -> torch.Tensor:
    """E‖d‖²: squares summed over the features of a sample, averaged over samples."""
    return d.pow(2).flatten(1).sum(1).mean()


def fit_loss(f: Fn, g: Fn, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The two-way fit :math:`\frac1n\sum\lVert f(x_i) - y_i\rVert^2 + \frac1n\sum\lVert g(y_i) - x_i\rVert^2`.

    ``x``: ``(N, D)``, ``y``: ``(N, D')`` paired row by row. Returns a 0-dim tensor.

    >>> x = torch.tensor([[0.0], [1.0]])
    >>> fit_loss(lambda v: 2 * v, lambda v: v / 2, x, 2 * x)
    tensor(0.)
    """
    check_callable("fit_loss", "f", f)
    check_callable("fit_loss", "g", g)
    check_tensor("fit_loss", "x", x, min_dim=2, floating=True)
    check_tensor("fit_loss", "y", y, min_dim=2, floating=True)
    if len(x) != len(y):
        raise ValueError(f"fit_loss: x and y must have the same number of rows (pairs), "
                         f"got {len(x)} and {len(y)}")
    return _sq_norm_mean(f(x) - y) + _sq_norm_mean(g(y) - x)


def omega(f: Fn, g: Fn, x: torch.Tensor, y: torch.Tensor, mu: float, lam: float) -> torch.Tensor:
    r"""The cycle penalty :math:`\mu\,\mathbb{E}\lVert y - f(g(y))\rVert^2 + \lambda\,\mathbb{E}\lVert x - g(f(x))\rVert^2`.

    ``x``: ``(N, D)`` and ``y``: ``(M, D')`` need **not** be paired (nor equally many):
    each term uses one side only. Returns a 0-dim tensor that carries gradients.

    >>> f, g = (lambda v: 2 * v), (lambda v: v / 2 + 0.1)   # g(f(x)) = x + 0.1, f(g(y)) = y + 0.2
    >>> x, y = torch.zeros(3, 1), torch.zeros(5, 1)
    >>> round(omega(f, g, x, y, mu=1.0, lam=0.0).item(), 6), round(omega(f, g, x, y, 0.0, 1.0).item(), 6)
    (0.04, 0.01)
    """
    check_callable("omega", "f", f)
    check_callable("omega", "g", g)
    check_tensor("omega", "x", x, min_dim=2, floating=True)
    check_tensor("omega", "y", y, min_dim=2, floating=True)
    mu = check_float("omega", "mu", mu, min=0)
    lam = check_float("omega", "lam", lam, min=0)
    return mu * _sq_norm_mean(y - f(g(y))) + lam * _sq_norm_mean(x - g(f(x)))


def cycle_errors(f: Fn, g: Fn, x: torch.Tensor, y: torch.Tensor):
    r"""Per-sample cycle errors :math:`(\lVert x - g(f(x))\rVert, \lVert y - f(g(y))\rVert)`.

    Shapes: ``(N, D) -> (N,)`` and ``(M, D') -> (M,)``; computed without gradients.

    >>> ex, ey = cycle_errors(lambda v: 2 * v, lambda v: v / 2 + 0.1, torch.zeros(2, 1), torch.zeros(3, 1))
    >>> ex, ey
    (tensor([0.1000, 0.1000]), tensor([0.2000, 0.2000, 0.2000]))
    """
    check_callable("cycle_errors", "f", f)
    check_callable("cycle_errors", "g", g)
    check_tensor("cycle_errors", "x", x, min_dim=2, floating=True)
    check_tensor("cycle_errors", "y", y, min_dim=2, floating=True)
    with torch.no_grad():
        return ((x - g(f(x))).flatten(1).norm(dim=1), (y - f(g(y))).flatten(1).norm(dim=1))


def _rms(e: torch.Tensor) -> float:
    return e.pow(2).mean().sqrt().item() if e.numel() else float("nan")


def cycle_report(f: Fn, g: Fn, x_train: torch.Tensor, y_train: torch.Tensor, margin: float,
                 n: int = 2001) -> Dict[str, float]:
    r"""RMS cycle errors inside and outside the training range (1-D data).

    On the grid of ``n`` points over :math:`[\min x_{train} - m,\ \max x_{train} + m]`
    (``m = margin``), the RMS :math:`\sqrt{\operatorname{mean} |x - g(f(x))|^2}` over the
    grid points inside :math:`[\min x_{train}, \max x_{train}]` is ``x_in``, over those
    outside (both sides) ``x_out``; the same with ``y_train`` and :math:`|y - f(g(y))|`
    gives ``y_in`` and ``y_out``. Returns a dict of four floats.

    Shapes: ``x_train``: ``(N, 1)``, ``y_train``: ``(M, 1)``.

    >>> xt = torch.linspace(-1, 1, 11)[:, None]
    >>> r = cycle_report(lambda v: v, lambda v: v + 0.1 * (v.abs() > 1), xt, xt, margin=1.0)
    >>> round(r["x_in"], 6), round(r["x_out"], 3)
    (0.0, 0.1)
    """
    check_callable("cycle_report", "f", f)
    check_callable("cycle_report", "g", g)
    check_tensor("cycle_report", "x_train", x_train, shape=(None, 1), floating=True)
    check_tensor("cycle_report", "y_train", y_train, shape=(None, 1), floating=True)
    margin = check_float("cycle_report", "margin", margin, min=0, min_open=True)
    n = check_int("cycle_report", "n", n, min=3)
    out: Dict[str, float] = {}
    for side, data in (("x", x_train), ("y", y_train)):
        lo, hi = data.min().item(), data.max().item()
        grid = torch.linspace(lo - margin, hi + margin, n, dtype=data.dtype,
                              device=data.device)[:, None]
        inside = ((grid >= lo) & (grid <= hi)).squeeze(1)
        ex, ey = cycle_errors(f, g, grid, grid)
        e = ex if side == "x" else ey
        out[f"{side}_in"], out[f"{side}_out"] = _rms(e[inside]), _rms(e[~inside])
    return out
