"""psi: the invertible "squeeze" that trades space for channels.

``psi(x, b)`` cuts every ``b × b`` patch of an image into ``b²`` channels:

    y[n, c·b² + i·b + j, h, w] = x[n, c, h·b + i, w·b + j],   0 ≤ i, j < b

so ``x: (B, C, H, W) -> y: (B, C·b², H/b, W/b)``. It only moves pixels, so it is
exactly invertible (``psi_inverse(psi(x, b), b)`` equals ``x`` bit for bit) and its
log-det is 0.

Channel order. Ours is PyTorch's ``pixel_unshuffle`` order: the ``b²`` sub-images of
input channel ``c`` sit next to each other (channel-major). The i-RevNet paper's code
(Jacobsen et al., 2018) orders offset-major, ``(i·b + j)·C + c``, interleaving the
input channels. For one input channel (MNIST) the two orders coincide; for ``C > 1``
they differ by a fixed permutation of channels, and both are exact bijections.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import VolumePreserving
from .validate import check_int, check_tensor, fail_value

__all__ = ["psi", "psi_inverse", "Psi"]


def psi(x: torch.Tensor, block_size: int = 4) -> torch.Tensor:
    """Squeeze ``x: (B, C, H, W)`` into ``(B, C·b², H/b, W/b)`` with ``b = block_size``.

    >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
    >>> psi(x, 2).shape
    torch.Size([1, 4, 2, 2])
    >>> psi(x, 2)[0, :, 0, 0].tolist()   # the top-left 2×2 patch becomes 4 channels
    [0.0, 1.0, 4.0, 5.0]
    """
    b = check_int("psi", "block_size", block_size, min=1)
    check_tensor("psi", "x", x, dim=4)
    _, _, h, w = x.shape
    if h % b or w % b:
        fail_value("psi", "x", x, f"a tensor (B, C, H, W) with height and width divisible by "
                                  f"block_size = {b}")
    return F.pixel_unshuffle(x, b)


def psi_inverse(y: torch.Tensor, block_size: int = 4) -> torch.Tensor:
    """Undo :func:`psi`: ``y: (B, C·b², H, W) -> (B, C, H·b, W·b)``.

    >>> x = torch.randn(2, 3, 8, 4)
    >>> torch.equal(psi_inverse(psi(x, 2), 2), x)
    True
    """
    b = check_int("psi_inverse", "block_size", block_size, min=1)
    check_tensor("psi_inverse", "y", y, dim=4)
    if y.shape[1] % (b * b):
        fail_value("psi_inverse", "y", y, f"a tensor (B, C, H, W) with C divisible by "
                                          f"block_size² = {b * b}")
    return F.pixel_shuffle(y, b)


class Psi(VolumePreserving):
    """psi as a module: ``forward = psi``, ``inverse = psi_inverse``, log-det 0.

    Shapes: ``x: (B, C, H, W) -> (B, C·b², H/b, W/b)``.

    >>> m = Psi(4)
    >>> m(torch.zeros(5, 1, 28, 28)).shape
    torch.Size([5, 16, 7, 7])
    """

    def __init__(self, block_size: int = 4):
        super().__init__()
        self.block_size = check_int("Psi", "block_size", block_size, min=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return psi(x, self.block_size)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return psi_inverse(y, self.block_size)

    def extra_repr(self) -> str:
        return f"block_size={self.block_size}"
