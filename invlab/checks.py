"""Checks for graded cells: each failure says, in the student's terms, what is wrong.

A check raises :class:`CheckFailed` (an ``AssertionError``) with a message such as
``psi(x) has shape (2, 4, 7, 7); expected (2, 16, 7, 7)``, or returns quietly.
:func:`passed` prints the pass line at the end of a graded cell (to stdout: nbgrader
counts anything on stderr as a failure).
"""
from __future__ import annotations

import contextlib
import inspect
import textwrap
from numbers import Real
from typing import Callable, Mapping, Optional, Sequence

import torch
from torch.overrides import TorchFunctionMode

from .base import InvertibleModule, is_invertible
from .validate import check_callable, check_float, fail_type, fail_value

__all__ = ["CheckFailed", "check", "check_tensor", "check_shape", "check_close",
           "check_equal", "check_invertible", "check_between", "count_torch_calls", "explain_errors",
           "own_work", "passed", "check_log_det"]


class CheckFailed(AssertionError):
    """A graded check failed; the message says what to fix."""


# The arguments an instructor writes (names, expected shapes, tolerances, hints) are
# validated (TypeError / ValueError); the student's values never are: a wrong student
# value is a CheckFailed with a message in the student's terms.

def _text(fn: str, arg: str, value) -> None:
    if not isinstance(value, str):
        fail_type(fn, arg, value, "a str")


def _number(fn: str, arg: str, value) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        fail_type(fn, arg, value, "a number")
    return float(value)


def check(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    _text("check", "message", message)
    if not condition:
        raise CheckFailed(message)


def _shape(t) -> str:
    return str(tuple(t.shape))


def check_tensor(name: str, value, dtype: Optional[torch.dtype] = None) -> None:
    """``value`` must be a tensor (of ``dtype`` when given) without NaN or inf."""
    _text("check_tensor", "name", name)
    if dtype is not None and not isinstance(dtype, torch.dtype):
        fail_type("check_tensor", "dtype", dtype, "a torch.dtype or None")
    check(isinstance(value, torch.Tensor),
          f"{name} should be a torch.Tensor, but it is a {type(value).__name__}"
          + (" (did you forget to return it?)" if value is None else ""))
    if dtype is not None:
        check(value.dtype == dtype, f"{name} has dtype {value.dtype}; expected {dtype}")
    if value.is_floating_point():
        check(bool(torch.isfinite(value).all()), f"{name} contains NaN or inf values")


def check_shape(name: str, value, expected: Sequence[int]) -> None:
    """``value`` must be a tensor of shape ``expected``."""
    check_tensor(name, value)
    if isinstance(expected, (str, bytes)) or not hasattr(expected, "__iter__") or not all(
            hasattr(s, "__index__") and not isinstance(s, bool) for s in expected):
        fail_type("check_shape", "expected", expected, "a shape: a sequence of ints")
    expected = tuple(int(s) for s in expected)
    check(tuple(value.shape) == expected, f"{name} has shape {_shape(value)}; expected {expected}")


_PLAIN_NUMBERS = (bool, int, float)


def _plain_tensor(name: str, value) -> torch.Tensor:
    """A detached CPU copy of ``value`` that is a plain ``torch.Tensor`` (not a subclass)."""
    if type(value) not in (torch.Tensor, torch.nn.Parameter):
        raise CheckFailed(f"{name} should be a torch.Tensor, but it is a {type(value).__name__}"
                          + (" (did you forget to return it?)" if value is None else ""))
    with torch._C.DisableTorchFunction():
        return torch.Tensor.detach(value).cpu().clone().as_subclass(torch.Tensor)


def _plain_number(name: str, value) -> float:
    """``value`` as a Python float, from a built-in number, numpy scalar or one-element tensor.

    Objects of other types are refused, so an object whose ``__eq__`` or ``__float__``
    always agrees cannot pass a check.
    """
    import numpy as np
    if type(value) in _PLAIN_NUMBERS:
        return float(value)
    if isinstance(value, np.generic) and type(value).__module__ == "numpy" \
            and isinstance(value, (np.bool_, np.number)) and not isinstance(value, np.complexfloating):
        return float(value.item())
    if type(value) in (torch.Tensor, torch.nn.Parameter):
        t = _plain_tensor(name, value)
        if t.numel() == 1 and not t.is_complex():
            with torch._C.DisableTorchFunction():
                return float(t.reshape(()).tolist())
    raise CheckFailed(f"{name} should be a number, but it is a {type(value).__name__}"
                      + (" (did you forget to return it?)" if value is None else ""))


def _plain_value(name: str, value, like):
    """``value`` rebuilt as a plain value of the kind of ``like`` (str, number, tuple, ...)."""
    if isinstance(like, str):
        if type(value) is not str:
            raise CheckFailed(f"{name} should be a str, but it is a {type(value).__name__}")
        return str.__str__(value)
    if type(like) in _PLAIN_NUMBERS or isinstance(like, float):
        v = _plain_number(name, value)
        return int(v) if type(like) is int and type(value) is int else v
    if isinstance(like, (tuple, list)):
        if type(value) not in (tuple, list) or len(value) != len(like):
            raise CheckFailed(f"{name} should be a {type(like).__name__} of {len(like)} items, "
                              f"but it is {type(value).__name__}"
                              + (f" of {len(value)}" if type(value) in (tuple, list) else ""))
        return type(like)(_plain_value(f"{name}[{i}]", v, w) for i, (v, w) in enumerate(zip(value, like)))
    if like is None:
        if value is not None:
            raise CheckFailed(f"{name} is {type(value).__name__}; expected None")
        return None
    raise TypeError(f"check_equal: expected values of type {type(like).__name__} are not supported; "
                    "use str, bool, int, float, tuple, list, None or a torch.Tensor")


def check_equal(name: str, actual, expected) -> None:
    """Exact equality (tensors: same shape and values; else ``==`` on plain values).

    ``actual`` is first rebuilt as a plain value (a tensor, str, number, tuple) by the
    check itself, so an object whose ``__eq__`` or ``__bool__`` always says True fails.
    """
    if isinstance(expected, torch.Tensor):
        a = _plain_tensor(name, actual)
        check_shape(name, a, expected.shape)
        with torch._C.DisableTorchFunction():  # no student __torch_function__ mode takes part
            e = torch.Tensor.detach(expected).cpu().as_subclass(torch.Tensor)
            bad = int((a != e).sum())
        check(bad == 0, f"{name} differs from the expected values in {bad} of "
                        f"{e.numel()} entries")
    else:
        a = _plain_value(name, actual, expected)
        check(a == expected, f"{name} is {a!r}; expected {expected!r}")


def check_close(name: str, actual, expected, rtol: float = 1e-5, atol: float = 1e-6,
                hint: str = "") -> None:
    """``actual`` ≈ ``expected`` elementwise (``torch.allclose`` semantics).

    Compares plain tensors / floats the check builds itself (see :func:`check_equal`).
    """
    rtol = check_float("check_close", "rtol", rtol, min=0)
    atol = check_float("check_close", "atol", atol, min=0)
    _text("check_close", "hint", hint)
    if isinstance(expected, torch.Tensor):
        a = _plain_tensor(name, actual)
        check_shape(name, a, expected.shape)
        with torch._C.DisableTorchFunction():  # no student __torch_function__ mode takes part
            e = torch.Tensor.detach(expected).cpu().as_subclass(torch.Tensor).to(a.dtype)
            close = bool(torch.allclose(a, e, rtol=rtol, atol=atol))
            diff = 0.0 if close else float((a - e).abs().max())
        if not close:
            raise CheckFailed(f"{name} is not close to the expected values: the largest "
                              f"difference is {diff:.3g}" + (f". {hint}" if hint else ""))
    else:
        a, e = _plain_number(name, actual), _plain_number("the expected value", expected)
        ok = abs(a - e) <= atol + rtol * abs(e)
        check(ok, f"{name} is {a:.6g}; expected {e:.6g}" + (f". {hint}" if hint else ""))


def check_between(name: str, value, low: float = float("-inf"), high: float = float("inf"),
                  hint: str = "") -> None:
    """``low ≤ value ≤ high`` for a number (a plain float the check builds itself)."""
    lo, hi = _number("check_between", "low", low), _number("check_between", "high", high)
    if lo > hi:
        fail_value("check_between", "high", high, f"a number ≥ low = {lo:g}")
    _text("check_between", "hint", hint)
    v = _plain_number(name, value)
    check(lo <= v <= hi, f"{name} is {v:.6g}; expected it between {lo:g} and {hi:g}"
                            + (f". {hint}" if hint else ""))


def check_invertible(name: str, forward: Callable, inverse: Callable, x: torch.Tensor,
                     rtol: Optional[float] = None) -> float:
    """Both round trips must hold: ``inverse(forward(x)) = x`` and ``forward(inverse(y)) = y``.

    A thin wrapper over :func:`invlab.is_invertible` (same tolerance: the module's own,
    1e-5 in float32 and 1e-10 in float64 for exact inverses) that first checks shapes
    and says, in the student's terms, which direction fails. Returns the larger error.
    """
    _text("check_invertible", "name", name)
    check_callable("check_invertible", "forward", forward)
    check_callable("check_invertible", "inverse", inverse)
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        fail_type("check_invertible", "x", x, "a floating-point torch.Tensor")
    if rtol is not None:
        rtol = check_float("check_invertible", "rtol", rtol, min=0, min_open=True)
    with torch.no_grad():
        y = forward(x)
        check(isinstance(y, torch.Tensor),
              f"{name}: the forward pass returned a {type(y).__name__}; expected a tensor")
        x_rec = inverse(y)
    check_shape(f"{name}: inverse(forward(x))", x_rec, x.shape)
    owner = getattr(forward, "__self__", forward)
    module = owner if isinstance(owner, InvertibleModule) else None
    report = is_invertible(module, x, rtol=rtol, forward=forward, inverse=inverse)
    check(report.forward_error <= report.rtol,
          f"{name} does not invert exactly: ‖x − inverse(forward(x))‖/‖x‖ = "
          f"{report.forward_error:.2e}, expected ≤ {report.rtol:.0e}")
    check(report.inverse_error <= report.rtol,
          f"{name}: inverse(forward(x)) gives x back, but forward(inverse(y)) does not give "
          f"y back for other y (‖y − forward(inverse(y))‖/‖y‖ = {report.inverse_error:.2e}, "
          f"expected ≤ {report.rtol:.0e}); does the inverse use something only forward knows?")
    return report.rel_error


class count_torch_calls(TorchFunctionMode):
    """Count the torch operations run inside ``with count_torch_calls() as c:`` (``c.calls``).

    A machine-independent test of vectorisation: a Python loop over samples runs
    thousands of operations where whole-matrix code runs a few dozen.
    """

    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def explain_errors(call: str, hints: Optional[Mapping[str, str]] = None, default: str = "",
                   also: tuple = ()):
    """Run the student's code inside ``with explain_errors(...):``; a ``RuntimeError`` it
    raises (torch's shape, device and autograd errors) becomes a :class:`CheckFailed`
    that names ``call``, quotes the first line of torch's message, and adds the hint of
    the first key of ``hints`` found in that message (else ``default``):
    ``"{call} fails ({torch's first line}): {hint}"``. ``also``: more exception classes
    to explain the same way (e.g. ``(TypeError, IndexError)`` for Python's own errors in
    the student's code); torch's ``NotImplementedError`` with a message ("bitwise_xor not
    implemented for 'Float'": ``^`` written for ``**``) is explained too. A bare
    ``NotImplementedError()`` (an exercise not written yet), failed checks
    (``AssertionError``) and other exceptions pass through unchanged.

    >>> try:
    ...     with explain_errors("f(x)", {"must match the size": "add tensors of one shape"}):
    ...         torch.ones(2) + torch.ones(3)
    ... except CheckFailed as e:
    ...     print(e)
    f(x) fails (The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0): add tensors of one shape
    """
    _text("explain_errors", "call", call)
    _text("explain_errors", "default", default)
    hints = dict(hints or {})
    for key, hint in hints.items():
        _text("explain_errors", "hints", key)
        _text("explain_errors", "hints", hint)
    if not isinstance(also, tuple) or not all(isinstance(c, type) and issubclass(c, Exception) for c in also):
        fail_type("explain_errors", "also", also, "a tuple of exception classes")
    try:
        yield
    except NotImplementedError as err:   # the blank exercise raises it with no message; torch with one
        if not str(err):
            raise
        text = str(err)
        hint = next((h for key, h in hints.items() if key in text), default)
        raise CheckFailed(f"{call} fails ({text.splitlines()[0]})" + (f": {hint}" if hint else "")) from None
    except AssertionError:                # a failed check: its own message
        raise
    except (RuntimeError, *also) as err:
        text = str(err)
        first = text.splitlines()[0] if text else type(err).__name__
        hint = next((h for key, h in hints.items() if key in text), default)
        raise CheckFailed(f"{call} fails ({first})" + (f": {hint}" if hint else "")) from None


@contextlib.contextmanager
def own_work(lab: str, exercise: str, *answers):
    """The student's code run inside the block may not use the course's own answer to
    ``exercise`` of ``lab`` (:data:`invlab.answers.REFERENCES`, the grader's table too).

    ``answers``: the student's functions or classes for this exercise. Their source is
    read (an alias made in any cell counts), and while the block runs the course's
    versions are armed, so a call made however it was written is caught. Fails with the
    grader's own words (:func:`invlab.answers.message`). Compute expected values outside
    the block.

    >>> from invlab import mmd
    >>> def mmd2_unbiased(x, y):
    ...     return mmd.mmd2_unbiased(x, y)
    >>> with own_work("03", "ex2_mmd", mmd2_unbiased):
    ...     mmd2_unbiased(torch.zeros(3, 1), torch.ones(3, 1))
    Traceback (most recent call last):
    ...
    invlab.checks.CheckFailed: mmd2_unbiased calls the course's own implementation (invlab.mmd.mmd2_unbiased); this exercise asks you to write it yourself, so it scores 0
    """
    from . import answers as _answers
    names = _answers.names_for(lab, exercise)
    what = ", ".join(sorted(getattr(a, "__name__", "") for a in answers if getattr(a, "__name__", ""))) or exercise
    wanted = {id(o): n for n in names if (o := _answers.resolve(n)) is not None}
    found = []
    parts = list(answers)
    for obj in answers:  # a class: its bases, and its methods (a notebook keeps no class source, but method sources)
        if inspect.isclass(obj):
            found += [wanted[id(base)] for base in obj.__mro__[1:] if id(base) in wanted]
            parts += [f for v in vars(obj).values() for f in (v, getattr(v, "__func__", None), getattr(v, "fget", None))
                      if inspect.isfunction(f)]
    for obj in parts:
        try:
            source = inspect.getsource(obj)
        except (OSError, TypeError):
            continue
        known = {k: n for k, v in getattr(obj, "__globals__", vars(inspect.getmodule(obj) or object)).items()
                 if (n := wanted.get(id(v))) is not None}
        known.update({k: v.__name__ for k, v in getattr(obj, "__globals__", {}).items()
                      if inspect.ismodule(v) and v.__name__.split(".")[0] == "invlab"})
        found += _answers.scan(textwrap.dedent(source), names, known)
    used: list = []
    try:
        with _answers.tripwire(names) as used:
            yield
    except _answers.ReferenceUsed:
        pass
    finally:
        hits = sorted(set(found) | set(used))
        if hits:  # replaces whatever the student's code raised after the call
            raise CheckFailed(_answers.message(what, hits)) from None


def passed(what: str) -> None:
    """Print the pass line of a graded cell."""
    _text("passed", "what", what)
    print(f"✔ {what}: all checks passed.")


def check_log_det(name: str, log_det, f: Callable, x: torch.Tensor, rtol: float = 1e-8,
                  atol: float = 1e-8, hint: str = "") -> torch.Tensor:
    """A student's log-det must equal ``invlab.exact_log_det(f, x)`` (autograd's Jacobian).

    ``log_det`` is the student's per-sample value, shape ``(B,)``; ``f`` the *forward* map
    ``(B, D) -> (B, D)``; ``x`` the batch (float64 for a tight check). The reference is the
    slogdet of the full Jacobian, so nothing in this check shows the formula. When the
    value is the negative of the reference the message says so (the log-det of the
    inverse map, a common slip). Returns the reference.

    >>> A = torch.tensor([[2.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
    >>> x = torch.randn(3, 2, dtype=torch.float64)
    >>> ref = check_log_det("ld", torch.full((3,), 6.0).log().double(), lambda v: v @ A, x)
    >>> check_log_det("ld", -ref, lambda v: v @ A, x)
    Traceback (most recent call last):
    ...
    invlab.checks.CheckFailed: ld has the wrong sign: it is the log-det of the inverse map; we want log|det ∂y/∂x| of the forward map
    """
    from .base import exact_log_det
    want = exact_log_det(f, x).detach()
    check_shape(name, log_det, want.shape)
    got = log_det.detach().to(want.device, want.dtype)
    if not torch.allclose(got, want, rtol=rtol, atol=atol) and \
            torch.allclose(got, -want, rtol=rtol, atol=atol) and want.abs().max() > atol:
        raise CheckFailed(f"{name} has the wrong sign: it is the log-det of the inverse map; "
                          "we want log|det ∂y/∂x| of the forward map")
    check_close(name + " vs log|det J| of the full Jacobian (autograd)", got, want, rtol=rtol,
                atol=atol, hint=hint)
    return want

