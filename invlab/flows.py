r"""Normalising flows: an invertible transform and a base distribution, trained by maximum likelihood.

**Direction.** The transform ``f`` maps **data to latent** (its ``forward``, the
"normalising" direction, as everywhere in invlab): ``z = f(x)``. The density of the data
follows from the change of variables

.. math::  \log p_X(x) = \log p_Z(f(x)) + \log |\det J_f(x)|,

where ``log|det J_f(x)|`` is the ``log_det`` every :class:`~invlab.base.InvertibleModule`
returns with its output. Sampling runs the other way, the "generative" direction:
``z ~ p_Z``, ``x = f⁻¹(z)``. Training minimises the mean negative log-likelihood (NLL,
nats per example) over the data, which is maximum likelihood.

**Discrete data.** Images with ``L`` grey levels ``k ∈ {0, …, L-1}`` have no density.
Uniform dequantisation (:func:`dequantize`) gives ``y = (k + u) / L`` with
``u ~ U[0, 1)^D``, a continuous variable in ``[0, 1)^D`` whose density ``p(y)`` gives a
lower bound on the probability of the bin of ``k``:
``log P(k) ≥ E_u[log p(y)] + D log(1/L)`` (the bin width in ``y`` is ``1/L``).
Bits per dimension are therefore (:func:`bits_per_dim`)

.. math::  \mathrm{bpd} = \frac{\mathrm{NLL} - D \log w}{D \ln 2},\qquad w = 1/L,

so a uniform model (``p(y) = 1``) scores exactly ``log₂ L``. :class:`Logit` maps
``[0, 1)`` to ℝ before the flow (with its log-det counted).

Contents: :class:`StandardNormal`, :class:`Flow`, :class:`Logit`, :func:`dequantize`,
:func:`bits_per_dim`, :func:`realnvp` (a RealNVP stack), :func:`fit` (a training loop with
validation and early stopping).
"""
from __future__ import annotations

import copy
import math
import time
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from .base import InvertibleModule, SequenceINN
from .coupling import realnvp  # the RealNVP stack lives with the couplings (labs 2-5 use it)
from .train import fit as train_fit
from .validate import (caller_name, check_bool, check_callable, check_float, check_int, check_module,
                       check_tensor, fail_type, fail_value)

__all__ = ["StandardNormal", "Flow", "Logit", "dequantize", "bits_per_dim", "realnvp", "fit"]

LOG_2PI = math.log(2 * math.pi)


def _tensor(fn: str, name: str, value, **kw) -> torch.Tensor:
    """:func:`~invlab.validate.check_tensor`, whose message names ``value`` as the caller's
    code does (a student's ``z``, not the ``y`` of this signature; see ``caller_name``)."""
    try:
        return check_tensor(fn, name, value, **kw)
    except (TypeError, ValueError):
        check_tensor(fn, caller_name(value, name), value, **kw)
        raise


def _check_shape_arg(fn: str, shape) -> tuple:
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, torch.Size):
        shape = tuple(shape)
    if not isinstance(shape, (tuple, list)) or not shape:
        fail_type(fn, "shape", shape, "a non-empty tuple of ints such as (2,) or (1, 8, 8)")
    for s in shape:
        check_int(fn, "every entry of shape", s, min=1)
    return tuple(int(s) for s in shape)


class StandardNormal(nn.Module):
    r"""The base distribution p_Z = N(0, I) on tensors of shape ``shape`` (batch excluded).

    ``log_prob(z) = -½ ‖z‖² - (D/2) log 2π`` with ``D = prod(shape)``, summed per sample.

    Shapes: ``log_prob``: ``(B, *shape) -> (B,)``; ``sample(n) -> (n, *shape)``.

    >>> base = StandardNormal((2,))
    >>> base.log_prob(torch.zeros(3, 2))
    tensor([-1.8379, -1.8379, -1.8379])
    >>> base.sample(4, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([4, 2])
    """

    def __init__(self, shape):
        super().__init__()
        self.shape = _check_shape_arg("StandardNormal", shape)
        self.dim = math.prod(self.shape)
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)  # follows .to()

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z; 0, I) per sample, shape ``(B,)``."""
        _tensor("StandardNormal.log_prob", "z", z, floating=True)
        if tuple(z.shape[1:]) != self.shape:
            fail_value("StandardNormal.log_prob", caller_name(z, "z"), z, f"a tensor of shape (B, {self._s()})")
        return -0.5 * z.flatten(1).pow(2).sum(1) - 0.5 * self.dim * LOG_2PI

    def sample(self, n: int, generator: Optional[torch.Generator] = None,
               dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        """``n`` draws of N(0, I), shape ``(n, *shape)`` (on the module's device)."""
        check_int("StandardNormal.sample", "n", n, min=1)
        if generator is not None and not isinstance(generator, torch.Generator):
            fail_type("StandardNormal.sample", "generator", generator, "a torch.Generator or None")
        dev = self._anchor.device
        gen_dev = generator.device if generator is not None else dev
        z = torch.randn((n, *self.shape), generator=generator, device=gen_dev,
                        dtype=dtype or self._anchor.dtype)
        return z.to(dev)

    def _s(self) -> str:
        return ", ".join(map(str, self.shape))

    def extra_repr(self) -> str:
        return f"shape=({self._s()},)" if len(self.shape) == 1 else f"shape=({self._s()})"


class Flow(nn.Module):
    r"""A normalising flow: ``transform`` f (data → latent) and a base density p_Z.

    ``log_prob(x) = log p_Z(f(x)) + log|det J_f(x)|`` (shape ``(B,)``), ``sample(n)``
    draws ``z ~ p_Z`` and returns ``f⁻¹(z)``, ``nll(x)`` is the mean of ``-log_prob`` in nats,
    ``bits_per_dim(x, bin_width)`` converts it (see :func:`bits_per_dim`).
    ``forward(x)`` is ``log_prob(x)``.

    Args:
        transform: any :class:`~invlab.base.InvertibleModule` (a :class:`SequenceINN` of
            couplings, ActNorm, permutations, i-ResNet blocks…).
        base: the base distribution (anything with ``log_prob(z) -> (B,)`` and
            ``sample(n, generator=None)``); default :class:`StandardNormal` of the data
            shape, made at the first ``log_prob`` call or from ``shape``.
        shape: the shape of one sample, e.g. ``(2,)`` or ``(64,)``; needed to ``sample``
            before any data has been seen when ``base`` is not given.

    >>> from invlab.coupling import AffineCoupling, mlp
    >>> _ = torch.manual_seed(0)
    >>> flow = Flow(AffineCoupling(2, mlp), shape=(2,))
    >>> flow.log_prob(torch.zeros(3, 2))          # identity at initialisation
    tensor([-1.8379, -1.8379, -1.8379], grad_fn=<AddBackward0>)
    >>> flow.sample(5).shape
    torch.Size([5, 2])
    """

    def __init__(self, transform: InvertibleModule, base: Optional[nn.Module] = None,
                 shape: Optional[Sequence[int]] = None):
        super().__init__()
        check_module("Flow", "transform", transform, InvertibleModule,
                     "an invlab.InvertibleModule (e.g. a SequenceINN of couplings)")
        self.transform = transform
        if base is not None:
            if not (callable(getattr(base, "log_prob", None)) and callable(getattr(base, "sample", None))):
                fail_type("Flow", "base", base, "a distribution with log_prob(z) and sample(n)")
        elif shape is not None:
            base = StandardNormal(shape)
        self.base = base

    def _base_for(self, x: torch.Tensor):
        if self.base is None:
            self.base = StandardNormal(tuple(x.shape[1:])).to(x.device)
        return self.base

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p_X(x) = log p_Z(f(x)) + log|det J_f(x)| per sample, shape ``(B,)``."""
        _tensor("Flow.log_prob", "x", x, min_dim=2, floating=True)
        z, log_det = self.transform.forward_with_log_det(x)
        return self._base_for(x).log_prob(z) + log_det

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`log_prob`."""
        return self.log_prob(x)

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """z = f(x): the data mapped to the latent space (the normalising direction)."""
        _tensor("Flow.latent", "x", x, min_dim=2, floating=True)
        return self.transform(x)

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood −(1/B) Σ_b log p_X(x_b), nats, a scalar tensor."""
        return -self.log_prob(x).mean()

    def bits_per_dim(self, x: torch.Tensor, bin_width: float = 1.0) -> torch.Tensor:
        """:func:`bits_per_dim` of this flow's NLL on ``x`` (``bin_width`` = 1/levels)."""
        return bits_per_dim(self.nll(x), math.prod(x.shape[1:]), bin_width)

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``n`` samples ``x = f⁻¹(z)``, ``z ~ p_Z``: shape ``(n, *shape)`` (the generative direction)."""
        check_int("Flow.sample", "n", n, min=1)
        if self.base is None:
            raise ValueError("Flow.sample: the flow does not know the shape of a sample yet; "
                             "pass shape=... (or base=...) to Flow, or call log_prob on data first")
        return self.transform.inverse(self.base.sample(n, generator=generator))


class Logit(InvertibleModule):
    r"""The logit pre-transform of dequantised images: ``[0, 1] → ℝ`` per entry.

    ::

        p = α + (1 − 2α) y,     z = log p − log(1 − p)         inverse: y = (σ(z) − α)/(1 − 2α)

    ``α`` keeps ``p`` away from 0 and 1 (RealNVP uses 0.05). Each entry contributes
    ``log(1 − 2α) − log p − log(1 − p)`` to ``log_det``, summed per sample, shape ``(B,)``.
    Works on any ``(B, ...)`` tensor; inputs are expected in ``[0, 1]``.

    Args:
        alpha: a float in [0, 0.5); default 0.05.

    >>> block = Logit(0.05)
    >>> y = torch.rand(4, 3)
    >>> z, log_det = block.forward_with_log_det(y)
    >>> torch.allclose(block.inverse(z), y, atol=1e-6), log_det.shape
    (True, torch.Size([4]))
    """

    domain = "unit"   # inputs in (0, 1): the contract's checks draw them there

    def __init__(self, alpha: float = 0.05):
        super().__init__()
        self.alpha = check_float("Logit", "alpha", alpha, min=0, max=0.5, max_open=True)

    def forward_with_log_det(self, y: torch.Tensor):
        _tensor("Logit", "y", y, min_dim=2, floating=True)
        p = self.alpha + (1 - 2 * self.alpha) * y
        z = torch.log(p) - torch.log1p(-p)
        log_det = (math.log(1 - 2 * self.alpha) - torch.log(p) - torch.log1p(-p)).flatten(1).sum(1)
        return z, log_det

    def inverse_with_log_det(self, z: torch.Tensor):
        _tensor("Logit", "z", z, min_dim=2, floating=True)
        y = (torch.sigmoid(z) - self.alpha) / (1 - 2 * self.alpha)
        # log p + log(1 − p) = log σ(z) + log σ(−z)
        log_det = (nn.functional.logsigmoid(z) + nn.functional.logsigmoid(-z)
                   - math.log(1 - 2 * self.alpha)).flatten(1).sum(1)
        return y, log_det

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


def dequantize(x: torch.Tensor, levels: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    r"""Uniform dequantisation: integers ``k ∈ {0, …, levels-1}`` → ``y = (k + u)/levels``.

    ``u ~ U[0, 1)`` independently per entry, so ``y`` is uniform on the bin
    ``[k/levels, (k+1)/levels)`` of width ``1/levels``. Shapes: ``(B, ...) -> (B, ...)``
    float32 (float64 stays float64).

    >>> y = dequantize(torch.tensor([[0., 16.]]), 17, generator=torch.Generator().manual_seed(0))
    >>> bool((y >= torch.tensor([0., 16 / 17])).all() and (y < torch.tensor([1 / 17, 1.])).all())
    True
    """
    _tensor("dequantize", "x", x, min_dim=1)
    levels = check_int("dequantize", "levels", levels, min=2)
    if generator is not None and not isinstance(generator, torch.Generator):
        fail_type("dequantize", "generator", generator, "a torch.Generator or None")
    xf = x.double() if x.dtype == torch.float64 else x.float()
    if bool(((xf < 0) | (xf > levels - 1) | (xf != torch.round(xf))).any()):
        fail_value("dequantize", caller_name(x, "x"), x, f"integers in 0..{levels - 1} (the grey levels)")
    u = torch.rand(x.shape, generator=generator, dtype=xf.dtype,
                   device=generator.device if generator is not None else x.device).to(x.device)
    return (xf + u) / levels


def bits_per_dim(nll, dim: int, bin_width: float = 1.0) -> torch.Tensor:
    r"""Bits per dimension of a mean NLL (nats) of ``dim``-dimensional dequantised data.

    ``bpd = (nll − D log w) / (D ln 2)`` with ``w`` the width of a quantisation bin in
    the space the density is measured in (``1/levels`` for ``y = (k + u)/levels``; 1 for
    integers ``k + u``). A uniform density on ``[0, 1)^D`` (nll = 0) with ``w = 1/L``
    gives ``log₂ L``. ``nll`` may be a float, a scalar tensor, or per-sample NLLs
    (averaged).

    >>> round(float(bits_per_dim(0.0, 64, 1 / 17)), 4)     # uniform model: log2(17)
    4.0875
    """
    if isinstance(nll, (int, float)) and not isinstance(nll, bool):
        nll = torch.tensor(float(nll), dtype=torch.float64)
    _tensor("bits_per_dim", "nll", nll, floating=True)
    dim = check_int("bits_per_dim", "dim", dim, min=1)
    bin_width = check_float("bits_per_dim", "bin_width", bin_width, min=0, min_open=True)
    return (nll.mean() - dim * math.log(bin_width)) / (dim * math.log(2))


def fit(flow: Flow, x_train: torch.Tensor, x_val: Optional[torch.Tensor] = None, *,
        steps: int = 1000, batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 0.0,
        eval_every: int = 50, eval_size: int = 4096, preprocess: Optional[Callable] = None,
        log_prob: Optional[Callable] = None, seed: int = 0, progress: bool = True,
        restore_best: bool = True) -> dict:
    r"""Train ``flow`` by maximum likelihood: Adam on ``flow.nll(batch)`` (nats).

    Every ``eval_every`` steps the NLL of the training set (``eval_size`` evenly spaced
    rows of it) and of ``x_val`` is recorded (no gradient, eval mode). With ``x_val`` and ``restore_best``, the
    parameters of the step with the lowest validation NLL are put back at the end
    (early stopping). ``preprocess(batch)`` is applied to every training batch (e.g.
    fresh dequantisation noise); ``x_train`` / ``x_val`` are used as given for the
    recorded NLLs, so pass them already preprocessed with fixed noise.
    ``log_prob(x) -> (B,)`` replaces ``flow.log_prob`` everywhere (the loss, the recorded
    NLLs, the initialisation pass): a log-density written elsewhere that runs through
    ``flow``'s parameters, e.g. lab 4's own ``lambda x: log_prob(flow.transform, x)``.

    Returns ``{"step": [...], "train": [...], "val": [...], "best_step": int,
    "best_val": float, "seconds": float, "cpu_seconds": float}`` (``val`` empty without
    ``x_val``; ``seconds`` is wall-clock time, ``cpu_seconds`` the process's CPU time, which
    other programs on the machine do not inflate as much).
    """
    check_module("fit", "flow", flow, Flow, "an invlab.flows.Flow")
    check_tensor("fit", "x_train", x_train, min_dim=2, floating=True)
    if x_val is not None:
        check_tensor("fit", "x_val", x_val, min_dim=2, floating=True)
    steps = check_int("fit", "steps", steps, min=1)
    batch_size = check_int("fit", "batch_size", batch_size, min=1)
    lr = check_float("fit", "lr", lr, min=0, min_open=True)
    weight_decay = check_float("fit", "weight_decay", weight_decay, min=0)
    eval_every = check_int("fit", "eval_every", eval_every, min=1)
    eval_size = check_int("fit", "eval_size", eval_size, min=1)
    if preprocess is not None:
        check_callable("fit", "preprocess", preprocess)
    if log_prob is not None:
        check_callable("fit", "log_prob", log_prob, "a function log_prob(x) -> (B,)")
    g = torch.Generator().manual_seed(check_int("fit", "seed", seed, min=0))
    check_bool("fit", "progress", progress)

    def nll_of(x):
        if log_prob is None:
            return flow.nll(x)
        out = log_prob(x)
        if not (isinstance(out, torch.Tensor) and tuple(out.shape) == (len(x),)):
            fail_value("fit", "log_prob(x)", out, f"a tensor of shape ({len(x)},) for x of shape "
                                                  f"{tuple(x.shape)}: one log-density per row")
        return -out.mean()

    n = len(x_train)
    train_eval = x_train[torch.linspace(0, n - 1, min(n, eval_size)).round().long()]
    flow.train()
    with torch.no_grad():  # data-dependent initialisation (ActNorm) on a large first batch
        first = x_train[torch.randperm(n, generator=g)[:max(batch_size, min(n, 1024))]]
        nll_of(preprocess(first) if preprocess else first)
    hist = {"step": [], "train": [], "val": [], "best_step": 0, "best_val": float("inf")}
    best_state = None

    def record(step):   # train.fit calls it in eval mode, without gradients
        nonlocal best_state
        if step % eval_every and step != steps:
            return
        hist["step"].append(step)
        hist["train"].append(float(nll_of(train_eval)))
        if x_val is not None:
            v = float(nll_of(x_val))
            hist["val"].append(v)
            if v < hist["best_val"]:
                hist["best_val"], hist["best_step"] = v, step
                best_state = copy.deepcopy(flow.state_dict())

    def nll(idx):
        batch = x_train[idx]
        return nll_of(preprocess(batch) if preprocess is not None else batch)

    t0, c0 = time.perf_counter(), time.process_time()
    flow.eval()
    with torch.no_grad():
        record(0)
    # the one training loop (invlab.train.fit): Adam, cosine decay, batches drawn with g
    train_fit(flow, nll, n, steps=steps, batch_size=min(batch_size, n), lr=lr,
              weight_decay=weight_decay, cosine=True, on_step=record, seed=None, generator=g,
              progress=progress, desc="fit")
    hist["seconds"] = time.perf_counter() - t0
    hist["cpu_seconds"] = time.process_time() - c0
    if x_val is not None and restore_best and best_state is not None:
        flow.load_state_dict(best_state)
    flow.eval()
    return hist
