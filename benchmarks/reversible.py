"""Reversible training vs ordinary autograd, for depths 2 … 32 (issue 15).

The lab-1 i-RevNet (psi b = 4, RevBlocks with a 7×7 conv + ReLU on 8 channels, linear
head), batch 64 of MNIST-sized images, cross-entropy, SGD. Its invertible body runs as
``invlab.reversible(net.body, enabled=...)``; nothing else differs.

* saved bytes: what autograd keeps for backward after the forward, counted with
  ``invlab.reversible.SavedTensors`` (saved_tensors_hooks, each storage once, the
  model's parameters excluded);
* step time: median of one training step (forward, backward, SGD), the two variants
  interleaved so machine load hits both alike;
* float32 error: relative error of the float32 gradients (input and every parameter)
  against float64 ordinary autograd, reversible and plain, and the float32 round trip
  ‖x − f⁻¹(f(x))‖/‖x‖ of the body;
* on CUDA also ``torch.cuda.max_memory_allocated`` during one step.

    python benchmarks/reversible.py
"""
import statistics
import time

import torch
import torch.nn.functional as F

from invlab import IRevNet, relative_error
from invlab.reversible import SavedTensors, reversible

DEPTHS = (2, 4, 8, 16, 32)
BATCH = 64


def make_net(depth, enabled, dtype=torch.float32, device="cpu", fast=True):
    torch.manual_seed(depth)
    net = IRevNet(depth=depth)
    net.body = reversible(net.body, enabled=enabled, fast=fast)
    return net.to(device=device, dtype=dtype)


def batch(device="cpu", dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, 1, 28, 28, generator=g, dtype=dtype).to(device)
    y = torch.randint(0, 10, (BATCH,), generator=g).to(device)
    return x, y


def saved(net, x, y):
    with SavedTensors(exclude=net) as s:
        loss = F.cross_entropy(net(x), y)
    del loss
    return s.bytes


def step(net, opt, x, y):
    opt.zero_grad()
    F.cross_entropy(net(x), y).backward()
    opt.step()


def step_times(nets, x, y, rounds=9):
    """Median step time of every net, interleaved over ``rounds`` rounds."""
    opts = [torch.optim.SGD(n.parameters(), lr=1e-3) for n in nets]
    times = [[] for _ in nets]
    for n, o in zip(nets, opts):
        step(n, o, x, y)                                    # warm-up
    for _ in range(rounds):
        for n, o, t in zip(nets, opts, times):
            if x.is_cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            step(n, o, x, y)
            if x.is_cuda:
                torch.cuda.synchronize()
            t.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def grads(net, x, y):
    x = x.clone().requires_grad_(True)
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    return torch.cat([x.grad.flatten()] + [p.grad.flatten().to(x.dtype) for p in net.parameters()])


def float32_errors(depth):
    """(reversible f32 vs f64, plain f32 vs f64, reversible vs plain f32, round trip f32)."""
    ref_net = make_net(depth, enabled=False, dtype=torch.float64)
    x64, y = batch(dtype=torch.float64)
    ref = grads(ref_net, x64, y)
    x32 = x64.float()
    g_rev = grads(make_net(depth, enabled=True), x32, y).double()
    g_plain = grads(make_net(depth, enabled=False), x32, y).double()
    net = make_net(depth, enabled=False)
    with torch.no_grad():
        round_trip = relative_error(x32, net.body.inverse(net.body(x32)))
    return (relative_error(ref, g_rev), relative_error(ref, g_plain),
            relative_error(g_plain, g_rev), round_trip)


def cuda_peak(net, x, y):
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    step(net, opt, x, y)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step(net, opt, x, y)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def main(depths=DEPTHS):
    torch.set_num_threads(1)
    x, y = batch()
    rows = []
    print(f"i-RevNet body (psi 4, 7×7 conv on 8 channels), batch {BATCH}, one CPU thread")
    print("float32 gradient errors: reversible and plain vs float64 autograd, and reversible "
          "vs plain (what reconstruction adds); round trip ‖x − f⁻¹(f(x))‖/‖x‖ of the body")
    print(f"{'depth':>5} | {'saved plain':>12} {'saved rev':>10} | {'step plain':>10} "
          f"{'step rev':>9} {'ratio':>6} | {'f32 grad: rev':>13} {'plain':>8} {'rev-plain':>9} "
          f"{'round trip':>10}")
    for d in depths:
        plain, rev = make_net(d, False), make_net(d, True)
        sp, sr = saved(plain, x, y), saved(rev, x, y)
        tp, tr = step_times([plain, rev], x, y)
        er, ep, erp, rt = float32_errors(d)
        rows.append(dict(depth=d, saved_plain=sp, saved_rev=sr, t_plain=tp, t_rev=tr,
                         err_rev=er, err_plain=ep, err_rev_plain=erp, round_trip=rt))
        print(f"{d:>5} | {sp / 2**20:>9.2f} MiB {sr / 2**20:>6.2f} MiB | {tp * 1e3:>7.1f} ms "
              f"{tr * 1e3:>6.1f} ms {tr / tp:>6.2f} | {er:>13.1e} {ep:>8.1e} {erp:>9.1e} "
              f"{rt:>10.1e}", flush=True)
    first, last = rows[0], rows[-1]
    print(f"reversible saved bytes, depth {last['depth']} / depth {first['depth']}: "
          f"{last['saved_rev'] / first['saved_rev']:.2f} (target ≤ 1.2); plain: "
          f"{last['saved_plain'] / first['saved_plain']:.2f} (depth ratio "
          f"{last['depth'] / first['depth']:.0f}); worst time ratio "
          f"{max(r['t_rev'] / r['t_plain'] for r in rows):.2f} (target ≤ 2)")
    if torch.cuda.is_available():
        dev = torch.device("cuda")
        xc, yc = x.to(dev), y.to(dev)
        print("CUDA (torch.cuda.max_memory_allocated during one step, above the model):")
        for d in depths:
            mp = cuda_peak(make_net(d, False, device=dev), xc, yc)
            mr = cuda_peak(make_net(d, True, device=dev), xc, yc)
            tp, tr = step_times([make_net(d, False, device=dev), make_net(d, True, device=dev)],
                                xc, yc)
            print(f"{d:>5} | peak plain {mp / 2**20:7.2f} MiB, reversible {mr / 2**20:7.2f} MiB"
                  f" | step plain {tp * 1e3:6.2f} ms, reversible {tr * 1e3:6.2f} ms "
                  f"(ratio {tr / tp:.2f})", flush=True)
    return rows


if __name__ == "__main__":
    main()
