"""invlab: the helper package of the invertible-neural-networks lab course.

The names students use are re-exported here::

    import invlab
    dev = invlab.setup(seed=0)     # device, seeds, warnings to stdout, one CPU thread
    y = invlab.psi(x, 4)
"""
from .base import (InvertibleModule, SequenceINN, VolumePreserving, exact_log_det, is_invertible,
                   randomize_, relative_error)
from .env import (device, elapsed, in_colab, is_offline, one_cpu_thread, seed_everything, setup,
                  stopwatch, warnings_to_stdout)
from .squeeze import Psi, psi, psi_inverse
from .revnet import IRevNet, PlainNet, RevBlock, conv_relu, merge_channels, split_channels
from .coupling import (ActNorm, AdditiveCoupling, AffineCoupling, InvertibleConv1x1,
                       InvertibleLinear, Permutation, Reverse, mlp)
from .mmd import (gaussian_kernel, imq_kernel, mmd2, mmd2_biased, mmd2_unbiased,
                  multiscale_kernel, pairwise_sq_dists)
from .reversible import ReversibleSequence, SavedTensors, saved_bytes
from . import bijections, checks, data, plots, reversible, train, validate, widgets
from . import cycle
from . import flows
from .flows import Flow, Logit, StandardNormal
from . import iresnet, logdet
from .iresnet import IResBlock, SpectralNorm

__version__ = "0.1.0"

__all__ = [
    "InvertibleModule", "SequenceINN", "VolumePreserving", "exact_log_det", "is_invertible",
    "randomize_", "relative_error",
    "device", "elapsed", "in_colab", "is_offline", "one_cpu_thread", "seed_everything", "setup",
    "stopwatch", "warnings_to_stdout",
    "Psi", "psi", "psi_inverse",
    "IRevNet", "PlainNet", "RevBlock", "conv_relu", "merge_channels", "split_channels",
    "ActNorm", "AdditiveCoupling", "AffineCoupling", "InvertibleConv1x1", "InvertibleLinear",
    "Permutation", "Reverse", "mlp",
    "gaussian_kernel", "imq_kernel", "mmd2", "mmd2_biased", "mmd2_unbiased", "multiscale_kernel",
    "pairwise_sq_dists",
    "bijections", "checks", "data", "plots", "train", "validate", "widgets",
    "cycle",
    "flows", "Flow", "Logit", "StandardNormal",
    "iresnet", "logdet", "IResBlock", "SpectralNorm",
    "ReversibleSequence", "SavedTensors", "saved_bytes", "reversible",
]
