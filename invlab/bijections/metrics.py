"""Honest metrics for a learned bijection, on rounded model outputs; only the public API.

The metrics round the network's float outputs to the nearest integer and read the object
from the first ``D`` coordinates. Padded coordinates (``pad_to > D``) are **ignored** by
every metric: in a padded INN they are free nuisance/latent dimensions.

Two pitfalls, from the student project "Learning Bijections" that lab 2 revisits (its
code: github.com/CanDuyar/LearningBijections_with_Invertible_Neural_Networks, notebook
``LearningBijections.ipynb``, whose test cell prints "accuracy: %89.2…"):

1. **x = f⁻¹(f(x)) is not an accuracy.** An INN is invertible by construction, so the round
   trip succeeds for *any* weights, random ones included. That notebook's "accuracy"
   compares the input with its round trip. :func:`roundtrip_match` computes such a number
   only so the lab can show it is 1.0 for an untrained network. The accuracy is
   ``exact_match(f(X), Y)`` against the *true* images Y = φ(X), best on held-out rows.
2. **The input must not contain the target.** The network sees X (``encode_x``) only; the
   target Y is what it must produce, never something concatenated into its input (that
   notebook's input holds both Set1 and the target Set2).
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from ..validate import check_callable, check_choice, check_int, check_tensor, fail_type, fail_value
from .families import Bijection, as_bijection, make_dataset

__all__ = ["round_to_int", "exact_match", "valid_fraction", "injectivity", "is_bijective",
           "decode_predictions", "evaluate", "roundtrip_match", "table_predictor"]

SIDES = ("x", "y")

_INVALID = -1  # stands in for non-finite outputs: no family uses negative numbers


def round_to_int(pred: torch.Tensor, dim: Optional[int] = None) -> torch.Tensor:
    """Round float outputs to the nearest integer (ties to even) and keep ``dim`` columns.

    Args:
        pred: (N, D') float tensor, original integer units.
        dim: how many leading columns carry the encoding (None: all). Later columns,
            i.e. padding, are dropped.

    Returns:
        (N, dim) int64 tensor; NaN/inf entries become −1, which is invalid in every family.

    >>> round_to_int(torch.tensor([[0.4, 1.6, 9.0], [float('nan'), -0.2, 3.0]]), dim=2)
    tensor([[ 0,  2],
            [-1,  0]])
    """
    check_tensor("round_to_int", "pred", pred, dim=2)
    if dim is not None:
        pred = pred[:, :check_int("round_to_int", "dim", dim, min=1, max=pred.shape[1])]
    p = pred.detach().cpu().double()
    r = torch.round(p)
    r = torch.where(torch.isfinite(r), r, torch.full_like(r, _INVALID))
    return r.clamp(-2.0 ** 62, 2.0 ** 62).to(torch.int64)


def _rows(t: torch.Tensor, fn: str, name: str = "pred") -> int:
    """N for a non-empty (N, D) tensor ``t``; TypeError / ValueError otherwise."""
    check_tensor(fn, name, t, dim=2)
    if t.shape[0] == 0:
        fail_value(fn, name, t, "a non-empty tensor (N, D) with N ≥ 1")
    return t.shape[0]


def _same_shape(fn: str, a: torch.Tensor, b: torch.Tensor, names=("pred", "target")) -> None:
    _rows(a, fn, names[0])
    _rows(b, fn, names[1])
    if a.shape != b.shape:
        fail_value(fn, names[1], b, f"a tensor of the shape of {names[0]}, {tuple(a.shape)}")


def exact_match(pred: torch.Tensor, target: torch.Tensor, dim: Optional[int] = None) -> float:
    """The honest accuracy: fraction of rows with round(pred) == target in every coordinate.

    Args:
        pred: (N, D') model outputs; target: (N, D') true encodings, original integer units.
        dim: compare only the first ``dim`` columns (pass ``bij.dim``): padded columns are
            **ignored**, not required to be 0. None compares all columns.

    >>> exact_match(torch.tensor([[0.9, 2.2], [1.0, 1.0]]), torch.tensor([[1., 2.], [1., 2.]]))
    0.5
    """
    _same_shape("exact_match", pred, target)
    p, t = round_to_int(pred, dim), round_to_int(target, dim)
    return float((p == t).all(dim=1).double().mean())


def _side(side, fn: str) -> str:
    return check_choice(fn, "side", side, SIDES)


def _valid_mask(pred: torch.Tensor, bij: Bijection, side: str, fn: str) -> np.ndarray:
    """(N,) bool: rounded rows (first D columns) that encode a member of the family."""
    _rows(pred, fn)
    if pred.shape[1] < bij.dim:
        fail_value(fn, "pred", pred, f"a tensor with at least D = {bij.dim} columns for {bij.name!r}")
    return bij.valid_rows(round_to_int(pred, bij.dim), side)


def valid_fraction(pred: torch.Tensor, bij, side: str = "y") -> float:
    """Fraction of rounded rows that encode a member of the family on ``side``.

    ``side="y"`` for outputs of the forward map (should be members of B), ``"x"`` for
    outputs of the inverse map. Only the first ``bij.dim`` columns are read.

    >>> from invlab.bijections import get_bijection
    >>> valid_fraction(torch.tensor([[2., 0., 0.], [2.2, 1.9, 0.]]), get_bijection("lehmer", n=3))
    0.5
    """
    bij = as_bijection(bij, "valid_fraction")
    return float(_valid_mask(pred, bij, _side(side, "valid_fraction"), "valid_fraction").mean())


def injectivity(pred: torch.Tensor, dim: Optional[int] = None) -> float:
    """Number of distinct rounded rows / N (1.0 iff the rounded map is injective on these rows).

    Only the first ``dim`` columns count (None: all).

    >>> injectivity(torch.tensor([[0.1, 1.], [0., 1.2], [1., 1.]]))
    0.6666666666666666
    """
    n = _rows(pred, "injectivity")
    if dim is not None:
        check_int("injectivity", "dim", dim, min=1, max=pred.shape[1])
    rows = np.ascontiguousarray(round_to_int(pred, dim).numpy())
    as_bytes = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    return len(np.unique(as_bytes)) / n          # distinct rows


def is_bijective(pred: torch.Tensor, bij, side: str = "y") -> bool:
    """Is the learned (rounded) map a bijection A → B (side "y") or B → A (side "x")?

    ``pred`` must hold the outputs on the **whole** set, one row per element (the rows of
    :func:`make_dataset`). Then "every rounded output valid" plus "injective" means the
    map sends N elements to N distinct members of a family of size N: a bijection.
    """
    bij = as_bijection(bij, "is_bijective")
    side = _side(side, "is_bijective")
    if _rows(pred, "is_bijective") != bij.cardinality:
        fail_value("is_bijective", "pred", pred, f"the outputs on the whole set, N = "
                   f"{bij.cardinality} rows (bijectivity is a property of the whole map)")
    return (valid_fraction(pred, bij, side) == 1.0) and (injectivity(pred, bij.dim) == 1.0)


def decode_predictions(pred: torch.Tensor, bij, side: str = "y") -> list:
    """Rounded rows as objects of the family on ``side``; None where a row is invalid.

    >>> from invlab.bijections import get_bijection
    >>> decode_predictions(torch.tensor([[1.1, 0.8, 0.], [9., 0., 0.]]), get_bijection("lehmer", n=3))
    [(1, 1, 0), None]
    """
    bij = as_bijection(bij, "decode_predictions")
    decode = bij.decode_x if _side(side, "decode_predictions") == "x" else bij.decode_y
    ok = _valid_mask(pred, bij, side, "decode_predictions")
    rows = round_to_int(pred, bij.dim).numpy().tolist()
    return [decode(r) if good else None for r, good in zip(rows, ok)]


def _owning_module(fn) -> Optional[nn.Module]:
    if isinstance(fn, nn.Module):
        return fn
    owner = getattr(fn, "__self__", None)
    return owner if isinstance(owner, nn.Module) else None


def _predict(fn: Callable, X: torch.Tensor, device, dtype, what: str) -> torch.Tensor:
    """fn(X) in eval mode, without gradients, on the module's device; returned on the CPU."""
    module = _owning_module(fn)
    params = next(iter(module.parameters()), None) if module is not None else None
    if device is None:
        device = params.device if params is not None else torch.device("cpu")
    if dtype is None:
        dtype = params.dtype if params is not None and params.is_floating_point() else torch.float32
    was_training = module is not None and module.training
    if was_training:
        module.eval()
    try:
        with torch.no_grad():
            out = fn(X.to(device=device, dtype=dtype))
    finally:
        if was_training:
            module.train()
    if isinstance(out, (tuple, list)):      # e.g. (y, log_det)
        out = out[0]
    if not isinstance(out, torch.Tensor) or out.shape != X.shape:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        fail_value("evaluate", what, fn, f"a map returning a tensor of the input's shape "
                   f"{tuple(X.shape)} (it returned {shape})")
    return out.detach().cpu()


def evaluate(bij, forward_fn: Callable, inverse_fn: Optional[Callable] = None, *,
             indices=None, pad_to: Optional[int] = None, device=None,
             dtype: Optional[torch.dtype] = None) -> dict:
    """Honest evaluation of a learned map (and optionally its inverse) on a bijection.

    The model is run on the whole set once (``make_dataset(bij, pad_to)``). Then

    * ``forward_exact`` = exact_match(forward_fn(X), Y) and ``valid_forward`` =
      valid_fraction(forward_fn(X), bij, "y") on the rows ``indices`` (default: all;
      pass the held-out indices from :func:`train_test_split`);
    * ``inverse_exact``, ``valid_inverse`` likewise for inverse_fn(Y) against X;
    * ``injective_forward`` / ``injective_inverse`` (:func:`injectivity`) and
      ``bijective_forward`` / ``bijective_inverse`` (:func:`is_bijective`) always on the
      **whole** set, since bijectivity is a property of the whole map;
    * ``bijective`` = bijective_forward, and bijective_inverse too when inverse_fn is given.

    Inverse keys are None without ``inverse_fn``. Only the first ``bij.dim`` output
    columns are read; padding columns are ignored. A function returning a tuple, e.g.
    ``(y, log_det)``, is read at its first element. Modules are switched to eval mode and
    back; ``device``/``dtype`` default to those of the module's parameters (CPU/float32).

    Returns:
        dict with keys forward_exact, inverse_exact, valid_forward, valid_inverse,
        injective_forward, injective_inverse, bijective_forward, bijective_inverse,
        bijective, n_eval, n_total.

    >>> X, Y = make_dataset("subsets")
    >>> r = evaluate("subsets", table_predictor(X, Y), table_predictor(Y, X))
    >>> r["forward_exact"], r["inverse_exact"], r["bijective"]
    (1.0, 1.0, True)
    """
    bij = as_bijection(bij, "evaluate")
    check_callable("evaluate", "forward_fn", forward_fn, "a callable (a model or its forward)")
    if inverse_fn is not None:
        check_callable("evaluate", "inverse_fn", inverse_fn, "a callable or None")
    X, Y = make_dataset(bij, pad_to=pad_to)
    N, D = X.shape[0], bij.dim
    if indices is None:
        idx = torch.arange(N)
    else:
        try:
            idx = torch.as_tensor(indices)
        except (TypeError, ValueError, RuntimeError):
            fail_type("evaluate", "indices", indices, "row numbers (a sequence or tensor of ints)")
        if idx.numel() > 0 and (idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool):
            fail_type("evaluate", "indices", indices, "row numbers (a sequence or tensor of ints)")
        idx = idx.reshape(-1).long()
        if idx.numel() == 0 or idx.min() < 0 or idx.max() >= N:
            fail_value("evaluate", "indices", indices, f"a non-empty set of row numbers in 0..{N - 1}")
    out: dict = {"n_eval": int(idx.numel()), "n_total": N}
    for key, fn, inp, target, side in (("forward", forward_fn, X, Y, "y"),
                                       ("inverse", inverse_fn, Y, X, "x")):
        if fn is None:
            out.update({f"{key}_exact": None, f"valid_{key}": None,
                        f"injective_{key}": None, f"bijective_{key}": None})
            continue
        pred = _predict(fn, inp, device, dtype, f"{key}_fn")
        ok = _valid_mask(pred, bij, side, "evaluate")
        out[f"{key}_exact"] = exact_match(pred[idx], target[idx], dim=D)
        out[f"valid_{key}"] = float(ok[idx.numpy()].mean())       # = valid_fraction(pred[idx])
        out[f"injective_{key}"] = injectivity(pred, D)
        out[f"bijective_{key}"] = bool(ok.all()) and out[f"injective_{key}"] == 1.0  # = is_bijective
    out["bijective"] = out["bijective_forward"] and (inverse_fn is None or out["bijective_inverse"])
    return out


def roundtrip_match(x: torch.Tensor, x_rec: torch.Tensor, dim: Optional[int] = None) -> float:
    """Fraction of rows with round(x_rec) == round(x): **NOT an accuracy.**

    ``x_rec = f⁻¹(f(x))`` for an INN f is x up to float error *for any weights*, untrained
    or random, so this is ≈ 1.0 whatever the network has learned. It is the kind of number
    the "Learning Bijections" project reported as 89 % accuracy (see the module docstring);
    the lab computes it only to show the pitfall. Measure :func:`exact_match` of f(x) against the true φ(x) instead.

    >>> g = torch.Generator().manual_seed(0)
    >>> A = torch.linalg.qr(torch.randn(8, 8, dtype=torch.float64, generator=g))[0]  # random, invertible
    >>> X, Y = make_dataset("lehmer", dtype=torch.float64)
    >>> roundtrip_match(X, (X @ A) @ A.T)                 # "100 %": says nothing
    1.0
    >>> exact_match(X @ A, Y) < 0.01                      # the honest number
    True
    """
    _same_shape("roundtrip_match", x, x_rec, ("x", "x_rec"))
    return float((round_to_int(x, dim) == round_to_int(x_rec, dim)).all(dim=1).double().mean())


def table_predictor(inputs: torch.Tensor, outputs: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """A lookup-table "model": maps each row of ``inputs`` to the same row of ``outputs``.

    The perfect predictor, to show what the metrics give at the top (rows are matched
    after rounding; a row not in the table gives NaN, which every metric counts as wrong).

    >>> f = table_predictor(torch.tensor([[0., 1.], [1., 0.]]), torch.tensor([[5., 5.], [6., 6.]]))
    >>> f(torch.tensor([[1.1, 0.], [3., 3.]]))
    tensor([[6., 6.],
            [nan, nan]])
    """
    n = _rows(inputs, "table_predictor", "inputs")
    if _rows(outputs, "table_predictor", "outputs") != n:
        fail_value("table_predictor", "outputs", outputs, f"a tensor with the {n} rows of inputs")
    keys = [tuple(r) for r in round_to_int(inputs).numpy().tolist()]
    table = dict(zip(keys, range(len(keys))))
    outputs = outputs.detach().cpu()

    def predict(x: torch.Tensor) -> torch.Tensor:
        rows = [table.get(tuple(r), -1) for r in round_to_int(x).numpy().tolist()]
        idx = torch.tensor(rows, dtype=torch.long)
        res = outputs[idx.clamp(min=0)].to(x.dtype).clone()
        res[idx < 0] = float("nan")
        return res.to(x.device)

    return predict
