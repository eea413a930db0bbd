"""Checks for graded cells: each failure says, in the student's terms, what is wrong.

A check raises :class:`CheckFailed` (an ``AssertionError``) with a message such as
``psi(x) has shape (2, 4, 7, 7); expected (2, 16, 7, 7)``, or returns quietly.
:func:`passed` prints the pass line at the end of a graded cell (to stdout: nbgrader
counts anything on stderr as a failure).
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
from torch.overrides import TorchFunctionMode

from .base import InvertibleModule, is_invertible

__all__ = ["CheckFailed", "check", "check_tensor", "check_shape", "check_close",
           "check_equal", "check_invertible", "check_between", "count_torch_calls", "passed"]


class CheckFailed(AssertionError):
    """A graded check failed; the message says what to fix."""


def check(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def _shape(t) -> str:
    return str(tuple(t.shape))


def check_tensor(name: str, value, dtype: Optional[torch.dtype] = None) -> None:
    """``value`` must be a tensor (of ``dtype`` when given) without NaN or inf."""
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
    expected = tuple(int(s) for s in expected)
    check(tuple(value.shape) == expected, f"{name} has shape {_shape(value)}; expected {expected}")


def check_equal(name: str, actual, expected) -> None:
    """Exact equality (tensors: same shape and values; else ``==``)."""
    if isinstance(expected, torch.Tensor):
        check_shape(name, actual, expected.shape)
        bad = (actual != expected.to(actual.device)).sum().item()
        check(bad == 0, f"{name} differs from the expected values in {bad} of "
                        f"{expected.numel()} entries")
    else:
        check(actual == expected, f"{name} is {actual!r}; expected {expected!r}")


def check_close(name: str, actual, expected, rtol: float = 1e-5, atol: float = 1e-6,
                hint: str = "") -> None:
    """``actual`` ≈ ``expected`` elementwise (``torch.allclose`` semantics)."""
    if isinstance(expected, torch.Tensor):
        check_shape(name, actual, expected.shape)
        expected = expected.to(actual.device, actual.dtype)
        if not torch.allclose(actual, expected, rtol=rtol, atol=atol):
            diff = (actual - expected).abs().max().item()
            raise CheckFailed(f"{name} is not close to the expected values: the largest "
                              f"difference is {diff:.3g}" + (f". {hint}" if hint else ""))
    else:
        ok = abs(float(actual) - float(expected)) <= atol + rtol * abs(float(expected))
        check(ok, f"{name} is {float(actual):.6g}; expected {float(expected):.6g}"
                  + (f". {hint}" if hint else ""))


def check_between(name: str, value, low: float = float("-inf"), high: float = float("inf"),
                  hint: str = "") -> None:
    """``low ≤ value ≤ high`` for a number."""
    check(isinstance(value, (int, float)) or (isinstance(value, torch.Tensor) and value.numel() == 1),
          f"{name} should be a number, but it is a {type(value).__name__}")
    v = float(value)
    check(low <= v <= high, f"{name} is {v:.6g}; expected it between {low:g} and {high:g}"
                            + (f". {hint}" if hint else ""))


def check_invertible(name: str, forward: Callable, inverse: Callable, x: torch.Tensor,
                     rtol: Optional[float] = None) -> float:
    """Both round trips must hold: ``inverse(forward(x)) = x`` and ``forward(inverse(y)) = y``.

    A thin wrapper over :func:`invlab.is_invertible` (same tolerance: the module's own,
    1e-5 in float32 and 1e-10 in float64 for exact inverses) that first checks shapes
    and says, in the student's terms, which direction fails. Returns the larger error.
    """
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


def passed(what: str) -> None:
    """Print the pass line of a graded cell."""
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


__all__ += ["check_log_det"]
