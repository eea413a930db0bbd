"""One training step of the lab-1 i-RevNet vs the handout's plain conv net.

Both: psi (b = 4) → four 7×7 convolution layers with ReLU → linear head, batch 64 of
MNIST-sized images, SGD with momentum. The plain net's convolutions map 16 → 16
channels; each i-RevNet layer convolves one half (8 → 8) and adds, so the ratio
measures what invertibility costs in the lab's own setting.

    python benchmarks/step_time.py            # prints the median step times and the ratio
"""
import statistics
import time

import torch
import torch.nn.functional as F

from invlab import IRevNet, PlainNet


def step_time(net, device, batch=64, steps=60, warmup=10):
    torch.manual_seed(0)
    net = net.to(device)
    x = torch.rand(batch, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    times = []
    for i in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    results = {}
    for dev in devices:
        # interleave the two nets over several rounds so machine load hits both alike
        plain, irev = [], []
        for _ in range(5):
            plain.append(step_time(PlainNet(), dev))
            irev.append(step_time(IRevNet(), dev))
        p, r = statistics.median(plain), statistics.median(irev)
        results[dev.type] = r / p
        print(f"{dev.type}: plain conv net {p * 1e3:.2f} ms/step, i-RevNet {r * 1e3:.2f} ms/step, "
              f"ratio i-RevNet/plain = {r / p:.2f} (threads: {torch.get_num_threads()})")
    return results


if __name__ == "__main__":
    main()
