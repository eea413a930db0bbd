"""invlab: the helper package of the invertible-neural-networks lab course.

The names students use are re-exported here::

    import invlab
    dev = invlab.device()
    y = invlab.psi(x, 4)
"""
from .base import InvertibleModule, VolumePreserving, is_invertible, relative_error
from .env import (device, in_colab, is_offline, one_cpu_thread, seed_everything,
                  warnings_to_stdout)
from .squeeze import Psi, psi, psi_inverse
from .revnet import IRevNet, PlainNet, RevBlock, conv_relu, merge_channels, split_channels
from .coupling import (ActNorm, AdditiveCoupling, AffineCoupling, InvertibleConv1x1,
                       InvertibleLinear, Permutation, Reverse, SequenceINN, mlp)
from .mmd import (gaussian_kernel, imq_kernel, mmd2, mmd2_biased, mmd2_unbiased,
                  multiscale_kernel, pairwise_sq_dists)
from . import bijections, checks, data, plots, widgets

__version__ = "0.1.0"

__all__ = [
    "InvertibleModule", "VolumePreserving", "is_invertible", "relative_error",
    "device", "in_colab", "is_offline", "one_cpu_thread", "seed_everything", "warnings_to_stdout",
    "Psi", "psi", "psi_inverse",
    "IRevNet", "PlainNet", "RevBlock", "conv_relu", "merge_channels", "split_channels",
    "ActNorm", "AdditiveCoupling", "AffineCoupling", "InvertibleConv1x1", "InvertibleLinear",
    "Permutation", "Reverse", "SequenceINN", "mlp",
    "gaussian_kernel", "imq_kernel", "mmd2", "mmd2_biased", "mmd2_unbiased", "multiscale_kernel",
    "pairwise_sq_dists",
    "bijections", "checks", "data", "plots", "widgets",
]
