"""Where the course runs: device choice, Colab detection, seeding, the offline switch."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import sys
import time
import warnings

import numpy as np
import torch

from .validate import check_bool, check_choice, check_int, fail_type

__all__ = ["setup", "device", "in_colab", "seed_everything", "is_offline", "one_cpu_thread",
           "warnings_to_stdout", "stopwatch", "elapsed"]

_announced: set = set()
_t_setup = time.perf_counter()  # reset by setup(): the start of the lab


def device(verbose: bool = True) -> torch.device:
    """The best device here: ``cuda`` when available, else ``mps``, else ``cpu``.

    ``INVLAB_DEVICE=cpu`` (or ``cuda``, ``mps``) overrides the choice; the grader sets
    it to ``cpu`` so that grades never depend on the grading machine. On CUDA, TF32
    matrix and convolution arithmetic is switched off: with it, a layer's output can
    differ between two calls on differently sized batches by ~1e-3, and exact
    invertibility (≤ 1e-5) is the point of the course. Says once per session (per
    device kind) which device it picked.

    >>> device(verbose=False).type in {"cuda", "mps", "cpu"}
    True
    """
    verbose = check_bool("device", "verbose", verbose)
    forced = os.environ.get("INVLAB_DEVICE", "").strip().lower()
    if forced:
        check_choice("device", "the environment variable INVLAB_DEVICE", forced, ("cpu", "cuda", "mps"))
        dev, why = torch.device(forced), f"{forced} (set by INVLAB_DEVICE)"
    elif torch.cuda.is_available():
        dev, why = torch.device("cuda"), f"cuda ({torch.cuda.get_device_name(0)})"
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        dev, why = torch.device("mps"), "mps (Apple GPU)"
    else:
        dev, why = torch.device("cpu"), "cpu (no GPU found; every lab runs on CPU too)"
    if dev.type == "cuda":
        torch.set_float32_matmul_precision("highest")
        torch.backends.cudnn.allow_tf32 = False
    if verbose and dev.type not in _announced:
        _announced.add(dev.type)
        print(f"invlab: using {why}")
    return dev


def in_colab() -> bool:
    """True inside Google Colab (the ``google.colab`` module is importable)."""
    if "google.colab" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):
        return False


def seed_everything(seed: int = 0) -> int:
    """Seed Python's ``random``, NumPy and torch (CPU and CUDA); returns the seed.

    >>> seed_everything(3)
    3
    """
    seed = check_int("seed_everything", "seed", seed, min=0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return seed


def is_offline() -> bool:
    """True when ``INVLAB_OFFLINE`` is set to 1/true/yes: nothing may be downloaded."""
    return os.environ.get("INVLAB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


@contextlib.contextmanager
def one_cpu_thread(dev=None):
    """Run the block on one CPU thread, then restore the thread count.

    The labs' toy networks are tiny: on a CPU, more threads only add overhead, and on a
    busy machine they spin against each other (seen here: 5–20× slower with 2 threads
    under load). Does nothing when ``dev`` is a GPU.

    >>> n = torch.get_num_threads()
    >>> with one_cpu_thread():
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == n
    True
    """
    if dev is not None and not isinstance(dev, (str, torch.device)):
        fail_type("one_cpu_thread", "dev", dev, "a torch.device, a device name such as 'cpu', or None")
    try:
        on_cpu = dev is None or torch.device(dev).type == "cpu"
    except RuntimeError:
        check_choice("one_cpu_thread", "dev", dev, ("cpu", "cuda", "mps"))
    threads = torch.get_num_threads()
    if on_cpu:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if on_cpu:
            torch.set_num_threads(threads)


def warnings_to_stdout() -> None:
    """Print Python warnings on stdout instead of stderr.

    nbgrader scores any stderr output of a graded cell as a failure, so a library's
    harmless warning would cost a correct answer its points. The labs' setup cells
    call this.
    """
    def show(message, category, filename, lineno, file=None, line=None):
        print(warnings.formatwarning(message, category, filename, lineno, line), end="")
    warnings.showwarning = show


class stopwatch:
    """Wall-clock seconds of a ``with`` block: the one timer of the labs. On a machine with
    CUDA it waits for the GPU at both ends (its work is asynchronous).

    >>> with stopwatch() as sw:
    ...     _ = sum(range(1000))
    >>> 0 <= sw.seconds < 1
    True
    """

    def __enter__(self) -> "stopwatch":
        self.seconds = 0.0
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.seconds = time.perf_counter() - self._t0


def elapsed() -> float:
    """Seconds since the last :func:`setup` (a lab's run time so far).

    >>> setup(0, verbose=False).type in {"cpu", "cuda", "mps"}
    True
    >>> 0 <= elapsed() < 60
    True
    """
    return time.perf_counter() - _t_setup


def setup(seed: int = 0, one_thread: bool = True, verbose: bool = True) -> torch.device:
    """Everything a lab's setup cell needs, in one call; returns the device.

    * picks the device (:func:`device`: cuda → mps → cpu, ``INVLAB_DEVICE`` overrides);
    * seeds Python, NumPy and torch (:func:`seed_everything`);
    * prints warnings on stdout (:func:`warnings_to_stdout`: nbgrader scores stderr 0);
    * starts the lab's clock (:func:`elapsed`);
    * on a CPU, runs torch on one thread (``one_thread=True``): the labs' models are
      small, and on a busy 2-core machine two threads ran them 5–20× slower. Call
      ``torch.set_num_threads(n)`` afterwards for a cell that multiplies big matrices.

    >>> setup(0, verbose=False).type in {"cpu", "cuda", "mps"}
    True
    """
    check_int("setup", "seed", seed, min=0)
    check_bool("setup", "one_thread", one_thread)
    check_bool("setup", "verbose", verbose)
    global _t_setup
    _t_setup = time.perf_counter()
    seed = seed_everything(seed)
    dev = device(verbose=verbose)
    warnings_to_stdout()
    if one_thread and dev.type == "cpu":
        torch.set_num_threads(1)
    return dev
