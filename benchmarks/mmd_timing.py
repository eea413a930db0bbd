"""Time invlab.mmd.mmd2 on 2,000 x 2,000 samples (D=4, float32, multiscale IMQ, unbiased).

Usage (from the repository root):

    PYTHONPATH=. python benchmarks/mmd_timing.py [--n 2000] [--d 4] [--repeats 7] [--threads T]

Prints the median wall time of a forward pass and of forward + backward (as when
mmd2 is a training loss), after a warm-up, on CPU and, if available, on CUDA.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from invlab.mmd import DEFAULT_BANDWIDTHS, mmd2


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_mmd2(device: torch.device, n: int, d: int, repeats: int, warmup: int = 2):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g).to(device)
    y = (torch.randn(n, d, generator=g) + 0.5).to(device)
    xg = x.clone().requires_grad_(True)

    def fwd():
        with torch.no_grad():
            return mmd2(x, y, kernel="imq", bandwidths=DEFAULT_BANDWIDTHS, unbiased=True)

    def fwd_bwd():
        xg.grad = None
        out = mmd2(xg, y, kernel="imq", bandwidths=DEFAULT_BANDWIDTHS, unbiased=True)
        out.backward()
        return out

    results = {}
    for label, fn in (("forward", fwd), ("forward+backward", fwd_bwd)):
        for _ in range(warmup):
            value = fn()
        _sync(device)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            value = fn()
            _sync(device)
            times.append(time.perf_counter() - t0)
        results[label] = (statistics.median(times), min(times), float(value.detach()))
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="samples in each of x and y")
    p.add_argument("--d", type=int, default=4, help="feature dimension")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = p.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    print(f"mmd2: n = m = {args.n}, D = {args.d}, float32, IMQ bandwidths {DEFAULT_BANDWIDTHS}, "
          f"unbiased; median (min) of {args.repeats} after warm-up; torch {torch.__version__}")
    for dev in devices:
        name = (f"cuda ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda"
                else f"cpu ({torch.get_num_threads()} threads)")
        for label, (med, best, value) in time_mmd2(dev, args.n, args.d, args.repeats).items():
            print(f"  {name:32s} {label:17s} {med * 1e3:9.2f} ms  (min {best * 1e3:.2f} ms)"
                  f"  MMD² = {value:.5f}")


if __name__ == "__main__":
    main()
