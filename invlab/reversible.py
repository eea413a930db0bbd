r"""Backprop without stored activations: reversible training (Gomez et al., 2017).

Ordinary autograd keeps, for every layer, the tensors its backward needs (the layer's
input, ReLU masks, …): memory grows linearly with depth. A chain of **exactly
invertible** blocks ``y_k = f_k(x_k)``, ``x_{k+1} = y_k``, needs none of them: going
backward, block ``k`` gets its output ``y_k`` and ``∂L/∂y_k`` and

1. reconstructs its input by the inverse, ``x_k = f_k⁻¹(y_k)`` (no graph);
2. recomputes ``y_k = f_k(x_k)`` under ``enable_grad`` and lets autograd give the local
   gradients ``∂L/∂x_k = (∂y_k/∂x_k)ᵀ ∂L/∂y_k`` and ``∂L/∂θ_k`` (a vector–Jacobian
   product through one block: its activations live only during this step);
3. hands ``x_k`` and ``∂L/∂x_k`` to block ``k − 1``.

Only the last output is kept, so the memory saved for backward is constant in depth
(during the backward one block's activations live at a time); the price is one inverse
and one extra forward per block. For an additive coupling ``y = merge(x1, x2 + F(x1))``
(:class:`~invlab.revnet.RevBlock`, :class:`~invlab.coupling.AdditiveCoupling`: any block
that offers ``coupling_parts() -> (split, merge, F)``) with ``fast=True``, the network
``F`` is evaluated once, for both the reconstruction and the gradients (Gomez et al.'s
Algorithm 1): one extra ``F`` per block.

* :class:`ReversibleSequence` (``reversible(seq)``): a :class:`~invlab.base.SequenceINN`
  whose backward works this way; ``enabled=False`` is ordinary autograd, for comparison.
  Log-dets are supported: ``log_det = Σ_k log|det J_k|`` and its gradient flows through
  the same recomputation (zero for volume-preserving blocks).
* :func:`block_backward`: step 1–2 for one block (what lab 7 asks students to write).
* :class:`SavedTensors` / :func:`saved_bytes`: bytes autograd keeps for backward,
  counted with ``torch.autograd.graph.saved_tensors_hooks``, each storage once.

What it refuses, because the result would be wrong rather than merely slow: blocks whose
inverse is iterative or approximate (``inverse_kind != "exact"``), batch norm in
training mode (the batch statistics and running averages change between the forward and
the recomputation), dropout in training mode and any other block that draws random
numbers (the inverse would need the same mask; the RNG is checked around every block),
and parameters or buffers modified in place between forward and backward or by the
recomputation (their version counters are compared; state kept in plain Python
attributes cannot be seen and is the block's own responsibility). ActNorm's
data-dependent initialisation is fine: it happens in the forward, once, and the
recomputation sees ``initialized = True``.

Gradients equal ordinary autograd to ≤ 1e-10 relative in float64. In float32 every
inverse adds rounding errors that the next one amplifies, so the reconstructed
activations and the gradients drift from autograd's by an amount that grows with depth
(measured on the lab-1 i-RevNet: reversible vs plain float32 gradients differ by
1e-8 at depth 2 and 9e-8 at depth 32, both 2–3e-7 from float64; the body's round trip
3e-8 → 4e-6; see ``benchmarks/reversible.py`` and lab 7). Tests allow ``1e-7 · depth``.

>>> from invlab.revnet import RevBlock, conv_relu
>>> _ = torch.manual_seed(0)
>>> stack = ReversibleSequence(*[RevBlock(conv_relu(2, 3)) for _ in range(4)])
>>> x = torch.randn(4, 4, 6, 6, dtype=torch.float64, requires_grad=True)
>>> stack.double()(x).square().sum().backward()
>>> g = x.grad.clone(); x.grad = None
>>> stack.enabled = False
>>> stack(x).square().sum().backward()
>>> bool(torch.allclose(g, x.grad, rtol=1e-10, atol=0))
True
"""
from __future__ import annotations

from typing import Callable, List, Optional, Tuple

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from .base import InvertibleModule, SequenceINN, VolumePreserving, in_torch_func
from .validate import check_bool, check_callable, check_tensor, fail_type, fail_value

__all__ = ["ReversibleSequence", "reversible", "block_backward", "check_reversible",
           "SavedTensors", "saved_bytes"]

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm)
_DROPOUTS = (nn.modules.dropout._DropoutNd,)


# ----------------------------------------------------------------------------- refusals

def check_reversible(block: nn.Module, index: int = 0, fn: str = "ReversibleSequence",
                     modes: bool = True) -> None:
    """Raise if ``block`` cannot be trained reversibly *exactly* in its current mode.

    TypeError: not an :class:`~invlab.base.InvertibleModule`. ValueError: an iterative or
    approximate inverse anywhere inside; with ``modes=True`` also batch norm or dropout
    in training mode. (Hidden randomness and in-place changes are caught while running.)

    >>> check_reversible(nn.Linear(2, 2))
    Traceback (most recent call last):
    ...
    TypeError: ReversibleSequence: block 0 must be an invlab.InvertibleModule with an exact inverse, got a Linear module
    """
    what = f"block {index}"
    if not isinstance(block, InvertibleModule):
        fail_type(fn, what, block, "an invlab.InvertibleModule with an exact inverse")
    for name, m in block.named_modules():
        where = f"{what} ({type(block).__name__}{'.' + name if name else ''})"
        kind = getattr(m, "inverse_kind", "exact") if isinstance(m, InvertibleModule) else "exact"
        if kind != "exact":
            raise ValueError(
                f"{fn}: {where} must have an exact inverse (inverse_kind 'exact'), got "
                f"inverse_kind {kind!r}: its inverse only reaches a tolerance, so the "
                f"reconstructed activations and the gradients would be approximate; "
                f"train it with ordinary autograd (enabled=False)")
        if not modes:
            continue
        if isinstance(m, _NORMS) and m.training:
            raise ValueError(
                f"{fn}: {where} holds a {type(m).__name__} in training mode; its batch "
                f"statistics and running averages change between the forward and the "
                f"recomputation in backward, so the gradients would be wrong; call .eval() "
                f"on it (fixed statistics) or train with ordinary autograd (enabled=False)")
        if isinstance(m, _DROPOUTS) and m.training and m.p > 0:
            raise ValueError(
                f"{fn}: {where} holds a {type(m).__name__}(p={m.p}) in training mode; the "
                f"inverse and the recomputation would need the forward's random mask, which "
                f"is not replayed; call .eval() on it or train with ordinary autograd "
                f"(enabled=False)")


def _state_versions(block: nn.Module) -> Tuple[int, ...]:
    """Version counters of every parameter and buffer (they tick on in-place writes)."""
    return tuple(t._version for t in list(block.parameters()) + list(block.buffers()))


def _rng_states(x: torch.Tensor):
    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state(x.device) if x.is_cuda else None
    return cpu, cuda


def _same_rng(a, b) -> bool:
    return torch.equal(a[0], b[0]) and (a[1] is None or torch.equal(a[1], b[1]))


# ----------------------------------------------------------------------------- one block

def block_backward(block: InvertibleModule, y: torch.Tensor, grad_y: torch.Tensor,
                   grad_log_det: Optional[torch.Tensor] = None,
                   params: Optional[List[torch.Tensor]] = None, need_x: bool = True):
    r"""The backward pass of one invertible block, from its **output** only.

    ``x = f⁻¹(y)`` without a graph; then ``f(x)`` recomputed under ``enable_grad`` and
    one vector–Jacobian product::

        ∂L/∂x = (∂y/∂x)ᵀ ∂L/∂y + (∂ log|det J|/∂x)ᵀ ∂L/∂log_det
        ∂L/∂θ = (∂y/∂θ)ᵀ ∂L/∂y + (∂ log|det J|/∂θ)ᵀ ∂L/∂log_det

    Args:
        block: an exactly invertible block.
        y: its output ``(B, …)``; ``grad_y = ∂L/∂y``, same shape.
        grad_log_det: ``∂L/∂log_det``, shape ``(B,)``, or ``None`` (no log-det in the loss).
        params: the parameters to differentiate; default those of ``block`` that
            require grad.
        need_x: ``False`` skips ``∂L/∂x`` (the first block of a chain whose input needs
            no gradient); ``grad_x`` is then ``None``.

    Returns:
        ``(x, grad_x, grad_params)``: the reconstructed input (detached), ``∂L/∂x`` and a
        list with ``∂L/∂θ`` per parameter (``None`` where a parameter is unused).

    >>> from invlab.revnet import RevBlock, conv_relu
    >>> block = RevBlock(conv_relu(1, 3)).double()
    >>> x = torch.randn(2, 2, 4, 4, dtype=torch.float64)
    >>> x_rec, gx, gp = block_backward(block, block(x), torch.ones(2, 2, 4, 4, dtype=torch.float64))
    >>> bool(torch.allclose(x_rec, x)), gx.shape, len(gp)
    (True, torch.Size([2, 2, 4, 4]), 2)
    """
    if params is None:
        params = [p for p in block.parameters() if p.requires_grad]
    with torch.no_grad():
        x = block.inverse(y.detach())
    with torch.enable_grad():
        x = x.detach().requires_grad_(need_x)
        y_re, log_det = block.forward_with_log_det(x)
        outs, grads = [y_re], [grad_y]
        if grad_log_det is not None and log_det.requires_grad:
            outs.append(log_det)
            grads.append(grad_log_det)
        found = _vjp(outs, ([x] if need_x else []) + list(params), grads)
    if not need_x:
        return x.detach(), None, found
    grad_x = found[0] if found[0] is not None else torch.zeros_like(x)
    return x.detach(), grad_x, found[1:]


def _vjp(outs, wrt, grads) -> list:
    """``torch.autograd.grad`` that tolerates outputs without a graph (all ``None`` then)."""
    keep = [(o, g) for o, g in zip(outs, grads) if o.requires_grad]
    if not wrt or not keep:
        return [None] * len(wrt)
    return list(torch.autograd.grad([o for o, _ in keep], wrt, [g for _, g in keep],
                                    allow_unused=True))


def _additive_backward(block, y, grad_y, params, need_x=True):
    """Gomez et al.'s Algorithm 1 for a block ``y = merge(x1, x2 + F(x1))``, whatever its order
    of halves: the block gives its parts, ``block.coupling_parts() -> (split, merge, F)``.

    ``F(x1)`` is computed once, with a graph: its value reconstructs ``x2`` and its
    vector–Jacobian product gives the gradients (the generic path would evaluate ``F``
    twice, once in the inverse and once in the recomputation). Same numbers, less time.
    """
    split, merge, F = block.coupling_parts()
    x1, y_sum = split(y)
    g_x1, g_sum = split(grad_y)
    with torch.enable_grad():
        x1 = x1.detach().requires_grad_(need_x)
        f = F(x1)
        found = _vjp([f], ([x1] if need_x else []) + list(params), [g_sum])
    x2 = y_sum - f.detach()
    if not need_x:
        return merge(x1.detach(), x2), None, found
    g_in1 = g_x1 + found[0] if found[0] is not None else g_x1
    return merge(x1.detach(), x2), merge(g_in1, g_sum), list(found[1:])


def _custom_backward(fn: Callable, k: int, block, y, grad_y, grad_log_det, params, x_shape):
    """Block ``k``'s backward by the caller's ``fn(block, y, grad_y) -> (x, grad_x, grad_params)``
    (``grad_params`` in the order of ``list(block.parameters())``), its answer checked."""
    where = f"ReversibleSequence: block_backward(block, y, grad_y) for block {k} ({type(block).__name__})"
    if grad_log_det is not None and not isinstance(block, VolumePreserving) and bool(grad_log_det.ne(0).any()):
        raise RuntimeError(f"{where}: the loss depends on log_det, whose gradient a block_backward "
                           f"(block, y, grad_y) is not given; leave block_backward unset for such a loss")
    out = fn(block, y, grad_y)
    if not (isinstance(out, (tuple, list)) and len(out) == 3):
        fail_type(where, "its result", out, "a tuple (x, grad_x, grad_params)")
    x, grad_x, gps = out
    for name, t in (("x", x), ("grad_x", grad_x)):
        if not (isinstance(t, torch.Tensor) and tuple(t.shape) == tuple(x_shape)):
            fail_value(where, f"the {name} it returns", t, f"a tensor of the block's input shape {tuple(x_shape)}")
    every = list(block.parameters())
    if not (isinstance(gps, (tuple, list)) and len(gps) == len(every)):
        fail_value(where, "the grad_params it returns", gps,
                   f"a list of {len(every)} gradients, one per tensor of list(block.parameters())")
    for i, (p, g) in enumerate(zip(every, gps)):
        if g is not None and not (isinstance(g, torch.Tensor) and g.shape == p.shape):
            fail_value(where, f"grad_params[{i}]", g, f"None or a tensor of the shape of parameter {i}, "
                                                      f"{tuple(p.shape)}")
    wanted = {id(p) for p in params}
    return x.detach(), grad_x, [g for p, g in zip(every, gps) if id(p) in wanted]


def _has_fast_path(block) -> bool:
    """The block offers ``coupling_parts()`` and its forward is the one that promise was made
    for (a subclass that changes ``forward`` without restating its parts takes the generic path)."""
    def owner(name):
        return next((c for c in type(block).__mro__ if name in vars(c)), None)
    return callable(getattr(block, "coupling_parts", None)) and owner("coupling_parts") is owner("forward")


# ----------------------------------------------------------------------------- the Function

class _ReversibleFunction(torch.autograd.Function):
    """Forward of a whole chain under no_grad; backward block by block from the output.

    ``apply(x, seq, *params) -> (y, log_det)``; only ``y`` is saved. ``params`` (the
    chain's parameters) are inputs so that autograd routes their gradients."""

    @staticmethod
    def forward(ctx, x, seq, *params):
        states, shapes = [], []
        with torch.no_grad():
            log_det = x.new_zeros(x.shape[0])
            h = x
            for k, block in enumerate(seq.blocks):
                before = _rng_states(h)
                shapes.append(h.shape)
                h, ld = block.forward_with_log_det(h)
                if not _same_rng(before, _rng_states(h)):
                    raise RuntimeError(
                        f"ReversibleSequence: block {k} ({type(block).__name__}) drew random "
                        f"numbers in its forward (dropout, noise); the inverse and the "
                        f"recomputation cannot replay them, so the gradients would be "
                        f"wrong; make it deterministic (.eval()) or use enabled=False")
                log_det = log_det + ld
                states.append(_state_versions(block))
        ctx.seq = seq
        ctx.fast = seq.fast
        ctx.states, ctx.shapes = states, shapes
        ctx.param_ids = [id(p) for p in params]
        ctx.save_for_backward(h)
        return h, log_det

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y, grad_log_det):
        (y,) = ctx.saved_tensors
        seq = ctx.seq
        if grad_y is None:
            grad_y = torch.zeros_like(y)
        grads_by_param = {}
        for k in reversed(range(len(seq.blocks))):
            block = seq.blocks[k]
            if _state_versions(block) != ctx.states[k]:
                raise RuntimeError(
                    f"ReversibleSequence: a parameter or buffer of block {k} "
                    f"({type(block).__name__}) was modified in place between the forward "
                    f"and the backward (an optimizer step?); the inverse would not "
                    f"reconstruct the forward's activations; call backward first")
            params = [p for p in block.parameters() if p.requires_grad]
            need_x = k > 0 or ctx.needs_input_grad[0]
            if seq.block_backward is not None:
                y, grad_y, gps = _custom_backward(seq.block_backward, k, block, y, grad_y, grad_log_det,
                                                  params, ctx.shapes[k])
            elif ctx.fast and _has_fast_path(block):
                y, grad_y, gps = _additive_backward(block, y, grad_y, params, need_x)
            else:
                y, grad_y, gps = block_backward(block, y, grad_y, grad_log_det, params, need_x)
            if _state_versions(block) != ctx.states[k]:
                raise RuntimeError(
                    f"ReversibleSequence: block {k} ({type(block).__name__}) changed its "
                    f"own state (a parameter or buffer) when recomputed in backward, so "
                    f"the recomputation is not the forward; the gradients would be wrong; "
                    f"use enabled=False for this block")
            for p, g in zip(params, gps):
                if g is not None:  # a parameter shared by two blocks gets both terms
                    key = id(p)
                    grads_by_param[key] = g if key not in grads_by_param else grads_by_param[key] + g
        return (grad_y, None) + tuple(grads_by_param.get(i) for i in ctx.param_ids)


def _params(seq: SequenceINN) -> List[torch.Tensor]:
    """The distinct parameters of the chain that require grad, in a fixed order."""
    seen, out = set(), []
    for p in seq.parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


# ----------------------------------------------------------------------------- the module

class ReversibleSequence(SequenceINN):
    r"""A :class:`~invlab.base.SequenceINN` trained without stored activations.

    Same forward, inverse and log-det as the chain ``f = f_K ∘ … ∘ f_1`` (the same
    block modules, so the same ``state_dict`` keys as the ``SequenceINN`` it wraps);
    only the backward differs: with ``enabled=True`` it reconstructs every block's input
    from its output by the inverse (see the module docstring) and autograd keeps one
    tensor, the output, whatever the depth. ``enabled=False`` is ordinary autograd.
    Without gradients (``torch.no_grad()``, nothing requires grad) and inside
    ``torch.func`` transforms (``exact_log_det``'s jacrev) it runs plainly.

    Args:
        *blocks: one :class:`~invlab.base.SequenceINN` (its blocks are used) or exactly
            invertible blocks.
        enabled: reversible backward on (default) or off.
        fast: for blocks with ``coupling_parts()`` (RevBlock, AdditiveCoupling), evaluate
            ``F`` once per block in
            backward (Gomez et al.'s Algorithm 1) instead of inverse + recomputation
            (twice); same gradients. ``False``: the generic :func:`block_backward` for all.
        block_backward: a backward of your own for every block (``fast`` is then unused),
            ``block_backward(block, y, grad_y) -> (x, grad_x, grad_params)`` with
            ``grad_params`` in the order of ``list(block.parameters())``: lab 7 trains with
            the student's. It gets no log-det gradient (a loss on ``log_det`` of a block that
            does not preserve volume is refused); its results' shapes are checked.

    Shapes: as the blocks, ``x: (B, …) -> (y: (B, …), log_det: (B,))``.

    >>> from invlab.coupling import AffineCoupling, mlp
    >>> seq = SequenceINN(*[AffineCoupling(4, mlp) for _ in range(3)])
    >>> rev = ReversibleSequence(seq)
    >>> y, log_det = rev.forward_with_log_det(torch.randn(5, 4, requires_grad=True))
    >>> y.shape, log_det.shape, len(rev)
    (torch.Size([5, 4]), torch.Size([5]), 3)
    """

    def __init__(self, *blocks: nn.Module, enabled: bool = True, fast: bool = True,
                 block_backward: Optional[Callable] = None):
        if len(blocks) == 1 and isinstance(blocks[0], SequenceINN):
            blocks = tuple(blocks[0].blocks)
        check_bool("ReversibleSequence", "enabled", enabled)
        for k, block in enumerate(blocks):
            check_reversible(block, k, modes=False)  # modes are checked when it runs
        super().__init__(*blocks)
        self.enabled = enabled
        self.fast = check_bool("ReversibleSequence", "fast", fast)
        if block_backward is not None:
            check_callable("ReversibleSequence", "block_backward", block_backward,
                           "a function block_backward(block, y, grad_y) -> (x, grad_x, grad_params)")
        self.block_backward = block_backward

    def forward_with_log_det(self, x: torch.Tensor):
        check_tensor("ReversibleSequence", "x", x, min_dim=2, floating=True)
        params = _params(self)
        if not (self.enabled and len(self.blocks) and torch.is_grad_enabled()
                and (x.requires_grad or params)
                and not in_torch_func()):  # inside torch.func: plain autograd
            return super().forward_with_log_det(x)
        for k, block in enumerate(self.blocks):
            check_reversible(block, k)  # modes may have changed since construction
        return _ReversibleFunction.apply(x, self, *params)

    def extra_repr(self) -> str:
        own = self.block_backward
        return f"enabled={self.enabled}" + (f", block_backward={getattr(own, '__name__', own)}" if own else "")


def reversible(seq, enabled: bool = True, fast: bool = True,
               block_backward: Optional[Callable] = None) -> ReversibleSequence:
    """``ReversibleSequence(seq, enabled=, fast=, block_backward=)``: e.g. ``net.body = reversible(net.body)``.

    >>> from invlab.revnet import IRevNet
    >>> net = IRevNet(depth=2)
    >>> net.body = reversible(net.body)
    >>> net(torch.zeros(3, 1, 28, 28)).shape
    torch.Size([3, 10])
    """
    if isinstance(seq, ReversibleSequence):
        seq = SequenceINN(*seq.blocks)
    seq = seq if isinstance(seq, (list, tuple)) else (seq,)
    return ReversibleSequence(*seq, enabled=enabled, fast=fast, block_backward=block_backward)


# ----------------------------------------------------------------------------- memory

class SavedTensors:
    """Count the bytes autograd saves for backward inside a ``with`` block.

    Every tensor packed by ``torch.autograd.graph.saved_tensors_hooks`` is recorded by
    its storage (``untyped_storage().data_ptr()``), so a storage saved by several
    operations (or a view of it) counts once. Storages of ``exclude`` (e.g. a model's
    parameters, memory it holds anyway) are left out.

    Attributes (after the block): ``bytes`` (activations kept for backward, the figure
    that grows with depth), ``tensors`` (how many were packed), ``storages`` (distinct).

    Not tracemalloc, the profiler or RSS: those see the allocator's reuse and caching,
    not what the graph keeps alive.

    >>> lin = nn.Linear(100, 100)
    >>> with SavedTensors(exclude=lin) as saved:
    ...     out = lin(torch.randn(8, 100)).relu()
    >>> saved.bytes          # the input of the Linear and the ReLU output, 2 × 8·100·4
    6400
    """

    def __init__(self, exclude=None):
        self._exclude = set()
        if exclude is not None:
            tensors = (list(exclude.parameters()) + list(exclude.buffers())
                       if isinstance(exclude, nn.Module) else list(exclude))
            for t in tensors:
                if not isinstance(t, torch.Tensor):
                    fail_type("SavedTensors", "exclude", t, "an nn.Module or tensors")
                self._exclude.add(self._key(t))
        self._sizes = {}
        self.tensors = 0
        self._hooks = None

    @staticmethod
    def _key(t: torch.Tensor):
        return (t.device.type, t.device.index, t.untyped_storage().data_ptr())

    def _pack(self, t: torch.Tensor):
        self.tensors += 1
        key = self._key(t)
        if key not in self._exclude:
            self._sizes[key] = max(self._sizes.get(key, 0), t.untyped_storage().nbytes())
        return t

    @staticmethod
    def _unpack(t):
        return t

    @property
    def bytes(self) -> int:
        return int(sum(self._sizes.values()))

    @property
    def storages(self) -> int:
        return len(self._sizes)

    def __enter__(self) -> "SavedTensors":
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._hooks.__exit__(*exc)


def saved_bytes(fn: Callable, *args, exclude=None) -> int:
    """Bytes autograd keeps for the backward of ``fn(*args)`` (see :class:`SavedTensors`).

    >>> lin = nn.Linear(100, 100)
    >>> saved_bytes(lambda x: lin(x).relu(), torch.randn(8, 100), exclude=lin)
    6400
    """
    check_callable("saved_bytes", "fn", fn, "a function")
    with SavedTensors(exclude=exclude) as saved:
        out = fn(*args)
    del out
    return saved.bytes
