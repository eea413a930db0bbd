"""Figures the labs share: image grids, psi's channels, interpolation strips, 2-D densities
and tiles of 8×8 digits (labs 4 and 5)."""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import matplotlib.pyplot as plt
import torch

from .squeeze import psi
from .validate import check_callable, check_float, check_int, check_tensor, fail_type, fail_value

__all__ = ["show_images", "show_psi_channels", "show_strip", "grouped_bars", "check_images", "check_labels",
           "as_image", "density_on_grid", "show_density", "digit_tiles", "show_digits"]


def check_images(fn: str, images) -> torch.Tensor:
    """A non-empty batch of images ``(N, 1, H, W)`` or ``(N, H, W)``."""
    check_tensor(fn, "images", images, dim=(3, 4))
    if images.dim() == 4 and images.shape[1] != 1 or len(images) == 0:
        fail_value(fn, "images", images, "a non-empty tensor (N, 1, H, W) or (N, H, W)")
    return images


def check_labels(fn: str, name: str, labels, n: int) -> list:
    """A sequence of ``n`` labels (one per image)."""
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
        fail_type(fn, name, labels, f"a sequence of {n} labels, one per image")
    if len(labels) != n:
        fail_value(fn, name, labels, f"a sequence of {n} labels, one per image (it has {len(labels)})")
    return list(labels)


def as_image(t: torch.Tensor):
    t = t.detach().cpu()
    return (t[0] if t.dim() == 3 and t.shape[0] == 1 else t).numpy()


def show_images(images: torch.Tensor, titles: Optional[Sequence[str]] = None, ncols: int = 8,
                size: float = 1.4, suptitle: str = ""):
    """Grid of images ``(N, 1, H, W)`` or ``(N, H, W)``; returns the figure."""
    fn = "show_images"
    check_images(fn, images)
    n = len(images)
    if titles is not None:
        check_labels(fn, "titles", titles, n)
    ncols = max(1, min(check_int(fn, "ncols", ncols, min=1), n))
    size = check_float(fn, "size", size, min=0, min_open=True)
    if not isinstance(suptitle, str):
        fail_type(fn, "suptitle", suptitle, "a str")
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(as_image(images[k]), cmap="gray")
            if titles is not None:
                ax.set_title(str(titles[k]), fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_psi_channels(image: torch.Tensor, block_size: int = 4, size: float = 0.9):
    """One image ``(1, H, W)`` beside the ``b²`` channels psi cuts it into.

    Channel ``i·b + j`` (the pixels at offset ``(i, j)`` of every ``b × b`` patch) is
    drawn at row ``i``, column ``j`` of the grid.
    """
    fn = "show_psi_channels"
    check_tensor(fn, "image", image, dim=3)
    b = check_int(fn, "block_size", block_size, min=1)
    size = check_float(fn, "size", size, min=0, min_open=True)
    y = psi(image.detach().cpu().unsqueeze(0), b)[0]
    fig = plt.figure(figsize=(size * (b + b + 0.5), size * b + 0.6))
    grid = fig.add_gridspec(b, 2 * b + 1)
    ax = fig.add_subplot(grid[:, :b])
    ax.imshow(as_image(image), cmap="gray")
    ax.set_title(f"x {tuple(image.shape)}", fontsize=9)
    ax.axis("off")
    for k in range(min(y.shape[0], b * b)):
        ax = fig.add_subplot(grid[k // b, b + 1 + k % b])
        ax.imshow(y[k].numpy(), cmap="gray")
        ax.set_title(f"ch {k}", fontsize=7)
        ax.axis("off")
    fig.suptitle(f"psi(x, {b}): {tuple(image.shape)} → {tuple(y.shape)}; "
                 f"channel i·{b}+j holds offset (i, j) of every {b}×{b} patch", fontsize=9)
    return fig


def show_strip(images: torch.Tensor, ts: Sequence[float], label: str = "t", size: float = 1.3,
               title: Optional[str] = None):
    """A row of images labelled by a parameter, e.g. an interpolation path (``title`` above it)."""
    check_images("show_strip", images)
    ts = [check_float("show_strip", f"ts[{i}]", t)
          for i, t in enumerate(check_labels("show_strip", "ts", ts, len(images)))]
    if not isinstance(label, str):
        fail_type("show_strip", "label", label, "a str")
    if title is not None and not isinstance(title, str):
        fail_type("show_strip", "title", title, "a str or None")
    return show_images(images, titles=[f"{label}={t:.2f}" for t in ts], ncols=len(images), size=size,
                       suptitle=title or "")


def grouped_bars(groups: Sequence[str], series: dict, ylabel: str = "", title: str = "",
                 fmt: str = "{:.1f}", ylim: Optional[tuple] = None, ax=None, xlabel: str = "",
                 figsize: tuple = (7, 3.4)):
    """Bars of several series side by side for each group, each bar labelled with its value.

    ``series`` maps a legend label to one value per group (``len(groups)`` values). The
    legend sits *below* the axes, so it never covers a bar or a value label. Returns the
    axes.

    >>> ax = grouped_bars(["a", "b"], {"forward": [90, 50], "inverse": [80, 20]},
    ...                   ylabel="%", title="demo")
    >>> len(ax.patches)
    4
    """
    labels = list(series)
    k = len(labels)
    width = 0.8 / max(k, 1)
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    top = 0.0
    for j, label in enumerate(labels):
        vals = [float(v) for v in series[label]]
        if len(vals) != len(groups):
            raise ValueError(f"grouped_bars: series {label!r} has {len(vals)} values; "
                             f"expected {len(groups)} (one per group)")
        xs = [i + (j - (k - 1) / 2) * width for i in range(len(groups))]
        ax.bar(xs, vals, width, label=label, color=f"C{j}")
        for xv, v in zip(xs, vals):
            ax.text(xv, v, fmt.format(v), ha="center", va="bottom", fontsize=8)
        top = max([top] + vals)
    ax.set_xticks(range(len(groups)), [str(g) for g in groups])
    ax.set_ylim(*(ylim if ylim is not None else (0, 1.15 * top if top > 0 else 1)))
    ax.set_ylabel(ylabel)
    if xlabel:
        ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.28 if xlabel else -0.15),
              ncol=min(k, 3), frameon=False)
    ax.figure.tight_layout()
    return ax




def density_on_grid(log_prob: Callable, extent: Sequence[float], n: Union[int, Sequence[int]] = 201,
                    device=None) -> torch.Tensor:
    r"""The density :math:`p(x) = \exp \log p(x)` of a 2-D model on a regular grid.

    ``extent = (x0, x1, y0, y1)``; ``n`` points per axis (or ``(nx, ny)``). ``log_prob`` maps
    ``(B, 2)`` points (on ``device``) to ``(B,)`` log-densities; it runs without gradients.
    Returns a ``(ny, nx)`` CPU tensor whose row ``i`` is ``y = y_i`` (for :func:`show_density`).

    >>> import math
    >>> d = density_on_grid(lambda x: -0.5 * (x ** 2).sum(1) - math.log(2 * math.pi), (-5, 5, -5, 5), 101)
    >>> d.shape, round(float(d.sum() * 0.1 ** 2), 3)
    (torch.Size([101, 101]), 1.0)
    """
    fn = "density_on_grid"
    check_callable(fn, "log_prob", log_prob, "a function log_prob(x) -> (B,) log-densities")
    if not (isinstance(extent, (tuple, list)) and len(extent) == 4):
        fail_value(fn, "extent", extent, "(x0, x1, y0, y1)")
    x0, x1, y0, y1 = (check_float(fn, "extent", e) for e in extent)
    nx, ny = (n, n) if isinstance(n, int) else tuple(n)
    nx, ny = check_int(fn, "n", nx, min=2), check_int(fn, "n", ny, min=2)
    gx, gy = torch.meshgrid(torch.linspace(x0, x1, nx), torch.linspace(y0, y1, ny), indexing="xy")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    with torch.no_grad():
        return log_prob(points.to(device) if device is not None else points).exp().reshape(ny, nx).cpu()


def show_density(ax, density: torch.Tensor, extent: Sequence[float], title: Optional[str] = None, **kwargs):
    """Draw a :func:`density_on_grid` on ``ax`` (``origin="lower"``, viridis); returns the image."""
    check_tensor("show_density", "density", density, dim=2)
    image = ax.imshow(density.detach().cpu().numpy(), origin="lower", extent=tuple(extent), **{"cmap": "viridis", **kwargs})
    if title:
        ax.set_title(title)
    return image


def digit_tiles(images: torch.Tensor, ncols: int, frame: int = 1) -> torch.Tensor:
    """``(N, H, W)`` images (or ``(N, H·W)`` with H = W) as one ``(rows·(H+2f), ncols·(W+2f))``
    tensor, each image in a blank frame of ``frame`` pixels, rows filled left to right.

    >>> digit_tiles(torch.ones(6, 8, 8), ncols=3).shape
    torch.Size([20, 30])
    """
    fn = "digit_tiles"
    check_tensor(fn, "images", images, dim=(2, 3))
    ncols, frame = check_int(fn, "ncols", ncols, min=1), check_int(fn, "frame", frame, min=0)
    imgs = images.detach().cpu().float()
    if imgs.dim() == 2:
        side = int(round(imgs.shape[1] ** 0.5))
        if side * side != imgs.shape[1]:
            fail_value(fn, "images", images, "(N, H, W) images or (N, H·W) rows of square images")
        imgs = imgs.reshape(-1, side, side)
    n, h, w = imgs.shape
    rows = (n + ncols - 1) // ncols
    imgs = torch.cat([imgs, imgs.new_zeros(rows * ncols - n, h, w)])
    padded = torch.nn.functional.pad(imgs, (frame, frame, frame, frame))
    H, W = h + 2 * frame, w + 2 * frame
    return padded.reshape(rows, ncols, H, W).permute(0, 2, 1, 3).reshape(rows * H, ncols * W)


def show_digits(ax, images: torch.Tensor, ncols: int, levels: int = 17, title: Optional[str] = None):
    """The grey levels ``0 .. levels-1`` of 8×8 digits as :func:`digit_tiles` on ``ax`` (ink dark)."""
    levels = check_int("show_digits", "levels", levels, min=2)
    ax.imshow(digit_tiles(images, ncols).numpy(), cmap="gray_r", vmin=0, vmax=levels - 1)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
