"""Coupling blocks and the other building blocks of a normalising flow.

Every block follows the contract of :mod:`invlab.base`: ``forward_with_log_det(x)``
returns ``(y, log_det)`` with ``log_det = log |det ∂y/∂x|`` of shape ``(B,)``, and
``inverse_with_log_det(y)`` returns ``(x, -log_det)``.

Inputs are ``(B, D)`` batches; the features live in dim 1, so every block also takes
``(B, C, H, W)`` images and then works on the channels (a coupling splits the channels,
so it needs a subnetwork that maps images to images, e.g. a small CNN).

Blocks:

* :class:`AdditiveCoupling` (NICE), :class:`AffineCoupling` (RealNVP, soft clamp);
* :class:`Permutation`, :class:`Reverse` (shuffle the features between couplings);
* :class:`ActNorm` (per-feature scale and bias, data-dependent initialisation);
* :class:`InvertibleLinear`, :class:`InvertibleConv1x1` (a learned invertible matrix);
* :class:`SequenceINN` (a chain of blocks, log-dets summed);
* :func:`mlp`, the default subnetwork factory ``subnet(c_in, c_out) -> nn.Module``;
* :func:`realnvp`, the course's one RealNVP stack (labs 2–5).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import nn

from .base import InvertibleModule, SequenceINN, VolumePreserving
from .validate import (caller_name, check_bool, check_callable, check_float, check_int, check_module, check_tensor,
                             fail_value)

__all__ = ["mlp", "AdditiveCoupling", "AffineCoupling", "Permutation", "Reverse", "ActNorm",
           "InvertibleLinear", "InvertibleConv1x1", "SequenceINN", "realnvp"]

SubnetFactory = Callable[[int, int], nn.Module]


# --------------------------------------------------------------------------- checks

def _check_input(owner: str, x, dim: int, name: str = "x", image_only: bool = False):
    """``x`` must be a floating tensor of shape (B, dim) or (B, dim, H, W) (via invlab.validate).

    A message names ``x`` as the caller's code does (``z`` for a student's latents, see
    :func:`invlab.validate.caller_name`), ``name`` when it has no name there.
    """
    if isinstance(x, torch.Tensor) and x.is_floating_point() and x.dim() in ((4,) if image_only else (2, 4)) \
            and x.shape[1] == dim:
        return
    name = caller_name(x, name)
    shape = f"(B, {dim}, H, W)" if image_only else f"(B, {dim}) or (B, {dim}, H, W)"
    check_tensor(owner, name, x, floating=True)
    if x.dim() not in ((4,) if image_only else (2, 4)):
        fail_value(owner, name, x, f"a tensor of shape {shape}")
    if x.shape[1] != dim:
        what = "channels" if x.dim() == 4 else "features"
        fail_value(owner, name, x, f"a tensor of shape {shape}, dim={dim} {what}")


def _make_subnet(owner: str, subnet, c_in: int, c_out: int) -> nn.Module:
    check_callable(owner, "subnet", subnet, "a factory subnet(c_in, c_out) -> nn.Module")
    return check_module(owner, f"subnet({c_in}, {c_out})", subnet(c_in, c_out),
                        expected="an nn.Module (the factory must return one)")


def _run_subnet(owner: str, net: nn.Module, h: torch.Tensor, c_out: int) -> torch.Tensor:
    out = net(h)
    if (not isinstance(out, torch.Tensor) or out.dim() != h.dim()
            or out.shape[0] != h.shape[0] or out.shape[1] != c_out
            or out.shape[2:] != h.shape[2:]):
        want = (h.shape[0], c_out) + tuple(h.shape[2:])
        fail_value(owner, "subnet output", out, f"a tensor of shape {want} for an input of "
                                                f"shape {tuple(h.shape)}")
    return out


def _sum_per_sample(s: torch.Tensor) -> torch.Tensor:
    """Sum over every dim but the batch one: (B, ...) -> (B,)."""
    return s.flatten(1).sum(1)


# --------------------------------------------------------------------------- subnet

def mlp(c_in: int, c_out: int, hidden: int = 64, depth: int = 2) -> nn.Sequential:
    """The default subnetwork factory: an MLP ``(B, c_in) -> (B, c_out)``.

    ``depth`` hidden layers of width ``hidden`` with ReLU, then a linear output layer
    that is **zero-initialised**, so a fresh coupling block starts as the identity.

    >>> net = mlp(3, 4, hidden=8)
    >>> net(torch.randn(5, 3)).shape
    torch.Size([5, 4])
    >>> bool((net(torch.randn(5, 3)) == 0).all())   # zero last layer
    True
    """
    check_int("mlp", "c_in", c_in, min=1)
    check_int("mlp", "c_out", c_out, min=1)
    check_int("mlp", "hidden", hidden, min=1)
    check_int("mlp", "depth", depth, min=1)
    layers = [nn.Linear(c_in, hidden), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Linear(hidden, hidden), nn.ReLU()]
    last = nn.Linear(hidden, c_out)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------- couplings

class AdditiveCoupling(VolumePreserving):
    r"""NICE additive coupling: keep one half, shift the other by a function of the first.

    With ``x = [x1, x2]`` split along dim 1 (``x1``: the first ``split`` features,
    default ``dim // 2``; ``x2``: the other ``dim - split``)::

        y1 = x1
        y2 = x2 + t(x1)          inverse: x2 = y2 - t(y1),  x1 = y1

    The Jacobian is triangular with ones on the diagonal, so ``log_det = 0``.

    Args:
        dim: number of features D (channels C for images), an int ≥ 2.
        subnet: factory ``subnet(c_in, c_out) -> nn.Module``; ``t = subnet(split, dim - split)``.
        split: size of ``x1``, 1 ≤ split ≤ dim - 1; default ``dim // 2``.

    Shapes: ``x``, ``y``: ``(B, D)`` (or ``(B, C, H, W)`` with an image subnet);
    ``log_det``: ``(B,)``.

    >>> _ = torch.manual_seed(0)
    >>> block = AdditiveCoupling(5, mlp)
    >>> x = torch.randn(4, 5)
    >>> y, log_det = block.forward_with_log_det(x)
    >>> torch.allclose(block.inverse(y), x), log_det.shape
    (True, torch.Size([4]))
    """

    def __init__(self, dim: int, subnet: SubnetFactory, split: Optional[int] = None):
        super().__init__()
        name = type(self).__name__
        self.dim = check_int(name, "dim", dim, min=2)
        if split is None:
            split = dim // 2
        self.split = check_int(name, "split", split, min=1, max=dim - 1)
        self.t = _make_subnet(name, subnet, split, dim - split)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(type(self).__name__, x, self.dim, "x")
        x1, x2 = x[:, :self.split], x[:, self.split:]
        t = _run_subnet(type(self).__name__, self.t, x1, self.dim - self.split)
        return torch.cat([x1, x2 + t], dim=1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        _check_input(type(self).__name__, y, self.dim, "y")
        y1, y2 = y[:, :self.split], y[:, self.split:]
        t = _run_subnet(type(self).__name__, self.t, y1, self.dim - self.split)
        return torch.cat([y1, y2 - t], dim=1)

    def coupling_parts(self):
        """``(split, merge, F)`` for backprop without stored activations (invlab.reversible):
        ``split(y) -> (x1, x2 + t(x1))``, ``merge(x1, x2) -> x``, ``F = t``."""
        def split(y):
            return y[:, :self.split], y[:, self.split:]   # y = [x1, x2 + t(x1)]

        def merge(x1, x2):
            return torch.cat([x1, x2], dim=1)

        def F(x1):
            return _run_subnet(type(self).__name__, self.t, x1, self.dim - self.split)
        return split, merge, F

    def extra_repr(self) -> str:
        return f"dim={self.dim}, split={self.split}"


class AffineCoupling(InvertibleModule):
    r"""RealNVP affine coupling, two half-steps in one block (as on the lecture slide).

    With ``x = [x1, x2]`` split along dim 1 (``x1``: ``d1 = dim // 2`` features,
    ``x2``: ``d2 = dim - d1``)::

        y1 = x1 ⊙ exp(s2(x2)) + t2(x2)
        y2 = x2 ⊙ exp(s1(y1)) + t1(y1)

    and the exact inverse::

        x2 = (y2 - t1(y1)) ⊙ exp(-s1(y1))
        x1 = (y1 - t2(x2)) ⊙ exp(-s2(x2))

    ``(s2, t2)`` come from one subnetwork ``subnet(d2, 2 * d1)`` (output split in two along
    dim 1), ``(s1, t1)`` from ``subnet(d1, 2 * d2)``.

    **Soft clamp.** The raw log-scale is squashed, ``s = clamp * tanh(s_raw / clamp)``, so
    ``|s| < clamp`` (the scale stays within ``exp(±clamp)``) while ``s ≈ s_raw`` for small
    values; ``clamp=None`` switches it off.

    ``log_det = sum(s2) + sum(s1)`` over all features (and pixels), shape ``(B,)``.

    Args:
        dim: number of features D (channels C for images), an int ≥ 2.
        subnet: factory ``subnet(c_in, c_out) -> nn.Module``.
        clamp: positive float bounding ``|s|``, or ``None``; default 2.0.

    >>> _ = torch.manual_seed(0)
    >>> block = AffineCoupling(5, mlp)
    >>> x = torch.randn(4, 5)
    >>> y, log_det = block.forward_with_log_det(x)
    >>> x_rec, inv_log_det = block.inverse_with_log_det(y)
    >>> torch.allclose(x_rec, x), torch.equal(inv_log_det, -log_det)
    (True, True)
    """

    def __init__(self, dim: int, subnet: SubnetFactory, clamp: Optional[float] = 2.0):
        super().__init__()
        name = type(self).__name__
        self.dim = check_int(name, "dim", dim, min=2)
        self.clamp = None if clamp is None else check_float(name, "clamp", clamp, min=0, min_open=True)
        self.d1 = dim // 2
        self.d2 = dim - self.d1
        self.subnet2 = _make_subnet(name, subnet, self.d2, 2 * self.d1)  # x2 -> (s2, t2)
        self.subnet1 = _make_subnet(name, subnet, self.d1, 2 * self.d2)  # y1 -> (s1, t1)

    def _s_t(self, net: nn.Module, h: torch.Tensor, c_out: int):
        """(s, t) for the half with ``c_out`` features, s soft-clamped."""
        s_raw, t = _run_subnet(type(self).__name__, net, h, 2 * c_out).chunk(2, dim=1)
        s = s_raw if self.clamp is None else self.clamp * torch.tanh(s_raw / self.clamp)
        return s, t

    def forward_with_log_det(self, x: torch.Tensor):
        _check_input(type(self).__name__, x, self.dim, "x")
        x1, x2 = x[:, :self.d1], x[:, self.d1:]
        s2, t2 = self._s_t(self.subnet2, x2, self.d1)
        y1 = x1 * torch.exp(s2) + t2
        s1, t1 = self._s_t(self.subnet1, y1, self.d2)
        y2 = x2 * torch.exp(s1) + t1
        return torch.cat([y1, y2], dim=1), _sum_per_sample(s2) + _sum_per_sample(s1)

    def inverse_with_log_det(self, y: torch.Tensor):
        _check_input(type(self).__name__, y, self.dim, "y")
        y1, y2 = y[:, :self.d1], y[:, self.d1:]
        s1, t1 = self._s_t(self.subnet1, y1, self.d2)
        x2 = (y2 - t1) * torch.exp(-s1)
        s2, t2 = self._s_t(self.subnet2, x2, self.d1)
        x1 = (y1 - t2) * torch.exp(-s2)
        return torch.cat([x1, x2], dim=1), -(_sum_per_sample(s2) + _sum_per_sample(s1))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, clamp={self.clamp}"


# --------------------------------------------------------------------------- permutations

class Permutation(VolumePreserving):
    r"""A fixed random permutation of the features: ``y[:, i] = x[:, perm[i]]``.

    ``perm`` is a buffer (saved in the ``state_dict``, not trained); ``|det| = 1`` so
    ``log_det = 0``. For images the channels are permuted.

    Args:
        dim: number of features D (channels C), an int ≥ 1.
        seed: seed of the permutation (``None``: torch's global generator).

    Shapes: ``x``, ``y``: ``(B, D)`` or ``(B, C, H, W)``.

    >>> block = Permutation(5, seed=0)
    >>> x = torch.arange(5.).expand(2, 5)
    >>> y = block(x)
    >>> sorted(y[0].tolist()) == x[0].tolist(), torch.equal(block.inverse(y), x)
    (True, True)
    """

    def __init__(self, dim: int, seed: Optional[int] = None):
        super().__init__()
        self.dim = check_int(type(self).__name__, "dim", dim, min=1)
        perm = self._make_perm(dim, seed)
        self.register_buffer("perm", perm)
        self.register_buffer("inv_perm", torch.argsort(perm))

    def _make_perm(self, dim: int, seed: Optional[int]) -> torch.Tensor:
        if seed is None:
            return torch.randperm(dim)
        check_int(type(self).__name__, "seed", seed, min=0)
        return torch.randperm(dim, generator=torch.Generator().manual_seed(seed))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(type(self).__name__, x, self.dim, "x")
        return x[:, self.perm]

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        _check_input(type(self).__name__, y, self.dim, "y")
        return y[:, self.inv_perm]

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Reverse(Permutation):
    r"""Reverse the order of the features: ``y[:, i] = x[:, D - 1 - i]`` (its own inverse).

    A special :class:`Permutation`, so a coupling's two halves swap roles; ``log_det = 0``.
    Not between :class:`AffineCoupling` blocks: each already transforms both halves in
    turn, and a reversal makes the next block's first half-step redo the last one's
    coordinate from the same input (measured: lab 4's moons 1.122 vs 1.070 nats, the 8×8
    digits 2.287 vs 2.177 bits/dim).

    >>> Reverse(3)(torch.tensor([[1., 2., 3.]]))
    tensor([[3., 2., 1.]])
    """

    def __init__(self, dim: int):
        super().__init__(dim)

    def _make_perm(self, dim: int, seed: Optional[int]) -> torch.Tensor:
        return torch.arange(dim - 1, -1, -1)


# --------------------------------------------------------------------------- ActNorm

class ActNorm(InvertibleModule):
    r"""Activation normalisation (Kingma & Dhariwal 2018, Glow, §3.1): a learned per-feature
    shift and scale.

    ::

        y = (x + b) ⊙ exp(log_s)          inverse: x = y ⊙ exp(-log_s) - b

    ``b`` and ``log_s`` have shape ``(D,)``. The Jacobian is diagonal with entries
    ``s = exp(log_s)``, so ``log_det = Σ_j log|s_j| = sum(log_s)`` for every sample,
    shape ``(B,)``. For images ``(B, C, H, W)`` they are per channel and
    ``log_det = H * W * sum(log_s)``.

    InvertibleNetworks.jl (the ``ActNorm(k; logdet=true)`` of seed 000, lab 2) writes the
    same map as ``y = s ⊙ x + b'`` with ``b' = s ⊙ b`` and the same log-det,
    ``Σ log|s|`` (times the pixels); its initialisation divides by the unbiased std.
    Lab 2 has students write this block (exercise 4).

    **Data-dependent initialisation.** The first ``forward`` call in training mode sets
    ``b = -mean`` and ``log_s = -log(std)`` per feature over the batch (and pixels), so that
    batch comes out with mean 0 and std 1 per feature. A feature whose std is below
    ``eps`` (e.g. a constant, always-black pixel) is only centred: its scale stays 1
    (``log_s = 0``) instead of becoming ``1/eps``, so nothing is inf/nan and the log-det
    does not explode. The buffer ``initialized`` records that this happened (and is saved
    in the ``state_dict``); in eval mode, or once initialised, no data is looked at.

    Args:
        dim: number of features D (channels C), an int ≥ 1.
        eps: std threshold below which a feature is treated as constant; default 1e-6.

    >>> _ = torch.manual_seed(0)
    >>> norm = ActNorm(3)
    >>> x = 5 + 2 * torch.randn(100, 3)
    >>> y, log_det = norm.forward_with_log_det(x)     # training mode: initialises
    >>> bool(y.mean(0).abs().max() < 1e-5), bool((y.std(0, correction=0) - 1).abs().max() < 1e-5)
    (True, True)
    >>> torch.allclose(norm.inverse(y), x)
    True
    >>> from invlab.base import exact_log_det          # log_det = Σ log_s = autograd's log|det J|
    >>> torch.allclose(log_det.double(), exact_log_det(norm.double(), x.double()))
    True
    """

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.dim = check_int(type(self).__name__, "dim", dim, min=1)
        self.eps = check_float(type(self).__name__, "eps", eps, min=0, min_open=True)
        self.b = nn.Parameter(torch.zeros(dim))
        self.log_s = nn.Parameter(torch.zeros(dim))
        self.register_buffer("initialized", torch.tensor(False))

    def _shape(self, x: torch.Tensor):
        """Parameter view that broadcasts against x, and the log-det factor (H*W or 1)."""
        if x.dim() == 4:
            return (1, self.dim, 1, 1), x.shape[2] * x.shape[3]
        return (1, self.dim), 1

    @torch.no_grad()
    def _initialize(self, x: torch.Tensor) -> None:
        dims = (0, 2, 3) if x.dim() == 4 else (0,)
        xd = x.detach()
        mean = xd.mean(dim=dims)
        std = xd.std(dim=dims, correction=0)
        const = ~(std > self.eps)  # also catches nan
        log_s = torch.where(const, torch.zeros_like(std), -torch.log(std.clamp_min(self.eps)))
        self.b.copy_(-mean)
        self.log_s.copy_(log_s)
        self.initialized.fill_(True)

    def forward_with_log_det(self, x: torch.Tensor):
        _check_input(type(self).__name__, x, self.dim, "x")
        if self.training and not bool(self.initialized):
            self._initialize(x)
        view, pixels = self._shape(x)
        y = (x + self.b.view(view)) * torch.exp(self.log_s.view(view))
        log_det = (pixels * self.log_s.sum()).expand(x.shape[0])
        return y, log_det

    def inverse_with_log_det(self, y: torch.Tensor):
        _check_input(type(self).__name__, y, self.dim, "y")
        view, pixels = self._shape(y)
        x = y * torch.exp(-self.log_s.view(view)) - self.b.view(view)
        log_det = (-pixels * self.log_s.sum()).expand(y.shape[0])
        return x, log_det

    def extra_repr(self) -> str:
        return f"dim={self.dim}, initialized={bool(self.initialized)}"


# --------------------------------------------------------------------------- linear maps

class InvertibleLinear(InvertibleModule):
    r"""A learned invertible matrix applied to the features: ``y = W x`` per sample.

    In batch form ``y = x @ W.T`` for ``x`` of shape ``(B, D)``; for images ``(B, C, H, W)``
    ``W`` mixes the channels of every pixel (a 1×1 convolution). No bias (put an
    :class:`ActNorm` next to it).

    ``W`` starts as a random orthogonal matrix (``log|det W| = 0``);
    ``log_det = log|det W|`` per sample (times ``H * W`` for images), shape ``(B,)``.
    The inverse solves ``W x = y`` with :func:`torch.linalg.solve` (no explicit inverse).

    Args:
        dim: number of features D (channels C), an int ≥ 1.
        seed: seed of the orthogonal initialisation (``None``: torch's global generator).

    >>> _ = torch.manual_seed(0)
    >>> block = InvertibleLinear(4)
    >>> x = torch.randn(3, 4)
    >>> y, log_det = block.forward_with_log_det(x)
    >>> torch.allclose(block.inverse(y), x, atol=1e-6), log_det.abs().max().item() < 1e-5
    (True, True)
    """

    _image_only = False

    def __init__(self, dim: int, seed: Optional[int] = None):
        super().__init__()
        name = type(self).__name__
        self.dim = check_int(name, "dim", dim, min=1)
        gen = None
        if seed is not None:
            check_int(name, "seed", seed, min=0)
            gen = torch.Generator().manual_seed(seed)
        q, r = torch.linalg.qr(torch.randn(dim, dim, generator=gen))
        q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)  # uniform over orthogonal matrices
        self.weight = nn.Parameter(q)

    def _log_abs_det(self, x: torch.Tensor) -> torch.Tensor:
        pixels = x.shape[2] * x.shape[3] if x.dim() == 4 else 1
        return (pixels * torch.linalg.slogdet(self.weight)[1]).expand(x.shape[0])

    def forward_with_log_det(self, x: torch.Tensor):
        _check_input(type(self).__name__, x, self.dim, "x", self._image_only)
        h = x.movedim(1, -1)                   # features last: (B, D) or (B, H, W, C)
        y = (h @ self.weight.T).movedim(-1, 1)
        return y, self._log_abs_det(x)

    def inverse_with_log_det(self, y: torch.Tensor):
        _check_input(type(self).__name__, y, self.dim, "y", self._image_only)
        h = y.movedim(1, -1)
        flat = h.reshape(-1, self.dim)         # rows are y_i^T; solve x_i^T W^T = y_i^T
        x = torch.linalg.solve(self.weight.T, flat, left=False)
        return x.reshape(h.shape).movedim(-1, 1), -self._log_abs_det(y)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class InvertibleConv1x1(InvertibleLinear):
    r"""Glow's invertible 1×1 convolution: ``y[:, :, h, w] = W x[:, :, h, w]``.

    Input and output ``(B, C, H, W)``; ``W`` is ``(C, C)``, initialised orthogonal;
    ``log_det = H * W * log|det W|``, shape ``(B,)``. Same maths as
    :class:`InvertibleLinear`, which it extends, but only images are accepted.

    >>> _ = torch.manual_seed(0)
    >>> block = InvertibleConv1x1(3)
    >>> x = torch.randn(2, 3, 4, 4)
    >>> torch.allclose(block.inverse(block(x)), x, atol=1e-6)
    True
    """

    _image_only = True

    def __init__(self, channels: int, seed: Optional[int] = None):
        check_int(type(self).__name__, "channels", channels, min=1)
        super().__init__(channels, seed=seed)


def realnvp(dim: int, blocks: int = 6, hidden: int = 64, depth: int = 2,
            clamp: Optional[float] = 2.0, seed: int = 0, actnorm: bool = True,
            permute: Optional[bool] = None) -> SequenceINN:
    r"""A RealNVP stack for ``(B, dim)`` data: ``blocks`` × [ActNorm, AffineCoupling, Permutation].

    Each :class:`~invlab.coupling.AffineCoupling` transforms both halves (two half-steps)
    with MLP subnetworks (``hidden`` units, ``depth`` hidden layers, zero last layer: the
    stack starts as the identity up to ActNorm), so the log-det is a sum of the ``s``
    outputs: O(D) instead of O(D³). Permutations are fixed random (seeded).

    Labs 2 and 3 use it without ActNorm and with permutations (``actnorm=False,
    permute=True``), lab 4 as it is, lab 5 for its RealNVP baseline.
    ``permute=None`` permutes only when ``dim > 2``: in 2-D a permutation is the identity
    or a swap, and after a swap the next block's first half-step changes the coordinate the
    last half-step just changed, from the same input — two affine maps that merge into
    one, a half-step wasted (measured on lab 4's 2-D densities, five seeds: moons
    1.070 → 1.060 nats without permutations; benchmarks/results/issue26). ``actnorm=False``
    leaves out ActNorm, which slows the 2-D toys' optimisation (1.117 → 1.070 on moons)
    but helps the 8×8 digits (2.199 → 2.177 bits/dim).

    >>> flow = realnvp(2, blocks=2, hidden=8)
    >>> len(flow), len(realnvp(4, blocks=2, hidden=8))
    (4, 6)
    """
    dim = check_int("realnvp", "dim", dim, min=2)
    blocks = check_int("realnvp", "blocks", blocks, min=1)
    hidden = check_int("realnvp", "hidden", hidden, min=1)
    depth = check_int("realnvp", "depth", depth, min=1)
    seed = check_int("realnvp", "seed", seed, min=0)
    actnorm = check_bool("realnvp", "actnorm", actnorm)
    permute = dim > 2 if permute is None else check_bool("realnvp", "permute", permute)

    def subnet(c_in, c_out):
        return mlp(c_in, c_out, hidden=hidden, depth=depth)

    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        layers = []
        for k in range(blocks):
            if actnorm:
                layers.append(ActNorm(dim))
            layers.append(AffineCoupling(dim, subnet, clamp=clamp))
            if permute:
                layers.append(Permutation(dim, seed=seed + k))
    finally:
        torch.random.set_rng_state(state)
    return SequenceINN(*layers)
