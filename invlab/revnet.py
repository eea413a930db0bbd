"""i-RevNet (Jacobsen et al., 2018): a classifier that is invertible up to its head.

A layer splits its features ``X = [x1, x2]`` along the channels and computes

    [y1, y2] = [F(x1) + x2, x1]          (forward)
    [x1, x2] = [y2, y1 − F(y2)]          (inverse)

with any network ``F`` (convolutions and ReLUs): ``F`` itself need not be invertible.
The map only adds and swaps, so it is volume preserving (log-det 0).

``IRevNet`` = psi → N such layers → linear head. ``features(x)`` stops before the
head (the last invertible layer); ``inverse(z)`` maps features back to images.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import nn

from .base import SequenceINN, VolumePreserving
from .squeeze import Psi
from .validate import caller_name, check_callable, check_int, check_tensor, fail_value

__all__ = ["split_channels", "merge_channels", "RevBlock", "IRevNet", "conv_relu", "PlainNet"]


def split_channels(x: torch.Tensor):
    """Split ``x: (B, C, ...)`` into two contiguous halves ``(B, C/2, ...)`` each.

    >>> a, b = split_channels(torch.arange(8.).reshape(1, 4, 1, 2))
    >>> a.shape, b[0, :, 0, 0].tolist()
    (torch.Size([1, 2, 1, 2]), [4.0, 6.0])
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"split_channels: {caller_name(x, 'x')} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(f"split_channels: {caller_name(x, 'x')} must have a channel axis (B, C, ...), "
                         f"got shape {tuple(x.shape)}")
    c = x.shape[1]
    if c % 2:
        raise ValueError(f"split_channels: the channel count must be even to split in halves, "
                         f"got {c} channels ({caller_name(x, 'x')} has shape {tuple(x.shape)})")
    x1, x2 = torch.split(x, c // 2, dim=1)
    return x1.contiguous(), x2.contiguous()


def merge_channels(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`split_channels`: concatenate two halves along the channels.

    >>> x = torch.randn(2, 6, 3, 3)
    >>> torch.equal(merge_channels(*split_channels(x)), x)
    True
    """
    for name, t in (("x1", x1), ("x2", x2)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"merge_channels: {caller_name(t, name)} must be a torch.Tensor, got {type(t).__name__}")
    if x1.shape != x2.shape:          # named as the caller named them (caller_name)
        raise ValueError(f"merge_channels: the halves must have the same shape, got "
                         f"{caller_name(x1, 'x1')} {tuple(x1.shape)} and {caller_name(x2, 'x2')} {tuple(x2.shape)}")
    return torch.cat([x1, x2], dim=1)


def conv_relu(channels: int, kernel_size: int = 7) -> nn.Module:
    """The F of the lab: ``Conv2d(channels, channels, k, padding=k//2)`` then ReLU."""
    return nn.Sequential(nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2),
                         nn.ReLU())


class RevBlock(VolumePreserving):
    """One i-RevNet layer ``[x1, x2] -> [F(x1) + x2, x1]``.

    Args:
        F: a module mapping ``(B, C/2, H, W) -> (B, C/2, H, W)``.

    Shapes: ``x: (B, C, H, W) -> y: (B, C, H, W)`` with ``C`` even.

    >>> block = RevBlock(conv_relu(2, 3))
    >>> x = torch.randn(4, 4, 5, 5)
    >>> torch.allclose(block.inverse(block(x)), x, atol=1e-6)
    True
    """

    def __init__(self, F: nn.Module):
        super().__init__()
        if not callable(F):
            raise TypeError(f"RevBlock: F must be a module or callable, got {type(F).__name__}")
        self.F = F

    def _apply_F(self, x1: torch.Tensor) -> torch.Tensor:
        out = self.F(x1)
        if out.shape != x1.shape:
            raise ValueError(f"RevBlock: F must keep the shape of its input half, but "
                             f"F{tuple(x1.shape)} has shape {tuple(out.shape)}")
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = split_channels(x)
        return merge_channels(self._apply_F(x1) + x2, x1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        y1, y2 = split_channels(y)
        return merge_channels(y2, y1 - self._apply_F(y2))

    def coupling_parts(self):
        """``(split, merge, F)`` for backprop without stored activations (invlab.reversible):
        ``split(y) -> (x1, x2 + F(x1))``, ``merge(x1, x2) -> x``."""
        def split(y):
            y1, y2 = split_channels(y)
            return y2, y1                       # y = [F(x1) + x2, x1]
        return split, merge_channels, self._apply_F


class IRevNet(nn.Module):
    """psi → ``depth`` RevBlocks → linear head (not invertible).

    The invertible part is ``body = SequenceINN(Psi(b), RevBlock, …, RevBlock)``, an
    :class:`~invlab.base.InvertibleModule` like every other block: check it with
    ``invlab.is_invertible(net.body, x)``.

    Args:
        in_channels, image_size: the images, ``(B, in_channels, image_size, image_size)``.
        block_size: psi's ``b``; the invertible features have ``in_channels·b²`` channels.
        depth: number of RevBlocks.
        num_classes: outputs of the head.
        make_F: factory ``make_F(half_channels) -> nn.Module``; default a 7×7 conv + ReLU.

    Methods:
        ``features(x) -> z: (B, C·b², H/b, W/b)``, the output of the last invertible layer;
        ``inverse(z) -> x`` inverts the **features** ``z = features(x)`` (the linear head
        is not invertible: ``inverse`` never takes logits); ``forward(x) -> logits: (B, num_classes)``.

    >>> net = IRevNet(depth=2)
    >>> net(torch.zeros(3, 1, 28, 28)).shape
    torch.Size([3, 10])
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, block_size: int = 4,
                 depth: int = 4, num_classes: int = 10,
                 make_F: Optional[Callable[[int], nn.Module]] = None):
        super().__init__()
        in_channels = check_int("IRevNet", "in_channels", in_channels, min=1)
        image_size = check_int("IRevNet", "image_size", image_size, min=1)
        block_size = check_int("IRevNet", "block_size", block_size, min=1)
        depth = check_int("IRevNet", "depth", depth, min=0)
        num_classes = check_int("IRevNet", "num_classes", num_classes, min=1)
        if make_F is not None:
            check_callable("IRevNet", "make_F", make_F, "a factory make_F(channels) -> nn.Module")
        if image_size % block_size:
            fail_value("IRevNet", "block_size", block_size,
                       f"a divisor of image_size={image_size}")
        channels = in_channels * block_size ** 2
        if channels % 2:
            fail_value("IRevNet", "block_size", block_size,
                       f"such that in_channels·block_size² is even (it is {channels}), "
                       "to split the features in halves")
        make_F = make_F or conv_relu
        self.in_shape = (in_channels, image_size, image_size)
        self.body = SequenceINN(Psi(block_size),
                                *[RevBlock(make_F(channels // 2)) for _ in range(depth)])
        self.head = nn.Linear(channels * (image_size // block_size) ** 2, num_classes)

    @property
    def psi(self) -> Psi:
        """The first invertible layer, psi."""
        return self.body[0]

    @property
    def blocks(self):
        """The RevBlocks, in order (a :class:`SequenceINN`)."""
        return self.body[1:]

    def _check_input(self, x: torch.Tensor) -> None:
        check_tensor("IRevNet", "x", x, shape=(None, *self.in_shape))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Φ(x): psi then every RevBlock."""
        self._check_input(x)
        return self.body(x)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """Φ⁻¹(z): the RevBlocks inverted in reverse order, then psi⁻¹."""
        return self.body.inverse(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class PlainNet(nn.Module):
    """The lab's baseline (handout 004): psi → ``depth`` × (conv k×k + ReLU) → linear.

    Not invertible: the convolutions replace the features instead of adding to them.

    Same depth and feature size as :class:`IRevNet` (C = 16 channels of 7×7, 784 features),
    but about 4× the convolution weights: each convolution maps all C channels to C
    (C²k² weights), where an i-RevNet layer's F maps C/2 channels to C/2 ((C/2)²k²).

    >>> PlainNet()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> conv = lambda net: sum(p.numel() for m in net.modules() if isinstance(m, nn.Conv2d) for p in m.parameters())
    >>> conv(PlainNet()), conv(IRevNet())
    (50240, 12576)
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, block_size: int = 4,
                 depth: int = 4, kernel_size: int = 7, num_classes: int = 10):
        super().__init__()
        channels = in_channels * block_size ** 2
        self.psi = Psi(block_size)
        self.convs = nn.Sequential(*[conv_relu(channels, kernel_size) for _ in range(depth)])
        self.head = nn.Linear(channels * (image_size // block_size) ** 2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.convs(self.psi(x)).flatten(1))
