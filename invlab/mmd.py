r"""Maximum mean discrepancy (MMD) between two samples, usable as a training loss.

For a kernel κ the squared MMD between distributions P and Q is

    MMD²(P, Q) = E_{X,X'~P} κ(X, X') + E_{Y,Y'~Q} κ(Y, Y') − 2 E_{X~P, Y~Q} κ(X, Y).

Given samples ``x`` (n rows x_i) and ``y`` (m rows y_j) of dimension D:

* the **unbiased** estimator (U-statistic, ``unbiased=True``, the default) leaves out
  the pairs i = j inside each sample::

      MMD²_u = 1/(n(n−1)) Σ_i Σ_{j≠i} κ(x_i, x_j)
             + 1/(m(m−1)) Σ_i Σ_{j≠i} κ(y_i, y_j)
             − 2/(n m)    Σ_i Σ_j    κ(x_i, y_j)

  Its expectation is exactly MMD², so for two samples of the same distribution it
  scatters around 0 and **can be negative**. It needs n ≥ 2 and m ≥ 2.

* the **biased** estimator (V-statistic, ``unbiased=False``) keeps the pairs i = j
  (weights 1/n², 1/m²). It is the squared RKHS distance between the two empirical
  mean embeddings, hence always ≥ 0, but it is biased upwards by O(1/n + 1/m).

Kernels are written as functions of the squared distance d = ‖a − b‖², with a
bandwidth h > 0:

* Gaussian:               κ_h(a, b) = exp(−‖a − b‖² / (2 h²))
* inverse multiquadric:   κ_h(a, b) = h² / (h² + ‖a − b‖²)

The code published with Ardizzone et al. (2019, *Analyzing inverse problems with
invertible neural networks*; github.com/vislearn/analyzing_inverse_problems) writes the
IMQ as C / (C + ‖a − b‖²); here C = h², so the widths ``a`` in its ``a² / (a² + d)``
are this module's bandwidths (both kernels equal 1 at d = 0). A **multiscale** kernel is the plain (unweighted) sum over several
bandwidths, Σ_h κ_h, so its value at d = 0 is ``len(bandwidths)``.

Shapes: ``x`` is ``(n, D)`` and ``y`` is ``(m, D)``; a 1-D tensor ``(N,)`` is read as N
scalar samples, i.e. ``(N, 1)``. Any other number of dimensions is an error (flatten
images first, e.g. ``x.flatten(1)``). Both tensors must share one floating dtype and
one device; all work happens there (CPU or GPU) and everything is differentiable, so
``mmd2(model(z), target).backward()`` works.

>>> import torch
>>> x = torch.tensor([[0.0], [1.0], [2.0]])
>>> round(mmd2(x, x + 5.0, kernel="gaussian", bandwidths=1.0).item(), 4)
0.8963
"""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import torch

from .validate import check_bool, check_float, check_tensor, fail_type, fail_value

__all__ = ["pairwise_sq_dists", "gaussian_kernel", "imq_kernel", "multiscale_kernel",
           "mmd2", "mmd2_unbiased", "mmd2_biased", "KERNELS", "DEFAULT_BANDWIDTHS"]

#: Kernel names accepted by :func:`multiscale_kernel` (``kind``) and :func:`mmd2` (``kernel``).
KERNELS: Tuple[str, ...] = ("gaussian", "imq")

#: The multiscale IMQ widths of the toy 8-modes notebook published with Ardizzone et al.'s
#: code (vislearn/analyzing_inverse_problems, toy_8-modes/toy_8-modes.ipynb, MMD_multiscale;
#: its science experiments use other widths); they suit data of roughly unit scale.
#: Rescale them (or the data) for other scales.
DEFAULT_BANDWIDTHS: Tuple[float, ...] = (0.05, 0.2, 0.9)

Bandwidths = Union[float, Sequence[float]]


# --------------------------------------------------------------------------- checks
def _as_2d(t, name: str, who: str) -> torch.Tensor:
    check_tensor(who, name, t, floating=True)
    if t.dim() == 1:
        return t.unsqueeze(-1)
    if t.dim() != 2:
        fail_value(who, name, t, f"a tensor of shape (N, D) or (N,) (flatten the feature "
                                 f"dimensions first, e.g. {name}.flatten(1))")
    return t


def _check_pair(x, y, who: str) -> Tuple[torch.Tensor, torch.Tensor]:
    x = _as_2d(x, "x", who)
    y = _as_2d(y, "y", who)
    if x.shape[1] != y.shape[1]:
        fail_value(who, "y", y, f"a tensor with the {x.shape[1]} features of x")
    if x.dtype != y.dtype:
        fail_type(who, "y", y, f"a tensor of the dtype of x, "
                               f"{str(x.dtype).replace('torch.', '')} (e.g. y.to(x.dtype))")
    if x.device != y.device:
        fail_value(who, "y", y, f"a tensor on the device of x, {x.device}, not {y.device} "
                                f"(e.g. y.to(x.device))")
    return x, y


def _check_bandwidths(bandwidths, who: str) -> Tuple[float, ...]:
    if not isinstance(bandwidths, (tuple, list)) and not (
            isinstance(bandwidths, torch.Tensor) and bandwidths.dim() > 0):
        if isinstance(bandwidths, (str, bytes)) or (hasattr(bandwidths, "__iter__")
                                                     and not isinstance(bandwidths, torch.Tensor)):
            fail_type(who, "bandwidths", bandwidths, "a positive number or a sequence of them")
        return (check_float(who, "bandwidths", bandwidths, min=0, min_open=True),)
    hs = list(bandwidths)
    if not hs:
        fail_value(who, "bandwidths", bandwidths, f"a positive number or a non-empty sequence "
                                                  f"of them, e.g. {DEFAULT_BANDWIDTHS}")
    return tuple(check_float(who, f"bandwidths[{i}]", h, min=0, min_open=True)
                 for i, h in enumerate(hs))


def _check_kind(kind, name: str, who: str) -> str:
    expected = "one of " + ", ".join(repr(k) for k in KERNELS)
    if not isinstance(kind, str):
        fail_type(who, name, kind, expected)
    if kind.lower() not in KERNELS:
        fail_value(who, name, kind, expected)
    return kind.lower()


# ------------------------------------------------------------------ distances, kernels
def _sq_dists(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # ‖a‖² + ‖b‖² − 2 a·b via one matrix product: O(nm) memory (no (n, m, D) tensor).
    # Rounding can make it slightly negative (mostly for a ≈ b): clamp at 0.
    x2 = x.pow(2).sum(dim=1, keepdim=True)           # (n, 1)
    y2 = y.pow(2).sum(dim=1, keepdim=True).T         # (1, m)
    return torch.addmm(x2 + y2, x, y.T, alpha=-2.0).clamp_min(0.0)


def _kernel_of_sq_dists(d: torch.Tensor, kind: str, hs: Sequence[float]) -> torch.Tensor:
    k = None
    for h in hs:
        h2 = h * h
        if kind == "gaussian":
            kh = torch.exp(d * (-0.5 / h2))
        else:  # "imq"
            kh = h2 / (d + h2)
        k = kh if k is None else k + kh
    return k


def pairwise_sq_dists(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Matrix of squared Euclidean distances D[i, j] = ‖x_i − y_j‖², shape ``(n, m)``.

    Computed as ‖x_i‖² + ‖y_j‖² − 2 x_i·y_j (one matrix product, no ``(n, m, D)``
    intermediate) and clamped at 0, since rounding can make it slightly negative.

    Args:
        x: ``(n, D)`` (or ``(n,)``, read as ``(n, 1)``).
        y: ``(m, D)``, same dtype and device as ``x``.

    >>> import torch
    >>> pairwise_sq_dists(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0], [1.0, 0.0]]))
    tensor([[25.,  1.]])
    """
    x, y = _check_pair(x, y, "pairwise_sq_dists")
    return _sq_dists(x, y)


def gaussian_kernel(x: torch.Tensor, y: torch.Tensor, bandwidth: float = 1.0) -> torch.Tensor:
    """Gaussian kernel matrix K[i, j] = exp(−‖x_i − y_j‖² / (2 h²)), shape ``(n, m)``.

    Args:
        x: ``(n, D)`` (or ``(n,)``); y: ``(m, D)``, same dtype and device.
        bandwidth: h > 0, the length scale (the Gaussian's standard deviation).

    >>> import torch
    >>> gaussian_kernel(torch.zeros(1, 2), torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    tensor([[1.0000, 0.3679]])
    """
    x, y = _check_pair(x, y, "gaussian_kernel")
    h = check_float("gaussian_kernel", "bandwidth", bandwidth, min=0, min_open=True)
    return _kernel_of_sq_dists(_sq_dists(x, y), "gaussian", (h,))


def imq_kernel(x: torch.Tensor, y: torch.Tensor, bandwidth: float = 1.0) -> torch.Tensor:
    """Inverse multiquadric kernel matrix K[i, j] = h² / (h² + ‖x_i − y_j‖²), shape (n, m).

    This is the C / (C + ‖a − b‖²) of Ardizzone et al.'s code with C = h²; it equals 1 at zero
    distance and has heavy (1/d) tails, so it still gives useful gradients when the
    two samples are far apart.

    Args:
        x: ``(n, D)`` (or ``(n,)``); y: ``(m, D)``, same dtype and device.
        bandwidth: h > 0, the length scale.

    >>> import torch
    >>> imq_kernel(torch.zeros(1, 2), torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    tensor([[1.0000, 0.3333]])
    """
    x, y = _check_pair(x, y, "imq_kernel")
    h = check_float("imq_kernel", "bandwidth", bandwidth, min=0, min_open=True)
    return _kernel_of_sq_dists(_sq_dists(x, y), "imq", (h,))


def multiscale_kernel(x: torch.Tensor, y: torch.Tensor,
                      bandwidths: Bandwidths = DEFAULT_BANDWIDTHS,
                      kind: str = "imq") -> torch.Tensor:
    """Sum of one kernel over several bandwidths: K[i, j] = Σ_h κ_h(x_i, y_j), shape ``(n, m)``.

    Args:
        x: ``(n, D)`` (or ``(n,)``); y: ``(m, D)``, same dtype and device.
        bandwidths: a positive number or a non-empty sequence of them.
        kind: ``"imq"`` (κ_h = h²/(h² + d)) or ``"gaussian"`` (κ_h = exp(−d/(2h²))),
            with d = ‖x_i − y_j‖².

    >>> import torch
    >>> a, b = torch.zeros(1, 1), torch.tensor([[0.0], [1.0]])
    >>> multiscale_kernel(a, b, bandwidths=(1.0, 2.0))  # 1/(1+d) + 4/(4+d)
    tensor([[2.0000, 1.3000]])
    """
    who = "multiscale_kernel"
    x, y = _check_pair(x, y, who)
    kind = _check_kind(kind, "kind", who)
    hs = _check_bandwidths(bandwidths, who)
    return _kernel_of_sq_dists(_sq_dists(x, y), kind, hs)


# ------------------------------------------------------------------------------ MMD
def mmd2(x: torch.Tensor, y: torch.Tensor, kernel: str = "imq",
         bandwidths: Bandwidths = DEFAULT_BANDWIDTHS, unbiased: bool = True) -> torch.Tensor:
    r"""Estimate MMD²(P, Q) from samples ``x ~ P`` and ``y ~ Q``; a 0-dim tensor.

    With K_xx, K_yy, K_xy the (multiscale) kernel matrices::

        unbiased=True  (U-statistic):
            (ΣK_xx − tr K_xx)/(n(n−1)) + (ΣK_yy − tr K_yy)/(m(m−1)) − 2 ΣK_xy/(n m)
        unbiased=False (V-statistic):
            ΣK_xx/n² + ΣK_yy/m² − 2 ΣK_xy/(n m)

    The unbiased value has expectation MMD² and may be negative when P = Q; the
    biased one is ≥ 0 (up to rounding). Symmetric in ``x`` and ``y``. Cost and memory
    are O((n + m)² ) per bandwidth: fine for a few thousand samples per batch.

    Args:
        x: ``(n, D)`` samples (``(n,)`` is read as ``(n, 1)``).
        y: ``(m, D)`` samples, same D, dtype and device as ``x``.
        kernel: ``"imq"`` (h²/(h² + ‖a−b‖²), default) or ``"gaussian"``
            (exp(−‖a−b‖²/(2h²))).
        bandwidths: one positive bandwidth h or a sequence of them (multiscale sum);
            default ``(0.05, 0.2, 0.9)`` (:data:`DEFAULT_BANDWIDTHS`: the toy 8-modes
            notebook of Ardizzone et al.'s code), meant for unit-scale data.
        unbiased: U-statistic (needs n, m ≥ 2) if True, V-statistic (n, m ≥ 1) if False.

    Returns:
        0-dim tensor of ``x``'s dtype and device, differentiable w.r.t. ``x`` and ``y``.

    >>> import torch
    >>> x = torch.tensor([[0.0], [1.0]])
    >>> round(mmd2(x, x + 1.0, kernel="imq", bandwidths=1.0, unbiased=False).item(), 4)
    0.4
    >>> round(mmd2(x, x, kernel="imq", bandwidths=1.0).item(), 4)  # U-statistic: can be < 0
    -0.5
    """
    who = "mmd2"
    x, y = _check_pair(x, y, who)
    kind = _check_kind(kernel, "kernel", who)
    hs = _check_bandwidths(bandwidths, who)
    unbiased = check_bool(who, "unbiased", unbiased)
    n, m = x.shape[0], y.shape[0]
    for name, t in (("x", x), ("y", y)):
        if unbiased and t.shape[0] < 2:
            fail_value(who, name, t, "a tensor with at least 2 samples (rows) for the unbiased "
                                     "estimator (pass more samples or unbiased=False)")
        if t.shape[0] < 1:
            fail_value(who, name, t, "a tensor with at least 1 sample (row)")

    k_xx = _kernel_of_sq_dists(_sq_dists(x, x), kind, hs)
    k_yy = _kernel_of_sq_dists(_sq_dists(y, y), kind, hs)
    k_xy = _kernel_of_sq_dists(_sq_dists(x, y), kind, hs)
    if unbiased:
        term_xx = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
        term_yy = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    else:
        term_xx = k_xx.sum() / (n * n)
        term_yy = k_yy.sum() / (m * m)
    return term_xx + term_yy - 2.0 * k_xy.sum() / (n * m)


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, kernel: str = "imq",
                  bandwidths: Bandwidths = DEFAULT_BANDWIDTHS) -> torch.Tensor:
    """``mmd2(x, y, kernel, bandwidths, unbiased=True)``: the U-statistic (may be < 0)."""
    return mmd2(x, y, kernel=kernel, bandwidths=bandwidths, unbiased=True)


def mmd2_biased(x: torch.Tensor, y: torch.Tensor, kernel: str = "imq",
                bandwidths: Bandwidths = DEFAULT_BANDWIDTHS) -> torch.Tensor:
    """``mmd2(x, y, kernel, bandwidths, unbiased=False)``: the V-statistic (≥ 0)."""
    return mmd2(x, y, kernel=kernel, bandwidths=bandwidths, unbiased=False)
