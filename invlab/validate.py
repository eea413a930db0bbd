"""Argument checking, written once for every public function and constructor of invlab.

Every check raises with one message shape that names the function, the argument, what
was given and what is expected::

    psi: block_size must be a positive int, got 2.0 (float)

A wrong **type** raises ``TypeError``; a value of the right type but outside what is
allowed raises ``ValueError``. Each helper returns the (converted) value, so a
constructor reads ``self.dim = check_int("AffineCoupling", "dim", dim, min=2)``.

>>> check_int("psi", "block_size", 2.0, min=1)
Traceback (most recent call last):
...
TypeError: psi: block_size must be an int ≥ 1, got 2.0 (float)
>>> check_int("IRevNet", "block_size", 0, min=1)
Traceback (most recent call last):
...
ValueError: IRevNet: block_size must be an int ≥ 1, got 0
"""
from __future__ import annotations

import math
from numbers import Real
from typing import Iterable, Optional, Sequence

import torch

__all__ = ["describe", "fail_type", "fail_value", "check_int", "check_float", "check_bool",
           "check_choice", "check_tensor", "check_callable", "check_module", "caller_name"]


def describe(value) -> str:
    """How a given value is shown in a message: its repr, and its type when that helps."""
    if isinstance(value, torch.Tensor):
        return (f"a tensor of shape {tuple(value.shape)} "
                f"({str(value.dtype).replace('torch.', '')})")
    if isinstance(value, torch.nn.Module):
        return f"a {type(value).__name__} module"
    if callable(value) and hasattr(value, "__name__"):
        return f"{type(value).__name__} {value.__name__}"
    text = repr(value).splitlines()[0] if repr(value) else ""
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, (bool, int, str)) or value is None:
        return text
    return f"{text} ({type(value).__name__})"


def fail_type(fn: str, name: str, value, expected: str):
    """Raise ``TypeError('fn: name must be expected, got value')``."""
    raise TypeError(f"{fn}: {name} must be {expected}, got {describe(value)}")


def fail_value(fn: str, name: str, value, expected: str):
    """Raise ``ValueError('fn: name must be expected, got value')``."""
    raise ValueError(f"{fn}: {name} must be {expected}, got {describe(value)}")


def _range_text(kind: str, min, max, min_open=False, max_open=False) -> str:
    parts = []
    if min is not None:
        parts.append(f"{'>' if min_open else '≥'} {min:g}")
    if max is not None:
        parts.append(f"{'<' if max_open else '≤'} {max:g}")
    return kind + (" " + " and ".join(parts) if parts else "")


def check_int(fn: str, name: str, value, *, min: Optional[int] = None,
              max: Optional[int] = None) -> int:
    """An ``int`` (not a bool, not a float) in ``[min, max]``; returns it.

    >>> check_int("f", "n", 3, min=1)
    3
    """
    expected = _range_text("an int", min, max)
    if isinstance(value, bool) or not isinstance(value, int):
        fail_type(fn, name, value, expected)
    if (min is not None and value < min) or (max is not None and value > max):
        fail_value(fn, name, value, expected)
    return int(value)


def check_float(fn: str, name: str, value, *, min: Optional[float] = None,
                max: Optional[float] = None, min_open: bool = False,
                max_open: bool = False) -> float:
    """A real number (int or float, not a bool), finite, in the given range; returns a float.

    >>> check_float("mmd2", "bandwidth", 0.5, min=0, min_open=True)
    0.5
    >>> check_float("mmd2", "bandwidth", 0, min=0, min_open=True)
    Traceback (most recent call last):
    ...
    ValueError: mmd2: bandwidth must be a finite number > 0, got 0
    """
    expected = _range_text("a finite number", min, max, min_open, max_open)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        fail_type(fn, name, value, expected)
    v = float(value)
    bad = not math.isfinite(v)
    if min is not None:
        bad |= v <= min if min_open else v < min
    if max is not None:
        bad |= v >= max if max_open else v > max
    if bad:
        fail_value(fn, name, value, expected)
    return v


def check_bool(fn: str, name: str, value) -> bool:
    """``True`` or ``False`` exactly."""
    if not isinstance(value, bool):
        fail_type(fn, name, value, "True or False")
    return value


def check_choice(fn: str, name: str, value, choices: Iterable):
    """One of ``choices`` (compared with ``==``); returns it.

    >>> check_choice("load_mnist", "split", "val", ("train", "test"))
    Traceback (most recent call last):
    ...
    ValueError: load_mnist: split must be one of 'train', 'test', got 'val'
    """
    choices = tuple(choices)
    expected = "one of " + ", ".join(repr(c) for c in choices)
    types = tuple({type(c) for c in choices})
    if not isinstance(value, types):
        fail_type(fn, name, value, expected)
    if value not in choices:
        fail_value(fn, name, value, expected)
    return value


def check_tensor(fn: str, name: str, value, *, dim: Optional[int | Sequence[int]] = None,
                 min_dim: Optional[int] = None, floating: bool = False,
                 shape: Optional[Sequence[Optional[int]]] = None,
                 finite: bool = False) -> torch.Tensor:
    """A ``torch.Tensor`` with the given number of axes / shape (``None`` = any size).

    Args:
        dim: the exact number of axes, or a tuple of allowed numbers.
        min_dim: the least number of axes.
        floating: a floating-point dtype is required.
        shape: e.g. ``(None, 2)`` for ``(B, 2)``.
        finite: no NaN or inf allowed.

    >>> check_tensor("psi", "x", torch.zeros(2, 3), dim=4)
    Traceback (most recent call last):
    ...
    ValueError: psi: x must be a tensor with 4 axes, got a tensor of shape (2, 3) (float32)
    """
    if not isinstance(value, torch.Tensor):
        fail_type(fn, name, value, "a torch.Tensor")
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if value.dim() not in dims:
            fail_value(fn, name, value, f"a tensor with {' or '.join(map(str, dims))} axes")
    if min_dim is not None and value.dim() < min_dim:
        fail_value(fn, name, value, f"a tensor with at least {min_dim} axes")
    if shape is not None:
        want = tuple(shape)
        ok = value.dim() == len(want) and all(w is None or w == s for w, s in zip(want, value.shape))
        if not ok:
            names = ["B" if i == 0 else "*" for i in range(len(want))]
            text = "(" + ", ".join(n if w is None else str(w) for n, w in zip(names, want)) + ")"
            fail_value(fn, name, value, f"a tensor of shape {text}")
    if floating and not value.is_floating_point():
        fail_type(fn, name, value, "a floating-point tensor (use .float())")
    if finite and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        fail_value(fn, name, value, "finite (it contains NaN or inf)")
    return value


def check_callable(fn: str, name: str, value, expected: str = "a callable"):
    """Anything callable (a function, a module, a factory)."""
    if not callable(value):
        fail_type(fn, name, value, expected)
    return value


def check_module(fn: str, name: str, value, cls=torch.nn.Module, expected: Optional[str] = None):
    """An instance of ``cls`` (default ``nn.Module``)."""
    if not isinstance(value, cls):
        fail_type(fn, name, value, expected or f"an instance of {cls.__name__}")
    return value


_SKIP_DIRS: tuple = ()


def caller_name(value, default: str) -> str:
    """The name the caller's own code gave ``value``, else ``default``: invlab's messages
    speak of the student's ``z``, not of the ``y`` in invlab's signature.

    Walks up the call stack past invlab's and torch's frames to the first frame of the
    caller's code and returns a local name there bound to ``value`` itself (``is``), not
    starting with ``_``. Only for messages of a check that already failed (walking the
    stack is slow): ``fail_value(fn, caller_name(z, "y"), z, ...)``.

    >>> def sample(transform, n):
    ...     z = torch.zeros(n)
    ...     return caller_name(z, "y")          # as if invlab checked z
    >>> sample(None, 3)
    'z'
    >>> caller_name(torch.zeros(2), "y")         # an expression has no name
    'y'
    """
    import inspect
    import os
    global _SKIP_DIRS
    if not _SKIP_DIRS:
        _SKIP_DIRS = (os.path.dirname(os.path.abspath(__file__)) + os.sep,
                      os.path.dirname(os.path.abspath(torch.__file__)) + os.sep)
    frame = inspect.currentframe()
    try:
        frame = frame.f_back if frame is not None else None
        # this module's own callers inside invlab (and torch's nn.Module.__call__) are skipped;
        # a doctest's or notebook's code has a file name like "<doctest ...>" or ".../ipykernel_1/2.py"
        while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_SKIP_DIRS) \
                and not frame.f_code.co_filename.startswith("<"):
            frame = frame.f_back
        if frame is None:
            return default
        for name, v in frame.f_locals.items():
            if v is value and not name.startswith("_"):
                return name
        return default
    finally:
        del frame

