"""Shared harness of benchmarks/peers.py and benchmarks/flow_recipes.py: lab 4's tasks, flows
from invlab, zuko and normflows behind one interface, and one training loop for all.

* Tasks (the data exactly as lab 4 draws it): ``moons``, ``eight Gaussians``,
  ``checkerboard`` (30,000 training / 2,000 validation / 10,000 test points, data seeds
  1 / 2 / 3) and ``digits`` (sklearn's 8×8 digits, 17 levels, dequantised with lab 4's
  fixed noise for validation and test and fresh noise for every training batch, a
  ``Logit(0.05)`` in front of every library's flow, bits per dimension).
* The loop is ``invlab.flows.fit``'s, written out so that every library runs it: seed ``s``
  → ``torch.manual_seed(s)`` before the model is built, a ``torch.Generator`` seeded ``s``
  draws the 1,024-row data-dependent initialisation batch (ActNorm) and then every
  training batch (``randint``), Adam (foreach) with one cosine decay to 0, validation
  NLL every ``eval_every`` steps and the best step's parameters restored (early stopping).
  For invlab with the lab's recipe this gives lab 4's numbers bit for bit (checked by
  ``python benchmarks/flowbench.py``).
* Times: ``step_ms`` is the median **CPU** time of one training step (forward, backward,
  Adam; ``time.process_time``, one torch thread), measured in the run itself, and
  ``train_s`` the CPU seconds of all training steps (``wall_s``: the wall clock). On a shared
  machine the wall clock swings several-fold with the load of other processes; CPU time much
  less (cache and memory contention remain), so equal-time budgets use CPU time. Still
  indicative. Quality numbers depend only on the seed.

Only benchmark-side code: invlab variants are built from invlab's public blocks (and,
where a choice does not exist in invlab yet, a small subclass here).
"""
from __future__ import annotations

import copy
import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn

import invlab
from invlab import data, flows
from invlab.coupling import ActNorm, AffineCoupling, InvertibleLinear, Permutation, Reverse

torch.set_num_threads(1)

# --------------------------------------------------------------------------- tasks


@dataclass
class Task:
    name: str
    dim: int
    x_train: torch.Tensor
    x_val: torch.Tensor
    x_test: torch.Tensor
    floor: float                    # entropy floor (nats) or NaN
    preprocess: Optional[Callable] = None
    unit: str = "nats"              # "nats" or "bits/dim"
    levels: int = 0

    def score(self, nll: float) -> float:
        """The reported number: NLL in nats, or bits per dimension for digits."""
        if self.unit == "nats":
            return nll
        return float(flows.bits_per_dim(torch.tensor(nll), self.dim, 1 / self.levels))


_TASKS: dict = {}


def task(name: str) -> Task:
    if name in _TASKS:
        return _TASKS[name]
    toys = {
        "moons": (lambda n, s: data.two_moons(n, noise=0.1, seed=s)[0], data.MOONS_ENTROPY),
        "eight Gaussians": (lambda n, s: data.eight_gaussians(n, seed=s)[0], data.EIGHT_GAUSSIANS_ENTROPY),
        "checkerboard": (lambda n, s: data.checkerboard(n, seed=s), data.CHECKERBOARD_ENTROPY),
    }
    if name in toys:
        draw, floor = toys[name]
        t = Task(name, 2, draw(30_000, 1), draw(2_000, 2), draw(10_000, 3), floor)
    elif name == "digits":
        L, D = data.DIGITS_LEVELS, 64
        X_train, _ = data.load_digits("train")
        X_val, _ = data.load_digits("val")
        X_test, _ = data.load_digits("test")
        g = torch.Generator().manual_seed(0)
        Y_train = flows.dequantize(X_train.reshape(-1, D), L, generator=g)
        Y_val = flows.dequantize(X_val.reshape(-1, D), L, generator=g)
        Y_test = flows.dequantize(X_test.reshape(-1, D), L, generator=g)
        fresh = lambda batch: flows.dequantize(torch.round(batch * L - 0.5).clamp(0, L - 1), L)
        t = Task(name, D, Y_train, Y_val, Y_test, float("nan"), fresh, "bits/dim", L)
    else:
        raise KeyError(f"unknown task {name!r}; known: {list(toys) + ['digits']}")
    _TASKS[name] = t
    return t


TOYS = ["moons", "eight Gaussians", "checkerboard"]
ALL_TASKS = TOYS + ["digits"]

# lab 4's recipe per task today (solutions/04_flows.ipynb, cells `TOYS = {...}` and `DIGIT_STEPS`)
LAB_RECIPE = {
    "moons": dict(blocks=4, hidden=64, steps=400, batch=512, lr=5e-3, eval_every=100),
    "eight Gaussians": dict(blocks=6, hidden=64, steps=550, batch=512, lr=5e-3, eval_every=100),
    "checkerboard": dict(blocks=6, hidden=64, steps=500, batch=512, lr=5e-3, eval_every=100),
    "digits": dict(blocks=6, hidden=128, steps=240, batch=256, lr=2e-3, eval_every=10),
}

# --------------------------------------------------------------------------- models


class Model(nn.Module):
    """Any library's flow behind one interface: ``log_prob(x) -> (B,)``."""

    def __init__(self, net: nn.Module, log_prob: Callable, label: str, logit: bool = False):
        super().__init__()
        self.net = net
        self._log_prob = log_prob
        self.label = label
        self.logit = flows.Logit(0.05) if logit else None

    def log_prob(self, x):
        if self.logit is None:
            return self._log_prob(x)
        z, ld = self.logit.forward_with_log_det(x)
        return self._log_prob(z) + ld

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


ACTS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "silu": nn.SiLU, "leaky": lambda: nn.LeakyReLU(0.1)}


def make_mlp(c_in, c_out, hidden=64, depth=2, act="relu", zero_last=True):
    """invlab.mlp with a choice of activation and of the last layer's initialisation."""
    if act == "relu" and zero_last:
        return invlab.mlp(c_in, c_out, hidden=hidden, depth=depth)
    layers, width = [], c_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), ACTS[act]()]
        width = hidden
    last = nn.Linear(width, c_out)
    if zero_last:
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)


class RationalClampCoupling(AffineCoupling):
    """AffineCoupling with zuko's soft clamp s = a / (1 + |a| / clamp) instead of clamp·tanh(a/clamp)."""

    def _s_t(self, net, h, c_out):
        s_raw, t = net(h).chunk(2, dim=1)
        return s_raw / (1 + s_raw.abs() / self.clamp), t


class HalfCoupling(invlab.InvertibleModule):
    """One half-step of an affine coupling, y2 = x2 ⊙ exp(s(x1)) + t(x1), y1 = x1 (zuko's / normflows' unit)."""

    def __init__(self, dim, subnet, clamp=2.0):
        super().__init__()
        self.d1, self.d2 = dim // 2, dim - dim // 2
        self.clamp = clamp
        self.net = subnet(self.d1, 2 * self.d2)

    def _s_t(self, h):
        s, t = self.net(h).chunk(2, dim=1)
        if self.clamp is not None:
            s = self.clamp * torch.tanh(s / self.clamp)
        return s, t

    def forward_with_log_det(self, x):
        x1, x2 = x[:, :self.d1], x[:, self.d1:]
        s, t = self._s_t(x1)
        return torch.cat([x1, x2 * torch.exp(s) + t], 1), s.sum(1)

    def inverse_with_log_det(self, y):
        y1, y2 = y[:, :self.d1], y[:, self.d1:]
        s, t = self._s_t(y1)
        return torch.cat([y1, (y2 - t) * torch.exp(-s)], 1), -s.sum(1)


@dataclass(frozen=True)
class InvlabRecipe:
    """An invlab RealNVP: ``blocks`` × [ActNorm?, coupling, mixing]; defaults = flows.realnvp's."""
    blocks: int = 6
    hidden: int = 64
    depth: int = 2
    clamp: Optional[float] = 2.0
    clamp_kind: str = "tanh"        # "tanh" (invlab) or "rational" (zuko)
    actnorm: object = True          # True (every block), False, "first" (one in front), "frozen" (data init, not trained)
    mixing: str = "random"          # "random" Permutation, "reverse", "linear" (learned 1×1 / InvertibleLinear), "identity" (no mixing layer)
    act: str = "relu"
    zero_last: bool = True
    half: bool = False              # one half-step per coupling (2 per block) instead of AffineCoupling's two

    def label(self) -> str:
        bits = [f"{self.blocks} blocks", f"{self.depth}×{self.hidden} {self.act}"]
        if self.actnorm is not True:
            bits.append("no ActNorm" if self.actnorm is False else f"ActNorm {self.actnorm}")
        if self.mixing != "random":
            bits.append(self.mixing)
        if self.clamp != 2.0 or self.clamp_kind != "tanh":
            bits.append(f"clamp {self.clamp} {self.clamp_kind}")
        if not self.zero_last:
            bits.append("default-init last layer")
        if self.half:
            bits.append("half-step couplings")
        return "invlab " + ", ".join(bits)


def invlab_transform(dim: int, r: InvlabRecipe, seed: int = 0) -> invlab.SequenceINN:
    """Mirrors flows.realnvp (same RNG order: identical weights for its recipe) with the choices of ``r``."""
    def subnet(c_in, c_out):
        return make_mlp(c_in, c_out, r.hidden, r.depth, r.act, r.zero_last)

    coupling_cls = RationalClampCoupling if r.clamp_kind == "rational" else AffineCoupling
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        layers = []
        for k in range(r.blocks):
            if r.actnorm is True or r.actnorm == "frozen" or (r.actnorm == "first" and k == 0):
                layers.append(ActNorm(dim))
                if r.actnorm == "frozen":
                    layers[-1].requires_grad_(False)
            if r.half:
                layers += [HalfCoupling(dim, subnet, r.clamp), Reverse(dim), HalfCoupling(dim, subnet, r.clamp)]
            else:
                layers.append(coupling_cls(dim, subnet, clamp=r.clamp))
            if r.mixing == "random":
                layers.append(Permutation(dim, seed=seed + k))
            elif r.mixing == "reverse":
                layers.append(Reverse(dim))
            elif r.mixing == "linear":
                layers.append(InvertibleLinear(dim, seed=seed + k))
            elif r.mixing == "identity":
                pass
            else:
                raise ValueError(r.mixing)
    finally:
        torch.random.set_rng_state(state)
    return invlab.SequenceINN(*layers)


def invlab_model(dim, r: InvlabRecipe, seed=0, logit=False) -> Model:
    flow = flows.Flow(invlab_transform(dim, r, seed), shape=(dim,))
    return Model(flow, flow.log_prob, r.label(), logit)


def zuko_model(dim, transforms, hidden=64, depth=2, seed=0, logit=False) -> Model:
    import zuko
    torch.manual_seed(seed)
    f = zuko.flows.RealNVP(dim, transforms=transforms, hidden_features=(hidden,) * depth)
    return Model(f, lambda x: f().log_prob(x), f"zuko RealNVP({dim}, transforms={transforms}, {depth}×{hidden})", logit)


def normflows_model(dim, couplings, hidden=64, depth=2, seed=0, logit=False, actnorm=True) -> Model:
    """normflows' RealNVP recipe: MaskedAffineFlow with separate zero-initialised s and t MLPs,
    alternating masks, an ActNorm after every coupling (the normflows README's example)."""
    import normflows as nf
    torch.manual_seed(seed)
    b = torch.tensor([1.0 if i % 2 == 0 else 0.0 for i in range(dim)])
    fl = []
    for i in range(couplings):
        s = nf.nets.MLP([dim] + [hidden] * depth + [dim], init_zeros=True)
        t = nf.nets.MLP([dim] + [hidden] * depth + [dim], init_zeros=True)
        fl.append(nf.flows.MaskedAffineFlow(b if i % 2 == 0 else 1 - b, t, s))
        if actnorm:
            fl.append(nf.flows.ActNorm(dim))
    m = nf.NormalizingFlow(nf.distributions.DiagGaussian(dim, trainable=False), fl)
    return Model(m, m.log_prob, f"normflows {couplings} MaskedAffineFlow{' + ActNorm' if actnorm else ''} ({depth}×{hidden})",
                 logit)


# --------------------------------------------------------------------------- training


@dataclass
class Result:
    label: str
    task: str
    seed: int
    score: float            # test NLL (nats) or bits/dim
    steps: int
    step_ms: float          # median CPU time per training step (ms)
    train_s: float          # CPU seconds of the training steps (no evaluations)
    params: int
    best_step: int
    wall_s: float = 0.0     # wall-clock seconds of the training steps


def train(model: Model, t: Task, *, steps: int, batch: int, lr: float, seed: int = 0,
          eval_every: int = 100, schedule: str = "cosine", warmup: int = 0,
          restore_best: bool = True, max_norm: Optional[float] = None) -> Result:
    """flows.fit's loop for any Model (see the module docstring); returns the test score."""
    n = len(t.x_train)
    g = torch.Generator().manual_seed(seed)
    pre = t.preprocess
    model.train()
    with torch.no_grad():
        first = t.x_train[torch.randperm(n, generator=g)[:max(batch, min(n, 1024))]]
        model.log_prob(pre(first) if pre else first)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, foreach=True)
    if schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    elif schedule == "warmup-cosine":
        w = max(1, warmup)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda k: (k + 1) / w if k < w else 0.5 * (1 + math.cos(math.pi * (k - w) / max(1, steps - w))))
    elif schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    elif schedule == "constant":
        sched = None
    else:
        raise ValueError(schedule)
    best, best_step, best_state = float("inf"), 0, None

    def record(k):
        nonlocal best, best_step, best_state
        model.eval()
        with torch.no_grad():
            v = float(-model.log_prob(t.x_val).mean())
        model.train()
        if v < best:
            best, best_step = v, k
            if restore_best:
                best_state = copy.deepcopy(model.state_dict())

    record(0)
    times, walls = [], []
    for k in range(1, steps + 1):
        t0, w0 = time.process_time(), time.perf_counter()
        idx = torch.randint(n, (min(batch, n),), generator=g)
        b = t.x_train[idx]
        loss = -model.log_prob(pre(b) if pre else b).mean()
        opt.zero_grad()
        loss.backward()
        if max_norm is not None:
            nn.utils.clip_grad_norm_(params, max_norm)
        opt.step()
        if sched is not None:
            sched.step()
        times.append(time.process_time() - t0)
        walls.append(time.perf_counter() - w0)
        if k % eval_every == 0 or k == steps:
            record(k)
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        nll = float(-model.log_prob(t.x_test).mean())
    return Result(model.label, t.name, seed, t.score(nll), steps, 1e3 * statistics.median(times),
                  sum(times), model.n_params(), best_step, sum(walls))


def step_ms(model: Model, t: Task, batch: int, steps: int = 25, warmup: int = 5, lr: float = 1e-3) -> float:
    """Median CPU time (ms) of one training step, on a throw-away copy."""
    m = copy.deepcopy(model)
    n = len(t.x_train)
    g = torch.Generator().manual_seed(123)
    m.train()
    with torch.no_grad():
        m.log_prob(t.x_train[:1024] if not t.preprocess else t.preprocess(t.x_train[:1024]))
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=lr, foreach=True)
    ts = []
    for i in range(warmup + steps):
        t0 = time.process_time()
        b = t.x_train[torch.randint(n, (min(batch, n),), generator=g)]
        loss = -m.log_prob(t.preprocess(b) if t.preprocess else b).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= warmup:
            ts.append(time.process_time() - t0)
    return 1e3 * statistics.median(ts)


def calibrate(builders: dict, t: Task, batch: int, rounds: int = 3) -> dict:
    """Median CPU time per step (ms) of each model, in interleaved rounds (load hits all alike)."""
    models = {k: b() for k, b in builders.items()}
    samples = {k: [] for k in models}
    for _ in range(rounds):
        for k, m in models.items():
            samples[k].append(step_ms(m, t, batch))
    return {k: statistics.median(v) for k, v in samples.items()}


# --------------------------------------------------------------------------- summaries


def stats(values) -> tuple:
    return statistics.fmean(values), min(values), max(values)


def fmt_score(t: Task, v: float) -> str:
    return f"{v:.3f}"


def summary_line(label: str, results: list, width: int = 58) -> str:
    s = [r.score for r in results]
    m, lo, hi = stats(s)
    ms = statistics.median(r.step_ms for r in results)
    steps = results[0].steps
    secs = statistics.median(r.train_s for r in results)
    return (f"{label:{width}s} {m:7.3f} ({lo:.3f}–{hi:.3f})  {results[0].params:8,d}  {steps:5d}  "
            f"{ms:6.1f}  {secs:6.1f}")


HEADER = (f"{'model':58s} {'mean':>7s} {'(min–max)':13s}  {'params':>8s}  {'steps':>5s}  {'ms/st':>6s}  {'CPU s':>6s}"
          "   (ms/st: median CPU ms per training step; CPU s: training, median over seeds)")


if __name__ == "__main__":
    # self-check: this loop reproduces flows.fit (and so lab 4's numbers) bit for bit
    torch.manual_seed(0)
    t = task("moons")
    rec = LAB_RECIPE["moons"]
    ref = flows.Flow(flows.realnvp(2, blocks=rec["blocks"], hidden=rec["hidden"]), shape=(2,))
    flows.fit(ref, t.x_train, t.x_val, steps=rec["steps"], batch_size=rec["batch"], lr=rec["lr"],
              eval_every=rec["eval_every"], progress=False)
    with torch.no_grad():
        want = float(ref.nll(t.x_test))
    torch.manual_seed(0)
    m = invlab_model(2, InvlabRecipe(blocks=rec["blocks"], hidden=rec["hidden"]), seed=0)
    got = train(m, t, steps=rec["steps"], batch=rec["batch"], lr=rec["lr"], eval_every=rec["eval_every"], seed=0)
    print(f"flows.fit {want:.6f}   flowbench.train {got.score:.6f}   identical: {want == got.score}")
